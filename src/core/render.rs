//! Config -> CloudFormation templates. Pure. Each stack kind is a file in `stacks/` naming the
//! Handlebars templates (in `templates/`) it is made of and its outputs; both folders are
//! embedded in the binary, and a user's copy of either file can stand in for the built-in one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use handlebars::{handlebars_helper, Handlebars};
use include_dir::{include_dir, Dir};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use serde_yaml_ng::{Mapping, Value as Yaml};

use super::config::{Config, DeadLetter, Trigger};
use super::duration::Secs;
use super::image_ref::ImageRef;

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static STACKS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/stacks");

/// The digest the placeholder image carries when no image was given: all zeros, never a real one.
pub const PLACEHOLDER_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read templates from `{path}`: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("template `{name}` is not valid Handlebars: {reason}")]
    Compile { name: String, reason: String },
    #[error("rendering `{name}` failed: {reason}")]
    Render { name: String, reason: String },
    #[error("`{name}` did not render to valid YAML: {reason}")]
    Yaml { name: String, reason: String },
    #[error("stack file `{stack}` names template `{name}`, which does not exist")]
    Missing { stack: String, name: String },
    #[error("`{key}` is defined by both `{first}` and `{second}` in stack `{stack}`")]
    Duplicate { stack: String, key: String, first: String, second: String },
}

/// The template sources: the built-in set, with a user's files of the same names over it.
#[derive(Clone, Debug)]
pub struct Sources {
    /// `templates/<name>` and `stacks/<name>` -> text.
    files: BTreeMap<String, String>,
}

impl Sources {
    pub fn builtin() -> Self {
        let mut files = BTreeMap::new();
        for (prefix, dir) in [("templates", &TEMPLATES), ("stacks", &STACKS)] {
            for f in dir.files() {
                let text = f.contents_utf8().expect("built-in templates are UTF-8");
                files.insert(format!("{prefix}/{}", f.path().display()), text.to_string());
            }
        }
        Self { files }
    }

    /// The built-in set, overlaid by `dir/templates/*.hbs` and `dir/stacks/*.yaml`. A stack file
    /// of a new name adds a stack.
    pub fn with_overrides(dir: &Path) -> Result<Self, RenderError> {
        let mut sources = Self::builtin();
        let read_err = |path: &Path, e: std::io::Error| RenderError::Read { path: path.to_path_buf(), reason: e.to_string() };
        if !dir.is_dir() {
            return Err(RenderError::Read { path: dir.to_path_buf(), reason: "no such folder".into() });
        }
        let mut found = 0;
        for sub in ["templates", "stacks"] {
            let folder = dir.join(sub);
            if !folder.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&folder).map_err(|e| read_err(&folder, e))? {
                let path = entry.map_err(|e| read_err(&folder, e))?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                if path.is_file() && (name.ends_with(".hbs") || name.ends_with(".yaml")) {
                    let text = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
                    sources.files.insert(format!("{sub}/{name}"), text);
                    found += 1;
                }
            }
        }
        if found == 0 {
            return Err(RenderError::Read {
                path: dir.to_path_buf(),
                reason: "it holds no `templates/*.hbs` or `stacks/*.yaml`; `replatform templates --out DIR` writes the built-in set to start from".into(),
            });
        }
        Ok(sources)
    }

    /// Every source file, by its path relative to the template folder.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn stacks(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files().filter_map(|(k, v)| k.strip_prefix("stacks/").map(|n| (n, v)))
    }
}

/// One rendered stack: its CloudFormation stack name and template text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RenderedStack {
    /// The stack kind: the stack file's name without `.yaml` (`ecs`, `lambda`).
    pub kind: String,
    /// The CloudFormation stack name, e.g. `orders-worker-ecs`.
    pub name: String,
    pub template: String,
}

impl RenderedStack {
    pub fn file_name(&self) -> String {
        format!("{}.yaml", self.name)
    }
}

/// The image the stacks run.
#[derive(Clone, Debug)]
pub enum Image<'a> {
    Digest(&'a ImageRef),
    /// No image yet: the config's repository in the deploying account, with an all-zero digest.
    Placeholder,
}

/// What the templates see. Every value a template prints comes from here.
#[derive(Debug, Serialize)]
pub struct Data {
    service: String,
    environment: Vec<EnvVar>,
    image: ImageData,
    queue: QueueData,
    ecs: EcsData,
    lambda: LambdaData,
    logs: LogsData,
}

#[derive(Debug, Serialize)]
struct EnvVar {
    name: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct ImageData {
    /// A string, or `Fn::Sub` for the placeholder in the deploying account and region.
    uri: Json,
    repository_arn: Json,
    placeholder: bool,
    lambda_architecture: &'static str,
    ecs_cpu_architecture: &'static str,
}

#[derive(Debug, Serialize)]
struct QueueData {
    url_env: String,
    visibility_timeout: u64,
    retention: u64,
    dead_letter: Option<DeadLetterData>,
}

#[derive(Debug, Serialize)]
struct DeadLetterData {
    max_receive_count: u32,
}

#[derive(Debug, Serialize)]
struct EcsData {
    cluster: Option<String>,
    command: Option<Vec<String>>,
    cpu: u32,
    memory: u32,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    assign_public_ip: &'static str,
    scaling: ScalingData,
}

#[derive(Debug, Serialize)]
struct ScalingData {
    min: u32,
    max: u32,
    /// The scale-out alarm's threshold: the first step's `from`.
    threshold: u64,
    steps: Vec<StepData>,
    scale_out_cooldown: u64,
    scale_in_periods: u64,
    scale_in_after_text: String,
}

/// A step adjustment, bounds relative to the alarm threshold (pitfall 12).
#[derive(Debug, Serialize)]
struct StepData {
    lower: u64,
    upper: Option<u64>,
    add: u32,
}

#[derive(Debug, Serialize)]
struct LambdaData {
    memory: u32,
    timeout: u64,
    reserved_concurrency: Option<u32>,
    entry_point: Vec<String>,
    command: Vec<String>,
    working_directory: String,
    vpc: bool,
    sqs: Option<SqsData>,
    schedule: Option<ScheduleData>,
}

#[derive(Debug, Serialize)]
struct SqsData {
    batch_size: u32,
    max_batching_window: u64,
    max_concurrency: Option<u32>,
}

#[derive(Debug, Serialize)]
struct ScheduleData {
    expression: String,
    every: String,
}

#[derive(Debug, Serialize)]
struct LogsData {
    retention_days: u64,
}

/// `rate(1 minute)`, `rate(5 minutes)`, `rate(2 hours)`, `rate(1 day)`.
fn rate_expression(rate: Secs) -> String {
    let (n, unit) = if rate.0 % 86_400 == 0 {
        (rate.0 / 86_400, "day")
    } else if rate.0 % 3_600 == 0 {
        (rate.0 / 3_600, "hour")
    } else {
        (rate.0 / 60, "minute")
    };
    format!("rate({n} {unit}{})", if n == 1 { "" } else { "s" })
}

impl Data {
    pub fn new(c: &Config, image: &Image<'_>) -> Self {
        let (uri, repository_arn) = match image {
            Image::Digest(r) => (json!(r.to_string()), json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ecr:{}:{}:repository/{}", r.region, r.account, r.repository) })),
            Image::Placeholder => (
                json!({ "Fn::Sub": format!("${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{}@{PLACEHOLDER_DIGEST}", c.repository()) }),
                json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{}", c.repository()) }),
            ),
        };
        let s = &c.ecs.scaling;
        let threshold = s.scale_out.first().map_or(1, |st| st.from);
        let steps = s
            .scale_out
            .iter()
            .enumerate()
            .map(|(i, st)| StepData {
                lower: st.from - threshold,
                upper: s.scale_out.get(i + 1).map(|next| next.from - threshold),
                add: st.add,
            })
            .collect();
        let l = &c.lambda;
        let (sqs, schedule) = match &l.trigger {
            Trigger::Sqs(t) => (
                Some(SqsData { batch_size: t.batch_size, max_batching_window: t.max_batching_window.0, max_concurrency: t.max_concurrency }),
                None,
            ),
            Trigger::Schedule(t) => (None, Some(ScheduleData { expression: rate_expression(t.rate), every: format!("every {}", t.rate) })),
        };
        Data {
            service: c.service.clone(),
            environment: c.environment.iter().map(|(k, v)| EnvVar { name: k.clone(), value: v.0.clone() }).collect(),
            image: ImageData {
                uri,
                repository_arn,
                placeholder: matches!(image, Image::Placeholder),
                lambda_architecture: c.image.platform.lambda_architecture(),
                ecs_cpu_architecture: c.image.platform.ecs_cpu_architecture(),
            },
            queue: QueueData {
                url_env: c.queue.url_env.clone(),
                visibility_timeout: c.queue.visibility_timeout.0,
                retention: c.queue.retention.0,
                dead_letter: match c.queue.dead_letter {
                    DeadLetter { max_receive_count: Some(n) } => Some(DeadLetterData { max_receive_count: n }),
                    DeadLetter { max_receive_count: None } => None,
                },
            },
            ecs: EcsData {
                cluster: c.ecs.cluster.clone(),
                command: c.ecs.command.clone(),
                cpu: c.ecs.cpu,
                memory: c.ecs.memory,
                subnets: c.ecs.subnets.clone(),
                security_groups: c.ecs.security_groups.clone(),
                assign_public_ip: if c.ecs.assign_public_ip { "ENABLED" } else { "DISABLED" },
                scaling: ScalingData {
                    min: s.min,
                    max: s.max,
                    threshold,
                    steps,
                    scale_out_cooldown: s.scale_out_cooldown.0,
                    scale_in_periods: s.scale_in_after.minutes().max(1),
                    scale_in_after_text: s.scale_in_after.to_string(),
                },
            },
            lambda: LambdaData {
                memory: l.memory,
                timeout: l.timeout.0,
                reserved_concurrency: l.reserved_concurrency,
                entry_point: l.entry_point.clone(),
                command: l.command.clone(),
                working_directory: l.working_directory.clone(),
                vpc: l.vpc,
                sqs,
                schedule,
            },
            logs: LogsData { retention_days: c.logs.retention.0 / 86_400 },
        }
    }
}

handlebars_helper!(json_helper: |v: Json| serde_json::to_string(&v).unwrap_or_default());

/// A strict registry: a misspelt field is an error, and nothing is HTML-escaped.
fn registry(sources: &Sources) -> Result<Handlebars<'static>, RenderError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper("json", Box::new(json_helper));
    for (name, text) in sources.files() {
        hb.register_template_string(name, text).map_err(|e| RenderError::Compile { name: name.to_string(), reason: e.to_string() })?;
    }
    Ok(hb)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StackDef {
    name: String,
    description: String,
    templates: Vec<String>,
    /// Output name -> `OutputDef`, in the order written.
    #[serde(default)]
    outputs: Mapping,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputDef {
    description: String,
    value: Yaml,
}

const SECTIONS: [&str; 3] = ["Conditions", "Resources", "Outputs"];

fn to_yaml(name: &str, text: &str) -> Result<Yaml, RenderError> {
    serde_yaml_ng::from_str(text).map_err(|e| RenderError::Yaml { name: name.to_string(), reason: e.to_string() })
}

/// Renders every stack the sources define, in stack-file order.
pub fn render(sources: &Sources, data: &Data) -> Result<Vec<RenderedStack>, RenderError> {
    let hb = registry(sources)?;
    let run = |name: &str| hb.render(name, data).map_err(|e| RenderError::Render { name: name.to_string(), reason: e.to_string() });
    let mut out = Vec::new();
    for (file, _) in sources.stacks() {
        let kind = file.trim_end_matches(".yaml").to_string();
        let stack_file = format!("stacks/{file}");
        let def: StackDef = serde_yaml_ng::from_str(&run(&stack_file)?)
            .map_err(|e| RenderError::Yaml { name: stack_file.clone(), reason: e.to_string() })?;

        let mut sections: BTreeMap<&str, (Mapping, BTreeMap<String, String>)> = BTreeMap::new();
        for t in &def.templates {
            let name = format!("templates/{t}");
            if !sources.files.contains_key(&name) {
                return Err(RenderError::Missing { stack: stack_file.clone(), name: t.clone() });
            }
            let doc = to_yaml(&name, &run(&name)?)?;
            let Yaml::Mapping(doc) = doc else {
                if doc.is_null() {
                    continue; // a template with nothing to add for this config
                }
                return Err(RenderError::Yaml { name, reason: "the top level is not a mapping".into() });
            };
            for (section, body) in doc {
                let section_name = section.as_str().unwrap_or_default().to_string();
                let Some(section_key) = SECTIONS.iter().find(|s| **s == section_name) else {
                    return Err(RenderError::Yaml { name, reason: format!("unexpected top-level key `{section_name}`: a template adds only {}", SECTIONS.join(", ")) });
                };
                let Yaml::Mapping(body) = body else { continue };
                let (merged, owners) = sections.entry(section_key).or_default();
                for (k, v) in body {
                    let key = k.as_str().unwrap_or_default().to_string();
                    if let Some(first) = owners.insert(key.clone(), name.clone()) {
                        return Err(RenderError::Duplicate { stack: def.name.clone(), key, first, second: name });
                    }
                    merged.insert(k, v);
                }
            }
        }

        let mut doc = Mapping::new();
        doc.insert("AWSTemplateFormatVersion".into(), "2010-09-09".into());
        doc.insert("Description".into(), def.description.clone().into());
        for section in ["Conditions", "Resources"] {
            if let Some((body, _)) = sections.remove(section) {
                doc.insert(section.into(), Yaml::Mapping(body));
            }
        }
        let mut outputs = sections.remove("Outputs").map(|(m, _)| m).unwrap_or_default();
        for (name, o) in def.outputs {
            let o: OutputDef = serde_yaml_ng::from_value(o).map_err(|e| RenderError::Yaml { name: stack_file.clone(), reason: format!("output {name:?}: {e}") })?;
            let mut entry = Mapping::new();
            entry.insert("Description".into(), o.description.into());
            entry.insert("Value".into(), o.value);
            outputs.insert(name, Yaml::Mapping(entry));
        }
        if !outputs.is_empty() {
            doc.insert("Outputs".into(), Yaml::Mapping(outputs));
        }
        let body = serde_yaml_ng::to_string(&doc).map_err(|e| RenderError::Yaml { name: stack_file.clone(), reason: e.to_string() })?;
        let header = format!(
            "# Stack `{}`, rendered by replatform from the service's replatform.yaml: edit that, not this.\n\
             # Deploys as is: aws cloudformation deploy --template-file {}.yaml --stack-name {} --capabilities CAPABILITY_IAM\n",
            def.name, def.name, def.name
        );
        out.push(RenderedStack { kind, name: def.name, template: header + &body });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_expressions_use_the_largest_whole_unit() {
        let shown: Vec<String> = [60, 300, 3_600, 5_400, 86_400, 172_800].iter().map(|s| rate_expression(Secs(*s))).collect();
        assert_eq!(shown, ["rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(90 minutes)", "rate(1 day)", "rate(2 days)"]);
    }

    #[test]
    fn json_helper_quotes_for_yaml() {
        let hb = {
            let mut hb = Handlebars::new();
            hb.register_escape_fn(handlebars::no_escape);
            hb.register_helper("json", Box::new(json_helper));
            hb
        };
        let out = hb.render_template("{{json v}}", &json!({ "v": ["a: b", "#c", "\"q\""] })).unwrap();
        assert_eq!(out, r##"["a: b","#c","\"q\""]"##);
        let parsed: Vec<String> = serde_yaml_ng::from_str(&out).unwrap();
        assert_eq!(parsed, ["a: b", "#c", "\"q\""]);
    }
}

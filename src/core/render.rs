//! Config -> CloudFormation templates. Pure. Each stack kind is a file in `stacks/` naming the
//! Handlebars templates (in `templates/`) it is made of and its outputs; both folders are
//! embedded in the binary, and a user's copy of either file can stand in for the built-in one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use handlebars::template::{Parameter, Template, TemplateElement};
use handlebars::{handlebars_helper, Handlebars};
use include_dir::{include_dir, Dir};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use serde_yaml_ng::{Mapping, Value as Yaml};

use super::config::{clean_text, size_text, Config, DeadLetter, Trigger};
use super::duration::Secs;
use super::image_ref::ImageRef;
use super::locate::{self, Limits, Problem};

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static STACKS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/stacks");

/// The digest the placeholder image carries when no image was given: all zeros, never a real one.
pub const PLACEHOLDER_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The largest template or stack file read from a `--templates` folder. The built-in ones are
/// about 5 KiB, and a rendered stack may not pass CloudFormation's 51,200 bytes.
pub const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;
/// All the files read from a `--templates` folder together.
pub const MAX_TEMPLATES_TOTAL_BYTES: u64 = 1024 * 1024;
/// How many files a `--templates` folder may hold.
pub const MAX_TEMPLATE_FILES: usize = 200;
/// Handlebars expressions (`{{ }}`) in one file: compiling takes time quadratic in them. The
/// built-in templates have at most 40.
pub const MAX_EXPRESSIONS: usize = 500;
/// Blocks (`{{#if}}`, `{{#each}}`, ...) nested in one template, through partials too.
pub const MAX_BLOCK_DEPTH: usize = 32;
/// Subexpressions (`(helper ...)`) nested in one expression.
pub const MAX_SUBEXPRESSION_DEPTH: usize = 8;
/// Iterations a template's nested `{{#each}}` blocks may run over the config's lists.
pub const MAX_ITERATIONS: u64 = 1_000_000;
/// What one template may render.
pub const MAX_RENDERED_BYTES: usize = 1024 * 1024;
/// CloudFormation's limit for a template body sent with the request.
pub const MAX_STACK_BYTES: usize = 51_200;
/// How deep a rendered template may nest and how many values it may hold, aliases expanded.
pub const TEMPLATE_LIMITS: Limits = Limits { depth: 64, nodes: 200_000 };

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
    #[error("stack file `{stack}` names template `{name}`, which does not exist{known}")]
    Missing { stack: String, name: String, known: String },
    #[error("`{key}` is defined by both `{first}` and `{second}` in stack `{stack}`")]
    Duplicate { stack: String, key: String, first: String, second: String },
    /// Anything else wrong with a file: where (`path`, or `path:line:column`) and what.
    #[error("{at}: {reason}")]
    Invalid { at: String, reason: String },
}

/// The template sources: the built-in set, with a user's files of the same names over it.
#[derive(Clone, Debug)]
pub struct Sources {
    /// `templates/<name>` and `stacks/<name>` -> text.
    files: BTreeMap<String, String>,
    /// Where each of a user's files was read from, for messages.
    origins: BTreeMap<String, PathBuf>,
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
        Self { files, origins: BTreeMap::new() }
    }

    /// The built-in set, overlaid by `dir/templates/*.hbs` and `dir/stacks/*.yaml`. A stack file
    /// of a new name adds a stack. Only regular files are read, each within
    /// [`MAX_TEMPLATE_BYTES`], all within [`MAX_TEMPLATES_TOTAL_BYTES`], and UTF-8.
    pub fn with_overrides(dir: &Path) -> Result<Self, RenderError> {
        let mut sources = Self::builtin();
        let read_err = |path: &Path, reason: String| RenderError::Read { path: path.to_path_buf(), reason };
        match std::fs::metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(read_err(dir, "no such folder".into())),
            Err(e) => return Err(read_err(dir, e.to_string())),
            Ok(m) if !m.is_dir() => {
                return Err(read_err(dir, "it is not a folder: `--templates` names a folder that holds `templates/*.hbs` and `stacks/*.yaml`".into()))
            }
            Ok(_) => {}
        }
        let (mut found, mut total) = (0usize, 0u64);
        for sub in ["templates", "stacks"] {
            let folder = dir.join(sub);
            match std::fs::metadata(&folder) {
                Err(_) => continue,
                Ok(m) if !m.is_dir() => {
                    let what = if sub == "templates" { "templates (`*.hbs`)" } else { "stack files (`*.yaml`)" };
                    return Err(read_err(&folder, format!("it is not a folder: `{sub}/` is the folder of the {what}")));
                }
                Ok(_) => {}
            }
            let mut paths = Vec::new();
            for entry in std::fs::read_dir(&folder).map_err(|e| read_err(&folder, e.to_string()))? {
                paths.push(entry.map_err(|e| read_err(&folder, e.to_string()))?.path());
            }
            paths.sort();
            for path in paths {
                let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
                if !(name.ends_with(".hbs") || name.ends_with(".yaml")) {
                    continue;
                }
                // Metadata first: opening a FIFO would wait for a writer.
                let meta = std::fs::metadata(&path).map_err(|e| read_err(&path, e.to_string()))?;
                if !meta.is_file() {
                    return Err(read_err(&path, "it is not a regular file".into()));
                }
                found += 1;
                if found > MAX_TEMPLATE_FILES {
                    return Err(read_err(dir, format!("it holds more than {MAX_TEMPLATE_FILES} template and stack files")));
                }
                let text = read_text(&path, MAX_TEMPLATE_BYTES, "a template or stack file")?;
                total += text.len() as u64;
                if total > MAX_TEMPLATES_TOTAL_BYTES {
                    return Err(read_err(dir, format!("its files hold more than {} together", size_text(MAX_TEMPLATES_TOTAL_BYTES))));
                }
                let key = format!("{sub}/{name}");
                sources.files.insert(key.clone(), text);
                sources.origins.insert(key, path);
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

    /// How a file is named in messages: the path it was read from, or its built-in name.
    pub fn shown(&self, name: &str) -> String {
        clean_text(&self.origins.get(name).map_or_else(|| name.to_string(), |p| p.display().to_string()))
    }
}

/// A regular file's text, read up to `limit` bytes: the error says what is wrong and where.
fn read_text(path: &Path, limit: u64, what: &str) -> Result<String, RenderError> {
    let err = |reason: String| RenderError::Read { path: path.to_path_buf(), reason };
    let too_large = |bytes: u64| err(format!("it is {} ({bytes} bytes): {what} may be at most {}", size_text(bytes), size_text(limit)));
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let size = file.metadata().map_err(|e| err(e.to_string()))?.len();
    if size > limit {
        return Err(too_large(size));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default();
        let line = valid.matches('\n').count() + 1;
        let column = valid.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
        RenderError::Invalid {
            at: format!("{}:{line}:{column}", path.display()),
            reason: format!("the file is not UTF-8 text (byte 0x{:02x}): save it as UTF-8", e.as_bytes()[at]),
        }
    })
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
                lower: st.from.saturating_sub(threshold),
                upper: s.scale_out.get(i + 1).map(|next| next.from.saturating_sub(threshold)),
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

/// What a template's text shows before it is compiled: the checks that keep compiling it quick
/// and its nesting within the stack. The error's place is 1-based line and column.
fn check_text(text: &str) -> Result<(), (String, (usize, usize))> {
    let place = |offset: usize| {
        let before = &text[..offset];
        (before.matches('\n').count() + 1, before.rsplit('\n').next().unwrap_or_default().chars().count() + 1)
    };
    let (mut expressions, mut depth) = (0usize, 0usize);
    let mut rest = 0;
    while let Some(found) = text[rest..].find("{{") {
        let start = rest + found;
        let tag = &text[start..];
        // Comments and raw blocks hold text that is not parsed.
        let end = if tag.starts_with("{{!--") {
            tag.find("--}}").map(|e| e + 4)
        } else if tag.starts_with("{{{{") {
            tag.find("}}}}").map(|e| e + 4)
        } else {
            tag.find("}}").map(|e| e + 2)
        };
        let Some(end) = end else { return Ok(()) }; // Handlebars says what is unclosed
        let inner = tag[2..end - 2].trim_start_matches(['{', '~']).trim_start();
        rest = start + end;
        if tag.starts_with("{{!") {
            continue;
        }
        expressions += 1;
        if expressions > MAX_EXPRESSIONS {
            return Err((format!("the file has more than {MAX_EXPRESSIONS} Handlebars expressions (`{{{{ }}}}`)"), place(start)));
        }
        if inner.starts_with('#') || (inner.starts_with('^') && inner.len() > 1 && !inner[1..].trim_start().starts_with(['}', '~'])) {
            depth += 1;
            if depth > MAX_BLOCK_DEPTH {
                return Err((format!("blocks (`{{{{#...}}}}`) nest more than {MAX_BLOCK_DEPTH} deep here"), place(start)));
            }
        } else if inner.starts_with('/') {
            depth = depth.saturating_sub(1);
        }
        let (mut parens, mut quote) = (0usize, None);
        for (i, c) in inner.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '(') => {
                    parens += 1;
                    if parens > MAX_SUBEXPRESSION_DEPTH {
                        let offset = inner.as_ptr() as usize - text.as_ptr() as usize + i;
                        return Err((format!("subexpressions (`(...)`) nest more than {MAX_SUBEXPRESSION_DEPTH} deep here"), place(offset)));
                    }
                }
                (None, ')') => parens = parens.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(())
}

/// A compiled template's loops, blocks and partials, for the checks across templates.
#[derive(Default)]
struct Shape {
    /// The deepest nesting of blocks, and of `{{#each}}` blocks, in the template itself.
    blocks: usize,
    loops: usize,
    /// Partials it includes: name, blocks and loops around the inclusion, where.
    partials: Vec<(String, usize, usize, (usize, usize))>,
    /// The first construct refused, and where.
    refused: Option<(String, (usize, usize))>,
}

fn walk(t: &Template, blocks: usize, loops: usize, at: (usize, usize), shape: &mut Shape) {
    if blocks > MAX_BLOCK_DEPTH || shape.refused.is_some() {
        return;
    }
    shape.blocks = shape.blocks.max(blocks);
    shape.loops = shape.loops.max(loops);
    for (i, element) in t.elements.iter().enumerate() {
        let here = t.mapping.get(i).map_or(at, |m| (m.0, m.1));
        match element {
            TemplateElement::HelperBlock(h) => {
                let inner = loops + usize::from(matches!(&h.name, Parameter::Name(n) if n == "each"));
                if let Some(body) = &h.template {
                    walk(body, blocks + 1, inner, here, shape);
                }
                if let Some(otherwise) = &h.inverse {
                    walk(otherwise, blocks + 1, loops, here, shape);
                }
            }
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                match &d.name {
                    Parameter::Name(n) if n.starts_with('@') => {}
                    Parameter::Name(_) | Parameter::Path(_) => {
                        let name = d.name.as_name().unwrap_or_default().to_string();
                        shape.partials.push((name, blocks + 1, loops, here));
                    }
                    _ => {
                        shape.refused.get_or_insert(("a partial's name must be written out (`{{> templates/name.yaml.hbs}}`)".into(), here));
                    }
                }
                if let Some(body) = &d.template {
                    walk(body, blocks + 1, loops, here, shape);
                }
            }
            TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
                shape.refused.get_or_insert(("decorators and inline partials (`{{*...}}`, `{{#*inline}}`) are not supported".into(), here));
            }
            _ => {}
        }
    }
}

/// A strict registry: a misspelt field is an error, and nothing is HTML-escaped. Every template
/// is checked before and after it compiles: its size in expressions, how deep its blocks and
/// subexpressions nest, partials that include themselves, and how many iterations its nested
/// loops can run over the data.
fn registry(sources: &Sources, data: &Json) -> Result<Handlebars<'static>, RenderError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper("json", Box::new(json_helper));
    let at = |name: &str, (line, column): (usize, usize)| format!("{}:{line}:{column}", sources.shown(name));
    let mut shapes: BTreeMap<&str, Shape> = BTreeMap::new();
    for (name, text) in sources.files() {
        check_text(text).map_err(|(reason, place)| RenderError::Invalid { at: at(name, place), reason })?;
        hb.register_template_string(name, text).map_err(|e| {
            let reason = match e.reason() {
                // Pest lists every rule it expected: say what usually went wrong instead.
                handlebars::TemplateErrorReason::InvalidSyntax(_) => {
                    "invalid syntax: check that each `{{#block}}` is closed by its `{{/block}}` and each `{{` by `}}`".to_string()
                }
                other => clean_text(&other.to_string()),
            };
            let reason = reason.lines().next().unwrap_or_default().chars().take(300).collect::<String>();
            match e.pos() {
                Some(place) => RenderError::Invalid { at: at(name, place), reason: format!("not valid Handlebars: {reason}") },
                None => RenderError::Compile { name: sources.shown(name), reason },
            }
        })?;
        let mut shape = Shape::default();
        if let Some(t) = hb.get_template(name) {
            walk(t, 0, 0, (1, 1), &mut shape);
        }
        if let Some((reason, place)) = shape.refused.take() {
            return Err(RenderError::Invalid { at: at(name, place), reason });
        }
        shapes.insert(name, shape);
    }

    // Through partials: a cycle never ends, and blocks and loops add up.
    let longest = longest_list(data);
    let mut done: HashMap<&str, (usize, usize)> = HashMap::new();
    for name in shapes.keys() {
        let mut path = Vec::new();
        let (blocks, loops) = nesting(name, &shapes, &mut done, &mut path).map_err(|(reason, from, place)| RenderError::Invalid { at: at(from, place), reason })?;
        if blocks > MAX_BLOCK_DEPTH {
            return Err(RenderError::Invalid { at: sources.shown(name), reason: format!("blocks nest {blocks} deep with its partials: at most {MAX_BLOCK_DEPTH}") });
        }
        if loops >= 2 {
            let runs = (longest as u64).saturating_pow(loops as u32);
            if runs > MAX_ITERATIONS {
                return Err(RenderError::Invalid {
                    at: sources.shown(name),
                    reason: format!("`{{{{#each}}}}` blocks nest {loops} deep over lists of up to {longest} items: more than {MAX_ITERATIONS} iterations"),
                });
            }
        }
    }
    Ok(hb)
}

/// Why a template is refused: the reason, the template, and where in it.
type Refusal<'a> = (String, &'a str, (usize, usize));

/// The deepest blocks and loops of a template with the partials it includes.
fn nesting<'a>(
    name: &'a str,
    shapes: &'a BTreeMap<&'a str, Shape>,
    done: &mut HashMap<&'a str, (usize, usize)>,
    path: &mut Vec<&'a str>,
) -> Result<(usize, usize), Refusal<'a>> {
    if let Some(d) = done.get(name) {
        return Ok(*d);
    }
    let Some((key, shape)) = shapes.get_key_value(name) else { return Ok((0, 0)) }; // Handlebars says it is missing
    path.push(key);
    let (mut blocks, mut loops) = (shape.blocks, shape.loops);
    for (partial, b, l, place) in &shape.partials {
        if let Some(i) = path.iter().position(|p| *p == partial.as_str()) {
            let cycle = path[i..].iter().chain(std::iter::once(&partial.as_str())).map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" -> ");
            return Err((format!("partials include each other without end: {cycle}"), key, *place));
        }
        let (pb, pl) = nesting(partial, shapes, done, path)?;
        blocks = blocks.max(b + pb);
        loops = loops.max(l + pl);
    }
    path.pop();
    done.insert(key, (blocks, loops));
    Ok((blocks, loops))
}

/// The length of the longest list or map in the data: what one `{{#each}}` can iterate.
fn longest_list(v: &Json) -> usize {
    match v {
        Json::Array(a) => a.iter().map(longest_list).max().unwrap_or(0).max(a.len()),
        Json::Object(o) => o.values().map(longest_list).max().unwrap_or(0).max(o.len()),
        _ => 0,
    }
}

/// A writer that refuses to grow past [`MAX_RENDERED_BYTES`].
struct Bounded {
    out: Vec<u8>,
    full: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > MAX_RENDERED_BYTES {
            self.full = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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

/// A rendered text read as YAML: its shape checked first (depth, aliases, keys written twice),
/// and the error quoting the line of the output it is about.
fn to_yaml<T: serde::de::DeserializeOwned>(shown: &str, text: &str) -> Result<T, RenderError> {
    let line_of = |line: usize| {
        let l = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
        let l: String = l.chars().take(120).collect();
        format!(": `{}`", l.trim())
    };
    let err = |reason: String, line: usize| RenderError::Yaml { name: shown.to_string(), reason: clean_text(&format!("{reason}{}", line_of(line))) };
    if let Some(problem) = locate::scan(text, TEMPLATE_LIMITS).problem {
        return Err(match problem {
            Problem::TooDeep { limit, at } => err(format!("it nests more than {limit} levels deep at line {} of its output", at.0), at.0),
            Problem::TooManyNodes { limit, at, .. } => err(format!("it holds more than {limit} values (aliases expanded) at line {} of its output", at.0), at.0),
            Problem::DuplicateKey { path, first, at, .. } => {
                err(format!("`{path}` is written twice, at lines {} and {} of its output", first.0, at.0), at.0)
            }
            Problem::MoreThanOneDocument { at } => err(format!("it holds more than one YAML document (`---` at line {} of its output)", at.0), at.0),
        });
    }
    serde_yaml_ng::from_str(text).map_err(|e| {
        let line = e.location().map_or(0, |l| l.line());
        let message = e.to_string();
        if line > 0 {
            err(message, line)
        } else {
            RenderError::Yaml { name: shown.to_string(), reason: clean_text(&message) }
        }
    })
}

/// A CloudFormation stack name: a letter, then letters, digits and hyphens, 128 at most.
fn is_stack_name(s: &str) -> bool {
    s.len() <= 128 && s.starts_with(|c: char| c.is_ascii_alphabetic()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Where `needle` is first written in `text`, as `path:line:column`, or the path alone.
fn place_of(shown: &str, text: &str, needle: &str) -> String {
    match text.find(needle).filter(|_| !needle.is_empty()) {
        Some(offset) => {
            let before = &text[..offset];
            format!("{shown}:{}:{}", before.matches('\n').count() + 1, before.rsplit('\n').next().unwrap_or_default().chars().count() + 1)
        }
        None => shown.to_string(),
    }
}

/// Renders every stack the sources define, in stack-file order.
pub fn render(sources: &Sources, data: &Data) -> Result<Vec<RenderedStack>, RenderError> {
    let values = serde_json::to_value(data).map_err(|e| RenderError::Render { name: "the config".into(), reason: e.to_string() })?;
    let hb = registry(sources, &values)?;
    let run = |name: &str| {
        let mut out = Bounded { out: Vec::new(), full: false };
        match hb.render_to_write(name, &values, &mut out) {
            Ok(()) => Ok(String::from_utf8_lossy(&out.out).into_owned()),
            Err(_) if out.full => Err(RenderError::Invalid {
                at: sources.shown(name),
                reason: format!("it renders more than {}: a stack's template may be at most {MAX_STACK_BYTES} bytes", size_text(MAX_RENDERED_BYTES as u64)),
            }),
            Err(e) => {
                let reason = match e.reason() {
                    handlebars::RenderErrorReason::MissingVariable(Some(path)) => clean_text(&format!(
                        "`{path}` is not a value the templates are given: they see `service`, `environment`, `image`, `queue`, `ecs`, `lambda` and `logs` (`replatform templates --out DIR` writes the built-in ones that use them)"
                    )),
                    other => clean_text(&other.to_string()),
                };
                Err(match (e.line_no, e.column_no) {
                    (Some(line), Some(column)) => {
                        let file = e.template_name.as_deref().unwrap_or(name);
                        RenderError::Render { name: format!("{}:{line}:{column}", sources.shown(file)), reason }
                    }
                    _ => RenderError::Render { name: sources.shown(name), reason },
                })
            }
        }
    };
    let mut out = Vec::new();
    let mut stack_names: BTreeMap<String, String> = BTreeMap::new();
    for (file, stack_text) in sources.stacks() {
        let kind = file.trim_end_matches(".yaml").to_string();
        let stack_file = format!("stacks/{file}");
        let stack_shown = sources.shown(&stack_file);
        let def: StackDef = to_yaml(&stack_shown, &run(&stack_file)?)?;
        if !is_stack_name(&def.name) {
            return Err(RenderError::Invalid {
                at: stack_shown,
                reason: clean_text(&format!(
                    "the stack is named `{}`: a CloudFormation stack name is a letter, then letters, digits and hyphens, at most 128 characters",
                    def.name
                )),
            });
        }
        if let Some(other) = stack_names.insert(def.name.clone(), stack_shown.clone()) {
            return Err(RenderError::Invalid { at: stack_shown, reason: format!("stack `{}` is also defined by `{other}`: each stack file names its own stack", def.name) });
        }
        if def.description.len() > 1024 {
            return Err(RenderError::Invalid { at: stack_shown, reason: format!("the description is {} bytes: CloudFormation takes at most 1024", def.description.len()) });
        }

        let mut sections: BTreeMap<&str, (Mapping, BTreeMap<String, String>)> = BTreeMap::new();
        for t in &def.templates {
            if t.is_empty() || t.contains(['/', '\\', '\0']) || t.starts_with('.') {
                return Err(RenderError::Invalid {
                    at: place_of(&stack_shown, stack_text, t),
                    reason: clean_text(&format!(
                        "the stack names template `{t}`, which is not a file name in the templates folder: a stack names its templates by file name, without a folder (`queue.yaml.hbs`)"
                    )),
                });
            }
            let name = format!("templates/{t}");
            if !sources.files.contains_key(&name) {
                let known: Vec<&str> = sources.files.keys().filter_map(|k| k.strip_prefix("templates/")).collect();
                return Err(RenderError::Missing {
                    stack: place_of(&stack_shown, stack_text, t),
                    name: clean_text(t),
                    known: clean_text(&format!(" (the templates are {})", known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "))),
                });
            }
            let shown = sources.shown(&name);
            let doc: Yaml = to_yaml(&shown, &run(&name)?)?;
            let Yaml::Mapping(doc) = doc else {
                if doc.is_null() {
                    continue; // a template with nothing to add for this config
                }
                return Err(RenderError::Yaml { name: shown, reason: "the top level is not a mapping".into() });
            };
            for (section, body) in doc {
                let section_name = section.as_str().unwrap_or_default().to_string();
                let Some(section_key) = SECTIONS.iter().find(|s| **s == section_name) else {
                    return Err(RenderError::Yaml {
                        name: shown,
                        reason: clean_text(&format!("unexpected top-level key `{section_name}`: a template adds only {}", SECTIONS.join(", "))),
                    });
                };
                let body = match body {
                    Yaml::Mapping(body) => body,
                    Yaml::Null => continue,
                    _ => return Err(RenderError::Yaml { name: shown, reason: format!("`{section_name}` is not a mapping") }),
                };
                let (merged, owners) = sections.entry(section_key).or_default();
                for (k, v) in body {
                    let Some(key) = k.as_str().map(str::to_string) else {
                        return Err(RenderError::Yaml { name: shown, reason: format!("a key in `{section_name}` is not a string") });
                    };
                    if let Some(first) = owners.insert(key.clone(), name.clone()) {
                        return Err(RenderError::Duplicate { stack: def.name.clone(), key: clean_text(&key), first: sources.shown(&first), second: shown });
                    }
                    merged.insert(k, v);
                }
            }
        }

        let mut doc = Mapping::new();
        doc.insert("AWSTemplateFormatVersion".into(), "2010-09-09".into());
        doc.insert("Description".into(), def.description.clone().into());
        let (resources, resource_owners) = sections.remove("Resources").unwrap_or_default();
        let (conditions, condition_owners) = sections.remove("Conditions").unwrap_or_default();
        let (mut outputs, mut output_owners) = sections.remove("Outputs").unwrap_or_default();
        for (name, o) in def.outputs {
            let o: OutputDef = serde_yaml_ng::from_value(o).map_err(|e| RenderError::Yaml { name: stack_shown.clone(), reason: clean_text(&format!("output {name:?}: {e}")) })?;
            let mut entry = Mapping::new();
            entry.insert("Description".into(), o.description.into());
            entry.insert("Value".into(), o.value);
            if let Some(key) = name.as_str() {
                output_owners.insert(key.to_string(), stack_file.clone());
            }
            outputs.insert(name, Yaml::Mapping(entry));
        }
        let owners = Owners { resources: &resource_owners, conditions: &condition_owners, outputs: &output_owners, sources, stack: &stack_file };
        check_stack(&def.name, &resources, &conditions, &outputs, &owners)?;
        if !conditions.is_empty() {
            doc.insert("Conditions".into(), Yaml::Mapping(conditions));
        }
        doc.insert("Resources".into(), Yaml::Mapping(resources));
        if !outputs.is_empty() {
            doc.insert("Outputs".into(), Yaml::Mapping(outputs));
        }
        let body = serde_yaml_ng::to_string(&doc).map_err(|e| RenderError::Yaml { name: stack_shown.clone(), reason: e.to_string() })?;
        let header = format!(
            "# Stack `{}`, rendered by replatform from the service's replatform.yaml: edit that, not this.\n\
             # Deploys as is: aws cloudformation deploy --template-file {}.yaml --stack-name {} --capabilities CAPABILITY_IAM\n",
            def.name, def.name, def.name
        );
        let template = header + &body;
        if template.len() > MAX_STACK_BYTES {
            return Err(RenderError::Invalid {
                at: stack_shown,
                reason: format!("stack `{}` renders to {} bytes: CloudFormation takes a template of at most {MAX_STACK_BYTES} bytes", def.name, template.len()),
            });
        }
        out.push(RenderedStack { kind, name: def.name, template });
    }
    Ok(out)
}

/// Which file each part of a stack came from, for messages.
struct Owners<'a> {
    resources: &'a BTreeMap<String, String>,
    conditions: &'a BTreeMap<String, String>,
    outputs: &'a BTreeMap<String, String>,
    sources: &'a Sources,
    stack: &'a str,
}

impl Owners<'_> {
    /// `path:line:column` of `needle` in the file that defines `section.key`.
    fn at(&self, section: &str, key: &str, needle: &str) -> String {
        let owner = match section {
            "Resources" => self.resources.get(key),
            "Conditions" => self.conditions.get(key),
            _ => self.outputs.get(key),
        };
        let file = owner.map_or(self.stack, String::as_str);
        let shown = self.sources.shown(file);
        match self.sources.files.get(file) {
            Some(text) => place_of(&shown, text, needle),
            None => shown,
        }
    }
}

/// CloudFormation's pseudo parameters: what `Ref` and `${}` may name besides resources.
const PSEUDO_PARAMETERS: [&str; 8] =
    ["AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"];

/// What CloudFormation would refuse at deploy time about the stack's parts: no resource, a
/// logical id that is not alphanumeric, a resource without `Type`, and a reference (`Ref`,
/// `Fn::GetAtt`, `Fn::Sub`, `DependsOn`, a condition) to a name the stack does not define.
fn check_stack(stack: &str, resources: &Mapping, conditions: &Mapping, outputs: &Mapping, owners: &Owners<'_>) -> Result<(), RenderError> {
    let invalid = |at: String, reason: String| RenderError::Invalid { at, reason: clean_text(&reason) };
    if resources.is_empty() {
        return Err(invalid(owners.sources.shown(owners.stack), format!("stack `{stack}` has no resources: CloudFormation needs at least one")));
    }
    let names = |m: &Mapping| m.keys().filter_map(Yaml::as_str).map(str::to_string).collect::<BTreeSet<String>>();
    let (resource_ids, condition_ids) = (names(resources), names(conditions));
    for (section, body) in [("Resources", resources), ("Conditions", conditions), ("Outputs", outputs)] {
        for (key, value) in body {
            let key = key.as_str().unwrap_or_default();
            if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(invalid(owners.at(section, key, key), format!("`{section}.{key}`: a logical id is letters and digits only")));
            }
            if section == "Resources" && !value.get("Type").is_some_and(Yaml::is_string) {
                return Err(invalid(owners.at(section, key, key), format!("resource `{key}` has no `Type`")));
            }
        }
    }
    let mut found = Vec::new();
    for (section, body) in [("Resources", resources), ("Conditions", conditions), ("Outputs", outputs)] {
        for (key, value) in body {
            let key = key.as_str().unwrap_or_default();
            references(value, &mut format!("{section}.{key}"), section == "Conditions", &mut found);
            if section != "Conditions" {
                if let Some(Yaml::String(c)) = value.get("Condition") {
                    found.push((format!("{section}.{key}.Condition"), c.clone(), Kind::Condition));
                }
            }
            if section == "Resources" {
                match value.get("DependsOn") {
                    Some(Yaml::String(d)) => found.push((format!("{section}.{key}.DependsOn"), d.clone(), Kind::Resource)),
                    Some(Yaml::Sequence(list)) => {
                        for d in list.iter().filter_map(Yaml::as_str) {
                            found.push((format!("{section}.{key}.DependsOn"), d.to_string(), Kind::Resource));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for (path, name, kind) in found {
        let known = match kind {
            Kind::Condition => condition_ids.contains(&name),
            Kind::Resource => resource_ids.contains(&name),
            Kind::ResourceOrParameter(ref vars) => resource_ids.contains(&name) || PSEUDO_PARAMETERS.contains(&name.as_str()) || vars.contains(&name),
        };
        if !known {
            let (what, ids) = match kind {
                Kind::Condition => ("condition", &condition_ids),
                _ => ("resource", &resource_ids),
            };
            let list: Vec<String> = ids.iter().take(12).map(|i| format!("`{i}`")).collect();
            let more = if ids.len() > 12 { ", ..." } else { "" };
            let defined = if ids.is_empty() { format!("it defines no {what}") } else { format!("its {what}s are {}{more}", list.join(", ")) };
            let mut parts = path.splitn(3, '.');
            let (section, key) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            return Err(invalid(
                owners.at(section, key, &name),
                format!("`{path}` refers to `{name}`, which is not a {what} of stack `{stack}`: {defined}"),
            ));
        }
    }
    Ok(())
}

enum Kind {
    Resource,
    /// `Ref` and `${}`: a resource, a pseudo parameter, or one of `Fn::Sub`'s own variables.
    ResourceOrParameter(BTreeSet<String>),
    Condition,
}

/// The names `value` refers to, with the path of each reference.
fn references(value: &Yaml, path: &mut String, in_conditions: bool, found: &mut Vec<(String, String, Kind)>) {
    let len = path.len();
    let function = |name: &str, arg: &Yaml, path: &mut String, found: &mut Vec<(String, String, Kind)>| match name {
        "Ref" => {
            if let Some(r) = arg.as_str() {
                found.push((path.clone(), r.to_string(), Kind::ResourceOrParameter(BTreeSet::new())));
            }
        }
        "Fn::GetAtt" | "GetAtt" => {
            let target = match arg {
                Yaml::String(s) => s.split('.').next().map(str::to_string),
                Yaml::Sequence(list) => list.first().and_then(Yaml::as_str).map(str::to_string),
                _ => None,
            };
            if let Some(t) = target {
                found.push((path.clone(), t, Kind::Resource));
            }
        }
        "Fn::Sub" | "Sub" => {
            let (text, vars) = match arg {
                Yaml::String(s) => (Some(s.as_str()), BTreeSet::new()),
                Yaml::Sequence(list) => (
                    list.first().and_then(Yaml::as_str),
                    list.get(1).and_then(Yaml::as_mapping).map(|m| m.keys().filter_map(Yaml::as_str).map(str::to_string).collect()).unwrap_or_default(),
                ),
                _ => (None, BTreeSet::new()),
            };
            let mut rest = text.unwrap_or_default();
            while let Some(i) = rest.find("${") {
                rest = &rest[i + 2..];
                let Some(end) = rest.find('}') else { break };
                let var = &rest[..end];
                rest = &rest[end + 1..];
                if var.starts_with('!') {
                    continue; // a literal `${!x}`
                }
                let var = var.trim();
                match var.split_once('.') {
                    Some((resource, _)) if !vars.contains(var) => found.push((path.clone(), resource.to_string(), Kind::Resource)),
                    _ => found.push((path.clone(), var.to_string(), Kind::ResourceOrParameter(vars.clone()))),
                }
            }
        }
        "Fn::If" | "If" => {
            if let Some(c) = arg.as_sequence().and_then(|l| l.first()).and_then(Yaml::as_str) {
                found.push((path.clone(), c.to_string(), Kind::Condition));
            }
        }
        "Condition" if in_conditions => {
            if let Some(c) = arg.as_str() {
                found.push((path.clone(), c.to_string(), Kind::Condition));
            }
        }
        _ => {}
    };
    match value {
        Yaml::Tagged(t) => {
            let tag = t.tag.to_string();
            function(tag.trim_start_matches('!'), &t.value, path, found);
            references(&t.value, path, in_conditions, found);
        }
        Yaml::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or("?");
                path.push('.');
                path.push_str(key);
                if m.len() == 1 {
                    function(key, v, path, found);
                }
                references(v, path, in_conditions, found);
                path.truncate(len);
            }
        }
        Yaml::Sequence(list) => {
            for (i, v) in list.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                references(v, path, in_conditions, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
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

    fn config() -> Config {
        let text = include_str!("../../examples/sqs-worker/replatform.yaml");
        crate::core::config::parse(text).unwrap()
    }

    fn render_with(files: &[(&str, &str)]) -> Result<Vec<RenderedStack>, RenderError> {
        let mut sources = Sources::builtin();
        for (name, text) in files {
            sources.files.insert(name.to_string(), text.to_string());
        }
        render(&sources, &Data::new(&config(), &Image::Placeholder))
    }

    fn message(files: &[(&str, &str)]) -> String {
        render_with(files).unwrap_err().to_string()
    }

    #[test]
    fn builtin_templates_pass_every_check() {
        assert_eq!(render_with(&[]).unwrap().len(), 2);
    }

    #[test]
    fn template_text_checks() {
        assert!(check_text(&"{{x}}\n".repeat(MAX_EXPRESSIONS)).is_ok());
        assert_eq!(check_text(&"{{x}}\n".repeat(MAX_EXPRESSIONS + 1)).unwrap_err().1, (MAX_EXPRESSIONS + 1, 1));
        assert!(check_text(&format!("{}{}", "{{#if x}}".repeat(40), "{{/if}}".repeat(40))).unwrap_err().0.contains("blocks"));
        assert!(check_text(&format!("{{{{x {}y{}}}}}", "(a ".repeat(20), ")".repeat(20))).unwrap_err().0.contains("subexpressions"));
        assert!(check_text("{{!-- {{#if}} ( ( ( --}} {{x \"((((((((((\"}}").is_ok());
    }

    #[test]
    fn partials_that_include_each_other_are_refused() {
        let m = message(&[("templates/a.yaml.hbs", "{{#if service}}{{> templates/b.yaml.hbs}}{{/if}}"), ("templates/b.yaml.hbs", "{{> templates/a.yaml.hbs}}")]);
        assert!(m.contains("partials include each other without end"), "{m}");
        let m = message(&[("templates/a.yaml.hbs", "{{#*inline \"x\"}}{{> x}}{{/inline}}{{> x}}")]);
        assert!(m.contains("inline partials"), "{m}");
    }

    #[test]
    fn nested_loops_over_long_lists_are_refused() {
        let mut c = config();
        c.lambda.command = vec!["x".to_string(); 1_100];
        let mut sources = Sources::builtin();
        sources.files.insert("templates/a.yaml.hbs".into(), "{{#each lambda.command}}{{#each ../lambda.command}}{{/each}}{{/each}}".into());
        let m = render(&sources, &Data::new(&c, &Image::Placeholder)).unwrap_err().to_string();
        assert!(m.contains("nest 2 deep over lists of up to 1100 items"), "{m}");
    }

    #[test]
    fn references_to_names_the_stack_does_not_define_are_refused() {
        let extra = |body: &str| {
            let stack = include_str!("../../stacks/lambda.yaml").replace("  - queue.yaml.hbs\n", "  - queue.yaml.hbs\n  - extra.yaml.hbs\n");
            message(&[("stacks/lambda.yaml", &stack), ("templates/extra.yaml.hbs", &format!("Resources:\n  Extra:\n    Type: AWS::SQS::Queue\n{body}"))])
        };
        assert!(extra("    Properties: {QueueName: !Ref Nope}\n").contains("refers to `Nope`, which is not a resource"));
        assert!(extra("    Properties: {QueueName: {\"Fn::GetAtt\": [Gone, Arn]}}\n").contains("`Gone`"));
        assert!(extra("    Properties: {QueueName: !Sub \"${AWS::Region}-${Queue.Arn}-${!Lit}-${Missing}\"}\n").contains("`Missing`"));
        assert!(extra("    DependsOn: [Queue, Later]\n").contains("`Later`"));
        assert!(extra("    Condition: Sometimes\n").contains("not a condition"));
        let fine = include_str!("../../stacks/lambda.yaml").replace("  - queue.yaml.hbs\n", "  - queue.yaml.hbs\n  - extra.yaml.hbs\n");
        let ok = render_with(&[
            ("stacks/lambda.yaml", &fine),
            ("templates/extra.yaml.hbs", "Resources:\n  Extra:\n    Type: AWS::SQS::Queue\n    DependsOn: Queue\n    Properties:\n      QueueName: !Sub [\"${Name}-${AWS::StackName}\", {Name: !GetAtt Queue.QueueName}]\n"),
        ]);
        assert!(ok.is_ok(), "{:?}", ok.err());
    }

    #[test]
    fn stack_files_name_templates_by_file_name_and_stacks_validly() {
        let stack = |templates: &str, name: &str| format!("name: \"{name}\"\ndescription: d\ntemplates: [{templates}]\n");
        assert!(message(&[("stacks/x.yaml", &stack("../queue.yaml.hbs", "{{service}}-x"))]).contains("not a file name in the templates folder"));
        assert!(message(&[("stacks/x.yaml", &stack("/etc/passwd", "{{service}}-x"))]).contains("not a file name in the templates folder"));
        assert!(message(&[("stacks/x.yaml", &stack("queue.yaml.hbs", "../x"))]).contains("CloudFormation stack name"));
        assert!(message(&[("stacks/x.yaml", &stack("queue.yaml.hbs", "{{service}}-ecs"))]).contains("is also defined by"));
    }
}

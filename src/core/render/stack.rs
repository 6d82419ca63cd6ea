//! Each stack rendered: its stack file and the templates it names, each read back as YAML (its
//! shape checked first), merged into one CloudFormation template and checked against
//! CloudFormation's limits. Pure.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value as Yaml};

use super::references::{check_stack, place_of, Owners};
use super::registry::registry;
use super::{
    Data, RenderError, RenderedStack, Sources, MAX_RENDERED_BYTES, MAX_STACK_BYTES, TEMPLATE_LIMITS,
};
use crate::core::config::{clean_text, size_text};
use crate::core::locate::{self, Problem};

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
    let err = |reason: String, line: usize| RenderError::Yaml {
        name: shown.to_string(),
        reason: clean_text(&format!("{reason}{}", line_of(line))),
    };
    if let Some(problem) = locate::scan(text, TEMPLATE_LIMITS).problem {
        return Err(match problem {
            Problem::TooDeep { limit, at } => err(
                format!(
                    "it nests more than {limit} levels deep at line {} of its output",
                    at.0
                ),
                at.0,
            ),
            Problem::TooManyNodes { limit, at, .. } => err(
                format!(
                    "it holds more than {limit} values (aliases expanded) at line {} of its output",
                    at.0
                ),
                at.0,
            ),
            Problem::DuplicateKey {
                path, first, at, ..
            } => err(
                format!(
                    "`{path}` is written twice, at lines {} and {} of its output",
                    first.0, at.0
                ),
                at.0,
            ),
            Problem::MoreThanOneDocument { at } => err(
                format!(
                    "it holds more than one YAML document (`---` at line {} of its output)",
                    at.0
                ),
                at.0,
            ),
        });
    }
    serde_yaml_ng::from_str(text).map_err(|e| {
        let line = e.location().map_or(0, |l| l.line());
        let message = e.to_string();
        if line > 0 {
            err(message, line)
        } else {
            RenderError::Yaml {
                name: shown.to_string(),
                reason: clean_text(&message),
            }
        }
    })
}

/// A CloudFormation stack name: a letter, then letters, digits and hyphens, 128 at most.
fn is_stack_name(s: &str) -> bool {
    s.len() <= 128
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// One file of the sources rendered with the config's values, within [`MAX_RENDERED_BYTES`].
fn run(
    hb: &handlebars::Handlebars<'_>,
    values: &serde_json::Value,
    sources: &Sources,
    name: &str,
) -> Result<String, RenderError> {
    let mut out = Bounded {
        out: Vec::new(),
        full: false,
    };
    match hb.render_to_write(name, &values, &mut out) {
        Ok(()) => Ok(String::from_utf8_lossy(&out.out).into_owned()),
        Err(_) if out.full => Err(RenderError::Invalid {
            at: sources.shown(name),
            reason: format!("it renders more than {}: a stack's template may be at most {MAX_STACK_BYTES} bytes", size_text(MAX_RENDERED_BYTES as u64)),
        }),
        Err(e) => {
            let reason = match e.reason() {
                handlebars::RenderErrorReason::MissingVariable(Some(path)) => {
                    // What the templates are given: the top-level values of `Data`.
                    let given: Vec<String> = values
                        .as_object()
                        .map(|o| o.keys().map(|k| format!("`{k}`")).collect())
                        .unwrap_or_default();
                    clean_text(&format!(
                        "`{path}` is not a value the templates are given: they see {} (`replatform templates --out DIR` writes the built-in ones that use them)",
                        given.join(", ")
                    ))
                }
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
}

/// A stack file rendered and read: its kind, file, name as shown, and definition; its name
/// checked, and recorded in `names` (no two stack files may name the same stack).
fn stack_def(
    sources: &Sources,
    file: &str,
    run: &dyn Fn(&str) -> Result<String, RenderError>,
    names: &mut BTreeMap<String, String>,
) -> Result<(String, String, String, StackDef), RenderError> {
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
    if let Some(other) = names.insert(def.name.clone(), stack_shown.clone()) {
        return Err(RenderError::Invalid {
            at: stack_shown,
            reason: format!(
                "stack `{}` is also defined by `{other}`: each stack file names its own stack",
                def.name
            ),
        });
    }
    if def.description.len() > 1024 {
        return Err(RenderError::Invalid {
            at: stack_shown,
            reason: format!(
                "the description is {} bytes: CloudFormation takes at most 1024",
                def.description.len()
            ),
        });
    }
    Ok((kind, stack_file, stack_shown, def))
}

/// The values the templates see, and the registry of the sources' templates with them.
fn prepared(
    sources: &Sources,
    data: &Data,
) -> Result<(serde_json::Value, handlebars::Handlebars<'static>), RenderError> {
    let values = serde_json::to_value(data).map_err(|e| RenderError::Render {
        name: "the config".into(),
        reason: e.to_string(),
    })?;
    let hb = registry(sources, &values)?;
    Ok((values, hb))
}

/// Every stack's kind and name, from the stack files alone: no template is rendered. For a
/// command that needs the names before it knows what to render with (`cutover`: the image the
/// function runs), and renders the stack itself once it does.
pub fn names(sources: &Sources, data: &Data) -> Result<Vec<(String, String)>, RenderError> {
    let (values, hb) = prepared(sources, data)?;
    let run = |name: &str| run(&hb, &values, sources, name);
    let mut names = BTreeMap::new();
    let mut out = Vec::new();
    for (file, _) in sources.stacks() {
        let (kind, _, _, def) = stack_def(sources, file, &run, &mut names)?;
        out.push((kind, def.name));
    }
    Ok(out)
}

/// Renders every stack the sources define, in stack-file order.
pub fn render(sources: &Sources, data: &Data) -> Result<Vec<RenderedStack>, RenderError> {
    let (values, hb) = prepared(sources, data)?;
    let run = |name: &str| run(&hb, &values, sources, name);
    let mut out = Vec::new();
    let mut stack_names: BTreeMap<String, String> = BTreeMap::new();
    for (file, stack_text) in sources.stacks() {
        let (kind, stack_file, stack_shown, def) =
            stack_def(sources, file, &run, &mut stack_names)?;
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
                let known: Vec<&str> = sources
                    .files
                    .keys()
                    .filter_map(|k| k.strip_prefix("templates/"))
                    .collect();
                return Err(RenderError::Missing {
                    stack: place_of(&stack_shown, stack_text, t),
                    name: clean_text(t),
                    known: clean_text(&format!(
                        " (the templates are {})",
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                });
            }
            let shown = sources.shown(&name);
            let doc: Yaml = to_yaml(&shown, &run(&name)?)?;
            let Yaml::Mapping(doc) = doc else {
                if doc.is_null() {
                    continue; // a template with nothing to add for this config
                }
                return Err(RenderError::Yaml {
                    name: shown,
                    reason: "the top level is not a mapping".into(),
                });
            };
            for (section, body) in doc {
                let section_name = section.as_str().unwrap_or_default().to_string();
                let Some(section_key) = SECTIONS.iter().find(|s| **s == section_name) else {
                    return Err(RenderError::Yaml {
                        name: shown,
                        reason: clean_text(&format!(
                            "unexpected top-level key `{section_name}`: a template adds only {}",
                            SECTIONS.join(", ")
                        )),
                    });
                };
                let body = match body {
                    Yaml::Mapping(body) => body,
                    Yaml::Null => continue,
                    _ => {
                        return Err(RenderError::Yaml {
                            name: shown,
                            reason: format!("`{section_name}` is not a mapping"),
                        })
                    }
                };
                let (merged, owners) = sections.entry(section_key).or_default();
                for (k, v) in body {
                    let Some(key) = k.as_str().map(str::to_string) else {
                        return Err(RenderError::Yaml {
                            name: shown,
                            reason: format!("a key in `{section_name}` is not a string"),
                        });
                    };
                    if let Some(first) = owners.insert(key.clone(), name.clone()) {
                        return Err(RenderError::Duplicate {
                            stack: def.name.clone(),
                            key: clean_text(&key),
                            first: sources.shown(&first),
                            second: shown,
                        });
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
            let o: OutputDef = serde_yaml_ng::from_value(o).map_err(|e| RenderError::Yaml {
                name: stack_shown.clone(),
                reason: clean_text(&format!("output {name:?}: {e}")),
            })?;
            let mut entry = Mapping::new();
            entry.insert("Description".into(), o.description.into());
            entry.insert("Value".into(), o.value);
            if let Some(key) = name.as_str() {
                output_owners.insert(key.to_string(), stack_file.clone());
            }
            outputs.insert(name, Yaml::Mapping(entry));
        }
        let owners = Owners {
            resources: &resource_owners,
            conditions: &condition_owners,
            outputs: &output_owners,
            sources,
            stack: &stack_file,
        };
        check_stack(&def.name, &resources, &conditions, &outputs, &owners)?;
        if !conditions.is_empty() {
            doc.insert("Conditions".into(), Yaml::Mapping(conditions));
        }
        doc.insert("Resources".into(), Yaml::Mapping(resources));
        if !outputs.is_empty() {
            doc.insert("Outputs".into(), Yaml::Mapping(outputs));
        }
        let body = serde_yaml_ng::to_string(&doc).map_err(|e| RenderError::Yaml {
            name: stack_shown.clone(),
            reason: e.to_string(),
        })?;
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
        out.push(RenderedStack {
            kind,
            name: def.name,
            template,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_input::{message, render_with};

    #[test]
    fn builtin_templates_pass_every_check() {
        assert_eq!(render_with(&[]).unwrap().len(), 2);
    }

    #[test]
    fn the_names_alone_are_the_rendered_stacks_names_without_a_template_rendered() {
        use super::super::test_input::{config, sources_with};
        use super::super::{Data, Image};
        let data = Data::new(&config(), &Image::Placeholder);
        let rendered: Vec<(String, String)> = render_with(&[])
            .unwrap()
            .into_iter()
            .map(|s| (s.kind, s.name))
            .collect();
        assert_eq!(super::names(&sources_with(&[]), &data).unwrap(), rendered);
        // A template that would not render is not rendered for the names.
        let broken = [("templates/queue.yaml.hbs", "{{nope}}\n")];
        assert!(render_with(&broken).is_err());
        assert_eq!(
            super::names(&sources_with(&broken), &data).unwrap(),
            rendered
        );
        // A stack file's name is checked as for a render.
        let bad = [(
            "stacks/lambda.yaml",
            "name: \"9-lambda\"\ndescription: d\ntemplates: []\n",
        )];
        assert!(super::names(&sources_with(&bad), &data)
            .unwrap_err()
            .to_string()
            .contains("CloudFormation stack name"));
    }

    #[test]
    fn stack_files_name_templates_by_file_name_and_stacks_validly() {
        let stack = |templates: &str, name: &str| {
            format!("name: \"{name}\"\ndescription: d\ntemplates: [{templates}]\n")
        };
        assert!(message(&[(
            "stacks/x.yaml",
            &stack("../queue.yaml.hbs", "{{service}}-x")
        )])
        .contains("not a file name in the templates folder"));
        assert!(
            message(&[("stacks/x.yaml", &stack("/etc/passwd", "{{service}}-x"))])
                .contains("not a file name in the templates folder")
        );
        assert!(
            message(&[("stacks/x.yaml", &stack("queue.yaml.hbs", "../x"))])
                .contains("CloudFormation stack name")
        );
        assert!(
            message(&[("stacks/x.yaml", &stack("queue.yaml.hbs", "{{service}}-ecs"))])
                .contains("is also defined by")
        );
    }
}

//! Mistakes in a config's structure (a key indented too far or not far enough, a key moved out
//! of its section, a section left empty), told as what is wrong on which line and what to do:
//! the YAML reader and serde see only their symptom (a syntax error a line early, a missing key,
//! an unknown key, a section with no value). Pure.

use std::collections::HashMap;

use crate::core::diag::Diagnostic;
use crate::core::locate::{self, Place};

/// Each mapping of the config and its keys, as docs/config.md lists them. A unit test checks
/// every key against the parser.
const SECTIONS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "service",
            "region",
            "image",
            "environment",
            "secrets",
            "permissions",
            "tags",
            "queue",
            "queues",
            "ecs",
            "lambda",
            "logs",
            "production",
        ],
    ),
    (
        "image",
        &[
            "context",
            "dockerfile",
            "platform",
            "repository",
            "builder",
            "build_args",
            "registry",
            "keep_images",
        ],
    ),
    (
        "permissions",
        &["managed_policies", "statements", "boundary"],
    ),
    (
        "queue",
        &[
            "url_env",
            "name_env",
            "arn_env",
            "json_env",
            "consumed",
            "visibility_timeout",
            "retention",
            "fifo",
            "dead_letter",
        ],
    ),
    ("queue.dead_letter", &["max_receive_count"]),
    (
        "ecs",
        &[
            "cluster",
            "command",
            "cpu",
            "memory",
            "subnets",
            "security_groups",
            "assign_public_ip",
            "scaling",
        ],
    ),
    (
        "ecs.scaling",
        &[
            "min",
            "max",
            "scale_out",
            "scale_out_cooldown",
            "scale_in_after",
        ],
    ),
    (
        "lambda",
        &[
            "memory",
            "timeout",
            "reserved_concurrency",
            "entry_point",
            "command",
            "working_directory",
            "vpc",
            "trigger",
        ],
    ),
    (
        "lambda.trigger",
        &[
            "type",
            "batch_size",
            "max_batching_window",
            "max_concurrency",
            "provisioned_pollers",
            "rate",
        ],
    ),
    ("lambda.trigger.provisioned_pollers", &["min", "max"]),
    ("logs", &["retention"]),
    ("production", &["ecs_service", "k8s", "queue", "queues"]),
    (
        "production.k8s",
        &["context", "namespace", "deployment", "scaled_object"],
    ),
];

fn keys_of(path: &str) -> Option<&'static [&'static str]> {
    SECTIONS.iter().find(|(p, _)| *p == path).map(|(_, k)| *k)
}

/// The sections directly under `path` that take `key`.
fn children_taking(path: &str, key: &str) -> Vec<&'static str> {
    SECTIONS
        .iter()
        .filter(|(p, keys)| {
            let parent = p.rsplit_once('.').map_or("", |(a, _)| a);
            !p.is_empty() && parent == path && keys.contains(&key)
        })
        .map(|(p, _)| *p)
        .collect()
}

fn last(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// A line's indentation in characters, and its text after it.
fn indent(line: &str) -> (usize, &str) {
    let text = line.trim_start_matches(' ');
    (line.len() - text.len(), text)
}

/// `key:` at the start of a line's text: the key.
fn key_of(text: &str) -> Option<&str> {
    let (key, _) = text.split_once(':')?;
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then_some(key)
}

/// The lines that hold content: (1-based line, indentation, text), comments and blanks left out.
fn content(source: &str) -> Vec<(usize, usize, &str)> {
    source
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let (n, t) = indent(l);
            (i + 1, n, t)
        })
        .filter(|(_, _, t)| !t.is_empty() && !t.starts_with('#'))
        .collect()
}

/// A key line indented deeper than the key line before it, which holds a value of its own (so
/// nothing may nest under it): the line, its indentation, and the indentation of the line above.
fn too_deep(source: &str, near: usize) -> Option<(usize, usize, usize, String)> {
    let lines = content(source);
    lines.windows(2).find_map(|w| {
        let ((_, above_n, above), (line, n, text)) = (w[0], w[1]);
        let (above_key, value) = above.split_once(':')?;
        let value = value.trim();
        let holds_value = !value.is_empty() && !value.starts_with('#') && !value.starts_with('&');
        (line + 2 >= near
            && line <= near + 2
            && holds_value
            && key_of(above).is_some()
            && key_of(text).is_some()
            && n > above_n)
            .then(|| (line, n, above_n, above_key.to_string()))
    })
}

/// Where `key:` is written outside the section `path` (at a shallower indentation than the
/// section's own keys): its line and column.
fn written_outside(
    source: &str,
    path: &str,
    key: &str,
    places: &HashMap<String, Place>,
) -> Option<(usize, usize)> {
    let section = locate::find(places, path)?;
    let section_indent = section.key.1 - 1;
    content(source)
        .into_iter()
        .filter(|(line, _, _)| *line > section.key.0)
        .find(|(_, n, text)| key_of(text) == Some(key) && *n <= section_indent)
        .map(|(line, n, _)| (line, n + 1))
}

/// The diagnostic said as the structure mistake it is, where one is found.
pub fn explain(
    d: Diagnostic,
    source: &str,
    places: &HashMap<String, Place>,
    syntax: bool,
) -> Diagnostic {
    let mut d = d;
    if syntax {
        let near = d.location.map_or(1, |(l, _)| l);
        if let Some((line, n, above, key)) = too_deep(source, near) {
            d.message = format!(
                "line {line} is indented {n} spaces, deeper than `{key}` above it, which already holds a value"
            );
            d.location = Some((line, n + 1));
            return d.hint(format!(
                "indent line {line} by {above} spaces, as `{key}`, if it is a key beside it; a key cannot nest under a value"
            ));
        }
        return d;
    }
    match d.code {
        "missing-key" => {
            let key = d
                .message
                .rsplit_once("required key `")
                .map(|(_, k)| k.trim_end_matches('`').to_string());
            if let Some(key) = key {
                if let Some((line, column)) = written_outside(source, &d.path, &key, places) {
                    let want = locate::find(places, &d.path).map_or(2, |p| p.key.1 + 1);
                    let section = last(&d.path).to_string();
                    d.location = Some((line, column));
                    return d.hint(format!(
                        "`{key}:` is written on line {line} at column {column}, outside `{section}`: indent it by {want} spaces, as the other keys of `{section}`"
                    ));
                }
            }
            d
        }
        "unknown-key" => {
            let key = last(&d.path).to_string();
            let parent = d
                .path
                .strip_suffix(&key)
                .map(|p| p.trim_end_matches('.'))
                .unwrap_or_default()
                .to_string();
            let into = children_taking(&parent, &key);
            if let [child] = into.as_slice() {
                return d.hint(format!(
                    "`{key}` is a key of `{child}`: indent it under `{}:`, as the other keys of `{child}`",
                    last(child)
                ));
            }
            // Indented too deep: a key of the section above.
            if let Some((grand, _)) = parent.rsplit_once('.').or(if parent.is_empty() {
                None
            } else {
                Some(("", ""))
            }) {
                if keys_of(grand).is_some_and(|k| k.contains(&key.as_str())) {
                    let owner = if grand.is_empty() {
                        "the top level".to_string()
                    } else {
                        format!("`{grand}`")
                    };
                    return d.hint(format!(
                        "`{key}` is a key of {owner}, not of `{parent}`: indent it less, as {owner}'s other keys"
                    ));
                }
            }
            d
        }
        _ if d.message.contains("invalid type: unit value") => {
            let section = last(&d.path).to_string();
            let mut d = Diagnostic {
                message: format!("`{}` has nothing under it", d.path),
                ..d
            };
            let Some(place) = locate::find(places, &d.path) else {
                return d.hint(format!("write `{section}`'s keys indented under it"));
            };
            let next = content(source)
                .into_iter()
                .find(|(line, _, _)| *line > place.key.0);
            match next {
                Some((line, n, text)) if n < place.key.1 && key_of(text).is_some() => {
                    let key = key_of(text).unwrap_or_default();
                    d.location = Some((line, n + 1));
                    d.hint(format!(
                        "`{key}:` on line {line} has the indentation of `{section}:` itself: indent it (and the keys meant for `{section}`) by {} spaces",
                        place.key.1 + 1
                    ))
                }
                _ => d.hint(format!("write `{section}`'s keys indented under it")),
            }
        }
        _ => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key the table lists is one the parser knows: setting it never gives `unknown key`.
    #[test]
    fn the_table_of_sections_matches_the_parser() {
        for (path, keys) in SECTIONS {
            for key in *keys {
                let mut text = String::new();
                let mut indent = 0;
                for part in path.split('.').filter(|p| !p.is_empty()) {
                    text.push_str(&format!("{}{part}:\n", " ".repeat(indent)));
                    indent += 2;
                }
                text.push_str(&format!("{}{key}: x\n", " ".repeat(indent)));
                let errors = super::super::parse(&text).unwrap_err();
                assert!(
                    !errors
                        .iter()
                        .any(|e| e.code == "unknown-key" && e.path.ends_with(key)),
                    "{path}.{key}: {errors:#?}"
                );
            }
        }
    }

    #[test]
    fn a_key_of_a_child_section_is_found() {
        assert_eq!(children_taking("ecs", "max"), vec!["ecs.scaling"]);
        assert_eq!(children_taking("", "trigger"), vec!["lambda"]);
        assert!(children_taking("ecs", "nothing").is_empty());
    }
}

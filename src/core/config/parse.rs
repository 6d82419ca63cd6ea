//! A config's text read into a [`Config`]: its shape checked before any value is read, serde's
//! messages turned into ours (the unknown key with the nearest known one, the missing key with
//! what it is for), each diagnostic located. Pure.

use super::checks::check;
use super::limits::{too_large, CONFIG_LIMITS, MAX_CONFIG_BYTES};
use super::structure;
use super::text::tidy;
use super::Config;
use crate::core::diag::Diagnostic;
use crate::core::locate;

/// Parses and checks a `replatform.yaml` text. Every diagnostic carries its location.
pub fn parse(source: &str) -> Result<Config, Vec<Diagnostic>> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    if source.len() > MAX_CONFIG_BYTES {
        return Err(vec![too_large(source.len() as u64)]);
    }
    if source
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(vec![Diagnostic::error("config", "", "the file is empty")
            .hint(
                "`replatform init --force` writes a starting one for the worker in this folder (`replatform init --from-ecs CLUSTER/SERVICE --force` from a service running on ECS)",
            )]);
    }
    // Control characters: the YAML reader names only their byte offset.
    if let Some((offset, c)) = source
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{85}'))
    {
        let before = &source[..offset];
        let (line, column) = (
            before.matches('\n').count() + 1,
            before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1,
        );
        let d = Diagnostic::error(
            "config",
            "",
            format!(
                "the file holds a control character (U+{:04X}) at line {line}, column {column}",
                c as u32
            ),
        )
        .hint("remove it: YAML text holds no control characters (is this a binary file?)");
        return Err(vec![Diagnostic {
            location: Some((line, column)),
            ..d
        }]);
    }
    // The text's shape first: what would make reading it slow or lose a value is refused
    // before any value is read.
    let scan = locate::scan(source, CONFIG_LIMITS);
    if let Some(problem) = scan.problem {
        return Err(vec![tidy(shape_error(problem))]);
    }
    let places = scan.places;
    let located = |mut d: Diagnostic| {
        d.location = locate::find(&places, &d.path).map(|p| {
            if matches!(d.code, "unknown-key" | "missing-key") {
                p.key
            } else {
                p.value
            }
        });
        d
    };
    let de = serde_yaml_ng::Deserializer::from_str(source);
    let config: Config = match serde_path_to_error::deserialize(de) {
        Ok(c) => c,
        Err(e) => {
            let path = path_string(e.path());
            let inner = e.into_inner();
            let syntax_at = inner.location().map(|l| (l.line(), l.column()));
            let mut d = explain(&path, &strip_location(&inner.to_string()));
            d = located(d);
            if d.path.is_empty() || d.location.is_none() {
                if let Some(at) = syntax_at {
                    d.location = Some(at);
                }
            }
            // A syntax error under a key the index never reached (the reader stopped before
            // it): the key's own line, else where the reader stopped.
            if d.hint.as_deref() == Some(SYNTAX_HINT)
                && !d.path.is_empty()
                && !places.contains_key(&d.path)
            {
                d.location = key_line(source, &d.path, &places)
                    .or(syntax_at)
                    .or(d.location);
            }
            if d.hint.as_deref() == Some(SYNTAX_HINT)
                && d.message.contains("unexpected end of stream")
            {
                d = d.hint("a quote or bracket opened here is never closed");
            }
            // A tab in the indentation is the usual cause of a syntax error that names no key.
            if let Some((line, _)) = syntax_at.filter(|_| d.hint.as_deref() == Some(SYNTAX_HINT)) {
                let text = source
                    .lines()
                    .nth(line.saturating_sub(1))
                    .unwrap_or_default();
                let indent: String = text.chars().take_while(|c| c.is_whitespace()).collect();
                if let Some(i) = indent.find('\t') {
                    d.location = Some((line, indent[..i].chars().count() + 1));
                    d = d.hint(format!("YAML indents with spaces, never tabs: replace the tab at the start of line {line} with spaces"));
                }
            }
            let syntax = d.hint.as_deref() == Some(SYNTAX_HINT);
            d = structure::explain(d, source, &places, syntax);
            // A key of `lambda` written outside it (the bridge's optional ones) is the mistake
            // to name, rather than the `trigger` serde reaches after it.
            if d.code == "missing-key" && d.path == "lambda" {
                for key in ["entry_point", "command", "working_directory"] {
                    if places.contains_key(&format!("lambda.{key}")) {
                        continue;
                    }
                    let k = located(explain("lambda", &format!("missing field `{key}`")));
                    let plain = k.hint.clone();
                    let k = structure::explain(k, source, &places, false);
                    if k.hint != plain {
                        return Err(vec![tidy(k)]);
                    }
                }
            }
            return Err(vec![tidy(d)]);
        }
    };
    // `sqs` and `schedule` need the runtime's entry point, the handler and its folder; only the
    // bridge runs the image's own (docs/bridge.md). Said as serde says a missing key.
    if !config.lambda.trigger.is_bridge() {
        for key in ["entry_point", "command", "working_directory"] {
            if !places.contains_key(&format!("lambda.{key}")) {
                let d = located(explain("lambda", &format!("missing field `{key}`")));
                return Err(vec![tidy(structure::explain(d, source, &places, false))]);
            }
        }
    }
    let errors: Vec<Diagnostic> = check(&config).into_iter().map(located).map(tidy).collect();
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// Where the last key of `path` is written, found by its text below its parent's line.
fn key_line(
    source: &str,
    path: &str,
    places: &std::collections::HashMap<String, locate::Place>,
) -> Option<(usize, usize)> {
    let key = path.rsplit('.').next()?.split('[').next()?;
    let parent = path
        .strip_suffix(key)
        .map(|p| p.trim_end_matches('.'))
        .unwrap_or_default();
    let from = locate::find(places, parent).map_or(1, |p| p.key.0);
    source
        .lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find_map(|(i, l)| {
            let text = l.trim_start();
            let rest = text.strip_prefix(key)?;
            rest.starts_with(':')
                .then(|| (i + 1, l.chars().count() - text.chars().count() + 1))
        })
}

const SYNTAX_HINT: &str =
    "check the YAML syntax here: indentation, `key: value`, closing brackets and quotes";

/// Why the text's shape is refused, where, and what to do.
fn shape_error(problem: locate::Problem) -> Diagnostic {
    use locate::Problem;
    let (d, at) = match problem {
        Problem::TooDeep { limit, at } => (
            Diagnostic::error("config", "", format!("the file nests more than {limit} levels deep"))
                .hint("a replatform.yaml nests at most 5 levels (`ecs.scaling.scale_out[0].from`): check the brackets and indentation here"),
            at,
        ),
        Problem::TooManyNodes { limit, at, alias: true } => (
            Diagnostic::error("config", "", format!("the aliases (`*name`) expand the file past {limit} values"))
                .hint("a config holds a few hundred values: write them out, or use aliases that do not nest"),
            at,
        ),
        Problem::TooManyNodes { limit, at, alias: false } => (
            Diagnostic::error("config", "", format!("the file holds more than {limit} values"))
                .hint("a config holds a few hundred values: name the right file with `-f PATH`"),
            at,
        ),
        Problem::DuplicateKey { path, key, first, at } => {
            let parent = path.strip_suffix(key.as_str()).map(|p| p.trim_end_matches('.')).unwrap_or_default();
            let where_ = if parent.is_empty() { "at the top level".to_string() } else { format!("in `{parent}`") };
            (
                Diagnostic::error("duplicate-key", path, format!("`{key}` is written twice {where_} (first at line {}, column {})", first.0, first.1))
                    .hint("keep one of them: YAML allows a key once in a mapping, and only one of the values would be used"),
                at,
            )
        }
        Problem::MoreThanOneDocument { at } => (
            Diagnostic::error("config", "", "the file holds more than one YAML document (`---`)")
                .hint("one file configures one service: remove the `---` line and what does not belong, or split the file"),
            at,
        ),
    };
    Diagnostic {
        location: Some(at),
        ..d
    }
}

fn path_string(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(variant);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// serde_yaml's message without the path in front and the location behind (we show both
/// ourselves), and with Rust's type names said in words.
fn strip_location(message: &str) -> String {
    let mut m = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    if let Some((head, rest)) = m.split_once(": ") {
        if !head.is_empty() && !head.contains(' ') {
            m = rest;
        }
    }
    let m = m
        .replace("expected u32", "expected a whole number")
        .replace("expected u64", "expected a whole number")
        .replace(" as u128,", " is too large,")
        // The hint says how a duration is written; the message names the value.
        .replace(&format!(": {}", crate::core::duration::DURATION_RULE), "")
        .replace(
            "expected internally tagged enum Trigger",
            "expected a mapping with `type`",
        );
    match m.find("expected struct ") {
        Some(i) => format!("{}expected a mapping", &m[..i]),
        None => m,
    }
}

/// Turns serde's messages into ours: the unknown key with the nearest known one, the missing key
/// with what it is for.
fn explain(path: &str, message: &str) -> Diagnostic {
    let quoted = |p: &str| {
        if p.is_empty() {
            "the top level".to_string()
        } else {
            format!("`{p}`")
        }
    };
    let where_ = quoted(path);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = split_unknown(rest);
        // The path ends with the unknown key, except inside a tagged enum (the trigger).
        let (parent, key_path) = match path.strip_suffix(name) {
            Some(p) if p.is_empty() || p.ends_with('.') => {
                (p.trim_end_matches('.').to_string(), path.to_string())
            }
            _ => (
                path.to_string(),
                if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                },
            ),
        };
        let d = Diagnostic::error(
            "unknown-key",
            key_path,
            format!("unknown key `{name}` in {}", quoted(&parent)),
        );
        return match nearest(name, &expected) {
            Some(best) => d.hint(format!("did you mean `{best}`?")),
            None if expected.is_empty() => d.hint(format!("{} takes no keys", quoted(&parent))),
            None => d.hint(format!("known keys here: {}", expected.join(", "))),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (name, expected) = split_unknown(rest);
        let d = Diagnostic::error(
            "config",
            path,
            format!("`{name}` is not a valid value for {where_}"),
        );
        return match nearest(name, &expected) {
            Some(best) => d.hint(format!(
                "did you mean `{best}`? valid values: {}",
                expected.join(", ")
            )),
            None => d.hint(format!("valid values: {}", expected.join(", "))),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        let full = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        let d = Diagnostic::error(
            "missing-key",
            path,
            format!("{where_} is missing the required key `{name}`"),
        );
        return d.hint(missing_hint(&full));
    }
    if path.is_empty() {
        if let Some(what) = message
            .strip_prefix("invalid type: ")
            .and_then(|m| m.strip_suffix(", expected a mapping"))
        {
            let what = match what.split_once(' ').map_or(what, |(kind, _)| kind) {
                "sequence" => "list",
                _ => "single value",
            };
            return Diagnostic::error("config", path, format!("the file is a {what}, not a mapping of settings"))
                .hint("a replatform.yaml is `key: value` lines (`service:`, `ecs:`, `lambda:` ...): `replatform init` writes a starting one");
        }
        return Diagnostic::error("config", path, message.to_string()).hint(SYNTAX_HINT);
    }
    if message.starts_with("unknown anchor") {
        return Diagnostic::error(
            "config",
            path,
            format!("{where_}: an alias (`*name`) names no anchor"),
        )
        .hint("write the anchor (`&name`) on a value above the alias, or write the value out");
    }
    let d = Diagnostic::error("config", path, format!("{where_}: {message}"));
    if message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.starts_with("invalid duration")
    {
        d.hint(type_hint(message))
    } else {
        d.hint(SYNTAX_HINT)
    }
}

/// What to write instead of a value of the wrong type, from serde's `expected ...`.
fn type_hint(message: &str) -> String {
    let expected = message.rsplit_once(", expected ").map_or("", |(_, e)| e);
    if message.contains(" is too large,") {
        return "write a smaller number: docs/config.md gives each key's range".into();
    }
    if message.starts_with("invalid duration") || expected.starts_with("a duration") {
        return format!(
            "{}; `90s` rather than `1.5m`",
            crate::core::duration::DURATION_RULE
        );
    }
    match expected {
        "a whole number" => {
            "write a whole number here (0 or more), without quotes or a unit".into()
        }
        "a sequence" => {
            "write a list here: `[a, b]`, or one `- item` per line below the key".into()
        }
        "a string" => {
            "write text here; quote it (`\"...\"`) when it would read as a number, `true` or a list"
                .into()
        }
        "a boolean" => "write `true` or `false`".into(),
        "a string, number or boolean" => {
            "an environment value is one value: quote a list or a mapping to pass it as text".into()
        }
        e if e.starts_with("a mapping")
            || e.starts_with("a map")
            || e.starts_with("internally tagged") =>
        {
            "write a mapping here: `key: value` lines, indented below the key".into()
        }
        e if e.starts_with("`false` or a mapping") => {
            "write `dead_letter: false`, or `dead_letter: { max_receive_count: 5 }`".into()
        }
        "" => "see docs/config.md for what this key takes".into(),
        e => format!("write {e} here"),
    }
}

/// `x`, expected one of `a`, `b`  ->  ("x", ["a", "b"])
fn split_unknown(rest: &str) -> (&str, Vec<String>) {
    // The name may hold backticks itself: what serde adds after it is found from the right.
    let end = ["`, expected ", "`, there are no "]
        .iter()
        .filter_map(|m| rest.rfind(m))
        .max();
    let (name, tail) = match end {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => rest.rsplit_once('`').unwrap_or((rest, "")),
    };
    let expected = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (name, expected)
}

/// The known name closest to a misspelt one, when it is close enough to be a typo.
pub fn nearest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3) && *d < k.len().max(name.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

fn missing_hint(full: &str) -> String {
    match full {
        "service" => "add `service: my-worker`: it names both stacks and every resource".into(),
        "ecs" => "add an `ecs:` section with at least `subnets` and `security_groups`".into(),
        "ecs.subnets" => "list the subnets the tasks run in, for example `subnets: [subnet-0123456789abcdef0]`".into(),
        "ecs.security_groups" => "list the security groups of the tasks, for example `security_groups: [sg-0123456789abcdef0]`".into(),
        "lambda" => "add a `lambda:` section with `entry_point`, `command`, `working_directory` and `trigger`".into(),
        "lambda.entry_point" => "for a Python image with awslambdaric: `entry_point: [\"/usr/local/bin/python\", \"-m\", \"awslambdaric\"]`".into(),
        "lambda.command" => "name the handler, for example `command: [\"app.handler\"]`".into(),
        "lambda.working_directory" => "give the absolute folder that holds the handler's module, for example `/app`".into(),
        "lambda.trigger" => "choose `trigger: { type: bridge }` for a worker that polls its queue (it runs unchanged), `trigger: { type: sqs }` for a handler that takes the event's records, or `trigger: { type: schedule, rate: 1m }` for a handler that polls once".into(),
        "production.ecs_service" => "name the service that runs today: `ecs_service: CLUSTER/SERVICE`".into(),
        "production.queue" => "give the URL of the queue it consumes: `queue: https://sqs.eu-west-1.amazonaws.com/123456789012/orders`".into(),
        "lambda.trigger.provisioned_pollers.min" | "lambda.trigger.provisioned_pollers.max" => "give both `min` (2..200) and `max` (min..2000) pollers".into(),
        "lambda.trigger.type" => "set `type: bridge`, `type: sqs` or `type: schedule`".into(),
        _ => format!("add `{full}`; see docs/config.md"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_holding_backticks_are_split_from_the_right() {
        assert_eq!(
            split_unknown("a`b`, expected one of `x`, `y`"),
            ("a`b", vec!["x".to_string(), "y".to_string()])
        );
        assert_eq!(split_unknown("a`b`, there are no fields"), ("a`b", vec![]));
    }

    #[test]
    fn shape_problems_are_refused_before_reading() {
        let errors = parse("service: a\nservice: b\n").unwrap_err();
        assert_eq!(
            (errors[0].code, errors[0].location),
            ("duplicate-key", Some((2, 1)))
        );
        let deep = format!(
            "environment: {}{}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(parse(&deep).unwrap_err()[0]
            .message
            .contains("nests more than 32 levels"));
    }
}

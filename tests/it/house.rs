//! The shape of the house: every module imports only from the floors below it, the
//! rooms of a floor do not import each other in a circle, every exit code the binary can
//! return is in the README's table, with the meaning `src/error.rs` gives it, and the platform
//! is compared as `core::side::Side`, never as the words `"ecs"`/`"lambda"`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use replatform::error::Exit;

use crate::common::repo;
use crate::layers::code_only;

/// The floors, lowest first. A module may use the modules of the floors below its own, never
/// one of its own floor or above. `lib.rs` (`run`) stands on top of them all.
const FLOORS: &[&[&str]] = &[
    &["core", "signal"],
    &["aws", "k8s", "files"],
    &["error", "experiment", "local"],
    &["ui"],
    &["image"],
    &["app"],
    &["cli"],
    &["commands"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

/// The module path of a source file: `src/app/deploy/mod.rs` is `app::deploy`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// The modules `code` refers to, as paths from the crate's root: `crate::a::b` and `super::b`.
fn references(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let word = |at: usize| -> String {
        code[at..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let boundary = |at: usize| {
        at == 0
            || !(bytes[at - 1].is_ascii_alphanumeric()
                || bytes[at - 1] == b'_'
                || bytes[at - 1] == b':')
    };
    for (at, _) in code.match_indices("crate::") {
        if !boundary(at) {
            continue;
        }
        // Every segment of the path: `crate::core::config::access` is three rooms deep.
        let mut path = vec![word(at + 7)];
        let mut after = at + 7 + path[0].len();
        while code[after..].starts_with("::") {
            let next = word(after + 2);
            if next.is_empty() {
                break;
            }
            after += 2 + next.len();
            path.push(next);
        }
        found.push(path);
    }
    for (at, _) in code.match_indices("super::") {
        if !boundary(at) {
            continue;
        }
        let mut base = module.to_vec();
        let mut rest = at;
        while code[rest..].starts_with("super::") {
            base.pop();
            rest += 7;
        }
        let next = word(rest);
        if !next.is_empty() {
            base.push(next);
        }
        found.push(base);
    }
    found
}

/// Every Rust file under `src/` (or under its folder `under`), as its path from `src/`
/// (`core/side.rs`) and its text, in path order: what each scan of the house reads.
fn sources(under: &str) -> Vec<(PathBuf, String)> {
    let src = repo().join("src");
    let mut files: Vec<(PathBuf, String)> = walkdir::WalkDir::new(src.join(under))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            let rel = e.path().strip_prefix(&src).unwrap().to_path_buf();
            (rel, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Every module's references: (file, line, from-module, to-path).
fn edges() -> Vec<(String, usize, Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    for (rel, text) in sources("") {
        if rel.parent().is_none_or(|p| p.as_os_str().is_empty())
            && matches!(rel.to_str(), Some("lib.rs" | "main.rs"))
        {
            continue;
        }
        let module = module_of(&rel);
        let code = code_only(&text);
        for (n, line) in code.lines().enumerate() {
            for to in references(&module, line) {
                out.push((rel.display().to_string(), n + 1, module.clone(), to));
            }
        }
    }
    out
}

#[test]
fn every_import_points_down() {
    let mut wrong = Vec::new();
    let mut unplaced = BTreeSet::new();
    for (file, line, from, to) in edges() {
        let (Some(a), Some(b)) = (from.first(), to.first()) else {
            continue;
        };
        if a == b {
            continue;
        }
        match (floor_of(a), floor_of(b)) {
            (Some(fa), Some(fb)) if fb < fa => {}
            (Some(_), Some(_)) => wrong.push(format!(
                "src/{file}:{line}: `{}` uses `{}`, which is not on a floor below",
                from.join("::"),
                to.join("::")
            )),
            (None, _) => {
                unplaced.insert(a.clone());
            }
            (_, None) => {
                unplaced.insert(b.clone());
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules on no floor (add them to FLOORS): {unplaced:?}"
    );
    assert!(
        wrong.is_empty(),
        "imports that point up or sideways:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_rooms_of_each_module_import_no_circle() {
    // Within any module, at any depth (`core`'s rooms, `core::config`'s rooms, ...), the rooms'
    // references form no cycle.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, _, from, to) in edges() {
        // The rooms of the module both sides share the first `depth` segments of.
        for depth in 1..from.len().min(to.len()) {
            if from[..depth] != to[..depth] {
                break;
            }
            if from[depth] != to[depth] {
                graph
                    .entry(from[..=depth].join("::"))
                    .or_default()
                    .insert(to[..=depth].join("::"));
                break;
            }
        }
    }
    let cycle = find_cycle(&graph);
    assert!(
        cycle.is_none(),
        "a circle of imports: {}",
        cycle.unwrap_or_default().join(" -> ")
    );
}

/// A cycle of the graph, as the nodes along it, when there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_scanner_sees_imports_and_not_comments() {
    let module = vec![
        "app".to_string(),
        "deploy".to_string(),
        "runner".to_string(),
    ];
    let code = code_only("use crate::commands::up; // crate::cli in a comment\nlet s = \"crate::ui\";\nuse super::super::pipeline;\n/* crate::x */ use super::Settings;\nuse crate::core::config::access::check;");
    let refs: Vec<String> = code
        .lines()
        .flat_map(|l| references(&module, l))
        .map(|r| r.join("::"))
        .collect();
    assert_eq!(
        refs,
        [
            "commands::up",
            "app::pipeline",
            "app::deploy::Settings",
            "core::config::access::check"
        ]
    );
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".to_string(), "b".to_string(), "a".to_string()])
    );
}

/// The README's exit-code table: (code, meaning) per row.
fn readme_exit_codes() -> Vec<(u8, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("| code | meaning |")
        .expect("the README has an exit-code table headed `| code | meaning |`");
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (
                cells[0]
                    .trim_matches('`')
                    .parse()
                    .unwrap_or_else(|_| panic!("not a code: {l}")),
                cells[1].to_string(),
            )
        })
        .collect()
}

#[test]
fn every_exit_code_is_in_the_readme_table() {
    let table = readme_exit_codes();
    let mapping: Vec<(u8, String)> = Exit::ALL
        .iter()
        .map(|e| (e.code(), e.meaning().to_string()))
        .collect();
    assert_eq!(
        table, mapping,
        "the README's exit-code table and `Exit` in src/error.rs differ"
    );
}

#[test]
fn no_exit_code_is_made_outside_the_mapping() {
    // Every exit goes through `Exit`: no module makes an `ExitCode` or exits on its own.
    let mut found = Vec::new();
    for (rel, text) in sources("") {
        let rel = rel.display().to_string();
        if rel == "error.rs" {
            continue;
        }
        let code = code_only(&text);
        for (n, line) in code.lines().enumerate() {
            if [
                "ExitCode::from",
                "ExitCode::SUCCESS",
                "ExitCode::FAILURE",
                "process::exit",
            ]
            .iter()
            .any(|p| line.contains(p))
            {
                found.push(format!("src/{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "exit codes made outside src/error.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn sdk_types_stay_inside_aws() {
    // The SDK's clients, config and types are used in src/aws/ only; the rest of the code sees
    // the project's own views. `aws_smithy_types::base64` is a codec the registry client borrows
    // for its Basic header, not an SDK type.
    let mut found = Vec::new();
    for (rel, text) in sources("") {
        if rel.starts_with("aws") {
            continue;
        }
        let rel = rel.display().to_string();
        let code = code_only(&text);
        for (n, line) in code.lines().enumerate() {
            let line = line.replace("aws_smithy_types::base64", "");
            if [
                "aws_sdk_",
                "aws_config",
                "aws_credential_types",
                "aws_smithy_",
            ]
            .iter()
            .any(|p| line.contains(p))
            {
                found.push(format!("src/{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "SDK types outside src/aws/:\n{}",
        found.join("\n")
    );
    // And no public field of src/aws/ holds an SDK type.
    let mut fields = Vec::new();
    for (rel, text) in sources("aws") {
        let code = code_only(&text);
        for (n, line) in code.lines().enumerate() {
            let t = line.trim_start();
            if t.starts_with("pub ")
                && !t.starts_with("pub fn")
                && !t.starts_with("pub async fn")
                && t.contains(':')
                && ["aws_sdk_", "aws_config", "aws_smithy_"]
                    .iter()
                    .any(|p| t.contains(p))
            {
                fields.push(format!("src/{}:{}: {}", rel.display(), n + 1, t));
            }
        }
    }
    assert!(
        fields.is_empty(),
        "public fields of SDK types:\n{}",
        fields.join("\n")
    );
}

/// The AWS API calls made in `code` (Rust, comments blanked): each `client.operation()` of an SDK
/// client, the chain read across line breaks (`self\n    .client\n    .describe_services()`).
fn sdk_calls(code: &str) -> Vec<String> {
    let joined: String = code
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" .", ".");
    let mut calls = Vec::new();
    for (at, _) in joined.match_indices("client.") {
        if at > 0 && {
            let b = joined.as_bytes()[at - 1];
            b.is_ascii_alphanumeric() || b == b'_'
        } {
            continue;
        }
        let rest = &joined[at + "client.".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() && rest[name.len()..].starts_with("()") {
            calls.push(name);
        }
    }
    calls
}

#[test]
fn each_aws_call_has_one_wrapper() {
    // src/aws/ is cut by AWS service and holds exactly one function per API call: a quirk of
    // a call (a page token, an error code meaning "not there") is then fixed in one place. The
    // SDK clients live in fields named `client`, so that every call is `client.operation()`.
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut other_fields = Vec::new();
    for (rel, text) in sources("aws") {
        let file = format!("src/{}", rel.display());
        let code = code_only(&text);
        for line in code.lines() {
            let t = line.trim();
            if let Some((field, ty)) = t.split_once(':') {
                if ty.trim().starts_with("aws_sdk_")
                    && ty.trim().trim_end_matches(',').ends_with("::Client")
                    && field.trim() != "client"
                    && !field.contains('(')
                {
                    other_fields.push(format!("{file}: {t}"));
                }
            }
        }
        for call in sdk_calls(&code) {
            seen.entry(call).or_default().push(file.clone());
        }
    }
    assert!(
        other_fields.is_empty(),
        "SDK clients held in a field not named `client` (the scan would miss their calls):\n{}",
        other_fields.join("\n")
    );
    assert!(
        seen.len() >= 40,
        "only {} AWS calls found under src/aws: is the scan right?",
        seen.len()
    );
    let twice: Vec<String> = seen
        .iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|(call, at)| format!("{call}: {}", at.join(", ")))
        .collect();
    assert!(
        twice.is_empty(),
        "AWS calls with more than one wrapper (give each call one function in its service's file):\n{}",
        twice.join("\n")
    );
}

#[test]
fn the_call_scanner_reads_chains_across_lines() {
    let code = "let out = self\n    .client\n    .describe_services()\n    .cluster(c);\nself.client.tag_resource().send();\nlet c = aws_sdk_ecs::Client::new(&x); // client.fake()\nmy_client.not_this();";
    assert_eq!(
        sdk_calls(&code_only(code)),
        ["describe_services", "tag_resource"]
    );
}

/// clap's types are derived in `src/cli.rs` only; the layers below take plain values
/// (docs/architecture.md).
#[test]
fn clap_derives_stay_in_cli() {
    let mut found = Vec::new();
    for (rel, text) in sources("") {
        if rel == Path::new("cli.rs") {
            continue;
        }
        let code = code_only(&text);
        for (n, line) in code.lines().enumerate() {
            if line.contains("derive(")
                && ["ValueEnum", "Parser", "Subcommand", "Args"]
                    .iter()
                    .any(|d| line.contains(d))
            {
                found.push(format!("src/{}:{}", rel.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "clap derives outside src/cli.rs: {found:?}"
    );
}

/// The comparisons of a platform word as text in `src` (a file's text): `== "ecs"`, `"lambda" =>`,
/// `!=` and `|` too, as (line, the line). Only where the operator is code: a comment or a string
/// that shows such a comparison is none.
fn platform_words_compared(src: &str) -> Vec<(usize, String)> {
    let raw: Vec<char> = src.chars().collect();
    let code: Vec<char> = code_only(src).chars().collect();
    let line_of = |at: usize| raw[..at].iter().filter(|&&c| c == '\n').count() + 1;
    let mut found = Vec::new();
    for word in ["\"ecs\"", "\"lambda\""] {
        let word: Vec<char> = word.chars().collect();
        for at in 0..raw.len().saturating_sub(word.len() - 1) {
            if raw[at..at + word.len()] != word[..] {
                continue;
            }
            // The operator beside the literal, spaces skipped: before it `==` or `!=`; after it
            // `==`, `!=`, `=>` or a pattern's `|`. It must be code, not a comment's or a string's.
            let mut before = at;
            while before > 0 && raw[before - 1] == ' ' {
                before -= 1;
            }
            let mut after = at + word.len();
            while after < raw.len() && raw[after] == ' ' {
                after += 1;
            }
            let is = |from: usize, op: &str| {
                op.chars()
                    .enumerate()
                    .all(|(i, c)| raw.get(from + i) == Some(&c) && code.get(from + i) == Some(&c))
            };
            let compared = (before >= 2 && (is(before - 2, "==") || is(before - 2, "!=")))
                || ["==", "!=", "=>"].iter().any(|op| is(after, op))
                || (is(after, "|") && !is(after, "||"));
            if compared {
                let line = line_of(at);
                let text: String = src.lines().nth(line - 1).unwrap_or_default().trim().into();
                found.push((line, text));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn the_platform_is_compared_as_side_not_as_text() {
    // `core::side::Side` is the platform: code compares and matches it, never the words
    // `"ecs"`/`"lambda"`. Two files may: the enum's own, and the config parser, whose `ecs:` and
    // `lambda:` are YAML section names, not platforms.
    const MAY: [&str; 2] = ["core/side.rs", "core/config/parse.rs"];
    let mut found = Vec::new();
    let mut allowed = 0;
    for (rel, text) in sources("") {
        let hits = platform_words_compared(&text);
        if MAY.iter().any(|m| rel == Path::new(m)) {
            allowed += hits.len();
            continue;
        }
        for (line, text) in hits {
            found.push(format!("src/{}:{line}: {text}", rel.display()));
        }
    }
    assert!(
        allowed > 0,
        "the scanner finds the comparisons the allowed files do make"
    );
    assert!(
        found.is_empty(),
        "the platform compared as text; compare `core::side::Side` (`Side::of(kind)` for a stack \
         kind):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_platform_scanner_sees_comparisons_and_not_comments() {
    let code =
        "if p == \"ecs\" {}\nmatch k { \"lambda\" => 1, _ => 2 }\nlet x = s.kind != \"lambda\";\n\
                // p == \"ecs\"\nlet t = \"ecs\"; let m = \"kind == \\\"ecs\\\"\";\n\
                match k { \"ecs\" | \"lambda\" => 1, _ => 2 }\nlet o = a || \"ecs\".is_empty();\n\
                let j = v[\"ecs\"] == 1;";
    let lines: Vec<usize> = platform_words_compared(code)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(
        lines,
        vec![1, 2, 3, 6],
        "not the comment (4), the plain word or the string (5)"
    );
}

//! The core is pure: no file under `src/core/` uses `std::fs`, `std::process`,
//! `std::net`, `std::env`, `tokio` or an AWS crate (`aws_*`). The files are read as code: their
//! comments, strings and character literals are blanked first, so that a comment saying what the
//! core does not do is no use of it.

use std::path::{Path, PathBuf};

/// What `std` holds that the core must not use: files, processes, the network, the environment.
const FORBIDDEN_STD: [&str; 4] = ["fs", "process", "net", "env"];

/// The text with its comments (nested block comments too), string literals (raw and byte ones
/// too) and character literals turned into spaces, its newlines kept so that lines still count.
pub(crate) fn code_only(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if (c[i] == 'r' || (c[i] == 'b' && next == Some('r')))
            && (i == 0 || !ident(c[i - 1]))
            && {
                let start = if c[i] == 'b' { i + 2 } else { i + 1 };
                let hashes = c[start..].iter().take_while(|&&h| h == '#').count();
                c.get(start + hashes) == Some(&'"')
            }
        {
            // A raw string: `r"..."`, `r#"..."#`, `br"..."`; it ends at `"` and as many `#`.
            let start = if c[i] == 'b' { i + 2 } else { i + 1 };
            let hashes = c[start..].iter().take_while(|&&h| h == '#').count();
            let mut j = start + hashes + 1;
            while j < c.len()
                && !(c[j] == '"'
                    && c[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes)
            {
                j += 1;
            }
            let end = (j + 1 + hashes).min(c.len());
            for &ch in &c[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else if c[i] == '"' {
            blank(&mut out, c[i]);
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' && i + 1 < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                blank(&mut out, c[i]);
                i += 1;
            }
            if i < c.len() {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '\'' && (next == Some('\\') || c.get(i + 2) == Some(&'\'')) {
            // A character literal (`'x'`, `'\n'`, `'\u{1b}'`), not a lifetime (`'a`).
            let mut j = i + 2;
            while j < c.len() && c[j] != '\'' {
                j += 1;
            }
            let end = (j + 1).min(c.len());
            for &ch in &c[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

#[derive(Debug, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// The code's identifiers, `::` and other punctuation, each with its 1-based line.
fn tokens(code: &str) -> Vec<(Token, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        if c[i] == '\n' {
            line += 1;
            i += 1;
        } else if c[i].is_whitespace() {
            i += 1;
        } else if c[i].is_alphanumeric() || c[i] == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Token::Ident(c[start..i].iter().collect()), line));
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            out.push((Token::Punct(c[i]), line));
            i += 1;
        }
    }
    out
}

/// Every use of what the core must not use in `src`: its line and what it is.
fn forbidden(src: &str) -> Vec<(usize, String)> {
    let t = tokens(&code_only(src));
    let ident = |k: usize| match t.get(k) {
        Some((Token::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let is = |k: usize, want: &Token| t.get(k).is_some_and(|(tok, _)| tok == want);
    let mut out = Vec::new();
    for k in 0..t.len() {
        let line = t[k].1;
        let Some(name) = ident(k) else { continue };
        if name == "std" && is(k + 1, &Token::PathSep) {
            match ident(k + 2) {
                Some(m) if FORBIDDEN_STD.contains(&m) => out.push((line, format!("std::{m}"))),
                _ if is(k + 2, &Token::Punct('{')) => {
                    // `std::{io::Read, fs}`: the first name of each part of the group.
                    let mut depth = 0;
                    for j in k + 2..t.len() {
                        match &t[j].0 {
                            Token::Punct('{') => depth += 1,
                            Token::Punct('}') => depth -= 1,
                            Token::Ident(m)
                                if depth == 1
                                    && FORBIDDEN_STD.contains(&m.as_str())
                                    && matches!(t[j - 1].0, Token::Punct('{' | ',')) =>
                            {
                                out.push((t[j].1, format!("std::{m}")));
                            }
                            _ => {}
                        }
                        if depth == 0 {
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        // A crate is named as a path's first segment, by `use`, or by `extern crate`.
        let a_crate = is(k + 1, &Token::PathSep)
            || (k > 0 && ident(k - 1) == Some("use"))
            || (k > 0 && ident(k - 1) == Some("crate") && k > 1 && ident(k - 2) == Some("extern"));
        // `x::aws_y` is a name inside `x`; `::aws_y` is the crate.
        let after_path = k > 1 && is(k - 1, &Token::PathSep) && ident(k - 2).is_some();
        if a_crate && !after_path && (name == "tokio" || name.starts_with("aws_")) {
            out.push((line, name.to_string()));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_does_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/core"), &mut files);
    assert!(
        files.len() >= 20,
        "only {} files under src/core: is this the right folder?",
        files.len()
    );
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, what) in forbidden(&text) {
            found.push(format!(
                "{}:{line}: `{what}`",
                file.strip_prefix(root).unwrap_or(file).display()
            ));
        }
    }
    assert!(found.is_empty(), "the core is pure: move these to a shell module (src/files.rs, src/aws/, src/ui/...) or inject them:\n{}", found.join("\n"));
}

#[test]
fn the_scanner_finds_a_planted_use_at_its_line() {
    let planted = "//! Pure.\nuse std::collections::BTreeMap;\n\nfn read() -> String {\n    std::fs::read_to_string(\"x\").unwrap()\n}\n";
    assert_eq!(forbidden(planted), vec![(5, "std::fs".to_string())]);
    assert_eq!(
        forbidden("fn f() {\n    let _ = ::std::process::Command::new(\"sh\");\n}"),
        vec![(2, "std::process".to_string())]
    );
    assert_eq!(
        forbidden(
            "use std::{io::Read, fs};\nuse std::{collections::{BTreeMap, HashMap}, net as n, env};"
        ),
        vec![
            (1, "std::fs".to_string()),
            (2, "std::net".to_string()),
            (2, "std::env".to_string())
        ]
    );
    let crates = "use tokio::sync::Mutex;\n#[tokio::test]\nasync fn t() {}\nuse aws_sdk_sqs::Client;\nuse aws_config;\nextern crate aws_smithy_types;\nfn g() { ::aws_sdk_ecr::Client::new(); crate::core::aws_names(); }\n";
    let lines: Vec<(usize, String)> = forbidden(crates);
    assert_eq!(
        lines,
        [
            (1, "tokio"),
            (2, "tokio"),
            (4, "aws_sdk_sqs"),
            (5, "aws_config"),
            (6, "aws_smithy_types"),
            (7, "aws_sdk_ecr")
        ]
        .map(|(l, s)| (l, s.to_string()))
    );
}

#[test]
fn the_scanner_reads_comments_and_literals_as_no_code() {
    let quiet = r####"//! No std::fs, no tokio::spawn, no aws_sdk_sqs::Client here.
/// Reads nothing: `std::fs::read` is the shell's.
/* std::net /* nested std::env */ std::process */
fn f<'a>(s: &'a str) -> &'a str {
    let _ = "std::fs::read(\"x\")";
    let _ = r#"tokio::spawn("x")"#;
    let _ = br"std::env::var";
    let _ = ('"', '\'', '\u{1b}');
    let aws_region = "eu-west-1"; // std::process
    let _ = aws_region;
    s
}
"####;
    assert_eq!(forbidden(quiet), vec![]);
    // What follows a literal is code again.
    assert_eq!(
        forbidden("let q = '\"'; let s = \"a\\\"b\"; std::env::var(\"X\");"),
        vec![(1, "std::env".to_string())]
    );
    assert_eq!(code_only("a /* b\nc */ d").lines().count(), 2);
}

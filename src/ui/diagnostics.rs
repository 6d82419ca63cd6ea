//! Diagnostics as text: the message, the file, line and column with the line itself, and the
//! `hint:` that says what to do. Pure: returns strings; the printer decides where they go.

use std::ops::Range;

use annotate_snippets::{Level, Renderer, Snippet};

use crate::core::diag::{Diagnostic, Severity};
use crate::core::dockerfile::Finding;

/// Renders one diagnostic about `source` (the text of the file called `origin`).
pub fn render(d: &Diagnostic, origin: &str, source: &str, color: bool) -> String {
    let label = if d.path.is_empty() {
        String::new()
    } else {
        format!("`{}`", d.path)
    };
    let span = d.location.and_then(|(line, col)| {
        span_at(
            source,
            line,
            col,
            matches!(d.code, "unknown-key" | "missing-key"),
        )
    });
    block(
        d.severity,
        &d.message,
        d.code,
        Place {
            origin,
            source,
            span,
            label: &label,
        },
        d.hint.as_deref(),
        color,
    )
}

/// Renders a Dockerfile finding (`validate`) as the config's diagnostics look, underlining the
/// finding's own span of `source` (the Dockerfile's text) with its label.
pub fn render_finding(f: &Finding, origin: &str, source: &str, color: bool) -> String {
    let start = f.span.start.min(source.len());
    let span = start..f.span.end.min(source.len()).max(start);
    block(
        Severity::Warning,
        &f.message,
        f.code,
        Place {
            origin,
            source,
            span: Some(span),
            label: &f.label,
        },
        Some(&f.hint),
        color,
    )
}

/// The `hint:` line under a message, indented, `hint` in bold cyan when `color` is set.
pub fn hint_line(hint: &str, color: bool) -> String {
    if color {
        let style = anstyle::Style::new()
            .bold()
            .fg_color(Some(anstyle::AnsiColor::Cyan.into()));
        format!("  {style}hint{style:#}: {hint}")
    } else {
        format!("  hint: {hint}")
    }
}

/// Where a diagnostic points: the file, its text, and the underlined bytes with their label
/// (no span: the file's name alone).
struct Place<'a> {
    origin: &'a str,
    source: &'a str,
    span: Option<Range<usize>>,
    label: &'a str,
}

/// The one drawing of a diagnostic: `message [code]`, the place, the hint line.
fn block(
    severity: Severity,
    message: &str,
    code: &str,
    at: Place<'_>,
    hint: Option<&str>,
    color: bool,
) -> String {
    let level = match severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
        Severity::Info => Level::Info,
    };
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let title = format!("{message} [{code}]");
    let head = match at.span {
        Some(span) => {
            let msg = level.title(&title).snippet(
                Snippet::source(at.source)
                    .line_start(1)
                    .origin(at.origin)
                    .fold(true)
                    .annotation(level.span(span).label(at.label)),
            );
            renderer.render(msg).to_string()
        }
        None => format!(
            "{}\n  --> {}",
            renderer.render(level.title(&title)),
            at.origin
        ),
    };
    match hint {
        Some(hint) => format!("{head}\n{}\n", hint_line(hint, color)),
        None => format!("{head}\n"),
    }
}

/// The byte range of the token that starts at `line`:`col` (1-based): a key up to its colon, a
/// quoted string, a flow collection, or a plain scalar up to a comment or separator.
fn span_at(source: &str, line: usize, col: usize, key: bool) -> Option<std::ops::Range<usize>> {
    let mut offset = 0;
    let mut text = None;
    for (i, l) in source.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            text = Some(l.trim_end_matches(['\n', '\r']));
            break;
        }
        offset += l.len();
    }
    let text = text?;
    let start = text
        .char_indices()
        .nth(col.saturating_sub(1))
        .map(|(b, _)| b)
        .unwrap_or(text.len());
    let rest = &text[start..];
    let len = if key {
        rest.find(':').unwrap_or(rest.len())
    } else if let Some(q @ ('"' | '\'')) = rest.chars().next() {
        rest[1..].find(q).map_or(rest.len(), |i| i + 2)
    } else if let Some(open @ ('[' | '{')) = rest.chars().next() {
        let close = if open == '[' { ']' } else { '}' };
        let mut depth = 0usize;
        rest.char_indices()
            .find_map(|(i, c)| {
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                None
            })
            .unwrap_or(rest.len())
    } else {
        let end = [" #", ",", "}", "]"]
            .iter()
            .filter_map(|s| rest.find(s))
            .min()
            .unwrap_or(rest.len());
        rest[..end].trim_end().len()
    };
    Some(offset + start..offset + start + len.max(1).min(rest.len().max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_the_token() {
        let src = "a: 1\necs:\n  memory: 300 # MiB\n  cmd: [\"x\", \"y\"]\n  name: \"q r\"\n  typo_key: 1\n";
        let at = |line, col, key| span_at(src, line, col, key).map(|r| &src[r]);
        assert_eq!(at(3, 11, false), Some("300"));
        assert_eq!(at(4, 8, false), Some("[\"x\", \"y\"]"));
        assert_eq!(at(5, 9, false), Some("\"q r\""));
        assert_eq!(at(6, 3, true), Some("typo_key"));
        assert_eq!(at(9, 1, false), None);
    }

    #[test]
    fn renders_location_and_hint() {
        let src = "service: Bad_Name\n";
        let mut d = Diagnostic::error("config", "service", "service name `Bad_Name` is not valid")
            .hint("use lowercase");
        d.location = Some((1, 10));
        let text = render(&d, "replatform.yaml", src, false);
        assert!(
            text.contains("error: service name `Bad_Name` is not valid [config]"),
            "{text}"
        );
        assert!(text.contains("--> replatform.yaml:1:10"), "{text}");
        assert!(text.contains("^^^^^^^^"), "{text}");
        assert!(text.ends_with("  hint: use lowercase\n"), "{text}");
    }

    #[test]
    fn a_dockerfile_finding_is_drawn_as_a_config_diagnostic() {
        let src = "FROM python:3.12\nRUN pip install --user -r requirements.txt\n";
        let start = src.find("--user").unwrap();
        let f = Finding {
            code: "pip-user",
            field: "image.dockerfile",
            message: "`pip install --user` puts packages under /root".into(),
            hint: "drop `--user`".into(),
            label: "here".into(),
            span: start..start + "--user".len(),
            line: 2,
            column: start - src.find('\n').unwrap(),
        };
        let text = render_finding(&f, "Dockerfile", src, false);
        assert!(
            text.starts_with(
                "warning: `pip install --user` puts packages under /root [pip-user]\n"
            ),
            "{text}"
        );
        assert!(text.contains("--> Dockerfile:2:"), "{text}");
        assert!(text.contains("------ here"), "{text}");
        assert!(text.ends_with("\n  hint: drop `--user`\n"), "{text}");
        // A span past the end of the text is clamped, not a panic.
        let past = Finding {
            span: src.len() + 5..src.len() + 9,
            ..f
        };
        assert!(
            render_finding(&past, "Dockerfile", src, false).ends_with("  hint: drop `--user`\n")
        );
    }

    #[test]
    fn the_hint_line_is_styled_only_with_color() {
        assert_eq!(hint_line("run it again", false), "  hint: run it again");
        let styled = hint_line("run it again", true);
        assert!(
            styled.starts_with("  \u{1b}[") && styled.contains("hint\u{1b}[0m: run it again"),
            "{styled:?}"
        );
    }
}

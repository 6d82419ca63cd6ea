//! Diagnostics as text: the message, the file, line and column with the line itself, and the
//! `hint:` that says what to do. Pure: returns strings; the printer decides where they go.

use annotate_snippets::{Level, Renderer, Snippet};

use crate::core::diag::{Diagnostic, Severity};

/// Renders one diagnostic about `source` (the text of the file called `origin`).
pub fn render(d: &Diagnostic, origin: &str, source: &str, color: bool) -> String {
    let level = match d.severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
    };
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let title = format!("{} [{}]", d.message, d.code);
    let label = if d.path.is_empty() { String::new() } else { format!("`{}`", d.path) };
    let head = match d.location.and_then(|(line, col)| span_at(source, line, col, matches!(d.code, "unknown-key" | "missing-key"))) {
        Some(span) => {
            let msg = level.title(&title).snippet(Snippet::source(source).line_start(1).origin(origin).fold(true).annotation(level.span(span).label(&label)));
            renderer.render(msg).to_string()
        }
        None => {
            let msg = level.title(&title);
            format!("{}\n  --> {origin}", renderer.render(msg))
        }
    };
    match &d.hint {
        Some(hint) if color => {
            let style = anstyle::Style::new().bold().fg_color(Some(anstyle::AnsiColor::Cyan.into()));
            format!("{head}\n  {style}hint{style:#}: {hint}\n")
        }
        Some(hint) => format!("{head}\n  hint: {hint}\n"),
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
    let start = text.char_indices().nth(col.saturating_sub(1)).map(|(b, _)| b).unwrap_or(text.len());
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
        let end = [" #", ",", "}", "]"].iter().filter_map(|s| rest.find(s)).min().unwrap_or(rest.len());
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
        let mut d = Diagnostic::error("config", "service", "service name `Bad_Name` is not valid").hint("use lowercase");
        d.location = Some((1, 10));
        let text = render(&d, "replatform.yaml", src, false);
        assert!(text.contains("error: service name `Bad_Name` is not valid [config]"), "{text}");
        assert!(text.contains("--> replatform.yaml:1:10"), "{text}");
        assert!(text.contains("^^^^^^^^"), "{text}");
        assert!(text.ends_with("  hint: use lowercase\n"), "{text}");
    }
}

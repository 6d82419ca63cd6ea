//! Text quoted from a file, made safe for a message: control characters escaped, long quoted
//! runs clipped, the whole cut short. Pure.

use crate::core::diag::Diagnostic;

/// A message made safe to print: a hostile file must not make a message of a megabyte, nor
/// put control characters (a terminal's escape sequences among them) on the user's screen.
pub(super) fn tidy(mut d: Diagnostic) -> Diagnostic {
    d.message = clean_text(&d.message);
    d.hint = d.hint.map(|h| clean_text(&h));
    d.path = escape_controls(&d.path);
    if d.path.chars().count() > 120 {
        d.path = format!("{}…", d.path.chars().take(100).collect::<String>());
    }
    d
}

/// Text quoted from a file, made safe for a message: control characters escaped (`\n`,
/// `\u{1b}`), long quoted runs clipped ([`clip_quoted`]), and the whole cut at 1,000 characters.
pub fn clean_text(text: &str) -> String {
    const MAX: usize = 1_000;
    let text = clip_quoted(&escape_controls(text));
    if text.chars().count() > MAX {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    } else {
        text
    }
}

fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => "\\t".to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Every run between backticks or double quotes longer than 160 characters, cut to 120 and `…`.
pub fn clip_quoted(text: &str) -> String {
    const LONG: usize = 160;
    const KEEP: usize = 120;
    let mut out = String::with_capacity(text.len().min(4096));
    let mut rest = text;
    while let Some(open) = rest.find(['`', '"']) {
        let quote = rest[open..].chars().next().unwrap_or('`');
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        let (inner, tail) = match after.find(quote) {
            Some(close) => (&after[..close], &after[close..]),
            None => (after, ""),
        };
        if inner.chars().count() > LONG {
            out.extend(inner.chars().take(KEEP));
            out.push('…');
        } else {
            out.push_str(inner);
        }
        match tail.strip_prefix(quote) {
            Some(t) => {
                out.push(quote);
                rest = t;
            }
            None => {
                rest = tail;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quoted_values_are_clipped() {
        let long = "x".repeat(5_000);
        let clipped = clip_quoted(&format!(
            "service name `{long}` is not valid \"{long}\" end"
        ));
        assert_eq!(
            clipped,
            format!(
                "service name `{}…` is not valid \"{}…\" end",
                "x".repeat(120),
                "x".repeat(120)
            )
        );
        assert_eq!(
            clip_quoted("`a` and `b` and an open `c"),
            "`a` and `b` and an open `c"
        );
        assert_eq!(clean_text("key `a\u{1b}[2J\nb`"), "key `a\\u{1b}[2J\\nb`");
        assert_eq!(
            clean_text(&format!(
                "`{}` `{}`",
                "`".repeat(3_000),
                "x\n".repeat(3_000)
            ))
            .chars()
            .count(),
            1_001
        );
    }
}

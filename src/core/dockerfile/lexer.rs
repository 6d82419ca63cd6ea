//! The Dockerfile's instructions: comment lines skipped, `\` continuations joined (or the `#
//! escape=` directive's character), heredoc bodies collected, flags, the exec form's JSON and the
//! shell form's words, each piece keeping where it is in the file. Pure.

use std::ops::Range;

/// A text made of pieces of the Dockerfile (continuation lines joined, heredoc bodies), with
/// where each piece starts in the source, so that a range of it maps back to the file.
#[derive(Clone, Debug, Default)]
pub(super) struct Text {
    pub(super) text: String,
    /// (offset in `text`, offset in the source) where each piece starts, ascending.
    pub(super) pieces: Vec<(usize, usize)>,
}

impl Text {
    pub(super) fn push(&mut self, s: &str, source_offset: usize) {
        self.pieces.push((self.text.len(), source_offset));
        self.text.push_str(s);
    }

    fn source_offset(&self, at: usize) -> usize {
        let i = self
            .pieces
            .partition_point(|&(t, _)| t <= at)
            .saturating_sub(1);
        match self.pieces.get(i) {
            Some(&(t, s)) => s + at.saturating_sub(t),
            None => 0,
        }
    }

    /// The source bytes of `r`, a range of this text.
    pub(super) fn source_span(&self, r: &Range<usize>) -> Range<usize> {
        let start = self.source_offset(r.start);
        let end = if r.end > r.start {
            self.source_offset(r.end - 1) + 1
        } else {
            start
        };
        start..end.max(start)
    }
}

/// One instruction: its keyword, its arguments and its heredocs.
#[derive(Clone, Debug)]
pub(super) struct Instruction {
    /// Upper case: `RUN`, `FROM`, ...
    pub(super) keyword: String,
    /// The arguments, continuation lines joined as Docker joins them.
    pub(super) args: Text,
    /// Heredoc bodies, in the order of their markers.
    pub(super) heredocs: Vec<Text>,
}

/// Splits the Dockerfile into instructions.
pub(super) fn instructions(source: &str) -> Vec<Instruction> {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for l in source.split_inclusive('\n') {
        let body = l.strip_suffix('\n').unwrap_or(l);
        lines.push((offset, body.strip_suffix('\r').unwrap_or(body)));
        offset += l.len();
    }
    let escape = escape_char(&lines);
    let skippable = |l: &str| {
        let t = l.trim_start();
        t.is_empty() || t.starts_with('#')
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (start, text) = lines[i];
        if skippable(text) {
            i += 1;
            continue;
        }
        let trimmed = text.trim_start();
        let lead = text.len() - trimmed.len();
        let kw_len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let keyword = trimmed[..kw_len].to_ascii_uppercase();
        let after = &trimmed[kw_len..];
        let rest_at = lead + kw_len + (after.len() - after.trim_start().len());
        let mut args = Text::default();
        let (mut seg_start, mut seg) = (start + rest_at, &text[rest_at..]);
        loop {
            i += 1;
            match seg.trim_end().strip_suffix(escape) {
                Some(body) => {
                    args.push(body, seg_start);
                    // Docker drops comment and empty lines inside a continued instruction.
                    while i < lines.len() && skippable(lines[i].1) {
                        i += 1;
                    }
                    if i >= lines.len() {
                        break;
                    }
                    (seg_start, seg) = lines[i];
                }
                None => {
                    args.push(seg, seg_start);
                    break;
                }
            }
        }
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (word, strip_tabs) in heredoc_markers(&args.text) {
                let mut body = Text::default();
                while i < lines.len() {
                    let (at, line) = lines[i];
                    i += 1;
                    let end = if strip_tabs {
                        line.trim_start_matches('\t')
                    } else {
                        line
                    };
                    if end == word {
                        break;
                    }
                    if !body.text.is_empty() {
                        body.push("\n", at.saturating_sub(1));
                    }
                    body.push(line, at);
                }
                heredocs.push(body);
            }
        }
        out.push(Instruction {
            keyword,
            args,
            heredocs,
        });
    }
    out
}

/// The line continuation character: `\`, or the one a leading `# escape=` directive names.
fn escape_char(lines: &[(usize, &str)]) -> char {
    for (_, l) in lines {
        let Some(d) = l.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = d.split_once('=') else {
            break;
        };
        if key.trim().eq_ignore_ascii_case("escape") {
            return if value.trim() == "`" { '`' } else { '\\' };
        }
        if !key.trim().chars().all(|c| c.is_ascii_alphanumeric()) {
            break;
        }
    }
    '\\'
}

/// The heredoc markers of an instruction (`<<EOF`, `<<-EOF`, `<<"EOF"`), in order.
fn heredoc_markers(text: &str) -> Vec<(String, bool)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i] == b'<' && b[i + 1] == b'<' && (i == 0 || b[i - 1] != b'<') && b[i + 2] != b'<' {
            let mut j = i + 2;
            let strip = b.get(j) == Some(&b'-');
            if strip {
                j += 1;
            }
            let quote = match b.get(j) {
                Some(&q @ (b'"' | b'\'')) => {
                    j += 1;
                    Some(q)
                }
                _ => None,
            };
            let start = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start && quote.is_none_or(|q| b.get(j) == Some(&q)) {
                out.push((text[start..j].to_string(), strip));
            }
            i = j.max(i + 2);
        } else {
            i += 1;
        }
    }
    out
}

/// A `--name=value` flag of FROM, COPY, ADD or RUN, with its range in the arguments.
#[derive(Clone, Debug)]
pub(super) struct Flag {
    pub(super) name: String,
    pub(super) value: String,
    pub(super) span: Range<usize>,
}

/// The leading flags and the offset where the rest starts.
pub(super) fn flags(text: &str) -> (Vec<Flag>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let rest = &text[at..];
        let skip = rest.len() - rest.trim_start().len();
        let rest = &rest[skip..];
        if !rest.starts_with("--") {
            return (out, at + skip);
        }
        let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[2..len];
        let (name, value) = token.split_once('=').unwrap_or((token, ""));
        out.push(Flag {
            name: name.to_ascii_lowercase(),
            value: value.to_string(),
            span: at + skip..at + skip + len,
        });
        at += skip + len;
    }
}

pub(super) fn flag<'a>(flags: &'a [Flag], name: &str) -> Option<&'a Flag> {
    flags.iter().find(|f| f.name == name)
}

/// A word and its range in the text it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Word {
    pub(super) text: String,
    pub(super) span: Range<usize>,
}

/// The exec form's JSON array, with each string's range (inside its quotes).
pub(super) fn exec_form(text: &str, base: usize) -> Option<Vec<Word>> {
    let trimmed = text.trim();
    if !trimmed.starts_with('[') {
        return None;
    }
    let values: Vec<String> = serde_json::from_str(trimmed).ok()?;
    let lead = text.len() - text.trim_start().len();
    let b = trimmed.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let start = i + 1;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            spans.push(base + lead + start..base + lead + i.min(b.len()));
        }
        i += 1;
    }
    (spans.len() == values.len()).then(|| {
        values
            .into_iter()
            .zip(spans)
            .map(|(text, span)| Word { text, span })
            .collect()
    })
}

/// Words split at whitespace, as COPY's and VOLUME's shell form splits them.
pub(super) fn plain_words(text: &str, base: usize) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push(Word {
                    text: text[s..i].to_string(),
                    span: base + s..base + i,
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_input::*;
    use super::*;

    #[test]
    fn continuations_comments_and_case() {
        let text = "# syntax=docker/dockerfile:1\nfrom python:3.12\nrun apt-get update && \\\n  # a comment inside\n\n  pip install \\\n    --user boto3 awslambdaric\n";
        let ins = instructions(text);
        assert_eq!(
            ins.iter().map(|i| i.keyword.as_str()).collect::<Vec<_>>(),
            ["FROM", "RUN"]
        );
        assert_eq!(
            ins[1].args.text,
            "apt-get update &&   pip install     --user boto3 awslambdaric"
        );
        let at = ins[1].args.text.find("--user").unwrap();
        let span = ins[1].args.source_span(&(at..at + 6));
        assert_eq!(&text[span], "--user");
        assert_eq!(found(text), vec![("pip-user", "--user".to_string())]);
        let f = &run_with(text, &settings(), &[])[0];
        assert_eq!((f.line, f.column), (7, 5));
    }

    #[test]
    fn escape_directive_changes_the_continuation() {
        let text = "# escape=`\nFROM python:3.12\nRUN pip install `\n  --user boto3 awslambdaric\n";
        assert_eq!(found(text), vec![("pip-user", "--user".to_string())]);
    }

    #[test]
    fn heredocs_are_scripts_or_data() {
        let script = "FROM python:3.12\nRUN <<EOF\nset -e\npip install --user boto3 awslambdaric\nEOF\nCMD [\"python\"]\n";
        assert_eq!(found(script), vec![("pip-user", "--user".to_string())]);
        let data = "FROM python:3.12\nCOPY <<EOF /app/notes.txt\npip install --user boto3\nEOF\nRUN cat > /etc/x <<-EOT\n\tpip install --user x\n\tEOT\nRUN pip install awslambdaric\n";
        assert_eq!(found(data), vec![]);
    }
}

//! Shell text split into simple commands, with their words, quotes and redirections, and the
//! scripts of `sh -c` followed, each word keeping its range in the Dockerfile. Pure.

use std::ops::Range;

use super::lexer::Word;

/// How a range of a nested text (the script of `sh -c '...'`) maps to its outer text.
#[derive(Clone, Debug)]
pub(super) enum Map {
    /// Offset by this much.
    Shift(usize),
    /// The nested text is not a plain slice (quotes with escapes): everything maps to this range.
    Whole(Range<usize>),
}

impl Map {
    fn apply(&self, r: &Range<usize>) -> Range<usize> {
        match self {
            Map::Shift(by) => r.start + by..r.end + by,
            Map::Whole(w) => w.clone(),
        }
    }
}
/// A simple command: its words and the files its redirections write.
#[derive(Clone, Debug, Default)]
pub(super) struct Command {
    pub(super) words: Vec<Word>,
    pub(super) writes: Vec<Word>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Redirect {
    Write,
    /// `>&x`: a file unless x is a descriptor.
    DupOrWrite,
    Read,
}

/// Splits shell text into simple commands (at `;`, `&&`, `||`, `|`, `&`, newlines and
/// parentheses), with quotes, escapes and expansions kept inside their words.
pub(super) fn shell(src: &str) -> Vec<Command> {
    struct Lexer<'a> {
        src: &'a str,
        out: Vec<Command>,
        cur: Command,
        word: Option<(String, usize)>,
        redirect: Option<Redirect>,
    }
    impl Lexer<'_> {
        fn finish_word(&mut self, end: usize) {
            if let Some((text, start)) = self.word.take() {
                let w = Word {
                    text,
                    span: start..end,
                };
                match self.redirect.take() {
                    None => self.cur.words.push(w),
                    Some(Redirect::Write) => self.cur.writes.push(w),
                    Some(Redirect::DupOrWrite)
                        if !(w.text == "-" || w.text.chars().all(|c| c.is_ascii_digit())) =>
                    {
                        self.cur.writes.push(w)
                    }
                    Some(_) => {}
                }
            }
        }
        fn finish_command(&mut self, end: usize) {
            self.finish_word(end);
            self.redirect = None;
            let c = std::mem::take(&mut self.cur);
            if !c.words.is_empty() || !c.writes.is_empty() {
                self.out.push(c);
            }
        }
        fn push(&mut self, s: &str, at: usize) {
            match &mut self.word {
                Some((w, _)) => w.push_str(s),
                None => self.word = Some((s.to_string(), at)),
            }
        }
        /// Adds the character at `at` to the word; returns the offset after it.
        fn push_char(&mut self, at: usize) -> usize {
            let src = self.src;
            let len = src[at..].chars().next().map_or(1, char::len_utf8);
            self.push(&src[at..at + len], at);
            at + len
        }
        /// Copies an expansion (`$(...)`, `${...}`, backticks) whole into the word; returns the
        /// offset after it.
        fn expansion(&mut self, at: usize) -> usize {
            let b = self.src.as_bytes();
            let (open, close, from) = match (b[at], b.get(at + 1)) {
                (b'$', Some(b'(')) => (b'(', b')', at + 2),
                (b'$', Some(b'{')) => (b'{', b'}', at + 2),
                (b'`', _) => (0, b'`', at + 1),
                _ => {
                    self.push("$", at);
                    return at + 1;
                }
            };
            let mut depth = 1;
            let mut j = from;
            while j < b.len() {
                if open != 0 && b[j] == open {
                    depth += 1;
                } else if b[j] == close {
                    depth -= 1;
                    if depth == 0 {
                        j += 1;
                        break;
                    }
                }
                j += 1;
            }
            let j = j.min(b.len());
            let s = self.src[at..j].to_string();
            self.push(&s, at);
            j
        }
    }

    let mut lx = Lexer {
        src,
        out: Vec::new(),
        cur: Command::default(),
        word: None,
        redirect: None,
    };
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' => {
                lx.finish_word(i);
                i += 1;
            }
            b'\n' | b';' | b'(' | b')' => {
                lx.finish_command(i);
                i += 1;
            }
            b'&' if b.get(i + 1) == Some(&b'>') => {
                lx.finish_word(i);
                i += 2;
                if b.get(i) == Some(&b'>') {
                    i += 1;
                }
                lx.redirect = Some(Redirect::Write);
            }
            b'&' | b'|' => {
                lx.finish_command(i);
                i += 1;
            }
            b'#' if lx.word.is_none() => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'>' | b'<' => {
                // A descriptor number right before the operator (`2>`) is no word.
                if let Some((w, start)) = &lx.word {
                    if w.chars().all(|c| c.is_ascii_digit()) && src[*start..i] == **w {
                        lx.word = None;
                    }
                }
                lx.finish_word(i);
                i += 1;
                let kind = if c == b'<' {
                    while i < b.len() && matches!(b[i], b'<' | b'&' | b'>' | b'-') {
                        i += 1;
                    }
                    Redirect::Read
                } else {
                    match b.get(i) {
                        Some(b'>') | Some(b'|') => {
                            i += 1;
                            Redirect::Write
                        }
                        Some(b'&') => {
                            i += 1;
                            Redirect::DupOrWrite
                        }
                        _ => Redirect::Write,
                    }
                };
                while i < b.len() && matches!(b[i], b' ' | b'\t') {
                    i += 1;
                }
                lx.redirect = Some(kind);
            }
            b'\'' => {
                let end = src[i + 1..].find('\'').map_or(src.len(), |e| i + 1 + e);
                let s = src[i + 1..end].to_string();
                lx.push(&s, i);
                i = (end + 1).min(src.len());
            }
            b'"' => {
                let start = i;
                if lx.word.is_none() {
                    lx.word = Some((String::new(), start));
                }
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    match b[i] {
                        b'\\' if matches!(b.get(i + 1), Some(b'$' | b'`' | b'"' | b'\\')) => {
                            let s = src[i + 1..i + 2].to_string();
                            lx.push(&s, i);
                            i += 2;
                        }
                        b'\\' if b.get(i + 1) == Some(&b'\n') => i += 2,
                        b'$' | b'`' => i = lx.expansion(i),
                        _ => i = lx.push_char(i),
                    }
                }
                i += 1;
            }
            b'\\' => {
                if b.get(i + 1) == Some(&b'\n') {
                    i += 2;
                } else if let Some(ch) = src[i + 1..].chars().next() {
                    let s = ch.to_string();
                    if lx.word.is_none() {
                        lx.word = Some((String::new(), i));
                    }
                    lx.push(&s, i);
                    i += 1 + ch.len_utf8();
                } else {
                    i += 1;
                }
            }
            b'$' | b'`' => i = lx.expansion(i),
            _ => i = lx.push_char(i),
        }
    }
    lx.finish_command(src.len());
    lx.out
}

/// Where a command's own words start, after variable assignments and wrappers such as `exec`,
/// `sudo`, `env` and `nohup`.
pub(super) fn command_start(words: &[Word]) -> usize {
    let is_assignment = |w: &str| {
        w.split_once('=').is_some_and(|(n, _)| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !n.starts_with(|c: char| c.is_ascii_digit())
        })
    };
    let mut i = 0;
    while i < words.len() {
        let w = words[i].text.as_str();
        if is_assignment(w) {
            i += 1;
            continue;
        }
        match basename(w) {
            "exec" | "nohup" | "time" | "command" | "builtin" | "env" | "sudo" | "nice"
            | "stdbuf" | "tini" | "dumb-init" => {
                let takes_value: &[&str] = match basename(w) {
                    "sudo" => &["-u", "-g", "-U", "-C", "-h", "-p"],
                    "nice" => &["-n"],
                    "env" => &["-u", "-C", "-S"],
                    _ => &[],
                };
                i += 1;
                while i < words.len() {
                    let t = words[i].text.as_str();
                    if t == "--" {
                        i += 1;
                        break;
                    }
                    if !(t.starts_with('-') || is_assignment(t)) {
                        break;
                    }
                    i += if takes_value.contains(&t) { 2 } else { 1 };
                }
            }
            _ => return i,
        }
    }
    i
}

pub(super) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The script of `sh -c SCRIPT` (or bash, dash...): its word, when the command is one.
pub(super) fn shell_script(words: &[Word]) -> Option<&Word> {
    let name = basename(&words.first()?.text);
    if !matches!(
        name,
        "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh" | "busybox"
    ) {
        return None;
    }
    let mut i = 1;
    if name == "busybox" {
        if words.get(1).map(|w| w.text.as_str()) != Some("sh") {
            return None;
        }
        i = 2;
    }
    let mut has_c = false;
    while i < words.len() {
        let w = &words[i].text;
        if w == "-o" || w == "+o" {
            i += 2;
            continue;
        }
        if w == "--" {
            i += 1;
            break;
        }
        if (w.starts_with('-') || w.starts_with('+')) && w.len() > 1 {
            has_c |= !w.starts_with("--") && w.contains('c');
            i += 1;
            continue;
        }
        break;
    }
    if has_c {
        words.get(i)
    } else {
        None
    }
}

/// The commands of a shell text (and of the `sh -c` scripts in it), with ranges of `src`.
pub(super) fn commands(src: &str) -> Vec<Command> {
    let mut out = Vec::new();
    nested_commands(src, &Map::Shift(0), &mut out, 0);
    out
}

pub(super) fn nested_commands(src: &str, map: &Map, out: &mut Vec<Command>, depth: usize) {
    for c in shell(src) {
        let mapped = Command {
            words: c
                .words
                .iter()
                .map(|w| Word {
                    text: w.text.clone(),
                    span: map.apply(&w.span),
                })
                .collect(),
            writes: c
                .writes
                .iter()
                .map(|w| Word {
                    text: w.text.clone(),
                    span: map.apply(&w.span),
                })
                .collect(),
        };
        let start = command_start(&c.words);
        if depth < 3 {
            if let Some(script) = shell_script(&c.words[start..]) {
                let raw = &src[script.span.clone()];
                let inner = if raw.len() >= 2
                    && (raw.starts_with('\'') && raw.ends_with('\'')
                        || raw.starts_with('"') && raw.ends_with('"'))
                {
                    &raw[1..raw.len() - 1]
                } else {
                    raw
                };
                let inner_map = if inner == script.text {
                    let offset = script.span.start + (raw.len() - inner.len()) / 2;
                    match map {
                        Map::Shift(by) => Map::Shift(by + offset),
                        Map::Whole(w) => Map::Whole(w.clone()),
                    }
                } else {
                    Map::Whole(map.apply(&script.span))
                };
                let text = script.text.clone();
                out.push(mapped);
                nested_commands(&text, &inner_map, out, depth + 1);
                continue;
            }
        }
        out.push(mapped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quotes_and_redirections() {
        let cmds = shell("a 'b c' \"d $E\" f\\ g >out 2>&1 && h >> \"l o g\" | i; j &>all");
        let words: Vec<Vec<&str>> = cmds
            .iter()
            .map(|c| c.words.iter().map(|w| w.text.as_str()).collect())
            .collect();
        assert_eq!(
            words,
            vec![
                vec!["a", "b c", "d $E", "f g"],
                vec!["h"],
                vec!["i"],
                vec!["j"]
            ]
        );
        let writes: Vec<Vec<&str>> = cmds
            .iter()
            .map(|c| c.writes.iter().map(|w| w.text.as_str()).collect())
            .collect();
        assert_eq!(
            writes,
            vec![vec!["out"], vec!["l o g"], vec![], vec!["all"]]
        );
    }
}

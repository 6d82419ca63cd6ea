//! The Dockerfile traps of moving a worker to Lambda (`shared/design/pitfalls.md`, 3, 5 and 6),
//! found in the Dockerfile's text:
//!
//! - `pip-user`: `pip install --user` (or `ENV PIP_USER=1`) puts packages in the build user's
//!   `~/.local`, which Lambda's user does not see;
//! - `runtime-client`: `lambda.entry_point` runs awslambdaric, but neither the Dockerfile nor the
//!   requirements it installs name it, and the base is not an AWS Lambda base image;
//! - `unreadable-files`: `chmod 700`-like modes on the app's files, or files under `/root`:
//!   Lambda runs the image as a user of its own, who cannot read them;
//! - `writes-outside-tmp`: the start-up command (`CMD`/`ENTRYPOINT` in shell form or `sh -c`)
//!   writes outside `/tmp`, or a `VOLUME` outside it: only `/tmp` is writable on Lambda;
//! - `image-platform`: `FROM --platform=...` or a base image pinned to the other architecture
//!   than `image.platform`.
//!
//! Pure: the Dockerfile's text, the files of the build context it installs requirements from
//! (asked for with [`wanted_files`]) and the config's settings in; findings with their byte
//! spans out. The parser knows what these checks need: instructions in any case, `\` line
//! continuations (or the `# escape=` directive's), comment lines, heredocs, exec form (JSON)
//! and shell form, `ARG`/`ENV` substitution, stages and the files `COPY` brings in.
//!
//! Findings are kept to what the text shows: whatever is unknown (a variable without a value,
//! an install script, a requirements file that cannot be read) means no finding.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use super::config::{Config, Platform};
use super::diag::Diagnostic;

/// The config's settings the checks compare the Dockerfile with.
#[derive(Clone, Debug)]
pub struct Settings {
    pub platform: Platform,
    pub entry_point: Vec<String>,
    pub working_directory: String,
    pub build_args: BTreeMap<String, String>,
}

impl From<&Config> for Settings {
    fn from(c: &Config) -> Self {
        Settings {
            platform: c.image.platform,
            entry_point: c.lambda.entry_point.clone(),
            working_directory: c.lambda.working_directory.clone(),
            build_args: c.image.build_args.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect(),
        }
    }
}

/// One warning about the Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    /// The config field the finding concerns, or `image.dockerfile`.
    pub field: &'static str,
    pub message: String,
    pub hint: String,
    /// What the underline says.
    pub label: String,
    /// Bytes of the Dockerfile's text.
    pub span: Range<usize>,
    /// 1-based line and column (in characters) of the span's start.
    pub line: usize,
    pub column: usize,
}

impl Finding {
    /// As a diagnostic: a warning whose location is in the Dockerfile.
    pub fn diagnostic(&self) -> Diagnostic {
        let mut d = Diagnostic::warning(self.code, self.field, self.message.clone()).hint(self.hint.clone());
        d.location = Some((self.line, self.column));
        d
    }
}

/// The largest Dockerfile and requirements file read: these are a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The most build-context files read to find what a Dockerfile installs.
pub const MAX_FILES: usize = 32;

// ---------------------------------------------------------------------------------------------
// Text with its place in the Dockerfile.

/// A text made of pieces of the Dockerfile (continuation lines joined, heredoc bodies), with
/// where each piece starts in the source, so that a range of it maps back to the file.
#[derive(Clone, Debug, Default)]
struct Text {
    text: String,
    /// (offset in `text`, offset in the source) where each piece starts, ascending.
    pieces: Vec<(usize, usize)>,
}

impl Text {
    fn push(&mut self, s: &str, source_offset: usize) {
        self.pieces.push((self.text.len(), source_offset));
        self.text.push_str(s);
    }

    fn source_offset(&self, at: usize) -> usize {
        let i = self.pieces.partition_point(|&(t, _)| t <= at).saturating_sub(1);
        match self.pieces.get(i) {
            Some(&(t, s)) => s + at.saturating_sub(t),
            None => 0,
        }
    }

    /// The source bytes of `r`, a range of this text.
    fn source_span(&self, r: &Range<usize>) -> Range<usize> {
        let start = self.source_offset(r.start);
        let end = if r.end > r.start { self.source_offset(r.end - 1) + 1 } else { start };
        start..end.max(start)
    }
}

/// How a range of a nested text (the script of `sh -c '...'`) maps to its outer text.
#[derive(Clone, Debug)]
enum Map {
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

// ---------------------------------------------------------------------------------------------
// Instructions.

#[derive(Clone, Debug)]
struct Instruction {
    /// Upper case: `RUN`, `FROM`, ...
    keyword: String,
    /// The arguments, continuation lines joined as Docker joins them.
    args: Text,
    /// Heredoc bodies, in the order of their markers.
    heredocs: Vec<Text>,
}

/// Splits the Dockerfile into instructions.
fn instructions(source: &str) -> Vec<Instruction> {
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
                    let end = if strip_tabs { line.trim_start_matches('\t') } else { line };
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
        out.push(Instruction { keyword, args, heredocs });
    }
    out
}

/// The line continuation character: `\`, or the one a leading `# escape=` directive names.
fn escape_char(lines: &[(usize, &str)]) -> char {
    for (_, l) in lines {
        let Some(d) = l.trim().strip_prefix('#') else { break };
        let Some((key, value)) = d.split_once('=') else { break };
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
struct Flag {
    name: String,
    value: String,
    span: Range<usize>,
}

/// The leading flags and the offset where the rest starts.
fn flags(text: &str) -> (Vec<Flag>, usize) {
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
        out.push(Flag { name: name.to_ascii_lowercase(), value: value.to_string(), span: at + skip..at + skip + len });
        at += skip + len;
    }
}

fn flag<'a>(flags: &'a [Flag], name: &str) -> Option<&'a Flag> {
    flags.iter().find(|f| f.name == name)
}

/// A word and its range in the text it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Word {
    text: String,
    span: Range<usize>,
}

/// The exec form's JSON array, with each string's range (inside its quotes).
fn exec_form(text: &str, base: usize) -> Option<Vec<Word>> {
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
    (spans.len() == values.len()).then(|| values.into_iter().zip(spans).map(|(text, span)| Word { text, span }).collect())
}

/// Words split at whitespace, as COPY's and VOLUME's shell form splits them.
fn plain_words(text: &str, base: usize) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push(Word { text: text[s..i].to_string(), span: base + s..base + i });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Shell.

/// A simple command: its words and the files its redirections write.
#[derive(Clone, Debug, Default)]
struct Command {
    words: Vec<Word>,
    writes: Vec<Word>,
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
fn shell(src: &str) -> Vec<Command> {
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
                let w = Word { text, span: start..end };
                match self.redirect.take() {
                    None => self.cur.words.push(w),
                    Some(Redirect::Write) => self.cur.writes.push(w),
                    Some(Redirect::DupOrWrite) if !(w.text == "-" || w.text.chars().all(|c| c.is_ascii_digit())) => self.cur.writes.push(w),
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

    let mut lx = Lexer { src, out: Vec::new(), cur: Command::default(), word: None, redirect: None };
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
                        _ => {
                            let len = src[i..].chars().next().map_or(1, char::len_utf8);
                            let s = src[i..i + len].to_string();
                            lx.push(&s, i);
                            i += len;
                        }
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
            _ => {
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                let s = src[i..i + len].to_string();
                lx.push(&s, i);
                i += len;
            }
        }
    }
    lx.finish_command(src.len());
    lx.out
}

/// Where a command's own words start, after variable assignments and wrappers such as `exec`,
/// `sudo`, `env` and `nohup`.
fn command_start(words: &[Word]) -> usize {
    let is_assignment = |w: &str| w.split_once('=').is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !n.starts_with(|c: char| c.is_ascii_digit()));
    let mut i = 0;
    while i < words.len() {
        let w = words[i].text.as_str();
        if is_assignment(w) {
            i += 1;
            continue;
        }
        match basename(w) {
            "exec" | "nohup" | "time" | "command" | "builtin" | "env" | "sudo" | "nice" | "stdbuf" | "tini" | "dumb-init" => {
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

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The script of `sh -c SCRIPT` (or bash, dash...): its word, when the command is one.
fn shell_script(words: &[Word]) -> Option<&Word> {
    let name = basename(&words.first()?.text);
    if !matches!(name, "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh" | "busybox") {
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
fn commands(src: &str) -> Vec<Command> {
    let mut out = Vec::new();
    nested_commands(src, &Map::Shift(0), &mut out, 0);
    out
}

fn nested_commands(src: &str, map: &Map, out: &mut Vec<Command>, depth: usize) {
    for c in shell(src) {
        let mapped = Command {
            words: c.words.iter().map(|w| Word { text: w.text.clone(), span: map.apply(&w.span) }).collect(),
            writes: c.writes.iter().map(|w| Word { text: w.text.clone(), span: map.apply(&w.span) }).collect(),
        };
        let start = command_start(&c.words);
        if depth < 3 {
            if let Some(script) = shell_script(&c.words[start..]) {
                let raw = &src[script.span.clone()];
                let inner = if raw.len() >= 2 && (raw.starts_with('\'') && raw.ends_with('\'') || raw.starts_with('"') && raw.ends_with('"')) { &raw[1..raw.len() - 1] } else { raw };
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

// ---------------------------------------------------------------------------------------------
// Variables and paths.

/// Expands `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}` and `${NAME:+word}`; `None` when a
/// variable has no value here.
fn expand(s: &str, vars: &HashMap<String, String>) -> Option<String> {
    if !s.contains('$') {
        return Some(s.to_string());
    }
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' && s[i + 1..].starts_with('$') {
            out.push('$');
            chars.next();
            continue;
        }
        if c != '$' {
            out.push(c);
            continue;
        }
        let rest = &s[i + 1..];
        if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}')?;
            let expr = &inner[..end];
            let name_len = expr.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(expr.len());
            let (name, op) = expr.split_at(name_len);
            let value = vars.get(name).filter(|v| !v.is_empty());
            let set = vars.get(name);
            let v = if let Some(w) = op.strip_prefix(":-") {
                value.cloned().or_else(|| expand(w, vars))?
            } else if let Some(w) = op.strip_prefix('-') {
                set.cloned().or_else(|| expand(w, vars))?
            } else if let Some(w) = op.strip_prefix(":+") {
                if value.is_some() {
                    expand(w, vars)?
                } else {
                    String::new()
                }
            } else if op.is_empty() {
                set.cloned()?
            } else {
                return None;
            };
            out.push_str(&v);
            let skip = 1 + end + 1;
            while chars.peek().is_some_and(|&(j, _)| j < i + 1 + skip) {
                chars.next();
            }
        } else {
            let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if len == 0 {
                out.push('$');
                continue;
            }
            out.push_str(vars.get(&rest[..len])?);
            while chars.peek().is_some_and(|&(j, _)| j < i + 1 + len) {
                chars.next();
            }
        }
    }
    Some(out)
}

/// The working directory of a base image whose own is unknown: a path no image has, so that
/// paths relative to it still compare with each other.
const UNKNOWN_DIR: &str = "/\u{1}workdir";

/// `path` made absolute against `dir` and normalised (`.`, `..`, repeated slashes).
fn resolve(dir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') { path.to_string() } else { format!("{dir}/{path}") };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `path` is `dir` or inside it.
fn under(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// A context-relative path, normalised; `None` when it leaves the context.
pub fn context_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn context_join(dir: &str, rel: &str) -> Option<String> {
    if dir.is_empty() {
        context_path(rel)
    } else {
        context_path(&format!("{dir}/{rel}"))
    }
}

/// `*` and `?` wildcards, as COPY's sources use them.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ni;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

// ---------------------------------------------------------------------------------------------
// Images and platforms.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arch {
    Amd64,
    Arm64,
    /// Neither of the two Lambda and Fargate run.
    Other,
}

impl Arch {
    fn of(p: Platform) -> Arch {
        match p {
            Platform::Amd64 => Arch::Amd64,
            Platform::Arm64 => Arch::Arm64,
        }
    }

    /// From a `--platform` value: `linux/amd64`, `linux/arm64/v8`, `arm64`...
    fn of_platform(value: &str) -> Arch {
        let v = value.to_ascii_lowercase();
        let arch = v.strip_prefix("linux/").unwrap_or(&v);
        let arch = arch.split('/').next().unwrap_or(arch);
        match arch {
            "amd64" | "x86_64" | "x86-64" => Arch::Amd64,
            "arm64" | "aarch64" | "arm64v8" => Arch::Arm64,
            _ => Arch::Other,
        }
    }
}

/// An image reference's parts: registry host (empty for Docker Hub), path, tag.
fn image_parts(image: &str) -> (String, String, String) {
    let image = image.split('@').next().unwrap_or(image);
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    let (registry, path) = if first.contains('.') || first.contains(':') || first == "localhost" {
        (first.to_ascii_lowercase(), rest.to_string())
    } else if first.is_empty() {
        (String::new(), rest.to_string())
    } else {
        (String::new(), image.to_string())
    };
    let registry = if matches!(registry.as_str(), "docker.io" | "index.docker.io" | "registry-1.docker.io") { String::new() } else { registry };
    let (path, tag) = match path.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p.to_string(), t.to_string()),
        _ => (path, String::new()),
    };
    (registry, path.to_ascii_lowercase(), tag)
}

/// An AWS Lambda base image: `public.ecr.aws/lambda/...` or `amazon/aws-lambda-...`.
fn is_lambda_base(image: &str) -> bool {
    let (registry, path, _) = image_parts(image);
    (registry == "public.ecr.aws" && path.starts_with("lambda/")) || (registry.is_empty() && path.starts_with("amazon/aws-lambda-"))
}

/// The architecture an image's name pins: Docker Hub's per-architecture namespaces
/// (`arm64v8/python`), or an AWS Lambda base image's `-arm64`/`-x86_64` tag.
fn pinned_arch(image: &str) -> Option<(Arch, &'static str)> {
    let (registry, path, tag) = image_parts(image);
    if registry.is_empty() {
        let ns = path.split('/').next().unwrap_or("");
        let arch = match ns {
            "amd64" => Some((Arch::Amd64, "an image of Docker Hub's amd64 namespace")),
            "arm64v8" => Some((Arch::Arm64, "an image of Docker Hub's arm64v8 namespace")),
            "arm32v5" | "arm32v6" | "arm32v7" | "i386" | "ppc64le" | "s390x" | "riscv64" | "mips64le" => Some((Arch::Other, "an image of a Docker Hub namespace of another architecture")),
            _ => None,
        };
        if path.contains('/') && arch.is_some() {
            return arch;
        }
    }
    if is_lambda_base(image) {
        let tag = tag.to_ascii_lowercase();
        if tag == "arm64" || tag.ends_with("-arm64") {
            return Some((Arch::Arm64, "an arm64 tag of an AWS Lambda base image"));
        }
        if tag == "x86_64" || tag.ends_with("-x86_64") {
            return Some((Arch::Amd64, "an x86_64 tag of an AWS Lambda base image"));
        }
    }
    None
}

fn arch_name(a: Arch) -> &'static str {
    match a {
        Arch::Amd64 => "linux/amd64",
        Arch::Arm64 => "linux/arm64",
        Arch::Other => "another architecture",
    }
}

// ---------------------------------------------------------------------------------------------
// The model: stages and the state before each instruction.

/// What COPY (or a RUN's bind mount) put where: an image path and the context path it holds.
#[derive(Clone, Debug)]
enum Copied {
    File { dest: String, src: String },
    /// `dest` holds the content of the context folder `src`.
    Dir { dest: String, src: String },
    /// Files of `dir` whose names match `pattern`, from the context folder `src_dir`.
    Glob { dir: String, pattern: String, src_dir: String },
}

#[derive(Clone, Debug, Default)]
struct State {
    stage: Option<usize>,
    workdir: String,
    vars: HashMap<String, String>,
    copied: Vec<Copied>,
}

#[derive(Clone, Debug)]
struct Stage {
    /// The FROM instruction.
    from: usize,
    name: Option<String>,
    /// The earlier stage this one builds on.
    parent: Option<usize>,
    /// The base image, when not a stage: resolved, or `None` when a variable has no value.
    image: Option<String>,
    /// The image word's range in the FROM's arguments.
    image_span: Range<usize>,
    platform: Option<Flag>,
}

struct Model<'a> {
    source: &'a str,
    ins: Vec<Instruction>,
    stages: Vec<Stage>,
    /// The state before each instruction.
    state: Vec<State>,
    /// The state after the last instruction of each stage.
    end: Vec<State>,
    /// The build's global ARG values (FROM's variables).
    globals: HashMap<String, String>,
}

/// `NAME=value` pairs (or `NAME value`, ENV's old form) of ARG and ENV, unquoted.
fn assignments(text: &str, legacy: bool) -> Vec<(String, Option<String>, Range<usize>)> {
    let words = shell(text).into_iter().flat_map(|c| c.words).collect::<Vec<_>>();
    if legacy && words.first().is_some_and(|w| !w.text.contains('=')) && words.len() > 1 {
        let first = &words[0];
        let value_start = words[1].span.start;
        return vec![(first.text.clone(), Some(text[value_start..].trim().to_string()), first.span.start..text.trim_end().len())];
    }
    words
        .into_iter()
        .map(|w| match w.text.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string()), w.span),
            None => (w.text.clone(), None, w.span),
        })
        .collect()
}

impl<'a> Model<'a> {
    fn new(source: &'a str, settings: &Settings) -> Self {
        let ins = instructions(source);
        let arch = settings.platform.as_str();
        let mut globals: HashMap<String, String> = HashMap::new();
        for (k, v) in [("TARGETPLATFORM", arch), ("TARGETOS", "linux"), ("TARGETARCH", arch.trim_start_matches("linux/")), ("TARGETVARIANT", "")] {
            globals.insert(k.into(), v.into());
        }
        let mut declared: HashMap<String, Option<String>> = HashMap::new();
        let mut stages: Vec<Stage> = Vec::new();
        let mut state: Vec<State> = Vec::new();
        let mut end: Vec<State> = Vec::new();
        let mut cur: Option<State> = None;
        for (k, i) in ins.iter().enumerate() {
            let text = i.args.text.as_str();
            let before = cur.clone().unwrap_or_else(|| State { vars: globals.clone(), ..State::default() });
            match i.keyword.as_str() {
                "ARG" if cur.is_none() => {
                    state.push(before);
                    for (name, default, _) in assignments(text, false) {
                        let value = settings.build_args.get(&name).cloned().or_else(|| default.and_then(|d| expand(&d, &globals)));
                        declared.insert(name.clone(), value.clone());
                        match value {
                            Some(v) => globals.insert(name, v),
                            None => globals.remove(&name),
                        };
                    }
                }
                "FROM" => {
                    state.push(before);
                    let (fl, at) = flags(text);
                    let words = plain_words(&text[at..], at);
                    let Some(image_word) = words.first() else { continue };
                    let resolved = expand(&image_word.text, &globals);
                    let name = match (words.get(1), words.get(2)) {
                        (Some(a), Some(n)) if a.text.eq_ignore_ascii_case("as") => Some(n.text.to_ascii_lowercase()),
                        _ => None,
                    };
                    let parent = resolved.as_ref().and_then(|r| stages.iter().position(|s| s.name.as_deref() == Some(r.to_ascii_lowercase().as_str())));
                    if let Some(prev) = cur.take() {
                        end.push(prev);
                    }
                    let index = stages.len();
                    let next = match parent {
                        Some(p) => State { stage: Some(index), ..end[p].clone() },
                        None => {
                            let workdir = match resolved.as_deref() {
                                Some(r) if is_lambda_base(r) => "/var/task".to_string(),
                                Some("scratch") => "/".to_string(),
                                _ => UNKNOWN_DIR.to_string(),
                            };
                            State { stage: Some(index), workdir, vars: HashMap::new(), copied: Vec::new() }
                        }
                    };
                    cur = Some(next);
                    stages.push(Stage {
                        from: k,
                        name,
                        parent,
                        image: if parent.is_some() { None } else { resolved },
                        image_span: image_word.span.clone(),
                        platform: flag(&fl, "platform").cloned(),
                    });
                }
                _ => {
                    let Some(s) = cur.as_mut() else {
                        state.push(before);
                        continue;
                    };
                    let mut before = before;
                    match i.keyword.as_str() {
                        "ARG" => {
                            for (name, default, _) in assignments(text, false) {
                                let value = settings
                                    .build_args
                                    .get(&name)
                                    .cloned()
                                    .or_else(|| default.and_then(|d| expand(&d, &s.vars)))
                                    .or_else(|| declared.get(&name).cloned().flatten());
                                if let Some(v) = value {
                                    s.vars.insert(name, v);
                                }
                            }
                        }
                        "ENV" => {
                            for (name, value, _) in assignments(text, true) {
                                match value.and_then(|v| expand(&v, &s.vars)) {
                                    Some(v) => s.vars.insert(name, v),
                                    None => s.vars.remove(&name),
                                };
                            }
                        }
                        "WORKDIR" => {
                            let dir = text.trim();
                            s.workdir = match expand(dir, &s.vars) {
                                Some(d) => resolve(&s.workdir, &d),
                                None => UNKNOWN_DIR.to_string(),
                            };
                        }
                        "COPY" | "ADD" => {
                            let (fl, at) = flags(text);
                            if flag(&fl, "from").is_none() && i.heredocs.is_empty() {
                                if let Some((sources, dest)) = copy_operands(&text[at..], at) {
                                    if let Some(dest_text) = expand(&dest.text, &s.vars) {
                                        let dest_path = resolve(&s.workdir, &dest_text);
                                        let into_dir = dest_text.ends_with('/') || sources.len() > 1;
                                        for src in &sources {
                                            let Some(src_text) = expand(&src.text, &s.vars) else { continue };
                                            if src_text.contains("://") || src_text.starts_with("git@") {
                                                continue;
                                            }
                                            s.copied.extend(copied(&src_text, &dest_path, into_dir));
                                        }
                                    }
                                }
                            }
                        }
                        "RUN" => {
                            let (fl, _) = flags(text);
                            for m in fl.iter().filter(|f| f.name == "mount") {
                                let opts: HashMap<&str, &str> = m.value.split(',').filter_map(|o| o.split_once('=')).collect();
                                let is_bind = opts.get("type") == Some(&"bind");
                                if !is_bind || opts.contains_key("from") {
                                    continue;
                                }
                                let Some(target) = opts.get("target").or(opts.get("dst")).or(opts.get("destination")) else { continue };
                                let source = opts.get("source").or(opts.get("src")).copied().unwrap_or(".");
                                let target = resolve(&s.workdir, target);
                                before.copied.extend(copied(source, &target, false));
                            }
                        }
                        _ => {}
                    }
                    state.push(before);
                }
            }
        }
        if let Some(prev) = cur {
            end.push(prev);
        }
        Model { source, ins, stages, state, end, globals }
    }

    /// The final stage and the stages it builds on, final first.
    fn chain(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = self.stages.len().checked_sub(1);
        while let Some(s) = at {
            if out.contains(&s) {
                break;
            }
            out.push(s);
            at = self.stages[s].parent;
        }
        out
    }

    /// The instructions of these stages, in order.
    fn in_stages<'m>(&'m self, stages: &'m [usize]) -> impl Iterator<Item = (usize, &'m Instruction)> + 'm {
        self.ins.iter().enumerate().filter(move |(k, _)| self.state[*k].stage.is_some_and(|s| stages.contains(&s)))
    }

    /// The final image's working directory.
    fn final_workdir(&self) -> Option<&str> {
        self.end.last().map(|s| s.workdir.as_str())
    }

    /// The commands of a RUN (its shell form, its exec form, its heredoc script), with ranges of
    /// the instruction's arguments or of a heredoc body.
    fn run_commands(&self, k: usize) -> Vec<(Command, &Text)> {
        let i = &self.ins[k];
        let (_, at) = flags(&i.args.text);
        let rest = &i.args.text[at..];
        if let Some(argv) = exec_form(rest, at) {
            let mut out = vec![(Command { words: argv.clone(), writes: vec![] }, &i.args)];
            if let Some(script) = shell_script(&argv) {
                let map = if i.args.text[script.span.clone()] == script.text { Map::Shift(script.span.start) } else { Map::Whole(script.span.clone()) };
                let mut nested = Vec::new();
                nested_commands(&script.text, &map, &mut nested, 1);
                out.extend(nested.into_iter().map(|c| (c, &i.args)));
            }
            return out;
        }
        let mut out: Vec<(Command, &Text)> = Vec::new();
        for c in commands(rest) {
            let shift = |w: &Word| Word { text: w.text.clone(), span: w.span.start + at..w.span.end + at };
            out.push((Command { words: c.words.iter().map(shift).collect(), writes: c.writes.iter().map(shift).collect() }, &i.args));
        }
        // `RUN <<EOF` (or `RUN bash <<EOF`): the heredoc is the script. Otherwise its body is
        // data for the command.
        let head: Vec<&str> = rest.split_whitespace().filter(|w| !w.starts_with("<<")).collect();
        if head.is_empty() || (head.len() == 1 && matches!(basename(head[0]), "sh" | "bash" | "dash" | "ash")) {
            for body in &i.heredocs {
                out.extend(commands(&body.text).into_iter().map(|c| (c, body)));
            }
        }
        out
    }

    /// A finding about the source bytes `span`.
    fn finding(&self, code: &'static str, field: &'static str, span: Range<usize>, label: impl Into<String>, message: String, hint: String) -> Finding {
        let start = span.start.min(self.source.len());
        let line_start = self.source[..start].rfind('\n').map_or(0, |n| n + 1);
        let line = self.source[..start].matches('\n').count() + 1;
        let column = self.source[line_start..start].chars().count() + 1;
        Finding { code, field, message, hint, label: label.into(), span, line, column }
    }
}

/// COPY's sources and destination, in shell or exec form.
fn copy_operands(text: &str, base: usize) -> Option<(Vec<Word>, Word)> {
    let mut words = exec_form(text, base).unwrap_or_else(|| plain_words(text, base));
    let dest = words.pop()?;
    (!words.is_empty()).then_some((words, dest))
}

/// What copying the context path `src` to `dest` puts where.
fn copied(src: &str, dest: &str, into_dir: bool) -> Vec<Copied> {
    let src_is_dir = src.ends_with('/') || src.ends_with("/.");
    let Some(src) = context_path(src) else { return vec![] };
    let name = src.rsplit('/').next().unwrap_or(&src).to_string();
    let src_dir = src.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string());
    if name.contains(['*', '?', '[']) {
        return vec![Copied::Glob { dir: dest.to_string(), pattern: name, src_dir }];
    }
    let mut out = Vec::new();
    if !name.is_empty() {
        out.push(Copied::File { dest: resolve(dest, &name), src: src.clone() });
        if !into_dir {
            out.push(Copied::File { dest: dest.to_string(), src: src.clone() });
        }
    }
    // A folder's content: the whole context, a source named with a slash, or a name without
    // an extension.
    if name.is_empty() || src_is_dir || !name.trim_start_matches('.').contains('.') {
        out.push(Copied::Dir { dest: dest.to_string(), src });
    }
    out
}

/// The context paths an image path may have come from, most likely first.
fn origins(copied: &[Copied], path: &str) -> Vec<String> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for c in copied.iter().rev() {
        match c {
            Copied::File { dest, src } if dest == path => files.push(src.clone()),
            Copied::Glob { dir, pattern, src_dir } => {
                if let Some((parent, name)) = path.rsplit_once('/') {
                    let parent = if parent.is_empty() { "/" } else { parent };
                    if parent == dir && wildcard(pattern, name) {
                        files.extend(context_join(src_dir, name));
                    }
                }
            }
            Copied::Dir { dest, src } if under(path, dest) && path != dest => {
                let rel = if dest == "/" { &path[1..] } else { &path[dest.len() + 1..] };
                dirs.extend(context_join(src, rel));
            }
            _ => {}
        }
    }
    let mut seen = BTreeSet::new();
    files.into_iter().chain(dirs).filter(|p| seen.insert(p.clone())).collect()
}

// ---------------------------------------------------------------------------------------------
// What the Dockerfile installs.

/// A command that installs Python packages, and what it installs from.
#[derive(Debug)]
enum Install {
    /// `pip install ...`: the words of its options and arguments (after `install`); `sync` for
    /// `uv pip sync` and `pip-sync`, whose arguments are requirements files.
    Pip { args: Vec<Word>, sync: bool },
    /// `poetry install`, `uv sync`, `pipenv install`...: the project in the working directory.
    Project,
    /// `conda env create -f FILE` and the like: the files named.
    CondaFiles(Vec<Word>),
    /// A script or `make`: it may install anything.
    Unknown,
}

/// Whether `words` (a command's, after wrappers) is pip, and where its own arguments start.
fn pip_args(words: &[Word]) -> Option<usize> {
    let name = basename(&words.first()?.text);
    let is_pip = |n: &str| n == "pip" || n.strip_prefix("pip").is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    let is_python = |n: &str| n == "python" || n.strip_prefix("python").is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if is_pip(name) {
        return Some(1);
    }
    if is_python(name) {
        let mut i = 1;
        while i < words.len() {
            let w = words[i].text.as_str();
            if w == "-m" {
                return words.get(i + 1).filter(|m| is_pip(&m.text)).map(|_| i + 2);
            }
            if let Some(m) = w.strip_prefix("-m") {
                return is_pip(m).then_some(i + 1);
            }
            if !w.starts_with('-') {
                return None;
            }
            i += 1;
        }
    }
    if name == "uv" && words.get(1).map(|w| w.text.as_str()) == Some("pip") {
        return Some(2);
    }
    None
}

/// pip's options (global or of `install`) that take a value as the next word.
const PIP_VALUE_OPTIONS: &[&str] = &[
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-t", "--target", "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--prefix", "--root",
    "--platform", "--python-version", "--implementation", "--abi", "--only-binary", "--no-binary", "--progress-bar", "--src", "--upgrade-strategy", "--cache-dir", "--trusted-host",
    "--proxy", "--timeout", "--retries", "--log", "--global-option", "--config-settings", "-C", "--exists-action", "--cert", "--client-cert", "--python", "--report", "--root-user-action",
    "-p", "--python-platform", "--group",
];

/// What a command installs, if it is an installer.
fn install(words: &[Word]) -> Option<Install> {
    let first = basename(&words.first()?.text);
    if let Some(at) = pip_args(words) {
        let mut i = at;
        while i < words.len() {
            let w = words[i].text.as_str();
            if w == "install" || w == "sync" {
                return Some(Install::Pip { args: words[i + 1..].to_vec(), sync: w == "sync" });
            }
            if !w.starts_with('-') {
                return None;
            }
            i += if PIP_VALUE_OPTIONS.contains(&w) { 2 } else { 1 };
        }
        return None;
    }
    let sub = words.get(1).map(|w| w.text.as_str());
    match (first, sub) {
        ("pip-sync", _) => Some(Install::Pip { args: words[1..].to_vec(), sync: true }),
        ("poetry", Some("install")) | ("uv", Some("sync")) | ("pipenv", Some("install" | "sync")) | ("pdm", Some("install" | "sync")) | ("hatch", Some("env")) | ("rye", Some("sync")) => Some(Install::Project),
        ("conda" | "mamba" | "micromamba", _) => {
            let files: Vec<Word> = words.windows(2).filter(|p| matches!(p[0].text.as_str(), "-f" | "--file")).map(|p| p[1].clone()).collect();
            (!files.is_empty()).then_some(Install::CondaFiles(files))
        }
        ("make", _) => Some(Install::Unknown),
        (n, _) if n.ends_with(".sh") => Some(Install::Unknown),
        ("sh" | "bash" | "dash", Some(s)) if !s.starts_with('-') => Some(Install::Unknown),
        _ => None,
    }
}

/// The files a pip install reads requirements from, and the local projects it installs.
/// `sync` (`uv pip sync FILE`) takes requirements files as its arguments. A `file:` URL is a
/// local project that is not followed: `unknown`.
fn pip_sources(args: &[Word], sync: bool) -> (Vec<Word>, Vec<Word>, bool) {
    let (mut files, mut projects, mut unknown) = (Vec::new(), Vec::new(), false);
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        let t = w.text.as_str();
        let value = |i: usize| args.get(i + 1).cloned();
        if t == "-r" || t == "--requirement" {
            files.extend(value(i));
            i += 2;
            continue;
        }
        if let Some(v) = t.strip_prefix("--requirement=").or_else(|| t.strip_prefix("-r").filter(|v| !v.is_empty())) {
            let skip = w.text.len() - v.len();
            files.push(Word { text: v.to_string(), span: w.span.start + skip.min(w.span.len())..w.span.end });
            i += 1;
            continue;
        }
        if t == "-e" || t == "--editable" {
            if let Some(v) = value(i) {
                match local_project(&v) {
                    Some(p) => projects.push(p),
                    None => unknown |= v.text.contains("file:"),
                }
            }
            i += 2;
            continue;
        }
        if t.starts_with('-') {
            i += if PIP_VALUE_OPTIONS.contains(&t) { 2 } else { 1 };
            continue;
        }
        if sync {
            files.push(w.clone());
        } else if t.contains("file:") {
            unknown = true;
        } else if let Some(p) = local_project(w).filter(|_| !t.ends_with(".whl") && !t.ends_with(".tar.gz") && !t.ends_with(".zip")) {
            projects.push(p);
        }
        i += 1;
    }
    (files, projects, unknown)
}

/// A local project's folder (`.`, `./pkg[extra]`, `/src`), without its extras.
fn local_project(w: &Word) -> Option<Word> {
    let t = w.text.split('[').next().unwrap_or(&w.text);
    let local = !t.contains("://") && !t.contains(['=', '<', '>', '@']) && (t == "." || t.starts_with("./") || t.starts_with("../") || t.starts_with('/') || t.starts_with('$'));
    local.then(|| Word { text: t.to_string(), span: w.span.clone() })
}

/// The files of a project folder that declare its dependencies.
const PROJECT_FILES: &[&str] = &["pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "Pipfile.lock", "poetry.lock", "uv.lock", "pdm.lock", "requirements.txt"];

/// Names awslambdaric, outside comments.
fn names_ric(text: &str) -> bool {
    text.lines().map(|l| l.trim_start()).filter(|l| !l.starts_with('#')).any(|l| {
        let l = l.to_ascii_lowercase().replace('_', "-");
        l.contains("awslambdaric") || l.contains("aws-lambda-python-runtime-interface-client")
    })
}

/// The requirements files a requirements file includes (`-r other.txt`), relative to the
/// context.
fn nested_requirements(path: &str, text: &str) -> Vec<String> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    text.lines()
        .filter_map(|l| {
            let l = l.split(" #").next().unwrap_or(l).trim();
            let rest = l.strip_prefix("--requirement").or_else(|| l.strip_prefix("-r"))?;
            let rest = rest.trim_start_matches(['=', ' ', '\t']).trim();
            (!rest.is_empty() && !rest.contains("://")).then(|| context_join(dir, rest)).flatten()
        })
        .collect()
}

/// Whether the first of these candidate files that is at hand names awslambdaric, collecting
/// the files wanted.
type FirstOf<'a> = dyn Fn(&[String], &mut Vec<String>) -> Option<bool> + 'a;

/// What the Dockerfile's installs tell about awslambdaric.
#[derive(Debug)]
struct Installs {
    /// Some install names it (or a requirements file it reads does).
    names_ric: bool,
    /// Some install reads files that could not be read, or runs a script.
    unknown: bool,
    /// Where the final image's last install is (instruction, range, 0 for the arguments or
    /// 1 + the heredoc): its requirements file's word when it reads one, else the command.
    /// Installs that read requirements files come first.
    last_in_final: Option<(usize, Range<usize>, usize)>,
    last_requirements_in_final: Option<(usize, Range<usize>, usize)>,
    /// The context files worth reading.
    wanted: Vec<String>,
}

impl Model<'_> {
    fn installs(&self, files: &BTreeMap<String, String>) -> Installs {
        let chain = self.chain();
        let mut out = Installs { names_ric: false, unknown: false, last_in_final: None, last_requirements_in_final: None, wanted: Vec::new() };
        // A requirements file (and those it includes): whether it names awslambdaric; `None` when
        // one of them is not at hand.
        fn requirements(path: &str, files: &BTreeMap<String, String>, wanted: &mut Vec<String>, depth: usize) -> Option<bool> {
            wanted.push(path.to_string());
            let text = files.get(path)?;
            if names_ric(text) {
                return Some(true);
            }
            // A local project or a file URL in it (`-e .`, `./pkg`) declares more than the file shows.
            let mut known = !text.lines().map(str::trim).any(|l| l.starts_with("-e") || l.starts_with("--editable") || l.starts_with('.') || l.starts_with('/') || l.contains("file:"));
            for nested in nested_requirements(path, text) {
                match depth.checked_sub(1).and_then(|d| requirements(&nested, files, wanted, d)) {
                    Some(true) => return Some(true),
                    Some(false) => {}
                    None => known = false,
                }
            }
            known.then_some(false)
        }
        // The first of these candidates that is at hand.
        let first = |candidates: &[String], wanted: &mut Vec<String>| -> Option<bool> {
            let mut result = None;
            for c in candidates {
                let r = requirements(c, files, wanted, 4);
                if result.is_none() {
                    result = r;
                }
            }
            result
        };
        for k in 0..self.ins.len() {
            if self.ins[k].keyword != "RUN" || self.state[k].stage.is_none() {
                continue;
            }
            let st = &self.state[k];
            let in_final = st.stage.is_some_and(|s| chain.contains(&s));
            let all_text = std::iter::once(&self.ins[k].args.text).chain(self.ins[k].heredocs.iter().map(|h| &h.text));
            if all_text.into_iter().any(|t| names_ric(t)) {
                out.names_ric = true;
            }
            let origin = |w: &Word| -> Vec<String> {
                match expand(&w.text, &st.vars) {
                    Some(p) => origins(&st.copied, &resolve(&st.workdir, &p)),
                    None => Vec::new(),
                }
            };
            for (c, text) in self.run_commands(k) {
                let words = &c.words[command_start(&c.words)..];
                let Some(inst) = install(words) else { continue };
                let inst_kind = match inst {
                    Install::Pip { .. } => 0,
                    Install::Project => 1,
                    Install::CondaFiles(_) => 2,
                    Install::Unknown => 3,
                };
                let text_index = if std::ptr::eq(text, &self.ins[k].args) { 0 } else { 1 + self.ins[k].heredocs.iter().position(|h| std::ptr::eq(h, text)).unwrap_or(0) };
                let mut mark = words.first().zip(words.last()).map(|(a, b)| a.span.start..b.span.end);
                let mut reads_files = false;
                match inst {
                    Install::Pip { args, sync } => {
                        let (reqs, projects, unknown) = pip_sources(&args, sync);
                        out.unknown |= unknown;
                        if let Some(r) = reqs.first().or(projects.first()) {
                            mark = Some(r.span.clone());
                            reads_files = true;
                        }
                        for r in &reqs {
                            match first(&origin(r), &mut out.wanted) {
                                Some(true) => out.names_ric = true,
                                Some(false) => {}
                                None => out.unknown = true,
                            }
                        }
                        for p in &projects {
                            let dir = expand(&p.text, &st.vars).map(|d| resolve(&st.workdir, &d));
                            self.project(dir.as_deref(), st, &mut out, &first);
                        }
                    }
                    Install::Project => self.project(Some(&st.workdir), st, &mut out, &first),
                    Install::CondaFiles(fs) => {
                        for f in &fs {
                            match first(&origin(f), &mut out.wanted) {
                                Some(true) => out.names_ric = true,
                                Some(false) => {}
                                None => out.unknown = true,
                            }
                        }
                    }
                    Install::Unknown => out.unknown = true,
                }
                if let (true, Some(m)) = (in_final, mark) {
                    if reads_files || matches!(inst_kind, 1 | 2) {
                        out.last_requirements_in_final = Some((k, m.clone(), text_index));
                    }
                    out.last_in_final = Some((k, m, text_index));
                }
            }
        }
        out
    }

    /// A project folder's dependency files: awslambdaric named in one of them, or unknown.
    fn project(&self, dir: Option<&str>, st: &State, out: &mut Installs, first: &FirstOf) {
        let Some(dir) = dir else {
            out.unknown = true;
            return;
        };
        let mut any = false;
        for name in PROJECT_FILES {
            match first(&origins(&st.copied, &resolve(dir, name)), &mut out.wanted) {
                Some(true) => {
                    out.names_ric = true;
                    any = true;
                }
                Some(false) => any = true,
                None => {}
            }
        }
        if !any {
            out.unknown = true;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// The build context's files (relative paths) the checks would read: the requirements and
/// project files the Dockerfile installs from, given those already read (`files`, which may
/// name more). Read those that exist and ask again until nothing new is wanted.
pub fn wanted_files(dockerfile: &str, settings: &Settings, files: &BTreeMap<String, String>) -> Vec<String> {
    if !needs_ric(settings) {
        return Vec::new();
    }
    let m = Model::new(dockerfile, settings);
    let mut seen = BTreeSet::new();
    m.installs(files).wanted.into_iter().filter(|p| seen.insert(p.clone())).collect()
}

fn needs_ric(settings: &Settings) -> bool {
    settings.entry_point.iter().any(|s| s.contains("awslambdaric"))
}

/// Every finding, in the order of the Dockerfile's lines.
pub fn check(dockerfile: &str, settings: &Settings, files: &BTreeMap<String, String>) -> Vec<Finding> {
    let m = Model::new(dockerfile, settings);
    let mut out = Vec::new();
    pip_user(&m, settings, &mut out);
    runtime_client(&m, settings, files, &mut out);
    unreadable(&m, settings, &mut out);
    writes(&m, &mut out);
    platform(&m, settings, &mut out);
    out.sort_by(|a, b| a.span.start.cmp(&b.span.start).then(a.code.cmp(b.code)));
    out.dedup_by(|a, b| a.span == b.span && a.code == b.code);
    out
}

/// 1. `pip install --user`, or `ENV PIP_USER=1`, in the final image (or in a stage whose
///    `~/.local` it copies).
fn pip_user(m: &Model, settings: &Settings, out: &mut Vec<Finding>) {
    let mut stages = m.chain();
    for (_, i) in m.in_stages(&m.chain()) {
        if !matches!(i.keyword.as_str(), "COPY" | "ADD") {
            continue;
        }
        let (fl, at) = flags(&i.args.text);
        let Some(from) = flag(&fl, "from") else { continue };
        let copies_local = copy_operands(&i.args.text[at..], at).is_some_and(|(srcs, _)| srcs.iter().any(|s| s.text.contains(".local")));
        let from_stage = from.value.parse::<usize>().ok().filter(|n| *n < m.stages.len()).or_else(|| m.stages.iter().position(|s| s.name.as_deref() == Some(from.value.to_ascii_lowercase().as_str())));
        if let (true, Some(s)) = (copies_local, from_stage) {
            stages.push(s);
        }
    }
    let wd = &settings.working_directory;
    let hint = format!("install system-wide (leave out `--user`), or into a virtual environment or a `--target` folder under {wd} on PYTHONPATH");
    let message = "`pip install --user` puts the packages in the build user's home (~/.local): Lambda runs the image as another user, with no HOME, and Python will not find them".to_string();
    // `PYTHONUSERBASE` outside /root names where --user installs go, and Python looks there
    // whatever the user and HOME.
    let user_base_set = |vars: &HashMap<String, String>| vars.get("PYTHONUSERBASE").is_some_and(|b| b.starts_with('/') && !under(&resolve("/", b), "/root") && !under(&resolve("/", b), "/home"));
    for (k, i) in m.in_stages(&stages) {
        let stage_end = m.state[k].stage.and_then(|s| m.end.get(s));
        if user_base_set(&m.state[k].vars) || stage_end.is_some_and(|e| user_base_set(&e.vars)) {
            continue;
        }
        match i.keyword.as_str() {
            "RUN" => {
                for (c, text) in m.run_commands(k) {
                    let words = &c.words[command_start(&c.words)..];
                    let Some(Install::Pip { args, .. }) = install(words) else { continue };
                    if let Some(u) = args.iter().find(|w| w.text == "--user") {
                        out.push(m.finding("pip-user", "image.dockerfile", text.source_span(&u.span), "installs into the build user's ~/.local", message.clone(), hint.clone()));
                    }
                }
            }
            "ENV" => {
                for (name, value, span) in assignments(&i.args.text, true) {
                    if name == "PIP_USER" && value.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")) {
                        out.push(m.finding("pip-user", "image.dockerfile", i.args.source_span(&span),
                            "every pip install is --user",
                            "`PIP_USER` makes every `pip install` a `--user` install, into the build user's home (~/.local): Lambda runs the image as another user, with no HOME, and Python will not find the packages".into(),
                            format!("remove `PIP_USER`, and install system-wide, or into a virtual environment or a `--target` folder under {wd} on PYTHONPATH"),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

/// 2. `lambda.entry_point` runs awslambdaric, which nothing installs, on a base that is not an
///    AWS Lambda base image.
fn runtime_client(m: &Model, settings: &Settings, files: &BTreeMap<String, String>, out: &mut Vec<Finding>) {
    if !needs_ric(settings) {
        return;
    }
    let chain = m.chain();
    let Some(&root) = chain.last() else { return };
    let stage = &m.stages[root];
    let Some(image) = &stage.image else { return };
    if is_lambda_base(image) {
        return;
    }
    let installs = m.installs(files);
    if installs.names_ric || installs.unknown {
        return;
    }
    let message = format!("`lambda.entry_point` runs awslambdaric, but this image does not install it: neither the Dockerfile nor the requirements it installs name `awslambdaric`, and `{image}` is not an AWS Lambda base image");
    let hint = "add `awslambdaric` to the requirements the image installs (or `RUN pip install awslambdaric`), or set `lambda.entry_point` to the runtime interface client the image has".to_string();
    let f = match installs.last_requirements_in_final.or(installs.last_in_final) {
        Some((k, span, text_index)) => {
            let i = &m.ins[k];
            let text = if text_index == 0 { &i.args } else { &i.heredocs[text_index - 1] };
            m.finding("runtime-client", "lambda.entry_point", text.source_span(&span), "installs no `awslambdaric`", message, hint)
        }
        None => m.finding("runtime-client", "lambda.entry_point", m.ins[stage.from].args.source_span(&stage.image_span), "no runtime interface client in this image", message, hint),
    };
    out.push(f);
}

/// A mode that leaves others without read access: `700`, `0640`, `go-r`, `o=`...
fn restrictive(mode: &str) -> bool {
    if !mode.is_empty() && mode.chars().all(|c| c.is_ascii_digit()) {
        return mode.len() >= 3 && mode.len() <= 4 && mode.chars().all(|c| c < '8') && mode.bytes().last().is_some_and(|d| (d - b'0') & 4 == 0);
    }
    mode.split(',').any(|clause| {
        let who_len = clause.find(|c: char| !matches!(c, 'u' | 'g' | 'o' | 'a')).unwrap_or(clause.len());
        let (who, ops) = clause.split_at(who_len);
        let others = who.is_empty() || who.contains(['o', 'a']);
        if !others || ops.is_empty() {
            return false;
        }
        // Each operator with its permissions: `-r`, `=rx`...
        let mut restrict = false;
        let mut rest = ops;
        while let Some(op) = rest.chars().next() {
            if !matches!(op, '-' | '+' | '=') {
                return false;
            }
            let perms_len = rest[1..].find(['-', '+', '=']).map_or(rest.len() - 1, |n| n);
            let perms = &rest[1..1 + perms_len];
            if !perms.chars().all(|c| "rwxXstugo".contains(c)) {
                return false;
            }
            restrict |= (op == '-' && perms.contains('r')) || (op == '=' && !perms.contains('r') && !perms.contains(['u', 'g', 'o']));
            rest = &rest[1 + perms_len..];
        }
        restrict
    })
}

/// A chmod's mode and targets.
fn chmod(words: &[Word]) -> Option<(&Word, Vec<&Word>)> {
    if basename(&words.first()?.text) != "chmod" {
        return None;
    }
    let options = ["-R", "-c", "-f", "-v", "-H", "-L", "-P", "--recursive", "--changes", "--silent", "--quiet", "--verbose", "--no-preserve-root", "--preserve-root"];
    let mut mode = None;
    let mut targets = Vec::new();
    for w in &words[1..] {
        let t = w.text.as_str();
        if t.starts_with("--reference") {
            return None;
        }
        if options.contains(&t) || (t.starts_with('-') && t.len() > 1 && t[1..].chars().all(|c| "RcfvHLP".contains(c))) {
            continue;
        }
        if mode.is_none() {
            mode = Some(w);
        } else {
            targets.push(w);
        }
    }
    Some((mode?, targets))
}

/// 3. Files Lambda's user cannot read: restrictive modes on the app's files, files under /root.
fn unreadable(m: &Model, settings: &Settings, out: &mut Vec<Finding>) {
    let chain = m.chain();
    let wd = resolve("/", &settings.working_directory);
    let mut apps = vec![wd.clone()];
    if let Some(w) = m.final_workdir() {
        if w != "/" && !apps.iter().any(|a| a == w) {
            apps.push(w.to_string());
        }
    }
    let touches = |p: &str| apps.iter().any(|a| under(p, a) || under(a, p));
    let shown = |p: &str| if p.starts_with(UNKNOWN_DIR) { None } else { Some(p.to_string()) };
    let hint = "keep the function's files readable by all (`chmod -R a+rX`, modes 755 and 644): Lambda runs the image as a user of its own, neither root nor the Dockerfile's USER, so owner and group modes do not help it".to_string();
    let mut root_flagged = BTreeSet::new();
    for (k, i) in m.in_stages(&chain) {
        let st = &m.state[k];
        match i.keyword.as_str() {
            "RUN" => {
                for (c, text) in m.run_commands(k) {
                    let words = &c.words[command_start(&c.words)..];
                    let Some((mode, targets)) = chmod(words) else { continue };
                    if !restrictive(&mode.text) {
                        continue;
                    }
                    let hit = targets.iter().find_map(|t| {
                        let p = resolve(&st.workdir, &expand(&t.text, &st.vars)?);
                        touches(&p).then_some((*t, p))
                    });
                    if let Some((t, p)) = hit {
                        let span = words[0].span.start..t.span.end;
                        let place = shown(&p).map_or_else(|| format!("`{}`", t.text), |p| format!("`{p}`"));
                        out.push(m.finding("unreadable-files", "image.dockerfile", text.source_span(&span),
                            "others cannot read",
                            format!("`chmod {}` leaves {place} unreadable to other users: Lambda runs the image as a user of its own, who cannot read the function's files", mode.text),
                            hint.clone(),
                        ));
                    }
                }
            }
            "COPY" | "ADD" => {
                let (fl, at) = flags(&i.args.text);
                let Some((_, dest)) = copy_operands(&i.args.text[at..], at) else { continue };
                let Some(dest_path) = expand(&dest.text, &st.vars).map(|d| resolve(&st.workdir, &d)) else { continue };
                if let Some(mode) = flag(&fl, "chmod").filter(|f| restrictive(&f.value)) {
                    if touches(&dest_path) {
                        let place = shown(&dest_path).unwrap_or_else(|| dest.text.clone());
                        out.push(m.finding("unreadable-files", "image.dockerfile", i.args.source_span(&mode.span),
                            "others cannot read",
                            format!("`--chmod={}` leaves the files copied to `{place}` unreadable to other users: Lambda runs the image as a user of its own, who cannot read them", mode.value),
                            hint.clone(),
                        ));
                    }
                }
                let stage = st.stage.unwrap_or(0);
                if under(&dest_path, "/root") && root_flagged.insert(stage) {
                    let how = if dest.text.starts_with('/') { String::new() } else { format!(" (WORKDIR {})", st.workdir) };
                    out.push(m.finding("unreadable-files", "image.dockerfile", i.args.source_span(&dest.span),
                        "Lambda's user cannot read /root",
                        format!("files are copied to `{dest_path}`{how}: /root is readable by root alone, and Lambda runs the image as a user of its own, not root"),
                        format!("put the function's files in a folder of their own, such as `{}` (`lambda.working_directory`), and install packages system-wide", if under(&wd, "/root") { "/app" } else { wd.as_str() }),
                    ));
                }
            }
            _ => {}
        }
    }
}

/// What a command writes: redirections, and the files `mkdir`, `touch`, `tee`, `cp`, `mv`,
/// `ln` and `install` make.
fn written(c: &Command) -> Vec<&Word> {
    let mut out: Vec<&Word> = c.writes.iter().collect();
    let words = &c.words[command_start(&c.words)..];
    let Some(first) = words.first() else { return out };
    let args: Vec<&Word> = words[1..].iter().collect();
    let operands = |value_opts: &[&str]| {
        let mut ops = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let t = args[i].text.as_str();
            if value_opts.contains(&t) {
                i += 2;
                continue;
            }
            if !t.starts_with('-') || t == "-" {
                ops.push(args[i]);
            }
            i += 1;
        }
        ops
    };
    match basename(&first.text) {
        "mkdir" => out.extend(operands(&["-m", "--mode"])),
        "touch" => out.extend(operands(&["-d", "-r", "-t", "--date", "--reference"])),
        "tee" => out.extend(operands(&[])),
        "cp" | "mv" | "ln" | "install" | "rsync" => {
            let target = args.windows(2).find(|p| matches!(p[0].text.as_str(), "-t" | "--target-directory")).map(|p| p[1]);
            let target = target.or_else(|| args.iter().find_map(|w| w.text.strip_prefix("--target-directory=").map(|_| *w)));
            match target {
                Some(t) => out.push(t),
                None => {
                    let ops = operands(&["-m", "--mode", "-o", "-g", "-S", "--suffix", "-e"]);
                    if ops.len() >= 2 {
                        out.extend(ops.last());
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// Paths that are no file of the image.
fn is_device(p: &str) -> bool {
    p == "-" || p.starts_with("/dev/") || p.starts_with("/proc/") || p.starts_with("&")
}

/// 4. The start-up command writes outside /tmp; a VOLUME outside /tmp.
fn writes(m: &Model, out: &mut Vec<Finding>) {
    let chain = m.chain();
    let Some(st) = m.end.last() else { return };
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (k, i) in m.in_stages(&chain) {
        if matches!(i.keyword.as_str(), "CMD" | "ENTRYPOINT") {
            last.insert(if i.keyword == "CMD" { "CMD" } else { "ENTRYPOINT" }, k);
        }
    }
    let mut starts: Vec<(&str, usize)> = last.into_iter().collect();
    starts.sort_by_key(|(_, k)| *k);
    for (keyword, k) in starts {
        let i = &m.ins[k];
        let cmds = match exec_form(&i.args.text, 0) {
            Some(argv) => {
                let start = command_start(&argv);
                let Some(script) = shell_script(&argv[start..]) else { continue };
                let map = if i.args.text[script.span.clone()] == script.text { Map::Shift(script.span.start) } else { Map::Whole(script.span.clone()) };
                let mut nested = Vec::new();
                nested_commands(&script.text, &map, &mut nested, 1);
                nested
            }
            None => commands(&i.args.text),
        };
        let mut targets: Vec<(String, Range<usize>)> = Vec::new();
        for c in &cmds {
            for w in written(c) {
                let Some(p) = expand(&w.text, &st.vars) else { continue };
                if p.is_empty() || is_device(&p) {
                    continue;
                }
                let path = resolve(&st.workdir, &p);
                if !under(&path, "/tmp") && !targets.iter().any(|(t, _)| *t == path) {
                    targets.push((path, w.span.clone()));
                }
            }
        }
        let Some((_, span)) = targets.first() else { continue };
        let names = targets.iter().map(|(t, _)| if t.starts_with(UNKNOWN_DIR) { "the working directory".to_string() } else { format!("`{t}`") }).collect::<Vec<_>>().join(", ");
        out.push(m.finding(
            "writes-outside-tmp",
            "image.dockerfile",
            i.args.source_span(span),
            "not writable on Lambda",
            format!("the image's {keyword} writes to {names} at start-up: on Lambda only /tmp is writable, and Lambda runs `lambda.entry_point` and `lambda.command` instead of the image's {keyword}"),
            "write under /tmp at run time (a path from an environment variable, /tmp on Lambda), and make what only has to exist with `RUN` at build time".into(),
        ));
    }
    for (k, i) in m.in_stages(&chain) {
        if i.keyword != "VOLUME" {
            continue;
        }
        let st = &m.state[k];
        let words = exec_form(&i.args.text, 0).unwrap_or_else(|| plain_words(&i.args.text, 0));
        for w in words {
            let Some(p) = expand(&w.text, &st.vars) else { continue };
            let path = resolve(&st.workdir, &p);
            if under(&path, "/tmp") || path.starts_with(UNKNOWN_DIR) {
                continue;
            }
            out.push(m.finding("writes-outside-tmp", "image.dockerfile", i.args.source_span(&w.span),
                "read-only on Lambda",
                format!("`VOLUME {path}` is a folder written at run time: on Lambda it is part of the read-only image, and only /tmp is writable"),
                "write under /tmp on Lambda (a path from an environment variable), or keep the data in a service such as S3".into(),
            ));
        }
    }
}

/// 5. A base image of another architecture than `image.platform`.
fn platform(m: &Model, settings: &Settings, out: &mut Vec<Finding>) {
    let want = Arch::of(settings.platform);
    let want_name = settings.platform.as_str();
    let other = match settings.platform {
        Platform::Amd64 => "linux/arm64",
        Platform::Arm64 => "linux/amd64",
    };
    for s in m.chain() {
        let stage = &m.stages[s];
        let args = &m.ins[stage.from].args;
        if let Some(f) = &stage.platform {
            if let Some(value) = expand(&f.value, &m.globals) {
                let arch = Arch::of_platform(&value);
                if arch != want {
                    out.push(m.finding("image-platform", "image.platform", args.source_span(&f.span),
                        format!("{value}, not {want_name}"),
                        format!("`--platform={value}` builds the image from a {} base, but `image.platform` is {want_name}: the function and the task would fail with `exec format error`", arch_name(arch)),
                        if arch == Arch::Other {
                            format!("remove `--platform` (the build passes `--platform {want_name}`), or use `--platform=$TARGETPLATFORM`")
                        } else {
                            format!("remove `--platform` (the build passes `--platform {want_name}`) or use `--platform=$TARGETPLATFORM`; or set `image.platform: {other}`")
                        },
                    ));
                    continue;
                }
            }
        }
        let Some(image) = &stage.image else { continue };
        if let Some((arch, why)) = pinned_arch(image) {
            if arch != want {
                let fix = if is_lambda_base(image) {
                    let (_, _, tag) = image_parts(image);
                    let base = tag.rsplit_once('-').map_or("", |(b, _)| b).to_string();
                    if base.is_empty() {
                        "the tag without an architecture (a multi-platform image)".to_string()
                    } else {
                        format!("the tag without an architecture, `:{base}` (a multi-platform image)")
                    }
                } else {
                    "the multi-platform image (without the architecture's namespace)".to_string()
                };
                out.push(m.finding("image-platform", "image.platform", args.source_span(&stage.image_span),
                    format!("a {} image", arch_name(arch)),
                    format!("`{image}` is {why}, but `image.platform` is {want_name}: the function and the task would fail with `exec format error`"),
                    if arch == Arch::Other { format!("use {fix}") } else { format!("use {fix}, or set `image.platform: {other}`") },
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            platform: Platform::Amd64,
            entry_point: vec!["/usr/local/bin/python".into(), "-m".into(), "awslambdaric".into()],
            working_directory: "/app".into(),
            build_args: BTreeMap::new(),
        }
    }

    const REQUIREMENTS: &str = "boto3>=1.35,<2\nawslambdaric==3.1.1\n";

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect()
    }

    fn run_with(dockerfile: &str, s: &Settings, fs: &[(&str, &str)]) -> Vec<Finding> {
        check(dockerfile, s, &files(fs))
    }

    /// The findings' codes and underlined text.
    fn found(dockerfile: &str) -> Vec<(&'static str, String)> {
        found_with(dockerfile, &settings(), &[("requirements.txt", REQUIREMENTS)])
    }

    fn found_with(dockerfile: &str, s: &Settings, fs: &[(&str, &str)]) -> Vec<(&'static str, String)> {
        run_with(dockerfile, s, fs).into_iter().map(|f| (f.code, dockerfile[f.span].to_string())).collect()
    }

    fn example(name: &str) -> String {
        std::fs::read_to_string(format!("{}/examples/{name}/Dockerfile", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    const GOOD: &str = "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY app.py .\nCMD [\"python\", \"app.py\"]\n";

    #[test]
    fn the_examples_are_clean() {
        for name in ["sqs-worker", "sqs-event-worker"] {
            let text = example(name);
            assert_eq!(wanted_files(&text, &settings(), &BTreeMap::new()), vec!["requirements.txt".to_string()], "{name}");
            let reqs = std::fs::read_to_string(format!("{}/examples/{name}/requirements.txt", env!("CARGO_MANIFEST_DIR"))).unwrap();
            assert_eq!(run_with(&text, &settings(), &[("requirements.txt", &reqs)]), vec![], "{name}");
            let arm = Settings { platform: Platform::Arm64, ..settings() };
            assert_eq!(run_with(&text, &arm, &[("requirements.txt", &reqs)]), vec![], "{name}");
        }
        assert_eq!(found(GOOD), vec![]);
    }

    /// Dockerfiles of common shapes that are right for Lambda: no finding.
    const RIGHT: &[(&str, &str)] = &[
        (
            "multi-stage with a virtual environment",
            "# syntax=docker/dockerfile:1.7\nARG PY=3.12\nFROM python:${PY}-slim AS build\nRUN python -m venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\nCOPY requirements.txt /tmp/\nRUN --mount=type=cache,target=/root/.cache/pip \\\n    pip install -r /tmp/requirements.txt\n\nFROM python:${PY}-slim\nCOPY --from=build /opt/venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\" HOME=/tmp\nWORKDIR /app\nCOPY --chmod=644 app.py ./\nRUN useradd --no-create-home worker && chmod -R a+rX /app\nUSER worker\nENTRYPOINT [\"python\"]\nCMD [\"app.py\"]\n",
        ),
        (
            "uv with bind mounts",
            "FROM ghcr.io/astral-sh/uv:python3.12-bookworm-slim\nWORKDIR /app\nENV UV_COMPILE_BYTECODE=1 UV_PROJECT_ENVIRONMENT=/opt/venv\nRUN --mount=type=bind,source=uv.lock,target=uv.lock \\\n    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\\n    uv sync --frozen --no-install-project\nCOPY . /app\nCMD [\"/opt/venv/bin/python\", \"-m\", \"worker\"]\n",
        ),
        (
            "an AWS Lambda base image",
            "FROM public.ecr.aws/lambda/python:3.12\nCOPY requirements.txt ${LAMBDA_TASK_ROOT}\nRUN pip install -r requirements.txt\nCOPY app.py ${LAMBDA_TASK_ROOT}\nCMD [ \"app.handler\" ]\n",
        ),
        (
            "a start-up script that writes under /tmp",
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt \\\n && mkdir -p /app/data && chmod 755 /app/data\nVOLUME /tmp\nCMD set -e; mkdir -p /tmp/work; echo ok > /tmp/work/ready; exec python app.py 2>&1\n",
        ),
    ];

    #[test]
    fn common_right_dockerfiles_are_clean() {
        let fs = [("requirements.txt", REQUIREMENTS), ("uv.lock", "[[package]]\nname = \"awslambdaric\"\n"), ("pyproject.toml", "[project]\nname = \"w\"\n")];
        for (name, text) in RIGHT {
            assert_eq!(found_with(text, &settings(), &fs), vec![], "{name}");
        }
    }

    #[test]
    fn no_input_makes_it_panic() {
        let odd = [
            "",
            "\n\n# only a comment\n",
            "FROM",
            "FROM --platform=",
            "RUN",
            "RUN \\",
            "RUN <<EOF\npip install --user x",
            "RUN echo 'unterminated",
            "RUN echo \"unterminated $(x",
            "RUN echo ${",
            "RUN echo $",
            "RUN [\"sh\", \"-c\", \"echo \\\"é\\\" > /app/ü\"]",
            "CMD [\"sh\", \"-c\"]",
            "ENTRYPOINT [\"sh\", \"-c\", \"touch /ä && x\"",
            "FROM ü/ß:ö\nWORKDIR ../..\nCOPY\nCOPY a\nENV\nENV A\nARG\nVOLUME []\nRUN chmod\nRUN chmod 700\nRUN pip install -r\nRUN pip install -r\u{e9}",
            "FROM x AS\nFROM x AS a\nFROM a\nFROM b\nCOPY --from=9 /root/.local /root/.local\nCOPY --from= a b",
            "ONBUILD RUN pip install --user x\nFROM x\r\nRUN pip install --user \\\r\n  y\r\n",
        ];
        let mut inputs: Vec<String> = odd.iter().map(|s| s.to_string()).collect();
        for (_, text) in RIGHT {
            inputs.push(text.to_string());
        }
        inputs.push(example("sqs-worker"));
        let mut all = Vec::new();
        for text in &inputs {
            // Every truncation too.
            for (at, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
                all.push(text[..at].to_string());
            }
        }
        let fs = files(&[("requirements.txt", "-r requirements.txt\n-r ../x\n")]);
        for s in [settings(), Settings { platform: Platform::Arm64, ..settings() }] {
            for text in &all {
                for f in check(text, &s, &fs) {
                    assert!(f.span.start <= f.span.end && f.span.end <= text.len() && text.is_char_boundary(f.span.start) && text.is_char_boundary(f.span.end), "{f:?} in {text:?}");
                }
                let _ = wanted_files(text, &s, &fs);
            }
        }
    }

    // The parser.

    #[test]
    fn continuations_comments_and_case() {
        let text = "# syntax=docker/dockerfile:1\nfrom python:3.12\nrun apt-get update && \\\n  # a comment inside\n\n  pip install \\\n    --user boto3 awslambdaric\n";
        let ins = instructions(text);
        assert_eq!(ins.iter().map(|i| i.keyword.as_str()).collect::<Vec<_>>(), ["FROM", "RUN"]);
        assert_eq!(ins[1].args.text, "apt-get update &&   pip install     --user boto3 awslambdaric");
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

    #[test]
    fn shell_words_quotes_and_redirections() {
        let cmds = shell("a 'b c' \"d $E\" f\\ g >out 2>&1 && h >> \"l o g\" | i; j &>all");
        let words: Vec<Vec<&str>> = cmds.iter().map(|c| c.words.iter().map(|w| w.text.as_str()).collect()).collect();
        assert_eq!(words, vec![vec!["a", "b c", "d $E", "f g"], vec!["h"], vec!["i"], vec!["j"]]);
        let writes: Vec<Vec<&str>> = cmds.iter().map(|c| c.writes.iter().map(|w| w.text.as_str()).collect()).collect();
        assert_eq!(writes, vec![vec!["out"], vec!["l o g"], vec![], vec!["all"]]);
    }

    #[test]
    fn variables_expand_or_stay_unknown() {
        let vars: HashMap<String, String> = [("A".to_string(), "x".to_string()), ("E".to_string(), String::new())].into();
        assert_eq!(expand("$A/${A}/${B:-d}/${E:-e}/${E-f}/${A:+p}", &vars).as_deref(), Some("x/x/d/e//p"));
        assert_eq!(expand("$B", &vars), None);
        assert_eq!(expand("no vars", &vars).as_deref(), Some("no vars"));
    }

    #[test]
    fn modes() {
        for m in ["700", "600", "750", "640", "0700", "2750", "go-r", "o-r", "go-rwx", "o=", "u=rwx,go=", "a-r", "-r"] {
            assert!(restrictive(m), "{m}");
        }
        for m in ["755", "644", "0755", "555", "a+rX", "go-w", "u+x", "o=r", "+x", "o=u", "g-r"] {
            assert!(!restrictive(m), "{m}");
        }
    }

    // 1. pip install --user

    #[test]
    fn pip_user_is_found_in_its_forms() {
        for run in [
            "RUN pip install --user -r requirements.txt",
            "RUN pip3 install --no-cache-dir --user boto3 awslambdaric",
            "RUN python3.12 -m pip install --user boto3 awslambdaric",
            "RUN [\"pip\", \"install\", \"--user\", \"boto3\"]",
            "RUN sh -c 'pip install --user boto3'",
            "RUN set -eux; apt-get update && sudo -H pip install --user boto3",
        ] {
            let text = format!("FROM python:3.12\n{run}\nRUN pip install awslambdaric\n");
            assert_eq!(found(&text), vec![("pip-user", "--user".to_string())], "{run}");
        }
        let env = "FROM python:3.12\nENV PIP_USER=1 PYTHONUNBUFFERED=1\nRUN pip install -r requirements.txt\n";
        assert_eq!(found(env), vec![("pip-user", "PIP_USER=1".to_string())]);
        let home = "FROM python:3.12\nUSER app\nENV PYTHONUSERBASE=/home/app/.local\nRUN pip install --user boto3 awslambdaric\n";
        assert_eq!(found(home), vec![("pip-user", "--user".to_string())]);
    }

    #[test]
    fn pip_user_in_a_builder_stage_counts_only_when_its_local_is_copied() {
        let copied = "FROM python:3.12 AS build\nRUN pip install --user -r requirements.txt\nFROM python:3.12-slim\nCOPY --from=build /root/.local /root/.local\n";
        let found_copied = found(copied);
        assert!(found_copied.contains(&("pip-user", "--user".to_string())), "{found_copied:?}");
        let wheels = "FROM python:3.12 AS build\nRUN pip install --user build && pip wheel -w /wheels -r requirements.txt\nFROM python:3.12-slim\nCOPY --from=build /wheels /wheels\nRUN pip install /wheels/*.whl awslambdaric\n";
        assert_eq!(found(wheels), vec![]);
    }

    #[test]
    fn pip_user_negatives() {
        for run in [
            "RUN pip install --no-cache-dir -r requirements.txt",
            "RUN pip install --target /app/packages -r requirements.txt",
            "RUN useradd --user-group app && pip install -r requirements.txt",
            "RUN echo pip install --user && pip install -r requirements.txt",
            "# RUN pip install --user boto3\nRUN pip install -r requirements.txt",
            "ENV PIP_USER=0\nRUN pip install -r requirements.txt",
            "ENV PYTHONUSERBASE=/app/.local\nRUN pip install --user -r requirements.txt",
            "ENV PIP_USER=1\nENV PYTHONUSERBASE=/opt/python\nRUN pip install -r requirements.txt",
        ] {
            let text = format!("FROM python:3.12\nWORKDIR /app\nCOPY requirements.txt .\n{run}\n");
            assert_eq!(found(&text), vec![], "{run}");
        }
    }

    // 2. The runtime interface client.

    #[test]
    fn runtime_client_missing_from_requirements() {
        let s = settings();
        let fs = [("requirements.txt", "boto3\n# awslambdaric is not here\n")];
        assert_eq!(found_with(GOOD, &s, &fs), vec![("runtime-client", "requirements.txt".to_string())]);
        let f = &run_with(GOOD, &s, &fs)[0];
        assert_eq!((f.line, f.field), (4, "lambda.entry_point"));
        assert!(f.message.contains("`python:3.12-slim` is not an AWS Lambda base image"), "{}", f.message);
        assert!(f.hint.contains("lambda.entry_point") && f.hint.contains("awslambdaric"), "{}", f.hint);
    }

    #[test]
    fn runtime_client_with_no_install_points_at_from() {
        let text = "FROM python:3.12-slim\nWORKDIR /app\nCOPY app.py .\n";
        assert_eq!(found_with(text, &settings(), &[]), vec![("runtime-client", "python:3.12-slim".to_string())]);
    }

    #[test]
    fn runtime_client_found_where_it_is_installed() {
        let s = settings();
        let nested = [("requirements.txt", "-r requirements/base.txt\n"), ("requirements/base.txt", "awslambdaric>=3\n")];
        assert_eq!(found_with(GOOD, &s, &nested), vec![]);
        assert_eq!(found_with(GOOD, &s, &[("requirements.txt", "AWSLambdaRIC\n")]), vec![]);
        // A local project in the requirements declares more than the file shows.
        assert_eq!(found_with(GOOD, &s, &[("requirements.txt", "boto3\n-e .\n")]), vec![]);
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("FROM python:3.12\nRUN pip install boto3 awslambdaric\n", &[]),
            ("FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ${LAMBDA_TASK_ROOT}\n", &[]),
            ("FROM amazon/aws-lambda-python:3.12\n", &[]),
            ("ARG BASE=public.ecr.aws/lambda/python:3.12\nFROM $BASE\n", &[]),
            ("FROM python:3.12\nCOPY . /src\nRUN pip install /src\n", &[("pyproject.toml", "[project]\ndependencies = [\"awslambdaric\"]\n")]),
            ("FROM python:3.12\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen\n", &[("uv.lock", "name = \"awslambdaric\"\n")]),
            ("FROM python:3.12\nCOPY reqs/ /tmp/reqs/\nRUN pip install -r /tmp/reqs/prod.txt\n", &[("reqs/prod.txt", "awslambdaric\n")]),
            ("FROM python:3.12\nWORKDIR /app\nCOPY requirements*.txt ./\nRUN pip install -r requirements-prod.txt\n", &[("requirements-prod.txt", "awslambdaric\n")]),
            ("FROM python:3.12\nRUN --mount=type=bind,source=requirements.txt,target=/tmp/r.txt pip install -r /tmp/r.txt\n", &[("requirements.txt", "awslambdaric\n")]),
            ("FROM python:3.12 AS build\nRUN pip install --prefix /install awslambdaric\nFROM python:3.12-slim\nCOPY --from=build /install /usr/local\n", &[]),
            ("FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir \".[lambda]\"\n", &[("pyproject.toml", "[project.optional-dependencies]\nlambda = [\"awslambdaric\"]\n")]),
            ("FROM python:3.12\nWORKDIR /app\nCOPY requirements.lock .\nRUN uv pip sync --system requirements.lock\n", &[("requirements.lock", "awslambdaric==3.1.1\n")]),
        ];
        for (text, fs) in cases {
            assert_eq!(found_with(text, &s, fs), vec![], "{text}");
        }
    }

    #[test]
    fn runtime_client_unknown_means_no_finding() {
        let s = settings();
        for text in [
            // The requirements file is not at hand.
            GOOD,
            // An install script may install anything.
            "FROM python:3.12\nCOPY install.sh .\nRUN ./install.sh\n",
            // A requirements file made in the image.
            "FROM python:3.12\nWORKDIR /app\nCOPY pyproject.toml poetry.lock ./\nRUN poetry export -o requirements.txt && pip install -r requirements.txt\n",
            // The base image is a variable without a value.
            "ARG BASE\nFROM $BASE\n",
        ] {
            assert_eq!(found_with(text, &s, &[]), vec![], "{text}");
        }
        // An entry point of another runtime client: nothing to check.
        let other = Settings { entry_point: vec!["/lambda-entrypoint.sh".into()], ..settings() };
        assert_eq!(found_with("FROM python:3.12\n", &other, &[]), vec![]);
        assert_eq!(wanted_files(GOOD, &other, &BTreeMap::new()), Vec::<String>::new());
    }

    #[test]
    fn wanted_files_follow_copies_and_includes() {
        let s = settings();
        let text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements/prod.txt\n";
        assert_eq!(wanted_files(text, &s, &BTreeMap::new()), vec!["requirements/prod.txt".to_string()]);
        let read = files(&[("requirements/prod.txt", "-r base.txt\nboto3\n")]);
        assert_eq!(wanted_files(text, &s, &read), vec!["requirements/prod.txt".to_string(), "requirements/base.txt".to_string()]);
        let escape = "FROM python:3.12\nCOPY ../../etc/passwd /r.txt\nRUN pip install -r /r.txt\n";
        assert_eq!(wanted_files(escape, &s, &BTreeMap::new()), Vec::<String>::new());
    }

    // 3. Files Lambda's user cannot read.

    #[test]
    fn restrictive_modes_on_the_app() {
        let cases = [
            ("RUN chmod -R 700 /app", "chmod -R 700 /app"),
            ("RUN chmod 600 app.py", "chmod 600 app.py"),
            ("RUN chown -R app /app && chmod -R go-rwx .", "chmod -R go-rwx ."),
            ("RUN chmod 750 /", "chmod 750 /"),
            ("COPY --chmod=640 app.py .", "--chmod=640"),
        ];
        for (line, underlined) in cases {
            let text = format!("FROM python:3.12\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n{line}\n");
            assert_eq!(found(&text), vec![("unreadable-files", underlined.to_string())], "{line}");
        }
    }

    #[test]
    fn modes_elsewhere_or_readable_are_fine() {
        for line in ["RUN chmod 700 /etc/secret", "RUN chmod -R 755 /app", "RUN chmod +x app.py", "RUN chmod 600 /root/.netrc", "COPY --chmod=755 app.py .", "RUN find /app -type d -exec chmod 755 {} +"] {
            let text = format!("FROM python:3.12\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n{line}\n");
            assert_eq!(found(&text), vec![], "{line}");
        }
        // A stage that is not the image.
        let builder = "FROM python:3.12 AS build\nWORKDIR /app\nRUN chmod 700 /app\nFROM python:3.12\nWORKDIR /app\nRUN pip install awslambdaric\n";
        assert_eq!(found(builder), vec![]);
    }

    #[test]
    fn files_under_root() {
        let workdir = "FROM python:3.12\nWORKDIR /root\nCOPY . .\nRUN pip install awslambdaric\n";
        assert_eq!(found(workdir), vec![("unreadable-files", ".".to_string())]);
        let f = &run_with(workdir, &settings(), &[])[0];
        assert!(f.message.contains("`/root` (WORKDIR /root)"), "{}", f.message);
        let local = "FROM python:3.12\nRUN pip install awslambdaric\nCOPY --from=build /root/.local /root/.local\nCOPY app.py /root/app/\n";
        assert_eq!(found(local), vec![("unreadable-files", "/root/.local".to_string())]);
        let fine = "FROM python:3.12\nWORKDIR /root\nRUN pip install awslambdaric\nWORKDIR /app\nCOPY . .\n";
        assert_eq!(found(fine), vec![]);
    }

    // 4. Writes outside /tmp at start-up.

    #[test]
    fn start_up_writes_outside_tmp() {
        let cases = [
            ("CMD mkdir -p /app/logs && exec python app.py", "/app/logs"),
            ("ENTRYPOINT [\"sh\", \"-c\", \"echo started > /var/run/worker.pid; exec python app.py\"]", "/var/run/worker.pid"),
            ("CMD [\"/bin/bash\", \"-ec\", \"touch ready && python app.py\"]", "ready"),
            ("CMD python app.py 2>&1 | tee worker.log", "worker.log"),
            ("CMD cp config.default.json config.json && python app.py", "config.json"),
            ("VOLUME [\"/data\"]", "/data"),
        ];
        for (line, underlined) in cases {
            let text = format!("FROM python:3.12\nWORKDIR /app\nRUN pip install awslambdaric\n{line}\n");
            assert_eq!(found(&text), vec![("writes-outside-tmp", underlined.to_string())], "{line}");
        }
        let f = &run_with("FROM python:3.12\nWORKDIR /app\nRUN pip install awslambdaric\nCMD touch a b /tmp/c && python app.py\n", &settings(), &[])[0];
        assert!(f.message.contains("`/app/a`, `/app/b`") && !f.message.contains("/tmp/c"), "{}", f.message);
    }

    #[test]
    fn start_up_writes_under_tmp_or_at_build_are_fine() {
        for line in [
            "CMD [\"python\", \"app.py\"]",
            "CMD mkdir -p /tmp/cache && python app.py > /dev/stdout 2>&1",
            "ENV HOME=/tmp\nCMD mkdir -p $HOME/.cache && python app.py",
            "CMD mkdir -p $CACHE_DIR && python app.py",
            "RUN mkdir -p /app/logs\nCMD [\"python\", \"app.py\"]",
            "CMD [\"sh\", \"-c\", \"exec python app.py >&2\"]",
            "VOLUME /tmp",
        ] {
            let text = format!("FROM python:3.12\nWORKDIR /app\nRUN pip install awslambdaric\n{line}\n");
            assert_eq!(found(&text), vec![], "{line}");
        }
    }

    // 5. The architecture.

    #[test]
    fn platform_flag_against_image_platform() {
        let arm = Settings { platform: Platform::Arm64, ..settings() };
        let text = "FROM --platform=linux/amd64 python:3.12\nRUN pip install awslambdaric\n";
        assert_eq!(found_with(text, &arm, &[]), vec![("image-platform", "--platform=linux/amd64".to_string())]);
        assert_eq!(found_with(text, &settings(), &[]), vec![]);
        let f = &run_with(text, &arm, &[])[0];
        assert!(f.hint.contains("image.platform: linux/amd64"), "{}", f.hint);
        for flag in ["--platform=$TARGETPLATFORM", "--platform=${TARGETPLATFORM}", "--platform=$BUILDPLATFORM", "--platform=linux/arm64/v8"] {
            let text = format!("FROM {flag} python:3.12\nRUN pip install awslambdaric\n");
            assert_eq!(found_with(&text, &arm, &[]), vec![], "{flag}");
        }
        let via_arg = "ARG ARCH=linux/amd64\nFROM --platform=$ARCH python:3.12\nRUN pip install awslambdaric\n";
        assert_eq!(found_with(via_arg, &arm, &[]), vec![("image-platform", "--platform=$ARCH".to_string())]);
    }

    #[test]
    fn image_names_that_pin_an_architecture() {
        let arm = Settings { platform: Platform::Arm64, ..settings() };
        let amd = settings();
        let cases = [
            ("arm64v8/python:3.12", &amd),
            ("docker.io/amd64/python:3.12", &arm),
            ("public.ecr.aws/lambda/python:3.12-arm64", &amd),
            ("public.ecr.aws/lambda/python:3.12-x86_64", &arm),
            ("arm32v7/python:3.12", &arm),
        ];
        for (image, wrong) in cases {
            let text = format!("FROM {image}\nRUN pip install awslambdaric\n");
            assert_eq!(found_with(&text, wrong, &[]), vec![("image-platform", image.to_string())], "{image}");
        }
        for (image, s) in [("arm64v8/python:3.12", &arm), ("public.ecr.aws/lambda/python:3.12-arm64", &arm), ("public.ecr.aws/lambda/python:3.12", &arm), ("myorg/amd64-tools:1", &arm), ("ghcr.io/amd64/python:3", &arm)] {
            let text = format!("FROM {image}\nRUN pip install awslambdaric\n");
            assert_eq!(found_with(&text, s, &[]), vec![], "{image}");
        }
        // A builder stage's platform is not the image's.
        let builder = "FROM --platform=linux/amd64 node:20 AS assets\nRUN npm ci\nFROM python:3.12\nCOPY --from=assets /out /app/static\nRUN pip install awslambdaric\n";
        assert_eq!(found_with(builder, &arm, &[]), vec![]);
        // Through a build argument of the config.
        let mut with_arg = settings();
        with_arg.build_args.insert("BASE".into(), "arm64v8/python:3.12".into());
        assert_eq!(found_with("ARG BASE=python:3.12\nFROM ${BASE}\nRUN pip install awslambdaric\n", &with_arg, &[]), vec![("image-platform", "${BASE}".to_string())]);
    }
}

//! The Dockerfile as stages: `FROM` (its base, its platform), `ARG` and `ENV` with their
//! values, `WORKDIR`, and what `COPY` put where, as known before each instruction; the variables
//! expanded and paths resolved the way the builder does. Pure.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use super::lexer::{
    exec_form, flag, flags, instructions, plain_words, Flag, Instruction, Text, Word,
};
use super::shell::{basename, commands, nested_commands, shell, shell_script, Command, Map};
use super::{Finding, Settings};
use crate::core::config::Platform;

// ---------------------------------------------------------------------------------------------
// Variables and paths.

/// Expands `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}` and `${NAME:+word}`; `None` when a
/// variable has no value here.
pub(super) fn expand(s: &str, vars: &HashMap<String, String>) -> Option<String> {
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
            let name_len = expr
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(expr.len());
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
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
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
pub(super) const UNKNOWN_DIR: &str = "/\u{1}workdir";

/// `path` made absolute against `dir` and normalised (`.`, `..`, repeated slashes).
pub(super) fn resolve(dir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{dir}/{path}")
    };
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
pub(super) fn under(path: &str, dir: &str) -> bool {
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

pub(super) fn context_join(dir: &str, rel: &str) -> Option<String> {
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
pub(super) enum Arch {
    Amd64,
    Arm64,
    /// Neither of the two Lambda and Fargate run.
    Other,
}

impl Arch {
    pub(super) fn of(p: Platform) -> Arch {
        match p {
            Platform::Amd64 => Arch::Amd64,
            Platform::Arm64 => Arch::Arm64,
        }
    }

    /// From a `--platform` value: `linux/amd64`, `linux/arm64/v8`, `arm64`...
    pub(super) fn of_platform(value: &str) -> Arch {
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
pub(super) fn image_parts(image: &str) -> (String, String, String) {
    let image = image.split('@').next().unwrap_or(image);
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    let (registry, path) = if first.contains('.') || first.contains(':') || first == "localhost" {
        (first.to_ascii_lowercase(), rest.to_string())
    } else if first.is_empty() {
        (String::new(), rest.to_string())
    } else {
        (String::new(), image.to_string())
    };
    let registry = if matches!(
        registry.as_str(),
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    ) {
        String::new()
    } else {
        registry
    };
    let (path, tag) = match path.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p.to_string(), t.to_string()),
        _ => (path, String::new()),
    };
    (registry, path.to_ascii_lowercase(), tag)
}

/// An AWS Lambda base image: `public.ecr.aws/lambda/...` or `amazon/aws-lambda-...`.
pub(super) fn is_lambda_base(image: &str) -> bool {
    let (registry, path, _) = image_parts(image);
    (registry == "public.ecr.aws" && path.starts_with("lambda/"))
        || (registry.is_empty() && path.starts_with("amazon/aws-lambda-"))
}

/// The architecture an image's name pins: Docker Hub's per-architecture namespaces
/// (`arm64v8/python`), or an AWS Lambda base image's `-arm64`/`-x86_64` tag.
pub(super) fn pinned_arch(image: &str) -> Option<(Arch, &'static str)> {
    let (registry, path, tag) = image_parts(image);
    if registry.is_empty() {
        let ns = path.split('/').next().unwrap_or("");
        let arch = match ns {
            "amd64" => Some((Arch::Amd64, "an image of Docker Hub's amd64 namespace")),
            "arm64v8" => Some((Arch::Arm64, "an image of Docker Hub's arm64v8 namespace")),
            "arm32v5" | "arm32v6" | "arm32v7" | "i386" | "ppc64le" | "s390x" | "riscv64"
            | "mips64le" => Some((
                Arch::Other,
                "an image of a Docker Hub namespace of another architecture",
            )),
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

pub(super) fn arch_name(a: Arch) -> &'static str {
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
pub(super) enum Copied {
    File {
        dest: String,
        src: String,
    },
    /// `dest` holds the content of the context folder `src`.
    Dir {
        dest: String,
        src: String,
    },
    /// Files of `dir` whose names match `pattern`, from the context folder `src_dir`.
    Glob {
        dir: String,
        pattern: String,
        src_dir: String,
    },
}

#[derive(Clone, Debug, Default)]
pub(super) struct State {
    pub(super) stage: Option<usize>,
    pub(super) workdir: String,
    pub(super) vars: HashMap<String, String>,
    pub(super) copied: Vec<Copied>,
}

#[derive(Clone, Debug)]
pub(super) struct Stage {
    /// The FROM instruction.
    pub(super) from: usize,
    pub(super) name: Option<String>,
    /// The earlier stage this one builds on.
    pub(super) parent: Option<usize>,
    /// The base image, when not a stage: resolved, or `None` when a variable has no value.
    pub(super) image: Option<String>,
    /// The image word's range in the FROM's arguments.
    pub(super) image_span: Range<usize>,
    pub(super) platform: Option<Flag>,
}

pub(super) struct Model<'a> {
    pub(super) source: &'a str,
    pub(super) ins: Vec<Instruction>,
    pub(super) stages: Vec<Stage>,
    /// The state before each instruction.
    pub(super) state: Vec<State>,
    /// The state after the last instruction of each stage.
    pub(super) end: Vec<State>,
    /// The build's global ARG values (FROM's variables).
    pub(super) globals: HashMap<String, String>,
}

/// `NAME=value` pairs (or `NAME value`, ENV's old form) of ARG and ENV, unquoted.
pub(super) fn assignments(text: &str, legacy: bool) -> Vec<(String, Option<String>, Range<usize>)> {
    let words = shell(text)
        .into_iter()
        .flat_map(|c| c.words)
        .collect::<Vec<_>>();
    if legacy && words.first().is_some_and(|w| !w.text.contains('=')) && words.len() > 1 {
        let first = &words[0];
        let value_start = words[1].span.start;
        return vec![(
            first.text.clone(),
            Some(text[value_start..].trim().to_string()),
            first.span.start..text.trim_end().len(),
        )];
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
    pub(super) fn new(source: &'a str, settings: &Settings) -> Self {
        let ins = instructions(source);
        let arch = settings.platform.as_str();
        let mut globals: HashMap<String, String> = HashMap::new();
        for (k, v) in [
            ("TARGETPLATFORM", arch),
            ("TARGETOS", "linux"),
            ("TARGETARCH", arch.trim_start_matches("linux/")),
            ("TARGETVARIANT", ""),
        ] {
            globals.insert(k.into(), v.into());
        }
        let mut declared: HashMap<String, Option<String>> = HashMap::new();
        let mut stages: Vec<Stage> = Vec::new();
        let mut state: Vec<State> = Vec::new();
        let mut end: Vec<State> = Vec::new();
        let mut cur: Option<State> = None;
        for (k, i) in ins.iter().enumerate() {
            let text = i.args.text.as_str();
            let before = cur.clone().unwrap_or_else(|| State {
                vars: globals.clone(),
                ..State::default()
            });
            match i.keyword.as_str() {
                "ARG" if cur.is_none() => {
                    state.push(before);
                    for (name, default, _) in assignments(text, false) {
                        let value = settings
                            .build_args
                            .get(&name)
                            .cloned()
                            .or_else(|| default.and_then(|d| expand(&d, &globals)));
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
                    let Some(image_word) = words.first() else {
                        continue;
                    };
                    let resolved = expand(&image_word.text, &globals);
                    let name = match (words.get(1), words.get(2)) {
                        (Some(a), Some(n)) if a.text.eq_ignore_ascii_case("as") => {
                            Some(n.text.to_ascii_lowercase())
                        }
                        _ => None,
                    };
                    let parent = resolved.as_ref().and_then(|r| {
                        stages.iter().position(|s| {
                            s.name.as_deref() == Some(r.to_ascii_lowercase().as_str())
                        })
                    });
                    if let Some(prev) = cur.take() {
                        end.push(prev);
                    }
                    let index = stages.len();
                    let next = match parent {
                        Some(p) => State {
                            stage: Some(index),
                            ..end[p].clone()
                        },
                        None => {
                            let workdir = match resolved.as_deref() {
                                Some(r) if is_lambda_base(r) => "/var/task".to_string(),
                                Some("scratch") => "/".to_string(),
                                _ => UNKNOWN_DIR.to_string(),
                            };
                            State {
                                stage: Some(index),
                                workdir,
                                vars: HashMap::new(),
                                copied: Vec::new(),
                            }
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
                                        let into_dir =
                                            dest_text.ends_with('/') || sources.len() > 1;
                                        for src in &sources {
                                            let Some(src_text) = expand(&src.text, &s.vars) else {
                                                continue;
                                            };
                                            if src_text.contains("://")
                                                || src_text.starts_with("git@")
                                            {
                                                continue;
                                            }
                                            s.copied
                                                .extend(copied(&src_text, &dest_path, into_dir));
                                        }
                                    }
                                }
                            }
                        }
                        "RUN" => {
                            let (fl, _) = flags(text);
                            for m in fl.iter().filter(|f| f.name == "mount") {
                                let opts: HashMap<&str, &str> = m
                                    .value
                                    .split(',')
                                    .filter_map(|o| o.split_once('='))
                                    .collect();
                                let is_bind = opts.get("type") == Some(&"bind");
                                if !is_bind || opts.contains_key("from") {
                                    continue;
                                }
                                let Some(target) = opts
                                    .get("target")
                                    .or(opts.get("dst"))
                                    .or(opts.get("destination"))
                                else {
                                    continue;
                                };
                                let source = opts
                                    .get("source")
                                    .or(opts.get("src"))
                                    .copied()
                                    .unwrap_or(".");
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
        Model {
            source,
            ins,
            stages,
            state,
            end,
            globals,
        }
    }

    /// The final stage and the stages it builds on, final first.
    pub(super) fn chain(&self) -> Vec<usize> {
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
    pub(super) fn in_stages<'m>(
        &'m self,
        stages: &'m [usize],
    ) -> impl Iterator<Item = (usize, &'m Instruction)> + 'm {
        self.ins
            .iter()
            .enumerate()
            .filter(move |(k, _)| self.state[*k].stage.is_some_and(|s| stages.contains(&s)))
    }

    /// The final image's working directory.
    pub(super) fn final_workdir(&self) -> Option<&str> {
        self.end.last().map(|s| s.workdir.as_str())
    }

    /// The commands of a RUN (its shell form, its exec form, its heredoc script), with ranges of
    /// the instruction's arguments or of a heredoc body.
    pub(super) fn run_commands(&self, k: usize) -> Vec<(Command, &Text)> {
        let i = &self.ins[k];
        let (_, at) = flags(&i.args.text);
        let rest = &i.args.text[at..];
        if let Some(argv) = exec_form(rest, at) {
            let mut out = vec![(
                Command {
                    words: argv.clone(),
                    writes: vec![],
                },
                &i.args,
            )];
            if let Some(script) = shell_script(&argv) {
                let map = if i.args.text[script.span.clone()] == script.text {
                    Map::Shift(script.span.start)
                } else {
                    Map::Whole(script.span.clone())
                };
                let mut nested = Vec::new();
                nested_commands(&script.text, &map, &mut nested, 1);
                out.extend(nested.into_iter().map(|c| (c, &i.args)));
            }
            return out;
        }
        let mut out: Vec<(Command, &Text)> = Vec::new();
        for c in commands(rest) {
            let shift = |w: &Word| Word {
                text: w.text.clone(),
                span: w.span.start + at..w.span.end + at,
            };
            out.push((
                Command {
                    words: c.words.iter().map(shift).collect(),
                    writes: c.writes.iter().map(shift).collect(),
                },
                &i.args,
            ));
        }
        // `RUN <<EOF` (or `RUN bash <<EOF`): the heredoc is the script. Otherwise its body is
        // data for the command.
        let head: Vec<&str> = rest
            .split_whitespace()
            .filter(|w| !w.starts_with("<<"))
            .collect();
        if head.is_empty()
            || (head.len() == 1 && matches!(basename(head[0]), "sh" | "bash" | "dash" | "ash"))
        {
            for body in &i.heredocs {
                out.extend(commands(&body.text).into_iter().map(|c| (c, body)));
            }
        }
        out
    }

    /// A finding about the source bytes `span`.
    pub(super) fn finding(
        &self,
        code: &'static str,
        field: &'static str,
        span: Range<usize>,
        label: impl Into<String>,
        message: String,
        hint: String,
    ) -> Finding {
        let start = span.start.min(self.source.len());
        let line_start = self.source[..start].rfind('\n').map_or(0, |n| n + 1);
        let line = self.source[..start].matches('\n').count() + 1;
        let column = self.source[line_start..start].chars().count() + 1;
        Finding {
            code,
            field,
            message,
            hint,
            label: label.into(),
            span,
            line,
            column,
        }
    }
}

/// COPY's sources and destination, in shell or exec form.
pub(super) fn copy_operands(text: &str, base: usize) -> Option<(Vec<Word>, Word)> {
    let mut words = exec_form(text, base).unwrap_or_else(|| plain_words(text, base));
    let dest = words.pop()?;
    (!words.is_empty()).then_some((words, dest))
}

/// What copying the context path `src` to `dest` puts where.
pub(super) fn copied(src: &str, dest: &str, into_dir: bool) -> Vec<Copied> {
    let src_is_dir = src.ends_with('/') || src.ends_with("/.");
    let Some(src) = context_path(src) else {
        return vec![];
    };
    let name = src.rsplit('/').next().unwrap_or(&src).to_string();
    let src_dir = src
        .rsplit_once('/')
        .map_or(String::new(), |(d, _)| d.to_string());
    if name.contains(['*', '?', '[']) {
        return vec![Copied::Glob {
            dir: dest.to_string(),
            pattern: name,
            src_dir,
        }];
    }
    let mut out = Vec::new();
    if !name.is_empty() {
        out.push(Copied::File {
            dest: resolve(dest, &name),
            src: src.clone(),
        });
        if !into_dir {
            out.push(Copied::File {
                dest: dest.to_string(),
                src: src.clone(),
            });
        }
    }
    // A folder's content: the whole context, a source named with a slash, or a name without
    // an extension.
    if name.is_empty() || src_is_dir || !name.trim_start_matches('.').contains('.') {
        out.push(Copied::Dir {
            dest: dest.to_string(),
            src,
        });
    }
    out
}

/// The context paths an image path may have come from, most likely first.
pub(super) fn origins(copied: &[Copied], path: &str) -> Vec<String> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for c in copied.iter().rev() {
        match c {
            Copied::File { dest, src } if dest == path => files.push(src.clone()),
            Copied::Glob {
                dir,
                pattern,
                src_dir,
            } => {
                if let Some((parent, name)) = path.rsplit_once('/') {
                    let parent = if parent.is_empty() { "/" } else { parent };
                    if parent == dir && wildcard(pattern, name) {
                        files.extend(context_join(src_dir, name));
                    }
                }
            }
            Copied::Dir { dest, src } if under(path, dest) && path != dest => {
                let rel = if dest == "/" {
                    &path[1..]
                } else {
                    &path[dest.len() + 1..]
                };
                dirs.extend(context_join(src, rel));
            }
            _ => {}
        }
    }
    let mut seen = BTreeSet::new();
    files
        .into_iter()
        .chain(dirs)
        .filter(|p| seen.insert(p.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_expand_or_stay_unknown() {
        let vars: HashMap<String, String> = [
            ("A".to_string(), "x".to_string()),
            ("E".to_string(), String::new()),
        ]
        .into();
        assert_eq!(
            expand("$A/${A}/${B:-d}/${E:-e}/${E-f}/${A:+p}", &vars).as_deref(),
            Some("x/x/d/e//p")
        );
        assert_eq!(expand("$B", &vars), None);
        assert_eq!(expand("no vars", &vars).as_deref(), Some("no vars"));
    }
}

//! What the Dockerfile installs: the pip (and uv) commands, the requirements files and local
//! projects they install from, and whether awslambdaric is among them. Pure.

use std::collections::BTreeMap;
use std::ops::Range;

use super::lexer::Word;
use super::model::{context_join, expand, origins, resolve, Model, State};
use super::shell::{basename, command_start};

/// A command that installs Python packages, and what it installs from.
#[derive(Debug)]
pub(super) enum Install {
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
    let is_pip = |n: &str| {
        n == "pip"
            || n.strip_prefix("pip")
                .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    let is_python = |n: &str| {
        n == "python"
            || n.strip_prefix("python")
                .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
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
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-t",
    "--target",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--prefix",
    "--root",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--only-binary",
    "--no-binary",
    "--progress-bar",
    "--src",
    "--upgrade-strategy",
    "--cache-dir",
    "--trusted-host",
    "--proxy",
    "--timeout",
    "--retries",
    "--log",
    "--global-option",
    "--config-settings",
    "-C",
    "--exists-action",
    "--cert",
    "--client-cert",
    "--python",
    "--report",
    "--root-user-action",
    "-p",
    "--python-platform",
    "--group",
];

/// What a command installs, if it is an installer.
pub(super) fn install(words: &[Word]) -> Option<Install> {
    let first = basename(&words.first()?.text);
    if let Some(at) = pip_args(words) {
        let mut i = at;
        while i < words.len() {
            let w = words[i].text.as_str();
            if w == "install" || w == "sync" {
                return Some(Install::Pip {
                    args: words[i + 1..].to_vec(),
                    sync: w == "sync",
                });
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
        ("pip-sync", _) => Some(Install::Pip {
            args: words[1..].to_vec(),
            sync: true,
        }),
        ("poetry", Some("install"))
        | ("uv", Some("sync"))
        | ("pipenv", Some("install" | "sync"))
        | ("pdm", Some("install" | "sync"))
        | ("hatch", Some("env"))
        | ("rye", Some("sync")) => Some(Install::Project),
        ("conda" | "mamba" | "micromamba", _) => {
            let files: Vec<Word> = words
                .windows(2)
                .filter(|p| matches!(p[0].text.as_str(), "-f" | "--file"))
                .map(|p| p[1].clone())
                .collect();
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
        if let Some(v) = t
            .strip_prefix("--requirement=")
            .or_else(|| t.strip_prefix("-r").filter(|v| !v.is_empty()))
        {
            let skip = w.text.len() - v.len();
            files.push(Word {
                text: v.to_string(),
                span: w.span.start + skip.min(w.span.len())..w.span.end,
            });
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
        } else if let Some(p) = local_project(w)
            .filter(|_| !t.ends_with(".whl") && !t.ends_with(".tar.gz") && !t.ends_with(".zip"))
        {
            projects.push(p);
        }
        i += 1;
    }
    (files, projects, unknown)
}

/// A local project's folder (`.`, `./pkg[extra]`, `/src`), without its extras.
fn local_project(w: &Word) -> Option<Word> {
    let t = w.text.split('[').next().unwrap_or(&w.text);
    let local = !t.contains("://")
        && !t.contains(['=', '<', '>', '@'])
        && (t == "."
            || t.starts_with("./")
            || t.starts_with("../")
            || t.starts_with('/')
            || t.starts_with('$'));
    local.then(|| Word {
        text: t.to_string(),
        span: w.span.clone(),
    })
}

/// The files of a project folder that declare its dependencies.
const PROJECT_FILES: &[&str] = &[
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "Pipfile.lock",
    "poetry.lock",
    "uv.lock",
    "pdm.lock",
    "requirements.txt",
];

/// Names awslambdaric, outside comments.
pub(super) fn names_ric(text: &str) -> bool {
    text.lines()
        .map(|l| l.trim_start())
        .filter(|l| !l.starts_with('#'))
        .any(|l| {
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
            let rest = l
                .strip_prefix("--requirement")
                .or_else(|| l.strip_prefix("-r"))?;
            let rest = rest.trim_start_matches(['=', ' ', '\t']).trim();
            (!rest.is_empty() && !rest.contains("://"))
                .then(|| context_join(dir, rest))
                .flatten()
        })
        .collect()
}

/// Whether the first of these candidate files that is at hand names awslambdaric, collecting
/// the files wanted.
type FirstOf<'a> = dyn Fn(&[String], &mut Vec<String>) -> Option<bool> + 'a;

/// What the Dockerfile's installs tell about awslambdaric.
#[derive(Debug)]
pub(super) struct Installs {
    /// Some install names it (or a requirements file it reads does).
    pub(super) names_ric: bool,
    /// Some install reads files that could not be read, or runs a script.
    pub(super) unknown: bool,
    /// Where the final image's last install is (instruction, range, 0 for the arguments or
    /// 1 + the heredoc): its requirements file's word when it reads one, else the command.
    /// Installs that read requirements files come first.
    pub(super) last_in_final: Option<(usize, Range<usize>, usize)>,
    pub(super) last_requirements_in_final: Option<(usize, Range<usize>, usize)>,
    /// The context files worth reading.
    pub(super) wanted: Vec<String>,
}

impl Model<'_> {
    pub(super) fn installs(&self, files: &BTreeMap<String, String>) -> Installs {
        let chain = self.chain();
        let mut out = Installs {
            names_ric: false,
            unknown: false,
            last_in_final: None,
            last_requirements_in_final: None,
            wanted: Vec::new(),
        };
        // A requirements file (and those it includes): whether it names awslambdaric; `None` when
        // one of them is not at hand.
        fn requirements(
            path: &str,
            files: &BTreeMap<String, String>,
            wanted: &mut Vec<String>,
            depth: usize,
        ) -> Option<bool> {
            wanted.push(path.to_string());
            let text = files.get(path)?;
            if names_ric(text) {
                return Some(true);
            }
            // A local project or a file URL in it (`-e .`, `./pkg`) declares more than the file
            // shows.
            let mut known = !text.lines().map(str::trim).any(|l| {
                l.starts_with("-e")
                    || l.starts_with("--editable")
                    || l.starts_with('.')
                    || l.starts_with('/')
                    || l.contains("file:")
            });
            for nested in nested_requirements(path, text) {
                match depth
                    .checked_sub(1)
                    .and_then(|d| requirements(&nested, files, wanted, d))
                {
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
            let all_text = std::iter::once(&self.ins[k].args.text)
                .chain(self.ins[k].heredocs.iter().map(|h| &h.text));
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
                let text_index = if std::ptr::eq(text, &self.ins[k].args) {
                    0
                } else {
                    1 + self.ins[k]
                        .heredocs
                        .iter()
                        .position(|h| std::ptr::eq(h, text))
                        .unwrap_or(0)
                };
                let mut mark = words
                    .first()
                    .zip(words.last())
                    .map(|(a, b)| a.span.start..b.span.end);
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

#[cfg(test)]
mod tests {
    use super::super::test_input::*;
    use super::*;

    // 2. The runtime interface client.

    #[test]
    fn runtime_client_missing_from_requirements() {
        let s = settings();
        let fs = [("requirements.txt", "boto3\n# awslambdaric is not here\n")];
        assert_eq!(
            found_with(GOOD, &s, &fs),
            vec![("runtime-client", "requirements.txt".to_string())]
        );
        let f = &run_with(GOOD, &s, &fs)[0];
        assert_eq!((f.line, f.field), (4, "lambda.entry_point"));
        assert!(
            f.message
                .contains("`python:3.12-slim` is not an AWS Lambda base image"),
            "{}",
            f.message
        );
        assert!(
            f.hint.contains("lambda.entry_point") && f.hint.contains("awslambdaric"),
            "{}",
            f.hint
        );
    }

    #[test]
    fn runtime_client_with_no_install_points_at_from() {
        let text = "FROM python:3.12-slim\nWORKDIR /app\nCOPY app.py .\n";
        assert_eq!(
            found_with(text, &settings(), &[]),
            vec![("runtime-client", "python:3.12-slim".to_string())]
        );
    }

    #[test]
    fn runtime_client_found_where_it_is_installed() {
        let s = settings();
        let nested = [
            ("requirements.txt", "-r requirements/base.txt\n"),
            ("requirements/base.txt", "awslambdaric>=3\n"),
        ];
        assert_eq!(found_with(GOOD, &s, &nested), vec![]);
        assert_eq!(
            found_with(GOOD, &s, &[("requirements.txt", "AWSLambdaRIC\n")]),
            vec![]
        );
        // A local project in the requirements declares more than the file shows.
        assert_eq!(
            found_with(GOOD, &s, &[("requirements.txt", "boto3\n-e .\n")]),
            vec![]
        );
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
        let other = Settings {
            entry_point: vec!["/lambda-entrypoint.sh".into()],
            ..settings()
        };
        assert_eq!(found_with("FROM python:3.12\n", &other, &[]), vec![]);
        assert_eq!(
            wanted_files(GOOD, &other, &BTreeMap::new()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn wanted_files_follow_copies_and_includes() {
        let s = settings();
        let text =
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements/prod.txt\n";
        assert_eq!(
            wanted_files(text, &s, &BTreeMap::new()),
            vec!["requirements/prod.txt".to_string()]
        );
        let read = files(&[("requirements/prod.txt", "-r base.txt\nboto3\n")]);
        assert_eq!(
            wanted_files(text, &s, &read),
            vec![
                "requirements/prod.txt".to_string(),
                "requirements/base.txt".to_string()
            ]
        );
        let escape = "FROM python:3.12\nCOPY ../../etc/passwd /r.txt\nRUN pip install -r /r.txt\n";
        assert_eq!(
            wanted_files(escape, &s, &BTreeMap::new()),
            Vec::<String>::new()
        );
    }
}

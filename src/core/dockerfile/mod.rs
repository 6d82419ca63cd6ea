//! The Dockerfile traps of moving a worker to Lambda (docs/pitfalls.md#p3, #p5, #p6),
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
//!
//! The parts, each built on those before it: [`lexer`] (instructions, continuations, comments,
//! heredocs, flags, exec and shell form), [`shell`] (simple commands, quotes, redirections,
//! `sh -c`), [`model`] (stages, `ARG`/`ENV`, paths, what `COPY` brings in, base images),
//! [`installs`] (what pip installs, and whether awslambdaric is among it), [`checks`] (the
//! warnings) and [`language`] (the worker's language, for `init`); this module is their public
//! face.

mod checks;
mod installs;
mod language;
mod lexer;
mod model;
mod shell;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use self::checks::{pip_user, platform, runtime_client, unreadable, writes};
use self::model::Model;
use super::config::{Config, Platform};
use super::diag::Diagnostic;

pub use self::language::{detect, program, start_argv, start_commands, Detected, Language};
pub use self::model::context_path;

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
            build_args: c
                .image
                .build_args
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect(),
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
        let mut d = Diagnostic::warning(self.code, self.field, self.message.clone())
            .hint(self.hint.clone());
        d.location = Some((self.line, self.column));
        d
    }
}

/// The largest Dockerfile and requirements file read: these are a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The most build-context files read to find what a Dockerfile installs.
pub const MAX_FILES: usize = 32;

/// The build context's files (relative paths) the checks would read: the requirements and
/// project files the Dockerfile installs from, given those already read (`files`, which may
/// name more). Read those that exist and ask again until nothing new is wanted.
pub fn wanted_files(
    dockerfile: &str,
    settings: &Settings,
    files: &BTreeMap<String, String>,
) -> Vec<String> {
    if !needs_ric(settings) {
        return Vec::new();
    }
    let m = Model::new(dockerfile, settings);
    let mut seen = BTreeSet::new();
    m.installs(files)
        .wanted
        .into_iter()
        .filter(|p| seen.insert(p.clone()))
        .collect()
}

fn needs_ric(settings: &Settings) -> bool {
    settings
        .entry_point
        .iter()
        .any(|s| s.contains("awslambdaric"))
}

/// Every finding, in the order of the Dockerfile's lines.
pub fn check(
    dockerfile: &str,
    settings: &Settings,
    files: &BTreeMap<String, String>,
) -> Vec<Finding> {
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

/// What `init` reads from a Dockerfile: the final image's base, working directory, CMD and
/// ENTRYPOINT (exec form as written; shell form as Docker runs it, `/bin/sh -c TEXT`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageFacts {
    /// The final stage's base image, when it is an image (not a stage) with no unknown variable.
    pub base: Option<String>,
    /// The final WORKDIR, absolute; `None` when unknown (none set on a base that is not
    /// Lambda's, or a variable without a value).
    pub workdir: Option<String>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// The base images of the other stages (those the final image does not build on), in order:
    /// where a compiled worker is built (`golang:1.22` for a binary copied into `scratch`).
    pub build_bases: Vec<String>,
}

/// The Dockerfile read for `platform` alone, with no config's settings (no build args, entry
/// point or working directory given).
fn plain_model(dockerfile: &str, platform: Platform) -> Model<'_> {
    let settings = Settings {
        platform,
        entry_point: Vec::new(),
        working_directory: String::new(),
        build_args: BTreeMap::new(),
    };
    Model::new(dockerfile, &settings)
}

/// The facts of the final image (`platform` resolves `TARGETARCH` and the like).
pub fn image_facts(dockerfile: &str, platform: Platform) -> ImageFacts {
    let m = plain_model(dockerfile, platform);
    let chain = m.chain();
    let base = chain.last().and_then(|&s| m.stages[s].image.clone());
    let build_bases = (0..m.stages.len())
        .filter(|s| !chain.contains(s))
        .filter_map(|s| m.stages[s].image.clone())
        .collect();
    let workdir = m
        .final_workdir()
        .filter(|w| w.starts_with('/') && !w.contains(model::UNKNOWN_DIR))
        .map(str::to_string);
    let (mut cmd, mut entrypoint) = (None, None);
    for (_, i) in m.in_stages(&chain) {
        let argv = || match lexer::exec_form(&i.args.text, 0) {
            Some(words) => words.into_iter().map(|w| w.text).collect(),
            None => vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                i.args.text.trim().to_string(),
            ],
        };
        match i.keyword.as_str() {
            "CMD" => cmd = Some(argv()),
            // Docker resets CMD when a later ENTRYPOINT is set in the same image.
            "ENTRYPOINT" => {
                entrypoint = Some(argv());
                cmd = None;
            }
            _ => {}
        }
    }
    ImageFacts {
        base,
        workdir,
        cmd,
        entrypoint,
        build_bases,
    }
}

/// The build context's paths the final image's file `path` (absolute) may have been copied
/// from, most likely first: `/app/worker.py` after `COPY . /app` -> `worker.py`.
pub fn origins(dockerfile: &str, platform: Platform, path: &str) -> Vec<String> {
    let m = plain_model(dockerfile, platform);
    match m.end.last() {
        Some(state) => model::origins(&state.copied, path),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod test_input {
    //! What the tests of every part share: the settings of the examples, and the findings of a
    //! Dockerfile as codes and underlined text.

    pub(super) use std::collections::BTreeMap;

    pub(super) use super::{check, wanted_files, Finding, Settings};
    pub(super) use crate::core::config::Platform;

    pub(super) fn settings() -> Settings {
        Settings {
            platform: Platform::Amd64,
            entry_point: vec![
                "/usr/local/bin/python".into(),
                "-m".into(),
                "awslambdaric".into(),
            ],
            working_directory: "/app".into(),
            build_args: BTreeMap::new(),
        }
    }

    pub(super) const REQUIREMENTS: &str = "boto3>=1.35,<2\nawslambdaric==3.1.1\n";

    pub(super) fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    pub(super) fn run_with(dockerfile: &str, s: &Settings, fs: &[(&str, &str)]) -> Vec<Finding> {
        check(dockerfile, s, &files(fs))
    }

    /// The findings' codes and underlined text.
    pub(super) fn found(dockerfile: &str) -> Vec<(&'static str, String)> {
        found_with(
            dockerfile,
            &settings(),
            &[("requirements.txt", REQUIREMENTS)],
        )
    }

    pub(super) fn found_with(
        dockerfile: &str,
        s: &Settings,
        fs: &[(&str, &str)],
    ) -> Vec<(&'static str, String)> {
        run_with(dockerfile, s, fs)
            .into_iter()
            .map(|f| (f.code, dockerfile[f.span].to_string()))
            .collect()
    }

    pub(super) const GOOD: &str = "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY app.py .\nCMD [\"python\", \"app.py\"]\n";

    /// An example's Dockerfile and requirements, built into the test binary.
    pub(super) fn example(name: &str) -> (&'static str, &'static str) {
        match name {
            "sqs-worker" => (
                include_str!("../../../examples/sqs-worker/Dockerfile"),
                include_str!("../../../examples/sqs-worker/requirements.txt"),
            ),
            "sqs-event-worker" => (
                include_str!("../../../examples/sqs-event-worker/Dockerfile"),
                include_str!("../../../examples/sqs-event-worker/requirements.txt"),
            ),
            _ => panic!("no example `{name}`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_input::*;
    use super::*;

    #[test]
    fn the_examples_are_clean() {
        for name in ["sqs-worker", "sqs-event-worker"] {
            let (text, reqs) = example(name);
            assert_eq!(
                wanted_files(text, &settings(), &BTreeMap::new()),
                vec!["requirements.txt".to_string()],
                "{name}"
            );
            assert_eq!(
                run_with(text, &settings(), &[("requirements.txt", reqs)]),
                vec![],
                "{name}"
            );
            let arm = Settings {
                platform: Platform::Arm64,
                ..settings()
            };
            assert_eq!(
                run_with(text, &arm, &[("requirements.txt", reqs)]),
                vec![],
                "{name}"
            );
        }
        assert_eq!(found(GOOD), vec![]);
    }

    #[test]
    fn image_facts_read_the_final_stage() {
        let f = image_facts(example("sqs-worker").0, Platform::Amd64);
        assert_eq!(f.base.as_deref(), Some("python:3.12-slim"));
        assert_eq!(f.workdir.as_deref(), Some("/app"));
        assert_eq!(
            f.cmd,
            Some(vec!["python".to_string(), "app.py".to_string()])
        );
        assert_eq!(f.entrypoint, None);
        let multi = image_facts(RIGHT[0].1, Platform::Amd64);
        assert_eq!(
            (multi.entrypoint, multi.cmd),
            (
                Some(vec!["python".to_string()]),
                Some(vec!["app.py".to_string()])
            )
        );
        let shell = image_facts("FROM debian\nCMD exec python worker.py\n", Platform::Amd64);
        assert_eq!(shell.workdir, None);
        assert_eq!(
            shell.cmd,
            Some(vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                "exec python worker.py".to_string()
            ])
        );
        let reset = image_facts("FROM x\nCMD [\"a\"]\nENTRYPOINT [\"b\"]\n", Platform::Amd64);
        assert_eq!(
            (reset.entrypoint, reset.cmd),
            (Some(vec!["b".to_string()]), None)
        );
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
        let fs = [
            ("requirements.txt", REQUIREMENTS),
            ("uv.lock", "[[package]]\nname = \"awslambdaric\"\n"),
            ("pyproject.toml", "[project]\nname = \"w\"\n"),
        ];
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
        inputs.push(example("sqs-worker").0.to_string());
        let mut all = Vec::new();
        for text in &inputs {
            // Every truncation too.
            for (at, _) in text
                .char_indices()
                .chain(std::iter::once((text.len(), ' ')))
            {
                all.push(text[..at].to_string());
            }
        }
        let fs = files(&[("requirements.txt", "-r requirements.txt\n-r ../x\n")]);
        for s in [
            settings(),
            Settings {
                platform: Platform::Arm64,
                ..settings()
            },
        ] {
            for text in &all {
                for f in check(text, &s, &fs) {
                    assert!(
                        f.span.start <= f.span.end
                            && f.span.end <= text.len()
                            && text.is_char_boundary(f.span.start)
                            && text.is_char_boundary(f.span.end),
                        "{f:?} in {text:?}"
                    );
                }
                let _ = wanted_files(text, &s, &fs);
            }
        }
    }
}

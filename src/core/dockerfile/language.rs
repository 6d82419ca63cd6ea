//! The worker's language, from what its image and build context show, strongest sign first: an
//! AWS Lambda base image (its runtime), the program the image starts (`node app.js`, `java -jar
//! x.jar`, `python x.py`, also behind `sh -c`, `tini` or an entry-point script), the final stage's
//! base image (`node:20-slim`, `eclipse-temurin`, `mcr.microsoft.com/dotnet/runtime`), the images
//! of the stages it is built in (a `golang` stage copied into `scratch`), and last the build
//! context's project files (`package.json`, `go.mod`, `pom.xml`, `*.csproj`, `Gemfile`,
//! `requirements.txt`). Nothing found is `Unknown`, never a guess. Pure.

use super::lexer::Word;
use super::model::{image_parts, is_lambda_base};
use super::shell::{basename, command_start, commands, shell_script};
use super::ImageFacts;

/// A language Lambda has a runtime interface client for (Go: a library instead), or none known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    Node,
    Java,
    Go,
    DotNet,
    Ruby,
    Unknown,
}

impl Language {
    /// As people write it: `Node.js`, `.NET`.
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::Node => "Node.js",
            Language::Java => "Java",
            Language::Go => "Go",
            Language::DotNet => ".NET",
            Language::Ruby => "Ruby",
            Language::Unknown => "unknown",
        }
    }
}

/// The language and the sign it was chosen on, as a sentence's end: "the image starts `node
/// worker.js`".
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Detected {
    pub language: Language,
    pub reason: String,
}

/// What a base image says of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Base {
    /// An AWS Lambda base image, with its runtime's language (`None`: `provided`, OS only).
    Lambda(Option<Language>),
    /// A language's image (`python:3.12-slim`, `gcr.io/distroless/java17-debian12`).
    Of(Language),
    /// An OS or an empty image, which any compiled program may run on (`scratch`, `alpine`,
    /// `gcr.io/distroless/static`).
    Plain,
    Other,
}

fn base(image: &str) -> Base {
    let (registry, path, tag) = image_parts(image);
    let name = path.rsplit('/').next().unwrap_or(&path);
    if is_lambda_base(image) {
        let runtime = path
            .strip_prefix("lambda/")
            .or_else(|| path.strip_prefix("amazon/aws-lambda-"))
            .unwrap_or("");
        return Base::Lambda(match runtime {
            r if r.starts_with("python") => Some(Language::Python),
            r if r.starts_with("nodejs") => Some(Language::Node),
            r if r.starts_with("java") => Some(Language::Java),
            r if r.starts_with("dotnet") => Some(Language::DotNet),
            r if r.starts_with("ruby") => Some(Language::Ruby),
            r if r.starts_with("go") => Some(Language::Go),
            _ => None,
        });
    }
    if registry == "mcr.microsoft.com" && path.starts_with("dotnet/") {
        return Base::Of(Language::DotNet);
    }
    let distroless = path.starts_with("distroless/");
    let language = match name {
        n if n.starts_with("python") || n.starts_with("pypy") => Some(Language::Python),
        "uv" if tag.contains("python") => Some(Language::Python),
        "node" => Some(Language::Node),
        n if n.starts_with("nodejs") => Some(Language::Node),
        "eclipse-temurin"
        | "amazoncorretto"
        | "openjdk"
        | "maven"
        | "gradle"
        | "ibmjava"
        | "ibm-semeru-runtimes"
        | "sapmachine"
        | "jre"
        | "jdk" => Some(Language::Java),
        n if distroless && n.starts_with("java") => Some(Language::Java),
        "golang" => Some(Language::Go),
        "dotnet" | "aspnet" => Some(Language::DotNet),
        "ruby" | "jruby" => Some(Language::Ruby),
        _ => None,
    };
    if let Some(l) = language {
        return Base::Of(l);
    }
    let plain = matches!(
        name,
        "scratch"
            | "alpine"
            | "debian"
            | "ubuntu"
            | "busybox"
            | "amazonlinux"
            | "centos"
            | "fedora"
            | "rockylinux"
            | "almalinux"
            | "ubi-minimal"
            | "ubi-micro"
            | "ubi"
            | "static"
            | "wolfi-base"
    ) || (distroless && ["static", "base", "cc"].iter().any(|p| name.starts_with(p)));
    if plain {
        Base::Plain
    } else {
        Base::Other
    }
}

/// The language whose program this is: an interpreter, a package runner, or a worker framework's
/// own command (Celery, Shoryuken, Sidekiq).
fn program_language(word: &str) -> Option<Language> {
    let name = basename(word);
    let python = name
        .strip_prefix("python")
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    match name {
        _ if python => Some(Language::Python),
        "pypy" | "pypy3" | "celery" | "gunicorn" | "uvicorn" => Some(Language::Python),
        "node" | "nodejs" | "npm" | "npx" | "yarn" | "pnpm" | "ts-node" | "tsx" => {
            Some(Language::Node)
        }
        "java" => Some(Language::Java),
        "dotnet" => Some(Language::DotNet),
        "ruby" | "bundle" | "rake" | "shoryuken" | "sidekiq" => Some(Language::Ruby),
        _ => None,
    }
}

/// What the image runs at start, as Docker runs it: ENTRYPOINT then CMD (a shell-form
/// ENTRYPOINT ignores CMD).
pub fn start_argv(f: &ImageFacts) -> Vec<String> {
    match &f.entrypoint {
        Some(e) if is_shell_c(e) => e.clone(),
        Some(e) => e.iter().chain(f.cmd.iter().flatten()).cloned().collect(),
        None => f.cmd.clone().unwrap_or_default(),
    }
}

fn is_shell_c(argv: &[String]) -> bool {
    shell_script(&words(argv)).is_some()
}

fn words(argv: &[String]) -> Vec<Word> {
    argv.iter()
        .map(|t| Word {
            text: t.clone(),
            span: 0..0,
        })
        .collect()
}

/// The simple commands the image starts: the argv itself without wrappers (`exec`, `tini --`,
/// `env A=1`), or the commands of its `sh -c` script.
pub fn start_commands(argv: &[String]) -> Vec<Vec<String>> {
    let ws = words(argv);
    let start = command_start(&ws);
    if let Some(script) = shell_script(&ws[start..]) {
        return commands(&script.text)
            .into_iter()
            .map(|c| {
                let s = command_start(&c.words);
                c.words[s..].iter().map(|w| w.text.clone()).collect()
            })
            .filter(|c: &Vec<String>| !c.is_empty())
            .collect();
    }
    vec![argv[start.min(argv.len())..].to_vec()]
}

/// The program of a known language the image starts, with its arguments: the first word of a
/// start command whose program is one (`/docker-entrypoint.sh node app.js` -> `node app.js`).
pub fn program(f: &ImageFacts) -> Option<(Language, Vec<String>)> {
    for c in start_commands(&start_argv(f)) {
        for (i, w) in c.iter().enumerate() {
            if let Some(l) = program_language(w) {
                return Some((l, c[i..].to_vec()));
            }
        }
    }
    None
}

/// Project files of each language, as they sit at the top of a build context.
fn file_language(name: &str) -> Option<Language> {
    match name {
        "package.json" => Some(Language::Node),
        "go.mod" => Some(Language::Go),
        "pom.xml" | "build.gradle" | "build.gradle.kts" => Some(Language::Java),
        "Gemfile" => Some(Language::Ruby),
        "requirements.txt" | "pyproject.toml" | "setup.py" | "Pipfile" | "poetry.lock"
        | "uv.lock" => Some(Language::Python),
        n if n.ends_with(".csproj") || n.ends_with(".fsproj") || n.ends_with(".sln") => {
            Some(Language::DotNet)
        }
        _ => None,
    }
}

/// `text` in backquotes, clipped to a readable length.
fn quoted(text: &str) -> String {
    let clipped: String = text.chars().take(60).collect();
    if clipped.len() < text.len() {
        format!("`{clipped}...`")
    } else {
        format!("`{clipped}`")
    }
}

/// The worker's language: from the image's facts and the build context's top-level file names.
pub fn detect(f: &ImageFacts, files: &[String]) -> Detected {
    let found = |language, reason: String| Detected { language, reason };
    let final_base = f.base.as_deref().map(|b| (b, base(b)));
    if let Some((b, Base::Lambda(Some(l)))) = final_base {
        return found(
            l,
            format!("the image is the AWS Lambda base image {}", quoted(b)),
        );
    }
    if let Some((l, argv)) = program(f) {
        return found(l, format!("the image starts {}", quoted(&argv.join(" "))));
    }
    if let Some((b, Base::Of(l))) = final_base {
        return found(l, format!("the final stage's base image is {}", quoted(b)));
    }
    // Built in one stage, run on another: a compiled binary on an empty or OS image.
    let built: Vec<(&String, Language)> = f
        .build_bases
        .iter()
        .filter_map(|b| match base(b) {
            Base::Of(l) => Some((b, l)),
            _ => None,
        })
        .collect();
    let on = match final_base {
        Some((b, _)) => format!("the final image, on {},", quoted(b)),
        None => "the final image".to_string(),
    };
    let plain = matches!(final_base, Some((_, Base::Plain | Base::Lambda(None))));
    let go = built.iter().find(|(_, l)| *l == Language::Go);
    if let (true, Some((b, _))) = (plain, go) {
        return found(
            Language::Go,
            format!("{on} runs what a {} stage builds", quoted(b)),
        );
    }
    if let Some((b, l)) = built.last() {
        return found(*l, format!("{on} is built in a {} stage", quoted(b)));
    }
    let mut by_file: Vec<(Language, &String)> = files
        .iter()
        .filter_map(|n| file_language(n).map(|l| (l, n)))
        .collect();
    by_file.sort_by_key(|(l, _)| *l as u8);
    by_file.dedup_by_key(|(l, _)| *l);
    match by_file.as_slice() {
        [(l, n)] => {
            return found(*l, format!("the build context holds {}", quoted(n)));
        }
        [] => {}
        many => {
            let names: Vec<String> = many.iter().map(|(_, n)| quoted(n)).collect();
            return found(
                Language::Unknown,
                format!(
                    "the build context holds project files of several languages ({})",
                    names.join(", ")
                ),
            );
        }
    }
    let argv = start_argv(f);
    let what = match (&f.base, argv.is_empty()) {
        (Some(b), false) => format!(
            "base image {}, start command {}",
            quoted(b),
            quoted(&argv.join(" "))
        ),
        (Some(b), true) => format!("base image {}, no start command", quoted(b)),
        (None, false) => format!("start command {}", quoted(&argv.join(" "))),
        (None, true) => "no base image known, no start command".to_string(),
    };
    found(
        Language::Unknown,
        format!("nothing names a language ({what}, no project file known)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::Platform;
    use crate::core::dockerfile::image_facts;

    fn detected(dockerfile: &str, files: &[&str]) -> (Language, String) {
        let f = image_facts(dockerfile, Platform::Amd64);
        let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        let d = detect(&f, &files);
        (d.language, d.reason)
    }

    fn language(dockerfile: &str) -> Language {
        detected(dockerfile, &[]).0
    }

    #[test]
    fn base_images_name_their_language() {
        for (image, want) in [
            ("python:3.12-slim", Base::Of(Language::Python)),
            ("docker.io/library/python:3.12", Base::Of(Language::Python)),
            (
                "ghcr.io/astral-sh/uv:python3.12-bookworm-slim",
                Base::Of(Language::Python),
            ),
            (
                "gcr.io/distroless/python3-debian12",
                Base::Of(Language::Python),
            ),
            ("node:20-slim", Base::Of(Language::Node)),
            (
                "gcr.io/distroless/nodejs20-debian12",
                Base::Of(Language::Node),
            ),
            ("eclipse-temurin:21-jre", Base::Of(Language::Java)),
            ("amazoncorretto:21", Base::Of(Language::Java)),
            (
                "public.ecr.aws/amazoncorretto/amazoncorretto:21",
                Base::Of(Language::Java),
            ),
            ("maven:3.9-eclipse-temurin-21", Base::Of(Language::Java)),
            (
                "gcr.io/distroless/java17-debian12",
                Base::Of(Language::Java),
            ),
            ("golang:1.22-alpine", Base::Of(Language::Go)),
            (
                "mcr.microsoft.com/dotnet/runtime:8.0",
                Base::Of(Language::DotNet),
            ),
            (
                "mcr.microsoft.com/dotnet/sdk:8.0",
                Base::Of(Language::DotNet),
            ),
            ("ruby:3.3-slim", Base::Of(Language::Ruby)),
            (
                "public.ecr.aws/lambda/python:3.12",
                Base::Lambda(Some(Language::Python)),
            ),
            (
                "public.ecr.aws/lambda/nodejs:20",
                Base::Lambda(Some(Language::Node)),
            ),
            (
                "public.ecr.aws/lambda/java:21",
                Base::Lambda(Some(Language::Java)),
            ),
            (
                "public.ecr.aws/lambda/dotnet:8",
                Base::Lambda(Some(Language::DotNet)),
            ),
            (
                "amazon/aws-lambda-ruby:3.3",
                Base::Lambda(Some(Language::Ruby)),
            ),
            ("public.ecr.aws/lambda/provided:al2023", Base::Lambda(None)),
            ("scratch", Base::Plain),
            ("alpine:3.20", Base::Plain),
            ("gcr.io/distroless/static-debian12:nonroot", Base::Plain),
            ("debian:bookworm-slim", Base::Plain),
            ("nginx:1.27", Base::Other),
            ("mycompany/base:1", Base::Other),
        ] {
            assert_eq!(base(image), want, "{image}");
        }
    }

    #[test]
    fn programs_name_their_language() {
        for (word, want) in [
            ("python", Some(Language::Python)),
            ("/usr/local/bin/python3.12", Some(Language::Python)),
            ("/opt/venv/bin/python", Some(Language::Python)),
            ("celery", Some(Language::Python)),
            ("pythonista", None),
            ("node", Some(Language::Node)),
            ("npm", Some(Language::Node)),
            ("/usr/bin/java", Some(Language::Java)),
            ("dotnet", Some(Language::DotNet)),
            ("bundle", Some(Language::Ruby)),
            ("shoryuken", Some(Language::Ruby)),
            ("/worker", None),
            ("sh", None),
        ] {
            assert_eq!(program_language(word), want, "{word}");
        }
    }

    #[test]
    fn the_start_command_is_found_behind_wrappers_and_shells() {
        let f = image_facts(
            "FROM debian\nENTRYPOINT [\"tini\", \"--\", \"/docker-entrypoint.sh\"]\nCMD [\"node\", \"dist/index.js\"]\n",
            Platform::Amd64,
        );
        assert_eq!(
            program(&f),
            Some((
                Language::Node,
                vec!["node".to_string(), "dist/index.js".to_string()]
            ))
        );
        let f = image_facts(
            "FROM debian\nCMD set -e; mkdir -p /tmp/w; exec java -jar /app/worker.jar\n",
            Platform::Amd64,
        );
        assert_eq!(
            program(&f).map(|(l, a)| (l, a.join(" "))),
            Some((Language::Java, "java -jar /app/worker.jar".to_string()))
        );
        let f = image_facts(
            "FROM debian\nENTRYPOINT [\"/bin/sh\", \"-c\", \"exec ruby worker.rb\"]\nCMD [\"ignored\"]\n",
            Platform::Amd64,
        );
        assert_eq!(start_argv(&f).len(), 3, "a shell entry point ignores CMD");
        assert_eq!(program(&f).map(|(l, _)| l), Some(Language::Ruby));
        assert_eq!(
            program(&image_facts("FROM scratch\n", Platform::Amd64)),
            None
        );
    }

    #[test]
    fn real_world_shapes() {
        // Node.js: base image and command agree.
        let (l, why) = detected(
            "FROM node:20-slim\nWORKDIR /usr/src/app\nCOPY package*.json ./\nRUN npm ci --omit=dev\nCOPY . .\nCMD [\"node\", \"worker.js\"]\n",
            &["package.json", "worker.js"],
        );
        assert_eq!(l, Language::Node);
        assert_eq!(why, "the image starts `node worker.js`");
        // Go: built in a golang stage, copied into scratch.
        let (l, why) = detected(
            "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /worker .\n\nFROM scratch\nCOPY --from=build /worker /worker\nENTRYPOINT [\"/worker\"]\n",
            &["go.mod", "main.go"],
        );
        assert_eq!(l, Language::Go);
        assert_eq!(
            why,
            "the final image, on `scratch`, runs what a `golang:1.22` stage builds"
        );
        // The same on distroless and alpine.
        for final_base in ["gcr.io/distroless/static-debian12", "alpine:3.20"] {
            let text = format!("FROM golang:1.22-alpine AS b\nRUN go build -o /w .\nFROM {final_base}\nCOPY --from=b /w /w\nENTRYPOINT [\"/w\"]\n");
            assert_eq!(language(&text), Language::Go, "{final_base}");
        }
        // Java: a Maven build stage, a JRE final stage.
        assert_eq!(
            language("FROM maven:3.9-eclipse-temurin-21 AS build\nRUN mvn package\nFROM eclipse-temurin:21-jre\nCOPY --from=build /src/target/worker.jar /app/worker.jar\nCMD [\"java\", \"-jar\", \"/app/worker.jar\"]\n"),
            Language::Java
        );
        assert_eq!(
            language("FROM amazoncorretto:21\nCOPY worker.jar /app/\nENTRYPOINT java -jar /app/worker.jar\n"),
            Language::Java
        );
        // .NET: SDK build, runtime final.
        let (l, why) = detected(
            "FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build\nRUN dotnet publish -c Release -o /out\nFROM mcr.microsoft.com/dotnet/runtime:8.0\nWORKDIR /app\nCOPY --from=build /out .\nENTRYPOINT [\"dotnet\", \"Worker.dll\"]\n",
            &["Worker.csproj"],
        );
        assert_eq!(l, Language::DotNet);
        assert!(why.contains("dotnet Worker.dll"), "{why}");
        // Ruby.
        assert_eq!(
            language("FROM ruby:3.3-slim\nWORKDIR /app\nCOPY . .\nRUN bundle install\nCMD [\"bundle\", \"exec\", \"shoryuken\", \"-r\", \"./worker.rb\"]\n"),
            Language::Ruby
        );
        // Python: ARG before FROM, a script entry point.
        let (l, why) = detected(
            "ARG PY=3.12\nFROM python:${PY}-slim\nCOPY . /app\nUSER 1000\nENTRYPOINT [\"python\", \"/app/sz_sqs_consumer.py\"]\n",
            &[],
        );
        assert_eq!(l, Language::Python);
        assert_eq!(why, "the image starts `python /app/sz_sqs_consumer.py`");
        // A Lambda base image wins over all else.
        let (l, why) = detected(
            "FROM public.ecr.aws/lambda/nodejs:20\nCOPY index.js ${LAMBDA_TASK_ROOT}\nCMD [\"index.handler\"]\n",
            &["requirements.txt"],
        );
        assert_eq!(l, Language::Node);
        assert!(why.contains("AWS Lambda base image"), "{why}");
        // The command wins over the base image.
        assert_eq!(
            language("FROM python:3.12\nCMD [\"node\", \"x.js\"]\n"),
            Language::Node
        );
    }

    #[test]
    fn project_files_decide_when_the_image_does_not() {
        let d = "FROM debian:bookworm\nCOPY . /app\nCMD [\"/app/run\"]\n";
        assert_eq!(detected(d, &["go.mod"]).0, Language::Go);
        assert_eq!(detected(d, &["Gemfile", "worker.rb"]).0, Language::Ruby);
        assert_eq!(detected(d, &["Orders.Worker.csproj"]).0, Language::DotNet);
        assert_eq!(detected(d, &["pom.xml"]).0, Language::Java);
        assert_eq!(detected(d, &["pyproject.toml"]).0, Language::Python);
        let (l, why) = detected(d, &["package.json", "requirements.txt"]);
        assert_eq!(l, Language::Unknown);
        assert!(why.contains("several languages"), "{why}");
    }

    #[test]
    fn nothing_known_is_unknown_never_python() {
        for d in [
            "FROM debian:bookworm\nCOPY run /run\nCMD [\"/run\"]\n",
            "FROM mycompany/base:1\n",
            "FROM ${UNSET}\nCMD [\"./start\"]\n",
            // Rust is not among the languages: its build stage names none of them.
            "FROM rust:1.80 AS b\nRUN cargo build\nFROM scratch\nCOPY --from=b /w /w\nENTRYPOINT [\"/w\"]\n",
        ] {
            let (l, why) = detected(d, &[]);
            assert_eq!(l, Language::Unknown, "{d}");
            assert!(why.starts_with("nothing names a language"), "{why}");
        }
    }
}

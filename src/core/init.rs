//! `replatform init`'s pure part: what was read of the folder (its name, the
//! Dockerfile's facts, the worker's language, the handler in its code) in, the starting
//! `replatform.yaml` text out, with a `#` comment on every value guessed and on every field still
//! to fill. Pure.
//!
//! The function runs the image with the worker's language's runtime interface client as its
//! entry point and a handler that client can load (docs/config.md#languages): AWS Lambda
//! Developer Guide, "Using a non-AWS base image" for each language
//! (https://docs.aws.amazon.com/lambda/latest/dg/images-create.html#images-ric).

use super::dockerfile::{self, Detected, ImageFacts, Language};

/// What the folder shows.
#[derive(Clone, Debug)]
pub struct Facts {
    /// The folder's name, before sanitising.
    pub folder: String,
    pub image: ImageFacts,
    /// The Python module the image starts (`python app.py` -> `app`, `python /app/w.py` -> `w`),
    /// for a Python worker; it may not be importable (`sqs-reader`).
    pub cmd_module: Option<String>,
    /// The handler found in the build context, if any.
    pub handler: Option<Handler>,
    /// The environment variable the code reads its queue URL from, when the code names one.
    pub queue_env: Option<String>,
    /// The worker's language, and the sign it was chosen on.
    pub language: Detected,
    /// The build context's top-level file names.
    pub files: Vec<String>,
    /// The build context's `package.json`, for a Node.js worker.
    pub package: Option<Package>,
}

/// What a Node.js worker's `package.json` says of how it starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Package {
    /// `main`: the file `require` of the package loads.
    pub main: Option<String>,
    /// The file `scripts.start` runs with node (`node dist/worker.js` -> `dist/worker.js`).
    pub start: Option<String>,
}

/// `package.json`'s `main` and start script; `None` when it is no JSON object.
pub fn package_json(text: &str) -> Option<Package> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if !v.is_object() {
        return None;
    }
    let start = v["scripts"]["start"].as_str().and_then(|s| {
        let argv: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        node_script(&argv)
    });
    Some(Package {
        main: v["main"].as_str().map(str::to_string),
        start,
    })
}

/// The code file the image starts and the handler module it gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The file as the image names it: absolute, or relative to the working directory.
    pub file: String,
    /// The handler's module as the language's runtime interface client loads it: Python's dotted
    /// module (`worker`, `pkg.main`), a Node.js or Ruby file without its extension (`worker`,
    /// `dist/worker`). It may not be importable (`sqs-reader`): see [`importable`].
    pub module: String,
    /// The folder of an absolute file, where the module is loaded from.
    pub dir: Option<String>,
}

/// `path` without one of `exts` as a module: `(module, folder of an absolute path)`; a relative
/// path keeps its folders (joined with `sep`); `None` for another extension or a path leaving
/// the working directory.
fn script_module(path: &str, exts: &[&str], sep: &str) -> Option<(String, Option<String>)> {
    let stem = exts.iter().find_map(|e| path.strip_suffix(e))?;
    if let Some(abs) = stem.strip_prefix('/') {
        let (dir, name) = match abs.rsplit_once('/') {
            Some((d, n)) => (format!("/{d}"), n),
            None => ("/".to_string(), abs),
        };
        return (!name.is_empty()).then(|| (name.to_string(), Some(dir)));
    }
    let rel = stem.trim_start_matches("./");
    if rel.is_empty()
        || rel
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return None;
    }
    Some((rel.replace('/', sep), None))
}

/// The script `node [flags] FILE` runs.
fn node_script(argv: &[String]) -> Option<String> {
    let (first, rest) = argv.split_first()?;
    if !matches!(first.rsplit('/').next().unwrap_or(first), "node" | "nodejs") {
        return None;
    }
    let mut args = rest.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-e" | "--eval" | "-p" | "--print" => return None,
            "-r" | "--require" | "--import" | "--loader" | "--experimental-loader" => {
                args.next();
            }
            _ if a.starts_with('-') => {}
            _ => return Some(a.clone()),
        }
    }
    None
}

/// The code file the image's program runs, for the languages whose handler `init` looks for in
/// the code: Python (`python x.py`, `python -m pkg`), Node.js (`node x.js`, `npm start` through
/// package.json) and Ruby (the first `.rb` file the command names).
pub fn entry(image: &ImageFacts, language: Language, package: Option<&Package>) -> Option<Entry> {
    let program = dockerfile::program(image);
    let argv: &[String] = match &program {
        Some((l, argv)) if *l == language => argv,
        _ => &[],
    };
    let make = |file: &str, exts: &[&str], sep: &str| {
        script_module(file, exts, sep).map(|(module, dir)| Entry {
            file: file.to_string(),
            module,
            dir,
        })
    };
    const NODE: &[&str] = &[".js", ".mjs", ".cjs"];
    match language {
        Language::Python => {
            let mut args = argv.iter().skip(1);
            while let Some(a) = args.next() {
                match a.as_str() {
                    "-m" => {
                        let m = args.next()?;
                        return Some(Entry {
                            file: format!("{}.py", m.replace('.', "/")),
                            module: m.clone(),
                            dir: None,
                        });
                    }
                    "-c" => return None,
                    "-W" | "-X" => {
                        args.next();
                    }
                    _ if a.starts_with('-') => {}
                    _ => return make(a, &[".py"], "."),
                }
            }
            None
        }
        Language::Node => {
            let runner = argv
                .first()
                .map(|p| p.rsplit('/').next().unwrap_or(p).to_string());
            let file = match runner.as_deref() {
                Some("node" | "nodejs") => node_script(argv),
                Some("npx" | "ts-node" | "tsx") => None,
                _ => package.and_then(|p| p.start.clone().or_else(|| p.main.clone())),
            }?;
            make(&file, NODE, "/").or_else(|| make(&format!("{file}.js"), NODE, "/"))
        }
        Language::Ruby => argv
            .iter()
            .skip(1)
            .find(|a| a.ends_with(".rb"))
            .and_then(|a| make(a, &[".rb"], "/")),
        _ => None,
    }
}

const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Whether Python can import this dotted module name: each part an identifier (ASCII letters,
/// digits and `_`, not starting with a digit) and no keyword (Python Language Reference,
/// "Identifiers and keywords").
pub fn importable(module: &str) -> bool {
    module.split('.').all(|p| {
        p.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !PYTHON_KEYWORDS.contains(&p)
    })
}

/// The nearest importable name: `sqs-reader` -> `sqs_reader`, `2fast` -> `_2fast`.
pub fn importable_name(module: &str) -> String {
    module
        .split('.')
        .map(|p| {
            let mut n: String = p
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            if n.is_empty() || n.starts_with(|c: char| c.is_ascii_digit()) {
                n.insert(0, '_');
            }
            if PYTHON_KEYWORDS.contains(&n.as_str()) {
                n.push('_');
            }
            n
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A `def handler(event, context)` found in a module of the build context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handler {
    /// The module, dotted (`app`, `worker.main`).
    pub module: String,
    /// The function reads its event's `Records`: it takes the messages Lambda hands it. A handler
    /// that ignores its event polls the queue itself (the seed article's (docs/seed-article.md)):
    /// an `sqs` trigger would delete the event's messages unprocessed
    /// (docs/config.md#which-trigger).
    pub reads_records: bool,
}

/// `[a-z][a-z0-9-]{0,31}` from a folder's name: lower case, other characters as `-`, no leading
/// digit or dash, no trailing dash; `worker` when nothing is left.
pub fn service_name(folder: &str) -> String {
    let mut out = String::new();
    for c in folder.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if (out.is_empty() && !c.is_ascii_lowercase()) || (c == '-' && out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(32);
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "worker".into()
    } else {
        out
    }
}

/// A readable `service:` name from an ECS service's name, within the 32-character rule. ECS names
/// are up to 255 characters and, made by CloudFormation or the CDK, read like
/// `OrdersStack-OrdersWorkerServiceECBA5E0E-Lm4xYqZ9vT2k`: the stack, the construct's id in
/// CamelCase with an 8-character hash, and a random suffix (AWS CloudFormation User Guide,
/// "Name type": generated names; AWS CDK Developer Guide, "Identifiers"). The generated parts
/// go, the CamelCase words are split, and when the words still run past 32 the first ones go
/// (the stack's, the least particular), whole words kept.
pub fn service_name_from_ecs(ecs: &str) -> String {
    // The words of each meaningful segment, in order.
    let mut segments: Vec<Vec<String>> = Vec::new();
    for segment in ecs.split(|c: char| !c.is_ascii_alphanumeric()) {
        let segment = strip_cdk_hash(segment);
        if !segment.is_empty() && !is_generated(segment) {
            segments.push(camel_words(segment));
        }
    }
    let joined = |segments: &[Vec<String>]| {
        let mut words: Vec<&String> = Vec::new();
        for w in segments.iter().flatten() {
            if words.last() != Some(&w) {
                words.push(w);
            }
        }
        words
            .iter()
            .map(|w| w.as_str())
            .collect::<Vec<_>>()
            .join("-")
    };
    // Too long: the first segments go first (a stack's name, the least particular), then the
    // first words of what is left.
    while segments.len() > 1 && joined(&segments).len() > 32 {
        segments.remove(0);
    }
    let mut words: Vec<String> = segments.into_iter().flatten().collect();
    while words.len() > 1 && words.join("-").len() > 32 {
        words.remove(0);
    }
    service_name(&words.join("-"))
}

/// A construct id's 8-character upper-case hex hash, as the CDK appends it: `ServiceECBA5E0E`.
fn strip_cdk_hash(segment: &str) -> &str {
    let n = segment.len();
    if n > 8 {
        let (head, tail) = segment.split_at(n - 8);
        if tail
            .chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
            && tail.chars().any(|c| c.is_ascii_digit())
        {
            return head;
        }
    }
    segment
}

/// A random suffix CloudFormation generates (`Lm4xYqZ9vT2k`, `1A2B3C4D5E6F`): 10 characters or
/// more, letters and digits mixed, no word.
fn is_generated(segment: &str) -> bool {
    segment.len() >= 10
        && segment.chars().any(|c| c.is_ascii_digit())
        && segment.chars().any(|c| c.is_ascii_alphabetic())
        && segment.chars().filter(|c| c.is_ascii_digit()).count() * 5 >= segment.len()
}

/// `QueueProcessingService` -> queue, processing, service; `SQSWorker2` -> sqs, worker2.
fn camel_words(segment: &str) -> Vec<String> {
    let chars: Vec<char> = segment.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let boundary = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase() || p.is_ascii_digit() || next_lower && p.is_ascii_uppercase()
            });
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.push(c.to_ascii_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The Python module a command runs: `python app.py` -> `app`, `python3 -m pkg.main` ->
/// `pkg.main`, `/usr/local/bin/python -u src/w.py` -> `src.w`.
pub fn cmd_module(argv: &[String]) -> Option<String> {
    let (first, rest) = argv.split_first()?;
    let prog = first.rsplit('/').next().unwrap_or(first);
    if !prog.starts_with("python") {
        return None;
    }
    let mut args = rest.iter();
    while let Some(a) = args.next() {
        if a == "-m" {
            return args.next().cloned();
        }
        if a.starts_with('-') {
            continue;
        }
        return module_of_path(a);
    }
    None
}

/// `worker/main.py` -> `worker.main`; `None` for what is no Python file.
pub fn module_of_path(path: &str) -> Option<String> {
    let p = path.trim_start_matches("./").strip_suffix(".py")?;
    if p.is_empty() || p.starts_with('/') || p.split('/').any(|s| s.is_empty() || s == "..") {
        return None;
    }
    Some(p.replace('/', "."))
}

/// Whether this Python source defines `handler(event, context)` at module level, and whether that
/// function reads its event's `Records`.
pub fn python_handler(source: &str) -> Option<bool> {
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line
            .strip_prefix("def handler(")
            .or_else(|| line.strip_prefix("async def handler("))
        else {
            continue;
        };
        let params: Vec<&str> = rest
            .split(')')
            .next()
            .unwrap_or("")
            .split(',')
            .map(|p| p.split(':').next().unwrap_or("").trim())
            .filter(|p| !p.is_empty())
            .collect();
        if params.len() != 2 {
            continue;
        }
        let event = params[0];
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| l.trim().is_empty() || l.starts_with(' ') || l.starts_with('\t'))
            .collect();
        let reads = body.iter().any(|l| {
            let l = l.replace(' ', "");
            l.contains(&format!("{event}[\"Records\"]"))
                || l.contains(&format!("{event}['Records']"))
                || l.contains(&format!("{event}.get(\"Records\""))
                || l.contains(&format!("{event}.get('Records'"))
        });
        return Some(reads);
    }
    None
}

/// Whether this Node.js source exports `handler` (CommonJS `exports.handler =` or ES `export
/// const handler`, `export async function handler`), and whether it reads its event's `Records`.
pub fn node_handler(source: &str) -> Option<bool> {
    let exports = source.lines().any(|l| {
        let l = l.trim_start();
        let squeezed: String = l.chars().filter(|c| !c.is_whitespace()).collect();
        squeezed.starts_with("exports.handler=")
            || squeezed.starts_with("module.exports.handler=")
            || [
                "export const handler",
                "export let handler",
                "export function handler",
                "export async function handler",
            ]
            .iter()
            .any(|p| l.starts_with(p))
            || (squeezed.starts_with("module.exports={") && squeezed.contains("handler"))
    });
    exports.then(|| {
        source.contains(".Records")
            || source.contains("[\"Records\"]")
            || source.contains("['Records']")
    })
}

/// Whether this Ruby source defines `handler(event:, context:)` at its top level, and whether it
/// reads its event's `Records`.
pub fn ruby_handler(source: &str) -> Option<bool> {
    let defines = source.lines().any(|l| {
        let squeezed: String = l.chars().filter(|c| !c.is_whitespace()).collect();
        l.starts_with("def ") && squeezed.starts_with("defhandler(event:,context:)")
    });
    defines.then(|| source.contains("['Records']") || source.contains("[\"Records\"]"))
}

/// The environment variable a source reads an SQS queue URL from: the first one read whose name
/// has `QUEUE` in it, as Python (`os.environ[...]`, `os.environ.get(...)`, `os.getenv(...)`),
/// Node.js (`process.env.NAME`, `process.env[...]`), Ruby (`ENV[...]`, `ENV.fetch(...)`), Go
/// (`os.Getenv(...)`), Java (`System.getenv(...)`) and .NET
/// (`Environment.GetEnvironmentVariable(...)`) read one.
pub fn queue_env(source: &str) -> Option<String> {
    let is_queue = |name: &str| {
        !name.is_empty()
            && name.to_ascii_uppercase().contains("QUEUE")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    for (at, _) in source.match_indices("process.env.") {
        let name: String = source[at + "process.env.".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if is_queue(&name) {
            return Some(name);
        }
    }
    for opener in [
        "os.environ.get(",
        "os.getenv(",
        "os.environ[",
        "process.env[",
        "ENV[",
        "ENV.fetch(",
        "os.Getenv(",
        "os.LookupEnv(",
        "System.getenv(",
        "Environment.GetEnvironmentVariable(",
    ] {
        for (at, _) in source.match_indices(opener) {
            let rest = &source[at + opener.len()..];
            let rest = rest.trim_start();
            let Some(q) = rest
                .chars()
                .next()
                .filter(|c| *c == '"' || *c == '\'' || *c == '`')
            else {
                continue;
            };
            let name: String = rest[1..].chars().take_while(|c| *c != q).collect();
            if is_queue(&name) {
                return Some(name);
            }
        }
    }
    None
}

/// What `init` writes as `.dockerignore` when the folder has none: what the image does not need,
/// and what `replatform` leaves out of the image's hash.
pub const DOCKERIGNORE: &str = "# What the image does not need (written by `replatform init`). replatform hashes every file of\n# the build context not listed here to name the image's tag: listing replatform.yaml means a\n# config edit does not rebuild the image.\nreplatform.yaml\n.replatform\n.git\n__pycache__\n*.pyc\n.venv\n";

/// What the function runs, each value with its comment, for the worker's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub entry_point: (Vec<String>, String),
    pub command: (Vec<String>, String),
    pub working_directory: (String, String),
    /// The handler found in the code, as `command` names it.
    pub handler: Option<String>,
    /// The fields left to write or fill besides the network, as `init` reports them.
    pub left: Vec<String>,
}

/// `/usr/local/bin/python` on the official images, where the image's `python` lives, else the
/// interpreter the image starts when it names one by path (a virtual environment's), else
/// `python3`.
fn python_for(facts: &ImageFacts) -> String {
    if let Some((Language::Python, argv)) = dockerfile::program(facts) {
        let prog = &argv[0];
        let name = prog.rsplit('/').next().unwrap_or(prog);
        if prog.starts_with('/') && name.starts_with("python") {
            return prog.clone();
        }
    }
    match facts.base.as_deref() {
        Some(b)
            if b.starts_with("python:")
                || b.starts_with("docker.io/library/python:")
                || b.contains("/python:") =>
        {
            "/usr/local/bin/python".into()
        }
        _ => "python3".into(),
    }
}

fn is_lambda_base(facts: &ImageFacts) -> bool {
    facts.base.as_deref().is_some_and(|b| {
        b.starts_with("public.ecr.aws/lambda/") || b.starts_with("amazon/aws-lambda-")
    })
}

/// `path` made absolute against the working directory, when it is known.
fn in_workdir(path: &str, workdir: Option<&str>) -> String {
    match workdir {
        _ if path.starts_with('/') => path.to_string(),
        Some(w) => format!(
            "{}/{}",
            w.trim_end_matches('/'),
            path.trim_start_matches("./")
        ),
        None => path.to_string(),
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The entry point, handler and working directory for the worker's language: its runtime
/// interface client, and a handler name that client loads (docs/config.md#languages).
pub fn run(f: &Facts) -> Run {
    let language = f.language.language;
    let lambda_base = is_lambda_base(&f.image);
    let entry = entry(&f.image, language, f.package.as_ref());
    let workdir = f.image.workdir.as_deref();
    let mut left = Vec::new();
    let mut handler = None;
    let mut dir = entry
        .as_ref()
        .and_then(|e| e.dir.clone().map(|d| (d, e.file.clone())));
    let (entry_point, command) = match language {
        Language::Python => {
            let module = f
                .handler
                .as_ref()
                .map(|h| h.module.clone())
                .or_else(|| f.cmd_module.clone())
                .or_else(|| entry.as_ref().map(|e| e.module.clone()))
                .unwrap_or_else(|| "app".into());
            let file = format!("{}.py", module.replace('.', "/"));
            let command = if !importable(&module) {
                let fixed = importable_name(&module);
                let fixed_file = format!("{}.py", fixed.replace('.', "/"));
                left.push(format!(
                    "lambda.command (`{file}` is not importable: rename it `{fixed_file}`)"
                ));
                let found = if f.handler.is_some() {
                    "its `handler(event, context)`"
                } else {
                    "a `handler(event, context)` that polls the queue once"
                };
                (
                    s(&[&format!("{fixed}.handler")]),
                    format!("TO WRITE: Python cannot import `{file}` (a module name is letters, digits and `_`,\nnot starting with a digit): rename it `{fixed_file}` (and the Dockerfile's command),\nor add `{fixed_file}` with {found}"),
                )
            } else if f.handler.is_some() {
                handler = Some(format!("{module}.handler"));
                (
                    s(&[&format!("{module}.handler")]),
                    format!("guessed: `handler(event, context)` in {module}"),
                )
            } else {
                left.push("lambda.command (write the handler it names)".into());
                (
                    s(&[&format!("{module}.handler")]),
                    format!("TO WRITE: no `handler(event, context)` found; add one to {module} that polls the queue once"),
                )
            };
            (
                (
                    vec![python_for(&f.image), "-m".into(), "awslambdaric".into()],
                    "guessed: Python's runtime interface client: the image must install awslambdaric\n(https://docs.aws.amazon.com/lambda/latest/dg/python-image.html)".to_string(),
                ),
                command,
            )
        }
        Language::Node => {
            let module = f
                .handler
                .as_ref()
                .map(|h| h.module.clone())
                .or_else(|| entry.as_ref().map(|e| e.module.clone()))
                .unwrap_or_else(|| "index".into());
            let file = entry.as_ref().map_or_else(
                || format!("{module}.js"),
                |e| e.file.rsplit('/').next().unwrap_or(&e.file).to_string(),
            );
            let command = if f.handler.is_some() {
                handler = Some(format!("{module}.handler"));
                (
                    s(&[&format!("{module}.handler")]),
                    format!(
                        "guessed: `handler` exported by {file} (FILE.EXPORT, the file without .js)"
                    ),
                )
            } else {
                left.push("lambda.command (export the handler it names)".into());
                (
                    s(&[&format!("{module}.handler")]),
                    format!("TO WRITE: no exported `handler` found; export `handler(event, context)` from {file}\n(FILE.EXPORT, the file without .js) that polls the queue once"),
                )
            };
            (
                (
                    s(&["/usr/local/bin/npx", "aws-lambda-ric"]),
                    "guessed: Node.js's runtime interface client: the image must install the npm package\naws-lambda-ric (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-image.html)".to_string(),
                ),
                command,
            )
        }
        Language::Java => {
            let program = dockerfile::program(&f.image).filter(|(l, _)| *l == Language::Java);
            let argv = program.map(|(_, a)| a).unwrap_or_default();
            let java = match argv.first() {
                Some(p) if p.starts_with('/') => p.clone(),
                _ if f
                    .image
                    .base
                    .as_deref()
                    .is_some_and(|b| b.contains("eclipse-temurin")) =>
                {
                    "/opt/java/openjdk/bin/java".into()
                }
                _ => "/usr/bin/java".into(),
            };
            let mut class_path = None;
            let mut main_class = None;
            let mut args = argv.iter().skip(1);
            while let Some(a) = args.next() {
                match a.as_str() {
                    "-jar" | "-cp" | "-classpath" | "--class-path" => {
                        class_path = args.next().map(|p| in_workdir(p, workdir));
                        if a == "-jar" {
                            break;
                        }
                    }
                    _ if a.starts_with('-') => {}
                    _ => {
                        main_class = Some(a.clone());
                        break;
                    }
                }
            }
            let class_path = class_path.unwrap_or_else(|| {
                format!("{}/*", workdir.unwrap_or("/app").trim_end_matches('/'))
            });
            let package = main_class
                .as_deref()
                .and_then(|c| c.rsplit_once('.'))
                .map_or("com.example", |(p, _)| p);
            left.push("lambda.command (the Java handler class)".into());
            (
                (
                    vec![java, "-cp".into(), class_path, "com.amazonaws.services.lambda.runtime.api.client.AWSLambda".into()],
                    "guessed: Java's runtime interface client (its main class): the class path must hold\ncom.amazonaws:aws-lambda-java-runtime-interface-client\n(https://docs.aws.amazon.com/lambda/latest/dg/java-image.html)".to_string(),
                ),
                (
                    s(&[&format!("{package}.Handler::handleRequest")]),
                    "TO FILL: the handler, package.Class::method: a class implementing RequestHandler\n(aws-lambda-java-core) whose method polls the queue once".into(),
                ),
            )
        }
        Language::DotNet => {
            let program = dockerfile::program(&f.image).filter(|(l, _)| *l == Language::DotNet);
            let dll =
                program.and_then(|(_, a)| a.into_iter().skip(1).find(|w| w.ends_with(".dll")));
            let (folder, assembly) = match &dll {
                Some(d) => {
                    let path = in_workdir(d, workdir);
                    let (folder, file) = path
                        .rsplit_once('/')
                        .map_or((String::new(), path.clone()), |(a, b)| {
                            (a.to_string(), b.to_string())
                        });
                    (folder, file.trim_end_matches(".dll").to_string())
                }
                None => {
                    let project = f
                        .files
                        .iter()
                        .find_map(|n| {
                            n.strip_suffix(".csproj")
                                .or_else(|| n.strip_suffix(".fsproj"))
                        })
                        .unwrap_or("Worker");
                    (
                        workdir.unwrap_or("/app").trim_end_matches('/').to_string(),
                        project.to_string(),
                    )
                }
            };
            let folder = if folder.is_empty() {
                "/".to_string()
            } else {
                folder
            };
            let at = |name: &str| format!("{}/{name}", folder.trim_end_matches('/'));
            left.push("lambda.command (the .NET handler method)".into());
            dir = dir.or_else(|| {
                dll.is_some()
                    .then(|| (folder.clone(), format!("{assembly}.dll")))
            });
            (
                (
                    vec![
                        "dotnet".into(),
                        "exec".into(),
                        "--depsfile".into(),
                        at(&format!("{assembly}.deps.json")),
                        "--runtimeconfig".into(),
                        at(&format!("{assembly}.runtimeconfig.json")),
                        at("Amazon.Lambda.RuntimeSupport.dll"),
                    ],
                    format!("guessed: .NET's runtime interface client, Amazon.Lambda.RuntimeSupport, run with the\napp's deps and runtimeconfig as the AWS .NET base image's bootstrap runs it: the app must\nreference the NuGet package Amazon.Lambda.RuntimeSupport, which `dotnet publish` puts beside\n{assembly}.dll (https://docs.aws.amazon.com/lambda/latest/dg/csharp-image.html)"),
                ),
                (
                    s(&[&format!("{assembly}::{assembly}.Function::FunctionHandler")]),
                    "TO FILL: the handler, Assembly::Namespace.Class::Method, a method that polls the queue once"
                        .into(),
                ),
            )
        }
        Language::Ruby => {
            let module = f
                .handler
                .as_ref()
                .map(|h| h.module.clone())
                .or_else(|| entry.as_ref().map(|e| e.module.clone()))
                .unwrap_or_else(|| "app".into());
            let file = format!("{}.rb", module.rsplit('/').next().unwrap_or(&module));
            let command = if f.handler.is_some() {
                handler = Some(format!("{module}.handler"));
                (
                    s(&[&format!("{module}.handler")]),
                    format!("guessed: `handler(event:, context:)` in {file} (FILE.METHOD)"),
                )
            } else {
                left.push("lambda.command (write the handler it names)".into());
                (
                    s(&[&format!("{module}.handler")]),
                    format!("TO WRITE: no `handler(event:, context:)` found; add one to {file} (FILE.METHOD)\nthat polls the queue once"),
                )
            };
            let ric = if f
                .image
                .base
                .as_deref()
                .is_some_and(|b| b.starts_with("ruby:") || b.contains("/ruby:"))
            {
                "/usr/local/bundle/bin/aws_lambda_ric"
            } else {
                "aws_lambda_ric"
            };
            (
                (
                    s(&[ric]),
                    "guessed: Ruby's runtime interface client: the image must install the gem aws_lambda_ric\n(https://docs.aws.amazon.com/lambda/latest/dg/ruby-image.html)".to_string(),
                ),
                command,
            )
        }
        Language::Go => {
            let commands = dockerfile::start_commands(&dockerfile::start_argv(&f.image));
            let binary = commands
                .first()
                .and_then(|c| c.first())
                .map(|b| in_workdir(b, workdir));
            left.push("lambda.command (Go: the binary must call lambda.Start)".into());
            let entry_point = match binary {
                Some(b) => (
                    vec![b],
                    "guessed: the binary the image starts. Go has no runtime interface client: TO WRITE,\nthe binary itself must call lambda.Start (github.com/aws/aws-lambda-go/lambda)\n(https://docs.aws.amazon.com/lambda/latest/dg/go-image.html)".to_string(),
                ),
                None => {
                    left.push("lambda.entry_point (the Go binary)".into());
                    (
                        s(&["/path/to/binary"]),
                        "TO FILL: the binary's path. Go has no runtime interface client: the binary itself\nmust call lambda.Start (github.com/aws/aws-lambda-go/lambda)".to_string(),
                    )
                }
            };
            let command = match (&f.image.entrypoint, &f.image.cmd) {
                (Some(_), Some(cmd)) if !cmd.is_empty() => (
                    cmd.clone(),
                    "guessed: the Dockerfile's CMD, the binary's arguments as on ECS".into(),
                ),
                _ => (
                    s(&["lambda"]),
                    "TO FILL: a placeholder, as the field cannot be empty: the binary's arguments (a flag\nor subcommand on which it calls lambda.Start instead of polling, or one it ignores)".into(),
                ),
            };
            ((entry_point.0, entry_point.1), command)
        }
        Language::Unknown => {
            left.push("lambda.entry_point and lambda.command (no language known)".into());
            (
                (
                    s(&["/TO-FILL/runtime-interface-client"]),
                    "TO FILL: no language known (see above): name its runtime interface client\n(https://docs.aws.amazon.com/lambda/latest/dg/images-create.html#images-ric), or run the\nimage unchanged with the polling-worker trigger, `type: bridge`".to_string(),
                ),
                (
                    s(&["TO-FILL.handler"]),
                    "TO FILL: the handler, in the form that runtime interface client loads".into(),
                ),
            )
        }
    };
    // On an AWS Lambda base image, its own entry point runs the handler its CMD names.
    let (entry_point, command) = if lambda_base {
        let ep = match &f.image.entrypoint {
            Some(e) => (
                e.clone(),
                "the Dockerfile's ENTRYPOINT, on an AWS Lambda base image".to_string(),
            ),
            None => (
                s(&["/lambda-entrypoint.sh"]),
                "guessed: the AWS Lambda base image's own entry point".to_string(),
            ),
        };
        let cmd = match (&f.image.entrypoint, &f.image.cmd) {
            (None, Some(c)) if !c.is_empty() => {
                left.retain(|l| !l.starts_with("lambda.command"));
                (
                    c.clone(),
                    "the Dockerfile's CMD: the handler the base image runs".to_string(),
                )
            }
            _ => command,
        };
        left.retain(|l| !l.starts_with("lambda.entry_point"));
        (ep, cmd)
    } else {
        (entry_point, command)
    };
    let working_directory = match (dir, workdir) {
        (Some((d, file)), _) => (
            d,
            format!("guessed: the folder of {file}, which the image starts: the handler is loaded from here"),
        ),
        (None, Some(w)) => (
            w.to_string(),
            match language {
                Language::Python => "the Dockerfile's WORKDIR: the handler's module is imported from here",
                Language::Go | Language::Unknown => "the image's working directory, as on ECS",
                _ => "the Dockerfile's WORKDIR: the handler is loaded from here",
            }
            .to_string(),
        ),
        (None, None) if lambda_base => (
            "/var/task".to_string(),
            "the AWS Lambda base image's LAMBDA_TASK_ROOT".to_string(),
        ),
        (None, None) => (
            "/".to_string(),
            "guessed: the Dockerfile sets no WORKDIR, so the base image's (`/` unless it sets one)".to_string(),
        ),
    };
    Run {
        entry_point,
        command,
        working_directory,
        handler,
        left,
    }
}

fn flow(argv: &[String]) -> String {
    let items: Vec<String> = argv
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(", "))
}

/// Pads `line` to the comment column, then the comment.
fn commented(out: &mut String, line: &str, comment: &str) {
    let mut first = true;
    for c in comment.lines() {
        let head = if first { line } else { "" };
        let gap = if head.len() >= 32 { "  " } else { "" };
        out.push_str(&format!("{head:<32}{gap}# {c}\n"));
        first = false;
    }
}

/// Whether the worker runs unchanged under the `bridge` trigger: a polling worker with no
/// handler, in any language (docs/bridge.md). An image built on a Lambda base image is started
/// by its own runtime and keeps its handler.
pub fn bridged(f: &Facts) -> bool {
    f.handler.is_none() && !is_lambda_base(&f.image)
}

/// The `lambda:` lines that say how the image runs: the language found and why, then
/// `entry_point`, `command` and `working_directory`, each with its comment; for a worker with no
/// handler, none of them (the `bridge` trigger runs the image's own), and what a handler would
/// take instead, commented out. `init --from-ecs` writes the same lines from the running
/// container and the folder's code.
pub fn lambda_code(o: &mut String, f: &Facts) -> Run {
    let run = run(f);
    match f.language.language {
        Language::Unknown => o.push_str(&format!("  # language: unknown: {}\n", f.language.reason)),
        l => o.push_str(&format!(
            "  # language: {}, guessed: {}\n",
            l.name(),
            f.language.reason
        )),
    }
    if bridged(f) {
        o.push_str("  # no handler found: the worker runs unchanged, its own ENTRYPOINT and CMD (ecs.command),\n");
        o.push_str(
            "  # under the `bridge` trigger below (docs/bridge.md). With a handler instead, the\n",
        );
        o.push_str("  # `sqs` or `schedule` trigger would start it with:\n");
        o.push_str(&format!(
            "  #   entry_point: {}\n",
            flow(&run.entry_point.0)
        ));
        o.push_str(&format!("  #   command: {}\n", flow(&run.command.0)));
        o.push_str(&format!(
            "  #   working_directory: {}\n",
            run.working_directory.0
        ));
        return Run {
            handler: None,
            left: Vec::new(),
            ..run
        };
    }
    commented(
        o,
        &format!("  entry_point: {}", flow(&run.entry_point.0)),
        &run.entry_point.1,
    );
    commented(
        o,
        &format!("  command: {}", flow(&run.command.0)),
        &run.command.1,
    );
    commented(
        o,
        &format!("  working_directory: {}", run.working_directory.0),
        &run.working_directory.1,
    );
    run
}

/// The `replatform.yaml` text for these facts. `validate` accepts it once `ecs.subnets` and
/// `ecs.security_groups` are filled; it reports exactly those as errors until then.
pub fn config_text(f: &Facts) -> String {
    let service = service_name(&f.folder);
    let mut o = String::new();
    o.push_str("# Written by `replatform init`. Every `guessed` value was inferred from this folder: check it.\n");
    o.push_str("# `replatform validate` says what is left to fill.\n");
    let why = if service == f.folder {
        "guessed: this folder's name"
    } else {
        "guessed: this folder's name, made [a-z][a-z0-9-]{0,31}"
    };
    commented(&mut o, &format!("service: {service}"), why);
    o.push('\n');
    o.push_str("image:\n");
    commented(&mut o, "  context: .", "the folder this file is in");
    commented(&mut o, "  dockerfile: Dockerfile", "found here");
    o.push('\n');
    let url_env = f
        .queue_env
        .clone()
        .unwrap_or_else(|| "SQS_QUEUE_URL".into());
    let sqs = f.handler.as_ref().is_some_and(|h| h.reads_records);
    let bridge = bridged(f);
    o.push_str("queue:\n");
    match &f.queue_env {
        Some(name) => commented(
            &mut o,
            &format!("  url_env: {name}"),
            "guessed: the variable the code reads its queue URL from",
        ),
        None => commented(
            &mut o,
            &format!("  url_env: {url_env}"),
            "guessed (the default): the code names no queue variable; set the one it reads",
        ),
    }
    if sqs || bridge {
        commented(
            &mut o,
            "  visibility_timeout: 180s",
            "6 x lambda.timeout, AWS's rule for SQS triggers (docs/pitfalls.md#p7)",
        );
    } else {
        commented(
            &mut o,
            "  visibility_timeout: 60s",
            ">= lambda.timeout, so a message is not redelivered while handled",
        );
    }
    o.push_str("  dead_letter:\n");
    commented(
        &mut o,
        "    max_receive_count: 5",
        "a message that failed 5 times is parked",
    );
    o.push('\n');
    o.push_str("ecs:\n");
    if let Some(cmd) = &f.image.cmd {
        commented(
            &mut o,
            &format!("  command: {}", flow(cmd)),
            "the Dockerfile's CMD, stated because Lambda replaces it",
        );
    }
    commented(
        &mut o,
        "  cpu: 256",
        "guessed: the smallest Fargate size; 256/512 is a valid pair",
    );
    commented(&mut o, "  memory: 512", "guessed: MiB, the pair of cpu 256");
    commented(&mut o, "  subnets: []", "TO FILL: the subnets the tasks run in, e.g. [subnet-0123456789abcdef0];\nprivate subnets need a route to SQS and ECR (NAT or VPC endpoints)");
    commented(
        &mut o,
        "  security_groups: []",
        "TO FILL: the tasks' security groups, e.g. [sg-0123456789abcdef0]",
    );
    o.push_str("  scaling:\n");
    commented(&mut o, "    min: 0", "no tasks while the queue is empty");
    commented(&mut o, "    max: 10", "guessed");
    o.push('\n');
    o.push_str("lambda:\n");
    commented(
        &mut o,
        "  memory: 512",
        "the ECS task's size, for a like-for-like comparison",
    );
    lambda_code(&mut o, f);
    if bridge {
        commented(
            &mut o,
            "  timeout: 30s",
            "guessed: one batch; see queue.visibility_timeout",
        );
        commented(
            &mut o,
            "  reserved_concurrency: 2",
            ">= trigger.max_concurrency, or throttled pollers dead-letter messages (docs/pitfalls.md#p8)",
        );
        o.push_str("  trigger:\n");
        commented(
            &mut o,
            "    type: bridge",
            "the unchanged polling worker, handed each batch by the supervisor\n`up` adds to the image (docs/bridge.md)",
        );
        commented(
            &mut o,
            "    batch_size: 10",
            "ReceiveMessage's maximum, as on ECS",
        );
        commented(&mut o, "    max_concurrency: 2", "the least AWS accepts");
    } else if sqs {
        commented(
            &mut o,
            "  timeout: 30s",
            "guessed: one batch; see queue.visibility_timeout",
        );
        commented(
            &mut o,
            "  reserved_concurrency: 2",
            ">= trigger.max_concurrency, or throttled pollers dead-letter messages (docs/pitfalls.md#p8)",
        );
        o.push_str("  trigger:\n");
        commented(
            &mut o,
            "    type: sqs",
            "guessed: the handler reads its event's Records",
        );
        commented(
            &mut o,
            "    batch_size: 10",
            "ReceiveMessage's maximum, as on ECS",
        );
        commented(&mut o, "    max_concurrency: 2", "the least AWS accepts");
    } else {
        commented(
            &mut o,
            "  timeout: 60s",
            "guessed: must exceed one poll (wait time + processing)",
        );
        commented(
            &mut o,
            "  reserved_concurrency: 1",
            "keeps a late scheduled invocation from overlapping the previous one",
        );
        o.push_str("  trigger:\n");
        let why = match (f.language.language, &f.handler) {
            (_, Some(_)) => "guessed: the handler ignores its event and polls the queue itself;\nan sqs trigger would delete messages it never reads; `type: bridge` runs the\nworker's own loop instead, scaled as `sqs` (docs/bridge.md)",
            _ => "guessed: the handler polls the queue once, as the worker does (`type: sqs`\nif it reads the event's Records instead)",
        };
        commented(&mut o, "    type: schedule", why);
        commented(&mut o, "    rate: 1m", "how often it polls");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn service_names_from_ecs_read_as_words_within_32() {
        for (ecs, want) in [
            ("orders-worker", "orders-worker"),
            ("OrdersWorker", "orders-worker"),
            (
                "OrdersStack-OrdersWorkerServiceECBA5E0E-Lm4xYqZ9vT2k",
                "orders-worker-service",
            ),
            (
                "PaymentsPipelineStack-QueueProcessingFargateService1A2B3C4D-9f8E7d6C5b4A",
                "queue-processing-fargate-service",
            ),
            ("SQSWorker2", "sqs-worker2"),
            ("sz_sqs_consumer", "sz-sqs-consumer"),
        ] {
            let got = service_name_from_ecs(ecs);
            assert_eq!(got, want, "{ecs}");
            assert!(got.len() <= 32);
        }
        let long = "A".repeat(90);
        assert_eq!(service_name_from_ecs(&long).len(), 32);
    }

    #[test]
    fn service_names_are_sanitised() {
        assert_eq!(service_name("sqs-worker"), "sqs-worker");
        assert_eq!(service_name("My_Worker 2"), "my-worker-2");
        assert_eq!(service_name("2fast--Queue."), "fast-queue");
        assert_eq!(service_name("..."), "worker");
        assert_eq!(service_name(&"a".repeat(40)).len(), 32);
        assert_eq!(
            service_name("abcdefghijklmnopqrstuvwxyzabcde-x"),
            "abcdefghijklmnopqrstuvwxyzabcde"
        );
    }

    #[test]
    fn modules_of_commands() {
        assert_eq!(cmd_module(&s(&["python", "app.py"])), Some("app".into()));
        assert_eq!(
            cmd_module(&s(&["/usr/local/bin/python3", "-u", "src/w.py"])),
            Some("src.w".into())
        );
        assert_eq!(
            cmd_module(&s(&["python", "-m", "pkg.main"])),
            Some("pkg.main".into())
        );
        assert_eq!(cmd_module(&s(&["node", "app.js"])), None);
        assert_eq!(cmd_module(&s(&["python", ""])), None);
        assert_eq!(module_of_path("../x.py"), None);
    }

    #[test]
    fn handlers_and_what_they_read() {
        assert_eq!(python_handler("def handler(event, context):\n    for r in event.get(\"Records\", []):\n        pass\n"), Some(true));
        assert_eq!(
            python_handler("def handler(ev, ctx):\n    return [x for x in ev['Records']]\n"),
            Some(true)
        );
        let article = "def handler(event, context):\n    get_response = sqs_client.receive_message(QueueUrl=QUEUE_URL)\n\ndef other(event):\n    event['Records']\n";
        assert_eq!(python_handler(article), Some(false));
        assert_eq!(
            python_handler("def handle(event, context):\n    pass\n"),
            None
        );
        assert_eq!(
            python_handler("    def handler(event, context):\n        pass\n"),
            None
        );
        assert_eq!(python_handler("def handler(event):\n    pass\n"), None);
    }

    #[test]
    fn queue_variables_in_code() {
        assert_eq!(
            queue_env("QUEUE_URL = os.environ.get(\"SQS_QUEUE_URL\", \"\")"),
            Some("SQS_QUEUE_URL".into())
        );
        assert_eq!(
            queue_env("x = os.getenv('JOBS_QUEUE')"),
            Some("JOBS_QUEUE".into())
        );
        assert_eq!(queue_env("x = os.environ['REGION']"), None);
    }

    fn facts(handler: Option<Handler>) -> Facts {
        Facts {
            folder: "Orders Worker".into(),
            image: ImageFacts {
                base: Some("python:3.12-slim".into()),
                workdir: Some("/srv".into()),
                cmd: Some(s(&["python", "app.py"])),
                entrypoint: None,
                build_bases: Vec::new(),
            },
            cmd_module: Some("app".into()),
            handler,
            queue_env: Some("JOBS_URL_QUEUE".into()),
            language: Detected {
                language: Language::Python,
                reason: "the image starts `python app.py`".into(),
            },
            files: s(&["Dockerfile", "app.py", "requirements.txt"]),
            package: None,
        }
    }

    fn yaml(text: &str) -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn an_event_handler_gets_the_sqs_trigger() {
        let text = config_text(&facts(Some(Handler {
            module: "app".into(),
            reads_records: true,
        })));
        let v = yaml(&text);
        assert_eq!(v["service"], "orders-worker");
        assert_eq!(v["lambda"]["trigger"]["type"], "sqs");
        assert_eq!(v["lambda"]["command"][0], "app.handler");
        assert_eq!(v["lambda"]["working_directory"], "/srv");
        assert_eq!(v["lambda"]["entry_point"][0], "/usr/local/bin/python");
        assert_eq!(v["queue"]["url_env"], "JOBS_URL_QUEUE");
        assert_eq!(v["ecs"]["command"][1], "app.py");
        assert!(
            text.lines()
                .any(|l| l.contains("subnets: []") && l.contains("TO FILL")),
            "{text}"
        );
    }

    #[test]
    fn a_polling_handler_gets_the_schedule_trigger_and_no_handler_the_bridge() {
        let text = config_text(&facts(Some(Handler {
            module: "app".into(),
            reads_records: false,
        })));
        let v = yaml(&text);
        assert_eq!(v["lambda"]["trigger"]["type"], "schedule");
        assert_eq!(v["lambda"]["command"][0], "app.handler");
        assert!(!text.contains("TO WRITE"), "{text}");

        let f = facts(None);
        let text = config_text(&f);
        let v = yaml(&text);
        assert_eq!(v["lambda"]["trigger"]["type"], "bridge", "{text}");
        for key in ["entry_point", "command", "working_directory"] {
            assert!(v["lambda"][key].is_null(), "{key}: {text}");
        }
        // What a handler would take is there to read, commented out.
        assert!(text.contains("  #   command: [\"app.handler\"]"), "{text}");
        assert!(!text.contains("TO WRITE"), "{text}");
        assert!(run_left(&f).is_empty());
        let config = parses_once_filled(&text);
        assert!(config.lambda.trigger.is_bridge());
        // The mapping's rule for the queue: 6 x the timeout.
        assert_eq!(v["queue"]["visibility_timeout"], "180s");
    }

    fn run_left(f: &Facts) -> Vec<String> {
        let mut o = String::new();
        lambda_code(&mut o, f).left
    }

    #[test]
    fn every_value_line_has_a_comment_or_is_a_section() {
        let text = config_text(&facts(None));
        for l in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        {
            assert!(
                l.contains('#') || l.trim_end().ends_with(':'),
                "no comment: {l}"
            );
        }
    }

    #[test]
    fn importable_module_names() {
        for m in ["app", "worker.main", "_private", "sz_sqs_consumer", "v2"] {
            assert!(importable(m), "{m}");
        }
        for (m, fixed) in [
            ("sqs-reader", "sqs_reader"),
            ("2fast", "_2fast"),
            ("pkg.my-mod", "pkg.my_mod"),
            ("class", "class_"),
            ("", "_"),
        ] {
            assert!(!importable(m), "{m}");
            assert_eq!(importable_name(m), fixed);
            assert!(importable(&importable_name(m)), "{m}");
        }
    }

    /// Facts as `app::init` reads them: the Dockerfile's, the language it shows, the handler.
    fn facts_of(folder: &str, dockerfile: &str, files: &[&str], handler: Option<Handler>) -> Facts {
        let image = dockerfile::image_facts(dockerfile, crate::core::config::Platform::Amd64);
        let files = s(files);
        let language = dockerfile::detect(&image, &files);
        let e = entry(&image, language.language, None);
        Facts {
            folder: folder.into(),
            cmd_module: e
                .filter(|_| language.language == Language::Python)
                .map(|e| e.module),
            image,
            handler,
            queue_env: None,
            language,
            files,
            package: None,
        }
    }

    /// The config text with the network filled parses and passes every check.
    fn parses_once_filled(text: &str) -> crate::core::config::Config {
        let filled = text
            .replacen("subnets: []", "subnets: [subnet-0123456789abcdef0]", 1)
            .replacen(
                "security_groups: []",
                "security_groups: [sg-0123456789abcdef0]",
                1,
            )
            // What `validate` names as left to fill where no language is known.
            .replace("/TO-FILL/runtime-interface-client", "/usr/local/bin/ric")
            .replace("TO-FILL.handler", "worker.handler");
        crate::core::config::parse(&filled).unwrap_or_else(|d| panic!("{d:?}\n{filled}"))
    }

    /// The comment on the line holding `key` in the `lambda:` section.
    fn comment_of<'t>(text: &'t str, key: &str) -> &'t str {
        let section = text.find("\nlambda:\n").expect("a lambda section");
        let at = section
            + text[section..]
                .find(key)
                .unwrap_or_else(|| panic!("no {key} in\n{text}"));
        let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
        let mut end = line_end;
        // The comment's continuation lines, aligned under it.
        for l in text[line_end..].split_inclusive('\n').skip(1) {
            if l.trim_start().starts_with('#') && l.starts_with("                                #")
            {
                end += l.len();
            } else {
                break;
            }
        }
        let line = &text[at..end.min(text.len())];
        &line[line.find('#').unwrap_or(0)..]
    }

    #[test]
    fn entries_of_what_the_image_starts() {
        let e = |dockerfile: &str, language, package: Option<&Package>| {
            entry(
                &dockerfile::image_facts(dockerfile, crate::core::config::Platform::Amd64),
                language,
                package,
            )
        };
        let py = |d: &str| e(d, Language::Python, None);
        assert_eq!(
            py("FROM python:3.12\nENTRYPOINT [\"python\", \"/app/sz_sqs_consumer.py\"]\n"),
            Some(Entry {
                file: "/app/sz_sqs_consumer.py".into(),
                module: "sz_sqs_consumer".into(),
                dir: Some("/app".into()),
            })
        );
        assert_eq!(
            py("FROM python:3.12\nCMD [\"python\", \"sqs-reader.py\"]\n").map(|e| e.module),
            Some("sqs-reader".into())
        );
        assert_eq!(
            py("FROM python:3.12\nCMD [\"python3\", \"-u\", \"./src/w.py\"]\n")
                .map(|e| (e.module, e.dir)),
            Some(("src.w".into(), None))
        );
        assert_eq!(
            py("FROM python:3.12\nENTRYPOINT [\"python\"]\nCMD [\"-m\", \"pkg.main\"]\n")
                .map(|e| e.module),
            Some("pkg.main".into())
        );
        assert_eq!(
            py("FROM python:3.12\nCMD [\"python\", \"-c\", \"print(1)\"]\n"),
            None
        );
        assert_eq!(
            py("FROM python:3.12\nCMD [\"python\", \"../x.py\"]\n"),
            None
        );
        let node =
            |d: &str, p: Option<&Package>| e(d, Language::Node, p).map(|e| (e.module, e.dir));
        assert_eq!(
            node("FROM node:20\nCMD [\"node\", \"--enable-source-maps\", \"-r\", \"dotenv/config\", \"dist/worker.js\"]\n", None),
            Some(("dist/worker".into(), None))
        );
        assert_eq!(
            node("FROM node:20\nCMD [\"node\", \"/srv/index.mjs\"]\n", None),
            Some(("index".into(), Some("/srv".into())))
        );
        let package = package_json(r#"{"main": "lib/main.js", "scripts": {"start": "node --max-old-space-size=512 src/consumer.js"}}"#).unwrap();
        assert_eq!(package.start.as_deref(), Some("src/consumer.js"));
        assert_eq!(
            node("FROM node:20\nCMD [\"npm\", \"start\"]\n", Some(&package)),
            Some(("src/consumer".into(), None))
        );
        let main_only = package_json(r#"{"main": "worker"}"#).unwrap();
        assert_eq!(
            node("FROM node:20\nCMD [\"npm\", \"start\"]\n", Some(&main_only)),
            Some(("worker".into(), None))
        );
        assert_eq!(package_json("[1]"), None);
        assert_eq!(
            e("FROM ruby:3.3\nCMD [\"bundle\", \"exec\", \"shoryuken\", \"-r\", \"./worker.rb\"]\n", Language::Ruby, None).map(|e| e.module),
            Some("worker".into())
        );
        assert_eq!(
            e(
                "FROM eclipse-temurin:21\nCMD [\"java\", \"-jar\", \"w.jar\"]\n",
                Language::Java,
                None
            ),
            None,
            "no handler is looked for in Java code"
        );
    }

    #[test]
    fn handlers_of_other_languages_and_their_queue_variables() {
        assert_eq!(
            node_handler(
                "exports.handler = async (event) => {\n  for (const r of event.Records) {}\n};\n"
            ),
            Some(true)
        );
        assert_eq!(
            node_handler("export const handler = async () => { await poll(); };\n"),
            Some(false)
        );
        assert_eq!(node_handler("module.exports = { handler };\n"), Some(false));
        assert_eq!(node_handler("async function poll() {}\npoll();\n"), None);
        assert_eq!(
            ruby_handler(
                "def handler(event:, context:)\n  event['Records'].each { |r| p r }\nend\n"
            ),
            Some(true)
        );
        assert_eq!(
            ruby_handler("def handler(event:, context:)\n  poll\nend\n"),
            Some(false)
        );
        assert_eq!(ruby_handler("loop { poll }\n"), None);
        for (source, want) in [
            (
                "const url = process.env.ORDERS_QUEUE_URL;",
                "ORDERS_QUEUE_URL",
            ),
            ("const url = process.env['JOBS_QUEUE'];", "JOBS_QUEUE"),
            ("URL = ENV.fetch('WORK_QUEUE_URL')", "WORK_QUEUE_URL"),
            ("q := os.Getenv(\"GO_QUEUE\")", "GO_QUEUE"),
            (
                "String q = System.getenv(\"JAVA_QUEUE_URL\");",
                "JAVA_QUEUE_URL",
            ),
            (
                "var q = Environment.GetEnvironmentVariable(\"NET_QUEUE_URL\");",
                "NET_QUEUE_URL",
            ),
        ] {
            assert_eq!(queue_env(source).as_deref(), Some(want), "{source}");
        }
        assert_eq!(queue_env("const r = process.env.AWS_REGION;"), None);
    }

    #[test]
    fn each_language_gets_its_runtime_interface_client_and_a_handler_it_loads() {
        struct Case {
            name: &'static str,
            dockerfile: &'static str,
            files: &'static [&'static str],
            handler: Option<Handler>,
            entry_point: &'static [&'static str],
            command: &'static str,
            working_directory: &'static str,
            language_line: &'static str,
            command_comment: &'static str,
        }
        let cases = [
            Case {
                name: "node",
                dockerfile: "FROM node:20-slim\nWORKDIR /usr/src/app\nCOPY . .\nCMD [\"node\", \"worker.js\"]\n",
                files: &["package.json", "worker.js"],
                handler: Some(Handler { module: "worker".into(), reads_records: true }),
                entry_point: &["/usr/local/bin/npx", "aws-lambda-ric"],
                command: "worker.handler",
                working_directory: "/usr/src/app",
                language_line: "# language: Node.js, guessed: the image starts `node worker.js`",
                command_comment: "guessed: `handler` exported by worker.js",
            },
            Case {
                name: "go",
                dockerfile: "FROM golang:1.22 AS build\nRUN go build -o /worker .\nFROM scratch\nCOPY --from=build /worker /worker\nENTRYPOINT [\"/worker\"]\n",
                files: &["go.mod", "main.go"],
                handler: None,
                entry_point: &["/worker"],
                command: "lambda",
                working_directory: "/",
                language_line: "# language: Go, guessed: the final image, on `scratch`, runs what a `golang:1.22` stage builds",
                command_comment: "TO FILL: a placeholder",
            },
            Case {
                name: "python script",
                dockerfile: "FROM python:3.12-slim\nCOPY sz_sqs_consumer.py /app/\nENTRYPOINT [\"python\", \"/app/sz_sqs_consumer.py\"]\n",
                files: &["requirements.txt", "sz_sqs_consumer.py"],
                handler: None,
                entry_point: &["/usr/local/bin/python", "-m", "awslambdaric"],
                command: "sz_sqs_consumer.handler",
                working_directory: "/app",
                language_line: "# language: Python, guessed: the image starts `python /app/sz_sqs_consumer.py`",
                command_comment: "TO WRITE: no `handler(event, context)` found",
            },
            Case {
                name: "hyphenated python script",
                dockerfile: "ARG PY=3.12\nFROM python:${PY}-slim\nCOPY . .\nUSER 1000\nCMD [\"/opt/venv/bin/python\", \"sqs-reader.py\"]\n",
                files: &["requirements.txt", "sqs-reader.py"],
                handler: Some(Handler { module: "sqs-reader".into(), reads_records: false }),
                entry_point: &["/opt/venv/bin/python", "-m", "awslambdaric"],
                command: "sqs_reader.handler",
                working_directory: "/",
                language_line: "# language: Python, guessed: the image starts `/opt/venv/bin/python sqs-reader.py`",
                command_comment: "TO WRITE: Python cannot import `sqs-reader.py`",
            },
            Case {
                name: "java",
                dockerfile: "FROM maven:3.9 AS build\nRUN mvn package\nFROM amazoncorretto:21\nWORKDIR /srv\nCOPY --from=build /t/w.jar lib/w.jar\nCMD [\"java\", \"-cp\", \"lib/*\", \"com.acme.orders.Main\"]\n",
                files: &["pom.xml"],
                handler: None,
                entry_point: &["/usr/bin/java", "-cp", "/srv/lib/*", "com.amazonaws.services.lambda.runtime.api.client.AWSLambda"],
                command: "com.acme.orders.Handler::handleRequest",
                working_directory: "/srv",
                language_line: "# language: Java, guessed: the image starts `java -cp lib/* com.acme.orders.Main`",
                command_comment: "TO FILL: the handler, package.Class::method",
            },
            Case {
                name: ".net",
                dockerfile: "FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build\nRUN dotnet publish -o /out\nFROM mcr.microsoft.com/dotnet/runtime:8.0\nWORKDIR /app\nCOPY --from=build /out .\nENTRYPOINT [\"dotnet\", \"Orders.Worker.dll\"]\n",
                files: &["Orders.Worker.csproj"],
                handler: None,
                entry_point: &["dotnet", "exec", "--depsfile", "/app/Orders.Worker.deps.json", "--runtimeconfig", "/app/Orders.Worker.runtimeconfig.json", "/app/Amazon.Lambda.RuntimeSupport.dll"],
                command: "Orders.Worker::Orders.Worker.Function::FunctionHandler",
                working_directory: "/app",
                language_line: "# language: .NET, guessed: the image starts `dotnet Orders.Worker.dll`",
                command_comment: "TO FILL: the handler, Assembly::Namespace.Class::Method",
            },
            Case {
                name: "ruby",
                dockerfile: "FROM ruby:3.3-slim\nWORKDIR /app\nCOPY . .\nCMD [\"bundle\", \"exec\", \"ruby\", \"worker.rb\"]\n",
                files: &["Gemfile", "worker.rb"],
                handler: None,
                entry_point: &["/usr/local/bundle/bin/aws_lambda_ric"],
                command: "worker.handler",
                working_directory: "/app",
                language_line: "# language: Ruby, guessed: the image starts `bundle exec ruby worker.rb`",
                command_comment: "TO WRITE: no `handler(event:, context:)` found; add one to worker.rb",
            },
            Case {
                name: "lambda base image",
                dockerfile: "FROM public.ecr.aws/lambda/nodejs:20\nCOPY index.mjs ${LAMBDA_TASK_ROOT}\nCMD [\"index.handler\"]\n",
                files: &["index.mjs"],
                handler: None,
                entry_point: &["/lambda-entrypoint.sh"],
                command: "index.handler",
                working_directory: "/var/task",
                language_line: "# language: Node.js, guessed: the image is the AWS Lambda base image `public.ecr.aws/lambda/nodejs:20`",
                command_comment: "the Dockerfile's CMD",
            },
            Case {
                name: "unknown",
                dockerfile: "FROM debian:bookworm-slim\nCOPY worker /usr/local/bin/\nCMD [\"/usr/local/bin/worker\"]\n",
                files: &[],
                handler: None,
                entry_point: &["/TO-FILL/runtime-interface-client"],
                command: "TO-FILL.handler",
                working_directory: "/",
                language_line: "# language: unknown: nothing names a language",
                command_comment: "TO FILL",
            },
        ];
        for c in cases {
            let f = facts_of("w", c.dockerfile, c.files, c.handler);
            let text = config_text(&f);
            let v = yaml(&text);
            let want: Vec<String> = s(c.entry_point);
            if bridged(&f) {
                // No handler: the worker runs unchanged under the bridge; what a handler would
                // take is written commented out, from the same `run`.
                assert_eq!(
                    v["lambda"]["trigger"]["type"], "bridge",
                    "{}\n{text}",
                    c.name
                );
                assert!(v["lambda"]["entry_point"].is_null(), "{}\n{text}", c.name);
                assert!(text.contains(c.language_line), "{}\n{text}", c.name);
                assert!(
                    text.contains(&format!("  #   entry_point: {}\n", flow(&want))),
                    "{}\n{text}",
                    c.name
                );
                let r = run(&f);
                assert_eq!(r.entry_point.0, want, "{}", c.name);
                assert_eq!(r.command.0[0], c.command, "{}", c.name);
                assert_eq!(r.working_directory.0, c.working_directory, "{}", c.name);
                assert!(
                    r.command.1.contains(c.command_comment),
                    "{}: {}",
                    c.name,
                    r.command.1
                );
                assert!(run_left(&f).is_empty(), "{}", c.name);
                assert!(parses_once_filled(&text).lambda.trigger.is_bridge());
                if f.language.language != Language::Python {
                    assert!(!text.contains("awslambdaric"), "{}\n{text}", c.name);
                }
                continue;
            }
            let got: Vec<String> =
                serde_yaml_ng::from_value(v["lambda"]["entry_point"].clone()).unwrap();
            assert_eq!(got, want, "{}\n{text}", c.name);
            assert_eq!(v["lambda"]["command"][0], c.command, "{}\n{text}", c.name);
            assert_eq!(
                v["lambda"]["working_directory"], c.working_directory,
                "{}\n{text}",
                c.name
            );
            assert!(text.contains(c.language_line), "{}\n{text}", c.name);
            assert!(
                comment_of(&text, "  command: [").contains(c.command_comment),
                "{}: {}",
                c.name,
                comment_of(&text, "  command: [")
            );
            let config = parses_once_filled(&text);
            // Filled where init wrote a placeholder (see `parses_once_filled`).
            let want: Vec<String> = want
                .iter()
                .map(|w| w.replace("/TO-FILL/runtime-interface-client", "/usr/local/bin/ric"))
                .collect();
            assert_eq!(config.lambda.entry_point, want, "{}", c.name);
            // Never Python's client for another language.
            if f.language.language != Language::Python {
                assert!(!text.contains("awslambdaric"), "{}\n{text}", c.name);
            }
            let run = run(&f);
            let left = run.left.join("; ");
            match c.command_comment.split(':').next() {
                Some("TO FILL" | "TO WRITE") => {
                    assert!(left.contains("lambda.command"), "{}: {left}", c.name)
                }
                _ => assert!(run.left.is_empty(), "{}: {left}", c.name),
            }
        }
    }

    #[test]
    fn the_entry_points_comment_says_what_the_image_must_install() {
        for (dockerfile, must) in [
            ("FROM node:20\nCMD [\"node\", \"w.js\"]\n", "npm package\n"),
            (
                "FROM python:3.12\nCMD [\"python\", \"w.py\"]\n",
                "must install awslambdaric",
            ),
            (
                "FROM eclipse-temurin:21\nCMD [\"java\", \"-jar\", \"w.jar\"]\n",
                "aws-lambda-java-runtime-interface-client",
            ),
            (
                "FROM mcr.microsoft.com/dotnet/runtime:8.0\nCMD [\"dotnet\", \"W.dll\"]\n",
                "Amazon.Lambda.RuntimeSupport",
            ),
            (
                "FROM ruby:3.3\nCMD [\"ruby\", \"w.rb\"]\n",
                "the gem aws_lambda_ric",
            ),
            (
                "FROM golang:1 AS b\nFROM alpine\nCOPY --from=b /w /w\nCMD [\"/w\"]\n",
                "must call lambda.Start",
            ),
        ] {
            // Written for a handler: what `run` says of the entry point.
            let comment = run(&facts_of("w", dockerfile, &[], None)).entry_point.1;
            let flat = comment.replace("\n                                # ", "\n");
            assert!(flat.contains(must), "{dockerfile}: {comment}");
            assert!(
                comment.contains("https://docs.aws.amazon.com/lambda/"),
                "{comment}"
            );
        }
    }

    #[test]
    fn an_unknown_language_runs_unchanged_under_the_bridge_and_validates_once_the_network_is_filled(
    ) {
        let f = facts_of(
            "w",
            "FROM mycompany/base:1\nCMD [\"/opt/run\"]\n",
            &[],
            None,
        );
        let text = config_text(&f);
        // `validate` names only the network as left to fill.
        let errors = crate::core::config::parse(&text).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["ecs.subnets", "ecs.security_groups"], "{errors:?}");
        let config = parses_once_filled(&text);
        assert!(config.lambda.trigger.is_bridge());
        // Only the commented-out handler path names the client to fill.
        assert!(
            text.lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .all(|l| !l.contains("TO-FILL")),
            "{text}"
        );
        assert!(run_left(&f).is_empty());
        // The handler's path stays readable: the unknown client, named.
        assert_eq!(
            run(&f).left,
            vec!["lambda.entry_point and lambda.command (no language known)".to_string()]
        );
    }
}

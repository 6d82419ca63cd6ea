//! `replatform init`: reads the folder the config goes in (its name, its Dockerfile, its
//! top-level files, `package.json`, the code file the image starts and, for a Python worker, its
//! modules), writes the starting `replatform.yaml` that `core::init` makes of them,
//! and a `.dockerignore` when there is none. Refuses to replace a file without `force`, before
//! anything is written. Not pure: reads and writes files.

use std::path::{Path, PathBuf};

use crate::core::config::Platform;
use crate::core::dockerfile::{self, Language, MAX_FILE_BYTES};
use crate::core::init::{self as core_init, Entry, Facts, Handler};
use crate::error::Failure;
use crate::files::{read_bounded, ReadError};

/// The most Python modules (or other source files) read to find a handler and a queue variable.
pub const MAX_MODULES: usize = 64;

/// What `init` was asked.
pub struct InitRequest {
    /// The config file to write; its folder is the one read.
    pub file: PathBuf,
    pub force: bool,
}

/// What `init` did.
#[derive(Debug, serde::Serialize)]
pub struct Initialised {
    pub file: PathBuf,
    pub service: String,
    /// `sqs` or `schedule`.
    pub trigger: &'static str,
    /// `module.handler` when one was found.
    pub handler: Option<String>,
    /// The worker's language (`python`, `node`, `java`, `go`, `dotnet`, `ruby` or `unknown`).
    pub language: Language,
    /// Why that language.
    pub language_reason: String,
    /// The files written, in order.
    pub written: Vec<PathBuf>,
    /// The fields still to fill or write, as `validate` will name them.
    pub left: Vec<String>,
}

/// The folder a config file is in (`.` for a bare name).
pub fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Refuses when `path` exists and `force` is not given (nothing is written then).
pub fn refuse_existing(path: &Path, force: bool) -> Result<(), Failure> {
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(Failure::new(format!("`{}` already exists", path.display()))
            .hint("pass --force to replace it, or -f to write another file"));
    }
    Ok(())
}

pub(crate) fn read_text(path: &Path) -> Result<String, Failure> {
    let bytes = read_bounded(path, MAX_FILE_BYTES).map_err(|e| {
        let why = match e {
            ReadError::Io(e) => e.to_string(),
            ReadError::Folder => "it is a folder".into(),
            ReadError::NotRegular => "it is not a regular file".into(),
            ReadError::TooLarge(n) => format!("it holds {n} bytes, more than {MAX_FILE_BYTES}"),
        };
        Failure::new(format!("cannot read `{}`: {why}", path.display()))
    })?;
    String::from_utf8(bytes)
        .map_err(|_| Failure::new(format!("cannot read `{}`: it is not UTF-8", path.display())))
}

/// The Python modules of the folder (top level, plus the one the CMD names), the CMD's first.
fn module_paths(dir: &Path, cmd_module: Option<&str>) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    if let Some(m) = cmd_module {
        out.push((
            m.to_string(),
            dir.join(format!("{}.py", m.replace('.', "/"))),
        ));
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".py"))
        .collect();
    names.sort();
    for n in names {
        if let Some(m) = core_init::module_of_path(&n) {
            if !out.iter().any(|(k, _)| *k == m) {
                out.push((m, dir.join(&n)));
            }
        }
    }
    out.truncate(MAX_MODULES);
    out
}

/// The names of the folder's regular files, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// The build context's paths the entry file may be, most likely first: where the Dockerfile
/// copied it from, then the path as written, then its name at the context's top.
fn entry_sources(
    dockerfile: &str,
    platform: Platform,
    workdir: Option<&str>,
    e: &Entry,
) -> Vec<String> {
    let file = e.file.trim_start_matches("./");
    let absolute = if file.starts_with('/') {
        Some(file.to_string())
    } else {
        workdir.map(|w| format!("{}/{file}", w.trim_end_matches('/')))
    };
    let mut out = absolute
        .map(|a| dockerfile::origins(dockerfile, platform, &a))
        .unwrap_or_default();
    if !file.starts_with('/') {
        out.extend(dockerfile::context_path(file));
    }
    out.extend(file.rsplit('/').next().and_then(dockerfile::context_path));
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| !p.is_empty() && seen.insert(p.clone()));
    out
}

/// Reads the folder and its Dockerfile into facts (`platform` resolves the Dockerfile's
/// `TARGETARCH`): the worker's language, and the handler of the code file the image starts (for
/// Python, else of the first top-level module that has one).
pub fn read_facts(dir: &Path, platform: Platform) -> Result<Facts, Failure> {
    let dockerfile_path = dir.join("Dockerfile");
    if !dockerfile_path.exists() {
        return Err(Failure::new(format!("no `Dockerfile` in `{}`", dir.display())).hint("run `replatform init` in the folder that holds the worker's Dockerfile, or pass -f DIR/replatform.yaml"));
    }
    let text = read_text(&dockerfile_path)?;
    let image = dockerfile::image_facts(&text, platform);
    let files = file_names(dir);
    let package = files
        .iter()
        .any(|n| n == "package.json")
        .then(|| read_text(&dir.join("package.json")).ok())
        .flatten()
        .and_then(|t| core_init::package_json(&t));
    let language = dockerfile::detect(&image, &files);
    let lang = language.language;
    let entry = core_init::entry(&image, lang, package.as_ref());
    let cmd_module = entry
        .as_ref()
        .filter(|_| lang == Language::Python)
        .map(|e| e.module.clone());
    let folder = std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    // The files to read, each with the handler module it would give: the entry file first.
    let mut sources: Vec<(String, PathBuf)> = Vec::new();
    match (&entry, lang) {
        (Some(e), _) => {
            for p in entry_sources(&text, platform, image.workdir.as_deref(), e) {
                sources.push((e.module.clone(), dir.join(p)));
            }
        }
        // The runtime interface clients' defaults: index.handler, app.handler.
        (None, Language::Node) => {
            for n in ["index.js", "index.mjs", "index.cjs"] {
                sources.push(("index".into(), dir.join(n)));
            }
        }
        (None, Language::Ruby) => sources.push(("app".into(), dir.join("app.rb"))),
        _ => {}
    }
    let entry_files = sources.len();
    let extensions: &[&str] = match lang {
        Language::Python => &[],
        Language::Node => &[".js", ".mjs", ".cjs", ".ts"],
        Language::Ruby => &[".rb"],
        Language::Go => &[".go"],
        _ => &[],
    };
    if lang == Language::Python {
        sources.extend(module_paths(dir, cmd_module.as_deref()));
    } else {
        for n in files
            .iter()
            .filter(|n| extensions.iter().any(|x| n.ends_with(x)))
        {
            let module = n.rsplit_once('.').map_or(n.as_str(), |(m, _)| m);
            sources.push((module.to_string(), dir.join(n)));
        }
    }
    sources.truncate(MAX_MODULES);
    let finder: Option<fn(&str) -> Option<bool>> = match lang {
        Language::Python => Some(core_init::python_handler),
        Language::Node => Some(core_init::node_handler),
        Language::Ruby => Some(core_init::ruby_handler),
        _ => None,
    };
    let mut handler = None;
    let mut queue_env = None;
    for (k, (module, path)) in sources.iter().enumerate() {
        let Ok(source) = read_text(path) else {
            continue;
        };
        if queue_env.is_none() {
            queue_env = core_init::queue_env(&source);
        }
        // A Python handler may be in any module; another language's in the file the image starts.
        if handler.is_none() && (lang == Language::Python || k < entry_files) {
            if let Some(reads_records) = finder.and_then(|find| find(&source)) {
                handler = Some(Handler {
                    module: module.clone(),
                    reads_records,
                });
            }
        }
    }
    Ok(Facts {
        folder,
        image,
        cmd_module,
        handler,
        queue_env,
        language,
        files,
        package,
    })
}

/// Writes the config `text` to `file`, and a `.dockerignore` into `dir` when there is none;
/// the files written, in order (`init` and `init --from-ecs`).
pub fn write_config(file: &Path, dir: &Path, text: &str) -> Result<Vec<PathBuf>, Failure> {
    let ignore = if dir == Path::new(".") {
        PathBuf::from(".dockerignore")
    } else {
        dir.join(".dockerignore")
    };
    let mut written = Vec::new();
    std::fs::write(file, text)
        .map_err(|e| Failure::new(format!("cannot write `{}`: {e}", file.display())))?;
    written.push(file.to_path_buf());
    if std::fs::symlink_metadata(&ignore).is_err() {
        std::fs::write(&ignore, core_init::DOCKERIGNORE)
            .map_err(|e| Failure::new(format!("cannot write `{}`: {e}", ignore.display())))?;
        written.push(ignore);
    }
    Ok(written)
}

/// `replatform init`: the facts of the config's folder, written as `replatform.yaml`.
pub fn init(req: &InitRequest) -> Result<Initialised, Failure> {
    let dir = folder_of(&req.file);
    refuse_existing(&req.file, req.force)?;
    let facts = read_facts(&dir, Platform::Amd64)?;
    let written = write_config(&req.file, &dir, &core_init::config_text(&facts))?;
    let run = core_init::run(&facts);
    let mut left = vec!["ecs.subnets".to_string(), "ecs.security_groups".to_string()];
    // Under the bridge the worker runs as it is: no handler to write.
    if !core_init::bridged(&facts) {
        left.extend(run.left);
    }
    Ok(Initialised {
        file: req.file.clone(),
        service: core_init::service_name(&facts.folder),
        trigger: if core_init::bridged(&facts) {
            "bridge"
        } else if facts.handler.as_ref().is_some_and(|h| h.reads_records) {
            "sqs"
        } else {
            "schedule"
        },
        handler: run.handler,
        language: facts.language.language,
        language_reason: facts.language.reason,
        written,
        left,
    })
}

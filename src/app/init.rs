//! `replatform init`: reads the folder the config goes in (its name, its Dockerfile,
//! its Python modules), writes the starting `replatform.yaml` that `core::init` makes of them,
//! and a `.dockerignore` when there is none. Refuses to replace a file without `force`, before
//! anything is written. Not pure: reads and writes files.

use std::path::{Path, PathBuf};

use crate::core::config::Platform;
use crate::core::dockerfile::{self, MAX_FILE_BYTES};
use crate::core::init::{self as core_init, Facts, Handler};
use crate::error::Failure;
use crate::files::{read_bounded, ReadError};

/// The most Python modules read to find a handler.
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

/// Reads the folder and its Dockerfile into facts (`platform` resolves the Dockerfile's
/// `TARGETARCH`), and the handler of the first module that has one.
pub fn read_facts(dir: &Path, platform: Platform) -> Result<Facts, Failure> {
    let dockerfile_path = dir.join("Dockerfile");
    if !dockerfile_path.exists() {
        return Err(Failure::new(format!("no `Dockerfile` in `{}`", dir.display())).hint("run `replatform init` in the folder that holds the worker's Dockerfile, or pass -f DIR/replatform.yaml"));
    }
    let image = dockerfile::image_facts(&read_text(&dockerfile_path)?, platform);
    let cmd_module = image
        .cmd
        .as_deref()
        .and_then(core_init::cmd_module)
        .or_else(|| image.entrypoint.as_deref().and_then(core_init::cmd_module));
    let folder = std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut handler = None;
    let mut queue_env = None;
    for (module, path) in module_paths(dir, cmd_module.as_deref()) {
        let Ok(source) = read_text(&path) else {
            continue;
        };
        if queue_env.is_none() {
            queue_env = core_init::queue_env(&source);
        }
        if handler.is_none() {
            if let Some(reads_records) = core_init::python_handler(&source) {
                handler = Some(Handler {
                    module,
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
    let mut left = vec!["ecs.subnets".to_string(), "ecs.security_groups".to_string()];
    if facts.handler.is_none() {
        left.push("lambda.command (write the handler it names)".into());
    }
    Ok(Initialised {
        file: req.file.clone(),
        service: core_init::service_name(&facts.folder),
        trigger: if facts.handler.as_ref().is_some_and(|h| h.reads_records) {
            "sqs"
        } else {
            "schedule"
        },
        handler: facts.handler.map(|h| format!("{}.handler", h.module)),
        written,
        left,
    })
}

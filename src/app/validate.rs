//! `validate`'s checks beyond the config's own: the scaling model's predictions for a default
//! load (`core::lint::model`), and the Dockerfile's known traps for Lambda (`core::dockerfile`),
//! read from the build context when it is there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use super::workspace::{load, Loaded};
use crate::core::diag::Diagnostic;
use crate::core::dockerfile::{self, Settings};
use crate::error::Failure;
use crate::ui::printer::Printer;

/// Every finding of `validate`: the config's (checks and lint) and the Dockerfile's, each with
/// the file it is in when that is not the config; `Err` when the config itself is refused (its
/// diagnostics were shown).
pub struct Validation {
    pub result: Result<(), Failure>,
    pub diagnostics: Vec<Diagnostic>,
    /// Per diagnostic, the file it points into when it is not the config (the Dockerfile).
    pub files: Vec<Option<String>>,
}

/// Loads and checks the config, then checks its Dockerfile; findings are shown as they are
/// found (text mode) and returned for the JSON document.
pub fn validate(file: &Path, printer: &Printer) -> Validation {
    match load(file, printer) {
        Ok(l) => {
            let predicted = model_checks(&l, printer);
            let (ds, fs): (Vec<_>, Vec<_>) = dockerfile_checks(&l, printer).into_iter().unzip();
            let mut diagnostics = l.diagnostics;
            diagnostics.extend(predicted);
            let mut files = vec![None; diagnostics.len()];
            diagnostics.extend(ds);
            files.extend(fs);
            Validation {
                result: Ok(()),
                diagnostics,
                files,
            }
        }
        Err((f, ds)) => {
            let files = vec![None; ds.len()];
            Validation {
                result: Err(f),
                diagnostics: ds,
                files,
            }
        }
    }
}

/// The scaling model's warnings (`core::lint::model`), placed in the config and printed (text
/// mode).
fn model_checks(l: &Loaded, printer: &Printer) -> Vec<Diagnostic> {
    let mut found = crate::core::lint::model::warnings(&l.config);
    let config = std::fs::read_to_string(&l.path).unwrap_or_default();
    let places = crate::core::locate::index(&config);
    for d in &mut found {
        d.location = crate::core::locate::find(&places, &d.path).map(|p| p.value);
        if !printer.is_json() {
            printer.diagnostic(&crate::ui::diagnostics::render(
                d,
                &l.path.display().to_string(),
                &config,
                true,
            ));
        }
    }
    found
}

/// The Dockerfile's warnings, printed (text mode) and returned with the Dockerfile's path
/// (`None` for a warning about the config itself). Without a build context (a config checked
/// on its own, or for `up --image-uri`) there is nothing to check.
fn dockerfile_checks(l: &Loaded, printer: &Printer) -> Vec<(Diagnostic, Option<String>)> {
    let image = &l.config.image;
    let context = l
        .path
        .parent()
        .unwrap_or(Path::new(""))
        .join(&image.context);
    let path = context.join(&image.dockerfile);
    let shown = tidy(&path);
    if !context.is_dir() {
        printer.debug(format!(
            "no build context at `{}`: the Dockerfile is not checked",
            tidy(&context)
        ));
        return Vec::new();
    }
    let text = match read_text(&path) {
        Ok(text) => text,
        Err(e) => {
            let defaults = image.context == "." && image.dockerfile == "Dockerfile";
            if e.kind() == std::io::ErrorKind::NotFound && defaults {
                printer.debug(format!("no `{shown}`: the Dockerfile is not checked"));
                return Vec::new();
            }
            let (message, hint) = if e.kind() == std::io::ErrorKind::NotFound {
                (
                    format!("there is no Dockerfile at `{shown}`: `up` cannot build the image"),
                    format!("set `image.dockerfile` relative to `image.context` (`{}`), or leave both out for `./Dockerfile`; `up --image-uri` deploys an image already pushed", tidy(&context)),
                )
            } else {
                (format!("cannot read the Dockerfile `{shown}`: {e}; it is not checked"), "let this user read it, or set `image.dockerfile` to the Dockerfile the image builds from".to_string())
            };
            let field = if image.dockerfile == "Dockerfile" {
                "image.context"
            } else {
                "image.dockerfile"
            };
            let mut d = Diagnostic::warning("dockerfile", field, message).hint(hint);
            let config = std::fs::read_to_string(&l.path).unwrap_or_default();
            d.location = crate::core::locate::find(&crate::core::locate::index(&config), field)
                .map(|p| p.value);
            if !printer.is_json() {
                printer.diagnostic(&crate::ui::diagnostics::render(
                    &d,
                    &l.path.display().to_string(),
                    &config,
                    true,
                ));
            }
            return vec![(d, None)];
        }
    };
    let settings = Settings::from(&l.config);
    let files = context_files(&context, &text, &settings);
    printer.debug(format!(
        "Dockerfile checks: `{shown}`, with {}",
        if files.is_empty() {
            "no requirements file".to_string()
        } else {
            files.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    ));
    let findings = dockerfile::check(&text, &settings, &files);
    if !printer.is_json() {
        for f in &findings {
            printer.diagnostic(&crate::ui::diagnostics::render_finding(
                f, &shown, &text, true,
            ));
        }
    }
    findings
        .iter()
        .map(|f| (f.diagnostic(), Some(shown.clone())))
        .collect()
}

/// The build context's files the checks ask for (requirements and project files the Dockerfile
/// installs from, and those they include), as many as exist, within the context.
fn context_files(context: &Path, text: &str, settings: &Settings) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut tried = BTreeSet::new();
    let root = std::fs::canonicalize(context).ok();
    loop {
        let new: Vec<String> = dockerfile::wanted_files(text, settings, &files)
            .into_iter()
            .filter(|p| !tried.contains(p))
            .collect();
        if new.is_empty() || tried.len() >= dockerfile::MAX_FILES {
            return files;
        }
        for p in new.into_iter().take(dockerfile::MAX_FILES - tried.len()) {
            tried.insert(p.clone());
            let Some(rel) = dockerfile::context_path(&p).filter(|r| !r.is_empty()) else {
                continue;
            };
            let full = context.join(&rel);
            // A symbolic link out of the context is not what the build copies.
            let inside = match (&root, std::fs::canonicalize(&full)) {
                (Some(root), Ok(real)) => real.starts_with(root),
                _ => false,
            };
            if let (true, Ok(t)) = (inside, read_text(&full)) {
                files.insert(p, t);
            }
        }
    }
}

/// A regular file's text, at most [`dockerfile::MAX_FILE_BYTES`], any bytes that are not UTF-8
/// replaced.
fn read_text(path: &Path) -> std::io::Result<String> {
    use crate::files::ReadError;
    match crate::files::read_bounded(path, dockerfile::MAX_FILE_BYTES) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(ReadError::Io(e)) => Err(e),
        Err(ReadError::Folder | ReadError::NotRegular) => {
            Err(std::io::Error::other("not a regular file"))
        }
        Err(ReadError::TooLarge(_)) => Err(std::io::Error::other(format!(
            "larger than {} bytes",
            dockerfile::MAX_FILE_BYTES
        ))),
    }
}

/// A path without its `.` parts: `./Dockerfile` is shown as `Dockerfile`.
fn tidy(path: &Path) -> String {
    let p: PathBuf = path
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    if p.as_os_str().is_empty() {
        ".".into()
    } else {
        p.display().to_string()
    }
}

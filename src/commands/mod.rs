//! One module per command: wiring only. Shared here: loading and checking the config.

pub mod render;
pub mod templates;
pub mod validate;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::core::config::{self, Config};
use crate::core::diag::Diagnostic;
use crate::core::lint;
use crate::core::render::{RenderError, Sources};
use crate::ui::diagnostics;
use crate::ui::printer::Printer;

/// A command's failure: what happened and what to do. Exit code 1.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
    /// Already reported (diagnostics were printed): print nothing more.
    pub reported: bool,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), hint: None, reported: false }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn reported() -> Self {
        Self { message: String::new(), hint: None, reported: true }
    }
}

impl From<RenderError> for Failure {
    fn from(e: RenderError) -> Self {
        Failure::new(e.to_string()).hint("fix the template, or leave out --templates to use the built-in ones")
    }
}

pub type Outcome = Result<(), Failure>;

/// A config file that parsed and passed the checks, with its lint findings.
pub struct Loaded {
    pub path: PathBuf,
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Serialize)]
pub struct DiagnosticsJson<'a> {
    pub file: String,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: &'a [Diagnostic],
}

/// Reads, parses, checks and lints the config. Diagnostics are printed (in text mode) as they
/// are found; errors end the command with exit code 1. `json_diagnostics` leaves printing
/// to the caller, which puts them in its JSON document.
pub fn load(path: &Path, printer: &Printer) -> Result<Loaded, (Failure, Vec<Diagnostic>)> {
    let source = std::fs::read_to_string(path).map_err(|e| {
        let f = Failure::new(format!("cannot read `{}`: {e}", path.display()));
        let f = if e.kind() == std::io::ErrorKind::NotFound {
            f.hint("run in the service's folder, or name the file with `-f PATH`; `examples/sqs-worker/replatform.yaml` is a starting point")
        } else {
            f
        };
        (f, Vec::new())
    })?;
    let origin = path.display().to_string();
    let show = |ds: &[Diagnostic]| {
        if !printer.is_json() {
            for d in ds {
                // Styled always: anstream strips the styles where they don't belong.
                printer.diagnostic(&diagnostics::render(d, &origin, &source, true));
            }
        }
    };
    let config = match config::parse(&source) {
        Ok(c) => c,
        Err(errors) => {
            show(&errors);
            return Err((Failure::reported(), errors));
        }
    };
    let places = crate::core::locate::index(&source);
    let mut found = lint::lint(&config);
    for d in &mut found {
        d.location = crate::core::locate::find(&places, &d.path).map(|p| p.value);
    }
    found.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.location.cmp(&b.location)));
    show(&found);
    if found.iter().any(Diagnostic::is_error) {
        return Err((Failure::reported(), found));
    }
    Ok(Loaded { path: path.to_path_buf(), config, diagnostics: found })
}

/// The template sources: built-in, or overlaid by `--templates DIR`.
pub fn sources(dir: Option<&Path>) -> Result<Sources, Failure> {
    match dir {
        None => Ok(Sources::builtin()),
        Some(d) => Ok(Sources::with_overrides(d)?),
    }
}

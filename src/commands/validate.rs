//! `replatform validate`: the config's field checks and lint, then the Dockerfile's known traps
//! for Lambda (`core::dockerfile`), when the build context is there to read.

use serde::Serialize;

use crate::app::validate::{validate, Validation};
use crate::cli::ValidateArgs;
use crate::core::diag::{Diagnostic, Severity};
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::Printer;

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    valid: bool,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<Entry<'a>>,
}

/// A diagnostic of the JSON document; `file` names the file its location is in when that is
/// not the config (the Dockerfile).
#[derive(Serialize)]
struct Entry<'a> {
    #[serde(flatten)]
    diagnostic: &'a Diagnostic,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
}

pub fn run(args: ValidateArgs, file: &std::path::Path, printer: &Printer) -> Outcome {
    let ValidateArgs { strict } = args;
    let Validation {
        result,
        diagnostics,
        files,
    } = validate(file, printer);
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let failed_strict = strict && warnings > 0;
    if printer.is_json() {
        let valid = result.is_ok() && !failed_strict;
        let entries = diagnostics
            .iter()
            .zip(&files)
            .map(|(d, f)| Entry {
                diagnostic: d,
                file: f.as_deref(),
            })
            .collect();
        printer
            .json(&Report {
                file: file.display().to_string(),
                valid,
                errors,
                warnings,
                diagnostics: entries,
            })
            .map_err(Failure::output)?;
    }
    if let Err(mut f) = result {
        if printer.is_json() && diagnostics.is_empty() {
            f.reported = false;
        }
        return Err(f);
    }
    if failed_strict {
        return Err(Failure::new(format!(
            "{warnings} warning{} with --strict",
            plural(warnings)
        ))
        .hint("fix the warnings above, or run without --strict"));
    }
    printer.info(format!(
        "{} is valid{}",
        file.display(),
        if warnings > 0 {
            format!(" ({warnings} warning{})", plural(warnings))
        } else {
            String::new()
        }
    ));
    Ok(Exit::Success)
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

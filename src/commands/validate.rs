//! `replatform validate`: the config's field checks and lint, nothing else.

use serde::Serialize;

use super::{load, Failure, Outcome};
use crate::cli::ValidateArgs;
use crate::core::diag::{Diagnostic, Severity};
use crate::ui::printer::Printer;

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    valid: bool,
    errors: usize,
    warnings: usize,
    diagnostics: &'a [Diagnostic],
}

pub fn run(args: ValidateArgs, file: &std::path::Path, printer: &Printer) -> Outcome {
    let ValidateArgs { strict } = args;
    let (result, diagnostics) = match load(file, printer) {
        Ok(l) => {
            let ds = l.diagnostics;
            (Ok(()), ds)
        }
        Err((f, ds)) => (Err(f), ds),
    };
    let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diagnostics.len() - errors;
    let failed_strict = strict && warnings > 0;
    if printer.is_json() {
        let valid = result.is_ok() && !failed_strict;
        printer
            .json(&Report { file: file.display().to_string(), valid, errors, warnings, diagnostics: &diagnostics })
            .map_err(Failure::output)?;
    }
    if let Err(mut f) = result {
        if printer.is_json() && diagnostics.is_empty() {
            f.reported = false;
        }
        return Err(f);
    }
    if failed_strict {
        return Err(Failure::new(format!("{warnings} warning{} with --strict", plural(warnings))).hint("fix the warnings above, or run without --strict"));
    }
    printer.info(format!(
        "{} is valid{}",
        file.display(),
        if warnings > 0 { format!(" ({warnings} warning{})", plural(warnings)) } else { String::new() }
    ));
    Ok(std::process::ExitCode::SUCCESS)
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

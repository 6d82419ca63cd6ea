//! `replatform init`: a starting `replatform.yaml` for the folder it runs in (issue 14). Wiring:
//! the arguments in, one call to `app::init`, what was written and what is left out.

use crate::app::init::{init, InitRequest};
use crate::cli::InitArgs;
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::Printer;

pub fn run(args: InitArgs, file: &std::path::Path, printer: &Printer) -> Outcome {
    let InitArgs { force } = args;
    let done = init(&InitRequest { file: file.to_path_buf(), force })?;
    if printer.is_json() {
        printer.json(&done).map_err(Failure::output)?;
        return Ok(Exit::Success);
    }
    for w in &done.written {
        printer.info(format!("wrote {}", w.display()));
    }
    let handler = done.handler.as_deref().map(|h| format!(", handler `{h}`")).unwrap_or_default();
    printer.info(format!("service `{}`, trigger `{}`{handler}: the values marked `guessed` are to check", done.service, done.trigger));
    printer.info(format!("left to fill: {}; then `replatform validate`", done.left.join(", ")));
    Ok(Exit::Success)
}

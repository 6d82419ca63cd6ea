//! `replatform templates --out DIR`: the built-in templates as files, to customise and pass back
//! with `--templates DIR`.

use crate::cli::TemplatesArgs;
use crate::core::render::Sources;
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::Printer;

pub fn run(args: TemplatesArgs, printer: &Printer) -> Outcome {
    let TemplatesArgs { out, force } = args;
    let sources = Sources::builtin();
    let existing: Vec<String> = sources
        .files()
        .map(|(name, _)| name)
        .filter(|n| out.join(n).exists())
        .map(str::to_string)
        .collect();
    if !force && !existing.is_empty() {
        return Err(Failure::new(format!(
            "`{}` already has {}",
            out.display(),
            existing.join(", ")
        ))
        .hint("pass --force to replace them, or choose another folder"));
    }
    for (name, text) in sources.files() {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::new(format!("cannot create `{}`: {e}", parent.display())))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| Failure::new(format!("cannot write `{}`: {e}", path.display())))?;
        printer.info(format!("wrote {}", path.display()));
    }
    printer.info(format!(
        "edit what you need, delete the rest, and render with `--templates {}`",
        out.display()
    ));
    Ok(Exit::Success)
}

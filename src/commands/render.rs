//! `replatform render`: write both stacks' templates to a folder.

use std::path::Path;

use serde::Serialize;

use crate::app::pipeline::rendered;
use crate::cli::RenderArgs;
use crate::core::diag::Diagnostic;
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::Printer;

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    placeholder_image: bool,
    stacks: Vec<StackReport>,
    diagnostics: &'a [Diagnostic],
}

#[derive(Serialize)]
struct StackReport {
    kind: String,
    name: String,
    path: String,
}

pub fn run(args: RenderArgs, file: &Path, templates: Option<&Path>, printer: &Printer) -> Outcome {
    let RenderArgs { out, image_uri } = args;
    let (loaded, stacks, placeholder) =
        match rendered(file, image_uri.as_deref(), templates, printer) {
            Ok(r) => r,
            Err((f, ds)) => {
                if printer.is_json() {
                    let _ = printer.json(&Report {
                        file: file.display().to_string(),
                        placeholder_image: image_uri.is_none(),
                        stacks: vec![],
                        diagnostics: &ds,
                    });
                }
                return Err(f);
            }
        };
    std::fs::create_dir_all(&out)
        .map_err(|e| Failure::new(format!("cannot create `{}`: {e}", out.display())))?;
    let mut report = Vec::new();
    for s in &stacks {
        let path = out.join(s.file_name());
        write_if_changed(&path, &s.template)
            .map_err(|e| Failure::new(format!("cannot write `{}`: {e}", path.display())))?;
        printer.info(format!("wrote {} (stack `{}`)", path.display(), s.name));
        report.push(StackReport {
            kind: s.kind.clone(),
            name: s.name.clone(),
            path: path.display().to_string(),
        });
    }
    if placeholder {
        printer.info(format!(
            "note: no --image-uri given: the templates run a placeholder image (`{}` in the deploying account, digest all zeros); pass `--image-uri` with the real image's digest",
            loaded.config.repository()
        ));
    }
    if printer.is_json() {
        printer
            .json(&Report {
                file: file.display().to_string(),
                placeholder_image: placeholder,
                stacks: report,
                diagnostics: &loaded.diagnostics,
            })
            .map_err(Failure::output)?;
    }
    Ok(Exit::Success)
}

/// Leaves a file that already holds these bytes untouched, so its timestamp says when the
/// stack last changed.
fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text)
}

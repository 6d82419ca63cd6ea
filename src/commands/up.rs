//! `replatform up`: render, lint, build the image, then deploy the stacks concurrently through
//! change sets (`app::deploy`); the outputs, or one JSON document, at the end.

use serde::Serialize;

use crate::app::deploy::{self, Consent, StackReport};
use crate::app::workspace::Workspace;
use crate::cli::UpArgs;
use crate::error::{Exit, Failure, Outcome};
use crate::image::Report;
use crate::ui::printer::Printer;
use crate::ui::tables;

pub async fn run(args: UpArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let UpArgs {
        image_uri,
        only,
        yes,
        timeout,
        rebuild,
        allow_queue_replacement,
    } = args;
    let consent = Consent {
        yes,
        queue_replacement: allow_queue_replacement,
    };
    let (image, deployed) = deploy::up(
        ws,
        image_uri.as_deref(),
        only,
        rebuild,
        consent,
        timeout,
        printer,
    )
    .await?;
    finish(printer, &image, &deployed.stacks)?;
    match deployed.failure {
        Some(f) => Err(f),
        None => Ok(Exit::Success),
    }
}

/// The end of the run: the outputs, or the JSON document, on stdout.
fn finish(printer: &Printer, image: &Report, reports: &[StackReport]) -> Result<(), Failure> {
    if printer.is_json() {
        #[derive(Serialize)]
        struct Doc<'a> {
            image: &'a Report,
            stacks: &'a [StackReport],
        }
        return printer
            .json(&Doc {
                image,
                stacks: reports,
            })
            .map_err(Failure::output);
    }
    for r in reports.iter().filter(|r| !r.outputs.is_empty()) {
        let rows: Vec<(&str, String)> = r
            .outputs
            .iter()
            .map(|(k, v)| {
                // A URL shown by its queue's name is labelled as the queue.
                let shown = tables::short(v);
                let label = match k.strip_suffix("Url") {
                    Some(queue) if shown != *v => queue,
                    _ => k.as_str(),
                };
                (label, shown)
            })
            .collect();
        let room = tables::value_room(rows.iter().map(|(k, _)| *k).chain(["output"]));
        let table = tables::indent(&tables::pairs(
            ["output", "value"],
            rows.into_iter()
                .map(|(k, v)| (k, tables::within(&r.name, &v, room))),
        ));
        printer
            .data(format!(
                "{} ({}):\n{table}",
                r.name,
                r.status.as_deref().unwrap_or("?")
            ))
            .map_err(Failure::output)?;
    }
    Ok(())
}

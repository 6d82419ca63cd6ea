//! `replatform diff`: per stack, the change set `up` would execute (created, described and
//! deleted, never executed) and the text difference between the deployed and rendered
//! templates.

use std::process::ExitCode;

use futures::future::join_all;
use serde::Serialize;

use super::guard::{queue_risks, QueueRisk};
use super::{report_op_error, run_token, Failure, Global, Outcome};
use crate::pipeline::ImageMode;
use crate::apply::{Preview, Runner, Settings};
use crate::cli::DiffArgs;
use crate::core::changes::{self, Change};
use crate::ui::printer::Printer;
use crate::ui::progress::Silent;
use crate::ui::tables;

#[derive(Serialize)]
struct StackDiff {
    name: String,
    kind: String,
    /// `new`, `recreate`, `changed`, `unchanged`, `error`.
    state: &'static str,
    changes: Vec<Change>,
    /// Queues the changes replace or remove, with what they hold: data loss, which `up` refuses
    /// without --allow-queue-replacement.
    data_loss: Vec<QueueRisk>,
    template_diff: Option<String>,
    error: Option<String>,
}

pub async fn run(args: DiffArgs, g: &Global, printer: &Printer) -> Outcome {
    let DiffArgs { image_uri, only, exit_code } = args;
    let ready = crate::pipeline::prepare(g, image_uri.as_deref(), only, ImageMode::Preview, printer).await?;
    let (loaded, aws, stacks) = (&ready.loaded, &ready.aws, &ready.stacks);
    let cfn = aws.cfn();
    let runner = Runner::new(&cfn, &Silent, Settings::default(), format!("{}-diff", run_token()), vec![("replatform:service".into(), loaded.config.service.clone())]);

    let previews = join_all(stacks.iter().map(|s| async {
        let preview = runner.preview(&s.name, &s.template).await;
        let deployed = match &preview {
            Ok(Preview::Changes(_)) => cfn.template(&s.name).await.ok().flatten(),
            _ => None,
        };
        (preview, deployed)
    }))
    .await;

    let services = aws.services();
    let mut diffs = Vec::new();
    let mut failed = false;
    for (s, (preview, deployed)) in stacks.iter().zip(previews) {
        let mut d = StackDiff { name: s.name.clone(), kind: s.kind.clone(), state: "unchanged", changes: vec![], data_loss: vec![], template_diff: None, error: None };
        match preview {
            Ok(Preview::New) | Ok(Preview::Recreate(_)) => {
                d.state = if matches!(preview, Ok(Preview::New)) { "new" } else { "recreate" };
                d.changes = changes::creations(&s.template).map_err(|e| Failure::new(format!("reading the rendered `{}`: {e}", s.name)))?;
            }
            Ok(Preview::Changes(rows)) => {
                d.template_diff = deployed.and_then(|old| changes::template_diff(&old, &s.template, &s.name));
                // No resource changes but another template: Outputs, Metadata or Description,
                // which `up` applies too.
                d.state = if rows.is_empty() && d.template_diff.is_none() { "unchanged" } else { "changed" };
                d.data_loss = queue_risks(&cfn, &services, &s.name, &rows).await;
                d.changes = rows;
            }
            Err(e) => {
                report_op_error(printer, &e);
                d.state = "error";
                d.error = Some(e.to_string());
                failed = true;
            }
        }
        diffs.push(d);
    }
    let changed = diffs.iter().any(|d| matches!(d.state, "new" | "recreate" | "changed"));

    if printer.is_json() {
        #[derive(Serialize)]
        struct Doc<'a> {
            changed: bool,
            image: &'a crate::image::Report,
            stacks: &'a [StackDiff],
        }
        printer.json(&Doc { changed, image: &ready.image, stacks: &diffs }).map_err(Failure::output)?;
    } else {
        for d in &diffs {
            let out = match d.state {
                "new" => format!("{}: not deployed; `up` creates {} resources\n{}", d.name, d.changes.len(), tables::indent(&tables::changes(&d.changes))),
                "recreate" => format!("{}: left by a failed create; `up` deletes it and creates {} resources\n{}", d.name, d.changes.len(), tables::indent(&tables::changes(&d.changes))),
                "changed" if d.changes.is_empty() => format!("{}: no resource changes; the template's outputs, metadata or description change", d.name),
                "changed" => format!("{}: {} change{}\n{}", d.name, d.changes.len(), if d.changes.len() == 1 { "" } else { "s" }, tables::indent(&tables::changes(&d.changes))),
                "unchanged" => format!("{}: no changes", d.name),
                _ => continue,
            };
            printer.data(out).map_err(Failure::output)?;
            for r in &d.data_loss {
                printer.warning(&format!("{} (`up` refuses this without --allow-queue-replacement)", r.describe()));
            }
            if let Some(t) = &d.template_diff {
                printer.data(colorize(t)).map_err(Failure::output)?;
            }
        }
    }
    if failed {
        return Err(Failure::reported());
    }
    Ok(if exit_code && changed { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Red removals and green additions; anstream drops the colors where they don't belong.
fn colorize(diff: &str) -> String {
    let red = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Red.into()));
    let green = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Green.into()));
    let cyan = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Cyan.into()));
    diff.lines()
        .map(|l| {
            if l.starts_with("+++") || l.starts_with("---") || l.starts_with("@@") {
                format!("{cyan}{l}{cyan:#}")
            } else if l.starts_with('+') {
                format!("{green}{l}{green:#}")
            } else if l.starts_with('-') {
                format!("{red}{l}{red:#}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

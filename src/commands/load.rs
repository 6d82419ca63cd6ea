//! `replatform load`: the same messages to both deployed queues, with a progress bar, a summary
//! and exit 1 when any message could not be sent.

use super::settings::load_plan;
use crate::app::experiment;
use crate::app::workspace::Workspace;
use crate::cli::LoadArgs;
use crate::error::{Exit, Failure, Outcome};
use crate::experiment::load::LoadReport;
use crate::ui::experiment as view;
use crate::ui::printer::Printer;

pub async fn run(args: LoadArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let LoadArgs { only, load } = args;
    let plan = load_plan(&load)?;
    let report = experiment::load(ws, only, &plan, printer).await?;
    finish(printer, &report)
}

/// Prints the report; exit 1 when something was not sent, 130 when interrupted.
fn finish(printer: &Printer, report: &LoadReport) -> Outcome {
    if printer.is_json() {
        printer.json(report).map_err(Failure::output)?;
    } else {
        for line in view::load_summary(report) {
            printer.info(line);
        }
    }
    for q in &report.queues {
        for n in q.not_sent.iter().filter(|n| n.code != "Interrupted") {
            printer.warning(&format!("{} of {} not sent to the {} queue: {}: {}", n.count, report.planned, q.platform, n.code, n.message));
        }
    }
    if report.interrupted {
        return Ok(Exit::Interrupted);
    }
    if report.failed > 0 {
        return Err(Failure::new(format!("{} of {} messages were not sent", report.failed, report.planned * report.queues.len() as u64))
            .hint("the reasons are above; `replatform status` shows whether the stacks and queues are there"));
    }
    Ok(Exit::Success)
}

//! `replatform load`: the same messages to both deployed queues, with a progress bar, a summary
//! and exit 1 when any message could not be sent.

use super::settings::load_plan;
use crate::app::experiment;
use crate::app::workspace::Workspace;
use crate::cli::LoadArgs;
use crate::error::{Exit, Failure, Outcome};
use crate::experiment::load::LoadReport;
use crate::signal::Stop;
use crate::ui::experiment as view;
use crate::ui::printer::Printer;

pub async fn run(args: LoadArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let LoadArgs { only, queue, load } = args;
    let plan = load_plan(&load)?;
    let stop = Stop::on_signals();
    let report = experiment::load(ws, only, queue.as_deref(), &plan, printer, &stop).await?;
    finish(printer, &report, stop.signal())
}

/// Prints the report; exit 1 when something was not sent, 130 when interrupted (by `signal`).
fn finish(printer: &Printer, report: &LoadReport, signal: Option<&str>) -> Outcome {
    if printer.is_json() {
        printer.json(report).map_err(Failure::output)?;
    } else {
        for line in view::load_summary(report) {
            printer.info(line);
        }
    }
    for q in &report.queues {
        for n in q.not_sent.iter().filter(|n| n.code != "Interrupted") {
            printer.warning(&format!(
                "{} of {} not sent to the {} queue: {}: {}",
                n.count, report.planned, q.platform, n.code, n.message
            ));
        }
    }
    if let Some(signal) = signal {
        return Err(Failure::interrupted(format!(
            "interrupted ({signal}): {}",
            left_in_queues(report)
        ))
        .hint(LEFT_HINT));
    }
    if report.failed > 0 {
        return Err(Failure::new(format!("{} of {} messages were not sent", report.failed, report.planned * report.queues.len() as u64))
            .hint("the reasons are above; `replatform status` shows whether the stacks and queues are there"));
    }
    Ok(Exit::Success)
}

/// What an interrupted load leaves: nothing of ours runs in AWS; what was sent stays queued.
pub fn left_in_queues(report: &LoadReport) -> String {
    let each = report
        .queues
        .iter()
        .map(|q| format!("{} to {}", q.sent, q.platform))
        .collect::<Vec<_>>()
        .join(", ");
    match report.sent {
        0 => "no message was sent, and nothing of ours runs in AWS".to_string(),
        1 => {
            format!("nothing of ours runs in AWS, but the message sent ({each}) stays in its queue")
        }
        n => format!(
            "nothing of ours runs in AWS, but the {n} messages sent ({each}) stay in the queues"
        ),
    }
}

/// What to do after an interrupted load or compare.
pub const LEFT_HINT: &str = "`replatform status` shows the queues' depths; the deployed workers drain them, or `replatform down --force` deletes them with the stacks";

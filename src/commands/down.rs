//! `replatform down`: the stacks, then the queues they retained, then (with `--purge-images`)
//! the ECR repository; refused while a queue holds messages (`app::teardown`).

use crate::app::teardown::{self, Options, Teardown};
use crate::app::workspace::Workspace;
use crate::aws::sqs::QueueDepth;
use crate::cli::DownArgs;
use crate::core::outcome::QueueOutcome;
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::Printer;

pub async fn run(args: DownArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let DownArgs {
        only,
        yes,
        timeout,
        purge_images,
        force,
        keep_queues,
    } = args;
    let options = Options {
        yes,
        force,
        keep_queues,
        purge_images,
    };
    let done = teardown::down(ws, only, options, timeout, printer).await?;
    if printer.is_json() {
        printer.json(&done).map_err(Failure::output)?;
    } else {
        show(printer, &done);
    }
    if done.failed {
        return Err(Failure::reported());
    }
    Ok(Exit::Success)
}

fn show(printer: &Printer, done: &Teardown) {
    for r in &done.stacks {
        match (r.existed, r.deleted) {
            (false, _) => printer.info(format!("{}: no such stack, nothing to delete", r.name)),
            (true, true) => printer.info(format!("{}: deleted", r.name)),
            _ => {}
        }
        for q in &r.queues {
            let n = q.depth.as_ref().map_or(0, QueueDepth::total);
            match q.outcome {
                QueueOutcome::Deleted => printer.info(format!("  deleted queue {} ({n} message{})", q.url, if n == 1 { "" } else { "s" })),
                QueueOutcome::Kept => printer.info(format!("  kept queue {} (it is no stack's now; once empty and unneeded: aws sqs delete-queue --queue-url {})", q.url, q.url)),
                QueueOutcome::Gone | QueueOutcome::Failed => {}
            }
        }
    }
}

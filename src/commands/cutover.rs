//! `replatform cutover` and `replatform rollback`: wiring for `app::cutover`.

use crate::app::cutover::{self, Cutover, Options, Rollback};
use crate::app::workspace::Workspace;
use crate::cli::{CutoverArgs, RollbackArgs};
use crate::core::cutover::{Outcome, Thresholds};
use crate::error::{self, Exit, Failure};
use crate::ui::printer::Printer;

pub async fn run(args: CutoverArgs, ws: &Workspace, printer: &Printer) -> error::Outcome {
    let CutoverArgs {
        stages,
        bake,
        sample_every,
        max_errors,
        max_throttles,
        max_dlq_growth,
        max_oldest_age,
        max_depth_rise,
        yes,
    } = args;
    let thresholds = Thresholds {
        max_errors,
        max_throttles,
        max_dlq_growth,
        max_oldest_age_s: max_oldest_age.as_secs(),
        max_depth_rise,
    };
    let options = Options {
        stages: stages.0,
        bake,
        sample_every,
        thresholds,
        yes,
    };
    let done = cutover::cutover(ws, &options, printer).await?;
    if printer.is_json() {
        printer.json(&done).map_err(Failure::output)?;
    } else {
        show(printer, &done);
    }
    let failure = |exit: Exit| {
        let mut f = Failure::new(done.reason.clone().unwrap_or_default());
        f.hint = done.hint.clone();
        f.exit = exit;
        f
    };
    match Exit::from(done.outcome) {
        Exit::Success => Ok(Exit::Success),
        exit => Err(failure(exit)),
    }
}

fn show(printer: &Printer, done: &Cutover) {
    for r in &done.refusals {
        printer.error(&format!("{}: {}", r.check, r.problem), Some(&r.fix));
    }
    if let Some(r) = &done.rollback {
        show_rollback(printer, r);
    }
    if done.outcome == Outcome::CutOver {
        let (Some(site), Some(last)) = (&done.site, done.stages.last()) else {
            return;
        };
        let recorded = done
            .recorded
            .map(|b| format!("min {} max {} desired {}", b.min, b.max, b.desired))
            .unwrap_or_default();
        let (queues, are) = if done.queues.len() > 1 {
            let names: Vec<String> = done
                .queues
                .iter()
                .map(|s| format!("`{}`", s.queue_name))
                .collect();
            (names.join(", "), "are")
        } else {
            (format!("`{}`", site.queue_name), "is")
        };
        let each = if done.queues.len() > 1 { " each" } else { "" };
        printer.info(format!(
            "cut over: {queues} {are} consumed by `{}` (MaximumConcurrency {}{each}); `{}/{}` is held at 0 tasks. `replatform rollback` puts it back as recorded ({recorded})",
            site.function, last.stage.max_concurrency, site.cluster, site.service
        ));
    }
}

fn show_rollback(printer: &Printer, r: &Rollback) {
    if r.complete {
        let b = r
            .recorded
            .map(|b| format!(" (min {} max {} desired {})", b.min, b.max, b.desired))
            .unwrap_or_default();
        printer.info(format!("rolled back: the ECS service is as recorded{b}, the function does not consume the production queue, nothing was deleted"));
    }
}

pub async fn rollback(args: RollbackArgs, ws: &Workspace, printer: &Printer) -> error::Outcome {
    let done = cutover::rollback(ws, args.yes, printer).await?;
    if printer.is_json() {
        printer.json(&done).map_err(Failure::output)?;
    } else {
        show_rollback(printer, &done);
    }
    if !done.complete {
        return Err(Failure::new("the rollback is not complete: a step failed (shown above); the record stays on the service").hint("fix what the failed step names, then run `replatform rollback` again"));
    }
    Ok(Exit::Success)
}

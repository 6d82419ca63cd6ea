//! `replatform simulate`: predicts both platforms' scaling, drain times and cost for a load from
//! the config alone, with no AWS call (`app::simulate`); leaves the files `compare` leaves.

use crate::core::outcome::Stopped;
use std::time::Duration;

use super::settings::load_plan;
use crate::app::simulate::{self, Spec};
use crate::app::workspace::Workspace;
use crate::cli::SimulateArgs;
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::Printer;
use crate::ui::simulate as view;

pub fn run(args: SimulateArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let SimulateArgs {
        load,
        queue,
        per_message,
        task_start,
        window,
        interval,
        out,
        explain,
        prices,
        from_compare,
        poison,
    } = args;
    if interval < Duration::from_secs(1) || interval.subsec_nanos() != 0 {
        return Err(Failure::new(format!(
            "--interval `{}` is not a whole number of seconds",
            humantime::format_duration(interval)
        ))
        .hint(
            "the model moves in steps of one second: --interval 1s or more, e.g. 5s (the default)",
        ));
    }
    if window.is_some_and(|w| w < interval) {
        return Err(Failure::new("--for is shorter than one --interval").hint(
            "--for 30m simulates half an hour; leave it out to run until both queues drain",
        ));
    }
    if task_start > Duration::from_secs(3600) || per_message > Duration::from_secs(900) {
        return Err(Failure::new("--task-start is above 1h or --per-message above 15m").hint("a Fargate task starts in about a minute (docs/pitfalls.md#p31); Lambda stops an invocation at 15 minutes"));
    }
    let spec = Spec {
        per_message,
        task_start,
        interval,
        window,
        out,
        prices,
        poison,
        queue,
    };
    let summary = match from_compare {
        Some(dir) => {
            if load.count.is_some()
                || load.batches.is_some()
                || load.rate.is_some()
                || load.body_file.is_some()
            {
                return Err(Failure::new("--from-compare takes the load from the measured run").hint("leave out the load options, or --from-compare to simulate a load of your own"));
            }
            let (summary, said) = simulate::from_compare(ws, &spec, &dir, printer)?;
            printer.info(format!("from {}: {}", dir.display(), said.join("; ")));
            summary
        }
        None => simulate::simulate(ws, &spec, &load_plan(&load)?, printer)?,
    };
    if printer.is_json() {
        printer.json(&summary).map_err(Failure::output)?;
    } else {
        printer
            .data(view::summary(&summary))
            .map_err(Failure::output)?;
        if explain {
            printer
                .data(format!(
                    "\ndecisions:\n{}",
                    view::decisions(&summary.decisions)
                ))
                .map_err(Failure::output)?;
        }
    }
    if summary.run.stopped == Stopped::Timeout {
        printer.warning(&format!("the model stopped after {} simulated hours without both queues drained; --for D sets how long to simulate", crate::core::simulate::DEFAULT_LIMIT.as_secs() / 3600));
    }
    Ok(Exit::of_simulation(summary.run.stopped))
}

//! `replatform compare`: samples both platforms until their queues drain (optionally sending
//! the load first), shows them side by side, and leaves samples.csv, summary.json and chart.svg
//! (`app::experiment::compare`).

use std::time::Duration;

use super::settings::load_plan;
use crate::app::experiment::{self, Watch};
use crate::app::workspace::Workspace;
use crate::cli::CompareArgs;
use crate::error::{Exit, Failure, Outcome};
use crate::signal::Stop;
use crate::ui::experiment as view;
use crate::ui::printer::Printer;

pub async fn run(args: CompareArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let CompareArgs {
        only,
        queue,
        load,
        options: o,
        interval,
        until_drained: _,
        window,
        timeout,
        out,
        per_message,
        task_start,
    } = args;
    if !load
        && (o.count.is_some() || o.batches.is_some() || o.rate.is_some() || o.body_file.is_some())
    {
        return Err(Failure::new("the load options need --load")
            .hint("`replatform compare --load --count 500` sends the load and watches it drain"));
    }
    if interval < Duration::from_millis(200) {
        return Err(Failure::new("--interval is below 200ms")
            .hint("5s (the default) matches how fast the queue counts change"));
    }
    if task_start > Duration::from_secs(3600) || per_message > Duration::from_secs(900) {
        return Err(Failure::new("--task-start is above 1h or --per-message above 15m").hint("a Fargate task starts in about a minute (docs/pitfalls.md#p31); Lambda stops an invocation at 15 minutes"));
    }
    let plan = if load { Some(load_plan(&o)?) } else { None };
    let stop = Stop::on_signals();
    let (summary, taken) = experiment::compare(
        ws,
        &Watch {
            only,
            queue,
            interval,
            window,
            timeout,
            out,
            per_message,
            task_start,
        },
        plan.as_ref(),
        printer,
        &stop,
    )
    .await?;
    let out = std::path::Path::new(&summary.run.out);
    if printer.is_json() {
        printer.json(&summary).map_err(Failure::output)?;
    } else {
        printer
            .data(view::compare_summary(&summary))
            .map_err(Failure::output)?;
    }
    if let Some(signal) = stop.signal() {
        let left = match &summary.load {
            Some(report) => super::load::left_in_queues(report),
            None => "compare sent no message, and nothing of ours runs in AWS".to_string(),
        };
        return Err(Failure::interrupted(format!(
            "interrupted ({signal}): the {taken} sample{} taken so far {} in {} (samples.csv, summary.json, chart.svg); {left}",
            if taken == 1 { "" } else { "s" },
            if taken == 1 { "is" } else { "are" },
            out.display()
        ))
        .hint(super::load::LEFT_HINT));
    }
    if let Some(report) = &summary.load {
        if report.failed > 0 {
            return Err(Failure::new(format!(
                "{} messages of the load were not sent",
                report.failed
            ))
            .hint("summary.json lists the reasons under load.queues"));
        }
    }
    match Exit::of_comparison(summary.run.stopped) {
        Exit::Failure => Err(Failure::new(format!(
            "the queues were not drained within --timeout {}",
            humantime::format_duration(timeout)
        ))
        .hint(format!(
            "the samples so far are in {}; a longer --timeout waits more",
            out.display()
        ))),
        exit => Ok(exit),
    }
}

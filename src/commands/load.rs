//! `replatform load`: the same messages to both deployed queues, with a progress bar, a summary
//! and exit 1 when any message could not be sent.

use std::process::ExitCode;

use super::compare::deployed;
use super::{Failure, Global, Outcome};
use crate::signal::Stop;
use crate::cli::{LoadArgs, LoadOptions};
use crate::core::load::Pace;
use crate::experiment::load::{self as engine, Bodies, LoadReport, Plan, Target};
use crate::ui::experiment as view;
use crate::ui::printer::Printer;

/// Turns the options into a plan, refusing what cannot be sent. No AWS call yet.
pub fn plan(o: &LoadOptions) -> Result<Plan, Failure> {
    let pace = match (o.count, o.batches, o.rate) {
        (Some(count), None, None) => Pace::Burst { count },
        (None, Some(batches), None) => Pace::Batches { batches, max_per_batch: o.max_per_batch, pause: o.pause },
        (count, None, Some(rate)) => {
            let total = match (count, o.duration) {
                (Some(n), _) => n,
                (None, Some(d)) => (rate * d.as_secs_f64()).round() as u64,
                (None, None) => return Err(Failure::new("--rate needs to know when to stop").hint("add --duration (e.g. --rate 20 --duration 2m) or --count N")),
            };
            if total == 0 {
                return Err(Failure::new(format!("--rate {rate} for {} sends no message", humantime::format_duration(o.duration.unwrap_or_default()))).hint("make --duration longer or the rate higher"));
            }
            Pace::Rate { per_second: rate, total }
        }
        _ => return Err(Failure::new("say how much to send").hint("--count N (a burst), --batches B [--max-per-batch M --pause D] (the article's seeder), or --rate R --duration D")),
    };
    let bodies = match &o.body_file {
        Some(path) => {
            let body = std::fs::read_to_string(path).map_err(|e| Failure::new(format!("cannot read --body-file `{}`: {e}", path.display())).hint("SQS bodies are text: UTF-8, no NUL"))?;
            if body.is_empty() || body.len() > crate::core::load::MAX_BODY_BYTES {
                return Err(Failure::new(format!("--body-file `{}` holds {} bytes", path.display(), body.len())).hint(format!("a body must be 1..{} bytes", crate::core::load::MAX_BODY_BYTES)));
            }
            Bodies::Fixed(body)
        }
        None => Bodies::Generated(o.size),
    };
    Ok(Plan { pace, bodies, concurrency: usize::from(o.concurrency), seed: o.seed.unwrap_or_else(|| fastrand::u64(..)) })
}

pub async fn run(args: LoadArgs, g: &Global, printer: &Printer) -> Outcome {
    let plan = plan(&args.load)?;
    let stop = Stop::on_signals();
    let (_, aws, platforms) = deployed(g, args.only, printer).await?;
    let targets: Vec<Target> = platforms.iter().map(|p| Target::new(&p.platform, &p.queue_url)).collect();
    let stopped = stop.flag();
    let services = aws.services();
    let bar = view::LoadBar::new(printer, &targets, &plan);
    let work = engine::run(&services, &targets, &plan, stopped);
    tokio::pin!(work);
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(200));
    let mut interrupted = false;
    let report = loop {
        tokio::select! {
            report = &mut work => break report,
            _ = ticks.tick() => bar.update(&targets),
            signal = stop.signalled(), if !interrupted => {
                interrupted = true;
                bar.suspend(|| printer.warning(&format!("interrupted ({signal}): finishing the calls in flight, sending nothing more")));
            }
        }
    };
    bar.finish();
    finish(printer, &report, stop.signal())
}

/// Prints the report; exit 1 when something was not sent, 130 when interrupted (by `signal`).
pub fn finish(printer: &Printer, report: &LoadReport, signal: Option<&str>) -> Outcome {
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
    if let Some(signal) = signal {
        return Err(Failure::interrupted(format!("interrupted ({signal}): {}", left_in_queues(report))).hint(LEFT_HINT));
    }
    if report.failed > 0 {
        return Err(Failure::new(format!("{} of {} messages were not sent", report.failed, report.planned * report.queues.len() as u64))
            .hint("the reasons are above; `replatform status` shows whether the stacks and queues are there"));
    }
    Ok(ExitCode::SUCCESS)
}

/// What an interrupted load leaves: nothing of ours runs in AWS; what was sent stays queued.
pub fn left_in_queues(report: &LoadReport) -> String {
    let each = report.queues.iter().map(|q| format!("{} to {}", q.sent, q.platform)).collect::<Vec<_>>().join(", ");
    match report.sent {
        0 => "no message was sent, and nothing of ours runs in AWS".to_string(),
        1 => format!("nothing of ours runs in AWS, but the message sent ({each}) stays in its queue"),
        n => format!("nothing of ours runs in AWS, but the {n} messages sent ({each}) stay in the queues"),
    }
}

/// What to do after an interrupted load or compare.
pub const LEFT_HINT: &str = "`replatform status` shows the queues' depths; the deployed workers drain them, or `replatform down --force` deletes them with the stacks";

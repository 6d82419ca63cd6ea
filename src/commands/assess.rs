//! `replatform assess --traffic FILE`: a recorded series replayed through the model for both
//! platforms, each one's monthly cost and message age, the Lambda settings to choose and the
//! readiness (`app::assess`); no AWS call. The AWS mode (a service or a cluster read from
//! CloudWatch) is planned (issue 25).

use std::fmt::Write as _;
use std::time::Duration;

use crate::app::assess::{self, Spec};
use crate::app::workspace::Workspace;
use crate::cli::AssessArgs;
use crate::core::assess::Report;
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::Printer;

pub fn run(args: AssessArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let AssessArgs {
        traffic,
        queue,
        per_message,
        task_start,
        prices,
    } = args;
    let Some(traffic) = traffic else {
        return Err(Failure {
            exit: Exit::Usage,
            ..Failure::new("assess needs --traffic FILE: reading a service's traffic from AWS (SERVICE, --cluster) is not built yet")
                .hint("export the queue's per-minute NumberOfMessagesSent as a CSV with a header `time,sent`, then: replatform assess --traffic FILE")
        });
    };
    if task_start > Duration::from_secs(3600) || per_message > Duration::from_secs(900) {
        return Err(Failure::new("--task-start is above 1h or --per-message above 15m").hint("a Fargate task starts in about a minute (docs/pitfalls.md#p31); Lambda stops an invocation at 15 minutes"));
    }
    let spec = Spec {
        traffic,
        per_message,
        task_start,
        prices,
        queue,
    };
    let report = assess::assess(ws, &spec, printer)?;
    if printer.is_json() {
        printer.json(&report).map_err(Failure::output)?;
    } else {
        printer.data(text(&report)).map_err(Failure::output)?;
        for note in &report.notes {
            printer.info(format!("note: {note}"));
        }
    }
    Ok(Exit::Success)
}

fn age(a: Option<f64>) -> String {
    a.map_or("-".into(), |s| format!("{s:.0} s"))
}

/// The report for people, within 80 columns.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let p = &r.period;
    let _ = writeln!(
        out,
        "{}: {} minutes, {} to {}",
        r.service, p.minutes, p.start, p.end
    );
    let _ = writeln!(
        out,
        "predicted by the model, per 30-day month (the period scaled)\n"
    );
    let _ = writeln!(
        out,
        "{:<9}{:>11}{:>11}{:>9}{:>10}{:>10}",
        "platform", "$/month", "compute", "sqs", "age p50", "age p99"
    );
    for x in &r.platforms {
        let _ = writeln!(
            out,
            "{:<9}{:>11.2}{:>11.2}{:>9.2}{:>10}{:>10}",
            x.platform.as_str(),
            x.monthly_usd,
            x.compute_monthly_usd,
            x.sqs_monthly_usd,
            age(x.age_p50_s),
            age(x.age_p99_s)
        );
    }
    let c = &r.recommended;
    let mut settings = vec![format!("memory {} MB", c.memory)];
    if let Some(b) = c.batch_size {
        settings.push(format!("batch_size {b}"));
    }
    if let Some(m) = c.max_concurrency {
        settings.push(format!("max_concurrency {m}"));
    }
    let _ = writeln!(out, "\nrecommended lambda: {}", settings.join(", "));
    let _ = writeln!(
        out,
        "  ${:.2}/month, age p99 {} ({} settings tried)",
        c.monthly_usd,
        age(c.age_p99_s),
        c.candidates
    );
    let _ = writeln!(
        out,
        "  {}",
        if c.matches_ecs {
            "its p99 age is no worse than ECS's"
        } else {
            "none tried matched ECS's p99 age: this is the lowest"
        }
    );
    let _ = match r.readiness.problems.first() {
        None => writeln!(out, "readiness: ready (validate finds no error)"),
        Some(first) => writeln!(
            out,
            "readiness: not ready, {} error(s); first: {first}",
            r.readiness.problems.len()
        ),
    };
    out
}

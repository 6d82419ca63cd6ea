//! `replatform assess`: a recorded series replayed through the model for both platforms, each
//! one's monthly cost and message age, the Lambda settings to choose and the readiness
//! (`app::assess`). With `--traffic FILE` no AWS call; with `CLUSTER/SERVICE` or `--cluster
//! NAME` the services and their traffic read from AWS (`app::assess::aws`), a cluster's ranked
//! by monthly saving, as text, JSON and an HTML page.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::app::adopt::parse_target;
use crate::app::assess::aws::{self as from_aws, AwsSpec};
use crate::app::assess::{self, Spec};
use crate::app::workspace::{connect, Workspace};
use crate::cli::AssessArgs;
use crate::core::assess::recorded::Fleet;
use crate::core::assess::Report;
use crate::core::side::Side;
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::{fold, Printer};
use crate::ui::progress;

/// `--per-message`'s default with `--traffic`.
const PER_MESSAGE: Duration = Duration::from_millis(100);

pub async fn run(args: AssessArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let AssessArgs {
        target,
        cluster,
        days,
        html,
        traffic,
        queue,
        per_message,
        task_start,
        prices,
    } = args;
    if task_start > Duration::from_secs(3600)
        || per_message.is_some_and(|p| p > Duration::from_secs(900))
    {
        return Err(Failure::new("--task-start is above 1h or --per-message above 15m").hint("a Fargate task starts in about a minute (docs/pitfalls.md#p31); Lambda stops an invocation at 15 minutes"));
    }
    let aws_spec = |now| AwsSpec {
        days,
        per_message,
        default_per_message: PER_MESSAGE,
        task_start,
        prices: prices.clone(),
        now,
    };
    match (traffic, target, cluster) {
        (Some(traffic), _, _) => {
            let spec = Spec {
                traffic,
                per_message: per_message.unwrap_or(PER_MESSAGE),
                task_start,
                prices: prices.clone(),
                queue,
            };
            let report = assess::assess(ws, &spec, printer)?;
            print_one(&report, printer)
        }
        (None, Some(target), None) => {
            let (cluster, service) = parse_target(&target).map_err(|e| Failure {
                exit: Exit::Usage,
                ..Failure::new(e)
            })?;
            {
                let spec = aws_spec(SystemTime::now());
                let aws = connect(ws, None, printer).await?;
                let lines = progress::lines(true);
                let (fleet, _) =
                    from_aws::fleet(&aws, &cluster, std::slice::from_ref(&service), &spec, &*lines).await?;
                let Fleet {
                    mut services,
                    unreadable,
                    not_sqs_workers,
                    ..
                } = fleet;
                if let Some(u) = unreadable.first() {
                    return Err(Failure::new(u.reason.clone()).hint("check the names with `aws ecs list-services --cluster CLUSTER`, the region (--region or AWS_REGION), and that the caller may read what `init --from-ecs` reads and cloudwatch:GetMetricData"));
                }
                if !not_sqs_workers.is_empty() || services.is_empty() {
                    return Err(Failure::new(format!("`{cluster}/{service}` consumes no SQS queue: no container of its task definition names one")).hint("assess models SQS workers; `replatform assess --cluster CLUSTER` lists those of a cluster"));
                }
                print_one(&services.remove(0).report, printer)
            }
        }
        (None, None, Some(cluster)) => {
            let spec = aws_spec(SystemTime::now());
            let aws = connect(ws, None, printer).await?;
            let names = aws.ecs().service_names(&cluster).await.map_err(|e| {
                let hint = if e.is_missing_cluster() {
                    "check the cluster's name with `aws ecs list-clusters` and the region (--region or AWS_REGION)".to_string()
                } else {
                    e.hint().unwrap_or_default()
                };
                Failure::new(e.to_string()).hint(hint)
            })?;
            let lines = progress::lines(printer.quiet || printer.is_json());
            let (fleet, _) = from_aws::fleet(&aws, &cluster, &names, &spec, &*lines).await?;
            if let Some(path) = &html {
                let page = crate::experiment::assess_page::page(
                    &fleet,
                    &humantime::format_rfc3339_seconds(spec.now).to_string(),
                )
                .map_err(|e| Failure::new(format!("drawing the page's charts: {e}")))?;
                std::fs::write(path, page).map_err(|e| {
                    Failure::new(format!("cannot write --html `{}`: {e}", path.display()))
                })?;
                printer.info(format!("wrote {}", path.display()));
            }
            if printer.is_json() {
                printer.json(&fleet).map_err(Failure::output)?;
            } else {
                printer.data(fleet_text(&fleet)).map_err(Failure::output)?;
            }
            Ok(Exit::Success)
        }
        (None, None, None) => Err(Failure {
            exit: Exit::Usage,
            ..Failure::new("assess needs what to assess: CLUSTER/SERVICE, --cluster NAME or --traffic FILE")
                .hint("replatform assess prod/orders (one ECS service), replatform assess --cluster prod (all its SQS workers), or replatform assess --traffic FILE (a per-minute CSV, no AWS call)")
        }),
        (None, Some(_), Some(_)) => unreachable!("clap refuses CLUSTER/SERVICE with --cluster"),
    }
}

fn print_one(report: &Report, printer: &Printer) -> Outcome {
    if printer.is_json() {
        printer.json(report).map_err(Failure::output)?;
    } else {
        printer.data(text(report)).map_err(Failure::output)?;
        for note in &report.notes {
            printer.info(format!("note: {note}"));
        }
    }
    Ok(Exit::Success)
}

/// A name cut to `n` characters, its end marked.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('~');
        t
    }
}

/// The fleet for people, ranked by saving, within 80 columns.
pub fn fleet_text(f: &Fleet) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "cluster {}: {} SQS worker(s) assessed over {} day(s), ranked by monthly saving",
        f.cluster,
        f.services.len(),
        f.days
    );
    let _ = writeln!(
        out,
        "predicted by the model, $ per 30-day month; lambda: the recommended settings\n"
    );
    let _ = writeln!(
        out,
        "{:>3} {:<24}{:>6}{:>10}{:>10}{:>10}{:>8}{:>8}",
        "#", "service", "ready", "ecs $", "lambda $", "saving", "p99 ecs", "p99 lam"
    );
    for (i, s) in f.services.iter().enumerate() {
        let r = &s.report;
        let ecs = r.platforms.iter().find(|p| p.platform == Side::Ecs);
        let _ = writeln!(
            out,
            "{:>3} {:<24}{:>6}{:>10.2}{:>10.2}{:>10.2}{:>8}{:>8}",
            i + 1,
            cut(&r.service, 23),
            if r.readiness.ready { "yes" } else { "no" },
            ecs.map_or(0.0, |p| p.monthly_usd),
            r.recommended.monthly_usd,
            s.saving_monthly_usd,
            age(ecs.and_then(|p| p.age_p99_s)),
            age(r.recommended.age_p99_s)
        );
    }
    for u in &f.unreadable {
        let _ = writeln!(
            out,
            "not assessed: {}\n  {}",
            u.service,
            fold(&u.reason, Some(80), 2)
        );
    }
    if !f.not_sqs_workers.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            fold(
                &format!(
                    "no SQS queue (not assessed): {}",
                    f.not_sqs_workers.join(", ")
                ),
                Some(80),
                2
            )
        );
    }
    out
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

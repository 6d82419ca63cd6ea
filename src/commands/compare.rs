//! `replatform compare`: samples both platforms until their queues drain (optionally sending
//! the load first), shows them side by side, and leaves samples.csv, summary.json and chart.svg.

use std::cell::Cell;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use super::{connect, facts, Failure, Global, Outcome};
use crate::aws::Aws;
use crate::cli::{CompareArgs, Only};
use crate::core::config::Config;
use crate::core::experiment::{self, Sample, DRAINED_SAMPLES};
use crate::experiment::compare::{rfc3339, Platform, Sampler, SeenEvent};
use crate::experiment::load::{self as engine, LoadReport, Target};
use crate::experiment::{self as files, chart, Summary};
use crate::signal::Stop;
use crate::ui::experiment as view;
use crate::ui::printer::Printer;

/// The deployed platforms, from their stacks; a stack that is not there stops the command
/// before anything is sent.
pub async fn deployed(g: &Global, only: Option<Only>, printer: &Printer) -> Result<(Config, Aws, Vec<Platform>), Failure> {
    let (config, names) = super::stack_names(g, only)?;
    let aws = connect(g, config.region.as_deref(), printer).await?;
    let cfn = aws.cfn();
    let mut platforms = Vec::new();
    for (kind, name) in names {
        let Some(stack) = cfn.describe_stack(&name).await? else {
            return Err(Failure::new(format!("stack `{name}` is not deployed")).hint(format!("`replatform up{}` deploys it; or leave it out with --only", if only.is_some() { format!(" --only {kind}") } else { String::new() })));
        };
        if !stack.status.updatable() {
            return Err(Failure::new(format!("stack `{name}` is {}", stack.status)).hint("`replatform status` shows why; once `replatform up` has brought it to a deployed state, run this again"));
        }
        let f = facts(&cfn, &name, &stack.outputs).await?;
        let Some(queue_url) = f.get("QueueUrl").cloned() else {
            return Err(Failure::new(format!("stack `{name}` has no queue (no `QueueUrl` output nor `Queue` resource)")).hint("a custom template must keep the Queue resource or output its URL as QueueUrl"));
        };
        platforms.push(Platform {
            platform: kind,
            stack: name,
            queue_url,
            dead_letter_queue_url: f.get("DeadLetterQueueUrl").cloned(),
            cluster: f.get("ClusterName").or(config.ecs.cluster.as_ref()).cloned(),
            service: f.get("ServiceName").cloned(),
            function: f.get("FunctionName").cloned(),
        });
    }
    Ok((config, aws, platforms))
}

fn default_out() -> PathBuf {
    let stamp: String = rfc3339(SystemTime::now()).chars().filter(char::is_ascii_digit).take(14).collect();
    PathBuf::from(".replatform").join(format!("compare-{}-{}", &stamp[..8.min(stamp.len())], &stamp[8.min(stamp.len())..]))
}

pub async fn run(args: CompareArgs, g: &Global, printer: &Printer) -> Outcome {
    let o = &args.options;
    if !args.load && (o.count.is_some() || o.batches.is_some() || o.rate.is_some() || o.body_file.is_some()) {
        return Err(Failure::new("the load options need --load").hint("`replatform compare --load --count 500` sends the load and watches it drain"));
    }
    if args.interval < Duration::from_millis(200) {
        return Err(Failure::new("--interval is below 200ms").hint("5s (the default) matches how fast the queue counts change"));
    }
    let plan = if args.load { Some(super::load::plan(o)?) } else { None };
    let stop = Stop::on_signals();
    let out = args.out.clone().unwrap_or_else(default_out);
    files::prepare_out(&out).map_err(|e| Failure::new(e).hint("choose another folder with --out DIR"))?;
    let (config, aws, platforms) = deployed(g, args.only, printer).await?;

    let mut sampler = Sampler::new(aws.services(), aws.metrics());
    let function = match platforms.iter().find_map(|p| p.function.as_deref()) {
        Some(f) => Some(sampler.function_facts(f).await),
        None => None,
    };
    let targets: Vec<Target> = platforms.iter().map(|p| Target::new(&p.platform, &p.queue_url)).collect();
    let stopped = stop.flag();
    let services = aws.services();
    let load_window: Cell<Option<(f64, f64)>> = Cell::new(None);
    let load_running = Cell::new(plan.is_some());
    let started = Instant::now();

    let load = async {
        let plan = plan.as_ref()?;
        // One sample of the queues before the first message.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let from = started.elapsed().as_secs_f64();
        load_window.set(Some((from, from)));
        let report = engine::run(&services, &targets, plan, stopped.clone()).await;
        load_window.set(Some((from, started.elapsed().as_secs_f64())));
        load_running.set(false);
        Some(report)
    };

    let watch = view::Watch::new(printer, &platforms, plan.as_ref());
    let mut samples: Vec<Sample> = Vec::new();
    let mut events: Vec<SeenEvent> = Vec::new();
    let mut stop_rx = stopped.clone();
    let sampling = async {
        let mut ticks = tokio::time::interval(args.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let limit = args.window.unwrap_or(args.timeout);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop_rx.wait_for(|s| *s) => {}
            }
            if *stop_rx.borrow() {
                return "interrupted";
            }
            for p in &platforms {
                let sent = targets.iter().find(|t| t.platform == p.platform).filter(|_| plan.is_some()).map(|t| t.sent.load(Ordering::Relaxed));
                let (s, seen) = sampler.sample(p, sent).await;
                for e in &seen {
                    watch.event(e);
                }
                events.extend(seen);
                samples.push(s);
            }
            watch.samples(&samples, &targets, plan.is_some().then(|| load_running.get()));
            let elapsed = started.elapsed();
            if args.window.is_none() && !load_running.get() && drained(&samples, &platforms) {
                return "drained";
            }
            if elapsed >= limit {
                return if args.window.is_some() { "window" } else { "timeout" };
            }
        }
    };
    let (load_report, stopped_by): (Option<LoadReport>, &str) = {
        let both = async { futures::join!(load, sampling) };
        tokio::pin!(both);
        tokio::select! {
            r = &mut both => r,
            _ = stop.signalled() => {
                // SIGINT or SIGTERM: the load starts no more calls, sampling stops; the files
                // are written with the samples taken so far.
                both.await
            }
        }
    };
    watch.finish();
    let ended = SystemTime::now();
    let platform_names: Vec<String> = platforms.iter().map(|p| p.platform.clone()).collect();
    let summaries = platform_names
        .iter()
        .map(|name| {
            let of: Vec<&Sample> = samples.iter().filter(|s| &s.platform == name).collect();
            experiment::summarise(name, &of, load_window.get().map(|(_, end)| end))
        })
        .collect();
    let summary = Summary {
        service: config.service.clone(),
        region: aws.region().to_string(),
        started_at: rfc3339(sampler.started),
        ended_at: rfc3339(ended),
        stopped: stopped_by.to_string(),
        interval_s: args.interval.as_secs_f64(),
        out: out.display().to_string(),
        platforms: summaries,
        load: load_report,
        load_window_s: load_window.get(),
        function,
        ecs_events: events,
        deployed: platforms.clone(),
    };
    write_files(&out, &summary, &samples, &platform_names).map_err(|e| Failure::new(e).hint("the samples are lost if the folder cannot be written; choose another with --out"))?;
    if printer.is_json() {
        printer.json(&summary).map_err(Failure::output)?;
    } else {
        printer.data(view::compare_summary(&summary)).map_err(Failure::output)?;
    }
    if let Some(signal) = stop.signal() {
        let left = match &summary.load {
            Some(report) => super::load::left_in_queues(report),
            None => "compare sent no message, and nothing of ours runs in AWS".to_string(),
        };
        let taken = samples.len() / platform_names.len().max(1);
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
            return Err(Failure::new(format!("{} messages of the load were not sent", report.failed)).hint("summary.json lists the reasons under load.queues"));
        }
    }
    match summary.stopped.as_str() {
        "timeout" => Err(Failure::new(format!("the queues were not drained within --timeout {}", humantime::format_duration(args.timeout)))
            .hint(format!("the samples so far are in {}; a longer --timeout waits more", out.display()))),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Every platform's last [`DRAINED_SAMPLES`] samples show an empty queue.
fn drained(samples: &[Sample], platforms: &[Platform]) -> bool {
    platforms.iter().all(|p| {
        let last: Vec<&Sample> = samples.iter().rev().filter(|s| s.platform == p.platform).take(DRAINED_SAMPLES).collect();
        last.len() == DRAINED_SAMPLES && last.iter().all(|s| s.depth() == Some(0))
    })
}

fn write_files(out: &std::path::Path, summary: &Summary, samples: &[Sample], platforms: &[String]) -> Result<(), String> {
    files::write_samples(&out.join("samples.csv"), samples)?;
    let json = serde_json::to_string_pretty(summary).map_err(|e| e.to_string())?;
    std::fs::write(out.join("summary.json"), json + "\n").map_err(|e| format!("writing {}: {e}", out.join("summary.json").display()))?;
    let title = format!("{}: ECS and Lambda draining the same load ({})", summary.service, &summary.started_at[..16.min(summary.started_at.len())]);
    chart::write(&out.join("chart.svg"), &title, platforms, samples, summary.load_window_s)
}

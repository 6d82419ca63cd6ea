//! The side-by-side experiment's workflows: `load` sends the same messages to the deployed
//! queues; `compare` samples both platforms until they drain (sending the load meanwhile when
//! asked) and writes samples.csv, summary.json and chart.svg, also when interrupted, with the
//! model's prediction for the same load beside the measurement and the measured run's cost.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use super::deployed::deployed;
use super::simulate;
use super::workspace::Workspace;
use super::Only;
use crate::core::config::Config;
use crate::core::cost::{self, Prices};
use crate::core::experiment::{self, Footprint, PlatformSummary, Run, Sample, DRAINED_SAMPLES};
use crate::core::load::Wave;
use crate::core::outcome::Stopped;
use crate::core::side::Side;
use crate::core::simulate as model;
use crate::error::Failure;
use crate::experiment::compare::{rfc3339, Platform, Sampler, SeenEvent};
use crate::experiment::load::{self as engine, LoadReport, Plan, Target};
use crate::experiment::{self as files, MeasuredCost, Prediction, Summary};
use crate::signal::Stop;
use crate::ui::experiment as view;
use crate::ui::printer::Printer;

/// `load`: the plan sent to the deployed queues with a progress bar. `stop` (SIGINT or SIGTERM)
/// stops new calls, lets those in flight finish, and the report says what was not sent.
pub async fn load(
    ws: &Workspace,
    only: Option<Only>,
    queue: Option<&str>,
    plan: &Plan,
    printer: &Printer,
    stop: &Stop,
) -> Result<LoadReport, Failure> {
    let (config, aws, platforms) = deployed(ws, only, printer).await?;
    let platforms = pick(&config, platforms, queue)?;
    let targets = targets(&platforms);
    let stopped = stop.flag();
    let services = aws.sqs();
    let bar = view::LoadBar::new(printer, &targets, plan);
    let work = engine::run(&services, &targets, plan, stopped);
    tokio::pin!(work);
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
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
    Ok(report)
}

/// The platforms' queues `--queue NAME` leaves (all of them without it); a name that is not one
/// of the worker's consumed queues is refused before anything is sent or sampled.
fn pick(
    config: &Config,
    mut platforms: Vec<Platform>,
    queue: Option<&str>,
) -> Result<Vec<Platform>, Failure> {
    let Some(name) = queue else {
        return Ok(platforms);
    };
    let entry = config.queue_named(name).map_err(|e| {
        Failure::new(e).hint("name one of the keys under `queues:` (or `queue` for the one queue)")
    })?;
    if !entry.queue.consumed {
        return Err(Failure::new(format!(
            "`{name}` is a queue the worker only sends to (`{}.consumed: false`): nothing would consume what is sent to it",
            entry.path()
        ))
        .hint("name a consumed queue, or leave --queue out for all of them"));
    }
    for p in &mut platforms {
        let q = p
            .queue_list()
            .into_iter()
            .find(|q| q.name == entry.label())
            .ok_or_else(|| {
                Failure::new(format!("stack `{}` has no queue `{name}`", p.stack))
                    .hint("`replatform up` deploys the config's queues")
            })?;
        p.queue_url = q.queue_url;
        p.dead_letter_queue_url = q.dead_letter_queue_url;
        p.queues.clear();
    }
    Ok(platforms)
}

/// One target a queue: every platform's queues (each gets the whole plan).
fn targets(platforms: &[Platform]) -> Vec<Target> {
    platforms
        .iter()
        .flat_map(|p| {
            p.queue_list()
                .into_iter()
                .map(|q| Target::new(p.platform, &q.queue_url))
        })
        .collect()
}

/// What `compare` watches, and for how long.
#[derive(Clone, Debug)]
pub struct Watch {
    pub only: Option<Only>,
    /// `--queue NAME`: only that queue of each platform (all of them without it).
    pub queue: Option<String>,
    pub interval: Duration,
    /// `--for`: sample this long, drained or not.
    pub window: Option<Duration>,
    /// Give up when the queues have not drained by then.
    pub timeout: Duration,
    /// The folder for the files; a dated one under `.replatform/` when not given.
    pub out: Option<PathBuf>,
    /// The worker's figures for the prediction beside the measurement (`simulate`'s).
    pub per_message: Duration,
    pub task_start: Duration,
}

/// `compare`: samples every platform each `interval` until all have drained (or `window`, or
/// `timeout`), sending `plan` meanwhile; the files are written however it ends, `stop` (SIGINT
/// or SIGTERM) included (`Summary::stopped` says how). Also the number of samples per platform.
pub async fn compare(
    ws: &Workspace,
    spec: &Watch,
    plan: Option<&Plan>,
    printer: &Printer,
    stop: &Stop,
) -> Result<(Summary, usize), Failure> {
    let out = spec.out.clone().unwrap_or_else(default_out);
    files::prepare_out(&out)
        .map_err(|e| Failure::new(e).hint("choose another folder with --out DIR"))?;
    let (config, aws, platforms) = deployed(ws, spec.only, printer).await?;
    let platforms = pick(&config, platforms, spec.queue.as_deref())?;

    let mut sampler = Sampler::new(aws.sqs(), aws.ecs(), aws.lambda(), aws.cloudwatch());
    let function = match platforms.iter().find_map(|p| p.function.as_deref()) {
        Some(f) => Some(sampler.function_facts(f).await),
        None => None,
    };
    let targets = targets(&platforms);
    let stopped = stop.flag();
    let services = aws.sqs();
    let load_window: Cell<Option<(f64, f64)>> = Cell::new(None);
    let load_running = Cell::new(plan.is_some());
    let started = Instant::now();

    let load = async {
        let plan = plan?;
        // One sample of the queues before the first message.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let from = started.elapsed().as_secs_f64();
        load_window.set(Some((from, from)));
        let report = engine::run(&services, &targets, plan, stopped.clone()).await;
        load_window.set(Some((from, started.elapsed().as_secs_f64())));
        load_running.set(false);
        Some(report)
    };

    let watch = view::Watch::new(printer, &platforms, plan);
    let mut samples: Vec<Sample> = Vec::new();
    let mut events: Vec<SeenEvent> = Vec::new();
    let mut stop_rx = stopped.clone();
    let sampling = async {
        let mut ticks = tokio::time::interval(spec.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let limit = spec.window.unwrap_or(spec.timeout);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop_rx.wait_for(|s| *s) => {}
            }
            if *stop_rx.borrow() {
                return Stopped::Interrupted;
            }
            for p in &platforms {
                // What was sent to the platform's queues, together.
                let sent = plan.is_some().then(|| {
                    targets
                        .iter()
                        .filter(|t| t.platform == p.platform)
                        .map(|t| t.sent.load(Ordering::Relaxed))
                        .sum()
                });
                let (s, seen) = sampler.sample(p, sent).await;
                for e in &seen {
                    watch.event(e);
                }
                events.extend(seen);
                samples.push(s);
            }
            watch.samples(
                &samples,
                &targets,
                plan.is_some().then(|| load_running.get()),
            );
            let elapsed = started.elapsed();
            if spec.window.is_none() && !load_running.get() && drained(&samples, &platforms) {
                return Stopped::Drained;
            }
            if elapsed >= limit {
                return if spec.window.is_some() {
                    Stopped::Window
                } else {
                    Stopped::Timeout
                };
            }
        }
    };
    let (load_report, stopped_by): (Option<LoadReport>, Stopped) = {
        let both = async { futures::join!(load, sampling) };
        tokio::pin!(both);
        tokio::select! {
            r = &mut both => r,
            _ = stop.signalled() => {
                // SIGINT or SIGTERM: the load starts no more calls, sampling stops; the files are
                // written with the samples taken so far.
                both.await
            }
        }
    };
    watch.finish();
    let ended = SystemTime::now();
    let platform_names: Vec<Side> = platforms.iter().map(|p| p.platform).collect();
    let summaries: Vec<PlatformSummary> = platform_names
        .iter()
        .map(|&name| {
            let of: Vec<&Sample> = samples.iter().filter(|s| s.platform == name).collect();
            experiment::summarise(name, &of, load_window.get().map(|(_, end)| end))
        })
        .collect();
    let footprint = Footprint {
        vcpu: f64::from(config.ecs.cpu) / 1024.0,
        memory_gb: f64::from(config.ecs.memory) / 1024.0,
        lambda_memory_mb: config.lambda.memory,
        lambda_timeout_ms: config.lambda.timeout.0 * 1000,
        arm64: config.image.platform == crate::core::config::Platform::Arm64,
    };
    let prices = Prices::builtin();
    let cost = platform_names
        .iter()
        .map(|&name| {
            let of: Vec<&Sample> = samples.iter().filter(|s| s.platform == name).collect();
            let m = experiment::measured_usage(name, &of, &footprint);
            MeasuredCost {
                platform: name,
                cost: m.usage.map(|u| cost::cost(&u, &prices)),
                method: m.method,
            }
        })
        .collect();
    let from = load_window.get().map_or(0.0, |(from, _)| from);
    let (prediction, predicted, prediction_note) = match predict(
        ws,
        spec,
        plan,
        from,
        &samples,
        &summaries,
        sampler.started,
        platforms.first().map_or(1, |p| p.queue_list().len() as u64),
        printer,
    ) {
        Ok((p, samples)) => (Some(p), samples, None),
        Err(f) => {
            printer.warning(&format!(
                "no prediction beside the measurement: {}",
                f.message
            ));
            (None, Vec::new(), Some(f.message.clone()))
        }
    };
    let summary = Summary {
        service: config.service.clone(),
        region: aws.region().to_string(),
        endpoint: aws.foreign_endpoint().map(str::to_string),
        run: Run {
            started_at: rfc3339(sampler.started),
            ended_at: rfc3339(ended),
            stopped: stopped_by,
            interval_s: spec.interval.as_secs_f64(),
            out: out.display().to_string(),
            platforms: summaries,
            load_window_s: load_window.get(),
        },
        load: load_report,
        function,
        ecs_events: events,
        deployed: platforms.clone(),
        prediction,
        prediction_note,
        cost,
    };
    write_files(&out, &summary, &samples, &platform_names, &predicted).map_err(|e| {
        Failure::new(e)
            .hint("the samples are lost if the folder cannot be written; choose another with --out")
    })?;
    let taken = samples.len() / platform_names.len().max(1);
    Ok((summary, taken))
}

fn default_out() -> PathBuf {
    let stamp: String = rfc3339(SystemTime::now())
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    PathBuf::from(".replatform").join(format!(
        "compare-{}-{}",
        &stamp[..8.min(stamp.len())],
        &stamp[8.min(stamp.len())..]
    ))
}

/// Every platform's last [`DRAINED_SAMPLES`] samples show an empty queue.
fn drained(samples: &[Sample], platforms: &[Platform]) -> bool {
    platforms.iter().all(|p| {
        let last: Vec<&Sample> = samples
            .iter()
            .rev()
            .filter(|s| s.platform == p.platform)
            .take(DRAINED_SAMPLES)
            .collect();
        last.len() == DRAINED_SAMPLES && last.iter().all(|s| s.depth() == Some(0))
    })
}

/// The files, and the chart's title: what was measured, when, and against what. At an
/// endpoint that is not AWS's (an emulator) local stand-ins did the work, so the title says so
/// and the emulator's worker counts (moto reports no running task) are not drawn as workers.
fn write_files(
    out: &std::path::Path,
    summary: &Summary,
    samples: &[Sample],
    platforms: &[Side],
    predicted: &[Sample],
) -> Result<(), String> {
    let dashed = if predicted.is_empty() {
        ""
    } else {
        "; dashed: predicted"
    };
    let what = if summary.endpoint.is_some() {
        "the same load measured against local stand-ins, not AWS"
    } else {
        "ECS and Lambda draining the same load"
    };
    let title = format!(
        "{}: {what} ({}{dashed})",
        summary.service,
        &summary.run.started_at[..16.min(summary.run.started_at.len())]
    );
    files::write_files(
        out,
        summary,
        &files::chart::Chart {
            title,
            platforms,
            samples,
            load: summary.run.load_window_s,
            predicted,
            workers_not_measured: summary
                .endpoint
                .is_some()
                .then_some("an emulator: local stand-ins did the work"),
            no_data: files::chart::SEE_NOTES,
        },
    )
}

/// The model run for the load this `compare` watched, a run per platform: each queue's depth at
/// the first sample as one wave at the start, then the plan `--load` sent (its waves from when
/// the load began, `from`). Each platform's predicted summary and samples, and the gap to the
/// measured one.
#[allow(clippy::too_many_arguments)]
fn predict(
    ws: &Workspace,
    spec: &Watch,
    plan: Option<&Plan>,
    from: f64,
    samples: &[Sample],
    measured: &[PlatformSummary],
    started: SystemTime,
    loaded_queues: u64,
    printer: &Printer,
) -> Result<(Prediction, Vec<Sample>), Failure> {
    let plan_waves: Vec<Wave> = plan.map(|p| engine::schedule(p).1).unwrap_or_default();
    let bytes = plan.map(simulate::message_bytes);
    // The model moves in whole seconds.
    let interval = Duration::from_secs(spec.interval.as_secs_f64().round().max(1.0) as u64);
    let prices = Prices::builtin();
    let inputs_for = |depth: u64| {
        let mut waves: Vec<Wave> = Vec::new();
        if depth > 0 {
            waves.push(Wave {
                at: Duration::ZERO,
                count: depth,
            });
        }
        // Each of the platform's queues got the plan: the model's one queue gets them all.
        waves.extend(plan_waves.iter().map(|w| Wave {
            at: w.at + Duration::from_secs_f64(from),
            count: w.count * loaded_queues,
        }));
        let i = simulate::inputs(
            waves,
            spec.per_message,
            spec.task_start,
            interval,
            0,
            started,
        );
        crate::core::simulate::Inputs {
            message_bytes: bytes.unwrap_or(i.message_bytes),
            ..i
        }
    };
    let setup = simulate::setup(ws, &inputs_for(0), printer)?;
    let mut p = Prediction {
        load: String::new(),
        per_message_s: spec.per_message.as_secs_f64(),
        task_start_s: spec.task_start.as_secs_f64(),
        platforms: Vec::new(),
        gaps: Vec::new(),
        bottlenecks: Vec::new(),
        cost: Vec::new(),
    };
    let mut predicted = Vec::new();
    let mut any_depth = false;
    for m in measured {
        let depth = samples
            .iter()
            .find(|s| s.platform == m.platform)
            .and_then(Sample::depth)
            .unwrap_or(0);
        any_depth |= depth > 0;
        let inputs = inputs_for(depth);
        let run = model::run(&setup, &inputs);
        let summary = run.summary(&setup, &inputs, &prices, "");
        let Some(mine) = summary
            .run
            .platforms
            .iter()
            .find(|s| s.platform == m.platform)
        else {
            continue;
        };
        p.gaps.push(experiment::gap(mine, m));
        p.platforms.push(mine.clone());
        p.bottlenecks.extend(
            summary
                .bottlenecks
                .into_iter()
                .filter(|b| b.platform == m.platform),
        );
        p.cost.extend(
            summary
                .cost
                .into_iter()
                .filter(|c| c.platform == m.platform),
        );
        predicted.extend(run.samples.into_iter().filter(|s| s.platform == m.platform));
    }
    p.load = match (any_depth, plan.is_some()) {
        (true, true) => "the depth found at the first sample, then the plan --load sent",
        (true, false) => "the depth found at the first sample",
        (false, true) => "the plan --load sent",
        (false, false) => {
            "nothing: the queues were empty at the first sample and --load sent nothing"
        }
    }
    .to_string();
    Ok((p, predicted))
}

//! The side-by-side experiment's numbers: one sample per platform and moment, and the summary
//! `compare` draws from them. Pure: the samples come in as values.

use crate::core::outcome::Stopped;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cost::{Compute, Usage};
use super::load::Wave;
use super::side::Side;

/// One platform at one moment. `None` is "not known": the source was missing or failed, and
/// `notes` says which and why. Nothing is filled in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When, as RFC 3339 UTC.
    pub time: String,
    /// Seconds since the experiment started (the first sample).
    pub elapsed_s: f64,
    /// `ecs` or `lambda`.
    pub platform: Side,
    /// The queue's messages waiting to be received (`ApproximateNumberOfMessages`).
    pub visible: Option<u64>,
    /// Received and not yet deleted (`ApproximateNumberOfMessagesNotVisible`).
    pub in_flight: Option<u64>,
    /// Sent with a delay not yet over (`ApproximateNumberOfMessagesDelayed`).
    pub delayed: Option<u64>,
    /// Messages in the dead-letter queue.
    pub dead_letter: Option<u64>,
    /// What works the queue: ECS's running tasks, Lambda's concurrent executions.
    pub workers: Option<u64>,
    pub ecs_desired: Option<u64>,
    pub ecs_running: Option<u64>,
    pub ecs_pending: Option<u64>,
    /// CloudWatch `ConcurrentExecutions` (Maximum) of the newest minute with data.
    pub lambda_concurrency: Option<u64>,
    /// CloudWatch `Invocations`, `Errors`, `Throttles` (Sum) of that minute.
    pub lambda_invocations: Option<u64>,
    pub lambda_errors: Option<u64>,
    pub lambda_throttles: Option<u64>,
    /// The start of the CloudWatch minute the `lambda_*` figures are from.
    pub cloudwatch_minute: Option<String>,
    /// Messages `load` had sent to this queue by then, in this run.
    pub sent: Option<u64>,
    /// Which sources were missing and why, `;`-separated.
    pub notes: String,
    /// With several queues (`queues:` in docs/config.md), each queue's depth as `NAME=DEPTH`,
    /// space-separated; the figures above are their sums. The column is absent for one queue.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub queue_depths: String,
}

impl Sample {
    /// Visible, in flight and delayed together: what is still to be done.
    pub fn depth(&self) -> Option<u64> {
        Some(self.visible? + self.in_flight? + self.delayed?)
    }
}

/// The samples in a row that must show an empty queue before it counts as drained.
pub const DRAINED_SAMPLES: usize = 3;

/// What `compare`'s and `simulate`'s summaries share, under the same names: the run's window,
/// how it stopped and each platform's outcome, so one reader serves a measurement and a
/// prediction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run {
    pub started_at: String,
    pub ended_at: String,
    pub stopped: Stopped,
    pub interval_s: f64,
    /// The folder holding the files.
    pub out: String,
    pub platforms: Vec<PlatformSummary>,
    /// Seconds since the start when the load began and ended.
    pub load_window_s: Option<(f64, f64)>,
}

/// One platform's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlatformSummary {
    pub platform: Side,
    /// Messages `load` sent to this queue during the experiment.
    pub sent: Option<u64>,
    /// Seconds from the start to the first sample with a worker (the seed article's,
    /// docs/seed-article.md: "how long until scaling starts"); 0 when one was already there.
    pub first_worker_s: Option<f64>,
    /// Seconds from the start to the first sample with messages in flight: something received.
    pub first_receive_s: Option<f64>,
    /// Seconds from the start to the first of [`DRAINED_SAMPLES`] empty samples after the load.
    pub drained_s: Option<f64>,
    pub peak_depth: Option<u64>,
    pub peak_workers: Option<u64>,
    /// Messages that reached the dead-letter queue during the experiment.
    pub dead_lettered: Option<u64>,
    /// Messages done (start depth + sent - end depth - dead-lettered).
    pub processed: Option<u64>,
    /// The area under the workers curve, in minutes.
    pub worker_minutes: Option<f64>,
    pub messages_per_worker_minute: Option<f64>,
}

/// Sums up one platform's samples (in time order). `load_done_s`: when the load finished, if
/// one ran; a queue only counts as drained after it.
pub fn summarise(platform: Side, samples: &[&Sample], load_done_s: Option<f64>) -> PlatformSummary {
    let first_where =
        |f: &dyn Fn(&Sample) -> bool| samples.iter().find(|s| f(s)).map(|s| s.elapsed_s);
    let after_load = |s: &Sample| load_done_s.is_none_or(|d| s.elapsed_s >= d);
    let mut drained_s = None;
    let mut run = 0;
    for s in samples {
        if after_load(s) && s.depth() == Some(0) {
            run += 1;
            if run == 1 {
                drained_s = Some(s.elapsed_s);
            }
            if run >= DRAINED_SAMPLES {
                break;
            }
        } else {
            run = 0;
            drained_s = None;
        }
    }
    if run < DRAINED_SAMPLES {
        drained_s = None;
    }
    let known =
        |f: fn(&Sample) -> Option<u64>| samples.iter().filter_map(|s| f(s)).collect::<Vec<_>>();
    let dead = known(|s| s.dead_letter);
    let dead_lettered = match (dead.first(), dead.last()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(*a)),
        _ => None,
    };
    let sent = samples.iter().rev().find_map(|s| s.sent);
    let depths = known(Sample::depth);
    let processed = match (depths.first(), depths.last()) {
        (Some(a), Some(b)) => {
            Some((a + sent.unwrap_or(0)).saturating_sub(b + dead_lettered.unwrap_or(0)))
        }
        _ => None,
    };
    let worker_points: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| Some((s.elapsed_s, s.workers? as f64)))
        .collect();
    let worker_minutes = (worker_points.len() >= 2).then(|| {
        worker_points
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
            .sum::<f64>()
            / 60.0
    });
    let messages_per_worker_minute = match (processed, worker_minutes) {
        (Some(p), Some(m)) if m > 0.0 => Some(p as f64 / m),
        _ => None,
    };
    PlatformSummary {
        platform,
        sent,
        first_worker_s: first_where(&|s| s.workers.is_some_and(|w| w > 0)),
        first_receive_s: first_where(&|s| s.in_flight.is_some_and(|n| n > 0)),
        drained_s,
        peak_depth: depths.iter().copied().max(),
        peak_workers: known(|s| s.workers).into_iter().max(),
        dead_lettered,
        processed,
        worker_minutes,
        messages_per_worker_minute,
    }
}

/// How far a prediction was from what was measured: a platform's drain times side by side.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gap {
    pub platform: Side,
    pub predicted_drained_s: Option<f64>,
    pub measured_drained_s: Option<f64>,
    /// Measured minus predicted: positive when the platform drained later than predicted.
    pub gap_s: Option<f64>,
    /// Measured over predicted: 2.0 took twice as long as predicted.
    pub ratio: Option<f64>,
}

/// The gap between a predicted and a measured summary of one platform.
pub fn gap(predicted: &PlatformSummary, measured: &PlatformSummary) -> Gap {
    let (p, m) = (predicted.drained_s, measured.drained_s);
    let both = p.zip(m);
    Gap {
        platform: measured.platform,
        predicted_drained_s: p,
        measured_drained_s: m,
        gap_s: both.map(|(p, m)| m - p),
        ratio: both.and_then(|(p, m)| (p > 0.0).then(|| m / p)),
    }
}

/// What a measured run used on one platform, as far as its samples show it, and how that was
/// worked out.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// `None` when the samples hold nothing to price (no CloudWatch invocations for Lambda).
    pub usage: Option<Usage>,
    pub method: String,
}

/// The usage a measured run's samples show. ECS: task-seconds from the sampled running tasks
/// (each count held until the next sample), split evenly over the task starts seen (rises of
/// the running count) for Fargate's one-minute minimum. Lambda: CloudWatch's `Invocations` of
/// each distinct minute times the configured timeout, an upper bound (the samples hold no
/// duration). SQS requests are not sampled: counted as 0.
pub fn measured_usage(platform: Side, samples: &[&Sample], f: &Footprint) -> Measured {
    let processed = summarise(platform, samples, None).processed.unwrap_or(0);
    let usage = |compute| Usage {
        platform,
        compute,
        sqs_requests: 0,
        fifo: false,
        arm64: f.arm64,
        messages: processed,
    };
    if platform == Side::Ecs {
        let running: Vec<(f64, u64)> = samples
            .iter()
            .filter_map(|s| Some((s.elapsed_s, s.ecs_running?)))
            .collect();
        if running.is_empty() {
            return Measured {
                usage: None,
                method: "no running-task count in the samples (see samples.csv notes)".into(),
            };
        }
        let area: f64 = running
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * w[0].1 as f64)
            .sum();
        let starts = running[0].1
            + running
                .windows(2)
                .map(|w| w[1].1.saturating_sub(w[0].1))
                .sum::<u64>();
        let each = if starts == 0 {
            0
        } else {
            (area / starts as f64).round() as u64
        };
        let compute = Compute::Fargate {
            task_seconds: vec![each; starts as usize],
            vcpu: f.vcpu,
            memory_gb: f.memory_gb,
        };
        return Measured {
            usage: Some(usage(compute)),
            method: format!("measured: {area:.0} task-seconds from the sampled running tasks over {starts} task starts; SQS requests not sampled"),
        };
    }
    let mut minutes: Vec<(&str, u64)> = samples
        .iter()
        .filter_map(|s| Some((s.cloudwatch_minute.as_deref()?, s.lambda_invocations?)))
        .collect();
    // A minute sampled while it still fills: its largest count holds.
    minutes.sort_by(|a, b| b.cmp(a));
    minutes.dedup_by(|a, b| a.0 == b.0);
    if minutes.is_empty() {
        return Measured {
            usage: None,
            method: "no CloudWatch Invocations in the samples (see samples.csv notes)".into(),
        };
    }
    let invocations: u64 = minutes.iter().map(|m| m.1).sum();
    let compute = Compute::Lambda {
        invocations,
        billed_ms: invocations * f.lambda_timeout_ms,
        memory_mb: f.lambda_memory_mb,
    };
    Measured {
        usage: Some(usage(compute)),
        method: format!("upper bound: {invocations} invocations (CloudWatch, {} minutes) x the {} s timeout; SQS requests not sampled", minutes.len(), f.lambda_timeout_ms / 1000),
    }
}

/// The sizes a run is priced at, from the config.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Footprint {
    pub vcpu: f64,
    pub memory_gb: f64,
    pub lambda_memory_mb: u32,
    pub lambda_timeout_ms: u64,
    pub arm64: bool,
}

/// The worker's figures and the load, estimated from a measured run's samples
/// (`simulate --from-compare`).
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// A minute over the messages per worker-minute: an upper bound on one message's handling
    /// time (a worker's idle polls count as handling).
    pub per_message: Option<Duration>,
    /// From the first sample with a desired or pending task to the first with a running one.
    pub task_start: Option<Duration>,
    /// The depth found at the first sample, then each rise of `sent`, at its sample's time.
    pub waves: Vec<Wave>,
    /// How each figure was found, or why not, in words.
    pub said: Vec<String>,
}

/// Estimates the worker's figures and the load from `samples` (all platforms, in time order).
/// `load_done_s`: when the load ended (the summary's `load_window_s`).
pub fn estimate(samples: &[Sample], load_done_s: Option<f64>) -> Estimate {
    let of = |p: Side| {
        samples
            .iter()
            .filter(|s| s.platform == p)
            .collect::<Vec<_>>()
    };
    let mut said = Vec::new();
    let mut per_message = None;
    for p in Side::BOTH {
        let m = summarise(p, &of(p), load_done_s);
        if let Some(rate) = m.messages_per_worker_minute.filter(|r| *r > 0.0) {
            per_message = Some(Duration::from_millis((60_000.0 / rate).round() as u64));
            said.push(format!("per message {:.3} s: a minute over {p}'s {rate:.1} messages a worker-minute (an upper bound: idle polls count)", 60.0 / rate));
            break;
        }
    }
    if per_message.is_none() {
        said.push("per message: no platform's samples show workers and messages done".into());
    }
    let ecs = of(Side::Ecs);
    let asked = ecs
        .iter()
        .find(|s| s.ecs_desired.is_some_and(|d| d > 0) || s.ecs_pending.is_some_and(|d| d > 0))
        .map(|s| s.elapsed_s);
    let running = ecs
        .iter()
        .find(|s| s.ecs_running.is_some_and(|r| r > 0))
        .map(|s| s.elapsed_s);
    let task_start = match (asked, running) {
        (Some(a), Some(r)) if r >= a => {
            said.push(format!(
                "task start {:.0} s: a task asked for at {a:.0} s, the first running at {r:.0} s",
                r - a
            ));
            Some(Duration::from_millis(((r - a) * 1000.0).round() as u64))
        }
        _ => {
            said.push("task start: the samples show no ECS task asked for and then running".into());
            None
        }
    };
    let first = Side::BOTH
        .into_iter()
        .map(of)
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let mut waves = Vec::new();
    if let Some(depth) = first.first().and_then(|s| s.depth()).filter(|d| *d > 0) {
        waves.push(Wave {
            at: Duration::ZERO,
            count: depth,
        });
    }
    let mut sent = 0;
    for s in &first {
        if let Some(now) = s.sent.filter(|n| *n > sent) {
            waves.push(Wave {
                at: Duration::from_millis((s.elapsed_s * 1000.0).round() as u64),
                count: now - sent,
            });
            sent = now;
        }
    }
    said.push(format!(
        "load: {} messages in {} waves, from the first sample's depth and the sent column",
        waves.iter().map(|w| w.count).sum::<u64>(),
        waves.len()
    ));
    Estimate {
        per_message,
        task_start,
        waves,
        said,
    }
}

/// A row of block characters, one a value, scaled to `max`: the live view's small plot.
pub fn sparkline(values: &[u64], max: u64) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|&v| {
            if max == 0 || v == 0 {
                ' '
            } else {
                BARS[((v * 8).div_ceil(max) as usize).clamp(1, 8) - 1]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(
        t: f64,
        depth: u64,
        in_flight: u64,
        workers: Option<u64>,
        dead: u64,
        sent: Option<u64>,
    ) -> Sample {
        Sample {
            elapsed_s: t,
            platform: Side::Ecs,
            visible: Some(depth),
            in_flight: Some(in_flight),
            delayed: Some(0),
            dead_letter: Some(dead),
            workers,
            sent,
            ..Default::default()
        }
    }

    #[test]
    fn a_drain_counts_after_the_load_and_when_it_stays_empty() {
        let samples = [
            sample(0.0, 0, 0, Some(0), 0, Some(0)),
            sample(5.0, 100, 0, Some(0), 0, Some(100)),
            sample(10.0, 80, 10, Some(2), 0, Some(100)),
            sample(15.0, 0, 0, Some(2), 0, Some(100)),
            sample(20.0, 5, 0, Some(2), 1, Some(100)), // not drained: it came back
            sample(25.0, 0, 0, Some(1), 1, Some(100)),
            sample(30.0, 0, 0, Some(0), 1, Some(100)),
            sample(35.0, 0, 0, Some(0), 1, Some(100)),
        ];
        let refs: Vec<&Sample> = samples.iter().collect();
        let s = summarise(Side::Ecs, &refs, Some(4.0));
        assert_eq!(s.drained_s, Some(25.0));
        assert_eq!(s.first_worker_s, Some(10.0));
        assert_eq!(s.first_receive_s, Some(10.0));
        assert_eq!(s.peak_workers, Some(2));
        assert_eq!(s.peak_depth, Some(100));
        assert_eq!(s.dead_lettered, Some(1));
        assert_eq!(s.processed, Some(99));
        // 0..5: 0, 5..10: 5, 10..15: 10, 15..20: 10, 20..25: 7.5, 25..30: 2.5, 30..35: 0 → 35
        // s·workers.
        assert!((s.worker_minutes.unwrap() - 35.0 / 60.0).abs() < 1e-9);
        assert!((s.messages_per_worker_minute.unwrap() - 99.0 / (35.0 / 60.0)).abs() < 1e-9);
    }

    #[test]
    fn no_drain_before_the_load_ends_nor_without_enough_empty_samples() {
        let samples = [
            sample(0.0, 0, 0, None, 0, None),
            sample(5.0, 0, 0, None, 0, None),
            sample(10.0, 0, 0, None, 0, None),
            sample(15.0, 0, 0, None, 0, None),
        ];
        let refs: Vec<&Sample> = samples.iter().collect();
        assert_eq!(
            summarise(Side::Ecs, &refs, Some(6.0)).drained_s,
            None,
            "only two empty samples after the load"
        );
        assert_eq!(summarise(Side::Ecs, &refs, None).drained_s, Some(0.0));
    }

    #[test]
    fn unknown_workers_stay_unknown() {
        let samples = [
            sample(0.0, 10, 0, None, 0, None),
            sample(5.0, 0, 0, None, 0, None),
        ];
        let refs: Vec<&Sample> = samples.iter().collect();
        let s = summarise(Side::Lambda, &refs, None);
        assert_eq!(
            (
                s.first_worker_s,
                s.peak_workers,
                s.worker_minutes,
                s.messages_per_worker_minute
            ),
            (None, None, None, None)
        );
        assert_eq!(s.processed, Some(10));
    }

    #[test]
    fn sparklines_scale_to_the_shared_maximum() {
        assert_eq!(sparkline(&[0, 1, 4, 8], 8), " ▁▄█");
        assert_eq!(sparkline(&[5, 5], 0), "  ");
        assert_eq!(
            sparkline(&[1], 1000),
            "▁",
            "a small non-zero value still shows"
        );
    }

    #[test]
    fn the_gap_is_measured_minus_predicted_and_their_ratio() {
        let at = |t: Option<f64>| PlatformSummary {
            drained_s: t,
            ..summarise(Side::Ecs, &[], None)
        };
        let g = gap(&at(Some(40.0)), &at(Some(100.0)));
        assert_eq!((g.gap_s, g.ratio), (Some(60.0), Some(2.5)));
        assert_eq!(gap(&at(None), &at(Some(100.0))).gap_s, None);
        assert_eq!(
            gap(&at(Some(0.0)), &at(Some(5.0))).ratio,
            None,
            "no ratio to a zero prediction"
        );
    }

    #[test]
    fn measured_usage_comes_from_running_tasks_and_invocations() {
        let f = Footprint {
            vcpu: 0.25,
            memory_gb: 0.5,
            lambda_memory_mb: 512,
            lambda_timeout_ms: 30_000,
            arm64: false,
        };
        // 1 task for 0..60 s, 3 from 60 to 120 s, 0 after: 60 + 180 = 240 task-seconds, 3 starts.
        let ecs = [(0.0, 1), (60.0, 3), (120.0, 0), (180.0, 0)].map(|(t, n)| Sample {
            elapsed_s: t,
            platform: Side::Ecs,
            ecs_running: Some(n),
            ..Default::default()
        });
        let refs: Vec<&Sample> = ecs.iter().collect();
        let m = measured_usage(Side::Ecs, &refs, &f);
        assert_eq!(
            m.usage.unwrap().compute,
            Compute::Fargate {
                task_seconds: vec![80, 80, 80],
                vcpu: 0.25,
                memory_gb: 0.5
            }
        );
        // The same minute sampled twice counts once, at its larger count: 7 + 5 invocations x 30 s.
        let minute = |t: f64, m: &str, n: u64| Sample {
            elapsed_s: t,
            platform: Side::Lambda,
            cloudwatch_minute: Some(m.into()),
            lambda_invocations: Some(n),
            ..Default::default()
        };
        let lambda = [
            minute(0.0, "a", 4),
            minute(30.0, "a", 7),
            minute(60.0, "b", 5),
        ];
        let refs: Vec<&Sample> = lambda.iter().collect();
        let m = measured_usage(Side::Lambda, &refs, &f);
        assert_eq!(
            m.usage.unwrap().compute,
            Compute::Lambda {
                invocations: 12,
                billed_ms: 360_000,
                memory_mb: 512
            }
        );
        assert!(m.method.starts_with("upper bound"), "{}", m.method);
        let none = [Sample {
            platform: Side::Lambda,
            ..Default::default()
        }];
        assert_eq!(measured_usage(Side::Lambda, &[&none[0]], &f).usage, None);
    }

    #[test]
    fn a_measured_run_gives_the_worker_figures_and_the_load() {
        // 100 messages sent by 10 s; tasks asked for at 70 s run at 115 s; 2 tasks to 190 s, none
        // at 250 s. The area under the workers curve (trapezoids, as `summarise` takes it):
        // 45 + 150 + 60 = 255 worker-seconds for 100 messages: 2.55 s a message.
        let row =
            |t: f64, visible: u64, sent: u64, desired: u64, pending: u64, running: u64| Sample {
                elapsed_s: t,
                platform: Side::Ecs,
                visible: Some(visible),
                in_flight: Some(0),
                delayed: Some(0),
                dead_letter: Some(0),
                workers: Some(running),
                ecs_desired: Some(desired),
                ecs_pending: Some(pending),
                ecs_running: Some(running),
                sent: Some(sent),
                ..Default::default()
            };
        let samples = [
            row(0.0, 0, 0, 0, 0, 0),
            row(10.0, 100, 100, 0, 0, 0),
            row(70.0, 100, 100, 2, 2, 0),
            row(115.0, 100, 100, 2, 0, 2),
            row(190.0, 0, 100, 2, 0, 2),
            row(250.0, 0, 100, 0, 0, 0),
        ];
        let e = estimate(&samples, Some(10.0));
        assert_eq!(
            e.per_message,
            Some(Duration::from_millis(2_550)),
            "{:?}",
            e.said
        );
        assert_eq!(e.task_start, Some(Duration::from_secs(45)));
        assert_eq!(
            e.waves,
            vec![Wave {
                at: Duration::from_secs(10),
                count: 100
            }]
        );
        let none = estimate(
            &[Sample {
                platform: Side::Lambda,
                visible: Some(5),
                in_flight: Some(0),
                delayed: Some(0),
                ..Default::default()
            }],
            None,
        );
        assert_eq!((none.per_message, none.task_start), (None, None));
        assert_eq!(
            none.waves,
            vec![Wave {
                at: Duration::ZERO,
                count: 5
            }],
            "the depth found is the load"
        );
    }
}

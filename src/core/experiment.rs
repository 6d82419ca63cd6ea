//! The side-by-side experiment's numbers: one sample per platform and moment, and the summary
//! `compare` draws from them. Pure: the samples come in as values.

use serde::Serialize;

/// One platform at one moment. `None` is "not known": the source was missing or failed, and
/// `notes` says which and why. Nothing is filled in.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Sample {
    /// When, as RFC 3339 UTC.
    pub time: String,
    /// Seconds since the experiment started (the first sample).
    pub elapsed_s: f64,
    /// `ecs` or `lambda`.
    pub platform: String,
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
}

impl Sample {
    /// Visible, in flight and delayed together: what is still to be done.
    pub fn depth(&self) -> Option<u64> {
        Some(self.visible? + self.in_flight? + self.delayed?)
    }
}

/// The samples in a row that must show an empty queue before it counts as drained.
pub const DRAINED_SAMPLES: usize = 3;

/// One platform's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlatformSummary {
    pub platform: String,
    /// Messages `load` sent to this queue during the experiment.
    pub sent: Option<u64>,
    /// Seconds from the start to the first sample with a worker (the article's "how long
    /// until scaling starts"); 0 when one was already there.
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
pub fn summarise(platform: &str, samples: &[&Sample], load_done_s: Option<f64>) -> PlatformSummary {
    let first_where = |f: &dyn Fn(&Sample) -> bool| samples.iter().find(|s| f(s)).map(|s| s.elapsed_s);
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
    let known = |f: fn(&Sample) -> Option<u64>| samples.iter().filter_map(|s| f(s)).collect::<Vec<_>>();
    let dead = known(|s| s.dead_letter);
    let dead_lettered = match (dead.first(), dead.last()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(*a)),
        _ => None,
    };
    let sent = samples.iter().rev().find_map(|s| s.sent);
    let depths = known(Sample::depth);
    let processed = match (depths.first(), depths.last()) {
        (Some(a), Some(b)) => Some((a + sent.unwrap_or(0)).saturating_sub(b + dead_lettered.unwrap_or(0))),
        _ => None,
    };
    let worker_points: Vec<(f64, f64)> = samples.iter().filter_map(|s| Some((s.elapsed_s, s.workers? as f64))).collect();
    let worker_minutes = (worker_points.len() >= 2).then(|| worker_points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0).sum::<f64>() / 60.0);
    let messages_per_worker_minute = match (processed, worker_minutes) {
        (Some(p), Some(m)) if m > 0.0 => Some(p as f64 / m),
        _ => None,
    };
    PlatformSummary {
        platform: platform.into(),
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

/// A row of block characters, one a value, scaled to `max`: the live view's small plot.
pub fn sparkline(values: &[u64], max: u64) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|&v| if max == 0 || v == 0 { ' ' } else { BARS[((v * 8).div_ceil(max) as usize).clamp(1, 8) - 1] })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, depth: u64, in_flight: u64, workers: Option<u64>, dead: u64, sent: Option<u64>) -> Sample {
        Sample { elapsed_s: t, platform: "ecs".into(), visible: Some(depth), in_flight: Some(in_flight), delayed: Some(0), dead_letter: Some(dead), workers, sent, ..Default::default() }
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
        let s = summarise("ecs", &refs, Some(4.0));
        assert_eq!(s.drained_s, Some(25.0));
        assert_eq!(s.first_worker_s, Some(10.0));
        assert_eq!(s.first_receive_s, Some(10.0));
        assert_eq!(s.peak_workers, Some(2));
        assert_eq!(s.peak_depth, Some(100));
        assert_eq!(s.dead_lettered, Some(1));
        assert_eq!(s.processed, Some(99));
        // 0..5: 0, 5..10: 5, 10..15: 10, 15..20: 10, 20..25: 7.5, 25..30: 2.5, 30..35: 0 → 35 s·workers.
        assert!((s.worker_minutes.unwrap() - 35.0 / 60.0).abs() < 1e-9);
        assert!((s.messages_per_worker_minute.unwrap() - 99.0 / (35.0 / 60.0)).abs() < 1e-9);
    }

    #[test]
    fn no_drain_before_the_load_ends_nor_without_enough_empty_samples() {
        let samples = [sample(0.0, 0, 0, None, 0, None), sample(5.0, 0, 0, None, 0, None), sample(10.0, 0, 0, None, 0, None), sample(15.0, 0, 0, None, 0, None)];
        let refs: Vec<&Sample> = samples.iter().collect();
        assert_eq!(summarise("ecs", &refs, Some(6.0)).drained_s, None, "only two empty samples after the load");
        assert_eq!(summarise("ecs", &refs, None).drained_s, Some(0.0));
    }

    #[test]
    fn unknown_workers_stay_unknown() {
        let samples = [sample(0.0, 10, 0, None, 0, None), sample(5.0, 0, 0, None, 0, None)];
        let refs: Vec<&Sample> = samples.iter().collect();
        let s = summarise("lambda", &refs, None);
        assert_eq!((s.first_worker_s, s.peak_workers, s.worker_minutes, s.messages_per_worker_minute), (None, None, None, None));
        assert_eq!(s.processed, Some(10));
    }

    #[test]
    fn sparklines_scale_to_the_shared_maximum() {
        assert_eq!(sparkline(&[0, 1, 4, 8], 8), " ▁▄█");
        assert_eq!(sparkline(&[5, 5], 0), "  ");
        assert_eq!(sparkline(&[1], 1000), "▁", "a small non-zero value still shows");
    }
}

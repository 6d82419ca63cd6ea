//! `assess CLUSTER/SERVICE` and `assess --cluster NAME`: what is read of CloudWatch and how it
//! becomes the per-minute [`Traffic`] the replay takes, pure. Which metrics, at which period and
//! in how many `GetMetricData` calls; the series made whole minute by minute; the handling time
//! of one message that the recorded task count and deletes imply; the task count made from the
//! service's scaling history where Container Insights is off; the model's ECS task count beside
//! the recorded one; the fleet ranked by monthly saving.
//!
//! AWS's limits, from the Amazon CloudWatch API Reference (`GetMetricData`): up to 500
//! `MetricDataQuery` a call, up to 100,800 datapoints a call (more come with a `NextToken`); and
//! from the Amazon CloudWatch User Guide ("Metrics retention"): 60-second datapoints are kept 15
//! days, 5-minute ones 63 days.

use std::ops::Range;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{Report, Traffic, MINUTE_S};
use crate::core::experiment::Sample;
use crate::core::side::Side;

/// `GetMetricData`'s limits: queries a call, datapoints a call.
pub const MAX_QUERIES: usize = 500;
pub const MAX_DATAPOINTS: u64 = 100_800;
/// How long CloudWatch keeps 1-minute and 5-minute datapoints, in days.
pub const ONE_MINUTE_DAYS: u64 = 15;
pub const FIVE_MINUTE_DAYS: u64 = 63;

/// One recorded figure of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Sent,
    Deleted,
    Visible,
    Oldest,
    /// ECS Container Insights' running tasks (only where Container Insights is on).
    Tasks,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Sent,
        Metric::Deleted,
        Metric::Visible,
        Metric::Oldest,
        Metric::Tasks,
    ];

    /// Namespace, metric name and statistic (Amazon SQS Developer Guide, "Available CloudWatch
    /// metrics for Amazon SQS"; Amazon ECS Developer Guide, "Amazon ECS Container Insights
    /// metrics").
    pub fn what(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Metric::Sent => ("AWS/SQS", "NumberOfMessagesSent", "Sum"),
            Metric::Deleted => ("AWS/SQS", "NumberOfMessagesDeleted", "Sum"),
            Metric::Visible => ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum"),
            Metric::Oldest => ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum"),
            Metric::Tasks => ("ECS/ContainerInsights", "RunningTaskCount", "Average"),
        }
    }

    /// How a period with no datapoint reads: a count or a queue's level is 0 (SQS publishes
    /// nothing for a queue idle for hours); the task count holds its last value (Container
    /// Insights reports the tasks that run, and a missing minute is not no task).
    pub fn fill(self) -> Fill {
        match self {
            Metric::Sent | Metric::Deleted => Fill::Spread,
            Metric::Visible | Metric::Oldest => Fill::Zero,
            Metric::Tasks => Fill::Hold,
        }
    }
}

/// The period to read `days` at: 60 s within CloudWatch's 15 days of 1-minute data, else 300 s
/// (up to its 63 days of 5-minute data); an error beyond.
pub fn period_s(days: u64) -> Result<u64, String> {
    match days {
        0 => Err("--days 0: give 1 day or more".into()),
        1..=ONE_MINUTE_DAYS => Ok(60),
        d if d <= FIVE_MINUTE_DAYS => Ok(300),
        d => Err(format!(
            "--days {d}: CloudWatch keeps 5-minute datapoints {FIVE_MINUTE_DAYS} days and 1-minute ones {ONE_MINUTE_DAYS}; give {FIVE_MINUTE_DAYS} days or fewer"
        )),
    }
}

/// The queries of each `GetMetricData` call: `n` queries of `points_each` datapoints, as many a
/// call as both limits allow, so that each call's answer fits one page.
pub fn batches(n: usize, points_each: u64) -> Vec<Range<usize>> {
    let per_call = ((MAX_DATAPOINTS / points_each.max(1)) as usize).clamp(1, MAX_QUERIES);
    (0..n)
        .step_by(per_call)
        .map(|s| s..(s + per_call).min(n))
        .collect()
}

/// How a series' minutes are made from its periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// A count: spread evenly over its period's minutes; 0 where no datapoint.
    Spread,
    /// A level: held over its period's minutes; 0 where no datapoint.
    Zero,
    /// A level: held over its period's minutes and on until the next datapoint.
    Hold,
}

/// A series of `(period start, value)` points made one value a minute over `minutes` minutes
/// from `start_s`, as `fill` says.
pub fn per_minute(
    points: &[(i64, f64)],
    start_s: u64,
    minutes: u64,
    period_s: u64,
    fill: Fill,
) -> Vec<f64> {
    let count = fill == Fill::Spread;
    let mut known = vec![false; minutes as usize];
    let mut out = vec![0.0; minutes as usize];
    let span = (period_s / MINUTE_S).max(1);
    for &(t, v) in points {
        let Some(first) = u64::try_from(t)
            .ok()
            .and_then(|t| t.checked_sub(start_s))
            .map(|d| d / MINUTE_S)
        else {
            continue;
        };
        for m in first..(first + span).min(minutes) {
            out[m as usize] = if count { v / span as f64 } else { v };
            known[m as usize] = true;
        }
    }
    if fill == Fill::Hold {
        for m in 1..out.len() {
            if !known[m] && known[m - 1] {
                out[m] = out[m - 1];
                known[m] = true;
            }
        }
    }
    out
}

/// What one service's reading gave, per metric (in [`Metric::ALL`]'s order): its datapoints.
pub fn traffic(
    series: &[Vec<(i64, f64)>; 5],
    start_s: u64,
    minutes: u64,
    period_s: u64,
) -> (Traffic, Option<Vec<f64>>) {
    let m = |k: usize| {
        per_minute(
            &series[k],
            start_s,
            minutes,
            period_s,
            Metric::ALL[k].fill(),
        )
    };
    let tasks = (!series[4].is_empty()).then(|| m(4));
    (
        Traffic {
            start_unix_s: start_s,
            sent: m(0),
            deleted: Some(m(1)),
            visible: Some(m(2)),
            oldest_age_s: Some(m(3)),
        },
        tasks,
    )
}

/// Where `--per-message` came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PerMessageFrom {
    /// The task-seconds of the minutes with a backlog over the messages deleted in them.
    Backlog,
    /// No minute had a backlog: every minute with tasks and deletes (an upper bound).
    AllMinutes,
    /// No recorded task count or no delete: `--per-message` as given or its default.
    Option,
}

/// The handling time of one message the recording implies: an ECS task works one message at a
/// time, so in a minute when messages waited (a backlog: its tasks were busy) its task-seconds
/// over the messages deleted is the time one took. Without such a minute, every minute with tasks
/// and deletes, which counts idle time too (an upper bound). Within 1 ms and 15 min. A minute
/// whose task count is unknown (`None`: before the scaling history) is left out.
pub fn per_message(
    tasks: &[Option<f64>],
    deleted: &[f64],
    visible: &[f64],
) -> Option<(Duration, PerMessageFrom)> {
    let sum = |busy: bool| {
        let (mut task_s, mut done) = (0.0, 0.0);
        for i in 0..tasks.len().min(deleted.len()).min(visible.len()) {
            let Some(n) = tasks[i] else { continue };
            if n > 0.0 && deleted[i] > 0.0 && (!busy || visible[i] >= 1.0) {
                task_s += n * MINUTE_S as f64;
                done += deleted[i];
            }
        }
        (done >= 1.0).then(|| task_s / done)
    };
    let (s, from) = match sum(true) {
        Some(s) => (s, PerMessageFrom::Backlog),
        None => (sum(false)?, PerMessageFrom::AllMinutes),
    };
    Some((Duration::from_secs_f64(s.clamp(0.001, 900.0)), from))
}

/// The mean of a series, `None` when empty.
pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The mean of a series' known minutes, `None` when none is known.
pub fn mean_known(v: &[Option<f64>]) -> Option<f64> {
    mean(&v.iter().flatten().copied().collect::<Vec<f64>>())
}

/// How far `model` is from `recorded`, in percent of the recorded (0 when both are 0).
pub fn within_pct(model: f64, recorded: f64) -> Option<f64> {
    if recorded > 0.0 {
        Some((model - recorded).abs() / recorded * 100.0)
    } else if model == 0.0 {
        Some(0.0)
    } else {
        None
    }
}

/// Where the recorded task count came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TasksFrom {
    /// ECS Container Insights' `RunningTaskCount`.
    ContainerInsights,
    /// The desired count, stepped by the service's scaling activities ([`history_tasks`]).
    ScalingHistory,
    /// Neither: Container Insights is off and the scaling history could not be read.
    None,
}

/// What was read of AWS for a service, beside its report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recorded {
    pub cluster: String,
    /// The queues whose traffic was read (summed).
    pub queues: Vec<String>,
    /// CloudWatch's period the series was read at: 60, or 300 beyond 15 days.
    pub period_s: u64,
    /// The handling time the replay took, and where it came from.
    pub per_message_s: f64,
    pub per_message_from: PerMessageFrom,
    /// Where the recorded task count came from.
    pub tasks_from: TasksFrom,
    /// Running tasks on average: recorded (Container Insights, else the scaling history; `None`
    /// where neither is known) and the model's for the same traffic.
    pub tasks_recorded_mean: Option<f64>,
    pub tasks_model_mean: Option<f64>,
    /// `|model - recorded| / recorded`, in percent.
    pub tasks_within_pct: Option<f64>,
}

/// How far back `DescribeScalingActivities` answers: "the scaling activities ... from the
/// previous six weeks" (Application Auto Scaling API Reference, `DescribeScalingActivities`).
pub const HISTORY_DAYS: u64 = 42;

/// One scaling activity of an ECS service's desired count, as `DescribeScalingActivities`
/// answers it (Application Auto Scaling API Reference, `ScalingActivity`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    pub start: SystemTime,
    pub end: Option<SystemTime>,
    /// AWS's `StatusCode`: `Successful`, `Failed`, `InProgress`, `Pending`, `Overridden`,
    /// `Unfulfilled`.
    pub status: String,
    /// The desired count it set, from its `Description` ([`desired_of`]).
    pub desired: Option<u32>,
}

impl Activity {
    /// A successful activity whose desired count is known: one that set the count.
    pub fn set_count(&self) -> Option<u32> {
        (self.status == "Successful")
            .then_some(self.desired)
            .flatten()
    }
}

/// The desired count an ECS service's scaling activity set, from its `Description`, which
/// Application Auto Scaling writes as "Setting desired count to 3." (the `ecs` examples of
/// `DescribeScalingActivities` in its API Reference); `None` for any other text.
pub fn desired_of(description: &str) -> Option<u32> {
    description
        .trim()
        .strip_prefix("Setting desired count to ")?
        .trim_end_matches('.')
        .parse()
        .ok()
}

/// The service's task count a minute over `minutes` minutes from `start_s`, from its scaling
/// history: the desired count (tasks starting count as running), a step function. Each
/// successful activity sets the count from its end (its start when it has none) on; a minute
/// takes the count in force at its start. A minute before every known activity is unknown
/// (`None`: what the count was before the oldest is not said), unless no activity is known at
/// all: then the count is `desired` (today's) over the `HISTORY_DAYS` the history covers up to
/// `now_s`, unknown before.
pub fn history_tasks(
    activities: &[Activity],
    desired: u32,
    start_s: u64,
    minutes: u64,
    now_s: u64,
) -> Vec<Option<f64>> {
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let mut steps: Vec<(u64, u32)> = activities
        .iter()
        .filter_map(|a| Some((secs(a.end.unwrap_or(a.start)), a.set_count()?)))
        .collect();
    steps.sort_by_key(|&(at, _)| at);
    let covered_from = now_s.saturating_sub(HISTORY_DAYS * 24 * 3600);
    (0..minutes)
        .map(|m| {
            let t = start_s + m * MINUTE_S;
            match steps.iter().rev().find(|&&(at, _)| at <= t) {
                Some(&(_, n)) => Some(f64::from(n)),
                None if steps.is_empty() && t >= covered_from => Some(f64::from(desired)),
                None => None,
            }
        })
        .collect()
}

/// The model's mean ECS task count (`model`: one a minute from the period's start, and one at
/// its end) to set beside a recorded one: over every value when the recorded count knows every
/// minute or there is none, else over the minutes it knows; `None` when that leaves none.
pub fn model_tasks_mean(model: &[u64], known: &[Option<f64>]) -> Option<f64> {
    let partial = known.iter().any(Option::is_none);
    let v: Vec<f64> = model
        .iter()
        .enumerate()
        .filter(|&(m, _)| !partial || known.get(m).is_some_and(Option::is_some))
        .map(|(_, &n)| n as f64)
        .collect();
    mean(&v)
}

/// At most `n` samples per platform: each bucket's sample with the deepest queue, so that a
/// burst stays in the chart.
pub fn thin(samples: &[Sample], n: usize) -> Vec<Sample> {
    let mut out = Vec::new();
    for side in Side::BOTH {
        let one: Vec<&Sample> = samples.iter().filter(|s| s.platform == side).collect();
        let size = one.len().div_ceil(n.max(1)).max(1);
        for chunk in one.chunks(size) {
            if let Some(s) = chunk.iter().max_by_key(|s| s.visible.unwrap_or(0)) {
                out.push((*s).clone());
            }
        }
    }
    out
}

/// A service `assess --cluster` could not assess, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unread {
    pub service: String,
    pub reason: String,
}

/// One assessed service of the fleet, with its saving.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ranked {
    /// ECS's monthly cost less the recommended Lambda settings' (negative: Lambda costs more).
    pub saving_monthly_usd: f64,
    #[serde(flatten)]
    pub report: Report,
}

/// The fleet report: services ranked by saving, those that could not be read, and those that
/// consume no SQS queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fleet {
    pub cluster: String,
    pub days: u64,
    pub services: Vec<Ranked>,
    pub unreadable: Vec<Unread>,
    /// Services with no SQS queue in their task definition: not workers `assess` models.
    pub not_sqs_workers: Vec<String>,
}

/// ECS's monthly cost less the recommended Lambda settings'.
pub fn saving(r: &Report) -> f64 {
    let ecs = r
        .platforms
        .iter()
        .find(|p| p.platform == Side::Ecs)
        .map_or(0.0, |p| p.monthly_usd);
    ecs - r.recommended.monthly_usd
}

/// The reports ranked by saving, largest first (ties by name).
pub fn rank(reports: Vec<Report>) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = reports
        .into_iter()
        .map(|report| Ranked {
            saving_monthly_usd: saving(&report),
            report,
        })
        .collect();
    out.sort_by(|a, b| {
        b.saving_monthly_usd
            .total_cmp(&a.saving_monthly_usd)
            .then_with(|| a.report.service.cmp(&b.report.service))
    });
    out
}

#[cfg(test)]
mod tests;

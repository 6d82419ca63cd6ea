//! `assess CLUSTER/SERVICE` and `assess --cluster NAME`: each service read as `init --from-ecs`
//! reads it (`app::adopt::read_running`) into the config `init` would write and its readiness;
//! its queues' per-minute traffic and its running task count read from CloudWatch in batched
//! `GetMetricData` calls (where Container Insights is off, the task count from the service's
//! scaling history: `DescribeScalingActivities`); the traffic replayed through the model
//! (`core::assess`) for today's ECS settings and that Lambda config. Three phases, so that the
//! reads of many services share calls: read the services (a few at a time), read every metric
//! (in as few calls as AWS's limits allow, a few at a time) and the missing task counts' scaling
//! histories (a few at a time), replay (one thread a core). A service that cannot be read is
//! reported, not fatal; a scaling history that cannot be read is said in the service's notes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use futures::stream::{self, StreamExt};

use super::message_bytes;
use crate::app::adopt::{read_running, NO_QUEUE};
use crate::app::simulate::prices;
use crate::aws::autoscaling::AutoScaling;
use crate::aws::cloudwatch::{CloudWatch, MetricQuery};
use crate::aws::Aws;
use crate::core::adopt::{self, Kind};
use crate::core::assess::recorded::{
    self, Fleet, Metric, PerMessageFrom, Recorded, TasksFrom, Unread,
};
use crate::core::assess::{self, Readiness, Report, Traffic, MINUTE_S};
use crate::core::config::{self, Config};
use crate::core::cost::Prices;
use crate::core::experiment::Sample;
use crate::core::render;
use crate::core::side::Side;
use crate::core::simulate::{Inputs, Setup};
use crate::error::Failure;
use crate::ui::progress::Lines;

/// Services read at once: `init --from-ecs` makes about fifteen calls a service.
pub const READ_AT_ONCE: usize = 8;
/// `GetMetricData` calls at once (CloudWatch's default quota is 50 transactions a second,
/// Amazon CloudWatch User Guide, "CloudWatch service quotas"; the SDK retries a throttled call).
pub const CALLS_AT_ONCE: usize = 4;

/// What the AWS mode needs beyond the names.
#[derive(Clone, Debug)]
pub struct AwsSpec {
    pub days: u64,
    /// `--per-message` when given; else what the recording implies.
    pub per_message: Option<Duration>,
    pub default_per_message: Duration,
    pub task_start: Duration,
    pub prices: Option<PathBuf>,
    /// The period's end (the read's `now`), whole minutes.
    pub now: SystemTime,
}

/// A service read, before its metrics.
struct Service {
    name: String,
    config: Config,
    ecs_template: String,
    readiness: Readiness,
    /// The consumed queues' names, whose traffic is summed.
    queues: Vec<String>,
    /// Today's desired count: the scaling history walks back from it.
    desired: u32,
}

/// A service that consumes no SQS queue, one that could not be read, or one read.
enum Found {
    NotSqs(String),
    Unread(Unread),
    Read(Box<Service>),
}

/// The readiness verdict of `init --from-ecs`: what Lambda cannot run as it is.
fn readiness(report: &adopt::Report) -> Readiness {
    let problems: Vec<String> = report
        .items
        .iter()
        .filter(|i| i.kind == Kind::Cannot)
        .map(|i| format!("{}: {}", i.field, i.what))
        .collect();
    Readiness {
        ready: problems.is_empty(),
        problems,
    }
}

async fn read_service(aws: &Aws, cluster: &str, name: &str) -> Found {
    let unread = |reason: String| {
        Found::Unread(Unread {
            service: name.to_string(),
            reason,
        })
    };
    let running = match read_running(aws, cluster, name).await {
        Ok(r) => r,
        Err(f) if f.message.starts_with(NO_QUEUE) => return Found::NotSqs(name.to_string()),
        Err(f) => return unread(f.message),
    };
    let (text, report) = adopt::translate(&running, None);
    let config = match config::parse(&text) {
        Ok(c) => c,
        Err(ds) => {
            let first = ds
                .first()
                .map_or(String::new(), |d| format!("{}: {}", d.path, d.message));
            return unread(format!(
                "the config init would write does not load: {first}"
            ));
        }
    };
    let ecs_template = match render::builtin_ecs_template(&config) {
        Ok(Some(t)) => t,
        Ok(None) => return unread("the config init would write renders no ECS stack".into()),
        Err(e) => return unread(format!("the config init would write does not render: {e}")),
    };
    let queues = running
        .queues
        .iter()
        .filter(|q| adopt::consumption(&running, q).0)
        .map(|q| q.name().to_string())
        .collect();
    Found::Read(Box::new(Service {
        name: name.to_string(),
        readiness: readiness(&report),
        config,
        ecs_template,
        queues,
        desired: u32::try_from(running.service.desired).unwrap_or(0),
    }))
}

/// The queries of one service: each consumed queue's four SQS metrics, and the service's
/// running tasks; ids `s{service}q{queue}m{metric}` and `s{service}t`.
fn queries(i: usize, cluster: &str, s: &Service) -> Vec<MetricQuery> {
    let mut out = Vec::new();
    let q = |id: String, m: Metric, dims: Vec<(String, String)>| {
        let (namespace, metric, stat) = m.what();
        MetricQuery {
            id,
            namespace: namespace.into(),
            metric: metric.into(),
            dimensions: dims,
            stat: stat.into(),
        }
    };
    for (j, name) in s.queues.iter().enumerate() {
        for (k, m) in Metric::ALL.into_iter().enumerate().take(4) {
            out.push(q(
                format!("s{i}q{j}m{k}"),
                m,
                vec![("QueueName".into(), name.clone())],
            ));
        }
    }
    out.push(q(
        format!("s{i}t"),
        Metric::Tasks,
        vec![
            ("ClusterName".into(), cluster.to_string()),
            ("ServiceName".into(), s.name.clone()),
        ],
    ));
    out
}

/// What reading the metrics took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Calls {
    pub calls: u32,
    pub queries: usize,
}

/// Every query's points, by id, read in batches a few calls at a time; a failed batch leaves
/// its ids out and says why, by id.
pub async fn read_metrics(
    cw: &CloudWatch,
    queries: &[MetricQuery],
    from: SystemTime,
    to: SystemTime,
    period_s: u64,
    about: &str,
) -> (
    HashMap<String, Vec<(i64, f64)>>,
    HashMap<String, String>,
    Calls,
) {
    let points_each = to
        .duration_since(from)
        .map_or(1, |d| d.as_secs() / period_s.max(1))
        .max(1);
    let batches = recorded::batches(queries.len(), points_each);
    let answers: Vec<_> = stream::iter(batches)
        .map(|r| async move {
            let got = cw
                .metric_data_paged(&queries[r.clone()], from, to, period_s as i32, false, about)
                .await;
            (r, got)
        })
        .buffer_unordered(CALLS_AT_ONCE)
        .collect()
        .await;
    let mut points = HashMap::new();
    let mut failed = HashMap::new();
    let mut calls = Calls {
        calls: 0,
        queries: queries.len(),
    };
    for (r, got) in answers {
        match got {
            Ok((series, n)) => {
                calls.calls += n;
                for s in series {
                    let p = s.points();
                    points.insert(s.id, p);
                }
            }
            Err(e) => {
                calls.calls += 1;
                for q in &queries[r] {
                    failed.insert(q.id.clone(), e.to_string());
                }
            }
        }
    }
    (points, failed, calls)
}

/// The per-minute traffic of service `i` (its queues summed; the oldest message the oldest of
/// them) and its recorded task count.
fn service_traffic(
    i: usize,
    s: &Service,
    points: &HashMap<String, Vec<(i64, f64)>>,
    start_s: u64,
    minutes: u64,
    period_s: u64,
) -> (Traffic, Option<Vec<f64>>) {
    let get = |id: String| points.get(&id).cloned().unwrap_or_default();
    let tasks = get(format!("s{i}t"));
    let mut total: Option<Traffic> = None;
    let mut recorded_tasks = None;
    for j in 0..s.queues.len() {
        let series: [Vec<(i64, f64)>; 5] = [
            get(format!("s{i}q{j}m0")),
            get(format!("s{i}q{j}m1")),
            get(format!("s{i}q{j}m2")),
            get(format!("s{i}q{j}m3")),
            tasks.clone(),
        ];
        let (t, tk) = recorded::traffic(&series, start_s, minutes, period_s);
        recorded_tasks = tk;
        total = Some(match total {
            None => t,
            Some(mut sum) => {
                let add = |a: &mut Vec<f64>, b: &[f64], max: bool| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x = if max { x.max(*y) } else { *x + y };
                    }
                };
                add(&mut sum.sent, &t.sent, false);
                for (a, b, max) in [
                    (&mut sum.deleted, &t.deleted, false),
                    (&mut sum.visible, &t.visible, false),
                    (&mut sum.oldest_age_s, &t.oldest_age_s, true),
                ] {
                    if let (Some(a), Some(b)) = (a.as_mut(), b.as_ref()) {
                        add(a, b, max);
                    }
                }
                sum
            }
        });
    }
    let t = total.unwrap_or(Traffic {
        start_unix_s: start_s,
        sent: vec![0.0; minutes as usize],
        deleted: None,
        visible: None,
        oldest_age_s: None,
    });
    (t, recorded_tasks)
}

/// A service's recorded task count a minute, and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Tasks {
    pub from: TasksFrom,
    /// One a minute over the period; `None` where unknown; empty when there is none.
    pub series: Vec<Option<f64>>,
    /// Why there is none (the scaling history's read failed), in words.
    pub why: Option<String>,
}

impl Tasks {
    /// Container Insights' `RunningTaskCount`, every minute known.
    pub fn container_insights(series: Vec<f64>) -> Self {
        Tasks {
            from: TasksFrom::ContainerInsights,
            series: series.into_iter().map(Some).collect(),
            why: None,
        }
    }

    /// Where the count came from, when not Container Insights (whose notes stay as they were).
    pub fn source_note(&self) -> Option<String> {
        if self.from != TasksFrom::ScalingHistory {
            return None;
        }
        let known = self.series.iter().flatten().count();
        let all = self.series.len();
        Some(if known == all {
            "task count from the scaling history (desired count: tasks starting count as running; Container Insights is off)".into()
        } else {
            format!("task count from the scaling history (desired count: tasks starting count as running; Container Insights is off), known {known} of {all} minutes: before its oldest activity the count is not said, and those minutes are left out of both means")
        })
    }

    /// The model's mean ECS task count set beside the recorded one.
    pub fn check_note(&self, model: Option<f64>) -> String {
        let recorded = recorded::mean_known(&self.series);
        let within = model
            .zip(recorded)
            .and_then(|(m, r)| recorded::within_pct(m, r));
        match (within, recorded, model) {
            (Some(p), Some(r), Some(m)) => format!("the model's ECS matches what ran within {p:.0}%: {m:.2} tasks on average, {r:.2} recorded"),
            (_, Some(r), m) => format!(
                "the model's ECS ran {} tasks on average where {r:.2} were recorded",
                m.map_or("no".into(), |m| format!("{m:.2}"))
            ),
            (_, None, _) => match (&self.from, &self.why) {
                (TasksFrom::None, Some(why)) => format!("no recorded task count to check the model against: Container Insights is off for this cluster (its RunningTaskCount) and the scaling history could not be read: {why}"),
                (TasksFrom::ScalingHistory, _) => "no recorded task count to check the model against: Container Insights is off for this cluster (its RunningTaskCount) and the scaling history does not reach back to the period".into(),
                _ => "no recorded task count to check the model against: Container Insights is off for this cluster (its RunningTaskCount)".into(),
            },
        }
    }
}

/// The task count of each of `services` (name, today's desired count) of `cluster` over
/// `minutes` minutes from `start_s`, from its scaling history (`DescribeScalingActivities`,
/// read a few services at a time; `recorded::history_tasks`); in `services`' order. A read that
/// fails gives no count and says why (a denied call names its IAM action).
pub async fn scaling_history(
    aas: &AutoScaling,
    cluster: &str,
    services: &[(String, u32)],
    start_s: u64,
    minutes: u64,
    now_s: u64,
) -> Vec<Tasks> {
    let since = SystemTime::UNIX_EPOCH + Duration::from_secs(start_s);
    stream::iter(services)
        .map(|(name, desired)| async move {
            match aas.scaling_activities(cluster, name, since).await {
                Ok(activities) => Tasks {
                    from: TasksFrom::ScalingHistory,
                    series: recorded::history_tasks(&activities, *desired, start_s, minutes, now_s),
                    why: None,
                },
                Err(e) => Tasks {
                    from: TasksFrom::None,
                    series: Vec::new(),
                    why: Some(e.to_string()),
                },
            }
        })
        .buffered(READ_AT_ONCE)
        .collect()
        .await
}

/// One service replayed: its report with what was read beside it.
fn replay(
    cluster: &str,
    s: &Service,
    traffic: &Traffic,
    tasks: &Tasks,
    spec: &AwsSpec,
    prices: &Prices,
    period_s: u64,
) -> Result<Report, String> {
    let implied = match (&traffic.deleted, &traffic.visible) {
        (Some(d), Some(v)) => recorded::per_message(&tasks.series, d, v),
        _ => None,
    };
    let (per_message, from) = match (spec.per_message, implied) {
        (Some(p), _) => (p, PerMessageFrom::Option),
        (None, Some((p, from))) => (p, from),
        (None, None) => (spec.default_per_message, PerMessageFrom::Option),
    };
    let inputs = Inputs {
        task_start: spec.task_start,
        message_bytes: message_bytes(),
        ..Inputs::new(assess::waves(traffic), per_message)
    };
    let setup = Setup::for_queue(&s.config, &s.ecs_template, &inputs, None)
        .map_err(|e| format!("cannot model the config init would write: {e}"))?;
    let mut report = assess::assess(&setup, traffic, &inputs, prices, s.readiness.clone());
    report.service = s.name.clone();
    let tasks_recorded_mean = recorded::mean_known(&tasks.series);
    let tasks_model_mean =
        recorded::model_tasks_mean(&std::mem::take(&mut report.ecs_tasks), &tasks.series);
    let tasks_within_pct = match (tasks_model_mean, tasks_recorded_mean) {
        (Some(m), Some(r)) => recorded::within_pct(m, r),
        _ => None,
    };
    if let Some(said) = tasks.source_note() {
        report.notes.push(said);
    }
    report.notes.push(match from {
        PerMessageFrom::Backlog => format!("--per-message {:.3} s: the recorded task-seconds over the messages deleted, in the minutes when messages waited", per_message.as_secs_f64()),
        PerMessageFrom::AllMinutes => format!("--per-message {:.3} s: the recorded task-seconds over the messages deleted in every minute with tasks (no minute had a backlog: an upper bound)", per_message.as_secs_f64()),
        PerMessageFrom::Option if spec.per_message.is_some() => format!("--per-message {:.3} s, as given", per_message.as_secs_f64()),
        PerMessageFrom::Option => format!("--per-message {:.3} s, the default: no recorded task count (Container Insights off?) or no delete to imply one", per_message.as_secs_f64()),
    });
    if period_s > MINUTE_S {
        report.notes.push(format!("read at a {period_s}-second period: CloudWatch keeps 1-minute datapoints {} days; each period's count is spread over its minutes", recorded::ONE_MINUTE_DAYS));
    }
    report.notes.push(tasks.check_note(tasks_model_mean));
    report.recorded = Some(Recorded {
        cluster: cluster.to_string(),
        queues: s.queues.clone(),
        period_s,
        per_message_s: per_message.as_secs_f64(),
        per_message_from: from,
        tasks_from: tasks.from,
        tasks_recorded_mean,
        tasks_model_mean,
        tasks_within_pct,
    });
    Ok(report)
}

/// Runs `jobs` on one thread a core, results in the jobs' order.
pub fn on_every_core<T: Sync, R: Send>(jobs: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(jobs.len()).max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        done.push((i, f(job)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a replay thread panicked"))
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// The period read: `days` whole days up to `now`'s minute.
pub fn window(now: SystemTime, days: u64) -> (u64, u64) {
    let end = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        / MINUTE_S
        * MINUTE_S;
    let minutes = days * 24 * 60;
    (end.saturating_sub(minutes * MINUTE_S), minutes)
}

/// Assesses `names` of `cluster`: the fleet report, ranked, and the metric calls made.
pub async fn fleet(
    aws: &Aws,
    cluster: &str,
    names: &[String],
    spec: &AwsSpec,
    lines: &dyn Lines,
) -> Result<(Fleet, Calls), Failure> {
    let period_s = recorded::period_s(spec.days).map_err(|e| {
        Failure::new(e).hint("docs/commands.md#assess: CloudWatch's retention of each period")
    })?;
    let prices = prices(spec.prices.as_deref())?;
    lines.start(&format!(
        "reading {} service(s) of `{cluster}`",
        names.len()
    ));
    let done = AtomicUsize::new(0);
    let found: Vec<Found> = stream::iter(names)
        .map(|n| {
            let done = &done;
            async move {
                let f = read_service(aws, cluster, n).await;
                let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                lines.line(&format!("{k}/{} services read ({n})", names.len()));
                f
            }
        })
        .buffered(READ_AT_ONCE)
        .collect()
        .await;
    let mut services = Vec::new();
    let mut unreadable = Vec::new();
    let mut not_sqs_workers = Vec::new();
    for f in found {
        match f {
            Found::Read(s) => services.push(*s),
            Found::Unread(u) => unreadable.push(u),
            Found::NotSqs(n) => not_sqs_workers.push(n),
        }
    }
    let (start_s, minutes) = window(spec.now, spec.days);
    let all: Vec<MetricQuery> = services
        .iter()
        .enumerate()
        .flat_map(|(i, s)| queries(i, cluster, s))
        .collect();
    lines.line(&format!(
        "reading {} metrics of {} service(s) from CloudWatch",
        all.len(),
        services.len()
    ));
    let from = SystemTime::UNIX_EPOCH + Duration::from_secs(start_s);
    let to = from + Duration::from_secs(minutes * MINUTE_S);
    let (points, failed, calls) = read_metrics(
        &aws.cloudwatch(),
        &all,
        from,
        to,
        period_s,
        &format!("cluster `{cluster}`'s queues"),
    )
    .await;
    // Why a service's metrics could not be read: the first of its queries that failed.
    let unread = |i: usize, s: &Service| {
        queries(i, cluster, s)
            .iter()
            .find_map(|q| failed.get(&q.id).cloned())
    };
    // Where Container Insights gave no task count (and the metrics were read), the scaling
    // history's.
    let no_count: Vec<usize> = services
        .iter()
        .enumerate()
        .filter(|&(i, s)| {
            unread(i, s).is_none() && points.get(&format!("s{i}t")).is_none_or(Vec::is_empty)
        })
        .map(|(i, _)| i)
        .collect();
    if !no_count.is_empty() {
        lines.line(&format!(
            "reading the scaling history of {} service(s) without Container Insights",
            no_count.len()
        ));
    }
    let wanted: Vec<(String, u32)> = no_count
        .iter()
        .map(|&i| (services[i].name.clone(), services[i].desired))
        .collect();
    let now_s = start_s + minutes * MINUTE_S;
    let histories = scaling_history(
        &aws.autoscaling(),
        cluster,
        &wanted,
        start_s,
        minutes,
        now_s,
    )
    .await;
    let mut from_history: HashMap<usize, Tasks> = no_count.into_iter().zip(histories).collect();
    lines.line(&format!("replaying {} service(s)", services.len()));
    let jobs: Vec<(usize, &Service, Option<Tasks>)> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s, from_history.remove(&i)))
        .collect();
    let results = on_every_core(&jobs, |(i, s, history)| {
        if let Some(why) = unread(*i, s) {
            return Err(why);
        }
        let (traffic, recorded_tasks) = service_traffic(*i, s, &points, start_s, minutes, period_s);
        let tasks = match (recorded_tasks, history) {
            (Some(t), _) => Tasks::container_insights(t),
            (None, Some(h)) => h.clone(),
            (None, None) => Tasks {
                from: TasksFrom::None,
                series: Vec::new(),
                why: None,
            },
        };
        replay(cluster, s, &traffic, &tasks, spec, &prices, period_s)
            .map(|r| with_recorded_chart(r, &traffic, &tasks.series))
    });
    let mut reports = Vec::new();
    for ((_, s, _), r) in jobs.iter().zip(results) {
        match r {
            Ok(report) => reports.push(report),
            Err(reason) => unreadable.push(Unread {
                service: s.name.clone(),
                reason,
            }),
        }
    }
    lines.finish(&format!(
        "{} service(s) assessed, {} unreadable, {} not SQS workers; {} GetMetricData call(s)",
        reports.len(),
        unreadable.len(),
        not_sqs_workers.len(),
        calls.calls
    ));
    unreadable.sort_by(|a, b| a.service.cmp(&b.service));
    Ok((
        Fleet {
            cluster: cluster.to_string(),
            days: spec.days,
            services: recorded::rank(reports),
            unreadable,
            not_sqs_workers,
        },
        calls,
    ))
}

/// The recorded queue depth and task count as ECS's measured samples (what ran), thinned as
/// the prediction is, for the page's chart.
fn with_recorded_chart(mut report: Report, traffic: &Traffic, tasks: &[Option<f64>]) -> Report {
    let visible = traffic.visible.as_deref().unwrap_or(&[]);
    let samples: Vec<Sample> = (0..traffic.minutes() as usize)
        .map(|m| Sample {
            time: String::new(),
            elapsed_s: (m as u64 * MINUTE_S) as f64,
            platform: Side::Ecs,
            visible: visible.get(m).map(|v| v.round() as u64),
            in_flight: Some(0),
            delayed: Some(0),
            workers: tasks.get(m).copied().flatten().map(|v| v.round() as u64),
            ..Sample::default()
        })
        .collect();
    report.measured = recorded::thin(&samples, assess::CHART_POINTS);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service of `min`..`max` tasks as `read_service` leaves it, with the config's rendered
    /// ECS stack.
    fn service(min: u32, max: u32) -> Service {
        let yaml = format!(
            "service: reports\nqueue:\n  visibility_timeout: 60s\necs:\n  cpu: 256\n  memory: 512\n  subnets: [subnet-0123456789abcdef0]\n  security_groups: [sg-0123456789abcdef0]\n  scaling:\n    min: {min}\n    max: {max}\nlambda:\n  memory: 512\n  entry_point: [python]\n  command: [app.handler]\n  working_directory: /app\n  timeout: 10s\n  trigger: {{ type: sqs, batch_size: 10 }}\n"
        );
        let config = config::parse(&yaml).unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
        let ecs_template = render::builtin_ecs_template(&config).unwrap().unwrap();
        Service {
            name: "reports".into(),
            config,
            ecs_template,
            readiness: Readiness {
                ready: true,
                problems: Vec::new(),
            },
            queues: vec!["reports".into()],
            desired: 1,
        }
    }

    #[test]
    fn a_scaling_history_that_starts_inside_the_period_checks_the_model_over_its_minutes() {
        // Two hours: a busy first hour, an idle second; the history knows only the second, at
        // one task.
        let minutes = 120;
        let sent: Vec<f64> = (0..minutes)
            .map(|m| if m < 60 { 900.0 } else { 0.0 })
            .collect();
        let traffic = Traffic {
            start_unix_s: 1_767_225_600,
            deleted: Some(sent.clone()),
            visible: Some(vec![0.0; minutes]),
            oldest_age_s: None,
            sent,
        };
        let tasks = Tasks {
            from: TasksFrom::ScalingHistory,
            series: (0..minutes).map(|m| (m >= 60).then_some(1.0)).collect(),
            why: None,
        };
        let spec = AwsSpec {
            days: 1,
            per_message: Some(Duration::from_millis(200)),
            default_per_message: Duration::from_millis(100),
            task_start: Duration::from_secs(30),
            prices: None,
            now: SystemTime::UNIX_EPOCH,
        };
        let s = service(1, 10);
        let prices = Prices::builtin();
        let report = replay("prod", &s, &traffic, &tasks, &spec, &prices, MINUTE_S).unwrap();

        // The model's own counts, minute by minute, from the same replay.
        let inputs = Inputs {
            task_start: spec.task_start,
            message_bytes: message_bytes(),
            ..Inputs::new(assess::waves(&traffic), Duration::from_millis(200))
        };
        let setup = Setup::for_queue(&s.config, &s.ecs_template, &inputs, None).unwrap();
        let model =
            assess::assess(&setup, &traffic, &inputs, &prices, s.readiness.clone()).ecs_tasks;
        let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len() as f64;
        let second_hour = mean(&model[60..120]);
        assert!(
            mean(&model) > second_hour + 0.5,
            "the busy hour ran more tasks: {model:?}"
        );

        let r = report.recorded.as_ref().unwrap();
        assert_eq!(r.tasks_from, TasksFrom::ScalingHistory);
        assert_eq!(r.tasks_recorded_mean, Some(1.0));
        assert_eq!(r.tasks_model_mean, Some(second_hour));
        assert_eq!(r.tasks_within_pct, recorded::within_pct(second_hour, 1.0));
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.contains("known 60 of 120 minutes")),
            "{:?}",
            report.notes
        );
        assert!(
            report.notes.iter().any(|n| n.starts_with("the model's ECS")
                && n.contains(&format!("{second_hour:.2} tasks on average, 1.00 recorded"))),
            "{:?}",
            report.notes
        );
    }
}

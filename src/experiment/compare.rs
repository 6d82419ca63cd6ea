//! Sampling both platforms while they work: each queue's depth and dead-letter depth (SQS,
//! current), ECS's task counts and service events, Lambda's concurrency and invocations
//! (CloudWatch, by minute). A source that fails leaves its columns empty and says why.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::aws::cloudwatch::{CloudWatch, LambdaMinute};
use crate::aws::ecs::{Ecs, ServiceEvent};
use crate::aws::lambda::{Lambda, Mapping, MappingState};
use crate::aws::sqs::Sqs;
use crate::aws::AwsError;
use crate::core::experiment::Sample;
use crate::core::side::Side;

/// One platform's deployed parts, from its stack.
#[derive(Clone, Debug, Serialize)]
pub struct Platform {
    pub platform: Side,
    pub stack: String,
    /// The first consumed queue's (the one queue's).
    pub queue_url: String,
    pub dead_letter_queue_url: Option<String>,
    pub cluster: Option<String>,
    pub service: Option<String>,
    pub function: Option<String>,
    /// Every queue the experiment loads and samples (the consumed queues, docs/config.md), in
    /// the config's order; written only when there are several, so that one queue's documents
    /// are as they always were.
    #[serde(skip_serializing_if = "one_or_none")]
    pub queues: Vec<PlatformQueue>,
}

/// One of a platform's queues: what the config calls it, and its URLs.
#[derive(Clone, Debug, Serialize)]
pub struct PlatformQueue {
    /// The key under `queues:`, or `queue`.
    pub name: String,
    pub queue_url: String,
    pub dead_letter_queue_url: Option<String>,
}

fn one_or_none(q: &[PlatformQueue]) -> bool {
    q.len() <= 1
}

impl Platform {
    /// The queues to load and sample: [`Platform::queues`], else the one queue.
    pub fn queue_list(&self) -> Vec<PlatformQueue> {
        if self.queues.is_empty() {
            vec![PlatformQueue {
                name: "queue".into(),
                queue_url: self.queue_url.clone(),
                dead_letter_queue_url: self.dead_letter_queue_url.clone(),
            }]
        } else {
            self.queues.clone()
        }
    }
}

/// An ECS service event seen during the experiment.
#[derive(Clone, Debug, Serialize)]
pub struct SeenEvent {
    pub elapsed_s: f64,
    pub time: String,
    pub platform: Side,
    pub message: String,
}

/// One SQS event source mapping of the function, as the experiment's files show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub source: String,
    pub state: MappingState,
    pub batch_size: Option<i32>,
    pub maximum_concurrency: Option<u32>,
}

impl From<Mapping> for Trigger {
    fn from(m: Mapping) -> Self {
        Trigger {
            source: m.source,
            state: m.state,
            batch_size: m.batch_size,
            maximum_concurrency: m.maximum_concurrency,
        }
    }
}

/// What the function reports about itself, read once at the start.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FunctionFacts {
    pub name: String,
    pub reserved_concurrency: Option<i32>,
    pub event_source_mappings: Vec<Trigger>,
    /// Why a part is missing.
    pub notes: Vec<String>,
}

/// CloudWatch is read at most this often: its figures change once a minute.
const CLOUDWATCH_EVERY: Duration = Duration::from_secs(30);

/// The sampler's memory between samples.
pub struct Sampler {
    sqs: Sqs,
    ecs: Ecs,
    lambda: Lambda,
    cloudwatch_client: CloudWatch,
    pub started: SystemTime,
    events_since: f64,
    cloudwatch: Option<(SystemTime, Result<Option<LambdaMinute>, AwsError>)>,
}

pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn epoch_s(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn reason(e: &AwsError) -> String {
    format!(
        "{}: {}",
        e.code,
        e.message.lines().next().unwrap_or_default()
    )
}

impl Sampler {
    pub fn new(sqs: Sqs, ecs: Ecs, lambda: Lambda, cloudwatch: CloudWatch) -> Self {
        let started = SystemTime::now();
        // Events from a minute before the start show what the service was doing when it began.
        Self {
            sqs,
            ecs,
            lambda,
            cloudwatch_client: cloudwatch,
            started,
            events_since: epoch_s(started) - 60.0,
            cloudwatch: None,
        }
    }

    pub async fn function_facts(&self, function: &str) -> FunctionFacts {
        let mut f = FunctionFacts {
            name: function.into(),
            ..Default::default()
        };
        match self.lambda.reserved_concurrency(function).await {
            Ok(c) => f.reserved_concurrency = c,
            Err(e) => f
                .notes
                .push(format!("reserved concurrency: {}", reason(&e))),
        }
        match self.lambda.mappings(function, None).await {
            Ok(m) => f.event_source_mappings = m.into_iter().map(Trigger::from).collect(),
            Err(e) => f
                .notes
                .push(format!("event source mappings: {}", reason(&e))),
        }
        f
    }

    /// Samples one platform now. `sent`: what `load` has sent to its queue so far, if one runs.
    pub async fn sample(&mut self, p: &Platform, sent: Option<u64>) -> (Sample, Vec<SeenEvent>) {
        let now = SystemTime::now();
        let elapsed_s = now
            .duration_since(self.started)
            .map_or(0.0, |d| (d.as_secs_f64() * 1000.0).round() / 1000.0);
        let mut s = Sample {
            time: rfc3339(now),
            elapsed_s,
            platform: p.platform,
            sent,
            ..Default::default()
        };
        let mut notes = Vec::new();
        let mut seen = Vec::new();
        // With several queues a sample is their sum (a figure unknown for one is unknown for
        // the sum), and `queue_depths` holds each queue's depth.
        let queues = p.queue_list();
        let several = queues.len() > 1;
        let mut depths = Vec::new();
        for (i, q) in queues.iter().enumerate() {
            let dead_letter = async {
                match &q.dead_letter_queue_url {
                    Some(url) => Some(self.sqs.queue(url).await.map(|q| q.map(|q| q.depth))),
                    None => None,
                }
            };
            let queue = async {
                self.sqs
                    .queue(&q.queue_url)
                    .await
                    .map(|q| q.map(|q| q.depth))
            };
            let (queue, dead_letter) = futures::join!(queue, dead_letter);
            let named = |what: &str| {
                if several {
                    format!("{what} `{}`", q.name)
                } else {
                    what.to_string()
                }
            };
            let add = |a: Option<u64>, b: u64| if i == 0 { Some(b) } else { a.map(|a| a + b) };
            match queue {
                Ok(Some(d)) => {
                    (s.visible, s.in_flight, s.delayed) = (
                        add(s.visible, d.visible),
                        add(s.in_flight, d.in_flight),
                        add(s.delayed, d.delayed),
                    );
                    depths.push(format!(
                        "{}={}",
                        q.name,
                        d.visible + d.in_flight + d.delayed
                    ));
                }
                Ok(None) => notes.push(format!("{}: gone", named("queue"))),
                Err(e) => notes.push(format!("{}: {}", named("queue"), reason(&e))),
            }
            if i > 0 && depths.len() <= i {
                (s.visible, s.in_flight, s.delayed) = (None, None, None);
            }
            match dead_letter {
                Some(Ok(Some(d))) => s.dead_letter = Some(s.dead_letter.unwrap_or(0) + d.total()),
                Some(Ok(None)) => notes.push(format!("{}: gone", named("dead-letter queue"))),
                Some(Err(e)) => {
                    notes.push(format!("{}: {}", named("dead-letter queue"), reason(&e)))
                }
                None => {}
            }
        }
        if several {
            s.queue_depths = depths.join(" ");
        }
        if let (Some(cluster), Some(service)) = (&p.cluster, &p.service) {
            match self.ecs.service(cluster, service).await {
                Ok(Some(ecs)) => {
                    let counts = ecs.counts;
                    let since = self.events_since;
                    let events = ecs.events.into_iter().filter(|e| e.at > since);
                    let n = |v: i32| Some(u64::try_from(v).unwrap_or(0));
                    (s.ecs_desired, s.ecs_running, s.ecs_pending) =
                        (n(counts.desired), n(counts.running), n(counts.pending));
                    s.workers = s.ecs_running;
                    for ServiceEvent { at, message } in events {
                        self.events_since = self.events_since.max(at);
                        let time = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(at.max(0.0));
                        seen.push(SeenEvent {
                            elapsed_s: at - epoch_s(self.started),
                            time: rfc3339(time),
                            platform: p.platform,
                            message,
                        });
                    }
                }
                Ok(None) => notes.push("ecs service: gone".to_string()),
                Err(e) => notes.push(format!("ecs service: {}", reason(&e))),
            }
        }
        if let Some(function) = &p.function {
            let stale = self.cloudwatch.as_ref().is_none_or(|(at, _)| {
                now.duration_since(*at).unwrap_or_default() >= CLOUDWATCH_EVERY
            });
            if stale {
                self.cloudwatch = Some((
                    now,
                    self.cloudwatch_client.lambda_minute(function, now).await,
                ));
            }
            match self.cloudwatch.as_ref().map(|(_, r)| r) {
                Some(Ok(Some(m))) => {
                    s.lambda_concurrency = m.concurrency;
                    s.lambda_invocations = m.invocations;
                    s.lambda_errors = m.errors;
                    s.lambda_throttles = m.throttles;
                    s.cloudwatch_minute = Some(rfc3339(
                        SystemTime::UNIX_EPOCH + Duration::from_secs(m.minute.max(0) as u64),
                    ));
                    s.workers = m.concurrency;
                }
                Some(Ok(None)) => {
                    notes.push("cloudwatch: no datapoint in the last 10 minutes".to_string())
                }
                Some(Err(e)) => notes.push(format!("cloudwatch: {}", reason(e))),
                None => {}
            }
        }
        s.notes = notes.join("; ");
        (s, seen)
    }
}

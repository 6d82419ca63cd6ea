//! Sending the load: the same messages to each target queue, `SendMessageBatch` calls with a
//! bounded number in flight, refused entries retried with backoff and never dropped silently.
//! Effects: SQS calls and tokio's clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use backon::BackoffBuilder;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use tokio::sync::watch;

use crate::aws::sqs::{Outgoing, Sqs};
use crate::aws::AwsError;
use crate::core::load::{self, Pace, SizeRange, Wave};
use crate::core::side::Side;

/// Where the bodies come from.
#[derive(Clone, Debug)]
pub enum Bodies {
    /// Generated JSON carrying the id and send time, padded to a size from the range.
    Generated(SizeRange),
    /// One payload for every message (`--body-file`); the id and send time ride as attributes.
    Fixed(String),
}

/// What to send, decided before anything is sent.
#[derive(Clone, Debug)]
pub struct Plan {
    pub pace: Pace,
    pub bodies: Bodies,
    /// Groups of up to ten messages in flight at once (a call per queue each).
    pub concurrency: usize,
    pub seed: u64,
}

/// One queue to fill.
#[derive(Debug)]
pub struct Target {
    pub platform: Side,
    pub url: String,
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    reasons: Mutex<BTreeMap<(String, String), u64>>,
    /// Set when the queue failed in a way retries cannot fix: the rest is not attempted.
    gone: Mutex<Option<AwsError>>,
}

impl Target {
    pub fn new(platform: Side, url: &str) -> Self {
        Self {
            platform,
            url: url.into(),
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            reasons: Mutex::default(),
            gone: Mutex::default(),
        }
    }

    fn fail(&self, n: u64, code: &str, message: &str) {
        if n == 0 {
            return;
        }
        self.failed.fetch_add(n, Ordering::Relaxed);
        *self
            .reasons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((code.to_string(), message.to_string()))
            .or_default() += n;
    }
}

/// Messages not sent, grouped by AWS's reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotSent {
    pub code: String,
    pub message: String,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct QueueReport {
    pub platform: Side,
    pub url: String,
    pub sent: u64,
    pub failed: u64,
    pub not_sent: Vec<NotSent>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// The run's id: every message id starts with it.
    pub run: String,
    pub seed: u64,
    /// When the first message was due, RFC 3339.
    pub started_at: String,
    /// Messages planned for each queue.
    pub planned: u64,
    /// The messages of each wave (the seeder's batch sizes, with `--batches`).
    pub waves: Vec<u64>,
    pub queues: Vec<QueueReport>,
    pub sent: u64,
    pub failed: u64,
    /// Stopped by an interrupt before everything was attempted.
    pub interrupted: bool,
    pub elapsed_s: f64,
    /// Messages sent a second, over all queues.
    pub rate: f64,
}

/// Attempts after the first for entries that SQS refused in a call that succeeded.
///
/// Each kind of failure has one retry layer, so that no call is retried by two multiplied
/// together:
/// - A call that fails as a whole (throttling, a 5xx, a timeout, a dropped connection) is the
///   SDK's to retry: its standard retry mode backs off with jitter, stops early through its
///   token bucket when the service keeps failing, and honours `AWS_MAX_ATTEMPTS` (AWS SDKs and
///   Tools Reference Guide, "Retry behavior"). What still fails after those attempts is final
///   here, for that call's messages.
/// - Entries that SQS refused in an answer that succeeded (`Failed` in the `SendMessageBatch`
///   response) are never retried by the SDK, which saw a success: they are sent again here,
///   with backoff, unless SQS says the sender was at fault (Amazon SQS API Reference,
///   `SendMessageBatch`: each message's result is an entry of `Successful` or of `Failed`).
const RETRIES: usize = 6;

fn backoff() -> impl Iterator<Item = Duration> {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(RETRIES)
        .with_jitter()
        .build()
}

/// Failed calls after which the queue's other messages are not attempted: the queue is gone,
/// the caller may not use it, or the endpoint stayed unreachable through the SDK's retries
/// (each later call would wait out the same timeouts).
fn permanent(e: &AwsError) -> bool {
    let code = e.code.as_str();
    e.is_missing_queue()
        || code.starts_with("AccessDenied")
        || code.starts_with("KMS.")
        || matches!(
            code,
            "InvalidAddress"
                | "InvalidSecurity"
                | "InvalidClientTokenId"
                | "UnrecognizedClientException"
                | "ExpiredToken"
                | "DispatchFailure"
                | "TimeoutError"
        )
}

/// The waves and the generator for the bodies: the same for the same seed.
pub fn schedule(plan: &Plan) -> (fastrand::Rng, Vec<Wave>) {
    let mut rng = fastrand::Rng::with_seed(plan.seed);
    let waves = plan.pace.waves(&mut rng);
    (rng, waves)
}

/// Sends the plan to every target. Progress shows in the targets' counters while it runs;
/// `stop` turning true stops starting new calls (the ones in flight finish).
pub async fn run(
    services: &Sqs,
    targets: &[Target],
    plan: &Plan,
    mut stop: watch::Receiver<bool>,
) -> LoadReport {
    let (mut rng, waves) = schedule(plan);
    // Each run's ids are its own, even when a seed repeats its sizes and batches.
    let run = load::run_id(&mut fastrand::Rng::new());
    let planned = Pace::total(&waves);
    let started = Instant::now();
    let started_at = SystemTime::now();
    let mut next_seq = 0u64;
    let groups = waves.iter().flat_map(|&Wave { at, count }| {
        let first = next_seq;
        next_seq += count;
        (first..first + count)
            .step_by(load::MAX_BATCH_ENTRIES)
            .map(move |s| {
                (
                    at,
                    s..(s + load::MAX_BATCH_ENTRIES as u64).min(first + count),
                )
            })
    });
    let interrupted = std::cell::Cell::new(false);
    let stop_ref = &mut stop;
    let groups = groups.map(|(at, seqs)| {
        let mut group_rng = rng.fork();
        let mut stop = stop_ref.clone();
        let (run, interrupted) = (&run, &interrupted);
        async move {
            let n = seqs.end - seqs.start;
            tokio::select! {
                _ = tokio::time::sleep_until((started + at).into()) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            if *stop.borrow() {
                interrupted.set(true);
                for t in targets {
                    t.fail(n, "Interrupted", "not sent: the run was interrupted");
                }
                return;
            }
            let sent_at_ms = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let messages: Vec<Outgoing> = seqs
                .map(|seq| {
                    let id = load::message_id(run, seq);
                    let body = match &plan.bodies {
                        Bodies::Generated(size) => load::body(
                            &id,
                            sent_at_ms,
                            group_rng.usize(size.min..=size.max),
                            &mut group_rng,
                        ),
                        Bodies::Fixed(body) => body.clone(),
                    };
                    Outgoing {
                        id,
                        sent_at_ms,
                        body,
                    }
                })
                .collect();
            futures::future::join_all(targets.iter().map(|t| send(services, t, &messages))).await;
        }
    });
    stream::iter(groups)
        .buffer_unordered(plan.concurrency.max(1))
        .collect::<()>()
        .await;

    let elapsed_s = started.elapsed().as_secs_f64();
    let queues: Vec<QueueReport> = targets
        .iter()
        .map(|t| QueueReport {
            platform: t.platform,
            url: t.url.clone(),
            sent: t.sent.load(Ordering::Relaxed),
            failed: t.failed.load(Ordering::Relaxed),
            not_sent: t
                .reasons
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|((code, message), &count)| NotSent {
                    code: code.clone(),
                    message: message.clone(),
                    count,
                })
                .collect(),
        })
        .collect();
    let sent: u64 = queues.iter().map(|q| q.sent).sum();
    LoadReport {
        run,
        seed: plan.seed,
        started_at: humantime::format_rfc3339_millis(started_at).to_string(),
        planned,
        waves: waves.iter().map(|w| w.count).collect(),
        failed: queues.iter().map(|q| q.failed).sum(),
        queues,
        sent,
        interrupted: interrupted.get(),
        elapsed_s,
        rate: if elapsed_s > 0.0 {
            sent as f64 / elapsed_s
        } else {
            0.0
        },
    }
}

/// Sends one group to one queue: one call per 256 KiB, refused entries again with backoff (see
/// [`RETRIES`] for which layer retries what).
async fn send(services: &Sqs, target: &Target, messages: &[Outgoing]) {
    let sizes: Vec<usize> = messages
        .iter()
        .map(|m| m.body.len() + m.id.len() + load::ATTRIBUTE_ALLOWANCE / 4)
        .collect();
    let calls = load::batches(&sizes)
        .into_iter()
        .map(|range| send_call(services, target, &messages[range]));
    futures::future::join_all(calls).await;
}

async fn send_call(services: &Sqs, target: &Target, messages: &[Outgoing]) {
    let mut pending: Vec<usize> = (0..messages.len()).collect();
    let mut delays = backoff();
    let mut last: Option<(String, String)> = None;
    loop {
        if let Some(e) = target
            .gone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            target.fail(pending.len() as u64, &e.code, &e.message);
            return;
        }
        let entries: Vec<Outgoing> = pending.iter().map(|&i| messages[i].clone()).collect();
        let refused = match services.send_batch(&target.url, &entries).await {
            Ok(refused) => refused,
            Err(e) => {
                // The SDK has already retried the call: not again here (see `RETRIES`).
                target.fail(pending.len() as u64, &e.code, &e.message);
                if permanent(&e) {
                    *target.gone.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                }
                return;
            }
        };
        target
            .sent
            .fetch_add((entries.len() - refused.len()) as u64, Ordering::Relaxed);
        let mut again = Vec::new();
        for r in refused {
            if r.sender_fault {
                // The request itself was wrong: the same entry would fail again.
                target.fail(1, &r.code, &r.message);
            } else if let Some(&i) = pending.get(r.index) {
                again.push(i);
                last = Some((r.code, r.message));
            }
        }
        pending = again;
        if pending.is_empty() {
            return;
        }
        match delays.next() {
            Some(d) => tokio::time::sleep(d).await,
            None => {
                let (code, message) = last.unwrap_or_default();
                target.fail(
                    pending.len() as u64,
                    &code,
                    &format!("{message} (after {} attempts)", RETRIES + 1),
                );
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_queues_denials_and_unreachable_endpoints_are_final_throttling_is_not() {
        let e = |code: &str| AwsError {
            operation: String::new(),
            needs: None,
            code: code.into(),
            message: String::new(),
        };
        assert!(permanent(&e("AWS.SimpleQueueService.NonExistentQueue")));
        assert!(permanent(&e("QueueDoesNotExist")));
        assert!(permanent(&e("AccessDenied")));
        assert!(permanent(&e("KMS.DisabledException")));
        assert!(!permanent(&e("RequestThrottled")));
        assert!(!permanent(&e("ServiceUnavailable")));
        assert!(!permanent(&e("HTTP 503")));
        assert!(permanent(&e("DispatchFailure")));
        assert!(permanent(&e("TimeoutError")));
    }
}

//! What moto cannot show about the experiment, from responses shaped like real AWS's
//! (aws-smithy-mocks), on tokio's paused clock: entries a batch refuses, retried until sent or
//! counted with AWS's reason; and the function's metrics as CloudWatch returns them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::MetricDataResult;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::error::ErrorMetadata;
use aws_sdk_sqs::operation::send_message_batch::{
    SendMessageBatchError, SendMessageBatchInput, SendMessageBatchOutput,
};
use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::DateTime;

use replatform::aws::cloudwatch::{CloudWatch, LambdaMinute};
use replatform::aws::sqs::Sqs;
use replatform::core::load::{Pace, SizeRange};
use replatform::core::side::Side;
use replatform::experiment::load::{self, Bodies, Plan, Target};

/// The message number of an entry, from the id attribute every message carries.
fn seq(e: &aws_sdk_sqs::types::SendMessageBatchRequestEntry) -> u64 {
    let id = e.message_attributes().unwrap()["replatform-id"]
        .string_value()
        .unwrap();
    id.rsplit_once('-').unwrap().1.parse().unwrap()
}

/// A queue that refuses some entries: `refuse(seq, attempt)` says with what, if at all.
/// Returns the mocked services and each call's entry count.
fn refusing_queue(
    refuse: fn(u64, usize) -> Option<(&'static str, bool)>,
) -> (Sqs, Arc<Mutex<Vec<usize>>>) {
    let attempts: Arc<Mutex<HashMap<u64, usize>>> = Arc::default();
    let calls: Arc<Mutex<Vec<usize>>> = Arc::default();
    let calls_seen = calls.clone();
    let rule = mock!(aws_sdk_sqs::Client::send_message_batch).then_compute_output(
        move |input: &SendMessageBatchInput| {
            calls_seen.lock().unwrap().push(input.entries().len());
            let (mut ok, mut failed) = (Vec::new(), Vec::new());
            for e in input.entries() {
                let n = seq(e);
                let attempt = {
                    let mut a = attempts.lock().unwrap();
                    let c = a.entry(n).or_default();
                    *c += 1;
                    *c
                };
                match refuse(n, attempt) {
                    Some((code, sender_fault)) => failed.push(
                        BatchResultErrorEntry::builder()
                            .id(e.id())
                            .code(code)
                            .message(format!("{code} for entry {}", e.id()))
                            .sender_fault(sender_fault)
                            .build()
                            .unwrap(),
                    ),
                    None => ok.push(
                        SendMessageBatchResultEntry::builder()
                            .id(e.id())
                            .message_id(format!("m-{n}"))
                            .md5_of_message_body("x")
                            .build()
                            .unwrap(),
                    ),
                }
            }
            SendMessageBatchOutput::builder()
                .set_successful(Some(ok))
                .set_failed(Some(failed))
                .build()
                .unwrap()
        },
    );
    let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &[&rule]);
    let services = Sqs::new(sqs);
    (services, calls)
}

fn plan(count: u64) -> Plan {
    Plan {
        pace: Pace::Burst { count },
        bodies: Bodies::Generated(SizeRange::default()),
        concurrency: 4,
        seed: 1,
    }
}

#[tokio::test(start_paused = true)]
async fn refused_entries_are_sent_again_and_a_sender_fault_is_counted_with_its_reason() {
    // Every third message is refused twice as AWS's fault; message 5 is refused as the sender's.
    let (services, calls) = refusing_queue(|n, attempt| match n {
        5 => Some(("InvalidParameterValue", true)),
        n if n % 3 == 0 && attempt <= 2 => Some(("InternalError", false)),
        _ => None,
    });
    let targets = [Target::new(
        Side::Ecs,
        "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
    )];
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let report = load::run(&services, &targets, &plan(20), stopped).await;

    assert_eq!((report.sent, report.failed), (19, 1));
    let q = &report.queues[0];
    assert_eq!(q.not_sent.len(), 1);
    assert_eq!(
        (q.not_sent[0].code.as_str(), q.not_sent[0].count),
        ("InvalidParameterValue", 1)
    );
    // Two calls of ten, then the refused ones again, twice: messages 0, 3, 6, 9 and 12, 15, 18.
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.iter().sum::<usize>(), 20 + 7 * 2, "{calls:?}");
    assert!(calls.iter().all(|&n| n <= 10));
}

#[tokio::test(start_paused = true)]
async fn entries_refused_on_every_attempt_are_counted_not_dropped() {
    let (services, calls) = refusing_queue(|n, _| (n < 3).then_some(("ServiceUnavailable", false)));
    let targets = [Target::new(
        Side::Lambda,
        "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
    )];
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let started = tokio::time::Instant::now();
    let report = load::run(&services, &targets, &plan(10), stopped).await;

    assert_eq!((report.sent, report.failed), (7, 3));
    let reason = &report.queues[0].not_sent[0];
    assert_eq!(
        (reason.code.as_str(), reason.count),
        ("ServiceUnavailable", 3)
    );
    assert!(
        reason.message.contains("after 7 attempts"),
        "{}",
        reason.message
    );
    assert_eq!(
        calls.lock().unwrap().len(),
        7,
        "one call, then six retries of the three"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "with backoff between them: {:?}",
        started.elapsed()
    );
}

/// A queue whose `SendMessageBatch` calls are throttled as a whole `throttled` times (`None`:
/// always), then answered with every entry stored; the SDK makes up to three attempts, its
/// default.
fn throttling_queue(throttled: Option<usize>) -> (Sqs, aws_smithy_mocks::Rule) {
    let throttle = || {
        SendMessageBatchError::generic(
            ErrorMetadata::builder()
                .code("RequestThrottled")
                .message("Rate exceeded")
                .build(),
        )
    };
    let stored = || {
        SendMessageBatchOutput::builder()
            .set_successful(Some(vec![]))
            .set_failed(Some(vec![]))
            .build()
            .unwrap()
    };
    let rule = match throttled {
        Some(n) => mock!(aws_sdk_sqs::Client::send_message_batch)
            .sequence()
            .error(throttle)
            .times(n)
            .output(stored)
            .repeatedly()
            .build(),
        None => mock!(aws_sdk_sqs::Client::send_message_batch).then_error(throttle),
    };
    let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &[&rule], |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(3)));
    let services = Sqs::new(sqs);
    (services, rule)
}

/// A whole call's throttling is the SDK's to retry, and only the SDK's: two throttled answers
/// are absorbed by its attempts; a call throttled on every attempt is tried three times, not
/// three times `load`'s seven, and its messages are counted with AWS's reason. The next group
/// still tries: throttling does not give up on the queue.
#[tokio::test(start_paused = true)]
async fn a_throttled_call_is_retried_by_the_sdk_alone() {
    let (services, rule) = throttling_queue(Some(2));
    let targets = [Target::new(
        Side::Ecs,
        "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
    )];
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let report = load::run(&services, &targets, &plan(10), stopped).await;
    assert_eq!((report.sent, report.failed, rule.num_calls()), (10, 0, 3));

    let (services, rule) = throttling_queue(None);
    let targets = [Target::new(
        Side::Lambda,
        "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
    )];
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let report = load::run(&services, &targets, &plan(20), stopped).await;
    assert_eq!((report.sent, report.failed), (0, 20));
    assert_eq!(
        rule.num_calls(),
        2 * 3,
        "two calls of ten, three attempts each"
    );
    let reason = &report.queues[0].not_sent[0];
    assert_eq!(
        (reason.code.as_str(), reason.count),
        ("RequestThrottled", 20)
    );
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_stops_new_calls_and_counts_what_was_not_sent() {
    let (services, _) = refusing_queue(|_, _| None);
    let targets = [Target::new(
        Side::Ecs,
        "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
    )];
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // Ten messages a second for ten seconds; stopped after about two.
    let plan = Plan {
        pace: Pace::Rate {
            per_second: 10.0,
            total: 100,
        },
        ..plan(0)
    };
    let stopper = async {
        tokio::time::sleep(Duration::from_millis(2050)).await;
        stop.send(true).unwrap();
    };
    let (report, ()) = tokio::join!(load::run(&services, &targets, &plan, stopped), stopper);
    assert!(report.interrupted);
    // Messages due at 0.0 .. 2.0 s: 21. The paused clock may run ahead while a call is in
    // flight, so one or two may meet the stop; none due after it is sent.
    assert!((18..=21).contains(&report.sent), "{} sent", report.sent);
    assert_eq!(report.sent + report.failed, 100);
    assert_eq!(report.queues[0].not_sent[0].code, "Interrupted");
}

fn metric(id: &str, points: &[(i64, f64)]) -> MetricDataResult {
    MetricDataResult::builder()
        .id(id)
        .set_timestamps(Some(
            points
                .iter()
                .map(|(t, _)| DateTime::from_secs(*t))
                .collect(),
        ))
        .set_values(Some(points.iter().map(|(_, v)| *v).collect()))
        .build()
}

#[tokio::test]
async fn the_newest_minute_of_the_functions_metrics() {
    const M: i64 = 1_795_000_020 / 60 * 60;
    let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| {
            r.metric_data_queries().len() == 4
                && r.metric_data_queries()
                    .iter()
                    .all(|q| q.metric_stat().and_then(|s| s.period()) == Some(60))
        })
        .sequence()
        .output(|| {
            GetMetricDataOutput::builder()
                // Newest first, as asked; Throttles has no datapoint in the newest minute.
                .metric_data_results(metric("concurrency", &[(M, 7.0), (M - 60, 3.0)]))
                .metric_data_results(metric("invocations", &[(M, 250.0), (M - 60, 40.0)]))
                .metric_data_results(metric("errors", &[(M, 2.0), (M - 60, 0.0)]))
                .metric_data_results(metric("throttles", &[(M - 60, 1.0)]))
                .build()
        })
        .output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(metric("concurrency", &[]))
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, &[&rule]);
    let metrics = CloudWatch::new(client);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_100);
    assert_eq!(
        metrics.lambda_minute("orders-worker", now).await.unwrap(),
        Some(LambdaMinute {
            minute: M,
            concurrency: Some(7),
            invocations: Some(250),
            errors: Some(2),
            throttles: None
        })
    );
    // A function with no datapoints: nothing, not zero.
    assert_eq!(
        metrics.lambda_minute("orders-worker", now).await.unwrap(),
        None
    );
}

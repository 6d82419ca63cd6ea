//! `assess`'s reading of CloudWatch, measured in-process for `scripts/bench-assess`
//! (docs/measures.md#assess): SERVICES services' metrics (four of a queue and the running tasks:
//! five a service) over DAYS days by minute, read with `app::assess::aws::read_metrics` (batched
//! within `GetMetricData`'s limits, a few calls at once) and, for comparison, with one call per
//! metric as naively done, the same number at once. Each call answers after DELAY_MS, like a
//! region's round trip, through an HTTP client that waits before the recorded answer
//! (aws-smithy-mocks). The answer checks AWS's limits (500 queries, 100,800 datapoints a call)
//! and carries one datapoint a query: the replay's own cost is measured apart.
//!
//! `#[ignore]`d: `BENCH_ASSESS_SERVICES=200 BENCH_ASSESS_DAYS=14 BENCH_ASSESS_DELAY_MS=100 cargo
//! test --test it assess_bench -- --ignored --nocapture`. Two unignored tests check the same
//! path: the calls a small fleet takes, and a failed call leaving out only its queries.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataError;
use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataInput, GetMetricDataOutput};
use aws_sdk_cloudwatch::types::MetricDataResult;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::DateTime;
use futures::stream::{self, StreamExt};
use replatform::app::assess::aws::{read_metrics, CALLS_AT_ONCE};
use replatform::aws::cloudwatch::{CloudWatch, MetricQuery};

/// An HTTP client whose every call answers after `delay` (the mock interceptor then puts the
/// recorded output in place of its empty answer), and counts the calls.
#[derive(Clone, Debug)]
struct Slow {
    delay: Duration,
    calls: Arc<AtomicU32>,
}

impl HttpConnector for Slow {
    fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
        let delay = self.delay;
        self.calls.fetch_add(1, Ordering::Relaxed);
        HttpConnectorFuture::new(async move {
            tokio::time::sleep(delay).await;
            Ok(HttpResponse::new(
                StatusCode::try_from(418).unwrap(),
                SdkBody::from("answered by the mock"),
            ))
        })
    }
}

impl HttpClient for Slow {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// `GetMetricData` answered with a datapoint a query (a simple rule answers every call in
/// `MatchAny` mode); a call over AWS's limits fails the test.
fn answering(period_s: i64) -> Rule {
    mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_compute_output(
        move |input: &GetMetricDataInput| {
            let queries = input.metric_data_queries();
            let (from, to) = (input.start_time().unwrap(), input.end_time().unwrap());
            let points = (to.secs() - from.secs()) / period_s;
            assert!(queries.len() <= 500, "{} queries in a call", queries.len());
            assert!(
                queries.len() as i64 * points <= 100_800,
                "{} datapoints in a call: it would page",
                queries.len() as i64 * points
            );
            let mut out = GetMetricDataOutput::builder();
            for q in queries {
                out = out.metric_data_results(
                    MetricDataResult::builder()
                        .id(q.id().unwrap())
                        .timestamps(DateTime::from_secs(from.secs()))
                        .values(1.0)
                        .build(),
                );
            }
            out.build()
        },
    )
}

/// CloudWatch answering every `GetMetricData` after `delay`, and the count of its calls.
fn cloudwatch(delay: Duration, period_s: i64) -> (CloudWatch, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let rule = answering(period_s);
    let slow = Slow {
        delay,
        calls: calls.clone(),
    };
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&rule], |c| c
        .http_client(slow.clone()));
    (CloudWatch::new(client), calls)
}

fn queries(services: usize) -> Vec<MetricQuery> {
    let q =
        |id: String, ns: &str, metric: &str, dims: Vec<(String, String)>, stat: &str| MetricQuery {
            id,
            namespace: ns.into(),
            metric: metric.into(),
            dimensions: dims,
            stat: stat.into(),
        };
    (0..services)
        .flat_map(|i| {
            let queue = vec![("QueueName".to_string(), format!("queue-{i}"))];
            let mut v: Vec<MetricQuery> = [
                ("NumberOfMessagesSent", "Sum"),
                ("NumberOfMessagesDeleted", "Sum"),
                ("ApproximateNumberOfMessagesVisible", "Maximum"),
                ("ApproximateAgeOfOldestMessage", "Maximum"),
            ]
            .iter()
            .enumerate()
            .map(|(k, (m, s))| q(format!("s{i}q0m{k}"), "AWS/SQS", m, queue.clone(), s))
            .collect();
            v.push(q(
                format!("s{i}t"),
                "ECS/ContainerInsights",
                "RunningTaskCount",
                vec![
                    ("ClusterName".into(), "prod".into()),
                    ("ServiceName".into(), format!("service-{i}")),
                ],
                "Average",
            ));
            v
        })
        .collect()
}

/// (calls, wall time) of the batched read and of one call per metric.
fn measure(services: usize, days: u64, delay: Duration) -> [(u32, Duration); 2] {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let all = queries(services);
    let to = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + days * 86_400);
    let from = to - Duration::from_secs(days * 86_400);
    rt.block_on(async {
        let (cw, calls) = cloudwatch(delay, 60);
        let started = Instant::now();
        let (points, failed, made) = read_metrics(&cw, &all, from, to, 60, "the bench").await;
        let batched = (calls.load(Ordering::Relaxed), started.elapsed());
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(points.len(), all.len(), "every query answered");
        assert_eq!(
            made.calls, batched.0,
            "read_metrics counts the calls it made"
        );

        let (cw, calls) = cloudwatch(delay, 60);
        let started = Instant::now();
        let answers: Vec<_> = stream::iter(&all)
            .map(|q| {
                cw.metric_data_paged(std::slice::from_ref(q), from, to, 60, false, "the bench")
            })
            .buffer_unordered(CALLS_AT_ONCE)
            .collect()
            .await;
        assert!(answers.iter().all(Result::is_ok));
        [batched, (calls.load(Ordering::Relaxed), started.elapsed())]
    })
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn batched_reads_make_a_fifth_of_the_calls_for_14_days_by_minute() {
    // 14 days by minute: 20,160 datapoints a query, five a call; one a call unbatched.
    let [(batched, _), (single, _)] = measure(4, 14, Duration::ZERO);
    assert_eq!((batched, single), (4, 20));
    // A day: 1,440 a query, 70 a call: 20 queries in one.
    let [(batched, _), (single, _)] = measure(4, 1, Duration::ZERO);
    assert_eq!((batched, single), (1, 20));
}

/// A call that fails (throttled past the SDK's retries) leaves out its queries only, each with
/// why: at 14 days by minute a call holds one service's five, so one service is not assessed
/// and the others are.
#[test]
fn a_failed_call_leaves_out_only_its_queries() {
    let throttled = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|i| {
            i.metric_data_queries()
                .iter()
                .any(|q| q.id() == Some("s1t"))
        })
        .then_error(|| {
            GetMetricDataError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        });
    let ok = answering(60);
    let cw = CloudWatch::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        &[&throttled, &ok]
    ));
    let all = queries(3);
    let to = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + 14 * 86_400);
    let from = to - Duration::from_secs(14 * 86_400);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (points, failed, calls) = rt.block_on(read_metrics(&cw, &all, from, to, 60, "the test"));
    assert_eq!(calls.calls, 3);
    let mut left_out: Vec<&str> = failed.keys().map(String::as_str).collect();
    left_out.sort_unstable();
    assert_eq!(left_out, ["s1q0m0", "s1q0m1", "s1q0m2", "s1q0m3", "s1t"]);
    assert!(
        failed.values().all(|why| why.contains("Throttling")),
        "{failed:?}"
    );
    assert_eq!(points.len(), 10);
    assert!(points.keys().all(|id| !id.starts_with("s1")), "{points:?}");
}

#[test]
#[ignore = "a benchmark: scripts/bench-assess runs it"]
fn assess_bench_getmetricdata() {
    let services = env("BENCH_ASSESS_SERVICES", 200) as usize;
    let days = env("BENCH_ASSESS_DAYS", 14);
    let delay = Duration::from_millis(env("BENCH_ASSESS_DELAY_MS", 100));
    let [(b_calls, b_wall), (s_calls, s_wall)] = measure(services, days, delay);
    println!(
        "getmetricdata services={services} days={days} metrics={} delay_ms={} at_once={CALLS_AT_ONCE} batched_calls={b_calls} batched_s={:.2} single_calls={s_calls} single_s={:.2}",
        services * 5,
        delay.as_millis(),
        b_wall.as_secs_f64(),
        s_wall.as_secs_f64()
    );
}

/// The peak memory of this process so far (Linux's `VmHWM`), in MB.
fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kb / 1024.0
}

/// One process holding a fleet's reports, as `assess --cluster` does after its reads: every
/// traffic file of BENCH_ASSESS_TRAFFIC_DIR replayed for the `sqs-event-worker` example on one
/// thread a core (`app::assess::aws::on_every_core`), ranked, and drawn as the shareable page;
/// the process's peak memory (the replays running side by side included) and the page's size.
/// scripts/bench-assess builds it in release for the full 14 days.
#[test]
#[ignore = "a benchmark: scripts/bench-assess runs it"]
fn assess_bench_fleet_memory() {
    use replatform::app::assess::aws::on_every_core;
    use replatform::core::assess::{self, recorded, Readiness};
    use replatform::core::cost::Prices;
    use replatform::core::render::builtin_ecs_template;
    use replatform::core::simulate::{Inputs, Setup};

    let dir = std::env::var("BENCH_ASSESS_TRAFFIC_DIR").expect("BENCH_ASSESS_TRAFFIC_DIR");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(root.join("examples/sqs-event-worker/replatform.yaml")).unwrap();
    let config = replatform::core::config::parse(&text).unwrap();
    let ecs = builtin_ecs_template(&config).unwrap().unwrap();
    let prices = Prices::builtin();
    let minutes = files
        .first()
        .map(|f| {
            assess::parse_traffic(&std::fs::read_to_string(f).unwrap())
                .unwrap()
                .minutes()
        })
        .unwrap_or(0);
    let before = peak_mb();
    let started = Instant::now();
    let reports = on_every_core(&files, |path| {
        let traffic = assess::parse_traffic(&std::fs::read_to_string(path).unwrap()).unwrap();
        let inputs = Inputs::new(assess::waves(&traffic), Duration::from_millis(100));
        let setup = Setup::for_queue(&config, &ecs, &inputs, None).unwrap();
        let ready = Readiness {
            ready: true,
            problems: Vec::new(),
        };
        let mut r = assess::assess(&setup, &traffic, &inputs, &prices, ready);
        r.service = path.file_stem().unwrap().to_string_lossy().into_owned();
        r
    });
    let fleet = recorded::Fleet {
        cluster: "bench".into(),
        days: minutes.div_ceil(24 * 60),
        services: recorded::rank(reports),
        unreadable: Vec::new(),
        not_sqs_workers: Vec::new(),
    };
    let page = replatform::experiment::assess_page::page(&fleet, "the bench").unwrap();
    assert_eq!(fleet.services.len(), files.len());
    println!(
        "fleet services={} days={} replay_s={:.1} peak_mb={:.1} before_mb={:.1} page_mb={:.2}",
        fleet.services.len(),
        fleet.days,
        started.elapsed().as_secs_f64(),
        peak_mb(),
        before,
        page.len() as f64 / 1e6
    );
}

//! `replatform cutover` and `rollback` with the real binary against moto: the running
//! worker of the adoption tests (`tests/fixtures/adopt/running_worker.py`: service `prod/orders`
//! of 1 task scaling 0..8, its queue `orders` with a dead-letter queue, made through the APIs)
//! and a config whose `production:` names them. `up` leaves production alone; cutover refuses
//! until the queue's visibility timeout fits; `cutover --stages 50,100 --bake 0s --yes` moves
//! the queue to the function; `rollback --yes` puts the service back; the messages stay.
//! A bake reads moto's CloudWatch (5.2.6 answers the SDK's GetMetricData): the function's errors
//! put into it end the bake and roll back. Some runs go through the test proxy, which counts
//! the requests: each production resource is read once per run. What moto does not model (an
//! interrupt between stages at a chosen moment, a denied call) is in `cutover_recorded.rs`.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName as A;
use serde_json::Value as Json;

use crate::adopt::{moto, running_worker};
use crate::emulator::{block, json, service_dir, stderr, Moto, IMAGE};
use crate::fault_proxy::FaultProxy;

/// Production as the APIs show it: the scalable target's bounds, the desired count, the
/// record tag, the function's mapping on the production queue (state, MaximumConcurrency), and the
/// queue's visible messages.
#[derive(Debug, PartialEq)]
struct Seen {
    min: i32,
    max: i32,
    desired: i32,
    tag: Option<String>,
    mapping: String,
    max_concurrency: Option<i32>,
    visible: String,
}

/// The production service `prod/orders` as the APIs show it: its scalable target's bounds, its
/// desired count and the cutover's record tag.
pub(crate) fn production_service(moto: &Moto) -> (i32, i32, i32, Option<String>) {
    let sdk = moto.sdk();
    let (ecs, aas) = (
        aws_sdk_ecs::Client::new(&sdk),
        aws_sdk_applicationautoscaling::Client::new(&sdk),
    );
    let targets = block(
        aas.describe_scalable_targets()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
            .resource_ids("service/prod/orders")
            .send(),
    )
    .unwrap();
    let t = &targets.scalable_targets()[0];
    let services = block(
        ecs.describe_services()
            .cluster("prod")
            .services("orders")
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send(),
    )
    .unwrap();
    let s = &services.services()[0];
    let tag = s
        .tags()
        .iter()
        .find(|t| t.key() == Some("replatform:cutover"))
        .and_then(|t| t.value())
        .map(str::to_string);
    (t.min_capacity(), t.max_capacity(), s.desired_count(), tag)
}

fn seen(moto: &Moto, queue_url: &str, queue_arn: &str) -> Seen {
    let sdk = moto.sdk();
    let (lambda, sqs) = (
        aws_sdk_lambda::Client::new(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
    );
    let (min, max, desired, tag) = production_service(moto);
    let mappings = block(
        lambda
            .list_event_source_mappings()
            .function_name("it-cut")
            .send(),
    )
    .unwrap();
    let on_prod: Vec<_> = mappings
        .event_source_mappings()
        .iter()
        .filter(|m| m.event_source_arn() == Some(queue_arn))
        .collect();
    assert_eq!(
        on_prod.len(),
        1,
        "one mapping on the production queue: {mappings:?}"
    );
    let attrs = block(
        sqs.get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .send(),
    )
    .unwrap();
    Seen {
        min,
        max,
        desired,
        tag,
        mapping: on_prod[0].state().unwrap_or_default().to_string(),
        max_concurrency: on_prod[0]
            .scaling_config()
            .and_then(|c| c.maximum_concurrency()),
        visible: attrs
            .attributes()
            .and_then(|a| a.get(&A::ApproximateNumberOfMessages))
            .cloned()
            .unwrap_or_default(),
    }
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out))
}

/// The running worker of the adoption tests and a folder whose config names it under
/// `production:` (the queue by AWS's URL, as `validate` wants): moto's queue URL and ARN, AWS's
/// URL, the folder.
struct Production {
    queue_url: String,
    queue_arn: String,
    aws_url: String,
    dir: tempfile::TempDir,
}

fn production(moto: &Moto) -> Production {
    let made = running_worker(moto, &[]);
    let queue_url = made["queue_url"].as_str().unwrap().to_string();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk());
    let queue_arn = block(
        sqs.get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(A::QueueArn)
            .send(),
    )
    .unwrap()
    .attributes()
    .unwrap()[&A::QueueArn]
        .clone();
    let aws_url = format!(
        "https://sqs.eu-west-1.amazonaws.com/{}",
        queue_url.splitn(4, '/').nth(3).unwrap()
    );
    let dir = production_folder(&aws_url);
    Production {
        queue_url,
        queue_arn,
        aws_url,
        dir,
    }
}

/// [`production`] with the queue's visibility timeout raised to fit (180 s) and both stacks up:
/// ready for `cutover`.
fn ready(moto: &Moto) -> Production {
    let p = production(moto);
    visibility_fits(moto, &p.queue_url);
    let out = moto.replatform(p.dir.path(), &["up", "--image-uri", IMAGE, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    p
}

/// The production queue's visibility timeout raised to 180 s, 6 x the function's 30 s, which
/// cutover's check asks for.
fn visibility_fits(moto: &Moto, queue_url: &str) {
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk());
    block(
        sqs.set_queue_attributes()
            .queue_url(queue_url)
            .attributes(A::VisibilityTimeout, "180")
            .send(),
    )
    .unwrap();
}

fn production_folder(queue: &str) -> tempfile::TempDir {
    service_dir("sqs-event-worker", "it-cut", |t| {
        format!("region: eu-west-1\n{t}production:\n  ecs_service: prod/orders\n  queue: {queue}\n")
    })
}

#[test]
fn cutover_moves_the_production_queue_to_lambda_in_stages_and_rollback_puts_the_service_back() {
    let moto = moto();
    let Production {
        queue_url,
        queue_arn,
        aws_url,
        dir,
    } = production(&moto);
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk());
    for i in 0..5 {
        block(
            sqs.send_message()
                .queue_url(&queue_url)
                .message_body(format!("{{\"order\": {i}}}"))
                .send(),
        )
        .unwrap();
    }
    let before = Seen {
        min: 0,
        max: 8,
        desired: 1,
        tag: None,
        mapping: "Disabled".into(),
        max_concurrency: None,
        visible: "5".into(),
    };

    // `up` deploys the disabled mapping and leaves the service and the queue as they are.
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(seen(&moto, &queue_url, &queue_arn), before);
    // `diff` says who consumes the production queue now: the service, the mapping being disabled.
    let out = moto.replatform(dir.path(), &["diff", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stderr(&out).contains(&format!("production queue {aws_url}: consumed by the ECS service (the function's mapping is not enabled)")), "{}", stderr(&out));

    // The queue's visibility timeout (120 s) is below 6 x the function's 30 s: refused, with the
    // fix, exit 1, and production unchanged.
    let out = moto.replatform(
        dir.path(),
        &[
            "cutover", "--stages", "50,100", "--bake", "0s", "--yes", "--output", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["outcome"], "refused", "{r}");
    let checks: Vec<&str> = r["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, vec!["visibility-timeout"], "{r}");
    assert!(
        r["refusals"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("at least 180"),
        "{r}"
    );
    assert!(
        stderr(&out).contains("production was not changed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(seen(&moto, &queue_url, &queue_arn), before);

    // With the timeout raised where the queue is owned, the cutover runs both stages.
    block(
        sqs.set_queue_attributes()
            .queue_url(&queue_url)
            .attributes(A::VisibilityTimeout, "180")
            .send(),
    )
    .unwrap();
    let out = moto.replatform(
        dir.path(),
        &[
            "cutover", "--stages", "50,100", "--bake", "0s", "--yes", "--output", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r: Json = json(&out);
    assert_eq!(r["outcome"], "cut-over", "{r}");
    assert_eq!(
        r["recorded"],
        serde_json::json!({"min": 0, "max": 8, "desired": 1, "scaled": true}),
        "{r}"
    );
    let stages: Vec<(u64, &str, u64, u64)> = r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["percent"].as_u64().unwrap(),
                s["outcome"].as_str().unwrap(),
                s["max_concurrency"].as_u64().unwrap(),
                s["ecs_max"].as_u64().unwrap(),
            )
        })
        .collect();
    // The trigger's max_concurrency (2) is Lambda's ceiling; ECS's max falls from 8 to 4, then 0.
    assert_eq!(stages, vec![(50, "applied", 2, 4), (100, "applied", 2, 0)]);
    let cut = Seen {
        min: 0,
        max: 0,
        desired: 0,
        tag: Some("v1 min=0 max=8 desired=1 stage=100 target=yes".into()),
        mapping: "Enabled".into(),
        max_concurrency: Some(2),
        visible: "5".into(),
    };
    assert_eq!(seen(&moto, &queue_url, &queue_arn), cut);

    // `status` shows the function consuming the production queue.
    let out = moto.replatform(dir.path(), &["status", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let p = &json(&out)["production"];
    assert_eq!(p["mapping"]["state"], "Enabled", "{p}");
    assert!(
        matches!(p["consumers"].as_str(), Some("lambda" | "both")),
        "{p}"
    );
    assert_eq!(
        p["cutover"],
        serde_json::json!({"bounds": {"min": 0, "max": 8, "desired": 1, "scaled": true}, "stage": 100}),
        "{p}"
    );
    let out = moto.replatform(dir.path(), &["status"]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("stage 100% applied; `replatform rollback` restores min 0 max 8 desired 1"),
        "{}",
        text(&out)
    );

    // Run again: every stage is applied already, nothing changes.
    let out = moto.replatform(
        dir.path(),
        &[
            "cutover", "--stages", "50,100", "--bake", "0s", "--yes", "--output", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["continued_from"], 100, "{r}");
    assert!(
        r["stages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["outcome"] == "already-applied"),
        "{r}"
    );
    assert_eq!(seen(&moto, &queue_url, &queue_arn), cut);

    // rollback: the recorded bounds and desired count, the mapping disabled, the record gone; the
    // queue and its five messages stay.
    let proxy = FaultProxy::start(&moto.endpoint);
    let out = moto.replatform_with(
        dir.path(),
        &["rollback", "--yes", "--output", "json"],
        &through(&proxy),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        (
            proxy.seen("DescribeServices"),
            proxy.seen("GetQueueAttributes")
        ),
        (1, 1),
        "rollback reads the service and the queue once"
    );
    let r = json(&out);
    assert_eq!(
        (r["complete"].as_bool(), r["from_stage"].as_u64()),
        (Some(true), Some(100)),
        "{r}"
    );
    // The disabled mapping keeps its last MaximumConcurrency, which the next cutover sets anew.
    let rolled_back = Seen {
        max_concurrency: Some(2),
        ..before
    };
    assert_eq!(seen(&moto, &queue_url, &queue_arn), rolled_back);
    let out = moto.replatform(dir.path(), &["status", "--output", "json"]);
    let p = &json(&out)["production"];
    assert!(
        p["cutover"].is_null() && p["mapping"]["state"] == "Disabled",
        "{p}"
    );

    // A second rollback finds nothing recorded and changes nothing.
    let out = moto.replatform(dir.path(), &["rollback", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stderr(&out).contains("no cutover is recorded"),
        "{}",
        stderr(&out)
    );
    assert_eq!(seen(&moto, &queue_url, &queue_arn), rolled_back);
}

/// The refusals of the issue that moto can show: a missing dead-letter queue and a Lambda stack
/// not deployed, each with exit 1, the fix named, and production unchanged. (The visibility
/// timeout's refusal is in the test above.)
#[test]
fn cutover_refuses_without_a_dead_letter_queue_or_a_deployed_lambda_stack() {
    let moto = moto();
    running_worker(&moto, &[]);
    // The service's queue, as some teams have it: no dead-letter queue; its timeout fits.
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk());
    let made = block(
        sqs.create_queue()
            .queue_name("orders-plain")
            .attributes(A::VisibilityTimeout, "180")
            .send(),
    )
    .unwrap();
    let queue_url = made.queue_url().unwrap().to_string();
    let aws_url = format!(
        "https://sqs.eu-west-1.amazonaws.com/{}",
        queue_url.splitn(4, '/').nth(3).unwrap()
    );
    let dir = production_folder(&aws_url);

    // Nothing deployed: the Lambda stack is named, with `up` as the fix.
    let out = moto.replatform(
        dir.path(),
        &["cutover", "--yes", "--bake", "0s", "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = json(&out);
    let checks: Vec<&str> = r["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, vec!["lambda-stack", "dead-letter"], "{r}");
    assert!(
        r["refusals"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("replatform up"),
        "{r}"
    );
    assert!(
        r["refusals"][1]["fix"]
            .as_str()
            .unwrap()
            .contains("RedrivePolicy"),
        "{r}"
    );
    // In text, each refusal with its fix on stderr.
    let out = moto.replatform(dir.path(), &["cutover", "--yes", "--bake", "0s"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("the Lambda stack is not deployed")
            && err.contains("no dead-letter queue")
            && err.contains("production was not changed"),
        "{err}"
    );

    // Production unchanged: the service's bounds, its count, no record.
    let sdk = moto.sdk();
    let aas = aws_sdk_applicationautoscaling::Client::new(&sdk);
    let t = block(
        aas.describe_scalable_targets()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
            .resource_ids("service/prod/orders")
            .send(),
    )
    .unwrap();
    assert_eq!(
        (
            t.scalable_targets()[0].min_capacity(),
            t.scalable_targets()[0].max_capacity()
        ),
        (0, 8)
    );
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let s = block(
        ecs.describe_services()
            .cluster("prod")
            .services("orders")
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send(),
    )
    .unwrap();
    assert_eq!(s.services()[0].desired_count(), 1);
    assert!(
        s.services()[0].tags().is_empty(),
        "{:?}",
        s.services()[0].tags()
    );
}

/// Without `production:` the refusal says what section to add; with the tool's own ECS stack
/// deployed it is filled in from that stack.
#[test]
fn cutover_without_production_names_the_section_to_add_from_the_ecs_stack() {
    let moto = Moto::start();
    let dir = service_dir("sqs-event-worker", "it-own", |t| {
        format!("region: eu-west-1\n{t}")
    });
    let out = moto.replatform(
        dir.path(),
        &["up", "--image-uri", IMAGE, "--yes", "--only", "ecs"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = moto.replatform(dir.path(), &["cutover", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no `production:` section")
            && err.contains("it-own-ecs")
            && err.contains("ecs_service: ")
            && err.contains("queue: "),
        "{err}"
    );
    let out = moto.replatform(dir.path(), &["rollback", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("no `production:` section"),
        "{}",
        stderr(&out)
    );
}

/// With the real process: SIGINT in the bake of stage 50 exits 130 with the
/// stage reported; the record on the service says stage 50; the next `cutover` continues with
/// stage 100 only, and `rollback` puts the service back.
#[test]
fn cutover_interrupted_in_a_bake_exits_130_and_the_next_run_continues_from_the_record() {
    let moto = moto();
    let Production {
        queue_url,
        queue_arn,
        dir,
        ..
    } = ready(&moto);

    // A bake of ten minutes whose first sample is ten minutes away: the signal comes in it.
    let child = crate::common::replatform(
        &moto.endpoint,
        dir.path(),
        &[
            "cutover",
            "--stages",
            "50,100",
            "--bake",
            "10m",
            "--sample-every",
            "10m",
            "--yes",
            "--output",
            "json",
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let started = std::time::Instant::now();
    while seen(&moto, &queue_url, &queue_arn).tag.as_deref()
        != Some("v1 min=0 max=8 desired=1 stage=50 target=yes")
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(90),
            "stage 50 was never recorded"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["outcome"], "interrupted", "{r}");
    assert_eq!(r["stages"][0]["outcome"], "applied", "{r}");
    assert_eq!(r["stages"][1]["outcome"], "not-reached", "{r}");
    assert!(
        stderr(&out).contains("`replatform cutover` continues")
            && stderr(&out).contains("`replatform rollback`"),
        "{}",
        stderr(&out)
    );
    let half = seen(&moto, &queue_url, &queue_arn);
    assert_eq!(
        (
            half.min,
            half.max,
            half.mapping.as_str(),
            half.max_concurrency
        ),
        (0, 4, "Enabled", Some(2)),
        "{half:?}"
    );

    let out = moto.replatform(
        dir.path(),
        &[
            "cutover", "--stages", "50,100", "--bake", "0s", "--yes", "--output", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["continued_from"], 50, "{r}");
    assert_eq!(r["stages"][0]["outcome"], "already-applied", "{r}");
    assert_eq!(r["stages"][1]["outcome"], "applied", "{r}");
    let cut = seen(&moto, &queue_url, &queue_arn);
    assert_eq!(
        (cut.min, cut.max, cut.desired, cut.tag.as_deref()),
        (
            0,
            0,
            0,
            Some("v1 min=0 max=8 desired=1 stage=100 target=yes")
        )
    );

    let out = moto.replatform(dir.path(), &["rollback", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let back = seen(&moto, &queue_url, &queue_arn);
    assert_eq!(
        (
            back.min,
            back.max,
            back.desired,
            back.tag,
            back.mapping.as_str()
        ),
        (0, 8, 1, None, "Disabled")
    );
}

/// What a person sees without `--yes`, under a pseudo-terminal: each stage's question says what
/// it changes in production and stands alone on screen; `n` stops with the stage reached and
/// exit 1; `rollback` asks, then puts the service back.
#[test]
fn on_a_terminal_each_stage_asks_first_and_no_stops_where_it_is() {
    use crate::terminal::{final_screen_clean, question_alone, Session};
    let moto = moto();
    let Production {
        queue_url,
        queue_arn,
        dir,
        ..
    } = ready(&moto);

    // `n` at the first question: nothing changed, nothing recorded.
    let mut first = Session::start(
        &moto,
        dir.path(),
        &["cutover", "--stages", "50,100", "--bake", "0s"],
    );
    first.wait_for("Go on? [y/N]");
    first.answer("n\n");
    let (code, screen) = first.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains("stopped before stage 50%; production was not changed"),
        "{screen}"
    );
    let untouched = seen(&moto, &queue_url, &queue_arn);
    assert_eq!(
        (untouched.max, untouched.mapping.as_str(), untouched.tag),
        (8, "Disabled", None)
    );

    let mut run = Session::start(
        &moto,
        dir.path(),
        &["cutover", "--stages", "50,100", "--bake", "0s"],
    );
    let screen = run.wait_for("Go on? [y/N]");
    question_alone(&screen, "Go on? [y/N]");
    assert!(screen.contains("stage 50%: enable the mapping on `orders` with MaximumConcurrency 2, then set the scalable target of `prod/orders` to min 0 max 4"), "{screen}");
    assert_eq!(
        seen(&moto, &queue_url, &queue_arn).mapping,
        "Disabled",
        "nothing changes before the answer"
    );
    run.answer("y\n");
    let screen = run.wait_for("stage 100%: enable");
    question_alone(&run.wait_for("stage 100%: enable"), "Go on? [y/N]");
    assert!(
        screen.contains("stage 50%: applied and recorded"),
        "{screen}"
    );
    run.answer("n\n");
    let (code, screen) = run.finish();
    assert_eq!(code, 1, "{screen}");
    final_screen_clean(&screen);
    assert!(
        screen.contains("stopped before stage 100%; production is at stage 50%"),
        "{screen}"
    );
    let half = seen(&moto, &queue_url, &queue_arn);
    assert_eq!(
        (half.max, half.mapping.as_str(), half.tag.as_deref()),
        (
            4,
            "Enabled",
            Some("v1 min=0 max=8 desired=1 stage=50 target=yes")
        )
    );

    let mut back = Session::start(&moto, dir.path(), &["rollback"]);
    let screen = back.wait_for("[y/N]");
    question_alone(
        &screen,
        "Put `prod/orders` back as recorded and stop the function consuming `orders`?",
    );
    back.answer("y\n");
    let (code, screen) = back.finish();
    assert_eq!(code, 0, "{screen}");
    final_screen_clean(&screen);
    let back = seen(&moto, &queue_url, &queue_arn);
    assert_eq!(
        (
            back.min,
            back.max,
            back.desired,
            back.tag,
            back.mapping.as_str()
        ),
        (0, 8, 1, None, "Disabled")
    );
}

/// Puts `value` of the function's `metric` (AWS/Lambda, FunctionName `it-cut`) into moto's
/// CloudWatch, stamped now: what Lambda itself publishes when invocations fail.
fn put_lambda_metric(moto: &Moto, metric: &str, value: f64) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let cw = aws_sdk_cloudwatch::Client::new(&moto.sdk());
    block(
        cw.put_metric_data()
            .namespace("AWS/Lambda")
            .metric_data(
                MetricDatum::builder()
                    .metric_name(metric)
                    .dimensions(
                        Dimension::builder()
                            .name("FunctionName")
                            .value("it-cut")
                            .build(),
                    )
                    .timestamp(std::time::SystemTime::now().into())
                    .value(value)
                    .build(),
            )
            .send(),
    )
    .unwrap();
}

/// A real bake on the emulator's CloudWatch (moto 5.2.6 answers the SDK's GetMetricData):
/// with no figures the stages pass and the queue is cut over; with the function's errors put in,
/// the first sample sees them, the bake breaches and production is put back as recorded.
#[test]
fn a_bake_reads_the_functions_errors_from_cloudwatch_and_rolls_back_on_them() {
    let bake = [
        "cutover",
        "--stages",
        "50,100",
        "--bake",
        "4s",
        "--sample-every",
        "2s",
        "--yes",
        "--output",
        "json",
    ];

    // No figures: both stages bake and pass.
    let moto = moto();
    let Production {
        queue_url,
        queue_arn,
        dir,
        ..
    } = ready(&moto);
    let proxy = FaultProxy::start(&moto.endpoint);
    let out = moto.replatform_with(dir.path(), &bake, &through(&proxy));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Each production resource read once for the run, the mapping once per stage as it settles,
    // the queues and CloudWatch once per sample (two stages of two samples).
    assert_eq!(
        reads(&proxy),
        reads_of(&[
            ("DescribeServices", 1),
            ("DescribeScalableTargets", 1),
            ("GetQueueAttributes", 1 + 2 * 4),
            ("GetQueueUrl", 1),
            ("ListEventSourceMappings", 1),
            ("GetEventSourceMapping", 2),
            ("GetFunction", 1),
            ("GetFunctionConcurrency", 1),
            ("GetAccountSettings", 1),
            ("GetMetricData", 4),
            ("DescribeStacks", 1),
            ("ListStackResources", 1),
            ("GetTemplate", 1),
        ])
    );
    let r = json(&out);
    assert_eq!(r["outcome"], "cut-over", "{r}");
    for stage in r["stages"].as_array().unwrap() {
        let samples = stage["bake"]["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 2, "two samples in a 4 s bake: {r}");
        assert!(samples.iter().all(|s| s["errors"] == 0), "{r}");
    }
    assert_eq!(seen(&moto, &queue_url, &queue_arn).mapping, "Enabled");

    // Three errors of the function in CloudWatch: stage 50's first sample counts them.
    let moto = self::moto();
    let Production {
        queue_url,
        queue_arn,
        dir,
        ..
    } = ready(&moto);
    let before = seen(&moto, &queue_url, &queue_arn);
    put_lambda_metric(&moto, "Errors", 3.0);
    let proxy = FaultProxy::start(&moto.endpoint);
    let out = moto.replatform_with(dir.path(), &bake, &through(&proxy));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["outcome"], "rolled-back", "{r}");
    assert_eq!(r["stages"][0]["bake"]["samples"][0]["errors"], 3, "{r}");
    assert_eq!(r["stages"][1]["outcome"], "not-reached", "{r}");
    let after = seen(&moto, &queue_url, &queue_arn);
    assert_eq!(
        (after.min, after.max, after.desired, after.tag.as_deref()),
        (before.min, before.max, before.desired, None),
        "production as before: {after:?}"
    );
    assert_eq!(after.mapping, "Disabled", "{after:?}");
    // The rollback restores from what the run recorded, without reading the service again; the
    // mapping is read as stage 50 settles, then for its state and as it settles disabled.
    assert_eq!(
        reads(&proxy),
        reads_of(&[
            ("DescribeServices", 1),
            ("DescribeScalableTargets", 1),
            ("GetQueueAttributes", 1 + 2),
            ("GetQueueUrl", 1),
            ("ListEventSourceMappings", 1),
            ("GetEventSourceMapping", 3),
            ("GetFunction", 1),
            ("GetFunctionConcurrency", 1),
            ("GetAccountSettings", 1),
            ("GetMetricData", 1),
            ("DescribeStacks", 1),
            ("ListStackResources", 1),
            ("GetTemplate", 1),
        ])
    );
}

/// The environment that sends a run's requests through `proxy`, which counts them by action.
fn through(proxy: &FaultProxy) -> [(&'static str, String); 1] {
    [("AWS_ENDPOINT_URL", proxy.endpoint.clone())]
}

/// The reads that came through `proxy`, by API call (Lambda's REST paths named as its API
/// reference names them); the changes are left to the assertions on production's state.
fn reads(proxy: &FaultProxy) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (action, n) in proxy.counts() {
        let call = match action.split_once(' ') {
            Some(("GET", path)) if path.contains("/event-source-mappings?") => {
                "ListEventSourceMappings"
            }
            Some(("GET", path)) if path.contains("/event-source-mappings/") => {
                "GetEventSourceMapping"
            }
            Some(("GET", path)) if path.ends_with("/concurrency") => "GetFunctionConcurrency",
            Some(("GET", path)) if path.contains("/account-settings") => "GetAccountSettings",
            Some(("GET", path)) if path.contains("/functions/") => "GetFunction",
            Some((_, path)) if path.ends_with("/operation/GetMetricData") => "GetMetricData",
            Some(_) => continue,
            None if action.starts_with("Describe")
                || action.starts_with("Get")
                || action.starts_with("List") =>
            {
                action.as_str()
            }
            None => continue,
        };
        *out.entry(call.to_string()).or_default() += n;
    }
    out
}

fn reads_of(calls: &[(&str, usize)]) -> BTreeMap<String, usize> {
    calls.iter().map(|(c, n)| (c.to_string(), *n)).collect()
}

/// A worker on Kubernetes (`production.k8s`): the same production queue and function, with the
/// ScaledObject served over HTTP from the API's recorded answers (tests/it/k8s_api.rs) and found
/// through a kubeconfig whose named context is not its current one. A ScaledObject paused by
/// someone else is refused; `cutover` lowers its bounds then pauses it; `status` reads the
/// replicas and the record; `rollback` restores it. The ECS service beside it is never touched,
/// and the kubeconfig's token shows nowhere.
#[test]
fn on_kubernetes_cutover_pauses_the_scaled_object_through_the_kubeconfig_and_rollback_restores_it()
{
    use crate::k8s_api::{KedaApi, TOKEN};

    let moto = moto();
    let p = production(&moto);
    visibility_fits(&moto, &p.queue_url);
    let dir = service_dir("sqs-event-worker", "it-cut", |t| {
        format!(
            "region: eu-west-1\n{t}production:\n  k8s:\n    context: shop-eks\n    namespace: shop\n    deployment: orders-worker\n    scaled_object: orders\n  queue: {}\n",
            p.aws_url
        )
    });
    let journal = std::sync::Arc::default();
    let api = KedaApi::new(std::sync::Arc::clone(&journal));
    let url = api.serve();
    let kube = [(
        "KUBECONFIG",
        KedaApi::kubeconfig(dir.path(), &url)
            .to_string_lossy()
            .into_owned(),
    )];
    let run = |args: &[&str]| {
        let out = moto.replatform_with(dir.path(), args, &kube);
        assert!(
            !text(&out).contains(TOKEN),
            "the token shows: {}",
            text(&out)
        );
        out
    };
    let ecs_before = production_service(&moto);
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Paused by someone else: refused, nothing changed.
    api.with(|s| {
        s.scaled_object.as_mut().unwrap()["metadata"]["annotations"]
            ["autoscaling.keda.sh/paused-replicas"] = "2".into()
    });
    let cut = [
        "cutover", "--stages", "50,100", "--bake", "0s", "--yes", "--output", "json",
    ];
    let out = run(&cut);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["refusals"][0]["check"], "production-paused", "{r}");
    assert!(
        r["refusals"][0]["fix"].as_str().unwrap().contains(
            "kubectl annotate scaledobject -n shop orders autoscaling.keda.sh/paused-replicas-"
        ),
        "{r}"
    );
    assert!(journal.lock().unwrap().is_empty());
    api.with(|s| {
        s.scaled_object.as_mut().unwrap()["metadata"]["annotations"]
            .as_object_mut()
            .unwrap()
            .remove("autoscaling.keda.sh/paused-replicas");
    });

    let out = run(&cut);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["outcome"], "cut-over", "{r}");
    assert_eq!(
        r["recorded"],
        serde_json::json!({"min": 1, "max": 10, "desired": 4, "scaled": true}),
        "{r}"
    );
    assert_eq!(r["site"]["k8s"]["scaled_object"], "orders", "{r}");
    assert_eq!(
        journal.lock().unwrap().clone(),
        vec![
            "record v1 min=1 max=10 desired=4 stage=0 target=yes",
            "replicas 1..5",
            "record v1 min=1 max=10 desired=4 stage=50 target=yes",
            "pause at 0",
            "record v1 min=1 max=10 desired=4 stage=100 target=yes",
        ]
    );
    let mapping = seen(&moto, &p.queue_url, &p.queue_arn);
    assert_eq!(
        (mapping.mapping.as_str(), mapping.max_concurrency),
        ("Enabled", Some(2))
    );
    assert_eq!(production_service(&moto), ecs_before, "ECS is not touched");
    // Every call carried the named context's token, none went to the current context's server.
    let auth = api.state.lock().unwrap().authorizations.clone();
    assert!(!auth.is_empty() && auth.iter().all(|a| a == &format!("Bearer {TOKEN}")));

    // status reads the Deployment's replicas and the record from the ScaledObject.
    let out = run(&["status", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = &json(&out)["production"];
    assert_eq!(s["k8s"]["deployment"], "orders-worker", "{s}");
    assert_eq!(s["cutover"]["stage"], 100, "{s}");
    assert_eq!(
        s["service"]["desired"], 4,
        "the recorded Deployment still says 4: {s}"
    );
    let out = run(&["status"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("deployment shop/orders-worker: 4 desired"),
        "{}",
        text(&out)
    );

    let out = run(&["rollback", "--yes", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["complete"], true);
    assert_eq!(api.bounds(), (1, 10));
    assert!(api.annotations().is_empty(), "{:?}", api.annotations());
    assert_eq!(seen(&moto, &p.queue_url, &p.queue_arn).mapping, "Disabled");

    // Without the kubeconfig: a clear refusal, exit 1.
    let out = moto.replatform_with(
        dir.path(),
        &cut,
        &[(
            "KUBECONFIG",
            dir.path().join("nowhere").to_string_lossy().into_owned(),
        )],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("cannot reach Kubernetes"),
        "{}",
        text(&out)
    );
}

//! A worker of three queues (`queues:`, one FIFO) with the real binary against moto: `up` makes
//! every queue on both platforms, `load` fills each, `compare --for` samples each (the depth per
//! queue and summed), `status` shows each, `--queue NAME` picks one (an unknown name is exit 1,
//! nothing sent), `down` refuses while any entry's queue holds a message. That worker is the
//! polling example under the `schedule` trigger: moto invokes a function on a send to a queue
//! it has an enabled mapping on, and fails without Docker. Then a production service consuming
//! three queues (`tests/fixtures/several_queues/running_worker.py`, made through the APIs) and
//! the event example under the `sqs` trigger: cut over (`cutover --bake 0s --yes`: every
//! production mapping enabled, the service at 0) and rolled back (`rollback --yes`: every
//! mapping disabled, the service as recorded); a bake that breaches rolls every mapping back on
//! its own; and no message is lost.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName as A;
use serde_json::Value as Json;

use crate::emulator::{block, json, service_dir, stderr, Moto, IMAGE};

const NAMES: [&str; 3] = ["events", "orders", "payments"];

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out))
}

/// The production service of three queues; what the fixture made.
fn running_worker(moto: &Moto) -> Json {
    crate::adopt::fixture("several_queues/running_worker.py", &[&moto.endpoint])
}

/// AWS's URL of a queue moto made (`validate` wants AWS's form under `production:`).
fn aws_url(moto_url: &str) -> String {
    format!(
        "https://sqs.eu-west-1.amazonaws.com/{}",
        moto_url.splitn(4, '/').nth(3).unwrap()
    )
}

/// An example's config with its one `queue:` made three (`payments` FIFO), and with `made`,
/// `production:` naming the service and its three queues.
fn folder(example: &str, service: &str, made: Option<&Json>) -> tempfile::TempDir {
    let production: String = match made {
        None => String::new(),
        Some(made) => {
            let queues: String = NAMES
                .iter()
                .map(|k| {
                    format!(
                        "    {k}: {}\n",
                        aws_url(made["queues"][k]["url"].as_str().unwrap())
                    )
                })
                .collect();
            format!("production:\n  ecs_service: prod/orders\n  queues:\n{queues}")
        }
    };
    service_dir(example, service, |t| {
        let (start, end) = (t.find("\nqueue:\n").unwrap(), t.find("\necs:\n").unwrap());
        let queues = "\nqueues:\n  orders:\n    url_env: ORDERS_QUEUE_URL\n    visibility_timeout: 180s\n  events:\n    url_env: EVENTS_QUEUE_URL\n    visibility_timeout: 180s\n  payments:\n    url_env: PAYMENTS_QUEUE_URL\n    visibility_timeout: 180s\n    fifo: true\n";
        // Three mappings of MaximumConcurrency 2 fit in a reservation of 6.
        let t = format!("{}{queues}{}", &t[..start], &t[end..])
            .replace("reserved_concurrency: 5", "reserved_concurrency: 6");
        format!("region: eu-west-1\n{t}{production}")
    })
}

/// Every message a queue holds: visible, in flight and delayed.
fn held(moto: &Moto, url: &str) -> u64 {
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk());
    let out = block(
        sqs.get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::All)
            .send(),
    )
    .unwrap();
    let a = out.attributes().unwrap();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
        A::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .map(|k| a.get(k).map_or(0, |v| v.parse::<u64>().unwrap()))
    .sum()
}

/// Each stack's queues as `status --output json` lists them: (kind, name) -> URL.
fn stack_queues(status: &Json) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for s in status["stacks"].as_array().unwrap() {
        for q in s["queues"].as_array().unwrap() {
            out.insert(
                (
                    s["kind"].as_str().unwrap().to_string(),
                    q["name"].as_str().unwrap().to_string(),
                ),
                q["url"].as_str().unwrap().to_string(),
            );
        }
    }
    out
}

/// Production as the APIs show it: the scalable target's bounds, the desired count, the record
/// tag, and each production queue's mapping (state, MaximumConcurrency).
#[derive(Debug, PartialEq)]
struct Seen {
    min: i32,
    max: i32,
    desired: i32,
    tag: Option<String>,
    mappings: Vec<(String, Option<i32>)>,
}

fn seen(moto: &Moto, made: &Json) -> Seen {
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk());
    let (min, max, desired, tag) = crate::cutover::production_service(moto);
    let all = block(
        lambda
            .list_event_source_mappings()
            .function_name("it-many")
            .send(),
    )
    .unwrap();
    let mappings = NAMES
        .iter()
        .map(|k| {
            let arn = made["queues"][k]["arn"].as_str().unwrap();
            let on: Vec<_> = all
                .event_source_mappings()
                .iter()
                .filter(|m| m.event_source_arn() == Some(arn))
                .collect();
            assert_eq!(on.len(), 1, "one mapping on production queue {k}: {all:?}");
            (
                on[0].state().unwrap_or_default().to_string(),
                on[0].scaling_config().and_then(|c| c.maximum_concurrency()),
            )
        })
        .collect();
    Seen {
        min,
        max,
        desired,
        tag,
        mappings,
    }
}

#[test]
fn a_worker_of_three_queues_is_deployed_loaded_and_sampled_and_down_keeps_them_while_full() {
    let moto = Moto::start();
    let dir = folder("sqs-worker", "it-three", None);
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE, "--yes", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = moto.replatform(dir.path(), &["status", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = json(&out);
    let queues = stack_queues(&status);
    assert_eq!(queues.len(), 6, "three queues a platform: {status}");
    for kind in ["ecs", "lambda"] {
        for k in NAMES {
            let url = &queues[&(kind.to_string(), k.to_string())];
            assert_eq!(url.ends_with(".fifo"), k == "payments", "{url}");
        }
    }

    // `--queue` with a name the config does not have: exit 1, the names listed, nothing sent.
    let out = moto.replatform(dir.path(), &["load", "--count", "5", "--queue", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out)
            .contains("`nope` is not one of this worker's queues (events, orders, payments)"),
        "{}",
        stderr(&out)
    );
    assert!(queues.values().all(|u| held(&moto, u) == 0));

    // `load`: the plan to every queue of both platforms; `--queue` to one.
    let out = moto.replatform(dir.path(), &["load", "--count", "10", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = json(&out);
    assert_eq!(
        (report["sent"].as_u64(), report["failed"].as_u64()),
        (Some(60), Some(0)),
        "{report}"
    );
    let out = moto.replatform(
        dir.path(),
        &[
            "load", "--count", "3", "--queue", "payments", "--output", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["sent"].as_u64(), Some(6));
    let expected = |k: &str| if k == "payments" { 13 } else { 10 };
    for ((_, k), url) in &queues {
        assert_eq!(held(&moto, url), expected(k), "{k}: {url}");
    }

    // `status` in words: each queue of each stack, each production queue and its mapping.
    let out = moto.replatform(dir.path(), &["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    for k in NAMES {
        assert!(shown.contains(&format!("{k}: ")), "{shown}");
    }
    let out = moto.replatform(
        dir.path(),
        &["status", "--queue", "orders", "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stack_queues(&json(&out)).len(), 2);

    // `compare --for`: each platform sampled as the sum of its queues, each queue's depth beside.
    let files = tempfile::tempdir().unwrap();
    let out_dir = files.path().join("run");
    let out = moto.replatform(
        dir.path(),
        &[
            "compare",
            "--for",
            "3s",
            "--interval",
            "1s",
            "--out",
            out_dir.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let csv = std::fs::read_to_string(out_dir.join("samples.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header = rows.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (platform, visible, in_flight, depths) = (
        col("platform"),
        col("visible"),
        col("in_flight"),
        col("queue_depths"),
    );
    let mut sampled = 0;
    for r in rows.records() {
        let r = r.unwrap();
        let sum: u64 = r[visible].parse::<u64>().unwrap() + r[in_flight].parse::<u64>().unwrap();
        assert_eq!(sum, 33, "{} sampled as the sum: {r:?}", &r[platform]);
        assert_eq!(&r[depths], "events=10 orders=10 payments=13", "{r:?}");
        sampled += 1;
    }
    assert!(sampled >= 2, "{csv}");
    let summary: Json =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap())
            .unwrap();
    let deployed = summary["deployed"].as_array().unwrap();
    assert!(
        deployed
            .iter()
            .all(|d| d["queues"].as_array().unwrap().len() == 3),
        "{summary}"
    );

    // `down` refuses while any entry's queue holds a message, and names each.
    let out = moto.replatform(dir.path(), &["down", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for id in ["EventsQueue", "OrdersQueue", "PaymentsQueue"] {
        assert!(
            stderr(&out).contains(&format!("`{id}`")),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_service_of_three_queues_is_cut_over_and_rolled_back_and_no_message_is_lost() {
    let moto = crate::adopt::moto();
    let made = running_worker(&moto);
    let dir = folder("sqs-event-worker", "it-many", Some(&made));
    let production: Vec<String> = NAMES
        .iter()
        .map(|k| made["queues"][k]["url"].as_str().unwrap().to_string())
        .collect();
    // Two messages in each production queue, which nothing here consumes until the cutover.
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk());
    for (k, url) in NAMES.iter().zip(&production) {
        for i in 0..2 {
            let mut send = sqs
                .send_message()
                .queue_url(url)
                .message_body(format!("{{\"{k}\": {i}}}"));
            if url.ends_with(".fifo") {
                send = send
                    .message_group_id(format!("g{i}"))
                    .message_deduplication_id(format!("{k}-{i}"));
            }
            block(send.send()).unwrap();
        }
    }

    // `up`: every queue on both platforms, the production mappings disabled.
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = Seen {
        min: 0,
        max: 8,
        desired: 1,
        tag: None,
        mappings: vec![("Disabled".into(), None); 3],
    };
    assert_eq!(seen(&moto, &made), before);
    // `diff` names every production queue and who consumes them.
    let out = moto.replatform(dir.path(), &["diff", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let urls: Vec<String> = production.iter().map(|u| aws_url(u)).collect();
    assert!(
        stderr(&out).contains(&format!(
            "production queues {}: consumed by the ECS service",
            urls.join(", ")
        )),
        "{}",
        stderr(&out)
    );
    let out = moto.replatform(dir.path(), &["status", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = json(&out);
    assert_eq!(stack_queues(&status).len(), 6, "{status}");
    let p = &status["production"];
    let names: Vec<&str> = p["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, NAMES, "{p}");
    assert!(
        p["queues"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["mapping"]["state"] == "Disabled" && q["depth"]["visible"] == 2),
        "{p}"
    );

    // `cutover`: every production mapping enabled, stage by stage, the service to 0.
    let out = moto.replatform(
        dir.path(),
        &[
            "cutover", "--stages", "50,100", "--bake", "0s", "--yes", "--output", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["outcome"], "cut-over", "{r}");
    assert_eq!(r["queues"].as_array().unwrap().len(), 3, "{r}");
    let stages: Vec<(u64, &str, u64)> = r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["percent"].as_u64().unwrap(),
                s["outcome"].as_str().unwrap(),
                s["ecs_max"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(stages, vec![(50, "applied", 4), (100, "applied", 0)]);
    let cut = Seen {
        min: 0,
        max: 0,
        desired: 0,
        tag: Some("v1 min=0 max=8 desired=1 stage=100 target=yes".into()),
        mappings: vec![("Enabled".into(), Some(2)); 3],
    };
    assert_eq!(seen(&moto, &made), cut);
    let out = moto.replatform(dir.path(), &["status", "--output", "json"]);
    let p = &json(&out)["production"];
    assert!(
        matches!(p["consumers"].as_str(), Some("lambda" | "both")),
        "{p}"
    );

    // `rollback`: the service as recorded, every mapping disabled, the record gone.
    let out = moto.replatform(dir.path(), &["rollback", "--yes", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["complete"], true, "{r}");
    let disabled = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["what"].as_str().unwrap().starts_with("mapping on"))
        .count();
    assert_eq!(disabled, 3, "{r}");
    // Disabled, each mapping keeps the MaximumConcurrency it was given (as with one queue).
    let rolled_back = Seen {
        mappings: vec![("Disabled".into(), Some(2)); 3],
        ..before
    };
    assert_eq!(seen(&moto, &made), rolled_back);

    // A bake that breaches (three errors of the function in CloudWatch, counted once, not once a
    // queue): the automatic rollback restores the service and disables every mapping.
    put_lambda_errors(&moto, 3.0);
    let out = moto.replatform(
        dir.path(),
        &[
            "cutover",
            "--stages",
            "50,100",
            "--bake",
            "2s",
            "--sample-every",
            "1s",
            "--yes",
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["outcome"], "rolled-back", "{r}");
    assert_eq!(r["stages"][0]["bake"]["samples"][0]["errors"], 3, "{r}");
    assert_eq!(r["rollback"]["complete"], true, "{r}");
    assert_eq!(seen(&moto, &made), rolled_back);

    // Cut over again, then `events` taken out of the config before any `up`: `rollback` still
    // stops the function consuming that production queue (no queue stays consumed unasked).
    let out = moto.replatform(
        dir.path(),
        &["cutover", "--stages", "100", "--bake", "0s", "--yes", "-q"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        seen(&moto, &made).mappings,
        vec![("Enabled".into(), Some(2)); 3]
    );
    let file = dir.path().join("replatform.yaml");
    let config = std::fs::read_to_string(&file).unwrap();
    let events_url = aws_url(made["queues"]["events"]["url"].as_str().unwrap());
    let fewer = config
        .replace(
            "  events:\n    url_env: EVENTS_QUEUE_URL\n    visibility_timeout: 180s\n",
            "",
        )
        .replace(&format!("    events: {events_url}\n"), "");
    assert_ne!(fewer, config);
    std::fs::write(&file, fewer).unwrap();
    let out = moto.replatform(dir.path(), &["rollback", "--yes", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json(&out);
    assert!(
        r["steps"].as_array().unwrap().iter().any(|s| s["what"]
            .as_str()
            .unwrap()
            .starts_with("mapping on `orders-events` disabled")),
        "{r}"
    );
    assert_eq!(seen(&moto, &made), rolled_back);

    // No message lost: each production queue (with its dead-letter queue) holds its two, each
    // stack queue what was sent to it.
    for k in NAMES {
        let q = &made["queues"][k];
        let n = held(&moto, q["url"].as_str().unwrap())
            + held(&moto, q["dead_letter_url"].as_str().unwrap());
        assert_eq!(n, 2, "production queue {k}");
    }
}

/// Errors of the function in moto's CloudWatch now, as Lambda would publish it.
fn put_lambda_errors(moto: &Moto, value: f64) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let cw = aws_sdk_cloudwatch::Client::new(&moto.sdk());
    block(
        cw.put_metric_data()
            .namespace("AWS/Lambda")
            .metric_data(
                MetricDatum::builder()
                    .metric_name("Errors")
                    .dimensions(
                        Dimension::builder()
                            .name("FunctionName")
                            .value("it-many")
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

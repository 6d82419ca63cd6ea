//! `replatform local` end to end with the Docker engine and moto: both examples' images (on the
//! local Python base that `scripts/local-base` makes without registry pulls) pass on both
//! platforms and leave their queues empty; the event source mapping leaves exactly the items a
//! handler reports as failed; and a wrong working directory, a missing entry point, a handler
//! that writes to `/` and one that outlives its timeout each fail with the matching message and
//! the field to fix.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use aws_sdk_sqs::types::QueueAttributeName;

use crate::common::{platform, repo};
use crate::emulator::{block, json, stderr, Moto};

/// The local Python base, made once per machine (about a minute the first time).
pub(crate) fn base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let out = Command::new(repo().join("scripts/local-base"))
            .output()
            .expect("scripts/local-base runs");
        assert!(
            out.status.success(),
            "scripts/local-base: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

/// An example in a folder of its own, built on the local base, edited by `edit`.
fn example(name: &str, service: &str, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("examples").join(name);
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let config = dir.path().join("replatform.yaml");
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        &format!("service: {name}"),
        &format!("service: {service}"),
        1,
    );
    let text = text.replacen(
        "image:\n",
        &format!("image:\n  build_args: {{BASE_IMAGE: {}}}\n", base()),
        1,
    );
    std::fs::write(&config, edit(text)).unwrap();
    dir
}

pub(crate) fn sqs(moto: &Moto) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&moto.sdk())
}

/// A queue of the test's own: moto invokes the function of a queue with an SQS trigger on every
/// send (pitfalls.md), so the `sqs` trigger's runs use a plain queue.
fn plain_queue(moto: &Moto, name: &str) -> String {
    block(sqs(moto).create_queue().queue_name(name).send())
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string()
}

/// (visible, in flight) of a queue.
pub(crate) fn counts(sqs: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    let out = block(
        sqs.get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send(),
    )
    .unwrap();
    let a = out.attributes().unwrap();
    (
        a[&QueueAttributeName::ApproximateNumberOfMessages]
            .parse()
            .unwrap(),
        a[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible]
            .parse()
            .unwrap(),
    )
}

fn local(moto: &Moto, dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["local", "--output", "json"];
    all.extend_from_slice(args);
    moto.replatform(dir, &all)
}

#[test]
fn both_examples_pass_on_both_platforms_and_drain_their_queues() {
    let moto = Moto::start();

    // The polling worker, against its deployed stacks' queues (its Lambda runs on a schedule).
    let dir = example("sqs-worker", "it-local-poll", |t| t);
    assert_eq!(
        moto.replatform(dir.path(), &["up", "--image-uri", crate::emulator::IMAGE])
            .status
            .code(),
        Some(0)
    );
    let out = local(&moto, dir.path(), &["--messages", "6"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    for name in ["ecs", "lambda"] {
        let p = platform(&doc, name);
        assert_eq!(p["verdict"], "pass", "{p}");
        assert_eq!(
            (p["messages_done"].as_u64(), p["messages_left"].as_u64()),
            (Some(6), Some(0)),
            "{p}"
        );
    }
    let lambda = platform(&doc, "lambda");
    assert!(lambda["init_ms"].as_u64().is_some(), "{lambda}");
    assert_eq!(lambda["invocations"][0]["result"], "ok");
    assert_eq!(
        platform(&doc, "ecs")["exit_code"],
        0,
        "the task stops cleanly on SIGTERM"
    );

    // The handler written for Lambda's SQS event, with its trigger played by `local`.
    let queue = plain_queue(&moto, "it-local-event");
    let dir = example("sqs-event-worker", "it-local-event", |t| t);
    let out = local(
        &moto,
        dir.path(),
        &["--queue-url", &queue, "--messages", "12"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    for name in ["ecs", "lambda"] {
        let p = platform(&doc, name);
        assert_eq!(p["verdict"], "pass", "{p}");
        assert_eq!(p["messages_done"].as_u64(), Some(12), "{p}");
    }
    let invocations = platform(&doc, "lambda")["invocations"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        invocations
            .iter()
            .map(|i| i["messages"].as_u64().unwrap())
            .sum::<u64>(),
        12
    );
    assert!(
        invocations
            .iter()
            .all(|i| i["messages"].as_u64().unwrap() <= 10),
        "batch_size is 10: {invocations:?}"
    );
    assert_eq!(counts(&sqs(&moto), &queue), (0, 0), "the messages are gone");
}

#[test]
fn the_event_source_mapping_leaves_exactly_the_failed_items() {
    let moto = Moto::start();
    let queue = plain_queue(&moto, "it-local-partial");
    for body in ["one", "poison", "two", "poison", "three"] {
        block(
            sqs(&moto)
                .send_message()
                .queue_url(&queue)
                .message_body(body)
                .send(),
        )
        .unwrap();
    }
    let dir = example("sqs-event-worker", "it-local-partial", |t| t);
    let out = local(
        &moto,
        dir.path(),
        &["--only", "lambda", "--queue-url", &queue],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "two items failed: {}",
        stderr(&out)
    );
    let p = platform(&json(&out), "lambda").clone();
    assert_eq!(p["invocations"][0]["messages"], 5);
    assert_eq!(p["invocations"][0]["failed_items"], 2);
    assert_eq!(
        (p["messages_done"].as_u64(), p["messages_failed"].as_u64()),
        (Some(3), Some(2))
    );
    // The three that succeeded are deleted; the two reported stay, invisible until their
    // visibility timeout ends, as after Lambda's own event source mapping.
    assert_eq!(counts(&sqs(&moto), &queue), (0, 2));
    assert!(
        stderr(&out).contains("the handler reported 2 messages as failed"),
        "{}",
        stderr(&out)
    );
}

/// Runs the event worker's Lambda side with one message; the report and stderr.
fn fails(
    moto: &Moto,
    name: &str,
    edit: impl Fn(String) -> String,
    app: impl Fn(String) -> String,
) -> (serde_json::Value, String) {
    let queue = plain_queue(moto, name);
    let dir = example("sqs-event-worker", name, edit);
    let app_py = dir.path().join("app.py");
    std::fs::write(&app_py, app(std::fs::read_to_string(&app_py).unwrap())).unwrap();
    let out = local(
        moto,
        dir.path(),
        &["--only", "lambda", "--queue-url", &queue, "--messages", "1"],
    );
    assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
    (platform(&json(&out), "lambda").clone(), stderr(&out))
}

#[test]
fn a_broken_image_fails_with_the_runtimes_error_and_the_field_to_fix() {
    let moto = Moto::start();
    let same = |t: String| t;

    let (p, _) = fails(
        &moto,
        "it-local-workdir",
        |t| t.replace("working_directory: /app", "working_directory: /srv"),
        same,
    );
    assert!(
        p["problem"]
            .as_str()
            .unwrap()
            .contains("Runtime.ImportModuleError"),
        "{p}"
    );
    assert!(
        p["hint"]
            .as_str()
            .unwrap()
            .contains("lambda.working_directory"),
        "{p}"
    );

    let (p, _) = fails(
        &moto,
        "it-local-entry",
        |t| {
            t.replace(
                r#"entry_point: ["/usr/local/bin/python", "-m", "awslambdaric"]"#,
                r#"entry_point: ["/usr/local/bin/nope"]"#,
            )
        },
        same,
    );
    assert!(
        p["problem"]
            .as_str()
            .unwrap()
            .contains("ended before it asked for an event"),
        "{p}"
    );
    assert!(
        p["hint"].as_str().unwrap().contains("lambda.entry_point"),
        "{p}"
    );

    let writes = |a: String| {
        a.replacen(
            "    failures = []\n",
            "    open(\"/state.json\", \"w\").write(\"{}\")\n    failures = []\n",
            1,
        )
    };
    let (p, _) = fails(&moto, "it-local-write", same, writes);
    assert!(
        p["problem"]
            .as_str()
            .unwrap()
            .contains("Read-only file system"),
        "{p}"
    );
    assert!(
        p["hint"]
            .as_str()
            .unwrap()
            .contains("only /tmp is writable"),
        "{p}"
    );

    let slow = |a: String| {
        a.replacen(
            "    failures = []\n",
            "    import time; time.sleep(6)\n    failures = []\n",
            1,
        )
    };
    let (p, err) = fails(
        &moto,
        "it-local-slow",
        |t| t.replace("timeout: 30s ", "timeout: 2s  "),
        slow,
    );
    assert_eq!(p["invocations"][0]["result"], "timeout", "{p}");
    assert!(
        p["problem"]
            .as_str()
            .unwrap()
            .contains("Task timed out after 2.00 seconds"),
        "{p}"
    );
    assert!(
        p["hint"].as_str().unwrap().contains("lambda.timeout"),
        "{p}"
    );
    assert!(err.contains("lambda: Task timed out"), "{err}");
}

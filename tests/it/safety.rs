//! Losing nothing, against moto: faults injected by a proxy across `up`, `diff` and `down`;
//! SIGINT and SIGTERM at several points, then a run that converges; `down` with messages in
//! any state; a queue replacement refused with `--yes`. Each ends in success or a clear error,
//! and a clean run afterwards converges.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

use crate::common;
use crate::emulator::{block, json, service_dir, stderr, Moto, IMAGE};
use crate::fault_proxy::{rule, Fault, FaultProxy, Rule};

const SERVICE_PREFIX: &str = "it-safe";

fn through(proxy: &FaultProxy) -> Vec<(&'static str, String)> {
    // The SDK's own retries answer the faults: four attempts, its standard backoff.
    vec![
        ("AWS_ENDPOINT_URL", proxy.endpoint.clone()),
        ("AWS_MAX_ATTEMPTS", "4".into()),
    ]
}

struct Aws {
    cfn: aws_sdk_cloudformation::Client,
    sqs: aws_sdk_sqs::Client,
}

impl Aws {
    fn new(moto: &Moto) -> Self {
        let c = moto.sdk();
        Self {
            cfn: aws_sdk_cloudformation::Client::new(&c),
            sqs: aws_sdk_sqs::Client::new(&c),
        }
    }

    fn status(&self, stack: &str) -> Option<String> {
        block(self.cfn.describe_stacks().stack_name(stack).send())
            .ok()
            .and_then(|o| {
                o.stacks()
                    .first()
                    .and_then(|s| s.stack_status().map(|s| s.as_str().to_string()))
            })
    }

    /// Change sets not executed (moto also lists executed ones; CloudFormation removes them).
    fn change_sets(&self, stack: &str) -> usize {
        block(self.cfn.list_change_sets().stack_name(stack).send())
            .map(|o| {
                o.summaries()
                    .iter()
                    .filter(|c| {
                        c.execution_status()
                            == Some(&aws_sdk_cloudformation::types::ExecutionStatus::Available)
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    fn queue(&self, stack: &str, logical: &str) -> Option<String> {
        let out = block(self.cfn.list_stack_resources().stack_name(stack).send()).ok()?;
        out.stack_resource_summaries()
            .iter()
            .find(|r| r.logical_resource_id() == Some(logical))
            .and_then(|r| r.physical_resource_id().map(str::to_string))
    }

    fn queues(&self, prefix: &str) -> Vec<String> {
        block(self.sqs.list_queues().queue_name_prefix(prefix).send())
            .unwrap()
            .queue_urls()
            .to_vec()
    }

    fn send(&self, url: &str, body: &str) {
        block(
            self.sqs
                .send_message()
                .queue_url(url)
                .message_body(body)
                .send(),
        )
        .unwrap();
    }

    fn depth(&self, url: &str) -> u64 {
        let out = block(
            self.sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .send(),
        )
        .unwrap();
        out.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessages]
            .parse()
            .unwrap()
    }
}

/// `up`, then `diff --exit-code` says nothing is left to do.
fn converges(moto: &Moto, dir: &Path) {
    let out = moto.replatform(dir, &["up", "--image-uri", IMAGE, "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a clean `up` converges: {}",
        stderr(&out)
    );
    let out = moto.replatform(dir, &["diff", "--image-uri", IMAGE, "--exit-code"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing left to change after `up`: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Success, or exit 1 with the operation, AWS's code and a hint.
fn clear_outcome(out: &Output) -> String {
    match out.status.code() {
        Some(0) => "ok".into(),
        Some(1) => {
            let err = stderr(out);
            let line = err
                .lines()
                .find(|l| l.starts_with("error: "))
                .unwrap_or_else(|| panic!("an error line: {err}"));
            assert!(err.contains("hint: "), "a hint: {err}");
            assert!(!err.contains("panicked"), "{err}");
            format!(
                "error ({})",
                line.trim_start_matches("error: ")
                    .chars()
                    .take(110)
                    .collect::<String>()
            )
        }
        other => panic!("exit {other:?}: {}", stderr(out)),
    }
}

#[test]
fn faults_across_up_diff_and_down_end_clearly_and_a_clean_run_converges() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let aws = Aws::new(&moto);
    let d = |ms| Fault::Delay(Duration::from_millis(ms));
    let skip = |r: Rule, n: usize| Rule { skip: n, ..r };
    // (command, faults): `up` from nothing, `diff` and `down` of a deployed service.
    let scenarios: Vec<(&str, Vec<Rule>)> = vec![
        ("up", vec![rule("CreateChangeSet", Fault::Throttle, 2)]),
        ("up", vec![rule("DescribeChangeSet", Fault::Status(500), 1)]),
        ("up", vec![rule("DescribeChangeSet", Fault::Status(503), 2)]),
        ("up", vec![rule("ExecuteChangeSet", Fault::Throttle, 1)]),
        ("up", vec![rule("DescribeStacks", Fault::Drop, 1)]),
        (
            "up",
            vec![rule("DescribeStackEvents", Fault::Status(500), 2)],
        ),
        ("up", vec![rule("CreateChangeSet", Fault::Drop, 1)]),
        ("up", vec![rule("DescribeStacks", d(1500), 3)]),
        (
            "up",
            vec![rule("ListStackResources", Fault::Status(503), 1)],
        ),
        (
            "up",
            vec![skip(rule("DescribeStacks", Fault::Throttle, 2), 1)],
        ),
        ("up", vec![rule("DescribeStacks", Fault::Status(500), 20)]),
        ("up", vec![rule("ExecuteChangeSet", Fault::Status(503), 20)]),
        ("up", vec![rule("CreateChangeSet", Fault::Throttle, 20)]),
        ("up", vec![skip(rule("DescribeStacks", Fault::Drop, 20), 2)]),
        ("diff", vec![rule("CreateChangeSet", Fault::Throttle, 2)]),
        (
            "diff",
            vec![rule("DescribeChangeSet", Fault::Status(503), 1)],
        ),
        ("diff", vec![rule("GetTemplate", Fault::Drop, 1)]),
        ("diff", vec![rule("DeleteChangeSet", Fault::Status(500), 1)]),
        ("diff", vec![rule("DescribeStacks", Fault::Status(500), 20)]),
        ("down", vec![rule("DeleteStack", Fault::Throttle, 2)]),
        ("down", vec![rule("GetQueueAttributes", Fault::Throttle, 1)]),
        ("down", vec![rule("DescribeStackEvents", Fault::Drop, 1)]),
        ("down", vec![rule("ListQueues", Fault::Status(503), 1)]),
        ("down", vec![rule("ListStackResources", Fault::Throttle, 2)]),
        ("down", vec![rule("DescribeStacks", d(1000), 2)]),
        ("down", vec![rule("DeleteStack", Fault::Status(503), 20)]),
    ];
    assert!(scenarios.len() >= 20);
    let mut table = Vec::new();
    for (i, (command, rules)) in scenarios.into_iter().enumerate() {
        let service = format!("{SERVICE_PREFIX}-f{i}");
        let dir = service_dir("sqs-worker", &service, |t| t);
        if command != "up" {
            // The setup runs without faults, yet moto itself answers an occasional HTTP 500 on a
            // loaded machine; `up` again converges, as the README promises, so it is run again.
            let mut last = String::new();
            let deployed = (0..3).any(|_| {
                let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE]);
                last = stderr(&out);
                out.status.code() == Some(0)
            });
            assert!(
                deployed,
                "scenario {i}: the setup `up` failed three times: {last}"
            );
        }
        if command == "diff" {
            // An edit, so that `diff` needs a change set: a stack that already is the rendered
            // one is compared by its template alone, and the change-set faults would go unmet.
            let file = dir.path().join("replatform.yaml");
            let text = std::fs::read_to_string(&file).unwrap();
            let edited = text.replace("visibility_timeout: 60s", "visibility_timeout: 90s");
            assert_ne!(text, edited, "scenario {i}: the edit applies");
            std::fs::write(&file, edited).unwrap();
        }
        proxy.clear_log();
        proxy.set(rules.clone());
        let args: &[&str] = match command {
            "up" => &["up", "--image-uri", IMAGE, "--yes"],
            "diff" => &["diff", "--image-uri", IMAGE],
            _ => &["down", "--yes"],
        };
        let out = moto.replatform_with(dir.path(), args, &through(&proxy));
        let outcome = clear_outcome(&out);
        let injected = proxy.injected();
        assert!(
            !injected.is_empty(),
            "scenario {i}: the fault was met: {rules:?}"
        );
        proxy.set(vec![]);
        // Whatever happened, the next clean run converges.
        if command == "down" {
            let out = moto.replatform(dir.path(), &["down", "--yes"]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "scenario {i}: a clean `down` finishes: {}",
                stderr(&out)
            );
            assert_eq!(
                (
                    aws.status(&format!("{service}-ecs")),
                    aws.status(&format!("{service}-lambda"))
                ),
                (None, None)
            );
            assert!(
                aws.queues(&format!("{service}-")).is_empty(),
                "scenario {i}: no queue left behind"
            );
        } else {
            converges(&moto, dir.path());
            for kind in ["ecs", "lambda"] {
                assert_eq!(
                    aws.change_sets(&format!("{service}-{kind}")),
                    0,
                    "scenario {i}: no change set left over"
                );
            }
        }
        table.push(format!(
            "{i:>2} {command:<5} {:<48} {outcome}",
            injected.join(", ")
        ));
    }
    eprintln!(
        "scenario, faults injected, outcome (each followed by a clean run that converged):\n{}",
        table.join("\n")
    );
}

fn spawn(moto: &Moto, proxy: &FaultProxy, dir: &Path, args: &[&str]) -> Child {
    common::replatform(&proxy.endpoint, dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e} ({})", moto.endpoint))
}

fn signal(child: &Child, name: &str) {
    assert!(Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap()
        .success());
}

#[test]
fn an_interrupt_at_any_point_exits_130_and_the_next_run_converges() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let aws = Aws::new(&moto);
    let slow = |ms| Fault::Delay(Duration::from_millis(ms));
    // (what, command, the request to stop at, the delay that holds it, the signal)
    let points: Vec<(&str, &str, &str, Rule, &str)> = vec![
        (
            "up, before the change sets",
            "up",
            "DescribeStacks",
            rule("DescribeStacks", slow(3000), 1),
            "INT",
        ),
        (
            "up, while the change sets are made",
            "up",
            "CreateChangeSet",
            rule("DescribeChangeSet", slow(3000), 2),
            "INT",
        ),
        (
            "up, while CloudFormation describes them",
            "up",
            "DescribeChangeSet",
            rule("DescribeChangeSet", slow(3000), 2),
            "TERM",
        ),
        (
            "up, while executing",
            "up",
            "ExecuteChangeSet",
            rule("ExecuteChangeSet", slow(3000), 2),
            "INT",
        ),
        (
            "up, after executing",
            "up",
            "DescribeStackEvents",
            rule("DescribeStackEvents", slow(3000), 4),
            "INT",
        ),
        (
            "down, while deleting",
            "down",
            "DeleteStack",
            rule("DeleteStack", slow(3000), 2),
            "INT",
        ),
        (
            "down, while watching",
            "down",
            "DescribeStackEvents",
            rule("DescribeStackEvents", slow(3000), 4),
            "TERM",
        ),
    ];
    let mut table = Vec::new();
    for (i, (what, command, at, hold, sig)) in points.into_iter().enumerate() {
        let service = format!("{SERVICE_PREFIX}-i{i}");
        let dir = service_dir("sqs-worker", &service, |t| t);
        if command == "down" {
            assert_eq!(
                moto.replatform(dir.path(), &["up", "--image-uri", IMAGE])
                    .status
                    .code(),
                Some(0)
            );
        }
        proxy.clear_log();
        proxy.set(vec![hold]);
        let args: &[&str] = if command == "up" {
            &["up", "--image-uri", IMAGE, "--yes"]
        } else {
            &["down", "--yes"]
        };
        let child = spawn(&moto, &proxy, dir.path(), args);
        proxy.wait_for(at, 1, Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(200));
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "{what}: {err}");
        assert!(
            err.contains(&format!("interrupted (SIG{sig})")),
            "{what}: {err}"
        );
        assert!(err.contains("hint: "), "{what}: says how to go on: {err}");
        proxy.set(vec![]);
        std::thread::sleep(Duration::from_millis(3500)); // the held request finishes in moto
        for kind in ["ecs", "lambda"] {
            let stack = format!("{service}-{kind}");
            assert_ne!(
                aws.status(&stack).as_deref(),
                Some("REVIEW_IN_PROGRESS"),
                "{what}: no empty stack left by a change set"
            );
        }
        if command == "up" {
            converges(&moto, dir.path());
        } else {
            let out = moto.replatform(dir.path(), &["down", "--yes"]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{what}: the next `down` finishes: {}",
                stderr(&out)
            );
            assert!(
                aws.queues(&format!("{service}-")).is_empty(),
                "{what}: no queue left behind"
            );
        }
        for kind in ["ecs", "lambda"] {
            assert_eq!(
                aws.change_sets(&format!("{service}-{kind}")),
                0,
                "{what}: no change set left over"
            );
        }
        table.push(format!(
            "{what:<42} SIG{sig:<5} {}",
            err.lines()
                .find(|l| l.starts_with("error:"))
                .unwrap_or_default()
        ));
    }
    eprintln!(
        "interrupt point, signal, what it said (each followed by a run that converged):\n{}",
        table.join("\n")
    );
}

#[test]
fn down_refuses_while_any_queue_holds_a_message() {
    let moto = Moto::start();
    let aws = Aws::new(&moto);
    // (how the message is held, where)
    for (i, case) in ["visible", "in flight", "only in a dead-letter queue"]
        .into_iter()
        .enumerate()
    {
        let service = format!("{SERVICE_PREFIX}-d{i}");
        let dir = service_dir("sqs-worker", &service, |t| t);
        assert_eq!(
            moto.replatform(dir.path(), &["up", "--image-uri", IMAGE])
                .status
                .code(),
            Some(0)
        );
        let (ecs, lambda) = (format!("{service}-ecs"), format!("{service}-lambda"));
        match case {
            "visible" => aws.send(&aws.queue(&ecs, "Queue").unwrap(), "order 1"),
            "in flight" => {
                let url = aws.queue(&lambda, "Queue").unwrap();
                aws.send(&url, "order 2");
                let got = block(
                    aws.sqs
                        .receive_message()
                        .queue_url(&url)
                        .visibility_timeout(600)
                        .send(),
                )
                .unwrap();
                assert_eq!(got.messages().len(), 1);
                assert_eq!(
                    aws.depth(&url),
                    0,
                    "nothing visible: the message is in flight"
                );
            }
            _ => aws.send(&aws.queue(&lambda, "DeadLetterQueue").unwrap(), "poison"),
        }
        let out = moto.replatform(dir.path(), &["down", "--yes"]);
        assert_eq!(out.status.code(), Some(1), "{case}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("the queues hold 1 message; nothing was deleted"),
            "{case}: {err}"
        );
        let held = if case == "in flight" {
            "0 visible, 1 in flight"
        } else {
            "1 visible, 0 in flight"
        };
        assert!(err.contains(held), "{case}: the counts per queue: {err}");
        assert!(
            aws.status(&ecs).is_some() && aws.status(&lambda).is_some(),
            "{case}: nothing deleted"
        );
        assert_eq!(aws.queues(&format!("{service}-")).len(), 4);
        let out = moto.replatform(
            dir.path(),
            &["down", "--yes", "--force", "--output", "json"],
        );
        assert_eq!(out.status.code(), Some(0), "{case}: {}", stderr(&out));
        assert_eq!((aws.status(&ecs), aws.status(&lambda)), (None, None));
        assert!(
            aws.queues(&format!("{service}-")).is_empty(),
            "{case}: --force deletes the queues too"
        );
    }
    // Empty queues: the stacks and the queues go, and nothing is left.
    let dir = service_dir("sqs-worker", &format!("{SERVICE_PREFIX}-d9"), |t| t);
    assert_eq!(
        moto.replatform(dir.path(), &["up", "--image-uri", IMAGE])
            .status
            .code(),
        Some(0)
    );
    let out = moto.replatform(dir.path(), &["down", "--yes", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(aws.queues(&format!("{SERVICE_PREFIX}-d9-")).is_empty());
    let doc = json(&out);
    assert!(doc["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["deleted"] == true));
    // --keep-queues keeps them, each listed with its URL.
    let dir = service_dir("sqs-worker", &format!("{SERVICE_PREFIX}-d8"), |t| t);
    assert_eq!(
        moto.replatform(dir.path(), &["up", "--image-uri", IMAGE])
            .status
            .code(),
        Some(0)
    );
    let url = aws
        .queue(&format!("{SERVICE_PREFIX}-d8-ecs"), "Queue")
        .unwrap();
    aws.send(&url, "keep me");
    let out = moto.replatform(
        dir.path(),
        &["down", "--yes", "--keep-queues", "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let queues: Vec<&serde_json::Value> = doc["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["queues"].as_array().unwrap())
        .collect();
    assert_eq!(queues.len(), 4, "{doc}");
    // moto deletes a retained queue with its stack (pitfalls.md): `gone` there, `kept` on AWS;
    // either way `down` itself deleted none.
    assert!(
        queues
            .iter()
            .all(|q| q["outcome"] == "kept" || q["outcome"] == "gone"),
        "{doc}"
    );
    assert!(
        queues
            .iter()
            .any(|q| q["url"] == url.as_str() && q["depth"]["visible"] == 1),
        "{doc}"
    );
}

/// Renames the queue's logical id in a copy of the built-in templates: CloudFormation removes
/// the old queue and adds a new one.
fn renamed_queue_templates(moto: &Moto, dir: &Path) -> std::path::PathBuf {
    let out_dir = dir.join("custom");
    assert_eq!(
        moto.replatform(dir, &["templates", "--out", "custom"])
            .status
            .code(),
        Some(0)
    );
    let word = regex_lite_replace;
    for sub in ["templates", "stacks"] {
        for entry in std::fs::read_dir(out_dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, word(&text)).unwrap();
        }
    }
    out_dir
}

/// `Queue` as a whole word that is not part of a type (`AWS::SQS::Queue`) becomes `WorkQueue`.
fn regex_lite_replace(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        if text[i..].starts_with("Queue")
            && (i == 0 || !(is_word(bytes[i - 1]) || bytes[i - 1] == b':'))
            && bytes.get(i + 5).is_none_or(|b| !is_word(*b))
        {
            out.push_str("WorkQueue");
            i += 5;
        } else {
            out.push(text[i..].chars().next().unwrap());
            i += text[i..].chars().next().unwrap().len_utf8();
        }
    }
    out
}

#[test]
fn a_change_that_replaces_or_removes_a_queue_needs_its_own_flag() {
    let moto = Moto::start();
    let aws = Aws::new(&moto);
    let service = format!("{SERVICE_PREFIX}-q");
    let dir = service_dir("sqs-worker", &service, |t| t);
    assert_eq!(
        moto.replatform(dir.path(), &["up", "--image-uri", IMAGE])
            .status
            .code(),
        Some(0)
    );
    let ecs = format!("{service}-ecs");
    let old = aws.queue(&ecs, "Queue").unwrap();
    aws.send(&old, "order 7");

    // A rename through --templates removes the queue: refused even with --yes.
    let custom = renamed_queue_templates(&moto, dir.path());
    let custom = custom.to_str().unwrap();
    let out = moto.replatform(
        dir.path(),
        &[
            "--templates",
            custom,
            "diff",
            "--image-uri",
            IMAGE,
            "--output",
            "json",
        ],
    );
    let doc = json(&out);
    let loss = doc["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == ecs.as_str())
        .unwrap()["data_loss"]
        .clone();
    assert_eq!(loss[0]["logical_id"], "Queue", "{doc}");
    assert_eq!(loss[0]["depth"]["visible"], 1);
    let out = moto.replatform(
        dir.path(),
        &["--templates", custom, "up", "--image-uri", IMAGE, "--yes"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "data loss: {ecs} `Queue` {old} would be removed; it holds 1 message"
        )),
        "{err}"
    );
    assert!(err.contains("--allow-queue-replacement"), "{err}");
    assert_eq!(
        aws.queue(&ecs, "Queue").as_deref(),
        Some(old.as_str()),
        "nothing changed"
    );
    assert_eq!(aws.change_sets(&ecs), 0);

    // With the flag it goes ahead, and says where the old queue and its message are.
    let out = moto.replatform(
        dir.path(),
        &[
            "--templates",
            custom,
            "up",
            "--image-uri",
            IMAGE,
            "--yes",
            "--allow-queue-replacement",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("the old queue {old} stays with its messages")),
        "{}",
        stderr(&out)
    );
    assert!(aws.queue(&ecs, "WorkQueue").is_some());
}

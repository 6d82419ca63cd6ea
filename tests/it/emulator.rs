//! The real binary against moto's server on 127.0.0.1 (one per test, on a free port), checked
//! through the emulator's own APIs. moto does not model scaling policies, alarms, per-resource
//! events or rollbacks (pitfalls.md): those are covered by `recorded.rs` and `structure.rs`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::common::{self, repo};

pub(crate) use crate::common::IMAGE;
const IMAGE_2: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker@sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// A moto server of this test's own; stopped when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A moto server with more of moto's own settings (e.g. `MOTO_IAM_LOAD_MANAGED_POLICIES`).
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let exe = std::env::var("MOTO_SERVER").map(PathBuf::from).expect(
            "MOTO_SERVER: the path of moto_server (scripts/test installs moto and sets it)",
        );
        assert!(
            exe.exists(),
            "`{}` is missing: `scripts/test` installs moto, or set MOTO_SERVER",
            exe.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn replatform(&self, dir: &Path, args: &[&str]) -> Output {
        self.replatform_with(dir, args, &[])
    }

    /// `replatform` with more environment (a builder's settings, HOME, TMPDIR).
    pub fn replatform_with(&self, dir: &Path, args: &[&str], extra: &[(&str, String)]) -> Output {
        let out = common::replatform(&self.endpoint, dir, args)
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        eprintln!(
            "$ replatform {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// SDK settings for checking the emulator from the test itself.
    pub fn sdk(&self) -> aws_config::SdkConfig {
        block(async {
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(&self.endpoint)
                .region(aws_config::Region::new(common::REGION))
                .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                    common::FAKE_KEY,
                    common::FAKE_KEY,
                    None,
                    None,
                    "test",
                ))
                .load()
                .await
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// An example's config under another service name, in a folder of its own.
pub(crate) fn service_dir(
    example: &str,
    service: &str,
    edit: impl Fn(String) -> String,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        repo()
            .join("examples")
            .join(example)
            .join("replatform.yaml"),
    )
    .unwrap();
    let text = text.replacen(
        &format!("service: {example}"),
        &format!("service: {service}"),
        1,
    );
    std::fs::write(dir.path().join("replatform.yaml"), edit(text)).unwrap();
    dir
}

/// What changes from run to run: times, and the ids CloudFormation puts in physical names.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d\d:\d\d:\d\d ", "[TIME] "),
        (r"-[A-Z0-9]{12,13}\b", "-[ID]"),
        (r"(HTTP 404|Unknown)[^)]*\)", "[NOT IN MOTO])"),
        (r"http://127\.0\.0\.1:\d+", "[ENDPOINT]"),
    ]
}

/// The two stacks run concurrently: their progress lines interleave as they come. Each run of
/// timestamped lines is put in stack order, keeping each stack's own order.
fn by_stack(text: &str) -> String {
    let timed = |l: &str| {
        l.len() > 9
            && l.as_bytes()[..8]
                .iter()
                .all(|b| b.is_ascii_digit() || *b == b':')
            && l.as_bytes()[8] == b' '
    };
    let mut out: Vec<String> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if timed(line) {
            block.push(line);
            continue;
        }
        block.sort_by_key(|l| {
            l[9..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        });
        out.extend(block.drain(..).map(str::to_string));
        out.push(line.to_string());
    }
    out.join("\n")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> Json {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

struct Emulator {
    cfn: aws_sdk_cloudformation::Client,
    sqs: aws_sdk_sqs::Client,
    lambda: aws_sdk_lambda::Client,
}

impl Emulator {
    fn new(moto: &Moto) -> Self {
        let c = moto.sdk();
        Self {
            cfn: aws_sdk_cloudformation::Client::new(&c),
            sqs: aws_sdk_sqs::Client::new(&c),
            lambda: aws_sdk_lambda::Client::new(&c),
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

    fn resource(&self, stack: &str, logical: &str) -> Option<String> {
        let out = block(self.cfn.list_stack_resources().stack_name(stack).send()).unwrap();
        out.stack_resource_summaries()
            .iter()
            .find(|r| r.logical_resource_id() == Some(logical))
            .and_then(|r| r.physical_resource_id().map(str::to_string))
    }

    fn event_count(&self, stack: &str) -> usize {
        block(self.cfn.describe_stack_events().stack_name(stack).send())
            .unwrap()
            .stack_events()
            .len()
    }

    fn queue_attr(&self, url: &str, name: &str) -> String {
        let out = block(
            self.sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send(),
        )
        .unwrap();
        out.attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::from(name)))
            .cloned()
            .unwrap_or_default()
    }
}

#[test]
fn up_diff_status_down_of_an_example() {
    let moto = Moto::start();
    let aws = Emulator::new(&moto);
    let dir = service_dir("sqs-event-worker", "it-flow", |t| t);
    let (ecs, lambda) = ("it-flow-ecs", "it-flow-lambda");

    // A fresh `up` creates both stacks with what the config says.
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        (aws.status(ecs).as_deref(), aws.status(lambda).as_deref()),
        (Some("CREATE_COMPLETE"), Some("CREATE_COMPLETE"))
    );
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("emulator_first_up", by_stack(&stderr(&out)));
        insta::assert_snapshot!("emulator_first_up_outputs", String::from_utf8_lossy(&out.stdout));
    });
    for stack in [ecs, lambda] {
        let queue = aws.resource(stack, "Queue").unwrap();
        let dlq_arn = aws.queue_attr(&aws.resource(stack, "DeadLetterQueue").unwrap(), "QueueArn");
        assert_eq!(
            aws.queue_attr(&queue, "VisibilityTimeout"),
            "180",
            "{stack}"
        );
        assert_eq!(
            aws.queue_attr(&queue, "MessageRetentionPeriod"),
            "345600",
            "{stack}"
        );
        assert_eq!(
            aws.queue_attr(&queue, "SqsManagedSseEnabled"),
            "true",
            "{stack}"
        );
        let redrive: Json = serde_json::from_str(&aws.queue_attr(&queue, "RedrivePolicy")).unwrap();
        assert_eq!(
            (
                redrive["deadLetterTargetArn"].as_str(),
                redrive["maxReceiveCount"].as_u64()
            ),
            (Some(dlq_arn.as_str()), Some(5)),
            "{stack}"
        );
    }
    let function = block(aws.lambda.get_function().function_name("it-flow").send()).unwrap();
    assert_eq!(function.code().and_then(|c| c.image_uri()), Some(IMAGE));
    assert_eq!(
        function
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        Some(5)
    );
    let env = function
        .configuration()
        .and_then(|c| c.environment())
        .and_then(|e| e.variables())
        .unwrap();
    assert_eq!(
        env.get("SQS_QUEUE_URL"),
        aws.resource(lambda, "Queue").as_ref()
    );
    let mappings = block(
        aws.lambda
            .list_event_source_mappings()
            .function_name("it-flow")
            .send(),
    )
    .unwrap();
    let esm = &mappings.event_source_mappings()[0];
    assert_eq!(
        (
            esm.batch_size(),
            esm.scaling_config().and_then(|s| s.maximum_concurrency())
        ),
        (Some(10), Some(2))
    );
    assert_eq!(
        esm.function_response_types()
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>(),
        ["ReportBatchItemFailures"]
    );
    assert_eq!(
        esm.event_source_arn().map(str::to_string),
        Some(aws.queue_attr(&aws.resource(lambda, "Queue").unwrap(), "QueueArn"))
    );

    // A second `up` finds nothing to do and executes nothing.
    let events = (aws.event_count(ecs), aws.event_count(lambda));
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("it-flow-ecs: no changes")
            && stderr(&out).contains("it-flow-lambda: no changes"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("updating"));
    assert_eq!(
        (aws.event_count(ecs), aws.event_count(lambda)),
        events,
        "nothing was executed"
    );

    // An edit shows in `diff` as a Modify of the queue; `up` applies it.
    let config = dir.path().join("replatform.yaml");
    let edited = std::fs::read_to_string(&config)
        .unwrap()
        .replace("visibility_timeout: 180s", "visibility_timeout: 240s");
    std::fs::write(&config, edited).unwrap();
    let out = moto.replatform(
        dir.path(),
        &[
            "diff",
            "--image-uri",
            IMAGE,
            "--exit-code",
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "changes exit 3");
    let doc = json(&out);
    assert_eq!(doc["changed"], true);
    for s in doc["stacks"].as_array().unwrap() {
        assert_eq!(s["state"], "changed");
        assert_eq!(
            s["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (
                    c["action"].as_str().unwrap(),
                    c["logical_id"].as_str().unwrap()
                ))
                .collect::<Vec<_>>(),
            [("Modify", "Queue")]
        );
        assert!(
            s["template_diff"]
                .as_str()
                .unwrap()
                .contains("+      VisibilityTimeout: 240"),
            "{s}"
        );
    }
    let text = moto.replatform(dir.path(), &["diff", "--image-uri", IMAGE]);
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("emulator_diff_of_an_edit", String::from_utf8_lossy(&text.stdout));
    });
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(0));
    for stack in [ecs, lambda] {
        assert_eq!(
            aws.queue_attr(&aws.resource(stack, "Queue").unwrap(), "VisibilityTimeout"),
            "240",
            "{stack}"
        );
        assert_eq!(aws.status(stack).as_deref(), Some("UPDATE_COMPLETE"));
    }
    assert_eq!(
        moto.replatform(dir.path(), &["diff", "--image-uri", IMAGE, "--exit-code"])
            .status
            .code(),
        Some(0)
    );

    // A new image is a change of the function and the task definition.
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE_2]);
    assert_eq!(out.status.code(), Some(0));
    let function = block(aws.lambda.get_function().function_name("it-flow").send()).unwrap();
    assert_eq!(function.code().and_then(|c| c.image_uri()), Some(IMAGE_2));

    // A message waiting on the ECS queue (it has no trigger that moto would run).
    block(
        aws.sqs
            .send_message()
            .queue_url(aws.resource(ecs, "Queue").unwrap())
            .message_body("order 1")
            .send(),
    )
    .unwrap();
    let text = moto.replatform(dir.path(), &["status"]);
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("emulator_status", String::from_utf8_lossy(&text.stdout));
    });

    // `status` as one JSON document.
    let out = moto.replatform(dir.path(), &["status", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    let stacks = doc["stacks"].as_array().unwrap();
    assert_eq!(
        stacks
            .iter()
            .map(|s| s["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["UPDATE_COMPLETE", "UPDATE_COMPLETE"]
    );
    assert_eq!(stacks[0]["queue"]["depth"]["visible"], 1);
    assert_eq!(stacks[1]["queue"]["depth"]["visible"], 0);
    assert_eq!(stacks[0]["service"]["desired"], 0);
    assert_eq!(stacks[1]["function"]["reserved_concurrency"], 5);
    assert_eq!(
        stacks[1]["queue"]["url"].as_str(),
        aws.resource(lambda, "Queue").as_deref()
    );

    // `down` asks first; without a terminal it needs --yes.
    let out = moto.replatform(dir.path(), &["down"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(aws.status(ecs).is_some(), "nothing was deleted");
    // The ECS queue holds a message: `down` refuses, even with --yes, and deletes nothing.
    let out = moto.replatform(dir.path(), &["down", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the queues hold 1 message"),
        "{}",
        stderr(&out)
    );
    assert!(
        aws.status(ecs).is_some() && aws.status(lambda).is_some(),
        "nothing was deleted"
    );
    let out = moto.replatform(dir.path(), &["down", "--yes", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!((aws.status(ecs), aws.status(lambda)), (None, None));
    let doc = json(&moto.replatform(dir.path(), &["status", "--output", "json"]));
    assert!(doc["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"].is_null()));
    // A stack that is not there is no error.
    assert_eq!(
        moto.replatform(dir.path(), &["down", "--yes"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn a_change_that_removes_resources_needs_yes_without_a_terminal() {
    let moto = Moto::start();
    let aws = Emulator::new(&moto);
    let dir = service_dir("sqs-worker", "it-remove", |t| t);
    assert_eq!(
        moto.replatform(dir.path(), &["up", "--image-uri", IMAGE])
            .status
            .code(),
        Some(0)
    );
    assert!(aws.resource("it-remove-lambda", "Schedule").is_some());

    // From the schedule trigger to the sqs trigger: the schedule's resources go.
    let config = dir.path().join("replatform.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    let start = text.find("  trigger:").unwrap();
    std::fs::write(
        &config,
        format!("{}  trigger:\n    type: sqs\n", &text[..start]),
    )
    .unwrap();
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("replace or remove resources") && stderr(&out).contains("--yes"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("Remove  Schedule"),
        "the removal is shown: {}",
        stderr(&out)
    );
    assert!(
        aws.resource("it-remove-lambda", "Schedule").is_some(),
        "nothing was executed"
    );
    let left = block(
        aws.cfn
            .list_change_sets()
            .stack_name("it-remove-lambda")
            .send(),
    )
    .unwrap();
    let ours: Vec<_> = left
        .summaries()
        .iter()
        .filter(|s| {
            s.stack_name() == Some("it-remove-lambda")
                && s.execution_status().map(|e| e.as_str()) == Some("AVAILABLE")
        })
        .collect();
    assert!(
        ours.is_empty(),
        "the unexecuted change set is deleted: {ours:?}"
    );

    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(aws.resource("it-remove-lambda", "Schedule").is_none());
    assert!(aws
        .resource("it-remove-lambda", "EventSourceMapping")
        .is_some());
}

#[test]
fn diff_of_a_new_service_lists_what_up_would_create_and_creates_nothing() {
    let moto = Moto::start();
    let aws = Emulator::new(&moto);
    let dir = service_dir("sqs-worker", "it-new", |t| t);
    let out = moto.replatform(
        dir.path(),
        &[
            "diff",
            "--exit-code",
            "--only",
            "lambda",
            "--output",
            "json",
            "--image-uri",
            IMAGE,
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let doc = json(&out);
    let stack = &doc["stacks"][0];
    assert_eq!(
        (stack["name"].as_str(), stack["state"].as_str()),
        (Some("it-new-lambda"), Some("new"))
    );
    let ids: Vec<&str> = stack["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["logical_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"Function") && ids.contains(&"Schedule"),
        "{ids:?}"
    );
    assert_eq!(doc["stacks"].as_array().unwrap().len(), 1, "--only");
    assert_eq!(
        (aws.status("it-new-lambda"), aws.status("it-new-ecs")),
        (None, None)
    );
}

#[test]
fn bad_input_changes_nothing_in_aws() {
    let moto = Moto::start();
    let aws = Emulator::new(&moto);
    let lint_error = service_dir("sqs-event-worker", "it-bad", |t| {
        t.replace("max_concurrency: 2", "max_concurrency: 50")
    });
    let out = moto.replatform(lint_error.path(), &["up", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("max_concurrency 50 is above reserved_concurrency 5"));
    let good = service_dir("sqs-event-worker", "it-bad", |t| t);
    for args in [
        vec![
            "up",
            "--image-uri",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker:latest",
        ],
        vec!["up"],
        vec!["up", "--region", "us-east-1", "--image-uri", IMAGE],
    ] {
        let out = moto.replatform(good.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains("hint:"), "{args:?}: {}", stderr(&out));
    }
    let stacks = block(aws.cfn.list_stacks().send()).unwrap();
    assert!(
        stacks.stack_summaries().is_empty(),
        "no stack was touched: {:?}",
        stacks.stack_summaries()
    );
}

/// After `up --image-uri`, `diff` without it compares with the image the stacks run (the
/// current sources are in no registry): it says which image and why, shows no placeholder
/// digest, and finds nothing to change when nothing else did.
#[test]
fn diff_after_up_with_an_image_uri_compares_with_the_deployed_image() {
    let moto = Moto::start();
    let dir = service_dir("sqs-worker", "it-given", |t| t);
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Without sources to build (no Dockerfile), and with sources the registry lacks: either
    // way the image the stacks run.
    let out = moto.replatform(dir.path(), &["diff", "--exit-code"]);
    let said = stderr(&out);
    assert!(said.contains("could not look the image up"), "{said}");
    assert!(
        said.contains(&format!("compared with the image the stacks run, {IMAGE}")),
        "{said}"
    );
    assert_eq!(out.status.code(), Some(0), "{said}");
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY . /app\n").unwrap();
    let out = moto.replatform(dir.path(), &["diff", "--exit-code"]);
    let (said, shown) = (
        stderr(&out),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    );
    assert!(said.contains("are not in the registry"), "{said}");
    assert!(
        said.contains(&format!("compared with the image the stacks run, {IMAGE}")),
        "{said}"
    );
    assert!(
        !said.contains("0000000000000000") && !shown.contains("0000000000000000"),
        "{said}\n{shown}"
    );
    // No resource changes, but `up` would build the sources and deploy them: a change.
    assert!(!shown.contains("Modify"), "{shown}");
    assert_eq!(out.status.code(), Some(3), "{said}\n{shown}");
}

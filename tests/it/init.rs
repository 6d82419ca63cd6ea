//! `replatform init` with the real binary, no AWS: in copies of the two examples' folders and of a
//! folder holding the seed article's (docs/seed-article.md) worker, it writes a config that
//! `validate` accepts once the subnets and security groups are filled, and names exactly those
//! until then; it never replaces a file without `--force`.

use std::path::Path;
use std::process::Command;

use serde_yaml_ng::Value;

use crate::common::{replatform, repo};

/// No endpoint: `init` and `validate` make no AWS call.
const NOWHERE: &str = "http://127.0.0.1:9";

/// The seed article's (docs/seed-article.md) worker: a `handler(event, context)` that ignores its
/// event and polls the queue itself, and its Dockerfile, which sets no WORKDIR and adds the runtime
/// client.
const ARTICLE_APP: &str = r#"import os
import boto3

QUEUE_URL = os.environ.get("SQS_QUEUE_URL", "")
MAX_NUM_MSGS = int(os.environ.get("SQS_MAX_NUM_MSGS", 10))
VISIBILITY_TO = int(os.environ.get("SQS_VISIBILITY_TO", 15))
WAIT_SECONDS = int(os.environ.get("SQS_WAIT_SECONDS", 10))

sqs_client = boto3.client("sqs")

def handler(event, context):
    get_response = sqs_client.receive_message(
        QueueUrl=QUEUE_URL, MaxNumberOfMessages=MAX_NUM_MSGS,
        VisibilityTimeout=VISIBILITY_TO, WaitTimeSeconds=WAIT_SECONDS)
    messages = get_response.get("Messages", [])
    for msg in messages:
        print(f"Message body: {msg['Body']}")
        sqs_client.delete_message(QueueUrl=QUEUE_URL, ReceiptHandle=msg["ReceiptHandle"])

if __name__ == "__main__":
    handler("", "")
"#;
const ARTICLE_DOCKERFILE: &str = "FROM python:3.10\n\nCOPY requirements.txt  .\nRUN pip install -r requirements.txt\n\nRUN pip install awslambdaric\n\nCOPY app.py .\n\nCMD [\"python\", \"app.py\"]\n";

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    replatform(NOWHERE, dir, args).output().unwrap()
}

/// A folder named `name` holding the example's files but not its config.
fn copy_example(root: &Path, name: &str) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir(&dir).unwrap();
    for f in ["Dockerfile", "app.py", "requirements.txt"] {
        std::fs::copy(repo().join("examples").join(name).join(f), dir.join(f)).unwrap();
    }
    dir
}

fn article(root: &Path) -> std::path::PathBuf {
    let dir = root.join("Article_Worker");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("app.py"), ARTICLE_APP).unwrap();
    std::fs::write(dir.join("Dockerfile"), ARTICLE_DOCKERFILE).unwrap();
    std::fs::write(dir.join("requirements.txt"), "boto3\n").unwrap();
    dir
}

fn validate_json(dir: &Path) -> (i32, serde_json::Value) {
    let out = run(dir, &["validate", "--output", "json"]);
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout))),
    )
}

fn fill(dir: &Path) {
    let path = dir.join("replatform.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replacen("subnets: []", "subnets: [subnet-0123456789abcdef0]", 1)
        .replacen(
            "security_groups: []",
            "security_groups: [sg-0123456789abcdef0]",
            1,
        );
    std::fs::write(&path, text).unwrap();
}

/// init, then validate: exactly the subnets and security groups are left, as errors with hints;
/// filled, the config is valid. Returns the written config.
fn init_then_validate(dir: &Path) -> Value {
    let out = run(dir, &["init"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("left to fill: ecs.subnets, ecs.security_groups"),
        "{stderr}"
    );
    assert!(dir.join(".dockerignore").is_file());
    let (code, doc) = validate_json(dir);
    assert_eq!(code, 1, "{doc}");
    let errors: Vec<(&str, &str)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| (d["path"].as_str().unwrap(), d["hint"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec!["ecs.subnets", "ecs.security_groups"],
        "{doc}"
    );
    assert!(errors.iter().all(|e| !e.1.is_empty()));
    let config: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(dir.join("replatform.yaml")).unwrap())
            .unwrap();
    fill(dir);
    let (code, doc) = validate_json(dir);
    assert_eq!(
        (code, doc["valid"].as_bool(), doc["errors"].as_u64()),
        (0, Some(true), Some(0)),
        "{doc}"
    );
    config
}

#[test]
fn the_examples_folders_get_configs_that_validate_accepts() {
    let root = tempfile::tempdir().unwrap();
    let polling = init_then_validate(&copy_example(root.path(), "sqs-worker"));
    assert_eq!(polling["service"], "sqs-worker");
    assert_eq!(
        polling["lambda"]["trigger"]["type"], "schedule",
        "its handler polls the queue itself"
    );
    assert_eq!(polling["lambda"]["command"][0], "app.handler");
    assert_eq!(polling["lambda"]["working_directory"], "/app");
    assert_eq!(
        polling["ecs"]["command"],
        serde_yaml_ng::from_str::<Value>("[python, app.py]").unwrap()
    );
    let event = init_then_validate(&copy_example(root.path(), "sqs-event-worker"));
    assert_eq!(
        event["lambda"]["trigger"]["type"], "sqs",
        "its handler reads the event's Records"
    );
    assert_eq!(event["lambda"]["command"][0], "app.handler");
    // The example's own settings for its trigger.
    assert_eq!(event["queue"]["visibility_timeout"], "180s");
}

#[test]
fn the_articles_worker_gets_the_schedule_trigger_in_its_base_images_folder() {
    let root = tempfile::tempdir().unwrap();
    let dir = article(root.path());
    let config = init_then_validate(&dir);
    assert_eq!(config["service"], "article-worker");
    assert_eq!(config["lambda"]["trigger"]["type"], "schedule");
    assert_eq!(config["lambda"]["command"][0], "app.handler");
    assert_eq!(
        config["lambda"]["working_directory"], "/",
        "no WORKDIR: the base image's"
    );
    assert_eq!(config["queue"]["url_env"], "SQS_QUEUE_URL");
    let text = std::fs::read_to_string(dir.join("replatform.yaml")).unwrap();
    for key in [
        "service:",
        "working_directory:",
        "type: schedule",
        "subnets:",
        "security_groups:",
    ] {
        let line = text.lines().find(|l| l.contains(key)).unwrap();
        assert!(line.contains("# "), "no comment on `{line}`");
    }
}

#[test]
fn a_second_init_refuses_without_force_and_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = copy_example(root.path(), "sqs-event-worker");
    std::fs::write(dir.join(".dockerignore"), "mine\n").unwrap();
    assert_eq!(run(&dir, &["init"]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join(".dockerignore")).unwrap(),
        "mine\n",
        "an existing .dockerignore is kept"
    );
    std::fs::write(dir.join("replatform.yaml"), "service: edited\n").unwrap();
    let out = run(&dir, &["init"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`replatform.yaml` already exists")
            && stderr.contains("hint: pass --force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("replatform.yaml")).unwrap(),
        "service: edited\n"
    );
    let out = run(&dir, &["init", "--force"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(dir.join("replatform.yaml"))
        .unwrap()
        .contains("service: sqs-event-worker"));
}

#[test]
fn a_folder_without_a_dockerfile_is_refused_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_replatform"))
        .current_dir(root.path())
        .args(["init"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no `Dockerfile` in `.`") && stderr.contains("hint:"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn json_names_what_was_written_and_what_is_left() {
    let root = tempfile::tempdir().unwrap();
    let dir = copy_example(root.path(), "sqs-worker");
    let out = run(&dir, &["init", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["service"], "sqs-worker");
    assert_eq!(doc["trigger"], "schedule");
    assert_eq!(doc["handler"], "app.handler");
    assert_eq!(
        doc["written"],
        serde_json::json!(["replatform.yaml", ".dockerignore"])
    );
    assert_eq!(
        doc["left"],
        serde_json::json!(["ecs.subnets", "ecs.security_groups"])
    );
}

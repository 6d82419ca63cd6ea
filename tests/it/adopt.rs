//! `replatform init --from-ecs CLUSTER/SERVICE` with the real binary against moto: a
//! running worker made through the ECS, IAM, Application Auto Scaling, CloudWatch, Secrets
//! Manager, EC2 and SQS APIs (`tests/fixtures/adopt/running_worker.py`), then read into a
//! config that `validate` accepts and `render` turns into roles with the same permissions on both
//! platforms. The secret's value never shows. moto does not link a CloudWatch alarm to the
//! scaling policy it acts on (`DescribeScalingPolicies` answers `Alarms: []`), so the alarm is
//! found as on AWS when a policy lists none: `DescribeAlarms` with the policy's ARN as
//! `ActionPrefix`; its threshold sets the steps.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;
use serde_yaml_ng::Value;

use crate::common::repo;
use crate::emulator::{Moto, IMAGE};

const SECRET_VALUE: &str = "s3cr3t-value-never-shown";

pub(crate) fn moto() -> Moto {
    // AWS managed policy ARNs (arn:aws:iam::aws:policy/...) exist in moto only with this.
    Moto::start_with(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
}

/// Runs the fixture script `script` (under `tests/fixtures`) with `args`, which makes a service
/// in moto through the real APIs; what was made, as the script prints it (JSON).
pub(crate) fn fixture(script: &str, args: &[&str]) -> Json {
    let python = std::env::var("MOTO_PYTHON")
        .map(PathBuf::from)
        .expect("MOTO_PYTHON: the Python that has boto3 (scripts/test sets it)");
    let out = Command::new(python)
        .arg(repo().join("tests/fixtures").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Makes the running worker; what was made, as the fixture prints it.
pub(crate) fn running_worker(moto: &Moto, extra: &[&str]) -> Json {
    let mut args = vec![moto.endpoint.as_str()];
    args.extend_from_slice(extra);
    fixture("adopt/running_worker.py", &args)
}

/// A folder holding the polling example's worker (its Dockerfile and code), no config.
pub(crate) fn worker_folder(root: &Path) -> PathBuf {
    let dir = root.join("orders");
    std::fs::create_dir(&dir).unwrap();
    for f in ["Dockerfile", "app.py", "requirements.txt"] {
        std::fs::copy(repo().join("examples/sqs-worker").join(f), dir.join(f)).unwrap();
    }
    dir
}

/// The written config's `ecs.scaling.scale_out` as (from, add) pairs.
pub(crate) fn scale_out_steps(c: &Value) -> Vec<(u64, i64)> {
    c["ecs"]["scaling"]["scale_out"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| (s["from"].as_u64().unwrap(), s["add"].as_i64().unwrap()))
        .collect()
}

/// `validate` takes the config in `dir` (`context` is shown when it does not) and `render`
/// writes its stacks into `dir/.replatform`; what both print goes into `outputs`.
pub(crate) fn validated_and_rendered(
    moto: &Moto,
    dir: &Path,
    outputs: &mut Vec<String>,
    context: &str,
) {
    let out = moto.replatform(dir, &["validate", "--output", "json"]);
    outputs.push(text(&out));
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), v["valid"].as_bool()),
        (Some(0), Some(true)),
        "{v}\n{context}"
    );
    let out = moto.replatform(dir, &["render", "--image-uri", IMAGE]);
    outputs.push(text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir`, read as text where it is text.
pub(crate) fn every_file(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(every_file(&p));
        } else {
            out.push((
                p.clone(),
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            ));
        }
    }
    out
}

#[test]
fn a_running_worker_becomes_a_config_that_validates_and_renders_its_permissions() {
    let moto = moto();
    let made = running_worker(&moto, &[]);
    let root = tempfile::tempdir().unwrap();
    let dir = worker_folder(root.path());
    let mut outputs = Vec::new();

    let out = moto.replatform(
        &dir,
        &["init", "--from-ecs", "prod/orders", "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let done: Json = serde_json::from_slice(&out.stdout).unwrap();
    outputs.push(text(&out));

    // The written config, field by field.
    let written = std::fs::read_to_string(dir.join("replatform.yaml")).unwrap();
    let c: Value = serde_yaml_ng::from_str(&written).unwrap();
    assert_eq!(c["service"], "orders");
    assert_eq!(c["image"]["platform"], "linux/arm64");
    assert_eq!(c["ecs"]["cluster"], "prod");
    assert_eq!(
        (c["ecs"]["cpu"].as_u64(), c["ecs"]["memory"].as_u64()),
        (Some(512), Some(1024)),
        "{written}"
    );
    assert_eq!(c["ecs"]["subnets"][0], made["subnet"].as_str().unwrap());
    assert_eq!(
        c["ecs"]["security_groups"][0],
        made["security_group"].as_str().unwrap()
    );
    assert_eq!(c["ecs"]["assign_public_ip"], false);
    assert_eq!(c["environment"]["LOG_LEVEL"], "info");
    assert!(
        c["environment"].get("SQS_QUEUE_URL").is_none(),
        "the queue variable is queue.url_env: {written}"
    );
    assert_eq!(c["queue"]["url_env"], "SQS_QUEUE_URL");
    assert_eq!(
        c["secrets"]["DB_PASSWORD"],
        made["secret_arn"].as_str().unwrap()
    );
    assert_eq!(
        c["permissions"]["managed_policies"][0],
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    );
    assert_eq!(
        c["permissions"]["statements"][0]["Action"],
        "dynamodb:PutItem"
    );
    assert_eq!(
        c["permissions"]["statements"][0]["Resource"],
        made["table"].as_str().unwrap()
    );
    assert_eq!(
        (
            c["ecs"]["scaling"]["min"].as_u64(),
            c["ecs"]["scaling"]["max"].as_u64()
        ),
        (Some(0), Some(8))
    );
    let steps = scale_out_steps(&c);
    assert_eq!(
        steps,
        vec![(10, 2), (110, 8)],
        "ExactCapacity 2 and 8 as `add` steps from the alarm's threshold 10, found by the policy's ARN: {written}"
    );
    assert_eq!(c["queue"]["visibility_timeout"], "120s");
    assert_eq!(c["queue"]["retention"], "86400s");
    assert_eq!(
        c["queue"]["dead_letter"]["max_receive_count"].as_u64(),
        Some(3)
    );
    assert_eq!(c["production"]["ecs_service"], "prod/orders");
    assert_eq!(
        c["production"]["queue"],
        made["queue_url"].as_str().unwrap()
    );

    // The report: the ExactCapacity translation, the alarm read, the sidecar Lambda cannot run.
    let items = done["report"]["items"].as_array().unwrap();
    let has = |kind: &str, field: &str, what: &str| {
        items.iter().any(|i| {
            i["kind"] == kind
                && i["field"].as_str().unwrap().contains(field)
                && i["what"].as_str().unwrap().contains(what)
        })
    };
    assert!(
        has("changed", "ecs.scaling.scale_out", "ExactCapacity"),
        "{done}"
    );
    assert!(
        !has("changed", "ecs.scaling.scale_out", "was not read"),
        "the alarm is found by the policy's ARN: {done}"
    );
    assert!(
        has("cannot", "log-router", "log router (FireLens)"),
        "{done}"
    );
    assert!(
        items
            .iter()
            .filter(|i| i["kind"] == "cannot")
            .all(|i| i["resolve"].as_str().is_some_and(|r| !r.is_empty())),
        "{done}"
    );
    assert!(
        done["report"]["handler"]
            .as_str()
            .unwrap()
            .contains("app.handler"),
        "{done}"
    );
    let files: Vec<&str> = done["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(files, vec!["replatform.yaml", ".dockerignore"]);

    // moto's queue URLs are its own endpoint's (http://127.0.0.1:PORT/ACCOUNT/NAME), which
    // `validate` rightly refuses for production.queue; AWS's URL of the same queue stands in.
    let aws_url = format!(
        "https://sqs.eu-west-1.amazonaws.com/{}",
        made["queue_url"]
            .as_str()
            .unwrap()
            .splitn(4, '/')
            .nth(3)
            .unwrap()
    );
    std::fs::write(
        dir.join("replatform.yaml"),
        written.replace(made["queue_url"].as_str().unwrap(), &aws_url),
    )
    .unwrap();

    // validate accepts it; render gives both roles the permissions, ECS the secret by ARN.
    validated_and_rendered(&moto, &dir, &mut outputs, "");
    for kind in ["ecs", "lambda"] {
        let stack =
            std::fs::read_to_string(dir.join(format!(".replatform/orders-{kind}.yaml"))).unwrap();
        for wanted in [
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            "dynamodb:PutItem",
            made["table"].as_str().unwrap(),
        ] {
            assert!(stack.contains(wanted), "the {kind} stack lacks `{wanted}`");
        }
    }
    let ecs = std::fs::read_to_string(dir.join(".replatform/orders-ecs.yaml")).unwrap();
    assert!(
        ecs.contains("DB_PASSWORD") && ecs.contains(made["secret_arn"].as_str().unwrap()),
        "the task definition takes the secret by ARN"
    );

    // And it deploys as written: `up` of both stacks (the image by digest), then `down`.
    let out = moto.replatform(&dir, &["up", "--image-uri", IMAGE, "--yes"]);
    outputs.push(text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = moto.replatform(&dir, &["down", "--yes"]);
    outputs.push(text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Not in any output, not in any file.
    for o in &outputs {
        assert!(!o.contains(SECRET_VALUE), "{o}");
    }
    for (path, body) in every_file(&dir) {
        assert!(!body.contains(SECRET_VALUE), "{}", path.display());
    }

    // A second init without --force refuses and leaves the file as it is, byte for byte.
    let before = std::fs::read(dir.join("replatform.yaml")).unwrap();
    let out = moto.replatform(&dir, &["init", "--from-ecs", "prod/orders"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("already exists") && text(&out).contains("--force"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(dir.join("replatform.yaml")).unwrap(), before);
}

/// Exit 1, the message and hint wanted, and nothing written.
fn refused(moto: &Moto, target: &str, wanted: &[&str]) {
    let root = tempfile::tempdir().unwrap();
    let dir = worker_folder(root.path());
    let out = moto.replatform(&dir, &["init", "--from-ecs", target]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for w in wanted {
        assert!(text(&out).contains(w), "`{w}` missing from: {}", text(&out));
    }
    assert!(!dir.join("replatform.yaml").exists() && !dir.join(".dockerignore").exists());
}

#[test]
fn a_service_that_does_not_exist_is_named_and_nothing_is_written() {
    let moto = moto();
    running_worker(&moto, &[]);
    refused(
        &moto,
        "prod/missing",
        &[
            "no ECS service `missing` in cluster `prod`",
            "aws ecs list-services",
        ],
    );
}

#[test]
fn a_task_without_a_queue_variable_is_refused() {
    let moto = moto();
    running_worker(&moto, &["--no-queue-var"]);
    refused(
        &moto,
        "prod/orders",
        &["holding an SQS queue URL", "SQS_QUEUE_URL="],
    );
}

#[test]
fn a_malformed_target_is_a_usage_error() {
    let root = tempfile::tempdir().unwrap();
    let out = crate::common::replatform(
        "http://127.0.0.1:9",
        root.path(),
        &["init", "--from-ecs", "just-a-service"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("CLUSTER/SERVICE"), "{}", text(&out));
}

#[test]
fn a_denied_call_names_the_permission_to_grant_and_nothing_is_written() {
    // moto checks requests against IAM after its first N (INITIAL_NO_AUTH_ACTION_COUNT); the
    // fixture makes the worker and a reader lacking `iam:ListRolePolicies` within those N.
    let moto = Moto::start_with(&[
        ("MOTO_IAM_LOAD_MANAGED_POLICIES", "true"),
        ("INITIAL_NO_AUTH_ACTION_COUNT", "80"),
    ]);
    let made = running_worker(&moto, &["--reader-after", "80"]);
    let key = |k: &str| made["reader"][k].as_str().unwrap().to_string();
    let root = tempfile::tempdir().unwrap();
    let dir = worker_folder(root.path());
    let out = moto.replatform_with(
        &dir,
        &["init", "--from-ecs", "prod/orders"],
        &[
            ("AWS_ACCESS_KEY_ID", key("access_key_id")),
            ("AWS_SECRET_ACCESS_KEY", key("secret_access_key")),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    // moto's IAM answers the denial with a 403 whose body the SDK cannot read as an AWS error.
    for w in [
        "403",
        "inline policies of role `orders-task`",
        "grant the caller `iam:ListRolePolicies`",
    ] {
        assert!(said.contains(w), "`{w}` missing from: {said}");
    }
    assert!(!said.contains(&key("secret_access_key")));
    assert!(!dir.join("replatform.yaml").exists() && !dir.join(".dockerignore").exists());
}

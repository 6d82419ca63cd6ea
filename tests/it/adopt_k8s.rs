//! `replatform init --from-k8s PATH...` with the real binary against moto: the queues and the
//! roles the manifests name are made through the SQS and IAM APIs first
//! (`tests/fixtures/k8s/make.py`); the Kubernetes side is only files (tests/fixtures/k8s, their
//! `${...}` filled with what was made): no API server runs. Each written config leaves only the
//! ECS network to fill, then validates and renders; no Secret's value shows anywhere.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use serde_yaml_ng::Value;

use crate::adopt::{every_file, fixture, moto, scale_out_steps, text, worker_folder};
use crate::adopt_shapes::cfn_lint_rendered;
use crate::common::repo;
use crate::emulator::{Moto, IMAGE};

/// The Secrets' values in helm.yaml and static-keys.yaml, decoded, and as the manifests hold
/// them (base64).
const SECRET_VALUES: [&str; 6] = [
    "s3cr3t-k8s-value-never-shown",
    "czNjcjN0LWs4cy12YWx1ZS1uZXZlci1zaG93bg==",
    "AKIAK8SFAKEKEYNEVERSHOWN",
    "QUtJQUs4U0ZBS0VLRVlORVZFUlNIT1dO",
    "wJalrK8sStaticSecretNeverShown0000",
    "d0phbHJLOHNTdGF0aWNTZWNyZXROZXZlclNob3duMDAwMA==",
];

/// moto with what `tests/fixtures/k8s/make.py` made in it, and the fixture manifests filled
/// with it under a temporary root (`m`).
struct Setup {
    moto: Moto,
    made: Json,
    root: tempfile::TempDir,
    m: PathBuf,
}

fn setup() -> Setup {
    let moto = moto();
    let made = fixture("k8s/make.py", &[moto.endpoint.as_str()]);
    let root = tempfile::tempdir().unwrap();
    let m = manifests(root.path(), &made);
    Setup {
        moto,
        made,
        root,
        m,
    }
}

/// The fixture manifests copied under `root/manifests`, their `${...}` filled from `made`.
fn manifests(root: &Path, made: &Json) -> PathBuf {
    let to = root.join("manifests");
    copy(&repo().join("tests/fixtures/k8s"), &to, made);
    to
}

fn copy(from: &Path, to: &Path, made: &Json) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy(&p, &dest, made);
            continue;
        }
        let mut body = std::fs::read_to_string(&p).unwrap();
        for (var, key) in [
            ("${QUEUE_URL}", "queue_url"),
            ("${OTHER_URL}", "other_url"),
            ("${RESULTS_URL}", "results_url"),
            ("${FIFO_URL}", "fifo_url"),
            ("${ROLE_ARN}", "role_arn"),
            ("${KEDA_ROLE_ARN}", "keda_role_arn"),
        ] {
            body = body.replace(var, made[key].as_str().unwrap());
        }
        std::fs::write(dest, body).unwrap();
    }
}

struct Adopted {
    dir: PathBuf,
    done: Json,
    config: Value,
    written: String,
    outputs: Vec<String>,
}

/// `init --from-k8s ARGS` in a worker folder: exit 0, the JSON answer and the written config.
fn adopt(moto: &Moto, root: &Path, args: &[&str]) -> Adopted {
    adopt_in(moto, worker_folder(root), args)
}

/// `init --from-k8s ARGS` in `dir`.
fn adopt_in(moto: &Moto, dir: PathBuf, args: &[&str]) -> Adopted {
    let mut full = vec!["init"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--output", "json"]);
    let out = moto.replatform(&dir, &full);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let done: Json = serde_json::from_slice(&out.stdout).unwrap();
    let written = std::fs::read_to_string(dir.join("replatform.yaml")).unwrap();
    eprintln!("{written}");
    let config: Value = serde_yaml_ng::from_str(&written).unwrap();
    // The text report too: what a person reads.
    let out_text = {
        let mut a = vec!["init"];
        a.extend_from_slice(args);
        a.push("--force");
        moto.replatform(&dir, &a)
    };
    assert_eq!(out_text.status.code(), Some(0), "{}", text(&out_text));
    Adopted {
        dir,
        done,
        config,
        written,
        outputs: vec![text(&out), text(&out_text)],
    }
}

fn has(a: &Adopted, kind: &str, field: &str, what: &str) -> bool {
    a.done["report"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| {
            i["kind"] == kind
                && i["field"].as_str().unwrap().contains(field)
                && i["what"].as_str().unwrap().contains(what)
        })
}

/// `validate` names only the ECS network until it is filled; then it validates, `render`
/// writes both stacks and cfn-lint finds nothing in them.
fn validates_once_the_network_is_filled(moto: &Moto, a: &mut Adopted) {
    let out = moto.replatform(&a.dir, &["validate", "--output", "json"]);
    a.outputs.push(text(&out));
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false, "{v}");
    let errors: Vec<String> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["path"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(!errors.is_empty(), "{v}");
    assert!(
        errors
            .iter()
            .all(|p| p == "ecs.subnets" || p == "ecs.security_groups"),
        "only the network is left: {v}"
    );
    let filled = a
        .written
        .replace("  subnets: []", "  subnets: [subnet-0a1b2c3d]")
        .replace("  security_groups: []", "  security_groups: [sg-0a1b2c3d]");
    std::fs::write(a.dir.join("replatform.yaml"), &filled).unwrap();
    let out = moto.replatform(&a.dir, &["validate", "--output", "json"]);
    a.outputs.push(text(&out));
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), v["valid"].as_bool()),
        (Some(0), Some(true)),
        "{v}\n{filled}"
    );
    let out = moto.replatform(&a.dir, &["render", "--image-uri", IMAGE]);
    a.outputs.push(text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    cfn_lint_rendered(&a.dir);
}

/// The text report, as a person reads it, against its snapshot (moto's endpoint filtered).
fn report_snapshot(name: &str, a: &Adopted) {
    insta::with_settings!({ filters => vec![(r"http://127\.0\.0\.1:\d+", "[MOTO]")], prepend_module_to_snapshot => true }, {
        insta::assert_snapshot!(name, a.outputs[1]);
    });
}

fn no_secret_shows(a: &Adopted) {
    let mut all = a.outputs.clone();
    all.extend(every_file(&a.dir).into_iter().map(|(_, b)| b));
    for body in all {
        for s in SECRET_VALUES {
            assert!(!body.contains(s), "a secret's value shows:\n{body}");
        }
    }
}

#[test]
fn a_deployment_with_irsa_becomes_a_config_that_validates_and_renders() {
    let Setup {
        moto,
        made,
        root,
        m,
    } = setup();
    let plain = m.join("plain");
    let mut a = adopt(&moto, root.path(), &["--from-k8s", plain.to_str().unwrap()]);
    let c = &a.config;
    assert_eq!(c["service"], "orders-worker", "{}", a.written);
    assert_eq!(c["region"], "eu-west-1");
    assert_eq!(c["image"]["platform"], "linux/arm64");
    assert_eq!(c["queue"]["url_env"], "SQS_QUEUE_URL");
    assert_eq!(c["queue"]["visibility_timeout"], "120s");
    assert_eq!(
        c["queue"]["dead_letter"]["max_receive_count"].as_u64(),
        Some(3)
    );
    assert_eq!(c["environment"]["LOG_LEVEL"], "info");
    // 1 CPU and 1536 Mi: the Fargate pair 1024/2048.
    assert_eq!(
        (c["ecs"]["cpu"].as_u64(), c["ecs"]["memory"].as_u64()),
        (Some(1024), Some(2048)),
        "{}",
        a.written
    );
    assert_eq!(c["lambda"]["memory"].as_u64(), Some(2048));
    assert_eq!(c["ecs"]["command"][1], "app.py");
    assert_eq!(
        (
            c["ecs"]["scaling"]["min"].as_u64(),
            c["ecs"]["scaling"]["max"].as_u64()
        ),
        (Some(0), Some(12))
    );
    assert_eq!(scale_out_steps(c), vec![(1, 1), (40, 2), (160, 8)]);
    assert_eq!(c["ecs"]["scaling"]["scale_in_after"], "180s");
    // production.k8s names the workload KEDA scales, for `cutover`; the context is the user's.
    let k8s = &c["production"]["k8s"];
    assert_eq!(
        (
            k8s["namespace"].as_str(),
            k8s["deployment"].as_str(),
            k8s["scaled_object"].as_str()
        ),
        (Some("shop"), Some("orders-worker"), Some("orders-worker")),
        "{}",
        a.written
    );
    assert!(a.written.contains("# context: "), "{}", a.written);
    assert_eq!(
        c["permissions"]["managed_policies"][0],
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    );
    assert_eq!(
        c["permissions"]["statements"][0]["Resource"],
        made["table"].as_str().unwrap()
    );
    // KEDA's TriggerAuthentication (identityOwner: workload) names no role: the IRSA one is read.
    assert!(!has(&a, "changed", "permissions", "no role"));
    // The role's grant on the production queue is not copied.
    assert!(!a.written.contains(":orders\""), "{}", a.written);
    assert_eq!(
        a.done["report"]["production"],
        "Deployment shop/orders-worker"
    );
    assert!(has(&a, "changed", "ecs.cpu", "1536 MiB"));
    assert!(has(
        &a,
        "changed",
        "ecs.scaling.scale_out",
        "queueLength 20"
    ));
    assert!(has(
        &a,
        "changed",
        "terminationGracePeriodSeconds",
        "no field for ECS's `stopTimeout`"
    ));
    // The `schedule` trigger's timeout is the queue's visibility timeout, above the 60 s.
    assert!(has(&a, "unchanged", "lambda.timeout", "120s covers"));
    assert!(has(&a, "changed", "ecs.subnets", "left to fill"));
    report_snapshot("k8s_report_plain", &a);
    validates_once_the_network_is_filled(&moto, &mut a);
    no_secret_shows(&a);
}

#[test]
fn a_helm_render_with_several_workers_needs_workload_and_reports_what_lambda_cannot_run() {
    let Setup { moto, root, m, .. } = setup();
    let helm = m.join("helm.yaml");

    // Two SQS workers: an error that lists both, nothing written.
    let dir = worker_folder(&root.path().join("x").tap_mkdir());
    let out = moto.replatform(&dir, &["init", "--from-k8s", helm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("shop/orders") && said.contains("shop/emails") && said.contains("--workload"),
        "{said}"
    );
    assert!(!dir.join("replatform.yaml").exists());

    let mut a = adopt(
        &moto,
        root.path(),
        &[
            "--from-k8s",
            helm.to_str().unwrap(),
            "--workload",
            "shop/orders",
        ],
    );
    let c = &a.config;
    assert_eq!(c["queue"]["url_env"], "ORDERS_QUEUE_URL", "{}", a.written);
    assert_eq!(c["environment"]["LOG_LEVEL"], "debug");
    assert_eq!(c["environment"]["BATCH"], "10");
    assert!(!a.written.contains("task role"), "{}", a.written);
    assert_eq!(
        a.done["report"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["field"] == "secrets.DB_PASSWORD")
            .count(),
        1,
        "each secret reference said once"
    );
    assert_eq!(
        c["secrets"]["DB_PASSWORD"],
        "arn:aws:ssm:eu-west-1:123456789012:parameter/k8s/shop/orders-db/password"
    );
    assert!(
        c["secrets"].get("user").is_some(),
        "envFrom's Secret keys: {}",
        a.written
    );
    assert!(
        c["environment"].get("AWS_REGION").is_none(),
        "Lambda's reserved variable"
    );
    assert!(has(
        &a,
        "cannot",
        "containers[1] `statsd-exporter`",
        "sidecar"
    ));
    assert!(has(&a, "changed", "volumes `scratch`", "emptyDir"));
    assert!(has(&a, "cannot", "volumes `docker-sock`", "hostPath"));
    assert!(has(
        &a,
        "cannot",
        "initContainers `migrate`",
        "init container"
    ));
    assert!(has(&a, "cannot", "privileged", "privileged"));
    assert!(has(&a, "cannot", "portMappings `orders`", "[8080]"));
    assert!(has(&a, "cannot", "environment.AWS_REGION", "us-east-1"));
    assert!(has(&a, "changed", "secrets.DB_PASSWORD", "never read"));
    report_snapshot("k8s_report_helm", &a);
    validates_once_the_network_is_filled(&moto, &mut a);
    no_secret_shows(&a);
}

#[test]
fn a_list_export_with_a_statefulset_fifo_queue_and_trigger_authentication() {
    let Setup { moto, root, m, .. } = setup();
    let mut a = adopt(
        &moto,
        root.path(),
        &["--from-k8s", m.join("list.yaml").to_str().unwrap()],
    );
    let c = &a.config;
    assert_eq!(c["service"], "payments", "{}", a.written);
    assert_eq!(c["queue"]["fifo"], true);
    assert_eq!(c["image"]["platform"], "linux/amd64");
    assert_eq!(
        (c["ecs"]["cpu"].as_u64(), c["ecs"]["memory"].as_u64()),
        (Some(2048), Some(4096))
    );
    assert_eq!(
        c["permissions"]["statements"][0]["Resource"], "arn:aws:s3:::ledger/*",
        "the TriggerAuthentication's role: {}",
        a.written
    );
    assert_eq!(scale_out_steps(c)[0], (3, 1));
    assert!(has(&a, "cannot", "queue.url_env", "its code names it"));
    assert!(has(&a, "changed", "command", "ENTRYPOINT"));
    assert_eq!(
        a.done["report"]["production"],
        "StatefulSet billing/payments"
    );
    report_snapshot("k8s_report_list", &a);
    validates_once_the_network_is_filled(&moto, &mut a);
}

#[test]
fn a_scaled_object_with_two_sqs_triggers_becomes_two_queues() {
    let Setup {
        moto,
        made,
        root,
        m,
    } = setup();
    // No source folder: the bridge trigger, whose timeout (the visibility timeout / 6) the
    // grace period raises.
    let dir = root.path().join("notifier");
    std::fs::create_dir(&dir).unwrap();
    let mut a = adopt_in(
        &moto,
        dir,
        &["--from-k8s", m.join("multi.yaml").to_str().unwrap()],
    );
    let c = &a.config;
    assert!(c.get("queue").is_none(), "{}", a.written);
    assert_eq!(c["queues"]["orders"]["url_env"], "ORDERS_QUEUE_URL");
    assert_eq!(c["queues"]["emails"]["url_env"], "EMAILS_QUEUE_URL");
    assert_eq!(c["queues"]["orders"]["visibility_timeout"], "120s");
    assert_eq!(c["queues"]["emails"]["visibility_timeout"], "600s");
    assert!(
        c["queues"]["emails"].get("consumed").is_none(),
        "both are consumed: {}",
        a.written
    );
    assert_eq!(
        c["queues"].as_mapping().unwrap().len(),
        2,
        "the queue KEDA does not scale on is no entry: {}",
        a.written
    );
    // Neither production queue is handed to the experiment workers; the third one is, as it is.
    assert!(c["environment"].get("ORDERS_QUEUE_URL").is_none());
    assert!(c["environment"].get("EMAILS_QUEUE_URL").is_none());
    assert_eq!(
        c["environment"]["RESULTS_QUEUE_URL"],
        made["results_url"].as_str().unwrap()
    );
    // The smallest queueLength (10) and activationQueueLength (0) of the two triggers.
    assert_eq!(scale_out_steps(c), vec![(1, 1), (20, 2), (80, 8)]);
    assert_eq!(c["lambda"]["trigger"]["type"], "bridge");
    assert_eq!(c["lambda"]["timeout"], "90s", "{}", a.written);
    // Each queue's mapping scales to max_concurrency 2.
    assert_eq!(c["lambda"]["reserved_concurrency"].as_u64(), Some(4));
    // Each entry's production queue, under `production.queues`.
    assert_eq!(
        c["production"]["queues"]["emails"],
        made["other_url"].as_str().unwrap(),
        "{}",
        a.written
    );
    assert!(has(&a, "changed", "queues.emails", "scales on it"));
    assert!(has(&a, "changed", "queues", "2 queues"));
    assert!(has(&a, "changed", "ecs.scaling.scale_out", "2 triggers"));
    assert!(has(
        &a,
        "changed",
        "environment.RESULTS_QUEUE_URL",
        "KEDA does not scale on"
    ));
    assert!(has(&a, "changed", "lambda.timeout", "raised from 20s"));
    assert!(has(&a, "changed", "terminationGracePeriodSeconds", "90s"));
    report_snapshot("k8s_report_multi", &a);
    validates_once_the_network_is_filled(&moto, &mut a);
}

#[test]
fn static_keys_leave_the_identity_to_give_and_no_key_shows() {
    let Setup { moto, root, m, .. } = setup();
    let mut a = adopt(
        &moto,
        root.path(),
        &["--from-k8s", m.join("static-keys.yaml").to_str().unwrap()],
    );
    let c = &a.config;
    assert_eq!(c["queue"]["url_env"], "QUEUE_URL", "{}", a.written);
    assert!(c.get("permissions").is_none(), "{}", a.written);
    assert!(
        c.get("secrets").is_none(),
        "the keys are no secrets: {}",
        a.written
    );
    assert!(!a.written.contains("AWS_ACCESS_KEY_ID"), "{}", a.written);
    assert!(has(&a, "changed", "permissions", "no role to read"));
    assert!(has(&a, "changed", "permissions", "`aws-keys`"));
    report_snapshot("k8s_report_static_keys", &a);
    validates_once_the_network_is_filled(&moto, &mut a);
    no_secret_shows(&a);
}

#[test]
fn a_worker_with_no_handler_runs_under_the_bridge_with_its_command_and_args() {
    let Setup { moto, root, m, .. } = setup();
    // No source folder: nothing names a handler, so the worker runs unchanged.
    let dir = root.path().join("payments");
    std::fs::create_dir(&dir).unwrap();
    let list = m.join("list.yaml");
    let out = moto.replatform(
        &dir,
        &[
            "init",
            "--from-k8s",
            list.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = std::fs::read_to_string(dir.join("replatform.yaml")).unwrap();
    let c: Value = serde_yaml_ng::from_str(&written).unwrap();
    assert_eq!(c["lambda"]["trigger"]["type"], "bridge", "{written}");
    // `command` replaces the ENTRYPOINT, `args` the CMD (docs/config.md#the-bridge-trigger).
    assert_eq!(c["lambda"]["entry_point"][0], "/app/payments", "{written}");
    assert_eq!(c["ecs"]["command"][0], "--poll", "{written}");
    let done: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        done["report"]["handler"]
            .as_str()
            .unwrap()
            .contains("bridge"),
        "{done}"
    );
}

#[test]
fn bad_manifests_are_clear_errors_and_nothing_is_written() {
    let Setup {
        moto,
        made,
        root,
        m,
    } = setup();
    let dir = worker_folder(root.path());
    for (path, says) in [
        (m.join("not-yaml.yaml"), "is not YAML"),
        (m.join("no-sqs.yaml"), "`default/lonely`"),
        (m.join("missing.yaml"), "cannot read"),
    ] {
        let out = moto.replatform(&dir, &["init", "--from-k8s", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains(says), "{}", text(&out));
        assert!(!dir.join("replatform.yaml").exists());
    }
    let out = moto.replatform(
        &dir,
        &[
            "init",
            "--from-k8s",
            m.join("plain").to_str().unwrap(),
            "--workload",
            "shop/nope",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("shop/orders-worker"), "{}", text(&out));
    // A role that does not exist: IAM's answer, nothing written.
    let gone = root.path().join("gone");
    copy(&m.join("plain"), &gone, &made);
    let sa = gone.join("serviceaccount.yaml");
    let body = std::fs::read_to_string(&sa).unwrap().replace(
        made["role_arn"].as_str().unwrap(),
        "arn:aws:iam::123456789012:role/no-such-role",
    );
    std::fs::write(&sa, body).unwrap();
    let out = moto.replatform(&dir, &["init", "--from-k8s", gone.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no-such-role")
            && text(&out).contains("NoSuchEntity")
            && text(&out).contains("the ServiceAccount `orders`'s eks.amazonaws.com/role-arn"),
        "{}",
        text(&out)
    );
    assert!(!dir.join("replatform.yaml").exists());
    let out = moto.replatform(
        &dir,
        &["init", "--from-k8s", "x.yaml", "--from-ecs", "prod/orders"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

trait Mkdir {
    fn tap_mkdir(self) -> Self;
}

impl Mkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

//! `init --from-ecs` on five real-world ECS queue workers, each rebuilt in moto through the real
//! APIs by `tests/fixtures/adopt/shapes.py` (its docstring says what each tool makes and where
//! that is documented): an AWS Copilot Worker Service, the CDK's `QueueProcessingFargateService`,
//! a Terraform service with a FireLens log router and Secrets Manager references, a worker whose
//! SQS consumer is a sidecar, and a worker whose six queue URLs arrive as SSM String parameters.
//! Each one: `init --from-ecs`, `validate`, `render` and cfn-lint on the rendered templates; the
//! report names what it must; no secret value in any output or file; and the rendered stacks name
//! no production queue (URL, name or ARN) outside the disabled production mappings and the
//! Lambda role's statement that lets them consume it after `cutover`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;
use serde_yaml_ng::Value;

use crate::adopt::{
    every_file, fixture, moto, scale_out_steps, text, validated_and_rendered, worker_folder,
};
use crate::emulator::Moto;

/// What `init --from-ecs` made of one shape, once validated and rendered.
struct Adopted {
    _root: tempfile::TempDir,
    dir: PathBuf,
    made: Json,
    /// The report (`init --output json`'s `report`).
    report: Json,
    config: Value,
    /// Every output of every command run.
    outputs: Vec<String>,
}

impl Adopted {
    /// Whether the report has an item of `kind` whose field holds `field` and whose text holds
    /// `what`.
    fn says(&self, kind: &str, field: &str, what: &str) -> bool {
        self.report["items"].as_array().unwrap().iter().any(|i| {
            i["kind"] == kind
                && i["field"].as_str().unwrap().contains(field)
                && i["what"].as_str().unwrap().contains(what)
        })
    }

    fn stack(&self, kind: &str) -> Value {
        let service = self.config["service"].as_str().unwrap();
        let path = self.dir.join(format!(".replatform/{service}-{kind}.yaml"));
        serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }
}

/// Makes `shape` in moto through the real APIs; what was made, as the fixture prints it.
fn make(moto: &Moto, shape: &str, extra: &[&str]) -> Json {
    let mut args = vec![shape, moto.endpoint.as_str()];
    args.extend_from_slice(extra);
    fixture("adopt/shapes.py", &args)
}

/// cfn-lint on the templates `render` wrote into `dir/.replatform`: both stacks at least.
pub(crate) fn cfn_lint_rendered(dir: &Path) {
    let templates: Vec<PathBuf> = std::fs::read_dir(dir.join(".replatform"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    assert!(templates.len() >= 2, "{templates:?}");
    cfn_lint(&templates);
}

fn cfn_lint(files: &[PathBuf]) {
    let exe = std::env::var("CFN_LINT").unwrap_or_else(|_| "cfn-lint".into());
    let out = Command::new(&exe)
        .args(["--format", "parseable", "-c", "I", "--"])
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("`{exe}` does not run ({e}): scripts/test installs cfn-lint"));
    let findings = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "cfn-lint found:\n{findings}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `init --from-ecs` on the shape, then `validate` and `render` of what it wrote, and cfn-lint
/// on the templates. moto's queue URLs are its own endpoint's, which `validate` rightly refuses
/// for `production:`; AWS's URL of the same queue stands in for each.
fn adopt(shape: &str) -> Adopted {
    let moto = moto();
    let made = make(&moto, shape, &[]);
    let root = tempfile::tempdir().unwrap();
    let dir = worker_folder(root.path());
    let target = format!(
        "{}/{}",
        made["cluster"].as_str().unwrap(),
        made["service"].as_str().unwrap()
    );
    let mut outputs = Vec::new();
    let out = moto.replatform(&dir, &["init", "--from-ecs", &target, "--output", "json"]);
    outputs.push(text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let done: Json = serde_json::from_slice(&out.stdout).unwrap();
    // The text report too: it is what a person reads.
    let root_text = tempfile::tempdir().unwrap();
    let text_dir = worker_folder(root_text.path());
    let out = moto.replatform(&text_dir, &["init", "--from-ecs", &target]);
    outputs.push(text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for (_, body) in every_file(&text_dir) {
        outputs.push(body);
    }

    let written = std::fs::read_to_string(dir.join("replatform.yaml")).unwrap();
    let aws = written.replace(
        &format!("{}/", moto.endpoint),
        "https://sqs.eu-west-1.amazonaws.com/",
    );
    std::fs::write(dir.join("replatform.yaml"), &aws).unwrap();
    let config: Value = serde_yaml_ng::from_str(&aws).unwrap();

    validated_and_rendered(&moto, &dir, &mut outputs, &aws);
    cfn_lint_rendered(&dir);

    let adopted = Adopted {
        _root: root,
        dir,
        made,
        report: done["report"].clone(),
        config,
        outputs,
    };
    no_secret_shows(&adopted, root_text.path());
    no_production_queue_reaches_the_experiment(&adopted);
    // Everything Lambda cannot run comes with its fix.
    for i in adopted.report["items"].as_array().unwrap() {
        if i["kind"] == "cannot" {
            assert!(i["resolve"].as_str().is_some_and(|r| !r.is_empty()), "{i}");
        }
    }
    adopted
}

/// No secret value (each fixture's secrets hold recognisable ones) in any output or file.
fn no_secret_shows(a: &Adopted, other: &Path) {
    let secrets: Vec<&str> = a.made["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(!secrets.is_empty());
    let files: Vec<(PathBuf, String)> = every_file(&a.dir)
        .into_iter()
        .chain(every_file(other))
        .collect();
    for s in &secrets {
        for o in &a.outputs {
            assert!(!o.contains(s), "`{s}` in: {o}");
        }
        for (path, body) in &files {
            assert!(!body.contains(s), "`{s}` in {}", path.display());
        }
    }
}

/// The rendered stacks name no production queue, by URL, name or ARN, outside the Lambda
/// stack's disabled production mappings and the role statement that lets them consume it.
fn no_production_queue_reaches_the_experiment(a: &Adopted) {
    let queues = a.made["queues"].as_object().unwrap();
    let names: Vec<&str> = queues.keys().map(String::as_str).collect();
    let arns: Vec<&str> = queues
        .values()
        .map(|q| q["arn"].as_str().unwrap())
        .collect();
    let named = |text: &str, name: &str| {
        [
            format!("\"{name}\""),
            format!("/{name}\""),
            format!(":{name}\""),
        ]
        .iter()
        .any(|p| text.contains(p.as_str()))
    };
    let ecs = serde_json::to_string(&a.stack("ecs")).unwrap();
    let full = a.stack("lambda");
    let mut lambda = full.clone();
    let res = lambda["Resources"].as_mapping_mut().unwrap();
    res.retain(|k, _| !k.as_str().unwrap().starts_with("Production"));
    let mut dropped = 0;
    for (_, r) in res.iter_mut() {
        if r["Type"] != "AWS::IAM::Role" {
            continue;
        }
        for p in r["Properties"]["Policies"]
            .as_sequence_mut()
            .into_iter()
            .flatten()
        {
            let st = p["PolicyDocument"]["Statement"].as_sequence_mut().unwrap();
            let before = st.len();
            st.retain(|s| {
                let t = serde_json::to_string(s).unwrap();
                !arns.iter().any(|arn| t.contains(arn)) && !names.iter().any(|n| named(&t, n))
            });
            dropped += before - st.len();
        }
    }
    assert!(dropped <= 1, "one statement reads the production queues");
    let full = serde_json::to_string(&full).unwrap();
    let lambda = serde_json::to_string(&lambda).unwrap();
    assert!(
        names.iter().any(|n| named(&full, n)),
        "the check finds a production queue where one is (the production mappings)"
    );
    for n in &names {
        assert!(!named(&ecs, n), "the ECS stack names `{n}`");
        assert!(
            !named(&lambda, n),
            "the Lambda stack names `{n}` outside the production mappings"
        );
    }
}

fn var<'a>(c: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(c, |v, k| &v[*k])
}

#[test]
fn a_copilot_worker_service_keeps_its_three_queues_and_hands_none_to_the_experiment() {
    let a = adopt("copilot");
    let c = &a.config;
    let queues = c["queues"].as_mapping().unwrap();
    assert_eq!(queues.len(), 3, "{c:?}");
    let json_keys: Vec<&str> = queues
        .values()
        .filter_map(|q| q["json_env"]["key"].as_str())
        .collect();
    assert_eq!(json_keys, ["ordersEventsQueue", "paymentsEventsQueue"]);
    assert!(queues.values().any(|q| q["url_env"] == "COPILOT_QUEUE_URI"));
    assert!(queues
        .values()
        .filter(|q| q.get("json_env").is_some())
        .all(|q| q["json_env"]["var"] == "COPILOT_TOPIC_QUEUE_URIS"));
    for v in ["COPILOT_TOPIC_QUEUE_URIS", "COPILOT_QUEUE_URI"] {
        assert!(c["environment"].get(v).is_none(), "{v}");
    }
    assert_eq!(c["environment"]["COPILOT_SERVICE_NAME"], "worker");
    assert_eq!(c["production"]["queues"].as_mapping().unwrap().len(), 3);
    assert!(
        var(c, &["secrets", "DB_PASSWORD"])
            .as_str()
            .unwrap()
            .ends_with(":parameter/copilot/shop/prod/secrets/DB_PASSWORD"),
        "the SecureString stays a secret, by ARN"
    );
    assert!(a.says("cannot", "volumes `shared`", "Amazon EFS"));
    assert!(a.says("changed", "json_env", "under `paymentsEventsQueue`"));
    assert!(a.says(
        "changed",
        "ecs.scaling.scale_out",
        "tracked `BacklogPerTask` at 100"
    ));
}

#[test]
fn a_cdk_queue_processing_service_is_found_by_its_queue_name() {
    let a = adopt("cdk");
    let c = &a.config;
    assert_eq!(c["queue"]["name_env"], "QUEUE_NAME");
    assert!(c["queue"].get("url_env").is_none());
    assert!(c["environment"].get("QUEUE_NAME").is_none());
    let service = c["service"].as_str().unwrap();
    // CloudFormation's random suffix and the CDK's logical-id hash are not part of the name.
    assert!(
        !service.is_empty()
            && service.len() <= 32
            && !service.contains("qwerty")
            && !service.contains("7c2b1a0f"),
        "{service}"
    );
    assert!(a.says("changed", "service", "from the ECS service's name"));
    assert!(a.says("changed", "queue.name_env", "held the queue's name"));
    assert!(
        a.says("changed", "ecs.scaling", "`QueueProcessingCpuScaling`")
            && a.says("changed", "ecs.scaling", "is not copied"),
        "{}",
        a.report
    );
    let steps = scale_out_steps(c);
    assert_eq!(
        steps,
        [(100, 1), (500, 5)],
        "the upper policy's steps from its alarm's 100"
    );
    assert!(a.says(
        "changed",
        "ecs.scaling.scale_in_after",
        "QueueMessagesVisibleScalingLowerPolicy"
    ));
    assert!(c["secrets"]["API_TOKEN"]
        .as_str()
        .unwrap()
        .ends_with(":token::"));
}

#[test]
fn a_terraform_service_gets_every_secret_form_as_an_arn_and_its_math_alarm_read() {
    let a = adopt("terraform");
    let c = &a.config;
    let m = &a.made;
    assert_eq!(c["secrets"]["LICENSE"], m["license_arn"].as_str().unwrap());
    assert_eq!(
        c["secrets"]["DB_PASSWORD"].as_str().unwrap(),
        format!("{}:password::", m["db_arn"].as_str().unwrap())
    );
    assert_eq!(
        c["secrets"]["API_KEY"].as_str().unwrap(),
        format!("{}:key:AWSCURRENT:", m["api_arn"].as_str().unwrap())
    );
    assert!(a.says("changed", "secrets.LICENSE", "DescribeSecret"));
    assert_eq!(
        c["permissions"]["statements"][0]["Action"], "s3:GetObject",
        "the task role, given by name, is read; its grant on the production queue is not copied"
    );
    assert_eq!(
        c["permissions"]["statements"].as_sequence().unwrap().len(),
        1
    );
    assert!(a.says("changed", "permissions.statements", "billing-jobs"));
    let steps = scale_out_steps(c);
    assert_eq!(
        steps,
        [(5, 1), (55, 3)],
        "from the metric-math alarm's threshold 5"
    );
    assert!(a.says(
        "changed",
        "queue",
        "the scaling alarm `billing-backlog` watches it"
    ));
    assert!(a.says("cannot", "`log_router`", "FireLens"));
    assert!(a.says("changed", "dependsOn", "`log_router`"));
}

#[test]
fn a_sidecar_consumer_is_named_with_the_app_it_feeds() {
    let a = adopt("sidecar");
    assert!(
        a.says("cannot", "`sqs-poller`", "real SQS consumer"),
        "{}",
        a.report
    );
    assert!(a.says("cannot", "`sqs-poller`", "feeds `app`"));
    assert!(a.says("cannot", "portMappings `app`", "[8080]"));
    assert!(a.says("changed", "ecs.scaling", "fixed desired count of 2"));
    assert!(
        a.says("cannot", "ephemeralStorage", "40 GiB"),
        "{}",
        a.report
    );
    assert_eq!(a.config["ecs"]["scaling"]["max"], 10);
    assert_eq!(a.config["queue"]["url_env"], "SQS_QUEUE_URL");
}

#[test]
fn six_queues_from_ssm_string_parameters_become_queues_and_no_secure_string_is_read() {
    let a = adopt("ssm");
    let c = &a.config;
    let queues = c["queues"].as_mapping().unwrap();
    let keys: Vec<&str> = queues.keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(
        keys,
        ["orders", "payments", "refunds", "returns", "email", "log"]
    );
    let unconsumed: Vec<&str> = queues
        .iter()
        .filter(|(_, q)| q["consumed"] == false)
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    assert_eq!(unconsumed, ["email", "log"]);
    assert_eq!(c["queues"]["orders"]["url_env"], "ORDERS_QUEUE_URL");
    let secrets: Vec<&str> = c["secrets"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(secrets, ["DB_PASSWORD", "BATCH_SIZE"]);
    assert!(a.says(
        "changed",
        "secrets.ORDERS_QUEUE_URL",
        "SSM String parameter"
    ));
    assert!(a.says("changed", "queues.log", "may only `sqs:SendMessage`"));
    assert!(a.says("changed", "queues.refunds", "`ingest-backlog` watches it"));
    assert_eq!(c["production"]["queues"].as_mapping().unwrap().len(), 6);
    assert!(a.says("changed", "ecs.scaling.scale_out", "over the queues `ingest-orders`, `ingest-payments`, `ingest-refunds`, `ingest-returns`"), "{}", a.report);
    let steps = &c["ecs"]["scaling"]["scale_out"];
    assert_eq!(
        (steps[0]["from"].as_u64(), steps[0]["add"].as_i64()),
        (Some(20), Some(2))
    );
}

#[test]
fn a_secret_reference_that_cannot_be_described_is_left_out_with_the_command_to_find_it() {
    // moto checks requests against IAM after its first N (INITIAL_NO_AUTH_ACTION_COUNT); the
    // fixture makes the Terraform service and a reader lacking `secretsmanager:DescribeSecret`
    // within those N.
    let moto = Moto::start_with(&[
        ("MOTO_IAM_LOAD_MANAGED_POLICIES", "true"),
        ("INITIAL_NO_AUTH_ACTION_COUNT", "120"),
    ]);
    let made = make(
        &moto,
        "terraform",
        &[
            "--reader-without",
            "secretsmanager:DescribeSecret",
            "--reader-after",
            "120",
        ],
    );
    let key = |k: &str| made["reader"][k].as_str().unwrap().to_string();
    let root = tempfile::tempdir().unwrap();
    let dir = worker_folder(root.path());
    let out = moto.replatform_with(
        &dir,
        &[
            "init",
            "--from-ecs",
            "billing/billing-worker",
            "--output",
            "json",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", key("access_key_id")),
            ("AWS_SECRET_ACCESS_KEY", key("secret_access_key")),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let done: Json = serde_json::from_slice(&out.stdout).unwrap();
    let c: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(dir.join("replatform.yaml")).unwrap())
            .unwrap();
    assert!(c["secrets"].get("LICENSE").is_none(), "{c:?}");
    assert!(
        c["secrets"].get("DB_PASSWORD").is_some(),
        "full ARNs need no call"
    );
    let item = done["report"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["field"] == "secrets.LICENSE")
        .unwrap_or_else(|| panic!("{done}"));
    let what = item["what"].as_str().unwrap();
    assert!(
        what.contains("left out") && what.contains("could not be described"),
        "{item}"
    );
    assert!(
        item["resolve"]
            .as_str()
            .unwrap()
            .contains("aws secretsmanager describe-secret --secret-id billing/license"),
        "{item}"
    );
    let said = text(&out);
    assert!(!said.contains(&key("secret_access_key")));
    for s in made["secrets"].as_array().unwrap() {
        assert!(!said.contains(s.as_str().unwrap()));
    }
}

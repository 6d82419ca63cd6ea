//! Shared by the integration tests: configs, variations of them, rendering, and the environment
//! the binary runs with against an AWS emulator.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use replatform::core::config::{self, Config};
#[cfg(feature = "full-tests")]
use replatform::core::image_ref;
use replatform::core::render::{self, Data, Image, RenderedStack, Sources};
use serde_yaml_ng::Value;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The image the emulator tests deploy: a digest in the account moto uses, never pulled.
pub const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker@sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// The columns of `samples.csv`, which `compare` and `simulate` both write.
pub const COLUMNS: &str = "time,elapsed_s,platform,visible,in_flight,delayed,dead_letter,workers,ecs_desired,ecs_running,ecs_pending,lambda_concurrency,lambda_invocations,lambda_errors,lambda_throttles,cloudwatch_minute,sent,notes";

/// The region every emulator test works in.
pub const REGION: &str = "eu-west-1";

/// The emulator's fake access key id and secret (moto takes any).
pub const FAKE_KEY: &str = "testing";

/// What the binary needs to talk to an AWS emulator at `endpoint` and nothing else: the endpoint,
/// fake credentials, the region, one attempt (moto answers some errors with HTML pages: a retry
/// could repeat a create), no profile files and no instance metadata. Remove [`UNSET`] as well.
pub fn emulator_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", FAKE_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", FAKE_KEY.into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_MAX_ATTEMPTS", "1".into()),
        ("AWS_CONFIG_FILE", "/nonexistent".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// The variables of the machine's own AWS setup that must not reach the binary.
pub const UNSET: [&str; 2] = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"];

/// The binary in `dir` with `args` against the emulator at `endpoint`: [`emulator_env`], colors
/// off, stdin closed.
pub fn replatform(endpoint: &str, dir: &Path, args: &[impl AsRef<std::ffi::OsStr>]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replatform"));
    cmd.current_dir(dir)
        .args(args)
        .envs(emulator_env(endpoint))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for k in UNSET {
        cmd.env_remove(k);
    }
    cmd
}

pub fn examples() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("replatform.yaml").is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                p.join("replatform.yaml"),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 2, "expected both examples, found {out:?}");
    out
}

/// A small valid config with an `sqs` trigger; tests change what they examine.
pub const BASE: &str = r#"service: orders-worker
region: eu-west-1
environment:
  LOG_LEVEL: info
queue:
  visibility_timeout: 180s
ecs:
  subnets: [subnet-0a1b2c3d, subnet-0123456789abcdef0]
  security_groups: [sg-0a1b2c3d]
lambda:
  timeout: 30s
  reserved_concurrency: 5
  entry_point: ["/usr/local/bin/python", "-m", "awslambdaric"]
  command: ["app.handler"]
  working_directory: /app
  trigger:
    type: sqs
    max_concurrency: 5
"#;

/// `BASE` with values set (`Value::Null` removes the key), as YAML text.
pub fn variant(base: &str, changes: &[(&str, Value)]) -> String {
    let mut doc: Value = serde_yaml_ng::from_str(base).unwrap();
    for (path, value) in changes {
        let keys: Vec<&str> = path.split('.').collect();
        let mut node = &mut doc;
        for k in &keys[..keys.len() - 1] {
            let map = node.as_mapping_mut().unwrap();
            node = map
                .entry(Value::from(*k))
                .or_insert_with(|| Value::Mapping(Default::default()));
        }
        let map = node.as_mapping_mut().unwrap();
        let last = Value::from(keys[keys.len() - 1]);
        if value.is_null() {
            map.remove(&last);
        } else {
            map.insert(last, value.clone());
        }
    }
    serde_yaml_ng::to_string(&doc).unwrap()
}

pub fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

pub fn parse(text: &str) -> Config {
    match config::parse(text) {
        Ok(c) => c,
        Err(e) => panic!("config does not parse: {e:#?}\n{text}"),
    }
}

pub fn render_config(c: &Config, image: &Image<'_>) -> Vec<RenderedStack> {
    render::render(&Sources::builtin(), &Data::new(c, image)).unwrap()
}

pub fn render_text(text: &str) -> Vec<RenderedStack> {
    render_config(&parse(text), &Image::Placeholder)
}

/// The stack of a kind, parsed.
pub fn stack(stacks: &[RenderedStack], kind: &str) -> Value {
    let s = stacks
        .iter()
        .find(|s| s.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} stack"));
    serde_yaml_ng::from_str(&s.template).unwrap()
}

/// `doc["Resources"][id]["Properties"]`
pub fn props<'a>(doc: &'a Value, id: &str) -> &'a Value {
    &doc["Resources"][id]["Properties"]
}

#[cfg(feature = "full-tests")]
pub fn write_all(dir: &Path, stacks: &[RenderedStack], prefix: &str) -> Vec<PathBuf> {
    stacks
        .iter()
        .map(|s| {
            let p = dir.join(format!("{prefix}{}", s.file_name()));
            std::fs::write(&p, &s.template).unwrap();
            p
        })
        .collect()
}

/// Every field a real worker needs, at once: permissions, secrets (Secrets Manager with and without
/// a JSON key, SSM), tags, FIFO queues, provisioned pollers and the production service.
pub const WORKER_FIELDS: &str = r#"secrets:
  DB_PASSWORD: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/db-AbCdEf:password::"
  DB_USER: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/db-AbCdEf:username::"
  API_KEY: arn:aws:ssm:eu-west-1:123456789012:parameter/orders/api-key
permissions:
  managed_policies:
    - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
  statements:
    - Sid: WriteOrders
      Effect: Allow
      Action: [dynamodb:PutItem, dynamodb:UpdateItem]
      Resource: [arn:aws:dynamodb:eu-west-1:123456789012:table/orders]
    - Effect: Allow
      Action: sqs:SendMessage
      Resource: arn:aws:sqs:eu-west-1:123456789012:orders-shipped.fifo
      Condition:
        StringEquals: { "aws:ResourceAccount": "123456789012" }
  boundary: arn:aws:iam::123456789012:policy/team-boundary
tags:
  team: orders
  cost-center: "4711"
production:
  ecs_service: prod/orders-worker
  queue: https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo
"#;

/// [`BASE`] with [`WORKER_FIELDS`], FIFO queues and provisioned pollers.
pub fn worker_fields() -> String {
    let with = format!("{BASE}{WORKER_FIELDS}");
    variant(
        &with,
        &[
            ("queue.fifo", Value::from(true)),
            ("lambda.trigger.max_concurrency", Value::Null),
            ("lambda.reserved_concurrency", Value::from(20)),
            (
                "lambda.trigger.provisioned_pollers",
                yaml("{min: 2, max: 20}"),
            ),
        ],
    )
}

/// [`BASE`] with a `production:` section on a standard queue: the Lambda stack gets a
/// disabled mapping on it, and the role may consume it.
/// `config` with the `bridge` trigger and none of the handler's fields: the worker's own
/// ENTRYPOINT and CMD run (docs/bridge.md).
pub fn bridge(config: &str) -> String {
    use serde_yaml_ng::Value as V;
    let mut trigger = yaml(config)["lambda"]["trigger"].clone();
    trigger
        .as_mapping_mut()
        .unwrap()
        .insert(V::from("type"), V::from("bridge"));
    variant(
        config,
        &[
            ("lambda.trigger", trigger),
            ("lambda.entry_point", V::Null),
            ("lambda.command", V::Null),
            ("lambda.working_directory", V::Null),
        ],
    )
}

pub fn production_sqs() -> String {
    format!("{BASE}production:\n  ecs_service: prod/orders-worker\n  queue: https://sqs.eu-west-1.amazonaws.com/123456789012/orders\n")
}

/// A worker of several queues as real services have them: one found by URL, one by name (the
/// CDK's `QUEUE_NAME`), two under the keys of one JSON value (Copilot's
/// `COPILOT_TOPIC_QUEUE_URIS`), one of them FIFO, and one it only sends to; each consumed one
/// with its production queue.
pub fn several_queues() -> String {
    let base = variant(
        BASE,
        &[
            ("queue", Value::Null),
            ("lambda.reserved_concurrency", Value::from(20)),
        ],
    );
    format!(
        "{base}queues:
  orders:
    url_env: ORDERS_QUEUE_URL
    visibility_timeout: 180s
  audit:
    name_env: AUDIT_QUEUE_NAME
    visibility_timeout: 180s
  topic-events:
    json_env: {{var: TOPIC_QUEUE_URIS, key: events}}
    visibility_timeout: 180s
  topic-payments:
    json_env: {{var: TOPIC_QUEUE_URIS, key: payments}}
    visibility_timeout: 180s
    fifo: true
  results:
    url_env: RESULTS_QUEUE_URL
    consumed: false
production:
  ecs_service: prod/orders-worker
  queues:
    orders: https://sqs.eu-west-1.amazonaws.com/123456789012/orders
    audit: https://sqs.eu-west-1.amazonaws.com/123456789012/orders-audit
    topic-events: https://sqs.eu-west-1.amazonaws.com/123456789012/prod-orders-events
    topic-payments: https://sqs.eu-west-1.amazonaws.com/123456789012/prod-orders-payments.fifo
    results: https://sqs.eu-west-1.amazonaws.com/123456789012/orders-results
"
    )
}

/// Six consumed queues: the scale-in alarm's metrics no longer fit in flight beside visible.
pub fn six_queues() -> String {
    let base = variant(BASE, &[("queue", Value::Null)]);
    let mut out = format!("{base}queues:\n");
    for i in 1..=6 {
        out.push_str(&format!(
            "  q{i}:\n    url_env: QUEUE_{i}_URL\n    visibility_timeout: 180s\n"
        ));
    }
    out
}

/// The config variations every template check runs over, by name.
pub fn variations() -> Vec<(&'static str, String)> {
    use serde_yaml_ng::Value as V;
    vec![
        ("base-sqs", BASE.to_string()),
        ("arm64", variant(BASE, &[("image.platform", V::from("linux/arm64"))])),
        ("named-cluster", variant(BASE, &[("ecs.cluster", V::from("shared-cluster")), ("ecs.command", yaml("[python, app.py]"))])),
        (
            "schedule-trigger",
            variant(BASE, &[("lambda.trigger", yaml("{type: schedule, rate: 5m}")), ("lambda.reserved_concurrency", V::from(1))]),
        ),
        ("no-reserved-concurrency", variant(BASE, &[("lambda.reserved_concurrency", V::Null), ("lambda.trigger.max_concurrency", V::Null)])),
        ("no-dead-letter", variant(BASE, &[("queue.dead_letter", V::from(false))])),
        ("production-sqs", production_sqs()),
        ("production-schedule", variant(&production_sqs(), &[("lambda.trigger", yaml("{type: schedule, rate: 5m}")), ("lambda.reserved_concurrency", V::from(1))])),
        ("worker-fields", worker_fields()),
        ("several-queues", several_queues()),
        ("several-queues-schedule", variant(&several_queues(), &[("lambda.trigger", yaml("{type: schedule, rate: 5m}")), ("lambda.reserved_concurrency", V::from(1))])),
        ("six-queues", six_queues()),
        ("bridge", bridge(BASE)),
        ("production-bridge", bridge(&production_sqs())),
        ("several-queues-bridge", bridge(&several_queues())),
        (
            "bridge-own-command",
            variant(&bridge(BASE), &[("ecs.command", yaml("[python, -u, worker.py]")), ("lambda.working_directory", V::from("/srv"))]),
        ),
        (
            "worker-fields-schedule",
            variant(&worker_fields(), &[("lambda.trigger", yaml("{type: schedule}")), ("lambda.reserved_concurrency", V::from(1)), ("queue.dead_letter", V::from(false))]),
        ),
        (
            "vpc-public-ip-big",
            variant(
                BASE,
                &[
                    ("lambda.vpc", V::from(true)),
                    ("ecs.assign_public_ip", V::from(true)),
                    ("ecs.cpu", V::from(4096)),
                    ("ecs.memory", V::from(16384)),
                    ("lambda.memory", V::from(10240)),
                    ("ecs.scaling", yaml("{min: 1, max: 50, scale_out: [{from: 5, add: 2}, {from: 50, add: 5}, {from: 500, add: 20}], scale_in_after: 15m}")),
                    ("lambda.trigger", yaml("{type: sqs, batch_size: 100, max_batching_window: 5s}")),
                ],
            ),
        ),
    ]
}

/// Every stack of every example and of every [`variations`] entry (each with the image placeholder
/// and with a digest) written into `dir`: what the template checks (checkov, cfn-guard) scan.
#[cfg(feature = "full-tests")]
pub fn render_everything(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (name, path) in examples() {
        let c = parse(&std::fs::read_to_string(&path).unwrap());
        files.extend(write_all(
            dir,
            &render_config(&c, &Image::Placeholder),
            &format!("{name}--"),
        ));
    }
    let digest = image_ref::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders@sha256:2222222222222222222222222222222222222222222222222222222222222222").unwrap();
    for (name, text) in variations() {
        let c = parse(&text);
        files.extend(write_all(
            dir,
            &render_config(&c, &Image::Placeholder),
            &format!("{name}--"),
        ));
        files.extend(write_all(
            dir,
            &render_config(&c, &Image::Digest(&digest)),
            &format!("{name}-digest--"),
        ));
    }
    assert!(files.len() >= 2 * (2 + 2 * variations().len()));
    files
}

/// The entry of a JSON document's `platforms` (`local`'s, `assess`'s) for `name` (`ecs`,
/// `lambda`).
pub fn platform<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == name)
        .unwrap_or_else(|| panic!("no {name} in {doc}"))
}

//! `replatform local`, the pure part: how each platform's container is started (the Lambda
//! contract: entry point, command and working directory from the config, a read-only root with
//! only `/tmp` writable, another user, no `HOME`, the memory limit, the variables a function
//! sees), the events Lambda would send, how a handler's answer reads, and which config field a
//! runtime error points at.

use serde_json::{json, Value};

use super::config::{Builder, Config, Finder};
use super::image::Command;

/// The user Lambda runs an image as: not root, and not the image's `USER`.
pub const LAMBDA_USER: &str = "993:990";

/// The engine that runs containers for the configured builder; buildah only builds.
pub fn engine(b: Builder) -> Result<&'static str, String> {
    match b {
        Builder::Docker => Ok("docker"),
        Builder::Podman => Ok("podman"),
        Builder::Finch => Ok("finch"),
        Builder::Buildah => Err("buildah builds images but does not run them: `local` needs docker, podman or finch (set `image.builder`)".into()),
    }
}

/// The variables a function sees, the config's environment and the queue's URL.
pub fn lambda_env(
    config: &Config,
    region: &str,
    runtime_api: &str,
    queue_url: &str,
) -> Vec<(String, String)> {
    let function = &config.service;
    let mut env: Vec<(String, String)> = vec![
        ("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.into()),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), function.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            config.lambda.memory.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            format!("/aws/lambda/{function}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME".into(),
            "replatform-local".into(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
        ("AWS_REGION".into(), region.into()),
        ("AWS_DEFAULT_REGION".into(), region.into()),
        ("TZ".into(), ":UTC".into()),
    ];
    env.extend(
        config
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone())),
    );
    env.extend(queue_env(config, queue_url));
    env
}

/// The queue `local` runs the worker against: the first consumed one (docs/commands.md#local).
pub fn local_queue(config: &Config) -> Option<super::config::QueueEntry<'_>> {
    config.consumed_queues().into_iter().next()
}

/// The variables the worker finds its queue in, set to the local queue in the form it reads each
/// (docs/config.md#several-queues): the URL, the name (its last path segment), the ARN (from
/// the URL's account and name), a JSON value holding the URL under its key.
fn queue_env(config: &Config, queue_url: &str) -> Vec<(String, String)> {
    let Some(entry) = local_queue(config) else {
        return Vec::new();
    };
    let mut parts = queue_url.trim_end_matches('/').rsplit('/');
    let name = parts.next().unwrap_or_default();
    let account = parts.next().unwrap_or_default();
    let region = crate::core::config::queue_url(queue_url).map_or("us-east-1", |(r, _, _)| r);
    entry
        .queue
        .finders()
        .into_iter()
        .map(|f| {
            let value = match f {
                Finder::Url(_) => queue_url.to_string(),
                Finder::Name(_) => name.to_string(),
                Finder::Arn(_) => format!("arn:aws:sqs:{region}:{account}:{name}"),
                Finder::Json { key, .. } => json!({ key: queue_url }).to_string(),
            };
            (f.var().to_string(), value)
        })
        .collect()
}

/// What ECS gives the task: the region, the config's environment and the queue's URL.
pub fn ecs_env(config: &Config, region: &str, queue_url: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("AWS_REGION".into(), region.into()),
        ("AWS_DEFAULT_REGION".into(), region.into()),
    ];
    env.extend(
        config
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone())),
    );
    env.extend(queue_env(config, queue_url));
    env
}

/// `--env NAME` for each variable: the values travel in the engine's own environment, never
/// in its arguments (credentials among them).
fn env_args(args: &mut Vec<String>, env: &[(String, String)], pass: &[&str]) {
    for (k, _) in env {
        args.extend(["--env".into(), k.clone()]);
    }
    for k in pass {
        args.extend(["--env".into(), (*k).to_string()]);
    }
}

/// The function's container, as Lambda starts it. `pass`: variables passed through from this
/// process (credentials, the endpoint), by name.
pub fn lambda_run(
    engine: &str,
    config: &Config,
    image: &str,
    name: &str,
    env: Vec<(String, String)>,
    pass: &[&str],
) -> Command {
    let memory = format!("{}m", config.lambda.memory);
    // Under the bridge the function starts the supervisor with the worker's parts after its
    // flags (`core::bridge::image_config`), as the template's ImageConfig says.
    let (entry_point, command, working_directory) = if config.lambda.trigger.is_bridge() {
        let ic = super::bridge::image_config(config);
        (ic.entry_point, ic.command, ic.working_directory)
    } else {
        (
            config.lambda.entry_point.clone(),
            config.lambda.command.clone(),
            config.lambda.working_directory.clone(),
        )
    };
    let mut args: Vec<String> = vec![
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp:rw,exec,size=512m",
        "--user",
        LAMBDA_USER,
        "--memory",
        &memory,
        "--memory-swap",
        &memory,
        "--workdir",
        &working_directory,
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let (entry, entry_args) = entry_point
        .split_first()
        .map_or(("", &[][..]), |(e, rest)| (e.as_str(), rest));
    if !entry.is_empty() {
        args.extend(["--entrypoint".into(), entry.into()]);
    }
    env_args(&mut args, &env, pass);
    args.push(image.into());
    args.extend(entry_args.iter().cloned());
    args.extend(command);
    Command {
        program: engine.into(),
        args,
        env,
    }
}

/// A queue's ARN from its URL's account and name, when SQS does not say it.
pub fn queue_arn(queue_url: &str, region: &str) -> String {
    let mut parts = queue_url.trim_end_matches('/').rsplit('/');
    let name = parts.next().unwrap_or_default();
    let account = parts.next().unwrap_or("123456789012");
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// Under the bridge, the supervisor's queue: `REPLATFORM_BRIDGE_QUEUES`, the local queue's URL
/// (as the worker is given it) to the ARN its records name. Nothing for other triggers.
pub fn bridge_env(config: &Config, queue_url: &str, queue_arn: &str) -> Vec<(String, String)> {
    if !config.lambda.trigger.is_bridge() {
        return Vec::new();
    }
    vec![(
        super::bridge::QUEUES_VAR.to_string(),
        json!({ queue_url: [queue_arn] }).to_string(),
    )]
}

/// The task's container, as ECS starts it: the image's own entry point, `ecs.command` or the
/// image's command, the task's memory.
pub fn ecs_run(
    engine: &str,
    config: &Config,
    image: &str,
    name: &str,
    env: Vec<(String, String)>,
    pass: &[&str],
) -> Command {
    let memory = format!("{}m", config.ecs.memory);
    let mut args: Vec<String> = vec![
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        "host",
        "--memory",
        &memory,
    ]
    .into_iter()
    .map(String::from)
    .collect();
    env_args(&mut args, &env, pass);
    args.push(image.into());
    if let Some(command) = &config.ecs.command {
        args.extend(command.iter().cloned());
    }
    Command {
        program: engine.into(),
        args,
        env,
    }
}

/// One message as SQS gives it (`ReceiveMessage`, read by `aws::sqs`) and the event source
/// mapping hands it to the function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    pub receive_count: String,
    pub sent_timestamp: String,
    pub first_receive_timestamp: String,
}

/// The SQS event of a batch, in the shape Lambda sends.
pub fn sqs_event(records: &[Record], queue_arn: &str, region: &str) -> Value {
    json!({
        "Records": records.iter().map(|r| json!({
            "messageId": r.message_id,
            "receiptHandle": r.receipt_handle,
            "body": r.body,
            "attributes": {
                "ApproximateReceiveCount": r.receive_count,
                "SentTimestamp": r.sent_timestamp,
                "SenderId": "replatform-local",
                "ApproximateFirstReceiveTimestamp": r.first_receive_timestamp,
            },
            "messageAttributes": {},
            "md5OfBody": r.md5_of_body,
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        })).collect::<Vec<_>>()
    })
}

/// The EventBridge scheduled event a `schedule` trigger sends.
pub fn scheduled_event(rule_arn: &str, region: &str, account: &str, time: &str, id: &str) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time,
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    })
}

/// The message ids a handler's answer names as failed (`batchItemFailures`, the partial batch
/// response). An answer that is not that shape fails nothing, as Lambda reads it; an item
/// without an id fails the whole batch.
pub fn batch_failures(answer: &[u8], batch: &[Record]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<Value>(answer) else {
        return Vec::new();
    };
    let Some(items) = v.get("batchItemFailures").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for item in items {
        match item
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            Some(id) => ids.push(id.to_string()),
            None => return batch.iter().map(|r| r.message_id.clone()).collect(),
        }
    }
    ids
}

/// The config field a runtime error points at, and what to do.
pub fn hint_for(error_type: &str, message: &str) -> Option<String> {
    let m = message.to_lowercase();
    if error_type == "Runtime.ImportModuleError" || m.contains("no module named") {
        Some("the handler's module is not importable from the working directory: check `lambda.working_directory` (the image's WORKDIR) and the module part of `lambda.command`".into())
    } else if error_type == "Runtime.HandlerNotFound" || m.contains("has no attribute") {
        Some("the module has no such function: check the function part of `lambda.command` (`module.function`)".into())
    } else if m.contains("read-only file system") {
        Some("on Lambda only /tmp is writable: write there (HOME and caches too, e.g. `ENV HOME=/tmp`)".into())
    } else if m.contains("permission denied") {
        Some("Lambda runs the image as another, non-root user: make the app's files readable by all (no `chmod 700`, no `pip install --user`)".into())
    } else {
        None
    }
}

/// Why the container could not start: a missing entry point or working directory.
pub fn start_hint(output: &str) -> Option<String> {
    let o = output.to_lowercase();
    if o.contains("executable file not found")
        || o.contains("no such file or directory") && o.contains("exec")
    {
        Some("the entry point is not in the image: check `lambda.entry_point` (for Python, `[\"/usr/local/bin/python\", \"-m\", \"awslambdaric\"]` with awslambdaric in the requirements)".into())
    } else if o.contains("chdir") || o.contains("working directory") {
        Some("the working directory is not in the image: check `lambda.working_directory` (the Dockerfile's WORKDIR)".into())
    } else if o.contains("no module named awslambdaric") {
        Some("the runtime interface client is not installed: add awslambdaric to the image's requirements, or fix `lambda.entry_point`".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> Record {
        Record {
            message_id: id.into(),
            receipt_handle: format!("rh-{id}"),
            body: "b".into(),
            md5_of_body: "x".into(),
            receive_count: "1".into(),
            sent_timestamp: "1".into(),
            first_receive_timestamp: "1".into(),
        }
    }

    #[test]
    fn a_partial_batch_response_names_the_failed_items() {
        let batch = [record("a"), record("b"), record("c")];
        assert_eq!(
            batch_failures(
                br#"{"batchItemFailures":[{"itemIdentifier":"b"},{"itemIdentifier":"c"}]}"#,
                &batch
            ),
            ["b", "c"]
        );
        assert!(batch_failures(br#"{"batchItemFailures":[]}"#, &batch).is_empty());
        assert!(
            batch_failures(b"null", &batch).is_empty(),
            "no partial response: the batch succeeded"
        );
        assert_eq!(
            batch_failures(br#"{"batchItemFailures":[{"itemIdentifier":""}]}"#, &batch).len(),
            3,
            "an item without an id fails the batch"
        );
    }

    #[test]
    fn under_the_bridge_the_container_starts_the_supervisor_with_the_workers_parts() {
        let text = "service: w\nqueue: {}\necs:\n  subnets: [subnet-0123456789abcdef0]\n  security_groups: [sg-0123456789abcdef0]\n  command: [python, worker.py]\nlambda:\n  trigger: { type: bridge }\n";
        let c = crate::core::config::parse(text).unwrap();
        let cmd = lambda_run("docker", &c, "img", "n", vec![], &[]);
        let args = cmd.args.join(" ");
        assert!(
            args.contains("--workdir / --entrypoint /opt/replatform-bridge/replatform-bridge"),
            "{args}"
        );
        assert!(
            args.ends_with("img --image-entrypoint --image-workdir -- python worker.py"),
            "{args}"
        );
        let url = "http://localhost:5000/123456789012/w";
        let env = bridge_env(&c, url, "arn:aws:sqs:us-east-1:123456789012:w");
        assert_eq!(env[0].0, "REPLATFORM_BRIDGE_QUEUES");
        assert_eq!(
            serde_json::from_str::<Value>(&env[0].1).unwrap(),
            json!({url: ["arn:aws:sqs:us-east-1:123456789012:w"]})
        );
    }

    #[test]
    fn the_sqs_event_has_lambdas_shape() {
        let e = sqs_event(
            &[record("m1")],
            "arn:aws:sqs:eu-west-1:123456789012:q",
            "eu-west-1",
        );
        let r = &e["Records"][0];
        assert_eq!(r["messageId"], "m1");
        assert_eq!(r["receiptHandle"], "rh-m1");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["eventSourceARN"], "arn:aws:sqs:eu-west-1:123456789012:q");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1");
    }

    #[test]
    fn runtime_errors_point_at_the_field_to_fix() {
        assert!(hint_for(
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'app'"
        )
        .unwrap()
        .contains("lambda.working_directory"));
        assert!(hint_for(
            "Runtime.HandlerNotFound",
            "Handler 'nope' missing on module 'app'"
        )
        .unwrap()
        .contains("lambda.command"));
        assert!(
            hint_for("OSError", "[Errno 30] Read-only file system: '/state'")
                .unwrap()
                .contains("/tmp")
        );
        assert!(start_hint(
            "exec: \"/usr/local/bin/nope\": stat /usr/local/bin/nope: no such file or directory"
        )
        .unwrap()
        .contains("lambda.entry_point"));
        assert!(hint_for("ValueError", "poison message").is_none());
    }
}

//! The value checks of single fields: each is an error AWS would reject at deploy time. Pure.

use super::names::{is_env_name, is_region, LAMBDA_RESERVED_ENV};
use super::{Config, Trigger};
use crate::core::diag::Diagnostic;

/// Valid Fargate memory sizes (MiB) for a cpu value.
pub fn fargate_memory(cpu: u32) -> Option<Vec<u32>> {
    let gib = |from: u32, to: u32, step: u32| {
        (from..=to)
            .step_by(step as usize)
            .map(|g| g * 1024)
            .collect::<Vec<_>>()
    };
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => gib(1, 4, 1),
        1024 => gib(2, 8, 1),
        2048 => gib(4, 16, 1),
        4096 => gib(8, 30, 1),
        8192 => gib(16, 60, 4),
        16384 => gib(32, 120, 8),
        _ => return None,
    })
}

/// CloudWatch Logs accepts only these retention periods (days).
pub const LOG_RETENTION_DAYS: [u64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// `subnet-` or `sg-` and 8 or 17 hex digits, as EC2 issues them.
fn is_resource_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|hex| {
        matches!(hex.len(), 8 | 17) && hex.chars().all(|c| c.is_ascii_hexdigit())
    })
}

fn is_service_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// ECR repository names: lowercase, digits, `.`, `_`, `-`, `/` between components.
fn is_repository_name(s: &str) -> bool {
    (2..=256).contains(&s.len())
        && s.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                && part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && part.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// `host` or `host:port`: what a builder pushes to, without a scheme or a path.
fn is_registry_host(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0))
}

/// The value checks of single fields: each is an error AWS would reject at deploy time.
pub fn check(c: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut err = |path: &str, message: String, hint: &str| {
        out.push(Diagnostic::error("config", path, message).hint(hint))
    };

    if !is_service_name(&c.service) {
        err(
            "service",
            format!("service name `{}` is not valid", c.service),
            "use 1 to 32 lowercase letters, digits and single hyphens, starting with a letter, for example `orders-worker`",
        );
    }
    if let Some(r) = &c.region {
        if !is_region(r) {
            err("region", format!("`{r}` is not an AWS region name"), "use a region code such as `eu-west-1`, or leave `region` out to use AWS_REGION or the profile's region");
        }
    }
    // Without `image.repository` the service name is used, and its own rule is stricter.
    if c.image.repository.is_some() && !is_repository_name(c.repository()) {
        err(
            "image.repository",
            format!("`{}` is not a valid ECR repository name", c.repository()),
            "use 2 to 256 lowercase letters, digits, `.`, `_`, `-`, with `/` between parts",
        );
    }
    if c.image.dockerfile.trim().is_empty() {
        err(
            "image.dockerfile",
            "`image.dockerfile` is empty".into(),
            "name the Dockerfile relative to `image.context`, or leave it out for `Dockerfile`",
        );
    }
    if let Some(r) = &c.image.registry {
        if !is_registry_host(r) {
            err(
                "image.registry",
                format!("`{r}` is not a registry host"),
                "give a host name with an optional port and nothing else, for example `vpce-0a1b.dkr.ecr.eu-west-1.vpce.amazonaws.com` or `127.0.0.1:5000`",
            );
        }
    }
    if !(1..=1000).contains(&c.image.keep_images) {
        err(
            "image.keep_images",
            format!(
                "`image.keep_images` is {}: it must be 1 to 1000",
                c.image.keep_images
            ),
            "the lifecycle policy keeps this many newest images; the default is 20",
        );
    }
    for key in c.image.build_args.keys() {
        if !is_env_name(key) {
            err(
                &format!("image.build_args.{key}"),
                format!("`{key}` is not a valid build argument name"),
                "use letters, digits and `_`, not starting with a digit",
            );
        }
    }

    for key in c.environment.keys() {
        let path = format!("environment.{key}");
        if !is_env_name(key) {
            err(
                &path,
                format!("`{key}` is not a valid environment variable name"),
                "use letters, digits and `_`, not starting with a digit",
            );
        } else if LAMBDA_RESERVED_ENV.contains(&key.as_str()) {
            err(
                &path,
                format!("`{key}` is reserved by Lambda and cannot be set"),
                "remove it: Lambda sets it itself",
            );
        } else if let Some(at) = c.queue_var_path(key) {
            err(
                &path,
                format!("`{key}` is also `{at}`: each platform sets it to its own queue"),
                &format!("remove it from `environment`, or set `{at}` to another name"),
            );
        }
    }
    // Lambda's variables: the environment, the queue's URL and each secret's ARN.
    let secret_vars: usize = c
        .secrets
        .iter()
        .map(|(k, v)| k.len() + super::access::SECRET_ARN_SUFFIX.len() + v.len())
        .sum();
    let env_size: usize = c
        .environment
        .iter()
        .map(|(k, v)| k.len() + v.0.len())
        .sum::<usize>()
        + secret_vars
        + c.queues()
            .iter()
            .flat_map(|e| e.queue.finders())
            .map(|f| f.var().len() + 100)
            .sum::<usize>()
        + 20;
    if env_size > 4096 {
        err(
            "environment",
            format!("the environment is about {env_size} bytes; Lambda allows 4 KB in all"),
            "move large values to SSM Parameter Store or Secrets Manager and read them at start-up",
        );
    }

    super::queues_checks::check(c, &mut err);

    let e = &c.ecs;
    if let Some(cluster) = &e.cluster {
        if cluster.is_empty()
            || cluster.len() > 255
            || !cluster
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            err("ecs.cluster", format!("`{cluster}` is not a valid ECS cluster name"), "give the name (not the ARN) of an existing cluster, or leave `cluster` out to create one");
        }
    }
    if let Some(cmd) = &e.command {
        if cmd.is_empty() {
            err(
                "ecs.command",
                "`ecs.command` is empty".into(),
                "leave it out to run the image's own CMD",
            );
        }
    }
    match fargate_memory(e.cpu) {
        None => err(
            "ecs.cpu",
            format!("{} is not a Fargate cpu value", e.cpu),
            "use 256, 512, 1024, 2048, 4096, 8192 or 16384",
        ),
        Some(valid) if !valid.contains(&e.memory) => {
            let shown = if valid.len() <= 4 {
                valid
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                format!(
                    "{} to {} in steps of {}",
                    valid[0],
                    valid[valid.len() - 1],
                    valid[1] - valid[0]
                )
            };
            err(
                "ecs.memory",
                format!(
                    "memory {} is not a valid Fargate size for cpu {}",
                    e.memory, e.cpu
                ),
                &format!("with cpu {} use memory {shown} (MiB)", e.cpu),
            );
        }
        Some(_) => {}
    }
    if e.subnets.is_empty() {
        err(
            "ecs.subnets",
            "`ecs.subnets` is empty".into(),
            "list at least one subnet, for example `[subnet-0123456789abcdef0]`",
        );
    }
    for (i, s) in e.subnets.iter().enumerate() {
        if !is_resource_id(s, "subnet-") {
            err(
                &format!("ecs.subnets[{i}]"),
                format!("`{s}` is not a subnet id"),
                "subnet ids look like `subnet-0123456789abcdef0`",
            );
        }
    }
    if e.subnets.len() > 16 {
        err(
            "ecs.subnets",
            format!(
                "`ecs.subnets` lists {} subnets: ECS and Lambda take at most 16",
                e.subnets.len()
            ),
            "list at most 16 subnets",
        );
    }
    if e.security_groups.len() > 5 {
        err(
            "ecs.security_groups",
            format!(
                "`ecs.security_groups` lists {} security groups: ECS and Lambda take at most 5",
                e.security_groups.len()
            ),
            "list at most 5 security groups",
        );
    }
    if e.security_groups.is_empty() {
        err(
            "ecs.security_groups",
            "`ecs.security_groups` is empty".into(),
            "list at least one security group, for example `[sg-0123456789abcdef0]`",
        );
    }
    for (i, s) in e.security_groups.iter().enumerate() {
        if !is_resource_id(s, "sg-") {
            err(
                &format!("ecs.security_groups[{i}]"),
                format!("`{s}` is not a security group id"),
                "security group ids look like `sg-0123456789abcdef0`",
            );
        }
    }
    let s = &e.scaling;
    if s.max == 0 {
        err(
            "ecs.scaling.max",
            "`max` is 0: the service could never run a task".into(),
            "set `max` to at least 1",
        );
    }
    if s.scale_out.is_empty() {
        err(
            "ecs.scaling.scale_out",
            "`scale_out` has no steps: the service would never start a task".into(),
            "add at least `- { from: 1, add: 1 }`",
        );
    }
    for (i, step) in s.scale_out.iter().enumerate() {
        if step.from == 0 {
            err(
                &format!("ecs.scaling.scale_out[{i}].from"),
                "a step `from: 0` fires on an empty queue and never lets the service scale in"
                    .into(),
                "start the first step at `from: 1`",
            );
        }
        if step.add == 0 {
            err(
                &format!("ecs.scaling.scale_out[{i}].add"),
                "a step that adds 0 tasks does nothing".into(),
                "use `add: 1` or more, or remove the step",
            );
        }
    }
    if s.scale_out_cooldown.0 > 86_400 {
        err(
            "ecs.scaling.scale_out_cooldown",
            format!("cooldown {} is over 1d", s.scale_out_cooldown),
            "use a value up to `1d`; 60s matches the alarm period",
        );
    }
    if s.scale_in_after.0 < 60 || s.scale_in_after.0 % 60 != 0 || s.scale_in_after.0 > 86_400 {
        err(
            "ecs.scaling.scale_in_after",
            format!(
                "scale_in_after {} must be whole minutes from 1m to 1d",
                s.scale_in_after
            ),
            "SQS metrics come once a minute: use a value such as `5m`",
        );
    }

    let l = &c.lambda;
    // `replatform init` writes `TO-FILL` where it found no language (docs/config.md#languages).
    for (path, values) in [
        ("lambda.entry_point", &l.entry_point),
        ("lambda.command", &l.command),
    ] {
        if values.iter().any(|v| v.contains("TO-FILL")) {
            err(
                path,
                format!("`{path}` is still the placeholder `replatform init` wrote"),
                "name the worker's runtime interface client and its handler (docs/config.md#languages), or run the image unchanged with the polling-worker trigger once it is built",
            );
        }
    }
    if !(128..=10_240).contains(&l.memory) {
        err(
            "lambda.memory",
            format!(
                "memory {} is outside what Lambda allows (128 to 10240 MiB)",
                l.memory
            ),
            "use a value from 128 to 10240",
        );
    }
    if !(1..=900).contains(&l.timeout.0) {
        err(
            "lambda.timeout",
            format!(
                "timeout {} is outside what Lambda allows (1s to 15m)",
                l.timeout
            ),
            "use a value from `1s` to `15m`",
        );
    }
    if l.reserved_concurrency == Some(0) {
        err(
            "lambda.reserved_concurrency",
            "reserved concurrency 0 stops the function from ever running".into(),
            "use 1 or more, or leave it out for unreserved concurrency",
        );
    }
    // The bridge runs the image's own ENTRYPOINT and CMD when these are left out
    // (docs/bridge.md); given, they are the worker's, and hold no empty item.
    let bridge = l.trigger.is_bridge();
    if bridge {
        for key in ["lambda.entry_point", "lambda.command"] {
            let list = if key == "lambda.entry_point" {
                &l.entry_point
            } else {
                &l.command
            };
            if list.iter().any(|s| s.is_empty()) {
                err(
                    key,
                    format!("`{key}` holds an empty item"),
                    "remove it, or leave the key out: the bridge then runs the image's own ENTRYPOINT and CMD (or `ecs.command`), as ECS does",
                );
            }
        }
    } else if l.entry_point.is_empty() || l.entry_point.iter().any(|s| s.is_empty()) {
        err("lambda.entry_point", "`lambda.entry_point` is empty: Lambda would find no runtime to start".into(), "for a Python image with awslambdaric: `[\"/usr/local/bin/python\", \"-m\", \"awslambdaric\"]`");
    }
    if !bridge && (l.command.is_empty() || l.command.iter().any(|s| s.is_empty())) {
        err(
            "lambda.command",
            "`lambda.command` is empty: the runtime interface client needs the handler".into(),
            "name the handler, for example `[\"app.handler\"]`",
        );
    }
    for (key, list) in [
        ("lambda.entry_point", &l.entry_point),
        ("lambda.command", &l.command),
    ] {
        if list.len() > 1500 {
            err(
                key,
                format!(
                    "`{key}` has {} items: Lambda takes at most 1500",
                    list.len()
                ),
                "pass fewer arguments, or read them from a file in the image",
            );
        }
    }
    if l.working_directory.len() > 1000 {
        err(
            "lambda.working_directory",
            format!(
                "the working directory is {} characters long: Lambda takes at most 1000",
                l.working_directory.len()
            ),
            "give the absolute folder that holds the handler's module, for example `/app`",
        );
    } else if !(l.working_directory.starts_with('/') || bridge && l.working_directory.is_empty()) {
        err(
            "lambda.working_directory",
            format!(
                "working directory `{}` is not absolute",
                l.working_directory
            ),
            "give the absolute folder that holds the handler's module, for example `/app`",
        );
    }
    match &l.trigger {
        Trigger::Sqs(t) | Trigger::Bridge(t) => {
            if !(1..=10_000).contains(&t.batch_size) {
                err(
                    "lambda.trigger.batch_size",
                    format!("batch size {} is outside 1..10000", t.batch_size),
                    "use 1 to 10000; 10 is the default",
                );
            }
            if t.max_batching_window.0 > 300 {
                err(
                    "lambda.trigger.max_batching_window",
                    format!("batching window {} is over 5m", t.max_batching_window),
                    "use a value up to `5m`",
                );
            }
            // A FIFO queue takes no batching window at all: lint's `fifo` rule says so.
            if t.batch_size > 10
                && t.max_batching_window.0 == 0
                && !c.queues().iter().any(|e| e.queue.fifo)
            {
                err(
                    "lambda.trigger.batch_size",
                    format!("batch size {} needs a batching window", t.batch_size),
                    "with batch_size over 10 set `max_batching_window` to at least `1s`",
                );
            }
            if let Some(m) = t.max_concurrency {
                if !(2..=1000).contains(&m) {
                    err(
                        "lambda.trigger.max_concurrency",
                        format!("max_concurrency {m} is outside 2..1000"),
                        "use 2 to 1000, or leave it out",
                    );
                }
            }
            // ProvisionedPollerConfig: MinimumPollers 2..200, MaximumPollers up to 2000
            // (docs/pitfalls.md#p27).
            if let Some(p) = t.provisioned_pollers {
                if !(2..=200).contains(&p.min) {
                    err(
                        "lambda.trigger.provisioned_pollers.min",
                        format!("provisioned_pollers.min {} is outside 2..200", p.min),
                        "use 2 to 200 pollers",
                    );
                }
                if p.max < p.min.max(2) || p.max > 2000 {
                    err(
                        "lambda.trigger.provisioned_pollers.max",
                        format!(
                            "provisioned_pollers.max {} is outside {}..2000",
                            p.max,
                            p.min.max(2)
                        ),
                        "use `min` to 2000 pollers",
                    );
                }
            }
        }
        Trigger::Schedule(t) => {
            if t.rate.0 < 60 || t.rate.0 % 60 != 0 {
                err(
                    "lambda.trigger.rate",
                    format!("rate {} must be whole minutes, at least 1m", t.rate),
                    "EventBridge schedules run at most once a minute: use `1m`, `5m`, `1h`",
                );
            }
        }
    }
    if !LOG_RETENTION_DAYS.contains(&(c.logs.retention.0 / 86_400))
        || c.logs.retention.0 % 86_400 != 0
    {
        err(
            "logs.retention",
            format!("log retention {} is not one CloudWatch Logs offers", c.logs.retention),
            "use one of 1d, 3d, 5d, 7d, 14d, 30d, 60d, 90d, 120d, 150d, 180d, 365d, 400d, 545d, 731d, 1096d, 1827d, 2192d, 2557d, 2922d, 3288d, 3653d",
        );
    }
    super::access::check(c, &mut out);
    if let Some(prod) = &c.production {
        super::queues_checks::check_production(c, prod, &mut out);
    }
    out
}

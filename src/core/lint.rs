//! The checks across fields that AWS would only fail at deploy time, or that would silently lose
//! messages (docs/pitfalls.md). Pure. Errors stop every command that renders;
//! warnings are printed and the command goes on (`validate --strict` fails on them too).

pub mod model;

use super::config::{queue_url, secret_arn, Config, QueueEntry, Trigger, SECRET_ARN_SUFFIX};
use super::diag::Diagnostic;

pub fn lint(c: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();

    for e in c.consumed_queues() {
        visibility(c, &e, &mut out);
    }
    trigger(c, &mut out);
    schedule_duty(c, &mut out);
    bridge(c, &mut out);
    let s = &c.ecs.scaling;
    if s.min > s.max {
        out.push(
            Diagnostic::error(
                "scaling-bounds",
                "ecs.scaling.min",
                format!("`min` {} is above `max` {}", s.min, s.max),
            )
            .hint("make `min` at most `max`"),
        );
    }
    for (i, pair) in s.scale_out.windows(2).enumerate() {
        if pair[1].from <= pair[0].from {
            let (a, b) = (pair[0].from, pair[1].from);
            let what = if a == b { "overlaps" } else { "is not above" };
            out.push(
                Diagnostic::error(
                    "scale-out-steps",
                    format!("ecs.scaling.scale_out[{}].from", i + 1),
                    format!("step `from: {b}` {what} the step before it (`from: {a}`): step bounds must be ascending without overlaps"),
                )
                .hint("list the steps by ascending `from`, each value once"),
            );
        }
    }

    for e in c
        .queues()
        .iter()
        .filter(|e| e.queue.dead_letter.max_receive_count.is_none())
    {
        out.push(
            Diagnostic::warning("dead-letter", format!("{}.dead_letter", e.path()), "without a dead-letter queue a message that always fails is retried until retention ends, then lost")
                .hint("remove `dead_letter: false` to keep failed messages in a dead-letter queue"),
        );
    }

    for key in c.environment.keys() {
        let upper = key.to_ascii_uppercase();
        if [
            "SECRET",
            "PASSWORD",
            "PASSWD",
            "TOKEN",
            "PRIVATE_KEY",
            "API_KEY",
        ]
        .iter()
        .any(|w| upper.contains(w))
        {
            out.push(
                Diagnostic::warning("plaintext-secret", format!("environment.{key}"), format!("`{key}` looks like a secret: environment values are written in plain text into both templates and stacks"))
                    .hint(format!("keep the value in Secrets Manager or SSM Parameter Store and name its ARN under `secrets:` (`{key}: arn:aws:secretsmanager:...`)")),
            );
        }
    }
    worker(c, &mut out);
    out
}

/// The visibility timeout of a consumed queue against the function's timeout
/// (docs/pitfalls.md#p7).
fn visibility(c: &Config, e: &QueueEntry<'_>, out: &mut Vec<Diagnostic>) {
    let l = &c.lambda;
    let vt = e.queue.visibility_timeout;
    let at = format!("{}.visibility_timeout", e.path());
    match &l.trigger {
        Trigger::Sqs(t) | Trigger::Bridge(t) => {
            let recommended = l
                .timeout
                .0
                .saturating_mul(6)
                .saturating_add(t.max_batching_window.0);
            if vt.0 < l.timeout.0 {
                out.push(
                    Diagnostic::error(
                        "visibility-timeout",
                        &at,
                        format!("the queue's visibility timeout {vt} is shorter than the function timeout {}: AWS refuses to create the event source mapping", l.timeout),
                    )
                    .hint(format!("set `{at}` to at least {} (AWS recommends {})", l.timeout, super::duration::Secs(recommended))),
                );
            } else if vt.0 < recommended {
                out.push(
                    Diagnostic::warning(
                        "visibility-timeout",
                        &at,
                        format!("the queue's visibility timeout {vt} is under 6 x the function timeout + batching window ({}): retried and throttled batches can reappear while still being handled", super::duration::Secs(recommended)),
                    )
                    .hint(format!("set `{at}: {}`", super::duration::Secs(recommended))),
                );
            }
        }
        Trigger::Schedule(_) => {
            if vt.0 < l.timeout.0 {
                out.push(
                    Diagnostic::warning(
                        "visibility-timeout",
                        &at,
                        format!("the queue's visibility timeout {vt} is shorter than the function timeout {}: a message still being handled can be received again", l.timeout),
                    )
                    .hint(format!("set `{at}` to at least {}", l.timeout)),
                );
            }
        }
    }
}

/// Under the `schedule` trigger one invocation a `rate` polls for at most `timeout`: with a
/// timeout shorter than the rate the queue waits the rest of each period, and a side-by-side
/// comparison measures that gap rather than Lambda (`simulate --explain` names it).
fn schedule_duty(c: &Config, out: &mut Vec<Diagnostic>) {
    let l = &c.lambda;
    if let Trigger::Schedule(t) = &l.trigger {
        if l.timeout.0 < t.rate.0 {
            let share = l.timeout.0 * 100 / t.rate.0.max(1);
            out.push(
                Diagnostic::warning(
                    "schedule-duty",
                    "lambda.timeout",
                    format!("under the schedule trigger each invocation polls for at most lambda.timeout ({}) of every rate ({}): the queue is worked {share}% of the time, and a comparison with ECS measures that gap", l.timeout, t.rate),
                )
                .hint(format!("raise `lambda.timeout` toward the rate (`timeout: {}`, at most 15m), or move to the `sqs` trigger", super::duration::Secs(t.rate.0.min(900)))),
            );
        }
    }
}

/// What the `bridge` trigger does with the worker, said once by `validate` (docs/bridge.md).
fn bridge(c: &Config, out: &mut Vec<Diagnostic>) {
    if !c.lambda.trigger.is_bridge() {
        return;
    }
    let vars: Vec<String> = c
        .consumed_queues()
        .iter()
        .flat_map(|e| e.queue.finders())
        .map(|f| f.var().to_string())
        .collect();
    out.push(
        Diagnostic::info(
            "bridge",
            "lambda.trigger.type",
            format!(
                "bridge: Lambda runs the worker unchanged, {}, under the supervisor `up` adds to the image; the event source mapping hands it batches as the `sqs` trigger would, the worker receives them from SQS served on 127.0.0.1, and a message it does not delete goes back to the queue",
                super::bridge::worker_command(c)
            ),
        )
        .hint(format!(
            "the worker reaches the supervisor through AWS_ENDPOINT_URL_SQS, which AWS SDKs released since late 2023 read (the versions are in the AWS SDKs and Tools reference guide, \"Service-specific endpoints\"); an older SDK follows the queue URL in {}, which the supervisor points at itself",
            if vars.is_empty() { "the worker's variables".to_string() } else { vars.join(", ") }
        )),
    );
}

/// The trigger's concurrency against the function's reserved concurrency (docs/pitfalls.md#p8).
/// With several queues each has its own mapping, and each mapping its own `max_concurrency`.
fn trigger(c: &Config, out: &mut Vec<Diagnostic>) {
    let l = &c.lambda;
    if let Some(t) = l.trigger.mapping() {
        let n = c.consumed_queues().len() as u32;
        if let (Some(r), Some(m), true) = (l.reserved_concurrency, t.max_concurrency, n > 1) {
            if m <= r && m.saturating_mul(n) > r {
                out.push(
                    Diagnostic::warning(
                        "max-concurrency",
                        "lambda.trigger.max_concurrency",
                        format!("each of the {n} queues' mappings scales to max_concurrency {m}: together {} pollers, above reserved_concurrency {r}; throttled receives count towards the dead-letter queue", m * n),
                    )
                    .hint(format!("raise `reserved_concurrency` to {} or lower `max_concurrency` to {}", m * n, (r / n).max(2))),
                );
            }
        }
        match (l.reserved_concurrency, t.max_concurrency) {
                (Some(r), Some(m)) if m > r => out.push(
                    Diagnostic::error(
                        "max-concurrency",
                        "lambda.trigger.max_concurrency",
                        format!("max_concurrency {m} is above reserved_concurrency {r}: the extra pollers are throttled and their messages count towards the dead-letter queue"),
                    )
                    .hint(format!("set `max_concurrency` to at most {r}, or raise `reserved_concurrency`")),
                ),
                (Some(r), _) if r < 2 => out.push(
                    Diagnostic::warning(
                        "reserved-concurrency",
                        "lambda.reserved_concurrency",
                        format!("reserved concurrency {r} is below the event source mapping's minimum of 2 concurrent pollers: throttled receives count towards max_receive_count and send unprocessed messages to the dead-letter queue"),
                    )
                    .hint("set `reserved_concurrency` to 2 or more and `trigger.max_concurrency` to at most that, or use `trigger: { type: schedule }`"),
                ),
                // Provisioned pollers cannot take `max_concurrency` (docs/pitfalls.md#p27): no hint
                // to add it.
                (Some(r), None) if t.provisioned_pollers.is_none() => out.push(
                    Diagnostic::warning(
                        "reserved-concurrency",
                        "lambda.trigger.max_concurrency",
                        format!("reserved concurrency {r} without `max_concurrency`: the event source mapping scales its pollers past {r}, and throttled receives send unprocessed messages to the dead-letter queue"),
                    )
                    .hint(format!("add `max_concurrency: {r}` to the trigger")),
                ),
                _ => {}
            }
    }
}

/// The rules of what a real worker needs: FIFO queues and the event source mapping's
/// limits, provisioned pollers, secrets on Lambda, the production service.
fn worker(c: &Config, out: &mut Vec<Diagnostic>) {
    if let Some(t) = c.lambda.trigger.mapping() {
        let fifo = c.consumed_queues().iter().any(|e| e.queue.fifo);
        if fifo && t.max_batching_window.0 > 0 {
            out.push(
                Diagnostic::error("fifo", "lambda.trigger.max_batching_window", format!("a FIFO queue takes no batching window ({}): AWS refuses the event source mapping", t.max_batching_window))
                    .hint("remove `max_batching_window` (or set it to `0s`), or set `queue.fifo: false`"),
            );
        }
        if fifo && t.batch_size > 10 {
            out.push(
                Diagnostic::error("fifo", "lambda.trigger.batch_size", format!("batch size {} is over 10, the most an event source mapping takes from a FIFO queue", t.batch_size))
                    .hint("set `batch_size` to 10 or less"),
            );
        }
        if let (Some(_), Some(m)) = (t.provisioned_pollers, t.max_concurrency) {
            out.push(
                Diagnostic::error(
                    "provisioned-pollers",
                    "lambda.trigger.provisioned_pollers",
                    format!("provisioned pollers cannot be combined with `max_concurrency` ({m}): AWS refuses the event source mapping (docs/pitfalls.md#p27)"),
                )
                .hint("remove `max_concurrency` (provisioned mode bounds the pollers with `provisioned_pollers.max`), or remove `provisioned_pollers`"),
            );
        }
    }

    if !c.secrets.is_empty() {
        let names: Vec<String> = c.secrets.keys().map(|k| format!("`{k}`")).collect();
        let arns: Vec<String> = c
            .secrets
            .keys()
            .map(|k| format!("`{k}{SECRET_ARN_SUFFIX}`"))
            .collect();
        out.push(
            Diagnostic::info(
                "lambda-secrets",
                "secrets",
                format!(
                    "on ECS, {} come from their ARNs at task start; Lambda has no such field: the function gets {} holding the ARNs (readable by anyone who can read its configuration; the values never are) and its role may read exactly those",
                    names.join(", "),
                    arns.join(", ")
                ),
            )
            .hint("the worker must fetch each value at start when its variable is unset (GetSecretValue, GetParameter), or run the AWS Parameters and Secrets Lambda Extension in the image; docs/config.md#secrets"),
        );
        for (name, value) in &c.secrets {
            let region = value.split(':').nth(3).unwrap_or_default();
            if let (Some(r), Some(_)) = (c.region.as_deref(), secret_arn(value)) {
                if region != r {
                    out.push(
                        Diagnostic::warning("secret-region", format!("secrets.{name}"), format!("the secret `{name}` is in `{region}`, the service in `{r}`"))
                            .hint(format!("ECS reads it across regions by its full ARN, but the worker's own client on Lambda must use `{region}`; better, replicate the secret to `{r}`")),
                    );
                }
            }
        }
    }

    if let Some(p) = &c.production {
        let queues: Vec<String> = c
            .consumed_queues()
            .iter()
            .filter_map(|e| c.production_queue(e))
            .map(|url| {
                let kind = match queue_url(url) {
                    Some((_, _, name)) if name.ends_with(".fifo") => "FIFO queue",
                    _ => "queue",
                };
                format!("the {kind} `{url}`")
            })
            .collect();
        out.push(
            Diagnostic::info("production", "production", format!("production: the {} consumes {}; nothing is deployed from it", match p.workload() { Some(crate::core::config::Workload::K8s(k)) => format!("Kubernetes deployment `{}/{}` (scaled by the ScaledObject `{}`)", k.namespace, k.deployment, k.scaled_object), _ => format!("ECS service `{}`", p.workload_name()) }, queues.join(", ")))
                .hint("`replatform cutover` moves its consumption to the Lambda function in stages; `replatform rollback` moves it back"),
        );
    }
}

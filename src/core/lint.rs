//! The checks across fields that AWS would only fail at deploy time, or that would silently lose
//! messages (`shared/design/pitfalls.md`). Pure. Errors stop every command that renders;
//! warnings are printed and the command goes on (`validate --strict` fails on them too).

pub mod model;

use super::config::{Config, Trigger};
use super::diag::Diagnostic;

pub fn lint(c: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let l = &c.lambda;
    let vt = c.queue.visibility_timeout;

    match &l.trigger {
        Trigger::Sqs(t) => {
            let recommended = l.timeout.0.saturating_mul(6).saturating_add(t.max_batching_window.0);
            if vt.0 < l.timeout.0 {
                out.push(
                    Diagnostic::error(
                        "visibility-timeout",
                        "queue.visibility_timeout",
                        format!("the queue's visibility timeout {vt} is shorter than the function timeout {}: AWS refuses to create the event source mapping", l.timeout),
                    )
                    .hint(format!("set `queue.visibility_timeout` to at least {} (AWS recommends {})", l.timeout, super::duration::Secs(recommended))),
                );
            } else if vt.0 < recommended {
                out.push(
                    Diagnostic::warning(
                        "visibility-timeout",
                        "queue.visibility_timeout",
                        format!("the queue's visibility timeout {vt} is under 6 x the function timeout + batching window ({}): retried and throttled batches can reappear while still being handled", super::duration::Secs(recommended)),
                    )
                    .hint(format!("set `queue.visibility_timeout: {}`", super::duration::Secs(recommended))),
                );
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
                (Some(r), None) => out.push(
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
        Trigger::Schedule(_) => {
            if vt.0 < l.timeout.0 {
                out.push(
                    Diagnostic::warning(
                        "visibility-timeout",
                        "queue.visibility_timeout",
                        format!("the queue's visibility timeout {vt} is shorter than the function timeout {}: a message still being handled can be received again", l.timeout),
                    )
                    .hint(format!("set `queue.visibility_timeout` to at least {}", l.timeout)),
                );
            }
        }
    }

    let s = &c.ecs.scaling;
    if s.min > s.max {
        out.push(
            Diagnostic::error("scaling-bounds", "ecs.scaling.min", format!("`min` {} is above `max` {}", s.min, s.max))
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

    if c.queue.dead_letter.max_receive_count.is_none() {
        out.push(
            Diagnostic::warning("dead-letter", "queue.dead_letter", "without a dead-letter queue a message that always fails is retried until retention ends, then lost")
                .hint("remove `dead_letter: false` to keep failed messages in a dead-letter queue"),
        );
    }

    for key in c.environment.keys() {
        let upper = key.to_ascii_uppercase();
        if ["SECRET", "PASSWORD", "PASSWD", "TOKEN", "PRIVATE_KEY", "API_KEY"].iter().any(|w| upper.contains(w)) {
            out.push(
                Diagnostic::warning("plaintext-secret", format!("environment.{key}"), format!("`{key}` looks like a secret: environment values are written in plain text into both templates and stacks"))
                    .hint("keep the value in Secrets Manager or SSM Parameter Store and read it at start-up"),
            );
        }
    }
    out
}

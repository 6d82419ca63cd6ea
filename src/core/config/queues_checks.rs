//! The checks of the worker's queues: each entry's settings, how the worker finds it, and the
//! shape of `queues:` beside `queue:`. Pure.

use std::collections::BTreeMap;

use super::access::{names_queue, queue_url};
use super::names::is_env_name;
use super::queues::MAX_CONSUMED_QUEUES;
use super::types::Config;
use crate::core::diag::Diagnostic;

/// The longest key of `queues:`: its PascalCase form prefixes logical ids and outputs.
const MAX_KEY_LEN: usize = 24;

pub(super) fn check(c: &Config, err: &mut impl FnMut(&str, String, &str)) {
    if c.queue.is_some() && !c.queues.is_empty() {
        err(
            "queues",
            "`queue` and `queues` are both written".into(),
            "keep one: `queue:` for a worker with one queue, `queues:` (a short name for each) for several",
        );
    }
    for key in c.queues.keys() {
        let ok = key.len() <= MAX_KEY_LEN
            && key.starts_with(|ch: char| ch.is_ascii_lowercase())
            && key
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_');
        if !ok {
            err(
                &format!("queues.{key}"),
                format!("`{key}` is not a valid queue name here"),
                &format!("use 1 to {MAX_KEY_LEN} lowercase letters, digits, `-` and `_`, starting with a letter, for example `events`"),
            );
        }
    }
    let consumed = c.consumed_queues().len();
    if consumed > MAX_CONSUMED_QUEUES {
        err(
            "queues",
            format!("the worker consumes {consumed} queues; at most {MAX_CONSUMED_QUEUES} can scale one ECS service"),
            "CloudWatch takes at most 10 metrics in the scale-out alarm: split the worker, or mark the queues it only sends to `consumed: false`",
        );
    }
    if !c.queues.is_empty() && consumed == 0 {
        err(
            "queues",
            "no queue is consumed (every entry has `consumed: false`)".into(),
            "remove `consumed: false` from the queues the worker receives from",
        );
    }

    // Each variable names one queue, once.
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    let mut json_keys: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for e in c.queues() {
        let q = e.queue;
        let at = e.path();
        for f in q.finders() {
            let path = format!("{at}.{}", f.field());
            let var = f.var();
            if !is_env_name(var) {
                err(
                    &path,
                    format!("`{var}` is not a valid environment variable name"),
                    "use letters, digits and `_`, for example `SQS_QUEUE_URL`",
                );
                continue;
            }
            if let super::Finder::Json { var, key } = f {
                // The stacks write the value with `Fn::Sub`, where `${` starts a reference.
                if key.is_empty() || key.contains('$') {
                    err(
                        &format!("{at}.json_env.key"),
                        format!("`{key}` cannot be a key here"),
                        "give the key of the JSON object that holds this queue's URL: text without `$`",
                    );
                }
                if let Some(first) = json_keys.insert((var, key), path.clone()) {
                    err(
                        &path,
                        format!("`{key}` of `{var}` is also `{first}`"),
                        "each key of the JSON value names one queue",
                    );
                }
                // A JSON variable is shared by its keys' queues; it names nothing else.
                if let Some(first) = seen.get(var).filter(|p| !p.ends_with("json_env.var")) {
                    err(
                        &path,
                        format!("`{var}` is also `{first}`"),
                        "a variable holds one queue, or a JSON value of several",
                    );
                }
                seen.entry(var).or_insert(path);
                continue;
            }
            if let Some(first) = seen.insert(var, path.clone()) {
                err(
                    &path,
                    format!("`{var}` is also `{first}`"),
                    "each variable holds one queue: name another variable",
                );
            }
        }
        if q.visibility_timeout.0 > 43_200 {
            err(
                &format!("{at}.visibility_timeout"),
                format!(
                    "visibility timeout {} is over the SQS maximum of 12h",
                    q.visibility_timeout
                ),
                "use at most `12h`",
            );
        }
        if !(60..=1_209_600).contains(&q.retention.0) {
            err(
                &format!("{at}.retention"),
                format!(
                    "retention {} is outside what SQS allows (1m to 14d)",
                    q.retention
                ),
                "use a value from `1m` to `14d`",
            );
        }
        if let Some(n) = q.dead_letter.max_receive_count {
            if !(1..=1000).contains(&n) {
                err(
                    &format!("{at}.dead_letter.max_receive_count"),
                    format!("max_receive_count {n} is outside 1..1000"),
                    "use a number from 1 to 1000; 5 is a common choice",
                );
            }
        }
        // A FIFO queue's name is spelled out (templates/queue.yaml.hbs):
        // `<service>-lambda-<id>DeadLetterQueue-<12>.fifo`, within SQS's 80 characters.
        let longest = c.service.len() + "-lambda-".len() + e.dead_letter_id().len() + 18;
        if q.fifo && e.key.is_some() && longest > 80 {
            err(
                &format!("{at}.fifo"),
                format!(
                    "the FIFO queue names of `{}` would be {longest} characters; SQS allows 80",
                    e.label()
                ),
                "shorten the queue's key under `queues:` or the service name",
            );
        }
    }
}

/// `production:`'s queues: one per consumed entry, each a queue URL of the entry's kind, and none
/// of them anywhere the stacks hand to a worker.
pub(super) fn check_production(c: &Config, prod: &super::Production, out: &mut Vec<Diagnostic>) {
    if c.queues.is_empty() && prod.queue.is_none() {
        out.push(
            Diagnostic::error("missing-key", "production", "`production` is missing the required key `queue`")
                .hint("give the URL of the queue it consumes: `queue: https://sqs.eu-west-1.amazonaws.com/123456789012/orders`"),
        );
    }
    let mut err = |path: &str, message: String, hint: &str| {
        out.push(Diagnostic::error("config", path, message).hint(hint))
    };
    if c.queues.is_empty() {
        if !prod.queues.is_empty() {
            err(
                "production.queues",
                "`production.queues` is written, the worker has one `queue`".into(),
                "give its production queue's URL as `production.queue`",
            );
        }
    } else {
        if prod.queue.is_some() {
            err(
                "production.queue",
                "`production.queue` is written, the worker has several `queues`".into(),
                "give each entry's production queue under `production.queues`, by the entry's name",
            );
        }
        for key in prod.queues.keys() {
            if !c.queues.contains_key(key) {
                let known: Vec<&str> = c.queues.keys().map(String::as_str).collect();
                err(
                    &format!("production.queues.{key}"),
                    format!("`{key}` is not one of the worker's `queues`"),
                    &format!("name one of: {}", known.join(", ")),
                );
            }
        }
        for e in c.consumed_queues() {
            if c.production_queue(&e).is_none() {
                err(
                    "production.queues",
                    format!("`production.queues` gives no production queue for `{}`", e.label()),
                    &format!("add `{}: https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`, the queue the service consumes for it", e.label()),
                );
            }
        }
    }
    for e in c.queues() {
        let Some(url) = c.production_queue(&e) else {
            continue;
        };
        let path = match e.key {
            Some(k) => format!("production.queues.{k}"),
            None => "production.queue".into(),
        };
        let Some((region, account, name)) = queue_url(url) else {
            err(&path, format!("`{url}` is not an SQS queue URL"), "give the queue's URL, for example `https://sqs.eu-west-1.amazonaws.com/123456789012/orders`");
            continue;
        };
        // A data-safety rule: the experiment stacks hand the workers what the config gives
        // them, so a production queue there would be consumed by both experiment workers. Only
        // `cutover` points anything at it (docs/safety.md).
        let handed = c
            .environment
            .iter()
            .map(|(k, v)| (format!("environment.{k}"), v.0.clone()))
            .chain(
                c.ecs
                    .command
                    .iter()
                    .flatten()
                    .map(|a| ("ecs.command".to_string(), a.clone())),
            )
            .chain(
                c.lambda
                    .command
                    .iter()
                    .map(|a| ("lambda.command".to_string(), a.clone())),
            )
            .chain(
                c.lambda
                    .entry_point
                    .iter()
                    .map(|a| ("lambda.entry_point".to_string(), a.clone())),
            );
        for (at, value) in handed {
            if let Some(form) = names_queue(&value, region, account, name) {
                // In a variable, the finder that hands the worker its own queue there instead.
                let instead = at.strip_prefix("environment.").map(|var| {
                    let field = match form {
                        _ if value.trim_start().starts_with('{') => {
                            let key = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&value)
                                .ok()
                                .and_then(|m| {
                                    m.into_iter().find_map(|(k, v)| {
                                        v.as_str()
                                            .and_then(|v| names_queue(v, region, account, name))
                                            .map(|_| k)
                                    })
                                })
                                .unwrap_or_else(|| "KEY".into());
                            format!("json_env: {{var: {var}, key: {key}}}")
                        }
                        "name" => format!("name_env: {var}"),
                        "ARN" => format!("arn_env: {var}"),
                        _ => format!("url_env: {var}"),
                    };
                    format!("remove it from `environment` and set `{}.{field}`: each stack then hands the worker its own queue in `{var}`; the production queue is consumed only from `replatform cutover` on", e.path())
                });
                err(
                    &at,
                    format!("`{at}` holds the production queue `{name}` (its {form}): both experiment stacks would hand it to their workers, which would consume production's messages"),
                    instead.as_deref().unwrap_or("remove it: each stack gives its worker a queue of its own (`queue.url_env`, or `queues:` for several), and the production queue is consumed only from `replatform cutover` on"),
                );
            }
        }
        // An emulator's queue URL names no region: its queues are where the tool talks to it.
        if let Some(r) = c
            .region
            .as_deref()
            .filter(|r| *r != region && !super::is_emulator_queue_url(url))
        {
            err(&path, format!("the production queue is in `{region}`, the service in `{r}`"), "the Lambda function consumes the production queue at cutover: deploy in the queue's region");
        }
        let fifo = e.queue.fifo;
        if name.ends_with(".fifo") != fifo {
            let (is, set) = if fifo {
                ("a standard queue", "false")
            } else {
                ("a FIFO queue", "true")
            };
            err(
                &path,
                format!(
                    "the production queue `{name}` is {is}, `{}.fifo` is {fifo}",
                    e.path()
                ),
                &format!(
                    "set `{}.fifo: {set}` so both platforms consume queues of its kind",
                    e.path()
                ),
            );
        }
    }
}

//! `replatform init --from-ecs`'s pure part: the views of the running service (its ECS service,
//! task definition, roles' policies, scaling and queue, as `aws/` reads them) in, the
//! `replatform.yaml` text and the readiness report out: what moves to Lambda unchanged, what was
//! changed and why, and what Lambda cannot run (docs/pitfalls.md#p36). Secrets are ARNs here: no
//! value is ever read. Pure.

use serde::Serialize;

use super::init::{Facts, Handler};

/// One container of the task definition.
#[derive(Clone, Debug, Default)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub essential: bool,
    pub command: Vec<String>,
    pub entry_point: Vec<String>,
    pub working_directory: Option<String>,
    pub environment: Vec<(String, String)>,
    /// Name and `valueFrom` (an ARN): never the value.
    pub secrets: Vec<(String, String)>,
    pub privileged: bool,
    pub linux_parameters: bool,
    pub port_mappings: Vec<i32>,
    pub gpus: bool,
    /// A FireLens log router (`firelensConfiguration`).
    pub log_router: bool,
    /// `user`, as the task definition gives it (`root`, `0`, `1000:1000`, a name).
    pub user: Option<String>,
    /// The containers this one waits for (`dependsOn`).
    pub depends_on: Vec<String>,
}

/// The task definition revision the service runs.
#[derive(Clone, Debug, Default)]
pub struct TaskDefinition {
    pub arn: String,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    /// `X86_64` or `ARM64` (`runtimePlatform.cpuArchitecture`).
    pub architecture: Option<String>,
    /// `runtimePlatform.operatingSystemFamily`, e.g. `LINUX`, `WINDOWS_SERVER_2022_CORE`.
    pub os_family: Option<String>,
    pub ephemeral_gib: Option<i32>,
    /// The task's volumes on Amazon EFS (`efsVolumeConfiguration`), by name.
    pub efs_volumes: Vec<String>,
    pub task_role: Option<String>,
    pub execution_role: Option<String>,
    pub containers: Vec<Container>,
}

/// The ECS service.
#[derive(Clone, Debug, Default)]
pub struct Service {
    pub cluster: String,
    pub name: String,
    pub task_definition: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    /// The desired count: what runs when nothing scales the service.
    pub desired: i32,
}

/// A role's policies: attached managed policy ARNs, and the statements of its inline policies.
#[derive(Clone, Debug, Default)]
pub struct RolePolicies {
    pub role: String,
    pub managed: Vec<String>,
    /// Each inline policy's name and document (JSON).
    pub inline: Vec<(String, serde_json::Value)>,
}

/// One step of a step-scaling policy: bounds are offsets from the alarm's threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub adjustment: i32,
}

/// A scaling policy of the service's scalable target.
#[derive(Clone, Debug, PartialEq)]
pub enum Policy {
    Step {
        name: String,
        /// The policy's ARN: what its alarms name among their actions.
        arn: String,
        adjustment_type: String,
        steps: Vec<Step>,
        cooldown: Option<i32>,
        alarms: Vec<String>,
    },
    TargetTracking {
        name: String,
        target: f64,
        metric: String,
    },
}

/// A CloudWatch alarm of a step policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Alarm {
    pub name: String,
    /// The metric's name, or the expression of a metric-math alarm.
    pub metric: String,
    /// The queues whose metrics it watches (`QueueName` of its metric, or of each metric its
    /// math reads).
    pub queues: Vec<String>,
    pub threshold: f64,
    pub comparison: String,
}

/// The service's scalable target and its policies.
#[derive(Clone, Debug, Default)]
pub struct Scaling {
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub policies: Vec<Policy>,
    pub alarms: Vec<Alarm>,
    /// Why the alarms could not be read, when they could not.
    pub alarms_unread: Option<String>,
}

/// How the worker finds a queue in one variable (docs/config.md, `queues:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum How {
    Url,
    Name,
    Arn,
    /// A JSON object held by the variable; the queue's URL is under this key.
    Json(String),
}

/// One variable through which the worker finds one of its queues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub var: String,
    pub how: How,
    /// The SSM `String` parameter (its `valueFrom`) when the variable is a `secrets` entry
    /// rather than an `environment` one.
    pub parameter: Option<String>,
}

/// A queue the worker finds, with what SQS says of it.
#[derive(Clone, Debug, Default)]
pub struct Queue {
    pub url: String,
    pub arn: String,
    pub visibility_timeout_s: u64,
    pub retention_s: u64,
    pub fifo: bool,
    /// The dead-letter queue's ARN and the max receive count.
    pub redrive: Option<(String, u64)>,
    /// Every variable of the worker container that names it.
    pub found: Vec<Finding>,
}

impl Queue {
    /// The queue's name: the last part of its URL.
    pub fn name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or_default()
    }

    /// Its account: the part of its URL before the name.
    pub fn account(&self) -> &str {
        self.url.rsplit('/').nth(1).unwrap_or_default()
    }
}

/// What a variable's value may be, by its shape alone; a name is a queue only if SQS knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Candidate {
    Url(String),
    Arn(String),
    Name(String),
    /// A JSON object: its keys whose values are queue URLs.
    Json(Vec<(String, String)>),
}

/// What a variable's value may be as a queue (Amazon SQS Developer Guide, "Amazon SQS queue and
/// message identifiers"): a URL, an ARN, a JSON object of URLs, or a word that could be a queue
/// name (1..80 letters, digits, `-`, `_`, optionally `.fifo`, with at least one letter).
pub fn candidate(value: &str) -> Option<Candidate> {
    let v = value.trim();
    if is_queue_url(v) {
        return Some(Candidate::Url(v.to_string()));
    }
    if is_queue_arn(v) {
        return Some(Candidate::Arn(v.to_string()));
    }
    if v.starts_with('{') {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(v).ok()?;
        let urls: Vec<(String, String)> = map
            .iter()
            .filter_map(|(k, u)| {
                let u = u.as_str()?.trim();
                is_queue_url(u).then(|| (k.clone(), u.to_string()))
            })
            .collect();
        return (!urls.is_empty()).then_some(Candidate::Json(urls));
    }
    let base = v.strip_suffix(".fifo").unwrap_or(v);
    let name = (1..=80).contains(&v.len())
        && !base.is_empty()
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && base.chars().any(|c| c.is_ascii_alphabetic())
        && !matches!(
            base.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no"
        );
    name.then(|| Candidate::Name(v.to_string()))
}

/// An SQS queue's ARN: `arn:PARTITION:sqs:REGION:ACCOUNT:NAME`.
pub fn is_queue_arn(v: &str) -> bool {
    let p: Vec<&str> = v.split(':').collect();
    p.len() == 6
        && p[0] == "arn"
        && p[2] == "sqs"
        && !p[3].is_empty()
        && p[4].len() == 12
        && p[4].bytes().all(|b| b.is_ascii_digit())
        && !p[5].is_empty()
}

/// The ARN of the queue `name` in the task definition's partition, region and account, where
/// ECS and the worker resolve a bare name.
pub fn queue_arn_in_task_account(name: &str, task_definition_arn: &str) -> String {
    let parts: Vec<&str> = task_definition_arn.split(':').collect();
    let (partition, region, account) = match parts.as_slice() {
        ["arn", p, "ecs", r, a, ..] => (*p, *r, *a),
        _ => ("aws", "", ""),
    };
    format!("arn:{partition}:sqs:{region}:{account}:{name}")
}

/// Everything read of the running service.
#[derive(Clone, Debug, Default)]
pub struct Running {
    pub service: Service,
    pub task: TaskDefinition,
    pub task_role: Option<RolePolicies>,
    pub execution_role: Option<RolePolicies>,
    pub scaling: Scaling,
    /// The worker's queues, each with the variables that name it; at least one.
    pub queues: Vec<Queue>,
    /// The worker container's index: the one whose variables name the queues.
    pub worker: usize,
    /// Each `/aws/reference/secretsmanager/NAME` secret of the worker, by variable: the secret's
    /// ARN as `DescribeSecret` gave it, or why it could not be read.
    pub secret_arns: Vec<(String, Result<String, String>)>,
}

/// What the report says of one thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Moves to Lambda as it is.
    Unchanged,
    /// Written differently from what runs today, and why.
    Changed,
    /// Lambda cannot run it: the field or code change that would resolve it.
    Cannot,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    pub kind: Kind,
    /// The config field or task-definition field concerned.
    pub field: String,
    pub what: String,
    /// What resolves it (for `changed` and `cannot`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolve: Option<String>,
}

/// The readiness report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub service: String,
    pub production: String,
    pub queue: String,
    pub items: Vec<Item>,
    /// Whether the code in the build context has a handler Lambda can call.
    pub handler: String,
}

/// Lambda's largest memory (MiB) and ephemeral storage (GB) (AWS Lambda quotas;
/// docs/pitfalls.md#p36).
pub const LAMBDA_MAX_MEMORY: u64 = 10_240;
pub const LAMBDA_MAX_EPHEMERAL_GB: i32 = 10;

/// An SQS queue URL's shape: `http(s)://HOST/ACCOUNT/NAME`, a 12-digit account (Amazon SQS
/// Developer Guide, "Queue and message identifiers").
pub fn is_queue_url(v: &str) -> bool {
    let Some(rest) = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && parts[1].len() == 12
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && !parts[2].is_empty()
}

/// The words of a variable's name that say only "a queue": dropped from its key.
const QUEUE_WORDS: [&str; 11] = [
    "queue", "queues", "url", "urls", "uri", "uris", "name", "arn", "sqs", "copilot", "topic",
];

/// A key `queues:` takes (`[a-z][a-z0-9_-]{0,23}`) made of `text`: lower case, `-` between
/// words, a letter first; empty when nothing is left.
fn key_text(text: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('-');
        }
        prev_lower = c.is_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_start_matches(|c: char| !c.is_ascii_lowercase());
    // Too long: the first words go first (a stack's or an app's name, the least particular).
    while out.len() > 24 {
        match out.split_once('-') {
            Some((_, rest)) if rest.starts_with(|c: char| c.is_ascii_lowercase()) => out = rest,
            _ => break,
        }
    }
    let mut out: String = out.chars().take(24).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Each queue's key under `queues:`, readable: a JSON key as it is, else the variable's name
/// without its queue words (`ORDERS_QUEUE_URL` -> `orders`), else the queue's own name; unique.
pub fn queue_keys(queues: &[Queue]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for q in queues {
        let from_json = q.found.iter().find_map(|f| match &f.how {
            How::Json(k) => Some(key_text(k)),
            _ => None,
        });
        let from_var = q.found.iter().find_map(|f| {
            let words: Vec<&str> = f
                .var
                .split('_')
                .filter(|w| {
                    !w.is_empty() && !QUEUE_WORDS.contains(&w.to_ascii_lowercase().as_str())
                })
                .collect();
            let k = key_text(&words.join("_"));
            (!k.is_empty()).then_some(k)
        });
        let mut key = from_json
            .filter(|k| !k.is_empty())
            .or(from_var)
            .unwrap_or_else(|| key_text(q.name().trim_end_matches(".fifo")));
        if key.is_empty() {
            key = "queue".into();
        }
        let base = key.clone();
        let mut n = 2;
        while keys.contains(&key) {
            key = format!("{}-{n}", &base[..base.len().min(21)]);
            n += 1;
        }
        keys.push(key);
    }
    keys
}

/// Whether an IAM pattern (`*` and `?` wildcards, as in `Action` and `Resource`) matches `text`.
fn glob(pattern: &str, text: &str, case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case {
        (pattern.chars().collect(), text.chars().collect())
    } else {
        (
            pattern.to_ascii_lowercase().chars().collect(),
            text.to_ascii_lowercase().chars().collect(),
        )
    };
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// What the task role's inline statements allow on the queue `arn`: (`sqs:ReceiveMessage`,
/// `sqs:SendMessage`). Managed policies are not read (their documents need `GetPolicyVersion`).
pub fn role_access(role: Option<&RolePolicies>, arn: &str) -> (bool, bool) {
    let Some(role) = role else {
        return (false, false);
    };
    let list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        }
    };
    let (mut receive, mut send) = (false, false);
    for st in role.inline.iter().flat_map(|(_, d)| statements(d)) {
        if st["Effect"] != "Allow" || !list(&st["Resource"]).iter().any(|r| glob(r, arn, true)) {
            continue;
        }
        let actions = list(&st["Action"]);
        receive |= actions.iter().any(|a| glob(a, "sqs:ReceiveMessage", false));
        send |= actions.iter().any(|a| glob(a, "sqs:SendMessage", false));
    }
    (receive, send)
}

/// A statement without the resources that are (or whose pattern matches) one of the production
/// queues' ARNs: `None` when none is left. Returns the resources left out.
fn without_queues(
    mut st: serde_json::Value,
    arns: &[&str],
) -> (Option<serde_json::Value>, Vec<String>) {
    let resources: Vec<String> = match &st["Resource"] {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => return (Some(st), Vec::new()),
    };
    // `*` grants everything; it names no queue (and stays, as the task role has it).
    let (removed, kept): (Vec<String>, Vec<String>) = resources
        .into_iter()
        .partition(|r| r != "*" && arns.iter().any(|a| !a.is_empty() && glob(r, a, true)));
    if removed.is_empty() {
        return (Some(st), removed);
    }
    if kept.is_empty() {
        return (None, removed);
    }
    st["Resource"] = serde_json::Value::from(kept);
    (Some(st), removed)
}

/// Whether the worker consumes `q`, and why: a scaling alarm watches it, or the task role may
/// receive from it; a queue the role may only send to is not consumed.
pub fn consumption(r: &Running, q: &Queue) -> (bool, String) {
    let watched: Vec<&str> = r
        .scaling
        .alarms
        .iter()
        .filter(|a| a.queues.iter().any(|n| n == q.name()))
        .map(|a| a.name.as_str())
        .collect();
    let (receive, send) = role_access(r.task_role.as_ref(), &q.arn);
    if !watched.is_empty() {
        let names: Vec<String> = watched.iter().map(|n| format!("`{n}`")).collect();
        (
            true,
            format!("the scaling alarm {} watches it", names.join(", ")),
        )
    } else if receive {
        (
            true,
            "the task role may `sqs:ReceiveMessage` from it".into(),
        )
    } else if send {
        (
            false,
            "the task role may only `sqs:SendMessage` to it".into(),
        )
    } else {
        (true, "no scaling alarm watches it and the task role's inline policies name no SQS action on it (managed policies are not read): taken as consumed".into())
    }
}

/// `%xx` decoding, as IAM returns inline policy documents (IAM API Reference, `GetRolePolicy`).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The statements of a policy document (`Statement` is an object or a list).
fn statements(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    match &doc["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Object(_) => vec![doc["Statement"].clone()],
        _ => Vec::new(),
    }
}

/// The `add` steps of the scaling policies, and what was changed to get them (docs/pitfalls.md#p11,
/// #p13, #p30).
pub fn scale_out(scaling: &Scaling, items: &mut Vec<Item>) -> Vec<(u64, i64)> {
    let mut steps: Vec<(u64, i64)> = Vec::new();
    for p in &scaling.policies {
        match p {
            Policy::Step {
                name,
                adjustment_type,
                steps: ss,
                alarms,
                ..
            } => {
                let alarm = scaling.alarms.iter().find(|a| alarms.contains(&a.name));
                let threshold = alarm.map(|a| a.threshold).unwrap_or(1.0);
                // A metric-math alarm (its `Metrics`): the expression and the queues it reads.
                if let Some(a) = alarm.filter(|a| {
                    a.queues.len() > 1 || a.metric.contains(|c: char| " +-*/(".contains(c))
                }) {
                    items.push(Item {
                        kind: Kind::Changed,
                        field: "ecs.scaling.scale_out".into(),
                        what: format!(
                            "policy `{name}`'s alarm `{}` is metric math (`{}`) over the queue{} {}: its threshold {} sets the steps; both stacks scale on the sum of their queues' visible and in-flight messages",
                            a.name,
                            a.metric,
                            if a.queues.len() == 1 { "" } else { "s" },
                            a.queues.iter().map(|q| format!("`{q}`")).collect::<Vec<_>>().join(", "),
                            a.threshold
                        ),
                        resolve: None,
                    });
                }
                if alarm.is_none() {
                    let why = scaling
                        .alarms_unread
                        .clone()
                        .unwrap_or_else(|| "it has no alarm".into());
                    items.push(Item { kind: Kind::Changed, field: "ecs.scaling.scale_out".into(), what: format!("the threshold of policy `{name}`'s alarm was not read ({why}): its steps assume a threshold of 1"), resolve: Some("check `from:` of each step against the alarm's threshold".into()) });
                }
                let out: Vec<&Step> = ss
                    .iter()
                    .filter(|s| {
                        s.adjustment > 0 && s.lower.is_some_and(|l| l >= 0.0)
                            || s.adjustment > 0
                                && s.lower.is_none()
                                && s.upper.is_none_or(|u| u > 0.0)
                    })
                    .collect();
                if out.is_empty() {
                    items.push(Item { kind: Kind::Changed, field: "ecs.scaling.scale_in_after".into(), what: format!("scale-in policy `{name}` is not copied: both stacks scale in to zero once the queue and its in-flight messages are empty (docs/pitfalls.md#p15)"), resolve: None });
                    continue;
                }
                for s in out {
                    let from = (threshold + s.lower.unwrap_or(0.0)).ceil().max(1.0) as u64;
                    steps.push((from, i64::from(s.adjustment)));
                }
                match adjustment_type.as_str() {
                    "ExactCapacity" => items.push(Item {
                        kind: Kind::Changed,
                        field: "ecs.scaling.scale_out".into(),
                        what: format!("policy `{name}` sets the task count (ExactCapacity): translated to `add` steps of the same sizes, since a set count stays where it is however long the alarm fires (docs/pitfalls.md#p11, #p30)"),
                        resolve: Some("check the step sizes: each now adds tasks while its alarm fires".into()),
                    }),
                    "PercentChangeInCapacity" => items.push(Item { kind: Kind::Changed, field: "ecs.scaling.scale_out".into(), what: format!("policy `{name}` adds a percentage: translated to `add` steps of that many tasks"), resolve: Some("check the step sizes".into()) }),
                    _ => items.push(Item { kind: Kind::Unchanged, field: "ecs.scaling.scale_out".into(), what: format!("policy `{name}`'s ChangeInCapacity steps"), resolve: None }),
                }
            }
            Policy::TargetTracking {
                name,
                target,
                metric,
            } => {
                // CPU or memory beside scaling on the queue: the queue's steps already size the
                // service to its backlog, and a utilisation has no value at zero tasks
                // (docs/pitfalls.md#p13).
                let utilisation = matches!(
                    metric.as_str(),
                    "ECSServiceAverageCPUUtilization" | "ECSServiceAverageMemoryUtilization"
                );
                let queue_steps = scaling
                    .policies
                    .iter()
                    .any(|p| matches!(p, Policy::Step { .. }));
                if utilisation && queue_steps {
                    items.push(Item {
                        kind: Kind::Changed,
                        field: "ecs.scaling".into(),
                        what: format!("target tracking policy `{name}` ({metric} at {target}) is not copied: the service also scales on its queue, which is what both stacks scale on; a utilisation has no value at zero tasks, and on Lambda each message gets its own capacity (docs/pitfalls.md#p13)"),
                        resolve: Some("if the worker is CPU- or memory-bound, raise `ecs.cpu`/`ecs.memory` and `lambda.memory` instead".into()),
                    });
                    continue;
                }
                let t = target.ceil().max(2.0) as u64;
                steps.push((1, 1));
                steps.push((t * 2, 2));
                items.push(Item {
                    kind: Kind::Changed,
                    field: "ecs.scaling.scale_out".into(),
                    what: format!("target tracking policy `{name}` tracked `{metric}` at {target}, which cannot leave zero tasks (docs/pitfalls.md#p13): the steps now add tasks on the queues' visible messages instead, +1 from 1 message and +2 from {}", t * 2),
                    resolve: Some("tune `from:` and `add:` to the backlog the service should keep".into()),
                });
            }
        }
    }
    steps.sort();
    steps.dedup_by(|a, b| a.0 == b.0);
    steps
}

fn flow(argv: &[String]) -> String {
    let items: Vec<String> = argv
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(", "))
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn line(o: &mut String, text: &str, comment: &str) {
    let gap = if text.len() >= 32 { "  " } else { "" };
    o.push_str(&format!("{text:<32}{gap}# {comment}\n"));
}

/// Seconds as the config writes durations.
fn secs(s: u64) -> String {
    format!("{s}s")
}

/// What a container secret's `valueFrom` is, in the forms ECS accepts (Amazon ECS Developer
/// Guide, "Pass sensitive data to an Amazon ECS container"): an ARN (Secrets Manager, with or
/// without a JSON key and version, or Systems Manager), a Parameter Store name (with or without
/// its leading `/`) in the task's own region, or Parameter Store's reference to a Secrets Manager
/// secret, `/aws/reference/secretsmanager/NAME`.
#[derive(Debug, PartialEq, Eq)]
enum SecretRef {
    Arn,
    /// A parameter's name, and its ARN in the task definition's partition, region and account.
    Parameter(String),
    /// The secret's name: its ARN needs Secrets Manager's own answer.
    SecretsManagerReference(String),
}

fn secret_ref(value_from: &str, task_definition_arn: &str) -> SecretRef {
    if value_from.starts_with("arn:") {
        return SecretRef::Arn;
    }
    if let Some(name) = value_from.strip_prefix("/aws/reference/secretsmanager/") {
        return SecretRef::SecretsManagerReference(name.to_string());
    }
    let parts: Vec<&str> = task_definition_arn.split(':').collect();
    let (partition, region, account) = match parts.as_slice() {
        ["arn", p, "ecs", r, a, ..] => (*p, *r, *a),
        _ => ("aws", "", ""),
    };
    SecretRef::Parameter(format!(
        "arn:{partition}:ssm:{region}:{account}:parameter/{}",
        value_from.trim_start_matches('/')
    ))
}

/// A service name without the parts CloudFormation and the CDK generate: the random suffix of a
/// physical id (`-1QWERTYUIOPAS`, 12 or 13 upper-case letters and digits; AWS CloudFormation User
/// Guide, "Name type") and the 8-hex-digit hash that ends a CDK logical id (`ServiceECC1B1E6`),
/// which in an upper-case name no case change sets apart.
fn without_generated_parts(name: &str) -> String {
    let random = |p: &str| {
        (10..=13).contains(&p.len())
            && p.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && p.chars().any(|c| c.is_ascii_digit())
            && p.chars().any(|c| c.is_ascii_uppercase())
    };
    let parts: Vec<String> = name
        .split('-')
        .filter(|p| !p.is_empty() && !random(p))
        .map(|p| {
            let cut = p.len().saturating_sub(8);
            let tail = &p[cut..];
            let hashed = p.len() > 8
                && p.is_char_boundary(cut)
                && tail
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
                && tail.chars().any(|c| c.is_ascii_digit());
            if hashed {
                p[..cut].to_string()
            } else {
                p.to_string()
            }
        })
        .collect();
    if parts.is_empty() {
        name.to_string()
    } else {
        parts.join("-")
    }
}

/// What `init` knows of the code, for the worker as it runs: the folder's facts when there are
/// some, with the container's own start command, entry point and working directory over the
/// Dockerfile's; from the container alone otherwise (its image name and start command may still
/// name a language; nothing is guessed when they do not).
fn code_facts(worker: &Container, code: Option<&Facts>, command: Option<&[String]>) -> Facts {
    let mut f = code.cloned().unwrap_or_else(|| Facts {
        folder: String::new(),
        image: super::dockerfile::ImageFacts {
            base: Some(worker.image.clone()),
            ..Default::default()
        },
        cmd_module: None,
        handler: None,
        queue_env: None,
        language: super::dockerfile::detect(&Default::default(), &[]),
        files: Vec::new(),
        package: None,
    });
    if let Some(cmd) = command.filter(|c| !c.is_empty()) {
        f.image.cmd = Some(cmd.to_vec());
    }
    if !worker.entry_point.is_empty() {
        f.image.entrypoint = Some(worker.entry_point.clone());
    }
    if let Some(wd) = &worker.working_directory {
        f.image.workdir = Some(wd.clone());
    }
    if f.cmd_module.is_none() {
        f.cmd_module = f.image.cmd.as_deref().and_then(super::init::cmd_module);
    }
    f.language = super::dockerfile::detect(&f.image, &f.files);
    f
}

/// The config text and the readiness report for the running service. `code` is what `init`
/// found in the build context (the current folder), when it has a Dockerfile.
pub fn translate(r: &Running, code: Option<&Facts>) -> (String, Report) {
    let mut items: Vec<Item> = Vec::new();
    let worker = &r.task.containers[r.worker];
    let service = super::init::service_name_from_ecs(&without_generated_parts(&r.service.name));
    if service != r.service.name {
        items.push(Item {
            kind: Kind::Changed,
            field: "service".into(),
            what: format!("`{service}`, from the ECS service's name `{}`: a service name is at most 32 lower-case letters, digits and `-`, and names both stacks and everything in them", r.service.name),
            resolve: Some("set `service:` to another name if this one does not read well; it changes no production resource".into()),
        });
    }
    let production = format!("{}/{}", r.service.cluster, r.service.name);
    let mut o = String::new();
    o.push_str(&format!("# Written by `replatform init --from-ecs {production}` from the running service (task definition\n# {}). Each value says where it comes from; see the readiness report.\n", r.task.arn));
    line(
        &mut o,
        &format!("service: {service}"),
        "the ECS service's name",
    );
    o.push('\n');

    // The image.
    let arm = r.task.architecture.as_deref() == Some("ARM64");
    o.push_str("image:\n");
    line(
        &mut o,
        "  context: .",
        "the worker's source, built here into the image both stacks run",
    );
    line(
        &mut o,
        &format!("  platform: linux/{}", if arm { "arm64" } else { "amd64" }),
        "the task's runtimePlatform.cpuArchitecture",
    );
    items.push(Item {
        kind: Kind::Unchanged,
        field: "image.platform".into(),
        what: format!("architecture {}", if arm { "arm64" } else { "x86_64" }),
        resolve: None,
    });
    items.push(Item { kind: Kind::Changed, field: "image".into(), what: format!("the service runs `{}`; both stacks run the image built from this folder, by digest (docs/pitfalls.md#p2)", worker.image), resolve: Some("run `replatform init --from-ecs` in the worker's source folder, or set image.context".into()) });
    o.push('\n');

    // The queues: each one's key under `queues:`, and whether the worker consumes it.
    let keys = queue_keys(&r.queues);
    let mut consumed: Vec<(bool, String)> = r.queues.iter().map(|q| consumption(r, q)).collect();
    if consumed.iter().all(|(c, _)| !*c) {
        for c in &mut consumed {
            *c = (
                true,
                format!(
                    "{}; no queue looked consumed, so every one is taken as consumed",
                    c.1
                ),
            );
        }
    }
    // Every variable that names a queue becomes how the stacks hand the worker their own queue
    // (`url_env`, `name_env`, `arn_env`, `json_env`), never an `environment` value.
    let finder_vars: Vec<&str> = r
        .queues
        .iter()
        .flat_map(|q| q.found.iter().map(|f| f.var.as_str()))
        .collect();

    // A JSON variable's keys that are not queue URLs: the stacks set the variable to a JSON
    // object of their own queues only.
    for (var, value) in &worker.environment {
        let keys: Vec<&str> = r
            .queues
            .iter()
            .flat_map(|q| &q.found)
            .filter(|f| f.var == *var)
            .filter_map(|f| match &f.how {
                How::Json(k) => Some(k.as_str()),
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            continue;
        }
        let Ok(map) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(value)
        else {
            continue;
        };
        let others: Vec<String> = map
            .keys()
            .filter(|k| !keys.contains(&k.as_str()))
            .map(|k| format!("`{k}`"))
            .collect();
        if !others.is_empty() {
            items.push(Item {
                kind: Kind::Changed,
                field: format!("environment.{var}"),
                what: format!("its other keys {} are not passed: the stacks set `{var}` to a JSON object of their own queues only", others.join(", ")),
                resolve: Some("give the worker those values in variables of their own".into()),
            });
        }
    }

    // Environment, minus the queue variables, and minus any other variable that names a
    // production queue (its URL in another form, its ARN or name, inside a JSON map): the
    // experiment stacks hand the environment to their workers, which would consume production
    // (a data-safety rule `validate` holds too; docs/safety.md). Each queue's account and name
    // come from its URL's path, whatever the host (an emulator's too); the region from an AWS
    // URL, else from the task definition's ARN.
    let names_production = |v: &str| {
        r.queues.iter().find_map(|q| {
            let region = crate::core::config::queue_url(&q.url)
                .map(|(region, _, _)| region)
                .or_else(|| r.task.arn.split(':').nth(3))
                .unwrap_or_default();
            crate::core::config::names_queue(v, region, q.account(), q.name())
                .map(|form| (q.name(), form))
        })
    };
    let mut env: Vec<&(String, String)> = Vec::new();
    for kv in worker
        .environment
        .iter()
        .filter(|(k, _)| !finder_vars.contains(&k.as_str()))
    {
        if crate::core::config::LAMBDA_RESERVED_ENV.contains(&kv.0.as_str()) {
            items.push(Item {
                kind: Kind::Changed,
                field: format!("environment.{}", kv.0),
                what: format!("left out: Lambda sets `{}` itself and refuses a function that sets it (AWS Lambda Developer Guide, \"Defined runtime environment variables\"); ECS tasks get it from the task definition", kv.0),
                resolve: None,
            });
            continue;
        }
        match names_production(&kv.1) {
            Some((name, form)) => items.push(Item {
                kind: Kind::Changed,
                field: format!("environment.{}", kv.0),
                what: format!("left out: it holds the production queue `{name}` (its {form}), which the experiment stacks would hand to their workers"),
                resolve: Some(format!("if the worker finds a queue in `{}`, name it under the queue (`url_env`, `name_env`, `arn_env` or `json_env`); the production queue is consumed only from `replatform cutover` on", kv.0)),
            }),
            None => env.push(kv),
        }
    }
    // Lambda takes 4 KB of environment in all (AWS Lambda quotas); the queue's URL and each
    // secret's `_SECRET_ARN` variable come on top of what is written here.
    let size: usize = env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        + worker
            .secrets
            .iter()
            .map(|(k, from)| k.len() + crate::core::config::SECRET_ARN_SUFFIX.len() + from.len())
            .sum::<usize>();
    if size > 4096 {
        items.push(Item {
            kind: Kind::Cannot,
            field: "environment".into(),
            what: format!("the variables take about {size} bytes; Lambda allows 4 KB in all, and `validate` refuses more"),
            resolve: Some("move large values to SSM Parameter Store or Secrets Manager (as `secrets`) and read them at start-up".into()),
        });
    }
    if !env.is_empty() {
        o.push_str("environment:                    # the worker container's, minus the variables naming its queues\n");
        for (k, v) in &env {
            o.push_str(&format!("  {k}: {}\n", q(v)));
        }
        o.push('\n');
        items.push(Item {
            kind: Kind::Unchanged,
            field: "environment".into(),
            what: format!(
                "{} variable{}",
                env.len(),
                if env.len() == 1 { "" } else { "s" }
            ),
            resolve: None,
        });
    }
    let mut secrets: Vec<(&str, String)> = Vec::new();
    for (k, from) in &worker.secrets {
        if finder_vars.contains(&k.as_str()) {
            items.push(Item {
                kind: Kind::Changed,
                field: format!("secrets.{k}"),
                what: format!("left out of `secrets`: the SSM String parameter `{from}` holds a production queue, which the stacks replace with their own queue, passed in `{k}` directly"),
                resolve: None,
            });
            continue;
        }
        let resolved = r.secret_arns.iter().find(|(v, _)| v == k).map(|(_, a)| a);
        match secret_ref(from, &r.task.arn) {
            SecretRef::SecretsManagerReference(name) if resolved.is_some_and(Result::is_ok) => {
                let arn = resolved.and_then(|a| a.clone().ok()).unwrap_or_default();
                items.push(Item {
                    kind: Kind::Changed,
                    field: format!("secrets.{k}"),
                    what: format!("`{from}` (Parameter Store's reference to the Secrets Manager secret `{name}`) written as the secret's ARN, from `DescribeSecret`"),
                    resolve: None,
                });
                secrets.push((k, arn));
                continue;
            }
            _ => {}
        }
        match secret_ref(from, &r.task.arn) {
            SecretRef::Arn => secrets.push((k, from.clone())),
            SecretRef::Parameter(arn) => {
                items.push(Item {
                    kind: Kind::Changed,
                    field: format!("secrets.{k}"),
                    what: format!("the parameter name `{from}` written as its ARN `{arn}` (in the task definition's account and region, where ECS resolves a name)"),
                    resolve: None,
                });
                secrets.push((k, arn));
            }
            SecretRef::SecretsManagerReference(name) => items.push(Item {
                kind: Kind::Changed,
                field: format!("secrets.{k}"),
                what: format!("left out: `{from}` reaches the Secrets Manager secret `{name}` through Parameter Store, and the stacks need the secret's own ARN (its 6-character suffix is known only to Secrets Manager){}", match resolved { Some(Err(why)) => format!("; it could not be described: {why}"), _ => String::new() }),
                resolve: Some(format!("add `{k}: <the ARN of secret {name}>` under `secrets:` (`aws secretsmanager describe-secret --secret-id {name} --query ARN`)")),
            }),
        }
    }
    if !secrets.is_empty() {
        o.push_str("secrets:                        # by ARN, as the task definition gives them (valueFrom): no value is read\n");
        for (k, arn) in &secrets {
            o.push_str(&format!("  {k}: {}\n", q(arn)));
        }
        o.push('\n');
        items.push(Item { kind: Kind::Changed, field: "secrets".into(), what: format!("{} secret{} by ARN: ECS injects them as today; Lambda has no `Secrets` field (docs/pitfalls.md#p36), `validate` shows how it gets them", secrets.len(), if secrets.len() == 1 { "" } else { "s" }), resolve: None });
    }

    // Permissions: the task role's, minus its grants on the production queues: each stack gives
    // its worker exactly its own queues, and a production queue in a role's statement would let
    // both experiment workers consume it (docs/safety.md).
    if let Some(role) = &r.task_role {
        let production: Vec<&str> = r.queues.iter().map(|q| q.arn.as_str()).collect();
        let mut stmts: Vec<serde_json::Value> = Vec::new();
        for st in role.inline.iter().flat_map(|(_, d)| statements(d)) {
            let (kept, removed) = without_queues(st, &production);
            if !removed.is_empty() {
                items.push(Item {
                    kind: Kind::Changed,
                    field: "permissions.statements".into(),
                    what: format!("the task role's grant on {} left out: it names the production queues, and each stack grants its worker its own queues", removed.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")),
                    resolve: None,
                });
            }
            stmts.extend(kept);
        }
        if !role.managed.is_empty() || !stmts.is_empty() {
            o.push_str(&format!("permissions:                    # the task role `{}`'s, given to both platforms' roles\n", role.role));
            if !role.managed.is_empty() {
                o.push_str("  managed_policies:\n");
                for m in &role.managed {
                    o.push_str(&format!("    - {}\n", q(m)));
                }
            }
            if !stmts.is_empty() {
                let names: Vec<&str> = role.inline.iter().map(|(n, _)| n.as_str()).collect();
                line(
                    &mut o,
                    "  statements:",
                    &format!(
                        "from the inline polic{} {}",
                        if names.len() == 1 { "y" } else { "ies" },
                        names.join(", ")
                    ),
                );
                for s in &stmts {
                    o.push_str(&format!(
                        "    - {}\n",
                        serde_json::to_string(s).unwrap_or_default()
                    ));
                }
            }
            o.push('\n');
            items.push(Item {
                kind: Kind::Unchanged,
                field: "permissions".into(),
                what: format!(
                    "the task role's {} managed polic{} and {} inline statement{}",
                    role.managed.len(),
                    if role.managed.len() == 1 { "y" } else { "ies" },
                    stmts.len(),
                    if stmts.len() == 1 { "" } else { "s" }
                ),
                resolve: None,
            });
        }
    }
    if let Some(exec) = &r.execution_role {
        items.push(Item { kind: Kind::Changed, field: "secrets".into(), what: format!("execution role `{}` is not copied: the stacks make their own, which may read exactly the secrets above", exec.role), resolve: None });
    }

    // The queues: one `queue:`, or `queues:` by key (docs/config.md).
    let several = r.queues.len() > 1;
    let vt = r
        .queues
        .iter()
        .zip(&consumed)
        .filter(|(_, (c, _))| *c)
        .map(|(q, _)| q.visibility_timeout_s.max(1))
        .min()
        .unwrap_or(30);
    o.push_str(if several {
        "queues:                         # one entry per queue the worker finds; each stack makes its own of each\n"
    } else {
        "queue:\n"
    });
    for ((q, key), (is_consumed, why)) in r.queues.iter().zip(&keys).zip(&consumed) {
        let at = if several {
            o.push_str(&format!("  {key}:\n"));
            format!("queues.{key}")
        } else {
            "queue".to_string()
        };
        let pad = if several { "    " } else { "  " };
        for f in &q.found {
            let from = match &f.parameter {
                Some(p) => format!("the SSM String parameter `{p}` in secrets `{}`", f.var),
                None => format!("`{}`", f.var),
            };
            let (text, what) = match &f.how {
                How::Url => (
                    format!("url_env: {}", f.var),
                    format!("{from} held the queue's URL"),
                ),
                How::Name => (
                    format!("name_env: {}", f.var),
                    format!("{from} held the queue's name"),
                ),
                How::Arn => (
                    format!("arn_env: {}", f.var),
                    format!("{from} held the queue's ARN"),
                ),
                How::Json(k) => (
                    format!(
                        "json_env: {{var: {}, key: {}}}",
                        f.var,
                        serde_json::to_string(k).unwrap_or_default()
                    ),
                    format!("{from} held a JSON object with the queue's URL under `{k}`"),
                ),
            };
            line(&mut o, &format!("{pad}{text}"), &what);
            items.push(Item {
                kind: Kind::Changed,
                field: format!("{at}.{}", match f.how { How::Url => "url_env", How::Name => "name_env", How::Arn => "arn_env", How::Json(_) => "json_env" }),
                what: format!("{what} (`{}`): each stack sets `{}` to its own queue in the same form, and the production queue is named only under `production:`", q.name(), f.var),
                resolve: None,
            });
        }
        if !is_consumed {
            line(
                &mut o,
                &format!("{pad}consumed: false"),
                "the worker only sends to it: see the report",
            );
        }
        items.push(Item {
            kind: Kind::Changed,
            field: at.clone(),
            what: format!(
                "queue `{}` is {}: {why}",
                q.name(),
                if *is_consumed { "consumed" } else { "only sent to (`consumed: false`: a stand-in queue on each platform, no mapping, no scaling)" }
            ),
            resolve: (!is_consumed).then(|| "if the worker also receives from it, remove `consumed: false`".to_string()),
        });
        line(
            &mut o,
            &format!(
                "{pad}visibility_timeout: {}",
                secs(q.visibility_timeout_s.max(1))
            ),
            "the production queue's",
        );
        line(
            &mut o,
            &format!("{pad}retention: {}", secs(q.retention_s.max(60))),
            "the production queue's",
        );
        if q.fifo {
            line(
                &mut o,
                &format!("{pad}fifo: true"),
                "the production queue is FIFO",
            );
        }
        match &q.redrive {
            Some((_, n)) => {
                o.push_str(&format!("{pad}dead_letter:\n"));
                line(
                    &mut o,
                    &format!("{pad}  max_receive_count: {n}"),
                    "the production queue's redrive policy",
                );
            }
            None => {
                line(
                    &mut o,
                    &format!("{pad}dead_letter: false"),
                    "the production queue has no dead-letter queue",
                );
                items.push(Item { kind: Kind::Changed, field: format!("{at}.dead_letter"), what: format!("the production queue `{}` has no dead-letter queue: a poison message is retried until it expires", q.name()), resolve: Some("remove `dead_letter: false` to give both queues one".into()) });
            }
        }
    }
    o.push('\n');

    // ECS.
    let cpu = r.task.cpu.clone().unwrap_or_else(|| "256".into());
    let memory: u64 = r
        .task
        .memory
        .as_deref()
        .and_then(|m| m.parse().ok())
        .unwrap_or(512);
    o.push_str("ecs:\n");
    line(
        &mut o,
        &format!("  cluster: {}", r.service.cluster),
        "the cluster the service runs in",
    );
    let command = if worker.command.is_empty() {
        code.and_then(|c| c.image.cmd.clone())
    } else {
        Some(worker.command.clone())
    };
    // A command that names a production queue would hand it to both experiment workers: it is
    // not written (`validate` refuses it too; docs/config.md#production).
    let named = command
        .iter()
        .flatten()
        .find_map(|arg| names_production(arg));
    if let Some((queue, form)) = named {
        items.push(Item {
            kind: Kind::Cannot,
            field: "ecs.command".into(),
            what: format!("left out: the command names the production queue `{queue}` (its {form}), which both experiment workers would consume"),
            resolve: Some("make the worker read its queue from a variable (`url_env`, `name_env`, `arn_env`), then set `ecs.command` without the queue".into()),
        });
    }
    if let Some(c) = command.as_ref().filter(|_| named.is_none()) {
        line(
            &mut o,
            &format!("  command: {}", flow(c)),
            if worker.command.is_empty() {
                "the Dockerfile's CMD"
            } else {
                "the container's command"
            },
        );
    }
    line(&mut o, &format!("  cpu: {cpu}"), "the task's");
    line(&mut o, &format!("  memory: {memory}"), "the task's, MiB");
    line(
        &mut o,
        &format!("  subnets: {}", flow(&r.service.subnets)),
        "the service's",
    );
    line(
        &mut o,
        &format!("  security_groups: {}", flow(&r.service.security_groups)),
        "the service's",
    );
    line(
        &mut o,
        &format!("  assign_public_ip: {}", r.service.assign_public_ip),
        "the service's",
    );
    items.push(Item {
        kind: Kind::Unchanged,
        field: "ecs".into(),
        what: format!(
            "size {cpu} cpu / {memory} MiB, {} subnet(s), {} security group(s)",
            r.service.subnets.len(),
            r.service.security_groups.len()
        ),
        resolve: None,
    });
    let mut scaling_items = Vec::new();
    let steps = scale_out(&r.scaling, &mut scaling_items);
    // No scalable target: a fixed desired count, or tasks started by something else. Both stacks
    // scale on the queue from zero, up to the larger of 10 and twice today's count.
    let fixed_max = (2 * r.service.desired.max(0)).max(10);
    if r.scaling.min.is_none() && r.scaling.max.is_none() {
        scaling_items.push(Item {
            kind: Kind::Changed,
            field: "ecs.scaling".into(),
            what: format!("the service has no scaling: it runs a fixed desired count of {} (or its tasks are started by something else); both stacks scale on the queue instead, from 0 to {fixed_max} tasks with the default steps (+1 from 1 message, +5 from 100)", r.service.desired),
            resolve: Some("set `ecs.scaling.max` to the most tasks the service may run".into()),
        });
    }
    items.extend(scaling_items);
    o.push_str("  scaling:\n");
    line(
        &mut o,
        &format!("    min: {}", r.scaling.min.unwrap_or(0).max(0)),
        "the scalable target's MinCapacity",
    );
    line(
        &mut o,
        &format!("    max: {}", r.scaling.max.unwrap_or(fixed_max).max(1)),
        if r.scaling.max.is_some() {
            "the scalable target's MaxCapacity"
        } else {
            "no scalable target: a default, see the report"
        },
    );
    if !steps.is_empty() {
        line(
            &mut o,
            "    scale_out:",
            "`add` steps from the service's policies: see the report",
        );
        for (from, add) in &steps {
            o.push_str(&format!("      - {{ from: {from}, add: {add} }}\n"));
        }
    }
    o.push('\n');

    // Lambda.
    let handler: Option<&Handler> = code.and_then(|c| c.handler.as_ref());
    // The running container says how the image starts (its command and entry point override
    // the Dockerfile's); the folder's code, when there is one, names the language and handler.
    let facts = code_facts(worker, code, command.as_deref());
    // A worker with no handler runs unchanged under the bridge, fed as `sqs` is.
    let bridge = super::init::bridged(&facts);
    let sqs = bridge || handler.is_some_and(|h| h.reads_records);
    o.push_str("lambda:\n");
    let lmem = memory.min(LAMBDA_MAX_MEMORY);
    line(
        &mut o,
        &format!("  memory: {lmem}"),
        "the task's memory, for a like-for-like comparison",
    );
    let timeout = if sqs {
        (vt / 6).clamp(1, 900)
    } else {
        vt.min(900)
    };
    line(
        &mut o,
        &format!("  timeout: {}", secs(timeout)),
        if sqs {
            "queue.visibility_timeout / 6 (AWS's rule for SQS triggers, docs/pitfalls.md#p7)"
        } else {
            "<= queue.visibility_timeout, so a poll's messages are not redelivered while handled"
        },
    );
    let run = super::init::lambda_code(&mut o, &facts);
    // The task's own overrides of the image, which the bridge's worker keeps.
    if bridge {
        if !worker.entry_point.is_empty() {
            line(
                &mut o,
                &format!("  entry_point: {}", flow_list(&worker.entry_point)),
                "the task's entryPoint, as ECS starts the worker",
            );
        }
        if let Some(wd) = &worker.working_directory {
            line(
                &mut o,
                &format!("  working_directory: {wd}"),
                "the task's workingDirectory",
            );
        }
    }
    for what in &run.left {
        items.push(Item {
            kind: Kind::Changed,
            field: "lambda".into(),
            what: format!("to fill before `up`: {what}"),
            resolve: Some(
                "see the comment on the field in the written config (docs/config.md#languages)"
                    .into(),
            ),
        });
    }
    if sqs {
        // Each consumed queue's mapping scales to max_concurrency (2): the reservation holds
        // them all (`validate`'s max-concurrency lint, docs/pitfalls.md#p8).
        let mappings = consumed.iter().filter(|(c, _)| *c).count().max(1);
        if mappings > 1 {
            line(
                &mut o,
                &format!("  reserved_concurrency: {}", 2 * mappings),
                &format!(">= trigger.max_concurrency x the {mappings} consumed queues' mappings (docs/pitfalls.md#p8)"),
            );
        } else {
            line(
                &mut o,
                "  reserved_concurrency: 2",
                ">= trigger.max_concurrency (docs/pitfalls.md#p8)",
            );
        }
        o.push_str("  trigger:\n");
        if bridge {
            line(
                &mut o,
                "    type: bridge",
                "the unchanged polling worker, handed each batch by the supervisor `up` adds to the image (docs/bridge.md)",
            );
        } else {
            line(
                &mut o,
                "    type: sqs",
                "the handler reads its event's Records",
            );
        }
        line(&mut o, "    max_concurrency: 2", "the least AWS accepts");
    } else {
        line(
            &mut o,
            "  reserved_concurrency: 1",
            "keeps a late scheduled invocation from overlapping the previous one",
        );
        o.push_str("  trigger:\n");
        line(
            &mut o,
            "    type: schedule",
            "the unchanged polling code, invoked on a timer",
        );
        line(&mut o, "    rate: 1m", "how often it polls");
    }
    o.push('\n');
    o.push_str(
        "production:                     # the service that runs today, for cutover and rollback\n",
    );
    line(
        &mut o,
        &format!("  ecs_service: {production}"),
        "CLUSTER/SERVICE",
    );
    if several {
        line(
            &mut o,
            "  queues:",
            "the queues it consumes, by the keys above",
        );
        // Every queue, the ones it only sends to too: `validate` then refuses any of them in a
        // value the stacks hand the worker.
        for (qq, key) in r.queues.iter().zip(&keys) {
            o.push_str(&format!("    {key}: {}\n", qq.url));
        }
    } else {
        let vars: Vec<&str> = r.queues[0].found.iter().map(|f| f.var.as_str()).collect();
        line(
            &mut o,
            &format!("  queue: {}", r.queues[0].url),
            &format!("the queue it consumes (its {})", vars.join(", ")),
        );
    }

    // What Lambda cannot run (docs/pitfalls.md#p36). The container that holds the queue is the
    // consumer; when it is not essential, or another essential container beside it is not a log
    // router, it is a sidecar that feeds that container (the SQS-to-HTTP poller pattern).
    let fed: Option<(usize, &Container)> = r
        .task
        .containers
        .iter()
        .enumerate()
        .filter(|(k, c)| *k != r.worker && !c.log_router)
        .find(|(_, c)| c.essential);
    let sidecar = fed.filter(|_| {
        !worker.essential
            || r.task
                .containers
                .iter()
                .filter(|c| c.essential && !c.log_router)
                .count()
                > 1
    });
    if let Some((_, app)) = sidecar {
        let ports = if app.port_mappings.is_empty() {
            String::new()
        } else {
            format!(", which listens on {:?}", app.port_mappings)
        };
        items.push(Item {
            kind: Kind::Cannot,
            field: format!("containerDefinitions[{}] `{}`", r.worker, worker.name),
            what: format!("`{}` is the real SQS consumer: a sidecar that receives from the queue and feeds `{}`{ports}; Lambda runs one container, and the config above describes the sidecar's variables", worker.name, app.name),
            resolve: Some(format!("let the `sqs` trigger take the sidecar's place: give `{}`'s image a `handler(event, context)` that does what a delivered message triggers today, run `init --from-ecs` in that image's source folder, and drop the sidecar; or keep the pair on ECS", app.name)),
        });
    }
    for (k, c) in r.task.containers.iter().enumerate() {
        if k == r.worker {
            continue;
        }
        let what = if c.log_router {
            "a log router (FireLens)".to_string()
        } else if sidecar.is_some_and(|(f, _)| f == k) {
            format!("the container the SQS consumer `{}` feeds", worker.name)
        } else {
            "a sidecar".to_string()
        };
        items.push(Item { kind: Kind::Cannot, field: format!("containerDefinitions[{k}] `{}`", c.name), what: format!("{what}: Lambda runs one container (docs/pitfalls.md#p36)"), resolve: Some(if c.log_router { "Lambda sends stdout to CloudWatch Logs; route from there (a subscription filter), or drop it".into() } else { "move what it does into the worker's image (an extension) or a service of its own".into() }) });
    }
    if memory > LAMBDA_MAX_MEMORY {
        items.push(Item { kind: Kind::Cannot, field: "lambda.memory".into(), what: format!("the task has {memory} MiB; Lambda has at most {LAMBDA_MAX_MEMORY}: written as {LAMBDA_MAX_MEMORY}"), resolve: Some("make the worker fit 10,240 MiB, or keep it on ECS".into()) });
    }
    if let Some(g) = r
        .task
        .ephemeral_gib
        .filter(|g| *g > LAMBDA_MAX_EPHEMERAL_GB)
    {
        items.push(Item {
            kind: Kind::Cannot,
            field: "ephemeralStorage".into(),
            what: format!("{g} GiB of ephemeral storage; Lambda's /tmp holds at most 10 GB"),
            resolve: Some("keep large files in S3, or keep the worker on ECS".into()),
        });
    }
    if r.task
        .os_family
        .as_deref()
        .is_some_and(|f| f.starts_with("WINDOWS"))
    {
        items.push(Item {
            kind: Kind::Cannot,
            field: "runtimePlatform.operatingSystemFamily".into(),
            what: "a Windows task: Lambda runs Linux images only".into(),
            resolve: Some("build the worker for Linux".into()),
        });
    }
    if worker.privileged {
        items.push(Item {
            kind: Kind::Cannot,
            field: "privileged".into(),
            what: "a privileged container".into(),
            resolve: Some("remove what needs privileges from the worker".into()),
        });
    }
    if worker.linux_parameters {
        items.push(Item {
            kind: Kind::Cannot,
            field: "linuxParameters".into(),
            what: "capabilities, devices or init process: Lambda has no such setting".into(),
            resolve: Some("drop them from the worker's needs".into()),
        });
    }
    if worker.gpus {
        items.push(Item {
            kind: Kind::Cannot,
            field: "resourceRequirements".into(),
            what: "a GPU: Lambda has none".into(),
            resolve: Some("keep the GPU work on ECS".into()),
        });
    }
    if let Some(user) = worker
        .user
        .as_deref()
        .filter(|u| matches!(u.split(':').next(), Some("root" | "0")))
    {
        items.push(Item {
            kind: Kind::Cannot,
            field: "user".into(),
            what: format!("the worker runs as `{user}`: Lambda runs every image as an unprivileged user, with a read-only file system but /tmp (docs/pitfalls.md#p6)"),
            resolve: Some("make the worker run as a non-root user (`USER` in the Dockerfile) and write only under /tmp".into()),
        });
    }
    if !worker.depends_on.is_empty() {
        items.push(Item {
            kind: Kind::Changed,
            field: "dependsOn".into(),
            what: format!(
                "the worker waits for {}: Lambda starts the worker's container alone",
                worker
                    .depends_on
                    .iter()
                    .map(|d| format!("`{d}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            resolve: Some("make the worker start without them (what they provide moves into the image, or to a service of its own)".into()),
        });
    }
    for v in &r.task.efs_volumes {
        items.push(Item {
            kind: Kind::Cannot,
            field: format!("volumes `{v}`"),
            what: "an Amazon EFS volume: Lambda mounts EFS only through an EFS access point, from a function in the file system's VPC, under /mnt (AWS Lambda Developer Guide, \"Configuring file system access\"), which replatform does not set up".into(),
            resolve: Some("keep the files in S3, or keep the worker on ECS".into()),
        });
    }
    // Ports: the worker's, or those of the app a sidecar consumer feeds. Lambda takes no inbound
    // connection: an HTTP app is invoked through a function URL or API Gateway, or with the AWS
    // Lambda Web Adapter in its image.
    for c in std::iter::once(worker).chain(sidecar.map(|(_, c)| c)) {
        if c.port_mappings.is_empty() {
            continue;
        }
        items.push(Item {
            kind: Kind::Cannot,
            field: format!("portMappings `{}`", c.name),
            what: format!(
                "`{}` listens on ports {:?}, an HTTP app: Lambda takes no inbound connection",
                c.name, c.port_mappings
            ),
            resolve: Some("if the port is only a health check, drop it; an HTTP app is invoked on Lambda through a function URL or API Gateway (the AWS Lambda Web Adapter runs it unchanged), or stays on ECS".into()),
        });
    }
    let handler_text = match (code, handler) {
        _ if bridge => format!("no handler: the `bridge` trigger runs the worker unchanged ({}) and hands it each batch through the supervisor's local SQS endpoint (docs/bridge.md)", match command.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => format!("`{}`", c.join(" ")),
            None => "its image's ENTRYPOINT and CMD".into(),
        }),
        (None, _) => format!("no Dockerfile here: run in the worker's source folder to find its handler; the `schedule` trigger would need a handler (`{}`) that polls the queue once", run.command.0.join(" ")),
        (Some(_), Some(h)) if h.reads_records => format!("`{}.handler(event, context)` reads its event's Records: the `sqs` trigger hands it the messages", h.module),
        (Some(_), Some(h)) => format!("`{}.handler(event, context)` polls the queue itself: the `schedule` trigger invokes it every minute, code unchanged", h.module),
        (Some(_), None) => format!("no handler here: the `schedule` trigger needs one (`{}`) that polls the queue once and returns", run.command.0.join(" ")),
    };
    let report = Report {
        service,
        production,
        queue: r
            .queues
            .iter()
            .map(|q| q.url.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        items,
        handler: handler_text,
    };
    (o, report)
}

/// The report as text.
pub fn report_text(r: &Report) -> String {
    let mut o = format!(
        "readiness of `{}` for Lambda (queue {}):\n",
        r.production, r.queue
    );
    for (kind, title) in [
        (Kind::Unchanged, "moves unchanged"),
        (Kind::Changed, "changed"),
        (Kind::Cannot, "Lambda cannot run"),
    ] {
        let these: Vec<&Item> = r.items.iter().filter(|i| i.kind == kind).collect();
        if these.is_empty() {
            continue;
        }
        o.push_str(&format!("\n{title}:\n"));
        for i in these {
            o.push_str(&format!("  - {}: {}\n", i.field, i.what));
            if let Some(fix) = &i.resolve {
                o.push_str(&format!("    to resolve: {fix}\n"));
            }
        }
    }
    o.push_str(&format!("\nhandler: {}\n", r.handler));
    o
}

/// A YAML flow list of strings, each quoted as JSON.
fn flow_list(argv: &[String]) -> String {
    let items: Vec<String> = argv
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The running service's worker container, to change for a test.
    fn worker_of(r: &mut Running) -> &mut Container {
        let at = r.worker;
        &mut r.task.containers[at]
    }

    fn running() -> Running {
        let worker = Container {
            name: "worker".into(),
            image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:1".into(),
            essential: true,
            command: vec!["python".into(), "app.py".into()],
            environment: vec![
                (
                    "SQS_QUEUE_URL".into(),
                    "https://sqs.eu-west-1.amazonaws.com/123456789012/orders".into(),
                ),
                ("LOG_LEVEL".into(), "info".into()),
            ],
            secrets: vec![(
                "DB_PASSWORD".into(),
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf".into(),
            )],
            working_directory: Some("/app".into()),
            ..Container::default()
        };
        let router = Container {
            name: "log-router".into(),
            log_router: true,
            ..Container::default()
        };
        Running {
            service: Service {
                cluster: "prod".into(),
                name: "orders-worker".into(),
                task_definition: "td".into(),
                subnets: vec!["subnet-1".into()],
                security_groups: vec!["sg-1".into()],
                assign_public_ip: false,
                desired: 1,
            },
            task: TaskDefinition {
                arn: "arn:td:3".into(),
                cpu: Some("512".into()),
                memory: Some("1024".into()),
                architecture: Some("ARM64".into()),
                containers: vec![router, worker],
                ..TaskDefinition::default()
            },
            task_role: Some(RolePolicies {
                role: "task".into(),
                managed: vec!["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into()],
                inline: vec![(
                    "put".into(),
                    serde_json::json!({"Statement": {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"}}),
                )],
            }),
            execution_role: None,
            scaling: Scaling {
                min: Some(0),
                max: Some(8),
                policies: vec![Policy::Step {
                    name: "out".into(),
                    arn: String::new(),
                    adjustment_type: "ExactCapacity".into(),
                    steps: vec![Step {
                        lower: Some(0.0),
                        upper: None,
                        adjustment: 5,
                    }],
                    cooldown: Some(60),
                    alarms: vec!["depth".into()],
                }],
                alarms: vec![Alarm {
                    name: "depth".into(),
                    metric: "ApproximateNumberOfMessagesVisible".into(),
                    threshold: 10.0,
                    comparison: "GreaterThanOrEqualToThreshold".into(),
                    queues: vec!["orders".into()],
                }],
                alarms_unread: None,
            },
            queues: vec![Queue {
                url: "https://sqs.eu-west-1.amazonaws.com/123456789012/orders".into(),
                arn: "arn:aws:sqs:eu-west-1:123456789012:orders".into(),
                visibility_timeout_s: 120,
                retention_s: 345_600,
                fifo: false,
                redrive: Some(("arn:dlq".into(), 4)),
                found: vec![Finding {
                    var: "SQS_QUEUE_URL".into(),
                    how: How::Url,
                    parameter: None,
                }],
            }],
            worker: 1,
            secret_arns: Vec::new(),
        }
    }

    #[test]
    fn queue_urls_are_recognised_by_their_shape() {
        assert!(is_queue_url(
            "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
        ));
        assert!(is_queue_url("http://127.0.0.1:5000/123456789012/q.fifo"));
        assert!(!is_queue_url("https://example.com/orders"));
        assert!(!is_queue_url("arn:aws:sqs:eu-west-1:123456789012:orders"));
    }

    #[test]
    fn inline_documents_are_decoded() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(percent_decode("plain%"), "plain%");
    }

    #[test]
    fn every_secret_form_ecs_takes_is_written_as_an_arn_or_said() {
        let td = "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:3";
        let sm = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::";
        assert_eq!(secret_ref(sm, td), SecretRef::Arn);
        for name in ["/prod/db/password", "prod/db/password"] {
            assert_eq!(
                secret_ref(name, td),
                SecretRef::Parameter(
                    "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/password".into()
                ),
                "{name}"
            );
        }
        assert_eq!(
            secret_ref("/aws/reference/secretsmanager/prod/db", td),
            SecretRef::SecretsManagerReference("prod/db".into())
        );

        let mut r = running();
        let worker = worker_of(&mut r);
        worker.secrets = vec![
            ("API_KEY".into(), "/prod/api-key".into()),
            ("DB".into(), "/aws/reference/secretsmanager/prod/db".into()),
        ];
        r.task.arn = td.into();
        let (text, report) = translate(&r, None);
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(
            v["secrets"]["API_KEY"],
            "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/api-key"
        );
        assert!(v["secrets"].get("DB").is_none(), "{text}");
        assert!(
            crate::core::config::secret_arn(v["secrets"]["API_KEY"].as_str().unwrap()).is_some(),
            "validate takes the parameter's ARN"
        );
        assert!(report.items.iter().any(|i| i.field == "secrets.DB"
            && i.resolve
                .as_deref()
                .is_some_and(|f| f.contains("describe-secret"))));
    }

    #[test]
    fn lambdas_own_variables_are_left_out_and_an_oversized_environment_is_said() {
        let mut r = running();
        let worker = worker_of(&mut r);
        worker.environment.extend([
            ("AWS_REGION".to_string(), "eu-west-1".to_string()),
            ("BIG".to_string(), "x".repeat(5000)),
        ]);
        let (text, report) = translate(&r, None);
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert!(v["environment"].get("AWS_REGION").is_none(), "{text}");
        assert_eq!(v["environment"]["LOG_LEVEL"], "info");
        assert!(report
            .items
            .iter()
            .any(|i| i.field == "environment.AWS_REGION" && i.what.starts_with("left out")));
        assert!(report.items.iter().any(|i| i.kind == Kind::Cannot
            && i.field == "environment"
            && i.what.contains("4 KB")));
        let (_, small) = translate(&running(), None);
        assert!(!small
            .items
            .iter()
            .any(|i| i.kind == Kind::Cannot && i.field == "environment"));
    }

    #[test]
    fn a_root_user_an_efs_volume_and_depends_on_are_named_with_their_fix() {
        let mut r = running();
        r.task.efs_volumes = vec!["shared".into()];
        let worker = worker_of(&mut r);
        worker.user = Some("0:0".into());
        worker.depends_on = vec!["log-router".into()];
        let (_, report) = translate(&r, None);
        let kind_of = |field: &str| {
            report
                .items
                .iter()
                .find(|i| i.field == field)
                .map(|i| (i.kind, i.resolve.is_some()))
        };
        assert_eq!(kind_of("user"), Some((Kind::Cannot, true)));
        assert_eq!(kind_of("volumes `shared`"), Some((Kind::Cannot, true)));
        assert_eq!(kind_of("dependsOn"), Some((Kind::Changed, true)));

        let mut fine = running();
        let worker = worker_of(&mut fine);
        worker.user = Some("1000:1000".into());
        let (_, report) = translate(&fine, None);
        assert!(!report
            .items
            .iter()
            .any(|i| i.field == "user" || i.field == "dependsOn"));
    }

    #[test]
    fn no_variable_naming_the_production_queue_is_written() {
        let mut r = running();
        let worker = worker_of(&mut r);
        worker.environment.extend([
            (
                "ORDERS_ARN".to_string(),
                "arn:aws:sqs:eu-west-1:123456789012:orders".to_string(),
            ),
            (
                "TOPIC_QUEUE_URIS".to_string(),
                r#"{"events":"https://eu-west-1.queue.amazonaws.com/123456789012/orders"}"#
                    .to_string(),
            ),
        ]);
        let (text, report) = translate(&r, None);
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(v["environment"]["LOG_LEVEL"], "info");
        assert!(v["environment"].get("ORDERS_ARN").is_none(), "{text}");
        assert!(v["environment"].get("TOPIC_QUEUE_URIS").is_none(), "{text}");
        // The production queue is named once, in `production.queue`, and nowhere else.
        assert_eq!(text.matches("/123456789012/orders").count(), 1, "{text}");
        assert!(!text.contains(":123456789012:orders"), "{text}");
        let left: Vec<&str> = report
            .items
            .iter()
            .filter(|i| i.kind == Kind::Changed && i.what.starts_with("left out"))
            .map(|i| i.field.as_str())
            .collect();
        assert_eq!(
            left,
            ["environment.ORDERS_ARN", "environment.TOPIC_QUEUE_URIS"]
        );
    }

    #[test]
    fn the_config_carries_every_field_read() {
        let (text, report) = translate(&running(), None);
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(v["service"], "orders-worker");
        assert_eq!(v["image"]["platform"], "linux/arm64");
        assert_eq!(v["environment"]["LOG_LEVEL"], "info");
        assert!(v["environment"].get("SQS_QUEUE_URL").is_none());
        assert_eq!(v["queue"]["url_env"], "SQS_QUEUE_URL");
        assert_eq!(
            v["secrets"]["DB_PASSWORD"],
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
        );
        assert_eq!(
            v["permissions"]["managed_policies"][0],
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        );
        assert_eq!(
            v["permissions"]["statements"][0]["Action"],
            "dynamodb:PutItem"
        );
        assert_eq!(
            (v["ecs"]["cpu"].as_u64(), v["ecs"]["memory"].as_u64()),
            (Some(512), Some(1024))
        );
        assert_eq!(v["ecs"]["scaling"]["max"], 8);
        assert_eq!(
            v["ecs"]["scaling"]["scale_out"][0]["from"], 10,
            "the alarm's threshold + the step's lower bound"
        );
        assert_eq!(v["ecs"]["scaling"]["scale_out"][0]["add"], 5);
        assert_eq!(v["queue"]["visibility_timeout"], "120s");
        assert_eq!(v["queue"]["dead_letter"]["max_receive_count"], 4);
        assert_eq!(v["production"]["ecs_service"], "prod/orders-worker");
        // No folder of code, so no handler: the worker runs unchanged under the bridge.
        assert_eq!(v["lambda"]["trigger"]["type"], "bridge");
        assert!(v["lambda"]["entry_point"].is_null(), "{text}");
        assert!(
            report
                .items
                .iter()
                .any(|i| i.kind == Kind::Cannot && i.field.contains("log-router")),
            "{report:?}"
        );
        assert!(
            report
                .items
                .iter()
                .any(|i| i.kind == Kind::Changed && i.what.contains("ExactCapacity")),
            "{report:?}"
        );
        let exact = text.lines().find(|l| l.contains("scale_out:")).unwrap();
        assert!(exact.contains("see the report"), "{exact}");
        assert!(report_text(&report).contains("Lambda cannot run:"));
    }

    #[test]
    fn what_lambda_cannot_run_is_named_with_its_resolution() {
        let mut r = running();
        r.task.memory = Some("16384".into());
        r.task.ephemeral_gib = Some(50);
        r.task.os_family = Some("WINDOWS_SERVER_2022_CORE".into());
        r.task.containers[1].privileged = true;
        r.task.containers[1].linux_parameters = true;
        r.task.containers[1].gpus = true;
        let (text, report) = translate(&r, None);
        let fields: Vec<&str> = report
            .items
            .iter()
            .filter(|i| i.kind == Kind::Cannot)
            .map(|i| i.field.as_str())
            .collect();
        for f in [
            "lambda.memory",
            "ephemeralStorage",
            "runtimePlatform.operatingSystemFamily",
            "privileged",
            "linuxParameters",
            "resourceRequirements",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        assert!(report
            .items
            .iter()
            .filter(|i| i.kind == Kind::Cannot)
            .all(|i| i.resolve.is_some()));
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(v["lambda"]["memory"], 10240);
    }

    #[test]
    fn target_tracking_becomes_steps_and_says_so() {
        let mut r = running();
        r.scaling.policies = vec![Policy::TargetTracking {
            name: "tt".into(),
            target: 5.0,
            metric: "backlog".into(),
        }];
        let mut items = Vec::new();
        assert_eq!(scale_out(&r.scaling, &mut items), vec![(1, 1), (10, 2)]);
        assert!(items[0].what.contains("docs/pitfalls.md#p13"));
        r.scaling.policies = vec![Policy::Step {
            arn: String::new(),
            name: "s".into(),
            adjustment_type: "ChangeInCapacity".into(),
            steps: vec![
                Step {
                    lower: Some(0.0),
                    upper: Some(99.0),
                    adjustment: 1,
                },
                Step {
                    lower: Some(99.0),
                    upper: None,
                    adjustment: 3,
                },
            ],
            cooldown: None,
            alarms: vec!["gone".into()],
        }];
        r.scaling.alarms_unread = Some("denied".into());
        let mut items = Vec::new();
        assert_eq!(scale_out(&r.scaling, &mut items), vec![(1, 1), (100, 3)]);
        assert!(items.iter().any(|i| i.what.contains("not read (denied)")));
    }

    /// A worker of four queues: a URL, a name, two keys of a JSON value (one of them also an SSM
    /// String parameter's URL), and a results queue the role may only send to.
    fn several() -> Running {
        let mut r = running();
        let url = |n: &str| format!("https://sqs.eu-west-1.amazonaws.com/123456789012/{n}");
        let queue = |n: &str, found: Vec<Finding>| Queue {
            url: url(n),
            arn: format!("arn:aws:sqs:eu-west-1:123456789012:{n}"),
            visibility_timeout_s: 180,
            retention_s: 345_600,
            fifo: n.ends_with(".fifo"),
            redrive: Some(("arn:dlq".into(), 5)),
            found,
        };
        let f = |var: &str, how: How| Finding {
            var: var.into(),
            how,
            parameter: None,
        };
        r.queues = vec![
            queue("orders", vec![f("SQS_QUEUE_URL", How::Url)]),
            queue("orders-audit", vec![f("AUDIT_QUEUE_NAME", How::Name)]),
            queue(
                "prod-events",
                vec![f(
                    "COPILOT_TOPIC_QUEUE_URIS",
                    How::Json("eventsQueue".into()),
                )],
            ),
            queue(
                "orders-results",
                vec![Finding {
                    var: "RESULTS_QUEUE_URL".into(),
                    how: How::Url,
                    parameter: Some("/prod/results-url".into()),
                }],
            ),
        ];
        let w = worker_of(&mut r);
        w.environment.extend([
            ("AUDIT_QUEUE_NAME".to_string(), "orders-audit".to_string()),
            (
                "COPILOT_TOPIC_QUEUE_URIS".to_string(),
                format!(r#"{{"eventsQueue":"{}"}}"#, url("prod-events")),
            ),
        ]);
        w.secrets
            .push(("RESULTS_QUEUE_URL".into(), "/prod/results-url".into()));
        r.task_role.as_mut().unwrap().inline.push((
            "queues".into(),
            serde_json::json!({"Statement": [
                {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "Resource": "arn:aws:sqs:eu-west-1:123456789012:orders-a*"},
                {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": ["arn:aws:sqs:eu-west-1:123456789012:orders-results", "arn:aws:sqs:eu-west-1:123456789012:prod-events"]},
                {"Effect": "Allow", "Action": "sqs:Receive*", "Resource": "arn:aws:sqs:eu-west-1:123456789012:prod-events"}
            ]}),
        ));
        r.scaling.alarms[0].queues = vec!["orders".into()];
        r.service.subnets = vec!["subnet-0a1b2c3d".into()];
        r.service.security_groups = vec!["sg-0a1b2c3d".into()];
        r
    }

    #[test]
    fn values_are_told_apart_by_their_shape() {
        let url = "https://eu-west-1.queue.amazonaws.com/123456789012/orders";
        assert_eq!(candidate(url), Some(Candidate::Url(url.into())));
        let arn = "arn:aws:sqs:eu-west-1:123456789012:orders.fifo";
        assert_eq!(candidate(arn), Some(Candidate::Arn(arn.into())));
        assert_eq!(
            candidate(&format!(r#"{{"a": "{url}", "n": 3}}"#)),
            Some(Candidate::Json(vec![("a".into(), url.into())]))
        );
        assert_eq!(
            candidate("Stack-OrdersQueue1A2B.fifo"),
            Some(Candidate::Name("Stack-OrdersQueue1A2B.fifo".into()))
        );
        for not in [
            "10",
            "true",
            "info level",
            "",
            r#"{"a": 1}"#,
            "x".repeat(81).as_str(),
        ] {
            assert_eq!(candidate(not), None, "{not}");
        }
        assert_eq!(
            queue_arn_in_task_account(
                "orders",
                "arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/w:1"
            ),
            "arn:aws-cn:sqs:cn-north-1:123456789012:orders"
        );
    }

    #[test]
    fn keys_read_from_the_variables_and_json_keys() {
        let r = several();
        assert_eq!(
            queue_keys(&r.queues),
            ["orders", "audit", "events-queue", "results"]
        );
        let one = |var: &str, name: &str| Queue {
            url: format!("https://sqs.eu-west-1.amazonaws.com/123456789012/{name}"),
            found: vec![Finding {
                var: var.into(),
                how: How::Url,
                parameter: None,
            }],
            ..Queue::default()
        };
        assert_eq!(
            queue_keys(&[
                one("COPILOT_QUEUE_URI", "app-env-Worker-EventsQueue"),
                one("ORDERS_QUEUE_URL", "a"),
                one("ORDERS_URL", "b"),
                one("QUEUE_NAME", "MyStack-OrdersQueue12AB.fifo"),
            ]),
            [
                "env-worker-events-queue",
                "orders",
                "orders-2",
                "stack-orders-queue12ab"
            ]
        );
    }

    #[test]
    fn the_alarms_and_the_role_say_which_queues_are_consumed() {
        let r = several();
        let said: Vec<(bool, String)> = r.queues.iter().map(|q| consumption(&r, q)).collect();
        assert!(said[0].0 && said[0].1.contains("`depth`"), "{said:?}");
        assert!(
            said[1].0 && said[1].1.contains("ReceiveMessage"),
            "{said:?}"
        );
        assert!(said[2].0, "sqs:Receive* matches: {said:?}");
        assert!(
            !said[3].0 && said[3].1.contains("only `sqs:SendMessage`"),
            "{said:?}"
        );
        assert!(glob(
            "arn:aws:sqs:*:*:prod-*",
            "arn:aws:sqs:eu-west-1:1:prod-x",
            true
        ));
        assert!(!glob(
            "arn:aws:sqs:*:*:prod-?",
            "arn:aws:sqs:eu-west-1:1:prod-xy",
            true
        ));
    }

    #[test]
    fn several_queues_become_queues_and_production_queues_and_validate() {
        let r = several();
        let (text, report) = translate(&r, None);
        let c = crate::core::config::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let errors: Vec<_> = crate::core::config::check(&c)
            .into_iter()
            .filter(|d| d.severity == crate::core::diag::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{text}");
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(v["queues"]["orders"]["url_env"], "SQS_QUEUE_URL");
        assert_eq!(v["queues"]["audit"]["name_env"], "AUDIT_QUEUE_NAME");
        assert_eq!(
            v["queues"]["events-queue"]["json_env"]["var"],
            "COPILOT_TOPIC_QUEUE_URIS"
        );
        assert_eq!(
            v["queues"]["events-queue"]["json_env"]["key"],
            "eventsQueue"
        );
        assert_eq!(v["queues"]["results"]["consumed"], false);
        assert!(v["queues"]["orders"].get("consumed").is_none());
        assert_eq!(v["production"]["queues"].as_mapping().unwrap().len(), 4);
        assert!(v.get("queue").is_none() && v["production"].get("queue").is_none());
        // Three consumed queues, each one's mapping up to max_concurrency 2: the reservation
        // holds them all, so the max-concurrency lint has nothing to say.
        assert_eq!(
            (
                v["lambda"]["trigger"]["type"].as_str(),
                v["lambda"]["reserved_concurrency"].as_u64()
            ),
            (Some("bridge"), Some(6)),
            "{text}"
        );
        assert!(
            !crate::core::lint::lint(&c)
                .iter()
                .any(|d| d.message.contains("max_concurrency")),
            "{text}"
        );
        // No variable naming a queue is in environment; the SSM parameter left `secrets`.
        assert_eq!(
            v["environment"]
                .as_mapping()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["LOG_LEVEL"]
        );
        assert!(v["secrets"].get("RESULTS_QUEUE_URL").is_none(), "{text}");
        // The role's grants on the production queues are not copied; the rest of it is.
        let statements = serde_json::to_string(&v["permissions"]["statements"]).unwrap();
        assert!(!statements.contains(":sqs:"), "{statements}");
        assert!(statements.contains("dynamodb:PutItem"), "{statements}");
        assert!(report
            .items
            .iter()
            .any(|i| i.field == "permissions.statements" && i.what.contains("orders-a*")));
        assert!(v["secrets"].get("DB_PASSWORD").is_some());
        // Each production queue is named once, under production.queues.
        for name in ["orders", "orders-audit", "prod-events", "orders-results"] {
            assert_eq!(
                text.matches(&format!("/123456789012/{name}\n")).count(),
                1,
                "{name}: {text}"
            );
        }
        let said = |field: &str, what: &str| {
            report
                .items
                .iter()
                .any(|i| i.field == field && i.what.contains(what))
        };
        assert!(
            said("secrets.RESULTS_QUEUE_URL", "SSM String parameter"),
            "{report:?}"
        );
        assert!(said("queues.results", "only sent to"), "{report:?}");
        assert!(
            said("queues.audit.name_env", "held the queue's name"),
            "{report:?}"
        );
        assert!(
            said("queues.events-queue.json_env", "under `eventsQueue`"),
            "{report:?}"
        );
        assert!(!said("environment.COPILOT_TOPIC_QUEUE_URIS", "other keys"));
        let mut more = several();
        let w = worker_of(&mut more);
        let uris = w
            .environment
            .iter_mut()
            .find(|(k, _)| k == "COPILOT_TOPIC_QUEUE_URIS")
            .unwrap();
        uris.1 = uris.1.replacen('{', r#"{"region":"eu-west-1","#, 1);
        let (_, report) = translate(&more, None);
        assert!(report
            .items
            .iter()
            .any(|i| i.field == "environment.COPILOT_TOPIC_QUEUE_URIS"
                && i.what.contains("`region` are not passed")));
    }

    #[test]
    fn a_secrets_manager_reference_becomes_the_described_arn() {
        let mut r = running();
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf";
        worker_of(&mut r).secrets = vec![
            ("DB".into(), "/aws/reference/secretsmanager/prod/db".into()),
            (
                "API".into(),
                "/aws/reference/secretsmanager/prod/api".into(),
            ),
        ];
        r.secret_arns = vec![
            ("DB".into(), Ok(arn.into())),
            ("API".into(), Err("AccessDenied".into())),
        ];
        let (text, report) = translate(&r, None);
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(v["secrets"]["DB"], arn);
        assert!(v["secrets"].get("API").is_none());
        assert!(report.items.iter().any(|i| i.field == "secrets.API"
            && i.what.contains("AccessDenied")
            && i.resolve
                .as_deref()
                .is_some_and(|f| f.contains("describe-secret --secret-id prod/api"))));
    }

    #[test]
    fn cpu_tracking_beside_queue_steps_no_scaling_and_a_sidecar_consumer_are_said() {
        let mut r = running();
        r.scaling.policies.push(Policy::TargetTracking {
            name: "cpu".into(),
            target: 50.0,
            metric: "ECSServiceAverageCPUUtilization".into(),
        });
        let mut items = Vec::new();
        assert_eq!(
            scale_out(&r.scaling, &mut items),
            vec![(10, 5)],
            "{items:?}"
        );
        assert!(items.iter().any(|i| i.field == "ecs.scaling"
            && i.what.contains("`cpu`")
            && i.what.contains("not copied")));

        let mut fixed = running();
        fixed.scaling = Scaling::default();
        fixed.service.desired = 7;
        let (text, report) = translate(&fixed, None);
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(v["ecs"]["scaling"]["max"], 14);
        assert!(report
            .items
            .iter()
            .any(|i| i.field == "ecs.scaling" && i.what.contains("fixed desired count of 7")));

        let mut side = running();
        let app = Container {
            name: "app".into(),
            essential: true,
            port_mappings: vec![8080],
            ..Container::default()
        };
        side.task.containers.push(app);
        worker_of(&mut side).essential = false;
        worker_of(&mut side).name = "sqs-poller".into();
        let (_, report) = translate(&side, None);
        let cannot = |field: &str, what: &str| {
            report
                .items
                .iter()
                .any(|i| i.kind == Kind::Cannot && i.field.contains(field) && i.what.contains(what))
        };
        assert!(cannot("`sqs-poller`", "real SQS consumer"), "{report:?}");
        assert!(cannot("`sqs-poller`", "feeds `app`"), "{report:?}");
        assert!(
            cannot("`app`", "the SQS consumer `sqs-poller` feeds"),
            "{report:?}"
        );
        assert!(cannot("portMappings `app`", "HTTP app"), "{report:?}");
        let (_, plain) = translate(&running(), None);
        assert!(!plain
            .items
            .iter()
            .any(|i| i.what.contains("real SQS consumer")));
    }

    #[test]
    fn generated_parts_leave_a_service_name() {
        assert_eq!(
            without_generated_parts("ORDERSSTACK-QUEUEPROCESSINGSERVICEECC1B1E6-1QWERTYUIOPAS"),
            "ORDERSSTACK-QUEUEPROCESSINGSERVICE"
        );
        assert_eq!(without_generated_parts("orders-worker"), "orders-worker");
        let cdk = "ORDERSPIPELINESTACK-QUEUEPROCESSINGFARGATESERVICEECC1B1E6-WORKERSERVICE7C2B1A0F-1QWERTYUIOPAS";
        let name = crate::core::init::service_name_from_ecs(&without_generated_parts(cdk));
        assert!(name.len() <= 32 && !name.contains("qwerty"), "{name}");
    }

    #[test]
    fn a_command_naming_the_production_queue_is_not_written() {
        let mut r = running();
        worker_of(&mut r).command = vec![
            "worker".into(),
            "--queue".into(),
            "https://sqs.eu-west-1.amazonaws.com/123456789012/orders".into(),
        ];
        let (text, report) = translate(&r, None);
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert!(v["ecs"].get("command").is_none(), "{text}");
        assert!(report.items.iter().any(|i| i.field == "ecs.command"
            && i.kind == Kind::Cannot
            && i.what.contains("`orders` (its URL)")));
        let (text, _) = translate(&running(), None);
        assert!(text.contains("command: [\"python\", \"app.py\"]"), "{text}");
    }
}

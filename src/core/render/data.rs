//! What the templates see: the checked config turned into the values they print, and the image
//! the stacks run. Pure.

use serde::Serialize;
use serde_json::{json, Value as Json};

use crate::core::config::{
    queue_url, secret_arn, Config, Finder, SecretKind, Trigger, SECRET_ARN_SUFFIX,
};
use crate::core::duration::Secs;
use crate::core::image_ref::ImageRef;

/// The digest the placeholder image carries when no image was given: all zeros, never a real one.
pub const PLACEHOLDER_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug)]
pub enum Image<'a> {
    Digest(&'a ImageRef),
    /// No image yet: the config's repository in the deploying account, with an all-zero digest.
    Placeholder,
}

/// What the templates see. Every value a template prints comes from here.
#[derive(Debug, Serialize)]
pub struct Data {
    service: String,
    environment: Vec<EnvVar>,
    secrets: SecretsData,
    permissions: PermissionsData,
    image: ImageData,
    /// Every queue of the worker, each made on both platforms.
    queues: Vec<QueueData>,
    /// The consumed ones: each is a mapping on Lambda and a metric of ECS's scaling.
    consumed: Vec<QueueData>,
    /// `queues`' facts the templates test once: any FIFO, any dead-letter queue.
    any_fifo: bool,
    any_dead_letter: bool,
    /// What the stacks set so that the worker finds its own queues: each variable once, with the
    /// entry (`id`) whose queue it holds and the form the worker reads; the templates write the
    /// queues' logical ids (docs/config.md#several-queues).
    worker_env: Vec<WorkerEnv>,
    /// More than one consumed queue: the roles' resources are a list, the alarms sum.
    several_consumed: bool,
    /// The first consumed queue's entry: the one queue ECS scales on when it consumes one.
    first_consumed: String,
    /// The queues the worker only sends to.
    sent: Vec<QueueData>,
    ecs: EcsData,
    lambda: LambdaData,
    logs: LogsData,
    /// `production:`: the queue the function may consume, consumed only from `cutover` on.
    production: Option<ProductionData>,
}

/// The production queues: their ARNs from their URLs' region, account and name, in the
/// stack's partition (one value, or a list with several). The production service and queues
/// themselves are in no template.
#[derive(Debug, Serialize)]
struct ProductionData {
    queue_arns: Json,
}

/// One variable the worker reads a queue from. `id` is the entry whose queue it holds; one of
/// `url`, `queue_name`, `arn` says the form; a JSON value of several queues is `json`, its text
/// for `Fn::Sub`, each queue's URL as `${<Entry>Queue}`.
#[derive(Debug, Default, Serialize)]
struct WorkerEnv {
    name: String,
    id: String,
    url: bool,
    queue_name: bool,
    arn: bool,
    json: Option<String>,
}

#[derive(Debug, Serialize)]
struct EnvVar {
    name: String,
    value: String,
}

/// `secrets`: ECS's container `Secrets`, Lambda's `<NAME>_SECRET_ARN` variables, and the ARNs
/// each role may read. Only ARNs: a value never reaches a template.
#[derive(Debug, Serialize)]
struct SecretsData {
    any: bool,
    list: Vec<SecretData>,
    /// Secrets Manager ARNs without a JSON key, each once.
    secretsmanager: Vec<String>,
    /// SSM parameter ARNs, each once.
    ssm: Vec<String>,
}

#[derive(Debug, Serialize)]
struct SecretData {
    name: String,
    /// The ARN as written, with its JSON key when there is one: ECS's `ValueFrom`.
    value_from: String,
    /// The Lambda variable that carries it.
    arn_variable: String,
}

/// `permissions`, the same for the ECS task role and the Lambda role.
#[derive(Debug, Serialize)]
struct PermissionsData {
    managed_policies: Vec<String>,
    /// The statements as an IAM policy document holds them.
    statements: Vec<Json>,
    boundary: Option<String>,
}

#[derive(Debug, Serialize)]
struct ImageData {
    /// A string, or `Fn::Sub` for the placeholder in the deploying account and region.
    uri: Json,
    repository_arn: Json,
    placeholder: bool,
    lambda_architecture: &'static str,
    ecs_cpu_architecture: &'static str,
}

#[derive(Clone, Debug, Serialize)]
struct QueueData {
    /// The logical ids' and outputs' prefix: empty for the one `queue:`.
    id: String,
    /// What a person calls it: `queue`, or its key under `queues:`.
    label: String,
    visibility_timeout: u64,
    retention: u64,
    fifo: bool,
    dead_letter: Option<DeadLetterData>,
    /// Its production queue's ARN, when `production:` gives one.
    production_arn: Option<Json>,
}

#[derive(Clone, Debug, Serialize)]
struct DeadLetterData {
    max_receive_count: u32,
}

#[derive(Debug, Serialize)]
struct EcsData {
    cluster: Option<String>,
    command: Option<Vec<String>>,
    cpu: u32,
    memory: u32,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    assign_public_ip: &'static str,
    scaling: ScalingData,
}

#[derive(Debug, Serialize)]
struct ScalingData {
    min: u32,
    max: u32,
    /// The scale-out alarm's threshold: the first step's `from`.
    threshold: u64,
    steps: Vec<StepData>,
    scale_out_cooldown: u64,
    scale_in_periods: u64,
    scale_in_after_text: String,
    /// With several consumed queues, the alarms watch the sum of their depths (metric math).
    sum: Option<SumData>,
}

/// The metric math of several queues: CloudWatch takes at most 10 metrics in one alarm, so the
/// scale-in alarm adds the messages in flight only while that fits (five queues).
#[derive(Debug, Serialize)]
struct SumData {
    visible: String,
    backlog: String,
    with_inflight: bool,
}

/// A step adjustment, bounds relative to the alarm threshold (docs/pitfalls.md#p12).
#[derive(Debug, Serialize)]
struct StepData {
    lower: u64,
    upper: Option<u64>,
    add: u32,
}

#[derive(Debug, Serialize)]
struct LambdaData {
    memory: u32,
    timeout: u64,
    reserved_concurrency: Option<u32>,
    entry_point: Vec<String>,
    command: Vec<String>,
    working_directory: String,
    vpc: bool,
    sqs: Option<SqsData>,
    schedule: Option<ScheduleData>,
    bridge: Option<BridgeData>,
}

/// The supervisor's settings (docs/bridge.md): the queues it serves, as one `Fn::Sub` of the
/// JSON object it reads from `REPLATFORM_BRIDGE_QUEUES`.
#[derive(Debug, Serialize)]
struct BridgeData {
    var: &'static str,
    queues: Json,
}

#[derive(Debug, Serialize)]
struct SqsData {
    batch_size: u32,
    max_batching_window: u64,
    max_concurrency: Option<u32>,
    provisioned_pollers: Option<PollersData>,
}

#[derive(Debug, Serialize)]
struct PollersData {
    min: u32,
    max: u32,
}

#[derive(Debug, Serialize)]
struct ScheduleData {
    expression: String,
    every: String,
}

#[derive(Debug, Serialize)]
struct LogsData {
    retention_days: u64,
}

/// `rate(1 minute)`, `rate(5 minutes)`, `rate(2 hours)`, `rate(1 day)`.
fn rate_expression(rate: Secs) -> String {
    let (n, unit) = if rate.0 % 86_400 == 0 {
        (rate.0 / 86_400, "day")
    } else if rate.0 % 3_600 == 0 {
        (rate.0 / 3_600, "hour")
    } else {
        (rate.0 / 60, "minute")
    };
    format!("rate({n} {unit}{})", if n == 1 { "" } else { "s" })
}

/// `{"<the stack's queue URL>": ["<its ARN>", "<production's ARN>"], ...}` for each consumed
/// queue: records of either ARN are the batch of the queue the worker polls (production's from
/// `cutover` on, through the production mapping).
fn bridge_queues(c: &Config) -> Json {
    let parts: Vec<String> = c
        .consumed_queues()
        .iter()
        .map(|e| {
            let id = e.id();
            let mut arns = vec![format!("\"${{{id}Queue.Arn}}\"")];
            if let Some((region, account, name)) = c.production_queue(e).and_then(queue_url) {
                arns.push(format!(
                    "\"arn:${{AWS::Partition}}:sqs:{region}:{account}:{name}\""
                ));
            }
            format!("\"${{{id}Queue}}\": [{}]", arns.join(", "))
        })
        .collect();
    json!({ "Fn::Sub": format!("{{{}}}", parts.join(", ")) })
}

/// One value as itself, several as a list: a single queue renders as it always did.
fn one_or_list(mut v: Vec<Json>) -> Json {
    if v.len() == 1 {
        v.remove(0)
    } else {
        Json::Array(v)
    }
}

/// The alarms' expressions over `n` consumed queues' metrics (`visible0`.., `inflight0`..).
fn sum(n: usize) -> SumData {
    let with_inflight = 2 * n <= 10;
    let visible: Vec<String> = (0..n).map(|i| format!("visible{i}")).collect();
    let mut backlog = visible.clone();
    if with_inflight {
        backlog.extend((0..n).map(|i| format!("inflight{i}")));
    }
    SumData {
        visible: format!("SUM([{}])", visible.join(", ")),
        backlog: format!("SUM([{}])", backlog.join(", ")),
        with_inflight,
    }
}

/// Each variable the worker reads a queue from, set to the stack's own queue in the form it
/// reads: `Ref` gives a queue's URL, `QueueName` and `Arn` the others; a JSON value of several
/// queues is written with `Fn::Sub`, one key per queue.
fn worker_env(c: &Config) -> Vec<WorkerEnv> {
    let mut out: Vec<WorkerEnv> = Vec::new();
    let mut json_vars: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for e in c.queues() {
        for f in e.queue.finders() {
            let mut env = WorkerEnv {
                name: f.var().to_string(),
                id: e.id(),
                ..WorkerEnv::default()
            };
            match f {
                Finder::Url(_) => env.url = true,
                Finder::Name(_) => env.queue_name = true,
                Finder::Arn(_) => env.arn = true,
                Finder::Json { var, key } => {
                    let entry = (key.to_string(), e.queue_id());
                    match json_vars.iter_mut().find(|(v, _)| v == var) {
                        Some((_, keys)) => keys.push(entry),
                        None => json_vars.push((var.to_string(), vec![entry])),
                    }
                    continue;
                }
            }
            out.push(env);
        }
    }
    for (var, keys) in json_vars {
        // `${Name}` in Fn::Sub's text: each queue's URL, by its logical id.
        let body: Vec<String> = keys
            .iter()
            .map(|(k, q)| {
                format!(
                    "{}:\"${{{q}}}\"",
                    serde_json::to_string(k).unwrap_or_default()
                )
            })
            .collect();
        out.push(WorkerEnv {
            name: var,
            json: Some(format!("{{{}}}", body.join(","))),
            ..WorkerEnv::default()
        });
    }
    out
}

impl Data {
    pub fn new(c: &Config, image: &Image<'_>) -> Self {
        let (uri, repository_arn) = match image {
            Image::Digest(r) => (
                json!(r.to_string()),
                json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ecr:{}:{}:repository/{}", r.region, r.account, r.repository) }),
            ),
            Image::Placeholder => (
                json!({ "Fn::Sub": format!("${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{}@{PLACEHOLDER_DIGEST}", c.repository()) }),
                json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{}", c.repository()) }),
            ),
        };
        let s = &c.ecs.scaling;
        let threshold = s.scale_out.first().map_or(1, |st| st.from);
        let steps = s
            .scale_out
            .iter()
            .enumerate()
            .map(|(i, st)| StepData {
                lower: st.from.saturating_sub(threshold),
                upper: s
                    .scale_out
                    .get(i + 1)
                    .map(|next| next.from.saturating_sub(threshold)),
                add: st.add,
            })
            .collect();
        let l = &c.lambda;
        let (sqs, schedule) = match &l.trigger {
            Trigger::Sqs(t) | Trigger::Bridge(t) => (
                Some(SqsData {
                    batch_size: t.batch_size,
                    max_batching_window: t.max_batching_window.0,
                    max_concurrency: t.max_concurrency,
                    provisioned_pollers: t.provisioned_pollers.map(|p| PollersData {
                        min: p.min,
                        max: p.max,
                    }),
                }),
                None,
            ),
            Trigger::Schedule(t) => (
                None,
                Some(ScheduleData {
                    expression: rate_expression(t.rate),
                    every: format!("every {}", t.rate),
                }),
            ),
        };
        let mut secretsmanager = std::collections::BTreeSet::new();
        let mut ssm = std::collections::BTreeSet::new();
        for value in c.secrets.values() {
            match secret_arn(value) {
                Some((SecretKind::SecretsManager, base)) => secretsmanager.insert(base),
                Some((SecretKind::Parameter, arn)) => ssm.insert(arn),
                None => false,
            };
        }
        let p = &c.permissions;
        let queues: Vec<QueueData> = c
            .queues()
            .iter()
            .map(|e| QueueData {
                id: e.id(),
                label: e.label().to_string(),
                visibility_timeout: e.queue.visibility_timeout.0,
                retention: e.queue.retention.0,
                fifo: e.queue.fifo,
                dead_letter: e.queue.dead_letter.max_receive_count.map(|n| DeadLetterData { max_receive_count: n }),
                production_arn: c.production_queue(e).and_then(queue_url).map(|(region, account, name)| {
                    json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:sqs:{region}:{account}:{name}") })
                }),
            })
            .collect();
        // The bridge starts the supervisor, which starts the worker (docs/bridge.md).
        let image_config = if l.trigger.is_bridge() {
            crate::core::bridge::image_config(c)
        } else {
            crate::core::bridge::ImageConfig {
                entry_point: l.entry_point.clone(),
                command: l.command.clone(),
                working_directory: l.working_directory.clone(),
            }
        };
        let consumed: Vec<QueueData> = c
            .queues()
            .iter()
            .zip(&queues)
            .filter(|(e, _)| e.queue.consumed)
            .map(|(_, q)| q.clone())
            .collect();
        Data {
            service: c.service.clone(),
            environment: c
                .environment
                .iter()
                .map(|(k, v)| EnvVar {
                    name: k.clone(),
                    value: v.0.clone(),
                })
                .collect(),
            secrets: SecretsData {
                any: !c.secrets.is_empty(),
                list: c
                    .secrets
                    .iter()
                    .map(|(k, v)| SecretData {
                        name: k.clone(),
                        value_from: v.clone(),
                        arn_variable: format!("{k}{SECRET_ARN_SUFFIX}"),
                    })
                    .collect(),
                secretsmanager: secretsmanager.into_iter().collect(),
                ssm: ssm.into_iter().collect(),
            },
            permissions: PermissionsData {
                managed_policies: p.managed_policies.clone(),
                statements: p
                    .statements
                    .iter()
                    .map(|st| serde_json::to_value(st).unwrap_or(Json::Null))
                    .collect(),
                boundary: p.boundary.clone(),
            },
            image: ImageData {
                uri,
                repository_arn,
                placeholder: matches!(image, Image::Placeholder),
                lambda_architecture: c.image.platform.lambda_architecture(),
                ecs_cpu_architecture: c.image.platform.ecs_cpu_architecture(),
            },
            queues: queues.clone(),
            consumed: consumed.clone(),
            any_fifo: queues.iter().any(|q| q.fifo),
            any_dead_letter: queues.iter().any(|q| q.dead_letter.is_some()),
            worker_env: worker_env(c),
            several_consumed: consumed.len() > 1,
            first_consumed: consumed.first().map(|q| q.id.clone()).unwrap_or_default(),
            sent: queues
                .iter()
                .filter(|q| !consumed.iter().any(|k| k.id == q.id))
                .cloned()
                .collect(),
            ecs: EcsData {
                cluster: c.ecs.cluster.clone(),
                command: c.ecs.command.clone(),
                cpu: c.ecs.cpu,
                memory: c.ecs.memory,
                subnets: c.ecs.subnets.clone(),
                security_groups: c.ecs.security_groups.clone(),
                assign_public_ip: if c.ecs.assign_public_ip {
                    "ENABLED"
                } else {
                    "DISABLED"
                },
                scaling: ScalingData {
                    min: s.min,
                    max: s.max,
                    threshold,
                    steps,
                    scale_out_cooldown: s.scale_out_cooldown.0,
                    scale_in_periods: s.scale_in_after.minutes().max(1),
                    scale_in_after_text: s.scale_in_after.to_string(),
                    sum: (consumed.len() > 1).then(|| sum(consumed.len())),
                },
            },
            lambda: LambdaData {
                memory: l.memory,
                timeout: l.timeout.0,
                reserved_concurrency: l.reserved_concurrency,
                entry_point: image_config.entry_point,
                command: image_config.command,
                working_directory: image_config.working_directory,
                vpc: l.vpc,
                sqs,
                schedule,
                bridge: l.trigger.is_bridge().then(|| BridgeData {
                    var: crate::core::bridge::QUEUES_VAR,
                    queues: bridge_queues(c),
                }),
            },
            logs: LogsData {
                retention_days: c.logs.retention.0 / 86_400,
            },
            production: {
                let arns: Vec<Json> = consumed
                    .iter()
                    .filter_map(|q| q.production_arn.clone())
                    .collect();
                (!arns.is_empty()).then(|| ProductionData {
                    queue_arns: one_or_list(arns),
                })
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_expressions_use_the_largest_whole_unit() {
        let shown: Vec<String> = [60, 300, 3_600, 5_400, 86_400, 172_800]
            .iter()
            .map(|s| rate_expression(Secs(*s)))
            .collect();
        assert_eq!(
            shown,
            [
                "rate(1 minute)",
                "rate(5 minutes)",
                "rate(1 hour)",
                "rate(90 minutes)",
                "rate(1 day)",
                "rate(2 days)"
            ]
        );
    }
}

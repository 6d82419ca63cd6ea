//! The config's types, as `replatform.yaml` writes them, with their defaults. Pure.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::core::duration::Secs;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub service: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub image: Image,
    #[serde(default)]
    pub environment: BTreeMap<String, EnvValue>,
    /// Environment name -> the ARN of a Secrets Manager secret (with an optional JSON key) or of
    /// an SSM parameter. Values never enter a template.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// What the worker may do beyond its own queue and logs, the same on both platforms.
    #[serde(default)]
    pub permissions: Permissions,
    /// Tags on both stacks, so on every resource that takes tags.
    #[serde(default)]
    pub tags: BTreeMap<String, EnvValue>,
    /// The worker's one queue; `None` with `queues`, or for the default queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Queue>,
    /// A worker that consumes several queues: short name -> the queue's settings
    /// (docs/config.md#several-queues). Read through [`Config::queues`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queues: BTreeMap<String, Queue>,
    pub ecs: Ecs,
    pub lambda: Lambda,
    #[serde(default)]
    pub logs: Logs,
    /// The service that runs today, for `cutover`; nothing renders from it.
    #[serde(default)]
    pub production: Option<Production>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// IAM managed policy ARNs attached to both roles.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Policy statements, as in an IAM policy document, given to both roles.
    #[serde(default)]
    pub statements: Vec<Statement>,
    /// A permissions boundary on every role of both stacks.
    #[serde(default)]
    pub boundary: Option<String>,
}

impl Permissions {
    pub fn is_empty(&self) -> bool {
        self.managed_policies.is_empty() && self.statements.is_empty() && self.boundary.is_none()
    }
}

/// An IAM policy statement, with IAM's own key names.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    #[serde(rename = "Sid", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(rename = "Effect", default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    #[serde(rename = "Action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany>,
    #[serde(rename = "Resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany>,
    /// Kept as written; IAM checks its operators.
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<serde_json::Value>,
}

/// One string or a list of them, as IAM takes `Action` and `Resource`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// The service that runs today, on ECS (`ecs_service`) or on Kubernetes scaled by KEDA (`k8s`),
/// and the queue it consumes. Exactly one of the two is written (`checks`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Production {
    /// `CLUSTER/SERVICE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs_service: Option<String>,
    /// The Deployment and its KEDA ScaledObject, instead of `ecs_service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<K8sWorkload>,
    /// The queue's URL (with `queue:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// With `queues:`: each entry's production queue URL, by the entry's short name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queues: BTreeMap<String, String>,
}

/// A worker on Kubernetes, scaled by a KEDA ScaledObject: where `cutover` lowers its
/// `maxReplicaCount` and pauses it (docs/config.md#production, docs/pitfalls.md#p52).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct K8sWorkload {
    /// The kubeconfig context; the kubeconfig's current context when not written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub deployment: String,
    pub scaled_object: String,
}

fn default_namespace() -> String {
    "default".into()
}

/// Where production runs, from `production:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload<'a> {
    Ecs { cluster: &'a str, service: &'a str },
    K8s(&'a K8sWorkload),
}

impl Production {
    /// The workload `production:` names; `None` when it names neither or both, or an
    /// `ecs_service` that is not `CLUSTER/SERVICE` (which `validate` reports).
    pub fn workload(&self) -> Option<Workload<'_>> {
        match (&self.ecs_service, &self.k8s) {
            (Some(s), None) => s
                .split_once('/')
                .map(|(cluster, service)| Workload::Ecs { cluster, service }),
            (None, Some(k)) => Some(Workload::K8s(k)),
            _ => None,
        }
    }

    /// What a person calls the workload: `prod/orders-worker`, or
    /// `deployment orders/orders-worker`.
    pub fn workload_name(&self) -> String {
        match self.workload() {
            Some(Workload::K8s(k)) => format!("deployment {}/{}", k.namespace, k.deployment),
            _ => self.ecs_service.clone().unwrap_or_default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    #[serde(default = "dot")]
    pub context: String,
    #[serde(default = "dockerfile")]
    pub dockerfile: String,
    #[serde(default)]
    pub platform: Platform,
    /// ECR repository name; `None` means the service name.
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub builder: Builder,
    #[serde(default)]
    pub build_args: BTreeMap<String, EnvValue>,
    /// The host pushed to instead of the one ECR's token names (a VPC endpoint, a proxy).
    #[serde(default)]
    pub registry: Option<String>,
    /// How many images the repository's lifecycle policy keeps, newest first.
    #[serde(default = "twenty")]
    pub keep_images: u32,
}

impl Default for Image {
    fn default() -> Self {
        Self {
            context: dot(),
            dockerfile: dockerfile(),
            platform: Platform::default(),
            repository: None,
            builder: Builder::default(),
            build_args: BTreeMap::new(),
            registry: None,
            keep_images: twenty(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum Platform {
    #[default]
    #[serde(rename = "linux/amd64")]
    Amd64,
    #[serde(rename = "linux/arm64")]
    Arm64,
}

impl Platform {
    /// Lambda's `Architectures` value.
    pub fn lambda_architecture(self) -> &'static str {
        match self {
            Platform::Amd64 => "x86_64",
            Platform::Arm64 => "arm64",
        }
    }

    /// ECS's `RuntimePlatform.CpuArchitecture` value.
    pub fn ecs_cpu_architecture(self) -> &'static str {
        match self {
            Platform::Amd64 => "X86_64",
            Platform::Arm64 => "ARM64",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Amd64 => "linux/amd64",
            Platform::Arm64 => "linux/arm64",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    #[default]
    Docker,
    Podman,
    Buildah,
    Finch,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// The variable the worker reads its queue's URL from; `SQS_QUEUE_URL` when the queue names
    /// no variable at all. Read through [`Queue::finders`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// The variable the worker reads its queue's name from (the CDK's `QUEUE_NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_env: Option<String>,
    /// The variable the worker reads its queue's ARN from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn_env: Option<String>,
    /// A variable holding a JSON object, one key of which is this queue's URL (Copilot's
    /// `COPILOT_TOPIC_QUEUE_URIS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_env: Option<JsonEnv>,
    /// `false` for a queue the worker only sends to: each stack still makes one, so the worker
    /// never reaches production's, but nothing consumes or scales on it.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub consumed: bool,
    #[serde(default = "thirty_seconds")]
    pub visibility_timeout: Secs,
    #[serde(default = "four_days")]
    pub retention: Secs,
    /// Both queues and their dead-letter queues FIFO.
    #[serde(default)]
    pub fifo: bool,
    #[serde(default)]
    pub dead_letter: DeadLetter,
}

impl Default for Queue {
    fn default() -> Self {
        Self {
            url_env: None,
            name_env: None,
            arn_env: None,
            json_env: None,
            consumed: true,
            visibility_timeout: thirty_seconds(),
            retention: four_days(),
            fifo: false,
            dead_letter: DeadLetter::default(),
        }
    }
}

/// `json_env: {var: NAME, key: KEY}`: the queue's URL is `KEY`'s value in the JSON object held
/// by the variable `NAME`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JsonEnv {
    pub var: String,
    pub key: String,
}

/// `dead_letter: false`, `dead_letter: true` or `dead_letter: { max_receive_count: N }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// `None` when the dead-letter queue is turned off.
    pub max_receive_count: Option<u32>,
}

impl Default for DeadLetter {
    fn default() -> Self {
        Self {
            max_receive_count: Some(5),
        }
    }
}

impl<'de> Deserialize<'de> for DeadLetter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Settings {
            #[serde(default = "five")]
            max_receive_count: u32,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DeadLetter;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`false` or a mapping with `max_receive_count`")
            }
            fn visit_bool<E: de::Error>(self, on: bool) -> Result<DeadLetter, E> {
                Ok(if on {
                    DeadLetter::default()
                } else {
                    DeadLetter {
                        max_receive_count: None,
                    }
                })
            }
            fn visit_unit<E: de::Error>(self) -> Result<DeadLetter, E> {
                Ok(DeadLetter::default())
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<DeadLetter, A::Error> {
                let s = Settings::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(DeadLetter {
                    max_receive_count: Some(s.max_receive_count),
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ecs {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default = "cpu")]
    pub cpu: u32,
    #[serde(default = "memory")]
    pub memory: u32,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub assign_public_ip: bool,
    #[serde(default)]
    pub scaling: Scaling,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    #[serde(default)]
    pub min: u32,
    #[serde(default = "ten")]
    pub max: u32,
    #[serde(default = "default_steps")]
    pub scale_out: Vec<Step>,
    #[serde(default = "sixty_seconds")]
    pub scale_out_cooldown: Secs,
    #[serde(default = "five_minutes")]
    pub scale_in_after: Secs,
}

impl Default for Scaling {
    fn default() -> Self {
        Self {
            min: 0,
            max: ten(),
            scale_out: default_steps(),
            scale_out_cooldown: sixty_seconds(),
            scale_in_after: five_minutes(),
        }
    }
}

/// Visible messages >= `from` adds `add` tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub from: u64,
    pub add: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Lambda {
    #[serde(default = "memory")]
    pub memory: u32,
    #[serde(default = "thirty_seconds")]
    pub timeout: Secs,
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    /// Required by the `sqs` and `schedule` triggers (parse says so when missing); the `bridge`
    /// trigger runs the worker's own entry point and command when these are left out.
    #[serde(default)]
    pub entry_point: Vec<String>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub working_directory: String,
    #[serde(default)]
    pub vpc: bool,
    pub trigger: Trigger,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Trigger {
    Sqs(SqsTrigger),
    Schedule(ScheduleTrigger),
    /// The unchanged polling worker under the supervisor, fed by the same event source mapping
    /// as `sqs` (docs/bridge.md).
    Bridge(SqsTrigger),
}

impl Trigger {
    /// The event source mapping's settings: `sqs` and `bridge` are fed by one.
    pub fn mapping(&self) -> Option<&SqsTrigger> {
        match self {
            Trigger::Sqs(t) | Trigger::Bridge(t) => Some(t),
            Trigger::Schedule(_) => None,
        }
    }

    pub fn is_bridge(&self) -> bool {
        matches!(self, Trigger::Bridge(_))
    }

    /// The name written in `lambda.trigger.type`.
    pub fn name(&self) -> &'static str {
        match self {
            Trigger::Sqs(_) => "sqs",
            Trigger::Schedule(_) => "schedule",
            Trigger::Bridge(_) => "bridge",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SqsTrigger {
    #[serde(default = "ten")]
    pub batch_size: u32,
    #[serde(default = "zero_seconds")]
    pub max_batching_window: Secs,
    #[serde(default)]
    pub max_concurrency: Option<u32>,
    /// The mapping's provisioned mode (docs/pitfalls.md#p27).
    #[serde(default)]
    pub provisioned_pollers: Option<Pollers>,
}

/// `ProvisionedPollerConfig`: `MinimumPollers` and `MaximumPollers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pollers {
    pub min: u32,
    pub max: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTrigger {
    #[serde(default = "sixty_seconds")]
    pub rate: Secs,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Logs {
    /// How long both platforms' log groups keep events.
    #[serde(default = "thirty_days")]
    pub retention: Secs,
}

impl Default for Logs {
    fn default() -> Self {
        Self {
            retention: thirty_days(),
        }
    }
}

/// An environment value: any YAML scalar, kept as the text the platforms will see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EnvValue(pub String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

fn dot() -> String {
    ".".into()
}
fn dockerfile() -> String {
    "Dockerfile".into()
}
fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}
fn zero_seconds() -> Secs {
    Secs(0)
}
fn thirty_seconds() -> Secs {
    Secs(30)
}
fn sixty_seconds() -> Secs {
    Secs(60)
}
fn five_minutes() -> Secs {
    Secs(300)
}
fn four_days() -> Secs {
    Secs(4 * 86_400)
}
fn thirty_days() -> Secs {
    Secs(30 * 86_400)
}
fn cpu() -> u32 {
    256
}
fn memory() -> u32 {
    512
}
fn five() -> u32 {
    5
}
fn ten() -> u32 {
    10
}
fn twenty() -> u32 {
    20
}
fn default_steps() -> Vec<Step> {
    vec![Step { from: 1, add: 1 }, Step { from: 100, add: 5 }]
}

impl Config {
    /// The ECR repository name: `image.repository`, or the service name.
    pub fn repository(&self) -> &str {
        self.image.repository.as_deref().unwrap_or(&self.service)
    }

    /// The built-in stack name of a platform's stack: `SERVICE-ecs`, `SERVICE-lambda`.
    pub fn stack_name(&self, platform: crate::core::side::Side) -> String {
        format!("{}-{platform}", self.service)
    }
}

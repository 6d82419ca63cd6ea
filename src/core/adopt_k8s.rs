//! `replatform init --from-k8s PATH...`'s pure part: Kubernetes manifests (multi-document YAML
//! as `kubectl get -o yaml`, `helm template` or a GitOps repository hold them, `kind: List`
//! too) in; the worker a KEDA `ScaledObject` with an `aws-sqs-queue` trigger scales, read into
//! the same views `init --from-ecs` reads of a running ECS service (`core::adopt`), and the
//! Kubernetes-only parts of the readiness report. A Secret's value is never read: a secret
//! reference becomes a `secrets:` entry to fill. Pure.

use serde_yaml_ng::Value;

use super::adopt::{Container, Item, Kind};
use super::config::fargate_memory;

/// One object of the manifests, with where it was read.
#[derive(Clone, Debug)]
pub struct Object {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub body: Value,
    pub origin: String,
}

/// The variables of static AWS keys, which the stacks replace with a role of their own.
const STATIC_KEYS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// The kinds read; any other kind is skipped.
const KINDS: [&str; 8] = [
    "Deployment",
    "StatefulSet",
    "ScaledObject",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "TriggerAuthentication",
    "ClusterTriggerAuthentication",
];

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut v = v;
    for p in path {
        v = v.get(*p)?;
    }
    Some(v)
}

/// A scalar as text (KEDA's metadata values are strings, but a hand-written manifest may give
/// a number or a boolean).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(t) => Some(t.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence)
        .map(|s| s.iter().filter_map(|x| text(Some(x))).collect())
        .unwrap_or_default()
}

/// The objects of one file's text: every document, a `List`'s items flattened, unknown kinds
/// and empty documents skipped. An error names the file when a document is not YAML.
pub fn parse(text_: &str, origin: &str) -> Result<Vec<Object>, String> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text_) {
        let v = <Value as serde::Deserialize>::deserialize(doc)
            .map_err(|e| format!("`{origin}` is not YAML: {e}"))?;
        collect(v, origin, &mut out);
    }
    Ok(out)
}

fn collect(v: Value, origin: &str, out: &mut Vec<Object>) {
    let kind = text(v.get("kind")).unwrap_or_default();
    if kind == "List" || kind.ends_with("List") {
        if let Some(items) = v.get("items").and_then(Value::as_sequence) {
            for i in items.clone() {
                collect(i, origin, out);
            }
        }
        return;
    }
    if !KINDS.contains(&kind.as_str()) {
        return;
    }
    let name = text(s(&v, &["metadata", "name"])).unwrap_or_default();
    let namespace =
        text(s(&v, &["metadata", "namespace"])).unwrap_or_else(|| "default".to_string());
    out.push(Object {
        kind,
        namespace,
        name,
        body: v,
        origin: origin.to_string(),
    });
}

/// A workload a ScaledObject scales on an `aws-sqs-queue` trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub namespace: String,
    pub name: String,
    pub kind: String,
    pub scaled_object: String,
}

impl Candidate {
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The ScaledObject's `aws-sqs-queue` triggers, in order.
fn sqs_triggers(so: &Object) -> Vec<&Value> {
    s(&so.body, &["spec", "triggers"])
        .and_then(Value::as_sequence)
        .map(|t| {
            t.iter()
                .filter(|t| text(t.get("type")).as_deref() == Some("aws-sqs-queue"))
                .collect()
        })
        .unwrap_or_default()
}

/// Every Deployment or StatefulSet that a ScaledObject in its namespace targets
/// (`spec.scaleTargetRef.name`, its kind `Deployment` by default) with an `aws-sqs-queue`
/// trigger.
pub fn candidates(objs: &[Object]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for so in objs.iter().filter(|o| o.kind == "ScaledObject") {
        if sqs_triggers(so).is_empty() {
            continue;
        }
        let target = text(s(&so.body, &["spec", "scaleTargetRef", "name"])).unwrap_or_default();
        let kind = text(s(&so.body, &["spec", "scaleTargetRef", "kind"]))
            .unwrap_or_else(|| "Deployment".into());
        if let Some(w) = objs
            .iter()
            .find(|o| o.kind == kind && o.namespace == so.namespace && o.name == target)
        {
            out.push(Candidate {
                namespace: w.namespace.clone(),
                name: w.name.clone(),
                kind: w.kind.clone(),
                scaled_object: so.name.clone(),
            });
        }
    }
    out
}

/// The worker: the one candidate, or the one `--workload NAMESPACE/NAME` names; an error that
/// lists the candidates otherwise.
pub fn pick(objs: &[Object], workload: Option<&str>) -> Result<Candidate, String> {
    let found = candidates(objs);
    let list = || {
        found
            .iter()
            .map(|c| {
                format!(
                    "`{}` ({}, ScaledObject `{}`)",
                    c.id(),
                    c.kind,
                    c.scaled_object
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(w) = workload {
        let want = if w.contains('/') {
            w.to_string()
        } else {
            format!("default/{w}")
        };
        return found.iter().find(|c| c.id() == want).cloned().ok_or_else(|| {
            if found.is_empty() {
                format!("no workload `{want}` scaled by a KEDA ScaledObject with an `aws-sqs-queue` trigger in the manifests")
            } else {
                format!("no workload `{want}` among the SQS workers in the manifests: {}", list())
            }
        });
    }
    match found.len() {
        1 => Ok(found[0].clone()),
        0 => {
            let sos: Vec<String> = objs
                .iter()
                .filter(|o| o.kind == "ScaledObject")
                .map(|o| format!("`{}/{}`", o.namespace, o.name))
                .collect();
            let deps: Vec<String> = objs
                .iter()
                .filter(|o| o.kind == "Deployment" || o.kind == "StatefulSet")
                .map(|o| format!("`{}/{}`", o.namespace, o.name))
                .collect();
            Err(format!(
                "no Deployment or StatefulSet in the manifests is scaled by a KEDA ScaledObject with an `aws-sqs-queue` trigger (workloads: {}; ScaledObjects: {})",
                if deps.is_empty() { "none".into() } else { deps.join(", ") },
                if sos.is_empty() { "none".into() } else { sos.join(", ") }
            ))
        }
        _ => Err(format!(
            "several SQS workers in the manifests: {}; choose one with --workload NAMESPACE/NAME",
            list()
        )),
    }
}

/// A Kubernetes quantity of CPU in millicores (`500m`, `1`, `0.5`).
pub fn cpu_millis(q: &str) -> Option<u64> {
    let q = q.trim();
    if let Some(m) = q.strip_suffix('m') {
        return m.parse::<f64>().ok().map(|v| v.ceil() as u64);
    }
    q.parse::<f64>().ok().map(|v| (v * 1000.0).ceil() as u64)
}

/// A Kubernetes quantity of memory in MiB, rounded up (`512Mi`, `1Gi`, `1G`, `500M`, bytes).
pub fn memory_mib(q: &str) -> Option<u64> {
    let q = q.trim();
    let units: [(&str, f64); 10] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024f64.powi(4)),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("", 1.0),
    ];
    for (u, mult) in units {
        if let Some(n) = q.strip_suffix(u).filter(|_| !u.is_empty() || !q.is_empty()) {
            if let Ok(v) = n.parse::<f64>() {
                return Some((v * mult / (1024.0 * 1024.0)).ceil() as u64);
            }
        }
    }
    None
}

/// The smallest valid Fargate cpu/memory pair that holds `millis` of CPU and `mib` of memory.
pub fn fargate_pair(millis: u64, mib: u64) -> (u32, u32) {
    for cpu in [256u32, 512, 1024, 2048, 4096, 8192, 16384] {
        if u64::from(cpu) * 1000 / 1024 < millis {
            continue;
        }
        if let Some(m) = fargate_memory(cpu)
            .unwrap_or_default()
            .into_iter()
            .find(|m| u64::from(*m) >= mib)
        {
            return (cpu, m);
        }
    }
    (16384, 122_880)
}

/// One `aws-sqs-queue` trigger of the ScaledObject (docs/pitfalls.md#p52).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trigger {
    pub queue_url: Option<String>,
    pub queue_url_from_env: Option<String>,
    /// Messages per replica; KEDA's default 5.
    pub queue_length: u64,
    pub activation_queue_length: u64,
    pub scale_on_in_flight: bool,
    pub aws_region: Option<String>,
    /// The TriggerAuthentication the trigger names, if any.
    pub auth: Option<String>,
}

impl Trigger {
    /// The queue's URL: `queueURL`, else the value of the `queueURLFromEnv` variable in `env`.
    pub fn url(&self, env: &[(String, String)]) -> Option<String> {
        self.queue_url.clone().or_else(|| {
            let var = self.queue_url_from_env.as_deref()?;
            env.iter().find(|(n, _)| n == var).map(|(_, v)| v.clone())
        })
    }
}

/// The ScaledObject's `aws-sqs-queue` triggers (one per queue the worker consumes; at least one)
/// and its bounds (docs/pitfalls.md#p52).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Keda {
    pub scaled_object: String,
    pub triggers: Vec<Trigger>,
    pub min: i32,
    pub max: i32,
    /// Seconds; KEDA's default 300.
    pub cooldown_s: u64,
}

impl Keda {
    /// The first trigger: its `awsRegion` and TriggerAuthentication are the worker's.
    pub fn first(&self) -> &Trigger {
        &self.triggers[0]
    }
}

/// The worker as the manifests give it.
#[derive(Clone, Debug, Default)]
pub struct Workload {
    pub candidate: Option<Candidate>,
    /// The worker container first, then the others (sidecars).
    pub containers: Vec<Container>,
    /// Each secret reference of the worker's environment: variable, Secret, key (`None` for
    /// `envFrom`'s whole Secret).
    pub secret_refs: Vec<(String, String, Option<String>)>,
    pub millis: Option<u64>,
    pub mib: Option<u64>,
    pub cpu: u32,
    pub memory: u32,
    pub arm64: bool,
    pub grace_s: Option<u64>,
    pub replicas: i32,
    pub keda: Keda,
    /// The role the worker's pods assume, and where it was found.
    pub role: Option<(String, String)>,
    /// The report's items that only the manifests tell.
    pub items: Vec<Item>,
}

fn item(kind: Kind, field: &str, what: String, resolve: Option<&str>) -> Item {
    Item {
        kind,
        field: field.to_string(),
        what,
        resolve: resolve.map(str::to_string),
    }
}

/// The parameter name a Kubernetes secret reference is written as (a `secrets:` entry to fill:
/// store the value in SSM Parameter Store under this name, or replace it with a Secrets
/// Manager secret's ARN).
pub fn secret_parameter(namespace: &str, secret: &str, key: &str) -> String {
    format!("/k8s/{namespace}/{secret}/{key}")
}

/// Reads the worker `c` picks from `objs`: its container, environment, resources, identity and
/// its ScaledObject's trigger.
pub fn read(objs: &[Object], c: &Candidate) -> Result<Workload, String> {
    let find = |kind: &str, name: &str| {
        objs.iter()
            .find(|o| o.kind == kind && o.namespace == c.namespace && o.name == name)
    };
    let w = find(&c.kind, &c.name).ok_or("the workload went missing")?;
    let so = find("ScaledObject", &c.scaled_object).ok_or("the ScaledObject went missing")?;
    let triggers: Vec<Trigger> = sqs_triggers(so)
        .into_iter()
        .map(|trigger| {
            let md = |k: &str| text(s(trigger, &["metadata", k]));
            let num = |k: &str, d: u64| md(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(d);
            Trigger {
                queue_url: md("queueURL"),
                queue_url_from_env: md("queueURLFromEnv"),
                queue_length: num("queueLength", 5).max(1),
                activation_queue_length: num("activationQueueLength", 0),
                scale_on_in_flight: md("scaleOnInFlight").is_none_or(|v| v != "false"),
                aws_region: md("awsRegion"),
                auth: text(s(trigger, &["authenticationRef", "name"])),
            }
        })
        .collect();
    if triggers.is_empty() {
        return Err("the ScaledObject has no aws-sqs-queue trigger".into());
    }
    let keda = Keda {
        scaled_object: so.name.clone(),
        triggers,
        min: text(s(&so.body, &["spec", "minReplicaCount"]))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        max: text(s(&so.body, &["spec", "maxReplicaCount"]))
            .and_then(|v| v.parse().ok())
            .unwrap_or(100),
        cooldown_s: text(s(&so.body, &["spec", "cooldownPeriod"]))
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
    };
    let mut items = Vec::new();
    let pod = s(&w.body, &["spec", "template", "spec"]).ok_or(format!(
        "{} `{}` has no spec.template.spec",
        c.kind,
        c.id()
    ))?;
    let raw: Vec<&Value> = pod
        .get("containers")
        .and_then(Value::as_sequence)
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    if raw.is_empty() {
        return Err(format!("{} `{}` has no container", c.kind, c.id()));
    }
    // The worker: the container whose environment names the queue (KEDA's `queueURLFromEnv`,
    // or a value equal to `queueURL`), else the first.
    let names_queue = |ct: &Value| {
        ct.get("env")
            .and_then(Value::as_sequence)
            .is_some_and(|env| {
                env.iter().any(|e| {
                    let n = text(e.get("name"));
                    let v = text(e.get("value"));
                    keda.triggers.iter().any(|t| {
                        (n.is_some() && n == t.queue_url_from_env)
                            || (v.is_some() && v == t.queue_url)
                    })
                })
            })
    };
    // Else the first whose environment holds any queue URL (KEDA may watch another queue:
    // `disagreements` says so), else the first.
    let any_queue = |ct: &Value| {
        ct.get("env")
            .and_then(Value::as_sequence)
            .is_some_and(|env| {
                env.iter()
                    .any(|e| text(e.get("value")).is_some_and(|v| super::adopt::is_queue_url(&v)))
            })
    };
    let at = raw
        .iter()
        .position(|ct| names_queue(ct))
        .or_else(|| raw.iter().position(|ct| any_queue(ct)))
        .unwrap_or(0);
    let mut order: Vec<&Value> = vec![raw[at]];
    order.extend(
        raw.iter()
            .enumerate()
            .filter(|(k, _)| *k != at)
            .map(|(_, v)| *v),
    );

    let config_value = |cm: &str, key: &str| -> Option<String> {
        text(s(&find("ConfigMap", cm)?.body, &["data", key]))
    };
    let mut secret_refs = Vec::new();
    let mut static_keys: Vec<String> = Vec::new();
    let mut containers = Vec::new();
    for (k, ct) in order.iter().enumerate() {
        let name = text(ct.get("name")).unwrap_or_default();
        let mut cont = Container {
            name: name.clone(),
            image: text(ct.get("image")).unwrap_or_default(),
            essential: true,
            entry_point: strings(ct.get("command")),
            command: strings(ct.get("args")),
            working_directory: text(ct.get("workingDir")),
            privileged: text(s(ct, &["securityContext", "privileged"])).as_deref() == Some("true"),
            port_mappings: ct
                .get("ports")
                .and_then(Value::as_sequence)
                .map(|p| {
                    p.iter()
                        .filter_map(|x| text(x.get("containerPort"))?.parse().ok())
                        .collect()
                })
                .unwrap_or_default(),
            user: text(s(ct, &["securityContext", "runAsUser"]))
                .or_else(|| text(s(pod, &["securityContext", "runAsUser"]))),
            ..Default::default()
        };
        if k != 0 {
            containers.push(cont);
            continue;
        }
        // envFrom first: `env` overrides it, as in Kubernetes.
        for from in ct
            .get("envFrom")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let prefix = text(from.get("prefix")).unwrap_or_default();
            if let Some(cm) = text(s(from, &["configMapRef", "name"])) {
                match find("ConfigMap", &cm).and_then(|o| o.body.get("data")?.as_mapping()) {
                    Some(data) => {
                        for (k, v) in data {
                            if let (Some(k), Some(v)) = (text(Some(k)), text(Some(v))) {
                                cont.environment.push((format!("{prefix}{k}"), v));
                            }
                        }
                        items.push(item(Kind::Unchanged, "environment", format!("the ConfigMap `{cm}`'s {} key(s), from envFrom", data.len()), None));
                    }
                    None => items.push(item(Kind::Cannot, &format!("envFrom `{cm}`"), format!("the ConfigMap `{cm}` is not in the manifests read: its variables are not written"), Some("pass the file that holds it to --from-k8s too, or add its keys under `environment:`"))),
                }
            }
            if let Some(sec) = text(s(from, &["secretRef", "name"])) {
                let keys: Vec<String> = find("Secret", &sec)
                    .map(|o| {
                        ["data", "stringData"]
                            .iter()
                            .filter_map(|d| o.body.get(*d)?.as_mapping())
                            .flat_map(|m| m.keys().filter_map(|k| text(Some(k))))
                            .collect()
                    })
                    .unwrap_or_default();
                if keys.is_empty() {
                    items.push(item(Kind::Cannot, &format!("envFrom `{sec}`"), format!("the Secret `{sec}`'s keys are not in the manifests read (and its values are never read): its variables are not written"), Some("add each variable under `secrets:` with the ARN of a Secrets Manager secret or SSM parameter that holds it")));
                }
                for key in keys {
                    let var = format!("{prefix}{key}");
                    cont.secrets
                        .push((var.clone(), secret_parameter(&c.namespace, &sec, &key)));
                    secret_refs.push((var, sec.clone(), Some(key)));
                }
            }
        }
        for e in ct
            .get("env")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let Some(var) = text(e.get("name")) else {
                continue;
            };
            cont.environment.retain(|(k, _)| *k != var);
            cont.secrets.retain(|(k, _)| *k != var);
            if let Some(v) = text(e.get("value")) {
                cont.environment.push((var, v));
            } else if let Some(r) = s(e, &["valueFrom", "secretKeyRef"]) {
                let sec = text(r.get("name")).unwrap_or_default();
                let key = text(r.get("key")).unwrap_or_default();
                cont.secrets
                    .push((var.clone(), secret_parameter(&c.namespace, &sec, &key)));
                secret_refs.push((var, sec, Some(key)));
            } else if let Some(r) = s(e, &["valueFrom", "configMapKeyRef"]) {
                let cm = text(r.get("name")).unwrap_or_default();
                let key = text(r.get("key")).unwrap_or_default();
                match config_value(&cm, &key) {
                    Some(v) => cont.environment.push((var, v)),
                    None => items.push(item(Kind::Cannot, &format!("environment.{var}"), format!("from the ConfigMap `{cm}`'s key `{key}`, which is not in the manifests read: not written"), Some("pass the file that holds the ConfigMap to --from-k8s too, or set the value under `environment:`"))),
                }
            } else if e.get("valueFrom").is_some() {
                items.push(item(Kind::Cannot, &format!("environment.{var}"), "from the pod's own fields (`fieldRef`/`resourceFieldRef`), which neither ECS nor Lambda has: not written".into(), Some("set a fixed value under `environment:`, or read it at start-up")));
            }
        }
        // Static AWS keys from a Secret: both stacks give the worker a role of their own, and
        // Lambda refuses these variables (`LAMBDA_RESERVED_ENV`): left out, said with the role.
        static_keys = cont
            .secrets
            .iter()
            .filter(|(k, _)| STATIC_KEYS.contains(&k.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        cont.secrets.retain(|(k, _)| !static_keys.contains(k));
        secret_refs.retain(|(v, _, _)| !static_keys.contains(v));
        containers.push(cont);
    }
    let worker_ct = order[0];
    for (k, sc) in containers.iter().enumerate().skip(1) {
        items.push(item(Kind::Cannot, &format!("containers[{k}] `{}`", sc.name), format!("a sidecar beside the worker `{}`: Lambda runs one container (docs/pitfalls.md#p36)", containers[0].name), Some("move what it does into the worker's image (an extension) or a service of its own")));
    }
    for ic in pod
        .get("initContainers")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let n = text(ic.get("name")).unwrap_or_default();
        items.push(item(
            Kind::Cannot,
            &format!("initContainers `{n}`"),
            "an init container: Lambda starts the worker's container alone".into(),
            Some("do its work in the worker's start-up or at build time"),
        ));
    }
    for v in pod
        .get("volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let n = text(v.get("name")).unwrap_or_default();
        let kind = v
            .as_mapping()
            .and_then(|m| m.keys().filter_map(|k| k.as_str()).find(|k| *k != "name"))
            .unwrap_or("unknown")
            .to_string();
        match kind.as_str() {
            "emptyDir" => items.push(item(Kind::Changed, &format!("volumes `{n}`"), "an emptyDir: on Lambda only /tmp is writable (up to 10 GB)".into(), Some("make the worker write that scratch space under /tmp"))),
            "hostPath" => items.push(item(Kind::Cannot, &format!("volumes `{n}`"), "a hostPath volume: neither Fargate nor Lambda reaches the host".into(), Some("drop it, or keep the worker on Kubernetes"))),
            "configMap" | "secret" | "projected" => items.push(item(Kind::Cannot, &format!("volumes `{n}`"), format!("a `{kind}` volume mounted as files: neither stack mounts it"), Some("bake non-secret files into the image; read secrets from `secrets:` (variables) instead of files"))),
            _ => items.push(item(Kind::Cannot, &format!("volumes `{n}`"), format!("a `{kind}` volume: Lambda mounts none but /tmp (and EFS through an access point, which replatform does not set up)"), Some("keep the data in S3, or keep the worker where it runs"))),
        }
    }
    if text(pod.get("hostNetwork")).as_deref() == Some("true") {
        items.push(item(
            Kind::Cannot,
            "hostNetwork",
            "the pod uses the host's network".into(),
            Some("drop hostNetwork"),
        ));
    }

    // Resources: the larger of request and limit, rounded up to a Fargate pair.
    let res = |kind: &str, what: &str| text(s(worker_ct, &["resources", kind, what]));
    let millis = [res("limits", "cpu"), res("requests", "cpu")]
        .into_iter()
        .flatten()
        .filter_map(|q| cpu_millis(&q))
        .max();
    let mib = [res("limits", "memory"), res("requests", "memory")]
        .into_iter()
        .flatten()
        .filter_map(|q| memory_mib(&q))
        .max();
    let (cpu, memory) = fargate_pair(millis.unwrap_or(0), mib.unwrap_or(0));
    items.push(item(
        Kind::Changed,
        "ecs.cpu",
        match (millis, mib) {
            (None, None) => format!("the container gives no resources: the smallest Fargate size, {cpu} cpu / {memory} MiB, and Lambda memory {memory} MiB"),
            _ => format!("the container's resources (the larger of request and limit: {} CPU, {} memory) rounded up to the Fargate pair {cpu} cpu / {memory} MiB; Lambda memory {memory} MiB, whose CPU grows with it", millis.map(|m| format!("{m}m")).unwrap_or("no".into()), mib.map(|m| format!("{m} MiB")).unwrap_or("no".into())),
        },
        Some("set ecs.cpu, ecs.memory and lambda.memory if the worker needs less"),
    ));

    // The architecture: `kubernetes.io/arch` in the node selector or a required node affinity.
    let mut arches: Vec<String> = Vec::new();
    if let Some(a) = text(s(pod, &["nodeSelector", "kubernetes.io/arch"])) {
        arches.push(a);
    }
    for term in s(
        pod,
        &[
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            "nodeSelectorTerms",
        ],
    )
    .and_then(Value::as_sequence)
    .into_iter()
    .flatten()
    {
        for e in term
            .get("matchExpressions")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if text(e.get("key")).as_deref() == Some("kubernetes.io/arch")
                && text(e.get("operator")).as_deref() == Some("In")
            {
                arches.extend(strings(e.get("values")));
            }
        }
    }
    let arm64 = !arches.is_empty() && arches.iter().all(|a| a == "arm64");
    if arches.len() > 1 || (arches.iter().any(|a| a == "arm64") && !arm64) {
        items.push(item(
            Kind::Changed,
            "image.platform",
            format!(
                "the pods may run on {}: written as linux/amd64",
                arches.join(", ")
            ),
            Some("set image.platform: linux/arm64 if the image is built for it"),
        ));
    }
    let grace_s = text(pod.get("terminationGracePeriodSeconds")).and_then(|v| v.parse().ok());

    // Identity: IRSA on the ServiceAccount, else the TriggerAuthentication's pod identity role.
    let sa = text(pod.get("serviceAccountName"))
        .or_else(|| text(pod.get("serviceAccount")))
        .unwrap_or_else(|| "default".into());
    let irsa = find("ServiceAccount", &sa)
        .and_then(|o| {
            text(s(
                &o.body,
                &["metadata", "annotations", "eks.amazonaws.com/role-arn"],
            ))
        })
        .map(|r| {
            (
                r,
                format!("the ServiceAccount `{sa}`'s eks.amazonaws.com/role-arn (IRSA)"),
            )
        });
    let auth = keda.first().auth.as_deref().and_then(|a| {
        find("TriggerAuthentication", a).or_else(|| {
            objs.iter()
                .find(|o| o.kind == "ClusterTriggerAuthentication" && o.name == a)
        })
    });
    let pod_identity = auth
        .and_then(|o| {
            text(s(&o.body, &["spec", "podIdentity", "roleArn"])).map(|r| (r, o.name.clone()))
        })
        .map(|(r, n)| {
            (
                r,
                format!("the TriggerAuthentication `{n}`'s podIdentity.roleArn (KEDA's role)"),
            )
        });
    let keda_keys = auth.and_then(|o| {
        let secrets: Vec<String> = s(&o.body, &["spec", "secretTargetRef"])?
            .as_sequence()?
            .iter()
            .filter_map(|r| text(r.get("name")))
            .collect();
        Some((o.name.clone(), secrets))
    });
    if let Some((name, secrets)) = &keda_keys {
        let mut secrets = secrets.clone();
        secrets.dedup();
        items.push(item(Kind::Changed, "permissions", format!("the TriggerAuthentication `{name}` gives KEDA static keys from the Secret {}: not read, and not needed: each stack scales on CloudWatch's queue metrics", secrets.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")), None));
    }
    let role = irsa.or(pod_identity);
    if role.is_none() && (!static_keys.is_empty() || keda_keys.is_some()) {
        let worker = if static_keys.is_empty() {
            "the worker's own identity is in no manifest".to_string()
        } else {
            format!("the worker signs with static keys ({}, from a Secret: left out, no value read; Lambda refuses these variables)", static_keys.join(", "))
        };
        items.push(item(Kind::Changed, "permissions", format!("no role to read: {worker}; both stacks give the worker a role of their own, which may use its queues and logs and nothing else until its identity is given"), Some("give the worker's identity under `permissions:`: what the keys' IAM user may do (`aws iam list-attached-user-policies` and `list-user-policies` on it), as managed_policies and statements")));
    } else if role.is_none() {
        items.push(item(Kind::Changed, "permissions", format!("no role found: the ServiceAccount `{sa}` has no eks.amazonaws.com/role-arn, and no TriggerAuthentication gives podIdentity.roleArn (an EKS Pod Identity association is in no manifest, docs/pitfalls.md#p53)"), Some("add what the worker may do under `permissions:` (the stacks grant its own queue)")));
    }
    Ok(Workload {
        candidate: Some(c.clone()),
        containers,
        secret_refs,
        millis,
        mib,
        cpu,
        memory,
        arm64,
        grace_s,
        replicas: text(s(&w.body, &["spec", "replicas"]))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1),
        keda,
        role,
        items,
    })
}

/// The ECS `add` steps that approximate KEDA's `ceil(backlog / queueLength)` replicas: one task
/// from the activation threshold, then, at `queueLength` times N messages, N tasks more (N = 2,
/// 8, 32, ... within `max`): KEDA would run N replicas at that backlog. With several triggers
/// KEDA runs the most replicas any one of them asks for, while the ECS stack scales on the sum
/// of the queues' messages (docs/config.md#several-queues): the smallest `queueLength` and
/// activation threshold stand for them all.
pub fn steps(k: &Keda) -> Vec<(u64, i64)> {
    let ql = k.triggers.iter().map(|t| t.queue_length).min().unwrap_or(5);
    let act = k
        .triggers
        .iter()
        .map(|t| t.activation_queue_length)
        .min()
        .unwrap_or(0);
    let mut out = vec![(act + 1, 1i64)];
    let mut n: i64 = 2;
    while n <= i64::from(k.max.max(1)) && out.len() < 5 {
        out.push((ql * n as u64, n));
        n *= 4;
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// The region of an SQS queue URL on AWS (`https://sqs.REGION.amazonaws.com/...`).
pub fn url_region(url: &str) -> Option<String> {
    super::config::queue_url(url).map(|(r, _, _)| r.to_string())
}

/// The disagreements between the manifests: the queue URLs and the region the worker's
/// environment gives against the ScaledObject's triggers, and a queue in the environment that
/// KEDA does not scale on.
pub fn disagreements(w: &Workload) -> Vec<Item> {
    let mut items = Vec::new();
    let env = &w.containers[0].environment;
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let so = &w.keda.scaled_object;
    for t in &w.keda.triggers {
        if let (Some(u), Some(var)) = (&t.queue_url, &t.queue_url_from_env) {
            if let Some(v) = get(var).filter(|v| v != u) {
                items.push(item(Kind::Cannot, "queue", format!("the ScaledObject `{so}` scales on `{u}` but the worker's `{var}` is `{v}`: KEDA watches another queue than the worker reads"), Some("make them name the same queue; the config is written from the ScaledObject's")));
            }
        }
    }
    // The queues the config is written for, and those of them no variable of the worker holds
    // (a `queueURL` the worker's code names, or another than the one it reads).
    let scaled: Vec<String> = w.keda.triggers.iter().filter_map(|t| t.url(env)).collect();
    let unread: Vec<String> = w
        .keda
        .triggers
        .iter()
        .filter(|t| t.queue_url_from_env.is_none())
        .filter_map(|t| t.queue_url.clone())
        .filter(|u| !env.iter().any(|(_, v)| v == u))
        .map(|u| format!("`{u}`"))
        .collect();
    for (k, v) in env {
        let from_env = w
            .keda
            .triggers
            .iter()
            .any(|t| t.queue_url_from_env.as_deref() == Some(k.as_str()));
        if !super::adopt::is_queue_url(v) || scaled.contains(v) || from_env {
            continue;
        }
        if unread.is_empty() {
            items.push(item(
                Kind::Changed,
                &format!("environment.{k}"),
                format!("holds another queue, `{v}`, which KEDA does not scale on: the experiment stacks make no queue of their own for it, so both experiment workers would get this one as it is"),
                Some(&format!("if the worker consumes it, add an `aws-sqs-queue` trigger for it to the ScaledObject and run `init --from-k8s` again (each trigger's queue becomes an entry of `queues:`); if it only sends there, write the queues under `queues:` with an entry `{{url_env: {k}, consumed: false}}` for it (docs/config.md#several-queues), so each stack makes its own")),
            ));
        } else {
            items.push(item(
                Kind::Cannot,
                &format!("environment.{k}"),
                format!("holds the queue `{v}`, but the ScaledObject `{so}` scales on {}", unread.join(", ")),
                Some("make them name the same queue; the config is written from the ScaledObject's, and the worker's variable is kept as it is"),
            ));
        }
    }
    let first = w.keda.first().aws_region.as_ref();
    if let Some(r) = first {
        for k in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let Some(v) = get(k).filter(|v| v != r) {
                items.push(item(
                    Kind::Cannot,
                    &format!("environment.{k}"),
                    format!("`{v}`, but the ScaledObject's awsRegion is `{r}`"),
                    Some("make them agree; the config's `region:` is the ScaledObject's"),
                ));
            }
        }
    }
    for (n, t) in w.keda.triggers.iter().enumerate().skip(1) {
        if let (Some(r), Some(o)) = (first, t.aws_region.as_ref().filter(|o| Some(*o) != first)) {
            items.push(item(
                Kind::Cannot,
                &format!("triggers[{n}].awsRegion"),
                format!("`{o}`, but the first trigger's is `{r}`: both stacks, and their queues, live in one region"),
                Some("keep the worker's queues in one region, or adopt it once per region"),
            ));
        }
    }
    items
}

/// The Kubernetes worker's config: `core::adopt::translate`'s text for the same views, with
/// what is Kubernetes's own said in its comments, the ECS network left to fill, KEDA's scaling,
/// and the production block as `production.k8s` (docs/config.md#production).
/// A queue the config is written for: where it is in the config (`queue`, or `queues.KEY`),
/// its production URL, and whether a variable of the worker names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub at: String,
    pub url: String,
    pub named: bool,
}

/// ECS's stop timeout when a task definition sets none, seconds: the config has no field for
/// it, so the ECS stack's tasks get it (docs/pitfalls.md#p31).
const ECS_STOP_TIMEOUT_S: u64 = 30;

/// The pods' `terminationGracePeriodSeconds` on both platforms: against ECS's stop timeout,
/// which the config does not set, and as the floor of `lambda.timeout` (`written_s` as
/// `translate` wrote it), kept within the queues' visibility timeout `vt_s` (below it AWS
/// refuses an SQS mapping, docs/pitfalls.md#p7) and Lambda's 15 minutes. The timeout to write,
/// and what the report says.
pub fn grace(g: Option<u64>, written_s: u64, vt_s: u64, sqs: bool) -> (u64, Vec<Item>) {
    let Some(g) = g else {
        return (written_s, Vec::new());
    };
    let mut out = Vec::new();
    out.push(if g > ECS_STOP_TIMEOUT_S {
        item(Kind::Changed, "terminationGracePeriodSeconds", format!("{g}s from SIGTERM to SIGKILL on Kubernetes; the config has no field for ECS's `stopTimeout`, so the ECS stack's tasks get Fargate's default, {ECS_STOP_TIMEOUT_S}s (docs/pitfalls.md#p31)"), Some(&format!("make the worker finish or give back its message within {ECS_STOP_TIMEOUT_S}s of SIGTERM; a message it has not deleted returns to the queue after its visibility timeout, so none is lost")))
    } else {
        item(Kind::Unchanged, "terminationGracePeriodSeconds", format!("{g}s: within the {ECS_STOP_TIMEOUT_S}s ECS gives a task after SIGTERM (Fargate's default `stopTimeout`; the config has no field for it)"), None)
    });
    let cap = vt_s.clamp(1, 900);
    let floor = g.min(cap);
    let timeout = written_s.max(floor);
    let why = if cap == vt_s {
        format!("the queue's visibility timeout, {vt_s}s")
    } else {
        "Lambda's 15 minutes".to_string()
    };
    if timeout > written_s {
        let capped = if floor < g {
            format!("; not above {why}")
        } else {
            String::new()
        };
        let six = timeout.saturating_mul(6);
        out.push(item(
            Kind::Changed,
            "lambda.timeout",
            format!("{timeout}s, raised from {written_s}s: the pods' terminationGracePeriodSeconds ({g}s) is the longest Kubernetes lets the worker finish a message, and Lambda ends an invocation at its timeout{capped}"),
            (sqs && vt_s < six).then(|| format!("AWS recommends a visibility timeout of 6 x the function timeout (docs/pitfalls.md#p7): raise the queue's visibility_timeout to {six}s (`validate` warns until then), or lower lambda.timeout if no message takes that long")).as_deref(),
        ));
    } else if g > written_s {
        out.push(item(
            Kind::Changed,
            "lambda.timeout",
            format!("{written_s}s, below the pods' terminationGracePeriodSeconds ({g}s): {why} caps it"),
            Some(&format!("if a message can take {g}s, raise the queue's visibility_timeout, then lambda.timeout")),
        ));
    } else {
        out.push(item(
            Kind::Unchanged,
            "lambda.timeout",
            format!("{written_s}s covers the pods' terminationGracePeriodSeconds ({g}s)"),
            None,
        ));
    }
    (timeout, out)
}

/// The Kubernetes worker's config and what rewriting it says: `core::adopt::translate`'s text
/// for the same views, with what is Kubernetes's own said in its comments, the ECS network left
/// to fill, KEDA's scaling, `lambda.timeout` at least the grace period (`grace`, with `vt_s` the
/// queues' shortest visibility timeout), and the production block as `production.k8s`
/// (docs/config.md#production).
pub fn rewrite(
    text_: &str,
    w: &Workload,
    region: Option<&str>,
    queues: &[Written],
    vt_s: u64,
) -> (String, Vec<Item>) {
    let mut said = Vec::new();
    let c = w.candidate.clone().unwrap_or(Candidate {
        namespace: "default".into(),
        name: String::new(),
        kind: "Deployment".into(),
        scaled_object: String::new(),
    });
    let mut o = String::new();
    let mut lines = text_.lines().peekable();
    // The header: two lines.
    lines.next();
    lines.next();
    o.push_str(&format!(
        "# Written by `replatform init --from-k8s` from the {} `{}` and the ScaledObject `{}`.\n# Each value says where it comes from; see the readiness report.\n",
        c.kind,
        c.id(),
        c.scaled_object
    ));
    let comment = |l: &str, new: &str| -> String {
        let body = l
            .split("  #")
            .next()
            .unwrap_or(l)
            .split(" #")
            .next()
            .unwrap_or(l)
            .trim_end();
        let mut s = String::new();
        let gap = if body.len() >= 32 { "  " } else { "" };
        s.push_str(&format!("{body:<32}{gap}# {new}\n"));
        s
    };
    let mut in_ecs = false;
    let sqs = !text_.contains("    type: schedule");
    while let Some(l) = lines.next() {
        if l.starts_with("production:") {
            break;
        }
        if !l.starts_with(' ') && !l.is_empty() {
            in_ecs = l.starts_with("ecs:");
        }
        let written_timeout = l
            .strip_prefix("  timeout: ")
            .filter(|_| !in_ecs)
            .and_then(|v| super::duration::parse(v.split('#').next()?.trim()).ok());
        if let Some(t) = written_timeout {
            let (timeout, items) = grace(w.grace_s, t.0, vt_s, sqs);
            said.extend(items);
            if timeout != t.0 {
                o.push_str(&comment(
                    &format!("  timeout: {timeout}s"),
                    "at least the pods' terminationGracePeriodSeconds: see the report",
                ));
                continue;
            }
        }
        if l.starts_with("service: ") {
            o.push_str(&comment(l, &format!("the {}'s name", c.kind)));
            if let Some(r) = region {
                o.push_str(&comment(
                    &format!("region: {r}"),
                    "the ScaledObject's awsRegion, else the queue URL's",
                ));
            }
        } else if l.starts_with("  platform: ") {
            o.push_str(&comment(
                l,
                "the pods' kubernetes.io/arch (nodeSelector or node affinity)",
            ));
        } else if in_ecs && l.starts_with("  cluster: ") {
            o.push_str("  # cluster: NAME               # an existing ECS cluster's name; left out, the stack makes one\n");
        } else if in_ecs && l.starts_with("  command: ") && !w.containers[0].command.is_empty() {
            o.push_str(&comment(
                l,
                "the container's args (the image's CMD, overridden)",
            ));
        } else if in_ecs && l.starts_with("  cpu: ") {
            o.push_str(&comment(
                &format!("  cpu: {}", w.cpu),
                "the container's resources, rounded up to a Fargate pair",
            ));
        } else if in_ecs && l.starts_with("  memory: ") {
            o.push_str(&comment(
                &format!("  memory: {}", w.memory),
                "MiB, the container's resources, rounded up",
            ));
        } else if in_ecs && l.starts_with("  subnets: ") {
            o.push_str(&comment("  subnets: []", "to fill: the VPC subnets the ECS tasks run in (the cluster's nodes' subnets will do)"));
        } else if in_ecs && l.starts_with("  security_groups: ") {
            o.push_str(&comment("  security_groups: []", "to fill: the security groups of the ECS tasks (outbound to SQS and what the worker calls)"));
        } else if in_ecs && l.starts_with("  assign_public_ip: ") {
            o.push_str(&comment(
                l,
                "true only in public subnets without a NAT gateway",
            ));
        } else if in_ecs && l.starts_with("    min: ") {
            o.push_str(&comment(
                &format!("    min: {}", w.keda.min.max(0)),
                "the ScaledObject's minReplicaCount",
            ));
        } else if in_ecs && l.starts_with("    max: ") {
            o.push_str(&comment(
                &format!("    max: {}", w.keda.max.max(1)),
                "the ScaledObject's maxReplicaCount",
            ));
            o.push_str(&comment(
                "    scale_out:",
                "KEDA keeps ceil(messages / queueLength) replicas: see the report",
            ));
            for (from, add) in steps(&w.keda) {
                o.push_str(&format!("      - {{ from: {from}, add: {add} }}\n"));
            }
            o.push_str(&comment(
                &format!("    scale_in_after: {}s", w.keda.cooldown_s.max(60)),
                "the ScaledObject's cooldownPeriod",
            ));
            // translate's own steps, if any, are replaced.
            while lines
                .peek()
                .is_some_and(|n| n.starts_with("    scale_out:") || n.starts_with("      - "))
            {
                lines.next();
            }
        } else if l.starts_with("secrets: ") {
            o.push_str(&comment(l, "by ARN: each Kubernetes secret reference as an SSM parameter to fill (see the report); no value is read"));
        } else if l.starts_with("permissions: ") {
            let role = w.role.as_ref().map(|r| r.0.as_str()).unwrap_or_default();
            o.push_str(&comment(
                l,
                &format!("the pods' role `{role}`'s, given to both platforms' roles"),
            ));
        } else if queues.len() > 1
            && sqs
            && l.split('#').next().map(str::trim_end) == Some("  reserved_concurrency: 2")
        {
            // `translate` gives the `sqs` and `bridge` triggers' function 2, one mapping's
            // least; each queue's mapping scales to max_concurrency: together they need that
            // many times the queues (`validate`'s max-concurrency lint, docs/pitfalls.md#p8).
            o.push_str(&comment(
                &format!("  reserved_concurrency: {}", 2 * queues.len()),
                &format!(
                    ">= trigger.max_concurrency x the {} queues' mappings (docs/pitfalls.md#p8)",
                    queues.len()
                ),
            ));
        } else if l.starts_with("  memory: ") && !in_ecs {
            o.push_str(&comment(
                &format!(
                    "  memory: {}",
                    u64::from(w.memory).min(super::adopt::LAMBDA_MAX_MEMORY)
                ),
                "the container's memory, rounded up as ecs.memory, for a like-for-like comparison",
            ));
        } else {
            o.push_str(l);
            o.push('\n');
        }
    }
    while o.ends_with("\n\n") {
        o.pop();
    }
    o.push_str(&format!(
        "\nproduction:                     # `replatform cutover` moves these queues to the function, lowering the ScaledObject's maxReplicaCount, then pausing it\n  k8s:\n    # context: my-eks           # the kubeconfig context of the cluster; without it, the current context\n    namespace: {}\n    deployment: {}{}\n    scaled_object: {}\n",
        c.namespace,
        c.name,
        if c.kind == "Deployment" {
            String::new()
        } else {
            format!("{:<width$}# a {}: the workload the ScaledObject scales", "", c.kind, width = 32usize.saturating_sub(16 + c.name.len()).max(2))
        },
        c.scaled_object
    ));
    match queues {
        [one] => o.push_str(&format!("  queue: {}\n", one.url)),
        several => {
            o.push_str("  queues:\n");
            for q in several {
                let key = q.at.strip_prefix("queues.").unwrap_or(&q.at);
                o.push_str(&format!("    {key}: {}\n", q.url));
            }
        }
    }
    (o, said)
}

/// The report's Kubernetes items beside `translate`'s: what the manifests alone tell, KEDA's
/// scaling as it is written, the disagreements, and the network left to fill.
pub fn items(w: &Workload, queues: &[Written]) -> Vec<Item> {
    let mut out = w.items.clone();
    out.extend(disagreements(w));
    let k = &w.keda;
    let ladder = steps(k)
        .iter()
        .map(|(f, a)| format!("+{a} from {f} messages"))
        .collect::<Vec<_>>()
        .join(", ");
    let messages = |t: &Trigger| {
        if t.scale_on_in_flight {
            "visible + in-flight messages"
        } else {
            "visible messages"
        }
    };
    let said = match k.triggers.as_slice() {
        [t] => format!(
            "KEDA keeps ceil(({}) / {}) replicas (queueLength {}; activationQueueLength {}); ECS scales in steps instead: {ladder}",
            messages(t), t.queue_length, t.queue_length, t.activation_queue_length
        ),
        several => format!(
            "KEDA keeps the most replicas any of its {} triggers asks for, each ceil(its queue's messages / its queueLength) ({}); ECS scales on the sum of the queues' visible messages in steps instead, from the smallest queueLength and activationQueueLength: {ladder}",
            several.len(),
            several
                .iter()
                .map(|t| format!("queueLength {} on {}", t.queue_length, messages(t)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    out.push(item(
        Kind::Changed,
        "ecs.scaling.scale_out",
        said,
        Some(
            "adjust ecs.scaling.scale_out; Lambda scales on its own, up to trigger.max_concurrency",
        ),
    ));
    if queues.len() > 1 {
        out.push(item(Kind::Changed, "queues", format!(
            "the ScaledObject `{}` scales on {} queues: each is an entry of `queues:` ({}), and each stack makes its own of each and sets the worker's variable to it; ECS scales on the sum of their messages, Lambda maps each one (docs/config.md#several-queues)",
            k.scaled_object,
            queues.len(),
            queues.iter().map(|q| format!("`{}`", q.at)).collect::<Vec<_>>().join(", ")
        ), None));
    }
    out.push(item(
        Kind::Unchanged,
        "ecs.scaling",
        format!(
            "min {} / max {} replicas, cooldown {}s as scale_in_after",
            k.min, k.max, k.cooldown_s
        ),
        None,
    ));
    if !w.containers[0].entry_point.is_empty() {
        out.push(item(Kind::Changed, "command", format!("the container's `command` {:?} replaces the image's ENTRYPOINT: under the bridge it is lambda.entry_point; the ECS stack runs the image's own ENTRYPOINT with ecs.command", w.containers[0].entry_point), Some("make the Dockerfile's ENTRYPOINT the container's `command`, so both stacks start the worker as Kubernetes does")));
    }
    for (var, sec, key) in &w.secret_refs {
        let ns = w
            .candidate
            .as_ref()
            .map(|c| c.namespace.as_str())
            .unwrap_or("default");
        out.push(item(Kind::Changed, &format!("secrets.{var}"), format!(
            "from the Kubernetes Secret `{sec}`{}: written as the SSM parameter `{}` to fill (the value is never read)",
            key.as_deref().map(|k| format!(" key `{k}`")).unwrap_or_default(),
            secret_parameter(ns, sec, key.as_deref().unwrap_or(var))
        ), Some("store the value in that SecureString parameter, or set the ARN of the Secrets Manager secret that holds it")));
    }
    for q in queues.iter().filter(|q| !q.named) {
        out.push(item(Kind::Cannot, &format!("{}.url_env", q.at), format!(
            "no variable of the worker names the queue `{}`: its code names it, so the experiment stacks could not point it at their own queues",
            q.url
        ), Some(&format!("make the worker read its queue URL from an environment variable (SQS_QUEUE_URL, as `{}.url_env` says) and set it in the Deployment; KEDA's `queueURLFromEnv` can then read the same variable", q.at))));
    }
    out.push(item(Kind::Changed, "ecs.subnets", "left to fill: ecs.subnets and ecs.security_groups (Kubernetes has no ECS network); `validate` names them".into(), Some("the cluster's node subnets and a security group with outbound access")));
    let urls: Vec<String> = queues.iter().map(|q| format!("`{}`", q.url)).collect();
    out.push(item(Kind::Changed, "production", format!("written as `production.k8s` with the production queue{} {}: `replatform cutover` moves {} to the function in stages, lowering the ScaledObject's maxReplicaCount and at 100% pausing it at zero replicas; `rollback` restores it", if urls.len() == 1 { "" } else { "s" }, urls.join(", "), if urls.len() == 1 { "it" } else { "them" }), Some("add `production.k8s.context` when the kubeconfig's current context is not the production cluster")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKER: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: orders, namespace: shop, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::123456789012:role/orders"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: orders-config, namespace: shop}
data: {LOG_LEVEL: info, BATCH: "10"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      serviceAccountName: orders
      terminationGracePeriodSeconds: 45
      nodeSelector: {kubernetes.io/arch: arm64}
      volumes: [{name: scratch, emptyDir: {}}, {name: logs, hostPath: {path: /var/log}}]
      containers:
        - name: proxy
          image: envoy:1
          ports: [{containerPort: 9901}]
        - name: worker
          image: orders:1
          command: [python]
          args: [app.py]
          resources: {requests: {cpu: 300m, memory: 600Mi}, limits: {memory: 1Gi}}
          envFrom: [{configMapRef: {name: orders-config}}, {secretRef: {name: missing}}]
          env:
            - {name: SQS_QUEUE_URL, value: "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"}
            - {name: AWS_REGION, value: us-east-1}
            - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
            - {name: MODE, valueFrom: {configMapKeyRef: {name: orders-config, key: BATCH}}}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: orders-scaler, namespace: shop}
spec:
  scaleTargetRef: {name: orders}
  minReplicaCount: 1
  maxReplicaCount: 20
  cooldownPeriod: 120
  triggers:
    - type: aws-sqs-queue
      metadata: {queueURLFromEnv: SQS_QUEUE_URL, queueLength: "10", awsRegion: eu-west-1, scaleOnInFlight: "false"}
---
kind: Service
metadata: {name: ignored}
"#;

    #[test]
    fn multi_document_yaml_keeps_the_known_kinds() {
        let objs = parse(WORKER, "w.yaml").unwrap();
        let kinds: Vec<&str> = objs.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["ServiceAccount", "ConfigMap", "Deployment", "ScaledObject"]
        );
        assert!(parse("a: [b", "bad.yaml").unwrap_err().contains("bad.yaml"));
    }

    #[test]
    fn a_list_is_flattened() {
        let list = "apiVersion: v1\nkind: List\nitems:\n  - {kind: Deployment, metadata: {name: a}}\n  - {kind: ConfigMap, metadata: {name: b, namespace: x}}\n";
        let objs = parse(list, "l.yaml").unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(
            (objs[0].namespace.as_str(), objs[0].name.as_str()),
            ("default", "a")
        );
    }

    #[test]
    fn the_worker_is_picked_and_ambiguity_lists_the_candidates() {
        let objs = parse(WORKER, "w.yaml").unwrap();
        let c = pick(&objs, None).unwrap();
        assert_eq!(
            (c.id(), c.scaled_object.as_str()),
            ("shop/orders".into(), "orders-scaler")
        );
        let two = format!("{WORKER}\n---\n{}", WORKER.replace("shop", "other"));
        let objs2 = parse(&two, "w.yaml").unwrap();
        let e = pick(&objs2, None).unwrap_err();
        assert!(
            e.contains("shop/orders") && e.contains("other/orders") && e.contains("--workload"),
            "{e}"
        );
        assert_eq!(
            pick(&objs2, Some("other/orders")).unwrap().namespace,
            "other"
        );
        assert!(pick(&objs2, Some("x/y"))
            .unwrap_err()
            .contains("shop/orders"));
        let none = parse("kind: Deployment\nmetadata: {name: a}\n", "n.yaml").unwrap();
        assert!(pick(&none, None).unwrap_err().contains("`default/a`"));
    }

    #[test]
    fn the_container_env_and_secret_refs_are_read() {
        let objs = parse(WORKER, "w.yaml").unwrap();
        let w = read(&objs, &pick(&objs, None).unwrap()).unwrap();
        let c = &w.containers[0];
        assert_eq!(c.name, "worker", "the container whose env names the queue");
        assert_eq!(c.entry_point, ["python"]);
        assert_eq!(c.command, ["app.py"]);
        let env = |k: &str| {
            c.environment
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(env("LOG_LEVEL"), Some("info"));
        assert_eq!(env("MODE"), Some("10"));
        assert_eq!(env("DB_PASSWORD"), None);
        assert_eq!(
            c.secrets,
            [(
                "DB_PASSWORD".to_string(),
                "/k8s/shop/db/password".to_string()
            )]
        );
        assert_eq!(
            w.role.as_ref().unwrap().0,
            "arn:aws:iam::123456789012:role/orders"
        );
        let cannot: Vec<&str> = w
            .items
            .iter()
            .filter(|i| i.kind == Kind::Cannot)
            .map(|i| i.field.as_str())
            .collect();
        assert!(cannot.contains(&"containers[1] `proxy`"), "{cannot:?}");
        assert!(cannot.contains(&"volumes `logs`"), "{cannot:?}");
        assert!(cannot.contains(&"envFrom `missing`"), "{cannot:?}");
        assert!(!cannot.contains(&"volumes `scratch`"), "{cannot:?}");
        assert!(w.arm64);
        assert_eq!(w.grace_s, Some(45));
        assert_eq!((w.cpu, w.memory), (512, 1024));
    }

    #[test]
    fn keda_fields_and_disagreements() {
        let objs = parse(WORKER, "w.yaml").unwrap();
        let w = read(&objs, &pick(&objs, None).unwrap()).unwrap();
        let k = &w.keda;
        let t = k.first();
        assert_eq!(k.triggers.len(), 1);
        assert_eq!(t.queue_url_from_env.as_deref(), Some("SQS_QUEUE_URL"));
        assert_eq!(
            (t.queue_length, k.min, k.max, k.cooldown_s),
            (10, 1, 20, 120)
        );
        assert!(!t.scale_on_in_flight);
        assert_eq!(t.aws_region.as_deref(), Some("eu-west-1"));
        let d = disagreements(&w);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "environment.AWS_REGION");
        assert_eq!(steps(k), [(1, 1), (20, 2), (80, 8)]);
    }

    #[test]
    fn a_queue_url_that_differs_between_the_environment_and_the_scaled_object_is_said() {
        let other = WORKER
            .replace("queueURLFromEnv: SQS_QUEUE_URL", "queueURL: \"https://sqs.eu-west-1.amazonaws.com/123456789012/other\", queueURLFromEnv: SQS_QUEUE_URL");
        let objs = parse(&other, "w.yaml").unwrap();
        let w = read(&objs, &pick(&objs, None).unwrap()).unwrap();
        let d = disagreements(&w);
        assert!(
            d.iter().any(|i| i.field == "queue"
                && i.what.contains("/other")
                && i.what.contains("/orders")),
            "{d:?}"
        );
        // Without queueURLFromEnv: any variable holding another queue's URL.
        let other = WORKER.replace(
            "queueURLFromEnv: SQS_QUEUE_URL",
            "queueURL: \"https://sqs.eu-west-1.amazonaws.com/123456789012/other\"",
        );
        let objs = parse(&other, "w.yaml").unwrap();
        let c = pick(&objs, None).unwrap();
        let w = read(&objs, &c).unwrap();
        assert_eq!(
            w.containers[0].name, "worker",
            "the container that names a queue"
        );
        let d = disagreements(&w);
        assert!(
            d.iter()
                .any(|i| i.field == "environment.SQS_QUEUE_URL" && i.what.contains("/other")),
            "{d:?}"
        );
    }

    #[test]
    fn another_queue_in_the_environment_is_said() {
        let more = WORKER.replace(
            "            - {name: AWS_REGION, value: us-east-1}",
            "            - {name: AWS_REGION, value: us-east-1}\n            - {name: OUT_QUEUE_URL, value: \"https://sqs.eu-west-1.amazonaws.com/123456789012/shipped\"}",
        );
        let objs = parse(&more, "w.yaml").unwrap();
        let w = read(&objs, &pick(&objs, None).unwrap()).unwrap();
        let d = disagreements(&w);
        assert!(
            d.iter().any(|i| i.field == "environment.OUT_QUEUE_URL"
                && i.kind == Kind::Changed
                && i.what.contains("/shipped")),
            "{d:?}"
        );
        assert!(
            !d.iter().any(|i| i.field == "environment.SQS_QUEUE_URL"),
            "{d:?}"
        );
    }

    #[test]
    fn each_sqs_trigger_is_a_queue_and_an_unscaled_queue_in_the_environment_is_said() {
        let two = WORKER
            .replace(
                "            - {name: AWS_REGION, value: us-east-1}",
                "            - {name: AUDIT_QUEUE_URL, value: \"https://sqs.eu-west-1.amazonaws.com/123456789012/audit\"}\n            - {name: OUT_QUEUE_URL, value: \"https://sqs.eu-west-1.amazonaws.com/123456789012/shipped\"}",
            )
            .replace(
                "scaleOnInFlight: \"false\"}",
                "scaleOnInFlight: \"false\"}\n    - {type: cpu, metadata: {value: \"50\"}}\n    - type: aws-sqs-queue\n      metadata: {queueURLFromEnv: AUDIT_QUEUE_URL, queueLength: \"4\", activationQueueLength: \"3\", awsRegion: eu-west-1}",
            );
        let objs = parse(&two, "w.yaml").unwrap();
        let w = read(&objs, &pick(&objs, None).unwrap()).unwrap();
        let env = &w.containers[0].environment;
        let urls: Vec<String> = w.keda.triggers.iter().filter_map(|t| t.url(env)).collect();
        assert_eq!(
            urls,
            [
                "https://sqs.eu-west-1.amazonaws.com/123456789012/orders",
                "https://sqs.eu-west-1.amazonaws.com/123456789012/audit"
            ]
        );
        // The smallest queueLength and activation threshold stand for both.
        assert_eq!(steps(&w.keda), [(1, 1), (8, 2), (32, 8)]);
        let d = disagreements(&w);
        assert!(
            !d.iter().any(|i| i.field == "environment.AUDIT_QUEUE_URL"),
            "{d:?}"
        );
        let out = d
            .iter()
            .find(|i| i.field == "environment.OUT_QUEUE_URL")
            .expect("the queue KEDA does not scale on is said");
        assert_eq!(out.kind, Kind::Changed);
        assert!(out.what.contains("make no queue of their own"), "{out:?}");
        assert!(
            out.resolve.as_deref().unwrap().contains("consumed: false"),
            "{out:?}"
        );
        let written = [
            Written {
                at: "queues.sqs".into(),
                url: urls[0].clone(),
                named: true,
            },
            Written {
                at: "queues.audit".into(),
                url: urls[1].clone(),
                named: true,
            },
        ];
        let said = items(&w, &written);
        let scale = said
            .iter()
            .find(|i| i.field == "ecs.scaling.scale_out")
            .unwrap();
        assert!(
            scale.what.contains("2 triggers") && scale.what.contains("queueLength 4"),
            "{scale:?}"
        );
        assert!(
            said.iter()
                .any(|i| i.field == "queues" && i.what.contains("`queues.audit`")),
            "{said:?}"
        );
    }

    #[test]
    fn the_grace_period_is_said_for_ecs_and_floors_the_lambda_timeout() {
        // Under ECS's 30 s, and the timeout above it: nothing changes.
        let (t, said) = grace(Some(20), 30, 180, true);
        assert_eq!(t, 30);
        assert!(said.iter().all(|i| i.kind == Kind::Unchanged), "{said:?}");
        // 60 s: the timeout rises to it, and 6 x 60 is over the queue's 120 s.
        let (t, said) = grace(Some(60), 20, 120, true);
        assert_eq!(t, 60);
        assert!(said
            .iter()
            .any(|i| i.field == "terminationGracePeriodSeconds"
                && i.kind == Kind::Changed
                && i.what.contains("no field")));
        let l = said.iter().find(|i| i.field == "lambda.timeout").unwrap();
        assert!(l.what.contains("raised from 20s"), "{l:?}");
        assert!(l.resolve.as_deref().unwrap().contains("360s"), "{l:?}");
        // Never above the queue's visibility timeout, nor 15 minutes.
        assert_eq!(grace(Some(600), 20, 120, true).0, 120);
        assert_eq!(grace(Some(3600), 20, 43_200, true).0, 900);
        let (t, said) = grace(Some(600), 120, 120, false);
        assert_eq!(t, 120);
        assert!(said
            .iter()
            .any(|i| i.field == "lambda.timeout" && i.what.contains("caps it")));
        assert_eq!(grace(None, 20, 120, true), (20, Vec::new()));
    }

    #[test]
    fn static_keys_are_left_out_and_the_identity_is_asked_for() {
        let keys = WORKER
            .replace(
                "metadata: {name: orders, namespace: shop, annotations: {eks.amazonaws.com/role-arn: \"arn:aws:iam::123456789012:role/orders\"}}",
                "metadata: {name: orders, namespace: shop}",
            )
            .replace(
                "            - {name: AWS_REGION, value: us-east-1}",
                "            - {name: AWS_ACCESS_KEY_ID, valueFrom: {secretKeyRef: {name: aws-creds, key: id}}}\n            - {name: AWS_SECRET_ACCESS_KEY, valueFrom: {secretKeyRef: {name: aws-creds, key: secret}}}",
            )
            .replace(
                "awsRegion: eu-west-1, scaleOnInFlight: \"false\"}",
                "awsRegion: eu-west-1, scaleOnInFlight: \"false\"}\n      authenticationRef: {name: keda-keys}",
            )
            + "---\nkind: TriggerAuthentication\nmetadata: {name: keda-keys, namespace: shop}\nspec:\n  secretTargetRef:\n    - {parameter: awsAccessKeyID, name: aws-creds, key: id}\n    - {parameter: awsSecretAccessKey, name: aws-creds, key: secret}\n";
        let objs = parse(&keys, "w.yaml").unwrap();
        let w = read(&objs, &pick(&objs, None).unwrap()).unwrap();
        assert!(w.role.is_none());
        let vars: Vec<&str> = w.containers[0]
            .secrets
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(vars, ["DB_PASSWORD"], "the keys are not secrets to fill");
        assert!(w.secret_refs.iter().all(|(v, _, _)| v == "DB_PASSWORD"));
        let ask = w
            .items
            .iter()
            .find(|i| i.field == "permissions" && i.what.starts_with("no role to read"))
            .expect("the identity is asked for");
        assert!(
            ask.what.contains("AWS_ACCESS_KEY_ID") && ask.resolve.is_some(),
            "{ask:?}"
        );
        assert!(w.items.iter().any(|i| i.field == "permissions"
            && i.what.contains("`keda-keys`")
            && i.what.contains("`aws-creds`")));
    }

    #[test]
    fn resources_round_up_to_a_fargate_pair() {
        assert_eq!(cpu_millis("250m"), Some(250));
        assert_eq!(cpu_millis("1.5"), Some(1500));
        assert_eq!(memory_mib("1Gi"), Some(1024));
        assert_eq!(memory_mib("500M"), Some(477));
        assert_eq!(memory_mib("134217728"), Some(128));
        assert_eq!(fargate_pair(0, 0), (256, 512));
        assert_eq!(fargate_pair(250, 600), (256, 1024));
        assert_eq!(fargate_pair(300, 600), (512, 1024));
        assert_eq!(fargate_pair(1000, 5000), (1024, 5120));
        assert_eq!(fargate_pair(2000, 3000), (2048, 4096));
    }
}

//! What is deployed: a stack's outputs completed from its resources, the platforms the
//! experiment acts on, and each stack as `status` shows it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::workspace::{connect, platform_stacks, stack_names, Workspace};
use super::Only;
use crate::aws::cloudformation::Cfn;
use crate::aws::ecs::ServiceCounts;
use crate::aws::lambda::MappingState;
use crate::aws::sqs::QueueDepth;
use crate::aws::{Aws, AwsError, OrMissing};
use crate::core::config::{Config, Workload};
use crate::error::Failure;
use crate::experiment::compare::{Platform, PlatformQueue};
use crate::ui::printer::Printer;

/// Stack outputs, completed from the stack's resources where an output is missing: the names
/// `status` and the end of `up` show.
pub async fn facts(
    cfn: &Cfn,
    stack: &str,
    outputs: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, AwsError> {
    let mut facts = outputs.clone();
    const FROM_RESOURCES: [(&str, &str); 5] = [
        ("Queue", "QueueUrl"),
        ("DeadLetterQueue", "DeadLetterQueueUrl"),
        ("Cluster", "ClusterName"),
        ("Service", "ServiceName"),
        ("Function", "FunctionName"),
    ];
    if FROM_RESOURCES.iter().any(|(_, o)| !facts.contains_key(*o)) {
        let resources = cfn.resources(stack).await?;
        for (logical, output) in FROM_RESOURCES {
            if let (false, Some(physical)) = (facts.contains_key(output), resources.get(logical)) {
                facts.insert(output.to_string(), physical.clone());
            }
        }
        // Each entry of `queues:` has its queues as `{Id}Queue` and `{Id}DeadLetterQueue`,
        // output as `{Id}QueueUrl` and `{Id}DeadLetterQueueUrl` (stacks/ecs.yaml).
        for (logical, physical) in &resources {
            if logical.ends_with("Queue") {
                facts
                    .entry(format!("{logical}Url"))
                    .or_insert_with(|| physical.clone());
            }
        }
    }
    Ok(facts)
}

/// The deployed platforms, from their stacks; a stack that is not there stops the command
/// before anything is sent.
pub async fn deployed(
    g: &Workspace,
    only: Option<Only>,
    printer: &Printer,
) -> Result<(Config, Aws, Vec<Platform>), Failure> {
    let (config, names) = platform_stacks(g, only)?;
    let aws = connect(g, config.region.as_deref(), printer).await?;
    let cfn = aws.cfn();
    let mut platforms = Vec::new();
    for (kind, name) in names {
        let Some(stack) = cfn.describe_stack(&name).await? else {
            return Err(
                Failure::new(format!("stack `{name}` is not deployed")).hint(format!(
                    "`replatform up{}` deploys it; or leave it out with --only",
                    if only.is_some() {
                        format!(" --only {kind}")
                    } else {
                        String::new()
                    }
                )),
            );
        };
        if !stack.status.updatable() {
            return Err(Failure::new(format!("stack `{name}` is {}", stack.status)).hint("`replatform status` shows why; once `replatform up` has brought it to a deployed state, run this again"));
        }
        let f = facts(&cfn, &name, &stack.outputs).await?;
        let mut queues = Vec::new();
        for e in config.consumed_queues() {
            let (id, dlq) = (e.queue_id(), e.dead_letter_id());
            let Some(queue_url) = f.get(&format!("{id}Url")).cloned() else {
                return Err(Failure::new(format!(
                    "stack `{name}` has no queue `{}` (no `{id}Url` output nor `{id}` resource)",
                    e.label()
                ))
                .hint(format!("a custom template must keep the {id} resource or output its URL as {id}Url; `replatform up` deploys the config's queues")));
            };
            queues.push(PlatformQueue {
                name: e.label().to_string(),
                queue_url,
                dead_letter_queue_url: f.get(&format!("{dlq}Url")).cloned(),
            });
        }
        let Some(first) = queues.first().cloned() else {
            return Err(Failure::new(
                "the config names no consumed queue: there is nothing to send to or sample",
            )
            .hint("set `consumed: true` on at least one entry of `queues:`"));
        };
        if queues.len() == 1 {
            queues.clear();
        }
        platforms.push(Platform {
            platform: kind,
            stack: name,
            queue_url: first.queue_url,
            dead_letter_queue_url: first.dead_letter_queue_url,
            queues,
            cluster: f
                .get("ClusterName")
                .or(config.ecs.cluster.as_ref())
                .cloned(),
            service: f.get("ServiceName").cloned(),
            function: f.get("FunctionName").cloned(),
        });
    }
    Ok((config, aws, platforms))
}

#[derive(Serialize)]
pub struct StackStatusReport {
    pub name: String,
    pub kind: String,
    /// `null` when the stack is not deployed.
    pub status: Option<String>,
    pub reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub queue: Option<QueueReport>,
    pub dead_letter_queue: Option<QueueReport>,
    pub service: Option<ServiceCounts>,
    pub function: Option<FunctionReport>,
    /// The image the platform runs (the task definition's, the function's).
    pub image: Option<String>,
    /// With several queues (`queues:` in docs/config.md), each of them; `queue` and
    /// `dead_letter_queue` are then absent. Not written for one queue.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<NamedQueueReport>,
}

#[derive(Serialize)]
pub struct QueueReport {
    pub url: String,
    pub depth: Option<QueueDepth>,
}

/// One queue of a worker of several, with its dead-letter queue.
#[derive(Serialize)]
pub struct NamedQueueReport {
    /// The key under `queues:`.
    pub name: String,
    /// `false` for a queue the worker only sends to.
    pub consumed: bool,
    pub url: String,
    pub depth: Option<QueueDepth>,
    pub dead_letter_queue: Option<QueueReport>,
}

#[derive(Serialize)]
pub struct FunctionReport {
    pub name: String,
    pub reserved_concurrency: Option<i32>,
}

/// One stack as `status` shows it: its status and outputs, its queues' depths, the service's
/// task counts, the function, and the image each runs.
pub async fn stack_status(
    aws: &Aws,
    cfn: &Cfn,
    config: &Config,
    kind: &str,
    name: &str,
) -> Result<StackStatusReport, AwsError> {
    let mut r = StackStatusReport {
        name: name.into(),
        kind: kind.into(),
        status: None,
        reason: None,
        outputs: BTreeMap::new(),
        queue: None,
        dead_letter_queue: None,
        service: None,
        function: None,
        image: None,
        queues: Vec::new(),
    };
    let Some(stack) = cfn.describe_stack(name).await? else {
        return Ok(r);
    };
    r.status = Some(stack.status.to_string());
    r.reason = stack.reason.clone();
    let facts = facts(cfn, name, &stack.outputs).await?;
    for (key, slot) in [
        ("QueueUrl", &mut r.queue),
        ("DeadLetterQueueUrl", &mut r.dead_letter_queue),
    ] {
        if let Some(url) = facts.get(key) {
            *slot = Some(QueueReport {
                url: url.clone(),
                depth: aws.sqs().queue(url).await?.map(|q| q.depth),
            });
        }
    }
    for e in config.queues().iter().filter(|e| e.key.is_some()) {
        let Some(url) = facts.get(&format!("{}Url", e.queue_id())) else {
            continue;
        };
        let dead_letter_queue = match facts.get(&format!("{}Url", e.dead_letter_id())) {
            Some(d) => Some(QueueReport {
                url: d.clone(),
                depth: aws.sqs().queue(d).await?.map(|q| q.depth),
            }),
            None => None,
        };
        r.queues.push(NamedQueueReport {
            name: e.label().to_string(),
            consumed: e.queue.consumed,
            url: url.clone(),
            depth: aws.sqs().queue(url).await?.map(|q| q.depth),
            dead_letter_queue,
        });
    }
    if let (Some(cluster), Some(service)) = (
        facts.get("ClusterName").or(config.ecs.cluster.as_ref()),
        facts.get("ServiceName"),
    ) {
        let ecs = aws.ecs();
        let found = ecs.service(cluster, service).await?;
        // What the image was is worth showing, not worth failing `status` for.
        if let Some(s) = &found {
            r.image = ecs
                .task_definition(&s.task_definition)
                .await
                .ok()
                .and_then(|t| t.containers.into_iter().next())
                .map(|c| c.image);
        }
        r.service = found.map(|s| s.counts);
    }
    if let Some(function) = facts.get("FunctionName") {
        r.function = Some(FunctionReport {
            name: function.clone(),
            reserved_concurrency: aws.lambda().reserved_concurrency(function).await?,
        });
        r.image = aws.lambda().function_image(function).await.ok().flatten();
    }
    r.outputs = facts;
    Ok(r)
}

/// `status`: every stack the config names, as it stands, whether the two platforms run
/// different images, and who consumes the production queue now.
#[derive(Serialize)]
pub struct Status {
    pub stacks: Vec<StackStatusReport>,
    pub images_differ: bool,
    /// With a `production:` section.
    pub production: Option<ProductionReport>,
}

/// The service that runs today and its queue: who consumes it, as AWS says now.
#[derive(Serialize)]
pub struct ProductionReport {
    /// `CLUSTER/SERVICE`, for a service on ECS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecs_service: Option<String>,
    /// The workload on Kubernetes, instead of `ecs_service`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s: Option<crate::core::config::K8sWorkload>,
    /// Why the workload on Kubernetes could not be read (its counts and record are then `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
    pub queue: QueueReport,
    /// The production service's task counts; `null` when the service is not found.
    pub service: Option<ServiceCounts>,
    /// The function's event source mapping on the production queue (`up` makes it disabled;
    /// `cutover` enables it); `null` when there is none.
    pub mapping: Option<ProductionMapping>,
    /// `ecs`, `lambda`, `both` or `none`: who takes messages from the production queue.
    pub consumers: Consumers,
    /// The cutover recorded on the service: the stage applied last and the bounds `rollback`
    /// restores; `null` when none is under way.
    pub cutover: Option<crate::core::cutover::Recorded>,
    /// With several consumed queues, each production queue and the function's mapping on it
    /// (`queue` and `mapping` are the first's, and `consumers` counts every mapping). Not
    /// written for one queue.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<ProductionQueueReport>,
}

/// One production queue of a worker of several, and the function's mapping on it.
#[derive(Serialize)]
pub struct ProductionQueueReport {
    /// The key under `queues:` (and `production.queues:`).
    pub name: String,
    pub url: String,
    pub depth: Option<QueueDepth>,
    pub mapping: Option<ProductionMapping>,
}

impl ProductionReport {
    /// The workload, as a person calls it: `prod/orders`, `deployment shop/orders-worker`.
    pub fn workload(&self) -> String {
        match (&self.ecs_service, &self.k8s) {
            (_, Some(k)) => format!("deployment {}/{}", k.namespace, k.deployment),
            (Some(s), None) => s.clone(),
            (None, None) => String::new(),
        }
    }

    /// Who consumes the production queue, in words (`status`, `diff`).
    pub fn consumed_by(&self) -> String {
        let (it, runs) = if self.k8s.is_some() {
            ("the Kubernetes deployment", "runs no replica")
        } else {
            ("the ECS service", "runs no task")
        };
        match self.consumers {
            Consumers::Ecs => format!("{it} (the function's mapping is not enabled)"),
            Consumers::Lambda => format!("the function ({it} {runs})"),
            Consumers::Both => format!("{it} and the function"),
            Consumers::Nobody if self.unread.is_some() => format!(
                "not known: {it} could not be read, and the function's mapping is not enabled"
            ),
            Consumers::Nobody if self.service.is_none() => {
                format!("nobody: {it} is not found and the function's mapping is not enabled")
            }
            Consumers::Nobody => {
                format!("nobody: {it} {runs} and the function's mapping is not enabled")
            }
        }
    }
}

#[derive(Clone, Serialize)]
pub struct ProductionMapping {
    pub state: MappingState,
    pub maximum_concurrency: Option<u32>,
}

/// Who takes messages from the production queue: one platform, both, or nobody. Written `ecs`,
/// `lambda`, `both`, `none` (`status --output json`, `diff --output json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Consumers {
    Ecs,
    Lambda,
    Both,
    #[serde(rename = "none")]
    Nobody,
}

/// Who consumes the queue: the service while it may run tasks, the function while its mapping is
/// enabled or being enabled (Lambda's mapping states: Enabled, Enabling, Disabling, Disabled...).
fn consumers(service: Option<&ServiceCounts>, mapping: Option<&ProductionMapping>) -> Consumers {
    let ecs = service.is_some_and(|s| s.desired > 0 || s.running > 0);
    let lambda = mapping.is_some_and(|m| m.state.consuming());
    match (ecs, lambda) {
        (true, true) => Consumers::Both,
        (true, false) => Consumers::Ecs,
        (false, true) => Consumers::Lambda,
        (false, false) => Consumers::Nobody,
    }
}

/// The production section as AWS shows it now: the queue's depth, the service's counts, and
/// the function's mapping on that queue (matched by the queue's region, account and name, so
/// in any partition).
pub async fn production_status(
    aws: &Aws,
    config: &Config,
    function: Option<&str>,
) -> Result<Option<ProductionReport>, AwsError> {
    let Some(p) = &config.production else {
        return Ok(None);
    };
    let mut queues = Vec::new();
    let matchable = config.consumed_queues().iter().any(|e| {
        config
            .production_queue(e)
            .and_then(crate::core::config::queue_url)
            .is_some()
    });
    let mappings = match function {
        Some(function) if matchable => aws.lambda().mappings(function, None).await?,
        _ => Vec::new(),
    };
    for e in config.consumed_queues() {
        let url = config.production_queue(&e).unwrap_or_default().to_string();
        let depth = aws.sqs().queue(&url).await?.map(|q| q.depth);
        // Matched by the queue's region, account and name, so in any partition.
        let mapping = crate::core::config::queue_url(&url).and_then(|(region, account, name)| {
            let tail = format!(":sqs:{region}:{account}:{name}");
            mappings
                .iter()
                .find(|t| t.source.ends_with(&tail))
                .map(|t| ProductionMapping {
                    state: t.state.clone(),
                    maximum_concurrency: t.maximum_concurrency,
                })
        });
        queues.push(ProductionQueueReport {
            name: e.label().to_string(),
            url,
            depth,
            mapping,
        });
    }
    let (mut service, mut cutover, mut unread) = (None, None, None);
    match p.workload() {
        Some(Workload::K8s(k)) => match super::keda::status(k).await {
            Ok((counts, record)) => (service, cutover) = (counts, record),
            Err(e) => unread = Some(e.to_string()),
        },
        Some(Workload::Ecs {
            cluster,
            service: name,
        }) => {
            // The counts, and where a cutover stands from its record on the service, in
            // one answer; a record that does not parse is `cutover`'s to report.
            let found = aws
                .ecs()
                .service(cluster, name)
                .await
                .or_none_if(AwsError::is_missing_cluster)?
                .flatten()
                .filter(|s| s.active);
            if let Some(s) = found {
                cutover = s
                    .tags
                    .get(crate::core::cutover::STATE_TAG)
                    .and_then(|t| crate::core::cutover::Recorded::parse(t).ok());
                service = Some(s.counts);
            }
        }
        None => {}
    }
    // The function consumes production while any of its mappings does.
    let consuming = queues
        .iter()
        .filter_map(|q| q.mapping.as_ref())
        .find(|m| m.state.consuming())
        .or_else(|| queues.iter().find_map(|q| q.mapping.as_ref()));
    let consumers = consumers(service.as_ref(), consuming);
    let first = if queues.is_empty() {
        None
    } else {
        Some(queues.remove(0))
    };
    let (queue, mapping) = match first {
        Some(q) => {
            let rest = std::mem::take(&mut queues);
            if !rest.is_empty() {
                queues.push(ProductionQueueReport {
                    name: q.name.clone(),
                    url: q.url.clone(),
                    depth: q.depth.clone(),
                    mapping: q.mapping.clone(),
                });
                queues.extend(rest);
            }
            (
                QueueReport {
                    url: q.url,
                    depth: q.depth,
                },
                q.mapping,
            )
        }
        None => (
            QueueReport {
                url: String::new(),
                depth: None,
            },
            None,
        ),
    };
    Ok(Some(ProductionReport {
        ecs_service: p.ecs_service.clone(),
        k8s: p.k8s.clone(),
        unread,
        queue,
        service,
        mapping,
        consumers,
        cutover,
        queues,
    }))
}

pub async fn status(
    ws: &Workspace,
    only: Option<Only>,
    printer: &Printer,
) -> Result<Status, Failure> {
    status_of(ws, only, None, printer).await
}

/// `status --queue NAME`: [`status`] with only that queue in each `queues` list (for a worker of
/// several); a name that is not one of the worker's queues is refused before any AWS call.
pub async fn status_of(
    ws: &Workspace,
    only: Option<Only>,
    queue: Option<&str>,
    printer: &Printer,
) -> Result<Status, Failure> {
    let (config, names) = stack_names(ws, only)?;
    if let Some(name) = queue {
        config.queue_named(name).map_err(|e| {
            Failure::new(e)
                .hint("name one of the keys under `queues:` (or `queue` for the one queue)")
        })?;
    }
    let aws = connect(ws, config.region.as_deref(), printer).await?;
    let cfn = aws.cfn();
    let stacks = futures::future::join_all(
        names
            .iter()
            .map(|(kind, name)| stack_status(&aws, &cfn, &config, kind, name)),
    )
    .await;
    let stacks: Vec<StackStatusReport> = stacks.into_iter().collect::<Result<_, AwsError>>()?;
    let digests: Vec<&str> = stacks
        .iter()
        .filter_map(|r| r.image.as_deref())
        .map(|i| i.rsplit_once('@').map_or(i, |(_, d)| d))
        .collect();
    let images_differ = digests.len() > 1 && digests.windows(2).any(|w| w[0] != w[1]);
    let function = stacks
        .iter()
        .find_map(|r| r.function.as_ref())
        .map(|f| f.name.as_str());
    let mut production = production_status(&aws, &config, function).await?;
    let mut stacks = stacks;
    if let Some(name) = queue {
        for r in &mut stacks {
            r.queues.retain(|q| q.name == name);
        }
        if let Some(p) = &mut production {
            p.queues.retain(|q| q.name == name);
        }
    }
    Ok(Status {
        stacks,
        images_differ,
        production,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_consumes_the_production_queue() {
        let tasks = |desired, running| {
            Some(ServiceCounts {
                desired,
                running,
                pending: 0,
            })
        };
        let mapping = |state: &str| {
            Some(ProductionMapping {
                state: MappingState::parse(state),
                maximum_concurrency: None,
            })
        };
        assert_eq!(
            consumers(tasks(2, 2).as_ref(), mapping("Disabled").as_ref()),
            Consumers::Ecs
        );
        assert_eq!(
            consumers(tasks(0, 1).as_ref(), None),
            Consumers::Ecs,
            "a task still finishing its batch consumes"
        );
        assert_eq!(
            consumers(tasks(1, 1).as_ref(), mapping("Enabled").as_ref()),
            Consumers::Both
        );
        assert_eq!(
            consumers(tasks(0, 0).as_ref(), mapping("Enabling").as_ref()),
            Consumers::Lambda
        );
        assert_eq!(
            consumers(None, mapping("Disabled").as_ref()),
            Consumers::Nobody
        );
        assert_eq!(consumers(tasks(0, 0).as_ref(), None), Consumers::Nobody);
    }

    #[test]
    fn consumers_are_written_as_before() {
        let words: Vec<String> = [
            Consumers::Ecs,
            Consumers::Lambda,
            Consumers::Both,
            Consumers::Nobody,
        ]
        .iter()
        .map(|c| serde_json::to_string(c).unwrap())
        .collect();
        assert_eq!(words, [r#""ecs""#, r#""lambda""#, r#""both""#, r#""none""#]);
    }
}

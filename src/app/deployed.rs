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
use crate::core::config::Config;
use crate::error::Failure;
use crate::experiment::compare::Platform;
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
        let Some(queue_url) = f.get("QueueUrl").cloned() else {
            return Err(Failure::new(format!(
                "stack `{name}` has no queue (no `QueueUrl` output nor `Queue` resource)"
            ))
            .hint("a custom template must keep the Queue resource or output its URL as QueueUrl"));
        };
        platforms.push(Platform {
            platform: kind,
            stack: name,
            queue_url,
            dead_letter_queue_url: f.get("DeadLetterQueueUrl").cloned(),
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
}

#[derive(Serialize)]
pub struct QueueReport {
    pub url: String,
    pub depth: Option<QueueDepth>,
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
    pub ecs_service: String,
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
}

impl ProductionReport {
    /// Who consumes the production queue, in words (`status`, `diff`).
    pub fn consumed_by(&self) -> String {
        match self.consumers {
            Consumers::Ecs => "the ECS service (the function's mapping is not enabled)".to_string(),
            Consumers::Lambda => "the function (the ECS service runs no task)".to_string(),
            Consumers::Both => "the ECS service and the function".to_string(),
            Consumers::Nobody if self.service.is_none() => {
                "nobody: the service is not found and the function's mapping is not enabled"
                    .to_string()
            }
            Consumers::Nobody => {
                "nobody: the service runs no task and the function's mapping is not enabled"
                    .to_string()
            }
        }
    }
}

#[derive(Serialize)]
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
    let queue = config
        .consumed_queues()
        .first()
        .and_then(|e| config.production_queue(e))
        .unwrap_or_default()
        .to_string();
    let depth = aws.sqs().queue(&queue).await?.map(|q| q.depth);
    let (mut service, mut cutover) = (None, None);
    if let Some((cluster, name)) = p.ecs_service.split_once('/') {
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
    let mut mapping = None;
    if let (Some(function), Some((region, account, name))) =
        (function, crate::core::config::queue_url(&queue))
    {
        let tail = format!(":sqs:{region}:{account}:{name}");
        mapping = aws
            .lambda()
            .mappings(function, None)
            .await?
            .into_iter()
            .find(|t| t.source.ends_with(&tail))
            .map(|t| ProductionMapping {
                state: t.state,
                maximum_concurrency: t.maximum_concurrency,
            });
    }
    let consumers = consumers(service.as_ref(), mapping.as_ref());
    Ok(Some(ProductionReport {
        ecs_service: p.ecs_service.clone(),
        queue: QueueReport {
            url: queue.clone(),
            depth,
        },
        service,
        mapping,
        consumers,
        cutover,
    }))
}

pub async fn status(
    ws: &Workspace,
    only: Option<Only>,
    printer: &Printer,
) -> Result<Status, Failure> {
    let (config, names) = stack_names(ws, only)?;
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
    let production = production_status(&aws, &config, function).await?;
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

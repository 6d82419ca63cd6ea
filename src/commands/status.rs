//! `replatform status`: each stack's status and outputs, its queues' depths, the ECS service's
//! task counts and the function's reserved concurrency.

use std::collections::BTreeMap;
use std::process::ExitCode;

use futures::future::join_all;
use serde::Serialize;

use super::{connect, facts, Failure, Global, Outcome};
use crate::aws::cfn::Cfn;
use crate::aws::services::{QueueDepth, ServiceCounts, Services};
use crate::aws::AwsError;
use crate::cli::StatusArgs;
use crate::core::config::Config;
use crate::ui::printer::Printer;
use crate::ui::tables;

#[derive(Serialize)]
struct StackStatusReport {
    name: String,
    kind: String,
    /// `null` when the stack is not deployed.
    status: Option<String>,
    reason: Option<String>,
    outputs: BTreeMap<String, String>,
    queue: Option<QueueReport>,
    dead_letter_queue: Option<QueueReport>,
    service: Option<ServiceCounts>,
    function: Option<FunctionReport>,
    /// The image the platform runs (the task definition's, the function's).
    image: Option<String>,
}

#[derive(Serialize)]
struct QueueReport {
    url: String,
    depth: Option<QueueDepth>,
}

#[derive(Serialize)]
struct FunctionReport {
    name: String,
    reserved_concurrency: Option<i32>,
}

pub async fn run(args: StatusArgs, g: &Global, printer: &Printer) -> Outcome {
    let StatusArgs { only } = args;
    let (config, names) = super::stack_names(g, only)?;
    let aws = connect(g, config.region.as_deref(), printer).await?;
    let cfn = aws.cfn();
    let services = aws.services();
    let reports = join_all(names.iter().map(|(kind, name)| one(&cfn, &services, &config, kind, name))).await;
    let reports: Vec<StackStatusReport> = reports.into_iter().collect::<Result<_, AwsError>>()?;

    let digests: Vec<&str> = reports.iter().filter_map(|r| r.image.as_deref()).map(|i| i.rsplit_once('@').map_or(i, |(_, d)| d)).collect();
    let differ = digests.len() > 1 && digests.windows(2).any(|w| w[0] != w[1]);
    if printer.is_json() {
        #[derive(Serialize)]
        struct Doc<'a> {
            stacks: &'a [StackStatusReport],
            images_differ: bool,
        }
        printer.json(&Doc { stacks: &reports, images_differ: differ }).map_err(Failure::output)?;
        return Ok(ExitCode::SUCCESS);
    }
    for r in &reports {
        let Some(status) = &r.status else {
            printer.data(format!("{}: not deployed", r.name)).map_err(Failure::output)?;
            continue;
        };
        let mut rows: Vec<(&str, String)> = vec![("status", status.clone())];
        if let Some(reason) = &r.reason {
            rows.push(("reason", reason.clone()));
        }
        for (label, q) in [("queue", &r.queue), ("dead-letter queue", &r.dead_letter_queue)] {
            if let Some(q) = q {
                let depth = q.depth.as_ref().map_or("gone".to_string(), |d| format!("{} visible, {} in flight, {} delayed", d.visible, d.in_flight, d.delayed));
                rows.push((label, format!("{} ({depth})", q.url)));
            }
        }
        if let Some(s) = &r.service {
            rows.push(("tasks", format!("{} desired, {} running, {} pending", s.desired, s.running, s.pending)));
        }
        if let Some(f) = &r.function {
            rows.push(("function", format!("{} (reserved concurrency: {})", f.name, f.reserved_concurrency.map_or("none".into(), |c| c.to_string()))));
        }
        if let Some(image) = &r.image {
            rows.push(("image", image.clone()));
        }
        for (k, v) in r.outputs.iter().filter(|(k, _)| !matches!(k.as_str(), "QueueUrl" | "DeadLetterQueueUrl" | "FunctionName")) {
            rows.push((k.as_str(), v.clone()));
        }
        printer.data(format!("{}\n{}", r.name, tables::indent(&tables::pairs(["", ""], rows).lines().skip(1).collect::<Vec<_>>().join("\n")))).map_err(Failure::output)?;
    }
    if differ {
        printer.warning("the two platforms run different images: `replatform up` deploys the same digest to both");
    }
    Ok(ExitCode::SUCCESS)
}

async fn one(cfn: &Cfn, services: &Services, config: &Config, kind: &str, name: &str) -> Result<StackStatusReport, AwsError> {
    let mut r = StackStatusReport { name: name.into(), kind: kind.into(), status: None, reason: None, outputs: BTreeMap::new(), queue: None, dead_letter_queue: None, service: None, function: None, image: None };
    let Some(stack) = cfn.describe_stack(name).await? else { return Ok(r) };
    r.status = Some(stack.status.to_string());
    r.reason = stack.reason.clone();
    let facts = facts(cfn, name, &stack.outputs).await?;
    for (key, slot) in [("QueueUrl", &mut r.queue), ("DeadLetterQueueUrl", &mut r.dead_letter_queue)] {
        if let Some(url) = facts.get(key) {
            *slot = Some(QueueReport { url: url.clone(), depth: services.queue_depth(url).await? });
        }
    }
    if let (Some(cluster), Some(service)) = (facts.get("ClusterName").or(config.ecs.cluster.as_ref()), facts.get("ServiceName")) {
        r.service = services.service_counts(cluster, service).await?;
        // What the image was is worth showing, not worth failing `status` for.
        r.image = services.service_image(cluster, service).await.ok().flatten();
    }
    if let Some(function) = facts.get("FunctionName") {
        r.function = Some(FunctionReport { name: function.clone(), reserved_concurrency: services.reserved_concurrency(function).await? });
        r.image = services.function_image(function).await.ok().flatten();
    }
    r.outputs = facts;
    Ok(r)
}

//! `replatform init --from-ecs CLUSTER/SERVICE`: reads the running ECS worker (its
//! service, task definition, roles' policies, scaling and queue), the build context's code as
//! plain `init` does, and writes the `replatform.yaml` that `core::adopt` makes of them, with the
//! readiness report. Refuses to replace a file without `force` before any AWS call. Never reads a
//! secret's value: secrets stay ARNs. Not pure: calls AWS, reads and writes files.

use std::path::PathBuf;

use crate::app::init::{folder_of, read_facts, refuse_existing, write_config};
use crate::app::workspace::{connect, Workspace};
use crate::aws::autoscaling::AutoScaling;
use crate::aws::cloudwatch::CloudWatch;
use crate::aws::iam::{role_name, Iam};
use crate::aws::{Aws, AwsError};
use crate::core::adopt::{
    self, Candidate, Finding, How, Policy, Queue, Report, RolePolicies, Running, Scaling, Service,
    TaskDefinition,
};
use crate::core::config::Platform;
use crate::error::Failure;
use crate::ui::printer::Printer;

/// What `init --from-ecs` did: the report, and the files written.
#[derive(Debug, serde::Serialize)]
pub struct Adopted {
    pub file: PathBuf,
    pub written: Vec<PathBuf>,
    pub report: Report,
}

/// `CLUSTER/SERVICE` split; a usage error with a hint for anything else.
pub fn parse_target(s: &str) -> Result<(String, String), String> {
    let ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 255
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match s.split_once('/') {
        Some((c, v)) if ok(c) && ok(v) => Ok((c.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not CLUSTER/SERVICE: give the ECS cluster's and the service's names (letters, digits, `-` and `_`), e.g. `--from-ecs prod/worker`")),
    }
}

/// `replatform init --from-ecs`: the running service in, `replatform.yaml` out.
pub async fn adopt(
    ws: &Workspace,
    cluster: &str,
    name: &str,
    force: bool,
    printer: &Printer,
) -> Result<Adopted, Failure> {
    refuse_existing(&ws.file, force)?;
    let dir = folder_of(&ws.file);
    let aws = connect(ws, None, printer).await?;
    let running = read_running(&aws, cluster, name).await?;
    let platform = if running.task.architecture.as_deref() == Some("ARM64") {
        Platform::Arm64
    } else {
        Platform::Amd64
    };
    // The code facts are optional: the report then says what the handler would need.
    let facts = read_facts(&dir, platform).ok();
    let (text, report) = adopt::translate(&running, facts.as_ref());
    let written = write_config(&ws.file, &dir, &text)?;
    Ok(Adopted {
        file: ws.file.clone(),
        written,
        report,
    })
}

/// Everything `init --from-ecs` reads of the running service `cluster/name`: the service, its
/// task definition, queues, roles' policies, scaling and secrets' ARNs (`assess` reads the same).
pub(crate) async fn read_running(aws: &Aws, cluster: &str, name: &str) -> Result<Running, Failure> {
    let (ecs, iam) = (aws.ecs(), aws.iam());
    let Some(found) = ecs.service(cluster, name).await?.filter(|s| s.active) else {
        return Err(Failure::new(format!("no ECS service `{name}` in cluster `{cluster}` (region {})", aws.region())).hint("check the names with `aws ecs list-services --cluster CLUSTER`, and the region (--region or AWS_REGION)"));
    };
    let service = Service {
        cluster: cluster.to_string(),
        name: name.to_string(),
        task_definition: found.task_definition,
        subnets: found.subnets,
        security_groups: found.security_groups,
        assign_public_ip: found.assign_public_ip,
        desired: found.counts.desired,
    };
    let task = ecs.task_definition(&service.task_definition).await?;
    let (queues, worker) = find_queues(aws, &task).await?;
    let task_role = match &task.task_role {
        Some(arn) => Some(role_policies(&iam, arn).await?),
        None => None,
    };
    let execution_role = match &task.execution_role {
        Some(arn) => Some(role_policies(&iam, arn).await?),
        None => None,
    };
    let scaling = scaling(&aws.autoscaling(), &aws.cloudwatch(), cluster, name).await?;
    // Parameter Store's references to Secrets Manager secrets, resolved to the secret's ARN by
    // `DescribeSecret` (metadata only: no value is read). A refusal is said in the report.
    let sm = aws.secretsmanager();
    let mut secret_arns = Vec::new();
    for (var, from) in &task.containers[worker].secrets {
        if let Some(secret) = from.strip_prefix("/aws/reference/secretsmanager/") {
            let arn = match sm.arn(secret).await {
                Ok(Some(arn)) => Ok(arn),
                Ok(None) => Err("Secrets Manager has no such secret".to_string()),
                Err(e) => Err(e.to_string()),
            };
            secret_arns.push((var.clone(), arn));
        }
    }
    Ok(Running {
        service,
        task,
        task_role,
        execution_role,
        scaling,
        queues,
        worker,
        secret_arns,
    })
}

/// How the error of a task definition with no queue starts: `assess --cluster` passes over
/// such a service (it is no SQS worker).
pub(crate) const NO_QUEUE: &str = "no container of task definition";

/// Whether a secret's `valueFrom` is a Parameter Store parameter (its ARN, or its name), as
/// opposed to a Secrets Manager secret (Amazon ECS Developer Guide, "Pass sensitive data to an
/// Amazon ECS container").
fn is_parameter(value_from: &str) -> bool {
    if value_from.starts_with("/aws/reference/") {
        return false;
    }
    !value_from.starts_with("arn:") || value_from.split(':').nth(2) == Some("ssm")
}

/// The worker's queues and the worker container: in each container's environment and in its
/// `secrets` that are SSM `String` parameters (never a `SecureString`, never Secrets Manager),
/// every value that is a queue URL, ARN, the name of a queue that exists, or a JSON object of
/// queue URLs. The worker is the container that names the most; its queues are grouped by queue,
/// each with every variable that names it.
async fn find_queues(aws: &Aws, task: &TaskDefinition) -> Result<(Vec<Queue>, usize), Failure> {
    let (sqs, ssm) = (aws.sqs(), aws.ssm());
    let mut best: Option<(usize, Vec<(Finding, String)>)> = None;
    for (k, c) in task.containers.iter().enumerate() {
        let mut values: Vec<(String, String, Option<String>)> = c
            .environment
            .iter()
            .map(|(n, v)| (n.clone(), v.clone(), None))
            .collect();
        for (n, from) in &c.secrets {
            if !is_parameter(from) {
                continue;
            }
            let pname = crate::aws::ssm::parameter_name(from);
            if ssm.parameter_type(&pname).await?.as_deref() != Some("String") {
                continue;
            }
            if let Some(v) = ssm.string_value(&pname).await? {
                values.push((n.clone(), v, Some(from.clone())));
            }
        }
        let mut found: Vec<(Finding, String)> = Vec::new();
        for (var, value, parameter) in values {
            let finding = |how| Finding {
                var: var.clone(),
                how,
                parameter: parameter.clone(),
            };
            match adopt::candidate(&value) {
                Some(Candidate::Url(u)) => found.push((finding(How::Url), u)),
                Some(Candidate::Arn(a)) => match sqs.queue_url_of(&a).await? {
                    Some(u) => found.push((finding(How::Arn), u)),
                    None => return Err(Failure::new(format!("the queue `{a}` that container `{}` names (its `{var}`) does not exist", c.name)).hint("check the task definition's queue ARN and the region (--region or AWS_REGION)")),
                },
                // A name is looked up only in a variable named for a queue (`QUEUE_NAME`,
                // `ORDERS_QUEUE`, `SQS_NAME`): any word could be a queue name.
                Some(Candidate::Name(n))
                    if ["QUEUE", "SQS"]
                        .iter()
                        .any(|w| var.to_ascii_uppercase().contains(w)) =>
                {
                    let arn = adopt::queue_arn_in_task_account(&n, &task.arn);
                    if let Some(u) = sqs.queue_url_of(&arn).await? {
                        found.push((finding(How::Name), u));
                    }
                }
                Some(Candidate::Json(urls)) => {
                    for (key, u) in urls {
                        found.push((finding(How::Json(key)), u));
                    }
                }
                Some(Candidate::Name(_)) | None => {}
            }
        }
        if !found.is_empty() && best.as_ref().is_none_or(|(_, b)| found.len() > b.len()) {
            best = Some((k, found));
        }
    }
    let Some((worker, found)) = best else {
        return Err(Failure::new(format!("{NO_QUEUE} `{}` has an environment variable or SSM String parameter holding an SQS queue URL, name or ARN", task.arn)).hint("the worker must get its queue from an environment variable (e.g. SQS_QUEUE_URL=https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, or a queue's name or ARN); for another worker start from plain `replatform init`"));
    };
    // One queue per account and name, whatever the URL's form.
    let mut queues: Vec<Queue> = Vec::new();
    for (finding, url) in found {
        let id = |u: &str| {
            let mut p = u.rsplit('/');
            (p.next().map(str::to_string), p.next().map(str::to_string))
        };
        if let Some(q) = queues.iter_mut().find(|q| id(&q.url) == id(&url)) {
            if !q.found.contains(&finding) {
                q.found.push(finding);
            }
            continue;
        }
        let Some(q) = aws.sqs().queue(&url).await? else {
            return Err(Failure::new(format!(
                "the queue `{url}` that `{}` reads (its `{}`) does not exist",
                task.containers[worker].name, finding.var
            ))
            .hint(
                "check the task definition's queue URL and the region (--region or AWS_REGION)",
            ));
        };
        queues.push(Queue {
            redrive: q.redrive()?,
            arn: q.arn,
            url: q.url,
            visibility_timeout_s: q.visibility_timeout_s,
            retention_s: q.retention_s,
            fifo: q.fifo,
            found: vec![finding],
        });
    }
    Ok((queues, worker))
}

/// A role's attached managed policies and its inline policies' documents.
pub(crate) async fn role_policies(iam: &Iam, arn: &str) -> Result<RolePolicies, AwsError> {
    let name = role_name(arn);
    let managed = iam.attached_policies(name).await?;
    let mut inline = Vec::new();
    for policy in iam.inline_policy_names(name).await? {
        let doc = iam.inline_policy(name, &policy).await?;
        inline.push((policy, doc));
    }
    Ok(RolePolicies {
        role: arn.to_string(),
        managed,
        inline,
    })
}

/// The service's scalable target, its policies and their alarms; empty when the service has no
/// scalable target. Alarms that cannot be read leave the policies without their thresholds, and
/// the report says why.
async fn scaling(
    autoscaling: &AutoScaling,
    cloudwatch: &CloudWatch,
    cluster: &str,
    service: &str,
) -> Result<Scaling, AwsError> {
    let mut scaling = Scaling::default();
    let Some(target) = autoscaling.target(cluster, service).await? else {
        return Ok(scaling);
    };
    (scaling.min, scaling.max) = (Some(target.min), Some(target.max));
    scaling.policies = autoscaling.policies(cluster, service).await?;
    let names: Vec<String> = scaling
        .policies
        .iter()
        .flat_map(|p| match p {
            Policy::Step { alarms, .. } => alarms.clone(),
            _ => Vec::new(),
        })
        .collect();
    let read = if names.is_empty() {
        Ok(Vec::new())
    } else {
        cloudwatch.alarms(&names, None).await
    };
    match read {
        Ok(a) => scaling.alarms = a,
        Err(e) => scaling.alarms_unread = Some(e.to_string()),
    }
    // A step policy that lists no alarm (moto leaves `Alarms` empty; an alarm made after the
    // policy is not listed either): the alarms that name the policy's ARN among their actions.
    for p in &mut scaling.policies {
        if let Policy::Step { arn, alarms, .. } = p {
            if !alarms.is_empty() || arn.is_empty() || scaling.alarms_unread.is_some() {
                continue;
            }
            match cloudwatch.alarms(&[], Some(arn)).await {
                Ok(found) => {
                    alarms.extend(found.iter().map(|a| a.name.clone()));
                    scaling.alarms.extend(found);
                }
                Err(e) => scaling.alarms_unread = Some(e.to_string()),
            }
        }
    }
    Ok(scaling)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_cluster_slash_service() {
        assert_eq!(
            parse_target("prod/worker-1"),
            Ok(("prod".into(), "worker-1".into()))
        );
        for bad in ["prod", "/worker", "prod/", "a/b/c", "prod worker/x", ""] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}

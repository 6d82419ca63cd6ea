//! The running ECS worker, read for `init --from-ecs`: the service, its task
//! definition, its roles' policies, its scalable target with its policies and alarms, and the
//! queue it reads, as `core::adopt`'s views. Every page token is followed. A secret is read as
//! its name and `valueFrom` only: nothing here asks for a secret's value. Every operation names
//! the IAM action it needs, so a denied call says what to grant.

use std::collections::HashMap;

use aws_sdk_applicationautoscaling::types::{PolicyType, ScalableDimension, ServiceNamespace};
use aws_sdk_sqs::types::QueueAttributeName;

use super::{aws_error, op, AwsError};
use crate::core::adopt::{
    self, Alarm, Container, Policy, Queue, RolePolicies, Scaling, Service, Step, TaskDefinition,
};

#[derive(Clone, Debug)]
pub struct Adopt {
    ecs: aws_sdk_ecs::Client,
    iam: aws_sdk_iam::Client,
    scaling: aws_sdk_applicationautoscaling::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    sqs: aws_sdk_sqs::Client,
}

/// A role's name from its ARN (`arn:aws:iam::ACCOUNT:role/PATH/NAME`: the name is the last part).
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

impl Adopt {
    pub fn new(
        ecs: aws_sdk_ecs::Client,
        iam: aws_sdk_iam::Client,
        scaling: aws_sdk_applicationautoscaling::Client,
        cloudwatch: aws_sdk_cloudwatch::Client,
        sqs: aws_sdk_sqs::Client,
    ) -> Self {
        Self {
            ecs,
            iam,
            scaling,
            cloudwatch,
            sqs,
        }
    }

    /// The ECS service, or `None` when the cluster has no such service (or it is deleted).
    pub async fn service(&self, cluster: &str, name: &str) -> Result<Option<Service>, AwsError> {
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(name)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("describing ECS service `{cluster}/{name}`"),
                        "ecs:DescribeServices",
                    ),
                    e,
                )
            })?;
        let Some(s) = out
            .services()
            .iter()
            .find(|s| s.status() != Some("INACTIVE"))
        else {
            return Ok(None);
        };
        let vpc = s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration());
        Ok(Some(Service {
            cluster: cluster.to_string(),
            name: name.to_string(),
            task_definition: s.task_definition().unwrap_or_default().to_string(),
            subnets: vpc.map(|v| v.subnets().to_vec()).unwrap_or_default(),
            security_groups: vpc
                .map(|v| v.security_groups().to_vec())
                .unwrap_or_default(),
            assign_public_ip: vpc
                .and_then(|v| v.assign_public_ip())
                .is_some_and(|a| a.as_str() == "ENABLED"),
        }))
    }

    /// The task definition revision `arn`.
    pub async fn task_definition(&self, arn: &str) -> Result<TaskDefinition, AwsError> {
        let operation = op(
            format!("describing task definition `{arn}`"),
            "ecs:DescribeTaskDefinition",
        );
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| aws_error(operation.clone(), e))?;
        let Some(t) = out.task_definition() else {
            return Err(AwsError {
                operation,
                code: "NotFound".into(),
                message: "the answer held no task definition".into(),
            });
        };
        let containers = t
            .container_definitions()
            .iter()
            .map(|c| Container {
                name: c.name().unwrap_or_default().to_string(),
                image: c.image().unwrap_or_default().to_string(),
                essential: c.essential().unwrap_or(true),
                command: c.command().to_vec(),
                entry_point: c.entry_point().to_vec(),
                working_directory: c.working_directory().map(String::from),
                environment: c
                    .environment()
                    .iter()
                    .map(|kv| {
                        (
                            kv.name().unwrap_or_default().to_string(),
                            kv.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
                secrets: c
                    .secrets()
                    .iter()
                    .map(|s| (s.name().to_string(), s.value_from().to_string()))
                    .collect(),
                privileged: c.privileged().unwrap_or(false),
                linux_parameters: c.linux_parameters().is_some(),
                port_mappings: c
                    .port_mappings()
                    .iter()
                    .filter_map(|p| p.container_port())
                    .collect(),
                gpus: c
                    .resource_requirements()
                    .iter()
                    .any(|r| r.r#type().as_str() == "GPU"),
                log_router: c.firelens_configuration().is_some(),
            })
            .collect();
        let platform = t.runtime_platform();
        Ok(TaskDefinition {
            arn: t.task_definition_arn().unwrap_or(arn).to_string(),
            cpu: t.cpu().map(String::from),
            memory: t.memory().map(String::from),
            architecture: platform
                .and_then(|p| p.cpu_architecture())
                .map(|a| a.as_str().to_string()),
            os_family: platform
                .and_then(|p| p.operating_system_family())
                .map(|o| o.as_str().to_string()),
            ephemeral_gib: t.ephemeral_storage().map(|e| e.size_in_gib()),
            task_role: t.task_role_arn().map(String::from),
            execution_role: t.execution_role_arn().map(String::from),
            containers,
        })
    }

    /// A role's attached managed policies and its inline policies' documents.
    pub async fn role_policies(&self, arn: &str) -> Result<RolePolicies, AwsError> {
        let name = role_name(arn);
        let mut managed = Vec::new();
        let mut pages = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| {
                aws_error(
                    op(
                        format!("listing the managed policies of role `{name}`"),
                        "iam:ListAttachedRolePolicies",
                    ),
                    e,
                )
            })?;
            managed.extend(
                out.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(String::from)),
            );
        }
        let mut names = Vec::new();
        let mut pages = self
            .iam
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| {
                aws_error(
                    op(
                        format!("listing the inline policies of role `{name}`"),
                        "iam:ListRolePolicies",
                    ),
                    e,
                )
            })?;
            names.extend(out.policy_names().iter().cloned());
        }
        let mut inline = Vec::new();
        for policy in names {
            let operation = op(
                format!("reading inline policy `{policy}` of role `{name}`"),
                "iam:GetRolePolicy",
            );
            let out = self
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send()
                .await
                .map_err(|e| aws_error(operation.clone(), e))?;
            // IAM returns the document URL-encoded (IAM API Reference, `GetRolePolicy`).
            let doc = serde_json::from_str(&adopt::percent_decode(out.policy_document())).map_err(
                |e| AwsError {
                    operation,
                    code: "InvalidPolicyDocument".into(),
                    message: e.to_string(),
                },
            )?;
            inline.push((policy, doc));
        }
        Ok(RolePolicies {
            role: arn.to_string(),
            managed,
            inline,
        })
    }

    /// The service's scalable target (`service/CLUSTER/SERVICE`, `ecs:service:DesiredCount`), its
    /// policies and their alarms; empty when the service has no scalable target.
    pub async fn scaling(&self, cluster: &str, service: &str) -> Result<Scaling, AwsError> {
        let resource = format!("service/{cluster}/{service}");
        let mut scaling = Scaling::default();
        let Some((min, max)) = super::scalable_bounds(&self.scaling, cluster, service).await?
        else {
            return Ok(scaling);
        };
        (scaling.min, scaling.max) = (Some(min), Some(max));
        let mut pages = self
            .scaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| {
                aws_error(
                    op(
                        format!("describing the scaling policies of `{resource}`"),
                        "application-autoscaling:DescribeScalingPolicies",
                    ),
                    e,
                )
            })?;
            for p in out.scaling_policies() {
                let name = p.policy_name().to_string();
                match p.policy_type() {
                    PolicyType::StepScaling => {
                        let c = p.step_scaling_policy_configuration();
                        scaling.policies.push(Policy::Step {
                            name,
                            adjustment_type: c
                                .and_then(|c| c.adjustment_type())
                                .map(|a| a.as_str().to_string())
                                .unwrap_or_default(),
                            steps: c
                                .map(|c| {
                                    c.step_adjustments()
                                        .iter()
                                        .map(|s| Step {
                                            lower: s.metric_interval_lower_bound(),
                                            upper: s.metric_interval_upper_bound(),
                                            adjustment: s.scaling_adjustment(),
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                            cooldown: c.and_then(|c| c.cooldown()),
                            alarms: p
                                .alarms()
                                .iter()
                                .map(|a| a.alarm_name().to_string())
                                .collect(),
                        });
                    }
                    PolicyType::TargetTrackingScaling => {
                        let c = p.target_tracking_scaling_policy_configuration();
                        let metric = c
                            .and_then(|c| {
                                c.predefined_metric_specification()
                                    .map(|m| m.predefined_metric_type().as_str().to_string())
                                    .or_else(|| {
                                        c.customized_metric_specification()
                                            .and_then(|m| m.metric_name())
                                            .map(String::from)
                                    })
                            })
                            .unwrap_or_default();
                        scaling.policies.push(Policy::TargetTracking {
                            name,
                            target: c.map(|c| c.target_value()).unwrap_or_default(),
                            metric,
                        });
                    }
                    _ => {}
                }
            }
        }
        let names: Vec<String> = scaling
            .policies
            .iter()
            .flat_map(|p| {
                if let Policy::Step { alarms, .. } = p {
                    alarms.clone()
                } else {
                    Vec::new()
                }
            })
            .collect();
        match self.alarms(&names).await {
            Ok(a) => scaling.alarms = a,
            // The policies are translated without the alarms' thresholds, and the report says why.
            Err(e) => scaling.alarms_unread = Some(e.to_string()),
        }
        Ok(scaling)
    }

    /// The CloudWatch alarms named (DescribeAlarms takes at most 100 names a call).
    async fn alarms(&self, names: &[String]) -> Result<Vec<Alarm>, AwsError> {
        let mut alarms = Vec::new();
        for chunk in names.chunks(100) {
            let mut pages = self
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let out = page.map_err(|e| {
                    aws_error(
                        op(
                            "describing the scaling policies' alarms".into(),
                            "cloudwatch:DescribeAlarms",
                        ),
                        e,
                    )
                })?;
                alarms.extend(out.metric_alarms().iter().map(|a| {
                    Alarm {
                        name: a.alarm_name().unwrap_or_default().to_string(),
                        metric: a.metric_name().unwrap_or_default().to_string(),
                        threshold: a.threshold().unwrap_or_default(),
                        comparison: a
                            .comparison_operator()
                            .map(|c| c.as_str().to_string())
                            .unwrap_or_default(),
                    }
                }));
            }
        }
        Ok(alarms)
    }

    /// The queue's visibility timeout, retention, FIFO flag and redrive policy.
    pub async fn queue(&self, url: &str) -> Result<Queue, AwsError> {
        let operation = op(
            format!("reading the attributes of queue `{url}`"),
            "sqs:GetQueueAttributes",
        );
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .attribute_names(QueueAttributeName::MessageRetentionPeriod)
            .attribute_names(QueueAttributeName::FifoQueue)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|e| aws_error(operation.clone(), e))?;
        let empty = HashMap::new();
        let attrs = out.attributes().unwrap_or(&empty);
        let num = |k: QueueAttributeName, default: u64| {
            attrs
                .get(&k)
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let redrive =
            super::redrive_policy(attrs.get(&QueueAttributeName::RedrivePolicy), &operation)?;
        Ok(Queue {
            url: url.to_string(),
            // SQS's defaults when an attribute is missing (Amazon SQS API Reference, `CreateQueue`).
            visibility_timeout_s: num(QueueAttributeName::VisibilityTimeout, 30),
            retention_s: num(QueueAttributeName::MessageRetentionPeriod, 345_600),
            fifo: attrs
                .get(&QueueAttributeName::FifoQueue)
                .is_some_and(|v| v == "true"),
            redrive,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_name_is_the_last_part_of_its_arn() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/worker-task"),
            "worker-task"
        );
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/team/app/worker-task"),
            "worker-task"
        );
    }
}

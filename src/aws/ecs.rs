//! Amazon ECS: a service (its counts, tags, events and network), a task definition, a service's
//! tags and desired count. One function per API call; SDK types stay inside. Every operation
//! names the IAM action it needs, so a denied call says what to grant.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{ServiceField, Tag};
use serde::Serialize;

use super::{aws_error, op, AwsError};
use crate::core::adopt::{Container, TaskDefinition};

#[derive(Clone, Debug)]
pub struct Ecs {
    client: aws_sdk_ecs::Client,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceCounts {
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
}

/// One event of an ECS service.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceEvent {
    /// Seconds since the Unix epoch.
    pub at: f64,
    pub message: String,
}

/// An ECS service as `DescribeServices` (with its tags) describes it: what `status`, `compare`,
/// `init --from-ecs` and `cutover` each take their part of.
#[derive(Clone, Debug, PartialEq)]
pub struct EcsService {
    pub arn: String,
    /// Not `INACTIVE` (a deleted service ECS still describes for a while).
    pub active: bool,
    pub task_definition: String,
    pub counts: ServiceCounts,
    pub tags: BTreeMap<String, String>,
    /// ECS's own account of what it started, stopped and waited for, oldest first.
    pub events: Vec<ServiceEvent>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

impl EcsService {
    /// The desired count as a count.
    pub fn desired(&self) -> u32 {
        u32::try_from(self.counts.desired).unwrap_or(0)
    }
}

impl Ecs {
    /// From a client made elsewhere: `Aws::ecs`, or a test's recorded answers.
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        Self { client }
    }

    /// `DescribeServices` with tags: the service, `None` when the cluster has no such service.
    /// A missing cluster is an error ([`AwsError::is_missing_cluster`]): the caller decides.
    pub async fn service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<EcsService>, AwsError> {
        let out = self
            .client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("describing ECS service `{cluster}/{service}`"),
                        "ecs:DescribeServices",
                    ),
                    e,
                )
            })?;
        let Some(s) = out.services().first() else {
            return Ok(None);
        };
        let vpc = s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration());
        let mut events: Vec<ServiceEvent> = s
            .events()
            .iter()
            .filter_map(|e| {
                Some(ServiceEvent {
                    at: e.created_at()?.as_secs_f64(),
                    message: e.message().unwrap_or_default().to_string(),
                })
            })
            .collect();
        events.sort_by(|a, b| a.at.total_cmp(&b.at));
        Ok(Some(EcsService {
            arn: s.service_arn().unwrap_or_default().to_string(),
            active: s.status() != Some("INACTIVE"),
            task_definition: s.task_definition().unwrap_or_default().to_string(),
            counts: ServiceCounts {
                desired: s.desired_count(),
                running: s.running_count(),
                pending: s.pending_count(),
            },
            tags: s
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
            events,
            subnets: vpc.map(|v| v.subnets().to_vec()).unwrap_or_default(),
            security_groups: vpc
                .map(|v| v.security_groups().to_vec())
                .unwrap_or_default(),
            assign_public_ip: vpc
                .and_then(|v| v.assign_public_ip())
                .is_some_and(|a| a.as_str() == "ENABLED"),
        }))
    }

    /// `ListServices`, every page: the names of the cluster's services, sorted. A missing
    /// cluster is an error ([`AwsError::is_missing_cluster`]).
    pub async fn service_names(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        let mut pages = self
            .client
            .list_services()
            .cluster(cluster)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| {
                aws_error(
                    op(
                        format!("listing the services of ECS cluster `{cluster}`"),
                        "ecs:ListServices",
                    ),
                    e,
                )
            })?;
            // An ARN's last part is the service's name (arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME).
            names.extend(
                out.service_arns()
                    .iter()
                    .map(|a| a.rsplit('/').next().unwrap_or(a).to_string()),
            );
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// `DescribeTaskDefinition`: the revision `arn`.
    pub async fn task_definition(&self, arn: &str) -> Result<TaskDefinition, AwsError> {
        let operation = op(
            format!("describing task definition `{arn}`"),
            "ecs:DescribeTaskDefinition",
        );
        let out = self
            .client
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| aws_error(operation.clone(), e))?;
        let Some(t) = out.task_definition() else {
            return Err(operation.error("NotFound", "the answer held no task definition"));
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
                user: c.user().map(String::from),
                depends_on: c
                    .depends_on()
                    .iter()
                    .map(|d| d.container_name().to_string())
                    .collect(),
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
            efs_volumes: t
                .volumes()
                .iter()
                .filter(|v| v.efs_volume_configuration().is_some())
                .map(|v| v.name().unwrap_or_default().to_string())
                .collect(),
            task_role: t.task_role_arn().map(String::from),
            execution_role: t.execution_role_arn().map(String::from),
            containers,
        })
    }

    /// `TagResource`: sets tag `key` on the service (its ARN).
    pub async fn tag(&self, arn: &str, key: &str, value: &str) -> Result<(), AwsError> {
        let tag = Tag::builder().key(key).value(value).build();
        self.client
            .tag_resource()
            .resource_arn(arn)
            .tags(tag)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("tagging ECS service `{arn}` with `{key}`"),
                        "ecs:TagResource",
                    ),
                    e,
                )
            })?;
        Ok(())
    }

    /// `UntagResource`: removes tag `key` from the service.
    pub async fn untag(&self, arn: &str, key: &str) -> Result<(), AwsError> {
        self.client
            .untag_resource()
            .resource_arn(arn)
            .tag_keys(key)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("removing the tag `{key}` from ECS service `{arn}`"),
                        "ecs:UntagResource",
                    ),
                    e,
                )
            })?;
        Ok(())
    }

    /// `UpdateService`: sets the service's desired count.
    pub async fn set_desired(
        &self,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> Result<(), AwsError> {
        let n = i32::try_from(desired).unwrap_or(i32::MAX);
        self.client
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(n)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("setting the desired count of ECS service `{cluster}/{service}` to {desired}"),
                        "ecs:UpdateService",
                    ),
                    e,
                )
            })?;
        Ok(())
    }
}

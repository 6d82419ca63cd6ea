//! Application Auto Scaling, for an ECS service's desired count (`service/CLUSTER/SERVICE`,
//! `ecs:service:DesiredCount`): its scalable target, its policies, its scaling history, and new
//! bounds. One function per API call; SDK types stay inside. Every operation names the IAM action
//! it needs.

use std::time::SystemTime;

use aws_sdk_applicationautoscaling::types::{PolicyType, ScalableDimension, ServiceNamespace};

use super::{aws_error, op, AwsError};
use crate::core::adopt::{Policy, Step};
use crate::core::assess::recorded::{desired_of, Activity};

#[derive(Clone, Debug)]
pub struct AutoScaling {
    client: aws_sdk_applicationautoscaling::Client,
}

/// An ECS service's scalable target: its min and max capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub min: i32,
    pub max: i32,
}

fn resource(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

impl AutoScaling {
    /// From a client made elsewhere: `Aws::autoscaling`, or a test's recorded answers.
    pub fn new(client: aws_sdk_applicationautoscaling::Client) -> Self {
        Self { client }
    }

    /// `DescribeScalableTargets`: the service's scalable target, `None` when it has none.
    pub async fn target(&self, cluster: &str, service: &str) -> Result<Option<Target>, AwsError> {
        let resource = resource(cluster, service);
        let mut pages = self
            .client
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids(&resource)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .into_paginator()
            .send();
        let mut target = None;
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| {
                aws_error(
                    op(
                        format!("describing the scalable target `{resource}`"),
                        "application-autoscaling:DescribeScalableTargets",
                    ),
                    e,
                )
            })?;
            if let Some(t) = out
                .scalable_targets()
                .iter()
                .find(|t| t.resource_id() == resource)
            {
                target = Some(Target {
                    min: t.min_capacity(),
                    max: t.max_capacity(),
                });
            }
        }
        Ok(target)
    }

    /// `DescribeScalingPolicies`: the service's step and target-tracking policies, with the
    /// names of the alarms a step policy is driven by.
    pub async fn policies(&self, cluster: &str, service: &str) -> Result<Vec<Policy>, AwsError> {
        let resource = resource(cluster, service);
        let mut policies = Vec::new();
        let mut pages = self
            .client
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
                        policies.push(Policy::Step {
                            name,
                            arn: p.policy_arn().to_string(),
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
                        policies.push(Policy::TargetTracking {
                            name,
                            target: c.map(|c| c.target_value()).unwrap_or_default(),
                            metric,
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(policies)
    }

    /// `DescribeScalingActivities`: the service's scaling activities, newest first, back to the
    /// first one that set the desired count by `since` (what the count was at `since`) or to
    /// the oldest AWS keeps (six weeks: Application Auto Scaling API Reference,
    /// `DescribeScalingActivities`). Pages are read until then, no further.
    pub async fn scaling_activities(
        &self,
        cluster: &str,
        service: &str,
        since: SystemTime,
    ) -> Result<Vec<Activity>, AwsError> {
        let resource = resource(cluster, service);
        let mut pages = self
            .client
            .describe_scaling_activities()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .into_paginator()
            .send();
        let time = |t: &aws_smithy_types::DateTime| SystemTime::try_from(*t).ok();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_error(
                    op(
                        format!("describing the scaling activities of `{resource}`"),
                        "application-autoscaling:DescribeScalingActivities",
                    ),
                    e,
                )
            })?;
            let mut enough = false;
            for a in page.scaling_activities() {
                let Some(start) = time(a.start_time()) else {
                    continue;
                };
                let activity = Activity {
                    start,
                    end: a.end_time().and_then(time),
                    status: a.status_code().as_str().to_string(),
                    desired: desired_of(a.description()),
                };
                // In force before the period: the count at its start is known.
                let at = activity.end.unwrap_or(activity.start);
                enough |= at <= since && activity.set_count().is_some();
                out.push(activity);
            }
            if enough {
                break;
            }
        }
        Ok(out)
    }

    /// `RegisterScalableTarget`: sets the scalable target's bounds (on a registered target it
    /// updates it and keeps its policies: "RegisterScalableTarget", Application Auto Scaling API
    /// Reference). Lowering the max below the current capacity scales the service in to it.
    pub async fn set_bounds(
        &self,
        cluster: &str,
        service: &str,
        min: u32,
        max: u32,
    ) -> Result<(), AwsError> {
        let id = resource(cluster, service);
        self.client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(i32::try_from(min).unwrap_or(i32::MAX))
            .max_capacity(i32::try_from(max).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("setting the scalable target `{id}` to min {min}, max {max}"),
                        "application-autoscaling:RegisterScalableTarget",
                    ),
                    e,
                )
            })?;
        Ok(())
    }
}

//! The production service and its queue, as `cutover` and `rollback` read and change them (issue
//! 16): the ECS service's desired count and tags (where the recorded state lives), its Application
//! Auto Scaling scalable target, the function's event source mapping on the production queue, the
//! queue's attributes, and the CloudWatch figures a bake watches. Every operation names the IAM
//! action it needs, so a denied call says what to grant.

use std::time::{Duration, SystemTime};

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_ecs::types::{ServiceField, Tag};
use aws_sdk_lambda::types::ScalingConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_types::DateTime;

use super::services::ServiceCounts;
use super::{aws_error, op, AwsError, OrMissing};

/// The production ECS service as cutover sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub arn: String,
    /// Its desired, running and pending task counts, as `status` shows them.
    pub counts: ServiceCounts,
    /// The value of the tag `key` asked for, when the service has it.
    pub tag: Option<String>,
}

impl Service {
    pub fn desired(&self) -> u32 {
        count(self.counts.desired)
    }
}

/// The service's scalable target (`ecs:service:DesiredCount`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub min: u32,
    pub max: u32,
}

/// The production queue's settings that cutover checks and the depth a bake watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    pub arn: String,
    pub visibility_timeout_s: u64,
    /// The `RedrivePolicy`'s `deadLetterTargetArn`.
    pub dead_letter_arn: Option<String>,
    /// `ApproximateNumberOfMessages`.
    pub visible: u64,
}

/// An event source mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub uuid: String,
    pub source: String,
    /// Lambda's state: `Creating`, `Enabling`, `Enabled`, `Disabling`, `Disabled`, `Updating`...
    pub state: String,
    pub maximum_concurrency: Option<u32>,
}

impl Mapping {
    /// A state Lambda is still moving out of.
    pub fn settling(&self) -> bool {
        matches!(
            self.state.as_str(),
            "Creating" | "Enabling" | "Disabling" | "Updating"
        )
    }
}

/// The function's `Errors` and `Throttles` summed over a window, and the queue's
/// `ApproximateAgeOfOldestMessage` at its highest; `None` where CloudWatch had no datapoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    pub errors: Option<u64>,
    pub throttles: Option<u64>,
    pub oldest_age_s: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct Production {
    ecs: aws_sdk_ecs::Client,
    scaling: aws_sdk_applicationautoscaling::Client,
    lambda: aws_sdk_lambda::Client,
    sqs: aws_sdk_sqs::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

fn resource(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl Production {
    pub fn new(
        ecs: aws_sdk_ecs::Client,
        scaling: aws_sdk_applicationautoscaling::Client,
        lambda: aws_sdk_lambda::Client,
        sqs: aws_sdk_sqs::Client,
        cloudwatch: aws_sdk_cloudwatch::Client,
    ) -> Self {
        Self {
            ecs,
            scaling,
            lambda,
            sqs,
            cloudwatch,
        }
    }

    /// The service with its counts and the value of tag `key`; `None` when the cluster has no
    /// such active service.
    pub async fn service(
        &self,
        cluster: &str,
        service: &str,
        key: &str,
    ) -> Result<Option<Service>, AwsError> {
        let sent = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .include(ServiceField::Tags)
            .send()
            .await;
        let out = sent
            .map_err(|e| {
                aws_error(
                    op(
                        format!("describing ECS service `{cluster}/{service}`"),
                        "ecs:DescribeServices",
                    ),
                    e,
                )
            })
            .or_none_if(AwsError::is_missing_cluster)?;
        let Some(s) = out
            .as_ref()
            .and_then(|o| o.services().iter().find(|s| s.status() != Some("INACTIVE")))
        else {
            return Ok(None);
        };
        Ok(Some(Service {
            arn: s.service_arn().unwrap_or_default().to_string(),
            counts: ServiceCounts {
                desired: s.desired_count(),
                running: s.running_count(),
                pending: s.pending_count(),
            },
            tag: s
                .tags()
                .iter()
                .find(|t| t.key() == Some(key))
                .and_then(|t| t.value())
                .map(str::to_string),
        }))
    }

    /// Sets tag `key` on the service (its ARN).
    pub async fn tag(&self, arn: &str, key: &str, value: &str) -> Result<(), AwsError> {
        let tag = Tag::builder().key(key).value(value).build();
        self.ecs
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

    /// Removes tag `key` from the service.
    pub async fn untag(&self, arn: &str, key: &str) -> Result<(), AwsError> {
        self.ecs
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

    /// Sets the service's desired count.
    pub async fn set_desired(
        &self,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> Result<(), AwsError> {
        let n = i32::try_from(desired).unwrap_or(i32::MAX);
        self.ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(n)
            .send()
            .await
            .map_err(|e| aws_error(op(format!("setting the desired count of ECS service `{cluster}/{service}` to {desired}"), "ecs:UpdateService"), e))?;
        Ok(())
    }

    /// The service's scalable target, `None` when it has none.
    pub async fn target(&self, cluster: &str, service: &str) -> Result<Option<Target>, AwsError> {
        Ok(super::scalable_bounds(&self.scaling, cluster, service)
            .await?
            .map(|(min, max)| Target {
                min: count(min),
                max: count(max),
            }))
    }

    /// Sets the scalable target's bounds (`RegisterScalableTarget` on a registered target updates
    /// it and keeps its policies: "RegisterScalableTarget", Application Auto Scaling API
    /// Reference). Lowering the max below the current capacity scales the service in to it.
    pub async fn set_bounds(
        &self,
        cluster: &str,
        service: &str,
        min: u32,
        max: u32,
    ) -> Result<(), AwsError> {
        let id = resource(cluster, service);
        self.scaling
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

    /// The queue's ARN, visibility timeout, dead-letter queue and visible messages; `None` when
    /// the queue does not exist.
    pub async fn queue(&self, url: &str) -> Result<Option<Queue>, AwsError> {
        let sent = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await;
        let operation = op(
            format!("reading the attributes of queue `{url}`"),
            "sqs:GetQueueAttributes",
        );
        let Some(out) = sent
            .map_err(|e| aws_error(operation.clone(), e))
            .or_none_if(AwsError::is_missing_queue)?
        else {
            return Ok(None);
        };
        let get = |k: QueueAttributeName| out.attributes().and_then(|a| a.get(&k)).cloned();
        let dead_letter_arn = super::redrive_policy(
            out.attributes()
                .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy)),
            &operation,
        )?
        .map(|(arn, _)| arn);
        Ok(Some(Queue {
            arn: get(QueueAttributeName::QueueArn).unwrap_or_default(),
            visibility_timeout_s: get(QueueAttributeName::VisibilityTimeout)
                .and_then(|v| v.parse().ok())
                .unwrap_or(30),
            dead_letter_arn,
            visible: get(QueueAttributeName::ApproximateNumberOfMessages)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        }))
    }

    /// The URL of the queue with this ARN (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`).
    pub async fn queue_url_of(&self, arn: &str) -> Result<Option<String>, AwsError> {
        let mut parts = arn.split(':');
        let (Some(account), Some(name)) = (parts.nth(4), parts.next()) else {
            return Ok(None);
        };
        let sent = self
            .sqs
            .get_queue_url()
            .queue_name(name)
            .queue_owner_aws_account_id(account)
            .send()
            .await;
        let out = sent
            .map_err(|e| {
                aws_error(
                    op(
                        format!("finding the URL of queue `{arn}`"),
                        "sqs:GetQueueUrl",
                    ),
                    e,
                )
            })
            .or_none_if(AwsError::is_missing_queue)?;
        Ok(out.and_then(|o| o.queue_url().map(str::to_string)))
    }

    /// The function's event source mapping on the queue `queue_arn`, `None` when there is none.
    pub async fn mapping(
        &self,
        function: &str,
        queue_arn: &str,
    ) -> Result<Option<Mapping>, AwsError> {
        let out = self
            .lambda
            .list_event_source_mappings()
            .function_name(function)
            .event_source_arn(queue_arn)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("listing the event source mappings of `{function}`"),
                        "lambda:ListEventSourceMappings",
                    ),
                    e,
                )
            })?;
        Ok(out
            .event_source_mappings()
            .iter()
            .find(|m| m.event_source_arn() == Some(queue_arn))
            .map(|m| Mapping {
                uuid: m.uuid().unwrap_or_default().to_string(),
                source: m.event_source_arn().unwrap_or_default().to_string(),
                state: m.state().unwrap_or_default().to_string(),
                maximum_concurrency: m
                    .scaling_config()
                    .and_then(|c| c.maximum_concurrency())
                    .map(count),
            }))
    }

    /// The mapping `uuid` as it is now.
    pub async fn mapping_by_id(&self, uuid: &str) -> Result<Mapping, AwsError> {
        let m = self
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("reading event source mapping `{uuid}`"),
                        "lambda:GetEventSourceMapping",
                    ),
                    e,
                )
            })?;
        Ok(Mapping {
            uuid: uuid.to_string(),
            source: m.event_source_arn().unwrap_or_default().to_string(),
            state: m.state().unwrap_or_default().to_string(),
            maximum_concurrency: m
                .scaling_config()
                .and_then(|c| c.maximum_concurrency())
                .map(count),
        })
    }

    /// Enables or disables the mapping, with `MaximumConcurrency` when given. Lambda refuses an
    /// update while the mapping is still changing (`ResourceInUseException`): that is retried
    /// for up to two minutes.
    pub async fn set_mapping(
        &self,
        uuid: &str,
        enabled: bool,
        maximum_concurrency: Option<u32>,
    ) -> Result<(), AwsError> {
        let what = match (enabled, maximum_concurrency) {
            (true, Some(n)) => {
                format!("enabling event source mapping `{uuid}` with MaximumConcurrency {n}")
            }
            (true, None) => format!("enabling event source mapping `{uuid}`"),
            (false, _) => format!("disabling event source mapping `{uuid}`"),
        };
        let mut waited = Duration::ZERO;
        loop {
            let mut call = self
                .lambda
                .update_event_source_mapping()
                .uuid(uuid)
                .enabled(enabled);
            if let Some(n) = maximum_concurrency {
                call = call.scaling_config(
                    ScalingConfig::builder()
                        .maximum_concurrency(i32::try_from(n).unwrap_or(1000))
                        .build(),
                );
            }
            match call
                .send()
                .await
                .map_err(|e| aws_error(op(what.clone(), "lambda:UpdateEventSourceMapping"), e))
            {
                Ok(_) => return Ok(()),
                Err(e)
                    if e.code == "ResourceInUseException" && waited < Duration::from_secs(120) =>
                {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    waited += Duration::from_secs(5);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The function's errors and throttles summed over `[from, to)`, and the queue's oldest
    /// message age at its highest then, by minute.
    pub async fn health(
        &self,
        function: &str,
        queue_name: &str,
        from: SystemTime,
        to: SystemTime,
    ) -> Result<Health, AwsError> {
        let query =
            |id: &str, namespace: &str, metric: &str, dimension: (&str, &str), stat: &str| {
                let metric = Metric::builder()
                    .namespace(namespace)
                    .metric_name(metric)
                    .dimensions(
                        Dimension::builder()
                            .name(dimension.0)
                            .value(dimension.1)
                            .build(),
                    )
                    .build();
                MetricDataQuery::builder()
                    .id(id)
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(60)
                            .stat(stat)
                            .build(),
                    )
                    .return_data(true)
                    .build()
            };
        let out = self
            .cloudwatch
            .get_metric_data()
            .start_time(DateTime::from(from))
            .end_time(DateTime::from(to))
            .metric_data_queries(query(
                "errors",
                "AWS/Lambda",
                "Errors",
                ("FunctionName", function),
                "Sum",
            ))
            .metric_data_queries(query(
                "throttles",
                "AWS/Lambda",
                "Throttles",
                ("FunctionName", function),
                "Sum",
            ))
            .metric_data_queries(query(
                "oldest",
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                ("QueueName", queue_name),
                "Maximum",
            ))
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!(
                            "reading the CloudWatch metrics of `{function}` and `{queue_name}`"
                        ),
                        "cloudwatch:GetMetricData",
                    ),
                    e,
                )
            })?;
        let values = |id: &str| -> Option<Vec<f64>> {
            let v: Vec<f64> = out
                .metric_data_results()
                .iter()
                .find(|r| r.id() == Some(id))?
                .values()
                .to_vec();
            (!v.is_empty()).then_some(v)
        };
        let whole = |x: f64| x.max(0.0).round() as u64;
        Ok(Health {
            errors: values("errors").map(|v| v.into_iter().map(whole).sum()),
            throttles: values("throttles").map(|v| v.into_iter().map(whole).sum()),
            oldest_age_s: values("oldest").map(|v| v.into_iter().map(whole).max().unwrap_or(0)),
        })
    }
}

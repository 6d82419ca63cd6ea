//! The services behind the stacks, read for `status`, `down` and the checks before `up`: queue
//! depths (SQS), task counts (ECS), concurrency (Lambda).

use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use serde::Serialize;

use super::{aws_error, AwsError, OrMissing};
use crate::core::load;
use crate::core::local::Record;

/// A message to send: its body, and the id and send time it also carries as attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub id: String,
    pub sent_at_ms: u64,
    pub body: String,
}

/// An entry of a batch that SQS did not take, with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub index: usize,
    pub code: String,
    pub message: String,
    /// AWS's verdict: `true` when the request was wrong, so a retry fails again.
    pub sender_fault: bool,
}

/// One event of an ECS service (`DescribeServices`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceEvent {
    /// Seconds since the Unix epoch.
    pub at: f64,
    pub message: String,
}

/// One SQS event source mapping of a function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub source: String,
    pub state: String,
    pub batch_size: Option<i32>,
    pub maximum_concurrency: Option<i32>,
}

fn build_error(url: &str, e: aws_sdk_sqs::error::BuildError) -> AwsError {
    AwsError {
        operation: format!("sending messages to `{url}`"),
        code: "InvalidRequest".into(),
        message: e.to_string(),
    }
}

#[derive(Clone, Debug)]
pub struct Services {
    sqs: aws_sdk_sqs::Client,
    ecs: aws_sdk_ecs::Client,
    lambda: aws_sdk_lambda::Client,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

impl QueueDepth {
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceCounts {
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountConcurrency {
    /// The account's concurrency limit in this region.
    pub limit: i32,
    /// What is left unreserved now.
    pub unreserved: i32,
}

impl Services {
    /// From clients made elsewhere: `Aws::services`, or a test's recorded answers. The
    /// clients stay inside; every call returns the project's own views.
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        ecs: aws_sdk_ecs::Client,
        lambda: aws_sdk_lambda::Client,
    ) -> Self {
        Self { sqs, ecs, lambda }
    }

    /// A queue's approximate depth, or `None` when the queue does not exist (any more).
    pub async fn queue_depth(&self, url: &str) -> Result<Option<QueueDepth>, AwsError> {
        let sent = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await;
        let Some(out) = sent
            .map_err(|e| aws_error(format!("reading the depth of queue `{url}`"), e))
            .or_none_if(AwsError::is_missing_queue)?
        else {
            return Ok(None);
        };
        let attrs = out.attributes();
        let get = |k: QueueAttributeName| {
            attrs
                .and_then(|a| a.get(&k))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(Some(QueueDepth {
            visible: get(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
        }))
    }

    async fn describe_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<aws_sdk_ecs::types::Service>, AwsError> {
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| aws_error(format!("describing ECS service `{service}`"), e))?;
        Ok(out.services().first().cloned())
    }

    /// A service's desired, running and pending task counts.
    pub async fn service_counts(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceCounts>, AwsError> {
        Ok(self
            .describe_service(cluster, service)
            .await?
            .map(|s| ServiceCounts {
                desired: s.desired_count(),
                running: s.running_count(),
                pending: s.pending_count(),
            }))
    }

    /// The image the service's task definition runs.
    pub async fn service_image(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<String>, AwsError> {
        let Some(task_definition) = self
            .describe_service(cluster, service)
            .await?
            .and_then(|s| s.task_definition().map(String::from))
        else {
            return Ok(None);
        };
        let td = self
            .ecs
            .describe_task_definition()
            .task_definition(&task_definition)
            .send()
            .await
            .map_err(|e| aws_error(format!("describing task definition `{task_definition}`"), e))?;
        Ok(td
            .task_definition()
            .and_then(|t| t.container_definitions().first())
            .and_then(|c| c.image())
            .map(String::from))
    }

    /// The image the function runs.
    pub async fn function_image(&self, function: &str) -> Result<Option<String>, AwsError> {
        let sent = self
            .lambda
            .get_function()
            .function_name(function)
            .send()
            .await;
        let out = sent
            .map_err(|e| aws_error(format!("describing function `{function}`"), e))
            .or_none_if(AwsError::is_missing_function)?;
        Ok(out.and_then(|o| o.code().and_then(|c| c.image_uri()).map(String::from)))
    }

    /// The service's task counts and its events newer than `since` (seconds since the epoch),
    /// oldest first: ECS's own account of what it started, stopped and waited for.
    pub async fn service_activity(
        &self,
        cluster: &str,
        service: &str,
        since: f64,
    ) -> Result<Option<(ServiceCounts, Vec<ServiceEvent>)>, AwsError> {
        let Some(s) = self.describe_service(cluster, service).await? else {
            return Ok(None);
        };
        let mut events: Vec<ServiceEvent> = s
            .events()
            .iter()
            .filter_map(|e| {
                let secs = e.created_at()?.as_secs_f64();
                (secs > since).then(|| ServiceEvent {
                    at: secs,
                    message: e.message().unwrap_or_default().to_string(),
                })
            })
            .collect();
        events.sort_by(|a, b| a.at.total_cmp(&b.at));
        Ok(Some((
            ServiceCounts {
                desired: s.desired_count(),
                running: s.running_count(),
                pending: s.pending_count(),
            },
            events,
        )))
    }

    /// The function's SQS event source mappings: their state, batch size and maximum concurrency.
    pub async fn event_source_mappings(&self, function: &str) -> Result<Vec<Trigger>, AwsError> {
        let out = self
            .lambda
            .list_event_source_mappings()
            .function_name(function)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    format!("listing the event source mappings of `{function}`"),
                    e,
                )
            })?;
        Ok(out
            .event_source_mappings()
            .iter()
            .map(|m| Trigger {
                source: m.event_source_arn().unwrap_or_default().to_string(),
                state: m.state().unwrap_or_default().to_string(),
                batch_size: m.batch_size(),
                maximum_concurrency: m.scaling_config().and_then(|c| c.maximum_concurrency()),
            })
            .collect())
    }

    /// Sends one `SendMessageBatch` call. `Ok` lists the entries SQS refused (by index into
    /// `entries`); `Err` is a call that failed as a whole.
    pub async fn send_batch(
        &self,
        url: &str,
        entries: &[Outgoing],
    ) -> Result<Vec<Refused>, AwsError> {
        let mut call = self.sqs.send_message_batch().queue_url(url);
        for (i, m) in entries.iter().enumerate() {
            let attribute = |kind: &str, value: &str| {
                MessageAttributeValue::builder()
                    .data_type(kind)
                    .string_value(value)
                    .build()
            };
            let mut entry = SendMessageBatchRequestEntry::builder().id(i.to_string());
            // A FIFO queue (`queue.fifo`) takes only messages with a group, and
            // deduplicates by content or id: each message is a group of its own (no ordering
            // holds the drain back) and is deduplicated by its own id, so that equal bodies
            // (`--body-file`) all arrive.
            if url.ends_with(".fifo") {
                entry = entry
                    .message_group_id(&m.id)
                    .message_deduplication_id(&m.id);
            }
            let entry = entry
                .message_body(&m.body)
                .message_attributes(
                    load::ID_ATTRIBUTE,
                    attribute("String", &m.id).map_err(|e| build_error(url, e))?,
                )
                .message_attributes(
                    load::SENT_AT_ATTRIBUTE,
                    attribute("Number", &m.sent_at_ms.to_string())
                        .map_err(|e| build_error(url, e))?,
                )
                .build()
                .map_err(|e| build_error(url, e))?;
            call = call.entries(entry);
        }
        let out = call
            .send()
            .await
            .map_err(|e| aws_error(format!("sending messages to `{url}`"), e))?;
        Ok(out
            .failed()
            .iter()
            .filter_map(|f| {
                Some(Refused {
                    index: f.id().parse().ok()?,
                    code: f.code().to_string(),
                    message: f.message().unwrap_or_default().to_string(),
                    sender_fault: f.sender_fault(),
                })
            })
            .collect())
    }

    /// The URLs of the queues whose names start with `prefix`.
    pub async fn queues_named(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        self.sqs
            .list_queues()
            .queue_name_prefix(prefix)
            .max_results(1000)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(format!("listing the queues named `{prefix}*`"), e))
    }

    /// Receives up to `max` messages (at most 10), waiting up to `wait_s` seconds for the first.
    pub async fn receive(
        &self,
        url: &str,
        max: i32,
        wait_s: i32,
        visibility_s: i32,
    ) -> Result<Vec<Record>, AwsError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait_s)
            .visibility_timeout(visibility_s)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| aws_error(format!("receiving from `{url}`"), e))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| {
                let attr = |k: MessageSystemAttributeName| {
                    m.attributes()
                        .and_then(|a| a.get(&k))
                        .cloned()
                        .unwrap_or_default()
                };
                Record {
                    message_id: m.message_id().unwrap_or_default().to_string(),
                    receipt_handle: m.receipt_handle().unwrap_or_default().to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                    md5_of_body: m.md5_of_body().unwrap_or_default().to_string(),
                    receive_count: attr(MessageSystemAttributeName::ApproximateReceiveCount),
                    sent_timestamp: attr(MessageSystemAttributeName::SentTimestamp),
                    first_receive_timestamp: attr(
                        MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
                    ),
                }
            })
            .collect())
    }

    /// Deletes received messages by receipt handle; returns how many SQS refused.
    pub async fn delete_received(&self, url: &str, handles: &[String]) -> Result<usize, AwsError> {
        let mut refused = 0;
        for chunk in handles.chunks(10) {
            let mut call = self.sqs.delete_message_batch().queue_url(url);
            for (i, h) in chunk.iter().enumerate() {
                let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .build()
                    .map_err(|e| AwsError {
                        operation: format!("deleting messages from `{url}`"),
                        code: "InvalidRequest".into(),
                        message: e.to_string(),
                    })?;
                call = call.entries(entry);
            }
            let out = call
                .send()
                .await
                .map_err(|e| aws_error(format!("deleting messages from `{url}`"), e))?;
            refused += out.failed().len();
        }
        Ok(refused)
    }

    /// The queue's ARN.
    pub async fn queue_arn(&self, url: &str) -> Result<String, AwsError> {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| aws_error(format!("reading the ARN of `{url}`"), e))?;
        Ok(out
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_default())
    }

    /// Deletes a queue; `Ok(false)` when it was already gone.
    pub async fn delete_queue(&self, url: &str) -> Result<bool, AwsError> {
        let sent = self.sqs.delete_queue().queue_url(url).send().await;
        Ok(sent
            .map_err(|e| aws_error(format!("deleting queue `{url}`"), e))
            .or_none_if(AwsError::is_missing_queue)?
            .is_some())
    }

    /// The function's reserved concurrency, `None` when unreserved.
    pub async fn reserved_concurrency(&self, function: &str) -> Result<Option<i32>, AwsError> {
        let sent = self
            .lambda
            .get_function_concurrency()
            .function_name(function)
            .send()
            .await;
        let out = sent
            .map_err(|e| {
                aws_error(
                    format!("reading the concurrency of function `{function}`"),
                    e,
                )
            })
            .or_none_if(AwsError::is_missing_function)?;
        Ok(out.and_then(|o| o.reserved_concurrent_executions()))
    }

    pub async fn account_concurrency(&self) -> Result<AccountConcurrency, AwsError> {
        let out = self
            .lambda
            .get_account_settings()
            .send()
            .await
            .map_err(|e| aws_error("reading the Lambda account settings", e))?;
        let limit = out.account_limit();
        Ok(AccountConcurrency {
            limit: limit.map(|l| l.concurrent_executions()).unwrap_or(0),
            unreserved: limit
                .and_then(|l| l.unreserved_concurrent_executions())
                .unwrap_or(0),
        })
    }
}

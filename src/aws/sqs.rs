//! Amazon SQS: a queue's attributes, its URL from its ARN, sending, receiving and deleting
//! messages, listing and deleting queues. One function per API call; SDK types stay inside.

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use serde::Serialize;

use super::{aws_error, op, AwsError, Op, OrMissing};
use crate::core::load;
use crate::core::local::Record;

#[derive(Clone, Debug)]
pub struct Sqs {
    client: aws_sdk_sqs::Client,
}

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

/// A queue's approximate depth.
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

/// A queue as `GetQueueAttributes` describes it: what `status`, `down`, `compare`, `local`,
/// `init --from-ecs` and `cutover` each take their part of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    pub url: String,
    pub arn: String,
    /// `VisibilityTimeout`, SQS's default 30 when missing.
    pub visibility_timeout_s: u64,
    /// `MessageRetentionPeriod`, SQS's default 345,600 (four days) when missing.
    pub retention_s: u64,
    pub fifo: bool,
    /// `RedrivePolicy` as SQS holds it; [`Queue::redrive`] reads it.
    pub redrive_policy: Option<String>,
    pub depth: QueueDepth,
}

impl Queue {
    /// The `RedrivePolicy`: its dead-letter queue's ARN and `maxReceiveCount` (a number, or a
    /// string as some writers leave it); `None` for no policy.
    pub fn redrive(&self) -> Result<Option<(String, u64)>, AwsError> {
        let Some(text) = self.redrive_policy.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| attributes_op(&self.url).error("InvalidRedrivePolicy", e.to_string()))?;
        let count = v["maxReceiveCount"]
            .as_u64()
            .or_else(|| v["maxReceiveCount"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(0);
        Ok(v["deadLetterTargetArn"]
            .as_str()
            .map(|arn| (arn.to_string(), count)))
    }

    /// The dead-letter queue's ARN, when the queue has a redrive policy.
    pub fn dead_letter_arn(&self) -> Result<Option<String>, AwsError> {
        Ok(self.redrive()?.map(|(arn, _)| arn))
    }
}

fn attributes_op(url: &str) -> Op {
    op(
        format!("reading the attributes of queue `{url}`"),
        "sqs:GetQueueAttributes",
    )
}

fn build_error(url: &str, e: aws_sdk_sqs::error::BuildError) -> AwsError {
    Op::from(format!("sending messages to `{url}`")).error("InvalidRequest", e.to_string())
}

impl Sqs {
    /// From a client made elsewhere: `Aws::sqs`, or a test's recorded answers.
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self { client }
    }

    /// `GetQueueAttributes`: the queue's ARN, settings and depth; `None` when the queue does not
    /// exist (any more).
    pub async fn queue(&self, url: &str) -> Result<Option<Queue>, AwsError> {
        let sent = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .attribute_names(QueueAttributeName::MessageRetentionPeriod)
            .attribute_names(QueueAttributeName::FifoQueue)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await;
        let Some(out) = sent
            .map_err(|e| aws_error(attributes_op(url), e))
            .or_none_if(AwsError::is_missing_queue)?
        else {
            return Ok(None);
        };
        let get = |k: QueueAttributeName| out.attributes().and_then(|a| a.get(&k)).cloned();
        let num = |k: QueueAttributeName, default: u64| {
            get(k).and_then(|v| v.parse().ok()).unwrap_or(default)
        };
        // SQS's defaults when an attribute is missing (Amazon SQS API Reference, `CreateQueue`).
        Ok(Some(Queue {
            url: url.to_string(),
            arn: get(QueueAttributeName::QueueArn).unwrap_or_default(),
            visibility_timeout_s: num(QueueAttributeName::VisibilityTimeout, 30),
            retention_s: num(QueueAttributeName::MessageRetentionPeriod, 345_600),
            fifo: get(QueueAttributeName::FifoQueue).is_some_and(|v| v == "true"),
            redrive_policy: get(QueueAttributeName::RedrivePolicy),
            depth: QueueDepth {
                visible: num(QueueAttributeName::ApproximateNumberOfMessages, 0),
                in_flight: num(QueueAttributeName::ApproximateNumberOfMessagesNotVisible, 0),
                delayed: num(QueueAttributeName::ApproximateNumberOfMessagesDelayed, 0),
            },
        }))
    }

    /// `GetQueueUrl`: the URL of the queue with this ARN (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`).
    pub async fn queue_url_of(&self, arn: &str) -> Result<Option<String>, AwsError> {
        let mut parts = arn.split(':');
        let (Some(account), Some(name)) = (parts.nth(4), parts.next()) else {
            return Ok(None);
        };
        let sent = self
            .client
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

    /// `SendMessageBatch`. `Ok` lists the entries SQS refused (by index into `entries`); `Err`
    /// is a call that failed as a whole.
    pub async fn send_batch(
        &self,
        url: &str,
        entries: &[Outgoing],
    ) -> Result<Vec<Refused>, AwsError> {
        let mut call = self.client.send_message_batch().queue_url(url);
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

    /// `ListQueues`: the URLs of the queues whose names start with `prefix`.
    pub async fn queues_named(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        self.client
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

    /// `ReceiveMessage`: up to `max` messages (at most 10), waiting up to `wait_s` seconds for
    /// the first.
    pub async fn receive(
        &self,
        url: &str,
        max: i32,
        wait_s: i32,
        visibility_s: i32,
    ) -> Result<Vec<Record>, AwsError> {
        let out = self
            .client
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

    /// `DeleteMessageBatch`: deletes received messages by receipt handle, ten a call; returns
    /// how many SQS refused.
    pub async fn delete_received(&self, url: &str, handles: &[String]) -> Result<usize, AwsError> {
        let mut refused = 0;
        for chunk in handles.chunks(10) {
            let mut call = self.client.delete_message_batch().queue_url(url);
            for (i, h) in chunk.iter().enumerate() {
                let entry = DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .build()
                    .map_err(|e| {
                        Op::from(format!("deleting messages from `{url}`"))
                            .error("InvalidRequest", e.to_string())
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

    /// `DeleteQueue`; `Ok(false)` when it was already gone.
    pub async fn delete_queue(&self, url: &str) -> Result<bool, AwsError> {
        let sent = self.client.delete_queue().queue_url(url).send().await;
        Ok(sent
            .map_err(|e| aws_error(format!("deleting queue `{url}`"), e))
            .or_none_if(AwsError::is_missing_queue)?
            .is_some())
    }
}

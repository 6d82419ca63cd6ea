//! CloudFormation: stacks, change sets, events, templates. Returns the project's own views.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, Tag, TemplateStage,
};
use aws_sdk_cloudformation::Client;
use serde::Serialize;

use super::{aws_error, AwsError, OrMissing};
use crate::core::changes::{Action, Change, Replacement};
use crate::core::status::StackStatus;

#[derive(Clone, Debug)]
pub struct Cfn {
    client: Client,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StackView {
    pub name: String,
    pub id: String,
    pub status: StackStatus,
    pub reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
    /// The stack's own tags, as the last update set them.
    pub tags: Vec<(String, String)>,
}

/// One stack event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventView {
    pub id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    /// Seconds since the Unix epoch, as AWS gave it.
    pub time: Option<f64>,
}

impl EventView {
    pub fn failed(&self) -> bool {
        self.status.ends_with("_FAILED")
    }

    /// "Resource creation cancelled" and the like: a consequence of another failure, never
    /// the cause (docs/pitfalls.md#p21).
    pub fn is_noise(&self) -> bool {
        let r = self.reason.as_deref().unwrap_or_default().to_lowercase();
        r.contains("cancelled")
            || r.contains("canceled")
            || r.is_empty()
            || r.starts_with("the following resource(s) failed")
    }
}

/// A change set as CloudFormation describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeSetState {
    Pending,
    Ready(Vec<Change>),
    /// The template and the stack are the same (docs/pitfalls.md#p20).
    NoChanges,
    Failed(String),
}

/// The three shapes of "no changes" (docs/pitfalls.md#p20), by their reason text.
pub fn means_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("The submitted information does not contain changes")
}

/// Where an operation's events begin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// After this event (the newest before the operation); `None`: every event.
    After(Option<String>),
    /// After the stack's REVIEW_IN_PROGRESS event: a new stack's first operation, which needs
    /// no read before it starts.
    AfterReview,
}

/// One of a stack's change sets, as ListChangeSets summarises it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeSetSummary {
    pub name: String,
    /// The ARN: what a delete names it by, unambiguously.
    pub id: String,
    /// `AVAILABLE`, `UNAVAILABLE`, `EXECUTE_IN_PROGRESS`, `EXECUTE_COMPLETE`, `EXECUTE_FAILED`,
    /// `OBSOLETE`, as AWS gave it.
    pub execution_status: String,
    /// `CREATE_PENDING`, `CREATE_IN_PROGRESS`, `CREATE_COMPLETE`, `DELETE_*` or `FAILED`.
    pub status: String,
    /// Milliseconds since the Unix epoch, as AWS gave it.
    pub created_ms: Option<i64>,
}

impl ChangeSetSummary {
    /// Executed, or executing: CloudFormation's own from then on.
    pub fn ran(&self) -> bool {
        matches!(
            self.execution_status.as_str(),
            "EXECUTE_IN_PROGRESS" | "EXECUTE_COMPLETE"
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// The change set's ARN: every later call names it by ARN, which is unambiguous.
    ChangeSet(String),
    NoChanges,
}

impl Cfn {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The stack by name, or `None` when there is none.
    pub async fn describe_stack(&self, name: &str) -> Result<Option<StackView>, AwsError> {
        let sent = self.client.describe_stacks().stack_name(name).send().await;
        let Some(out) = sent
            .map_err(|e| aws_error(format!("describing stack `{name}`"), e))
            .or_none_if(AwsError::is_missing_stack)?
        else {
            return Ok(None);
        };
        Ok(out.stacks().first().map(|s| StackView {
            name: s.stack_name().unwrap_or(name).to_string(),
            id: s.stack_id().unwrap_or_default().to_string(),
            status: StackStatus::parse(s.stack_status().map(|st| st.as_str()).unwrap_or("UNKNOWN")),
            reason: s.stack_status_reason().map(str::to_string),
            outputs: s
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
                .collect(),
            tags: s
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
        }))
    }

    pub async fn create_change_set(
        &self,
        stack: &str,
        change_set: &str,
        create: bool,
        template: &str,
        tags: &[(String, String)],
    ) -> Result<Created, AwsError> {
        let mut req = self
            .client
            .create_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            // A retry of this request (a timeout, a 5xx) is then the same change set, not a clash.
            .client_token(change_set)
            .change_set_type(if create {
                ChangeSetType::Create
            } else {
                ChangeSetType::Update
            })
            .template_body(template)
            .capabilities(Capability::CapabilityIam)
            .description("replatform up");
        for (k, v) in tags {
            req = req.tags(Tag::builder().key(k).value(v).build());
        }
        match req.send().await {
            Ok(out) => Ok(Created::ChangeSet(
                out.id().unwrap_or(change_set).to_string(),
            )),
            Err(e) => {
                let err = aws_error(format!("creating a change set for `{stack}`"), e);
                if err.code == "ValidationError" && means_no_changes(&err.message) {
                    Ok(Created::NoChanges)
                } else {
                    Err(err)
                }
            }
        }
    }

    pub async fn describe_change_set(
        &self,
        stack: &str,
        change_set: &str,
    ) -> Result<ChangeSetState, AwsError> {
        let mut changes = Vec::new();
        let mut pages = self
            .client
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| {
                aws_error(
                    format!("describing change set `{change_set}` of `{stack}`"),
                    e,
                )
            })?;
            match out.status() {
                Some(ChangeSetStatus::CreateComplete) => {}
                Some(ChangeSetStatus::Failed) => {
                    let reason = out.status_reason().unwrap_or("no reason given").to_string();
                    return Ok(if means_no_changes(&reason) {
                        ChangeSetState::NoChanges
                    } else {
                        ChangeSetState::Failed(reason)
                    });
                }
                Some(ChangeSetStatus::CreatePending)
                | Some(ChangeSetStatus::CreateInProgress)
                | None => return Ok(ChangeSetState::Pending),
                Some(other) => {
                    return Ok(ChangeSetState::Failed(format!(
                        "change set is {}",
                        other.as_str()
                    )))
                }
            }
            for c in out.changes() {
                let Some(rc) = c.resource_change() else {
                    continue;
                };
                let mut properties: Vec<String> = rc
                    .details()
                    .iter()
                    .filter_map(|d| d.target())
                    .map(|t| {
                        t.name()
                            .map(str::to_string)
                            .or_else(|| t.attribute().map(|a| a.as_str().to_string()))
                            .unwrap_or_default()
                    })
                    .filter(|n| !n.is_empty())
                    .collect();
                properties.dedup();
                changes.push(Change {
                    action: Action::of(rc.action().map(ChangeAction::as_str).unwrap_or("Unknown")),
                    logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: rc.resource_type().unwrap_or_default().to_string(),
                    replacement: rc.replacement().and_then(|r| Replacement::of(r.as_str())),
                    properties,
                });
            }
        }
        // No resource changes is not "no changes": Outputs, Metadata or the Description may
        // differ, and only executing the change set applies them. The caller decides.
        Ok(ChangeSetState::Ready(changes))
    }

    pub async fn execute_change_set(
        &self,
        stack: &str,
        change_set: &str,
        token: &str,
    ) -> Result<(), AwsError> {
        self.client
            .execute_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .client_request_token(token)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                aws_error(
                    format!("executing change set `{change_set}` of `{stack}`"),
                    e,
                )
            })
    }

    /// The stack's change sets, every page; none for a stack that does not exist. Only the
    /// stack's own: a summary naming another stack is passed over.
    pub async fn change_sets(&self, stack: &str) -> Result<Vec<ChangeSetSummary>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_change_sets()
            .stack_name(stack)
            .into_paginator()
            .send();
        while let Some(sent) = pages.next().await {
            let Some(page) = sent
                .map_err(|e| aws_error(format!("listing the change sets of `{stack}`"), e))
                .or_none_if(AwsError::is_missing_stack)?
            else {
                break;
            };
            for c in page.summaries() {
                let (Some(name), Some(id)) = (c.change_set_name(), c.change_set_id()) else {
                    continue;
                };
                if c.stack_name().is_some_and(|s| s != stack) {
                    continue;
                }
                out.push(ChangeSetSummary {
                    name: name.to_string(),
                    id: id.to_string(),
                    execution_status: c
                        .execution_status()
                        .map(|e| e.as_str().to_string())
                        .unwrap_or_default(),
                    status: c
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    created_ms: c.creation_time().and_then(|t| t.to_millis().ok()),
                });
            }
        }
        Ok(out)
    }

    /// Deletes a change set; one already gone is not an error.
    pub async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), AwsError> {
        let sent = self
            .client
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await;
        sent.map_err(|e| {
            aws_error(
                format!("deleting change set `{change_set}` of `{stack}`"),
                e,
            )
        })
        .or_none_if(AwsError::is_missing_change_set)
        .map(|_| ())
    }

    pub async fn delete_stack(&self, stack: &str, token: &str) -> Result<(), AwsError> {
        self.client
            .delete_stack()
            .stack_name(stack)
            .client_request_token(token)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error(format!("deleting stack `{stack}`"), e))
    }

    /// The newest event's id: what the next operation's events come after.
    pub async fn newest_event(&self, stack: &str) -> Result<Option<String>, AwsError> {
        let newest = self.stack_events(stack, 1, |_| false).await?;
        Ok(newest.into_iter().next().map(|e| e.id))
    }

    /// The events after `mark`, oldest first. Reads newest-first pages until it reaches the
    /// mark, at most `max_pages` pages.
    pub async fn events_after(
        &self,
        stack: &str,
        mark: &Mark,
        max_pages: usize,
    ) -> Result<Vec<EventView>, AwsError> {
        let mut events = self
            .stack_events(stack, max_pages, |e| match mark {
                Mark::After(m) => m.as_deref() == Some(e.id.as_str()),
                Mark::AfterReview => {
                    e.resource_type == "AWS::CloudFormation::Stack"
                        && e.status == "REVIEW_IN_PROGRESS"
                }
            })
            .await?;
        events.reverse();
        Ok(events)
    }

    /// `DescribeStackEvents`: the stack's events newest first, up to the first that `reached`
    /// says ends them (not included), at most `max_pages` pages; none for a missing stack.
    async fn stack_events(
        &self,
        stack: &str,
        max_pages: usize,
        reached: impl Fn(&EventView) -> bool,
    ) -> Result<Vec<EventView>, AwsError> {
        let mut events = Vec::new();
        let mut pages = self
            .client
            .describe_stack_events()
            .stack_name(stack)
            .into_paginator()
            .send();
        let mut read = 0;
        'pages: while read < max_pages {
            let Some(sent) = pages.next().await else {
                break;
            };
            read += 1;
            let Some(out) = sent
                .map_err(|e| aws_error(format!("reading events of `{stack}`"), e))
                .or_none_if(AwsError::is_missing_stack)?
            else {
                break;
            };
            for e in out.stack_events() {
                let event = EventView {
                    id: e.event_id().unwrap_or_default().to_string(),
                    logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: e.resource_type().unwrap_or_default().to_string(),
                    status: e
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: e.resource_status_reason().map(str::to_string),
                    time: e.timestamp().map(|t| t.as_secs_f64()),
                };
                if reached(&event) {
                    break 'pages;
                }
                events.push(event);
            }
        }
        Ok(events)
    }

    /// The template CloudFormation holds for the stack, as it was sent.
    pub async fn template(&self, stack: &str) -> Result<Option<String>, AwsError> {
        let sent = self
            .client
            .get_template()
            .stack_name(stack)
            .template_stage(TemplateStage::Original)
            .send()
            .await;
        let out = sent
            .map_err(|e| aws_error(format!("reading the template of `{stack}`"), e))
            .or_none_if(AwsError::is_missing_stack)?;
        Ok(out.and_then(|o| o.template_body().map(str::to_string)))
    }

    /// Logical id -> physical id of every resource in the stack.
    pub async fn resources(&self, stack: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let mut out = BTreeMap::new();
        let mut summaries = self
            .client
            .list_stack_resources()
            .stack_name(stack)
            .into_paginator()
            .items()
            .send();
        while let Some(r) = summaries.next().await {
            let r = r.map_err(|e| aws_error(format!("listing the resources of `{stack}`"), e))?;
            if let (Some(l), Some(p)) = (r.logical_resource_id(), r.physical_resource_id()) {
                out.insert(l.to_string(), p.to_string());
            }
        }
        Ok(out)
    }
}

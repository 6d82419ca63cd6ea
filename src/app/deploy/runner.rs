//! The one place that runs a plan against CloudFormation: prepares change sets, executes them,
//! deletes stacks, and watches each operation to its end, reporting its events as they come.
//!
//! Time comes from tokio's clock (`tokio::time`), which tests pause and advance; every wait is
//! a `tokio::time::sleep`. Polling starts at one second and backs off 1.5x to four (one
//! schedule, [`Settings::polls`], for change sets and stacks alike), and never reads a stack's
//! events more than once a second. Before an update's change set, the change sets an
//! interrupted earlier run left on the stack are deleted.

use std::collections::HashSet;
use std::time::Duration;

use backon::BackoffBuilder;
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::{sleep, Instant};

use crate::aws::cloudformation::{
    Cfn, ChangeSetState, ChangeSetSummary, Created, EventView, Mark, StackView,
};
use crate::aws::AwsError;
use crate::core::changes::Change;
use crate::core::plan::{plan, Plan};
use crate::core::status::StackStatus;
use crate::ui::progress::Reporter;

#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// How long to watch one operation before giving up on it (it goes on in CloudFormation).
    pub timeout: Duration,
    pub first_poll: Duration,
    pub max_poll: Duration,
    /// The least time between two reads of one stack's events.
    pub events_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3600),
            first_poll: Duration::from_secs(1),
            max_poll: Duration::from_secs(4),
            events_every: Duration::from_secs(1),
        }
    }
}

impl Settings {
    /// The waits between two polls of one operation: `first_poll`, then 1.5 times the last, at
    /// most `max_poll`, without end and without jitter.
    pub fn polls(&self) -> impl Iterator<Item = Duration> {
        backon::ExponentialBuilder::new()
            .with_min_delay(self.first_poll)
            .with_factor(1.5)
            .with_max_delay(self.max_poll)
            .without_max_times()
            .build()
    }
}

/// The time in a change set name of this tool (`replatform-<unix millis>-...`), if it has one.
fn named_millis(name: &str) -> Option<i64> {
    name.strip_prefix("replatform-")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// A change set that an earlier run of this tool made and never executed (an interrupt can
/// leave one: a CreateChangeSet still under way when the process stopped): named
/// `replatform-...`, made before this run (`run_ms`), and not executed or executing. A change set
/// of any other name is someone else's and never touched.
fn left_behind(c: &ChangeSetSummary, run_ms: i64) -> bool {
    c.name.starts_with("replatform-")
        && !c.ran()
        && named_millis(&c.name)
            .or(c.created_ms)
            .is_some_and(|made| made < run_ms)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    /// Delete a stack left by a failed create, then create it.
    Recreate,
}

/// A change set ready to execute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub stack: String,
    pub change_set: String,
    pub action: Action,
    pub changes: Vec<Change>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Preparation {
    /// Nothing to do; `deployed` is the stack as read to decide that, when it was read.
    NoChanges {
        stack: String,
        deployed: Option<StackView>,
    },
    Ready(Prepared),
}

/// What `diff` found for one stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Preview {
    /// Not deployed: every resource of the template would be created.
    New,
    /// Left by a failed create: it would be deleted and created again.
    Recreate(StackStatus),
    /// Deployed: these changes (none when the stack is up to date).
    Changes(Vec<Change>),
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("stack `{stack}` is {status}")]
    Failed {
        stack: String,
        status: StackStatus,
        root_cause: Option<EventView>,
        reason: Option<String>,
    },
    #[error("stack `{stack}` is {status}: nothing can be deployed to it as it is")]
    Blocked {
        stack: String,
        status: StackStatus,
        hint: String,
    },
    #[error("stopped watching stack `{stack}` after {}s; it was {}", waited.as_secs(), status.as_ref().map_or("unknown".to_string(), |s| s.to_string()))]
    Timeout {
        stack: String,
        waited: Duration,
        status: Option<StackStatus>,
    },
    #[error("CloudFormation refused the change set for `{stack}`: {reason}")]
    ChangeSet { stack: String, reason: String },
}

impl OpError {
    /// The error with what explains it: the root cause's event, or the stack's own reason.
    pub fn describe(&self) -> String {
        let mut message = self.to_string();
        if let OpError::Failed {
            root_cause, reason, ..
        } = self
        {
            match root_cause {
                Some(c) => message.push_str(&format!(
                    "\n  root cause: {} ({}) {}: {}",
                    c.logical_id,
                    c.resource_type,
                    c.status,
                    c.reason.as_deref().unwrap_or("no reason given")
                )),
                None => {
                    if let Some(r) = reason {
                        message.push_str(&format!("\n  reason: {r}"));
                    }
                }
            }
        }
        message
    }

    /// Prints the error, its cause and what to do.
    pub fn report(&self, printer: &crate::ui::printer::Printer) {
        printer.error(&self.describe(), self.hint().as_deref());
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            OpError::Aws(e) => e.hint(),
            OpError::Failed { stack, .. } => Some(format!("fix the cause above and run `replatform up` again; all events: `aws cloudformation describe-stack-events --stack-name {stack}`")),
            OpError::Blocked { hint, .. } => Some(hint.clone()),
            OpError::Timeout { .. } => Some("CloudFormation goes on without us: `replatform status` shows where it is; raise --timeout to wait longer".into()),
            OpError::ChangeSet { .. } => Some("the reason names the resource or property; fix the config or template and run again".into()),
        }
    }
}

/// The earliest failed event of an operation that is not a consequence of another failure
/// (docs/pitfalls.md#p21).
pub fn root_cause(events: &[EventView]) -> Option<&EventView> {
    events
        .iter()
        .find(|e| e.failed() && !e.is_noise())
        .or_else(|| events.iter().find(|e| e.failed()))
}

pub struct Runner<'a> {
    cfn: &'a Cfn,
    reporter: &'a dyn Reporter,
    settings: Settings,
    /// Names change sets and request tokens; unique per run (`replatform-<time>`).
    token: String,
    tags: Vec<(String, String)>,
    last_events_read: Mutex<Vec<(String, Instant)>>,
}

/// How an operation ended that did not fail.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    pub stack: Option<StackView>,
    pub events: Vec<EventView>,
}

impl<'a> Runner<'a> {
    pub fn new(
        cfn: &'a Cfn,
        reporter: &'a dyn Reporter,
        settings: Settings,
        token: String,
        tags: Vec<(String, String)>,
    ) -> Self {
        Self {
            cfn,
            reporter,
            settings,
            token,
            tags,
            last_events_read: Mutex::new(Vec::new()),
        }
    }

    fn change_set_name(&self, stack: &str) -> String {
        format!("{}-{stack}", self.token)
    }

    /// Brings the stack to a state that takes a change set (waiting, or deleting what a failed
    /// create left), then creates the change set and waits until CloudFormation has described it.
    pub async fn prepare(&self, stack: &str, template: &str) -> Result<Preparation, OpError> {
        let mut recreated = false;
        let mut deployed = None;
        let action = loop {
            let observed = self.cfn.describe_stack(stack).await?;
            match plan(stack, observed.as_ref().map(|s| &s.status)) {
                Plan::Create => {
                    break if recreated {
                        Action::Recreate
                    } else {
                        Action::Create
                    }
                }
                Plan::Update => {
                    deployed = observed;
                    break Action::Update;
                }
                Plan::Wait(status) => {
                    self.reporter
                        .note(stack, &format!("waiting: the stack is {status}"));
                    self.watch(stack, None).await?;
                }
                Plan::Recreate(status) => {
                    self.reporter.note(stack, &format!("the stack is {status}, left by an earlier failed create: deleting it to create it again"));
                    self.delete_existing(stack).await?;
                    recreated = true;
                }
                Plan::Blocked { status, hint } => {
                    return Err(OpError::Blocked {
                        stack: stack.to_string(),
                        status,
                        hint,
                    })
                }
            }
        };
        let create = action != Action::Update;
        // A stack about to be created has no change sets; one deleted to be created again lost
        // them with it.
        if !create {
            self.sweep(stack).await;
        }
        if let Some(d) = &deployed {
            if self.up_to_date(stack, d, template).await? {
                return Ok(Preparation::NoChanges {
                    stack: stack.to_string(),
                    deployed,
                });
            }
        }
        let name = match self
            .cfn
            .create_change_set(
                stack,
                &self.change_set_name(stack),
                create,
                template,
                &self.tags,
            )
            .await?
        {
            Created::NoChanges => {
                return Ok(Preparation::NoChanges {
                    stack: stack.to_string(),
                    deployed: None,
                })
            }
            Created::ChangeSet(id) => id,
        };
        match self.await_change_set(stack, &name).await? {
            // No resource changes: executed only when the deployed template differs (Outputs,
            // Metadata, Description), so that after `up` the deployed template is the rendered one.
            ChangeSetState::Ready(changes)
                if changes.is_empty()
                    && action == Action::Update
                    && self.deployed_is(stack, template).await? =>
            {
                self.cfn.delete_change_set(stack, &name).await?;
                Ok(Preparation::NoChanges {
                    stack: stack.to_string(),
                    deployed: None,
                })
            }
            ChangeSetState::Ready(changes) => Ok(Preparation::Ready(Prepared {
                stack: stack.to_string(),
                change_set: name,
                action,
                changes,
            })),
            ChangeSetState::Failed(reason) => {
                self.discard(&Prepared {
                    stack: stack.to_string(),
                    change_set: name,
                    action,
                    changes: vec![],
                })
                .await?;
                Err(OpError::ChangeSet {
                    stack: stack.to_string(),
                    reason,
                })
            }
            ChangeSetState::NoChanges | ChangeSetState::Pending => {
                self.cfn.delete_change_set(stack, &name).await?;
                Ok(Preparation::NoChanges {
                    stack: stack.to_string(),
                    deployed: None,
                })
            }
        }
    }

    /// What `up` would do to the stack, changing nothing: a change set that is described and
    /// deleted, never executed. A stack that does not exist is not touched.
    pub async fn preview(&self, stack: &str, template: &str) -> Result<Preview, OpError> {
        let observed = self.cfn.describe_stack(stack).await?;
        match plan(stack, observed.as_ref().map(|s| &s.status)) {
            Plan::Create => Ok(Preview::New),
            Plan::Recreate(status) => Ok(Preview::Recreate(status)),
            Plan::Wait(status) => Err(OpError::Blocked {
                stack: stack.to_string(),
                status,
                hint: "wait until CloudFormation finishes with it, then compare again".into(),
            }),
            Plan::Blocked { status, hint } => Err(OpError::Blocked {
                stack: stack.to_string(),
                status,
                hint,
            }),
            Plan::Update => {
                if let Some(d) = &observed {
                    if self.up_to_date(stack, d, template).await? {
                        return Ok(Preview::Changes(vec![]));
                    }
                }
                let name = match self
                    .cfn
                    .create_change_set(
                        stack,
                        &self.change_set_name(stack),
                        false,
                        template,
                        &self.tags,
                    )
                    .await?
                {
                    Created::NoChanges => return Ok(Preview::Changes(vec![])),
                    Created::ChangeSet(id) => id,
                };
                let state = self.await_change_set(stack, &name).await;
                self.cfn.delete_change_set(stack, &name).await?;
                match state? {
                    ChangeSetState::Ready(changes) => Ok(Preview::Changes(changes)),
                    ChangeSetState::NoChanges | ChangeSetState::Pending => {
                        Ok(Preview::Changes(vec![]))
                    }
                    ChangeSetState::Failed(reason) => Err(OpError::ChangeSet {
                        stack: stack.to_string(),
                        reason,
                    }),
                }
            }
        }
    }

    /// Deletes the change sets earlier runs left on the stack ([`left_behind`]), each said in a
    /// note. Housekeeping: a failure is said and the deploy goes on.
    async fn sweep(&self, stack: &str) {
        let Some(run_ms) = named_millis(&self.token) else {
            return;
        };
        let listed = match self.cfn.change_sets(stack).await {
            Ok(l) => l,
            Err(e) => return self.reporter.note(stack, &format!("could not list its change sets to delete those an interrupted run left ({e}); going on")),
        };
        for c in listed.iter().filter(|c| left_behind(c, run_ms)) {
            match self.cfn.delete_change_set(stack, &c.id).await {
                Ok(()) => self.reporter.note(stack, &format!("deleted change set `{}` ({}, {}), left by an earlier run that did not finish", c.name, c.status, c.execution_status)),
                Err(e) => self.reporter.note(stack, &format!("could not delete change set `{}` left by an earlier run ({e}); going on", c.name)),
            }
        }
    }

    /// Whether the deployed stack already is what an update would make it: its template is
    /// `template` and its tags are the config's. Then a change set could find nothing to do, and
    /// none is made: CloudFormation takes seconds to describe one (about a second on moto),
    /// while the template is one read. An update here is made of the template and the tags
    /// alone (no parameters, the same capabilities), so nothing else could differ; drift is not
    /// something a change set sees either (AWS CloudFormation User Guide, "Update stacks using
    /// change sets").
    async fn up_to_date(
        &self,
        stack: &str,
        deployed: &StackView,
        template: &str,
    ) -> Result<bool, AwsError> {
        let mut wanted = self.tags.clone();
        let mut carried = deployed.tags.clone();
        wanted.sort();
        carried.sort();
        Ok(wanted == carried && self.deployed_is(stack, template).await?)
    }

    /// Whether the stack's deployed template is `template`, byte for byte but trailing space.
    async fn deployed_is(&self, stack: &str, template: &str) -> Result<bool, AwsError> {
        Ok(self
            .cfn
            .template(stack)
            .await?
            .is_some_and(|t| t.trim_end() == template.trim_end()))
    }

    /// Polls a change set until CloudFormation has finished describing it.
    async fn await_change_set(&self, stack: &str, name: &str) -> Result<ChangeSetState, OpError> {
        let start = Instant::now();
        let mut polls = self.settings.polls();
        loop {
            let state = self.cfn.describe_change_set(stack, name).await?;
            if state != ChangeSetState::Pending {
                return Ok(state);
            }
            if start.elapsed() > self.settings.timeout {
                return Err(OpError::Timeout {
                    stack: stack.to_string(),
                    waited: start.elapsed(),
                    status: None,
                });
            }
            sleep(polls.next().unwrap_or(self.settings.max_poll)).await;
        }
    }

    /// Drops a change set that will not run; for a new stack, also the empty stack that holds
    /// it, so the next `up` starts clean.
    pub async fn discard(&self, p: &Prepared) -> Result<(), AwsError> {
        self.cfn.delete_change_set(&p.stack, &p.change_set).await?;
        if p.action != Action::Update {
            if let Some(s) = self.cfn.describe_stack(&p.stack).await? {
                if s.status == StackStatus::ReviewInProgress {
                    self.cfn
                        .delete_stack(&p.stack, &format!("{}-discard", self.token))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// After an interrupt: deletes this run's change sets that did not run (by name, so also
    /// one whose creation was still under way) and the empty stack a new stack's change set
    /// made; returns the stacks CloudFormation is still working on. Errors are passed over: the
    /// next `up` converges from whatever is left.
    pub async fn abandon(&self, stacks: &[String]) -> Vec<(String, StackStatus)> {
        let mut running = Vec::new();
        for stack in stacks {
            let _ = self
                .cfn
                .delete_change_set(stack, &self.change_set_name(stack))
                .await;
            match self.cfn.describe_stack(stack).await {
                Ok(Some(s)) if s.status == StackStatus::ReviewInProgress => {
                    let _ = self
                        .cfn
                        .delete_stack(stack, &format!("{}-abandon", self.token))
                        .await;
                }
                Ok(Some(s)) if s.status.in_progress() => running.push((stack.clone(), s.status)),
                _ => {}
            }
        }
        running
    }

    /// Executes a prepared change set and watches it to the end.
    pub async fn execute(&self, p: &Prepared) -> Result<Finished, OpError> {
        // A new stack's events start after its REVIEW_IN_PROGRESS: nothing to read first. An
        // update's start after the newest event now.
        let mark = match p.action {
            Action::Create | Action::Recreate => Mark::AfterReview,
            Action::Update => {
                let newest = self.cfn.newest_event(&p.stack).await?;
                self.mark_events_read(&p.stack).await;
                Mark::After(newest)
            }
        };
        self.reporter.begin(
            &p.stack,
            match p.action {
                Action::Create | Action::Recreate => "creating",
                Action::Update => "updating",
            },
        );
        self.cfn
            .execute_change_set(&p.stack, &p.change_set, &format!("{}-execute", self.token))
            .await?;
        let done = self.watch(&p.stack, Some(mark)).await?;
        let status = done
            .stack
            .as_ref()
            .map(|s| s.status.clone())
            .unwrap_or(StackStatus::DeleteComplete);
        if status.succeeded() && status != StackStatus::DeleteComplete {
            self.reporter.end(&p.stack, status.as_str(), true);
            Ok(done)
        } else {
            self.reporter.end(&p.stack, status.as_str(), false);
            Err(OpError::Failed {
                stack: p.stack.clone(),
                root_cause: root_cause(&done.events).cloned(),
                reason: done.stack.and_then(|s| s.reason),
                status,
            })
        }
    }

    /// Deletes a stack and watches it go. `Ok(false)` when there was none.
    pub async fn delete(&self, stack: &str) -> Result<bool, OpError> {
        let Some(observed) = self.cfn.describe_stack(stack).await? else {
            self.reporter.end(stack, "does not exist", true);
            return Ok(false);
        };
        if observed.status.in_progress() && observed.status != StackStatus::DeleteInProgress {
            self.reporter
                .note(stack, &format!("waiting: the stack is {}", observed.status));
            self.watch(stack, None).await?;
        }
        self.delete_existing(stack).await?;
        self.reporter.end(stack, "DELETE_COMPLETE", true);
        Ok(true)
    }

    async fn delete_existing(&self, stack: &str) -> Result<(), OpError> {
        let mark = self.cfn.newest_event(stack).await?;
        self.mark_events_read(stack).await;
        self.reporter.begin(stack, "deleting");
        self.cfn
            .delete_stack(stack, &format!("{}-delete", self.token))
            .await?;
        let done = self.watch(stack, Some(Mark::After(mark))).await?;
        match done.stack {
            None => Ok(()),
            Some(s) if s.status == StackStatus::DeleteComplete => Ok(()),
            Some(s) => {
                self.reporter.end(stack, s.status.as_str(), false);
                Err(OpError::Failed {
                    stack: stack.to_string(),
                    root_cause: root_cause(&done.events).cloned(),
                    reason: s.reason,
                    status: s.status,
                })
            }
        }
    }

    async fn mark_events_read(&self, stack: &str) {
        let mut last = self.last_events_read.lock().await;
        last.retain(|(s, _)| s != stack);
        last.push((stack.to_string(), Instant::now()));
    }

    /// Waits until a second has passed since this stack's events were last read.
    async fn pace_events(&self, stack: &str) {
        let due = {
            let last = self.last_events_read.lock().await;
            last.iter()
                .find(|(s, _)| s == stack)
                .map(|(_, at)| *at + self.settings.events_every)
        };
        if let Some(due) = due {
            tokio::time::sleep_until(due).await;
        }
        self.mark_events_read(stack).await;
    }

    /// Follows a stack until no operation is in progress, reporting each new event once.
    /// `mark`: where the operation's events begin; `None` for someone else's operation, whose
    /// events from now on are news.
    async fn watch(&self, stack: &str, mark: Option<Mark>) -> Result<Finished, OpError> {
        let start = Instant::now();
        let mut polls = self.settings.polls();
        let mut seen: HashSet<String> = HashSet::new();
        let mut events: Vec<EventView> = Vec::new();
        let mark = match mark {
            Some(m) => m,
            None => {
                self.pace_events(stack).await;
                Mark::After(self.cfn.newest_event(stack).await?)
            }
        };
        loop {
            self.pace_events(stack).await;
            for e in self.cfn.events_after(stack, &mark, 10).await? {
                if seen.insert(e.id.clone()) {
                    self.reporter.event(stack, &e);
                    events.push(e);
                }
            }
            let view = self.cfn.describe_stack(stack).await?;
            let settled = view.as_ref().is_none_or(|s| !s.status.in_progress());
            if settled {
                return Ok(Finished {
                    stack: view,
                    events,
                });
            }
            if start.elapsed() >= self.settings.timeout {
                return Err(OpError::Timeout {
                    stack: stack.to_string(),
                    waited: start.elapsed(),
                    status: view.map(|s| s.status),
                });
            }
            sleep(polls.next().unwrap_or(self.settings.max_poll)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_start_at_a_second_and_grow_half_again_to_four() {
        let waits: Vec<f64> = Settings::default()
            .polls()
            .take(7)
            .map(|d| d.as_secs_f64())
            .collect();
        assert_eq!(waits, [1.0, 1.5, 2.25, 3.375, 4.0, 4.0, 4.0]);
    }

    fn summary(name: &str, execution: &str, created_ms: Option<i64>) -> ChangeSetSummary {
        ChangeSetSummary {
            name: name.into(),
            id: format!("arn:{name}"),
            execution_status: execution.into(),
            status: "CREATE_COMPLETE".into(),
            created_ms,
        }
    }

    #[test]
    fn left_behind_is_an_older_unexecuted_change_set_of_this_tool() {
        let run = 1_795_000_000_000;
        for status in ["AVAILABLE", "UNAVAILABLE", "EXECUTE_FAILED", "OBSOLETE"] {
            assert!(
                left_behind(
                    &summary(
                        "replatform-1794999999999-orders-worker-lambda",
                        status,
                        None
                    ),
                    run
                ),
                "{status}"
            );
            assert!(
                left_behind(
                    &summary(
                        "replatform-1794999999999-diff-orders-worker-lambda",
                        status,
                        None
                    ),
                    run
                ),
                "diff's, {status}"
            );
        }
        for status in ["EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE"] {
            assert!(
                !left_behind(
                    &summary("replatform-1-orders-worker-lambda", status, None),
                    run
                ),
                "{status} is CloudFormation's"
            );
        }
        assert!(
            !left_behind(
                &summary(
                    "replatform-1795000000000-orders-worker-lambda",
                    "AVAILABLE",
                    None
                ),
                run
            ),
            "this run's own"
        );
        assert!(
            !left_behind(
                &summary(
                    "replatform-1795000000001-orders-worker-lambda",
                    "AVAILABLE",
                    None
                ),
                run
            ),
            "a later run's"
        );
        assert!(
            !left_behind(&summary("mine", "AVAILABLE", Some(1)), run),
            "a person's"
        );
        assert!(
            !left_behind(&summary("replatformed-1-x", "AVAILABLE", Some(1)), run),
            "a person's, by prefix"
        );
        // No time in the name: its creation time decides.
        assert!(left_behind(
            &summary("replatform-x", "AVAILABLE", Some(run - 1)),
            run
        ));
        assert!(!left_behind(
            &summary("replatform-x", "AVAILABLE", Some(run)),
            run
        ));
        assert!(
            !left_behind(&summary("replatform-x", "AVAILABLE", None), run),
            "no time at all: kept"
        );
    }
}

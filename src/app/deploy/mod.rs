//! Deploying: the one place that sequences CloudFormation for `up` (change sets for every stack,
//! the queue guard, the question, execute, outputs) and for `diff` (change sets described and
//! deleted). [`runner`] runs and watches each operation.

pub mod runner;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use futures::future::join_all;
use serde::Serialize;

pub use runner::{
    root_cause, Action, Finished, OpError, Preparation, Prepared, Preview, Runner, Settings,
};

use super::deployed::facts;
use super::guard::{queue_risks, QueueRisk};
use super::pipeline::{self, ImageMode};
use super::workspace::{reporter, run_token, Workspace};
use super::Only;
use crate::aws::cloudformation::{Cfn, StackView};
use crate::aws::sqs::Sqs;
use crate::core::changes::{self, Change};
use crate::core::outcome::{DiffState, StackResult};
use crate::core::render::RenderedStack;
use crate::core::side::Side;
use crate::error::Failure;
use crate::image::Report;
use crate::ui::printer::Printer;
use crate::ui::progress::{Reporter, Silent};
use crate::ui::prompt::Ask;
use crate::ui::tables;

/// What `up` did to one stack.
#[derive(Clone, Debug, Serialize)]
pub struct StackReport {
    pub name: String,
    pub kind: String,
    /// `create`, `update`, `recreate`, or none when nothing changed.
    pub action: Option<Action>,
    pub result: StackResult,
    pub status: Option<String>,
    pub changes: Vec<Change>,
    /// Queues the changes replace or remove, with what they hold.
    pub queue_risks: Vec<QueueRisk>,
    pub outputs: BTreeMap<String, String>,
    pub error: Option<String>,
}

/// What `up` may do without asking.
#[derive(Clone, Copy, Debug, Default)]
pub struct Consent {
    /// `--yes`: replace or remove resources without the question.
    pub yes: bool,
    /// `--allow-queue-replacement`: a change may replace or remove a queue.
    pub queue_replacement: bool,
}

/// The end of an `up` that was not interrupted: every stack's report, and the failure (already
/// shown, or a refusal that changed nothing) if it did not succeed.
pub struct Deployed {
    pub stacks: Vec<StackReport>,
    pub failure: Option<Failure>,
}

/// `up`: the pipeline (config, image, render), then [`apply`] with the terminal's questions and
/// the process's signals. `Err` is an interrupt, or a failure before any stack was touched.
pub async fn up(
    ws: &Workspace,
    image_uri: Option<&str>,
    only: Option<Only>,
    rebuild: bool,
    consent: Consent,
    timeout: Duration,
    printer: &Printer,
) -> Result<(Report, Deployed), Failure> {
    // The handlers from the start: a signal at any point is this command's to handle.
    let stop = crate::signal::Stop::on_signals();
    let ready = tokio::select! {
        r = pipeline::prepare(ws, image_uri, only, ImageMode::Deploy { rebuild }, printer) => r?,
        signal = stop.signalled() => {
            return Err(Failure::interrupted(format!("interrupted ({signal}) before any stack was touched")).hint("run `replatform up` again"));
        }
    };
    let cfn = ready.aws.cfn();
    let services = ready.aws.sqs();
    let names: Vec<String> = ready.stacks.iter().map(|s| s.name.clone()).collect();
    let reporter = reporter(printer, &names);
    let settings = Settings {
        timeout,
        ..Settings::default()
    };
    let runner = Runner::new(
        &cfn,
        reporter.as_ref(),
        settings,
        run_token(),
        stack_tags(&ready.loaded.config),
    );
    let deployed = apply(
        &runner,
        &cfn,
        &services,
        &ready.stacks,
        consent,
        reporter.as_ref(),
        printer,
        &crate::ui::prompt::terminal,
        stop.signalled(),
    )
    .await?;
    Ok((ready.image, deployed))
}

/// Deploys rendered stacks: a change set for every stack first (nothing runs until every change
/// is known), the queue guard, the question for changes that replace or remove resources, then
/// every change set executed at once and watched. On `interrupt` the change sets not executed
/// are deleted and `Err` says what CloudFormation goes on with.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    runner: &Runner<'_>,
    cfn: &Cfn,
    services: &Sqs,
    stacks: &[RenderedStack],
    consent: Consent,
    reporter: &dyn Reporter,
    printer: &Printer,
    ask: Ask<'_>,
    interrupt: impl Future<Output = &'static str>,
) -> Result<Deployed, Failure> {
    let names: Vec<String> = stacks.iter().map(|s| s.name.clone()).collect();
    let work = async {
        let prepared = join_all(stacks.iter().map(|s| runner.prepare(&s.name, &s.template))).await;
        // Whatever waited during the preparation is over: no line keeps turning under the changes.
        reporter.pause();
        let mut reports: Vec<StackReport> = stacks
            .iter()
            .map(|s| StackReport {
                name: s.name.clone(),
                kind: s.kind.clone(),
                action: None,
                result: StackResult::Unchanged,
                status: None,
                changes: vec![],
                queue_risks: vec![],
                outputs: BTreeMap::new(),
                error: None,
            })
            .collect();
        let mut ready: Vec<Prepared> = Vec::new();
        let mut failed = false;
        // The stacks found unchanged as they were read then: their status and outputs.
        let mut unchanged: BTreeMap<String, StackView> = BTreeMap::new();
        for (report, p) in reports.iter_mut().zip(prepared) {
            match p {
                Ok(Preparation::NoChanges { stack, deployed }) => {
                    if let Some(d) = deployed {
                        unchanged.insert(stack, d);
                    }
                }
                Ok(Preparation::Ready(p)) => {
                    printer.debug(format!("{}: change set {}", p.stack, p.change_set));
                    report.action = Some(p.action);
                    report.changes = p.changes.clone();
                    report.result = StackResult::NotExecuted;
                    ready.push(p);
                }
                Err(e) => {
                    e.report(printer);
                    report.result = StackResult::Failed;
                    report.error = Some(e.to_string());
                    failed = true;
                }
            }
        }
        if !printer.is_json() {
            for r in &reports {
                show_changes(printer, r);
            }
        }
        let refused = |reports: Vec<StackReport>, failure: Failure| {
            Ok(Deployed {
                stacks: reports,
                failure: Some(failure),
            })
        };
        if failed {
            discard_all(runner, &ready, printer).await;
            return refused(reports, Failure::reported());
        }
        // Queues are data: a change that replaces or removes one needs its own flag, --yes or not.
        for p in &ready {
            let risks = queue_risks(cfn, services, &p.stack, &p.changes).await;
            for r in &risks {
                printer.warning(&r.describe());
            }
            if let Some(report) = reports.iter_mut().find(|r| r.name == p.stack) {
                report.queue_risks = risks;
            }
        }
        let risks: Vec<&QueueRisk> = reports.iter().flat_map(|r| r.queue_risks.iter()).collect();
        if !risks.is_empty() && !consent.queue_replacement {
            let n = risks.len();
            discard_all(runner, &ready, printer).await;
            return refused(
                reports,
                Failure::new(format!("refusing to replace or remove {n} queue{}: nothing was changed", if n == 1 { "" } else { "s" }))
                    .hint("the old queue and its messages would be left behind; drain it first, or pass --allow-queue-replacement to go ahead"),
            );
        }
        for r in &risks {
            printer.info(r.aftermath());
        }
        let destructive = ready
            .iter()
            .flat_map(|p| p.changes.iter())
            .filter(|c| c.destructive())
            .count();
        if destructive > 0 && !consent.yes {
            let question = format!(
                "{destructive} change{} above replace or remove resources. Go ahead?",
                if destructive == 1 { "" } else { "s" }
            );
            let answer = match ask(question).await {
                Ok(a) => a,
                Err(signal) => {
                    discard_all(runner, &ready, printer).await;
                    return Err(Failure::interrupted(format!(
                        "interrupted ({signal}) at the question: nothing was changed"
                    )));
                }
            };
            let refusal = match answer {
                Some(true) => None,
                Some(false) => Some(Failure::new("nothing was changed").hint("run again and answer `y`, or pass --yes")),
                None => Some(
                    Failure::new("these changes replace or remove resources, and there is no terminal to confirm them: nothing was changed")
                        .hint("review the changes above (or `replatform diff`), then run again with --yes"),
                ),
            };
            if let Some(f) = refusal {
                discard_all(runner, &ready, printer).await;
                return refused(reports, f);
            }
        }

        let results = join_all(ready.iter().map(|p| runner.execute(p))).await;
        for (p, result) in ready.iter().zip(results) {
            let report = reports
                .iter_mut()
                .find(|r| r.name == p.stack)
                .expect("every prepared stack has a report");
            match result {
                Ok(done) => {
                    report.result = if p.action == Action::Update {
                        StackResult::Updated
                    } else {
                        StackResult::Created
                    };
                    report.status = done.stack.as_ref().map(|s| s.status.to_string());
                    let outputs = done.stack.map(|s| s.outputs).unwrap_or_default();
                    report.outputs = facts(cfn, &p.stack, &outputs).await.unwrap_or(outputs);
                }
                Err(e) => {
                    e.report(printer);
                    report.result = StackResult::Failed;
                    report.error = Some(e.to_string());
                    match &e {
                        OpError::Failed { status, .. } => report.status = Some(status.to_string()),
                        // The execute call itself failed: the change set may not have run; one
                        // that did not is removed, so that the next `up` starts clean.
                        OpError::Aws(_) => {
                            let _ = runner.discard(p).await;
                        }
                        _ => {}
                    }
                    failed = true;
                }
            }
        }
        // Unchanged stacks: their outputs too, so the end of `up` always shows them all.
        for r in reports
            .iter_mut()
            .filter(|r| r.result == StackResult::Unchanged)
        {
            let read = match unchanged.remove(&r.name) {
                Some(s) => Some(s),
                None => cfn.describe_stack(&r.name).await.ok().flatten(),
            };
            if let Some(s) = read {
                r.status = Some(s.status.to_string());
                r.outputs = facts(cfn, &r.name, &s.outputs).await.unwrap_or(s.outputs);
            }
        }
        Ok(Deployed {
            stacks: reports,
            failure: failed.then(Failure::reported),
        })
    };
    tokio::select! {
        outcome = work => outcome,
        signal = interrupt => Err(interrupted(runner, reporter, &names, signal).await),
    }
}

/// After SIGINT or SIGTERM: the change sets not executed are deleted; what CloudFormation is
/// still doing goes on, and the next `up` waits for it and converges.
async fn interrupted(
    runner: &Runner<'_>,
    reporter: &dyn Reporter,
    names: &[String],
    signal: &str,
) -> Failure {
    reporter.pause();
    let running = runner.abandon(names).await;
    if running.is_empty() {
        return Failure::interrupted(format!("interrupted ({signal}): the change sets not executed were deleted; no stack is changing")).hint("`replatform up` starts again from what is deployed");
    }
    let list = running
        .iter()
        .map(|(s, st)| format!("{s} ({st})"))
        .collect::<Vec<_>>()
        .join(", ");
    Failure::interrupted(format!("interrupted ({signal}): CloudFormation goes on with {list}; the change sets not executed were deleted"))
        .hint("`replatform status` shows where it is; `replatform up` waits for it, then converges")
}

/// Drops change sets that will not run, so that nothing is left half-done.
async fn discard_all(runner: &Runner<'_>, ready: &[Prepared], printer: &Printer) {
    for p in ready {
        if let Err(e) = runner.discard(p).await {
            printer.warning(&format!(
                "could not clean up change set `{}` of `{}`: {e}",
                p.change_set, p.stack
            ));
        }
    }
}

/// The changes of one stack, as a table, before anything runs.
fn show_changes(printer: &Printer, r: &StackReport) {
    match r.action {
        None if r.result == StackResult::Unchanged => {
            printer.info(format!("{}: no changes", r.name))
        }
        None => {}
        Some(action) => {
            let verb = match action {
                Action::Create => "create",
                Action::Update => "update",
                Action::Recreate => "delete the failed stack and create",
            };
            if r.changes.is_empty() {
                printer.info(format!("{}: {verb} the template's outputs, metadata or description (no resource changes)", r.name));
                return;
            }
            printer.info(format!(
                "{}: {verb}, {} change{}",
                r.name,
                r.changes.len(),
                if r.changes.len() == 1 { "" } else { "s" }
            ));
            printer.info(tables::indent(&tables::changes(&r.changes)));
            if let Some(note) = crate::core::changes::production_note(&r.changes) {
                printer.info(note);
            }
        }
    }
}

/// What `diff` found for one stack.
#[derive(Clone, Debug, Serialize)]
pub struct StackDiff {
    pub name: String,
    pub kind: String,
    pub state: DiffState,
    pub changes: Vec<Change>,
    /// Queues the changes replace or remove, with what they hold: data loss, which `up` refuses
    /// without --allow-queue-replacement.
    pub data_loss: Vec<QueueRisk>,
    pub template_diff: Option<String>,
    pub error: Option<String>,
}

/// `diff`'s answer: per stack what `up` would do, and the image.
#[derive(Serialize)]
pub struct Diff {
    pub changed: bool,
    pub image: Report,
    pub stacks: Vec<StackDiff>,
    /// With a `production:` section: who consumes the production queue now, as `status` says.
    pub production: Option<super::deployed::ProductionReport>,
    /// A stack could not be compared (its error was shown).
    #[serde(skip)]
    pub failed: bool,
}

/// Both stacks' tags, which CloudFormation puts on every resource that takes tags: replatform's
/// own `replatform:service`, then the config's `tags`.
pub fn stack_tags(c: &crate::core::config::Config) -> Vec<(String, String)> {
    let mut tags = vec![(
        crate::core::config::SERVICE_TAG.to_string(),
        c.service.clone(),
    )];
    tags.extend(c.tags.iter().map(|(k, v)| (k.clone(), v.0.clone())));
    tags
}

/// `diff`: per stack, the change set `up` would execute (created, described and deleted, never
/// executed) and the text difference between the deployed and rendered templates.
pub async fn diff(
    ws: &Workspace,
    image_uri: Option<&str>,
    only: Option<Only>,
    printer: &Printer,
) -> Result<Diff, Failure> {
    let ready = pipeline::prepare(ws, image_uri, only, ImageMode::Preview, printer).await?;
    let cfn = ready.aws.cfn();
    let services = ready.aws.sqs();
    let runner = Runner::new(
        &cfn,
        &Silent,
        Settings::default(),
        format!("{}-diff", run_token()),
        stack_tags(&ready.loaded.config),
    );
    let previews = join_all(ready.stacks.iter().map(|s| async {
        let preview = runner.preview(&s.name, &s.template).await;
        let deployed = match &preview {
            Ok(Preview::Changes(_)) => cfn.template(&s.name).await.ok().flatten(),
            _ => None,
        };
        (preview, deployed)
    }))
    .await;

    let mut stacks = Vec::new();
    let mut failed = false;
    for (s, (preview, deployed)) in ready.stacks.iter().zip(previews) {
        let mut d = StackDiff {
            name: s.name.clone(),
            kind: s.kind.clone(),
            state: DiffState::Unchanged,
            changes: vec![],
            data_loss: vec![],
            template_diff: None,
            error: None,
        };
        match preview {
            Ok(Preview::New) | Ok(Preview::Recreate(_)) => {
                d.state = if matches!(preview, Ok(Preview::New)) {
                    DiffState::New
                } else {
                    DiffState::Recreate
                };
                d.changes = changes::creations(&s.template)
                    .map_err(|e| Failure::new(format!("reading the rendered `{}`: {e}", s.name)))?;
            }
            Ok(Preview::Changes(rows)) => {
                d.template_diff =
                    deployed.and_then(|old| changes::template_diff(&old, &s.template, &s.name));
                // No resource changes but another template: Outputs, Metadata or Description,
                // which `up` applies too.
                d.state = if rows.is_empty() && d.template_diff.is_none() {
                    DiffState::Unchanged
                } else {
                    DiffState::Changed
                };
                d.data_loss = queue_risks(&cfn, &services, &s.name, &rows).await;
                d.changes = rows;
            }
            Err(e) => {
                e.report(printer);
                d.state = DiffState::Error;
                d.error = Some(e.to_string());
                failed = true;
            }
        }
        stacks.push(d);
    }
    let changed = stacks.iter().any(|d| d.state.changes());
    // Who consumes the production queue now: worth showing, not worth failing for.
    let config = &ready.loaded.config;
    let function = stacks
        .iter()
        .any(|d| Side::of(&d.kind) == Some(Side::Lambda) && d.state.deployed())
        .then_some(config.service.as_str());
    let production = super::deployed::production_status(&ready.aws, config, function)
        .await
        .ok()
        .flatten();
    Ok(Diff {
        changed,
        image: ready.image,
        stacks,
        production,
        failed,
    })
}

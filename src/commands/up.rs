//! `replatform up`: render, lint, then deploy the stacks concurrently through change sets.

use std::collections::BTreeMap;
use std::process::ExitCode;

use futures::future::join_all;
use serde::Serialize;

use super::guard::{queue_risks, QueueRisk};
use super::{facts, report_op_error, reporter, run_token, Failure, Global, Outcome};
use crate::apply::{Action, Preparation, Prepared, Runner, Settings};
use crate::cli::UpArgs;
use crate::core::changes::Change;
use crate::image::Report;
use crate::pipeline::ImageMode;
use crate::signal::Stop;
use crate::ui::printer::Printer;
use crate::ui::tables;

#[derive(Serialize)]
struct StackReport {
    name: String,
    kind: String,
    /// `create`, `update`, `recreate`, or none when nothing changed.
    action: Option<Action>,
    /// `created`, `updated`, `unchanged`, `failed`, `not-executed`.
    result: &'static str,
    status: Option<String>,
    changes: Vec<Change>,
    /// Queues the changes replace or remove, with what they hold.
    queue_risks: Vec<QueueRisk>,
    outputs: BTreeMap<String, String>,
    error: Option<String>,
}

pub async fn run(args: UpArgs, g: &Global, printer: &Printer) -> Outcome {
    let UpArgs { image_uri, only, yes, timeout, rebuild, allow_queue_replacement } = args;
    let stop = Stop::on_signals();
    let ready = tokio::select! {
        r = crate::pipeline::prepare(g, image_uri.as_deref(), only, ImageMode::Deploy { rebuild }, printer) => r?,
        signal = stop.signalled() => {
            return Err(Failure::interrupted(format!("interrupted ({signal}) before any stack was touched")).hint("run `replatform up` again"));
        }
    };
    let (config, aws, stacks, image) = (&ready.loaded.config, &ready.aws, &ready.stacks, &ready.image);

    let cfn = aws.cfn();
    let names: Vec<String> = stacks.iter().map(|s| s.name.clone()).collect();
    let reporter = reporter(printer, &names);
    let settings = Settings { timeout, ..Settings::default() };
    let tags = vec![("replatform:service".to_string(), config.service.clone())];
    let runner = Runner::new(&cfn, reporter.as_ref(), settings, run_token(), tags);

    let work = async {
        // Change sets for every stack first: nothing runs until every change is known.
        let prepared = join_all(stacks.iter().map(|s| runner.prepare(&s.name, &s.template))).await;
        // Whatever waited during the preparation is over: no line keeps turning under the changes.
        reporter.pause();
        let mut reports: Vec<StackReport> = stacks
            .iter()
            .map(|s| StackReport { name: s.name.clone(), kind: s.kind.clone(), action: None, result: "unchanged", status: None, changes: vec![], queue_risks: vec![], outputs: BTreeMap::new(), error: None })
            .collect();
        let mut ready: Vec<Prepared> = Vec::new();
        let mut failed = false;
        for (report, p) in reports.iter_mut().zip(prepared) {
            match p {
                Ok(Preparation::NoChanges { .. }) => {}
                Ok(Preparation::Ready(p)) => {
                    printer.debug(format!("{}: change set {}", p.stack, p.change_set));
                    report.action = Some(p.action);
                    report.changes = p.changes.clone();
                    report.result = "not-executed";
                    ready.push(p);
                }
                Err(e) => {
                    report_op_error(printer, &e);
                    report.result = "failed";
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
        if failed {
            discard_all(&runner, &ready, printer).await;
            finish(printer, image, &reports)?;
            return Err(Failure::reported());
        }
        // Queues are data: a change that replaces or removes one needs its own flag, --yes or not.
        let services = aws.services();
        for p in &ready {
            let risks = queue_risks(&cfn, &services, &p.stack, &p.changes).await;
            for r in &risks {
                printer.warning(&r.describe());
            }
            if let Some(report) = reports.iter_mut().find(|r| r.name == p.stack) {
                report.queue_risks = risks;
            }
        }
        let risks: Vec<&QueueRisk> = reports.iter().flat_map(|r| r.queue_risks.iter()).collect();
        if !risks.is_empty() && !allow_queue_replacement {
            let n = risks.len();
            discard_all(&runner, &ready, printer).await;
            finish(printer, image, &reports)?;
            return Err(Failure::new(format!("refusing to replace or remove {n} queue{}: nothing was changed", if n == 1 { "" } else { "s" }))
                .hint("the old queue and its messages would be left behind; drain it first, or pass --allow-queue-replacement to go ahead"));
        }
        for r in &risks {
            printer.info(r.aftermath());
        }
        let destructive: Vec<&Change> = ready.iter().flat_map(|p| p.changes.iter()).filter(|c| c.destructive()).collect();
        if !destructive.is_empty() && !yes {
            let question = format!("{} change{} above replace or remove resources. Go ahead?", destructive.len(), if destructive.len() == 1 { "" } else { "s" });
            let answer = match super::ask(&question).await {
                Ok(a) => a,
                Err(signal) => {
                    discard_all(&runner, &ready, printer).await;
                    return Err(Failure::interrupted(format!("interrupted ({signal}) at the question: nothing was changed")));
                }
            };
            match answer {
                Some(true) => {}
                Some(false) => {
                    discard_all(&runner, &ready, printer).await;
                    finish(printer, image, &reports)?;
                    return Err(Failure::new("nothing was changed").hint("run again and answer `y`, or pass --yes"));
                }
                None => {
                    discard_all(&runner, &ready, printer).await;
                    finish(printer, image, &reports)?;
                    return Err(Failure::new("these changes replace or remove resources, and there is no terminal to confirm them: nothing was changed")
                        .hint("review the changes above (or `replatform diff`), then run again with --yes"));
                }
            }
        }

        let results = join_all(ready.iter().map(|p| runner.execute(p))).await;
        for (p, result) in ready.iter().zip(results) {
            let report = reports.iter_mut().find(|r| r.name == p.stack).expect("every prepared stack has a report");
            match result {
                Ok(done) => {
                    report.result = if p.action == Action::Update { "updated" } else { "created" };
                    report.status = done.stack.as_ref().map(|s| s.status.to_string());
                    let outputs = done.stack.map(|s| s.outputs).unwrap_or_default();
                    report.outputs = facts(&cfn, &p.stack, &outputs).await.unwrap_or(outputs);
                }
                Err(e) => {
                    report_op_error(printer, &e);
                    report.result = "failed";
                    report.error = Some(e.to_string());
                    match &e {
                        crate::apply::OpError::Failed { status, .. } => report.status = Some(status.to_string()),
                        // The execute call itself failed: the change set may not have run; one
                        // that did not is removed, so that the next `up` starts clean.
                        crate::apply::OpError::Aws(_) => {
                            let _ = runner.discard(p).await;
                        }
                        _ => {}
                    }
                    failed = true;
                }
            }
        }
        // Unchanged stacks: their outputs too, so the end of `up` always shows them all.
        for r in reports.iter_mut().filter(|r| r.result == "unchanged") {
            if let Ok(Some(s)) = cfn.describe_stack(&r.name).await {
                r.status = Some(s.status.to_string());
                r.outputs = facts(&cfn, &r.name, &s.outputs).await.unwrap_or(s.outputs);
            }
        }
        finish(printer, image, &reports)?;
        if failed {
            return Err(Failure::reported());
        }
        Ok::<ExitCode, Failure>(ExitCode::SUCCESS)
    };
    tokio::select! {
        outcome = work => outcome,
        signal = stop.signalled() => Err(interrupted(&runner, reporter.as_ref(), &names, signal).await),
    }
}

/// After SIGINT or SIGTERM: the change sets not executed are deleted; what CloudFormation is
/// still doing goes on, and the next `up` waits for it and converges.
async fn interrupted(runner: &Runner<'_>, reporter: &dyn crate::ui::progress::Reporter, names: &[String], signal: &str) -> Failure {
    reporter.pause();
    let running = runner.abandon(names).await;
    if running.is_empty() {
        return Failure::interrupted(format!("interrupted ({signal}): the change sets not executed were deleted; no stack is changing"))
            .hint("`replatform up` starts again from what is deployed");
    }
    let list = running.iter().map(|(s, st)| format!("{s} ({st})")).collect::<Vec<_>>().join(", ");
    Failure::interrupted(format!("interrupted ({signal}): CloudFormation goes on with {list}; the change sets not executed were deleted"))
        .hint("`replatform status` shows where it is; `replatform up` waits for it, then converges")
}

/// Drops change sets that will not run, so that nothing is left half-done.
async fn discard_all(runner: &Runner<'_>, ready: &[Prepared], printer: &Printer) {
    for p in ready {
        if let Err(e) = runner.discard(p).await {
            printer.warning(&format!("could not clean up change set `{}` of `{}`: {e}", p.change_set, p.stack));
        }
    }
}

fn show_changes(printer: &Printer, r: &StackReport) {
    match r.action {
        None if r.result == "unchanged" => printer.info(format!("{}: no changes", r.name)),
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
            printer.info(format!("{}: {verb}, {} change{}", r.name, r.changes.len(), if r.changes.len() == 1 { "" } else { "s" }));
            printer.info(tables::indent(&tables::changes(&r.changes)));
        }
    }
}

/// The end of the run: the outputs, or the JSON document, on stdout.
fn finish(printer: &Printer, image: &Report, reports: &[StackReport]) -> Result<(), Failure> {
    if printer.is_json() {
        #[derive(Serialize)]
        struct Doc<'a> {
            image: &'a Report,
            stacks: &'a [StackReport],
        }
        return printer.json(&Doc { image, stacks: reports }).map_err(Failure::output);
    }
    for r in reports.iter().filter(|r| !r.outputs.is_empty()) {
        let table = tables::indent(&tables::pairs(["output", "value"], r.outputs.iter().map(|(k, v)| (k.as_str(), v.clone()))));
        printer.data(format!("{} ({}):\n{table}", r.name, r.status.as_deref().unwrap_or("?"))).map_err(Failure::output)?;
    }
    Ok(())
}

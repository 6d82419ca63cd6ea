//! `replatform down`: reads the queues first and refuses while any holds a message (`--force`
//! deletes them anyway, `--keep-queues` keeps them); deletes the stacks concurrently, then the
//! queues the stacks retained, so that nothing is left behind unless asked for.

use std::process::ExitCode;

use futures::future::join_all;
use serde::Serialize;

use super::{connect, report_op_error, reporter, run_token, Failure, Global, Outcome};
use crate::aws::cfn::Cfn;
use crate::aws::AwsError;
use crate::apply::{Runner, Settings};
use crate::aws::services::{QueueDepth, Services};
use crate::cli::DownArgs;
use crate::signal::Stop;
use crate::ui::printer::Printer;

#[derive(Serialize)]
struct StackReport {
    name: String,
    existed: bool,
    deleted: bool,
    queues: Vec<QueueReport>,
    error: Option<String>,
}

#[derive(Serialize)]
struct Purged {
    repository: String,
    existed: bool,
}

#[derive(Serialize)]
struct QueueReport {
    logical_id: String,
    url: String,
    /// Before anything was deleted.
    depth: Option<QueueDepth>,
    /// `deleted`, `kept` (`--keep-queues`, or messages arrived meanwhile), `gone` (deleted with
    /// the stack), or `failed`.
    outcome: &'static str,
}

/// A stack's queues (logical id, URL): the stack's own, read before the delete (after it the
/// stack no longer says which they were), and those it left behind earlier (an interrupted
/// `down`, a replaced queue), found by the name CloudFormation gave them: `<stack>-<id>-<suffix>`.
async fn queues_of(cfn: &Cfn, services: &Services, stack: &str) -> Result<Vec<(String, String)>, AwsError> {
    let resources = cfn.resources(stack).await.or_else(|e| if e.is_missing_stack() { Ok(Default::default()) } else { Err(e) })?;
    let mut out: Vec<(String, String)> = ["Queue", "DeadLetterQueue"].iter().filter_map(|id| resources.get(*id).map(|u| (id.to_string(), u.clone()))).collect();
    for url in services.queues_named(&format!("{stack}-")).await? {
        let name = url.rsplit('/').next().unwrap_or_default();
        let Some((logical_id, suffix)) = name.strip_prefix(&format!("{stack}-")).and_then(|rest| rest.rsplit_once('-')) else { continue };
        let generated = !suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        // The same queue may come with another host (an endpoint's URL): the account and name say.
        let key = |u: &str| u.rsplitn(3, '/').take(2).collect::<Vec<_>>().join("/");
        if generated && matches!(logical_id, "Queue" | "DeadLetterQueue") && !out.iter().any(|(_, u)| key(u) == key(&url)) {
            out.push((logical_id.to_string(), url));
        }
    }
    Ok(out)
}

pub async fn run(args: DownArgs, g: &Global, printer: &Printer) -> Outcome {
    let DownArgs { only, yes, timeout, purge_images, force, keep_queues } = args;
    let stop = Stop::on_signals();
    let (config, names) = super::stack_names(g, only)?;
    let aws = connect(g, config.region.as_deref(), printer).await?;
    let cfn = aws.cfn();
    let services = aws.services();
    let stack_list: Vec<String> = names.iter().map(|(_, n)| n.clone()).collect();

    // The queues first: what they hold decides whether anything is deleted.
    let mut queues: Vec<Vec<QueueReport>> = Vec::new();
    for name in &stack_list {
        let mut of_stack = Vec::new();
        for (logical_id, url) in queues_of(&cfn, &services, name).await? {
            let depth = services.queue_depth(&url).await?;
            of_stack.push(QueueReport { logical_id, url, depth, outcome: "kept" });
        }
        queues.push(of_stack);
    }
    let held: Vec<(&String, &QueueReport)> = stack_list.iter().zip(&queues).flat_map(|(s, qs)| qs.iter().map(move |q| (s, q))).filter(|(_, q)| q.depth.as_ref().is_some_and(|d| d.total() > 0)).collect();
    let total: u64 = held.iter().filter_map(|(_, q)| q.depth.as_ref()).map(QueueDepth::total).sum();
    if !held.is_empty() && !force && !keep_queues {
        for (stack, q) in &held {
            let d = q.depth.as_ref().expect("held queues have a depth");
            printer.warning(&format!("{stack} `{}` {} holds {} visible, {} in flight, {} delayed", q.logical_id, q.url, d.visible, d.in_flight, d.delayed));
        }
        return Err(Failure::new(format!("refusing to delete: the queues hold {total} message{}; nothing was deleted", if total == 1 { "" } else { "s" }))
            .hint("let the workers drain them (`replatform status` shows the depths), keep them with --keep-queues, or pass --force to delete the messages too"));
    }

    let mut list = names.iter().map(|(_, n)| format!("`{n}`")).collect::<Vec<_>>().join(" and ");
    if purge_images {
        list = format!("{list}, then the ECR repository `{}` with all its images", config.repository());
    }
    let fate = if keep_queues {
        "Their queues are kept, with any messages in them.".to_string()
    } else if total > 0 {
        format!("Their queues go too, with the {total} message{} in them.", if total == 1 { "" } else { "s" })
    } else {
        "Their queues, empty now, go too.".to_string()
    };
    if let Some(signal) = stop.signal() {
        return Err(Failure::interrupted(format!("interrupted ({signal}) while reading the queues: nothing was deleted")).hint("`replatform down` starts again from the queues"));
    }
    if !yes {
        let answer = super::ask(&format!("Delete {list}? {fate}")).await.map_err(|signal| Failure::interrupted(format!("interrupted ({signal}) at the question: nothing was deleted")))?;
        match answer {
            Some(true) => {}
            Some(false) => return Err(Failure::new("nothing was deleted").hint("run again and answer `y`, or pass --yes")),
            None => return Err(Failure::new(format!("deleting {list} needs confirmation, and there is no terminal to ask on: nothing was deleted")).hint("run again with --yes")),
        }
    }
    let reporter = reporter(printer, &stack_list);
    let runner = Runner::new(&cfn, reporter.as_ref(), Settings { timeout, ..Settings::default() }, run_token(), vec![]);
    let results = tokio::select! {
        r = join_all(stack_list.iter().map(|n| runner.delete(n))) => r,
        signal = stop.signalled() => {
            // CloudFormation goes on deleting; the next `down` waits for it, then the queues.
            reporter.pause();
            return Err(Failure::interrupted(format!("interrupted ({signal}): CloudFormation goes on deleting {}", list))
                .hint("`replatform down` again waits for it, then deletes the queues; `replatform status` shows where it is"));
        }
    };

    let mut reports = Vec::new();
    let mut failed = false;
    for ((name, result), mut of_stack) in stack_list.iter().zip(results).zip(queues) {
        let mut r = StackReport { name: name.clone(), existed: true, deleted: false, queues: vec![], error: None };
        match result {
            Ok(existed) => {
                r.existed = existed;
                r.deleted = existed;
                // The stack retained its queues: delete them unless asked to keep them, or
                // unless messages arrived since they were read (then they are kept and listed).
                for q in &mut of_stack {
                    q.outcome = match services.queue_depth(&q.url).await {
                        Ok(None) => "gone",
                        Ok(Some(_)) if keep_queues => "kept",
                        Ok(Some(now)) if now.total() > 0 && !force => "kept",
                        Ok(Some(_)) => match services.delete_queue(&q.url).await {
                            Ok(true) => "deleted",
                            Ok(false) => "gone",
                            Err(e) => {
                                printer.error(&e.to_string(), Some("the stack is gone; delete the queue with `aws sqs delete-queue` once it is empty"));
                                failed = true;
                                "failed"
                            }
                        },
                        Err(e) => {
                            printer.error(&e.to_string(), Some("the stack is gone; `aws sqs get-queue-attributes` shows whether the queue is empty"));
                            failed = true;
                            "failed"
                        }
                    };
                }
                r.queues = of_stack;
            }
            Err(e) => {
                report_op_error(printer, &e);
                r.error = Some(e.to_string());
                r.queues = of_stack;
                failed = true;
            }
        }
        reports.push(r);
    }
    // The repository only once both stacks are gone: a stack still running uses its images.
    let mut purged = None;
    if purge_images && !failed {
        let name = config.repository();
        match aws.ecr().delete(name).await {
            Ok(existed) => {
                printer.info(if existed { format!("ECR repository `{name}`: deleted with its images") } else { format!("ECR repository `{name}`: none, nothing to delete") });
                purged = Some(Purged { repository: name.to_string(), existed });
            }
            Err(e) => {
                printer.error(&e.to_string(), Some("the stacks are gone; run `replatform down --purge-images --yes` again, or delete the repository in the ECR console"));
                failed = true;
            }
        }
    }
    if printer.is_json() {
        #[derive(Serialize)]
        struct Doc<'a> {
            stacks: &'a [StackReport],
            purged_images: Option<Purged>,
        }
        printer.json(&Doc { stacks: &reports, purged_images: purged }).map_err(Failure::output)?;
    } else {
        for r in &reports {
            match (r.existed, r.deleted) {
                (false, _) => printer.info(format!("{}: no such stack, nothing to delete", r.name)),
                (true, true) => printer.info(format!("{}: deleted", r.name)),
                _ => {}
            }
            for q in &r.queues {
                let n = q.depth.as_ref().map_or(0, QueueDepth::total);
                match q.outcome {
                    "deleted" => printer.info(format!("  deleted queue {} ({n} message{})", q.url, if n == 1 { "" } else { "s" })),
                    "kept" => printer.info(format!("  kept queue {} (it is no stack's now; once empty and unneeded: aws sqs delete-queue --queue-url {})", q.url, q.url)),
                    _ => {}
                }
            }
        }
    }
    if failed {
        return Err(Failure::reported());
    }
    Ok(ExitCode::SUCCESS)
}

//! `replatform down`: delete the stacks concurrently. Their queues are kept with their messages
//! (`DeletionPolicy`); what is left in them is said, with how to remove them once empty.

use std::process::ExitCode;

use futures::future::join_all;
use serde::Serialize;

use super::{connect, report_op_error, reporter, run_token, Failure, Global, Outcome};
use crate::apply::{Runner, Settings};
use crate::aws::services::QueueDepth;
use crate::cli::DownArgs;
use crate::ui::printer::Printer;

#[derive(Serialize)]
struct StackReport {
    name: String,
    existed: bool,
    deleted: bool,
    kept_queues: Vec<KeptQueue>,
    error: Option<String>,
}

#[derive(Serialize)]
struct Purged {
    repository: String,
    existed: bool,
}

#[derive(Serialize)]
struct KeptQueue {
    url: String,
    depth: QueueDepth,
}

pub async fn run(args: DownArgs, g: &Global, printer: &Printer) -> Outcome {
    let DownArgs { only, yes, timeout, purge_images } = args;
    let (config, names) = super::stack_names(g, only)?;
    let mut list = names.iter().map(|(_, n)| format!("`{n}`")).collect::<Vec<_>>().join(" and ");
    if purge_images {
        list = format!("{list}, then the ECR repository `{}` with all its images", config.repository());
    }
    if !yes {
        match super::confirm(&format!("Delete {list}? Their queues are kept, with any messages in them.")) {
            Some(true) => {}
            Some(false) => return Err(Failure::new("nothing was deleted").hint("run again and answer `y`, or pass --yes")),
            None => return Err(Failure::new(format!("deleting {list} needs confirmation, and there is no terminal to ask on: nothing was deleted")).hint("run again with --yes")),
        }
    }
    let aws = connect(g, config.region.as_deref(), printer).await?;
    let cfn = aws.cfn();
    let services = aws.services();
    let stack_list: Vec<String> = names.iter().map(|(_, n)| n.clone()).collect();
    let reporter = reporter(printer, &stack_list);
    let runner = Runner::new(&cfn, reporter.as_ref(), Settings { timeout, ..Settings::default() }, run_token(), vec![]);

    // The queues first: after the delete, the stack no longer says which they were.
    let queues = join_all(stack_list.iter().map(|n| async {
        match cfn.resources(n).await {
            Ok(r) => ["Queue", "DeadLetterQueue"].iter().filter_map(|id| r.get(*id).cloned()).collect(),
            Err(_) => Vec::new(),
        }
    }))
    .await;
    let results = super::until_interrupted(join_all(stack_list.iter().map(|n| runner.delete(n))), &stack_list).await?;

    let mut reports = Vec::new();
    let mut failed = false;
    for ((name, result), urls) in stack_list.iter().zip(results).zip(queues) {
        let mut r = StackReport { name: name.clone(), existed: true, deleted: false, kept_queues: vec![], error: None };
        match result {
            Ok(existed) => {
                r.existed = existed;
                r.deleted = existed;
                for url in urls {
                    if let Ok(Some(depth)) = services.queue_depth(&url).await {
                        r.kept_queues.push(KeptQueue { url, depth });
                    }
                }
            }
            Err(e) => {
                report_op_error(printer, &e);
                r.error = Some(e.to_string());
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
            for q in &r.kept_queues {
                let n = q.depth.total();
                printer.info(format!(
                    "  kept queue {} ({n} message{}); once it is empty and unneeded: aws sqs delete-queue --queue-url {}",
                    q.url,
                    if n == 1 { "" } else { "s" },
                    q.url
                ));
            }
        }
    }
    if failed {
        return Err(Failure::reported());
    }
    Ok(ExitCode::SUCCESS)
}

//! Tearing down: reads the queues first and refuses while any holds a message (`force` deletes
//! them anyway, `keep_queues` keeps them); deletes the stacks concurrently, then the queues the
//! stacks retained, then (when asked) the ECR repository, so that nothing is left behind unless
//! asked for.

use std::future::Future;
use std::time::Duration;

use futures::future::join_all;
use serde::Serialize;

use super::deploy::{Runner, Settings};
use super::workspace::{connect, reporter, run_token, stack_names, Workspace};
use super::Only;
use crate::aws::cloudformation::Cfn;
use crate::aws::ecr::Ecr;
use crate::aws::sqs::{QueueDepth, Sqs};
use crate::aws::{AwsError, OrMissing};
use crate::core::outcome::QueueOutcome;
use crate::error::Failure;
use crate::ui::printer::Printer;
use crate::ui::progress::Reporter;
use crate::ui::prompt::Ask;

#[derive(Clone, Debug, Serialize)]
pub struct StackReport {
    pub name: String,
    pub existed: bool,
    pub deleted: bool,
    pub queues: Vec<QueueReport>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Purged {
    pub repository: String,
    pub existed: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct QueueReport {
    pub logical_id: String,
    pub url: String,
    /// Before anything was deleted.
    pub depth: Option<QueueDepth>,
    pub outcome: QueueOutcome,
}

/// What may go, beyond the stacks.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--yes`: no question.
    pub yes: bool,
    /// `--force`: delete queues that hold messages.
    pub force: bool,
    /// `--keep-queues`: keep the queues, with their messages.
    pub keep_queues: bool,
    /// `--purge-images`: the ECR repository goes too, once the stacks are gone.
    pub purge_images: bool,
}

/// The end of a teardown that ran: per stack what went, the repository, and whether anything
/// failed (each failure was shown).
#[derive(Serialize)]
pub struct Teardown {
    pub stacks: Vec<StackReport>,
    pub purged_images: Option<Purged>,
    #[serde(skip)]
    pub failed: bool,
}

/// `down`: the stacks the config names, without lint (a config that lint refuses can still be
/// torn down), with the terminal's question and the process's signals.
pub async fn down(
    ws: &Workspace,
    only: Option<Only>,
    options: Options,
    timeout: Duration,
    printer: &Printer,
) -> Result<Teardown, Failure> {
    // The handlers from the start: a signal while the queues are read stops it before the delete.
    let stop = crate::signal::Stop::on_signals();
    let (config, names) = stack_names(ws, only)?;
    let aws = connect(ws, config.region.as_deref(), printer).await?;
    let (cfn, services, ecr) = (aws.cfn(), aws.sqs(), aws.ecr());
    let stacks: Vec<String> = names.into_iter().map(|(_, n)| n).collect();
    let reporter = reporter(printer, &stacks);
    let runner = Runner::new(
        &cfn,
        reporter.as_ref(),
        Settings {
            timeout,
            ..Settings::default()
        },
        run_token(),
        vec![],
    );
    let repository = options.purge_images.then(|| config.repository());
    teardown(
        &runner,
        &cfn,
        &services,
        &ecr,
        &stacks,
        repository,
        &options,
        reporter.as_ref(),
        printer,
        &crate::ui::prompt::terminal,
        stop.signalled(),
    )
    .await
}

/// Deletes `stacks` and their queues as [`down`] describes, and `repository` when given. `Err`
/// is a refusal or an interrupt; nothing was deleted by a refusal.
#[allow(clippy::too_many_arguments)]
pub async fn teardown(
    runner: &Runner<'_>,
    cfn: &Cfn,
    services: &Sqs,
    ecr: &Ecr,
    stacks: &[String],
    repository: Option<&str>,
    options: &Options,
    reporter: &dyn Reporter,
    printer: &Printer,
    ask: Ask<'_>,
    interrupt: impl Future<Output = &'static str>,
) -> Result<Teardown, Failure> {
    let Options {
        yes,
        force,
        keep_queues,
        purge_images: _,
    } = *options;
    let mut interrupt = std::pin::pin!(interrupt);
    // The queues first: what they hold decides whether anything is deleted.
    let mut queues: Vec<Vec<QueueReport>> = Vec::new();
    for name in stacks {
        let mut of_stack = Vec::new();
        for (logical_id, url) in queues_of(cfn, services, name).await? {
            let depth = services.queue(&url).await?.map(|q| q.depth);
            of_stack.push(QueueReport {
                logical_id,
                url,
                depth,
                outcome: QueueOutcome::Kept,
            });
        }
        queues.push(of_stack);
    }
    let held: Vec<(&String, &QueueReport)> = stacks
        .iter()
        .zip(&queues)
        .flat_map(|(s, qs)| qs.iter().map(move |q| (s, q)))
        .filter(|(_, q)| q.depth.as_ref().is_some_and(|d| d.total() > 0))
        .collect();
    let total: u64 = held
        .iter()
        .filter_map(|(_, q)| q.depth.as_ref())
        .map(QueueDepth::total)
        .sum();
    if !held.is_empty() && !force && !keep_queues {
        for (stack, q) in &held {
            let d = q.depth.as_ref().expect("held queues have a depth");
            printer.warning(&format!(
                "{stack} `{}` {} holds {} visible, {} in flight, {} delayed",
                q.logical_id, q.url, d.visible, d.in_flight, d.delayed
            ));
        }
        return Err(Failure::new(format!("refusing to delete: the queues hold {total} message{}; nothing was deleted", if total == 1 { "" } else { "s" }))
            .hint("let the workers drain them (`replatform status` shows the depths), keep them with --keep-queues, or pass --force to delete the messages too"));
    }

    let mut list = stacks
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" and ");
    if let Some(repository) = repository {
        list = format!("{list}, then the ECR repository `{repository}` with all its images");
    }
    let fate = if keep_queues {
        "Their queues are kept, with any messages in them.".to_string()
    } else if total > 0 {
        format!(
            "Their queues go too, with the {total} message{} in them.",
            if total == 1 { "" } else { "s" }
        )
    } else {
        "Their queues, empty now, go too.".to_string()
    };
    if let std::task::Poll::Ready(signal) = futures::poll!(interrupt.as_mut()) {
        return Err(Failure::interrupted(format!(
            "interrupted ({signal}) while reading the queues: nothing was deleted"
        ))
        .hint("`replatform down` starts again from the queues"));
    }
    if !yes {
        let answer = ask(format!("Delete {list}? {fate}"))
            .await
            .map_err(|signal| {
                Failure::interrupted(format!(
                    "interrupted ({signal}) at the question: nothing was deleted"
                ))
            })?;
        match answer {
            Some(true) => {}
            Some(false) => return Err(Failure::new("nothing was deleted").hint("run again and answer `y`, or pass --yes")),
            None => return Err(Failure::new(format!("deleting {list} needs confirmation, and there is no terminal to ask on: nothing was deleted")).hint("run again with --yes")),
        }
    }
    let results = tokio::select! {
        r = join_all(stacks.iter().map(|n| runner.delete(n))) => r,
        signal = interrupt.as_mut() => {
            // CloudFormation goes on deleting; the next `down` waits for it, then the queues.
            reporter.pause();
            return Err(Failure::interrupted(format!("interrupted ({signal}): CloudFormation goes on deleting {list}"))
                .hint("`replatform down` again waits for it, then deletes the queues; `replatform status` shows where it is"));
        }
    };

    let mut reports = Vec::new();
    let mut failed = false;
    for ((name, result), mut of_stack) in stacks.iter().zip(results).zip(queues) {
        let mut r = StackReport {
            name: name.clone(),
            existed: true,
            deleted: false,
            queues: vec![],
            error: None,
        };
        match result {
            Ok(existed) => {
                r.existed = existed;
                r.deleted = existed;
                // The stack retained its queues: delete them unless asked to keep them, or
                // unless messages arrived since they were read (then they are kept and listed).
                for q in &mut of_stack {
                    q.outcome = match services.queue(&q.url).await.map(|q| q.map(|q| q.depth)) {
                        Ok(None) => QueueOutcome::Gone,
                        Ok(Some(_)) if keep_queues => QueueOutcome::Kept,
                        Ok(Some(now)) if now.total() > 0 && !force => QueueOutcome::Kept,
                        Ok(Some(_)) => match services.delete_queue(&q.url).await {
                            Ok(true) => QueueOutcome::Deleted,
                            Ok(false) => QueueOutcome::Gone,
                            Err(e) => {
                                printer.error(&e.to_string(), Some("the stack is gone; delete the queue with `aws sqs delete-queue` once it is empty"));
                                failed = true;
                                QueueOutcome::Failed
                            }
                        },
                        Err(e) => {
                            printer.error(&e.to_string(), Some("the stack is gone; `aws sqs get-queue-attributes` shows whether the queue is empty"));
                            failed = true;
                            QueueOutcome::Failed
                        }
                    };
                }
                r.queues = of_stack;
            }
            Err(e) => {
                e.report(printer);
                r.error = Some(e.to_string());
                r.queues = of_stack;
                failed = true;
            }
        }
        reports.push(r);
    }
    // The repository only once both stacks are gone: a stack still running uses its images.
    let mut purged = None;
    if let (Some(name), false) = (repository, failed) {
        match ecr.delete(name).await {
            Ok(existed) => {
                printer.info(if existed {
                    format!("ECR repository `{name}`: deleted with its images")
                } else {
                    format!("ECR repository `{name}`: none, nothing to delete")
                });
                purged = Some(Purged {
                    repository: name.to_string(),
                    existed,
                });
            }
            Err(e) => {
                printer.error(&e.to_string(), Some("the stacks are gone; run `replatform down --purge-images --yes` again, or delete the repository in the ECR console"));
                failed = true;
            }
        }
    }
    Ok(Teardown {
        stacks: reports,
        purged_images: purged,
        failed,
    })
}

/// A stack's queues (logical id, URL): the stack's own, read before the delete (after it the
/// stack no longer says which they were), and those it left behind earlier (an interrupted
/// `down`, a replaced queue), found by the name CloudFormation gave them: `<stack>-<id>-<suffix>`,
/// or for FIFO queues the same name the template spells out, with `.fifo`. A queue is a logical
/// id ending in `Queue`: `Queue` and `DeadLetterQueue` for the one `queue:`, `{Id}Queue` and
/// `{Id}DeadLetterQueue` for each entry of `queues:` (docs/config.md), whatever the config says
/// now (an entry removed since still has its queues in the stack).
async fn queues_of(
    cfn: &Cfn,
    services: &Sqs,
    stack: &str,
) -> Result<Vec<(String, String)>, AwsError> {
    let resources = cfn
        .resources(stack)
        .await
        .or_none_if(AwsError::is_missing_stack)?
        .unwrap_or_default();
    let mut out: Vec<(String, String)> = resources
        .iter()
        .filter(|(id, url)| is_queue_id(id) && url.contains("://"))
        .map(|(id, url)| (id.clone(), url.clone()))
        .collect();
    // Each queue before its dead-letter queue, as the one queue's always were.
    out.sort_by_key(|(id, _)| {
        (
            id.replace("DeadLetterQueue", "Queue"),
            id.contains("DeadLetter"),
        )
    });
    for url in services.queues_named(&format!("{stack}-")).await? {
        let name = url.rsplit('/').next().unwrap_or_default();
        let (name, fifo) = name
            .strip_suffix(".fifo")
            .map_or((name, false), |n| (n, true));
        let Some((logical_id, suffix)) = name
            .strip_prefix(&format!("{stack}-"))
            .and_then(|rest| rest.rsplit_once('-'))
        else {
            continue;
        };
        // CloudFormation's suffix is upper-case letters and digits; a FIFO queue's is the last
        // group of the stack id's UUID: 12 lower-case hex digits.
        let generated = if fifo {
            suffix.len() == 12
                && suffix
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        } else {
            !suffix.is_empty()
                && suffix
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        // The same queue may come with another host (an endpoint's URL): the account and name say.
        let key = |u: &str| u.rsplitn(3, '/').take(2).collect::<Vec<_>>().join("/");
        if generated && is_queue_id(logical_id) && !out.iter().any(|(_, u)| key(u) == key(&url)) {
            out.push((logical_id.to_string(), url));
        }
    }
    Ok(out)
}

/// A logical id the stacks give a queue: `Queue`, `DeadLetterQueue`, `TopicEventsQueue`... (the
/// queue fragment, templates/queue.yaml.hbs).
fn is_queue_id(id: &str) -> bool {
    id.ends_with("Queue") && id.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::is_queue_id;

    #[test]
    fn every_entrys_queues_are_queues_and_nothing_else_is() {
        for id in [
            "Queue",
            "DeadLetterQueue",
            "TopicEventsQueue",
            "TopicEventsDeadLetterQueue",
        ] {
            assert!(is_queue_id(id), "{id}");
        }
        for id in ["QueuePolicy", "EventSourceMapping", "Function", "My-Queue"] {
            assert!(!is_queue_id(id), "{id}");
        }
    }
}

//! Queues are data: a change that replaces or removes one is found before it runs, with what
//! the queue holds now, for `diff` to show and `up` to refuse without `--allow-queue-replacement`.

use serde::Serialize;

use crate::aws::cloudformation::Cfn;
use crate::aws::sqs::{QueueDepth, Sqs};
use crate::core::changes::{Action, Change};

/// A queue a change would replace or remove.
#[derive(Clone, Debug, Serialize)]
pub struct QueueRisk {
    pub stack: String,
    pub logical_id: String,
    /// `replaced` or `removed`.
    pub change: &'static str,
    /// The queue now, when the stack still has it.
    pub url: Option<String>,
    /// What it holds now; `None` when it could not be read.
    pub depth: Option<QueueDepth>,
}

impl QueueRisk {
    /// One line: which queue, how, and what it holds.
    pub fn describe(&self) -> String {
        let held = match &self.depth {
            Some(d) => format!(
                "{} message{} ({} visible, {} in flight, {} delayed)",
                d.total(),
                if d.total() == 1 { "" } else { "s" },
                d.visible,
                d.in_flight,
                d.delayed
            ),
            None => "an unknown number of messages".to_string(),
        };
        let url = self
            .url
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        format!(
            "data loss: {} `{}`{url} would be {}; it holds {held}",
            self.stack, self.logical_id, self.change
        )
    }

    /// Where the old queue and its messages remain once the change ran.
    pub fn aftermath(&self) -> String {
        let url = self.url.as_deref().unwrap_or("(its URL was not readable)");
        format!(
            "{} `{}`: the old queue {url} stays with its messages (the templates retain queues); read or move them, then `aws sqs delete-queue --queue-url {url}`",
            self.stack, self.logical_id
        )
    }
}

/// The queues `changes` would replace or remove in `stack`, with their depths now.
pub async fn queue_risks(
    cfn: &Cfn,
    services: &Sqs,
    stack: &str,
    changes: &[Change],
) -> Vec<QueueRisk> {
    let losing: Vec<&Change> = changes.iter().filter(|c| c.loses_queue()).collect();
    if losing.is_empty() {
        return Vec::new();
    }
    let resources = cfn.resources(stack).await.unwrap_or_default();
    let mut out = Vec::new();
    for c in losing {
        let url = resources.get(&c.logical_id).cloned();
        let depth = match &url {
            Some(u) => services.queue(u).await.ok().flatten().map(|q| q.depth),
            None => None,
        };
        out.push(QueueRisk {
            stack: stack.to_string(),
            logical_id: c.logical_id.clone(),
            change: if c.action == Action::Remove {
                "removed"
            } else {
                "replaced"
            },
            url,
            depth,
        });
    }
    out
}

//! A worker's queues: the one `queue:` or the entries of `queues:`, how the worker finds each
//! (a URL, a name or an ARN in a variable, or a URL under one key of a JSON value), and each
//! entry's production queue. Every part of the tool reads the queues through [`Config::queues`],
//! so one queue and several are the same code. Pure. The contract is docs/config.md.

use std::sync::LazyLock;

use super::types::{Config, Queue};

/// The queue of a config that writes neither `queue:` nor `queues:`.
static DEFAULT_QUEUE: LazyLock<Queue> = LazyLock::new(Queue::default);

/// The variable a worker reads its queue from when the config names none.
pub const DEFAULT_URL_ENV: &str = "SQS_QUEUE_URL";

/// The most queues one worker may consume: each is a metric of the ECS scale-out alarm, and
/// CloudWatch takes at most 10 metrics in one alarm (`PutMetricAlarm`, `Metrics`).
pub const MAX_CONSUMED_QUEUES: usize = 10;

/// How a worker finds one of its queues; each stack passes its own queue the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finder<'a> {
    /// The variable holds the queue's URL.
    Url(&'a str),
    /// The variable holds the queue's name.
    Name(&'a str),
    /// The variable holds the queue's ARN.
    Arn(&'a str),
    /// The variable holds a JSON object; the queue's URL is under `key`.
    Json { var: &'a str, key: &'a str },
}

impl<'a> Finder<'a> {
    /// The environment variable the worker reads.
    pub fn var(&self) -> &'a str {
        match self {
            Finder::Url(v) | Finder::Name(v) | Finder::Arn(v) => v,
            Finder::Json { var, .. } => var,
        }
    }

    /// Its key in the config: `url_env`, `name_env`, `arn_env`, `json_env.var`.
    pub fn field(&self) -> &'static str {
        match self {
            Finder::Url(_) => "url_env",
            Finder::Name(_) => "name_env",
            Finder::Arn(_) => "arn_env",
            Finder::Json { .. } => "json_env.var",
        }
    }
}

impl Queue {
    /// Every way the worker finds this queue; `SQS_QUEUE_URL` when the queue names none.
    pub fn finders(&self) -> Vec<Finder<'_>> {
        let mut out = Vec::new();
        if let Some(v) = &self.url_env {
            out.push(Finder::Url(v));
        }
        if let Some(v) = &self.name_env {
            out.push(Finder::Name(v));
        }
        if let Some(v) = &self.arn_env {
            out.push(Finder::Arn(v));
        }
        if let Some(j) = &self.json_env {
            out.push(Finder::Json {
                var: &j.var,
                key: &j.key,
            });
        }
        if out.is_empty() {
            out.push(Finder::Url(DEFAULT_URL_ENV));
        }
        out
    }
}

/// One of the worker's queues.
#[derive(Clone, Copy, Debug)]
pub struct QueueEntry<'a> {
    /// The entry's short name under `queues:`; `None` for the one `queue:`.
    pub key: Option<&'a str>,
    pub queue: &'a Queue,
}

impl<'a> QueueEntry<'a> {
    /// The prefix of its resources' logical ids and outputs: empty for the one `queue:` (its
    /// queue is `Queue`, as it always was), the key in PascalCase for an entry (`topic-events`
    /// -> `TopicEventsQueue`).
    pub fn id(&self) -> String {
        self.key.map(pascal).unwrap_or_default()
    }

    /// The config path of its settings: `queue` or `queues.KEY`.
    pub fn path(&self) -> String {
        match self.key {
            Some(k) => format!("queues.{k}"),
            None => "queue".into(),
        }
    }

    /// What a person calls it: the key, or `queue`.
    pub fn label(&self) -> &'a str {
        self.key.unwrap_or("queue")
    }

    /// The logical id of its queue: `Queue`, `EventsQueue`.
    pub fn queue_id(&self) -> String {
        format!("{}Queue", self.id())
    }

    /// The logical id of its dead-letter queue: `DeadLetterQueue`, `EventsDeadLetterQueue`.
    pub fn dead_letter_id(&self) -> String {
        format!("{}DeadLetterQueue", self.id())
    }
}

/// `topic-events` -> `TopicEvents`; `_` and `-` separate words.
fn pascal(key: &str) -> String {
    key.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

impl Config {
    /// The worker's queues: the entries of `queues:` in key order, else the one `queue:` (its
    /// defaults when the config writes neither).
    pub fn queues(&self) -> Vec<QueueEntry<'_>> {
        if self.queues.is_empty() {
            vec![QueueEntry {
                key: None,
                queue: self.queue.as_ref().unwrap_or(&DEFAULT_QUEUE),
            }]
        } else {
            self.queues
                .iter()
                .map(|(k, q)| QueueEntry {
                    key: Some(k),
                    queue: q,
                })
                .collect()
        }
    }

    /// The queues a platform consumes (the others it only sends to).
    pub fn consumed_queues(&self) -> Vec<QueueEntry<'_>> {
        self.queues()
            .into_iter()
            .filter(|e| e.queue.consumed)
            .collect()
    }

    /// The entry a `--queue NAME` option names, or the error that lists the names.
    pub fn queue_named(&self, name: &str) -> Result<QueueEntry<'_>, String> {
        let all = self.queues();
        all.iter()
            .find(|e| e.label() == name)
            .copied()
            .ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|e| e.label()).collect();
                format!(
                    "`{name}` is not one of this worker's queues ({})",
                    names.join(", ")
                )
            })
    }

    /// The production queue URL of an entry, when `production:` gives one.
    pub fn production_queue(&self, entry: &QueueEntry<'_>) -> Option<&str> {
        let p = self.production.as_ref()?;
        match entry.key {
            None => p.queue.as_deref(),
            Some(k) => p.queues.get(k).map(String::as_str),
        }
    }

    /// Where the config says the worker finds a queue in `var`: `queue.url_env`,
    /// `queues.events.json_env.var`; `queue.url_env` for the default variable.
    pub fn queue_var_path(&self, var: &str) -> Option<String> {
        self.queues().iter().find_map(|e| {
            e.queue
                .finders()
                .iter()
                .find(|f| f.var() == var)
                .map(|f| format!("{}.{}", e.path(), f.field()))
        })
    }

    /// Every variable the stacks set to one of their own queues.
    pub fn queue_vars(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .queues()
            .iter()
            .flat_map(|e| e.queue.finders())
            .map(|f| f.var())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_named_in_pascal_case_and_the_one_queue_keeps_its_ids() {
        assert_eq!(pascal("topic-events"), "TopicEvents");
        assert_eq!(pascal("huskies_2"), "Huskies2");
        let q = Queue::default();
        let one = QueueEntry {
            key: None,
            queue: &q,
        };
        assert_eq!(
            (one.queue_id(), one.dead_letter_id(), one.path()),
            ("Queue".into(), "DeadLetterQueue".into(), "queue".into())
        );
        let e = QueueEntry {
            key: Some("events"),
            queue: &q,
        };
        assert_eq!(
            (e.queue_id(), e.dead_letter_id(), e.path()),
            (
                "EventsQueue".into(),
                "EventsDeadLetterQueue".into(),
                "queues.events".into()
            )
        );
        assert_eq!(q.finders(), vec![Finder::Url(DEFAULT_URL_ENV)]);
    }
}

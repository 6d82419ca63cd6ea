//! The invocation's batch, shared by the Runtime API loop and the worker's SQS calls.
//!
//! A message of the batch is pending until `ReceiveMessage` hands it out, and done when the worker
//! deletes it. The invocation ends when every message is done, when the worker asks for more after
//! all were handed out, when the worker exits, or when the deadline draws near; whatever is not
//! done then is reported in `batchItemFailures`, so SQS makes it visible again (Lambda developer
//! guide, "Handling errors for an SQS event source in Lambda"; docs/pitfalls.md#p49).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::sqs::{Message, MessageAttribute, ReceiveRequest};

/// One message of the batch and the queue (ARN) it came from.
#[derive(Debug, Clone)]
pub struct Entry {
    pub queue_arn: String,
    pub message: Message,
    pub handed_out: bool,
    pub deleted: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub request_id: String,
    pub entries: Vec<Entry>,
    /// The worker asked for more on the batch's queue after every message was handed out.
    pub asked_again: bool,
}

impl Batch {
    /// Reads an SQS event's `Records` (Lambda developer guide, "Using Lambda with Amazon SQS",
    /// the example event). A record without `messageId` or `receiptHandle` is refused: it could
    /// not be reported, or deleted.
    pub fn from_event(request_id: &str, event: &Value) -> Result<Batch, String> {
        let records = event
            .get("Records")
            .and_then(Value::as_array)
            .ok_or("the event has no Records list (is the trigger an SQS event source mapping?)")?;
        let mut entries = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            let message_id = text("messageId").ok_or(format!("Records[{i}] has no messageId"))?;
            let receipt_handle =
                text("receiptHandle").ok_or(format!("Records[{i}] has no receiptHandle"))?;
            let attributes = r
                .get("attributes")
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let message_attributes: BTreeMap<String, MessageAttribute> = r
                .get("messageAttributes")
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            let f = |n: &str| v.get(n).and_then(Value::as_str).map(str::to_string);
                            let a = MessageAttribute {
                                data_type: f("dataType").unwrap_or_else(|| "String".into()),
                                string_value: f("stringValue"),
                                binary_value: f("binaryValue"),
                            };
                            (k.clone(), a)
                        })
                        .collect()
                })
                .unwrap_or_default();
            entries.push(Entry {
                queue_arn: text("eventSourceARN").unwrap_or_default(),
                message: Message {
                    message_id,
                    receipt_handle,
                    md5_of_body: text("md5OfBody").unwrap_or_default(),
                    body: text("body").unwrap_or_default(),
                    attributes,
                    md5_of_message_attributes: text("md5OfMessageAttributes"),
                    message_attributes,
                },
                handed_out: false,
                deleted: false,
            });
        }
        Ok(Batch {
            request_id: request_id.to_string(),
            entries,
            asked_again: false,
        })
    }

    /// The message ids to report in `batchItemFailures`: every message not deleted.
    pub fn failures(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| !e.deleted)
            .map(|e| e.message.message_id.clone())
            .collect()
    }

    fn serves(&self, arns: &[String]) -> bool {
        self.entries.iter().any(|e| arns.contains(&e.queue_arn))
    }
}

/// Why an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    AllDeleted,
    AskedAgain,
    WorkerExited,
    Deadline,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::AllDeleted => "every message deleted",
            End::AskedAgain => "the worker asked for more",
            End::WorkerExited => "the worker exited",
            End::Deadline => "the deadline is near",
        }
    }
}

/// How many receipt handles of ended batches are remembered with their queue (for a late
/// delete or visibility change of a message whose queue is not the one the worker polls).
const RECENT: usize = 1000;

#[derive(Debug, Default)]
pub struct State {
    pub batch: Option<Batch>,
    pub worker_exited: bool,
    /// (receipt handle, queue ARN) of messages of ended batches that were handed out and not
    /// deleted, newest last.
    pub recent: VecDeque<(String, String)>,
}

/// The state and a counter that moves on every change, which waiters watch.
pub struct Shared {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            state: Mutex::new(State::default()),
            changed: watch::Sender::new(0),
        }
    }
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells every waiter that the state changed.
    pub fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn begin(&self, batch: Batch) {
        self.lock().batch = Some(batch);
        self.bump();
    }

    pub fn finish(&self) -> Option<Batch> {
        let mut st = self.lock();
        let b = st.batch.take();
        if let Some(b) = &b {
            for e in b.entries.iter().filter(|e| e.handed_out && !e.deleted) {
                if st.recent.len() == RECENT {
                    st.recent.pop_front();
                }
                st.recent
                    .push_back((e.message.receipt_handle.clone(), e.queue_arn.clone()));
            }
        }
        drop(st);
        self.bump();
        b
    }

    /// The queue ARN of the record a receipt handle belongs to: of the batch under way, or of
    /// a recent one.
    pub fn record_arn(&self, receipt_handle: &str) -> Option<String> {
        let st = self.lock();
        if let Some(e) = st.batch.as_ref().and_then(|b| {
            b.entries
                .iter()
                .find(|e| e.message.receipt_handle == receipt_handle)
        }) {
            return Some(e.queue_arn.clone());
        }
        st.recent
            .iter()
            .rev()
            .find(|(h, _)| h == receipt_handle)
            .map(|(_, arn)| arn.clone())
    }

    pub fn set_worker_exited(&self, exited: bool) {
        self.lock().worker_exited = exited;
        self.bump();
    }

    /// `ReceiveMessage` on a consumed queue: up to `max` pending messages of the batch whose
    /// record ARN is one of the queue's `arns`, waiting up to `WaitTimeSeconds` for a batch when
    /// none is pending. While a batch of another queue is under way the answer is empty at once,
    /// so a worker of several queues comes back to it.
    pub async fn receive(&self, arns: &[String], req: &ReceiveRequest) -> Vec<Message> {
        let until = Instant::now() + req.wait.unwrap_or(Duration::ZERO);
        let mut rx = self.changed.subscribe();
        loop {
            {
                let mut st = self.lock();
                rx.borrow_and_update();
                if let Some(b) = st.batch.as_mut() {
                    if !b.serves(arns) {
                        return Vec::new();
                    }
                    let handed: Vec<Message> = b
                        .entries
                        .iter_mut()
                        .filter(|e| arns.contains(&e.queue_arn) && !e.handed_out && !e.deleted)
                        .take(req.max)
                        .map(|e| {
                            e.handed_out = true;
                            req.select(&e.message)
                        })
                        .collect();
                    if !handed.is_empty() {
                        drop(st);
                        self.bump();
                        return handed;
                    }
                    if !b.asked_again {
                        b.asked_again = true;
                        drop(st);
                        self.bump();
                        // This call now waits for the next batch, below.
                    }
                }
            }
            if Instant::now() >= until {
                return Vec::new();
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { return Vec::new() },
                _ = tokio::time::sleep_until(until) => return Vec::new(),
            }
        }
    }

    /// Whether the batch has messages not yet handed out.
    pub fn has_pending(&self) -> bool {
        self.lock()
            .batch
            .as_ref()
            .is_some_and(|b| b.entries.iter().any(|e| !e.handed_out && !e.deleted))
    }

    /// `DeleteMessage` of a message of the batch: marks it done. False when the receipt handle
    /// is not the batch's (the caller forwards that one to SQS).
    pub fn delete(&self, receipt_handle: &str) -> bool {
        let mut st = self.lock();
        let Some(b) = st.batch.as_mut() else {
            return false;
        };
        let Some(e) = b
            .entries
            .iter_mut()
            .find(|e| e.message.receipt_handle == receipt_handle)
        else {
            return false;
        };
        e.deleted = true;
        drop(st);
        self.bump();
        true
    }

    /// Waits until the invocation should end. `grace`: how long to wait, once the worker asked
    /// again, for the deletes of messages it still holds (a worker may poll from several threads).
    pub async fn wait_end(&self, deadline: Instant, grace: Duration) -> End {
        let mut rx = self.changed.subscribe();
        let mut asked_at: Option<Instant> = None;
        loop {
            {
                let st = self.lock();
                rx.borrow_and_update();
                let Some(b) = st.batch.as_ref() else {
                    return End::AllDeleted;
                };
                if b.entries.iter().all(|e| e.deleted) {
                    return End::AllDeleted;
                }
                if st.worker_exited {
                    return End::WorkerExited;
                }
                if b.asked_again {
                    let held = b.entries.iter().any(|e| e.handed_out && !e.deleted);
                    let at = *asked_at.get_or_insert_with(Instant::now);
                    if !held || at + grace <= Instant::now() {
                        return End::AskedAgain;
                    }
                }
            }
            let wake = match asked_at {
                Some(at) => deadline.min(at + grace),
                None => deadline,
            };
            if Instant::now() >= deadline {
                return End::Deadline;
            }
            tokio::select! {
                _ = rx.changed() => {}
                _ = tokio::time::sleep_until(wake) => {
                    if Instant::now() >= deadline { return End::Deadline }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({"Records": [
            {"messageId": "m1", "receiptHandle": "h1", "body": "one", "md5OfBody": "x",
             "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
             "messageAttributes": {"k": {"stringValue": "v", "dataType": "String"}},
             "md5OfMessageAttributes": "y",
             "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q"},
            {"messageId": "m2", "receiptHandle": "h2", "body": "two", "md5OfBody": "z",
             "attributes": {}, "messageAttributes": {},
             "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q"},
        ]})
    }

    const ARN: &str = "arn:aws:sqs:us-east-1:123456789012:q";

    fn arns(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    fn req(max: usize) -> ReceiveRequest {
        ReceiveRequest {
            max,
            wait: None,
            attribute_names: vec![],
            message_attribute_names: vec![],
        }
    }

    #[test]
    fn an_event_without_records_is_refused() {
        assert!(Batch::from_event("r", &json!({"detail": {}})).is_err());
        assert!(Batch::from_event("r", &json!({"Records": [{"body": "b"}]})).is_err());
    }

    #[tokio::test]
    async fn deleted_messages_end_the_invocation_with_no_failures() {
        let s = Shared::default();
        s.begin(Batch::from_event("r", &event()).unwrap());
        let got = s.receive(&arns(&[ARN]), &req(10)).await;
        assert_eq!(got.len(), 2);
        assert!(got[0].attributes.is_empty(), "attributes only when asked");
        assert!(s.delete("h1"));
        assert!(s.delete("h2"));
        assert!(!s.delete("elsewhere"));
        let end = s
            .wait_end(Instant::now() + Duration::from_secs(5), Duration::ZERO)
            .await;
        assert_eq!(end, End::AllDeleted);
        assert!(s.finish().unwrap().failures().is_empty());
    }

    #[tokio::test]
    async fn asking_again_ends_it_with_the_undeleted_as_failures() {
        let s = Shared::default();
        s.begin(Batch::from_event("r", &event()).unwrap());
        assert_eq!(s.receive(&arns(&[ARN]), &req(1)).await[0].message_id, "m1");
        assert_eq!(s.receive(&arns(&[ARN]), &req(1)).await[0].message_id, "m2");
        assert!(s.delete("h1"));
        assert!(s.receive(&arns(&[ARN]), &req(1)).await.is_empty());
        let end = s
            .wait_end(Instant::now() + Duration::from_secs(5), Duration::ZERO)
            .await;
        assert_eq!(end, End::AskedAgain);
        assert_eq!(s.finish().unwrap().failures(), vec!["m2".to_string()]);
    }

    #[tokio::test]
    async fn the_deadline_and_an_exit_end_it_too() {
        let s = Shared::default();
        s.begin(Batch::from_event("r", &event()).unwrap());
        let end = s
            .wait_end(Instant::now() + Duration::from_millis(20), Duration::ZERO)
            .await;
        assert_eq!(end, End::Deadline);
        s.set_worker_exited(true);
        let end = s
            .wait_end(Instant::now() + Duration::from_secs(5), Duration::ZERO)
            .await;
        assert_eq!(end, End::WorkerExited);
        assert_eq!(s.finish().unwrap().failures().len(), 2);
    }

    #[tokio::test]
    async fn a_receive_waits_for_the_next_batch() {
        let s = std::sync::Arc::new(Shared::default());
        let s2 = s.clone();
        let waiter = tokio::spawn(async move {
            let r = ReceiveRequest {
                wait: Some(Duration::from_secs(5)),
                ..req(10)
            };
            s2.receive(&arns(&[ARN]), &r).await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.begin(Batch::from_event("r", &event()).unwrap());
        assert_eq!(waiter.await.unwrap().len(), 2);
        // Another queue's receive is answered at once while this batch is under way.
        let other = ReceiveRequest {
            wait: Some(Duration::from_secs(5)),
            ..req(10)
        };
        assert!(s
            .receive(&arns(&["arn:aws:sqs:us-east-1:123456789012:other"]), &other)
            .await
            .is_empty());
    }

    #[tokio::test]
    async fn a_queue_of_several_arns_takes_the_records_of_each_and_remembers_whose_they_are() {
        const PROD: &str = "arn:aws:sqs:us-east-1:123456789012:prod";
        let s = Shared::default();
        let event = json!({"Records": [
            {"messageId": "m1", "receiptHandle": "h1", "body": "own", "eventSourceARN": ARN},
            {"messageId": "m2", "receiptHandle": "h2", "body": "prod", "eventSourceARN": PROD},
        ]});
        s.begin(Batch::from_event("r", &event).unwrap());
        let got = s.receive(&arns(&[ARN, PROD]), &req(10)).await;
        assert_eq!(got.len(), 2);
        assert_eq!(s.record_arn("h2").as_deref(), Some(PROD));
        assert!(s.delete("h1"));
        s.finish();
        // The invocation ended: the undeleted one is still known by its handle, for a late call.
        assert_eq!(s.record_arn("h2").as_deref(), Some(PROD));
        assert_eq!(s.record_arn("h1"), None, "deleted: nothing late to send");
        assert_eq!(s.record_arn("unknown"), None);
    }
}

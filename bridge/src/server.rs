//! The SQS endpoint on 127.0.0.1 that the worker reaches through `AWS_ENDPOINT_URL_SQS`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

use crate::batch::Shared;
use crate::config::Config;
use crate::forward::{Answer, Forwarder};
use crate::log;
use crate::sqs::{self, BatchError, Call, Protocol, Reply, SqsError};

/// The largest request read: SQS's own limit on a request is 1 MiB of payload; this leaves room
/// for the encoding of a batch.
const MAX_BODY: usize = 4 << 20;

pub struct Endpoint {
    pub cfg: Config,
    pub shared: Arc<Shared>,
    pub forwarder: Forwarder,
    /// `http://127.0.0.1:PORT`
    pub local: String,
}

static REQUESTS: AtomicU64 = AtomicU64::new(0);

fn request_id() -> String {
    let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (t >> 32) as u32,
        (t >> 16) as u16,
        t as u16 & 0xfff,
        (n >> 48) as u16 & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// Accepts connections until the process ends.
pub async fn serve(listener: TcpListener, endpoint: Arc<Endpoint>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                log(&format!("accept: {e}"));
                continue;
            }
        };
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let endpoint = endpoint.clone();
                async move {
                    let req: Request<Incoming> = req;
                    Ok::<_, std::convert::Infallible>(endpoint.handle(req).await)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(
    rendered: sqs::Rendered,
    query_error: Option<String>,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let (status, content_type, body) = rendered;
    let mut res = Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", request_id);
    if let Some(q) = query_error {
        res = res.header("x-amzn-query-error", q);
    }
    res.body(Full::new(Bytes::from(body))).unwrap_or_default()
}

fn error(protocol: Protocol, e: &SqsError) -> Response<Full<Bytes>> {
    let id = request_id();
    let (rendered, q) = sqs::render_error(protocol, e, &id);
    respond(rendered, q, &id)
}

impl Endpoint {
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let query_mode = req.headers().get("x-amzn-query-mode").cloned();
        let protocol = if target.is_some() {
            Protocol::Json
        } else {
            Protocol::Query
        };
        let path = req.uri().path().to_string();
        let uri_query = req.uri().query().map(str::to_string);
        let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return error(
                    protocol,
                    &SqsError::invalid_parameter("The request is too large or was cut."),
                )
            }
        };
        let mut call = match Call::parse(target.as_deref(), uri_query.as_deref(), &body) {
            Ok(c) => c,
            Err(e) => return error(protocol, &e),
        };
        // A Query call may name its queue by the path it is posted to (older SDKs).
        let queue_url = call
            .queue_url()
            .or_else(|| crate::config::queue_key(&path).map(|_| format!("{}{}", self.local, path)));
        let consumed = queue_url.as_deref().and_then(|u| self.cfg.find(u)).cloned();
        match (call.action.as_str(), &consumed) {
            ("ReceiveMessage", Some(q)) => {
                let r = match call.receive_request() {
                    Ok(r) => r,
                    Err(e) => return error(protocol, &e),
                };
                let messages = self.shared.receive(&q.arns, &r).await;
                if !messages.is_empty() {
                    log(&format!(
                        "handed {} message(s) of {} to the worker",
                        messages.len(),
                        q.name
                    ));
                }
                self.reply(&call, &Reply::Receive(messages))
            }
            ("DeleteMessage", Some(q)) => {
                let handle = match call.receipt_handle() {
                    Ok(h) => h,
                    Err(e) => return error(protocol, &e),
                };
                if self.shared.delete(&handle) {
                    return self.reply(&call, &Reply::Delete);
                }
                // A message of an invocation that already ended: SQS deletes it for real, in
                // the queue its record came from.
                call.set_queue_url(&self.record_url(&handle, q));
                self.forward(&call, target.as_deref(), query_mode.as_ref())
                    .await
            }
            ("DeleteMessageBatch", Some(q)) => {
                let entries = match call.delete_entries() {
                    Ok(e) => e,
                    Err(e) => return error(protocol, &e),
                };
                let mut successful = Vec::new();
                let mut failed = Vec::new();
                for (id, handle) in entries {
                    if self.shared.delete(&handle) {
                        successful.push(id);
                        continue;
                    }
                    match self
                        .delete_at_sqs(&self.record_url(&handle, q), &handle)
                        .await
                    {
                        Ok(()) => successful.push(id),
                        Err((code, message, sender_fault)) => failed.push(BatchError {
                            id,
                            code,
                            message,
                            sender_fault,
                        }),
                    }
                }
                self.reply(&call, &Reply::DeleteBatch { successful, failed })
            }
            ("ChangeMessageVisibility", Some(q)) => {
                // The receipt handle is the real one: SQS changes it, in the queue its record
                // came from (the production queue's, after cutover).
                let url = match call.receipt_handle() {
                    Ok(h) => self.record_url(&h, q),
                    Err(_) => q.url.clone(),
                };
                call.set_queue_url(&url);
                self.forward(&call, target.as_deref(), query_mode.as_ref())
                    .await
            }
            ("ChangeMessageVisibilityBatch", Some(q)) => {
                // One queue per call: the records' own when all entries are of one queue.
                let mut urls: Vec<String> = call
                    .entry_handles()
                    .iter()
                    .map(|h| self.record_url(h, q))
                    .collect();
                urls.dedup();
                let url = match urls.as_slice() {
                    [one] => one.clone(),
                    _ => q.url.clone(),
                };
                call.set_queue_url(&url);
                self.forward(&call, target.as_deref(), query_mode.as_ref())
                    .await
            }
            _ => {
                if let Some(q) = &consumed {
                    call.set_queue_url(&q.url);
                } else if call.queue_url().is_none() {
                    if let Some(key) = crate::config::queue_key(&path) {
                        call.set_queue_url(&format!("{}/{}/{}", self.cfg.endpoint, key.0, key.1));
                    }
                }
                self.forward(&call, target.as_deref(), query_mode.as_ref())
                    .await
            }
        }
    }

    fn reply(&self, call: &Call, reply: &Reply) -> Response<Full<Bytes>> {
        let id = request_id();
        respond(
            sqs::render(call.protocol, &call.action, reply, &id),
            None,
            &id,
        )
    }

    async fn forward(
        &self,
        call: &Call,
        target: Option<&str>,
        query_mode: Option<&HeaderValue>,
    ) -> Response<Full<Bytes>> {
        let queue_url = call.queue_url();
        match self
            .forwarder
            .send(
                call.protocol,
                target,
                query_mode,
                queue_url.as_deref(),
                call.encode(),
            )
            .await
        {
            Ok(answer) => self.pass_back(answer),
            Err(e) => {
                log(&format!("{} not forwarded: {e}", call.action));
                error(call.protocol, &SqsError::internal(e))
            }
        }
    }

    /// SQS's answer with every consumed queue's URL pointed at the local endpoint, so a worker
    /// that looks its queue up (`GetQueueUrl`, `ListQueues`) keeps coming here.
    fn pass_back(&self, answer: Answer) -> Response<Full<Bytes>> {
        let body = match std::str::from_utf8(&answer.body) {
            Ok(text) if self.cfg.queues.iter().any(|q| text.contains(&q.url)) => {
                let mut text = text.to_string();
                for q in &self.cfg.queues {
                    text =
                        text.replace(&q.url, &format!("{}/{}/{}", self.local, q.account, q.name));
                }
                Bytes::from(text)
            }
            _ => answer.body,
        };
        let mut res = Response::builder().status(answer.status);
        for (k, v) in &answer.headers {
            res = res.header(k, v);
        }
        res.body(Full::new(body)).unwrap_or_default()
    }

    /// The real URL of the queue a message's record came from: the polled queue `q`, unless the
    /// record's ARN (of the batch under way or a recent one) names another queue.
    fn record_url(&self, receipt_handle: &str, q: &crate::config::Queue) -> String {
        self.shared
            .record_arn(receipt_handle)
            .filter(|arn| *arn != q.arn)
            .and_then(|arn| self.cfg.record_queue_url(&arn))
            .unwrap_or_else(|| q.url.clone())
    }

    /// One `DeleteMessage` at SQS for an entry of a batch delete that is not the batch's.
    async fn delete_at_sqs(
        &self,
        queue_url: &str,
        handle: &str,
    ) -> Result<(), (String, String, bool)> {
        let body = json!({"QueueUrl": queue_url, "ReceiptHandle": handle}).to_string();
        let answer = self
            .forwarder
            .send(
                Protocol::Json,
                Some("AmazonSQS.DeleteMessage"),
                None,
                Some(queue_url),
                body.into_bytes(),
            )
            .await
            .map_err(|e| ("InternalFailure".to_string(), e, false))?;
        if answer.status == 200 {
            return Ok(());
        }
        let v: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        let code = v
            .get("__type")
            .and_then(|t| t.as_str())
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
            .unwrap_or_else(|| "InternalFailure".into());
        let message = v
            .get("message")
            .or_else(|| v.get("Message"))
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_string();
        Err((code, message, answer.status < 500))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;

    const ARN: &str = "arn:aws:sqs:us-east-1:123456789012:q";

    /// An endpoint serving queue `q` whose forwarded calls reach nothing (port 1).
    fn endpoint() -> Endpoint {
        let get = |k: &str| {
            let v = match k {
                "AWS_REGION" => "us-east-1",
                "AWS_ACCESS_KEY_ID" => "AKID",
                "AWS_SECRET_ACCESS_KEY" => "secret",
                "AWS_ENDPOINT_URL_SQS" => "http://127.0.0.1:1",
                "REPLATFORM_BRIDGE_QUEUE_URL" => {
                    "https://sqs.us-east-1.amazonaws.com/123456789012/q"
                }
                _ => return None,
            };
            Some(v.to_string())
        };
        let cfg = Config::from_env(vec!["worker".into()], &get).unwrap();
        let shared = Arc::new(Shared::default());
        let event = json!({"Records": [
            {"messageId": "m1", "receiptHandle": "h1", "body": "one", "md5OfBody": "x", "eventSourceARN": ARN},
            {"messageId": "m2", "receiptHandle": "h2", "body": "two", "md5OfBody": "y", "eventSourceARN": ARN},
        ]});
        shared.begin(Batch::from_event("r", &event).unwrap());
        Endpoint {
            forwarder: Forwarder::new(&cfg).unwrap(),
            cfg,
            shared,
            local: "http://127.0.0.1:4000".into(),
        }
    }

    async fn call(
        e: &Endpoint,
        path: &str,
        target: Option<&str>,
        body: &str,
    ) -> (u16, String, String) {
        let mut req = Request::post(format!("http://127.0.0.1:4000{path}"));
        if let Some(t) = target {
            req = req.header("x-amz-target", t);
        }
        let res = e
            .handle(req.body(Full::new(Bytes::from(body.to_string()))).unwrap())
            .await;
        let status = res.status().as_u16();
        let q = res
            .headers()
            .get("x-amzn-query-error")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, q, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_query_call_may_name_its_queue_by_the_path() {
        let e = endpoint();
        let (status, _, xml) = call(
            &e,
            "/123456789012/q",
            None,
            "Action=ReceiveMessage&MaxNumberOfMessages=1",
        )
        .await;
        assert_eq!(status, 200);
        assert!(xml.contains("<MessageId>m1</MessageId>"), "{xml}");
        assert!(!xml.contains("m2"), "{xml}");
    }

    #[tokio::test]
    async fn a_batch_delete_of_the_batch_and_of_elsewhere_answers_each_entry() {
        let e = endpoint();
        let body = json!({"QueueUrl": "http://127.0.0.1:4000/123456789012/q", "Entries": [
            {"Id": "a", "ReceiptHandle": "h1"}, {"Id": "b", "ReceiptHandle": "not-the-batch"}]});
        let (status, _, out) = call(
            &e,
            "/",
            Some("AmazonSQS.DeleteMessageBatch"),
            &body.to_string(),
        )
        .await;
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["Successful"], json!([{"Id": "a"}]));
        // The other went to SQS, which did not answer: a receiver fault the worker may retry.
        assert_eq!(v["Failed"][0]["Id"], "b");
        assert_eq!(v["Failed"][0]["SenderFault"], false);
        assert_eq!(
            e.shared.finish().unwrap().failures(),
            vec!["m2".to_string()]
        );
    }

    #[tokio::test]
    async fn a_call_sqs_does_not_answer_is_an_internal_failure_in_the_workers_protocol() {
        let e = endpoint();
        let body = json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/other", "MessageBody": "x"});
        let (status, q, out) =
            call(&e, "/", Some("AmazonSQS.SendMessage"), &body.to_string()).await;
        assert_eq!((status, q.as_str()), (500, "InternalFailure;Receiver"));
        assert!(out.contains("com.amazonaws.sqs#InternalFailure"), "{out}");
        let (status, _, xml) =
            call(&e, "/", None, "Action=SendMessage&QueueUrl=x&MessageBody=y").await;
        assert_eq!(status, 500);
        assert!(xml.contains("<Code>InternalFailure</Code>"), "{xml}");
    }

    /// A stand-in for SQS: answers `{}` to every call and hands over each request's body.
    async fn capture() -> (
        String,
        tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let n = stream.read(&mut chunk).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        let Some((head, body)) = text.split_once("\r\n\r\n") else {
                            continue;
                        };
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse().ok())?
                            })
                            .unwrap_or(0);
                        if body.len() < length {
                            continue;
                        }
                        let v = serde_json::from_str(body).unwrap_or_else(|_| {
                            serde_json::Value::Object(
                                form_urlencoded::parse(body.as_bytes())
                                    .map(|(k, v)| (k.into_owned(), json!(v)))
                                    .collect(),
                            )
                        });
                        tx.send(v).unwrap();
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}";
                        stream.write_all(answer.as_bytes()).await.unwrap();
                        buf.clear();
                    }
                });
            }
        });
        (address, rx)
    }

    #[tokio::test]
    async fn calls_about_a_record_of_another_queue_go_to_that_queue() {
        const PROD: &str = "arn:aws:sqs:us-east-1:123456789012:prod";
        let (sqs, mut seen) = capture().await;
        let get = |k: &str| {
            let v = match k {
                "AWS_REGION" => "us-east-1",
                "AWS_ACCESS_KEY_ID" => "AKID",
                "AWS_SECRET_ACCESS_KEY" => "secret",
                "AWS_ENDPOINT_URL_SQS" => sqs.as_str(),
                "REPLATFORM_BRIDGE_QUEUES" => {
                    r#"{"https://sqs.us-east-1.amazonaws.com/123456789012/q":
                        ["arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:sqs:us-east-1:123456789012:prod"]}"#
                }
                _ => return None,
            };
            Some(v.to_string())
        };
        let cfg = Config::from_env(vec!["worker".into()], &get).unwrap();
        let shared = Arc::new(Shared::default());
        shared.begin(
            Batch::from_event(
                "r",
                &json!({"Records": [
                    {"messageId": "m1", "receiptHandle": "h1", "body": "own", "eventSourceARN": ARN},
                    {"messageId": "m2", "receiptHandle": "h2", "body": "prod", "eventSourceARN": PROD},
                ]}),
            )
            .unwrap(),
        );
        let e = Endpoint {
            forwarder: Forwarder::new(&cfg).unwrap(),
            cfg,
            shared,
            local: "http://127.0.0.1:4000".into(),
        };
        let local_q = "http://127.0.0.1:4000/123456789012/q";
        let receive = json!({"QueueUrl": local_q, "MaxNumberOfMessages": 10});
        let (_, _, out) = call(
            &e,
            "/",
            Some("AmazonSQS.ReceiveMessage"),
            &receive.to_string(),
        )
        .await;
        assert!(out.contains("\"m1\"") && out.contains("\"m2\""), "{out}");

        let visibility =
            |h: &str| json!({"QueueUrl": local_q, "ReceiptHandle": h, "VisibilityTimeout": 0});
        let (status, _, _) = call(
            &e,
            "/",
            Some("AmazonSQS.ChangeMessageVisibility"),
            &visibility("h2").to_string(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            seen.recv().await.unwrap()["QueueUrl"],
            format!("{sqs}/123456789012/prod")
        );
        call(
            &e,
            "/",
            Some("AmazonSQS.ChangeMessageVisibility"),
            &visibility("h1").to_string(),
        )
        .await;
        assert_eq!(
            seen.recv().await.unwrap()["QueueUrl"],
            "https://sqs.us-east-1.amazonaws.com/123456789012/q"
        );
        // Query, batch form, all of the production queue.
        let (status, _, _) = call(
            &e,
            "/123456789012/q",
            None,
            "Action=ChangeMessageVisibilityBatch&ChangeMessageVisibilityBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=h2&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=0",
        )
        .await;
        assert_eq!(status, 200);
        let sent = seen.recv().await.unwrap();
        assert_eq!(sent["QueueUrl"], format!("{sqs}/123456789012/prod"));
        assert_eq!(
            sent["ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle"],
            "h2"
        );

        // The invocation ends; a late delete of the production queue's message goes there.
        e.shared.finish();
        let delete = json!({"QueueUrl": local_q, "ReceiptHandle": "h2"});
        let (status, _, _) = call(
            &e,
            "/",
            Some("AmazonSQS.DeleteMessage"),
            &delete.to_string(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            seen.recv().await.unwrap()["QueueUrl"],
            format!("{sqs}/123456789012/prod")
        );
    }
}

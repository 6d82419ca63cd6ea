//! The Lambda Runtime API, on a loopback port, for `replatform local`: what the runtime
//! interface client in the image talks to (AWS's documented API, `2018-06-01`):
//!
//! - `GET  /2018-06-01/runtime/invocation/next`: blocks until an invocation is there; the
//!   event as the body, with `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
//!   `Lambda-Runtime-Invoked-Function-Arn` and `Lambda-Runtime-Trace-Id`;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error`: 202;
//! - `POST /2018-06-01/runtime/init/error`: 202;
//! - an unknown request id: 400 `InvalidRequestID`; any other path: 404.
//!
//! [`RuntimeApi::invoke`] hands one event out and waits for its answer until the deadline.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, Notify};

const PREFIX: &str = "/2018-06-01/runtime";

/// An error as the runtime reports it (`errorType`, `errorMessage`, `stackTrace`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct RuntimeError {
    #[serde(rename = "errorType", default)]
    pub error_type: String,
    #[serde(rename = "errorMessage", default)]
    pub error_message: String,
    #[serde(rename = "stackTrace", default)]
    pub stack_trace: Vec<String>,
}

/// How one invocation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The handler's response body.
    Response(Vec<u8>),
    /// The handler raised (`.../error`).
    Error(RuntimeError),
    /// No answer by the deadline: Lambda stops the function and reports `Task timed out after
    /// N seconds`.
    TimedOut,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Invoked {
    pub request_id: String,
    pub outcome: Outcome,
    /// From the runtime's pickup to its answer (or the deadline).
    pub duration: Duration,
}

struct Pending {
    request_id: String,
    event: Vec<u8>,
    timeout: Duration,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Pending>,
    /// Handed out, waiting for an answer: the answer's channel and when it was picked up.
    answers: HashMap<String, oneshot::Sender<(Outcome, Instant)>>,
    picked: HashMap<String, Instant>,
    init_error: Option<RuntimeError>,
    first_next: Option<Instant>,
}

/// The API and its state; dropping it stops serving.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    started: Instant,
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
    init_failed: Arc<Notify>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn json(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

fn request_id(rng: &mut fastrand::Rng) -> String {
    let hex = |n: usize, rng: &mut fastrand::Rng| {
        (0..n)
            .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
            .collect::<String>()
    };
    format!(
        "{}-{}-{}-{}-{}",
        hex(8, rng),
        hex(4, rng),
        hex(4, rng),
        hex(4, rng),
        hex(12, rng)
    )
}

impl RuntimeApi {
    /// Serves on 127.0.0.1, on a free port.
    pub async fn start(function_arn: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state: Arc<Mutex<State>> = Arc::default();
        let wake = Arc::new(Notify::new());
        let init_failed = Arc::new(Notify::new());
        let arn = function_arn.to_string();
        let (s, w, f) = (state.clone(), wake.clone(), init_failed.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (s, w, f, arn) = (s.clone(), w.clone(), f.clone(), arn.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        handle(req, s.clone(), w.clone(), f.clone(), arn.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            started: Instant::now(),
            state,
            wake,
            init_failed,
            server,
        })
    }

    /// From the start to the runtime's first `next`: its init.
    pub fn init_duration(&self) -> Option<Duration> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .first_next
            .map(|t| t - self.started)
    }

    /// What the runtime posted to `/runtime/init/error`, if it did.
    pub fn init_error(&self) -> Option<RuntimeError> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .init_error
            .clone()
    }

    /// Resolves once the runtime reports an init error.
    pub async fn init_failed(&self) {
        loop {
            let notified = self.init_failed.notified();
            if self.init_error().is_some() {
                return;
            }
            notified.await;
        }
    }

    /// Hands `event` to the runtime and waits for its answer, until `timeout` after the runtime
    /// picked it up. Waits as long as it takes for the pickup: the caller stops waiting when the
    /// function's process ends or reports an init error.
    pub async fn invoke(&self, event: Vec<u8>, timeout: Duration) -> Invoked {
        let request_id = request_id(&mut fastrand::Rng::new());
        let (tx, rx) = oneshot::channel();
        {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.answers.insert(request_id.clone(), tx);
            s.queue.push_back(Pending {
                request_id: request_id.clone(),
                event,
                timeout,
            });
        }
        self.wake.notify_waiters();
        // The pickup, then the deadline.
        let picked = loop {
            let notified = self.wake.notified();
            if let Some(at) = self
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .picked
                .get(&request_id)
                .copied()
            {
                break at;
            }
            notified.await;
        };
        let deadline = tokio::time::Instant::from_std(picked + timeout);
        let (outcome, at) = match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(answer)) => answer,
            _ => {
                self.state
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .answers
                    .remove(&request_id);
                (Outcome::TimedOut, Instant::now())
            }
        };
        Invoked {
            request_id,
            outcome,
            duration: at.saturating_duration_since(picked).min(timeout),
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
    init_failed: Arc<Notify>,
    arn: String,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(json(
            StatusCode::NOT_FOUND,
            r#"{"errorMessage":"Not found","errorType":"NotFound"}"#,
        ));
    };
    match (method, rest) {
        (Method::GET, "/invocation/next") => {
            let next = loop {
                let notified = wake.notified();
                {
                    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                    s.first_next.get_or_insert_with(Instant::now);
                    if let Some(p) = s.queue.pop_front() {
                        s.picked.insert(p.request_id.clone(), Instant::now());
                        break p;
                    }
                }
                notified.await;
            };
            wake.notify_waiters();
            let deadline_ms = (SystemTime::now() + next.timeout)
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let trace = format!(
                "Root=1-{:08x}-{};Parent={};Sampled=0",
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                &next.request_id.replace('-', "")[..24],
                &next.request_id.replace('-', "")[..16]
            );
            let response = Response::builder()
                .status(StatusCode::OK)
                .header("Content-Type", "application/json")
                .header("Lambda-Runtime-Aws-Request-Id", &next.request_id)
                .header("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string())
                .header("Lambda-Runtime-Invoked-Function-Arn", &arn)
                .header("Lambda-Runtime-Trace-Id", trace)
                .body(Full::new(Bytes::from(next.event)))
                .expect("a valid response");
            Ok(response)
        }
        (Method::POST, "/init/error") => {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let error =
                serde_json::from_slice::<RuntimeError>(&body).unwrap_or_else(|_| RuntimeError {
                    error_type: "Runtime.Unknown".into(),
                    error_message: String::from_utf8_lossy(&body).into_owned(),
                    stack_trace: vec![],
                });
            state.lock().unwrap_or_else(|p| p.into_inner()).init_error = Some(error);
            init_failed.notify_waiters();
            Ok(json(StatusCode::ACCEPTED, r#"{"status":"OK"}"#))
        }
        (Method::POST, rest) if rest.starts_with("/invocation/") => {
            let Some((id, kind)) = rest["/invocation/".len()..].split_once('/') else {
                return Ok(json(
                    StatusCode::NOT_FOUND,
                    r#"{"errorMessage":"Not found","errorType":"NotFound"}"#,
                ));
            };
            let (id, kind) = (id.to_string(), kind.to_string());
            if kind != "response" && kind != "error" {
                return Ok(json(
                    StatusCode::NOT_FOUND,
                    r#"{"errorMessage":"Not found","errorType":"NotFound"}"#,
                ));
            }
            let error_type = req
                .headers()
                .get("Lambda-Runtime-Function-Error-Type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let Some(tx) = state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .answers
                .remove(&id)
            else {
                return Ok(json(
                    StatusCode::BAD_REQUEST,
                    r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
                ));
            };
            let outcome = if kind == "response" {
                Outcome::Response(body.to_vec())
            } else {
                let mut e = serde_json::from_slice::<RuntimeError>(&body).unwrap_or_else(|_| {
                    RuntimeError {
                        error_message: String::from_utf8_lossy(&body).into_owned(),
                        ..Default::default()
                    }
                });
                if e.error_type.is_empty() {
                    e.error_type = error_type.unwrap_or_else(|| "Unhandled".into());
                }
                Outcome::Error(e)
            };
            let _ = tx.send((outcome, Instant::now()));
            Ok(json(StatusCode::ACCEPTED, r#"{"status":"OK"}"#))
        }
        _ => Ok(json(
            StatusCode::NOT_FOUND,
            r#"{"errorMessage":"Not found","errorType":"NotFound"}"#,
        )),
    }
}

//! The supervisor as Lambda runs it: a fake Runtime API (the shapes of the Lambda developer
//! guide, "Using the Lambda runtime API for custom runtimes") hands it SQS events, and a real
//! worker (Python, boto3 or raw Query calls) polls it; calls for other queues go to moto.
//!
//! Needs the Python that has boto3 and moto: `MOTO_PYTHON` and `MOTO_SERVER` (`source
//! scripts/tools.sh` exports both), or the venv under ~/.cache/replatform-tools.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, Mutex};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// A tool of the test venv: the variable, else the first venv that has it.
fn tool(var: &str, name: &str) -> PathBuf {
    if let Ok(p) = std::env::var(var) {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let venvs = Path::new(&home).join(".cache/replatform-tools");
    std::fs::read_dir(&venvs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "{var} is not set and no venv under {} has {name}: `source scripts/tools.sh`",
                venvs.display()
            )
        })
}

/// The supervisor under test: `BRIDGE_BIN` (a static build of scripts/build-bridge), else this
/// build's binary.
fn bridge() -> Command {
    Command::new(
        std::env::var("BRIDGE_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_replatform-bridge").to_string()),
    )
}

/// [`bridge`] as Lambda starts it: the Runtime API at `runtime`, the region, credentials that
/// sign but open nothing, its queue `queue_url`, and no endpoint from the test's environment.
fn bridge_at(runtime: &str, queue_url: &str) -> Command {
    let mut cmd = bridge();
    cmd.env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_SQS")
        .env_remove("AWS_PROFILE")
        .env("AWS_LAMBDA_RUNTIME_API", runtime)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("REPLATFORM_BRIDGE_QUEUE_URL", queue_url);
    cmd
}

/// One invocation's event, as the fake Runtime API hands it out.
struct Invocation {
    request_id: String,
    event: Value,
    deadline_in: Duration,
}

/// What the supervisor posted: (path after `/runtime/`, body).
type Posted = (String, Value);

struct FakeRuntime {
    address: String,
    events: mpsc::UnboundedSender<Invocation>,
    posted: mpsc::UnboundedReceiver<Posted>,
}

impl FakeRuntime {
    async fn start() -> FakeRuntime {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (events_tx, events_rx) = mpsc::unbounded_channel::<Invocation>();
        let (posted_tx, posted_rx) = mpsc::unbounded_channel::<Posted>();
        let events_rx = Arc::new(Mutex::new(events_rx));
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let events_rx = events_rx.clone();
                let posted_tx = posted_tx.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let events_rx = events_rx.clone();
                        let posted_tx = posted_tx.clone();
                        async move {
                            let path = req.uri().path().to_string();
                            let rest = path
                                .strip_prefix("/2018-06-01/runtime/")
                                .unwrap_or(&path)
                                .to_string();
                            if rest == "invocation/next" {
                                // Waits, as Lambda does, until there is an event.
                                let Some(inv) = events_rx.lock().await.recv().await else {
                                    return Ok::<_, std::convert::Infallible>(Response::new(
                                        Full::default(),
                                    ));
                                };
                                let deadline =
                                    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
                                        + inv.deadline_in;
                                let res = Response::builder()
                                    .header("lambda-runtime-aws-request-id", &inv.request_id)
                                    .header(
                                        "lambda-runtime-deadline-ms",
                                        deadline.as_millis().to_string(),
                                    )
                                    .header(
                                        "lambda-runtime-invoked-function-arn",
                                        "arn:aws:lambda:us-east-1:123456789012:function:worker",
                                    )
                                    .body(Full::new(Bytes::from(inv.event.to_string())))
                                    .unwrap();
                                return Ok(res);
                            }
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            posted_tx.send((rest, value)).unwrap();
                            Ok(Response::builder()
                                .status(202)
                                .body(Full::new(Bytes::from_static(b"{}")))
                                .unwrap())
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeRuntime {
            address,
            events: events_tx,
            posted: posted_rx,
        }
    }

    fn invoke(&self, request_id: &str, event: Value, deadline_in: Duration) {
        self.events
            .send(Invocation {
                request_id: request_id.into(),
                event,
                deadline_in,
            })
            .unwrap();
    }

    async fn next_post(&mut self) -> Posted {
        tokio::time::timeout(Duration::from_secs(60), self.posted.recv())
            .await
            .expect("the supervisor posted nothing within 60 s")
            .unwrap()
    }

    /// The `batchItemFailures` the supervisor answered for `request_id`, as message ids.
    async fn failures(&mut self, request_id: &str) -> Vec<String> {
        let (path, body) = self.next_post().await;
        assert_eq!(path, format!("invocation/{request_id}/response"), "{body}");
        let mut ids: Vec<String> = body["batchItemFailures"]
            .as_array()
            .unwrap_or_else(|| panic!("no batchItemFailures in {body}"))
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }
}

/// An SQS event of one record per body (Lambda developer guide, "Using Lambda with Amazon SQS").
fn event(queue: &str, ids_and_bodies: &[(&str, &str)]) -> Value {
    let records: Vec<(String, String, String)> = ids_and_bodies
        .iter()
        .map(|(id, body)| {
            (
                id.to_string(),
                format!("AQEB{id}handle+/="),
                body.to_string(),
            )
        })
        .collect();
    event_of(queue, &records)
}

/// An SQS event of messages given as (message id, receipt handle, body).
fn event_of(queue: &str, messages: &[(String, String, String)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, handle, body)| {
            json!({
                "messageId": id,
                "receiptHandle": handle,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185"
                },
                "messageAttributes": {"kind": {"stringValue": "test", "stringListValues": [], "binaryListValues": [], "dataType": "String"}},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"),
                "awsRegion": REGION
            })
        })
        .collect();
    json!({ "Records": records })
}

struct Supervisor {
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

impl Supervisor {
    /// Stops the supervisor and the worker it started: its whole process group.
    async fn stop(mut self) {
        kill_group(&self.child);
        let _ = self.child.wait().await;
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        kill_group(&self.child);
    }
}

/// SIGKILL to the process group `child` leads (started with `process_group(0)`).
fn kill_group(child: &Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// A folder removed at the end of the test.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("replatform-bridge-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

impl Supervisor {
    /// Starts the supervisor with `script` as its worker, serving `queue_url`.
    async fn start(
        runtime: &FakeRuntime,
        script: &str,
        queue_url: &str,
        extra: &[(&str, &str)],
    ) -> Supervisor {
        let dir = temp_dir(&format!(
            "{script}-{}",
            queue_url.rsplit('/').next().unwrap()
        ));
        let log = dir.0.join("handled.log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(script);
        let mut cmd = bridge_at(&runtime.address, queue_url);
        cmd.arg("--")
            .arg(tool("MOTO_PYTHON", "python"))
            .arg(script)
            .env("AWS_SESSION_TOKEN", "token")
            .env("QUEUE_URL", queue_url)
            .env("HANDLED_LOG", &log)
            .envs(extra.iter().copied())
            // Its own process group: the test stops the supervisor and the worker it started
            // together (a killed supervisor would leave the worker writing to the test's output).
            .process_group(0)
            .kill_on_drop(true);
        let sup = Supervisor {
            child: cmd.spawn().unwrap(),
            log,
            _dir: dir,
        };
        // The first event waits until the worker has started (Python and boto3 take a while on a
        // busy machine), so that the deadlines the tests give measure the supervisor alone.
        assert_eq!(
            sup.handled_n("ready", 1).await.len(),
            1,
            "the worker did not start"
        );
        sup
    }

    /// The worker's log lines that start with `word`, once there are `n` of them (the worker
    /// writes its line after the call that ended the invocation was answered).
    async fn handled_n(&self, word: &str, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let lines = self.handled(word);
            if lines.len() >= n || std::time::Instant::now() > deadline {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The worker's log lines that start with `word`.
    fn handled(&self, word: &str) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.split(' ').next() == Some(word))
            .map(|l| l.split(' ').nth(1).unwrap_or_default().to_string())
            .collect();
        lines.sort();
        lines
    }
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// A queue URL that no test sends to SQS (the calls stay with the supervisor).
fn real_url(name: &str) -> String {
    format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_worker_deletes_what_it_handled_and_what_it_left_comes_back() {
    let mut runtime = FakeRuntime::start().await;
    let sup = Supervisor::start(&runtime, "worker.py", &real_url("orders"), &[]).await;

    runtime.invoke(
        "req-1",
        event(
            "orders",
            &[("m1", "a"), ("m2", "leave it"), ("m3", "b"), ("m4", "c")],
        ),
        Duration::from_secs(60),
    );
    assert_eq!(runtime.failures("req-1").await, strings(&["m2"]));
    // The worker stays alive between invocations and takes the next batch.
    runtime.invoke(
        "req-2",
        event("orders", &[("m5", "d"), ("m6", "e")]),
        Duration::from_secs(60),
    );
    assert_eq!(runtime.failures("req-2").await, Vec::<String>::new());

    assert_eq!(
        sup.handled_n("deleted", 5).await,
        strings(&["m1", "m3", "m4", "m5", "m6"]),
        "each deleted exactly once"
    );
    assert_eq!(sup.handled_n("left", 1).await, strings(&["m2"]));
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_exits_mid_batch_loses_nothing_and_is_started_again() {
    let mut runtime = FakeRuntime::start().await;
    let sup = Supervisor::start(
        &runtime,
        "worker.py",
        &real_url("jobs"),
        &[("RUN_ONCE", "1")],
    )
    .await;

    // m1 is deleted, then the worker crashes on m2: m2 and m3 (handed out, not deleted) go back.
    runtime.invoke(
        "req-1",
        event("jobs", &[("m1", "a"), ("m2", "crash"), ("m3", "b")]),
        Duration::from_secs(60),
    );
    assert_eq!(runtime.failures("req-1").await, strings(&["m2", "m3"]));
    // Started again; this time it handles its one receive and exits 0 (a run-once worker).
    runtime.invoke(
        "req-2",
        event("jobs", &[("m4", "c"), ("m5", "d")]),
        Duration::from_secs(60),
    );
    assert_eq!(runtime.failures("req-2").await, Vec::<String>::new());
    runtime.invoke(
        "req-3",
        event("jobs", &[("m6", "e")]),
        Duration::from_secs(60),
    );
    assert_eq!(runtime.failures("req-3").await, Vec::<String>::new());

    assert_eq!(
        sup.handled_n("deleted", 4).await,
        strings(&["m1", "m4", "m5", "m6"])
    );
    assert_eq!(sup.handled_n("crash", 1).await, strings(&["m2"]));
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_past_the_deadline_loses_nothing() {
    let mut runtime = FakeRuntime::start().await;
    let sup = Supervisor::start(
        &runtime,
        "worker.py",
        &real_url("slow"),
        &[("REPLATFORM_BRIDGE_DEADLINE_MARGIN_MS", "500")],
    )
    .await;
    let started = std::time::Instant::now();
    runtime.invoke(
        "req-1",
        event("slow", &[("m1", "a"), ("m2", "sleep"), ("m3", "b")]),
        Duration::from_secs(3),
    );
    assert_eq!(runtime.failures("req-1").await, strings(&["m2", "m3"]));
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "answered before the deadline: {took:?}"
    );
    assert_eq!(sup.handled_n("deleted", 1).await, strings(&["m1"]));
    sup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_start_is_an_init_error() {
    let mut runtime = FakeRuntime::start().await;
    let mut cmd = bridge_at(&runtime.address, &real_url("q"));
    cmd.arg("--").arg("/nonexistent/worker");
    init_error(cmd, &mut runtime, "/nonexistent/worker").await;
}

/// Starts `cmd` and asserts that it reports an init error to the Runtime API, its message
/// holding `says`, and exits unsuccessfully.
async fn init_error(mut cmd: Command, runtime: &mut FakeRuntime, says: &str) {
    let mut child = cmd.kill_on_drop(true).spawn().unwrap();
    let (path, body) = runtime.next_post().await;
    assert_eq!(path, "init/error");
    assert_eq!(body["errorType"], "Runtime.BridgeInitError");
    assert!(
        body["errorMessage"].as_str().unwrap().contains(says),
        "{body}"
    );
    assert!(!child.wait().await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_empty_worker_file_is_an_init_error() {
    let dir = temp_dir("worker-file");
    let empty = dir.0.join("worker.json");
    std::fs::write(
        &empty,
        r#"{"entrypoint": null, "cmd": null, "workdir": ""}"#,
    )
    .unwrap();
    for (file, says) in [
        (dir.0.join("missing.json"), "missing.json"),
        (empty, "are empty"),
    ] {
        let mut runtime = FakeRuntime::start().await;
        let mut cmd = bridge_at(&runtime.address, &real_url("q"));
        cmd.args(["--image-entrypoint", "--image-cmd", "--image-workdir"])
            .env("REPLATFORM_BRIDGE_WORKER_FILE", &file);
        init_error(cmd, &mut runtime, says).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_images_recorded_parts_start_the_worker_in_its_folder() {
    let mut runtime = FakeRuntime::start().await;
    let dir = temp_dir("recorded");
    // The worker as an image would record it: `python` as ENTRYPOINT, the script by a path
    // relative to WORKDIR as CMD.
    let file = dir.0.join("worker.json");
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    std::fs::write(
        &file,
        json!({
            "entrypoint": [tool("MOTO_PYTHON", "python")],
            "cmd": ["worker.py"],
            "workdir": tests,
        })
        .to_string(),
    )
    .unwrap();
    let log = dir.0.join("handled.log");
    let url = real_url("recorded");
    let mut child = bridge_at(&runtime.address, &url)
        .args(["--image-entrypoint", "--image-cmd", "--image-workdir"])
        .env("REPLATFORM_BRIDGE_WORKER_FILE", &file)
        .env("QUEUE_URL", &url)
        .env("HANDLED_LOG", &log)
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    runtime.invoke(
        "req-1",
        event("recorded", &[("m1", "a"), ("m2", "b")]),
        Duration::from_secs(30),
    );
    assert_eq!(runtime.failures("req-1").await, Vec::<String>::new());
    // The worker logs a delete after SQS has answered it, so the invocation can be answered
    // before both lines are written: wait for them.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut text = String::new();
    while std::time::Instant::now() < deadline {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.matches("deleted ").count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(text.matches("deleted ").count(), 2, "{text}");
    kill_group(&child);
    let _ = child.wait().await;
}

/// moto's server on a free port, stopped at the end of the test.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    async fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(tool("MOTO_SERVER", "moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "moto_server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// One JSON-protocol call, unsigned (moto does not check signatures).
    async fn call(&self, op: &str, body: Value) -> Value {
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let req = Request::post(format!("{}/", self.endpoint))
            .header("x-amz-target", format!("AmazonSQS.{op}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/{REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0"))
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let res = client.request(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status.is_success(),
            "{op}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes).unwrap()
    }

    async fn create_queue(&self, name: &str) -> String {
        self.call("CreateQueue", json!({"QueueName": name})).await["QueueUrl"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The bodies waiting in a queue.
    async fn bodies(&self, url: &str) -> Vec<String> {
        let got = self
            .call(
                "ReceiveMessage",
                json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
            )
            .await;
        let mut bodies: Vec<String> = got["Messages"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| m["Body"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        bodies.sort();
        bodies
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_for_another_queue_go_to_sqs_in_the_json_protocol() {
    let moto = Moto::start().await;
    let work = moto.create_queue("work").await;
    let other = moto.create_queue("other").await;
    let mut runtime = FakeRuntime::start().await;
    let sup = Supervisor::start(
        &runtime,
        "worker.py",
        &work,
        &[
            ("AWS_ENDPOINT_URL_SQS", &moto.endpoint),
            ("OTHER_QUEUE_URL", &other),
            ("CHECK_QUEUE", "1"),
        ],
    )
    .await;

    // The batch is what the mapping received from the real queue: real ids and receipt handles.
    for body in ["send:hello", "send:world", "extend"] {
        moto.call(
            "SendMessage",
            json!({"QueueUrl": work, "MessageBody": body}),
        )
        .await;
    }
    let got = moto
        .call(
            "ReceiveMessage",
            json!({"QueueUrl": work, "MaxNumberOfMessages": 10, "VisibilityTimeout": 60}),
        )
        .await;
    let messages: Vec<(String, String, String)> = got["Messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let f = |k: &str| m[k].as_str().unwrap().to_string();
            (f("MessageId"), f("ReceiptHandle"), f("Body"))
        })
        .collect();
    assert_eq!(messages.len(), 3);
    let mut ids: Vec<String> = messages.iter().map(|m| m.0.clone()).collect();
    ids.sort();

    runtime.invoke(
        "req-1",
        event_of("work", &messages),
        Duration::from_secs(60),
    );
    assert_eq!(runtime.failures("req-1").await, Vec::<String>::new());

    assert_eq!(moto.bodies(&other).await, strings(&["hello", "world"]));
    assert_eq!(sup.handled_n("deleted", 3).await, ids);
    // ChangeMessageVisibility went to SQS with the real receipt handle: "extend" is visible again
    // there, while the two others stay in flight until the mapping deletes them.
    assert_eq!(sup.handled_n("extended", 1).await.len(), 1);
    assert_eq!(moto.bodies(&work).await, strings(&["extend"]));
    // GetQueueUrl and GetQueueAttributes were forwarded; the URL came back pointed at the supervisor.
    let url = sup.handled("queue-url");
    assert!(
        url[0].starts_with("http://127.0.0.1:") && url[0].ends_with(&format!("/{ACCOUNT}/work")),
        "{url:?}"
    );
    assert!(!url[0].starts_with(&moto.endpoint));
    assert_eq!(
        sup.handled("queue-arn"),
        strings(&[&format!("arn:aws:sqs:{REGION}:{ACCOUNT}:work")])
    );
    sup.stop().await;
    drop(moto.child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_protocol_worker_is_served_and_forwarded_too() {
    let moto = Moto::start().await;
    let work = moto.create_queue("qwork").await;
    let other = moto.create_queue("qother").await;
    let mut runtime = FakeRuntime::start().await;
    let sup = Supervisor::start(
        &runtime,
        "query_worker.py",
        &work,
        &[
            ("AWS_ENDPOINT_URL_SQS", &moto.endpoint),
            ("OTHER_QUEUE_URL", &other),
        ],
    )
    .await;

    runtime.invoke(
        "req-1",
        event(
            "qwork",
            &[("m1", "a & <b>"), ("m2", "leave"), ("m3", "send:via query")],
        ),
        Duration::from_secs(60),
    );
    assert_eq!(runtime.failures("req-1").await, strings(&["m2"]));
    assert_eq!(sup.handled_n("deleted", 2).await, strings(&["m1", "m3"]));
    assert_eq!(sup.handled("sent").len(), 1);
    assert_eq!(moto.bodies(&other).await, strings(&["via query"]));
    sup.stop().await;
    drop(moto.child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_after_the_invocation_ended_goes_to_sqs() {
    let moto = Moto::start().await;
    let work = moto.create_queue("late").await;
    moto.call(
        "SendMessage",
        json!({"QueueUrl": work, "MessageBody": "nap:2.5"}),
    )
    .await;
    let got = moto
        .call(
            "ReceiveMessage",
            json!({"QueueUrl": work, "MaxNumberOfMessages": 10, "VisibilityTimeout": 60}),
        )
        .await;
    let m = &got["Messages"][0];
    let id = m["MessageId"].as_str().unwrap().to_string();
    let messages = vec![(
        id.clone(),
        m["ReceiptHandle"].as_str().unwrap().to_string(),
        "nap:2.5".to_string(),
    )];
    let mut runtime = FakeRuntime::start().await;
    let sup = Supervisor::start(
        &runtime,
        "worker.py",
        &work,
        &[
            ("AWS_ENDPOINT_URL_SQS", &moto.endpoint),
            ("REPLATFORM_BRIDGE_DEADLINE_MARGIN_MS", "500"),
        ],
    )
    .await;

    // The deadline comes first: the message is reported as a failure ...
    runtime.invoke("req-1", event_of("late", &messages), Duration::from_secs(2));
    assert_eq!(runtime.failures("req-1").await, vec![id.clone()]);
    // ... and the worker's late delete goes to SQS with the real receipt handle: it is gone there,
    // handled once.
    assert_eq!(sup.handled_n("deleted", 1).await, vec![id]);
    let attrs = moto
        .call(
            "GetQueueAttributes",
            json!({"QueueUrl": work, "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]}),
        )
        .await;
    assert_eq!(
        attrs["Attributes"]["ApproximateNumberOfMessages"], "0",
        "{attrs}"
    );
    assert_eq!(
        attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"], "0",
        "{attrs}"
    );
    sup.stop().await;
    drop(moto.child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_crashes_before_deleting_anything_fails_the_invocation() {
    let mut runtime = FakeRuntime::start().await;
    let sup = Supervisor::start(&runtime, "worker.py", &real_url("fragile"), &[]).await;
    runtime.invoke(
        "req-1",
        event("fragile", &[("m1", "crash"), ("m2", "a")]),
        Duration::from_secs(60),
    );
    let (path, body) = runtime.next_post().await;
    assert_eq!(path, "invocation/req-1/error", "{body}");
    assert_eq!(body["errorType"], "Runtime.WorkerExited");
    // Started again, the next batch is handled.
    runtime.invoke(
        "req-2",
        event("fragile", &[("m3", "b")]),
        Duration::from_secs(60),
    );
    assert_eq!(runtime.failures("req-2").await, Vec::<String>::new());
    assert_eq!(sup.handled_n("deleted", 1).await, strings(&["m3"]));
    sup.stop().await;
}

//! The Kubernetes API's answers for `cutover`, `rollback` and `status` on a worker scaled by KEDA
//! (`production.k8s`). No API server can run on this machine (kube-apiserver and its etcd are
//! not in its package registries), so these are the API's recorded exchanges: a ScaledObject and
//! a Deployment as `kubectl get -o json` printed them (tests/fixtures/k8s/api/), `GET` answered
//! with them, `PATCH` applied as the API server applies a JSON merge patch (RFC 7386; the
//! Kubernetes API reference, "Patch operations") with `resourceVersion` bumped, and a missing or
//! forbidden object answered with the API's `Status` object (`404 NotFound`, `403 Forbidden`).
//!
//! The same answers serve the library's calls in-process (a `kube::Client` over a tower service,
//! so that tokio's paused clock stays usable) and the binary over HTTP (a kubeconfig naming a
//! server on 127.0.0.1). Every change is written to the journal shared with the AWS answers, so a
//! test asserts the order of what production went through; every request is kept.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

pub const SCALED_OBJECT: &str = "/apis/keda.sh/v1alpha1/namespaces/shop/scaledobjects/orders";
pub const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/shop/deployments/orders-worker";
#[cfg(feature = "full-tests")]
pub use over_http::TOKEN;

/// What the API server holds, and what it was asked.
#[derive(Debug, Default)]
pub struct ApiState {
    pub scaled_object: Option<Value>,
    pub deployment: Option<Value>,
    /// Answer every PATCH with 403 Forbidden, as an RBAC role without `patch` does.
    pub deny_patch: bool,
    /// Every request: `GET /apis/...`, `PATCH /apis/... application/merge-patch+json`.
    pub requests: Vec<String>,
    /// The `Authorization` headers seen over HTTP.
    #[cfg(feature = "full-tests")]
    pub authorizations: Vec<String>,
}

#[derive(Clone)]
pub struct KedaApi {
    pub state: Arc<Mutex<ApiState>>,
    journal: Arc<Mutex<Vec<String>>>,
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/k8s/api")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().unwrap();
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// A patch in words, for the journal.
fn journaled(patch: &Value) -> String {
    let mut parts = Vec::new();
    let notes = &patch["metadata"]["annotations"];
    match notes.get("autoscaling.keda.sh/paused-replicas") {
        Some(Value::Null) => parts.push("unpause".to_string()),
        Some(v) => parts.push(format!("pause at {}", v.as_str().unwrap_or("?"))),
        None => {}
    }
    match notes.get("replatform/cutover") {
        Some(Value::Null) => parts.push("forget the record".to_string()),
        Some(v) => parts.push(format!("record {}", v.as_str().unwrap_or("?"))),
        None => {}
    }
    let spec = &patch["spec"];
    if spec.get("maxReplicaCount").is_some() {
        parts.push(format!(
            "replicas {}..{}",
            spec["minReplicaCount"], spec["maxReplicaCount"]
        ));
    }
    parts.join(", ")
}

fn status(code: u16, reason: &str, message: String) -> (u16, Value) {
    (
        code,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason,
            "details": {"name": "orders", "group": "keda.sh", "kind": "scaledobjects"},
            "code": code
        }),
    )
}

impl KedaApi {
    /// The ScaledObject `shop/orders` (1..10 replicas, not paused) scaling the Deployment
    /// `shop/orders-worker` of 4 replicas; changes go to `journal`.
    pub fn new(journal: Arc<Mutex<Vec<String>>>) -> Self {
        KedaApi {
            state: Arc::new(Mutex::new(ApiState {
                scaled_object: Some(fixture("scaledobject.json")),
                deployment: Some(fixture("deployment.json")),
                ..Default::default()
            })),
            journal,
        }
    }

    pub fn scaled_object(&self) -> Value {
        self.state.lock().unwrap().scaled_object.clone().unwrap()
    }

    /// The ScaledObject's annotations, without kubectl's own.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        let so = self.scaled_object();
        so["metadata"]["annotations"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !k.starts_with("kubectl.kubernetes.io/"))
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `spec.minReplicaCount` and `spec.maxReplicaCount`.
    pub fn bounds(&self) -> (u64, u64) {
        let so = self.scaled_object();
        (
            so["spec"]["minReplicaCount"].as_u64().unwrap(),
            so["spec"]["maxReplicaCount"].as_u64().unwrap(),
        )
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// How many requests start with `prefix` (`GET /apis/keda.sh`, `PATCH`).
    pub fn count(&self, prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.starts_with(prefix))
            .count()
    }

    pub fn with(&self, f: impl FnOnce(&mut ApiState)) -> &Self {
        f(&mut self.state.lock().unwrap());
        self
    }

    /// The API server's answer to one request.
    pub fn answer(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let path = path.split('?').next().unwrap_or(path);
        let mut s = self.state.lock().unwrap();
        s.requests.push(
            format!("{method} {path} {content_type}")
                .trim_end()
                .to_string(),
        );
        let deny = s.deny_patch;
        let slot = match path {
            SCALED_OBJECT => &mut s.scaled_object,
            DEPLOYMENT => &mut s.deployment,
            _ => {
                return status(
                    404,
                    "NotFound",
                    format!("the server could not find the requested resource ({path})"),
                )
            }
        };
        let kind = if path == SCALED_OBJECT {
            "scaledobjects.keda.sh \"orders\""
        } else {
            "deployments.apps \"orders-worker\""
        };
        match (method, slot.as_mut()) {
            (_, None) => status(404, "NotFound", format!("{kind} not found")),
            ("GET", Some(o)) => (200, o.clone()),
            ("PATCH", Some(_)) if deny => status(403, "Forbidden", format!("{kind} is forbidden: User \"arn:aws:sts::123456789012:assumed-role/deployer/ci\" cannot patch resource \"scaledobjects\" in API group \"keda.sh\" in the namespace \"shop\"")),
            ("PATCH", Some(o)) => {
                assert_eq!(content_type, "application/merge-patch+json", "a merge patch");
                let patch: Value = serde_json::from_slice(body).unwrap();
                merge(o, &patch);
                let version: u64 = o["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
                o["metadata"]["resourceVersion"] = json!((version + 1).to_string());
                let o = o.clone();
                self.journal.lock().unwrap().push(journaled(&patch));
                (200, o)
            }
            _ => status(405, "MethodNotAllowed", format!("{method} is not allowed here")),
        }
    }

    /// A client of these answers, in-process.
    pub fn client(&self) -> kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |req: http::Request<kube::client::Body>| {
            let api = api.clone();
            async move {
                let (parts, body) = req.into_parts();
                let bytes = body.collect_bytes().await.unwrap_or_default();
                let ct = parts
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let (code, answer) =
                    api.answer(parts.method.as_str(), &parts.uri.to_string(), &ct, &bytes);
                Ok::<_, std::convert::Infallible>(
                    http::Response::builder()
                        .status(code)
                        .header("content-type", "application/json")
                        .body(kube::client::Body::from(
                            serde_json::to_vec(&answer).unwrap(),
                        ))
                        .unwrap(),
                )
            }
        });
        kube::Client::new(service, "shop")
    }
}

/// The same answers over HTTP, for the binary (`cutover.rs`, with the tools of `full-tests`).
#[cfg(feature = "full-tests")]
mod over_http {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::path::{Path, PathBuf};

    use super::KedaApi;

    /// The bearer token of the kubeconfig the binary is given: it must never show.
    pub const TOKEN: &str = "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vc2VjcmV0";

    impl KedaApi {
        /// The answers over HTTP on 127.0.0.1, for the binary (`cutover.rs`, with the tools of
        /// `full-tests`): the server's URL.
        pub fn serve(&self) -> String {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let api = self.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let api = api.clone();
                    std::thread::spawn(move || {
                        let mut reader = BufReader::new(stream.try_clone().unwrap());
                        let mut out = stream;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            let mut words = line.split_whitespace();
                            let (method, path) = (
                                words.next().unwrap_or_default().to_string(),
                                words.next().unwrap_or_default().to_string(),
                            );
                            let (mut length, mut ct) = (0usize, String::new());
                            loop {
                                let mut h = String::new();
                                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                                    break;
                                }
                                let (name, value) = h.split_once(':').unwrap_or((&h, ""));
                                let value = value.trim().to_string();
                                match name.to_ascii_lowercase().as_str() {
                                    "content-length" => length = value.parse().unwrap_or(0),
                                    "content-type" => ct = value,
                                    "authorization" => {
                                        api.state.lock().unwrap().authorizations.push(value)
                                    }
                                    _ => {}
                                }
                            }
                            let mut body = vec![0; length];
                            if reader.read_exact(&mut body).is_err() {
                                return;
                            }
                            let (code, answer) = api.answer(&method, &path, &ct, &body);
                            let text = serde_json::to_string(&answer).unwrap();
                            let reply = format!(
                            "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
                            if code == 200 { "OK" } else { "Error" },
                            text.len()
                        );
                            if out.write_all(reply.as_bytes()).is_err() {
                                return;
                            }
                        }
                    });
                }
            });
            url
        }

        /// A kubeconfig in `dir` whose context `shop-eks` names the server at `url` with a bearer
        /// token, and whose current context is another cluster's.
        pub fn kubeconfig(dir: &Path, url: &str) -> PathBuf {
            let path = dir.join("kubeconfig");
            std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: staging\nclusters:\n- name: shop-eks\n  cluster:\n    server: {url}\n- name: staging\n  cluster:\n    server: http://127.0.0.1:9\ncontexts:\n- name: shop-eks\n  context:\n    cluster: shop-eks\n    user: ci\n- name: staging\n  context:\n    cluster: staging\n    user: ci\nusers:\n- name: ci\n  user:\n    token: {TOKEN}\n"
            ),
        )
        .unwrap();
            path
        }
    }
}

#[test]
fn a_merge_patch_merges_removes_and_replaces_as_rfc_7386_says() {
    let mut o = json!({"a": {"b": 1, "c": 2}, "d": [1]});
    merge(&mut o, &json!({"a": {"b": null, "e": 3}, "d": [2, 3]}));
    assert_eq!(o, json!({"a": {"c": 2, "e": 3}, "d": [2, 3]}));
}

//! The Lambda Runtime API client (Lambda developer guide, "Using the Lambda runtime API for
//! custom runtimes"; docs/pitfalls.md#p51).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

const PREFIX: &str = "/2018-06-01/runtime";

pub struct Invocation {
    pub request_id: String,
    /// How long is left until the deadline Lambda gave (`Lambda-Runtime-Deadline-Ms`).
    pub remaining: Option<Duration>,
    pub event: Value,
}

pub struct RuntimeApi {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl RuntimeApi {
    /// `address`: `AWS_LAMBDA_RUNTIME_API`, a `host:port`.
    pub fn new(address: &str) -> RuntimeApi {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        RuntimeApi {
            base: format!("http://{address}{PREFIX}"),
            client: Client::builder(TokioExecutor::new()).build(http),
        }
    }

    async fn call(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<(http::response::Parts, Bytes), String> {
        let uri = req.uri().to_string();
        let res = self
            .client
            .request(req)
            .await
            .map_err(|e| format!("the Runtime API at {uri}: {e}"))?;
        let (parts, body) = res.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("the Runtime API's answer was cut: {e}"))?
            .to_bytes();
        Ok((parts, body))
    }

    /// `GET /runtime/invocation/next`: waits for the next event.
    pub async fn next(&self) -> Result<Invocation, String> {
        let req = Request::get(format!("{}/invocation/next", self.base))
            .body(Full::default())
            .map_err(|e| e.to_string())?;
        let (parts, body) = self.call(req).await?;
        if !parts.status.is_success() {
            return Err(format!("invocation/next answered {}", parts.status));
        }
        let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok());
        let request_id = header("lambda-runtime-aws-request-id")
            .ok_or("invocation/next gave no Lambda-Runtime-Aws-Request-Id")?
            .to_string();
        let remaining = header("lambda-runtime-deadline-ms")
            .and_then(|d| d.parse::<u64>().ok())
            .map(|deadline| {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis() as u64;
                Duration::from_millis(deadline.saturating_sub(now))
            });
        let event = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok(Invocation {
            request_id,
            remaining,
            event,
        })
    }

    async fn post(&self, path: &str, body: Value, error_type: Option<&str>) -> Result<(), String> {
        let mut req = Request::post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(t) = error_type {
            req = req.header("lambda-runtime-function-error-type", t);
        }
        let req = req
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        let (parts, _) = self.call(req).await?;
        if !parts.status.is_success() {
            return Err(format!("{path} answered {}", parts.status));
        }
        Ok(())
    }

    /// `POST /runtime/invocation/{id}/response` with a partial batch response.
    pub async fn respond(&self, request_id: &str, failures: &[String]) -> Result<(), String> {
        let items: Vec<Value> = failures
            .iter()
            .map(|id| json!({"itemIdentifier": id}))
            .collect();
        self.post(
            &format!("/invocation/{request_id}/response"),
            json!({"batchItemFailures": items}),
            None,
        )
        .await
    }

    /// `POST /runtime/invocation/{id}/error`: the whole batch failed.
    pub async fn invocation_error(
        &self,
        request_id: &str,
        error_type: &str,
        message: &str,
    ) -> Result<(), String> {
        self.post(
            &format!("/invocation/{request_id}/error"),
            json!({"errorMessage": message, "errorType": error_type}),
            Some(error_type),
        )
        .await
    }

    /// `POST /runtime/init/error`.
    pub async fn init_error(&self, error_type: &str, message: &str) -> Result<(), String> {
        self.post(
            "/init/error",
            json!({"errorMessage": message, "errorType": error_type}),
            Some(error_type),
        )
        .await
    }
}

//! The Lambda Runtime API emulator against the documented request and response shapes: the
//! next invocation with its headers, a response, an error, an unknown request id, the init
//! error, and a deadline that passes.

use std::time::Duration;

use replatform::local::runtime_api::{Outcome, RuntimeApi, RuntimeError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 request; the status, the headers (lowercased names) and the body.
async fn call(
    api: &RuntimeApi,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut s = tokio::net::TcpStream::connect(api.addr).await.unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}", api.addr, body.len());
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    h.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {h:?}"))
}

const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:orders";

#[tokio::test]
async fn next_hands_out_the_event_with_its_headers_and_the_response_comes_back() {
    let api = RuntimeApi::start(ARN).await.unwrap();
    let runtime = async {
        let (status, h, body) =
            call(&api, "GET", "/2018-06-01/runtime/invocation/next", &[], "").await;
        assert_eq!(status, 200);
        assert_eq!(body, r#"{"Records":[]}"#);
        let id = header(&h, "lambda-runtime-aws-request-id").to_string();
        assert_eq!(header(&h, "lambda-runtime-invoked-function-arn"), ARN);
        assert!(header(&h, "lambda-runtime-trace-id").starts_with("Root=1-"));
        let deadline: u128 = header(&h, "lambda-runtime-deadline-ms").parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        assert!(
            deadline > now && deadline <= now + 30_000,
            "the deadline is the timeout from now"
        );
        let (status, _, body) = call(
            &api,
            "POST",
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            &[],
            r#"{"batchItemFailures":[]}"#,
        )
        .await;
        assert_eq!((status, body.as_str()), (202, r#"{"status":"OK"}"#));
        // A second answer to the same request: it is not pending any more.
        let (status, _, body) = call(
            &api,
            "POST",
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            &[],
            "{}",
        )
        .await;
        assert_eq!(status, 400);
        assert!(body.contains("InvalidRequestID"), "{body}");
        id
    };
    let (invoked, id) = tokio::join!(
        api.invoke(br#"{"Records":[]}"#.to_vec(), Duration::from_secs(30)),
        runtime
    );
    assert_eq!(invoked.request_id, id);
    assert_eq!(
        invoked.outcome,
        Outcome::Response(br#"{"batchItemFailures":[]}"#.to_vec())
    );
    assert!(
        api.init_duration().is_some(),
        "init ends at the first `next`"
    );
}

#[tokio::test]
async fn an_error_is_reported_with_its_type_message_and_trace() {
    let api = RuntimeApi::start(ARN).await.unwrap();
    let runtime = async {
        let (_, h, _) = call(&api, "GET", "/2018-06-01/runtime/invocation/next", &[], "").await;
        let id = header(&h, "lambda-runtime-aws-request-id").to_string();
        let error = r#"{"errorMessage":"poison message","errorType":"ValueError","stackTrace":["  File \"/app/app.py\", line 42"]}"#;
        let (status, _, _) = call(
            &api,
            "POST",
            &format!("/2018-06-01/runtime/invocation/{id}/error"),
            &[("Lambda-Runtime-Function-Error-Type", "Unhandled")],
            error,
        )
        .await;
        assert_eq!(status, 202);
    };
    let (invoked, ()) = tokio::join!(api.invoke(b"{}".to_vec(), Duration::from_secs(30)), runtime);
    assert_eq!(
        invoked.outcome,
        Outcome::Error(RuntimeError {
            error_type: "ValueError".into(),
            error_message: "poison message".into(),
            stack_trace: vec!["  File \"/app/app.py\", line 42".into()]
        })
    );
}

#[tokio::test]
async fn a_handler_past_its_deadline_times_out() {
    let api = RuntimeApi::start(ARN).await.unwrap();
    let runtime = async {
        let (_, h, _) = call(&api, "GET", "/2018-06-01/runtime/invocation/next", &[], "").await;
        let id = header(&h, "lambda-runtime-aws-request-id").to_string();
        tokio::time::sleep(Duration::from_millis(900)).await;
        // Too late: Lambda has given up on it.
        call(
            &api,
            "POST",
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            &[],
            "{}",
        )
        .await
        .0
    };
    let invoke = async {
        let started = std::time::Instant::now();
        (
            api.invoke(b"{}".to_vec(), Duration::from_millis(400)).await,
            started.elapsed(),
        )
    };
    let ((invoked, waited), late) = tokio::join!(invoke, runtime);
    assert_eq!(invoked.outcome, Outcome::TimedOut);
    assert_eq!(invoked.duration, Duration::from_millis(400));
    assert!(
        waited < Duration::from_millis(850),
        "the deadline is enforced, not the handler's own end: {waited:?}"
    );
    assert_eq!(late, 400, "an answer after the deadline is refused");
}

#[tokio::test]
async fn an_init_error_is_kept_and_unknown_paths_are_404() {
    let api = RuntimeApi::start(ARN).await.unwrap();
    let error = r#"{"errorMessage":"Unable to import module 'app': No module named 'app'","errorType":"Runtime.ImportModuleError","stackTrace":[]}"#;
    let (status, _, _) = call(
        &api,
        "POST",
        "/2018-06-01/runtime/init/error",
        &[(
            "Lambda-Runtime-Function-Error-Type",
            "Runtime.ImportModuleError",
        )],
        error,
    )
    .await;
    assert_eq!(status, 202);
    tokio::time::timeout(Duration::from_secs(5), api.init_failed())
        .await
        .expect("init_failed resolves");
    let e = api.init_error().unwrap();
    assert_eq!(e.error_type, "Runtime.ImportModuleError");
    assert!(e.error_message.contains("No module named 'app'"));
    assert_eq!(
        call(&api, "GET", "/2018-06-01/runtime/nope", &[], "")
            .await
            .0,
        404
    );
    assert_eq!(
        call(&api, "GET", "/2015-03-31/functions", &[], "").await.0,
        404
    );
    assert_eq!(
        call(
            &api,
            "POST",
            "/2018-06-01/runtime/invocation/not-a-request/response",
            &[],
            "{}"
        )
        .await
        .0,
        400
    );
}

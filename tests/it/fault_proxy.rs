//! A fault-injecting HTTP proxy on 127.0.0.1 in front of `moto_server`: by schedule it
//! throttles, answers 500 or 503, drops the connection, or delays, per AWS action. It logs every
//! request's action, so a test can wait for a moment (a change set being created) and act then.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 400 `Throttling`, as AWS answers a caller over its rate.
    Throttle,
    /// 500 `InternalFailure` or 503 `ServiceUnavailable`.
    Status(u16),
    /// The connection closes without an answer.
    Drop,
    /// The answer comes this much later.
    Delay(Duration),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Throttle => write!(f, "throttle"),
            Fault::Status(s) => write!(f, "HTTP {s}"),
            Fault::Drop => write!(f, "drop"),
            Fault::Delay(d) => write!(f, "delay {} ms", d.as_millis()),
        }
    }
}

/// `fault` for the matching requests `skip`+1 ..= `skip`+`times`.
#[derive(Clone, Debug)]
pub struct Rule {
    pub action: &'static str,
    pub skip: usize,
    pub times: usize,
    pub fault: Fault,
}

pub fn rule(action: &'static str, fault: Fault, times: usize) -> Rule {
    Rule {
        action,
        skip: 0,
        times,
        fault,
    }
}

#[derive(Default)]
struct State {
    rules: Vec<(Rule, usize)>,
    /// Every request: its action and the fault it met.
    log: Vec<(String, Option<Fault>)>,
}

pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    pub fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (state, upstream) = (shared.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &upstream, &state);
                });
            }
        });
        Self { endpoint, state }
    }

    /// Replaces the schedule; the log is kept.
    pub fn set(&self, rules: Vec<Rule>) {
        self.state.lock().unwrap().rules = rules.into_iter().map(|r| (r, 0)).collect();
    }

    /// The faults injected so far, as `action: fault` lines.
    pub fn injected(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter_map(|(a, f)| f.map(|f| format!("{a}: {f}")))
            .collect()
    }

    /// How many requests of `action` came so far.
    pub fn seen(&self, action: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|(a, _)| a == action)
            .count()
    }

    /// Waits until `action` has been requested `n` times.
    pub fn wait_for(&self, action: &str, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.seen(action) < n {
            assert!(
                Instant::now() < deadline,
                "no {action} request within {within:?}; seen: {:?}",
                self.state.lock().unwrap().log
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// How many requests of each action came so far.
    pub fn counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut out = std::collections::BTreeMap::new();
        for (a, _) in &self.state.lock().unwrap().log {
            *out.entry(a.clone()).or_default() += 1;
        }
        out
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }
}

/// The AWS action of a request: the JSON protocols' `X-Amz-Target`, the query protocol's
/// `Action=`, or the method and path (Lambda's REST API).
fn action(head: &str, body: &[u8]) -> String {
    for line in head.lines() {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("x-amz-target") {
                return v.trim().rsplit('.').next().unwrap_or_default().to_string();
            }
        }
    }
    let body = String::from_utf8_lossy(body);
    if let Some(a) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return a.to_string();
    }
    head.lines()
        .next()
        .unwrap_or_default()
        .rsplit_once(' ')
        .map_or(String::new(), |(m, _)| m.to_string())
}

fn error_response(status: u16, code: &str, json: bool) -> Vec<u8> {
    let reason = match status {
        400 => "Bad Request",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    };
    let (ctype, body, extra) = if json {
        (
            "application/x-amz-json-1.0",
            format!(
                r#"{{"__type":"com.amazonaws.sqs#{code}","message":"injected by the test proxy"}}"#
            ),
            format!("x-amzn-query-error: {code};Sender\r\n"),
        )
    } else {
        ("text/xml", format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected by the test proxy</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"), String::new())
    };
    format!("HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).into_bytes()
}

fn serve(client: TcpStream, upstream: &str, state: &Mutex<State>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let length = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let action = action(&head, &body);
    let json = head.to_ascii_lowercase().contains("x-amz-target");
    let fault = {
        let mut s = state.lock().unwrap();
        let fault = s
            .rules
            .iter_mut()
            .find(|(r, _)| r.action == action || r.action == "*")
            .and_then(|(r, n)| {
                *n += 1;
                (*n > r.skip && *n <= r.skip + r.times).then_some(r.fault)
            });
        s.log.push((action, fault));
        fault
    };
    let mut client = client;
    match fault {
        Some(Fault::Throttle) => return client.write_all(&error_response(400, "Throttling", json)),
        Some(Fault::Status(500)) => {
            return client.write_all(&error_response(500, "InternalFailure", json))
        }
        Some(Fault::Status(s)) => {
            return client.write_all(&error_response(s, "ServiceUnavailable", json))
        }
        Some(Fault::Drop) => return client.shutdown(Shutdown::Both),
        Some(Fault::Delay(d)) => std::thread::sleep(d),
        None => {}
    }
    // Forward, one request per connection.
    let mut up = TcpStream::connect(upstream)?;
    let head: String = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect::<String>();
    let head = head.trim_end_matches("\r\n").to_string() + "\r\nConnection: close\r\n\r\n";
    up.write_all(head.as_bytes())?;
    up.write_all(&body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    // The client must not reuse this connection either.
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |p| p + 2);
    let (answer_head, rest) = answer.split_at(split);
    let answer_head = String::from_utf8_lossy(answer_head);
    let mut out: String = answer_head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("Connection: close\r\n");
    client.write_all(out.as_bytes())?;
    client.write_all(rest)?;
    client.flush()?;
    client.shutdown(Shutdown::Both)
}

//! What the supervisor is told by its environment.

use std::time::Duration;

/// The single queue the function consumes: its URL.
pub const QUEUE_URL_VAR: &str = "REPLATFORM_BRIDGE_QUEUE_URL";
/// A worker of several queues: a JSON object of queue URL to queue ARN (the ARN is what the
/// event's records name in `eventSourceARN`), or to a list of ARNs: records of any of them are
/// that queue's batch (from `cutover` on, the production queue's records go to the worker that
/// polls the stack's own queue). An empty ARN is derived from the URL.
pub const QUEUES_VAR: &str = "REPLATFORM_BRIDGE_QUEUES";
/// The loopback port to serve SQS on; a free port when unset.
pub const PORT_VAR: &str = "REPLATFORM_BRIDGE_PORT";
/// How long before the invocation's deadline it ends, in milliseconds (default 1000).
pub const MARGIN_VAR: &str = "REPLATFORM_BRIDGE_DEADLINE_MARGIN_MS";
/// How long, once the worker asked again, to wait for deletes of messages it holds (default 50).
pub const GRACE_VAR: &str = "REPLATFORM_BRIDGE_GRACE_MS";
/// Every variable of the supervisor's own starts with this; none reaches the worker.
pub const PREFIX: &str = "REPLATFORM_BRIDGE_";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub url: String,
    /// The queue's own ARN (the first given, or derived from the URL).
    pub arn: String,
    /// Every ARN whose records are this queue's batch, its own first.
    pub arns: Vec<String>,
    pub account: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub queues: Vec<Queue>,
    pub region: String,
    /// Where calls that are not the batch's go: SQS, or `AWS_ENDPOINT_URL_SQS`/`AWS_ENDPOINT_URL`.
    pub endpoint: String,
    /// The endpoint was given (`AWS_ENDPOINT_URL_SQS`/`AWS_ENDPOINT_URL`): every call goes there.
    pub endpoint_given: bool,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub port: u16,
    pub margin: Duration,
    pub grace: Duration,
    pub command: Vec<String>,
    /// The folder the worker starts in (`--image-workdir`); `None`: the supervisor's own.
    pub workdir: Option<String>,
}

/// The account and name of a queue URL: its last two path segments, whatever the host
/// (docs/pitfalls.md#p45 lists the forms in use).
pub fn queue_key(url: &str) -> Option<(String, String)> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split_once('/').map(|(_, p)| p)?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let account = segments.next()?;
    let name = segments.next()?;
    if segments.next().is_some() {
        return None;
    }
    Some((account.to_string(), name.to_string()))
}

/// SQS's public endpoint in a region.
pub fn sqs_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://sqs.{region}.{suffix}")
}

/// The region a queue URL names, if its host is one of SQS's.
pub fn url_region(url: &str) -> Option<String> {
    let host = url.split_once("://")?.1.split(['/', ':']).next()?;
    if host == "queue.amazonaws.com" {
        return Some("us-east-1".into());
    }
    if let Some(r) = host.strip_prefix("sqs.") {
        return r.split('.').next().map(str::to_string);
    }
    if host.contains(".queue.amazonaws.com") {
        return host.split('.').next().map(str::to_string);
    }
    None
}

/// The URL of the queue an ARN names (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`): under the given
/// endpoint when there is one, else SQS's public endpoint in the ARN's region.
pub fn arn_url(arn: &str, endpoint: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, _, "sqs", region, account, name] = parts.as_slice() else {
        return None;
    };
    if region.is_empty() || account.is_empty() || name.is_empty() {
        return None;
    }
    let base = match endpoint {
        Some(e) => e.trim_end_matches('/').to_string(),
        None => sqs_endpoint(region),
    };
    Some(format!("{base}/{account}/{name}"))
}

impl Queue {
    pub fn new(url: &str, arn: Option<&str>, region: &str) -> Result<Queue, String> {
        let (account, name) = queue_key(url)
            .ok_or_else(|| format!("{url} is not a queue URL (http(s)://HOST/ACCOUNT/NAME)"))?;
        let arn = match arn.filter(|a| !a.is_empty()) {
            Some(a) => a.to_string(),
            None => {
                let region = url_region(url).unwrap_or_else(|| region.to_string());
                let partition = if region.starts_with("cn-") {
                    "aws-cn"
                } else {
                    "aws"
                };
                format!("arn:{partition}:sqs:{region}:{account}:{name}")
            }
        };
        Ok(Queue {
            url: url.to_string(),
            arns: vec![arn.clone()],
            arn,
            account,
            name,
        })
    }

    /// A queue whose batch is the records of several ARNs (`REPLATFORM_BRIDGE_QUEUES`'s list
    /// form): the first is its own.
    pub fn with_arns(url: &str, arns: &[String], region: &str) -> Result<Queue, String> {
        let first = arns.iter().find(|a| !a.is_empty()).map(String::as_str);
        let mut q = Queue::new(url, first, region)?;
        for a in arns {
            if !a.is_empty() && !q.arns.contains(a) {
                q.arns.push(a.clone());
            }
        }
        Ok(q)
    }

    /// Whether a record of this ARN is this queue's.
    pub fn takes(&self, arn: &str) -> bool {
        self.arns.iter().any(|a| a == arn)
    }
}

fn millis(
    get: &dyn Fn(&str) -> Option<String>,
    var: &str,
    default: u64,
) -> Result<Duration, String> {
    match get(var) {
        None => Ok(Duration::from_millis(default)),
        Some(v) => v
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| format!("{var}={v} is not a number of milliseconds")),
    }
}

impl Config {
    pub fn from_env(
        command: Vec<String>,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, String> {
        if command.is_empty() {
            return Err(
                "no worker command: start it as `replatform-bridge -- COMMAND [ARG...]`".into(),
            );
        }
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .ok_or("AWS_REGION is not set")?;
        let mut queues = Vec::new();
        if let Some(json) = get(QUEUES_VAR) {
            let shape = "a JSON object of queue URL to ARN or to a list of ARNs";
            let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json)
                .map_err(|e| format!("{QUEUES_VAR} is not {shape}: {e}"))?;
            for (url, arn) in &map {
                let arns: Vec<String> = match arn {
                    serde_json::Value::String(a) => vec![a.clone()],
                    serde_json::Value::Null => Vec::new(),
                    serde_json::Value::Array(items) => items
                        .iter()
                        .map(|a| a.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or_else(|| format!("{QUEUES_VAR}: {url}'s ARNs are not all strings"))?,
                    other => {
                        return Err(format!(
                            "{QUEUES_VAR}: {url} names {other}, not an ARN: it must be {shape}"
                        ))
                    }
                };
                queues.push(Queue::with_arns(url, &arns, &region)?);
            }
        }
        if let Some(url) = get(QUEUE_URL_VAR) {
            if !queues.iter().any(|q| q.url == url) {
                queues.push(Queue::new(&url, None, &region)?);
            }
        }
        if queues.is_empty() {
            return Err(format!(
                "no queue to serve: set {QUEUE_URL_VAR} or {QUEUES_VAR}"
            ));
        }
        let given = get("AWS_ENDPOINT_URL_SQS").or_else(|| get("AWS_ENDPOINT_URL"));
        let endpoint_given = given.is_some();
        let endpoint = given.unwrap_or_else(|| sqs_endpoint(&region));
        let port = match get(PORT_VAR) {
            None => 0,
            Some(p) => p
                .parse()
                .map_err(|_| format!("{PORT_VAR}={p} is not a port"))?,
        };
        Ok(Config {
            queues,
            region,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            endpoint_given,
            access_key_id: get("AWS_ACCESS_KEY_ID").ok_or("AWS_ACCESS_KEY_ID is not set")?,
            secret_access_key: get("AWS_SECRET_ACCESS_KEY")
                .ok_or("AWS_SECRET_ACCESS_KEY is not set")?,
            session_token: get("AWS_SESSION_TOKEN").filter(|t| !t.is_empty()),
            port,
            margin: millis(get, MARGIN_VAR, 1000)?,
            grace: millis(get, GRACE_VAR, 50)?,
            command,
            workdir: None,
        })
    }

    /// The consumed queue a URL names (by account and name: the worker may hold the real URL or
    /// the local one).
    pub fn find(&self, url: &str) -> Option<&Queue> {
        let key = queue_key(url)?;
        self.queues
            .iter()
            .find(|q| q.account == key.0 && q.name == key.1)
    }

    /// The URL of the queue a record's ARN names, for the calls about that record that SQS must
    /// answer (a visibility change, a late delete): the consumed queue that owns the ARN when it
    /// is its own, else derived from the ARN.
    pub fn record_queue_url(&self, arn: &str) -> Option<String> {
        if let Some(q) = self.queues.iter().find(|q| q.arn == arn) {
            return Some(q.url.clone());
        }
        arn_url(arn, self.endpoint_given.then_some(self.endpoint.as_str()))
    }
}

/// The worker's environment: the supervisor's, less its own variables, with SQS's endpoint and
/// every consumed queue's URL pointed at the local endpoint (AWS SDKs and Tools reference guide,
/// "Service-specific endpoints"; docs/pitfalls.md#p47).
pub fn worker_env(
    vars: impl Iterator<Item = (String, String)>,
    queues: &[Queue],
    local: &str,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vars
        .filter(|(k, _)| !k.starts_with(PREFIX) && k != "AWS_ENDPOINT_URL_SQS")
        .map(|(k, mut v)| {
            for q in queues {
                if v.contains(&q.url) {
                    v = v.replace(&q.url, &format!("{local}/{}/{}", q.account, q.name));
                }
            }
            (k, v)
        })
        .collect();
    out.push(("AWS_ENDPOINT_URL_SQS".into(), local.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    const BASE: [(&str, &str); 3] = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];

    #[test]
    fn one_queue_by_url_with_its_arn_derived() {
        let mut vars = BASE.to_vec();
        vars.push((
            QUEUE_URL_VAR,
            "https://sqs.eu-west-1.amazonaws.com/123456789012/orders",
        ));
        let c = Config::from_env(vec!["worker".into()], &env(&vars)).unwrap();
        assert_eq!(c.queues[0].arn, "arn:aws:sqs:eu-west-1:123456789012:orders");
        assert_eq!(c.endpoint, "https://sqs.eu-west-1.amazonaws.com");
        assert!(c.find("http://127.0.0.1:9/123456789012/orders").is_some());
        assert!(c
            .find("https://sqs.eu-west-1.amazonaws.com/123456789012/other")
            .is_none());
    }

    #[test]
    fn several_queues_and_a_test_endpoint() {
        let mut vars = BASE.to_vec();
        vars.push((
            QUEUES_VAR,
            r#"{"http://localhost:5000/123456789012/a": "arn:aws:sqs:eu-west-1:123456789012:a",
                "http://localhost:5000/123456789012/b": ""}"#,
        ));
        vars.push(("AWS_ENDPOINT_URL", "http://localhost:5000/"));
        let c = Config::from_env(vec!["worker".into()], &env(&vars)).unwrap();
        assert_eq!(c.queues.len(), 2);
        assert_eq!(c.queues[1].arn, "arn:aws:sqs:eu-west-1:123456789012:b");
        assert_eq!(c.endpoint, "http://localhost:5000");
    }

    #[test]
    fn a_queue_may_take_the_records_of_several_arns() {
        let mut vars = BASE.to_vec();
        vars.push((
            QUEUES_VAR,
            r#"{"https://sqs.eu-west-1.amazonaws.com/123456789012/w-lambda":
                  ["arn:aws:sqs:eu-west-1:123456789012:w-lambda",
                   "arn:aws:sqs:eu-west-1:123456789012:orders"]}"#,
        ));
        let c = Config::from_env(vec!["worker".into()], &env(&vars)).unwrap();
        let q = &c.queues[0];
        assert_eq!(q.arn, "arn:aws:sqs:eu-west-1:123456789012:w-lambda");
        assert!(q.takes("arn:aws:sqs:eu-west-1:123456789012:orders"));
        assert!(q.takes(&q.arn));
        assert!(!q.takes("arn:aws:sqs:eu-west-1:123456789012:other"));
        // A record of the production queue is that queue's, at SQS.
        assert_eq!(
            c.record_queue_url("arn:aws:sqs:eu-west-1:123456789012:orders")
                .unwrap(),
            "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
        );
        assert_eq!(c.record_queue_url(&q.arn).unwrap(), q.url);

        let mut vars = BASE.to_vec();
        vars.push((QUEUES_VAR, r#"{"http://moto:5000/123456789012/a": 7}"#));
        let e = Config::from_env(vec!["w".into()], &env(&vars)).unwrap_err();
        assert!(e.contains("list of ARNs"), "{e}");
    }

    #[test]
    fn an_arns_url_follows_the_given_endpoint() {
        assert_eq!(
            arn_url("arn:aws:sqs:us-west-2:123456789012:q", None).unwrap(),
            "https://sqs.us-west-2.amazonaws.com/123456789012/q"
        );
        assert_eq!(
            arn_url(
                "arn:aws:sqs:us-west-2:123456789012:q",
                Some("http://moto:5000/")
            )
            .unwrap(),
            "http://moto:5000/123456789012/q"
        );
        assert!(arn_url("arn:aws:sns:us-west-2:123456789012:q", None).is_none());
        assert!(arn_url("q", None).is_none());
    }

    #[test]
    fn what_is_missing_is_named() {
        let e = Config::from_env(vec!["w".into()], &env(&BASE)).unwrap_err();
        assert!(e.contains(QUEUE_URL_VAR), "{e}");
        let e = Config::from_env(vec![], &env(&BASE)).unwrap_err();
        assert!(e.contains("--"), "{e}");
    }

    #[test]
    fn the_worker_sees_the_local_endpoint_and_queue() {
        let q = Queue::new(
            "https://sqs.eu-west-1.amazonaws.com/123456789012/orders",
            None,
            "eu-west-1",
        )
        .unwrap();
        let vars = vec![
            ("QUEUE_URL".to_string(), q.url.clone()),
            (
                "QUEUES".to_string(),
                format!(r#"{{"orders": "{}"}}"#, q.url),
            ),
            (QUEUE_URL_VAR.to_string(), q.url.clone()),
            (
                "AWS_ENDPOINT_URL_SQS".to_string(),
                "http://moto:5000".to_string(),
            ),
        ];
        let out = worker_env(vars.into_iter(), &[q], "http://127.0.0.1:4000");
        assert_eq!(
            out,
            vec![
                (
                    "QUEUE_URL".into(),
                    "http://127.0.0.1:4000/123456789012/orders".into()
                ),
                (
                    "QUEUES".into(),
                    r#"{"orders": "http://127.0.0.1:4000/123456789012/orders"}"#.into()
                ),
                (
                    "AWS_ENDPOINT_URL_SQS".into(),
                    "http://127.0.0.1:4000".into()
                ),
            ]
        );
    }
}

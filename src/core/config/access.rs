//! The single-field checks of what a real worker needs beyond its queue: `secrets`,
//! `permissions`, `tags` and `production`, and the ARN shapes they take. Pure.

use super::names::{is_env_name, is_region, LAMBDA_RESERVED_ENV};
use super::Config;
use crate::core::diag::Diagnostic;

/// The suffix of the Lambda variable that carries a secret's ARN: `DB_PASSWORD` ->
/// `DB_PASSWORD_SECRET_ARN` (Lambda has no field for secrets, docs/pitfalls.md#p36).
pub const SECRET_ARN_SUFFIX: &str = "_SECRET_ARN";

/// The tag replatform puts on both stacks itself.
pub const SERVICE_TAG: &str = "replatform:service";

/// What a secret's ARN names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    SecretsManager,
    Parameter,
}

/// The parts of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (the resource may hold
/// colons).
#[derive(Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub fn arn(s: &str) -> Option<Arn<'_>> {
    let mut parts = s.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let ok = matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && (region.is_empty() || is_region(region))
        && (account.is_empty()
            || account == "aws"
            || (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())))
        && !resource.is_empty()
        && !resource
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(Arn {
        partition,
        service,
        region,
        account,
        resource,
    })
}

/// What a secret's ARN names and the ARN IAM scopes to (a Secrets Manager ARN without the JSON
/// key, version stage and version id ECS accepts after it), or `None` when it is neither shape.
pub fn secret_arn(s: &str) -> Option<(SecretKind, String)> {
    let a = arn(s)?;
    if a.region.is_empty() || a.account.len() != 12 {
        return None;
    }
    match a.service {
        "secretsmanager" => {
            // secret:NAME[:json-key:version-stage:version-id] (the ECS developer guide, "Pass
            // Secrets Manager secrets through Amazon ECS environment variables").
            let rest = a.resource.strip_prefix("secret:")?;
            let fields: Vec<&str> = rest.split(':').collect();
            let name = fields[0];
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
            {
                return None;
            }
            if !(fields.len() == 1 || fields.len() == 4) {
                return None;
            }
            let base = format!(
                "arn:{}:secretsmanager:{}:{}:secret:{name}",
                a.partition, a.region, a.account
            );
            Some((SecretKind::SecretsManager, base))
        }
        "ssm" => {
            let name = a.resource.strip_prefix("parameter/")?;
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c))
                && !name.ends_with('/');
            ok.then(|| (SecretKind::Parameter, s.to_string()))
        }
        _ => None,
    }
}

/// An IAM managed policy ARN: `arn:aws:iam::aws:policy/NAME` or
/// `arn:aws:iam::ACCOUNT:policy/PATH/NAME`.
pub fn is_policy_arn(s: &str) -> bool {
    arn(s).is_some_and(|a| {
        a.service == "iam"
            && a.region.is_empty()
            && !a.account.is_empty()
            && a.resource.strip_prefix("policy/").is_some_and(|n| {
                !n.is_empty()
                    && !n.ends_with('/')
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/+=,.@_-".contains(c))
            })
    })
}

/// An SQS queue URL in any form AWS gives one -> (region, account, name). The forms (Amazon SQS
/// Developer Guide, "Amazon SQS queue and message identifiers"; AWS General Reference, "Amazon SQS
/// endpoints"; AWS PrivateLink guide, "Access an AWS service using an interface VPC endpoint"):
/// - `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`, and `.amazonaws.com.cn` in China;
/// - the legacy `https://REGION.queue.amazonaws.com/ACCOUNT/NAME`, and
///   `https://queue.amazonaws.com/ACCOUNT/NAME`, which is us-east-1;
/// - an interface VPC endpoint's `https://vpce-ID.sqs.REGION.vpce.amazonaws.com/ACCOUNT/NAME`.
pub fn queue_url(s: &str) -> Option<(&str, &str, &str)> {
    if let Some(found) = emulator_queue_url(s) {
        return Some(found);
    }
    let rest = s.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/')?;
    let region = if let Some(r) = host.strip_prefix("sqs.") {
        r.strip_suffix(".amazonaws.com")
            .or_else(|| r.strip_suffix(".amazonaws.com.cn"))?
    } else if host == "queue.amazonaws.com" {
        "us-east-1"
    } else if let Some(r) = host.strip_suffix(".queue.amazonaws.com") {
        r
    } else if host.starts_with("vpce-") {
        let (_, r) = host
            .strip_suffix(".vpce.amazonaws.com")?
            .split_once(".sqs.")?;
        r
    } else {
        return None;
    };
    let (account, name) = path.split_once('/')?;
    let ok = is_region(region)
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && is_queue_name(name);
    ok.then_some((region, account, name))
}

/// The SQS endpoint the process talks to when it is not AWS's (`AWS_ENDPOINT_URL_SQS` or
/// `AWS_ENDPOINT_URL`: a local emulator), and the region its queues are in: its queue URLs
/// (`http://127.0.0.1:4566/ACCOUNT/NAME`) are then queue URLs too. Set once, at start.
static EMULATOR: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();

/// Takes the queue URLs of the endpoint `endpoint` (not AWS's) as queue URLs of `region`.
pub fn accept_emulator_queue_urls(endpoint: &str, region: &str) {
    let _ = EMULATOR.set((
        endpoint.trim_end_matches('/').to_string(),
        region.to_string(),
    ));
}

/// A queue URL of the emulator [`accept_emulator_queue_urls`] names: `ENDPOINT/ACCOUNT/NAME`.
fn emulator_queue_url(s: &str) -> Option<(&str, &str, &str)> {
    let (endpoint, region) = EMULATOR.get()?;
    let (account, name) = s
        .strip_prefix(endpoint.as_str())?
        .strip_prefix('/')?
        .split_once('/')?;
    let ok =
        account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) && is_queue_name(name);
    ok.then_some((region.as_str(), account, name))
}

/// Whether `s` is a queue URL of the emulator the process talks to.
pub fn is_emulator_queue_url(s: &str) -> bool {
    emulator_queue_url(s).is_some()
}

/// An SQS queue name: 1..80 letters, digits, `-` and `_`, and `.fifo` at the end of a FIFO
/// queue's.
fn is_queue_name(name: &str) -> bool {
    (1..=80).contains(&name.len())
        && name
            .strip_suffix(".fifo")
            .unwrap_or(name)
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Where a value handed to the workers names the production queue, whichever way a worker finds
/// its queue: the URL (any form of [`queue_url`]), the ARN or the bare name, alone or inside a
/// longer value (a list, a JSON map). None when it does not.
pub fn names_queue(value: &str, region: &str, account: &str, name: &str) -> Option<&'static str> {
    // A bare name counts alone, or as an item of a list or a JSON value: in prose ("the orders
    // worker") it is only a word.
    let structured = value.contains(|c: char| ",;\"{[".contains(c));
    if value.trim() == name {
        return Some("name");
    }
    let pieces = value
        .split(|c: char| c.is_whitespace() || ",;\"'{}[]()=".contains(c))
        .filter(|p| !p.is_empty());
    for piece in pieces {
        if structured && piece == name {
            return Some("name");
        }
        if queue_url(piece).is_some_and(|(_, a, n)| a == account && n == name) {
            return Some("URL");
        }
        let arn = piece.split(':').collect::<Vec<_>>();
        if arn.len() == 6
            && arn[0] == "arn"
            && arn[2] == "sqs"
            && arn[3] == region
            && arn[4] == account
            && arn[5] == name
        {
            return Some("ARN");
        }
    }
    None
}

fn is_ecs_name(s: &str) -> bool {
    (1..=255).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A Kubernetes object name: a DNS subdomain (RFC 1123), as the Kubernetes documentation's
/// "Object Names and IDs" gives it: lower-case letters, digits, `-` and `.`, starting and ending
/// with a letter or digit, at most 253 characters.
fn is_k8s_name(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (1..=253).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && edge(s.chars().next())
        && edge(s.chars().last())
}

/// IAM's tag characters: letters, digits, spaces and `_ . : / = + - @` (the Tagging AWS
/// Resources guide, "Tag naming limits and requirements").
fn is_tag_text(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c))
}

pub(super) fn check(c: &Config, out: &mut Vec<Diagnostic>) {
    let mut err = |path: &str, message: String, hint: &str| {
        out.push(Diagnostic::error("config", path, message).hint(hint))
    };

    for (name, value) in &c.secrets {
        let path = format!("secrets.{name}");
        if !is_env_name(name) {
            err(
                &path,
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits and `_`, not starting with a digit",
            );
            continue;
        }
        if LAMBDA_RESERVED_ENV.contains(&name.as_str()) {
            err(
                &path,
                format!("`{name}` is reserved by Lambda and cannot be set"),
                "name the variable the worker reads the secret from, for example `DB_PASSWORD`",
            );
        } else if c.environment.contains_key(name) {
            err(&path, format!("`{name}` is set in `environment` and in `secrets`"), "keep one: a secret's value comes from its ARN, an environment value is written into the templates");
        } else if let Some(at) = c.queue_var_path(name) {
            err(
                &path,
                format!("`{name}` is also `{at}`: each platform sets it to its own queue"),
                "name the secret's variable otherwise",
            );
        }
        let arn_name = format!("{name}{SECRET_ARN_SUFFIX}");
        if c.environment.contains_key(&arn_name) || c.queue_vars().contains(&arn_name.as_str()) {
            err(&path, format!("on Lambda the secret's ARN goes in `{arn_name}`, which `environment` or a queue's setting already sets"), "rename the secret or that variable");
        }
        if secret_arn(value).is_none() {
            err(
                &path,
                format!("`{value}` is not the ARN of a Secrets Manager secret or an SSM parameter"),
                "give the full ARN: `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf` (optionally `:json-key::` after it, quoted) or `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`",
            );
        }
    }

    let p = &c.permissions;
    for (i, m) in p.managed_policies.iter().enumerate() {
        if !is_policy_arn(m) {
            err(&format!("permissions.managed_policies[{i}]"), format!("`{m}` is not an IAM managed policy ARN"), "managed policy ARNs look like `arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess` or `arn:aws:iam::123456789012:policy/my-policy`");
        }
    }
    if p.managed_policies.len() > 9 {
        err("permissions.managed_policies", format!("{} managed policies: IAM attaches at most 10 to a role, and the Lambda role needs one slot spare", p.managed_policies.len()), "merge policies, or move their statements into `permissions.statements`");
    }
    if let Some(b) = &p.boundary {
        if !is_policy_arn(b) {
            err("permissions.boundary", format!("`{b}` is not an IAM managed policy ARN"), "a permissions boundary is a managed policy: `arn:aws:iam::123456789012:policy/team-boundary`");
        }
    }
    for (i, s) in p.statements.iter().enumerate() {
        let at = format!("permissions.statements[{i}]");
        match s.effect.as_deref() {
            Some("Allow" | "Deny") => {}
            Some(e) => err(
                &format!("{at}.Effect"),
                format!("`Effect: {e}` is neither `Allow` nor `Deny`"),
                "write `Effect: Allow` or `Effect: Deny` (IAM's spelling, capitalised)",
            ),
            None => err(
                &at,
                format!("statement {i} has no `Effect`"),
                "add `Effect: Allow` (or `Deny`)",
            ),
        }
        match &s.action {
            None => err(
                &at,
                format!("statement {i} has no `Action`"),
                "add `Action: [service:Operation]`, for example `Action: [dynamodb:PutItem]`",
            ),
            Some(a) if a.0.is_empty() => err(
                &format!("{at}.Action"),
                format!("statement {i} lists no action"),
                "list at least one, for example `[dynamodb:PutItem]`",
            ),
            Some(a) => {
                for (j, action) in a.0.iter().enumerate() {
                    let ok = action == "*"
                        || action.split_once(':').is_some_and(|(svc, op)| {
                            !svc.is_empty()
                                && svc.chars().all(|c| {
                                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
                                })
                                && !op.is_empty()
                                && op
                                    .chars()
                                    .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
                        });
                    if !ok {
                        err(&format!("{at}.Action[{j}]"), format!("`{action}` is not an IAM action"), "actions are `service:Operation`, for example `dynamodb:PutItem` or `s3:Get*`");
                    }
                }
            }
        }
        match &s.resource {
            None => err(&at, format!("statement {i} has no `Resource`"), "add `Resource: [ARN]`, the ARNs the actions apply to (`\"*\"` only for actions that take none)"),
            Some(r) if r.0.is_empty() => err(&format!("{at}.Resource"), format!("statement {i} lists no resource"), "list the ARNs the actions apply to"),
            Some(r) => {
                for (j, res) in r.0.iter().enumerate() {
                    if res != "*" && arn(res).is_none() {
                        err(&format!("{at}.Resource[{j}]"), format!("`{res}` is not an ARN"), "resources are ARNs, for example `arn:aws:dynamodb:eu-west-1:123456789012:table/orders`, or `\"*\"`");
                    }
                }
            }
        }
        if let Some(cond) = &s.condition {
            if !cond.is_object() {
                err(
                    &format!("{at}.Condition"),
                    "`Condition` is not a mapping".into(),
                    "write `Condition: { StringEquals: { \"aws:ResourceTag/team\": orders } }`",
                );
            }
        }
    }

    // Stack tags (CloudFormation: at most 50, replatform's own among them; IAM's rules for keys
    // and values: the Tagging AWS Resources guide).
    if c.tags.len() > 49 {
        err(
            "tags",
            format!(
                "{} tags: a stack takes at most 50, and replatform adds `{SERVICE_TAG}`",
                c.tags.len()
            ),
            "keep at most 49 tags",
        );
    }
    for (key, value) in &c.tags {
        let path = format!("tags.{key}");
        if key.is_empty() || key.chars().count() > 128 {
            err(
                &path,
                format!(
                    "tag key `{key}` is {} characters: AWS takes 1 to 128",
                    key.chars().count()
                ),
                "shorten the key",
            );
        } else if key.to_ascii_lowercase().starts_with("aws:") {
            err(
                &path,
                format!("tag key `{key}` starts with `aws:`, which AWS reserves for itself"),
                "choose another prefix, for example `team:`",
            );
        } else if key == SERVICE_TAG {
            err(
                &path,
                format!("`{SERVICE_TAG}` is the tag replatform sets on both stacks itself"),
                "remove it: it is always the service name",
            );
        } else if !is_tag_text(key) {
            err(
                &path,
                format!("tag key `{key}` holds a character AWS refuses"),
                "use letters, digits, spaces and `_ . : / = + - @`",
            );
        }
        if value.0.chars().count() > 256 {
            err(
                &path,
                format!(
                    "the value of tag `{key}` is {} characters: AWS takes at most 256",
                    value.0.chars().count()
                ),
                "shorten the value",
            );
        } else if !is_tag_text(&value.0) {
            err(
                &path,
                format!("the value of tag `{key}` holds a character AWS refuses"),
                "use letters, digits, spaces and `_ . : / = + - @`",
            );
        }
    }

    if let Some(prod) = &c.production {
        match (&prod.ecs_service, &prod.k8s) {
            (Some(s), None) => match s.split_once('/') {
                Some((cluster, service)) if is_ecs_name(cluster) && is_ecs_name(service) => {}
                _ => err(
                    "production.ecs_service",
                    format!("`{s}` is not `CLUSTER/SERVICE`"),
                    "name the cluster and the service, for example `prod/orders-worker` (names, not ARNs)",
                ),
            },
            (None, Some(k)) => {
                for (field, value) in [
                    ("namespace", &k.namespace),
                    ("deployment", &k.deployment),
                    ("scaled_object", &k.scaled_object),
                ] {
                    if !is_k8s_name(value) {
                        err(
                            &format!("production.k8s.{field}"),
                            format!("`{value}` is not a Kubernetes object name"),
                            "use the name as `kubectl get` shows it: lower-case letters, digits, `-` and `.`, at most 253 characters",
                        );
                    }
                }
            }
            (Some(_), Some(_)) => err(
                "production",
                "`production` names both `ecs_service` and `k8s`".into(),
                "keep the one that runs the worker today: `ecs_service` on ECS, `k8s` on Kubernetes",
            ),
            (None, None) => err(
                "production",
                "`production` is missing the required key `ecs_service` (or `k8s`)".into(),
                "name the service that runs today: `ecs_service: CLUSTER/SERVICE`, or for Kubernetes `k8s: {namespace: NS, deployment: NAME, scaled_object: NAME}`",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_arns_take_both_shapes_and_scope_to_the_secret() {
        let sm = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/db-AbCdEf";
        assert_eq!(
            secret_arn(sm),
            Some((SecretKind::SecretsManager, sm.to_string()))
        );
        assert_eq!(
            secret_arn(&format!("{sm}:password::")),
            Some((SecretKind::SecretsManager, sm.to_string()))
        );
        let ssm = "arn:aws:ssm:eu-west-1:123456789012:parameter/orders/db-host";
        assert_eq!(
            secret_arn(ssm),
            Some((SecretKind::Parameter, ssm.to_string()))
        );
        for bad in [
            "orders/db",
            "arn:aws:secretsmanager:eu-west-1:123:secret:x",
            &format!("{sm}:password"),
            "arn:aws:s3:::bucket",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/",
        ] {
            assert_eq!(secret_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn policy_arns_and_queue_urls() {
        assert!(is_policy_arn(
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        ));
        assert!(is_policy_arn(
            "arn:aws:iam::123456789012:policy/team/boundary"
        ));
        assert!(!is_policy_arn("arn:aws:iam::123456789012:role/x"));
        assert!(!is_policy_arn("AmazonS3ReadOnlyAccess"));
        assert_eq!(
            queue_url("https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo"),
            Some(("eu-west-1", "123456789012", "orders.fifo"))
        );
        assert_eq!(
            queue_url("http://sqs.eu-west-1.amazonaws.com/123456789012/orders"),
            None
        );
        assert_eq!(
            queue_url("https://sqs.eu-west-1.amazonaws.com/orders"),
            None
        );
    }

    #[test]
    fn an_emulators_queue_urls_are_queue_urls_once_it_is_named() {
        accept_emulator_queue_urls("http://127.0.0.1:4566/", "eu-west-1");
        assert_eq!(
            queue_url("http://127.0.0.1:4566/123456789012/orders.fifo"),
            Some(("eu-west-1", "123456789012", "orders.fifo"))
        );
        for not in [
            "http://127.0.0.1:4567/123456789012/orders",
            "http://127.0.0.1:4566/1234/orders",
            "http://127.0.0.1:4566/123456789012/",
            "http://127.0.0.1:45661/123456789012/orders",
        ] {
            assert_eq!(queue_url(not), None, "{not}");
        }
        assert!(is_emulator_queue_url(
            "http://127.0.0.1:4566/123456789012/orders"
        ));
    }

    #[test]
    fn every_queue_url_form_aws_uses_is_read() {
        for (url, region) in [
            ("https://sqs.eu-west-1.amazonaws.com/123456789012/orders", "eu-west-1"),
            ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/orders", "cn-north-1"),
            ("https://eu-west-1.queue.amazonaws.com/123456789012/orders", "eu-west-1"),
            ("https://queue.amazonaws.com/123456789012/orders", "us-east-1"),
            (
                "https://vpce-0a1b2c3d4e5f67890-abcdefgh.sqs.eu-west-1.vpce.amazonaws.com/123456789012/orders",
                "eu-west-1",
            ),
        ] {
            assert_eq!(
                queue_url(url),
                Some((region, "123456789012", "orders")),
                "{url}"
            );
        }
        for not in [
            "https://example.com/123456789012/orders",
            "https://vpce-1.sqs.eu-west-1.example.com/123456789012/orders",
            "https://eu-west-1.queue.amazonaws.com/1234/orders",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/or ders",
        ] {
            assert_eq!(queue_url(not), None, "{not}");
        }
    }

    #[test]
    fn the_production_queue_is_found_in_any_form_a_worker_reads() {
        let found = |v: &str| names_queue(v, "eu-west-1", "123456789012", "orders");
        assert_eq!(
            found("https://eu-west-1.queue.amazonaws.com/123456789012/orders"),
            Some("URL")
        );
        assert_eq!(
            found("arn:aws:sqs:eu-west-1:123456789012:orders"),
            Some("ARN")
        );
        assert_eq!(found("orders"), Some("name"));
        assert_eq!(
            found(r#"{"events": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"}"#),
            Some("URL")
        );
        assert_eq!(found("a,orders,b"), Some("name"));
        for other in [
            "orders-dlq",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-dlq",
            "https://sqs.eu-west-1.amazonaws.com/210987654321/orders",
            "arn:aws:sqs:eu-west-1:123456789012:orders.fifo",
            "my orders service",
        ] {
            assert_eq!(found(other), None, "{other}");
        }
    }
}

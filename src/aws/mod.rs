//! Thin adapters over the AWS SDK. SDK types never leave this folder: every call returns the
//! project's own views or an [`AwsError`] with AWS's code and message.

pub mod autoscaling;
pub mod cloudformation;
pub mod cloudwatch;
pub mod ecr;
pub mod ecs;
pub mod iam;
pub mod lambda;
pub mod secretsmanager;
pub mod sqs;
pub mod ssm;

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// A failed AWS call: what was being done, the IAM action it needs (when the wrapper names one),
/// AWS's error code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub operation: String,
    /// The IAM action the call needs, set where the error is made: a denied call says what to
    /// grant.
    pub needs: Option<&'static str>,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.operation)?;
        if let Some(action) = self.needs {
            write!(f, " (needs `{action}`)")?;
        }
        write!(f, ": {}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

impl AwsError {
    /// CloudFormation's answer about a stack that is not there.
    pub fn is_missing_stack(&self) -> bool {
        self.code == "ValidationError" && self.message.contains("does not exist")
    }

    /// ECS's answer about a cluster that is not there (Amazon ECS API Reference, "Common
    /// errors": `ClusterNotFoundException`); a missing service in a cluster comes back as a
    /// failure in `DescribeServices`' answer instead, which reads as no service.
    pub fn is_missing_cluster(&self) -> bool {
        self.code == "ClusterNotFoundException"
    }

    /// SQS's answer about a queue that is not there (any more):
    /// `AWS.SimpleQueueService.NonExistentQueue` in the query protocol, `QueueDoesNotExist` in the
    /// JSON protocol (Amazon SQS API Reference, "Common errors" and `GetQueueUrl`).
    pub fn is_missing_queue(&self) -> bool {
        self.code.contains("NonExistentQueue") || self.code.contains("QueueDoesNotExist")
    }

    /// Lambda's answer about a function that is not there.
    pub fn is_missing_function(&self) -> bool {
        self.code == "ResourceNotFoundException"
    }

    /// ECR's answer about a repository that is not there.
    pub fn is_missing_repository(&self) -> bool {
        self.code == "RepositoryNotFoundException"
    }

    /// CloudFormation's answer about a change set that is not there.
    pub fn is_missing_change_set(&self) -> bool {
        self.code == "ChangeSetNotFound"
    }

    /// Throttling or a server-side failure: the same call may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code.as_str(),
            "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
                | "RequestThrottled"
                | "InternalFailure"
                | "InternalError"
                | "ServiceUnavailable"
                | "ServiceUnavailableException"
        ) || self.code.starts_with("HTTP 5")
    }

    /// The IAM action the call needs, when its wrapper names one.
    pub fn needs(&self) -> Option<&'static str> {
        self.needs
    }

    /// A hint for the errors users meet before anything else: credentials, region, endpoint.
    pub fn hint(&self) -> Option<String> {
        let all = format!("{} {}", self.code, self.message).to_lowercase();
        if all.contains("credential")
            || self.code == "ExpiredToken"
            || self.code == "InvalidClientTokenId"
            || self.code == "UnrecognizedClientException"
        {
            Some("set credentials the usual way: `aws configure`, `aws sso login --profile NAME` with `--profile NAME`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".into())
        } else if self.code == "AccessDenied"
            || self.code == "AccessDeniedException"
            || self.code == "HTTP 403"
        {
            // 403 Forbidden is how AWS answers a denied call, also when the body is unreadable.
            Some(match self.needs() {
                Some(action) => format!("grant the caller `{action}` (an IAM policy statement allowing it), then run the command again; nothing was changed"),
                None => "the caller lacks a permission this needs; the message names the action".into(),
            })
        } else if self.is_transient() {
            Some("AWS kept answering with this after the SDK's retries; what was done so far is consistent: run the command again (AWS_MAX_ATTEMPTS raises the attempts)".into())
        } else if self.code == "DispatchFailure" || self.code == "TimeoutError" {
            Some("check the network and the region; AWS_ENDPOINT_URL, when set, must point at a reachable endpoint".into())
        } else {
            None
        }
    }
}

/// What a call does, in words, and the IAM action it needs: what an [`AwsError`] made from its
/// failure says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Op {
    pub what: String,
    pub needs: Option<&'static str>,
}

impl Op {
    /// An error of this operation that AWS did not answer with: a bad answer, a bad request.
    pub(crate) fn error(&self, code: impl Into<String>, message: impl Into<String>) -> AwsError {
        AwsError {
            operation: self.what.clone(),
            needs: self.needs,
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<String> for Op {
    fn from(what: String) -> Self {
        Op { what, needs: None }
    }
}

impl From<&str> for Op {
    fn from(what: &str) -> Self {
        Op {
            what: what.to_string(),
            needs: None,
        }
    }
}

/// An operation's description with the IAM action a caller needs for it.
pub(crate) fn op(what: String, action: &'static str) -> Op {
    Op {
        what,
        needs: Some(action),
    }
}

/// "Not found" as an answer rather than an error: `Ok(None)` when `missing` says the error is
/// about the thing asked for not being there; every other error stays an error.
pub trait OrMissing<T> {
    fn or_none_if(self, missing: impl FnOnce(&AwsError) -> bool) -> Result<Option<T>, AwsError>;
}

impl<T> OrMissing<T> for Result<T, AwsError> {
    fn or_none_if(self, missing: impl FnOnce(&AwsError) -> bool) -> Result<Option<T>, AwsError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Converts any SDK error into an [`AwsError`], keeping AWS's code and message.
pub(crate) fn aws_error<E>(
    operation: impl Into<Op>,
    e: SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let operation = operation.into();
    match &e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            match (err.code(), err.message()) {
                (Some(code), message) => operation.error(code, message.unwrap_or_default()),
                // An answer the SDK could not read (a proxy's or an emulator's error page).
                (None, _) => operation.error(
                    format!("HTTP {}", se.raw().status().as_u16()),
                    "the answer was not an AWS error response (a proxy or an emulator that lacks this API?)",
                ),
            }
        }
        SdkError::TimeoutError(_) => {
            operation.error("TimeoutError", DisplayErrorContext(&e).to_string())
        }
        SdkError::DispatchFailure(_) => {
            operation.error("DispatchFailure", DisplayErrorContext(&e).to_string())
        }
        _ => operation.error("RequestFailed", DisplayErrorContext(&e).to_string()),
    }
}

/// Resolved credentials. No `Debug`: the secret must not reach a log by accident.
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// The AWS settings of one run: profile and region as the user chose them, with the SDK's own
/// chain (environment, profile files, SSO, instance roles) for the rest, `AWS_ENDPOINT_URL`
/// and `AWS_MAX_ATTEMPTS` included.
#[derive(Clone, Debug)]
pub struct Aws {
    config: aws_config::SdkConfig,
}

impl Aws {
    /// `region`: `--region`, else the config file's `region`, else the SDK chain.
    pub async fn load(profile: Option<&str>, region: Option<&str>) -> Result<Self, AwsError> {
        // An answer that never comes is retried like any transient failure (the SDK's retry
        // settings, AWS_MAX_ATTEMPTS); every call here answers in seconds.
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .operation_attempt_timeout(Duration::from_secs(60))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = region {
            loader = loader.region(Region::new(r.to_string()));
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(Op::from("choosing a region").error("NoRegion", "no region is set"));
        }
        Ok(Self { config })
    }

    /// The endpoint the calls go to when it is not one of AWS's own (`AWS_ENDPOINT_URL` at an
    /// emulator or a proxy): some account settings cannot be read there.
    pub fn foreign_endpoint(&self) -> Option<&str> {
        self.config
            .endpoint_url()
            .filter(|url| !is_aws_endpoint(url))
    }

    pub fn region(&self) -> &str {
        self.config.region().map(|r| r.as_ref()).unwrap_or_default()
    }

    pub fn cfn(&self) -> cloudformation::Cfn {
        cloudformation::Cfn::new(aws_sdk_cloudformation::Client::new(&self.config))
    }

    pub fn ecr(&self) -> ecr::Ecr {
        ecr::Ecr::new(aws_sdk_ecr::Client::new(&self.config))
    }

    pub fn sqs(&self) -> sqs::Sqs {
        sqs::Sqs::new(aws_sdk_sqs::Client::new(&self.config))
    }

    pub fn ecs(&self) -> ecs::Ecs {
        ecs::Ecs::new(aws_sdk_ecs::Client::new(&self.config))
    }

    pub fn lambda(&self) -> lambda::Lambda {
        lambda::Lambda::new(aws_sdk_lambda::Client::new(&self.config))
    }

    pub fn iam(&self) -> iam::Iam {
        iam::Iam::new(aws_sdk_iam::Client::new(&self.config))
    }

    pub fn autoscaling(&self) -> autoscaling::AutoScaling {
        autoscaling::AutoScaling::new(aws_sdk_applicationautoscaling::Client::new(&self.config))
    }

    pub fn cloudwatch(&self) -> cloudwatch::CloudWatch {
        cloudwatch::CloudWatch::new(aws_sdk_cloudwatch::Client::new(&self.config))
    }

    pub fn ssm(&self) -> ssm::Ssm {
        ssm::Ssm::new(aws_sdk_ssm::Client::new(&self.config))
    }

    pub fn secretsmanager(&self) -> secretsmanager::SecretsManager {
        secretsmanager::SecretsManager::new(aws_sdk_secretsmanager::Client::new(&self.config))
    }

    /// The credentials the SDK's chain resolves, for a process of the user's own (the containers
    /// of `local`); `None` when there are none. Pass them by variable name, never in arguments.
    pub async fn credentials(&self) -> Option<Credentials> {
        use aws_credential_types::provider::ProvideCredentials;
        let c = self
            .config
            .credentials_provider()?
            .provide_credentials()
            .await
            .ok()?;
        Some(Credentials {
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: c.secret_access_key().to_string(),
            session_token: c.session_token().map(str::to_string),
        })
    }
}

/// Whether an endpoint URL is one of AWS's own: a host under `amazonaws.com`,
/// `amazonaws.com.cn` (China) or `api.aws` (the dual-stack endpoints), per the AWS General
/// Reference's "Service endpoints".
pub fn is_aws_endpoint(url: &str) -> bool {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    [".amazonaws.com", ".amazonaws.com.cn", ".api.aws"]
        .iter()
        .any(|suffix| host.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_endpoints_are_told_from_others() {
        for aws in [
            "https://lambda.eu-west-1.amazonaws.com",
            "https://lambda.cn-north-1.amazonaws.com.cn/",
            "https://lambda.eu-west-1.api.aws",
            "https://vpce-0a1b.lambda.eu-west-1.vpce.amazonaws.com:443/x",
            "HTTPS://LAMBDA.US-EAST-1.AMAZONAWS.COM.",
        ] {
            assert!(is_aws_endpoint(aws), "{aws}");
        }
        for other in [
            "http://127.0.0.1:5000",
            "http://localhost:4566",
            "http://[::1]:5000/",
            "https://amazonaws.com.example.org",
            "https://evil-amazonaws.com",
            "http://user@host.amazonaws.com.evil:80",
            "http://10.0.0.1/lambda.amazonaws.com",
        ] {
            assert!(!is_aws_endpoint(other), "{other}");
        }
    }

    fn error(code: &str, message: &str) -> AwsError {
        Op::from("reading").error(code, message)
    }

    #[test]
    fn a_denied_call_names_the_permission_to_grant() {
        let e = op(
            "listing the inline policies of role `r`".into(),
            "iam:ListRolePolicies",
        )
        .error("AccessDenied", "not authorized");
        assert_eq!(e.needs(), Some("iam:ListRolePolicies"));
        assert_eq!(
            e.to_string(),
            "listing the inline policies of role `r` (needs `iam:ListRolePolicies`): AccessDenied: not authorized"
        );
        assert!(e
            .hint()
            .is_some_and(|h| h.contains("grant the caller `iam:ListRolePolicies`")));
        assert_eq!(error("AccessDenied", "x").needs(), None);
    }

    #[test]
    fn a_missing_queue_in_either_protocol() {
        assert!(error(
            "AWS.SimpleQueueService.NonExistentQueue",
            "The specified queue does not exist."
        )
        .is_missing_queue());
        assert!(
            error("QueueDoesNotExist", "The specified queue does not exist.").is_missing_queue()
        );
        assert!(!error("AccessDenied", "not authorized").is_missing_queue());
        assert!(!error("ValidationError", "Stack with id x does not exist").is_missing_queue());
    }

    #[test]
    fn only_the_named_absence_becomes_none() {
        let gone: Result<u8, AwsError> =
            Err(error("ValidationError", "Stack with id x does not exist"));
        assert_eq!(gone.or_none_if(AwsError::is_missing_stack), Ok(None));
        let denied: Result<u8, AwsError> = Err(error("AccessDenied", "not authorized"));
        assert_eq!(
            denied.clone().or_none_if(AwsError::is_missing_stack),
            denied.map(Some)
        );
        let queue: Result<u8, AwsError> = Err(error("QueueDoesNotExist", "gone"));
        assert!(
            queue.or_none_if(AwsError::is_missing_stack).is_err(),
            "a missing queue is not a missing stack"
        );
        assert_eq!(
            Ok::<u8, AwsError>(7).or_none_if(AwsError::is_missing_queue),
            Ok(Some(7))
        );
    }
}

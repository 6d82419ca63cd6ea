//! AWS Lambda: a function's image and concurrency, the account's concurrency, and event source
//! mappings. One function per API call; SDK types stay inside.

use std::time::Duration;

use aws_sdk_lambda::types::ScalingConfig;
use serde::{Serialize, Serializer};

use super::{aws_error, op, AwsError, OrMissing};

#[derive(Clone, Debug)]
pub struct Lambda {
    client: aws_sdk_lambda::Client,
}

/// An event source mapping's state, parsed once from Lambda's answer (Lambda API Reference,
/// `EventSourceMappingConfiguration.State`). Shown and serialised as Lambda spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MappingState {
    Creating,
    Enabling,
    Enabled,
    Disabling,
    Disabled,
    Updating,
    Deleting,
    /// A state this version does not know, as Lambda gave it.
    Other(String),
}

impl MappingState {
    pub fn parse(text: &str) -> Self {
        match text {
            "Creating" => Self::Creating,
            "Enabling" => Self::Enabling,
            "Enabled" => Self::Enabled,
            "Disabling" => Self::Disabling,
            "Disabled" => Self::Disabled,
            "Updating" => Self::Updating,
            "Deleting" => Self::Deleting,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Creating => "Creating",
            Self::Enabling => "Enabling",
            Self::Enabled => "Enabled",
            Self::Disabling => "Disabling",
            Self::Disabled => "Disabled",
            Self::Updating => "Updating",
            Self::Deleting => "Deleting",
            Self::Other(s) => s,
        }
    }

    /// A state Lambda is still moving out of.
    pub fn settling(&self) -> bool {
        matches!(
            self,
            Self::Creating | Self::Enabling | Self::Disabling | Self::Updating
        )
    }

    /// The mapping consumes its queue, or is about to, or still does: enabled, being enabled,
    /// being updated (an enabled mapping's change) or being disabled.
    pub fn consuming(&self) -> bool {
        matches!(
            self,
            Self::Enabled | Self::Enabling | Self::Updating | Self::Disabling
        )
    }
}

impl std::fmt::Display for MappingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MappingState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An SQS event source mapping of a function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub uuid: String,
    /// The queue's ARN.
    pub source: String,
    pub state: MappingState,
    pub batch_size: Option<i32>,
    /// `ScalingConfig.MaximumConcurrency`.
    pub maximum_concurrency: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountConcurrency {
    /// The account's concurrency limit in this region.
    pub limit: i32,
    /// What is left unreserved now.
    pub unreserved: i32,
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl Lambda {
    /// From a client made elsewhere: `Aws::lambda`, or a test's recorded answers.
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        Self { client }
    }

    /// `GetFunction`: the image the function runs; `None` when there is no such function.
    pub async fn function_image(&self, function: &str) -> Result<Option<String>, AwsError> {
        let sent = self
            .client
            .get_function()
            .function_name(function)
            .send()
            .await;
        let out = sent
            .map_err(|e| aws_error(format!("describing function `{function}`"), e))
            .or_none_if(AwsError::is_missing_function)?;
        Ok(out.and_then(|o| o.code().and_then(|c| c.image_uri()).map(String::from)))
    }

    /// `GetFunctionConcurrency`: the function's reserved concurrency, `None` when unreserved or
    /// when there is no such function.
    pub async fn reserved_concurrency(&self, function: &str) -> Result<Option<i32>, AwsError> {
        let sent = self
            .client
            .get_function_concurrency()
            .function_name(function)
            .send()
            .await;
        let out = sent
            .map_err(|e| {
                aws_error(
                    format!("reading the concurrency of function `{function}`"),
                    e,
                )
            })
            .or_none_if(AwsError::is_missing_function)?;
        Ok(out.and_then(|o| o.reserved_concurrent_executions()))
    }

    /// `GetAccountSettings`: the account's concurrency limit and what is unreserved.
    pub async fn account_concurrency(&self) -> Result<AccountConcurrency, AwsError> {
        let out = self
            .client
            .get_account_settings()
            .send()
            .await
            .map_err(|e| aws_error("reading the Lambda account settings", e))?;
        let limit = out.account_limit();
        Ok(AccountConcurrency {
            limit: limit.map(|l| l.concurrent_executions()).unwrap_or(0),
            unreserved: limit
                .and_then(|l| l.unreserved_concurrent_executions())
                .unwrap_or(0),
        })
    }

    /// `ListEventSourceMappings`: the function's mappings, only those on `source` (a queue's
    /// ARN) when given.
    pub async fn mappings(
        &self,
        function: &str,
        source: Option<&str>,
    ) -> Result<Vec<Mapping>, AwsError> {
        let out = self
            .client
            .list_event_source_mappings()
            .function_name(function)
            .set_event_source_arn(source.map(str::to_string))
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("listing the event source mappings of `{function}`"),
                        "lambda:ListEventSourceMappings",
                    ),
                    e,
                )
            })?;
        Ok(out
            .event_source_mappings()
            .iter()
            .map(|m| Mapping {
                uuid: m.uuid().unwrap_or_default().to_string(),
                source: m.event_source_arn().unwrap_or_default().to_string(),
                state: MappingState::parse(m.state().unwrap_or_default()),
                batch_size: m.batch_size(),
                maximum_concurrency: m
                    .scaling_config()
                    .and_then(|c| c.maximum_concurrency())
                    .map(count),
            })
            .filter(|m| source.is_none_or(|s| m.source == s))
            .collect())
    }

    /// `GetEventSourceMapping`: the mapping `uuid` as it is now.
    pub async fn mapping(&self, uuid: &str) -> Result<Mapping, AwsError> {
        let m = self
            .client
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("reading event source mapping `{uuid}`"),
                        "lambda:GetEventSourceMapping",
                    ),
                    e,
                )
            })?;
        Ok(Mapping {
            uuid: uuid.to_string(),
            source: m.event_source_arn().unwrap_or_default().to_string(),
            state: MappingState::parse(m.state().unwrap_or_default()),
            batch_size: m.batch_size(),
            maximum_concurrency: m
                .scaling_config()
                .and_then(|c| c.maximum_concurrency())
                .map(count),
        })
    }

    /// `UpdateEventSourceMapping`: enables or disables the mapping, with `MaximumConcurrency`
    /// when given. Lambda refuses an update while the mapping is still changing
    /// (`ResourceInUseException`): that is retried for up to two minutes.
    pub async fn set_mapping(
        &self,
        uuid: &str,
        enabled: bool,
        maximum_concurrency: Option<u32>,
    ) -> Result<(), AwsError> {
        let what = match (enabled, maximum_concurrency) {
            (true, Some(n)) => {
                format!("enabling event source mapping `{uuid}` with MaximumConcurrency {n}")
            }
            (true, None) => format!("enabling event source mapping `{uuid}`"),
            (false, _) => format!("disabling event source mapping `{uuid}`"),
        };
        let mut waited = Duration::ZERO;
        loop {
            let mut call = self
                .client
                .update_event_source_mapping()
                .uuid(uuid)
                .enabled(enabled);
            if let Some(n) = maximum_concurrency {
                call = call.scaling_config(
                    ScalingConfig::builder()
                        .maximum_concurrency(i32::try_from(n).unwrap_or(1000))
                        .build(),
                );
            }
            match call
                .send()
                .await
                .map_err(|e| aws_error(op(what.clone(), "lambda:UpdateEventSourceMapping"), e))
            {
                Ok(_) => return Ok(()),
                Err(e)
                    if e.code == "ResourceInUseException" && waited < Duration::from_secs(120) =>
                {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    waited += Duration::from_secs(5);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_state_reads_and_shows_as_lambda_spells_it() {
        for s in [
            "Creating",
            "Enabling",
            "Enabled",
            "Disabling",
            "Disabled",
            "Updating",
            "Deleting",
            "Paused",
        ] {
            let state = MappingState::parse(s);
            assert_eq!(state.to_string(), s);
            assert_eq!(serde_json::to_string(&state).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(
            MappingState::parse("Paused"),
            MappingState::Other("Paused".into())
        );
        assert!(MappingState::Enabling.settling() && !MappingState::Enabled.settling());
        assert!(MappingState::Disabling.consuming() && !MappingState::Disabled.consuming());
    }
}

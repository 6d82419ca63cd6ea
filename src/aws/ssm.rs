//! AWS Systems Manager Parameter Store, read for `init --from-ecs`: a parameter's type, and the
//! value of a plain `String` parameter (a queue URL a task definition passes as a `secrets`
//! entry). One function per API call; SDK types stay inside. A `SecureString` is never read:
//! its type is asked first (`DescribeParameters` answers no value), and `GetParameter` is called
//! without decryption and its answer dropped unless it is a `String`.

use aws_sdk_ssm::types::ParameterStringFilter;

use super::{aws_error, op, AwsError};

#[derive(Clone, Debug)]
pub struct Ssm {
    client: aws_sdk_ssm::Client,
}

/// The parameter's name from a task definition's `valueFrom`: the name itself, or the part of
/// its ARN after `:parameter` (`arn:aws:ssm:REGION:ACCOUNT:parameter/prod/url` -> `/prod/url`, a
/// name without `/` -> itself; AWS Systems Manager User Guide, "Working with parameter
/// hierarchies").
pub fn parameter_name(value_from: &str) -> String {
    match value_from.split_once(":parameter/") {
        Some((arn, rest)) if arn.starts_with("arn:") => {
            if rest.contains('/') {
                format!("/{rest}")
            } else {
                rest.to_string()
            }
        }
        _ => value_from.to_string(),
    }
}

impl Ssm {
    /// From a client made elsewhere: `Aws::ssm`, or a test's recorded answers.
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        Self { client }
    }

    /// `DescribeParameters` for the one parameter `name`: its type (`String`, `StringList`,
    /// `SecureString`), `None` when there is no such parameter. No value is in the answer.
    pub async fn parameter_type(&self, name: &str) -> Result<Option<String>, AwsError> {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(name)
            .build()
            .map_err(|e| {
                op(
                    format!("describing parameter `{name}`"),
                    "ssm:DescribeParameters",
                )
                .error("InvalidRequest", e.to_string())
            })?;
        let out = self
            .client
            .describe_parameters()
            .parameter_filters(filter)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    op(
                        format!("describing parameter `{name}`"),
                        "ssm:DescribeParameters",
                    ),
                    e,
                )
            })?;
        Ok(out
            .parameters()
            .iter()
            .find(|p| p.name() == Some(name))
            .and_then(|p| p.r#type())
            .map(|t| t.as_str().to_string()))
    }

    /// `GetParameter` without decryption: the value of a `String` parameter; `None` for any other
    /// type (its answer is dropped unread) or a parameter that is not there.
    pub async fn string_value(&self, name: &str) -> Result<Option<String>, AwsError> {
        let sent = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(false)
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(e) => {
                let e = aws_error(
                    op(
                        format!("reading String parameter `{name}`"),
                        "ssm:GetParameter",
                    ),
                    e,
                );
                if e.code == "ParameterNotFound" {
                    return Ok(None);
                }
                return Err(e);
            }
        };
        let Some(p) = out.parameter() else {
            return Ok(None);
        };
        if p.r#type().map(|t| t.as_str()) != Some("String") {
            return Ok(None);
        }
        Ok(p.value().map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_is_named_by_its_name_or_its_arn() {
        assert_eq!(
            parameter_name("arn:aws:ssm:eu-west-1:123456789012:parameter/prod/orders/url"),
            "/prod/orders/url"
        );
        assert_eq!(
            parameter_name("arn:aws:ssm:eu-west-1:123456789012:parameter/orders-url"),
            "orders-url"
        );
        assert_eq!(parameter_name("/prod/orders/url"), "/prod/orders/url");
        assert_eq!(parameter_name("orders-url"), "orders-url");
    }
}

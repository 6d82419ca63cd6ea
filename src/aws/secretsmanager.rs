//! AWS Secrets Manager, read for `init --from-ecs`: a secret's ARN from its name
//! (`DescribeSecret`, which answers the secret's metadata and never its value; `GetSecretValue`
//! is never called). One function per API call; SDK types stay inside.

use super::{aws_error, op, AwsError};

#[derive(Clone, Debug)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    /// From a client made elsewhere: `Aws::secretsmanager`, or a test's recorded answers.
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }

    /// `DescribeSecret`: the ARN of the secret named `name` (a name or an ARN); `None` when there
    /// is no such secret.
    pub async fn arn(&self, name: &str) -> Result<Option<String>, AwsError> {
        let sent = self.client.describe_secret().secret_id(name).send().await;
        match sent {
            Ok(out) => Ok(out.arn().map(str::to_string)),
            Err(e) => {
                let e = aws_error(
                    op(
                        format!("describing secret `{name}`"),
                        "secretsmanager:DescribeSecret",
                    ),
                    e,
                );
                if e.code == "ResourceNotFoundException" {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}

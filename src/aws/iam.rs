//! AWS IAM, read for `init --from-ecs`: a role's attached managed policies, its inline policies'
//! names and documents. One function per API call; SDK types stay inside. Every page token is
//! followed, and every operation names the IAM action it needs.

use super::{aws_error, op, AwsError};
use crate::core::adopt;

#[derive(Clone, Debug)]
pub struct Iam {
    client: aws_sdk_iam::Client,
}

/// A role's name from its ARN (`arn:aws:iam::ACCOUNT:role/PATH/NAME`: the name is the last part).
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

impl Iam {
    /// From a client made elsewhere: `Aws::iam`, or a test's recorded answers.
    pub fn new(client: aws_sdk_iam::Client) -> Self {
        Self { client }
    }

    /// `ListAttachedRolePolicies`: the ARNs of the managed policies attached to role `name`.
    pub async fn attached_policies(&self, name: &str) -> Result<Vec<String>, AwsError> {
        let mut managed = Vec::new();
        let mut pages = self
            .client
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| {
                aws_error(
                    op(
                        format!("listing the managed policies of role `{name}`"),
                        "iam:ListAttachedRolePolicies",
                    ),
                    e,
                )
            })?;
            managed.extend(
                out.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(String::from)),
            );
        }
        Ok(managed)
    }

    /// `ListRolePolicies`: the names of role `name`'s inline policies.
    pub async fn inline_policy_names(&self, name: &str) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut pages = self
            .client
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let out = page.map_err(|e| {
                aws_error(
                    op(
                        format!("listing the inline policies of role `{name}`"),
                        "iam:ListRolePolicies",
                    ),
                    e,
                )
            })?;
            names.extend(out.policy_names().iter().cloned());
        }
        Ok(names)
    }

    /// `GetRolePolicy`: the document of role `name`'s inline policy `policy`.
    pub async fn inline_policy(
        &self,
        name: &str,
        policy: &str,
    ) -> Result<serde_json::Value, AwsError> {
        let operation = op(
            format!("reading inline policy `{policy}` of role `{name}`"),
            "iam:GetRolePolicy",
        );
        let out = self
            .client
            .get_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .map_err(|e| aws_error(operation.clone(), e))?;
        // IAM returns the document URL-encoded (IAM API Reference, `GetRolePolicy`).
        serde_json::from_str(&adopt::percent_decode(out.policy_document()))
            .map_err(|e| operation.error("InvalidPolicyDocument", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_name_is_the_last_part_of_its_arn() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/worker-task"),
            "worker-task"
        );
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/team/app/worker-task"),
            "worker-task"
        );
    }
}

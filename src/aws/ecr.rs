//! The image's repository in Amazon ECR: found or made (outside both stacks, which share it and
//! which `down` removes without it), the registry credential, and its removal.

use aws_sdk_ecr::types::{ImageScanningConfiguration, Tag};

use super::{aws_error, AwsError, Op, OrMissing};

#[derive(Clone, Debug)]
pub struct Ecr {
    client: aws_sdk_ecr::Client,
}

/// A repository: `<account>.dkr.ecr.<region>.amazonaws.com/<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    pub uri: String,
    /// Made by this call.
    pub created: bool,
}

/// A registry password. Never printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Self(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// What `GetAuthorizationToken` gives: a user and password for the registry, and its host.
#[derive(Clone, Debug)]
pub struct Credential {
    pub user: String,
    pub password: Secret,
    /// `<account>.dkr.ecr.<region>.amazonaws.com`, without the scheme.
    pub host: String,
}

/// The lifecycle policy of a repository this tool makes: keep the newest `keep` images.
pub fn lifecycle_policy(keep: u32) -> String {
    serde_json::json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("replatform: keep the newest {keep} images"),
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
            "action": {"type": "expire"}
        }]
    })
    .to_string()
}

impl Ecr {
    pub fn new(client: aws_sdk_ecr::Client) -> Self {
        Self { client }
    }

    /// The repository's URI, or `None` when it does not exist.
    pub async fn find(&self, name: &str) -> Result<Option<String>, AwsError> {
        let sent = self
            .client
            .describe_repositories()
            .repository_names(name)
            .send()
            .await;
        let out = sent
            .map_err(|e| aws_error(format!("looking up ECR repository `{name}`"), e))
            .or_none_if(AwsError::is_missing_repository)?;
        Ok(out.and_then(|o| {
            o.repositories()
                .first()
                .and_then(|r| r.repository_uri())
                .map(String::from)
        }))
    }

    /// The repository, made when missing: scan on push, a lifecycle policy keeping the newest
    /// `keep` images, tagged with the service. An existing repository is left as it is.
    pub async fn ensure(
        &self,
        name: &str,
        keep: u32,
        service: &str,
    ) -> Result<Repository, AwsError> {
        if let Some(uri) = self.find(name).await? {
            return Ok(Repository {
                uri,
                created: false,
            });
        }
        let tag = Tag::builder()
            .key("replatform:service")
            .value(service)
            .build()
            .map_err(|e| {
                Op::from(format!("creating ECR repository `{name}`"))
                    .error("InvalidTag", e.to_string())
            })?;
        let out = self
            .client
            .create_repository()
            .repository_name(name)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .tags(tag)
            .send()
            .await;
        let uri = match out {
            Ok(o) => o
                .repository()
                .and_then(|r| r.repository_uri())
                .map(String::from),
            Err(e) => {
                let err = aws_error(format!("creating ECR repository `{name}`"), e);
                // Made meanwhile by another run: use it.
                if err.code != "RepositoryAlreadyExistsException" {
                    return Err(err);
                }
                self.find(name).await?
            }
        };
        let uri = uri.ok_or_else(|| {
            Op::from(format!("creating ECR repository `{name}`"))
                .error("NoUri", "ECR returned no repository URI")
        })?;
        self.client
            .put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(lifecycle_policy(keep))
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    format!("setting the lifecycle policy of ECR repository `{name}`"),
                    e,
                )
            })?;
        Ok(Repository { uri, created: true })
    }

    /// The registry credential: the token is base64 of `user:password`.
    pub async fn credential(&self) -> Result<Credential, AwsError> {
        let op = "getting an ECR authorization token";
        let out = self
            .client
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| aws_error(op, e))?;
        let bad = |message: &str| Op::from(op).error("BadToken", message);
        let data = out
            .authorization_data()
            .first()
            .ok_or_else(|| bad("ECR returned no authorization data"))?;
        let token = data
            .authorization_token()
            .ok_or_else(|| bad("ECR returned no token"))?;
        let decoded =
            aws_smithy_types::base64::decode(token).map_err(|_| bad("the token is not base64"))?;
        let text = String::from_utf8(decoded).map_err(|_| bad("the token is not text"))?;
        let (user, password) = text
            .split_once(':')
            .ok_or_else(|| bad("the token is not `user:password`"))?;
        let endpoint = data.proxy_endpoint().unwrap_or_default();
        let host = endpoint
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Ok(Credential {
            user: user.to_string(),
            password: Secret::new(password.to_string()),
            host,
        })
    }

    /// Deletes the repository with its images. `false` when there was none.
    pub async fn delete(&self, name: &str) -> Result<bool, AwsError> {
        let sent = self
            .client
            .delete_repository()
            .repository_name(name)
            .force(true)
            .send()
            .await;
        Ok(sent
            .map_err(|e| aws_error(format!("deleting ECR repository `{name}`"), e))
            .or_none_if(AwsError::is_missing_repository)?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_policy_keeps_the_newest_images() {
        let p: serde_json::Value = serde_json::from_str(&lifecycle_policy(20)).unwrap();
        assert_eq!(
            p["rules"][0]["selection"]["countType"],
            "imageCountMoreThan"
        );
        assert_eq!(p["rules"][0]["selection"]["countNumber"], 20);
        assert_eq!(p["rules"][0]["action"]["type"], "expire");
    }

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s} {s:?}"), "*** ***");
    }
}

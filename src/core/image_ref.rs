//! Image references as the stacks use them: always by digest (docs/pitfalls.md#p2), from Amazon
//! ECR, which is the only registry Lambda runs images from. Pure.

use std::fmt;

/// `<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<digest>`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    pub account: String,
    pub region: String,
    /// `amazonaws.com`, or `amazonaws.com.cn` in the China regions.
    pub domain: String,
    pub repository: String,
    pub digest: String,
}

impl ImageRef {
    pub fn partition(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    pub fn repository_arn(&self) -> String {
        format!(
            "arn:{}:ecr:{}:{}:repository/{}",
            self.partition(),
            self.region,
            self.account,
            self.repository
        )
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.dkr.ecr.{}.{}/{}@{}",
            self.account, self.region, self.domain, self.repository, self.digest
        )
    }
}

/// Why a reference cannot be deployed, and what to pass instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRefError {
    pub message: String,
    pub hint: String,
}

pub fn parse(uri: &str) -> Result<ImageRef, ImageRefError> {
    let bad = |message: String, hint: &str| ImageRefError {
        message,
        hint: hint.to_string(),
    };
    let shape = "pass `<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<digest>`";
    let (name, digest) = match uri.split_once('@') {
        Some(parts) => parts,
        None => {
            return Err(bad(
                format!("image `{uri}` has no digest: a tag can move, and CloudFormation would keep the old image (docs/pitfalls.md#p2)"),
                "pass the image by digest; `aws ecr describe-images --repository-name REPO --image-ids imageTag=TAG --query 'imageDetails[0].imageDigest'` prints it",
            ))
        }
    };
    let hex = digest.strip_prefix("sha256:").unwrap_or("");
    if hex.len() != 64
        || !hex
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    {
        return Err(bad(
            format!("`{digest}` in image `{uri}` is not a sha256 digest"),
            "a digest is `sha256:` and 64 lowercase hex digits",
        ));
    }
    // A tag beside the digest is allowed by registries but means nothing here: drop it.
    let (host, repo) = name
        .split_once('/')
        .ok_or_else(|| bad(format!("image `{uri}` names no registry"), shape))?;
    let repo = match repo.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => repo,
    };
    let parts: Vec<&str> = host.split('.').collect();
    let ecr = parts.len() >= 6
        && parts[1] == "dkr"
        && parts[2] == "ecr"
        && parts[0].len() == 12
        && parts[0].chars().all(|c| c.is_ascii_digit());
    let domain = parts.get(4..).map(|d| d.join(".")).unwrap_or_default();
    if !ecr || !(domain == "amazonaws.com" || domain == "amazonaws.com.cn") {
        return Err(bad(
            format!(
                "image `{uri}` is not in Amazon ECR: Lambda runs container images only from ECR"
            ),
            shape,
        ));
    }
    Ok(ImageRef {
        account: parts[0].into(),
        region: parts[3].into(),
        domain,
        repository: repo.into(),
        digest: digest.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn reads_an_ecr_reference_by_digest() {
        let uri =
            format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/orders-worker@{DIGEST}");
        let r = parse(&uri).unwrap();
        assert_eq!(
            (r.account.as_str(), r.region.as_str(), r.repository.as_str()),
            ("123456789012", "eu-west-1", "team/orders-worker")
        );
        assert_eq!(r.to_string(), uri);
        assert_eq!(
            r.repository_arn(),
            "arn:aws:ecr:eu-west-1:123456789012:repository/team/orders-worker"
        );
        let cn = parse(&format!(
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/w@{DIGEST}"
        ))
        .unwrap();
        assert_eq!(
            cn.repository_arn(),
            "arn:aws-cn:ecr:cn-north-1:123456789012:repository/w"
        );
    }

    #[test]
    fn drops_a_tag_written_beside_the_digest() {
        let r = parse(&format!(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/w:v1@{DIGEST}"
        ))
        .unwrap();
        assert_eq!(r.repository, "w");
    }

    #[test]
    fn refuses_tags_other_registries_and_bad_digests() {
        let tag = parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/w:latest").unwrap_err();
        assert!(tag.message.contains("has no digest"), "{tag:?}");
        let hub = parse(&format!("docker.io/library/python@{DIGEST}")).unwrap_err();
        assert!(hub.message.contains("not in Amazon ECR"), "{hub:?}");
        let short = parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/w@sha256:abc").unwrap_err();
        assert!(short.message.contains("not a sha256 digest"), "{short:?}");
    }
}

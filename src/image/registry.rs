//! The registry's own HTTP API (the OCI distribution API, which ECR and any other registry
//! answer alike): a tag's manifest, its bytes, digest and media type. Basic auth with the
//! registry credential; plain HTTP only to a registry on this machine, as the builders do.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::aws::ecr::Secret;
use crate::core::image::{self, MANIFEST_ACCEPT};

/// A manifest as the registry stores it.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// `sha256:` of the bytes: what a deploy names the image by.
    pub digest: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("registry `{host}`: {message}")]
pub struct RegistryError {
    pub host: String,
    pub message: String,
    pub hint: Option<String>,
}

pub struct Registry {
    host: String,
    base: String,
    authorization: String,
    client: Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Empty<Bytes>>,
}

const TIMEOUT: Duration = Duration::from_secs(60);

impl Registry {
    pub fn new(host: &str, user: &str, password: &Secret) -> Result<Self, RegistryError> {
        let plain = image::is_loopback(host);
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = if plain {
            builder.with_tls_config(rustls::ClientConfig::builder_with_provider(rustls::crypto::aws_lc_rs::default_provider().into())
                .with_safe_default_protocol_versions()
                .map_err(|e| RegistryError { host: host.into(), message: e.to_string(), hint: None })?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth())
        } else {
            builder.with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider()).map_err(|e| RegistryError {
                host: host.into(),
                message: format!("cannot load this machine's CA certificates: {e}"),
                hint: Some("install the system's CA certificates (`ca-certificates`)".into()),
            })?
        };
        let connector = builder.https_or_http().enable_http1().build();
        let token = aws_smithy_types::base64::encode(format!("{user}:{}", password.expose()));
        Ok(Self {
            host: host.to_string(),
            base: format!("{}://{host}", if plain { "http" } else { "https" }),
            authorization: format!("Basic {token}"),
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    fn error(&self, message: impl Into<String>, hint: Option<&str>) -> RegistryError {
        RegistryError { host: self.host.clone(), message: message.into(), hint: hint.map(String::from) }
    }

    /// The manifest a tag (or digest) names; `None` when the registry has no such tag or
    /// repository.
    pub async fn manifest(&self, repository: &str, reference: &str) -> Result<Option<Manifest>, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let request = http::Request::get(&url)
            .header(http::header::ACCEPT, MANIFEST_ACCEPT)
            .header(http::header::AUTHORIZATION, &self.authorization)
            .header(http::header::USER_AGENT, concat!("replatform/", env!("CARGO_PKG_VERSION")))
            .body(Empty::<Bytes>::new())
            .map_err(|e| self.error(format!("bad request for `{url}`: {e}"), None))?;
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| self.error(format!("no answer in {} s reading `{repository}:{reference}`", TIMEOUT.as_secs()), Some("check that the registry is reachable from here")))?
            .map_err(|e| {
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    message.push_str(&format!(": {s}"));
                    source = s.source();
                }
                self.error(format!("cannot reach it: {message}"), Some("check the network, and `image.registry` when it is set"))
            })?;
        let status = response.status();
        let content_type = response.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(String::from);
        let header_digest = response.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).map(String::from);
        let body = tokio::time::timeout(TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| self.error("the manifest did not arrive in time", None))?
            .map_err(|e| self.error(format!("reading the manifest: {e}"), None))?
            .to_bytes()
            .to_vec();
        match status.as_u16() {
            200 => {
                let digest = image::digest(&body);
                if let Some(h) = header_digest.filter(|h| *h != digest) {
                    return Err(self.error(format!("the manifest of `{repository}:{reference}` has digest `{digest}` but the registry names it `{h}`"), None));
                }
                Ok(Some(Manifest { digest, content_type, body }))
            }
            404 => Ok(None),
            401 | 403 => Err(self.error(
                format!("refused the credential (HTTP {}) reading `{repository}:{reference}`", status.as_u16()),
                Some("the ECR token is for the registry it names: when `image.registry` is set, it must accept the same credential"),
            )),
            code => Err(self.error(format!("HTTP {code} reading `{repository}:{reference}`: {}", String::from_utf8_lossy(&body[..body.len().min(300)]).trim()), None)),
        }
    }
}

//! The registry's own HTTP API (the OCI distribution API, which ECR and any other registry
//! answer alike): a tag's manifest, its bytes, digest and media type. Basic auth with the
//! registry credential; plain HTTP only to a registry on this machine, as the builders do.
//! A manifest is read up to [`MAX_MANIFEST`] bytes, so that no registry can make it allocate
//! without bound.

use std::time::Duration;

use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
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
    client: Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Empty<Bytes>,
    >,
}

const TIMEOUT: Duration = Duration::from_secs(60);

/// The largest manifest read: OCI's distribution spec has registries accept manifests of at
/// least 4 MiB, and an image manifest of one platform is a few KiB.
pub const MAX_MANIFEST: usize = 4 * 1024 * 1024;

impl Registry {
    pub fn new(host: &str, user: &str, password: &Secret) -> Result<Self, RegistryError> {
        let plain = image::is_loopback(host);
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = if plain {
            builder.with_tls_config(
                rustls::ClientConfig::builder_with_provider(
                    rustls::crypto::aws_lc_rs::default_provider().into(),
                )
                .with_safe_default_protocol_versions()
                .map_err(|e| RegistryError {
                    host: host.into(),
                    message: e.to_string(),
                    hint: None,
                })?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            )
        } else {
            builder
                .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
                .map_err(|e| RegistryError {
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
        RegistryError {
            host: self.host.clone(),
            message: message.into(),
            hint: hint.map(String::from),
        }
    }

    /// The manifest a tag (or digest) names; `None` when the registry has no such tag or
    /// repository.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let request = http::Request::get(&url)
            .header(http::header::ACCEPT, MANIFEST_ACCEPT)
            .header(http::header::AUTHORIZATION, &self.authorization)
            .header(
                http::header::USER_AGENT,
                concat!("replatform/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| self.error(format!("bad request for `{url}`: {e}"), None))?;
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| {
                self.error(
                    format!(
                        "no answer in {} s reading `{repository}:{reference}`",
                        TIMEOUT.as_secs()
                    ),
                    Some("check that the registry is reachable from here"),
                )
            })?
            .map_err(|e| {
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    message.push_str(&format!(": {s}"));
                    source = s.source();
                }
                self.error(
                    format!("cannot reach it: {message}"),
                    Some("check the network, and `image.registry` when it is set"),
                )
            })?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let header_digest = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let too_large = || {
            self.error(
                format!("the manifest of `{repository}:{reference}` is larger than {} MiB: refused unread", MAX_MANIFEST >> 20),
                Some("an image manifest is a few KiB: check that `image.registry`, when set, is a registry, and that the tag names a single-platform image"),
            )
        };
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if status.is_success() && declared.is_some_and(|n| n > MAX_MANIFEST as u64) {
            return Err(too_large());
        }
        // Read with a limit whatever the length announced: a body may run past it, or announce
        // none.
        let body = match tokio::time::timeout(
            TIMEOUT,
            Limited::new(response.into_body(), MAX_MANIFEST).collect(),
        )
        .await
        {
            Err(_) => return Err(self.error("the manifest did not arrive in time", None)),
            Ok(Ok(collected)) => collected.to_bytes().to_vec(),
            // An error page that long is not shown: its status says what went wrong.
            Ok(Err(e))
                if e.downcast_ref::<LengthLimitError>().is_some() && !status.is_success() =>
            {
                Vec::new()
            }
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
            Ok(Err(e)) => return Err(self.error(format!("reading the manifest: {e}"), None)),
        };
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

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use super::*;

    /// A registry on a loopback port that answers one manifest request with a body of `len`
    /// bytes (announced, or chunked when `announce` is false) and returns how many body bytes
    /// it managed to send before the client hung up.
    fn serve_once(len: usize, announce: bool) -> (String, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let mut out = stream;
            let head = if announce {
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {len}\r\n\r\n")
            } else {
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nTransfer-Encoding: chunked\r\n\r\n".to_string()
            };
            if out.write_all(head.as_bytes()).is_err() {
                return 0;
            }
            let chunk = vec![b'{'; 64 * 1024];
            let mut sent = 0;
            while sent < len {
                let n = chunk.len().min(len - sent);
                let written = if announce {
                    out.write_all(&chunk[..n])
                } else {
                    out.write_all(format!("{n:x}\r\n").as_bytes())
                        .and_then(|()| out.write_all(&chunk[..n]))
                        .and_then(|()| out.write_all(b"\r\n"))
                };
                if written.is_err() {
                    return sent;
                }
                sent += n;
            }
            if !announce {
                let _ = out.write_all(b"0\r\n\r\n");
            }
            sent
        });
        (host, server)
    }

    fn read(host: &str) -> Result<Option<Manifest>, RegistryError> {
        let registry = Registry::new(host, "AWS", &Secret::new("not-a-secret".into())).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(registry.manifest("worker", "src-0"))
    }

    #[test]
    fn a_manifest_of_exactly_the_bound_is_read() {
        let (host, server) = serve_once(MAX_MANIFEST, true);
        let manifest = read(&host).unwrap().unwrap();
        assert_eq!(manifest.body.len(), MAX_MANIFEST);
        assert_eq!(server.join().unwrap(), MAX_MANIFEST);
    }

    #[test]
    fn an_announced_manifest_past_the_bound_is_refused_unread() {
        let (host, server) = serve_once(MAX_MANIFEST + 1, true);
        let err = read(&host).unwrap_err();
        assert!(
            err.message.contains("larger than 4 MiB") && err.message.contains("`worker:src-0`"),
            "{err}"
        );
        assert!(
            err.hint
                .as_deref()
                .unwrap()
                .contains("single-platform image"),
            "{err:?}"
        );
        server.join().unwrap();
    }

    /// A body that announces no length and never ends: the read stops at the bound, and the
    /// server sees the client go after little more than that (socket buffers hold the rest).
    #[test]
    fn an_endless_manifest_is_cut_at_the_bound() {
        let (host, server) = serve_once(256 * 1024 * 1024, false);
        let err = read(&host).unwrap_err();
        assert!(err.message.contains("larger than 4 MiB"), "{err}");
        let sent = server.join().unwrap();
        assert!(
            sent < 64 * 1024 * 1024,
            "the client stopped reading: the server sent {sent} bytes"
        );
    }
}

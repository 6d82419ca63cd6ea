//! Calls that are not the batch's go to SQS, signed again with the function's credentials
//! (Signature Version 4: IAM user guide, "AWS Signature Version 4 for API requests").

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::Config;
use crate::sqs::{Protocol, JSON_CONTENT_TYPE};

/// The answer of SQS, passed back to the worker.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct Forwarder {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoint: Uri,
    endpoint_given: bool,
    region: String,
    credentials: Credentials,
}

/// The headers of SQS's answer that the worker's SDK reads.
const KEPT: [&str; 3] = ["content-type", "x-amzn-requestid", "x-amzn-query-error"];

impl Forwarder {
    pub fn new(cfg: &Config) -> Result<Forwarder, String> {
        let endpoint: Uri = cfg
            .endpoint
            .parse()
            .map_err(|e| format!("the SQS endpoint {} is not a URL: {e}", cfg.endpoint))?;
        // ring is chosen explicitly: a build that also enables another provider would otherwise
        // have none by default. The roots are compiled in: the worker's image may have none.
        let provider = rustls::crypto::ring::default_provider();
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(provider.into())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Forwarder {
            client: Client::builder(TokioExecutor::new()).build(https),
            endpoint,
            endpoint_given: cfg.endpoint_given,
            region: cfg.region.clone(),
            credentials: Credentials::new(
                cfg.access_key_id.clone(),
                cfg.secret_access_key.clone(),
                cfg.session_token.clone(),
                None,
                "environment",
            ),
        })
    }

    /// Where a call for `queue_url` goes, and the region it is signed for: SQS in the queue's
    /// own region when its URL names another region than the function's (and no endpoint was
    /// given), else the endpoint.
    pub fn route(&self, queue_url: Option<&str>) -> (Uri, String) {
        let other = queue_url
            .filter(|_| !self.endpoint_given)
            .and_then(crate::config::url_region)
            .filter(|r| *r != self.region);
        match other.and_then(|r| Some((crate::config::sqs_endpoint(&r).parse().ok()?, r))) {
            Some(route) => route,
            None => (self.endpoint.clone(), self.region.clone()),
        }
    }

    /// Sends one call to SQS: `target` is the JSON protocol's `X-Amz-Target` (`None` for Query),
    /// `query_mode` the worker's `x-amzn-query-mode` header, passed on.
    pub async fn send(
        &self,
        protocol: Protocol,
        target: Option<&str>,
        query_mode: Option<&HeaderValue>,
        queue_url: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer, String> {
        let (endpoint, region) = self.route(queue_url);
        let content_type = match protocol {
            Protocol::Json => JSON_CONTENT_TYPE,
            Protocol::Query => "application/x-www-form-urlencoded; charset=utf-8",
        };
        let host = endpoint
            .authority()
            .map(|a| a.as_str().to_string())
            .ok_or("the SQS endpoint has no host")?;
        let mut builder = Request::post(endpoint.clone())
            .header("host", &host)
            .header("content-type", content_type);
        if let Some(t) = target {
            builder = builder.header("x-amz-target", t);
        }
        if let Some(q) = query_mode {
            builder = builder.header("x-amzn-query-mode", q.clone());
        }
        let body = Bytes::from(body);
        let mut req = builder
            .body(Full::new(body.clone()))
            .map_err(|e| e.to_string())?;
        self.sign(&mut req, &body, &region)?;
        let res = self
            .client
            .request(req)
            .await
            .map_err(|e| format!("SQS at {endpoint} did not answer: {e}"))?;
        let status = res.status().as_u16();
        let mut headers = HeaderMap::new();
        for name in KEPT {
            if let Some(v) = res.headers().get(name) {
                headers.insert(name, v.clone());
            }
        }
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("SQS's answer was cut: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    fn sign(
        &self,
        req: &mut Request<Full<Bytes>>,
        body: &[u8],
        region: &str,
    ) -> Result<(), String> {
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("sqs")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("signing: {e}"))?
            .into();
        let headers: Vec<(&str, &str)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let uri = req.uri().to_string();
        let signable = SignableRequest::new(
            req.method().as_str(),
            uri,
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| format!("signing: {e}"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| format!("signing: {e}"))?
            .into_parts();
        instructions.apply_to_request_http1x(req);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarded_call_is_signed_for_sqs_in_the_functions_region_with_its_session() {
        let get = |k: &str| {
            let v = match k {
                "AWS_REGION" => "eu-central-1",
                "AWS_ACCESS_KEY_ID" => "ASIAEXAMPLE",
                "AWS_SECRET_ACCESS_KEY" => "secret",
                "AWS_SESSION_TOKEN" => "session-token",
                "REPLATFORM_BRIDGE_QUEUE_URL" => {
                    "https://sqs.eu-central-1.amazonaws.com/123456789012/q"
                }
                _ => return None,
            };
            Some(v.to_string())
        };
        let cfg = Config::from_env(vec!["worker".into()], &get).unwrap();
        let f = Forwarder::new(&cfg).unwrap();
        assert_eq!(
            f.endpoint.to_string(),
            "https://sqs.eu-central-1.amazonaws.com/"
        );
        let body = b"{\"QueueUrl\":\"x\"}";
        let mut req = Request::post(f.endpoint.clone())
            .header("host", "sqs.eu-central-1.amazonaws.com")
            .header("content-type", JSON_CONTENT_TYPE)
            .header("x-amz-target", "AmazonSQS.SendMessage")
            .body(Full::new(Bytes::from_static(body)))
            .unwrap();
        f.sign(&mut req, body, "eu-central-1").unwrap();
        let h = |n: &str| req.headers().get(n).unwrap().to_str().unwrap().to_string();
        let auth = h("authorization");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/eu-central-1/sqs/aws4_request"), "{auth}");
        assert!(
            auth.contains(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
            ),
            "{auth}"
        );
        assert_eq!(h("x-amz-security-token"), "session-token");
        assert_eq!(h("x-amz-date").len(), "20260101T000000Z".len());
    }
}

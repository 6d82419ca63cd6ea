//! What `up` and `diff` run before their change sets, top to bottom:
//! load -> lint -> templates -> AWS -> concurrency check -> image -> render.
//! Bad input stops before the first AWS call; a broken template before a build; a failed build
//! before any stack is touched. `up` then prepares and executes change sets (`apply.rs`);
//! `diff` describes and deletes them.

use std::path::Path;

use crate::aws::Aws;
use crate::cli::Only;
use crate::commands::render::image_ref;
use crate::commands::{connect, load, select, sources, Failure, Global, Loaded};
use crate::core::config::Config;
use crate::core::plan;
use crate::core::render::{self, Data, Image, RenderedStack};
use crate::image::{self, Report, Source};
use crate::ui::printer::Printer;

/// What the image step may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageMode {
    /// `up`: build and push when the registry lacks the image (always, with `rebuild`).
    Deploy { rebuild: bool },
    /// `diff`: look the image up; change nothing.
    Preview,
}

/// The checked config, the AWS settings, the image and the stacks rendered with it.
pub struct Ready {
    pub loaded: Loaded,
    pub aws: Aws,
    pub stacks: Vec<RenderedStack>,
    pub image: Report,
}

pub async fn prepare(g: &Global, image_uri: Option<&str>, only: Option<Only>, mode: ImageMode, printer: &Printer) -> Result<Ready, Failure> {
    // Load and lint: bad input ends here, with no AWS call.
    let loaded = load(&g.file, printer).map_err(|(f, _)| f)?;
    let config = &loaded.config;
    let given = image_uri.map(|u| image_ref(u, config.region.as_deref())).transpose()?;
    // The templates render: a broken `--templates` folder ends here, before a build.
    let sources = sources(g.templates.as_deref())?;
    render::render(&sources, &Data::new(config, &Image::Placeholder))?;

    let aws = connect(g, config.region.as_deref(), printer).await?;
    let lambda = only.is_none_or(|o| o == Only::Lambda);
    if lambda && matches!(mode, ImageMode::Deploy { .. }) {
        check_concurrency(&aws, config, printer).await?;
    }

    let started = std::time::Instant::now();
    let config_dir = g.file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let (image, report) = match (given, mode) {
        (Some(uri), _) => {
            let uri = image_ref(&uri.to_string(), Some(aws.region()))?;
            let report = Report::given(&uri);
            (Some(uri), report)
        }
        (None, ImageMode::Deploy { rebuild }) => {
            let (uri, report) = image::deploy(&aws, config, config_dir, rebuild, printer).await?;
            (Some(uri), report)
        }
        (None, ImageMode::Preview) => match image::look_up(&aws, config, config_dir).await {
            Ok((uri, report)) => {
                match (&uri, &report.tag) {
                    (Some(u), _) => printer.info(format!("image: the current sources are in the registry: {u}")),
                    (None, Some(tag)) => printer.info(format!(
                        "image: the current sources ({tag}) are not in the registry: `up` builds and pushes them, and the function and the task definition change"
                    )),
                    (None, None) => {}
                }
                (uri, report)
            }
            Err(f) => {
                printer.warning(&format!("could not look the image up ({}); compared with a placeholder image", f.message));
                (None, Report { source: Source::NotBuilt, uri: None, tag: None, registry: None, media_type: None })
            }
        },
    };

    printer.debug(format!("image: step took {:.3} s", started.elapsed().as_secs_f64()));
    let img = image.as_ref().map_or(Image::Placeholder, Image::Digest);
    let stacks = select(render::render(&sources, &Data::new(config, &img))?, only);
    Ok(Ready { loaded, aws, stacks, image: report })
}

/// Pitfall 9: a function's reserved concurrency must leave the account at least 100
/// unreserved. Checked before anything changes; a check that cannot run is a warning, or, at an
/// endpoint that is not AWS's (an emulator), one plain line: it is checked against AWS.
async fn check_concurrency(aws: &Aws, config: &Config, printer: &Printer) -> Result<(), Failure> {
    let Some(wanted) = config.lambda.reserved_concurrency else { return Ok(()) };
    let services = aws.services();
    let account = match services.account_concurrency().await {
        Ok(a) => a,
        Err(e) => {
            match aws.config.endpoint_url().filter(|url| !is_aws_endpoint(url)) {
                Some(url) => printer.info(format!(
                    "the endpoint `{url}` is not AWS's: Lambda's account concurrency could not be read there, so the reserved-concurrency check (at least {} left unreserved) was skipped; against AWS it runs",
                    plan::MIN_UNRESERVED
                )),
                None => printer.warning(&format!("could not check the account's Lambda concurrency ({e}); going on")),
            }
            return Ok(());
        }
    };
    let held = services.reserved_concurrency(&config.service).await.ok().flatten().unwrap_or(0);
    let left = plan::unreserved_after(account.unreserved.into(), held.into(), wanted.into());
    if left < plan::MIN_UNRESERVED {
        return Err(Failure::new(format!(
            "reserving {wanted} concurrent executions for `{}` would leave {left} unreserved in this account and region (limit {}, unreserved now {}); Lambda requires at least 100",
            config.service, account.limit, account.unreserved
        ))
        .hint("lower `lambda.reserved_concurrency`, or ask for a higher concurrency limit in Service Quotas (new accounts may start at 10)"));
    }
    Ok(())
}

/// Whether an endpoint URL is one of AWS's own: a host under `amazonaws.com`,
/// `amazonaws.com.cn` (China) or `api.aws` (the dual-stack endpoints), per the AWS General
/// Reference's "Service endpoints".
fn is_aws_endpoint(url: &str) -> bool {
    let authority = url.split_once("://").map_or(url, |(_, rest)| rest).split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    [".amazonaws.com", ".amazonaws.com.cn", ".api.aws"].iter().any(|suffix| host.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::is_aws_endpoint;

    #[test]
    fn aws_endpoints_are_told_from_others() {
        for aws in ["https://lambda.eu-west-1.amazonaws.com", "https://lambda.cn-north-1.amazonaws.com.cn/", "https://lambda.eu-west-1.api.aws", "https://vpce-0a1b.lambda.eu-west-1.vpce.amazonaws.com:443/x", "HTTPS://LAMBDA.US-EAST-1.AMAZONAWS.COM."] {
            assert!(is_aws_endpoint(aws), "{aws}");
        }
        for other in ["http://127.0.0.1:5000", "http://localhost:4566", "http://[::1]:5000/", "https://amazonaws.com.example.org", "https://evil-amazonaws.com", "http://user@host.amazonaws.com.evil:80", "http://10.0.0.1/lambda.amazonaws.com"] {
            assert!(!is_aws_endpoint(other), "{other}");
        }
    }
}

//! What `up` and `diff` run before their change sets, top to bottom:
//! load -> lint -> templates -> AWS -> concurrency check -> image -> render.
//! Bad input stops before the first AWS call; a broken template before a build; a failed build
//! before any stack is touched. `up` then prepares and executes change sets (`deploy`);
//! `diff` describes and deletes them. `render` runs the part without AWS.

use std::path::Path;

use super::workspace::{connect, load, select, sources, Loaded, Workspace};
use super::Only;
use crate::aws::Aws;
use crate::core::config::Config;
use crate::core::diag::Diagnostic;
use crate::core::image_ref::{self, ImageRef};
use crate::core::plan;
use crate::core::render::{self, Data, Image, RenderedStack};
use crate::error::Failure;
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

pub async fn prepare(
    g: &Workspace,
    image_uri: Option<&str>,
    only: Option<Only>,
    mode: ImageMode,
    printer: &Printer,
) -> Result<Ready, Failure> {
    // Load and lint: bad input ends here, with no AWS call.
    let loaded = load(&g.file, printer).map_err(|(f, _)| f)?;
    let config = &loaded.config;
    let given = image_uri
        .map(|u| image_ref(u, config.region.as_deref()))
        .transpose()?;
    let lambda = only.is_none_or(|o| o == Only::Lambda);
    if config.lambda.trigger.is_bridge() {
        if let (Some(uri), true) = (&given, lambda) {
            // The function starts the supervisor that `up` adds to the image it builds.
            return Err(Failure::new(format!(
                "--image-uri {uri}: lambda.trigger.type is bridge, and the function starts the supervisor ({}) that `up` adds to the image it builds; an image given by URI lacks it",
                crate::core::bridge::BIN
            ))
            .hint("drop --image-uri so that `up` builds the image with the supervisor's layer (an unchanged image is found in the registry and not built again); or `--only ecs` to deploy only the ECS side with it"));
        }
        if given.is_none() && matches!(mode, ImageMode::Deploy { .. }) {
            // The supervisor is on this machine before anything in AWS is touched.
            image::supervisor(config)?;
        }
    }
    // The templates render: a broken `--templates` folder ends here, before a build.
    let sources = sources(g.templates.as_deref())?;
    render::render(&sources, &Data::new(config, &Image::Placeholder))?;

    let aws = connect(g, config.region.as_deref(), printer).await?;
    if lambda && matches!(mode, ImageMode::Deploy { .. }) {
        check_concurrency(&aws, config, printer).await?;
    }

    let started = std::time::Instant::now();
    let config_dir = g.config_dir();
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
                let mut uri = uri;
                match (&uri, &report.tag) {
                    (Some(u), _) => printer.info(format!(
                        "image: the current sources are in the registry: {u}"
                    )),
                    (None, tag) => {
                        // The stacks are compared with the image they run, so that the diff
                        // shows the config's changes and never a placeholder digest.
                        let deployed = deployed_image(&aws, config, only).await;
                        let sources = tag
                            .as_deref()
                            .map_or("the current sources".to_string(), |t| {
                                format!("the current sources ({t})")
                            });
                        match &deployed {
                            Some(d) => printer.info(format!(
                                "image: {sources} are not in the registry: compared with the image the stacks run, {d}; `up` would build and push the sources and change the function and the task definition too (`--image-uri` keeps an image)"
                            )),
                            None if tag.is_some() => printer.info(format!(
                                "image: {sources} are not in the registry: `up` builds and pushes them, and the function and the task definition change"
                            )),
                            None => {}
                        }
                        uri = deployed;
                    }
                }
                (uri, report)
            }
            Err(f) => {
                let deployed = deployed_image(&aws, config, only).await;
                match &deployed {
                    Some(d) => printer.warning(&format!(
                        "could not look the image up ({}); compared with the image the stacks run, {d}",
                        f.message
                    )),
                    None => printer.warning(&format!(
                        "could not look the image up ({}); compared with a placeholder image",
                        f.message
                    )),
                }
                (
                    deployed,
                    Report {
                        source: Source::NotBuilt,
                        uri: None,
                        tag: None,
                        registry: None,
                        media_type: None,
                    },
                )
            }
        },
    };

    printer.debug(format!(
        "image: step took {:.3} s",
        started.elapsed().as_secs_f64()
    ));
    let img = image.as_ref().map_or(Image::Placeholder, Image::Digest);
    let stacks = select(render::render(&sources, &Data::new(config, &img))?, only);
    Ok(Ready {
        loaded,
        aws,
        stacks,
        image: report,
    })
}

/// The image the deployed stacks run (the first `@sha256:` reference in a platform stack's
/// template that is not the all-zero placeholder), when one is deployed.
async fn deployed_image(aws: &Aws, config: &Config, only: Option<Only>) -> Option<ImageRef> {
    let cfn = aws.cfn();
    for side in [Only::Lambda, Only::Ecs] {
        if only.is_some_and(|o| o != side) {
            continue;
        }
        let Ok(Some(template)) = cfn.template(&config.stack_name(side)).await else {
            continue;
        };
        let found = template
            .split(|c: char| c == '"' || c == '\'' || c.is_whitespace())
            .map(|w| w.trim_matches(|c: char| c == ',' || c == '}' || c == ']'))
            .filter(|w| {
                w.contains("@sha256:") && !w.ends_with(crate::core::render::PLACEHOLDER_DIGEST)
            })
            .find_map(|w| image_ref(w, config.region.as_deref()).ok());
        if found.is_some() {
            return found;
        }
    }
    None
}

/// docs/pitfalls.md#p9: a function's reserved concurrency must leave the account at least 100
/// unreserved. Checked before anything changes; a check that cannot run is a warning, or, at an
/// endpoint that is not AWS's (an emulator), one plain line: it is checked against AWS.
async fn check_concurrency(aws: &Aws, config: &Config, printer: &Printer) -> Result<(), Failure> {
    let Some(wanted) = config.lambda.reserved_concurrency else {
        return Ok(());
    };
    let lambda = aws.lambda();
    let account = match lambda.account_concurrency().await {
        Ok(a) => a,
        Err(e) => {
            match aws.foreign_endpoint() {
                Some(url) => printer.note(&format!(
                    "reserved-concurrency check skipped: `{url}` is not AWS (it runs against AWS)"
                )),
                None => printer.warning(&format!(
                    "could not check the account's Lambda concurrency ({e}); going on"
                )),
            }
            return Ok(());
        }
    };
    let held = lambda
        .reserved_concurrency(&config.service)
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
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

/// Checks `--image-uri` against the config: by digest, in ECR, in the config's region.
pub fn image_ref(uri: &str, region: Option<&str>) -> Result<ImageRef, Failure> {
    let r = image_ref::parse(uri)
        .map_err(|e| Failure::new(format!("--image-uri: {}", e.message)).hint(e.hint))?;
    if let Some(region) = region {
        if r.region != region {
            return Err(Failure::new(format!("--image-uri: the image is in `{}` but the service deploys to `{region}`: Lambda pulls images only from its own region", r.region))
                .hint(format!("push the image to ECR in `{region}` (or enable ECR replication) and pass that URI")));
        }
    }
    Ok(r)
}

/// Loads, checks and renders: what every command that deploys starts with.
/// The checked config, its rendered stacks, and whether the image is the placeholder; or the
/// failure with the diagnostics found so far.
pub type Rendered = Result<(Loaded, Vec<RenderedStack>, bool), (Failure, Vec<Diagnostic>)>;

pub fn rendered(
    file: &Path,
    image_uri: Option<&str>,
    templates: Option<&Path>,
    printer: &Printer,
) -> Rendered {
    let loaded = load(file, printer)?;
    let c = &loaded.config;
    let image = match image_uri {
        Some(uri) => {
            Some(image_ref(uri, c.region.as_deref()).map_err(|f| (f, loaded.diagnostics.clone()))?)
        }
        None => None,
    };
    let srcs = sources(templates).map_err(|f| (f, loaded.diagnostics.clone()))?;
    let img = image.as_ref().map_or(Image::Placeholder, Image::Digest);
    let data = Data::new(c, &img);
    let stacks =
        render::render(&srcs, &data).map_err(|e| (Failure::from(e), loaded.diagnostics.clone()))?;
    Ok((loaded, stacks, image.is_none()))
}

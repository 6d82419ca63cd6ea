//! The image step of `up` and `diff`: from the build context to one digest in ECR that both
//! stacks run. The tag is a hash of the build inputs, so an unchanged tree is found in the
//! registry and neither built nor pushed. The effects live in one module each: `context`
//! (files), `runner` (builders), `registry` (the registry's HTTP API); ECR's API is
//! `aws::ecr`.

pub mod bridge;
pub mod context;
pub mod registry;
pub mod runner;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::aws::ecr::Credential;
use crate::aws::Aws;
use crate::core::config::{Builder, Config};
use crate::core::image::{self as pure, BuildSpec, Inputs};
use crate::core::image_ref::{self, ImageRef};
use crate::error::Failure;
use crate::ui::printer::Printer;
use crate::ui::progress;
use registry::Registry;
use runner::RunError;

/// Where the deployed image came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `--image-uri`.
    Given,
    /// The registry already held the tag of these inputs: nothing built or pushed.
    Reused,
    /// Built and pushed by this run.
    Built,
    /// `diff` only: not in the registry yet; `up` will build it.
    NotBuilt,
}

/// What the image step did, for people and for `--output json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub source: Source,
    /// The image by digest, as both stacks run it.
    pub uri: Option<String>,
    /// The tag the inputs' hash names.
    pub tag: Option<String>,
    /// The host pushed to and read from.
    pub registry: Option<String>,
    pub media_type: Option<String>,
}

impl Report {
    pub fn given(uri: &ImageRef) -> Self {
        Self {
            source: Source::Given,
            uri: Some(uri.to_string()),
            tag: None,
            registry: None,
            media_type: None,
        }
    }
}

/// The build's paths: the context relative to the config file, the Dockerfile relative to it.
fn paths(config: &Config, config_dir: &Path) -> (PathBuf, PathBuf) {
    let context = config_dir.join(&config.image.context);
    let dockerfile = context.join(&config.image.dockerfile);
    (context, dockerfile)
}

/// The tag of the config's current build inputs. Reads files only. Under the bridge the
/// supervisor the layer adds is an input too.
pub fn source_tag(config: &Config, config_dir: &Path) -> Result<String, Failure> {
    let supervisor = supervisor(config)?;
    tag_with(config, config_dir, supervisor.as_ref())
}

/// The supervisor the image's layer adds, under `lambda.trigger.type: bridge`; a failure when
/// this machine has none for the platform.
pub fn supervisor(config: &Config) -> Result<Option<bridge::Supervisor>, Failure> {
    if !config.lambda.trigger.is_bridge() {
        return Ok(None);
    }
    bridge::find(config.image.platform).map(Some)
}

fn tag_with(
    config: &Config,
    config_dir: &Path,
    supervisor: Option<&bridge::Supervisor>,
) -> Result<String, Failure> {
    let (context, dockerfile) = paths(config, config_dir);
    let (entries, dockerfile) =
        context::read(&context, &dockerfile).map_err(|e| Failure::new(e.message).hint(e.hint))?;
    let build_args = build_args(config);
    Ok(pure::tag(&Inputs {
        entries: &entries,
        dockerfile: &dockerfile,
        build_args: &build_args,
        platform: config.image.platform,
        bridge: supervisor.map(|s| s.sha256),
    }))
}

fn build_args(config: &Config) -> std::collections::BTreeMap<String, String> {
    config
        .image
        .build_args
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

/// The registry to push to: `image.registry`, else the one ECR's token names.
fn connect_registry(config: &Config, cred: &Credential) -> Result<(String, Registry), Failure> {
    let host = config
        .image
        .registry
        .clone()
        .unwrap_or_else(|| cred.host.clone());
    let registry = Registry::new(&host, &cred.user, &cred.password).map_err(registry_failure)?;
    Ok((host, registry))
}

fn registry_failure(e: registry::RegistryError) -> Failure {
    let hint = e.hint.clone();
    let f = Failure::new(e.to_string());
    match hint {
        Some(h) => f.hint(h),
        None => f,
    }
}

/// The manifest's media type, when Lambda can run it (docs/pitfalls.md#p1).
fn single_platform(m: &registry::Manifest) -> Result<String, Failure> {
    pure::check_manifest(m.content_type.as_deref(), &m.body)
        .map_err(|e| Failure::new(e.message).hint(e.hint))
}

/// The image by digest in the canonical ECR URI, whatever host it was pushed through.
fn by_digest(repository_uri: &str, digest: &str) -> Result<ImageRef, Failure> {
    image_ref::parse(&format!("{repository_uri}@{digest}"))
        .map_err(|e| Failure::new(format!("the repository's image: {}", e.message)).hint(e.hint))
}

/// `up`: the image of the current inputs in ECR, built and pushed only when the registry does
/// not hold it yet (or `rebuild`). The repository is made when missing.
pub async fn deploy(
    aws: &Aws,
    config: &Config,
    config_dir: &Path,
    rebuild: bool,
    printer: &Printer,
) -> Result<(ImageRef, Report), Failure> {
    let supervisor = supervisor(config)?;
    let tag = tag_with(config, config_dir, supervisor.as_ref())?;
    let name = config.repository();
    let ecr = aws.ecr();
    let repo = ecr
        .ensure(name, config.image.keep_images, &config.service)
        .await?;
    if repo.created {
        printer.info(format!(
            "image: created ECR repository `{name}` (scan on push; keeps the newest {} images)",
            config.image.keep_images
        ));
    }
    let cred = ecr.credential().await?;
    let (host, registry) = connect_registry(config, &cred)?;
    let report = |source, uri: &ImageRef, media_type: String| Report {
        source,
        uri: Some(uri.to_string()),
        tag: Some(tag.clone()),
        registry: Some(host.clone()),
        media_type: Some(media_type),
    };

    if !rebuild {
        if let Some(m) = registry
            .manifest(name, &tag)
            .await
            .map_err(registry_failure)?
        {
            let media_type = single_platform(&m)?;
            let uri = by_digest(&repo.uri, &m.digest)?;
            printer.info(format!(
                "image: {name}:{tag} is already in {host}: nothing to build or push ({})",
                m.digest
            ));
            return Ok((uri.clone(), report(Source::Reused, &uri, media_type)));
        }
    }

    // Ctrl-C stops the builder (its process goes with the future) and removes the credential
    // folder, rather than ending this process with the folder left behind.
    let interrupted = |signal: &str| {
        Failure::interrupted(format!(
            "interrupted ({signal}) while building or pushing the image: no stack was touched"
        ))
        .hint("run `replatform up` again: it starts from the image")
    };
    let signal = crate::signal::signalled();
    tokio::pin!(signal);
    let done = tokio::select! {
        done = build_and_push(config, config_dir, supervisor.as_ref(), &registry, &host, &cred, &tag, printer) => done,
        signal = &mut signal => return Err(interrupted(signal)),
    };
    let (digest, media_type) = match done {
        Ok(d) => d,
        Err(f) => {
            // A terminal's Ctrl-C reaches the builder's process group too: a child that died of
            // the same signal can end before this process sees it. The signal, when it came, is
            // the reason, not the child's failure.
            if let Ok(signal) =
                tokio::time::timeout(std::time::Duration::from_millis(500), &mut signal).await
            {
                return Err(interrupted(signal));
            }
            return Err(f);
        }
    };
    let uri = by_digest(&repo.uri, &digest)?;
    Ok((uri.clone(), report(Source::Built, &uri, media_type)))
}

/// Builds the image of `tag`, logs in with the credential on stdin, pushes it, and reads back
/// the registry's digest and media type of what was pushed.
#[allow(clippy::too_many_arguments)]
async fn build_and_push(
    config: &Config,
    config_dir: &Path,
    supervisor: Option<&bridge::Supervisor>,
    registry: &Registry,
    host: &str,
    cred: &Credential,
    tag: &str,
    printer: &Printer,
) -> Result<(String, String), Failure> {
    let name = config.repository();
    let builder = config.image.builder;
    let image = format!("{host}/{name}:{tag}");
    let lines = progress::lines(printer.quiet || printer.is_json());
    let plain_http = pure::is_loopback(host);

    let started = Instant::now();
    lines.start(&format!(
        "image: building {image} with {}",
        pure::program(builder)
    ));
    build(
        config,
        config_dir,
        supervisor,
        &image,
        lines.as_ref(),
        "fix the Dockerfile or the files it copies; the builder's lines above say what failed",
    )
    .await?;
    lines.finish(&format!(
        "image: built {name}:{tag} in {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    // The credential lives in a folder of this run's own, removed when it ends.
    let auth = tempfile::Builder::new()
        .prefix("replatform-auth-")
        .tempdir()
        .map_err(|e| Failure::new(format!("cannot make a folder for the registry login: {e}")))?;
    let auth_dir = auth.path().to_string_lossy().into_owned();
    let started = Instant::now();
    lines.start(&format!("image: pushing to {host}"));
    let login = pure::with_auth_dir(
        pure::login(builder, host, &cred.user, plain_http),
        builder,
        &auth_dir,
    );
    run(builder, &login, Some(&cred.password), lines.as_ref(), &format!("logging in to `{host}`"), "the ECR credential was refused: when `image.registry` is set, that registry must accept ECR's credential").await?;
    let push = pure::with_auth_dir(pure::push(builder, &image, plain_http), builder, &auth_dir);
    run(
        builder,
        &push,
        None,
        lines.as_ref(),
        &format!("pushing to `{host}`"),
        "check that the registry is reachable and that the credential may push to the repository",
    )
    .await?;
    drop(auth);

    let m = registry
        .manifest(name, tag)
        .await
        .map_err(registry_failure)?
        .ok_or_else(|| Failure::new(format!("`{image}` was pushed, but the registry has no such tag")).hint("check `image.registry`: the push and the registry's API must reach the same registry"))?;
    let media_type = single_platform(&m)?;
    lines.finish(&format!(
        "image: pushed {name}:{tag} in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        m.digest
    ));
    Ok((m.digest, media_type))
}

/// `diff`: the image of the current inputs when the registry has it; changes nothing.
pub async fn look_up(
    aws: &Aws,
    config: &Config,
    config_dir: &Path,
) -> Result<(Option<ImageRef>, Report), Failure> {
    let tag = source_tag(config, config_dir)?;
    let name = config.repository();
    let ecr = aws.ecr();
    let not_built = |registry: Option<String>| Report {
        source: Source::NotBuilt,
        uri: None,
        tag: Some(tag.clone()),
        registry,
        media_type: None,
    };
    let Some(repository_uri) = ecr.find(name).await? else {
        return Ok((None, not_built(None)));
    };
    let cred = ecr.credential().await?;
    let (host, registry) = connect_registry(config, &cred)?;
    match registry
        .manifest(name, &tag)
        .await
        .map_err(registry_failure)?
    {
        Some(m) => {
            let media_type = single_platform(&m)?;
            let uri = by_digest(&repository_uri, &m.digest)?;
            Ok((
                Some(uri.clone()),
                Report {
                    source: Source::Reused,
                    uri: Some(uri.to_string()),
                    tag: Some(tag),
                    registry: Some(host),
                    media_type: Some(media_type),
                },
            ))
        }
        None => Ok((None, not_built(Some(host)))),
    }
}

/// `local`: the image of the current inputs in the local engine, built when the engine does
/// not hold it yet. Nothing is pushed. Returns the local name, `replatform-local/<repo>:<tag>`.
pub async fn build_local(
    config: &Config,
    config_dir: &Path,
    printer: &Printer,
) -> Result<String, Failure> {
    let supervisor = supervisor(config)?;
    let tag = tag_with(config, config_dir, supervisor.as_ref())?;
    let image = format!("replatform-local/{}:{tag}", config.repository());
    let builder = config.image.builder;
    let program = pure::program(builder);
    if runner::succeeds(program, &["image", "inspect", &image]).await {
        printer.info(format!("image: {image} is already built: nothing to build"));
        return Ok(image);
    }
    let lines = progress::lines(printer.quiet || printer.is_json());
    lines.start(&format!("building {image}"));
    build(
        config,
        config_dir,
        supervisor.as_ref(),
        &image,
        lines.as_ref(),
        "fix the Dockerfile or the build context (its last lines are above)",
    )
    .await?;
    lines.finish(&format!("image: built {image}"));
    Ok(image)
}

/// Builds `image` from the config's Dockerfile; under the bridge the Dockerfile builds the
/// worker's image and the supervisor's layer goes on top (docs/bridge.md). `up` and `local`
/// build the same way.
async fn build(
    config: &Config,
    config_dir: &Path,
    supervisor: Option<&bridge::Supervisor>,
    image: &str,
    lines: &dyn progress::Lines,
    fix: &str,
) -> Result<(), Failure> {
    let builder = config.image.builder;
    let built = match supervisor {
        Some(_) => pure::worker_image(image),
        None => image.to_string(),
    };
    let (context, dockerfile) = paths(config, config_dir);
    let build_args = build_args(config);
    let spec = BuildSpec {
        context: &context.to_string_lossy(),
        dockerfile: &dockerfile.to_string_lossy(),
        image: &built,
        platform: config.image.platform,
        build_args: &build_args,
    };
    let buildx =
        builder == Builder::Docker && runner::succeeds("docker", &["buildx", "version"]).await;
    run(
        builder,
        &pure::build(builder, &spec, buildx),
        None,
        lines,
        "building the image",
        fix,
    )
    .await?;
    if let Some(s) = supervisor {
        bridge::add_layer(
            builder,
            buildx,
            config.image.platform,
            s,
            &built,
            image,
            lines,
        )
        .await?;
    }
    Ok(())
}

/// One builder step; its failure says what was being done, the builder's last lines, and
/// what to do.
async fn run(
    builder: Builder,
    cmd: &pure::Command,
    stdin: Option<&crate::aws::ecr::Secret>,
    lines: &dyn progress::Lines,
    doing: &str,
    fix: &str,
) -> Result<(), Failure> {
    match runner::run(cmd, stdin, lines).await {
        Ok(_) => Ok(()),
        Err(RunError::Missing { program }) => Err(Failure::new(format!("{doing}: `{program}` is not installed (or not on PATH); `image.builder` is `{program}`"))
            .hint(format!("{}; or pass --image-uri to deploy an image already pushed", pure::install_hint(builder)))),
        Err(RunError::Failed { command, status, last_lines }) => {
            let tail = last_lines.iter().rev().take(10).rev().map(|l| format!("\n  | {l}")).collect::<String>();
            Err(Failure::new(format!("{doing}: `{command}` failed ({status}); its last lines:{tail}")).hint(fix))
        }
        Err(e @ RunError::Io { .. }) => Err(Failure::new(format!("{doing}: {e}"))),
    }
}

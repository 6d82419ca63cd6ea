//! `local`: the image (built here, or `--image-uri`) run under each platform's contract against
//! the platform's queue (or `--queue-url`), with the credentials passed by name.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::deployed::facts;
use super::workspace::{connect, load, platform_stacks, Workspace};
use super::Only;
use crate::core::load::{Pace, SizeRange};
use crate::core::local as pure;
use crate::core::side::Side;
use crate::error::Failure;
use crate::experiment::load::{self as sender, Bodies, Plan, Target};
use crate::local::{self as run, Feed, PlatformReport};
use crate::signal::Stop;
use crate::ui::printer::Printer;

/// What to run, and against which queue.
#[derive(Clone, Debug)]
pub struct Spec {
    pub only: Option<Only>,
    /// Run this image instead of building one.
    pub image_uri: Option<String>,
    /// The queue to read instead of the deployed stack's.
    pub queue_url: Option<String>,
    /// Messages to put in the queue first.
    pub messages: u64,
    /// Invoke the function once with this event (a JSON file) instead of playing the trigger.
    pub event: Option<PathBuf>,
    pub timeout: Duration,
}

/// The image that ran, and how each platform did.
#[derive(Serialize)]
pub struct Run {
    pub image: String,
    pub platforms: Vec<PlatformReport>,
    /// SIGINT or SIGTERM stopped it after these reports: what was stopped, where the messages are.
    #[serde(skip)]
    pub interrupted: Option<Failure>,
}

/// Runs the image as each platform would; `on_report` sees each platform's report as it ends.
/// `stop` (SIGINT or SIGTERM) drops the build with its builder, or stops and removes the
/// running container and the Runtime API emulator; the messages stay in the queue.
pub async fn local(
    ws: &Workspace,
    spec: Spec,
    printer: &Printer,
    on_report: &dyn Fn(&PlatformReport),
    stop: &Stop,
) -> Result<Run, Failure> {
    let Spec {
        only,
        image_uri,
        queue_url,
        messages,
        event,
        timeout,
    } = spec;
    let loaded = load(&ws.file, printer).map_err(|(f, _)| f)?;
    let config = &loaded.config;
    let config_dir = ws.config_dir().to_path_buf();
    let engine = pure::engine(config.image.builder).map_err(|e| {
        Failure::new(e).hint("`image.builder: docker` (or podman, finch) runs the containers")
    })?;
    let event =
        match &event {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                Failure::new(format!("cannot read --event `{}`: {e}", path.display()))
            })?),
            None => None,
        };
    if let Some(e) = &event {
        serde_json::from_slice::<serde_json::Value>(e).map_err(|err| {
            Failure::new(format!("--event is not JSON: {err}"))
                .hint("an event is one JSON document, e.g. an SQS event's {\"Records\": [...]}")
        })?;
    }
    let image = match &image_uri {
        Some(uri) => uri.clone(),
        // A signal drops the build, and with it the builder's process.
        None => stop.run(crate::image::build_local(config, &config_dir, printer)).await.map_err(|signal| {
            Failure::interrupted(format!("interrupted ({signal}) while building the image: the builder was stopped; no container ran, nothing was sent")).hint("run `replatform local` again: it starts from the image")
        })??,
    };
    let aws = connect(ws, config.region.as_deref(), printer).await?;
    let region = aws.region().to_string();
    let services = aws.sqs();
    let cfn = aws.cfn();

    // The credentials the containers use, passed by name: their values never go in arguments.
    let mut secrets: Vec<(String, String)> = Vec::new();
    if let Some(c) = aws.credentials().await {
        secrets.push(("AWS_ACCESS_KEY_ID".into(), c.access_key_id));
        secrets.push(("AWS_SECRET_ACCESS_KEY".into(), c.secret_access_key));
        if let Some(t) = c.session_token {
            secrets.push(("AWS_SESSION_TOKEN".into(), t));
        }
    }
    let mut pass: Vec<&str> = secrets.iter().map(|(k, _)| k.as_str()).collect();
    if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
        pass.push("AWS_ENDPOINT_URL");
    }

    let (_, names) = platform_stacks(ws, only)?;
    let show: Arc<dyn Fn(&str) + Send + Sync> = if printer.quiet || printer.is_json() {
        Arc::new(|_: &str| {})
    } else {
        Arc::new(|line: &str| {
            use std::io::Write;
            let _ = writeln!(anstream::stderr(), "  | {line}");
        })
    };
    let mut reports = Vec::new();
    for &(kind, ref stack) in &names {
        let queue = match &queue_url {
            Some(u) => u.clone(),
            None => {
                let Some(s) = cfn.describe_stack(stack).await? else {
                    return Err(Failure::new(format!(
                        "no queue for {kind}: stack `{stack}` is not deployed"
                    ))
                    .hint("pass --queue-url URL, or deploy with `replatform up`"));
                };
                facts(&cfn, stack, &s.outputs)
                    .await?
                    .get("QueueUrl")
                    .cloned()
                    .ok_or_else(|| {
                        Failure::new(format!("stack `{stack}` has no queue"))
                            .hint("pass --queue-url URL")
                    })?
            }
        };
        if messages > 0 {
            let plan = Plan {
                pace: Pace::Burst { count: messages },
                bodies: Bodies::Generated(SizeRange::default()),
                concurrency: 8,
                seed: fastrand::u64(..),
            };
            let targets = [Target::new(kind, &queue)];
            let sent = sender::run(&services, &targets, &plan, stop.flag()).await;
            if let Some(signal) = stop.signal() {
                return Err(interrupted(
                    signal,
                    &services,
                    &queue,
                    None,
                    &format!("{} of {messages} messages were put in the queue", sent.sent),
                )
                .await);
            }
            if sent.failed > 0 {
                let why = sent
                    .queues
                    .iter()
                    .flat_map(|q| q.not_sent.iter())
                    .map(|n| format!("{}: {}", n.code, n.message))
                    .next()
                    .unwrap_or_default();
                return Err(Failure::new(format!(
                    "{} of {messages} messages could not be put in {queue}: {why}",
                    sent.failed
                ))
                .hint("check the queue's URL and the permissions to send to it"));
            }
            printer.info(format!("{kind}: put {messages} messages in {queue}"));
        }
        let name = format!(
            "replatform-local-{}-{kind}-{:06x}",
            config.service,
            fastrand::u32(..0xffffff)
        );
        printer.info(format!("{kind}: running {image} as {} does", kind.title()));
        let with_secrets = |mut env: Vec<(String, String)>| -> Vec<(String, String)> {
            env.extend(secrets.iter().cloned());
            env
        };
        let report = if kind == Side::Lambda {
            // Under the bridge the supervisor serves the queue whose records the trigger hands
            // it: by the ARN the queue itself reports, as the played events name it.
            let bridge_env = if config.lambda.trigger.is_bridge() {
                let arn = match services.queue(&queue).await {
                    Ok(Some(q)) => q.arn,
                    _ => pure::queue_arn(&queue, &region),
                };
                pure::bridge_env(config, &queue, &arn)
            } else {
                Vec::new()
            };
            let mut pass = pass.clone();
            if config.lambda.trigger.is_bridge()
                && std::env::var_os("AWS_ENDPOINT_URL_SQS").is_some()
            {
                // Where the supervisor forwards the calls it does not answer itself.
                pass.push("AWS_ENDPOINT_URL_SQS");
            }
            let cmd_for = |api: &str| {
                let mut env = pure::lambda_env(config, &region, api, &queue);
                env.extend(bridge_env.iter().cloned());
                let mut cmd = pure::lambda_run(engine, config, &image, &name, env, &pass);
                cmd.env = with_secrets(cmd.env);
                cmd
            };
            let feed = event.clone().map_or(Feed::Trigger, Feed::Event);
            run::lambda(
                &services,
                config,
                cmd_for,
                &name,
                &queue,
                &region,
                feed,
                timeout,
                show.clone(),
                stop,
            )
            .await
        } else {
            let mut cmd = pure::ecs_run(
                engine,
                config,
                &image,
                &name,
                pure::ecs_env(config, &region, &queue),
                &pass,
            );
            cmd.env = with_secrets(cmd.env);
            run::ecs(&services, &cmd, &name, &queue, timeout, show.clone(), stop).await
        };
        on_report(&report);
        reports.push(report);
        if let Some(signal) = stop.signal() {
            let failure = interrupted(signal, &services, &queue, Some((kind, &name)), "").await;
            return Ok(Run {
                image,
                platforms: reports,
                interrupted: Some(failure),
            });
        }
    }
    Ok(Run {
        image,
        platforms: reports,
        interrupted: None,
    })
}

/// After SIGINT or SIGTERM: what was stopped, and where the messages are. `local` runs nothing
/// in AWS; a message in flight comes back to the queue when its visibility timeout ends.
async fn interrupted(
    signal: &str,
    services: &crate::aws::sqs::Sqs,
    queue: &str,
    container: Option<(Side, &str)>,
    sent: &str,
) -> Failure {
    let stopped = match container {
        Some((Side::Lambda, name)) => format!(
            "the container `{name}` was stopped and removed, and the Runtime API emulator stopped"
        ),
        Some((_, name)) => format!("the container `{name}` was stopped and removed"),
        None => "no container was started".to_string(),
    };
    let messages = |n: u64| format!("{n} message{}", if n == 1 { "" } else { "s" });
    let held = match services.queue(queue).await.map(|q| q.map(|q| q.depth)) {
        Ok(Some(d)) if d.in_flight > 0 => {
            format!("the queue `{queue}` holds {} ({} visible, {} in flight: those come back when their visibility timeout ends)", messages(d.total()), d.visible, d.in_flight)
        }
        Ok(Some(d)) => format!("the queue `{queue}` holds {}", messages(d.total())),
        Ok(None) => format!("the queue `{queue}` is gone"),
        Err(e) => format!("the depth of the queue `{queue}` is unknown ({e})"),
    };
    let sent = if sent.is_empty() {
        String::new()
    } else {
        format!("{sent}; ")
    };
    Failure::interrupted(format!("interrupted ({signal}): {stopped}; nothing of ours runs in AWS; {sent}{held}"))
        .hint("`replatform local` again goes on with what is in the queue; `aws sqs purge-queue` empties it")
}

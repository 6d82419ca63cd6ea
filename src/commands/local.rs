//! `replatform local`: builds the image (or takes `--image-uri`) and runs it here under each
//! platform's contract against the queue, then says per platform what happened and whether it
//! passed.

use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;

use super::{connect, facts, Failure, Global, Outcome};
use crate::cli::LocalArgs;
use crate::core::load::{Pace, SizeRange};
use crate::core::local as pure;
use crate::experiment::load::{self as sender, Bodies, Plan, Target};
use crate::local::{self as run, Feed, PlatformReport};
use crate::signal::Stop;
use crate::ui::printer::Printer;

#[derive(Serialize)]
struct Doc<'a> {
    image: &'a str,
    platforms: &'a [PlatformReport],
}

pub async fn run(args: LocalArgs, g: &Global, printer: &Printer) -> Outcome {
    let LocalArgs { only, image_uri, queue_url, messages, event, timeout } = args;
    let stop = Stop::on_signals();
    let loaded = super::load(&g.file, printer).map_err(|(f, _)| f)?;
    let config = &loaded.config;
    let config_dir = g.file.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let engine = pure::engine(config.image.builder).map_err(|e| Failure::new(e).hint("`image.builder: docker` (or podman, finch) runs the containers"))?;
    let event = match &event {
        Some(path) => Some(std::fs::read(path).map_err(|e| Failure::new(format!("cannot read --event `{}`: {e}", path.display())))?),
        None => None,
    };
    if let Some(e) = &event {
        serde_json::from_slice::<serde_json::Value>(e).map_err(|err| Failure::new(format!("--event is not JSON: {err}")).hint("an event is one JSON document, e.g. an SQS event's {\"Records\": [...]}"))?;
    }
    let image = match &image_uri {
        Some(uri) => uri.clone(),
        // A signal drops the build, and with it the builder's process.
        None => stop.run(crate::image::build_local(config, &config_dir, printer)).await.map_err(|signal| {
            Failure::interrupted(format!("interrupted ({signal}) while building the image: the builder was stopped; no container ran, nothing was sent")).hint("run `replatform local` again: it starts from the image")
        })??,
    };
    let aws = connect(g, config.region.as_deref(), printer).await?;
    let region = aws.region().to_string();
    let services = aws.services();
    let cfn = aws.cfn();

    // The credentials the containers use, passed by name: their values never go in arguments.
    let mut secrets: Vec<(String, String)> = Vec::new();
    if let Some(provider) = aws.config.credentials_provider() {
        use aws_credential_types::provider::ProvideCredentials;
        if let Ok(c) = provider.provide_credentials().await {
            secrets.push(("AWS_ACCESS_KEY_ID".into(), c.access_key_id().to_string()));
            secrets.push(("AWS_SECRET_ACCESS_KEY".into(), c.secret_access_key().to_string()));
            if let Some(t) = c.session_token() {
                secrets.push(("AWS_SESSION_TOKEN".into(), t.to_string()));
            }
        }
    }
    let mut pass: Vec<&str> = secrets.iter().map(|(k, _)| k.as_str()).collect();
    if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
        pass.push("AWS_ENDPOINT_URL");
    }

    let (_, names) = super::stack_names(g, only)?;
    let show: Arc<dyn Fn(&str) + Send + Sync> = if printer.quiet || printer.is_json() {
        Arc::new(|_: &str| {})
    } else {
        Arc::new(|line: &str| {
            use std::io::Write;
            let _ = writeln!(anstream::stderr(), "  | {line}");
        })
    };
    let mut reports = Vec::new();
    for (kind, stack) in &names {
        let queue = match &queue_url {
            Some(u) => u.clone(),
            None => {
                let Some(s) = cfn.describe_stack(stack).await? else {
                    return Err(Failure::new(format!("no queue for {kind}: stack `{stack}` is not deployed")).hint("pass --queue-url URL, or deploy with `replatform up`"));
                };
                facts(&cfn, stack, &s.outputs).await?.get("QueueUrl").cloned().ok_or_else(|| Failure::new(format!("stack `{stack}` has no queue")).hint("pass --queue-url URL"))?
            }
        };
        if messages > 0 {
            let plan = Plan { pace: Pace::Burst { count: messages }, bodies: Bodies::Generated(SizeRange::default()), concurrency: 8, seed: fastrand::u64(..) };
            let targets = [Target::new(kind, &queue)];
            let sent = sender::run(&services, &targets, &plan, stop.flag()).await;
            if let Some(signal) = stop.signal() {
                return Err(interrupted(signal, &services, &queue, None, &format!("{} of {messages} messages were put in the queue", sent.sent)).await);
            }
            if sent.failed > 0 {
                let why = sent.queues.iter().flat_map(|q| q.not_sent.iter()).map(|n| format!("{}: {}", n.code, n.message)).next().unwrap_or_default();
                return Err(Failure::new(format!("{} of {messages} messages could not be put in {queue}: {why}", sent.failed)).hint("check the queue's URL and the permissions to send to it"));
            }
            printer.info(format!("{kind}: put {messages} messages in {queue}"));
        }
        let name = format!("replatform-local-{}-{kind}-{:06x}", config.service, fastrand::u32(..0xffffff));
        printer.info(format!("{kind}: running {image} as {} does", if kind == "lambda" { "Lambda" } else { "ECS" }));
        let with_secrets = |mut env: Vec<(String, String)>| -> Vec<(String, String)> {
            env.extend(secrets.iter().cloned());
            env
        };
        let report = if kind == "lambda" {
            let cmd_for = |api: &str| {
                let mut cmd = pure::lambda_run(engine, config, &image, &name, pure::lambda_env(config, &region, api, &queue), &pass);
                cmd.env = with_secrets(cmd.env);
                cmd
            };
            let feed = event.clone().map_or(Feed::Trigger, Feed::Event);
            run::lambda(&services, config, cmd_for, &name, &queue, &region, feed, timeout, show.clone(), &stop).await
        } else {
            let mut cmd = pure::ecs_run(engine, config, &image, &name, pure::ecs_env(config, &region, &queue), &pass);
            cmd.env = with_secrets(cmd.env);
            run::ecs(&services, &cmd, &name, &queue, timeout, show.clone(), &stop).await
        };
        if printer.is_json() {
            // The document says it all; the problem still goes to stderr, as errors do.
            if let Some(p) = report.problem.as_ref().filter(|_| report.verdict != "interrupted") {
                printer.error(&format!("{}: {p}", report.platform), report.hint.as_deref());
            }
        } else {
            print(printer, &report);
        }
        reports.push(report);
        if let Some(signal) = stop.signal() {
            if printer.is_json() {
                printer.json(&Doc { image: &image, platforms: &reports }).map_err(Failure::output)?;
            }
            return Err(interrupted(signal, &services, &queue, Some((kind, &name)), "").await);
        }
    }
    if printer.is_json() {
        printer.json(&Doc { image: &image, platforms: &reports }).map_err(Failure::output)?;
    }
    let failed: Vec<&str> = reports.iter().filter(|r| r.verdict != "pass").map(|r| r.platform.as_str()).collect();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(Failure::new(format!("the image did not pass on {}", failed.join(" and "))).hint("each platform's problem and the field to fix are above"))
}

/// After SIGINT or SIGTERM: what was stopped, and where the messages are. `local` runs nothing
/// in AWS; a message in flight comes back to the queue when its visibility timeout ends.
async fn interrupted(signal: &str, services: &crate::aws::services::Services, queue: &str, container: Option<(&str, &str)>, sent: &str) -> Failure {
    let stopped = match container {
        Some(("lambda", name)) => format!("the container `{name}` was stopped and removed, and the Runtime API emulator stopped"),
        Some((_, name)) => format!("the container `{name}` was stopped and removed"),
        None => "no container was started".to_string(),
    };
    let messages = |n: u64| format!("{n} message{}", if n == 1 { "" } else { "s" });
    let held = match services.queue_depth(queue).await {
        Ok(Some(d)) if d.in_flight > 0 => {
            format!("the queue `{queue}` holds {} ({} visible, {} in flight: those come back when their visibility timeout ends)", messages(d.total()), d.visible, d.in_flight)
        }
        Ok(Some(d)) => format!("the queue `{queue}` holds {}", messages(d.total())),
        Ok(None) => format!("the queue `{queue}` is gone"),
        Err(e) => format!("the depth of the queue `{queue}` is unknown ({e})"),
    };
    let sent = if sent.is_empty() { String::new() } else { format!("{sent}; ") };
    Failure::interrupted(format!("interrupted ({signal}): {stopped}; nothing of ours runs in AWS; {sent}{held}"))
        .hint("`replatform local` again goes on with what is in the queue; `aws sqs purge-queue` empties it")
}

fn print(printer: &Printer, r: &PlatformReport) {
    let mut lines = vec![format!("{}: {}", r.platform, r.verdict.to_uppercase())];
    if let Some(ms) = r.init_ms {
        lines.push(format!("  init: {ms} ms"));
    }
    for i in &r.invocations {
        let what = match (&i.error, i.result) {
            (Some(e), _) => format!("{}: {}", e.error_type, e.error_message),
            (None, "timeout") => "timed out".to_string(),
            _ if i.messages > 0 => format!("{} message{}, {} failed", i.messages, if i.messages == 1 { "" } else { "s" }, i.failed_items),
            _ => "ok".to_string(),
        };
        lines.push(format!("  invocation {}: {} ms, {}: {what}", i.request_id, i.duration_ms, i.result));
    }
    lines.push(format!("  messages: {} done, {} failed, {} left in the queue", r.messages_done, r.messages_failed, r.messages_left.map_or("?".into(), |n| n.to_string())));
    if let Some(code) = r.exit_code {
        lines.push(format!("  exit code: {code}"));
    }
    for l in lines {
        printer.info(l);
    }
    // An interruption is the command's own error, said once after this.
    if let Some(p) = r.problem.as_ref().filter(|_| r.verdict != "interrupted") {
        printer.error(&format!("{}: {p}", r.platform), r.hint.as_deref());
    }
}

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
use crate::ui::printer::Printer;

#[derive(Serialize)]
struct Doc<'a> {
    image: &'a str,
    platforms: &'a [PlatformReport],
}

pub async fn run(args: LocalArgs, g: &Global, printer: &Printer) -> Outcome {
    let LocalArgs { only, image_uri, queue_url, messages, event, timeout } = args;
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
        None => crate::image::build_local(config, &config_dir, printer).await?,
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
            let (_stop, stopped) = tokio::sync::watch::channel(false);
            let sent = sender::run(&services, &targets, &plan, stopped).await;
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
            run::lambda(&services, config, cmd_for, &name, &queue, &region, feed, timeout, show.clone()).await
        } else {
            let mut cmd = pure::ecs_run(engine, config, &image, &name, pure::ecs_env(config, &region, &queue), &pass);
            cmd.env = with_secrets(cmd.env);
            run::ecs(&services, &cmd, &name, &queue, timeout, show.clone()).await
        };
        if printer.is_json() {
            // The document says it all; the problem still goes to stderr, as errors do.
            if let Some(p) = &report.problem {
                printer.error(&format!("{}: {p}", report.platform), report.hint.as_deref());
            }
        } else {
            print(printer, &report);
        }
        reports.push(report);
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
    if let Some(p) = &r.problem {
        printer.error(&format!("{}: {p}", r.platform), r.hint.as_deref());
    }
}

//! `replatform local`: the image run here under each platform's contract, against the queue.
//! Lambda: the container as Lambda starts it, talking to our Runtime API emulator, while we play
//! the trigger (the SQS event source mapping, or the schedule). ECS: the container with the
//! task's command, until the queue is drained. A [`Stop`] (SIGINT or SIGTERM) ends either run:
//! the container is stopped and removed, the emulator stops, the messages stay in the queue.

pub mod runtime_api;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::aws::sqs::Sqs;
use crate::core::config::{Config, Trigger};
use crate::core::image::Command;
use crate::core::local::{self as pure, Record};
use crate::core::outcome::{InvocationResult, Verdict};
use crate::core::side::Side;
use crate::signal::Stop;
use runtime_api::{Outcome, RuntimeApi, RuntimeError};

/// One invocation, as `local` reports it.
#[derive(Clone, Debug, Serialize)]
pub struct InvocationReport {
    pub request_id: String,
    pub duration_ms: u64,
    pub result: InvocationResult,
    pub messages: usize,
    pub failed_items: usize,
    pub error: Option<RuntimeError>,
}

/// One platform's run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PlatformReport {
    pub platform: Side,
    pub queue_url: String,
    /// SIGINT or SIGTERM interrupts: `problem` says which.
    pub verdict: Verdict,
    /// From the container's start to the runtime's first request (Lambda).
    pub init_ms: Option<u64>,
    pub invocations: Vec<InvocationReport>,
    pub messages_done: u64,
    pub messages_failed: u64,
    /// Messages still in the queue at the end (visible, in flight, delayed).
    pub messages_left: Option<u64>,
    pub exit_code: Option<i32>,
    /// What went wrong, and which config field to look at.
    pub problem: Option<String>,
    pub hint: Option<String>,
    /// The container's last lines.
    pub output: Vec<String>,
}

/// A running container. [`Container::remove`] removes it; on a path that did not (an early
/// return, a panic, a dropped future), dropping it removes it, blocking: Drop cannot await.
pub struct Container {
    engine: String,
    pub name: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// The tasks reading stdout and stderr: they end at end of file, after the process.
    readers: Vec<tokio::task::JoinHandle<()>>,
    removed: bool,
}

impl Drop for Container {
    fn drop(&mut self) {
        if !self.removed {
            let _ = std::process::Command::new(&self.engine)
                .args(["rm", "--force", &self.name])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// Lines kept of what the container printed.
const KEEP: usize = 200;

impl Container {
    /// Starts it; `show` sees each line it prints.
    pub fn start(
        cmd: &Command,
        name: &str,
        show: Arc<dyn Fn(&str) + Send + Sync>,
    ) -> std::io::Result<Self> {
        let mut child = tokio::process::Command::new(&cmd.program)
            .args(&cmd.args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut readers = Vec::new();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (lines, show) = (lines.clone(), show.clone());
            readers.push(tokio::spawn(async move {
                let mut reader = BufReader::new(stream).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    show(&line);
                    let mut l = lines.lock().unwrap_or_else(|p| p.into_inner());
                    l.push(line);
                    if l.len() > KEEP {
                        l.remove(0);
                    }
                }
            }));
        }
        Ok(Self {
            engine: cmd.program.clone(),
            name: name.to_string(),
            child,
            lines,
            readers,
            removed: false,
        })
    }

    pub fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Resolves when the container's process ends, with its exit code, and what it printed
    /// last has been read: the engine's own error (a missing entry point) is often the last
    /// line, and [`Container::output`] is read for the hint right after.
    pub async fn exited(&mut self) -> Option<i32> {
        let code = self.child.wait().await.ok().and_then(|s| s.code());
        // Taken, so a second call does not poll a finished task. A process the container left
        // behind may hold a pipe open: wait a little only.
        for reader in std::mem::take(&mut self.readers) {
            let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
        }
        code
    }

    /// SIGTERM, then SIGKILL after `grace`, as ECS stops a task; the exit code.
    pub async fn stop(&mut self, grace: Duration) -> Option<i32> {
        let _ = tokio::process::Command::new(&self.engine)
            .args([
                "stop",
                "--time",
                &grace.as_secs().max(1).to_string(),
                &self.name,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await;
        tokio::time::timeout(grace + Duration::from_secs(10), self.exited())
            .await
            .ok()
            .flatten()
    }

    /// Removes the container (`rm --force`: stopped or not, and its `--rm` may have done it
    /// already); Drop tries again if the engine did not answer within 30 s.
    pub async fn remove(&mut self) {
        let rm = tokio::process::Command::new(&self.engine)
            .args(["rm", "--force", &self.name])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .status();
        self.removed = tokio::time::timeout(Duration::from_secs(30), rm)
            .await
            .is_ok_and(|s| s.is_ok());
    }
}

fn last_lines(lines: &[String], n: usize) -> Vec<String> {
    lines.iter().rev().take(n).rev().cloned().collect()
}

/// What Lambda would be handed: the trigger's events, or the user's own (`--event`).
pub enum Feed {
    Trigger,
    Event(Vec<u8>),
}

/// Runs the function's container against `queue_url` and plays its trigger.
#[allow(clippy::too_many_arguments)]
pub async fn lambda(
    services: &Sqs,
    config: &Config,
    cmd_for: impl Fn(&str) -> Command,
    name: &str,
    queue_url: &str,
    region: &str,
    feed: Feed,
    limit: Duration,
    show: Arc<dyn Fn(&str) + Send + Sync>,
    stop: &Stop,
) -> PlatformReport {
    let mut report = PlatformReport {
        platform: Side::Lambda,
        queue_url: queue_url.into(),
        verdict: Verdict::Fail,
        ..Default::default()
    };
    let account = queue_url
        .rsplit('/')
        .nth(1)
        .unwrap_or("123456789012")
        .to_string();
    let arn = format!(
        "arn:aws:lambda:{region}:{account}:function:{}",
        config.service
    );
    let api = match RuntimeApi::start(&arn).await {
        Ok(a) => a,
        Err(e) => {
            report.problem = Some(format!("cannot serve the Runtime API on 127.0.0.1: {e}"));
            return report;
        }
    };
    let cmd = cmd_for(&api.addr.to_string());
    let mut container = match Container::start(&cmd, name, show) {
        Ok(c) => c,
        Err(e) => {
            report.problem = Some(format!("cannot start `{}`: {e}", cmd.program));
            return report;
        }
    };
    let timeout = Duration::from_secs(config.lambda.timeout.0);
    let started = Instant::now();
    let before = services
        .queue(queue_url)
        .await
        .map(|q| q.map(|q| q.depth))
        .ok()
        .flatten()
        .map(|d| d.total());
    let queue_arn = services
        .queue(queue_url)
        .await
        .ok()
        .flatten()
        .map(|q| q.arn)
        .unwrap_or_else(|| pure::queue_arn(queue_url, region));
    let mut problem: Option<(String, Option<String>)> = None;
    let mut rounds = 0;
    loop {
        if stop.signal().is_some() {
            break;
        }
        if started.elapsed() > limit {
            problem = Some((
                format!(
                    "the queue was not drained within {}",
                    humantime::format_duration(limit)
                ),
                Some("a longer --timeout waits more".into()),
            ));
            break;
        }
        rounds += 1;
        // The batch and the event.
        let (event, batch): (Vec<u8>, Vec<Record>) = match &feed {
            Feed::Event(e) => (e.clone(), Vec::new()),
            Feed::Trigger => match &config.lambda.trigger {
                Trigger::Sqs(t) | Trigger::Bridge(t) => {
                    let records = match services
                        .receive(
                            queue_url,
                            t.batch_size.min(10) as i32,
                            1,
                            pure::local_queue(config).map_or(30, |e| e.queue.visibility_timeout.0)
                                as i32,
                        )
                        .await
                    {
                        Ok(r) => r,
                        Err(e) => {
                            problem = Some((e.to_string(), e.hint()));
                            break;
                        }
                    };
                    if records.is_empty() {
                        break;
                    }
                    (
                        pure::sqs_event(&records, &queue_arn, region)
                            .to_string()
                            .into_bytes(),
                        records,
                    )
                }
                Trigger::Schedule(_) => {
                    let now =
                        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
                    let rule = format!(
                        "arn:aws:events:{region}:{account}:rule/{}-schedule",
                        config.service
                    );
                    (
                        pure::scheduled_event(
                            &rule,
                            region,
                            &account,
                            &now,
                            &format!("local-{rounds}"),
                        )
                        .to_string()
                        .into_bytes(),
                        Vec::new(),
                    )
                }
            },
        };
        let invoked = tokio::select! {
            i = api.invoke(event, timeout) => Some(i),
            _ = api.init_failed() => None,
            code = container.exited() => {
                report.exit_code = code;
                None
            }
            // The batch in hand stays in flight: it comes back after the visibility timeout.
            _ = stop.signalled() => break,
        };
        let Some(invoked) = invoked else {
            // Init failed, or the process ended without asking for work.
            let output = container.output();
            match api.init_error() {
                Some(e) => {
                    let hint = pure::hint_for(&e.error_type, &e.error_message);
                    problem = Some((
                        format!("init failed: {}: {}", e.error_type, e.error_message),
                        hint,
                    ));
                }
                None => {
                    let text = output.join("\n");
                    let hint = pure::start_hint(&text).or_else(|| pure::hint_for("", &text));
                    problem = Some((format!("the function's process ended before it asked for an event (exit code {})", report.exit_code.map_or("unknown".into(), |c| c.to_string())), hint));
                }
            }
            break;
        };
        let mut inv = InvocationReport {
            request_id: invoked.request_id.clone(),
            duration_ms: invoked.duration.as_millis() as u64,
            result: InvocationResult::Ok,
            messages: batch.len(),
            failed_items: 0,
            error: None,
        };
        match invoked.outcome {
            Outcome::Response(body) => {
                let failed = pure::batch_failures(&body, &batch);
                inv.failed_items = failed.len();
                // As the event source mapping does: delete what succeeded, leave what failed.
                let done: Vec<String> = batch
                    .iter()
                    .filter(|r| !failed.contains(&r.message_id))
                    .map(|r| r.receipt_handle.clone())
                    .collect();
                if !done.is_empty() {
                    if let Err(e) = services.delete_received(queue_url, &done).await {
                        problem = Some((e.to_string(), e.hint()));
                    }
                }
                report.messages_done += done.len() as u64;
                report.messages_failed += failed.len() as u64;
            }
            Outcome::Error(e) => {
                inv.result = InvocationResult::Error;
                report.messages_failed += batch.len() as u64;
                let hint = pure::hint_for(&e.error_type, &e.error_message);
                problem = Some((
                    format!("the handler failed: {}: {}", e.error_type, e.error_message),
                    hint,
                ));
                inv.error = Some(e);
            }
            Outcome::TimedOut => {
                inv.result = InvocationResult::Timeout;
                report.messages_failed += batch.len() as u64;
                problem = Some((
                    format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
                    Some("the handler ran past `lambda.timeout`: raise it, or make an invocation do less (for a polling handler, stop polling before the deadline)".into()),
                ));
            }
        }
        report.invocations.push(inv);
        if problem.is_some() || matches!(feed, Feed::Event(_)) {
            break;
        }
        if matches!(config.lambda.trigger, Trigger::Schedule(_)) {
            // The schedule fires again while the queue still has work.
            let visible = services
                .queue(queue_url)
                .await
                .map(|q| q.map(|q| q.depth))
                .ok()
                .flatten()
                .map_or(0, |d| d.visible);
            if visible == 0 || rounds >= 20 {
                break;
            }
        }
    }
    report.init_ms = api.init_duration().map(|d| d.as_millis() as u64);
    drop(api);
    let code = container.stop(Duration::from_secs(1)).await;
    container.remove().await;
    report.exit_code = report.exit_code.or(code);
    report.output = last_lines(&container.output(), 30);
    report.messages_left = services
        .queue(queue_url)
        .await
        .map(|q| q.map(|q| q.depth))
        .ok()
        .flatten()
        .map(|d| d.total());
    // A handler that polls the queue itself (the schedule trigger, or --event): what it took.
    if report.invocations.iter().all(|i| i.messages == 0) {
        if let (Some(b), Some(l)) = (before, report.messages_left) {
            report.messages_done = b.saturating_sub(l);
        }
    }
    if let Some(signal) = stop.signal() {
        report.verdict = Verdict::Interrupted;
        report.problem = Some(format!("interrupted ({signal})"));
    } else if let Some((p, hint)) = problem {
        report.problem = Some(p);
        report.hint = hint;
    } else if report.messages_failed > 0 {
        report.problem = Some(format!(
            "the handler reported {} message{} as failed",
            report.messages_failed,
            if report.messages_failed == 1 { "" } else { "s" }
        ));
    } else {
        report.verdict = Verdict::Pass;
    }
    report
}

/// Runs the task's container until the queue is drained (or `limit`), then stops it as ECS does.
pub async fn ecs(
    services: &Sqs,
    cmd: &Command,
    name: &str,
    queue_url: &str,
    limit: Duration,
    show: Arc<dyn Fn(&str) + Send + Sync>,
    stop: &Stop,
) -> PlatformReport {
    let mut report = PlatformReport {
        platform: Side::Ecs,
        queue_url: queue_url.into(),
        verdict: Verdict::Fail,
        ..Default::default()
    };
    let before = services
        .queue(queue_url)
        .await
        .map(|q| q.map(|q| q.depth))
        .ok()
        .flatten()
        .map_or(0, |d| d.total());
    let mut container = match Container::start(cmd, name, show) {
        Ok(c) => c,
        Err(e) => {
            report.problem = Some(format!("cannot start `{}`: {e}", cmd.program));
            return report;
        }
    };
    let started = Instant::now();
    let mut empty = 0;
    let mut exited = None;
    loop {
        tokio::select! {
            code = container.exited() => {
                exited = Some(code);
                break;
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.signalled() => break,
        }
        let depth = services
            .queue(queue_url)
            .await
            .map(|q| q.map(|q| q.depth))
            .ok()
            .flatten()
            .map_or(u64::MAX, |d| d.total());
        empty = if depth == 0 { empty + 1 } else { 0 };
        if empty >= 2 || started.elapsed() > limit {
            break;
        }
    }
    let left = services
        .queue(queue_url)
        .await
        .map(|q| q.map(|q| q.depth))
        .ok()
        .flatten()
        .map(|d| d.total());
    report.messages_left = left;
    report.messages_done = before.saturating_sub(left.unwrap_or(before));
    match exited {
        None if stop.signal().is_some() => {
            // As ECS stops a task, with a short grace: the batch in hand is not deleted.
            report.exit_code = container.stop(Duration::from_secs(1)).await;
            report.verdict = Verdict::Interrupted;
            report.problem = stop.signal().map(|s| format!("interrupted ({s})"));
        }
        Some(code) => {
            report.exit_code = code;
            let text = container.output().join("\n");
            report.problem = Some(format!(
                "the task's process ended by itself (exit code {}) before the queue was drained",
                code.map_or("unknown".into(), |c| c.to_string())
            ));
            report.hint = pure::start_hint(&text)
                .map(|h| {
                    h.replace("lambda.entry_point", "the image's ENTRYPOINT")
                        .replace("lambda.working_directory", "the image's WORKDIR")
                })
                .or_else(|| {
                    Some(
                        "its last lines are above; `ecs.command` overrides the image's command"
                            .into(),
                    )
                });
        }
        None => {
            let code = container.stop(Duration::from_secs(10)).await;
            report.exit_code = code;
            if left != Some(0) {
                report.problem = Some(format!(
                    "the queue was not drained within {}",
                    humantime::format_duration(limit)
                ));
                report.hint =
                    Some("a longer --timeout waits more; the task's last lines are above".into());
            } else if !matches!(code, Some(0) | Some(143)) {
                report.problem = Some(format!(
                    "the task did not stop cleanly on SIGTERM (exit code {})",
                    code.map_or("unknown".into(), |c| c.to_string())
                ));
                report.hint = Some("ECS stops tasks with SIGTERM, then SIGKILL after the stop timeout: finish the batch in hand and exit".into());
            } else {
                report.verdict = Verdict::Pass;
            }
        }
    }
    container.remove().await;
    report.output = last_lines(&container.output(), 30);
    report
}

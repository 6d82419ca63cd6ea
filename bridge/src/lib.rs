//! The supervisor that runs an unchanged SQS polling worker under AWS Lambda (docs/bridge.md).
//!
//! It is the function's Runtime API client and serves SQS on 127.0.0.1 to the worker, which it
//! starts as a child process: `ReceiveMessage` on a consumed queue hands out the invocation's
//! batch, deletes mark its messages done, and everything else goes to SQS, signed again.

pub mod batch;
pub mod config;
pub mod forward;
pub mod runtime;
pub mod server;
pub mod sqs;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;

use batch::{Batch, Shared};
use config::Config;
use runtime::RuntimeApi;

/// One short line on stderr (Lambda sends it to the function's log). Never a message body or a
/// credential.
pub fn log(line: &str) {
    eprintln!("replatform-bridge: {line}");
}

/// How often a worker that exits is started again within one invocation.
const MAX_RESTARTS: u32 = 2;

/// Starts the worker; a task watches it and marks the state when it exits.
fn start_worker(cfg: &Config, local: &str, shared: &Arc<Shared>) -> Result<(), String> {
    let mut cmd = tokio::process::Command::new(&cfg.command[0]);
    cmd.args(&cfg.command[1..]).kill_on_drop(true);
    if let Some(dir) = &cfg.workdir {
        cmd.current_dir(dir);
    }
    // The worker inherits the environment (a value that is not UTF-8 as it is), less the
    // supervisor's own variables, with the values `worker_env` rewrites.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with(config::PREFIX) {
            cmd.env_remove(k);
        }
    }
    let utf8 = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    cmd.envs(config::worker_env(utf8, &cfg.queues, local));
    let mut child = cmd.spawn().map_err(|e| {
        let inside = cfg
            .workdir
            .as_ref()
            .map(|d| format!(" in {d}"))
            .unwrap_or_default();
        format!(
            "could not start the worker `{}`{inside}: {e}",
            cfg.command[0]
        )
    })?;
    log(&format!("worker started (pid {})", child.id().unwrap_or(0)));
    shared.set_worker_exited(false);
    let shared = shared.clone();
    tokio::spawn(async move {
        match child.wait().await {
            Ok(status) => log(&format!("worker exited ({status})")),
            Err(e) => log(&format!("worker lost: {e}")),
        }
        shared.set_worker_exited(true);
    });
    Ok(())
}

/// The supervisor: returns the process's exit code. `args`: its command line after the
/// program's name (`[--image-entrypoint] [--image-cmd] [--image-workdir] [-- ARG...]`).
pub async fn run(args: Vec<String>) -> u8 {
    let Ok(address) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        log("AWS_LAMBDA_RUNTIME_API is not set: this runs as a Lambda function's entry point");
        return 2;
    };
    let api = RuntimeApi::new(&address);
    match init(args).await {
        Ok((cfg, local, shared)) => serve_invocations(cfg, local, shared, &api).await,
        Err(e) => {
            log(&e);
            if let Err(e) = api.init_error("Runtime.BridgeInitError", &e).await {
                log(&e);
            }
            1
        }
    }
}

async fn init(args: Vec<String>) -> Result<(Config, String, Arc<Shared>), String> {
    let get = |k: &str| std::env::var(k).ok();
    let launch = worker::launch(&args, &get)?;
    let mut cfg = Config::from_env(launch.argv, &get)?;
    cfg.workdir = launch.workdir;
    let listener = TcpListener::bind(("127.0.0.1", cfg.port))
        .await
        .map_err(|e| format!("could not listen on 127.0.0.1:{}: {e}", cfg.port))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let local = format!("http://127.0.0.1:{port}");
    let shared = Arc::new(Shared::default());
    let endpoint = Arc::new(server::Endpoint {
        forwarder: forward::Forwarder::new(&cfg)?,
        cfg: cfg.clone(),
        shared: shared.clone(),
        local: local.clone(),
    });
    tokio::spawn(server::serve(listener, endpoint));
    let names: Vec<&str> = cfg.queues.iter().map(|q| q.name.as_str()).collect();
    log(&format!("serving SQS for {} on {local}", names.join(", ")));
    start_worker(&cfg, &local, &shared)?;
    Ok((cfg, local, shared))
}

async fn serve_invocations(
    cfg: Config,
    local: String,
    shared: Arc<Shared>,
    api: &RuntimeApi,
) -> u8 {
    loop {
        let inv = match api.next().await {
            Ok(i) => i,
            Err(e) => {
                log(&e);
                return 1;
            }
        };
        let batch = match Batch::from_event(&inv.request_id, &inv.event) {
            Ok(b) => b,
            Err(e) => {
                log(&format!("invocation {}: {e}", inv.request_id));
                if let Err(e) = api
                    .invocation_error(&inv.request_id, "Runtime.BridgeBadEvent", &e)
                    .await
                {
                    log(&e);
                }
                continue;
            }
        };
        if shared.lock().worker_exited {
            if let Err(e) = start_worker(&cfg, &local, &shared) {
                // Nothing was handed out: the whole batch goes back to the queue.
                log(&e);
                let _ = api
                    .invocation_error(&inv.request_id, "Runtime.BridgeWorkerStart", &e)
                    .await;
                continue;
            }
        }
        let total = batch.entries.len();
        shared.begin(batch);
        let remaining = inv.remaining.unwrap_or(Duration::from_secs(900));
        let deadline = Instant::now() + remaining.saturating_sub(cfg.margin);
        let mut restarts = 0;
        let end = loop {
            let end = shared.wait_end(deadline, cfg.grace).await;
            // A worker that exits before it took every message (a run-once worker that was
            // still exiting when this batch came, or one that crashed): what it never received is
            // handed to a new one; what it received and did not delete is a failure.
            if end == batch::End::WorkerExited && restarts < MAX_RESTARTS && shared.has_pending() {
                restarts += 1;
                if start_worker(&cfg, &local, &shared).is_ok() {
                    continue;
                }
            }
            break end;
        };
        let failures = shared.finish().map(|b| b.failures()).unwrap_or_default();
        log(&format!(
            "invocation {}: {} of {total} deleted, {} back to the queue ({})",
            inv.request_id,
            total - failures.len(),
            failures.len(),
            end.as_str()
        ));
        let answered = if end == batch::End::WorkerExited && failures.len() == total {
            // A worker that exits without deleting anything fails the whole batch as an error,
            // not as a success that lists every message: the same messages go back, and the
            // function's Errors metric (and the mapping's back-off) show the crash.
            api.invocation_error(
                &inv.request_id,
                "Runtime.WorkerExited",
                "the worker exited before it deleted any message of the batch",
            )
            .await
        } else {
            api.respond(&inv.request_id, &failures).await
        };
        if let Err(e) = answered {
            log(&e);
            return 1;
        }
        if shared.lock().worker_exited {
            // A run-once worker: started again for the next batch.
            if let Err(e) = start_worker(&cfg, &local, &shared) {
                log(&e);
            }
        }
    }
}

//! replatform: run an SQS worker on ECS Fargate and AWS Lambda side by side from one
//! `replatform.yaml`.
//!
//! The floors, lowest first, each using only those below it (`FLOORS` in tests/it/house.rs holds
//! them; docs/architecture.md explains them): `core` (pure) and `signal` <- `aws` (the SDK) and
//! `files` <- `error`, `experiment` and `local` <- `ui` (what a person sees) <- `image` <- `app`
//! (the workflows) <- `cli` (clap types) <- `commands` (wiring) <- [`run`].

pub mod app;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod core;
pub mod error;
pub mod experiment;
pub mod files;
pub mod image;
pub mod k8s;
pub mod local;
pub mod signal;
pub mod ui;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use app::workspace::Workspace;
use cli::{Cli, Command};
use error::{Exit, Failure, Outcome};
use ui::printer::Printer;

/// Runs one command line; the exit codes are [`Exit`]'s.
/// At an endpoint that is not AWS's (`AWS_ENDPOINT_URL_SQS`, else `AWS_ENDPOINT_URL`: a local
/// emulator), its own queue URLs are queue URLs too, in the region the SDK's chain names
/// (docs/config.md#production).
fn accept_emulator_queue_urls() {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let Some(endpoint) = env("AWS_ENDPOINT_URL_SQS").or_else(|| env("AWS_ENDPOINT_URL")) else {
        return;
    };
    if aws::is_aws_endpoint(&endpoint) {
        return;
    }
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    core::config::accept_emulator_queue_urls(&endpoint, &region);
}

pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    accept_emulator_queue_urls();
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // `--help` and `--version` come as errors that go to stdout: no failure.
            return (if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            })
            .into();
        }
    };
    let cli::GlobalArgs {
        file,
        templates,
        output,
        quiet,
        verbose,
        profile,
        region,
    } = cli.global;
    let printer = Printer {
        format: output,
        quiet,
        verbose,
    };
    let ws = Workspace {
        file,
        templates,
        profile,
        region,
    };
    let outcome = match cli.command {
        Command::Validate(a) => commands::validate::run(a, &ws.file, &printer),
        Command::Render(a) => commands::render::run(a, &ws.file, ws.templates.as_deref(), &printer),
        Command::Templates(a) => commands::templates::run(a, &printer),
        Command::Up(a) => block_on(commands::up::run(a, &ws, &printer)),
        Command::Diff(a) => block_on(commands::diff::run(a, &ws, &printer)),
        Command::Down(a) => block_on(commands::down::run(a, &ws, &printer)),
        Command::Status(a) => block_on(commands::status::run(a, &ws, &printer)),
        Command::Load(a) => block_on(commands::load::run(a, &ws, &printer)),
        Command::Compare(a) => block_on(commands::compare::run(a, &ws, &printer)),
        Command::Local(a) => block_on(commands::local::run(a, &ws, &printer)),
        Command::Simulate(a) => commands::simulate::run(a, &ws, &printer),
        Command::Assess(a) => block_on(commands::assess::run(a, &ws, &printer)),
        Command::Cutover(a) => block_on(commands::cutover::run(a, &ws, &printer)),
        Command::Rollback(a) => block_on(commands::cutover::rollback(a, &ws, &printer)),
        Command::Init(a) if a.from_ecs.is_some() || !a.from_k8s.is_empty() => {
            block_on(commands::init::from_ecs(a, &ws, &printer))
        }
        Command::Init(a) => commands::init::run(a, &ws.file, &printer),
        Command::Completions(a) => commands::completions::run(a, &printer),
    };
    match outcome {
        Ok(exit) => exit.into(),
        Err(f) => {
            if !f.reported {
                printer.error(&f.message, f.hint.as_deref());
            }
            f.exit.into()
        }
    }
}

/// The commands that talk to AWS run on one thread: they wait on the network, not the CPU.
fn block_on<F: std::future::Future<Output = Outcome>>(f: F) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match rt {
        Ok(rt) => {
            let outcome = rt.block_on(f);
            // A question left unanswered by an interrupt still blocks its thread on stdin.
            rt.shutdown_background();
            outcome
        }
        Err(e) => Err(Failure::new(format!("cannot start the async runtime: {e}"))),
    }
}

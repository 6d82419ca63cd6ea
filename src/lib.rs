//! replatform: run an SQS worker on ECS Fargate and AWS Lambda side by side from one
//! `replatform.yaml`.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod core;
pub mod experiment;
pub mod image;
pub mod local;
pub mod pipeline;
pub mod ui;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use ui::printer::Printer;

/// Runs one command line. Exit codes: 0 success, 1 failure (bad config, failed operation),
/// 2 usage error.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let cli::GlobalArgs { file, templates, output, quiet, verbose, profile, region } = cli.global;
    let printer = Printer { format: output, quiet, verbose };
    let global = commands::Global { file, templates, profile, region };
    let outcome = match cli.command {
        Command::Validate(a) => commands::validate::run(a, &global.file, &printer),
        Command::Render(a) => commands::render::run(a, &global.file, global.templates.as_deref(), &printer),
        Command::Templates(a) => commands::templates::run(a, &printer),
        Command::Up(a) => block_on(commands::up::run(a, &global, &printer)),
        Command::Diff(a) => block_on(commands::diff::run(a, &global, &printer)),
        Command::Down(a) => block_on(commands::down::run(a, &global, &printer)),
        Command::Status(a) => block_on(commands::status::run(a, &global, &printer)),
        Command::Load(a) => block_on(commands::load::run(a, &global, &printer)),
        Command::Compare(a) => block_on(commands::compare::run(a, &global, &printer)),
        Command::Local(a) => block_on(commands::local::run(a, &global, &printer)),
        Command::Completions(a) => commands::completions::run(a, &printer),
    };
    match outcome {
        Ok(code) => code,
        Err(f) => {
            if !f.reported {
                printer.error(&f.message, f.hint.as_deref());
            }
            ExitCode::from(f.exit)
        }
    }
}

/// The commands that talk to AWS run on one thread: they wait on the network, not the CPU.
fn block_on<F: std::future::Future<Output = commands::Outcome>>(f: F) -> commands::Outcome {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
    match rt {
        Ok(rt) => {
            let outcome = rt.block_on(f);
            // A question left unanswered by an interrupt still blocks its thread on stdin.
            rt.shutdown_background();
            outcome
        }
        Err(e) => Err(commands::Failure::new(format!("cannot start the async runtime: {e}"))),
    }
}

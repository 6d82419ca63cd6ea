//! replatform: run an SQS worker on ECS Fargate and AWS Lambda side by side from one
//! `replatform.yaml`.

pub mod cli;
pub mod commands;
pub mod core;
pub mod ui;

use std::ffi::OsString;
use std::io::Write;
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
    let cli::GlobalArgs { file, templates, output, quiet, verbose } = cli.global;
    let printer = Printer { format: output, quiet, verbose };
    let outcome = match cli.command {
        Command::Validate(a) => commands::validate::run(a, &file, &printer),
        Command::Render(a) => commands::render::run(a, &file, templates.as_deref(), &printer),
        Command::Templates(a) => commands::templates::run(a, &printer),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.reported {
                // anstream drops the styles when stderr is not a terminal or NO_COLOR is set.
                let red = anstyle::Style::new().bold().fg_color(Some(anstyle::AnsiColor::Red.into()));
                let cyan = anstyle::Style::new().bold().fg_color(Some(anstyle::AnsiColor::Cyan.into()));
                let mut err = anstream::stderr();
                let _ = writeln!(err, "{red}error{red:#}: {}", f.message);
                if let Some(h) = f.hint {
                    let _ = writeln!(err, "  {cyan}hint{cyan:#}: {h}");
                }
            }
            ExitCode::FAILURE
        }
    }
}

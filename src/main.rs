//! The binary: parse the command line, run the command, turn the outcome into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    replatform::run(std::env::args_os())
}

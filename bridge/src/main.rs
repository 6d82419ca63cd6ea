//! `replatform-bridge [--image-entrypoint] [--image-cmd] [--image-workdir] [-- ARG...]`: the
//! entry point of a Lambda function that runs an unchanged SQS polling worker (docs/bridge.md).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") | Some("-V") => {
            println!("replatform-bridge {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some("--help") | Some("-h") => {
            println!(
                "replatform-bridge [--image-entrypoint] [--image-cmd] [--image-workdir] [-- ARG...]\n\n\
                 Runs an SQS polling worker as a Lambda function: serves SQS to it on 127.0.0.1 \
                 and hands it each invocation's batch. The worker's argv is the image's recorded \
                 ENTRYPOINT (--image-entrypoint), then ARGs, then its recorded CMD (--image-cmd), \
                 started in its recorded WORKDIR (--image-workdir); they are read from worker.json \
                 next to this executable. See docs/bridge.md."
            );
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("replatform-bridge: {e}");
            return ExitCode::FAILURE;
        }
    };
    ExitCode::from(runtime.block_on(replatform_bridge::run(args)))
}

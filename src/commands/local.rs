//! `replatform local`: builds the image (or takes `--image-uri`) and runs it here under each
//! platform's contract against the queue, then says per platform what happened and whether it
//! passed (`app::local`).

use crate::app::local::{self, Spec};
use crate::app::workspace::Workspace;
use crate::cli::LocalArgs;
use crate::core::outcome::{InvocationResult, Verdict};
use crate::error::{Exit, Failure, Outcome};
use crate::local::PlatformReport;
use crate::signal::Stop;
use crate::ui::printer::Printer;

pub async fn run(args: LocalArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let LocalArgs {
        only,
        image_uri,
        queue_url,
        messages,
        event,
        timeout,
    } = args;
    let spec = Spec {
        only,
        image_uri,
        queue_url,
        messages,
        event,
        timeout,
    };
    let shown = |report: &PlatformReport| {
        if printer.is_json() {
            // The document says it all; the problem still goes to stderr, as errors do.
            if let Some(p) = report
                .problem
                .as_ref()
                .filter(|_| report.verdict != Verdict::Interrupted)
            {
                printer.error(&format!("{}: {p}", report.platform), report.hint.as_deref());
            }
        } else {
            print(printer, report);
        }
    };
    let stop = Stop::on_signals();
    let mut run = local::local(ws, spec, printer, &shown, &stop).await?;
    if printer.is_json() {
        printer.json(&run).map_err(Failure::output)?;
    }
    if let Some(f) = run.interrupted.take() {
        return Err(f);
    }
    let failed: Vec<&str> = run
        .platforms
        .iter()
        .filter(|r| Exit::of_verdict(r.verdict) != Exit::Success)
        .map(|r| r.platform.as_str())
        .collect();
    if failed.is_empty() {
        return Ok(Exit::Success);
    }
    Err(Failure::new(format!(
        "the image did not pass on {}",
        failed.join(" and ")
    ))
    .hint("each platform's problem and the field to fix are above"))
}

fn print(printer: &Printer, r: &PlatformReport) {
    let mut lines = vec![format!(
        "{}: {}",
        r.platform,
        r.verdict.as_str().to_uppercase()
    )];
    if let Some(ms) = r.init_ms {
        lines.push(format!("  init: {ms} ms"));
    }
    for i in &r.invocations {
        let what = match (&i.error, i.result) {
            (Some(e), _) => format!("{}: {}", e.error_type, e.error_message),
            (None, InvocationResult::Timeout) => "timed out".to_string(),
            _ if i.messages > 0 => format!(
                "{} message{}, {} failed",
                i.messages,
                if i.messages == 1 { "" } else { "s" },
                i.failed_items
            ),
            _ => "ok".to_string(),
        };
        lines.push(format!(
            "  invocation {}: {} ms, {}: {what}",
            i.request_id, i.duration_ms, i.result
        ));
    }
    lines.push(format!(
        "  messages: {} done, {} failed, {} left in the queue",
        r.messages_done,
        r.messages_failed,
        r.messages_left.map_or("?".into(), |n| n.to_string())
    ));
    if let Some(code) = r.exit_code {
        lines.push(format!("  exit code: {code}"));
    }
    for l in lines {
        printer.info(l);
    }
    // An interruption is the command's own error, said once after this.
    if let Some(p) = r
        .problem
        .as_ref()
        .filter(|_| r.verdict != Verdict::Interrupted)
    {
        printer.error(&format!("{}: {p}", r.platform), r.hint.as_deref());
    }
}

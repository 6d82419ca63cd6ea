//! `replatform init`: a starting `replatform.yaml` for the folder it runs in, or, with
//! `--from-ecs`, from the ECS service that runs the worker today, or, with `--from-k8s`, from the
//! Kubernetes manifests of a worker KEDA scales. Wiring: the
//! arguments in, one call to `app::init` or `app::adopt`, what was written and the report out.

use crate::app::adopt::adopt;
use crate::app::init::{init, InitRequest};
use crate::app::workspace::Workspace;
use crate::cli::InitArgs;
use crate::core::adopt::report_text;
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::Printer;

/// `init --from-ecs CLUSTER/SERVICE` or `init --from-k8s PATH...`: the report as text, or the report and the files written as
/// one JSON document.
pub async fn from_ecs(args: InitArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let InitArgs {
        force,
        from_ecs,
        from_k8s,
        workload,
    } = args;
    let done = match from_ecs {
        Some((cluster, service)) => adopt(ws, &cluster, &service, force, printer).await?,
        None if !from_k8s.is_empty() => {
            crate::app::adopt_k8s::adopt(ws, &from_k8s, workload.as_deref(), force, printer).await?
        }
        None => {
            return run(
                InitArgs {
                    force,
                    from_ecs: None,
                    from_k8s,
                    workload,
                },
                &ws.file,
                printer,
            )
        }
    };
    if printer.is_json() {
        printer.json(&done).map_err(Failure::output)?;
        return Ok(Exit::Success);
    }
    for w in &done.written {
        printer.info(format!("wrote {}", w.display()));
    }
    printer.info(report_text(&done.report));
    Ok(Exit::Success)
}

pub fn run(args: InitArgs, file: &std::path::Path, printer: &Printer) -> Outcome {
    let InitArgs { force, .. } = args;
    let done = init(&InitRequest {
        file: file.to_path_buf(),
        force,
    })?;
    if printer.is_json() {
        printer.json(&done).map_err(Failure::output)?;
        return Ok(Exit::Success);
    }
    for w in &done.written {
        printer.info(format!("wrote {}", w.display()));
    }
    let handler = done
        .handler
        .as_deref()
        .map(|h| format!(", handler `{h}`"))
        .unwrap_or_default();
    printer.info(format!(
        "service `{}`, trigger `{}`{handler}: the values marked `guessed` are to check",
        done.service, done.trigger
    ));
    printer.info(format!(
        "language: {} ({})",
        done.language.name(),
        done.language_reason
    ));
    printer.info(format!(
        "left to fill: {}; then `replatform validate`",
        done.left.join(", ")
    ));
    Ok(Exit::Success)
}

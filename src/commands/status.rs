//! `replatform status`: each stack's status and outputs, its queues' depths, the ECS service's
//! task counts and the function's reserved concurrency.

use crate::app::deployed::{self, QueueReport, Status};
use crate::app::workspace::Workspace;
use crate::cli::StatusArgs;
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::Printer;
use crate::ui::tables;

pub async fn run(args: StatusArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let StatusArgs { only, queue } = args;
    let status = deployed::status_of(ws, only, queue.as_deref(), printer).await?;
    if printer.is_json() {
        printer.json(&status).map_err(Failure::output)?;
        return Ok(Exit::Success);
    }
    show(printer, &status).map_err(Failure::output)?;
    Ok(Exit::Success)
}

fn show(printer: &Printer, status: &Status) -> std::io::Result<()> {
    for r in &status.stacks {
        let Some(state) = &r.status else {
            printer.data(format!("{}: not deployed", r.name))?;
            continue;
        };
        let mut rows: Vec<(&str, String)> = vec![("status", state.clone())];
        if let Some(reason) = &r.reason {
            rows.push(("reason", reason.clone()));
        }
        for (label, q) in [
            ("queue", &r.queue),
            ("dead-letter queue", &r.dead_letter_queue),
        ] {
            if let Some(q) = q {
                rows.push((label, queue_text(q, "gone")));
            }
        }
        for q in &r.queues {
            let depth = QueueReport {
                url: q.url.clone(),
                depth: q.depth.clone(),
            };
            let only_sent = if q.consumed { "" } else { ", only sent to" };
            rows.push((
                "queue",
                format!("{}{only_sent}: {}", q.name, queue_text(&depth, "gone")),
            ));
            if let Some(d) = &q.dead_letter_queue {
                rows.push((
                    "dead-letter queue",
                    format!("{}: {}", q.name, queue_text(d, "gone")),
                ));
            }
        }
        if let Some(s) = &r.service {
            rows.push((
                "tasks",
                format!(
                    "{} desired, {} running, {} pending",
                    s.desired, s.running, s.pending
                ),
            ));
        }
        if let Some(f) = &r.function {
            rows.push((
                "function",
                format!(
                    "{} (reserved concurrency: {})",
                    f.name,
                    f.reserved_concurrency
                        .map_or("none".into(), |c| c.to_string())
                ),
            ));
        }
        if let Some(image) = &r.image {
            rows.push(("image", tables::short(image)));
        }
        // Each queue's URL is shown with its depth above.
        let queues_shown = r.queue.is_some() || !r.queues.is_empty();
        for (k, v) in r.outputs.iter().filter(|(k, _)| {
            let shown = k.ends_with("QueueUrl") && queues_shown;
            !shown
                && !matches!(
                    k.as_str(),
                    "QueueUrl" | "DeadLetterQueueUrl" | "FunctionName"
                )
        }) {
            rows.push((k.as_str(), tables::short(v)));
        }
        block(printer, &r.name, rows)?;
    }
    if let Some(p) = &status.production {
        let mut rows: Vec<(&str, String)> = vec![("consumed by", p.consumed_by())];
        if p.queues.is_empty() {
            rows.push(("queue", queue_text(&p.queue, "not found")));
        }
        for q in &p.queues {
            let depth = QueueReport {
                url: q.url.clone(),
                depth: q.depth.clone(),
            };
            rows.push((
                "queue",
                format!("{}: {}", q.name, queue_text(&depth, "not found")),
            ));
            rows.push((
                "mapping",
                format!("{}: {}", q.name, mapping_text(q.mapping.as_ref())),
            ));
        }
        rows.push((
            "service",
            match &p.service {
                Some(s) => format!(
                    "{}: {} desired, {} running, {} pending",
                    p.workload(),
                    s.desired,
                    s.running,
                    s.pending
                ),
                None => match &p.unread {
                    Some(why) => format!("{}: not read ({why})", p.workload()),
                    None => format!("{}: not found", p.workload()),
                },
            },
        ));
        if p.queues.is_empty() {
            rows.push(("mapping", mapping_text(p.mapping.as_ref())));
        }
        if let Some(c) = &p.cutover {
            let b = c.bounds;
            rows.push((
                "cutover",
                format!(
                    "stage {}% applied; `replatform rollback` restores min {} max {} desired {}",
                    c.stage, b.min, b.max, b.desired
                ),
            ));
        }
        block(printer, "production", rows)?;
    }
    if status.images_differ {
        printer.warning("the two platforms run different images: `replatform up` deploys the same digest to both");
    }
    Ok(())
}

/// The function's mapping on a production queue, in words.
fn mapping_text(m: Option<&deployed::ProductionMapping>) -> String {
    match m {
        Some(m) => format!(
            "{}{}",
            m.state,
            m.maximum_concurrency
                .map_or(String::new(), |c| format!(", maximum concurrency {c}"))
        ),
        None => "none on the production queue (`replatform up` makes it, disabled)".to_string(),
    }
}

/// A queue's name and depth; `missing` when the queue is not there. The name is the URL's last
/// part: a whole URL pushes the depth past 80 columns, and `--output json` keeps it.
fn queue_text(q: &QueueReport, missing: &str) -> String {
    let depth = q.depth.as_ref().map_or(missing.to_string(), |d| {
        format!(
            "{} visible, {} in flight, {} delayed",
            d.visible, d.in_flight, d.delayed
        )
    });
    format!("{} ({depth})", tables::short(&q.url))
}

/// Rows that fit [`COLUMNS`]: a value too long for its row keeps its name on it and moves what it
/// says in parentheses (a queue's depth) to a row of its own below; a name still too long, one
/// of the stack's own resources, leaves the stack's name, the block's title, out
/// ([`tables::within`]).
fn fit<'a>(title: &str, rows: Vec<(&'a str, String)>) -> Vec<(&'a str, String)> {
    let room = tables::value_room(rows.iter().map(|(k, _)| *k));
    let mut out = Vec::with_capacity(rows.len());
    for (k, v) in rows {
        match v.rfind(" (") {
            Some(i) if v.chars().count() > room && v.ends_with(')') => {
                out.push((k, tables::within(title, &v[..i], room)));
                out.push(("", v[i + 1..].to_string()));
            }
            _ => out.push((k, tables::within(title, &v, room))),
        }
    }
    out
}

/// A titled block of label-value rows, indented under its title.
fn block(printer: &Printer, title: &str, rows: Vec<(&str, String)>) -> std::io::Result<()> {
    printer.data(format!(
        "{title}\n{}",
        tables::indent(
            &tables::pairs(["", ""], fit(title, rows))
                .lines()
                .skip(1)
                .collect::<Vec<_>>()
                .join("\n")
        )
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::tables::COLUMNS;

    #[test]
    fn a_long_queue_row_moves_its_depth_below_its_name() {
        let name = "orders-worker-ecs-DeadLetterQueue-1A2B3C4D5E6F7";
        let rows = fit(
            "orders-worker-ecs",
            vec![
                ("status", "CREATE_COMPLETE".to_string()),
                (
                    "dead-letter queue",
                    format!("{name} (0 visible, 0 in flight, 0 delayed)"),
                ),
                ("queue", "q (1 visible, 0 in flight, 0 delayed)".to_string()),
            ],
        );
        assert_eq!(rows[1], ("dead-letter queue", name.to_string()));
        assert_eq!(
            rows[2],
            ("", "(0 visible, 0 in flight, 0 delayed)".to_string())
        );
        assert_eq!(rows[3].1, "q (1 visible, 0 in flight, 0 delayed)");
        let text = tables::indent(&tables::pairs(["", ""], rows));
        assert!(text.lines().all(|l| l.chars().count() <= COLUMNS), "{text}");
        // The depth stands under the name, in the value column (the header line first).
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[3].find("(0 visible"), lines[2].find(name), "{text}");
    }

    #[test]
    fn a_name_too_long_for_any_row_leaves_out_its_stacks_name() {
        let stack = "it-eighty-columns-worker-lambda";
        let name = format!("{stack}-DeadLetterQueue-H73KC0S3CQDU");
        let rows = fit(
            stack,
            vec![(
                "dead-letter queue",
                format!("{name} (0 visible, 0 in flight, 0 delayed)"),
            )],
        );
        assert_eq!(rows[0].1, "…-DeadLetterQueue-H73KC0S3CQDU");
        let text = tables::indent(&tables::pairs(["", ""], rows));
        assert!(text.lines().all(|l| l.chars().count() <= COLUMNS), "{text}");
        // A name of its own, not the stack's, is never cut.
        let other = "a".repeat(70);
        let rows = fit(stack, vec![("queue", format!("{other} (1 visible)"))]);
        assert_eq!(rows[0].1, other);
    }
}

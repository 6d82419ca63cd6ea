//! `replatform diff`: per stack, the change set `up` would execute (created, described and
//! deleted, never executed) and the text difference between the deployed and rendered
//! templates (`app::deploy::diff`).

use crate::app::deploy::{self, Diff};
use crate::app::workspace::Workspace;
use crate::cli::DiffArgs;
use crate::core::outcome::DiffState;
use crate::error::{Exit, Failure, Outcome};
use crate::ui::printer::Printer;
use crate::ui::tables;

pub async fn run(args: DiffArgs, ws: &Workspace, printer: &Printer) -> Outcome {
    let DiffArgs {
        image_uri,
        only,
        exit_code,
    } = args;
    let diff = deploy::diff(ws, image_uri.as_deref(), only, printer).await?;
    if printer.is_json() {
        printer.json(&diff).map_err(Failure::output)?;
    } else {
        show(printer, &diff).map_err(Failure::output)?;
    }
    // A failed preview was reported with its stack; `--exit-code` makes changes an exit code.
    // Sources the registry lacks are a change too: `up` builds them and deploys their digest
    // (the stacks were compared with the image they run; docs/commands.md#diff).
    let builds = matches!(diff.image.source, crate::image::Source::NotBuilt)
        && diff.image.tag.is_some()
        && diff
            .stacks
            .iter()
            .any(|d| !matches!(d.state, DiffState::New));
    let exits = diff
        .stacks
        .iter()
        .map(|d| Exit::of_diff(d.state, exit_code))
        .chain((builds && exit_code).then_some(Exit::Changes));
    match Exit::gravest(exits) {
        Exit::Failure => Err(Failure::reported()),
        exit => Ok(exit),
    }
}

fn show(printer: &Printer, diff: &Diff) -> std::io::Result<()> {
    for d in &diff.stacks {
        let out = match d.state {
            DiffState::New => format!(
                "{}: not deployed; `up` creates {} resources\n{}",
                d.name,
                d.changes.len(),
                tables::indent(&tables::changes(&d.changes))
            ),
            DiffState::Recreate => format!(
                "{}: left by a failed create; `up` deletes it and creates {} resources\n{}",
                d.name,
                d.changes.len(),
                tables::indent(&tables::changes(&d.changes))
            ),
            DiffState::Changed if d.changes.is_empty() => format!(
                "{}: no resource changes; the template's outputs, metadata or description change",
                d.name
            ),
            DiffState::Changed => format!(
                "{}: {} change{}\n{}",
                d.name,
                d.changes.len(),
                if d.changes.len() == 1 { "" } else { "s" },
                tables::indent(&tables::changes(&d.changes))
            ),
            DiffState::Unchanged => format!("{}: no changes", d.name),
            DiffState::Error => continue,
        };
        printer.data(out)?;
        if let Some(note) = crate::core::changes::production_note(&d.changes) {
            printer.info(note);
        }
        for r in &d.data_loss {
            printer.warning(&format!(
                "{} (`up` refuses this without --allow-queue-replacement)",
                r.describe()
            ));
        }
        if let Some(t) = &d.template_diff {
            printer.data(colorize(t))?;
        }
    }
    if let Some(p) = &diff.production {
        if p.queues.is_empty() {
            printer.info(format!(
                "production queue {}: consumed by {}; `up` changes neither it nor `{}`",
                p.queue.url,
                p.consumed_by(),
                p.workload()
            ));
        } else {
            let urls: Vec<&str> = p.queues.iter().map(|q| q.url.as_str()).collect();
            printer.info(format!(
                "production queues {}: consumed by {}; `up` changes neither them nor `{}`",
                urls.join(", "),
                p.consumed_by(),
                p.workload()
            ));
        }
    }
    Ok(())
}

/// The widest line of the template diff: a line of the template longer than a terminal's 80
/// columns goes on below, each part under the same `+`, `-` or ` ` mark, so that no part of a
/// change is out of sight and nothing wraps.
const COLUMNS: usize = 80;

fn fold(line: &str) -> Vec<String> {
    if line.chars().count() <= COLUMNS || line.starts_with("@@") {
        return vec![line.to_string()];
    }
    let mark: String = line.chars().take(1).collect();
    let mut rest: String = line.chars().skip(1).collect();
    let indent = rest.chars().take_while(|c| *c == ' ').count() + 2;
    let mut out = Vec::new();
    let mut first = true;
    while !rest.is_empty() {
        let room = if first {
            COLUMNS - 1
        } else {
            COLUMNS - 1 - indent
        };
        let chars: Vec<char> = rest.chars().collect();
        if chars.len() <= room {
            out.push(rest.clone());
            break;
        }
        // Break at the last space that leaves some text on the line, else at the edge.
        let cut = chars[..room]
            .iter()
            .rposition(|c| *c == ' ')
            .filter(|i| *i > room / 2)
            .map_or(room, |i| i + 1);
        out.push(
            chars[..cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        rest = chars[cut..].iter().collect();
        first = false;
    }
    out.into_iter()
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                format!("{mark}{part}")
            } else {
                format!("{mark}{}{part}", " ".repeat(indent))
            }
        })
        .collect()
}

/// Red removals and green additions; anstream drops the colors where they don't belong.
fn colorize(diff: &str) -> String {
    let red = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Red.into()));
    let green = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Green.into()));
    let cyan = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Cyan.into()));
    diff.lines()
        .flat_map(fold)
        .map(|l| {
            if l.starts_with("+++") || l.starts_with("---") || l.starts_with("@@") {
                format!("{cyan}{l}{cyan:#}")
            } else if l.starts_with('+') {
                format!("{green}{l}{green:#}")
            } else if l.starts_with('-') {
                format!("{red}{l}{red:#}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_template_line_goes_on_below_under_its_mark() {
        let long = format!(
            "+          comment: \"{}\"",
            "The SQS event source mapping invokes the function synchronously ".repeat(3)
        );
        let parts = fold(&long);
        assert!(parts.len() > 1, "{parts:?}");
        assert!(parts.iter().all(|p| p.starts_with('+')), "{parts:?}");
        assert!(
            parts.iter().all(|p| p.chars().count() <= COLUMNS),
            "{parts:?}"
        );
        // Nothing is lost: the words read the same once the parts are joined.
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let joined: Vec<String> = parts.iter().flat_map(|p| words(&p[1..])).collect();
        assert_eq!(joined, words(&long[1..]));
        assert_eq!(fold(" short"), vec![" short".to_string()]);
    }
}

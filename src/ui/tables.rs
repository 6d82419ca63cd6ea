//! Tables for people: change sets, outputs, status. Plain columns, so that they read well in a
//! terminal, a log and a snapshot alike.

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

use crate::core::changes::{Change, Replacement};

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    t
}

/// Action, logical id, type, and, when any row has them, replacement and changed properties:
/// one row per resource. A column that would say `-` on every row is left out, so that a
/// creation's table fits 80 columns.
pub fn changes(rows: &[Change]) -> String {
    let replacements = rows.iter().any(|c| c.replacement.is_some());
    let properties = rows.iter().any(|c| !c.properties.is_empty());
    let mut header = vec!["action", "logical id", "type"];
    if replacements {
        header.push("replacement");
    }
    if properties {
        header.push("changed");
    }
    let mut t = table(&header);
    for c in rows {
        let mut row = vec![
            c.action.as_str().to_string(),
            c.logical_id.clone(),
            c.resource_type.clone(),
        ];
        if replacements {
            row.push(c.replacement.map_or("-", Replacement::as_str).to_string());
        }
        if properties {
            row.push(if c.properties.is_empty() {
                "-".into()
            } else {
                c.properties.join(", ")
            });
        }
        t.add_row(row);
    }
    trim(t)
}

/// Two columns of keys and values.
pub fn pairs<'a>(header: [&str; 2], rows: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let mut t = table(&header);
    for (k, v) in rows {
        t.add_row(vec![k.to_string(), v]);
    }
    if let Some(col) = t.column_mut(0) {
        col.set_cell_alignment(CellAlignment::Left);
    }
    trim(t)
}

/// Rows under a header, first column left-aligned, the rest right-aligned.
pub fn grid(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = table(header);
    for r in rows {
        t.add_row(r);
    }
    for i in 1..header.len() {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    trim(t)
}

/// A value as a person reads it in a table: an SQS queue URL by the queue's name, an ARN by its
/// last part, an image by its repository and the digest's first 12 digits. What fits 80
/// columns; `--output json` keeps every value whole.
pub fn short(value: &str) -> String {
    if let Some((repo, digest)) = value.split_once("@sha256:") {
        let name = repo.rsplit('/').next().unwrap_or(repo);
        let head: String = digest.chars().take(12).collect();
        return format!("{name}@sha256:{head}");
    }
    if value.starts_with("arn:") {
        return value.rsplit(['/', ':']).next().unwrap_or(value).to_string();
    }
    if crate::core::config::queue_url(value).is_some()
        || (value.starts_with("http") && value.matches('/').count() == 4)
    {
        return value.rsplit('/').next().unwrap_or(value).to_string();
    }
    value.to_string()
}

/// The widest line of text output: a terminal's default, so that no row wraps.
pub const COLUMNS: usize = 80;

/// A value longer than `room` columns that names one of `stack`'s own resources
/// (`<stack>-<LogicalId>-<id>`, as CloudFormation names them), without the stack's name, which
/// heads its table: `…-<LogicalId>-<id>`. Any other value as it is; `--output json` keeps every
/// value whole.
pub fn within(stack: &str, value: &str, room: usize) -> String {
    match value.strip_prefix(stack) {
        Some(rest) if value.chars().count() > room && rest.starts_with('-') => format!("…{rest}"),
        _ => value.to_string(),
    }
}

/// The room for a value in a [`pairs`] table of these labels, set under a heading.
pub fn value_room<'a>(labels: impl IntoIterator<Item = &'a str>) -> usize {
    let label = labels
        .into_iter()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0);
    COLUMNS.saturating_sub(2 + label + 2)
}

/// Indents every line by two spaces, to set a table under its heading.
pub fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// comfy-table pads every line to the widest, and starts each with one space of padding;
/// trailing spaces only make diffs noisy. A row whose first cell is empty keeps its indent.
fn trim(t: Table) -> String {
    t.to_string()
        .lines()
        .map(|l| {
            let l = l.trim_end();
            l.strip_prefix(' ').unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::changes::Action;

    /// A creation (no replacement, no property named on any row) fits 80 columns indented under
    /// its heading, even with the longest type the stacks hold.
    #[test]
    fn a_creations_table_leaves_out_the_columns_no_row_fills() {
        let add = |id: &str, ty: &str| Change {
            action: Action::Add,
            logical_id: id.into(),
            resource_type: ty.into(),
            replacement: None,
            properties: vec![],
        };
        // The ECS stack's longest type, and the Lambda stack's longest logical id.
        for rows in [
            vec![
                add("DeadLetterQueue", "AWS::SQS::Queue"),
                add(
                    "ScalableTarget",
                    "AWS::ApplicationAutoScaling::ScalableTarget",
                ),
            ],
            vec![
                add("Function", "AWS::Lambda::Function"),
                add(
                    "ProductionEventSourceMapping",
                    "AWS::Lambda::EventSourceMapping",
                ),
            ],
        ] {
            let text = indent(&changes(&rows));
            assert!(
                !text.contains("replacement") && !text.contains("changed"),
                "{text}"
            );
            assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        }
    }

    #[test]
    fn values_are_shortened_to_what_a_person_reads() {
        assert_eq!(
            short(
                "https://sqs.eu-west-1.amazonaws.com/123456789012/it-flow-ecs-Queue-Z891FMQFTMHF"
            ),
            "it-flow-ecs-Queue-Z891FMQFTMHF"
        );
        assert_eq!(short("http://127.0.0.1:4566/123456789012/orders"), "orders");
        assert_eq!(
            short("arn:aws:ecs:eu-west-1:123456789012:service/cluster-A/it-flow-ecs-Service-X"),
            "it-flow-ecs-Service-X"
        );
        assert_eq!(
            short("arn:aws:lambda:eu-west-1:123456789012:function:orders"),
            "orders"
        );
        assert_eq!(
            short(&format!(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker@sha256:{}",
                "ab".repeat(32)
            )),
            "worker@sha256:abababababab"
        );
        assert_eq!(
            short("it-flow-ecs-Cluster-GES36AXKYYOZ"),
            "it-flow-ecs-Cluster-GES36AXKYYOZ"
        );
        assert_eq!(
            short("https://example.com/docs"),
            "https://example.com/docs"
        );
    }

    #[test]
    fn a_change_table_has_one_row_per_change() {
        let rows = vec![
            Change {
                action: Action::Modify,
                logical_id: "Queue".into(),
                resource_type: "AWS::SQS::Queue".into(),
                replacement: Some(Replacement::False),
                properties: vec!["VisibilityTimeout".into()],
            },
            Change {
                action: Action::Add,
                logical_id: "Schedule".into(),
                resource_type: "AWS::Events::Rule".into(),
                replacement: None,
                properties: vec![],
            },
        ];
        let text = changes(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with("action")
                && lines[1].contains("Queue")
                && lines[1].contains("VisibilityTimeout"),
            "{text}"
        );
        assert!(
            lines[2].contains("AWS::Events::Rule") && lines[2].ends_with('-'),
            "{text}"
        );
    }
}

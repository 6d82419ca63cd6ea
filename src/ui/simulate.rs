//! What `simulate` shows: the predicted summary beside `compare`'s table, each platform's
//! bottleneck and cost, and with `--explain` every scaling decision. Pure formatting.

use crate::core::simulate::decision::Decision;
use crate::core::simulate::scaling::clock;
use crate::core::simulate::Summary;

use super::experiment::platforms_table;

/// Dollar amounts that are read together, all with the same number of decimals: two, or as
/// many as the smallest amount above zero needs to show two significant digits (six at most,
/// a millionth of a dollar).
fn usds(values: &[f64]) -> Vec<String> {
    let smallest = values
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let decimals = if smallest.is_finite() && smallest < 1.0 {
        ((-smallest.log10()).floor() as usize + 2).clamp(2, 6)
    } else {
        2
    };
    values.iter().map(|v| format!("${v:.decimals$}")).collect()
}

/// The prediction's summary: the table, then bottlenecks and costs, and where the files are.
pub fn summary(s: &Summary) -> String {
    let mut out = format!(
        "PREDICTED by the model for {} ({} messages), not measured:\n\n",
        s.service, s.basis.messages
    );
    out.push_str(&platforms_table(&s.run.platforms));
    out.push_str("\n\nbottleneck:");
    for b in &s.bottlenecks {
        out.push_str(&format!("\n  {:<7} {}", b.platform, b.text));
    }
    out.push_str(&format!(
        "\n\ncost ({} prices of {}):",
        s.prices.region, s.prices.date
    ));
    for c in &s.cost {
        let run = usds(&[c.total_usd, c.compute_usd, c.sqs_usd]);
        let per_million = c
            .per_million_messages_usd
            .map_or("-".to_string(), |v| usds(&[v]).remove(0));
        out.push_str(&format!(
            "\n  {:<7} {} this run ({} compute, {} SQS), {per_million} per million messages: {}",
            c.platform, run[0], run[1], run[2], c.basis
        ));
    }
    out.push_str(&format!(
        "\n\nstopped: {}; files in {}: samples.csv, summary.json, chart.svg\n(per message {} s, task start {} s, metrics {} s late; --explain lists every decision)",
        s.run.stopped, s.run.out, s.basis.per_message_s, s.basis.task_start_s, s.basis.metric_delay_s
    ));
    out
}

/// One line per decision: `02:00 ecs    step     alarm ScaleOutAlarm in ALARM ...`.
pub fn decisions(ds: &[Decision]) -> String {
    ds.iter()
        .map(|d| {
            format!(
                "{:>7} {:<6} {:<10} {}",
                clock(d.at_ms),
                d.platform,
                d.rule,
                d.text
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::side::Side;

    #[test]
    fn decisions_read_as_a_timeline() {
        let d = Decision {
            at_ms: 120_000,
            platform: Side::Ecs,
            rule: "step".into(),
            text: "alarm ScaleOutAlarm in ALARM at 2,940 visible".into(),
        };
        assert_eq!(
            decisions(&[d]),
            "  02:00 ecs    step       alarm ScaleOutAlarm in ALARM at 2,940 visible"
        );
        // One line, one number of decimals: enough for its smallest amount.
        assert_eq!(usds(&[12.345, 12.3, 0.0]), ["$12.35", "$12.30", "$0.00"]);
        assert_eq!(
            usds(&[0.0003, 0.000_012_34, 0.0]),
            ["$0.000300", "$0.000012", "$0.000000"]
        );
        assert_eq!(usds(&[0.42, 0.0123]), ["$0.420", "$0.012"]);
    }
}

//! What `simulate` shows: the predicted summary beside `compare`'s table, each platform's
//! bottleneck and cost, and with `--explain` every scaling decision. Pure formatting.

use crate::core::simulate::decision::Decision;
use crate::core::simulate::scaling::clock;
use crate::core::simulate::Summary;

use super::experiment::platforms_table;

/// `$0.0123`, with enough digits for the small sums a short run costs.
fn usd(v: f64) -> String {
    if v >= 1.0 {
        format!("${v:.2}")
    } else {
        format!("${v:.6}")
    }
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
        let per_million = c.per_million_messages_usd.map_or("-".to_string(), usd);
        out.push_str(&format!(
            "\n  {:<7} {} this run ({} compute, {} SQS), {per_million} per million messages: {}",
            c.platform,
            usd(c.total_usd),
            usd(c.compute_usd),
            usd(c.sqs_usd),
            c.basis
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
        assert_eq!(
            (usd(12.345), usd(0.0001234)),
            ("$12.35".to_string(), "$0.000123".to_string())
        );
    }
}

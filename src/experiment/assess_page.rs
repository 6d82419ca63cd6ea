//! `assess --html FILE`: one self-contained page a team can share (no script, no link out, the
//! charts inline as SVG): the fleet ranked by monthly saving, then a section per service with
//! its figures, its notes and a chart of the recorded queue depth and task count (solid) beside
//! the model's drain on each platform (dashed), drawn by `chart.rs`.

use std::fmt::Write as _;

use super::chart::{self, Chart};
use crate::core::assess::recorded::Fleet;
use crate::core::assess::Report;
use crate::core::side::Side;

/// `&`, `<`, `>`, `"` and `'` escaped, for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn age(a: Option<f64>) -> String {
    a.map_or("-".into(), |s| format!("{s:.0} s"))
}

fn platform(r: &Report, side: Side) -> Option<&crate::core::assess::Platform> {
    r.platforms.iter().find(|p| p.platform == side)
}

/// The chart of one service, as SVG: what ran solid (the recorded depth and task count, ECS's),
/// the model's drain dashed; a line with nothing recorded says so in the legend.
pub fn service_chart(r: &Report) -> Result<String, String> {
    chart::render(&Chart {
        title: format!("{}: recorded (solid) and predicted (dashed)", r.service),
        platforms: &Side::BOTH,
        samples: &r.measured,
        load: None,
        predicted: &r.predicted,
        workers_not_measured: None,
        no_data: "not recorded",
    })
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:4px 8px}\
td.n{text-align:right}tr.lose td{color:#a33}section{margin-top:2.5em}\
.ready{color:#185}.notready{color:#a33}svg{max-width:100%;height:auto}small{color:#555}";

/// The whole page.
pub fn page(f: &Fleet, generated: &str) -> Result<String, String> {
    let mut h = String::new();
    let title = format!("replatform assess: cluster {}", f.cluster);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<p>{} service(s) assessed from {} day(s) of recorded traffic, ranked by monthly saving (ECS today less the recommended Lambda settings); predicted by replatform's scaling model, per 30-day month. <small>Made {}.</small></p>\n",
        escape(&title),
        escape(&title),
        f.services.len(),
        f.days,
        escape(generated)
    );
    h.push_str("<table id=\"ranking\"><tr><th>#</th><th>service</th><th>readiness</th><th>ECS $/month</th><th>Lambda $/month</th><th>saving $/month</th><th>age p99 ECS</th><th>age p99 Lambda</th></tr>\n");
    for (i, s) in f.services.iter().enumerate() {
        let r = &s.report;
        let ecs = platform(r, Side::Ecs);
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td class=\"n\">{}</td><td><a href=\"#s{i}\">{}</a></td><td class=\"{}\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            if s.saving_monthly_usd < 0.0 { "lose" } else { "save" },
            i + 1,
            escape(&r.service),
            if r.readiness.ready { "ready" } else { "notready" },
            if r.readiness.ready { "ready" } else { "not ready" },
            ecs.map_or(0.0, |p| p.monthly_usd),
            r.recommended.monthly_usd,
            s.saving_monthly_usd,
            age(ecs.and_then(|p| p.age_p99_s)),
            age(r.recommended.age_p99_s),
        );
    }
    h.push_str("</table>\n");
    if !f.unreadable.is_empty() {
        h.push_str("<h2>Not assessed</h2><ul id=\"unreadable\">\n");
        for u in &f.unreadable {
            let _ = writeln!(
                h,
                "<li><b>{}</b>: {}</li>",
                escape(&u.service),
                escape(&u.reason)
            );
        }
        h.push_str("</ul>\n");
    }
    if !f.not_sqs_workers.is_empty() {
        let _ = writeln!(
            h,
            "<p id=\"not-sqs\">No SQS queue in their task definition: {}</p>",
            escape(&f.not_sqs_workers.join(", "))
        );
    }
    for (i, s) in f.services.iter().enumerate() {
        let r = &s.report;
        let _ = writeln!(
            h,
            "<section id=\"s{i}\"><h2>{}. {}</h2>",
            i + 1,
            escape(&r.service)
        );
        h.push_str("<table><tr><th>platform</th><th>$/month</th><th>compute</th><th>SQS</th><th>age p50</th><th>age p99</th></tr>\n");
        for p in &r.platforms {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                p.platform.as_str(),
                p.monthly_usd,
                p.compute_monthly_usd,
                p.sqs_monthly_usd,
                age(p.age_p50_s),
                age(p.age_p99_s)
            );
        }
        h.push_str("</table>\n");
        let c = &r.recommended;
        let _ = writeln!(
            h,
            "<p>Recommended Lambda: memory {} MB{}{}: ${:.2}/month, age p99 {}{}.</p>",
            c.memory,
            c.batch_size
                .map_or(String::new(), |b| format!(", batch_size {b}")),
            c.max_concurrency
                .map_or(String::new(), |m| format!(", max_concurrency {m}")),
            c.monthly_usd,
            age(c.age_p99_s),
            if c.matches_ecs {
                " (no worse than ECS's)"
            } else {
                " (none tried matched ECS's p99 age)"
            }
        );
        if r.readiness.problems.is_empty() {
            h.push_str("<p class=\"ready\">Ready: Lambda can run it as it is.</p>\n");
        } else {
            h.push_str("<p class=\"notready\">Not ready:</p><ul>\n");
            for p in &r.readiness.problems {
                let _ = writeln!(h, "<li>{}</li>", escape(p));
            }
            h.push_str("</ul>\n");
        }
        h.push_str("<ul class=\"notes\">\n");
        for n in &r.notes {
            let _ = writeln!(h, "<li><small>{}</small></li>", escape(n));
        }
        h.push_str("</ul>\n");
        h.push_str(&service_chart(r)?);
        h.push_str("\n</section>\n");
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

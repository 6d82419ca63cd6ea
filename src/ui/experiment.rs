//! What `load` and `compare` show while they run and when they end: a progress bar with the
//! rate achieved, a live side-by-side view of both platforms (a line each, with a small plot of
//! the depth so far), plain lines where there is no terminal, and the summaries.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::core::experiment::{sparkline, Sample};
use crate::core::load::Pace;
use crate::core::side::Side;
use crate::experiment::compare::{Platform, SeenEvent};
use crate::experiment::load::{LoadReport, Plan, Target};
use crate::experiment::Summary;
use crate::ui::printer::{Printer, Shown};
use crate::ui::tables;

/// `load`'s progress: a bar on a terminal, a line every few seconds elsewhere, nothing with
/// `--quiet` or `--output json`.
pub struct LoadBar {
    bar: Option<ProgressBar>,
    plain: bool,
    total: u64,
    started: Instant,
    last_line: std::cell::Cell<Instant>,
}

impl LoadBar {
    pub fn new(printer: &Printer, targets: &[Target], plan: &Plan) -> Self {
        let total = Pace::total(&crate::experiment::load::schedule(plan).1) * targets.len() as u64;
        let shown = printer.shown();
        let bar = (shown == Shown::Live).then(|| {
            let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> ");
            let names: Vec<&str> = targets.iter().map(|t| t.platform.as_str()).collect();
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(style)
                .with_prefix(format!("sending to {}", names.join(" and ")))
        });
        Self {
            bar,
            plain: shown == Shown::Plain,
            total,
            started: Instant::now(),
            last_line: std::cell::Cell::new(Instant::now()),
        }
    }

    pub fn update(&self, targets: &[Target]) {
        let sent: u64 = targets.iter().map(|t| t.sent.load(Ordering::Relaxed)).sum();
        let failed: u64 = targets
            .iter()
            .map(|t| t.failed.load(Ordering::Relaxed))
            .sum();
        let rate = sent as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let msg = if failed > 0 {
            format!("{rate:.0} msg/s, {failed} not sent")
        } else {
            format!("{rate:.0} msg/s")
        };
        if let Some(b) = &self.bar {
            b.set_position(sent + failed);
            b.set_message(msg);
        } else if self.plain && self.last_line.get().elapsed() >= Duration::from_secs(5) {
            self.last_line.set(Instant::now());
            let _ = writeln!(
                anstream::stderr(),
                "  sent {sent} of {} ({msg})",
                self.total
            );
        }
    }

    /// Prints a line above the bar.
    pub fn suspend(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(b) => b.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// `load`'s closing lines: sent, not sent, rate.
pub fn load_summary(r: &LoadReport) -> Vec<String> {
    let mut lines = Vec::new();
    for q in &r.queues {
        lines.push(format!(
            "{:<7} {} sent, {} not sent  {}",
            q.platform, q.sent, q.failed, q.url
        ));
    }
    lines.push(format!(
        "{} messages ({} to each queue{}) in {:.1} s: {:.0} msg/s; run {}, seed {}",
        r.sent,
        r.planned,
        if r.interrupted { ", interrupted" } else { "" },
        r.elapsed_s,
        r.rate,
        r.run,
        r.seed
    ));
    lines
}

/// `compare`'s view while it samples.
pub struct Watch {
    mode: Mode,
    platforms: Vec<Side>,
    started: Instant,
    /// The notes last shown for each platform: a missing source is said once, not every sample.
    notes: std::cell::RefCell<Vec<String>>,
    /// Messages the load sends to each queue, if one runs.
    planned: u64,
}

enum Mode {
    Live {
        _multi: MultiProgress,
        header: ProgressBar,
        lines: Vec<ProgressBar>,
    },
    Plain,
    Silent,
}

/// Samples shown in the small plot.
const PLOT_WIDTH: usize = 40;

fn opt(v: Option<u64>) -> String {
    v.map_or("?".to_string(), |v| v.to_string())
}

/// One platform's line: depth, workers, dead-letter depth.
pub fn sample_line(s: &Sample) -> String {
    let depth = match s.depth() {
        Some(d) => format!(
            "depth {d:>5} ({} visible, {} in flight)",
            opt(s.visible),
            opt(s.in_flight)
        ),
        None => "depth     ?".to_string(),
    };
    let workers = if s.ecs_desired.is_some() {
        format!(
            "tasks {} running, {} desired, {} pending",
            opt(s.ecs_running),
            opt(s.ecs_desired),
            opt(s.ecs_pending)
        )
    } else if s.platform == Side::Lambda {
        match (&s.cloudwatch_minute, s.lambda_concurrency) {
            (Some(m), c) => format!(
                "concurrency {} (CloudWatch, minute {})",
                opt(c),
                m.get(11..16).unwrap_or(m)
            ),
            (None, _) => "concurrency ? (no CloudWatch data)".to_string(),
        }
    } else {
        format!("workers {}", opt(s.workers))
    };
    format!(
        "{:<7} {depth}  {workers}  dlq {}",
        s.platform,
        opt(s.dead_letter)
    )
}

impl Watch {
    pub fn new(printer: &Printer, platforms: &[Platform], plan: Option<&Plan>) -> Self {
        let names: Vec<Side> = platforms.iter().map(|p| p.platform).collect();
        let mode = match printer.shown() {
            Shown::Live => {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
                let header = multi.add(
                    ProgressBar::new_spinner().with_style(
                        ProgressStyle::with_template("{spinner} {elapsed_precise} {wide_msg}")
                            .expect("a valid template"),
                    ),
                );
                header.enable_steady_tick(Duration::from_millis(200));
                header.set_message("first sample…");
                let lines = names
                    .iter()
                    .map(|_| {
                        multi.add(ProgressBar::new_spinner().with_style(
                            ProgressStyle::with_template("  {wide_msg}").expect("a valid template"),
                        ))
                    })
                    .collect();
                Mode::Live {
                    _multi: multi,
                    header,
                    lines,
                }
            }
            Shown::Plain => Mode::Plain,
            Shown::Silent => Mode::Silent,
        };
        let planned = plan.map_or(0, |p| Pace::total(&crate::experiment::load::schedule(p).1));
        Self {
            notes: std::cell::RefCell::new(vec![String::new(); names.len()]),
            mode,
            platforms: names,
            started: Instant::now(),
            planned,
        }
    }

    pub fn event(&self, e: &SeenEvent) {
        let text = format!(
            "  {:>6.0}s {} service: {}",
            e.elapsed_s, e.platform, e.message
        );
        match &self.mode {
            Mode::Live { header, .. } => header.suspend(|| {
                let _ = writeln!(anstream::stderr(), "{text}");
            }),
            Mode::Plain => {
                let _ = writeln!(anstream::stderr(), "{text}");
            }
            Mode::Silent => {}
        }
    }

    /// After each round of samples. `loading`: whether the load is still being sent, if any.
    pub fn samples(&self, all: &[Sample], targets: &[Target], loading: Option<bool>) {
        let load = match loading {
            Some(true) => format!(
                "sending: {} of {} sent",
                targets
                    .iter()
                    .map(|t| t.sent.load(Ordering::Relaxed))
                    .sum::<u64>(),
                self.planned * targets.len() as u64
            ),
            Some(false) => "load sent; waiting for the queues to drain".to_string(),
            None => "waiting for the queues to drain".to_string(),
        };
        match &self.mode {
            Mode::Live { header, lines, .. } => {
                header.set_message(load);
                let max = all.iter().filter_map(Sample::depth).max().unwrap_or(0);
                for (&name, bar) in self.platforms.iter().zip(lines) {
                    let of: Vec<&Sample> = all.iter().filter(|s| s.platform == name).collect();
                    let Some(last) = of.last() else { continue };
                    let depths: Vec<u64> = of
                        .iter()
                        .rev()
                        .take(PLOT_WIDTH)
                        .rev()
                        .map(|s| s.depth().unwrap_or(0))
                        .collect();
                    bar.set_message(format!(
                        "{}  {}",
                        sample_line(last),
                        sparkline(&depths, max)
                    ));
                }
            }
            Mode::Plain => {
                let t = self.started.elapsed().as_secs_f64();
                let mut shown = self.notes.borrow_mut();
                for (&name, shown) in self.platforms.iter().zip(shown.iter_mut()) {
                    if let Some(last) = all.iter().rev().find(|s| s.platform == name) {
                        let _ = writeln!(anstream::stderr(), "{t:>6.0}s {}", sample_line(last));
                        if &last.notes != shown {
                            *shown = last.notes.clone();
                            if !shown.is_empty() {
                                let _ = writeln!(anstream::stderr(), "        {name}: {shown}");
                            }
                        }
                    }
                }
            }
            Mode::Silent => {}
        }
    }

    pub fn finish(&self) {
        if let Mode::Live { header, lines, .. } = &self.mode {
            for b in lines {
                b.finish();
            }
            header.finish_and_clear();
        }
    }
}

fn secs(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0} s"))
}

/// The closing table: one column per platform; then the prediction, the cost and the files,
/// each line within 80 columns (a long reason folds under its text).
pub fn compare_summary(s: &Summary) -> String {
    use crate::ui::printer::fold;
    let width = Some(crate::ui::tables::COLUMNS);
    let mut out = platforms_table(&s.run.platforms);
    if let Some(p) = &s.prediction {
        out.push_str(&format!(
            "\n\npredicted by the model (replatform simulate), dashed on the chart; the gap is\nmeasured - predicted, xN measured / predicted:\n{}",
            fold(
                &format!(
                    "  per message {} s, task start {} s; load: {}",
                    p.per_message_s, p.task_start_s, p.load
                ),
                width,
                4
            )
        ));
        for g in &p.gaps {
            let ratio = g.ratio.map_or("-".to_string(), |r| format!("x{r:.2}"));
            let gap = g.gap_s.map_or("-".to_string(), |v| format!("{v:+.1} s"));
            out.push_str(&format!(
                "\n  {:<7} drained {} predicted, {} measured: gap {gap} ({ratio})",
                g.platform,
                secs(g.predicted_drained_s),
                secs(g.measured_drained_s)
            ));
        }
        for b in &p.bottlenecks {
            out.push_str(&format!(
                "\n  {:<7} {}",
                b.platform,
                fold(&format!("predicted bottleneck: {}", b.text), width, 10)
            ));
        }
    } else if let Some(note) = &s.prediction_note {
        out.push_str(&format!(
            "\n\n{}",
            fold(&format!("no prediction: {note}"), width, 2)
        ));
    }
    out.push_str("\n\ncost of the measured run (built-in prices):");
    for c in &s.cost {
        let usd = c
            .cost
            .as_ref()
            .map_or("-".to_string(), |c| format!("${:.6}", c.total_usd));
        out.push_str(&format!(
            "\n  {:<7} {}",
            c.platform,
            fold(&format!("{usd}: {}", c.method), width, 10)
        ));
    }
    out.push_str(&format!(
        "\n\nstopped: {}\nfiles in {}: samples.csv, summary.json, chart.svg",
        s.run.stopped, s.run.out
    ));
    out.push_str("\n(\"-\": no data for it; samples.csv's notes column says which source was\nmissing and why)");
    if let Some(endpoint) = &s.endpoint {
        out.push_str(&format!(
            "\n(measured against {endpoint}, not AWS: an emulator runs no task and no function,\nso the worker counts and the costs from them are the emulator's; local stand-ins\ndid the work)"
        ));
    }
    out
}

/// The platforms' summaries side by side, a column each: `compare`'s and `simulate`'s table.
pub fn platforms_table(platforms: &[crate::core::experiment::PlatformSummary]) -> String {
    let mut header = vec!["measure"];
    header.extend(platforms.iter().map(|p| p.platform.as_str()));
    let row = |label: &str, f: &dyn Fn(&crate::core::experiment::PlatformSummary) -> String| {
        let mut r = vec![label.to_string()];
        r.extend(platforms.iter().map(f));
        r
    };
    let rows = vec![
        row("messages sent", &|p| {
            p.sent.map_or("-".into(), |v| v.to_string())
        }),
        row("first worker after", &|p| secs(p.first_worker_s)),
        row("first receive after", &|p| secs(p.first_receive_s)),
        row("drained after", &|p| secs(p.drained_s)),
        row("peak depth", &|p| {
            p.peak_depth.map_or("-".into(), |v| v.to_string())
        }),
        row("peak workers", &|p| {
            p.peak_workers.map_or("-".into(), |v| v.to_string())
        }),
        row("dead-lettered", &|p| {
            p.dead_lettered.map_or("-".into(), |v| v.to_string())
        }),
        row("messages / worker-minute", &|p| {
            p.messages_per_worker_minute
                .map_or("-".into(), |v| format!("{v:.1}"))
        }),
    ];
    tables::grid(&header, rows)
}

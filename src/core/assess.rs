//! `assess --traffic FILE`: a recorded per-minute series replayed through the scaling model
//! (`simulate`'s) for the config's ECS and Lambda settings; each platform's cost scaled to a
//! 30-day month and its messages' age at receive; the cheapest Lambda settings of a small grid
//! that keep p99 age no worse than ECS's. Pure: the file's text comes in, the report goes out.
//!
//! Age: the model's queue holds counts, not messages, so each message's age is derived FIFO
//! from two cumulative counts the model reports at every change ([`simulate::Tick`]): messages
//! sent and messages taken (received and not given back). The k-th message taken is taken as
//! the k-th sent; its age is the second it was taken less the second it was sent.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::cost::{self, Compute, Prices};
use super::experiment::Sample;
use super::load::Wave;
use super::side::Side;
use super::simulate::lambda::Trigger;
use super::simulate::{self, Inputs, Setup, Tick};

/// One minute of the series in seconds.
pub const MINUTE_S: u64 = 60;
/// The month costs are scaled to: 30 days, in minutes.
pub const MONTH_MINUTES: u64 = 30 * 24 * 60;
/// The columns a traffic file may hold; `time` and `sent` are required.
pub const COLUMNS: [&str; 5] = ["time", "sent", "deleted", "visible", "oldest_age_s"];
/// Lambda memory sizes the search tries beside the config's.
pub const MEMORY_SIZES: [u32; 5] = [128, 256, 512, 1024, 2048];
/// The event source mapping's batch sizes the search tries.
pub const BATCH_SIZES: [u64; 3] = [1, 5, 10];
/// `max_concurrency` values the search tries, up to the reserved concurrency (AWS accepts
/// 2..=1000).
pub const MAX_CONCURRENCIES: [u32; 6] = [2, 5, 10, 25, 50, 100];

/// A recorded per-minute series, one value a minute from `start_unix_s`.
#[derive(Clone, Debug, PartialEq)]
pub struct Traffic {
    pub start_unix_s: u64,
    pub sent: Vec<f64>,
    /// The optional columns, when the file has them (read and checked; not replayed).
    pub deleted: Option<Vec<f64>>,
    pub visible: Option<Vec<f64>>,
    pub oldest_age_s: Option<Vec<f64>>,
}

impl Traffic {
    pub fn minutes(&self) -> u64 {
        self.sent.len() as u64
    }
    pub fn messages(&self) -> u64 {
        self.sent.iter().sum::<f64>().round() as u64
    }
}

/// A time cell: RFC 3339 (`Z` or an offset) or whole seconds since the epoch.
pub fn parse_time(cell: &str) -> Result<u64, String> {
    let s = cell.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = s
            .parse()
            .map_err(|_| format!("`{s}` is too large for seconds since the epoch"))?;
        if n >= 100_000_000_000 {
            return Err(format!(
                "`{s}` reads as milliseconds; write seconds since the epoch"
            ));
        }
        return Ok(n);
    }
    // humantime reads `Z` only: an offset is read off and applied here.
    let (base, offset_s): (String, i64) = match s.len().checked_sub(6).map(|i| s.split_at(i)) {
        Some((b, o))
            if (o.starts_with('+') || o.starts_with('-'))
                && o.as_bytes()[3] == b':'
                && b.contains('T') =>
        {
            let h: i64 = o[1..3].parse().map_err(|_| bad_time(s))?;
            let m: i64 = o[4..6].parse().map_err(|_| bad_time(s))?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            (format!("{b}Z"), sign * (h * 3600 + m * 60))
        }
        _ => (s.to_string(), 0),
    };
    let t = humantime::parse_rfc3339(&base).map_err(|_| bad_time(s))?;
    let unix = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| bad_time(s))?
        .as_secs() as i64;
    u64::try_from(unix - offset_s).map_err(|_| bad_time(s))
}

fn bad_time(s: &str) -> String {
    format!("`{s}` is not a time: write RFC 3339 (2026-01-01T00:00:00Z) or seconds since the epoch")
}

/// Reads a traffic CSV: a header naming `time` and `sent` (and optionally `deleted`, `visible`,
/// `oldest_age_s`), then one row a minute, each exactly a minute after the one before. Errors
/// name the line.
pub fn parse_traffic(text: &str) -> Result<Traffic, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| format!("line 1: {e}"))?
        .clone();
    let mut index = [None; 5];
    for (i, name) in header.iter().enumerate() {
        let Some(k) = COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name)) else {
            return Err(format!(
                "line 1: unknown column `{name}`; the columns are {}",
                COLUMNS.join(", ")
            ));
        };
        if index[k].replace(i).is_some() {
            return Err(format!("line 1: the column `{name}` is named twice"));
        }
    }
    let (Some(time_col), Some(_)) = (index[0], index[1]) else {
        return Err(format!(
            "line 1: the header `{}` lacks `time` or `sent`; write `time,sent` (optionally with deleted, visible, oldest_age_s)",
            header.iter().collect::<Vec<_>>().join(",")
        ));
    };
    let mut times: Vec<u64> = Vec::new();
    let mut columns: [Vec<f64>; 5] = Default::default();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!("line {}: {e}", p.line()),
            None => e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let t = parse_time(&record[time_col]).map_err(|e| format!("line {line}: {e}"))?;
        if let Some(&prev) = times.last() {
            if t <= prev {
                return Err(format!(
                    "line {line}: time `{}` is not after the row before; the rows must go forward a minute at a time",
                    &record[time_col]
                ));
            }
            if t != prev + MINUTE_S {
                return Err(format!(
                    "line {line}: time `{}` is {} s after the row before; one row a minute, no gaps (write 0 for a minute with no message)",
                    &record[time_col],
                    t - prev
                ));
            }
        }
        times.push(t);
        for (k, col) in index.iter().enumerate().skip(1) {
            let Some(i) = col else { continue };
            let cell = &record[*i];
            let v: f64 = cell
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    format!(
                        "line {line}: `{}` is `{cell}`, not a count of 0 or more",
                        COLUMNS[k]
                    )
                })?;
            columns[k].push(v);
        }
    }
    let Some(&start_unix_s) = times.first() else {
        return Err("line 2: no row after the header; one row a minute is needed".into());
    };
    let [_, sent, deleted, visible, oldest] = columns;
    let present = |k: usize, v: Vec<f64>| index[k].map(|_| v);
    Ok(Traffic {
        start_unix_s,
        sent,
        deleted: present(2, deleted),
        visible: present(3, visible),
        oldest_age_s: present(4, oldest),
    })
}

/// The model's sends: each minute's `sent` spread evenly over its 60 seconds, one wave a
/// second that has a message. Fractional counts (a Prometheus rate) carry over, so the total
/// is the series' total, rounded.
pub fn waves(t: &Traffic) -> Vec<Wave> {
    let mut out = Vec::new();
    let mut total = 0.0f64;
    let mut emitted = 0u64;
    for (m, &sent) in t.sent.iter().enumerate() {
        for s in 0..MINUTE_S {
            let target = (total + sent * (s + 1) as f64 / MINUTE_S as f64).round() as u64;
            if target > emitted {
                out.push(Wave {
                    at: Duration::from_secs(m as u64 * MINUTE_S + s),
                    count: target - emitted,
                });
                emitted = target;
            }
        }
        total += sent;
    }
    out
}

/// Each message's age at receive, in whole seconds, counted FIFO from the sent and taken
/// counts (see the module's comment).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ages {
    /// Messages sent and not yet taken: (second sent, count), oldest first.
    waiting: VecDeque<(u64, u64)>,
    sent: u64,
    taken: u64,
    /// Messages by age in seconds (index), up to the oldest seen: dense, since a replay's ages
    /// are mostly seconds and every message adds to one.
    by_age: Vec<u64>,
    /// Messages still waiting when the replay ended, counted at their age then.
    pub unfinished: u64,
}

impl Ages {
    /// The counts at the end of second `at_s`: `sent` and `taken` so far. A taken count that
    /// falls (messages given back at their visibility timeout) counts nothing until it is
    /// above its highest again: a message's age is its first receive.
    pub fn observe(&mut self, at_s: u64, sent: u64, taken: u64) {
        if sent > self.sent {
            self.waiting.push_back((at_s, sent - self.sent));
            self.sent = sent;
        }
        let mut due = taken.saturating_sub(self.taken);
        self.taken = self.taken.max(taken);
        while due > 0 {
            let Some(front) = self.waiting.front_mut() else {
                break;
            };
            let (sent_s, n) = (front.0, front.1.min(due));
            front.1 -= n;
            due -= n;
            if front.1 == 0 {
                self.waiting.pop_front();
            }
            self.add(at_s.saturating_sub(sent_s), n);
        }
    }

    /// The replay ended at `at_s`: what still waits is counted at its age then (a lower bound).
    pub fn close(&mut self, at_s: u64) {
        for (sent_s, n) in std::mem::take(&mut self.waiting) {
            self.add(at_s.saturating_sub(sent_s), n);
            self.unfinished += n;
        }
    }

    fn add(&mut self, age_s: u64, n: u64) {
        let i = age_s as usize;
        if i >= self.by_age.len() {
            self.by_age.resize(i + 1, 0);
        }
        self.by_age[i] += n;
    }

    /// Age in seconds -> messages, for the ages that have any.
    pub fn histogram(&self) -> BTreeMap<u64, u64> {
        self.by_age
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(age, &n)| (age as u64, n))
            .collect()
    }

    pub fn count(&self) -> u64 {
        self.by_age.iter().sum()
    }

    /// The `q` quantile (nearest rank), `None` with no message.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (age, &c) in self.by_age.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(age as f64);
            }
        }
        None
    }
}

/// The replayed period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Period {
    pub start: String,
    pub end: String,
    pub minutes: u64,
}

/// One platform's prediction for the series, scaled to a 30-day month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Platform {
    pub platform: Side,
    pub monthly_usd: f64,
    pub compute_monthly_usd: f64,
    pub sqs_monthly_usd: f64,
    pub age_p50_s: Option<f64>,
    pub age_p99_s: Option<f64>,
    /// Messages the model received in the period.
    pub messages: u64,
    /// Messages still waiting at the period's end (their age counted then).
    pub unfinished: u64,
}

/// The Lambda settings the search chose.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recommended {
    pub memory: u32,
    /// `None` for a schedule trigger, whose batch is the worker's own receive.
    pub batch_size: Option<u64>,
    /// `None`: unset (reserved concurrency under 2, or a schedule trigger).
    pub max_concurrency: Option<u32>,
    pub monthly_usd: f64,
    pub age_p99_s: Option<f64>,
    /// Whether its p99 age is no worse than ECS's; when no candidate is, the one with the
    /// lowest p99 age.
    pub matches_ecs: bool,
    /// The settings tried.
    pub candidates: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// What keeps it from moving: read from AWS, what `init` cannot carry over; none for a
    /// config that loads (`--traffic`: one with an error stops `assess`).
    pub problems: Vec<String>,
}

/// `assess`'s document.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub service: String,
    pub period: Period,
    pub platforms: Vec<Platform>,
    pub recommended: Recommended,
    pub readiness: Readiness,
    /// How the figures were made, in words.
    pub notes: Vec<String>,
    /// What was read of AWS (`assess CLUSTER/SERVICE`, `--cluster`); absent for `--traffic`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<recorded::Recorded>,
    /// The replay of the config's settings, at most [`CHART_POINTS`] samples a platform (the
    /// HTML page's chart); not in the JSON document.
    #[serde(skip)]
    pub predicted: Vec<Sample>,
    /// What ran (the recorded queue depth and task count, as ECS's samples), thinned likewise;
    /// empty for `--traffic`.
    #[serde(skip)]
    pub measured: Vec<Sample>,
    /// The model's ECS task count at each minute's start and at the period's end, to set beside
    /// a recorded count (`recorded::model_tasks_mean`).
    #[serde(skip)]
    pub ecs_tasks: Vec<u64>,
}

/// Samples a platform kept for a chart.
pub const CHART_POINTS: usize = 720;

/// Cost of the period times 30 days over the period's length.
pub fn monthly(period_usd: f64, minutes: u64) -> f64 {
    period_usd * MONTH_MINUTES as f64 / minutes.max(1) as f64
}

/// One replay: both platforms' usage and ages.
pub struct Replay {
    pub run: simulate::Run,
    /// ECS's, Lambda's.
    pub ages: [Ages; 2],
}

/// Replays `inputs` (its `window` the period) through the model for `setup`.
pub fn replay(setup: &Setup, inputs: &Inputs) -> Replay {
    replay_sides(setup, inputs, true)
}

/// [`replay`] of the Lambda side alone (`simulate::run_lambda_only`): what the settings search
/// prices, since its candidates differ only in Lambda's settings. ECS's figures in it are empty.
pub fn replay_lambda(setup: &Setup, inputs: &Inputs) -> Replay {
    replay_sides(setup, inputs, false)
}

fn replay_sides(setup: &Setup, inputs: &Inputs, ecs: bool) -> Replay {
    let mut ages = [Ages::default(), Ages::default()];
    let mut last_s = 0;
    let run_it = if ecs {
        simulate::run_observed
    } else {
        simulate::run_lambda_only
    };
    let run = run_it(setup, inputs, &mut |t: Tick| {
        last_s = t.at_ms / 1000;
        for (a, taken) in ages.iter_mut().zip(t.taken) {
            a.observe(last_s, t.sent, taken);
        }
    });
    let end_s = run.ended_ms / 1000;
    for a in &mut ages {
        a.close(end_s.max(last_s));
    }
    Replay { run, ages }
}

fn platform(replay: &Replay, side: Side, prices: &Prices, minutes: u64) -> Platform {
    let i = usize::from(side == Side::Lambda);
    let usage = replay
        .run
        .usage
        .iter()
        .find(|u| u.platform == side)
        .expect("the model reports both platforms");
    let c = cost::cost(usage, prices);
    let a = &replay.ages[i];
    Platform {
        platform: side,
        monthly_usd: monthly(c.total_usd, minutes),
        compute_monthly_usd: monthly(c.compute_usd, minutes),
        sqs_monthly_usd: monthly(c.sqs_usd, minutes),
        age_p50_s: a.quantile(0.5),
        age_p99_s: a.quantile(0.99),
        messages: a.count() - a.unfinished,
        unfinished: a.unfinished,
    }
}

/// Lambda's monthly cost of a replay at `memory_mb`: the model's handling time does not depend
/// on memory, so one replay prices every size.
fn lambda_monthly_at(replay: &Replay, memory_mb: u32, prices: &Prices, minutes: u64) -> f64 {
    let mut usage = replay
        .run
        .usage
        .iter()
        .find(|u| u.platform == Side::Lambda)
        .expect("the model reports both platforms")
        .clone();
    if let Compute::Lambda { memory_mb: m, .. } = &mut usage.compute {
        *m = memory_mb;
    }
    monthly(cost::cost(&usage, prices).total_usd, minutes)
}

/// The `max_concurrency` values the search tries under a concurrency limit of `cap`.
pub fn concurrency_candidates(cap: u32, configured: Option<u32>) -> Vec<Option<u32>> {
    let top = cap.min(1000);
    if top < 2 {
        return vec![None];
    }
    let mut v: Vec<u32> = MAX_CONCURRENCIES
        .into_iter()
        .filter(|&m| m <= top)
        .chain([top])
        .chain(configured.filter(|&m| (2..=top).contains(&m)))
        .collect();
    v.sort_unstable();
    v.dedup();
    v.into_iter().map(Some).collect()
}

/// The memory sizes the search tries: the config's and [`MEMORY_SIZES`].
pub fn memory_candidates(configured: u32) -> Vec<u32> {
    let mut v: Vec<u32> = MEMORY_SIZES.into_iter().chain([configured]).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// One setting of the grid priced: memory, batch size, `max_concurrency`, monthly cost, p99 age.
type Tried = (u32, Option<u64>, Option<u32>, f64, Option<f64>);

/// The whole report for a series; `readiness` comes from `validate`.
pub fn assess(
    setup: &Setup,
    traffic: &Traffic,
    base: &Inputs,
    prices: &Prices,
    readiness: Readiness,
) -> Report {
    let minutes = traffic.minutes();
    let inputs = Inputs {
        sends: waves(traffic),
        window: Some(Duration::from_secs(minutes * MINUTE_S)),
        interval: Duration::from_secs(MINUTE_S),
        start_unix_ms: traffic.start_unix_s * 1000,
        ..base.clone()
    };
    let first = replay(setup, &inputs);
    let platforms: Vec<Platform> = Side::BOTH
        .into_iter()
        .map(|s| platform(&first, s, prices, minutes))
        .collect();
    let ecs_p99 = platforms[0].age_p99_s;
    let mut notes = vec![
        format!(
            "{minutes} minutes replayed through the model, costs scaled to a 30-day month (x{:.2})",
            MONTH_MINUTES as f64 / minutes.max(1) as f64
        ),
        "age: from send to first receive, per message, matched first in first out from the model's sent and received counts".into(),
        format!(
            "the model takes --per-message ({} s) at every memory size: measure the handler at the recommended memory before lowering it",
            inputs.per_message.as_secs_f64()
        ),
    ];
    let mut tried: Vec<Tried> = Vec::new();
    let memories = memory_candidates(setup.lambda.memory_mb);
    let mut price_all = |r: &Replay, batch: Option<u64>, mc: Option<u32>| {
        let p99 = r.ages[1].quantile(0.99);
        for &m in &memories {
            tried.push((m, batch, mc, lambda_monthly_at(r, m, prices, minutes), p99));
        }
    };
    match setup.lambda.trigger {
        Trigger::Sqs {
            batch_size,
            window_ms,
            max_concurrency,
            provisioned,
        } => {
            if provisioned.is_some() {
                notes.push("the search leaves out provisioned pollers: max_concurrency cannot be combined with them".into());
            }
            let cap = setup.lambda.concurrency.limit();
            // The search prices usage and ages, which samples do not change (a unit test
            // compares): sampled at the period's first and last second only.
            let unsampled = Inputs {
                interval: inputs.window.unwrap_or(inputs.interval),
                ..inputs.clone()
            };
            for b in BATCH_SIZES {
                for mc in concurrency_candidates(cap, max_concurrency) {
                    let trigger = Trigger::Sqs {
                        batch_size: b,
                        window_ms,
                        max_concurrency: mc,
                        provisioned: None,
                    };
                    if (b, mc, provisioned) == (batch_size, max_concurrency, None) {
                        price_all(&first, Some(b), mc);
                        continue;
                    }
                    let mut s = setup.clone();
                    s.lambda.trigger = trigger;
                    price_all(&replay_lambda(&s, &unsampled), Some(b), mc);
                }
            }
        }
        Trigger::Schedule { .. } => {
            notes.push("a schedule trigger: the search varies memory only (an sqs trigger's batch_size and max_concurrency do not apply)".into());
            price_all(&first, None, None);
        }
    }
    let within = |p99: Option<f64>| match (p99, ecs_p99) {
        (Some(l), Some(e)) => l <= e,
        (None, _) => true,
        (Some(_), None) => false,
    };
    let candidates = tried.len();
    let key = |t: &Tried| (t.3, t.4.unwrap_or(0.0));
    let matching = tried
        .iter()
        .filter(|t| within(t.4))
        .min_by(|a, b| key(a).partial_cmp(&key(b)).expect("finite"));
    let (best, matches_ecs) = match matching {
        Some(b) => (b, true),
        None => (
            tried
                .iter()
                .min_by(|a, b| {
                    (a.4.unwrap_or(0.0), a.3)
                        .partial_cmp(&(b.4.unwrap_or(0.0), b.3))
                        .expect("finite")
                })
                .expect("at least one candidate"),
            false,
        ),
    };
    let rfc = |s: u64| {
        humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .to_string()
    };
    Report {
        service: setup.service.clone(),
        period: Period {
            start: rfc(traffic.start_unix_s),
            end: rfc(traffic.start_unix_s + minutes * MINUTE_S),
            minutes,
        },
        platforms,
        recommended: Recommended {
            memory: best.0,
            batch_size: best.1,
            max_concurrency: best.2,
            monthly_usd: best.3,
            age_p99_s: best.4,
            matches_ecs,
            candidates,
        },
        readiness,
        notes,
        recorded: None,
        predicted: recorded::thin(&first.run.samples, CHART_POINTS),
        measured: Vec::new(),
        ecs_tasks: first
            .run
            .samples
            .iter()
            .filter(|s| s.platform == Side::Ecs)
            .map(|s| s.workers.unwrap_or(0))
            .collect(),
    }
}

pub mod recorded;

#[cfg(test)]
mod tests;

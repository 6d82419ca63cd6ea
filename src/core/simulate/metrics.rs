//! SQS's CloudWatch metrics as an alarm sees them (one datapoint a minute, published late, none
//! for a queue that was never active) and CloudWatch alarms over them: period, statistic,
//! evaluation periods, datapoints to alarm, the missing-data treatment and the metric math of a
//! sum of metrics. Pure.

use std::fmt;

pub const MINUTE_MS: u64 = 60_000;

/// The queue metrics the alarms read (SQS developer guide, "Available CloudWatch metrics for
/// Amazon SQS").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// `ApproximateNumberOfMessagesVisible`
    Visible,
    /// `ApproximateNumberOfMessagesNotVisible`
    NotVisible,
    /// `ApproximateNumberOfMessagesDelayed`
    Delayed,
}

impl Metric {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ApproximateNumberOfMessagesVisible" => Some(Metric::Visible),
            "ApproximateNumberOfMessagesNotVisible" => Some(Metric::NotVisible),
            "ApproximateNumberOfMessagesDelayed" => Some(Metric::Delayed),
            _ => None,
        }
    }
}

/// One minute's values of one queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Minute {
    pub visible: u64,
    pub not_visible: u64,
    pub delayed: u64,
}

impl Minute {
    fn get(&self, m: Metric) -> u64 {
        match m {
            Metric::Visible => self.visible,
            Metric::NotVisible => self.not_visible,
            Metric::Delayed => self.delayed,
        }
    }
}

/// The datapoints SQS publishes for one queue.
#[derive(Clone, Debug)]
pub struct QueueMetrics {
    /// Minute `i` of the run; `None`: the queue was not active then, nothing was published.
    minutes: Vec<Option<Minute>>,
    current: Minute,
    current_active: bool,
    /// From the end of a minute to its datapoint reaching CloudWatch.
    pub delay_ms: u64,
}

impl QueueMetrics {
    pub fn new(delay_ms: u64) -> Self {
        Self {
            minutes: Vec::new(),
            current: Minute::default(),
            current_active: false,
            delay_ms,
        }
    }

    /// The queue as it stands at `now_ms` (called every tick, in order). SQS developer guide,
    /// "Available CloudWatch metrics for Amazon SQS": the counts are sampled once a minute; the
    /// model keeps each minute's largest value, what `Maximum` over a 60 s period reads.
    /// `active`: the queue has seen a message or a call; "SQS stops publishing metrics for idle
    /// queues" (docs/pitfalls.md#p14), so a queue never touched has no datapoints.
    pub fn record(&mut self, now_ms: u64, m: Minute, active: bool) {
        let index = (now_ms / MINUTE_MS) as usize;
        while self.minutes.len() < index {
            self.minutes
                .push(self.current_active.then_some(self.current));
            self.current = Minute::default();
            self.current_active = false;
        }
        self.current.visible = self.current.visible.max(m.visible);
        self.current.not_visible = self.current.not_visible.max(m.not_visible);
        self.current.delayed = self.current.delayed.max(m.delayed);
        self.current_active |= active;
    }

    /// Minute `index`'s value, if it has been published by `now_ms`: a minute's datapoint
    /// arrives `delay_ms` after the minute ends (docs/pitfalls.md#p29: once a minute, late).
    pub fn datapoint(&self, metric: Metric, index: u64, now_ms: u64) -> Option<u64> {
        if (index + 1) * MINUTE_MS + self.delay_ms > now_ms {
            return None;
        }
        self.minutes
            .get(index as usize)
            .copied()
            .flatten()
            .map(|m| m.get(metric))
    }
}

/// `Statistic` (or `Stat`) over the minutes of one period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    Maximum,
    Minimum,
    Average,
    Sum,
}

impl Statistic {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "Maximum" => Some(Self::Maximum),
            "Minimum" => Some(Self::Minimum),
            "Average" => Some(Self::Average),
            "Sum" => Some(Self::Sum),
            _ => None,
        }
    }

    pub fn apply(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        Some(match self {
            Self::Maximum => values.iter().copied().fold(f64::MIN, f64::max),
            Self::Minimum => values.iter().copied().fold(f64::MAX, f64::min),
            Self::Average => values.iter().sum::<f64>() / values.len() as f64,
            Self::Sum => values.iter().sum(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    GreaterThanOrEqual,
    GreaterThan,
    LessThanOrEqual,
    LessThan,
}

impl Comparison {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "GreaterThanOrEqualToThreshold" => Some(Self::GreaterThanOrEqual),
            "GreaterThanThreshold" => Some(Self::GreaterThan),
            "LessThanOrEqualToThreshold" => Some(Self::LessThanOrEqual),
            "LessThanThreshold" => Some(Self::LessThan),
            _ => None,
        }
    }

    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::GreaterThanOrEqual => value >= threshold,
            Self::GreaterThan => value > threshold,
            Self::LessThanOrEqual => value <= threshold,
            Self::LessThan => value < threshold,
        }
    }

    /// Scale-out alarms breach upwards: their steps read "above the threshold".
    pub fn upwards(self) -> bool {
        matches!(self, Self::GreaterThanOrEqual | Self::GreaterThan)
    }

    fn symbol(self) -> &'static str {
        match self {
            Self::GreaterThanOrEqual => ">=",
            Self::GreaterThan => ">",
            Self::LessThanOrEqual => "<=",
            Self::LessThan => "<",
        }
    }
}

/// `TreatMissingData` (CloudWatch user guide, "Configuring how CloudWatch alarms treat missing
/// data").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingData {
    Breaching,
    NotBreaching,
    /// `ignore`: the alarm keeps its state.
    Ignore,
    /// `missing` (the default): evaluated on the datapoints there are; none at all is
    /// INSUFFICIENT_DATA.
    Missing,
}

impl MissingData {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "breaching" => Some(Self::Breaching),
            "notBreaching" => Some(Self::NotBreaching),
            "ignore" => Some(Self::Ignore),
            "missing" => Some(Self::Missing),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Ok,
    Alarm,
    InsufficientData,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Ok => "OK",
            State::Alarm => "ALARM",
            State::InsufficientData => "INSUFFICIENT_DATA",
        })
    }
}

/// A CloudWatch alarm on the queue's metrics, as the template renders it.
#[derive(Clone, Debug, PartialEq)]
pub struct Alarm {
    /// The template's logical id (`ScaleOutAlarm`).
    pub name: String,
    /// The metrics added together: one for a plain alarm, several for metric math of the form
    /// `a + b` (the scale-in alarm's visible + in flight, docs/pitfalls.md#p15).
    pub metrics: Vec<Metric>,
    pub label: String,
    pub statistic: Statistic,
    pub period_minutes: u64,
    pub evaluation_periods: u64,
    pub datapoints_to_alarm: u64,
    pub threshold: f64,
    pub comparison: Comparison,
    pub missing: MissingData,
    /// The scaling policies its `AlarmActions` name.
    pub actions: Vec<String>,
}

/// One evaluation's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub state: State,
    /// The window's datapoints, oldest first; `None` where missing.
    pub values: Vec<Option<f64>>,
    pub breaching: u64,
}

impl Alarm {
    /// One period's value: the statistic over its minutes of each metric, summed. `None` when
    /// any metric has no datapoint in it (metric math over missing data has none either).
    fn period_value(&self, q: &QueueMetrics, period: u64, now_ms: u64) -> Option<f64> {
        let mut total = 0.0;
        for &m in &self.metrics {
            let first = period * self.period_minutes;
            let values: Vec<f64> = (first..first + self.period_minutes)
                .filter_map(|i| q.datapoint(m, i, now_ms))
                .map(|v| v as f64)
                .collect();
            total += self.statistic.apply(&values)?;
        }
        Some(total)
    }

    /// Evaluates at `now_ms` (CloudWatch evaluates a 60 s alarm once a minute): the last
    /// `evaluation_periods` periods whose datapoints are due by now. ALARM when at least
    /// `datapoints_to_alarm` of them breach, counting missing ones as `TreatMissingData` says.
    pub fn evaluate(&self, q: &QueueMetrics, now_ms: u64, previous: State) -> Evaluation {
        let period_ms = self.period_minutes * MINUTE_MS;
        // The newest period that could have been published: its end plus the delay has passed.
        let due = now_ms.saturating_sub(q.delay_ms) / period_ms;
        let values: Vec<Option<f64>> = (due.saturating_sub(self.evaluation_periods)..due)
            .map(|p| self.period_value(q, p, now_ms))
            .collect();
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        let breaching_present = present
            .iter()
            .filter(|&&v| self.comparison.breaches(v, self.threshold))
            .count() as u64;
        let missing = self.evaluation_periods - present.len() as u64;
        let (breaching, state) = match self.missing {
            MissingData::Breaching => {
                let b = breaching_present + missing;
                (
                    b,
                    if b >= self.datapoints_to_alarm {
                        State::Alarm
                    } else {
                        State::Ok
                    },
                )
            }
            MissingData::NotBreaching => (
                breaching_present,
                if breaching_present >= self.datapoints_to_alarm {
                    State::Alarm
                } else {
                    State::Ok
                },
            ),
            MissingData::Ignore if present.is_empty() => (0, previous),
            MissingData::Missing if present.is_empty() => (0, State::InsufficientData),
            MissingData::Ignore | MissingData::Missing => {
                let needed = self.datapoints_to_alarm.min(present.len() as u64);
                (
                    breaching_present,
                    if breaching_present >= needed {
                        State::Alarm
                    } else {
                        State::Ok
                    },
                )
            }
        };
        Evaluation {
            state,
            values,
            breaching,
        }
    }

    /// `visible >= 1`, the alarm's condition in words.
    pub fn condition(&self) -> String {
        format!(
            "{} {} {}",
            self.label,
            self.comparison.symbol(),
            self.threshold
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale_out() -> Alarm {
        Alarm {
            name: "ScaleOutAlarm".into(),
            metrics: vec![Metric::Visible],
            label: "visible".into(),
            statistic: Statistic::Maximum,
            period_minutes: 1,
            evaluation_periods: 1,
            datapoints_to_alarm: 1,
            threshold: 1.0,
            comparison: Comparison::GreaterThanOrEqual,
            missing: MissingData::NotBreaching,
            actions: vec!["ScaleOutPolicy".into()],
        }
    }

    fn scale_in(periods: u64) -> Alarm {
        Alarm {
            name: "ScaleInAlarm".into(),
            metrics: vec![Metric::Visible, Metric::NotVisible],
            label: "visible + in flight".into(),
            threshold: 0.0,
            comparison: Comparison::LessThanOrEqual,
            missing: MissingData::Breaching,
            evaluation_periods: periods,
            datapoints_to_alarm: periods,
            actions: vec!["ScaleInPolicy".into()],
            ..scale_out()
        }
    }

    /// One recorded value a second from 0 to `until_s`.
    fn metrics(delay_ms: u64, until_s: u64, at: impl Fn(u64) -> Option<Minute>) -> QueueMetrics {
        let mut q = QueueMetrics::new(delay_ms);
        for s in 0..=until_s {
            match at(s) {
                Some(m) => q.record(s * 1000, m, true),
                None => q.record(s * 1000, Minute::default(), false),
            }
        }
        q
    }

    #[test]
    fn a_minute_is_published_after_it_ends_plus_the_delay() {
        let q = metrics(60_000, 200, |s| {
            Some(Minute {
                visible: s,
                ..Default::default()
            })
        });
        assert_eq!(q.datapoint(Metric::Visible, 0, 119_999), None);
        assert_eq!(
            q.datapoint(Metric::Visible, 0, 120_000),
            Some(59),
            "the minute's largest value"
        );
        assert_eq!(q.datapoint(Metric::Visible, 1, 180_000), Some(119));
    }

    #[test]
    fn scale_out_alarms_at_the_first_published_minute_and_not_before() {
        let q = metrics(60_000, 300, |_| {
            Some(Minute {
                visible: 500,
                ..Default::default()
            })
        });
        let a = scale_out();
        assert_eq!(
            a.evaluate(&q, 60_000, State::Ok).state,
            State::Ok,
            "nothing published yet: missing is not breaching"
        );
        let e = a.evaluate(&q, 120_000, State::Ok);
        assert_eq!(
            (e.state, e.values.clone()),
            (State::Alarm, vec![Some(500.0)])
        );
    }

    #[test]
    fn an_idle_queue_publishes_nothing_and_scale_in_counts_that_as_empty() {
        let q = metrics(60_000, 600, |_| None);
        assert_eq!(
            scale_out().evaluate(&q, 600_000, State::Ok).state,
            State::Ok
        );
        let e = scale_in(5).evaluate(&q, 600_000, State::Ok);
        assert_eq!(
            (e.state, e.breaching),
            (State::Alarm, 5),
            "missing data is breaching on scale-in (docs/pitfalls.md#p14)"
        );
    }

    #[test]
    fn scale_in_needs_every_period_empty_with_nothing_in_flight() {
        // Busy until 3:00 with messages in flight and none visible; empty afterwards.
        let q = metrics(0, 600, |s| {
            Some(Minute {
                visible: 0,
                not_visible: if s < 180 { 10 } else { 0 },
                delayed: 0,
            })
        });
        let a = scale_in(3);
        assert_eq!(
            a.evaluate(&q, 300_000, State::Ok).state,
            State::Ok,
            "minutes 2..5: minute 2 had messages in flight"
        );
        let e = a.evaluate(&q, 360_000, State::Ok);
        assert_eq!(
            (e.state, e.values),
            (State::Alarm, vec![Some(0.0), Some(0.0), Some(0.0)]),
            "minutes 3, 4, 5 empty"
        );
    }

    #[test]
    fn statistics_and_comparisons() {
        assert_eq!(Statistic::Average.apply(&[1.0, 2.0, 6.0]), Some(3.0));
        assert_eq!(Statistic::Sum.apply(&[1.0, 2.0]), Some(3.0));
        assert_eq!(Statistic::Minimum.apply(&[4.0, 2.0]), Some(2.0));
        assert_eq!(Statistic::Maximum.apply(&[]), None);
        assert!(
            Comparison::GreaterThanOrEqual.breaches(1.0, 1.0)
                && !Comparison::GreaterThan.breaches(1.0, 1.0)
        );
        assert!(
            Comparison::LessThanOrEqual.breaches(0.0, 0.0)
                && !Comparison::LessThan.breaches(0.0, 0.0)
        );
    }
}

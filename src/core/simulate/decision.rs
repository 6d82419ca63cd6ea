//! The model's account of itself: every scaling decision with its time, rule and numbers (for
//! `simulate --explain`), and the bottleneck of each platform, named from the seconds in which
//! messages waited and what held the workers back then. Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::side::Side;

/// One scaling decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Milliseconds of simulated time since the load began.
    pub at_ms: u64,
    /// `ecs` or `lambda`.
    pub platform: Side,
    /// The rule that decided: `alarm`, `step`, `cooldown`, `max`, `exact`, `task-start`,
    /// `sigterm`, `pollers`, `throttle`, `schedule`, ...
    pub rule: String,
    /// What happened, with the numbers behind it.
    pub text: String,
}

/// What held a platform back while messages waited.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bottleneck {
    pub platform: Side,
    /// The limit that held longest: `max`, `ExactCapacity`, `cooldown`, `task start`, `alarm
    /// period`, `reserved concurrency`, `max_concurrency`, `ramp`, `ceiling`, `schedule rate`,
    /// `timeout`, ...; `none` when no message ever waited for a worker.
    pub name: String,
    /// Seconds with messages waiting while this limit held.
    pub seconds: u64,
    /// Of all seconds with messages waiting, this limit's share.
    pub share: f64,
    /// Every limit seen, with its seconds.
    pub seen: BTreeMap<String, u64>,
    pub text: String,
}

/// Counts, per platform, the seconds each limit held while messages were visible.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    seconds: BTreeMap<&'static str, u64>,
}

impl Tally {
    pub fn add(&mut self, limit: &'static str) {
        *self.seconds.entry(limit).or_default() += 1;
    }

    /// The limit that held longest (ties: the first by name).
    pub fn bottleneck(&self, platform: Side, explain: impl Fn(&str) -> String) -> Bottleneck {
        let total: u64 = self.seconds.values().sum();
        let top = self
            .seconds
            .iter()
            .fold(None::<(&str, u64)>, |best, (&k, &v)| match best {
                Some((_, b)) if b >= v => best,
                _ => Some((k, v)),
            });
        match top {
            Some((name, seconds)) => Bottleneck {
                platform,
                name: name.to_string(),
                seconds,
                share: seconds as f64 / total as f64,
                seen: self
                    .seconds
                    .iter()
                    .map(|(&k, &v)| (k.to_string(), v))
                    .collect(),
                text: format!(
                    "{} ({seconds} s of {total} s with messages waiting)",
                    explain(name)
                ),
            },
            None => Bottleneck {
                platform,
                name: "none".into(),
                seconds: 0,
                share: 0.0,
                seen: BTreeMap::new(),
                text: "no message waited for a worker".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_that_held_longest_is_the_bottleneck() {
        let mut t = Tally::default();
        for _ in 0..3 {
            t.add("task start");
        }
        for _ in 0..7 {
            t.add("max");
        }
        let b = t.bottleneck(Side::Ecs, |n| format!("limit {n}"));
        assert_eq!((b.name.as_str(), b.seconds), ("max", 7));
        assert!((b.share - 0.7).abs() < 1e-9);
        assert_eq!(b.text, "limit max (7 s of 10 s with messages waiting)");
        assert_eq!(
            Tally::default().bottleneck(Side::Lambda, |n| n.into()).name,
            "none"
        );
    }
}

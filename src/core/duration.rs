//! Durations as `replatform.yaml` writes them (`30s`, `5m`, `4h`, `4d`, or plain seconds). Pure.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A whole number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Secs(pub u64);

impl Secs {
    pub fn minutes(self) -> u64 {
        self.0 / 60
    }
}

impl fmt::Display for Secs {
    /// Writes the shortest exact form: `90s`, `5m`, `2h`, `4d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s != 0 && s % 86_400 == 0 {
            write!(f, "{}d", s / 86_400)
        } else if s != 0 && s % 3_600 == 0 {
            write!(f, "{}h", s / 3_600)
        } else if s != 0 && s % 60 == 0 {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

/// How a duration is written, said the same way by every message about one.
pub const DURATION_RULE: &str = "a duration is a whole number of seconds (`90`) or a whole number and one unit, s, m, h or d, without a space (`30s`, `5m`, `4d`)";

/// Parses `30s`, `5m`, `4h`, `4d` or `90`; the message says what is accepted.
pub fn parse(text: &str) -> Result<Secs, String> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let factor = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => 0,
    };
    let n: Option<u64> = if factor == 0 || digits.is_empty() {
        None
    } else {
        digits.parse().ok()
    };
    n.and_then(|n| n.checked_mul(factor))
        .map(Secs)
        .ok_or_else(|| format!("invalid duration `{text}`: {DURATION_RULE}"))
}

impl serde::Serialize for Secs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Secs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `30s`, `5m`, `4d` or a number of seconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Secs, E> {
                Ok(Secs(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Secs, E> {
                u64::try_from(v).map(Secs).map_err(|_| {
                    E::custom(format!("invalid duration `{v}`: it cannot be negative"))
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secs, E> {
                parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse("30s"), Ok(Secs(30)));
        assert_eq!(parse("5m"), Ok(Secs(300)));
        assert_eq!(parse("2h"), Ok(Secs(7_200)));
        assert_eq!(parse("4d"), Ok(Secs(345_600)));
        assert_eq!(parse("90"), Ok(Secs(90)));
        assert_eq!(parse(" 0s "), Ok(Secs(0)));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        for bad in [
            "",
            "s",
            "5x",
            "1.5m",
            "-3s",
            "5 m m",
            "m5",
            "99999999999999999999d",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            parse("5x").unwrap_err(),
            format!("invalid duration `5x`: {DURATION_RULE}")
        );
    }

    #[test]
    fn displays_shortest_exact_form() {
        let shown: Vec<String> = [0, 45, 60, 90, 3_600, 345_600]
            .iter()
            .map(|s| Secs(*s).to_string())
            .collect();
        assert_eq!(shown, ["0s", "45s", "1m", "90s", "1h", "4d"]);
    }
}

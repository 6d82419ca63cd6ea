//! What `replatform load` sends, and when: the pace (a burst, the seed article's
//! (docs/seed-article.md) batches with pauses, or a steady rate), the generated bodies that carry
//! each message's id and send time, and the grouping into `SendMessageBatch` calls. Pure: the clock
//! and the randomness come in as values.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// SQS's classic size limit for one message and for one `SendMessageBatch` call, bodies and
/// attributes together. Regions accept up to 1 MiB now; 256 KiB works everywhere.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// Entries in one `SendMessageBatch` call.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Room left in a message for the two attributes every message carries.
pub const ATTRIBUTE_ALLOWANCE: usize = 256;
/// The widest body `--size` may ask for.
pub const MAX_BODY_BYTES: usize = MAX_MESSAGE_BYTES - ATTRIBUTE_ALLOWANCE;
/// The attribute holding the message id (`<run>-<seq>`), the same on both queues.
pub const ID_ATTRIBUTE: &str = "replatform-id";
/// The attribute holding the send time, in milliseconds since the Unix epoch.
pub const SENT_AT_ATTRIBUTE: &str = "replatform-sent-at";

/// `--size MIN..MAX`: the body length in bytes, drawn evenly from the range for each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeRange {
    pub min: usize,
    pub max: usize,
}

impl Default for SizeRange {
    fn default() -> Self {
        Self { min: 64, max: 128 }
    }
}

impl fmt::Display for SizeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.min, self.max)
    }
}

impl FromStr for SizeRange {
    type Err = String;

    /// `MIN..MAX` or one number, in bytes; `MIN` at least [`MIN_BODY_BYTES`].
    fn from_str(s: &str) -> Result<Self, String> {
        let number = |t: &str| {
            t.trim().parse::<usize>().map_err(|_| {
                format!("`{t}` is not a number of bytes; write MIN..MAX, e.g. 64..128")
            })
        };
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (number(a)?, number(b.trim_start_matches('='))?),
            None => {
                let n = number(s)?;
                (n, n)
            }
        };
        if min > max {
            return Err(format!(
                "the range {min}..{max} is reversed; write the smaller size first: {max}..{min}"
            ));
        }
        if min < MIN_BODY_BYTES {
            return Err(format!("{min} bytes cannot hold a message's id and send time; the smallest body is {MIN_BODY_BYTES} bytes"));
        }
        if max > MAX_BODY_BYTES {
            return Err(format!("{max} bytes is over SQS's limit; the largest body is {MAX_BODY_BYTES} bytes (256 KiB less room for the attributes)"));
        }
        Ok(Self { min, max })
    }
}

/// How the messages are spread over time.
#[derive(Clone, Debug, PartialEq)]
pub enum Pace {
    /// `--count N`: all at once, as fast as the concurrency allows.
    Burst { count: u64 },
    /// The article's seeder: `batches` batches of 1..=`max_per_batch` messages (drawn at
    /// random), `pause` apart.
    Batches {
        batches: u32,
        max_per_batch: u32,
        pause: Duration,
    },
    /// `--rate R`: message k is due at k / R seconds, `total` messages in all.
    Rate { per_second: f64, total: u64 },
}

/// Messages due at one moment, offset from the start.
#[derive(Clone, Debug, PartialEq)]
pub struct Wave {
    pub at: Duration,
    pub count: u64,
}

/// The shortest gap between two waves of a steady rate: faster rates send several messages a
/// wave rather than one call per message.
const TICK: Duration = Duration::from_millis(100);

impl Pace {
    /// The waves, in time order. `rng` draws the seeder's batch sizes.
    pub fn waves(&self, rng: &mut fastrand::Rng) -> Vec<Wave> {
        match *self {
            Pace::Burst { count } => vec![Wave {
                at: Duration::ZERO,
                count,
            }],
            Pace::Batches {
                batches,
                max_per_batch,
                pause,
            } => (0..batches)
                .map(|i| Wave {
                    at: pause * i,
                    count: u64::from(rng.u32(1..=max_per_batch.max(1))),
                })
                .collect(),
            Pace::Rate { per_second, total } => {
                let tick = TICK.as_secs_f64().max(1.0 / per_second);
                let per_tick = per_second * tick;
                let mut waves = Vec::new();
                let mut sent = 0u64;
                let mut j = 0u64;
                while sent < total {
                    let due_by = (((j + 1) as f64 * per_tick).ceil() as u64).min(total);
                    if due_by > sent {
                        waves.push(Wave {
                            at: Duration::from_secs_f64(j as f64 * tick),
                            count: due_by - sent,
                        });
                        sent = due_by;
                    }
                    j += 1;
                }
                waves
            }
        }
    }

    /// How many messages go to each queue.
    pub fn total(waves: &[Wave]) -> u64 {
        waves.iter().map(|w| w.count).sum()
    }
}

/// The message id both queues' copies share: the run's id and the message's number.
pub fn message_id(run: &str, seq: u64) -> String {
    format!("{run}-{seq:07}")
}

/// A run id: eight lowercase letters and digits.
pub fn run_id(rng: &mut fastrand::Rng) -> String {
    (0..8)
        .map(|_| rng.alphanumeric().to_ascii_lowercase())
        .collect()
}

/// The smallest generated body: the JSON frame with a 16-character id, a 13-digit time and no
/// padding.
pub const MIN_BODY_BYTES: usize = r#"{"id":"","sent_at_ms":,"pad":""}"#.len() + 16 + 13;

/// A generated body of exactly `size` bytes (or the frame's own length, if larger):
/// `{"id":"<run>-<seq>","sent_at_ms":<ms>,"pad":"<A-Z…>"}`. Workers that parse JSON can read
/// the id and the send time; the padding is uppercase letters, as the article's seeder sent.
pub fn body(id: &str, sent_at_ms: u64, size: usize, rng: &mut fastrand::Rng) -> String {
    let mut out = format!(r#"{{"id":"{id}","sent_at_ms":{sent_at_ms},"pad":""#);
    let frame = out.len() + 2;
    out.extend((0..size.saturating_sub(frame)).map(|_| rng.uppercase()));
    out.push_str("\"}");
    out
}

/// Splits one wave's messages (their sizes in bytes, attributes included) into
/// `SendMessageBatch` calls: at most ten entries and 256 KiB a call, in order.
pub fn batches(sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && (i - start == MAX_BATCH_ENTRIES || bytes + size > MAX_MESSAGE_BYTES) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_ranges_parse_and_refuse_what_sqs_would() {
        assert_eq!(
            "64..128".parse::<SizeRange>(),
            Ok(SizeRange { min: 64, max: 128 })
        );
        assert_eq!(
            "100".parse::<SizeRange>(),
            Ok(SizeRange { min: 100, max: 100 })
        );
        assert_eq!(
            "64..=70".parse::<SizeRange>(),
            Ok(SizeRange { min: 64, max: 70 })
        );
        assert!("200..100"
            .parse::<SizeRange>()
            .unwrap_err()
            .contains("reversed"));
        assert!("10..50"
            .parse::<SizeRange>()
            .unwrap_err()
            .contains("cannot hold"));
        assert!("64..300000"
            .parse::<SizeRange>()
            .unwrap_err()
            .contains("over SQS's limit"));
        assert!("a..b"
            .parse::<SizeRange>()
            .unwrap_err()
            .contains("not a number"));
    }

    #[test]
    fn bodies_have_the_size_asked_and_parse_as_json() {
        let mut rng = fastrand::Rng::with_seed(7);
        let id = message_id("abcdefgh", 42);
        for size in [MIN_BODY_BYTES, 100, 4096] {
            let b = body(&id, 1_795_000_000_123, size, &mut rng);
            assert_eq!(b.len(), size);
            let v: serde_json::Value = serde_json::from_str(&b).unwrap();
            assert_eq!(v["id"], "abcdefgh-0000042");
            assert_eq!(v["sent_at_ms"], 1_795_000_000_123u64);
        }
        // Smaller than the frame: the frame, nothing cut.
        assert_eq!(
            body(&id, 1_795_000_000_123, 10, &mut rng).len(),
            MIN_BODY_BYTES
        );
    }

    #[test]
    fn a_burst_is_one_wave() {
        assert_eq!(
            Pace::Burst { count: 500 }.waves(&mut fastrand::Rng::with_seed(1)),
            vec![Wave {
                at: Duration::ZERO,
                count: 500
            }]
        );
    }

    #[test]
    fn the_seeders_batches_hold_one_to_max_messages_a_pause_apart() {
        let waves = Pace::Batches {
            batches: 50,
            max_per_batch: 7,
            pause: Duration::from_secs(2),
        }
        .waves(&mut fastrand::Rng::with_seed(3));
        assert_eq!(waves.len(), 50);
        assert!(waves.iter().all(|w| (1..=7).contains(&w.count)));
        assert!(
            waves.iter().any(|w| w.count == 7) && waves.iter().any(|w| w.count == 1),
            "the sizes vary over the whole range"
        );
        assert_eq!(waves[3].at, Duration::from_secs(6));
        // The same seed, the same batches.
        assert_eq!(
            waves,
            Pace::Batches {
                batches: 50,
                max_per_batch: 7,
                pause: Duration::from_secs(2)
            }
            .waves(&mut fastrand::Rng::with_seed(3))
        );
    }

    #[test]
    fn a_rate_spreads_messages_evenly() {
        let mut rng = fastrand::Rng::with_seed(1);
        // 50/s: five messages every 100 ms.
        let waves = Pace::Rate {
            per_second: 50.0,
            total: 120,
        }
        .waves(&mut rng);
        assert_eq!(Pace::total(&waves), 120);
        assert!(waves.iter().all(|w| w.count == 5));
        assert_eq!(waves[10].at, Duration::from_secs(1));
        // 2/s: one message every 500 ms.
        let waves = Pace::Rate {
            per_second: 2.0,
            total: 5,
        }
        .waves(&mut rng);
        assert_eq!(
            waves
                .iter()
                .map(|w| (w.at.as_millis(), w.count))
                .collect::<Vec<_>>(),
            vec![(0, 1), (500, 1), (1000, 1), (1500, 1), (2000, 1)]
        );
        // 15/s does not divide a tick: 1.5 a tick on average, the total exact.
        let waves = Pace::Rate {
            per_second: 15.0,
            total: 30,
        }
        .waves(&mut rng);
        assert_eq!(Pace::total(&waves), 30);
        assert!((waves.last().unwrap().at.as_secs_f64() - 1.9).abs() < 1e-9);
    }

    #[test]
    fn batches_hold_ten_entries_and_256_kib_at_most() {
        assert_eq!(batches(&[100; 25]), vec![0..10, 10..20, 20..25]);
        assert_eq!(batches(&[100_000, 100_000, 100_000, 10]), vec![0..2, 2..4]);
        assert_eq!(batches(&[MAX_MESSAGE_BYTES, 1]), vec![0..1, 1..2]);
        assert!(batches(&[]).is_empty());
    }
}

//! The command line's options resolved into the workflows' typed inputs (the load plan), so that
//! the commands that share them need not import each other.

use crate::cli::LoadOptions;
use crate::core::load::Pace;
use crate::error::Failure;
use crate::experiment::load::{Bodies, Plan};

/// Turns the options into a plan, refusing what cannot be sent. No AWS call yet.
pub fn load_plan(o: &LoadOptions) -> Result<Plan, Failure> {
    let pace = match (o.count, o.batches, o.rate) {
        (Some(count), None, None) => Pace::Burst { count },
        (None, Some(batches), None) => Pace::Batches { batches, max_per_batch: o.max_per_batch, pause: o.pause },
        (count, None, Some(rate)) => {
            let total = match (count, o.duration) {
                (Some(n), _) => n,
                (None, Some(d)) => (rate * d.as_secs_f64()).round() as u64,
                (None, None) => return Err(Failure::new("--rate needs to know when to stop").hint("add --duration (e.g. --rate 20 --duration 2m) or --count N")),
            };
            if total == 0 {
                return Err(Failure::new(format!("--rate {rate} for {} sends no message", humantime::format_duration(o.duration.unwrap_or_default()))).hint("make --duration longer or the rate higher"));
            }
            Pace::Rate { per_second: rate, total }
        }
        _ => return Err(Failure::new("say how much to send").hint("--count N (a burst), --batches B [--max-per-batch M --pause D] (the article's seeder), or --rate R --duration D")),
    };
    let bodies = match &o.body_file {
        Some(path) => {
            let body = std::fs::read_to_string(path).map_err(|e| {
                Failure::new(format!("cannot read --body-file `{}`: {e}", path.display()))
                    .hint("SQS bodies are text: UTF-8, no NUL")
            })?;
            if body.is_empty() || body.len() > crate::core::load::MAX_BODY_BYTES {
                return Err(Failure::new(format!(
                    "--body-file `{}` holds {} bytes",
                    path.display(),
                    body.len()
                ))
                .hint(format!(
                    "a body must be 1..{} bytes",
                    crate::core::load::MAX_BODY_BYTES
                )));
            }
            Bodies::Fixed(body)
        }
        None => Bodies::Generated(o.size),
    };
    Ok(Plan {
        pace,
        bodies,
        concurrency: usize::from(o.concurrency),
        seed: o.seed.unwrap_or_else(|| fastrand::u64(..)),
    })
}

//! What a person sees of `cutover` and `rollback` as they go: `app::cutover` reports each
//! [`Event`] to a [`Progress`]; [`Printed`] words it on stderr through the [`Printer`] (an
//! information line, which `--quiet` drops, or a warning, always shown), and [`Recording`] keeps
//! the events for a test. The lines are the ones the command has always printed.

use std::sync::Mutex;

use crate::core::cutover::Event;
use crate::ui::printer::Printer;

/// Where `app::cutover` reports what it does.
pub trait Progress: Send + Sync {
    fn report(&self, event: Event);
}

/// How a line is shown: information (dropped by `--quiet`) or a warning (always shown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
}

/// An event in words, and how it is shown.
pub fn line(event: &Event) -> (Level, String) {
    use Level::{Info, Warning};
    match event {
        Event::NotCompared { why } => (
            Warning,
            format!(
                "could not compare the Lambda stack with the config ({why}); counted as different"
            ),
        ),
        Event::PoolUnread {
            endpoint: Some(url),
            ..
        } => (
            Info,
            format!("the endpoint `{url}` is not AWS's: Lambda's account concurrency could not be read there, so the account-pool check was skipped; against AWS it runs"),
        ),
        Event::PoolUnread {
            endpoint: None,
            error,
        } => (
            Warning,
            format!("could not read the account's Lambda concurrency ({error}); the account-pool check was skipped"),
        ),
        Event::Continuing {
            cluster,
            service,
            record: r,
        } => (
            Info,
            format!("continuing the cutover recorded on `{cluster}/{service}`: stage {}% was the last applied; recorded min {} max {} desired {}", r.stage, r.bounds.min, r.bounds.max, r.bounds.desired),
        ),
        Event::Stage { what } => (Info, what.clone()),
        Event::Recorded {
            cluster,
            service,
            at,
            bounds: b,
        } => (
            Info,
            format!(
                "recorded `{cluster}/{service}` (min {} max {} desired {}{}) as {at}",
                b.min,
                b.max,
                b.desired,
                if b.scaled { "" } else { ", no scalable target" }
            ),
        ),
        Event::Applied { percent } => (Info, format!("stage {percent}%: applied and recorded")),
        Event::RollingBack { reason } => (Warning, format!("{reason}; rolling back")),
        Event::Watching {
            percent,
            bake,
            every,
        } => (
            Info,
            format!(
                "stage {percent}%: watching for {} (a sample every {})",
                humantime::format_duration(*bake),
                humantime::format_duration(*every)
            ),
        ),
        Event::Sampled { at_s, sample: s } => (
            Info,
            format!(
                "  {at_s:>4} s: errors {}, throttles {}, dead-letter {}, oldest {} s, depth {}",
                s.errors, s.throttles, s.dlq_depth, s.oldest_age_s, s.depth
            ),
        ),
        Event::Step {
            what,
            error: Some(e),
            ..
        } => (Warning, format!("{what}: {e}")),
        Event::Step {
            what,
            outcome,
            error: None,
        } => (Info, format!("{what}: {outcome}")),
        Event::NothingRecorded { cluster, service } => (
            Info,
            format!("no cutover is recorded on `{cluster}/{service}`: its bounds and desired count are left as they are"),
        ),
        Event::NoMapping => (
            Info,
            "the function has no mapping on the production queue: nothing consumes it from Lambda"
                .into(),
        ),
    }
}

/// Each event as a line on stderr, through the printer.
pub struct Printed<'a> {
    printer: &'a Printer,
}

impl<'a> Printed<'a> {
    pub fn new(printer: &'a Printer) -> Self {
        Self { printer }
    }
}

impl Progress for Printed<'_> {
    fn report(&self, event: Event) {
        match line(&event) {
            (Level::Info, text) => self.printer.info(text),
            (Level::Warning, text) => self.printer.warning(&text),
        }
    }
}

/// Keeps every event, for tests.
#[derive(Default)]
pub struct Recording {
    events: Mutex<Vec<Event>>,
}

impl Recording {
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// The events in words, a warning's with `warning: ` before it, as they would be printed.
    pub fn lines(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| match line(e) {
                (Level::Info, text) => text,
                (Level::Warning, text) => format!("warning: {text}"),
            })
            .collect()
    }
}

impl Progress for Recording {
    fn report(&self, event: Event) {
        self.events.lock().unwrap().push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cutover::StepOutcome;

    /// What goes wrong is a warning, shown even with `--quiet`; the rest is information.
    #[test]
    fn what_went_wrong_is_a_warning_and_the_rest_information() {
        let level = |e: Event| line(&e).0;
        assert_eq!(
            level(Event::NotCompared { why: "x".into() }),
            Level::Warning
        );
        assert_eq!(
            level(Event::PoolUnread {
                endpoint: None,
                error: "x".into()
            }),
            Level::Warning
        );
        assert_eq!(
            level(Event::PoolUnread {
                endpoint: Some("http://localhost:5000".into()),
                error: "x".into()
            }),
            Level::Info
        );
        assert_eq!(
            level(Event::RollingBack { reason: "x".into() }),
            Level::Warning
        );
        let step = |error: Option<&str>| Event::Step {
            what: "desired count of `prod/orders` back to 4".into(),
            outcome: if error.is_some() {
                StepOutcome::Failed
            } else {
                StepOutcome::Done
            },
            error: error.map(str::to_string),
        };
        assert_eq!(
            line(&step(Some("denied"))),
            (
                Level::Warning,
                "desired count of `prod/orders` back to 4: denied".to_string()
            )
        );
        assert_eq!(
            line(&step(None)),
            (
                Level::Info,
                "desired count of `prod/orders` back to 4: done".to_string()
            )
        );
        assert_eq!(level(Event::NoMapping), Level::Info);
    }
}

//! Progress of stack operations: the apply loop calls a [`Reporter`]. On a terminal, one live
//! line per stack (indicatif) with its latest event and elapsed time; otherwise plain,
//! timestamped lines; in tests, a recording.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::aws::cloudformation::EventView;
use crate::ui::printer::Shown;

pub trait Reporter: Send + Sync {
    /// An operation on the stack starts (`creating`, `updating`, `deleting`).
    fn begin(&self, stack: &str, what: &str);
    /// A new event of the operation.
    fn event(&self, stack: &str, event: &EventView);
    /// Something the user should know about the stack (a wait, a recreate).
    fn note(&self, stack: &str, message: &str);
    /// The operation ended in `status`.
    fn end(&self, stack: &str, status: &str, ok: bool);
    /// Clears every line still running, before a question or after an interrupt, so nothing
    /// draws over what comes next; an operation that begins later gets a new line.
    fn pause(&self) {}
}

fn event_line(e: &EventView) -> String {
    let mut line = format!("{:<28} {:<38} {}", e.logical_id, e.resource_type, e.status);
    if let Some(r) = e.reason.as_deref().filter(|r| !r.is_empty()) {
        line.push_str(&format!(": {r}"));
    }
    line
}

/// `HH:MM:SS` in UTC.
fn clock(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Timestamped lines on stderr, for logs and CI.
pub struct Plain {
    width: usize,
}

impl Plain {
    pub fn new(stacks: &[String]) -> Self {
        Self {
            width: stacks.iter().map(String::len).max().unwrap_or(0),
        }
    }

    fn line(&self, stack: &str, text: &str) {
        let _ = writeln!(
            anstream::stderr(),
            "{} {:<w$}  {text}",
            clock(SystemTime::now()),
            stack,
            w = self.width
        );
    }
}

impl Reporter for Plain {
    fn begin(&self, stack: &str, what: &str) {
        self.line(stack, what);
    }
    fn event(&self, stack: &str, e: &EventView) {
        self.line(stack, &event_line(e));
    }
    fn note(&self, stack: &str, message: &str) {
        self.line(stack, message);
    }
    fn end(&self, stack: &str, status: &str, ok: bool) {
        self.line(
            stack,
            &format!("{} {status}", if ok { "done:" } else { "failed:" }),
        );
    }
}

/// One live line per stack, from its first news on (a stack with nothing to do gets none);
/// failed events and notes are printed above the lines.
pub struct Live {
    multi: MultiProgress,
    style: ProgressStyle,
    bars: Mutex<Vec<(String, ProgressBar)>>,
}

impl Live {
    pub fn new(stacks: &[String]) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let width = stacks.iter().map(String::len).max().unwrap_or(0);
        let style = ProgressStyle::with_template(&format!(
            "{{spinner}} {{prefix:<{width}}} {{elapsed:>4}}  {{wide_msg}}"
        ))
        .expect("a valid template");
        Self {
            multi,
            style,
            bars: Mutex::new(Vec::new()),
        }
    }

    /// The stack's line, started on first use.
    fn bar(&self, stack: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b)) = bars.iter().find(|(s, b)| s == stack && !b.is_finished()) {
            return b.clone();
        }
        let bar = self.multi.add(
            ProgressBar::new_spinner()
                .with_style(self.style.clone())
                .with_prefix(stack.to_string()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bars.push((stack.to_string(), bar.clone()));
        bar
    }
}

impl Reporter for Live {
    fn begin(&self, stack: &str, what: &str) {
        let b = self.bar(stack);
        b.reset_elapsed();
        b.set_message(what.to_string());
    }
    fn event(&self, stack: &str, e: &EventView) {
        if e.failed() && !e.is_noise() {
            let _ = self.multi.println(format!("{stack}  {}", event_line(e)));
        }
        self.bar(stack).set_message(event_line(e));
    }
    fn note(&self, stack: &str, message: &str) {
        let _ = self.multi.println(format!("{stack}  {message}"));
        self.bar(stack).set_message(message.to_string());
    }
    fn end(&self, stack: &str, status: &str, ok: bool) {
        self.bar(stack)
            .finish_with_message(format!("{} {status}", if ok { "done:" } else { "failed:" }));
    }
    fn pause(&self) {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for (_, b) in bars.iter().filter(|(_, b)| !b.is_finished()) {
            b.finish_and_clear();
        }
        bars.clear();
    }
}

impl Drop for Live {
    /// An error or an interrupt leaves no spinner turning above its message.
    fn drop(&mut self) {
        self.pause();
    }
}

/// Reports nothing (`--quiet`, `--output json`): failures still reach the user as errors.
pub struct Silent;

impl Reporter for Silent {
    fn begin(&self, _: &str, _: &str) {}
    fn event(&self, _: &str, _: &EventView) {}
    fn note(&self, _: &str, _: &str) {}
    fn end(&self, _: &str, _: &str, _: bool) {}
}

/// Keeps every call as a line, for tests.
#[derive(Default)]
pub struct Recording {
    pub lines: Mutex<Vec<String>>,
}

impl Recording {
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Reporter for Recording {
    fn begin(&self, stack: &str, what: &str) {
        self.lines.lock().unwrap().push(format!("{stack}: {what}"));
    }
    fn event(&self, stack: &str, e: &EventView) {
        self.lines.lock().unwrap().push(format!(
            "{stack}: {}",
            event_line(e)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    fn note(&self, stack: &str, message: &str) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("{stack}: {message}"));
    }
    fn end(&self, stack: &str, status: &str, ok: bool) {
        self.lines.lock().unwrap().push(format!(
            "{stack}: {} {status}",
            if ok { "done" } else { "failed" }
        ));
    }
}

/// A child process's progress (the image build and push): the lines it prints.
pub trait Lines: Send + Sync {
    /// A phase starts (`building ...`, `pushing ...`).
    fn start(&self, what: &str);
    /// One line the child printed.
    fn line(&self, line: &str);
    /// The phase ended; `summary` replaces the spinner.
    fn finish(&self, summary: &str);
}

/// Live on a terminal, plain lines elsewhere, nothing with `--quiet` or `--output json`.
pub fn lines(quiet: bool) -> Box<dyn Lines> {
    match Shown::choose(quiet) {
        Shown::Live => Box::new(LiveLines::default()),
        Shown::Plain => Box::new(PlainLines),
        Shown::Silent => Box::new(Silent),
    }
}

/// A spinner whose message is the child's latest line.
#[derive(Default)]
pub struct LiveLines {
    bar: Mutex<Option<ProgressBar>>,
}

impl Lines for LiveLines {
    fn start(&self, what: &str) {
        let style =
            ProgressStyle::with_template("{spinner} {prefix} {elapsed:>4}  {wide_msg:.dim}")
                .expect("a valid template");
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_style(style)
            .with_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Some(old) = self.bar.lock().unwrap().replace(bar) {
            old.finish_and_clear();
        }
    }
    fn line(&self, line: &str) {
        if let Some(b) = self.bar.lock().unwrap().as_ref() {
            b.set_message(line.trim().to_string());
        }
    }
    fn finish(&self, summary: &str) {
        if let Some(b) = self.bar.lock().unwrap().take() {
            b.finish_and_clear();
        }
        let _ = writeln!(anstream::stderr(), "{summary}");
    }
}

/// A phase that ends in an error leaves no spinner above the error.
impl Drop for LiveLines {
    fn drop(&mut self) {
        if let Some(b) = self.bar.lock().unwrap().take() {
            b.finish_and_clear();
        }
    }
}

/// Each line as it comes, indented under its phase.
pub struct PlainLines;

impl Lines for PlainLines {
    fn start(&self, what: &str) {
        let _ = writeln!(anstream::stderr(), "{} {what}", clock(SystemTime::now()));
    }
    fn line(&self, line: &str) {
        let _ = writeln!(anstream::stderr(), "  | {line}");
    }
    fn finish(&self, summary: &str) {
        let _ = writeln!(anstream::stderr(), "{} {summary}", clock(SystemTime::now()));
    }
}

impl Lines for Silent {
    fn start(&self, _: &str) {}
    fn line(&self, _: &str) {}
    fn finish(&self, _: &str) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_utc_hours_minutes_seconds() {
        assert_eq!(
            clock(UNIX_EPOCH + Duration::from_secs(86_400 * 3 + 3_723)),
            "01:02:03"
        );
    }
}

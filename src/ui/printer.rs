//! Where output goes: data (and `--output json`) on stdout, everything else on stderr. Colors
//! follow the terminal and `NO_COLOR` (anstream strips them otherwise).

use std::io::Write;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// How progress shows: live lines and bars on a terminal, plain lines where stderr is a pipe
/// or a file, nothing with `--quiet` or `--output json`. The one place that decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    Live,
    Plain,
    Silent,
}

impl Shown {
    /// `silent`: the user asked for no progress (`--quiet`, or `--output json`).
    pub fn choose(silent: bool) -> Self {
        use std::io::IsTerminal;
        if silent {
            Shown::Silent
        } else if std::io::stderr().is_terminal() {
            Shown::Live
        } else {
            Shown::Plain
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Printer {
    pub format: OutputFormat,
    pub quiet: bool,
    pub verbose: u8,
}

impl Printer {
    /// A status line for people, on stderr; silent with `--quiet`.
    pub fn info(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            let _ = writeln!(anstream::stderr(), "{msg}");
        }
    }

    /// A warning or error block (already formatted), on stderr, always shown.
    pub fn diagnostic(&self, text: &str) {
        let _ = write!(anstream::stderr(), "{text}");
    }

    /// An error and what to do about it, on stderr, always shown.
    pub fn error(&self, message: &str, hint: Option<&str>) {
        // anstream drops the styles when stderr is not a terminal or NO_COLOR is set.
        let red = anstyle::Style::new()
            .bold()
            .fg_color(Some(anstyle::AnsiColor::Red.into()));
        let mut err = anstream::stderr();
        let width = stderr_width();
        let _ = writeln!(
            err,
            "{red}error{red:#}: {}",
            fold(message, width, "error: ".len())
        );
        if let Some(h) = hint {
            let _ = writeln!(
                err,
                "{}",
                super::diagnostics::hint_line(&fold(h, width, "  hint: ".len()), true)
            );
        }
    }

    /// A note on what the command did not do and why, on stderr, styled as a note; silent with
    /// `--quiet`.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            let cyan = anstyle::Style::new()
                .bold()
                .fg_color(Some(anstyle::AnsiColor::Cyan.into()));
            let message = fold(message, stderr_width(), "note: ".len());
            let _ = writeln!(anstream::stderr(), "{cyan}note{cyan:#}: {message}");
        }
    }

    /// A warning that does not stop the command, on stderr, always shown.
    pub fn warning(&self, message: &str) {
        let yellow = anstyle::Style::new()
            .bold()
            .fg_color(Some(anstyle::AnsiColor::Yellow.into()));
        let message = fold(message, stderr_width(), "warning: ".len());
        let _ = writeln!(anstream::stderr(), "{yellow}warning{yellow:#}: {message}");
    }

    /// Detail shown with `-v`.
    pub fn debug(&self, msg: impl std::fmt::Display) {
        if self.verbose > 0 {
            let _ = writeln!(anstream::stderr(), "{msg}");
        }
    }

    /// Data for the text output, on stdout. A reader that went away (`| head`) is no error.
    pub fn data(&self, msg: impl std::fmt::Display) -> std::io::Result<()> {
        broken_pipe_is_fine(writeln!(anstream::stdout(), "{msg}"))
    }

    /// The one JSON document of `--output json`, on stdout.
    pub fn json(&self, value: &impl Serialize) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        let written = serde_json::to_writer_pretty(&mut out, value)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out));
        broken_pipe_is_fine(written)
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// How this run's progress shows: see [`Shown`].
    pub fn shown(&self) -> Shown {
        Shown::choose(self.quiet || self.is_json())
    }
}

/// The terminal's width when stderr is one. Notes, warnings and errors are folded to it, so
/// that none wraps mid-word; in a log or a pipe each stays one line, whole, for grep.
fn stderr_width() -> Option<usize> {
    use std::io::IsTerminal;
    let err = std::io::stderr();
    if !err.is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(&err).map(|(w, _)| usize::from(w.0))
}

/// `text` folded at spaces to lines of at most `width` columns, the first after a prefix of
/// `indent` columns and the others indented by as much, under the first's text. A word longer
/// than a line (a URL) stands alone on its line, whole. No width: the text as it is.
pub fn fold(text: &str, width: Option<usize>, indent: usize) -> String {
    let Some(width) = width.filter(|w| *w > indent + 20) else {
        return text.to_string();
    };
    let room = width - indent;
    let mut out: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let len = line.chars().count();
            if len > 0 && len + 1 + word.chars().count() > room {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push(line);
    }
    out.join(&format!("\n{}", " ".repeat(indent)))
}

fn broken_pipe_is_fine(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_folds_to_the_terminal_under_its_first_line() {
        let text = "reserved-concurrency check skipped: `http://127.0.0.1:44047` is not AWS (it runs against AWS)";
        let folded = fold(text, Some(80), "note: ".len());
        let lines: Vec<&str> = folded.lines().collect();
        assert!(lines.len() > 1, "{folded}");
        assert!(lines[0].chars().count() + 6 <= 80, "{folded}");
        assert!(lines[1..]
            .iter()
            .all(|l| l.starts_with("      ") && l.chars().count() <= 80));
        // Every word is kept, in order.
        assert_eq!(
            folded.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
        // Not a terminal: one line, whole.
        assert_eq!(fold(text, None, 6), text);
    }

    #[test]
    fn quiet_or_json_shows_nothing_whatever_the_terminal() {
        let printer = |format, quiet| Printer {
            format,
            quiet,
            verbose: 0,
        };
        assert_eq!(printer(OutputFormat::Json, false).shown(), Shown::Silent);
        assert_eq!(printer(OutputFormat::Text, true).shown(), Shown::Silent);
        use std::io::IsTerminal;
        let expected = if std::io::stderr().is_terminal() {
            Shown::Live
        } else {
            Shown::Plain
        };
        assert_eq!(printer(OutputFormat::Text, false).shown(), expected);
    }
}

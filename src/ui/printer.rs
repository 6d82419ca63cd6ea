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
        let _ = writeln!(err, "{red}error{red:#}: {message}");
        if let Some(h) = hint {
            let _ = writeln!(err, "{}", super::diagnostics::hint_line(h, true));
        }
    }

    /// A note on what the command did not do and why, on stderr, styled as a note; silent with
    /// `--quiet`.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            let cyan = anstyle::Style::new()
                .bold()
                .fg_color(Some(anstyle::AnsiColor::Cyan.into()));
            let _ = writeln!(anstream::stderr(), "{cyan}note{cyan:#}: {message}");
        }
    }

    /// A warning that does not stop the command, on stderr, always shown.
    pub fn warning(&self, message: &str) {
        let yellow = anstyle::Style::new()
            .bold()
            .fg_color(Some(anstyle::AnsiColor::Yellow.into()));
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

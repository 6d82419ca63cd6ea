//! Where output goes: data (and `--output json`) on stdout, everything else on stderr. Colors
//! follow the terminal and `NO_COLOR` (anstream strips them otherwise).

use std::io::Write;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
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

    /// Detail shown with `-v`.
    pub fn debug(&self, msg: impl std::fmt::Display) {
        if self.verbose > 0 {
            let _ = writeln!(anstream::stderr(), "{msg}");
        }
    }

    /// Data for the text output, on stdout.
    pub fn data(&self, msg: impl std::fmt::Display) -> std::io::Result<()> {
        writeln!(anstream::stdout(), "{msg}")
    }

    /// The one JSON document of `--output json`, on stdout.
    pub fn json(&self, value: &impl Serialize) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }
}

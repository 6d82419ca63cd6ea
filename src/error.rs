//! One error type for every command, and the one place where outcomes become exit codes (issue
//! 13). Pure: no I/O.
//!
//! A command ends with an [`Exit`] (it ran to its end) or a [`Failure`] (it stopped: what
//! happened, what to do, and which [`Exit`] that is). `Exit::ALL` is the whole table; the
//! README's exit-code table is tested against it.

use crate::aws::AwsError;
use crate::core::outcome::{DiffState, Stopped, Verdict};
use crate::core::render::RenderError;

/// How a run of `replatform` ends, as the process's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The command did what was asked.
    Success,
    /// Bad input (config, templates, arguments the command refused), or an operation that failed.
    Failure,
    /// The command line itself is wrong: clap's usage errors.
    Usage,
    /// `diff --exit-code` found changes. A code of its own, so that a mistyped flag (2) is
    /// never read as "changes found".
    Changes,
    /// Stopped by SIGINT (Ctrl-C) or SIGTERM, as a shell reports an interrupt (128 + 2).
    Interrupted,
}

impl Exit {
    /// Every exit code the binary can return.
    pub const ALL: [Exit; 5] = [
        Exit::Success,
        Exit::Failure,
        Exit::Usage,
        Exit::Changes,
        Exit::Interrupted,
    ];

    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Changes => 3,
            Exit::Interrupted => 130,
        }
    }

    /// What the code means, as the README's table says it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Failure => "a bad config or template, a refused argument, or a failed operation; nothing half-done is left",
            Exit::Usage => "a usage error: an unknown command, option or value",
            Exit::Changes => "`diff --exit-code` found changes",
            Exit::Interrupted => "interrupted by SIGINT (Ctrl-C) or SIGTERM; what was written so far is kept",
        }
    }
}

/// The one place where the outcomes of `src/core/outcome.rs` and `core::cutover` become exit
/// codes (`up` and `down` end through the [`Failure`] their workflow returns). A command whose run
/// produced several (a stack each, a platform each) ends with the gravest of them
/// ([`Exit::gravest`]).
impl Exit {
    /// An interrupt outweighs a failure, which outweighs changes, which outweigh success.
    pub fn gravest(exits: impl IntoIterator<Item = Exit>) -> Exit {
        let rank = |e: &Exit| match e {
            Exit::Success => 0,
            Exit::Changes => 1,
            Exit::Usage => 2,
            Exit::Failure => 3,
            Exit::Interrupted => 4,
        };
        exits.into_iter().max_by_key(rank).unwrap_or(Exit::Success)
    }

    /// `diff`, one stack: a preview that failed fails the run; with `--exit-code`, a stack that
    /// `up` would change is [`Exit::Changes`].
    pub fn of_diff(state: DiffState, exit_code: bool) -> Exit {
        match state {
            DiffState::Error => Exit::Failure,
            s if exit_code && s.changes() => Exit::Changes,
            _ => Exit::Success,
        }
    }

    /// `local`, one platform: only a pass is a success. (An invocation's own result is part of
    /// its platform's verdict; `InvocationResult` maps to no exit of its own.)
    pub fn of_verdict(v: Verdict) -> Exit {
        match v {
            Verdict::Pass => Exit::Success,
            Verdict::Fail => Exit::Failure,
            Verdict::Interrupted => Exit::Interrupted,
        }
    }

    /// `compare`: queues not drained within `--timeout` fail the run; `simulate`'s model stops
    /// at its limit with a warning, a prediction like any other ([`Exit::of_simulation`]).
    pub fn of_comparison(s: Stopped) -> Exit {
        match s {
            Stopped::Drained | Stopped::Window => Exit::Success,
            Stopped::Timeout => Exit::Failure,
            Stopped::Interrupted => Exit::Interrupted,
        }
    }

    /// `simulate`: every way the model stops is a prediction.
    pub fn of_simulation(s: Stopped) -> Exit {
        match s {
            Stopped::Interrupted => Exit::Interrupted,
            Stopped::Drained | Stopped::Window | Stopped::Timeout => Exit::Success,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// A command's failure: what happened and what to do, and how the process exits.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
    /// Already reported (diagnostics were printed): print nothing more.
    pub reported: bool,
    pub exit: Exit,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            reported: false,
            exit: Exit::Failure,
        }
    }

    /// Stopped by SIGINT or SIGTERM.
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Interrupted,
            ..Self::new(message)
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The failure was already printed (diagnostics, or each stack's error): exit 1 quietly.
    pub fn reported() -> Self {
        Self {
            reported: true,
            ..Self::new("")
        }
    }

    /// Writing to stdout failed (other than a closed pipe, which is no failure).
    pub fn output(e: std::io::Error) -> Self {
        Failure::new(format!("cannot write output: {e}"))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<RenderError> for Failure {
    fn from(e: RenderError) -> Self {
        let hint = render_hint(&e);
        Failure::new(e.to_string()).hint(hint)
    }
}

/// What to do about each kind of template error. The built-in templates render; these come from
/// a `--templates` folder.
fn render_hint(e: &RenderError) -> &'static str {
    match e {
        RenderError::Read { .. } => "check the `--templates` folder and that this user may read it; `replatform templates --out DIR` writes the built-in set to start from",
        RenderError::Compile { .. } => "fix the Handlebars syntax of that template: every `{{` needs its `}}` and every `{{#block}}` its `{{/block}}`",
        RenderError::Render { .. } => "the template uses a value the config does not give, or a helper wrongly; `replatform templates --out DIR` shows how the built-in templates use the data",
        RenderError::Yaml { .. } => "check the indentation and quoting around the template's `{{...}}` expressions: the rendered text must be YAML",
        RenderError::Missing { .. } => "add the template under `templates/` of the `--templates` folder, or correct its name in the stack file",
        RenderError::Duplicate { .. } => "give one of the two another logical id, or keep it in one template only",
        RenderError::Invalid { .. } => "fix the file at the place shown, or leave out --templates to use the built-in ones",
    }
}

impl From<AwsError> for Failure {
    fn from(e: AwsError) -> Self {
        let hint = e.hint();
        let f = Failure::new(e.to_string());
        match hint {
            Some(h) => f.hint(h),
            None => f,
        }
    }
}

/// The exit code of a `cutover` that ran to an end: success only when cut over.
impl From<crate::core::cutover::Outcome> for Exit {
    fn from(o: crate::core::cutover::Outcome) -> Self {
        use crate::core::cutover::Outcome;
        match o {
            Outcome::CutOver => Exit::Success,
            Outcome::Interrupted => Exit::Interrupted,
            Outcome::Refused
            | Outcome::Declined
            | Outcome::RolledBack
            | Outcome::RollbackFailed => Exit::Failure,
        }
    }
}

/// What a command returns: how it ended, or why it stopped.
pub type Outcome = Result<Exit, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_has_its_own_code() {
        let mut codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Exit::ALL.len(), "two exits share a code");
    }

    #[test]
    fn failures_carry_their_exit() {
        assert_eq!(Failure::new("x").exit, Exit::Failure);
        assert_eq!(Failure::interrupted("x").exit, Exit::Interrupted);
        assert!(Failure::reported().reported);
    }
}

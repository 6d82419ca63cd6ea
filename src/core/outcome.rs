//! How things ended, as values: each command's outcomes and states, named once here. Pure.
//!
//! Each is serialized as the word the JSON documents have always carried (`rename_all`), shown
//! as that word in text through [`std::fmt::Display`], and mapped to an exit code in one place,
//! `src/error.rs`. No outcome is matched as a string anywhere.

use std::fmt;

use serde::Serialize;

/// Implements `as_str` and `Display` from the serialized words.
macro_rules! words {
    ($ty:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// The word the JSON output carries.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $word),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// What `up` did to one stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackResult {
    Created,
    Updated,
    Unchanged,
    Failed,
    /// A change set was made, and not executed: another stack failed, or the answer was no.
    NotExecuted,
}
words!(StackResult { Created => "created", Updated => "updated", Unchanged => "unchanged", Failed => "failed", NotExecuted => "not-executed" });

/// What `diff` found for one stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffState {
    /// No such stack: `up` creates it.
    New,
    /// A stack that failed its first create: `up` deletes it and creates it again.
    Recreate,
    Changed,
    Unchanged,
    /// The preview failed: the error says why.
    Error,
}
words!(DiffState { New => "new", Recreate => "recreate", Changed => "changed", Unchanged => "unchanged", Error => "error" });

impl DiffState {
    /// `up` would change the stack.
    pub fn changes(self) -> bool {
        matches!(
            self,
            DiffState::New | DiffState::Recreate | DiffState::Changed
        )
    }

    /// The stack exists now (its function, its mapping can be read).
    pub fn deployed(self) -> bool {
        !matches!(self, DiffState::New | DiffState::Error)
    }
}

/// What `down` did with one of a stack's queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueOutcome {
    Deleted,
    /// `--keep-queues`, or messages arrived meanwhile.
    Kept,
    /// Deleted with the stack.
    Gone,
    Failed,
}
words!(QueueOutcome { Deleted => "deleted", Kept => "kept", Gone => "gone", Failed => "failed" });

/// How one invocation of `local` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvocationResult {
    Ok,
    Error,
    Timeout,
}
words!(InvocationResult { Ok => "ok", Error => "error", Timeout => "timeout" });

/// One platform's verdict in `local`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    #[default]
    Fail,
    /// SIGINT or SIGTERM: the report's problem says which.
    Interrupted,
}
words!(Verdict { Pass => "pass", Fail => "fail", Interrupted => "interrupted" });

/// Why `compare` or `simulate` stopped sampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stopped {
    /// Both queues drained after the load.
    Drained,
    /// The window asked for (`--for`) ended.
    Window,
    /// The time limit came first.
    Timeout,
    /// SIGINT or SIGTERM (`compare`): the files hold the samples taken so far.
    Interrupted,
}
words!(Stopped { Drained => "drained", Window => "window", Timeout => "timeout", Interrupted => "interrupted" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_serializes_as_its_word() {
        let json = serde_json::to_string(&(
            StackResult::NotExecuted,
            DiffState::Recreate,
            QueueOutcome::Gone,
            InvocationResult::Timeout,
            Verdict::Interrupted,
            Stopped::Window,
        ))
        .unwrap();
        assert_eq!(
            json,
            r#"["not-executed","recreate","gone","timeout","interrupted","window"]"#
        );
        assert_eq!(StackResult::NotExecuted.to_string(), "not-executed");
        assert_eq!(Verdict::Pass.to_string(), "pass");
    }

    #[test]
    fn only_new_recreated_and_changed_stacks_change() {
        use DiffState::*;
        let changing: Vec<_> = [New, Recreate, Changed, Unchanged, Error]
            .into_iter()
            .filter(|s| s.changes())
            .collect();
        assert_eq!(changing, [New, Recreate, Changed]);
        assert!(!New.deployed() && !Error.deployed() && Unchanged.deployed());
    }
}

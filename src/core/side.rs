//! Which of the two platforms: the ECS service a worker runs on today, or the Lambda function it
//! moves to. Every sample, summary, decision, bottleneck, cost row, load target and local report
//! names one; a stack whose kind is one of the two names it too ([`Side::of`]). Pure.
//!
//! Named `Side` (as in "side by side"): `Platform` is the CPU architecture
//! (`core::config::Platform`), and a stack's kind is an open set: a `--templates` folder may add
//! stacks of other kinds.

use std::fmt;

use serde::{Deserialize, Serialize};

/// ECS or Lambda. Written `ecs` and `lambda` in every file and document (samples.csv,
/// summary.json, `--output json`), and on the command line (`--only`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The default only so that a record holding one can be built field by field
    /// (`..Default::default()`); whoever builds one names its side.
    #[default]
    Ecs,
    Lambda,
}

impl Side {
    /// Both, in the order every table, chart and file shows them.
    pub const BOTH: [Side; 2] = [Side::Ecs, Side::Lambda];

    /// The word files, documents and the command line use: `ecs`, `lambda`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Ecs => "ecs",
            Side::Lambda => "lambda",
        }
    }

    /// The side a stack of this kind runs (the stack file's name without `.yaml`); `None` for a
    /// kind a `--templates` folder added.
    pub fn of(kind: &str) -> Option<Self> {
        Side::BOTH.into_iter().find(|s| s.as_str() == kind)
    }

    /// The platform's name in a sentence: `ECS`, `Lambda`.
    pub fn title(self) -> &'static str {
        match self {
            Side::Ecs => "ECS",
            Side::Lambda => "Lambda",
        }
    }
}

/// The word (`ecs`, `lambda`), padded as the format asks (`{:<7}` lines up tables).
impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_round_trip() {
        for s in Side::BOTH {
            assert_eq!(Side::of(s.as_str()), Some(s));
            assert_eq!(s.to_string(), s.as_str());
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Side>(&json).unwrap(), s);
        }
        assert_eq!(Side::of("monitoring"), None, "a kind --templates added");
        assert_eq!(Side::of("ECS"), None, "the stack kinds are lowercase");
    }

    #[test]
    fn display_pads_as_asked() {
        assert_eq!(format!("[{:<7}]", Side::Ecs), "[ecs    ]");
        assert_eq!(format!("[{:>7}]", Side::Lambda), "[ lambda]");
    }

    #[test]
    fn a_wrong_word_is_an_error_that_names_the_right_ones() {
        let e = serde_json::from_str::<Side>("\"fargate\"").unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown variant `fargate`, expected `ecs` or `lambda`"),
            "{e}"
        );
    }
}

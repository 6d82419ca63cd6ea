//! CloudFormation stack statuses, parsed once; every decision about a status asks this enum.
//! Pure.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StackStatus {
    CreateInProgress,
    CreateFailed,
    CreateComplete,
    RollbackInProgress,
    RollbackFailed,
    RollbackComplete,
    DeleteInProgress,
    DeleteFailed,
    DeleteComplete,
    UpdateInProgress,
    UpdateCompleteCleanupInProgress,
    UpdateComplete,
    UpdateFailed,
    UpdateRollbackInProgress,
    UpdateRollbackFailed,
    UpdateRollbackCompleteCleanupInProgress,
    UpdateRollbackComplete,
    ReviewInProgress,
    ImportInProgress,
    ImportComplete,
    ImportRollbackInProgress,
    ImportRollbackFailed,
    ImportRollbackComplete,
    /// A status this version does not know; treated as settled and not successful.
    Other(String),
}

const NAMES: [(&str, StackStatus); 23] = [
    ("CREATE_IN_PROGRESS", StackStatus::CreateInProgress),
    ("CREATE_FAILED", StackStatus::CreateFailed),
    ("CREATE_COMPLETE", StackStatus::CreateComplete),
    ("ROLLBACK_IN_PROGRESS", StackStatus::RollbackInProgress),
    ("ROLLBACK_FAILED", StackStatus::RollbackFailed),
    ("ROLLBACK_COMPLETE", StackStatus::RollbackComplete),
    ("DELETE_IN_PROGRESS", StackStatus::DeleteInProgress),
    ("DELETE_FAILED", StackStatus::DeleteFailed),
    ("DELETE_COMPLETE", StackStatus::DeleteComplete),
    ("UPDATE_IN_PROGRESS", StackStatus::UpdateInProgress),
    (
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        StackStatus::UpdateCompleteCleanupInProgress,
    ),
    ("UPDATE_COMPLETE", StackStatus::UpdateComplete),
    ("UPDATE_FAILED", StackStatus::UpdateFailed),
    (
        "UPDATE_ROLLBACK_IN_PROGRESS",
        StackStatus::UpdateRollbackInProgress,
    ),
    ("UPDATE_ROLLBACK_FAILED", StackStatus::UpdateRollbackFailed),
    (
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        StackStatus::UpdateRollbackCompleteCleanupInProgress,
    ),
    (
        "UPDATE_ROLLBACK_COMPLETE",
        StackStatus::UpdateRollbackComplete,
    ),
    ("REVIEW_IN_PROGRESS", StackStatus::ReviewInProgress),
    ("IMPORT_IN_PROGRESS", StackStatus::ImportInProgress),
    ("IMPORT_COMPLETE", StackStatus::ImportComplete),
    (
        "IMPORT_ROLLBACK_IN_PROGRESS",
        StackStatus::ImportRollbackInProgress,
    ),
    ("IMPORT_ROLLBACK_FAILED", StackStatus::ImportRollbackFailed),
    (
        "IMPORT_ROLLBACK_COMPLETE",
        StackStatus::ImportRollbackComplete,
    ),
];

impl FromStr for StackStatus {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map_or_else(|| StackStatus::Other(s.to_string()), |(_, st)| st.clone()))
    }
}

impl StackStatus {
    pub fn parse(s: &str) -> Self {
        s.parse()
            .unwrap_or_else(|e: std::convert::Infallible| match e {})
    }

    pub fn as_str(&self) -> &str {
        match self {
            StackStatus::Other(s) => s,
            known => NAMES
                .iter()
                .find(|(_, st)| st == known)
                .map(|(n, _)| *n)
                .unwrap_or("UNKNOWN"),
        }
    }

    /// CloudFormation is working on the stack: wait, don't act. REVIEW_IN_PROGRESS is not: it
    /// is a stack that only has a change set, and waits for nobody.
    pub fn in_progress(&self) -> bool {
        self.as_str().ends_with("_IN_PROGRESS") && *self != StackStatus::ReviewInProgress
    }

    /// An earlier create failed and left a stack that cannot be updated: delete it and create
    /// again (docs/pitfalls.md#p19). Nothing in it was ever in service.
    pub fn needs_recreate(&self) -> bool {
        matches!(
            self,
            StackStatus::RollbackComplete
                | StackStatus::CreateFailed
                | StackStatus::ReviewInProgress
                | StackStatus::RollbackFailed
        )
    }

    /// A failed operation's end state.
    pub fn failed(&self) -> bool {
        let s = self.as_str();
        s.ends_with("_FAILED")
            || matches!(
                self,
                StackStatus::RollbackComplete
                    | StackStatus::UpdateRollbackComplete
                    | StackStatus::ImportRollbackComplete
            )
    }

    /// A create or update that finished as asked.
    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            StackStatus::CreateComplete
                | StackStatus::UpdateComplete
                | StackStatus::ImportComplete
                | StackStatus::DeleteComplete
        )
    }

    /// Can take an UPDATE change set.
    pub fn updatable(&self) -> bool {
        matches!(
            self,
            StackStatus::CreateComplete
                | StackStatus::UpdateComplete
                | StackStatus::UpdateRollbackComplete
                | StackStatus::ImportComplete
                | StackStatus::ImportRollbackComplete
        )
    }
}

impl fmt::Display for StackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StackStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for (name, status) in NAMES.iter() {
            assert_eq!(StackStatus::parse(name), *status);
            assert_eq!(status.as_str(), *name);
        }
        assert_eq!(
            StackStatus::parse("SOMETHING_NEW"),
            StackStatus::Other("SOMETHING_NEW".into())
        );
    }

    #[test]
    fn predicates() {
        use StackStatus::*;
        assert!(UpdateCompleteCleanupInProgress.in_progress() && !ReviewInProgress.in_progress());
        assert!(
            RollbackComplete.needs_recreate()
                && ReviewInProgress.needs_recreate()
                && !UpdateRollbackComplete.needs_recreate()
        );
        assert!(UpdateRollbackComplete.failed() && UpdateRollbackComplete.updatable());
        assert!(!UpdateRollbackFailed.updatable() && UpdateRollbackFailed.failed());
        assert!(CreateComplete.succeeded() && !CreateComplete.failed());
    }
}

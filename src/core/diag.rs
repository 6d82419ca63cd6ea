//! Diagnostics about a `replatform.yaml`: what is wrong, where (a path into the file), and what to
//! do. Pure: the location in the file is resolved by [`crate::core::locate`] when printing.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Said, never failed on (`validate --strict` neither): what the user should know.
    Info,
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable name for the rule, e.g. `visibility-timeout`; config shape errors use `config`.
    pub code: &'static str,
    /// Dotted path of the offending value, e.g. `ecs.scaling.scale_out[1].from`; empty for the
    /// whole file.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
    /// Where the path points in the file: 1-based line and column, filled in by the loader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<(usize, usize)>,
}

impl Diagnostic {
    pub fn error(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            path: path.into(),
            message: message.into(),
            hint: None,
            location: None,
        }
    }

    pub fn warning(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, path, message)
        }
    }

    pub fn info(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Info,
            ..Self::error(code, path, message)
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

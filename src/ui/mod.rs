//! Everything the user sees: diagnostics, data on stdout, messages on stderr.

pub mod diagnostics;
pub mod printer;

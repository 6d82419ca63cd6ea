//! Everything the user sees: diagnostics, progress, data on stdout, messages on stderr.

pub mod cutover;
pub mod diagnostics;
pub mod experiment;
pub mod printer;
pub mod progress;
pub mod prompt;
pub mod simulate;
pub mod tables;

//! The one integration test binary: config diagnostics, golden renders, template structure,
//! cfn-lint, and the command line.

mod adopt;
mod bad_inputs;
mod cfn_guard;
mod cfn_lint;
mod checkov;
mod cli;
mod common;
mod config_errors;
mod cutover;
mod cutover_recorded;
mod dockerfile_checks;
mod emulator;
mod experiment;
mod experiment_recorded;
mod fault_proxy;
mod fields_emulator;
mod golden;
mod house;
mod image;
mod image_args;
mod init;
mod layers;
mod local;
mod recorded;
mod runtime_api;
mod safety;
mod signals;
mod simulate;
mod simulation;
mod structure;
mod sweep;
mod terminal;
mod workflows;

//! The one integration test binary: config diagnostics, golden renders, template structure,
//! cfn-lint, and the command line.
//!
//! Two tiers (docs/testing.md): a plain `cargo test` runs what needs only the Rust toolchain;
//! the modules and tests marked `#[cfg(feature = "full-tests")]` run real tools beside the binary
//! (moto, cfn-lint, checkov, cfn-guard, Docker, a registry, Buildah, Chromium, zsh, fish), which
//! `scripts/test` installs before it runs `cargo test --features full-tests`.

#[cfg(feature = "full-tests")]
mod adopt;
#[cfg(feature = "full-tests")]
mod adopt_k8s;
#[cfg(feature = "full-tests")]
mod adopt_shapes;
mod assess;
mod assess_bench;
#[cfg(feature = "full-tests")]
mod assess_emulator;
mod assess_history;
mod bad_inputs;
#[cfg(feature = "full-tests")]
mod bridge_local;
#[cfg(feature = "full-tests")]
mod cfn_guard;
#[cfg(feature = "full-tests")]
mod cfn_lint;
#[cfg(feature = "full-tests")]
mod checkov;
mod cli;
mod common;
mod config_errors;
#[cfg(feature = "full-tests")]
mod cutover;
mod cutover_recorded;
mod dockerfile_checks;
#[cfg(feature = "full-tests")]
mod emulator;
#[cfg(feature = "full-tests")]
mod experiment;
mod experiment_recorded;
#[cfg(feature = "full-tests")]
mod fault_proxy;
#[cfg(feature = "full-tests")]
mod fields_emulator;
mod golden;
mod house;
#[cfg(feature = "full-tests")]
mod image;
mod image_args;
mod init;
mod k8s_api;
mod layers;
#[cfg(feature = "full-tests")]
mod local;
mod recorded;
mod runtime_api;
#[cfg(feature = "full-tests")]
mod safety;
mod several_queues;
#[cfg(feature = "full-tests")]
mod several_queues_emulator;
#[cfg(feature = "full-tests")]
mod signals;
mod simulate;
mod simulation;
mod structure;
#[cfg(feature = "full-tests")]
mod sweep;
#[cfg(feature = "full-tests")]
mod terminal;
mod workflows;

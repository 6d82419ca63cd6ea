//! The workflows the commands call, one module each: typed inputs, a typed result, the effects
//! sequenced here and nowhere else. Below: `core` (pure), `aws` (the SDK), `image`, `local`,
//! `experiment` (effects), `ui` (what a person sees). Above: `commands` (arguments in, one call
//! here, a view out).

pub mod adopt;
pub mod adopt_k8s;
pub mod assess;
pub mod cutover;
pub mod deploy;
pub mod deployed;
pub mod experiment;
pub mod guard;
pub mod init;
pub mod keda;
pub mod local;
pub mod pipeline;
pub mod simulate;
pub mod teardown;
pub mod validate;
pub mod workspace;

/// Which of the two stacks a command acts on (`--only`): the platform enum of the core.
pub use crate::core::side::Side as Only;

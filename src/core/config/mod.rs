//! `replatform.yaml` -> a checked [`Config`], with diagnostics that name the line and column,
//! say what is wrong and what to do. Pure. The contract is docs/config.md.
//!
//! - [`types`]: the config's types, with their defaults;
//! - [`limits`]: the size and shape limits, and the file's bytes decoded as text;
//! - [`parse`]: the text read into a [`Config`], serde's messages turned into ours;
//! - [`checks`]: the value checks AWS would otherwise fail at deploy time;
//! - [`queues`]: the worker's queues (`queue:` or `queues:`) and how it finds each;
//! - [`access`]: the checks of `secrets`, `permissions`, `tags`, `production` and ARN shapes;
//! - [`text`]: text quoted from a file, made safe for a message.

mod access;
mod checks;
mod limits;
mod names;
pub use names::LAMBDA_RESERVED_ENV;
mod parse;
mod queues;
mod queues_checks;
mod structure;
pub use queues::{Finder, QueueEntry, DEFAULT_URL_ENV, MAX_CONSUMED_QUEUES};
mod text;
mod types;

pub use access::{
    accept_emulator_queue_urls, arn, is_emulator_queue_url, is_policy_arn, names_queue, queue_url,
    secret_arn, Arn, SecretKind, SECRET_ARN_SUFFIX, SERVICE_TAG,
};
pub use checks::{check, fargate_memory, LOG_RETENTION_DAYS};
pub use limits::{decode, size_text, too_large, CONFIG_LIMITS, MAX_CONFIG_BYTES};
pub use parse::{nearest, parse};
pub use text::{clean_text, clip_quoted};
pub use types::*;

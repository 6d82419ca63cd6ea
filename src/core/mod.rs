//! The pure core: config -> checked config -> rendered stacks -> plan. No I/O, no AWS, no clock.

pub mod adopt;
pub mod adopt_k8s;
pub mod assess;
pub mod bridge;
pub mod changes;
pub mod config;
pub mod cost;
pub mod cutover;
pub mod diag;
pub mod dockerfile;
pub mod duration;
pub mod experiment;
pub mod image;
pub mod image_ref;
pub mod init;
pub mod lint;
pub mod load;
pub mod local;
pub mod locate;
pub mod outcome;
pub mod plan;
pub mod render;
pub mod side;
pub mod simulate;
pub mod status;

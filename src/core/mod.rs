//! The pure core: config -> checked config -> rendered stacks. No I/O, no AWS, no clock.

pub mod config;
pub mod diag;
pub mod duration;
pub mod image_ref;
pub mod lint;
pub mod locate;
pub mod render;

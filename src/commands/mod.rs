//! One module per command: wiring only. Each takes its arguments, makes one call into `app`,
//! and shows the result (text on stderr and stdout, or one JSON document).

pub mod assess;
pub mod compare;
pub mod completions;
pub mod cutover;
pub mod diff;
pub mod down;
pub mod init;
pub mod load;
pub mod local;
pub mod render;
pub mod settings;
pub mod simulate;
pub mod status;
pub mod templates;
pub mod up;
pub mod validate;

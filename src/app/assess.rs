//! `assess --traffic FILE`: a recorded per-minute series replayed through the scaling model for
//! the config's ECS and Lambda settings, no AWS call (`core::assess`). A config with an error
//! stops it as it stops `validate`, so the config it replays is ready.

pub mod aws;

use std::path::PathBuf;
use std::time::Duration;

use super::simulate::{prices, setup_for};
use super::workspace::Workspace;
use crate::core::assess::{self, Readiness, Report};
use crate::core::simulate::Inputs;
use crate::error::Failure;
use crate::ui::printer::Printer;

/// What the replay needs beyond the config.
#[derive(Clone, Debug)]
pub struct Spec {
    pub traffic: PathBuf,
    pub per_message: Duration,
    pub task_start: Duration,
    pub prices: Option<PathBuf>,
    /// `--queue NAME`: model that queue of a worker of several alone; else their sum.
    pub queue: Option<String>,
}

/// The mean message size the replay bills: the load's default sizes, as the series holds no
/// message size.
pub(crate) fn message_bytes() -> u64 {
    let sizes = crate::core::load::SizeRange::default();
    ((sizes.min + sizes.max) / 2 + crate::core::load::ATTRIBUTE_ALLOWANCE) as u64
}

/// Reads the series, replays it and checks the config.
pub fn assess(ws: &Workspace, spec: &Spec, printer: &Printer) -> Result<Report, Failure> {
    let hint = "a CSV with a header `time,sent` (optionally deleted, visible, oldest_age_s) and one row a minute; see docs/commands.md#assess";
    let path = &spec.traffic;
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(format!("cannot read --traffic `{}`: {e}", path.display())).hint(hint)
    })?;
    let traffic = assess::parse_traffic(&text)
        .map_err(|e| Failure::new(format!("--traffic `{}` {e}", path.display())).hint(hint))?;
    let prices = prices(spec.prices.as_deref())?;
    let inputs = Inputs {
        task_start: spec.task_start,
        message_bytes: message_bytes(),
        ..Inputs::new(assess::waves(&traffic), spec.per_message)
    };
    let (setup, said) = setup_for(ws, &inputs, spec.queue.as_deref(), printer)?;
    if let Some(said) = said {
        printer.info(said);
    }
    // `setup_for` loaded the config, and one with an error stopped there with its errors
    // (`workspace::load`): what is replayed has none, and is ready as far as its file shows.
    let readiness = Readiness {
        ready: true,
        problems: Vec::new(),
    };
    Ok(assess::assess(
        &setup, &traffic, &inputs, &prices, readiness,
    ))
}

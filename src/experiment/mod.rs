//! The side-by-side experiment: `load` sends the same messages to both queues, `compare`
//! samples both platforms while they drain them and leaves the samples, a summary and a chart.

pub mod chart;
pub mod compare;
pub mod load;

use std::path::Path;

use serde::Serialize;

use crate::core::experiment::{PlatformSummary, Sample};

/// `summary.json`, and `compare --output json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub service: String,
    pub region: String,
    pub started_at: String,
    pub ended_at: String,
    /// `drained`, `timeout`, `window` (`--for`) or `interrupted`.
    pub stopped: String,
    pub interval_s: f64,
    /// The folder holding the files.
    pub out: String,
    pub platforms: Vec<PlatformSummary>,
    pub load: Option<load::LoadReport>,
    /// Seconds since the start when the load began and ended.
    pub load_window_s: Option<(f64, f64)>,
    pub function: Option<compare::FunctionFacts>,
    pub ecs_events: Vec<compare::SeenEvent>,
    pub deployed: Vec<compare::Platform>,
}

/// Writes `samples.csv`: one row a sample and platform, the columns of [`Sample`], an empty
/// cell where a figure is unknown.
pub fn write_samples(path: &Path, samples: &[Sample]) -> Result<(), String> {
    let err = |e: csv::Error| format!("writing {}: {e}", path.display());
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    for s in samples {
        w.serialize(s).map_err(err)?;
    }
    w.flush().map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Writes the three files every run leaves, a measured one (`compare`) or a predicted one
/// (`simulate`): `samples.csv`, `summary.json` (the `summary` document) and `chart.svg`.
pub fn write_files(out: &Path, summary: &impl Serialize, title: &str, samples: &[Sample], platforms: &[String], load: Option<(f64, f64)>) -> Result<(), String> {
    write_samples(&out.join("samples.csv"), samples)?;
    let json = serde_json::to_string_pretty(summary).map_err(|e| e.to_string())?;
    std::fs::write(out.join("summary.json"), json + "\n").map_err(|e| format!("writing {}: {e}", out.join("summary.json").display()))?;
    chart::write(&out.join("chart.svg"), title, platforms, samples, load)
}

/// Checks that `dir` can take the files, before anything is sent or sampled.
pub fn prepare_out(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let probe = dir.join(".replatform-write-check");
    std::fs::write(&probe, b"").map_err(|e| format!("cannot write in `{}`: {e}", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

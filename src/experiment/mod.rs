//! The side-by-side experiment: `load` sends the same messages to both queues, `compare`
//! samples both platforms while they drain them and leaves the samples, a summary and a chart.

pub mod assess_page;
pub mod chart;
pub mod compare;
pub mod load;

use std::path::Path;

use serde::Serialize;

use crate::core::cost::Cost;
use crate::core::experiment::{Gap, PlatformSummary, Run, Sample};
use crate::core::side::Side;
use crate::core::simulate::decision::Bottleneck;

/// `summary.json`, and `compare --output json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub service: String,
    pub region: String,
    /// The endpoint sampled when it is not AWS's own (`AWS_ENDPOINT_URL` at an emulator such
    /// as moto, which runs no task and no function: local stand-ins did the work); `None` on
    /// AWS.
    pub endpoint: Option<String>,
    #[serde(flatten)]
    pub run: Run,
    pub load: Option<load::LoadReport>,
    pub function: Option<compare::FunctionFacts>,
    pub ecs_events: Vec<compare::SeenEvent>,
    pub deployed: Vec<compare::Platform>,
    /// The model's prediction for the same load (`replatform simulate`'s), beside the
    /// measurement; `None` when the config could not be modelled (`prediction_note` says why).
    pub prediction: Option<Prediction>,
    pub prediction_note: Option<String>,
    /// What the measured run cost, from its samples, per platform.
    pub cost: Vec<MeasuredCost>,
}

/// The model run for the load `compare` watched.
#[derive(Clone, Debug, Serialize)]
pub struct Prediction {
    /// What the model was given: `the plan --load sent` and/or `the depth found at the first
    /// sample`.
    pub load: String,
    pub per_message_s: f64,
    pub task_start_s: f64,
    /// The predicted summaries, the fields of `platforms`.
    pub platforms: Vec<PlatformSummary>,
    /// Predicted against measured drain times, per platform.
    pub gaps: Vec<Gap>,
    pub bottlenecks: Vec<Bottleneck>,
    pub cost: Vec<Cost>,
}

/// The measured run's cost on one platform; `cost` is `None` when the samples hold nothing to
/// price, and `method` says how it was worked out (or why not).
#[derive(Clone, Debug, Serialize)]
pub struct MeasuredCost {
    pub platform: Side,
    pub cost: Option<Cost>,
    pub method: String,
}

/// Writes `samples.csv`: one row a sample and platform, the columns of [`Sample`], an empty
/// cell where a figure is unknown.
pub fn write_samples(path: &Path, samples: &[Sample]) -> Result<(), String> {
    let err = |e: csv::Error| format!("writing {}: {e}", path.display());
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    for s in samples {
        w.serialize(s).map_err(err)?;
    }
    w.flush()
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Writes the three files every run leaves, a measured one (`compare`) or a predicted one
/// (`simulate`): `samples.csv` (`chart.samples`), `summary.json` (the `summary` document) and
/// `chart.svg`.
pub fn write_files(
    out: &Path,
    summary: &impl Serialize,
    chart: &chart::Chart,
) -> Result<(), String> {
    write_samples(&out.join("samples.csv"), chart.samples)?;
    let json = serde_json::to_string_pretty(summary).map_err(|e| e.to_string())?;
    std::fs::write(out.join("summary.json"), json + "\n")
        .map_err(|e| format!("writing {}: {e}", out.join("summary.json").display()))?;
    chart::write(&out.join("chart.svg"), chart)
}

/// Checks that `dir` can take the files, before anything is sent or sampled.
pub fn prepare_out(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let probe = dir.join(".replatform-write-check");
    std::fs::write(&probe, b"").map_err(|e| format!("cannot write in `{}`: {e}", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

//! `simulate`: the scaling model of both platforms run on the config and its rendered ECS
//! template for a load, no AWS call; the prediction written as `compare` writes a measurement
//! (samples.csv, summary.json, chart.svg).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::pipeline::rendered;
use super::workspace::Workspace;
use crate::core::cost::Prices;
use crate::core::experiment::{self, Sample};
use crate::core::load::Wave;
use crate::core::side::Side;
use crate::core::simulate::{self, Inputs, Setup, Summary};
use crate::error::Failure;
use crate::experiment::compare::rfc3339;
use crate::experiment::load::{schedule, Bodies, Plan};
use crate::experiment::{self as files};
use crate::ui::printer::Printer;

/// What the model needs beyond the config and the load.
#[derive(Clone, Debug)]
pub struct Spec {
    pub per_message: Duration,
    pub task_start: Duration,
    pub interval: Duration,
    /// `--for`: simulate this long, drained or not.
    pub window: Option<Duration>,
    /// The folder for the files; a dated one under `.replatform/` when not given.
    pub out: Option<PathBuf>,
    /// `--prices FILE`, else the built-in table.
    pub prices: Option<PathBuf>,
    /// `--poison N`: the first N messages always fail.
    pub poison: u64,
    /// `--queue NAME`: model that queue of a worker of several alone; else their sum.
    pub queue: Option<String>,
}

/// The mean size of a message the plan sends, its two attributes included.
pub fn message_bytes(plan: &Plan) -> u64 {
    let body = match &plan.bodies {
        Bodies::Generated(r) => (r.min + r.max) / 2,
        Bodies::Fixed(b) => b.len(),
    };
    (body + crate::core::load::ATTRIBUTE_ALLOWANCE) as u64
}

pub fn prices(file: Option<&Path>) -> Result<Prices, Failure> {
    match file {
        None => Ok(Prices::builtin()),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Failure::new(format!("cannot read --prices `{}`: {e}", p.display())).hint(
                    "name a YAML file shaped as the built-in table (see docs/commands.md#simulate)",
                )
            })?;
            Prices::parse(&text).map_err(|e| Failure::new(format!("--prices `{}`: {e}", p.display())).hint("start from the built-in table (docs/commands.md#simulate) and change the figures only"))
        }
    }
}

fn default_out(now: SystemTime) -> PathBuf {
    let stamp: String = rfc3339(now)
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    PathBuf::from(".replatform").join(format!(
        "simulate-{}-{}",
        &stamp[..8.min(stamp.len())],
        &stamp[8.min(stamp.len())..]
    ))
}

/// The model's setup for the config in `ws` (its rendered ECS template, so a `--templates`
/// override is modelled as it would deploy) and `inputs`.
pub fn setup(ws: &Workspace, inputs: &Inputs, printer: &Printer) -> Result<Setup, Failure> {
    setup_for(ws, inputs, None, printer).map(|(s, _)| s)
}

/// [`setup`] for one queue of a worker of several (`--queue NAME`), or for their sum; with
/// several queues, also which it models, in words.
pub fn setup_for(
    ws: &Workspace,
    inputs: &Inputs,
    queue: Option<&str>,
    printer: &Printer,
) -> Result<(Setup, Option<String>), Failure> {
    let (loaded, stacks, _) =
        rendered(&ws.file, None, ws.templates.as_deref(), printer).map_err(|(f, _)| f)?;
    let ecs = stacks
        .iter()
        .find(|s| s.side() == Some(Side::Ecs))
        .ok_or_else(|| {
            Failure::new("the templates render no `ecs` stack").hint(
                "the model reads the ECS stack's scaling; keep `stacks/ecs.yaml` in --templates",
            )
        })?;
    let c = &loaded.config;
    if let Some(name) = queue {
        c.queue_named(name).map_err(|e| {
            Failure::new(e)
                .hint("name one of the keys under `queues:` (or `queue` for the one queue)")
        })?;
    }
    let consumed = c.consumed_queues();
    let said = (consumed.len() > 1).then(|| match queue {
            Some(name) => format!("the model drains `{name}` alone, with the load sent to it"),
            None => format!(
                "the model drains one queue standing for the sum of the worker's {} consumed queues ({}), with `{}`'s settings; --queue NAME models one",
                consumed.len(),
                consumed.iter().map(|e| e.label()).collect::<Vec<_>>().join(", "),
                consumed[0].label()
            ),
        });
    Setup::for_queue(c, &ecs.template, inputs, queue)
        .map(|s| (s, said))
        .map_err(|e| Failure::new(format!("cannot model `{}`: {e}", ecs.name)).hint("the model runs the scaling the built-in templates render; `replatform render` shows what yours render"))
}

/// The model's inputs for a load sent as `waves`, with the worker's figures.
pub fn inputs(
    waves: Vec<Wave>,
    per_message: Duration,
    task_start: Duration,
    interval: Duration,
    message_bytes: u64,
    now: SystemTime,
) -> Inputs {
    Inputs {
        task_start,
        interval,
        message_bytes,
        start_unix_ms: now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        ..Inputs::new(waves, per_message)
    }
}

/// Runs the model for `plan` and writes the files; the summary document comes back.
pub fn simulate(
    ws: &Workspace,
    spec: &Spec,
    plan: &Plan,
    printer: &Printer,
) -> Result<Summary, Failure> {
    let (_, waves) = schedule(plan);
    run(ws, spec, waves, message_bytes(plan), printer)
}

/// `simulate --from-compare DIR`: the worker's figures and the load estimated from a measured
/// run's samples.csv (and its summary.json's load window); `spec`'s figures stand where the
/// samples show none. Also how each figure was found, in words.
pub fn from_compare(
    ws: &Workspace,
    spec: &Spec,
    dir: &Path,
    printer: &Printer,
) -> Result<(Summary, Vec<String>), Failure> {
    let hint = "name a folder `replatform compare` left (its --out): it holds samples.csv and summary.json";
    let csv_path = dir.join("samples.csv");
    let mut reader = csv::Reader::from_path(&csv_path).map_err(|e| {
        Failure::new(format!("cannot read `{}`: {e}", csv_path.display())).hint(hint)
    })?;
    let samples: Vec<Sample> = reader
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| {
            Failure::new(format!(
                "`{}` does not read as compare's samples: {e}",
                csv_path.display()
            ))
            .hint(hint)
        })?;
    let summary_path = dir.join("summary.json");
    let text = std::fs::read_to_string(&summary_path).map_err(|e| {
        Failure::new(format!("cannot read `{}`: {e}", summary_path.display())).hint(hint)
    })?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Failure::new(format!("`{}` is not JSON: {e}", summary_path.display())).hint(hint)
    })?;
    let load_done_s = doc["load_window_s"]
        .get(1)
        .and_then(serde_json::Value::as_f64);
    let e = experiment::estimate(&samples, load_done_s);
    if e.waves.is_empty() {
        return Err(Failure::new(format!(
            "the samples in `{}` show no message to simulate",
            csv_path.display()
        ))
        .hint(
            "a run of `compare --load ...` records what it sent; or give the load options instead",
        ));
    }
    let mut said = e.said.clone();
    if e.per_message.is_none() {
        said.push(format!(
            "per message {} s: the default",
            spec.per_message.as_secs_f64()
        ));
    }
    if e.task_start.is_none() {
        said.push(format!(
            "task start {} s: the default",
            spec.task_start.as_secs_f64()
        ));
    }
    let spec = Spec {
        per_message: e.per_message.unwrap_or(spec.per_message),
        task_start: e.task_start.unwrap_or(spec.task_start),
        ..spec.clone()
    };
    // The samples hold no message size: `load`'s default sizes.
    let sizes = crate::core::load::SizeRange::default();
    let bytes = ((sizes.min + sizes.max) / 2 + crate::core::load::ATTRIBUTE_ALLOWANCE) as u64;
    Ok((run(ws, &spec, e.waves, bytes, printer)?, said))
}

fn run(
    ws: &Workspace,
    spec: &Spec,
    waves: Vec<Wave>,
    message_bytes: u64,
    printer: &Printer,
) -> Result<Summary, Failure> {
    let prices = prices(spec.prices.as_deref())?;
    let now = SystemTime::now();
    let inputs = Inputs {
        window: spec.window,
        poison: spec.poison,
        ..inputs(
            waves,
            spec.per_message,
            spec.task_start,
            spec.interval,
            message_bytes,
            now,
        )
    };
    let (setup, said) = setup_for(ws, &inputs, spec.queue.as_deref(), printer)?;
    if let Some(said) = said {
        printer.info(said);
    }
    let out = spec.out.clone().unwrap_or_else(|| default_out(now));
    files::prepare_out(&out)
        .map_err(|e| Failure::new(e).hint("choose another folder with --out DIR"))?;
    let run = simulate::run(&setup, &inputs);
    let summary = run.summary(&setup, &inputs, &prices, &out.display().to_string());
    let platforms: Vec<Side> = summary.run.platforms.iter().map(|p| p.platform).collect();
    let title = format!(
        "{}: PREDICTED by the model, not measured (replatform simulate)",
        summary.service
    );
    files::write_files(
        &out,
        &summary,
        &files::chart::Chart {
            title,
            platforms: &platforms,
            samples: &run.samples,
            load: run.load_window_s,
            predicted: &[],
            workers_not_measured: None,
            no_data: files::chart::SEE_NOTES,
        },
    )
    .map_err(|e| Failure::new(e).hint("choose another folder with --out DIR"))?;
    Ok(summary)
}

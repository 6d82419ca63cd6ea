//! The command line: clap types only. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ui::printer::OutputFormat;

/// Run an SQS worker on ECS Fargate and AWS Lambda side by side, from one replatform.yaml.
// The options every command takes go under a heading of their own, after the command's own
// options, so that a command's `--help` opens with what is particular to it. clap
// lists custom headings after `Options`, in the order their first argument is declared; a
// subcommand's own arguments come before the global ones propagated to it. `-h` and `-V` are
// declared here, rather than by clap, to stand under that heading too.
#[derive(Debug, Parser)]
#[command(
    name = "replatform",
    version,
    propagate_version = true,
    max_term_width = 100,
    disable_help_flag = true,
    disable_version_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Print help
    #[arg(short, long, global = true, action = clap::ArgAction::Help, help_heading = GLOBAL_HEADING)]
    help: Option<bool>,
    /// Print the version
    #[arg(short = 'V', long, global = true, action = clap::ArgAction::Version, help_heading = GLOBAL_HEADING)]
    version: Option<bool>,
    #[command(subcommand)]
    pub command: Command,
}

/// The heading of the options every command takes, in every `--help`.
pub const GLOBAL_HEADING: &str = "Global options";

#[derive(Debug, Args)]
#[command(next_help_heading = GLOBAL_HEADING)]
pub struct GlobalArgs {
    /// The service's config file
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "replatform.yaml",
        value_name = "FILE"
    )]
    pub file: PathBuf,
    /// Render from this folder's `templates/*.hbs` and `stacks/*.yaml` over the built-in ones
    #[arg(long, global = true, value_name = "DIR", env = "REPLATFORM_TEMPLATES")]
    pub templates: Option<PathBuf>,
    /// `text` for people, `json` for scripts (one document on stdout)
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Print only warnings, errors and data
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more detail
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The AWS profile to use (default: AWS_PROFILE, else `default`)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// The AWS region (default: the config's `region`, else AWS_REGION or the profile's)
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
}

pub use crate::app::Only;

// The values the command line takes for the app's and the printer's own enums: clap stays in
// this file (docs/architecture.md), the types where they are used.
impl ValueEnum for Only {
    fn value_variants<'a>() -> &'a [Self] {
        &[Only::Ecs, Only::Lambda]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

impl ValueEnum for OutputFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[OutputFormat::Text, OutputFormat::Json]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "json",
        }))
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::core::duration::parse(s).map(|d| std::time::Duration::from_secs(d.0))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starting replatform.yaml (and a .dockerignore) for the folder with the worker's
    /// Dockerfile, or from a running ECS service (--from-ecs)
    Init(InitArgs),
    /// Check replatform.yaml: its fields, and the settings AWS would only reject at deploy time
    Validate(ValidateArgs),
    /// Write both stacks' CloudFormation templates
    Render(RenderArgs),
    /// Write the built-in templates and stack files to a folder, to customise with --templates
    Templates(TemplatesArgs),
    /// Show what `up` would change, without changing anything
    Diff(DiffArgs),
    /// Deploy both stacks through change sets, showing each change before it is made
    Up(UpArgs),
    /// Each stack's status and outputs, queue depths, task counts and function concurrency
    Status(StatusArgs),
    /// Send the same messages to both deployed queues (the experiment's load)
    Load(LoadArgs),
    /// Watch both platforms drain their queues, then write samples.csv, summary.json, chart.svg
    Compare(CompareArgs),
    /// Predict how both platforms scale, drain and cost under a load, from the config alone (no AWS
    /// call)
    #[command(
        mut_arg("count", |a| a.help("Model N messages arriving at once in each queue")),
        mut_arg("batches", |a| a.help("Model batches as the seed article's seeder sent them (docs/seed-article.md): B batches of 1..=--max-per-batch messages, --pause apart")),
        mut_arg("rate", |a| a.help("Model a steady stream of R messages a second to each queue, for --duration (or --count messages)")),
        mut_arg("concurrency", |a| a.help("Not used by simulate, which sends nothing; taken so that load's options can be given as they are")),
        group(clap::ArgGroup::new("modelled_load").args(["count", "batches", "rate", "from_compare"]).required(true).multiple(true))
    )]
    Simulate(SimulateArgs),
    /// Predict each platform's monthly cost and message age from recorded traffic (an ECS
    /// service's or a cluster's, or --traffic FILE), the Lambda settings to choose, and readiness
    #[command(
        long_about = "Predict each platform's monthly cost and message age from recorded traffic, the Lambda settings to choose, and whether the worker is ready.\n\nCLUSTER/SERVICE reads the service as init --from-ecs does and its queues' per-minute traffic and running tasks from CloudWatch; --cluster NAME does so for every SQS worker of the cluster and ranks them by monthly saving (--html FILE: a page with a chart per service); --traffic FILE replays a per-minute CSV for the config, with no AWS call."
    )]
    Assess(AssessArgs),
    /// Run the image here under both platforms' contracts (Lambda's Runtime API, ECS's command)
    Local(LocalArgs),
    /// Move the production queue's consumption from the ECS service to the function, in stages
    /// watched for health
    Cutover(CutoverArgs),
    /// Put the production ECS service back as recorded and stop the function consuming its queue
    Rollback(RollbackArgs),
    /// Delete both stacks and their queues, refusing while a queue holds messages
    Down(DownArgs),
    /// Print the shell completion script for SHELL on stdout
    Completions(CompletionsArgs),
}

/// `--stages`: percentages of capacity, increasing, ending at 100.
#[derive(Clone, Debug)]
pub struct Stages(pub Vec<u32>);

fn parse_stages(s: &str) -> Result<Stages, String> {
    crate::core::cutover::parse_stages(s).map(Stages)
}

#[derive(Debug, Args)]
pub struct CutoverArgs {
    /// The function's share of the consumers at each stage, in percent; ECS's falls by as much
    #[arg(long, default_value = "10,50,100", value_parser = parse_stages, value_name = "PERCENTS")]
    pub stages: Stages,
    /// Watch each stage this long before the next (0s: no watch)
    #[arg(long, default_value = "5m", value_parser = parse_fine_duration, value_name = "DURATION")]
    pub bake: std::time::Duration,
    /// How often the watch samples Lambda's errors and throttles and the queues
    #[arg(long, default_value = "1m", value_parser = parse_fine_duration, value_name = "DURATION")]
    pub sample_every: std::time::Duration,
    /// Roll back when the function reports more errors than this during a bake
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_errors: u64,
    /// Roll back when Lambda throttles more invocations than this during a bake
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_throttles: u64,
    /// Roll back when the dead-letter queue grows by more than this during a bake
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_dlq_growth: u64,
    /// Roll back when the oldest message in the queue has waited longer than this
    #[arg(long, default_value = "15m", value_parser = parse_fine_duration, value_name = "DURATION")]
    pub max_oldest_age: std::time::Duration,
    /// Roll back when the queue's depth rises in every sample, by this much or more
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_depth_rise: u64,
    /// Go through the stages without asking before each
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Roll back without asking
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct LocalArgs {
    /// Run only this platform
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Run this image instead of building one
    #[arg(long, value_name = "URI")]
    pub image_uri: Option<String>,
    /// The queue to work (default: the deployed stack's queue of each platform)
    #[arg(long, value_name = "URL")]
    pub queue_url: Option<String>,
    /// Put N generated messages in the queue first (as `load` makes them)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub messages: u64,
    /// Invoke the function once with this event instead of playing its trigger
    #[arg(long, value_name = "FILE")]
    pub event: Option<PathBuf>,
    /// Stop a platform that has not drained its queue after this long
    #[arg(long, default_value = "3m", value_parser = parse_fine_duration, value_name = "DURATION")]
    pub timeout: std::time::Duration,
}

fn parse_fine_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("{e}; write e.g. 500ms, 5s, 2m"))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 100_000.0 => Ok(r),
        Ok(_) => Err("the rate must be above 0 and at most 100000 messages a second".into()),
        Err(_) => Err(format!("`{s}` is not a number of messages a second")),
    }
}

/// What `load` sends, shared by `load` and `compare --load`.
#[derive(Clone, Debug, Args)]
pub struct LoadOptions {
    /// Send N messages to each queue at once
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000_000), conflicts_with = "batches")]
    pub count: Option<u64>,
    /// Batches as the seed article's seeder sent them (docs/seed-article.md): B batches of
    /// 1..=--max-per-batch messages, --pause apart
    #[arg(long, value_name = "B", value_parser = clap::value_parser!(u32).range(1..=100_000), conflicts_with = "rate")]
    pub batches: Option<u32>,
    /// The most messages in one of --batches (each batch draws 1..=M)
    #[arg(long, value_name = "M", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000), requires = "batches")]
    pub max_per_batch: u32,
    /// The wait between two of --batches
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_fine_duration, requires = "batches")]
    pub pause: std::time::Duration,
    /// A steady stream of R messages a second to each queue, for --duration (or --count messages)
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// How long --rate sends for
    #[arg(long, value_name = "DURATION", value_parser = parse_fine_duration, requires = "rate", conflicts_with = "count")]
    pub duration: Option<std::time::Duration>,
    /// Body sizes in bytes, drawn evenly from MIN..MAX for each message
    #[arg(
        long,
        value_name = "MIN..MAX",
        default_value = "64..128",
        conflicts_with = "body_file"
    )]
    pub size: crate::core::load::SizeRange,
    /// Send this file's contents as every message's body (the id and send time go in attributes)
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Groups of up to ten messages in flight at once (one SendMessageBatch call per queue each)
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Seed for the sizes, padding and batch sizes, to repeat a run's load exactly
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Send only to this platform's queue
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Only this queue of a worker of several (a key under `queues:`); every consumed queue without it
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
    #[command(flatten)]
    pub load: LoadOptions,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Watch only this platform
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Only this queue of a worker of several (a key under `queues:`); every consumed queue without it
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
    /// Run `load` first, with the load options below, while sampling
    #[arg(long)]
    pub load: bool,
    #[command(flatten)]
    pub options: LoadOptions,
    /// Time between two samples
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_fine_duration)]
    pub interval: std::time::Duration,
    /// Stop once every queue is empty and stays empty (the default)
    #[arg(long, conflicts_with = "window")]
    pub until_drained: bool,
    /// Sample for exactly this long instead, drained or not
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_fine_duration)]
    pub window: Option<std::time::Duration>,
    /// Give up waiting for the queues to drain after this long (the files are still written)
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_fine_duration)]
    pub timeout: std::time::Duration,
    /// Folder for samples.csv, summary.json and chart.svg (default: .replatform/compare-<time>)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The handling time of one message, for the prediction drawn beside the measurement
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_fine_duration)]
    pub per_message: std::time::Duration,
    /// A Fargate task's image pull and start, for the prediction (measured: about a minute)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_fine_duration)]
    pub task_start: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub load: LoadOptions,
    /// Model only this queue of a worker of several (a key under `queues:`); their sum without it
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
    /// The handling time of one message
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_fine_duration)]
    pub per_message: std::time::Duration,
    /// A Fargate task's image pull and start (measured: about a minute)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_fine_duration)]
    pub task_start: std::time::Duration,
    /// Simulate exactly this long instead of until both queues drain and ECS scales back in
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_fine_duration)]
    pub window: Option<std::time::Duration>,
    /// Time between two samples, whole seconds
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_fine_duration)]
    pub interval: std::time::Duration,
    /// Folder for samples.csv, summary.json and chart.svg (default: .replatform/simulate-<time>)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// List every scaling decision with its time, rule and numbers
    #[arg(long)]
    pub explain: bool,
    /// A price table to use instead of the built-in one (YAML of the same shape)
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Take the load, --per-message and --task-start from a measured run (compare's --out folder)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["per_message", "task_start"])]
    pub from_compare: Option<PathBuf>,
    /// This many of the first messages always fail: they go round until the dead-letter queue
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub poison: u64,
}

#[derive(Debug, Args)]
pub struct AssessArgs {
    /// An ECS service to read from AWS: its config as `init --from-ecs` reads it, its queues'
    /// traffic and its running tasks from CloudWatch
    #[arg(value_name = "CLUSTER/SERVICE", conflicts_with_all = ["traffic", "cluster"])]
    pub target: Option<String>,
    /// Every service of this ECS cluster that consumes an SQS queue, ranked by monthly saving
    #[arg(long, value_name = "NAME", conflicts_with = "traffic")]
    pub cluster: Option<String>,
    /// The days of recorded traffic to read (by minute up to 15, CloudWatch's retention of
    /// 1-minute data; by 5 minutes up to 63)
    #[arg(long, value_name = "N", default_value_t = 14)]
    pub days: u64,
    /// With --cluster: also write one self-contained HTML page, a chart per service
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub html: Option<PathBuf>,
    /// A per-minute CSV: `time,sent` and optionally `deleted,visible,oldest_age_s`; time as RFC
    /// 3339 or seconds since the epoch; replayed for the config (-f), no AWS call
    #[arg(long, value_name = "FILE")]
    pub traffic: Option<PathBuf>,
    /// Model only this queue of a worker of several (a key under `queues:`); their sum without it
    #[arg(long, value_name = "NAME", requires = "traffic")]
    pub queue: Option<String>,
    /// The handling time of one message (with --traffic: 100ms unless given; against AWS: what
    /// the recorded task count and deletes imply unless given)
    #[arg(long, value_name = "DURATION", value_parser = parse_fine_duration)]
    pub per_message: Option<std::time::Duration>,
    /// A Fargate task's image pull and start (measured: about a minute)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_fine_duration)]
    pub task_start: std::time::Duration,
    /// A price table to use instead of the built-in one (YAML of the same shape)
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Deploy this image instead of building one:
    /// <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest>
    #[arg(long, value_name = "URI")]
    pub image_uri: Option<String>,
    /// Deploy only this stack
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Make changes that replace or remove resources without asking
    #[arg(short, long)]
    pub yes: bool,
    /// Stop watching a stack after this long (it goes on in CloudFormation)
    #[arg(long, default_value = "60m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: std::time::Duration,
    /// Build and push the image even when the registry already holds these sources' tag
    #[arg(long, conflicts_with = "image_uri")]
    pub rebuild: bool,
    /// Go ahead with a change that replaces or removes a queue (its messages stay in the old one)
    #[arg(long)]
    pub allow_queue_replacement: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Compare with this image instead of the one the sources would build, by digest
    #[arg(long, value_name = "URI")]
    pub image_uri: Option<String>,
    /// Compare only this stack
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Exit 0 when nothing would change, 3 when something would, 1 on error
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Delete only this stack
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Also delete the ECR repository and its images, once both stacks are gone
    #[arg(long, conflicts_with = "only")]
    pub purge_images: bool,
    /// Delete without asking
    #[arg(short, long)]
    pub yes: bool,
    /// Delete even when the queues hold messages (the messages go with them)
    #[arg(long, conflicts_with = "keep_queues")]
    pub force: bool,
    /// Keep the queues (the stacks retain them): each is listed with its URL
    #[arg(long)]
    pub keep_queues: bool,
    /// Stop watching a stack after this long (it goes on in CloudFormation)
    #[arg(long, default_value = "60m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Show only this stack
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Show only this queue of a worker of several (a key under `queues:`); every queue without it
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Fail on warnings too
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Folder to write `<service>-ecs.yaml` and `<service>-lambda.yaml` to
    #[arg(long, default_value = ".replatform", value_name = "DIR")]
    pub out: PathBuf,
    /// The image both stacks run, by digest:
    /// <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest>
    #[arg(long, value_name = "URI")]
    pub image_uri: Option<String>,
}

#[derive(Debug, Args)]
pub struct TemplatesArgs {
    /// Folder to write `templates/` and `stacks/` into
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace files that already exist there
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace a replatform.yaml that already exists
    #[arg(long)]
    pub force: bool,
    /// Read the ECS service that runs the worker today (its task definition, roles, scaling and
    /// queue) and write the config from it, with a readiness report for Lambda
    #[arg(long, value_name = "CLUSTER/SERVICE", value_parser = parse_ecs_target)]
    pub from_ecs: Option<(String, String)>,
    /// Read Kubernetes manifests (files or folders: `kubectl get -o yaml`, `helm template`, a
    /// GitOps repository) and write the config for the worker a KEDA ScaledObject scales on an
    /// SQS queue, with a readiness report for Lambda
    #[arg(long, value_name = "PATH", num_args = 1.., conflicts_with = "from_ecs")]
    pub from_k8s: Vec<std::path::PathBuf>,
    /// With --from-k8s: the Deployment or StatefulSet to read, when the manifests hold several
    /// SQS workers
    #[arg(long, value_name = "NAMESPACE/NAME", requires = "from_k8s")]
    pub workload: Option<String>,
}

fn parse_ecs_target(s: &str) -> Result<(String, String), String> {
    crate::app::adopt::parse_target(s)
}

//! The command line: clap types only. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::ui::printer::OutputFormat;

/// Run an SQS worker on ECS Fargate and AWS Lambda side by side, from one replatform.yaml.
#[derive(Debug, Parser)]
#[command(name = "replatform", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The service's config file
    #[arg(short = 'f', long = "file", global = true, default_value = "replatform.yaml", value_name = "FILE")]
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

/// Which of the two stacks a command acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Only {
    Ecs,
    Lambda,
}

impl Only {
    pub fn as_str(self) -> &'static str {
        match self {
            Only::Ecs => "ecs",
            Only::Lambda => "lambda",
        }
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::core::duration::parse(s).map(|d| std::time::Duration::from_secs(d.0))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check replatform.yaml: its fields, and the settings AWS would only reject at deploy time
    Validate(ValidateArgs),
    /// Write both stacks' CloudFormation templates
    Render(RenderArgs),
    /// Write the built-in templates and stack files to a folder, to customise with --templates
    Templates(TemplatesArgs),
    /// Deploy both stacks through change sets, showing each change before it is made
    Up(UpArgs),
    /// Show what `up` would change, without changing anything
    Diff(DiffArgs),
    /// Delete both stacks (their queues are kept, with their messages)
    Down(DownArgs),
    /// Each stack's status and outputs, queue depths, task counts and function concurrency
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Deploy this image instead of building one: <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest>
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
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Compare with this image instead of the one the sources would build, by digest
    #[arg(long, value_name = "URI")]
    pub image_uri: Option<String>,
    /// Compare only this stack
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Exit 0 when nothing would change, 2 when something would, 1 on error
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
    /// Stop watching a stack after this long (it goes on in CloudFormation)
    #[arg(long, default_value = "60m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Show only this stack
    #[arg(long, value_enum)]
    pub only: Option<Only>,
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
    /// The image both stacks run, by digest: <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest>
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

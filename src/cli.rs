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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check replatform.yaml: its fields, and the settings AWS would only reject at deploy time
    Validate(ValidateArgs),
    /// Write both stacks' CloudFormation templates
    Render(RenderArgs),
    /// Write the built-in templates and stack files to a folder, to customise with --templates
    Templates(TemplatesArgs),
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

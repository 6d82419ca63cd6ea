//! One module per command: wiring only. Shared here: loading and checking the config.

pub mod compare;
pub mod completions;
pub mod diff;
pub mod down;
pub mod guard;
pub mod load;
pub mod local;
pub mod render;
pub mod status;
pub mod templates;
pub mod up;
pub mod validate;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::apply::OpError;
use crate::aws::cfn::Cfn;
use crate::aws::{Aws, AwsError};
use crate::cli::Only;
use crate::core::config::{self, Config};
use crate::core::diag::Diagnostic;
use crate::core::lint;
use crate::core::render::{RenderError, RenderedStack, Sources};
use crate::ui::diagnostics;
use crate::ui::printer::Printer;
use crate::ui::progress::{self, Reporter};

/// A command's failure: what happened and what to do. Exit code 1, or 130 when interrupted.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
    /// Already reported (diagnostics were printed): print nothing more.
    pub reported: bool,
    /// The process's exit code.
    pub exit: u8,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), hint: None, reported: false, exit: 1 }
    }

    /// Stopped by SIGINT or SIGTERM: exit code 130, as a shell reports Ctrl-C.
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self { exit: 130, ..Self::new(message) }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The failure was already printed (diagnostics, or each stack's error): exit 1 quietly.
    pub fn reported() -> Self {
        Self { message: String::new(), hint: None, reported: true, exit: 1 }
    }

    /// Writing to stdout failed (other than a closed pipe, which is no failure).
    pub fn output(e: std::io::Error) -> Self {
        Failure::new(format!("cannot write output: {e}"))
    }
}

impl From<RenderError> for Failure {
    fn from(e: RenderError) -> Self {
        Failure::new(e.to_string()).hint("fix the template, or leave out --templates to use the built-in ones")
    }
}

pub type Outcome = Result<std::process::ExitCode, Failure>;

/// The JSON document of the commands that report per stack: `{"stacks": [...]}`.
#[derive(Serialize)]
pub struct StacksDoc<'a, T: Serialize> {
    pub stacks: &'a [T],
}

/// The options every command shares.
#[derive(Debug)]
pub struct Global {
    pub file: PathBuf,
    pub templates: Option<PathBuf>,
    pub profile: Option<String>,
    pub region: Option<String>,
}

impl From<AwsError> for Failure {
    fn from(e: AwsError) -> Self {
        let hint = e.hint();
        let f = Failure::new(e.to_string());
        match hint {
            Some(h) => f.hint(h),
            None => f,
        }
    }
}

/// The AWS settings: `--profile`, then `--region`, the config's `region`, the SDK's chain.
pub async fn connect(g: &Global, config_region: Option<&str>, printer: &Printer) -> Result<Aws, Failure> {
    let aws = Aws::load(g.profile.as_deref(), g.region.as_deref().or(config_region)).await.map_err(|e| {
        if e.code == "NoRegion" {
            Failure::new("no AWS region is set").hint("set `region:` in replatform.yaml, pass --region, or set AWS_REGION")
        } else {
            Failure::from(e)
        }
    })?;
    printer.debug(format!(
        "aws: region {}, profile {}, endpoint {}",
        aws.region(),
        g.profile.as_deref().or(std::env::var("AWS_PROFILE").ok().as_deref()).unwrap_or("default"),
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "the service's own".into())
    ));
    Ok(aws)
}

/// The stacks a command acts on: all, or the one `--only` names.
pub fn select(stacks: Vec<RenderedStack>, only: Option<Only>) -> Vec<RenderedStack> {
    stacks.into_iter().filter(|s| only.is_none_or(|o| s.kind == o.as_str())).collect()
}

/// Live lines on a terminal, plain lines elsewhere, nothing with --quiet or --output json.
pub fn reporter(printer: &Printer, stacks: &[String]) -> Box<dyn Reporter> {
    use std::io::IsTerminal;
    if printer.quiet || printer.is_json() {
        Box::new(progress::Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(progress::Live::new(stacks))
    } else {
        Box::new(progress::Plain::new(stacks))
    }
}

/// Names this run's change sets and request tokens.
pub fn run_token() -> String {
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    format!("replatform-{millis}")
}

/// Resolves when the process receives SIGINT (Ctrl-C) or SIGTERM, with the signal's name.
pub async fn signalled() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// Asks a yes/no question on the terminal, off the async thread so that a signal still stops
/// the command while it waits. `Err` is the signal that came first.
pub async fn ask(question: &str) -> Result<Option<bool>, &'static str> {
    let question = question.to_string();
    let answer = tokio::task::spawn_blocking(move || confirm(&question));
    tokio::select! {
        a = answer => Ok(a.unwrap_or(None)),
        s = signalled() => Err(s),
    }
}

/// Asks a yes/no question on the terminal. `None` when there is no terminal to ask on.
pub fn confirm(question: &str) -> Option<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return None;
    }
    let mut err = std::io::stderr();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    Some(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// Prints a failed stack operation: the error, the root cause, what to do.
pub fn report_op_error(printer: &Printer, e: &OpError) {
    let mut message = e.to_string();
    if let OpError::Failed { root_cause, reason, .. } = e {
        match root_cause {
            Some(c) => message.push_str(&format!(
                "\n  root cause: {} ({}) {}: {}",
                c.logical_id,
                c.resource_type,
                c.status,
                c.reason.as_deref().unwrap_or("no reason given")
            )),
            None => {
                if let Some(r) = reason {
                    message.push_str(&format!("\n  reason: {r}"));
                }
            }
        }
    }
    printer.error(&message, e.hint().as_deref());
}

/// The stack names from the config alone, without lint: `down` and `status` must work even
/// when lint would refuse the file.
pub fn stack_names(g: &Global, only: Option<Only>) -> Result<(Config, Vec<(String, String)>), Failure> {
    let bytes = read_config(&g.file)?;
    let invalid = |ds: &[Diagnostic]| {
        let d = &ds[0];
        let at = match d.location {
            Some((line, column)) => format!("{}:{line}:{column}", g.file.display()),
            None => g.file.display().to_string(),
        };
        let mut hint = d.hint.clone().unwrap_or_default();
        if ds.len() > 1 || hint.is_empty() {
            hint = [hint.as_str(), "`replatform validate` shows every problem"].iter().filter(|h| !h.is_empty()).copied().collect::<Vec<_>>().join("; ");
        }
        Failure::new(format!("`{}` is not valid: {at}: {}", g.file.display(), d.message)).hint(hint)
    };
    let source = config::decode(&bytes).map_err(|d| invalid(&[d]))?;
    let config = config::parse(source).map_err(|ds| invalid(&ds))?;
    let data = crate::core::render::Data::new(&config, &crate::core::render::Image::Placeholder);
    let stacks = crate::core::render::render(&sources(g.templates.as_deref())?, &data)?;
    let names = select(stacks, only).into_iter().map(|s| (s.kind, s.name)).collect();
    Ok((config, names))
}

/// The config file's bytes: a regular file (a FIFO would block, a device never end) within
/// [`config::MAX_CONFIG_BYTES`]; what is wrong otherwise, and what to do.
fn read_config(path: &Path) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let shown = path.display();
    let cannot = |e: &std::io::Error| {
        let f = Failure::new(format!("cannot read `{shown}`: {e}"));
        match e.kind() {
            std::io::ErrorKind::NotFound => {
                f.hint("run in the service's folder, or name the file with `-f PATH`; `examples/sqs-worker/replatform.yaml` is a starting point")
            }
            std::io::ErrorKind::PermissionDenied => f.hint("let this user read the file, or name another with `-f PATH`"),
            _ => f.hint("name the service's config with `-f PATH`"),
        }
    };
    // Metadata first: opening a FIFO waits for a writer.
    let meta = std::fs::metadata(path).map_err(|e| cannot(&e))?;
    if meta.is_dir() {
        return Err(Failure::new(format!("`{shown}` is a folder, not a config file")).hint(format!("name the file in it: `-f {}`", path.join("replatform.yaml").display())));
    }
    if !meta.is_file() {
        return Err(Failure::new(format!("`{shown}` is not a regular file (a FIFO, socket or device)")).hint("name the service's replatform.yaml with `-f PATH`"));
    }
    let too_large = |bytes: u64| {
        let d = config::too_large(bytes);
        Failure::new(format!("`{shown}`: {}", d.message)).hint(d.hint.unwrap_or_default())
    };
    if meta.len() > config::MAX_CONFIG_BYTES as u64 {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(config::MAX_CONFIG_BYTES as u64 + 1).read_to_end(&mut bytes)).map_err(|e| cannot(&e))?;
    if bytes.len() > config::MAX_CONFIG_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// A text to show diagnostics on: each line cut at 200 characters, so that a line of a
/// megabyte is not printed whole, and control characters shown as their pictures (`␍`, `␛`),
/// one character each, so that a file cannot write to the terminal.
fn shown_source(source: &str) -> std::borrow::Cow<'_, str> {
    const WIDTH: usize = 200;
    let picture = |c: char| match c {
        '\n' | '\t' => c,
        c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        c if c.is_control() => '\u{fffd}',
        c => c,
    };
    if source.lines().all(|l| l.len() <= WIDTH) && !source.chars().any(|c| picture(c) != c) {
        return source.into();
    }
    let source: String = source.chars().map(picture).collect();
    let source = source.as_str();
    let mut out = String::with_capacity(source.len().min(1 << 16));
    for line in source.split_inclusive('\n') {
        let (text, end) = match line.strip_suffix('\n') {
            Some(t) => (t, "\n"),
            None => (line, ""),
        };
        if text.chars().count() > WIDTH {
            out.extend(text.chars().take(WIDTH));
            out.push('…');
        } else {
            out.push_str(text);
        }
        out.push_str(end);
    }
    out.into()
}

/// Stack outputs, completed from the stack's resources where an output is missing: the names
/// `status` and the end of `up` show.
pub async fn facts(cfn: &Cfn, stack: &str, outputs: &std::collections::BTreeMap<String, String>) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
    let mut facts = outputs.clone();
    const FROM_RESOURCES: [(&str, &str); 5] =
        [("Queue", "QueueUrl"), ("DeadLetterQueue", "DeadLetterQueueUrl"), ("Cluster", "ClusterName"), ("Service", "ServiceName"), ("Function", "FunctionName")];
    if FROM_RESOURCES.iter().any(|(_, o)| !facts.contains_key(*o)) {
        let resources = cfn.resources(stack).await?;
        for (logical, output) in FROM_RESOURCES {
            if let (false, Some(physical)) = (facts.contains_key(output), resources.get(logical)) {
                facts.insert(output.to_string(), physical.clone());
            }
        }
    }
    Ok(facts)
}

/// A config file that parsed and passed the checks, with its lint findings.
pub struct Loaded {
    pub path: PathBuf,
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Serialize)]
pub struct DiagnosticsJson<'a> {
    pub file: String,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: &'a [Diagnostic],
}

/// Reads, parses, checks and lints the config. In text mode the diagnostics are printed as they
/// are found; with `--output json` they are returned for the command's JSON document. Errors
/// end the command with exit code 1.
pub fn load(path: &Path, printer: &Printer) -> Result<Loaded, (Failure, Vec<Diagnostic>)> {
    let bytes = read_config(path).map_err(|f| (f, Vec::new()))?;
    let origin = path.display().to_string();
    let show = |ds: &[Diagnostic], source: &str| {
        if !printer.is_json() {
            let source = shown_source(source);
            for d in ds {
                // Styled always: anstream strips the styles where they don't belong.
                printer.diagnostic(&diagnostics::render(d, &origin, &source, true));
            }
        }
    };
    let source = match config::decode(&bytes) {
        Ok(s) => s,
        Err(d) => {
            show(std::slice::from_ref(&d), &String::from_utf8_lossy(&bytes));
            return Err((Failure::reported(), vec![d]));
        }
    };
    let config = match config::parse(source) {
        Ok(c) => c,
        Err(errors) => {
            show(&errors, source);
            return Err((Failure::reported(), errors));
        }
    };
    let places = crate::core::locate::index(source);
    let mut found = lint::lint(&config);
    for d in &mut found {
        d.location = crate::core::locate::find(&places, &d.path).map(|p| p.value);
    }
    found.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.location.cmp(&b.location)));
    show(&found, source);
    if found.iter().any(Diagnostic::is_error) {
        return Err((Failure::reported(), found));
    }
    Ok(Loaded { path: path.to_path_buf(), config, diagnostics: found })
}

/// The template sources: built-in, or overlaid by `--templates DIR`.
pub fn sources(dir: Option<&Path>) -> Result<Sources, Failure> {
    match dir {
        None => Ok(Sources::builtin()),
        Some(d) => Sources::with_overrides(d).map_err(|e| {
            // The folder itself: missing, not a folder, or holding no template.
            let missing = matches!(&e, RenderError::Read { path, .. } if path == d);
            let f = Failure::from(e);
            if missing {
                f.hint("name the folder that holds your `templates/` and `stacks/`; `replatform templates --out DIR` writes the built-in set to start from")
            } else {
                f
            }
        }),
    }
}

//! The workspace a command starts from: the config read, checked and linted, the template
//! sources, the AWS settings, the stacks' names. Every command that reads `replatform.yaml` goes
//! through here.

use std::path::{Path, PathBuf};

use super::Only;
use crate::aws::Aws;
use crate::core::config::{self, Config};
use crate::core::diag::Diagnostic;
use crate::core::lint;
use crate::core::render::{RenderError, RenderedStack, Sources};
use crate::core::side::Side;
use crate::error::Failure;
use crate::ui::diagnostics;
use crate::ui::printer::{Printer, Shown};
use crate::ui::progress::{self, Reporter};

/// What every command is pointed at: the config file, the templates, the AWS profile and region
/// (the global options).
#[derive(Debug, Clone)]
pub struct Workspace {
    pub file: PathBuf,
    pub templates: Option<PathBuf>,
    pub profile: Option<String>,
    pub region: Option<String>,
}

impl Workspace {
    /// The folder the config's paths are relative to.
    pub fn config_dir(&self) -> &Path {
        self.file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }
}

/// The AWS settings: `--profile`, then `--region`, the config's `region`, the SDK's chain.
pub async fn connect(
    g: &Workspace,
    config_region: Option<&str>,
    printer: &Printer,
) -> Result<Aws, Failure> {
    let aws = Aws::load(g.profile.as_deref(), g.region.as_deref().or(config_region))
        .await
        .map_err(|e| {
            if e.code == "NoRegion" {
                Failure::new("no AWS region is set")
                    .hint("set `region:` in replatform.yaml, pass --region, or set AWS_REGION")
            } else {
                Failure::from(e)
            }
        })?;
    printer.debug(format!(
        "aws: region {}, profile {}, endpoint {}",
        aws.region(),
        g.profile
            .as_deref()
            .or(std::env::var("AWS_PROFILE").ok().as_deref())
            .unwrap_or("default"),
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "the service's own".into())
    ));
    Ok(aws)
}

/// The stacks a command acts on: all, or the one `--only` names.
pub fn select(stacks: Vec<RenderedStack>, only: Option<Only>) -> Vec<RenderedStack> {
    stacks
        .into_iter()
        .filter(|s| only.is_none_or(|o| s.side() == Some(o)))
        .collect()
}

/// Live lines on a terminal, plain lines elsewhere, nothing with --quiet or --output json.
pub fn reporter(printer: &Printer, stacks: &[String]) -> Box<dyn Reporter> {
    match printer.shown() {
        Shown::Live => Box::new(progress::Live::new(stacks)),
        Shown::Plain => Box::new(progress::Plain::new(stacks)),
        Shown::Silent => Box::new(progress::Silent),
    }
}

/// Names this run's change sets and request tokens.
pub fn run_token() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("replatform-{millis}")
}

/// The stack names from the config alone, without lint: `down` and `status` must work even
/// when lint would refuse the file.
pub fn stack_names(
    g: &Workspace,
    only: Option<Only>,
) -> Result<(Config, Vec<(String, String)>), Failure> {
    let config = parsed(g)?;
    let data = crate::core::render::Data::new(&config, &crate::core::render::Image::Placeholder);
    let stacks = crate::core::render::render(&sources(g.templates.as_deref())?, &data)?;
    let names = select(stacks, only)
        .into_iter()
        .map(|s| (s.kind, s.name))
        .collect();
    Ok((config, names))
}

/// The config without lint, and every stack's kind and name from the stack files alone: no
/// template is rendered (`core::render::names`). For `cutover` and `rollback`, which render
/// only what they compare, once they know the image to render it with; the sources are theirs
/// to render with.
pub fn names_only(g: &Workspace) -> Result<Named, Failure> {
    let config = parsed(g)?;
    let sources = sources(g.templates.as_deref())?;
    let data = crate::core::render::Data::new(&config, &crate::core::render::Image::Placeholder);
    let names = crate::core::render::names(&sources, &data)?;
    Ok(Named {
        config,
        sources,
        names,
    })
}

/// What [`names_only`] reads.
pub struct Named {
    pub config: Config,
    pub sources: Sources,
    /// Each stack's kind (`ecs`, `lambda`) and name, in stack-file order.
    pub names: Vec<(String, String)>,
}

/// The config read, decoded and parsed (its checks too), without lint.
fn parsed(g: &Workspace) -> Result<Config, Failure> {
    let bytes = read_config(&g.file)?;
    let invalid = |ds: &[Diagnostic]| {
        let d = &ds[0];
        let at = match d.location {
            Some((line, column)) => format!("{}:{line}:{column}", g.file.display()),
            None => g.file.display().to_string(),
        };
        let mut hint = d.hint.clone().unwrap_or_default();
        if ds.len() > 1 || hint.is_empty() {
            hint = [hint.as_str(), "`replatform validate` shows every problem"]
                .iter()
                .filter(|h| !h.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("; ");
        }
        Failure::new(format!(
            "`{}` is not valid: {at}: {}",
            g.file.display(),
            d.message
        ))
        .hint(hint)
    };
    let source = config::decode(&bytes).map_err(|d| invalid(&[d]))?;
    config::parse(source).map_err(|ds| invalid(&ds))
}

/// The stacks of the two platforms, from the config alone as [`stack_names`]: what `load`,
/// `compare` and `local` act on. A stack of another kind (a `--templates` folder may add one)
/// runs no worker: it is left out.
pub fn platform_stacks(
    g: &Workspace,
    only: Option<Only>,
) -> Result<(Config, Vec<(Side, String)>), Failure> {
    let (config, names) = stack_names(g, only)?;
    let sides = names
        .into_iter()
        .filter_map(|(kind, name)| Some((Side::of(&kind)?, name)))
        .collect();
    Ok((config, sides))
}

/// The config file's bytes: a regular file (a FIFO would block, a device never end) within
/// [`config::MAX_CONFIG_BYTES`]; what is wrong otherwise, and what to do.
fn read_config(path: &Path) -> Result<Vec<u8>, Failure> {
    use crate::files::{read_bounded, ReadError};
    let shown = path.display();
    let cannot = |e: &std::io::Error| {
        let f = Failure::new(format!("cannot read `{shown}`: {e}"));
        match e.kind() {
            std::io::ErrorKind::NotFound => {
                f.hint("run in the service's folder, or name the file with `-f PATH`; `replatform init` writes one for the worker in this folder (`replatform init --from-ecs CLUSTER/SERVICE` from a service running on ECS)")
            }
            std::io::ErrorKind::PermissionDenied => f.hint("let this user read the file, or name another with `-f PATH`"),
            _ => f.hint("name the service's config with `-f PATH`"),
        }
    };
    read_bounded(path, config::MAX_CONFIG_BYTES as u64).map_err(|e| match e {
        ReadError::Io(e) => cannot(&e),
        ReadError::Folder => Failure::new(format!("`{shown}` is a folder, not a config file"))
            .hint(format!(
                "name the file in it: `-f {}`",
                path.join("replatform.yaml").display()
            )),
        ReadError::NotRegular => Failure::new(format!(
            "`{shown}` is not a regular file (a FIFO, socket or device)"
        ))
        .hint("name the service's replatform.yaml with `-f PATH`"),
        ReadError::TooLarge(bytes) => {
            let d = config::too_large(bytes);
            Failure::new(format!("`{shown}`: {}", d.message)).hint(d.hint.unwrap_or_default())
        }
    })
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

/// A config file that parsed and passed the checks, with its lint findings.
pub struct Loaded {
    pub path: PathBuf,
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
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
            // `--quiet` prints only warnings, errors and data: the infos go.
            for d in ds
                .iter()
                .filter(|d| !(printer.quiet && d.severity == crate::core::diag::Severity::Info))
            {
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
    found.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.location.cmp(&b.location))
    });
    show(&found, source);
    if found.iter().any(Diagnostic::is_error) {
        return Err((Failure::reported(), found));
    }
    Ok(Loaded {
        path: path.to_path_buf(),
        config,
        diagnostics: found,
    })
}

/// The template sources: built-in, or overlaid by `--templates DIR`.
pub fn sources(dir: Option<&Path>) -> Result<Sources, Failure> {
    match dir {
        None => Ok(Sources::builtin()),
        Some(d) => crate::files::template_sources(d).map_err(|e| {
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

//! `replatform validate`: the config's field checks and lint, then the Dockerfile's known traps
//! for Lambda (`core::dockerfile`), when the build context is there to read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use annotate_snippets::{Level, Renderer, Snippet};
use serde::Serialize;

use crate::app::workspace::{load, Loaded};
use crate::error::{Exit, Failure, Outcome};
use crate::cli::ValidateArgs;
use crate::core::diag::{Diagnostic, Severity};
use crate::core::dockerfile::{self, Finding, Settings};
use crate::ui::printer::Printer;

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    valid: bool,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<Entry<'a>>,
}

/// A diagnostic of the JSON document; `file` names the file its location is in when that is
/// not the config (the Dockerfile).
#[derive(Serialize)]
struct Entry<'a> {
    #[serde(flatten)]
    diagnostic: &'a Diagnostic,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
}

pub fn run(args: ValidateArgs, file: &std::path::Path, printer: &Printer) -> Outcome {
    let ValidateArgs { strict } = args;
    let (result, diagnostics, files) = match load(file, printer) {
        Ok(l) => {
            let (ds, fs): (Vec<_>, Vec<_>) = dockerfile_checks(&l, printer).into_iter().unzip();
            let mut all = l.diagnostics;
            let mut files = vec![None; all.len()];
            all.extend(ds);
            files.extend(fs);
            (Ok(()), all, files)
        }
        Err((f, ds)) => {
            let none = vec![None; ds.len()];
            (Err(f), ds, none)
        }
    };
    let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diagnostics.len() - errors;
    let failed_strict = strict && warnings > 0;
    if printer.is_json() {
        let valid = result.is_ok() && !failed_strict;
        let entries = diagnostics.iter().zip(&files).map(|(d, f)| Entry { diagnostic: d, file: f.as_deref() }).collect();
        printer.json(&Report { file: file.display().to_string(), valid, errors, warnings, diagnostics: entries }).map_err(Failure::output)?;
    }
    if let Err(mut f) = result {
        if printer.is_json() && diagnostics.is_empty() {
            f.reported = false;
        }
        return Err(f);
    }
    if failed_strict {
        return Err(Failure::new(format!("{warnings} warning{} with --strict", plural(warnings))).hint("fix the warnings above, or run without --strict"));
    }
    printer.info(format!(
        "{} is valid{}",
        file.display(),
        if warnings > 0 { format!(" ({warnings} warning{})", plural(warnings)) } else { String::new() }
    ));
    Ok(Exit::Success)
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The Dockerfile's warnings, printed (text mode) and returned with the Dockerfile's path
/// (`None` for a warning about the config itself). Without a build context (a config checked
/// on its own, or for `up --image-uri`) there is nothing to check.
fn dockerfile_checks(l: &Loaded, printer: &Printer) -> Vec<(Diagnostic, Option<String>)> {
    let image = &l.config.image;
    let context = l.path.parent().unwrap_or(Path::new("")).join(&image.context);
    let path = context.join(&image.dockerfile);
    let shown = tidy(&path);
    if !context.is_dir() {
        printer.debug(format!("no build context at `{}`: the Dockerfile is not checked", tidy(&context)));
        return Vec::new();
    }
    let text = match read_text(&path) {
        Ok(text) => text,
        Err(e) => {
            let defaults = image.context == "." && image.dockerfile == "Dockerfile";
            if e.kind() == std::io::ErrorKind::NotFound && defaults {
                printer.debug(format!("no `{shown}`: the Dockerfile is not checked"));
                return Vec::new();
            }
            let (message, hint) = if e.kind() == std::io::ErrorKind::NotFound {
                (
                    format!("there is no Dockerfile at `{shown}`: `up` cannot build the image"),
                    format!("set `image.dockerfile` relative to `image.context` (`{}`), or leave both out for `./Dockerfile`; `up --image-uri` deploys an image already pushed", tidy(&context)),
                )
            } else {
                (format!("cannot read the Dockerfile `{shown}`: {e}; it is not checked"), "let this user read it, or set `image.dockerfile` to the Dockerfile the image builds from".to_string())
            };
            let field = if image.dockerfile == "Dockerfile" { "image.context" } else { "image.dockerfile" };
            let mut d = Diagnostic::warning("dockerfile", field, message).hint(hint);
            let config = std::fs::read_to_string(&l.path).unwrap_or_default();
            d.location = crate::core::locate::find(&crate::core::locate::index(&config), field).map(|p| p.value);
            if !printer.is_json() {
                printer.diagnostic(&crate::ui::diagnostics::render(&d, &l.path.display().to_string(), &config, true));
            }
            return vec![(d, None)];
        }
    };
    let settings = Settings::from(&l.config);
    let files = context_files(&context, &text, &settings);
    printer.debug(format!("Dockerfile checks: `{shown}`, with {}", if files.is_empty() { "no requirements file".to_string() } else { files.keys().cloned().collect::<Vec<_>>().join(", ") }));
    let findings = dockerfile::check(&text, &settings, &files);
    if !printer.is_json() {
        for f in &findings {
            printer.diagnostic(&render(f, &shown, &text, true));
        }
    }
    findings.iter().map(|f| (f.diagnostic(), Some(shown.clone()))).collect()
}

/// The build context's files the checks ask for (requirements and project files the Dockerfile
/// installs from, and those they include), as many as exist, within the context.
fn context_files(context: &Path, text: &str, settings: &Settings) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut tried = BTreeSet::new();
    let root = std::fs::canonicalize(context).ok();
    loop {
        let new: Vec<String> = dockerfile::wanted_files(text, settings, &files).into_iter().filter(|p| !tried.contains(p)).collect();
        if new.is_empty() || tried.len() >= dockerfile::MAX_FILES {
            return files;
        }
        for p in new.into_iter().take(dockerfile::MAX_FILES - tried.len()) {
            tried.insert(p.clone());
            let Some(rel) = dockerfile::context_path(&p).filter(|r| !r.is_empty()) else { continue };
            let full = context.join(&rel);
            // A symbolic link out of the context is not what the build copies.
            let inside = match (&root, std::fs::canonicalize(&full)) {
                (Some(root), Ok(real)) => real.starts_with(root),
                _ => false,
            };
            if let (true, Ok(t)) = (inside, read_text(&full)) {
                files.insert(p, t);
            }
        }
    }
}

/// A regular file's text, at most [`dockerfile::MAX_FILE_BYTES`], any bytes that are not UTF-8
/// replaced.
fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > dockerfile::MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!("larger than {} bytes", dockerfile::MAX_FILE_BYTES)));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(dockerfile::MAX_FILE_BYTES).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A path without its `.` parts: `./Dockerfile` is shown as `Dockerfile`.
fn tidy(path: &Path) -> String {
    let p: PathBuf = path.components().filter(|c| *c != Component::CurDir).collect();
    if p.as_os_str().is_empty() {
        ".".into()
    } else {
        p.display().to_string()
    }
}

/// A Dockerfile warning as the config's diagnostics look: the message, the file, line and
/// column with the line and its underlined part, and the `hint:`.
fn render(f: &Finding, origin: &str, source: &str, color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let title = format!("{} [{}]", f.message, f.code);
    let level = Level::Warning;
    let span = f.span.start.min(source.len())..f.span.end.min(source.len()).max(f.span.start.min(source.len()));
    let msg = level.title(&title).snippet(Snippet::source(source).line_start(1).origin(origin).fold(true).annotation(level.span(span).label(&f.label)));
    let head = renderer.render(msg).to_string();
    if color {
        let style = anstyle::Style::new().bold().fg_color(Some(anstyle::AnsiColor::Cyan.into()));
        format!("{head}\n  {style}hint{style:#}: {}\n", f.hint)
    } else {
        format!("{head}\n  hint: {}\n", f.hint)
    }
}

//! `replatform render`: write both stacks' templates to a folder.

use std::path::Path;

use serde::Serialize;

use super::{load, sources, Failure, Outcome};
use crate::cli::RenderArgs;
use crate::core::diag::Diagnostic;
use crate::core::image_ref::{self, ImageRef};
use crate::core::render::{self, Data, Image, RenderedStack};
use crate::ui::printer::Printer;

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    placeholder_image: bool,
    stacks: Vec<StackReport>,
    diagnostics: &'a [Diagnostic],
}

#[derive(Serialize)]
struct StackReport {
    kind: String,
    name: String,
    path: String,
}

/// Checks `--image-uri` against the config: by digest, in ECR, in the config's region.
pub fn image_ref(uri: &str, region: Option<&str>) -> Result<ImageRef, Failure> {
    let r = image_ref::parse(uri).map_err(|e| Failure::new(format!("--image-uri: {}", e.message)).hint(e.hint))?;
    if let Some(region) = region {
        if r.region != region {
            return Err(Failure::new(format!("--image-uri: the image is in `{}` but the service deploys to `{region}`: Lambda pulls images only from its own region", r.region))
                .hint(format!("push the image to ECR in `{region}` (or enable ECR replication) and pass that URI")));
        }
    }
    Ok(r)
}

/// Loads, checks and renders: what every command that deploys starts with.
/// The checked config, its rendered stacks, and whether the image is the placeholder; or the
/// failure with the diagnostics found so far.
pub type Rendered = Result<(super::Loaded, Vec<RenderedStack>, bool), (Failure, Vec<Diagnostic>)>;

pub fn rendered(file: &Path, image_uri: Option<&str>, templates: Option<&Path>, printer: &Printer) -> Rendered {
    let loaded = load(file, printer)?;
    let c = &loaded.config;
    let image = match image_uri {
        Some(uri) => Some(image_ref(uri, c.region.as_deref()).map_err(|f| (f, loaded.diagnostics.clone()))?),
        None => None,
    };
    let srcs = sources(templates).map_err(|f| (f, loaded.diagnostics.clone()))?;
    let img = image.as_ref().map_or(Image::Placeholder, Image::Digest);
    let data = Data::new(c, &img);
    let stacks = render::render(&srcs, &data).map_err(|e| (Failure::from(e), loaded.diagnostics.clone()))?;
    Ok((loaded, stacks, image.is_none()))
}

pub fn run(args: RenderArgs, file: &Path, templates: Option<&Path>, printer: &Printer) -> Outcome {
    let RenderArgs { out, image_uri } = args;
    let (loaded, stacks, placeholder) = match rendered(file, image_uri.as_deref(), templates, printer) {
        Ok(r) => r,
        Err((f, ds)) => {
            if printer.is_json() {
                let _ = printer.json(&Report { file: file.display().to_string(), placeholder_image: image_uri.is_none(), stacks: vec![], diagnostics: &ds });
            }
            return Err(f);
        }
    };
    std::fs::create_dir_all(&out).map_err(|e| Failure::new(format!("cannot create `{}`: {e}", out.display())))?;
    let mut report = Vec::new();
    for s in &stacks {
        let path = out.join(s.file_name());
        write_if_changed(&path, &s.template).map_err(|e| Failure::new(format!("cannot write `{}`: {e}", path.display())))?;
        printer.info(format!("wrote {} (stack `{}`)", path.display(), s.name));
        report.push(StackReport { kind: s.kind.clone(), name: s.name.clone(), path: path.display().to_string() });
    }
    if placeholder {
        printer.info(format!(
            "note: no --image-uri given: the templates run a placeholder image (`{}` in the deploying account, digest all zeros); pass `--image-uri` with the real image's digest",
            loaded.config.repository()
        ));
    }
    if printer.is_json() {
        printer
            .json(&Report { file: file.display().to_string(), placeholder_image: placeholder, stacks: report, diagnostics: &loaded.diagnostics })
            .map_err(Failure::output)?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Leaves a file that already holds these bytes untouched, so its timestamp says when the
/// stack last changed.
fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text)
}

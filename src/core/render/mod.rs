//! Config -> CloudFormation templates. Pure. Each stack kind is a file in `stacks/` naming the
//! Handlebars templates (in `templates/`) it is made of and its outputs; both folders are
//! embedded in the binary, and a user's copy of either file can stand in for the built-in one
//! (read from disk by [`crate::files`]: this module is given their bytes).
//!
//! - [`sources`]: the template and stack files, built in or a user's;
//! - [`data`]: what the templates see;
//! - [`registry`]: the strict Handlebars registry, its helper, and the checks of a template's
//!   text and nesting;
//! - [`stack`]: each stack rendered, read back as YAML and assembled;
//! - [`references`]: what CloudFormation would refuse about a stack's names.

use std::path::PathBuf;

use serde::Serialize;

use super::locate::Limits;
use super::side::Side;

mod data;
mod references;
mod registry;
mod sources;
mod stack;

pub use data::{Data, Image, PLACEHOLDER_DIGEST};
pub use sources::{SourceFile, Sources};
pub use stack::{names, render};

/// The largest template or stack file read from a `--templates` folder. The built-in ones are
/// about 5 KiB, and a rendered stack may not pass CloudFormation's 51,200 bytes.
pub const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;
/// All the files read from a `--templates` folder together.
pub const MAX_TEMPLATES_TOTAL_BYTES: u64 = 1024 * 1024;
/// How many files a `--templates` folder may hold.
pub const MAX_TEMPLATE_FILES: usize = 200;
/// Handlebars expressions (`{{ }}`) in one file: compiling takes time quadratic in them. The
/// built-in templates have at most 40.
pub const MAX_EXPRESSIONS: usize = 500;
/// Blocks (`{{#if}}`, `{{#each}}`, ...) nested in one template, through partials too.
pub const MAX_BLOCK_DEPTH: usize = 32;
/// Subexpressions (`(helper ...)`) nested in one expression.
pub const MAX_SUBEXPRESSION_DEPTH: usize = 8;
/// Iterations a template's nested `{{#each}}` blocks may run over the config's lists.
pub const MAX_ITERATIONS: u64 = 1_000_000;
/// What one template may render.
pub const MAX_RENDERED_BYTES: usize = 1024 * 1024;
/// CloudFormation's limit for a template body sent with the request.
pub const MAX_STACK_BYTES: usize = 51_200;
/// How deep a rendered template may nest and how many values it may hold, aliases expanded.
pub const TEMPLATE_LIMITS: Limits = Limits {
    depth: 64,
    nodes: 200_000,
};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read templates from `{path}`: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("template `{name}` is not valid Handlebars: {reason}")]
    Compile { name: String, reason: String },
    #[error("rendering `{name}` failed: {reason}")]
    Render { name: String, reason: String },
    #[error("`{name}` did not render to valid YAML: {reason}")]
    Yaml { name: String, reason: String },
    #[error("stack file `{stack}` names template `{name}`, which does not exist{known}")]
    Missing {
        stack: String,
        name: String,
        known: String,
    },
    #[error("`{key}` is defined by both `{first}` and `{second}` in stack `{stack}`")]
    Duplicate {
        stack: String,
        key: String,
        first: String,
        second: String,
    },
    /// Anything else wrong with a file: where (`path`, or `path:line:column`) and what.
    #[error("{at}: {reason}")]
    Invalid { at: String, reason: String },
}

/// One rendered stack: its CloudFormation stack name and template text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RenderedStack {
    /// The stack kind: the stack file's name without `.yaml` (`ecs`, `lambda`).
    pub kind: String,
    /// The CloudFormation stack name, e.g. `orders-worker-ecs`.
    pub name: String,
    pub template: String,
}

/// The ECS stack's template that the built-in templates render for `config`, where the scaling
/// model reads today's ECS settings; `None` when they render no ECS stack.
pub fn builtin_ecs_template(
    config: &crate::core::config::Config,
) -> Result<Option<String>, RenderError> {
    Ok(
        render(&Sources::builtin(), &Data::new(config, &Image::Placeholder))?
            .into_iter()
            .find(|s| s.side() == Some(Side::Ecs))
            .map(|s| s.template),
    )
}

impl RenderedStack {
    pub fn file_name(&self) -> String {
        format!("{}.yaml", self.name)
    }

    /// The platform this stack runs, when its kind is one of the two; `None` for a stack of
    /// another kind a `--templates` folder added (`kind` stays text for those).
    pub fn side(&self) -> Option<Side> {
        Side::of(&self.kind)
    }
}

#[cfg(test)]
mod test_input {
    use super::{render, Data, Image, RenderError, RenderedStack, Sources};
    use crate::core::config::Config;

    pub(super) fn config() -> Config {
        let text = include_str!("../../../examples/sqs-worker/replatform.yaml");
        crate::core::config::parse(text).unwrap()
    }

    /// The built-in sources with these files put over them.
    pub(super) fn sources_with(files: &[(&str, &str)]) -> Sources {
        let mut sources = Sources::builtin();
        for (name, text) in files {
            sources.files.insert(name.to_string(), text.to_string());
        }
        sources
    }

    pub(super) fn render_with(files: &[(&str, &str)]) -> Result<Vec<RenderedStack>, RenderError> {
        render(
            &sources_with(files),
            &Data::new(&config(), &Image::Placeholder),
        )
    }

    pub(super) fn message(files: &[(&str, &str)]) -> String {
        render_with(files).unwrap_err().to_string()
    }
}

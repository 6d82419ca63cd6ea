//! The template and stack files a render uses: the built-in set, embedded in the binary, with a
//! user's files of the same names over it. Pure: a user's files come in as bytes, read from their
//! folder by [`crate::files::template_sources`] (no file access in the core: docs/architecture.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use super::RenderError;
use crate::core::config::clean_text;

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static STACKS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/stacks");

/// The template sources: the built-in set, with a user's files of the same names over it.
#[derive(Clone, Debug)]
pub struct Sources {
    /// `templates/<name>` and `stacks/<name>` -> text.
    pub(super) files: BTreeMap<String, String>,
    /// Where each of a user's files was read from, for messages.
    origins: BTreeMap<String, PathBuf>,
}

/// One of a user's template or stack files, as read.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Its name relative to the templates folder: `templates/queue.yaml.hbs`, `stacks/ecs.yaml`.
    pub name: String,
    /// Where it was read from, as messages name it.
    pub origin: PathBuf,
    pub bytes: Vec<u8>,
}

impl Sources {
    pub fn builtin() -> Self {
        let mut files = BTreeMap::new();
        for (prefix, dir) in [("templates", &TEMPLATES), ("stacks", &STACKS)] {
            for f in dir.files() {
                let text = f.contents_utf8().expect("built-in templates are UTF-8");
                files.insert(format!("{prefix}/{}", f.path().display()), text.to_string());
            }
        }
        Self {
            files,
            origins: BTreeMap::new(),
        }
    }

    /// The built-in set, overlaid by a user's files, in their order. A stack file of a new name
    /// adds a stack. Each file is named `templates/FILE` or `stacks/FILE`, with no folder in
    /// `FILE`, and is UTF-8 text.
    pub fn from_files(user: impl IntoIterator<Item = SourceFile>) -> Result<Self, RenderError> {
        let mut sources = Self::builtin();
        for file in user {
            let inside = file.name.split_once('/').filter(|(folder, rest)| {
                matches!(*folder, "templates" | "stacks")
                    && !rest.is_empty()
                    && !rest.contains(['/', '\\', '\0'])
                    && !matches!(*rest, "." | "..")
            });
            if inside.is_none() {
                return Err(RenderError::Invalid {
                    at: clean_text(&file.origin.display().to_string()),
                    reason: clean_text(&format!("`{}` is not a file of the templates folder: its files are `templates/NAME.hbs` and `stacks/NAME.yaml`", file.name)),
                });
            }
            let SourceFile {
                name,
                origin,
                bytes,
            } = file;
            sources.files.insert(name.clone(), text(&origin, bytes)?);
            sources.origins.insert(name, origin);
        }
        Ok(sources)
    }

    /// Every source file, by its path relative to the template folder.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub(super) fn stacks(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files()
            .filter_map(|(k, v)| k.strip_prefix("stacks/").map(|n| (n, v)))
    }

    /// How a file is named in messages: the path it was read from, or its built-in name.
    pub fn shown(&self, name: &str) -> String {
        clean_text(
            &self
                .origins
                .get(name)
                .map_or_else(|| name.to_string(), |p| p.display().to_string()),
        )
    }
}

/// A file's bytes as text: the error names the line and column of the first byte that is not
/// UTF-8.
fn text(origin: &Path, bytes: Vec<u8>) -> Result<String, RenderError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default();
        let line = valid.matches('\n').count() + 1;
        let column = valid
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1;
        RenderError::Invalid {
            at: format!("{}:{line}:{column}", origin.display()),
            reason: format!(
                "the file is not UTF-8 text (byte 0x{:02x}): save it as UTF-8",
                e.as_bytes()[at]
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: &[u8]) -> SourceFile {
        SourceFile {
            name: name.into(),
            origin: PathBuf::from("tpl").join(name),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn a_users_files_stand_in_for_the_builtin_ones_and_add_to_them() {
        let s = Sources::from_files([
            file("templates/queue.yaml.hbs", b"Resources: {}\n"),
            file("stacks/extra.yaml", b"name: x\n"),
        ])
        .unwrap();
        let files: BTreeMap<&str, &str> = s.files().collect();
        assert_eq!(files["templates/queue.yaml.hbs"], "Resources: {}\n");
        assert_eq!(files["stacks/extra.yaml"], "name: x\n");
        assert_eq!(
            files["stacks/ecs.yaml"],
            Sources::builtin().files["stacks/ecs.yaml"]
        );
        assert_eq!(
            s.shown("templates/queue.yaml.hbs"),
            "tpl/templates/queue.yaml.hbs"
        );
        assert_eq!(s.shown("stacks/ecs.yaml"), "stacks/ecs.yaml");
    }

    #[test]
    fn names_outside_the_template_folders_are_refused() {
        for name in [
            "queue.yaml.hbs",
            "templates/",
            "templates/../x.hbs",
            "stacks/a/b.yaml",
            "other/x.yaml",
            "stacks/..",
            "templates/a\\b.hbs",
        ] {
            let e = Sources::from_files([file(name, b"x")])
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("is not a file of the templates folder"),
                "{name}: {e}"
            );
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_at_its_line_and_column() {
        let e = Sources::from_files([file(
            "templates/queue.yaml.hbs",
            b"Resources:\n  Queue: \xff\n",
        )])
        .unwrap_err();
        assert_eq!(e.to_string(), "tpl/templates/queue.yaml.hbs:2:10: the file is not UTF-8 text (byte 0xff): save it as UTF-8");
    }
}

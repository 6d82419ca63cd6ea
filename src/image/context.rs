//! Reads the build context as the build will see it: every path that `.dockerignore` does not
//! exclude, with its kind, executable bit and content hash, plus the Dockerfile's bytes. The
//! tag is computed from these by `core::image::tag`.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::core::image::{Dockerignore, Entry, EntryKind};

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ContextError {
    pub message: String,
    pub hint: String,
}

/// The context's entries, sorted by path, and the Dockerfile's content.
pub fn read(context: &Path, dockerfile: &Path) -> Result<(Vec<Entry>, Vec<u8>), ContextError> {
    if !context.is_dir() {
        return Err(ContextError {
            message: format!("the build context `{}` is not a folder", context.display()),
            hint: "set `image.context` to the folder the Dockerfile builds from, relative to replatform.yaml".into(),
        });
    }
    let docker_file = std::fs::read(dockerfile).map_err(|e| ContextError {
        message: format!("cannot read the Dockerfile `{}`: {e}", dockerfile.display()),
        hint: "set `image.dockerfile` relative to `image.context`, or pass --image-uri to deploy an image already pushed".into(),
    })?;
    let ignore_path = context.join(".dockerignore");
    let ignore = match std::fs::read_to_string(&ignore_path) {
        Ok(text) => Dockerignore::parse(&text).map_err(|e| ContextError {
            message: format!("`{}` {e}", ignore_path.display()),
            hint: "fix the pattern; .dockerignore takes Go's filepath.Match patterns with `**` and `!`".into(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Dockerignore::default(),
        Err(e) => return Err(ContextError { message: format!("cannot read `{}`: {e}", ignore_path.display()), hint: "check the file's permissions".into() }),
    };
    let walk_error = |e: walkdir::Error| {
        let at = e
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        ContextError {
            message: format!("cannot read the build context at `{at}`: {e}"),
            hint: "list what the build must not read in `.dockerignore`".into(),
        }
    };
    let mut entries = Vec::new();
    let mut walker = walkdir::WalkDir::new(context)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(item) = walker.next() {
        let item = item.map_err(walk_error)?;
        let rel = relative(context, item.path());
        let file_type = item.file_type();
        if ignore.excludes(&rel) {
            // A folder that nothing can bring back is not read at all (`.git`, `node_modules`).
            if file_type.is_dir() && !ignore.has_exceptions() {
                walker.skip_current_dir();
            }
            continue;
        }
        let kind = if file_type.is_dir() {
            EntryKind::Dir
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(item.path()).map_err(|e| ContextError {
                message: format!("cannot read link `{}`: {e}", item.path().display()),
                hint: String::new(),
            })?;
            EntryKind::Symlink {
                target: target.to_string_lossy().into_owned(),
            }
        } else if file_type.is_file() {
            let (executable, sha256) = hash_file(item.path()).map_err(|e| ContextError {
                message: format!("cannot read `{}`: {e}", item.path().display()),
                hint:
                    "make it readable, or list it in `.dockerignore` if the build does not need it"
                        .into(),
            })?;
            EntryKind::File { executable, sha256 }
        } else {
            // Sockets and fifos: the build cannot copy them either.
            continue;
        };
        entries.push(Entry { path: rel, kind });
    }
    Ok((entries, docker_file))
}

fn relative(root: &Path, path: &Path) -> String {
    let rel: PathBuf = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn hash_file(path: &Path) -> std::io::Result<(bool, [u8; 32])> {
    let mut file = std::fs::File::open(path)?;
    let executable = executable(&file.metadata()?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok((executable, h.finalize().into()))
}

#[cfg(unix)]
fn executable(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::Platform;
    use crate::core::image::{tag, Inputs};

    fn tag_of(dir: &Path) -> String {
        let (entries, dockerfile) = read(dir, &dir.join("Dockerfile")).unwrap();
        tag(&Inputs {
            entries: &entries,
            dockerfile: &dockerfile,
            build_args: &Default::default(),
            platform: Platform::Amd64,
            bridge: None,
        })
    }

    #[test]
    fn ignored_files_do_not_count_and_source_files_do() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("Dockerfile"), "FROM scratch\nCOPY . /app\n").unwrap();
        std::fs::write(d.join(".dockerignore"), "*.log\n.git\n").unwrap();
        std::fs::write(d.join("app.py"), "print(1)\n").unwrap();
        std::fs::create_dir(d.join(".git")).unwrap();
        std::fs::write(d.join(".git/HEAD"), "ref: main\n").unwrap();
        let first = tag_of(d);
        assert_eq!(first, tag_of(d), "the same tree gives the same tag");

        std::fs::write(d.join("debug.log"), "noise").unwrap();
        std::fs::write(d.join(".git/HEAD"), "ref: other\n").unwrap();
        assert_eq!(first, tag_of(d), "ignored files do not change the tag");

        std::fs::write(d.join("app.py"), "print(2)\n").unwrap();
        let edited = tag_of(d);
        assert_ne!(first, edited, "a source file changes the tag");

        std::fs::create_dir(d.join("pkg")).unwrap();
        assert_ne!(edited, tag_of(d), "a new folder is part of what COPY sees");
    }

    #[test]
    fn a_missing_dockerfile_says_which_field_to_set() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(dir.path(), &dir.path().join("Dockerfile")).unwrap_err();
        assert!(e.message.contains("cannot read the Dockerfile"), "{e}");
        assert!(e.hint.contains("image.dockerfile"));
    }
}

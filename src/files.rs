//! Reading the user's files from disk: the config, a `--templates` folder, the Dockerfile and
//! the requirements it installs. Not pure: the shell around the core's pure constructors
//! ([`Sources::from_files`], [`crate::core::config::decode`]), which are given the bytes. Every
//! file is read the one bounded way, [`read_bounded`].

use std::io::Read;
use std::path::Path;

use crate::core::config::size_text;
use crate::core::render::{
    RenderError, SourceFile, Sources, MAX_TEMPLATES_TOTAL_BYTES, MAX_TEMPLATE_BYTES,
    MAX_TEMPLATE_FILES,
};

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// Asking for its metadata, opening or reading it failed: missing, permission denied...
    Io(std::io::Error),
    /// It is a folder.
    Folder,
    /// It is neither a regular file nor a folder: a FIFO, a socket or a device.
    NotRegular,
    /// It holds more than the limit: the bytes found (its size, or what was read before the
    /// limit stopped the reading).
    TooLarge(u64),
}

/// A regular file's bytes, at most `limit` of them. Its metadata is asked for before it is
/// opened, so that a FIFO (opening one waits for a writer) or a device (which may never end) is
/// refused without blocking, and asked again of the file opened, in case the path was replaced
/// in between; a file that grows past `limit` while it is read is refused too.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let kind = |meta: &std::fs::Metadata| {
        if meta.is_dir() {
            Err(ReadError::Folder)
        } else if !meta.is_file() {
            Err(ReadError::NotRegular)
        } else if meta.len() > limit {
            Err(ReadError::TooLarge(meta.len()))
        } else {
            Ok(())
        }
    };
    kind(&std::fs::metadata(path).map_err(ReadError::Io)?)?;
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    kind(&file.metadata().map_err(ReadError::Io)?)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The built-in templates, overlaid by `dir/templates/*.hbs` and `dir/stacks/*.yaml`. A stack
/// file of a new name adds a stack. Only regular files are read, each within
/// [`MAX_TEMPLATE_BYTES`], at most [`MAX_TEMPLATE_FILES`] of them, all within
/// [`MAX_TEMPLATES_TOTAL_BYTES`]; the rest is checked by [`Sources::from_files`].
pub fn template_sources(dir: &Path) -> Result<Sources, RenderError> {
    Sources::from_files(template_files(dir)?)
}

/// A `--templates` folder's template and stack files, in the order of their names.
fn template_files(dir: &Path) -> Result<Vec<SourceFile>, RenderError> {
    let read_err = |path: &Path, reason: String| RenderError::Read {
        path: path.to_path_buf(),
        reason,
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(read_err(dir, "no such folder".into())),
        Err(e) => return Err(read_err(dir, e.to_string())),
        Ok(m) if !m.is_dir() => {
            return Err(read_err(dir, "it is not a folder: `--templates` names a folder that holds `templates/*.hbs` and `stacks/*.yaml`".into()))
        }
        Ok(_) => {}
    }
    let mut out = Vec::new();
    let mut total = 0u64;
    for sub in ["templates", "stacks"] {
        let folder = dir.join(sub);
        match std::fs::metadata(&folder) {
            Err(_) => continue,
            Ok(m) if !m.is_dir() => {
                let what = if sub == "templates" {
                    "templates (`*.hbs`)"
                } else {
                    "stack files (`*.yaml`)"
                };
                return Err(read_err(
                    &folder,
                    format!("it is not a folder: `{sub}/` is the folder of the {what}"),
                ));
            }
            Ok(_) => {}
        }
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(&folder).map_err(|e| read_err(&folder, e.to_string()))? {
            paths.push(entry.map_err(|e| read_err(&folder, e.to_string()))?.path());
        }
        paths.sort();
        for path in paths {
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            if !(name.ends_with(".hbs") || name.ends_with(".yaml")) {
                continue;
            }
            // What the file is before it is counted: a folder or a FIFO among the templates is
            // refused as such.
            let bytes = match std::fs::metadata(&path) {
                Ok(m) if !m.is_file() => return Err(read_err(&path, "it is not a regular file".into())),
                Err(e) => return Err(read_err(&path, e.to_string())),
                Ok(_) if out.len() >= MAX_TEMPLATE_FILES => {
                    return Err(read_err(dir, format!("it holds more than {MAX_TEMPLATE_FILES} template and stack files")));
                }
                Ok(_) => read_bounded(&path, MAX_TEMPLATE_BYTES).map_err(|e| {
                    let reason = match e {
                        ReadError::Io(e) => e.to_string(),
                        ReadError::Folder | ReadError::NotRegular => "it is not a regular file".into(),
                        ReadError::TooLarge(bytes) => {
                            format!("it is {} ({bytes} bytes): a template or stack file may be at most {}", size_text(bytes), size_text(MAX_TEMPLATE_BYTES))
                        }
                    };
                    read_err(&path, reason)
                })?,
            };
            total += bytes.len() as u64;
            if total > MAX_TEMPLATES_TOTAL_BYTES {
                return Err(read_err(
                    dir,
                    format!(
                        "its files hold more than {} together",
                        size_text(MAX_TEMPLATES_TOTAL_BYTES)
                    ),
                ));
            }
            out.push(SourceFile {
                name: format!("{sub}/{name}"),
                origin: path,
                bytes,
            });
        }
    }
    if out.is_empty() {
        return Err(RenderError::Read {
            path: dir.to_path_buf(),
            reason: "it holds no `templates/*.hbs` or `stacks/*.yaml`; `replatform templates --out DIR` writes the built-in set to start from".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_bounded_reads_a_file_up_to_its_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = dir.join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"12345");
        assert!(matches!(
            read_bounded(&path, 4),
            Err(ReadError::TooLarge(5))
        ));
        assert!(matches!(read_bounded(dir, 5), Err(ReadError::Folder)));
        assert!(
            matches!(read_bounded(&dir.join("none"), 5), Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound)
        );
    }

    #[cfg(unix)]
    #[test]
    fn read_bounded_refuses_a_fifo_and_a_device_without_blocking() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(matches!(read_bounded(&fifo, 5), Err(ReadError::NotRegular)));
        assert!(matches!(
            read_bounded(Path::new("/dev/zero"), 5),
            Err(ReadError::NotRegular)
        ));
    }

    #[test]
    fn a_templates_folder_is_read_in_name_order_with_only_its_template_and_stack_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::create_dir_all(dir.join("stacks")).unwrap();
        std::fs::write(dir.join("templates/b.yaml.hbs"), "b").unwrap();
        std::fs::write(dir.join("templates/a.yaml.hbs"), "a").unwrap();
        std::fs::write(dir.join("templates/notes.txt"), "not read").unwrap();
        std::fs::write(dir.join("stacks/x.yaml"), "x").unwrap();
        let files = template_files(dir).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "templates/a.yaml.hbs",
                "templates/b.yaml.hbs",
                "stacks/x.yaml"
            ]
        );
        assert_eq!(
            (files[0].origin.clone(), files[0].bytes.clone()),
            (dir.join("templates/a.yaml.hbs"), b"a".to_vec())
        );
        std::fs::write(
            dir.join("templates/big.yaml.hbs"),
            vec![b'#'; MAX_TEMPLATE_BYTES as usize + 1],
        )
        .unwrap();
        let e = template_files(dir).unwrap_err().to_string();
        assert!(
            e.contains("big.yaml.hbs") && e.contains("may be at most 256 KiB"),
            "{e}"
        );
    }
}

//! The worker's command line: `replatform-bridge [--image-entrypoint] [--image-cmd]
//! [--image-workdir] [-- ARG...]`.
//!
//! The function's entry point replaces the image's, so the image's own ENTRYPOINT, CMD and
//! WORKDIR, as its build left them, are recorded in `worker.json` next to the supervisor (`up`
//! writes it in the layer it adds). The worker's argv is the recorded ENTRYPOINT (with
//! `--image-entrypoint`), then the ARGs, then the recorded CMD (with `--image-cmd`): what
//! Docker runs for that image with those parts given.

use std::path::PathBuf;

use serde::Deserialize;

/// Overrides where `worker.json` is read (tests); by default it is next to the supervisor.
pub const WORKER_FILE_VAR: &str = "REPLATFORM_BRIDGE_WORKER_FILE";
/// The file's name next to the supervisor's executable.
pub const WORKER_FILE_NAME: &str = "worker.json";

/// What the command line asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub image_entrypoint: bool,
    pub image_cmd: bool,
    pub image_workdir: bool,
    /// The explicit parts, after `--`.
    pub args: Vec<String>,
}

impl Flags {
    /// Whether any part comes from `worker.json`.
    pub fn reads_file(&self) -> bool {
        self.image_entrypoint || self.image_cmd || self.image_workdir
    }
}

/// The image's recorded parts: `{"entrypoint": [..]|null, "cmd": [..]|null, "workdir": ".."}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct WorkerFile {
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub workdir: Option<String>,
}

/// The worker to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub argv: Vec<String>,
    /// `None`: the supervisor's own working directory.
    pub workdir: Option<String>,
}

/// Reads the flags. Without `--`, what is not a flag is the command (`replatform-bridge CMD`).
pub fn parse_args(args: &[String]) -> Result<Flags, String> {
    let mut flags = Flags::default();
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--image-entrypoint" => flags.image_entrypoint = true,
            "--image-cmd" => flags.image_cmd = true,
            "--image-workdir" => flags.image_workdir = true,
            "--" => {
                flags.args = rest.cloned().collect();
                return Ok(flags);
            }
            s if s.starts_with("--") => {
                return Err(format!(
                    "unknown flag `{s}`: replatform-bridge [--image-entrypoint] [--image-cmd] [--image-workdir] [-- ARG...]"
                ))
            }
            _ => {
                flags.args = std::iter::once(a).chain(rest).cloned().collect();
                return Ok(flags);
            }
        }
    }
    Ok(flags)
}

/// Where `worker.json` is: `REPLATFORM_BRIDGE_WORKER_FILE`, else next to this executable.
pub fn worker_file_path(get: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, String> {
    if let Some(p) = get(WORKER_FILE_VAR).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| {
        format!("cannot tell where the supervisor is (for {WORKER_FILE_NAME}): {e}")
    })?;
    let dir = exe.parent().ok_or_else(|| {
        format!(
            "the supervisor's path {} has no folder (for {WORKER_FILE_NAME})",
            exe.display()
        )
    })?;
    Ok(dir.join(WORKER_FILE_NAME))
}

/// Reads and checks `worker.json`'s text.
pub fn parse_worker_file(text: &str, path: &str) -> Result<WorkerFile, String> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "{path} is not the image's recorded ENTRYPOINT, CMD and WORKDIR \
             ({{\"entrypoint\": [..], \"cmd\": [..], \"workdir\": \"..\"}}): {e}"
        )
    })
}

/// The worker's argv and folder. `read` gives `worker.json`'s path and text, and is called only
/// when a flag needs it.
pub fn resolve(
    flags: &Flags,
    read: &dyn Fn() -> Result<(String, String), String>,
) -> Result<Launch, String> {
    let file = if flags.reads_file() {
        let (path, text) = read().map_err(|e| {
            format!("{e}: the image's ENTRYPOINT, CMD and WORKDIR are recorded there by `replatform up` (or `local`); rebuild the image with it")
        })?;
        Some((path.clone(), parse_worker_file(&text, &path)?))
    } else {
        None
    };
    let recorded = file.as_ref().map(|(_, f)| f.clone()).unwrap_or_default();
    let mut argv: Vec<String> = Vec::new();
    if flags.image_entrypoint {
        argv.extend(recorded.entrypoint.clone().unwrap_or_default());
    }
    argv.extend(flags.args.iter().cloned());
    if flags.image_cmd {
        argv.extend(recorded.cmd.clone().unwrap_or_default());
    }
    if argv.is_empty() {
        let from = match &file {
            Some((path, _)) => format!(
                " (the image's recorded ENTRYPOINT and CMD in {path} are empty, and no command follows `--`)"
            ),
            None => String::new(),
        };
        return Err(format!(
            "no worker command{from}: start it as `replatform-bridge [--image-entrypoint] [--image-cmd] [--image-workdir] [-- COMMAND ARG...]`, or set the image's ENTRYPOINT or CMD, or lambda.command"
        ));
    }
    let workdir = flags.image_workdir.then(|| {
        recorded
            .workdir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".to_string())
    });
    Ok(Launch { argv, workdir })
}

/// `resolve` with `worker.json` read from the file system.
pub fn launch(args: &[String], get: &dyn Fn(&str) -> Option<String>) -> Result<Launch, String> {
    let flags = parse_args(args)?;
    resolve(&flags, &|| {
        let path = worker_file_path(get)?;
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        Ok((shown, text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    fn file(text: &'static str) -> impl Fn() -> Result<(String, String), String> {
        move || Ok(("/opt/replatform-bridge/worker.json".into(), text.into()))
    }

    fn no_file() -> Result<(String, String), String> {
        panic!("worker.json read without a flag that needs it")
    }

    const IMAGE: &str =
        r#"{"entrypoint": ["python", "-u"], "cmd": ["worker.py", "--loop"], "workdir": "/app"}"#;

    #[test]
    fn the_image_as_it_is() {
        let flags = parse_args(&strings(&[
            "--image-entrypoint",
            "--image-cmd",
            "--image-workdir",
        ]))
        .unwrap();
        let l = resolve(&flags, &file(IMAGE)).unwrap();
        assert_eq!(l.argv, ["python", "-u", "worker.py", "--loop"]);
        assert_eq!(l.workdir.as_deref(), Some("/app"));
    }

    #[test]
    fn explicit_parts_go_between_the_entrypoint_and_the_cmd() {
        let flags = parse_args(&strings(&["--image-entrypoint", "--", "other.py"])).unwrap();
        let l = resolve(&flags, &file(IMAGE)).unwrap();
        assert_eq!(l.argv, ["python", "-u", "other.py"]);
        assert_eq!(l.workdir, None, "no --image-workdir: the supervisor's own");
        let flags = parse_args(&strings(&["--image-cmd", "--", "/bin/sh", "-c"])).unwrap();
        assert_eq!(
            resolve(&flags, &file(IMAGE)).unwrap().argv,
            ["/bin/sh", "-c", "worker.py", "--loop"]
        );
    }

    #[test]
    fn a_plain_command_needs_no_file() {
        for args in [&["--", "python", "w.py"][..], &["python", "w.py"][..]] {
            let l = resolve(&parse_args(&strings(args)).unwrap(), &no_file).unwrap();
            assert_eq!(l.argv, ["python", "w.py"]);
            assert_eq!(l.workdir, None);
        }
        // After `--`, a flag-like word is the worker's.
        let f = parse_args(&strings(&["--", "w", "--image-cmd"])).unwrap();
        assert!(!f.image_cmd);
        assert_eq!(f.args, ["w", "--image-cmd"]);
    }

    #[test]
    fn null_parts_and_an_empty_workdir() {
        let flags = parse_args(&strings(&[
            "--image-entrypoint",
            "--image-cmd",
            "--image-workdir",
        ]))
        .unwrap();
        let l = resolve(
            &flags,
            &file(r#"{"entrypoint": null, "cmd": ["/worker"], "workdir": ""}"#),
        )
        .unwrap();
        assert_eq!(l.argv, ["/worker"]);
        assert_eq!(l.workdir.as_deref(), Some("/"));
    }

    #[test]
    fn what_cannot_start_is_said() {
        let both = parse_args(&strings(&["--image-entrypoint", "--image-cmd"])).unwrap();
        let e = resolve(
            &both,
            &file(r#"{"entrypoint": null, "cmd": [], "workdir": "/"}"#),
        )
        .unwrap_err();
        assert!(
            e.contains("no worker command") && e.contains("worker.json"),
            "{e}"
        );
        let e = resolve(&both, &file("not json")).unwrap_err();
        assert!(e.contains("not the image's recorded"), "{e}");
        let e = resolve(&both, &|| Err("cannot read /x/worker.json: gone".into())).unwrap_err();
        assert!(
            e.contains("/x/worker.json") && e.contains("replatform up"),
            "{e}"
        );
        let e = resolve(&parse_args(&[]).unwrap(), &no_file).unwrap_err();
        assert!(e.contains("no worker command"), "{e}");
        assert!(parse_args(&strings(&["--image-everything"])).is_err());
    }

    #[test]
    fn the_file_is_found_by_the_variable_or_next_to_the_executable() {
        let p = worker_file_path(&|k| (k == WORKER_FILE_VAR).then(|| "/tmp/w.json".to_string()))
            .unwrap();
        assert_eq!(p, PathBuf::from("/tmp/w.json"));
        let p = worker_file_path(&|_| None).unwrap();
        assert_eq!(p.file_name().unwrap(), WORKER_FILE_NAME);
        assert_eq!(
            p.parent().unwrap(),
            std::env::current_exe().unwrap().parent().unwrap()
        );
    }
}

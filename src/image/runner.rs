//! The one runner of child processes (the builders): a secret goes in on stdin and nowhere
//! else, every line the child prints goes to a [`Lines`] as it comes, and the last lines are
//! kept for the error when the child fails.

use std::collections::VecDeque;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::aws::ecr::Secret;
use crate::core::image::Command;
use crate::ui::progress::Lines;

/// How many of the child's last lines a failure shows.
pub const KEEP: usize = 25;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("`{program}` was not found")]
    Missing { program: String },
    #[error("`{command}` failed ({status})")]
    Failed {
        command: String,
        status: String,
        last_lines: Vec<String>,
    },
    #[error("running `{command}`: {message}")]
    Io { command: String, message: String },
}

/// Runs `cmd` to its end. `stdin` is written to the child and closed; the child's stdout and
/// stderr lines go to `out`, with the secret (if any) masked should the child echo it.
pub async fn run(
    cmd: &Command,
    stdin: Option<&Secret>,
    out: &dyn Lines,
) -> Result<Vec<String>, RunError> {
    let shown = cmd.display();
    let io = |e: std::io::Error| RunError::Io {
        command: shown.clone(),
        message: e.to_string(),
    };
    let mut child = match tokio::process::Command::new(&cmd.program)
        .args(&cmd.args)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // SIGINT or SIGTERM drops the future running it (`crate::signal::Stop`): the child
        // (a build, a login, a push) goes with it.
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RunError::Missing {
                program: cmd.program.clone(),
            })
        }
        Err(e) => return Err(io(e)),
    };
    if let (Some(secret), Some(mut input)) = (stdin, child.stdin.take()) {
        input
            .write_all(secret.expose().as_bytes())
            .await
            .map_err(io)?;
        input.write_all(b"\n").await.map_err(io)?;
        drop(input);
    }
    let mask = |line: String| match stdin {
        Some(s) if !s.expose().is_empty() => line.replace(s.expose(), "***"),
        _ => line,
    };
    let mut stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut stderr = BufReader::new(child.stderr.take().expect("piped")).lines();
    let mut last: VecDeque<String> = VecDeque::with_capacity(KEEP);
    let mut keep = |line: String| {
        let line = mask(line);
        out.line(&line);
        if last.len() == KEEP {
            last.pop_front();
        }
        last.push_back(line);
    };
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        tokio::select! {
            l = stdout.next_line(), if out_open => match l.map_err(io)? {
                Some(l) => keep(l),
                None => out_open = false,
            },
            l = stderr.next_line(), if err_open => match l.map_err(io)? {
                Some(l) => keep(l),
                None => err_open = false,
            },
        }
    }
    let status = child.wait().await.map_err(io)?;
    let last: Vec<String> = last.into();
    if status.success() {
        Ok(last)
    } else {
        let status = match status.code() {
            Some(c) => format!("exit code {c}"),
            None => "ended by a signal".into(),
        };
        Err(RunError::Failed {
            command: shown,
            status,
            last_lines: last,
        })
    }
}

/// Whether a command runs and succeeds (`docker buildx version`), its output unread.
pub async fn succeeds(program: &str, args: &[&str]) -> bool {
    tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Seen(Mutex<Vec<String>>);
    impl Lines for Seen {
        fn start(&self, _: &str) {}
        fn line(&self, l: &str) {
            self.0.lock().unwrap().push(l.to_string());
        }
        fn finish(&self, _: &str) {}
    }

    fn sh(script: &str) -> Command {
        Command {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![("GREETING".into(), "hi".into())],
        }
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn lines_stream_and_the_secret_arrives_on_stdin_only() {
        let seen = Seen::default();
        let secret = Secret::new("s3cret-pw".into());
        let last = block(run(
            &sh("echo $GREETING; read pw; echo \"got $pw\" >&2; echo \"$pw\" | wc -c"),
            Some(&secret),
            &seen,
        ))
        .unwrap();
        // stdout and stderr are two pipes: their lines interleave in any order.
        let mut sorted = last.clone();
        sorted.sort();
        assert_eq!(sorted, vec!["10", "got ***", "hi"]);
        assert_eq!(*seen.0.lock().unwrap(), last);
    }

    #[test]
    fn a_failure_keeps_the_last_lines() {
        let seen = Seen::default();
        let e = block(run(
            &sh("for i in $(seq 1 40); do echo line $i; done; exit 3"),
            None,
            &seen,
        ))
        .unwrap_err();
        match e {
            RunError::Failed {
                status, last_lines, ..
            } => {
                assert_eq!(status, "exit code 3");
                assert_eq!(last_lines.len(), KEEP);
                assert_eq!(last_lines.last().unwrap(), "line 40");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_program_is_named() {
        let c = Command {
            program: "replatform-no-such-builder".into(),
            args: vec![],
            env: vec![],
        };
        assert!(
            matches!(block(run(&c, None, &Seen::default())), Err(RunError::Missing { program }) if program == "replatform-no-such-builder")
        );
        assert!(!block(succeeds("replatform-no-such-builder", &["version"])));
        assert!(block(succeeds("true", &[])));
    }
}

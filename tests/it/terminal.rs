//! What a person sees: `up` with a destructive change, `up` with nothing to do, and `down`, each
//! run under a pseudo-terminal against moto, the screen read back through a terminal emulator
//! (vt100). The question is on screen, with nothing turning under it, before any answer; the
//! final screen has no stale spinner and no line twice.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

use crate::common;
use crate::emulator::{service_dir, Moto, IMAGE};

const SPINNER: &[char] = &['⠁', '⠂', '⠄', '⡀', '⢀', '⠠', '⠐', '⠈'];

pub(crate) struct Session {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
    cols: u16,
}

impl Session {
    pub(crate) fn start(moto: &Moto, dir: &Path, args: &[&str]) -> Self {
        Self::start_sized(moto, dir, args, 160)
    }

    /// On a terminal `cols` wide.
    pub(crate) fn start_sized(moto: &Moto, dir: &Path, args: &[&str], cols: u16) -> Self {
        Self::start_with(moto, dir, args, cols, false)
    }

    /// On a terminal `cols` wide, stderr (progress, notes, the change tables) appended to
    /// `stderr.log` in `dir`: what is left on the terminal is the command's data.
    pub(crate) fn start_data_only(moto: &Moto, dir: &Path, args: &[&str], cols: u16) -> Self {
        Self::start_with(moto, dir, args, cols, true)
    }

    fn start_with(moto: &Moto, dir: &Path, args: &[&str], cols: u16, data_only: bool) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 60,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let bin = env!("CARGO_BIN_EXE_replatform");
        let mut cmd = if data_only {
            let mut c = CommandBuilder::new("sh");
            // stderr to a file of its own: plain lines there, as in a log.
            let log = dir.join("stderr.log");
            c.args([
                "-c",
                &format!("exec \"$0\" \"$@\" 2>>'{}'", log.display()),
                bin,
            ]);
            c
        } else {
            CommandBuilder::new(bin)
        };
        cmd.args(args);
        cmd.cwd(dir);
        for (k, v) in common::emulator_env(&moto.endpoint) {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm-256color");
        // Colors on, as a person's terminal has them.
        for k in common::UNSET.iter().chain(&["NO_COLOR"]) {
            cmd.env_remove(k);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let output: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = output.clone();
        std::thread::spawn(move || {
            let _master = pair.master; // kept open while the child writes
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            child,
            writer,
            output,
            cols,
        }
    }

    /// Waits for the exit; returns the code, the final screen and every line the program wrote,
    /// colours and carriage returns taken out: what a terminal of any width is given.
    pub(crate) fn finish_with_lines(self) -> (u32, String, Vec<String>) {
        let output = self.output.clone();
        let (code, screen) = self.finish();
        let lines = plain_lines(&output.lock().unwrap());
        (code, screen, lines)
    }
}

fn plain_lines(bytes: &[u8]) -> Vec<String> {
    {
        let text = String::from_utf8_lossy(bytes);
        let mut plain = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // CSI: ESC [ ... final byte in @..~
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('@'..='~').contains(&d) {
                            break;
                        }
                    }
                }
                continue;
            }
            plain.push(c);
        }
        plain
            .split('\n')
            .map(|l| {
                // A line ends `\r\n` on a terminal; a `\r` inside it redraws the line.
                let l = l.trim_end_matches('\r');
                l.rsplit('\r').next().unwrap_or(l).trim_end().to_string()
            })
            .collect()
    }
}

impl Session {
    /// The rows of the screen the terminal wrapped: a line written wider than it.
    pub(crate) fn wrapped_rows(&self) -> Vec<String> {
        let mut parser = vt100::Parser::new(
            std::num::NonZero::new(60).unwrap(),
            std::num::NonZero::new(self.cols).unwrap(),
            0,
        );
        parser.process(&self.output.lock().unwrap());
        let screen = parser.screen();
        let rows: Vec<String> = screen.rows(0, self.cols).collect();
        // A live line padded to the full width (indicatif's `wide_msg`) leaves the cursor at the
        // edge, and the terminal counts the next line as its wrap: only text that reaches the
        // last column went past the edge.
        (0..60u16)
            .filter(|r| screen.row_wrapped(*r))
            .map(|r| rows[usize::from(r)].clone())
            .filter(|row| !row.ends_with(' '))
            .collect()
    }

    /// The screen as a terminal shows it now.
    pub(crate) fn screen(&self) -> String {
        let mut parser = vt100::Parser::new(
            std::num::NonZero::new(60).unwrap(),
            std::num::NonZero::new(self.cols).unwrap(),
            0,
        );
        parser.process(&self.output.lock().unwrap());
        parser.screen().contents()
    }

    pub(crate) fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "`{text}` never showed; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn answer(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub(crate) fn child_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the exit; returns the code and the final screen.
    pub(crate) fn finish(mut self) -> (u32, String) {
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(300)); // the last bytes reach the reader
        (status.exit_code(), self.screen())
    }
}

/// The question stands on its own, last on screen, nothing turning below or above it.
pub(crate) fn question_alone(screen: &str, question: &str) {
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines.last().copied().unwrap_or_default();
    assert!(
        last.contains(question),
        "the question is the last line; the screen:\n{screen}"
    );
    assert!(
        !screen.contains(SPINNER),
        "no spinner on screen while asking:\n{screen}"
    );
    assert!(
        !screen.contains("waiting"),
        "no stale `waiting` line:\n{screen}"
    );
}

/// No spinner left, no `waiting` left over, no progress line twice (a stack's final line, or
/// any line outside the change tables, whose headers repeat per stack by design).
pub(crate) fn final_screen_clean(screen: &str) {
    assert!(
        !screen.contains(SPINNER),
        "a spinner was left on the final screen:\n{screen}"
    );
    assert!(
        !screen.contains("waiting"),
        "a stale `waiting` line:\n{screen}"
    );
    let mut seen = std::collections::HashSet::new();
    for line in screen
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with("  "))
    {
        assert!(
            seen.insert(line),
            "`{line}` is on the final screen twice:\n{screen}"
        );
    }
}

#[test]
fn questions_and_progress_on_a_terminal() {
    let moto = Moto::start();
    let dir = service_dir("sqs-worker", "it-tty", |t| t);
    let first = Session::start(&moto, dir.path(), &["up", "--image-uri", IMAGE, "--yes"]);
    let (code, screen) = first.finish();
    assert_eq!(code, 0, "{screen}");
    final_screen_clean(&screen);
    assert!(screen.contains("done: CREATE_COMPLETE"), "{screen}");

    // A destructive change: the schedule trigger's resources go. The question shows, alone.
    let config = dir.path().join("replatform.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    let start = text.find("  trigger:").unwrap();
    std::fs::write(
        &config,
        format!("{}  trigger:\n    type: sqs\n", &text[..start]),
    )
    .unwrap();
    let mut up = Session::start(&moto, dir.path(), &["up", "--image-uri", IMAGE]);
    let screen = up.wait_for("Go ahead?");
    question_alone(&screen, "Go ahead?");
    assert!(
        screen.contains("Remove") && screen.contains("Schedule"),
        "the removal is shown before the question:\n{screen}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        up.screen(),
        screen,
        "nothing moves while the question waits"
    );
    up.answer("y\n");
    let (code, screen) = up.finish();
    assert_eq!(code, 0, "{screen}");
    final_screen_clean(&screen);
    assert!(screen.contains("done: UPDATE_COMPLETE"), "{screen}");

    // Nothing to do: said, not spun.
    let again = Session::start(&moto, dir.path(), &["up", "--image-uri", IMAGE]);
    let (code, screen) = again.finish();
    assert_eq!(code, 0, "{screen}");
    final_screen_clean(&screen);
    assert!(
        screen.contains("it-tty-ecs: no changes") && screen.contains("it-tty-lambda: no changes"),
        "{screen}"
    );

    // `down`: the question, then the stacks go.
    let mut down = Session::start(&moto, dir.path(), &["down"]);
    let screen = down.wait_for("[y/N]");
    question_alone(&screen, "Delete `it-tty-ecs` and `it-tty-lambda`?");
    down.answer("y\n");
    let (code, screen) = down.finish();
    assert_eq!(code, 0, "{screen}");
    final_screen_clean(&screen);
    assert!(screen.contains("done: DELETE_COMPLETE"), "{screen}");
}

/// The tables, template diff and status blocks of `up`, `diff` and `status` fit an 80-column
/// terminal: no line of their data is wider, so none wraps.
#[test]
fn up_diff_and_status_fit_80_columns() {
    let moto = Moto::start();
    let dir = service_dir("sqs-worker", "it-eighty-columns-worker", |t| t);
    let run =
        |args: &[&str]| Session::start_data_only(&moto, dir.path(), args, 80).finish_with_lines();
    // What stays on the terminal is the data: every line of it counts. Of stderr, the tables and
    // blocks, set under their heading.
    let rows = |lines: &[String]| -> Vec<String> { lines.to_vec() };
    let stderr_rows = || -> Vec<String> {
        std::fs::read_to_string(dir.path().join("stderr.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("  "))
            .map(String::from)
            .collect()
    };
    let (code, screen, lines) = run(&["up", "--image-uri", IMAGE, "--yes"]);
    assert_eq!(code, 0, "{screen}");
    let mut checked = rows(&lines);
    assert!(
        stderr_rows().iter().any(|l| l.contains("AWS::SQS::Queue")),
        "the change table is there: {:#?}",
        stderr_rows()
    );
    // An edit, for a diff with a change table and a template diff.
    let config = dir.path().join("replatform.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("retention: 4d", "retention: 5d")).unwrap();
    let (code, screen, lines) = run(&["diff", "--image-uri", IMAGE]);
    assert!(code == 0 || code == 2, "{screen}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("+") || l.contains("Modify")),
        "the diff shows the change: {lines:#?}"
    );
    checked.extend(rows(&lines));
    let (code, screen, lines) = run(&["status"]);
    assert_eq!(code, 0, "{screen}");
    assert!(
        lines.iter().any(|l| l.contains("visible, 0 in flight")),
        "status shows the depths: {lines:#?}"
    );
    checked.extend(rows(&lines));
    checked.extend(stderr_rows());
    let wide: Vec<&String> = checked.iter().filter(|l| l.chars().count() > 80).collect();
    assert!(wide.is_empty(), "rows wider than 80 columns: {wide:#?}");

    // All of it on the terminal, notes and progress too (`up` with nothing to do says why it
    // skipped a check): the terminal wraps no row.
    for args in [&["up", "--image-uri", IMAGE][..], &["status"]] {
        let mut s = Session::start_sized(&moto, dir.path(), args, 80);
        let wait = std::time::Instant::now();
        while s.child_running() && wait.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        let wrapped = s.wrapped_rows();
        let (code, screen) = s.finish();
        assert_eq!(code, 0, "{screen}");
        assert!(
            wrapped.is_empty(),
            "{args:?}: rows the terminal wrapped: {wrapped:#?}\n{screen}"
        );
    }
}

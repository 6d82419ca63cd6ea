//! Every signal handled alike: `up`, `down`, `load`, `compare` and `local`, each
//! stopped by SIGTERM and by SIGINT, once through plain pipes with the signal sent to the process
//! alone (as `timeout`, CI runners and container stops send it) and once under a
//! pseudo-terminal (SIGINT to the whole foreground process group, as a terminal's Ctrl-C sends
//! it). Each exits 130 and says what it stopped and what to do next; no container and no
//! credential folder is left; `compare` keeps its files with the samples taken so far; the
//! messages sent stay in the queues, as many as the command says.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

use crate::common::repo;
use crate::emulator::{block, stderr, Moto, IMAGE};
use crate::fault_proxy::{rule, Fault, FaultProxy};
use crate::local::{base, counts, sqs};

/// The four ways a command is stopped here.
const CASES: [(Mode, &str); 4] = [
    (Mode::Pipes, "TERM"),
    (Mode::Pipes, "INT"),
    (Mode::Pty, "TERM"),
    (Mode::Pty, "INT"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// stdout and stderr are pipes; the signal goes to the process alone.
    Pipes,
    /// A pseudo-terminal; SIGINT goes to the foreground process group, as Ctrl-C does.
    Pty,
}

enum Child {
    Pipes(std::process::Child),
    Pty(Box<dyn portable_pty::Child + Send + Sync>),
}

/// One run of the binary, its output collected as it comes, with a HOME and TMPDIR of its own.
struct Run {
    child: Child,
    pid: u32,
    mode: Mode,
    output: Arc<Mutex<Vec<u8>>>,
    home: tempfile::TempDir,
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
}

impl Run {
    fn start(mode: Mode, endpoint: &str, dir: &Path, args: &[&str]) -> Self {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("tmp")).unwrap();
        let env: Vec<(&str, String)> = vec![
            ("AWS_ENDPOINT_URL", endpoint.into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "eu-west-1".into()),
            ("AWS_MAX_ATTEMPTS", "1".into()),
            ("AWS_CONFIG_FILE", "/nonexistent".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("HOME", home.path().display().to_string()),
            ("TMPDIR", home.path().join("tmp").display().to_string()),
        ];
        let output: Arc<Mutex<Vec<u8>>> = Arc::default();
        let (child, pid) = match mode {
            Mode::Pipes => {
                let mut child = Command::new(env!("CARGO_BIN_EXE_replatform"))
                    .current_dir(dir)
                    .args(args)
                    .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                    .env("NO_COLOR", "1")
                    .env_remove("AWS_PROFILE")
                    .env_remove("AWS_DEFAULT_PROFILE")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                collect(child.stdout.take().unwrap(), output.clone());
                collect(child.stderr.take().unwrap(), output.clone());
                let pid = child.id();
                (Child::Pipes(child), pid)
            }
            Mode::Pty => {
                let pair = native_pty_system()
                    .openpty(PtySize {
                        rows: 60,
                        cols: 200,
                        pixel_width: 0,
                        pixel_height: 0,
                    })
                    .unwrap();
                let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_replatform"));
                cmd.args(args);
                cmd.cwd(dir);
                for (k, v) in &env {
                    cmd.env(k, v);
                }
                cmd.env("TERM", "xterm-256color");
                for k in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "NO_COLOR"] {
                    cmd.env_remove(k);
                }
                let child = pair.slave.spawn_command(cmd).unwrap();
                drop(pair.slave);
                let reader = pair.master.try_clone_reader().unwrap();
                let master = pair.master;
                let sink = output.clone();
                std::thread::spawn(move || {
                    let _master = master; // kept open while the child writes
                    collect(reader, sink);
                    std::thread::sleep(Duration::from_secs(600));
                });
                let pid = child.process_id().unwrap();
                (Child::Pty(child), pid)
            }
        };
        Self {
            child,
            pid,
            mode,
            output,
            home,
        }
    }

    /// What a person sees: the lines as written to the pipes, or the terminal's screen.
    fn text(&self) -> String {
        let bytes = self.output.lock().unwrap().clone();
        match self.mode {
            Mode::Pipes => String::from_utf8_lossy(&bytes).into_owned(),
            Mode::Pty => {
                let mut parser = vt100::Parser::new(
                    std::num::NonZero::new(60).unwrap(),
                    std::num::NonZero::new(200).unwrap(),
                    0,
                );
                parser.process(&bytes);
                parser.screen().contents()
            }
        }
    }

    /// Waits until `ready` holds (checked every 50 ms, for up to two minutes).
    fn wait_until(&self, what: &str, ready: impl Fn(&Run) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !ready(self) {
            assert!(
                Instant::now() < deadline,
                "{what} never happened; the output:\n{}",
                self.text()
            );
            assert!(
                !self.ended(),
                "it ended before {what}; the output:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process has exited (a zombie, not yet waited for, or gone).
    fn ended(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // After the `(command)` field: the state.
        stat.rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_none_or(|state| state == "Z")
    }

    /// SIGTERM to the process; SIGINT to the process (pipes) or to its process group (the
    /// terminal's Ctrl-C).
    fn signal(&self, sig: &str) {
        let target = if self.mode == Mode::Pty && sig == "INT" {
            format!("-{}", self.pid)
        } else {
            self.pid.to_string()
        };
        let ok = Command::new("kill")
            .args([format!("-{sig}"), "--".into(), target])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} {}", self.pid);
    }

    /// Waits for the end (killing it after a minute); the exit code and the text.
    fn finish(mut self) -> (Option<u32>, String, tempfile::TempDir) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let code = loop {
            let done = match &mut self.child {
                Child::Pipes(c) => c.try_wait().unwrap().map(|s| s.code().map(|c| c as u32)),
                Child::Pty(c) => c.try_wait().unwrap().map(|s| Some(s.exit_code())),
            };
            if let Some(code) = done {
                break code;
            }
            if Instant::now() > deadline {
                let _ = Command::new("kill")
                    .args(["-KILL", &self.pid.to_string()])
                    .status();
                panic!(
                    "still running a minute after the signal; the output:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        std::thread::sleep(Duration::from_millis(300)); // the last bytes reach the reader
        let text = self.text();
        eprintln!(
            "--- replatform ({:?}) ended with {code:?}:\n{text}",
            self.mode
        );
        (code, text, self.home)
    }
}

/// What every interrupted command must show: exit 130, the signal named, a hint, no panic, no
/// credential folder left in its TMPDIR.
fn ended_alike(what: &str, sig: &str, code: Option<u32>, text: &str, home: &Path) {
    assert_eq!(code, Some(130), "{what}: exit 130 on SIG{sig}:\n{text}");
    assert!(
        text.contains(&format!("interrupted (SIG{sig})")),
        "{what}: names the signal:\n{text}"
    );
    assert!(text.contains("hint:"), "{what}: says how to go on:\n{text}");
    assert!(!text.contains("panicked"), "{what}:\n{text}");
    let left: Vec<String> = std::fs::read_dir(home.join("tmp"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.is_empty(),
        "{what}: temporary files left behind: {left:?}"
    );
}

/// The polling example deployed under `service`; its two queues' URLs (ecs, lambda).
fn deployed(moto: &Moto, service: &str) -> (tempfile::TempDir, String, String) {
    let dir = crate::emulator::service_dir("sqs-worker", service, |t| t);
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE, "--yes", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status =
        crate::emulator::json(&moto.replatform(dir.path(), &["status", "--output", "json"]));
    let url = |kind: &str| {
        status["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == kind)
            .unwrap()["queue"]["url"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (ecs, lambda) = (url("ecs"), url("lambda"));
    (dir, ecs, lambda)
}

/// The number in `text` right after `before`.
fn number_after(text: &str, before: &str) -> u64 {
    let flat = text.replace('\n', "");
    let rest = flat
        .split(before)
        .nth(1)
        .unwrap_or_else(|| panic!("`{before}` in:\n{text}"));
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("a number after `{before}` in:\n{text}"))
}

/// Processes whose command line holds `needle` (zombies have none).
fn processes_naming(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        if !entry
            .file_name()
            .to_string_lossy()
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(cmdline);
        }
    }
    found
}

/// Waits (up to 10 s) until no process names `needle`.
fn no_process_naming(what: &str, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_naming(needle);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still running: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes the images tagged for `host` when dropped (the layers other images share stay).
struct Images(String);

impl Drop for Images {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("docker")
            .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .output()
        {
            let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.starts_with(&format!("{}/", self.0)))
                .map(String::from)
                .collect();
            if !names.is_empty() {
                let _ = Command::new("docker")
                    .arg("rmi")
                    .args(&names)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

/// A registry that answers a manifest with 404 (so `up` builds) and never answers anything else
/// (so the login after the build waits, with its credential folder made).
fn silent_registry() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                if String::from_utf8_lossy(&head).contains("/manifests/") {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                } else {
                    std::thread::sleep(Duration::from_secs(300));
                }
            });
        }
    });
    host
}

#[test]
fn up_stopped_while_logging_in_to_push_removes_its_credential_folder() {
    let moto = Moto::start();
    let registry = silent_registry();
    let _images = Images(registry.clone());
    let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk());
    for (i, (mode, sig)) in CASES.into_iter().enumerate() {
        let service = format!("it-sig-up-{i}");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::copy("/bin/busybox", d.join("busybox"))
            .expect("/bin/busybox (busybox-static) is installed by scripts/test-tools.sh");
        std::fs::write(
            d.join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"true\"]\n",
        )
        .unwrap();
        let config = crate::common::variant(
            crate::common::BASE,
            &[
                ("service", service.clone().into()),
                ("image.registry", registry.clone().into()),
                ("image.builder", "docker".into()),
            ],
        );
        std::fs::write(d.join("replatform.yaml"), config).unwrap();

        let run = Run::start(mode, &moto.endpoint, d, &["up", "--yes"]);
        let tmp = run.home.path().join("tmp");
        let auth_dirs = move || {
            std::fs::read_dir(&tmp)
                .unwrap()
                .filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("replatform-auth-")
                })
                .count()
        };
        run.wait_until("the login after the build", |r| {
            r.text().contains("image: pushing to")
        });
        assert_eq!(
            auth_dirs(),
            1,
            "the credential folder is there while it logs in"
        );
        run.signal(sig);
        let (code, text, home) = run.finish();
        let what = format!("up, logging in ({mode:?}, SIG{sig})");
        ended_alike(&what, sig, code, &text, home.path());
        // Said by the image step, or by `up` around it: whichever saw the signal first.
        assert!(text.contains("stack was touched"), "{what}:\n{text}");
        no_process_naming(&what, &registry);
        for kind in ["ecs", "lambda"] {
            assert!(
                block(
                    cfn.describe_stacks()
                        .stack_name(format!("{service}-{kind}"))
                        .send()
                )
                .is_err(),
                "{what}: no stack was made"
            );
        }
    }
}

#[test]
fn down_stopped_while_cloudformation_deletes_says_it_goes_on() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    for (i, (mode, sig)) in CASES.into_iter().enumerate() {
        let service = format!("it-sig-down-{i}");
        let (dir, _, _) = deployed(&moto, &service);
        proxy.clear_log();
        proxy.set(vec![rule(
            "DescribeStackEvents",
            Fault::Delay(Duration::from_millis(3000)),
            4,
        )]);
        let run = Run::start(mode, &proxy.endpoint, dir.path(), &["down", "--yes"]);
        run.wait_until("the delete", |_| proxy.seen("DescribeStackEvents") >= 1);
        std::thread::sleep(Duration::from_millis(200));
        run.signal(sig);
        let (code, text, home) = run.finish();
        let what = format!("down, deleting ({mode:?}, SIG{sig})");
        ended_alike(&what, sig, code, &text, home.path());
        assert!(
            text.contains("CloudFormation goes on deleting"),
            "{what}: says what still runs in AWS:\n{text}"
        );
        proxy.set(vec![]);
        // The next `down` finishes the job.
        let out = moto.replatform(dir.path(), &["down", "--yes"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: the next `down` finishes: {}",
            stderr(&out)
        );
    }
}

#[test]
fn load_stopped_with_batches_in_flight_says_how_many_messages_stay_queued() {
    let moto = Moto::start();
    let sqs = sqs(&moto);
    for (i, (mode, sig)) in CASES.into_iter().enumerate() {
        let service = format!("it-sig-load-{i}");
        let (dir, ecs, lambda) = deployed(&moto, &service);
        let run = Run::start(
            mode,
            &moto.endpoint,
            dir.path(),
            &["load", "--rate", "40", "--duration", "60s"],
        );
        run.wait_until("the first messages", |_| counts(&sqs, &ecs).0 > 0);
        run.signal(sig);
        let (code, text, home) = run.finish();
        let what = format!("load, sending ({mode:?}, SIG{sig})");
        ended_alike(&what, sig, code, &text, home.path());
        assert!(
            text.contains("nothing of ours runs in AWS"),
            "{what}:\n{text}"
        );
        let said = number_after(&text, "but the ");
        let queued = counts(&sqs, &ecs).0 + counts(&sqs, &lambda).0;
        assert_eq!(
            said, queued,
            "{what}: the messages it says were sent are those in the queues:\n{text}"
        );
        assert!(
            queued < 2 * 40 * 60,
            "{what}: it stopped sending before the end"
        );
    }
}

use crate::common::COLUMNS;

#[test]
fn compare_stopped_while_sampling_keeps_its_files_with_the_samples_taken() {
    let moto = Moto::start();
    let sqs = sqs(&moto);
    for (i, (mode, sig)) in CASES.into_iter().enumerate() {
        let service = format!("it-sig-compare-{i}");
        let (dir, ecs, lambda) = deployed(&moto, &service);
        let args = [
            "compare",
            "--load",
            "--rate",
            "10",
            "--duration",
            "60s",
            "--interval",
            "200ms",
            "--out",
            "experiment",
        ];
        let run = Run::start(mode, &moto.endpoint, dir.path(), &args);
        run.wait_until("the first sample", |r| r.text().contains("depth "));
        std::thread::sleep(Duration::from_millis(500));
        run.signal(sig);
        let (code, text, home) = run.finish();
        let what = format!("compare, sampling ({mode:?}, SIG{sig})");
        ended_alike(&what, sig, code, &text, home.path());
        let out = dir.path().join("experiment");
        let taken = number_after(&text, &format!("interrupted (SIG{sig}): the "));
        assert!(taken >= 1, "{what}: samples were taken:\n{text}");

        let csv = std::fs::read_to_string(out.join("samples.csv"))
            .unwrap_or_else(|e| panic!("{what}: samples.csv: {e}"));
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(COLUMNS), "{what}: the header");
        let rows: Vec<&str> = lines.collect();
        assert_eq!(
            rows.len() as u64,
            2 * taken,
            "{what}: a row per sample and platform, as many as it says:\n{csv}"
        );
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["stopped"], "interrupted", "{what}");
        let svg = std::fs::read_to_string(out.join("chart.svg")).unwrap();
        assert_eq!(
            roxmltree::Document::parse(&svg)
                .expect("chart.svg is well-formed XML")
                .root_element()
                .tag_name()
                .name(),
            "svg"
        );

        let sent = summary["load"]["sent"].as_u64().unwrap();
        assert_eq!(
            sent,
            counts(&sqs, &ecs).0 + counts(&sqs, &lambda).0,
            "{what}: what was sent stays in the queues"
        );
        if sent > 0 {
            assert_eq!(
                number_after(&text, "but the "),
                sent,
                "{what}: says how many:\n{text}"
            );
        }
    }
}

/// The event worker on the local base, under `service`, with a handler that takes a minute a
/// message, and `more` appended to its Dockerfile.
fn slow_worker(service: &str, more: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("examples/sqs-event-worker");
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let config = dir.path().join("replatform.yaml");
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "service: sqs-event-worker",
        &format!("service: {service}"),
        1,
    );
    std::fs::write(
        &config,
        text.replacen(
            "image:\n",
            &format!("image:\n  build_args: {{BASE_IMAGE: {}}}\n", base()),
            1,
        ),
    )
    .unwrap();
    let app = dir.path().join("app.py");
    let slow = std::fs::read_to_string(&app).unwrap().replacen(
        "    if body == \"poison\":",
        "    import time; time.sleep(60)\n    if body == \"poison\":",
        1,
    );
    std::fs::write(&app, slow).unwrap();
    let dockerfile = dir.path().join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    std::fs::write(&dockerfile, format!("{text}{more}")).unwrap();
    dir
}

fn containers(prefix: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("name={prefix}"),
            "--format",
            "{{.Names}}",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn local_stopped_with_a_container_running_removes_it_and_leaves_the_messages() {
    let moto = Moto::start();
    let sqs = sqs(&moto);
    let service = "it-sig-local";
    let dir = slow_worker(service, "");
    // (how it is stopped, the platform it runs)
    let platforms = ["lambda", "ecs", "ecs", "lambda"];
    for (i, ((mode, sig), kind)) in CASES.into_iter().zip(platforms).enumerate() {
        let queue = block(
            sqs.create_queue()
                .queue_name(format!("{service}-{i}"))
                .send(),
        )
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
        let prefix = format!("replatform-local-{service}-{kind}-");
        let run = Run::start(
            mode,
            &moto.endpoint,
            dir.path(),
            &[
                "local",
                "--only",
                kind,
                "--queue-url",
                &queue,
                "--messages",
                "3",
            ],
        );
        run.wait_until("a running container with a message in hand", |_| {
            let out = Command::new("docker")
                .args([
                    "ps",
                    "--filter",
                    &format!("name={prefix}"),
                    "--format",
                    "{{.Names}}",
                ])
                .output()
                .unwrap();
            !String::from_utf8_lossy(&out.stdout).trim().is_empty() && counts(&sqs, &queue).1 > 0
        });
        run.signal(sig);
        let (code, text, home) = run.finish();
        let what = format!("local {kind}, running ({mode:?}, SIG{sig})");
        ended_alike(&what, sig, code, &text, home.path());
        assert!(text.contains("was stopped and removed"), "{what}:\n{text}");
        assert!(
            text.contains("nothing of ours runs in AWS"),
            "{what}:\n{text}"
        );
        assert!(
            text.contains("in flight: those come back when their visibility timeout ends"),
            "{what}: the message in hand:\n{text}"
        );
        assert_eq!(
            containers(&prefix),
            Vec::<String>::new(),
            "{what}: no container left"
        );
        let (visible, in_flight) = counts(&sqs, &queue);
        assert_eq!(
            visible + in_flight,
            3,
            "{what}: the messages stay in the queue"
        );
        assert_eq!(
            number_after(&text, "` holds "),
            3,
            "{what}: says how many:\n{text}"
        );
    }
}

#[test]
fn local_stopped_while_building_stops_the_builder() {
    let moto = Moto::start();
    let service = "it-sig-build";
    let dir = slow_worker(service, "RUN python -c \"import time; time.sleep(120)\"\n");
    let run = Run::start(
        Mode::Pipes,
        &moto.endpoint,
        dir.path(),
        &[
            "local",
            "--queue-url",
            "http://127.0.0.1:1/123456789012/none",
            "--messages",
            "1",
        ],
    );
    run.wait_until("the build", |r| {
        r.text().contains("building replatform-local/")
    });
    std::thread::sleep(Duration::from_millis(1500));
    let building = processes_naming(&format!("replatform-local/{service}:"));
    assert!(!building.is_empty(), "the builder runs");
    run.signal("TERM");
    let (code, text, home) = run.finish();
    ended_alike("local, building", "TERM", code, &text, home.path());
    assert!(
        text.contains("while building the image: the builder was stopped"),
        "{text}"
    );
    no_process_naming("local, building", &format!("replatform-local/{service}:"));
    assert_eq!(
        containers(&format!("replatform-local-{service}-")),
        Vec::<String>::new()
    );
}

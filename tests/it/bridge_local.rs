//! `lambda.trigger.type: bridge` end to end: `local` builds the worker's image, adds the
//! supervisor's layer (the static build of `scripts/build-bridge amd64`, made here when it is
//! older than bridge/src), runs it as Lambda would against moto and plays the SQS trigger.
//! The workers have no handler and no runtime interface client: a boto3 receive loop, the seed
//! article's run-once worker, and a static Rust binary on `FROM scratch`. Every message is
//! handled and deleted once; one the worker leaves comes back and reaches the dead-letter queue;
//! a worker killed mid-batch loses nothing. `up` pushes the image with exactly one more layer
//! than the worker's, and both stacks run its digest.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::SystemTime;

use crate::common::repo;
use crate::emulator::{block, stderr, Moto};
use crate::image::{Registry, PASSWORD};
use crate::local::{base, counts, sqs};

/// The target folder this test build uses (`CARGO_TARGET_DIR`, else target/).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { repo().join(p) })
        .unwrap_or_else(|| repo().join("target"))
}

fn newest(dir: &Path) -> SystemTime {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// `REPLATFORM_BRIDGE_DIR`: the folder of `amd64/replatform-bridge`, built by
/// `scripts/build-bridge amd64` unless the binary is newer than the crate's sources.
fn bridge_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = target_dir().join("bridge");
        let bin = dir.join("amd64/replatform-bridge");
        let sources =
            newest(&repo().join("bridge/src")).max(newest(&repo().join("bridge/Cargo.toml")));
        let fresh = bin
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t > sources);
        if !fresh {
            let out = Command::new(repo().join("scripts/build-bridge"))
                .arg("amd64")
                .env("CARGO_TARGET_DIR", target_dir())
                .output()
                .expect("scripts/build-bridge runs");
            assert!(
                out.status.success(),
                "scripts/build-bridge amd64: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(bin.is_file(), "{} was not built", bin.display());
        dir
    })
}

/// The static Rust worker of tests/fixtures/bridge-rust, built for linux/amd64 with musl.
fn rust_worker() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = tempfile::tempdir().unwrap();
        for f in ["Cargo.toml", "src/main.rs"] {
            let to = src.path().join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(repo().join("tests/fixtures/bridge-rust").join(f), to).unwrap();
        }
        let target = target_dir().join("bridge-rust-worker");
        let out = Command::new("cargo")
            .args([
                "build",
                "--release",
                "--target",
                "x86_64-unknown-linux-musl",
            ])
            .current_dir(src.path())
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER", "rust-lld")
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building the Rust worker: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("x86_64-unknown-linux-musl/release/worker")
    })
}

/// A service folder: the fixture's files, and a config of the bridge with nothing of the
/// handler's: the image's own ENTRYPOINT, CMD and WORKDIR run.
fn service(fixture: &str, name: &str, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("tests/fixtures").join(fixture);
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let config = format!(
        "service: {name}\nimage:\n  build_args: {{BASE_IMAGE: {}}}\n{extra}queue:\n  visibility_timeout: 5s\necs:\n  subnets: [subnet-0123456789abcdef0]\n  security_groups: [sg-0123456789abcdef0]\nlambda:\n  timeout: 5s\n  trigger: {{ type: bridge, batch_size: 10 }}\n",
        base()
    );
    std::fs::write(dir.path().join("replatform.yaml"), config).unwrap();
    dir
}

fn queue(moto: &Moto, name: &str, dead_letter: Option<&str>) -> String {
    let c = sqs(moto);
    let mut create = c.create_queue().queue_name(name);
    if let Some(dlq) = dead_letter {
        let arn = format!("arn:aws:sqs:{}:123456789012:{dlq}", crate::common::REGION);
        create = create.attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn": "{arn}", "maxReceiveCount": "2"}}"#),
        );
    }
    block(create.send())
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string()
}

fn send(moto: &Moto, url: &str, bodies: &[String]) {
    for b in bodies {
        block(
            sqs(moto)
                .send_message()
                .queue_url(url)
                .message_body(b)
                .send(),
        )
        .unwrap();
    }
}

fn local(moto: &Moto, dir: &Path, queue: &str) -> Output {
    moto.replatform_with(
        dir,
        &[
            "local",
            "--only",
            "lambda",
            "--queue-url",
            queue,
            "--timeout",
            "60s",
        ],
        &[("REPLATFORM_BRIDGE_DIR", bridge_dir().display().to_string())],
    )
}

/// What the container printed that starts with `what `: the rest of each such line.
fn printed(out: &Output, what: &str) -> Vec<String> {
    let prefix = format!("| {what} ");
    let mut v: Vec<String> = stderr(out)
        .lines()
        .filter_map(|l| l.split_once(&prefix).map(|(_, rest)| rest.to_string()))
        .collect();
    v.sort();
    v
}

fn bodies(prefix: &str, n: usize) -> Vec<String> {
    let mut v: Vec<String> = (1..=n).map(|i| format!("{prefix}{i:02}")).collect();
    v.sort();
    v
}

fn first_words(lines: &[String]) -> Vec<String> {
    let mut v: Vec<String> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn a_boto3_loop_worker_handles_every_message_once_under_the_bridge() {
    let moto = Moto::start();
    let q = queue(&moto, "it-bridge-loop", None);
    let sent = bodies("m", 23);
    send(&moto, &q, &sent);
    let dir = service("bridge-loop", "it-bridge-loop", "");
    let out = local(&moto, dir.path(), &q);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("replatform-bridge: serving SQS for it-bridge-loop"),
        "the supervisor ran the worker: {err}"
    );
    assert_eq!(
        first_words(&printed(&out, "handled")),
        sent,
        "each once: {err}"
    );
    assert_eq!(counts(&sqs(&moto), &q), (0, 0), "the queue is empty");
}

#[test]
fn a_message_the_worker_leaves_comes_back_then_reaches_the_dead_letter_queue() {
    let moto = Moto::start();
    let dlq = queue(&moto, "it-bridge-dlq-dead", None);
    let q = queue(&moto, "it-bridge-dlq", Some("it-bridge-dlq-dead"));
    let mut sent = bodies("ok", 4);
    sent.push("leave-me".into());
    send(&moto, &q, &sent);
    let dir = service("bridge-loop", "it-bridge-dlq", "");
    let out = local(&moto, dir.path(), &q);
    // The left message is reported failed (batchItemFailures): the run says so.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(first_words(&printed(&out, "handled")), bodies("ok", 4));
    // Its visibility was set to 0 through the supervisor (forwarded to moto): it came back at
    // once, was left again, and after maxReceiveCount (2) receives moto moved it.
    assert_eq!(
        printed(&out, "left"),
        vec!["leave-me".to_string(), "leave-me".to_string()],
        "{}",
        stderr(&out)
    );
    assert_eq!(counts(&sqs(&moto), &q), (0, 0));
    let dead = block(
        sqs(&moto)
            .receive_message()
            .queue_url(&dlq)
            .max_number_of_messages(10)
            .send(),
    )
    .unwrap();
    let dead: Vec<&str> = dead.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(dead, vec!["leave-me"]);
}

#[test]
fn a_worker_killed_mid_batch_loses_nothing() {
    let moto = Moto::start();
    let q = queue(&moto, "it-bridge-crash", None);
    let mut sent = bodies("m", 8);
    sent.push("crash-now".into());
    send(&moto, &q, &sent);
    sent.sort();
    let dir = service("bridge-loop", "it-bridge-crash", "");
    let first = local(&moto, dir.path(), &q);
    assert_eq!(
        printed(&first, "crash"),
        vec!["crash-now".to_string()],
        "{}",
        stderr(&first)
    );
    let handled_first = printed(&first, "handled");
    let (visible, in_flight) = counts(&sqs(&moto), &q);
    assert_eq!(
        handled_first.len() as u64 + visible + in_flight,
        sent.len() as u64,
        "every message is deleted or still in the queue: {}",
        stderr(&first)
    );
    assert!(in_flight >= 1, "the crashing one is back in the queue");
    // After the visibility timeout (5 s) the rest is handled, the crashing one on its second
    // receive.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let second = local(&moto, dir.path(), &q);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let mut all = handled_first;
    all.extend(printed(&second, "handled"));
    let mut words = first_words(&all);
    words.sort();
    assert_eq!(words, sent, "each handled exactly once: {all:?}");
    assert!(
        all.contains(&"crash-now 2".to_string()),
        "the crashing one came back: {all:?}"
    );
    assert_eq!(counts(&sqs(&moto), &q), (0, 0));
}

#[test]
fn the_seed_articles_run_once_worker_runs_unchanged() {
    let moto = Moto::start();
    let q = queue(&moto, "it-bridge-seed", None);
    let sent = bodies("s", 17);
    send(&moto, &q, &sent);
    let dir = service("bridge-seed", "it-bridge-seed", "");
    let out = local(&moto, dir.path(), &q);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(printed(&out, "handled"), sent, "{}", stderr(&out));
    assert_eq!(counts(&sqs(&moto), &q), (0, 0));
}

#[test]
fn a_static_rust_worker_on_scratch_runs_under_the_bridge() {
    let moto = Moto::start();
    let dlq = queue(&moto, "it-bridge-rust-dead", None);
    let q = queue(&moto, "it-bridge-rust", Some("it-bridge-rust-dead"));
    let sent = bodies("r", 14);
    send(&moto, &q, &sent);
    let dir = service("bridge-rust", "it-bridge-rust", "");
    std::fs::copy(rust_worker(), dir.path().join("worker")).unwrap();
    let out = local(&moto, dir.path(), &q);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(printed(&out, "handled"), sent, "{}", stderr(&out));
    assert_eq!(counts(&sqs(&moto), &q), (0, 0));

    // One it leaves: back at once (its visibility set to 0 by the worker, forwarded to moto),
    // left again, then moved to the dead-letter queue after maxReceiveCount (2).
    send(&moto, &q, &["leave-rust".to_string(), "r99".to_string()]);
    let out = local(&moto, dir.path(), &q);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(printed(&out, "handled"), vec!["r99".to_string()]);
    assert_eq!(
        printed(&out, "left"),
        vec!["leave-rust".to_string(), "leave-rust".to_string()],
        "{}",
        stderr(&out)
    );
    assert_eq!(counts(&sqs(&moto), &q), (0, 0));
    assert_eq!(counts(&sqs(&moto), &dlq), (1, 0));
}

/// The config of [`crate::common::BASE`] under the bridge, pushing to `registry`.
fn bridge_config(service: &str, registry: &str, platform: &str) -> String {
    crate::common::variant(
        &crate::common::bridge(crate::common::BASE),
        &[
            ("service", service.into()),
            ("image.registry", registry.into()),
            ("image.builder", "docker".into()),
            ("image.platform", platform.into()),
        ],
    )
}

/// The number of layers, the ENTRYPOINT and the CMD of a local image, as the builder reads it.
fn image_facts(builder: &str, image: &str) -> (usize, serde_json::Value, serde_json::Value) {
    let mut cmd = Command::new(builder);
    match builder {
        "buildah" => cmd.args(["inspect", "--type", "image", image]),
        _ => cmd.args(["image", "inspect", image]),
    };
    if builder == "buildah" {
        cmd.env("STORAGE_DRIVER", "vfs");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{image} is built locally: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    if builder == "buildah" {
        let oci = &doc["OCIv1"];
        (
            oci["rootfs"]["diff_ids"].as_array().unwrap().len(),
            oci["config"]["Entrypoint"].clone(),
            oci["config"]["Cmd"].clone(),
        )
    } else {
        (
            doc[0]["RootFS"]["Layers"].as_array().unwrap().len(),
            doc[0]["Config"]["Entrypoint"].clone(),
            doc[0]["Config"]["Cmd"].clone(),
        )
    }
}

fn up_pushes_one_layer_more(builder: &str, service: &str) {
    let registry = Registry::start(PASSWORD);
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(
        repo().join("tests/fixtures/bridge-rust/Dockerfile"),
        d.join("Dockerfile"),
    )
    .unwrap();
    std::fs::copy(rust_worker(), d.join("worker")).unwrap();
    let config = crate::common::variant(
        &bridge_config(service, &registry.host, "linux/amd64"),
        &[("image.builder", builder.into())],
    );
    std::fs::write(d.join("replatform.yaml"), config).unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("tmp")).unwrap();
    let mut env = vec![
        ("REPLATFORM_BRIDGE_DIR", bridge_dir().display().to_string()),
        ("HOME", home.path().display().to_string()),
        ("TMPDIR", home.path().join("tmp").display().to_string()),
    ];
    if builder == "buildah" {
        // Without a daemon or a user namespace, as tests/it/image.rs runs it.
        env.push(("BUILDAH_ISOLATION", "chroot".into()));
        env.push(("STORAGE_DRIVER", "vfs".into()));
    }

    let up = moto.replatform_with(d, &["up", "--yes", "-v"], &env);
    assert!(up.status.success(), "{}", stderr(&up));
    let err = stderr(&up);
    let tag = err
        .split(&format!("image: pushed {service}:"))
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    // The pushed image: the worker's layers and one more, the supervisor's; ENTRYPOINT and CMD
    // unchanged, so ECS runs it as the worker's.
    let (_, digest, manifest) = registry.manifest(service, &tag);
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let pushed = manifest["layers"].as_array().unwrap().len();
    let worker_image = format!("{}/{service}:{tag}-worker", registry.host);
    let final_image = format!("{}/{service}:{tag}", registry.host);
    let (worker_layers, entrypoint, cmd) = image_facts(builder, &worker_image);
    assert_eq!(pushed, worker_layers + 1, "{manifest}");
    let (final_layers, final_entrypoint, final_cmd) = image_facts(builder, &final_image);
    assert_eq!(final_layers, pushed);
    assert_eq!(final_entrypoint, entrypoint);
    assert_eq!(entrypoint, serde_json::json!(["/worker"]));
    assert_eq!(final_cmd, cmd);
    if builder == "docker" {
        // The supervisor runs from the layer, and reads the worker's parts next to it.
        let out = Command::new("docker")
            .args([
                "run",
                "--rm",
                "--entrypoint",
                "/opt/replatform-bridge/replatform-bridge",
            ])
            .arg(&final_image)
            .arg("--version")
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("replatform-bridge "),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = format!("{service}-read");
        let created = Command::new("docker")
            .args(["create", "--name", &name, &final_image])
            .output()
            .unwrap();
        assert!(created.status.success());
        let copy = home.path().join("worker.json");
        let cp = Command::new("docker")
            .args(["cp", &format!("{name}:/opt/replatform-bridge/worker.json")])
            .arg(&copy)
            .output()
            .unwrap();
        let _ = Command::new("docker").args(["rm", &name]).output();
        assert!(
            cp.status.success(),
            "{}",
            String::from_utf8_lossy(&cp.stderr)
        );
        let recorded: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&copy).unwrap()).unwrap();
        assert_eq!(
            recorded,
            serde_json::json!({"entrypoint": ["/worker"], "cmd": null, "workdir": ""})
        );
    }

    // Both stacks run that digest.
    let uri = format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/{service}@{digest}");
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk());
    let f = block(lambda.get_function().function_name(service).send()).unwrap();
    assert_eq!(f.code().and_then(|c| c.image_uri()).unwrap(), uri);
    let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk());
    let template = |stack: &str| -> serde_yaml_ng::Value {
        let body = block(cfn.get_template().stack_name(stack).send())
            .unwrap()
            .template_body()
            .unwrap()
            .to_string();
        serde_yaml_ng::from_str(&body).unwrap()
    };
    let ecs = template(&format!("{service}-ecs"));
    assert_eq!(
        ecs["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Image"]
            .as_str()
            .unwrap(),
        uri
    );

    // Unchanged: found in the registry, nothing built.
    let again = moto.replatform_with(d, &["up", "--yes"], &env);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("nothing to build or push"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn up_pushes_the_workers_image_and_one_layer_and_both_stacks_run_its_digest() {
    up_pushes_one_layer_more("docker", "it-bridge-up");
}

#[test]
fn up_with_buildah_pushes_the_workers_image_and_one_layer() {
    up_pushes_one_layer_more("buildah", "it-bridge-up-buildah");
}

/// The binary copied to a folder of its own, so that no supervisor lies next to it, run with
/// an AWS endpoint that answers nothing: a failure here happened before any AWS call.
fn lonely(dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let bin_dir = tempfile::tempdir().unwrap();
    let bin = bin_dir.path().join("replatform");
    std::fs::copy(env!("CARGO_BIN_EXE_replatform"), &bin).unwrap();
    let mut cmd = Command::new(&bin);
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("REPLATFORM_BRIDGE_DIR")
        .stdin(std::process::Stdio::null());
    for (k, v) in crate::common::emulator_env("http://127.0.0.1:1") {
        cmd.env(k, v);
    }
    for k in crate::common::UNSET {
        cmd.env_remove(k);
    }
    cmd.envs(extra.iter().copied());
    cmd.output().unwrap()
}

#[test]
fn up_stops_before_aws_without_the_supervisor_or_with_a_given_image() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        d.join("replatform.yaml"),
        bridge_config("it-bridge-none", "127.0.0.1:1", "linux/arm64"),
    )
    .unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = lonely(
        d,
        &["up", "--yes"],
        &[("REPLATFORM_BRIDGE_DIR", empty.path().to_str().unwrap())],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the supervisor for linux/arm64 (replatform-bridge) is not on this machine"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}/arm64/replatform-bridge",
            empty.path().display()
        )),
        "where it looked: {err}"
    );
    assert!(err.contains("scripts/build-bridge arm64"), "{err}");
    assert!(!err.contains("127.0.0.1:1"), "no AWS call was made: {err}");

    let out = lonely(
        d,
        &["up", "--yes", "--image-uri", crate::common::IMAGE],
        &[],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("an image given by URI lacks it"), "{err}");
    assert!(err.contains("drop --image-uri"), "{err}");
}

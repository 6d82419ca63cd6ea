//! `up` from source, end to end: the real binary builds with the real Docker engine (and with
//! Buildah), logs in and pushes to a real registry (Debian's `docker-registry` on 127.0.0.1,
//! htpasswd basic auth with the password moto's ECR token carries), and deploys to moto. No
//! image can be pulled here: the test image is `FROM scratch` with Debian's static busybox.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::emulator::{block, json, stderr, Moto};

/// moto's `GetAuthorizationToken` is base64 of `AWS:<account>-auth-token`.
pub(crate) const PASSWORD: &str = "123456789012-auth-token";
const TOKEN: &str = "QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu";

/// A registry of this test's own; stopped when dropped. The bridge's tests push to it too.
pub(crate) struct Registry {
    child: Child,
    pub(crate) host: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub(crate) fn start(password: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = dir.path().join("htpasswd");
        let mut h = Command::new("htpasswd")
            .args(["-iBc", htpasswd.to_str().unwrap(), "AWS"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("htpasswd (apache2-utils) is installed by scripts/test-tools.sh");
        h.stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        assert!(h.wait().unwrap().success());
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {}}}}}\nhttp: {{addr: 127.0.0.1:{port}}}\nauth: {{htpasswd: {{realm: test, path: {}}}}}\n",
                dir.path().join("data").display(),
                htpasswd.display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry is installed by scripts/test-tools.sh");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry {
            child,
            host: format!("127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// The registry's own answer for a tag: its `Content-Type`, `Docker-Content-Digest` and
    /// body, read with a plain HTTP request (not with replatform's client).
    pub(crate) fn manifest(&self, repository: &str, tag: &str) -> (String, String, String) {
        let mut s = TcpStream::connect(&self.host).unwrap();
        write!(
            s,
            "GET /v2/{repository}/manifests/{tag} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {TOKEN}\r\nAccept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json\r\nConnection: close\r\n\r\n",
            self.host
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    l.split_once(": ")
                        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.to_string())
                })
                .unwrap_or_default()
        };
        (
            header("Content-Type"),
            header("Docker-Content-Digest"),
            body.to_string(),
        )
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The images the test built, by their registry-qualified names (the layers they share
        // with other images stay).
        if let Ok(out) = Command::new("docker")
            .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .output()
        {
            let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.starts_with(&format!("{}/", self.host)))
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

/// A worker's folder: a `FROM scratch` image with a static shell and one source file.
fn worker(service: &str, registry: &str, builder: &str, dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(busybox(), d.join("busybox")).unwrap();
    std::fs::write(d.join("Dockerfile"), dockerfile).unwrap();
    std::fs::write(
        d.join("app.py"),
        "def handler(event, context):\n    return {}\n",
    )
    .unwrap();
    std::fs::write(d.join(".dockerignore"), "*.log\n").unwrap();
    let config = crate::common::variant(
        crate::common::BASE,
        &[
            ("service", service.into()),
            ("image.registry", registry.into()),
            ("image.builder", builder.into()),
            ("image.build_args", crate::common::yaml("{GREETING: hello}")),
        ],
    );
    std::fs::write(d.join("replatform.yaml"), config).unwrap();
    dir
}

const DOCKERFILE: &str = "FROM scratch\nARG GREETING\nCOPY busybox /bin/busybox\nCOPY app.py /app/app.py\nWORKDIR /app\nCMD [\"/bin/busybox\", \"sh\", \"-c\", \"echo $GREETING\"]\n";

fn busybox() -> PathBuf {
    let p = PathBuf::from("/bin/busybox");
    assert!(
        p.exists(),
        "/bin/busybox (busybox-static) is installed by scripts/test-tools.sh"
    );
    p
}

/// What each run of the binary needs beyond the emulator: a home and a temporary folder of its
/// own (to find any credential left behind), and the builder's settings.
fn env(home: &Path, builder: &str) -> Vec<(&'static str, String)> {
    let mut e = vec![
        ("HOME", home.display().to_string()),
        ("TMPDIR", home.join("tmp").display().to_string()),
    ];
    std::fs::create_dir_all(home.join("tmp")).unwrap();
    if builder == "buildah" {
        // Without a daemon or a user namespace: the chroot isolation and the vfs storage driver.
        e.push(("BUILDAH_ISOLATION", "chroot".into()));
        e.push(("STORAGE_DRIVER", "vfs".into()));
    }
    e
}

fn lambda_image(moto: &Moto, function: &str) -> String {
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk());
    let f = block(lambda.get_function().function_name(function).send()).unwrap();
    f.code().and_then(|c| c.image_uri()).unwrap().to_string()
}

/// The ECS task definition's image, from the stack's deployed template: moto's own task
/// definitions made through CloudFormation lack their container's image and log settings.
fn ecs_image(moto: &Moto, stack: &str) -> String {
    let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk());
    let template = block(cfn.get_template().stack_name(stack).send())
        .unwrap()
        .template_body()
        .unwrap()
        .to_string();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&template).unwrap();
    doc["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Image"]
        .as_str()
        .unwrap()
        .to_string()
}

fn stack_count(moto: &Moto) -> usize {
    let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk());
    block(cfn.describe_stacks().send())
        .map(|o| o.stacks().len())
        .unwrap_or(0)
}

/// Every output of the runs, and every file under the run's home and temporary folder: the
/// registry password appears in none of them.
fn assert_no_secret(outputs: &[&Output], home: &Path) {
    for o in outputs {
        for text in [
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        ] {
            assert!(
                !text.contains(PASSWORD) && !text.contains(TOKEN),
                "the registry credential was printed:\n{text}"
            );
        }
    }
    for entry in walkdir::WalkDir::new(home)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(PASSWORD) && !text.contains(TOKEN),
            "the registry credential was left in {}",
            entry.path().display()
        );
    }
    let left: Vec<_> = std::fs::read_dir(home.join("tmp"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

fn build_push_deploy(builder: &str, service: &str) {
    let registry = Registry::start(PASSWORD);
    let moto = Moto::start();
    let dir = worker(service, &registry.host, builder, DOCKERFILE);
    let d = dir.path();
    let home = tempfile::tempdir().unwrap();
    let env = env(home.path(), builder);

    // First `up`: builds, pushes, and deploys the registry's digest to both stacks.
    let first = moto.replatform_with(d, &["up", "--yes", "-v"], &env);
    assert!(first.status.success(), "{}", stderr(&first));
    let err = stderr(&first);
    assert!(err.contains("image: created ECR repository"), "{err}");
    assert!(
        err.contains(&format!("image: building {}/{service}:src-", registry.host)),
        "{err}"
    );
    assert!(err.contains("image: pushed"), "{err}");

    let tag = err
        .split(&format!("image: pushed {service}:"))
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let (content_type, digest, body) = registry.manifest(service, &tag);
    assert_eq!(
        content_type, "application/vnd.docker.distribution.manifest.v2+json",
        "a single-platform image manifest"
    );
    assert!(!body.contains("\"manifests\""), "not an index: {body}");
    let uri = format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/{service}@{digest}");
    assert_eq!(
        lambda_image(&moto, service),
        uri,
        "the function runs the registry's digest"
    );
    assert_eq!(
        ecs_image(&moto, &format!("{service}-ecs")),
        uri,
        "the task definition runs the registry's digest"
    );

    // Second `up`, nothing changed: nothing built or pushed, nothing deployed.
    std::fs::write(d.join("debug.log"), "ignored by .dockerignore").unwrap();
    let second = moto.replatform_with(d, &["up", "--yes", "--output", "json"], &env);
    assert!(second.status.success(), "{}", stderr(&second));
    let doc = json(&second);
    assert_eq!(doc["image"]["source"], "reused", "{doc}");
    assert_eq!(doc["image"]["uri"], uri.as_str());
    assert!(
        doc["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["result"] == "unchanged"),
        "{doc}"
    );
    let text = moto.replatform_with(d, &["up", "--yes"], &env);
    assert!(
        stderr(&text).contains("nothing to build or push"),
        "{}",
        stderr(&text)
    );
    assert!(
        !stderr(&text).contains("image: building"),
        "{}",
        stderr(&text)
    );

    // An edited source file: a new tag, a new digest, in both stacks.
    std::fs::write(
        d.join("app.py"),
        "def handler(event, context):\n    return {'v': 2}\n",
    )
    .unwrap();
    let diff = moto.replatform_with(d, &["diff", "--exit-code"], &env);
    assert_eq!(diff.status.code(), Some(3), "{}", stderr(&diff));
    assert!(
        stderr(&diff).contains("are not in the registry: compared with the image the stacks run")
            && stderr(&diff).contains("`up` would build and push the sources"),
        "{}",
        stderr(&diff)
    );
    let third = moto.replatform_with(d, &["up", "--yes", "--output", "json"], &env);
    assert!(third.status.success(), "{}", stderr(&third));
    let doc = json(&third);
    assert_eq!(doc["image"]["source"], "built", "{doc}");
    let new_uri = doc["image"]["uri"].as_str().unwrap().to_string();
    let new_tag = doc["image"]["tag"].as_str().unwrap();
    assert_ne!(new_tag, tag);
    let (_, new_digest, _) = registry.manifest(service, new_tag);
    assert_eq!(
        new_uri,
        format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/{service}@{new_digest}")
    );
    assert_ne!(new_uri, uri);
    assert_eq!(
        lambda_image(&moto, service),
        new_uri,
        "the function runs the new digest"
    );
    assert_eq!(
        ecs_image(&moto, &format!("{service}-ecs")),
        new_uri,
        "the task definition runs the new digest"
    );
    let diff = moto.replatform_with(d, &["diff", "--exit-code"], &env);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "nothing left to change: {}",
        stderr(&diff)
    );

    // `down --purge-images` removes the stacks, then the repository.
    let down = moto.replatform_with(d, &["down", "--yes", "--purge-images"], &env);
    assert!(down.status.success(), "{}", stderr(&down));
    let ecr = aws_sdk_ecr::Client::new(&moto.sdk());
    let repos = block(ecr.describe_repositories().send()).unwrap();
    assert!(repos.repositories().is_empty(), "the repository is gone");

    assert_no_secret(&[&first, &second, &text, &diff, &third, &down], home.path());
}

#[test]
fn up_builds_with_docker_pushes_and_deploys_the_registrys_digest() {
    build_push_deploy("docker", "img-docker");
}

#[test]
fn up_builds_with_buildah_pushes_and_deploys_the_registrys_digest() {
    build_push_deploy("buildah", "img-buildah");
}

/// A failed build, a refused credential and a missing builder: each a clear error, exit 1, no
/// stack, no credential in any output.
#[test]
fn image_failures_stop_before_any_stack() {
    let registry = Registry::start(PASSWORD);
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let env = env(home.path(), "docker");

    let broken = worker(
        "img-broken",
        &registry.host,
        "docker",
        "FROM scratch\nCOPY no-such-file /x\n",
    );
    let out = moto.replatform_with(broken.path(), &["up", "--yes"], &env);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("error: building the image: `docker build"),
        "{err}"
    );
    assert!(
        err.contains("no-such-file"),
        "the builder's own lines: {err}"
    );
    assert!(err.contains("hint: fix the Dockerfile"), "{err}");

    let missing = worker("img-missing", &registry.host, "finch", DOCKERFILE);
    let out2 = moto.replatform_with(missing.path(), &["up", "--yes"], &env);
    assert_eq!(out2.status.code(), Some(1));
    let err = stderr(&out2);
    assert!(err.contains("`finch` is not installed"), "{err}");
    assert!(err.contains("hint: install Finch"), "{err}");

    let wrong = Registry::start("not-the-token");
    let refused = worker("img-refused", &wrong.host, "docker", DOCKERFILE);
    let out3 = moto.replatform_with(refused.path(), &["up", "--yes"], &env);
    assert_eq!(out3.status.code(), Some(1));
    let err = stderr(&out3);
    assert!(err.contains("refused the credential"), "{err}");

    assert_eq!(stack_count(&moto), 0, "no stack was created");
    assert_no_secret(&[&out, &out2, &out3], home.path());
}

/// The login step itself refusing: a registry that lets the manifest through is not needed; the
/// `--rebuild` path goes straight to build, login and push.
#[test]
fn a_refused_login_is_a_clear_error() {
    let wrong = Registry::start("not-the-token");
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let env = env(home.path(), "docker");
    let dir = worker("img-login", &wrong.host, "docker", DOCKERFILE);
    let out = moto.replatform_with(dir.path(), &["up", "--yes", "--rebuild"], &env);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("error: logging in to `{}`", wrong.host)),
        "{err}"
    );
    assert!(
        err.contains("hint: the ECR credential was refused"),
        "{err}"
    );
    assert_eq!(stack_count(&moto), 0);
    assert_no_secret(&[&out], home.path());
}

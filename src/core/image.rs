//! The worker image, pure: which files of the build context count (`.dockerignore`), the tag
//! that their hash names, the builders' argument lists, and which manifests Lambda accepts
//! (docs/pitfalls.md#p1..#p4). No file system, no processes: the effects live in `crate::image`.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::config::{Builder, Platform};

// ---------------------------------------------------------------------------------------------
// .dockerignore

/// The rules of a `.dockerignore` file as Docker applies them: each line a pattern relative to
/// the context's root (a leading `/` means the same), `*` and `?` within one path segment, `**`
/// across segments, `!` re-includes, the last matching line wins, and a pattern that matches a
/// folder matches everything under it.
#[derive(Debug, Default)]
pub struct Dockerignore {
    rules: Vec<(globset::GlobMatcher, bool)>,
}

impl Dockerignore {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rules = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (include, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let pattern = clean(pattern);
            if pattern.is_empty() {
                continue;
            }
            let glob = globset::GlobBuilder::new(&pattern)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!("line {}: `{}`: {}", n + 1, line, e.kind()))?;
            rules.push((glob.compile_matcher(), !include));
        }
        Ok(Self { rules })
    }

    /// Whether the build leaves out this path (relative to the context, `/`-separated).
    pub fn excludes(&self, path: &str) -> bool {
        let mut excluded = false;
        for (glob, exclude) in &self.rules {
            if excluded == *exclude {
                continue;
            }
            let mut prefix = path;
            let hit = loop {
                if glob.is_match(prefix) {
                    break true;
                }
                match prefix.rsplit_once('/') {
                    Some((parent, _)) => prefix = parent,
                    None => break false,
                }
            };
            if hit {
                excluded = *exclude;
            }
        }
        excluded
    }

    /// Whether a `!` line could bring back something inside an excluded folder: then the folder
    /// must still be walked.
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(_, exclude)| !exclude)
    }
}

/// Go's `filepath.Clean` on a pattern, as Docker does, without the leading `/`.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

// ---------------------------------------------------------------------------------------------
// The inputs' hash

/// One path of the build context that the build sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the context, `/`-separated.
    pub path: String,
    pub kind: EntryKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File { executable: bool, sha256: [u8; 32] },
    Symlink { target: String },
}

/// Everything a build depends on that this tool can see.
pub struct Inputs<'a> {
    /// Sorted by path.
    pub entries: &'a [Entry],
    pub dockerfile: &'a [u8],
    pub build_args: &'a BTreeMap<String, String>,
    pub platform: Platform,
    /// Under `lambda.trigger.type: bridge`: the SHA-256 of the supervisor the layer adds (the
    /// image is the worker's and that layer). `None` leaves the tag as it always was.
    pub bridge: Option<[u8; 32]>,
}

/// The image's tag: `src-` and the first 32 hex digits of a SHA-256 over the inputs. Equal
/// inputs give the same tag on any machine; a file that `.dockerignore` excludes is not an input.
pub fn tag(inputs: &Inputs<'_>) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(b"replatform image inputs v1");
    field(inputs.platform.as_str().as_bytes());
    field(inputs.dockerfile);
    for (k, v) in inputs.build_args {
        field(k.as_bytes());
        field(v.as_bytes());
    }
    for e in inputs.entries {
        field(e.path.as_bytes());
        match &e.kind {
            EntryKind::Dir => field(b"d"),
            EntryKind::File { executable, sha256 } => {
                field(if *executable { b"x" } else { b"f" });
                field(sha256);
            }
            EntryKind::Symlink { target } => {
                field(b"l");
                field(target.as_bytes());
            }
        }
    }
    if let Some(sha) = &inputs.bridge {
        field(b"replatform-bridge layer v1");
        field(sha);
    }
    format!("src-{}", &hex(&h.finalize())[..32])
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256:<hex>` of a manifest's bytes: the digest a registry names it by.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

// ---------------------------------------------------------------------------------------------
// Builders

/// One child process to run: the program and its arguments, and the environment it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Command {
    fn new(program: &str, args: Vec<String>) -> Self {
        Self {
            program: program.to_string(),
            args,
            env: Vec::new(),
        }
    }

    /// As a person would type it (for messages; the arguments never hold a secret).
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What one build needs.
pub struct BuildSpec<'a> {
    pub context: &'a str,
    pub dockerfile: &'a str,
    /// `host/repository:tag`
    pub image: &'a str,
    pub platform: Platform,
    pub build_args: &'a BTreeMap<String, String>,
}

pub fn program(b: Builder) -> &'static str {
    match b {
        Builder::Docker => "docker",
        Builder::Podman => "podman",
        Builder::Buildah => "buildah",
        Builder::Finch => "finch",
    }
}

/// What to install when the builder is missing.
pub fn install_hint(b: Builder) -> &'static str {
    match b {
        Builder::Docker => "install Docker Engine or Docker Desktop (https://docs.docker.com/engine/install/), or set `image.builder` to podman, buildah or finch",
        Builder::Podman => "install Podman (`apt-get install podman`, `brew install podman`), or set `image.builder` to another builder",
        Builder::Buildah => "install Buildah (`apt-get install buildah`, `dnf install buildah`), or set `image.builder` to another builder",
        Builder::Finch => "install Finch (https://github.com/runfinch/finch), or set `image.builder` to another builder",
    }
}

/// The build. With docker's buildx, `--provenance=false --sbom=false` keep the result one image
/// manifest, which Lambda accepts (docs/pitfalls.md#p1); podman and buildah write Docker's v2
/// format.
pub fn build(b: Builder, spec: &BuildSpec<'_>, buildx: bool) -> Command {
    let mut args: Vec<String> = Vec::new();
    match b {
        Builder::Docker if buildx => args.extend(
            [
                "buildx",
                "build",
                "--provenance=false",
                "--sbom=false",
                "--load",
            ]
            .map(String::from),
        ),
        Builder::Docker | Builder::Finch => args.push("build".into()),
        Builder::Podman | Builder::Buildah => {
            args.extend(["build", "--format", "docker"].map(String::from))
        }
    }
    args.extend([
        "--platform".into(),
        spec.platform.as_str().into(),
        "--file".into(),
        spec.dockerfile.into(),
        "--tag".into(),
        spec.image.into(),
    ]);
    for (k, v) in spec.build_args {
        args.push("--build-arg".into());
        args.push(format!("{k}={v}"));
    }
    args.push(spec.context.into());
    Command::new(program(b), args)
}

/// Login with the password on stdin (docs/pitfalls.md#p4): it is never an argument.
pub fn login(b: Builder, host: &str, user: &str, plain_http: bool) -> Command {
    let mut args = vec!["login".to_string()];
    if plain_http {
        match b {
            Builder::Podman | Builder::Buildah => args.push("--tls-verify=false".into()),
            Builder::Finch => args.push("--insecure".into()),
            // Docker treats loopback registries as plain HTTP by itself.
            Builder::Docker => {}
        }
    }
    args.extend([
        "--username".into(),
        user.into(),
        "--password-stdin".into(),
        host.into(),
    ]);
    Command::new(program(b), args)
}

pub fn push(b: Builder, image: &str, plain_http: bool) -> Command {
    let mut args = vec!["push".to_string()];
    match b {
        Builder::Podman | Builder::Buildah => {
            args.extend(["--format", "v2s2"].map(String::from));
            if plain_http {
                args.push("--tls-verify=false".into());
            }
        }
        Builder::Finch if plain_http => args.push("--insecure-registry".into()),
        Builder::Docker | Builder::Finch => {}
    }
    args.push(image.into());
    Command::new(program(b), args)
}

/// Where login keeps the registry credential: a folder of this run's own, removed at its end,
/// never the user's `~/.docker/config.json`.
pub fn with_auth_dir(mut c: Command, b: Builder, dir: &str) -> Command {
    match b {
        Builder::Docker | Builder::Finch => c.env.push(("DOCKER_CONFIG".into(), dir.into())),
        Builder::Podman | Builder::Buildah => c
            .env
            .push(("REGISTRY_AUTH_FILE".into(), format!("{dir}/auth.json"))),
    }
    c
}

/// Docker, Podman and Buildah speak plain HTTP to a registry on this machine, TLS elsewhere.
pub fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    // Libcore's address type: parsing text, with no socket anywhere near (the core stays pure).
    name == "localhost"
        || name == "::1"
        || name
            .parse::<::core::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

// ---------------------------------------------------------------------------------------------
// The bridge's layer (docs/bridge.md): under `lambda.trigger.type: bridge` the user's image is
// built as `<image>-worker`, and the image both stacks run is that plus one layer holding the
// supervisor and the worker's recorded ENTRYPOINT, CMD and WORKDIR.

/// The folder of the layer's build context that is copied to `core::bridge::DIR`.
pub const LAYER_DIR: &str = "replatform-bridge";
/// The supervisor's file name, in the layer and in the folders it is looked for in.
pub const SUPERVISOR: &str = "replatform-bridge";
/// The variable that names the folder of the supervisor's builds (`<arch>/replatform-bridge`).
pub const BRIDGE_DIR_VAR: &str = "REPLATFORM_BRIDGE_DIR";

/// The architecture folder of the supervisor's build for a platform (`scripts/build-bridge`).
pub fn bridge_arch(p: Platform) -> &'static str {
    match p {
        Platform::Amd64 => "amd64",
        Platform::Arm64 => "arm64",
    }
}

/// Where the supervisor for `arch` is looked for, in order: `$REPLATFORM_BRIDGE_DIR/<arch>`,
/// then next to this executable (`bridge/<arch>`), then `../bridge/<arch>` (what
/// `scripts/build-bridge` writes into target/), then `../share/replatform/bridge/<arch>`.
pub fn supervisor_candidates(
    bridge_dir: Option<&std::path::Path>,
    exe_dir: Option<&std::path::Path>,
    arch: &str,
) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Some(d) = bridge_dir {
        out.push(d.join(arch).join(SUPERVISOR));
    }
    if let Some(e) = exe_dir {
        out.push(e.join("bridge").join(arch).join(SUPERVISOR));
        out.push(e.join("..").join("bridge").join(arch).join(SUPERVISOR));
        out.push(
            e.join("..")
                .join("share")
                .join("replatform")
                .join("bridge")
                .join(arch)
                .join(SUPERVISOR),
        );
    }
    out
}

/// The image the user's Dockerfile builds under the bridge; the layer goes on top of it.
pub fn worker_image(image: &str) -> String {
    format!("{image}-worker")
}

/// Reads an image's configuration: `image inspect` (docker, podman, finch: a JSON list whose
/// entries have `.Config`), `buildah inspect --type image` (a JSON object with `.OCIv1.config`).
pub fn inspect(b: Builder, image: &str) -> Command {
    let args = match b {
        Builder::Buildah => vec![
            "inspect".into(),
            "--type".into(),
            "image".into(),
            image.into(),
        ],
        Builder::Docker | Builder::Podman | Builder::Finch => {
            vec!["image".into(), "inspect".into(), image.into()]
        }
    };
    Command::new(program(b), args)
}

/// The image's own ENTRYPOINT, CMD and WORKDIR as its build left them: `worker.json` in the
/// layer, read by the supervisor for `--image-entrypoint`, `--image-cmd` and `--image-workdir`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WorkerParts {
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub workdir: String,
}

/// The parts, from what [`inspect`] printed.
pub fn worker_parts(inspect_json: &str) -> Result<WorkerParts, String> {
    let doc: serde_json::Value = serde_json::from_str(inspect_json)
        .map_err(|e| format!("the image's inspection is not JSON: {e}"))?;
    let one = match &doc {
        serde_json::Value::Array(items) => items
            .first()
            .ok_or("the image's inspection lists no image")?,
        other => other,
    };
    let config = one
        .get("Config")
        .or_else(|| one.get("OCIv1").and_then(|o| o.get("config")))
        .or_else(|| one.get("config"))
        .filter(|c| c.is_object());
    let Some(config) = config else {
        // An image with nothing set (`FROM scratch` and a COPY) may have no config at all.
        if one.is_object() {
            return Ok(WorkerParts::default());
        }
        return Err("the image's inspection has no configuration (`.Config`)".into());
    };
    let list = |key: &str| -> Result<Option<Vec<String>>, String> {
        match config.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| format!("the image's {key} is not a list of strings")),
            Some(serde_json::Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(_) => Err(format!("the image's {key} is not a list of strings")),
        }
    };
    Ok(WorkerParts {
        entrypoint: list("Entrypoint")?,
        cmd: list("Cmd")?,
        workdir: config
            .get("WorkingDir")
            .and_then(|w| w.as_str())
            .unwrap_or_default()
            .to_string(),
    })
}

/// The layer's Dockerfile: the worker's image and one COPY, its ENTRYPOINT and CMD kept, so the
/// image runs on ECS exactly as the worker's.
pub fn layer_dockerfile(worker_image: &str) -> String {
    format!(
        "FROM {worker_image}\nCOPY {LAYER_DIR}/ {}/\n",
        super::bridge::DIR
    )
}

// ---------------------------------------------------------------------------------------------
// Manifests

/// What a manifest request accepts: every kind, so that a wrong one is seen and refused rather
/// than converted by the registry.
pub const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";

const SINGLE: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    pub message: String,
    pub hint: String,
}

/// Lambda runs one single-platform image manifest; an image index (several platforms, or one
/// with attestations) or an attestation manifest is refused at deploy time (docs/pitfalls.md#p1).
/// The media type is the manifest's own `mediaType`, else the registry's `Content-Type`.
pub fn check_manifest(content_type: Option<&str>, body: &[u8]) -> Result<String, ManifestError> {
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| ManifestError {
        message: format!("the registry's manifest is not JSON: {e}"),
        hint: "check that `image.registry` is an OCI registry".into(),
    })?;
    let media_type = doc["mediaType"]
        .as_str()
        .or(content_type.map(|c| c.split(';').next().unwrap_or(c).trim()))
        .unwrap_or("")
        .to_string();
    let attestation = doc["layers"].as_array().is_some_and(|ls| {
        ls.iter().any(|l| {
            l["mediaType"]
                .as_str()
                .is_some_and(|m| m.contains("in-toto"))
        })
    }) || doc["artifactType"].as_str().is_some();
    if SINGLE.contains(&media_type.as_str()) && !attestation {
        return Ok(media_type);
    }
    let what = if attestation {
        "an attestation manifest".to_string()
    } else if media_type.contains("index") || media_type.contains("list") {
        format!("an image index (`{media_type}`: several platforms, or an image with attestations)")
    } else {
        format!(
            "of media type `{}`",
            if media_type.is_empty() {
                "unknown"
            } else {
                &media_type
            }
        )
    };
    Err(ManifestError {
        message: format!("the pushed image is {what}; Lambda runs only a single-platform image manifest (docs/pitfalls.md#p1)"),
        hint: "build one platform without attestations: buildx needs `--provenance=false --sbom=false` (replatform passes them), and Docker's containerd image store adds attestations to plain builds too: turn it off, or set `image.builder` to podman or buildah".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> Dockerignore {
        Dockerignore::parse(text).unwrap()
    }

    #[test]
    fn dockerignore_follows_dockers_rules() {
        let d = ignore("# comment\n\n/.git\n*.pyc\nbuild/\n**/__pycache__\ndocs/*.md\n!docs/README.md\n./tmp/../cache\n");
        for (path, out) in [
            (".git", true),
            (".git/config", true),
            ("app.pyc", true),
            // `*` stays within one segment, from the root: Docker, unlike git, does not match
            // deeper.
            ("pkg/app.pyc", false),
            ("build/x/y", true),
            ("pkg/__pycache__/m.pyc", true),
            ("__pycache__", true),
            ("docs/guide.md", true),
            ("docs/README.md", false),
            ("docs/sub/guide.md", false),
            ("cache/blob", true),
            ("app.py", false),
        ] {
            assert_eq!(d.excludes(path), out, "{path}");
        }
        assert!(d.has_exceptions());
        assert!(!ignore("*.log").has_exceptions());
    }

    #[test]
    fn the_last_matching_line_wins() {
        let d = ignore("*\n!app.py\n!src\nsrc/secret.txt\n");
        assert!(d.excludes("README.md"));
        assert!(!d.excludes("app.py"));
        assert!(!d.excludes("src/m.py"));
        assert!(d.excludes("src/secret.txt"));
    }

    #[test]
    fn a_bad_pattern_names_its_line() {
        let e = Dockerignore::parse("ok\n[z-a\n").unwrap_err();
        assert!(e.starts_with("line 2: `[z-a`"), "{e}");
    }

    fn file(path: &str, content: &[u8]) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File {
                executable: false,
                sha256: Sha256::digest(content).into(),
            },
        }
    }

    fn tag_of(
        entries: &[Entry],
        dockerfile: &str,
        args: &[(&str, &str)],
        platform: Platform,
    ) -> String {
        let build_args = args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tag(&Inputs {
            entries,
            dockerfile: dockerfile.as_bytes(),
            build_args: &build_args,
            platform,
            bridge: None,
        })
    }

    #[test]
    fn the_bridge_changes_the_tag_only_when_it_is_there() {
        let files = vec![file("app.py", b"print(1)")];
        let build_args = BTreeMap::new();
        let with = |bridge| {
            tag(&Inputs {
                entries: &files,
                dockerfile: b"FROM x",
                build_args: &build_args,
                platform: Platform::Amd64,
                bridge,
            })
        };
        let plain = with(None);
        assert_eq!(plain, tag_of(&files, "FROM x", &[], Platform::Amd64));
        let a = with(Some([1; 32]));
        assert_ne!(plain, a, "the layer is part of the image");
        assert_ne!(a, with(Some([2; 32])), "another supervisor, another image");
    }

    #[test]
    fn a_tag_without_the_bridge_is_as_it_always_was() {
        // Fixed: the tags of images already pushed must not move.
        let files = vec![file("app.py", b"print(1)")];
        assert_eq!(
            tag_of(&files, "FROM x", &[("A", "1")], Platform::Amd64),
            "src-a5d17abdd134c5cd86d97d41c2b5c4d2"
        );
    }

    #[test]
    fn the_supervisor_is_looked_for_in_order() {
        use std::path::{Path, PathBuf};
        let c = supervisor_candidates(Some(Path::new("/b")), Some(Path::new("/x/bin")), "arm64");
        let want: Vec<PathBuf> = [
            "/b/arm64/replatform-bridge",
            "/x/bin/bridge/arm64/replatform-bridge",
            "/x/bin/../bridge/arm64/replatform-bridge",
            "/x/bin/../share/replatform/bridge/arm64/replatform-bridge",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(c, want);
        assert_eq!(
            supervisor_candidates(None, Some(Path::new("/x")), "amd64").len(),
            3
        );
        assert_eq!(bridge_arch(Platform::Arm64), "arm64");
    }

    #[test]
    fn the_workers_parts_come_from_each_builders_inspection() {
        let docker = r#"[{"Id": "sha256:1", "Config": {"Env": ["PATH=/bin"], "Entrypoint": ["python", "-u"], "Cmd": ["app.py"], "WorkingDir": "/app"}}]"#;
        assert_eq!(
            worker_parts(docker).unwrap(),
            WorkerParts {
                entrypoint: Some(vec!["python".into(), "-u".into()]),
                cmd: Some(vec!["app.py".into()]),
                workdir: "/app".into()
            }
        );
        let buildah =
            r#"{"Type": "buildah 0.0.1", "OCIv1": {"config": {"Cmd": ["/worker"]}}, "Docker": {}}"#;
        assert_eq!(
            worker_parts(buildah).unwrap(),
            WorkerParts {
                entrypoint: None,
                cmd: Some(vec!["/worker".into()]),
                workdir: String::new()
            }
        );
        let scratch = r#"[{"Config": {"Entrypoint": null, "Cmd": null, "WorkingDir": ""}}]"#;
        assert_eq!(worker_parts(scratch).unwrap(), WorkerParts::default());
        assert!(worker_parts("[]").is_err());
        assert!(worker_parts("nope").is_err());
        let json = serde_json::to_string(&worker_parts(scratch).unwrap()).unwrap();
        assert_eq!(json, r#"{"entrypoint":null,"cmd":null,"workdir":""}"#);
    }

    #[test]
    fn the_layer_keeps_the_workers_image_and_adds_one_copy() {
        assert_eq!(
            layer_dockerfile("r/w:src-1-worker"),
            "FROM r/w:src-1-worker\nCOPY replatform-bridge/ /opt/replatform-bridge/\n"
        );
        assert_eq!(worker_image("h/r:src-1"), "h/r:src-1-worker");
        assert_eq!(
            inspect(Builder::Buildah, "i").display(),
            "buildah inspect --type image i"
        );
        assert_eq!(
            inspect(Builder::Podman, "i").display(),
            "podman image inspect i"
        );
    }

    #[test]
    fn the_tag_follows_every_input_and_nothing_else() {
        let files = vec![
            file("app.py", b"print(1)"),
            file("requirements.txt", b"boto3"),
        ];
        let base = tag_of(&files, "FROM x", &[("A", "1")], Platform::Amd64);
        assert!(base.starts_with("src-") && base.len() == 36, "{base}");
        assert_eq!(
            base,
            tag_of(&files, "FROM x", &[("A", "1")], Platform::Amd64),
            "equal inputs, equal tags"
        );
        let edited = vec![
            file("app.py", b"print(2)"),
            file("requirements.txt", b"boto3"),
        ];
        let renamed = vec![
            file("main.py", b"print(1)"),
            file("requirements.txt", b"boto3"),
        ];
        let mut executable = files.clone();
        executable[0].kind = EntryKind::File {
            executable: true,
            sha256: Sha256::digest(b"print(1)").into(),
        };
        for (what, other) in [
            (
                "a source file",
                tag_of(&edited, "FROM x", &[("A", "1")], Platform::Amd64),
            ),
            (
                "a file name",
                tag_of(&renamed, "FROM x", &[("A", "1")], Platform::Amd64),
            ),
            (
                "a file mode",
                tag_of(&executable, "FROM x", &[("A", "1")], Platform::Amd64),
            ),
            (
                "the Dockerfile",
                tag_of(&files, "FROM y", &[("A", "1")], Platform::Amd64),
            ),
            (
                "a build arg",
                tag_of(&files, "FROM x", &[("A", "2")], Platform::Amd64),
            ),
            (
                "the platform",
                tag_of(&files, "FROM x", &[("A", "1")], Platform::Arm64),
            ),
        ] {
            assert_ne!(base, other, "{what} changes the tag");
        }
    }

    #[test]
    fn loopback_hosts_speak_plain_http() {
        for (host, plain) in [
            ("127.0.0.1:5000", true),
            ("localhost:5000", true),
            ("[::1]:5000", true),
            ("127.0.0.1", true),
            ("10.0.0.1:5000", false),
            ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", false),
        ] {
            assert_eq!(is_loopback(host), plain, "{host}");
        }
    }

    #[test]
    fn single_platform_manifests_pass_and_indexes_do_not() {
        let docker = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{},"layers":[]}"#;
        assert_eq!(
            check_manifest(None, docker).unwrap(),
            "application/vnd.docker.distribution.manifest.v2+json"
        );
        let oci = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[]}"#;
        assert_eq!(
            check_manifest(Some("application/vnd.oci.image.manifest.v1+json"), oci).unwrap(),
            "application/vnd.oci.image.manifest.v1+json"
        );
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        let e = check_manifest(None, index).unwrap_err();
        assert!(e.message.contains("an image index"), "{e:?}");
        assert!(e.hint.contains("--provenance=false"), "{e:?}");
        let list = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#;
        assert!(check_manifest(None, list)
            .unwrap_err()
            .message
            .contains("an image index"));
        let attestation = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"mediaType":"application/vnd.in-toto+json"}]}"#;
        assert!(check_manifest(None, attestation)
            .unwrap_err()
            .message
            .contains("attestation manifest"));
        assert!(check_manifest(None, b"<html>")
            .unwrap_err()
            .message
            .contains("not JSON"));
    }

    #[test]
    fn digests_are_sha256_of_the_bytes() {
        assert_eq!(
            digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}

//! The bridge's layer (docs/bridge.md), its effects: finding the supervisor's build for the
//! image's platform, reading the worker image's ENTRYPOINT, CMD and WORKDIR, and building the
//! image both stacks run: the worker's image plus one layer with the supervisor and
//! `worker.json`. Nothing is downloaded: the supervisor comes from this machine.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::core::config::{Builder, Platform};
use crate::core::image::{self as pure, BuildSpec};
use crate::error::Failure;
use crate::ui::progress::Lines;

/// The supervisor's build for one platform, and its SHA-256 (an input of the image's tag).
#[derive(Clone, Debug)]
pub struct Supervisor {
    pub path: PathBuf,
    pub sha256: [u8; 32],
}

/// The supervisor for `platform`: the first of [`pure::supervisor_candidates`] that is a file.
/// Missing: a failure that says where it looked and how to build it.
pub fn find(platform: Platform) -> Result<Supervisor, Failure> {
    let arch = pure::bridge_arch(platform);
    let bridge_dir = std::env::var_os(pure::BRIDGE_DIR_VAR)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    let candidates = pure::supervisor_candidates(bridge_dir.as_deref(), exe_dir.as_deref(), arch);
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        let looked = candidates
            .iter()
            .map(|p| format!("\n  {}", p.display()))
            .collect::<String>();
        return Err(Failure::new(format!(
            "lambda.trigger.type is bridge, and the supervisor for {} (replatform-bridge) is not on this machine; looked in:{looked}",
            platform.as_str()
        ))
        .hint(format!(
            "build it with `scripts/build-bridge {arch}` (it lands in target/bridge/{arch}/), or set {}=DIR to a folder holding {arch}/replatform-bridge",
            pure::BRIDGE_DIR_VAR
        )));
    };
    let sha256 = hash(path).map_err(|e| {
        Failure::new(format!(
            "cannot read the supervisor `{}`: {e}",
            path.display()
        ))
    })?;
    Ok(Supervisor {
        path: path.clone(),
        sha256,
    })
}

fn hash(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// The worker image's recorded parts, read with the builder's `inspect`.
pub async fn worker_parts(builder: Builder, image: &str) -> Result<pure::WorkerParts, Failure> {
    let cmd = pure::inspect(builder, image);
    let out = tokio::process::Command::new(&cmd.program)
        .args(&cmd.args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| {
            Failure::new(format!(
                "reading the worker image: `{}`: {e}",
                cmd.display()
            ))
        })?;
    if !out.status.success() {
        return Err(Failure::new(format!(
            "reading the worker image: `{}` failed: {}",
            cmd.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    pure::worker_parts(&String::from_utf8_lossy(&out.stdout)).map_err(|e| {
        Failure::new(format!("reading the worker image `{image}`: {e}")).hint(
            "the bridge needs the image's ENTRYPOINT, CMD and WORKDIR as the builder records them",
        )
    })
}

/// The layer's build context in a folder of its own: the Dockerfile, and
/// `replatform-bridge/` with the supervisor (mode 0755) and `worker.json`.
pub fn context(
    supervisor: &Supervisor,
    parts: &pure::WorkerParts,
    worker_image: &str,
) -> Result<tempfile::TempDir, Failure> {
    let fail = |what: &str, e: std::io::Error| {
        Failure::new(format!(
            "cannot write the bridge layer's build context ({what}): {e}"
        ))
    };
    let dir = tempfile::Builder::new()
        .prefix("replatform-bridge-layer-")
        .tempdir()
        .map_err(|e| fail("a folder", e))?;
    let layer = dir.path().join(pure::LAYER_DIR);
    std::fs::create_dir(&layer).map_err(|e| fail("its folder", e))?;
    let bin = layer.join(pure::SUPERVISOR);
    std::fs::copy(&supervisor.path, &bin).map_err(|e| fail("the supervisor", e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| fail("the supervisor's mode", e))?;
        std::fs::set_permissions(&layer, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| fail("the folder's mode", e))?;
    }
    let json = serde_json::to_vec(parts).unwrap_or_default();
    let file = layer.join("worker.json");
    std::fs::write(&file, json).map_err(|e| fail("worker.json", e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))
            .map_err(|e| fail("worker.json's mode", e))?;
    }
    std::fs::write(
        dir.path().join("Dockerfile"),
        pure::layer_dockerfile(worker_image),
    )
    .map_err(|e| fail("the Dockerfile", e))?;
    Ok(dir)
}

/// Builds `image` from `worker_image` and the layer: reads the worker's parts, writes the
/// context, runs the build.
#[allow(clippy::too_many_arguments)]
pub async fn add_layer(
    builder: Builder,
    buildx: bool,
    platform: Platform,
    supervisor: &Supervisor,
    worker_image: &str,
    image: &str,
    lines: &dyn Lines,
) -> Result<pure::WorkerParts, Failure> {
    let parts = worker_parts(builder, worker_image).await?;
    let dir = context(supervisor, &parts, worker_image)?;
    let context_s = dir.path().display().to_string();
    let dockerfile_s = dir.path().join("Dockerfile").display().to_string();
    let no_args = Default::default();
    let spec = BuildSpec {
        context: &context_s,
        dockerfile: &dockerfile_s,
        image,
        platform,
        build_args: &no_args,
    };
    super::run(
        builder,
        &pure::build(builder, &spec, buildx),
        None,
        lines,
        "adding the bridge's layer to the image",
        "the builder's lines above say what failed; the layer is `FROM` the worker's image and one COPY",
    )
    .await?;
    drop(dir);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_holds_the_supervisor_executable_and_the_workers_parts() {
        let src = tempfile::tempdir().unwrap();
        let bin = src.path().join("replatform-bridge");
        std::fs::write(&bin, b"\x7fELF not really").unwrap();
        let sup = Supervisor {
            sha256: hash(&bin).unwrap(),
            path: bin,
        };
        let parts = pure::WorkerParts {
            entrypoint: None,
            cmd: Some(vec!["/worker".into()]),
            workdir: "/app".into(),
        };
        let dir = context(&sup, &parts, "r/w:src-1-worker").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let copied = dir.path().join("replatform-bridge/replatform-bridge");
        assert_eq!(
            std::fs::metadata(&copied).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(std::fs::read(&copied).unwrap(), b"\x7fELF not really");
        let json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("replatform-bridge/worker.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"entrypoint": null, "cmd": ["/worker"], "workdir": "/app"})
        );
        assert!(std::fs::read_to_string(dir.path().join("Dockerfile"))
            .unwrap()
            .starts_with("FROM r/w:src-1-worker\n"));
    }
}

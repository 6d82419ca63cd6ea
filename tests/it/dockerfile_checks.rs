//! `validate` on the Dockerfile: the real binary on a copy of the `sqs-worker` example with one
//! trap of docs/pitfalls.md#p3, #p5, #p6 put in its Dockerfile (snapshots of the warnings as
//! printed), both examples clean, warnings exit 0 and 1 with `--strict`, the JSON document.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::repo;

fn replatform(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replatform"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("REPLATFORM_TEMPLATES")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A copy of the `sqs-worker` example with its files edited: (file name, edit).
fn worker(edits: &[(&str, &dyn Fn(String) -> String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = repo().join("examples/sqs-worker");
    for entry in std::fs::read_dir(&example).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    for (name, edit) in edits {
        let path = dir.path().join(name);
        let before = std::fs::read_to_string(&path).unwrap();
        let after = edit(before.clone());
        assert_ne!(before, after, "the edit of {name} changed nothing");
        std::fs::write(&path, after).unwrap();
    }
    dir
}

/// `validate`'s stderr for a worker whose files were edited: exit code 0 with the warnings,
/// 1 with `--strict`. The warnings' text is returned for the snapshot.
fn warnings(dir: &tempfile::TempDir, count: usize) -> String {
    let out = replatform(dir.path(), &["validate"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let s = if count == 1 { "" } else { "s" };
    assert!(
        err.ends_with(&format!("replatform.yaml is valid ({count} warning{s})\n")),
        "{err}"
    );
    let strict = replatform(dir.path(), &["validate", "--strict"]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stderr));
    assert!(
        text(&strict.stderr).contains(&format!("error: {count} warning{s} with --strict")),
        "{}",
        text(&strict.stderr)
    );
    err.replace(&dir.path().display().to_string(), "[DIR]")
}

fn edit(f: impl Fn(String) -> String + 'static) -> Box<dyn Fn(String) -> String> {
    Box::new(f)
}

#[test]
fn both_examples_are_clean_with_strict() {
    for (name, config) in crate::common::examples() {
        let dir = config.parent().unwrap();
        let out = replatform(dir, &["validate", "--strict", "-v"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {err}");
        assert!(!err.contains("warning"), "{name}: {err}");
        assert!(
            err.contains("Dockerfile checks: `Dockerfile`, with requirements.txt"),
            "{name}: the Dockerfile was not checked: {err}"
        );
    }
}

#[test]
fn pip_install_user() {
    let change = edit(|d| {
        d.replace(
            "RUN pip install --no-cache-dir",
            "RUN pip install --user --no-cache-dir",
        )
    });
    let dir = worker(&[("Dockerfile", &*change)]);
    insta::assert_snapshot!("pip_install_user", warnings(&dir, 1));
}

#[test]
fn no_runtime_interface_client() {
    let change = edit(|r| r.replace("awslambdaric==3.1.1\n", ""));
    let dir = worker(&[("requirements.txt", &*change)]);
    insta::assert_snapshot!("no_runtime_interface_client", warnings(&dir, 1));

    // Installed by the Dockerfile itself, or a Lambda base image: nothing to say.
    let by_run = edit(|d| {
        d.replace(
            "COPY app.py .",
            "RUN pip install --no-cache-dir awslambdaric==3.1.1\nCOPY app.py .",
        )
    });
    let dir = worker(&[("requirements.txt", &*change), ("Dockerfile", &*by_run)]);
    let out = replatform(dir.path(), &["validate", "--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn files_lambda_cannot_read() {
    let change = edit(|d| {
        d.replace("COPY app.py .\n", "COPY app.py .\nRUN useradd worker && chown -R worker /app && chmod -R 700 /app\nUSER worker\n")
    });
    let dir = worker(&[("Dockerfile", &*change)]);
    insta::assert_snapshot!("chmod_700_on_the_app", warnings(&dir, 1));

    let root = edit(|d| d.replace("WORKDIR /app", "WORKDIR /root"));
    let dir = worker(&[("Dockerfile", &*root)]);
    insta::assert_snapshot!("files_under_root", warnings(&dir, 1));
}

#[test]
fn start_up_writes_outside_tmp() {
    let change = edit(|d| {
        d.replace(
            "CMD [\"python\", \"app.py\"]",
            "CMD mkdir -p /app/state \\\n    && exec python app.py >> /var/log/worker.log 2>&1",
        )
    });
    let dir = worker(&[("Dockerfile", &*change)]);
    insta::assert_snapshot!("start_up_writes_outside_tmp", warnings(&dir, 1));
}

#[test]
fn architecture_other_than_image_platform() {
    let flag = edit(|d| {
        d.replace(
            "FROM ${BASE_IMAGE}",
            "FROM --platform=linux/arm64 ${BASE_IMAGE}",
        )
    });
    let dir = worker(&[("Dockerfile", &*flag)]);
    insta::assert_snapshot!("platform_flag", warnings(&dir, 1));

    // The base image's name pins arm64, and the config says amd64 (the default).
    let name = edit(|d| {
        d.replace(
            "ARG BASE_IMAGE=python:3.12-slim",
            "ARG BASE_IMAGE=arm64v8/python:3.12-slim",
        )
    });
    let dir = worker(&[("Dockerfile", &*name)]);
    insta::assert_snapshot!("arch_pinned_by_name", warnings(&dir, 1));

    // The same with `image.platform: linux/arm64`: right.
    let arm = edit(|c| {
        c.replace(
            "image:\n  context: .\n",
            "image:\n  context: .\n  platform: linux/arm64\n",
        )
    });
    let dir = worker(&[("Dockerfile", &*name), ("replatform.yaml", &*arm)]);
    let out = replatform(dir.path(), &["validate", "--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_named_dockerfile_that_is_missing() {
    let change = edit(|c| {
        c.replace(
            "image:\n  context: .\n",
            "image:\n  context: .\n  dockerfile: Dockerfile.lambda\n",
        )
    });
    let dir = worker(&[("replatform.yaml", &*change)]);
    insta::assert_snapshot!("missing_dockerfile", warnings(&dir, 1));

    // Without a build context, or with neither field set and no Dockerfile (a config checked
    // on its own): nothing to check, nothing said.
    let away = edit(|c| c.replace("image:\n  context: .\n", "image:\n  context: ../not-here\n"));
    let dir = worker(&[("replatform.yaml", &*away)]);
    let out = replatform(dir.path(), &["validate", "--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = worker(&[]);
    std::fs::remove_file(dir.path().join("Dockerfile")).unwrap();
    let out = replatform(dir.path(), &["validate", "--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn json_names_the_dockerfile() {
    let change = edit(|d| {
        d.replace(
            "RUN pip install --no-cache-dir",
            "RUN pip install --user --no-cache-dir",
        )
    });
    let dir = worker(&[("Dockerfile", &*change)]);
    let out = replatform(dir.path(), &["validate", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("warning:"),
        "json mode keeps diagnostics in the document: {}",
        text(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (doc["valid"].as_bool(), doc["warnings"].as_u64()),
        (Some(true), Some(1))
    );
    let d = &doc["diagnostics"][0];
    assert_eq!(
        (d["code"].as_str(), d["file"].as_str(), d["path"].as_str()),
        (
            Some("pip-user"),
            Some("Dockerfile"),
            Some("image.dockerfile")
        )
    );
    assert_eq!(
        (d["location"][0].as_u64(), d["location"][1].as_u64()),
        (Some(16), Some(17))
    );

    let strict = replatform(dir.path(), &["validate", "--output", "json", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&strict.stdout).unwrap();
    assert_eq!(doc["valid"], false);
}

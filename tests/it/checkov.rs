//! checkov (from PyPI, its own venv: `scripts/test-tools.sh` installs it) on every rendered
//! template of every example and every config variation: no failed check. A check that does not fit
//! the design is skipped in the resource's `Metadata.checkov.skip`, with the reason beside it; the
//! test holds each skip to a reason.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::common::{parse, render_config, render_everything, write_all};
use replatform::core::render::Image;
use serde_json::Value;

fn checkov_exe() -> String {
    std::env::var("CHECKOV")
        .expect("CHECKOV: the path of checkov (scripts/test installs it and sets it)")
}

fn checkov() -> Command {
    let exe = checkov_exe();
    let probe = Command::new(&exe).arg("--version").output();
    match probe {
        Ok(o) if o.status.success() => Command::new(exe),
        Ok(o) => panic!("`{exe} --version` failed: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("`{exe}` does not run ({e}): `scripts/test` installs checkov (scripts/test-tools.sh), or set CHECKOV to its path"),
    }
}

/// checkov's CloudFormation report on every template in `dir`, and whether any check failed.
/// Offline: `--skip-download` takes only the checks that ship with the package, nothing from the
/// Prisma Cloud platform.
fn scan(dir: &Path) -> (Value, bool) {
    let started = Instant::now();
    let out = checkov()
        .args([
            "--framework",
            "cloudformation",
            "--skip-download",
            "--compact",
            "--output",
            "json",
            "--directory",
        ])
        .arg(dir)
        .output()
        .unwrap();
    eprintln!(
        "checkov took {:.1?} on {}",
        started.elapsed(),
        dir.display()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Exit 0: nothing failed; 1: failed checks. Anything else is checkov itself failing.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "checkov failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov's output is not JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(
        report["check_type"], "cloudformation",
        "one CloudFormation report expected:\n{stdout}"
    );
    assert_eq!(
        report["summary"]["parsing_errors"], 0,
        "checkov could not parse templates:\n{}",
        report["results"]["parsing_errors"]
    );
    let s = &report["summary"];
    eprintln!(
        "checkov {}: {} passed, {} failed, {} skipped, {} resources",
        s["checkov_version"], s["passed"], s["failed"], s["skipped"], s["resource_count"]
    );
    (report, out.status.code() == Some(1))
}

fn checks<'a>(report: &'a Value, kind: &str) -> &'a [Value] {
    report["results"][kind]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

/// `CKV_AWS_27 Queue (file.yaml): Ensure all data stored in the SQS queue is encrypted`
fn describe(c: &Value) -> String {
    let file = c["file_path"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/');
    let resource = c["resource"].as_str().unwrap_or_default();
    format!(
        "{} {} ({file}): {}",
        c["check_id"].as_str().unwrap_or_default(),
        resource.rsplit('.').next().unwrap_or(resource),
        c["check_name"].as_str().unwrap_or_default()
    )
}

#[test]
fn every_rendered_template_passes_checkov() {
    let dir = tempfile::tempdir().unwrap();
    let files = render_everything(dir.path());
    let (report, any_failed) = scan(dir.path());

    let failed: Vec<String> = checks(&report, "failed_checks")
        .iter()
        .map(describe)
        .collect();
    assert!(
        failed.is_empty() && !any_failed,
        "checkov: {} failed checks:\n{}",
        failed.len(),
        failed.join("\n")
    );

    // Every file was read and checked: a template checkov did not recognise would pass vacuously.
    let scanned: BTreeSet<String> = ["passed_checks", "skipped_checks"]
        .iter()
        .flat_map(|k| checks(&report, k))
        .filter_map(|c| c["file_path"].as_str())
        .map(|p| p.trim_start_matches('/').to_string())
        .collect();
    let written: BTreeSet<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        scanned, written,
        "checkov did not check every rendered template"
    );

    // A skip carries its reason.
    for c in checks(&report, "skipped_checks") {
        let reason = c["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reason.split_whitespace().count() >= 5,
            "{} is skipped without a reason: {reason:?}",
            describe(c)
        );
    }
}

/// The check above can fail: templates weakened in two ways are reported, each for what was
/// taken out. The ECS stack's log group loses its retention (a real weakening), and the Lambda
/// stack's queue loses the skip that explains its encryption.
#[test]
fn checkov_reports_weakened_templates() {
    let dir = tempfile::tempdir().unwrap();
    let mut stacks = render_config(&parse(crate::common::BASE), &Image::Placeholder);
    for s in &mut stacks {
        let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&s.template).unwrap();
        let resources = doc["Resources"].as_mapping_mut().unwrap();
        let (id, key) = if s.kind == "ecs" {
            ("LogGroup", "RetentionInDays")
        } else {
            ("Queue", "Metadata")
        };
        let resource = resources.get_mut(id).unwrap().as_mapping_mut().unwrap();
        let target = if key == "Metadata" {
            resource
        } else {
            resource
                .get_mut("Properties")
                .unwrap()
                .as_mapping_mut()
                .unwrap()
        };
        assert!(
            target.remove(key).is_some(),
            "{} has no {id} {key} to take out",
            s.name
        );
        s.template = serde_yaml_ng::to_string(&doc).unwrap();
    }
    let files = write_all(dir.path(), &stacks, "weakened--");
    assert_eq!(files.len(), 2);

    let (report, any_failed) = scan(dir.path());
    let failed: BTreeSet<String> = checks(&report, "failed_checks")
        .iter()
        .map(describe)
        .collect();
    let expected: BTreeSet<String> = [
        "CKV_AWS_66 LogGroup (weakened--orders-worker-ecs.yaml): Ensure that CloudWatch Log Group specifies retention days",
        "CKV_AWS_27 Queue (weakened--orders-worker-lambda.yaml): Ensure all data stored in the SQS queue is encrypted",
    ]
    .map(String::from)
    .into();
    assert!(any_failed, "checkov exited 0 on weakened templates");
    assert_eq!(failed, expected);
}

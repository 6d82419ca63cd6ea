//! `cfn-lint` (from PyPI; `scripts/test` installs it) on every rendered template of every example
//! and every config variation: no errors, no warnings, not even informational findings.

use std::process::Command;

use crate::common::{examples, parse, render_config, variations, write_all};
use replatform::core::image_ref;
use replatform::core::render::Image;

fn cfn_lint() -> Command {
    let exe = std::env::var("CFN_LINT").unwrap_or_else(|_| "cfn-lint".into());
    let probe = Command::new(&exe).arg("--version").output();
    match probe {
        Ok(o) if o.status.success() => Command::new(exe),
        _ => panic!(
            "`{exe}` does not run: `scripts/test` installs cfn-lint, or set CFN_LINT to its path"
        ),
    }
}

#[test]
fn every_rendered_template_passes_cfn_lint() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, path) in examples() {
        let c = parse(&std::fs::read_to_string(&path).unwrap());
        files.extend(write_all(
            dir.path(),
            &render_config(&c, &Image::Placeholder),
            &format!("{name}--"),
        ));
    }
    let digest = image_ref::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders@sha256:2222222222222222222222222222222222222222222222222222222222222222").unwrap();
    for (name, text) in variations() {
        let c = parse(&text);
        files.extend(write_all(
            dir.path(),
            &render_config(&c, &Image::Placeholder),
            &format!("{name}--"),
        ));
        files.extend(write_all(
            dir.path(),
            &render_config(&c, &Image::Digest(&digest)),
            &format!("{name}-digest--"),
        ));
    }
    assert!(files.len() >= 2 * (2 + 2 * variations().len()));
    // `-c I` adds the informational rules to errors and warnings.
    let out = cfn_lint()
        .args(["--format", "parseable", "-c", "I", "--"])
        .args(&files)
        .output()
        .unwrap();
    let findings = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "cfn-lint found:\n{findings}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The check above can fail: a template with a known mistake is reported.
#[test]
fn cfn_lint_reports_a_broken_template() {
    let dir = tempfile::tempdir().unwrap();
    let c = parse(crate::common::BASE);
    let mut stacks = render_config(&c, &Image::Placeholder);
    stacks[0].template = stacks[0]
        .template
        .replace("Type: AWS::ECS::Service", "Type: AWS::ECS::Servic");
    let files = write_all(dir.path(), &stacks[..1], "broken--");
    let out = cfn_lint()
        .args(["--format", "parseable", "--"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "cfn-lint passed a template with a misspelt resource type"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("AWS::ECS::Servic"));
}

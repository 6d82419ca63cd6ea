//! cfn-guard 3 (crates.io; `scripts/test-tools.sh` builds it) with AWS's Guard Rules Registry rules
//! of the Well-Architected Security and Reliability pillars (copied into `tests/guard-rules`) on
//! every rendered template of every example and every config variation: no failure. A rule that
//! does not fit the design is suppressed in the resource's `Metadata.guard.SuppressedRules`, with
//! its reason in `Metadata.guard.Reasons`; the tests hold each suppression to a reason and to a
//! failure of its rule that it holds back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::common::{parse, render_config, render_everything, repo, write_all};
use replatform::core::render::Image;
use replatform::core::side::Side;
use serde_json::Value;

fn cfn_guard_exe() -> String {
    std::env::var("CFN_GUARD")
        .expect("CFN_GUARD: the path of cfn-guard 3 (scripts/test builds it and sets it)")
}

fn cfn_guard() -> Command {
    let exe = cfn_guard_exe();
    match Command::new(&exe).arg("--version").output() {
        Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).contains(" 3.") => Command::new(exe),
        Ok(o) => panic!("`{exe} --version` is not cfn-guard 3: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("`{exe}` does not run ({e}): `scripts/test` builds cfn-guard (scripts/test-tools.sh), or set CFN_GUARD to its path"),
    }
}

fn rules_dir() -> PathBuf {
    repo().join("tests/guard-rules")
}

/// The rules the registry's files define (`rule NAME when ...` or `rule NAME {`); some files of
/// the registry hold only comments.
fn defined_rules() -> BTreeSet<String> {
    let mut rules = BTreeSet::new();
    for entry in std::fs::read_dir(rules_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "guard") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                if let Some(rest) = line.trim_start().strip_prefix("rule ") {
                    rules.insert(rest.split_whitespace().next().unwrap().to_string());
                }
            }
        }
    }
    assert!(
        rules.len() >= 70,
        "expected the registry's rules in {}, found {rules:?}",
        rules_dir().display()
    );
    rules
}

/// cfn-guard's structured JSON report on every template in `dir` (one entry per file), and
/// whether a rule failed.
fn validate(dir: &Path) -> (Vec<Value>, bool) {
    let started = Instant::now();
    let out = cfn_guard()
        .args([
            "validate",
            "--output-format",
            "json",
            "--show-summary",
            "none",
            "--structured",
            "--rules",
        ])
        .arg(rules_dir())
        .arg("--data")
        .arg(dir)
        .output()
        .unwrap();
    eprintln!(
        "cfn-guard took {:.1?} on {}",
        started.elapsed(),
        dir.display()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit 0: every rule passed or did not apply; 19: a rule failed; 5: a rule or data file did not
    // parse (cfn-guard says so on stderr and goes on).
    assert!(
        matches!(out.status.code(), Some(0 | 19)),
        "cfn-guard failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stderr.trim().is_empty(), "cfn-guard complained:\n{stderr}");
    let report: Vec<Value> = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("cfn-guard's output is not a JSON list ({e}):\n{stdout}"));
    (report, out.status.code() == Some(19))
}

fn file_name(report: &Value) -> String {
    let name = report["name"].as_str().unwrap_or_default();
    Path::new(name)
        .file_name()
        .map_or(name.into(), |n| n.to_string_lossy().into_owned())
}

fn names(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|n| n.as_str())
        .map(String::from)
        .collect()
}

/// Every string in `v` under a key `key`, depth first.
fn strings_under<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                match child {
                    Value::String(s) if k == key => out.push(s),
                    _ => strings_under(child, key, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|child| strings_under(child, key, out)),
        _ => {}
    }
}

/// One line per rule and resource that failed in a file's report: `CLOUDWATCH_LOG_GROUP_ENCRYPTED
/// LogGroup (file.yaml): CloudWatch Log LogsGroup does not have KmsKeyId set.`
fn failures(report: &Value) -> BTreeSet<String> {
    let file = file_name(report);
    let mut out = BTreeSet::new();
    for failed in report["not_compliant"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
    {
        let rule = &failed["Rule"];
        let name = rule["name"].as_str().unwrap_or("?");
        let mut messages = Vec::new();
        strings_under(rule, "custom_message", &mut messages);
        let violation = messages
            .iter()
            .flat_map(|m| m.lines())
            .find_map(|l| l.trim().strip_prefix("Violation:"))
            .map_or_else(
                || messages.first().map_or("", |m| m.trim()).to_string(),
                |v| v.trim().to_string(),
            );
        let mut paths = Vec::new();
        strings_under(rule, "path", &mut paths);
        let resources: BTreeSet<&str> = paths
            .iter()
            .filter_map(|p| p.strip_prefix("/Resources/"))
            .filter_map(|p| p.split('/').next())
            .collect();
        if resources.is_empty() {
            out.insert(format!("{name} ? ({file}): {violation}"));
        }
        for resource in resources {
            out.insert(format!("{name} {resource} ({file}): {violation}"));
        }
    }
    out
}

/// Each resource's suppressed rules, with their reasons, by file and resource id.
fn suppressions(files: &[PathBuf]) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for path in files {
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (id, resource) in doc["Resources"].as_mapping().unwrap() {
            let guard = &resource["Metadata"]["guard"];
            if guard.is_null() {
                continue;
            }
            let key = (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                id.as_str().unwrap().to_string(),
            );
            let suppressed: Vec<String> = guard["SuppressedRules"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{key:?}: Metadata.guard without a SuppressedRules list"))
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            let reasons = guard["Reasons"]
                .as_mapping()
                .unwrap_or_else(|| panic!("{key:?}: Metadata.guard without Reasons"));
            let reasons: BTreeMap<String, String> = reasons
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().unwrap().to_string(),
                        v.as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            assert_eq!(
                suppressed.iter().cloned().collect::<BTreeSet<_>>(),
                reasons.keys().cloned().collect(),
                "{key:?}: every suppressed rule, and only those, has a reason"
            );
            assert_eq!(
                suppressed.len(),
                reasons.len(),
                "{key:?}: a rule suppressed twice"
            );
            out.insert(key, reasons);
        }
    }
    out
}

#[test]
fn every_rendered_template_passes_cfn_guard() {
    let rules = defined_rules();
    let dir = tempfile::tempdir().unwrap();
    let files = render_everything(dir.path());
    let (reports, any_failed) = validate(dir.path());

    let failed: BTreeSet<String> = reports.iter().flat_map(failures).collect();
    let ran: BTreeSet<String> = reports
        .iter()
        .flat_map(|r| {
            names(&r["compliant"])
                .into_iter()
                .chain(names(&r["not_applicable"]))
        })
        .chain(
            failed
                .iter()
                .map(|f| f.split(' ').next().unwrap().to_string()),
        )
        .collect();
    let applied: BTreeSet<String> = reports
        .iter()
        .flat_map(|r| names(&r["compliant"]))
        .collect();
    eprintln!(
        "cfn-guard ran {} rules from {}: {}",
        ran.len(),
        rules_dir().display(),
        ran.iter().cloned().collect::<Vec<_>>().join(" ")
    );
    eprintln!(
        "{} of them applied to a resource and passed: {}",
        applied.len(),
        applied.iter().cloned().collect::<Vec<_>>().join(" ")
    );
    assert!(
        failed.is_empty() && !any_failed,
        "cfn-guard: {} failures:\n{}",
        failed.len(),
        failed.iter().cloned().collect::<Vec<_>>().join("\n")
    );

    // Every file was read, and every rule evaluated on it: a rule file that did not parse, or a
    // template cfn-guard skipped, would pass vacuously.
    let reported: BTreeSet<String> = reports.iter().map(file_name).collect();
    let written: BTreeSet<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        reported, written,
        "cfn-guard did not check every rendered template"
    );
    for r in &reports {
        let seen: BTreeSet<String> = names(&r["compliant"])
            .into_iter()
            .chain(names(&r["not_applicable"]))
            .collect();
        assert_eq!(
            seen,
            rules,
            "{}: not every rule was evaluated",
            file_name(r)
        );
    }
    // The templates were read as CloudFormation: the rules on their log groups, alarms and
    // functions applied and passed.
    for rule in [
        "CW_LOGGROUP_RETENTION_PERIOD_CHECK",
        "CLOUDWATCH_ALARM_ACTION_CHECK",
        "LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED",
    ] {
        assert!(applied.contains(rule), "{rule} applied to no resource");
    }

    // A suppression names a rule of the registry and carries its reason.
    let suppressed = suppressions(&files);
    assert!(
        !suppressed.is_empty(),
        "no Metadata.guard suppression found: the reader of this test expects some"
    );
    let mut by_rule: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for ((file, id), reasons) in &suppressed {
        for (rule, reason) in reasons {
            assert!(
                rules.contains(rule),
                "{id} ({file}) suppresses `{rule}`, which no rule file defines"
            );
            assert!(
                reason.split_whitespace().count() >= 5,
                "{id} ({file}) suppresses {rule} without a reason: {reason:?}"
            );
            by_rule.entry(rule).or_default().insert(id);
        }
    }
    eprintln!("suppressed: {by_rule:?}");
}

/// The check above can fail: with the suppressions taken out of the base config's two stacks, each
/// rule they hold back is reported on its resource, and nothing else is; a log group without
/// retention fails the retention rule beside them.
#[test]
fn cfn_guard_reports_weakened_templates() {
    let dir = tempfile::tempdir().unwrap();
    let mut stacks = render_config(&parse(crate::common::BASE), &Image::Placeholder);
    for s in &mut stacks {
        let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&s.template).unwrap();
        let mut taken = 0;
        for (_, resource) in doc["Resources"].as_mapping_mut().unwrap() {
            if let Some(metadata) = resource
                .get_mut("Metadata")
                .and_then(|m| m.as_mapping_mut())
            {
                taken += usize::from(metadata.remove("guard").is_some());
            }
        }
        assert!(taken > 0, "{} has no guard suppression to take out", s.name);
        if s.side() == Some(Side::Ecs) {
            let log_group = doc["Resources"]["LogGroup"]["Properties"]
                .as_mapping_mut()
                .unwrap();
            assert!(
                log_group.remove("RetentionInDays").is_some(),
                "the ECS log group has no retention to take out"
            );
        }
        s.template = serde_yaml_ng::to_string(&doc).unwrap();
    }
    let files = write_all(dir.path(), &stacks, "weakened--");
    assert_eq!(files.len(), 2);

    let (reports, any_failed) = validate(dir.path());
    let failed: BTreeSet<String> = reports
        .iter()
        .flat_map(failures)
        .map(|f| f.split(':').next().unwrap().to_string())
        .collect();
    let expected: BTreeSet<String> = [
        "CLOUDWATCH_LOG_GROUP_ENCRYPTED LogGroup (weakened--orders-worker-ecs.yaml)",
        "CW_LOGGROUP_RETENTION_PERIOD_CHECK LogGroup (weakened--orders-worker-ecs.yaml)",
        "IAM_NO_INLINE_POLICY_CHECK ExecutionRole (weakened--orders-worker-ecs.yaml)",
        "IAM_NO_INLINE_POLICY_CHECK TaskRole (weakened--orders-worker-ecs.yaml)",
        "CLOUDWATCH_LOG_GROUP_ENCRYPTED LogGroup (weakened--orders-worker-lambda.yaml)",
        "IAM_NO_INLINE_POLICY_CHECK Role (weakened--orders-worker-lambda.yaml)",
        "LAMBDA_DLQ_CHECK Function (weakened--orders-worker-lambda.yaml)",
        "LAMBDA_INSIDE_VPC Function (weakened--orders-worker-lambda.yaml)",
    ]
    .map(String::from)
    .into();
    assert!(any_failed, "cfn-guard exited 0 on weakened templates");
    assert_eq!(failed, expected);
}

/// Every suppression holds back a real failure, and only its own rule: with `Metadata.guard` taken
/// out of every rendered template, the rules that fail are exactly the suppressed ones, on exactly
/// the resources that suppressed them.
#[test]
fn every_suppression_holds_back_a_failure_of_its_rule() {
    let rendered = tempfile::tempdir().unwrap();
    let files = render_everything(rendered.path());
    let suppressed = suppressions(&files);

    let stripped = tempfile::tempdir().unwrap();
    for path in &files {
        let mut doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (_, resource) in doc["Resources"].as_mapping_mut().unwrap() {
            if let Some(metadata) = resource
                .get_mut("Metadata")
                .and_then(|m| m.as_mapping_mut())
            {
                metadata.remove("guard");
            }
        }
        std::fs::write(
            stripped.path().join(path.file_name().unwrap()),
            serde_yaml_ng::to_string(&doc).unwrap(),
        )
        .unwrap();
    }

    let (reports, any_failed) = validate(stripped.path());
    assert!(
        any_failed,
        "cfn-guard exited 0 on templates without their suppressions"
    );
    let failed: BTreeSet<String> = reports
        .iter()
        .flat_map(failures)
        .map(|f| f.split(':').next().unwrap().to_string())
        .collect();
    let expected: BTreeSet<String> = suppressed
        .iter()
        .flat_map(|((file, id), reasons)| {
            reasons
                .keys()
                .map(move |rule| format!("{rule} {id} ({file})"))
        })
        .collect();
    assert!(
        expected.len() >= files.len(),
        "fewer suppressions than templates: {expected:?}"
    );
    let unexpected: Vec<&String> = failed.difference(&expected).collect();
    let needless: Vec<&String> = expected.difference(&failed).collect();
    assert!(unexpected.is_empty() && needless.is_empty(), "failing without a suppression: {unexpected:#?}\nsuppressed but not failing without it: {needless:#?}");
}

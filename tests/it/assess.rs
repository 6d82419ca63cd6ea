//! `replatform assess --traffic FILE` as a user runs it, with no AWS anywhere: the JSON
//! document's fields on the fixtures (a daily cycle over two days, a burst, an idle week), the
//! platforms' costs moving the right way with the traffic, the text report, and bad input.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{platform, repo};

/// The binary with no way to reach AWS, in the example's folder.
fn replatform(args: &[&str]) -> Output {
    crate::simulate::replatform(&repo().join("examples/sqs-event-worker"), args)
}

fn fixture(name: &str) -> PathBuf {
    repo()
        .join("tests/fixtures/traffic")
        .join(format!("{name}.csv"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(name: &str) -> Value {
    let f = fixture(name);
    let o = replatform(&[
        "assess",
        "--traffic",
        f.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{name}: --output json is one document: {e}"))
}

pub(crate) fn usd(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

#[test]
fn assess_reports_both_platforms_the_recommendation_and_readiness_for_each_fixture() {
    let mut lambda_monthly = Vec::new();
    for (name, minutes, start, end) in [
        (
            "idle-week",
            7 * 1440,
            "2026-01-01T00:00:00Z",
            "2026-01-08T00:00:00Z",
        ),
        ("burst", 360, "2026-01-01T00:00:00Z", "2026-01-01T06:00:00Z"),
        (
            "daily-cycle",
            2 * 1440,
            "2026-01-01T00:00:00Z",
            "2026-01-03T00:00:00Z",
        ),
    ] {
        let doc = json(name);
        assert_eq!(doc["service"], "sqs-event-worker", "{name}");
        assert_eq!(
            (
                doc["period"]["start"].as_str(),
                doc["period"]["end"].as_str(),
                doc["period"]["minutes"].as_u64()
            ),
            (Some(start), Some(end), Some(minutes)),
            "{name}"
        );
        let names: Vec<&str> = doc["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["platform"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["ecs", "lambda"], "{name}");
        for p in doc["platforms"].as_array().unwrap() {
            let (total, compute, sqs) = (
                usd(&p["monthly_usd"]),
                usd(&p["compute_monthly_usd"]),
                usd(&p["sqs_monthly_usd"]),
            );
            assert!(
                (total - compute - sqs).abs() < 1e-9,
                "{name}: the total is compute and SQS: {p}"
            );
            let (p50, p99) = (usd(&p["age_p50_s"]), usd(&p["age_p99_s"]));
            assert!(0.0 <= p50 && p50 <= p99, "{name}: {p}");
        }
        let r = &doc["recommended"];
        for key in [
            "memory",
            "batch_size",
            "max_concurrency",
            "monthly_usd",
            "age_p99_s",
        ] {
            assert!(r.get(key).is_some(), "{name}: recommended.{key} in {r}");
        }
        assert!(
            [1, 5, 10].contains(&r["batch_size"].as_u64().unwrap()),
            "{r}"
        );
        assert!(
            r["max_concurrency"].as_u64().unwrap() <= 5,
            "{name}: within the reserved concurrency of 5: {r}"
        );
        if r["matches_ecs"] == true {
            assert!(usd(&r["age_p99_s"]) <= usd(&platform(&doc, "ecs")["age_p99_s"]));
        }
        assert_eq!(
            doc["readiness"],
            serde_json::json!({"ready": true, "problems": []}),
            "{name}: the example validates"
        );
        lambda_monthly.push(usd(&platform(&doc, "lambda")["monthly_usd"]));
        if name != "daily-cycle" {
            assert!(
                usd(&platform(&doc, "lambda")["monthly_usd"])
                    < usd(&platform(&doc, "ecs")["monthly_usd"]),
                "{name}: Lambda costs less than ECS on idle or bursty traffic: {doc}"
            );
        }
    }
    // Messages a month: the idle week about 600, the burst about 2.5 million, the daily cycle
    // about 14 million; Lambda's bill follows them.
    assert!(
        lambda_monthly[0] < lambda_monthly[1] && lambda_monthly[1] < lambda_monthly[2],
        "{lambda_monthly:?}"
    );
}

#[test]
fn an_idle_week_costs_ecs_its_scale_outs_and_lambda_almost_nothing() {
    let doc = json("idle-week");
    let (ecs, lambda) = (platform(&doc, "ecs"), platform(&doc, "lambda"));
    assert_eq!(ecs["messages"], 140);
    assert!(
        usd(&lambda["compute_monthly_usd"]) < 0.01,
        "140 invocations' worth: {lambda}"
    );
    assert!(
        usd(&ecs["age_p50_s"]) >= 60.0,
        "ECS at zero tasks: a message waits for the alarm and a task's start: {ecs}"
    );
    assert!(usd(&lambda["age_p99_s"]) < usd(&ecs["age_p50_s"]));
}

#[test]
fn the_text_report_fits_80_columns() {
    let f = fixture("burst");
    let o = replatform(&["assess", "--traffic", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    insta::assert_snapshot!("assess_burst", out);
    assert!(
        text(&o.stderr).contains("scaled to a 30-day month"),
        "{}",
        text(&o.stderr)
    );
}

fn refused(dir: &Path, name: &str, csv: &str) -> String {
    let f = dir.join(name);
    std::fs::write(&f, csv).unwrap();
    let o = replatform(&["assess", "--traffic", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o.stderr));
    assert!(o.stdout.is_empty(), "{name}");
    text(&o.stderr)
}

#[test]
fn bad_traffic_files_exit_1_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let header = refused(dir.path(), "header.csv", "when,sent\n1767225600,1\n");
    assert!(header.contains("line 1: unknown column `when`"), "{header}");
    let back = refused(
        dir.path(),
        "back.csv",
        "time,sent\n2026-01-01T00:01:00Z,1\n2026-01-01T00:00:00Z,1\n",
    );
    assert!(
        back.contains("line 3:") && back.contains("not after"),
        "{back}"
    );
    let gap = refused(
        dir.path(),
        "gap.csv",
        "time,sent\n1767225600,1\n1767225660,1\n1767226000,1\n",
    );
    assert!(gap.contains("line 4:") && gap.contains("no gaps"), "{gap}");
    let missing = dir.path().join("missing.csv");
    let o = replatform(&["assess", "--traffic", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("cannot read --traffic"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_config_with_an_error_stops_assess_as_it_stops_validate() {
    // What makes a config replayed with --traffic `ready`: one with an error is never replayed.
    let dir = tempfile::tempdir().unwrap();
    let example =
        std::fs::read_to_string(repo().join("examples/sqs-event-worker/replatform.yaml")).unwrap();
    let broken = example.replace("visibility_timeout: 180s", "visibility_timeout: 10s");
    assert_ne!(broken, example);
    let file = dir.path().join("replatform.yaml");
    std::fs::write(&file, broken).unwrap();
    let f = fixture("burst");
    let o = replatform(&[
        "-f",
        file.to_str().unwrap(),
        "assess",
        "--traffic",
        f.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty(), "{}", text(&o.stdout));
    let said = text(&o.stderr);
    assert!(
        said.contains("queue.visibility_timeout") && said.contains("[visibility-timeout]"),
        "{said}"
    );
}

#[test]
fn assess_with_nothing_to_assess_is_a_usage_error_that_names_the_three_ways() {
    let o = replatform(&["assess"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    for way in ["CLUSTER/SERVICE", "--cluster NAME", "--traffic FILE"] {
        assert!(text(&o.stderr).contains(way), "{way}: {}", text(&o.stderr));
    }
    // A target that is not CLUSTER/SERVICE, and two ways at once, are refused before any call.
    let o = replatform(&["assess", "orders"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("CLUSTER/SERVICE"),
        "{}",
        text(&o.stderr)
    );
    let o = replatform(&["assess", "prod/orders", "--cluster", "prod"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
}

#[test]
fn a_slower_handler_ages_messages_and_costs_lambda_more() {
    let f = fixture("burst");
    let run = |per_message: &str| -> Value {
        let o = replatform(&[
            "assess",
            "--traffic",
            f.to_str().unwrap(),
            "--per-message",
            per_message,
            "--output",
            "json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let (fast, slow) = (run("100ms"), run("300ms"));
    for name in ["ecs", "lambda"] {
        assert!(
            usd(&platform(&slow, name)["age_p99_s"]) > usd(&platform(&fast, name)["age_p99_s"]),
            "{name}: {fast} against {slow}"
        );
    }
    assert!(
        usd(&platform(&slow, "lambda")["compute_monthly_usd"])
            > usd(&platform(&fast, "lambda")["compute_monthly_usd"])
    );
}

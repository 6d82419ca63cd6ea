//! `replatform simulate` as a user runs it: no AWS anywhere, the files `compare` leaves with its
//! columns and summary fields, `--output json`, `--explain`, the article's setup through
//! `--templates`, and refused options.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use replatform::core::experiment::{summarise, Sample};
use replatform::core::side::Side;
use serde_json::Value;

use crate::common::examples;
use crate::common::COLUMNS;
#[cfg(feature = "full-tests")]
use crate::experiment::screenshot_is_not_blank;

/// The binary with no way to reach AWS: no credentials, and an endpoint nobody answers on.
/// `assess`'s tests run it the same way.
pub(crate) fn replatform(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replatform"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("REPLATFORM_TEMPLATES")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The keys of `compare`'s per-platform summary.
fn summary_fields() -> BTreeSet<String> {
    let s = summarise(Side::Ecs, &[&Sample::default()], None);
    serde_json::to_value(s)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn csv_rows(path: &Path) -> (String, Vec<Vec<String>>) {
    let csv = std::fs::read_to_string(path).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap().to_string();
    (
        header,
        lines
            .map(|l| l.splitn(18, ',').map(String::from).collect())
            .collect(),
    )
}

#[test]
fn simulate_writes_compares_files_for_both_examples_without_aws() {
    for (name, config) in examples() {
        let dir = config.parent().unwrap();
        let out = tempfile::tempdir().unwrap();
        let o = replatform(
            dir,
            &[
                "simulate",
                "--count",
                "300",
                "--out",
                out.path().to_str().unwrap(),
                "--output",
                "json",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o.stderr));
        let printed: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{name}: --output json is one document: {e}"));
        let written: Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join("summary.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            printed, written,
            "{name}: --output json prints summary.json"
        );
        assert_eq!(
            (written["kind"].as_str(), written["stopped"].as_str()),
            (Some("simulation"), Some("drained")),
            "{name}"
        );
        let platforms = written["platforms"].as_array().unwrap();
        assert_eq!(
            platforms
                .iter()
                .map(|p| p["platform"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["ecs", "lambda"]
        );
        for p in platforms {
            let keys: BTreeSet<String> = p.as_object().unwrap().keys().cloned().collect();
            assert_eq!(
                keys,
                summary_fields(),
                "{name}: compare's summary fields, no more, no fewer"
            );
            assert_eq!(
                (
                    p["sent"].as_u64(),
                    p["processed"].as_u64(),
                    p["dead_lettered"].as_u64()
                ),
                (Some(300), Some(300), Some(0)),
                "{name}: {p}"
            );
            assert!(p["drained_s"].as_f64().is_some());
        }
        // ECS waits for a metric period, its delay and a task start: a minute at least.
        assert!(
            platforms[0]["first_worker_s"].as_f64().unwrap() >= 120.0,
            "{name}: {}",
            platforms[0]
        );
        for c in written["cost"].as_array().unwrap() {
            assert!(c["total_usd"].as_f64().unwrap() > 0.0, "{name}: {c}");
        }
        assert_eq!(written["prices"]["region"], "us-east-1");
        assert!(written["bottlenecks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["name"].as_str().is_some_and(|n| !n.is_empty())));

        let (header, rows) = csv_rows(&out.path().join("samples.csv"));
        assert_eq!(header, COLUMNS, "{name}: compare's columns");
        let ecs = rows.iter().filter(|r| r[2] == "ecs").count();
        assert_eq!(ecs * 2, rows.len(), "{name}: a row per platform and sample");
        assert!(rows.iter().all(|r| r[17] == "simulated"));
        assert!(
            rows.iter()
                .filter(|r| r[2] == "ecs")
                .any(|r| r[7].parse::<u64>().unwrap() > 0),
            "{name}: ECS tasks ran"
        );
        assert!(
            rows.iter()
                .filter(|r| r[2] == "lambda")
                .any(|r| r[7].parse::<u64>().unwrap() > 0),
            "{name}: Lambda ran"
        );

        let svg = std::fs::read_to_string(out.path().join("chart.svg")).unwrap();
        let doc = roxmltree::Document::parse(&svg).expect("chart.svg is well-formed XML");
        let texts: String = doc.descendants().filter_map(|n| n.text()).collect();
        for label in [
            "PREDICTED",
            "ECS Fargate",
            "Lambda",
            "Queue depth",
            "Workers",
        ] {
            assert!(texts.contains(label), "{name}: the chart says `{label}`");
        }
        // Headless Chromium's picture of the chart: the full test tier (scripts/test) has it.
        #[cfg(feature = "full-tests")]
        screenshot_is_not_blank(&out.path().join("chart.svg"));
    }
}

#[test]
fn simulate_explains_its_decisions_in_text() {
    let (_, config) = examples()
        .into_iter()
        .find(|(n, _)| n == "sqs-event-worker")
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = replatform(
        config.parent().unwrap(),
        &[
            "simulate",
            "--count",
            "3000",
            "--out",
            out.path().to_str().unwrap(),
            "--explain",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    for part in [
        "PREDICTED",
        "drained after",
        "bottleneck:",
        "cost (us-east-1 prices of",
        "per million messages",
        "decisions:",
        "alarm ScaleOutAlarm in ALARM at",
        "step [100, inf) adds 5",
        "capped by max_concurrency 2",
    ] {
        assert!(stdout.contains(part), "`{part}` in:\n{stdout}");
    }
}

/// The config's `queue.fifo` and `trigger.provisioned_pollers` reach the model, and
/// `--poison N` sends N messages round until the dead-letter queue on both platforms.
#[test]
fn the_configs_fifo_and_provisioned_pollers_and_poison_messages_are_modelled() {
    let (_, config) = examples()
        .into_iter()
        .find(|(n, _)| n == "sqs-event-worker")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(config.parent().unwrap()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let yaml = std::fs::read_to_string(&config).unwrap();
    let run = |yaml: &str, extra: &[&str]| {
        std::fs::write(dir.path().join("replatform.yaml"), yaml).unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut args = vec![
            "simulate",
            "--count",
            "400",
            "--per-message",
            "50ms",
            "--out",
            out.path().to_str().unwrap(),
            "--output",
            "json",
            "--explain",
        ];
        args.extend_from_slice(extra);
        let o = replatform(dir.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let platform = |s: &Value, p: &str| {
        s["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["platform"] == p)
            .cloned()
            .unwrap()
    };

    let plain = run(&yaml, &[]);
    let poisoned = run(&yaml, &["--poison", "7"]);
    for p in ["ecs", "lambda"] {
        assert_eq!(platform(&plain, p)["dead_lettered"], 0, "{p}");
        assert_eq!(
            platform(&poisoned, p)["dead_lettered"],
            7,
            "{p}: {}",
            platform(&poisoned, p)
        );
    }

    // Provisioned pollers in place of max_concurrency: the explained ramp names them.
    assert!(
        yaml.contains("max_concurrency: 2"),
        "the example caps its pollers"
    );
    let provisioned = yaml.replacen(
        "max_concurrency: 2",
        "provisioned_pollers: { min: 2, max: 3 }",
        1,
    );
    let s = run(&provisioned, &[]);
    let said = s["decisions"].to_string();
    assert!(
        said.contains("pollers") && !said.contains("capped by max_concurrency"),
        "{said}"
    );
    assert_ne!(
        s["platforms"], plain["platforms"],
        "provisioned pollers change Lambda's drain"
    );

    // A FIFO queue: the model runs (one group a message, as `load` sends them) and drains.
    let fifo = yaml
        .replacen("  retention: 4d\n", "  retention: 4d\n  fifo: true\n", 1)
        .lines()
        .filter(|l| !l.contains("max_batching_window"))
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    assert_ne!(fifo, yaml);
    let s = run(&fifo, &[]);
    for p in ["ecs", "lambda"] {
        assert!(
            platform(&s, p)["drained_s"].is_number(),
            "{p}: {}",
            platform(&s, p)
        );
    }
}

#[test]
fn the_articles_setup_through_templates_stays_at_five_tasks_and_one_execution() {
    // The article's scale-out was "Set to 5" (ExactCapacity); sqs-worker keeps its reserved
    // concurrency of 1.
    let (_, config) = examples()
        .into_iter()
        .find(|(n, _)| n == "sqs-worker")
        .unwrap();
    let dir = config.parent().unwrap();
    let t = tempfile::tempdir().unwrap();
    let o = replatform(dir, &["templates", "--out", t.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let scaling = t.path().join("templates/ecs-scaling.yaml.hbs");
    let hbs = std::fs::read_to_string(&scaling).unwrap();
    let article = hbs
        .replace(
            "AdjustmentType: ChangeInCapacity",
            "AdjustmentType: ExactCapacity",
        )
        .replace("ScalingAdjustment: {{add}}", "ScalingAdjustment: 5");
    assert_ne!(article, hbs);
    std::fs::write(&scaling, article).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = replatform(
        dir,
        &[
            "simulate",
            "--templates",
            t.path().to_str().unwrap(),
            "--count",
            "20000",
            "--per-message",
            "500ms",
            "--for",
            "15m",
            "--out",
            out.path().to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    let (_, rows) = csv_rows(&out.path().join("samples.csv"));
    let max = |platform: &str, column: usize| {
        rows.iter()
            .filter(|r| r[2] == platform)
            .filter_map(|r| r[column].parse::<u64>().ok())
            .max()
    };
    assert_eq!(max("ecs", 8), Some(5), "ECS desired stays at 5");
    assert_eq!(max("lambda", 7), Some(1), "Lambda concurrency stays at 1");
    assert!(summary["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["rule"] == "exact"));
    assert_eq!(summary["bottlenecks"][0]["name"], "ExactCapacity");
}

#[test]
fn bad_options_exit_1_with_a_hint() {
    let (_, config) = examples().into_iter().next().unwrap();
    let dir = config.parent().unwrap();
    let bad_prices = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad_prices.path(), "date: 2026\n").unwrap();
    // Without a load, the usage line says which option is wanted (a usage error: exit 2).
    let o = replatform(dir, &["simulate"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("Usage: replatform simulate <--count <N>|--batches <B>|--rate <R>|--from-compare <DIR>>"),
        "{err}"
    );
    let cases: [&[&str]; 4] = [
        &["simulate", "--count", "10", "--interval", "500ms"],
        &[
            "simulate",
            "--count",
            "10",
            "--for",
            "1s",
            "--interval",
            "5s",
        ],
        &[
            "simulate",
            "--count",
            "10",
            "--prices",
            bad_prices.path().to_str().unwrap(),
        ],
        &["simulate", "--rate", "10"],
    ];
    for args in cases {
        let o = replatform(dir, args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("hint:"), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    let o = replatform(dir, &["simulate", "--count", "10", "--per-message", "soon"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a value clap refuses is a usage error"
    );
}

/// A measured run's folder as `compare` leaves it: samples.csv with compare's columns (ECS rows
/// only, and Lambda rows without workers, as on an emulator) and summary.json's load window.
fn measured_run(rows: &[(f64, u64, u64, u64, u64, u64)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = format!("{COLUMNS}\n");
    for &(t, visible, sent, desired, pending, running) in rows {
        csv.push_str(&format!("2026-01-01T00:00:00.000Z,{t},ecs,{visible},0,0,0,{running},{desired},{running},{pending},,,,,,{sent},\n"));
        csv.push_str(&format!("2026-01-01T00:00:00.000Z,{t},lambda,{visible},0,0,0,,,,,,,,,,{sent},cloudwatch: no datapoint\n"));
    }
    std::fs::write(dir.path().join("samples.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("summary.json"),
        r#"{"load_window_s": [10.0, 10.0]}"#,
    )
    .unwrap();
    dir
}

#[test]
fn simulate_from_compare_takes_the_load_and_the_workers_figures_from_a_measured_run() {
    let (_, config) = examples()
        .into_iter()
        .find(|(n, _)| n == "sqs-worker")
        .unwrap();
    let dir = config.parent().unwrap();
    // 100 messages sent by 10 s; tasks asked for at 70 s run at 115 s and work until 190 s:
    // 255 worker-seconds (trapezoids) for 100 messages is 2.55 s a message; task start 45 s.
    let run = measured_run(&[
        (0.0, 0, 0, 0, 0, 0),
        (10.0, 100, 100, 0, 0, 0),
        (70.0, 100, 100, 2, 2, 0),
        (115.0, 100, 100, 2, 0, 2),
        (190.0, 0, 100, 2, 0, 2),
        (250.0, 0, 100, 0, 0, 0),
    ]);
    let out = tempfile::tempdir().unwrap();
    let o = replatform(
        dir,
        &[
            "simulate",
            "--from-compare",
            run.path().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    let basis = &summary["basis"];
    assert_eq!(
        (
            basis["messages"].as_u64(),
            basis["per_message_s"].as_f64(),
            basis["task_start_s"].as_f64()
        ),
        (Some(100), Some(2.55), Some(45.0)),
        "{basis}"
    );
    assert_eq!(summary["platforms"][0]["sent"].as_u64(), Some(100));
    let err = text(&o.stderr);
    assert!(
        err.contains("per message 2.550 s: a minute over ecs's 23.5 messages a worker-minute")
            && err.contains("task start 45 s"),
        "says where each figure came from: {err}"
    );

    // A run with no worker data (an emulator): the load still comes from it, the figures are
    // the defaults, and it says so.
    let bare = measured_run(&[
        (0.0, 0, 0, 0, 0, 0),
        (5.0, 40, 40, 0, 0, 0),
        (10.0, 0, 40, 0, 0, 0),
    ]);
    let o = replatform(
        dir,
        &[
            "simulate",
            "--from-compare",
            bare.path().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            summary["basis"]["messages"].as_u64(),
            summary["basis"]["per_message_s"].as_f64(),
            summary["basis"]["task_start_s"].as_f64()
        ),
        (Some(40), Some(0.1), Some(60.0))
    );
    assert!(
        text(&o.stderr).contains("per message 0.1 s: the default"),
        "{}",
        text(&o.stderr)
    );

    // The load and the figures come from the run, not from options as well.
    let o = replatform(
        dir,
        &[
            "simulate",
            "--from-compare",
            run.path().to_str().unwrap(),
            "--count",
            "5",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("takes the load from the measured run"),
        "{}",
        text(&o.stderr)
    );
    let o = replatform(
        dir,
        &[
            "simulate",
            "--from-compare",
            run.path().to_str().unwrap(),
            "--per-message",
            "1s",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "clap refuses --per-message beside --from-compare"
    );
    let empty = tempfile::tempdir().unwrap();
    let o = replatform(
        dir,
        &["simulate", "--from-compare", empty.path().to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("samples.csv") && text(&o.stderr).contains("hint:"),
        "{}",
        text(&o.stderr)
    );

    // A platform that is neither of the two: said, with the words it takes, not a panic.
    let wrong = measured_run(&[(0.0, 0, 0, 0, 0, 0), (10.0, 100, 100, 0, 0, 0)]);
    let csv = wrong.path().join("samples.csv");
    let rows = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, rows.replace(",lambda,", ",fargate,")).unwrap();
    let o = replatform(
        dir,
        &["simulate", "--from-compare", wrong.path().to_str().unwrap()],
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not read as compare's samples")
            && err.contains("unknown variant `fargate`, expected `ecs` or `lambda`")
            && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn a_worker_of_several_queues_is_modelled_as_their_sum_or_one_by_queue() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("replatform.yaml"),
        crate::common::several_queues(),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = replatform(
        dir.path(),
        &["simulate", "--count", "50", "--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("the model drains one queue standing for the sum of the worker's 4 consumed queues (audit, orders, topic-events, topic-payments), with `audit`'s settings; --queue NAME models one"),
        "{}",
        text(&o.stderr)
    );
    let o = replatform(
        dir.path(),
        &[
            "simulate",
            "--count",
            "50",
            "--queue",
            "topic-payments",
            "--out",
            dir.path().join("one").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("the model drains `topic-payments` alone"),
        "{}",
        text(&o.stderr)
    );
    let o = replatform(
        dir.path(),
        &["simulate", "--count", "50", "--queue", "nope"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("`nope` is not one of this worker's queues"),
        "{}",
        text(&o.stderr)
    );
}

/// The polling example under its `schedule` trigger with the 30 s timeout `init` writes where
/// the worker waits less: both platforms' decisions are listed (each invocation's start and why
/// it stopped), and the bottleneck names the field that would change the outcome,
/// `lambda.timeout`, since each invocation stops at it and the next waits for the next tick.
#[test]
fn a_schedule_limited_by_its_timeout_says_so_with_lambdas_decisions() {
    let (_, config) = examples()
        .into_iter()
        .find(|(n, _)| n == "sqs-worker")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yaml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("SQS_WAIT_SECONDS: \"10\"", "SQS_WAIT_SECONDS: \"5\"")
        .replace(
            "SQS_MAX_NUM_MSGS: \"10\"",
            "SQS_MAX_NUM_MSGS: \"10\"\n  SQS_VISIBILITY_TO: \"15\"",
        )
        .replace("  timeout: 60s ", "  timeout: 30s ");
    std::fs::write(dir.path().join("replatform.yaml"), &yaml).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = replatform(
        dir.path(),
        &[
            "simulate",
            "--count",
            "5000",
            "--per-message",
            "100ms",
            "--out",
            out.path().to_str().unwrap(),
            "--explain",
            "--output",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}\n{yaml}", text(&o.stderr));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    let decisions = s["decisions"].as_array().unwrap();
    let lambda: Vec<&str> = decisions
        .iter()
        .filter(|d| d["platform"] == "lambda")
        .map(|d| d["text"].as_str().unwrap())
        .collect();
    assert!(
        lambda
            .iter()
            .any(|t| t.starts_with("scheduled invocation starts")),
        "{lambda:?}"
    );
    assert!(
        lambda.iter().any(|t| t.contains("stopped polling after")),
        "{lambda:?}"
    );
    assert!(decisions.iter().any(|d| d["platform"] == "ecs"));
    let bottleneck = s["bottlenecks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["platform"] == "lambda")
        .unwrap();
    assert_eq!(bottleneck["name"], "timeout gap", "{bottleneck}");
    assert!(
        bottleneck["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("lambda.timeout:")),
        "{bottleneck}"
    );
}

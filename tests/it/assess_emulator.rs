//! `replatform assess --cluster NAME` and `assess CLUSTER/SERVICE` with the real binary against
//! moto: a cluster of six services made through the ECS, IAM, Application Auto Scaling, SQS and
//! EC2 APIs, their queues' recorded traffic put into CloudWatch with `PutMetricData`
//! (`tests/fixtures/assess/cluster.py`: a daily cycle with Container Insights' task count, a
//! burst, a fixed service's trickle, a FIFO queue idle after its first hour, an HTTP service
//! with no queue, a service whose queue is gone), read back through the real `GetMetricData`
//! (moto 5.2.6 answers it in the SDK's protocol). Then the fleet: every service listed, the
//! ranking, the JSON document's fields, the text table, the HTML page as headless Chromium draws
//! it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::adopt::{fixture, moto, text};
use crate::assess::usd as f;
use crate::common::platform;

const DAYS: &str = "1";

#[test]
fn a_cluster_is_assessed_ranked_and_drawn_from_its_recorded_traffic() {
    let moto = moto();
    let made = fixture("assess/cluster.py", &[moto.endpoint.as_str(), DAYS]);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("fleet.html");
    let page_arg = page.to_str().unwrap();

    // JSON, with the page.
    let out = moto.replatform(
        dir.path(),
        &[
            "assess",
            "--cluster",
            "fleet",
            "--days",
            DAYS,
            "--html",
            page_arg,
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["cluster"], "fleet");
    let services = doc["services"].as_array().unwrap();

    // Every SQS worker assessed, the others said.
    let mut names: Vec<&str> = services
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let mut expected: Vec<&str> = made["assessed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    expected.sort_unstable();
    assert_eq!(names, expected, "{doc}");
    assert_eq!(doc["not_sqs_workers"], made["not_sqs"]);
    let unreadable = doc["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{doc}");
    assert_eq!(unreadable[0]["service"], "gone");
    assert!(
        unreadable[0]["reason"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{doc}"
    );

    // Ranked by saving, each saving ECS's month less the recommended Lambda settings'.
    let savings: Vec<f64> = services
        .iter()
        .map(|s| f(&s["saving_monthly_usd"]))
        .collect();
    assert!(
        savings.windows(2).all(|w| w[0] >= w[1]),
        "ranked by saving: {savings:?}"
    );
    let mut by_name = BTreeMap::new();
    for s in services {
        let ecs = platform(s, "ecs");
        let lambda = platform(s, "lambda");
        let saving = f(&ecs["monthly_usd"]) - f(&s["recommended"]["monthly_usd"]);
        assert!((f(&s["saving_monthly_usd"]) - saving).abs() < 1e-9, "{s}");
        for p in [ecs, lambda] {
            for field in ["monthly_usd", "compute_monthly_usd", "sqs_monthly_usd"] {
                assert!(f(&p[field]) >= 0.0, "{field}: {p}");
            }
            let sum = f(&p["compute_monthly_usd"]) + f(&p["sqs_monthly_usd"]);
            assert!((f(&p["monthly_usd"]) - sum).abs() < 1e-6, "{p}");
            assert!(f(&p["age_p50_s"]) <= f(&p["age_p99_s"]), "{p}");
        }
        // Every message put into CloudWatch is replayed, on both platforms.
        let name = s["service"].as_str().unwrap();
        let sent = made["sent"][name].as_u64().unwrap();
        for p in [ecs, lambda] {
            let seen = p["messages"].as_u64().unwrap() + p["unfinished"].as_u64().unwrap();
            assert_eq!(seen, sent, "{name}: {p}");
        }
        for field in ["memory", "batch_size", "max_concurrency", "matches_ecs"] {
            assert!(!s["recommended"][field].is_null(), "{field}: {s}");
        }
        assert_eq!(
            s["readiness"]["ready"], made["ready"][name],
            "{name}: {}",
            s["readiness"]
        );
        by_name.insert(name.to_string(), s.clone());
    }
    // The log router is why `reports` is not ready.
    let problems = by_name["reports"]["readiness"]["problems"].to_string();
    assert!(problems.contains("log-router"), "{problems}");

    // `orders` has Container Insights' task count: the handling time comes from its busy minutes
    // (2 tasks, 3,600 messages deleted in a minute with a backlog: 120 task-seconds / 3,600),
    // and the model's ECS is set beside what ran.
    let rec = &by_name["orders"]["recorded"];
    assert_eq!(rec["per_message_from"], "backlog", "{rec}");
    assert_eq!(rec["tasks_from"], "container_insights", "{rec}");
    assert!(
        (f(&rec["per_message_s"]) - 120.0 / 3600.0).abs() < 1e-6,
        "{rec}"
    );
    let recorded_tasks = f(&rec["tasks_recorded_mean"]);
    assert!((1.0..=2.0).contains(&recorded_tasks), "{rec}");
    let pct = f(&rec["tasks_within_pct"]);
    let model = f(&rec["tasks_model_mean"]);
    assert!(
        ((model - recorded_tasks).abs() / recorded_tasks * 100.0 - pct).abs() < 1e-6,
        "{rec}"
    );
    let notes = by_name["orders"]["notes"].to_string();
    assert!(notes.contains(&format!("within {pct:.0}%")), "{notes}");
    // `reports` has none: its scaling history is read instead, which moto does not answer
    // (`DescribeScalingActivities` is not implemented there: tests/it/assess_history.rs reads
    // AWS's answers), so the default handling time, and why, are said; it is still assessed.
    let rec = &by_name["reports"]["recorded"];
    assert_eq!(rec["per_message_from"], "option", "{rec}");
    assert_eq!(rec["tasks_from"], "none", "{rec}");
    assert!(rec["tasks_recorded_mean"].is_null(), "{rec}");
    let notes = by_name["reports"]["notes"].to_string();
    assert!(
        notes.contains("no recorded task count")
            && notes.contains("the scaling history could not be read")
            && notes.contains("application-autoscaling:DescribeScalingActivities"),
        "{notes}"
    );
    // The FIFO queue's name is read as it is.
    assert_eq!(by_name["events"]["recorded"]["queues"][0], "events.fifo");

    // The text table: the same ranking, within 80 columns.
    let out = moto.replatform(
        dir.path(),
        &["assess", "--cluster", "fleet", "--days", DAYS],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "over 80 columns: {line}");
    }
    let rows: Vec<&str> = table
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.next()?.parse::<usize>().ok()?;
            w.next()
        })
        .collect();
    let ranked: Vec<&str> = services
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ranked, "{table}");
    assert!(table.contains("not assessed: gone"), "{table}");

    the_page_shows_each_service(&page, &ranked);

    // One service.
    let out = moto.replatform(
        dir.path(),
        &["assess", "fleet/orders", "--days", DAYS, "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let one: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(one["service"], "orders");
    // The same figures as in the fleet, when both runs read the same minutes: the period ends at
    // the run's minute, so when the minute turns between the two runs the idle minutes at its
    // ends differ (and so do the empty receives billed); every message is replayed either way.
    for p in one["platforms"].as_array().unwrap() {
        let seen = p["messages"].as_u64().unwrap() + p["unfinished"].as_u64().unwrap();
        assert_eq!(seen, made["sent"]["orders"].as_u64().unwrap(), "{p}");
    }
    if one["period"] == by_name["orders"]["period"] {
        assert_eq!(one["platforms"], by_name["orders"]["platforms"]);
    } else {
        eprintln!("the minute turned between the fleet's run and this one: figures not compared");
    }
    // A service with no queue, a missing one and too many days: errors, exit 1.
    for (args, said) in [
        (vec!["assess", "fleet/web"], "consumes no SQS queue"),
        (vec!["assess", "fleet/nope"], "no ECS service `nope`"),
        (vec!["assess", "--cluster", "nope"], "nope"),
        (
            vec!["assess", "--cluster", "fleet", "--days", "64"],
            "63 days",
        ),
    ] {
        let out = moto.replatform(dir.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(said), "{args:?}: {}", text(&out));
    }
}

/// The page is self-contained (no script, nothing fetched), ranks the services as the JSON does,
/// holds a chart per service, and Chromium draws it with both platforms' colours; the first
/// chart alone passes the chart tests' checks (no legend over a line).
fn the_page_shows_each_service(page: &Path, ranked: &[&str]) {
    let html = std::fs::read_to_string(page).expect("--html wrote the page");
    assert!(!html.contains("<script"), "no script");
    assert!(!html.contains("src="), "nothing fetched");
    assert!(
        !html.contains("samples.csv"),
        "no pointer to compare's files"
    );
    // Nothing ran on Lambda, and `reports` has no task count: said, not drawn at zero.
    assert!(html.contains("Lambda: no data (not"), "the legend says why");
    assert_eq!(
        html.matches("<svg").count(),
        ranked.len(),
        "a chart per service"
    );
    let table = &html[html.find("id=\"ranking\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let mut at = 0;
    for name in ranked {
        let i = table[at..]
            .find(&format!(">{name}</a>"))
            .unwrap_or_else(|| panic!("{name} in ranking order: {table}"));
        at += i;
    }
    // The page's first screen: the title and the ranking, drawn.
    let (_, pixels) = crate::experiment::screenshot(page);
    let dark = pixels.iter().filter(|p| p.iter().all(|c| *c < 100)).count();
    assert!(
        dark > 2000,
        "the page's first screen shows text ({dark} dark pixels)"
    );
    let first = &html[html.find("<svg").unwrap()..];
    let first = &first[..first.find("</svg>").unwrap() + "</svg>".len()];
    let svg = page.with_file_name("first.svg");
    std::fs::write(&svg, first).unwrap();
    crate::experiment::screenshot_is_not_blank(&svg);
}

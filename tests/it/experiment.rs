//! `load` and `compare` against moto: what arrives in each queue, what a refused or missing queue
//! does, bad arguments, and a whole experiment drained by a consumer of the test's own, down to
//! the chart as Chromium draws it. (CloudWatch and refused entries: `experiment_recorded.rs`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use crate::emulator::{block, json, service_dir, stderr, Moto, IMAGE};

struct Queues {
    sqs: aws_sdk_sqs::Client,
    ecs: String,
    lambda: String,
}

/// Deploys the polling example (its Lambda runs on a schedule: moto invokes nothing on a send).
fn deployed(moto: &Moto, service: &str) -> (tempfile::TempDir, Queues) {
    let dir = service_dir("sqs-worker", service, |t| t);
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE, "--yes", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = json(&moto.replatform(dir.path(), &["status", "--output", "json"]));
    let url = |kind: &str| {
        status["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == kind)
            .unwrap()["queue"]["url"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let queues = Queues {
        sqs: aws_sdk_sqs::Client::new(&moto.sdk()),
        ecs: url("ecs"),
        lambda: url("lambda"),
    };
    (dir, queues)
}

impl Queues {
    fn visible(&self, url: &str) -> u64 {
        let out = block(
            self.sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .send(),
        )
        .unwrap();
        out.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessages]
            .parse()
            .unwrap()
    }

    /// Receives and deletes everything visible: message id attribute → body. Each id must have
    /// been sent once (one SQS message id); SQS may deliver a message twice, which is no send.
    fn drain(&self, url: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut sqs_ids: BTreeMap<String, String> = BTreeMap::new();
        loop {
            let r = block(
                self.sqs
                    .receive_message()
                    .queue_url(url)
                    .max_number_of_messages(10)
                    .visibility_timeout(300)
                    .wait_time_seconds(0)
                    .message_attribute_names("All")
                    .send(),
            )
            .unwrap();
            if r.messages().is_empty() {
                return out;
            }
            for m in r.messages() {
                let id = m
                    .message_attributes()
                    .and_then(|a| a.get("replatform-id"))
                    .and_then(|v| v.string_value())
                    .expect("every message carries its id")
                    .to_string();
                let sqs_id = m.message_id().unwrap().to_string();
                let first = sqs_ids.entry(id.clone()).or_insert_with(|| sqs_id.clone());
                assert_eq!(*first, sqs_id, "message {id} was sent twice");
                out.insert(id, m.body().unwrap().to_string());
                block(
                    self.sqs
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(m.receipt_handle().unwrap())
                        .send(),
                )
                .unwrap();
            }
        }
    }
}

#[test]
fn load_sends_the_same_messages_to_both_queues() {
    let moto = Moto::start();
    let (dir, q) = deployed(&moto, "it-load");

    // A burst: exactly N in each queue, the same bodies pairwise, each carrying its id and time.
    let out = moto.replatform(
        dir.path(),
        &[
            "load", "--count", "25", "--size", "100..300", "--output", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(
        (
            report["sent"].as_u64(),
            report["failed"].as_u64(),
            report["planned"].as_u64()
        ),
        (Some(50), Some(0), Some(25))
    );
    let (ecs, lambda) = (q.drain(&q.ecs), q.drain(&q.lambda));
    assert_eq!(ecs.len(), 25);
    assert_eq!(
        ecs, lambda,
        "the same id carries the same body on both queues"
    );
    let run = report["run"].as_str().unwrap();
    for (id, body) in &ecs {
        assert!(id.starts_with(&format!("{run}-")), "{id}");
        assert!((100..=300).contains(&body.len()), "{} bytes", body.len());
        let doc: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(doc["id"], id.as_str());
        assert!(doc["sent_at_ms"].as_u64().unwrap() > 1_700_000_000_000);
    }

    // The article's seeder: B batches of 1..=M, the sizes drawn from the seed, all of them sent.
    let args = [
        "load",
        "--batches",
        "6",
        "--max-per-batch",
        "7",
        "--pause",
        "100ms",
        "--seed",
        "11",
        "--output",
        "json",
    ];
    let report = json(&moto.replatform(dir.path(), &args));
    let waves: Vec<u64> = report["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_u64().unwrap())
        .collect();
    assert_eq!(waves.len(), 6);
    assert!(waves.iter().all(|w| (1..=7).contains(w)), "{waves:?}");
    let total: u64 = waves.iter().sum();
    assert_eq!(report["planned"].as_u64(), Some(total));
    assert_eq!((q.visible(&q.ecs), q.visible(&q.lambda)), (total, total));
    let again = json(&moto.replatform(dir.path(), &args));
    assert_eq!(
        again["waves"], report["waves"],
        "the same seed gives the same batches"
    );

    // A steady rate, to one queue only, with a body of the user's.
    std::fs::write(dir.path().join("order.json"), r#"{"order": 1234}"#).unwrap();
    let (before_ecs, before_lambda) = (q.visible(&q.ecs), q.visible(&q.lambda));
    let out = moto.replatform(
        dir.path(),
        &[
            "load",
            "--rate",
            "40",
            "--duration",
            "500ms",
            "--only",
            "lambda",
            "--body-file",
            "order.json",
            "--output",
            "json",
        ],
    );
    assert_eq!(json(&out)["sent"].as_u64(), Some(20));
    assert_eq!(
        (q.visible(&q.ecs), q.visible(&q.lambda)),
        (before_ecs, before_lambda + 20)
    );
    let bodies: BTreeSet<String> = q.drain(&q.lambda).into_values().collect();
    assert!(bodies.contains(r#"{"order": 1234}"#));
}

#[test]
fn a_queue_that_stays_unreachable_fails_with_the_count_not_sent() {
    let moto = Moto::start();
    let (dir, q) = deployed(&moto, "it-gone");
    block(q.sqs.delete_queue().queue_url(&q.lambda).send()).unwrap();

    let out = moto.replatform(dir.path(), &["load", "--count", "30", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let queue = |kind: &str| {
        report["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["platform"] == kind)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            queue("ecs")["sent"].as_u64(),
            queue("ecs")["failed"].as_u64()
        ),
        (Some(30), Some(0))
    );
    assert_eq!(
        (
            queue("lambda")["sent"].as_u64(),
            queue("lambda")["failed"].as_u64()
        ),
        (Some(0), Some(30))
    );
    let reason = &queue("lambda")["not_sent"][0];
    assert_eq!(reason["count"].as_u64(), Some(30));
    assert!(
        reason["code"]
            .as_str()
            .unwrap()
            .contains("NonExistentQueue")
            || reason["code"]
                .as_str()
                .unwrap()
                .contains("QueueDoesNotExist"),
        "{reason}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("30 of 30 not sent to the lambda queue"),
        "{err}"
    );
    assert!(err.contains("30 of 60 messages were not sent"), "{err}");
    assert_eq!(q.visible(&q.ecs), 30);
}

#[test]
fn bad_arguments_are_refused_and_send_nothing() {
    let moto = Moto::start();
    let (dir, q) = deployed(&moto, "it-badload");
    let cases: &[(&[&str], &str)] = &[
        (&["load", "--rate", "0", "--duration", "1m"], "above 0"),
        (&["load", "--count", "5", "--size", "300..100"], "reversed"),
        (&["load", "--count", "5", "--size", "10..50"], "cannot hold"),
        (&["load", "--rate", "5"], "--duration"),
        (&["load"], "say how much to send"),
        (
            &["load", "--count", "5", "--body-file", "missing.json"],
            "cannot read --body-file",
        ),
        (&["compare", "--count", "5"], "need --load"),
        (
            &[
                "compare",
                "--load",
                "--count",
                "5",
                "--out",
                "/proc/replatform-cannot-write-here",
            ],
            "cannot create",
        ),
        (
            &["compare", "--load", "--count", "5", "--interval", "10ms"],
            "below 200ms",
        ),
    ];
    for (args, says) in cases {
        let out = moto.replatform(dir.path(), args);
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{args:?}: {:?}",
            out.status
        );
        assert!(
            stderr(&out).contains(says),
            "{args:?} should say `{says}`: {}",
            stderr(&out)
        );
    }
    // Stacks that are not deployed: a service nobody deployed.
    let other = service_dir("sqs-worker", "it-never-deployed", |t| t);
    let out = moto.replatform(other.path(), &["load", "--count", "5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("stack `it-never-deployed-ecs` is not deployed"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("replatform up"),
        "says what to do: {}",
        stderr(&out)
    );
    assert_eq!(
        (q.visible(&q.ecs), q.visible(&q.lambda)),
        (0, 0),
        "nothing was sent"
    );
}

/// Receives and deletes from `url` until `stop`: `per_receive` messages at a time, each batch
/// taking `pause`. A worker of the test's own, so that each platform drains at its own pace.
fn consumer(
    sqs: aws_sdk_sqs::Client,
    url: String,
    per_receive: i32,
    pause: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut done = 0;
        while !stop.load(Ordering::Relaxed) {
            let r = block(
                sqs.receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(per_receive)
                    .visibility_timeout(30)
                    .wait_time_seconds(1)
                    .message_system_attribute_names(MessageSystemAttributeName::All)
                    .send(),
            );
            if let Ok(r) = r {
                // The work takes `pause`: the messages are in flight meanwhile.
                std::thread::sleep(pause);
                for m in r.messages() {
                    block(
                        sqs.delete_message()
                            .queue_url(&url)
                            .receipt_handle(m.receipt_handle().unwrap())
                            .send(),
                    )
                    .unwrap();
                    done += 1;
                }
            }
        }
        done
    })
}

use crate::common::COLUMNS;

#[test]
fn compare_watches_two_queues_drain_at_different_speeds() {
    let moto = Moto::start();
    let (dir, q) = deployed(&moto, "it-compare");
    let out_dir = dir.path().join("experiment");
    let stop = Arc::new(AtomicBool::new(false));
    let fast = consumer(
        q.sqs.clone(),
        q.ecs.clone(),
        10,
        Duration::from_millis(100),
        stop.clone(),
    );
    let slow = consumer(
        q.sqs.clone(),
        q.lambda.clone(),
        1,
        Duration::from_millis(250),
        stop.clone(),
    );

    let out = moto.replatform(
        dir.path(),
        &[
            "compare",
            "--load",
            "--count",
            "40",
            "--interval",
            "1s",
            "--timeout",
            "120s",
            "--out",
            "experiment",
            "--output",
            "json",
        ],
    );
    stop.store(true, Ordering::Relaxed);
    let (fast, slow) = (fast.join().unwrap(), slow.join().unwrap());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        (fast, slow),
        (40, 40),
        "each consumer got every message once"
    );

    // The summary: both drained, ECS (the fast consumer) first; nothing invented for Lambda's
    // workers, which come from CloudWatch, which moto does not speak.
    let summary = json(&out);
    assert_eq!(summary["stopped"], "drained");
    let platform = |kind: &str| {
        summary["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["platform"] == kind)
            .unwrap()
            .clone()
    };
    let (ecs, lambda) = (platform("ecs"), platform("lambda"));
    let (ecs_drained, lambda_drained) = (
        ecs["drained_s"].as_f64().unwrap(),
        lambda["drained_s"].as_f64().unwrap(),
    );
    assert!(
        ecs_drained < lambda_drained,
        "ECS drained at {ecs_drained} s, Lambda at {lambda_drained} s"
    );
    assert!(
        lambda_drained >= 5.0,
        "40 messages at one per 250 ms take about 10 s: {lambda_drained}"
    );
    assert_eq!(
        (ecs["sent"].as_u64(), lambda["sent"].as_u64()),
        (Some(40), Some(40))
    );
    assert_eq!(ecs["processed"].as_u64(), Some(40));
    assert_eq!(
        ecs["peak_workers"].as_u64(),
        Some(0),
        "moto runs no ECS task"
    );
    assert!(lambda["peak_workers"].is_null() && lambda["first_worker_s"].is_null());
    assert!(
        lambda["first_receive_s"].as_f64().is_some(),
        "the slow consumer's messages were seen in flight"
    );
    assert_eq!(
        summary,
        serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(out_dir.join("summary.json")).unwrap()
        )
        .unwrap()
    );

    // The prediction for the same 40 messages beside the measurement: the model's drain times,
    // the gap to the measured ones per platform, in seconds and as a ratio.
    let prediction = &summary["prediction"];
    assert_eq!(prediction["load"], "the plan --load sent", "{prediction}");
    assert_eq!(
        (
            prediction["per_message_s"].as_f64(),
            prediction["task_start_s"].as_f64()
        ),
        (Some(0.1), Some(60.0))
    );
    for (kind, measured) in [("ecs", ecs_drained), ("lambda", lambda_drained)] {
        let gap = prediction["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["platform"] == kind)
            .unwrap_or_else(|| panic!("a gap for {kind}: {prediction}"));
        let predicted = gap["predicted_drained_s"].as_f64().unwrap();
        assert_eq!(gap["measured_drained_s"].as_f64(), Some(measured));
        assert!(
            (gap["gap_s"].as_f64().unwrap() - (measured - predicted)).abs() < 1e-9,
            "{gap}"
        );
        assert!(
            (gap["ratio"].as_f64().unwrap() - measured / predicted).abs() < 1e-9,
            "{gap}"
        );
        let summarised = prediction["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["platform"] == kind)
            .unwrap();
        assert_eq!(summarised["drained_s"].as_f64(), Some(predicted));
        assert_eq!(summarised["sent"].as_u64(), Some(40));
    }
    // ECS starts no task before a metric period and a task start: the model drains it minutes
    // after the stand-in consumer did.
    let ecs_gap = prediction["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["platform"] == "ecs")
        .unwrap();
    assert!(
        ecs_gap["predicted_drained_s"].as_f64().unwrap() > 60.0 + ecs_drained,
        "{ecs_gap}"
    );
    // The measured run's cost: ECS from the running tasks moto reports (none), Lambda unknown
    // without CloudWatch, and said so.
    let cost = |kind: &str| {
        summary["cost"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["platform"] == kind)
            .unwrap()
            .clone()
    };
    assert_eq!(
        cost("ecs")["cost"]["total_usd"].as_f64(),
        Some(0.0),
        "{}",
        cost("ecs")
    );
    assert!(
        cost("ecs")["method"]
            .as_str()
            .unwrap()
            .contains("0 task starts"),
        "{}",
        cost("ecs")
    );
    assert!(
        cost("lambda")["cost"].is_null()
            && cost("lambda")["method"]
                .as_str()
                .unwrap()
                .contains("no CloudWatch Invocations"),
        "{}",
        cost("lambda")
    );

    // samples.csv: the documented columns, one row per sample and platform.
    let csv = std::fs::read_to_string(out_dir.join("samples.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(COLUMNS));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.splitn(18, ',').collect()).collect();
    let ecs_rows = rows.iter().filter(|r| r[2] == "ecs").count();
    assert_eq!(ecs_rows, rows.iter().filter(|r| r[2] == "lambda").count());
    assert_eq!(ecs_rows * 2, rows.len());
    assert!(ecs_rows >= 5, "{ecs_rows} samples");
    assert!(
        rows.iter()
            .filter(|r| r[2] == "lambda")
            .all(|r| r[7].is_empty() && r[17].contains("cloudwatch")),
        "unknown workers stay empty and say why"
    );
    assert!(rows
        .iter()
        .any(|r| r[2] == "lambda" && r[3].parse::<u64>().unwrap() > 0));

    // chart.svg: SVG, with both series and their labels; Chromium draws it, not blank.
    let svg = std::fs::read_to_string(out_dir.join("chart.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("chart.svg is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: String = doc.descendants().filter_map(|n| n.text()).collect();
    for label in [
        "ECS Fargate",
        "Lambda",
        "Queue depth",
        "Workers",
        "seconds since the start",
    ] {
        assert!(texts.contains(label), "the chart says `{label}`");
    }
    let solid = |colour: &str| {
        doc.descendants()
            .filter(|n| {
                n.tag_name().name() == "polyline"
                    && n.attribute("stroke") == Some(colour)
                    && n.attribute("stroke-dasharray").is_none()
            })
            .count()
    };
    assert!(
        solid("#1F77B4") >= 1 && solid("#FF7F0E") >= 1,
        "both platforms' depth lines: {svg}"
    );
    // Measured against moto: the title says local stand-ins did the work, and the workers panel
    // draws no measured line (moto's running count of 0 is not the stand-ins'), it says why.
    assert!(
        summary["endpoint"]
            .as_str()
            .is_some_and(|e| e.starts_with("http://127.0.0.1")),
        "{}",
        summary["endpoint"]
    );
    assert!(texts.contains("measured against local stand-ins, not AWS"));
    assert!(
        texts.contains("ECS Fargate: no data (an emulator:")
            && texts.contains("local stand-ins did the work)"),
        "{texts}"
    );
    let lower_solid: Vec<_> = doc
        .descendants()
        .filter(|n| {
            n.tag_name().name() == "polyline"
                && ["#1F77B4", "#FF7F0E"].contains(&n.attribute("stroke").unwrap_or(""))
                && n.attribute("stroke-dasharray").is_none()
        })
        .map(|n| points(n.attribute("points").unwrap()))
        .filter(|p| p.iter().all(|(x, y)| *y > 350.0 && *x < legend_left(&svg)))
        .collect();
    assert!(
        lower_solid.is_empty(),
        "no measured worker line: {lower_solid:?}"
    );
    // The prediction: dashed, in each platform's colour, in both panels (the model knows the
    // workers moto does not show), each with its legend entry.
    let dashed = |colour: &str| {
        doc.descendants()
            .filter(|n| {
                n.tag_name().name() == "polyline"
                    && n.attribute("stroke") == Some(colour)
                    && n.attribute("stroke-dasharray").is_some()
            })
            .count()
    };
    assert!(
        dashed("#1F77B4") >= 4 && dashed("#FF7F0E") >= 4,
        "both platforms' predicted lines and legends, dashed: {svg}"
    );
    assert!(
        texts.contains("ECS Fargate: predicted (dashed)")
            && texts.contains("Lambda: predicted (dashed)")
    );
    // The `--count` burst: a triangle at its time, and the same triangle in each legend.
    let triangles = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "polygon" && n.attribute("fill") == Some("#5A5A5A"))
        .count();
    assert_eq!(triangles, 4, "{svg}");
    assert!(texts.contains("load sent: a burst at"), "{texts}");
    screenshot_is_not_blank(&out_dir.join("chart.svg"));
}

/// The `(x, y)` pairs of an SVG `points` attribute.
fn points(attribute: &str) -> Vec<(f64, f64)> {
    attribute
        .split_whitespace()
        .filter_map(|xy| {
            let (x, y) = xy.split_once(',')?;
            Some((x.parse().ok()?, y.parse().ok()?))
        })
        .collect()
}

/// The legend boxes of a chart (the rectangles in `chart::LEGEND_BORDER`'s colour), as
/// `(left, top, right, bottom)` pixels.
fn legend_boxes(svg: &str) -> Vec<(f64, f64, f64, f64)> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let num = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
    let c = replatform::experiment::chart::LEGEND_BORDER;
    let border = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
    doc.descendants()
        .filter(|n| n.tag_name().name() == "rect" && n.attribute("stroke") == Some(&border))
        .map(|n| {
            let (x, y) = (num(n, "x"), num(n, "y"));
            (x, y, x + num(n, "width"), y + num(n, "height"))
        })
        .collect()
}

fn legend_left(svg: &str) -> f64 {
    legend_boxes(svg)
        .iter()
        .map(|b| b.0)
        .fold(f64::INFINITY, f64::min)
}

/// A chart as headless Chromium draws it at the SVG's own size: its width and RGB pixels.
pub(crate) fn screenshot(svg: &Path) -> (usize, Vec<[u8; 3]>) {
    let png = svg.with_extension("png");
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--window-size=1000,700",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", svg.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("chromium is installed (scripts/test-tools.sh)");
    assert!(status.success(), "chromium failed: {status}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width as usize, pixels)
}

fn near(p: &[u8; 3], c: [u8; 3]) -> bool {
    p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 40)
}

const BLUE: [u8; 3] = [31, 119, 180];
const ORANGE: [u8; 3] = [255, 127, 14];

/// Renders the SVG in headless Chromium and checks the picture has the two series' colours, and
/// that no legend covers a plotted line: in the SVG every series' point lies left of the legend
/// boxes (but their swatches), and in the picture a legend box holds the series' colours only
/// in its swatches' column.
pub(crate) fn screenshot_is_not_blank(svg: &Path) {
    let (width, pixels) = screenshot(svg);
    let white = pixels.iter().filter(|p| near(p, [255, 255, 255])).count();
    assert!(
        white < pixels.len() * 98 / 100,
        "the screenshot is (nearly) blank"
    );
    assert!(
        pixels.iter().filter(|p| near(p, BLUE)).count() > 200,
        "ECS's blue line shows"
    );
    assert!(
        pixels.iter().filter(|p| near(p, ORANGE)).count() > 200,
        "Lambda's orange line shows"
    );

    let text = std::fs::read_to_string(svg).unwrap();
    let boxes = legend_boxes(&text);
    assert_eq!(boxes.len(), 2, "a legend per panel");
    let doc = roxmltree::Document::parse(&text).unwrap();
    let inside =
        |(x, y): (f64, f64), b: &(f64, f64, f64, f64)| x >= b.0 && x <= b.2 && y >= b.1 && y <= b.3;
    for n in doc.descendants().filter(|n| {
        n.tag_name().name() == "polyline"
            && ["#1F77B4", "#FF7F0E"].contains(&n.attribute("stroke").unwrap_or(""))
    }) {
        let line = points(n.attribute("points").unwrap());
        if boxes.iter().any(|b| line.iter().all(|p| inside(*p, b))) {
            continue; // a swatch
        }
        for p in &line {
            assert!(
                boxes.iter().all(|b| !inside(*p, b)),
                "a plotted point {p:?} lies in a legend box {boxes:?}"
            );
        }
    }
    for (left, top, right, bottom) in boxes {
        // The swatches: from 10 to 34 px into the box.
        let swatches = (left + 8.0) as usize..=(left + 36.0) as usize;
        let coloured: Vec<(usize, usize)> = (top as usize + 1..bottom as usize)
            .flat_map(|y| (left as usize + 1..right as usize).map(move |x| (x, y)))
            .filter(|(x, _)| !swatches.contains(x))
            .filter(|(x, y)| {
                let p = &pixels[y * width + x];
                near(p, BLUE) || near(p, ORANGE)
            })
            .collect();
        assert!(
            coloured.is_empty(),
            "a series' colour in the legend box, outside its swatches: {coloured:?}"
        );
    }
}

/// The chart as Chromium draws it, from samples made here: where nothing was measured (a pause
/// in sampling) no worker line is drawn, least of all one at zero, while a measured zero is.
#[test]
fn a_chart_draws_no_worker_line_where_nothing_was_measured() {
    use replatform::core::experiment::Sample;
    use replatform::core::side::Side;
    use replatform::experiment::chart::{render, Chart};

    // ECS: 2 tasks until 10 s, then 0 until 30 s; no sample from 30 s to 90 s (the sampler
    // stalled); 0 again after. Lambda: no worker figure at all (no CloudWatch).
    let mut samples = Vec::new();
    for t in (0..30).chain(90..120) {
        for platform in Side::BOTH {
            samples.push(Sample {
                elapsed_s: f64::from(t),
                platform,
                visible: Some(if t < 30 { 300 - 10 * t as u64 } else { 0 }),
                in_flight: Some(0),
                delayed: Some(0),
                workers: (platform == Side::Ecs).then_some(if t < 10 { 2 } else { 0 }),
                ..Default::default()
            });
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chart.svg");
    let svg = render(&Chart {
        title: "a pause in sampling".into(),
        platforms: &Side::BOTH,
        samples: &samples,
        load: Some((0.3, 0.5)),
        predicted: &[],
        workers_not_measured: None,
        no_data: replatform::experiment::chart::SEE_NOTES,
    })
    .unwrap();
    std::fs::write(&path, &svg).unwrap();
    assert!(svg.contains("Lambda: no data (see samples.csv"), "{svg}");

    // Where the measured ECS worker line is: its runs in the lower panel, in pixels.
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let runs: Vec<Vec<(f64, f64)>> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "polyline" && n.attribute("stroke") == Some("#1F77B4"))
        .map(|n| points(n.attribute("points").unwrap()))
        .filter(|p| p.len() > 2 && p.iter().all(|(_, y)| *y > 350.0))
        .collect();
    assert_eq!(runs.len(), 2, "the line breaks at the pause: {runs:?}");
    let zero = runs[1][0].1;
    let (pause_from, pause_to) = (runs[0].last().unwrap().0, runs[1][0].0);
    let (x_end, legend) = (runs[1].last().unwrap().0, legend_left(&svg));
    assert!(pause_to - pause_from > 100.0 && x_end < legend);

    let (width, pixels) = screenshot(&path);
    let blue_in = |xs: std::ops::Range<usize>| {
        let rows = (zero - 3.0) as usize..=(zero + 3.0) as usize;
        rows.flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|(x, y)| near(&pixels[y * width + x], BLUE))
            .count()
    };
    assert_eq!(
        blue_in(pause_from as usize + 6..pause_to as usize - 6),
        0,
        "no ECS worker line at zero in the pause ({pause_from}..{pause_to} px, row {zero})"
    );
    assert!(
        blue_in(pause_to as usize + 2..x_end as usize - 2) > 50,
        "the measured zero after the pause is drawn"
    );
    screenshot_is_not_blank(&path);
}

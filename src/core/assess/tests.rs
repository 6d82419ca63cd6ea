//! The traffic file, the ages and the costs on hand-computed cases.

use super::*;
use crate::core::config::{parse, Config};
use crate::core::render::builtin_ecs_template;

const T0: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

#[test]
fn times_read_as_rfc_3339_with_or_without_an_offset_or_as_epoch_seconds() {
    assert_eq!(parse_time("2026-01-01T00:00:00Z"), Ok(T0));
    assert_eq!(parse_time("2026-01-01T01:00:00+01:00"), Ok(T0));
    assert_eq!(parse_time("2025-12-31T23:30:00-00:30"), Ok(T0));
    assert_eq!(parse_time(&T0.to_string()), Ok(T0));
    assert!(parse_time("1767225600000")
        .unwrap_err()
        .contains("milliseconds"));
    assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
}

#[test]
fn a_file_with_every_column_reads_each_minute() {
    let t = parse_traffic(
        "time,sent,deleted,visible,oldest_age_s\n2026-01-01T00:00:00Z,3,2,1,4.5\n2026-01-01T00:01:00Z,0,1,0,0\n",
    )
    .unwrap();
    assert_eq!(t.start_unix_s, T0);
    assert_eq!(t.sent, [3.0, 0.0]);
    assert_eq!(t.deleted, Some(vec![2.0, 1.0]));
    assert_eq!(t.oldest_age_s, Some(vec![4.5, 0.0]));
    let only = parse_traffic("sent,time\n5,1767225600\n").unwrap();
    assert_eq!((only.sent, only.deleted), (vec![5.0], None));
}

#[test]
fn bad_files_are_refused_with_their_line() {
    let err = |text: &str| parse_traffic(text).unwrap_err();
    assert!(err("time,count\n1767225600,1\n").starts_with("line 1: unknown column `count`"));
    assert!(err("time,deleted\n1767225600,1\n").contains("lacks `time` or `sent`"));
    assert!(err("time,sent,sent\n1,1,1\n").contains("named twice"));
    assert!(err("time,sent\n").starts_with("line 2: no row"));
    let back = err("time,sent\n1767225660,1\n1767225600,1\n");
    assert!(
        back.starts_with("line 3: ") && back.contains("not after"),
        "{back}"
    );
    let gap = err("time,sent\n1767225600,1\n1767225660,1\n1767225780,1\n");
    assert!(
        gap.starts_with("line 4: ") && gap.contains("120 s"),
        "{gap}"
    );
    assert!(err("time,sent\n1767225600,-1\n").starts_with("line 2: `sent` is `-1`"));
    assert!(err("time,sent\n1767225600,1,2\n").starts_with("line 2:"));
}

#[test]
fn each_minute_is_spread_over_its_seconds_and_fractions_carry_over() {
    let flat = traffic(vec![60.0, 120.0]);
    let w = waves(&flat);
    assert_eq!(w.len(), 120);
    assert!(w[..60].iter().all(|w| w.count == 1));
    assert!(w[60..].iter().all(|w| w.count == 2));
    assert_eq!(w[60].at, Duration::from_secs(60));
    let trickle = traffic(vec![0.5; 4]);
    let w = waves(&trickle);
    assert_eq!(w.iter().map(|w| w.count).sum::<u64>(), 2);
    assert_eq!(w.len(), 2, "one message every two minutes");
}

#[test]
fn ages_are_matched_first_in_first_out() {
    let mut a = Ages::default();
    a.observe(0, 10, 0);
    a.observe(2, 10, 5); // 5 of the first 10 taken at 2 s
    a.observe(3, 20, 5); // 10 more sent at 3 s
    a.observe(3, 20, 3); // given back: nothing counts until above 5 again
    a.observe(4, 20, 15); // 5 of the first (age 4) and 5 of the second (age 1)
    a.close(10); // 5 still waiting at 10 s: age 7
    assert_eq!(
        a.histogram(),
        BTreeMap::from([(1, 5), (2, 5), (4, 5), (7, 5)])
    );
    assert_eq!((a.count(), a.unfinished), (20, 5));
    assert_eq!(a.quantile(0.5), Some(2.0));
    assert_eq!(a.quantile(0.99), Some(7.0));
    assert_eq!(Ages::default().quantile(0.5), None);
}

#[test]
fn costs_scale_to_a_30_day_month_and_the_grid_stays_under_the_reserved_concurrency() {
    assert_eq!(monthly(1.0, 1440), 30.0);
    assert_eq!(monthly(2.0, 7 * 1440), 2.0 * 30.0 / 7.0);
    assert_eq!(concurrency_candidates(1, None), [None]);
    assert_eq!(concurrency_candidates(5, Some(2)), [Some(2), Some(5)]);
    assert_eq!(
        concurrency_candidates(1000, Some(7)),
        [2, 5, 7, 10, 25, 50, 100, 1000].map(Some)
    );
    assert_eq!(memory_candidates(512), [128, 256, 512, 1024, 2048]);
    assert_eq!(memory_candidates(3008).last(), Some(&3008));
}

fn config(min: u32, max: u32) -> Config {
    let yaml = format!(
        "service: s\nenvironment:\n  SQS_MAX_NUM_MSGS: \"10\"\n  SQS_WAIT_SECONDS: \"10\"\nqueue:\n  visibility_timeout: 60s\necs:\n  cpu: 256\n  memory: 512\n  subnets: [subnet-0123456789abcdef0]\n  security_groups: [sg-0123456789abcdef0]\n  scaling:\n    min: {min}\n    max: {max}\nlambda:\n  memory: 512\n  entry_point: [python]\n  command: [app.handler]\n  working_directory: /app\n  timeout: 10s\n  reserved_concurrency: 5\n  trigger: {{ type: sqs, batch_size: 10, max_concurrency: 2 }}\n"
    );
    parse(&yaml).unwrap_or_else(|e| panic!("{e:?}\n{yaml}"))
}

/// A series of `sent` per minute from T0, no other column.
fn traffic(sent: Vec<f64>) -> Traffic {
    Traffic {
        start_unix_s: T0,
        sent,
        deleted: None,
        visible: None,
        oldest_age_s: None,
    }
}

/// The model's setup for `c` and its rendered ECS stack.
fn setup(c: &Config, inputs: &Inputs) -> Setup {
    let ecs = builtin_ecs_template(c).unwrap().unwrap();
    Setup::new(c, &ecs, inputs).unwrap()
}

fn report(min: u32, max: u32, sent: Vec<f64>) -> Report {
    let c = config(min, max);
    let traffic = traffic(sent);
    let inputs = Inputs {
        task_start: Duration::ZERO,
        ..Inputs::new(waves(&traffic), Duration::from_millis(100))
    };
    let setup = setup(&c, &inputs);
    let ready = Readiness {
        ready: true,
        problems: vec![],
    };
    assess(&setup, &traffic, &inputs, &Prices::builtin(), ready)
}

/// A Fargate task of 0.25 vCPU and 0.5 GB (x86_64), a 30-day month.
fn task_month() -> f64 {
    let p = Prices::builtin().fargate.x86_64;
    (0.25 * p.vcpu_hour + 0.5 * p.gb_hour) * 24.0 * 30.0
}

#[test]
fn a_flat_load_on_a_fixed_service_costs_its_tasks_all_month_and_waits_for_nothing() {
    // One message a second for an hour, two tasks from the start: each takes its message in
    // the second it arrives.
    let r = report(2, 2, vec![60.0; 60]);
    assert_eq!(r.period.minutes, 60);
    assert_eq!(r.period.end, "2026-01-01T01:00:00Z");
    let ecs = &r.platforms[0];
    let expected = 2.0 * task_month();
    assert!(
        (ecs.compute_monthly_usd - expected).abs() < expected * 0.02,
        "{} against {expected}",
        ecs.compute_monthly_usd
    );
    assert_eq!((ecs.age_p50_s, ecs.age_p99_s), (Some(0.0), Some(0.0)));
    assert_eq!(ecs.messages + ecs.unfinished, 3600);
    let lambda = &r.platforms[1];
    assert!(lambda.age_p99_s.unwrap() <= 5.0, "{lambda:?}");
    assert!(lambda.monthly_usd < ecs.monthly_usd);
    assert!(
        (ecs.monthly_usd - ecs.compute_monthly_usd - ecs.sqs_monthly_usd).abs() < 1e-9,
        "the total is compute and SQS"
    );
}

#[test]
fn a_burst_over_ecs_max_waits_its_turn_behind_one_task() {
    // 1,800 messages in the first minute (30 a second), one task taking about 9.6 a second
    // (batches of 10 at 100 ms each, plus two 20 ms calls): the k-th message is sent at k/30 s
    // and received at k/9.6 s, so the median waits about 64 s and the 99th percentile 126 s.
    let mut sent = vec![0.0; 10];
    sent[0] = 1800.0;
    let r = report(1, 1, sent);
    let ecs = &r.platforms[0];
    let (p50, p99) = (ecs.age_p50_s.unwrap(), ecs.age_p99_s.unwrap());
    assert!((55.0..=70.0).contains(&p50), "{p50}");
    assert!((115.0..=132.0).contains(&p99), "{p99}");
    // Lambda: 5 concurrent batches of 10 at most (reserved concurrency 5) beat one task.
    assert!(r.recommended.matches_ecs, "{:?}", r.recommended);
    assert!(r.recommended.age_p99_s.unwrap() <= p99);
    assert_eq!(r.recommended.candidates, 3 * 2 * 5);
}

#[test]
fn an_idle_period_costs_no_compute_on_either_platform_scaled_to_zero() {
    let r = report(0, 2, vec![0.0; 120]);
    for p in &r.platforms {
        assert_eq!(p.compute_monthly_usd, 0.0, "{p:?}");
        assert_eq!((p.age_p50_s, p.messages), (None, 0));
    }
}

/// The settings search replays the Lambda side alone: for every trigger setting it tries, what
/// it prices (Lambda's usage and message ages) is what the full replay gives.
#[test]
fn the_lambda_side_alone_replays_as_in_the_full_replay() {
    let c = config(1, 4);
    // A quiet hour, a burst, a steady trickle.
    let mut sent = vec![0.0; 60];
    sent.extend([900.0, 400.0]);
    sent.extend(vec![7.5; 120]);
    let traffic = traffic(sent);
    let minutes = traffic.minutes();
    let inputs = Inputs {
        window: Some(Duration::from_secs(minutes * 60)),
        interval: Duration::from_secs(60),
        ..Inputs::new(waves(&traffic), Duration::from_millis(150))
    };
    let base = setup(&c, &inputs);
    for (batch_size, max_concurrency) in [(10, Some(2)), (1, Some(5)), (5, None)] {
        let mut s = base.clone();
        s.lambda.trigger = Trigger::Sqs {
            batch_size,
            window_ms: 0,
            max_concurrency,
            provisioned: None,
        };
        // Sampled once a minute, and only at the period's ends, as the search replays it.
        let unsampled = Inputs {
            interval: Duration::from_secs(minutes * 60),
            ..inputs.clone()
        };
        let (full, alone) = (replay(&s, &inputs), replay_lambda(&s, &unsampled));
        assert_eq!(
            alone.run.samples.len(),
            4,
            "two a side: the start and the end"
        );
        let lambda = |r: &Replay| {
            r.run
                .usage
                .iter()
                .find(|u| u.platform == Side::Lambda)
                .cloned()
                .unwrap()
        };
        assert_eq!(
            lambda(&full),
            lambda(&alone),
            "{batch_size} {max_concurrency:?}"
        );
        assert_eq!(
            full.ages[1], alone.ages[1],
            "{batch_size} {max_concurrency:?}"
        );
        assert!(full.ages[1].count() > 0);
    }
}

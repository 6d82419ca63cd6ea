//! The model's rules on hand-computed cases, end to end: a config, its rendered template, a load.

use crate::core::outcome::Stopped;
use std::time::Duration;

use super::lambda::Provisioned;
use super::queue::Fifo;
use super::*;
use crate::core::config::parse;
use crate::core::experiment;
use crate::core::load::Wave;
use crate::core::render::builtin_ecs_template;
use crate::core::side::Side;

fn config(ecs_scaling: &str, lambda: &str) -> Config {
    let yaml = format!(
        "service: s\nenvironment:\n  SQS_MAX_NUM_MSGS: \"10\"\n  SQS_WAIT_SECONDS: \"10\"\nqueue:\n  visibility_timeout: 60s\necs:\n  subnets: [subnet-0123456789abcdef0]\n  security_groups: [sg-0123456789abcdef0]\n  scaling:\n{ecs_scaling}\nlambda:\n  entry_point: [python]\n  command: [app.handler]\n  working_directory: /app\n{lambda}\n"
    );
    parse(&yaml).unwrap_or_else(|e| panic!("{e:?}\n{yaml}"))
}

const SQS_TRIGGER: &str = "  timeout: 10s\n  trigger: { type: sqs }";

fn ecs_template(c: &Config) -> String {
    builtin_ecs_template(c).unwrap().unwrap()
}

fn burst(n: u64) -> Vec<Wave> {
    vec![Wave {
        at: Duration::ZERO,
        count: n,
    }]
}

fn simulate(c: &Config, inputs: &Inputs) -> Run {
    run(&Setup::new(c, &ecs_template(c), inputs).unwrap(), inputs)
}

fn of(r: &Run, platform: Side) -> Vec<&Sample> {
    r.samples
        .iter()
        .filter(|s| s.platform == platform)
        .collect()
}

fn at(r: &Run, platform: Side, t: f64) -> Sample {
    of(r, platform)
        .into_iter()
        .find(|s| s.elapsed_s >= t)
        .cloned()
        .unwrap_or_else(|| panic!("no {platform} sample at {t}"))
}

fn inputs(n: u64, per_message_ms: u64) -> Inputs {
    Inputs {
        interval: Duration::from_secs(1),
        ..Inputs::new(burst(n), Duration::from_millis(per_message_ms))
    }
}

#[test]
fn ecs_ramps_by_its_add_steps_and_stops_at_max() {
    // A backlog that stays above 100 visible: each minute's re-fire adds 5 (the cooldown is
    // 60 s), capped at max 12.
    let c = config(
        "    max: 12\n    scale_out: [{ from: 1, add: 1 }, { from: 100, add: 5 }]",
        SQS_TRIGGER,
    );
    let r = simulate(
        &c,
        &Inputs {
            window: Some(Duration::from_secs(600)),
            ..inputs(100_000, 1_000)
        },
    );
    let desired = |t: f64| at(&r, Side::Ecs, t).ecs_desired.unwrap();
    // Minute 0's datapoint is published at 02:00 (its end plus a 60 s delay): the first alarm.
    // A sample shows the instant before that instant's decisions.
    assert_eq!(desired(120.0), 0);
    assert_eq!(desired(121.0), 5);
    assert_eq!(desired(180.0), 5);
    assert_eq!(desired(181.0), 10);
    assert_eq!(desired(241.0), 12, "capped at max");
    assert_eq!(desired(599.0), 12);
    assert!(
        r.decisions
            .iter()
            .any(|d| d.rule == "max" && d.text.contains("capped by MaxCapacity 12")),
        "{:#?}",
        r.decisions
    );
    assert_eq!(r.bottlenecks[0].name, "max");
}

#[test]
fn no_task_works_before_a_metric_period_plus_a_task_start() {
    let c = config("    max: 10", SQS_TRIGGER);
    let r = simulate(
        &c,
        &Inputs {
            task_start: Duration::from_secs(45),
            window: Some(Duration::from_secs(300)),
            ..inputs(500, 100)
        },
    );
    let s = experiment::summarise(Side::Ecs, &of(&r, Side::Ecs), None);
    // The alarm sees minute 0 at 02:00 (60 s period + 60 s delay), the task runs 45 s later.
    assert_eq!(s.first_worker_s, Some(165.0));
    assert!(s.first_receive_s.unwrap() >= 165.0);
    assert_eq!(at(&r, Side::Ecs, 160.0).ecs_pending, Some(5));
}

#[test]
fn scale_in_to_zero_only_after_scale_in_after_of_an_empty_queue() {
    let c = config("    max: 10\n    scale_in_after: 3m", SQS_TRIGGER);
    let r = simulate(
        &c,
        &Inputs {
            task_start: Duration::from_secs(30),
            ..inputs(50, 100)
        },
    );
    assert_eq!(r.stopped, Stopped::Drained);
    let ecs = of(&r, Side::Ecs);
    let empty_from = ecs
        .iter()
        .rev()
        .find(|s| s.depth() != Some(0))
        .map_or(0.0, |s| s.elapsed_s)
        + 1.0;
    let zero_from = ecs
        .iter()
        .rev()
        .find(|s| s.ecs_desired != Some(0))
        .unwrap()
        .elapsed_s
        + 1.0;
    // Three empty minutes after the last busy minute ends, plus the 60 s publication delay.
    let last_busy_minute_end = (empty_from / 60.0).ceil() * 60.0;
    assert!(
        zero_from >= last_busy_minute_end + 3.0 * 60.0 + 60.0,
        "desired 0 at {zero_from}, empty from {empty_from}"
    );
    assert!(
        zero_from <= last_busy_minute_end + 5.0 * 60.0,
        "desired 0 at {zero_from}, empty from {empty_from}"
    );
    // Never while anything is in flight.
    assert!(ecs
        .iter()
        .filter(|s| s.ecs_desired == Some(0) && s.elapsed_s > 120.0)
        .all(|s| s.in_flight == Some(0)));
    assert!(r.decisions.iter().any(|d| d.rule == "sigterm"));
}

#[test]
fn the_articles_exact_capacity_of_five_stays_at_five() {
    // The seed article's (docs/seed-article.md) scale-out: "Set to 5" (ExactCapacity), through a
    // template override.
    let c = config(
        "    max: 20",
        "  reserved_concurrency: 1\n  timeout: 10s\n  trigger: { type: sqs }",
    );
    let template = ecs_template(&c)
        .replace(
            "AdjustmentType: ChangeInCapacity",
            "AdjustmentType: ExactCapacity",
        )
        .replace("ScalingAdjustment: 1\n", "ScalingAdjustment: 5\n");
    let inputs = Inputs {
        window: Some(Duration::from_secs(900)),
        ..inputs(20_000, 500)
    };
    let r = run(&Setup::new(&c, &template, &inputs).unwrap(), &inputs);
    let ecs = of(&r, Side::Ecs);
    assert_eq!(
        ecs.iter().filter_map(|s| s.ecs_desired).max(),
        Some(5),
        "ECS desired stays at 5"
    );
    assert!(ecs
        .iter()
        .filter(|s| s.elapsed_s >= 180.0)
        .all(|s| s.ecs_desired == Some(5)));
    assert!(
        r.decisions.iter().any(|d| d.rule == "exact"),
        "{:#?}",
        r.decisions
    );
    assert_eq!(r.bottlenecks[0].name, "ExactCapacity");
    // Lambda with reserved concurrency 1: concurrency stays at 1.
    let lambda = of(&r, Side::Lambda);
    assert_eq!(
        lambda.iter().filter_map(|s| s.workers).max(),
        Some(1),
        "Lambda concurrency stays at 1"
    );
    assert_eq!(r.bottlenecks[1].name, "reserved concurrency");
}

#[test]
fn lambdas_pollers_start_at_five_and_add_300_a_minute_to_the_ceiling() {
    let c = config("    max: 10", "  timeout: 900s\n  trigger: { type: sqs }");
    // Messages that take long: every batch stays busy, the pollers are the workers.
    let r = simulate(
        &c,
        &Inputs {
            window: Some(Duration::from_secs(330)),
            account_concurrency: 10_000,
            ..inputs(5_000_000, 60_000)
        },
    );
    let workers = |t: f64| at(&r, Side::Lambda, t).workers.unwrap();
    assert_eq!(workers(30.0), 5);
    assert_eq!(workers(61.0), 305);
    assert_eq!(workers(121.0), 605);
    assert_eq!(workers(181.0), 905);
    assert_eq!(workers(241.0), 1_205);
    assert_eq!(workers(299.0), 1_205);
    assert_eq!(workers(301.0), 1_250, "the ceiling");
    assert!(
        r.decisions
            .iter()
            .any(|d| d.text.contains("Lambda: 5 -> 305 pollers at 01:00")),
        "{:#?}",
        r.decisions
            .iter()
            .filter(|d| d.platform == Side::Lambda)
            .collect::<Vec<_>>()
    );
}

#[test]
fn max_concurrency_reserved_and_account_concurrency_cap_lambda() {
    let long = |lambda: &str, account: u32| {
        let c = config("    max: 10", lambda);
        simulate(
            &c,
            &Inputs {
                window: Some(Duration::from_secs(200)),
                account_concurrency: account,
                ..inputs(100_000, 60_000)
            },
        )
    };
    let peak = |r: &Run| {
        of(r, Side::Lambda)
            .iter()
            .filter_map(|s| s.workers)
            .max()
            .unwrap()
    };
    let r = long(
        "  timeout: 900s\n  trigger: { type: sqs, max_concurrency: 20 }",
        1000,
    );
    assert_eq!(peak(&r), 20);
    assert!(
        r.decisions
            .iter()
            .any(|d| d.text.contains("capped by max_concurrency 20")),
        "{:#?}",
        r.decisions
    );
    assert_eq!(r.bottlenecks[1].name, "max_concurrency");
    let r = long(
        "  timeout: 900s\n  reserved_concurrency: 50\n  trigger: { type: sqs }",
        1000,
    );
    assert_eq!(peak(&r), 50);
    assert!(
        of(&r, Side::Lambda)
            .iter()
            .any(|s| s.lambda_throttles.is_some_and(|t| t > 0)),
        "pollers beyond the reserved concurrency are throttled"
    );
    assert_eq!(r.bottlenecks[1].name, "reserved concurrency");
    let r = long("  timeout: 900s\n  trigger: { type: sqs }", 100);
    assert_eq!(peak(&r), 100);
    assert_eq!(r.bottlenecks[1].name, "account concurrency");
}

#[test]
fn provisioned_pollers_start_at_their_minimum_and_ramp_by_1000() {
    let c = config("    max: 10", "  timeout: 900s\n  trigger: { type: sqs }");
    let r = simulate(
        &c,
        &Inputs {
            window: Some(Duration::from_secs(200)),
            account_concurrency: 100_000,
            provisioned: Some(Provisioned {
                min_pollers: 10,
                max_pollers: 150,
            }),
            ..inputs(1_000_000, 60_000)
        },
    );
    let workers = |t: f64| at(&r, Side::Lambda, t).workers.unwrap();
    assert_eq!(workers(30.0), 100);
    assert_eq!(workers(61.0), 1_100);
    assert_eq!(workers(121.0), 1_500, "max pollers 150 x 10");
    let with_max = config(
        "    max: 10",
        "  trigger: { type: sqs, max_concurrency: 5 }",
    );
    let i = Inputs {
        provisioned: Some(Provisioned {
            min_pollers: 2,
            max_pollers: 2,
        }),
        ..inputs(1, 1)
    };
    assert!(Setup::new(&with_max, &ecs_template(&with_max), &i)
        .unwrap_err()
        .contains("docs/pitfalls.md#p27"));
}

#[test]
fn lambda_scales_back_down_when_the_queue_empties() {
    let c = config("    max: 10", "  timeout: 60s\n  trigger: { type: sqs }");
    let r = simulate(
        &c,
        &Inputs {
            window: Some(Duration::from_secs(400)),
            ..inputs(20_000, 100)
        },
    );
    let downs: Vec<&Decision> = r
        .decisions
        .iter()
        .filter(|d| d.platform == Side::Lambda && d.text.contains("the queue is empty"))
        .collect();
    assert!(!downs.is_empty(), "{:#?}", r.decisions);
    assert!(
        downs.iter().any(|d| d.text.contains("-> 2 pollers")),
        "as few as 2 without max_concurrency: {downs:#?}"
    );
}

#[test]
fn the_schedule_trigger_works_the_queue_once_per_rate() {
    // A rate of 1m, reserved concurrency 1, a 60 s timeout and a poll margin of 10 + 60 s
    // (SQS_WAIT_SECONDS + SQS_VISIBILITY_TO): the handler never polls.
    let mut c = config(
        "    max: 10",
        "  timeout: 60s\n  reserved_concurrency: 1\n  trigger: { type: schedule, rate: 1m }",
    );
    c.environment.insert(
        "SQS_VISIBILITY_TO".into(),
        crate::core::config::EnvValue("60".into()),
    );
    let r = simulate(
        &c,
        &Inputs {
            window: Some(Duration::from_secs(300)),
            ..inputs(100, 100)
        },
    );
    assert_eq!(at(&r, Side::Lambda, 299.0).visible, Some(100));
    assert_eq!(r.bottlenecks[1].name, "timeout");
    // With room to poll (margin 10 + 15 s) each invocation drains the queue, then stops at the
    // first empty receive.
    let mut c = config(
        "    max: 10",
        "  timeout: 120s\n  reserved_concurrency: 1\n  trigger: { type: schedule, rate: 1m }",
    );
    c.environment.insert(
        "SQS_VISIBILITY_TO".into(),
        crate::core::config::EnvValue("15".into()),
    );
    let r = simulate(
        &c,
        &Inputs {
            window: Some(Duration::from_secs(200)),
            ..Inputs {
                sends: vec![Wave {
                    at: Duration::from_secs(15),
                    count: 100,
                }],
                ..inputs(0, 100)
            }
        },
    );
    // Sent at 00:15, after the 00:00 invocation's 10 s long poll ended empty: the 01:00 one
    // takes them all.
    assert_eq!(at(&r, Side::Lambda, 59.0).visible, Some(100));
    let drained = of(&r, Side::Lambda)
        .into_iter()
        .find(|s| s.elapsed_s > 60.0 && s.depth() == Some(0))
        .unwrap()
        .elapsed_s;
    // Ten batches of 10 x 100 ms plus 40 ms of calls each.
    assert!((70.0..=72.0).contains(&drained), "drained at {drained}");
    assert_eq!(
        of(&r, Side::Lambda).iter().filter_map(|s| s.workers).max(),
        Some(1)
    );
    assert_eq!(r.bottlenecks[1].name, "schedule rate");
}

#[test]
fn a_fifo_queue_with_one_group_is_worked_one_batch_at_a_time() {
    let c = config("    max: 10", "  timeout: 60s\n  trigger: { type: sqs }");
    let r = simulate(
        &c,
        &Inputs {
            fifo: Some(Fifo {
                groups: 1,
                high_throughput: false,
            }),
            window: Some(Duration::from_secs(100)),
            ..inputs(1_000, 100)
        },
    );
    let lambda = of(&r, Side::Lambda);
    assert!(
        lambda.iter().all(|s| s.in_flight.unwrap() <= 10),
        "one group: one batch in flight at most"
    );
    assert!(lambda.iter().filter_map(|s| s.workers).max().unwrap() <= 1);
    // Ten groups: ten batches at once.
    let r = simulate(
        &c,
        &Inputs {
            fifo: Some(Fifo {
                groups: 10,
                high_throughput: false,
            }),
            window: Some(Duration::from_secs(100)),
            ..inputs(100_000, 1_000)
        },
    );
    assert_eq!(at(&r, Side::Lambda, 90.0).in_flight, Some(100));
}

#[test]
fn failing_messages_reach_the_dead_letter_queue() {
    let c = config("    max: 10", "  timeout: 10s\n  trigger: { type: sqs }");
    let r = simulate(
        &c,
        &Inputs {
            poison: 3,
            ..inputs(50, 10)
        },
    );
    assert_eq!(r.stopped, Stopped::Drained);
    for p in Side::BOTH {
        let s = experiment::summarise(p, &of(&r, p), Some(0.0));
        assert_eq!((s.dead_lettered, s.processed), (Some(3), Some(47)), "{p}");
    }
}

#[test]
fn the_same_inputs_give_the_same_run_and_usage_adds_up() {
    let c = config("    max: 10", SQS_TRIGGER);
    let i = inputs(3_000, 50);
    let a = simulate(&c, &i);
    assert_eq!(a, simulate(&c, &i));
    for u in &a.usage {
        assert_eq!(u.messages, 3_000, "{}", u.platform);
    }
    match &a.usage[0].compute {
        Compute::Fargate { task_seconds, .. } => assert!(task_seconds.iter().all(|s| *s >= 60)),
        other => panic!("{other:?}"),
    }
    match &a.usage[1].compute {
        // 300 batches of 10 x 50 ms.
        Compute::Lambda {
            invocations,
            billed_ms,
            ..
        } => assert_eq!((*invocations, *billed_ms), (300, 150_000)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_worker_setting_is_refused() {
    let mut c = config("    max: 10", SQS_TRIGGER);
    c.environment.insert(
        "SQS_MAX_NUM_MSGS".into(),
        crate::core::config::EnvValue("50".into()),
    );
    assert!(Setup::new(&c, &ecs_template(&c), &inputs(1, 1))
        .unwrap_err()
        .contains("`SQS_MAX_NUM_MSGS` is `50`"));
}

#[test]
fn the_bridge_scales_as_the_sqs_trigger_it_is_fed_by() {
    // The same mapping feeds both: the same pollers, the same drain (docs/bridge.md).
    let sqs = config(
        "    max: 10",
        "  timeout: 10s\n  trigger: { type: sqs, max_concurrency: 20 }",
    );
    let bridge = config(
        "    max: 10",
        "  timeout: 10s\n  trigger: { type: bridge, max_concurrency: 20 }",
    );
    assert!(bridge.lambda.trigger.is_bridge());
    let i = inputs(20_000, 200);
    let (a, b) = (simulate(&sqs, &i), simulate(&bridge, &i));
    let lambda = |r: &Run| {
        of(r, Side::Lambda)
            .into_iter()
            .map(|s| (s.elapsed_s, s.workers, s.visible))
            .collect::<Vec<_>>()
    };
    assert_eq!(lambda(&a), lambda(&b));
    assert!(
        of(&b, Side::Lambda).iter().any(|s| s.workers == Some(20)),
        "max_concurrency caps the bridge's pollers"
    );
}

/// Waves every `gap` seconds from `from`, `n` of them, `count` messages each.
fn every(from: u64, gap: u64, n: u64, count: u64) -> Vec<Wave> {
    (0..n)
        .map(|k| Wave {
            at: Duration::from_secs(from + k * gap),
            count,
        })
        .collect()
}

#[test]
fn quiet_seconds_stepped_at_once_give_the_run_of_every_second() {
    // Loads with quiet seconds between sends: a trickle, bursts past ECS's max, an idle hour.
    let mut sparse = every(0, 7, 200, 1);
    sparse.extend(every(1_500, 45, 40, 3));
    sparse.extend(every(3_600 + 1_234, 1, 30, 400));
    sparse.extend(every(9_000, 90, 20, 2));
    let fifo = Some(Fifo {
        groups: 3,
        high_throughput: false,
    });
    type Shape = Box<dyn Fn(&mut Inputs)>;
    let cases: Vec<(&str, &str, Shape)> = vec![
        ("    max: 10", SQS_TRIGGER, Box::new(|_| {})),
        // Tasks that never stop: the ECS side long-polls through every quiet second.
        ("    min: 1\n    max: 4", "  timeout: 10s\n  reserved_concurrency: 3\n  trigger: { type: sqs, batch_size: 5, max_concurrency: 2 }", Box::new(|_| {})),
        ("    min: 2\n    max: 4", "  timeout: 10s\n  trigger: { type: sqs, max_batching_window: 20s }", Box::new(|i| i.poison = 5)),
        ("    max: 10", SQS_TRIGGER, Box::new(move |i| i.fifo = fifo)),
        ("    max: 10", SQS_TRIGGER, Box::new(|i| i.delay = Duration::from_secs(30))),
        ("    max: 10", SQS_TRIGGER, Box::new(|i| {
            i.provisioned = Some(Provisioned { min_pollers: 2, max_pollers: 4 })
        })),
        ("    max: 10", "  timeout: 2m\n  trigger: { type: schedule, rate: 1m }", Box::new(|_| {})),
    ];
    for (k, (ecs_scaling, lambda, shape)) in cases.iter().enumerate() {
        let c = config(ecs_scaling, lambda);
        for interval in [5, 60] {
            let mut i = Inputs {
                interval: Duration::from_secs(interval),
                window: Some(Duration::from_secs(4 * 3600)),
                ..Inputs::new(sparse.clone(), Duration::from_millis(300))
            };
            shape(&mut i);
            let setup = Setup::new(&c, &ecs_template(&c), &i).unwrap();
            for ecs in [true, false] {
                // Each second's counts; a span reports its last second, the ones before it
                // unchanged.
                let mut every_second = Vec::new();
                let stepped = run_every_second(&setup, &i, ecs, &mut |t| every_second.push(t));
                let mut reported: Vec<Tick> = Vec::new();
                let spanned = run_sides(&setup, &i, ecs, true, &mut |t| reported.push(t));
                let mut filled: Vec<Tick> = Vec::new();
                let reported_len = reported.len();
                for t in reported {
                    while let Some(last) = filled.last().copied() {
                        if last.at_ms + TICK_MS >= t.at_ms {
                            break;
                        }
                        filled.push(Tick {
                            at_ms: last.at_ms + TICK_MS,
                            ..last
                        });
                    }
                    filled.push(t);
                }
                let case = format!("case {k}, every {interval} s, ecs {ecs}");
                if !lambda.contains("schedule") {
                    assert!(
                        4 * reported_len < 3 * filled.len(),
                        "{case}: quiet seconds were stepped at once ({reported_len} steps of {})",
                        filled.len()
                    );
                }
                // Compared whole; the message shows the parts that usually tell.
                assert!(
                    stepped == spanned,
                    "{case}: usage {:?} against {:?}",
                    stepped.usage,
                    spanned.usage
                );
                assert!(
                    every_second == filled,
                    "{case}: the counts of a second differ"
                );
                assert!(
                    spanned.usage[1].messages > 5_000,
                    "{case}: {:?}",
                    spanned.usage[1]
                );
            }
        }
    }
}

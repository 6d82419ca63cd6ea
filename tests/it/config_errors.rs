//! Every config error and lint rule, as the user reads it (message snapshots).

use replatform::core::{config, lint};
use replatform::ui::diagnostics;
use serde_yaml_ng::Value as V;

use crate::common::{variant, yaml, BASE};

/// What `validate` prints for a config text: its errors, or its lint findings.
fn report(text: &str) -> String {
    let found = match config::parse(text) {
        Err(errors) => errors,
        Ok(c) => {
            let places = replatform::core::locate::index(text);
            let mut ds = lint::lint(&c);
            for d in &mut ds {
                d.location = replatform::core::locate::find(&places, &d.path).map(|p| p.value);
            }
            ds
        }
    };
    assert!(!found.is_empty(), "expected a diagnostic for:\n{text}");
    found
        .iter()
        .map(|d| diagnostics::render(d, "replatform.yaml", text, false))
        .collect::<Vec<_>>()
        .join("\n")
}

macro_rules! case {
    ($name:ident, $text:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), report(&$text));
        }
    };
}

#[test]
fn base_config_is_clean() {
    let c = config::parse(BASE).unwrap();
    assert_eq!(lint::lint(&c), vec![]);
}

// The shape of the file.
case!(empty_file, "# nothing yet\n");
case!(
    syntax_error,
    "service: a\necs:\n  subnets: [subnet-1\n  cpu: 256\n"
);
case!(unknown_top_level_key, BASE.replace("service:", "servce:"));
// Structure mistakes: each points at the line that is wrong and says how to indent it.
case!(
    structure_key_indented_one_space_too_far,
    BASE.replace(
        "  security_groups: [sg-0a1b2c3d]",
        "   security_groups: [sg-0a1b2c3d]"
    )
);
case!(
    structure_trigger_type_moved_out_one_level,
    BASE.replace(
        "  trigger:\n    type: sqs\n    max_concurrency: 5",
        "  trigger:\n  type: sqs\n    max_concurrency: 5"
    )
);
case!(
    structure_key_moved_to_column_zero,
    BASE.replace("  working_directory: /app\n", "working_directory: /app\n")
);
case!(
    structure_key_moved_out_of_its_section,
    BASE.replace(
        "  security_groups: [sg-0a1b2c3d]\n",
        "  security_groups: [sg-0a1b2c3d]\n  scaling:\n    min: 0\n  max: 4\n"
    )
);
case!(
    production_queue_of_an_entry_handed_to_the_workers,
    crate::common::several_queues().replace(
        "environment:\n  LOG_LEVEL: info\n",
        "environment:\n  LOG_LEVEL: info\n  EVENTS: '{\"events\":\"https://sqs.eu-west-1.amazonaws.com/123456789012/prod-orders-events\"}'\n  AUDIT: orders-audit\n"
    )
);
case!(
    schedule_timeout_shorter_than_its_rate,
    variant(
        BASE,
        &[
            ("lambda.trigger", yaml("{type: schedule, rate: 1m}")),
            ("lambda.reserved_concurrency", V::from(1)),
        ]
    )
);
case!(
    duration_in_words,
    variant(BASE, &[("lambda.timeout", V::from("1 minute"))])
);
case!(
    structure_section_key_at_the_top_level,
    BASE.replace("  trigger:\n    type: sqs\n    max_concurrency: 5\n", "")
        + "trigger:\n  type: sqs\n"
);
case!(
    unknown_nested_key,
    variant(BASE, &[("ecs.scalng", yaml("{max: 3}"))])
);
case!(
    unknown_trigger_key,
    variant(BASE, &[("lambda.trigger.batchsize", V::from(10))])
);
case!(
    unknown_key_far_from_any,
    variant(BASE, &[("queue.zzzzzzzz", V::from(1))])
);
case!(missing_subnets, variant(BASE, &[("ecs.subnets", V::Null)]));
case!(
    missing_trigger,
    variant(BASE, &[("lambda.trigger", V::Null)])
);
case!(
    unknown_trigger_type,
    variant(BASE, &[("lambda.trigger", yaml("{type: sns}"))])
);
case!(
    unknown_platform,
    variant(BASE, &[("image.platform", V::from("linux/arm46"))])
);
case!(
    bad_duration,
    variant(BASE, &[("queue.visibility_timeout", V::from("5x"))])
);
case!(wrong_type, variant(BASE, &[("ecs.cpu", V::from("a lot"))]));

// Single values AWS would reject.
case!(
    bad_service_name,
    variant(BASE, &[("service", V::from("Orders_Worker"))])
);
case!(bad_region, variant(BASE, &[("region", V::from("europe"))]));
case!(
    fargate_pair,
    variant(BASE, &[("ecs.memory", V::from(4096))])
);
case!(
    fargate_pair_range,
    variant(
        BASE,
        &[("ecs.cpu", V::from(1024)), ("ecs.memory", V::from(1024))]
    )
);
case!(fargate_cpu, variant(BASE, &[("ecs.cpu", V::from(300))]));
case!(
    relative_working_directory,
    variant(BASE, &[("lambda.working_directory", V::from("app"))])
);
case!(
    lambda_memory_and_timeout,
    variant(
        BASE,
        &[
            ("lambda.memory", V::from(64)),
            ("lambda.timeout", V::from("901s"))
        ]
    )
);
case!(
    reserved_concurrency_zero,
    variant(BASE, &[("lambda.reserved_concurrency", V::from(0))])
);
case!(
    max_concurrency_below_two,
    variant(BASE, &[("lambda.trigger.max_concurrency", V::from(1))])
);
case!(
    empty_entry_point,
    variant(BASE, &[("lambda.entry_point", yaml("[]"))])
);
case!(
    reserved_environment,
    variant(
        BASE,
        &[(
            "environment",
            yaml("{AWS_REGION: x, SQS_QUEUE_URL: y, 9LIVES: z}")
        )]
    )
);
case!(
    not_ids,
    variant(
        BASE,
        &[
            ("ecs.subnets", yaml("[sub-1]")),
            ("ecs.security_groups", yaml("[]"))
        ]
    )
);
case!(
    scale_in_after_not_minutes,
    variant(BASE, &[("ecs.scaling.scale_in_after", V::from("90s"))])
);
case!(
    step_from_zero,
    variant(
        BASE,
        &[("ecs.scaling.scale_out", yaml("[{from: 0, add: 0}]"))]
    )
);
case!(
    schedule_rate_too_fast,
    variant(
        BASE,
        &[("lambda.trigger", yaml("{type: schedule, rate: 30s}"))]
    )
);
case!(
    log_retention,
    variant(BASE, &[("logs.retention", V::from("2d"))])
);
case!(
    big_batch_without_window,
    variant(BASE, &[("lambda.trigger.batch_size", V::from(100))])
);
case!(
    queue_limits,
    variant(
        BASE,
        &[
            ("queue.retention", V::from("20d")),
            ("queue.dead_letter", yaml("{max_receive_count: 0}"))
        ]
    )
);
case!(
    bad_repository,
    variant(BASE, &[("image.repository", V::from("Orders"))])
);

// Lint: the settings AWS accepts one by one but that fail together or lose messages.
case!(
    visibility_below_timeout,
    variant(BASE, &[("queue.visibility_timeout", V::from("20s"))])
);
case!(
    visibility_below_six_times,
    variant(BASE, &[("queue.visibility_timeout", V::from("60s"))])
);
case!(
    max_concurrency_above_reserved,
    variant(BASE, &[("lambda.trigger.max_concurrency", V::from(10))])
);
case!(
    reserved_concurrency_one_with_sqs,
    variant(
        BASE,
        &[
            ("lambda.reserved_concurrency", V::from(1)),
            ("lambda.trigger.max_concurrency", V::Null)
        ]
    )
);
case!(
    reserved_without_max_concurrency,
    variant(BASE, &[("lambda.trigger.max_concurrency", V::Null)])
);
case!(
    steps_not_ascending,
    variant(
        BASE,
        &[(
            "ecs.scaling.scale_out",
            yaml("[{from: 10, add: 1}, {from: 10, add: 2}, {from: 5, add: 3}]")
        )]
    )
);
case!(
    min_above_max,
    variant(
        BASE,
        &[
            ("ecs.scaling.min", V::from(4)),
            ("ecs.scaling.max", V::from(2))
        ]
    )
);
case!(
    dead_letter_off,
    variant(BASE, &[("queue.dead_letter", V::from(false))])
);
case!(
    schedule_visibility_below_timeout,
    variant(
        BASE,
        &[
            ("lambda.trigger", yaml("{type: schedule}")),
            ("queue.visibility_timeout", V::from("10s"))
        ]
    )
);
case!(
    secret_in_environment,
    variant(BASE, &[("environment", yaml("{DB_PASSWORD: hunter2}"))])
);

#[test]
fn defaults_fill_what_is_left_out() {
    let c = config::parse(BASE).unwrap();
    assert_eq!(c.repository(), "orders-worker");
    assert_eq!(
        (
            c.ecs.cpu,
            c.ecs.memory,
            c.ecs.scaling.min,
            c.ecs.scaling.max
        ),
        (256, 512, 0, 10)
    );
    assert_eq!(
        c.ecs.scaling.scale_out,
        vec![
            config::Step { from: 1, add: 1 },
            config::Step { from: 100, add: 5 }
        ]
    );
    assert_eq!(
        (
            c.ecs.scaling.scale_out_cooldown.0,
            c.ecs.scaling.scale_in_after.0
        ),
        (60, 300)
    );
    assert_eq!(
        (
            c.queues()[0].queue.finders()[0].var(),
            c.queues()[0].queue.retention.0,
            c.queues()[0].queue.dead_letter.max_receive_count
        ),
        ("SQS_QUEUE_URL", 345_600, Some(5))
    );
    assert_eq!(
        (c.lambda.memory, c.lambda.vpc, c.image.platform.as_str()),
        (512, false, "linux/amd64")
    );
    assert_eq!(
        c.lambda.trigger,
        config::Trigger::Sqs(config::SqsTrigger {
            batch_size: 10,
            max_batching_window: replatform::core::duration::Secs(0),
            max_concurrency: Some(5),
            provisioned_pollers: None
        })
    );
    let sched = config::parse(&variant(
        BASE,
        &[("lambda.trigger", yaml("{type: schedule}"))],
    ))
    .unwrap();
    assert_eq!(
        sched.lambda.trigger,
        config::Trigger::Schedule(config::ScheduleTrigger {
            rate: replatform::core::duration::Secs(60)
        })
    );
}

#[test]
fn environment_scalars_become_text_and_dead_letter_true_is_default() {
    let c = config::parse(&variant(
        BASE,
        &[
            ("environment", yaml("{N: 10, F: 1.5, B: true, S: x}")),
            ("queue.dead_letter", V::from(true)),
        ],
    ))
    .unwrap();
    let env: Vec<(&str, &str)> = c
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.0.as_str()))
        .collect();
    assert_eq!(env, [("B", "true"), ("F", "1.5"), ("N", "10"), ("S", "x")]);
    assert_eq!(c.queues()[0].queue.dead_letter.max_receive_count, Some(5));
}

// The fields a real worker needs.
const SM: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/db-AbCdEf";
case!(
    fifo_with_batching_window,
    variant(
        BASE,
        &[
            ("queue.fifo", V::from(true)),
            ("lambda.trigger.max_batching_window", V::from("5s"))
        ]
    )
);
case!(
    fifo_batch_over_ten,
    variant(
        BASE,
        &[
            ("queue.fifo", V::from(true)),
            ("lambda.trigger.batch_size", V::from(100))
        ]
    )
);
case!(
    provisioned_pollers_with_max_concurrency,
    variant(
        BASE,
        &[(
            "lambda.trigger.provisioned_pollers",
            yaml("{min: 2, max: 10}")
        )]
    )
);
case!(
    provisioned_pollers_out_of_range,
    variant(
        BASE,
        &[
            ("lambda.trigger.max_concurrency", V::Null),
            (
                "lambda.trigger.provisioned_pollers",
                yaml("{min: 1, max: 3000}")
            )
        ]
    )
);
case!(
    provisioned_pollers_on_schedule,
    variant(
        BASE,
        &[(
            "lambda.trigger",
            yaml("{type: schedule, provisioned_pollers: {min: 2, max: 4}}")
        )]
    )
);
case!(
    malformed_arns,
    variant(
        BASE,
        &[
            ("secrets", yaml("{DB_PASSWORD: orders/db, TOKEN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x:key'}")),
            ("permissions", yaml("{managed_policies: [AmazonS3ReadOnlyAccess], boundary: 'arn:aws:iam::123456789012:role/boundary'}")),
        ]
    )
);
case!(
    statement_shape,
    variant(
        BASE,
        &[(
            "permissions.statements",
            yaml("[{Effect: allow, Action: [dynamodb PutItem], Resource: [orders]}, {Effect: Allow, Resource: '*'}, {Action: 's3:GetObject', Resource: []}]")
        )]
    )
);
case!(
    statement_unknown_key,
    variant(
        BASE,
        &[(
            "permissions.statements",
            yaml("[{Effect: Allow, Actions: [s3:GetObject], Resource: '*'}]")
        )]
    )
);
case!(
    secret_clashes,
    variant(
        BASE,
        &[
            (
                "environment",
                yaml("{LOG_LEVEL: info, DB_PASSWORD_SECRET_ARN: x}")
            ),
            (
                "secrets",
                yaml(&format!(
                    "{{LOG_LEVEL: {SM}, SQS_QUEUE_URL: {SM}, DB_PASSWORD: {SM}, AWS_REGION: {SM}}}"
                ))
            ),
        ]
    )
);
case!(
    secrets_on_lambda_and_another_region,
    variant(
        BASE,
        &[("secrets", yaml("{DB_PASSWORD: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/db-AbCdEf:password::', API_KEY: 'arn:aws:ssm:eu-west-1:123456789012:parameter/orders/api-key'}"))]
    )
);
case!(
    tag_rules,
    variant(
        BASE,
        &[(
            "tags",
            yaml(&format!(
                "{{'aws:team': a, 'replatform:service': b, 'bad!key': c, {}: d, long: {}}}",
                "k".repeat(129),
                "v".repeat(257)
            ))
        )]
    )
);
case!(
    too_many_tags,
    variant(
        BASE,
        &[(
            "tags",
            V::Mapping(
                (0..50)
                    .map(|i| (V::from(format!("t{i}")), V::from("x")))
                    .collect()
            )
        )]
    )
);
case!(production_shape, variant(BASE, &[("production", yaml("{ecs_service: 'arn:aws:ecs:eu-west-1:123456789012:service/prod/orders', queue: orders}"))]));
case!(
    production_other_region_and_kind,
    variant(BASE, &[("production", yaml("{ecs_service: prod/orders-worker, queue: 'https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo'}"))])
);
case!(
    production_missing_queue,
    variant(
        BASE,
        &[("production", yaml("{ecs_service: prod/orders-worker}"))]
    )
);
case!(every_worker_field, crate::common::worker_fields());
// production on Kubernetes: both workloads named, neither, a name Kubernetes refuses; and one
// well written, which validate describes.
case!(
    production_k8s_and_ecs_service_both,
    variant(BASE, &[("production", yaml("{ecs_service: prod/orders-worker, k8s: {namespace: shop, deployment: orders-worker, scaled_object: orders}, queue: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders'}"))])
);
case!(
    production_k8s_neither,
    variant(
        BASE,
        &[(
            "production",
            yaml("{queue: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders'}")
        )]
    )
);
case!(
    production_k8s_bad_name,
    variant(BASE, &[("production", yaml("{k8s: {namespace: Shop_1, deployment: orders-worker, scaled_object: orders}, queue: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders'}"))])
);
case!(
    production_k8s,
    variant(BASE, &[("production", yaml("{k8s: {context: prod-eks, namespace: shop, deployment: orders-worker, scaled_object: orders}, queue: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders'}"))])
);
// A data-safety rule: the production queue handed to the experiment's workers, in each form a
// worker may read it (a legacy URL, the ARN, the bare name, a JSON map of URLs, an argument).
case!(
    production_queue_handed_to_the_workers,
    variant(
        BASE,
        &[
            (
                "production",
                yaml("{ecs_service: prod/orders-worker, queue: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders'}")
            ),
            (
                "environment",
                yaml(r#"{ORDERS_URL: 'https://eu-west-1.queue.amazonaws.com/123456789012/orders', ORDERS_ARN: 'arn:aws:sqs:eu-west-1:123456789012:orders', QUEUE_NAME: orders, TOPIC_QUEUES: '{"events": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"}', LOG_LEVEL: info, GREETING: 'the orders worker'}"#)
            ),
        ]
    )
);

/// Every new field in one config: no error, no warning; `validate` says how Lambda
/// gets the secrets and what `production` names (infos).
#[test]
fn every_worker_field_is_accepted_with_infos_only() {
    let c = config::parse(&crate::common::worker_fields()).unwrap();
    let found = lint::lint(&c);
    let codes: Vec<(&str, replatform::core::diag::Severity)> =
        found.iter().map(|d| (d.code, d.severity)).collect();
    use replatform::core::diag::Severity::Info;
    assert_eq!(codes, [("lambda-secrets", Info), ("production", Info)]);
    assert!(
        found[0].message.contains("`DB_PASSWORD_SECRET_ARN`")
            && found[0].message.contains("`API_KEY`"),
        "{}",
        found[0].message
    );
    assert_eq!(
        c.production.as_ref().and_then(|p| p.ecs_service.as_deref()),
        Some("prod/orders-worker")
    );
    assert_eq!(
        c.permissions.statements[1].action.as_ref().unwrap().0,
        ["sqs:SendMessage"]
    );
    assert_eq!(
        c.tags.get("cost-center").map(|v| v.0.as_str()),
        Some("4711")
    );
}

// The scaling model's warnings: the config run for 1,000 messages of 100 ms each.

/// What `validate` prints of the model's warnings for a config text.
fn model_report(text: &str) -> String {
    let c = config::parse(text).unwrap();
    let places = replatform::core::locate::index(text);
    let mut ds = lint::model::warnings(&c);
    for d in &mut ds {
        d.location = replatform::core::locate::find(&places, &d.path).map(|p| p.value);
    }
    assert!(
        !ds.is_empty(),
        "expected a warning from the model for:\n{text}"
    );
    ds.iter()
        .map(|d| diagnostics::render(d, "replatform.yaml", text, false))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_model_warns_of_nothing_for_the_base_config_and_both_examples() {
    assert_eq!(lint::model::warnings(&config::parse(BASE).unwrap()), vec![]);
    for (name, path) in crate::common::examples() {
        let c = config::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(lint::model::warnings(&c), vec![], "{name}");
    }
}

#[test]
fn model_schedule_drains_many_times_slower() {
    let text = variant(
        BASE,
        &[
            ("lambda.trigger", yaml("{type: schedule, rate: 15m}")),
            ("lambda.reserved_concurrency", V::from(1)),
            ("lambda.timeout", V::from("60s")),
        ],
    );
    insta::assert_snapshot!(
        "model_schedule_drains_many_times_slower",
        model_report(&text)
    );
}

#[test]
fn model_schedule_timeout_leaves_no_poll() {
    // The polling worker starts a receive only with SQS_WAIT_SECONDS + SQS_VISIBILITY_TO (10 s
    // + 30 s by default) of the invocation left: a 30 s timeout never polls.
    let text = variant(
        BASE,
        &[
            ("lambda.trigger", yaml("{type: schedule, rate: 1m}")),
            ("lambda.timeout", V::from("30s")),
        ],
    );
    insta::assert_snapshot!("model_schedule_timeout_leaves_no_poll", model_report(&text));
}

#[test]
fn model_steps_never_reach_max() {
    let text = variant(
        BASE,
        &[
            ("ecs.scaling.scale_out", yaml("[{from: 1, add: 1}]")),
            ("ecs.scaling.scale_out_cooldown", V::from("10m")),
        ],
    );
    insta::assert_snapshot!("model_steps_never_reach_max", model_report(&text));
}

//! What moto does not model for `cutover` and `rollback`, from answers shaped like
//! real AWS's (aws-smithy-mocks) on tokio's paused clock: a bake that sees Lambda errors and rolls
//! back, a dead-letter queue that grows, an interrupt between two stages followed by `cutover`
//! continuing and `rollback` undoing, and a denied `RegisterScalableTarget`.
//!
//! The answers keep state as AWS would (the service's tags and desired count, the scalable
//! target's bounds, the mapping's state), and every change the tool asks for is written to a
//! journal, so that each test asserts what production went through, in order. Every answer
//! counts its calls, so that a test also asserts how often production was read.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsOutput;
use aws_sdk_applicationautoscaling::operation::register_scalable_target::{
    RegisterScalableTargetError, RegisterScalableTargetOutput,
};
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ScalableTarget, ServiceNamespace};
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::MetricDataResult;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::tag_resource::TagResourceOutput;
use aws_sdk_ecs::operation::untag_resource::UntagResourceOutput;
use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
use aws_sdk_ecs::types::{Service, Tag};
use aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingOutput;
use aws_sdk_lambda::operation::update_event_source_mapping::UpdateEventSourceMappingOutput;
use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;
use futures::future::BoxFuture;

use crate::k8s_api::KedaApi;

use replatform::app::cutover::{drive, undo, Cutover, Options, Production, Runner, Site};
use replatform::aws::autoscaling::AutoScaling;
use replatform::aws::cloudwatch::CloudWatch;
use replatform::aws::ecs::Ecs;
use replatform::aws::ecs::EcsService;
use replatform::aws::lambda::Lambda;
use replatform::aws::sqs::Sqs;
use replatform::core::config::K8sWorkload;
use replatform::core::cutover::{Outcome, StageOutcome, StepOutcome, Thresholds};
use replatform::k8s::Keda;
use replatform::signal::Stop;
use replatform::ui::cutover::Recording;
use replatform::ui::prompt::Answer;

const SERVICE_ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:service/prod/orders";
const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders";
const DLQ: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-dlq";
const MAPPING: &str = "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE";

/// Production as AWS holds it between calls.
#[derive(Clone, Debug)]
struct State {
    tag: Option<String>,
    desired: i32,
    min: i32,
    max: i32,
    enabled: bool,
}

/// The answers of one run: production's state, the journal of changes, what the figures show.
#[derive(Clone)]
struct Fake {
    state: Arc<Mutex<State>>,
    journal: Arc<Mutex<Vec<String>>>,
    /// Lambda errors since the bake began, per GetMetricData call (the last repeats); empty: no
    /// datapoints.
    errors: Arc<Mutex<Vec<f64>>>,
    /// The dead-letter queue's depth per read (the last repeats).
    dlq: Arc<Mutex<Vec<u64>>>,
    deny_register: bool,
    /// Every answer given out, by the API call it answers, for [`Fake::calls`].
    rules: Arc<Mutex<Vec<(&'static str, Rule)>>>,
    /// What the runs reported, in order.
    seen: Arc<Recording>,
}

fn next<T: Copy + Default>(series: &Mutex<Vec<T>>) -> Option<T> {
    let mut s = series.lock().unwrap();
    match s.len() {
        0 => None,
        1 => Some(s[0]),
        _ => Some(s.remove(0)),
    }
}

impl Fake {
    /// A service of 4 tasks, scaling 1..10, the mapping disabled, no record.
    fn new() -> Self {
        Fake {
            state: Arc::new(Mutex::new(State {
                tag: None,
                desired: 4,
                min: 1,
                max: 10,
                enabled: false,
            })),
            journal: Arc::default(),
            errors: Arc::default(),
            dlq: Arc::new(Mutex::new(vec![0])),
            deny_register: false,
            rules: Arc::default(),
            seen: Arc::default(),
        }
    }

    /// The answer to `call`, kept so that its calls can be counted.
    fn counted(&self, call: &'static str, rule: Rule) -> Rule {
        self.rules.lock().unwrap().push((call, rule.clone()));
        rule
    }

    /// How often each API call was answered so far, over every `Production` made.
    fn calls(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for (call, rule) in self.rules.lock().unwrap().iter() {
            *out.entry(*call).or_default() += rule.num_calls();
        }
        out
    }

    /// How often `call` was answered so far.
    fn count(&self, call: &str) -> usize {
        self.calls().get(call).copied().unwrap_or(0)
    }

    fn with_state(&self, f: impl FnOnce(&mut State)) -> &Self {
        f(&mut self.state.lock().unwrap());
        self
    }

    fn log(&self) -> Vec<String> {
        self.journal.lock().unwrap().clone()
    }

    fn state(&self) -> State {
        self.state.lock().unwrap().clone()
    }

    fn production(&self) -> Production {
        let ecs_rules = self.ecs_rules();
        let aas_rules = self.aas_rules();
        let lambda_rules = self.lambda_rules();
        let errors = self.errors.clone();
        let metrics =
            mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_compute_output(move |_| {
                let mut out = GetMetricDataOutput::builder();
                if let Some(v) = next(&errors) {
                    out = out.metric_data_results(
                        MetricDataResult::builder()
                            .id("errors")
                            .values(v)
                            .timestamps(DateTime::from_secs(1_795_000_000))
                            .build(),
                    );
                }
                out.build()
            });
        let metrics = self.counted("GetMetricData", metrics);
        let dlq = self.dlq.clone();
        let sqs = mock!(aws_sdk_sqs::Client::get_queue_attributes).then_compute_output(move |r| {
            let depth = if r.queue_url() == Some(DLQ) {
                next(&dlq).unwrap_or(0)
            } else {
                120
            };
            GetQueueAttributesOutput::builder()
                .attributes(
                    QueueAttributeName::ApproximateNumberOfMessages,
                    depth.to_string(),
                )
                .build()
        });
        let sqs = self.counted("GetQueueAttributes", sqs);
        Production {
            ecs: Ecs::new(mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &ecs_rules)),
            scaling: AutoScaling::new(mock_client!(
                aws_sdk_applicationautoscaling,
                RuleMode::MatchAny,
                &aas_rules
            )),
            lambda: Lambda::new(mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                &lambda_rules
            )),
            sqs: Sqs::new(mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &[&sqs])),
            cloudwatch: CloudWatch::new(mock_client!(
                aws_sdk_cloudwatch,
                RuleMode::MatchAny,
                &[&metrics]
            )),
            keda: None,
        }
    }

    fn ecs_rules(&self) -> Vec<Rule> {
        let (s1, s2, s3, s4) = (
            self.state.clone(),
            self.state.clone(),
            self.state.clone(),
            self.state.clone(),
        );
        let (j2, j3, j4) = (
            self.journal.clone(),
            self.journal.clone(),
            self.journal.clone(),
        );
        let rules = vec![
            mock!(aws_sdk_ecs::Client::describe_services).then_compute_output(move |_| {
                let s = s1.lock().unwrap();
                let tags = s
                    .tag
                    .iter()
                    .map(|v| Tag::builder().key("replatform:cutover").value(v).build())
                    .collect();
                DescribeServicesOutput::builder()
                    .services(
                        Service::builder()
                            .service_arn(SERVICE_ARN)
                            .service_name("orders")
                            .status("ACTIVE")
                            .desired_count(s.desired)
                            .running_count(s.desired)
                            .set_tags(Some(tags))
                            .build(),
                    )
                    .build()
            }),
            mock!(aws_sdk_ecs::Client::tag_resource).then_compute_output(move |r| {
                let value = r
                    .tags()
                    .first()
                    .and_then(|t| t.value())
                    .unwrap_or_default()
                    .to_string();
                j2.lock().unwrap().push(format!("record {value}"));
                s2.lock().unwrap().tag = Some(value);
                TagResourceOutput::builder().build()
            }),
            mock!(aws_sdk_ecs::Client::untag_resource).then_compute_output(move |_| {
                j3.lock().unwrap().push("forget the record".into());
                s3.lock().unwrap().tag = None;
                UntagResourceOutput::builder().build()
            }),
            mock!(aws_sdk_ecs::Client::update_service).then_compute_output(move |r| {
                let n = r.desired_count().unwrap_or(-1);
                j4.lock().unwrap().push(format!("desired {n}"));
                s4.lock().unwrap().desired = n;
                UpdateServiceOutput::builder().build()
            }),
        ];
        self.named(
            rules,
            &[
                "DescribeServices",
                "TagResource",
                "UntagResource",
                "UpdateService",
            ],
        )
    }

    /// `rules`, each counted under its call's name.
    fn named(&self, rules: Vec<Rule>, calls: &[&'static str]) -> Vec<Rule> {
        assert_eq!(rules.len(), calls.len());
        rules
            .into_iter()
            .zip(calls)
            .map(|(r, c)| self.counted(c, r))
            .collect()
    }

    fn aas_rules(&self) -> Vec<Rule> {
        let (s1, s2) = (self.state.clone(), self.state.clone());
        let j2 = self.journal.clone();
        let deny = self.deny_register;
        let describe = mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets).then_compute_output(move |_| {
            let s = s1.lock().unwrap();
            let t = ScalableTarget::builder()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id("service/prod/orders")
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .min_capacity(s.min)
                .max_capacity(s.max)
                .role_arn("arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService")
                .creation_time(DateTime::from_secs(1_790_000_000))
                .build()
                .unwrap();
            DescribeScalableTargetsOutput::builder().scalable_targets(t).build()
        });
        let register = if deny {
            mock!(aws_sdk_applicationautoscaling::Client::register_scalable_target).then_error(|| {
                RegisterScalableTargetError::generic(
                    aws_sdk_applicationautoscaling::error::ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .message("User: arn:aws:sts::123456789012:assumed-role/deployer/ci is not authorized to perform: application-autoscaling:RegisterScalableTarget")
                        .build(),
                )
            })
        } else {
            mock!(aws_sdk_applicationautoscaling::Client::register_scalable_target)
                .then_compute_output(move |r| {
                    let (min, max) = (
                        r.min_capacity().unwrap_or(-1),
                        r.max_capacity().unwrap_or(-1),
                    );
                    j2.lock().unwrap().push(format!("target {min}..{max}"));
                    let mut s = s2.lock().unwrap();
                    (s.min, s.max) = (min, max);
                    s.desired = s.desired.clamp(min, max);
                    RegisterScalableTargetOutput::builder().build()
                })
        };
        self.named(
            vec![describe, register],
            &["DescribeScalableTargets", "RegisterScalableTarget"],
        )
    }

    fn lambda_rules(&self) -> Vec<Rule> {
        let (s1, s2) = (self.state.clone(), self.state.clone());
        let j2 = self.journal.clone();
        let rules = vec![
            mock!(aws_sdk_lambda::Client::get_event_source_mapping).then_compute_output(
                move |_| {
                    let enabled = s1.lock().unwrap().enabled;
                    GetEventSourceMappingOutput::builder()
                        .uuid(MAPPING)
                        .state(if enabled { "Enabled" } else { "Disabled" })
                        .build()
                },
            ),
            mock!(aws_sdk_lambda::Client::update_event_source_mapping).then_compute_output(
                move |r| {
                    let enabled = r.enabled().unwrap_or(false);
                    let mc = r.scaling_config().and_then(|c| c.maximum_concurrency());
                    j2.lock().unwrap().push(match (enabled, mc) {
                        (true, Some(n)) => format!("mapping on, {n} at most"),
                        (true, None) => "mapping on".into(),
                        (false, _) => "mapping off".into(),
                    });
                    s2.lock().unwrap().enabled = enabled;
                    UpdateEventSourceMappingOutput::builder()
                        .uuid(MAPPING)
                        .build()
                },
            ),
        ];
        self.named(
            rules,
            &["GetEventSourceMapping", "UpdateEventSourceMapping"],
        )
    }
}

fn site() -> Site {
    Site {
        cluster: "prod".into(),
        service: "orders".into(),
        k8s: None,
        queue_url: QUEUE.into(),
        queue_name: "orders".into(),
        dead_letter_url: Some(DLQ.into()),
        function: "orders-worker".into(),
        mapping: MAPPING.into(),
        ceiling: Some(20),
    }
}

fn options(stages: &[u32], bake: Duration) -> Options {
    Options {
        stages: stages.to_vec(),
        bake,
        sample_every: Duration::from_secs(60),
        thresholds: Thresholds::default(),
        yes: true,
    }
}

fn never_asked(q: String) -> BoxFuture<'static, Answer> {
    panic!("--yes asks nothing, yet was asked: {q}")
}

/// The production service as `cutover`'s checks read it before [`drive`].
async fn service(production: &Production) -> EcsService {
    production
        .service("prod", "orders")
        .await
        .unwrap()
        .expect("the service is there")
}

async fn run(fake: &Fake, opts: &Options, stop: &Stop) -> Cutover {
    let production = fake.production();
    drive(
        &production,
        &site(),
        &Runner::Ecs(service(&production).await),
        opts,
        &never_asked,
        stop,
        fake.seen.as_ref(),
    )
    .await
    .unwrap_or_else(|f| panic!("{}: {:?}", f.message, f.hint))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_bake_that_sees_lambda_errors_rolls_back_to_the_recorded_service() {
    let fake = Fake::new();
    // The first minute is clean; by the second, CloudWatch has 3 errors.
    *fake.errors.lock().unwrap() = vec![0.0, 3.0];
    let started = tokio::time::Instant::now();
    let done = run(
        &fake,
        &options(&[10, 50, 100], Duration::from_secs(300)),
        &Stop::new(),
    )
    .await;

    assert_eq!(done.outcome, Outcome::RolledBack, "{done:?}");
    assert!(
        done.reason.as_deref().unwrap().contains("stage 10%")
            && done.reason.as_deref().unwrap().contains("3 errors"),
        "{done:?}"
    );
    assert_eq!(
        fake.log(),
        strings(&[
            "record v1 min=1 max=10 desired=4 stage=0 target=yes",
            // Lambda's share grows first (10% of 20 = 2), then ECS's max falls by 10%.
            "mapping on, 2 at most",
            "target 1..9",
            "record v1 min=1 max=10 desired=4 stage=10 target=yes",
            // The rollback: ECS back first, then the function stops consuming, then the record
            // goes.
            "target 1..10",
            "desired 4",
            "mapping off",
            "forget the record",
        ])
    );
    let bake = done.stages[0].bake.as_ref().unwrap();
    assert_eq!(
        bake.samples.len(),
        2,
        "the breach ends the bake at its second sample"
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(120),
        "two samples a minute apart, not the whole five minutes"
    );
    assert_eq!(
        done.stages.iter().map(|s| s.outcome).collect::<Vec<_>>(),
        vec![
            StageOutcome::Applied,
            StageOutcome::NotReached,
            StageOutcome::NotReached
        ]
    );
    let s = fake.state();
    assert_eq!(
        (s.min, s.max, s.desired, s.enabled, s.tag),
        (1, 10, 4, false, None)
    );
    assert!(done.rollback.as_ref().unwrap().complete);
    // What a person saw, line by line, as `cutover` has always worded it.
    assert_eq!(
        fake.seen.lines(),
        strings(&[
            "stage 10%: enable the mapping on `orders` with MaximumConcurrency 2, then set the scalable target of `prod/orders` to min 1 max 9 (recorded: 1..10)",
            "recorded `prod/orders` (min 1 max 10 desired 4) as its tag `replatform:cutover`",
            "stage 10%: applied and recorded",
            "stage 10%: watching for 5m (a sample every 1m)",
            "    60 s: errors 0, throttles 0, dead-letter 0, oldest 0 s, depth 120",
            "   120 s: errors 3, throttles 0, dead-letter 0, oldest 0 s, depth 120",
            "warning: the bake of stage 10% breached: Lambda reported 3 errors during the bake (at most 0 allowed); rolling back",
            "scalable target of `prod/orders` back to min 1 max 10: done",
            "desired count of `prod/orders` back to 4: done",
            "mapping on `orders` disabled (its batches in flight return to the queue after its visibility timeout): done",
            "the record `replatform:cutover` removed from `prod/orders`: done",
        ])
    );
    // Production read once per stage: the service once for the whole run (as the checks read
    // it; the automatic rollback restores from what the run recorded), its scalable target once
    // for the record, the mapping once as stage 10 settles and twice in the rollback (its state,
    // then settling disabled), the queue and the dead-letter queue once per sample.
    assert_eq!(
        fake.calls(),
        BTreeMap::from([
            ("DescribeServices", 1),
            ("DescribeScalableTargets", 1),
            ("GetEventSourceMapping", 3),
            ("GetMetricData", 2),
            ("GetQueueAttributes", 4),
            ("RegisterScalableTarget", 2),
            ("TagResource", 2),
            ("UntagResource", 1),
            ("UpdateEventSourceMapping", 2),
            ("UpdateService", 1),
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn a_dead_letter_queue_that_grows_rolls_back() {
    let fake = Fake::new();
    *fake.dlq.lock().unwrap() = vec![2, 2, 5];
    let done = run(
        &fake,
        &options(&[50, 100], Duration::from_secs(600)),
        &Stop::new(),
    )
    .await;
    assert_eq!(done.outcome, Outcome::RolledBack, "{done:?}");
    assert!(
        done.reason
            .as_deref()
            .unwrap()
            .contains("dead-letter queue grew by 3 messages (2 -> 5)"),
        "{done:?}"
    );
    assert_eq!(done.stages[0].bake.as_ref().unwrap().samples.len(), 3);
    let log = fake.log();
    assert_eq!(
        &log[1..3],
        &strings(&["mapping on, 10 at most", "target 1..5"]),
        "{log:?}"
    );
    assert!(
        !log.contains(&"desired 0".to_string()),
        "stage 100 never came: {log:?}"
    );
    let s = fake.state();
    assert_eq!(
        (s.min, s.max, s.desired, s.enabled, s.tag),
        (1, 10, 4, false, None)
    );
    // Three samples, each reading the queue and the dead-letter queue once; the service once.
    assert_eq!(
        (
            fake.count("DescribeServices"),
            fake.count("GetQueueAttributes"),
            fake.count("GetMetricData")
        ),
        (1, 6, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_between_stages_is_continued_by_cutover_and_undone_by_rollback() {
    let fake = Fake::new();
    let stop = Stop::new();
    let flip = stop.clone();
    tokio::spawn(async move {
        // In the middle of stage 50's bake.
        tokio::time::sleep(Duration::from_secs(150)).await;
        flip.stop("SIGINT");
    });
    let opts = options(&[50, 100], Duration::from_secs(300));
    let done = run(&fake, &opts, &stop).await;
    assert_eq!(done.outcome, Outcome::Interrupted, "{done:?}");
    assert!(
        done.hint
            .as_deref()
            .unwrap()
            .contains("`replatform cutover` continues")
            && done
                .hint
                .as_deref()
                .unwrap()
                .contains("`replatform rollback`"),
        "{done:?}"
    );
    assert_eq!(
        fake.state().tag.as_deref(),
        Some("v1 min=1 max=10 desired=4 stage=50 target=yes"),
        "stage 50 is recorded as applied"
    );
    assert_eq!(fake.log().len(), 4, "{:?}", fake.log());
    assert_eq!(
        (
            fake.count("DescribeServices"),
            fake.count("DescribeScalableTargets"),
            fake.count("GetEventSourceMapping")
        ),
        (1, 1, 1),
        "the service and its target once, the mapping once as stage 50 settles"
    );

    // The next run reads the record from the service and goes on with stage 100 only.
    let done = run(&fake, &opts, &Stop::new()).await;
    assert_eq!(done.outcome, Outcome::CutOver, "{done:?}");
    assert_eq!(done.continued_from, Some(50));
    assert_eq!(
        done.stages.iter().map(|s| s.outcome).collect::<Vec<_>>(),
        vec![StageOutcome::AlreadyApplied, StageOutcome::Applied]
    );
    assert_eq!(
        &fake.log()[4..],
        &strings(&[
            "mapping on, 20 at most",
            "target 0..0",
            "desired 0",
            "record v1 min=1 max=10 desired=4 stage=100 target=yes"
        ]),
        "the recorded bounds are the ones from before the first stage"
    );
    let s = fake.state();
    assert_eq!((s.min, s.max, s.desired, s.enabled), (0, 0, 0, true));
    assert_eq!(
        (
            fake.count("DescribeServices"),
            fake.count("DescribeScalableTargets"),
            fake.count("GetEventSourceMapping")
        ),
        (2, 1, 2),
        "a continued run reads the service once and takes the bounds from its record"
    );

    // A third run changes nothing: every stage is applied.
    let before = fake.log().len();
    let done = run(&fake, &opts, &Stop::new()).await;
    assert_eq!((done.outcome, fake.log().len()), (Outcome::CutOver, before));
    assert_eq!(fake.count("DescribeServices"), 3);

    // rollback after the finished cutover: the recorded bounds and desired count, the mapping off.
    let r = undo(&fake.production(), &site(), fake.seen.as_ref())
        .await
        .unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(r.from_stage, Some(100));
    assert_eq!(
        fake.count("DescribeServices"),
        4,
        "rollback reads the service once"
    );
    assert_eq!(
        &fake.log()[before..],
        &strings(&[
            "target 1..10",
            "desired 4",
            "mapping off",
            "forget the record"
        ])
    );
    let s = fake.state();
    assert_eq!(
        (s.min, s.max, s.desired, s.enabled, s.tag),
        (1, 10, 4, false, None)
    );
    // And again: nothing recorded, the mapping already off; nothing changes.
    let r = undo(&fake.production(), &site(), fake.seen.as_ref())
        .await
        .unwrap();
    assert!(r.complete && r.recorded.is_none(), "{r:?}");
    assert_eq!(fake.log().len(), before + 4);
}

#[tokio::test(start_paused = true)]
async fn a_denied_register_scalable_target_names_the_permission_and_keeps_the_queue_consumed() {
    let mut fake = Fake::new();
    fake.deny_register = true;
    let done = run(
        &fake,
        &options(&[50, 100], Duration::from_secs(300)),
        &Stop::new(),
    )
    .await;
    assert_eq!(done.outcome, Outcome::RollbackFailed, "{done:?}");
    let reason = done.reason.as_deref().unwrap();
    assert!(
        reason.contains("stage 50% failed")
            && reason.contains("application-autoscaling:RegisterScalableTarget"),
        "{reason}"
    );
    let hint = done.hint.as_deref().unwrap();
    assert!(
        hint.contains("grant the caller `application-autoscaling:RegisterScalableTarget`")
            && hint.contains("`replatform rollback` again"),
        "{hint}"
    );
    // ECS was never lowered, and the function keeps consuming: the queue is never without a
    // consumer. The record stays for the rollback to come.
    assert_eq!(
        fake.log(),
        strings(&[
            "record v1 min=1 max=10 desired=4 stage=0 target=yes",
            "mapping on, 10 at most"
        ])
    );
    let r = done.rollback.as_ref().unwrap();
    assert_eq!(
        r.steps.iter().map(|s| s.outcome).collect::<Vec<_>>(),
        vec![StepOutcome::Failed, StepOutcome::Skipped],
        "{r:?}"
    );
    let s = fake.state();
    assert_eq!((s.min, s.max, s.desired, s.enabled), (1, 10, 4, true));
    assert!(s.tag.is_some());
    let lines = fake.seen.lines();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(
        lines[2].starts_with("warning: stage 50% failed: ")
            && lines[2].ends_with("; rolling back")
            && lines[3].starts_with("warning: scalable target of `prod/orders` back to min 1 max 10: ")
            && lines[3].ends_with("(grant the caller `application-autoscaling:RegisterScalableTarget` (an IAM policy statement allowing it))"),
        "{lines:#?}"
    );
    assert_eq!(
        (
            fake.count("DescribeServices"),
            fake.count("GetEventSourceMapping")
        ),
        (1, 1),
        "the rollback restores from the run's record, and leaves the mapping unread: ECS failed"
    );

    // Once granted, `rollback` finishes it.
    fake.deny_register = false;
    let r = undo(&fake.production(), &site(), fake.seen.as_ref())
        .await
        .unwrap();
    assert!(r.complete, "{r:?}");
    let s = fake.state();
    assert_eq!(
        (s.min, s.max, s.desired, s.enabled, s.tag),
        (1, 10, 4, false, None)
    );
}

#[tokio::test(start_paused = true)]
async fn a_service_without_a_scalable_target_is_moved_by_its_desired_count() {
    let fake = Fake::new();
    let done = {
        // No scalable target: the answer lists none.
        let p = fake.production_without_target();
        drive(
            &p,
            &site(),
            &Runner::Ecs(service(&p).await),
            &options(&[50, 100], Duration::ZERO),
            &never_asked,
            &Stop::new(),
            fake.seen.as_ref(),
        )
        .await
        .unwrap()
    };
    assert_eq!(done.outcome, Outcome::CutOver, "{done:?}");
    assert_eq!(
        fake.log(),
        strings(&[
            "record v1 min=4 max=4 desired=4 stage=0 target=no",
            "mapping on, 10 at most",
            "desired 2",
            "record v1 min=4 max=4 desired=4 stage=50 target=no",
            "mapping on, 20 at most",
            "desired 0",
            "record v1 min=4 max=4 desired=4 stage=100 target=no",
        ])
    );
    let r = undo(
        &fake.production_without_target(),
        &site(),
        fake.seen.as_ref(),
    )
    .await
    .unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(
        &fake.log()[7..],
        &strings(&["desired 4", "mapping off", "forget the record"])
    );
    fake.with_state(|s| assert_eq!((s.desired, s.enabled), (4, false)));
    assert_eq!(
        (
            fake.count("DescribeServices"),
            fake.count("DescribeScalableTargets"),
            fake.count("GetEventSourceMapping")
        ),
        (2, 1, 4),
        "once each for the cutover (the mapping once per stage) and the service once for the rollback"
    );
}

impl Fake {
    fn production_without_target(&self) -> Production {
        let ecs_rules = self.ecs_rules();
        let lambda_rules = self.lambda_rules();
        let none = mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets)
            .then_output(|| DescribeScalableTargetsOutput::builder().build());
        let none = self.counted("DescribeScalableTargets", none);
        let never = mock!(aws_sdk_applicationautoscaling::Client::register_scalable_target)
            .then_compute_output(|_| {
                panic!("a service without a scalable target gets none registered")
            });
        let quiet_sqs = mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .then_output(|| GetQueueAttributesOutput::builder().build());
        let quiet_sqs = self.counted("GetQueueAttributes", quiet_sqs);
        let quiet_cw = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
            .then_output(|| GetMetricDataOutput::builder().build());
        let quiet_cw = self.counted("GetMetricData", quiet_cw);
        Production {
            ecs: Ecs::new(mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &ecs_rules)),
            scaling: AutoScaling::new(mock_client!(
                aws_sdk_applicationautoscaling,
                RuleMode::MatchAny,
                &[&none, &never]
            )),
            lambda: Lambda::new(mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                &lambda_rules
            )),
            sqs: Sqs::new(mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &[&quiet_sqs])),
            cloudwatch: CloudWatch::new(mock_client!(
                aws_sdk_cloudwatch,
                RuleMode::MatchAny,
                &[&quiet_cw]
            )),
            keda: None,
        }
    }
}

/// Each sample reads the bake so far from CloudWatch: an error seen in one sample is not counted
/// again by the next, so a threshold of 1 lets one error through a five-minute bake.
#[tokio::test(start_paused = true)]
async fn an_error_is_counted_once_however_many_samples_see_it() {
    let fake = Fake::new();
    *fake.errors.lock().unwrap() = vec![0.0, 1.0];
    let opts = Options {
        thresholds: Thresholds {
            max_errors: 1,
            ..Thresholds::default()
        },
        ..options(&[100], Duration::from_secs(300))
    };
    let done = run(&fake, &opts, &Stop::new()).await;
    assert_eq!(done.outcome, Outcome::CutOver, "{done:?}");
    let samples = &done.stages[0].bake.as_ref().unwrap().samples;
    assert_eq!(
        samples.iter().map(|s| s.errors).collect::<Vec<_>>(),
        vec![0, 1, 0, 0, 0]
    );
    // Two errors by the end are one too many.
    let fake = Fake::new();
    *fake.errors.lock().unwrap() = vec![0.0, 1.0, 2.0];
    let done = run(&fake, &opts, &Stop::new()).await;
    assert_eq!(done.outcome, Outcome::RolledBack, "{done:?}");
    assert!(
        done.reason.as_deref().unwrap().contains("2 errors"),
        "{done:?}"
    );
}

// On Kubernetes (`production.k8s`): the ScaledObject is the dial, from the API's recorded
// answers (tests/it/k8s_api.rs), beside the same AWS answers for the function's mapping.

fn on_k8s(fake: &Fake, api: &KedaApi) -> Production {
    Production {
        keda: Some(Keda::new(api.client())),
        ..fake.production()
    }
}

fn k8s_site() -> Site {
    Site {
        cluster: "shop".into(),
        service: "orders-worker".into(),
        k8s: Some(K8sWorkload {
            context: Some("shop-eks".into()),
            namespace: "shop".into(),
            deployment: "orders-worker".into(),
            scaled_object: "orders".into(),
        }),
        ..site()
    }
}

/// The ScaledObject as `cutover`'s checks read it before [`drive`].
async fn scaled(production: &Production) -> Runner {
    let o = production
        .keda
        .as_ref()
        .unwrap()
        .scaled_object("shop", "orders")
        .await
        .unwrap()
        .expect("the ScaledObject is there");
    Runner::Keda(o)
}

async fn run_k8s(fake: &Fake, api: &KedaApi, opts: &Options, stop: &Stop) -> Cutover {
    let production = on_k8s(fake, api);
    drive(
        &production,
        &k8s_site(),
        &scaled(&production).await,
        opts,
        &never_asked,
        stop,
        fake.seen.as_ref(),
    )
    .await
    .unwrap_or_else(|f| panic!("{}: {:?}", f.message, f.hint))
}

fn record(stage: u32) -> String {
    format!("record v1 min=1 max=10 desired=4 stage={stage} target=yes")
}

#[tokio::test(start_paused = true)]
async fn on_kubernetes_stages_lower_max_replicas_pause_at_100_and_rollback_restores_the_scaled_object(
) {
    let fake = Fake::new();
    let api = KedaApi::new(fake.journal.clone());
    let before = api.scaled_object();
    let done = run_k8s(
        &fake,
        &api,
        &options(&[10, 50, 100], Duration::ZERO),
        &Stop::new(),
    )
    .await;
    assert_eq!(done.outcome, Outcome::CutOver, "{done:?}");
    let (r1, r10, r50, r100) = (record(0), record(10), record(50), record(100));
    assert_eq!(
        fake.log(),
        strings(&[
            &r1,
            "mapping on, 2 at most",
            "replicas 1..9",
            &r10,
            "mapping on, 10 at most",
            "replicas 1..5",
            &r50,
            "mapping on, 20 at most",
            "pause at 0",
            &r100,
        ]),
        "the record first, the function's share before KEDA's falls, the pause last"
    );
    assert_eq!(api.bounds(), (1, 5), "the pause keeps the last bounds");
    assert_eq!(
        api.annotations(),
        BTreeMap::from([
            (
                "autoscaling.keda.sh/paused-replicas".to_string(),
                "0".to_string()
            ),
            (
                "replatform/cutover".to_string(),
                r100["record ".len()..].to_string()
            ),
        ])
    );
    // The Deployment is read once, for its replicas; nothing on ECS is touched.
    assert_eq!(api.count("GET /apis/apps/v1"), 1);
    assert_eq!(
        (
            fake.count("DescribeServices"),
            fake.count("DescribeScalableTargets"),
            fake.count("UpdateService")
        ),
        (0, 0, 0)
    );
    assert!(api
        .requests()
        .iter()
        .filter(|r| r.starts_with("PATCH"))
        .all(|r| r.ends_with("application/merge-patch+json")));

    // rollback: KEDA's bounds back and the pause gone first, then the mapping off, then the record.
    let before_rollback = fake.log().len();
    let r = undo(&on_k8s(&fake, &api), &k8s_site(), fake.seen.as_ref())
        .await
        .unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(r.from_stage, Some(100));
    assert_eq!(
        &fake.log()[before_rollback..],
        &strings(&[
            "unpause, replicas 1..10",
            "mapping off",
            "forget the record"
        ])
    );
    let after = api.scaled_object();
    assert_eq!(after["spec"], before["spec"], "the spec is as it was");
    assert_eq!(
        after["metadata"]["annotations"], before["metadata"]["annotations"],
        "no annotation is left behind"
    );
    // Again: nothing is recorded and the mapping is off, so nothing changes.
    let r = undo(&on_k8s(&fake, &api), &k8s_site(), fake.seen.as_ref())
        .await
        .unwrap();
    assert!(r.complete && r.recorded.is_none(), "{r:?}");
    assert_eq!(fake.log().len(), before_rollback + 3);
}

#[tokio::test(start_paused = true)]
async fn on_kubernetes_an_interrupt_is_continued_from_the_annotation_and_undone_by_rollback() {
    let fake = Fake::new();
    let api = KedaApi::new(fake.journal.clone());
    let stop = Stop::new();
    let flip = stop.clone();
    tokio::spawn(async move {
        // In the middle of stage 50's bake.
        tokio::time::sleep(Duration::from_secs(150)).await;
        flip.stop("SIGINT");
    });
    let opts = options(&[50, 100], Duration::from_secs(300));
    let done = run_k8s(&fake, &api, &opts, &stop).await;
    assert_eq!(done.outcome, Outcome::Interrupted, "{done:?}");
    assert_eq!(
        api.annotations()
            .get("replatform/cutover")
            .map(String::as_str),
        Some("v1 min=1 max=10 desired=4 stage=50 target=yes"),
        "stage 50 is recorded as applied, on the ScaledObject"
    );
    assert_eq!(api.bounds(), (1, 5));

    // The next run reads the record from the ScaledObject and goes on with stage 100 only:
    // the Deployment is not read again, the bounds come from the record.
    let gets = api.count("GET /apis/apps/v1");
    let from = fake.log().len();
    let done = run_k8s(&fake, &api, &opts, &Stop::new()).await;
    assert_eq!(done.outcome, Outcome::CutOver, "{done:?}");
    assert_eq!(done.continued_from, Some(50));
    assert_eq!(api.count("GET /apis/apps/v1"), gets);
    assert_eq!(
        &fake.log()[from..],
        &strings(&["mapping on, 20 at most", "pause at 0", &record(100)])
    );

    let r = undo(&on_k8s(&fake, &api), &k8s_site(), fake.seen.as_ref())
        .await
        .unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(api.bounds(), (1, 10));
    assert!(api.annotations().is_empty(), "{:?}", api.annotations());
    assert!(!fake.state().enabled);
}

#[tokio::test(start_paused = true)]
async fn on_kubernetes_a_forbidden_patch_stops_before_any_change_and_names_the_rbac_rule() {
    let fake = Fake::new();
    let api = KedaApi::new(fake.journal.clone());
    api.with(|s| s.deny_patch = true);
    let production = on_k8s(&fake, &api);
    let failed = drive(
        &production,
        &k8s_site(),
        &scaled(&production).await,
        &options(&[50, 100], Duration::ZERO),
        &never_asked,
        &Stop::new(),
        fake.seen.as_ref(),
    )
    .await
    .expect_err("the record cannot be written");
    assert!(
        failed.message.contains("403 Forbidden")
            && failed
                .message
                .contains("grant the kubeconfig's user `patch` on `scaledobjects.keda.sh` in namespace `shop`"),
        "{}",
        failed.message
    );
    assert!(fake.log().is_empty(), "nothing changed: {:?}", fake.log());
    assert!(!fake.state().enabled, "the mapping was not enabled");
}

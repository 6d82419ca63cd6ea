//! The application's workflows against recorded AWS answers (aws-smithy-mocks, tokio's paused
//! clock), no emulator: `app::deploy::apply` with a change that replaces a resource
//! (refused at the question, confirmed by `--yes`, interrupted between prepare and execute) and
//! `app::teardown::teardown` with queued messages (refused), `--force` and `--keep-queues`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::list_change_sets::ListChangeSetsOutput;
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, Replacement, ResourceChange, ResourceStatus, Stack,
    StackEvent, StackResourceSummary, StackStatus,
};
use aws_sdk_cloudformation::Client;
use aws_sdk_sqs::operation::delete_queue::DeleteQueueOutput;
use aws_sdk_sqs::operation::get_queue_attributes::{
    GetQueueAttributesInput, GetQueueAttributesOutput,
};
use aws_sdk_sqs::operation::list_queues::ListQueuesOutput;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;
use futures::future::BoxFuture;

use replatform::app::deploy::{self, Consent, Runner, Settings};
use replatform::app::teardown::{self, Options};
use replatform::aws::cloudformation::Cfn;
use replatform::aws::ecr::Ecr;
use replatform::aws::sqs::Sqs;
use replatform::core::outcome::{QueueOutcome, StackResult};
use replatform::core::render::RenderedStack;
use replatform::error::Exit;
use replatform::ui::printer::{OutputFormat, Printer};
use replatform::ui::progress::Recording;
use replatform::ui::prompt::Answer;

const STACK: &str = "orders-worker-lambda";
const CHANGE_SET: &str = "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/replatform-1-orders-worker-lambda/5f0e7a9c";
const QUEUE: &str =
    "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-worker-lambda-Queue-1A2B3C4D5E6F";
const DLQ: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-worker-lambda-DeadLetterQueue-7G8H9I0J1K2L";

const QUIET: Printer = Printer {
    format: OutputFormat::Json,
    quiet: true,
    verbose: 0,
};

fn stack(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name(STACK)
                .stack_id(format!(
                    "arn:aws:cloudformation:eu-west-1:123456789012:stack/{STACK}/0a1b"
                ))
                .stack_status(status)
                .creation_time(DateTime::from_secs(1_795_000_000))
                .build(),
        )
        .build()
}

fn no_stack() -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("ValidationError")
            .message(format!("Stack with id {STACK} does not exist"))
            .build(),
    )
}

fn event(id: &str, status: ResourceStatus, at: i64) -> StackEvent {
    StackEvent::builder()
        .event_id(id)
        .stack_name(STACK)
        .logical_resource_id(STACK)
        .resource_type("AWS::CloudFormation::Stack")
        .resource_status(status)
        .timestamp(DateTime::from_secs(1_795_000_000 + at))
        .build()
}

fn resources() -> Rule {
    mock!(Client::list_stack_resources).then_output(|| {
        ListStackResourcesOutput::builder()
            .stack_resource_summaries(
                StackResourceSummary::builder()
                    .logical_resource_id("Queue")
                    .physical_resource_id(QUEUE)
                    .resource_type("AWS::SQS::Queue")
                    .build(),
            )
            .stack_resource_summaries(
                StackResourceSummary::builder()
                    .logical_resource_id("DeadLetterQueue")
                    .physical_resource_id(DLQ)
                    .resource_type("AWS::SQS::Queue")
                    .build(),
            )
            .stack_resource_summaries(
                StackResourceSummary::builder()
                    .logical_resource_id("Function")
                    .physical_resource_id("orders-worker")
                    .resource_type("AWS::Lambda::Function")
                    .build(),
            )
            .build()
    })
}

/// An SQS answering for the two queues with these depths (visible messages), and no others.
fn sqs(queue_visible: u64, dlq_visible: u64, rules: &[&Rule]) -> (Sqs, Rule) {
    let attributes = mock!(aws_sdk_sqs::Client::get_queue_attributes).then_compute_output(
        move |input: &GetQueueAttributesInput| {
            let visible = if input.queue_url() == Some(QUEUE) {
                queue_visible
            } else {
                dlq_visible
            };
            GetQueueAttributesOutput::builder()
                .attributes(
                    QueueAttributeName::ApproximateNumberOfMessages,
                    visible.to_string(),
                )
                .attributes(
                    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                    "0",
                )
                .attributes(QueueAttributeName::ApproximateNumberOfMessagesDelayed, "0")
                .build()
        },
    );
    let list =
        mock!(aws_sdk_sqs::Client::list_queues).then_output(|| ListQueuesOutput::builder().build());
    let mut all: Vec<&Rule> = vec![&attributes, &list];
    all.extend_from_slice(rules);
    let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &all);
    (Sqs::new(sqs), attributes)
}

fn ecr() -> Ecr {
    Ecr::new(aws_sdk_ecr::Client::from_conf(
        aws_sdk_ecr::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_ecr::config::Region::new("eu-west-1"))
            .build(),
    ))
}

fn rendered() -> Vec<RenderedStack> {
    vec![RenderedStack {
        kind: "lambda".into(),
        name: STACK.into(),
        template: "Resources: {}\n".into(),
    }]
}

/// The answers of a questioner that counts its questions.
fn answering(
    answer: Answer,
    asked: Arc<AtomicUsize>,
) -> impl Fn(String) -> BoxFuture<'static, Answer> + Sync {
    move |_question| {
        asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { answer })
    }
}

/// A deployed stack whose change set replaces the function: destructive, not a queue.
struct Update {
    describe: Rule,
    create: Rule,
    describe_cs: Rule,
    delete_cs: Rule,
    execute: Rule,
    events: Rule,
    resources: Rule,
    /// No change set left by an earlier run.
    listed: Rule,
}

impl Update {
    fn new() -> Self {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack(StackStatus::UpdateComplete))
            .times(2)
            .output(|| stack(StackStatus::UpdateInProgress))
            .output(|| stack(StackStatus::UpdateComplete))
            .repeatedly()
            .build();
        let create = mock!(Client::create_change_set)
            .then_output(|| CreateChangeSetOutput::builder().id(CHANGE_SET).build());
        let describe_cs = mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .change_set_id(CHANGE_SET)
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    Change::builder()
                        .resource_change(
                            ResourceChange::builder()
                                .action(ChangeAction::Modify)
                                .logical_resource_id("Function")
                                .resource_type("AWS::Lambda::Function")
                                .replacement(Replacement::True)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let delete_cs = mock!(Client::delete_change_set)
            .then_output(|| DeleteChangeSetOutput::builder().build());
        let execute = mock!(Client::execute_change_set)
            .then_output(|| ExecuteChangeSetOutput::builder().build());
        let events = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(event("e0", ResourceStatus::UpdateComplete, 0))
                    .build()
            })
            .times(2)
            .output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(event("e2", ResourceStatus::UpdateComplete, 40))
                    .stack_events(event("e1", ResourceStatus::UpdateInProgress, 10))
                    .stack_events(event("e0", ResourceStatus::UpdateComplete, 0))
                    .build()
            })
            .repeatedly()
            .build();
        let listed =
            mock!(Client::list_change_sets).then_output(|| ListChangeSetsOutput::builder().build());
        Self {
            describe,
            create,
            describe_cs,
            delete_cs,
            execute,
            events,
            resources: resources(),
            listed,
        }
    }

    fn cfn(&self) -> Cfn {
        Cfn::new(mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            &[
                &self.describe,
                &self.create,
                &self.describe_cs,
                &self.delete_cs,
                &self.execute,
                &self.events,
                &self.resources,
                &self.listed
            ]
        ))
    }
}

#[tokio::test(start_paused = true)]
async fn deploy_refuses_a_destructive_change_that_is_not_confirmed() {
    let u = Update::new();
    let (cfn, rec) = (u.cfn(), Recording::default());
    let (services, _) = sqs(0, 0, &[]);
    let runner = Runner::new(
        &cfn,
        &rec,
        Settings::default(),
        "replatform-1".into(),
        vec![("replatform:service".into(), "orders-worker".into())],
    );
    let asked = Arc::new(AtomicUsize::new(0));
    for answer in [Ok(Some(false)), Ok(None)] {
        let ask = answering(answer, asked.clone());
        let done = deploy::apply(
            &runner,
            &cfn,
            &services,
            &rendered(),
            Consent::default(),
            &rec,
            &QUIET,
            &ask,
            std::future::pending(),
        )
        .await
        .unwrap();
        let failure = done.failure.expect("refused");
        assert_eq!(failure.exit, Exit::Failure);
        assert!(
            failure.message.contains("nothing was changed"),
            "{}",
            failure.message
        );
        assert_eq!(done.stacks[0].result, StackResult::NotExecuted);
        assert_eq!(done.stacks[0].changes.len(), 1);
    }
    assert_eq!(asked.load(Ordering::SeqCst), 2, "asked once a run");
    assert_eq!(u.execute.num_calls(), 0, "nothing executed");
    assert_eq!(u.delete_cs.num_calls(), 2, "each run's change set deleted");
}

#[tokio::test(start_paused = true)]
async fn deploy_with_yes_executes_without_a_question() {
    let u = Update::new();
    let (cfn, rec) = (u.cfn(), Recording::default());
    let (services, _) = sqs(0, 0, &[]);
    let runner = Runner::new(
        &cfn,
        &rec,
        Settings::default(),
        "replatform-1".into(),
        vec![("replatform:service".into(), "orders-worker".into())],
    );
    let asked = Arc::new(AtomicUsize::new(0));
    let ask = answering(Ok(Some(false)), asked.clone());
    let consent = Consent {
        yes: true,
        queue_replacement: false,
    };
    let done = deploy::apply(
        &runner,
        &cfn,
        &services,
        &rendered(),
        consent,
        &rec,
        &QUIET,
        &ask,
        std::future::pending(),
    )
    .await
    .unwrap();
    assert!(done.failure.is_none(), "{:?}", done.failure);
    assert_eq!(asked.load(Ordering::SeqCst), 0, "--yes asks nothing");
    assert_eq!(u.execute.num_calls(), 1);
    assert_eq!(u.delete_cs.num_calls(), 0);
    let r = &done.stacks[0];
    assert_eq!(
        (r.result, r.status.as_deref()),
        (StackResult::Updated, Some("UPDATE_COMPLETE"))
    );
    assert_eq!(
        r.outputs.get("QueueUrl").map(String::as_str),
        Some(QUEUE),
        "outputs completed from the resources: {:?}",
        r.outputs
    );
}

#[tokio::test(start_paused = true)]
async fn deploy_interrupted_between_prepare_and_execute_deletes_its_change_set() {
    // A signal at the question.
    let u = Update::new();
    let (cfn, rec) = (u.cfn(), Recording::default());
    let (services, _) = sqs(0, 0, &[]);
    let runner = Runner::new(
        &cfn,
        &rec,
        Settings::default(),
        "replatform-1".into(),
        vec![("replatform:service".into(), "orders-worker".into())],
    );
    let ask = answering(Err("SIGTERM"), Arc::default());
    let failure = deploy::apply(
        &runner,
        &cfn,
        &services,
        &rendered(),
        Consent::default(),
        &rec,
        &QUIET,
        &ask,
        std::future::pending(),
    )
    .await
    .err()
    .expect("interrupted");
    assert_eq!(failure.exit, Exit::Interrupted);
    assert!(
        failure
            .message
            .contains("interrupted (SIGTERM) at the question: nothing was changed"),
        "{}",
        failure.message
    );
    assert_eq!((u.execute.num_calls(), u.delete_cs.num_calls()), (0, 1));

    // A signal once the change sets are ready, before execution: the run's change set is
    // deleted by name and nothing is changing.
    let u = Update::new();
    let (cfn, rec) = (u.cfn(), Recording::default());
    let runner = Runner::new(
        &cfn,
        &rec,
        Settings::default(),
        "replatform-2".into(),
        vec![("replatform:service".into(), "orders-worker".into())],
    );
    let never = |_q: String| -> BoxFuture<'static, Answer> { Box::pin(std::future::pending()) };
    let signal = async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "SIGINT"
    };
    let failure = deploy::apply(
        &runner,
        &cfn,
        &services,
        &rendered(),
        Consent::default(),
        &rec,
        &QUIET,
        &never,
        signal,
    )
    .await
    .err()
    .expect("interrupted");
    assert_eq!(failure.exit, Exit::Interrupted);
    assert!(
        failure.message.contains(
            "interrupted (SIGINT): the change sets not executed were deleted; no stack is changing"
        ),
        "{}",
        failure.message
    );
    assert_eq!(u.execute.num_calls(), 0);
    assert_eq!(u.delete_cs.num_calls(), 1, "abandoned by name");
}

/// A deployed stack that deletes when asked: its status, then gone.
struct Deletable {
    describe: Rule,
    delete: Rule,
    events: Rule,
    resources: Rule,
}

impl Deletable {
    fn new() -> Self {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack(StackStatus::UpdateComplete))
            .output(|| stack(StackStatus::DeleteInProgress))
            .error(no_stack)
            .repeatedly()
            .build();
        let delete =
            mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
        let events = mock!(Client::describe_stack_events).then_output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event("e0", ResourceStatus::UpdateComplete, 0))
                .build()
        });
        Self {
            describe,
            delete,
            events,
            resources: resources(),
        }
    }

    fn cfn(&self) -> Cfn {
        Cfn::new(mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            &[&self.describe, &self.delete, &self.events, &self.resources]
        ))
    }
}

fn yes() -> impl Fn(String) -> BoxFuture<'static, Answer> + Sync {
    answering(Ok(Some(true)), Arc::default())
}

#[tokio::test(start_paused = true)]
async fn teardown_refuses_while_a_queue_holds_messages() {
    let d = Deletable::new();
    let (cfn, rec) = (d.cfn(), Recording::default());
    let delete_queue = mock!(aws_sdk_sqs::Client::delete_queue)
        .then_output(|| DeleteQueueOutput::builder().build());
    let (services, _) = sqs(0, 3, &[&delete_queue]);
    let runner = Runner::new(
        &cfn,
        &rec,
        Settings::default(),
        "replatform-1".into(),
        vec![("replatform:service".into(), "orders-worker".into())],
    );
    let options = Options {
        yes: true,
        ..Options::default()
    };
    let failure = teardown::teardown(
        &runner,
        &cfn,
        &services,
        &ecr(),
        &[STACK.to_string()],
        None,
        &options,
        &rec,
        &QUIET,
        &yes(),
        std::future::pending(),
    )
    .await
    .err()
    .expect("refused");
    assert_eq!(failure.exit, Exit::Failure);
    assert!(
        failure
            .message
            .contains("the queues hold 3 messages; nothing was deleted"),
        "{}",
        failure.message
    );
    assert_eq!(
        (d.delete.num_calls(), delete_queue.num_calls()),
        (0, 0),
        "nothing deleted"
    );
}

#[tokio::test(start_paused = true)]
async fn teardown_with_force_deletes_the_stack_and_the_queues_with_their_messages() {
    let d = Deletable::new();
    let (cfn, rec) = (d.cfn(), Recording::default());
    let delete_queue = mock!(aws_sdk_sqs::Client::delete_queue)
        .then_output(|| DeleteQueueOutput::builder().build());
    let (services, _) = sqs(5, 3, &[&delete_queue]);
    let runner = Runner::new(
        &cfn,
        &rec,
        Settings::default(),
        "replatform-1".into(),
        vec![("replatform:service".into(), "orders-worker".into())],
    );
    let options = Options {
        yes: true,
        force: true,
        ..Options::default()
    };
    let done = teardown::teardown(
        &runner,
        &cfn,
        &services,
        &ecr(),
        &[STACK.to_string()],
        None,
        &options,
        &rec,
        &QUIET,
        &yes(),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert!(!done.failed);
    assert_eq!(d.delete.num_calls(), 1);
    assert_eq!(
        delete_queue.num_calls(),
        2,
        "the stack's retained queues go too"
    );
    let r = &done.stacks[0];
    assert!(r.existed && r.deleted);
    let outcomes: Vec<(&str, &str, u64)> = r
        .queues
        .iter()
        .map(|q| {
            (
                q.logical_id.as_str(),
                q.outcome.as_str(),
                q.depth.as_ref().unwrap().total(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [("Queue", "deleted", 5), ("DeadLetterQueue", "deleted", 3)]
    );
}

#[tokio::test(start_paused = true)]
async fn teardown_keeping_queues_deletes_the_stack_only() {
    let d = Deletable::new();
    let (cfn, rec) = (d.cfn(), Recording::default());
    let delete_queue = mock!(aws_sdk_sqs::Client::delete_queue)
        .then_output(|| DeleteQueueOutput::builder().build());
    let (services, _) = sqs(5, 0, &[&delete_queue]);
    let runner = Runner::new(
        &cfn,
        &rec,
        Settings::default(),
        "replatform-1".into(),
        vec![("replatform:service".into(), "orders-worker".into())],
    );
    let asked = Arc::new(AtomicUsize::new(0));
    let ask = answering(Ok(Some(true)), asked.clone());
    let options = Options {
        keep_queues: true,
        ..Options::default()
    };
    let done = teardown::teardown(
        &runner,
        &cfn,
        &services,
        &ecr(),
        &[STACK.to_string()],
        None,
        &options,
        &rec,
        &QUIET,
        &ask,
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(asked.load(Ordering::SeqCst), 1, "without --yes it asks");
    assert_eq!(d.delete.num_calls(), 1);
    assert_eq!(delete_queue.num_calls(), 0, "kept");
    assert!(
        done.stacks[0]
            .queues
            .iter()
            .all(|q| q.outcome == QueueOutcome::Kept),
        "{:?}",
        done.stacks[0].queues
    );
}

//! What the emulator cannot show, from CloudFormation responses shaped like real AWS's
//! (aws-smithy-mocks), on tokio's paused clock: waiting for a stack in progress, a rollback
//! with its root cause, the ROLLBACK_COMPLETE recreate, the three kinds of "no changes",
//! throttling answered by a retry, the polling pace of a deploy that takes minutes, and the
//! change sets an interrupted run left, deleted by the next `up`.

use std::time::Duration;

use aws_sdk_cloudformation::config::retry::RetryConfig;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetError;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::{
    DescribeChangeSetError, DescribeChangeSetOutput,
};
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::list_change_sets::{
    ListChangeSetsError, ListChangeSetsOutput,
};
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeSetSummary, ChangeSetType, ExecutionStatus,
    Replacement, ResourceChange, ResourceStatus, Stack, StackEvent, StackStatus, Tag,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::DateTime;

use replatform::app::deploy::{Action, OpError, Preparation, Prepared, Preview, Runner, Settings};
use replatform::aws::cloudformation::{Cfn, ChangeSetState, EventView, Mark};
use replatform::core::status::StackStatus as Status;
use replatform::ui::progress::Recording;

use crate::simulation::{simulate, SimStack};

const STACK: &str = "orders-worker-lambda";
const CHANGE_SET: &str = "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/replatform-1-orders-worker-lambda/5f0e7a9c-3d2b-4c1e-9a8f-2b6d4e0c1a77";

fn stack(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name(STACK)
                .stack_id("arn:aws:cloudformation:eu-west-1:123456789012:stack/orders-worker-lambda/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d")
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

fn event(
    id: &str,
    logical: &str,
    rtype: &str,
    status: ResourceStatus,
    reason: Option<&str>,
    at: i64,
) -> StackEvent {
    StackEvent::builder()
        .event_id(id)
        .stack_name(STACK)
        .logical_resource_id(logical)
        .resource_type(rtype)
        .resource_status(status)
        .set_resource_status_reason(reason.map(str::to_string))
        .timestamp(DateTime::from_secs(1_795_000_000 + at))
        .build()
}

/// Newest first, as DescribeStackEvents answers.
fn events(list: &[StackEvent]) -> DescribeStackEventsOutput {
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(list.iter().rev().cloned().collect()))
        .build()
}

fn change(
    action: ChangeAction,
    logical: &str,
    rtype: &str,
    replacement: Option<Replacement>,
) -> Change {
    Change::builder()
        .resource_change(
            ResourceChange::builder()
                .action(action)
                .logical_resource_id(logical)
                .resource_type(rtype)
                .set_replacement(replacement)
                .build(),
        )
        .build()
}

fn ready(changes: Vec<Change>) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(CHANGE_SET)
        .status(ChangeSetStatus::CreateComplete)
        .set_changes(Some(changes))
        .build()
}

fn created() -> CreateChangeSetOutput {
    CreateChangeSetOutput::builder().id(CHANGE_SET).build()
}

/// A stack with no change sets, as ListChangeSets answers for it.
fn no_change_sets() -> ListChangeSetsOutput {
    ListChangeSetsOutput::builder().build()
}

/// The stacks' tag as `up` sets it; the described stacks carry none, so an update is never
/// taken for one already made ([`an_update_identical_to_the_deployed_stack_makes_no_change_set`]
/// is the case where it is).
fn tags() -> Vec<(String, String)> {
    vec![("replatform:service".into(), "orders-worker".into())]
}

fn runner<'a>(cfn: &'a Cfn, rec: &'a Recording) -> Runner<'a> {
    Runner::new(cfn, rec, Settings::default(), "replatform-1".into(), tags())
}

#[tokio::test(start_paused = true)]
async fn an_update_in_progress_is_waited_for_then_updated() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::UpdateInProgress))
        .times(3)
        .output(|| stack(StackStatus::UpdateComplete))
        .repeatedly()
        .build();
    // The update someone else started, as its events arrive.
    fn update_events(upto: usize) -> DescribeStackEventsOutput {
        let all = [
            event(
                "e1",
                STACK,
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateInProgress,
                Some("User Initiated"),
                0,
            ),
            event(
                "e2",
                "Queue",
                "AWS::SQS::Queue",
                ResourceStatus::UpdateComplete,
                None,
                20,
            ),
            event(
                "e3",
                STACK,
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateComplete,
                None,
                40,
            ),
        ];
        events(&all[..upto])
    }
    let stack_events = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| update_events(1))
        .output(|| update_events(2))
        .output(|| update_events(3))
        .repeatedly()
        .build();
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Update))
        .then_output(created);
    let describe_cs = mock!(Client::describe_change_set)
        .sequence()
        .output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreatePending)
                .build()
        })
        .output(|| {
            ready(vec![change(
                ChangeAction::Modify,
                "Queue",
                "AWS::SQS::Queue",
                Some(Replacement::False),
            )])
        })
        .build();
    let listed = mock!(Client::list_change_sets).then_output(no_change_sets);
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&describe, &stack_events, &create, &describe_cs, &listed]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());

    let started = tokio::time::Instant::now();
    let prepared = runner(&cfn, &rec)
        .prepare(STACK, "Resources: {}")
        .await
        .unwrap();
    let Preparation::Ready(p) = prepared else {
        panic!("{prepared:?}")
    };
    assert_eq!(
        (p.action, p.change_set.as_str(), p.changes.len()),
        (Action::Update, CHANGE_SET, 1)
    );
    assert_eq!(
        create.num_calls(),
        1,
        "the change set waits for the update in progress"
    );
    assert_eq!(describe_cs.num_calls(), 2);
    assert_eq!(
        rec.lines()[0],
        "orders-worker-lambda: waiting: the stack is UPDATE_IN_PROGRESS"
    );
    assert!(
        rec.lines()
            .iter()
            .any(|l| l.contains("Queue AWS::SQS::Queue UPDATE_COMPLETE")),
        "{:?}",
        rec.lines()
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "it waited on the clock, not in a busy loop"
    );
}

/// A create that fails and rolls back, as CloudFormation reports it: the function's image is
/// missing; the mapping is cancelled because of it; then everything is deleted.
#[tokio::test(start_paused = true)]
async fn a_rollback_names_the_earliest_real_failure() {
    let review = event(
        "e0",
        STACK,
        "AWS::CloudFormation::Stack",
        ResourceStatus::from("REVIEW_IN_PROGRESS"),
        Some("User Initiated"),
        0,
    );
    let mut all = vec![
        review.clone(),
        event("e1", STACK, "AWS::CloudFormation::Stack", ResourceStatus::CreateInProgress, Some("User Initiated"), 1),
        event("e2", "Queue", "AWS::SQS::Queue", ResourceStatus::CreateInProgress, None, 2),
        event("e3", "Queue", "AWS::SQS::Queue", ResourceStatus::CreateComplete, None, 30),
        event("e4", "Function", "AWS::Lambda::Function", ResourceStatus::CreateInProgress, None, 31),
        event("e5", "Function", "AWS::Lambda::Function", ResourceStatus::CreateFailed, Some("Resource handler returned message: \"Source image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-worker@sha256:0000000000000000000000000000000000000000000000000000000000000000 does not exist. Provide a valid source image. (Service: Lambda, Status Code: 400, Request ID: 8d3f2c1a-7b6e-4f5d-9c8b-1a2b3c4d5e6f)\" (RequestToken: 1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718, HandlerErrorCode: InvalidRequest)"), 33),
        event("e6", "LogGroup", "AWS::Logs::LogGroup", ResourceStatus::CreateFailed, Some("Resource creation cancelled"), 33),
        event("e7", STACK, "AWS::CloudFormation::Stack", ResourceStatus::RollbackInProgress, Some("The following resource(s) failed to create: [LogGroup, Function]. Rollback requested by user."), 34),
        event("e8", "Queue", "AWS::SQS::Queue", ResourceStatus::DeleteComplete, None, 60),
        event("e9", STACK, "AWS::CloudFormation::Stack", ResourceStatus::RollbackComplete, None, 61),
    ];
    let late = all.split_off(5);
    let (first, all_events) = (all.clone(), [all, late].concat());
    let stack_events = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || events(std::slice::from_ref(&review)))
        .output(move || events(&first))
        .output(move || events(&all_events))
        .repeatedly()
        .build();
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::CreateInProgress))
        .output(|| stack(StackStatus::RollbackInProgress))
        .output(|| stack(StackStatus::RollbackComplete))
        .repeatedly()
        .build();
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&stack_events, &describe, &execute]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());

    let p = Prepared {
        stack: STACK.into(),
        change_set: CHANGE_SET.into(),
        action: Action::Create,
        changes: vec![],
    };
    let err = runner(&cfn, &rec).execute(&p).await.unwrap_err();
    let OpError::Failed {
        status, root_cause, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, Status::RollbackComplete);
    let cause = root_cause.as_ref().unwrap();
    assert_eq!(
        (cause.logical_id.as_str(), cause.status.as_str()),
        ("Function", "CREATE_FAILED")
    );
    assert!(
        cause.reason.as_deref().unwrap().contains("Source image"),
        "{cause:?}"
    );
    // Every event of this operation once, none from before it.
    let lines = rec.lines();
    for id in [
        "Queue AWS::SQS::Queue CREATE_COMPLETE",
        "Function AWS::Lambda::Function CREATE_FAILED",
        "ROLLBACK_COMPLETE",
    ] {
        assert_eq!(
            lines.iter().filter(|l| l.contains(id)).count(),
            if id == "ROLLBACK_COMPLETE" { 2 } else { 1 },
            "{id}: {lines:#?}"
        );
    }
    assert!(
        !lines.iter().any(|l| l.contains("REVIEW_IN_PROGRESS")),
        "{lines:#?}"
    );
    assert_eq!(
        lines.last().unwrap(),
        "orders-worker-lambda: failed ROLLBACK_COMPLETE"
    );
    assert_eq!(execute.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_stack_left_in_rollback_complete_is_deleted_and_created_again() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::RollbackComplete))
        .output(|| stack(StackStatus::DeleteInProgress))
        .error(no_stack)
        .repeatedly()
        .build();
    let stack_events = mock!(Client::describe_stack_events).then_output(|| {
        events(&[event(
            "e9",
            STACK,
            "AWS::CloudFormation::Stack",
            ResourceStatus::RollbackComplete,
            None,
            61,
        )])
    });
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Create))
        .then_output(created);
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        ready(vec![change(
            ChangeAction::Add,
            "Queue",
            "AWS::SQS::Queue",
            None,
        )])
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&describe, &stack_events, &delete, &create, &describe_cs]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());

    let prepared = runner(&cfn, &rec)
        .prepare(STACK, "Resources: {}")
        .await
        .unwrap();
    let Preparation::Ready(p) = prepared else {
        panic!("{prepared:?}")
    };
    assert_eq!(p.action, Action::Recreate);
    assert_eq!((delete.num_calls(), create.num_calls()), (1, 1));
    assert_eq!(
        rec.lines()[..2],
        ["orders-worker-lambda: the stack is ROLLBACK_COMPLETE, left by an earlier failed create: deleting it to create it again", "orders-worker-lambda: deleting"]
    );
}

#[tokio::test(start_paused = true)]
async fn update_rollback_failed_blocks_with_a_hint_and_changes_nothing() {
    let describe =
        mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateRollbackFailed));
    let create = mock!(Client::create_change_set).then_output(created);
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&describe, &create]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());
    let err = runner(&cfn, &rec)
        .prepare(STACK, "Resources: {}")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            OpError::Blocked {
                status: Status::UpdateRollbackFailed,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err
        .hint()
        .unwrap()
        .contains("aws cloudformation continue-update-rollback --stack-name orders-worker-lambda"));
    assert_eq!(create.num_calls(), 0);
}

/// docs/pitfalls.md#p20: each of the three ways CloudFormation says "no changes" is success with
/// nothing to execute, and leaves no change set behind.
#[tokio::test(start_paused = true)]
async fn no_changes_in_each_of_its_three_forms() {
    let describe =
        || mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateComplete));
    let deleted = || {
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build())
    };
    let listed = mock!(Client::list_change_sets).then_output(no_change_sets);

    // 1. CreateChangeSet refuses: "No updates are to be performed."
    let (d, del) = (describe(), deleted());
    let refuse = mock!(Client::create_change_set).then_error(|| {
        CreateChangeSetError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("No updates are to be performed.")
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&d, &refuse, &del, &listed]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());
    assert_eq!(
        runner(&cfn, &rec).prepare(STACK, "x").await.unwrap(),
        Preparation::NoChanges {
            stack: STACK.into(),
            deployed: None
        }
    );

    // 2. The change set FAILED, with the reason that says so.
    let (d, del) = (describe(), deleted());
    let create = mock!(Client::create_change_set).then_output(created);
    let failed = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&d, &create, &failed, &del, &listed]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());
    assert_eq!(
        runner(&cfn, &rec).prepare(STACK, "x").await.unwrap(),
        Preparation::NoChanges {
            stack: STACK.into(),
            deployed: None
        }
    );
    assert_eq!(del.num_calls(), 1, "the failed change set is deleted");

    // 3. A change set with zero changes, and the deployed template is the rendered one.
    let (d, del) = (describe(), deleted());
    let create = mock!(Client::create_change_set).then_output(created);
    let empty = mock!(Client::describe_change_set).then_output(|| ready(vec![]));
    let same = mock!(Client::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body("x\n").build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&d, &create, &empty, &same, &del, &listed]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());
    assert_eq!(
        runner(&cfn, &rec).prepare(STACK, "x").await.unwrap(),
        Preparation::NoChanges {
            stack: STACK.into(),
            deployed: None
        }
    );
    assert_eq!(del.num_calls(), 1);

    // Not a form of "no changes": zero resource changes, but the deployed template differs (an
    // output, the metadata, the description). The change set is kept, to be executed.
    let (d, del) = (describe(), deleted());
    let create = mock!(Client::create_change_set).then_output(created);
    let empty = mock!(Client::describe_change_set).then_output(|| ready(vec![]));
    let other = mock!(Client::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body("Outputs: {}")
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&d, &create, &empty, &other, &del, &listed]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());
    match runner(&cfn, &rec).prepare(STACK, "x").await.unwrap() {
        Preparation::Ready(p) => assert!(p.changes.is_empty()),
        other => panic!("an outputs-only change is applied, not skipped: {other:?}"),
    }
    assert_eq!(del.num_calls(), 0);

    // And a real refusal is an error with CloudFormation's reason, its change set removed.
    let (d, del) = (describe(), deleted());
    let create = mock!(Client::create_change_set).then_output(created);
    let refused = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder().status(ChangeSetStatus::Failed).status_reason("Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template").build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&d, &create, &refused, &del, &listed]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());
    let err = runner(&cfn, &rec).prepare(STACK, "x").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Unresolved resource dependencies [Nope]"),
        "{err}"
    );
    assert_eq!(del.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn throttling_is_answered_by_a_retry() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .times(2)
        .output(|| stack(StackStatus::CreateComplete))
        .build();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&describe],
        |c| c.retry_config(RetryConfig::standard().with_max_attempts(3))
    );
    let cfn = Cfn::new(client);
    let found = cfn.describe_stack(STACK).await.unwrap().unwrap();
    assert_eq!(found.status, Status::CreateComplete);
    assert_eq!(describe.num_calls(), 3);

    // Other errors are not retried, and keep AWS's code and message.
    let denied = mock!(Client::describe_change_set).then_error(|| {
        DescribeChangeSetError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User is not authorized to perform: cloudformation:DescribeChangeSet")
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&denied],
        |c| c.retry_config(RetryConfig::standard().with_max_attempts(3))
    );
    let err = Cfn::new(client)
        .describe_change_set(STACK, CHANGE_SET)
        .await
        .unwrap_err();
    assert_eq!((err.code.as_str(), denied.num_calls()), ("AccessDenied", 1));
    assert!(err.hint().unwrap().contains("permission"));
}

/// Answers that come in pages: every page is read, in order, and a read that may stop early
/// (the events after a mark, at most so many pages) asks for no page past the one it needs.
#[tokio::test]
async fn pages_are_followed_and_no_further_than_needed() {
    let first_cs = mock!(Client::describe_change_set)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .changes(change(ChangeAction::Add, "Queue", "AWS::SQS::Queue", None))
                .next_token("cs-2")
                .build()
        });
    let second_cs = mock!(Client::describe_change_set)
        .match_requests(|r| r.next_token() == Some("cs-2"))
        .then_output(|| {
            ready(vec![change(
                ChangeAction::Add,
                "Function",
                "AWS::Lambda::Function",
                None,
            )])
        });
    // Newest first: e5 e4 on the first page, e3 e2 e1 on the second.
    let all = [
        event(
            "e1",
            STACK,
            "AWS::CloudFormation::Stack",
            ResourceStatus::UpdateInProgress,
            None,
            0,
        ),
        event(
            "e2",
            "Queue",
            "AWS::SQS::Queue",
            ResourceStatus::UpdateInProgress,
            None,
            10,
        ),
        event(
            "e3",
            "Queue",
            "AWS::SQS::Queue",
            ResourceStatus::UpdateComplete,
            None,
            20,
        ),
        event(
            "e4",
            "Function",
            "AWS::Lambda::Function",
            ResourceStatus::UpdateComplete,
            None,
            30,
        ),
        event(
            "e5",
            STACK,
            "AWS::CloudFormation::Stack",
            ResourceStatus::UpdateComplete,
            None,
            40,
        ),
    ];
    let (newer, older) = (all[3..].to_vec(), all[..3].to_vec());
    let first_ev = mock!(Client::describe_stack_events)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || {
            let mut page = events(&newer);
            page.next_token = Some("ev-2".into());
            page
        });
    let second_ev = mock!(Client::describe_stack_events)
        .match_requests(|r| r.next_token() == Some("ev-2"))
        .then_output(move || events(&older));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&first_cs, &second_cs, &first_ev, &second_ev]
    );
    let cfn = Cfn::new(client);

    let ChangeSetState::Ready(changes) = cfn.describe_change_set(STACK, CHANGE_SET).await.unwrap()
    else {
        panic!("not ready")
    };
    assert_eq!(
        changes
            .iter()
            .map(|c| c.logical_id.as_str())
            .collect::<Vec<_>>(),
        ["Queue", "Function"]
    );
    assert_eq!((first_cs.num_calls(), second_cs.num_calls()), (1, 1));

    let ids = |v: Vec<EventView>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let after = cfn
        .events_after(STACK, &Mark::After(Some("e2".into())), 5)
        .await
        .unwrap();
    assert_eq!(
        ids(after),
        ["e3", "e4", "e5"],
        "oldest first, across both pages, up to the mark"
    );
    assert_eq!((first_ev.num_calls(), second_ev.num_calls()), (1, 1));

    // The mark on the first page: the second is never asked for; nor past `max_pages`.
    let after = cfn
        .events_after(STACK, &Mark::After(Some("e4".into())), 5)
        .await
        .unwrap();
    assert_eq!(ids(after), ["e5"]);
    let one_page = cfn
        .events_after(STACK, &Mark::After(None), 1)
        .await
        .unwrap();
    assert_eq!(ids(one_page), ["e4", "e5"]);
    assert_eq!((first_ev.num_calls(), second_ev.num_calls()), (3, 1));
}

static TWO_STACKS: [SimStack; 2] = [
    SimStack {
        name: "orders-worker-ecs",
        takes: Duration::from_secs(5 * 60 + 17),
        resources: 13,
    },
    SimStack {
        name: "orders-worker-lambda",
        takes: Duration::from_secs(2 * 60 + 3),
        resources: 6,
    },
];

/// Both stacks are watched at once; the end of each is noticed within 5 s; a stack's events
/// are never read more than once a second. (Figures: `cargo bench --bench simulated_deploy`.)
#[tokio::test(start_paused = true)]
async fn a_deploy_of_minutes_is_watched_concurrently_and_politely() {
    let report = simulate(&TWO_STACKS).await;
    let slowest = TWO_STACKS.iter().map(|s| s.takes).max().unwrap();
    assert!(
        report.wall < slowest + Duration::from_secs(6),
        "wall {:?} follows the slower stack, not the sum",
        report.wall
    );
    for s in &report.stacks {
        assert!(s.noticed_after <= Duration::from_secs(5), "{s:?}");
        assert!(s.min_events_gap >= Duration::from_secs(1), "{s:?}");
        assert_eq!(
            s.events_reported,
            TWO_STACKS
                .iter()
                .find(|x| x.name == s.name)
                .unwrap()
                .resources
                + 3,
            "each event once: {s:?}"
        );
    }
}

/// The time of the run in the sweep tests: `replatform-<unix millis>`, as `up` names its run.
const RUN_MS: i64 = 1_795_000_000_000;

fn summary(
    name: &str,
    status: ChangeSetStatus,
    execution: ExecutionStatus,
    created_s: i64,
) -> ChangeSetSummary {
    ChangeSetSummary::builder()
        .stack_name(STACK)
        .stack_id("arn:aws:cloudformation:eu-west-1:123456789012:stack/orders-worker-lambda/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d")
        .change_set_name(name)
        .change_set_id(format!("arn:aws:cloudformation:eu-west-1:123456789012:changeSet/{name}/7c9e6679-7425-40de-944b-e07fc1f90ae7"))
        .status(status)
        .execution_status(execution)
        .creation_time(DateTime::from_secs(created_s))
        .build()
}

/// An interrupt can leave a change set behind (a CreateChangeSet still under way when
/// the process stopped). The next `up` deletes every `replatform-` change set older than itself
/// that was never executed, whatever its state, and nothing else: not one that runs or ran, not
/// a newer run's, not a person's.
#[tokio::test(start_paused = true)]
async fn the_next_up_deletes_the_change_sets_an_interrupted_run_left_and_nothing_else() {
    let old = |n: i64| format!("replatform-{}-{STACK}", RUN_MS - n);
    let old_s = RUN_MS / 1000 - 3600;
    // (summary, to be deleted); two pages, as ListChangeSets may answer.
    let first_page = vec![
        (
            summary(
                &old(9_000_000),
                ChangeSetStatus::CreateComplete,
                ExecutionStatus::Available,
                old_s,
            ),
            true,
        ),
        (
            summary(
                &old(8_000_000),
                ChangeSetStatus::Failed,
                ExecutionStatus::Unavailable,
                old_s,
            ),
            true,
        ),
        (
            summary(
                &old(7_000_000),
                ChangeSetStatus::CreateInProgress,
                ExecutionStatus::Unavailable,
                old_s,
            ),
            true,
        ),
        (
            summary(
                &old(6_000_000),
                ChangeSetStatus::CreateComplete,
                ExecutionStatus::ExecuteFailed,
                old_s,
            ),
            true,
        ),
        (
            summary(
                &old(5_000_000),
                ChangeSetStatus::CreateComplete,
                ExecutionStatus::Obsolete,
                old_s,
            ),
            true,
        ),
        (
            summary(
                &format!("replatform-{}-diff-{STACK}", RUN_MS - 4_000_000),
                ChangeSetStatus::CreateComplete,
                ExecutionStatus::Available,
                old_s,
            ),
            true,
        ),
    ];
    let second_page = vec![
        (
            summary(
                &old(3_000_000),
                ChangeSetStatus::CreateComplete,
                ExecutionStatus::ExecuteInProgress,
                old_s,
            ),
            false,
        ),
        (
            summary(
                &old(2_000_000),
                ChangeSetStatus::CreateComplete,
                ExecutionStatus::ExecuteComplete,
                old_s,
            ),
            false,
        ),
        (
            summary(
                "mine",
                ChangeSetStatus::CreateComplete,
                ExecutionStatus::Available,
                old_s,
            ),
            false,
        ),
        (
            summary(
                "replatform-review",
                ChangeSetStatus::CreateComplete,
                ExecutionStatus::Available,
                RUN_MS / 1000 + 5,
            ),
            false,
        ),
        (
            summary(
                &format!("replatform-{}-{STACK}", RUN_MS + 1),
                ChangeSetStatus::CreateComplete,
                ExecutionStatus::Available,
                old_s,
            ),
            false,
        ),
    ];
    let all: Vec<(ChangeSetSummary, bool)> = [first_page.clone(), second_page.clone()].concat();
    let pages = (
        first_page.into_iter().map(|(s, _)| s).collect::<Vec<_>>(),
        second_page.into_iter().map(|(s, _)| s).collect::<Vec<_>>(),
    );
    let first = mock!(Client::list_change_sets)
        .match_requests(|r| r.stack_name() == Some(STACK) && r.next_token().is_none())
        .then_output(move || {
            ListChangeSetsOutput::builder()
                .set_summaries(Some(pages.0.clone()))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::list_change_sets)
        .match_requests(|r| r.stack_name() == Some(STACK) && r.next_token() == Some("page-2"))
        .then_output(move || {
            ListChangeSetsOutput::builder()
                .set_summaries(Some(pages.1.clone()))
                .build()
        });
    let deletes: Vec<_> = all
        .iter()
        .map(|(s, _)| {
            let id = s.change_set_id().unwrap().to_string();
            mock!(Client::delete_change_set)
                .match_requests(move |r| {
                    r.change_set_name() == Some(id.as_str()) && r.stack_name() == Some(STACK)
                })
                .then_output(|| DeleteChangeSetOutput::builder().build())
        })
        .collect();
    let describe =
        mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateComplete));
    let create = mock!(Client::create_change_set).then_output(created);
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        ready(vec![change(
            ChangeAction::Modify,
            "Function",
            "AWS::Lambda::Function",
            Some(Replacement::False),
        )])
    });
    let mut rules = vec![&describe, &create, &describe_cs, &first, &second];
    rules.extend(deletes.iter());
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &rules);
    let (cfn, rec) = (Cfn::new(client), Recording::default());

    let runner = Runner::new(
        &cfn,
        &rec,
        Settings::default(),
        format!("replatform-{RUN_MS}"),
        tags(),
    );
    let prepared = runner.prepare(STACK, "Resources: {}").await.unwrap();
    assert!(
        matches!(prepared, Preparation::Ready(ref p) if p.action == Action::Update),
        "the deploy goes on: {prepared:?}"
    );
    assert_eq!(
        (first.num_calls(), second.num_calls()),
        (1, 1),
        "both pages are read"
    );
    for ((s, expected), rule) in all.iter().zip(&deletes) {
        let name = s.change_set_name().unwrap();
        assert_eq!(
            rule.num_calls(),
            usize::from(*expected),
            "`{name}` ({:?}, {:?}) deleted: {expected}",
            s.status(),
            s.execution_status()
        );
    }
    let notes: Vec<String> = rec
        .lines()
        .into_iter()
        .filter(|l| l.contains("deleted change set"))
        .collect();
    assert_eq!(notes.len(), 6, "one note per deletion: {notes:#?}");
    assert_eq!(notes[0], format!("{STACK}: deleted change set `{}` (CREATE_COMPLETE, AVAILABLE), left by an earlier run that did not finish", old(9_000_000)));
    assert!(
        notes[1].contains("(FAILED, UNAVAILABLE)")
            && notes[3].contains("EXECUTE_FAILED")
            && notes[4].contains("OBSOLETE"),
        "{notes:#?}"
    );
}

/// The sweep is housekeeping: a stack whose change sets cannot be listed (a role without
/// `cloudformation:ListChangeSets`) says so and is deployed all the same. A new stack has none
/// to list.
#[tokio::test(start_paused = true)]
async fn a_sweep_that_cannot_list_says_so_and_the_deploy_goes_on() {
    let denied = mock!(Client::list_change_sets).then_error(|| {
        ListChangeSetsError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User is not authorized to perform: cloudformation:ListChangeSets")
                .build(),
        )
    });
    let describe =
        mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateComplete));
    let create = mock!(Client::create_change_set).then_output(created);
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        ready(vec![change(
            ChangeAction::Modify,
            "Queue",
            "AWS::SQS::Queue",
            Some(Replacement::False),
        )])
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&describe, &create, &describe_cs, &denied]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());
    let runner = Runner::new(
        &cfn,
        &rec,
        Settings::default(),
        format!("replatform-{RUN_MS}"),
        tags(),
    );
    assert!(matches!(
        runner.prepare(STACK, "Resources: {}").await.unwrap(),
        Preparation::Ready(_)
    ));
    assert_eq!(denied.num_calls(), 1);
    assert_eq!(
        rec.lines(),
        [format!("{STACK}: could not list its change sets to delete those an interrupted run left (listing the change sets of `{STACK}`: AccessDenied: User is not authorized to perform: cloudformation:ListChangeSets); going on")]
    );

    let listed = mock!(Client::list_change_sets).then_output(no_change_sets);
    let missing = mock!(Client::describe_stacks).then_error(no_stack);
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Create))
        .then_output(created);
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        ready(vec![change(
            ChangeAction::Add,
            "Queue",
            "AWS::SQS::Queue",
            None,
        )])
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&missing, &create, &describe_cs, &listed]
    );
    let (cfn, rec) = (Cfn::new(client), Recording::default());
    let runner = Runner::new(
        &cfn,
        &rec,
        Settings::default(),
        format!("replatform-{RUN_MS}"),
        tags(),
    );
    assert!(
        matches!(runner.prepare(STACK, "Resources: {}").await.unwrap(), Preparation::Ready(ref p) if p.action == Action::Create)
    );
    assert_eq!(
        listed.num_calls(),
        0,
        "a stack about to be created has no change sets"
    );
}

/// The deployed stack already is the update: the rendered template byte for byte and the same
/// tags. `up` and `diff` read the template and make no change set (one takes seconds on AWS).
#[tokio::test(start_paused = true)]
async fn an_update_identical_to_the_deployed_stack_makes_no_change_set() {
    let tagged = || {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name(STACK)
                    .stack_status(StackStatus::UpdateComplete)
                    .creation_time(DateTime::from_secs(1_795_000_000))
                    .tags(
                        Tag::builder()
                            .key("replatform:service")
                            .value("orders-worker")
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    for (body, expect_change_set) in [("x\n", false), ("y\n", true)] {
        let d = mock!(Client::describe_stacks).then_output(tagged);
        let listed = mock!(Client::list_change_sets).then_output(no_change_sets);
        let same = mock!(Client::get_template)
            .then_output(move || GetTemplateOutput::builder().template_body(body).build());
        let create = mock!(Client::create_change_set).then_output(created);
        let empty = mock!(Client::describe_change_set).then_output(|| ready(vec![]));
        let del = mock!(Client::delete_change_set)
            .then_output(|| DeleteChangeSetOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            &[&d, &listed, &same, &create, &empty, &del]
        );
        let (cfn, rec) = (Cfn::new(client), Recording::default());
        let prepared = runner(&cfn, &rec).prepare(STACK, "x").await.unwrap();
        assert_eq!(
            matches!(
                prepared,
                Preparation::NoChanges {
                    deployed: Some(_),
                    ..
                }
            ),
            !expect_change_set,
            "{body:?}: {prepared:?}"
        );
        assert_eq!(
            create.num_calls(),
            usize::from(expect_change_set),
            "{body:?}"
        );
        let preview = runner(&cfn, &rec).preview(STACK, "x").await.unwrap();
        assert!(
            matches!(preview, Preview::Changes(ref c) if c.is_empty()),
            "{preview:?}"
        );
        assert_eq!(
            create.num_calls(),
            2 * usize::from(expect_change_set),
            "{body:?}: diff"
        );
    }
}

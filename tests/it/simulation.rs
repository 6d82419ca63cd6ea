//! A simulated deploy that takes minutes, on tokio's paused clock: CloudFormation answers from
//! mocked responses shaped like real ones, each stack finishing after its own time. Shared by
//! the test in `recorded.rs` and by `benches/simulated_deploy.rs`, which prints the figures.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackEvent, StackStatus};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::DateTime;
use futures::future::join_all;
use tokio::time::Instant;

use replatform::app::deploy::{Action, Prepared, Runner, Settings};
use replatform::aws::cloudformation::Cfn;
use replatform::ui::progress::Recording;

pub struct SimStack {
    pub name: &'static str,
    /// How long CloudFormation takes to create it.
    pub takes: Duration,
    /// Resources, each with its own CREATE_COMPLETE event spread over `takes`.
    pub resources: usize,
}

#[derive(Debug)]
#[allow(dead_code)] // `takes` and `events_calls` are printed by the bench
pub struct StackFigures {
    pub name: &'static str,
    pub takes: Duration,
    /// From CloudFormation finishing to `replatform` knowing it.
    pub noticed_after: Duration,
    pub events_calls: usize,
    /// The shortest time between two DescribeStackEvents calls for this stack.
    pub min_events_gap: Duration,
    pub events_reported: usize,
}

#[derive(Debug)]
pub struct SimReport {
    /// From the first execute to both stacks done.
    pub wall: Duration,
    pub stacks: Vec<StackFigures>,
}

type Calls = Arc<Mutex<Vec<(String, Instant)>>>;
type Started = Arc<Mutex<HashMap<String, Instant>>>;

fn elapsed_of(started: &Started, stack: &str) -> Option<Duration> {
    started.lock().unwrap().get(stack).map(|t| t.elapsed())
}

/// Runs `execute` for every stack at once against simulated CloudFormation. Call it inside a
/// tokio runtime whose clock is paused.
pub async fn simulate(stacks: &'static [SimStack]) -> SimReport {
    let started: Started = Arc::default();
    let calls: Calls = Arc::default();
    let find = |name: &str| {
        stacks
            .iter()
            .find(|s| s.name == name)
            .expect("a simulated stack")
    };

    let execute = {
        let started = started.clone();
        mock!(Client::execute_change_set).then_compute_output(move |req| {
            started
                .lock()
                .unwrap()
                .insert(req.stack_name().unwrap().to_string(), Instant::now());
            ExecuteChangeSetOutput::builder().build()
        })
    };
    let describe = {
        let started = started.clone();
        mock!(Client::describe_stacks).then_compute_output(move |req| {
            let name = req.stack_name().unwrap();
            let s = find(name);
            let status = match elapsed_of(&started, name) {
                Some(e) if e >= s.takes => StackStatus::CreateComplete,
                Some(_) => StackStatus::CreateInProgress,
                None => StackStatus::ReviewInProgress,
            };
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name(name)
                        .stack_id(format!(
                            "arn:aws:cloudformation:eu-west-1:123456789012:stack/{name}/1"
                        ))
                        .stack_status(status)
                        .creation_time(DateTime::from_secs(0))
                        .build(),
                )
                .build()
        })
    };
    let events = {
        let (started, calls) = (started.clone(), calls.clone());
        mock!(Client::describe_stack_events).then_compute_output(move |req| {
            let name = req.stack_name().unwrap();
            calls
                .lock()
                .unwrap()
                .push((name.to_string(), Instant::now()));
            let s = find(name);
            let mut list = vec![(
                Duration::ZERO,
                "review".to_string(),
                name.to_string(),
                "AWS::CloudFormation::Stack",
                ResourceStatus::from("REVIEW_IN_PROGRESS"),
            )];
            if let Some(elapsed) = elapsed_of(&started, name) {
                list.push((
                    Duration::ZERO,
                    "begin".into(),
                    name.into(),
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::CreateInProgress,
                ));
                for i in 0..s.resources {
                    let at = s.takes * (i as u32 + 1) / (s.resources as u32 + 1);
                    list.push((
                        at,
                        format!("r{i}"),
                        format!("Resource{i}"),
                        "AWS::SQS::Queue",
                        ResourceStatus::CreateComplete,
                    ));
                }
                list.push((
                    s.takes,
                    "end".into(),
                    name.into(),
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::CreateComplete,
                ));
                list.retain(|(at, ..)| *at <= elapsed);
            }
            let events = list
                .into_iter()
                .rev()
                .map(|(at, id, logical, rtype, status)| {
                    StackEvent::builder()
                        .event_id(format!("{name}-{id}"))
                        .stack_name(name)
                        .logical_resource_id(logical)
                        .resource_type(rtype)
                        .resource_status(status)
                        .timestamp(DateTime::from_secs(at.as_secs() as i64))
                        .build()
                })
                .collect::<Vec<_>>();
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(events))
                .build()
        })
    };
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&execute, &describe, &events]
    );
    let cfn = Cfn::new(client);
    let recording = Recording::default();
    let runner = Runner::new(
        &cfn,
        &recording,
        Settings::default(),
        "replatform-sim".into(),
        vec![("replatform:service".into(), "orders-worker".into())],
    );

    let begin = Instant::now();
    let ends = join_all(stacks.iter().map(|s| {
        let runner = &runner;
        async move {
            let p = Prepared {
                stack: s.name.into(),
                change_set: format!(
                    "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/x/{}",
                    s.name
                ),
                action: Action::Create,
                changes: vec![],
            };
            runner
                .execute(&p)
                .await
                .expect("the simulated deploy succeeds");
            Instant::now()
        }
    }))
    .await;
    let wall = begin.elapsed();

    let calls = calls.lock().unwrap().clone();
    let started = started.lock().unwrap().clone();
    let lines = recording.lines();
    let figures = stacks
        .iter()
        .zip(ends)
        .map(|(s, end)| {
            let mine: Vec<Instant> = calls
                .iter()
                .filter(|(n, _)| n == s.name)
                .map(|(_, t)| *t)
                .collect();
            let min_events_gap = mine
                .windows(2)
                .map(|w| w[1] - w[0])
                .min()
                .unwrap_or(Duration::MAX);
            StackFigures {
                name: s.name,
                takes: s.takes,
                noticed_after: end - (started[s.name] + s.takes),
                events_calls: mine.len(),
                min_events_gap,
                events_reported: lines
                    .iter()
                    .filter(|l| l.starts_with(&format!("{}: ", s.name)) && l.contains("CREATE_"))
                    .count(),
            }
        })
        .collect();
    SimReport {
        wall,
        stacks: figures,
    }
}

//! `assess`'s task count where Container Insights is off: the services' scaling histories read
//! through `app::assess::aws::scaling_history` from `DescribeScalingActivities` answers shaped
//! like real AWS's (aws-smithy-mocks; moto does not implement the call): a scale out and in over
//! two pages (the third never read: the history reached back before the period), a service never
//! scaled, one whose history starts inside the period, and a denied read. Then what the series
//! gives `assess`: the handling time of one message and the check of the model's task count.

use std::time::Duration;

use aws_sdk_applicationautoscaling::operation::describe_scaling_activities::{
    DescribeScalingActivitiesError, DescribeScalingActivitiesInput, DescribeScalingActivitiesOutput,
};
use aws_sdk_applicationautoscaling::types::{
    ScalableDimension, ScalingActivity, ScalingActivityStatusCode, ServiceNamespace,
};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::DateTime;
use replatform::app::assess::aws::{scaling_history, Tasks};
use replatform::aws::autoscaling::AutoScaling;
use replatform::core::assess::recorded::{self, PerMessageFrom, TasksFrom};

/// The period: an hour from 2026-01-01T00:00:00Z, read at its end.
const T0: i64 = 1_767_225_600;
const MINUTES: u64 = 60;

/// An activity as AWS answers it for an ECS service's desired count: its description and status
/// message in AWS's words.
fn activity(service: &str, start: i64, end: Option<i64>, count: u32, ok: bool) -> ScalingActivity {
    let (status, message) = if ok {
        (
            ScalingActivityStatusCode::Successful,
            format!(
                "Successfully set desired count to {count}. Change successfully fulfilled by ecs."
            ),
        )
    } else {
        (
            ScalingActivityStatusCode::Failed,
            format!(
                "Failed to set desired count to {count}. Reason: the service is being deleted."
            ),
        )
    };
    ScalingActivity::builder()
        .activity_id(format!("e6c5f7d1-{service}-{start}"))
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(format!("service/prod/{service}"))
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .description(format!("Setting desired count to {count}."))
        .cause(format!("monitor alarm {service}-backlog-high in state ALARM triggered policy {service}-scale-out"))
        .start_time(DateTime::from_secs(start))
        .set_end_time(end.map(DateTime::from_secs))
        .status_code(status)
        .status_message(message)
        .build()
        .unwrap()
}

/// Whether the request is for `service`'s desired count, on page `token`.
fn asks(r: &DescribeScalingActivitiesInput, service: &str, token: Option<&str>) -> bool {
    r.service_namespace() == Some(&ServiceNamespace::Ecs)
        && r.resource_id() == Some(format!("service/prod/{service}").as_str())
        && r.scalable_dimension() == Some(&ScalableDimension::EcsServiceDesiredCount)
        && r.next_token() == token
}

#[test]
fn the_task_count_where_container_insights_is_off_comes_from_the_scaling_history() {
    // `reports`, newest first: in to 2 (ended at 40:30), out to 5 (ended at 10:50), a failed
    // out to 9 at 5:00; page two: out to 1 two hours before the period, so no third page.
    let first = mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_activities)
        .match_requests(|r| asks(r, "reports", None))
        .then_output(|| {
            DescribeScalingActivitiesOutput::builder()
                .scaling_activities(activity("reports", T0 + 2400, Some(T0 + 2430), 2, true))
                .scaling_activities(activity("reports", T0 + 600, Some(T0 + 650), 5, true))
                .scaling_activities(activity("reports", T0 + 300, Some(T0 + 310), 9, false))
                .next_token("page-2")
                .build()
        });
    let second = mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_activities)
        .match_requests(|r| asks(r, "reports", Some("page-2")))
        .then_output(|| {
            DescribeScalingActivitiesOutput::builder()
                .scaling_activities(activity("reports", T0 - 7200, Some(T0 - 7170), 1, true))
                .next_token("page-3")
                .build()
        });
    let third = mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_activities)
        .match_requests(|r| asks(r, "reports", Some("page-3")))
        .then_output(|| DescribeScalingActivitiesOutput::builder().build());
    // `fixed`: never scaled in six weeks.
    let fixed = mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_activities)
        .match_requests(|r| asks(r, "fixed", None))
        .then_output(|| DescribeScalingActivitiesOutput::builder().build());
    // `burst`: out to 4 at 20:00 (ended 20:30), nothing before it that AWS keeps.
    let burst = mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_activities)
        .match_requests(|r| asks(r, "burst", None))
        .then_output(|| {
            DescribeScalingActivitiesOutput::builder()
                .scaling_activities(activity("burst", T0 + 1200, Some(T0 + 1230), 4, true))
                .build()
        });
    // `orders`: the caller may not read it.
    let denied = mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_activities)
        .match_requests(|r| asks(r, "orders", None))
        .then_error(|| {
            DescribeScalingActivitiesError::generic(
                aws_sdk_applicationautoscaling::error::ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("User: arn:aws:sts::123456789012:assumed-role/assessor/ci is not authorized to perform: application-autoscaling:DescribeScalingActivities")
                    .build(),
            )
        });
    let aas = AutoScaling::new(mock_client!(
        aws_sdk_applicationautoscaling,
        RuleMode::MatchAny,
        &[&first, &second, &third, &fixed, &burst, &denied]
    ));
    let services: Vec<(String, u32)> = [("reports", 2), ("fixed", 3), ("burst", 4), ("orders", 6)]
        .iter()
        .map(|(n, d)| (n.to_string(), *d))
        .collect();
    let start_s = T0 as u64;
    let now_s = start_s + MINUTES * 60;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let got = rt.block_on(scaling_history(
        &aas, "prod", &services, start_s, MINUTES, now_s,
    ));
    assert_eq!(got.len(), 4, "one answer a service, in order");
    assert_eq!(
        (first.num_calls(), second.num_calls(), third.num_calls()),
        (1, 1, 0),
        "paged back to the count before the period, no further"
    );

    // `reports`: 1 until 10:50 (minutes 0-10), 5 until 40:30 (11-40), 2 after (41-59); the
    // failed activity changed nothing.
    let reports = &got[0];
    assert_eq!(reports.from, TasksFrom::ScalingHistory);
    let want: Vec<Option<f64>> = (0..MINUTES)
        .map(|m| {
            Some(match m {
                0..=10 => 1.0,
                11..=40 => 5.0,
                _ => 2.0,
            })
        })
        .collect();
    assert_eq!(reports.series, want);
    let recorded_mean = recorded::mean_known(&reports.series).unwrap();
    assert!(
        (recorded_mean - 199.0 / 60.0).abs() < 1e-9,
        "{recorded_mean}"
    );
    // Its handling time: the 30 minutes at 5 tasks each deleted 600 with messages waiting,
    // 300 task-seconds / 600 = 0.5 s; the quiet minutes are left out.
    let busy = |m: u64, v: f64| if (11..=40).contains(&m) { v } else { 0.0 };
    let deleted: Vec<f64> = (0..MINUTES).map(|m| busy(m, 600.0)).collect();
    let visible: Vec<f64> = (0..MINUTES).map(|m| busy(m, 10.0)).collect();
    assert_eq!(
        recorded::per_message(&reports.series, &deleted, &visible),
        Some((Duration::from_millis(500), PerMessageFrom::Backlog))
    );
    assert_eq!(
        reports.source_note().unwrap(),
        "task count from the scaling history (desired count: tasks starting count as running; Container Insights is off)"
    );
    // A model running 3 tasks on average: |3 - 3.317| / 3.317 is 9.5%.
    assert_eq!(
        reports.check_note(Some(3.0)),
        "the model's ECS matches what ran within 10%: 3.00 tasks on average, 3.32 recorded"
    );

    // `fixed`: today's desired count, the whole hour.
    assert_eq!(got[1].from, TasksFrom::ScalingHistory);
    assert_eq!(got[1].series, vec![Some(3.0); MINUTES as usize]);

    // `burst`: unknown until 20:30, then 4; the note says how much is known.
    assert_eq!(got[2].series.iter().flatten().count(), 39);
    assert_eq!(got[2].series[20], None);
    assert_eq!(got[2].series[21], Some(4.0));
    assert_eq!(recorded::mean_known(&got[2].series), Some(4.0));
    assert!(
        got[2]
            .source_note()
            .unwrap()
            .contains("known 39 of 60 minutes"),
        "{:?}",
        got[2].source_note()
    );

    // `orders`: no count, and why, with the IAM action to grant; the Container Insights case's
    // words are kept.
    let orders: &Tasks = &got[3];
    assert_eq!(orders.from, TasksFrom::None);
    assert!(orders.series.is_empty());
    assert_eq!(orders.source_note(), None);
    let why = orders.why.as_deref().unwrap();
    assert!(
        why.contains("(needs `application-autoscaling:DescribeScalingActivities`)")
            && why.contains("AccessDeniedException"),
        "{why}"
    );
    let note = orders.check_note(Some(2.0));
    assert!(
        note.starts_with("no recorded task count to check the model against")
            && note.contains("the scaling history could not be read")
            && note.contains("application-autoscaling:DescribeScalingActivities"),
        "{note}"
    );
    assert_eq!(
        recorded::per_message(&orders.series, &deleted, &visible),
        None,
        "no count, no handling time implied: the default is taken"
    );
}

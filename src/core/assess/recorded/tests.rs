//! Reading CloudWatch's answers into minutes, on hand-computed cases.

use super::*;

const T0: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

#[test]
fn the_period_follows_cloudwatchs_retention() {
    assert_eq!(period_s(14), Ok(60));
    assert_eq!(period_s(15), Ok(60));
    assert_eq!(period_s(16), Ok(300));
    assert_eq!(period_s(63), Ok(300));
    assert!(period_s(64).unwrap_err().contains("63 days"));
    assert!(period_s(0).is_err());
}

#[test]
fn calls_hold_at_most_500_queries_and_100800_datapoints() {
    // 14 days by minute: 20,160 datapoints a query, so 5 a call.
    let b = batches(12, 14 * 1440);
    assert_eq!(b, [0..5, 5..10, 10..12]);
    // An hour by minute: 60 a query, 1,680 would fit, 500 is the cap.
    assert_eq!(batches(1001, 60), [0..500, 500..1000, 1000..1001]);
    // A query larger than a call still gets a call of its own (it pages).
    assert_eq!(batches(2, 200_000), [0..1, 1..2]);
    assert!(batches(0, 60).is_empty());
}

#[test]
fn a_count_is_spread_over_its_period_and_a_level_is_held() {
    let t = T0 as i64;
    let pts = [(t, 10.0), (t + 600, 5.0)];
    let sent = per_minute(&pts, T0, 15, 300, Fill::Spread);
    assert_eq!(&sent[..5], &[2.0; 5]);
    assert_eq!(&sent[5..10], &[0.0; 5]);
    assert_eq!(&sent[10..], &[1.0; 5]);
    let visible = per_minute(&pts, T0, 15, 300, Fill::Zero);
    assert_eq!(&visible[..5], &[10.0; 5]);
    assert_eq!(&visible[10..], &[5.0; 5]);
    // By minute: each point its own minute; points outside the window are left out.
    let m = per_minute(
        &[(t - 60, 9.0), (t + 60, 3.0), (t + 6000, 1.0)],
        T0,
        3,
        60,
        Fill::Spread,
    );
    assert_eq!(m, [0.0, 3.0, 0.0]);
    // The task count holds until its next datapoint; before its first it is 0.
    let tasks = per_minute(&[(t + 60, 2.0), (t + 240, 1.0)], T0, 6, 60, Fill::Hold);
    assert_eq!(tasks, [0.0, 2.0, 2.0, 2.0, 1.0, 1.0]);
}

#[test]
fn no_task_datapoint_is_no_recorded_task_count() {
    let t = T0 as i64;
    let series = [vec![(t, 60.0)], vec![(t, 60.0)], vec![], vec![], vec![]];
    let (traffic, tasks) = traffic(&series, T0, 2, 60);
    assert_eq!(traffic.sent, [60.0, 0.0]);
    assert_eq!(traffic.visible, Some(vec![0.0, 0.0]));
    assert_eq!(tasks, None);
}

#[test]
fn the_handling_time_comes_from_busy_minutes_first() {
    // Two tasks busy a minute deleting 240: 120 task-seconds / 240 = 0.5 s. The idle minute
    // (one task, 10 deleted, nothing waiting) is left out.
    let (d, from) = per_message(&[Some(2.0), Some(1.0)], &[240.0, 10.0], &[50.0, 0.0]).unwrap();
    assert_eq!(
        (d, from),
        (Duration::from_millis(500), PerMessageFrom::Backlog)
    );
    // No backlog ever: every minute with tasks and deletes, an upper bound.
    let (d, from) = per_message(&[Some(1.0), Some(1.0)], &[30.0, 30.0], &[0.0, 0.0]).unwrap();
    assert_eq!(
        (d, from),
        (Duration::from_secs(2), PerMessageFrom::AllMinutes)
    );
    // No delete, or no task: nothing implied.
    assert_eq!(per_message(&[Some(1.0)], &[0.0], &[5.0]), None);
    assert_eq!(per_message(&[Some(0.0)], &[10.0], &[5.0]), None);
    // A minute of unknown task count is left out: the busy minute of 8 tasks would make it 4 s.
    let (d, from) = per_message(&[None, Some(2.0)], &[120.0, 240.0], &[50.0, 50.0]).unwrap();
    assert_eq!(
        (d, from),
        (Duration::from_millis(500), PerMessageFrom::Backlog)
    );
    assert_eq!(per_message(&[None], &[10.0], &[5.0]), None);
}

#[test]
fn the_model_is_compared_with_what_ran_in_percent() {
    assert_eq!(
        within_pct(1.1, 1.0).map(|p| (p * 10.0).round()),
        Some(100.0)
    );
    assert_eq!(within_pct(0.0, 0.0), Some(0.0));
    assert_eq!(within_pct(1.0, 0.0), None);
    assert_eq!(mean(&[1.0, 3.0]), Some(2.0));
    assert_eq!(mean(&[]), None);
    assert_eq!(mean_known(&[None, Some(1.0), Some(3.0)]), Some(2.0));
    assert_eq!(mean_known(&[None, None]), None);
}

fn at(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(s)
}

/// A scaling activity as AWS answers it, its description in AWS's words.
fn activity(start: u64, end: Option<u64>, status: &str, description: &str) -> Activity {
    Activity {
        start: at(start),
        end: end.map(at),
        status: status.into(),
        desired: desired_of(description),
    }
}

#[test]
fn the_desired_count_is_read_from_the_activitys_description() {
    assert_eq!(desired_of("Setting desired count to 3."), Some(3));
    assert_eq!(desired_of("Setting desired count to 12"), Some(12));
    assert_eq!(
        desired_of("Setting min capacity to 1 and max capacity to 5."),
        None
    );
    assert_eq!(desired_of("Setting desired count to many."), None);
    assert_eq!(desired_of(""), None);
}

#[test]
fn the_scaling_history_steps_the_task_count_minute_by_minute() {
    // Ten minutes from T0. Out to 3 (started at 2:00, ended at 2:30: from minute 3), in to 1
    // (no end, started at 6:40: from minute 7). Nothing known before: the first three minutes
    // are unknown. AWS answers newest first.
    let now = T0 + 600;
    let inside = [
        activity(T0 + 400, None, "Successful", "Setting desired count to 1."),
        activity(
            T0 + 120,
            Some(T0 + 150),
            "Successful",
            "Setting desired count to 3.",
        ),
    ];
    let tasks = history_tasks(&inside, 1, T0, 10, now);
    let (u, k) = (None, Some);
    assert_eq!(
        tasks,
        [
            u,
            u,
            u,
            k(3.0),
            k(3.0),
            k(3.0),
            k(3.0),
            k(1.0),
            k(1.0),
            k(1.0)
        ]
    );
    assert_eq!(mean_known(&tasks), Some(15.0 / 7.0));

    // An activity an hour before the window (to 2) says the first three minutes.
    let mut with_before = inside.to_vec();
    with_before.push(activity(
        T0 - 3600,
        Some(T0 - 3590),
        "Successful",
        "Setting desired count to 2.",
    ));
    let tasks = history_tasks(&with_before, 1, T0, 10, now);
    assert_eq!(
        tasks,
        [
            k(2.0),
            k(2.0),
            k(2.0),
            k(3.0),
            k(3.0),
            k(3.0),
            k(3.0),
            k(1.0),
            k(1.0),
            k(1.0)
        ]
    );
    assert_eq!(mean_known(&tasks), Some(2.1));

    // A failed activity, one still in progress and one whose text says no count change nothing.
    let mut with_others = with_before.clone();
    with_others.extend([
        activity(
            T0 + 300,
            Some(T0 + 310),
            "Failed",
            "Setting desired count to 9.",
        ),
        activity(T0 + 500, None, "InProgress", "Setting desired count to 8."),
        activity(
            T0 + 30,
            Some(T0 + 31),
            "Successful",
            "Setting min capacity to 0 and max capacity to 8.",
        ),
    ]);
    assert_eq!(history_tasks(&with_others, 1, T0, 10, now), tasks);
}

#[test]
fn with_no_activity_the_count_is_todays_desired_count_as_far_back_as_the_history_goes() {
    assert_eq!(history_tasks(&[], 4, T0, 3, T0 + 180), [Some(4.0); 3]);
    // A failed activity changes nothing.
    let failed = [activity(
        T0 + 60,
        Some(T0 + 70),
        "Failed",
        "Setting desired count to 9.",
    )];
    assert_eq!(history_tasks(&failed, 4, T0, 3, T0 + 180), [Some(4.0); 3]);
    // The history covers six weeks back from now: minutes before are unknown.
    let now = T0 + HISTORY_DAYS * 86_400 + 120;
    assert_eq!(
        history_tasks(&[], 4, T0, 4, now),
        [None, None, Some(4.0), Some(4.0)]
    );
}

#[test]
fn thinning_keeps_the_deepest_sample_of_each_bucket() {
    let s = |t: f64, side, v| Sample {
        elapsed_s: t,
        platform: side,
        visible: Some(v),
        ..Sample::default()
    };
    let samples: Vec<Sample> = (0..10)
        .flat_map(|i| [s(i as f64, Side::Ecs, i), s(i as f64, Side::Lambda, 10 - i)])
        .collect();
    let t = thin(&samples, 2);
    let ecs: Vec<u64> = t
        .iter()
        .filter(|x| x.platform == Side::Ecs)
        .map(|x| x.visible.unwrap())
        .collect();
    let lambda: Vec<u64> = t
        .iter()
        .filter(|x| x.platform == Side::Lambda)
        .map(|x| x.visible.unwrap())
        .collect();
    assert_eq!((ecs, lambda), (vec![4, 9], vec![10, 5]));
}

#[test]
fn the_models_mean_is_taken_over_the_minutes_the_recorded_count_knows() {
    let model = [0, 0, 2, 4, 4, 6];
    let known = [None, None, Some(3.0), Some(3.0), Some(5.0), Some(5.0)];
    assert_eq!(model_tasks_mean(&model, &known), Some(4.0));
    assert_eq!(model_tasks_mean(&model, &[None; 6]), None);
    // Every minute known, or no recorded count at all: every value, the period's end included.
    assert_eq!(model_tasks_mean(&model, &[Some(1.0); 5]), Some(16.0 / 6.0));
    assert_eq!(model_tasks_mean(&model, &[]), Some(16.0 / 6.0));
    assert_eq!(model_tasks_mean(&[], &[]), None);
}

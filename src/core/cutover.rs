//! The pure core of `cutover` and `rollback`: the checks before the first stage, the
//! stage plan, the bake's verdict and the state recorded before production changes. No I/O.
//!
//! Where the recorded state lives: as one tag, [`STATE_TAG`], on the production ECS service. It
//! survives a crash of the machine running `cutover` (it is in AWS, not in a local file); it sits
//! on the very service whose bounds and desired count it restores, so it goes when the service
//! goes and never outlives it; it is there whether or not the service has a scalable target; and
//! it needs no new service: cutover already calls ECS (`UpdateService`), so the only new
//! permissions are `ecs:TagResource`, `ecs:UntagResource` and `ecs:DescribeServices` with tags
//! ("Tagging your Amazon ECS resources", Amazon ECS developer guide; a service needs the long ARN
//! format, the default since 2021). The production event source mapping is CloudFormation's
//! resource, whose updates may rewrite its tags, and an SSM parameter would add a service, a client
//! and two permissions. The encoding keeps to the characters a tag value takes (letters, digits,
//! spaces, `_ . : / = + - @`, at most 256).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::status::StackStatus;

/// The tag key on the production ECS service that holds [`Recorded`].
pub const STATE_TAG: &str = "replatform:cutover";

/// The annotation on the production ScaledObject that holds [`Recorded`], for a worker on
/// Kubernetes (`production.k8s`). An annotation key's prefix is a DNS subdomain, so it is not
/// [`STATE_TAG`]'s `replatform:` (the Kubernetes documentation, "Annotations").
pub const RECORD_ANNOTATION: &str = "replatform/cutover";

/// The unreserved concurrency Lambda keeps for the account (docs/pitfalls.md#p9; "Lambda function
/// scaling" in the Lambda developer guide: reservations must leave at least 100 unreserved).
pub const ACCOUNT_POOL: u32 = 100;

/// AWS's bounds for an SQS event source mapping's `ScalingConfig.MaximumConcurrency`
/// (docs/pitfalls.md#p8).
pub const MIN_MAPPING_CONCURRENCY: u32 = 2;
pub const MAX_MAPPING_CONCURRENCY: u32 = 1000;

/// How a `cutover` ended. Serialised as the JSON has always spelled it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every stage applied: the function consumes the queue.
    CutOver,
    /// A check before the first stage failed; nothing changed.
    Refused,
    /// A question was answered no (or could not be asked).
    Declined,
    /// A signal stopped it between or inside stages.
    Interrupted,
    /// A breach or a failed step, and production was put back as recorded.
    RolledBack,
    /// A breach or a failed step, and a step of the rollback failed too.
    RollbackFailed,
}

/// How one stage went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageOutcome {
    Applied,
    /// By an earlier run.
    AlreadyApplied,
    Failed,
    NotReached,
}

/// How one step of a rollback went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    Done,
    /// Already so.
    Unchanged,
    Failed,
    Skipped,
}

impl StepOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Unchanged => "unchanged",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

impl fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason `cutover` refuses to start, with what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub check: &'static str,
    pub problem: String,
    pub fix: String,
}

/// What the checks before the first stage look at, read from AWS and the config by the caller.
#[derive(Clone, Debug)]
pub struct Preflight {
    /// `lambda.trigger.type` is `sqs` (else `schedule`).
    pub sqs_trigger: bool,
    pub lambda_timeout_s: u64,
    pub batching_window_s: u64,
    /// The production queue's `VisibilityTimeout`.
    pub queue_visibility_timeout_s: u64,
    /// The production queue has a `RedrivePolicy`.
    pub queue_has_dead_letter: bool,
    /// The function's `reserved_concurrency` from the config.
    pub reserved_concurrency: Option<u32>,
    /// The function's reservation as deployed (counted already in `unreserved`).
    pub deployed_reservation: Option<u32>,
    /// `GetAccountSettings`' `AccountLimit.UnreservedConcurrentExecutions`.
    pub unreserved: u32,
    /// The Lambda stack's status, `None` when it does not exist.
    pub lambda_stack: Option<StackStatus>,
    /// The deployed Lambda stack matches what `up` would deploy now.
    pub lambda_stack_current: bool,
}

/// Every refusal of the checks before the first stage; empty means go.
pub fn preflight(p: &Preflight) -> Vec<Refusal> {
    let mut out = Vec::new();
    let mut refuse = |check, problem: String, fix: String| {
        out.push(Refusal {
            check,
            problem,
            fix,
        })
    };
    match &p.lambda_stack {
        None | Some(StackStatus::DeleteComplete) => refuse("lambda-stack", "the Lambda stack is not deployed".into(), "run `replatform up` first".into()),
        Some(s) if !s.succeeded() || s.in_progress() => refuse(
            "lambda-stack",
            format!("the Lambda stack is {}", s.as_str()),
            "wait for it to settle, or run `replatform up` until it ends in CREATE_COMPLETE or UPDATE_COMPLETE".into(),
        ),
        Some(_) if !p.lambda_stack_current => refuse(
            "lambda-stack",
            "the Lambda stack differs from the config".into(),
            "run `replatform diff` to see how, then `replatform up`".into(),
        ),
        Some(_) => {}
    }
    let vt = p.queue_visibility_timeout_s;
    if p.sqs_trigger {
        // docs/pitfalls.md#p7, #p35: AWS recommends 6 x the function timeout + the batching window
        // while Lambda's poller consumes the queue ("Using Lambda with Amazon SQS", Lambda guide).
        let want = 6 * p.lambda_timeout_s + p.batching_window_s;
        if vt < want {
            refuse(
                "visibility-timeout",
                format!("the production queue's visibility timeout is {vt} s, below 6 x the function timeout {} s + batching window {} s = {want} s", p.lambda_timeout_s, p.batching_window_s),
                format!("raise the production queue's VisibilityTimeout to at least {want} (in the infrastructure that owns it), or lower `lambda.timeout`"),
            );
        }
    } else if vt < p.lambda_timeout_s {
        refuse(
            "visibility-timeout",
            format!("the production queue's visibility timeout is {vt} s, below the function timeout {} s: a message would be received twice while its first run goes on", p.lambda_timeout_s),
            format!("raise the production queue's VisibilityTimeout to at least {}, or lower `lambda.timeout`", p.lambda_timeout_s),
        );
    }
    if !p.queue_has_dead_letter {
        refuse(
            "dead-letter",
            "the production queue has no dead-letter queue: a message that fails on Lambda would be retried for ever".into(),
            "give the production queue a RedrivePolicy (deadLetterTargetArn, maxReceiveCount) in the infrastructure that owns it".into(),
        );
    }
    if let Some(want) = p.reserved_concurrency {
        // What is unreserved once the config's reservation replaces the deployed one.
        let after = (p.unreserved + p.deployed_reservation.unwrap_or(0)).saturating_sub(want);
        if after < ACCOUNT_POOL {
            refuse(
                "reserved-concurrency",
                format!("reserving {want} leaves the account {after} unreserved; Lambda keeps at least {ACCOUNT_POOL}"),
                "lower `lambda.reserved_concurrency`, or ask for a higher Lambda concurrency quota (Service Quotas)".into(),
            );
        }
    }
    out
}

/// Parse `--stages`: percentages, comma separated, increasing, each 1..=100, ending at 100.
pub fn parse_stages(text: &str) -> Result<Vec<u32>, String> {
    let mut out: Vec<u32> = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let n: u32 = part
            .strip_suffix('%')
            .unwrap_or(part)
            .parse()
            .map_err(|_| format!("`--stages {text}`: `{part}` is not a percentage; give percentages such as `10,50,100`"))?;
        if !(1..=100).contains(&n) {
            return Err(format!("`--stages {text}`: {n} is outside 1..=100"));
        }
        if let Some(&last) = out.last() {
            if n <= last {
                return Err(format!(
                    "`--stages {text}`: {n} after {last}; the stages must increase"
                ));
            }
        }
        out.push(n);
    }
    if out.last() != Some(&100) {
        return Err(format!(
            "`--stages {text}`: the last stage must be 100, so that ECS ends at zero"
        ));
    }
    Ok(out)
}

/// The production service's bounds, as recorded before the first stage. A service without a
/// scalable target records its desired count as both bounds, with `scaled` false.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Bounds {
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    /// The service has a scalable target: its bounds are the dial (docs/pitfalls.md#p34). Without
    /// one the desired count is.
    pub scaled: bool,
}

/// What one stage sets in production.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub percent: u32,
    /// The production mapping's `ScalingConfig.MaximumConcurrency`.
    pub max_concurrency: u32,
    /// The scalable target's MinCapacity and MaxCapacity.
    pub ecs_min: u32,
    pub ecs_max: u32,
    /// The service's desired count, set only at 100 (docs/pitfalls.md#p34); else scaling keeps it.
    pub ecs_desired: Option<u32>,
}

/// The stages' settings. Lambda's ceiling is `ceiling` (the trigger's `max_concurrency`, else the
/// reserved concurrency, docs/pitfalls.md#p8), else AWS's 1000; each stage gets its share of that
/// ceiling, at least 2. ECS's max falls by the same share, rounded up so that ECS still consumes
/// before 100; at 100 it is 0/0 with desired 0. A service without a scalable target has its desired
/// count lowered by the same share instead.
pub fn plan(stages: &[u32], recorded: Bounds, ceiling: Option<u32>) -> Result<Vec<Stage>, String> {
    let ceiling = ceiling
        .unwrap_or(MAX_MAPPING_CONCURRENCY)
        .min(MAX_MAPPING_CONCURRENCY);
    if ceiling < MIN_MAPPING_CONCURRENCY {
        return Err(format!(
            "the function's concurrency ceiling (`lambda.trigger.max_concurrency`, else `lambda.reserved_concurrency`) is {ceiling}: an event source mapping's MaximumConcurrency is at least {MIN_MAPPING_CONCURRENCY}; set it to 2 or more"
        ));
    }
    Ok(stages
        .iter()
        .map(|&pct| {
            let share = |n: u32| (u64::from(n) * u64::from(pct)).div_ceil(100) as u32;
            let max_concurrency = share(ceiling).clamp(MIN_MAPPING_CONCURRENCY, ceiling);
            let left = |n: u32| (u64::from(n) * u64::from(100 - pct.min(100))).div_ceil(100) as u32;
            if pct >= 100 {
                Stage {
                    percent: pct,
                    max_concurrency,
                    ecs_min: 0,
                    ecs_max: 0,
                    ecs_desired: Some(0),
                }
            } else if !recorded.scaled {
                let d = left(recorded.desired);
                Stage {
                    percent: pct,
                    max_concurrency,
                    ecs_min: d,
                    ecs_max: d,
                    ecs_desired: Some(d),
                }
            } else {
                let max = left(recorded.max);
                Stage {
                    percent: pct,
                    max_concurrency,
                    ecs_min: recorded.min.min(max),
                    ecs_max: max,
                    ecs_desired: None,
                }
            }
        })
        .collect())
}

/// One health sample during a bake, oldest first in a slice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Lambda `Errors` and `Throttles` in the sample's period.
    pub errors: u64,
    pub throttles: u64,
    /// The dead-letter queue's visible messages.
    pub dlq_depth: u64,
    /// `ApproximateAgeOfOldestMessage` of the production queue, seconds.
    pub oldest_age_s: u64,
    /// The production queue's visible messages.
    pub depth: u64,
}

/// What breaches a bake. The defaults: no errors, no throttles (MaximumConcurrency stays within
/// the reservation), no message new in the dead-letter queue, the oldest message under 15
/// minutes, and the depth not rising through every sample by 1,000 or more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub max_errors: u64,
    pub max_throttles: u64,
    pub max_dlq_growth: u64,
    pub max_oldest_age_s: u64,
    pub max_depth_rise: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_errors: 0,
            max_throttles: 0,
            max_dlq_growth: 0,
            max_oldest_age_s: 900,
            max_depth_rise: 1000,
        }
    }
}

/// The bake's verdict: `None` when healthy, else the first breach's reason.
pub fn verdict(samples: &[Sample], t: &Thresholds) -> Option<String> {
    let (first, last) = (samples.first()?, samples.last()?);
    let errors: u64 = samples.iter().map(|s| s.errors).sum();
    if errors > t.max_errors {
        return Some(format!(
            "Lambda reported {errors} errors during the bake (at most {} allowed)",
            t.max_errors
        ));
    }
    let throttles: u64 = samples.iter().map(|s| s.throttles).sum();
    if throttles > t.max_throttles {
        return Some(format!(
            "Lambda throttled {throttles} invocations during the bake (at most {} allowed)",
            t.max_throttles
        ));
    }
    let grew = last.dlq_depth.saturating_sub(first.dlq_depth);
    if grew > t.max_dlq_growth {
        return Some(format!(
            "the dead-letter queue grew by {grew} messages ({} -> {}) during the bake (at most {} allowed)",
            first.dlq_depth, last.dlq_depth, t.max_dlq_growth
        ));
    }
    if let Some(s) = samples.iter().find(|s| s.oldest_age_s > t.max_oldest_age_s) {
        return Some(format!(
            "the oldest message waited {} s (at most {} s allowed)",
            s.oldest_age_s, t.max_oldest_age_s
        ));
    }
    let rising = samples.len() >= 3 && samples.windows(2).all(|w| w[1].depth > w[0].depth);
    let rise = last.depth.saturating_sub(first.depth);
    if rising && rise >= t.max_depth_rise {
        return Some(format!(
            "the queue's depth rose in every sample, by {rise} ({} -> {}): the consumers fall behind",
            first.depth, last.depth
        ));
    }
    None
}

/// What cutover records before its first stage, and the stage it has reached since.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Recorded {
    pub bounds: Bounds,
    /// The last stage applied in full, 0 before the first.
    pub stage: u32,
}

const VERSION: &str = "v1";

impl fmt::Display for Recorded {
    /// The tag value: `v1 min=1 max=10 desired=2 stage=50 target=yes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.bounds;
        write!(
            f,
            "{VERSION} min={} max={} desired={} stage={} target={}",
            b.min,
            b.max,
            b.desired,
            self.stage,
            if b.scaled { "yes" } else { "no" }
        )
    }
}

impl Recorded {
    /// Read a tag value written by [`Recorded`]'s `Display`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("the cutover record `{text}` (the production ECS service's tag `{STATE_TAG}`, or the ScaledObject's annotation `{RECORD_ANNOTATION}`) {why}; fix or remove it")
        };
        let mut words = text.split(' ');
        if words.next() != Some(VERSION) {
            return Err(bad(
                "was written by another version of replatform (it does not start with `v1`)",
            ));
        }
        let mut field = |key: &str| -> Result<u32, String> {
            let word = words.next().ok_or_else(|| bad(&format!("lacks `{key}`")))?;
            word.strip_prefix(key)
                .and_then(|w| w.strip_prefix('='))
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| bad(&format!("has `{word}` where `{key}=N` belongs")))
        };
        let (min, max, desired) = (field("min")?, field("max")?, field("desired")?);
        let stage = field("stage")?;
        let scaled = match words.next() {
            Some("target=yes") => true,
            Some("target=no") => false,
            Some(word) => {
                return Err(bad(&format!(
                    "has `{word}` where `target=yes` or `target=no` belongs"
                )))
            }
            None => return Err(bad("lacks `target`")),
        };
        let bounds = Bounds {
            min,
            max,
            desired,
            scaled,
        };
        if words.next().is_some() {
            return Err(bad("has more than min, max, desired, stage and target"));
        }
        if bounds.min > bounds.max || stage > 100 {
            return Err(bad("holds min above max or a stage above 100"));
        }
        Ok(Recorded { bounds, stage })
    }
}

/// What `cutover` and `rollback` tell a person as they go, as data: `app::cutover` reports each
/// one to a `ui::cutover::Progress`, which words it (on the terminal, or into a test's recording).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The deployed Lambda stack could not be compared with the config (`why`): it counts as
    /// different.
    NotCompared { why: String },
    /// Lambda's account concurrency could not be read, so the account-pool check was skipped:
    /// at an endpoint that is not AWS's, or with AWS's `error`.
    PoolUnread {
        endpoint: Option<String>,
        error: String,
    },
    /// An earlier run's record on the service, which this run continues.
    Continuing {
        cluster: String,
        service: String,
        record: Recorded,
    },
    /// A stage begins without a question (`--yes`): what it changes, in words.
    Stage { what: String },
    /// The service's bounds recorded as its tag [`STATE_TAG`] (or the ScaledObject's annotation
    /// [`RECORD_ANNOTATION`], named in `at`), before the first change.
    Recorded {
        cluster: String,
        service: String,
        at: String,
        bounds: Bounds,
    },
    /// A stage applied and recorded.
    Applied { percent: u32 },
    /// A breach or a failed step (`reason`): the automatic rollback begins.
    RollingBack { reason: String },
    /// A stage's bake begins: how long, a sample how often.
    Watching {
        percent: u32,
        bake: Duration,
        every: Duration,
    },
    /// One sample of a bake, `at_s` seconds into it.
    Sampled { at_s: u64, sample: Sample },
    /// A step of a rollback as it went; `error` when it failed.
    Step {
        what: String,
        outcome: StepOutcome,
        error: Option<String>,
    },
    /// No cutover is recorded on the service: its bounds and desired count are left as they are.
    NothingRecorded { cluster: String, service: String },
    /// The function has no mapping on the production queue: nothing consumes it from Lambda.
    NoMapping,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_serialise_as_the_json_always_spelled_them() {
        assert_eq!(
            [
                Outcome::CutOver,
                Outcome::Refused,
                Outcome::Declined,
                Outcome::Interrupted,
                Outcome::RolledBack,
                Outcome::RollbackFailed
            ]
            .map(|o| serde_json::to_string(&o).unwrap()),
            [
                "\"cut-over\"",
                "\"refused\"",
                "\"declined\"",
                "\"interrupted\"",
                "\"rolled-back\"",
                "\"rollback-failed\""
            ]
        );
        assert_eq!(
            [
                StageOutcome::Applied,
                StageOutcome::AlreadyApplied,
                StageOutcome::Failed,
                StageOutcome::NotReached
            ]
            .map(|o| serde_json::to_string(&o).unwrap()),
            [
                "\"applied\"",
                "\"already-applied\"",
                "\"failed\"",
                "\"not-reached\""
            ]
        );
        for o in [
            StepOutcome::Done,
            StepOutcome::Unchanged,
            StepOutcome::Failed,
            StepOutcome::Skipped,
        ] {
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{o}\""));
        }
    }

    fn ready() -> Preflight {
        Preflight {
            sqs_trigger: true,
            lambda_timeout_s: 30,
            batching_window_s: 5,
            queue_visibility_timeout_s: 185,
            queue_has_dead_letter: true,
            reserved_concurrency: Some(20),
            deployed_reservation: Some(20),
            unreserved: 980,
            lambda_stack: Some(StackStatus::UpdateComplete),
            lambda_stack_current: true,
        }
    }

    fn checks(p: &Preflight) -> Vec<&'static str> {
        preflight(p).into_iter().map(|r| r.check).collect()
    }

    #[test]
    fn a_ready_setup_passes() {
        assert_eq!(preflight(&ready()), vec![]);
    }

    #[test]
    fn the_visibility_timeout_must_fit_six_timeouts_and_the_window_for_sqs() {
        let p = Preflight {
            queue_visibility_timeout_s: 184,
            ..ready()
        };
        let r = preflight(&p);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, "visibility-timeout");
        assert!(r[0].fix.contains("at least 185"), "{}", r[0].fix);
    }

    #[test]
    fn the_schedule_trigger_needs_only_the_timeout() {
        let p = Preflight {
            sqs_trigger: false,
            queue_visibility_timeout_s: 30,
            ..ready()
        };
        assert_eq!(checks(&p), Vec::<&str>::new());
        let p = Preflight {
            sqs_trigger: false,
            queue_visibility_timeout_s: 29,
            ..ready()
        };
        assert_eq!(checks(&p), vec!["visibility-timeout"]);
    }

    #[test]
    fn every_refusal_is_returned_at_once() {
        let p = Preflight {
            lambda_stack: None,
            queue_visibility_timeout_s: 10,
            queue_has_dead_letter: false,
            unreserved: 110,
            deployed_reservation: None,
            ..ready()
        };
        assert_eq!(
            checks(&p),
            vec![
                "lambda-stack",
                "visibility-timeout",
                "dead-letter",
                "reserved-concurrency"
            ]
        );
        assert!(preflight(&p)[0].fix.contains("replatform up"));
    }

    #[test]
    fn the_stack_must_be_settled_and_current() {
        for s in [
            StackStatus::UpdateInProgress,
            StackStatus::RollbackComplete,
            StackStatus::UpdateRollbackComplete,
        ] {
            assert_eq!(
                checks(&Preflight {
                    lambda_stack: Some(s.clone()),
                    ..ready()
                }),
                vec!["lambda-stack"],
                "{s:?}"
            );
        }
        let r = preflight(&Preflight {
            lambda_stack_current: false,
            ..ready()
        });
        assert!(r[0].fix.contains("replatform diff"), "{r:?}");
        assert_eq!(
            checks(&Preflight {
                lambda_stack: Some(StackStatus::CreateComplete),
                ..ready()
            }),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn the_account_keeps_its_pool_of_100() {
        // Deployed with 20 and 100 left: raising the reservation to 21 leaves 99.
        let base = Preflight {
            unreserved: 100,
            ..ready()
        };
        assert_eq!(checks(&base), Vec::<&str>::new());
        assert_eq!(
            checks(&Preflight {
                reserved_concurrency: Some(21),
                ..base.clone()
            }),
            vec!["reserved-concurrency"]
        );
        // A new account's limit of 10: no reservation fits.
        let small = Preflight {
            unreserved: 10,
            deployed_reservation: None,
            reserved_concurrency: Some(2),
            ..ready()
        };
        assert_eq!(checks(&small), vec!["reserved-concurrency"]);
        assert_eq!(
            checks(&Preflight {
                reserved_concurrency: None,
                ..small
            }),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn stages_parse_and_are_refused_with_the_reason() {
        assert_eq!(parse_stages("10,50,100"), Ok(vec![10, 50, 100]));
        assert_eq!(parse_stages("100"), Ok(vec![100]));
        assert_eq!(parse_stages(" 25%, 100 "), Ok(vec![25, 100]));
        for (text, why) in [
            ("50,10,100", "must increase"),
            ("50,50,100", "must increase"),
            ("10,50", "last stage must be 100"),
            ("0,100", "outside 1..=100"),
            ("10,101", "outside 1..=100"),
            ("ten,100", "not a percentage"),
            ("", "not a percentage"),
            ("10,,100", "not a percentage"),
        ] {
            let e = parse_stages(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn the_plan_shifts_capacity_share_by_share() {
        let b = Bounds {
            min: 2,
            max: 10,
            desired: 4,
            scaled: true,
        };
        let p = plan(&[10, 50, 100], b, Some(40)).unwrap();
        assert_eq!(
            p,
            vec![
                Stage {
                    percent: 10,
                    max_concurrency: 4,
                    ecs_min: 2,
                    ecs_max: 9,
                    ecs_desired: None
                },
                Stage {
                    percent: 50,
                    max_concurrency: 20,
                    ecs_min: 2,
                    ecs_max: 5,
                    ecs_desired: None
                },
                Stage {
                    percent: 100,
                    max_concurrency: 40,
                    ecs_min: 0,
                    ecs_max: 0,
                    ecs_desired: Some(0)
                },
            ]
        );
    }

    #[test]
    fn the_plan_keeps_aws_bounds_and_ecs_until_the_end() {
        let b = Bounds {
            min: 1,
            max: 1,
            desired: 1,
            scaled: true,
        };
        let p = plan(&[1, 99, 100], b, None).unwrap();
        // At least 2, at most 1000 without a reservation.
        assert_eq!(
            p.iter().map(|s| s.max_concurrency).collect::<Vec<_>>(),
            vec![10, 990, 1000]
        );
        // ECS's single task stays until 100.
        assert_eq!(
            p.iter().map(|s| (s.ecs_min, s.ecs_max)).collect::<Vec<_>>(),
            vec![(1, 1), (1, 1), (0, 0)]
        );
        let p = plan(&[1, 100], b, Some(3)).unwrap();
        assert_eq!(
            p.iter().map(|s| s.max_concurrency).collect::<Vec<_>>(),
            vec![2, 3]
        );
        // The min falls under the new max.
        let p = plan(
            &[90, 100],
            Bounds {
                min: 8,
                max: 10,
                desired: 8,
                scaled: true,
            },
            Some(10),
        )
        .unwrap();
        assert_eq!((p[0].ecs_min, p[0].ecs_max), (1, 1));
        assert!(plan(&[100], b, Some(1)).unwrap_err().contains("at least 2"));
    }

    #[test]
    fn a_service_without_a_scalable_target_has_its_desired_count_lowered() {
        let b = Bounds {
            min: 6,
            max: 6,
            desired: 6,
            scaled: false,
        };
        let p = plan(&[10, 50, 100], b, Some(10)).unwrap();
        assert_eq!(
            p.iter().map(|s| s.ecs_desired).collect::<Vec<_>>(),
            vec![Some(6), Some(3), Some(0)]
        );
    }

    fn s(errors: u64, throttles: u64, dlq_depth: u64, oldest_age_s: u64, depth: u64) -> Sample {
        Sample {
            errors,
            throttles,
            dlq_depth,
            oldest_age_s,
            depth,
        }
    }

    #[test]
    fn a_quiet_bake_is_healthy() {
        let t = Thresholds::default();
        assert_eq!(verdict(&[], &t), None);
        assert_eq!(
            verdict(
                &[
                    s(0, 0, 3, 20, 500),
                    s(0, 0, 3, 40, 800),
                    s(0, 0, 3, 10, 100)
                ],
                &t
            ),
            None
        );
        // Rising, but by less than the threshold.
        assert_eq!(
            verdict(
                &[s(0, 0, 0, 0, 1), s(0, 0, 0, 0, 2), s(0, 0, 0, 0, 900)],
                &t
            ),
            None
        );
    }

    #[test]
    fn each_breach_names_its_reason() {
        let t = Thresholds::default();
        let cases = [
            (vec![s(0, 0, 0, 0, 0), s(2, 0, 0, 0, 0)], "2 errors"),
            (vec![s(0, 1, 0, 0, 0)], "throttled 1"),
            (
                vec![s(0, 0, 4, 0, 0), s(0, 0, 5, 0, 0)],
                "dead-letter queue grew by 1 messages (4 -> 5)",
            ),
            (vec![s(0, 0, 0, 901, 0)], "oldest message waited 901 s"),
            (
                vec![s(0, 0, 0, 0, 10), s(0, 0, 0, 0, 600), s(0, 0, 0, 0, 1010)],
                "rose in every sample, by 1000",
            ),
        ];
        for (samples, why) in cases {
            let v = verdict(&samples, &t).unwrap_or_default();
            assert!(v.contains(why), "{why}: {v}");
        }
        // A dipping depth is no trend; looser thresholds let errors pass.
        assert_eq!(
            verdict(
                &[s(0, 0, 0, 0, 10), s(0, 0, 0, 0, 5), s(0, 0, 0, 0, 5000)],
                &t
            ),
            None
        );
        assert_eq!(
            verdict(&[s(2, 0, 0, 0, 0)], &Thresholds { max_errors: 2, ..t }),
            None
        );
    }

    #[test]
    fn the_record_round_trips_through_its_tag_value() {
        let r = Recorded {
            bounds: Bounds {
                min: 1,
                max: 10,
                desired: 2,
                scaled: true,
            },
            stage: 50,
        };
        let text = r.to_string();
        assert_eq!(text, "v1 min=1 max=10 desired=2 stage=50 target=yes");
        assert!(
            text.len() <= 256
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c))
        );
        assert_eq!(Recorded::parse(&text), Ok(r));
        let fixed = Recorded {
            bounds: Bounds {
                min: 3,
                max: 3,
                desired: 3,
                scaled: false,
            },
            stage: 0,
        };
        assert_eq!(Recorded::parse(&fixed.to_string()), Ok(fixed));
    }

    #[test]
    fn a_damaged_record_is_refused_with_the_fix() {
        for (text, why) in [
            (
                "v2 min=1 max=10 desired=2 stage=50 target=yes",
                "another version",
            ),
            ("v1 min=1 max=10 desired=2", "lacks `stage`"),
            ("v1 min=1 max=10 desired=2 stage=50", "lacks `target`"),
            (
                "v1 min=1 max=10 desired=2 stage=50 target=maybe",
                "`target=maybe`",
            ),
            ("v1 min=1 max=x desired=2 stage=50 target=yes", "`max=x`"),
            (
                "v1 max=10 min=1 desired=2 stage=50 target=yes",
                "`max=10` where `min=N`",
            ),
            (
                "v1 min=1 max=10 desired=2 stage=50 target=yes extra",
                "more than",
            ),
            (
                "v1 min=11 max=10 desired=2 stage=50 target=yes",
                "min above max",
            ),
            (
                "v1 min=1 max=10 desired=2 stage=150 target=yes",
                "above 100",
            ),
        ] {
            let e = Recorded::parse(text).unwrap_err();
            assert!(
                e.contains(why) && e.contains("fix or remove it"),
                "{text}: {e}"
            );
        }
    }
}

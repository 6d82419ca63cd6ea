//! `validate`'s warnings from the scaling model: the config, rendered with the
//! built-in templates, run by `core::simulate` for a default load, and a warning where the
//! prediction is far off: one platform draining many times more slowly than the other because
//! of a limit of the config, or scale-out steps that never reach `max` while messages wait.
//! Pure: no file, no clock, no AWS.

use std::time::Duration;

use crate::core::config::{Config, Trigger};
use crate::core::cost::Prices;
use crate::core::diag::Diagnostic;
use crate::core::load::Wave;
use crate::core::render;
use crate::core::side::Side;
use crate::core::simulate::{self, Inputs, Setup};

/// The default load: 1,000 messages at once, each handled in 100 ms.
pub const MESSAGES: u64 = 1_000;
pub const PER_MESSAGE: Duration = Duration::from_millis(100);
/// One platform draining this many times more slowly than the other is worth a warning.
pub const FACTOR: f64 = 3.0;
/// The model stops here; not drained by then counts as "more than this".
const LIMIT: Duration = Duration::from_secs(6 * 3600);

const ASSUMED: &str = "1,000 messages sent at once, 100 ms each and tasks starting in 60 s";

fn secs(v: f64) -> String {
    format!("{v:.0} s")
}

/// The model's warnings for `c`; none when the built-in templates do not render it or the
/// model cannot read them (the checks that refuse it say why).
pub fn warnings(c: &Config) -> Vec<Diagnostic> {
    let Ok(Some(ecs_template)) = render::builtin_ecs_template(c) else {
        return Vec::new();
    };
    let inputs = Inputs {
        limit: LIMIT,
        ..Inputs::new(
            vec![Wave {
                at: Duration::ZERO,
                count: MESSAGES,
            }],
            PER_MESSAGE,
        )
    };
    let Ok(setup) = Setup::new(c, &ecs_template, &inputs) else {
        return Vec::new();
    };
    let run = simulate::run(&setup, &inputs);
    let summary = run.summary(&setup, &inputs, &Prices::builtin(), "");
    let drained = |p: Side| {
        summary
            .run
            .platforms
            .iter()
            .find(|s| s.platform == p)
            .and_then(|s| s.drained_s)
    };
    let limit = LIMIT.as_secs_f64();
    let (ecs_s, lambda_s) = (
        drained(Side::Ecs).unwrap_or(limit),
        drained(Side::Lambda).unwrap_or(limit),
    );
    let said = |v: Option<f64>| v.map_or(format!("not within {} h", LIMIT.as_secs() / 3600), secs);
    let bottleneck = |p: Side| {
        run.bottlenecks
            .iter()
            .find(|b| b.platform == p)
            .map(|b| (b.name.clone(), b.text.clone()))
            .unwrap_or_default()
    };
    let mut out = Vec::new();

    let (name, text) = bottleneck(Side::Lambda);
    if lambda_s > FACTOR * ecs_s.max(1.0) {
        let schedule = matches!(c.lambda.trigger, Trigger::Schedule(_));
        let (field, hint) = match name.as_str() {
            "schedule rate" => ("lambda.trigger.rate", "the schedule starts one invocation per rate and each polls alone: a shorter `rate`, or the `sqs` trigger if the handler takes the event's records"),
            "reserved concurrency" if schedule => ("lambda.reserved_concurrency", "with a `schedule` trigger each invocation polls alone: more `reserved_concurrency` lets invocations overlap"),
            "reserved concurrency" => ("lambda.reserved_concurrency", "raise `reserved_concurrency` (and `trigger.max_concurrency` with it)"),
            "max_concurrency" => ("lambda.trigger.max_concurrency", "raise `max_concurrency` (at most `reserved_concurrency`)"),
            "timeout" => ("lambda.timeout", "a longer `timeout` leaves room for the worker's polls (SQS_WAIT_SECONDS + SQS_VISIBILITY_TO)"),
            "timeout gap" => ("lambda.timeout", "each invocation polls only until its timeout, then the queue waits for the next rate: a `timeout` near the `rate` (at most 15m), a shorter `rate`, or the `sqs` trigger"),
            _ => ("lambda", "`replatform simulate --explain` shows each scaling step of both platforms"),
        };
        out.push(
            Diagnostic::warning(
                "model-drain",
                field,
                match drained(Side::Lambda) {
                    Some(l) => format!("for {ASSUMED}, the model predicts Lambda drains the queue in {}, {:.1} times ECS's {}: its bottleneck is {text}", secs(l), l / ecs_s.max(1.0), said(drained(Side::Ecs))),
                    None => format!("for {ASSUMED}, the model predicts Lambda does not drain the queue within {} h (ECS: {}): its bottleneck is {text}", LIMIT.as_secs() / 3600, said(drained(Side::Ecs))),
                },
            )
            .hint(format!("{hint}; `replatform simulate --count 1000 --explain` shows why")),
        );
    }

    let (name, text) = bottleneck(Side::Ecs);
    let step_limited = matches!(name.as_str(), "max" | "ExactCapacity" | "cooldown");
    if step_limited && ecs_s > FACTOR * lambda_s.max(1.0) {
        let field = match name.as_str() {
            "max" => "ecs.scaling.max",
            "cooldown" => "ecs.scaling.scale_out_cooldown",
            _ => "ecs.scaling.scale_out",
        };
        out.push(
            Diagnostic::warning(
                "model-drain",
                field,
                match drained(Side::Ecs) {
                    Some(e) => format!("for {ASSUMED}, the model predicts ECS drains the queue in {}, {:.1} times Lambda's {}: its bottleneck is {text}", secs(e), e / lambda_s.max(1.0), said(drained(Side::Lambda))),
                    None => format!("for {ASSUMED}, the model predicts ECS does not drain the queue within {} h (Lambda: {}): its bottleneck is {text}", LIMIT.as_secs() / 3600, said(drained(Side::Lambda))),
                },
            )
            .hint("a higher `max`, larger `add` steps or a shorter `scale_out_cooldown`; `replatform simulate --count 1000 --explain` shows each step"),
        );
    }

    // The steps held the count back (their cooldown, an `ExactCapacity` step) for a minute or
    // more with messages waiting, and the count never reached `max`.
    let max = c.ecs.scaling.max;
    let peak = run
        .samples
        .iter()
        .filter(|s| s.platform == Side::Ecs)
        .filter_map(|s| s.ecs_desired)
        .max()
        .unwrap_or(0);
    let seen = run
        .bottlenecks
        .iter()
        .find(|b| b.platform == Side::Ecs)
        .map(|b| b.seen.clone())
        .unwrap_or_default();
    let held = |n: &str| seen.get(n).copied().unwrap_or(0);
    let (cooldown, exact) = (held("cooldown"), held("ExactCapacity"));
    if peak < u64::from(max) && cooldown + exact >= 60 {
        let (field, why) = if cooldown >= exact {
            ("ecs.scaling.scale_out_cooldown", format!("the scale-out cooldown of {} held it back for {cooldown} s while messages waited", c.ecs.scaling.scale_out_cooldown))
        } else {
            ("ecs.scaling.scale_out", format!("an `ExactCapacity` step set the same count on every re-fire for {exact} s while messages waited"))
        };
        out.push(
            Diagnostic::warning(
                "model-steps",
                field,
                format!("for {ASSUMED}, the model's ECS reaches only {peak} of `max` {max} tasks (drained in {}): {why}", said(drained(Side::Ecs))),
            )
            .hint("larger `add` steps (e.g. `{ from: 100, add: 5 }`) or a shorter `scale_out_cooldown` reach `max` while there is work; `replatform simulate --count 1000 --explain` shows each step"),
        );
    }
    out
}

//! ECS step scaling as Application Auto Scaling runs it: the scalable target's bounds, step
//! adjustments relative to the alarm threshold, `ChangeInCapacity` and `ExactCapacity`, the
//! cooldown rules, re-invocation while the alarm stays in ALARM; read from the rendered ECS
//! template, so a `--templates` override is modelled as deployed. Pure.

use serde_yaml_ng::Value;

use super::metrics::{Alarm, Comparison, Metric, MissingData, Statistic};

/// `AdjustmentType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjustment {
    /// Add (or remove) this many tasks.
    Change,
    /// Set the count to exactly this (the seed article's (docs/seed-article.md) "Set":
    /// docs/pitfalls.md#p11).
    Exact,
    /// A percentage of the current count, at least `MinAdjustmentMagnitude`.
    Percent,
}

/// One `StepAdjustments` entry: bounds are offsets from the alarm's threshold
/// (docs/pitfalls.md#p12).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub adjustment: i64,
}

impl Step {
    /// Application Auto Scaling user guide, "Step scaling policies": above the threshold the
    /// lower bound is inclusive and the upper exclusive; below it, the other way round.
    fn contains(&self, offset: f64, upwards: bool) -> bool {
        let above_lower = self
            .lower
            .is_none_or(|l| if upwards { offset >= l } else { offset > l });
        let below_upper = self
            .upper
            .is_none_or(|u| if upwards { offset < u } else { offset <= u });
        above_lower && below_upper
    }

    /// `[100, inf)` above the threshold, `(-inf, 0]` below it, in the metric's own numbers
    /// (the threshold added back).
    pub fn text(&self, threshold: f64, upwards: bool) -> String {
        let b = |v: Option<f64>, inf: &str| v.map_or(inf.to_string(), |v| number(v + threshold));
        let (open, close) = if upwards { ('[', ')') } else { ('(', ']') };
        format!(
            "{open}{}, {}{close}",
            b(self.lower, "-inf"),
            b(self.upper, "inf")
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// The template's logical id (`ScaleOutPolicy`).
    pub name: String,
    pub adjustment: Adjustment,
    pub cooldown_s: u64,
    /// How the alarm's datapoints become the one value the steps read.
    pub aggregation: Statistic,
    pub min_magnitude: Option<i64>,
    pub steps: Vec<Step>,
}

/// The service's scaling as deployed: target bounds, policies, alarms.
#[derive(Clone, Debug, PartialEq)]
pub struct EcsScaling {
    pub min: u32,
    pub max: u32,
    pub policies: Vec<Policy>,
    pub alarms: Vec<Alarm>,
}

/// `1`, `2.5`, `2,940`.
pub fn number(v: f64) -> String {
    if v.fract() != 0.0 {
        return format!("{v}");
    }
    let digits = format!("{}", v.abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The logical ids an `AlarmActions` list names with `Ref`.
fn refs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence)
        .map(|s| {
            s.iter()
                .filter_map(|a| a.get("Ref").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl EcsScaling {
    /// Reads the scalable target, the step scaling policies and the alarms on the queue from a
    /// rendered ECS template. What the model cannot run (another policy type, a metric that is
    /// not the queue's) is an error naming it.
    pub fn from_template(template: &str) -> Result<Self, String> {
        let doc: Value = serde_yaml_ng::from_str(template)
            .map_err(|e| format!("the rendered ECS template does not parse as YAML: {e}"))?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or("the rendered ECS template has no `Resources`")?;
        let mut scaling = EcsScaling {
            min: 0,
            max: 0,
            policies: Vec::new(),
            alarms: Vec::new(),
        };
        let mut target = false;
        for (id, r) in resources {
            let id = id.as_str().unwrap_or_default().to_string();
            let props = r.get("Properties").cloned().unwrap_or(Value::Null);
            match text(r, "Type") {
                Some("AWS::ApplicationAutoScaling::ScalableTarget") => {
                    target = true;
                    let bound = |k: &str| {
                        props
                            .get(k)
                            .and_then(num)
                            .map(|v| v as u32)
                            .ok_or(format!("`{id}` has no `{k}`"))
                    };
                    scaling.min = bound("MinCapacity")?;
                    scaling.max = bound("MaxCapacity")?;
                }
                Some("AWS::ApplicationAutoScaling::ScalingPolicy") => {
                    scaling.policies.push(policy(&id, &props)?)
                }
                Some("AWS::CloudWatch::Alarm") => scaling.alarms.push(alarm(&id, &props)?),
                _ => {}
            }
        }
        if !target {
            return Err("the rendered ECS template has no `AWS::ApplicationAutoScaling::ScalableTarget`: the service would not scale".into());
        }
        for a in &scaling.alarms {
            if let Some(p) = a
                .actions
                .iter()
                .find(|p| !scaling.policies.iter().any(|q| &q.name == *p))
            {
                return Err(format!(
                    "alarm `{}` acts on `{p}`, which is not a scaling policy of the template",
                    a.name
                ));
            }
        }
        Ok(scaling)
    }

    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }
}

fn policy(id: &str, props: &Value) -> Result<Policy, String> {
    if text(props, "PolicyType") != Some("StepScaling") {
        return Err(format!(
            "`{id}` is a `{}` policy: the model runs step scaling only",
            text(props, "PolicyType").unwrap_or("?")
        ));
    }
    let c = props
        .get("StepScalingPolicyConfiguration")
        .ok_or(format!("`{id}` has no `StepScalingPolicyConfiguration`"))?;
    let adjustment = match text(c, "AdjustmentType") {
        Some("ChangeInCapacity") => Adjustment::Change,
        Some("ExactCapacity") => Adjustment::Exact,
        Some("PercentChangeInCapacity") => Adjustment::Percent,
        other => {
            return Err(format!(
                "`{id}` has the adjustment type `{}`",
                other.unwrap_or("none")
            ))
        }
    };
    let steps = c
        .get("StepAdjustments")
        .and_then(Value::as_sequence)
        .ok_or(format!("`{id}` has no `StepAdjustments`"))?
        .iter()
        .map(|s| {
            Ok(Step {
                lower: s.get("MetricIntervalLowerBound").and_then(num),
                upper: s.get("MetricIntervalUpperBound").and_then(num),
                adjustment: s
                    .get("ScalingAdjustment")
                    .and_then(num)
                    .ok_or(format!("a step of `{id}` has no `ScalingAdjustment`"))?
                    as i64,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Policy {
        name: id.to_string(),
        adjustment,
        // docs/pitfalls.md#p16, #p30: Application Auto Scaling's default cooldown for ECS is 300 s.
        cooldown_s: c.get("Cooldown").and_then(num).map_or(300, |v| v as u64),
        // docs/pitfalls.md#p30: `MetricAggregationType` defaults to Average.
        aggregation: text(c, "MetricAggregationType")
            .and_then(Statistic::from_name)
            .unwrap_or(Statistic::Average),
        min_magnitude: c
            .get("MinAdjustmentMagnitude")
            .and_then(num)
            .map(|v| v as i64),
        steps,
    })
}

fn alarm(id: &str, p: &Value) -> Result<Alarm, String> {
    let field = |k: &str| {
        p.get(k)
            .and_then(num)
            .ok_or(format!("alarm `{id}` has no `{k}`"))
    };
    let (metrics, label, statistic, period) = if let Some(name) = text(p, "MetricName") {
        let m = Metric::from_name(name).ok_or(format!(
            "alarm `{id}` watches `{name}`: the model knows the queue's message counts only"
        ))?;
        let stat = text(p, "Statistic")
            .and_then(Statistic::from_name)
            .ok_or(format!(
                "alarm `{id}` has a statistic the model does not know"
            ))?;
        (vec![m], label_of(&[m]), stat, field("Period")?)
    } else {
        let queries = p
            .get("Metrics")
            .and_then(Value::as_sequence)
            .ok_or(format!(
                "alarm `{id}` has neither `MetricName` nor `Metrics`"
            ))?;
        let mut stats = Vec::new();
        let mut expression = None;
        for q in queries {
            let qid = text(q, "Id").unwrap_or_default();
            if let Some(e) = text(q, "Expression") {
                expression = Some(e.to_string());
            } else if let Some(ms) = q.get("MetricStat") {
                let name = ms
                    .get("Metric")
                    .and_then(|m| text(m, "MetricName"))
                    .unwrap_or_default();
                let m = Metric::from_name(name).ok_or(format!(
                    "alarm `{id}` reads `{name}`: the model knows the queue's message counts only"
                ))?;
                let stat = text(ms, "Stat")
                    .and_then(Statistic::from_name)
                    .ok_or(format!(
                        "alarm `{id}`'s `{qid}` has a statistic the model does not know"
                    ))?;
                let period = ms
                    .get("Period")
                    .and_then(num)
                    .ok_or(format!("alarm `{id}`'s `{qid}` has no `Period`"))?;
                stats.push((qid.to_string(), m, stat, period));
            }
        }
        // The metric math the model runs: one metric, or a sum of them (`visible + inflight`;
        // `SUM([visible0, visible1, ...])` over the queues of a worker of several, whose one
        // modelled queue stands for them all: each kind of count once).
        let expression = expression.ok_or(format!("alarm `{id}` has no expression to alarm on"))?;
        let terms: Vec<&str> = match expression
            .trim()
            .strip_prefix("SUM([")
            .and_then(|e| e.strip_suffix("])"))
        {
            Some(list) => list.split(',').map(str::trim).collect(),
            None => expression.split('+').map(str::trim).collect(),
        };
        let mut metrics = Vec::new();
        for term in terms {
            let (_, m, _, _) = stats.iter().find(|(q, ..)| q == term).ok_or(format!(
                "alarm `{id}`'s expression `{expression}` is not a sum of its metrics"
            ))?;
            if !metrics.contains(m) {
                metrics.push(*m);
            }
        }
        let (_, _, stat, period) = stats
            .first()
            .cloned()
            .ok_or(format!("alarm `{id}` reads no metric"))?;
        (metrics.clone(), label_of(&metrics), stat, period)
    };
    if period < 60.0 || period % 60.0 != 0.0 {
        return Err(format!("alarm `{id}` has a period of {period} s: SQS metrics come once a minute, so the period is a multiple of 60 (docs/pitfalls.md#p13)"));
    }
    let evaluation_periods = field("EvaluationPeriods")? as u64;
    Ok(Alarm {
        name: id.to_string(),
        metrics,
        label,
        statistic,
        period_minutes: period as u64 / 60,
        evaluation_periods,
        datapoints_to_alarm: p
            .get("DatapointsToAlarm")
            .and_then(num)
            .map_or(evaluation_periods, |v| v as u64),
        threshold: field("Threshold")?,
        comparison: text(p, "ComparisonOperator")
            .and_then(Comparison::from_name)
            .ok_or(format!(
                "alarm `{id}` has a comparison the model does not know"
            ))?,
        missing: text(p, "TreatMissingData")
            .map_or(Some(MissingData::Missing), MissingData::from_name)
            .ok_or(format!("alarm `{id}` has an unknown `TreatMissingData`"))?,
        actions: refs(p.get("AlarmActions")),
    })
}

fn label_of(metrics: &[Metric]) -> String {
    metrics
        .iter()
        .map(|m| match m {
            Metric::Visible => "visible",
            Metric::NotVisible => "in flight",
            Metric::Delayed => "delayed",
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The cooldowns in effect (Application Auto Scaling user guide, "Step scaling policies",
/// cooldown; docs/pitfalls.md#p30).
#[derive(Clone, Debug, Default)]
pub struct Cooldowns {
    /// A scale-out's cooldown: until when, and the capacity before it.
    pub scale_out: Option<(u64, u32)>,
    pub scale_in_until: Option<u64>,
}

/// What a policy invocation did.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub from: u32,
    pub to: u32,
    /// Why the count is what it is: `step`, `cooldown`, `max`, `min`, `exact`.
    pub rule: &'static str,
    pub text: String,
}

/// Runs `policy` for the alarm's `value` at `now_ms`, against the desired count `desired`.
/// `upwards`: the alarm breaches above its threshold.
pub fn invoke(
    p: &Policy,
    alarm: &Alarm,
    value: f64,
    now_ms: u64,
    desired: u32,
    bounds: (u32, u32),
    cool: &mut Cooldowns,
) -> Action {
    let upwards = alarm.comparison.upwards();
    let offset = value - alarm.threshold;
    let Some(step) = p.steps.iter().find(|s| s.contains(offset, upwards)) else {
        // "No step adjustment found for metric value" (docs/pitfalls.md#p12): nothing happens.
        return Action {
            from: desired,
            to: desired,
            rule: "no-step",
            text: format!(
                "no step of {} holds {}: nothing changes",
                p.name,
                number(value)
            ),
        };
    };
    let steps_text = step.text(alarm.threshold, upwards);
    let wanted = |base: u32| -> i64 {
        match p.adjustment {
            Adjustment::Change => i64::from(base) + step.adjustment,
            Adjustment::Exact => step.adjustment,
            Adjustment::Percent => {
                let change = (f64::from(base) * step.adjustment as f64 / 100.0).trunc() as i64;
                let change = match p.min_magnitude {
                    Some(m) if change.abs() < m => m * step.adjustment.signum(),
                    _ => change,
                };
                i64::from(base) + change
            }
        }
    };
    let verb = match p.adjustment {
        Adjustment::Change if step.adjustment >= 0 => format!("adds {}", step.adjustment),
        Adjustment::Change => format!("removes {}", -step.adjustment),
        Adjustment::Exact => format!("sets {}", step.adjustment),
        Adjustment::Percent => format!("changes by {}%", step.adjustment),
    };
    let in_out_cooldown = cool.scale_out.filter(|(until, _)| now_ms < *until);
    let base = match (in_out_cooldown, p.adjustment) {
        // During a scale-out cooldown the capacity the last scale-out added counts towards this
        // one: "+2, then a re-fire asking +3 adds only 1" (docs/pitfalls.md#p30).
        (Some((_, before)), Adjustment::Change | Adjustment::Percent)
            if wanted(desired) > i64::from(desired) =>
        {
            before
        }
        _ => desired,
    };
    let raw = wanted(base);
    let (min, max) = bounds;
    let to = raw.clamp(i64::from(min), i64::from(max)) as u32;
    let head = format!(
        "alarm {} in ALARM at {} {}: step {steps_text} {verb}",
        alarm.name,
        number(value),
        alarm.label
    );
    if to > desired {
        if in_out_cooldown.is_none() {
            cool.scale_out = Some((now_ms + p.cooldown_s * 1000, desired));
        } else if let Some((_, before)) = in_out_cooldown {
            cool.scale_out = Some((now_ms + p.cooldown_s * 1000, before));
        }
        // Any scale-out ends a scale-in cooldown.
        cool.scale_in_until = None;
        let (rule, cap) = if raw > i64::from(max) {
            ("max", format!(", capped by MaxCapacity {max}"))
        } else {
            ("step", String::new())
        };
        let held = if base != desired {
            format!(" (cooldown: counted from {base}, the count before the last scale-out)")
        } else {
            String::new()
        };
        return Action {
            from: desired,
            to,
            rule,
            text: format!("{head} -> desired {to}{cap}{held}"),
        };
    }
    if to < desired {
        let blocked = cool
            .scale_in_until
            .filter(|u| now_ms < *u)
            .or(in_out_cooldown.map(|(u, _)| u));
        if let Some(until) = blocked {
            return Action {
                from: desired,
                to: desired,
                rule: "cooldown",
                text: format!(
                    "{head} -> held at {desired}: scale-in waits for the cooldown until {}",
                    clock(until)
                ),
            };
        }
        cool.scale_in_until = Some(now_ms + p.cooldown_s * 1000);
        let rule = if raw < i64::from(min) { "min" } else { "step" };
        return Action {
            from: desired,
            to,
            rule,
            text: format!("{head} -> desired {to}"),
        };
    }
    let (rule, why) = if raw > i64::from(max) {
        ("max", format!("already at MaxCapacity {max}"))
    } else if raw < i64::from(min) {
        ("min", format!("already at MinCapacity {min}"))
    } else if p.adjustment == Adjustment::Exact {
        (
            "exact",
            format!(
                "ExactCapacity sets the same {to} again{}",
                if upwards {
                    " (docs/pitfalls.md#p11)"
                } else {
                    ""
                }
            ),
        )
    } else if in_out_cooldown.is_some() {
        (
            "cooldown",
            format!(
                "the last scale-out's {} tasks count towards it during the cooldown",
                desired.saturating_sub(base)
            ),
        )
    } else {
        ("step", "no change".to_string())
    };
    Action {
        from: desired,
        to,
        rule,
        text: format!("{head} -> stays {to}: {why}"),
    }
}

/// `mm:ss` of simulated time (`h:mm:ss` past an hour).
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::parse;

    const ARTICLE_TEMPLATE: &str = r#"
Resources:
  ScalableTarget:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties: { MinCapacity: 0, MaxCapacity: 20 }
  ScaleOutPolicy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyType: StepScaling
      StepScalingPolicyConfiguration:
        AdjustmentType: ExactCapacity
        MetricAggregationType: Maximum
        StepAdjustments:
          - { MetricIntervalLowerBound: 0, ScalingAdjustment: 5 }
"#;

    fn builtin(yaml: &str) -> EcsScaling {
        let c = parse(yaml).expect("config parses");
        let ecs = crate::core::render::builtin_ecs_template(&c)
            .unwrap()
            .unwrap();
        EcsScaling::from_template(&ecs).unwrap()
    }

    fn config(scaling: &str) -> String {
        format!(
            "service: s\necs:\n  subnets: [subnet-0123456789abcdef0]\n  security_groups: [sg-0123456789abcdef0]\n  scaling:\n{scaling}\nlambda:\n  entry_point: [python]\n  command: [app.handler]\n  working_directory: /app\n  trigger: {{ type: sqs }}\n"
        )
    }

    #[test]
    fn the_built_in_template_reads_back_as_the_config_says() {
        let s = builtin(&config("    max: 7\n    scale_out: [{ from: 1, add: 1 }, { from: 100, add: 5 }]\n    scale_in_after: 3m"));
        assert_eq!((s.min, s.max), (0, 7));
        let out = s.policy("ScaleOutPolicy").unwrap();
        assert_eq!(
            (out.adjustment, out.cooldown_s, out.aggregation),
            (Adjustment::Change, 60, Statistic::Maximum)
        );
        assert_eq!(
            out.steps,
            vec![
                Step {
                    lower: Some(0.0),
                    upper: Some(99.0),
                    adjustment: 1
                },
                Step {
                    lower: Some(99.0),
                    upper: None,
                    adjustment: 5
                }
            ]
        );
        let a = s.alarms.iter().find(|a| a.name == "ScaleInAlarm").unwrap();
        assert_eq!(
            (
                a.metrics.clone(),
                a.evaluation_periods,
                a.missing,
                a.threshold
            ),
            (
                vec![Metric::Visible, Metric::NotVisible],
                3,
                MissingData::Breaching,
                0.0
            )
        );
        let a = s.alarms.iter().find(|a| a.name == "ScaleOutAlarm").unwrap();
        assert_eq!(
            (a.statistic, a.period_minutes, a.missing, a.threshold),
            (Statistic::Maximum, 1, MissingData::NotBreaching, 1.0)
        );
    }

    #[test]
    fn a_policy_without_cooldown_or_aggregation_gets_aws_defaults() {
        let mut t = ARTICLE_TEMPLATE.to_string();
        t.push_str("  Alarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties: { MetricName: ApproximateNumberOfMessagesVisible, Statistic: Maximum, Period: 60, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: GreaterThanOrEqualToThreshold, AlarmActions: [{ Ref: ScaleOutPolicy }] }\n");
        let s = EcsScaling::from_template(&t).unwrap();
        assert_eq!(s.policy("ScaleOutPolicy").unwrap().cooldown_s, 300);
        assert_eq!(s.alarms[0].missing, MissingData::Missing);
        let bad = t.replace("Period: 60", "Period: 30");
        assert!(EcsScaling::from_template(&bad)
            .unwrap_err()
            .contains("multiple of 60"));
    }

    fn out_alarm() -> Alarm {
        builtin(&config("    max: 10"))
            .alarms
            .into_iter()
            .find(|a| a.name == "ScaleOutAlarm")
            .unwrap()
    }

    #[test]
    fn change_in_capacity_adds_its_step_and_stops_at_max() {
        let s = builtin(&config("    max: 8"));
        let p = s.policy("ScaleOutPolicy").unwrap();
        let a = out_alarm();
        let mut cool = Cooldowns::default();
        let act = invoke(p, &a, 2940.0, 60_000, 0, (0, 8), &mut cool);
        assert_eq!((act.to, act.rule), (5, "step"));
        assert_eq!(
            act.text,
            "alarm ScaleOutAlarm in ALARM at 2,940 visible: step [100, inf) adds 5 -> desired 5"
        );
        // The cooldown (60 s) is over a minute later: another 5, capped at 8.
        let act = invoke(p, &a, 2800.0, 120_000, 5, (0, 8), &mut cool);
        assert_eq!((act.to, act.rule), (8, "max"));
        let act = invoke(p, &a, 2600.0, 180_000, 8, (0, 8), &mut cool);
        assert_eq!((act.to, act.rule), (8, "max"));
        // A small backlog takes the first step.
        let act = invoke(p, &a, 3.0, 240_000, 0, (0, 8), &mut Cooldowns::default());
        assert_eq!(act.to, 1);
    }

    #[test]
    fn during_a_scale_out_cooldown_the_last_step_counts_towards_the_next() {
        let p = Policy {
            name: "P".into(),
            adjustment: Adjustment::Change,
            cooldown_s: 300,
            aggregation: Statistic::Maximum,
            min_magnitude: None,
            steps: vec![
                Step {
                    lower: Some(0.0),
                    upper: Some(10.0),
                    adjustment: 2,
                },
                Step {
                    lower: Some(10.0),
                    upper: None,
                    adjustment: 3,
                },
            ],
        };
        let a = out_alarm();
        let mut cool = Cooldowns::default();
        assert_eq!(invoke(&p, &a, 5.0, 0, 5, (0, 100), &mut cool).to, 7);
        // The AAS example: +2, then a re-fire asking +3 during the cooldown adds only 1.
        let act = invoke(&p, &a, 50.0, 60_000, 7, (0, 100), &mut cool);
        assert_eq!(act.to, 8);
        // The same step again, still in the cooldown: nothing more.
        let act = invoke(&p, &a, 50.0, 120_000, 8, (0, 100), &mut cool);
        assert_eq!((act.to, act.rule), (8, "cooldown"));
        // After it: +3 from 8.
        assert_eq!(invoke(&p, &a, 50.0, 500_000, 8, (0, 100), &mut cool).to, 11);
    }

    #[test]
    fn exact_capacity_re_sets_the_same_count() {
        let s = EcsScaling::from_template(ARTICLE_TEMPLATE).unwrap();
        let p = s.policy("ScaleOutPolicy").unwrap();
        let a = out_alarm();
        let mut cool = Cooldowns::default();
        assert_eq!(invoke(p, &a, 900.0, 60_000, 0, (0, 20), &mut cool).to, 5);
        for minute in 2..30 {
            let act = invoke(
                p,
                &a,
                900.0 + minute as f64 * 100.0,
                minute * 60_000,
                5,
                (0, 20),
                &mut cool,
            );
            assert_eq!((act.to, act.rule), (5, "exact"), "minute {minute}");
        }
    }

    #[test]
    fn scale_in_waits_for_cooldowns_and_a_scale_out_ends_a_scale_in_cooldown() {
        let s = builtin(&config("    max: 10"));
        let (out, inn) = (
            s.policy("ScaleOutPolicy").unwrap(),
            s.policy("ScaleInPolicy").unwrap(),
        );
        let (oa, ia) = (
            out_alarm(),
            s.alarms
                .iter()
                .find(|a| a.name == "ScaleInAlarm")
                .unwrap()
                .clone(),
        );
        let mut cool = Cooldowns::default();
        assert_eq!(invoke(out, &oa, 500.0, 0, 0, (0, 10), &mut cool).to, 5);
        let held = invoke(inn, &ia, 0.0, 30_000, 5, (0, 10), &mut cool);
        assert_eq!(
            (held.to, held.rule),
            (5, "cooldown"),
            "the scale-out's cooldown runs until 01:00"
        );
        let act = invoke(inn, &ia, 0.0, 60_000, 5, (0, 10), &mut cool);
        assert_eq!(
            (act.to, act.text.ends_with("-> desired 0")),
            (0, true),
            "ExactCapacity 0 on the step with upper bound 0"
        );
        assert!(cool.scale_in_until.is_some());
        invoke(out, &oa, 5.0, 70_000, 0, (0, 10), &mut cool);
        assert_eq!(cool.scale_in_until, None);
    }

    #[test]
    fn clocks_and_numbers() {
        assert_eq!(clock(61_000), "01:01");
        assert_eq!(clock(3_723_000), "1:02:03");
        assert_eq!(number(2940.0), "2,940");
        assert_eq!(number(1_000_000.0), "1,000,000");
        assert_eq!(number(2.5), "2.5");
    }
}

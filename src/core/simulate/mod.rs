//! The scaling model of both platforms: the same load sent to two simulated queues,
//! one worked by the ECS service (CloudWatch alarms, step scaling, Fargate tasks), one by the
//! Lambda function (its event source mapping or its schedule); sampled as `compare` samples, so
//! one reader serves a prediction and a measurement. Pure and deterministic: simulated time
//! advances in ticks of one second, nothing is random, nothing is called.

pub mod decision;
pub mod fargate;
pub mod lambda;
pub mod metrics;
pub mod queue;
pub mod scaling;

use crate::core::outcome::Stopped;
use std::time::{Duration, SystemTime};

use self::decision::{Bottleneck, Decision, Tally};
use self::fargate::{FargateSettings, Service};
use self::lambda::{Concurrency, Function, LambdaSettings, Provisioned, Trigger};
use self::metrics::{Minute, QueueMetrics, State, MINUTE_MS};
use self::queue::{Fifo, Queue, QueueSettings};
use self::scaling::{number, Cooldowns, EcsScaling};
use super::config::{self, Config};
use serde::Serialize;

use super::cost::{self, Compute, Cost, Prices, Usage};
use super::experiment::{self, Sample, DRAINED_SAMPLES};
use super::load::Wave;
use super::side::Side;

/// The model's clock advances one second at a time.
pub const TICK_MS: u64 = 1_000;
/// SQS payload is billed in 64 KB chunks (Amazon SQS pricing).
pub const CHUNK_BYTES: u64 = 65_536;
/// docs/pitfalls.md#p31's measurements put a Fargate task's pull and start at 53-70 s.
pub const DEFAULT_TASK_START: Duration = Duration::from_secs(60);
/// How late a minute's SQS datapoint reaches CloudWatch on an active queue (docs/pitfalls.md#p29:
/// once a minute, "a minute or two late" as `compare` sees it).
pub const DEFAULT_METRIC_DELAY: Duration = Duration::from_secs(60);
/// A simulated run ends here at the latest, drained or not.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// How one consumer's code reads the queue: the polling worker's settings, from the
/// environment both platforms share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Worker {
    /// `MaxNumberOfMessages` (`SQS_MAX_NUM_MSGS`, else 10).
    pub batch: u64,
    /// `WaitTimeSeconds` (`SQS_WAIT_SECONDS`, else 10, the example worker's default), in ms.
    pub wait_ms: u64,
    /// The receive's `VisibilityTimeout` (`SQS_VISIBILITY_TO`, else 30 s), in ms.
    pub visibility_ms: u64,
    /// The handling time of one message.
    pub per_message_ms: u64,
    /// One SQS call's round trip.
    pub call_ms: u64,
}

/// The SQS requests a consumer makes, counted as billed: a request per 64 KB of payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Calls {
    pub message_bytes: u64,
    pub receives: u64,
    pub deletes: u64,
    /// Billed requests: every call, plus one per further 64 KB a receive returned.
    pub billed: u64,
}

impl Calls {
    pub fn new(message_bytes: u64) -> Self {
        Self {
            message_bytes,
            ..Self::default()
        }
    }

    /// A receive call that returned `count` messages.
    pub fn receive(&mut self, count: u64) {
        self.receives += 1;
        self.billed += (count * self.message_bytes).div_ceil(CHUNK_BYTES).max(1);
    }

    /// A `DeleteMessageBatch` call.
    pub fn delete(&mut self) {
        self.deletes += 1;
        self.billed += 1;
    }

    /// Nothing to receive from `at` to `end`: a long poll waits up to the worker's wait and is
    /// made again when it ends empty; with no wait (short polling) the loop calls again every
    /// round trip.
    pub fn poll(&mut self, since: &mut Option<u64>, at: u64, end: u64, w: Worker) {
        if w.wait_ms == 0 {
            let n = (end - at) / w.call_ms.max(1);
            self.receives += n;
            self.billed += n;
            *since = None;
            return;
        }
        let mut s = match *since {
            Some(s) => s,
            None => {
                self.receive(0);
                at
            }
        };
        while s + w.wait_ms < end {
            s += w.wait_ms;
            self.receive(0);
        }
        *since = Some(s);
    }
}

/// What the config does not say: the load and the worker's own figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    /// The load, as `load` would send it to each queue.
    pub sends: Vec<Wave>,
    /// Messages of the first wave whose handling always fails.
    pub poison: u64,
    pub per_message: Duration,
    pub task_start: Duration,
    /// One SQS call's round trip (a region answers in tens of milliseconds).
    pub call: Duration,
    /// Time between two samples (`compare`'s `--interval`), whole seconds.
    pub interval: Duration,
    /// `--for`: simulate exactly this long.
    pub window: Option<Duration>,
    pub limit: Duration,
    pub metric_delay: Duration,
    /// The mean message size, for SQS's 64 KB billing chunks.
    pub message_bytes: u64,
    /// The queue's `DelaySeconds`.
    pub delay: Duration,
    /// A FIFO queue's groups, overriding what `queue.fifo` gives (one group a message, as
    /// `load` sends them).
    pub fifo: Option<Fifo>,
    /// Provisioned pollers for the `sqs` trigger, overriding `trigger.provisioned_pollers`.
    pub provisioned: Option<Provisioned>,
    /// The account's unreserved concurrency, for a function without reserved concurrency.
    pub account_concurrency: u32,
    /// When the simulated run starts, for the samples' `time` column (ms since the epoch).
    pub start_unix_ms: u64,
}

impl Inputs {
    pub fn new(sends: Vec<Wave>, per_message: Duration) -> Self {
        Self {
            sends,
            poison: 0,
            per_message,
            task_start: DEFAULT_TASK_START,
            call: Duration::from_millis(20),
            interval: Duration::from_secs(5),
            window: None,
            limit: DEFAULT_LIMIT,
            metric_delay: DEFAULT_METRIC_DELAY,
            message_bytes: 96,
            delay: Duration::ZERO,
            fifo: None,
            provisioned: None,
            account_concurrency: 1_000,
            start_unix_ms: 0,
        }
    }
}

/// The two platforms as the config and the rendered ECS template deploy them.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    pub service: String,
    pub scaling: EcsScaling,
    pub fargate: FargateSettings,
    pub ecs_worker: Worker,
    pub lambda: LambdaSettings,
    pub lambda_worker: Worker,
    pub queue: QueueSettings,
    pub cpu: u32,
    pub ecs_memory_mb: u32,
    pub arm64: bool,
}

fn env_number(
    c: &Config,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, String> {
    match c.environment.get(name) {
        None => Ok(default),
        Some(v) => match v.0.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(format!(
                "environment `{name}` is `{}`: the worker's receives need {}..={}",
                v.0,
                range.start(),
                range.end()
            )),
        },
    }
}

impl Setup {
    /// From the checked config and its rendered ECS template (the scaling as deployed).
    pub fn new(c: &Config, ecs_template: &str, inputs: &Inputs) -> Result<Self, String> {
        Self::for_queue(c, ecs_template, inputs, None)
    }

    /// [`Setup::new`] for one queue of a worker of several (`--queue NAME`): the load goes to
    /// that queue, with its settings. Without a name the model drains one queue that stands for
    /// the sum of the worker's consumed queues (ECS scales on the sum of their depths,
    /// docs/config.md), with the first consumed queue's settings.
    pub fn for_queue(
        c: &Config,
        ecs_template: &str,
        inputs: &Inputs,
        queue: Option<&str>,
    ) -> Result<Self, String> {
        let scaling = EcsScaling::from_template(ecs_template)?;
        let ms = |d: Duration| d.as_millis() as u64;
        // SQS API reference, ReceiveMessage: MaxNumberOfMessages 1..10, WaitTimeSeconds 0..20.
        let batch = env_number(c, "SQS_MAX_NUM_MSGS", 10, 1..=10)?;
        let wait_ms = env_number(c, "SQS_WAIT_SECONDS", 10, 0..=20)? * 1000;
        // Unset, the example worker's own default of 30 s applies (app.py's VISIBILITY_TO).
        let visibility_ms = env_number(c, "SQS_VISIBILITY_TO", 30, 0..=43_200)? * 1000;
        let worker = Worker {
            batch,
            wait_ms,
            visibility_ms,
            per_message_ms: ms(inputs.per_message),
            call_ms: ms(inputs.call),
        };
        let messages =
            u32::try_from(inputs.sends.iter().map(|w| w.count).sum::<u64>()).unwrap_or(u32::MAX);
        let l = &c.lambda;
        // The named queue, else the first consumed queue stands for all: the model drains one
        // queue per platform.
        let first = match queue {
            Some(name) => c.queue_named(name)?.queue,
            None => {
                c.consumed_queues()
                    .first()
                    .ok_or("the config names no consumed queue")?
                    .queue
            }
        };
        let trigger = match &l.trigger {
            // The bridge is fed by the same mapping; its supervisor's own cost per batch is
            // under 5 ms (docs/measures.md#bridge), inside `--per-message`'s precision.
            config::Trigger::Sqs(t) | config::Trigger::Bridge(t) => {
                let provisioned =
                    inputs
                        .provisioned
                        .or(t.provisioned_pollers.map(|p| Provisioned {
                            min_pollers: p.min,
                            max_pollers: p.max,
                        }));
                if provisioned.is_some() && t.max_concurrency.is_some() {
                    return Err("provisioned pollers cannot be combined with `lambda.trigger.max_concurrency` (docs/pitfalls.md#p27)".into());
                }
                Trigger::Sqs {
                    batch_size: u64::from(t.batch_size),
                    window_ms: t.max_batching_window.0 * 1000,
                    max_concurrency: t.max_concurrency,
                    provisioned,
                }
            }
            // The example worker's rule: a poll starts only with SQS_WAIT_SECONDS +
            // SQS_VISIBILITY_TO of the invocation left.
            config::Trigger::Schedule(t) => Trigger::Schedule {
                rate_ms: t.rate.0.max(60) * 1000,
                margin_ms: wait_ms + visibility_ms,
            },
        };
        Ok(Setup {
            service: c.service.clone(),
            scaling,
            fargate: FargateSettings {
                task_start_ms: ms(inputs.task_start),
                stop_timeout_ms: 30_000,
            },
            ecs_worker: worker,
            lambda: LambdaSettings {
                memory_mb: l.memory,
                timeout_ms: l.timeout.0 * 1000,
                concurrency: l.reserved_concurrency.map_or(
                    Concurrency::Account(inputs.account_concurrency),
                    Concurrency::Reserved,
                ),
                trigger,
                queue_visibility_ms: first.visibility_timeout.0 * 1000,
            },
            lambda_worker: worker,
            // `queue.fifo`: `load` gives every message a group of its own, so no
            // group holds another back; the FIFO queue's call limits still apply.
            queue: QueueSettings {
                max_receive_count: first.dead_letter.max_receive_count,
                fifo: inputs.fifo.or_else(|| {
                    first.fifo.then(|| Fifo {
                        groups: messages.max(1),
                        high_throughput: false,
                    })
                }),
                delay_ms: ms(inputs.delay),
            },
            cpu: c.ecs.cpu,
            ecs_memory_mb: c.ecs.memory,
            arm64: c.image.platform == config::Platform::Arm64,
        })
    }
}

/// What a run predicts.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Both platforms at each interval, `compare`'s rows.
    pub samples: Vec<Sample>,
    pub decisions: Vec<Decision>,
    pub bottlenecks: Vec<Bottleneck>,
    pub usage: Vec<Usage>,
    /// When the load began and ended, seconds since the start.
    pub load_window_s: Option<(f64, f64)>,
    pub stopped: Stopped,
    pub ended_ms: u64,
}

fn rfc3339(unix_ms: u64) -> String {
    humantime::format_rfc3339_millis(SystemTime::UNIX_EPOCH + Duration::from_millis(unix_ms))
        .to_string()
}

fn ecs_limit(name: &str) -> String {
    match name {
        "task start" => "task start: tasks were pulling and starting while messages waited".into(),
        "max" => "max: the service was at its MaxCapacity while messages waited".into(),
        "ExactCapacity" => {
            "ExactCapacity: the scale-out step sets the same count on every re-fire (docs/pitfalls.md#p11)"
                .into()
        }
        "cooldown" => "cooldown: re-fires during the scale-out cooldown added nothing".into(),
        _ => "alarm period: waiting for the next minute's metric, the alarm and its step".into(),
    }
}

fn lambda_limit(name: &str) -> String {
    match name {
        "reserved concurrency" => "reserved concurrency: every allowed execution was busy".into(),
        "account concurrency" => "account concurrency: the unreserved pool was exhausted".into(),
        "max_concurrency" => {
            "max_concurrency: the event source mapping's MaximumConcurrency".into()
        }
        "ceiling" => "ceiling: the event source mapping's most concurrent batches".into(),
        "max pollers" => "max pollers: the provisioned mode's MaximumPollers".into(),
        "schedule rate" => {
            "lambda.trigger.rate: one invocation per rate works the queue, and the schedule does not scale (the sqs trigger does)".into()
        }
        "timeout" => "timeout: the function's timeout leaves no room for a poll".into(),
        "timeout gap" => {
            "lambda.timeout: each invocation stops polling at its timeout and the next starts at the next rate tick; a timeout near the rate keeps the queue worked".into()
        }
        _ => "ramp: the event source mapping adds up to 300 batches a minute".into(),
    }
}

/// Runs the model until both queues are drained and ECS is back at its minimum (or `window`,
/// or `limit`).
pub fn run(setup: &Setup, inputs: &Inputs) -> Run {
    run_observed(setup, inputs, &mut |_| {})
}

/// The state of both queues at the end of one tick, for a reader that needs every change
/// rather than every sample (`assess`'s message ages). Quiet seconds, in which neither count
/// changes, are stepped at once and reported once, at the last of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick {
    pub at_ms: u64,
    /// Messages sent so far (to each queue).
    pub sent: u64,
    /// Per queue (ECS's, Lambda's): messages received so far and not given back, that is
    /// deleted, in flight or moved to the dead-letter queue.
    pub taken: [u64; 2],
}

/// [`run`], with `observe` called at the end of every tick (once for a span of quiet ones, at
/// its last); the run is the same.
pub fn run_observed(setup: &Setup, inputs: &Inputs, observe: &mut dyn FnMut(Tick)) -> Run {
    run_sides(setup, inputs, true, true, observe)
}

/// [`run_observed`] stepping every second, quiet ones too: what the quiet spans are checked
/// against.
#[cfg(test)]
pub(crate) fn run_every_second(
    setup: &Setup,
    inputs: &Inputs,
    ecs: bool,
    observe: &mut dyn FnMut(Tick),
) -> Run {
    run_sides(setup, inputs, ecs, false, observe)
}

/// [`run_observed`] for the Lambda side alone: ECS's queue, alarms and tasks are not stepped,
/// so its samples, usage and decisions say nothing, and the Lambda side's are those
/// [`run_observed`] gives (the two sides share nothing but the load). `assess`'s settings search
/// varies only the Lambda settings, so it replays this half.
pub fn run_lambda_only(setup: &Setup, inputs: &Inputs, observe: &mut dyn FnMut(Tick)) -> Run {
    run_sides(setup, inputs, false, true, observe)
}

/// The model's loop: ECS's side when `ecs`, Lambda's always; quiet seconds stepped at once when
/// `spans`.
fn run_sides(
    setup: &Setup,
    inputs: &Inputs,
    ecs: bool,
    spans: bool,
    observe: &mut dyn FnMut(Tick),
) -> Run {
    let mut ecs_q = Queue::new(setup.queue);
    let mut lam_q = Queue::new(setup.queue);
    let mut metrics = QueueMetrics::new(inputs.metric_delay.as_millis() as u64);
    let s = &setup.scaling;
    let mut states: Vec<State> = vec![State::InsufficientData; s.alarms.len()];
    let mut last_logged: Vec<Option<(&'static str, u32)>> = vec![None; s.policies.len()];
    let mut desired = s.min;
    let mut cool = Cooldowns::default();
    let mut last_out_rule = "step";
    let calls = Calls::new(inputs.message_bytes);
    let mut service = Service::new(setup.fargate, setup.ecs_worker);
    service.calls = calls;
    let mut function = Function::new(setup.lambda, setup.lambda_worker, calls);
    let mut log: Vec<Decision> = Vec::new();
    let mut samples: Vec<Sample> = Vec::new();
    let (mut ecs_tally, mut lambda_tally) = (Tally::default(), Tally::default());

    // (when in ms, count), in time order.
    let mut waves: Vec<(u64, u64)> = inputs
        .sends
        .iter()
        .map(|w| (w.at.as_millis() as u64, w.count))
        .collect();
    waves.sort_by_key(|w| w.0);
    let load_done_ms = waves.last().map(|w| w.0);
    let mut next_wave = 0;
    let mut sent = 0u64;
    let mut poison_left = inputs.poison;
    let interval_ms = (inputs.interval.as_millis() as u64).max(TICK_MS) / TICK_MS * TICK_MS;
    let window_ms = inputs.window.map(|d| d.as_millis() as u64);
    let limit_ms = window_ms.unwrap_or(inputs.limit.as_millis() as u64);
    let mut stopped = Stopped::Timeout;
    let mut t = 0u64;
    let taken = |q: &Queue| q.deleted() + q.in_flight() + q.dead_letter();
    loop {
        // Quiet seconds step at once: both queues empty and every consumer long-polling, no
        // send, sample, alarm evaluation or poller step due. Each such second would change
        // nothing but the count of empty receives and Fargate's launch rate, which the span
        // counts the same (a unit test compares both ways of stepping).
        if spans && t % interval_ms != 0 && t % MINUTE_MS != 0 {
            let quiet = function.idle_until().filter(|_| {
                lam_q.depth() == 0
                    && (!ecs || (ecs_q.depth() == 0 && service.idle(u64::from(desired))))
            });
            let next_send = waves
                .get(next_wave)
                .map_or(u64::MAX, |w| w.0 / TICK_MS * TICK_MS);
            let until = quiet.map(|step| {
                [
                    t.next_multiple_of(interval_ms),
                    t.next_multiple_of(MINUTE_MS),
                    next_send,
                    step,
                ]
                .into_iter()
                .min()
                .expect("four times")
            });
            if let Some(until) = until.filter(|&u| u >= t + 2 * TICK_MS) {
                let idle = Minute {
                    visible: 0,
                    not_visible: 0,
                    delayed: 0,
                };
                if ecs {
                    // One record stands for the span's: all in one minute, all empty, and idle
                    // tasks polled the queue before the span (it is already active, if ever).
                    metrics.record(t, idle, ecs_q.first_activity_ms.is_some());
                    service.rest((until - t) / TICK_MS);
                    service.tick_until(t, until, &mut ecs_q);
                }
                function.tick_until(t, until, &mut lam_q, &mut log);
                observe(Tick {
                    at_ms: until - TICK_MS,
                    sent,
                    taken: [taken(&ecs_q), taken(&lam_q)],
                });
                t = until;
                continue;
            }
        }
        if ecs {
            ecs_q.advance(t);
            service.start_due(t, &mut log);
        }
        lam_q.advance(t);
        // A sample is the state at its instant, before that instant's sends (the first one
        // shows the queues before the load, as `compare`'s does).
        if t % interval_ms == 0 {
            let elapsed_s = t as f64 / 1000.0;
            let time = rfc3339(inputs.start_unix_ms + t);
            let queue_sample = |q: &Queue, platform: Side| Sample {
                time: time.clone(),
                elapsed_s,
                platform,
                visible: Some(q.visible()),
                in_flight: Some(q.in_flight()),
                delayed: Some(q.delayed()),
                dead_letter: Some(q.dead_letter()),
                sent: Some(sent),
                notes: "simulated".into(),
                ..Sample::default()
            };
            samples.push(Sample {
                workers: Some(service.running()),
                ecs_desired: Some(u64::from(desired)),
                ecs_running: Some(service.running()),
                ecs_pending: Some(service.pending()),
                ..queue_sample(&ecs_q, Side::Ecs)
            });
            let peak = function.peak_since_sample.max(function.running());
            function.peak_since_sample = function.running();
            let minute = function.last_minute();
            samples.push(Sample {
                workers: Some(peak),
                lambda_concurrency: minute.map(|(_, m)| m.concurrency),
                lambda_invocations: minute.map(|(_, m)| m.invocations),
                lambda_errors: minute.map(|(_, m)| m.errors),
                lambda_throttles: minute.map(|(_, m)| m.throttles),
                cloudwatch_minute: minute
                    .map(|(i, _)| rfc3339(inputs.start_unix_ms + i as u64 * MINUTE_MS)),
                ..queue_sample(&lam_q, Side::Lambda)
            });
            if window_ms.is_some_and(|w| t >= w) {
                stopped = Stopped::Window;
                break;
            }
            let load_over = load_done_ms.is_none_or(|d| t >= d);
            let drained = |platform: Side| {
                let last: Vec<&Sample> = samples
                    .iter()
                    .rev()
                    .filter(|s| s.platform == platform)
                    .take(DRAINED_SAMPLES)
                    .collect();
                last.len() == DRAINED_SAMPLES && last.iter().all(|s| s.depth() == Some(0))
            };
            let ecs_back = !ecs || (desired == s.min && service.alive() == u64::from(s.min));
            if window_ms.is_none()
                && load_over
                && drained(Side::Ecs)
                && drained(Side::Lambda)
                && ecs_back
                && function.running() == 0
            {
                stopped = Stopped::Drained;
                break;
            }
            if t >= limit_ms {
                break;
            }
        }
        while let Some(&(_, count)) = waves.get(next_wave).filter(|w| w.0 < t + TICK_MS) {
            let poison = poison_left.min(count);
            poison_left -= poison;
            if ecs {
                ecs_q.send(t, count, poison);
            }
            lam_q.send(t, count, poison);
            sent += count;
            next_wave += 1;
        }
        if ecs {
            metrics.record(
                t,
                Minute {
                    visible: ecs_q.visible(),
                    not_visible: ecs_q.in_flight(),
                    delayed: ecs_q.delayed(),
                },
                ecs_q.first_activity_ms.is_some(),
            );
        }

        // CloudWatch evaluates the alarms once a minute; one in ALARM re-invokes its actions
        // each time (docs/pitfalls.md#p30).
        if ecs && t > 0 && t % MINUTE_MS == 0 {
            for (i, a) in s.alarms.iter().enumerate() {
                let e = a.evaluate(&metrics, t, states[i]);
                if e.state != states[i] {
                    // The periods it evaluated, oldest first; none yet reads as such.
                    let values: Vec<String> = e
                        .values
                        .iter()
                        .map(|v| v.map_or("missing".into(), number))
                        .collect();
                    let seen = if values.is_empty() {
                        "no data point yet".to_string()
                    } else {
                        format!(
                            "the last {} minute(s) read {}",
                            values.len(),
                            values.join(", ")
                        )
                    };
                    log.push(Decision {
                        at_ms: t,
                        platform: Side::Ecs,
                        rule: "alarm".into(),
                        text: format!(
                            "alarm {} {} -> {}: {}; {seen} ({} of {} breaching)",
                            a.name,
                            states[i],
                            e.state,
                            a.condition(),
                            e.breaching,
                            a.evaluation_periods
                        ),
                    });
                    states[i] = e.state;
                }
                if e.state != State::Alarm {
                    continue;
                }
                for name in &a.actions {
                    let Some((pi, p)) =
                        s.policies.iter().enumerate().find(|(_, p)| &p.name == name)
                    else {
                        continue;
                    };
                    let present: Vec<f64> = e.values.iter().flatten().copied().collect();
                    // With no datapoint (missing data treated as breaching) the value is the
                    // threshold itself.
                    let value = p.aggregation.apply(&present).unwrap_or(a.threshold);
                    let act = scaling::invoke(p, a, value, t, desired, (s.min, s.max), &mut cool);
                    if a.comparison.upwards() {
                        last_out_rule = act.rule;
                    }
                    if last_logged[pi] != Some((act.rule, act.to)) || act.to != desired {
                        log.push(Decision {
                            at_ms: t,
                            platform: Side::Ecs,
                            rule: act.rule.into(),
                            text: act.text.clone(),
                        });
                        last_logged[pi] = Some((act.rule, act.to));
                    }
                    desired = act.to;
                }
            }
        }
        if ecs {
            service.reconcile(u64::from(desired), t, &mut log);
            service.tick(t, &mut ecs_q);
        }
        function.tick(t, &mut lam_q, &mut log);

        if ecs && ecs_q.visible() > 0 {
            ecs_tally.add(if desired >= s.max {
                "max"
            } else if service.pending() > 0 {
                "task start"
            } else if last_out_rule == "exact" {
                "ExactCapacity"
            } else if last_out_rule == "cooldown" {
                "cooldown"
            } else {
                "alarm period"
            });
        }
        if lam_q.visible() > 0 {
            lambda_tally.add(function.limit_now());
        }
        observe(Tick {
            at_ms: t,
            sent,
            taken: [taken(&ecs_q), taken(&lam_q)],
        });

        t += TICK_MS;
    }
    service.close(t);
    let processed = |q: &Queue| q.deleted();
    let usage = vec![
        Usage {
            platform: Side::Ecs,
            compute: Compute::Fargate {
                task_seconds: service.billed_seconds.clone(),
                vcpu: f64::from(setup.cpu) / 1024.0,
                memory_gb: f64::from(setup.ecs_memory_mb) / 1024.0,
            },
            sqs_requests: service.calls.billed,
            fifo: setup.queue.fifo.is_some(),
            arm64: setup.arm64,
            messages: processed(&ecs_q),
        },
        Usage {
            platform: Side::Lambda,
            compute: Compute::Lambda {
                invocations: function.invoked,
                billed_ms: function.billed_ms,
                memory_mb: setup.lambda.memory_mb,
            },
            sqs_requests: function.calls.billed,
            fifo: setup.queue.fifo.is_some(),
            arm64: setup.arm64,
            messages: processed(&lam_q),
        },
    ];
    let load_window_s = load_done_ms.map(|d| (0.0, d as f64 / 1000.0));
    Run {
        samples,
        decisions: log,
        bottlenecks: vec![
            ecs_tally.bottleneck(Side::Ecs, ecs_limit),
            lambda_tally.bottleneck(Side::Lambda, lambda_limit),
        ],
        usage,
        load_window_s,
        stopped,
        ended_ms: t,
    }
}

/// The inputs a prediction rests on, for its summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Basis {
    pub messages: u64,
    pub per_message_s: f64,
    pub task_start_s: f64,
    pub metric_delay_s: f64,
    pub call_ms: u64,
    pub message_bytes: u64,
    /// The ECS worker's receives: `SQS_MAX_NUM_MSGS`, `SQS_WAIT_SECONDS`, `SQS_VISIBILITY_TO`.
    pub batch: u64,
    pub wait_s: f64,
    pub visibility_s: f64,
}

/// `simulate`'s `summary.json`: `compare`'s fields where they mean the same (`platforms` holds
/// the same [`PlatformSummary`] values, so one reader serves both), and the prediction's own.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub service: String,
    /// `simulation`, against `compare`'s measured runs.
    pub kind: &'static str,
    #[serde(flatten)]
    pub run: experiment::Run,
    pub basis: Basis,
    pub bottlenecks: Vec<Bottleneck>,
    pub cost: Vec<Cost>,
    pub prices: PriceSource,
    pub decisions: Vec<Decision>,
}

/// Where the prices came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceSource {
    pub date: String,
    pub region: String,
    pub source: String,
}

impl Run {
    /// The summary document of this run: per-platform summaries as `compare` makes them, the
    /// bottlenecks, and the cost at `prices`.
    pub fn summary(&self, setup: &Setup, inputs: &Inputs, prices: &Prices, out: &str) -> Summary {
        let platforms = Side::BOTH
            .into_iter()
            .map(|p| {
                let of: Vec<&Sample> = self.samples.iter().filter(|s| s.platform == p).collect();
                experiment::summarise(p, &of, self.load_window_s.map(|(_, end)| end))
            })
            .collect();
        let w = setup.ecs_worker;
        Summary {
            service: setup.service.clone(),
            kind: "simulation",
            run: experiment::Run {
                started_at: rfc3339(inputs.start_unix_ms),
                ended_at: rfc3339(inputs.start_unix_ms + self.ended_ms),
                stopped: self.stopped,
                interval_s: (inputs.interval.as_millis() as u64).max(TICK_MS) as f64 / 1000.0,
                out: out.to_string(),
                platforms,
                load_window_s: self.load_window_s,
            },
            basis: Basis {
                messages: inputs.sends.iter().map(|w| w.count).sum(),
                per_message_s: inputs.per_message.as_secs_f64(),
                task_start_s: inputs.task_start.as_secs_f64(),
                metric_delay_s: inputs.metric_delay.as_secs_f64(),
                call_ms: inputs.call.as_millis() as u64,
                message_bytes: inputs.message_bytes,
                batch: w.batch,
                wait_s: w.wait_ms as f64 / 1000.0,
                visibility_s: w.visibility_ms as f64 / 1000.0,
            },
            bottlenecks: self.bottlenecks.clone(),
            cost: self.usage.iter().map(|u| cost::cost(u, prices)).collect(),
            prices: PriceSource {
                date: prices.date.clone(),
                region: prices.region.clone(),
                source: prices.source.clone(),
            },
            decisions: self.decisions.clone(),
        }
    }
}

#[cfg(test)]
mod tests;

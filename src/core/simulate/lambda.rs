//! Lambda under its two triggers: the SQS event source mapping (pollers that start at five,
//! grow by 300 a minute to the 1,250 ceiling, `MaximumConcurrency`, provisioned pollers,
//! throttles under reserved concurrency, scale-down) and the schedule (one invocation per rate,
//! each polling the queue as the ECS worker does until it is empty or the timeout is near). Pure.

use super::decision::Decision;
use super::queue::{Queue, ReceiptId};
use super::scaling::clock;
use super::{Calls, Worker, TICK_MS};
use crate::core::side::Side;

/// Lambda developer guide, "Configuring scaling behavior for SQS event source mappings":
/// five concurrent batches when messages appear, up to 300 more a minute while messages
/// remain, at most 1,250 (older copies of the guide say 1,000: docs/pitfalls.md#p26).
pub const ESM_START: u32 = 5;
pub const ESM_RAMP_PER_MINUTE: u32 = 300;
pub const ESM_CEILING: u32 = 1_250;
/// The same guide: with little traffic it scales back to five batches, and to two to save SQS
/// calls unless `MaximumConcurrency` is set.
pub const ESM_LOW_TRAFFIC: u32 = 2;
/// Lambda's pollers long-poll with the longest wait, 20 s.
pub const ESM_WAIT_MS: u64 = 20_000;
/// Provisioned mode (docs/pitfalls.md#p27): each poller up to 10 concurrent invokes; scaling by up
/// to 1,000 concurrency a minute, to 20,000 at most.
pub const PROVISIONED_PER_POLLER: u32 = 10;
pub const PROVISIONED_RAMP_PER_MINUTE: u32 = 1_000;
pub const PROVISIONED_CEILING: u32 = 20_000;

/// `ProvisionedPollerConfig` (the config has no field for it yet: an input of the model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Provisioned {
    pub min_pollers: u32,
    pub max_pollers: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Sqs {
        batch_size: u64,
        window_ms: u64,
        max_concurrency: Option<u32>,
        provisioned: Option<Provisioned>,
    },
    /// `rate`: one invocation per rate; the handler polls with `Worker`'s settings and stops
    /// polling once less than `margin_ms` of its time is left.
    Schedule { rate_ms: u64, margin_ms: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LambdaSettings {
    pub memory_mb: u32,
    pub timeout_ms: u64,
    /// Reserved concurrency, else the account's unreserved pool.
    pub concurrency: Concurrency,
    pub trigger: Trigger,
    /// The queue's own visibility timeout: what the event source mapping's receives use.
    pub queue_visibility_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    Reserved(u32),
    /// The account's unreserved concurrency (1,000 by default; new accounts may have 10,
    /// docs/pitfalls.md#p9).
    Account(u32),
}

impl Concurrency {
    pub fn limit(self) -> u32 {
        match self {
            Concurrency::Reserved(n) | Concurrency::Account(n) => n,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Concurrency::Reserved(_) => "reserved concurrency",
            Concurrency::Account(_) => "account concurrency",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hold {
    /// Received, waiting for room to invoke (throttled).
    Waiting,
    /// The function runs until `done_at`; `timed_out` when it hits the function timeout.
    Invoked { done_at: u64, timed_out: bool },
}

/// A batch a poller holds: its receipt, size, since when (received, then invoked) and state.
#[derive(Clone, Copy, Debug)]
struct Batch {
    id: ReceiptId,
    count: u64,
    since: u64,
    hold: Hold,
}

/// One of the event source mapping's concurrent batches.
#[derive(Clone, Debug)]
struct Poller {
    busy_until: u64,
    holding: Option<Batch>,
    polling_since: Option<u64>,
    /// Batching window: messages first seen waiting since.
    gathering_since: Option<u64>,
}

/// One scheduled invocation polling the queue itself.
#[derive(Clone, Debug)]
struct Invocation {
    started: u64,
    deadline: u64,
    busy_until: u64,
    holding: Option<(ReceiptId, u64)>,
    polling_since: Option<u64>,
}

/// A CloudWatch minute of the function's metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FunctionMinute {
    pub concurrency: u64,
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
}

#[derive(Clone, Debug)]
pub struct Function {
    settings: LambdaSettings,
    worker: Worker,
    pollers: Vec<Poller>,
    invocations: Vec<Invocation>,
    /// Scheduled events throttled and waiting for Lambda's retry.
    pending_events: u64,
    /// The scaling target of the event source mapping (0: not scaled up yet).
    target: u32,
    last_step_ms: u64,
    empty_marks: u32,
    throttled_since_step: u64,
    last_limit: (u32, &'static str),
    running: u64,
    /// The most concurrent executions since the last sample.
    pub peak_since_sample: u64,
    pub minutes: Vec<FunctionMinute>,
    current: FunctionMinute,
    /// Billed milliseconds of every invocation, summed, and their number.
    pub billed_ms: u64,
    pub invoked: u64,
    pub calls: Calls,
}

impl Function {
    pub fn new(settings: LambdaSettings, worker: Worker, calls: Calls) -> Self {
        Self {
            settings,
            worker,
            pollers: Vec::new(),
            invocations: Vec::new(),
            pending_events: 0,
            target: 0,
            last_step_ms: 0,
            empty_marks: 0,
            throttled_since_step: 0,
            last_limit: (0, ""),
            running: 0,
            peak_since_sample: 0,
            minutes: Vec::new(),
            current: FunctionMinute::default(),
            billed_ms: 0,
            invoked: 0,
            calls,
        }
    }

    /// Concurrent executions now.
    pub fn running(&self) -> u64 {
        self.running
    }

    fn room(&self) -> bool {
        self.running < u64::from(self.settings.concurrency.limit())
    }

    fn start(&mut self) {
        self.running += 1;
        self.invoked += 1;
        self.current.invocations += 1;
        self.peak_since_sample = self.peak_since_sample.max(self.running);
        self.current.concurrency = self.current.concurrency.max(self.running);
    }

    fn end(&mut self, started: u64, ended: u64, error: bool) {
        self.running -= 1;
        // Lambda bills duration rounded up to the millisecond; at least 1 ms.
        self.billed_ms += ended.saturating_sub(started).max(1);
        if error {
            self.current.errors += 1;
        }
    }

    fn throttle(&mut self) {
        self.current.throttles += 1;
        self.throttled_since_step += 1;
    }

    /// The newest complete CloudWatch minute, if one has ended.
    pub fn last_minute(&self) -> Option<(usize, FunctionMinute)> {
        self.minutes.last().map(|m| (self.minutes.len() - 1, *m))
    }

    /// The event source mapping's limit on concurrent batches, and what sets it.
    fn poller_limit(&self) -> (u32, &'static str) {
        let Trigger::Sqs {
            max_concurrency,
            provisioned,
            ..
        } = self.settings.trigger
        else {
            return (0, "");
        };
        let mut limit = (self.target, "ramp");
        let mut cap = |n: u32, why: &'static str| {
            if n < limit.0 {
                limit = (n, why);
            }
        };
        match provisioned {
            Some(p) => {
                cap(p.max_pollers * PROVISIONED_PER_POLLER, "max pollers");
                cap(PROVISIONED_CEILING, "ceiling");
            }
            None => cap(ESM_CEILING, "ceiling"),
        }
        if let Some(m) = max_concurrency {
            cap(m, "max_concurrency");
        }
        limit
    }

    /// Scaling of the event source mapping, checked each tick at `now_ms`.
    fn scale_pollers(&mut self, now_ms: u64, queue: &Queue, log: &mut Vec<Decision>) {
        let Trigger::Sqs {
            max_concurrency,
            provisioned,
            ..
        } = self.settings.trigger
        else {
            return;
        };
        let (start, ramp) = match provisioned {
            Some(p) => (
                p.min_pollers * PROVISIONED_PER_POLLER,
                PROVISIONED_RAMP_PER_MINUTE,
            ),
            None => (ESM_START, ESM_RAMP_PER_MINUTE),
        };
        let waiting = queue.visible() > 0;
        let before = self.poller_limit();
        if self.target == 0 && (waiting || provisioned.is_some()) {
            self.target = start;
            self.last_step_ms = now_ms;
            let (to, why) = self.poller_limit();
            let what = if provisioned.is_some() {
                format!("{start} (provisioned minimum pollers x {PROVISIONED_PER_POLLER})")
            } else {
                format!("{start} concurrent batches as messages appear")
            };
            log.push(decision(
                now_ms,
                "pollers",
                format!(
                    "event source mapping starts at {what}{}",
                    capped(to, start, why)
                ),
            ));
            self.last_limit = (to, why);
        } else if self.target > 0 && now_ms >= self.last_step_ms + 60_000 {
            self.last_step_ms = now_ms;
            if waiting {
                self.empty_marks = 0;
                if self.throttled_since_step > 0 {
                    // Lambda developer guide, "Backoff strategy for failed invocations": errors
                    // and throttles hold the scaling back.
                    log.push(decision(
                        now_ms,
                        "throttle",
                        format!(
                            "pollers held at {}: {} throttles in the last minute",
                            before.0, self.throttled_since_step
                        ),
                    ));
                } else {
                    self.target = (self.target + ramp).min(start.max(PROVISIONED_CEILING));
                }
            } else {
                self.empty_marks += 1;
                let low = if self.empty_marks >= 2
                    && max_concurrency.is_none()
                    && provisioned.is_none()
                {
                    ESM_LOW_TRAFFIC
                } else {
                    start
                };
                self.target = low;
            }
            self.throttled_since_step = 0;
            let after = self.poller_limit();
            if after.0 != before.0 {
                let why = if waiting {
                    format!(
                        "{} a minute while messages remain{}",
                        ramp,
                        capped(after.0, self.target, after.1)
                    )
                } else {
                    "the queue is empty".to_string()
                };
                log.push(decision(
                    now_ms,
                    "pollers",
                    format!(
                        "Lambda: {} -> {} pollers at {}, {why}",
                        before.0,
                        after.0,
                        clock(now_ms)
                    ),
                ));
            }
            self.last_limit = after;
        }
    }

    /// What holds Lambda back at this moment while messages wait, for the bottleneck.
    pub fn limit_now(&self) -> &'static str {
        match self.settings.trigger {
            Trigger::Sqs { .. } => {
                if !self.room() {
                    self.settings.concurrency.name()
                } else {
                    match self.poller_limit().1 {
                        "" => "ramp",
                        why => why,
                    }
                }
            }
            Trigger::Schedule { margin_ms, rate_ms } => {
                if margin_ms > self.settings.timeout_ms {
                    "timeout"
                } else if !self.room() {
                    self.settings.concurrency.name()
                } else if self.invocations.is_empty() && self.settings.timeout_ms < rate_ms {
                    // Messages wait between an invocation's timeout and the next tick: a longer
                    // timeout would keep polling them.
                    "timeout gap"
                } else {
                    "schedule rate"
                }
            }
        }
    }

    /// The function's work from `now_ms` to the end of the tick.
    pub fn tick(&mut self, now_ms: u64, queue: &mut Queue, log: &mut Vec<Decision>) {
        self.tick_until(now_ms, now_ms + TICK_MS, queue, log);
    }

    /// Whether the function is idle: an `sqs` trigger's pollers all long-polling (none holds a
    /// batch, none waits to be added or removed, nothing runs), so that with an empty queue each
    /// further tick only counts their empty receives. Then `Some` of the time its pollers next
    /// scale (the mapping's minute step); `None` when the next tick may do more.
    pub fn idle_until(&self) -> Option<u64> {
        let Trigger::Sqs { provisioned, .. } = self.settings.trigger else {
            return None;
        };
        let settled = self.running == 0
            && self.pollers.len() == self.poller_limit().0 as usize
            && self.pollers.iter().all(|p| p.holding.is_none())
            && !(self.target == 0 && provisioned.is_some());
        settled.then_some(if self.target > 0 {
            self.last_step_ms + 60_000
        } else {
            u64::MAX
        })
    }

    /// [`Function::tick`] from `now_ms` to `end_ms`: several ticks at once, for a run whose
    /// function is idle ([`Function::idle_until`]) over an empty queue until `end_ms`, which
    /// stays within `now_ms`'s minute. Its long polls count as they would tick by tick (each
    /// empty poll lasts its wait, whatever the ticks: [`Calls::poll`]).
    pub fn tick_until(
        &mut self,
        now_ms: u64,
        end_ms: u64,
        queue: &mut Queue,
        log: &mut Vec<Decision>,
    ) {
        debug_assert!(
            end_ms == now_ms + TICK_MS || self.idle_until().is_some(),
            "only an idle sqs trigger steps more than a tick"
        );
        let minute = (now_ms / 60_000) as usize;
        while self.minutes.len() < minute {
            self.minutes.push(std::mem::take(&mut self.current));
            self.current.concurrency = self.running;
        }
        match self.settings.trigger {
            Trigger::Sqs {
                batch_size,
                window_ms,
                ..
            } => {
                self.scale_pollers(now_ms, queue, log);
                let limit = self.poller_limit().0 as usize;
                // Scale-down removes idle pollers only; busy ones finish first.
                while self.pollers.len() > limit {
                    match self.pollers.iter().rposition(|p| p.holding.is_none()) {
                        Some(i) => {
                            self.pollers.swap_remove(i);
                        }
                        None => break,
                    }
                }
                while self.pollers.len() < limit {
                    self.pollers.push(Poller {
                        busy_until: now_ms,
                        holding: None,
                        polling_since: None,
                        gathering_since: None,
                    });
                }
                let mut pollers = std::mem::take(&mut self.pollers);
                for p in &mut pollers {
                    self.poll(p, now_ms, end_ms, batch_size, window_ms, queue);
                }
                self.pollers = pollers;
            }
            Trigger::Schedule { rate_ms, .. } => {
                if now_ms % rate_ms < TICK_MS {
                    self.pending_events += 1;
                    if !self.room() {
                        self.throttle();
                        log.push(decision(now_ms, "schedule", format!("scheduled invocation throttled: {} of {} running ({}); Lambda retries it", self.running, self.settings.concurrency.limit(), self.settings.concurrency.name())));
                    }
                }
                while self.pending_events > 0 && self.room() {
                    self.pending_events -= 1;
                    self.start();
                    log.push(decision(
                        now_ms,
                        "invoke",
                        format!(
                            "scheduled invocation starts ({} running, {} waiting): it polls until the queue is empty or {} s of lambda.timeout are left",
                            self.running,
                            queue.visible(),
                            ms_text(margin_of(&self.settings.trigger))
                        ),
                    ));
                    self.invocations.push(Invocation {
                        started: now_ms,
                        deadline: now_ms + self.settings.timeout_ms,
                        busy_until: now_ms,
                        holding: None,
                        polling_since: None,
                    });
                }
                let mut invocations = std::mem::take(&mut self.invocations);
                let mut ended = Vec::new();
                for (i, inv) in invocations.iter_mut().enumerate() {
                    if let Some(end) = self.run_handler(inv, now_ms, queue) {
                        ended.push((i, end));
                    }
                }
                for (i, (at, error)) in ended.into_iter().rev() {
                    let inv = invocations.swap_remove(i);
                    let ran = ms_text(at.saturating_sub(inv.started));
                    let why = if error {
                        format!("timed out after {ran} s (lambda.timeout) holding a batch, which returns to the queue after its visibility timeout")
                    } else if inv.deadline.saturating_sub(at) < margin_of(&self.settings.trigger) {
                        format!("stopped polling after {ran} s: less than its margin of lambda.timeout was left; {} messages wait for the next tick", queue.visible())
                    } else {
                        format!("returned after {ran} s: its long poll came back empty")
                    };
                    log.push(decision(
                        at,
                        "invocation",
                        format!("scheduled invocation {why}"),
                    ));
                    self.end(inv.started, at, error);
                }
                self.invocations = invocations;
            }
        }
    }

    /// One poller of the event source mapping through the tick.
    fn poll(
        &mut self,
        p: &mut Poller,
        now_ms: u64,
        end: u64,
        batch_size: u64,
        window_ms: u64,
        queue: &mut Queue,
    ) {
        let mut at = p.busy_until.max(now_ms);
        loop {
            match p.holding {
                Some(Batch {
                    id,
                    since,
                    hold: Hold::Invoked { done_at, timed_out },
                    ..
                }) => {
                    if done_at >= end {
                        break;
                    }
                    // The mapping deletes what succeeded; with ReportBatchItemFailures the failed
                    // items alone return (docs/pitfalls.md#p10). A timed-out batch returns whole.
                    if !timed_out && queue.finish(id, done_at) > 0 {
                        self.calls.delete();
                    }
                    self.end(since, done_at, timed_out);
                    p.holding = None;
                    at = done_at;
                }
                Some(Batch {
                    since,
                    hold: Hold::Waiting,
                    ..
                }) => {
                    if since + self.settings.queue_visibility_ms <= at {
                        // Its visibility timeout passed while throttled: the batch is back in
                        // the queue with one more receive counted (docs/pitfalls.md#p8).
                        p.holding = None;
                        continue;
                    }
                    if !self.room() {
                        self.throttle();
                        at = end;
                        break;
                    }
                    self.invoke(p, at);
                    continue;
                }
                None => {}
            }
            if at >= end {
                break;
            }
            if window_ms > 0 && queue.visible() > 0 && queue.visible() < batch_size {
                // MaximumBatchingWindowInSeconds: wait for a full batch up to the window.
                let since = *p.gathering_since.get_or_insert(at);
                if at < since + window_ms {
                    at = end;
                    break;
                }
            }
            match queue.receive(at, batch_size, self.settings.queue_visibility_ms) {
                Some(r) => {
                    if p.polling_since.take().is_none() {
                        self.calls.receive(r.count);
                    }
                    p.gathering_since = None;
                    p.holding = Some(Batch {
                        id: r.id,
                        count: r.count,
                        since: at,
                        hold: Hold::Waiting,
                    });
                    if self.room() {
                        self.invoke(p, at);
                    } else {
                        self.throttle();
                        at = end;
                        break;
                    }
                }
                None => {
                    let w = Worker {
                        wait_ms: ESM_WAIT_MS,
                        ..self.worker
                    };
                    self.calls.poll(&mut p.polling_since, at, end, w);
                    at = end;
                }
            }
        }
        p.busy_until = at;
    }

    /// Invokes the function with the batch `p` holds, at `at`: it handles each message in
    /// turn, or is stopped at the function timeout.
    fn invoke(&mut self, p: &mut Poller, at: u64) {
        let Some(b) = p.holding else { return };
        self.start();
        let takes = b.count * self.worker.per_message_ms;
        let timed_out = takes > self.settings.timeout_ms;
        let done_at = at + takes.min(self.settings.timeout_ms);
        p.holding = Some(Batch {
            since: at,
            hold: Hold::Invoked { done_at, timed_out },
            ..b
        });
    }

    /// The scheduled handler (the example worker's): while at least `margin` of its time is
    /// left, receive a batch, handle it, delete it; stop at the first empty receive. Returns
    /// when it ended and whether as an error (the function timeout).
    fn run_handler(
        &mut self,
        inv: &mut Invocation,
        now_ms: u64,
        queue: &mut Queue,
    ) -> Option<(u64, bool)> {
        let Trigger::Schedule { margin_ms, .. } = self.settings.trigger else {
            return None;
        };
        let end = now_ms + TICK_MS;
        let w = self.worker;
        let mut at = inv.busy_until.max(now_ms);
        loop {
            if let Some((id, done_at)) = inv.holding {
                if done_at > inv.deadline {
                    if inv.deadline < end {
                        return Some((inv.deadline, true));
                    }
                    break;
                }
                if done_at >= end {
                    break;
                }
                if queue.finish(id, done_at) > 0 {
                    self.calls.delete();
                }
                inv.holding = None;
                at = done_at + w.call_ms;
                continue;
            }
            if at >= end {
                break;
            }
            if inv.deadline.saturating_sub(at) < margin_ms {
                return Some((at, false));
            }
            match queue.receive(at, w.batch, w.visibility_ms) {
                Some(r) => {
                    if inv.polling_since.take().is_none() {
                        self.calls.receive(r.count);
                    }
                    let done_at = at + w.call_ms + r.count * w.per_message_ms;
                    inv.holding = Some((r.id, done_at));
                    at = done_at;
                }
                None => {
                    let since = *inv.polling_since.get_or_insert_with(|| {
                        self.calls.receive(0);
                        at
                    });
                    // The long poll ends empty after its wait: the handler returns.
                    if since + w.wait_ms < end {
                        return Some(((since + w.wait_ms).max(at), false));
                    }
                    at = end;
                }
            }
        }
        inv.busy_until = at;
        None
    }
}

/// `, capped by max_concurrency 20` when a cap, not the ramp, sets the limit.
fn capped(limit: u32, target: u32, why: &str) -> String {
    if limit < target {
        format!(", capped by {why} {limit}")
    } else {
        String::new()
    }
}

/// The schedule's margin: how much of the timeout an invocation leaves unpolled.
fn margin_of(t: &Trigger) -> u64 {
    match t {
        Trigger::Schedule { margin_ms, .. } => *margin_ms,
        Trigger::Sqs { .. } => 0,
    }
}

/// Milliseconds as seconds, one decimal when they have one: `30`, `12.5`.
fn ms_text(ms: u64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{:.1}", ms as f64 / 1000.0)
    }
}

fn decision(at_ms: u64, rule: &str, text: String) -> Decision {
    Decision {
        at_ms,
        platform: Side::Lambda,
        rule: rule.into(),
        text,
    }
}

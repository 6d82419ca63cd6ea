//! The ECS service on Fargate: tasks launched towards the desired count (each running after its
//! image pull and start), each task's receive loop (the polling worker: receive a batch with
//! long polling, handle each message, delete the batch), and SIGTERM on scale-in. Pure.

use super::decision::Decision;
use super::queue::{Queue, ReceiptId};
use super::scaling::clock;
use super::{Calls, Worker, TICK_MS};
use crate::core::side::Side;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Pending {
        running_at: u64,
    },
    Running,
    /// SIGTERM received: it finishes the batch in hand, or is killed at `kill_at`.
    Stopping {
        kill_at: u64,
    },
}

#[derive(Clone, Debug)]
struct Task {
    launched_ms: u64,
    phase: Phase,
    /// The task's own time: it has acted up to here.
    busy_until: u64,
    /// The batch in hand and when its handling ends.
    holding: Option<(ReceiptId, u64)>,
    /// The long poll outstanding since then.
    polling_since: Option<u64>,
}

/// Fargate's figures for the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FargateSettings {
    /// From launch to running: image pull and start (docs/pitfalls.md#p31: 53-70 s measured).
    pub task_start_ms: u64,
    /// From SIGTERM to SIGKILL: ECS's `stopTimeout`, 30 s on Fargate by default
    /// (docs/pitfalls.md#p31).
    pub stop_timeout_ms: u64,
}

/// docs/pitfalls.md#p31: Fargate launches 20 tasks a second sustained, bursts of 100, per account
/// and region.
const LAUNCH_BURST: f64 = 100.0;
const LAUNCHES_PER_SECOND: f64 = 20.0;

#[derive(Clone, Debug)]
pub struct Service {
    settings: FargateSettings,
    worker: Worker,
    tasks: Vec<Task>,
    launch_tokens: f64,
    /// Billed seconds of each task that has stopped.
    pub billed_seconds: Vec<u64>,
    pub calls: Calls,
}

impl Service {
    pub fn new(settings: FargateSettings, worker: Worker) -> Self {
        Self {
            settings,
            worker,
            tasks: Vec::new(),
            launch_tokens: LAUNCH_BURST,
            billed_seconds: Vec::new(),
            calls: Calls::default(),
        }
    }

    pub fn running(&self) -> u64 {
        self.tasks
            .iter()
            .filter(|t| t.phase == Phase::Running)
            .count() as u64
    }
    pub fn pending(&self) -> u64 {
        self.tasks
            .iter()
            .filter(|t| matches!(t.phase, Phase::Pending { .. }))
            .count() as u64
    }
    /// Tasks that count towards the desired count: pending or running, not stopping.
    fn live(&self) -> u64 {
        self.tasks
            .iter()
            .filter(|t| !matches!(t.phase, Phase::Stopping { .. }))
            .count() as u64
    }
    /// Every task not yet gone, stopping ones included: all of them are billed.
    pub fn alive(&self) -> u64 {
        self.tasks.len() as u64
    }

    fn bill(&mut self, t: &Task, end_ms: u64) {
        // AWS Fargate pricing: per second from the image pull's start until the task ends,
        // with a one-minute minimum.
        let s = (end_ms.saturating_sub(t.launched_ms))
            .div_ceil(1000)
            .max(60);
        self.billed_seconds.push(s);
    }

    /// The ECS service scheduler moving towards `desired` at `now_ms`: launches (within
    /// Fargate's launch rate) or stops tasks, pending ones first, then the newest running.
    pub fn reconcile(&mut self, desired: u64, now_ms: u64, log: &mut Vec<Decision>) {
        self.rest(1);
        let live = self.live();
        if live < desired {
            let n = (desired - live).min(self.launch_tokens as u64);
            if n > 0 {
                self.launch_tokens -= n as f64;
                let running_at = now_ms + self.settings.task_start_ms;
                for _ in 0..n {
                    self.tasks.push(Task {
                        launched_ms: now_ms,
                        phase: Phase::Pending { running_at },
                        busy_until: running_at,
                        holding: None,
                        polling_since: None,
                    });
                }
                log.push(decision(now_ms, "task-start", format!("{n} task{} launched towards desired {desired}: running at {} (task start {} s)", plural(n), clock(running_at), self.settings.task_start_ms / 1000)));
            }
        } else if live > desired {
            let mut extra = live - desired;
            let mut stopped_pending = 0;
            while extra > 0 {
                let Some(i) = self
                    .tasks
                    .iter()
                    .rposition(|t| matches!(t.phase, Phase::Pending { .. }))
                else {
                    break;
                };
                let t = self.tasks.remove(i);
                self.bill(&t, now_ms);
                stopped_pending += 1;
                extra -= 1;
            }
            let mut signalled = 0;
            for t in self.tasks.iter_mut().rev() {
                if extra == 0 {
                    break;
                }
                if t.phase == Phase::Running {
                    t.phase = Phase::Stopping {
                        kill_at: now_ms + self.settings.stop_timeout_ms,
                    };
                    signalled += 1;
                    extra -= 1;
                }
            }
            if stopped_pending + signalled > 0 {
                let pending = if stopped_pending > 0 {
                    format!(
                        "{stopped_pending} pending task{} stopped; ",
                        plural(stopped_pending)
                    )
                } else {
                    String::new()
                };
                log.push(decision(now_ms, "sigterm", format!("desired {desired}: {pending}{signalled} task{} sent SIGTERM, each finishing the batch in hand (SIGKILL after {} s)", plural(signalled), self.settings.stop_timeout_ms / 1000)));
            }
        }
    }

    /// Tasks whose start time has come are running from `now_ms`.
    pub fn start_due(&mut self, now_ms: u64, log: &mut Vec<Decision>) {
        let mut started = 0;
        for t in &mut self.tasks {
            if matches!(t.phase, Phase::Pending { running_at } if running_at <= now_ms) {
                t.phase = Phase::Running;
                started += 1;
            }
        }
        if started > 0 {
            log.push(decision(
                now_ms,
                "task-start",
                format!(
                    "{started} task{} running ({} running now)",
                    plural(started),
                    self.running()
                ),
            ));
        }
    }

    /// Every running task's work from `now_ms` to the end of the tick.
    pub fn tick(&mut self, now_ms: u64, queue: &mut Queue) {
        self.tick_until(now_ms, now_ms + TICK_MS, queue);
    }

    /// Whether the service is idle at `desired`: every task running and long-polling (none
    /// pending, stopping or holding a batch; none to launch or stop), so that with an empty queue
    /// each further tick only counts their empty receives and refills the launch rate.
    pub fn idle(&self, desired: u64) -> bool {
        self.live() == desired
            && (self.tasks.is_empty() || self.worker.wait_ms > 0)
            && self
                .tasks
                .iter()
                .all(|t| t.phase == Phase::Running && t.holding.is_none())
    }

    /// Seconds pass with no launch: the launch rate refills (what [`Service::reconcile`] does
    /// each tick before it launches).
    pub fn rest(&mut self, ticks: u64) {
        self.launch_tokens = (self.launch_tokens
            + LAUNCHES_PER_SECOND * (ticks * TICK_MS) as f64 / 1000.0)
            .min(LAUNCH_BURST);
    }

    /// [`Service::tick`] from `now_ms` to `end_ms`, for an idle service ([`Service::idle`]) over
    /// an empty queue: each task's long polls count as they would tick by tick.
    pub fn tick_until(&mut self, now_ms: u64, end: u64, queue: &mut Queue) {
        let w = self.worker;
        let mut gone = Vec::new();
        for (i, t) in self.tasks.iter_mut().enumerate() {
            if matches!(t.phase, Phase::Pending { .. }) {
                continue;
            }
            let mut at = t.busy_until.max(now_ms);
            loop {
                if let Some((id, done_at)) = t.holding {
                    if let Phase::Stopping { kill_at } = t.phase {
                        if kill_at < done_at && kill_at < end {
                            // SIGKILL mid-batch: the messages come back after their visibility
                            // timeout (docs/pitfalls.md#p35).
                            t.holding = None;
                            gone.push((i, kill_at));
                            break;
                        }
                    }
                    if done_at >= end {
                        break;
                    }
                    if queue.finish(id, done_at) > 0 {
                        self.calls.delete();
                    }
                    t.holding = None;
                    at = done_at + w.call_ms;
                    continue;
                }
                if at >= end {
                    break;
                }
                if matches!(t.phase, Phase::Stopping { .. }) {
                    gone.push((i, at));
                    break;
                }
                match queue.receive(at, w.batch, w.visibility_ms) {
                    Some(r) => {
                        if t.polling_since.take().is_none() {
                            self.calls.receive(r.count);
                        }
                        let done_at = at + w.call_ms + r.count * w.per_message_ms;
                        t.holding = Some((r.id, done_at));
                        at = done_at;
                    }
                    None => {
                        self.calls.poll(&mut t.polling_since, at, end, w);
                        at = end;
                    }
                }
            }
            t.busy_until = at;
        }
        for (i, at) in gone.into_iter().rev() {
            let t = self.tasks.remove(i);
            self.bill(&t, at);
        }
    }

    /// Bills the tasks still there at the end of the run.
    pub fn close(&mut self, now_ms: u64) {
        for t in std::mem::take(&mut self.tasks) {
            self.bill(&t, now_ms);
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn decision(at_ms: u64, rule: &str, text: String) -> Decision {
    Decision {
        at_ms,
        platform: Side::Ecs,
        rule: rule.into(),
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::super::queue::QueueSettings;
    use super::*;

    fn worker(per_message_ms: u64) -> Worker {
        Worker {
            batch: 10,
            wait_ms: 10_000,
            visibility_ms: 30_000,
            per_message_ms,
            call_ms: 20,
        }
    }

    fn queue(n: u64, poison: u64) -> Queue {
        let mut q = Queue::new(QueueSettings {
            max_receive_count: Some(5),
            fifo: None,
            delay_ms: 0,
        });
        q.send(0, n, poison);
        q
    }

    fn run(
        s: &mut Service,
        q: &mut Queue,
        desired: u64,
        from_s: u64,
        to_s: u64,
        log: &mut Vec<Decision>,
    ) {
        for sec in from_s..to_s {
            q.advance(sec * 1000);
            s.start_due(sec * 1000, log);
            s.reconcile(desired, sec * 1000, log);
            s.tick(sec * 1000, q);
        }
    }

    #[test]
    fn a_task_works_only_after_its_start_time_and_then_at_its_handling_pace() {
        let mut s = Service::new(
            FargateSettings {
                task_start_ms: 60_000,
                stop_timeout_ms: 30_000,
            },
            worker(100),
        );
        let mut q = queue(1000, 0);
        let mut log = Vec::new();
        run(&mut s, &mut q, 1, 0, 60, &mut log);
        assert_eq!(
            (s.pending(), s.running(), q.deleted()),
            (1, 0, 0),
            "pulling and starting for 60 s"
        );
        run(&mut s, &mut q, 1, 60, 70, &mut log);
        // 10 s of work at 1,040 ms a batch of ten (20 ms receive + 10 x 100 ms + 20 ms delete).
        assert!((90..=100).contains(&q.deleted()), "{}", q.deleted());
        assert!(log[0].text.contains("running at 01:00"), "{:?}", log[0]);
    }

    #[test]
    fn sigterm_lets_the_batch_in_hand_finish_and_sigkill_returns_it() {
        let mut s = Service::new(
            FargateSettings {
                task_start_ms: 0,
                stop_timeout_ms: 30_000,
            },
            worker(1_000),
        );
        let mut q = queue(100, 0);
        let mut log = Vec::new();
        run(&mut s, &mut q, 1, 0, 5, &mut log);
        assert_eq!(q.in_flight(), 10);
        run(&mut s, &mut q, 0, 5, 20, &mut log);
        assert_eq!(
            (s.alive(), q.deleted(), q.in_flight()),
            (0, 10, 0),
            "the batch finished, no new one was received"
        );
        assert!(log.iter().any(|d| d.rule == "sigterm"));
        // A batch longer than the stop timeout is killed mid-way and comes back.
        let mut s = Service::new(
            FargateSettings {
                task_start_ms: 0,
                stop_timeout_ms: 5_000,
            },
            worker(60_000),
        );
        let mut q = queue(10, 0);
        run(&mut s, &mut q, 1, 0, 2, &mut log);
        run(&mut s, &mut q, 0, 2, 40, &mut log);
        assert_eq!(
            (s.alive(), q.deleted(), q.in_flight(), q.visible()),
            (0, 0, 0, 10)
        );
        s.close(40_000);
        assert_eq!(
            s.billed_seconds,
            vec![60],
            "7 s of running is billed as Fargate's one-minute minimum"
        );
    }

    #[test]
    fn an_idle_task_long_polls() {
        let mut s = Service::new(
            FargateSettings {
                task_start_ms: 0,
                stop_timeout_ms: 30_000,
            },
            worker(10),
        );
        let mut q = queue(0, 0);
        run(&mut s, &mut q, 1, 0, 60, &mut Vec::new());
        assert_eq!(s.calls.receives, 6, "a 10 s long poll: six calls a minute");
    }
}

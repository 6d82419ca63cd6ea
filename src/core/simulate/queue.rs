//! The simulated SQS queue: visible, in-flight (each receipt with its visibility deadline),
//! delayed, receive counts, the dead-letter queue after `max_receive_count`, and the FIFO
//! limits. Messages travel in lots (a count with one receive count), so a million messages cost
//! a few thousand values. Pure: times are milliseconds of simulated time, passed in.

use std::collections::VecDeque;

/// Messages that share a receive count and a fate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lot {
    pub count: u64,
    /// How many times these messages have been received so far.
    pub receives: u32,
    /// Handling always fails (the example worker's body `poison`): never deleted.
    pub poison: bool,
}

/// A FIFO queue's shape (the config has no `queue.fifo` yet: the model takes it as an input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fifo {
    /// Message groups the load spreads its messages over, evenly.
    pub groups: u32,
    /// High throughput mode lifts the per-action call limit.
    pub high_throughput: bool,
}

/// The queue's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSettings {
    /// `None`: no dead-letter queue, messages are received again forever.
    pub max_receive_count: Option<u32>,
    pub fifo: Option<Fifo>,
    /// The queue's `DelaySeconds`, in milliseconds.
    pub delay_ms: u64,
}

/// SQS developer guide, "Amazon SQS message quotas": at most 120,000 in-flight messages on a
/// standard queue, 20,000 on a FIFO queue; beyond that a receive returns nothing.
pub const MAX_IN_FLIGHT_STANDARD: u64 = 120_000;
pub const MAX_IN_FLIGHT_FIFO: u64 = 20_000;
/// SQS developer guide, "Amazon SQS FIFO queue quotas": 300 calls a second per API action
/// without high throughput mode; with it, the model takes 3,000 (batches of ten reach 30,000
/// messages a second, the quota of high throughput mode in the larger regions).
pub const FIFO_CALLS_PER_SECOND: u32 = 300;
pub const FIFO_HIGH_THROUGHPUT_CALLS_PER_SECOND: u32 = 3_000;

/// A handle on received messages: the consumer holds it until it deletes them or their
/// visibility timeout passes.
pub type ReceiptId = u64;

#[derive(Clone, Debug)]
struct Receipt {
    id: ReceiptId,
    group: usize,
    lots: Vec<Lot>,
    /// When the messages become visible again unless deleted first.
    deadline_ms: u64,
}

/// What a receive handed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub id: ReceiptId,
    pub count: u64,
    /// Of `count`, the messages whose handling fails.
    pub poison: u64,
}

#[derive(Clone, Debug)]
pub struct Queue {
    settings: QueueSettings,
    /// One line of lots per message group; a standard queue has one.
    groups: Vec<VecDeque<Lot>>,
    /// FIFO: messages of a group in flight, which holds the group back (SQS developer guide,
    /// "FIFO queue logic": no more messages of a group are returned while some are in flight).
    locked: Vec<u64>,
    cursor: usize,
    delayed: VecDeque<(u64, Lot)>,
    receipts: Vec<Receipt>,
    next_id: ReceiptId,
    visible: u64,
    in_flight: u64,
    delayed_count: u64,
    dead_letter: u64,
    deleted: u64,
    /// Receive calls made in the current second, against the FIFO limit.
    calls_this_second: (u64, u32),
    /// Set on the first send or receive: SQS publishes metrics only for an active queue.
    pub first_activity_ms: Option<u64>,
}

impl Queue {
    pub fn new(settings: QueueSettings) -> Self {
        let n = settings.fifo.map_or(1, |f| f.groups.max(1) as usize);
        Self {
            settings,
            groups: vec![VecDeque::new(); n],
            locked: vec![0; n],
            cursor: 0,
            delayed: VecDeque::new(),
            receipts: Vec::new(),
            next_id: 1,
            visible: 0,
            in_flight: 0,
            delayed_count: 0,
            dead_letter: 0,
            deleted: 0,
            calls_this_second: (0, 0),
            first_activity_ms: None,
        }
    }

    pub fn visible(&self) -> u64 {
        self.visible
    }
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }
    pub fn delayed(&self) -> u64 {
        self.delayed_count
    }
    pub fn dead_letter(&self) -> u64 {
        self.dead_letter
    }
    pub fn deleted(&self) -> u64 {
        self.deleted
    }
    /// Visible, in flight and delayed: what is still to be done.
    pub fn depth(&self) -> u64 {
        self.visible + self.in_flight + self.delayed_count
    }

    fn touch(&mut self, now_ms: u64) {
        self.first_activity_ms.get_or_insert(now_ms);
    }

    /// `count` messages sent at `now_ms`, `poison` of them failing whenever handled. A FIFO
    /// queue spreads them over its groups evenly.
    pub fn send(&mut self, now_ms: u64, count: u64, poison: u64) {
        if count == 0 {
            return;
        }
        self.touch(now_ms);
        let poison = poison.min(count);
        let lots = [
            Lot {
                count: poison,
                receives: 0,
                poison: true,
            },
            Lot {
                count: count - poison,
                receives: 0,
                poison: false,
            },
        ];
        for lot in lots.into_iter().filter(|l| l.count > 0) {
            // SQS developer guide, "Amazon SQS delay queues": a message sent to a queue with
            // `DelaySeconds` stays hidden that long.
            if self.settings.delay_ms > 0 {
                self.delayed
                    .push_back((now_ms + self.settings.delay_ms, lot));
                self.delayed_count += lot.count;
            } else {
                self.enqueue(lot);
            }
        }
    }

    fn enqueue(&mut self, lot: Lot) {
        self.visible += lot.count;
        if let [line] = self.groups.as_mut_slice() {
            line.push_back(lot);
            return;
        }
        let n = self.groups.len() as u64;
        let (each, extra) = (lot.count / n, lot.count % n);
        for (g, line) in self.groups.iter_mut().enumerate() {
            let count = each + u64::from((g as u64) < extra);
            if count > 0 {
                line.push_back(Lot { count, ..lot });
            }
        }
    }

    /// Moves time to `now_ms`: delays that ended make messages visible, and receipts past their
    /// deadline give their messages back (SQS developer guide, "Amazon SQS visibility timeout").
    pub fn advance(&mut self, now_ms: u64) {
        while self.delayed.front().is_some_and(|(at, _)| *at <= now_ms) {
            let (_, lot) = self.delayed.pop_front().expect("checked above");
            self.delayed_count -= lot.count;
            self.enqueue(lot);
        }
        let mut i = 0;
        while i < self.receipts.len() {
            if self.receipts[i].deadline_ms <= now_ms {
                let r = self.receipts.swap_remove(i);
                self.give_back(r);
            } else {
                i += 1;
            }
        }
    }

    fn give_back(&mut self, r: Receipt) {
        let n: u64 = r.lots.iter().map(|l| l.count).sum();
        self.in_flight -= n;
        if self.settings.fifo.is_some() {
            self.locked[r.group] -= n;
        }
        // Back at the head of its group: FIFO keeps the group's order, and a standard queue
        // hands out what it has in no promised order (the head is as good as any place).
        for lot in r.lots.into_iter().rev() {
            self.groups[r.group].push_front(lot);
            self.visible += lot.count;
        }
    }

    /// A `ReceiveMessage` call at `now_ms` for up to `max` messages, hidden for
    /// `visibility_ms`. `None` when nothing could be received (an empty queue, every group
    /// locked, the in-flight quota, or the FIFO call limit this second). Every call counts as
    /// activity.
    #[inline]
    pub fn receive(&mut self, now_ms: u64, max: u64, visibility_ms: u64) -> Option<Received> {
        // Most receives of a replay find an active standard queue empty: answered here, as
        // the full path would (nothing to touch, no call limit to count).
        if self.visible == 0 && self.settings.fifo.is_none() && self.first_activity_ms.is_some() {
            return None;
        }
        self.receive_any(now_ms, max, visibility_ms)
    }

    fn receive_any(&mut self, now_ms: u64, max: u64, visibility_ms: u64) -> Option<Received> {
        self.touch(now_ms);
        if let Some(f) = self.settings.fifo {
            let second = now_ms / 1000;
            if self.calls_this_second.0 != second {
                self.calls_this_second = (second, 0);
            }
            let limit = if f.high_throughput {
                FIFO_HIGH_THROUGHPUT_CALLS_PER_SECOND
            } else {
                FIFO_CALLS_PER_SECOND
            };
            if self.calls_this_second.1 >= limit {
                return None;
            }
            self.calls_this_second.1 += 1;
        }
        let quota = if self.settings.fifo.is_some() {
            MAX_IN_FLIGHT_FIFO
        } else {
            MAX_IN_FLIGHT_STANDARD
        };
        let room = quota.saturating_sub(self.in_flight).min(max);
        if room == 0 || self.visible == 0 {
            return None;
        }
        let n = self.groups.len();
        for k in 0..n {
            let g = (self.cursor + k) % n;
            if self.settings.fifo.is_some() && self.locked[g] > 0 {
                continue;
            }
            if let Some(got) = self.take(g, room, now_ms, visibility_ms) {
                self.cursor = (g + 1) % n;
                return Some(got);
            }
        }
        None
    }

    /// Up to `room` messages from group `g`. A message already received `max_receive_count`
    /// times moves to the dead-letter queue instead of being received again (SQS developer
    /// guide, "Using dead-letter queues in Amazon SQS": once the receive count exceeds
    /// `maxReceiveCount`).
    fn take(&mut self, g: usize, room: u64, now_ms: u64, visibility_ms: u64) -> Option<Received> {
        let mut lots = Vec::new();
        let mut got = 0;
        while got < room {
            let Some(front) = self.groups[g].front_mut() else {
                break;
            };
            if self
                .settings
                .max_receive_count
                .is_some_and(|m| front.receives >= m)
            {
                let lot = self.groups[g].pop_front().expect("front exists");
                self.visible -= lot.count;
                self.dead_letter += lot.count;
                continue;
            }
            let n = front.count.min(room - got);
            let lot = Lot {
                count: n,
                receives: front.receives + 1,
                poison: front.poison,
            };
            front.count -= n;
            if front.count == 0 {
                self.groups[g].pop_front();
            }
            got += n;
            self.visible -= n;
            match lots.last_mut() {
                Some(Lot {
                    count,
                    receives,
                    poison,
                }) if *receives == lot.receives && *poison == lot.poison => *count += n,
                _ => lots.push(lot),
            }
        }
        if got == 0 {
            return None;
        }
        let poison = lots.iter().filter(|l| l.poison).map(|l| l.count).sum();
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight += got;
        if self.settings.fifo.is_some() {
            self.locked[g] += got;
        }
        self.receipts.push(Receipt {
            id,
            group: g,
            lots,
            deadline_ms: now_ms + visibility_ms,
        });
        Some(Received {
            id,
            count: got,
            poison,
        })
    }

    /// The consumer is done with a receipt at `now_ms`: the messages that succeeded are
    /// deleted (`DeleteMessageBatch`), the failed ones stay in flight until their deadline.
    /// A receipt already past its deadline deletes nothing: its messages are back in the queue.
    /// A consumer that gives up (a task killed, an invocation timed out) never calls this, and
    /// the messages come back at their deadline.
    pub fn finish(&mut self, id: ReceiptId, now_ms: u64) -> u64 {
        let Some(i) = self.receipts.iter().position(|r| r.id == id) else {
            return 0;
        };
        if self.receipts[i].deadline_ms <= now_ms {
            let r = self.receipts.swap_remove(i);
            self.give_back(r);
            return 0;
        }
        let r = &mut self.receipts[i];
        let done: u64 = r.lots.iter().filter(|l| !l.poison).map(|l| l.count).sum();
        r.lots.retain(|l| l.poison);
        self.in_flight -= done;
        self.deleted += done;
        if self.settings.fifo.is_some() {
            self.locked[r.group] -= done;
        }
        if r.lots.is_empty() {
            self.receipts.swap_remove(i);
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard(max_receive_count: Option<u32>) -> Queue {
        Queue::new(QueueSettings {
            max_receive_count,
            fifo: None,
            delay_ms: 0,
        })
    }

    #[test]
    fn received_messages_are_in_flight_until_deleted_or_their_deadline() {
        let mut q = standard(Some(5));
        q.send(0, 25, 0);
        let a = q.receive(0, 10, 30_000).unwrap();
        assert_eq!((a.count, q.visible(), q.in_flight()), (10, 15, 10));
        assert_eq!(q.finish(a.id, 1_000), 10);
        assert_eq!((q.in_flight(), q.deleted()), (0, 10));
        let b = q.receive(1_000, 10, 30_000).unwrap();
        q.advance(30_999);
        assert_eq!(q.in_flight(), 10, "hidden until 31 s");
        q.advance(31_000);
        assert_eq!(
            (q.visible(), q.in_flight()),
            (15, 0),
            "back after the visibility timeout"
        );
        assert_eq!(q.finish(b.id, 31_500), 0, "too late: nothing deleted");
        assert_eq!(q.depth(), 15);
    }

    #[test]
    fn failing_messages_reach_the_dead_letter_queue_after_max_receive_count() {
        let mut q = standard(Some(3));
        q.send(0, 4, 1);
        let mut t = 0;
        // Each round: receive all, the poison one fails, the rest are deleted.
        for round in 1..=3 {
            let r = q.receive(t, 10, 10_000).unwrap();
            assert_eq!(r.poison, 1, "round {round}");
            q.finish(r.id, t + 100);
            t += 10_000;
            q.advance(t);
        }
        assert_eq!(
            (q.deleted(), q.visible(), q.dead_letter()),
            (3, 1, 0),
            "received 3 times, not yet moved"
        );
        assert!(
            q.receive(t, 10, 10_000).is_none(),
            "the fourth receive moves it instead"
        );
        assert_eq!((q.visible(), q.dead_letter(), q.depth()), (0, 1, 0));
    }

    #[test]
    fn without_a_dead_letter_queue_a_failing_message_comes_back_forever() {
        let mut q = standard(None);
        q.send(0, 1, 1);
        for i in 0..20 {
            let r = q.receive(i * 1_000, 10, 500).unwrap();
            q.finish(r.id, i * 1_000 + 10);
            q.advance(i * 1_000 + 500);
        }
        assert_eq!((q.visible(), q.dead_letter()), (1, 0));
    }

    #[test]
    fn fifo_holds_a_group_back_while_it_has_messages_in_flight() {
        let mut q = Queue::new(QueueSettings {
            max_receive_count: Some(5),
            fifo: Some(Fifo {
                groups: 2,
                high_throughput: false,
            }),
            delay_ms: 0,
        });
        q.send(0, 40, 0);
        let a = q.receive(0, 10, 30_000).unwrap();
        let b = q.receive(0, 10, 30_000).unwrap();
        assert_eq!((a.count, b.count), (10, 10));
        assert!(
            q.receive(0, 10, 30_000).is_none(),
            "both groups are locked by their in-flight messages"
        );
        q.finish(a.id, 100);
        assert_eq!(
            q.receive(100, 10, 30_000).map(|r| r.count),
            Some(10),
            "a's group is free again"
        );
    }

    #[test]
    fn fifo_allows_300_receives_a_second_without_high_throughput() {
        let mut q = Queue::new(QueueSettings {
            max_receive_count: None,
            fifo: Some(Fifo {
                groups: 1000,
                high_throughput: false,
            }),
            delay_ms: 0,
        });
        q.send(0, 10_000, 0);
        let got = (0..400)
            .filter(|_| q.receive(500, 1, 30_000).is_some())
            .count();
        assert_eq!(got, 300);
        assert!(
            q.receive(1_000, 1, 30_000).is_some(),
            "a new second, a new allowance"
        );
        let mut fast = Queue::new(QueueSettings {
            max_receive_count: None,
            fifo: Some(Fifo {
                groups: 1000,
                high_throughput: true,
            }),
            delay_ms: 0,
        });
        fast.send(0, 10_000, 0);
        assert_eq!(
            (0..400)
                .filter(|_| fast.receive(500, 1, 30_000).is_some())
                .count(),
            400
        );
    }

    #[test]
    fn the_in_flight_quota_stops_receives() {
        let mut q = standard(None);
        q.send(0, MAX_IN_FLIGHT_STANDARD + 5, 0);
        assert_eq!(
            q.receive(0, MAX_IN_FLIGHT_STANDARD + 5, 30_000)
                .map(|r| r.count),
            Some(MAX_IN_FLIGHT_STANDARD)
        );
        assert!(q.receive(0, 10, 30_000).is_none());
    }

    #[test]
    fn delayed_messages_show_up_after_the_delay() {
        let mut q = Queue::new(QueueSettings {
            max_receive_count: None,
            fifo: None,
            delay_ms: 5_000,
        });
        q.send(0, 7, 0);
        assert_eq!((q.delayed(), q.visible(), q.depth()), (7, 0, 7));
        q.advance(4_999);
        assert!(q.receive(4_999, 10, 1_000).is_none());
        q.advance(5_000);
        assert_eq!((q.delayed(), q.visible()), (0, 7));
    }
}

//! The event queue: a binary min-heap ordered by (time, sequence number).
//!
//! The sequence number is the insertion order, so events due at the same
//! instant come out first-in first-out and a run never depends on how the
//! heap happens to break ties.

use core::cmp::Ordering;
use std::collections::BinaryHeap;

use tcp_core::time::Instant;

struct Entry<E> {
    /// `time << 64 | seq`: one integer comparison orders by (time, seq).
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    fn at(&self) -> Instant {
        Instant((self.key >> 64) as u64)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A deterministic priority queue of timed events.
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> EventQueue<E> {
    pub fn new() -> EventQueue<E> {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    pub fn push(&mut self, at: Instant, event: E) {
        let seq = self.reserve_seq();
        self.push_reserved(at, seq, event);
    }

    /// Takes the next sequence number for an event that will be pushed
    /// later with [`EventQueue::push_reserved`]; it will order exactly as if
    /// it had been pushed now.
    pub fn reserve_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Pushes an event with a sequence number from [`EventQueue::reserve_seq`].
    pub fn push_reserved(&mut self, at: Instant, seq: u64, event: E) {
        let key = (u128::from(at.0) << 64) | u128::from(seq);
        self.heap.push(Entry { key, event });
    }

    /// Time of the earliest event.
    pub fn peek_time(&self) -> Option<Instant> {
        self.heap.peek().map(Entry::at)
    }

    /// Removes the earliest event if it is due at or before `deadline`.
    pub fn pop_due(&mut self, deadline: Instant) -> Option<(Instant, E)> {
        if self.heap.peek()?.at() > deadline {
            return None;
        }
        self.heap.pop().map(|e| (e.at(), e.event))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_with_fifo_ties() {
        let mut q = EventQueue::new();
        q.push(Instant(30), "c");
        q.push(Instant(10), "a1");
        q.push(Instant(20), "b");
        q.push(Instant(10), "a2");
        q.push(Instant(10), "a3");
        assert_eq!(q.len(), 5);
        assert_eq!(q.peek_time(), Some(Instant(10)));
        let mut out = Vec::new();
        while let Some((at, e)) = q.pop_due(Instant(u64::MAX)) {
            out.push((at.0, e));
        }
        assert_eq!(
            out,
            [(10, "a1"), (10, "a2"), (10, "a3"), (20, "b"), (30, "c")]
        );
        assert!(q.is_empty());
    }

    #[test]
    fn reserved_sequence_numbers_order_as_if_pushed_when_reserved() {
        let mut q = EventQueue::new();
        let early = q.reserve_seq();
        q.push(Instant(7), "pushed");
        q.push_reserved(Instant(7), early, "reserved");
        assert_eq!(q.pop_due(Instant(7)), Some((Instant(7), "reserved")));
        assert_eq!(q.pop_due(Instant(7)), Some((Instant(7), "pushed")));
        q.push(Instant(u64::MAX), "end of time");
        assert_eq!(q.peek_time(), Some(Instant(u64::MAX)));
    }

    #[test]
    fn pop_due_respects_the_deadline() {
        let mut q = EventQueue::new();
        q.push(Instant(5), 1);
        q.push(Instant(6), 2);
        assert_eq!(q.pop_due(Instant(4)), None);
        assert_eq!(q.pop_due(Instant(5)), Some((Instant(5), 1)));
        assert_eq!(q.pop_due(Instant(5)), None);
        assert_eq!(q.pop_due(Instant(6)), Some((Instant(6), 2)));
    }
}

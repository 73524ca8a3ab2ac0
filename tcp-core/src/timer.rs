//! The connection's timers (RFC 9293 §3.8, §3.10.8): one deadline each.

use crate::time::Instant;

/// The timers a connection runs. The order is the order in which timers that
/// expire at the same instant are handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKind {
    /// RFC 6298: retransmission (also SYN and FIN retransmission).
    Retransmission,
    /// RFC 9293 §3.10.8: 2×MSL in TIME-WAIT.
    TimeWait,
    /// RFC 9293 §3.8.6.1: zero-window probes.
    Persist,
    /// RFC 1122 §4.2.3.6: keep-alive probes.
    Keepalive,
    /// RFC 1122 §4.2.3.2: delayed acknowledgment.
    DelayedAck,
    /// RFC 9293 §3.10.8: user timeout.
    User,
}

impl TimerKind {
    pub const ALL: [TimerKind; 6] = [
        TimerKind::Retransmission,
        TimerKind::TimeWait,
        TimerKind::Persist,
        TimerKind::Keepalive,
        TimerKind::DelayedAck,
        TimerKind::User,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The spec's timer event name (`Retransmission`, `TimeWait`, ...).
    pub fn spec_name(self) -> &'static str {
        match self {
            TimerKind::Retransmission => "Retransmission",
            TimerKind::TimeWait => "TimeWait",
            TimerKind::Persist => "Persist",
            TimerKind::Keepalive => "Keepalive",
            TimerKind::DelayedAck => "DelayedAck",
            TimerKind::User => "User",
        }
    }

    pub fn from_spec_name(name: &str) -> Option<TimerKind> {
        TimerKind::ALL.into_iter().find(|t| t.spec_name() == name)
    }
}

/// One deadline per timer, in nanoseconds; `u64::MAX` for a timer that is
/// not armed (no deadline is that late: `Instant` saturates below it only
/// after 584 years), so the earliest deadline is a plain minimum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timers {
    deadline: [u64; 6],
}

const UNARMED: u64 = u64::MAX;

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            deadline: [UNARMED; 6],
        }
    }
}

impl Timers {
    /// Arms `kind` for `at`. `Instant(u64::MAX)`, the end of time, is kept
    /// as one nanosecond before it (`u64::MAX` marks an unarmed timer).
    pub fn set(&mut self, kind: TimerKind, at: Instant) {
        self.deadline[kind.index()] = at.0.min(UNARMED - 1);
    }

    pub fn stop(&mut self, kind: TimerKind) {
        self.deadline[kind.index()] = UNARMED;
    }

    pub fn stop_all(&mut self) {
        self.deadline = [UNARMED; 6];
    }

    pub fn get(&self, kind: TimerKind) -> Option<Instant> {
        let d = self.deadline[kind.index()];
        (d != UNARMED).then_some(Instant(d))
    }

    pub fn is_armed(&self, kind: TimerKind) -> bool {
        self.deadline[kind.index()] != UNARMED
    }

    /// The earliest armed deadline.
    #[inline]
    pub fn next(&self) -> Option<Instant> {
        let d = self.deadline.iter().copied().fold(UNARMED, u64::min);
        (d != UNARMED).then_some(Instant(d))
    }

    /// The first armed timer (in [`TimerKind::ALL`] order) due at `now`,
    /// disarmed.
    pub fn take_expired(&mut self, now: Instant) -> Option<TimerKind> {
        // An unarmed timer is never due, not even at the end of time.
        let kind = TimerKind::ALL.into_iter().find(|k| {
            let d = self.deadline[k.index()];
            d != UNARMED && d <= now.0
        })?;
        self.deadline[kind.index()] = UNARMED;
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unarmed_timers_are_never_due_even_at_the_end_of_time() {
        let mut t = Timers::default();
        assert_eq!(t.take_expired(Instant(u64::MAX)), None);
        assert_eq!(t.next(), None);
        t.set(TimerKind::Keepalive, Instant(u64::MAX));
        assert!(t.is_armed(TimerKind::Keepalive));
        assert_eq!(t.take_expired(Instant(u64::MAX - 2)), None);
        assert_eq!(
            t.take_expired(Instant(u64::MAX)),
            Some(TimerKind::Keepalive)
        );
        assert_eq!(t.take_expired(Instant(u64::MAX)), None);
    }

    #[test]
    fn expired_timers_come_out_in_kind_order_and_disarmed() {
        let mut t = Timers::default();
        t.set(TimerKind::User, Instant(5));
        t.set(TimerKind::Retransmission, Instant(7));
        t.set(TimerKind::DelayedAck, Instant(3));
        assert_eq!(t.next(), Some(Instant(3)));
        assert_eq!(t.take_expired(Instant(4)), Some(TimerKind::DelayedAck));
        assert_eq!(t.take_expired(Instant(4)), None);
        assert_eq!(t.take_expired(Instant(9)), Some(TimerKind::Retransmission));
        assert_eq!(t.take_expired(Instant(9)), Some(TimerKind::User));
        assert_eq!(t.next(), None);
        t.set(TimerKind::Persist, Instant(1));
        t.stop(TimerKind::Persist);
        assert_eq!(t.get(TimerKind::Persist), None);
    }
}

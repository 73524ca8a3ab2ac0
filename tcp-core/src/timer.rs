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
    pub fn set(&mut self, kind: TimerKind, at: Instant) {
        // A deadline at the very end of time stays one (armed, never due).
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

    pub fn take_expired(&mut self, now: Instant) -> Option<TimerKind> {
        let kind = TimerKind::ALL
            .into_iter()
            .find(|k| self.deadline[k.index()] <= now.0)?;
        self.deadline[kind.index()] = UNARMED;
        Some(kind)
    }
}

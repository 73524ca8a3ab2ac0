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

/// One optional deadline per [`TimerKind`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timers {
    deadline: [Option<Instant>; 6],
}

impl Timers {
    pub fn set(&mut self, kind: TimerKind, at: Instant) {
        self.deadline[kind.index()] = Some(at);
    }

    pub fn stop(&mut self, kind: TimerKind) {
        self.deadline[kind.index()] = None;
    }

    pub fn stop_all(&mut self) {
        self.deadline = [None; 6];
    }

    pub fn get(&self, kind: TimerKind) -> Option<Instant> {
        self.deadline[kind.index()]
    }

    pub fn is_armed(&self, kind: TimerKind) -> bool {
        self.deadline[kind.index()].is_some()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.deadline.iter().flatten().copied().min()
    }

    /// The first timer (in [`TimerKind::ALL`] order) due at `now`; it is disarmed.
    pub fn take_expired(&mut self, now: Instant) -> Option<TimerKind> {
        let kind = TimerKind::ALL
            .into_iter()
            .find(|k| matches!(self.deadline[k.index()], Some(t) if t <= now))?;
        self.deadline[kind.index()] = None;
        Some(kind)
    }
}

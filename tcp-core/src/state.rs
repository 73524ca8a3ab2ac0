//! The eleven connection states of RFC 9293 §3.3.2, as the data path sees
//! them. Hand-written (not generated) so that the per-state engine never
//! depends on the spec; a test checks they match the spec's states in order.

use core::fmt;

/// A TCP connection state (RFC 9293 §3.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum TcpState {
    #[default]
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl TcpState {
    pub const ALL: [TcpState; 11] = [
        TcpState::Closed,
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynReceived,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
    ];

    /// Position in [`TcpState::ALL`] (also the spec's declaration order).
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: usize) -> Option<TcpState> {
        TcpState::ALL.get(i).copied()
    }

    /// The display name used in traces, e.g. `SYN_SENT`.
    pub fn display(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynReceived => "SYN_RCVD",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
        }
    }

    /// Parses a display name (`SYN_SENT`) or an identifier (`SynSent`).
    pub fn from_name(name: &str) -> Option<TcpState> {
        TcpState::ALL
            .into_iter()
            .find(|s| s.display() == name || format!("{s:?}") == name)
    }

    /// RFC 9293 §3.3.2: the states after the peer's ISN is known, where the
    /// §3.10.7.4 checks (sequence number first) apply.
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            TcpState::Closed | TcpState::Listen | TcpState::SynSent
        )
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display())
    }
}

//! Per-connection configuration.

use crate::cc::CcAlgorithm;
use crate::time::Duration;

/// Keep-alive settings (RFC 1122 §4.2.3.6): off by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// Idle time before the first probe (RFC 1122: no less than two hours by default).
    pub idle: Duration,
    pub interval: Duration,
    /// Unanswered probes before the connection is declared dead.
    pub probes: u32,
}

/// Everything a connection can be tuned with. `Default` follows the RFCs
/// (RFC 6298 RTO of 1 s minimum, MSL 2 minutes, delayed ACK, Nagle on).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The MSS we announce (RFC 9293 §3.7.1); 1460 for IPv4 over Ethernet.
    pub mss: u16,
    pub send_buffer: usize,
    pub recv_buffer: usize,
    /// RFC 7323 window scaling: offer it (our shift is derived from `recv_buffer`).
    pub window_scaling: bool,
    /// RFC 7323 timestamps (RTTM and PAWS).
    pub timestamps: bool,
    /// RFC 2018 selective acknowledgments.
    pub sack: bool,
    /// RFC 9293 §3.7.4 Nagle algorithm.
    pub nagle: bool,
    /// RFC 1122 §4.2.3.2 delayed ACK timeout; `None` acknowledges every segment at once.
    pub delayed_ack: Option<Duration>,
    /// RFC 6298 §2.1 initial RTO.
    pub rto_initial: Duration,
    /// RFC 6298 §2.4 lower bound (1 s; Linux uses 200 ms).
    pub rto_min: Duration,
    /// RFC 6298 §2.5 upper bound.
    pub rto_max: Duration,
    /// SYN retransmissions before giving up (Linux `tcp_syn_retries`).
    pub syn_retries: u32,
    /// SYN,ACK retransmissions before giving up (Linux `tcp_synack_retries`).
    pub synack_retries: u32,
    /// Data retransmissions before giving up (RFC 1122 §4.2.3.5 R2).
    pub data_retries: u32,
    /// Maximum segment lifetime; TIME-WAIT lasts 2×MSL (RFC 9293 §3.4.2).
    pub msl: Duration,
    pub keepalive: Option<KeepaliveConfig>,
    /// RFC 9293 §3.10.8 user timeout.
    pub user_timeout: Option<Duration>,
    pub congestion_control: CcAlgorithm,
    /// RFC 5961 §3 (RST hardening); off gives RFC 793's in-window reset
    /// (FreeBSD `net.inet.tcp.insecure_rst=1`). Read by the spec's
    /// `rfc5961_rst` guard.
    pub rfc5961_rst: bool,
    /// RFC 5961 §4 (SYN hardening); off resets on an in-window SYN
    /// (FreeBSD `net.inet.tcp.insecure_syn=1`). Read by the `rfc5961_syn` guard.
    pub rfc5961_syn: bool,
    /// RFC 5961 §7: challenge ACKs sent per second at most (0 = unlimited).
    pub challenge_ack_limit: u32,
    /// Record a [`crate::trace::TraceEvent`] for every state change.
    pub trace: bool,
    /// Initial window in segments (RFC 5681 §3.1 uses 2–4; RFC 6928 allows 10).
    pub initial_window_segments: u32,
    /// Judge the sequence acceptability of arriving segments (RFC 9293
    /// §3.10.7.4 first check, RFC 5961 §3.2 RST window) against the free
    /// receive-buffer space rather than against the window the 16-bit
    /// window field (scaled by RFC 7323) can advertise. Off (the default)
    /// RCV.WND is exactly the advertised window. On, a receive buffer larger
    /// than the field can express (FreeBSD rounds a 64 KiB buffer up to a
    /// multiple of the MSS, 65700 bytes, while advertising 65535 to a peer
    /// that does not scale) accepts data up to the end of the buffer. RFC 9293
    /// §3.8.6 makes the advertised window a promise of what the receiver will
    /// accept, not a limit on what it may accept when it has the room.
    pub accept_buffer_space: bool,
    /// Added to every retransmission timeout computed after the initial one
    /// (after an RTT sample or a backoff), bounded by `rto_max`: FreeBSD's
    /// `net.inet.tcp.rexmit_slop` (200 ms), which its timer range check adds
    /// to the RFC 6298 value. Zero (the default) arms exactly the RFC 6298
    /// §2 / §5.5 RTO.
    pub rto_slop: Duration,
    /// A limit on connection establishment: while our SYN (or SYN,ACK) is
    /// unacknowledged the user timer fires after this long at most, and
    /// the connection is given up with "timed out" (RFC 1122 §4.2.3.5: the
    /// application may give up on an open attempt sooner than R2; FreeBSD's
    /// `TCP_KEEPINIT`). `None` (the default) leaves establishment to the
    /// SYN retry limits and `user_timeout`.
    pub connect_timeout: Option<Duration>,
    /// After this many retransmissions of our SYN, offer only the MSS
    /// option: window scaling, timestamps and SACK are no longer offered
    /// (RFC 7323 §1.3 and RFC 2018 §2 make each optional), for a path that
    /// drops SYNs carrying options it does not know. FreeBSD's
    /// `net.inet.tcp.rexmit_drop_options=1` does this at the third. `None`
    /// (the default) always offers the configured options.
    pub syn_drop_options_after: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mss: 1460,
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            window_scaling: true,
            timestamps: true,
            sack: true,
            nagle: true,
            delayed_ack: Some(Duration::from_millis(40)),
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_secs(1),
            rto_max: Duration::from_secs(60),
            syn_retries: 6,
            synack_retries: 5,
            data_retries: 15,
            msl: Duration::from_secs(120),
            keepalive: None,
            user_timeout: None,
            congestion_control: CcAlgorithm::NewReno,
            rfc5961_rst: true,
            rfc5961_syn: true,
            challenge_ack_limit: 1000,
            trace: true,
            initial_window_segments: 10,
            accept_buffer_space: false,
            rto_slop: Duration::ZERO,
            connect_timeout: None,
            syn_drop_options_after: None,
        }
    }
}

impl Config {
    /// The window-scale shift we offer: the smallest that lets the 16-bit
    /// window field cover `recv_buffer` (RFC 7323 §2.3, at most 14).
    pub fn rcv_wscale(&self) -> u8 {
        let mut shift = 0u8;
        while shift < 14 && (self.recv_buffer >> shift) > 65_535 {
            shift += 1;
        }
        shift
    }
}

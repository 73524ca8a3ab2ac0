//! The transmission control block (RFC 9293 §3.3.1) and the data-path
//! primitives both engines drive: send a SYN, accept an ACK, queue text, arm
//! a timer. The engines decide *what* happens in a state; the TCB knows *how*.
//!
//! Sequence-space layout of the send side:
//! ```text
//!   iss   iss+1 = data_base (after the SYN)          data_end     fin
//!    |SYN| ... bytes held in `sndbuf` (from snd_una's data) ... |FIN|
//!        ^snd_una          ^snd_ptr (next to send)   ^snd_nxt (highest sent + 1)
//! ```
//! `snd_nxt` is the RFC's SND.NXT: it never moves back. After a
//! retransmission timeout the send pointer `snd_ptr` goes back to `snd_una`
//! (go-back-N), as BSD does with its `snd_nxt`/`snd_max` pair.

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::buffer::{RecvBuffer, SendBuffer};
use crate::cc::{AckSample, CaState, Cc, CcConfig, CcVars, CongestionControl, InitialWindow};
use crate::config::Config;
use crate::error::ConnectionError;
use crate::rtt::{RtoConfig, RttEstimator, RttSampler};
use crate::sack::Scoreboard;
use crate::seq::SeqNum;
use crate::state::TcpState;
use crate::time::{Duration, Instant};
use crate::timer::{TimerKind, Timers};
use crate::trace::{EngineKind, TraceEvent, TraceOrigin};
use crate::wire::{
    self, Flags, PseudoHeader, SackBlocks, Segment, TcpHeader, TcpOptions, Timestamps,
};

/// What a connection tells its application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnEvent {
    /// The handshake completed (RFC 9293 "connection established").
    Connected,
    /// New in-order data can be read.
    Readable,
    /// Send-buffer space was freed by an acknowledgment.
    Writable,
    /// The peer's FIN arrived: no more data will come (end of stream).
    PeerFin,
    /// The connection failed (reset, refused, timed out).
    Error(ConnectionError),
    /// The TCB was deleted (the connection reached CLOSED).
    Closed,
}

/// How an arriving ACK relates to the send sequence space (RFC 9293
/// §3.10.7.4 fifth check, RFC 5961 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckClass {
    /// SEG.ACK > SND.NXT.
    TooNew,
    /// SEG.ACK < SND.UNA - MAX.SND.WND.
    TooOld,
    /// Acceptable, and it acknowledges our FIN for the first time.
    OfFin,
    /// Acceptable or duplicate.
    Ok,
}

/// A RST queued for transmission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RstOut {
    seq: SeqNum,
    ack: Option<SeqNum>,
}

/// The RFC 9293 §3.3.1 connection variables plus the extensions' state.
pub struct Tcb {
    pub config: Config,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pseudo: PseudoHeader,
    pub state: TcpState,
    pub engine: EngineKind,

    // RFC 9293 §3.3.1 send sequence variables.
    pub snd_una: SeqNum,
    pub snd_nxt: SeqNum,
    pub snd_wnd: u32,
    pub snd_up: SeqNum,
    pub snd_wl1: SeqNum,
    pub snd_wl2: SeqNum,
    pub iss: SeqNum,
    /// RFC 5961 §5.2 MAX.SND.WND.
    pub max_snd_wnd: u32,
    /// Next sequence number to (re)transmit; `snd_una <= snd_ptr <= snd_nxt`.
    pub snd_ptr: SeqNum,

    // RFC 9293 §3.3.1 receive sequence variables.
    pub rcv_nxt: SeqNum,
    pub rcv_wnd: u32,
    pub rcv_up: SeqNum,
    pub irs: SeqNum,

    /// Our SYN occupies `iss` (SendSyn/SendSynAck happened).
    syn_queued: bool,
    /// The user closed the sending side: a FIN follows the queued data.
    fin_queued: bool,
    /// Where our FIN sits in sequence space (fixed when the user closes).
    fin_seq: Option<SeqNum>,
    /// Sequence number of the first byte in `sndbuf`.
    data_base: SeqNum,
    /// The peer's ISN is known (`irs`, `rcv_nxt` valid).
    pub irs_known: bool,
    /// The peer's FIN was processed.
    pub fin_received: bool,
    /// SYN-RECEIVED was entered from LISTEN (RFC 9293 §3.10.7.4).
    pub passive_open: bool,
    /// The TCB was deleted (DeleteTcb ran).
    pub deleted: bool,
    /// CreateTcb ran before: a later one must start afresh.
    used: bool,

    // RFC 7323 / RFC 2018 negotiation.
    /// Shift applied to the peer's window field.
    pub snd_wscale: u8,
    /// Shift applied to the window we advertise.
    pub rcv_wscale: u8,
    pub ws_enabled: bool,
    pub sack_enabled: bool,
    pub ts_enabled: bool,
    /// RFC 7323 §4.3 TS.Recent.
    pub ts_recent: u32,
    /// RFC 7323 §4.3 Last.ACK.sent.
    pub last_ack_sent: SeqNum,
    /// The right edge of the receive window last advertised
    /// (RCV.NXT + RCV.WND as of our last ACK).
    rcv_adv: SeqNum,
    /// The peer offered these in its SYN.
    peer_ws: Option<u8>,
    peer_sack: bool,
    peer_ts: bool,
    /// Our SYN stopped offering options (`Config::syn_drop_options_after`):
    /// they are not used even if the peer offers them back.
    syn_opts_dropped: bool,
    /// Effective send MSS (RFC 9293 §3.7.1, RFC 6691).
    pub smss: u32,

    pub sndbuf: SendBuffer,
    pub rcvbuf: RecvBuffer,

    pub timers: Timers,
    /// Consecutive retransmission timeouts (RFC 1122 §4.2.3.5 R1/R2 counting).
    pub rto_retries: u32,
    pub keepalive_probes: u32,
    persist_backoff: u32,
    pub rtt: RttEstimator,
    sampler: RttSampler,

    pub cc: Cc,
    pub ccv: CcVars,
    pub dupacks: u32,
    /// RFC 6582 `recover`: set while in fast recovery.
    pub recovery: Option<SeqNum>,
    pub scoreboard: Scoreboard,
    /// RFC 6675 HighRxt.
    high_rxt: SeqNum,
    /// A retransmission requested by loss recovery (fast retransmit, partial ACK).
    rtx_request: Option<SeqNum>,

    ack_now: bool,
    unacked_segments: u32,
    rst_out: [Option<RstOut>; 4],
    probe_out: bool,
    keepalive_out: bool,
    challenge_window: Instant,
    challenge_count: u32,

    pub events: VecDeque<ConnEvent>,
    pub error: Option<ConnectionError>,
    pub traces: Vec<TraceEvent>,
    pub now: Instant,
    /// Origin of the TCB's clock for RFC 7323 TSval (milliseconds).
    ts_origin: Instant,
}

impl Tcb {
    /// A fresh TCB in CLOSED. `iss` is chosen by the caller (RFC 6528).
    pub fn new(
        config: Config,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        engine: EngineKind,
        now: Instant,
    ) -> Tcb {
        let sndbuf = SendBuffer::new(config.send_buffer);
        let rcvbuf = RecvBuffer::new(config.recv_buffer);
        Tcb::with_buffers(config, local, remote, iss, engine, now, sndbuf, rcvbuf)
    }

    /// Makes this TCB a fresh one in CLOSED, as [`Tcb::new`] would, keeping
    /// the memory of its send and receive buffers (and event queue) when the
    /// sizes match: a connection from the endpoint's pool of finished ones
    /// (RFC 9293 §3.3.2: the TCB of a CLOSED connection is gone, so nothing
    /// of the old one may be seen).
    pub fn recycle(
        &mut self,
        config: Config,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        engine: EngineKind,
        now: Instant,
    ) {
        let sndbuf =
            std::mem::replace(&mut self.sndbuf, SendBuffer::new(0)).recycled(config.send_buffer);
        let rcvbuf =
            std::mem::replace(&mut self.rcvbuf, RecvBuffer::new(0)).recycled(config.recv_buffer);
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        *self = Tcb::with_buffers(config, local, remote, iss, engine, now, sndbuf, rcvbuf);
        self.events = events;
    }

    #[allow(clippy::too_many_arguments)]
    fn with_buffers(
        config: Config,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        engine: EngineKind,
        now: Instant,
        sndbuf: SendBuffer,
        rcvbuf: RecvBuffer,
    ) -> Tcb {
        let pseudo = pseudo_header(local.ip(), remote.ip());
        // An out-of-range RTO configuration (RFC 6298 §2.5) falls back to the
        // RFC defaults; `Config::validate` reports it to callers that ask.
        let rtt = RttEstimator::new(RtoConfig {
            initial: config.rto_initial,
            min: config.rto_min,
            max: config.rto_max,
            ..RtoConfig::default()
        })
        .unwrap_or_default();
        let cc = Cc::with_config(
            config.congestion_control,
            CcConfig {
                initial_window: InitialWindow::Segments(config.initial_window_segments),
                ..CcConfig::default()
            },
        );
        let smss = u32::from(config.mss.min(536));
        Tcb {
            sndbuf,
            rcvbuf,
            used: false,
            rcv_wscale: 0,
            config,
            local,
            remote,
            pseudo,
            state: TcpState::Closed,
            engine,
            snd_una: iss,
            snd_nxt: iss,
            snd_wnd: 0,
            snd_up: iss,
            snd_wl1: SeqNum(0),
            snd_wl2: iss,
            iss,
            max_snd_wnd: 0,
            snd_ptr: iss,
            rcv_nxt: SeqNum(0),
            rcv_wnd: 0,
            rcv_up: SeqNum(0),
            irs: SeqNum(0),
            syn_queued: false,
            fin_queued: false,
            fin_seq: None,
            data_base: iss + 1,
            irs_known: false,
            fin_received: false,
            passive_open: false,
            deleted: false,
            snd_wscale: 0,
            ws_enabled: false,
            sack_enabled: false,
            ts_enabled: false,
            ts_recent: 0,
            last_ack_sent: SeqNum(0),
            rcv_adv: SeqNum(0),
            peer_ws: None,
            peer_sack: false,
            peer_ts: false,
            syn_opts_dropped: false,
            smss,
            timers: Timers::default(),
            rto_retries: 0,
            keepalive_probes: 0,
            persist_backoff: 0,
            rtt,
            sampler: RttSampler::default(),
            cc,
            ccv: CcVars::new(smss),
            dupacks: 0,
            recovery: None,
            scoreboard: Scoreboard::new(),
            high_rxt: iss,
            rtx_request: None,
            ack_now: false,
            unacked_segments: 0,
            rst_out: [None; 4],
            probe_out: false,
            keepalive_out: false,
            challenge_window: now,
            challenge_count: 0,
            events: VecDeque::new(),
            error: None,
            traces: Vec::new(),
            now,
            ts_origin: now,
        }
    }

    // ------------------------------------------------------------ state

    /// Moves to `next`, recording a trace event when the state changes.
    pub fn transition(
        &mut self,
        next: TcpState,
        event: &str,
        origin: TraceOrigin,
        row: Option<String>,
    ) {
        if next == self.state {
            return;
        }
        let previous = self.state;
        self.state = next;
        if self.config.trace {
            self.traces.push(TraceEvent {
                timestamp: self.now,
                local_port: self.local.port(),
                foreign_port: self.remote.port(),
                previous_tcp_state: previous,
                tcp_state: next,
                event: event.to_string(),
                origin,
                row,
                engine: self.engine,
            });
        }
        if next == TcpState::Closed {
            self.events.push_back(ConnEvent::Closed);
        }
    }

    // ------------------------------------------------------------ derived values

    /// The first sequence number of data (after our SYN).
    fn data_base(&self) -> SeqNum {
        self.data_base
    }

    /// One past the last queued data byte.
    pub fn data_end(&self) -> SeqNum {
        self.data_base + self.sndbuf.len() as u32
    }

    /// The sequence number our FIN occupies, once the user closed.
    pub fn fin_seq(&self) -> Option<SeqNum> {
        self.fin_seq
    }

    /// Our FIN has been sent (it is inside `snd_nxt`).
    pub fn fin_sent(&self) -> bool {
        self.fin_seq().is_some_and(|f| f.lt(self.snd_nxt))
    }

    /// Our FIN is acknowledged.
    pub fn fin_acked(&self) -> bool {
        self.fin_seq().is_some_and(|f| f.lt(self.snd_una))
    }

    /// Bytes of sequence space sent and not acknowledged.
    pub fn flight_size(&self) -> u32 {
        self.snd_nxt.since(self.snd_una)
    }

    /// The receive window we currently offer: the free buffer space, as far
    /// as the 16-bit window field and our scale factor can express it
    /// (RFC 7323 §2.3). The acceptability test uses exactly this window.
    pub fn current_rcv_wnd(&self) -> u32 {
        let free = u32::try_from(self.rcvbuf.window()).unwrap_or(u32::MAX);
        let max = 65_535u32 << self.rcv_wscale;
        (free.min(max) >> self.rcv_wscale) << self.rcv_wscale
    }

    /// RCV.WND as the acceptability tests use it (RFC 9293 §3.10.7.4 first
    /// check, RFC 5961 §3.2): the advertised window, or with
    /// `Config::accept_buffer_space` all the free receive-buffer space.
    pub fn acceptance_wnd(&self) -> u32 {
        if self.config.accept_buffer_space {
            u32::try_from(self.rcvbuf.window()).unwrap_or(u32::MAX)
        } else {
            self.current_rcv_wnd()
        }
    }

    /// The retransmission timeout to arm (RFC 6298 §5.1, §5.5): the
    /// estimator's RTO, plus `Config::rto_slop` once it is no longer the
    /// initial value (a sample was taken or the timer backed off), at most
    /// `rto_max`.
    fn rexmt_timeout(&self) -> Duration {
        let rto = self.rtt.rto();
        if self.config.rto_slop.is_zero()
            || !(self.rtt.has_sample() || self.rtt.backoff_count() > 0)
        {
            return rto;
        }
        rto.saturating_add(self.config.rto_slop)
            .min(self.config.rto_max.max(rto))
    }

    fn ts_now(&self) -> u32 {
        // RFC 7323 §5.4: a 1 ms timestamp clock.
        (self
            .now
            .saturating_duration_since(self.ts_origin)
            .as_millis() as u64 as u32)
            .wrapping_add(1)
    }

    // ------------------------------------------------------------ predicates (guards)

    /// SND.UNA < SEG.ACK =< SND.NXT (RFC 9293 §3.10.7.3 / §3.10.7.4).
    pub fn ack_acceptable(&self, seg: &Segment<'_>) -> bool {
        seg.header.flags.contains(Flags::ACK)
            && self.snd_una.lt(seg.header.ack)
            && seg.header.ack.le(self.snd_nxt)
    }

    /// SEG.SEQ = RCV.NXT (RFC 5961 §3.2 exact match).
    pub fn seq_exact(&self, seg: &Segment<'_>) -> bool {
        seg.header.seq == self.rcv_nxt
    }

    /// RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND (RFC 5961 §3.2).
    pub fn in_window(&self, seg: &Segment<'_>) -> bool {
        let wnd = self.acceptance_wnd().max(1);
        seg.header.seq.in_range(self.rcv_nxt, self.rcv_nxt + wnd)
    }

    /// A bare ACK that tells nothing new (guard `dup_ack`): no text, SYN or
    /// FIN, SEG.SEQ = RCV.NXT and SEG.ACK = SND.NXT (RFC 9293 §3.10.7.4,
    /// TIME-WAIT: only such a segment goes unacknowledged).
    pub fn dup_ack(&self, seg: &Segment<'_>) -> bool {
        let f = seg.header.flags;
        f.contains(Flags::ACK)
            && !f.contains(Flags::SYN)
            && !f.contains(Flags::FIN)
            && seg.payload.is_empty()
            && seg.header.seq == self.rcv_nxt
            && seg.header.ack == self.snd_nxt
    }

    /// The limit for the retransmission timer in the current state.
    fn retransmission_limit(&self) -> u32 {
        if self.snd_una == self.iss && self.syn_queued {
            if self.irs_known {
                self.config.synack_retries
            } else {
                self.config.syn_retries
            }
        } else {
            self.config.data_retries
        }
    }

    /// The retry limit of `timer` is reached (guard `retries_exhausted`).
    pub fn retries_exhausted(&self, timer: TimerKind) -> bool {
        match timer {
            TimerKind::Retransmission => self.rto_retries >= self.retransmission_limit(),
            TimerKind::Keepalive => self
                .config
                .keepalive
                .is_some_and(|k| self.keepalive_probes >= k.probes),
            _ => false,
        }
    }

    /// RFC 9293 §3.10.7.4 first check (the four-case acceptability test), plus
    /// RFC 7323 §5.3 PAWS. RST segments are judged by the RST rules instead.
    pub fn segment_acceptable(&self, seg: &Segment<'_>) -> bool {
        if self.ts_enabled && !seg.header.flags.contains(Flags::RST) {
            if let Some(ts) = seg.header.options.timestamps {
                // RFC 7323 §5.3 R1: SEG.TSval < TS.Recent is an old duplicate.
                if (ts.tsval.wrapping_sub(self.ts_recent) as i32) < 0 {
                    return false;
                }
            }
        }
        let len = seg.seg_len();
        let wnd = self.acceptance_wnd();
        let seq = seg.header.seq;
        let in_wnd = |s: SeqNum| s.in_range(self.rcv_nxt, self.rcv_nxt + wnd);
        // RFC 9293 §3.10.7.4 fourth check (RFC 793 text): "If the SYN is not
        // in the window this step would not be reached and an ACK would have
        // been sent in the first step": a SYN is judged by its own position,
        // SEG.SEQ, not by the text or FIN that follows it.
        let syn = seg.header.flags.contains(Flags::SYN);
        match (len, wnd) {
            (0, 0) => seq == self.rcv_nxt,
            (0, _) => in_wnd(seq),
            (_, 0) => false,
            (_, _) => in_wnd(seq) || (!syn && in_wnd(seq + (len - 1))),
        }
    }

    /// RFC 9293 §3.10.7.4 fifth check and RFC 5961 §5.2.
    pub fn classify_ack(&self, seg: &Segment<'_>) -> AckClass {
        let ack = seg.header.ack;
        if ack.gt(self.snd_nxt) {
            return AckClass::TooNew;
        }
        if ack.lt(self.snd_una - self.max_snd_wnd.max(1)) {
            return AckClass::TooOld;
        }
        if let Some(fin) = self.fin_seq() {
            if self.fin_sent() && fin.lt(ack) && !fin.lt(self.snd_una) {
                return AckClass::OfFin;
            }
        }
        AckClass::Ok
    }

    /// What the seventh check of RFC 9293 §3.10.7.4 takes to the receive
    /// queue: segment text, or a FIN beyond RCV.NXT that arrived out of
    /// order ("segments with higher beginning sequence numbers SHOULD be
    /// held for later processing", first check), which reassembly holds
    /// until the text before it is in.
    pub fn has_text(&self, seg: &Segment<'_>) -> bool {
        if !seg.payload.is_empty() {
            return true;
        }
        let h = &seg.header;
        h.flags.contains(Flags::FIN)
            && !self.fin_received
            && self.irs_known
            && self.rcv_nxt.lt(h.seq + seg.seg_len().saturating_sub(1))
    }

    /// The peer's FIN is next in sequence (RFC 9293 §3.10.7.4 eighth check):
    /// this segment's FIN right after its text, or a FIN that reassembly reached.
    pub fn fin_in_sequence(&self, seg: &Segment<'_>) -> bool {
        if self.fin_received || !self.irs_known {
            return false;
        }
        if self.rcvbuf.fin_reached() {
            return true;
        }
        seg.header.flags.contains(Flags::FIN)
            && seg.header.seq + seg.seg_len().saturating_sub(1) == self.rcv_nxt
    }

    // ------------------------------------------------------------ local actions

    /// CreateTcb: fresh variables for a new connection (RFC 9293 §3.10.1).
    /// A TCB reused after CLOSED is rebuilt from scratch (keeping its buffers,
    /// emptied, and its trace and event queues) with a later ISS, so nothing
    /// of the old connection (FIN state, IRS, options) leaks into the new one.
    pub fn create_tcb(&mut self) {
        if self.used {
            // RFC 6528 / RFC 9293 §3.4.1: the ISS advances with a 4 µs clock.
            let ticks = self
                .now
                .saturating_duration_since(self.ts_origin)
                .as_micros()
                / 4;
            let iss = self.iss + (ticks as u32).wrapping_add(64_000);
            let mut sndbuf = std::mem::replace(&mut self.sndbuf, SendBuffer::new(0));
            sndbuf.consume(sndbuf.len());
            let rcvbuf = if self.rcvbuf.readable() == 0
                && !self.rcvbuf.has_out_of_order()
                && self.rcvbuf.fin_offset().is_none()
            {
                std::mem::replace(&mut self.rcvbuf, RecvBuffer::new(0))
            } else {
                RecvBuffer::new(self.config.recv_buffer)
            };
            let mut fresh = Tcb::with_buffers(
                self.config.clone(),
                self.local,
                self.remote,
                iss,
                self.engine,
                self.now,
                sndbuf,
                rcvbuf,
            );
            fresh.state = self.state;
            fresh.ts_origin = self.ts_origin;
            fresh.challenge_window = self.challenge_window;
            fresh.challenge_count = self.challenge_count;
            std::mem::swap(&mut fresh.traces, &mut self.traces);
            std::mem::swap(&mut fresh.events, &mut self.events);
            *self = fresh;
        }
        self.used = true;
        self.rcv_wscale = if self.config.window_scaling {
            self.config.rcv_wscale()
        } else {
            0
        };
        self.rcv_wnd = self.current_rcv_wnd();
        self.deleted = false;
        self.error = None;
    }

    /// SendSyn: put our SYN at ISS (RFC 9293 §3.10.1).
    pub fn send_syn(&mut self) {
        self.syn_queued = true;
        self.snd_una = self.iss;
        self.snd_ptr = self.iss;
        self.snd_nxt = self.iss;
    }

    /// SendSynAck: (re)send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> (RFC 9293 §3.10.7.2/§3.10.7.3).
    pub fn send_syn_ack(&mut self) {
        self.syn_queued = true;
        self.snd_una = self.iss;
        self.snd_ptr = self.iss;
    }

    /// SendAck: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> now.
    pub fn send_ack(&mut self) {
        self.ack_now = true;
    }

    /// SendChallengeAck: RFC 5961 §3.2/§4.2/§5.2, rate-limited per §7.
    pub fn send_challenge_ack(&mut self) {
        let limit = self.config.challenge_ack_limit;
        if limit > 0 {
            if self.now.saturating_duration_since(self.challenge_window) >= Duration::from_secs(1) {
                self.challenge_window = self.now;
                self.challenge_count = 0;
            }
            if self.challenge_count >= limit {
                return;
            }
            self.challenge_count += 1;
        }
        self.ack_now = true;
    }

    /// SendFin: the FIN follows the queued data (RFC 9293 §3.10.4).
    pub fn send_fin(&mut self) {
        if !self.fin_queued {
            self.fin_queued = true;
            self.fin_seq = Some(self.data_end());
        }
    }

    /// SendRst: <SEQ=SND.NXT><CTL=RST> (RFC 9293 §3.10.5 ABORT).
    pub fn send_rst(&mut self) {
        self.queue_rst(RstOut {
            seq: self.snd_nxt,
            ack: None,
        });
    }

    /// SendRstAck: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>, the reset a
    /// synchronized connection sends when it aborts on an error (RFC 9293
    /// §3.10.7.4 fourth check without RFC 5961); RFC 9293 §3.1: once a
    /// connection is established the acknowledgment is always sent.
    pub fn send_rst_ack(&mut self) {
        self.queue_rst(RstOut {
            seq: self.snd_nxt,
            ack: Some(self.rcv_nxt),
        });
    }

    fn queue_rst(&mut self, rst: RstOut) {
        if let Some(slot) = self.rst_out.iter_mut().find(|s| s.is_none()) {
            *slot = Some(rst);
        }
    }

    /// Retransmit: the retransmission timer expired (RFC 6298 §5.4–5.6,
    /// RFC 5681 §3.1 eq. (4), Karn's rule RFC 6298 §3).
    pub fn retransmit(&mut self) {
        self.rto_retries += 1;
        self.rtt.backoff();
        self.sampler.on_retransmit();
        if self.snd_una != self.iss || !self.syn_queued {
            // Data or FIN: cc calling protocol item 8 (RFC 5681 §3.1, RFC 6582 §4).
            self.ccv.bytes_in_flight = self.flight_size();
            self.cc.set_state(&mut self.ccv, CaState::Loss);
            self.recovery = Some(self.snd_nxt);
            self.dupacks = 0;
            self.scoreboard.clear();
            self.rtx_request = None;
        }
        // Go back to SND.UNA: everything outstanding is sent again as cwnd allows.
        self.snd_ptr = self.snd_una;
        self.high_rxt = self.snd_una;
        let rto = self.rexmt_timeout();
        self.timers.set(TimerKind::Retransmission, self.now + rto);
    }

    /// SendProbe: a zero-window probe (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17),
    /// re-armed with exponential backoff.
    pub fn send_probe(&mut self) {
        if self.snd_ptr.lt(self.data_end()) && self.snd_wnd == 0 {
            self.probe_out = true;
            self.persist_backoff = (self.persist_backoff + 1).min(10);
            let base = self.rtt.rto();
            let backoff = base
                .saturating_mul(1 << self.persist_backoff.min(6))
                .min(self.config.rto_max);
            self.timers.set(TimerKind::Persist, self.now + backoff);
        }
    }

    /// SendKeepalive: <SEQ=SND.NXT-1><ACK=RCV.NXT> (RFC 1122 §4.2.3.6).
    pub fn send_keepalive(&mut self) {
        self.keepalive_out = true;
        self.keepalive_probes += 1;
        if let Some(k) = self.config.keepalive {
            self.timers.set(TimerKind::Keepalive, self.now + k.interval);
        }
    }

    /// QueueSend: copy user data into the send buffer (RFC 9293 §3.10.2).
    pub fn queue_send(&mut self, data: &[u8]) -> usize {
        if self.fin_queued {
            return 0;
        }
        self.sndbuf.write(data)
    }

    /// StartTimer(t).
    pub fn start_timer(&mut self, timer: TimerKind) {
        let after = match timer {
            // RFC 9293 §3.10.8: TIME-WAIT lasts 2×MSL.
            TimerKind::TimeWait => self.config.msl.saturating_mul(2),
            TimerKind::Retransmission => self.rexmt_timeout(),
            TimerKind::Persist => self.rtt.rto(),
            TimerKind::Keepalive => match self.config.keepalive {
                Some(k) => k.idle,
                None => return,
            },
            TimerKind::DelayedAck => self.config.delayed_ack.unwrap_or(Duration::ZERO),
            // RFC 9293 §3.10.8 USER TIMEOUT; while the handshake is in
            // progress `connect_timeout` bounds it too (RFC 1122 §4.2.3.5).
            TimerKind::User => {
                let establishing = self.snd_una == self.iss && self.syn_queued;
                let connect = self.config.connect_timeout.filter(|_| establishing);
                let limit = match (self.config.user_timeout, connect) {
                    (Some(u), Some(c)) => Some(u.min(c)),
                    (u, c) => u.or(c),
                };
                match limit {
                    Some(l) => l,
                    None => {
                        // A connect limit armed during the handshake ends with it.
                        self.timers.stop(TimerKind::User);
                        return;
                    }
                }
            }
        };
        self.timers.set(timer, self.now + after);
    }

    /// StopTimer(t).
    pub fn stop_timer(&mut self, timer: TimerKind) {
        self.timers.stop(timer);
    }

    /// SignalEstablished: tell the user the connection is open.
    pub fn signal_established(&mut self) {
        self.events.push_back(ConnEvent::Connected);
        self.rto_retries = 0;
        if let Some(k) = self.config.keepalive {
            self.timers.set(TimerKind::Keepalive, self.now + k.idle);
        }
    }

    /// Queues an event for the application; repeated Readable/Writable
    /// notifications collapse into one.
    fn notify(&mut self, e: ConnEvent) {
        if matches!(e, ConnEvent::Readable | ConnEvent::Writable) && self.events.back() == Some(&e)
        {
            return;
        }
        self.events.push_back(e);
    }

    /// Fail(e) from a segment or a timer: the connection reports the error.
    pub fn report_error(&mut self, e: ConnectionError) {
        self.error = Some(e);
        self.events.push_back(ConnEvent::Error(e));
    }

    /// DeleteTcb: flush queues, stop timers (RFC 9293 §3.10.5/§3.10.7.4).
    pub fn delete_tcb(&mut self) {
        self.timers.stop_all();
        self.deleted = true;
        self.ack_now = false;
        self.probe_out = false;
        self.keepalive_out = false;
        self.rtx_request = None;
    }

    // ------------------------------------------------------------ packet actions

    /// Applies the options of a SYN (RFC 7323 §2.2/§3.2, RFC 2018 §2, RFC 9293 §3.7.1).
    fn negotiate(&mut self, opts: &TcpOptions) {
        self.peer_ws = opts.window_scale;
        self.peer_sack = opts.sack_permitted;
        self.peer_ts = opts.timestamps.is_some();
        // RFC 7323 §1.3, RFC 2018 §2: an option is used only if both SYNs carried it.
        let offered = !self.syn_opts_dropped;
        self.ws_enabled = self.config.window_scaling && offered && self.peer_ws.is_some();
        if self.ws_enabled {
            self.snd_wscale = self.peer_ws.unwrap_or(0).min(14);
        } else {
            self.snd_wscale = 0;
            self.rcv_wscale = 0;
        }
        self.sack_enabled = self.config.sack && offered && self.peer_sack;
        self.ts_enabled = self.config.timestamps && offered && self.peer_ts;
        if let Some(ts) = opts.timestamps {
            self.ts_recent = ts.tsval;
        }
        // RFC 9293 §3.7.1: without the option the peer's MSS is 536 (RFC 6691 for IPv6: 1220).
        let default_mss = if self.remote.is_ipv4() { 536 } else { 1220 };
        let peer_mss = opts.mss.map_or(default_mss, u32::from).max(64);
        self.smss = peer_mss.min(u32::from(self.config.mss));
        self.ccv.mss = self.smss;
    }

    /// RecordSyn: RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, options (RFC 9293 §3.10.7.2/§3.10.7.3).
    pub fn record_syn(&mut self, seg: &Segment<'_>) {
        self.irs = seg.header.seq;
        self.rcv_nxt = seg.header.seq + 1;
        self.irs_known = true;
        self.negotiate(&seg.header.options);
        if self.state == TcpState::Listen {
            self.passive_open = true;
        }
        // RFC 9293 §3.10.7.2: SND.WND from the SYN, unscaled (RFC 7323 §2.2).
        self.snd_wnd = u32::from(seg.header.window);
        self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
        self.snd_wl1 = seg.header.seq;
        self.snd_wl2 = seg.header.ack;
    }

    /// AcceptAck: RFC 9293 §3.10.7.4 fifth check for an acceptable or
    /// duplicate ACK, with RFC 6298 timers, RFC 7323 RTTM, RFC 5681/6582
    /// congestion control and RFC 6675 SACK loss recovery.
    pub fn accept_ack(&mut self, seg: &Segment<'_>) {
        let h = &seg.header;
        let ack = h.ack;
        // RFC 7323 §4.3: TS.Recent update.
        if self.ts_enabled {
            if let Some(ts) = h.options.timestamps {
                if h.seq.le(self.last_ack_sent)
                    && (ts.tsval.wrapping_sub(self.ts_recent) as i32) >= 0
                {
                    self.ts_recent = ts.tsval;
                }
            }
        }
        if self.sack_enabled && !h.options.sack_blocks.is_empty() {
            self.scoreboard.on_ack(
                self.snd_una.max(ack),
                self.snd_nxt,
                h.options.sack_blocks.as_slice(),
            );
        }
        // RFC 1122 §4.2.3.6: any acceptable segment shows the peer is alive.
        if let Some(k) = self.config.keepalive {
            self.keepalive_probes = 0;
            if self.timers.is_armed(TimerKind::Keepalive) {
                self.timers.set(TimerKind::Keepalive, self.now + k.idle);
            }
        }
        let was_synchronizing = self.snd_una == self.iss && self.syn_queued;
        if self.snd_una.lt(ack) && ack.le(self.snd_nxt) {
            self.on_new_ack(seg, was_synchronizing);
        } else if ack == self.snd_una {
            self.on_duplicate_ack(seg);
        }
        // RFC 9293 §3.10.7.4: update the send window if the segment is newer.
        if self.snd_una.le(ack)
            && (self.snd_wl1.lt(h.seq)
                || (self.snd_wl1 == h.seq && self.snd_wl2.le(ack))
                || was_synchronizing)
        {
            let shift = if was_synchronizing && h.flags.contains(Flags::SYN) {
                0
            } else {
                self.snd_wscale
            };
            let wnd = u32::from(h.window) << shift;
            let opened = self.snd_wnd == 0 && wnd > 0;
            self.snd_wnd = wnd;
            self.snd_wl1 = h.seq;
            self.snd_wl2 = ack;
            self.max_snd_wnd = self.max_snd_wnd.max(wnd);
            if opened {
                self.timers.stop(TimerKind::Persist);
                self.persist_backoff = 0;
            }
        }
        if self.snd_ptr.lt(self.snd_una) {
            self.snd_ptr = self.snd_una;
        }
    }

    fn on_new_ack(&mut self, seg: &Segment<'_>, was_synchronizing: bool) {
        let ack = seg.header.ack;
        let acked = ack.since(self.snd_una);
        // Data bytes acknowledged: excludes our SYN and FIN.
        let data_base = self.data_base();
        let data_end = self.data_end();
        let data_acked = if ack.le(data_base) {
            0
        } else {
            ack.min(data_end).since(data_base)
        };
        let flight_before = self.flight_size();
        self.sndbuf.consume(data_acked as usize);
        self.data_base += data_acked;
        self.snd_una = ack;
        if was_synchronizing {
            // The SYN is acknowledged: cc calling protocol item 1 (RFC 5681 §3.1).
            self.ccv.mss = self.smss;
            self.cc.init(&mut self.ccv);
        }
        // RFC 7323 §4.1 RTTM or a timed segment (Karn-safe sampler, RFC 6298 §3).
        let mut rtt = None;
        if self.ts_enabled {
            if let Some(Timestamps { tsecr, .. }) = seg.header.options.timestamps {
                if tsecr != 0 {
                    let ms = self.ts_now().wrapping_sub(tsecr);
                    if ms < 600_000 {
                        rtt = Some(Duration::from_millis(u64::from(ms)));
                    }
                }
            }
        }
        if let Some(sample) = self.sampler.on_ack(ack, self.now) {
            rtt = rtt.or(Some(sample));
        }
        if let Some(r) = rtt {
            self.rtt.sample(r);
        }
        self.rtt.reset_backoff();
        self.rto_retries = 0;
        // RFC 6298 §5.2/§5.3.
        if self.snd_una == self.snd_nxt {
            self.timers.stop(TimerKind::Retransmission);
            self.timers.stop(TimerKind::User);
        } else {
            self.timers
                .set(TimerKind::Retransmission, self.now + self.rexmt_timeout());
            // RFC 9293 §3.10.8: the user timeout measures time without progress.
            self.start_timer(TimerKind::User);
        }
        let sample = AckSample {
            now: self.now,
            acked_bytes: acked,
            rtt,
            in_flight_before: flight_before,
            is_app_limited: false,
        };
        self.ccv.bytes_in_flight = self.flight_size();
        match (self.cc.state(), self.recovery) {
            (CaState::Recovery, Some(recover)) if ack.ge(recover) => {
                // Item 7, RFC 6582 §3.2 step 6: full acknowledgment.
                self.recovery = None;
                self.cc.set_state(&mut self.ccv, CaState::Open);
                self.cc.pkts_acked(&mut self.ccv, &sample);
                self.rtx_request = None;
            }
            (CaState::Recovery, _) => {
                // Item 6, RFC 6582 §3.2 step 5: partial acknowledgment;
                // retransmit the first unacknowledged segment.
                self.cc.pkts_acked(&mut self.ccv, &sample);
                if !self.sack_enabled || !self.scoreboard.is_sacked(self.snd_una) {
                    self.rtx_request = Some(self.snd_una);
                }
            }
            (CaState::Loss, recover) => {
                // Item 9.
                if recover.is_none_or(|r| ack.ge(r)) {
                    self.recovery = None;
                    self.cc.set_state(&mut self.ccv, CaState::Open);
                }
                self.cc.pkts_acked(&mut self.ccv, &sample);
                self.cc.cong_avoid(&mut self.ccv, &sample);
            }
            (state, _) => {
                // Item 2.
                if state == CaState::Disorder {
                    self.cc.set_state(&mut self.ccv, CaState::Open);
                }
                self.cc.pkts_acked(&mut self.ccv, &sample);
                self.cc.cong_avoid(&mut self.ccv, &sample);
            }
        }
        self.dupacks = 0;
        if data_acked > 0 {
            self.notify(ConnEvent::Writable);
        }
    }

    fn on_duplicate_ack(&mut self, seg: &Segment<'_>) {
        // RFC 5681 §2 definition of a duplicate ACK.
        let h = &seg.header;
        let wnd = u32::from(h.window) << self.snd_wscale;
        let is_dup = self.snd_una != self.snd_nxt
            && seg.payload.is_empty()
            && !h.flags.contains(Flags::SYN)
            && !h.flags.contains(Flags::FIN)
            && (wnd == self.snd_wnd || !h.options.sack_blocks.is_empty());
        if !is_dup {
            return;
        }
        self.dupacks += 1;
        let sack_loss = self.sack_enabled && self.scoreboard.is_lost(self.snd_una, self.smss, 3);
        match self.cc.state() {
            CaState::Open | CaState::Disorder if self.dupacks >= 3 || sack_loss => {
                // Item 4, RFC 6582 §3.2 steps 2–4 / RFC 6675 §5 (4): fast retransmit.
                self.ccv.bytes_in_flight = self.flight_size();
                self.cc.set_state(&mut self.ccv, CaState::Recovery);
                self.recovery = Some(self.snd_nxt);
                self.rtx_request = Some(self.snd_una);
                self.high_rxt = self.snd_una;
                self.sampler.on_retransmit();
            }
            CaState::Open => self.cc.set_state(&mut self.ccv, CaState::Disorder),
            CaState::Recovery => {
                // Item 5: inflate by one segment per duplicate (RFC 5681 §3.2 step 4).
                let sample = AckSample {
                    now: self.now,
                    acked_bytes: 0,
                    rtt: None,
                    in_flight_before: self.flight_size(),
                    is_app_limited: false,
                };
                self.ccv.bytes_in_flight = self.flight_size();
                self.cc.pkts_acked(&mut self.ccv, &sample);
            }
            _ => {}
        }
    }

    /// QueueText: RFC 9293 §3.10.7.4 seventh check.
    pub fn queue_text(&mut self, seg: &Segment<'_>) {
        let h = &seg.header;
        let mut seq = h.seq;
        if h.flags.contains(Flags::SYN) {
            seq += 1;
        }
        let mut payload = seg.payload;
        // RFC 9293 §3.10.7.4: of a segment that straddles RCV.NXT only the
        // new part is processed. Its old part shows the peer retransmitting
        // what we already have (our ACK may have been lost): acknowledge at
        // once, as for any duplicate (RFC 2883 §4, RFC 5681 §4.2).
        let partly_old = seq.lt(self.rcv_nxt);
        if partly_old {
            let skip = self.rcv_nxt.since(seq) as usize;
            if skip >= payload.len() {
                self.ack_now = true;
                return;
            }
            payload = &payload[skip..];
            seq = self.rcv_nxt;
        }
        let offset = seq.since(self.rcv_nxt) as usize;
        if payload.is_empty() {
            // A bare FIN ahead of RCV.NXT (see `has_text`): hold it and send
            // the duplicate ACK an out-of-order segment gets (RFC 5681 §4.2).
            if h.flags.contains(Flags::FIN) && offset > 0 {
                let _ = self.rcvbuf.set_fin(offset);
                self.ack_now = true;
            }
            return;
        }
        if h.flags.contains(Flags::FIN) {
            // Recorded before the text moves RCV.NXT; a FIN beyond the window
            // is refused and dropped with the text (RFC 9293 §3.10.7.4).
            let _ = self.rcvbuf.set_fin(offset + payload.len());
        }
        // RFC 5681 §4.2: a segment that fills all or part of a gap is ACKed at once.
        let filled_gap = self.rcvbuf.has_out_of_order();
        let out = self.rcvbuf.insert(offset, payload);
        self.rcv_nxt += out.advanced as u32;
        if out.advanced > 0 {
            self.notify(ConnEvent::Readable);
        }
        // RFC 5681 §4.2: ACK out-of-order and gap-filling segments at once;
        // otherwise at least every second full-sized segment (RFC 1122 §4.2.3.2).
        if out.out_of_order
            || filled_gap
            || partly_old
            || self.rcvbuf.has_out_of_order()
            || offset > 0
        {
            self.ack_now = true;
        } else {
            self.unacked_segments += 1;
            match self.config.delayed_ack {
                Some(_) if self.unacked_segments < 2 => {
                    if !self.timers.is_armed(TimerKind::DelayedAck) {
                        self.start_timer(TimerKind::DelayedAck);
                    }
                }
                _ => self.ack_now = true,
            }
        }
    }

    /// ProcessFin: RFC 9293 §3.10.7.4 eighth check: advance RCV.NXT over the FIN.
    pub fn process_fin(&mut self, _seg: &Segment<'_>) {
        if self.fin_received {
            return;
        }
        self.fin_received = true;
        self.rcv_nxt += 1;
        self.events.push_back(ConnEvent::PeerFin);
    }

    /// SendRstReply: RFC 9293 §3.10.7.1 reset generation:
    /// with ACK: <SEQ=SEG.ACK><CTL=RST>; without: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    pub fn send_rst_reply(&mut self, seg: &Segment<'_>) {
        if seg.header.flags.contains(Flags::RST) {
            return;
        }
        let rst = rst_reply_for(seg);
        self.queue_rst(rst);
    }

    // ------------------------------------------------------------ app side

    /// Copies readable bytes out; frees receive window.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let before = self.current_rcv_wnd();
        let n = self.rcvbuf.read(out);
        // RFC 9293 §3.8.6.2.2: announce a window update once it opened by at
        // least min(half the buffer, one MSS) from a small window.
        let after = self.current_rcv_wnd();
        let threshold = (self.rcvbuf.capacity() as u32 / 2).min(self.smss.max(1));
        // The same section lets the right edge move once it can move by that
        // much; a read that moves it two full segments (or half the buffer)
        // beyond the edge last advertised is announced too, so that a sender
        // held back by the old edge learns of the room without waiting for
        // its persist timer or its next segment.
        let edge = self.rcv_nxt + after;
        let advance = if self.rcv_adv.lt(edge) {
            edge.since(self.rcv_adv)
        } else {
            0
        };
        let worth_announcing = advance >= self.smss.max(1).saturating_mul(2)
            || advance >= self.rcvbuf.capacity() as u32 / 2;
        if n > 0
            && self.state.is_synchronized()
            && ((before < threshold && after >= threshold) || worth_announcing)
        {
            self.ack_now = true;
        }
        n
    }

    // ------------------------------------------------------------ output

    /// Whether `poll_transmit` has something to send right now.
    pub fn wants_to_send(&self) -> bool {
        self.rst_out[0].is_some()
            || self.ack_now
            || self.probe_out
            || self.keepalive_out
            || self.rtx_request.is_some()
            || (self.syn_queued && self.snd_ptr == self.iss && !self.deleted)
            || (self.can_send_data() && !self.deleted)
    }

    fn can_send_data(&self) -> bool {
        // RFC 9293 §3.10.2: data waits for ESTABLISHED.
        if !self.state.is_synchronized() || self.state == TcpState::SynReceived {
            return false;
        }
        let end = self.data_end();
        let fin_pending = self.fin_queued && self.snd_ptr.le(end);
        self.snd_ptr.lt(end) && self.usable_window() > 0 || fin_pending && self.snd_ptr == end
    }

    fn usable_window(&self) -> u32 {
        let wnd = self.snd_wnd.min(self.ccv.cwnd.max(self.smss));
        let limit = self.snd_una + wnd;
        if self.snd_ptr.lt(limit) {
            limit.since(self.snd_ptr)
        } else {
            0
        }
    }

    /// Writes the next segment (TCP header + payload, checksummed) into
    /// `buf`; returns its length. Call until it returns `None`.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.now = now;
        if let Some(rst) = self.take_rst() {
            let flags = if rst.ack.is_some() {
                Flags::RST | Flags::ACK
            } else {
                Flags::RST
            };
            return self.emit(
                buf,
                flags,
                rst.seq,
                rst.ack.unwrap_or(SeqNum(0)),
                (&[], &[]),
                TcpOptions::default(),
                0,
            );
        }
        if self.deleted {
            return None;
        }
        // SYN or SYN,ACK (also their retransmissions).
        if self.syn_queued && self.snd_ptr == self.iss {
            return self.emit_syn(buf);
        }
        if !self.state.is_synchronized() {
            return None;
        }
        if let Some(seq) = self.rtx_request.take() {
            if let Some(n) = self.emit_data_at(buf, seq, true) {
                return Some(n);
            }
        }
        if self.recovery.is_some() && self.sack_enabled {
            // RFC 6675 §5 (C): while pipe < cwnd, retransmit what NextSeg finds.
            let pipe = self
                .scoreboard
                .pipe(self.snd_una, self.snd_nxt, self.high_rxt, self.smss);
            if pipe < self.ccv.cwnd {
                if let Some(seq) =
                    self.scoreboard
                        .next_seg(self.snd_una, self.snd_nxt, self.high_rxt, self.smss)
                {
                    if let Some(n) = self.emit_data_at(buf, seq, true) {
                        return Some(n);
                    }
                }
            }
        }
        if self.probe_out {
            // RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17 zero-window probe, sent as
            // an old sequence number (SND.UNA-1, as Linux does): the receiver
            // must answer with an ACK carrying its current window, and the
            // probe consumes no sequence space, so it never arms the
            // retransmission timer.
            self.probe_out = false;
            let seq = self.snd_una - 1;
            return self.emit(
                buf,
                Flags::ACK,
                seq,
                self.rcv_nxt,
                (&[], &[]),
                self.data_options(),
                self.window_field(),
            );
        }
        if let Some(n) = self.emit_new_data(buf) {
            return Some(n);
        }
        if self.keepalive_out {
            self.keepalive_out = false;
            let seq = self.snd_nxt - 1;
            return self.emit(
                buf,
                Flags::ACK,
                seq,
                self.rcv_nxt,
                (&[], &[]),
                self.data_options(),
                self.window_field(),
            );
        }
        if self.ack_now {
            return self.emit(
                buf,
                Flags::ACK,
                self.snd_nxt,
                self.rcv_nxt,
                (&[], &[]),
                self.data_options(),
                self.window_field(),
            );
        }
        None
    }

    fn take_rst(&mut self) -> Option<RstOut> {
        let first = self.rst_out[0].take()?;
        self.rst_out.rotate_left(1);
        Some(first)
    }

    fn window_field(&self) -> u16 {
        let wnd = self.current_rcv_wnd() >> self.rcv_wscale;
        wnd.min(65_535) as u16
    }

    /// Data bytes per segment: SMSS less the options every data segment of
    /// this connection carries (RFC 9293 §3.7.1, Eff.snd.MSS subtracts the
    /// TCP options; RFC 6691 §2). SACK blocks count at their largest size
    /// while the receive buffer holds out-of-order data, so a segment never
    /// grows past the MTU when a block is added between two sends.
    fn eff_mss(&self) -> u32 {
        let mut options = 0;
        if self.ts_enabled {
            options += 12; // NOP NOP TS (RFC 7323 §3)
        }
        if self.sack_enabled && self.rcvbuf.has_out_of_order() {
            // RFC 2018 §3: 3 blocks beside timestamps, else 4 (NOP NOP + 2 + 8n).
            options += if self.ts_enabled {
                4 + 3 * 8
            } else {
                4 + 4 * 8
            };
        }
        self.smss.saturating_sub(options).max(1)
    }

    fn data_options(&self) -> TcpOptions {
        let mut o = TcpOptions::default();
        if self.ts_enabled {
            o.timestamps = Some(Timestamps {
                tsval: self.ts_now(),
                tsecr: self.ts_recent,
            });
        }
        if self.sack_enabled && self.rcvbuf.has_out_of_order() {
            let max = if self.ts_enabled { 3 } else { 4 };
            let mut blocks = [(SeqNum(0), SeqNum(0)); 4];
            let n = self.rcvbuf.sack_blocks(self.rcv_nxt, &mut blocks[..max]);
            o.sack_blocks = SackBlocks::from_slice(&blocks[..n]).unwrap_or_default();
        }
        o
    }

    fn emit_syn(&mut self, buf: &mut [u8]) -> Option<usize> {
        let mut o = TcpOptions {
            mss: Some(self.config.mss),
            ..TcpOptions::default()
        };
        let answering = self.irs_known;
        if !answering
            && self
                .config
                .syn_drop_options_after
                .is_some_and(|n| self.rto_retries >= n)
        {
            self.syn_opts_dropped = true;
        }
        let offer = !self.syn_opts_dropped;
        // RFC 7323 §1.3/§2.2, RFC 2018 §2: in a SYN,ACK only options the peer offered.
        if offer && self.config.window_scaling && (!answering || self.peer_ws.is_some()) {
            o.window_scale = Some(self.config.rcv_wscale());
        }
        if offer && self.config.sack && (!answering || self.peer_sack) {
            o.sack_permitted = true;
        }
        if offer && self.config.timestamps && (!answering || self.peer_ts) {
            o.timestamps = Some(Timestamps {
                tsval: self.ts_now(),
                tsecr: if answering { self.ts_recent } else { 0 },
            });
        }
        let (flags, ack) = if answering {
            (Flags::SYN | Flags::ACK, self.rcv_nxt)
        } else {
            (Flags::SYN, SeqNum(0))
        };
        // RFC 7323 §2.2: the window in a SYN is never scaled.
        let wnd = self.current_rcv_wnd().min(65_535) as u16;
        let retransmission = self.snd_nxt.gt(self.iss);
        let n = self.emit(buf, flags, self.iss, ack, (&[], &[]), o, wnd)?;
        if !retransmission {
            self.sampler.start(self.iss, self.now);
        }
        self.advance_ptr(self.iss + 1);
        Some(n)
    }

    /// Moves the send pointer (and SND.NXT) after sending up to `to`; arms the
    /// retransmission timer (RFC 6298 §5.1).
    fn advance_ptr(&mut self, to: SeqNum) {
        self.snd_ptr = to;
        if self.snd_nxt.lt(to) {
            self.snd_nxt = to;
        }
        if !self.timers.is_armed(TimerKind::Retransmission) {
            self.timers
                .set(TimerKind::Retransmission, self.now + self.rexmt_timeout());
        }
        // RFC 9293 §3.10.8 USER TIMEOUT (RFC 5482 §3, RFC 1122 §4.2.3.5 R2 as
        // a time): sent data may stay unacknowledged this long at most.
        if !self.timers.is_armed(TimerKind::User) {
            self.start_timer(TimerKind::User);
        }
    }

    fn emit_new_data(&mut self, buf: &mut [u8]) -> Option<usize> {
        let end = self.data_end();
        let ptr = self.snd_ptr;
        if ptr.lt(end) {
            let usable = self.usable_window();
            if usable == 0 {
                // RFC 9293 §3.8.6.1: a closed window with data queued arms the persist timer.
                if self.snd_wnd == 0
                    && !self.timers.is_armed(TimerKind::Retransmission)
                    && !self.timers.is_armed(TimerKind::Persist)
                {
                    self.start_timer(TimerKind::Persist);
                }
                return None;
            }
            let avail = end.since(ptr);
            let eff_mss = self.eff_mss();
            let len = avail.min(eff_mss).min(usable);
            // RFC 9293 §3.7.4 Nagle / §3.8.6.2.1 sender SWS avoidance: hold a
            // small segment while data is outstanding, unless it is the last
            // piece before our FIN.
            // Retransmissions (after an RTO, `ptr` went back) are never held.
            let small = len < eff_mss && !ptr.lt(self.snd_nxt);
            let outstanding = self.snd_una != self.snd_nxt;
            if small && outstanding && self.config.nagle && !self.fin_queued && len == avail {
                return None;
            }
            if small && len < avail && len < self.max_snd_wnd / 2 && outstanding {
                return None;
            }
            let with_fin = self.fin_queued && ptr + len == end;
            let fresh = ptr == self.snd_nxt;
            let n = self.emit_segment_at(buf, ptr, len, with_fin)?;
            if fresh {
                self.sampler.start(ptr, self.now);
            }
            self.advance_ptr(ptr + len + u32::from(with_fin));
            return Some(n);
        }
        if self.fin_queued && ptr == end {
            let n = self.emit(
                buf,
                Flags::FIN | Flags::ACK,
                end,
                self.rcv_nxt,
                (&[], &[]),
                self.data_options(),
                self.window_field(),
            )?;
            self.advance_ptr(end + 1);
            return Some(n);
        }
        None
    }

    /// Retransmits the segment starting at `seq` (loss recovery).
    fn emit_data_at(&mut self, buf: &mut [u8], seq: SeqNum, retransmission: bool) -> Option<usize> {
        let end = self.data_end();
        if !seq.lt(self.snd_nxt) || seq.lt(self.snd_una) {
            return None;
        }
        if seq.lt(end) {
            let len = end
                .since(seq)
                .min(self.eff_mss())
                .min(self.snd_nxt.since(seq));
            let with_fin = self.fin_sent() && seq + len == end;
            let n = self.emit_segment_at(buf, seq, len, with_fin)?;
            if retransmission {
                self.high_rxt = self.high_rxt.max(seq + len);
                self.sampler.on_retransmit();
            }
            return Some(n);
        }
        if self.fin_sent() && seq == end {
            return self.emit(
                buf,
                Flags::FIN | Flags::ACK,
                end,
                self.rcv_nxt,
                (&[], &[]),
                self.data_options(),
                self.window_field(),
            );
        }
        None
    }

    fn emit_segment_at(
        &mut self,
        buf: &mut [u8],
        seq: SeqNum,
        len: u32,
        fin: bool,
    ) -> Option<usize> {
        let offset = seq.since(self.data_base()) as usize;
        let mut flags = Flags::ACK;
        if fin {
            flags |= Flags::FIN;
        }
        if seq + len == self.data_end() {
            flags |= Flags::PSH;
        }
        let opts = self.data_options();
        let wnd = self.window_field();
        let rcv_nxt = self.rcv_nxt;
        // Borrow the send buffer's slices while writing into `buf`.
        let (a, b) = self.sndbuf.slices(offset, len as usize);
        let header = TcpHeader {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq,
            ack: rcv_nxt,
            flags,
            window: wnd,
            urgent: 0,
            options: opts,
        };
        let n = wire::emit_segment_parts(&header, (a, b), &self.pseudo, buf).ok()?;
        self.after_emit(rcv_nxt);
        Some(n)
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        buf: &mut [u8],
        flags: Flags,
        seq: SeqNum,
        ack: SeqNum,
        payload: (&[u8], &[u8]),
        options: TcpOptions,
        window: u16,
    ) -> Option<usize> {
        let header = TcpHeader {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options,
        };
        let n = wire::emit_segment_parts(&header, payload, &self.pseudo, buf).ok()?;
        if flags.contains(Flags::ACK) && !flags.contains(Flags::RST) {
            self.after_emit(ack);
        }
        Some(n)
    }

    fn after_emit(&mut self, ack: SeqNum) {
        self.rcv_adv = ack + self.current_rcv_wnd();
        self.ack_now = false;
        self.unacked_segments = 0;
        self.last_ack_sent = ack;
        self.timers.stop(TimerKind::DelayedAck);
    }

    /// The earliest timer deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }
}

/// RFC 9293 §3.10.7.1: the RST that answers `seg` when no connection takes it.
fn rst_reply_for(seg: &Segment<'_>) -> RstOut {
    if seg.header.flags.contains(Flags::ACK) {
        RstOut {
            seq: seg.header.ack,
            ack: None,
        }
    } else {
        RstOut {
            seq: SeqNum(0),
            ack: Some(seg.header.seq + seg.seg_len()),
        }
    }
}

/// Writes the RST that answers `seg` for a segment no connection accepts
/// (RFC 9293 §3.10.7.1), as the endpoint does for unknown 4-tuples.
pub fn write_rst_reply(seg: &Segment<'_>, pseudo: &PseudoHeader, buf: &mut [u8]) -> Option<usize> {
    if seg.header.flags.contains(Flags::RST) {
        return None;
    }
    let rst = rst_reply_for(seg);
    let header = TcpHeader {
        src_port: seg.header.dst_port,
        dst_port: seg.header.src_port,
        seq: rst.seq,
        ack: rst.ack.unwrap_or(SeqNum(0)),
        flags: if rst.ack.is_some() {
            Flags::RST | Flags::ACK
        } else {
            Flags::RST
        },
        window: 0,
        urgent: 0,
        options: TcpOptions::default(),
    };
    wire::emit_segment_parts(&header, (&[], &[]), pseudo, buf).ok()
}

/// The pseudo-header for a pair of addresses; a mixed-family pair (which no
/// real packet has) gets an all-zero IPv4 one, so its checksums never verify.
pub fn pseudo_header(src: std::net::IpAddr, dst: std::net::IpAddr) -> PseudoHeader {
    PseudoHeader::new(src, dst).unwrap_or(PseudoHeader::V4 {
        src: [0; 4],
        dst: [0; 4],
    })
}

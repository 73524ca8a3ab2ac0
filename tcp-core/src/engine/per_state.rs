//! The per-state engine: RFC 9293 §3.10 ("Event Processing") written out by
//! hand, one function per state, in the shape of ns-3's `TcpSocketBase`
//! (`ProcessListen`, `ProcessSynSent`, `ProcessSynRcvd`, `ProcessEstablished`,
//! `ProcessWait`, `ProcessClosing`, `ProcessLastAck`).
//!
//! It is the independent second opinion on the table engines: it never looks
//! at `tcp.fsm`, the generated code, the segment classifier or the action
//! mapping, and it makes every decision itself (sequence acceptability, RST
//! and SYN checks, ACK classification, FIN in sequence). Only the *how* is
//! shared: the [`Tcb`] primitives that put a segment on the wire, advance
//! SND.UNA, queue text or arm a timer. For any input sequence it must behave
//! exactly as the table does; a difference is a bug in one of the two.
//!
//! Adopted on top of RFC 9293, as the project's design says: RFC 5961
//! (challenge ACKs for in-window RSTs and for SYNs in synchronized states;
//! out-of-window RSTs dropped) and RFC 1337 (RST ignored in TIME-WAIT).
//!
//! Every state change goes through [`Tcb::transition`] with this engine's
//! own description of the trigger (`segment SYN,ACK`, `app CLOSE`,
//! `timer 2MSL`) and no spec row.

use super::{AppCall, Engine};
use crate::error::ConnectionError;
use crate::seq::SeqNum;
use crate::state::TcpState;
use crate::tcb::Tcb;
use crate::timer::TimerKind;
use crate::trace::{EngineKind, TraceOrigin};
use crate::wire::{Flags, Segment};

/// The hand-written engine: RFC 9293 §3.10.7, state by state.
#[derive(Clone, Copy, Debug, Default)]
pub struct PerStateEngine;

impl Engine for PerStateEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::PerState
    }

    /// RFC 9293 §3.10.7 SEGMENT ARRIVES: dispatch on the current state.
    fn segment_arrives(&mut self, tcb: &mut Tcb, seg: &Segment<'_>) {
        match tcb.state {
            TcpState::Closed => process_closed(tcb, seg),
            TcpState::Listen => process_listen(tcb, seg),
            TcpState::SynSent => process_syn_sent(tcb, seg),
            TcpState::SynReceived => process_syn_received(tcb, seg),
            TcpState::Established => process_established(tcb, seg),
            TcpState::FinWait1 | TcpState::FinWait2 | TcpState::CloseWait => process_wait(tcb, seg),
            TcpState::Closing => process_closing(tcb, seg),
            TcpState::LastAck => process_last_ack(tcb, seg),
            TcpState::TimeWait => process_time_wait(tcb, seg),
        }
    }

    fn app_call(&mut self, tcb: &mut Tcb, call: AppCall<'_>) -> Result<usize, ConnectionError> {
        match call {
            AppCall::PassiveOpen => open(tcb, false),
            AppCall::ActiveOpen => open(tcb, true),
            AppCall::Send(data) => send(tcb, data),
            AppCall::Receive => receive(tcb),
            AppCall::Close => close(tcb),
            AppCall::Abort => abort(tcb),
        }
    }

    /// RFC 9293 §3.10.8 TIMEOUTS (plus the timers of RFC 1122 and RFC 9293 §3.8).
    fn timer_fires(&mut self, tcb: &mut Tcb, timer: TimerKind) {
        match timer {
            // RFC 9293 §3.10.8 + RFC 1122 §4.2.3.5: after R2 retransmissions
            // the connection is given up; before that, RFC 6298 §5.4–§5.6:
            // retransmit the earliest unacknowledged segment (SYN, SYN,ACK,
            // data or FIN alike) and back off.
            TimerKind::Retransmission => {
                if tcb.retries_exhausted(TimerKind::Retransmission) {
                    give_up(tcb, "timer retransmission (retries exhausted)");
                } else {
                    tcb.retransmit();
                }
            }
            // RFC 9293 §3.10.8: "If the time-wait timeout expires on a
            // connection, delete the TCB, enter the CLOSED state". Only
            // TIME-WAIT runs this timer; a stray expiry elsewhere is ignored.
            TimerKind::TimeWait => {
                if tcb.state == TcpState::TimeWait {
                    tcb.delete_tcb();
                    tcb.transition(TcpState::Closed, "timer 2MSL", TraceOrigin::Timer, None);
                }
            }
            // RFC 9293 §3.8.6.1 + RFC 1122 §4.2.2.17: probe a zero window.
            TimerKind::Persist => tcb.send_probe(),
            // RFC 1122 §4.2.3.6: probe an idle connection; when the probes
            // go unanswered the peer is considered dead.
            TimerKind::Keepalive => {
                if tcb.retries_exhausted(TimerKind::Keepalive) {
                    give_up(tcb, "timer keep-alive (probes exhausted)");
                } else {
                    tcb.send_keepalive();
                }
            }
            // RFC 9293 §3.8.6.3 + RFC 1122 §4.2.3.2: the delayed ACK is due.
            TimerKind::DelayedAck => tcb.send_ack(),
            // RFC 9293 §3.10.8 USER TIMEOUT: "flush all queues, signal the
            // user 'error: connection aborted due to user timeout' ...,
            // delete the TCB, enter the CLOSED state".
            TimerKind::User => give_up(tcb, "timer user timeout"),
        }
    }
}

/// A timer decided that the connection is dead: report "timed out", delete
/// the TCB, enter CLOSED (RFC 9293 §3.10.8).
fn give_up(tcb: &mut Tcb, what: &str) {
    tcb.report_error(ConnectionError::TimedOut);
    tcb.delete_tcb();
    tcb.transition(TcpState::Closed, what, TraceOrigin::Timer, None);
}

// ====================================================================== user calls

/// RFC 9293 §3.10.1 OPEN.
fn open(tcb: &mut Tcb, active: bool) -> Result<usize, ConnectionError> {
    if tcb.state != TcpState::Closed {
        // "If the connection is already open/in use: error: connection already exists."
        return Err(ConnectionError::ConnectionExists);
    }
    // CLOSED: "Create a new transmission control block (TCB) to hold
    // connection state information."
    tcb.create_tcb();
    if active {
        // "If active and the foreign socket is specified, issue a SYN
        // segment. An initial send sequence number (ISS) is selected. ...
        // Enter SYN-SENT state."
        tcb.send_syn();
        tcb.transition(
            TcpState::SynSent,
            "app OPEN (active)",
            TraceOrigin::App,
            None,
        );
    } else {
        // "If passive, enter the LISTEN state and return."
        tcb.transition(
            TcpState::Listen,
            "app OPEN (passive)",
            TraceOrigin::App,
            None,
        );
    }
    Ok(0)
}

/// RFC 9293 §3.10.2 SEND: `Ok(n)` is the number of bytes queued.
fn send(tcb: &mut Tcb, data: &[u8]) -> Result<usize, ConnectionError> {
    match tcb.state {
        TcpState::Closed => Err(ConnectionError::ConnectionDoesNotExist),
        // LISTEN: this connection always has a foreign socket, but a
        // listening one has not synchronized with it; SEND is refused as
        // for an unspecified foreign socket.
        TcpState::Listen => Err(ConnectionError::ForeignSocketUnspecified),
        // SYN-SENT, SYN-RECEIVED: "Queue the data for transmission after
        // entering ESTABLISHED state." ESTABLISHED, CLOSE-WAIT:
        // "Segmentize the buffer and send it".
        TcpState::SynSent | TcpState::SynReceived | TcpState::Established | TcpState::CloseWait => {
            Ok(tcb.queue_send(data))
        }
        // FIN-WAIT-1 .. TIME-WAIT: "error: connection closing".
        TcpState::FinWait1
        | TcpState::FinWait2
        | TcpState::Closing
        | TcpState::LastAck
        | TcpState::TimeWait => Err(ConnectionError::ConnectionClosing),
    }
}

/// RFC 9293 §3.10.3 RECEIVE: the data itself is copied by the connection;
/// the engine only says whether the call is legal.
fn receive(tcb: &mut Tcb) -> Result<usize, ConnectionError> {
    match tcb.state {
        TcpState::Closed => Err(ConnectionError::ConnectionDoesNotExist),
        _ => Ok(0),
    }
}

/// RFC 9293 §3.10.4 CLOSE.
fn close(tcb: &mut Tcb) -> Result<usize, ConnectionError> {
    match tcb.state {
        TcpState::Closed => Err(ConnectionError::ConnectionDoesNotExist),
        // LISTEN, SYN-SENT: "Delete the TCB, enter CLOSED state".
        TcpState::Listen | TcpState::SynSent => {
            tcb.delete_tcb();
            tcb.transition(TcpState::Closed, "app CLOSE", TraceOrigin::App, None);
            Ok(0)
        }
        // SYN-RECEIVED, ESTABLISHED: "form a FIN segment and send it, and
        // enter FIN-WAIT-1 state" (the FIN follows any queued data).
        TcpState::SynReceived | TcpState::Established => {
            tcb.send_fin();
            tcb.transition(TcpState::FinWait1, "app CLOSE", TraceOrigin::App, None);
            Ok(0)
        }
        // FIN-WAIT-1, FIN-WAIT-2: "an 'ok' response would be acceptable"
        // as long as no second FIN is sent.
        TcpState::FinWait1 | TcpState::FinWait2 => Ok(0),
        // CLOSE-WAIT: "Queue this request until all preceding SENDs have
        // been segmentized; then send a FIN segment, enter LAST-ACK state"
        // (the RFC 1122 §4.2.2.20 correction of RFC 793's CLOSING).
        TcpState::CloseWait => {
            tcb.send_fin();
            tcb.transition(TcpState::LastAck, "app CLOSE", TraceOrigin::App, None);
            Ok(0)
        }
        // CLOSING, LAST-ACK, TIME-WAIT: "error: connection closing".
        TcpState::Closing | TcpState::LastAck | TcpState::TimeWait => {
            Err(ConnectionError::ConnectionClosing)
        }
    }
}

/// RFC 9293 §3.10.5 ABORT.
fn abort(tcb: &mut Tcb) -> Result<usize, ConnectionError> {
    match tcb.state {
        TcpState::Closed => Err(ConnectionError::ConnectionDoesNotExist),
        // LISTEN, SYN-SENT: "Delete the TCB, enter CLOSED state, and return"
        // (nothing has been synchronized: no reset is sent).
        TcpState::Listen | TcpState::SynSent => {
            tcb.delete_tcb();
            tcb.transition(TcpState::Closed, "app ABORT", TraceOrigin::App, None);
            Ok(0)
        }
        // SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT:
        // "Send a reset segment: <SEQ=SND.NXT><CTL=RST>", flush, delete the
        // TCB, enter CLOSED.
        TcpState::SynReceived
        | TcpState::Established
        | TcpState::FinWait1
        | TcpState::FinWait2
        | TcpState::CloseWait => {
            tcb.send_rst();
            tcb.delete_tcb();
            tcb.transition(TcpState::Closed, "app ABORT", TraceOrigin::App, None);
            Ok(0)
        }
        // CLOSING, LAST-ACK, TIME-WAIT: "Respond with 'ok' and delete the
        // TCB, enter CLOSED state" (no reset).
        TcpState::Closing | TcpState::LastAck | TcpState::TimeWait => {
            tcb.delete_tcb();
            tcb.transition(TcpState::Closed, "app ABORT", TraceOrigin::App, None);
            Ok(0)
        }
    }
}

// ====================================================================== segment tests

fn has(seg: &Segment<'_>, flag: Flags) -> bool {
    seg.header.flags.contains(flag)
}

/// `seq` lies in `[RCV.NXT, RCV.NXT + RCV.WND)`.
fn in_receive_window(tcb: &Tcb, seq: SeqNum, rcv_wnd: u32) -> bool {
    seq.since(tcb.rcv_nxt) < rcv_wnd
}

/// RFC 9293 §3.10.7.4 first check, the four cases:
///
/// | SEG.LEN | RCV.WND | test                                              |
/// |---------|---------|---------------------------------------------------|
/// | 0       | 0       | SEG.SEQ = RCV.NXT                                 |
/// | 0       | >0      | RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND              |
/// | >0      | 0       | not acceptable                                    |
/// | >0      | >0      | the first or the last octet lies in the window    |
///
/// preceded by RFC 7323 §5.3 R1 (PAWS): with timestamps in use, a segment
/// whose SEG.TSval is older than TS.Recent is an old duplicate. RCV.WND is
/// the window the receive buffer offers now. RST segments never get here:
/// they are judged by RFC 5961 §3.2 first.
fn seq_acceptable(tcb: &Tcb, seg: &Segment<'_>) -> bool {
    if tcb.ts_enabled {
        if let Some(ts) = seg.header.options.timestamps {
            // SEG.TSval < TS.Recent, in the 32-bit timestamp space.
            if (ts.tsval.wrapping_sub(tcb.ts_recent) as i32) < 0 {
                return false;
            }
        }
    }
    let rcv_wnd = tcb.acceptance_wnd();
    let seq = seg.header.seq;
    let seg_len = seg.seg_len();
    if seg_len == 0 {
        if rcv_wnd == 0 {
            seq == tcb.rcv_nxt
        } else {
            in_receive_window(tcb, seq, rcv_wnd)
        }
    } else if rcv_wnd == 0 {
        false
    } else if has(seg, Flags::SYN) {
        // Fourth check, RFC 793's text kept by RFC 9293: "If the SYN is not
        // in the window this step would not be reached and an ACK would have
        // been sent in the first step". The SYN sits at SEG.SEQ: an old SYN
        // (say a SYN+FIN at RCV.NXT-1) is not in the window even when the
        // FIN after it is.
        in_receive_window(tcb, seq, rcv_wnd)
    } else {
        let last = seq + (seg_len - 1);
        in_receive_window(tcb, seq, rcv_wnd) || in_receive_window(tcb, last, rcv_wnd)
    }
}

/// Where a RST's sequence number falls (RFC 5961 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RstSeq {
    /// SEG.SEQ = RCV.NXT: reset the connection.
    Exact,
    /// Inside the receive window but not exact: send a challenge ACK.
    InWindow,
    /// Outside the window: drop it silently.
    Outside,
}

fn rst_seq(tcb: &Tcb, seg: &Segment<'_>) -> RstSeq {
    let seq = seg.header.seq;
    if seq == tcb.rcv_nxt {
        RstSeq::Exact
    } else if in_receive_window(tcb, seq, tcb.acceptance_wnd()) {
        RstSeq::InWindow
    } else {
        RstSeq::Outside
    }
}

/// The ACK field of a segment in a synchronized state (RFC 9293 §3.10.7.4
/// fifth check, RFC 5961 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AckField {
    /// The ACK bit is off: "drop the segment and return".
    Off,
    /// SEG.ACK > SND.NXT: it acknowledges something not yet sent.
    Ahead,
    /// SEG.ACK < SND.UNA - MAX.SND.WND: RFC 5961 §5.2 says challenge it.
    TooOld,
    /// Acceptable, and it acknowledges our FIN for the first time.
    CoversOurFin,
    /// Acceptable: new, duplicate or old within MAX.SND.WND.
    Usable,
}

fn ack_field(tcb: &Tcb, seg: &Segment<'_>) -> AckField {
    if !has(seg, Flags::ACK) {
        return AckField::Off;
    }
    let ack = seg.header.ack;
    if tcb.snd_nxt.lt(ack) {
        return AckField::Ahead;
    }
    // RFC 5961 §5.2: acceptable when (SND.UNA - MAX.SND.WND) =< SEG.ACK.
    // MAX.SND.WND counts as at least one octet, as the data path counts it,
    // so that before any window was offered the ACK just below SND.UNA is
    // an old duplicate rather than an attack.
    let oldest = tcb.snd_una - tcb.max_snd_wnd.max(1);
    if ack.lt(oldest) {
        return AckField::TooOld;
    }
    if acks_our_fin_first_time(tcb, ack) {
        return AckField::CoversOurFin;
    }
    AckField::Usable
}

/// Our FIN has been sent, SEG.ACK lies beyond it, and SND.UNA does not yet:
/// this ACK is the one that acknowledges the FIN (RFC 9293 §3.10.7.4,
/// FIN-WAIT-1 / CLOSING / LAST-ACK).
fn acks_our_fin_first_time(tcb: &Tcb, ack: SeqNum) -> bool {
    match tcb.fin_seq() {
        Some(fin) => tcb.fin_sent() && fin.lt(ack) && tcb.snd_una.le(fin),
        None => false,
    }
}

/// RFC 9293 §3.10.7.4 eighth check: the peer's FIN is next in sequence —
/// either this segment's FIN directly follows its text at RCV.NXT, or
/// reassembly has just reached a FIN that arrived earlier out of order.
fn peer_fin_in_sequence(tcb: &Tcb, seg: &Segment<'_>) -> bool {
    if tcb.fin_received || !tcb.irs_known {
        return false;
    }
    if tcb.rcvbuf.fin_reached() {
        return true;
    }
    // The FIN occupies the segment's last sequence number.
    has(seg, Flags::FIN) && seg.header.seq + (seg.seg_len() - 1) == tcb.rcv_nxt
}

// ====================================================================== shared steps

/// RFC 9293 §3.10.7.4 first check, failed: "If an incoming segment is not
/// acceptable, an acknowledgment should be sent in reply (unless the RST bit
/// is set ...)" and the segment dropped. A SYN among them gets the RFC 5961
/// §4.2 challenge ACK (rate-limited) instead of a plain ACK.
fn reject_unacceptable(tcb: &mut Tcb, seg: &Segment<'_>) {
    if has(seg, Flags::SYN) && tcb.config.rfc5961_syn {
        tcb.send_challenge_ack();
    } else {
        tcb.send_ack();
    }
}

/// RFC 9293 §3.10.7.4 second check as amended by RFC 5961 §3.2, for
/// ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING and LAST-ACK:
/// an exact RST resets the connection ("any outstanding RECEIVEs and SEND
/// should receive 'reset' responses ... enter the CLOSED state, delete the
/// TCB"), an in-window one is challenged, any other is dropped.
fn reset_synchronized(tcb: &mut Tcb, seg: &Segment<'_>) {
    match rst_seq(tcb, seg) {
        RstSeq::Exact => {
            tcb.report_error(ConnectionError::ConnectionReset);
            tcb.delete_tcb();
            tcb.transition(TcpState::Closed, "segment RST", TraceOrigin::Segment, None);
        }
        RstSeq::InWindow if tcb.config.rfc5961_rst => tcb.send_challenge_ack(),
        // Without RFC 5961 (RFC 9293 §3.10.7.4): any in-window RST resets.
        RstSeq::InWindow => {
            tcb.report_error(ConnectionError::ConnectionReset);
            tcb.delete_tcb();
            tcb.transition(TcpState::Closed, "segment RST", TraceOrigin::Segment, None);
        }
        RstSeq::Outside => {}
    }
}

/// A SYN inside the window of a synchronized state (RFC 9293 §3.10.7.4
/// fourth check): RFC 5961 §4.2 challenges it; without RFC 5961 it is an
/// error: "send a reset, any outstanding RECEIVEs and SEND should receive
/// 'reset' responses ... enter the CLOSED state, delete the TCB".
fn syn_in_window(tcb: &mut Tcb) {
    if tcb.config.rfc5961_syn {
        tcb.send_challenge_ack();
    } else {
        // The connection is synchronized: the reset comes from its own send
        // sequence and, as every segment of a synchronized connection
        // (RFC 9293 §3.1), carries the acknowledgment:
        // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>.
        tcb.send_rst_ack();
        tcb.report_error(ConnectionError::ConnectionReset);
        tcb.delete_tcb();
        tcb.transition(TcpState::Closed, "segment SYN", TraceOrigin::Segment, None);
    }
}

/// What the first four checks of RFC 9293 §3.10.7.4 leave to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// Go on with the ACK field.
    CheckAck,
    /// The segment is consumed.
    Done,
}

/// RFC 9293 §3.10.7.4 first to fourth checks for ESTABLISHED, FIN-WAIT-1,
/// FIN-WAIT-2, CLOSE-WAIT, CLOSING and LAST-ACK: RST (RFC 5961 §3.2, judged
/// before the acceptability test), sequence number, SYN (RFC 5961 §4.2:
/// any SYN, SYN,ACK included, gets a challenge ACK and is dropped).
fn rst_sequence_syn_checks(tcb: &mut Tcb, seg: &Segment<'_>) -> Next {
    if has(seg, Flags::RST) {
        reset_synchronized(tcb, seg);
        return Next::Done;
    }
    if !seq_acceptable(tcb, seg) {
        reject_unacceptable(tcb, seg);
        return Next::Done;
    }
    if has(seg, Flags::SYN) {
        syn_in_window(tcb);
        return Next::Done;
    }
    Next::CheckAck
}

/// RFC 9293 §3.10.7.4 fifth check, the cases every synchronized state past
/// SYN-RECEIVED shares. Returns the acceptable classes for the state to act
/// on, or `None` when the segment is consumed:
/// * ACK bit off: "drop the segment and return";
/// * SEG.ACK > SND.NXT: "send an ACK, drop the segment, and return";
/// * SEG.ACK < SND.UNA - MAX.SND.WND: challenge ACK, drop (RFC 5961 §5.2).
fn screen_ack(tcb: &mut Tcb, seg: &Segment<'_>) -> Option<AckField> {
    match ack_field(tcb, seg) {
        AckField::Off => None,
        AckField::Ahead => {
            tcb.send_ack();
            None
        }
        AckField::TooOld => {
            tcb.send_challenge_ack();
            None
        }
        usable => Some(usable),
    }
}

/// RFC 9293 §3.10.7.4 sixth to eighth checks, in whatever state the earlier
/// steps left the connection (also the "continue processing at the sixth
/// step" of §3.10.7.2 and §3.10.7.3). URG (sixth) is not supported.
fn text_and_fin(tcb: &mut Tcb, seg: &Segment<'_>) {
    // Seventh, process the segment text. A FIN beyond RCV.NXT without text
    // is held like text: "segments with higher beginning sequence numbers
    // SHOULD be held for later processing" (first check).
    let fin_ahead = has(seg, Flags::FIN)
        && !tcb.fin_received
        && tcb.irs_known
        && tcb.rcv_nxt.lt(seg.header.seq + (seg.seg_len() - 1));
    if !seg.payload.is_empty() || fin_ahead {
        match tcb.state {
            // "Once in the ESTABLISHED state, it is possible to deliver
            // segment data to user RECEIVE buffers" (also FIN-WAIT-1/2).
            TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2 => tcb.queue_text(seg),
            // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not
            // occur since a FIN has been received from the remote side.
            // Ignore the segment text." SYN-RECEIVED: text that came with
            // the SYN is not kept.
            _ => {}
        }
    }
    // Eighth, check the FIN bit.
    if !peer_fin_in_sequence(tcb, seg) {
        return;
    }
    match tcb.state {
        // SYN-RECEIVED, ESTABLISHED: "Enter the CLOSE-WAIT state."
        TcpState::SynReceived | TcpState::Established => {
            tcb.process_fin(seg);
            tcb.send_ack();
            tcb.transition(
                TcpState::CloseWait,
                "segment FIN",
                TraceOrigin::Segment,
                None,
            );
        }
        // FIN-WAIT-1: our FIN is not acknowledged (an ACK of it in this
        // segment has already moved us to FIN-WAIT-2): "enter the CLOSING
        // state".
        TcpState::FinWait1 => {
            tcb.process_fin(seg);
            tcb.send_ack();
            tcb.transition(TcpState::Closing, "segment FIN", TraceOrigin::Segment, None);
        }
        // FIN-WAIT-2: "Enter the TIME-WAIT state. Start the time-wait
        // timer, turn off the other timers." As the project's table does,
        // only the retransmission timer is turned off: keep-alive, persist
        // and delayed-ACK timers stay armed (a known deviation, tracked by
        // the ignored test `time_wait_stops_keepalive_timer`).
        TcpState::FinWait2 => {
            tcb.process_fin(seg);
            tcb.send_ack();
            tcb.stop_timer(TimerKind::Retransmission);
            // RFC 9293 §3.10.7.4: on entering TIME-WAIT "turn off the other timers".
            tcb.stop_timer(TimerKind::Keepalive);
            tcb.stop_timer(TimerKind::User);
            tcb.start_timer(TimerKind::TimeWait);
            tcb.transition(
                TcpState::TimeWait,
                "segment FIN",
                TraceOrigin::Segment,
                None,
            );
        }
        // TIME-WAIT: "Remain in the TIME-WAIT state. Restart the 2 MSL
        // time-wait timeout." (and acknowledge the FIN).
        TcpState::TimeWait => {
            tcb.send_ack();
            tcb.start_timer(TimerKind::TimeWait);
        }
        // CLOSE-WAIT, CLOSING, LAST-ACK: "Remain in the ... state."
        _ => {}
    }
}

// ====================================================================== states

/// RFC 9293 §3.10.7.1 CLOSED: "all data in the incoming segment is
/// discarded. An incoming segment containing a RST is discarded. An
/// incoming segment not containing a RST causes a RST to be sent".
fn process_closed(tcb: &mut Tcb, seg: &Segment<'_>) {
    if has(seg, Flags::RST) {
        return;
    }
    // <SEQ=SEG.ACK><CTL=RST> or <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    tcb.send_rst_reply(seg);
}

/// RFC 9293 §3.10.7.2 LISTEN.
fn process_listen(tcb: &mut Tcb, seg: &Segment<'_>) {
    // First, check for a RST: "An incoming RST segment could not be valid
    // since it could not have been sent in response to anything sent by
    // this incarnation of the connection. An incoming RST should be ignored."
    if has(seg, Flags::RST) {
        return;
    }
    // Second, check for an ACK: "Any acknowledgment is bad if it arrives on
    // a connection still in the LISTEN state. An acceptable reset segment
    // should be formed for any arriving ACK-bearing segment."
    if has(seg, Flags::ACK) {
        tcb.send_rst_reply(seg);
        return;
    }
    // Third, check for a SYN: set RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, send
    // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, enter SYN-RECEIVED. "Any other
    // incoming control or data (combined with SYN) will be processed in the
    // SYN-RECEIVED state, but processing of SYN and ACK should not be
    // repeated."
    if has(seg, Flags::SYN) {
        tcb.record_syn(seg);
        tcb.send_syn_ack();
        tcb.transition(
            TcpState::SynReceived,
            "segment SYN",
            TraceOrigin::Segment,
            None,
        );
        text_and_fin(tcb, seg);
    }
    // Fourth, other text or control: "drop the segment and return".
}

/// RFC 9293 §3.10.7.3 SYN-SENT.
fn process_syn_sent(tcb: &mut Tcb, seg: &Segment<'_>) {
    // First, check the ACK bit: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT,
    // send a reset (unless the RST bit is set, if so drop the segment and
    // return)"; otherwise the ACK is acceptable.
    let ack_bit = has(seg, Flags::ACK);
    if ack_bit {
        let ack = seg.header.ack;
        let acceptable = tcb.iss.lt(ack) && ack.le(tcb.snd_nxt);
        if !acceptable {
            if !has(seg, Flags::RST) {
                tcb.send_rst_reply(seg);
            }
            return;
        }
    }
    // Second, check the RST bit: "If the ACK was acceptable, then signal to
    // the user 'error: connection reset', drop the segment, enter CLOSED
    // state, delete TCB, and return. Otherwise (no ACK), drop the segment
    // and return." The user sees a refused connection.
    if has(seg, Flags::RST) {
        if ack_bit {
            tcb.report_error(ConnectionError::ConnectionRefused);
            tcb.delete_tcb();
            tcb.transition(
                TcpState::Closed,
                "segment RST,ACK",
                TraceOrigin::Segment,
                None,
            );
        }
        return;
    }
    // Fourth, check the SYN bit (the ACK, if any, is acceptable here).
    if has(seg, Flags::SYN) {
        // RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ (and the SYN's options).
        tcb.record_syn(seg);
        if ack_bit {
            // "SND.UNA should be advanced to equal SEG.ACK ... If SND.UNA >
            // ISS (our SYN has been ACKed), change the connection state to
            // ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT>
            // <CTL=ACK> and send it."
            tcb.accept_ack(seg);
            tcb.send_ack();
            tcb.signal_established();
            tcb.transition(
                TcpState::Established,
                "segment SYN,ACK",
                TraceOrigin::Segment,
                None,
            );
        } else {
            // "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
            // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it" (simultaneous
            // open). "If there are other controls or text in the segment,
            // queue them for processing after the ESTABLISHED state has been
            // reached, return." They are not processed here: the SYN,ACK
            // acknowledges the SYN alone, so the peer sends them again.
            tcb.send_syn_ack();
            tcb.transition(
                TcpState::SynReceived,
                "segment SYN",
                TraceOrigin::Segment,
                None,
            );
            return;
        }
        // "... continue processing at the sixth step below where the URG
        // bit is checked".
        text_and_fin(tcb, seg);
    }
    // Fifth, "if neither of the SYN or RST bits is set, then drop the
    // segment and return": nothing more to do.
}

/// RFC 9293 §3.10.7.4 in SYN-RECEIVED.
fn process_syn_received(tcb: &mut Tcb, seg: &Segment<'_>) {
    // Second check (RST, RFC 5961 §3.2): an exact RST "If this connection
    // was initiated with a passive OPEN (i.e., came from the LISTEN state),
    // then return this connection to LISTEN state and return ... If this
    // connection was initiated with an active OPEN (i.e., came from
    // SYN-SENT state), then the connection was refused".
    if has(seg, Flags::RST) {
        let place = match rst_seq(tcb, seg) {
            // Without RFC 5961 any in-window RST counts as exact.
            RstSeq::InWindow if !tcb.config.rfc5961_rst => RstSeq::Exact,
            other => other,
        };
        match place {
            RstSeq::Exact if tcb.passive_open => {
                tcb.delete_tcb();
                tcb.transition(TcpState::Listen, "segment RST", TraceOrigin::Segment, None);
            }
            RstSeq::Exact => {
                tcb.report_error(ConnectionError::ConnectionRefused);
                tcb.delete_tcb();
                tcb.transition(TcpState::Closed, "segment RST", TraceOrigin::Segment, None);
            }
            RstSeq::InWindow => tcb.send_challenge_ack(),
            RstSeq::Outside => {}
        }
        return;
    }
    // First check: sequence number.
    if !seq_acceptable(tcb, seg) {
        reject_unacceptable(tcb, seg);
        return;
    }
    // Fourth check: SYN. "If the connection was initiated with a passive
    // OPEN, then return this connection to the LISTEN state and return."
    // Otherwise RFC 5961 §4.2: challenge ACK, drop.
    if has(seg, Flags::SYN) {
        if tcb.passive_open {
            tcb.delete_tcb();
            tcb.transition(TcpState::Listen, "segment SYN", TraceOrigin::Segment, None);
        } else {
            syn_in_window(tcb);
        }
        return;
    }
    // Fifth check: the ACK field. "If SND.UNA < SEG.ACK =< SND.NXT, then
    // enter ESTABLISHED state and continue processing ... If the segment
    // acknowledgment is not acceptable, form a reset segment
    // <SEQ=SEG.ACK><CTL=RST> and send it."
    match ack_field(tcb, seg) {
        AckField::Off => return,
        AckField::Ahead | AckField::TooOld => {
            tcb.send_rst_reply(seg);
            return;
        }
        // No FIN of ours can be outstanding before ESTABLISHED (CLOSE here
        // leaves for FIN-WAIT-1 at once); should one be, its ACK is taken
        // as a plain ACK without completing the handshake.
        AckField::CoversOurFin => tcb.accept_ack(seg),
        AckField::Usable => {
            if !tcb.snd_una.lt(seg.header.ack) {
                tcb.send_rst_reply(seg);
                return;
            }
            tcb.accept_ack(seg);
            tcb.signal_established();
            tcb.transition(
                TcpState::Established,
                "segment ACK",
                TraceOrigin::Segment,
                None,
            );
        }
    }
    text_and_fin(tcb, seg);
}

/// RFC 9293 §3.10.7.4 in ESTABLISHED.
fn process_established(tcb: &mut Tcb, seg: &Segment<'_>) {
    if rst_sequence_syn_checks(tcb, seg) == Next::Done {
        return;
    }
    // Fifth: "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK
    // ... update the send window"; duplicates are processed too (RFC 5681
    // counts them).
    if screen_ack(tcb, seg).is_none() {
        return;
    }
    tcb.accept_ack(seg);
    text_and_fin(tcb, seg);
}

/// RFC 9293 §3.10.7.4 in FIN-WAIT-1, FIN-WAIT-2 and CLOSE-WAIT (ns-3's
/// `ProcessWait`): ACK processing as in ESTABLISHED, plus "In addition to
/// the processing for the ESTABLISHED state, if the FIN segment is now
/// acknowledged, then enter FIN-WAIT-2 and continue processing in that
/// state" for FIN-WAIT-1.
fn process_wait(tcb: &mut Tcb, seg: &Segment<'_>) {
    if rst_sequence_syn_checks(tcb, seg) == Next::Done {
        return;
    }
    let Some(ack) = screen_ack(tcb, seg) else {
        return;
    };
    tcb.accept_ack(seg);
    if ack == AckField::CoversOurFin && tcb.state == TcpState::FinWait1 {
        tcb.transition(
            TcpState::FinWait2,
            "segment ACK of FIN",
            TraceOrigin::Segment,
            None,
        );
    }
    text_and_fin(tcb, seg);
}

/// RFC 9293 §3.10.7.4 in CLOSING: "In addition to the processing for the
/// ESTABLISHED state, if the ACK acknowledges our FIN, then enter the
/// TIME-WAIT state; otherwise, ignore the segment."
fn process_closing(tcb: &mut Tcb, seg: &Segment<'_>) {
    if rst_sequence_syn_checks(tcb, seg) == Next::Done {
        return;
    }
    let Some(ack) = screen_ack(tcb, seg) else {
        return;
    };
    tcb.accept_ack(seg);
    if ack == AckField::CoversOurFin {
        // RFC 9293 §3.10.8 / §3.6: TIME-WAIT lasts 2×MSL; nothing of ours is
        // left to retransmit (the other timers stay armed, as in FIN-WAIT-2).
        tcb.stop_timer(TimerKind::Retransmission);
        // RFC 9293 §3.10.7.4: on entering TIME-WAIT "turn off the other timers".
        tcb.stop_timer(TimerKind::Keepalive);
        tcb.stop_timer(TimerKind::User);
        tcb.start_timer(TimerKind::TimeWait);
        tcb.transition(
            TcpState::TimeWait,
            "segment ACK of FIN",
            TraceOrigin::Segment,
            None,
        );
    }
    text_and_fin(tcb, seg);
}

/// RFC 9293 §3.10.7.4 in LAST-ACK: "The only thing that can arrive in this
/// state is an acknowledgment of our FIN. If our FIN is now acknowledged,
/// delete the TCB, enter the CLOSED state, and return."
fn process_last_ack(tcb: &mut Tcb, seg: &Segment<'_>) {
    if rst_sequence_syn_checks(tcb, seg) == Next::Done {
        return;
    }
    let Some(ack) = screen_ack(tcb, seg) else {
        return;
    };
    tcb.accept_ack(seg);
    if ack == AckField::CoversOurFin {
        tcb.delete_tcb();
        tcb.transition(
            TcpState::Closed,
            "segment ACK of FIN",
            TraceOrigin::Segment,
            None,
        );
        return;
    }
    text_and_fin(tcb, seg);
}

/// RFC 9293 §3.10.7.4 in TIME-WAIT.
fn process_time_wait(tcb: &mut Tcb, seg: &Segment<'_>) {
    // RFC 1337 §3 (TIME-WAIT assassination hazards): ignore RST segments
    // in TIME-WAIT instead of closing early.
    if has(seg, Flags::RST) {
        return;
    }
    if !seq_acceptable(tcb, seg) {
        if has(seg, Flags::FIN) {
            // "The only thing that can arrive in this state is a
            // retransmission of the remote FIN. Acknowledge it, and restart
            // the 2 MSL timeout." A retransmitted FIN lies before RCV.NXT.
            tcb.send_ack();
            tcb.start_timer(TimerKind::TimeWait);
        } else {
            reject_unacceptable(tcb, seg);
        }
        return;
    }
    // Fourth check: SYN, RFC 5961 §4.2.
    if has(seg, Flags::SYN) {
        syn_in_window(tcb);
        return;
    }
    // Fifth check: "The only thing that can arrive in this state is a
    // retransmission of the remote FIN. Acknowledge it, and restart the 2
    // MSL timeout." An ACK needs no processing, unless it were the first
    // to cover our FIN.
    let Some(ack) = screen_ack(tcb, seg) else {
        return;
    };
    if ack == AckField::CoversOurFin {
        tcb.accept_ack(seg);
    }
    // A bare ACK repeating exactly what both ends already know (SEG.SEQ =
    // RCV.NXT, SEG.ACK = SND.NXT, no text, SYN or FIN) is not acknowledged:
    // two ends both in TIME-WAIT would otherwise acknowledge each other's
    // ACKs forever.
    let nothing_new = !has(seg, Flags::FIN)
        && seg.payload.is_empty()
        && seg.header.seq == tcb.rcv_nxt
        && seg.header.ack == tcb.snd_nxt;
    if !nothing_new {
        tcb.send_ack();
        tcb.start_timer(TimerKind::TimeWait);
    }
    text_and_fin(tcb, seg);
}

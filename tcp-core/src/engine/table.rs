//! The table engine: classifier → `process_event` generated from `tcp.fsm`
//! → `process_action` / `process_packet_action`.

use core::marker::PhantomData;

use super::classifier::{classify, SegmentClass};
use super::ops::{run_local, run_packet, Effects, LocalOp, PacketOp};
use super::{AppCall, Engine};
use crate::error::ConnectionError;
use crate::fsm;
use crate::state::TcpState;
use crate::tcb::Tcb;
use crate::timer::TimerKind;
use crate::trace::{EngineKind, TraceOrigin};
use crate::wire::Segment;

/// The engine generated from `tcp.fsm` by `tcp_fsm!`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableEngine;

/// The guards of `tcp.fsm`, answered from the TCB (and the segment, if any).
struct TcbGuards<'a, 's> {
    tcb: &'a Tcb,
    seg: Option<&'a Segment<'s>>,
    timer: Option<TimerKind>,
}

impl fsm::Guards for TcbGuards<'_, '_> {
    fn ack_acceptable(&self) -> bool {
        self.seg.is_some_and(|s| self.tcb.ack_acceptable(s))
    }
    fn seq_exact(&self) -> bool {
        self.seg.is_some_and(|s| self.tcb.seq_exact(s))
    }
    fn in_window(&self) -> bool {
        self.seg.is_some_and(|s| self.tcb.in_window(s))
    }
    fn passive_open(&self) -> bool {
        self.tcb.passive_open
    }
    fn retries_exhausted(&self) -> bool {
        self.timer.is_some_and(|t| self.tcb.retries_exhausted(t))
    }
    fn syn_flag(&self) -> bool {
        self.seg
            .is_some_and(|s| s.header.flags.contains(crate::wire::Flags::SYN))
    }
    fn fin_flag(&self) -> bool {
        self.seg
            .is_some_and(|s| s.header.flags.contains(crate::wire::Flags::FIN))
    }
    fn rfc5961_rst(&self) -> bool {
        self.tcb.config.rfc5961_rst
    }
    fn rfc5961_syn(&self) -> bool {
        self.tcb.config.rfc5961_syn
    }
    fn dup_ack(&self) -> bool {
        self.seg.is_some_and(|s| self.tcb.dup_ack(s))
    }
}

/// `process_action` / `process_packet_action` for the generated dispatch.
struct Handler<'t, 'd, 's> {
    tcb: &'t mut Tcb,
    fx: Effects<'d>,
    _seg: PhantomData<&'s ()>,
}

#[inline(always)]
fn timer_kind(t: fsm::Timer) -> TimerKind {
    match t {
        fsm::Timer::Retransmission => TimerKind::Retransmission,
        fsm::Timer::TimeWait => TimerKind::TimeWait,
        fsm::Timer::Persist => TimerKind::Persist,
        fsm::Timer::Keepalive => TimerKind::Keepalive,
        fsm::Timer::DelayedAck => TimerKind::DelayedAck,
        fsm::Timer::User => TimerKind::User,
    }
}

fn fsm_timer(t: TimerKind) -> fsm::Timer {
    match t {
        TimerKind::Retransmission => fsm::Timer::Retransmission,
        TimerKind::TimeWait => fsm::Timer::TimeWait,
        TimerKind::Persist => fsm::Timer::Persist,
        TimerKind::Keepalive => fsm::Timer::Keepalive,
        TimerKind::DelayedAck => fsm::Timer::DelayedAck,
        TimerKind::User => fsm::Timer::User,
    }
}

fn error_kind(e: fsm::ErrorKind) -> ConnectionError {
    match e {
        fsm::ErrorKind::ConnectionDoesNotExist => ConnectionError::ConnectionDoesNotExist,
        fsm::ErrorKind::ConnectionExists => ConnectionError::ConnectionExists,
        fsm::ErrorKind::ConnectionClosing => ConnectionError::ConnectionClosing,
        fsm::ErrorKind::ConnectionRefused => ConnectionError::ConnectionRefused,
        fsm::ErrorKind::ConnectionReset => ConnectionError::ConnectionReset,
        fsm::ErrorKind::ForeignSocketUnspecified => ConnectionError::ForeignSocketUnspecified,
        fsm::ErrorKind::TimedOut => ConnectionError::TimedOut,
    }
}

#[inline(always)]
fn local_op(a: fsm::LocalAction) -> LocalOp {
    use fsm::LocalAction as A;
    match a {
        A::CreateTcb => LocalOp::CreateTcb,
        A::SendSyn => LocalOp::SendSyn,
        A::SendSynAck => LocalOp::SendSynAck,
        A::SendAck => LocalOp::SendAck,
        A::SendChallengeAck => LocalOp::SendChallengeAck,
        A::SendFin => LocalOp::SendFin,
        A::SendRst => LocalOp::SendRst,
        A::SendRstAck => LocalOp::SendRstAck,
        A::Retransmit => LocalOp::Retransmit,
        A::SendProbe => LocalOp::SendProbe,
        A::SendKeepalive => LocalOp::SendKeepalive,
        A::QueueSend => LocalOp::QueueSend,
        A::StartTimer(t) => LocalOp::StartTimer(timer_kind(t)),
        A::StopTimer(t) => LocalOp::StopTimer(timer_kind(t)),
        A::SignalEstablished => LocalOp::SignalEstablished,
        A::Fail(e) => LocalOp::Fail(error_kind(e)),
        A::DeleteTcb => LocalOp::DeleteTcb,
        A::Discard => LocalOp::Discard,
    }
}

#[inline(always)]
fn packet_op(a: fsm::PacketAction) -> PacketOp {
    use fsm::PacketAction as A;
    match a {
        A::RecordSyn => PacketOp::RecordSyn,
        A::AcceptAck => PacketOp::AcceptAck,
        A::QueueText => PacketOp::QueueText,
        A::ProcessFin => PacketOp::ProcessFin,
        A::SendRstReply => PacketOp::SendRstReply,
    }
}

impl<'s> fsm::ActionHandler for Handler<'_, '_, 's> {
    type Segment = Segment<'s>;

    #[inline(always)]
    fn process_action(&mut self, action: fsm::LocalAction) {
        run_local(self.tcb, &mut self.fx, local_op(action));
    }

    #[inline(always)]
    fn process_packet_action(&mut self, action: fsm::PacketAction, segment: &Segment<'s>) {
        run_packet(self.tcb, packet_op(action), segment);
    }
}

/// The generated `State` for a data-path state, by name. Both enums
/// declare the states in the same order, so this compiles to nothing (no
/// table load); a state added to the spec alone fails to compile here.
#[inline(always)]
pub fn fsm_state(s: TcpState) -> fsm::State {
    match s {
        TcpState::Closed => fsm::State::Closed,
        TcpState::Listen => fsm::State::Listen,
        TcpState::SynSent => fsm::State::SynSent,
        TcpState::SynReceived => fsm::State::SynReceived,
        TcpState::Established => fsm::State::Established,
        TcpState::FinWait1 => fsm::State::FinWait1,
        TcpState::FinWait2 => fsm::State::FinWait2,
        TcpState::CloseWait => fsm::State::CloseWait,
        TcpState::Closing => fsm::State::Closing,
        TcpState::LastAck => fsm::State::LastAck,
        TcpState::TimeWait => fsm::State::TimeWait,
    }
}

/// The data-path state for a generated `State` (see [`fsm_state`]).
#[inline(always)]
pub fn tcp_state(s: fsm::State) -> TcpState {
    match s {
        fsm::State::Closed => TcpState::Closed,
        fsm::State::Listen => TcpState::Listen,
        fsm::State::SynSent => TcpState::SynSent,
        fsm::State::SynReceived => TcpState::SynReceived,
        fsm::State::Established => TcpState::Established,
        fsm::State::FinWait1 => TcpState::FinWait1,
        fsm::State::FinWait2 => TcpState::FinWait2,
        fsm::State::CloseWait => TcpState::CloseWait,
        fsm::State::Closing => TcpState::Closing,
        fsm::State::LastAck => TcpState::LastAck,
        fsm::State::TimeWait => TcpState::TimeWait,
    }
}

#[inline(always)]
fn segment_event(c: SegmentClass) -> fsm::SegmentEvent {
    use fsm::SegmentEvent as E;
    match c {
        SegmentClass::Syn => E::Syn,
        SegmentClass::SynAck => E::SynAck,
        SegmentClass::Ack => E::Ack,
        SegmentClass::Bare => E::Bare,
        SegmentClass::Rst => E::Rst,
        SegmentClass::RstAck => E::RstAck,
        SegmentClass::Unacceptable => E::Unacceptable,
        SegmentClass::NoAck => E::NoAck,
        SegmentClass::AckOfFin => E::AckOfFin,
        SegmentClass::AckTooNew => E::AckTooNew,
        SegmentClass::AckTooOld => E::AckTooOld,
        SegmentClass::Text => E::Text,
        SegmentClass::Fin => E::Fin,
    }
}

fn app_event(call: &AppCall<'_>) -> fsm::AppEvent {
    match call {
        AppCall::PassiveOpen => fsm::AppEvent::PassiveOpen,
        AppCall::ActiveOpen => fsm::AppEvent::ActiveOpen,
        AppCall::Send(_) => fsm::AppEvent::Send,
        AppCall::Receive => fsm::AppEvent::Receive,
        AppCall::Close => fsm::AppEvent::Close,
        AppCall::Abort => fsm::AppEvent::Abort,
    }
}

#[inline(always)]
fn enter(tcb: &mut Tcb, next: fsm::State, event: fsm::Event, origin: TraceOrigin, row: u16) {
    let next = tcp_state(next);
    if next != tcb.state {
        let location = tcb
            .config
            .trace
            .then(|| fsm::ROWS[usize::from(row)].location());
        tcb.transition(next, event.qualified(), origin, location);
    }
}

impl Engine for TableEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Table
    }

    fn segment_arrives(&mut self, tcb: &mut Tcb, seg: &Segment<'_>) {
        classify(tcb, seg, |tcb, class| {
            let event = segment_event(class);
            let step = {
                let guards = TcbGuards {
                    tcb,
                    seg: Some(seg),
                    timer: None,
                };
                fsm::process_segment_event(fsm_state(tcb.state), event, &guards)
            };
            let mut h = Handler {
                tcb,
                fx: Effects::internal(),
                _seg: PhantomData,
            };
            fsm::run_row(&mut h, step.row, seg);
            let segment_done = h.fx.segment_done;
            enter(tcb, step.next, event.into(), TraceOrigin::Segment, step.row);
            // The row decides whether processing goes on (Discard, DeleteTcb).
            segment_done
        });
    }

    fn app_call(&mut self, tcb: &mut Tcb, call: AppCall<'_>) -> Result<usize, ConnectionError> {
        let event = app_event(&call);
        let step = {
            let guards = TcbGuards {
                tcb,
                seg: None,
                timer: None,
            };
            fsm::process_app_event(fsm_state(tcb.state), event, &guards)
        };
        let data = match call {
            AppCall::Send(d) => d,
            _ => &[],
        };
        let mut h = Handler {
            tcb,
            fx: Effects::for_app(data),
            _seg: PhantomData::<&()>,
        };
        fsm::run_local_row(&mut h, step.row);
        let Effects {
            queued, call_error, ..
        } = h.fx;
        enter(tcb, step.next, event.into(), TraceOrigin::App, step.row);
        match call_error {
            Some(e) => Err(e),
            None => Ok(queued),
        }
    }

    fn timer_fires(&mut self, tcb: &mut Tcb, timer: TimerKind) {
        let event = fsm_timer(timer);
        let step = {
            let guards = TcbGuards {
                tcb,
                seg: None,
                timer: Some(timer),
            };
            fsm::process_timer_event(fsm_state(tcb.state), event, &guards)
        };
        let mut h = Handler {
            tcb,
            fx: Effects::internal(),
            _seg: PhantomData::<&()>,
        };
        fsm::run_local_row(&mut h, step.row);
        enter(tcb, step.next, event.into(), TraceOrigin::Timer, step.row);
    }
}

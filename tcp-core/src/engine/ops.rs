//! The spec's actions as operations on the TCB, shared by the table-driven
//! engines (generated and interpreted): one place turns an action name into
//! a data-path primitive.

use crate::error::ConnectionError;
use crate::tcb::Tcb;
use crate::timer::TimerKind;
use crate::wire::Segment;

/// Actions that need no segment (`actions { local { ... } }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalOp {
    CreateTcb,
    SendSyn,
    SendSynAck,
    SendAck,
    SendChallengeAck,
    SendFin,
    SendRst,
    SendRstAck,
    Retransmit,
    SendProbe,
    SendKeepalive,
    QueueSend,
    StartTimer(TimerKind),
    StopTimer(TimerKind),
    SignalEstablished,
    Fail(ConnectionError),
    DeleteTcb,
    Discard,
}

impl LocalOp {
    /// Resolves a spec action (name and argument name) to an operation.
    pub fn from_spec(name: &str, arg: Option<&str>) -> Option<LocalOp> {
        let timer = || arg.and_then(TimerKind::from_spec_name);
        Some(match name {
            "CreateTcb" => LocalOp::CreateTcb,
            "SendSyn" => LocalOp::SendSyn,
            "SendSynAck" => LocalOp::SendSynAck,
            "SendAck" => LocalOp::SendAck,
            "SendChallengeAck" => LocalOp::SendChallengeAck,
            "SendFin" => LocalOp::SendFin,
            "SendRst" => LocalOp::SendRst,
            "SendRstAck" => LocalOp::SendRstAck,
            "Retransmit" => LocalOp::Retransmit,
            "SendProbe" => LocalOp::SendProbe,
            "SendKeepalive" => LocalOp::SendKeepalive,
            "QueueSend" => LocalOp::QueueSend,
            "StartTimer" => LocalOp::StartTimer(timer()?),
            "StopTimer" => LocalOp::StopTimer(timer()?),
            "SignalEstablished" => LocalOp::SignalEstablished,
            "Fail" => LocalOp::Fail(arg.and_then(ConnectionError::from_spec_name)?),
            "DeleteTcb" => LocalOp::DeleteTcb,
            "Discard" => LocalOp::Discard,
            _ => return None,
        })
    }
}

/// Actions that need the received segment (`actions { packet { ... } }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketOp {
    RecordSyn,
    AcceptAck,
    QueueText,
    ProcessFin,
    SendRstReply,
}

impl PacketOp {
    pub fn from_spec(name: &str) -> Option<PacketOp> {
        Some(match name {
            "RecordSyn" => PacketOp::RecordSyn,
            "AcceptAck" => PacketOp::AcceptAck,
            "QueueText" => PacketOp::QueueText,
            "ProcessFin" => PacketOp::ProcessFin,
            "SendRstReply" => PacketOp::SendRstReply,
            _ => return None,
        })
    }
}

/// What running one event's actions produced for the caller.
#[derive(Debug, Default)]
pub struct Effects<'d> {
    /// The data of a SEND call.
    pub data: &'d [u8],
    /// Bytes QueueSend accepted.
    pub queued: usize,
    /// `Fail(e)` in an app row: the call returns this error.
    pub call_error: Option<ConnectionError>,
    /// The segment's processing ends after this event: a Discard action
    /// ran, or DeleteTcb (RFC 9293 §3.10.7: "drop the segment and return",
    /// "delete the TCB ... and return"). Nothing else ends it: the table
    /// decides, not the classifier.
    pub segment_done: bool,
    /// The event came from a user call.
    pub from_app: bool,
}

impl<'d> Effects<'d> {
    pub fn for_app(data: &'d [u8]) -> Effects<'d> {
        Effects {
            data,
            from_app: true,
            ..Effects::default()
        }
    }

    pub fn internal() -> Effects<'static> {
        Effects::default()
    }
}

/// Runs a local action.
#[inline(always)]
pub fn run_local(tcb: &mut Tcb, fx: &mut Effects<'_>, op: LocalOp) {
    match op {
        LocalOp::CreateTcb => tcb.create_tcb(),
        LocalOp::SendSyn => tcb.send_syn(),
        LocalOp::SendSynAck => tcb.send_syn_ack(),
        LocalOp::SendAck => tcb.send_ack(),
        LocalOp::SendChallengeAck => tcb.send_challenge_ack(),
        LocalOp::SendFin => tcb.send_fin(),
        LocalOp::SendRst => tcb.send_rst(),
        LocalOp::SendRstAck => tcb.send_rst_ack(),
        LocalOp::Retransmit => tcb.retransmit(),
        LocalOp::SendProbe => tcb.send_probe(),
        LocalOp::SendKeepalive => tcb.send_keepalive(),
        LocalOp::QueueSend => fx.queued += tcb.queue_send(&fx.data[fx.queued.min(fx.data.len())..]),
        LocalOp::StartTimer(t) => tcb.start_timer(t),
        LocalOp::StopTimer(t) => tcb.stop_timer(t),
        LocalOp::SignalEstablished => tcb.signal_established(),
        LocalOp::Fail(e) => {
            if fx.from_app {
                fx.call_error = Some(e);
            } else {
                tcb.report_error(e);
            }
        }
        LocalOp::DeleteTcb => {
            tcb.delete_tcb();
            fx.segment_done = true;
        }
        LocalOp::Discard => fx.segment_done = true,
    }
}

/// Runs a packet action.
#[inline(always)]
pub fn run_packet(tcb: &mut Tcb, op: PacketOp, seg: &Segment<'_>) {
    match op {
        PacketOp::RecordSyn => tcb.record_syn(seg),
        PacketOp::AcceptAck => tcb.accept_ack(seg),
        PacketOp::QueueText => tcb.queue_text(seg),
        PacketOp::ProcessFin => tcb.process_fin(seg),
        PacketOp::SendRstReply => tcb.send_rst_reply(seg),
    }
}

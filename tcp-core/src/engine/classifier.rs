//! Turns an arriving segment into the ordered events of RFC 9293 §3.10.7.
//!
//! The classifier reads the TCB afresh before each event, because the actions
//! of one event (advancing RCV.NXT, acknowledging our FIN) decide the next:
//! [`classify`] runs each event through the caller before it makes the next
//! check, as straight-line code in the RFC's order.
//! The table-driven engines use it; the per-state engine does not.

use crate::tcb::{AckClass, Tcb};
use crate::wire::{Flags, Segment};

/// The segment events of `tcp.fsm` (`events { segment { ... } }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentClass {
    Syn,
    SynAck,
    Ack,
    Bare,
    Rst,
    RstAck,
    Unacceptable,
    NoAck,
    AckOfFin,
    AckTooNew,
    AckTooOld,
    Text,
    Fin,
}

impl SegmentClass {
    pub const ALL: [SegmentClass; 13] = [
        SegmentClass::Syn,
        SegmentClass::SynAck,
        SegmentClass::Ack,
        SegmentClass::Bare,
        SegmentClass::Rst,
        SegmentClass::RstAck,
        SegmentClass::Unacceptable,
        SegmentClass::NoAck,
        SegmentClass::AckOfFin,
        SegmentClass::AckTooNew,
        SegmentClass::AckTooOld,
        SegmentClass::Text,
        SegmentClass::Fin,
    ];

    /// The event's name in the spec.
    pub fn spec_name(self) -> &'static str {
        match self {
            SegmentClass::Syn => "Syn",
            SegmentClass::SynAck => "SynAck",
            SegmentClass::Ack => "Ack",
            SegmentClass::Bare => "Bare",
            SegmentClass::Rst => "Rst",
            SegmentClass::RstAck => "RstAck",
            SegmentClass::Unacceptable => "Unacceptable",
            SegmentClass::NoAck => "NoAck",
            SegmentClass::AckOfFin => "AckOfFin",
            SegmentClass::AckTooNew => "AckTooNew",
            SegmentClass::AckTooOld => "AckTooOld",
            SegmentClass::Text => "Text",
            SegmentClass::Fin => "Fin",
        }
    }
}

/// Walks the checks of RFC 9293 §3.10.7 for one segment, in order, and
/// hands each event to `on_event`, which runs it (the rows of the spec) and
/// answers whether the processing of the segment ends there (a Discard or
/// DeleteTcb action ran). Each check reads the TCB as the previous events
/// left it.
#[inline(always)]
pub fn classify<F>(tcb: &mut Tcb, seg: &Segment<'_>, mut on_event: F)
where
    F: FnMut(&mut Tcb, SegmentClass) -> bool,
{
    let flags = seg.header.flags;
    if !tcb.state.is_synchronized() {
        // RFC 9293 §3.10.7.1–§3.10.7.3: one decision by control bits;
        // "continue processing at the sixth step" afterwards unless the
        // row drops the segment (Discard) or deletes the TCB.
        if on_event(tcb, opening_class(flags)) {
            return;
        }
    } else {
        // RFC 9293 §3.10.7.4 first + second check, RST first (RFC 5961 §3.2).
        // Every row for Rst and Unacceptable ends the processing (Discard or
        // DeleteTcb); should an edited row not, the checks go on with the
        // fourth.
        if flags.contains(Flags::RST) {
            if on_event(tcb, SegmentClass::Rst) {
                return;
            }
        } else if !tcb.segment_acceptable(seg) && on_event(tcb, SegmentClass::Unacceptable) {
            return;
        }
        // Fourth check: SYN (RFC 5961 §4.2).
        if flags.contains(Flags::SYN) && on_event(tcb, SegmentClass::Syn) {
            return;
        }
        // Fifth check: the ACK field.
        let class = if !flags.contains(Flags::ACK) {
            SegmentClass::NoAck
        } else {
            match tcb.classify_ack(seg) {
                AckClass::TooNew => SegmentClass::AckTooNew,
                AckClass::TooOld => SegmentClass::AckTooOld,
                AckClass::OfFin => SegmentClass::AckOfFin,
                AckClass::Ok => SegmentClass::Ack,
            }
        };
        if on_event(tcb, class) {
            return;
        }
    }
    // Seventh check: segment text (or a FIN ahead of RCV.NXT, held for
    // reassembly like text).
    if tcb.has_text(seg) && on_event(tcb, SegmentClass::Text) {
        return;
    }
    // Eighth check: FIN, once it is in sequence.
    if tcb.fin_in_sequence(seg) {
        on_event(tcb, SegmentClass::Fin);
    }
}

/// The event of a segment in CLOSED, LISTEN or SYN-SENT, by control bits.
pub fn opening_class(flags: Flags) -> SegmentClass {
    let ack = flags.contains(Flags::ACK);
    if flags.contains(Flags::RST) {
        if ack {
            SegmentClass::RstAck
        } else {
            SegmentClass::Rst
        }
    } else if flags.contains(Flags::SYN) {
        if ack {
            SegmentClass::SynAck
        } else {
            SegmentClass::Syn
        }
    } else if ack {
        SegmentClass::Ack
    } else {
        SegmentClass::Bare
    }
}

//! Turns an arriving segment into the ordered events of RFC 9293 §3.10.7.
//!
//! The classifier reads the TCB afresh before each event, because the actions
//! of one event (advancing RCV.NXT, acknowledging our FIN) decide the next.
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Start,
    Syn,
    Ack,
    Text,
    Fin,
    Done,
}

/// Walks the checks of RFC 9293 §3.10.7 for one segment.
#[derive(Clone, Copy, Debug)]
pub struct Classifier {
    stage: Stage,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier {
            stage: Stage::Start,
        }
    }
}

impl Classifier {
    pub fn new() -> Classifier {
        Classifier::default()
    }

    /// The next event for `seg`, given the TCB as the previous events left it.
    #[inline]
    pub fn next(&mut self, tcb: &Tcb, seg: &Segment<'_>) -> Option<SegmentClass> {
        let flags = seg.header.flags;
        loop {
            match self.stage {
                Stage::Start => {
                    if !tcb.state.is_synchronized() {
                        // RFC 9293 §3.10.7.1–§3.10.7.3: one decision by control bits;
                        // "continue processing at the sixth step" afterwards
                        // unless the row drops the segment (Discard) or
                        // deletes the TCB.
                        self.stage = Stage::Text;
                        return Some(opening_class(flags));
                    }
                    // RFC 9293 §3.10.7.4 first + second check, RST first (RFC 5961 §3.2).
                    // Every row for Rst and Unacceptable ends the processing
                    // (Discard or DeleteTcb); should an edited row not, the
                    // checks go on with the fourth.
                    self.stage = Stage::Syn;
                    if flags.contains(Flags::RST) {
                        return Some(SegmentClass::Rst);
                    }
                    if !tcb.segment_acceptable(seg) {
                        return Some(SegmentClass::Unacceptable);
                    }
                }
                Stage::Syn => {
                    self.stage = Stage::Ack;
                    // Fourth check: SYN (RFC 5961 §4.2).
                    if flags.contains(Flags::SYN) {
                        return Some(SegmentClass::Syn);
                    }
                }
                Stage::Ack => {
                    // Fifth check: the ACK field.
                    self.stage = Stage::Text;
                    if !flags.contains(Flags::ACK) {
                        return Some(SegmentClass::NoAck);
                    }
                    return Some(match tcb.classify_ack(seg) {
                        AckClass::TooNew => SegmentClass::AckTooNew,
                        AckClass::TooOld => SegmentClass::AckTooOld,
                        AckClass::OfFin => SegmentClass::AckOfFin,
                        AckClass::Ok => SegmentClass::Ack,
                    });
                }
                Stage::Text => {
                    // Seventh check: segment text (or a FIN ahead of RCV.NXT,
                    // held for reassembly like text).
                    self.stage = Stage::Fin;
                    if tcb.has_text(seg) {
                        return Some(SegmentClass::Text);
                    }
                }
                Stage::Fin => {
                    // Eighth check: FIN, once it is in sequence.
                    self.stage = Stage::Done;
                    if tcb.fin_in_sequence(seg) {
                        return Some(SegmentClass::Fin);
                    }
                }
                Stage::Done => return None,
            }
        }
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

//! The default argument: the real tcp.fsm of the workspace.

mod fsm {
    tcp_fsm_macros::tcp_fsm!();
}

use fsm::{process_event, Event, State};

fn main() {
    assert_eq!(fsm::SPEC_NAME, "tcp.fsm");
    assert_eq!(State::INITIAL, State::Closed);
    assert_eq!(State::from_name("SYN_SENT"), Some(State::SynSent));
    assert_eq!(Event::from_name("segment.SynAck"), Some(Event::SynAck));
    // RFC 9293 §3.10.7.3: SYN,ACK with an acceptable ACK in SYN-SENT.
    let step = process_event(
        State::SynSent,
        Event::SynAck,
        &[true; fsm::GUARD_NAMES.len()],
    );
    assert_eq!(step.next, State::Established);
    assert!(fsm::SPEC_SOURCE.contains("state SynSent"));
    assert!(fsm::DOT.starts_with("digraph"));
}

//! A custom spec, named through an environment variable (see trybuild.rs).

mod door {
    tcp_fsm_macros::tcp_fsm!("$TCP_FSM_FIXTURES/small.fsm");
}

use door::{process_app_event, AppEvent, LocalAction, State, Timer};

fn main() {
    assert_eq!(door::SPEC_NAME, "small.fsm");
    assert_eq!(door::MACHINE_NAME, "Door");
    let step = process_app_event(State::Closed, AppEvent::Lock, &[true, false]);
    assert_eq!(step.next, State::Locked);
    assert_eq!(step.actions, &[LocalAction::StartTimer(Timer::Relock)]);
}

tcp_fsm_macros::tcp_fsm!("$TCP_FSM_FIXTURES/impossible_with_actions.fsm");

fn main() {}

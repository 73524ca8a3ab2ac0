tcp_fsm_macros::tcp_fsm!("$TCP_FSM_FIXTURES/does_not_exist.fsm");

fn main() {}

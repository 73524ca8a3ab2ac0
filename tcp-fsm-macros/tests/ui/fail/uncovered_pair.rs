tcp_fsm_macros::tcp_fsm!("$TCP_FSM_FIXTURES/uncovered_pair.fsm");

fn main() {}

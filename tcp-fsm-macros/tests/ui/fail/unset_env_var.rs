tcp_fsm_macros::tcp_fsm!("$TCP_FSM_UNSET_FOR_TESTS/small.fsm");

fn main() {}

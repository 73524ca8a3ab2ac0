tcp_fsm_macros::tcp_fsm!("$TCP_FSM_FIXTURES/misspelt_state.fsm");

fn main() {}

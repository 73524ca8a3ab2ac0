tcp_fsm_macros::tcp_fsm!("$TCP_FSM_FIXTURES/packet_action_in_app_row.fsm");

fn main() {}

tcp_fsm_macros::tcp_fsm!(small_fsm);

fn main() {}

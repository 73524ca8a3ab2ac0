//! The real spec (`tcp.fsm`): it parses, and its contents are what the
//! engines rely on.

use tcp_fsm_spec::*;

#[test]
fn real_spec_has_no_diagnostics() {
    if let Err(d) = parse_spec(SPEC_FILE_NAME, TCP_SPEC) {
        panic!("tcp.fsm has diagnostics:\n{}", d.render());
    }
}

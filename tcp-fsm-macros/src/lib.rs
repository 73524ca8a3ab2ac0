//! `tcp_fsm!`: loads a spec through `tcp-fsm-spec` and emits the engine.

//! The pure model of a TCP connection state machine written as a table.
//!
//! No proc-macro dependencies: this crate is used by the `tcp_fsm!` macro,
//! by the runtime interpreter in `tcp-core`, and by the `tcpfsm` tools.

pub mod ir;
pub mod span;

pub use ir::*;
pub use span::Span;

/// Path of the real spec, relative to this crate's manifest directory.
pub const SPEC_FILE_NAME: &str = "tcp.fsm";

/// The text of the real spec, compiled in.
pub const TCP_SPEC: &str = include_str!("../tcp.fsm");

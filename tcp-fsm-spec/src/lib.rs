//! The pure model of a TCP connection state machine written as a table.
//!
//! No proc-macro dependencies: this crate is used by the `tcp_fsm!` macro,
//! by the runtime interpreter in `tcp-core`, and by the `tcpfsm` tools.
//!
//! The pipeline is `lexer` → `parser` (to the `ast`) → `validate` (to the
//! [`ir::Spec`]), with every problem reported as a [`Diagnostic`] carrying a
//! `file:line:col` position.

pub mod ast;
pub mod diagnostic;
pub mod ir;
pub mod lexer;
pub mod parser;
pub mod span;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use ir::*;
pub use span::Span;

/// Path of the real spec, relative to this crate's manifest directory.
pub const SPEC_FILE_NAME: &str = "tcp.fsm";

/// The text of the real spec, compiled in.
pub const TCP_SPEC: &str = include_str!("../tcp.fsm");

/// Re-exports used by the code the `tcp_fsm!` proc-macro generates; not a
/// public API.
#[doc(hidden)]
pub mod __private {
    pub use phf;
}

//! The pure model of a TCP connection state machine written as a table.
//!
//! No proc-macro dependencies: this crate is used by the `tcp_fsm!` macro,
//! by the runtime interpreter in `tcp-core`, and by the `tcpfsm` tools.
//!
//! The pipeline is `lexer` → `parser` (to the `ast`) → `validate` (to the
//! [`ir::Spec`]), with every problem reported as a [`Diagnostic`] carrying a
//! `file:line:col` position. [`parse_spec`] and [`load_spec`] run all of it;
//! [`real_spec`] returns the compiled-in `tcp.fsm`.

pub mod ast;
pub mod diagnostic;
pub mod dot;
pub mod interp;
pub mod ir;
pub mod lexer;
pub mod markdown;
pub mod parser;
pub mod span;
pub mod validate;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use dot::{to_dot, DotOptions, Overlay};
pub use interp::Cell;
pub use ir::*;
pub use markdown::to_markdown;
pub use span::Span;

use std::path::{Path, PathBuf};

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

/// Why [`load_spec`] failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid spec.
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// Lexes, parses and validates `text`. `source_name` is what diagnostics and
/// row locations call the file, e.g. `tcp.fsm`. Every error found is
/// reported at once.
pub fn parse_spec(source_name: &str, text: &str) -> Result<Spec, Diagnostics> {
    let lexed = lexer::lex(text);
    let (file, parse_diags) = parser::parse(&lexed);
    let mut diags = lexed.diagnostics;
    diags.extend(parse_diags);
    let syntax_ok = diags.is_empty();
    let (spec, validate_diags) = validate::validate(source_name, &file, syntax_ok);
    diags.extend(validate_diags);
    match spec {
        Some(spec) if diags.is_empty() => Ok(spec),
        _ => Err(Diagnostics::new(source_name, text, diags)),
    }
}

/// Reads and validates the spec at `path`. Diagnostics name the file by its
/// file name (`tcp.fsm`); [`Diagnostics::path`] keeps the full path.
pub fn load_spec(path: &Path) -> Result<Spec, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    parse_spec(&name, &text).map_err(|d| LoadError::Invalid(d.with_path(path)))
}

/// The real spec (`tcp.fsm`, compiled in), validated.
///
/// # Panics
/// Never in practice: the `real_spec_has_no_diagnostics` test guarantees
/// the compiled-in file is valid.
pub fn real_spec() -> Spec {
    match parse_spec(SPEC_FILE_NAME, TCP_SPEC) {
        Ok(spec) => spec,
        Err(d) => panic!("the compiled-in tcp.fsm is invalid (a test guards against this):\n{d}"),
    }
}

//! Parser for packetdrill scripts (the TCP subset used by the FreeBSD
//! `tcp-testsuite` corpus, plus the rest of packetdrill's common TCP
//! grammar).
//!
//! A script is a list of header options (`--ip_version=ipv4`) followed by
//! timed statements: inbound (`<`) and outbound (`>`) TCP segments, system
//! calls with their expected results, backquoted shell commands and
//! `%{ }%` code blocks. `#ifdef NAME` / `#ifndef NAME` / `#else` / `#endif`
//! select lines by the names the caller defines (the corpus uses
//! [`STANDARD`] for standard-conforming behaviour and `FreeBSD` for
//! FreeBSD's own).
//!
//! ```
//! use conformance::packetdrill::{parse_script, StatementKind, STANDARD};
//! let script = parse_script(
//!     "example",
//!     "--ip_version=ipv4\n0.0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
//!      +0.1 < S 0:0(0) win 65535 <mss 1460>\n",
//!     &[STANDARD],
//! )
//! .unwrap();
//! assert_eq!(script.statements.len(), 2);
//! assert!(matches!(script.statements[1].kind, StatementKind::Packet(_)));
//! ```

mod ast;
mod classify;
pub mod cli;
mod error;
pub mod exec;
mod lexer;
pub mod matcher;
pub mod packet;
mod parser;
pub mod profile;
pub mod runner;
mod support;

use std::path::Path;

pub use ast::{
    CmpOp, CodeBlock, CodeKind, CodeValue, Command, CommandKind, Direction, EcnSpec, Expr,
    IpInfoSpec, IpVersion, PacketSpec, Script, ScriptOptions, SeqSpec, Statement, StatementKind,
    SyscallSpec, TcpFlags, TcpOptionSpec, TcpOptionsSpec, TcpiAssert, TcpiState, TimeSpec,
};
pub use error::{ParseError, SyntaxErrorKind};

/// The name the corpus's `#ifdef STANDARD` blocks test: define it to select
/// the standard-conforming expectations.
pub const STANDARD: &str = "STANDARD";

/// Parse the text of a script. `name` is used in error messages and kept in
/// [`Script::name`]; `defined` lists the names `#ifdef` considers defined.
pub fn parse_script(name: &str, text: &str, defined: &[&str]) -> Result<Script, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let chars: Vec<char> = text.chars().collect();
    let wrap = |(line, col, kind): (u32, u32, SyntaxErrorKind)| ParseError::Syntax {
        script: name.to_string(),
        line,
        col,
        kind,
    };
    let tokens = lexer::tokenize(&chars, defined).map_err(wrap)?;
    parser::Parser::new(tokens, &chars)
        .script(name)
        .map_err(wrap)
}

/// Read and parse a script file; its path (as displayed) becomes the
/// script's name.
pub fn parse_file(path: impl AsRef<Path>, defined: &[&str]) -> Result<Script, ParseError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ParseError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_script(&path.display().to_string(), &text, defined)
}

//! Errors of the packetdrill-script parser: one enum for the operation
//! (`ParseError`), and one for what went wrong at a source position
//! (`SyntaxErrorKind`).

use std::path::PathBuf;

use thiserror::Error;

/// Why a packetdrill script could not be parsed.
#[derive(Debug, Error)]
pub enum ParseError {
    /// The script file could not be read.
    #[error("{}: cannot read script: {source}", path.display())]
    Io {
        /// The path that was opened.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The script text is not valid: lexical, grammatical or semantic error
    /// at `line:col` (both 1-based; `col` counts characters).
    #[error("{script}:{line}:{col}: {kind}")]
    Syntax {
        /// The script name given to the parser (usually its path).
        script: String,
        /// 1-based line.
        line: u32,
        /// 1-based column, in characters.
        col: u32,
        /// What is wrong there.
        kind: SyntaxErrorKind,
    },
}

impl ParseError {
    /// The `(line, col)` of a syntax error; `None` for I/O errors.
    pub fn position(&self) -> Option<(u32, u32)> {
        match self {
            ParseError::Io { .. } => None,
            ParseError::Syntax { line, col, .. } => Some((*line, *col)),
        }
    }

    /// The kind of a syntax error; `None` for I/O errors.
    pub fn kind(&self) -> Option<&SyntaxErrorKind> {
        match self {
            ParseError::Io { .. } => None,
            ParseError::Syntax { kind, .. } => Some(kind),
        }
    }
}

/// What is wrong at a given position of a script.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    /// `/*` without a closing `*/`.
    #[error("unterminated /* comment")]
    UnterminatedComment,
    /// `%{` without a closing `}%`.
    #[error("unterminated %{{ code block (no closing }}%)")]
    UnterminatedCode,
    /// A backquoted shell command without its closing backquote.
    #[error("unterminated `command` (no closing backquote)")]
    UnterminatedCommand,
    /// A `"string"` without its closing quote.
    #[error("unterminated string literal")]
    UnterminatedString,
    /// A `(note)` after a system call result without its closing parenthesis.
    #[error("unterminated (note) after a system call result")]
    UnterminatedNote,
    /// A numeric literal that does not fit its type.
    #[error("number {text} is out of range for {what}")]
    NumberOutOfRange {
        /// What the number was for ("TCP window", "integer literal", ...).
        what: &'static str,
        /// The literal as written.
        text: String,
    },
    /// A malformed numeric literal such as `-x` or `-0x10`.
    #[error("malformed number {0:?}")]
    BadNumber(String),
    /// The parser expected one thing and found another.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What would have been accepted here.
        expected: String,
        /// A description of the token found.
        found: String,
    },
    /// A TCP flags word with a character that is not one of `FSRP.EWU`.
    #[error("invalid TCP flag {0:?} (flags are made of F S R P . E W U, or `-` for none)")]
    BadFlag(char),
    /// The same TCP flag given twice.
    #[error("TCP flag {0:?} given twice")]
    DuplicateFlag(char),
    /// `start:end(len)` with `end != start + len` (mod 2^32).
    #[error("inconsistent TCP sequence numbers and payload size: {start}:{end}({len})")]
    InconsistentSequence {
        /// Start sequence number.
        start: u32,
        /// End sequence number.
        end: u32,
        /// Payload length.
        len: u32,
    },
    /// A time written with a minus sign.
    #[error("negative time")]
    NegativeTime,
    /// `a~b` with `b < a`, or a blocking call ending before it starts.
    #[error("time range is backwards")]
    TimeRangeBackwards,
    /// `*` or a time range on anything but an outbound packet.
    #[error("event time {0} can only be used with outbound packets")]
    TimeOnlyForOutbound(&'static str),
    /// `<...>` (any options) or `...(len)` (any sequence) on an inbound packet.
    #[error("{0} can only be used with outbound packets")]
    WildcardOnlyForOutbound(&'static str),
    /// A TCP option name that is not known.
    #[error("unknown TCP option {0:?}")]
    UnknownTcpOption(String),
    /// A TCP Fast Open or MD5 value that is not a hex string of whole bytes.
    #[error("invalid hex blob {0:?} (need an even number of hex digits)")]
    BadHexBlob(String),
    /// An IP-level attribute inside `[...]`/`(...)` that is not known.
    #[error("unknown IP attribute {0:?}")]
    UnknownIpAttribute(String),
    /// A packet type other than TCP (UDP, ICMP, SCTP, encapsulation).
    #[error("unsupported packet type {0:?}: only TCP packets are supported")]
    UnsupportedPacket(String),
    /// `--ip_version=` with a value that is not `ipv4`, `ipv6` or
    /// `ipv4-mapped-ipv6`.
    #[error("unknown IP version {0:?}")]
    UnknownIpVersion(String),
    /// A header option whose value has the wrong form.
    #[error("invalid value {value:?} for option --{name}")]
    BadOptionValue {
        /// Option name, without the dashes.
        name: String,
        /// The value as written.
        value: String,
    },
    /// A `--option` after the first event.
    #[error("--{0} given after the first event: options must come first")]
    OptionAfterEvents(String),
    /// Anything after the cleanup command (an untimed command after events).
    #[error("nothing may follow the final untimed cleanup command")]
    AfterCleanupCommand,
    /// A preprocessor directive other than `#ifdef`, `#ifndef`, `#else`,
    /// `#endif`.
    #[error("unknown preprocessor directive #{0}")]
    UnknownDirective(String),
    /// `#ifdef`/`#ifndef` without a name.
    #[error("#{0} needs a name")]
    MissingDirectiveName(&'static str),
    /// Text after a directive that does not belong there.
    #[error("unexpected text after #{0}")]
    ExtraDirectiveText(&'static str),
    /// `#else` or `#endif` without an open `#ifdef`/`#ifndef`.
    #[error("#{0} without a matching #ifdef")]
    UnmatchedDirective(&'static str),
    /// Two `#else` for the same `#ifdef`.
    #[error("second #else for the same #ifdef")]
    DuplicateElse,
    /// An `#ifdef`/`#ifndef` still open at the end of the script.
    #[error("#ifdef opened here is not closed by #endif")]
    UnterminatedConditional,
    /// Expressions nested deeper than the parser allows.
    #[error("expression nested too deeply (more than {0} levels)")]
    TooDeep(u32),
}

//! Source positions.

/// A region of the source text: 1-based line and column of its start, and
/// byte offsets `start..end`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    pub start: usize,
    pub end: usize,
}

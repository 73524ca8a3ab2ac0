//! Diagnostics: what is wrong with a spec, where, and how to fix it.
//!
//! Rendered like rustc:
//! ```text
//! tcp.fsm:42:30: error[E0002]: unknown state `Establishd`
//!       |
//!    42 | on segment.Syn / SendAck -> Establishd
//!       |                             ^^^^^^^^^^
//!   = help: did you mean `Established`?
//! ```

use crate::span::Span;
use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `E0001` .. `E0009`, see GRAMMAR.md.
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    /// Extra lines, each starting with `help: ` or `note: `.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn new(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            span,
            notes: Vec::new(),
        }
    }

    /// Adds a `help: ...` line.
    pub fn help(mut self, text: impl fmt::Display) -> Self {
        self.notes.push(format!("help: {text}"));
        self
    }

    /// Adds a `note: ...` line.
    pub fn note(mut self, text: impl fmt::Display) -> Self {
        self.notes.push(format!("note: {text}"));
        self
    }

    /// The single first line: `tcp.fsm:42:30: error[E0002]: unknown state `Establishd``.
    pub fn headline(&self, source_name: &str) -> String {
        format!(
            "{}:{}:{}: error[{}]: {}",
            source_name, self.span.line, self.span.col, self.code, self.message
        )
    }

    /// The headline, the source line with a caret line under the span, and
    /// the notes.
    pub fn render(&self, source_name: &str, text: &str) -> String {
        let mut out = self.headline(source_name);
        out.push('\n');
        if let Some((line_text, line_start)) = line_at(text, self.span.start) {
            let gutter = " ".repeat(5);
            out.push_str(&format!("{gutter} |\n"));
            out.push_str(&format!("{:>5} | {}\n", self.span.line, line_text));
            // A span may start on the `\r` of a CRLF line ending.
            let col_start = (self.span.start - line_start).min(line_text.len());
            let prefix: String = line_text[..col_start]
                .chars()
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let end = (self.span.end.saturating_sub(line_start)).clamp(col_start, line_text.len());
            let width = line_text
                .get(col_start..end)
                .map_or(1, |s| s.chars().count())
                .max(1);
            out.push_str(&format!("{gutter} | {prefix}{}\n", "^".repeat(width)));
        }
        for note in &self.notes {
            out.push_str(&format!("  = {note}\n"));
        }
        out
    }
}

/// The text of the line containing byte `offset` (without its newline) and
/// the byte offset of the line's start. `None` when `offset` is past the end
/// or not on a character boundary.
fn line_at(text: &str, offset: usize) -> Option<(&str, usize)> {
    if offset > text.len() || !text.is_char_boundary(offset) {
        return None;
    }
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[start..end]
        .strip_suffix('\r')
        .unwrap_or(&text[start..end]);
    Some((line, start))
}

/// All the problems found in one spec, with the text they point into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics {
    /// What the file is called in messages, e.g. `tcp.fsm`.
    pub source_name: String,
    /// The full path the spec was loaded from, when it came from a file.
    pub path: Option<PathBuf>,
    /// The spec text the spans point into.
    pub source: String,
    /// In source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(source_name: &str, source: &str, mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
        Diagnostics {
            source_name: source_name.to_string(),
            path: None,
            source: source.to_string(),
            diagnostics,
        }
    }

    /// Records the full path the spec was read from.
    pub fn with_path(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.diagnostics.iter()
    }

    /// Whether some diagnostic has this code.
    pub fn has_code(&self, code: &str) -> bool {
        self.diagnostics.iter().any(|d| d.code == code)
    }

    /// Every diagnostic rendered, separated by blank lines, then a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&d.render(&self.source_name, &self.source));
            out.push('\n');
        }
        let n = self.diagnostics.len();
        let at = match &self.path {
            Some(p) => format!(" ({})", p.display()),
            None => String::new(),
        };
        out.push_str(&format!(
            "{}{at}: {n} error{}\n",
            self.source_name,
            if n == 1 { "" } else { "s" }
        ));
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().trim_end())
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.diagnostics.iter()
    }
}

/// Levenshtein distance between two strings, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a likely
/// typo: a case-insensitive match, or an edit distance of at most a third of
/// the name's length (at least 1).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for cand in candidates {
        if cand == name {
            continue;
        }
        let d = if cand.to_lowercase() == lower {
            0
        } else {
            edit_distance(&lower, &cand.to_lowercase())
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions() {
        assert_eq!(edit_distance("Establishd", "Established"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn did_you_mean_picks_the_closest_within_limit() {
        let names = ["Closed", "Listen", "Established", "SynSent"];
        assert_eq!(did_you_mean("Establishd", names), Some("Established"));
        assert_eq!(did_you_mean("closed", names), Some("Closed"));
        assert_eq!(did_you_mean("Nothing", names), None);
    }

    #[test]
    fn render_points_a_caret_at_the_span() {
        let text = "machine M\non segment.Syn -> Establishd\n";
        let start = text.find("Establishd").unwrap();
        let span = Span {
            line: 2,
            col: 19,
            start,
            end: start + 10,
        };
        let d = Diagnostic::new("E0002", span, "unknown state `Establishd`")
            .help("did you mean `Established`?");
        let r = d.render("x.fsm", text);
        assert_eq!(
            r,
            "x.fsm:2:19: error[E0002]: unknown state `Establishd`\n      |\n    2 | on segment.Syn -> Establishd\n      |                   ^^^^^^^^^^\n  = help: did you mean `Established`?\n"
        );
    }
}

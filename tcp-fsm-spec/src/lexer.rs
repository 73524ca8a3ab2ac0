//! The hand-written lexer of the `.fsm` language (GRAMMAR.md, "Lexical rules").
//!
//! It never stops at an error: a bad character or an unterminated string is
//! reported (E0001) and lexing goes on, so later errors are found too.

use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// The words that cannot name a declaration.
pub const KEYWORDS: &[&str] = &[
    "machine",
    "initial",
    "states",
    "events",
    "actions",
    "guards",
    "errors",
    "state",
    "on",
    "stay",
    "impossible",
    "local",
    "packet",
    "app",
    "segment",
    "timer",
];

/// Whether `word` is one of [`KEYWORDS`].
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// An identifier or keyword.
    Ident(String),
    /// A string literal, escapes resolved.
    Str(String),
    /// A `///` doc comment line, without the slashes, trimmed.
    Doc(String),
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Slash,
    Bang,
    Eq,
    Star,
    Arrow,
    Eof,
}

impl TokenKind {
    /// How the token is named in "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Ident(s) if is_keyword(s) => format!("keyword `{s}`"),
            TokenKind::Ident(s) => format!("`{s}`"),
            TokenKind::Str(s) => format!("string \"{s}\""),
            TokenKind::Doc(_) => "doc comment".to_string(),
            TokenKind::Eof => "end of file".to_string(),
            other => format!("`{}`", other.punct()),
        }
    }

    fn punct(&self) -> &'static str {
        match self {
            TokenKind::LBrace => "{",
            TokenKind::RBrace => "}",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::LBracket => "[",
            TokenKind::RBracket => "]",
            TokenKind::Comma => ",",
            TokenKind::Dot => ".",
            TokenKind::Slash => "/",
            TokenKind::Bang => "!",
            TokenKind::Eq => "=",
            TokenKind::Star => "*",
            TokenKind::Arrow => "->",
            _ => "",
        }
    }

    /// Whether this is the identifier or keyword `word`.
    pub fn is_word(&self, word: &str) -> bool {
        matches!(self, TokenKind::Ident(s) if s == word)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// A plain `//` comment (guard declarations take their doc from one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// The text after `//`, trimmed.
    pub text: String,
    pub span: Span,
}

/// The lexer's output: tokens ending with one `Eof`, comments, and errors.
#[derive(Clone, Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub comments: Vec<Comment>,
    pub diagnostics: Vec<Diagnostic>,
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    line: u32,
    /// Byte offset where the current line starts.
    line_start: usize,
    out: Lexed,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.text[self.pos..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.line_start = self.pos;
        }
        Some(c)
    }

    /// The span from `start` (a byte offset on the current line, or the line
    /// `line` starting at `line_start`) to the current position.
    fn span_from(&self, start: usize, line: u32, line_start: usize) -> Span {
        let col = self.text[line_start..start].chars().count() + 1;
        Span {
            line,
            col: u32::try_from(col).unwrap_or(u32::MAX),
            start,
            end: self.pos,
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        let span = self.span_from(start, self.line, self.line_start);
        self.out.tokens.push(Token { kind, span });
    }

    fn run(mut self) -> Lexed {
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                c if c.is_whitespace() => {
                    self.bump();
                }
                '/' if self.peek2() == Some('/') => self.comment(start),
                '"' => self.string(start),
                c if c.is_ascii_alphabetic() || c == '_' => {
                    while self
                        .peek()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        self.bump();
                    }
                    let word = self.text[start..self.pos].to_string();
                    self.push(TokenKind::Ident(word), start);
                }
                '-' if self.peek2() == Some('>') => {
                    self.bump();
                    self.bump();
                    self.push(TokenKind::Arrow, start);
                }
                _ => {
                    self.bump();
                    let kind = match c {
                        '{' => TokenKind::LBrace,
                        '}' => TokenKind::RBrace,
                        '(' => TokenKind::LParen,
                        ')' => TokenKind::RParen,
                        '[' => TokenKind::LBracket,
                        ']' => TokenKind::RBracket,
                        ',' => TokenKind::Comma,
                        '.' => TokenKind::Dot,
                        '/' => TokenKind::Slash,
                        '!' => TokenKind::Bang,
                        '=' => TokenKind::Eq,
                        '*' => TokenKind::Star,
                        _ => {
                            let span = self.span_from(start, self.line, self.line_start);
                            let mut d = Diagnostic::new(
                                "E0001",
                                span,
                                format!("unexpected character `{}`", c.escape_default()),
                            );
                            if c == '-' {
                                // Read a lone `-` as the `->` it almost
                                // certainly is, so the row still parses.
                                d = d.help("did you mean `->`?");
                                self.out.diagnostics.push(d);
                                self.push(TokenKind::Arrow, start);
                                continue;
                            }
                            self.out.diagnostics.push(d);
                            continue;
                        }
                    };
                    self.push(kind, start);
                }
            }
        }
        let start = self.pos;
        self.push(TokenKind::Eof, start);
        self.out
    }

    /// `// ...` or `/// ...` up to the end of the line.
    fn comment(&mut self, start: usize) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.bump();
        }
        let raw = &self.text[start..self.pos];
        let span = self.span_from(start, self.line, self.line_start);
        // `///` is a doc comment, `////...` a plain one (as in Rust).
        if let Some(rest) = raw.strip_prefix("///").filter(|r| !r.starts_with('/')) {
            let doc = rest.trim().to_string();
            self.out.tokens.push(Token {
                kind: TokenKind::Doc(doc),
                span,
            });
        } else {
            let text = raw.trim_start_matches('/').trim().to_string();
            self.out.comments.push(Comment { text, span });
        }
    }

    /// `"..."`; `\"` and `\\` are escapes, other backslashes are kept.
    /// A string must end on its line.
    fn string(&mut self, start: usize) {
        let (line, line_start) = (self.line, self.line_start);
        self.bump();
        let mut value = String::new();
        loop {
            match self.peek() {
                Some('"') => {
                    self.bump();
                    break;
                }
                Some('\\') => {
                    self.bump();
                    match self.peek() {
                        Some(c @ ('"' | '\\')) => {
                            self.bump();
                            value.push(c);
                        }
                        _ => value.push('\\'),
                    }
                }
                Some('\n') | None => {
                    let span = self.span_from(start, line, line_start);
                    self.out.diagnostics.push(
                        Diagnostic::new("E0001", span, "unterminated string")
                            .help("close the string with `\"` on the same line"),
                    );
                    break;
                }
                Some(c) => {
                    self.bump();
                    value.push(c);
                }
            }
        }
        let span = self.span_from(start, line, line_start);
        self.out.tokens.push(Token {
            kind: TokenKind::Str(value),
            span,
        });
    }
}

/// Splits `text` into tokens. Always ends with an `Eof` token.
pub fn lex(text: &str) -> Lexed {
    Lexer {
        text,
        pos: 0,
        line: 1,
        line_start: 0,
        out: Lexed::default(),
    }
    .run()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        lex(text).tokens.into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn lexes_a_row_with_positions() {
        let l = lex("state A {\n  on app.Open [g, !h] / Act(X) -> stay\n}");
        assert!(l.diagnostics.is_empty());
        let on = &l.tokens[3];
        assert_eq!(on.kind, TokenKind::Ident("on".into()));
        assert_eq!((on.span.line, on.span.col), (2, 3));
        assert!(kinds("a -> b").contains(&TokenKind::Arrow));
        assert_eq!(
            kinds("[!g]"),
            vec![
                TokenKind::LBracket,
                TokenKind::Bang,
                TokenKind::Ident("g".into()),
                TokenKind::RBracket,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn separates_doc_comments_from_plain_comments() {
        let l = lex("/// RFC 9293 §3.10.7.3\n// plain\n//// also plain\nx // trailing");
        let docs: Vec<_> = l
            .tokens
            .iter()
            .filter_map(|t| match &t.kind {
                TokenKind::Doc(d) => Some(d.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(docs, vec!["RFC 9293 §3.10.7.3"]);
        let comments: Vec<_> = l.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(comments, vec!["plain", "also plain", "trailing"]);
        assert_eq!(l.comments[2].span.line, 4);
    }

    #[test]
    fn strings_with_escapes_and_unterminated_strings() {
        assert_eq!(
            kinds(r#""a \"b\" \\ c""#)[0],
            TokenKind::Str(r#"a "b" \ c"#.into())
        );
        let l = lex("x = \"open\ny");
        assert_eq!(l.diagnostics.len(), 1);
        assert_eq!(l.diagnostics[0].code, "E0001");
        assert_eq!(l.diagnostics[0].span.line, 1);
        assert_eq!(l.tokens.last().unwrap().kind, TokenKind::Eof);
    }

    #[test]
    fn bad_characters_are_reported_and_skipped() {
        let l = lex("a - b # é c");
        assert_eq!(l.diagnostics.len(), 3);
        assert!(l.diagnostics[0].notes[0].contains("->"));
        // `a`, `->` (recovered from `-`), `b`, `c`, end of file.
        assert_eq!(l.tokens.len(), 5);
        assert_eq!(l.tokens[1].kind, TokenKind::Arrow);
        assert_eq!(l.diagnostics[2].span.col, 9);
    }
}

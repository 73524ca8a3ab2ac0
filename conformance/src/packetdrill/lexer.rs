//! Tokens of the packetdrill script language, and the conditional
//! preprocessing (`#ifdef NAME` / `#ifndef NAME` / `#else` / `#endif`) the
//! FreeBSD corpus uses.
//!
//! The token set follows packetdrill's scanner: whitespace and newlines only
//! separate tokens (statements are delimited by the grammar, not by lines);
//! `//` and `/* */` are comments; `%{ }%`, backquotes and double quotes
//! delimit code, commands and strings; `--name[=value]` is a header option;
//! numbers are decimal, `0x` hex or `[-]digits.digits` floats; any other
//! character is a punctuation token of its own.
//!
//! Directives are recognised only as the first non-blank text of a line
//! outside comments and code blocks. Lines in an inactive branch are skipped
//! line by line (only directives are looked at there).

use super::error::SyntaxErrorKind;

/// A token kind with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `--name` or `--name=value` (value without surrounding quotes).
    Opt { name: String, value: Option<String> },
    /// A decimal integer, possibly negative.
    Int(i64),
    /// A `0x` hexadecimal integer.
    Hex(u64),
    /// A float, kept as written so times convert exactly.
    Float(String),
    /// A dotted-quad IPv4 address.
    Ipv4(String),
    /// `[A-Za-z_][A-Za-z0-9_]*` (and digit-led words such as `3com`).
    Word(String),
    /// The text between double quotes, escapes kept as written.
    Str(String),
    /// The text between backquotes, escapes kept as written.
    BackQuoted(String),
    /// The text between `%{` and `}%`, spaces and tabs stripped at both ends.
    Code(String),
    /// `...`
    Ellipsis,
    /// Any other single character.
    Punct(char),
    /// End of input.
    Eof,
}

/// A token with its position. `start`/`end` index the script's characters.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: u32,
    pub col: u32,
    pub start: usize,
    pub end: usize,
}

/// A lexical error at `line:col`.
pub(crate) type LexError = (u32, u32, SyntaxErrorKind);

/// An open `#ifdef`/`#ifndef`.
struct CondFrame {
    /// Whether the enclosing text was active.
    parent_active: bool,
    /// The condition of the `#ifdef`/`#ifndef`.
    cond: bool,
    /// Whether `#else` was seen.
    in_else: bool,
    line: u32,
    col: u32,
}

impl CondFrame {
    fn active(&self) -> bool {
        self.parent_active && (self.cond != self.in_else)
    }
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
    line: u32,
    col: u32,
    /// Only blanks since the last newline (or the start of the input).
    at_line_start: bool,
    defined: &'a [&'a str],
    conds: Vec<CondFrame>,
    out: Vec<Token>,
}

/// Split `chars` into tokens, applying `#ifdef` preprocessing with the names
/// in `defined`.
pub(crate) fn tokenize(chars: &[char], defined: &[&str]) -> Result<Vec<Token>, LexError> {
    let mut lx = Lexer {
        chars,
        pos: 0,
        line: 1,
        col: 1,
        at_line_start: true,
        defined,
        conds: Vec::new(),
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl<'a> Lexer<'a> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
            self.at_line_start = true;
        } else {
            self.col += 1;
            if !matches!(c, ' ' | '\t' | '\r') {
                self.at_line_start = false;
            }
        }
        Some(c)
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.chars.get(start..end).unwrap_or(&[]).iter().collect()
    }

    fn active(&self) -> bool {
        self.conds.last().is_none_or(CondFrame::active)
    }

    fn push(&mut self, tok: Tok, start: usize, line: u32, col: u32) {
        self.out.push(Token {
            tok,
            line,
            col,
            start,
            end: self.pos,
        });
    }

    fn run(&mut self) -> Result<(), LexError> {
        loop {
            while matches!(self.peek(0), Some(c) if c.is_whitespace()) {
                self.bump();
            }
            let (start, line, col) = (self.pos, self.line, self.col);
            let Some(c) = self.peek(0) else {
                if let Some(open) = self.conds.last() {
                    return Err((
                        open.line,
                        open.col,
                        SyntaxErrorKind::UnterminatedConditional,
                    ));
                }
                self.push(Tok::Eof, start, line, col);
                return Ok(());
            };
            let next = self.peek(1);
            match c {
                '#' if self.at_line_start => {
                    self.directive(false)?;
                    if !self.active() {
                        self.skip_inactive()?;
                    }
                }
                '/' if next == Some('/') => {
                    while matches!(self.peek(0), Some(c) if c != '\n') {
                        self.bump();
                    }
                }
                '/' if next == Some('*') => {
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err((line, col, SyntaxErrorKind::UnterminatedComment)),
                            Some('*') if self.peek(0) == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                '%' if next == Some('{') => {
                    self.bump();
                    self.bump();
                    let body = self.pos;
                    loop {
                        match self.bump() {
                            None => return Err((line, col, SyntaxErrorKind::UnterminatedCode)),
                            Some('}') if self.peek(0) == Some('%') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                    let code = self.text(body, self.pos - 2);
                    let code = code.trim_matches(|c| c == ' ' || c == '\t').to_string();
                    self.push(Tok::Code(code), start, line, col);
                }
                '`' | '"' => {
                    self.bump();
                    let body = self.pos;
                    loop {
                        match self.bump() {
                            None => {
                                let kind = if c == '`' {
                                    SyntaxErrorKind::UnterminatedCommand
                                } else {
                                    SyntaxErrorKind::UnterminatedString
                                };
                                return Err((line, col, kind));
                            }
                            Some('\\') => {
                                self.bump();
                            }
                            Some(q) if q == c => break,
                            Some(_) => {}
                        }
                    }
                    let text = self.text(body, self.pos - 1);
                    let tok = if c == '`' {
                        Tok::BackQuoted(text)
                    } else {
                        Tok::Str(text)
                    };
                    self.push(tok, start, line, col);
                }
                '-' if next == Some('-') && self.peek(2).is_some_and(is_ident) => {
                    self.option(start, line, col);
                }
                '-' if next.is_some_and(|d| d.is_ascii_digit())
                    || (next == Some('.') && self.peek(2).is_some_and(|d| d.is_ascii_digit())) =>
                {
                    self.number(start, line, col)?;
                }
                '.' if next == Some('.') && self.peek(2) == Some('.') => {
                    self.bump();
                    self.bump();
                    self.bump();
                    self.push(Tok::Ellipsis, start, line, col);
                }
                '.' if next.is_some_and(|d| d.is_ascii_digit()) => {
                    self.number(start, line, col)?;
                }
                c if c.is_ascii_digit() => self.number(start, line, col)?,
                c if is_ident(c) => {
                    while self.peek(0).is_some_and(is_ident) {
                        self.bump();
                    }
                    let w = self.text(start, self.pos);
                    self.push(Tok::Word(w), start, line, col);
                }
                c => {
                    self.bump();
                    self.push(Tok::Punct(c), start, line, col);
                }
            }
        }
    }

    /// `--name` and an optional `=value` running to the next blank or `//`.
    fn option(&mut self, start: usize, line: u32, col: u32) {
        self.bump();
        self.bump();
        let name_start = self.pos;
        while self.peek(0).is_some_and(is_ident) {
            self.bump();
        }
        let name = self.text(name_start, self.pos);
        let mut value = None;
        if self.peek(0) == Some('=') {
            self.bump();
            let v_start = self.pos;
            if self.peek(0) == Some('"') {
                self.bump();
                while matches!(self.peek(0), Some(c) if c != '"' && c != '\n') {
                    self.bump();
                }
                let v = self.text(v_start + 1, self.pos);
                if self.peek(0) == Some('"') {
                    self.bump();
                }
                value = Some(v);
            } else {
                while let Some(c) = self.peek(0) {
                    if c.is_whitespace() || (c == '/' && self.peek(1) == Some('/')) {
                        break;
                    }
                    self.bump();
                }
                value = Some(self.text(v_start, self.pos));
            }
        }
        self.push(Tok::Opt { name, value }, start, line, col);
    }

    /// A number (or digit-led word, or IPv4 address) starting at `start`.
    fn number(&mut self, start: usize, line: u32, col: u32) -> Result<(), LexError> {
        let negative = self.peek(0) == Some('-');
        if !negative {
            if let Some(len) = self.ipv4_len() {
                for _ in 0..len {
                    self.bump();
                }
                let a = self.text(start, self.pos);
                self.push(Tok::Ipv4(a), start, line, col);
                return Ok(());
            }
        }
        if negative {
            self.bump();
        }
        let run_start = self.pos;
        while self.peek(0).is_some_and(is_ident) {
            self.bump();
        }
        let run = self.text(run_start, self.pos);
        let all_digits = run.chars().all(|c| c.is_ascii_digit());
        if all_digits
            && self.peek(0) == Some('.')
            && self.peek(1).is_some_and(|c| c.is_ascii_digit())
        {
            self.bump();
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            let f = self.text(start, self.pos);
            self.push(Tok::Float(f), start, line, col);
            return Ok(());
        }
        let whole = self.text(start, self.pos);
        if all_digits {
            // `run` is non-empty here: the caller saw a digit (or `-digit`).
            return match whole.parse::<i64>() {
                Ok(v) => {
                    self.push(Tok::Int(v), start, line, col);
                    Ok(())
                }
                Err(_) => Err((
                    line,
                    col,
                    SyntaxErrorKind::NumberOutOfRange {
                        what: "a 64-bit integer literal",
                        text: whole,
                    },
                )),
            };
        }
        let hex_digits = run.strip_prefix("0x").or_else(|| run.strip_prefix("0X"));
        if let Some(h) =
            hex_digits.filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
        {
            if negative {
                return Err((line, col, SyntaxErrorKind::BadNumber(whole)));
            }
            return match u64::from_str_radix(h, 16) {
                Ok(v) => {
                    self.push(Tok::Hex(v), start, line, col);
                    Ok(())
                }
                Err(_) => Err((
                    line,
                    col,
                    SyntaxErrorKind::NumberOutOfRange {
                        what: "a 64-bit hex literal",
                        text: whole,
                    },
                )),
            };
        }
        if negative || run.is_empty() {
            return Err((line, col, SyntaxErrorKind::BadNumber(whole)));
        }
        self.push(Tok::Word(run), start, line, col);
        Ok(())
    }

    /// Length of a dotted quad `d+.d+.d+.d+` at the cursor, not followed by
    /// an identifier character, a dot or a digit.
    fn ipv4_len(&self) -> Option<usize> {
        let mut i = 0;
        for part in 0..4 {
            if part > 0 {
                if self.peek(i) != Some('.') {
                    return None;
                }
                i += 1;
            }
            let digits_start = i;
            while self.peek(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
            if i == digits_start || i - digits_start > 3 {
                return None;
            }
        }
        match self.peek(i) {
            Some(c) if is_ident(c) || c == '.' => None,
            _ => Some(i),
        }
    }

    /// Handle a directive line starting at `#` (cursor on `#`). Consumes the
    /// line up to (not including) its newline. While `skipping` an inactive
    /// branch, lines starting with `#` that are not conditional directives
    /// are ignored (as a C preprocessor does).
    fn directive(&mut self, skipping: bool) -> Result<(), LexError> {
        let (line, col) = (self.line, self.col);
        let start = self.pos;
        while matches!(self.peek(0), Some(c) if c != '\n') {
            self.bump();
        }
        let text = self.text(start + 1, self.pos);
        let text = match text.find("//") {
            Some(i) => &text[..i],
            None => &text[..],
        };
        let mut words = text.split_whitespace();
        let name = words.next().unwrap_or("");
        let arg = words.next();
        let extra = words.next().is_some();
        let err = |kind| Err((line, col, kind));
        match name {
            "ifdef" | "ifndef" => {
                let dname = if name == "ifdef" { "ifdef" } else { "ifndef" };
                let Some(sym) = arg else {
                    return err(SyntaxErrorKind::MissingDirectiveName(dname));
                };
                if extra {
                    return err(SyntaxErrorKind::ExtraDirectiveText(dname));
                }
                let is_defined = self.defined.contains(&sym);
                let parent_active = self.active();
                self.conds.push(CondFrame {
                    parent_active,
                    cond: is_defined == (name == "ifdef"),
                    in_else: false,
                    line,
                    col,
                });
            }
            "else" | "endif" => {
                let dname = if name == "else" { "else" } else { "endif" };
                if arg.is_some() {
                    return err(SyntaxErrorKind::ExtraDirectiveText(dname));
                }
                if name == "else" {
                    match self.conds.last_mut() {
                        None => return err(SyntaxErrorKind::UnmatchedDirective("else")),
                        Some(f) if f.in_else => return err(SyntaxErrorKind::DuplicateElse),
                        Some(f) => f.in_else = true,
                    }
                } else if self.conds.pop().is_none() {
                    return err(SyntaxErrorKind::UnmatchedDirective("endif"));
                }
            }
            _ if skipping => {}
            other => return err(SyntaxErrorKind::UnknownDirective(other.to_string())),
        }
        Ok(())
    }

    /// Skip lines of an inactive branch until a directive re-activates the
    /// text or the input ends.
    fn skip_inactive(&mut self) -> Result<(), LexError> {
        while !self.active() {
            // Finish the current line.
            while matches!(self.peek(0), Some(c) if c != '\n') {
                self.bump();
            }
            if self.bump().is_none() {
                return Ok(()); // `run` reports the open conditional.
            }
            while matches!(self.peek(0), Some(' ' | '\t' | '\r')) {
                self.bump();
            }
            if self.peek(0) == Some('#') {
                self.directive(true)?;
            }
        }
        Ok(())
    }
}

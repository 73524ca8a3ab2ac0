//! Recursive-descent parser over the token stream, following packetdrill's
//! grammar for the TCP subset:
//!
//! ```text
//! script     := option* command? statement* command?
//! statement  := time (packet | syscall | command | code)
//! time       := '+' secs ('~' '+' secs)? | secs ('~' secs)? | '*'
//! packet     := ('<'|'>') ip_info? (INT '>' INT)? flags seq
//!               ('ack' INT)? ('win' INT)? ('urg' INT)? options?
//! ip_info    := ('['|'(') ip_attr (',' ip_attr)* (']'|')')
//! flags      := WORD '.'? | '.' | '-'
//! seq        := INT ':' INT '(' INT ')' '!'? | '...' '(' INT ')'
//! options    := '<' '...' '>' | '<' tcp_option (',' tcp_option)* '>'
//! syscall    := ('...' secs)? WORD '(' exprs? ')' '=' expr WORD? note?
//! expr       := primary ('|' primary)*
//! primary    := '...' | INT | HEX | STRING '...'? | '[' exprs? ']'
//!             | '{' exprs? '}' | WORD ('(' exprs? ')')? ('=' expr)?
//! ```
//!
//! Semantic checks packetdrill makes at parse time are made here too:
//! number ranges, `end == start + len`, `*`/time ranges/`<...>`/`...(len)`
//! only on outbound packets, no negative or backwards times.

use super::ast::{
    CodeBlock, Command, Direction, EcnSpec, Expr, IpInfoSpec, IpVersion, PacketSpec, Script,
    ScriptOptions, SeqSpec, Statement, StatementKind, SyscallSpec, TcpFlags, TcpOptionSpec,
    TcpOptionsSpec, TimeSpec,
};
use super::classify::{classify_code, classify_command};
use super::error::SyntaxErrorKind;
use super::lexer::{Tok, Token};

/// Deepest nesting of expressions (`[[[...]]]`) accepted.
const MAX_DEPTH: u32 = 64;

/// A parse error at `line:col`.
pub(crate) type PError = (u32, u32, SyntaxErrorKind);
type PResult<T> = Result<T, PError>;

pub(crate) struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    src: &'a [char],
    depth: u32,
    eof: Token,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Opt { name, .. } => format!("option `--{name}`"),
        Tok::Int(v) => format!("integer `{v}`"),
        Tok::Hex(v) => format!("hex integer `0x{v:x}`"),
        Tok::Float(s) => format!("number `{s}`"),
        Tok::Ipv4(a) => format!("address `{a}`"),
        Tok::Word(w) => format!("`{w}`"),
        Tok::Str(_) => "a string".to_string(),
        Tok::BackQuoted(_) => "a `command`".to_string(),
        Tok::Code(_) => "a %{ code }% block".to_string(),
        Tok::Ellipsis => "`...`".to_string(),
        Tok::Punct(c) => format!("`{c}`"),
        Tok::Eof => "end of script".to_string(),
    }
}

impl<'a> Parser<'a> {
    pub(crate) fn new(toks: Vec<Token>, src: &'a [char]) -> Self {
        let (line, col) = toks.last().map_or((1, 1), |t| (t.line, t.col));
        let end = src.len();
        Parser {
            toks,
            pos: 0,
            src,
            depth: 0,
            eof: Token {
                tok: Tok::Eof,
                line,
                col,
                start: end,
                end,
            },
        }
    }

    // ----- token helpers -------------------------------------------------

    fn peek_at(&self, ahead: usize) -> &Token {
        self.toks.get(self.pos + ahead).unwrap_or(&self.eof)
    }

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek().tok == Tok::Punct(c)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(x) if x == w)
    }

    fn err_at(t: &Token, kind: SyntaxErrorKind) -> PError {
        (t.line, t.col, kind)
    }

    fn unexpected(&self, expected: &str) -> PError {
        let t = self.peek();
        Self::err_at(
            t,
            SyntaxErrorKind::Unexpected {
                expected: expected.to_string(),
                found: describe(&t.tok),
            },
        )
    }

    fn expect_punct(&mut self, c: char) -> PResult<Token> {
        if self.is_punct(c) {
            Ok(self.advance())
        } else {
            Err(self.unexpected(&format!("`{c}`")))
        }
    }

    fn expect_word(&mut self, w: &str) -> PResult<Token> {
        if self.is_word(w) {
            Ok(self.advance())
        } else {
            Err(self.unexpected(&format!("`{w}`")))
        }
    }

    fn source(&self, start: usize, end: usize) -> String {
        self.src.get(start..end).unwrap_or(&[]).iter().collect()
    }

    /// A non-negative decimal integer no larger than `max`.
    fn uint(&mut self, what: &'static str, max: u64) -> PResult<u64> {
        let t = self.peek().clone();
        let Tok::Int(v) = t.tok else {
            return Err(self.unexpected(what));
        };
        self.advance();
        match u64::try_from(v) {
            Ok(u) if u <= max => Ok(u),
            _ => Err(Self::err_at(
                &t,
                SyntaxErrorKind::NumberOutOfRange {
                    what,
                    text: self.source(t.start, t.end),
                },
            )),
        }
    }

    fn u32_num(&mut self, what: &'static str) -> PResult<u32> {
        // `uint` bounds the value by `u32::MAX`, so the conversion is exact.
        self.uint(what, u64::from(u32::MAX))
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
    }

    fn u16_num(&mut self, what: &'static str) -> PResult<u16> {
        self.uint(what, u64::from(u16::MAX))
            .map(|v| u16::try_from(v).unwrap_or(u16::MAX))
    }

    fn u8_num(&mut self, what: &'static str) -> PResult<u8> {
        self.uint(what, u64::from(u8::MAX))
            .map(|v| u8::try_from(v).unwrap_or(u8::MAX))
    }

    /// A `0x` hex integer no larger than `max`.
    fn hex(&mut self, what: &'static str, max: u64) -> PResult<u64> {
        let t = self.peek().clone();
        let Tok::Hex(v) = t.tok else {
            return Err(self.unexpected(what));
        };
        self.advance();
        if v > max {
            return Err(Self::err_at(
                &t,
                SyntaxErrorKind::NumberOutOfRange {
                    what,
                    text: self.source(t.start, t.end),
                },
            ));
        }
        Ok(v)
    }

    // ----- script ----------------------------------------------------------

    pub(crate) fn script(mut self, name: &str) -> PResult<Script> {
        let mut options = ScriptOptions::default();
        while let Tok::Opt { name, value } = self.peek().tok.clone() {
            let t = self.advance();
            apply_option(&mut options, name, value, &t)?;
        }
        let mut init_command = None;
        if let Tok::BackQuoted(text) = self.peek().tok.clone() {
            self.advance();
            init_command = Some(command(text));
        }
        let mut statements = Vec::new();
        let mut cleanup_command = None;
        loop {
            match self.peek().tok.clone() {
                Tok::Eof => break,
                Tok::Opt { name, .. } => {
                    return Err(Self::err_at(
                        self.peek(),
                        SyntaxErrorKind::OptionAfterEvents(name),
                    ))
                }
                Tok::BackQuoted(text) => {
                    self.advance();
                    cleanup_command = Some(command(text));
                    if self.peek().tok != Tok::Eof {
                        return Err(Self::err_at(
                            self.peek(),
                            SyntaxErrorKind::AfterCleanupCommand,
                        ));
                    }
                    break;
                }
                _ => statements.push(self.statement()?),
            }
        }
        Ok(Script {
            name: name.to_string(),
            options,
            init_command,
            statements,
            cleanup_command,
        })
    }

    fn statement(&mut self) -> PResult<Statement> {
        let first = self.peek().clone();
        let time = self.time()?;
        let kind = match self.peek().tok.clone() {
            Tok::Punct('<' | '>') => StatementKind::Packet(self.packet()?),
            Tok::Word(_) | Tok::Ellipsis => StatementKind::Syscall(self.syscall()?),
            Tok::BackQuoted(text) => {
                self.advance();
                StatementKind::Command(command(text))
            }
            Tok::Code(text) => {
                self.advance();
                let kind = classify_code(&text);
                StatementKind::Code(CodeBlock { text, kind })
            }
            _ => {
                return Err(self.unexpected(
                    "a packet (`<` or `>`), a system call, a `command` or a %{ code }% block",
                ))
            }
        };
        let outbound = matches!(&kind, StatementKind::Packet(p) if p.direction == Direction::Out);
        match time {
            TimeSpec::Any if !outbound => {
                return Err(Self::err_at(
                    &first,
                    SyntaxErrorKind::TimeOnlyForOutbound("`*`"),
                ))
            }
            TimeSpec::AbsoluteRange { .. } | TimeSpec::RelativeRange { .. } if !outbound => {
                return Err(Self::err_at(
                    &first,
                    SyntaxErrorKind::TimeOnlyForOutbound("range"),
                ))
            }
            _ => {}
        }
        if let (TimeSpec::Absolute(start), StatementKind::Syscall(s)) = (time, &kind) {
            if s.end_usecs.is_some_and(|end| end < start) {
                return Err(Self::err_at(&first, SyntaxErrorKind::TimeRangeBackwards));
            }
        }
        Ok(Statement {
            line: first.line,
            time,
            kind,
        })
    }

    // ----- times -----------------------------------------------------------

    fn time(&mut self) -> PResult<TimeSpec> {
        let first = self.peek().clone();
        match first.tok {
            Tok::Punct('*') => {
                self.advance();
                Ok(TimeSpec::Any)
            }
            Tok::Punct('+') => {
                self.advance();
                let start = self.seconds()?;
                if !self.is_punct('~') {
                    return Ok(TimeSpec::Relative(start));
                }
                self.advance();
                self.expect_punct('+')?;
                let end = self.seconds()?;
                if end < start {
                    return Err(Self::err_at(&first, SyntaxErrorKind::TimeRangeBackwards));
                }
                Ok(TimeSpec::RelativeRange { start, end })
            }
            Tok::Int(_) | Tok::Float(_) => {
                let start = self.seconds()?;
                if !self.is_punct('~') {
                    return Ok(TimeSpec::Absolute(start));
                }
                self.advance();
                let end = self.seconds()?;
                if end < start {
                    return Err(Self::err_at(&first, SyntaxErrorKind::TimeRangeBackwards));
                }
                Ok(TimeSpec::AbsoluteRange { start, end })
            }
            _ => Err(self.unexpected("a time (such as `0.100`, `+0.1` or `*`)")),
        }
    }

    /// Seconds (integer or decimal) as microseconds; digits past the sixth
    /// decimal are dropped, as packetdrill truncates.
    fn seconds(&mut self) -> PResult<u64> {
        let t = self.peek().clone();
        let out_of_range = |t: &Token, text: String| {
            Self::err_at(
                t,
                SyntaxErrorKind::NumberOutOfRange {
                    what: "a time in microseconds",
                    text,
                },
            )
        };
        match &t.tok {
            Tok::Int(v) => {
                self.advance();
                let secs = u64::try_from(*v)
                    .map_err(|_| Self::err_at(&t, SyntaxErrorKind::NegativeTime))?;
                secs.checked_mul(1_000_000)
                    .ok_or_else(|| out_of_range(&t, v.to_string()))
            }
            Tok::Float(text) => {
                self.advance();
                if text.starts_with('-') {
                    return Err(Self::err_at(&t, SyntaxErrorKind::NegativeTime));
                }
                let (int_part, frac_part) = text.split_once('.').unwrap_or((text, ""));
                let secs = if int_part.is_empty() {
                    0
                } else {
                    int_part
                        .parse::<u64>()
                        .map_err(|_| out_of_range(&t, text.clone()))?
                };
                let mut micros = 0u64;
                let mut digits = frac_part.chars().filter_map(|c| c.to_digit(10));
                for _ in 0..6 {
                    micros = micros * 10 + u64::from(digits.next().unwrap_or(0));
                }
                secs.checked_mul(1_000_000)
                    .and_then(|u| u.checked_add(micros))
                    .ok_or_else(|| out_of_range(&t, text.clone()))
            }
            _ => Err(self.unexpected("a time in seconds")),
        }
    }

    // ----- packets ---------------------------------------------------------

    fn packet(&mut self) -> PResult<PacketSpec> {
        let dir_tok = self.advance();
        let direction = if dir_tok.tok == Tok::Punct('<') {
            Direction::In
        } else {
            Direction::Out
        };
        let mut ip = None;
        if self.is_punct('[') || self.is_punct('(') {
            ip = Some(self.ip_info(direction)?);
        }
        let mut ports = None;
        if matches!(self.peek().tok, Tok::Int(_)) && self.peek_at(1).tok == Tok::Punct('>') {
            let src = self.u16_num("a source port")?;
            self.advance();
            let dst = self.u16_num("a destination port")?;
            ports = Some((src, dst));
        }
        if let Tok::Word(w) = &self.peek().tok {
            if matches!(
                w.as_str(),
                "udp" | "udplite" | "icmp" | "sctp" | "ipv4" | "ipv6" | "gre" | "mpls"
            ) {
                let kind = SyntaxErrorKind::UnsupportedPacket(w.clone());
                return Err(Self::err_at(self.peek(), kind));
            }
        }
        let flags = self.flags()?;
        let seq = self.seq(direction)?;
        let mut ack = None;
        if self.is_word("ack") {
            self.advance();
            ack = Some(self.u32_num("a TCP acknowledgment number")?);
        }
        let mut win = None;
        if self.is_word("win") {
            self.advance();
            win = Some(self.u16_num("a TCP window")?);
        }
        let mut urg = None;
        if self.is_word("urg") {
            self.advance();
            urg = Some(self.u16_num("a TCP urgent pointer")?);
        }
        let options = if self.is_punct('<') {
            self.tcp_options(direction)?
        } else {
            TcpOptionsSpec::Absent
        };
        if self.is_punct('/') {
            let kind = SyntaxErrorKind::UnsupportedPacket("UDP encapsulation".to_string());
            return Err(Self::err_at(self.peek(), kind));
        }
        Ok(PacketSpec {
            direction,
            ip,
            ports,
            flags,
            seq,
            ack,
            win,
            urg,
            options,
        })
    }

    fn ip_info(&mut self, direction: Direction) -> PResult<IpInfoSpec> {
        let open = self.advance();
        let close = if open.tok == Tok::Punct('[') {
            ']'
        } else {
            ')'
        };
        let mut info = IpInfoSpec::default();
        loop {
            let t = self.peek().clone();
            let Tok::Word(w) = &t.tok else {
                return Err(self.unexpected(
                    "an IP attribute (noecn, ect0, ect1, ect01, ce, tos, ttl, flowlabel)",
                ));
            };
            self.advance();
            let mut attr = w.as_str();
            if attr == "ecn" {
                // `ecn ect0` is a longer spelling of `ect0`.
                match self.peek().tok.clone() {
                    Tok::Word(next) if ecn_codepoint(&next).is_some() => {
                        self.advance();
                        info.ecn = ecn_codepoint(&next);
                        attr = "";
                    }
                    _ => return Err(self.unexpected("an ECN codepoint after `ecn`")),
                }
            }
            match attr {
                "" => {}
                "tos" | "class" => {
                    let v = self.hex("a TOS byte (0xNN)", u64::from(u8::MAX))?;
                    info.tos = u8::try_from(v).ok();
                }
                "ttl" | "hlim" => info.ttl = Some(self.u8_num("a TTL / hop limit")?),
                "flowlabel" => {
                    let v = self.hex("a 20-bit flow label (0xNNNNN)", 0xF_FFFF)?;
                    info.flow_label = u32::try_from(v).ok();
                }
                other => match ecn_codepoint(other) {
                    Some(e) => info.ecn = Some(e),
                    None => {
                        let kind = SyntaxErrorKind::UnknownIpAttribute(other.to_string());
                        return Err(Self::err_at(&t, kind));
                    }
                },
            }
            if info.ecn == Some(EcnSpec::Ect01) && direction == Direction::In {
                return Err(Self::err_at(
                    &t,
                    SyntaxErrorKind::WildcardOnlyForOutbound("`ect01`"),
                ));
            }
            if self.is_punct(',') {
                self.advance();
                continue;
            }
            self.expect_punct(close)?;
            return Ok(info);
        }
    }

    /// TCP control bits (RFC 9293 §3.1; `E`/`W` are ECE/CWR, RFC 3168 §6.1).
    fn flags(&mut self) -> PResult<TcpFlags> {
        let t = self.peek().clone();
        let mut flags = TcpFlags::default();
        match &t.tok {
            Tok::Punct('-') => {
                self.advance();
            }
            Tok::Punct('.') => {
                self.advance();
                flags.ack = true;
            }
            Tok::Word(w) => {
                self.advance();
                for (i, c) in w.chars().enumerate() {
                    let col = t.col.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
                    let bit = match c {
                        'F' => &mut flags.fin,
                        'S' => &mut flags.syn,
                        'R' => &mut flags.rst,
                        'P' => &mut flags.psh,
                        'U' => &mut flags.urg,
                        'E' => &mut flags.ece,
                        'W' => &mut flags.cwr,
                        _ => return Err((t.line, col, SyntaxErrorKind::BadFlag(c))),
                    };
                    if *bit {
                        return Err((t.line, col, SyntaxErrorKind::DuplicateFlag(c)));
                    }
                    *bit = true;
                }
                if self.is_punct('.') {
                    self.advance();
                    flags.ack = true;
                }
            }
            _ => {
                return Err(self.unexpected("TCP flags (such as `S`, `S.`, `.`, `F.`, `R` or `-`)"))
            }
        }
        Ok(flags)
    }

    fn seq(&mut self, direction: Direction) -> PResult<SeqSpec> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Ellipsis => {
                self.advance();
                self.expect_punct('(')?;
                let len = self.u16_num("a TCP payload length")?;
                self.expect_punct(')')?;
                if direction == Direction::In {
                    return Err(Self::err_at(
                        &t,
                        SyntaxErrorKind::WildcardOnlyForOutbound("`...` as a sequence number"),
                    ));
                }
                Ok(SeqSpec::Any { len })
            }
            Tok::Int(_) => {
                let start = self.u32_num("a TCP sequence number")?;
                self.expect_punct(':')?;
                let end = self.u32_num("a TCP sequence number")?;
                self.expect_punct('(')?;
                let len = self.u16_num("a TCP payload length")?;
                self.expect_punct(')')?;
                // Sequence numbers are modulo 2^32 (RFC 9293 §3.4).
                if start.wrapping_add(u32::from(len)) != end {
                    return Err(Self::err_at(
                        &t,
                        SyntaxErrorKind::InconsistentSequence {
                            start,
                            end,
                            len: u32::from(len),
                        },
                    ));
                }
                if self.is_punct('!') {
                    self.advance();
                    Ok(SeqSpec::Absolute { start, end, len })
                } else {
                    Ok(SeqSpec::Relative { start, end, len })
                }
            }
            _ => Err(self.unexpected("a sequence range `start:end(len)` or `...(len)`")),
        }
    }

    fn tcp_options(&mut self, direction: Direction) -> PResult<TcpOptionsSpec> {
        let open = self.advance();
        if self.peek().tok == Tok::Ellipsis {
            self.advance();
            self.expect_punct('>')?;
            if direction == Direction::In {
                return Err(Self::err_at(
                    &open,
                    SyntaxErrorKind::WildcardOnlyForOutbound("`<...>`"),
                ));
            }
            return Ok(TcpOptionsSpec::Any);
        }
        let mut list = Vec::new();
        loop {
            list.push(self.tcp_option()?);
            if self.is_punct(',') {
                self.advance();
                continue;
            }
            self.expect_punct('>')?;
            return Ok(TcpOptionsSpec::List(list));
        }
    }

    fn tcp_option(&mut self) -> PResult<TcpOptionSpec> {
        let t = self.peek().clone();
        let Tok::Word(name) = &t.tok else {
            return Err(self.unexpected(
                "a TCP option (nop, eol, mss, wscale, sackOK, sack, TS, FO, FOEXP, md5)",
            ));
        };
        self.advance();
        Ok(match name.as_str() {
            // RFC 9293 §3.1: kinds 0 and 1.
            "eol" => TcpOptionSpec::Eol,
            "nop" => TcpOptionSpec::Nop,
            // RFC 9293 §3.7.1
            "mss" => TcpOptionSpec::Mss(self.u16_num("an MSS")?),
            // RFC 7323 §2.2
            "wscale" => TcpOptionSpec::WindowScale(self.u8_num("a window scale shift count")?),
            // RFC 2018 §2
            "sackOK" => TcpOptionSpec::SackPermitted,
            // RFC 2018 §3
            "sack" => {
                let mut blocks = Vec::new();
                while matches!(self.peek().tok, Tok::Int(_)) || blocks.is_empty() {
                    let left = self.u32_num("a SACK block left edge")?;
                    self.expect_punct(':')?;
                    let right = self.u32_num("a SACK block right edge")?;
                    blocks.push((left, right));
                }
                TcpOptionSpec::Sack(blocks)
            }
            // RFC 7323 §3.2
            "TS" => {
                self.expect_word("val")?;
                let val = if self.peek().tok == Tok::Ellipsis {
                    self.advance();
                    None
                } else {
                    Some(self.u32_num("a TS value")?)
                };
                self.expect_word("ecr")?;
                let ecr = self.u32_num("a TS echo reply")?;
                let ecr_absolute = self.is_punct('!');
                if ecr_absolute {
                    self.advance();
                }
                TcpOptionSpec::Timestamp {
                    val,
                    ecr,
                    ecr_absolute,
                }
            }
            // RFC 7413 §4.1.1
            "FO" => TcpOptionSpec::FastOpen(self.hex_blob(false)?),
            "FOEXP" => TcpOptionSpec::FastOpenExp(self.hex_blob(false)?),
            // RFC 2385
            "md5" => TcpOptionSpec::Md5(self.hex_blob(true)?),
            other => {
                return Err(Self::err_at(
                    &t,
                    SyntaxErrorKind::UnknownTcpOption(other.to_string()),
                ))
            }
        })
    }

    /// A hex string of whole bytes, written as a word or an integer.
    fn hex_blob(&mut self, required: bool) -> PResult<String> {
        let t = self.peek().clone();
        if !matches!(t.tok, Tok::Word(_) | Tok::Int(_) | Tok::Hex(_)) {
            if required {
                return Err(self.unexpected("a hex string"));
            }
            return Ok(String::new());
        }
        self.advance();
        let text = self.source(t.start, t.end);
        let whole_bytes = text.as_bytes().chunks(2).all(|pair| pair.len() == 2);
        if !whole_bytes || !text.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Self::err_at(&t, SyntaxErrorKind::BadHexBlob(text)));
        }
        Ok(text)
    }

    // ----- system calls ----------------------------------------------------

    fn syscall(&mut self) -> PResult<SyscallSpec> {
        let mut end_usecs = None;
        if self.peek().tok == Tok::Ellipsis {
            self.advance();
            end_usecs = Some(self.seconds()?);
        }
        let Tok::Word(name) = self.peek().tok.clone() else {
            return Err(self.unexpected("a system call name"));
        };
        self.advance();
        self.expect_punct('(')?;
        let args = self.expr_list(')')?;
        self.expect_punct('=')?;
        let result = self.expr(false)?;
        let mut errno = None;
        if let Tok::Word(w) = self.peek().tok.clone() {
            self.advance();
            errno = Some(w);
        }
        let mut note = None;
        if self.is_punct('(') {
            note = Some(self.note()?);
        }
        Ok(SyscallSpec {
            end_usecs,
            name,
            args,
            result,
            errno,
            note,
        })
    }

    /// The `(free text)` after a result: the source text of its tokens, one
    /// space where the source had blanks or comments between them.
    fn note(&mut self) -> PResult<String> {
        let open = self.advance();
        let mut depth = 1u32;
        let mut text = String::new();
        let mut prev_end = open.end;
        loop {
            let t = self.advance();
            match t.tok {
                Tok::Eof => return Err(Self::err_at(&open, SyntaxErrorKind::UnterminatedNote)),
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(text);
                    }
                }
                _ => {}
            }
            if t.start > prev_end && !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&self.source(t.start, t.end));
            prev_end = t.end;
        }
    }

    /// `expr (',' expr)* close` or just `close`; consumes `close`.
    fn expr_list(&mut self, close: char) -> PResult<Vec<Expr>> {
        let mut items = Vec::new();
        if self.is_punct(close) {
            self.advance();
            return Ok(items);
        }
        loop {
            items.push(self.expr(true)?);
            if self.is_punct(',') {
                self.advance();
                continue;
            }
            self.expect_punct(close)?;
            return Ok(items);
        }
    }

    /// An expression. With `full == false` (a system call result) a word is
    /// never a call or an assignment, so that `= EAGAIN (note)` is not read
    /// as a call.
    fn expr(&mut self, full: bool) -> PResult<Expr> {
        if self.depth >= MAX_DEPTH {
            return Err(Self::err_at(
                self.peek(),
                SyntaxErrorKind::TooDeep(MAX_DEPTH),
            ));
        }
        self.depth += 1;
        let first = self.primary(full)?;
        let e = if self.is_punct('|') {
            let mut items = vec![first];
            while self.is_punct('|') {
                self.advance();
                items.push(self.primary(full)?);
            }
            Expr::BitOr(items)
        } else {
            first
        };
        self.depth -= 1;
        Ok(e)
    }

    fn primary(&mut self, full: bool) -> PResult<Expr> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Ellipsis => {
                self.advance();
                Ok(Expr::Ellipsis)
            }
            Tok::Int(v) => {
                self.advance();
                Ok(Expr::Int(v))
            }
            Tok::Hex(v) => {
                self.advance();
                Ok(Expr::Hex(v))
            }
            Tok::Str(value) => {
                self.advance();
                let ellipsis = self.peek().tok == Tok::Ellipsis;
                if ellipsis {
                    self.advance();
                }
                Ok(Expr::Str { value, ellipsis })
            }
            Tok::Punct('[') => {
                self.advance();
                Ok(Expr::Array(self.expr_list(']')?))
            }
            Tok::Punct('{') => {
                self.advance();
                Ok(Expr::Struct(self.expr_list('}')?))
            }
            Tok::Word(name) => {
                self.advance();
                let mut e = Expr::Word(name.clone());
                if full && self.is_punct('(') {
                    self.advance();
                    let args = self.expr_list(')')?;
                    e = Expr::Call { name, args };
                }
                if full && self.is_punct('=') {
                    self.advance();
                    let rhs = self.expr(true)?;
                    e = Expr::Assign {
                        lhs: Box::new(e),
                        rhs: Box::new(rhs),
                    };
                }
                Ok(e)
            }
            _ => Err(self.unexpected("an expression")),
        }
    }
}

fn ecn_codepoint(w: &str) -> Option<EcnSpec> {
    // RFC 3168 §5
    Some(match w {
        "noecn" => EcnSpec::NotEct,
        "ect0" => EcnSpec::Ect0,
        "ect1" => EcnSpec::Ect1,
        "ce" => EcnSpec::Ce,
        "ect01" => EcnSpec::Ect01,
        _ => return None,
    })
}

fn command(text: String) -> Command {
    let kind = classify_command(&text);
    Command { text, kind }
}

fn apply_option(
    options: &mut ScriptOptions,
    name: String,
    value: Option<String>,
    at: &Token,
) -> PResult<()> {
    let bad = |name: String, value: Option<String>| {
        Parser::err_at(
            at,
            SyntaxErrorKind::BadOptionValue {
                name,
                value: value.unwrap_or_default(),
            },
        )
    };
    match name.as_str() {
        "ip_version" => {
            options.ip_version = Some(match value.as_deref() {
                Some("ipv4") => IpVersion::V4,
                Some("ipv6") => IpVersion::V6,
                Some("ipv4-mapped-ipv6") => IpVersion::V4MappedV6,
                Some(other) => {
                    return Err(Parser::err_at(
                        at,
                        SyntaxErrorKind::UnknownIpVersion(other.to_string()),
                    ))
                }
                None => return Err(bad(name, value)),
            });
        }
        "tolerance_usecs" => match value.as_deref().map(str::parse::<u64>) {
            Some(Ok(v)) => options.tolerance_usecs = Some(v),
            _ => return Err(bad(name, value)),
        },
        _ => options.other.push((name, value)),
    }
    Ok(())
}

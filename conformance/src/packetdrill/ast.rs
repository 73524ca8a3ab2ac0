//! The syntax tree of a packetdrill script.
//!
//! Every type renders back to packetdrill syntax with `Display`, so that an
//! executor can print the statement it expected, and so that the parser can
//! be checked by re-parsing what it rendered.

use std::fmt;

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The name the script was parsed under (its path, for files).
    pub name: String,
    /// The `--name=value` header lines.
    pub options: ScriptOptions,
    /// A backquoted command before the first event, run without a time.
    pub init_command: Option<Command>,
    /// The timed statements, in source order.
    pub statements: Vec<Statement>,
    /// A backquoted command after the last event, run without a time.
    pub cleanup_command: Option<Command>,
}

/// The header options of a script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptOptions {
    /// `--ip_version=`; `None` when absent (packetdrill then uses IPv4).
    pub ip_version: Option<IpVersion>,
    /// `--tolerance_usecs=`: how far an event may be from its scripted time.
    pub tolerance_usecs: Option<u64>,
    /// Every other option as `(name, value)`, in source order; the value is
    /// `None` for a bare `--flag`.
    pub other: Vec<(String, Option<String>)>,
}

impl ScriptOptions {
    /// The value of another option (such as `mtu`), if given with a value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.other
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// The address family the script runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpVersion {
    /// `ipv4`
    V4,
    /// `ipv6`
    V6,
    /// `ipv4-mapped-ipv6`
    V4MappedV6,
}

impl IpVersion {
    /// The spelling used by `--ip_version=`.
    pub fn as_str(self) -> &'static str {
        match self {
            IpVersion::V4 => "ipv4",
            IpVersion::V6 => "ipv6",
            IpVersion::V4MappedV6 => "ipv4-mapped-ipv6",
        }
    }
}

/// One timed line of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// 1-based source line of the statement's time.
    pub line: u32,
    /// When it happens.
    pub time: TimeSpec,
    /// What happens.
    pub kind: StatementKind,
}

/// When a statement happens. All values are microseconds; absolute times
/// count from the start of the script, relative ones from the previous
/// statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeSpec {
    /// `0.100`
    Absolute(u64),
    /// `+0.100`
    Relative(u64),
    /// `*`: any time (outbound packets only).
    Any,
    /// `0.1~0.2` (outbound packets only).
    AbsoluteRange {
        /// Earliest time.
        start: u64,
        /// Latest time.
        end: u64,
    },
    /// `+0.1~+0.2` (outbound packets only).
    RelativeRange {
        /// Earliest offset.
        start: u64,
        /// Latest offset.
        end: u64,
    },
}

/// What a statement does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    /// `<` inject or `>` expect a TCP segment.
    Packet(PacketSpec),
    /// Call a socket API function and check its result.
    Syscall(SyscallSpec),
    /// Run a backquoted shell command.
    Command(Command),
    /// Run a `%{ ... }%` code block (Python in packetdrill).
    Code(CodeBlock),
}

/// Which way a packet travels, seen from the system under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `<`: injected into the system under test.
    In,
    /// `>`: expected from the system under test.
    Out,
}

/// A TCP segment to inject or expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketSpec {
    /// `<` or `>`.
    pub direction: Direction,
    /// `[ect0]`, `(tos 0x2)`, ...; `None` when not written.
    pub ip: Option<IpInfoSpec>,
    /// `src>dst` ports written before the flags; `None` when not written.
    pub ports: Option<(u16, u16)>,
    /// The control bits.
    pub flags: TcpFlags,
    /// Sequence number and payload length.
    pub seq: SeqSpec,
    /// `ack N`: the acknowledgment field, when written. Packetdrill fills it
    /// in even when the ACK bit is clear.
    pub ack: Option<u32>,
    /// `win N`: the (unscaled) window field, when written.
    pub win: Option<u16>,
    /// `urg N`: the urgent pointer, when written.
    pub urg: Option<u16>,
    /// The TCP options.
    pub options: TcpOptionsSpec,
}

/// TCP control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags {
    /// `F`
    pub fin: bool,
    /// `S`
    pub syn: bool,
    /// `R`
    pub rst: bool,
    /// `P`
    pub psh: bool,
    /// `.`
    pub ack: bool,
    /// `U`
    pub urg: bool,
    /// `E` (ECN-Echo)
    pub ece: bool,
    /// `W` (Congestion Window Reduced)
    pub cwr: bool,
}

impl TcpFlags {
    /// True when no bit is set (written `-`).
    pub fn is_empty(&self) -> bool {
        *self == TcpFlags::default()
    }
}

/// The sequence part of a TCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqSpec {
    /// `start:end(len)`: relative to the initial sequence number of the
    /// sender of the packet.
    Relative {
        /// First sequence number.
        start: u32,
        /// `start + len` (mod 2^32, RFC 9293 §3.4).
        end: u32,
        /// Payload bytes.
        len: u16,
    },
    /// `start:end(len)!`: absolute sequence numbers.
    Absolute {
        /// First sequence number.
        start: u32,
        /// `start + len` (mod 2^32).
        end: u32,
        /// Payload bytes.
        len: u16,
    },
    /// `...(len)`: any sequence number (outbound packets only).
    Any {
        /// Payload bytes.
        len: u16,
    },
}

impl SeqSpec {
    /// The payload length.
    pub fn len(&self) -> u16 {
        match *self {
            SeqSpec::Relative { len, .. }
            | SeqSpec::Absolute { len, .. }
            | SeqSpec::Any { len } => len,
        }
    }

    /// True when the packet carries no payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The start sequence number, unless it is `...`.
    pub fn start(&self) -> Option<u32> {
        match *self {
            SeqSpec::Relative { start, .. } | SeqSpec::Absolute { start, .. } => Some(start),
            SeqSpec::Any { .. } => None,
        }
    }
}

/// The TCP options of a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOptionsSpec {
    /// No `<...>` written: the packet carries no options.
    Absent,
    /// `<...>`: any options are accepted (outbound packets only).
    Any,
    /// `<opt,opt,...>`: exactly these options, in this order.
    List(Vec<TcpOptionSpec>),
}

/// One TCP option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOptionSpec {
    /// `eol`: End of Option List (RFC 9293 §3.1, kind 0).
    Eol,
    /// `nop`: No-Operation (RFC 9293 §3.1, kind 1).
    Nop,
    /// `mss N`: Maximum Segment Size (RFC 9293 §3.7.1, kind 2).
    Mss(u16),
    /// `wscale N`: Window Scale shift count (RFC 7323 §2.2, kind 3).
    WindowScale(u8),
    /// `sackOK`: SACK-Permitted (RFC 2018 §2, kind 4).
    SackPermitted,
    /// `sack L:R L:R ...`: SACK blocks (RFC 2018 §3, kind 5).
    Sack(Vec<(u32, u32)>),
    /// `TS val V ecr E`: Timestamps (RFC 7323 §3.2, kind 8).
    Timestamp {
        /// TSval; `None` for `val ...` (not checked).
        val: Option<u32>,
        /// TSecr.
        ecr: u32,
        /// `ecr N!`: TSecr is absolute rather than relative to the peer's
        /// timestamps.
        ecr_absolute: bool,
    },
    /// `FO cookie`: TCP Fast Open (RFC 7413 §4.1.1, kind 34); the cookie as a
    /// hex string, possibly empty.
    FastOpen(String),
    /// `FOEXP cookie`: TCP Fast Open in the experimental option (kind 254).
    FastOpenExp(String),
    /// `md5 hex`: TCP MD5 signature (RFC 2385, kind 19).
    Md5(String),
}

impl TcpOptionSpec {
    /// A short name of the option kind, for statistics and messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            TcpOptionSpec::Eol => "eol",
            TcpOptionSpec::Nop => "nop",
            TcpOptionSpec::Mss(_) => "mss",
            TcpOptionSpec::WindowScale(_) => "wscale",
            TcpOptionSpec::SackPermitted => "sackOK",
            TcpOptionSpec::Sack(_) => "sack",
            TcpOptionSpec::Timestamp { .. } => "TS",
            TcpOptionSpec::FastOpen(_) => "FO",
            TcpOptionSpec::FastOpenExp(_) => "FOEXP",
            TcpOptionSpec::Md5(_) => "md5",
        }
    }
}

/// IP-level attributes of a packet, written `[...]` or `(...)` after the
/// direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct IpInfoSpec {
    /// The ECN field (RFC 3168 §5).
    pub ecn: Option<EcnSpec>,
    /// `tos 0xNN` / `class 0xNN`: the whole TOS / traffic class byte.
    pub tos: Option<u8>,
    /// `ttl N` / `hlim N`.
    pub ttl: Option<u8>,
    /// `flowlabel 0xNNNNN` (IPv6).
    pub flow_label: Option<u32>,
}

/// The ECN codepoint of a packet (RFC 3168 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcnSpec {
    /// `noecn`: Not-ECT (00).
    NotEct,
    /// `ect0`: ECT(0) (10).
    Ect0,
    /// `ect1`: ECT(1) (01).
    Ect1,
    /// `ce`: Congestion Experienced (11).
    Ce,
    /// `ect01`: either ECT(0) or ECT(1) (outbound packets).
    Ect01,
}

impl EcnSpec {
    fn as_str(self) -> &'static str {
        match self {
            EcnSpec::NotEct => "noecn",
            EcnSpec::Ect0 => "ect0",
            EcnSpec::Ect1 => "ect1",
            EcnSpec::Ce => "ce",
            EcnSpec::Ect01 => "ect01",
        }
    }
}

/// A system call and its expected outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallSpec {
    /// `...T` before the name: the call blocks and returns at absolute
    /// script time `T` (microseconds).
    pub end_usecs: Option<u64>,
    /// Function name (`socket`, `connect`, ...).
    pub name: String,
    /// Arguments.
    pub args: Vec<Expr>,
    /// Expected return value.
    pub result: Expr,
    /// Expected `errno` symbol (`EINPROGRESS`), when written.
    pub errno: Option<String>,
    /// The parenthesised note after the result (`Operation now in
    /// progress`, `flags O_RDWR`), whitespace-normalised.
    pub note: Option<String>,
}

/// A system call argument or result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `...`: anything (an argument the executor fills in, or an unchecked
    /// value).
    Ellipsis,
    /// A decimal integer.
    Int(i64),
    /// A `0x` hexadecimal integer.
    Hex(u64),
    /// A symbolic name: `SOCK_STREAM`, `SO_ERROR`, `ECONNRESET`, `NULL`.
    Word(String),
    /// A `"string"` (escapes kept as written); `ellipsis` for `"abc"...`.
    Str {
        /// The characters between the quotes.
        value: String,
        /// Followed by `...`.
        ellipsis: bool,
    },
    /// `A | B | C`: bitwise OR of flags.
    BitOr(Vec<Expr>),
    /// `[a, b]`: an array or a pointer to a value (`[65536]`, `[4]`).
    Array(Vec<Expr>),
    /// `{a, b}`: a struct (`{onoff=1, linger=0}`, a sockaddr, an iovec).
    Struct(Vec<Expr>),
    /// `name(args)`: `htons(8080)`, `inet_addr("192.0.2.1")`.
    Call {
        /// The function-like name.
        name: String,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `lhs=rhs` inside a struct: `sa_family=AF_INET`, `msg_iov(1)=[...]`.
    Assign {
        /// A `Word` or a `Call`.
        lhs: Box<Expr>,
        /// The value.
        rhs: Box<Expr>,
    },
}

impl Expr {
    /// The value of an `Int` or `Hex` (a `Hex` above `i64::MAX` gives
    /// `None`).
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Expr::Int(v) => Some(v),
            Expr::Hex(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The name of a `Word`.
    pub fn as_word(&self) -> Option<&str> {
        match self {
            Expr::Word(w) => Some(w),
            _ => None,
        }
    }
}

/// A backquoted shell command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The text between the backquotes, as written.
    pub text: String,
    /// What the command was recognised as.
    pub kind: CommandKind,
}

/// The shell commands the executor can understand without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandKind {
    /// `sysctl -w name=value`.
    Sysctl {
        /// Variable name, e.g. `net.inet.tcp.rfc1323`.
        name: String,
        /// Value as written, e.g. `1`.
        value: String,
    },
    /// `sockstat -4|-6 -P tcp [-p PORT] -s [| grep FILTER]... | grep -c
    /// STATE | grep N`: check how many sockets are in a TCP state. The last
    /// stage is a substring match on the count (as `grep N` is).
    SockstatCount {
        /// `-4` / `-6`, when given.
        ip_version: Option<IpVersion>,
        /// `-P` protocol (`tcp`).
        protocol: String,
        /// `-p PORT`, when given.
        port: Option<u16>,
        /// Plain `grep WORD` stages before the counting one (`packetdril`:
        /// packetdrill's own process name, cut to 10 characters).
        filters: Vec<String>,
        /// The state counted by `grep -c` (`TIME_WAIT`, `SYN_RCVD`).
        state: String,
        /// The pattern of the final `grep`, which the count must contain.
        count_pattern: String,
    },
    /// `tcpdrop -s STATE`: drop every TCP connection in that state.
    TcpDropState {
        /// The state name (`TIME_WAIT`).
        state: String,
    },
    /// Any other command, to be run by a shell (or skipped).
    Shell,
}

/// A `%{ ... }%` code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The code, with spaces and tabs stripped from both ends (as
    /// packetdrill does).
    pub text: String,
    /// What the code was recognised as.
    pub kind: CodeKind,
}

/// The code-block forms the executor can evaluate without Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeKind {
    /// One or more lines, each `assert tcpi_FIELD OP VALUE`.
    TcpiAsserts(Vec<TcpiAssert>),
    /// Anything else.
    Raw,
}

/// `assert tcpi_FIELD OP VALUE`: a check on the socket's `TCP_INFO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpiAssert {
    /// The field, with its `tcpi_` prefix (`tcpi_state`, `tcpi_options`).
    pub field: String,
    /// The comparison.
    pub op: CmpOp,
    /// The expected value.
    pub value: CodeValue,
}

impl TcpiAssert {
    /// The state an assertion on `tcpi_state` expects, if its value names
    /// one.
    pub fn expected_state(&self) -> Option<TcpiState> {
        match (&self.value, self.field.as_str()) {
            (CodeValue::Symbol(s), "tcpi_state") => TcpiState::from_symbol(s),
            _ => None,
        }
    }
}

/// A comparison operator of an assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// The right-hand side of an assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeValue {
    /// An integer literal (decimal or `0x`).
    Int(i64),
    /// A symbolic constant (`TCPI_ESTABLISHED`).
    Symbol(String),
}

/// The connection states `tcpi_state` can name (RFC 9293 §3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpiState {
    /// CLOSED
    Closed,
    /// LISTEN
    Listen,
    /// SYN-SENT
    SynSent,
    /// SYN-RECEIVED
    SynReceived,
    /// ESTABLISHED
    Established,
    /// CLOSE-WAIT
    CloseWait,
    /// FIN-WAIT-1
    FinWait1,
    /// CLOSING
    Closing,
    /// LAST-ACK
    LastAck,
    /// FIN-WAIT-2
    FinWait2,
    /// TIME-WAIT
    TimeWait,
}

impl TcpiState {
    /// Map a packetdrill state symbol to a state: the FreeBSD spelling
    /// (`TCPI_SYN_RECEIVED`, `TCPI_FIN_WAIT_1`) and the Linux one
    /// (`TCP_SYN_RECV`, `TCP_FIN_WAIT1`) are both accepted.
    pub fn from_symbol(symbol: &str) -> Option<Self> {
        let rest = symbol
            .strip_prefix("TCPI_")
            .or_else(|| symbol.strip_prefix("TCP_"))?;
        Some(match rest {
            "CLOSED" | "CLOSE" => TcpiState::Closed,
            "LISTEN" => TcpiState::Listen,
            "SYN_SENT" => TcpiState::SynSent,
            "SYN_RECEIVED" | "SYN_RECV" => TcpiState::SynReceived,
            "ESTABLISHED" => TcpiState::Established,
            "CLOSE_WAIT" => TcpiState::CloseWait,
            "FIN_WAIT_1" | "FIN_WAIT1" => TcpiState::FinWait1,
            "CLOSING" => TcpiState::Closing,
            "LAST_ACK" => TcpiState::LastAck,
            "FIN_WAIT_2" | "FIN_WAIT2" => TcpiState::FinWait2,
            "TIME_WAIT" => TcpiState::TimeWait,
            _ => return None,
        })
    }
}

/// Render microseconds as packetdrill seconds (`1.100000`).
fn fmt_usecs(f: &mut fmt::Formatter<'_>, usecs: u64) -> fmt::Result {
    write!(f, "{}.{:06}", usecs / 1_000_000, usecs % 1_000_000)
}

impl fmt::Display for TimeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TimeSpec::Absolute(t) => fmt_usecs(f, t),
            TimeSpec::Relative(t) => {
                f.write_str("+")?;
                fmt_usecs(f, t)
            }
            TimeSpec::Any => f.write_str("*"),
            TimeSpec::AbsoluteRange { start, end } => {
                fmt_usecs(f, start)?;
                f.write_str("~")?;
                fmt_usecs(f, end)
            }
            TimeSpec::RelativeRange { start, end } => {
                f.write_str("+")?;
                fmt_usecs(f, start)?;
                f.write_str("~+")?;
                fmt_usecs(f, end)
            }
        }
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        let letters = [
            (self.fin, 'F'),
            (self.syn, 'S'),
            (self.rst, 'R'),
            (self.psh, 'P'),
            (self.urg, 'U'),
            (self.ece, 'E'),
            (self.cwr, 'W'),
            (self.ack, '.'),
        ];
        for (set, c) in letters {
            if set {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for SeqSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SeqSpec::Relative { start, end, len } => write!(f, "{start}:{end}({len})"),
            SeqSpec::Absolute { start, end, len } => write!(f, "{start}:{end}({len})!"),
            SeqSpec::Any { len } => write!(f, "...({len})"),
        }
    }
}

impl fmt::Display for TcpOptionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpOptionSpec::Eol => f.write_str("eol"),
            TcpOptionSpec::Nop => f.write_str("nop"),
            TcpOptionSpec::Mss(v) => write!(f, "mss {v}"),
            TcpOptionSpec::WindowScale(v) => write!(f, "wscale {v}"),
            TcpOptionSpec::SackPermitted => f.write_str("sackOK"),
            TcpOptionSpec::Sack(blocks) => {
                f.write_str("sack")?;
                for (l, r) in blocks {
                    write!(f, " {l}:{r}")?;
                }
                Ok(())
            }
            TcpOptionSpec::Timestamp {
                val,
                ecr,
                ecr_absolute,
            } => {
                match val {
                    Some(v) => write!(f, "TS val {v}")?,
                    None => f.write_str("TS val ...")?,
                }
                write!(f, " ecr {ecr}{}", if *ecr_absolute { "!" } else { "" })
            }
            TcpOptionSpec::FastOpen(c) => write_blob(f, "FO", c),
            TcpOptionSpec::FastOpenExp(c) => write_blob(f, "FOEXP", c),
            TcpOptionSpec::Md5(c) => write_blob(f, "md5", c),
        }
    }
}

fn write_blob(f: &mut fmt::Formatter<'_>, name: &str, blob: &str) -> fmt::Result {
    if blob.is_empty() {
        f.write_str(name)
    } else {
        write!(f, "{name} {blob}")
    }
}

impl fmt::Display for TcpOptionsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpOptionsSpec::Absent => Ok(()),
            TcpOptionsSpec::Any => f.write_str("<...>"),
            TcpOptionsSpec::List(list) => {
                f.write_str("<")?;
                for (i, o) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{o}")?;
                }
                f.write_str(">")
            }
        }
    }
}

impl fmt::Display for IpInfoSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(e) = self.ecn {
            parts.push(e.as_str().to_string());
        }
        if let Some(t) = self.tos {
            parts.push(format!("tos 0x{t:x}"));
        }
        if let Some(l) = self.flow_label {
            parts.push(format!("flowlabel 0x{l:x}"));
        }
        if let Some(t) = self.ttl {
            parts.push(format!("ttl {t}"));
        }
        write!(f, "[{}]", parts.join(","))
    }
}

impl fmt::Display for PacketSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.direction {
            Direction::In => "<",
            Direction::Out => ">",
        })?;
        if let Some(ip) = &self.ip {
            write!(f, " {ip}")?;
        }
        if let Some((s, d)) = self.ports {
            write!(f, " {s}>{d}")?;
        }
        write!(f, " {} {}", self.flags, self.seq)?;
        if let Some(a) = self.ack {
            write!(f, " ack {a}")?;
        }
        if let Some(w) = self.win {
            write!(f, " win {w}")?;
        }
        if let Some(u) = self.urg {
            write!(f, " urg {u}")?;
        }
        if self.options != TcpOptionsSpec::Absent {
            write!(f, " {}", self.options)?;
        }
        Ok(())
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Ellipsis => f.write_str("..."),
            Expr::Int(v) => write!(f, "{v}"),
            Expr::Hex(v) => write!(f, "0x{v:x}"),
            Expr::Word(w) => f.write_str(w),
            Expr::Str { value, ellipsis } => {
                write!(f, "\"{value}\"{}", if *ellipsis { "..." } else { "" })
            }
            Expr::BitOr(items) => {
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Expr::Array(items) => {
                f.write_str("[")?;
                write_list(f, items)?;
                f.write_str("]")
            }
            Expr::Struct(items) => {
                f.write_str("{")?;
                write_list(f, items)?;
                f.write_str("}")
            }
            Expr::Call { name, args } => {
                write!(f, "{name}(")?;
                write_list(f, args)?;
                f.write_str(")")
            }
            Expr::Assign { lhs, rhs } => write!(f, "{lhs}={rhs}"),
        }
    }
}

impl fmt::Display for SyscallSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(end) = self.end_usecs {
            f.write_str("...")?;
            fmt_usecs(f, end)?;
            f.write_str(" ")?;
        }
        write!(f, "{}(", self.name)?;
        write_list(f, &self.args)?;
        write!(f, ") = {}", self.result)?;
        if let Some(e) = &self.errno {
            write!(f, " {e}")?;
        }
        if let Some(n) = &self.note {
            write!(f, " ({n})")?;
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.text)
    }
}

impl fmt::Display for CodeBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{{ {} }}%", self.text)
    }
}

impl fmt::Display for StatementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatementKind::Packet(p) => write!(f, "{p}"),
            StatementKind::Syscall(s) => write!(f, "{s}"),
            StatementKind::Command(c) => write!(f, "{c}"),
            StatementKind::Code(c) => write!(f, "{c}"),
        }
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.time, self.kind)
    }
}

impl fmt::Display for Script {
    /// The whole script in packetdrill syntax, one statement per line
    /// (comments and preprocessor directives are not kept).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.options.ip_version {
            writeln!(f, "--ip_version={}", v.as_str())?;
        }
        if let Some(t) = self.options.tolerance_usecs {
            writeln!(f, "--tolerance_usecs={t}")?;
        }
        for (name, value) in &self.options.other {
            match value {
                Some(v) if v.contains(char::is_whitespace) || v.contains("//") => {
                    writeln!(f, "--{name}=\"{v}\"")?
                }
                Some(v) => writeln!(f, "--{name}={v}")?,
                None => writeln!(f, "--{name}")?,
            }
        }
        if let Some(c) = &self.init_command {
            writeln!(f, "{c}")?;
        }
        for s in &self.statements {
            writeln!(f, "{s}")?;
        }
        if let Some(c) = &self.cleanup_command {
            writeln!(f, "{c}")?;
        }
        Ok(())
    }
}

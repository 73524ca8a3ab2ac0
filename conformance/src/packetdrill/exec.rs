//! Running one script against our sans-IO stack on a virtual clock.
//!
//! The executor plays packetdrill's part: it injects the script's inbound
//! segments, performs its system calls on an emulated FreeBSD socket layer
//! over [`Endpoint`], and checks every outbound segment the stack sends
//! against the script, in order. Time is virtual: nothing waits, the clock
//! jumps from event to event and through the stack's timer deadlines.
//!
//! Timing follows packetdrill (`run.c`): an absolute time counts from the
//! start of the script; a relative one (`+0.1`) from the moment the previous
//! event finished (for an outbound packet, when it was sent). An inbound
//! packet or a system call runs at its time, or fails if an earlier event
//! made it later than its time plus the tolerance. An outbound packet must
//! be sent within the tolerance of its time (or of its range; `*` is any
//! time). A system call written `...T` blocks and must return at `T`; one
//! without it must return at once.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tcp_core::engine::Engine;
use tcp_core::error::{ConnectionError, EndpointError};
use tcp_core::state::TcpState;
use tcp_core::tcb::ConnEvent;
use tcp_core::time::Instant;
use tcp_core::{ConnHandle, Endpoint};

use super::ast::{
    CmpOp, CodeKind, CodeValue, Command, CommandKind, Direction, Expr, IpVersion, PacketSpec,
    Script, StatementKind, SyscallSpec, TcpiAssert, TcpiState, TimeSpec,
};
use super::matcher::{self, MatchContext};
use super::packet::{build_inbound, Outbound, SeqMap};
use super::profile::{self, freebsd, CompareMode, FreeBsdProfile, Opening, SocketOptions};
use super::support;

/// How to run a script.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecOptions {
    /// How outbound segments are compared.
    pub mode: CompareMode,
    /// Keep a log of every event (for `--verbose`).
    pub verbose: bool,
}

/// The first point where the stack did not do what the script says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the statement.
    pub line: u32,
    /// The statement, in packetdrill syntax.
    pub statement: String,
    /// What was expected and what happened.
    pub message: String,
}

/// The verdict on one script run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every statement happened as written.
    Pass,
    /// The first mismatch.
    Fail(Failure),
    /// The script uses something the executor cannot honour.
    Skip(String),
}

impl Outcome {
    /// `PASS`, `FAIL` or `SKIP`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skip(_) => "SKIP",
        }
    }
}

/// The outcome and, with [`ExecOptions::verbose`], the event log.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    /// The verdict.
    pub outcome: Outcome,
    /// One line per event, when verbose.
    pub log: Vec<String>,
}

/// Why a statement stopped the run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    /// The current statement failed.
    Fail(String),
    /// A blocked system call (started at `line`) failed.
    FailCall {
        line: u32,
        statement: String,
        message: String,
    },
    Skip(String),
}

type Step<T = ()> = Result<T, Stop>;

fn fail<T>(msg: impl Into<String>) -> Step<T> {
    Err(Stop::Fail(msg.into()))
}

/// The port packetdrill binds and connects to.
const SCRIPT_PORT: u16 = 8080;
/// The port of the remote side of a passive connection.
const REMOTE_PORT: u16 = 40_000;
/// Our port for an active connection from an unbound socket.
const EPHEMERAL_PORT: u16 = 49_999;
/// Keys the stack's RFC 6528 ISN generator: runs are deterministic.
const ISN_SEED: u64 = 0x7063_6b74;
/// Largest segment the stack can write (MSS up to 65495 plus headers).
const SEGMENT_BUF: usize = 70_000;
/// Virtual time a `*` expectation may wait for the stack's timers.
const ANY_TIME_LIMIT_US: u64 = 600_000_000;

/// FreeBSD's `O_RDWR` and `O_NONBLOCK`.
const O_RDWR: i64 = 0x2;
const O_NONBLOCK: i64 = 0x4;

/// `tcpi_options` bits (FreeBSD `netinet/tcp.h`).
const TCPI_OPT_TIMESTAMPS: i64 = 0x01;
const TCPI_OPT_SACK: i64 = 0x02;
const TCPI_OPT_WSCALE: i64 = 0x04;

/// What a socket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Created (maybe bound), neither listening nor connected.
    Fresh,
    /// `listen()` was called.
    Listening { port: u16 },
    /// Connected or connecting: the stack's connection.
    Conn { handle: ConnHandle },
}

/// An emulated FreeBSD socket.
#[derive(Debug, Clone)]
struct Socket {
    nonblocking: bool,
    opts: SocketOptions,
    /// `SO_LINGER` with a zero timeout: `close()` aborts.
    linger_zero: bool,
    bound: Option<u16>,
    role: Role,
    /// `so_error`: the pending asynchronous error, as an errno name.
    so_error: Option<&'static str>,
    shut_wr: bool,
}

impl Socket {
    fn new() -> Socket {
        Socket {
            nonblocking: false,
            opts: SocketOptions::default(),
            linger_zero: false,
            bound: None,
            role: Role::Fresh,
            so_error: None,
            shut_wr: false,
        }
    }
}

/// What a system call did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SysResult {
    /// It returned this value.
    Ret(i64),
    /// It returned -1 with this errno.
    Errno(&'static str),
}

impl std::fmt::Display for SysResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SysResult::Ret(v) => write!(f, "{v}"),
            SysResult::Errno(e) => write!(f, "-1 {e}"),
        }
    }
}

/// A call either finished or would block.
enum CallStatus {
    Done(SysResult),
    Blocked,
}

/// The state a blocked call resumes from.
#[derive(Debug, Clone)]
enum Resume {
    Connect { fd: i64 },
    Retry,
}

/// A blocking system call in progress.
#[derive(Debug, Clone)]
struct Pending {
    line: u32,
    spec: SyscallSpec,
    resume: Resume,
    /// When it must return (script microseconds), if it may block.
    end_us: Option<u64>,
    start_us: u64,
}

/// A segment the stack sent.
#[derive(Debug, Clone)]
struct Captured {
    at: Instant,
    bytes: Vec<u8>,
}

/// Runs `script` with connections driven by `engine`.
pub fn run_script<E: Engine + Clone>(script: &Script, engine: E, opts: &ExecOptions) -> ScriptRun {
    if let Some(reason) = support::unsupported(script, opts.mode) {
        return ScriptRun {
            outcome: Outcome::Skip(reason),
            log: Vec::new(),
        };
    }
    let mut exec = Exec::new(script, engine, opts);
    let outcome = exec.run(script);
    ScriptRun {
        outcome,
        log: exec.log,
    }
}

struct Exec<E: Engine + Clone> {
    engine: E,
    mode: CompareMode,
    verbose: bool,
    log: Vec<String>,
    family: IpVersion,
    mtu: u32,
    tolerance_us: u64,
    profile: FreeBsdProfile,
    endpoint: Option<Endpoint<E>>,
    local_ip: IpAddr,
    remote_ip: IpAddr,
    /// The 4-tuple inbound packets use: (remote, local).
    tuple: Option<(SocketAddr, SocketAddr)>,
    now: Instant,
    outq: VecDeque<Captured>,
    map: SeqMap,
    sockets: BTreeMap<i64, Socket>,
    /// The socket `%{ }%` blocks look at: the last one created or accepted.
    under_test: Option<i64>,
    pending: Option<Pending>,
    buf: Vec<u8>,
}

fn us(t: Instant) -> u64 {
    t.as_micros()
}

fn at(us: u64) -> Instant {
    Instant::from_micros(us)
}

fn secs(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

fn errno_of(e: ConnectionError) -> &'static str {
    match e {
        ConnectionError::ConnectionRefused => "ECONNREFUSED",
        ConnectionError::ConnectionReset => "ECONNRESET",
        ConnectionError::TimedOut => "ETIMEDOUT",
        ConnectionError::WouldBlock => "EAGAIN",
        ConnectionError::ConnectionClosing => "EPIPE",
        ConnectionError::ConnectionDoesNotExist => "ENOTCONN",
        ConnectionError::ConnectionExists => "EISCONN",
        ConnectionError::ForeignSocketUnspecified => "EDESTADDRREQ",
    }
}

fn tcpi_state(s: TcpState) -> TcpiState {
    match s {
        TcpState::Closed => TcpiState::Closed,
        TcpState::Listen => TcpiState::Listen,
        TcpState::SynSent => TcpiState::SynSent,
        TcpState::SynReceived => TcpiState::SynReceived,
        TcpState::Established => TcpiState::Established,
        TcpState::FinWait1 => TcpiState::FinWait1,
        TcpState::FinWait2 => TcpiState::FinWait2,
        TcpState::CloseWait => TcpiState::CloseWait,
        TcpState::Closing => TcpiState::Closing,
        TcpState::LastAck => TcpiState::LastAck,
        TcpState::TimeWait => TcpiState::TimeWait,
    }
}

/// The value of a symbolic constant (FreeBSD's values where they matter).
fn symbol(w: &str) -> Option<i64> {
    Some(match w {
        "O_RDWR" => O_RDWR,
        "O_NONBLOCK" => O_NONBLOCK,
        "O_RDONLY" => 0,
        "O_WRONLY" => 1,
        "MSG_PEEK" => 0x2,
        "MSG_DONTWAIT" => 0x80,
        "SHUT_RD" => 0,
        "SHUT_WR" => 1,
        "SHUT_RDWR" => 2,
        "NULL" => 0,
        _ => return None,
    })
}

/// Evaluates an integer expression (`3`, `0x02`, `O_RDWR | O_NONBLOCK`).
fn eval_int(e: &Expr) -> Option<i64> {
    match e {
        Expr::Int(v) => Some(*v),
        Expr::Hex(_) => e.as_int(),
        Expr::Word(w) => symbol(w),
        Expr::BitOr(items) => items
            .iter()
            .try_fold(0i64, |acc, i| Some(acc | eval_int(i)?)),
        Expr::Array(items) if items.len() == 1 => eval_int(&items[0]),
        _ => None,
    }
}

/// The single element of `[x]`, or `x`.
fn unwrap_array(e: &Expr) -> &Expr {
    match e {
        Expr::Array(items) if items.len() == 1 => &items[0],
        other => other,
    }
}

impl<E: Engine + Clone> Exec<E> {
    fn new(script: &Script, engine: E, opts: &ExecOptions) -> Exec<E> {
        let family = script.options.ip_version.unwrap_or(IpVersion::V4);
        let (local_ip, remote_ip) = match family {
            IpVersion::V6 => (
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
            ),
            IpVersion::V4 | IpVersion::V4MappedV6 => (
                IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            ),
        };
        let mtu = script
            .options
            .get("mtu")
            .and_then(|m| m.parse().ok())
            .unwrap_or(freebsd::DEFAULT_MTU);
        Exec {
            engine,
            mode: opts.mode,
            verbose: opts.verbose,
            log: Vec::new(),
            family,
            mtu,
            // Packetdrill's default tolerance is 4 ms.
            tolerance_us: script.options.tolerance_usecs.unwrap_or(4_000),
            profile: FreeBsdProfile::new(opts.mode),
            endpoint: None,
            local_ip,
            remote_ip,
            tuple: None,
            now: Instant::ZERO,
            outq: VecDeque::new(),
            map: SeqMap::default(),
            sockets: BTreeMap::new(),
            under_test: None,
            pending: None,
            buf: vec![0; SEGMENT_BUF],
        }
    }

    fn note(&mut self, text: impl FnOnce() -> String) {
        if self.verbose {
            let line = format!("{:>11} {}", secs(us(self.now)), text());
            self.log.push(line);
        }
    }

    fn run(&mut self, script: &Script) -> Outcome {
        if let Some(c) = &script.init_command {
            if let Err(stop) = self.command(c) {
                return self.verdict(0, c.to_string(), stop);
            }
        }
        for st in &script.statements {
            if let Err(stop) = self.statement(st.line, &st.time, &st.kind) {
                return self.verdict(st.line, st.kind.to_string(), stop);
            }
        }
        if let Some(p) = self.pending.clone() {
            // The script ended while a call was blocked: let it finish.
            let deadline = p.end_us.unwrap_or(p.start_us) + self.tolerance_us;
            let step = self
                .advance_to(at(deadline.max(us(self.now))))
                .and_then(|()| match self.pending {
                    Some(_) => self.still_blocked(),
                    None => Ok(()),
                });
            if let Err(stop) = step {
                return self.verdict(p.line, p.spec.to_string(), stop);
            }
        }
        if let Some(c) = &script.cleanup_command {
            if let Err(stop) = self.command(c) {
                return self.verdict(0, c.to_string(), stop);
            }
        }
        Outcome::Pass
    }

    fn verdict(&mut self, line: u32, statement: String, stop: Stop) -> Outcome {
        match stop {
            Stop::Fail(message) => {
                self.note(|| format!("FAIL line {line}: {message}"));
                Outcome::Fail(Failure {
                    line,
                    statement,
                    message,
                })
            }
            Stop::FailCall {
                line,
                statement,
                message,
            } => self.verdict(line, statement, Stop::Fail(message)),
            Stop::Skip(reason) => Outcome::Skip(format!("line {line}: {reason}")),
        }
    }

    // ---------------------------------------------------------------- time

    /// Runs the stack up to `t`: fires its timers in order, collects what
    /// it sends and lets blocked calls finish.
    fn advance_to(&mut self, t: Instant) -> Step {
        let mut guard = 0u32;
        loop {
            self.settle()?;
            guard += 1;
            if guard > 1_000_000 {
                return fail("the stack's timers do not make progress");
            }
            let next = self.endpoint.as_mut().and_then(|e| e.poll_timeout());
            let pending_deadline = self
                .pending
                .as_ref()
                .and_then(|p| p.end_us.map(|e| at(e + self.tolerance_us)));
            // A blocked call that must have returned by now fails first.
            if let Some(d) = pending_deadline {
                if d <= t && next.is_none_or(|n| n > d) {
                    self.now = self.now.max(d);
                    self.settle()?;
                    if self.pending.is_some() {
                        return self.still_blocked();
                    }
                    continue;
                }
            }
            match next {
                Some(n) if n <= t => {
                    self.now = self.now.max(n);
                    if let Some(ep) = self.endpoint.as_mut() {
                        ep.handle_timeout(self.now);
                    }
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
        self.settle()
    }

    fn still_blocked<T>(&self) -> Step<T> {
        let Some(p) = &self.pending else {
            return fail("no blocked call");
        };
        Err(Stop::FailCall {
            line: p.line,
            statement: p.spec.to_string(),
            message: format!(
                "timing error: {}() still blocked at {} but expected to return at {}",
                p.spec.name,
                secs(us(self.now)),
                secs(p.end_us.unwrap_or(p.start_us))
            ),
        })
    }

    /// Collects sent segments, routes connection events to their sockets,
    /// and lets a blocked call finish.
    fn settle(&mut self) -> Step {
        let now = self.now;
        if let Some(ep) = self.endpoint.as_mut() {
            while let Some(t) = ep.poll_segment(now, &mut self.buf) {
                let bytes = self.buf[..t.len].to_vec();
                self.outq.push_back(Captured { at: now, bytes });
            }
            while let Some((h, ev)) = ep.poll_event() {
                if let ConnEvent::Error(e) = ev {
                    for s in self.sockets.values_mut() {
                        if s.role == (Role::Conn { handle: h }) {
                            s.so_error = Some(errno_of(e));
                        }
                    }
                }
            }
        }
        self.try_pending()
    }

    /// Where the next event at `time` happens; `None` for `*`.
    fn scheduled(&self, time: &TimeSpec) -> (Option<u64>, Option<u64>) {
        let now = us(self.now);
        match *time {
            TimeSpec::Absolute(t) => (Some(t), Some(t)),
            TimeSpec::Relative(d) => (Some(now + d), Some(now + d)),
            TimeSpec::Any => (None, None),
            TimeSpec::AbsoluteRange { start, end } => (Some(start), Some(end)),
            TimeSpec::RelativeRange { start, end } => (Some(now + start), Some(now + end)),
        }
    }

    /// Brings the clock to `t` for an event that runs at its time.
    fn wait_until(&mut self, t: u64, what: &str) -> Step {
        let now = us(self.now);
        if now > t + self.tolerance_us {
            return fail(format!(
                "timing error: expected {what} at {} but an earlier event made it {}",
                secs(t),
                secs(now)
            ));
        }
        self.advance_to(at(t.max(now)))
    }

    // ---------------------------------------------------------------- statements

    fn statement(&mut self, line: u32, time: &TimeSpec, kind: &StatementKind) -> Step {
        let (start, end) = self.scheduled(time);
        match kind {
            StatementKind::Packet(p) if p.direction == Direction::Out => self.expect(p, start, end),
            other => {
                let Some(t) = start else {
                    return fail("only outbound packets may use `*` or time ranges");
                };
                let what = match other {
                    StatementKind::Packet(_) => "inbound packet",
                    StatementKind::Syscall(_) => "system call",
                    StatementKind::Command(_) => "command",
                    StatementKind::Code(_) => "code",
                };
                self.wait_until(t, what)?;
                match other {
                    StatementKind::Packet(p) => self.inject(p),
                    StatementKind::Syscall(s) => self.syscall(line, s),
                    StatementKind::Command(c) => self.command(c),
                    StatementKind::Code(c) => match &c.kind {
                        CodeKind::TcpiAsserts(a) => self.tcpi_asserts(a),
                        CodeKind::Raw => Err(Stop::Skip(format!("code block `{}`", c.text))),
                    },
                }
            }
        }
    }

    fn ensure_endpoint(&mut self, opts: &SocketOptions, opening: Opening) -> Step {
        let config = self.profile.config(self.family, self.mtu, opts, opening);
        match &self.endpoint {
            Some(ep) if *ep.config() != config => Err(Stop::Skip(
                "a second socket needs a different stack configuration".to_string(),
            )),
            Some(_) => Ok(()),
            None => {
                self.endpoint = Some(Endpoint::new(
                    config,
                    vec![self.local_ip],
                    self.engine.clone(),
                    ISN_SEED,
                ));
                Ok(())
            }
        }
    }

    fn default_tuple(&self) -> (SocketAddr, SocketAddr) {
        let port = self
            .sockets
            .values()
            .find_map(|s| s.bound)
            .unwrap_or(SCRIPT_PORT);
        (
            SocketAddr::new(self.remote_ip, REMOTE_PORT),
            SocketAddr::new(self.local_ip, port),
        )
    }

    fn inject(&mut self, spec: &PacketSpec) -> Step {
        if self.endpoint.is_none() {
            let opts = self
                .under_test
                .and_then(|fd| self.sockets.get(&fd))
                .map(|s| s.opts)
                .unwrap_or_default();
            self.ensure_endpoint(&opts, Opening::Passive)?;
        }
        let (remote, local) = self.tuple.unwrap_or_else(|| self.default_tuple());
        let pseudo = tcp_core::tcb::pseudo_header(remote.ip(), local.ip());
        let bytes = build_inbound(spec, &self.map, (remote.port(), local.port()), &pseudo)
            .map_err(|e| Stop::Fail(format!("cannot build the inbound packet: {e}")))?;
        self.note(|| format!("< {}", spec.to_string().trim_start_matches("< ")));
        let now = self.now;
        if let Some(ep) = self.endpoint.as_mut() {
            ep.handle_segment(now, remote.ip(), local.ip(), &bytes)
                .map_err(|e| Stop::Fail(format!("the stack rejected the inbound packet: {e}")))?;
        }
        self.settle()
    }

    fn expect(&mut self, spec: &PacketSpec, start: Option<u64>, end: Option<u64>) -> Step {
        let tol = self.tolerance_us;
        let lo = start.map(|s| s.saturating_sub(tol));
        let hi = end.map(|e| e + tol);
        let limit = hi.unwrap_or(us(self.now) + ANY_TIME_LIMIT_US);
        let pkt = loop {
            self.settle()?;
            if let Some(p) = self.outq.pop_front() {
                break p;
            }
            let next = self.endpoint.as_mut().and_then(|e| e.poll_timeout());
            match next {
                Some(n) if us(n) <= limit => self.advance_to(n)?,
                _ => {
                    if us(self.now) < limit && hi.is_some() {
                        self.advance_to(at(limit))?;
                        if let Some(p) = self.outq.pop_front() {
                            break p;
                        }
                    }
                    let when = match (start, end) {
                        (Some(s), Some(e)) if s == e => format!("at {}", secs(s)),
                        (Some(s), Some(e)) => format!("in {}~{}", secs(s), secs(e)),
                        _ => "at any time".to_string(),
                    };
                    let by = secs(us(self.now));
                    return fail(match self.look_ahead(spec) {
                        Some((true, t, _)) => format!(
                            "timing error: expected {spec} {when} (tolerance {} s) but it was sent too late at {}",
                            secs(tol),
                            secs(t)
                        ),
                        Some((false, t, other)) => format!(
                            "missing packet: expected {spec} {when}, but nothing was sent by {by} (the next segment, at {}, was {other})",
                            secs(t)
                        ),
                        None => format!(
                            "missing packet: expected {spec} {when}, but nothing was sent by {by}"
                        ),
                    });
                }
            }
        };
        let sent_us = us(pkt.at);
        let actual = Outbound::parse(pkt.bytes)
            .map_err(|e| Stop::Fail(format!("the stack sent a malformed segment: {e}")))?;
        matcher::learn(spec, &actual, &mut self.map);
        let shown = actual.to_spec(&self.map);
        self.note(|| format!("{shown}   (sent at {})", secs(sent_us)));
        let ctx = MatchContext {
            noopt: self.sockets.values().any(|s| s.opts.noopt),
        };
        if let Err(m) = matcher::compare(spec, &actual, &self.map, self.mode, ctx) {
            return fail(format!(
                "{m}\n    expected: {spec}\n    actual:   {shown} (sent at {})",
                secs(sent_us)
            ));
        }
        if lo.is_some_and(|lo| sent_us < lo) || hi.is_some_and(|hi| sent_us > hi) {
            let when = match (start, end) {
                (Some(s), Some(e)) if s == e => format!("at {}", secs(s)),
                (Some(s), Some(e)) => format!("in {}~{}", secs(s), secs(e)),
                _ => String::new(),
            };
            let early = lo.is_some_and(|lo| sent_us < lo);
            return fail(format!(
                "timing error: expected {spec} {when} (tolerance {} s) but it was sent {} at {}",
                secs(tol),
                if early { "too early" } else { "too late" },
                secs(sent_us)
            ));
        }
        self.now = self.now.max(pkt.at);
        Ok(())
    }

    /// After a missing packet (the run is over): lets the stack's timers run
    /// a while longer to tell a late packet from a missing one. Returns
    /// whether the next segment matches `spec`, when it was sent, and it.
    fn look_ahead(&mut self, spec: &PacketSpec) -> Option<(bool, u64, PacketSpec)> {
        let horizon = us(self.now) + ANY_TIME_LIMIT_US;
        loop {
            if let Some(p) = self.outq.pop_front() {
                let actual = Outbound::parse(p.bytes).ok()?;
                let ctx = MatchContext {
                    noopt: self.sockets.values().any(|s| s.opts.noopt),
                };
                let same = matcher::compare(spec, &actual, &self.map, self.mode, ctx).is_ok();
                return Some((same, us(p.at), actual.to_spec(&self.map)));
            }
            let next = self.endpoint.as_mut().and_then(|e| e.poll_timeout())?;
            if us(next) > horizon {
                return None;
            }
            self.advance_to(next).ok()?;
        }
    }

    // ---------------------------------------------------------------- commands and code

    fn command(&mut self, c: &Command) -> Step {
        match &c.kind {
            CommandKind::Sysctl { name, value } => {
                self.note(|| format!("sysctl {name}={value}"));
                self.profile
                    .apply_sysctl(name, value)
                    .map_err(|e| Stop::Skip(e.to_string()))?;
                // FreeBSD reads insecure_rst/insecure_syn when a segment
                // arrives, so a change applies to existing connections too.
                if let Some(ep) = self.endpoint.as_mut() {
                    for h in ep.handles() {
                        if let Some(c) = ep.connection_mut(h) {
                            let tcb = c.tcb_mut();
                            tcb.config = profile::apply_rfc5961(tcb.config.clone(), &self.profile);
                        }
                    }
                }
                Ok(())
            }
            CommandKind::SockstatCount {
                ip_version,
                protocol,
                port,
                filters,
                state,
                count_pattern,
            } => {
                if protocol != "tcp" {
                    return Err(Stop::Skip(format!("sockstat -P {protocol}")));
                }
                let family_ok = match ip_version {
                    None => true,
                    Some(IpVersion::V6) => self.family == IpVersion::V6,
                    Some(_) => self.family != IpVersion::V6,
                };
                let owned_only = filters.iter().any(|f| f == "packetdril");
                let count = if family_ok {
                    self.socket_table()
                        .iter()
                        .filter(|(st, lport, rport, owned)| {
                            (!owned_only || *owned)
                                && port.is_none_or(|p| p == *lport || p == *rport)
                                && st.contains(state.as_str())
                        })
                        .count()
                } else {
                    0
                };
                self.note(|| format!("sockstat: {count} in {state}"));
                if count.to_string().contains(count_pattern.as_str()) {
                    Ok(())
                } else {
                    fail(format!(
                        "sockstat: expected a count matching `{count_pattern}` of sockets in {state}, but there are {count}"
                    ))
                }
            }
            CommandKind::TcpDropState { state } => {
                let now = self.now;
                if let Some(ep) = self.endpoint.as_mut() {
                    let victims: Vec<ConnHandle> = ep
                        .handles()
                        .into_iter()
                        .filter(|h| {
                            ep.connection(*h)
                                .is_some_and(|c| c.state().display() == state)
                        })
                        .collect();
                    for h in victims {
                        ep.abort(now, h)
                            .map_err(|e| Stop::Fail(format!("tcpdrop: {e}")))?;
                    }
                }
                self.note(|| format!("tcpdrop -s {state}"));
                self.settle()
            }
            CommandKind::Shell => Err(Stop::Skip(format!("shell command `{}`", c.text))),
        }
    }

    /// What `sockstat -s` lists: (state, local port, foreign port, owned by
    /// the script's process).
    fn socket_table(&self) -> Vec<(&'static str, u16, u16, bool)> {
        let mut rows = Vec::new();
        let mut owned_handles = Vec::new();
        for s in self.sockets.values() {
            match s.role {
                Role::Fresh => rows.push(("CLOSED", s.bound.unwrap_or(0), 0, true)),
                Role::Listening { port } => rows.push(("LISTEN", port, 0, true)),
                Role::Conn { handle } => {
                    owned_handles.push(handle);
                    let row = self
                        .endpoint
                        .as_ref()
                        .and_then(|ep| ep.connection(handle))
                        .map_or(("CLOSED", 0, 0, true), |c| {
                            (
                                c.state().display(),
                                c.local().port(),
                                c.remote().port(),
                                true,
                            )
                        });
                    rows.push(row);
                }
            }
        }
        if let Some(ep) = &self.endpoint {
            for h in ep.handles() {
                if owned_handles.contains(&h) {
                    continue;
                }
                if let Some(c) = ep.connection(h) {
                    if c.state() != TcpState::Closed {
                        rows.push((
                            c.state().display(),
                            c.local().port(),
                            c.remote().port(),
                            false,
                        ));
                    }
                }
            }
        }
        rows
    }

    fn socket_state(&self, fd: i64) -> Option<TcpState> {
        let s = self.sockets.get(&fd)?;
        Some(match s.role {
            Role::Fresh => TcpState::Closed,
            Role::Listening { .. } => TcpState::Listen,
            Role::Conn { handle } => self
                .endpoint
                .as_ref()
                .and_then(|ep| ep.connection(handle))
                .map_or(TcpState::Closed, |c| c.state()),
        })
    }

    fn tcpi_asserts(&mut self, asserts: &[TcpiAssert]) -> Step {
        let Some(fd) = self.under_test else {
            return fail("no socket to read TCP_INFO from");
        };
        for a in asserts {
            let cmp = |actual: i64, expected: i64| match a.op {
                CmpOp::Eq => actual == expected,
                CmpOp::Ne => actual != expected,
                CmpOp::Lt => actual < expected,
                CmpOp::Le => actual <= expected,
                CmpOp::Gt => actual > expected,
                CmpOp::Ge => actual >= expected,
            };
            match a.field.as_str() {
                "tcpi_state" => {
                    let state = self.socket_state(fd).unwrap_or(TcpState::Closed);
                    let actual = tcpi_state(state);
                    let Some(expected) = a.expected_state() else {
                        return Err(Stop::Skip(format!("tcpi_state value {:?}", a.value)));
                    };
                    let ok = match a.op {
                        CmpOp::Eq => actual == expected,
                        CmpOp::Ne => actual != expected,
                        _ => return Err(Stop::Skip("ordering of tcpi_state".to_string())),
                    };
                    self.note(|| format!("tcpi_state is {state}"));
                    if !ok {
                        return fail(format!(
                            "assert tcpi_state {} {:?}: the socket is in {state}",
                            a.op.as_str(),
                            expected
                        ));
                    }
                }
                "tcpi_options" => {
                    let CodeValue::Int(expected) = a.value else {
                        return Err(Stop::Skip(format!("tcpi_options value {:?}", a.value)));
                    };
                    let actual = self.tcpi_options(fd);
                    if !cmp(actual, expected) {
                        return fail(format!(
                            "assert tcpi_options {} {expected}: the options are {actual:#x}",
                            a.op.as_str()
                        ));
                    }
                }
                other => return Err(Stop::Skip(format!("{other} is not modelled"))),
            }
        }
        Ok(())
    }

    fn tcpi_options(&self, fd: i64) -> i64 {
        let Some(Role::Conn { handle }) = self.sockets.get(&fd).map(|s| s.role) else {
            return 0;
        };
        let Some(c) = self.endpoint.as_ref().and_then(|ep| ep.connection(handle)) else {
            return 0;
        };
        let t = c.tcb();
        let mut v = 0;
        if t.ts_enabled {
            v |= TCPI_OPT_TIMESTAMPS;
        }
        if t.sack_enabled {
            v |= TCPI_OPT_SACK;
        }
        if t.ws_enabled {
            v |= TCPI_OPT_WSCALE;
        }
        v
    }

    // ---------------------------------------------------------------- system calls

    fn syscall(&mut self, line: u32, spec: &SyscallSpec) -> Step {
        let status = self.invoke(spec, &Resume::Retry)?;
        let start_us = us(self.now);
        match status {
            CallStatus::Done(result) => {
                self.note(|| format!("{} -> {result}", spec));
                if let Some(end) = spec.end_usecs {
                    if start_us + self.tolerance_us < end {
                        return fail(format!(
                            "timing error: expected the call to block until {} but it returned at once ({result})",
                            secs(end)
                        ));
                    }
                }
                self.check_result(spec, &result)
            }
            CallStatus::Blocked => {
                self.note(|| format!("{} blocks", spec.name));
                let resume = if spec.name == "connect" {
                    let fd = spec.args.first().and_then(eval_int).unwrap_or(-1);
                    Resume::Connect { fd }
                } else {
                    Resume::Retry
                };
                self.pending = Some(Pending {
                    line,
                    spec: spec.clone(),
                    resume,
                    end_us: spec.end_usecs,
                    start_us,
                });
                if spec.end_usecs.is_none() {
                    // A call written without `...` must return at once;
                    // only the stack's own timers may run meanwhile.
                    self.advance_to(at(start_us + self.tolerance_us))?;
                    if self.pending.is_some() {
                        return fail(format!(
                            "{}() blocked, but the script expects it to return at once",
                            spec.name
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    fn try_pending(&mut self) -> Step {
        let Some(p) = self.pending.clone() else {
            return Ok(());
        };
        let status = self.invoke(&p.spec, &p.resume)?;
        let CallStatus::Done(result) = status else {
            return Ok(());
        };
        self.pending = None;
        let now = us(self.now);
        self.note(|| format!("{} returns {result}", p.spec.name));
        let expected = p.end_us.unwrap_or(p.start_us);
        let on_call = |message: String| Stop::FailCall {
            line: p.line,
            statement: p.spec.to_string(),
            message,
        };
        if now + self.tolerance_us < expected || now > expected + self.tolerance_us {
            return Err(on_call(format!(
                "timing error: {}() returned {result} at {} but was expected to return at {}",
                p.spec.name,
                secs(now),
                secs(expected)
            )));
        }
        self.check_result(&p.spec, &result)
            .map_err(|stop| match stop {
                Stop::Fail(m) => on_call(m),
                other => other,
            })
    }

    fn check_result(&self, spec: &SyscallSpec, result: &SysResult) -> Step {
        if spec.result == Expr::Ellipsis {
            return Ok(());
        }
        let Some(value) = eval_int(&spec.result) else {
            return fail(format!(
                "cannot evaluate the expected result {}",
                spec.result
            ));
        };
        let same = match (result, &spec.errno) {
            (SysResult::Errno(actual), Some(expected)) => {
                value == -1 && same_errno(actual, expected)
            }
            (SysResult::Ret(actual), None) => *actual == value,
            _ => false,
        };
        if same {
            return Ok(());
        }
        let expected = match &spec.errno {
            Some(e) => format!("{value} {e}"),
            None => value.to_string(),
        };
        fail(format!(
            "{}() returned {result}, expected {expected}",
            spec.name
        ))
    }

    fn fd_arg(spec: &SyscallSpec) -> Step<i64> {
        spec.args.first().and_then(eval_int).ok_or_else(|| {
            Stop::Fail(format!(
                "{}(): first argument is not a descriptor",
                spec.name
            ))
        })
    }

    fn invoke(&mut self, spec: &SyscallSpec, resume: &Resume) -> Step<CallStatus> {
        use CallStatus::Done;
        use SysResult::{Errno, Ret};
        let name = spec.name.as_str();
        if name == "socket" {
            let fd = (3..).find(|fd| !self.sockets.contains_key(fd)).unwrap_or(3);
            self.sockets.insert(fd, Socket::new());
            self.under_test = Some(fd);
            return Ok(Done(Ret(fd)));
        }
        let fd = Self::fd_arg(spec)?;
        if !self.sockets.contains_key(&fd) {
            return Ok(Done(Errno("EBADF")));
        }
        if let Resume::Connect { fd } = resume {
            return self.connect_resume(*fd);
        }
        match name {
            "bind" => self.bind(fd),
            "listen" => self.listen(fd, spec),
            "accept" => self.accept(fd),
            "connect" => self.connect(fd),
            "close" => self.close(fd),
            "shutdown" => self.shutdown(fd, spec),
            "fcntl" => self.fcntl(fd, spec),
            "getsockopt" => self.getsockopt(fd, spec),
            "setsockopt" => self.setsockopt(fd, spec),
            "read" | "recv" => self.recv(fd, spec),
            "write" | "send" => self.send(fd, spec),
            "ioctl" => self.ioctl(fd, spec),
            other => Err(Stop::Skip(format!("system call {other}() is not emulated"))),
        }
    }

    fn socket(&mut self, fd: i64) -> Step<&mut Socket> {
        self.sockets
            .get_mut(&fd)
            .ok_or_else(|| Stop::Fail(format!("no socket {fd}")))
    }

    fn bind(&mut self, fd: i64) -> Step<CallStatus> {
        let taken = self
            .sockets
            .iter()
            .any(|(other, s)| *other != fd && s.bound == Some(SCRIPT_PORT));
        let s = self.socket(fd)?;
        if s.role != Role::Fresh || s.bound.is_some() {
            return Ok(CallStatus::Done(SysResult::Errno("EINVAL")));
        }
        if taken {
            return Ok(CallStatus::Done(SysResult::Errno("EADDRINUSE")));
        }
        s.bound = Some(SCRIPT_PORT);
        Ok(CallStatus::Done(SysResult::Ret(0)))
    }

    fn listen(&mut self, fd: i64, spec: &SyscallSpec) -> Step<CallStatus> {
        let backlog = spec.args.get(1).and_then(eval_int).unwrap_or(1);
        let s = self.socket(fd)?.clone();
        match s.role {
            Role::Listening { .. } => return Ok(CallStatus::Done(SysResult::Ret(0))),
            Role::Conn { .. } => return Ok(CallStatus::Done(SysResult::Errno("EINVAL"))),
            Role::Fresh => {}
        }
        let port = s.bound.unwrap_or(SCRIPT_PORT);
        self.ensure_endpoint(&s.opts, Opening::Passive)?;
        let backlog = usize::try_from(backlog.max(1)).unwrap_or(1);
        let r = match self.endpoint.as_mut() {
            Some(ep) => ep.listen(port, backlog),
            None => return fail("no stack"),
        };
        match r {
            Ok(()) => {
                let sock = self.socket(fd)?;
                sock.bound = Some(port);
                sock.role = Role::Listening { port };
                self.tuple = Some((
                    SocketAddr::new(self.remote_ip, REMOTE_PORT),
                    SocketAddr::new(self.local_ip, port),
                ));
                Ok(CallStatus::Done(SysResult::Ret(0)))
            }
            Err(EndpointError::AddressInUse(_)) => {
                Ok(CallStatus::Done(SysResult::Errno("EADDRINUSE")))
            }
            Err(e) => fail(format!("listen: {e}")),
        }
    }

    fn accept(&mut self, fd: i64) -> Step<CallStatus> {
        let s = self.socket(fd)?.clone();
        let Role::Listening { port } = s.role else {
            return Ok(CallStatus::Done(SysResult::Errno("EINVAL")));
        };
        let accepted = self.endpoint.as_mut().and_then(|ep| ep.accept(port));
        let Some(handle) = accepted else {
            if s.nonblocking {
                return Ok(CallStatus::Done(SysResult::Errno("EAGAIN")));
            }
            return Ok(CallStatus::Blocked);
        };
        let new_fd = (3..).find(|fd| !self.sockets.contains_key(fd)).unwrap_or(3);
        // FreeBSD's accept() gives the new socket the listener's O_NONBLOCK.
        let mut sock = Socket::new();
        sock.nonblocking = s.nonblocking;
        sock.opts = s.opts;
        sock.bound = Some(port);
        sock.role = Role::Conn { handle };
        if let Some(c) = self.endpoint.as_ref().and_then(|ep| ep.connection(handle)) {
            self.tuple = Some((c.remote(), c.local()));
            if let Some(e) = c.tcb().error {
                sock.so_error = Some(errno_of(e));
            }
        }
        self.sockets.insert(new_fd, sock);
        self.under_test = Some(new_fd);
        Ok(CallStatus::Done(SysResult::Ret(new_fd)))
    }

    fn connect(&mut self, fd: i64) -> Step<CallStatus> {
        let s = self.socket(fd)?.clone();
        match s.role {
            Role::Listening { .. } => return Ok(CallStatus::Done(SysResult::Errno("EOPNOTSUPP"))),
            Role::Conn { handle } => {
                if let Some(e) = s.so_error {
                    self.socket(fd)?.so_error = None;
                    return Ok(CallStatus::Done(SysResult::Errno(e)));
                }
                let state = self.conn_state(handle);
                return Ok(CallStatus::Done(SysResult::Errno(match state {
                    TcpState::SynSent | TcpState::SynReceived => "EALREADY",
                    TcpState::Closed => "EINVAL",
                    _ => "EISCONN",
                })));
            }
            Role::Fresh => {}
        }
        self.ensure_endpoint(&s.opts, Opening::Active)?;
        let local = SocketAddr::new(self.local_ip, s.bound.unwrap_or(EPHEMERAL_PORT));
        let remote = SocketAddr::new(self.remote_ip, SCRIPT_PORT);
        let now = self.now;
        let r = match self.endpoint.as_mut() {
            Some(ep) => ep.connect_from(now, local, remote),
            None => return fail("no stack"),
        };
        let handle = match r {
            Ok(h) => h,
            Err(EndpointError::AddressInUse(_)) => {
                return Ok(CallStatus::Done(SysResult::Errno("EADDRINUSE")))
            }
            Err(e) => return fail(format!("connect: {e}")),
        };
        self.socket(fd)?.role = Role::Conn { handle };
        self.tuple = Some((remote, local));
        self.settle()?;
        if s.nonblocking {
            return Ok(CallStatus::Done(SysResult::Errno("EINPROGRESS")));
        }
        self.connect_resume(fd)
    }

    fn conn_state(&self, handle: ConnHandle) -> TcpState {
        self.endpoint
            .as_ref()
            .and_then(|ep| ep.connection(handle))
            .map_or(TcpState::Closed, |c| c.state())
    }

    /// A blocking connect returns once the handshake completed or failed.
    fn connect_resume(&mut self, fd: i64) -> Step<CallStatus> {
        let Some(s) = self.sockets.get(&fd).cloned() else {
            return Ok(CallStatus::Done(SysResult::Errno("EBADF")));
        };
        let Role::Conn { handle } = s.role else {
            return Ok(CallStatus::Done(SysResult::Errno("EINVAL")));
        };
        if let Some(e) = s.so_error {
            self.socket(fd)?.so_error = None;
            return Ok(CallStatus::Done(SysResult::Errno(e)));
        }
        Ok(match self.conn_state(handle) {
            TcpState::SynSent | TcpState::SynReceived => CallStatus::Blocked,
            TcpState::Closed => CallStatus::Done(SysResult::Errno("ECONNREFUSED")),
            _ => CallStatus::Done(SysResult::Ret(0)),
        })
    }

    fn close(&mut self, fd: i64) -> Step<CallStatus> {
        let Some(s) = self.sockets.remove(&fd) else {
            return Ok(CallStatus::Done(SysResult::Errno("EBADF")));
        };
        let now = self.now;
        if let Some(ep) = self.endpoint.as_mut() {
            match s.role {
                Role::Fresh => {}
                Role::Listening { port } => {
                    // The listener's unaccepted connections go with it.
                    let _ = ep.unlisten(now, port);
                }
                Role::Conn { handle } => {
                    // close(2) reports nothing about the connection; the
                    // endpoint lets the connection finish on its own.
                    let r = if s.linger_zero {
                        ep.abort(now, handle)
                    } else {
                        ep.close(now, handle)
                    };
                    match r {
                        Ok(())
                        | Err(EndpointError::Connection(_))
                        | Err(EndpointError::UnknownHandle(_)) => {}
                        Err(e) => return fail(format!("close: {e}")),
                    }
                }
            }
        }
        self.settle()?;
        Ok(CallStatus::Done(SysResult::Ret(0)))
    }

    fn shutdown(&mut self, fd: i64, spec: &SyscallSpec) -> Step<CallStatus> {
        let how = spec.args.get(1).and_then(eval_int).unwrap_or(-1);
        let s = self.socket(fd)?.clone();
        let Role::Conn { handle } = s.role else {
            return Ok(CallStatus::Done(SysResult::Errno("ENOTCONN")));
        };
        if !(0..=2).contains(&how) {
            return Ok(CallStatus::Done(SysResult::Errno("EINVAL")));
        }
        // FreeBSD's soshutdown(): ENOTCONN once the connection is gone.
        if self.conn_state(handle) == TcpState::Closed {
            return Ok(CallStatus::Done(SysResult::Errno("ENOTCONN")));
        }
        if how == 0 || s.shut_wr {
            return Ok(CallStatus::Done(SysResult::Ret(0)));
        }
        let now = self.now;
        let r = match self.endpoint.as_mut() {
            Some(ep) => ep.shutdown(now, handle),
            None => return fail("no stack"),
        };
        self.socket(fd)?.shut_wr = true;
        self.settle()?;
        Ok(CallStatus::Done(match r {
            Ok(()) => SysResult::Ret(0),
            Err(EndpointError::Connection(ConnectionError::ConnectionDoesNotExist)) => {
                SysResult::Errno("ENOTCONN")
            }
            // A second close of the sending side is a no-op for the socket layer.
            Err(EndpointError::Connection(ConnectionError::ConnectionClosing)) => SysResult::Ret(0),
            Err(e) => return fail(format!("shutdown: {e}")),
        }))
    }

    fn fcntl(&mut self, fd: i64, spec: &SyscallSpec) -> Step<CallStatus> {
        let cmd = spec.args.get(1).and_then(Expr::as_word).unwrap_or("");
        let s = self.socket(fd)?;
        match cmd {
            "F_GETFL" => {
                let flags = O_RDWR | if s.nonblocking { O_NONBLOCK } else { 0 };
                Ok(CallStatus::Done(SysResult::Ret(flags)))
            }
            "F_SETFL" => {
                let Some(flags) = spec.args.get(2).and_then(eval_int) else {
                    return fail("fcntl(F_SETFL): cannot evaluate the flags");
                };
                s.nonblocking = flags & O_NONBLOCK != 0;
                Ok(CallStatus::Done(SysResult::Ret(0)))
            }
            other => Err(Stop::Skip(format!("fcntl({other}) is not emulated"))),
        }
    }

    /// `SO_RCVBUF`: FreeBSD rounds the receive buffer up to a multiple of
    /// the MSS once the peer's SYN has been processed (`tcp_mss()`).
    fn rcvbuf(&self, s: &Socket) -> i64 {
        let base = s.opts.rcvbuf.unwrap_or_else(|| self.profile.recvspace());
        let size = match s.role {
            Role::Conn { handle } => {
                match self.endpoint.as_ref().and_then(|ep| ep.connection(handle)) {
                    Some(c) if c.tcb().irs_known && c.tcb().smss > 0 => {
                        let mss = usize::try_from(c.tcb().smss).unwrap_or(1);
                        base.div_ceil(mss) * mss
                    }
                    _ => base,
                }
            }
            _ => base,
        };
        i64::try_from(size).unwrap_or(i64::MAX)
    }

    fn getsockopt(&mut self, fd: i64, spec: &SyscallSpec) -> Step<CallStatus> {
        let opt = spec.args.get(2).and_then(Expr::as_word).unwrap_or("");
        let expected = spec
            .args
            .get(3)
            .map(unwrap_array)
            .unwrap_or(&Expr::Ellipsis);
        let s = self.socket(fd)?.clone();
        let (value, shown): (Option<i64>, String) = match opt {
            "SO_ERROR" => {
                self.socket(fd)?.so_error = None;
                match (s.so_error, expected) {
                    (Some(e), Expr::Word(w)) => {
                        if same_errno(w, e) {
                            return Ok(CallStatus::Done(SysResult::Ret(0)));
                        }
                        return fail(format!("getsockopt(SO_ERROR): expected {w} but got {e}"));
                    }
                    (Some(e), _) => (None, e.to_string()),
                    (None, _) => (Some(0), "0".to_string()),
                }
            }
            "SO_RCVBUF" => {
                let v = self.rcvbuf(&s);
                (Some(v), v.to_string())
            }
            "SO_SNDBUF" => {
                let v = i64::try_from(s.opts.sndbuf.unwrap_or_else(|| self.profile.sendspace()))
                    .unwrap_or(i64::MAX);
                (Some(v), v.to_string())
            }
            "SO_REUSEADDR" => (Some(1), "1".to_string()),
            "TCP_NODELAY" => {
                let v = i64::from(s.opts.nodelay);
                (Some(v), v.to_string())
            }
            "TCP_NOOPT" => {
                let v = i64::from(s.opts.noopt);
                (Some(v), v.to_string())
            }
            other => return Err(Stop::Skip(format!("getsockopt({other}) is not modelled"))),
        };
        let ok = match expected {
            Expr::Ellipsis => true,
            Expr::Word(w) => value.is_none() && shown == *w || symbol(w) == value,
            e => eval_int(e).is_some_and(|x| Some(x) == value),
        };
        if !ok {
            return fail(format!(
                "getsockopt({opt}): expected {expected} but got {shown}"
            ));
        }
        Ok(CallStatus::Done(SysResult::Ret(0)))
    }

    fn setsockopt(&mut self, fd: i64, spec: &SyscallSpec) -> Step<CallStatus> {
        let opt = spec
            .args
            .get(2)
            .and_then(Expr::as_word)
            .unwrap_or("")
            .to_string();
        let val_expr = spec
            .args
            .get(3)
            .map(unwrap_array)
            .cloned()
            .unwrap_or(Expr::Ellipsis);
        let s = self.socket(fd)?.clone();
        let fresh = s.role == Role::Fresh;
        let int = eval_int(&val_expr);
        let need_fresh = |what: &str| -> Step {
            if fresh {
                Ok(())
            } else {
                Err(Stop::Skip(format!(
                    "{what} set after the connection exists"
                )))
            }
        };
        match opt.as_str() {
            "SO_REUSEADDR" | "SO_REUSEPORT" => {}
            "TCP_KEEPINIT" => {
                // FreeBSD: seconds allowed for connection establishment.
                need_fresh("TCP_KEEPINIT")?;
                let Some(v) = int.and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0) else {
                    return Ok(CallStatus::Done(SysResult::Errno("EINVAL")));
                };
                self.socket(fd)?.opts.keepinit = Some(v);
            }
            "TCP_NOOPT" => {
                need_fresh("TCP_NOOPT")?;
                self.socket(fd)?.opts.noopt = int.unwrap_or(0) != 0;
            }
            "TCP_NODELAY" => {
                let on = int.unwrap_or(0) != 0;
                self.socket(fd)?.opts.nodelay = on;
                if let Role::Conn { handle } = s.role {
                    if let Some(c) = self
                        .endpoint
                        .as_mut()
                        .and_then(|ep| ep.connection_mut(handle))
                    {
                        c.tcb_mut().config.nagle = !on;
                    }
                }
            }
            "SO_RCVBUF" | "SO_SNDBUF" => {
                need_fresh(&opt)?;
                let Some(v) = int.and_then(|v| usize::try_from(v).ok()).filter(|v| *v > 0) else {
                    return Ok(CallStatus::Done(SysResult::Errno("EINVAL")));
                };
                let sock = self.socket(fd)?;
                if opt == "SO_RCVBUF" {
                    sock.opts.rcvbuf = Some(v);
                } else {
                    sock.opts.sndbuf = Some(v);
                }
            }
            "SO_LINGER" => {
                let field = |name: &str| -> Option<i64> {
                    let Expr::Struct(items) = &val_expr else {
                        return None;
                    };
                    items.iter().find_map(|i| match i {
                        Expr::Assign { lhs, rhs } if lhs.as_word() == Some(name) => eval_int(rhs),
                        _ => None,
                    })
                };
                match (
                    field("l_onoff").or_else(|| field("onoff")),
                    field("l_linger").or_else(|| field("linger")),
                ) {
                    (Some(0), _) => self.socket(fd)?.linger_zero = false,
                    (Some(_), Some(0)) => self.socket(fd)?.linger_zero = true,
                    _ => {
                        return Err(Stop::Skip(
                            "SO_LINGER with a timeout is not modelled".to_string(),
                        ))
                    }
                }
            }
            other => return Err(Stop::Skip(format!("setsockopt({other}) is not modelled"))),
        }
        Ok(CallStatus::Done(SysResult::Ret(0)))
    }

    fn recv(&mut self, fd: i64, spec: &SyscallSpec) -> Step<CallStatus> {
        let len = spec.args.get(2).and_then(eval_int).unwrap_or(0);
        let flags = spec.args.get(3).and_then(eval_int).unwrap_or(0);
        let peek = flags & 0x2 != 0;
        let dontwait = flags & 0x80 != 0;
        let s = self.socket(fd)?.clone();
        let Role::Conn { handle } = s.role else {
            return Ok(CallStatus::Done(SysResult::Errno("ENOTCONN")));
        };
        let len = usize::try_from(len.max(0)).unwrap_or(0);
        let (readable, fin, state) =
            match self.endpoint.as_ref().and_then(|ep| ep.connection(handle)) {
                Some(c) => (c.readable(), c.tcb().fin_received, c.state()),
                None => (0, false, TcpState::Closed),
            };
        if readable > 0 && len > 0 {
            let n = readable.min(len);
            if !peek {
                let now = self.now;
                let mut buf = vec![0u8; n];
                let got = match self.endpoint.as_mut() {
                    Some(ep) => ep.recv(now, handle, &mut buf),
                    None => return fail("no stack"),
                };
                let got = got.map_err(|e| Stop::Fail(format!("recv: {e}")))?;
                self.settle()?;
                return Ok(CallStatus::Done(SysResult::Ret(
                    i64::try_from(got).unwrap_or(0),
                )));
            }
            return Ok(CallStatus::Done(SysResult::Ret(
                i64::try_from(n).unwrap_or(0),
            )));
        }
        if let Some(e) = s.so_error {
            self.socket(fd)?.so_error = None;
            return Ok(CallStatus::Done(SysResult::Errno(e)));
        }
        if fin || state == TcpState::Closed || len == 0 {
            return Ok(CallStatus::Done(SysResult::Ret(0)));
        }
        if s.nonblocking || dontwait {
            return Ok(CallStatus::Done(SysResult::Errno("EAGAIN")));
        }
        Ok(CallStatus::Blocked)
    }

    fn send(&mut self, fd: i64, spec: &SyscallSpec) -> Step<CallStatus> {
        let len = spec.args.get(2).and_then(eval_int).unwrap_or(0);
        let flags = spec.args.get(3).and_then(eval_int).unwrap_or(0);
        let s = self.socket(fd)?.clone();
        let Role::Conn { handle } = s.role else {
            return Ok(CallStatus::Done(SysResult::Errno("ENOTCONN")));
        };
        if s.shut_wr {
            return Ok(CallStatus::Done(SysResult::Errno("EPIPE")));
        }
        if let Some(e) = s.so_error {
            self.socket(fd)?.so_error = None;
            return Ok(CallStatus::Done(SysResult::Errno(e)));
        }
        let data = vec![0u8; usize::try_from(len.max(0)).unwrap_or(0)];
        let now = self.now;
        let r = match self.endpoint.as_mut() {
            Some(ep) => ep.send(now, handle, &data),
            None => return fail("no stack"),
        };
        let result = match r {
            Ok(n) if n == data.len() || s.nonblocking => {
                SysResult::Ret(i64::try_from(n).unwrap_or(0))
            }
            Ok(_) => {
                return Err(Stop::Skip(
                    "a blocking write larger than the send buffer is not emulated".to_string(),
                ))
            }
            Err(EndpointError::Connection(ConnectionError::WouldBlock)) => {
                if s.nonblocking || flags & 0x80 != 0 {
                    SysResult::Errno("EAGAIN")
                } else {
                    return Ok(CallStatus::Blocked);
                }
            }
            Err(EndpointError::Connection(e)) => SysResult::Errno(match e {
                ConnectionError::ConnectionDoesNotExist | ConnectionError::ConnectionClosing => {
                    "EPIPE"
                }
                other => errno_of(other),
            }),
            Err(e) => return fail(format!("send: {e}")),
        };
        self.settle()?;
        Ok(CallStatus::Done(result))
    }

    fn ioctl(&mut self, fd: i64, spec: &SyscallSpec) -> Step<CallStatus> {
        let s = self.socket(fd)?.clone();
        let readable = match s.role {
            Role::Conn { handle } => self
                .endpoint
                .as_ref()
                .and_then(|ep| ep.connection(handle))
                .map_or(0, |c| c.readable()),
            _ => 0,
        };
        let readable = i64::try_from(readable).unwrap_or(i64::MAX);
        let expected = spec
            .args
            .get(2)
            .map(unwrap_array)
            .unwrap_or(&Expr::Ellipsis);
        match expected {
            Expr::Ellipsis => {}
            e if eval_int(e) == Some(readable) => {}
            e => {
                return fail(format!(
                    "ioctl(FIONREAD): expected {e} but {readable} bytes are readable"
                ))
            }
        }
        Ok(CallStatus::Done(SysResult::Ret(0)))
    }
}

/// EAGAIN and EWOULDBLOCK are the same errno on FreeBSD.
fn same_errno(a: &str, b: &str) -> bool {
    let norm = |e: &str| {
        if e == "EWOULDBLOCK" {
            "EAGAIN".to_string()
        } else {
            e.to_string()
        }
    };
    norm(a) == norm(b)
}

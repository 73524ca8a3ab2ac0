//! Scenario files: a readable script of packets in, packets expected out,
//! user calls and expected states, run against one engine. The run produces
//! an exchange log (every packet, call result and state change, with times)
//! that must be the same for every engine and is snapshotted.
//!
//! ```text
//! # RFC 9293 §3.5 figure 6: active open
//! config msl=1s
//! app open active
//! out S seq=0
//! in  S. seq=0 ack=1 win=8192 opts=mss
//! out . seq=1 ack=1
//! state ESTABLISHED
//! ```
//! `in` sequence numbers are relative to the peer's ISN and its
//! acknowledgments relative to our ISS; `out` the other way round. Flags are
//! packetdrill's: `S` SYN, `F` FIN, `R` RST, `P` PSH, `.` ACK. Before each
//! new input every segment the stack sent must have been matched by an
//! `out` line (or discarded with `out *`).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use tcp_core::engine::AnyEngine;
use tcp_core::seq::SeqNum;
use tcp_core::tcb::ConnEvent;
use tcp_core::wire::{self, Flags, TcpHeader, TcpOptions, Timestamps};
use tcp_core::{Config, Connection, ConnectionError, Duration, Instant, TcpState};

/// A scenario that failed to parse.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A scenario whose run did not match its expectations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: expected {expected}, got {actual}\n--- log so far ---\n{log}")]
pub struct Mismatch {
    pub file: String,
    pub line: usize,
    pub expected: String,
    pub actual: String,
    pub log: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Expect {
    Ok,
    Value(usize),
    Eof,
    Err(ConnectionError),
    Any,
}

#[derive(Clone, Debug, PartialEq)]
enum Call {
    OpenActive,
    OpenPassive,
    Send(usize),
    Recv(usize),
    Close,
    Abort,
}

#[derive(Clone, Debug, PartialEq)]
struct SegSpec {
    flags: Flags,
    seq: u32,
    end: Option<u32>,
    ack: Option<u32>,
    win: Option<u16>,
    opts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Config(Vec<(String, String)>),
    App(Call, Expect),
    In(SegSpec),
    Out(SegSpec),
    OutAny,
    OutNone,
    Wait(Duration),
    Timer,
    State(TcpState),
    Event(String),
}

/// A parsed scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub file: String,
    steps: Vec<(usize, Step)>,
}

fn parse_flags(s: &str) -> Option<Flags> {
    let mut f = Flags::empty();
    for c in s.chars() {
        let bit = match c {
            'S' => Flags::SYN,
            'F' => Flags::FIN,
            'R' => Flags::RST,
            'P' => Flags::PSH,
            '.' => Flags::ACK,
            'U' => Flags::URG,
            _ => return None,
        };
        f.insert(bit);
    }
    Some(f)
}

fn parse_duration(s: &str) -> Option<Duration> {
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((s, "s"), |i| s.split_at(i));
    let v: f64 = num.parse().ok()?;
    let secs = match unit {
        "s" => v,
        "ms" => v / 1e3,
        "us" => v / 1e6,
        "min" => v * 60.0,
        _ => return None,
    };
    (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs))
}

fn parse_error_name(s: &str) -> Option<ConnectionError> {
    ConnectionError::from_spec_name(s).or(match s {
        "WouldBlock" => Some(ConnectionError::WouldBlock),
        _ => None,
    })
}

fn parse_seg(words: &[&str]) -> Result<SegSpec, String> {
    let flags = words
        .first()
        .and_then(|w| parse_flags(w))
        .ok_or("expected flags such as S, S., ., F., R")?;
    let mut spec = SegSpec {
        flags,
        seq: 0,
        end: None,
        ack: None,
        win: None,
        opts: Vec::new(),
    };
    let mut have_seq = false;
    for w in &words[1..] {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got `{w}`"))?;
        let num = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| format!("bad number `{v}` in `{w}`"))
        };
        match k {
            "seq" => {
                have_seq = true;
                match v.split_once(':') {
                    Some((a, b)) => {
                        spec.seq = num(a)?;
                        spec.end = Some(num(b)?);
                    }
                    None => spec.seq = num(v)?,
                }
            }
            "ack" => spec.ack = Some(num(v)?),
            "win" => {
                spec.win = Some(
                    u16::try_from(num(v)?).map_err(|_| format!("window `{v}` exceeds 65535"))?,
                )
            }
            "opts" => spec.opts = v.split(',').map(str::to_string).collect(),
            _ => return Err(format!("unknown field `{k}`")),
        }
    }
    if !have_seq {
        return Err("missing seq=".into());
    }
    Ok(spec)
}

fn parse_expect(s: Option<&str>) -> Result<Expect, String> {
    Ok(match s {
        None => Expect::Any,
        Some("ok") => Expect::Ok,
        Some("eof") => Expect::Eof,
        Some(v) => match v.parse::<usize>() {
            Ok(n) => Expect::Value(n),
            Err(_) => {
                Expect::Err(parse_error_name(v).ok_or_else(|| format!("unknown result `{v}`"))?)
            }
        },
    })
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Scenario::parse(&name, &path.display().to_string(), &text)
    }

    pub fn parse(name: &str, file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let mut steps = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let body = raw.split('#').next().unwrap_or("").trim();
            if body.is_empty() {
                continue;
            }
            let (body, result) = match body.split_once("->") {
                Some((a, b)) => (a.trim(), Some(b.trim())),
                None => (body, None),
            };
            let words: Vec<&str> = body.split_whitespace().collect();
            let err = |message: String| ScenarioError::Syntax {
                file: file.to_string(),
                line,
                message,
            };
            let step = match words.as_slice() {
                ["config", rest @ ..] => Step::Config(
                    rest.iter()
                        .map(|w| {
                            w.split_once('=')
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                        })
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| err("config takes key=value pairs".into()))?,
                ),
                ["app", call @ ..] => {
                    let c = match call {
                        ["open", "active"] | ["connect"] => Call::OpenActive,
                        ["open", "passive"] | ["listen"] => Call::OpenPassive,
                        ["send", n] => Call::Send(
                            n.parse()
                                .map_err(|_| err(format!("bad byte count `{n}`")))?,
                        ),
                        ["recv", n] => Call::Recv(
                            n.parse()
                                .map_err(|_| err(format!("bad byte count `{n}`")))?,
                        ),
                        ["close"] => Call::Close,
                        ["abort"] => Call::Abort,
                        _ => return Err(err(format!("unknown call `{}`", call.join(" ")))),
                    };
                    Step::App(c, parse_expect(result).map_err(err)?)
                }
                ["in", rest @ ..] => Step::In(parse_seg(rest).map_err(err)?),
                ["out", "*"] => Step::OutAny,
                ["out", "none"] => Step::OutNone,
                ["out", rest @ ..] => Step::Out(parse_seg(rest).map_err(err)?),
                ["wait", d] => {
                    Step::Wait(parse_duration(d).ok_or_else(|| err(format!("bad duration `{d}`")))?)
                }
                ["timer"] => Step::Timer,
                ["state", s] => Step::State(
                    TcpState::from_name(s).ok_or_else(|| err(format!("unknown state `{s}`")))?,
                ),
                ["event", e] => Step::Event(e.to_string()),
                _ => return Err(err(format!("cannot parse `{body}`"))),
            };
            steps.push((line, step));
        }
        Ok(Scenario {
            name: name.to_string(),
            file: file.to_string(),
            steps,
        })
    }

    /// The configuration after the scenario's `config` lines.
    pub fn config(&self) -> Result<Config, ScenarioError> {
        let mut c = Config {
            msl: Duration::from_secs(1),
            trace: true,
            ..Config::default()
        };
        for (line, step) in &self.steps {
            let Step::Config(pairs) = step else { continue };
            for (k, v) in pairs {
                let bad = || ScenarioError::Syntax {
                    file: self.file.clone(),
                    line: *line,
                    message: format!("bad config `{k}={v}`"),
                };
                let flag = || match v.as_str() {
                    "on" | "true" | "1" => Ok(true),
                    "off" | "false" | "0" => Ok(false),
                    _ => Err(bad()),
                };
                let num = || v.parse::<u32>().map_err(|_| bad());
                match k.as_str() {
                    "msl" => c.msl = parse_duration(v).ok_or_else(bad)?,
                    "mss" => c.mss = u16::try_from(num()?).map_err(|_| bad())?,
                    "send_buffer" => c.send_buffer = num()? as usize,
                    "recv_buffer" => c.recv_buffer = num()? as usize,
                    "nagle" => c.nagle = flag()?,
                    "sack" => c.sack = flag()?,
                    "timestamps" => c.timestamps = flag()?,
                    "window_scaling" => c.window_scaling = flag()?,
                    "delayed_ack" => {
                        c.delayed_ack = if v == "off" {
                            None
                        } else {
                            Some(parse_duration(v).ok_or_else(bad)?)
                        }
                    }
                    "rto_min" => c.rto_min = parse_duration(v).ok_or_else(bad)?,
                    "rto_initial" => c.rto_initial = parse_duration(v).ok_or_else(bad)?,
                    "syn_retries" => c.syn_retries = num()?,
                    "synack_retries" => c.synack_retries = num()?,
                    "data_retries" => c.data_retries = num()?,
                    "challenge_ack_limit" => c.challenge_ack_limit = num()?,
                    "rfc5961_rst" => c.rfc5961_rst = flag()?,
                    "rfc5961_syn" => c.rfc5961_syn = flag()?,
                    "keepalive" => {
                        // keepalive=IDLE,INTERVAL,PROBES (e.g. 10s,2s,3)
                        let parts: Vec<&str> = v.split(',').collect();
                        let [idle, interval, probes] = parts.as_slice() else {
                            return Err(bad());
                        };
                        c.keepalive = Some(tcp_core::config::KeepaliveConfig {
                            idle: parse_duration(idle).ok_or_else(bad)?,
                            interval: parse_duration(interval).ok_or_else(bad)?,
                            probes: probes.parse().map_err(|_| bad())?,
                        });
                    }
                    "initial_window" => c.initial_window_segments = num()?,
                    "user_timeout" => c.user_timeout = Some(parse_duration(v).ok_or_else(bad)?),
                    _ => return Err(bad()),
                }
            }
        }
        Ok(c)
    }
}

/// Our ISS and the peer's ISN in every scenario: both close to 2^32 so that
/// sequence arithmetic wraps during the run.
pub const LOCAL_ISS: u32 = 0xffff_ffe0;
pub const PEER_ISN: u32 = 0xffff_f000;

fn local() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], 40_000))
}

fn remote() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 2], 80))
}

fn flags_str(f: Flags) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (Flags::SYN, 'S'),
        (Flags::FIN, 'F'),
        (Flags::RST, 'R'),
        (Flags::PSH, 'P'),
        (Flags::URG, 'U'),
        (Flags::ACK, '.'),
    ] {
        if f.contains(bit) {
            s.push(c);
        }
    }
    s
}

struct Out {
    flags: Flags,
    seq: u32,
    len: u32,
    ack: u32,
    win: u16,
    opts: String,
}

impl Out {
    fn describe(&self) -> String {
        let seq = if self.len > 0 {
            format!("{}:{}", self.seq, self.seq.wrapping_add(self.len))
        } else {
            self.seq.to_string()
        };
        let ack = if self.flags.contains(Flags::ACK) {
            format!(" ack={}", self.ack)
        } else {
            String::new()
        };
        format!(
            "{} seq={seq}{ack} win={}{}",
            flags_str(self.flags),
            self.win,
            self.opts
        )
    }
}

fn opts_str(o: &TcpOptions) -> String {
    let mut parts = Vec::new();
    if let Some(m) = o.mss {
        parts.push(format!("mss {m}"));
    }
    if let Some(w) = o.window_scale {
        parts.push(format!("wscale {w}"));
    }
    if o.sack_permitted {
        parts.push("sackOK".to_string());
    }
    if o.timestamps.is_some() {
        parts.push("TS".to_string());
    }
    if !o.sack_blocks.is_empty() {
        let blocks: Vec<String> = o
            .sack_blocks
            .iter()
            .map(|(l, r)| {
                format!(
                    "{}:{}",
                    l.0.wrapping_sub(PEER_ISN),
                    r.0.wrapping_sub(PEER_ISN)
                )
            })
            .collect();
        parts.push(format!("sack {}", blocks.join(" ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" <{}>", parts.join(","))
    }
}

/// Runs `scenario` on `engine`; returns the exchange log, or the first mismatch.
pub fn run(scenario: &Scenario, engine: AnyEngine) -> Result<String, Mismatch> {
    let config = scenario.config().map_err(|e| Mismatch {
        file: scenario.file.clone(),
        line: 0,
        expected: "a valid config".into(),
        actual: e.to_string(),
        log: String::new(),
    })?;
    let mut run = Run {
        file: scenario.file.clone(),
        conn: Connection::new(
            config,
            local(),
            remote(),
            SeqNum(LOCAL_ISS),
            engine,
            Instant::ZERO,
        ),
        now: Instant::ZERO,
        log: String::new(),
        pending: VecDeque::new(),
        events: VecDeque::new(),
        buf: vec![0u8; 70_000],
        peer_ts: 1000,
    };
    for (line, step) in &scenario.steps {
        run.step(*line, step)?;
    }
    if let Some(o) = run.pending.front() {
        return Err(run.fail(
            0,
            "every sent segment matched by the end".into(),
            format!("unmatched out {}", o.describe()),
        ));
    }
    Ok(run.log)
}

/// One scenario being run: the connection, the clock, the exchange log and
/// what the stack sent or reported that no step has matched yet.
struct Run {
    file: String,
    conn: Connection<AnyEngine>,
    now: Instant,
    log: String,
    pending: VecDeque<Out>,
    events: VecDeque<ConnEvent>,
    buf: Vec<u8>,
    /// The peer's next TSval.
    peer_ts: u32,
}

impl Run {
    fn ts(&self) -> String {
        format!("{:>8.3}", self.now.as_secs_f64())
    }

    fn fail(&self, line: usize, expected: String, actual: String) -> Mismatch {
        Mismatch {
            file: self.file.clone(),
            line,
            expected,
            actual,
            log: self.log.clone(),
        }
    }

    /// Logs and queues what the stack did after an input: state changes,
    /// segments sent, events for the application.
    fn collect(&mut self) {
        let ts = self.ts();
        for t in self.conn.drain_traces() {
            let _ = writeln!(
                self.log,
                "{ts} state {} -> {}",
                t.previous_tcp_state, t.tcp_state
            );
        }
        while let Some(n) = self.conn.poll_transmit(self.now, &mut self.buf) {
            let Ok(seg) = wire::parse_segment(&self.buf[..n]) else {
                continue;
            };
            let h = seg.header;
            let out = Out {
                flags: h.flags,
                seq: h.seq.0.wrapping_sub(LOCAL_ISS),
                len: seg.payload.len() as u32,
                ack: h.ack.0.wrapping_sub(PEER_ISN),
                win: h.window,
                opts: opts_str(&h.options),
            };
            let _ = writeln!(self.log, "{ts} out {}", out.describe());
            self.pending.push_back(out);
            if self.pending.len() > 10_000 {
                break;
            }
        }
        while let Some(e) = self.conn.poll_event() {
            let _ = writeln!(self.log, "{ts} event {e:?}");
            self.events.push_back(e);
        }
    }

    /// Moves the clock to `t` (never back), fires what is due, collects.
    fn fire_at(&mut self, t: Instant) {
        self.now = self.now.max(t);
        self.conn.handle_timeout(self.now);
        self.collect();
    }

    fn step(&mut self, line: usize, step: &Step) -> Result<(), Mismatch> {
        let is_input = matches!(
            step,
            Step::App(..) | Step::In(_) | Step::Wait(_) | Step::Timer
        );
        if is_input {
            if let Some(o) = self.pending.front() {
                return Err(self.fail(
                    line,
                    "every sent segment matched before the next input".into(),
                    format!("unmatched out {}", o.describe()),
                ));
            }
        }
        match step {
            Step::Config(_) => {}
            Step::App(call, expect) => self.app(line, call, expect)?,
            Step::In(spec) => self.segment_in(line, spec)?,
            Step::Out(spec) => self.segment_out(line, spec)?,
            Step::OutAny => self.pending.clear(),
            Step::OutNone => {
                if let Some(o) = self.pending.front() {
                    return Err(self.fail(
                        line,
                        "nothing sent".into(),
                        format!("out {}", o.describe()),
                    ));
                }
            }
            Step::Wait(d) => {
                let until = self.now + *d;
                // Fire timers in order, up to `until`.
                while let Some(t) = self.conn.poll_timeout() {
                    if t > until {
                        break;
                    }
                    self.fire_at(t);
                }
                self.fire_at(until);
            }
            Step::Timer => {
                let Some(t) = self.conn.poll_timeout() else {
                    return Err(self.fail(line, "a timer to be armed".into(), "no timer".into()));
                };
                self.fire_at(t);
            }
            Step::State(s) => {
                if self.conn.state() != *s {
                    return Err(self.fail(
                        line,
                        format!("state {s}"),
                        format!("state {}", self.conn.state()),
                    ));
                }
            }
            Step::Event(name) => {
                let found = self.events.iter().position(|e| format!("{e:?}") == *name);
                match found {
                    Some(i) => {
                        self.events.remove(i);
                    }
                    None => {
                        let seen: Vec<String> =
                            self.events.iter().map(|e| format!("{e:?}")).collect();
                        return Err(self.fail(
                            line,
                            format!("event {name}"),
                            format!("events {seen:?}"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// `app CALL -> EXPECT`.
    fn app(&mut self, line: usize, call: &Call, expect: &Expect) -> Result<(), Mismatch> {
        let now = self.now;
        let conn = &mut self.conn;
        let (text, result) = match call {
            Call::OpenActive => ("open active".to_string(), conn.connect(now).map(|()| 0)),
            Call::OpenPassive => ("open passive".to_string(), conn.listen(now).map(|()| 0)),
            Call::Send(n) => {
                let data: Vec<u8> = (0..*n).map(|i| (i % 251) as u8).collect();
                (format!("send {n}"), conn.send(now, &data))
            }
            Call::Recv(n) => {
                let mut b = vec![0u8; *n];
                (format!("recv {n}"), conn.recv(now, &mut b))
            }
            Call::Close => ("close".to_string(), conn.close(now).map(|()| 0)),
            Call::Abort => ("abort".to_string(), conn.abort(now).map(|()| 0)),
        };
        let shown = match (&result, call) {
            (Ok(0), Call::Recv(_)) => "eof".to_string(),
            (Ok(v), Call::Send(_) | Call::Recv(_)) => v.to_string(),
            (Ok(_), _) => "ok".to_string(),
            (Err(e), _) => format!("{e:?}"),
        };
        let _ = writeln!(self.log, "{} app {text} -> {shown}", self.ts());
        let ok = match (expect, &result) {
            (Expect::Any, _) => true,
            (Expect::Ok, Ok(_)) => true,
            (Expect::Value(v), Ok(n)) => v == n,
            (Expect::Eof, Ok(0)) => matches!(call, Call::Recv(_)),
            (Expect::Err(e), Err(got)) => e == got,
            _ => false,
        };
        if !ok {
            return Err(self.fail(line, format!("{expect:?}"), shown));
        }
        self.collect();
        Ok(())
    }

    /// `in FLAGS seq=.. ack=.. win=.. <opts>`: the peer's segment arrives.
    fn segment_in(&mut self, line: usize, spec: &SegSpec) -> Result<(), Mismatch> {
        let mut opts = TcpOptions::default();
        for o in &spec.opts {
            match o.as_str() {
                "mss" => opts.mss = Some(1460),
                "ws" => opts.window_scale = Some(2),
                "sack" => opts.sack_permitted = true,
                "ts" => {
                    self.peer_ts = self.peer_ts.wrapping_add(1);
                    opts.timestamps = Some(Timestamps {
                        tsval: self.peer_ts,
                        tsecr: 0,
                    });
                }
                other => {
                    return Err(self.fail(
                        line,
                        "an option among mss,ws,sack,ts".into(),
                        other.to_string(),
                    ));
                }
            }
        }
        let len = spec.end.map_or(0, |e| e.wrapping_sub(spec.seq));
        if len > 65_000 {
            return Err(self.fail(line, "a payload under 65000 bytes".into(), len.to_string()));
        }
        let payload: Vec<u8> = (0..len).map(|i| (i % 247) as u8).collect();
        let header = TcpHeader {
            src_port: remote().port(),
            dst_port: local().port(),
            seq: SeqNum(PEER_ISN.wrapping_add(spec.seq)),
            ack: SeqNum(LOCAL_ISS.wrapping_add(spec.ack.unwrap_or(0))),
            flags: spec.flags,
            window: spec.win.unwrap_or(65_535),
            urgent: 0,
            options: opts,
        };
        let ph = tcp_core::tcb::pseudo_header(remote().ip(), local().ip());
        let mut seg = vec![0u8; 80 + payload.len()];
        let n = wire::emit_segment(&header, &payload, &ph, &mut seg)
            .map_err(|e| self.fail(line, "an encodable segment".into(), e.to_string()))?;
        let shown = Out {
            flags: spec.flags,
            seq: spec.seq,
            len,
            ack: spec.ack.unwrap_or(0),
            win: header.window,
            opts: opts_str(&opts),
        };
        let _ = writeln!(self.log, "{} in  {}", self.ts(), shown.describe());
        if let Err(e) = self.conn.handle_segment(self.now, &seg[..n]) {
            return Err(self.fail(
                line,
                "the segment accepted by the parser".into(),
                e.to_string(),
            ));
        }
        self.collect();
        Ok(())
    }

    /// `out FLAGS seq=.. ack=.. win=..`: the next segment the stack sent.
    fn segment_out(&mut self, line: usize, spec: &SegSpec) -> Result<(), Mismatch> {
        let Some(o) = self.pending.pop_front() else {
            return Err(self.fail(
                line,
                format!("out {}", flags_str(spec.flags)),
                "nothing sent".into(),
            ));
        };
        let len_ok = spec
            .end
            .map_or(o.len == 0, |e| e.wrapping_sub(spec.seq) == o.len);
        let ok = o.flags == spec.flags
            && o.seq == spec.seq
            && len_ok
            && spec.ack.is_none_or(|a| a == o.ack)
            && spec.win.is_none_or(|w| w == o.win);
        if !ok {
            let exp = Out {
                flags: spec.flags,
                seq: spec.seq,
                len: spec.end.map_or(0, |e| e.wrapping_sub(spec.seq)),
                ack: spec.ack.unwrap_or(0),
                win: spec.win.unwrap_or(0),
                opts: String::new(),
            };
            return Err(self.fail(
                line,
                format!("out {}", exp.describe()),
                format!("out {}", o.describe()),
            ));
        }
        Ok(())
    }
}

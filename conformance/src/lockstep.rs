//! Side by side: the same inputs to several engines, compared after every
//! input (segments out, app events, call results, state, key TCB variables).
//! On the first difference the whole input history and both observations
//! are reported.

use std::fmt;
use std::net::SocketAddr;

use tcp_core::engine::{AnyEngine, Engine};
use tcp_core::seq::SeqNum;
use tcp_core::tcb::ConnEvent;
use tcp_core::timer::TimerKind;
use tcp_core::wire::{self, Flags, TcpHeader, TcpOptions, Timestamps};
use tcp_core::{Config, Connection, ConnectionError, Duration, EngineKind, Instant, TcpState};

/// A sequence or acknowledgment number chosen relative to the connection's
/// variables, clustered where bugs live: window edges, just outside, far
/// away, wrapped around 2^32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqPick {
    /// Relative to RCV.NXT (for SEG.SEQ) or SND.UNA (for SEG.ACK).
    Left(i32),
    /// Relative to RCV.NXT+RCV.WND (for SEG.SEQ) or SND.NXT (for SEG.ACK).
    Right(i32),
    /// Half the sequence space away.
    Far,
    /// An absolute number (wraps around 2^32 near the ISNs the tests use).
    Raw(u32),
}

/// One input to the connection under test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// OPEN: active (`true`) or passive.
    Open(bool),
    /// SEND of this many bytes (a deterministic pattern).
    Send(usize),
    /// RECEIVE into a buffer of this size.
    Recv(usize),
    Close,
    Abort,
    /// A segment from the peer.
    Segment {
        flags: u8,
        seq: SeqPick,
        ack: SeqPick,
        window: u16,
        len: u16,
        /// Offer MSS / window scale / SACK-permitted / timestamps (on SYNs).
        options: bool,
    },
    /// Time passes by this many milliseconds; due timers fire.
    Wait(u32),
    /// Time jumps to the next timer deadline, which fires.
    NextTimer,
}

/// What one engine showed after one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub call: Option<Result<usize, ConnectionError>>,
    pub segments: Vec<Vec<u8>>,
    pub events: Vec<ConnEvent>,
    pub states: Vec<(TcpState, TcpState)>,
    pub state: TcpState,
    pub vars: Vars,
    pub received: Vec<u8>,
}

/// The key TCB variables compared after every input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vars {
    pub snd_una: u32,
    pub snd_nxt: u32,
    pub rcv_nxt: u32,
    pub snd_wnd: u32,
    pub rcv_wnd: u32,
    pub cwnd: u32,
    pub timers: [Option<u64>; 6],
}

/// The first input after which two engines disagreed.
#[derive(Debug)]
pub struct Divergence {
    pub history: Vec<Input>,
    pub engines: (EngineKind, EngineKind),
    pub observations: (Observation, Observation),
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "engines {} and {} diverged after input #{}:",
            self.engines.0.as_str(),
            self.engines.1.as_str(),
            self.history.len()
        )?;
        for (i, input) in self.history.iter().enumerate() {
            writeln!(f, "  {i:>3}: {input:?}")?;
        }
        writeln!(f, "{}: {:#?}", self.engines.0.as_str(), self.observations.0)?;
        writeln!(f, "{}: {:#?}", self.engines.1.as_str(), self.observations.1)
    }
}

impl std::error::Error for Divergence {}

/// The addresses every lockstep run uses.
pub fn local_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 40_000))
}

pub fn remote_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 80))
}

/// A configuration small enough that windows fill and edges are reachable.
pub fn lockstep_config() -> Config {
    Config {
        send_buffer: 4096,
        recv_buffer: 4096,
        mss: 536,
        msl: Duration::from_secs(2),
        delayed_ack: Some(Duration::from_millis(40)),
        syn_retries: 3,
        synack_retries: 3,
        data_retries: 4,
        challenge_ack_limit: 5,
        // Longer than the SYN retries (1+2+4+8 s), shorter than the data
        // retries (1+2+4+8+16 s): both ends of RFC 9293 §3.10.8 get exercised.
        user_timeout: Some(Duration::from_secs(20)),
        ..Config::default()
    }
}

/// Connections with the same ISS near 2^32 (wraparound) on every engine.
pub struct Lockstep {
    conns: Vec<Connection<AnyEngine>>,
    now: Instant,
    history: Vec<Input>,
    peer_isn: SeqNum,
    peer_ts: u32,
    buf: Vec<u8>,
}

impl Lockstep {
    pub fn new(engines: Vec<AnyEngine>, config: Config) -> Lockstep {
        Lockstep::new_with_configs(engines.into_iter().map(|e| (e, config.clone())).collect())
    }

    /// Engines with their own configurations (to test the harness itself).
    pub fn new_with_configs(engines: Vec<(AnyEngine, Config)>) -> Lockstep {
        let conns = engines
            .into_iter()
            .map(|(e, config)| {
                Connection::new(
                    config,
                    local_addr(),
                    remote_addr(),
                    SeqNum(0xffff_ff00),
                    e,
                    Instant::ZERO,
                )
            })
            .collect();
        Lockstep {
            conns,
            now: Instant::ZERO,
            history: Vec::new(),
            peer_isn: SeqNum(0x7fff_fff0),
            peer_ts: 1,
            buf: vec![0; 4096],
        }
    }

    pub fn history(&self) -> &[Input] {
        &self.history
    }

    pub fn connection(&self, i: usize) -> &Connection<AnyEngine> {
        &self.conns[i]
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Builds the peer's segment for `input` against the first engine's TCB
    /// (all engines have the same TCB until a divergence is reported).
    fn segment_bytes(
        &mut self,
        flags: u8,
        seq: SeqPick,
        ack: SeqPick,
        window: u16,
        len: u16,
        options: bool,
    ) -> Vec<u8> {
        let tcb = self.conns[0].tcb();
        let rcv_nxt = if tcb.irs_known {
            tcb.rcv_nxt
        } else {
            self.peer_isn
        };
        let wnd = tcb.current_rcv_wnd();
        let seq = match seq {
            SeqPick::Left(d) => rcv_nxt + d as u32,
            SeqPick::Right(d) => rcv_nxt + wnd + d as u32,
            SeqPick::Far => rcv_nxt + 0x8000_0000,
            SeqPick::Raw(v) => SeqNum(v),
        };
        let ack = match ack {
            SeqPick::Left(d) => tcb.snd_una + d as u32,
            SeqPick::Right(d) => tcb.snd_nxt + d as u32,
            SeqPick::Far => tcb.snd_una + 0x8000_0000,
            SeqPick::Raw(v) => SeqNum(v),
        };
        let flags = Flags(flags);
        let mut opts = TcpOptions::default();
        if options && flags.contains(Flags::SYN) {
            opts.mss = Some(1460);
            opts.window_scale = Some(2);
            opts.sack_permitted = true;
            opts.timestamps = Some(Timestamps {
                tsval: self.peer_ts,
                tsecr: 0,
            });
        } else if tcb.ts_enabled {
            self.peer_ts = self.peer_ts.wrapping_add(1);
            opts.timestamps = Some(Timestamps {
                tsval: self.peer_ts,
                tsecr: 0,
            });
        }
        let header = TcpHeader {
            src_port: remote_addr().port(),
            dst_port: local_addr().port(),
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options: opts,
        };
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let ph = tcp_core::tcb::pseudo_header(remote_addr().ip(), local_addr().ip());
        let mut out = vec![0u8; 60 + payload.len()];
        let n = wire::emit_segment(&header, &payload, &ph, &mut out).unwrap_or(0);
        out.truncate(n);
        out
    }

    /// Applies `input` to every engine; returns the first divergence.
    pub fn step(&mut self, input: Input) -> Result<(), Box<Divergence>> {
        self.history.push(input.clone());
        let bytes = match &input {
            Input::Segment {
                flags,
                seq,
                ack,
                window,
                len,
                options,
            } => Some(self.segment_bytes(*flags, *seq, *ack, *window, *len, *options)),
            _ => None,
        };
        match &input {
            Input::Wait(ms) => self.now += Duration::from_millis(u64::from(*ms)),
            Input::NextTimer => {
                if let Some(t) = self.conns[0].poll_timeout() {
                    self.now = self.now.max(t);
                }
            }
            _ => {}
        }
        let now = self.now;
        let mut observations = Vec::with_capacity(self.conns.len());
        for conn in &mut self.conns {
            let mut received = Vec::new();
            let call = match &input {
                Input::Open(true) => Some(conn.connect(now).map(|()| 0)),
                Input::Open(false) => Some(conn.listen(now).map(|()| 0)),
                Input::Send(n) => {
                    let data: Vec<u8> = (0..*n).map(|i| (i % 253) as u8).collect();
                    Some(conn.send(now, &data))
                }
                Input::Recv(n) => {
                    let mut b = vec![0u8; *n];
                    let r = conn.recv(now, &mut b);
                    if let Ok(k) = r {
                        received.extend_from_slice(&b[..k]);
                    }
                    Some(r)
                }
                Input::Close => Some(conn.close(now).map(|()| 0)),
                Input::Abort => Some(conn.abort(now).map(|()| 0)),
                Input::Segment { .. } => {
                    // A malformed segment is an input error for every engine alike.
                    let _ = conn.handle_segment(now, bytes.as_deref().unwrap_or(&[]));
                    None
                }
                Input::Wait(_) | Input::NextTimer => {
                    conn.handle_timeout(now);
                    None
                }
            };
            observations.push(observe(conn, now, call, received, &mut self.buf));
        }
        for i in 1..observations.len() {
            if observations[i] != observations[0] {
                return Err(Box::new(Divergence {
                    history: self.history.clone(),
                    engines: (self.conns[0].engine().kind(), self.conns[i].engine().kind()),
                    observations: (observations[0].clone(), observations[i].clone()),
                }));
            }
        }
        Ok(())
    }

    /// Runs all inputs; stops at the first divergence.
    pub fn run(&mut self, inputs: &[Input]) -> Result<(), Box<Divergence>> {
        for input in inputs {
            self.step(input.clone())?;
        }
        Ok(())
    }
}

fn observe(
    conn: &mut Connection<AnyEngine>,
    now: Instant,
    call: Option<Result<usize, ConnectionError>>,
    received: Vec<u8>,
    buf: &mut [u8],
) -> Observation {
    let mut segments = Vec::new();
    while let Some(n) = conn.poll_transmit(now, buf) {
        segments.push(buf[..n].to_vec());
        if segments.len() > 64 {
            break;
        }
    }
    let events = std::iter::from_fn(|| conn.poll_event()).collect();
    let states = conn
        .drain_traces()
        .map(|t| (t.previous_tcp_state, t.tcp_state))
        .collect();
    let tcb = conn.tcb();
    let mut timers = [None; 6];
    for k in TimerKind::ALL {
        timers[k.index()] = tcb.timers.get(k).map(|t| t.as_nanos());
    }
    Observation {
        call,
        segments,
        events,
        states,
        state: tcb.state,
        vars: Vars {
            snd_una: tcb.snd_una.0,
            snd_nxt: tcb.snd_nxt.0,
            rcv_nxt: tcb.rcv_nxt.0,
            snd_wnd: tcb.snd_wnd,
            rcv_wnd: tcb.current_rcv_wnd(),
            cwnd: tcb.ccv.cwnd,
            timers,
        },
        received,
    }
}

/// All three engines on the real spec.
pub fn all_engines() -> Vec<AnyEngine> {
    vec![
        AnyEngine::builtin(EngineKind::Table),
        AnyEngine::builtin(EngineKind::PerState),
        AnyEngine::builtin(EngineKind::Interpreted),
    ]
}

/// A prefix of inputs that brings the connection to ESTABLISHED, actively
/// (`true`) or passively.
pub fn establish(active: bool) -> Vec<Input> {
    let syn_ack = Flags::SYN.0 | Flags::ACK.0;
    if active {
        vec![
            Input::Open(true),
            Input::Segment {
                flags: syn_ack,
                seq: SeqPick::Raw(0x7fff_fff0),
                ack: SeqPick::Right(0),
                window: 4096,
                len: 0,
                options: true,
            },
        ]
    } else {
        vec![
            Input::Open(false),
            Input::Segment {
                flags: Flags::SYN.0,
                seq: SeqPick::Raw(0x7fff_fff0),
                ack: SeqPick::Raw(0),
                window: 4096,
                len: 0,
                options: true,
            },
            Input::Segment {
                flags: Flags::ACK.0,
                seq: SeqPick::Left(0),
                ack: SeqPick::Right(0),
                window: 4096,
                len: 0,
                options: false,
            },
        ]
    }
}

//! The lab transfer: two [`Endpoint`]s with a small application each, on a
//! duplex link of the simulator, with a tap that counts, captures and
//! classifies every packet.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;

use tcp_core::engine::Engine;
use tcp_core::seq::SeqNum;
use tcp_core::time::Instant;
use tcp_core::wire::{self, ip, Flags, WireError};
use tcp_core::Endpoint;
use tcp_core::{
    Config, ConnEvent, ConnHandle, ConnectionError, EndpointError, EngineKind, InputError,
    InterpretedEngine, PerStateEngine, TableEngine, TcpState, TraceEvent,
};

use super::pcap::PcapWriter;
use super::report::{
    Agreement, CwndSample, DirectionCounts, LabReport, PacketCounts, RunReport, Side, SideReport,
    StateTime,
};
use super::{EngineChoice, LabConfig, LabError};
use crate::sim::{DropReason, Host, HostId, PacketEvent, PacketEventKind, Simulator};

/// The port the server listens on (iperf's).
pub const SERVER_PORT: u16 = 5001;
/// Documentation addresses (RFC 5737 TEST-NET-1): the packets never leave
/// the simulator.
const CLIENT_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const SERVER_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
/// The data pattern repeats every 251 bytes (a prime, so a segment that
/// lands at the wrong offset shows unless it moved by a multiple of 251).
const PATTERN_PERIOD: usize = 251;
/// Largest slice handed to one `send` call (a bigger write is issued in
/// pieces; the endpoint takes only what its buffer holds anyway).
const MAX_SEND_CALL: usize = 1 << 20;
const READ_BUF: usize = 64 << 10;
/// A run stops (incomplete) after this many simulator events.
const MAX_EVENTS: u64 = 500_000_000;
/// Progress is reported every this many events.
const PROGRESS_EVERY: u64 = 8192;

/// How far a run has got, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Index of the current run (0-based) and the number of runs.
    pub run: usize,
    pub runs: usize,
    pub engine: EngineKind,
    pub bytes_delivered: u64,
    pub bytes_total: u64,
    pub sim_time: Instant,
    /// The run is over (sent once per run).
    pub done: bool,
}

/// Runs the lab transfer once per engine of [`LabConfig::engine`].
pub fn run(config: &LabConfig) -> Result<LabReport, LabError> {
    run_with_progress(config, &mut |_| {})
}

/// [`run`], calling `progress` every few thousand simulator events and at
/// the end of every run.
pub fn run_with_progress(
    config: &LabConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<LabReport, LabError> {
    config.validate()?;
    let engines = config.engine.engines();
    let mut runs = Vec::with_capacity(engines.len());
    for (i, &kind) in engines.iter().enumerate() {
        let mut report = |p: Progress| {
            progress(&Progress {
                run: i,
                runs: engines.len(),
                ..p
            })
        };
        let run = match kind {
            EngineKind::Table => run_one(TableEngine, config, &mut report)?,
            EngineKind::PerState => run_one(PerStateEngine, config, &mut report)?,
            EngineKind::Interpreted => {
                let engine = match &config.spec {
                    Some(spec) => InterpretedEngine::new(spec.clone()),
                    None => InterpretedEngine::real(),
                };
                run_one(engine, config, &mut report)?
            }
        };
        runs.push(run);
    }
    let agreement = match (config.engine, runs.as_slice()) {
        (EngineChoice::Both, [a, b]) => Some(Agreement::compare(a, b)),
        _ => None,
    };
    Ok(LabReport {
        config: config.clone(),
        runs,
        agreement,
    })
}

/// What the hosts and the tap record, shared (the simulator is one thread).
#[derive(Default)]
struct Shared {
    traces: Vec<(Side, TraceEvent)>,
    cwnd: Vec<CwndSample>,
    record_cwnd: bool,
    counts: [DirectionCounts; 2],
    /// Highest sequence number sent, per direction (retransmission test).
    snd_max: [Option<SeqNum>; 2],
    first_syn: Option<Instant>,
    first_fin: Option<Instant>,
    pcap: Option<PcapWriter>,
    digest: u64,
}

impl Shared {
    /// Every packet event of the simulator.
    fn on_packet(&mut self, ev: &PacketEvent, bytes: &[u8]) {
        let dir = usize::from(ev.from != HostId(0));
        match ev.kind {
            PacketEventKind::Sent => {
                self.counts[dir].sent += 1;
                self.classify_sent(dir, ev.time, bytes);
                if let Some(p) = &mut self.pcap {
                    p.push(ev.time, bytes);
                }
                self.digest = fnv1a(self.digest, &ev.time.as_nanos().to_le_bytes());
                self.digest = fnv1a(self.digest, bytes);
            }
            PacketEventKind::Duplicated { .. } => {
                self.counts[dir].duplicated += 1;
                // The copy is on the wire too.
                if let Some(p) = &mut self.pcap {
                    p.push(ev.time, bytes);
                }
            }
            PacketEventKind::Dropped(reason) => {
                let c = &mut self.counts[dir];
                match reason {
                    DropReason::Loss => c.dropped_loss += 1,
                    DropReason::Queue => c.dropped_queue += 1,
                    _ => c.dropped_other += 1,
                }
            }
            PacketEventKind::Corrupted { .. } => self.counts[dir].corrupted += 1,
            PacketEventKind::Reordered { .. } => self.counts[dir].reordered += 1,
            PacketEventKind::Delivered => self.counts[dir].delivered += 1,
        }
    }

    /// Flags, data and retransmissions of a packet as its host sent it.
    fn classify_sent(&mut self, dir: usize, time: Instant, bytes: &[u8]) {
        let Ok(packet) = ip::parse_ip_packet(bytes) else {
            return;
        };
        let Ok(seg) = wire::parse_segment(packet.payload) else {
            return;
        };
        let flags = seg.header.flags;
        let c = &mut self.counts[dir];
        if !seg.payload.is_empty() {
            c.data_segments += 1;
            c.payload_bytes += seg.payload.len() as u64;
        }
        if flags.contains(Flags::SYN) {
            c.syn += 1;
            if dir == 0 && !flags.contains(Flags::ACK) && self.first_syn.is_none() {
                self.first_syn = Some(time);
            }
        }
        if flags.contains(Flags::FIN) {
            c.fin += 1;
            if self.first_fin.is_none() {
                self.first_fin = Some(time);
            }
        }
        if flags.contains(Flags::RST) {
            c.rst += 1;
            return;
        }
        // A segment occupying sequence space below what this direction
        // already sent is a retransmission (SYN, data or FIN again).
        let len = seg.seg_len();
        if len > 0 {
            let seq = seg.header.seq;
            let end = seq + len;
            let max = &mut self.snd_max[dir];
            if max.is_some_and(|m| seq.lt(m)) {
                c.retransmissions += 1;
            }
            *max = Some(max.map_or(end, |m| m.max(end)));
        }
    }
}

/// FNV-1a, 64 bits: a cheap, stable digest of the packets of a run.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    if h == 0 {
        h = 0xcbf2_9ce4_8422_2325;
    }
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The application of one side.
#[derive(Debug, Default)]
struct App {
    /// Client: bytes to write, write size, bytes accepted by SEND so far.
    total: u64,
    write_size: usize,
    written: u64,
    shut: bool,
    /// Both: bytes read, the end of stream seen, CLOSE called.
    received: u64,
    eof: bool,
    closed: bool,
    first_mismatch: Option<u64>,
    last_byte_at: Option<Instant>,
    errors: Vec<String>,
    /// The application gave up on the connection (it failed).
    failed: bool,
    /// The connection was reported established (connect(2) returned).
    connected: bool,
}

/// An endpoint and its application, as a simulator host.
struct LabHost<E: Engine + Clone> {
    ep: Endpoint<E>,
    side: Side,
    app: App,
    conn: Option<ConnHandle>,
    wants: Option<Instant>,
    pattern: Rc<[u8]>,
    buf: Vec<u8>,
    shared: Rc<RefCell<Shared>>,
    last_cwnd: Option<(u32, u32)>,
}

impl<E: Engine + Clone> LabHost<E> {
    fn new(
        side: Side,
        config: &LabConfig,
        engine: E,
        pattern: Rc<[u8]>,
        shared: Rc<RefCell<Shared>>,
    ) -> LabHost<E> {
        let tcp = Config {
            mss: config.mss,
            send_buffer: config.window,
            recv_buffer: config.window,
            msl: config.msl,
            congestion_control: config.cc,
            trace: true,
            ..Config::default()
        };
        let (addr, stream) = match side {
            Side::Client => (CLIENT_ADDR, 1),
            Side::Server => (SERVER_ADDR, 2),
        };
        let seed = crate::sim::rng::derive_seed(config.seed, 1000 + stream);
        let ep = Endpoint::new(tcp, vec![addr], engine, seed);
        LabHost {
            ep,
            side,
            app: App {
                total: config.bytes,
                write_size: config.write_size,
                ..App::default()
            },
            conn: None,
            wants: None,
            pattern,
            buf: vec![0; READ_BUF],
            shared,
            last_cwnd: None,
        }
    }

    /// Time zero: the server listens, the client connects (active OPEN).
    fn start(&mut self, now: Instant) {
        match self.side {
            Side::Server => {
                if let Err(e) = self.ep.listen(SERVER_PORT, 16) {
                    self.app.errors.push(format!("listen: {e}"));
                    self.app.failed = true;
                }
            }
            Side::Client => match self
                .ep
                .connect(now, SocketAddr::new(SERVER_ADDR, SERVER_PORT))
            {
                Ok(h) => self.conn = Some(h),
                Err(e) => {
                    self.app.errors.push(format!("connect: {e}"));
                    self.app.failed = true;
                }
            },
        }
        self.after_input(now);
    }

    /// After every input: application events, the application's next
    /// calls, then the traces, the cwnd sample and the next timeout.
    fn after_input(&mut self, now: Instant) {
        while let Some((h, ev)) = self.ep.poll_event() {
            if Some(h) != self.conn && self.side == Side::Client {
                continue;
            }
            match ev {
                ConnEvent::Connected => self.app.connected = true,
                ConnEvent::Error(e) => {
                    self.app.errors.push(e.to_string());
                    self.app.failed = true;
                }
                _ => {}
            }
        }
        if self.side == Side::Server && self.conn.is_none() {
            self.conn = self.ep.accept(SERVER_PORT);
        }
        if !self.app.failed {
            self.drive(now);
        }
        // The application's calls may have queued more events; they are
        // read on the next input.
        let mut shared = self.shared.borrow_mut();
        let side = self.side;
        shared
            .traces
            .extend(self.ep.drain_traces().map(|t| (side, t)));
        if shared.record_cwnd && side == Side::Client {
            if let Some(tcb) = self
                .conn
                .and_then(|h| self.ep.connection(h))
                .map(|c| c.tcb())
            {
                let v = (tcb.ccv.cwnd, tcb.ccv.ssthresh);
                if self.last_cwnd != Some(v) && tcb.ccv.cwnd > 0 {
                    self.last_cwnd = Some(v);
                    shared.cwnd.push(CwndSample {
                        time: now,
                        cwnd: v.0,
                        ssthresh: v.1,
                        flight: tcb.flight_size(),
                    });
                }
            }
        }
        drop(shared);
        self.wants = self.ep.poll_timeout();
    }

    /// The application: the client writes then shuts down, both read to
    /// the end of the stream and close.
    fn drive(&mut self, now: Instant) {
        let Some(h) = self.conn else { return };
        // As a sockets program does: connect(2) returns once the
        // connection is established, then the writes begin. (A CLOSE in
        // SYN-SENT would delete the TCB, RFC 9293 §3.10.4.)
        if self.side == Side::Client {
            if !self.app.connected {
                return;
            }
            self.write(now, h);
        }
        self.read(now, h);
    }

    fn write(&mut self, now: Instant, h: ConnHandle) {
        let w = self.app.write_size as u64;
        while self.app.written < self.app.total {
            // The rest of the current write(2) of `write_size` bytes.
            let write_end = ((self.app.written / w) + 1)
                .saturating_mul(w)
                .min(self.app.total);
            let len = ((write_end - self.app.written) as usize).min(MAX_SEND_CALL);
            let off = (self.app.written % PATTERN_PERIOD as u64) as usize;
            let Some(data) = self.pattern.get(off..off + len) else {
                return;
            };
            match self.ep.send(now, h, data) {
                Ok(n) => self.app.written += n as u64,
                Err(EndpointError::Connection(ConnectionError::WouldBlock)) => return,
                Err(e) => {
                    self.app.errors.push(format!("send: {e}"));
                    self.app.failed = true;
                    return;
                }
            }
        }
        if !self.app.shut {
            self.app.shut = true;
            // CLOSE of the sending side (shutdown(SHUT_WR)): a FIN follows
            // the data (RFC 9293 §3.10.4).
            if let Err(e) = self.ep.shutdown(now, h) {
                self.app.errors.push(format!("shutdown: {e}"));
                self.app.failed = true;
            }
        }
    }

    fn read(&mut self, now: Instant, h: ConnHandle) {
        while !self.app.eof {
            match self.ep.recv(now, h, &mut self.buf) {
                Ok(0) => {
                    self.app.eof = true;
                    // Both directions are done: close(2).
                    if let Err(e) = self.ep.close(now, h) {
                        self.app.errors.push(format!("close: {e}"));
                    }
                    self.app.closed = true;
                }
                Ok(n) => {
                    let off = (self.app.received % PATTERN_PERIOD as u64) as usize;
                    let expected = self.pattern.get(off..off + n);
                    if self.app.first_mismatch.is_none() && expected != Some(&self.buf[..n]) {
                        let at = expected
                            .and_then(|e| e.iter().zip(&self.buf[..n]).position(|(a, b)| a != b))
                            .unwrap_or(0);
                        self.app.first_mismatch = Some(self.app.received + at as u64);
                    }
                    self.app.received += n as u64;
                    self.app.last_byte_at = Some(now);
                }
                Err(EndpointError::Connection(ConnectionError::WouldBlock)) => return,
                Err(e) => {
                    self.app.errors.push(format!("recv: {e}"));
                    self.app.failed = true;
                    return;
                }
            }
        }
    }

    fn count_rejected(&mut self, e: &InputError) {
        // Packets arriving here travelled the other direction.
        let dir = match self.side {
            Side::Client => 1,
            Side::Server => 0,
        };
        let mut shared = self.shared.borrow_mut();
        let c = &mut shared.counts[dir];
        match e {
            InputError::BadChecksum | InputError::Malformed(WireError::BadIpChecksum) => {
                c.rejected_checksum += 1
            }
            InputError::Malformed(_) | InputError::NotForUs | InputError::Multicast => {
                c.rejected_malformed += 1
            }
        }
    }
}

impl<E: Engine + Clone> Host for LabHost<E> {
    fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        // RFC 9293 §3.1: the checksum covers the pseudo-header, header and
        // data; a segment that fails it is dropped (the endpoint checks).
        if let Err(e) = self.ep.handle_packet(now, packet) {
            self.count_rejected(&e);
        }
        self.after_input(now);
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let sent = self.ep.poll_transmit(now, buf).map(|t| t.len);
        if sent.is_none() {
            // Sending arms the retransmission timer (RFC 6298 §5.1).
            self.wants = self.ep.poll_timeout();
        }
        sent
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.wants
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.after_input(now);
    }
}

fn pattern(len: usize) -> Rc<[u8]> {
    (0..len + PATTERN_PERIOD)
        .map(|i| (i % PATTERN_PERIOD) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn run_one<E: Engine + Clone + 'static>(
    engine: E,
    config: &LabConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunReport, LabError> {
    let wall = std::time::Instant::now();
    let kind = engine.kind();
    let spec = match kind {
        EngineKind::PerState => None,
        EngineKind::Table => Some(tcp_fsm_spec::SPEC_FILE_NAME.to_string()),
        EngineKind::Interpreted => Some(
            config
                .spec_name
                .clone()
                .unwrap_or_else(|| tcp_fsm_spec::SPEC_FILE_NAME.to_string()),
        ),
    };
    let shared = Rc::new(RefCell::new(Shared {
        record_cwnd: config.record.cwnd,
        pcap: config.record.pcap.then(PcapWriter::new),
        ..Shared::default()
    }));
    let chunk = (config.write_size.min(MAX_SEND_CALL) as u64).min(config.bytes) as usize;
    let pattern = pattern(chunk.max(READ_BUF));
    let mut sim: Simulator<LabHost<E>> = Simulator::new(config.seed);
    let client = sim.add_host(LabHost::new(
        Side::Client,
        config,
        engine.clone(),
        pattern.clone(),
        shared.clone(),
    ));
    let server = sim.add_host(LabHost::new(
        Side::Server,
        config,
        engine,
        pattern,
        shared.clone(),
    ));
    sim.connect_duplex(client, server, &config.link())
        .map_err(LabError::Link)?;
    {
        let shared = shared.clone();
        sim.add_tap(move |ev, bytes| shared.borrow_mut().on_packet(ev, bytes));
    }
    sim.with_host(server, |h, now| h.start(now));
    sim.with_host(client, |h, now| h.start(now));

    let deadline = Instant::ZERO + config.time_limit;
    let mut events = 0u64;
    let stopped = loop {
        if sim.is_idle() {
            break None;
        }
        if sim.next_event_time().is_some_and(|t| t > deadline) {
            break Some(format!(
                "still running after the time limit of {} of simulated time",
                super::fmt_duration(config.time_limit)
            ));
        }
        if sim.step().is_none() {
            break None;
        }
        events += 1;
        if events.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress {
                run: 0,
                runs: 1,
                engine: kind,
                bytes_delivered: sim.host(server).app.received,
                bytes_total: config.bytes,
                sim_time: sim.now(),
                done: false,
            });
        }
        if events >= MAX_EVENTS {
            break Some(format!("stopped after {MAX_EVENTS} simulator events"));
        }
    };
    let end = sim.now();
    progress(Progress {
        run: 0,
        runs: 1,
        engine: kind,
        bytes_delivered: sim.host(server).app.received,
        bytes_total: config.bytes,
        sim_time: end,
        done: true,
    });

    let client_app = std::mem::take(&mut sim.host_mut(client).app);
    let server_app = std::mem::take(&mut sim.host_mut(server).app);
    drop(sim);
    let shared = Rc::try_unwrap(shared)
        .map(RefCell::into_inner)
        .unwrap_or_else(|rc| std::mem::take(&mut *rc.borrow_mut()));

    let side_report = |side: Side, app: &App| {
        let transitions: Vec<TraceEvent> = shared
            .traces
            .iter()
            .filter(|(s, _)| *s == side)
            .map(|(_, t)| t.clone())
            .collect();
        SideReport {
            side,
            local_port: transitions.first().map(|t| t.local_port),
            foreign_port: transitions.first().map(|t| t.foreign_port),
            state_times: state_times(&transitions, end),
            final_state: transitions.last().map_or(TcpState::Closed, |t| t.tcp_state),
            transitions,
            errors: app.errors.clone(),
        }
    };
    let client_side = side_report(Side::Client, &client_app);
    let server_side = side_report(Side::Server, &server_app);

    let opened = client_side
        .transitions
        .iter()
        .find(|t| t.previous_tcp_state == TcpState::Closed)
        .map(|t| t.timestamp);
    let since_open = |t: Option<Instant>| match (opened, t) {
        (Some(o), Some(t)) => Some(t - o),
        _ => None,
    };
    let handshake_client = since_open(client_side.entered(TcpState::Established));
    let handshake_server = since_open(server_side.entered(TcpState::Established));
    let teardown = shared.first_fin.and_then(|fin| {
        let done = |s: &SideReport| {
            s.transitions
                .iter()
                .find(|t| {
                    t.timestamp >= fin
                        && matches!(t.tcp_state, TcpState::TimeWait | TcpState::Closed)
                })
                .map(|t| t.timestamp)
        };
        Some(done(&client_side)?.max(done(&server_side)?) - fin)
    });
    let throughput_bps = match (shared.first_syn, server_app.last_byte_at) {
        (Some(a), Some(b)) if b > a => {
            Some(server_app.received as f64 * 8.0 / (b - a).as_secs_f64())
        }
        _ => None,
    };
    let data_intact = server_app.first_mismatch.is_none();
    let all_read = server_app.received == config.bytes && server_app.eof;
    let both_closed =
        client_side.final_state == TcpState::Closed && server_side.final_state == TcpState::Closed;
    let incomplete = stopped.or_else(|| {
        let mut why = Vec::new();
        if !all_read {
            why.push(format!(
                "the server read {} of {} bytes{}",
                server_app.received,
                config.bytes,
                if server_app.eof {
                    ""
                } else {
                    " and no end of stream"
                }
            ));
        }
        if !data_intact {
            why.push("the data arrived corrupted".to_string());
        }
        if !both_closed {
            why.push(format!(
                "the connections ended in {} (client) and {} (server)",
                client_side.final_state, server_side.final_state
            ));
        }
        for (name, app) in [("client", &client_app), ("server", &server_app)] {
            if !app.errors.is_empty() {
                why.push(format!("{name}: {}", app.errors.join("; ")));
            }
        }
        (!why.is_empty()).then(|| why.join("; "))
    });
    Ok(RunReport {
        engine: kind,
        spec,
        completed: incomplete.is_none(),
        incomplete,
        bytes: config.bytes,
        bytes_delivered: server_app.received,
        data_intact,
        first_corrupt_byte: server_app.first_mismatch,
        first_syn: shared.first_syn,
        last_byte: server_app.last_byte_at,
        first_fin: shared.first_fin,
        throughput_bps,
        handshake_client,
        handshake_server,
        teardown,
        sim_duration: end - Instant::ZERO,
        client: client_side,
        server: server_side,
        trace: shared.traces,
        cwnd: shared.cwnd,
        packets: PacketCounts {
            client_to_server: shared.counts[0],
            server_to_client: shared.counts[1],
        },
        pcap: shared.pcap.map(PcapWriter::into_bytes),
        wire_digest: shared.digest,
        events,
        wall: wall.elapsed(),
    })
}

/// Time in each state from one side's transitions: each state lasts from
/// its entry to the next transition; a last state other than CLOSED lasts
/// until `end`. States are listed in order of first entry.
fn state_times(transitions: &[TraceEvent], end: Instant) -> Vec<StateTime> {
    let mut out: Vec<StateTime> = Vec::new();
    for (i, t) in transitions.iter().enumerate() {
        let left = match transitions.get(i + 1) {
            Some(next) => next.timestamp,
            None if t.tcp_state == TcpState::Closed => continue,
            None => end,
        };
        let spent = left - t.timestamp;
        match out.iter_mut().find(|s| s.state == t.tcp_state) {
            Some(s) => {
                s.total += spent;
                s.visits += 1;
            }
            None => out.push(StateTime {
                state: t.tcp_state,
                total: spent,
                visits: 1,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_core::time::Duration;
    use tcp_core::TraceOrigin;

    fn t(ms: u64, from: TcpState, to: TcpState) -> TraceEvent {
        TraceEvent {
            timestamp: Instant::from_millis(ms),
            local_port: 1,
            foreign_port: 2,
            previous_tcp_state: from,
            tcp_state: to,
            event: String::new(),
            origin: TraceOrigin::App,
            row: None,
            engine: EngineKind::Table,
        }
    }

    #[test]
    fn state_times_add_visits_and_skip_the_final_closed() {
        use TcpState::*;
        let tr = [
            t(0, Closed, SynSent),
            t(10, SynSent, Established),
            t(30, Established, FinWait1),
            t(35, FinWait1, Established),
            t(45, Established, Closed),
        ];
        let st = state_times(&tr, Instant::from_millis(100));
        assert_eq!(
            st,
            [
                StateTime {
                    state: SynSent,
                    total: Duration::from_millis(10),
                    visits: 1
                },
                StateTime {
                    state: Established,
                    total: Duration::from_millis(30),
                    visits: 2
                },
                StateTime {
                    state: FinWait1,
                    total: Duration::from_millis(5),
                    visits: 1
                },
            ]
        );
        // A run cut short: the last state lasts until the end.
        let st = state_times(&tr[..2], Instant::from_millis(100));
        assert_eq!(st[1].total, Duration::from_millis(90));
    }

    #[test]
    fn digest_depends_on_every_byte() {
        assert_ne!(fnv1a(0, b"ab"), fnv1a(0, b"ba"));
        assert_eq!(fnv1a(0, b"ab"), fnv1a(fnv1a(0, b"a"), b"b"));
    }
}

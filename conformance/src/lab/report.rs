//! What a lab run measured, and how it is shown: aligned text for a person,
//! JSON for a program, JSON lines for the trace.

use std::fmt::Write as _;

use serde_json::{json, Value};
use tcp_core::time::{Duration, Instant};
use tcp_core::{EngineKind, TcpState, TraceEvent};

use super::LabConfig;

/// Which end of the lab connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// Time one side spent in one state, over all its visits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateTime {
    pub state: TcpState,
    pub total: Duration,
    pub visits: u32,
}

/// One side's connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideReport {
    pub side: Side,
    /// Ports of the connection, from its first transition.
    pub local_port: Option<u16>,
    pub foreign_port: Option<u16>,
    /// This side's state changes, in order.
    pub transitions: Vec<TraceEvent>,
    /// In order of first entry; the final CLOSED is not listed.
    pub state_times: Vec<StateTime>,
    pub final_state: TcpState,
    /// Errors the application saw (refused, reset, timed out, ...).
    pub errors: Vec<String>,
}

impl SideReport {
    /// When this side first entered `state`.
    pub fn entered(&self, state: TcpState) -> Option<Instant> {
        self.transitions
            .iter()
            .find(|t| t.tcp_state == state)
            .map(|t| t.timestamp)
    }

    /// Total time in `state` (zero if never there).
    pub fn time_in(&self, state: TcpState) -> Duration {
        self.state_times
            .iter()
            .find(|s| s.state == state)
            .map_or(Duration::ZERO, |s| s.total)
    }

    /// `CLOSED → SYN_SENT → ...`: the states visited.
    pub fn path(&self) -> Vec<TcpState> {
        let mut path = Vec::with_capacity(self.transitions.len() + 1);
        if let Some(first) = self.transitions.first() {
            path.push(first.previous_tcp_state);
        }
        path.extend(self.transitions.iter().map(|t| t.tcp_state));
        path
    }
}

/// A congestion-window sample of the client (the data sender).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CwndSample {
    pub time: Instant,
    /// Bytes.
    pub cwnd: u32,
    /// Bytes; `u32::MAX` before the first loss.
    pub ssthresh: u32,
    /// Bytes sent and not yet cumulatively acknowledged.
    pub flight: u32,
}

/// Packet counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionCounts {
    /// Packets the sending host emitted.
    pub sent: u64,
    /// Of those, carrying data.
    pub data_segments: u64,
    pub payload_bytes: u64,
    /// Segments whose sequence range starts below the highest sequence
    /// number already sent in this direction (SYN, data or FIN again).
    pub retransmissions: u64,
    pub syn: u64,
    pub fin: u64,
    pub rst: u64,
    /// Extra copies the link made.
    pub duplicated: u64,
    pub reordered: u64,
    pub corrupted: u64,
    pub dropped_loss: u64,
    pub dropped_queue: u64,
    /// MTU, scripted or unroutable.
    pub dropped_other: u64,
    /// Copies handed to the receiver.
    pub delivered: u64,
    /// Delivered, but rejected by the receiver's IP or TCP checksum
    /// (RFC 9293 §3.1: a segment whose checksum fails is dropped).
    pub rejected_checksum: u64,
    /// Delivered, but not parseable (a corrupted length or version field).
    pub rejected_malformed: u64,
}

impl DirectionCounts {
    pub fn dropped(&self) -> u64 {
        self.dropped_loss + self.dropped_queue + self.dropped_other
    }
}

/// Packet counters of both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketCounts {
    pub client_to_server: DirectionCounts,
    pub server_to_client: DirectionCounts,
}

impl PacketCounts {
    /// Both directions added up.
    pub fn total(&self) -> DirectionCounts {
        let (a, b) = (&self.client_to_server, &self.server_to_client);
        DirectionCounts {
            sent: a.sent + b.sent,
            data_segments: a.data_segments + b.data_segments,
            payload_bytes: a.payload_bytes + b.payload_bytes,
            retransmissions: a.retransmissions + b.retransmissions,
            syn: a.syn + b.syn,
            fin: a.fin + b.fin,
            rst: a.rst + b.rst,
            duplicated: a.duplicated + b.duplicated,
            reordered: a.reordered + b.reordered,
            corrupted: a.corrupted + b.corrupted,
            dropped_loss: a.dropped_loss + b.dropped_loss,
            dropped_queue: a.dropped_queue + b.dropped_queue,
            dropped_other: a.dropped_other + b.dropped_other,
            delivered: a.delivered + b.delivered,
            rejected_checksum: a.rejected_checksum + b.rejected_checksum,
            rejected_malformed: a.rejected_malformed + b.rejected_malformed,
        }
    }
}

/// One transfer with one engine.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub engine: EngineKind,
    /// The spec behind the engine (`tcp.fsm`, or an edited file's name);
    /// the per-state engine has none.
    pub spec: Option<String>,
    /// Every byte arrived intact and both sides reached CLOSED.
    pub completed: bool,
    /// Why not, when not.
    pub incomplete: Option<String>,
    pub bytes: u64,
    /// Bytes the server application read.
    pub bytes_delivered: u64,
    /// Every byte read matched the pattern written.
    pub data_intact: bool,
    /// Offset of the first byte that did not match, if any.
    pub first_corrupt_byte: Option<u64>,
    /// The client's first SYN on the wire.
    pub first_syn: Option<Instant>,
    /// The server application read the last byte.
    pub last_byte: Option<Instant>,
    /// The first FIN on the wire (either side).
    pub first_fin: Option<Instant>,
    /// Payload bits / (last byte delivered − first SYN), in bit/s; `None`
    /// when no time passed or nothing was delivered.
    pub throughput_bps: Option<f64>,
    /// From the client's active OPEN to ESTABLISHED at the client.
    pub handshake_client: Option<Duration>,
    /// From the client's active OPEN to ESTABLISHED at the server.
    pub handshake_server: Option<Duration>,
    /// From the first FIN on the wire until both sides are in TIME-WAIT or
    /// CLOSED (TIME-WAIT itself not included).
    pub teardown: Option<Duration>,
    /// Virtual time when the simulation had nothing left to do.
    pub sim_duration: Duration,
    pub client: SideReport,
    pub server: SideReport,
    /// Both sides' transitions in the order they happened.
    pub trace: Vec<(Side, TraceEvent)>,
    /// Empty unless [`super::Recording::cwnd`].
    pub cwnd: Vec<CwndSample>,
    pub packets: PacketCounts,
    /// The pcap file, with [`super::Recording::pcap`].
    pub pcap: Option<Vec<u8>>,
    /// A hash of every packet sent (time and bytes), to compare runs.
    pub wire_digest: u64,
    /// Simulator events run.
    pub events: u64,
    /// Wall-clock time the run took.
    pub wall: std::time::Duration,
}

impl RunReport {
    pub fn side(&self, side: Side) -> &SideReport {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }

    /// The trace as JSON lines (one [`TraceEvent::to_json`] record per
    /// line, each ending in a newline).
    pub fn trace_jsonl(&self) -> String {
        let mut out = String::with_capacity(self.trace.len() * 220);
        for (_, t) in &self.trace {
            out.push_str(&t.to_json());
            out.push('\n');
        }
        out
    }

    /// Time spent in TIME-WAIT, by whichever side went through it.
    pub fn time_wait(&self) -> Option<Duration> {
        [&self.client, &self.server]
            .into_iter()
            .find(|s| s.state_times.iter().any(|t| t.state == TcpState::TimeWait))
            .map(|s| s.time_in(TcpState::TimeWait))
    }

    /// The report as JSON (without the pcap bytes and cwnd samples).
    pub fn to_json(&self) -> Value {
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        let at = |i: Option<Instant>| i.map(|i| i.as_secs_f64());
        json!({
            "engine": self.engine.as_str(),
            "spec": self.spec,
            "completed": self.completed,
            "incomplete": self.incomplete,
            "bytes": self.bytes,
            "bytes_delivered": self.bytes_delivered,
            "data_intact": self.data_intact,
            "first_syn_s": at(self.first_syn),
            "last_byte_s": at(self.last_byte),
            "first_fin_s": at(self.first_fin),
            "throughput_bps": self.throughput_bps,
            "handshake_client_s": secs(self.handshake_client),
            "handshake_server_s": secs(self.handshake_server),
            "teardown_s": secs(self.teardown),
            "time_wait_s": secs(self.time_wait()),
            "sim_duration_s": self.sim_duration.as_secs_f64(),
            "wall_s": self.wall.as_secs_f64(),
            "events": self.events,
            "client": side_json(&self.client),
            "server": side_json(&self.server),
            "packets": {
                "client_to_server": counts_json(&self.packets.client_to_server),
                "server_to_client": counts_json(&self.packets.server_to_client),
            },
            "cwnd_samples": self.cwnd.len(),
            "transitions": self.trace.iter().map(|(side, t)| {
                let mut v: Value = serde_json::from_str(&t.to_json()).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut v {
                    map.insert("side".into(), Value::from(side.as_str()));
                }
                v
            }).collect::<Vec<_>>(),
        })
    }
}

fn side_json(s: &SideReport) -> Value {
    json!({
        "local_port": s.local_port,
        "foreign_port": s.foreign_port,
        "final_state": s.final_state.display(),
        "errors": s.errors,
        "state_times_s": s.state_times.iter().map(|t| json!({
            "state": t.state.display(),
            "seconds": t.total.as_secs_f64(),
            "visits": t.visits,
        })).collect::<Vec<_>>(),
    })
}

fn counts_json(c: &DirectionCounts) -> Value {
    json!({
        "sent": c.sent,
        "data_segments": c.data_segments,
        "payload_bytes": c.payload_bytes,
        "retransmissions": c.retransmissions,
        "syn": c.syn,
        "fin": c.fin,
        "rst": c.rst,
        "duplicated": c.duplicated,
        "reordered": c.reordered,
        "corrupted": c.corrupted,
        "dropped_loss": c.dropped_loss,
        "dropped_queue": c.dropped_queue,
        "dropped_other": c.dropped_other,
        "delivered": c.delivered,
        "rejected_checksum": c.rejected_checksum,
        "rejected_malformed": c.rejected_malformed,
    })
}

/// How two engines' runs of the same transfer compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub engines: (EngineKind, EngineKind),
    /// Same state changes (time, side, ports, states, origin); the event
    /// names and rows are each engine's own and are not compared.
    pub transitions: bool,
    /// Same time in every state on both sides.
    pub state_times: bool,
    /// Same throughput, handshake and teardown figures.
    pub throughput: bool,
    /// Same packets at the same times, byte for byte.
    pub segments: bool,
    /// The first difference found, for a person.
    pub first_difference: Option<String>,
}

impl Agreement {
    pub fn agreed(&self) -> bool {
        self.transitions && self.state_times && self.throughput && self.segments
    }

    /// Compares two runs.
    pub fn compare(a: &RunReport, b: &RunReport) -> Agreement {
        let key = |(side, t): &(Side, TraceEvent)| {
            (
                *side,
                t.timestamp,
                t.local_port,
                t.foreign_port,
                t.previous_tcp_state,
                t.tcp_state,
                t.origin,
            )
        };
        let mut first_difference = None;
        let ka: Vec<_> = a.trace.iter().map(key).collect();
        let kb: Vec<_> = b.trace.iter().map(key).collect();
        let transitions = ka == kb;
        if !transitions {
            let i = ka.iter().zip(&kb).take_while(|(x, y)| x == y).count();
            let show = |run: &RunReport| {
                run.trace.get(i).map_or("nothing".to_string(), |(s, t)| {
                    format!(
                        "{} {} {} → {} at {:.6} s ({})",
                        s.as_str(),
                        t.local_port,
                        t.previous_tcp_state,
                        t.tcp_state,
                        t.timestamp.as_secs_f64(),
                        t.origin.as_str()
                    )
                })
            };
            first_difference = Some(format!(
                "transition {}: {} has {}, {} has {}",
                i + 1,
                a.engine.as_str(),
                show(a),
                b.engine.as_str(),
                show(b)
            ));
        }
        let state_times = a.client.state_times == b.client.state_times
            && a.server.state_times == b.server.state_times;
        if !state_times && first_difference.is_none() {
            first_difference = Some("time in states differs".to_string());
        }
        let throughput = a.throughput_bps == b.throughput_bps
            && a.handshake_client == b.handshake_client
            && a.handshake_server == b.handshake_server
            && a.teardown == b.teardown
            && a.bytes_delivered == b.bytes_delivered;
        if !throughput && first_difference.is_none() {
            first_difference = Some(format!(
                "throughput {} vs {}",
                a.throughput_bps.map_or("-".into(), fmt_bandwidth),
                b.throughput_bps.map_or("-".into(), fmt_bandwidth)
            ));
        }
        let segments = a.wire_digest == b.wire_digest && a.packets == b.packets;
        if !segments && first_difference.is_none() {
            first_difference = Some(format!(
                "the packets on the wire differ ({} vs {} sent)",
                a.packets.total().sent,
                b.packets.total().sent
            ));
        }
        Agreement {
            engines: (a.engine, b.engine),
            transitions,
            state_times,
            throughput,
            segments,
            first_difference,
        }
    }
}

/// A lab run: the configuration, one report per engine, and how they
/// compare when there are two.
#[derive(Clone, Debug)]
pub struct LabReport {
    pub config: LabConfig,
    pub runs: Vec<RunReport>,
    pub agreement: Option<Agreement>,
}

impl LabReport {
    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        let c = &self.config;
        json!({
            "config": {
                "rtt_s": c.delay.rtt().as_secs_f64(),
                "bandwidth_bps": (!c.bandwidth.is_unlimited()).then(|| c.bandwidth.as_bits_per_sec()),
                "queue_packets": c.queue_packets,
                "loss": c.loss,
                "reorder": c.reorder,
                "reorder_delay_s": c.reorder_delay.as_secs_f64(),
                "duplicate": c.duplicate,
                "corrupt": c.corrupt,
                "bytes": c.bytes,
                "write_size": c.write_size,
                "mss": c.mss,
                "window": c.window,
                "cc": c.cc.name(),
                "engine": c.engine.name(),
                "spec": c.spec_name,
                "seed": c.seed,
                "msl_s": c.msl.as_secs_f64(),
            },
            "runs": self.runs.iter().map(RunReport::to_json).collect::<Vec<_>>(),
            "agreement": self.agreement.as_ref().map(|a| json!({
                "engines": [a.engines.0.as_str(), a.engines.1.as_str()],
                "agreed": a.agreed(),
                "transitions": a.transitions,
                "state_times": a.state_times,
                "throughput": a.throughput,
                "segments": a.segments,
                "first_difference": a.first_difference,
            })),
        })
    }

    /// The report for a person: the set-up, each connection's transitions,
    /// the time in each state, the figures, the packet counts and the
    /// engines' agreement. Transitions are listed in full for the first
    /// run, and for a second run only when it differs.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let c = &self.config;
        let _ = writeln!(
            out,
            "tcpfsm lab: {} in {} writes over {}",
            fmt_bytes(c.bytes),
            fmt_bytes(c.write_size as u64),
            c.describe_link()
        );
        let _ = writeln!(
            out,
            "  MSS {} B, window {} (send and receive buffers), {}, seed {}",
            c.mss,
            fmt_bytes(c.window as u64),
            c.cc.name(),
            c.seed
        );
        let _ = writeln!(
            out,
            "  MSL {} (TIME-WAIT = 2×MSL = {}; RFC 9293's MSL is 2 min, set with --msl)",
            fmt_duration(c.msl),
            fmt_duration(c.msl * 2)
        );
        let engines: Vec<&str> = self.runs.iter().map(|r| r.engine.as_str()).collect();
        let _ = writeln!(
            out,
            "  engine{}: {}{}",
            if engines.len() > 1 { "s" } else { "" },
            engines.join(" and "),
            if engines.len() > 1 {
                ", as two independent runs with the same seed"
            } else {
                ""
            }
        );
        for (i, run) in self.runs.iter().enumerate() {
            let detailed = i == 0 || self.agreement.as_ref().is_some_and(|a| !a.agreed());
            out.push('\n');
            render_run(&mut out, c, run, detailed);
        }
        if let Some(a) = &self.agreement {
            out.push('\n');
            if a.agreed() {
                let _ = writeln!(
                    out,
                    "Engines AGREED: {} and {} took the same {} transitions at the same times, spent the same time in every state, reached the same throughput and sent the same packets byte for byte.",
                    a.engines.0.as_str(),
                    a.engines.1.as_str(),
                    self.runs.first().map_or(0, |r| r.trace.len())
                );
            } else {
                let yes_no = |b: bool| if b { "same" } else { "DIFFERENT" };
                let _ = writeln!(
                    out,
                    "Engines DISAGREED ({} vs {}): transitions {}, state times {}, throughput {}, packets {}.",
                    a.engines.0.as_str(),
                    a.engines.1.as_str(),
                    yes_no(a.transitions),
                    yes_no(a.state_times),
                    yes_no(a.throughput),
                    yes_no(a.segments)
                );
                if let Some(d) = &a.first_difference {
                    let _ = writeln!(out, "  first difference: {d}");
                }
            }
        }
        out
    }
}

fn render_run(out: &mut String, c: &LabConfig, run: &RunReport, detailed: bool) {
    let spec = run
        .spec
        .as_deref()
        .map_or(String::new(), |s| format!(", spec {s}"));
    let _ = writeln!(out, "== {} engine{spec} ==", run.engine.as_str());
    if detailed {
        render_transitions(out, run);
        out.push('\n');
        render_state_times(out, run);
        out.push('\n');
    } else {
        let _ = writeln!(
            out,
            "Same {} transitions at the same times as above (events named by this engine).",
            run.trace.len()
        );
    }
    render_results(out, c, run);
    out.push('\n');
    render_packets(out, run);
}

fn render_transitions(out: &mut String, run: &RunReport) {
    let _ = writeln!(out, "State transitions");
    let rows: Vec<[String; 8]> = run
        .trace
        .iter()
        .map(|(side, t)| {
            [
                format!("{:.6}", t.timestamp.as_secs_f64()),
                side.as_str().to_string(),
                format!("{}→{}", t.local_port, t.foreign_port),
                t.previous_tcp_state.display().to_string(),
                format!("→ {}", t.tcp_state.display()),
                t.event.clone(),
                t.origin.as_str().to_string(),
                t.row.clone().unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    let header = [
        "time (s)", "side", "ports", "previous", "→ new", "event", "origin", "row",
    ]
    .map(String::from);
    write_table(
        out,
        &header,
        &rows,
        &[true, false, false, false, false, false, false, false],
    );
    let _ = writeln!(
        out,
        "  origin: app = a call of the application, segment = an arriving segment, timer = a timeout"
    );
    if run
        .server
        .transitions
        .first()
        .is_some_and(|t| t.tcp_state == TcpState::Listen)
    {
        let _ = writeln!(
            out,
            "  The server's listening socket makes a new connection for the SYN, so it passes CLOSED → LISTEN → SYN_RCVD at once."
        );
    }
}

/// Writes rows as aligned columns (two spaces apart, indented by two);
/// `right[i]` right-aligns column `i`.
fn write_table(out: &mut String, header: &[String], rows: &[impl AsRef<[String]>], right: &[bool]) {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.as_ref().iter().enumerate().take(n) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |out: &mut String, cells: &[String]| {
        let mut text = String::from(" ");
        for (i, cell) in cells.iter().enumerate().take(n) {
            let pad = widths[i].saturating_sub(cell.chars().count());
            text.push(' ');
            if right.get(i).copied().unwrap_or(false) {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                if i + 1 < n {
                    text.push_str(&" ".repeat(pad));
                }
            }
            if i + 1 < n {
                text.push(' ');
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(out, header);
    for row in rows {
        line(out, row.as_ref());
    }
}

fn render_state_times(out: &mut String, run: &RunReport) {
    let _ = writeln!(out, "Time in each state");
    let title = |s: &SideReport| match (s.local_port, s.foreign_port) {
        (Some(l), Some(f)) => format!("{} {l}→{f}", s.side.as_str()),
        _ => s.side.as_str().to_string(),
    };
    let cells = |s: &SideReport| -> Vec<(String, String)> {
        s.state_times
            .iter()
            .map(|t| {
                let visits = if t.visits > 1 {
                    format!(" ({}×)", t.visits)
                } else {
                    String::new()
                };
                (
                    t.state.display().to_string(),
                    format!("{} ms{visits}", fmt_ms(t.total)),
                )
            })
            .collect()
    };
    let left = cells(&run.client);
    let right = cells(&run.server);
    let rows: Vec<Vec<String>> = (0..left.len().max(right.len()))
        .map(|i| {
            let (a, b) = left.get(i).cloned().unwrap_or_default();
            let (c, d) = right.get(i).cloned().unwrap_or_default();
            vec![a, b, c, d]
        })
        .collect();
    let header = vec![
        title(&run.client),
        String::new(),
        title(&run.server),
        String::new(),
    ];
    write_table(out, &header, &rows, &[false, true, false, true]);
}

fn render_results(out: &mut String, c: &LabConfig, run: &RunReport) {
    let _ = writeln!(out, "Results");
    let rtt = c.delay.rtt();
    let in_rtt = |d: Duration| {
        if rtt.is_zero() {
            String::new()
        } else {
            format!("{:.2} RTT, ", d.as_secs_f64() / rtt.as_secs_f64())
        }
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |k: &str, v: String, note: String| rows.push(vec![k.to_string(), v, note]);
    if !run.completed {
        row(
            "outcome",
            "INCOMPLETE".to_string(),
            run.incomplete.clone().unwrap_or_default(),
        );
    }
    match (run.throughput_bps, run.first_syn, run.last_byte) {
        (Some(bps), Some(a), Some(b)) => row(
            "throughput",
            fmt_bandwidth(bps),
            format!(
                "{} in {}, first SYN to last byte read",
                fmt_bytes(run.bytes_delivered),
                fmt_duration(b - a)
            ),
        ),
        _ if run.bytes_delivered > 0 => row(
            "throughput",
            "unbounded".to_string(),
            "no virtual time passed (zero RTT, unlimited bandwidth)".to_string(),
        ),
        _ => row(
            "throughput",
            "-".to_string(),
            "nothing delivered".to_string(),
        ),
    }
    if !rtt.is_zero() {
        let bound = c.window as f64 * 8.0 / rtt.as_secs_f64();
        row(
            "window/RTT",
            fmt_bandwidth(bound),
            format!(
                "upper bound: {} window / {} RTT",
                fmt_bytes(c.window as u64),
                fmt_duration(rtt)
            ),
        );
    }
    let time = |d: Option<Duration>| {
        d.map_or("-".to_string(), |d| {
            format!("{:.3} ms", d.as_secs_f64() * 1e3)
        })
    };
    let note = |d: Option<Duration>, what: &str| {
        d.map_or(what.to_string(), |d| format!("{}{what}", in_rtt(d)))
    };
    row(
        "handshake, client",
        time(run.handshake_client),
        note(
            run.handshake_client,
            "active OPEN to ESTABLISHED at the client",
        ),
    );
    row(
        "handshake, server",
        time(run.handshake_server),
        note(
            run.handshake_server,
            "active OPEN to ESTABLISHED at the server",
        ),
    );
    row(
        "teardown",
        time(run.teardown),
        note(
            run.teardown,
            "first FIN to both sides in TIME_WAIT or CLOSED",
        ),
    );
    if let Some(tw) = run.time_wait() {
        row(
            "TIME_WAIT",
            time(Some(tw)),
            format!("2×MSL, MSL {}", fmt_duration(c.msl)),
        );
    }
    row(
        "data",
        fmt_bytes(run.bytes_delivered),
        if run.data_intact {
            format!(
                "of {} read by the server, every byte as written",
                fmt_bytes(run.bytes)
            )
        } else {
            format!(
                "CORRUPTED: byte {} differs from what the client wrote",
                run.first_corrupt_byte.unwrap_or(0)
            )
        },
    );
    row(
        "simulated time",
        format!("{:.3} s", run.sim_duration.as_secs_f64()),
        "until nothing was left to do".to_string(),
    );
    let wall = run.wall.as_secs_f64();
    let speed = if wall > 0.0 {
        format!(", {:.0}× real time", run.sim_duration.as_secs_f64() / wall)
    } else {
        String::new()
    };
    row(
        "wall-clock time",
        format!("{wall:.3} s"),
        format!("{} simulator events{speed}", run.events),
    );
    for s in [&run.client, &run.server] {
        if !s.errors.is_empty() {
            row(
                &format!("{} errors", s.side.as_str()),
                String::new(),
                s.errors.join("; "),
            );
        }
    }
    let header = vec![String::new(), String::new(), String::new()];
    let mut table = String::new();
    write_table(&mut table, &header, &rows, &[false, true, false]);
    // Skip the empty header line.
    for line in table.lines().skip(1) {
        out.push_str(line);
        out.push('\n');
    }
}

fn render_packets(out: &mut String, run: &RunReport) {
    let a = &run.packets.client_to_server;
    let b = &run.packets.server_to_client;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |k: &str, f: fn(&DirectionCounts) -> u64, always: bool| {
        if always || f(a) > 0 || f(b) > 0 {
            rows.push(vec![k.to_string(), f(a).to_string(), f(b).to_string()]);
        }
    };
    row("sent", |c| c.sent, true);
    row("with data", |c| c.data_segments, true);
    row("retransmitted", |c| c.retransmissions, true);
    row("SYN / FIN / RST", |c| c.syn + c.fin + c.rst, false);
    row("dropped: random loss", |c| c.dropped_loss, false);
    row("dropped: queue full", |c| c.dropped_queue, false);
    row("dropped: other", |c| c.dropped_other, false);
    row("duplicated by the link", |c| c.duplicated, false);
    row("reordered by the link", |c| c.reordered, false);
    row("corrupted by the link", |c| c.corrupted, false);
    row("rejected: bad checksum", |c| c.rejected_checksum, false);
    row("rejected: malformed", |c| c.rejected_malformed, false);
    row("delivered", |c| c.delivered, true);
    let header = ["Packets", "client→server", "server→client"].map(String::from);
    write_table(out, &header, &rows, &[false, true, true]);
}

/// Milliseconds with three decimals: `20.000`.
fn fmt_ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

/// A duration in the largest unit that keeps it readable: `20 ms`,
/// `1.573 s`, `250 µs`, `2 min`; at most three decimals, trailing zeros
/// dropped.
pub fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let (value, unit) = if ns == 0 {
        return "0 s".to_string();
    } else if ns < 1_000 {
        (ns as f64, "ns")
    } else if ns < 1_000_000 {
        (ns as f64 / 1e3, "µs")
    } else if ns < 1_000_000_000 {
        (ns as f64 / 1e6, "ms")
    } else if ns < 120_000_000_000 || !ns.is_multiple_of(60_000_000_000) {
        (ns as f64 / 1e9, "s")
    } else {
        (ns as f64 / 60e9, "min")
    };
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} {unit}")
}

/// A rate in bit/s with an SI prefix: `85.31 Mbit/s`.
pub fn fmt_bandwidth(bps: f64) -> String {
    let (v, unit) = if bps >= 1e9 {
        (bps / 1e9, "Gbit/s")
    } else if bps >= 1e6 {
        (bps / 1e6, "Mbit/s")
    } else if bps >= 1e3 {
        (bps / 1e3, "kbit/s")
    } else {
        (bps, "bit/s")
    };
    format!("{v:.2} {unit}")
}

/// A byte count with a binary prefix: `16 MiB`, `1.5 KiB`, `100 B`.
pub fn fmt_bytes(n: u64) -> String {
    let (v, unit) = if n >= 1 << 30 {
        (n as f64 / (1u64 << 30) as f64, "GiB")
    } else if n >= 1 << 20 {
        (n as f64 / (1u64 << 20) as f64, "MiB")
    } else if n >= 1 << 10 {
        (n as f64 / 1024.0, "KiB")
    } else {
        return format!("{n} B");
    };
    let text = format!("{v:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(fmt_duration(Duration::ZERO), "0 s");
        assert_eq!(fmt_duration(Duration::from_millis(20)), "20 ms");
        assert_eq!(fmt_duration(Duration::from_micros(30_500)), "30.5 ms");
        assert_eq!(fmt_duration(Duration::from_millis(1573)), "1.573 s");
        assert_eq!(fmt_duration(Duration::from_secs(120)), "2 min");
        assert_eq!(fmt_duration(Duration::from_secs(4)), "4 s");
        assert_eq!(fmt_duration(Duration::from_nanos(250_000)), "250 µs");
    }

    #[test]
    fn rates_and_sizes_use_prefixes() {
        assert_eq!(fmt_bandwidth(85_310_000.0), "85.31 Mbit/s");
        assert_eq!(fmt_bandwidth(1.5e9), "1.50 Gbit/s");
        assert_eq!(fmt_bytes(16 << 20), "16 MiB");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(fmt_bytes(100), "100 B");
    }
}

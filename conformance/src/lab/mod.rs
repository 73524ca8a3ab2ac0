//! The networking lab: one TCP transfer between two tcp-core endpoints over
//! a simulated link ([`crate::sim`]), measured the way a course on TCP
//! measures it (the analogue of the FreeBSD L41 latency lab, in virtual
//! time).
//!
//! * The **client** connects, writes [`LabConfig::bytes`] bytes in writes of
//!   [`LabConfig::write_size`], shuts its sending side down, reads to the
//!   end of the stream and closes.
//! * The **server** listens, accepts, reads to the end of the stream
//!   (checking every byte against the pattern the client wrote), then
//!   closes.
//!
//! [`run`] returns a [`LabReport`]: throughput, handshake and teardown
//! times, the time each side spent in each state, every state transition
//! (tcp-core's [`TraceEvent`](tcp_core::TraceEvent) records, the JSON-lines
//! trace), congestion-window samples, packet counts (drops by cause,
//! retransmissions, segments rejected by checksum) and optionally a pcap of
//! every packet. With [`EngineChoice::Both`] the table engine and the
//! per-state engine run the same transfer with the same seed, and the
//! report says whether they agreed.
//!
//! ```
//! use conformance::lab::{run, LabConfig};
//! use conformance::sim::Duration;
//! let config = LabConfig {
//!     bytes: 64 * 1024,
//!     ..LabConfig::default().with_rtt(Duration::from_millis(10))
//! };
//! let report = run(&config).unwrap();
//! let run = &report.runs[0];
//! assert!(run.completed);
//! // SYN out at 0, SYN+ACK back after one RTT.
//! assert_eq!(run.handshake_client, Some(Duration::from_millis(10)));
//! ```

pub mod pcap;
pub mod plot;
mod report;
pub mod sweep;
mod transfer;

use std::sync::Arc;

use tcp_core::cc::CcAlgorithm;
use tcp_core::engine::InterpretedSpec;
use tcp_core::time::Duration;
use tcp_core::EngineKind;

use crate::sim::{Bandwidth, ConfigError, LinkConfig};

pub use report::{
    fmt_bandwidth, fmt_bytes, fmt_duration, Agreement, CwndSample, DirectionCounts, LabReport,
    PacketCounts, RunReport, Side, SideReport, StateTime,
};
pub use transfer::{run, run_with_progress, Progress, SERVER_PORT};

/// Which engine(s) drive the connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineChoice {
    /// The code `tcp_fsm!` generated from `tcp.fsm`.
    Table,
    /// The hand-written RFC 9293 §3.10.7 engine.
    PerState,
    /// The spec interpreted at run time ([`LabConfig::spec`], else the
    /// compiled-in `tcp.fsm`).
    Interpreted,
    /// The table and the per-state engine, as two independent runs with the
    /// same seed, compared.
    Both,
}

impl EngineChoice {
    /// The engines run, in order.
    pub fn engines(self) -> &'static [EngineKind] {
        match self {
            EngineChoice::Table => &[EngineKind::Table],
            EngineChoice::PerState => &[EngineKind::PerState],
            EngineChoice::Interpreted => &[EngineKind::Interpreted],
            EngineChoice::Both => &[EngineKind::Table, EngineKind::PerState],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EngineChoice::Table => "table",
            EngineChoice::PerState => "per-state",
            EngineChoice::Interpreted => "interpreted",
            EngineChoice::Both => "both",
        }
    }
}

/// How the link delay is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delay {
    /// Round-trip time: each direction gets half.
    Rtt(Duration),
    /// One-way propagation delay of each direction.
    OneWay(Duration),
}

impl Delay {
    /// The round-trip propagation time.
    pub fn rtt(self) -> Duration {
        match self {
            Delay::Rtt(d) => d,
            Delay::OneWay(d) => d * 2,
        }
    }
}

/// Which extra outputs a run records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// Keep every packet as sent, as a pcap file ([`RunReport::pcap`]).
    pub pcap: bool,
    /// Sample the client's congestion window at every change.
    pub cwnd: bool,
}

/// The lab's default maximum segment lifetime: TIME-WAIT (2×MSL) then lasts
/// 4 s of virtual time instead of RFC 9293's 4 min (MSL = 2 min), so that
/// a run's simulated duration stays about the transfer.
pub const LAB_MSL: Duration = Duration::from_secs(2);

/// Everything a lab run can be tuned with. The default is the built-in lab:
/// 16 MiB in 128 KiB writes over a 20 ms RTT link of unlimited bandwidth,
/// no impairment, MSS 1460, 256 KiB socket buffers, NewReno, the table and
/// per-state engines side by side, seed 1, MSL [`LAB_MSL`].
#[derive(Clone)]
pub struct LabConfig {
    pub delay: Delay,
    /// Link rate in each direction; [`Bandwidth::UNLIMITED`] by default.
    pub bandwidth: Bandwidth,
    /// Drop-tail queue limit in packets (each direction); unlimited if `None`.
    pub queue_packets: Option<usize>,
    /// Probability that a packet is lost (each direction).
    pub loss: f64,
    /// Probability that a packet is held back by [`LabConfig::reorder_delay`].
    pub reorder: f64,
    pub reorder_delay: Duration,
    /// Probability that a packet is duplicated.
    pub duplicate: f64,
    /// Probability that one bit of a packet is flipped.
    pub corrupt: f64,
    /// Bytes the client sends.
    pub bytes: u64,
    /// Bytes per application write.
    pub write_size: usize,
    /// MSS both ends announce.
    pub mss: u16,
    /// Send and receive buffer of both ends: the largest window.
    pub window: usize,
    pub cc: CcAlgorithm,
    pub engine: EngineChoice,
    /// The spec the interpreted engine runs (an edited `tcp.fsm`, no
    /// recompiling); `None` is the compiled-in one.
    pub spec: Option<Arc<InterpretedSpec>>,
    /// What the spec is called in reports (its file name).
    pub spec_name: Option<String>,
    pub seed: u64,
    /// Maximum segment lifetime; TIME-WAIT lasts 2×MSL (RFC 9293 §3.4.2).
    pub msl: Duration,
    pub record: Recording,
    /// A run stops (incomplete) when virtual time passes this.
    pub time_limit: Duration,
}

impl Default for LabConfig {
    fn default() -> LabConfig {
        LabConfig {
            delay: Delay::Rtt(Duration::from_millis(20)),
            bandwidth: Bandwidth::UNLIMITED,
            queue_packets: None,
            loss: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(5),
            duplicate: 0.0,
            corrupt: 0.0,
            bytes: 16 << 20,
            write_size: 128 << 10,
            mss: 1460,
            window: 256 << 10,
            cc: CcAlgorithm::NewReno,
            engine: EngineChoice::Both,
            spec: None,
            spec_name: None,
            seed: 1,
            msl: LAB_MSL,
            record: Recording::default(),
            time_limit: Duration::from_secs(3600),
        }
    }
}

impl std::fmt::Debug for LabConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabConfig")
            .field("delay", &self.delay)
            .field("bandwidth", &self.bandwidth)
            .field("queue_packets", &self.queue_packets)
            .field("loss", &self.loss)
            .field("reorder", &self.reorder)
            .field("reorder_delay", &self.reorder_delay)
            .field("duplicate", &self.duplicate)
            .field("corrupt", &self.corrupt)
            .field("bytes", &self.bytes)
            .field("write_size", &self.write_size)
            .field("mss", &self.mss)
            .field("window", &self.window)
            .field("cc", &self.cc)
            .field("engine", &self.engine)
            .field("spec", &self.spec_name)
            .field("seed", &self.seed)
            .field("msl", &self.msl)
            .field("record", &self.record)
            .field("time_limit", &self.time_limit)
            .finish()
    }
}

impl LabConfig {
    /// The same configuration with a round-trip time.
    pub fn with_rtt(mut self, rtt: Duration) -> LabConfig {
        self.delay = Delay::Rtt(rtt);
        self
    }

    /// The simulator link both directions use.
    pub fn link(&self) -> LinkConfig {
        let mut link = match self.delay {
            Delay::Rtt(d) => LinkConfig::new().rtt(d),
            Delay::OneWay(d) => LinkConfig::new().delay(d),
        }
        .bandwidth(self.bandwidth)
        .loss(self.loss)
        .duplicate(self.duplicate)
        .corrupt(self.corrupt);
        if self.reorder > 0.0 {
            link = link.reorder(self.reorder, self.reorder_delay);
        }
        if let Some(q) = self.queue_packets {
            link = link.queue_packets(q);
        }
        link
    }

    /// Checks the values no run could use.
    pub fn validate(&self) -> Result<(), LabError> {
        if self.write_size == 0 {
            return Err(LabError::ZeroWriteSize);
        }
        if self.mss < 64 {
            return Err(LabError::MssTooSmall(self.mss));
        }
        if self.window < usize::from(self.mss) {
            return Err(LabError::WindowTooSmall {
                window: self.window,
                mss: self.mss,
            });
        }
        if self.queue_packets == Some(0) {
            return Err(LabError::ZeroQueue);
        }
        if self.spec.is_some() && self.engine != EngineChoice::Interpreted {
            return Err(LabError::SpecNeedsInterpreted(self.engine.name()));
        }
        self.link().validate().map_err(LabError::Link)
    }

    /// A one-line description of the link, e.g.
    /// `20 ms RTT, unlimited bandwidth, no loss`.
    pub fn describe_link(&self) -> String {
        self.describe_link_except(None)
    }

    /// [`LabConfig::describe_link`] without one part (the swept one).
    pub fn describe_link_except(&self, omit: Option<LinkPart>) -> String {
        let mut parts = Vec::new();
        if omit != Some(LinkPart::Delay) {
            parts.push(match self.delay {
                Delay::Rtt(d) => format!("{} RTT", fmt_duration(d)),
                Delay::OneWay(d) => format!(
                    "{} one-way delay ({} RTT)",
                    fmt_duration(d),
                    fmt_duration(d * 2)
                ),
            });
        }
        if omit != Some(LinkPart::Bandwidth) {
            parts.push(if self.bandwidth.is_unlimited() {
                "unlimited bandwidth".to_string()
            } else {
                fmt_bandwidth(self.bandwidth.as_bits_per_sec() as f64)
            });
        }
        if let Some(q) = self.queue_packets {
            parts.push(format!("queue {q} packets"));
        }
        let mut impairments = Vec::new();
        let loss = if omit == Some(LinkPart::Loss) {
            0.0
        } else {
            self.loss
        };
        for (name, p) in [
            ("loss", loss),
            ("duplication", self.duplicate),
            ("corruption", self.corrupt),
        ] {
            if p > 0.0 {
                impairments.push(format!("{} {name}", fmt_percent(p)));
            }
        }
        if self.reorder > 0.0 {
            impairments.push(format!(
                "{} reordering (+{})",
                fmt_percent(self.reorder),
                fmt_duration(self.reorder_delay)
            ));
        }
        if !impairments.is_empty() {
            parts.extend(impairments);
        } else if omit != Some(LinkPart::Loss) {
            parts.push("no loss".to_string());
        }
        parts.join(", ")
    }
}

/// A part of the link description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPart {
    Delay,
    Bandwidth,
    Loss,
}

/// A probability as a percentage: `1%`, `0.25%`.
pub fn fmt_percent(p: f64) -> String {
    let pct = p * 100.0;
    let text = format!("{pct:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// Why a lab run could not start.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LabError {
    #[error("the write size must be at least 1 byte")]
    ZeroWriteSize,
    #[error("MSS {0} is too small (at least 64 bytes)")]
    MssTooSmall(u16),
    #[error("the window ({window} bytes) must hold at least one MSS ({mss} bytes)")]
    WindowTooSmall { window: usize, mss: u16 },
    #[error("a queue of 0 packets drops everything; give at least 1")]
    ZeroQueue,
    #[error("--spec runs in the interpreted engine; the engine chosen is `{0}` (use --engine interpreted)")]
    SpecNeedsInterpreted(&'static str),
    #[error("link: {0}")]
    Link(ConfigError),
}

/// Why a byte count could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("size {0:?} does not start with a number")]
    InvalidNumber(String),
    #[error("size {input:?} has an unknown unit {unit:?} (expected B, KiB, MiB, GiB (or K, M, G), kB, MB or GB)")]
    UnknownUnit { input: String, unit: String },
    #[error("size {0:?} is too large")]
    Overflow(String),
    #[error("size {0:?} is not a whole number of bytes")]
    Fraction(String),
}

/// Parses a byte count: `16MiB`, `128KiB`, `1.5M`, `1000000`, `10kB`.
/// `K`/`M`/`G` and `KiB`/`MiB`/`GiB` are powers of 1024; `kB`/`MB`/`GB`
/// powers of 1000.
pub fn parse_size(input: &str) -> Result<u64, SizeError> {
    let s = input.trim();
    let split = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(s.len(), |(i, _)| i);
    let (number, unit) = (&s[..split], s[split..].trim());
    if number.is_empty() || number.matches('.').count() > 1 || number == "." {
        return Err(SizeError::InvalidNumber(s.to_string()));
    }
    let multiplier: u128 = match unit {
        "" | "B" | "b" => 1,
        "K" | "k" | "KiB" | "Ki" => 1 << 10,
        "M" | "m" | "MiB" | "Mi" => 1 << 20,
        "G" | "g" | "GiB" | "Gi" => 1 << 30,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => {
            return Err(SizeError::UnknownUnit {
                input: s.to_string(),
                unit: unit.to_string(),
            })
        }
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{whole}{frac}");
    let mantissa: u128 = digits
        .parse()
        .map_err(|_| SizeError::Overflow(s.to_string()))?;
    let scale = 10u128
        .checked_pow(frac.len() as u32)
        .ok_or_else(|| SizeError::Overflow(s.to_string()))?;
    let product = mantissa
        .checked_mul(multiplier)
        .ok_or_else(|| SizeError::Overflow(s.to_string()))?;
    if product % scale != 0 {
        return Err(SizeError::Fraction(s.to_string()));
    }
    u64::try_from(product / scale).map_err(|_| SizeError::Overflow(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_binary_and_decimal_units() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("128 KiB"), Ok(128 << 10));
        assert_eq!(parse_size("1.5M"), Ok(3 << 19));
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size("10kB"), Ok(10_000));
        assert!(matches!(parse_size("1.1B"), Err(SizeError::Fraction(_))));
        assert!(matches!(parse_size("x"), Err(SizeError::InvalidNumber(_))));
        assert!(matches!(
            parse_size("5 parsecs"),
            Err(SizeError::UnknownUnit { .. })
        ));
    }

    #[test]
    fn percentages_read_back() {
        assert_eq!(fmt_percent(0.01), "1%");
        assert_eq!(fmt_percent(0.0025), "0.25%");
    }

    #[test]
    fn spec_requires_the_interpreted_engine() {
        let spec = tcp_core::InterpretedEngine::real().bound_spec().clone();
        let c = LabConfig {
            spec: Some(spec),
            ..LabConfig::default()
        };
        assert_eq!(c.validate(), Err(LabError::SpecNeedsInterpreted("both")));
    }
}

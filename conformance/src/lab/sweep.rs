//! Sweeps: the lab transfer repeated while one variable (RTT, loss or
//! bandwidth) takes a list of values, everything else fixed.

use std::fmt::Write as _;

use tcp_core::time::Duration;
use tcp_core::TcpState;

use super::report::{fmt_bandwidth, fmt_duration, RunReport};
use super::{fmt_percent, run_with_progress, Delay, LabConfig, LabError, LinkPart, Progress};
use crate::sim::{parse_bandwidth, parse_duration, parse_percent, Bandwidth, ParseError};

/// The swept variable and its values.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepAxis {
    Rtt(Vec<Duration>),
    Loss(Vec<f64>),
    Bandwidth(Vec<Bandwidth>),
}

impl SweepAxis {
    pub fn len(&self) -> usize {
        match self {
            SweepAxis::Rtt(v) => v.len(),
            SweepAxis::Loss(v) => v.len(),
            SweepAxis::Bandwidth(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `RTT`, `loss`, `bandwidth`.
    pub fn name(&self) -> &'static str {
        match self {
            SweepAxis::Rtt(_) => "RTT",
            SweepAxis::Loss(_) => "loss",
            SweepAxis::Bandwidth(_) => "bandwidth",
        }
    }

    /// The part of the link this axis sweeps.
    pub fn link_part(&self) -> LinkPart {
        match self {
            SweepAxis::Rtt(_) => LinkPart::Delay,
            SweepAxis::Loss(_) => LinkPart::Loss,
            SweepAxis::Bandwidth(_) => LinkPart::Bandwidth,
        }
    }

    /// The unit of [`SweepPoint::x`].
    pub fn unit(&self) -> &'static str {
        match self {
            SweepAxis::Rtt(_) => "ms",
            SweepAxis::Loss(_) => "%",
            SweepAxis::Bandwidth(_) => "Mbit/s",
        }
    }

    /// The configuration of point `i`, its x value and its label.
    fn point(&self, base: &LabConfig, i: usize) -> (LabConfig, f64, String) {
        let mut c = base.clone();
        match self {
            SweepAxis::Rtt(v) => {
                c.delay = Delay::Rtt(v[i]);
                (c, v[i].as_secs_f64() * 1e3, fmt_duration(v[i]))
            }
            SweepAxis::Loss(v) => {
                c.loss = v[i];
                (c, v[i] * 100.0, fmt_percent(v[i]))
            }
            SweepAxis::Bandwidth(v) => {
                c.bandwidth = v[i];
                let label = if v[i].is_unlimited() {
                    "unlimited".to_string()
                } else {
                    fmt_bandwidth(v[i].as_bits_per_sec() as f64)
                };
                (c, v[i].as_bits_per_sec() as f64 / 1e6, label)
            }
        }
    }
}

/// One point of a sweep.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// The swept value in [`SweepAxis::unit`].
    pub x: f64,
    /// The swept value for a person: `20 ms`, `1%`, `10.00 Mbit/s`.
    pub label: String,
    /// The configuration of this point.
    pub config: LabConfig,
    /// The first engine's run.
    pub run: RunReport,
    /// With two engines: whether they agreed.
    pub agreed: Option<bool>,
}

impl SweepPoint {
    /// The swept value as a bare number in the axis unit (`20`, `0.5`), or
    /// `unlimited`.
    pub fn x_text(&self) -> String {
        if self.x == 0.0 && self.label == "unlimited" {
            return self.label.clone();
        }
        let text = format!("{:.3}", self.x);
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A whole sweep.
#[derive(Clone, Debug)]
pub struct SweepReport {
    pub axis: SweepAxis,
    pub base: LabConfig,
    pub points: Vec<SweepPoint>,
}

/// Runs the lab once per value of `axis` (per engine, with
/// [`super::EngineChoice::Both`]). `progress` gets the point index.
pub fn run_sweep(
    base: &LabConfig,
    axis: &SweepAxis,
    progress: &mut dyn FnMut(usize, &Progress),
) -> Result<SweepReport, LabError> {
    let mut points = Vec::with_capacity(axis.len());
    for i in 0..axis.len() {
        let (config, x, label) = axis.point(base, i);
        let mut report = run_with_progress(&config, &mut |p| progress(i, p))?;
        let agreed = report.agreement.as_ref().map(|a| a.agreed());
        let run = report.runs.swap_remove(0);
        points.push(SweepPoint {
            x,
            label,
            config,
            run,
            agreed,
        });
    }
    Ok(SweepReport {
        axis: axis.clone(),
        base: base.clone(),
        points,
    })
}

/// The states whose time a sweep reports, per side, in path order.
pub const CLIENT_STATES: [TcpState; 5] = [
    TcpState::SynSent,
    TcpState::Established,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::TimeWait,
];
pub const SERVER_STATES: [TcpState; 4] = [
    TcpState::SynReceived,
    TcpState::Established,
    TcpState::CloseWait,
    TcpState::LastAck,
];

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".to_string(), |d| format!("{:.3}", d.as_secs_f64() * 1e3))
}

impl SweepReport {
    /// The aligned tables a person reads, one line per point: the figures,
    /// then the time each side spent in each state.
    pub fn render_table(&self) -> String {
        let name = format!("{} ({})", self.axis.name(), self.axis.unit());
        let figures_header = [
            name.as_str(),
            "throughput",
            "window/RTT",
            "handshake client (ms)",
            "server (ms)",
            "teardown (ms)",
            "retransmitted",
            "dropped",
            "completed",
        ]
        .map(String::from)
        .to_vec();
        let figures: Vec<Vec<String>> = self
            .points
            .iter()
            .map(|p| {
                let r = &p.run;
                let total = r.packets.total();
                let rtt = p.config.delay.rtt().as_secs_f64();
                vec![
                    p.x_text(),
                    r.throughput_bps
                        .map_or("unbounded".to_string(), fmt_bandwidth),
                    if rtt > 0.0 {
                        fmt_bandwidth(p.config.window as f64 * 8.0 / rtt)
                    } else {
                        "-".to_string()
                    },
                    ms(r.handshake_client),
                    ms(r.handshake_server),
                    ms(r.teardown),
                    total.retransmissions.to_string(),
                    total.dropped().to_string(),
                    match (r.completed, p.agreed) {
                        (true, Some(true)) => "yes, engines agreed",
                        (true, Some(false)) => "yes, engines DISAGREED",
                        (true, None) => "yes",
                        (false, _) => "INCOMPLETE",
                    }
                    .to_string(),
                ]
            })
            .collect();
        let mut states_header = vec![name.clone()];
        states_header.extend(CLIENT_STATES.iter().map(|s| s.display().to_string()));
        states_header.extend(SERVER_STATES.iter().map(|s| s.display().to_string()));
        let states: Vec<Vec<String>> = self
            .points
            .iter()
            .map(|p| {
                let mut row = vec![p.x_text()];
                row.extend(
                    CLIENT_STATES
                        .iter()
                        .map(|s| ms(Some(p.run.client.time_in(*s)))),
                );
                row.extend(
                    SERVER_STATES
                        .iter()
                        .map(|s| ms(Some(p.run.server.time_in(*s)))),
                );
                row
            })
            .collect();
        let mut out = String::new();
        table(&mut out, &figures_header, &figures, &[8]);
        let _ = writeln!(
            out,
            "\nTime in each state (ms): the client's {} states, then the server's {}",
            CLIENT_STATES.len(),
            SERVER_STATES.len()
        );
        table(&mut out, &states_header, &states, &[]);
        out
    }

    /// The same figures as CSV (seconds and bit/s, full precision).
    pub fn to_csv(&self) -> String {
        let mut out = format!(
            "{}_{},throughput_bps,handshake_client_s,handshake_server_s,teardown_s,retransmissions,drops,completed",
            self.axis.name().to_lowercase(),
            match self.axis.unit() {
                "%" => "percent",
                "Mbit/s" => "mbit_s",
                u => u,
            }
        );
        for s in CLIENT_STATES {
            let _ = write!(out, ",client_{}_s", s.display().to_lowercase());
        }
        for s in SERVER_STATES {
            let _ = write!(out, ",server_{}_s", s.display().to_lowercase());
        }
        out.push('\n');
        let secs = |d: Option<Duration>| d.map_or(String::new(), |d| d.as_secs_f64().to_string());
        for p in &self.points {
            let r = &p.run;
            let total = r.packets.total();
            let _ = write!(
                out,
                "{},{},{},{},{},{},{},{}",
                p.x,
                r.throughput_bps.map_or(String::new(), |t| t.to_string()),
                secs(r.handshake_client),
                secs(r.handshake_server),
                secs(r.teardown),
                total.retransmissions,
                total.dropped(),
                r.completed
            );
            for s in CLIENT_STATES {
                let _ = write!(out, ",{}", r.client.time_in(s).as_secs_f64());
            }
            for s in SERVER_STATES {
                let _ = write!(out, ",{}", r.server.time_in(s).as_secs_f64());
            }
            out.push('\n');
        }
        out
    }
}

/// Aligned columns: the first and the `left` ones left-aligned, the others
/// (numbers) right-aligned.
fn table(out: &mut String, header: &[String], rows: &[Vec<String>], left: &[usize]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - cell.chars().count());
            line.push(' ');
            if i == 0 || left.contains(&i) {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str(&pad);
                line.push_str(cell);
            }
            line.push(' ');
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Why a list of values could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("empty list (give values separated by commas, e.g. 0,5,10,20ms)")]
    Empty,
    #[error("value {index} of {input:?}: {source}")]
    Item {
        index: usize,
        input: String,
        #[source]
        source: ParseError,
    },
}

/// Splits `0,5,10,20ms` into items, giving the last item's unit to the
/// bare numbers before it (`0ms`, `5ms`, `10ms`, `20ms`).
fn items(input: &str) -> Result<Vec<String>, ListError> {
    let parts: Vec<&str> = input
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let Some(last) = parts.last() else {
        return Err(ListError::Empty);
    };
    let is_number = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '.');
    let unit_start = last
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(last.len(), |(i, _)| i);
    let unit = last[unit_start..].trim();
    Ok(parts
        .iter()
        .map(|p| {
            if is_number(p) && !unit.is_empty() {
                format!("{p}{unit}")
            } else {
                (*p).to_string()
            }
        })
        .collect())
}

fn parse_list<T>(
    input: &str,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Result<Vec<T>, ListError> {
    items(input)?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            parse(item).map_err(|source| ListError::Item {
                index: i + 1,
                input: input.to_string(),
                source,
            })
        })
        .collect()
}

/// `0,5,10,20,50,100,200ms` → durations.
pub fn parse_duration_list(input: &str) -> Result<Vec<Duration>, ListError> {
    parse_list(input, parse_duration)
}

/// `0,0.5,1,2%` or `0,0.01,0.02` → probabilities.
pub fn parse_percent_list(input: &str) -> Result<Vec<f64>, ListError> {
    parse_list(input, parse_percent)
}

/// `1,10,100Mbit` → rates.
pub fn parse_bandwidth_list(input: &str) -> Result<Vec<Bandwidth>, ListError> {
    parse_list(input, parse_bandwidth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_unit_applies_to_bare_numbers() {
        assert_eq!(
            parse_duration_list("0,5,10,20,50,100,200ms").unwrap(),
            [0, 5, 10, 20, 50, 100, 200].map(Duration::from_millis)
        );
        assert_eq!(
            parse_duration_list("1s, 500ms").unwrap(),
            [Duration::from_secs(1), Duration::from_millis(500)]
        );
        assert_eq!(parse_percent_list("0,0.5,1%").unwrap(), [0.0, 0.005, 0.01]);
        assert_eq!(parse_percent_list("0,0.01").unwrap(), [0.0, 0.01]);
        assert_eq!(
            parse_bandwidth_list("1,10Mbit").unwrap(),
            [Bandwidth::mbit(1), Bandwidth::mbit(10)]
        );
    }

    #[test]
    fn bad_lists_name_the_bad_value() {
        assert_eq!(parse_duration_list(" , "), Err(ListError::Empty));
        let e = parse_duration_list("5,x,10ms").unwrap_err();
        assert!(matches!(e, ListError::Item { index: 2, .. }), "{e}");
        assert!(parse_percent_list("0,150%").is_err());
    }
}

//! `tcpfsm sim`: one lab transfer with every knob.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tcp_core::time::Duration;

use conformance::lab::plot::plot_cwnd;
use conformance::lab::{Delay, EngineChoice, LabConfig, Recording};
use conformance::sim::{parse_bandwidth, Bandwidth, ParseError};

use super::lab_cmd::{
    duration_arg, exit_status, per_run_path, percent_arg, print, run_lab, write_file, LabCmdError,
    TransferArgs,
};

fn bandwidth_arg(s: &str) -> Result<Bandwidth, ParseError> {
    parse_bandwidth(s)
}

/// `tcpfsm sim` flags.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Round-trip time of the link, e.g. 20ms (each direction gets half) [default: 20ms].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg, conflicts_with = "delay")]
    pub rtt: Option<Duration>,
    /// One-way delay of each direction, instead of --rtt.
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub delay: Option<Duration>,
    /// Link rate of each direction, e.g. 100Mbit [default: unlimited].
    #[arg(long, value_name = "RATE", value_parser = bandwidth_arg)]
    pub bandwidth: Option<Bandwidth>,
    /// Probability that a packet is lost, e.g. 1% or 0.01.
    #[arg(long, value_name = "PERCENT", value_parser = percent_arg)]
    pub loss: Option<f64>,
    #[command(flatten)]
    pub transfer: TransferArgs,
    /// Write every state transition as JSON lines to FILE (with two
    /// engines, the second run goes to FILE-per-state.EXT).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write every packet as sent to FILE, a pcap (LINKTYPE_RAW, virtual
    /// time) for Wireshark or tshark.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Plot the client's congestion window over time to FILE (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

/// `tcpfsm sim [FLAGS]`.
pub fn sim(args: &SimArgs) -> ExitCode {
    match sim_inner(args) {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

fn sim_inner(args: &SimArgs) -> Result<ExitCode, LabCmdError> {
    let mut config = LabConfig::default();
    if let Some(rtt) = args.rtt {
        config.delay = Delay::Rtt(rtt);
    }
    if let Some(d) = args.delay {
        config.delay = Delay::OneWay(d);
    }
    config.bandwidth = args.bandwidth.unwrap_or(config.bandwidth);
    config.loss = args.loss.unwrap_or(config.loss);
    config.record = Recording {
        pcap: args.pcap.is_some(),
        cwnd: args.plot.is_some(),
    };
    args.transfer.apply(&mut config, EngineChoice::Both)?;
    if let Some(plot) = &args.plot {
        // Fail on a bad file name before the run, not after it.
        conformance::lab::plot::ImageFormat::from_path(plot)?;
    }
    let report = run_lab(&config)?;
    let mut files = Vec::new();
    for (i, run) in report.runs.iter().enumerate() {
        if let Some(path) = &args.trace {
            let path = per_run_path(path, i, run);
            write_file(&path, run.trace_jsonl().as_bytes())?;
            files.push(path);
        }
        if let (Some(path), Some(pcap)) = (&args.pcap, &run.pcap) {
            let path = per_run_path(path, i, run);
            write_file(&path, pcap)?;
            files.push(path);
        }
    }
    if let (Some(path), Some(first)) = (&args.plot, report.runs.first()) {
        plot_cwnd(first, &config, path)?;
        files.push(path.clone());
    }
    if args.json {
        let text = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
        print(&format!("{text}\n"))?;
    } else {
        let mut text = report.render_text();
        if !files.is_empty() {
            text.push_str("\nWrote ");
            text.push_str(
                &files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            text.push('\n');
        }
        print(&text)?;
    }
    Ok(exit_status(&report))
}

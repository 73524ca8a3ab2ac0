//! `tcpfsm sweep`: the lab transfer over a list of RTTs, loss rates or
//! bandwidths; a table, a CSV file and plots.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use conformance::lab::plot::plot_sweep;
use conformance::lab::sweep::{
    parse_bandwidth_list, parse_duration_list, parse_percent_list, run_sweep, SweepAxis,
};
use conformance::lab::{fmt_bytes, EngineChoice, LabConfig};

use super::lab_cmd::{create_dir, print, write_file, Bar, LabCmdError, TransferArgs};

/// The RTTs swept when no list is given.
pub const DEFAULT_RTTS: &str = "0,5,10,20,50,100,200ms";

/// `tcpfsm sweep` flags.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Round-trip times, e.g. 0,5,10,20,50,100,200ms (the last unit applies
    /// to bare numbers) [default: that list, unless another flag is swept].
    #[arg(long, value_name = "LIST")]
    pub rtt: Option<String>,
    /// Loss probabilities, e.g. 0,0.1,0.5,1,2%.
    #[arg(long, value_name = "LIST")]
    pub loss: Option<String>,
    /// Link rates, e.g. 1,10,100,1000Mbit.
    #[arg(long, value_name = "LIST")]
    pub bandwidth: Option<String>,
    #[command(flatten)]
    pub transfer: TransferArgs,
    /// Directory for sweep.csv, sweep.svg and sweep.png.
    #[arg(short, long, value_name = "DIR", default_value = "tcpfsm-sweep")]
    pub output: PathBuf,
}

/// `tcpfsm sweep [--rtt LIST | --loss LIST | --bandwidth LIST] [FLAGS] [-o DIR]`.
pub fn sweep(args: &SweepArgs) -> ExitCode {
    match sweep_inner(args) {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

/// Exactly one list may have several values: that one is swept; the
/// others (one value each) are fixed.
fn axis(args: &SweepArgs, config: &mut LabConfig) -> Result<SweepAxis, LabCmdError> {
    let rtt = match (&args.rtt, &args.loss, &args.bandwidth) {
        (None, None, None) => Some(parse_duration_list(DEFAULT_RTTS)?),
        (Some(list), _, _) => Some(parse_duration_list(list)?),
        _ => None,
    };
    let loss = args.loss.as_deref().map(parse_percent_list).transpose()?;
    let bandwidth = args
        .bandwidth
        .as_deref()
        .map(parse_bandwidth_list)
        .transpose()?;
    let swept = [
        rtt.as_ref().is_some_and(|v| v.len() > 1),
        loss.as_ref().is_some_and(|v| v.len() > 1),
        bandwidth.as_ref().is_some_and(|v| v.len() > 1),
    ];
    if swept.iter().filter(|s| **s).count() > 1 {
        return Err(too_many());
    }
    let rtt = rtt.unwrap_or_default();
    let loss = loss.unwrap_or_default();
    let bandwidth = bandwidth.unwrap_or_default();
    if let [one] = rtt.as_slice() {
        config.delay = conformance::lab::Delay::Rtt(*one);
    }
    if let [one] = loss.as_slice() {
        config.loss = *one;
    }
    if let [one] = bandwidth.as_slice() {
        config.bandwidth = *one;
    }
    Ok(if loss.len() > 1 {
        SweepAxis::Loss(loss)
    } else if bandwidth.len() > 1 {
        SweepAxis::Bandwidth(bandwidth)
    } else if !rtt.is_empty() {
        SweepAxis::Rtt(rtt)
    } else if !loss.is_empty() {
        SweepAxis::Loss(loss)
    } else {
        SweepAxis::Bandwidth(bandwidth)
    })
}

fn too_many() -> LabCmdError {
    LabCmdError::Usage(
        "sweep one variable at a time: only one of --rtt, --loss and --bandwidth may list several values"
            .to_string(),
    )
}

fn sweep_inner(args: &SweepArgs) -> Result<ExitCode, LabCmdError> {
    let mut config = LabConfig::default();
    let axis = axis(args, &mut config)?;
    args.transfer.apply(&mut config, EngineChoice::Table)?;
    // Each point must be a valid configuration, not only the base.
    for i in 0..axis.len() {
        let mut c = config.clone();
        match &axis {
            SweepAxis::Rtt(v) => c.delay = conformance::lab::Delay::Rtt(v[i]),
            SweepAxis::Loss(v) => c.loss = v[i],
            SweepAxis::Bandwidth(v) => c.bandwidth = v[i],
        }
        c.validate()?;
    }
    let bar = Bar::new();
    let labels: Vec<String> = (0..axis.len())
        .map(|i| format!("{} {}/{}: ", axis.name(), i + 1, axis.len()))
        .collect();
    let report = run_sweep(&config, &axis, &mut |i, p| bar.update(&labels[i], p));
    bar.finish();
    let report = report?;
    create_dir(&args.output)?;
    let csv = args.output.join("sweep.csv");
    write_file(&csv, report.to_csv().as_bytes())?;
    let mut files = vec![csv];
    for ext in ["svg", "png"] {
        let path = args.output.join(format!("sweep.{ext}"));
        plot_sweep(&report, &path)?;
        files.push(path);
    }
    let mut text = format!(
        "tcpfsm sweep over {}: {} in {} writes, {} engine, {} window, {}; fixed: {}\n\n",
        axis.name(),
        fmt_bytes(config.bytes),
        fmt_bytes(config.write_size as u64),
        config.engine.name(),
        fmt_bytes(config.window as u64),
        config.cc.name(),
        config.describe_link_except(Some(axis.link_part()))
    );
    text.push_str(&report.render_table());
    text.push_str(
        "\n(throughput: payload bits from the first SYN to the last byte read; window/RTT: its upper bound)\n",
    );
    text.push_str("\nWrote ");
    text.push_str(
        &files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    );
    text.push('\n');
    print(&text)?;
    let disagreed = report.points.iter().any(|p| p.agreed == Some(false));
    Ok(if disagreed {
        ExitCode::from(super::lab_cmd::EXIT_DISAGREE)
    } else {
        ExitCode::SUCCESS
    })
}

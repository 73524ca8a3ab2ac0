//! The `tcpfsm` command line: argument parsing (clap derive) and dispatch.
//!
//! Every subcommand returns an [`ExitCode`]; errors are reported as one line
//! on stderr (or, for an invalid spec, its rendered diagnostics), never as a
//! panic. Add a subcommand by adding a variant to [`Command`] and a module
//! next to `spec_cmds`.

mod conform_cmd;
mod diff_cmd;
mod graphviz;
mod lab_cmd;
mod sim_cmd;
mod spec_cmds;
mod suite_cmds;
mod sweep_cmd;
mod trace_overlay;
mod tun_cmd;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for an invalid spec (diagnostics were printed).
pub const EXIT_INVALID: u8 = 1;
/// Exit status for bad arguments or an unreadable/unwritable file.
pub const EXIT_USAGE: u8 = 2;

/// Tools for the tcpfsm TCP state machine and its spec file. With no
/// command: the built-in lab (`tcpfsm lab`).
#[derive(Debug, Parser)]
#[command(name = "tcpfsm", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The built-in lab (also what `tcpfsm` alone runs): 16 MiB in 128 KiB
    /// writes over a 20 ms RTT link, table and per-state engines side by
    /// side; writes trace.jsonl, lab.pcap and fsm.svg.
    Lab {
        /// Directory for the trace, pcap and drawings.
        #[arg(short, long, value_name = "DIR", default_value = "tcpfsm-lab")]
        output: PathBuf,
    },
    /// One transfer over a simulated link, with every knob.
    Sim(Box<sim_cmd::SimArgs>),
    /// The transfer over a list of RTTs, loss rates or bandwidths: a table,
    /// a CSV file and plots.
    Sweep(Box<sweep_cmd::SweepArgs>),
    /// Validate a spec and print its size, or its diagnostics.
    Check(SpecArg),
    /// Print the state diagram as Graphviz DOT (or SVG/PNG through Graphviz).
    Dot {
        #[command(flatten)]
        spec: SpecArg,
        /// Write to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Also draw rows that do not change the state.
        #[arg(long)]
        self_loops: bool,
        /// Overlay a JSON-lines trace: edges taken, with counts, bold; the
        /// others grey.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Output format; svg and png run Graphviz's `dot` (package graphviz).
        #[arg(long, value_enum, default_value = "dot")]
        format: graphviz::Format,
    },
    /// List the cells whose next state or actions differ between two specs.
    Diff {
        /// The spec before the change.
        #[arg(value_name = "OLD")]
        old: PathBuf,
        /// The spec after the change.
        #[arg(value_name = "NEW")]
        new: PathBuf,
        /// Also write NEW's diagram with the changed edges marked, as DOT.
        #[arg(long, value_name = "FILE")]
        dot: Option<PathBuf>,
    },
    /// Which cells of tcp.fsm the scenarios and random runs reach.
    Coverage {
        /// Random lockstep runs.
        #[arg(long, default_value_t = 3000)]
        runs: usize,
        /// Seed of the random runs.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Scenario directory [default: conformance/scenarios].
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
    },
    /// Mutation score: mutants of tcp.fsm the conformance suite catches.
    Mutants {
        /// Random lockstep runs.
        #[arg(long, default_value_t = 3000)]
        runs: usize,
        /// Seed of the random runs.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Worker threads.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
        workers: u16,
        /// Scenario directory [default: conformance/scenarios].
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
    },
    /// Every conformance layer that runs here, as one summary table; exit 1
    /// when a layer fails.
    Conform(conform_cmd::ConformArgs),
    /// Run packetdrill scripts (files or directories) against the stack.
    Pkt(conformance::packetdrill::cli::PktArgs),
    /// Run our TCP on a TUN device against the kernel's sockets (nc, curl).
    Tun(tun_cmd::TunArgs),
    /// Print the transition table as Markdown, one line per cell.
    Table {
        #[command(flatten)]
        spec: SpecArg,
        /// Write to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// The spec a command works on.
#[derive(Debug, Args)]
pub struct SpecArg {
    /// The spec file [default: tcp-fsm-spec/tcp.fsm in the current
    /// directory, else the spec compiled into this binary].
    #[arg(value_name = "SPEC")]
    pub spec: Option<PathBuf>,
}

/// Parses the arguments and runs the command.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version: print as clap formats them.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("error: bad arguments");
            eprintln!(
                "tcpfsm: {} (try `tcpfsm --help`)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let Some(command) = cli.command else {
        return lab_cmd::lab(std::path::Path::new("tcpfsm-lab"));
    };
    match command {
        Command::Lab { output } => lab_cmd::lab(&output),
        Command::Sim(args) => sim_cmd::sim(&args),
        Command::Sweep(args) => sweep_cmd::sweep(&args),
        Command::Check(spec) => spec_cmds::check(&spec),
        Command::Dot {
            spec,
            output,
            self_loops,
            trace,
            format,
        } => spec_cmds::dot(
            &spec,
            &spec_cmds::DotRequest {
                output: output.as_deref(),
                self_loops,
                trace: trace.as_deref(),
                format,
            },
        ),
        Command::Diff { old, new, dot } => diff_cmd::diff(&old, &new, dot.as_deref()),
        Command::Coverage {
            runs,
            seed,
            scenarios,
        } => suite_cmds::coverage(runs, seed, scenarios.as_deref()),
        Command::Mutants {
            runs,
            seed,
            workers,
            scenarios,
        } => suite_cmds::mutants(runs, seed, usize::from(workers), scenarios.as_deref()),
        Command::Table { spec, output } => spec_cmds::table(&spec, output.as_deref()),
        Command::Conform(args) => conform_cmd::conform(&args),
        Command::Pkt(args) => conformance::packetdrill::cli::run_cli(&args),
        Command::Tun(args) => tun_cmd::run(&args),
    }
}

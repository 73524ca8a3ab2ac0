//! `tcpfsm` (no arguments) and `tcpfsm lab [-o DIR]`: the built-in lab.
//! Also the pieces `sim` and `sweep` share: the transfer flags, spec
//! loading, the progress bar, file output and error reporting.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tcp_core::cc::CcAlgorithm;
use tcp_core::engine::{InterpretedSpec, SpecBindError};
use tcp_core::time::Duration;
use tcp_fsm_spec::{load_spec, parse_spec, DotOptions, LoadError, SPEC_FILE_NAME, TCP_SPEC};

use conformance::lab::plot::{plot_cwnd, PlotError};
use conformance::lab::sweep::ListError;
use conformance::lab::{
    self, parse_size, EngineChoice, LabConfig, LabError, LabReport, Progress, Recording, RunReport,
    SizeError,
};
use conformance::sim::{parse_duration, parse_percent, ParseError};

use super::graphviz::{self, Format, RenderError};
use super::trace_overlay::{overlay_from_jsonl, TraceError};
use super::{EXIT_INVALID, EXIT_USAGE};

/// Exit status when the two engines disagreed (a conformance failure).
pub const EXIT_DISAGREE: u8 = 1;

/// Why a lab command failed.
#[derive(Debug, thiserror::Error)]
pub enum LabCmdError {
    #[error("{0}")]
    Spec(#[from] LoadError),
    #[error("{}: cannot run this spec: {source}", path.display())]
    Bind {
        path: PathBuf,
        #[source]
        source: SpecBindError,
    },
    #[error("{0}")]
    Lab(#[from] LabError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Plot(#[from] PlotError),
    #[error("{0}")]
    Trace(#[from] TraceError),
    #[error("{0}")]
    Render(#[from] RenderError),
    #[error("{0}")]
    List(#[from] ListError),
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    #[error("{0}")]
    Usage(String),
}

impl LabCmdError {
    /// Reports the error on stderr (one line, or a spec's diagnostics) and
    /// gives the exit status.
    pub fn report(&self) -> ExitCode {
        match self {
            LabCmdError::Spec(LoadError::Invalid(d)) => {
                eprint!("{}", d.render());
                ExitCode::from(EXIT_INVALID)
            }
            LabCmdError::Bind { .. } => {
                eprintln!("tcpfsm: {self}");
                ExitCode::from(EXIT_INVALID)
            }
            other => {
                eprintln!("tcpfsm: {other}");
                ExitCode::from(EXIT_USAGE)
            }
        }
    }
}

/// The engine flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    /// The engine generated from tcp.fsm.
    Table,
    /// The hand-written RFC 9293 engine.
    PerState,
    /// The spec interpreted at run time (the one --spec names).
    Interpreted,
    /// Table and per-state side by side, compared.
    Both,
}

impl From<EngineArg> for EngineChoice {
    fn from(e: EngineArg) -> EngineChoice {
        match e {
            EngineArg::Table => EngineChoice::Table,
            EngineArg::PerState => EngineChoice::PerState,
            EngineArg::Interpreted => EngineChoice::Interpreted,
            EngineArg::Both => EngineChoice::Both,
        }
    }
}

pub(super) fn duration_arg(s: &str) -> Result<Duration, ParseError> {
    parse_duration(s)
}

pub(super) fn percent_arg(s: &str) -> Result<f64, ParseError> {
    parse_percent(s)
}

fn size_arg(s: &str) -> Result<u64, SizeError> {
    parse_size(s)
}

fn usize_size_arg(s: &str) -> Result<usize, String> {
    let n = parse_size(s).map_err(|e| e.to_string())?;
    usize::try_from(n).map_err(|_| format!("size {s:?} is too large"))
}

/// Transfer and link flags `sim` and `sweep` share (the link's delay,
/// rate and loss are each command's own).
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Drop-tail queue limit of each direction, in packets [default: unlimited].
    #[arg(long, value_name = "PACKETS")]
    pub queue: Option<usize>,
    /// Probability that a packet is held back (reordered), e.g. 1%.
    #[arg(long, value_name = "PERCENT", value_parser = percent_arg)]
    pub reorder: Option<f64>,
    /// How long a reordered packet is held back [default: 5ms].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub reorder_delay: Option<Duration>,
    /// Probability that a packet is duplicated, e.g. 0.5%.
    #[arg(long, value_name = "PERCENT", value_parser = percent_arg)]
    pub duplicate: Option<f64>,
    /// Probability that a bit of a packet is flipped (the receiver's
    /// checksum drops it), e.g. 0.1%.
    #[arg(long, value_name = "PERCENT", value_parser = percent_arg)]
    pub corrupt: Option<f64>,
    /// Bytes to transfer [default: 16MiB].
    #[arg(long, value_name = "SIZE", value_parser = size_arg)]
    pub bytes: Option<u64>,
    /// Bytes per application write [default: 128KiB].
    #[arg(long, value_name = "SIZE", value_parser = usize_size_arg)]
    pub write_size: Option<usize>,
    /// Maximum segment size [default: 1460].
    #[arg(long, value_name = "BYTES")]
    pub mss: Option<u16>,
    /// Send and receive buffer of both ends: the largest window [default: 256KiB].
    #[arg(long, value_name = "SIZE", value_parser = usize_size_arg)]
    pub window: Option<usize>,
    /// Congestion control: newreno or cubic [default: newreno].
    #[arg(long, value_name = "ALGORITHM")]
    pub cc: Option<CcAlgorithm>,
    /// Engine(s) to run; --spec implies interpreted.
    #[arg(long, value_enum)]
    pub engine: Option<EngineArg>,
    /// Run an edited spec file in the interpreted engine (no recompiling).
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Seed of every random choice (ISNs, loss, ...) [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Maximum segment lifetime; TIME-WAIT lasts 2×MSL [default: 2s].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub msl: Option<Duration>,
}

impl TransferArgs {
    /// Applies the flags to `config`; `default_engine` is used when neither
    /// --engine nor --spec is given.
    pub fn apply(
        &self,
        config: &mut LabConfig,
        default_engine: EngineChoice,
    ) -> Result<(), LabCmdError> {
        config.queue_packets = self.queue.or(config.queue_packets);
        config.reorder = self.reorder.unwrap_or(config.reorder);
        config.reorder_delay = self.reorder_delay.unwrap_or(config.reorder_delay);
        config.duplicate = self.duplicate.unwrap_or(config.duplicate);
        config.corrupt = self.corrupt.unwrap_or(config.corrupt);
        config.bytes = self.bytes.unwrap_or(config.bytes);
        config.write_size = self.write_size.unwrap_or(config.write_size);
        config.mss = self.mss.unwrap_or(config.mss);
        config.window = self.window.unwrap_or(config.window);
        config.cc = self.cc.unwrap_or(config.cc);
        config.seed = self.seed.unwrap_or(config.seed);
        config.msl = self.msl.unwrap_or(config.msl);
        config.engine = match (self.engine, &self.spec) {
            (Some(e), _) => e.into(),
            (None, Some(_)) => EngineChoice::Interpreted,
            (None, None) => default_engine,
        };
        if let Some(path) = &self.spec {
            if config.engine != EngineChoice::Interpreted {
                return Err(LabError::SpecNeedsInterpreted(config.engine.name()).into());
            }
            let (spec, name) = load_interpreted(path)?;
            config.spec = Some(spec);
            config.spec_name = Some(name);
        }
        config.validate()?;
        Ok(())
    }
}

/// Loads, validates and binds a spec for the interpreted engine.
fn load_interpreted(path: &Path) -> Result<(Arc<InterpretedSpec>, String), LabCmdError> {
    let spec = load_spec(path)?;
    let name = spec.source_name.clone();
    let bound = InterpretedSpec::bind(spec).map_err(|source| LabCmdError::Bind {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((Arc::new(bound), name))
}

/// A progress bar on stderr when it is a terminal; nothing otherwise.
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    pub fn new() -> Bar {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(1);
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix} [{bar:32}] {bytes:>10}/{total_bytes:<10} {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Bar { bar }
    }

    /// Shows `p`, labelled with `label` (a sweep point, or empty).
    pub fn update(&self, label: &str, p: &Progress) {
        let Some(bar) = &self.bar else { return };
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_delivered);
        let run = if p.runs > 1 {
            format!(" {}/{}", p.run + 1, p.runs)
        } else {
            String::new()
        };
        bar.set_prefix(format!("{label}{} engine{run}", p.engine.as_str()));
        bar.set_message(format!("t = {:.3} s simulated", p.sim_time.as_secs_f64()));
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Writes `bytes` to `path`.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), LabCmdError> {
    std::fs::write(path, bytes).map_err(|source| LabCmdError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Creates directory `dir` (and its parents).
pub fn create_dir(dir: &Path) -> Result<(), LabCmdError> {
    std::fs::create_dir_all(dir).map_err(|source| LabCmdError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Prints `text` on stdout; a closed pipe is not an error.
pub fn print(text: &str) -> Result<(), LabCmdError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(LabCmdError::Stdout(e)),
        _ => Ok(()),
    }
}

/// `path` with `-<engine>` before its extension: `trace.jsonl` →
/// `trace-per-state.jsonl`. The first run keeps the plain name.
pub fn per_run_path(path: &Path, index: usize, run: &RunReport) -> PathBuf {
    if index == 0 {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{}.{}", run.engine.as_str(), ext.to_string_lossy()),
        None => format!("{stem}-{}", run.engine.as_str()),
    };
    path.with_file_name(name)
}

/// Exit status of a finished lab: 1 when the engines disagreed.
pub fn exit_status(report: &LabReport) -> ExitCode {
    match &report.agreement {
        Some(a) if !a.agreed() => ExitCode::from(EXIT_DISAGREE),
        _ => ExitCode::SUCCESS,
    }
}

/// Runs `config` with a progress bar.
pub fn run_lab(config: &LabConfig) -> Result<LabReport, LabCmdError> {
    let bar = Bar::new();
    let report = lab::run_with_progress(config, &mut |p| bar.update("", p));
    bar.finish();
    Ok(report?)
}

/// `tcpfsm` and `tcpfsm lab [-o DIR]`.
pub fn lab(out_dir: &Path) -> ExitCode {
    match lab_inner(out_dir) {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

fn lab_inner(out_dir: &Path) -> Result<ExitCode, LabCmdError> {
    let config = LabConfig {
        record: Recording {
            pcap: true,
            cwnd: true,
        },
        ..LabConfig::default()
    };
    let report = run_lab(&config)?;
    let mut text = report.render_text();
    create_dir(out_dir)?;
    let mut written: Vec<(PathBuf, &str)> = Vec::new();
    for (i, run) in report.runs.iter().enumerate() {
        let trace = per_run_path(&out_dir.join("trace.jsonl"), i, run);
        write_file(&trace, run.trace_jsonl().as_bytes())?;
        written.push((trace, "every state transition, JSON lines"));
        // A second run that sent the same packets byte for byte would
        // write the same file again.
        let same_wire = i > 0 && report.agreement.as_ref().is_some_and(|a| a.segments);
        if let (Some(pcap), false) = (&run.pcap, same_wire) {
            let path = per_run_path(&out_dir.join("lab.pcap"), i, run);
            write_file(&path, pcap)?;
            written.push((path, "every packet as sent (Wireshark, tshark -r)"));
        }
    }
    let mut notes = Vec::new();
    if let Some(first) = report.runs.first() {
        let cwnd = out_dir.join("cwnd.svg");
        match plot_cwnd(first, &config, &cwnd) {
            Ok(()) => written.push((cwnd, "the client's congestion window over time")),
            Err(e) => notes.push(format!("no cwnd.svg: {e}")),
        }
        // The FSM with the transitions the first run took highlighted, on
        // the spec its engine was built from.
        let spec = parse_spec(SPEC_FILE_NAME, TCP_SPEC).map_err(LoadError::Invalid)?;
        let trace_path = out_dir.join("trace.jsonl");
        let overlay = overlay_from_jsonl(&spec, &first.trace_jsonl(), &trace_path)?;
        let dot = tcp_fsm_spec::to_dot(
            &spec,
            &DotOptions {
                include_self_loops: false,
                overlay: Some(overlay.overlay),
            },
        );
        match graphviz::render(&dot, Format::Svg) {
            Ok(svg) => {
                let path = out_dir.join("fsm.svg");
                write_file(&path, &svg)?;
                written.push((path, "the state machine, transitions taken in bold"));
            }
            Err(RenderError::NotInstalled { program, .. }) => {
                let path = out_dir.join("fsm.dot");
                write_file(&path, dot.as_bytes())?;
                written.push((path, "the state machine as Graphviz DOT"));
                notes.push(format!(
                    "Graphviz's `{program}` is not installed, so fsm.svg was not drawn: install the Debian package graphviz (apt-get install graphviz), then run: dot -Tsvg {} -o {}",
                    out_dir.join("fsm.dot").display(),
                    out_dir.join("fsm.svg").display()
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    text.push_str("\nFiles\n");
    let width = written
        .iter()
        .map(|(p, _)| p.display().to_string().chars().count())
        .max()
        .unwrap_or(0);
    for (path, what) in &written {
        let p = path.display().to_string();
        let pad = width - p.chars().count();
        text.push_str(&format!("  {p}{}  {what}\n", " ".repeat(pad)));
    }
    for note in notes {
        text.push_str(&format!("  note: {note}\n"));
    }
    text.push_str(
        "\nTry: tcpfsm sim --rtt 100ms --loss 1%    tcpfsm sweep --rtt 0,5,10,20,50,100,200ms\n",
    );
    print(&text)?;
    Ok(exit_status(&report))
}

//! `tcpfsm check | dot | table`: validate and render a spec file.

use super::graphviz::{self, Format, RenderError};
use super::trace_overlay::{read_trace, TraceError};
use super::{SpecArg, EXIT_INVALID, EXIT_USAGE};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tcp_fsm_spec::{load_spec, parse_spec, DotOptions, LoadError, Spec, SPEC_FILE_NAME, TCP_SPEC};

/// Where `SPEC` defaults to, relative to the current directory (the
/// workspace root).
pub const DEFAULT_SPEC_PATH: &str = "tcp-fsm-spec/tcp.fsm";

/// Why a spec command failed.
#[derive(Debug, thiserror::Error)]
pub enum SpecCmdError {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    #[error("{0}")]
    Trace(#[from] TraceError),
    #[error("{0}")]
    Render(#[from] RenderError),
}

impl SpecCmdError {
    /// Reports the error on stderr and gives the exit status.
    pub(super) fn report(&self) -> ExitCode {
        match self {
            SpecCmdError::Load(LoadError::Invalid(d)) => {
                eprint!("{}", d.render());
                ExitCode::from(EXIT_INVALID)
            }
            other => {
                eprintln!("tcpfsm: {other}");
                ExitCode::from(EXIT_USAGE)
            }
        }
    }
}

/// Loads the spec named on the command line, or the default one: the file
/// at [`DEFAULT_SPEC_PATH`] if it exists, else the compiled-in spec (said
/// so on stderr).
fn load(arg: &SpecArg) -> Result<Spec, SpecCmdError> {
    if let Some(path) = &arg.spec {
        return Ok(load_spec(path)?);
    }
    let default = Path::new(DEFAULT_SPEC_PATH);
    if default.is_file() {
        return Ok(load_spec(default)?);
    }
    eprintln!(
        "tcpfsm: {DEFAULT_SPEC_PATH} not found in the current directory; using the {SPEC_FILE_NAME} compiled into this binary"
    );
    parse_spec(SPEC_FILE_NAME, TCP_SPEC).map_err(|d| SpecCmdError::Load(LoadError::Invalid(d)))
}

/// Writes `bytes` to `output`, or to stdout (a closed pipe is not an error:
/// `tcpfsm table | head` is fine).
pub(super) fn emit(bytes: &[u8], output: Option<&Path>) -> Result<(), SpecCmdError> {
    match output {
        Some(path) => std::fs::write(path, bytes).map_err(|source| SpecCmdError::Write {
            path: path.to_path_buf(),
            source,
        }),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(SpecCmdError::Stdout(e))
                }
                _ => Ok(()),
            }
        }
    }
}

fn finish(result: Result<(), SpecCmdError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// `tcpfsm check [SPEC]`: `tcp.fsm: ok (11 states, N events, M rows, C cells)`.
pub fn check(arg: &SpecArg) -> ExitCode {
    finish(load(arg).and_then(|spec| {
        let line = format!(
            "{}: ok ({} states, {} events, {} rows, {} cells)\n",
            spec.source_name,
            spec.states.len(),
            spec.events.len(),
            spec.rows.len(),
            spec.cells().len()
        );
        emit(line.as_bytes(), None)
    }))
}

/// What `tcpfsm dot` draws and how.
#[derive(Debug)]
pub struct DotRequest<'a> {
    pub output: Option<&'a Path>,
    pub self_loops: bool,
    /// A JSON-lines trace whose transitions are overlaid.
    pub trace: Option<&'a Path>,
    pub format: Format,
}

/// `tcpfsm dot [SPEC] [--trace FILE] [--format dot|svg|png] [-o FILE] [--self-loops]`.
pub fn dot(arg: &SpecArg, req: &DotRequest<'_>) -> ExitCode {
    finish(load(arg).and_then(|spec| {
        let overlay = match req.trace {
            Some(path) => {
                let t = read_trace(&spec, path)?;
                if t.unattributed > 0 {
                    eprintln!(
                        "tcpfsm: {} of {} trace records name no spec row and match no single row; they are not drawn",
                        t.unattributed, t.records
                    );
                }
                Some(t.overlay)
            }
            None => None,
        };
        let opts = DotOptions {
            include_self_loops: req.self_loops,
            overlay,
        };
        let text = tcp_fsm_spec::to_dot(&spec, &opts);
        emit(&graphviz::render(&text, req.format)?, req.output)
    }))
}

/// `tcpfsm table [SPEC] [-o FILE]`.
pub fn table(arg: &SpecArg, output: Option<&Path>) -> ExitCode {
    finish(load(arg).and_then(|spec| emit(tcp_fsm_spec::to_markdown(&spec).as_bytes(), output)))
}

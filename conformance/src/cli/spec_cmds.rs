//! `tcpfsm check | dot | table`: validate and render a spec file.

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
}

impl SpecCmdError {
    /// Reports the error on stderr and gives the exit status.
    fn report(&self) -> ExitCode {
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

/// Writes `text` to `output`, or to stdout (a closed pipe is not an error:
/// `tcpfsm table | head` is fine).
fn emit(text: &str, output: Option<&Path>) -> Result<(), SpecCmdError> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|source| SpecCmdError::Write {
            path: path.to_path_buf(),
            source,
        }),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
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
        emit(&line, None)
    }))
}

/// `tcpfsm dot [SPEC] [-o FILE] [--self-loops]`.
pub fn dot(arg: &SpecArg, output: Option<&Path>, self_loops: bool) -> ExitCode {
    finish(load(arg).and_then(|spec| {
        let opts = DotOptions {
            include_self_loops: self_loops,
            ..DotOptions::default()
        };
        emit(&tcp_fsm_spec::to_dot(&spec, &opts), output)
    }))
}

/// `tcpfsm table [SPEC] [-o FILE]`.
pub fn table(arg: &SpecArg, output: Option<&Path>) -> ExitCode {
    finish(load(arg).and_then(|spec| emit(&tcp_fsm_spec::to_markdown(&spec), output)))
}

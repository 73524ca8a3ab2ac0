//! `tcpfsm coverage` and `tcpfsm mutants`: how much of tcp.fsm the
//! conformance suite reaches, and how many wrong tables it catches.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use conformance::coverage::{self, CoverageError};
use conformance::mutation::{self, MutationError, MutationOptions};

use super::spec_cmds::{emit, SpecCmdError};
use super::{EXIT_INVALID, EXIT_USAGE};

/// Why a suite command failed.
#[derive(Debug, thiserror::Error)]
pub enum SuiteCmdError {
    #[error("no scenario directory: neither ./conformance/scenarios nor {} exists; pass --scenarios DIR", .0.display())]
    NoScenarioDir(PathBuf),
    #[error("{0}")]
    Coverage(#[from] CoverageError),
    #[error("{0}")]
    Mutation(#[from] MutationError),
    #[error("{0}")]
    Output(#[from] SpecCmdError),
}

/// The scenarios: `DIR` if given, else `conformance/scenarios` under the
/// current directory, else the directory this binary was built from.
fn scenario_dir(arg: Option<&Path>) -> Result<PathBuf, SuiteCmdError> {
    match arg {
        Some(p) => Ok(p.to_path_buf()),
        None => coverage::find_scenario_dir().map_err(SuiteCmdError::NoScenarioDir),
    }
}

fn fail(e: &SuiteCmdError) -> ExitCode {
    match e {
        SuiteCmdError::Output(inner) => inner.report(),
        other => {
            eprintln!("tcpfsm: {other}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// `tcpfsm coverage [--runs N] [--seed S] [--scenarios DIR]`: every cell
/// of tcp.fsm with what reached it or why nothing can; exit 1 when a
/// reachable cell is not reached or a listed reason is contradicted.
pub fn coverage(runs: usize, seed: u64, scenarios: Option<&Path>) -> ExitCode {
    let result = (|| -> Result<Vec<String>, SuiteCmdError> {
        let dir = scenario_dir(scenarios)?;
        let report = coverage::measure(&dir, runs, seed)?;
        let spec = tcp_fsm_spec::real_spec();
        let text = format!("{}{}\n", report.table(&spec), report.summary());
        emit(text.as_bytes(), None)?;
        Ok(report.problems(&spec))
    })();
    match result {
        Ok(problems) if problems.is_empty() => ExitCode::SUCCESS,
        Ok(problems) => {
            for p in &problems {
                eprintln!("tcpfsm: coverage: {p}");
            }
            ExitCode::from(EXIT_INVALID)
        }
        Err(e) => fail(&e),
    }
}

/// `tcpfsm mutants [--runs N] [--seed S] [--workers N] [--scenarios DIR]`:
/// the mutation score and every surviving mutant.
pub fn mutants(runs: usize, seed: u64, workers: usize, scenarios: Option<&Path>) -> ExitCode {
    let result = (|| -> Result<(), SuiteCmdError> {
        let opts = MutationOptions {
            scenario_dir: scenario_dir(scenarios)?,
            random_runs: runs,
            seed,
            workers,
        };
        let report = mutation::run(&opts)?;
        emit(report.render().as_bytes(), None)?;
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

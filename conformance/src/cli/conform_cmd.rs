//! `tcpfsm conform [--corpus PATH] [--cases N] [--seed S] [--json]`: every
//! conformance layer that runs in-process, as one summary table.
//!
//! The layers, from the inside out (DESIGN.md "Conformance, from inside
//! out"):
//! 1. the generated `match` (`tcp_core::fsm`) against the spec model's
//!    run-time interpreter, on every (state, event, guard outcome) cell;
//! 2. the table, per-state and interpreted engines in lockstep on N random
//!    input sequences ([`conformance::lockstep`]);
//! 3. every scenario file on every engine ([`conformance::scenario`]);
//! 4. cell coverage ([`conformance::coverage`]);
//! 5. the mutation score ([`conformance::mutation`]);
//! 6. the packetdrill corpus ([`conformance::packetdrill`]), when found;
//! 7. real peers (kernel over TUN, smoltcp) are listed with the command
//!    that runs them: they need root, or are long-running test suites.
//!
//! The exit status is 0 when every layer that ran passed, 1 when one
//! failed, 2 for bad arguments.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use tcp_core::engine::AnyEngine;
use tcp_core::fsm::{process_event, Event, GuardFn, State};
use tcp_core::EngineKind;
use tcp_fsm_spec::{Cell, RowId, Spec};

use conformance::coverage::{self, CoverageError};
use conformance::lockstep::{all_engines, Lockstep};
use conformance::mutation::{self, MutationError, MutationOptions};
use conformance::packetdrill::exec::ExecOptions;
use conformance::packetdrill::runner::{self, Divergences, EngineSel, RunConfig, RunnerError};
use conformance::scenario;

use super::lab_cmd::print;
use super::{EXIT_INVALID, EXIT_USAGE};

/// The packetdrill figure the test suite holds the corpus to
/// (`cargo test -p conformance --test packetdrill_corpus` reads the same
/// file).
const CORPUS_BASELINE: &str = include_str!("../../packetdrill/corpus-baseline");

/// Where the corpus lives, relative to the repository root (DESIGN.md:
/// "read from there, never copied into the repo").
const CORPUS_DIR: &str = "../shared/tcp-testsuite";

/// Random runs of the coverage and mutation layers: the defaults of
/// `tcpfsm coverage` and `tcpfsm mutants`, with which every reachable cell
/// is reached (fewer runs leave cells unreached, which the layer reports as
/// a failure).
const SUITE_RUNS: usize = 3000;

/// The mutation score (killed / all mutants, equivalent ones counting as
/// survivors) the suite must reach; the same floor as `tests/mutation.rs`.
const MUTATION_FLOOR: f64 = 0.95;

/// `tcpfsm conform` flags.
#[derive(Debug, Args)]
pub struct ConformArgs {
    /// The packetdrill corpus [default: ../shared/tcp-testsuite, when it exists].
    #[arg(long, value_name = "PATH")]
    pub corpus: Option<PathBuf>,
    /// Random input sequences run on the three engines in lockstep.
    #[arg(long, value_name = "N", default_value_t = 3000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub cases: u32,
    /// Seed of the random input sequences.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Why `tcpfsm conform` could not run a layer at all (as opposed to a
/// layer that ran and failed).
#[derive(Debug, thiserror::Error)]
pub enum ConformError {
    #[error("no scenario directory: neither ./conformance/scenarios nor {} exists", .0.display())]
    NoScenarioDir(PathBuf),
    #[error("{0}")]
    Coverage(#[from] CoverageError),
    #[error("{0}")]
    Mutation(#[from] MutationError),
    #[error("--corpus {}: not a directory", .0.display())]
    NoCorpus(PathBuf),
    #[error("{0}")]
    Corpus(#[from] RunnerError),
    #[error("conformance/packetdrill/corpus-baseline: {0}")]
    Baseline(String),
    #[error("cannot write to standard output: {0}")]
    Stdout(String),
}

/// How a layer came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    NotRun,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotRun => "not run",
        }
    }
}

/// One row of the summary.
#[derive(Clone, Debug)]
pub struct Layer {
    pub name: &'static str,
    pub checked: String,
    pub passed: usize,
    pub failed: usize,
    pub status: Status,
    pub figure: String,
    /// What failed, first few (printed under the table).
    pub details: Vec<String>,
}

impl Layer {
    fn judged(
        name: &'static str,
        checked: String,
        passed: usize,
        failed: usize,
        figure: String,
    ) -> Layer {
        Layer {
            name,
            checked,
            passed,
            failed,
            status: if failed == 0 {
                Status::Pass
            } else {
                Status::Fail
            },
            figure,
            details: Vec::new(),
        }
    }

    fn not_run(name: &'static str, checked: &str, why: String) -> Layer {
        Layer {
            name,
            checked: checked.to_string(),
            passed: 0,
            failed: 0,
            status: Status::NotRun,
            figure: why,
            details: Vec::new(),
        }
    }
}

/// `tcpfsm conform`.
pub fn conform(args: &ConformArgs) -> ExitCode {
    match conform_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tcpfsm: conform: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn conform_inner(args: &ConformArgs) -> Result<ExitCode, ConformError> {
    // Check every argument before the long layers run.
    let corpus = corpus_dir(args.corpus.as_deref())?;
    let scenarios = scenario_dir()?;
    let spec = tcp_fsm_spec::real_spec();
    let layers = vec![
        generated_vs_interpreter(&spec),
        engines_in_lockstep(args.cases as usize, args.seed)?,
        scenarios_on_every_engine(&scenarios)?,
        cell_coverage(&spec, &scenarios)?,
        mutation_score(&scenarios)?,
        match corpus {
            Some(dir) => packetdrill_corpus(&dir)?,
            None => Layer::not_run(
                "packetdrill corpus",
                "FreeBSD tcp-testsuite scripts",
                format!("no corpus at {CORPUS_DIR}; pass --corpus PATH"),
            ),
        },
        Layer::not_run(
            "kernel over TUN",
            "our stack against Linux sockets in a netns",
            "a test suite that needs root (netns + TUN): cargo test -p conformance --test kernel_interop --test kernel_cli"
                .to_string(),
        ),
        Layer::not_run(
            "smoltcp peer",
            "bulk and lifecycles against smoltcp 0.14",
            "a test suite: cargo test -p conformance --test smoltcp_interop".to_string(),
        ),
    ];
    let text = if args.json {
        format!("{}\n", to_json(&layers))
    } else {
        render(&layers)
    };
    print(&text).map_err(|e| ConformError::Stdout(e.to_string()))?;
    Ok(if layers.iter().any(|l| l.status == Status::Fail) {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--corpus PATH` (must be a directory), else [`CORPUS_DIR`] relative to
/// the current directory, else relative to the tree this binary was built
/// from; `None` when there is none.
fn corpus_dir(arg: Option<&Path>) -> Result<Option<PathBuf>, ConformError> {
    if let Some(p) = arg {
        return if p.is_dir() {
            Ok(Some(p.to_path_buf()))
        } else {
            Err(ConformError::NoCorpus(p.to_path_buf()))
        };
    }
    let local = Path::new(CORPUS_DIR);
    if local.is_dir() {
        return Ok(Some(local.to_path_buf()));
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(CORPUS_DIR);
    if !built.is_dir() {
        return Ok(None);
    }
    Ok(Some(std::fs::canonicalize(&built).unwrap_or(built)))
}

/// `conformance/scenarios` under the current directory, else the directory
/// this binary was built from (as `tcpfsm coverage` finds it).
fn scenario_dir() -> Result<PathBuf, ConformError> {
    coverage::find_scenario_dir().map_err(ConformError::NoScenarioDir)
}

// ---------------------------------------------------------------- layers

/// What a cell says a guard is: its outcome for the pair's guards, and
/// `others` for every guard the pair's rows do not mention.
fn guard_value(cell: &Cell, others: bool, guard: usize) -> bool {
    cell.guards
        .iter()
        .position(|g| g.index() == guard)
        .map_or(others, |i| cell.outcome[i])
}

/// Where the generated `match` and the interpreter part ways on `cell`, if
/// they do. Guards the pair's rows do not mention are tried both ways: they
/// must not matter.
fn cell_difference(spec: &Spec, cell: &Cell) -> Option<String> {
    let (Some(&state), Some(&event)) = (
        State::ALL.get(cell.state.index()),
        Event::ALL.get(cell.event.index()),
    ) else {
        return Some(format!(
            "state #{} or event #{} has no generated counterpart",
            cell.state.index(),
            cell.event.index()
        ));
    };
    let expected = spec.lookup(cell.state, cell.event, |g| {
        guard_value(cell, false, g.index())
    });
    let expected_actions: Vec<String> = expected
        .actions
        .iter()
        .map(|a| spec.action_ref_name(a))
        .collect();
    for others in [false, true] {
        let got = process_event(state, event, &GuardFn(|g| guard_value(cell, others, g)));
        let actions: Vec<String> = got.actions.iter().map(ToString::to_string).collect();
        let next_same = got.next.index() == expected.next.index();
        if !next_same || RowId(got.row) != expected.row || actions != expected_actions {
            return Some(format!(
                "{} on {} ({}): generated -> {} {:?} row {}, interpreter -> {} {:?} {}",
                state.name(),
                event.qualified(),
                spec.row_location(cell.row),
                got.next.name(),
                actions,
                got.row,
                spec.state(expected.next).name,
                expected_actions,
                spec.row_location(expected.row),
            ));
        }
    }
    None
}

/// Layer 1: the generated dispatch against the interpreter, cell by cell.
fn generated_vs_interpreter(spec: &Spec) -> Layer {
    let cells = spec.cells();
    let differences: Vec<String> = cells
        .iter()
        .filter_map(|c| cell_difference(spec, c))
        .collect();
    // Same declarations in the same order, or the cell comparison compares
    // the wrong things.
    let mut declared = Vec::new();
    if State::ALL.len() != spec.states.len()
        || State::ALL
            .iter()
            .zip(&spec.states)
            .any(|(s, d)| s.name() != d.name)
    {
        declared.push("generated states differ from the spec's declarations".to_string());
    }
    if Event::ALL.len() != spec.events.len()
        || Event::ALL
            .iter()
            .zip(&spec.events)
            .any(|(e, d)| e.name() != d.name)
    {
        declared.push("generated events differ from the spec's declarations".to_string());
    }
    let failed = differences.len() + declared.len();
    let mut layer = Layer::judged(
        "generated vs interpreter",
        "every (state, event, guard outcome) cell".to_string(),
        cells.len() - differences.len(),
        failed,
        format!(
            "{} cells of {}, {} differ",
            cells.len(),
            tcp_core::fsm::SPEC_NAME,
            differences.len()
        ),
    );
    layer.details = declared.into_iter().chain(differences).collect();
    layer
}

/// Layer 2: the three engines side by side on random input sequences (the
/// fixed-seed generator coverage and mutation use: plain, RFC 793,
/// keep-alive and closing configurations).
fn engines_in_lockstep(cases: usize, seed: u64) -> Result<Layer, ConformError> {
    let runs = coverage::random_runs(cases, seed)?;
    let mut failed = Vec::new();
    let mut inputs = 0usize;
    for run in &runs {
        inputs += run.inputs.len();
        let mut ls = Lockstep::new(all_engines(), run.config.clone());
        if let Err(d) = ls.run(&run.inputs) {
            failed.push(format!("{}: {d}", run.label));
        }
    }
    let mut layer = Layer::judged(
        "engines in lockstep",
        format!("{} random input sequences, seed {seed}", runs.len()),
        runs.len() - failed.len(),
        failed.len(),
        format!("table = per-state = interpreted after each of {inputs} inputs"),
    );
    layer.details = failed;
    Ok(layer)
}

/// Layer 3: every scenario on every engine: its expectations hold and the
/// exchange logs are identical.
fn scenarios_on_every_engine(dir: &Path) -> Result<Layer, ConformError> {
    let scenarios = coverage::load_scenarios(dir)?;
    let mut passed = 0usize;
    let mut failed = Vec::new();
    for s in &scenarios {
        let mut first_log: Option<String> = None;
        for kind in EngineKind::ALL {
            match scenario::run(&s.scenario, AnyEngine::builtin(kind)) {
                Ok(log) => match &first_log {
                    Some(first) if *first != log => failed.push(format!(
                        "{} on {}: exchange log differs from the first engine's",
                        s.label,
                        kind.as_str()
                    )),
                    _ => {
                        passed += 1;
                        first_log.get_or_insert(log);
                    }
                },
                Err(m) => failed.push(format!(
                    "{} on {}: {}",
                    s.label,
                    kind.as_str(),
                    m.to_string().lines().next().unwrap_or_default()
                )),
            }
        }
    }
    let mut layer = Layer::judged(
        "scenarios",
        format!(
            "{} scenario files x {} engines",
            scenarios.len(),
            EngineKind::ALL.len()
        ),
        passed,
        failed.len(),
        "expectations hold, identical exchange logs".to_string(),
    );
    layer.details = failed;
    Ok(layer)
}

/// Layer 4: which cells the scenarios and random runs reach.
fn cell_coverage(spec: &Spec, dir: &Path) -> Result<Layer, ConformError> {
    let report = coverage::measure(dir, SUITE_RUNS, 1)?;
    let problems = report.problems(spec);
    let mut layer = Layer::judged(
        "cell coverage",
        format!(
            "{} cells, {} scenarios + {} random runs",
            report.cells.len(),
            report.scenario_count,
            report.random_run_count
        ),
        report.reached(),
        problems.len(),
        format!(
            "{}/{} reachable cells reached ({:.1}%); {} unreachable, each with a reason (tcpfsm coverage)",
            report.reached(),
            report.reachable(),
            report.percent(),
            report.unreachable()
        ),
    );
    layer.details = problems;
    Ok(layer)
}

/// Layer 5: mutants of tcp.fsm the suite kills. Passes when killed / all
/// mutants reaches [`MUTATION_FLOOR`] and the real spec passes every check.
fn mutation_score(dir: &Path) -> Result<Layer, ConformError> {
    let report = mutation::run(&MutationOptions {
        scenario_dir: dir.to_path_buf(),
        random_runs: SUITE_RUNS,
        seed: 1,
        workers: 2,
    })?;
    let missing = report.total() - report.killed() - report.equivalent();
    let score = report.score();
    let mut layer = Layer::judged(
        "mutation score",
        format!("{} mutants of {}", report.total(), tcp_core::fsm::SPEC_NAME),
        report.killed(),
        missing,
        format!(
            "{:.1}% of all mutants killed (floor {:.0}%); {} equivalent",
            100.0 * score,
            100.0 * MUTATION_FLOOR,
            report.equivalent()
        ),
    );
    layer.status = if score >= MUTATION_FLOOR && report.baseline_failures.is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
    layer.details = report
        .baseline_failures
        .iter()
        .map(|f| format!("the real spec fails a check: {f}"))
        .chain(
            report
                .survivors()
                .filter(|r| matches!(r.verdict, mutation::Verdict::MissingTest(_)))
                .map(|r| format!("survives (missing a test): {}", r.description)),
        )
        .collect();
    Ok(layer)
}

/// `(total, passed)` of the recorded corpus figure.
fn corpus_baseline() -> Result<(usize, usize), ConformError> {
    let mut total = None;
    let mut passed = None;
    for line in CORPUS_BASELINE.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || ConformError::Baseline(format!("not a `key number` line: {line:?}"));
        let (key, value) = line.split_once(char::is_whitespace).ok_or_else(bad)?;
        let value: usize = value.trim().parse().map_err(|_| bad())?;
        match key {
            "total" => total = Some(value),
            "passed" => passed = Some(value),
            _ => return Err(bad()),
        }
    }
    match (total, passed) {
        (Some(t), Some(p)) => Ok((t, p)),
        _ => Err(ConformError::Baseline(
            "needs a `total` and a `passed` line".to_string(),
        )),
    }
}

/// Layer 6: packetdrill scripts on all three engines (verdicts from the
/// table engine, as `tcpfsm pkt`). For the FreeBSD corpus (as many scripts
/// as the recorded baseline) the layer passes when at least the recorded
/// number pass; for any other set, when none fails. Engines must agree on
/// every script either way.
fn packetdrill_corpus(dir: &Path) -> Result<Layer, ConformError> {
    let scripts = runner::discover(&[dir.to_path_buf()])?;
    let config = RunConfig {
        engines: EngineSel::All,
        exec: ExecOptions::default(),
        divergences: Divergences::builtin(),
    };
    let mut disagreements = Vec::new();
    let summary = runner::run_all(&scripts, &config, |r| {
        if r.disagreement {
            disagreements.push(format!("engines disagree on {}", r.path.display()));
        }
    });
    let (total, floor) = corpus_baseline()?;
    let is_recorded_corpus = summary.total() == total;
    let mut layer = Layer::judged(
        "packetdrill corpus",
        format!(
            "{} scripts in {}, 3 engines",
            summary.total(),
            dir.display()
        ),
        summary.passed,
        summary.failed,
        if is_recorded_corpus {
            format!(
                "{}; floor {floor} passed (conformance/packetdrill/corpus-baseline)",
                summary
            )
        } else {
            summary.to_string()
        },
    );
    let good = if is_recorded_corpus {
        summary.passed >= floor
    } else {
        summary.failed == 0
    };
    layer.status = if good && summary.disagreements == 0 {
        Status::Pass
    } else {
        Status::Fail
    };
    if is_recorded_corpus && summary.passed < floor {
        layer.details.push(format!(
            "{} scripts pass, the baseline records {floor}",
            summary.passed
        ));
    }
    layer.details.extend(disagreements);
    Ok(layer)
}

// ---------------------------------------------------------------- output

/// Failures listed under the table, per layer.
const DETAILS_SHOWN: usize = 5;

fn count(layer: &Layer, n: usize) -> String {
    if layer.status == Status::NotRun {
        "-".to_string()
    } else {
        n.to_string()
    }
}

/// The table, then what failed.
pub fn render(layers: &[Layer]) -> String {
    let header = ["layer", "checked", "pass", "fail", "result", "figure"];
    let rows: Vec<[String; 6]> = layers
        .iter()
        .map(|l| {
            [
                l.name.to_string(),
                l.checked.clone(),
                count(l, l.passed),
                count(l, l.failed),
                l.status.as_str().to_string(),
                l.figure.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else if i == 2 || i == 3 {
                let _ = write!(out, "{cell:>w$}  ");
            } else {
                let _ = write!(out, "{cell:<w$}  ");
            }
        }
        out.trim_end().to_string()
    };
    let mut out = String::from("tcpfsm conform: every conformance layer that runs here\n\n");
    out.push_str(&line(&header.map(String::from)));
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    for l in layers.iter().filter(|l| !l.details.is_empty()) {
        let _ = writeln!(out, "\n{} ({}):", l.name, l.status.as_str());
        for d in l.details.iter().take(DETAILS_SHOWN) {
            let _ = writeln!(out, "  {}", d.lines().next().unwrap_or_default());
        }
        if l.details.len() > DETAILS_SHOWN {
            let _ = writeln!(out, "  ... and {} more", l.details.len() - DETAILS_SHOWN);
        }
    }
    let failed: Vec<&str> = layers
        .iter()
        .filter(|l| l.status == Status::Fail)
        .map(|l| l.name)
        .collect();
    let ran = layers.iter().filter(|l| l.status != Status::NotRun).count();
    if failed.is_empty() {
        let _ = writeln!(out, "\nconform: PASS ({ran} layers ran, all passed)");
    } else {
        let _ = writeln!(
            out,
            "\nconform: FAIL ({} of {ran} layers failed: {})",
            failed.len(),
            failed.join(", ")
        );
    }
    out
}

/// The summary as one JSON object.
pub fn to_json(layers: &[Layer]) -> String {
    let rows: Vec<serde_json::Value> = layers
        .iter()
        .map(|l| {
            json!({
                "layer": l.name,
                "checked": l.checked,
                "passed": l.passed,
                "failed": l.failed,
                "result": l.status.as_str(),
                "figure": l.figure,
                "details": l.details,
            })
        })
        .collect();
    let ok = layers.iter().all(|l| l.status != Status::Fail);
    json!({ "layers": rows, "ok": ok }).to_string()
}

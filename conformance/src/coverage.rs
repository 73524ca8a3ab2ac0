//! Cell coverage of the spec (issue 4): which (state, event, guard outcome)
//! cells of `tcp.fsm` the scenarios and the random lockstep runs reach.
//!
//! The interpreted engine reports every lookup to an observer
//! ([`tcp_core::engine::interpreted::LookupObserver`]) with the values of all
//! the pair's guards; [`CellIndex`] maps that to a [`Cell`] of
//! [`Spec::cells`]. A cell nothing reaches must be explained by
//! [`cell_reason`]: the spec's own `-> impossible` rows (their doc says why),
//! or, for the cells of rows that other cells do reach,
//! [`unreachable_reason`] (the classifier never emits the event in that
//! state, the timer is never armed there, the guard outcome is impossible);
//! a cell with a reason that *is* reached means the reason is wrong. Both are
//! reported by [`CoverageReport::problems`].

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use tcp_core::config::KeepaliveConfig;
use tcp_core::engine::interpreted::{Lookup, LookupObserver};
use tcp_core::engine::{AnyEngine, InterpretedEngine};
use tcp_core::{Config, Duration};
use tcp_fsm_spec::{Cell, EventId, Origin, Spec, StateId, Target};

use crate::lockstep::{establish, lockstep_config, Input, Lockstep, SeqPick};
use crate::scenario::{self, Scenario, ScenarioError};
use crate::strategies;

/// Why a coverage measurement could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    #[error("cannot read the scenario directory {}: {source}", path.display())]
    ScenarioDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("no scenario files (*.scn) under {}", .0.display())]
    NoScenarios(PathBuf),
    #[error("the random-run strategy could not generate run #{index}: {reason}")]
    Generate { index: usize, reason: String },
}

/// Every `*.scn` file under `dir`, sorted by path.
pub fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, CoverageError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| CoverageError::ScenarioDir {
            path: d.clone(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| CoverageError::ScenarioDir {
                    path: d.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "scn") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The scenario directory of this crate (`conformance/scenarios`).
pub fn default_scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// The scenario directory a command uses: `conformance/scenarios` under the
/// current directory (a checkout's root), else the one this crate was built
/// from; `Err` names the latter when neither exists.
pub fn find_scenario_dir() -> Result<PathBuf, PathBuf> {
    let local = Path::new("conformance/scenarios");
    if local.is_dir() {
        return Ok(local.to_path_buf());
    }
    let built = default_scenario_dir();
    if built.is_dir() {
        Ok(built)
    } else {
        Err(built)
    }
}

/// A scenario with the name coverage reports use: `area/name`.
#[derive(Clone, Debug)]
pub struct NamedScenario {
    pub label: String,
    pub scenario: Scenario,
}

/// Loads every scenario under `dir`, labelled `area/name`.
pub fn load_scenarios(dir: &Path) -> Result<Vec<NamedScenario>, CoverageError> {
    let files = scenario_files(dir)?;
    if files.is_empty() {
        return Err(CoverageError::NoScenarios(dir.to_path_buf()));
    }
    files
        .iter()
        .map(|f| {
            let scenario = Scenario::load(f)?;
            let area = f
                .parent()
                .and_then(|p| p.file_name())
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(NamedScenario {
                label: format!("{area}/{}", scenario.name),
                scenario,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- cells

/// Maps an observed lookup to its index in [`Spec::cells`].
#[derive(Debug)]
pub struct CellIndex {
    cells: Vec<Cell>,
    by_key: HashMap<(StateId, EventId, Vec<bool>), usize>,
}

impl CellIndex {
    pub fn new(spec: &Spec) -> CellIndex {
        let cells = spec.cells();
        let by_key = cells
            .iter()
            .enumerate()
            .map(|(i, c)| ((c.state, c.event, c.outcome.clone()), i))
            .collect();
        CellIndex { cells, by_key }
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The cell a lookup used (its guards are the pair's, in the same order).
    pub fn cell_of(&self, lookup: &Lookup<'_>) -> Option<usize> {
        self.by_key
            .get(&(lookup.state, lookup.event, lookup.values.to_vec()))
            .copied()
    }
}

/// Collects the cells an interpreted engine reaches.
#[derive(Clone, Debug)]
pub struct CellRecorder {
    index: Arc<CellIndex>,
    hits: Arc<Mutex<BTreeSet<usize>>>,
}

impl CellRecorder {
    pub fn new(index: Arc<CellIndex>) -> CellRecorder {
        CellRecorder {
            index,
            hits: Arc::new(Mutex::new(BTreeSet::new())),
        }
    }

    /// The observer to give [`InterpretedEngine::with_observer`].
    pub fn observer(&self) -> LookupObserver {
        let index = Arc::clone(&self.index);
        let hits = Arc::clone(&self.hits);
        Arc::new(move |lookup: &Lookup<'_>| {
            if let Some(i) = index.cell_of(lookup) {
                hits.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(i);
            }
        })
    }

    /// The real spec's interpreted engine, recording into this recorder.
    pub fn engine(&self) -> AnyEngine {
        AnyEngine::Interpreted(InterpretedEngine::real().with_observer(self.observer()))
    }

    /// The cells recorded since the last call.
    pub fn take(&self) -> BTreeSet<usize> {
        std::mem::take(&mut *self.hits.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

// ---------------------------------------------------------------- random runs

/// One fixed-seed random lockstep run: a configuration and its inputs.
#[derive(Clone, Debug)]
pub struct RandomRun {
    /// `lockstep#17`, `keepalive#3`.
    pub label: String,
    pub config: Config,
    pub inputs: Vec<Input>,
}

/// The configuration of the random runs that exercise keep-alive (off in
/// [`lockstep_config`] and in every scenario): short idle time and interval,
/// two probes.
pub fn keepalive_config() -> Config {
    Config {
        keepalive: Some(KeepaliveConfig {
            idle: Duration::from_millis(1500),
            interval: Duration::from_millis(500),
            probes: 2,
        }),
        ..lockstep_config()
    }
}

/// Prefixes that bring the connection to each closing state (FIN-WAIT-1,
/// FIN-WAIT-2, TIME-WAIT, CLOSING, CLOSE-WAIT, LAST-ACK), actively or
/// passively opened: the plain strategy rarely gets that far before its
/// random inputs reset the connection.
pub fn closing_prefixes() -> Vec<Vec<Input>> {
    const ACK: u8 = 0x10;
    const FIN_ACK: u8 = 0x11;
    let seg = |flags: u8, ack: SeqPick| Input::Segment {
        flags,
        seq: SeqPick::Left(0),
        ack,
        window: 4096,
        len: 0,
        options: false,
    };
    let mut out = Vec::new();
    for active in [true, false] {
        let established = establish(active);
        let with = |tail: &[Input]| {
            let mut v = established.clone();
            v.extend_from_slice(tail);
            v
        };
        // FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT.
        out.push(with(&[Input::Close]));
        out.push(with(&[Input::Close, seg(ACK, SeqPick::Right(0))]));
        out.push(with(&[
            Input::Close,
            seg(ACK, SeqPick::Right(0)),
            seg(FIN_ACK, SeqPick::Right(0)),
        ]));
        // CLOSING: the peer's FIN does not acknowledge ours.
        out.push(with(&[Input::Close, seg(FIN_ACK, SeqPick::Left(0))]));
        // CLOSE-WAIT, LAST-ACK.
        out.push(with(&[seg(FIN_ACK, SeqPick::Right(0))]));
        out.push(with(&[seg(FIN_ACK, SeqPick::Right(0)), Input::Close]));
    }
    out
}

/// A run that starts in a closing state (see [`closing_prefixes`]) and
/// continues with up to `max` adversarial inputs of [`strategies::input`].
pub fn closing_run(max: usize) -> impl Strategy<Value = Vec<Input>> {
    (
        proptest::sample::select(closing_prefixes()),
        proptest::collection::vec(strategies::input(), 1..max),
    )
        .prop_map(|(mut prefix, rest)| {
            prefix.extend(rest);
            prefix
        })
}

/// A 32-byte ChaCha seed from a number.
fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&seed.to_le_bytes());
    out[8..16].copy_from_slice(&0x7463_7066_736d_u64.to_le_bytes());
    out
}

/// [`lockstep_config`] with both RFC 5961 mechanisms off: the rows guarded
/// by `!rfc5961_rst` / `!rfc5961_syn` (FreeBSD's insecure_rst/insecure_syn).
pub fn rfc793_config() -> Config {
    Config {
        rfc5961_rst: false,
        rfc5961_syn: false,
        ..lockstep_config()
    }
}

/// `n` random lockstep runs (up to 40 inputs after the prefix) from a fixed
/// seed; the same `(n, seed)` always gives the same runs. Of every eight:
/// four are [`strategies::run`] on [`lockstep_config`] (`lockstep#i`), one
/// on [`rfc793_config`] (`rfc793#i`), one
/// is [`strategies::run`] on [`keepalive_config`] (`keepalive#i`), and two
/// are [`closing_run`]s, on [`keepalive_config`] (`closing-keepalive#i`)
/// and on [`lockstep_config`] (`closing#i`; every other one on
/// [`rfc793_config`], `closing-rfc793#i`).
pub fn random_runs(n: usize, seed: u64) -> Result<Vec<RandomRun>, CoverageError> {
    let plain = strategies::run(40);
    let closing = closing_run(40);
    let mut runner = TestRunner::new_with_rng(
        proptest::test_runner::Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed)),
    );
    (0..n)
        .map(|index| {
            let generated = match index % 8 {
                6 | 7 => closing.new_tree(&mut runner).map(|t| t.current()),
                _ => plain.new_tree(&mut runner).map(|t| t.current()),
            };
            let inputs = generated.map_err(|reason| CoverageError::Generate {
                index,
                reason: reason.to_string(),
            })?;
            let (label, config) = match index % 8 {
                4 => (format!("rfc793#{index}"), rfc793_config()),
                5 => (format!("keepalive#{index}"), keepalive_config()),
                6 => (format!("closing-keepalive#{index}"), keepalive_config()),
                7 if index % 16 == 15 => (format!("closing-rfc793#{index}"), rfc793_config()),
                7 => (format!("closing#{index}"), lockstep_config()),
                _ => (format!("lockstep#{index}"), lockstep_config()),
            };
            Ok(RandomRun {
                label,
                config,
                inputs,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- report

/// What reached one cell.
#[derive(Clone, Debug)]
pub struct CellCoverage {
    pub cell: Cell,
    /// Labels of the scenarios that reached it, in file order.
    pub scenarios: Vec<String>,
    /// How many random runs reached it.
    pub random_runs: usize,
    /// Why it cannot be reached, from [`cell_reason`].
    pub reason: Option<String>,
}

impl CellCoverage {
    pub fn reached(&self) -> bool {
        !self.scenarios.is_empty() || self.random_runs > 0
    }
}

/// The coverage of every cell of a spec.
#[derive(Clone, Debug)]
pub struct CoverageReport {
    pub cells: Vec<CellCoverage>,
    pub scenario_count: usize,
    pub random_run_count: usize,
    /// Scenarios whose expectations failed on the interpreted engine.
    pub scenario_failures: Vec<String>,
}

impl CoverageReport {
    /// Cells without an unreachability reason.
    pub fn reachable(&self) -> usize {
        self.cells.iter().filter(|c| c.reason.is_none()).count()
    }

    /// Reachable cells that something reached.
    pub fn reached(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| c.reason.is_none() && c.reached())
            .count()
    }

    /// Cells with a reason.
    pub fn unreachable(&self) -> usize {
        self.cells.iter().filter(|c| c.reason.is_some()).count()
    }

    /// `reached / reachable`, in percent (100 when nothing is reachable).
    pub fn percent(&self) -> f64 {
        let reachable = self.reachable();
        if reachable == 0 {
            100.0
        } else {
            100.0 * self.reached() as f64 / reachable as f64
        }
    }

    /// Every cell that contradicts the reason table (unreached without a
    /// reason, or reached despite one), plus failing scenarios.
    pub fn problems(&self, spec: &Spec) -> Vec<String> {
        let mut out: Vec<String> = self.scenario_failures.clone();
        for c in &self.cells {
            match (c.reached(), &c.reason) {
                (false, None) => out.push(format!(
                    "NOT REACHED and no reason: {}",
                    describe_cell(spec, &c.cell)
                )),
                (true, Some(reason)) => out.push(format!(
                    "REACHED although listed unreachable ({reason}): {} by {}",
                    describe_cell(spec, &c.cell),
                    reached_by(c)
                )),
                _ => {}
            }
        }
        out
    }

    /// `cells: 412; reachable: 300, reached: 300 (100.0%); unreachable with reasons: 112`.
    pub fn summary(&self) -> String {
        format!(
            "cells: {}; reachable: {}, reached: {} ({:.1}%); unreachable with reasons: {}; from {} scenarios and {} random runs",
            self.cells.len(),
            self.reachable(),
            self.reached(),
            self.percent(),
            self.unreachable(),
            self.scenario_count,
            self.random_run_count
        )
    }

    /// One line per cell: state, event, guard outcome, row, and what reached
    /// it or why it cannot be reached.
    pub fn table(&self, spec: &Spec) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<12} {:<22} {:<42} {:<12} reached by / reason",
            "state", "event", "guards", "row"
        );
        for c in &self.cells {
            let status = match (c.reached(), &c.reason) {
                (true, None) => reached_by(c),
                (false, Some(r)) => format!("unreachable: {r}"),
                (false, None) => "NOT REACHED (no reason)".to_string(),
                (true, Some(r)) => {
                    format!("REACHED by {} but listed unreachable: {r}", reached_by(c))
                }
            };
            let _ = writeln!(
                out,
                "{:<12} {:<22} {:<42} {:<12} {status}",
                spec.state(c.cell.state).display,
                spec.event(c.cell.event).qualified(),
                outcome_text(spec, &c.cell),
                spec.row_location(c.cell.row)
            );
        }
        out
    }
}

/// `seq_exact, !passive_open` or `-`.
pub fn outcome_text(spec: &Spec, cell: &Cell) -> String {
    if cell.guards.is_empty() {
        return "-".to_string();
    }
    cell.guards
        .iter()
        .zip(&cell.outcome)
        .map(|(g, v)| format!("{}{}", if *v { "" } else { "!" }, spec.guard(*g).name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `SYN_RCVD segment.Rst [seq_exact, !passive_open, in_window] (tcp.fsm:212)`.
pub fn describe_cell(spec: &Spec, cell: &Cell) -> String {
    format!(
        "{} {} [{}] ({})",
        spec.state(cell.state).display,
        spec.event(cell.event).qualified(),
        outcome_text(spec, cell),
        spec.row_location(cell.row)
    )
}

fn reached_by(c: &CellCoverage) -> String {
    let mut parts = Vec::new();
    if !c.scenarios.is_empty() {
        let shown: Vec<&str> = c.scenarios.iter().take(3).map(String::as_str).collect();
        let more = c.scenarios.len().saturating_sub(3);
        let mut s = shown.join(", ");
        if more > 0 {
            let _ = write!(s, " +{more}");
        }
        parts.push(s);
    }
    if c.random_runs > 0 {
        parts.push(format!("random: {} runs", c.random_runs));
    }
    parts.join("; ")
}

/// Runs every scenario under `scenario_dir` and `runs` fixed-seed random
/// runs on the real spec's interpreted engine and reports every cell.
pub fn measure(
    scenario_dir: &Path,
    runs: usize,
    seed: u64,
) -> Result<CoverageReport, CoverageError> {
    let spec = tcp_fsm_spec::real_spec();
    let index = Arc::new(CellIndex::new(&spec));
    let recorder = CellRecorder::new(Arc::clone(&index));
    let mut cells: Vec<CellCoverage> = index
        .cells()
        .iter()
        .map(|cell| CellCoverage {
            cell: cell.clone(),
            scenarios: Vec::new(),
            random_runs: 0,
            reason: cell_reason(&spec, cell),
        })
        .collect();

    let scenarios = load_scenarios(scenario_dir)?;
    let mut scenario_failures = Vec::new();
    for s in &scenarios {
        if let Err(m) = scenario::run(&s.scenario, recorder.engine()) {
            scenario_failures.push(format!(
                "scenario {} fails on the interpreted engine: {m}",
                s.label
            ));
        }
        for i in recorder.take() {
            cells[i].scenarios.push(s.label.clone());
        }
    }

    let random = random_runs(runs, seed)?;
    for run in &random {
        let mut ls = Lockstep::new(vec![recorder.engine()], run.config.clone());
        // One engine: nothing to diverge from; the run only drives lookups.
        let _ = ls.run(&run.inputs);
        for i in recorder.take() {
            cells[i].random_runs += 1;
        }
    }

    Ok(CoverageReport {
        cells,
        scenario_count: scenarios.len(),
        random_run_count: random.len(),
        scenario_failures,
    })
}

// ---------------------------------------------------------------- reasons

/// CLOSED, LISTEN and SYN-SENT: the classifier decides by control bits alone.
const R_OPENING_FLAG_CLASSES: &str = "the classifier gives CLOSED, LISTEN and SYN-SENT only flag-class events (Syn, SynAck, Ack, Bare, Rst, RstAck); the sequence and ACK checks of RFC 9293 §3.10.7.4 run only in synchronized states";
const R_OPENING_TEXT: &str = "Text and Fin follow an opening event only when it moved the connection into a synchronized state; while the state stays CLOSED, LISTEN or SYN-SENT the classifier stops after the flag-class event";
const R_SYNC_FLAG_CLASSES: &str = "in synchronized states the classifier emits Rst (for any RST, with or without ACK), Unacceptable, Syn (for any SYN, with or without ACK) and NoAck (for a segment without ACK), never the flag classes SynAck, Bare or RstAck";
const R_EXACT_IMPLIES_WINDOW: &str = "guard outcome impossible: seq_exact (SEG.SEQ = RCV.NXT) implies in_window (RCV.NXT =< SEG.SEQ < RCV.NXT+max(RCV.WND,1))";
const R_FIN_ONCE: &str = "CLOSE-WAIT, CLOSING, LAST-ACK and TIME-WAIT are entered only after ProcessFin took the peer's FIN, and the classifier emits Fin only while no FIN has been received (fin_received)";
const R_FIN_ALREADY_ACKED: &str = "FIN-WAIT-2 and TIME-WAIT are entered only once our FIN is acknowledged, so no later ACK acknowledges it for the first time";
const R_TIMEWAIT_TIMER: &str = "timer TimeWait is armed only by rows that enter or stay in TIME-WAIT, and TIME-WAIT is left only for CLOSED through DeleteTcb, which stops every timer";
const R_NO_TIMERS: &str = "no timer runs in CLOSED or LISTEN: every row into them runs DeleteTcb (which stops all timers), a fresh connection has none, and nothing is sent there that arms one";
const R_KEEPALIVE_BEFORE: &str = "timer Keepalive is armed only by SignalEstablished (on entering ESTABLISHED) and stopped by DeleteTcb; SYN-SENT and SYN-RECEIVED come before it";
const R_DELACK_BEFORE: &str =
    "timer DelayedAck is armed only by QueueText, which no row of SYN-SENT or SYN-RECEIVED runs";
const R_DELACK_AFTER_FIN: &str = "timer DelayedAck is armed only by QueueText (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2); every row into CLOSE-WAIT, CLOSING and TIME-WAIT sends an ACK (SendAck), which stops it, and LAST-ACK is entered only from CLOSE-WAIT";
const R_PERSIST_SYN_SENT: &str = "timer Persist is armed only when queued data meets a closed send window, and before a synchronized state nothing but the SYN is sent";
const R_PERSIST_SYN_RECEIVED: &str = "timer Persist is armed only while the retransmission timer is idle, and the SYN,ACK keeps the retransmission timer running for all of SYN-RECEIVED (acknowledged: ESTABLISHED; exhausted: CLOSED)";
const R_NO_FIN_BEFORE_CLOSE: &str = "our FIN is queued only by the user's CLOSE (SendFin), which leaves SYN-RECEIVED and ESTABLISHED for FIN-WAIT-1 and CLOSE-WAIT for LAST-ACK; a TCB created anew (CreateTcb) carries no FIN of an earlier connection";
const R_KEEPALIVE_TIME_WAIT: &str = "both rows into TIME-WAIT run StopTimer(Keepalive) (RFC 9293 §3.10.7.4 \"turn off the other timers\") and only SignalEstablished arms it again";
const R_ALL_ACKED: &str = "FIN-WAIT-2 and TIME-WAIT are entered when the ACK of our FIN acknowledges everything (SND.UNA = SND.NXT stops the retransmission and user timers, nothing is left unsent for Persist), and nothing sent afterwards (ACKs, keep-alive probes) arms either timer";

/// Why a cell cannot be reached: the spec's own claim when the cell's row is
/// `-> impossible` (its doc), else the derived [`unreachable_reason`].
pub fn cell_reason(spec: &Spec, cell: &Cell) -> Option<String> {
    let row = spec.row(cell.row);
    if row.target == Target::Impossible {
        return Some(format!(
            "declared impossible ({}): {}",
            spec.row_location(cell.row),
            row.doc
        ));
    }
    unreachable_reason(spec, cell).map(str::to_string)
}

/// Why a cell of the real `tcp.fsm` can never be reached, or `None` when it
/// can. Derived systematically from the classifier
/// (`tcp-core/src/engine/classifier.rs`: which events each state can see),
/// from where the data path arms each timer (`tcp-core/src/tcb.rs`), and
/// from the relations between guards.
///
pub fn unreachable_reason(spec: &Spec, cell: &Cell) -> Option<&'static str> {
    let state = spec.state(cell.state).name.as_str();
    let event = spec.event(cell.event);
    let name = event.name.as_str();
    let guard = |g: &str| {
        cell.guards
            .iter()
            .position(|id| spec.guard(*id).name == g)
            .map(|i| cell.outcome[i])
    };
    let opening = matches!(state, "Closed" | "Listen" | "SynSent");
    match event.origin {
        Origin::App => None,
        Origin::Segment => {
            if opening
                && matches!(
                    name,
                    "Unacceptable" | "NoAck" | "AckOfFin" | "AckTooNew" | "AckTooOld"
                )
            {
                Some(R_OPENING_FLAG_CLASSES)
            } else if opening && matches!(name, "Text" | "Fin") {
                Some(R_OPENING_TEXT)
            } else if !opening && matches!(name, "SynAck" | "Bare" | "RstAck") {
                Some(R_SYNC_FLAG_CLASSES)
            } else if guard("seq_exact") == Some(true) && guard("in_window") == Some(false) {
                Some(R_EXACT_IMPLIES_WINDOW)
            } else if name == "Fin"
                && matches!(state, "CloseWait" | "Closing" | "LastAck" | "TimeWait")
            {
                Some(R_FIN_ONCE)
            } else if name == "AckOfFin" && matches!(state, "FinWait2" | "TimeWait") {
                Some(R_FIN_ALREADY_ACKED)
            } else if name == "AckOfFin"
                && matches!(state, "SynReceived" | "Established" | "CloseWait")
            {
                Some(R_NO_FIN_BEFORE_CLOSE)
            } else {
                None
            }
        }
        Origin::Timer => match (name, state) {
            ("TimeWait", s) if s != "TimeWait" => Some(R_TIMEWAIT_TIMER),
            (_, "Closed" | "Listen") => Some(R_NO_TIMERS),
            ("Keepalive", "SynSent" | "SynReceived") => Some(R_KEEPALIVE_BEFORE),
            ("Keepalive", "TimeWait") => Some(R_KEEPALIVE_TIME_WAIT),
            ("DelayedAck", "SynSent" | "SynReceived") => Some(R_DELACK_BEFORE),
            ("DelayedAck", "CloseWait" | "Closing" | "LastAck" | "TimeWait") => {
                Some(R_DELACK_AFTER_FIN)
            }
            ("Persist", "SynSent") => Some(R_PERSIST_SYN_SENT),
            ("Persist", "SynReceived") => Some(R_PERSIST_SYN_RECEIVED),
            ("Persist" | "Retransmission" | "User", "FinWait2" | "TimeWait") => Some(R_ALL_ACKED),
            _ => None,
        },
    }
}

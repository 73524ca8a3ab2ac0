//! Mutation score of the conformance suite (issue 4): for every row of
//! `tcp.fsm`, specs with that row's next state changed and with its action
//! list changed, each run by the interpreted engine against the hand-written
//! per-state engine over every scenario and a fixed-seed set of random
//! lockstep runs. A mutant is killed when any check tells it apart; the
//! survivors are either equivalent (a reason from [`equivalent_reason`]) or
//! a missing test.
//!
//! Only checks that can tell are run: until a mutant's row is first chosen,
//! the mutant behaves exactly like the real spec (the lookup depends on
//! guards only, never on targets or actions), so a check whose run on the
//! real spec never used the row cannot kill it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};

use tcp_core::engine::interpreted::{Lookup, LookupObserver};
use tcp_core::engine::{AnyEngine, InterpretedEngine, InterpretedSpec, SpecBindError};
use tcp_core::EngineKind;
use tcp_fsm_spec::{ActionArg, ActionRef, RowId, Spec, StateId, Target};

use crate::coverage::{
    self, describe_cell, load_scenarios, random_runs, unreachable_reason, CellIndex, CellRecorder,
    CoverageError, NamedScenario, RandomRun,
};
use crate::lockstep::Lockstep;
use crate::scenario;

/// Why a mutation run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MutationError {
    #[error("{0}")]
    Coverage(#[from] CoverageError),
    #[error("the spec does not bind to the data path: {0}")]
    Bind(#[from] SpecBindError),
    #[error("the spec has no action `{0}` to add to empty action lists")]
    MissingAction(&'static str),
}

/// How a mutant differs from the real spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// The row leads somewhere else.
    Target(Target),
    /// The last action of the row is dropped.
    DropLastAction,
    /// An action is added to a row that has none.
    AddAction(ActionRef),
}

/// One mutant: a row and what changed in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutant {
    pub row: RowId,
    pub mutation: Mutation,
}

impl Mutant {
    /// The spec with this mutation applied.
    pub fn apply(&self, spec: &Spec) -> Spec {
        let mut out = spec.clone();
        if let Some(row) = out.rows.get_mut(self.row.index()) {
            match &self.mutation {
                Mutation::Target(t) => row.target = *t,
                Mutation::DropLastAction => {
                    row.actions.pop();
                }
                Mutation::AddAction(a) => row.actions.push(*a),
            }
        }
        out
    }

    /// `tcp.fsm:57 SynSent: on segment.SynAck [...] -> Established: target -> stay`.
    pub fn describe(&self, spec: &Spec) -> String {
        let row = spec.row(self.row);
        let state = row
            .state
            .map_or("*".to_string(), |s| spec.state(s).name.clone());
        let change = match &self.mutation {
            Mutation::Target(Target::Stay) => "next state -> stay".to_string(),
            Mutation::Target(Target::Impossible) => "next state -> impossible".to_string(),
            Mutation::Target(Target::State(s)) => {
                format!("next state -> {}", spec.state(*s).name)
            }
            Mutation::DropLastAction => match row.actions.last() {
                Some(a) => format!("drop action {}", spec.action_ref_name(a)),
                None => "drop the last action".to_string(),
            },
            Mutation::AddAction(a) => format!("add action {}", spec.action_ref_name(a)),
        };
        format!(
            "{} state {state}: {}: {change}",
            spec.row_location(self.row),
            spec.row_text(self.row)
        )
    }
}

/// The first state, in declaration order, that is not in `avoid`.
fn other_state(spec: &Spec, avoid: &[StateId]) -> Option<StateId> {
    spec.state_ids().find(|s| !avoid.contains(s))
}

/// Every mutant of `spec`, row by row: (a) the next state changed (`stay`
/// to another state; a state to `stay` and to another state), (b) the
/// action list changed (the last action dropped; `SendAck` added to an
/// empty list).
pub fn mutants(spec: &Spec) -> Result<Vec<Mutant>, MutationError> {
    let send_ack = spec
        .action_by_name("SendAck")
        .ok_or(MutationError::MissingAction("SendAck"))?;
    let mut out = Vec::new();
    // An `-> impossible` row has neither a next state nor actions to change:
    // the spec claims no input reaches it, which every check verifies
    // instead (a mutant that makes the engine reach it is killed).
    for row in spec.rows.iter().filter(|r| r.target != Target::Impossible) {
        let own: Vec<StateId> = row.state.into_iter().collect();
        match row.target {
            Target::Stay => {
                if let Some(s) = other_state(spec, &own) {
                    out.push(Mutant {
                        row: row.id,
                        mutation: Mutation::Target(Target::State(s)),
                    });
                }
            }
            Target::State(t) => {
                out.push(Mutant {
                    row: row.id,
                    mutation: Mutation::Target(Target::Stay),
                });
                let mut avoid = own.clone();
                avoid.push(t);
                if let Some(s) = other_state(spec, &avoid) {
                    out.push(Mutant {
                        row: row.id,
                        mutation: Mutation::Target(Target::State(s)),
                    });
                }
            }
            Target::Impossible => continue,
        }
        let mutation = if row.actions.is_empty() {
            Mutation::AddAction(ActionRef {
                action: send_ack,
                arg: None,
            })
        } else {
            Mutation::DropLastAction
        };
        out.push(Mutant {
            row: row.id,
            mutation,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- equivalence

const E_UNREACHABLE_ROW: &str =
    "the row is used only by unreachable cells (see `tcpfsm coverage`), so no input ever takes it";
const E_ACK_BEFORE_SYNC: &str = "SendAck in SYN-SENT on a row that stays there sends nothing (no ACK leaves before a synchronized state), and every way out clears the pending ACK: the ACK of the SYN,ACK or the SYN,ACK of a simultaneous open carries it, or DeleteTcb drops it (in LISTEN the pending ACK is visible: it keeps a deleted connection from being finished)";

/// Why a mutant of the real `tcp.fsm` cannot be told apart from it, or
/// `None`. Rules, not a list: a row no reachable cell uses (the real spec
/// declares such rows `-> impossible`, so this is a safety net for edited
/// specs); an ACK that cannot leave before the connection is synchronized.
pub fn equivalent_reason(spec: &Spec, mutant: &Mutant) -> Option<&'static str> {
    let cells: Vec<_> = spec
        .cells()
        .into_iter()
        .filter(|c| c.row == mutant.row)
        .collect();
    if cells.iter().all(|c| unreachable_reason(spec, c).is_some()) {
        return Some(E_UNREACHABLE_ROW);
    }
    let row = spec.row(mutant.row);
    let reachable_states: BTreeSet<StateId> = cells
        .iter()
        .filter(|c| unreachable_reason(spec, c).is_none())
        .map(|c| c.state)
        .collect();
    if let Mutation::AddAction(a) = &mutant.mutation {
        let before_sync =
            |s: &StateId| spec.state(*s).name == "SynSent" && spec.next_state(row, *s) == *s;
        if spec.action(a.action).name == "SendAck" && reachable_states.iter().all(before_sync) {
            return Some(E_ACK_BEFORE_SYNC);
        }
    }
    None
}

/// What a test must observe to see `mutant`, and where.
fn missing_test(spec: &Spec, mutant: &Mutant) -> String {
    let row = spec.row(mutant.row);
    let cells: Vec<String> = spec
        .cells()
        .iter()
        .filter(|c| c.row == mutant.row && unreachable_reason(spec, c).is_none())
        .map(|c| describe_cell(spec, c))
        .collect();
    let what = match &mutant.mutation {
        Mutation::Target(_) => "checks the state it leads to".to_string(),
        Mutation::DropLastAction => match row.actions.last() {
            Some(a) => format!("observes the effect of {}", effect(spec, a)),
            None => "observes the dropped action".to_string(),
        },
        Mutation::AddAction(a) => format!("checks that no {} happens", effect(spec, a)),
    };
    let mut text = format!("a scenario that reaches {} and {what}", cells.join(" or "));
    if let Some(note) = analysis_note(spec, mutant) {
        text.push_str(&format!(" ({note})"));
    }
    text
}

/// What the analysis of a surviving, non-equivalent mutant found.
fn analysis_note(spec: &Spec, mutant: &Mutant) -> Option<&'static str> {
    let row = spec.row(mutant.row);
    let state = row.state.map(|s| spec.state(s).name.as_str());
    let event = spec.event(row.event).name.as_str();
    let last = row
        .actions
        .last()
        .map(|a| spec.action(a.action).name.as_str());
    match (state, event, &mutant.mutation, last) {
        (Some("SynReceived"), "Fin", Mutation::DropLastAction, Some("SendAck")) => Some(
            "a FIN is taken in SYN-RECEIVED only when it comes with the SYN, and the SYN,ACK queued for that SYN already acknowledges it; otherwise only a reopened connection reaches this row, through the stale FIN `Tcb::create_tcb` keeps, which no test should pin down",
        ),
        _ => None,
    }
}

/// The observable effect of an action, for "missing test" hints.
fn effect(spec: &Spec, a: &ActionRef) -> String {
    let name = spec.action(a.action).name.as_str();
    match (name, a.arg) {
        ("Discard", _) => "Discard (text or FIN in the same segment ignored)".to_string(),
        ("StartTimer", Some(ActionArg::Timer(t))) => {
            format!("StartTimer({}) (when the timer fires)", spec.event(t).name)
        }
        ("StopTimer", Some(ActionArg::Timer(t))) => {
            format!(
                "StopTimer({}) (the timer must not fire)",
                spec.event(t).name
            )
        }
        ("Fail", _) => format!(
            "{} (the error the call or event reports)",
            spec.action_ref_name(a)
        ),
        ("SignalEstablished", _) => "SignalEstablished (the Connected event)".to_string(),
        ("DeleteTcb", _) => "DeleteTcb (nothing sent afterwards, timers stopped)".to_string(),
        _ => match &spec.action(a.action).label {
            Some(label) => format!("{} ({label})", spec.action_ref_name(a)),
            None => spec.action_ref_name(a),
        },
    }
}

// ---------------------------------------------------------------- checks

/// One check a mutant is run through, with the rows its run on the real
/// spec used.
struct Check {
    kind: CheckKind,
    rows: BTreeSet<RowId>,
}

enum CheckKind {
    /// A scenario and the per-state engine's exchange log for it.
    Scenario {
        named: NamedScenario,
        reference: String,
    },
    /// A random lockstep run against the per-state engine.
    Random(RandomRun),
}

impl Check {
    /// `scenario handshake/active_open` or `random run 17`.
    fn label(&self) -> String {
        match &self.kind {
            CheckKind::Scenario { named, .. } => format!("scenario {}", named.label),
            CheckKind::Random(run) => format!("random run {}", run.label),
        }
    }

    /// `Some(why)` when `engine` is told apart from the per-state engine:
    /// for a scenario, its expectations or its exchange log; for a random
    /// run, the lockstep observation after any input, or whether the
    /// connection is finished (`Connection::is_finished`, which only
    /// DeleteTcb decides).
    fn kills(&self, engine: AnyEngine) -> Option<String> {
        match &self.kind {
            CheckKind::Scenario { named, reference } => {
                match scenario::run(&named.scenario, engine) {
                    Err(m) => Some(format!(
                        "scenario {}: line {}: expected {}, got {}",
                        named.label, m.line, m.expected, m.actual
                    )),
                    Ok(log) if log != *reference => Some(format!(
                        "scenario {}: exchange log differs from the per-state engine's",
                        named.label
                    )),
                    Ok(_) => None,
                }
            }
            CheckKind::Random(run) => {
                let engines = vec![AnyEngine::builtin(EngineKind::PerState), engine];
                let mut ls = Lockstep::new(engines, run.config.clone());
                for (i, input) in run.inputs.iter().enumerate() {
                    if let Err(d) = ls.step(input.clone()) {
                        return Some(format!(
                            "random run {}: diverged after input #{}",
                            run.label,
                            d.history.len()
                        ));
                    }
                    if ls.connection(0).is_finished() != ls.connection(1).is_finished() {
                        return Some(format!(
                            "random run {}: is_finished differs after input #{}",
                            run.label,
                            i + 1
                        ));
                    }
                }
                None
            }
        }
    }
}

/// Runs `f`, turning a panic into `Some(message)` (a mutant that makes the
/// data path panic is killed, not a crash of the tool).
fn guarded(f: impl FnOnce() -> Option<String>) -> Option<String> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            Some(format!("panicked: {msg}"))
        }
    }
}

/// Threads running mutants are named with this prefix; their panics are
/// caught and reported as kills, so the panic hook keeps them quiet.
const WORKER_PREFIX: &str = "tcpfsm-mutant-";

fn quiet_worker_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let worker = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with(WORKER_PREFIX));
            if !worker {
                previous(info);
            }
        }));
    });
}

// ---------------------------------------------------------------- running

/// What the mutation run uses.
#[derive(Clone, Debug)]
pub struct MutationOptions {
    pub scenario_dir: PathBuf,
    /// Random lockstep runs (the same corpus as coverage: [`random_runs`]).
    pub random_runs: usize,
    pub seed: u64,
    /// Worker threads (at least one).
    pub workers: usize,
}

impl Default for MutationOptions {
    fn default() -> Self {
        MutationOptions {
            scenario_dir: coverage::default_scenario_dir(),
            random_runs: 3000,
            seed: 1,
            workers: 2,
        }
    }
}

/// How a mutant fared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Told apart by this check.
    Killed(String),
    /// Not told apart; a reason it never can be.
    Equivalent(&'static str),
    /// Not told apart; what test would.
    MissingTest(String),
}

#[derive(Clone, Debug)]
pub struct MutantResult {
    pub mutant: Mutant,
    pub description: String,
    pub verdict: Verdict,
}

/// The outcome of a mutation run.
#[derive(Clone, Debug)]
pub struct MutationReport {
    pub results: Vec<MutantResult>,
    pub scenario_count: usize,
    pub random_run_count: usize,
    /// Checks the real spec itself fails (they were left out; should be none).
    pub baseline_failures: Vec<String>,
}

impl MutationReport {
    pub fn total(&self) -> usize {
        self.results.len()
    }

    pub fn killed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Killed(_)))
            .count()
    }

    pub fn equivalent(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Equivalent(_)))
            .count()
    }

    /// Killed over all mutants (equivalent ones count as not killed).
    pub fn score(&self) -> f64 {
        if self.results.is_empty() {
            return 1.0;
        }
        self.killed() as f64 / self.total() as f64
    }

    /// Killed over the mutants not known to be equivalent (the usual
    /// definition of a mutation score).
    pub fn score_without_equivalent(&self) -> f64 {
        let judged = self.total() - self.equivalent();
        if judged == 0 {
            return 1.0;
        }
        self.killed() as f64 / judged as f64
    }

    pub fn survivors(&self) -> impl Iterator<Item = &MutantResult> {
        self.results
            .iter()
            .filter(|r| !matches!(r.verdict, Verdict::Killed(_)))
    }

    /// `mutants: 412, killed: 400, score: 97.1% (...)`.
    pub fn summary(&self) -> String {
        format!(
            "mutants: {}, killed: {}, surviving: {} ({} equivalent, {} missing a test); score: {:.1}% killed / all mutants, {:.1}% killed / non-equivalent mutants; from {} scenarios and {} random runs",
            self.total(),
            self.killed(),
            self.total() - self.killed(),
            self.equivalent(),
            self.total() - self.killed() - self.equivalent(),
            100.0 * self.score(),
            100.0 * self.score_without_equivalent(),
            self.scenario_count,
            self.random_run_count
        )
    }

    /// The summary and every survivor with its reason.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.summary());
        for f in &self.baseline_failures {
            let _ = writeln!(out, "baseline failure (check left out): {f}");
        }
        let survivors: Vec<_> = self.survivors().collect();
        if !survivors.is_empty() {
            let _ = writeln!(out, "surviving mutants:");
        }
        for r in survivors {
            let why = match &r.verdict {
                Verdict::Equivalent(e) => format!("equivalent: {e}"),
                Verdict::MissingTest(m) => format!("missing test: {m}"),
                Verdict::Killed(_) => continue,
            };
            let _ = writeln!(out, "  {}\n      {why}", r.description);
        }
        out
    }
}

/// The rows a recorder saw, from its cells.
fn rows_of(index: &CellIndex, cells: BTreeSet<usize>) -> BTreeSet<RowId> {
    cells.into_iter().map(|i| index.cells()[i].row).collect()
}

/// Builds the checks: every scenario with the per-state engine's log, and
/// the random runs, each with the rows the real spec used; checks the real
/// spec fails are returned separately.
fn build_checks(
    spec: &Spec,
    scenarios: Vec<NamedScenario>,
    runs: Vec<RandomRun>,
) -> (Vec<Check>, Vec<String>) {
    let index = Arc::new(CellIndex::new(spec));
    let recorder = CellRecorder::new(Arc::clone(&index));
    let mut candidates = Vec::new();
    let mut failures = Vec::new();
    for named in scenarios {
        match scenario::run(&named.scenario, AnyEngine::builtin(EngineKind::PerState)) {
            Ok(reference) => candidates.push(CheckKind::Scenario { named, reference }),
            Err(m) => failures.push(format!(
                "scenario {} fails on the per-state engine: {m}",
                named.label
            )),
        }
    }
    candidates.extend(runs.into_iter().map(CheckKind::Random));
    let mut checks = Vec::new();
    for kind in candidates {
        let mut check = Check {
            kind,
            rows: BTreeSet::new(),
        };
        // The real spec must pass its own checks; the rows it used decide
        // which mutants the check can kill.
        let baseline = guarded(|| check.kills(recorder.engine()));
        check.rows = rows_of(&index, recorder.take());
        match baseline {
            None => checks.push(check),
            Some(why) => failures.push(format!("the real spec fails it: {why}")),
        }
    }
    (checks, failures)
}

/// Runs one mutant through the checks that used its row; first kill wins.
fn judge(spec: &Spec, mutant: &Mutant, checks: &[Check]) -> Result<Verdict, MutationError> {
    let relevant: Vec<&Check> = checks
        .iter()
        .filter(|c| c.rows.contains(&mutant.row))
        .collect();
    if !relevant.is_empty() {
        let mutated = mutant.apply(spec);
        let impossible: Vec<bool> = mutated
            .rows
            .iter()
            .map(|r| r.target == Target::Impossible)
            .collect();
        let bound = Arc::new(InterpretedSpec::bind(mutated)?);
        // The first `-> impossible` row the mutant's engine chose, if any.
        let reached: Arc<Mutex<Option<RowId>>> = Arc::new(Mutex::new(None));
        let observer: LookupObserver = {
            let reached = Arc::clone(&reached);
            Arc::new(move |lookup: &Lookup<'_>| {
                if impossible.get(lookup.row.index()).copied().unwrap_or(false) {
                    let mut r = reached.lock().unwrap_or_else(PoisonError::into_inner);
                    r.get_or_insert(lookup.row);
                }
            })
        };
        let engine = InterpretedEngine::new(bound).with_observer(observer);
        for check in relevant {
            let engine = AnyEngine::Interpreted(engine.clone());
            if let Some(why) = guarded(|| check.kills(engine)) {
                return Ok(Verdict::Killed(why));
            }
            // The spec claims that row cannot be reached (GRAMMAR.md): the
            // coverage check that holds the claim fails for this mutant.
            let hit = reached
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(row) = hit {
                return Ok(Verdict::Killed(format!(
                    "{}: reaches the row declared impossible at {}",
                    check.label(),
                    spec.row_location(row)
                )));
            }
        }
    }
    Ok(match equivalent_reason(spec, mutant) {
        Some(e) => Verdict::Equivalent(e),
        None => Verdict::MissingTest(missing_test(spec, mutant)),
    })
}

/// Builds every mutant of the real `tcp.fsm` and runs it; see the module doc.
pub fn run(opts: &MutationOptions) -> Result<MutationReport, MutationError> {
    run_selected(opts, &|_, _| true)
}

/// Like [`run`], for the mutants `select` accepts.
pub fn run_selected(
    opts: &MutationOptions,
    select: &dyn Fn(&Spec, &Mutant) -> bool,
) -> Result<MutationReport, MutationError> {
    let spec = tcp_fsm_spec::real_spec();
    let scenarios = load_scenarios(&opts.scenario_dir)?;
    let runs = random_runs(opts.random_runs, opts.seed)?;
    let (scenario_count, random_run_count) = (scenarios.len(), runs.len());
    let (checks, baseline_failures) = build_checks(&spec, scenarios, runs);
    let all: Vec<Mutant> = mutants(&spec)?
        .into_iter()
        .filter(|m| select(&spec, m))
        .collect();
    quiet_worker_panics();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Verdict, MutationError>>>> =
        Mutex::new((0..all.len()).map(|_| None).collect());
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(mutant) = all.get(i) else { break };
        let verdict = judge(&spec, mutant, &checks);
        results.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(verdict);
    };
    std::thread::scope(|scope| {
        let spawned = (0..opts.workers.max(1))
            .filter(|w| {
                std::thread::Builder::new()
                    .name(format!("{WORKER_PREFIX}{w}"))
                    .spawn_scoped(scope, work)
                    .is_ok()
            })
            .count();
        if spawned == 0 {
            // No thread could be started: judge every mutant on this one.
            work();
        }
    });
    let verdicts = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut out = Vec::with_capacity(all.len());
    for (mutant, verdict) in all.into_iter().zip(verdicts) {
        let verdict = match verdict {
            Some(v) => v?,
            None => Verdict::MissingTest("not run (worker thread failed)".to_string()),
        };
        out.push(MutantResult {
            description: mutant.describe(&spec),
            mutant,
            verdict,
        });
    }
    Ok(MutationReport {
        results: out,
        scenario_count,
        random_run_count,
        baseline_failures,
    })
}

//! Cell coverage of tcp.fsm (issue 4): every (state, event, guard outcome)
//! cell is either reached by a scenario or a fixed-seed random lockstep run,
//! or has a reason why it cannot be; a reason for a cell that is reached is
//! wrong and fails the test too.

use std::sync::Arc;

use conformance::coverage::{
    self, default_scenario_dir, random_runs, unreachable_reason, CellIndex, CellRecorder,
};
use conformance::lockstep::{establish, lockstep_config, Lockstep};
use tcp_core::engine::AnyEngine;
use tcp_core::EngineKind;
use tcp_fsm_spec::{real_spec, Cell, Spec};

/// The seed and size of the random sample the coverage figures are for.
const SEED: u64 = 1;
const RUNS: usize = 3000;

fn cell(spec: &Spec, state: &str, event: &str, outcome: &[(&str, bool)]) -> Cell {
    let s = spec.state_by_name(state).unwrap();
    let e = spec.event_by_name(event).unwrap();
    spec.cells()
        .into_iter()
        .find(|c| {
            c.state == s
                && c.event == e
                && outcome.iter().all(|(g, v)| {
                    let id = spec.guard_by_name(g).unwrap();
                    c.guards
                        .iter()
                        .position(|x| *x == id)
                        .is_some_and(|i| c.outcome[i] == *v)
                })
        })
        .unwrap()
}

#[test]
fn every_reachable_cell_is_reached_and_every_reason_holds() {
    let spec = real_spec();
    let started = std::time::Instant::now();
    let report = coverage::measure(&default_scenario_dir(), RUNS, SEED).unwrap();
    let problems = report.problems(&spec);
    if !problems.is_empty() {
        println!("{}", report.table(&spec));
    }
    println!("{}", report.summary());
    println!(
        "reachable cells reached: {:.1}% (target 100%) in {:.2?}",
        report.percent(),
        started.elapsed()
    );
    assert_eq!(report.cells.len(), spec.cells().len());
    assert!(
        problems.is_empty(),
        "{} coverage problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(report.reached(), report.reachable());
}

#[test]
fn unreachable_reasons_follow_the_classifier_timers_and_guards() {
    let spec = real_spec();
    let reason = |state, event, outcome: &[(&str, bool)]| {
        unreachable_reason(&spec, &cell(&spec, state, event, outcome))
    };
    // The classifier: opening states get flag classes only.
    assert!(reason("CLOSED", "segment.Text", &[]).is_some());
    assert!(reason("LISTEN", "segment.AckTooNew", &[]).is_some());
    assert!(reason("SYN_SENT", "segment.Unacceptable", &[("syn_flag", true)]).is_some());
    assert!(reason("ESTABLISHED", "segment.SynAck", &[]).is_some());
    assert!(reason("SYN_SENT", "segment.SynAck", &[("ack_acceptable", true)]).is_none());
    assert!(reason("ESTABLISHED", "segment.Ack", &[]).is_none());
    // Guards: seq_exact implies in_window.
    let exact_out = [("seq_exact", true), ("in_window", false)];
    let exact_in = [("seq_exact", true), ("in_window", true)];
    assert!(reason("ESTABLISHED", "segment.Rst", &exact_out)
        .unwrap()
        .contains("seq_exact"));
    assert!(reason("ESTABLISHED", "segment.Rst", &exact_in).is_none());
    // Timers.
    assert!(reason("ESTABLISHED", "timer.User", &[]).is_none());
    assert!(reason("FIN_WAIT_2", "timer.User", &[]).is_some());
    assert!(reason("FIN_WAIT_1", "timer.TimeWait", &[]).is_some());
    assert!(reason("TIME_WAIT", "timer.TimeWait", &[]).is_none());
    assert!(reason(
        "LISTEN",
        "timer.Retransmission",
        &[("retries_exhausted", false)]
    )
    .is_some());
    assert!(reason(
        "SYN_SENT",
        "timer.Retransmission",
        &[("retries_exhausted", true)]
    )
    .is_none());
    // App calls are reachable everywhere.
    for s in &spec.states {
        let id = spec.state_by_name(&s.name).unwrap();
        for c in spec.cells().iter().filter(|c| c.state == id) {
            if spec.event(c.event).origin == tcp_fsm_spec::Origin::App {
                assert!(unreachable_reason(&spec, c).is_none(), "{}", s.name);
            }
        }
    }
}

#[test]
fn recorder_maps_lookups_to_cells() {
    let spec = real_spec();
    let index = Arc::new(CellIndex::new(&spec));
    let recorder = CellRecorder::new(Arc::clone(&index));
    let mut ls = Lockstep::new(vec![recorder.engine()], lockstep_config());
    ls.run(&establish(true)).unwrap();
    let hits = recorder.take();
    let want = [
        cell(&spec, "CLOSED", "app.ActiveOpen", &[]),
        cell(
            &spec,
            "SYN_SENT",
            "segment.SynAck",
            &[("ack_acceptable", true)],
        ),
    ];
    for w in &want {
        let i = index.cells().iter().position(|c| c == w).unwrap();
        assert!(hits.contains(&i), "{}", coverage::describe_cell(&spec, w));
    }
    // The bad-ACK cell of the same pair was not used.
    let bad = cell(
        &spec,
        "SYN_SENT",
        "segment.SynAck",
        &[("ack_acceptable", false)],
    );
    let i = index.cells().iter().position(|c| *c == bad).unwrap();
    assert!(!hits.contains(&i));
    // `take` empties the recorder.
    assert!(recorder.take().is_empty());
}

#[test]
fn observer_leaves_the_interpreted_engine_unchanged() {
    // Evaluating every guard of a pair for the observer must not change what
    // the engine does: lockstep against the per-state engine still agrees.
    let spec = real_spec();
    let recorder = CellRecorder::new(Arc::new(CellIndex::new(&spec)));
    for run in random_runs(300, 7).unwrap() {
        let engines = vec![AnyEngine::builtin(EngineKind::PerState), recorder.engine()];
        let mut ls = Lockstep::new(engines, run.config.clone());
        if let Err(d) = ls.run(&run.inputs) {
            panic!("{}: {d}", run.label);
        }
    }
}

#[test]
fn random_runs_are_fixed_by_the_seed() {
    let a = random_runs(40, 3).unwrap();
    let b = random_runs(40, 3).unwrap();
    let c = random_runs(40, 4).unwrap();
    let inputs = |v: &[coverage::RandomRun]| v.iter().map(|r| r.inputs.clone()).collect::<Vec<_>>();
    assert_eq!(inputs(&a), inputs(&b));
    assert_ne!(inputs(&a), inputs(&c));
    assert!(a.iter().any(|r| r.config.keepalive.is_some()));
    assert!(a.iter().any(|r| r.label.starts_with("closing")));
}

//! `tcpfsm coverage` and `tcpfsm mutants` run as a user would.

mod common;
use common::{run_in, scratch, stderr, stdout, workspace_root};

#[test]
fn coverage_prints_every_cell_and_reaches_all_reachable_ones() {
    let o = run_in(&workspace_root(), &["coverage"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let spec = tcp_fsm_spec::real_spec();
    // A header, one line per cell, the summary.
    assert_eq!(out.lines().count(), spec.cells().len() + 2, "{out}");
    let summary = out.lines().last().unwrap();
    assert!(
        summary.starts_with(&format!("cells: {};", spec.cells().len())),
        "{summary}"
    );
    assert!(summary.contains("(100.0%)"), "{summary}");
    assert!(
        out.contains("unreachable: no timer runs in CLOSED or LISTEN"),
        "{out}"
    );
    assert!(out.contains("handshake/active_open"), "{out}");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn coverage_with_too_few_runs_names_the_missed_cells_and_exits_1() {
    // One scenario and one random run cannot reach everything.
    let dir = scratch("few");
    std::fs::create_dir_all(dir.join("handshake")).unwrap();
    std::fs::copy(
        workspace_root().join("conformance/scenarios/handshake/active_open.scn"),
        dir.join("handshake/active_open.scn"),
    )
    .unwrap();
    let o = run_in(
        &workspace_root(),
        &[
            "coverage",
            "--runs",
            "1",
            "--scenarios",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.lines().all(|l| l.starts_with("tcpfsm: coverage: ")),
        "{err}"
    );
    assert!(
        err.contains("NOT REACHED and no reason: TIME_WAIT"),
        "{err}"
    );
    assert!(stdout(&o)
        .lines()
        .last()
        .unwrap()
        .contains("from 1 scenarios and 1 random runs"));
}

#[test]
fn mutants_prints_the_score_and_every_survivor() {
    let o = run_in(&workspace_root(), &["mutants", "--runs", "300"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("mutants: "), "{first}");
    assert!(first.contains("killed / non-equivalent mutants"), "{first}");
    assert!(first.ends_with(" scenarios and 300 random runs"), "{first}");
    assert!(out.contains("surviving mutants:"), "{out}");
    assert!(out.contains("equivalent: SendAck in SYN-SENT"), "{out}");
    assert!(
        out.contains("missing test: a scenario that reaches"),
        "{out}"
    );
}

#[test]
fn suite_bad_arguments_are_one_line_and_nonzero() {
    for args in [
        &["coverage", "--runs", "many"][..],
        &["coverage", "--scenarios", "/nonexistent/scenarios"][..],
        &["mutants", "--workers", "0"][..],
        &["mutants", "--seed", "-1"][..],
        &["mutants", "--scenarios", "/nonexistent/scenarios"][..],
    ] {
        let o = run_in(&workspace_root(), args);
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("tcpfsm: "), "{err}");
    }
    // An empty scenario directory is an error too, not an empty report.
    let empty = scratch("empty");
    let o = run_in(
        &workspace_root(),
        &["coverage", "--scenarios", empty.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no scenario files"), "{}", stderr(&o));
}

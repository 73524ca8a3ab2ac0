//! `tcpfsm check | dot | table` run as a user would: the real binary, the
//! real spec, broken copies of it, bad paths and bad arguments.

use std::path::PathBuf;
use std::process::Output;

mod common;
use common::{run_in, scratch, stderr, stdout, workspace_root};

fn real_spec_text() -> String {
    std::fs::read_to_string(workspace_root().join("tcp-fsm-spec/tcp.fsm")).unwrap()
}

/// Writes `text` as `tcp.fsm` in a scratch directory; returns its path.
fn write_spec(name: &str, text: &str) -> PathBuf {
    let path = scratch(name).join("tcp.fsm");
    std::fs::write(&path, text).unwrap();
    path
}

/// The 1-based line of tcp.fsm that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn assert_no_panic(o: &Output) {
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

#[test]
fn check_real_spec_from_the_workspace_root() {
    let o = run_in(&workspace_root(), &["check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("tcp.fsm: ok (11 states, 25 events, "),
        "{out}"
    );
    assert!(out.trim_end().ends_with(" cells)"));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn check_with_an_explicit_path() {
    let path = workspace_root().join("tcp-fsm-spec/tcp.fsm");
    let o = run_in(&std::env::temp_dir(), &["check", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("tcp.fsm: ok (11 states"));
}

#[test]
fn check_from_elsewhere_falls_back_to_the_compiled_in_spec() {
    let dir = scratch("elsewhere");
    let o = run_in(&dir, &["check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("tcp.fsm: ok (11 states"));
    assert!(
        stderr(&o).contains("compiled into this binary"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dot_of_the_real_spec_to_stdout_and_to_a_file() {
    let o = run_in(&workspace_root(), &["dot"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dot = stdout(&o);
    assert!(dot.starts_with("digraph \"Tcp\" {"));
    assert!(dot.contains("[label=\"SYN_SENT\""));
    assert!(dot.contains("Rx SYN+ACK [ack_acceptable] / Tx ACK"));
    assert!(!dot.contains("\"Established\" -> \"Established\""));

    let out = scratch("dot_file").join("tcp.dot");
    let o = run_in(
        &workspace_root(),
        &["dot", "-o", out.to_str().unwrap(), "--self-loops"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains("\"Established\" -> \"Established\""));
}

#[test]
fn table_of_the_real_spec() {
    let o = run_in(&workspace_root(), &["table"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.contains("| State | Event | Guards | Next | Actions | Row | RFC |"));
    assert!(md.contains("| SYN_SENT | segment.SynAck | ack_acceptable | ESTABLISHED |"));
}

#[test]
fn check_misspelt_state_names_the_file_and_line() {
    let text = real_spec_text();
    let row = "on segment.SynAck [ack_acceptable] / RecordSyn, AcceptAck, SendAck, SignalEstablished -> Established";
    assert_eq!(text.matches(row).count(), 1);
    let line = line_of(&text, row);
    let broken = text.replace(row, &row.replace("-> Established", "-> Establishd"));
    let path = write_spec("misspelt", &broken);
    let o = run_in(&workspace_root(), &["check", path.to_str().unwrap()]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("tcp.fsm:{line}:")),
        "no tcp.fsm:{line} in {err}"
    );
    assert!(
        err.contains("error[E0002]: unknown state `Establishd`"),
        "{err}"
    );
    assert!(err.contains("did you mean `Established`?"), "{err}");
    assert!(err.contains("^^^^^^^^^^"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn check_deleted_row_names_the_uncovered_pair() {
    let text = real_spec_text();
    // ESTABLISHED's SEND row: no `state *` row covers app.Send.
    let marker = "SEND in ESTABLISHED";
    let doc_line = line_of(&text, marker);
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i + 1 != doc_line && *i + 1 != doc_line + 1)
        .map(|(_, l)| l)
        .collect();
    assert!(text.lines().nth(doc_line).unwrap().contains("on app.Send"));
    let path = write_spec("deleted_row", &kept.join("\n"));
    let o = run_in(&workspace_root(), &["check", path.to_str().unwrap()]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("error[E0009]: (Established, app.Send) is not covered"),
        "{err}"
    );
    assert!(err.contains("state Established {"), "{err}");
}

#[test]
fn unreadable_path_is_one_line_and_nonzero() {
    let missing = scratch("missing").join("nope.fsm");
    for cmd in ["check", "dot", "table"] {
        let o = run_in(&workspace_root(), &[cmd, missing.to_str().unwrap()]);
        assert_no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("cannot read") && err.contains("nope.fsm"),
            "{err}"
        );
    }
    // A directory is not a spec either.
    let o = run_in(&workspace_root(), &["check", "tcp-fsm-spec"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1);
}

#[test]
fn unwritable_output_is_one_line_and_nonzero() {
    let out = scratch("unwritable").join("no/such/dir/tcp.dot");
    let o = run_in(&workspace_root(), &["dot", "-o", out.to_str().unwrap()]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot write"), "{err}");
}

#[test]
fn bad_arguments_are_one_line_and_nonzero() {
    for args in [
        &["frobnicate"][..],
        &["check", "--bogus"][..],
        &["check", "a.fsm", "b.fsm"][..],
    ] {
        let o = run_in(&workspace_root(), args);
        assert_no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("tcpfsm: "), "{err}");
    }
}

//! One fixture per validation rule (tests/fixtures/), each with an insta
//! snapshot of its rendered diagnostics (tests/snapshots/).

use std::path::PathBuf;
use tcp_fsm_spec::{load_spec, parse_spec, Diagnostics, LoadError};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Parses the fixture, which must be invalid, and checks every expected
/// code is among its diagnostics.
fn diagnostics_of(name: &str, codes: &[&str]) -> Diagnostics {
    let text = std::fs::read_to_string(fixture_path(name)).unwrap();
    let diags = match parse_spec(name, &text) {
        Ok(_) => panic!("{name} should not validate"),
        Err(d) => d,
    };
    for code in codes {
        assert!(
            diags.has_code(code),
            "{name}: no {code} in\n{}",
            diags.render()
        );
    }
    let unexpected: Vec<_> = diags
        .iter()
        .filter(|d| !codes.contains(&d.code))
        .map(|d| d.headline(name))
        .collect();
    assert!(unexpected.is_empty(), "{name}: unexpected {unexpected:#?}");
    diags
}

#[test]
fn valid_mini_fixture_validates() {
    let spec = load_spec(&fixture_path("valid_mini.fsm")).unwrap();
    assert_eq!(spec.source_name, "valid_mini.fsm");
    assert_eq!(spec.machine, "Mini");
    assert_eq!(spec.states.len(), 2);
    assert_eq!(spec.guards[0].doc, "the ACK is acceptable");
}

#[test]
fn e0001_syntax_errors() {
    let d = diagnostics_of("e0001_syntax.fsm", &["E0001"]);
    // Unterminated string (which swallows the `}` of `states`, so a second
    // error says the block is not closed), missing `,` between actions, `-`
    // for `->`, `#`, missing `]`: each reported, none hides the next.
    assert_eq!(d.len(), 6, "{}", d.render());
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0002_unknown_state_with_suggestion() {
    let d = diagnostics_of("e0002_unknown_state.fsm", &["E0002"]);
    assert_eq!(d.len(), 1);
    assert!(d.diagnostics[0].notes[0].contains("did you mean `Established`?"));
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0002_unknown_names_of_every_kind() {
    let d = diagnostics_of("e0002_unknown_names.fsm", &["E0002"]);
    assert_eq!(d.len(), 8, "{}", d.render());
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0003_duplicate_names_and_blocks() {
    let d = diagnostics_of("e0003_duplicates.fsm", &["E0003"]);
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0004_repeated_initial_and_missing_machine() {
    let d = diagnostics_of("e0004_initial.fsm", &["E0004"]);
    assert_eq!(d.len(), 2);
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0004_empty_file() {
    let d = diagnostics_of("e0004_empty.fsm", &["E0004"]);
    assert_eq!(d.len(), 2);
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0005_unreachable_states() {
    let d = diagnostics_of("e0005_unreachable.fsm", &["E0005"]);
    assert_eq!(d.len(), 2);
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0006_dead_rows() {
    let d = diagnostics_of("e0006_dead_row.fsm", &["E0006"]);
    // Unguarded then guarded; [a] then [a, b]; [a, !a]; [b] after [a], [!a].
    assert_eq!(d.len(), 4, "{}", d.render());
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0007_wrong_action_arguments() {
    let d = diagnostics_of("e0007_action_args.fsm", &["E0007"]);
    assert_eq!(d.len(), 5, "{}", d.render());
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0008_packet_action_outside_segment_rows() {
    let d = diagnostics_of("e0008_packet_action.fsm", &["E0008"]);
    assert_eq!(d.len(), 2, "{}", d.render());
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0010_actions_on_an_impossible_row() {
    let d = diagnostics_of("e0010_impossible_actions.fsm", &["E0010"]);
    assert_eq!(d.len(), 1, "{}", d.render());
    assert_eq!(d.iter().next().unwrap().span.line, 12);
    insta::assert_snapshot!(d.render());
}

#[test]
fn impossible_row_without_actions_is_valid() {
    let text = std::fs::read_to_string(fixture_path("e0010_impossible_actions.fsm"))
        .unwrap()
        .replace("/ SendAck, QueueText -> impossible", "-> impossible");
    let spec = tcp_fsm_spec::parse_spec("e0010.fsm", &text).unwrap();
    let row = spec
        .rows
        .iter()
        .find(|r| r.target == tcp_fsm_spec::Target::Impossible)
        .unwrap();
    assert!(row.actions.is_empty());
    assert_eq!(spec.row_text(row.id), "on segment.Text -> impossible");
    // An impossible row stays where it is and does nothing.
    let closed = spec.state_ids().next().unwrap();
    assert_eq!(spec.next_state(row, closed), closed);
}

#[test]
fn e0009_uncovered_pair() {
    let d = diagnostics_of("e0009_uncovered_pair.fsm", &["E0009"]);
    assert!(d.iter().any(|x| x
        .message
        .starts_with("(SynSent, segment.Fin) is not covered")));
    insta::assert_snapshot!(d.render());
}

#[test]
fn e0009_guard_outcome_gaps() {
    let d = diagnostics_of("e0009_guard_gap.fsm", &["E0009"]);
    assert!(d
        .iter()
        .any(|x| x.message
            == "(TimeWait, segment.Unacceptable) is not covered when fin_flag = false"));
    insta::assert_snapshot!(d.render());
}

#[test]
fn multiple_errors_are_all_reported_at_once() {
    let d = diagnostics_of(
        "multiple_errors.fsm",
        &["E0002", "E0006", "E0007", "E0008", "E0009"],
    );
    insta::assert_snapshot!(d.render());
}

#[test]
fn load_spec_reports_unreadable_paths() {
    let missing = fixture_path("does_not_exist.fsm");
    match load_spec(&missing) {
        Err(LoadError::Io { path, source }) => {
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected an Io error, got {other:?}"),
    }
}

#[test]
fn load_spec_keeps_the_full_path_and_names_the_file() {
    let path = fixture_path("e0002_unknown_state.fsm");
    let Err(LoadError::Invalid(d)) = load_spec(&path) else {
        panic!("expected diagnostics")
    };
    assert_eq!(d.source_name, "e0002_unknown_state.fsm");
    assert_eq!(d.path.as_deref(), Some(path.as_path()));
    let first = d.diagnostics[0].headline(&d.source_name);
    assert_eq!(
        first,
        "e0002_unknown_state.fsm:13:33: error[E0002]: unknown state `Establishd`"
    );
    assert!(d.render().contains(&path.display().to_string()));
}

//! The real spec (`tcp.fsm`): it parses, and its contents are what the
//! engines, the macro and the tools rely on.

use tcp_fsm_spec::*;

#[test]
fn real_spec_has_no_diagnostics() {
    if let Err(d) = parse_spec(SPEC_FILE_NAME, TCP_SPEC) {
        panic!("tcp.fsm has diagnostics:\n{}", d.render());
    }
}

#[test]
fn real_spec_matches_the_file_on_disk() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC_FILE_NAME);
    let loaded = load_spec(&path).unwrap();
    assert_eq!(loaded, real_spec());
}

#[test]
fn real_spec_has_the_eleven_rfc_states() {
    let spec = real_spec();
    let displays: Vec<&str> = spec.states.iter().map(|s| s.display.as_str()).collect();
    assert_eq!(
        displays,
        [
            "CLOSED",
            "LISTEN",
            "SYN_SENT",
            "SYN_RCVD",
            "ESTABLISHED",
            "FIN_WAIT_1",
            "FIN_WAIT_2",
            "CLOSE_WAIT",
            "CLOSING",
            "LAST_ACK",
            "TIME_WAIT"
        ]
    );
    assert_eq!(spec.machine, "Tcp");
    assert_eq!(spec.state(spec.initial).name, "Closed");
}

#[test]
fn real_spec_events_by_origin() {
    let spec = real_spec();
    let count = |o: Origin| spec.events.iter().filter(|e| e.origin == o).count();
    assert_eq!(count(Origin::App), 6);
    assert_eq!(count(Origin::Segment), 13);
    assert_eq!(count(Origin::Timer), 6);
}

#[test]
fn every_row_of_the_real_spec_has_an_rfc_reference() {
    let spec = real_spec();
    for row in &spec.rows {
        let rfc = row
            .rfc
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no RFC reference", spec.row_location(row.id)));
        assert!(rfc.starts_with("RFC "), "{rfc}");
        assert!(row.doc.contains(rfc));
    }
}

#[test]
fn every_pair_of_the_real_spec_has_rows() {
    let spec = real_spec();
    assert_eq!(spec.table.len(), spec.states.len() * spec.events.len());
    for s in spec.state_ids() {
        for e in spec.event_ids() {
            assert!(!spec.rows_for(s, e).is_empty());
        }
    }
}

#[test]
fn real_spec_cells_are_one_per_guard_outcome() {
    let spec = real_spec();
    let expected: usize = spec
        .state_ids()
        .flat_map(|s| spec.event_ids().map(move |e| (s, e)))
        .map(|(s, e)| 1usize << spec.pair_guards(s, e).len())
        .sum();
    let cells = spec.cells();
    assert_eq!(cells.len(), expected);
    assert!(cells.len() > spec.states.len() * spec.events.len());
    // Each cell's row applies to the pair, holds under the outcome, and is
    // the first applicable row that does.
    for c in &cells {
        let applicable = spec.rows_for(c.state, c.event);
        let holds = |r: &RowId| {
            spec.row(*r).guards.iter().all(|t| {
                let i = c.guards.iter().position(|g| *g == t.guard).unwrap();
                c.outcome[i] != t.negated
            })
        };
        assert_eq!(applicable.iter().find(|r| holds(r)), Some(&c.row));
    }
}

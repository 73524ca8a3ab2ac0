//! The generated `match` (`tcp_core::fsm`) against the spec model's run-time
//! interpreter (`Spec::lookup`), for every (state, event, guard outcome)
//! cell of the real spec.
//!
//! Generated enums follow declaration order, which is the IR's index order:
//! `State::ALL[i]` is `StateId(i)`, `Event::ALL[i]` is `EventId(i)`,
//! `ActionName::ALL[i]` is `ActionId(i)`, `ErrorKind::ALL[i]` is `ErrorId(i)`
//! and `GUARD_NAMES[i]` is `GuardId(i)`. Those correspondences are checked by
//! name first, so the cell comparison below cannot pass by a shared mistake.

use std::cell::RefCell;
use tcp_core::fsm::{
    self, process_app_event, process_event, process_segment_event, process_timer_event, Action,
    ActionArg, ActionName, AppEvent, ErrorKind, Event, GuardFn, Origin, SegmentEvent, State, Timer,
    GUARD_NAMES, ROWS,
};
use tcp_fsm_spec::{ActionRef, Cell, EventId, GuardId, RowId, Spec, StateId};

fn spec() -> Spec {
    tcp_fsm_spec::real_spec()
}

fn state_id(s: State) -> StateId {
    StateId(u16::try_from(s.index()).unwrap())
}

fn event_id(e: Event) -> EventId {
    EventId(u16::try_from(e.index()).unwrap())
}

/// A generated action as the IR's (action, argument) pair.
fn to_ir(action: Action) -> ActionRef {
    let arg = action.arg().map(|arg| match arg {
        ActionArg::Timer(t) => tcp_fsm_spec::ActionArg::Timer(event_id(Event::from(t))),
        ActionArg::Error(e) => {
            tcp_fsm_spec::ActionArg::Error(tcp_fsm_spec::ErrorId(u16::try_from(e.index()).unwrap()))
        }
    });
    ActionRef {
        action: tcp_fsm_spec::ActionId(u16::try_from(action.action_name().index()).unwrap()),
        arg,
    }
}

/// What a cell says a guard is: its outcome for the pair's guards, and
/// `others` for every guard the pair's rows do not mention.
fn guard_value(cell: &Cell, others: bool, guard: usize) -> bool {
    cell.guards
        .iter()
        .position(|g| g.index() == guard)
        .map_or(others, |i| cell.outcome[i])
}

#[test]
fn generated_enums_match_the_spec_declarations() {
    let spec = spec();
    assert_eq!(State::ALL.len(), spec.states.len());
    for (s, decl) in State::ALL.iter().zip(&spec.states) {
        assert_eq!(s.name(), decl.name);
        assert_eq!(s.display(), decl.display);
    }
    assert_eq!(State::INITIAL.index(), spec.initial.index());
    assert_eq!(Event::ALL.len(), spec.events.len());
    for (e, decl) in Event::ALL.iter().zip(&spec.events) {
        assert_eq!(e.name(), decl.name);
        assert_eq!(e.qualified(), decl.qualified());
        assert_eq!(e.label(), decl.label);
        assert_eq!(e.origin().as_str(), decl.origin.as_str());
    }
    assert_eq!(ActionName::ALL.len(), spec.actions.len());
    for (a, decl) in ActionName::ALL.iter().zip(&spec.actions) {
        assert_eq!(a.name(), decl.name);
        assert_eq!(a.label(), decl.label.as_deref());
        assert_eq!(a.is_packet(), decl.kind == tcp_fsm_spec::ActionKind::Packet);
    }
    assert_eq!(ErrorKind::ALL.len(), spec.errors.len());
    for (e, decl) in ErrorKind::ALL.iter().zip(&spec.errors) {
        assert_eq!(e.name(), decl.name);
    }
    let guard_names: Vec<&str> = spec.guards.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(GUARD_NAMES.as_slice(), guard_names.as_slice());
    let groups = [
        (Origin::App, AppEvent::ALL.map(Event::from).to_vec()),
        (Origin::Segment, SegmentEvent::ALL.map(Event::from).to_vec()),
        (Origin::Timer, Timer::ALL.map(Event::from).to_vec()),
    ];
    for (origin, members) in groups {
        let expected: Vec<Event> = Event::ALL
            .into_iter()
            .filter(|e| e.origin() == origin)
            .collect();
        assert_eq!(members, expected, "{origin}");
    }
}

#[test]
fn every_cell_matches_the_interpreter() {
    let spec = spec();
    let cells = spec.cells();
    assert!(!cells.is_empty());
    let mut compared = 0usize;
    for cell in &cells {
        let state = State::ALL[cell.state.index()];
        let event = Event::ALL[cell.event.index()];
        let expected = spec.lookup(cell.state, cell.event, |g: GuardId| {
            guard_value(cell, false, g.index())
        });
        assert_eq!(expected.row, cell.row);
        // Guards the pair's rows do not mention must not matter: try both.
        for others in [false, true] {
            let asked = RefCell::new(Vec::new());
            let guards = GuardFn(|g: usize| {
                asked.borrow_mut().push(g);
                guard_value(cell, others, g)
            });
            let got = process_event(state, event, &guards);
            let at = format!(
                "{} on {} with {:?}={:?} (others {others}): {}",
                state.name(),
                event.qualified(),
                cell.guards
                    .iter()
                    .map(|g| spec.guard(*g).name.as_str())
                    .collect::<Vec<_>>(),
                cell.outcome,
                spec.row_location(cell.row),
            );
            assert_eq!(
                got.next,
                State::ALL[expected.next.index()],
                "next state, {at}"
            );
            assert_eq!(RowId(got.row), expected.row, "row, {at}");
            let actions: Vec<ActionRef> = got.actions.iter().map(|&a| to_ir(a)).collect();
            assert_eq!(actions, expected.actions, "actions, {at}");
            let names: Vec<String> = got.actions.iter().map(ToString::to_string).collect();
            let expected_names: Vec<String> = expected
                .actions
                .iter()
                .map(|a| spec.action_ref_name(a))
                .collect();
            assert_eq!(names, expected_names, "action names, {at}");
            // Lazy: only guards that rows of the pair test are asked.
            for g in asked.borrow().iter() {
                assert!(
                    cell.guards.iter().any(|c| c.index() == *g),
                    "asked {} which no row of the pair tests, {at}",
                    GUARD_NAMES[*g]
                );
            }
        }
        compared += 1;
    }
    assert_eq!(compared, cells.len());
    println!("generated match agrees with the interpreter on {compared} cells");
}

#[test]
fn every_pair_and_guard_outcome_is_a_cell() {
    // cells() must enumerate every (state, event) pair, with 2^k outcomes
    // for a pair whose rows mention k guards.
    let spec = spec();
    let cells = spec.cells();
    let mut expected = 0usize;
    for s in State::ALL {
        for e in Event::ALL {
            let k = spec.pair_guards(state_id(s), event_id(e)).len();
            expected += 1 << k;
            assert!(cells
                .iter()
                .any(|c| c.state == state_id(s) && c.event == event_id(e)));
        }
    }
    assert_eq!(cells.len(), expected);
}

#[test]
fn typed_dispatch_agrees_with_process_event() {
    let spec = spec();
    let mut checked = 0usize;
    for cell in spec.cells() {
        let state = State::ALL[cell.state.index()];
        let event = Event::ALL[cell.event.index()];
        let guards = GuardFn(|g: usize| guard_value(&cell, false, g));
        let full = process_event(state, event, &guards);
        let local = match (event.as_app(), event.as_timer(), event.as_segment()) {
            (Some(app), None, None) => Some(process_app_event(state, app, &guards)),
            (None, Some(timer), None) => Some(process_timer_event(state, timer, &guards)),
            (None, None, Some(segment)) => {
                assert_eq!(process_segment_event(state, segment, &guards), full);
                None
            }
            other => panic!("{event} is in exactly one group, got {other:?}"),
        };
        if let Some(local) = local {
            assert_eq!(local.next, full.next);
            assert_eq!(local.row, full.row);
            let widened: Vec<Action> = local.actions.iter().map(|&a| Action::Local(a)).collect();
            assert_eq!(widened.as_slice(), full.actions, "{state} on {event}");
        }
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn rows_metadata_matches_the_ir() {
    let spec = spec();
    assert_eq!(ROWS.len(), spec.rows.len());
    for (info, row) in ROWS.iter().zip(&spec.rows) {
        assert_eq!(usize::from(info.index), row.id.index());
        assert_eq!(info.line, row.line);
        assert_eq!(info.state.map(State::index), row.state.map(StateId::index));
        assert_eq!(info.event.index(), row.event.index());
        assert_eq!(info.rfc, row.rfc.as_deref().unwrap_or(""));
        assert_eq!(info.doc, row.doc);
        assert_eq!(info.text, spec.row_text(row.id));
        assert_eq!(info.location(), spec.row_location(row.id));
        let actions: Vec<ActionRef> = info.actions.iter().map(|&a| to_ir(a)).collect();
        assert_eq!(actions, row.actions);
        let target = match row.target {
            tcp_fsm_spec::Target::State(s) => Some(s.index()),
            tcp_fsm_spec::Target::Stay | tcp_fsm_spec::Target::Impossible => None,
        };
        assert_eq!(info.target.map(State::index), target);
        assert_eq!(
            info.impossible,
            row.target == tcp_fsm_spec::Target::Impossible
        );
    }
}

#[test]
fn spec_constants_describe_the_real_spec() {
    assert_eq!(fsm::SPEC_NAME, "tcp.fsm");
    assert_eq!(fsm::SPEC_SOURCE, tcp_fsm_spec::TCP_SPEC);
    assert_eq!(fsm::MACHINE_NAME, spec().machine);
    assert_eq!(
        fsm::DOT,
        tcp_fsm_spec::to_dot(&spec(), &tcp_fsm_spec::DotOptions::default())
    );
}

#[test]
fn name_maps_agree_with_the_spec_lookups() {
    let spec = spec();
    for s in State::ALL {
        assert_eq!(State::from_name(s.name()), Some(s));
        assert_eq!(State::from_name(s.display()), Some(s));
        assert_eq!(spec.state_by_name(s.display()), Some(state_id(s)));
    }
    for e in Event::ALL {
        assert_eq!(Event::from_name(e.name()), Some(e));
        assert_eq!(Event::from_name(e.qualified()), Some(e));
        assert_eq!(spec.event_by_name(e.qualified()), Some(event_id(e)));
    }
    for a in ActionName::ALL {
        assert_eq!(ActionName::from_name(a.name()), Some(a));
    }
    assert_eq!(State::from_name("Establishd"), None);
    assert_eq!(fsm::STATES_BY_NAME.len(), 2 * State::ALL.len());
    assert_eq!(fsm::EVENTS_BY_NAME.len(), 2 * Event::ALL.len());
}

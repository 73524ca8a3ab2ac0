//! `tcp_fsm!` with a path relative to the invoking crate (this one), and the
//! run-time behaviour of the generated items on the small `Door` spec.

use std::cell::RefCell;

mod door {
    tcp_fsm_macros::tcp_fsm!("tests/fixtures/small.fsm");
}

use door::{
    process_app_event, process_event, process_segment_event, process_timer_event, run_actions,
    run_local_actions, Action, ActionArg, ActionHandler, ActionName, AppEvent, ErrorKind, Event,
    GuardFn, LocalAction, Origin, PacketAction, SegmentEvent, State, Timer,
};

const NO_GUARDS: [bool; 2] = [false, false];

#[test]
fn relative_path_resolves_against_the_invoking_crate() {
    assert_eq!(door::SPEC_NAME, "small.fsm");
    assert_eq!(
        door::SPEC_SOURCE,
        include_str!("fixtures/small.fsm"),
        "SPEC_SOURCE is the file the relative path names"
    );
}

#[test]
fn enums_follow_declaration_order() {
    assert_eq!(State::ALL, [State::Closed, State::Open, State::Locked]);
    assert_eq!(State::INITIAL, State::Closed);
    for (i, s) in State::ALL.iter().enumerate() {
        assert_eq!(s.index(), i);
    }
    assert_eq!(
        Event::ALL.map(Event::qualified),
        [
            "app.Push",
            "app.Pull",
            "app.Lock",
            "segment.Knock",
            "segment.Kick",
            "timer.Relock"
        ]
    );
    assert_eq!(Event::Kick.origin(), Origin::Segment);
    assert_eq!(Event::Kick.label(), "Rx kick");
    assert_eq!(Event::Push.label(), "push");
    assert_eq!(SegmentEvent::Kick.index(), 1);
    assert_eq!(Event::from(Timer::Relock), Event::Relock);
    assert_eq!(Event::Relock.as_timer(), Some(Timer::Relock));
    assert_eq!(Event::Relock.as_app(), None);
    assert_eq!(Event::Pull.as_app(), Some(AppEvent::Pull));
    assert_eq!(ErrorKind::ALL, [ErrorKind::Jammed, ErrorKind::AlreadyOpen]);
    assert_eq!(door::GUARD_NAMES, ["has_key", "friendly"]);
}

#[test]
fn names_and_display() {
    assert_eq!(State::Closed.name(), "Closed");
    assert_eq!(State::Closed.display(), "CLOSED");
    // No display name declared: the identifier.
    assert_eq!(State::Locked.display(), "Locked");
    assert_eq!(State::Open.to_string(), "OPEN");
    assert_eq!(Event::Knock.to_string(), "segment.Knock");
    assert_eq!(AppEvent::Lock.to_string(), "app.Lock");
    let start = LocalAction::StartTimer(Timer::Relock);
    assert_eq!(start.to_string(), "StartTimer(Relock)");
    assert_eq!(start.name(), "StartTimer");
    assert_eq!(start.arg(), Some(ActionArg::Timer(Timer::Relock)));
    assert_eq!(start.action_name(), ActionName::StartTimer);
    assert_eq!(
        Action::Local(LocalAction::Fail(ErrorKind::Jammed)).to_string(),
        "Fail(Jammed)"
    );
    assert_eq!(Action::Packet(PacketAction::Answer).label(), Some("answer"));
    assert!(Action::Packet(PacketAction::Answer).is_packet());
    assert_eq!(LocalAction::Fail(ErrorKind::Jammed).label(), None);
    assert!(ActionName::Answer.is_packet());
    assert!(!ActionName::Creak.is_packet());
}

#[test]
fn name_maps_find_every_spelling() {
    assert_eq!(State::from_name("Closed"), Some(State::Closed));
    assert_eq!(State::from_name("CLOSED"), Some(State::Closed));
    assert_eq!(State::from_name("Locked"), Some(State::Locked));
    assert_eq!(State::from_name("closed"), None);
    assert_eq!(door::STATES_BY_NAME.len(), 5);
    assert_eq!(Event::from_name("Kick"), Some(Event::Kick));
    assert_eq!(Event::from_name("segment.Kick"), Some(Event::Kick));
    assert_eq!(Event::from_name("app.Kick"), None);
    assert_eq!(door::EVENTS_BY_NAME.len(), 12);
    assert_eq!(
        ActionName::from_name("StartTimer"),
        Some(ActionName::StartTimer)
    );
    assert_eq!(ActionName::from_name("StartTimer(Relock)"), None);
    for a in ActionName::ALL {
        assert_eq!(ActionName::from_name(a.name()), Some(a));
    }
}

#[test]
fn closed_push_opens() {
    let step = process_event(State::Closed, Event::Push, &NO_GUARDS);
    assert_eq!(step.next, State::Open);
    assert_eq!(step.actions, &[Action::Local(LocalAction::Creak)]);
    let row = door::row_info(step.row).unwrap();
    assert_eq!(row.state, Some(State::Closed));
    assert_eq!(row.event, Event::Push);
    assert_eq!(row.doc, "Pushing a closed door opens it.");
    assert_eq!(row.location(), format!("small.fsm:{}", row.line));
    assert_eq!(row.text, "on app.Push / Creak -> Open");
}

#[test]
fn closed_lock_with_key_locks_and_arms_the_timer() {
    let step = process_app_event(State::Closed, AppEvent::Lock, &[true, false]);
    assert_eq!(step.next, State::Locked);
    assert_eq!(step.actions, &[LocalAction::StartTimer(Timer::Relock)]);
}

#[test]
fn closed_lock_without_key_fails_and_stays() {
    let step = process_app_event(State::Closed, AppEvent::Lock, &NO_GUARDS);
    assert_eq!(step.next, State::Closed);
    assert_eq!(step.actions, &[LocalAction::Fail(ErrorKind::Jammed)]);
}

#[test]
fn locked_push_without_key_takes_the_last_guarded_row() {
    // The pair's rows are [has_key] and [!has_key]: the last is emitted
    // without its test, which must still select it only when has_key fails.
    let step = process_app_event(State::Locked, AppEvent::Push, &NO_GUARDS);
    assert_eq!(step.next, State::Locked);
    assert_eq!(step.actions, &[LocalAction::Fail(ErrorKind::Jammed)]);
    let step = process_app_event(State::Locked, AppEvent::Push, &[true, false]);
    assert_eq!(step.next, State::Open);
}

#[test]
fn open_push_falls_back_to_state_star() {
    let step = process_event(State::Open, Event::Push, &[true, true]);
    assert_eq!(step.next, State::Open);
    assert!(step.actions.is_empty());
    assert_eq!(door::ROWS[usize::from(step.row)].state, None);
}

#[test]
fn locked_relock_timer_rearms() {
    let step = process_timer_event(State::Locked, Timer::Relock, &NO_GUARDS);
    assert_eq!(step.next, State::Locked);
    assert_eq!(step.actions, &[LocalAction::StartTimer(Timer::Relock)]);
    // `-> impossible` in OPEN: the state stays, nothing runs, and the row's
    // metadata says so.
    let step = process_timer_event(State::Open, Timer::Relock, &NO_GUARDS);
    assert_eq!(step.next, State::Open);
    assert!(step.actions.is_empty());
    let row = &door::ROWS[usize::from(step.row)];
    assert_eq!(row.state, Some(State::Open));
    assert!(row.impossible);
    assert_eq!(row.target, None);
    // The `state *` fallback still applies where no state row is impossible.
    let step = process_timer_event(State::Closed, Timer::Relock, &NO_GUARDS);
    assert_eq!(step.next, State::Closed);
    let row = &door::ROWS[usize::from(step.row)];
    assert_eq!(row.state, None);
    assert!(!row.impossible);
}

#[test]
fn every_state_kick_closes_with_an_answer() {
    for s in State::ALL {
        let step = process_segment_event(s, SegmentEvent::Kick, &NO_GUARDS);
        assert_eq!(step.next, State::Closed, "{s}");
        assert_eq!(step.actions, &[Action::Packet(PacketAction::Answer)]);
    }
}

#[test]
fn guards_are_evaluated_lazily_in_row_order() {
    let asked = RefCell::new(Vec::new());
    let guards = GuardFn(|i: usize| {
        asked.borrow_mut().push(door::GUARD_NAMES[i]);
        i == 1
    });
    let step = process_event(State::Closed, Event::Knock, &guards);
    assert_eq!(step.next, State::Open);
    assert_eq!(*asked.borrow(), ["friendly"]);
    asked.borrow_mut().clear();
    // Closed x Push has no guarded row: nothing is asked.
    process_event(State::Closed, Event::Push, &guards);
    assert!(asked.borrow().is_empty());
}

/// Records what it was asked to run, as text.
#[derive(Default)]
struct Recorder {
    log: Vec<String>,
}

impl ActionHandler for Recorder {
    type Segment = str;
    fn process_action(&mut self, action: LocalAction) {
        self.log.push(action.to_string());
    }
    fn process_packet_action(&mut self, action: PacketAction, segment: &str) {
        self.log.push(format!("{action} <{segment}>"));
    }
}

#[test]
fn run_actions_gives_packet_actions_the_segment() {
    let mut rec = Recorder::default();
    let step = process_segment_event(State::Closed, SegmentEvent::Knock, &[false, true]);
    run_actions(&mut rec, step.actions, "knock knock");
    assert_eq!(rec.log, ["Answer <knock knock>", "Creak"]);
}

#[test]
fn run_local_actions_runs_in_order() {
    let mut rec = Recorder::default();
    let step = process_app_event(State::Open, AppEvent::Lock, &NO_GUARDS);
    run_local_actions(&mut rec, step.actions);
    assert_eq!(rec.log, ["Fail(AlreadyOpen)"]);
}

#[test]
fn rows_are_in_source_order_with_lines() {
    let text = door::SPEC_SOURCE;
    for (i, row) in door::ROWS.iter().enumerate() {
        assert_eq!(usize::from(row.index), i);
        let line = text.lines().nth(row.line as usize - 1).unwrap();
        assert!(line.trim_start().starts_with("on "), "{line}");
        assert!(line.contains(row.event.qualified()), "{line}");
    }
    assert_eq!(door::row_info(u16::MAX), None);
}

#[test]
fn dot_names_every_state() {
    for s in State::ALL {
        assert!(door::DOT.contains(s.name()), "{}", door::DOT);
    }
}

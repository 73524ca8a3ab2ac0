//! A pair whose rows test more guards than the outcome tables take is left
//! to the generated `match`; the answer is the same either way: the first
//! row whose guards all hold. Checked on every outcome of the six guards,
//! with `run_row` running the row's actions in order.

mod probe {
    tcp_fsm_macros::tcp_fsm!("tests/fixtures/many_guards.fsm");
}

use probe::{process_event, run_row, Event, GuardSet, State};

/// What the rows of `Idle x segment.Probe` say, written out by hand:
/// (next state, actions as names).
fn expected_idle_probe(g: u32) -> (State, Vec<&'static str>) {
    let [a, b, c, d, e, f] = std::array::from_fn(|i| g & (1 << i) != 0);
    if a && b {
        (State::Done, vec!["Echo"])
    } else if c && !d {
        (State::Busy, vec!["Note"])
    } else if e {
        (State::Idle, vec!["Echo", "Note"])
    } else if f && !a {
        (State::Busy, vec![])
    } else {
        (State::Idle, vec!["Note", "Note"])
    }
}

mod common;
note_echo_log!(probe);

#[test]
fn idle_probe_with_six_guards_takes_the_first_matching_row_for_every_outcome() {
    for g in 0..64u32 {
        let step = process_event(State::Idle, Event::Probe, &GuardSet(g));
        let (next, actions) = expected_idle_probe(g);
        assert_eq!(step.next, next, "guards {g:06b}");
        let mut log = Log::default();
        run_row(&mut log, step.row, &());
        assert_eq!(log.0, actions, "guards {g:06b}");
        // The same answer from the plain bool array of guards.
        let bools: [bool; 6] = std::array::from_fn(|i| g & (1 << i) != 0);
        assert_eq!(process_event(State::Idle, Event::Probe, &bools), step);
    }
}

#[test]
fn busy_probe_with_one_guard_goes_through_the_tables() {
    for g in 0..64u32 {
        let step = process_event(State::Busy, Event::Probe, &GuardSet(g));
        let want = if g & 1 != 0 { State::Done } else { State::Busy };
        assert_eq!(step.next, want, "guards {g:06b}");
    }
    assert_eq!(
        process_event(State::Done, Event::Start, &GuardSet(0)).next,
        State::Idle
    );
}

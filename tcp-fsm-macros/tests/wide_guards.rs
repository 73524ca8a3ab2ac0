//! A spec with more than sixteen guards, one pair testing guards 16 and 17:
//! the generated slot hash then takes the multiplier from the cell's high
//! half and multiplies in 32 bits (the one-multiply form needs every guard
//! mask below 2^16). The answers must still be the first row whose guards
//! hold, whatever the other guards say; `Busy x segment.Probe` tests
//! fifteen guards and goes through the generated `match`.

mod wide {
    tcp_fsm_macros::tcp_fsm!("tests/fixtures/wide_guards.fsm");
}

use wide::{process_event, run_row, Event, GuardSet, State};

const GUARDS: usize = 18;

/// Bit `i` of a guard set: guard `i` of `a b c … r` (`a` = 0, `p` = 15,
/// `q` = 16, `r` = 17).
fn bit(g: u32, i: usize) -> bool {
    g & (1 << i) != 0
}

mod common;
note_echo_log!(wide);

/// Every outcome of the guards `tested`, each with the others set from a
/// fixed pattern (so that untested guards take both values).
fn outcomes(tested: &[usize]) -> Vec<u32> {
    (0..1u32 << tested.len())
        .flat_map(|o| {
            let set = tested
                .iter()
                .enumerate()
                .fold(0u32, |g, (b, &i)| g | u32::from(o & (1 << b) != 0) << i);
            let clear = tested.iter().fold(u32::MAX, |m, &i| m & !(1 << i));
            [set, set | (0x2_aaaa & clear), set | (0x1_5555 & clear)]
        })
        .collect()
}

fn check(state: State, g: u32, next: State, actions: &[&str]) {
    let step = process_event(state, Event::Probe, &GuardSet(g));
    assert_eq!(step.next, next, "{state:?}, guards {g:018b}");
    let mut log = Log::default();
    run_row(&mut log, step.row, &());
    assert_eq!(log.0, actions, "{state:?}, guards {g:018b}");
    let bools: [bool; GUARDS] = std::array::from_fn(|i| bit(g, i));
    assert_eq!(process_event(state, Event::Probe, &bools), step);
}

#[test]
fn idle_probe_testing_guards_sixteen_and_seventeen_takes_the_first_matching_row() {
    let (a, q, r) = (0, 16, 17);
    for g in outcomes(&[a, q, r]) {
        let (next, actions): (State, &[&str]) = if bit(g, q) && !bit(g, r) {
            (State::Busy, &["Echo"])
        } else if bit(g, r) {
            (State::Idle, &["Note"])
        } else if bit(g, a) {
            (State::Busy, &[])
        } else {
            (State::Idle, &[])
        };
        check(State::Idle, g, next, actions);
    }
}

#[test]
fn busy_probe_testing_fifteen_guards_takes_the_first_matching_row() {
    let p = 15;
    for g in outcomes(&[p, 1, 2, 6, 11]) {
        let (next, actions): (State, &[&str]) = if bit(g, p) {
            (State::Idle, &["Echo"])
        } else {
            (State::Busy, &[])
        };
        check(State::Busy, g, next, actions);
    }
    // Which of the `-> stay` rows answers: the first whose guards all hold.
    let all = |bits: &[usize]| bits.iter().fold(0u32, |g, &i| g | 1 << i);
    let row = |g: u32| process_event(State::Busy, Event::Probe, &GuardSet(g)).row;
    let (bf, gk, lo) = (
        all(&[1, 2, 3, 4, 5]),
        all(&[6, 7, 8, 9, 10]),
        all(&[11, 12, 13, 14]),
    );
    assert_eq!(row(bf | gk | lo), row(bf));
    assert_eq!(row(gk | lo), row(gk));
    assert_ne!(row(bf), row(gk));
    assert_ne!(row(gk), row(lo));
    assert_ne!(row(lo), row(0));
    assert_ne!(row(bf & !(1 << 3)), row(bf), "one guard of the row missing");
}

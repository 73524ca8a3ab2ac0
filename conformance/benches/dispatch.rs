//! FSM dispatch cost per event, on one fixed pseudo-random event mix
//! (mostly ESTABLISHED + Ack/Text, some handshake and teardown events):
//!
//! * `generated`: `tcp_core::fsm::process_event`, the cell and step tables
//!   the `tcp_fsm!` macro generates from tcp.fsm (the pair's guards asked
//!   once, as a bit set);
//! * `interpreter`: `tcp_fsm_spec::Spec::lookup` on the parsed spec;
//! * `array_2d`: a `[[u8; EVENTS]; STATES]` of next states built from the
//!   same table with every guard false (no guards, no actions: the floor);
//! * `array_2d_steps`: a `[[Step; EVENTS]; STATES]` of the steps (next
//!   state and actions) of the same table with every guard false: the same
//!   answer as `generated` without asking any guard;
//! * `per_state_match`: a hand-written `match state { .. => match event }`
//!   with `if` guards, the branching shape of the per-state engine.
//!
//! Each variant folds its answer into one accumulator with a single `^=`
//! (an `+=` of two fields lets LLVM split it into two dependent adds on the
//! accumulator, which then bounds the loop instead of the dispatch).
//!
//! Every input carries its guards' answers as a [`GuardSet`] (one bit per
//! guard), which every variant reads.
//!
//! Before measuring, every variant is checked against `process_event` on
//! the whole mix (and the match on every cell), so they compute the same.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tcp_core::fsm::{process_event, Event, GuardSet, State, Step, GUARD_NAMES};
use tcp_fsm_spec::{EventId, Spec, StateId};

use conformance::sim::rng::Xoshiro256StarStar;

mod common;

const STATES: usize = 11;
const EVENTS: usize = 25;
const GUARDS: usize = GUARD_NAMES.len();
const MIX_LEN: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct Input {
    state: State,
    event: Event,
    /// The guards' answers for this event, bit `i` for `GUARD_NAMES[i]`.
    guards: GuardSet,
}

/// Guard `i` of a set.
fn holds(g: GuardSet, i: usize) -> bool {
    g.0 & (1 << i) != 0
}

fn state_at(i: usize) -> State {
    State::ALL[i]
}

fn event_at(i: usize) -> Event {
    Event::ALL[i]
}

/// The mix: (weight, state, event), weights in per mille.
fn weights() -> Vec<(u32, State, Event)> {
    use Event as E;
    use State as S;
    vec![
        (450, S::Established, E::Ack),
        (300, S::Established, E::Text),
        (50, S::Established, E::Send),
        (50, S::Established, E::Receive),
        (20, S::Established, E::DelayedAck),
        (10, S::Established, E::Retransmission),
        (10, S::CloseWait, E::Ack),
        (10, S::FinWait2, E::Text),
        // Handshake.
        (10, S::Closed, E::ActiveOpen),
        (10, S::Listen, E::Syn),
        (10, S::SynSent, E::SynAck),
        (10, S::SynReceived, E::Ack),
        // Teardown.
        (10, S::Established, E::Close),
        (10, S::Established, E::Fin),
        (10, S::FinWait1, E::AckOfFin),
        (10, S::FinWait2, E::Fin),
        (10, S::CloseWait, E::Close),
        (10, S::LastAck, E::AckOfFin),
        (10, S::TimeWait, E::TimeWait),
        // Odd segments.
        (5, S::Established, E::Unacceptable),
        (5, S::Established, E::Rst),
    ]
}

fn mix() -> Vec<Input> {
    let table = weights();
    let total: u64 = table.iter().map(|w| u64::from(w.0)).sum();
    let mut rng = Xoshiro256StarStar::seed_from_u64(0xd15_9a7c);
    (0..MIX_LEN)
        .map(|_| {
            let mut pick = rng.below(total);
            let &(_, state, event) = table
                .iter()
                .find(|w| {
                    if pick < u64::from(w.0) {
                        true
                    } else {
                        pick -= u64::from(w.0);
                        false
                    }
                })
                .unwrap_or(&table[0]);
            let guards = GuardSet((0..GUARDS).fold(0, |bits, g| {
                let on = rng.next_f64() < guard_probability(GUARD_NAMES[g]);
                bits | u32::from(on) << g
            }));
            Input {
                state,
                event,
                guards,
            }
        })
        .collect()
}

/// How often each guard holds in the mix (a guard the mix does not know
/// holds half the time).
fn guard_probability(name: &str) -> f64 {
    match name {
        "ack_acceptable" => 0.97,
        "seq_exact" => 0.9,
        "in_window" => 0.95,
        "passive_open" => 0.5,
        "retries_exhausted" => 0.01,
        "syn_flag" | "fin_flag" => 0.02,
        // Configuration switches, on by default.
        "rfc5961_rst" | "rfc5961_syn" => 1.0,
        _ => 0.5,
    }
}

/// The 2-D array: next state for every pair, guards all false.
fn array_2d(spec: &Spec) -> [[u8; EVENTS]; STATES] {
    let mut table = [[0u8; EVENTS]; STATES];
    for (s, row) in table.iter_mut().enumerate() {
        for (e, cell) in row.iter_mut().enumerate() {
            let step = spec.lookup(StateId(s as u16), EventId(e as u16), |_| false);
            *cell = step.next.0 as u8;
        }
    }
    table
}

/// The 2-D array of steps: every pair's step with all guards false.
fn array_2d_steps() -> Vec<[Step; EVENTS]> {
    (0..STATES)
        .map(|s| std::array::from_fn(|e| process_event(state_at(s), event_at(e), &GuardSet(0))))
        .collect()
}

/// Where each guard the hand-written match reads sits in the guard array
/// (`None`: the spec has no such guard; RFC 5961 switches then count as on).
#[derive(Clone, Copy, Debug)]
struct GuardIx {
    ack_acceptable: usize,
    seq_exact: usize,
    in_window: usize,
    passive_open: usize,
    retries_exhausted: usize,
    rfc5961_rst: Option<usize>,
    rfc5961_syn: Option<usize>,
}

impl GuardIx {
    fn new() -> GuardIx {
        let find = |name: &str| GUARD_NAMES.iter().position(|g| *g == name);
        let need = |name: &str| find(name).unwrap_or_else(|| panic!("tcp.fsm has no guard {name}"));
        GuardIx {
            ack_acceptable: need("ack_acceptable"),
            seq_exact: need("seq_exact"),
            in_window: need("in_window"),
            passive_open: need("passive_open"),
            retries_exhausted: need("retries_exhausted"),
            rfc5961_rst: find("rfc5961_rst"),
            rfc5961_syn: find("rfc5961_syn"),
        }
    }
}

/// The per-state engine's branching, by hand: one arm per state, the events
/// that leave it, `if` guards in the spec's row order (read from the guard
/// array only when an arm needs them); everything else stays.
fn per_state_match(state: State, event: Event, guards: GuardSet, ix: GuardIx) -> State {
    use Event as E;
    use State as S;
    let g = |i: usize| holds(guards, i);
    let on = |i: Option<usize>| i.is_none_or(g);
    // Rows of `state *` that leave a state: RFC 9293 §3.10.8 timeouts, RST
    // (RFC 5961 §3.2 or RFC 9293 §3.10.7.4) and SYN (RFC 5961 §4.2) in a
    // synchronized state.
    let common = |state: State| -> State {
        match event {
            E::Retransmission | E::Keepalive if g(ix.retries_exhausted) => S::Closed,
            E::User => S::Closed,
            E::Rst if g(ix.seq_exact) => S::Closed,
            E::Rst if g(ix.in_window) && !on(ix.rfc5961_rst) => S::Closed,
            E::Syn if !on(ix.rfc5961_syn) => S::Closed,
            _ => state,
        }
    };
    match state {
        S::Closed => match event {
            E::PassiveOpen => S::Listen,
            E::ActiveOpen => S::SynSent,
            _ => S::Closed,
        },
        S::Listen => match event {
            E::Close | E::Abort => S::Closed,
            E::Syn => S::SynReceived,
            E::Rst | E::RstAck | E::Ack | E::SynAck | E::Bare => S::Listen,
            _ => common(S::Listen),
        },
        S::SynSent => match event {
            E::Close | E::Abort => S::Closed,
            E::SynAck if g(ix.ack_acceptable) => S::Established,
            E::Syn => S::SynReceived,
            E::RstAck if g(ix.ack_acceptable) => S::Closed,
            E::SynAck | E::RstAck | E::Ack | E::Rst | E::Bare => S::SynSent,
            _ => common(S::SynSent),
        },
        S::SynReceived => match event {
            E::Close => S::FinWait1,
            E::Abort => S::Closed,
            E::Rst if g(ix.seq_exact) || (g(ix.in_window) && !on(ix.rfc5961_rst)) => {
                if g(ix.passive_open) {
                    S::Listen
                } else {
                    S::Closed
                }
            }
            E::Rst => S::SynReceived,
            E::Syn if g(ix.passive_open) => S::Listen,
            E::Syn if on(ix.rfc5961_syn) => S::SynReceived,
            E::Ack if g(ix.ack_acceptable) => S::Established,
            E::Fin => S::CloseWait,
            _ => common(S::SynReceived),
        },
        S::Established => match event {
            E::Ack | E::Text | E::Send | E::Receive => S::Established,
            E::Close => S::FinWait1,
            E::Abort => S::Closed,
            E::Fin => S::CloseWait,
            _ => common(S::Established),
        },
        S::FinWait1 => match event {
            E::Abort => S::Closed,
            E::AckOfFin => S::FinWait2,
            E::Fin => S::Closing,
            _ => common(S::FinWait1),
        },
        S::FinWait2 => match event {
            E::Abort => S::Closed,
            E::Fin => S::TimeWait,
            _ => common(S::FinWait2),
        },
        S::CloseWait => match event {
            E::Close => S::LastAck,
            E::Abort => S::Closed,
            _ => common(S::CloseWait),
        },
        S::Closing => match event {
            E::Abort => S::Closed,
            E::AckOfFin => S::TimeWait,
            _ => common(S::Closing),
        },
        S::LastAck => match event {
            E::Abort | E::AckOfFin => S::Closed,
            _ => common(S::LastAck),
        },
        S::TimeWait => match event {
            E::Abort | E::TimeWait => S::Closed,
            // RFC 1337: RST in TIME-WAIT is ignored.
            E::Rst => S::TimeWait,
            _ => common(S::TimeWait),
        },
    }
}

/// Every variant must agree with the generated code before it is timed.
fn check(spec: &Spec, table: &[[u8; EVENTS]; STATES], inputs: &[Input], ix: GuardIx) {
    for (s, row) in table.iter().enumerate() {
        for (e, &cell) in row.iter().enumerate() {
            for bits in 0..(1u32 << GUARDS) {
                let g = GuardSet(bits);
                let want = process_event(state_at(s), event_at(e), &g).next;
                let got = per_state_match(state_at(s), event_at(e), g, ix);
                assert_eq!(got, want, "per-state match, {s} × {e}, guards {g:?}");
                let interp = spec.lookup(StateId(s as u16), EventId(e as u16), |id| {
                    holds(g, id.index())
                });
                assert_eq!(interp.next.index(), want as usize, "interpreter {s} × {e}");
                assert_eq!(
                    usize::from(interp.row.0),
                    usize::from(process_event(state_at(s), event_at(e), &g).row)
                );
            }
            let none = process_event(state_at(s), event_at(e), &GuardSet(0)).next;
            assert_eq!(usize::from(cell), none as usize, "2-D array {s} × {e}");
        }
    }
    // The mix only uses pairs whose answers were checked above; make sure
    // it is the mix we mean (mostly ESTABLISHED).
    let established = inputs
        .iter()
        .filter(|i| i.state == State::Established)
        .count();
    assert!(
        established * 10 > inputs.len() * 8,
        "{established} of {}",
        inputs.len()
    );
}

fn dispatch(c: &mut Criterion) {
    let spec = tcp_fsm_spec::real_spec();
    assert_eq!(spec.states.len(), STATES);
    assert_eq!(spec.events.len(), EVENTS);
    assert_eq!(spec.guards.len(), GUARDS);
    let table = array_2d(&spec);
    let inputs = mix();
    let ix = GuardIx::new();
    check(&spec, &table, &inputs, ix);

    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("generated", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for i in &inputs {
                let i = black_box(i);
                let step = process_event(i.state, i.event, &i.guards);
                acc ^= step.next as usize + step.actions.len();
            }
            acc
        })
    });
    group.bench_function("interpreter", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for i in &inputs {
                let i = black_box(i);
                let step = spec.lookup(StateId(i.state as u16), EventId(i.event as u16), |g| {
                    holds(i.guards, g.index())
                });
                acc ^= step.next.index() + step.actions.len();
            }
            acc
        })
    });
    group.bench_function("array_2d", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for i in &inputs {
                let i = black_box(i);
                acc ^= usize::from(table[i.state as usize][i.event as usize]);
            }
            acc
        })
    });
    let steps = array_2d_steps();
    group.bench_function("array_2d_steps", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for i in &inputs {
                let i = black_box(i);
                let step = &steps[i.state as usize][i.event as usize];
                acc ^= step.next as usize + step.actions.len();
            }
            acc
        })
    });
    group.bench_function("per_state_match", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for i in &inputs {
                let i = black_box(i);
                acc ^= per_state_match(i.state, i.event, i.guards, ix) as usize;
            }
            acc
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config(Duration::from_secs(3));
    targets = dispatch
}
criterion_main!(benches);

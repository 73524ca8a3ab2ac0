//! proptest strategies for adversarial input to the engines: segments with
//! arbitrary flag combinations and sequence/acknowledgment numbers clustered
//! at window edges (left edge, right edge, just outside, far away, wrapped),
//! user calls at any time, and timers firing at any time.

use proptest::prelude::*;

use crate::lockstep::{establish, Input, SeqPick};

/// Numbers near the interesting edges.
pub fn seq_pick() -> impl Strategy<Value = SeqPick> {
    prop_oneof![
        4 => (-3i32..=3).prop_map(SeqPick::Left),
        3 => (-3i32..=3).prop_map(SeqPick::Right),
        1 => (-600i32..600).prop_map(SeqPick::Left),
        1 => Just(SeqPick::Far),
        1 => prop_oneof![Just(0u32), Just(u32::MAX), Just(0x8000_0000), any::<u32>()].prop_map(SeqPick::Raw),
    ]
}

/// Control-bit combinations, biased towards the ones TCP cares about.
pub fn flags() -> impl Strategy<Value = u8> {
    const ACK: u8 = 0x10;
    prop_oneof![
        3 => Just(ACK),
        2 => Just(ACK | 0x08),        // PSH,ACK
        2 => Just(ACK | 0x01),        // FIN,ACK
        1 => Just(0x02),              // SYN
        1 => Just(0x02 | ACK),        // SYN,ACK
        1 => Just(0x04),              // RST
        1 => Just(0x04 | ACK),        // RST,ACK
        1 => Just(0x01),              // FIN
        1 => Just(0x02 | 0x01),       // SYN,FIN
        1 => any::<u8>(),
    ]
}

/// One adversarial input.
pub fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        12 => (flags(), seq_pick(), seq_pick(), prop_oneof![Just(0u16), Just(1), Just(536), Just(4096), any::<u16>()],
               prop_oneof![3 => Just(0u16), 1 => 1u16..8, 1 => 500u16..600], any::<bool>())
            .prop_map(|(flags, seq, ack, window, len, options)| Input::Segment { flags, seq, ack, window, len, options }),
        2 => (1usize..3000).prop_map(Input::Send),
        2 => (1usize..5000).prop_map(Input::Recv),
        1 => Just(Input::Close),
        1 => Just(Input::Abort),
        1 => any::<bool>().prop_map(Input::Open),
        2 => prop_oneof![Just(1u32), Just(40), Just(200), Just(1000), Just(3000)].prop_map(Input::Wait),
        2 => Just(Input::NextTimer),
    ]
}

/// A run: a prefix that reaches CLOSED, LISTEN, SYN-SENT or ESTABLISHED,
/// then up to `max` adversarial inputs.
pub fn run(max: usize) -> impl Strategy<Value = Vec<Input>> {
    let prefix = prop_oneof![
        1 => Just(Vec::new()),
        1 => Just(vec![Input::Open(false)]),
        1 => Just(vec![Input::Open(true)]),
        3 => Just(establish(true)),
        3 => Just(establish(false)),
    ];
    (prefix, prop::collection::vec(input(), 1..max)).prop_map(|(mut p, rest)| {
        p.extend(rest);
        p
    })
}

//! Generators and an independent reference checksum shared by the wire
//! tests (`wire_roundtrip.rs`, `wire_oracle.rs` include this file with
//! `#[path]`). Built on its own it is an empty test crate.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use tcp_core::seq::SeqNum;
use tcp_core::wire::{
    Flags, PseudoHeader, SackBlocks, TcpHeader, TcpOptions, Timestamps, MAX_OPTIONS_LEN,
};

/// Sequence numbers, biased towards both ends of the 32-bit space.
pub fn seq() -> impl Strategy<Value = SeqNum> {
    prop_oneof![any::<u32>(), (u32::MAX - 1024)..=u32::MAX, 0u32..1024,].prop_map(SeqNum)
}

/// Options that fit in a header: SACK blocks are dropped once they would
/// push the options past 40 bytes.
pub fn options() -> impl Strategy<Value = TcpOptions> {
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(0u8..=14),
        any::<bool>(),
        proptest::collection::vec((seq(), seq()), 0..=4),
        proptest::option::of(any::<(u32, u32)>()),
    )
        .prop_map(|(mss, window_scale, sack_permitted, blocks, ts)| {
            let mut o = TcpOptions {
                mss,
                window_scale,
                sack_permitted,
                sack_blocks: SackBlocks::new(),
                timestamps: ts.map(|(tsval, tsecr)| Timestamps { tsval, tsecr }),
            };
            for (left, right) in blocks {
                let mut more = o;
                more.sack_blocks.push(left, right);
                if more.encoded_len() <= MAX_OPTIONS_LEN {
                    o = more;
                }
            }
            o
        })
}

pub fn header() -> impl Strategy<Value = TcpHeader> {
    (
        any::<u16>(),
        any::<u16>(),
        seq(),
        seq(),
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        options(),
    )
        .prop_map(
            |(src_port, dst_port, seq, ack, flags, window, urgent, options)| TcpHeader {
                src_port,
                dst_port,
                seq,
                ack,
                flags: Flags(flags),
                window,
                urgent,
                options,
            },
        )
}

pub fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 0..1600),
    ]
}

pub fn v4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

pub fn v6() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

pub fn pseudo_header() -> impl Strategy<Value = PseudoHeader> {
    prop_oneof![
        (v4(), v4()).prop_map(|(s, d)| PseudoHeader::v4(s, d)),
        (v6(), v6()).prop_map(|(s, d)| PseudoHeader::v6(s, d)),
    ]
}

/// A pair of socket addresses of one IP version.
pub fn socket_pair() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
    prop_oneof![
        (v4(), any::<u16>(), v4(), any::<u16>())
            .prop_map(|(s, sp, d, dp)| (SocketAddr::from((s, sp)), SocketAddr::from((d, dp)))),
        (v6(), any::<u16>(), v6(), any::<u16>())
            .prop_map(|(s, sp, d, dp)| (SocketAddr::from((s, sp)), SocketAddr::from((d, dp)))),
    ]
}

/// The pseudo-header as bytes, written out from RFC 9293 §3.1 and
/// RFC 8200 §8.1 directly.
pub fn pseudo_header_bytes(ph: &PseudoHeader, tcp_len: usize) -> Vec<u8> {
    let mut v = Vec::new();
    match ph {
        PseudoHeader::V4 { src, dst } => {
            v.extend_from_slice(src);
            v.extend_from_slice(dst);
            v.push(0);
            v.push(6);
            v.extend_from_slice(&(tcp_len as u16).to_be_bytes());
        }
        PseudoHeader::V6 { src, dst } => {
            v.extend_from_slice(src);
            v.extend_from_slice(dst);
            v.extend_from_slice(&(tcp_len as u32).to_be_bytes());
            v.extend_from_slice(&[0, 0, 0, 6]);
        }
    }
    v
}

/// The plain RFC 1071 sum: big-endian 16-bit words, one at a time, the
/// last odd byte padded with a zero, carries folded at the end.
pub fn reference_sum(data: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    for pair in data.chunks(2) {
        let hi = u64::from(pair[0]);
        let lo = u64::from(*pair.get(1).unwrap_or(&0));
        sum += (hi << 8) | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The TCP checksum the slow, obvious way: concatenate pseudo-header and
/// segment with the checksum field zeroed, sum, complement.
pub fn reference_checksum(ph: &PseudoHeader, segment: &[u8]) -> u16 {
    let mut all = pseudo_header_bytes(ph, segment.len());
    let start = all.len();
    all.extend_from_slice(segment);
    if segment.len() >= 18 {
        all[start + 16] = 0;
        all[start + 17] = 0;
    }
    !reference_sum(&all)
}

//! Malformed input, typed errors, known answers, and fuzzing of the wire
//! parsers with arbitrary bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use tcp_core::seq::SeqNum;
use tcp_core::wire::ip::{emit_ip_header, emit_ip_tcp, parse_ip_packet, parse_ip_tcp};
use tcp_core::wire::{
    emit_segment, emit_segment_parts, parse_segment, tcp_checksum, verify_checksum, Checksum,
    Flags, PseudoHeader, SackBlocks, TcpHeader, TcpOptions, Timestamps, WireError,
};

/// A 20-byte header followed by `options` (padded with EOL to a word
/// boundary), data offset set to match.
fn with_options(options: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 20];
    v[0..2].copy_from_slice(&1234u16.to_be_bytes());
    v[2..4].copy_from_slice(&80u16.to_be_bytes());
    v[13] = Flags::ACK.0;
    v.extend_from_slice(options);
    while v.len() & 3 != 0 {
        v.push(0);
    }
    v[12] = ((v.len() / 4) as u8) << 4;
    v
}

fn options_of(options: &[u8]) -> Result<TcpOptions, WireError> {
    parse_segment(&with_options(options)).map(|s| s.header.options)
}

fn ph4() -> PseudoHeader {
    PseudoHeader::v4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
}

// ---- TCP header -----------------------------------------------------------

#[test]
fn parse_segment_shorter_than_20_bytes_is_truncated() {
    for len in 0..20 {
        assert_eq!(
            parse_segment(&vec![0x50; len]),
            Err(WireError::Truncated {
                needed: 20,
                available: len
            })
        );
    }
}

#[test]
fn parse_segment_data_offset_below_five_is_rejected() {
    for offset in 0..5u8 {
        let mut b = with_options(&[]);
        b[12] = offset << 4;
        assert_eq!(
            parse_segment(&b),
            Err(WireError::BadDataOffset {
                data_offset: offset,
                segment_len: 20
            })
        );
    }
}

#[test]
fn parse_segment_data_offset_past_the_end_is_rejected() {
    let mut b = with_options(&[1, 1, 1, 1]); // 24 bytes
    b[12] = 7 << 4; // claims 28
    assert_eq!(
        parse_segment(&b),
        Err(WireError::BadDataOffset {
            data_offset: 7,
            segment_len: 24
        })
    );
}

#[test]
fn reserved_bits_are_ignored() {
    let mut b = with_options(&[]);
    b[12] |= 0x0f; // the four reserved bits (RFC 9293 §3.1)
    let seg = parse_segment(&b).unwrap();
    assert_eq!(seg.header.flags, Flags::ACK);
    assert!(seg.payload.is_empty());
}

// ---- TCP options ------------------------------------------------------------

#[test]
fn option_length_below_two_is_rejected() {
    for kind in [2u8, 3, 4, 5, 8, 30, 200] {
        for len in [0u8, 1] {
            assert_eq!(
                options_of(&[kind, len, 0, 0]),
                Err(WireError::BadOptionLength { kind, len }),
                "kind {kind} len {len}"
            );
        }
    }
}

#[test]
fn option_without_length_byte_runs_past_header() {
    // MSS kind as the very last option byte: its length octet is missing.
    let b = with_options(&[1, 1, 1, 2]);
    assert_eq!(
        parse_segment(&b),
        Err(WireError::OptionPastHeader {
            kind: 2,
            offset: 23
        })
    );
}

#[test]
fn option_longer_than_header_runs_past_header() {
    // An unknown option claiming 12 bytes in a 4-byte option area.
    assert_eq!(
        options_of(&[99, 12, 0, 0]),
        Err(WireError::OptionPastHeader {
            kind: 99,
            offset: 20
        })
    );
    // Timestamps claiming 10 bytes with 8 left.
    assert_eq!(
        options_of(&[8, 10, 0, 0, 0, 0, 0, 0]),
        Err(WireError::OptionPastHeader {
            kind: 8,
            offset: 20
        })
    );
}

#[test]
fn mss_with_length_other_than_four_is_rejected() {
    for len in [2u8, 3, 5, 6] {
        assert_eq!(
            options_of(&[2, len, 0, 0, 0, 0, 0, 0]),
            Err(WireError::BadOptionLength { kind: 2, len })
        );
    }
}

#[test]
fn window_scale_with_length_other_than_three_is_rejected() {
    for len in [2u8, 4] {
        assert_eq!(
            options_of(&[3, len, 7, 0]),
            Err(WireError::BadOptionLength { kind: 3, len })
        );
    }
}

#[test]
fn sack_permitted_with_length_other_than_two_is_rejected() {
    assert_eq!(
        options_of(&[4, 3, 0, 0]),
        Err(WireError::BadOptionLength { kind: 4, len: 3 })
    );
    assert_eq!(
        options_of(&[4, 4, 0, 0]),
        Err(WireError::BadOptionLength { kind: 4, len: 4 })
    );
}

#[test]
fn sack_length_not_two_plus_eight_n_is_rejected() {
    // n = 0, and lengths between the valid 10, 18, 26, 34.
    for len in [2u8, 3, 9, 11, 17, 25, 33] {
        let mut o = vec![5, len];
        o.resize(36, 0);
        assert_eq!(
            options_of(&o),
            Err(WireError::BadOptionLength { kind: 5, len }),
            "len {len}"
        );
    }
    // n = 5 (42 bytes) cannot fit in 40 bytes of options.
    let mut o = vec![5, 42];
    o.resize(40, 0);
    assert_eq!(
        options_of(&o),
        Err(WireError::OptionPastHeader {
            kind: 5,
            offset: 20
        })
    );
}

#[test]
fn sack_with_one_to_four_blocks_is_accepted() {
    for n in 1..=4u32 {
        let mut o = vec![5, (2 + 8 * n) as u8];
        for k in 0..n {
            o.extend_from_slice(&(u32::MAX - k).to_be_bytes());
            o.extend_from_slice(&k.to_be_bytes());
        }
        let parsed = options_of(&o).unwrap();
        let expected: Vec<_> = (0..n).map(|k| (SeqNum(u32::MAX - k), SeqNum(k))).collect();
        assert_eq!(parsed.sack_blocks.as_slice(), &expected[..]);
    }
}

#[test]
fn timestamps_with_length_other_than_ten_is_rejected() {
    for len in [8u8, 9, 11, 12] {
        let mut o = vec![8, len];
        o.resize(12, 0);
        assert_eq!(
            options_of(&o),
            Err(WireError::BadOptionLength { kind: 8, len })
        );
    }
}

#[test]
fn unknown_options_are_skipped_by_their_length() {
    // MPTCP-like kind 30 (len 6), experimental 254 (len 2), then MSS.
    let o = options_of(&[30, 6, 1, 2, 3, 4, 254, 2, 2, 4, 0x05, 0xb4]).unwrap();
    assert_eq!(
        o,
        TcpOptions {
            mss: Some(1460),
            ..TcpOptions::default()
        }
    );
}

#[test]
fn end_of_option_list_stops_parsing() {
    // Garbage after EOL (a bad length) is padding, not an error.
    let o = options_of(&[2, 4, 0, 100, 0, 99, 1, 0]).unwrap();
    assert_eq!(o.mss, Some(100));
    assert!(!o.sack_permitted);
}

#[test]
fn nops_are_accepted_anywhere() {
    let o = options_of(&[1, 3, 3, 2, 1, 1, 4, 2, 1]).unwrap();
    assert_eq!(o.window_scale, Some(2));
    assert!(o.sack_permitted);
}

#[test]
fn window_scale_above_14_is_clamped_to_14() {
    // RFC 7323 §2.3.
    for shift in [15u8, 16, 100, 255] {
        assert_eq!(options_of(&[3, 3, shift]).unwrap().window_scale, Some(14));
    }
    assert_eq!(options_of(&[3, 3, 14]).unwrap().window_scale, Some(14));
    assert_eq!(options_of(&[3, 3, 0]).unwrap().window_scale, Some(0));
}

// ---- emitting ---------------------------------------------------------------

#[test]
fn emit_rejects_options_longer_than_40_bytes() {
    let h = TcpHeader {
        options: TcpOptions {
            sack_blocks: SackBlocks::from_slice(&[(SeqNum(1), SeqNum(2)); 4]).unwrap(),
            timestamps: Some(Timestamps::default()),
            ..TcpOptions::default()
        },
        ..TcpHeader::default()
    };
    let mut out = [0u8; 100];
    assert_eq!(
        emit_segment(&h, &[], &ph4(), &mut out),
        Err(WireError::OptionsTooLong { len: 48 })
    );
}

#[test]
fn emit_rejects_a_buffer_too_small_and_writes_nothing() {
    let h = TcpHeader {
        options: TcpOptions {
            mss: Some(536),
            ..TcpOptions::default()
        },
        ..TcpHeader::default()
    };
    let mut out = [0xeeu8; 30];
    assert_eq!(
        emit_segment(&h, b"1234567", &ph4(), &mut out),
        Err(WireError::BufferTooSmall {
            needed: 31,
            available: 30
        })
    );
    assert!(out.iter().all(|&b| b == 0xee));
    assert_eq!(emit_segment(&h, b"123456", &ph4(), &mut out), Ok(30));
}

#[test]
fn emit_rejects_segment_longer_than_65535() {
    let data = vec![0u8; 65535 - 20 + 1];
    let mut out = vec![0u8; 70000];
    assert_eq!(
        emit_segment_parts(
            &TcpHeader::default(),
            (&data[..10], &data[10..]),
            &ph4(),
            &mut out
        ),
        Err(WireError::TooLong {
            len: 65536,
            max: 65535
        })
    );
    // The IPv4 total length also counts the 20-byte IP header.
    let src: SocketAddr = "10.0.0.1:1".parse().unwrap();
    let dst: SocketAddr = "10.0.0.2:2".parse().unwrap();
    assert_eq!(
        emit_ip_tcp(src, dst, &TcpHeader::default(), &data[..65515], &mut out),
        Err(WireError::TooLong {
            len: 65535,
            max: 65515
        })
    );
    assert_eq!(
        emit_ip_tcp(src, dst, &TcpHeader::default(), &data[..65495], &mut out),
        Ok(65535)
    );
}

// ---- checksums: known answers -------------------------------------------------

/// A SYN from 10.0.0.1:12345 to 10.0.0.2:80, seq 1, window 29200, no
/// options, checksum worked out by hand (RFC 9293 §3.1, RFC 1071):
///
/// pseudo-header words: 0a00 0001 0a00 0002 0006 0014        sum 141d
/// header words: 3039 0050 0000 0001 0000 0000 5002 7210 0000 0000
///                                                           sum f29c
/// 141d + f29c = 1_06b9 -> 06b9 + 1 = 06ba; checksum = !06ba = f945.
///
/// With one data byte 'a' (0x61, padded to the word 6100) the TCP length
/// is 0x15: 141e + f29c + 6100 = 1_67ba -> 67bb; checksum = 9844.
#[test]
fn known_answer_ipv4_syn_checksum() {
    let h = TcpHeader {
        src_port: 12345,
        dst_port: 80,
        seq: SeqNum(1),
        ack: SeqNum(0),
        flags: Flags::SYN,
        window: 29200,
        urgent: 0,
        options: TcpOptions::default(),
    };
    let mut out = [0u8; 21];
    assert_eq!(emit_segment(&h, &[], &ph4(), &mut out), Ok(20));
    assert_eq!(out[16..18], [0xf9, 0x45]);
    assert_eq!(tcp_checksum(&ph4(), &out[..20]), 0xf945);
    assert_eq!(emit_segment(&h, b"a", &ph4(), &mut out), Ok(21));
    assert_eq!(out[16..18], [0x98, 0x44]);
    assert!(verify_checksum(&ph4(), &out));
}

#[test]
fn known_answer_rfc1071_example_through_public_api() {
    // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2.
    let mut c = Checksum::new();
    c.add_bytes(&[0x00, 0x01, 0xf2]);
    c.add_bytes(&[0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    assert_eq!(c.sum(), 0xddf2);
    assert_eq!(c.finish(), 0x220d);
}

#[test]
fn verify_rejects_short_segments_and_wrong_addresses() {
    assert!(!verify_checksum(&ph4(), &[0u8; 19]));
    let mut out = [0u8; 20];
    emit_segment(&TcpHeader::default(), &[], &ph4(), &mut out).unwrap();
    assert!(verify_checksum(&ph4(), &out));
    let other = PseudoHeader::v4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 3));
    assert!(!verify_checksum(&other, &out));
}

// ---- IP ---------------------------------------------------------------------------

fn ipv4_packet(payload_len: usize) -> Vec<u8> {
    let mut v = vec![0u8; 20 + payload_len];
    emit_ip_header(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        payload_len,
        &mut v,
    )
    .unwrap();
    v
}

/// Recomputes the IPv4 header checksum after a test edited the header.
fn fix_ipv4_checksum(p: &mut [u8]) {
    let hlen = usize::from(p[0] & 0x0f) * 4;
    p[10] = 0;
    p[11] = 0;
    let mut c = Checksum::new();
    c.add_bytes(&p[..hlen]);
    let cs = c.finish().to_be_bytes();
    p[10..12].copy_from_slice(&cs);
}

#[test]
fn parse_ip_rejects_versions_other_than_4_and_6() {
    assert_eq!(
        parse_ip_packet(&[]),
        Err(WireError::Truncated {
            needed: 20,
            available: 0
        })
    );
    for v in [0u8, 5, 7, 15] {
        let mut p = ipv4_packet(0);
        p[0] = (v << 4) | 5;
        assert_eq!(parse_ip_packet(&p), Err(WireError::BadIpVersion(v)));
    }
}

#[test]
fn parse_ipv4_short_header_is_truncated() {
    let p = ipv4_packet(0);
    assert_eq!(
        parse_ip_packet(&p[..19]),
        Err(WireError::Truncated {
            needed: 20,
            available: 19
        })
    );
}

#[test]
fn parse_ipv4_ihl_below_five_or_past_end_is_rejected() {
    let mut p = ipv4_packet(0);
    p[0] = 0x44;
    assert_eq!(
        parse_ip_packet(&p),
        Err(WireError::BadIhl {
            ihl: 4,
            packet_len: 20
        })
    );
    p[0] = 0x46;
    assert_eq!(
        parse_ip_packet(&p),
        Err(WireError::BadIhl {
            ihl: 6,
            packet_len: 20
        })
    );
}

#[test]
fn parse_ipv4_total_length_must_cover_header_and_fit() {
    let mut p = ipv4_packet(4);
    p[2..4].copy_from_slice(&30u16.to_be_bytes());
    fix_ipv4_checksum(&mut p);
    assert_eq!(
        parse_ip_packet(&p),
        Err(WireError::BadIpLength {
            claimed: 30,
            header_len: 20,
            available: 24
        })
    );
    p[2..4].copy_from_slice(&19u16.to_be_bytes());
    fix_ipv4_checksum(&mut p);
    assert_eq!(
        parse_ip_packet(&p),
        Err(WireError::BadIpLength {
            claimed: 19,
            header_len: 20,
            available: 24
        })
    );
}

#[test]
fn parse_ipv4_trailing_link_padding_is_not_payload() {
    let mut p = ipv4_packet(2);
    p[20] = 0xaa;
    p[21] = 0xbb;
    p.extend_from_slice(&[0; 6]); // Ethernet minimum-frame padding
    assert_eq!(parse_ip_packet(&p).unwrap().payload, &[0xaa, 0xbb]);
}

#[test]
fn parse_ipv4_bad_header_checksum_is_rejected() {
    let mut p = ipv4_packet(0);
    p[8] = 63; // TTL changed, checksum not updated
    assert_eq!(parse_ip_packet(&p), Err(WireError::BadIpChecksum));
}

#[test]
fn parse_ipv4_fragments_are_rejected() {
    let mut p = ipv4_packet(8);
    p[6] = 0x20; // MF
    fix_ipv4_checksum(&mut p);
    assert_eq!(
        parse_ip_packet(&p),
        Err(WireError::Fragmented {
            offset: 0,
            more: true
        })
    );
    p[6] = 0x00;
    p[7] = 0x03; // offset 3 (24 bytes), last fragment
    fix_ipv4_checksum(&mut p);
    assert_eq!(
        parse_ip_packet(&p),
        Err(WireError::Fragmented {
            offset: 3,
            more: false
        })
    );
}

#[test]
fn parse_ipv4_options_are_skipped() {
    // IHL 6: four bytes of options (NOP NOP NOP EOL) before the payload.
    let mut p = vec![0u8; 24 + 3];
    p[..20].copy_from_slice(&ipv4_packet(0));
    p[0] = 0x46;
    p[2..4].copy_from_slice(&27u16.to_be_bytes());
    p[20..24].copy_from_slice(&[1, 1, 1, 0]);
    p[24..27].copy_from_slice(b"xyz");
    fix_ipv4_checksum(&mut p);
    let ip = parse_ip_packet(&p).unwrap();
    assert_eq!(ip.payload, b"xyz");
    assert_eq!(ip.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
}

#[test]
fn parse_ipv4_reports_ttl_and_ecn() {
    let mut p = ipv4_packet(0);
    p[1] = 0x03; // CE
    p[8] = 7;
    fix_ipv4_checksum(&mut p);
    let ip = parse_ip_packet(&p).unwrap();
    assert_eq!((ip.ttl, ip.ecn), (7, 3));
}

fn ipv6_packet(payload_len: usize) -> Vec<u8> {
    let mut v = vec![0u8; 40 + payload_len];
    emit_ip_header(
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        payload_len,
        &mut v,
    )
    .unwrap();
    v
}

#[test]
fn parse_ipv6_short_header_is_truncated() {
    let p = ipv6_packet(0);
    assert_eq!(
        parse_ip_packet(&p[..39]),
        Err(WireError::Truncated {
            needed: 40,
            available: 39
        })
    );
}

#[test]
fn parse_ipv6_payload_length_past_end_is_rejected() {
    let p = ipv6_packet(10);
    assert_eq!(
        parse_ip_packet(&p[..45]),
        Err(WireError::BadIpLength {
            claimed: 50,
            header_len: 40,
            available: 45
        })
    );
}

#[test]
fn parse_ipv6_extension_headers_are_rejected() {
    for next_header in [0u8, 43, 44, 50, 51, 60] {
        let mut p = ipv6_packet(8);
        p[6] = next_header;
        assert_eq!(
            parse_ip_packet(&p),
            Err(WireError::Ipv6ExtensionHeader { next_header })
        );
    }
}

#[test]
fn parse_ipv6_reports_hop_limit_and_ecn() {
    let mut p = ipv6_packet(0);
    // Traffic class 0x02 (ECT(0)) straddles bytes 0 and 1.
    p[0] = 0x60;
    p[1] = 0x20;
    p[7] = 9;
    let ip = parse_ip_packet(&p).unwrap();
    assert_eq!((ip.ttl, ip.ecn), (9, 2));
}

#[test]
fn emit_ip_header_rejects_mixed_families_and_small_buffers() {
    let mut out = [0u8; 40];
    assert_eq!(
        emit_ip_header(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            0,
            &mut out
        ),
        Err(WireError::AddressFamilyMismatch)
    );
    assert_eq!(
        emit_ip_header(
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            0,
            &mut out[..39]
        ),
        Err(WireError::BufferTooSmall {
            needed: 40,
            available: 39
        })
    );
    assert_eq!(
        emit_ip_header(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            65516,
            &mut out
        ),
        Err(WireError::TooLong {
            len: 65536,
            max: 65535
        })
    );
}

#[test]
fn parse_ip_tcp_rejects_other_protocols_and_bad_checksums() {
    let src: SocketAddr = "[2001:db8::1]:1000".parse().unwrap();
    let dst: SocketAddr = "[2001:db8::2]:2000".parse().unwrap();
    let mut out = [0u8; 80];
    let n = emit_ip_tcp(src, dst, &TcpHeader::default(), b"data", &mut out).unwrap();
    assert!(parse_ip_tcp(&out[..n]).is_ok());
    let mut bad = out;
    bad[n - 1] ^= 0x01;
    assert_eq!(parse_ip_tcp(&bad[..n]), Err(WireError::BadTcpChecksum));
    let mut udp = out;
    udp[6] = 17;
    assert_eq!(
        parse_ip_tcp(&udp[..n]),
        Err(WireError::NotTcp { protocol: 17 })
    );
}

// ---- fuzzing ------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn parse_segment_never_panics_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        if let Ok(seg) = parse_segment(&bytes) {
            let hlen = usize::from(bytes[12] >> 4) * 4;
            prop_assert_eq!(seg.payload, &bytes[hlen..]);
        }
    }

    #[test]
    fn parse_segment_never_panics_on_arbitrary_options(
        offset in 0u8..16,
        opts in proptest::collection::vec(
            prop_oneof![0u8..=9, any::<u8>()], 0..48),
    ) {
        let mut b = vec![0u8; 20];
        b[12] = offset << 4;
        b.extend_from_slice(&opts);
        match parse_segment(&b) {
            Ok(seg) => {
                // Whatever was accepted re-emits and parses to itself, with
                // the window scale already clamped.
                let o = seg.header.options;
                prop_assert!(o.window_scale.is_none_or(|s| s <= 14));
                let mut out = vec![0u8; 60 + seg.payload.len()];
                match emit_segment(&seg.header, seg.payload, &ph4(), &mut out) {
                    Ok(n) => {
                        let again = parse_segment(&out[..n]).unwrap();
                        prop_assert_eq!(again, seg);
                    }
                    // Our aligned layout can need more room than the
                    // unaligned input had.
                    Err(e) => prop_assert!(
                        matches!(e, WireError::OptionsTooLong { .. }),
                        "unexpected emit error {e:?}"
                    ),
                }
            }
            Err(e) => prop_assert!(matches!(
                e,
                WireError::BadDataOffset { .. }
                    | WireError::BadOptionLength { .. }
                    | WireError::OptionPastHeader { .. }
            ), "unexpected error {e:?}"),
        }
    }

    #[test]
    fn parse_ip_packet_never_panics_on_arbitrary_bytes(
        version in prop_oneof![Just(4u8), Just(6u8), 0u8..16],
        mut bytes in proptest::collection::vec(any::<u8>(), 1..128),
    ) {
        bytes[0] = (version << 4) | (bytes[0] & 0x0f);
        if let Ok(ip) = parse_ip_packet(&bytes) {
            prop_assert!(ip.payload.len() < bytes.len());
        }
        let _ = parse_ip_tcp(&bytes);
    }

    #[test]
    fn parse_ip_tcp_never_panics_on_valid_ip_with_arbitrary_tcp(
        v6 in any::<bool>(),
        tcp in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let (src, dst) = if v6 {
            (IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::UNSPECIFIED))
        } else {
            (IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        };
        let mut p = vec![0u8; 40 + tcp.len()];
        let hl = emit_ip_header(src, dst, tcp.len(), &mut p).unwrap();
        p.truncate(hl + tcp.len());
        p[hl..].copy_from_slice(&tcp);
        match parse_ip_tcp(&p) {
            Ok((_, seg)) => prop_assert!(seg.payload.len() + 20 <= tcp.len()),
            Err(e) => prop_assert!(!matches!(
                e,
                WireError::BadIpChecksum | WireError::BadIpLength { .. } | WireError::NotTcp { .. }
            ), "IP layer should have accepted: {e:?}"),
        }
    }
}

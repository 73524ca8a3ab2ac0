//! Emit → parse round trips and checksum properties of `tcp_core::wire`.

#[path = "wire_support.rs"]
mod support;

use proptest::prelude::*;
use support::*;
use tcp_core::seq::SeqNum;
use tcp_core::wire::ip::{
    emit_ip_header, emit_ip_tcp, emit_ip_tcp_parts, ip_header_len, parse_ip_packet, parse_ip_tcp,
    DEFAULT_TTL, PROTO_TCP,
};
use tcp_core::wire::{
    emit_segment, emit_segment_parts, header_len, parse_segment, tcp_checksum, verify_checksum,
    Checksum, Flags, PseudoHeader, SackBlocks, Segment, TcpHeader, TcpOptions, Timestamps,
};

proptest! {
    #[test]
    fn emit_then_parse_returns_the_same_header_and_payload(
        h in header(),
        data in payload(),
        ph in pseudo_header(),
    ) {
        let mut buf = vec![0u8; 60 + data.len()];
        let n = emit_segment(&h, &data, &ph, &mut buf).unwrap();
        prop_assert_eq!(n, header_len(&h.options) + data.len());
        prop_assert_eq!(header_len(&h.options) % 4, 0);
        let seg = parse_segment(&buf[..n]).unwrap();
        prop_assert_eq!(seg.header, h);
        prop_assert_eq!(seg.payload, &data[..]);
        prop_assert!(verify_checksum(&ph, &buf[..n]));
        let stored = u16::from_be_bytes([buf[16], buf[17]]);
        prop_assert_eq!(stored, reference_checksum(&ph, &buf[..n]));
        prop_assert_eq!(stored, tcp_checksum(&ph, &buf[..n]));
        // The checksum binds the addresses: the reversed pseudo-header sums
        // the same words, another address does not.
        prop_assert!(verify_checksum(&ph.reversed(), &buf[..n]));
    }

    #[test]
    fn emit_parts_matches_emit_for_every_split(
        h in header(),
        data in payload(),
        ph in pseudo_header(),
        split in any::<prop::sample::Index>(),
    ) {
        let at = split.index(data.len() + 1);
        let mut whole = vec![0u8; 60 + data.len()];
        let mut parts = vec![0u8; 60 + data.len()];
        let n = emit_segment(&h, &data, &ph, &mut whole).unwrap();
        let m = emit_segment_parts(&h, (&data[..at], &data[at..]), &ph, &mut parts).unwrap();
        prop_assert_eq!(n, m);
        prop_assert_eq!(&whole[..n], &parts[..m]);
    }

    #[test]
    fn incremental_checksum_matches_reference_for_any_split(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        points.push(0);
        points.push(data.len());
        points.sort_unstable();
        let mut c = Checksum::new();
        for w in points.windows(2) {
            c.add_bytes(&data[w[0]..w[1]]);
        }
        let expected = reference_sum(&data);
        // 0 and ffff are the two zeros of one's complement; the folded sum
        // of nonzero data is never 0, of all-zero data always 0.
        prop_assert_eq!(c.sum(), expected);
        prop_assert_eq!(c.finish(), !expected);
    }

    #[test]
    fn tcp_checksum_matches_reference_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        ph in pseudo_header(),
    ) {
        prop_assert_eq!(tcp_checksum(&ph, &bytes), reference_checksum(&ph, &bytes));
    }

    #[test]
    fn flipping_any_bit_fails_verification(
        h in header(),
        data in payload(),
        ph in pseudo_header(),
        bit in any::<prop::sample::Index>(),
    ) {
        let mut buf = vec![0u8; 60 + data.len()];
        let n = emit_segment(&h, &data, &ph, &mut buf).unwrap();
        let b = bit.index(n * 8);
        buf[b / 8] ^= 1 << (b % 8);
        prop_assert!(!verify_checksum(&ph, &buf[..n]));
    }

    #[test]
    fn ip_tcp_roundtrip_for_v4_and_v6(
        (src, dst) in socket_pair(),
        h in header(),
        data in payload(),
        split in any::<prop::sample::Index>(),
    ) {
        let mut buf = vec![0u8; 100 + data.len()];
        let n = emit_ip_tcp(src, dst, &h, &data, &mut buf).unwrap();
        prop_assert_eq!(n, ip_header_len(src.ip()) + header_len(&h.options) + data.len());
        let (ip, seg) = parse_ip_tcp(&buf[..n]).unwrap();
        prop_assert_eq!(ip.src, src.ip());
        prop_assert_eq!(ip.dst, dst.ip());
        prop_assert_eq!(ip.protocol, PROTO_TCP);
        prop_assert_eq!(ip.ttl, DEFAULT_TTL);
        prop_assert_eq!(ip.ecn, 0);
        let mut expected = h;
        expected.src_port = src.port();
        expected.dst_port = dst.port();
        prop_assert_eq!(seg.header, expected);
        prop_assert_eq!(seg.payload, &data[..]);

        let at = split.index(data.len() + 1);
        let mut parts = vec![0u8; 100 + data.len()];
        let m = emit_ip_tcp_parts(src, dst, &h, (&data[..at], &data[at..]), &mut parts).unwrap();
        prop_assert_eq!(&buf[..n], &parts[..m]);
    }

    #[test]
    fn ip_header_emit_then_parse(
        (src, dst) in socket_pair(),
        data in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut buf = vec![0u8; 40 + data.len()];
        let hl = emit_ip_header(src.ip(), dst.ip(), data.len(), &mut buf).unwrap();
        buf[hl..hl + data.len()].copy_from_slice(&data);
        let p = parse_ip_packet(&buf[..hl + data.len()]).unwrap();
        prop_assert_eq!(p.src, src.ip());
        prop_assert_eq!(p.dst, dst.ip());
        prop_assert_eq!(p.payload, &data[..]);
        prop_assert_eq!(p.pseudo_header(), PseudoHeader::new(src.ip(), dst.ip()).unwrap());
    }
}

#[test]
fn sequence_numbers_near_wrap_survive_roundtrip() {
    let ph = PseudoHeader::v4([192, 0, 2, 1].into(), [192, 0, 2, 2].into());
    let mut sack = SackBlocks::new();
    // A block that straddles 2^32, one just below it, one at 0.
    assert!(sack.push(SeqNum(u32::MAX - 10), SeqNum(5)));
    assert!(sack.push(SeqNum(u32::MAX - 1), SeqNum(u32::MAX)));
    assert!(sack.push(SeqNum(0), SeqNum(1)));
    let h = TcpHeader {
        src_port: 443,
        dst_port: 50000,
        seq: SeqNum(u32::MAX),
        ack: SeqNum(u32::MAX - 1),
        flags: Flags::ACK | Flags::FIN,
        window: 1,
        urgent: 0,
        options: TcpOptions {
            sack_blocks: sack,
            timestamps: Some(Timestamps {
                tsval: u32::MAX,
                tsecr: u32::MAX - 1,
            }),
            ..TcpOptions::default()
        },
    };
    let mut buf = [0u8; 100];
    let n = emit_segment(&h, b"end", &ph, &mut buf).unwrap();
    let seg: Segment<'_> = parse_segment(&buf[..n]).unwrap();
    assert_eq!(seg.header, h);
    assert_eq!(seg.header.seq + seg.seg_len(), SeqNum(3));
    assert_eq!(
        seg.header.options.sack_blocks.as_slice()[0]
            .1
            .since(SeqNum(u32::MAX - 10)),
        16
    );
    assert!(verify_checksum(&ph, &buf[..n]));
}

#[test]
fn data_segment_layout_puts_timestamps_and_sack_on_word_boundaries() {
    let ph = PseudoHeader::v4([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
    let h = TcpHeader {
        flags: Flags::ACK,
        options: TcpOptions {
            sack_blocks: SackBlocks::from_slice(&[(SeqNum(0x0a0b0c0d), SeqNum(0x01020304))])
                .unwrap(),
            timestamps: Some(Timestamps { tsval: 1, tsecr: 2 }),
            ..TcpOptions::default()
        },
        ..TcpHeader::default()
    };
    let mut buf = [0u8; 60];
    let n = emit_segment(&h, &[], &ph, &mut buf).unwrap();
    assert_eq!(n, 20 + 12 + 12);
    assert_eq!(buf[12] >> 4, 11);
    assert_eq!(
        buf[20..44],
        [
            1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, // NOP NOP TS
            1, 1, 5, 10, 0x0a, 0x0b, 0x0c, 0x0d, 1, 2, 3, 4, // NOP NOP SACK
        ]
    );
}

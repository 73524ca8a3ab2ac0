//! `etherparse` (an independent implementation) as the oracle: it decodes
//! what we encode, checksums included, and we decode what it encodes.

#[path = "wire_support.rs"]
mod support;

use std::net::{IpAddr, SocketAddr};

use etherparse::{NetHeaders, PacketBuilder, PacketHeaders, TcpOptionElement, TransportHeader};
use proptest::prelude::*;
use support::*;
use tcp_core::seq::SeqNum;
use tcp_core::wire::ip::parse_ip_tcp;
use tcp_core::wire::{
    ip::emit_ip_tcp, Flags, SackBlocks, TcpHeader, TcpOptions, Timestamps, MAX_OPTIONS_LEN,
};

/// Decodes etherparse's option elements into our options struct (later
/// duplicates win, as in our parser).
fn options_from_etherparse(tcp: &etherparse::TcpHeader) -> TcpOptions {
    let mut o = TcpOptions::default();
    for e in tcp.options_iterator() {
        match e.expect("etherparse failed to read our options") {
            TcpOptionElement::Noop => {}
            TcpOptionElement::MaximumSegmentSize(m) => o.mss = Some(m),
            TcpOptionElement::WindowScale(s) => o.window_scale = Some(s),
            TcpOptionElement::SelectiveAcknowledgementPermitted => o.sack_permitted = true,
            TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                o.sack_blocks.clear();
                for (l, r) in std::iter::once(first).chain(rest.into_iter().flatten()) {
                    assert!(o.sack_blocks.push(SeqNum(l), SeqNum(r)));
                }
            }
            TcpOptionElement::Timestamp(tsval, tsecr) => {
                o.timestamps = Some(Timestamps { tsval, tsecr })
            }
        }
    }
    o
}

fn flags_from_etherparse(t: &etherparse::TcpHeader) -> Flags {
    let bits = [
        (t.fin, Flags::FIN),
        (t.syn, Flags::SYN),
        (t.rst, Flags::RST),
        (t.psh, Flags::PSH),
        (t.ack, Flags::ACK),
        (t.urg, Flags::URG),
        (t.ece, Flags::ECE),
        (t.cwr, Flags::CWR),
    ];
    bits.iter()
        .filter(|(set, _)| *set)
        .fold(Flags::empty(), |acc, (_, f)| acc | *f)
}

fn etherparse_header(h: &TcpHeader, elements: &[TcpOptionElement]) -> etherparse::TcpHeader {
    let mut t = etherparse::TcpHeader::new(h.src_port, h.dst_port, h.seq.0, h.window);
    t.acknowledgment_number = h.ack.0;
    t.fin = h.flags.contains(Flags::FIN);
    t.syn = h.flags.contains(Flags::SYN);
    t.rst = h.flags.contains(Flags::RST);
    t.psh = h.flags.contains(Flags::PSH);
    t.ack = h.flags.contains(Flags::ACK);
    t.urg = h.flags.contains(Flags::URG);
    t.ece = h.flags.contains(Flags::ECE);
    t.cwr = h.flags.contains(Flags::CWR);
    t.urgent_pointer = h.urgent;
    t.set_options(elements).expect("options fit");
    t
}

/// Checks with etherparse that `packet` carries exactly `h` (ports from the
/// socket addresses) and `data`, with valid IP and TCP checksums.
fn check_with_etherparse(
    packet: &[u8],
    src: SocketAddr,
    dst: SocketAddr,
    h: &TcpHeader,
    data: &[u8],
) -> Result<(), TestCaseError> {
    let parsed = PacketHeaders::from_ip_slice(packet).expect("etherparse rejected our packet");
    let Some(TransportHeader::Tcp(tcp)) = parsed.transport else {
        return Err(TestCaseError::fail("no TCP header"));
    };
    let payload = parsed.payload.slice();
    prop_assert_eq!(payload, data);
    let tcp_checksum = match (parsed.net, src.ip(), dst.ip()) {
        (Some(NetHeaders::Ipv4(ip, _)), IpAddr::V4(s), IpAddr::V4(d)) => {
            prop_assert_eq!(ip.source, s.octets());
            prop_assert_eq!(ip.destination, d.octets());
            prop_assert_eq!(ip.protocol.0, 6);
            prop_assert_eq!(ip.time_to_live, 64);
            prop_assert!(ip.dont_fragment);
            prop_assert!(!ip.more_fragments);
            prop_assert_eq!(usize::from(ip.total_len), packet.len());
            prop_assert_eq!(ip.header_checksum, ip.calc_header_checksum());
            tcp.calc_checksum_ipv4(&ip, payload).unwrap()
        }
        (Some(NetHeaders::Ipv6(ip, _)), IpAddr::V6(s), IpAddr::V6(d)) => {
            prop_assert_eq!(ip.source, s.octets());
            prop_assert_eq!(ip.destination, d.octets());
            prop_assert_eq!(ip.next_header.0, 6);
            prop_assert_eq!(ip.hop_limit, 64);
            prop_assert_eq!(usize::from(ip.payload_length) + 40, packet.len());
            tcp.calc_checksum_ipv6(&ip, payload).unwrap()
        }
        (net, _, _) => return Err(TestCaseError::fail(format!("wrong IP header {net:?}"))),
    };
    prop_assert_eq!(tcp.checksum, tcp_checksum);
    prop_assert_eq!(tcp.source_port, src.port());
    prop_assert_eq!(tcp.destination_port, dst.port());
    prop_assert_eq!(tcp.sequence_number, h.seq.0);
    prop_assert_eq!(tcp.acknowledgment_number, h.ack.0);
    prop_assert_eq!(flags_from_etherparse(&tcp), h.flags);
    prop_assert!(!tcp.ns);
    prop_assert_eq!(tcp.window_size, h.window);
    prop_assert_eq!(tcp.urgent_pointer, h.urgent);
    prop_assert_eq!(options_from_etherparse(&tcp), h.options);
    Ok(())
}

/// Option elements in any order and with NOPs anywhere, within 40 bytes;
/// each kind at most once.
fn etherparse_elements() -> impl Strategy<Value = Vec<TcpOptionElement>> {
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u8>()),
        any::<bool>(),
        proptest::collection::vec((seq(), seq()), 0..=4),
        proptest::option::of(any::<(u32, u32)>()),
        0usize..4,
    )
        .prop_flat_map(|(mss, ws, sp, blocks, ts, noops)| {
            let mut v = Vec::new();
            v.extend(mss.map(TcpOptionElement::MaximumSegmentSize));
            v.extend(ws.map(TcpOptionElement::WindowScale));
            if sp {
                v.push(TcpOptionElement::SelectiveAcknowledgementPermitted);
            }
            v.extend(ts.map(|(a, b)| TcpOptionElement::Timestamp(a, b)));
            v.extend(std::iter::repeat_n(TcpOptionElement::Noop, noops));
            let fixed: usize = v.iter().map(element_len).sum();
            // As many SACK blocks as still fit.
            let room = MAX_OPTIONS_LEN.saturating_sub(fixed + 2) / 8;
            let n = blocks.len().min(room);
            if n > 0 {
                let mut rest = [None; 3];
                for (slot, &(l, r)) in rest.iter_mut().zip(&blocks[1..n]) {
                    *slot = Some((l.0, r.0));
                }
                v.push(TcpOptionElement::SelectiveAcknowledgement(
                    (blocks[0].0 .0, blocks[0].1 .0),
                    rest,
                ));
            }
            Just(v).prop_shuffle()
        })
}

fn element_len(e: &TcpOptionElement) -> usize {
    match e {
        TcpOptionElement::Noop => 1,
        TcpOptionElement::MaximumSegmentSize(_) => 4,
        TcpOptionElement::WindowScale(_) => 3,
        TcpOptionElement::SelectiveAcknowledgementPermitted => 2,
        TcpOptionElement::SelectiveAcknowledgement(_, rest) => {
            2 + 8 * (1 + rest.iter().flatten().count())
        }
        TcpOptionElement::Timestamp(..) => 10,
    }
}

/// What our parser should make of `elements` (window scale clamped to 14,
/// RFC 7323 §2.3).
fn expected_options(elements: &[TcpOptionElement]) -> TcpOptions {
    let mut o = TcpOptions::default();
    for e in elements {
        match *e {
            TcpOptionElement::Noop => {}
            TcpOptionElement::MaximumSegmentSize(m) => o.mss = Some(m),
            TcpOptionElement::WindowScale(s) => o.window_scale = Some(s.min(14)),
            TcpOptionElement::SelectiveAcknowledgementPermitted => o.sack_permitted = true,
            TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                let mut b = SackBlocks::new();
                for (l, r) in std::iter::once(first).chain(rest.into_iter().flatten()) {
                    b.push(SeqNum(l), SeqNum(r));
                }
                o.sack_blocks = b;
            }
            TcpOptionElement::Timestamp(tsval, tsecr) => {
                o.timestamps = Some(Timestamps { tsval, tsecr })
            }
        }
    }
    o
}

proptest! {
    #[test]
    fn etherparse_decodes_our_packets(
        (src, dst) in socket_pair(),
        h in header(),
        data in payload(),
    ) {
        let mut buf = vec![0u8; 100 + data.len()];
        let n = emit_ip_tcp(src, dst, &h, &data, &mut buf).unwrap();
        check_with_etherparse(&buf[..n], src, dst, &h, &data)?;
    }

    #[test]
    fn we_decode_etherparse_packets(
        (src, dst) in socket_pair(),
        h in header(),
        elements in etherparse_elements(),
        data in payload(),
    ) {
        let t = etherparse_header(&h, &elements);
        let builder = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 33),
            (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 33),
            _ => unreachable!("socket_pair yields one IP version"),
        };
        let mut t = t;
        t.source_port = src.port();
        t.destination_port = dst.port();
        let builder = builder.tcp_header(t);
        let mut packet = Vec::with_capacity(builder.size(data.len()));
        builder.write(&mut packet, &data).unwrap();

        let (ip, seg) = parse_ip_tcp(&packet).unwrap();
        prop_assert_eq!(ip.src, src.ip());
        prop_assert_eq!(ip.dst, dst.ip());
        prop_assert_eq!(ip.ttl, 33);
        let mut expected = h;
        expected.src_port = src.port();
        expected.dst_port = dst.port();
        expected.options = expected_options(&elements);
        prop_assert_eq!(seg.header, expected);
        prop_assert_eq!(seg.payload, &data[..]);
    }
}

#[test]
fn etherparse_decodes_a_full_syn_on_ipv4_and_ipv6() {
    let h = TcpHeader {
        src_port: 0,
        dst_port: 0,
        seq: SeqNum(u32::MAX - 1),
        ack: SeqNum(0),
        flags: Flags::SYN | Flags::ECE | Flags::CWR,
        window: 65535,
        urgent: 0,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            sack_blocks: SackBlocks::new(),
            timestamps: Some(Timestamps {
                tsval: 0xdead_beef,
                tsecr: 0,
            }),
        },
    };
    for (src, dst) in [
        ("10.1.2.3:40000", "10.9.8.7:80"),
        ("[fe80::1]:40000", "[2001:db8::7]:443"),
    ] {
        let src: SocketAddr = src.parse().unwrap();
        let dst: SocketAddr = dst.parse().unwrap();
        let mut buf = [0u8; 100];
        let n = emit_ip_tcp(src, dst, &h, &[], &mut buf).unwrap();
        check_with_etherparse(&buf[..n], src, dst, &h, &[]).unwrap();
    }
}

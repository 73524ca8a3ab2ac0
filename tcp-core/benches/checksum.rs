//! Throughput of the wire hot path: the Internet checksum against a plain
//! RFC 1071 word-at-a-time sum and against `memcpy` of the same bytes, and
//! per-segment emit/parse costs at MSS-sized payloads. Compare the ratios
//! within one run; absolute numbers depend on the machine's load.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tcp_core::seq::SeqNum;
use tcp_core::wire::ip::{emit_ip_tcp, parse_ip_tcp};
use tcp_core::wire::{
    emit_segment, emit_segment_parts, parse_segment, tcp_checksum, verify_checksum, Flags,
    PseudoHeader, TcpHeader, TcpOptions, Timestamps,
};

/// RFC 1071 the obvious way: one big-endian 16-bit word per step.
fn word_at_a_time(src: [u8; 4], dst: [u8; 4], data: &[u8]) -> u16 {
    let mut sum: u32 = u32::from(u16::from_be_bytes([src[0], src[1]]))
        + u32::from(u16::from_be_bytes([src[2], src[3]]))
        + u32::from(u16::from_be_bytes([dst[0], dst[1]]))
        + u32::from(u16::from_be_bytes([dst[2], dst[3]]))
        + 6
        + data.len() as u32;
    let mut pairs = data.chunks_exact(2);
    for p in &mut pairs {
        sum += u32::from(u16::from_be_bytes([p[0], p[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = pairs.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

const SRC: [u8; 4] = [10, 0, 0, 1];
const DST: [u8; 4] = [10, 0, 0, 2];

fn pseudo_header() -> PseudoHeader {
    PseudoHeader::v4(SRC.into(), DST.into())
}

fn bytes(n: usize) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

fn checksum(c: &mut Criterion) {
    let ph = pseudo_header();
    let mut g = c.benchmark_group("checksum");
    for size in [20usize, 64, 576, 1480, 9000, 65535] {
        let data = bytes(size);
        let mut dst = vec![0u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("tcp_checksum", size), &data, |b, d| {
            b.iter(|| tcp_checksum(black_box(&ph), black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("word_at_a_time", size), &data, |b, d| {
            b.iter(|| word_at_a_time(black_box(SRC), black_box(DST), black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("memcpy", size), &data, |b, d| {
            b.iter(|| {
                dst.copy_from_slice(black_box(d));
                black_box(&mut dst);
            })
        });
    }
    g.finish();
}

fn data_header() -> TcpHeader {
    TcpHeader {
        src_port: 40000,
        dst_port: 443,
        seq: SeqNum(u32::MAX - 100),
        ack: SeqNum(12345),
        flags: Flags::ACK | Flags::PSH,
        window: 65535,
        urgent: 0,
        options: TcpOptions {
            timestamps: Some(Timestamps {
                tsval: 100,
                tsecr: 200,
            }),
            ..TcpOptions::default()
        },
    }
}

fn segment(c: &mut Criterion) {
    let ph = pseudo_header();
    let h = data_header();
    // MSS 1460 less 12 bytes of timestamps option.
    let payload = bytes(1448);
    let mut out = vec![0u8; 1600];
    let mut g = c.benchmark_group("segment_1448");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.bench_function("emit_segment", |b| {
        let mut seq = h.seq;
        b.iter(|| {
            let mut hh = h;
            hh.seq = seq;
            seq += 1448;
            emit_segment(black_box(&hh), black_box(&payload), &ph, &mut out)
        })
    });
    g.bench_function("emit_segment_parts", |b| {
        let (a, z) = payload.split_at(1000);
        b.iter(|| emit_segment_parts(black_box(&h), (black_box(a), black_box(z)), &ph, &mut out))
    });
    let n = emit_segment(&h, &payload, &ph, &mut out).unwrap();
    let wire = out[..n].to_vec();
    g.bench_function("parse_segment", |b| {
        b.iter(|| parse_segment(black_box(&wire)).map(|s| s.header.seq))
    });
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let s = parse_segment(black_box(&wire));
            (s.is_ok(), verify_checksum(&ph, black_box(&wire)))
        })
    });
    let src = "10.0.0.1:40000".parse().unwrap();
    let dst = "10.0.0.2:443".parse().unwrap();
    g.bench_function("emit_ip_tcp_v4", |b| {
        b.iter(|| emit_ip_tcp(src, dst, black_box(&h), black_box(&payload), &mut out))
    });
    let n = emit_ip_tcp(src, dst, &h, &payload, &mut out).unwrap();
    let packet = out[..n].to_vec();
    g.bench_function("parse_ip_tcp_v4", |b| {
        b.iter(|| parse_ip_tcp(black_box(&packet)).map(|(_, s)| s.payload.len()))
    });
    g.finish();
}

criterion_group!(benches, checksum, segment);
criterion_main!(benches);

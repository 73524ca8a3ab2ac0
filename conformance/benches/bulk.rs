//! Bulk transfer in memory: 16 MiB one way per iteration, MSS 1460 (MTU
//! 1500), checksums computed and verified, the application copying every
//! byte in (SEND from a pattern) and out (RECEIVE into a 64 KiB buffer).
//!
//! Three stacks in the same harness shape
//! (`conformance::smoltcp_peer::workload`: two endpoints of the same stack,
//! an ideal in-memory link, virtual time): our table engine, our per-state
//! engine, smoltcp 0.14. Same buffers (256 KiB each way), same ACK policy
//! (delayed ACK 10 ms, an immediate ACK once two full segments are
//! unacknowledged), Nagle on, no timestamps (smoltcp sends them only with a
//! generator), NewReno / Reno.
//!
//! Throughput is in bytes (criterion prints GiB/s; Gbit/s = GiB/s × 8.59);
//! the segments per iteration are printed once so that segments/s can be
//! derived.

use std::time::Duration as WallDuration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tcp_core::{PerStateEngine, TableEngine};

use conformance::smoltcp_peer::workload::{self, BULK_BUFFER, BULK_BYTES};
use conformance::smoltcp_peer::Duration;

mod common;

const MSL: Duration = Duration::from_secs(120);

fn table() -> (u64, u64) {
    let (a, b) = workload::ours(TableEngine, BULK_BUFFER, MSL);
    workload::bulk(a, b).expect("transfer completes")
}

fn per_state() -> (u64, u64) {
    let (a, b) = workload::ours(PerStateEngine, BULK_BUFFER, MSL);
    workload::bulk(a, b).expect("transfer completes")
}

fn smoltcp() -> (u64, u64) {
    let (a, b) = workload::smol(BULK_BUFFER).expect("smoltcp peers");
    workload::bulk(a, b).expect("transfer completes")
}

fn bulk(c: &mut Criterion) {
    for (name, (ab, ba)) in [
        ("table", table()),
        ("per_state", per_state()),
        ("smoltcp", smoltcp()),
    ] {
        eprintln!("bulk/{name}: {ab} packets A→B (data), {ba} packets B→A (ACKs) per 16 MiB");
    }

    let mut group = c.benchmark_group("bulk");
    group.throughput(Throughput::Bytes(BULK_BYTES));
    group.sample_size(20);
    group.bench_function("table", |b| b.iter(table));
    group.bench_function("per_state", |b| b.iter(per_state));
    group.bench_function("smoltcp", |b| b.iter(smoltcp));
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config(WallDuration::from_secs(4));
    targets = bulk
}
criterion_main!(benches);

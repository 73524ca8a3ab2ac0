//! Connection lifecycles per second: connect, three-way handshake, one
//! 64-byte write, CLOSE by the client (the active closer), the server reads
//! to the end and CLOSEs, and the client's TIME-WAIT runs out in virtual
//! time (ours: MSL 1 ms; smoltcp: its fixed 10 s, which costs nothing in
//! virtual time). 1000 lifecycles per iteration, one after another, in the
//! harness of `conformance::smoltcp_peer::workload` (two endpoints of the
//! same stack, an ideal in-memory link). Buffers 64 KiB each way on both
//! stacks, delayed ACK 10 ms, no timestamps.

use std::time::Duration as WallDuration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tcp_core::{PerStateEngine, TableEngine};

use conformance::smoltcp_peer::workload::{self, LIFECYCLES, LIFECYCLE_BUFFER};
use conformance::smoltcp_peer::Duration;

mod common;

const MSL: Duration = Duration::from_millis(1);

fn table() -> u64 {
    let (a, b) = workload::ours(TableEngine, LIFECYCLE_BUFFER, MSL);
    workload::lifecycles(a, b).expect("lifecycles complete")
}

fn per_state() -> u64 {
    let (a, b) = workload::ours(PerStateEngine, LIFECYCLE_BUFFER, MSL);
    workload::lifecycles(a, b).expect("lifecycles complete")
}

fn smoltcp() -> u64 {
    let (a, b) = workload::smol(LIFECYCLE_BUFFER).expect("smoltcp peers");
    workload::lifecycles(a, b).expect("lifecycles complete")
}

fn lifecycle(c: &mut Criterion) {
    for (name, packets) in [
        ("table", table()),
        ("per_state", per_state()),
        ("smoltcp", smoltcp()),
    ] {
        eprintln!("lifecycle/{name}: {packets} packets per {LIFECYCLES} lifecycles");
    }

    let mut group = c.benchmark_group("lifecycle");
    group.throughput(Throughput::Elements(LIFECYCLES));
    group.sample_size(20);
    group.bench_function("table", |b| b.iter(table));
    group.bench_function("per_state", |b| b.iter(per_state));
    group.bench_function("smoltcp", |b| b.iter(smoltcp));
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config(WallDuration::from_secs(4));
    targets = lifecycle
}
criterion_main!(benches);

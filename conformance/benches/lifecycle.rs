//! Connection lifecycles per second: connect, three-way handshake, one
//! 64-byte write, CLOSE by the client (the active closer), the server reads
//! to the end and CLOSEs, and the client's TIME-WAIT runs out in virtual
//! time (ours: MSL 1 ms; smoltcp: its fixed 10 s, which costs nothing in
//! virtual time). 1000 lifecycles per iteration, one after another, in the
//! harness of `conformance::smoltcp_peer` (two endpoints of the same stack,
//! an ideal in-memory link). Buffers 64 KiB each way on both stacks, delayed
//! ACK 10 ms, no timestamps.

use std::net::SocketAddr;
use std::time::Duration as WallDuration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tcp_core::cc::CcAlgorithm;
use tcp_core::engine::Engine;
use tcp_core::{Config, PerStateEngine, TableEngine};

use conformance::smoltcp_peer::*;

const LIFECYCLES: u64 = 1000;
const PAYLOAD: usize = 64;
const PORT: u16 = 80;
const BUFFER: usize = 64 * 1024;

fn our_config() -> Config {
    Config {
        mss: 1460,
        send_buffer: BUFFER,
        recv_buffer: BUFFER,
        window_scaling: true,
        timestamps: false,
        sack: true,
        nagle: true,
        delayed_ack: Some(Duration::from_millis(10)),
        msl: Duration::from_millis(1),
        congestion_control: CcAlgorithm::NewReno,
        trace: false,
        ..Config::default()
    }
}

fn smol_options() -> SmolOptions {
    SmolOptions {
        mtu: 1500,
        send_buffer: BUFFER,
        recv_buffer: BUFFER,
        ack_delay: Some(Duration::from_millis(10)),
        nagle: true,
        timestamps: false,
        congestion: smoltcp::socket::tcp::CongestionControl::Reno,
    }
}

/// Runs `LIFECYCLES` lifecycles; returns the packets exchanged.
fn lifecycles<A: Peer, B: Peer>(a: A, b: B) -> u64 {
    let mut pair = Pair::new(a, b, LinkConfig::ideal(), 9);
    let mut client = Lifecycle::client(SocketAddr::new(ADDR_B, PORT), PAYLOAD, LIFECYCLES);
    let mut server = Lifecycle::server(PORT, PAYLOAD, LIFECYCLES);
    pair.run(
        &mut client,
        &mut server,
        Duration::from_secs(1_000_000),
        |_, c, s| c.is_done() && s.is_done(),
    )
    .expect("lifecycles complete");
    pair.stats_ab().delivered + pair.stats_ba().delivered
}

fn ours<E: Engine + Clone>(engine: E) -> (OursPeer<E>, OursPeer<E>) {
    (
        OursPeer::new(our_config(), ADDR_A, engine.clone(), 1),
        OursPeer::new(our_config(), ADDR_B, engine, 2),
    )
}

fn smol() -> (SmolPeer, SmolPeer) {
    (
        SmolPeer::new(smol_options(), ADDR_A, 1).expect("smoltcp peer"),
        SmolPeer::new(smol_options(), ADDR_B, 2).expect("smoltcp peer"),
    )
}

fn lifecycle(c: &mut Criterion) {
    for (name, packets) in [
        ("table", {
            let (a, b) = ours(TableEngine);
            lifecycles(a, b)
        }),
        ("per_state", {
            let (a, b) = ours(PerStateEngine);
            lifecycles(a, b)
        }),
        ("smoltcp", {
            let (a, b) = smol();
            lifecycles(a, b)
        }),
    ] {
        eprintln!("lifecycle/{name}: {packets} packets per {LIFECYCLES} lifecycles");
    }

    let mut group = c.benchmark_group("lifecycle");
    group.throughput(Throughput::Elements(LIFECYCLES));
    group.sample_size(20);
    group.bench_function("table", |bench| {
        bench.iter(|| {
            let (a, b) = ours(TableEngine);
            lifecycles(a, b)
        })
    });
    group.bench_function("per_state", |bench| {
        bench.iter(|| {
            let (a, b) = ours(PerStateEngine);
            lifecycles(a, b)
        })
    });
    group.bench_function("smoltcp", |bench| {
        bench.iter(|| {
            let (a, b) = smol();
            lifecycles(a, b)
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(WallDuration::from_secs(1))
        .measurement_time(WallDuration::from_secs(4))
}

criterion_group! {
    name = benches;
    config = config();
    targets = lifecycle
}
criterion_main!(benches);

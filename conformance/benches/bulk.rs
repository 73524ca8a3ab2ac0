//! Bulk transfer in memory: 16 MiB one way per iteration, MSS 1460 (MTU
//! 1500), checksums computed and verified, the application copying every
//! byte in (SEND from a pattern) and out (RECEIVE into a 64 KiB buffer).
//!
//! Three stacks in the same harness shape (`conformance::smoltcp_peer`: two
//! endpoints of the same stack, an ideal in-memory link, virtual time):
//! our table engine, our per-state engine, smoltcp 0.14. Same buffers
//! (256 KiB each way), same ACK policy (delayed ACK 10 ms, an immediate ACK
//! once two full segments are unacknowledged), Nagle on, no timestamps
//! (smoltcp sends them only with a generator), NewReno / Reno.
//!
//! Throughput is in bytes (criterion prints GiB/s; Gbit/s = GiB/s × 8.59);
//! the segments per iteration are printed once so that segments/s can be
//! derived.

use std::net::SocketAddr;
use std::time::Duration as WallDuration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tcp_core::cc::CcAlgorithm;
use tcp_core::engine::Engine;
use tcp_core::{Config, PerStateEngine, TableEngine};

use conformance::smoltcp_peer::*;

const BYTES: u64 = 16 << 20;
const PORT: u16 = 5001;
const BUFFER: usize = 256 * 1024;

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

/// One transfer; returns the packets carried A→B and B→A.
fn transfer<A: Peer, B: Peer>(a: A, b: B) -> (u64, u64) {
    let mut pair = Pair::new(a, b, LinkConfig::ideal(), 7);
    let mut client = Flow::client(
        SocketAddr::new(ADDR_B, PORT),
        BYTES,
        0,
        ClosePolicy::AfterSend,
    );
    let mut server = Flow::server(PORT, 0, BYTES, ClosePolicy::AfterEof);
    client.verify = false;
    server.verify = false;
    pair.run(
        &mut client,
        &mut server,
        Duration::from_secs(3_600),
        |_, c, s| c.is_complete() && s.is_complete(),
    )
    .expect("transfer completes");
    assert_eq!(server.received, BYTES);
    (pair.stats_ab().delivered, pair.stats_ba().delivered)
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

fn bulk(c: &mut Criterion) {
    let (a, b) = ours(TableEngine);
    let table = transfer(a, b);
    let (a, b) = ours(PerStateEngine);
    let per_state = transfer(a, b);
    let (a, b) = smol();
    let smoltcp = transfer(a, b);
    for (name, (ab, ba)) in [
        ("table", table),
        ("per_state", per_state),
        ("smoltcp", smoltcp),
    ] {
        eprintln!("bulk/{name}: {ab} packets A→B (data), {ba} packets B→A (ACKs) per 16 MiB");
    }

    let mut group = c.benchmark_group("bulk");
    group.throughput(Throughput::Bytes(BYTES));
    group.sample_size(20);
    group.bench_function("table", |bench| {
        bench.iter(|| {
            let (a, b) = ours(TableEngine);
            transfer(a, b)
        })
    });
    group.bench_function("per_state", |bench| {
        bench.iter(|| {
            let (a, b) = ours(PerStateEngine);
            transfer(a, b)
        })
    });
    group.bench_function("smoltcp", |bench| {
        bench.iter(|| {
            let (a, b) = smol();
            transfer(a, b)
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
    targets = bulk
}
criterion_main!(benches);

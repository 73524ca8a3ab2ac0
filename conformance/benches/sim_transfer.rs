//! The lab transfer: 16 MiB from one tcp-core endpoint to another over a
//! simulated 20 ms RTT, 100 Mbit/s link in `conformance::sim`, in virtual
//! time. The figure is wall time per run (target: well under 1 s), for the
//! table and the per-state engine, with the default configuration a lab
//! user gets (RFC timers, delayed ACK, timestamps, SACK, traces on).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration as WallDuration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tcp_core::engine::Engine;
use tcp_core::{Config, ConnHandle, ConnectionError, Endpoint, EndpointError};
use tcp_core::{PerStateEngine, TableEngine};

use conformance::sim::{Bandwidth, Duration, Host, Instant, LinkConfig, Simulator};

mod common;

const BYTES: u64 = 16 << 20;
const PORT: u16 = 5001;
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

/// An endpoint with a one-connection application: the client sends
/// `BYTES` of zeros then closes; the server reads to the end.
struct LabHost<E: Engine + Clone> {
    ep: Endpoint<E>,
    conn: Option<ConnHandle>,
    client: bool,
    sent: u64,
    received: u64,
    eof: bool,
    closed: bool,
    wants: Option<Instant>,
    data: Vec<u8>,
}

impl<E: Engine + Clone> LabHost<E> {
    fn new(engine: E, client: bool) -> LabHost<E> {
        let addr = if client { CLIENT } else { SERVER };
        let mut ep = Endpoint::new(Config::default(), vec![addr], engine, u64::from(client));
        if !client {
            ep.listen(PORT, 8).expect("listen");
        }
        LabHost {
            ep,
            conn: None,
            client,
            sent: 0,
            received: 0,
            eof: false,
            closed: false,
            wants: None,
            data: vec![0; 64 * 1024],
        }
    }

    fn app(&mut self, now: Instant) {
        if self.conn.is_none() {
            self.conn = if self.client {
                Some(
                    self.ep
                        .connect(now, SocketAddr::new(SERVER, PORT))
                        .expect("connect"),
                )
            } else {
                self.ep.accept(PORT)
            };
        }
        let Some(h) = self.conn else { return };
        while self.client && self.sent < BYTES {
            let len = (BYTES - self.sent).min(self.data.len() as u64) as usize;
            match self.ep.send(now, h, &self.data[..len]) {
                Ok(n) if n > 0 => self.sent += n as u64,
                Ok(_) | Err(EndpointError::Connection(ConnectionError::WouldBlock)) => break,
                // SEND in SYN-SENT may be refused by a stack that does not
                // queue it; try again after the handshake.
                Err(_) => break,
            }
        }
        if self.client && self.sent == BYTES && !self.closed {
            self.closed = self.ep.close(now, h).is_ok();
        }
        while !self.client && !self.eof {
            match self.ep.recv(now, h, &mut self.data) {
                Ok(0) => {
                    self.eof = true;
                    let _ = self.ep.close(now, h);
                }
                Ok(n) => self.received += n as u64,
                Err(_) => break,
            }
        }
        while self.ep.poll_event().is_some() {}
    }
}

impl<E: Engine + Clone> Host for LabHost<E> {
    fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        let _ = self.ep.handle_packet(now, packet);
        self.app(now);
        self.wants = self.ep.poll_timeout();
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if self.conn.is_none() && self.client {
            self.app(now);
        }
        let sent = self.ep.poll_transmit(now, buf).map(|t| t.len);
        self.wants = self.ep.poll_timeout();
        sent
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.wants
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.app(now);
        self.wants = self.ep.poll_timeout();
    }
}

/// One lab run; returns the virtual time the transfer took.
fn lab_run<E: Engine + Clone>(engine: E) -> Instant {
    let mut sim = Simulator::new(42);
    let a = sim.add_host(LabHost::new(engine.clone(), true));
    let b = sim.add_host(LabHost::new(engine, false));
    let link = LinkConfig::new()
        .rtt(Duration::from_millis(20))
        .bandwidth(Bandwidth::bits_per_sec(100_000_000));
    sim.connect_duplex(a, b, &link).expect("link");
    sim.run_while(|s| !s.host(b).eof);
    let host = sim.host(b);
    assert!(host.eof, "the transfer finished");
    assert_eq!(host.received, BYTES);
    sim.now()
}

fn sim_transfer(c: &mut Criterion) {
    for (name, took) in [
        ("table", lab_run(TableEngine)),
        ("per_state", lab_run(PerStateEngine)),
    ] {
        eprintln!(
            "sim/{name}: 16 MiB over 20 ms RTT, 100 Mbit/s took {:.3} s of virtual time",
            took.as_secs_f64()
        );
    }
    let mut group = c.benchmark_group("sim_16mib_20ms_rtt");
    group.throughput(Throughput::Bytes(BYTES));
    group.sample_size(10);
    group.bench_function("table", |b| b.iter(|| lab_run(TableEngine)));
    group.bench_function("per_state", |b| b.iter(|| lab_run(PerStateEngine)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config(WallDuration::from_secs(5));
    targets = sim_transfer
}
criterion_main!(benches);

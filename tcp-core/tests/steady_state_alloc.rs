//! Per-segment work allocates nothing in the steady state of a bulk
//! transfer: a counting global allocator counts allocations made inside the
//! stack's calls (the test harness's own packet copies are not counted),
//! over the middle of a 32 MiB transfer between two endpoints.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use tcp_core::engine::{Engine, PerStateEngine, TableEngine};
use tcp_core::{Config, ConnectionError, Duration, Endpoint, EndpointError, Instant};

mod common;
use common::{counted, take_allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes delivered; allocations counted between 25% and 75% of the transfer.
fn steady_state_allocations<E: Engine + Clone>(engine: E) -> (usize, usize) {
    const BYTES: usize = 32 * 1024 * 1024;
    let a_ip: IpAddr = "10.2.0.1".parse().unwrap();
    let b_ip: IpAddr = "10.2.0.2".parse().unwrap();
    let config = Config {
        trace: false,
        ..Config::default()
    };
    let mut a = Endpoint::new(config.clone(), vec![a_ip], engine.clone(), 1);
    let mut b = Endpoint::new(config, vec![b_ip], engine, 2);
    let mut now = Instant::ZERO;
    b.listen(80, 4).unwrap();
    let client = a.connect(now, SocketAddr::new(b_ip, 80)).unwrap();
    let mut server = None;
    let mut ab: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut ba: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let delay = Duration::from_millis(1);
    let mut buf = vec![0u8; 2048];
    let chunk = vec![7u8; 64 * 1024];
    let mut rx = vec![0u8; 64 * 1024];
    let (mut sent, mut received) = (0usize, 0usize);
    let mut measured = 0usize;
    while received < BYTES {
        let in_window = received > BYTES / 4 && received < BYTES * 3 / 4;
        if server.is_none() {
            server = b.accept(80);
        }
        if sent < BYTES {
            match counted(in_window, || {
                a.send(now, client, &chunk[..chunk.len().min(BYTES - sent)])
            }) {
                Ok(n) => sent += n,
                Err(EndpointError::Connection(ConnectionError::WouldBlock)) => {}
                Err(e) => panic!("send: {e}"),
            }
        }
        if let Some(h) = server {
            loop {
                match counted(in_window, || b.recv(now, h, &mut rx)) {
                    Ok(0) => break,
                    Ok(n) => received += n,
                    Err(EndpointError::Connection(ConnectionError::WouldBlock)) => break,
                    Err(e) => panic!("recv: {e}"),
                }
            }
        }
        while let Some(t) = counted(in_window, || a.poll_transmit(now, &mut buf)) {
            ab.push_back((now + delay, buf[..t.len].to_vec()));
        }
        while let Some(t) = counted(in_window, || b.poll_transmit(now, &mut buf)) {
            ba.push_back((now + delay, buf[..t.len].to_vec()));
        }
        counted(in_window, || while a.poll_event().is_some() {});
        counted(in_window, || while b.poll_event().is_some() {});
        let next = [
            ab.front().map(|p| p.0),
            ba.front().map(|p| p.0),
            counted(in_window, || a.poll_timeout()),
            counted(in_window, || b.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
        .expect("something is always pending during a transfer");
        now = now.max(next);
        while ab.front().is_some_and(|p| p.0 <= now) {
            let (_, p) = ab.pop_front().unwrap();
            counted(in_window, || b.handle_packet(now, &p)).unwrap();
        }
        while ba.front().is_some_and(|p| p.0 <= now) {
            let (_, p) = ba.pop_front().unwrap();
            counted(in_window, || a.handle_packet(now, &p)).unwrap();
        }
        counted(in_window, || a.handle_timeout(now));
        counted(in_window, || b.handle_timeout(now));
        if in_window {
            measured += 1;
        }
    }
    assert!(
        measured > 100,
        "the measured window must cover many segments ({measured} steps)"
    );
    (received, take_allocations())
}

#[test]
fn established_bulk_steady_state_table_engine_allocates_nothing() {
    let (bytes, allocations) = steady_state_allocations(TableEngine);
    assert_eq!(bytes, 32 * 1024 * 1024);
    assert_eq!(
        allocations, 0,
        "allocations inside the stack in the steady state"
    );
}

#[test]
fn established_bulk_steady_state_per_state_engine_allocates_nothing() {
    let (bytes, allocations) = steady_state_allocations(PerStateEngine);
    assert_eq!(bytes, 32 * 1024 * 1024);
    assert_eq!(
        allocations, 0,
        "allocations inside the stack in the steady state"
    );
}

#[test]
fn counting_allocator_counts_allocations_inside_counted_calls() {
    // The check can fail: an allocation inside a counted call is seen.
    take_allocations();
    let v = counted(true, || vec![1u8; 100]);
    assert_eq!(v.len(), 100);
    assert!(take_allocations() >= 1);
    let w = counted(false, || vec![1u8; 100]);
    assert_eq!(w.len(), 100);
    assert_eq!(take_allocations(), 0);
}

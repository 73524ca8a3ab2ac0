//! An endpoint keeps finished connections (TCB, buffers and all) and makes
//! new ones by recycling them in place. RFC 9293 §3.3.2: once CLOSED, "the
//! TCB is deleted", so nothing of the old connection may show in the new
//! one: each lifecycle on a recycled connection carries exactly its own
//! bytes, and once the pools are warm a lifecycle allocates nothing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tcp_core::engine::{Engine, PerStateEngine, TableEngine};
use tcp_core::{
    Config, ConnEvent, ConnHandle, ConnectionError, Duration, Endpoint, EndpointError, Instant,
    TcpState,
};

mod common;
use common::{allocations_in, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const PORT: u16 = 80;
const BUFFER: usize = 16 * 1024;
const MSL: Duration = Duration::from_millis(1);

fn config() -> Config {
    Config {
        send_buffer: BUFFER,
        recv_buffer: BUFFER,
        msl: MSL,
        trace: false,
        ..Config::default()
    }
}

/// A at 10.0.0.1 and B at 10.0.0.2, B listening on `PORT`.
fn endpoints<E: Engine + Clone>(engine: E) -> (Endpoint<E>, Endpoint<E>) {
    let a = Endpoint::new(config(), vec![A], engine.clone(), 1);
    let mut b = Endpoint::new(config(), vec![B], engine, 2);
    b.listen(PORT, 4).expect("listen");
    (a, b)
}

/// The test's own buffers, made once so that counting allocations sees
/// only the endpoints'.
struct Scratch {
    packet: Vec<u8>,
    chunk: Vec<u8>,
    got: Vec<u8>,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            packet: vec![0; 2048],
            chunk: vec![0; 4096],
            got: Vec::with_capacity(64 * 1024),
        }
    }
}

/// Moves every packet both ways, at `now`, until neither side sends more.
fn exchange<E: Engine + Clone>(
    a: &mut Endpoint<E>,
    b: &mut Endpoint<E>,
    now: Instant,
    buf: &mut [u8],
) {
    loop {
        let mut moved = false;
        while let Some(t) = a.poll_transmit(now, buf) {
            b.handle_packet(now, &buf[..t.len])
                .expect("A's packet parses");
            moved = true;
        }
        while let Some(t) = b.poll_transmit(now, buf) {
            a.handle_packet(now, &buf[..t.len])
                .expect("B's packet parses");
            moved = true;
        }
        if !moved {
            return;
        }
    }
}

/// The bytes of lifecycle `k`: a length and contents of its own.
fn payload(k: usize) -> Vec<u8> {
    (0..700 * k + 13)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(k as u8 * 29))
        .collect()
}

/// One lifecycle: A connects, sends `data` and closes; B accepts, reads to
/// the end and closes; A's TIME-WAIT runs out. What B read is left in
/// `scratch.got`. Returns A's and B's handles of the finished connection.
fn lifecycle<E: Engine + Clone>(
    a: &mut Endpoint<E>,
    b: &mut Endpoint<E>,
    now: &mut Instant,
    data: &[u8],
    scratch: &mut Scratch,
) -> (ConnHandle, ConnHandle) {
    let h = a.connect(*now, SocketAddr::new(B, PORT)).expect("connect");
    exchange(a, b, *now, &mut scratch.packet);
    assert_eq!(
        a.connection(h).map(|c| c.state()),
        Some(TcpState::Established)
    );
    assert_eq!(a.send(*now, h, data).expect("send"), data.len());
    a.close(*now, h).expect("close");
    exchange(a, b, *now, &mut scratch.packet);
    let hb = b.accept(PORT).expect("B accepted the connection");
    scratch.got.clear();
    loop {
        match b.recv(*now, hb, &mut scratch.chunk) {
            Ok(0) => break,
            Ok(n) => scratch.got.extend_from_slice(&scratch.chunk[..n]),
            Err(EndpointError::Connection(ConnectionError::WouldBlock)) => {
                exchange(a, b, *now, &mut scratch.packet);
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
    b.close(*now, hb).expect("close");
    exchange(a, b, *now, &mut scratch.packet);
    // RFC 9293 §3.10.8: TIME-WAIT lasts 2 MSL.
    *now += MSL * 2 + Duration::from_millis(1);
    a.handle_timeout(*now);
    b.handle_timeout(*now);
    exchange(a, b, *now, &mut scratch.packet);
    assert_eq!(a.connection_count(), 0, "A's connection is gone");
    assert_eq!(b.connection_count(), 0, "B's connection is gone");
    while let Some((_, ev)) = a.poll_event() {
        assert!(!matches!(ev, ConnEvent::Error(_)), "A: {ev:?}");
    }
    while let Some((_, ev)) = b.poll_event() {
        assert!(!matches!(ev, ConnEvent::Error(_)), "B: {ev:?}");
    }
    (h, hb)
}

fn recycled_lifecycles_carry_only_their_own_bytes<E: Engine + Clone>(engine: E) {
    let (mut a, mut b) = endpoints(engine);
    let mut now = Instant::ZERO;
    let mut scratch = Scratch::new();
    for k in 0..8 {
        let data = payload(k);
        // Shorter after longer and the other way round: a recycled buffer
        // that leaked its old bytes or lengths would show here.
        let data = if k % 2 == 0 {
            data
        } else {
            data[..data.len() / 3].to_vec()
        };
        let _ = lifecycle(&mut a, &mut b, &mut now, &data, &mut scratch);
        assert_eq!(scratch.got, data, "lifecycle {k}");
    }
}

#[test]
fn closed_connect_on_recycled_connection_carries_only_its_own_bytes_table() {
    recycled_lifecycles_carry_only_their_own_bytes(TableEngine);
}

#[test]
fn closed_connect_on_recycled_connection_carries_only_its_own_bytes_per_state() {
    recycled_lifecycles_carry_only_their_own_bytes(PerStateEngine);
}

#[test]
fn closed_connect_after_finished_connection_allocates_nothing() {
    let (mut a, mut b) = endpoints(TableEngine);
    let mut now = Instant::ZERO;
    let mut scratch = Scratch::new();
    let data = payload(3);
    // The first lifecycle allocates the connections (TCB box, two rings and
    // an event queue on each side) and grows the endpoints' maps and queues.
    let first = allocations_in(|| {
        let _ = lifecycle(&mut a, &mut b, &mut now, &data, &mut scratch);
    });
    assert!(
        first >= 6,
        "the first lifecycle made only {first} allocations"
    );
    // Let every pool and queue reach its working size: the timer heap keeps
    // the deadlines finished connections leave behind (a 1 s RTO outlives
    // a 3 ms lifecycle) until they outnumber the live ones, then drops them.
    for _ in 0..40 {
        let _ = lifecycle(&mut a, &mut b, &mut now, &data, &mut scratch);
    }
    // From then on a lifecycle runs on recycled connections and reused
    // capacity: no allocation at all, however many follow (a heap that kept
    // every stale deadline would reallocate at 64 and 128 entries).
    for k in 0..100 {
        let n = allocations_in(|| {
            let _ = lifecycle(&mut a, &mut b, &mut now, &data, &mut scratch);
        });
        assert_eq!(n, 0, "lifecycle {k} after the first made {n} allocations");
        assert_eq!(scratch.got, data);
    }
}

/// A handle kept past the end of its connection names a slot that the next
/// connection reuses: every call with it is refused, and the connection now
/// in the slot is untouched (RFC 9293 §3.3.2: the old TCB is deleted).
fn stale_handle_is_refused<E: Engine + Clone>(engine: E) {
    let (mut a, mut b) = endpoints(engine);
    let mut now = Instant::ZERO;
    let mut scratch = Scratch::new();
    let (old_a, old_b) = lifecycle(&mut a, &mut b, &mut now, &payload(1), &mut scratch);
    let new_a = a.connect(now, SocketAddr::new(B, PORT)).expect("connect");
    assert_eq!(
        new_a.slot(),
        old_a.slot(),
        "the new connection reuses the slot"
    );
    assert_ne!(new_a, old_a);
    let refused = Err(EndpointError::UnknownHandle(old_a));
    assert!(a.connection(old_a).is_none());
    assert!(a.connection_mut(old_a).is_none());
    assert_eq!(
        a.send(now, old_a, b"not for the new connection"),
        refused.clone().map(|()| 0)
    );
    assert_eq!(
        a.recv(now, old_a, &mut scratch.chunk),
        refused.clone().map(|()| 0)
    );
    assert_eq!(a.shutdown(now, old_a), refused);
    assert_eq!(a.close(now, old_a), refused);
    assert_eq!(a.abort(now, old_a), refused);
    assert_eq!(a.handles(), vec![new_a]);
    // The new connection goes on as if the old handle had never been used.
    assert_eq!(
        a.connection(new_a).map(|c| c.state()),
        Some(TcpState::SynSent)
    );
    exchange(&mut a, &mut b, now, &mut scratch.packet);
    assert_eq!(
        a.connection(new_a).map(|c| c.state()),
        Some(TcpState::Established)
    );
    let new_b = b.accept(PORT).expect("B accepted the new connection");
    assert_eq!(new_b.slot(), old_b.slot());
    assert_eq!(
        b.close(now, old_b),
        Err(EndpointError::UnknownHandle(old_b))
    );
    assert_eq!(a.send(now, new_a, b"hello").expect("send"), 5);
    exchange(&mut a, &mut b, now, &mut scratch.packet);
    let n = b.recv(now, new_b, &mut scratch.chunk).expect("recv");
    assert_eq!(&scratch.chunk[..n], b"hello");
}

/// Events queued by a connection that is gone before the application polls
/// them still carry that connection's handle, not the handle of the one
/// that took its slot since.
fn events_keep_their_connections_handle<E: Engine + Clone>(engine: E) {
    let (mut a, mut b) = endpoints(engine);
    let now = Instant::ZERO;
    let mut scratch = Scratch::new();
    let old = a.connect(now, SocketAddr::new(B, PORT)).expect("connect");
    exchange(&mut a, &mut b, now, &mut scratch.packet);
    a.abort(now, old).expect("abort");
    exchange(&mut a, &mut b, now, &mut scratch.packet);
    assert!(
        a.connection(old).is_none(),
        "the aborted connection is gone"
    );
    let new = a
        .connect(now, SocketAddr::new(B, PORT))
        .expect("connect again");
    assert_eq!(new.slot(), old.slot(), "the new connection reuses the slot");
    exchange(&mut a, &mut b, now, &mut scratch.packet);
    assert_eq!(
        a.connection(new).map(|c| c.state()),
        Some(TcpState::Established)
    );
    let events: Vec<(ConnHandle, ConnEvent)> = std::iter::from_fn(|| a.poll_event()).collect();
    let connected: Vec<ConnHandle> = events
        .iter()
        .filter(|(_, ev)| *ev == ConnEvent::Connected)
        .map(|&(h, _)| h)
        .collect();
    assert_eq!(connected, vec![old, new], "events: {events:?}");
    // The old connection's events all come first, under its own handle.
    let first_new = events.iter().position(|&(h, _)| h == new);
    assert!(
        events.iter().all(|&(h, _)| h == old || h == new),
        "events: {events:?}"
    );
    assert!(
        events[first_new.unwrap_or(events.len())..]
            .iter()
            .all(|&(h, _)| h == new),
        "events: {events:?}"
    );
}

#[test]
fn established_abort_then_reused_slot_events_keep_their_handles_table() {
    events_keep_their_connections_handle(TableEngine);
}

#[test]
fn established_abort_then_reused_slot_events_keep_their_handles_per_state() {
    events_keep_their_connections_handle(PerStateEngine);
}

#[test]
fn closed_send_on_stale_handle_refused_table() {
    stale_handle_is_refused(TableEngine);
}

#[test]
fn closed_send_on_stale_handle_refused_per_state() {
    stale_handle_is_refused(PerStateEngine);
}

//! Two endpoints through an in-memory link with loss, reordering and
//! duplication: 10 MiB each way at once, delivered exactly, on the table and
//! the per-state engines, with NewReno and with CUBIC.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use tcp_core::cc::CcAlgorithm;
use tcp_core::engine::{Engine, PerStateEngine, TableEngine};
use tcp_core::{
    Config, ConnEvent, ConnHandle, ConnectionError, Duration, Endpoint, EndpointError, Instant,
    TcpState,
};

/// A deterministic PRNG (SplitMix64) for the link's impairments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// One direction of the link: fixed delay, random loss, reordering (a
/// packet is held back by an extra delay) and duplication.
struct Link {
    queue: VecDeque<(Instant, Vec<u8>)>,
    delay: Duration,
    loss: f64,
    reorder: f64,
    duplicate: f64,
    rng: Rng,
    stats: [u64; 4],
}

impl Link {
    fn new(seed: u64, loss: f64, reorder: f64, duplicate: f64) -> Link {
        Link {
            queue: VecDeque::new(),
            delay: Duration::from_millis(5),
            loss,
            reorder,
            duplicate,
            rng: Rng(seed),
            stats: [0; 4],
        }
    }

    fn send(&mut self, now: Instant, packet: &[u8]) {
        self.stats[0] += 1;
        if self.rng.chance(self.loss) {
            self.stats[1] += 1;
            return;
        }
        let mut at = now + self.delay;
        if self.rng.chance(self.reorder) {
            self.stats[2] += 1;
            at += Duration::from_millis(3);
        }
        if self.rng.chance(self.duplicate) {
            self.stats[3] += 1;
            self.insert(at + Duration::from_micros(100), packet.to_vec());
        }
        self.insert(at, packet.to_vec());
    }

    fn insert(&mut self, at: Instant, packet: Vec<u8>) {
        let pos = self
            .queue
            .iter()
            .rposition(|(t, _)| *t <= at)
            .map_or(0, |p| p + 1);
        self.queue.insert(pos, (at, packet));
    }

    fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|(t, _)| *t)
    }
}

struct Side<E: Engine + Clone> {
    ep: Endpoint<E>,
    conn: Option<ConnHandle>,
    to_send: usize,
    sent: usize,
    received: usize,
    eof: bool,
    shut: bool,
}

fn pattern(i: usize, salt: u8) -> u8 {
    (i as u8)
        .wrapping_mul(31)
        .wrapping_add((i >> 8) as u8)
        .wrapping_add(salt)
}

fn pump<E: Engine + Clone>(
    side: &mut Side<E>,
    now: Instant,
    salt_out: u8,
    salt_in: u8,
    chunk: &mut [u8],
) {
    let Some(h) = side.conn else { return };
    while side.sent < side.to_send {
        let n = (side.to_send - side.sent).min(chunk.len());
        for (k, b) in chunk[..n].iter_mut().enumerate() {
            *b = pattern(side.sent + k, salt_out);
        }
        match side.ep.send(now, h, &chunk[..n]) {
            Ok(k) => side.sent += k,
            Err(EndpointError::Connection(ConnectionError::WouldBlock)) => break,
            Err(e) => panic!("send failed: {e}"),
        }
    }
    if side.sent == side.to_send && !side.shut {
        side.ep.shutdown(now, h).expect("shutdown");
        side.shut = true;
    }
    // After the end of stream the connection may be gone (LAST-ACK → CLOSED).
    while !side.eof {
        match side.ep.recv(now, h, chunk) {
            Ok(0) => {
                side.eof = true;
                break;
            }
            Ok(n) => {
                for (k, b) in chunk[..n].iter().enumerate() {
                    assert_eq!(
                        *b,
                        pattern(side.received + k, salt_in),
                        "byte {} corrupted",
                        side.received + k
                    );
                }
                side.received += n;
            }
            Err(EndpointError::Connection(ConnectionError::WouldBlock)) => break,
            Err(e) => panic!("recv failed: {e}"),
        }
    }
}

/// Runs the transfer; returns (virtual duration, packets sent, packets lost).
fn transfer<E: Engine + Clone>(
    engine: E,
    cc: CcAlgorithm,
    bytes: usize,
    loss: f64,
    seed: u64,
) -> (Instant, u64, u64) {
    let a_ip: IpAddr = "10.1.0.1".parse().unwrap();
    let b_ip: IpAddr = "10.1.0.2".parse().unwrap();
    let config = Config {
        congestion_control: cc,
        msl: Duration::from_millis(500),
        rto_min: Duration::from_millis(200),
        trace: false,
        ..Config::default()
    };
    let mut a = Side {
        ep: Endpoint::new(config.clone(), vec![a_ip], engine.clone(), seed),
        conn: None,
        to_send: bytes,
        sent: 0,
        received: 0,
        eof: false,
        shut: false,
    };
    let mut b = Side {
        ep: Endpoint::new(config, vec![b_ip], engine, seed + 1),
        conn: None,
        to_send: bytes,
        sent: 0,
        received: 0,
        eof: false,
        shut: false,
    };
    let mut ab = Link::new(seed * 3 + 1, loss, loss, loss);
    let mut ba = Link::new(seed * 5 + 7, loss, loss, loss);
    let mut now = Instant::ZERO;
    b.ep.listen(5001, 16).expect("listen");
    a.conn = Some(
        a.ep.connect(now, SocketAddr::new(b_ip, 5001))
            .expect("connect"),
    );
    let mut buf = vec![0u8; 2048];
    let mut chunk = vec![0u8; 128 * 1024];
    let mut steps = 0u64;
    loop {
        steps += 1;
        assert!(
            steps < 50_000_000,
            "transfer stuck at {now:?}: a sent {} got {}, b sent {} got {}",
            a.sent,
            a.received,
            b.sent,
            b.received
        );
        if b.conn.is_none() {
            b.conn = b.ep.accept(5001);
        }
        pump(&mut a, now, 1, 2, &mut chunk);
        pump(&mut b, now, 2, 1, &mut chunk);
        while let Some(t) = a.ep.poll_transmit(now, &mut buf) {
            ab.send(now, &buf[..t.len]);
        }
        while let Some(t) = b.ep.poll_transmit(now, &mut buf) {
            ba.send(now, &buf[..t.len]);
        }
        while a.ep.poll_event().is_some() {}
        while let Some((_, e)) = b.ep.poll_event() {
            assert!(!matches!(e, ConnEvent::Error(_)), "server error {e:?}");
        }
        let done = a.eof && b.eof && a.received == bytes && b.received == bytes;
        let states_done = done
            && a.conn
                .and_then(|h| a.ep.connection(h))
                .is_none_or(|c| c.state() == TcpState::Closed)
            && b.conn
                .and_then(|h| b.ep.connection(h))
                .is_none_or(|c| c.state() == TcpState::Closed);
        if states_done {
            return (now, ab.stats[0] + ba.stats[0], ab.stats[1] + ba.stats[1]);
        }
        // Advance to the next event: a packet arrival or a timer.
        let next = [
            ab.next_due(),
            ba.next_due(),
            a.ep.poll_timeout(),
            b.ep.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else {
            panic!(
                "deadlock at {now:?}: a sent {} got {}, b sent {} got {}",
                a.sent, a.received, b.sent, b.received
            )
        };
        now = now.max(next);
        while ab.next_due().is_some_and(|t| t <= now) {
            let (_, p) = ab.queue.pop_front().unwrap();
            let _ = b.ep.handle_packet(now, &p);
        }
        while ba.next_due().is_some_and(|t| t <= now) {
            let (_, p) = ba.queue.pop_front().unwrap();
            let _ = a.ep.handle_packet(now, &p);
        }
        a.ep.handle_timeout(now);
        b.ep.handle_timeout(now);
    }
}

const TEN_MIB: usize = 10 * 1024 * 1024;

#[test]
fn established_bulk_lossy_link_table_newreno_delivers_exactly() {
    let (t, sent, lost) = transfer(TableEngine, CcAlgorithm::NewReno, TEN_MIB, 0.01, 1);
    println!(
        "table/newreno: {:.3}s virtual, {sent} packets, {lost} lost",
        t.as_secs_f64()
    );
    assert!(lost > 0, "the link must actually lose packets");
}

#[test]
fn established_bulk_lossy_link_per_state_newreno_delivers_exactly() {
    let (t, sent, lost) = transfer(PerStateEngine, CcAlgorithm::NewReno, TEN_MIB, 0.01, 2);
    println!(
        "per-state/newreno: {:.3}s virtual, {sent} packets, {lost} lost",
        t.as_secs_f64()
    );
    assert!(lost > 0);
}

#[test]
fn established_bulk_lossy_link_table_cubic_delivers_exactly() {
    let (t, sent, lost) = transfer(TableEngine, CcAlgorithm::Cubic, TEN_MIB, 0.01, 3);
    println!(
        "table/cubic: {:.3}s virtual, {sent} packets, {lost} lost",
        t.as_secs_f64()
    );
    assert!(lost > 0);
}

#[test]
fn established_bulk_lossy_link_per_state_cubic_delivers_exactly() {
    let (t, sent, lost) = transfer(PerStateEngine, CcAlgorithm::Cubic, TEN_MIB, 0.01, 4);
    println!(
        "per-state/cubic: {:.3}s virtual, {sent} packets, {lost} lost",
        t.as_secs_f64()
    );
    assert!(lost > 0);
}

#[test]
fn established_bulk_clean_link_both_engines_take_identical_time() {
    // With no impairments the engines must be indistinguishable, to the nanosecond.
    let a = transfer(TableEngine, CcAlgorithm::NewReno, 2 * 1024 * 1024, 0.0, 9);
    let b = transfer(
        PerStateEngine,
        CcAlgorithm::NewReno,
        2 * 1024 * 1024,
        0.0,
        9,
    );
    assert_eq!(a, b);
}

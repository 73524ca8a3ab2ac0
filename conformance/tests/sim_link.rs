//! The simulator's links and engine, driven by small hosts written here:
//! a scheduled sender, a recording sink, an echo host, a pinger and a
//! timer-only host.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::rc::Rc;

use conformance::sim::{
    Bandwidth, Capture, ConfigError, DropReason, Host, HostId, LinkConfig, PacketEventKind,
    PacketId, PacketRecord, RunError, Simulator,
};
use tcp_core::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Test hosts

/// Sends packets at scheduled times (through its timer), records every
/// arrival, and optionally echoes what it receives.
#[derive(Default)]
struct TestHost {
    schedule: VecDeque<(Instant, Vec<u8>)>,
    ready: VecDeque<Vec<u8>>,
    received: Vec<(Instant, Vec<u8>)>,
    echo: bool,
    fired: Vec<Instant>,
}

impl TestHost {
    fn sender(schedule: impl IntoIterator<Item = (Instant, Vec<u8>)>) -> TestHost {
        let mut schedule: Vec<_> = schedule.into_iter().collect();
        schedule.sort_by_key(|(at, _)| *at);
        TestHost {
            schedule: schedule.into(),
            ..TestHost::default()
        }
    }

    fn sink() -> TestHost {
        TestHost::default()
    }

    fn echo() -> TestHost {
        TestHost {
            echo: true,
            ..TestHost::default()
        }
    }

    /// Sequence numbers of the received packets, in arrival order.
    fn received_seqs(&self) -> Vec<u32> {
        self.received.iter().map(|(_, p)| seq_of(p)).collect()
    }
}

impl Host for TestHost {
    fn handle_packet(&mut self, _now: Instant, packet: &[u8]) {
        self.received.push((_now, packet.to_vec()));
        if self.echo {
            self.ready.push_back(packet.to_vec());
        }
    }

    fn poll_transmit(&mut self, _now: Instant, buf: &mut [u8]) -> Option<usize> {
        let packet = self.ready.pop_front()?;
        buf[..packet.len()].copy_from_slice(&packet);
        Some(packet.len())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.schedule.front().map(|(at, _)| *at)
    }

    fn handle_timeout(&mut self, now: Instant) {
        let wanted = self
            .poll_timeout()
            .expect("timeout fired without being asked for");
        assert_eq!(now, wanted, "timeout fired at the wrong time");
        self.fired.push(now);
        while self.schedule.front().is_some_and(|(at, _)| *at <= now) {
            let (_, packet) = self.schedule.pop_front().unwrap();
            self.ready.push_back(packet);
        }
    }
}

/// A packet of `len` bytes (at least 4) starting with `seq`, filled with a
/// pattern that depends on `seq`.
fn packet(seq: u32, len: usize) -> Vec<u8> {
    assert!(len >= 4);
    let mut p = seq.to_be_bytes().to_vec();
    p.extend((4..len).map(|i| (seq as usize * 31 + i * 7) as u8));
    p
}

fn seq_of(packet: &[u8]) -> u32 {
    u32::from_be_bytes(packet[..4].try_into().unwrap())
}

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// `count` packets of `len` bytes, one every `interval` from time zero.
fn constant_rate(count: u32, len: usize, interval: Duration) -> Vec<(Instant, Vec<u8>)> {
    (0..count)
        .map(|i| (Instant::ZERO + interval * i, packet(i, len)))
        .collect()
}

/// A sender and a sink joined by one directed link.
fn pair(
    seed: u64,
    schedule: Vec<(Instant, Vec<u8>)>,
    config: LinkConfig,
) -> (Simulator<TestHost>, HostId, HostId) {
    let mut sim = Simulator::new(seed);
    let a = sim.add_host(TestHost::sender(schedule));
    let b = sim.add_host(TestHost::sink());
    sim.connect(a, b, &config).unwrap();
    (sim, a, b)
}

/// Maps packet ids to the sequence number in the bytes of their `Sent`
/// event (duplicates map to their original's sequence number).
fn seq_by_id(log: &[PacketRecord]) -> HashMap<PacketId, u32> {
    let mut map = HashMap::new();
    for r in log {
        if let PacketEventKind::Sent | PacketEventKind::Duplicated { .. } = r.event.kind {
            map.insert(r.event.packet, seq_of(r.bytes.as_ref().unwrap()));
        }
    }
    map
}

/// Sequence numbers of the packets dropped for `reason`, in log order.
fn dropped_seqs(log: &[PacketRecord], reason: DropReason) -> Vec<u32> {
    let seqs = seq_by_id(log);
    log.iter()
        .filter(|r| r.event.kind == PacketEventKind::Dropped(reason))
        .map(|r| seqs[&r.event.packet])
        .collect()
}

// ---------------------------------------------------------------------------
// Delay, rate, queue

#[test]
fn delay_is_exact_for_every_send_time() {
    let sends = [
        Instant::ZERO,
        ms(3),
        Instant::from_nanos(3_000_001),
        ms(100),
    ];
    let schedule = sends
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, packet(i as u32, 60)));
    let (mut sim, _, b) = pair(
        1,
        schedule.collect(),
        LinkConfig::new().delay(Duration::from_millis(7)),
    );
    sim.record_log(Capture::Events);
    sim.run_until_idle(100).unwrap();
    let arrivals: Vec<Instant> = sim.host(b).received.iter().map(|(t, _)| *t).collect();
    let expected: Vec<Instant> = sends
        .iter()
        .map(|&t| t + Duration::from_millis(7))
        .collect();
    assert_eq!(arrivals, expected);
    assert_eq!(sim.host(b).received_seqs(), [0, 1, 2, 3]);
    // The log agrees: each packet is sent at its time and delivered 7 ms later.
    let sent: Vec<Instant> = sim
        .log()
        .iter()
        .filter(|r| r.event.kind == PacketEventKind::Sent)
        .map(|r| r.event.time)
        .collect();
    let delivered: Vec<Instant> = sim
        .log()
        .iter()
        .filter(|r| r.event.kind == PacketEventKind::Delivered)
        .map(|r| r.event.time)
        .collect();
    assert_eq!(sent, sends);
    assert_eq!(delivered, expected);
}

#[test]
fn serialization_spaces_back_to_back_packets_at_the_link_rate() {
    // 1500 bytes at 12 Mbit/s is 1 ms on the wire; 500 bytes is 1/3 ms,
    // rounded up to 333 334 ns.
    let schedule = vec![
        (Instant::ZERO, packet(0, 1500)),
        (Instant::ZERO, packet(1, 1500)),
        (Instant::ZERO, packet(2, 500)),
    ];
    let config = LinkConfig::new()
        .delay(Duration::from_millis(5))
        .bandwidth(Bandwidth::mbit(12));
    let (mut sim, _, b) = pair(1, schedule, config);
    sim.run_until_idle(100).unwrap();
    let arrivals: Vec<Instant> = sim.host(b).received.iter().map(|(t, _)| *t).collect();
    assert_eq!(arrivals, [ms(6), ms(7), Instant::from_nanos(7_333_334)]);
    assert_eq!(arrivals[1] - arrivals[0], Duration::from_millis(1));
}

#[test]
fn queue_overflow_drops_the_tail_in_order() {
    // Ten 1500-byte packets at once into a 12 Mbit/s link holding 3
    // packets (the one on the wire included); one more after it drained.
    let mut schedule = constant_rate(10, 1500, Duration::ZERO);
    schedule.push((ms(10), packet(10, 1500)));
    let config = LinkConfig::new()
        .delay(Duration::from_millis(1))
        .bandwidth(Bandwidth::mbit(12))
        .queue_packets(3);
    let (mut sim, a, b) = pair(1, schedule, config);
    sim.record_log(Capture::EventsAndBytes);
    sim.run_until_idle(100).unwrap();
    assert_eq!(sim.host(b).received_seqs(), [0, 1, 2, 10]);
    let arrivals: Vec<Instant> = sim.host(b).received.iter().map(|(t, _)| *t).collect();
    assert_eq!(arrivals, [ms(2), ms(3), ms(4), ms(12)]);
    assert_eq!(
        dropped_seqs(sim.log(), DropReason::Queue),
        [3, 4, 5, 6, 7, 8, 9]
    );
    let stats = sim.link_stats(sim.link_between(a, b).unwrap());
    assert_eq!(stats.dropped_queue, 7);
    assert_eq!(stats.max_backlog_packets, 3);
    assert_eq!(stats.delivered, 4);
}

#[test]
fn queue_byte_limit_drops_the_tail() {
    let schedule = constant_rate(5, 1000, Duration::ZERO);
    let config = LinkConfig::new()
        .bandwidth(Bandwidth::mbit(8))
        .queue_bytes(2500);
    let (mut sim, _, b) = pair(1, schedule, config);
    sim.record_log(Capture::EventsAndBytes);
    sim.run_until_idle(100).unwrap();
    assert_eq!(sim.host(b).received_seqs(), [0, 1]);
    assert_eq!(dropped_seqs(sim.log(), DropReason::Queue), [2, 3, 4]);
}

#[test]
fn packets_longer_than_the_mtu_are_dropped() {
    let schedule = vec![
        (Instant::ZERO, packet(0, 1500)),
        (Instant::ZERO, packet(1, 1501)),
        (Instant::ZERO, packet(2, 40)),
    ];
    let (mut sim, a, b) = pair(1, schedule, LinkConfig::new().mtu(1500));
    sim.record_log(Capture::EventsAndBytes);
    sim.run_until_idle(100).unwrap();
    assert_eq!(sim.host(b).received_seqs(), [0, 2]);
    assert_eq!(dropped_seqs(sim.log(), DropReason::Mtu), [1]);
    assert_eq!(
        sim.link_stats(sim.link_between(a, b).unwrap()).dropped_mtu,
        1
    );
}

// ---------------------------------------------------------------------------
// Impairments

#[test]
fn random_loss_rate_is_close_to_the_configured_probability() {
    const N: u32 = 100_000;
    let schedule = constant_rate(N, 16, Duration::from_micros(1));
    let (mut sim, a, b) = pair(7, schedule, LinkConfig::new().loss(0.05));
    sim.record_log(Capture::EventsAndBytes);
    sim.run_until_idle(u64::from(N) * 3).unwrap();
    let lost = sim.link_stats(sim.link_between(a, b).unwrap()).dropped_loss;
    // Binomial(100 000, 0.05): mean 5000, σ ≈ 69; ±6σ.
    assert!((4_585..=5_415).contains(&lost), "lost {lost}");
    // Exactly the packets the log calls lost are missing at the sink.
    let mut missing: Vec<u32> = dropped_seqs(sim.log(), DropReason::Loss);
    let received = sim.host(b).received_seqs();
    assert_eq!(received.len() as u64 + lost, u64::from(N));
    missing.extend(&received);
    missing.sort_unstable();
    assert_eq!(missing, (0..N).collect::<Vec<_>>());
}

#[test]
fn loss_probability_edges_lose_nothing_or_everything() {
    let (mut none, _, b) = pair(
        3,
        constant_rate(1000, 16, Duration::from_micros(10)),
        LinkConfig::new().loss(0.0),
    );
    none.run_until_idle(10_000).unwrap();
    assert_eq!(none.host(b).received.len(), 1000);
    let (mut all, _, b) = pair(
        3,
        constant_rate(1000, 16, Duration::from_micros(10)),
        LinkConfig::new().loss(1.0),
    );
    all.run_until_idle(10_000).unwrap();
    assert!(all.host(b).received.is_empty());
}

#[test]
fn reordering_lets_later_packets_overtake_held_ones() {
    const N: u32 = 1000;
    let schedule = constant_rate(N, 32, Duration::from_millis(1));
    let config = LinkConfig::new()
        .delay(Duration::from_millis(10))
        .reorder(0.25, Duration::from_millis(5));
    let (mut sim, a, b) = pair(11, schedule, config);
    sim.record_log(Capture::EventsAndBytes);
    sim.run_until_idle(10_000).unwrap();
    let seqs = sim.host(b).received_seqs();
    assert_eq!(seqs.len(), N as usize, "reordering must not lose packets");
    let inversions = seqs.windows(2).filter(|w| w[0] > w[1]).count();
    assert!(inversions > 100, "only {inversions} inversions");
    // Held packets arrive exactly 5 ms late, the others exactly on time.
    let held: Vec<u32> = {
        let ids = seq_by_id(sim.log());
        sim.log()
            .iter()
            .filter(|r| {
                r.event.kind
                    == PacketEventKind::Reordered {
                        extra: Duration::from_millis(5),
                    }
            })
            .map(|r| ids[&r.event.packet])
            .collect()
    };
    // Binomial(1000, 0.25): mean 250, σ ≈ 13.7; ±6σ.
    assert!((168..=332).contains(&held.len()), "held {}", held.len());
    assert_eq!(
        sim.link_stats(sim.link_between(a, b).unwrap()).reordered,
        held.len() as u64
    );
    for (at, p) in &sim.host(b).received {
        let seq = seq_of(p);
        let sent = ms(u64::from(seq));
        let extra = if held.contains(&seq) { 15 } else { 10 };
        assert_eq!(*at, sent + Duration::from_millis(extra), "packet {seq}");
    }
}

#[test]
fn without_reordering_arrivals_stay_in_order() {
    let schedule = constant_rate(1000, 32, Duration::from_micros(100));
    let (mut sim, _, b) = pair(
        11,
        schedule,
        LinkConfig::new().delay(Duration::from_millis(10)).loss(0.1),
    );
    sim.run_until_idle(10_000).unwrap();
    let seqs = sim.host(b).received_seqs();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn duplication_delivers_two_identical_copies() {
    let schedule = constant_rate(100, 64, Duration::from_millis(1));
    let (mut sim, _, b) = pair(
        5,
        schedule,
        LinkConfig::new()
            .delay(Duration::from_millis(2))
            .duplicate(1.0),
    );
    sim.record_log(Capture::EventsAndBytes);
    sim.run_until_idle(10_000).unwrap();
    let received = &sim.host(b).received;
    assert_eq!(received.len(), 200);
    for (i, pair) in received.chunks(2).enumerate() {
        assert_eq!(pair[0], pair[1], "copy of packet {i} differs");
        assert_eq!(seq_of(&pair[0].1), i as u32);
    }
    // Every duplicate names an original that was sent.
    let sent: Vec<PacketId> = sim
        .log()
        .iter()
        .filter(|r| r.event.kind == PacketEventKind::Sent)
        .map(|r| r.event.packet)
        .collect();
    let originals: Vec<PacketId> = sim
        .log()
        .iter()
        .filter_map(|r| match r.event.kind {
            PacketEventKind::Duplicated { original } => Some(original),
            _ => None,
        })
        .collect();
    assert_eq!(originals, sent);
}

#[test]
fn duplication_rate_is_close_to_the_configured_probability() {
    const N: u32 = 10_000;
    let (mut sim, a, b) = pair(
        5,
        constant_rate(N, 16, Duration::from_micros(10)),
        LinkConfig::new().duplicate(0.2),
    );
    sim.run_until_idle(100_000).unwrap();
    let dups = sim.link_stats(sim.link_between(a, b).unwrap()).duplicated;
    // Binomial(10 000, 0.2): mean 2000, σ = 40; ±6σ.
    assert!((1_760..=2_240).contains(&dups), "dups {dups}");
    assert_eq!(sim.host(b).received.len() as u64, u64::from(N) + dups);
}

/// RFC 1071 Internet checksum (one's complement of the one's complement sum).
fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// A packet of even length whose last two bytes make its checksum verify.
fn checksummed_packet(seq: u32, len: usize) -> Vec<u8> {
    let mut p = packet(seq, len & !1);
    let n = p.len();
    p[n - 2..].copy_from_slice(&[0, 0]);
    let sum = internet_checksum(&p);
    p[n - 2..].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(internet_checksum(&p), 0);
    p
}

#[test]
fn corruption_flips_exactly_one_bit_and_the_checksum_catches_it() {
    const N: u32 = 2000;
    let schedule: Vec<_> = (0..N)
        .map(|i| {
            (
                Instant::from_micros(u64::from(i)),
                checksummed_packet(i, 6 + (i as usize * 13) % 200),
            )
        })
        .collect();
    let originals: Vec<Vec<u8>> = schedule.iter().map(|(_, p)| p.clone()).collect();
    let (mut sim, _, b) = pair(9, schedule, LinkConfig::new().corrupt(1.0));
    sim.record_log(Capture::EventsAndBytes);
    sim.run_until_idle(100_000).unwrap();
    let flipped: HashMap<PacketId, usize> = sim
        .log()
        .iter()
        .filter_map(|r| match r.event.kind {
            PacketEventKind::Corrupted { bit } => Some((r.event.packet, bit)),
            _ => None,
        })
        .collect();
    assert_eq!(flipped.len(), N as usize);
    let delivered: Vec<(PacketId, &Vec<u8>)> = sim
        .log()
        .iter()
        .filter(|r| r.event.kind == PacketEventKind::Delivered)
        .map(|r| (r.event.packet, r.bytes.as_ref().unwrap()))
        .collect();
    assert_eq!(delivered.len(), N as usize);
    for (i, (id, got)) in delivered.into_iter().enumerate() {
        let sent = &originals[i];
        assert_eq!(got.len(), sent.len());
        let diff: u32 = got
            .iter()
            .zip(sent)
            .map(|(x, y)| (x ^ y).count_ones())
            .sum();
        assert_eq!(diff, 1, "packet {i}");
        let bit = flipped[&id];
        assert_eq!(
            got[bit / 8] ^ sent[bit / 8],
            0x80 >> (bit % 8),
            "packet {i} bit {bit}"
        );
        assert_ne!(
            internet_checksum(got),
            0,
            "packet {i}: checksum missed a one-bit error"
        );
    }
    // The sink saw the same corrupted bytes the log recorded.
    assert!(sim
        .host(b)
        .received
        .iter()
        .all(|(_, p)| internet_checksum(p) != 0));
}

#[test]
fn corruption_hits_every_bit_position() {
    // 4-byte packets, 4000 of them: each of the 32 positions is expected
    // 125 times, so each is hit at least once unless bit choice is broken.
    let (mut sim, _, _) = pair(
        2,
        constant_rate(4000, 4, Duration::from_micros(1)),
        LinkConfig::new().corrupt(1.0),
    );
    sim.record_log(Capture::Events);
    sim.run_until_idle(100_000).unwrap();
    let mut hits = [0u32; 32];
    for r in sim.log() {
        if let PacketEventKind::Corrupted { bit } = r.event.kind {
            hits[bit] += 1;
        }
    }
    assert!(hits.iter().all(|&h| h > 50), "{hits:?}");
}

#[test]
fn scripted_loss_drops_exactly_the_chosen_packets() {
    // Every fifth packet is marked 0xAA in byte 4: packets 0, 5, 10, 15.
    let schedule: Vec<_> = (0..20u32)
        .map(|i| {
            let mut p = packet(i, 40);
            p[4] = if i % 5 == 0 { 0xAA } else { 0x00 };
            (Instant::from_micros(u64::from(i)), p)
        })
        .collect();
    let config = LinkConfig::new()
        .drop_nth(3) // packet 2 (counting from 1)
        .drop_nth(7) // packet 6
        .drop_nth_matching(2, |p| p[4] == 0xAA) // the second marked one: packet 5
        .drop_all_matching(|p| seq_of(p) >= 18); // packets 18, 19
    for seed in 0..5 {
        let (mut sim, a, b) = pair(seed, schedule.clone(), config.clone().loss(0.0));
        sim.record_log(Capture::EventsAndBytes);
        sim.run_until_idle(1000).unwrap();
        assert_eq!(
            dropped_seqs(sim.log(), DropReason::Scripted),
            [2, 5, 6, 18, 19]
        );
        let expected: Vec<u32> = (0..20).filter(|i| ![2, 5, 6, 18, 19].contains(i)).collect();
        assert_eq!(sim.host(b).received_seqs(), expected);
        assert_eq!(
            sim.link_stats(sim.link_between(a, b).unwrap())
                .dropped_scripted,
            5
        );
    }
}

// ---------------------------------------------------------------------------
// Determinism

/// A busy scenario: bulk one way, echoes back, every impairment on.
fn busy_run(seed: u64) -> Vec<PacketRecord> {
    let mut sim = Simulator::new(seed);
    let a = sim.add_host(TestHost::sender(constant_rate(
        2000,
        200,
        Duration::from_micros(300),
    )));
    let b = sim.add_host(TestHost::echo());
    let config = LinkConfig::new()
        .rtt(Duration::from_millis(20))
        .bandwidth(Bandwidth::mbit(5))
        .queue_packets(30)
        .loss(0.03)
        .duplicate(0.02)
        .corrupt(0.02)
        .reorder(0.05, Duration::from_millis(3));
    sim.connect_duplex(a, b, &config).unwrap();
    sim.record_log(Capture::EventsAndBytes);
    sim.run_until_idle(1_000_000).unwrap();
    sim.take_log()
}

#[test]
fn same_seed_reproduces_the_full_log_byte_for_byte() {
    let first = busy_run(42);
    let second = busy_run(42);
    assert!(first.len() > 8000, "log has only {} events", first.len());
    // Every kind of event happened, so the comparison covers them all.
    for kind in [
        "Sent",
        "Delivered",
        "Dropped(Loss)",
        "Dropped(Queue)",
        "Duplicated",
        "Corrupted",
        "Reordered",
    ] {
        assert!(
            first
                .iter()
                .any(|r| format!("{:?}", r.event.kind).starts_with(kind)),
            "no {kind} event"
        );
    }
    assert_eq!(first, second);
}

#[test]
fn different_seed_changes_the_log() {
    let a = busy_run(42);
    let b = busy_run(43);
    assert_ne!(a, b);
    // Not just a shifted id: the sets of lost packets differ.
    let lost = |log: &[PacketRecord]| dropped_seqs(log, DropReason::Loss);
    assert_ne!(lost(&a), lost(&b));
}

// ---------------------------------------------------------------------------
// Timeouts and the engine

/// A host that only has timers: wants every deadline in `pending`, records
/// firings into a log shared between hosts.
struct TimerHost {
    tag: char,
    pending: Vec<Instant>,
    period: Option<Duration>,
    /// Accept firing later than asked (for deadlines set in the past).
    late_ok: bool,
    fired: Rc<RefCell<Vec<(char, Instant)>>>,
}

impl Host for TimerHost {
    fn handle_packet(&mut self, _now: Instant, _packet: &[u8]) {}
    fn poll_transmit(&mut self, _now: Instant, _buf: &mut [u8]) -> Option<usize> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.pending.iter().min().copied()
    }
    fn handle_timeout(&mut self, now: Instant) {
        let due = self.poll_timeout().unwrap();
        if self.late_ok {
            assert!(due <= now, "host {} fired early", self.tag);
        } else {
            assert_eq!(due, now, "host {} fired at the wrong time", self.tag);
        }
        self.fired.borrow_mut().push((self.tag, now));
        self.pending.retain(|&t| t > now);
        if let Some(period) = self.period {
            self.pending.push(now + period);
        }
    }
}

fn timer_host(tag: char, pending: &[u64], fired: &Rc<RefCell<Vec<(char, Instant)>>>) -> TimerHost {
    TimerHost {
        tag,
        pending: pending.iter().map(|&m| ms(m)).collect(),
        period: None,
        late_ok: false,
        fired: Rc::clone(fired),
    }
}

#[test]
fn timeouts_fire_at_the_requested_times_in_order() {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let mut sim = Simulator::new(0);
    sim.add_host(timer_host('a', &[5, 1, 3], &fired));
    sim.add_host(timer_host('b', &[4, 2, 7], &fired));
    let mut times = Vec::new();
    while let Some(t) = sim.step() {
        times.push(t);
        assert_eq!(sim.now(), t);
    }
    assert_eq!(
        *fired.borrow(),
        [
            ('a', ms(1)),
            ('b', ms(2)),
            ('a', ms(3)),
            ('b', ms(4)),
            ('a', ms(5)),
            ('b', ms(7))
        ]
    );
    assert_eq!(times, [ms(1), ms(2), ms(3), ms(4), ms(5), ms(7)]);
    assert_eq!(sim.stats().timeouts, 6);
}

#[test]
fn timeouts_due_at_the_same_instant_all_fire_then() {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let mut sim = Simulator::new(0);
    sim.add_host(timer_host('a', &[3], &fired));
    sim.add_host(timer_host('b', &[3], &fired));
    sim.add_host(timer_host('c', &[3], &fired));
    sim.run_until_idle(10).unwrap();
    // Ties run in the order the timeouts were armed.
    assert_eq!(*fired.borrow(), [('a', ms(3)), ('b', ms(3)), ('c', ms(3))]);
}

/// Two senders into one sink; both packets arrive at 5 ms. Returns the
/// senders in the order the sink saw their packets.
fn tie_order(a_send: u64, a_delay: u64, b_send: u64, b_delay: u64) -> Vec<u32> {
    let mut sim = Simulator::new(0);
    let a = sim.add_host(TestHost::sender([(ms(a_send), packet(0, 16))]));
    let b = sim.add_host(TestHost::sender([(ms(b_send), packet(1, 16))]));
    let c = sim.add_host(TestHost::sink());
    sim.connect(
        a,
        c,
        &LinkConfig::new().delay(Duration::from_millis(a_delay)),
    )
    .unwrap();
    // b's packet is always held back 1 ms by reordering (a separate queue
    // entry from the link FIFO), on a 1 ms shorter delay.
    sim.connect(
        b,
        c,
        &LinkConfig::new()
            .delay(Duration::from_millis(b_delay - 1))
            .reorder(1.0, Duration::from_millis(1)),
    )
    .unwrap();
    sim.run_until_idle(100).unwrap();
    let arrivals: Vec<Instant> = sim.host(c).received.iter().map(|(t, _)| *t).collect();
    assert_eq!(arrivals, [ms(5), ms(5)]);
    sim.host(c).received_seqs()
}

#[test]
fn events_due_at_the_same_instant_run_in_the_order_they_were_scheduled() {
    // Whichever packet was put on its link first is delivered first.
    assert_eq!(tie_order(0, 5, 1, 4), [0, 1]);
    assert_eq!(tie_order(1, 4, 0, 5), [1, 0]);
}

#[test]
fn moving_a_timeout_later_or_earlier_is_honoured() {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let mut sim = Simulator::new(0);
    let h = sim.add_host(timer_host('a', &[10], &fired));
    sim.run_until(ms(2));
    sim.host_mut(h).pending = vec![ms(20)];
    sim.run_until(ms(25));
    assert_eq!(*fired.borrow(), [('a', ms(20))]);
    sim.host_mut(h).pending = vec![ms(50)];
    sim.run_until(ms(26));
    sim.host_mut(h).pending = vec![ms(30)];
    sim.run_until_idle(10).unwrap();
    assert_eq!(*fired.borrow(), [('a', ms(20)), ('a', ms(30))]);
    assert_eq!(sim.now(), ms(50), "the stale 50 ms entry was still drained");
    assert_eq!(sim.stats().timeouts, 2);
}

#[test]
fn a_timeout_in_the_past_fires_now() {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let mut sim = Simulator::new(0);
    let h = sim.add_host(timer_host('a', &[], &fired));
    sim.run_until(ms(10));
    // `with_host` polls the host at once: the 4 ms deadline is already past.
    sim.with_host(h, |host, now| {
        assert_eq!(now, ms(10));
        host.late_ok = true;
        host.pending = vec![ms(4)];
    });
    assert_eq!(sim.next_event_time(), Some(ms(10)));
    sim.run_until_idle(10).unwrap();
    assert_eq!(*fired.borrow(), [('a', ms(10))]);
}

#[test]
fn run_until_idle_reports_a_host_that_never_idles() {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let mut sim = Simulator::new(0);
    let mut ticker = timer_host('t', &[1], &fired);
    ticker.period = Some(Duration::from_millis(1));
    sim.add_host(ticker);
    assert_eq!(
        sim.run_until_idle(50),
        Err(RunError::StepLimit {
            limit: 50,
            now: ms(50)
        })
    );
    assert_eq!(fired.borrow().len(), 50);
    // Resumable: run_until keeps going from there.
    assert_eq!(sim.run_until(ms(60)), 10);
    assert_eq!(fired.borrow().last(), Some(&('t', ms(60))));
}

#[test]
fn run_until_advances_the_clock_without_events() {
    let mut sim: Simulator<TestHost> = Simulator::new(0);
    assert_eq!(sim.run_until(ms(5)), 0);
    assert_eq!(sim.now(), ms(5));
    assert_eq!(sim.run_for(Duration::from_millis(5)), 0);
    assert_eq!(sim.now(), ms(10));
    assert_eq!(sim.step(), None);
    assert!(sim.is_idle());
}

#[test]
fn run_until_stops_at_the_deadline_inclusive() {
    let schedule = constant_rate(10, 16, Duration::from_millis(1));
    let (mut sim, _, b) = pair(
        0,
        schedule,
        LinkConfig::new().delay(Duration::from_millis(2)),
    );
    // By 5 ms: sends at 0..=5 ms ran, arrivals at 2..=5 ms delivered.
    sim.run_until(ms(5));
    assert_eq!(sim.host(b).received_seqs(), [0, 1, 2, 3]);
    assert_eq!(sim.host(b).received.last().unwrap().0, ms(5));
    assert_eq!(sim.packets_in_flight(), 2);
}

#[test]
fn run_while_stops_when_the_condition_fails() {
    let schedule = constant_rate(100, 16, Duration::from_millis(1));
    let (mut sim, _, b) = pair(
        0,
        schedule,
        LinkConfig::new().delay(Duration::from_millis(3)),
    );
    sim.run_while(|s| s.host(b).received.len() < 5);
    assert_eq!(sim.host(b).received.len(), 5);
    assert_eq!(sim.now(), ms(7));
}

#[test]
fn step_returns_event_times_in_nondecreasing_order() {
    let schedule = constant_rate(200, 100, Duration::from_micros(150));
    let config = LinkConfig::new()
        .delay(Duration::from_millis(1))
        .bandwidth(Bandwidth::mbit(1))
        .reorder(0.3, Duration::from_millis(2));
    let (mut sim, _, _) = pair(4, schedule, config);
    let mut last = Instant::ZERO;
    let mut steps = 0;
    while let Some(t) = sim.step() {
        assert!(t >= last);
        last = t;
        steps += 1;
    }
    // 200 send timeouts at distinct times plus 200 deliveries.
    assert_eq!(steps, 400);
    assert_eq!(sim.stats().events, 400);
}

// ---------------------------------------------------------------------------
// Ping-pong over a duplex link

/// Sends a ping, waits for the echo, records the round trip, repeats.
struct Pinger {
    rounds: u32,
    len: usize,
    sent_at: Instant,
    outstanding: bool,
    rtts: Rc<RefCell<Vec<Duration>>>,
}

impl Host for Pinger {
    fn handle_packet(&mut self, now: Instant, _packet: &[u8]) {
        self.rtts.borrow_mut().push(now - self.sent_at);
        self.outstanding = false;
    }
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if self.outstanding || self.rounds == 0 {
            return None;
        }
        self.rounds -= 1;
        self.outstanding = true;
        self.sent_at = now;
        buf[..self.len].copy_from_slice(&packet(self.rounds, self.len));
        Some(self.len)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _now: Instant) {}
}

fn ping_pong(config: &LinkConfig, rounds: u32, len: usize) -> Vec<Duration> {
    let rtts = Rc::new(RefCell::new(Vec::new()));
    // Mixed host types through `Box<dyn Host>`.
    let mut sim: Simulator<Box<dyn Host>> = Simulator::new(0);
    let pinger = sim.add_host(Box::new(Pinger {
        rounds,
        len,
        sent_at: Instant::ZERO,
        outstanding: false,
        rtts: Rc::clone(&rtts),
    }));
    let echo = sim.add_host(Box::new(TestHost::echo()));
    sim.connect_duplex(pinger, echo, config).unwrap();
    sim.run_until_idle(10_000).unwrap();
    let result = rtts.borrow().clone();
    result
}

#[test]
fn ping_pong_rtt_equals_the_configured_rtt() {
    let rtt = Duration::from_millis(40);
    assert_eq!(
        ping_pong(&LinkConfig::new().rtt(rtt), 10, 64),
        vec![rtt; 10]
    );
    // An odd number of nanoseconds still adds up exactly.
    let odd = Duration::from_nanos(40_000_001);
    assert_eq!(ping_pong(&LinkConfig::new().rtt(odd), 3, 64), vec![odd; 3]);
}

#[test]
fn ping_pong_rtt_includes_serialization_both_ways() {
    // 1500 bytes at 12 Mbit/s: 1 ms each way on top of the 40 ms RTT.
    let config = LinkConfig::new()
        .rtt(Duration::from_millis(40))
        .bandwidth(Bandwidth::mbit(12));
    assert_eq!(
        ping_pong(&config, 5, 1500),
        vec![Duration::from_millis(42); 5]
    );
}

// ---------------------------------------------------------------------------
// Routing, taps, accounting, errors

/// An IPv4-looking packet to `dst` carrying `seq`.
fn ipv4_to(dst: [u8; 4], seq: u32) -> Vec<u8> {
    let mut p = vec![0u8; 24];
    p[0] = 0x45;
    p[16..20].copy_from_slice(&dst);
    p[20..24].copy_from_slice(&seq.to_be_bytes());
    p
}

#[test]
fn routing_by_ip_destination_picks_the_link() {
    let mut sim = Simulator::new(0);
    let schedule = vec![
        (ms(0), ipv4_to([10, 0, 0, 2], 0)),
        (ms(1), ipv4_to([10, 0, 0, 3], 1)),
        (ms(2), ipv4_to([10, 0, 0, 2], 2)),
        (ms(3), ipv4_to([10, 0, 0, 9], 3)),
    ];
    let a = sim.add_host(TestHost::sender(schedule));
    let b = sim.add_host(TestHost::sink());
    let c = sim.add_host(TestHost::sink());
    sim.connect(a, b, &LinkConfig::new().delay(Duration::from_millis(1)))
        .unwrap();
    sim.connect(a, c, &LinkConfig::new().delay(Duration::from_millis(2)))
        .unwrap();
    sim.route_by_ip_destination([
        (IpAddr::from([10, 0, 0, 2]), b),
        (IpAddr::from([10, 0, 0, 3]), c),
    ]);
    sim.record_log(Capture::Events);
    sim.run_until_idle(100).unwrap();
    let seqs = |h: HostId| -> Vec<u32> {
        sim.host(h)
            .received
            .iter()
            .map(|(_, p)| seq_of(&p[20..]))
            .collect()
    };
    assert_eq!(seqs(b), [0, 2]);
    assert_eq!(seqs(c), [1]);
    assert_eq!(sim.host(c).received[0].0, ms(3));
    assert_eq!(sim.stats().unroutable, 1);
    let no_route: Vec<_> = sim
        .log()
        .iter()
        .filter(|r| r.event.kind == PacketEventKind::Dropped(DropReason::NoRoute))
        .collect();
    assert_eq!(no_route.len(), 1);
    assert_eq!(no_route[0].event.link, None);
    assert_eq!(no_route[0].event.time, ms(3));
}

#[test]
fn a_host_with_two_links_and_no_router_has_no_route() {
    let mut sim = Simulator::new(0);
    let a = sim.add_host(TestHost::sender([(ms(0), packet(0, 16))]));
    let b = sim.add_host(TestHost::sink());
    let c = sim.add_host(TestHost::sink());
    sim.connect(a, b, &LinkConfig::new()).unwrap();
    sim.connect(a, c, &LinkConfig::new()).unwrap();
    sim.run_until_idle(100).unwrap();
    assert!(sim.host(b).received.is_empty() && sim.host(c).received.is_empty());
    assert_eq!(sim.stats().unroutable, 1);
}

#[test]
fn custom_router_sees_the_sender_and_the_bytes() {
    let mut sim = Simulator::new(0);
    let a = sim.add_host(TestHost::sender(constant_rate(
        6,
        16,
        Duration::from_millis(1),
    )));
    let b = sim.add_host(TestHost::sink());
    let c = sim.add_host(TestHost::sink());
    sim.connect(a, b, &LinkConfig::new()).unwrap();
    sim.connect(a, c, &LinkConfig::new()).unwrap();
    sim.set_router(move |from, p| {
        assert_eq!(from, a);
        Some(if seq_of(p).is_multiple_of(2) { b } else { c })
    });
    sim.run_until_idle(100).unwrap();
    assert_eq!(sim.host(b).received_seqs(), [0, 2, 4]);
    assert_eq!(sim.host(c).received_seqs(), [1, 3, 5]);
}

#[test]
fn taps_see_every_event_with_its_bytes() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (mut sim, a, b) = pair(
        3,
        constant_rate(500, 40, Duration::from_micros(100)),
        LinkConfig::new()
            .delay(Duration::from_millis(1))
            .loss(0.1)
            .duplicate(0.1)
            .corrupt(0.1),
    );
    let sink = Rc::clone(&seen);
    sim.add_tap(move |event, bytes| {
        assert_eq!(event.len, bytes.len());
        sink.borrow_mut().push((*event, bytes.to_vec()));
    });
    sim.record_log(Capture::EventsAndBytes);
    sim.run_until_idle(10_000).unwrap();
    let from_tap: Vec<PacketRecord> = seen
        .borrow()
        .iter()
        .map(|(event, bytes)| PacketRecord {
            event: *event,
            bytes: Some(bytes.clone()),
        })
        .collect();
    assert_eq!(from_tap, sim.log());
    for r in sim.log() {
        assert_eq!(r.event.from, a);
        assert_eq!(r.event.to, Some(b));
    }
}

#[test]
fn link_stats_account_for_every_packet() {
    let mut sim = Simulator::new(8);
    let a = sim.add_host(TestHost::sender(constant_rate(
        3000,
        300,
        Duration::from_micros(200),
    )));
    let b = sim.add_host(TestHost::echo());
    let config = LinkConfig::new()
        .rtt(Duration::from_millis(10))
        .bandwidth(Bandwidth::mbit(10))
        .queue_packets(10)
        .loss(0.02)
        .duplicate(0.05)
        .corrupt(0.01)
        .reorder(0.05, Duration::from_millis(1))
        .drop_nth(10);
    let (ab, ba) = sim.connect_duplex(a, b, &config).unwrap();
    sim.run_until_idle(1_000_000).unwrap();
    for link in [ab, ba] {
        let s = sim.link_stats(link);
        assert_eq!(s.offered + s.duplicated, s.delivered + s.dropped(), "{s:?}");
        assert_eq!(s.in_flight(), 0);
        assert!(
            s.dropped_queue > 0 && s.dropped_loss > 0 && s.dropped_scripted == 1,
            "{s:?}"
        );
    }
    assert_eq!(
        sim.link_stats(ab).delivered as usize,
        sim.host(b).received.len()
    );
    assert_eq!(
        sim.link_stats(ba).delivered as usize,
        sim.host(a).received.len()
    );
    assert_eq!(sim.link_stats(ba).offered, sim.link_stats(ab).delivered);
    assert_eq!(sim.packets_in_flight(), 0);
    assert_eq!(sim.link_ends(ab), (a, b));
    assert_eq!(
        sim.link_delay(ab) + sim.link_delay(ba),
        Duration::from_millis(10)
    );
}

#[test]
fn a_steady_flow_reuses_packet_buffers() {
    // One packet per millisecond over a 10 ms link: at most 11 in flight.
    let (mut sim, _, b) = pair(
        0,
        constant_rate(10_000, 1500, Duration::from_millis(1)),
        LinkConfig::new().delay(Duration::from_millis(10)),
    );
    sim.run_until_idle(100_000).unwrap();
    assert_eq!(sim.host(b).received.len(), 10_000);
    let allocated = sim.packet_buffers_allocated();
    assert!(
        (10..=11).contains(&allocated),
        "{allocated} buffers for 10 000 packets"
    );
}

/// Claims a packet longer than the transmit buffer.
struct Liar {
    sent: bool,
}

impl Host for Liar {
    fn handle_packet(&mut self, _now: Instant, _packet: &[u8]) {}
    fn poll_transmit(&mut self, _now: Instant, buf: &mut [u8]) -> Option<usize> {
        if self.sent {
            return None;
        }
        self.sent = true;
        Some(buf.len() + 1)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _now: Instant) {}
}

#[test]
fn an_oversize_transmit_is_dropped() {
    let mut sim = Simulator::new(0).with_max_packet_size(100);
    assert_eq!(sim.max_packet_size(), 100);
    let a = sim.add_host(Liar { sent: false });
    let b = sim.add_host(Liar { sent: true });
    sim.connect(a, b, &LinkConfig::new()).unwrap();
    sim.record_log(Capture::Events);
    sim.run_until_idle(10).unwrap();
    assert_eq!(sim.stats().oversize, 1);
    assert_eq!(sim.log().len(), 2);
    assert_eq!(
        sim.log()[1].event.kind,
        PacketEventKind::Dropped(DropReason::Oversize)
    );
    assert_eq!(sim.log()[1].event.len, 101);
}

#[test]
fn topology_errors_are_reported() {
    let mut sim: Simulator<TestHost> = Simulator::new(0);
    let a = sim.add_host(TestHost::sink());
    let b = sim.add_host(TestHost::sink());
    sim.connect(a, b, &LinkConfig::new()).unwrap();
    assert_eq!(
        sim.connect(a, b, &LinkConfig::new()),
        Err(ConfigError::DuplicateLink { from: a, to: b })
    );
    assert_eq!(
        sim.connect_duplex(b, a, &LinkConfig::new()),
        Err(ConfigError::DuplicateLink { from: a, to: b })
    );
    assert_eq!(
        sim.link_count(),
        1,
        "a failed duplex must not leave half a link"
    );
    assert_eq!(
        sim.connect(a, HostId(7), &LinkConfig::new()),
        Err(ConfigError::UnknownHost(HostId(7)))
    );
    assert_eq!(
        sim.connect_duplex(a, a, &LinkConfig::new()),
        Err(ConfigError::DuplicateLink { from: a, to: a })
    );
    let err = sim
        .connect(b, a, &LinkConfig::new().duplicate(-0.5))
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::Probability {
            name: "duplicate",
            value: -0.5
        }
    );
    assert!(err.to_string().contains("duplicate"), "{err}");
    // A loopback link is allowed, once.
    sim.connect(a, a, &LinkConfig::new()).unwrap();
    assert_eq!(
        sim.connect(a, a, &LinkConfig::new()),
        Err(ConfigError::DuplicateLink { from: a, to: a })
    );
}

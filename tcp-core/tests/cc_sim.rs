//! A simulated ACK clock (no network): one bulk sender, a drop-tail
//! bottleneck, a receiver that ACKs every segment cumulatively. The sender is
//! a minimal TCB that follows the calling protocol of `tcp_core::cc` item by
//! item, times RTTs with `RttSampler` (Karn) and arms its retransmission
//! timer from `RttEstimator`. Both algorithms must show the congestion
//! sawtooth: repeated fast recoveries, each cutting the window by the
//! algorithm's factor (1/2 for NewReno, 0.7 for CUBIC), with the link kept busy.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};
use tcp_core::cc::{AckSample, CaState, Cc, CcAlgorithm, CcVars, CongestionControl};
use tcp_core::rtt::{RtoConfig, RttEstimator, RttSampler};
use tcp_core::seq::SeqNum;
use tcp_core::time::{Duration, Instant};

const MSS: u32 = 1000;

struct Link {
    /// One-way propagation delay, each direction.
    delay: Duration,
    /// Bottleneck service time per segment.
    service: Duration,
    /// Drop-tail buffer, in segments.
    buffer: usize,
}

/// One congestion event seen by the sender.
#[derive(Debug)]
struct Reduction {
    at: Instant,
    /// cwnd (segments) when the third duplicate ACK arrived.
    peak: f64,
    /// cwnd (segments) right after the full ACK ended recovery.
    after: Option<f64>,
    ssthresh: f64,
}

struct Sender {
    cc: Cc,
    v: CcVars,
    est: RttEstimator,
    sampler: RttSampler,
    /// In segments.
    snd_una: u32,
    snd_nxt: u32,
    high_sent: u32,
    recover: u32,
    dupacks: u32,
    rto_deadline: Option<Instant>,
    reductions: Vec<Reduction>,
    timeouts: u32,
}

struct Sim {
    link: Link,
    now: Instant,
    /// Departure times of segments queued at the bottleneck.
    queue: VecDeque<Instant>,
    /// (time the ACK reaches the sender, tie-breaker, segment index).
    events: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    order: u64,
    rcv_nxt: u32,
    out_of_order: BTreeSet<u32>,
    drops: u32,
    tx: Sender,
    /// (time, cwnd in segments, segments delivered) after every ACK.
    trace: Vec<(Instant, f64, u32)>,
}

impl Sim {
    fn new(alg: CcAlgorithm, link: Link) -> Sim {
        let mut cc = Cc::new(alg);
        let mut v = CcVars::new(MSS);
        cc.init(&mut v); // protocol item 1
        Sim {
            link,
            now: Instant::ZERO,
            queue: VecDeque::new(),
            events: BinaryHeap::new(),
            order: 0,
            rcv_nxt: 0,
            out_of_order: BTreeSet::new(),
            drops: 0,
            tx: Sender {
                cc,
                v,
                est: RttEstimator::new(RtoConfig::LINUX).unwrap(),
                sampler: RttSampler::new(),
                snd_una: 0,
                snd_nxt: 0,
                high_sent: 0,
                recover: 0,
                dupacks: 0,
                rto_deadline: None,
                reductions: Vec::new(),
                timeouts: 0,
            },
            trace: Vec::new(),
        }
    }

    fn flight_bytes(&self) -> u32 {
        (self.tx.snd_nxt - self.tx.snd_una) * MSS
    }

    /// Put segment `seg` on the wire now.
    fn transmit(&mut self, seg: u32) {
        let retransmission = seg < self.tx.high_sent;
        if retransmission {
            self.tx.sampler.on_retransmit(); // Karn, RFC 6298 §3
        } else {
            self.tx.sampler.start(SeqNum(seg * MSS), self.now);
            self.tx.high_sent = seg + 1;
        }
        if self.tx.rto_deadline.is_none() {
            self.tx.rto_deadline = Some(self.now + self.tx.est.rto()); // RFC 6298 §5.1
        }
        while self.queue.front().is_some_and(|&d| d <= self.now) {
            self.queue.pop_front();
        }
        if self.queue.len() >= self.link.buffer {
            self.drops += 1;
            return;
        }
        let start = self.queue.back().copied().unwrap_or(self.now).max(self.now);
        let departure = start + self.link.service;
        self.queue.push_back(departure);
        let ack_at = departure + self.link.delay + self.link.delay;
        self.order += 1;
        self.events.push(Reverse((ack_at, self.order, seg)));
    }

    /// Send new data while the window allows (RFC 5681: FlightSize < cwnd).
    fn send_allowed(&mut self) {
        while self.flight_bytes() + MSS <= self.tx.v.cwnd {
            let seg = self.tx.snd_nxt;
            self.tx.snd_nxt += 1;
            self.transmit(seg);
        }
    }

    fn sample(&self, acked: u32, in_flight_before: u32, rtt: Option<Duration>) -> AckSample {
        AckSample {
            now: self.now,
            acked_bytes: acked,
            rtt,
            in_flight_before,
            is_app_limited: false,
        }
    }

    fn on_ack(&mut self, ack: u32) {
        let tx = &mut self.tx;
        if ack > tx.snd_una {
            let acked = (ack - tx.snd_una) * MSS;
            let flight_before = (tx.snd_nxt - tx.snd_una) * MSS;
            let rtt = tx.sampler.on_ack(SeqNum(ack * MSS), self.now);
            if let Some(r) = rtt {
                tx.est.sample(r);
            }
            tx.snd_una = ack;
            tx.snd_nxt = tx.snd_nxt.max(ack);
            tx.dupacks = 0;
            tx.v.bytes_in_flight = (tx.snd_nxt - tx.snd_una) * MSS;
            tx.rto_deadline = (tx.snd_nxt > tx.snd_una).then(|| self.now + tx.est.rto()); // RFC 6298 §5.2, §5.3
            let s = AckSample {
                now: self.now,
                acked_bytes: acked,
                rtt,
                in_flight_before: flight_before,
                is_app_limited: false,
            };
            match tx.cc.state() {
                CaState::Recovery if ack >= tx.recover => {
                    // item 7: full ACK
                    tx.cc.set_state(&mut tx.v, CaState::Open);
                    tx.cc.pkts_acked(&mut tx.v, &s);
                    if let Some(r) = tx.reductions.last_mut() {
                        r.after = Some(f64::from(tx.v.cwnd) / f64::from(MSS));
                    }
                }
                CaState::Recovery => {
                    // item 6: partial ACK, retransmit the next hole
                    tx.cc.pkts_acked(&mut tx.v, &s);
                    let hole = tx.snd_una;
                    self.transmit(hole);
                }
                state => {
                    // items 2 and 9
                    if state == CaState::Disorder || (state == CaState::Loss && ack >= tx.recover) {
                        tx.cc.set_state(&mut tx.v, CaState::Open);
                    }
                    tx.cc.pkts_acked(&mut tx.v, &s);
                    tx.cc.cong_avoid(&mut tx.v, &s);
                }
            }
        } else if ack == tx.snd_una && tx.snd_nxt > tx.snd_una {
            match tx.cc.state() {
                CaState::Open | CaState::Disorder => {
                    tx.dupacks += 1;
                    if tx.dupacks < 3 {
                        tx.cc.set_state(&mut tx.v, CaState::Disorder); // item 3
                    } else if tx.dupacks == 3 && ack > tx.recover {
                        // item 4 (RFC 6582 §3.2 step 2: the ACK covers more than recover)
                        let peak = f64::from(tx.v.cwnd) / f64::from(MSS);
                        tx.v.bytes_in_flight = (tx.snd_nxt - tx.snd_una) * MSS;
                        tx.cc.set_state(&mut tx.v, CaState::Recovery);
                        tx.recover = tx.snd_nxt;
                        tx.reductions.push(Reduction {
                            at: self.now,
                            peak,
                            after: None,
                            ssthresh: f64::from(tx.v.ssthresh) / f64::from(MSS),
                        });
                        let first = tx.snd_una;
                        self.transmit(first);
                    }
                }
                CaState::Recovery => {
                    // item 5
                    let s = self.sample(0, self.flight_bytes(), None);
                    self.tx.cc.pkts_acked(&mut self.tx.v, &s);
                }
                CaState::Loss => {} // item 9: no call
            }
        }
        self.send_allowed();
        let cwnd = f64::from(self.tx.v.cwnd) / f64::from(MSS);
        self.trace.push((self.now, cwnd, self.rcv_nxt));
    }

    fn on_timeout(&mut self) {
        // item 8
        let tx = &mut self.tx;
        tx.timeouts += 1;
        tx.v.bytes_in_flight = (tx.snd_nxt - tx.snd_una) * MSS;
        tx.cc.set_state(&mut tx.v, CaState::Loss);
        tx.recover = tx.snd_nxt;
        tx.est.backoff(); // RFC 6298 §5.5
        tx.snd_nxt = tx.snd_una; // go back N
        tx.dupacks = 0;
        tx.rto_deadline = None;
        let seg = tx.snd_nxt;
        tx.snd_nxt += 1;
        self.transmit(seg);
    }

    fn receive(&mut self, seg: u32) -> u32 {
        if seg == self.rcv_nxt {
            self.rcv_nxt += 1;
            while self.out_of_order.remove(&self.rcv_nxt) {
                self.rcv_nxt += 1;
            }
        } else if seg > self.rcv_nxt {
            self.out_of_order.insert(seg);
        }
        self.rcv_nxt
    }

    fn run(&mut self, until: Instant) {
        self.send_allowed();
        while self.now < until {
            let next_ack = self.events.peek().map(|Reverse((t, _, _))| *t);
            let timer_first = match (next_ack, self.tx.rto_deadline) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(t), Some(rto)) => rto < t,
            };
            if timer_first {
                self.now = self.tx.rto_deadline.unwrap();
                self.on_timeout();
            } else if let Some(Reverse((t, _, seg))) = self.events.pop() {
                self.now = t;
                let ack = self.receive(seg);
                self.on_ack(ack);
            } else {
                break;
            }
        }
    }

    /// Reductions after the warm-up, with the recovery completed.
    fn steady_reductions(&self, after: Instant) -> Vec<&Reduction> {
        self.tx
            .reductions
            .iter()
            .filter(|r| r.at >= after && r.after.is_some())
            .collect()
    }
}

/// 1000 segments/s bottleneck, 40 ms base RTT (BDP 40 segments), 40-segment
/// buffer: the pipe holds about 80 segments before a drop.
fn link() -> Link {
    Link {
        delay: Duration::from_millis(20),
        service: Duration::from_millis(1),
        buffer: 40,
    }
}

const PIPE: f64 = 80.0;

fn check_sawtooth(sim: &Sim, beta: f64) {
    // Slow start overshoots to twice the pipe and NewReno-style recovery
    // repairs one loss per RTT: the first seconds are not the steady state.
    let warm = Instant::from_millis(8_000);
    let end = sim.now;
    let steady = sim.steady_reductions(warm);
    assert!(
        steady.len() >= 4,
        "expected a sawtooth, got {} reductions: {:?}",
        steady.len(),
        sim.tx.reductions
    );
    for r in &steady {
        // Each loss happens when the window has filled the pipe...
        assert!(
            r.peak > 0.8 * PIPE && r.peak < 1.4 * PIPE,
            "peak {} at {:?}",
            r.peak,
            r.at
        );
        // ...and cuts it by the algorithm's factor.
        let after = r.after.unwrap_or(0.0);
        let ratio = after / r.peak;
        assert!(
            (ratio - beta).abs() < 0.1,
            "cwnd {} -> {} (ratio {ratio:.2}, expected {beta})",
            r.peak,
            after
        );
        assert!(after <= r.ssthresh + 1e-9);
    }
    // Between reductions the window climbs back: the trace has a minimum
    // right after each reduction and a maximum just before the next.
    for pair in steady.windows(2) {
        let between: Vec<f64> = sim
            .trace
            .iter()
            .filter(|(t, _, _)| *t > pair[0].at && *t < pair[1].at)
            .map(|&(_, w, _)| w)
            .collect();
        let lo = between.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = between.iter().copied().fold(0.0, f64::max);
        assert!(hi - lo > 0.2 * PIPE, "flat between reductions: {lo}..{hi}");
    }
    // The link stays busy: at least 85% of capacity delivered after warm-up.
    let at_warm = sim
        .trace
        .iter()
        .take_while(|(t, _, _)| *t < warm)
        .last()
        .map_or(0, |&(_, _, n)| n);
    let delivered = f64::from(sim.rcv_nxt - at_warm);
    let capacity = (end - warm).as_secs_f64() * 1000.0;
    assert!(
        delivered / capacity > 0.85,
        "utilization {:.2}",
        delivered / capacity
    );
    assert!(sim.drops > 0);
}

#[test]
fn newreno_simulated_ack_clock_shows_halving_sawtooth() {
    let mut sim = Sim::new(CcAlgorithm::NewReno, link());
    sim.run(Instant::from_millis(40_000));
    check_sawtooth(&sim, 0.5);
    assert_eq!(sim.tx.timeouts, 0, "{:?}", sim.tx.reductions);
}

#[test]
fn cubic_simulated_ack_clock_shows_beta_sawtooth() {
    let mut sim = Sim::new(CcAlgorithm::Cubic, link());
    sim.run(Instant::from_millis(40_000));
    check_sawtooth(&sim, 0.7);
    assert_eq!(sim.tx.timeouts, 0, "{:?}", sim.tx.reductions);
}

#[test]
fn cubic_recovers_faster_than_newreno_on_the_same_link() {
    // CUBIC's gentler cut and faster regrowth lose less capacity per cycle.
    let mut reno = Sim::new(
        CcAlgorithm::NewReno,
        Link {
            buffer: 10,
            ..link()
        },
    );
    let mut cubic = Sim::new(
        CcAlgorithm::Cubic,
        Link {
            buffer: 10,
            ..link()
        },
    );
    let end = Instant::from_millis(30_000);
    reno.run(end);
    cubic.run(end);
    assert!(
        cubic.rcv_nxt > reno.rcv_nxt,
        "cubic {} vs newreno {}",
        cubic.rcv_nxt,
        reno.rcv_nxt
    );
}

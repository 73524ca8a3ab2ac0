//! Directed links: what happens to a packet between two hosts.
//!
//! A link is the simulator's analogue of a DUMMYNET pipe (FreeBSD `ipfw
//! pipe ... config delay bw queue plr`) or a Linux `netem` qdisc. A packet
//! offered to a link goes through these stages, in this order:
//!
//! 1. **MTU**: a packet longer than the link MTU is dropped ([`DropReason::Mtu`]).
//! 2. **Scripted loss**: rules counting offered packets (1-based) or packets
//!    matching a predicate ([`DropReason::Scripted`]). Scripted rules draw no
//!    randomness, so "drop the 3rd packet" means the same packet whatever the
//!    seed.
//! 3. **Random loss** with the configured probability ([`DropReason::Loss`]),
//!    decided at the ingress as dummynet's `plr` and netem's `loss` do.
//! 4. **Duplication**: with its probability a second, independent copy
//!    follows the original (it takes its own queue slot and serialization
//!    time, and gets its own corruption and reordering rolls).
//! 5. Per copy: **corruption** flips one uniformly chosen bit of the packet,
//!    so the receiver's checksum (RFC 9293 §3.1, RFC 1071) rejects it.
//! 6. Per copy: the **drop-tail queue**. The backlog is every packet accepted
//!    and not yet fully serialized, including the one on the wire; if
//!    accepting this one would exceed the packet or byte limit it is dropped
//!    ([`DropReason::Queue`]). An unlimited-rate link never builds a backlog.
//! 7. Per copy: **serialization** at the link rate, FIFO behind the backlog,
//!    then **propagation** for the one-way delay; with the reordering
//!    probability the copy is held for an extra delay after propagation, so
//!    packets sent after it overtake it.

use core::fmt;
use std::collections::VecDeque;
use std::rc::Rc;

use tcp_core::time::{Duration, Instant};

use super::parse::Bandwidth;
use super::rng::{Chance, Xoshiro256StarStar};
use super::{ConfigError, DropReason, HostId};

/// A packet predicate for scripted loss. Reference-counted so that a
/// [`LinkConfig`] can be cloned (for instance into both directions of a
/// duplex pair).
pub type Predicate = Rc<dyn Fn(&[u8]) -> bool>;

/// A deterministic loss rule.
#[derive(Clone)]
pub enum ScriptedLoss {
    /// Drop the n-th packet offered to the link, counting from 1.
    Nth(u64),
    /// Drop the k-th packet (counting from 1) for which the predicate holds.
    NthMatching { k: u64, predicate: Predicate },
    /// Drop every packet for which the predicate holds.
    AllMatching(Predicate),
}

impl fmt::Debug for ScriptedLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptedLoss::Nth(n) => f.debug_tuple("Nth").field(n).finish(),
            ScriptedLoss::NthMatching { k, .. } => f
                .debug_struct("NthMatching")
                .field("k", k)
                .finish_non_exhaustive(),
            ScriptedLoss::AllMatching(_) => f.write_str("AllMatching(..)"),
        }
    }
}

/// How the one-way delay was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delay {
    OneWay(Duration),
    /// Half a round-trip time: a duplex pair splits it so that the two
    /// directions add up to exactly this RTT, whatever its parity in ns.
    HalfRtt(Duration),
}

/// The description of one direction of a link. The default is a perfect
/// wire: no delay, unlimited rate, unlimited queue, no impairment.
///
/// ```
/// use conformance::sim::{LinkConfig, Bandwidth};
/// use tcp_core::time::Duration;
/// let cfg = LinkConfig::new()
///     .rtt(Duration::from_millis(40))
///     .bandwidth(Bandwidth::mbit(10))
///     .queue_packets(50)
///     .loss(0.01);
/// assert_eq!(cfg.one_way_delay(), Duration::from_millis(20));
/// ```
#[derive(Clone, Debug)]
pub struct LinkConfig {
    delay: Delay,
    bandwidth: Bandwidth,
    queue_packets: Option<usize>,
    queue_bytes: Option<usize>,
    mtu: Option<usize>,
    loss: f64,
    duplicate: f64,
    corrupt: f64,
    reorder: f64,
    reorder_delay: Duration,
    scripted: Vec<ScriptedLoss>,
}

impl Default for LinkConfig {
    fn default() -> LinkConfig {
        LinkConfig {
            delay: Delay::OneWay(Duration::ZERO),
            bandwidth: Bandwidth::UNLIMITED,
            queue_packets: None,
            queue_bytes: None,
            mtu: None,
            loss: 0.0,
            duplicate: 0.0,
            corrupt: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            scripted: Vec::new(),
        }
    }
}

impl LinkConfig {
    pub fn new() -> LinkConfig {
        LinkConfig::default()
    }

    /// One-way propagation delay.
    pub fn delay(mut self, one_way: Duration) -> LinkConfig {
        self.delay = Delay::OneWay(one_way);
        self
    }

    /// Round-trip time: each direction gets half. In
    /// [`Simulator::connect_duplex`](super::Simulator::connect_duplex) the
    /// forward direction gets the odd nanosecond, so the RTT is exact; a
    /// single [`connect`](super::Simulator::connect) rounds half up.
    pub fn rtt(mut self, rtt: Duration) -> LinkConfig {
        self.delay = Delay::HalfRtt(rtt);
        self
    }

    /// Link rate; [`Bandwidth::UNLIMITED`] serializes instantly.
    pub fn bandwidth(mut self, rate: Bandwidth) -> LinkConfig {
        self.bandwidth = rate;
        self
    }

    /// Drop-tail limit on the backlog, in packets.
    pub fn queue_packets(mut self, limit: usize) -> LinkConfig {
        self.queue_packets = Some(limit);
        self
    }

    /// Drop-tail limit on the backlog, in bytes.
    pub fn queue_bytes(mut self, limit: usize) -> LinkConfig {
        self.queue_bytes = Some(limit);
        self
    }

    /// Largest packet the link carries; longer packets are dropped.
    pub fn mtu(mut self, bytes: usize) -> LinkConfig {
        self.mtu = Some(bytes);
        self
    }

    /// Probability that a packet is lost at the ingress.
    pub fn loss(mut self, probability: f64) -> LinkConfig {
        self.loss = probability;
        self
    }

    /// Probability that a packet is duplicated.
    pub fn duplicate(mut self, probability: f64) -> LinkConfig {
        self.duplicate = probability;
        self
    }

    /// Probability that one bit of a packet is flipped.
    pub fn corrupt(mut self, probability: f64) -> LinkConfig {
        self.corrupt = probability;
        self
    }

    /// Probability that a packet is held back by `extra` after propagation.
    pub fn reorder(mut self, probability: f64, extra: Duration) -> LinkConfig {
        self.reorder = probability;
        self.reorder_delay = extra;
        self
    }

    /// Adds a scripted loss rule.
    pub fn scripted(mut self, rule: ScriptedLoss) -> LinkConfig {
        self.scripted.push(rule);
        self
    }

    /// Drops the n-th packet offered to the link (counting from 1).
    pub fn drop_nth(self, n: u64) -> LinkConfig {
        self.scripted(ScriptedLoss::Nth(n))
    }

    /// Drops the k-th packet (counting from 1) that matches `predicate`.
    pub fn drop_nth_matching(
        self,
        k: u64,
        predicate: impl Fn(&[u8]) -> bool + 'static,
    ) -> LinkConfig {
        self.scripted(ScriptedLoss::NthMatching {
            k,
            predicate: Rc::new(predicate),
        })
    }

    /// Drops every packet that matches `predicate`.
    pub fn drop_all_matching(self, predicate: impl Fn(&[u8]) -> bool + 'static) -> LinkConfig {
        self.scripted(ScriptedLoss::AllMatching(Rc::new(predicate)))
    }

    /// The one-way delay of a single link built from this configuration.
    pub fn one_way_delay(&self) -> Duration {
        match self.delay {
            Delay::OneWay(d) => d,
            Delay::HalfRtt(rtt) => half_up(rtt),
        }
    }

    /// The one-way delays of the forward and reverse links of a duplex pair.
    pub(crate) fn duplex_delays(&self) -> (Duration, Duration) {
        match self.delay {
            Delay::OneWay(d) => (d, d),
            Delay::HalfRtt(rtt) => (half_up(rtt), rtt - half_up(rtt)),
        }
    }

    pub fn bandwidth_limit(&self) -> Bandwidth {
        self.bandwidth
    }

    pub fn queue_limits(&self) -> (Option<usize>, Option<usize>) {
        (self.queue_packets, self.queue_bytes)
    }

    /// Checks probabilities, rule indices and reordering.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
            ("reorder", self.reorder),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(ConfigError::Probability { name, value: p });
            }
        }
        if self.reorder > 0.0 && self.reorder_delay.is_zero() {
            return Err(ConfigError::ReorderWithoutDelay);
        }
        for rule in &self.scripted {
            match rule {
                ScriptedLoss::Nth(0) | ScriptedLoss::NthMatching { k: 0, .. } => {
                    return Err(ConfigError::ScriptIndexZero)
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn half_up(d: Duration) -> Duration {
    let nanos = d.as_nanos();
    Duration::from_nanos(u64::try_from(nanos.div_ceil(2)).unwrap_or(u64::MAX))
}

/// Counters of one link. `offered` counts packets the sending host handed
/// to the link; duplicates are extra packets on top of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub offered: u64,
    pub offered_bytes: u64,
    pub delivered: u64,
    pub delivered_bytes: u64,
    pub dropped_mtu: u64,
    pub dropped_scripted: u64,
    pub dropped_loss: u64,
    pub dropped_queue: u64,
    pub duplicated: u64,
    pub corrupted: u64,
    pub reordered: u64,
    /// Largest backlog seen, in packets and in bytes.
    pub max_backlog_packets: u64,
    pub max_backlog_bytes: u64,
}

impl LinkStats {
    pub fn dropped(&self) -> u64 {
        self.dropped_mtu + self.dropped_scripted + self.dropped_loss + self.dropped_queue
    }

    /// Packets accepted by the link and not delivered yet.
    pub fn in_flight(&self) -> u64 {
        (self.offered + self.duplicated).saturating_sub(self.dropped() + self.delivered)
    }
}

/// The verdict of the ingress stages 1 to 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    Drop(DropReason),
    Accept { duplicate: bool },
}

/// When an accepted copy arrives, and whether it was held back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scheduled {
    pub arrival: Instant,
    pub reordered_by: Option<Duration>,
}

struct ScriptState {
    rule: ScriptedLoss,
    matches: u64,
}

/// A packet copy propagating on a link in arrival order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InFlight {
    pub arrival: Instant,
    /// Its reserved event-queue sequence number.
    pub seq: u64,
    pub slot: u32,
    pub packet: super::PacketId,
}

/// One direction of a link, with its state.
pub(crate) struct Link {
    pub from: HostId,
    pub to: HostId,
    delay: Duration,
    bandwidth: Bandwidth,
    queue_packets: Option<usize>,
    queue_bytes: Option<usize>,
    mtu: Option<usize>,
    loss: Chance,
    duplicate: Chance,
    corrupt: Chance,
    reorder: Chance,
    reorder_delay: Duration,
    scripts: Vec<ScriptState>,
    rng: Xoshiro256StarStar,
    /// When the last accepted packet finishes serializing.
    busy_until: Instant,
    /// Finish time and length of every packet not yet fully serialized.
    backlog: VecDeque<(Instant, usize)>,
    backlog_bytes: usize,
    /// Copies not held back for reordering, in arrival order. Their arrival
    /// times never decrease (FIFO serialization, then a constant delay), so
    /// only the head needs an entry in the simulator's event queue.
    pub in_flight: VecDeque<InFlight>,
    pub stats: LinkStats,
}

impl Link {
    pub fn new(from: HostId, to: HostId, config: &LinkConfig, delay: Duration, seed: u64) -> Link {
        Link {
            from,
            to,
            delay,
            bandwidth: config.bandwidth,
            queue_packets: config.queue_packets,
            queue_bytes: config.queue_bytes,
            mtu: config.mtu,
            loss: Chance::from_probability(config.loss),
            duplicate: Chance::from_probability(config.duplicate),
            corrupt: Chance::from_probability(config.corrupt),
            reorder: Chance::from_probability(config.reorder),
            reorder_delay: config.reorder_delay,
            scripts: config
                .scripted
                .iter()
                .map(|rule| ScriptState {
                    rule: rule.clone(),
                    matches: 0,
                })
                .collect(),
            rng: Xoshiro256StarStar::seed_from_u64(seed),
            busy_until: Instant::ZERO,
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            in_flight: VecDeque::new(),
            stats: LinkStats::default(),
        }
    }

    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Stages 1 to 4 for a packet the sending host hands to the link.
    pub fn admit(&mut self, packet: &[u8]) -> Admission {
        self.stats.offered += 1;
        self.stats.offered_bytes += packet.len() as u64;
        let index = self.stats.offered;
        if self.mtu.is_some_and(|mtu| packet.len() > mtu) {
            self.stats.dropped_mtu += 1;
            return Admission::Drop(DropReason::Mtu);
        }
        // Every rule sees every packet, so each keeps its own match count.
        let mut scripted = false;
        for script in &mut self.scripts {
            scripted |= match &script.rule {
                ScriptedLoss::Nth(n) => index == *n,
                ScriptedLoss::NthMatching { k, predicate } => {
                    if predicate(packet) {
                        script.matches += 1;
                        script.matches == *k
                    } else {
                        false
                    }
                }
                ScriptedLoss::AllMatching(predicate) => predicate(packet),
            };
        }
        if scripted {
            self.stats.dropped_scripted += 1;
            return Admission::Drop(DropReason::Scripted);
        }
        if self.rng.roll(self.loss) {
            self.stats.dropped_loss += 1;
            return Admission::Drop(DropReason::Loss);
        }
        let duplicate = self.rng.roll(self.duplicate);
        if duplicate {
            self.stats.duplicated += 1;
        }
        Admission::Accept { duplicate }
    }

    /// Stage 5: which bit to flip in a copy of `len` bytes, if any.
    pub fn corruption(&mut self, len: usize) -> Option<usize> {
        if len == 0 || !self.rng.roll(self.corrupt) {
            return None;
        }
        self.stats.corrupted += 1;
        Some(self.rng.below(len as u64 * 8) as usize)
    }

    /// Stages 6 and 7 for one copy of `len` bytes offered at `now`.
    pub fn enqueue(&mut self, now: Instant, len: usize) -> Result<Scheduled, DropReason> {
        let finish = if self.bandwidth.is_unlimited() {
            now
        } else {
            while self.backlog.front().is_some_and(|&(done, _)| done <= now) {
                if let Some((_, bytes)) = self.backlog.pop_front() {
                    self.backlog_bytes -= bytes;
                }
            }
            let over_packets = self
                .queue_packets
                .is_some_and(|limit| self.backlog.len() + 1 > limit);
            let over_bytes = self
                .queue_bytes
                .is_some_and(|limit| self.backlog_bytes + len > limit);
            if over_packets || over_bytes {
                self.stats.dropped_queue += 1;
                return Err(DropReason::Queue);
            }
            let start = self.busy_until.max(now);
            let finish = start + self.bandwidth.serialization_delay(len);
            self.busy_until = finish;
            self.backlog.push_back((finish, len));
            self.backlog_bytes += len;
            self.stats.max_backlog_packets = self
                .stats
                .max_backlog_packets
                .max(self.backlog.len() as u64);
            self.stats.max_backlog_bytes =
                self.stats.max_backlog_bytes.max(self.backlog_bytes as u64);
            finish
        };
        let mut arrival = finish + self.delay;
        let reordered_by = if self.rng.roll(self.reorder) {
            self.stats.reordered += 1;
            arrival += self.reorder_delay;
            Some(self.reorder_delay)
        } else {
            None
        };
        Ok(Scheduled {
            arrival,
            reordered_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(config: LinkConfig) -> Link {
        let delay = config.one_way_delay();
        Link::new(HostId(0), HostId(1), &config, delay, 1)
    }

    #[test]
    fn half_rtt_splits_exactly() {
        let cfg = LinkConfig::new().rtt(Duration::from_nanos(41));
        assert_eq!(
            cfg.duplex_delays(),
            (Duration::from_nanos(21), Duration::from_nanos(20))
        );
        assert_eq!(cfg.one_way_delay(), Duration::from_nanos(21));
        let cfg = LinkConfig::new().delay(Duration::from_millis(3));
        assert_eq!(
            cfg.duplex_delays(),
            (Duration::from_millis(3), Duration::from_millis(3))
        );
    }

    #[test]
    fn validate_rejects_bad_configs() {
        assert!(LinkConfig::new().validate().is_ok());
        assert_eq!(
            LinkConfig::new().loss(1.5).validate(),
            Err(ConfigError::Probability {
                name: "loss",
                value: 1.5
            })
        );
        assert!(matches!(
            LinkConfig::new().corrupt(f64::NAN).validate(),
            Err(ConfigError::Probability {
                name: "corrupt",
                ..
            })
        ));
        assert_eq!(
            LinkConfig::new().reorder(0.1, Duration::ZERO).validate(),
            Err(ConfigError::ReorderWithoutDelay)
        );
        assert_eq!(
            LinkConfig::new().drop_nth(0).validate(),
            Err(ConfigError::ScriptIndexZero)
        );
        assert_eq!(
            LinkConfig::new().drop_nth_matching(0, |_| true).validate(),
            Err(ConfigError::ScriptIndexZero)
        );
    }

    #[test]
    fn backlog_counts_the_packet_on_the_wire() {
        // 1000 bytes at 8 Mbit/s = 1 ms each; limit 2 packets.
        let mut l = link(
            LinkConfig::new()
                .bandwidth(Bandwidth::mbit(8))
                .queue_packets(2),
        );
        let t0 = Instant::ZERO;
        assert_eq!(
            l.enqueue(t0, 1000).map(|s| s.arrival),
            Ok(Instant::from_millis(1))
        );
        assert_eq!(
            l.enqueue(t0, 1000).map(|s| s.arrival),
            Ok(Instant::from_millis(2))
        );
        assert_eq!(l.enqueue(t0, 1000), Err(DropReason::Queue));
        // At 1 ms the first has left: one slot frees up, FIFO behind the second.
        let t1 = Instant::from_millis(1);
        assert_eq!(
            l.enqueue(t1, 1000).map(|s| s.arrival),
            Ok(Instant::from_millis(3))
        );
        assert_eq!(l.enqueue(t1, 1000), Err(DropReason::Queue));
        assert_eq!(l.stats.dropped_queue, 2);
        assert_eq!(l.stats.max_backlog_packets, 2);
    }

    #[test]
    fn byte_limit_applies_to_the_whole_backlog() {
        let mut l = link(
            LinkConfig::new()
                .bandwidth(Bandwidth::mbit(8))
                .queue_bytes(2500),
        );
        assert!(l.enqueue(Instant::ZERO, 1000).is_ok());
        assert!(l.enqueue(Instant::ZERO, 1000).is_ok());
        assert_eq!(l.enqueue(Instant::ZERO, 1000), Err(DropReason::Queue));
        assert!(l.enqueue(Instant::ZERO, 500).is_ok());
        assert_eq!(l.stats.max_backlog_bytes, 2500);
    }

    #[test]
    fn unlimited_rate_never_queues() {
        let mut l = link(
            LinkConfig::new()
                .delay(Duration::from_micros(5))
                .queue_packets(1),
        );
        for _ in 0..100 {
            assert_eq!(
                l.enqueue(Instant::ZERO, 1500).map(|s| s.arrival),
                Ok(Instant::from_micros(5))
            );
        }
        assert_eq!(l.stats.max_backlog_packets, 0);
    }

    #[test]
    fn idle_link_starts_serializing_at_offer_time() {
        let mut l = link(LinkConfig::new().bandwidth(Bandwidth::mbit(12)));
        assert_eq!(
            l.enqueue(Instant::ZERO, 1500).map(|s| s.arrival),
            Ok(Instant::from_millis(1))
        );
        // Offered long after the link went idle: no leftover busy time.
        assert_eq!(
            l.enqueue(Instant::from_millis(10), 1500).map(|s| s.arrival),
            Ok(Instant::from_millis(11))
        );
    }

    #[test]
    fn mtu_drop_comes_first_and_is_counted() {
        let mut l = link(LinkConfig::new().mtu(100).drop_nth(1));
        assert_eq!(l.admit(&[0; 101]), Admission::Drop(DropReason::Mtu));
        assert_eq!(l.admit(&[0; 100]), Admission::Accept { duplicate: false });
        assert_eq!(l.stats.dropped_mtu, 1);
        assert_eq!(l.stats.dropped_scripted, 0);
    }

    #[test]
    fn scripted_rules_count_independently() {
        let mut l = link(
            LinkConfig::new()
                .drop_nth(2)
                .drop_nth_matching(2, |p| p[0] == 7)
                .drop_all_matching(|p| p[0] == 9),
        );
        let packets: [u8; 8] = [7, 1, 7, 9, 7, 1, 9, 7];
        let verdicts: Vec<bool> = packets
            .iter()
            .map(|&b| matches!(l.admit(&[b]), Admission::Drop(DropReason::Scripted)))
            .collect();
        // #2 by index; the second 7 is #3; both 9s.
        assert_eq!(
            verdicts,
            [false, true, true, true, false, false, true, false]
        );
        assert_eq!(l.stats.dropped_scripted, 4);
    }
}

//! A deterministic discrete-event network simulator: the lab bench on which
//! users watch TCP react to latency, bandwidth limits, queues and loss (the
//! analogue of the DUMMYNET pipes of the FreeBSD L41 lab).
//!
//! * **Hosts** are sans-IO state machines behind the [`Host`] trait (in
//!   practice tcp-core's `Endpoint`): the simulator hands them packets and
//!   timeouts, each input carrying the virtual time `now`, and collects the
//!   packets they want to send.
//! * **Links** are directed: each has its own delay, rate, drop-tail queue
//!   and impairments (see [`link`](self::link) for the exact pipeline and
//!   [`LinkConfig`]). [`Simulator::connect_duplex`] builds both directions.
//! * **Routing**: a host with exactly one outgoing link sends everything on
//!   it. With several links, install a router: [`Simulator::set_router`]
//!   (any function of the sending host and the packet bytes) or
//!   [`Simulator::route_by_ip_destination`] (an address table). A packet
//!   with no route is dropped with [`DropReason::NoRoute`].
//! * **Time** is virtual and starts at [`Instant::ZERO`]. Events (packet
//!   arrivals, host timeouts) run in (time, insertion order), so a run is a
//!   pure function of the seed and the inputs: same seed, same run, byte
//!   for byte. Each link draws from its own PRNG stream derived from the
//!   seed and the link's index.
//! * **Taps** see every packet event ([`PacketEvent`]) with the packet's
//!   bytes at that point: callbacks ([`Simulator::add_tap`]) and an optional
//!   recorded log ([`Simulator::record_log`]), for pcap output and drawing.
//!
//! After a host handles a packet or a timeout, and after the user touches it
//! through [`Simulator::host_mut`] or [`Simulator::with_host`], the
//! simulator drains its [`Host::poll_transmit`] into its links and re-reads
//! [`Host::poll_timeout`].
//!
//! ```
//! use conformance::sim::{Host, LinkConfig, Simulator};
//! use tcp_core::time::{Duration, Instant};
//!
//! /// Sends one packet at start, records when packets arrive.
//! #[derive(Default)]
//! struct Echo { outbox: Vec<Vec<u8>>, arrivals: Vec<Instant>, echo: bool }
//! impl Host for Echo {
//!     fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
//!         self.arrivals.push(now);
//!         if self.echo { self.outbox.push(packet.to_vec()); }
//!     }
//!     fn poll_transmit(&mut self, _now: Instant, buf: &mut [u8]) -> Option<usize> {
//!         let p = self.outbox.pop()?;
//!         buf[..p.len()].copy_from_slice(&p);
//!         Some(p.len())
//!     }
//!     fn poll_timeout(&self) -> Option<Instant> { None }
//!     fn handle_timeout(&mut self, _now: Instant) {}
//! }
//!
//! let mut sim = Simulator::new(1);
//! let a = sim.add_host(Echo { outbox: vec![b"ping".to_vec()], ..Echo::default() });
//! let b = sim.add_host(Echo { echo: true, ..Echo::default() });
//! sim.connect_duplex(a, b, &LinkConfig::new().rtt(Duration::from_millis(40))).unwrap();
//! sim.run_until_idle(100).unwrap();
//! assert_eq!(sim.host(a).arrivals, [Instant::from_millis(40)]);
//! ```

pub mod link;
mod parse;
mod pool;
mod queue;
pub mod rng;

use core::fmt;
use std::collections::HashMap;
use std::mem;
use std::net::IpAddr;

use thiserror::Error;

pub use tcp_core::time::{Duration, Instant};

pub use self::link::{LinkConfig, LinkStats, Predicate, ScriptedLoss};
pub use self::parse::{
    parse_bandwidth, parse_duration, parse_percent, Bandwidth, ParseError, Quantity,
};

use self::link::{Admission, InFlight, Link};
use self::pool::PacketPool;
use self::queue::EventQueue;

/// A sans-IO network host driven by the simulator.
///
/// Contract: every input carries the current virtual time; the host never
/// reads a clock. `poll_transmit` is called repeatedly after every input
/// until it returns `None`; it must eventually return `None` (a host that
/// always has a packet ready would stall virtual time).
pub trait Host {
    /// A packet arrived (raw bytes: IP packets in practice).
    fn handle_packet(&mut self, now: Instant, packet: &[u8]);
    /// Writes the next packet to send into `buf` and returns its length.
    /// `buf` is [`Simulator::max_packet_size`] bytes long; a length beyond
    /// it is a contract violation and the packet is dropped
    /// ([`DropReason::Oversize`]).
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize>;
    /// When this host next needs [`Host::handle_timeout`]. A time in the
    /// past means "now".
    fn poll_timeout(&self) -> Option<Instant>;
    /// The time returned by `poll_timeout` has come.
    fn handle_timeout(&mut self, now: Instant);
}

impl<H: Host + ?Sized> Host for Box<H> {
    fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        (**self).handle_packet(now, packet)
    }
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        (**self).poll_transmit(now, buf)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        (**self).poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        (**self).handle_timeout(now)
    }
}

/// A host's index in its simulator, in the order of [`Simulator::add_host`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub usize);

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "h{}", self.0)
    }
}

/// A link's index in its simulator, in the order links were connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub usize);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "l{}", self.0)
    }
}

/// A packet's identity across its events, numbered from 0 in the order the
/// simulator first saw it (a duplicate gets its own id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketId(pub u64);

/// Why a packet did not reach its destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Longer than the link MTU.
    Mtu,
    /// A scripted loss rule.
    Scripted,
    /// Random loss.
    Loss,
    /// The drop-tail queue was full.
    Queue,
    /// No link leads where the router sent it (or the host has no single
    /// outgoing link and no router is installed).
    NoRoute,
    /// The host reported a length beyond its transmit buffer.
    Oversize,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::Mtu => "mtu",
            DropReason::Scripted => "scripted",
            DropReason::Loss => "loss",
            DropReason::Queue => "queue",
            DropReason::NoRoute => "no-route",
            DropReason::Oversize => "oversize",
        })
    }
}

/// What happened to a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketEventKind {
    /// The host emitted it. Every packet starts with this event (duplicates
    /// start with [`PacketEventKind::Duplicated`] instead).
    Sent,
    /// It was dropped; no further events follow for this id.
    Dropped(DropReason),
    /// This packet is a new copy of `original`, created by the link.
    Duplicated { original: PacketId },
    /// Bit number `bit` (0 = most significant bit of byte 0) was flipped.
    Corrupted { bit: usize },
    /// It will arrive `extra` later than it otherwise would have.
    Reordered { extra: Duration },
    /// It was handed to the destination host.
    Delivered,
}

/// One packet event, as the taps and the log see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketEvent {
    /// When it happened: the send time for everything decided at the link
    /// ingress, the arrival time for [`PacketEventKind::Delivered`].
    pub time: Instant,
    pub packet: PacketId,
    pub from: HostId,
    /// The destination, when the router named one.
    pub to: Option<HostId>,
    /// The link, unless the packet had no route.
    pub link: Option<LinkId>,
    /// The packet length in bytes.
    pub len: usize,
    pub kind: PacketEventKind,
}

/// What [`Simulator::record_log`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// Only the events.
    Events,
    /// The events and a copy of the packet bytes at each event.
    EventsAndBytes,
}

/// One entry of the recorded log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketRecord {
    pub event: PacketEvent,
    /// The bytes at the time of the event, with [`Capture::EventsAndBytes`].
    pub bytes: Option<Vec<u8>>,
}

/// Whole-simulator counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Events run: packet deliveries plus host timeouts.
    pub events: u64,
    pub deliveries: u64,
    pub timeouts: u64,
    /// Packets the hosts emitted.
    pub packets_sent: u64,
    pub unroutable: u64,
    pub oversize: u64,
}

/// Building a topology went wrong.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum ConfigError {
    #[error("unknown host {0}")]
    UnknownHost(HostId),
    #[error("a link from {from} to {to} already exists")]
    DuplicateLink { from: HostId, to: HostId },
    #[error("{name} probability {value} is not between 0 and 1")]
    Probability { name: &'static str, value: f64 },
    #[error("reordering needs a non-zero extra delay")]
    ReorderWithoutDelay,
    #[error("scripted loss counts packets from 1; 0 never matches")]
    ScriptIndexZero,
}

/// Running the simulation went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RunError {
    #[error("still busy after {limit} events (at t={now:?}); a host may re-arm its timer forever")]
    StepLimit { limit: u64, now: Instant },
}

/// Everything the event queue can hold.
///
/// Packets that keep their order on a link wait in the link's `in_flight`
/// FIFO and only the head has a [`Event::LinkHead`] entry, keyed by the
/// head's own arrival time and reserved sequence number: the heap stays
/// small (about one entry per busy link and per host) and events still run
/// in exactly (time, sequence) order. Reordered copies, which break the
/// FIFO, get their own [`Event::Deliver`] entry.
enum Event {
    /// The head of `link`'s in-flight FIFO arrives.
    LinkHead { link: u32 },
    /// A reordered packet copy in pool slot `slot` reaches the end of `link`.
    Deliver {
        link: u32,
        slot: u32,
        packet: PacketId,
    },
    /// A possible host timeout (checked against the host's wish when due).
    Timeout { host: u32 },
}

struct HostSlot<H> {
    host: H,
    /// Outgoing links, by destination.
    links: Vec<(HostId, LinkId)>,
    /// The timeout the host currently asks for (clamped to no earlier than
    /// the time it was asked).
    wants: Option<Instant>,
    /// The earliest `Event::Timeout` queued for this host. Invariant: when
    /// `wants` is `Some(w)`, `queued` is `Some(q)` with `q <= w`, so a later
    /// re-arm queues nothing and the earlier event re-queues lazily.
    queued: Option<Instant>,
    dirty: bool,
}

type TapFn = Box<dyn FnMut(&PacketEvent, &[u8])>;
type RouterFn = Box<dyn FnMut(HostId, &[u8]) -> Option<HostId>>;

struct Taps {
    callbacks: Vec<TapFn>,
    log: Option<(Capture, Vec<PacketRecord>)>,
}

impl Taps {
    #[inline]
    fn emit(&mut self, event: PacketEvent, bytes: &[u8]) {
        for tap in &mut self.callbacks {
            tap(&event, bytes);
        }
        if let Some((capture, log)) = &mut self.log {
            log.push(PacketRecord {
                event,
                bytes: (*capture == Capture::EventsAndBytes).then(|| bytes.to_vec()),
            });
        }
    }
}

/// The default size of the buffer handed to [`Host::poll_transmit`]: the
/// largest IPv4 packet.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 65_535;

/// The simulator: hosts of type `H` (use `Box<dyn Host>` to mix types),
/// links between them, a virtual clock and an event queue.
pub struct Simulator<H> {
    now: Instant,
    seed: u64,
    hosts: Vec<HostSlot<H>>,
    links: Vec<Link>,
    queue: EventQueue<Event>,
    pool: PacketPool,
    scratch: Vec<u8>,
    router: Option<RouterFn>,
    taps: Taps,
    dirty: Vec<HostId>,
    next_packet: u64,
    stats: SimStats,
}

impl<H: Host> Simulator<H> {
    /// An empty simulator at time zero. `seed` fixes every random choice.
    pub fn new(seed: u64) -> Simulator<H> {
        Simulator {
            now: Instant::ZERO,
            seed,
            hosts: Vec::new(),
            links: Vec::new(),
            queue: EventQueue::new(),
            pool: PacketPool::new(),
            scratch: vec![0; DEFAULT_MAX_PACKET_SIZE],
            router: None,
            taps: Taps {
                callbacks: Vec::new(),
                log: None,
            },
            dirty: Vec::new(),
            next_packet: 0,
            stats: SimStats::default(),
        }
    }

    /// Sets the size of the transmit buffer handed to hosts.
    pub fn with_max_packet_size(mut self, bytes: usize) -> Simulator<H> {
        self.scratch = vec![0; bytes];
        self
    }

    pub fn max_packet_size(&self) -> usize {
        self.scratch.len()
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// Adds a host. It is polled (transmit and timeout) before the next
    /// event runs, so a host can start sending at time zero.
    pub fn add_host(&mut self, host: H) -> HostId {
        let id = HostId(self.hosts.len());
        self.hosts.push(HostSlot {
            host,
            links: Vec::new(),
            wants: None,
            queued: None,
            dirty: false,
        });
        self.mark_dirty(id);
        id
    }

    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// The host. Panics if `id` did not come from this simulator.
    pub fn host(&self, id: HostId) -> &H {
        &self.hosts[id.0].host
    }

    /// The host, for app calls (connect, send, ...). The simulator polls it
    /// before the next event runs. Panics if `id` did not come from this
    /// simulator.
    pub fn host_mut(&mut self, id: HostId) -> &mut H {
        self.mark_dirty(id);
        &mut self.hosts[id.0].host
    }

    /// Runs `f` on the host with the current time, then polls the host at
    /// once (its packets enter the links at the current time).
    pub fn with_host<R>(&mut self, id: HostId, f: impl FnOnce(&mut H, Instant) -> R) -> R {
        let result = f(&mut self.hosts[id.0].host, self.now);
        self.service(id);
        result
    }

    /// Connects `from` to `to` with a directed link.
    pub fn connect(
        &mut self,
        from: HostId,
        to: HostId,
        config: &LinkConfig,
    ) -> Result<LinkId, ConfigError> {
        self.check_new_link(from, to, config)?;
        Ok(self.push_link(from, to, config, config.one_way_delay()))
    }

    /// Connects `a` and `b` both ways with the same configuration. With
    /// [`LinkConfig::rtt`] the two one-way delays add up to the RTT exactly
    /// (a→b gets the odd nanosecond). Scripted loss rules apply to each
    /// direction separately. Returns (a→b, b→a).
    pub fn connect_duplex(
        &mut self,
        a: HostId,
        b: HostId,
        config: &LinkConfig,
    ) -> Result<(LinkId, LinkId), ConfigError> {
        if a == b {
            // Both directions would be the same loopback link.
            return Err(ConfigError::DuplicateLink { from: a, to: b });
        }
        self.check_new_link(a, b, config)?;
        self.check_new_link(b, a, config)?;
        let (forward, reverse) = config.duplex_delays();
        let ab = self.push_link(a, b, config, forward);
        let ba = self.push_link(b, a, config, reverse);
        Ok((ab, ba))
    }

    fn check_new_link(
        &self,
        from: HostId,
        to: HostId,
        config: &LinkConfig,
    ) -> Result<(), ConfigError> {
        for id in [from, to] {
            if id.0 >= self.hosts.len() {
                return Err(ConfigError::UnknownHost(id));
            }
        }
        if self.link_between(from, to).is_some() {
            return Err(ConfigError::DuplicateLink { from, to });
        }
        config.validate()
    }

    fn push_link(
        &mut self,
        from: HostId,
        to: HostId,
        config: &LinkConfig,
        delay: Duration,
    ) -> LinkId {
        let id = LinkId(self.links.len());
        let seed = rng::derive_seed(self.seed, id.0 as u64);
        self.links.push(Link::new(from, to, config, delay, seed));
        self.hosts[from.0].links.push((to, id));
        id
    }

    /// The link from `from` to `to`, if any.
    pub fn link_between(&self, from: HostId, to: HostId) -> Option<LinkId> {
        let slot = self.hosts.get(from.0)?;
        slot.links
            .iter()
            .find(|(dest, _)| *dest == to)
            .map(|&(_, link)| link)
    }

    pub fn link_count(&self) -> usize {
        self.links.len()
    }

    /// The (source, destination) of a link. Panics on a foreign id.
    pub fn link_ends(&self, id: LinkId) -> (HostId, HostId) {
        let link = &self.links[id.0];
        (link.from, link.to)
    }

    /// The one-way propagation delay of a link. Panics on a foreign id.
    pub fn link_delay(&self, id: LinkId) -> Duration {
        self.links[id.0].delay()
    }

    /// The counters of a link. Panics on a foreign id.
    pub fn link_stats(&self, id: LinkId) -> &LinkStats {
        &self.links[id.0].stats
    }

    /// Routes every packet through `router(sender, bytes)`, which names the
    /// destination host; the packet takes the sender's link to it.
    pub fn set_router(&mut self, router: impl FnMut(HostId, &[u8]) -> Option<HostId> + 'static) {
        self.router = Some(Box::new(router));
    }

    /// Routes by the destination address of IPv4/IPv6 packets.
    pub fn route_by_ip_destination(&mut self, table: impl IntoIterator<Item = (IpAddr, HostId)>) {
        let table: HashMap<IpAddr, HostId> = table.into_iter().collect();
        self.set_router(move |_, packet| {
            ip_destination(packet).and_then(|dst| table.get(&dst).copied())
        });
    }

    /// Calls `tap` for every packet event, with the packet bytes as they are
    /// at that event.
    pub fn add_tap(&mut self, tap: impl FnMut(&PacketEvent, &[u8]) + 'static) {
        self.taps.callbacks.push(Box::new(tap));
    }

    /// Starts (or restarts, clearing it) recording every packet event.
    pub fn record_log(&mut self, capture: Capture) {
        self.taps.log = Some((capture, Vec::new()));
    }

    /// The recorded log (empty when not recording).
    pub fn log(&self) -> &[PacketRecord] {
        self.taps
            .log
            .as_ref()
            .map_or(&[], |(_, log)| log.as_slice())
    }

    /// Takes the recorded log, leaving recording on with an empty log.
    pub fn take_log(&mut self) -> Vec<PacketRecord> {
        self.taps
            .log
            .as_mut()
            .map(|(_, log)| mem::take(log))
            .unwrap_or_default()
    }

    /// Packets inside links (queued, serializing or propagating).
    pub fn packets_in_flight(&self) -> usize {
        self.pool.in_use()
    }

    /// Packet buffers ever allocated: the most packets that were inside
    /// links at once. Buffers are recycled, so a steady flow stops growing it.
    pub fn packet_buffers_allocated(&self) -> usize {
        self.pool.capacity()
    }

    /// Entries in the event queue (including timeouts that may turn out to
    /// be unneeded).
    pub fn queued_events(&self) -> usize {
        self.queue.len()
    }

    /// Time of the next queued event (possibly a timeout that will turn out
    /// not to be needed any more).
    pub fn next_event_time(&self) -> Option<Instant> {
        self.queue.peek_time()
    }

    /// True when nothing is left to run and no host awaits polling.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.dirty.is_empty()
    }

    /// Runs the next event (a delivery or a host timeout), advancing the
    /// clock to its time. Returns that time, or `None` when nothing is left.
    pub fn step(&mut self) -> Option<Instant> {
        self.step_until(Instant(u64::MAX))
    }

    /// Runs every event due at or before `deadline`, then sets the clock to
    /// `deadline` (if it is not already later). Returns the number of events.
    pub fn run_until(&mut self, deadline: Instant) -> u64 {
        let mut events = 0;
        while self.step_until(deadline).is_some() {
            events += 1;
        }
        self.now = self.now.max(deadline);
        events
    }

    /// [`Simulator::run_until`] `now + duration`.
    pub fn run_for(&mut self, duration: Duration) -> u64 {
        self.run_until(self.now + duration)
    }

    /// Runs until no event is left. Fails if more than `max_events` would
    /// be needed (the simulation stays consistent and can be resumed). A
    /// queued timeout that a host has since withdrawn still counts as
    /// pending for this check, although it runs nothing when it comes due.
    pub fn run_until_idle(&mut self, max_events: u64) -> Result<u64, RunError> {
        let mut events = 0;
        loop {
            self.service_dirty();
            if self.queue.is_empty() {
                return Ok(events);
            }
            if events == max_events {
                return Err(RunError::StepLimit {
                    limit: max_events,
                    now: self.now,
                });
            }
            if self.step().is_none() {
                return Ok(events);
            }
            events += 1;
        }
    }

    /// Runs events while `condition` holds (checked before each event) and
    /// events remain. Returns the number of events run.
    pub fn run_while(&mut self, mut condition: impl FnMut(&Simulator<H>) -> bool) -> u64 {
        let mut events = 0;
        while condition(self) && self.step().is_some() {
            events += 1;
        }
        events
    }

    fn mark_dirty(&mut self, id: HostId) {
        let slot = &mut self.hosts[id.0];
        if !slot.dirty {
            slot.dirty = true;
            self.dirty.push(id);
        }
    }

    fn service_dirty(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let mut dirty = mem::take(&mut self.dirty);
        for &id in &dirty {
            self.hosts[id.0].dirty = false;
            self.service(id);
        }
        dirty.clear();
        // Keep the allocation unless servicing dirtied hosts again.
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
    }

    /// Runs the next real event due at or before `deadline`.
    fn step_until(&mut self, deadline: Instant) -> Option<Instant> {
        self.service_dirty();
        loop {
            let (at, event) = self.queue.pop_due(deadline)?;
            self.now = at;
            let ran = match event {
                Event::LinkHead { link } => self.deliver_head(link),
                Event::Deliver { link, slot, packet } => {
                    self.deliver(link as usize, slot, packet);
                    true
                }
                Event::Timeout { host } => self.timeout(HostId(host as usize)),
            };
            if ran {
                self.stats.events += 1;
                return Some(at);
            }
        }
    }

    /// Delivers the head of a link's FIFO, first queuing the next head (so
    /// that packets the delivery provokes on this link find it queued).
    fn deliver_head(&mut self, link: u32) -> bool {
        let fifo = &mut self.links[link as usize].in_flight;
        let Some(head) = fifo.pop_front() else {
            return false;
        };
        if let Some(next) = fifo.front() {
            self.queue
                .push_reserved(next.arrival, next.seq, Event::LinkHead { link });
        }
        self.deliver(link as usize, head.slot, head.packet);
        true
    }

    fn deliver(&mut self, link: usize, slot: u32, packet: PacketId) {
        let now = self.now;
        let l = &mut self.links[link];
        let to = l.to;
        let bytes = self.pool.get(slot);
        l.stats.delivered += 1;
        l.stats.delivered_bytes += bytes.len() as u64;
        self.stats.deliveries += 1;
        self.taps.emit(
            PacketEvent {
                time: now,
                packet,
                from: l.from,
                to: Some(to),
                link: Some(LinkId(link)),
                len: bytes.len(),
                kind: PacketEventKind::Delivered,
            },
            bytes,
        );
        self.hosts[to.0].host.handle_packet(now, bytes);
        self.pool.release(slot);
        self.service(to);
    }

    /// A queued timeout for `id` is due. Returns whether the host ran.
    fn timeout(&mut self, id: HostId) -> bool {
        let now = self.now;
        let slot = &mut self.hosts[id.0];
        if slot.queued == Some(now) {
            slot.queued = None;
        }
        match slot.wants {
            Some(when) if when <= now => {
                slot.wants = None;
                slot.host.handle_timeout(now);
                self.stats.timeouts += 1;
                self.service(id);
                true
            }
            Some(when) => {
                // The host moved its timeout later since this was queued.
                if slot.queued.is_none() {
                    slot.queued = Some(when);
                    self.queue.push(when, Event::Timeout { host: id.0 as u32 });
                }
                false
            }
            None => false,
        }
    }

    /// Drains the host's transmissions into its links, then re-reads its
    /// timeout.
    fn service(&mut self, id: HostId) {
        let mut scratch = mem::take(&mut self.scratch);
        while let Some(len) = self.hosts[id.0].host.poll_transmit(self.now, &mut scratch) {
            match scratch.get(..len) {
                Some(packet) => self.offer(id, packet),
                None => self.offer_oversize(id, len),
            }
        }
        self.scratch = scratch;
        let now = self.now;
        let slot = &mut self.hosts[id.0];
        slot.wants = slot.host.poll_timeout().map(|t| t.max(now));
        if let Some(when) = slot.wants {
            if slot.queued.is_none_or(|queued| when < queued) {
                slot.queued = Some(when);
                self.queue.push(when, Event::Timeout { host: id.0 as u32 });
            }
        }
    }

    fn next_packet_id(&mut self) -> PacketId {
        let id = PacketId(self.next_packet);
        self.next_packet += 1;
        id
    }

    fn offer_oversize(&mut self, from: HostId, len: usize) {
        self.stats.packets_sent += 1;
        self.stats.oversize += 1;
        let packet = self.next_packet_id();
        let event = PacketEvent {
            time: self.now,
            packet,
            from,
            to: None,
            link: None,
            len,
            kind: PacketEventKind::Sent,
        };
        self.taps.emit(event, &[]);
        self.taps.emit(
            PacketEvent {
                kind: PacketEventKind::Dropped(DropReason::Oversize),
                ..event
            },
            &[],
        );
    }

    /// A host emitted `bytes`: route it and run the link ingress.
    fn offer(&mut self, from: HostId, bytes: &[u8]) {
        self.stats.packets_sent += 1;
        let now = self.now;
        let slot = &self.hosts[from.0];
        let to = match &mut self.router {
            Some(router) => router(from, bytes),
            None => match slot.links.as_slice() {
                [(to, _)] => Some(*to),
                _ => None,
            },
        };
        let link = to.and_then(|to| {
            slot.links
                .iter()
                .find(|(dest, _)| *dest == to)
                .map(|&(_, l)| l)
        });
        let packet = self.next_packet_id();
        let mut event = PacketEvent {
            time: now,
            packet,
            from,
            to,
            link,
            len: bytes.len(),
            kind: PacketEventKind::Sent,
        };
        self.taps.emit(event, bytes);
        let Some(link) = link else {
            self.stats.unroutable += 1;
            event.kind = PacketEventKind::Dropped(DropReason::NoRoute);
            self.taps.emit(event, bytes);
            return;
        };
        match self.links[link.0].admit(bytes) {
            Admission::Drop(reason) => {
                event.kind = PacketEventKind::Dropped(reason);
                self.taps.emit(event, bytes);
            }
            Admission::Accept { duplicate } => {
                self.transmit_copy(event, bytes);
                if duplicate {
                    let copy = PacketEvent {
                        packet: self.next_packet_id(),
                        kind: PacketEventKind::Duplicated { original: packet },
                        ..event
                    };
                    self.taps.emit(copy, bytes);
                    self.transmit_copy(copy, bytes);
                }
            }
        }
    }

    /// Corruption, queue, serialization and propagation of one copy.
    /// `event` describes the copy (its kind is ignored).
    fn transmit_copy(&mut self, mut event: PacketEvent, bytes: &[u8]) {
        let Some(link_id) = event.link else {
            return;
        };
        let slot = self.pool.alloc(bytes);
        let link = &mut self.links[link_id.0];
        if let Some(bit) = link.corruption(bytes.len()) {
            // Bit 0 is the most significant bit of byte 0 (network order).
            self.pool.get_mut(slot)[bit / 8] ^= 0x80 >> (bit % 8);
            event.kind = PacketEventKind::Corrupted { bit };
            self.taps.emit(event, self.pool.get(slot));
        }
        match link.enqueue(self.now, bytes.len()) {
            Err(reason) => {
                event.kind = PacketEventKind::Dropped(reason);
                self.taps.emit(event, self.pool.get(slot));
                self.pool.release(slot);
            }
            Ok(scheduled) => {
                if let Some(extra) = scheduled.reordered_by {
                    event.kind = PacketEventKind::Reordered { extra };
                    self.taps.emit(event, self.pool.get(slot));
                }
                let link_index = link_id.0 as u32;
                if scheduled.reordered_by.is_some() {
                    self.queue.push(
                        scheduled.arrival,
                        Event::Deliver {
                            link: link_index,
                            slot,
                            packet: event.packet,
                        },
                    );
                } else {
                    let seq = self.queue.reserve_seq();
                    if link.in_flight.is_empty() {
                        self.queue.push_reserved(
                            scheduled.arrival,
                            seq,
                            Event::LinkHead { link: link_index },
                        );
                    }
                    link.in_flight.push_back(InFlight {
                        arrival: scheduled.arrival,
                        seq,
                        slot,
                        packet: event.packet,
                    });
                }
            }
        }
    }
}

/// The destination address of an IPv4 or IPv6 packet, if `packet` is long
/// enough to hold one (RFC 791 §3.1, RFC 8200 §3).
pub fn ip_destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => {
            let dst: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            Some(IpAddr::from(dst))
        }
        6 => {
            let dst: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            Some(IpAddr::from(dst))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_destination_reads_v4_and_v6() {
        let mut v4 = [0u8; 20];
        v4[0] = 0x45;
        v4[16..20].copy_from_slice(&[10, 0, 0, 2]);
        assert_eq!(ip_destination(&v4), Some(IpAddr::from([10, 0, 0, 2])));
        assert_eq!(ip_destination(&v4[..19]), None);
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[39] = 1;
        assert_eq!(
            ip_destination(&v6),
            Some(IpAddr::from([
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
            ]))
        );
        assert_eq!(ip_destination(&[0x50; 40]), None);
        assert_eq!(ip_destination(&[]), None);
    }
}

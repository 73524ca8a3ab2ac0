//! The demux layer: connections by 4-tuple, listeners with bounded SYN and
//! accept queues, ephemeral ports, RFC 6528 ISNs, and the CLOSED-state
//! answer (a RST) for segments that match no connection — decided, like
//! everything else, by the engine's CLOSED and LISTEN rows.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use foldhash::fast::SeedableRandomState;
use foldhash::SharedSeed;

use crate::config::Config;
use crate::connection::Connection;
use crate::engine::{Engine, TableEngine};
use crate::error::{ConnectionError, EndpointError, InputError};
use crate::isn::IsnGenerator;
use crate::state::TcpState;
use crate::tcb::ConnEvent;
use crate::time::Instant;
use crate::trace::TraceEvent;
use crate::wire::{self, ip, Flags, Segment};

/// The 4-tuple map: (local, remote) to slot.
///
/// Keyed with a secret drawn from the operating system's randomness, so
/// that a peer choosing addresses and ports cannot aim many connections at
/// one bucket (hash flooding). foldhash costs a fraction of std's SipHash-1-3
/// per lookup (one lookup per arriving segment).
type TupleMap = HashMap<TupleKey, usize, SeedableRandomState>;

/// A connection's (local, remote) address pair as a map key.
///
/// Hashed as one or three wide words rather than through `SocketAddr`'s
/// derived `Hash` (an enum tag, a length-prefixed octet array and a port
/// per address): a third of the hashing work per lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TupleKey {
    /// [`ip_bits`] of the local and the remote address.
    local: u128,
    remote: u128,
    /// Local port in the high half, remote port in the low half.
    ports: u32,
}

impl TupleKey {
    fn new(local: SocketAddr, remote: SocketAddr) -> TupleKey {
        TupleKey::from_parts(local.ip(), local.port(), remote.ip(), remote.port())
    }

    /// The key straight from a segment's addresses and ports: plain
    /// integers, so that the lookup on every arriving segment builds no
    /// `SocketAddr` (whose byte-wise construction, read back at once as a
    /// wide word, stalled on store forwarding).
    #[inline]
    fn from_parts(local: IpAddr, local_port: u16, remote: IpAddr, remote_port: u16) -> TupleKey {
        TupleKey {
            local: ip_bits(local),
            remote: ip_bits(remote),
            ports: u32::from(local_port) << 16 | u32::from(remote_port),
        }
    }
}

impl Hash for TupleKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal keys have equal fields, hence equal hashes.
        let v4 = |bits: u128| bits & V4_TAG == V4_TAG;
        if v4(self.local) && v4(self.remote) {
            let l = self.local as u32;
            let r = self.remote as u32;
            state.write_u128(u128::from(l) << 96 | u128::from(r) << 64 | u128::from(self.ports));
        } else {
            state.write_u128(self.local);
            state.write_u128(self.remote);
            state.write_u32(self.ports);
        }
    }
}

/// The bits above an IPv4 address in [`ip_bits`]: `ffff:ffff:ffff:ffff:
/// ffff:ffff::/96`, a multicast prefix (ff00::/8). A tuple never holds a
/// multicast address (the endpoint refuses them, RFC 1122 §4.2.3.10), so no
/// IPv6 tuple can have the bits of an IPv4 one.
const V4_TAG: u128 = !0u128 << 32;

/// An address as 128 bits: IPv6 as it is, IPv4 in the low 32 under
/// [`V4_TAG`]. IPv6 flow labels and scope ids are not part of a 4-tuple.
#[inline]
fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => V4_TAG | u128::from(a.to_bits()),
        IpAddr::V6(a) => a.to_bits(),
    }
}

/// A fresh keyed hasher state for a [`TupleMap`]: the process-wide secret
/// seed plus a per-map seed, both drawn from std's `RandomState` (whose
/// keys come from the OS random source), not from foldhash's own global
/// seed, which is derived from addresses and the clock.
fn tuple_hasher() -> SeedableRandomState {
    static SHARED: OnceLock<SharedSeed> = OnceLock::new();
    let draw = |salt: u64| std::hash::RandomState::new().hash_one(salt);
    let shared = SHARED.get_or_init(|| SharedSeed::from_u64(draw(0x7470_6670_6d31)));
    SeedableRandomState::with_seed(draw(0x7470_6670_6d32), shared)
}

/// Identifies a connection of an [`Endpoint`]: its slot and the slot's
/// generation when the connection took it. A slot is reused once its
/// connection is freed, under a new generation, so a handle kept past the
/// end of its connection is refused ([`EndpointError::UnknownHandle`])
/// instead of reaching whichever connection has the slot now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnHandle {
    slot: u32,
    generation: u32,
}

impl ConnHandle {
    /// The connection's slot in its endpoint (slots are reused).
    pub fn slot(self) -> usize {
        self.slot as usize
    }
}

impl std::fmt::Display for ConnHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}.{}", self.slot, self.generation)
    }
}

/// What `Endpoint::poll_into` wrote: a queued reply to a segment that had
/// no connection, or a connection's segment.
#[derive(Clone, Copy, Debug)]
enum Sent {
    Orphan {
        src: SocketAddr,
        dst: SocketAddr,
        len: usize,
    },
    Conn {
        slot: usize,
        len: usize,
    },
}

/// Where a written packet goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// Bytes written into the caller's buffer.
    pub len: usize,
}

struct Listener {
    backlog: usize,
    /// Spawned connections not yet ESTABLISHED (the SYN queue).
    embryonic: usize,
    accept_queue: VecDeque<ConnHandle>,
}

struct Slot<E: Engine> {
    /// Boxed so that a finished connection can go to the pool and come back
    /// without moving its TCB.
    conn: Box<Connection<E>>,
    /// The listener that spawned it, until it is established.
    listener: Option<u16>,
    /// The connection was reported established to its listener.
    established: bool,
    /// The application closed or aborted it (or never saw it).
    released: bool,
    /// The earliest of this connection's entries in the timer heap. Entries
    /// are pushed only when a deadline moves earlier; one that comes due
    /// while the real deadline is later is re-armed, so the heap holds about
    /// one entry per connection however often an RTO is restarted.
    scheduled: Option<Instant>,
    /// Already in the transmit candidate queue.
    queued: bool,
    /// Counts the connections the slot has held: a handle names one of them.
    generation: u32,
}

impl<E: Engine> Slot<E> {
    /// The handle of this connection, in slot `i`.
    fn handle(&self, i: usize) -> ConnHandle {
        slot_handle(i, self.generation)
    }
}

fn slot_handle(i: usize, generation: u32) -> ConnHandle {
    ConnHandle {
        slot: i as u32,
        generation,
    }
}

/// Many connections on a set of local addresses, sans-IO.
pub struct Endpoint<E: Engine + Clone = TableEngine> {
    config: Config,
    addrs: Vec<IpAddr>,
    engine: E,
    isn: IsnGenerator,
    slots: Vec<Option<Slot<E>>>,
    /// Empty slots, each with the generation its next connection gets (one
    /// more than the last one's, so that the last one's handles stop matching).
    free: Vec<(usize, u32)>,
    /// Slots left empty for good: their generation reached `u32::MAX`, and
    /// reusing them would let a handle from 2^32 connections ago match.
    worn_out: usize,
    /// Finished connections kept for reuse, buffers and all (at most
    /// [`SPARE_CONNECTIONS`]): a new connection is one of these recycled in
    /// place rather than a fresh allocation of its TCB and buffers.
    spare: Vec<Box<Connection<E>>>,
    by_tuple: TupleMap,
    /// By local port; looked up on every SYN, every `accept` and every
    /// newly established passive connection, so it uses the same keyed
    /// hasher as the 4-tuple map rather than SipHash.
    listeners: HashMap<u16, Listener, SeedableRandomState>,
    next_port: u16,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    candidates: VecDeque<usize>,
    /// Segments from connections that are already gone (RST replies).
    orphans: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    events: VecDeque<(ConnHandle, ConnEvent)>,
    traces: Vec<TraceEvent>,
    scratch: Vec<u8>,
}

const EPHEMERAL_FIRST: u16 = 49_152;

/// How many finished connections an endpoint keeps for reuse.
const SPARE_CONNECTIONS: usize = 16;

impl<E: Engine + Clone> Endpoint<E> {
    /// An endpoint owning `addrs`, cloning `engine` for each connection;
    /// `seed` keys the RFC 6528 ISN generator (deterministic runs).
    pub fn new(config: Config, addrs: Vec<IpAddr>, engine: E, seed: u64) -> Self {
        Endpoint {
            config,
            addrs,
            engine,
            isn: IsnGenerator::from_seed(seed),
            slots: Vec::new(),
            free: Vec::new(),
            worn_out: 0,
            spare: Vec::new(),
            by_tuple: TupleMap::with_hasher(tuple_hasher()),
            listeners: HashMap::with_hasher(tuple_hasher()),
            next_port: EPHEMERAL_FIRST.wrapping_add((seed % 16_000) as u16),
            timers: BinaryHeap::new(),
            candidates: VecDeque::new(),
            orphans: VecDeque::new(),
            events: VecDeque::new(),
            traces: Vec::new(),
            scratch: vec![0; 128],
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn addrs(&self) -> &[IpAddr] {
        &self.addrs
    }

    /// Number of live connections (including TIME-WAIT).
    pub fn connection_count(&self) -> usize {
        self.slots.len() - self.free.len() - self.worn_out
    }

    /// The slot of `h`, if `h` is the handle of the connection in it.
    fn live(&self, h: ConnHandle) -> Option<&Slot<E>> {
        let slot = self.slots.get(h.slot())?.as_ref()?;
        (slot.generation == h.generation).then_some(slot)
    }

    /// [`Self::live`], mutable.
    fn live_mut(&mut self, h: ConnHandle) -> Option<&mut Slot<E>> {
        let slot = self.slots.get_mut(h.slot())?.as_mut()?;
        (slot.generation == h.generation).then_some(slot)
    }

    pub fn connection(&self, h: ConnHandle) -> Option<&Connection<E>> {
        self.live(h).map(|s| &*s.conn)
    }

    /// Mutable access to a connection; the endpoint re-examines it on the
    /// next poll.
    pub fn connection_mut(&mut self, h: ConnHandle) -> Option<&mut Connection<E>> {
        self.live(h)?;
        self.touch(h.slot());
        self.slots[h.slot()].as_mut().map(|s| &mut *s.conn)
    }

    /// Handles of all live connections, in slot order.
    pub fn handles(&self) -> Vec<ConnHandle> {
        (0..self.slots.len())
            .filter_map(|i| self.slots[i].as_ref().map(|s| s.handle(i)))
            .collect()
    }

    /// A connection in CLOSED between `local` and `remote`: a spare one
    /// recycled in place when there is one, else a new one.
    fn new_connection(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        iss: crate::seq::SeqNum,
        now: Instant,
    ) -> Box<Connection<E>> {
        let config = self.config.clone();
        match self.spare.pop() {
            Some(mut conn) => {
                conn.recycle(config, local, remote, iss, self.engine.clone(), now);
                conn
            }
            None => Box::new(Connection::new(
                config,
                local,
                remote,
                iss,
                self.engine.clone(),
                now,
            )),
        }
    }

    /// Keeps a finished connection for [`Self::new_connection`].
    fn retire(&mut self, conn: Box<Connection<E>>) {
        if self.spare.len() < SPARE_CONNECTIONS {
            self.spare.push(conn);
        }
    }

    /// Puts `conn` in a free slot (or a new one); returns the slot and the
    /// connection's handle.
    fn insert(&mut self, conn: Box<Connection<E>>, listener: Option<u16>) -> (usize, ConnHandle) {
        let key = TupleKey::new(conn.local(), conn.remote());
        let (i, generation) = self.free.pop().unwrap_or((self.slots.len(), 0));
        let slot = Slot {
            conn,
            listener,
            established: false,
            released: false,
            scheduled: None,
            queued: false,
            generation,
        };
        match self.slots.get_mut(i) {
            Some(empty) => *empty = Some(slot),
            None => self.slots.push(Some(slot)),
        }
        self.by_tuple.insert(key, i);
        (i, slot_handle(i, generation))
    }

    fn local_addr_for(&self, remote: SocketAddr) -> Option<IpAddr> {
        self.addrs
            .iter()
            .copied()
            .find(|a| a.is_ipv4() == remote.is_ipv4())
    }

    fn pick_port(&mut self, local: IpAddr, remote: SocketAddr) -> Option<u16> {
        let range = u32::from(u16::MAX - EPHEMERAL_FIRST) + 1;
        for _ in 0..range {
            let port = self.next_port;
            self.next_port = if self.next_port == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                self.next_port + 1
            };
            let key = TupleKey::new(SocketAddr::new(local, port), remote);
            if !self.by_tuple.contains_key(&key) && !self.listeners.contains_key(&port) {
                return Some(port);
            }
        }
        None
    }

    /// Active OPEN to `remote` from an ephemeral port.
    pub fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
    ) -> Result<ConnHandle, EndpointError> {
        let ip = self
            .local_addr_for(remote)
            .ok_or(EndpointError::NoLocalAddress(remote))?;
        let port = self
            .pick_port(ip, remote)
            .ok_or(EndpointError::NoEphemeralPort(ip))?;
        self.connect_from(now, SocketAddr::new(ip, port), remote)
    }

    /// Active OPEN from a chosen local address.
    pub fn connect_from(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<ConnHandle, EndpointError> {
        for a in [local, remote] {
            if a.ip().is_multicast() {
                return Err(EndpointError::MulticastAddress(a));
            }
        }
        if self.by_tuple.contains_key(&TupleKey::new(local, remote)) {
            return Err(EndpointError::AddressInUse(local));
        }
        let iss = self.isn.isn(local, remote, now);
        let mut conn = self.new_connection(local, remote, iss, now);
        if let Err(e) = conn.connect(now) {
            self.retire(conn);
            return Err(e.into());
        }
        let (i, h) = self.insert(conn, None);
        self.after(i);
        Ok(h)
    }

    /// Passive OPEN on `port` for every local address, with room for
    /// `backlog` embryonic and `backlog` established-but-unaccepted connections.
    pub fn listen(&mut self, port: u16, backlog: usize) -> Result<(), EndpointError> {
        if self.listeners.contains_key(&port) {
            let ip = self
                .addrs
                .first()
                .copied()
                .unwrap_or(IpAddr::from([0, 0, 0, 0]));
            return Err(EndpointError::AddressInUse(SocketAddr::new(ip, port)));
        }
        self.listeners.insert(
            port,
            Listener {
                backlog: backlog.max(1),
                embryonic: 0,
                accept_queue: VecDeque::new(),
            },
        );
        Ok(())
    }

    /// Stops listening on `port` (established, unaccepted connections are aborted).
    pub fn unlisten(&mut self, now: Instant, port: u16) -> Result<(), EndpointError> {
        let l = self
            .listeners
            .remove(&port)
            .ok_or(EndpointError::NotListening(port))?;
        for h in l.accept_queue {
            let _ = self.abort(now, h);
        }
        Ok(())
    }

    /// Takes an established connection from `port`'s accept queue.
    #[inline]
    pub fn accept(&mut self, port: u16) -> Option<ConnHandle> {
        // The queue holds live connections only (a finished one is taken
        // out); should a stale handle be there, it is skipped, not returned.
        loop {
            let h = self.listeners.get_mut(&port)?.accept_queue.pop_front()?;
            if let Some(s) = self.live_mut(h) {
                s.listener = None;
                return Some(h);
            }
        }
    }

    fn slot_mut(&mut self, h: ConnHandle) -> Result<&mut Slot<E>, EndpointError> {
        self.live_mut(h).ok_or(EndpointError::UnknownHandle(h))
    }

    pub fn send(
        &mut self,
        now: Instant,
        h: ConnHandle,
        data: &[u8],
    ) -> Result<usize, EndpointError> {
        let r = self.slot_mut(h)?.conn.send(now, data);
        self.after(h.slot());
        Ok(r?)
    }

    /// RECEIVE; `Ok(0)` is the end of the stream.
    pub fn recv(
        &mut self,
        now: Instant,
        h: ConnHandle,
        buf: &mut [u8],
    ) -> Result<usize, EndpointError> {
        let r = self.slot_mut(h)?.conn.recv(now, buf);
        self.after(h.slot());
        Ok(r?)
    }

    /// CLOSE of the sending side; the connection stays usable for reading.
    pub fn shutdown(&mut self, now: Instant, h: ConnHandle) -> Result<(), EndpointError> {
        let r = self.slot_mut(h)?.conn.shutdown(now);
        self.after(h.slot());
        Ok(r?)
    }

    /// CLOSE, and the application lets go of the handle: the endpoint frees
    /// the connection once it reaches CLOSED.
    pub fn close(&mut self, now: Instant, h: ConnHandle) -> Result<(), EndpointError> {
        let slot = self.slot_mut(h)?;
        slot.released = true;
        let r = match slot.conn.state() {
            // Closing an already closed or closing connection is not an error for the releaser.
            TcpState::Closed
            | TcpState::FinWait1
            | TcpState::FinWait2
            | TcpState::Closing
            | TcpState::LastAck
            | TcpState::TimeWait => Ok(()),
            _ => slot.conn.close(now),
        };
        self.after(h.slot());
        Ok(r?)
    }

    /// ABORT: a RST goes out where the state calls for one.
    pub fn abort(&mut self, now: Instant, h: ConnHandle) -> Result<(), EndpointError> {
        let slot = self.slot_mut(h)?;
        slot.released = true;
        let r = slot.conn.abort(now);
        self.after(h.slot());
        match r {
            Ok(()) | Err(ConnectionError::ConnectionDoesNotExist) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// An IP packet (IPv4 or IPv6 carrying TCP) arrived.
    pub fn handle_packet(&mut self, now: Instant, packet: &[u8]) -> Result<(), InputError> {
        let p = ip::parse_ip_packet(packet)?;
        if p.protocol != 6 {
            return Err(InputError::NotForUs);
        }
        self.handle_segment(now, p.src, p.dst, p.payload)
    }

    /// A TCP segment from `src` to `dst` arrived.
    pub fn handle_segment(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        bytes: &[u8],
    ) -> Result<(), InputError> {
        if !self.addrs.contains(&dst) {
            return Err(InputError::NotForUs);
        }
        // RFC 1122 §4.2.3.10: silently discard segments to or from a
        // multicast address (no connection can have one, see `V4_TAG`).
        if src.is_multicast() || dst.is_multicast() {
            return Err(InputError::Multicast);
        }
        if !wire::verify_checksum(&crate::tcb::pseudo_header(src, dst), bytes) {
            return Err(InputError::BadChecksum);
        }
        let seg = wire::parse_segment(bytes)?;
        let key = TupleKey::from_parts(dst, seg.header.dst_port, src, seg.header.src_port);
        if let Some(&i) = self.by_tuple.get(&key) {
            if let Some(slot) = self.slots[i].as_mut() {
                slot.conn.handle_parsed(now, &seg);
                self.after(i);
                return Ok(());
            }
        }
        let local = SocketAddr::new(dst, seg.header.dst_port);
        let remote = SocketAddr::new(src, seg.header.src_port);
        if self.listeners.contains_key(&local.port()) {
            self.deliver_to_listener(now, &seg, local, remote);
        } else {
            self.answer_as_closed(now, &seg, local, remote);
        }
        Ok(())
    }

    /// RFC 9293 §3.10.7.2: a segment for a listening port and no connection.
    fn deliver_to_listener(
        &mut self,
        now: Instant,
        seg: &Segment<'_>,
        local: SocketAddr,
        remote: SocketAddr,
    ) {
        let port = local.port();
        let is_syn = seg.header.flags.contains(Flags::SYN)
            && !seg.header.flags.contains(Flags::ACK)
            && !seg.header.flags.contains(Flags::RST);
        if is_syn {
            let full = self
                .listeners
                .get(&port)
                .is_some_and(|l| l.embryonic >= l.backlog || l.accept_queue.len() >= l.backlog);
            if full {
                // The SYN queue is full: drop the SYN; the peer retransmits.
                return;
            }
            let iss = self.isn.isn(local, remote, now);
            let mut conn = self.new_connection(local, remote, iss, now);
            if conn.listen(now).is_err() {
                self.retire(conn);
                return;
            }
            conn.handle_parsed(now, seg);
            if conn.state() == TcpState::Listen {
                self.drain_scratch(now, &mut conn);
                self.retire(conn);
                return;
            }
            if let Some(l) = self.listeners.get_mut(&port) {
                l.embryonic += 1;
            }
            let (i, _) = self.insert(conn, Some(port));
            self.after(i);
        } else {
            // Not a SYN: the LISTEN rows decide (RST for an ACK, drop otherwise)
            // on a throw-away TCB with tiny buffers.
            let mut conn = self.scratch_conn(now, local, remote);
            if conn.listen(now).is_ok() {
                conn.handle_parsed(now, seg);
            }
            self.drain_scratch(now, &mut conn);
        }
    }

    /// RFC 9293 §3.10.7.1: a segment for no connection and no listener.
    fn answer_as_closed(
        &mut self,
        now: Instant,
        seg: &Segment<'_>,
        local: SocketAddr,
        remote: SocketAddr,
    ) {
        let mut conn = self.scratch_conn(now, local, remote);
        conn.handle_parsed(now, seg);
        self.drain_scratch(now, &mut conn);
    }

    fn scratch_conn(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Connection<E> {
        let config = Config {
            send_buffer: 1,
            recv_buffer: 1,
            trace: false,
            ..self.config.clone()
        };
        Connection::new(
            config,
            local,
            remote,
            crate::seq::SeqNum(0),
            self.engine.clone(),
            now,
        )
    }

    fn drain_scratch(&mut self, now: Instant, conn: &mut Connection<E>) {
        let mut buf = std::mem::take(&mut self.scratch);
        while let Some(n) = conn.poll_transmit(now, &mut buf) {
            self.orphans
                .push_back((conn.local(), conn.remote(), buf[..n].to_vec()));
        }
        self.scratch = buf;
    }

    /// Bookkeeping after any input to connection `i`: events, traces, timer
    /// heap, transmit candidates, the accept queue, and freeing finished slots.
    fn after(&mut self, i: usize) {
        self.after_with(i, true);
    }

    /// As [`Self::after`]; `may_queue` is false right after the connection's
    /// `poll_transmit` returned nothing (`wants_to_send` over-approximates:
    /// data held back by Nagle or a closed window), so it is not re-queued
    /// until its next input.
    fn after_with(&mut self, i: usize, may_queue: bool) {
        let Some(slot) = self.slots.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        let handle = slot.handle(i);
        while let Some(ev) = slot.conn.poll_event() {
            if ev == ConnEvent::Connected && !slot.established {
                slot.established = true;
                if let Some(port) = slot.listener {
                    if let Some(l) = self.listeners.get_mut(&port) {
                        l.embryonic = l.embryonic.saturating_sub(1);
                        l.accept_queue.push_back(handle);
                    }
                }
            }
            self.events.push_back((handle, ev));
        }
        if !slot.conn.tcb().traces.is_empty() {
            self.traces.extend(slot.conn.drain_traces());
        }
        schedule(&mut self.timers, slot, i);
        if may_queue && !slot.queued && slot.conn.tcb().wants_to_send() {
            slot.queued = true;
            self.candidates.push_back(i);
        }
        if slot.conn.is_finished() {
            let embryonic = slot.listener.filter(|_| !slot.established);
            let unaccepted = slot.listener.is_some() && slot.established;
            let release = slot.released || embryonic.is_some() || unaccepted;
            let key = TupleKey::new(slot.conn.local(), slot.conn.remote());
            if self.by_tuple.get(&key) == Some(&i) {
                self.by_tuple.remove(&key);
            }
            if let Some(port) = embryonic {
                if let Some(l) = self.listeners.get_mut(&port) {
                    l.embryonic = l.embryonic.saturating_sub(1);
                }
            }
            if unaccepted {
                if let Some(l) = slot.listener.and_then(|p| self.listeners.get_mut(&p)) {
                    l.accept_queue.retain(|h| *h != handle);
                }
            }
            if release && !slot.queued {
                if let Some(slot) = self.slots[i].take() {
                    // The next connection in the slot gets a new generation;
                    // a slot that has used them all stays empty.
                    match slot.generation.checked_add(1) {
                        Some(next) => self.free.push((i, next)),
                        None => self.worn_out += 1,
                    }
                    self.retire(slot.conn);
                }
            }
        }
        self.compact_timers();
    }

    /// Drops the timer entries no connection waits for any more (deadlines
    /// that moved later, connections that finished) once they outnumber
    /// the live ones: without this the heap grows with the connection rate
    /// times the longest timer, as each finished connection leaves its
    /// pending deadlines behind.
    fn compact_timers(&mut self) {
        if self.timers.len() <= 2 * self.slots.len() + 32 {
            return;
        }
        let slots = &self.slots;
        self.timers.retain(|&Reverse((t, i))| {
            slots
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|s| s.scheduled == Some(t))
        });
    }

    fn touch(&mut self, i: usize) {
        if let Some(Some(slot)) = self.slots.get_mut(i) {
            if !slot.queued {
                slot.queued = true;
                self.candidates.push_back(i);
            }
        }
    }

    /// Writes the next TCP segment into `buf` (no IP header); returns its
    /// addresses and length.
    pub fn poll_segment(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let sent = self.poll_into(now, buf, false)?;
        self.transmit(sent, 0)
    }

    /// The [`Transmit`] of what [`Self::poll_into`] wrote, `extra` bytes (an
    /// IP header) added to its length. Built once, from where the addresses
    /// live, rather than passed up through `Option`s: moving the partly
    /// written structure between stack slots stalled on store forwarding.
    /// `None` only if the connection were gone, which nothing between the
    /// two calls does.
    #[inline(always)]
    fn transmit(&self, sent: Sent, extra: usize) -> Option<Transmit> {
        match sent {
            Sent::Orphan { src, dst, len } => Some(Transmit {
                src,
                dst,
                len: len + extra,
            }),
            Sent::Conn { slot, len } => {
                let s = self.slots.get(slot).and_then(Option::as_ref)?;
                Some(Transmit {
                    src: s.conn.local(),
                    dst: s.conn.remote(),
                    len: len + extra,
                })
            }
        }
    }

    /// The next segment, written at `buf[room..]` where `room` is the IP
    /// header length for the segment's address family when `ip_room` is
    /// set (0 otherwise): the segment goes straight to its final place,
    /// with no copy to make room for the IP header afterwards. Returns what
    /// was written, and by whom, with the TCP segment's length.
    #[inline(always)]
    fn poll_into(&mut self, now: Instant, buf: &mut [u8], ip_room: bool) -> Option<Sent> {
        let room = |v4: bool| match (ip_room, v4) {
            (false, _) => 0,
            (true, true) => ip::IPV4_HEADER_LEN,
            (true, false) => ip::IPV6_HEADER_LEN,
        };
        if let Some((src, dst, bytes)) = self.orphans.pop_front() {
            let out = buf.get_mut(room(src.is_ipv4())..)?;
            let n = bytes.len().min(out.len());
            out[..n].copy_from_slice(&bytes[..n]);
            return Some(Sent::Orphan { src, dst, len: n });
        }
        while let Some(&i) = self.candidates.front() {
            let Some(slot) = self.slots.get_mut(i).and_then(Option::as_mut) else {
                self.candidates.pop_front();
                continue;
            };
            let v4 = slot.conn.local().is_ipv4();
            let sent = match buf.get_mut(room(v4)..) {
                Some(out) => slot.conn.poll_transmit(now, out),
                None => None,
            };
            if let Some(n) = sent {
                // Sending can arm timers (RFC 6298 §5.1).
                schedule(&mut self.timers, slot, i);
                return Some(Sent::Conn { slot: i, len: n });
            }
            slot.queued = false;
            self.candidates.pop_front();
            self.after_with(i, false);
        }
        None
    }

    /// Writes the next packet, IP header included, into `buf`.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if buf.len() <= ip::IPV6_HEADER_LEN {
            return None;
        }
        let sent = self.poll_into(now, buf, true)?;
        let (src, dst, len) = match sent {
            Sent::Orphan { src, dst, len } => (src.ip(), dst.ip(), len),
            Sent::Conn { slot, len } => {
                let s = self.slots.get(slot).and_then(Option::as_ref)?;
                (s.conn.local().ip(), s.conn.remote().ip(), len)
            }
        };
        let ip_len = if src.is_ipv4() {
            ip::IPV4_HEADER_LEN
        } else {
            ip::IPV6_HEADER_LEN
        };
        let written = ip::emit_ip_header(src, dst, len, &mut buf[..ip_len]).ok()?;
        self.transmit(sent, written)
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((t, i))) = self.timers.peek() {
            let valid = self
                .slots
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|s| s.scheduled == Some(t));
            if valid {
                return Some(t);
            }
            self.timers.pop();
        }
        None
    }

    /// Fires every connection timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((t, i))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            let Some(slot) = self.slots.get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            if slot.scheduled != Some(t) {
                continue;
            }
            slot.scheduled = None;
            match slot.conn.poll_timeout() {
                Some(due) if due <= now => {
                    slot.conn.handle_timeout(now);
                    self.after(i);
                }
                // The deadline moved later since this entry was pushed: re-arm.
                _ => schedule(&mut self.timers, slot, i),
            }
        }
    }

    pub fn poll_event(&mut self) -> Option<(ConnHandle, ConnEvent)> {
        self.events.pop_front()
    }

    /// Takes the trace events recorded so far (all connections).
    pub fn drain_traces(&mut self) -> std::vec::Drain<'_, TraceEvent> {
        self.traces.drain(..)
    }
}

/// Makes sure the timer heap wakes the endpoint no later than the
/// connection's next deadline.
fn schedule<E: Engine>(
    timers: &mut BinaryHeap<Reverse<(Instant, usize)>>,
    slot: &mut Slot<E>,
    i: usize,
) {
    if let Some(d) = slot.conn.poll_timeout() {
        if slot.scheduled.is_none_or(|s| d < s) {
            slot.scheduled = Some(d);
            timers.push(Reverse((d, i)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn closed_abort_in_slot_of_last_generation_leaves_the_slot_empty_for_good() {
        use std::net::{IpAddr, Ipv4Addr};
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let peer = sa("10.0.0.2:80");
        let config = Config {
            trace: false,
            ..Config::default()
        };
        let mut ep = Endpoint::new(config, vec![a], TableEngine, 1);
        let now = Instant::ZERO;
        let old = ep.connect(now, peer).expect("connect");
        // As if the slot had held 2^32 - 1 connections before this one.
        if let Some(slot) = ep.slots[old.slot()].as_mut() {
            slot.generation = u32::MAX;
        }
        let old = ConnHandle {
            slot: old.slot,
            generation: u32::MAX,
        };
        ep.abort(now, old).expect("abort");
        let mut buf = vec![0u8; 2048];
        while ep.poll_transmit(now, &mut buf).is_some() {}
        ep.handle_timeout(now);
        assert_eq!(ep.connection_count(), 0);
        assert!(ep.free.is_empty(), "the worn-out slot is not reused");
        let new = ep.connect(now, peer).expect("connect again");
        assert_ne!(new.slot(), old.slot());
        assert_eq!(ep.connection_count(), 1);
        assert_eq!(
            ep.send(now, old, b"x"),
            Err(EndpointError::UnknownHandle(old))
        );
    }

    #[test]
    fn tuple_hashers_are_keyed_per_map() {
        // Two maps hash the same 4-tuple differently: the per-map seed is
        // random (equal by chance with probability 2^-64).
        let key = TupleKey::new(sa("10.0.0.1:80"), sa("10.0.0.2:49152"));
        assert_ne!(tuple_hasher().hash_one(key), tuple_hasher().hash_one(key));
        // One map hashes a key the same way every time.
        let h = tuple_hasher();
        assert_eq!(h.hash_one(key), h.hash_one(key));
    }

    #[test]
    fn tuple_map_tells_addresses_ports_and_families_apart() {
        let keys = [
            TupleKey::new(sa("10.0.0.1:80"), sa("10.0.0.2:49152")),
            TupleKey::new(sa("10.0.0.1:80"), sa("10.0.0.2:49153")),
            TupleKey::new(sa("10.0.0.1:81"), sa("10.0.0.2:49152")),
            TupleKey::new(sa("10.0.0.2:49152"), sa("10.0.0.1:80")),
            TupleKey::new(sa("[::ffff:10.0.0.1]:80"), sa("[::ffff:10.0.0.2]:49152")),
            TupleKey::new(sa("[2001:db8::1]:80"), sa("[2001:db8::2]:49152")),
            TupleKey::new(sa("[2001:db8::1]:80"), sa("[2001:db8::3]:49152")),
            // IPv6 addresses with the low bits of 10.0.0.1 and 10.0.0.2.
            TupleKey::new(sa("[::1:a00:1]:80"), sa("[::1:a00:2]:49152")),
            TupleKey::new(sa("[::a00:1]:80"), sa("[::a00:2]:49152")),
        ];
        let mut map = TupleMap::with_hasher(tuple_hasher());
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(map.insert(*k, i), None);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(map.get(k), Some(&i));
        }
        assert_eq!(
            map.get(&TupleKey::new(sa("10.0.0.1:80"), sa("10.0.0.3:49152"))),
            None
        );
        assert_eq!(map.remove(&keys[0]), Some(0));
        assert_eq!(map.get(&keys[0]), None);
        assert_eq!(map.get(&keys[1]), Some(&1));
    }

    /// Every packet `from` has to send, IP header included, checked and
    /// handed to `to`; returns how many there were.
    fn exchange(from: &mut Endpoint, to: &mut Endpoint, now: Instant) -> usize {
        let mut buf = [0u8; 1600];
        let mut n = 0;
        while let Some(t) = from.poll_transmit(now, &mut buf) {
            let packet = &buf[..t.len];
            let p = ip::parse_ip_packet(packet).unwrap();
            assert_eq!((p.src, p.dst), (t.src.ip(), t.dst.ip()));
            let header = if t.src.is_ipv4() { 20 } else { 40 };
            assert_eq!(p.payload.len(), t.len - header);
            let pseudo = crate::tcb::pseudo_header(p.src, p.dst);
            assert!(wire::verify_checksum(&pseudo, p.payload));
            let seg = wire::parse_segment(p.payload).unwrap();
            assert_eq!(seg.header.src_port, t.src.port());
            assert_eq!(seg.header.dst_port, t.dst.port());
            to.handle_packet(now, packet).unwrap();
            n += 1;
        }
        n
    }

    #[test]
    fn poll_transmit_writes_segments_in_place_after_the_ip_header_for_both_families() {
        for (a_ip, b_ip) in [("10.9.0.1", "10.9.0.2"), ("2001:db8::1", "2001:db8::2")] {
            let (a_ip, b_ip): (IpAddr, IpAddr) = (a_ip.parse().unwrap(), b_ip.parse().unwrap());
            let config = Config {
                trace: false,
                ..Config::default()
            };
            let mut a = Endpoint::new(config.clone(), vec![a_ip], TableEngine, 1);
            let mut b = Endpoint::new(config, vec![b_ip], TableEngine, 2);
            b.listen(80, 4).unwrap();
            let now = Instant::ZERO;
            let client = a.connect(now, SocketAddr::new(b_ip, 80)).unwrap();
            // SYN, SYN-ACK, ACK carrying data, then the server's data.
            assert_eq!(exchange(&mut a, &mut b, now), 1);
            assert_eq!(exchange(&mut b, &mut a, now), 1);
            assert_eq!(a.send(now, client, b"ping").unwrap(), 4);
            assert!(exchange(&mut a, &mut b, now) >= 1);
            let server = b.accept(80).unwrap();
            let mut rx = [0u8; 16];
            assert_eq!(b.recv(now, server, &mut rx).unwrap(), 4);
            assert_eq!(&rx[..4], b"ping");
            // An orphan (the RST for a closed port) goes out the same way.
            let stray = SocketAddr::new(b_ip, 81);
            a.connect(now, stray).unwrap();
            assert_eq!(exchange(&mut a, &mut b, now), 1);
            let mut buf = [0u8; 1600];
            let t = b.poll_transmit(now, &mut buf).unwrap();
            let p = ip::parse_ip_packet(&buf[..t.len]).unwrap();
            let seg = wire::parse_segment(p.payload).unwrap();
            assert!(seg.header.flags.contains(Flags::RST));
            assert_eq!((p.src, seg.header.src_port), (b_ip, 81));
            // A buffer with no room beyond an IP header gets nothing.
            assert!(a.poll_transmit(now, &mut [0u8; 40]).is_none());
        }
    }

    /// RFC 1122 §4.2.3.10: no connection to or from a multicast address,
    /// so no IPv6 tuple can carry the bits of an IPv4 one (`V4_TAG`).
    #[test]
    fn closed_connect_or_segment_with_multicast_address_is_refused() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let mut ep = Endpoint::new(Config::default(), vec![v6], TableEngine, 1);
        let now = Instant::ZERO;
        let group = sa("[ff02::1]:80");
        assert_eq!(
            ep.connect(now, group),
            Err(EndpointError::MulticastAddress(group))
        );
        // The IPv6 address whose bits are those of the tagged 10.0.0.1.
        let tagged = sa("[ffff:ffff:ffff:ffff:ffff:ffff:a00:1]:5000");
        assert_eq!(
            ep.connect_from(now, SocketAddr::new(v6, 1234), tagged),
            Err(EndpointError::MulticastAddress(tagged))
        );
        ep.listen(80, 4).unwrap();
        let header = crate::wire::TcpHeader {
            src_port: 5000,
            dst_port: 80,
            flags: Flags::SYN,
            ..Default::default()
        };
        let mut seg = [0u8; 64];
        let ph = crate::tcb::pseudo_header(tagged.ip(), v6);
        let n = wire::emit_segment(&header, &[], &ph, &mut seg).unwrap();
        assert_eq!(
            ep.handle_segment(now, tagged.ip(), v6, &seg[..n]),
            Err(InputError::Multicast)
        );
        assert_eq!(ep.connection_count(), 0);
    }
}

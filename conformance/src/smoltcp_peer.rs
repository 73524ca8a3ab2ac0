//! smoltcp as an in-process peer: the harness the smoltcp interop tests and
//! the criterion benches share.
//!
//! Two [`Peer`]s — tcp-core's [`Endpoint`] ([`OursPeer`]) or a smoltcp
//! 0.14 `Interface` with one TCP socket ([`SmolPeer`]) — are joined by an
//! in-memory [`Pair`] link carrying raw IP packets (smoltcp's `Medium::Ip`).
//! The link has a fixed one-way delay and optional random loss and
//! reordering, drawn from a seeded PRNG, so a run is a pure function of its
//! seed. Time is virtual: the harness starts at [`Instant::ZERO`], runs every
//! round at the current time until nothing happens, then jumps to the next
//! packet arrival or stack timer. smoltcp sees the same clock in
//! microseconds ([`smol_instant`]).
//!
//! Checksums are computed and verified on both sides: tcp-core always
//! verifies (RFC 9293 §3.1), and the smoltcp device announces
//! `ChecksumCapabilities::default()` (compute on transmit, verify on
//! receive).
//!
//! The applications on top ([`Flow`] for bulk transfers, [`Lifecycle`] for
//! connect/write/close loops) write a deterministic byte [`Pattern`] and
//! check what they read against it as it arrives, so no transfer needs a
//! buffer the size of the transfer.
//!
//! ```no_run
//! use conformance::smoltcp_peer::*;
//! use tcp_core::{Config, TableEngine};
//!
//! let ours = OursPeer::new(Config::default(), ADDR_A, TableEngine, 1);
//! let smol = SmolPeer::new(SmolOptions::default(), ADDR_B, 2).unwrap();
//! let mut pair = Pair::new(ours, smol, LinkConfig::ideal(), 3);
//! let mut client = Flow::client(SockAddr::new(ADDR_B, 80), 1 << 20, 1 << 20, ClosePolicy::AfterSend);
//! let mut server = Flow::server(80, 1 << 20, 1 << 20, ClosePolicy::AfterEof);
//! pair.run(&mut client, &mut server, Duration::from_secs(60), |p, c, s| {
//!     c.is_complete() && s.is_complete() && p.b.state() == TcpState::Closed
//! })
//! .unwrap();
//! ```

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use thiserror::Error;

use tcp_core::engine::Engine;
use tcp_core::{Config, ConnEvent, ConnHandle, ConnectionError, Endpoint, EndpointError};

pub use smoltcp;
pub use std::net::SocketAddr as SockAddr;
pub use tcp_core::time::{Duration, Instant};
pub use tcp_core::TcpState;

use crate::sim::rng::Xoshiro256StarStar;

/// Side A's address (TEST-NET-1, RFC 5737: never routed; everything here
/// stays inside the process).
pub const ADDR_A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
/// Side B's address.
pub const ADDR_B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
/// Side A's IPv6 address (the documentation prefix, RFC 3849).
pub const ADDR6_A: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
/// Side B's IPv6 address.
pub const ADDR6_B: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));

/// The size of every packet buffer: room for an Ethernet-sized MTU plus
/// anything a stack might wrongly add (the link drops packets over its MTU
/// and counts them in [`LinkStats::oversize`]).
pub const PACKET_BUFFER: usize = 2048;

/// Our virtual time as smoltcp's (microseconds, signed).
pub fn smol_instant(now: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(i64::try_from(now.as_micros()).unwrap_or(i64::MAX))
}

/// smoltcp's time as ours (times before the origin become the origin).
pub fn from_smol_instant(t: smoltcp::time::Instant) -> Instant {
    Instant::from_micros(u64::try_from(t.total_micros()).unwrap_or(0))
}

/// A duration as smoltcp's (whole microseconds).
pub fn smol_duration(d: Duration) -> smoltcp::time::Duration {
    smoltcp::time::Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// smoltcp's connection state as ours: the eleven states of RFC 9293 §3.3.2.
pub fn smol_state(s: tcp::State) -> TcpState {
    match s {
        tcp::State::Closed => TcpState::Closed,
        tcp::State::Listen => TcpState::Listen,
        tcp::State::SynSent => TcpState::SynSent,
        tcp::State::SynReceived => TcpState::SynReceived,
        tcp::State::Established => TcpState::Established,
        tcp::State::FinWait1 => TcpState::FinWait1,
        tcp::State::FinWait2 => TcpState::FinWait2,
        tcp::State::CloseWait => TcpState::CloseWait,
        tcp::State::Closing => TcpState::Closing,
        tcp::State::LastAck => TcpState::LastAck,
        tcp::State::TimeWait => TcpState::TimeWait,
    }
}

// ------------------------------------------------------------------ packets

/// A recycling store of fixed-size packet buffers shared by both sides of a
/// [`Pair`], so a steady transfer allocates nothing per packet.
#[derive(Clone, Default)]
pub struct PacketPool {
    free: Rc<RefCell<Vec<Box<[u8]>>>>,
}

impl PacketPool {
    pub fn new() -> PacketPool {
        PacketPool::default()
    }

    /// A buffer of [`PACKET_BUFFER`] bytes (contents unspecified).
    pub fn take(&self) -> Box<[u8]> {
        self.free
            .borrow_mut()
            .pop()
            .unwrap_or_else(|| vec![0; PACKET_BUFFER].into_boxed_slice())
    }

    /// Returns a buffer for reuse.
    pub fn give(&self, buf: Box<[u8]>) {
        if buf.len() == PACKET_BUFFER {
            self.free.borrow_mut().push(buf);
        }
    }

    /// Buffers currently free.
    pub fn free_buffers(&self) -> usize {
        self.free.borrow().len()
    }
}

/// One IP packet: `buf[..len]`.
pub struct Packet {
    buf: Box<[u8]>,
    len: usize,
}

impl Packet {
    pub fn new(buf: Box<[u8]>, len: usize) -> Packet {
        let len = len.min(buf.len());
        Packet { buf, len }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer, for [`PacketPool::give`].
    pub fn into_buffer(self) -> Box<[u8]> {
        self.buf
    }
}

impl fmt::Debug for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Packet({} bytes)", self.len)
    }
}

// ------------------------------------------------------------------ errors

/// A peer refused an application call.
#[derive(Debug, Error)]
pub enum PeerError {
    #[error("tcp-core: {0}")]
    Ours(#[from] EndpointError),
    #[error("smoltcp listen: {0}")]
    SmolListen(#[from] tcp::ListenError),
    #[error("smoltcp connect: {0}")]
    SmolConnect(#[from] tcp::ConnectError),
    #[error("smoltcp send: {0}")]
    SmolSend(#[from] tcp::SendError),
    #[error("smoltcp recv: {0}")]
    SmolRecv(#[from] tcp::RecvError),
    #[error("smoltcp interface: no room for address {0}")]
    AddressTable(IpAddr),
    #[error("the peer has no connection")]
    NoConnection,
    #[error("the connection failed: {0}")]
    Failed(ConnectionError),
}

/// A run of the harness went wrong.
#[derive(Debug, Error)]
pub enum HarnessError {
    #[error("side {side}: {source}")]
    Peer {
        side: Side,
        #[source]
        source: PeerError,
    },
    #[error("side {side}: byte {offset} of the stream differs from the pattern")]
    DataMismatch { side: Side, offset: u64 },
    #[error("side {side}: the stream ended after {received} bytes, {expected} were sent")]
    ShortStream {
        side: Side,
        received: u64,
        expected: u64,
    },
    #[error("side {side}: {received} bytes arrived, only {expected} were sent")]
    LongStream {
        side: Side,
        received: u64,
        expected: u64,
    },
    #[error("nothing left to happen at t={now:?} and the run is not done")]
    Stalled { now: Instant },
    #[error("the run is not done at the virtual deadline t={deadline:?}")]
    Deadline { deadline: Instant },
}

/// Which end of a [`Pair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    A,
    B,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::A => "A",
            Side::B => "B",
        })
    }
}

// ------------------------------------------------------------------ peers

/// What a RECEIVE call returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recv {
    /// `n > 0` bytes were copied out.
    Data(usize),
    /// Nothing to read yet.
    WouldBlock,
    /// The peer's FIN was reached: the stream is over.
    Eof,
}

/// A TCP stack with one current connection, driven by the harness.
///
/// The harness calls, at one virtual time: [`Peer::receive`] for every packet
/// due, [`Peer::poll`], the application, [`Peer::poll`] again; then it asks
/// [`Peer::poll_at`] when to come back.
pub trait Peer {
    /// A label for reports (`table`, `per-state`, `smoltcp`).
    fn name(&self) -> &'static str;
    /// Hands over one arriving IP packet; its buffer goes back to `pool`.
    fn receive(&mut self, now: Instant, packet: Packet, pool: &PacketPool);
    /// Runs due timers and queued input; appends outbound packets to `out`.
    fn poll(&mut self, now: Instant, pool: &PacketPool, out: &mut Vec<Packet>);
    /// When the stack next needs [`Peer::poll`] without new input.
    fn poll_at(&mut self, now: Instant) -> Option<Instant>;

    /// Passive OPEN on `port`.
    fn listen(&mut self, port: u16) -> Result<(), PeerError>;
    /// Active OPEN to `remote` from `local_port` (0: the stack chooses).
    fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        local_port: u16,
    ) -> Result<(), PeerError>;
    /// After [`Peer::listen`]: makes an established incoming connection the
    /// current one; true once there is one.
    fn accept(&mut self) -> bool;
    /// SEND: bytes accepted (0 when the send buffer is full).
    fn send(&mut self, now: Instant, data: &[u8]) -> Result<usize, PeerError>;
    /// RECEIVE into `buf`.
    fn recv(&mut self, now: Instant, buf: &mut [u8]) -> Result<Recv, PeerError>;
    /// CLOSE (RFC 9293 §3.10.4): nothing more to send; reading goes on until
    /// the peer's FIN, and the stack forgets the connection once CLOSED.
    fn close(&mut self, now: Instant) -> Result<(), PeerError>;
    /// The current connection's state (CLOSED when there is none).
    fn state(&self) -> TcpState;
    /// Whether the current connection can carry data (ESTABLISHED or later).
    fn is_established(&self) -> bool {
        matches!(
            self.state(),
            TcpState::Established
                | TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::CloseWait
                | TcpState::Closing
                | TcpState::LastAck
                | TcpState::TimeWait
        )
    }
}

/// Counters of an [`OursPeer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OursStats {
    pub packets_in: u64,
    pub packets_out: u64,
    /// Packets `handle_packet` refused (bad checksum, malformed, not ours).
    pub input_errors: u64,
    /// Packets longer than [`PACKET_BUFFER`] (never sent).
    pub oversize: u64,
}

/// tcp-core's [`Endpoint`] as a [`Peer`].
pub struct OursPeer<E: Engine + Clone> {
    pub ep: Endpoint<E>,
    name: &'static str,
    conn: Option<ConnHandle>,
    /// The current connection's TCB was deleted (`ConnEvent::Closed`).
    gone: bool,
    listen_port: Option<u16>,
    failure: Option<ConnectionError>,
    stats: OursStats,
    /// A packet buffer of the pool kept between polls.
    spare: Option<Box<[u8]>>,
}

impl<E: Engine + Clone> OursPeer<E> {
    /// An endpoint owning `addr`, cloning `engine` per connection.
    pub fn new(config: Config, addr: IpAddr, engine: E, seed: u64) -> OursPeer<E> {
        let name = match engine.kind() {
            tcp_core::EngineKind::Table => "table",
            tcp_core::EngineKind::PerState => "per-state",
            tcp_core::EngineKind::Interpreted => "interpreted",
        };
        OursPeer {
            ep: Endpoint::new(config, vec![addr], engine, seed),
            name,
            conn: None,
            gone: false,
            listen_port: None,
            failure: None,
            stats: OursStats::default(),
            spare: None,
        }
    }

    pub fn stats(&self) -> OursStats {
        self.stats
    }

    /// The current connection's handle.
    pub fn handle(&self) -> Option<ConnHandle> {
        self.conn
    }

    /// The error the current connection reported, if any.
    pub fn failure(&self) -> Option<ConnectionError> {
        self.failure
    }

    fn current(&self) -> Result<ConnHandle, PeerError> {
        match (self.conn, self.gone) {
            (Some(h), false) => Ok(h),
            _ => Err(PeerError::NoConnection),
        }
    }

    fn set_current(&mut self, h: ConnHandle) {
        self.conn = Some(h);
        self.gone = false;
        self.failure = None;
    }

    fn drain_events(&mut self) {
        while let Some((h, ev)) = self.ep.poll_event() {
            if Some(h) != self.conn {
                continue;
            }
            match ev {
                ConnEvent::Closed => self.gone = true,
                ConnEvent::Error(e) => self.failure = Some(e),
                _ => {}
            }
        }
    }
}

impl<E: Engine + Clone> Peer for OursPeer<E> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn receive(&mut self, now: Instant, packet: Packet, pool: &PacketPool) {
        self.stats.packets_in += 1;
        if self.ep.handle_packet(now, packet.bytes()).is_err() {
            self.stats.input_errors += 1;
        }
        pool.give(packet.into_buffer());
    }

    fn poll(&mut self, now: Instant, pool: &PacketPool, out: &mut Vec<Packet>) {
        if self.ep.poll_timeout().is_some_and(|t| t <= now) {
            self.ep.handle_timeout(now);
        }
        loop {
            // A buffer left from the last poll that had nothing to send is
            // used first (as smoltcp's transmit token takes one only when
            // there is a packet). The packet is written where it will stay,
            // in `out`, and its length set after.
            let buf = self.spare.take().unwrap_or_else(|| pool.take());
            out.push(Packet { buf, len: 0 });
            let Some(packet) = out.last_mut() else { break };
            match self.ep.poll_transmit(now, &mut packet.buf) {
                Some(t) if t.len <= packet.buf.len() => {
                    self.stats.packets_out += 1;
                    packet.len = t.len;
                }
                Some(_) => {
                    self.stats.oversize += 1;
                    self.spare = out.pop().map(Packet::into_buffer);
                }
                None => {
                    self.spare = out.pop().map(Packet::into_buffer);
                    break;
                }
            }
        }
        self.drain_events();
    }

    fn poll_at(&mut self, _now: Instant) -> Option<Instant> {
        self.ep.poll_timeout()
    }

    fn listen(&mut self, port: u16) -> Result<(), PeerError> {
        if self.listen_port != Some(port) {
            self.ep.listen(port, 64)?;
            self.listen_port = Some(port);
        }
        Ok(())
    }

    fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        local_port: u16,
    ) -> Result<(), PeerError> {
        let h = if local_port == 0 {
            self.ep.connect(now, remote)?
        } else {
            let ip = self
                .ep
                .addrs()
                .iter()
                .copied()
                .find(|a| a.is_ipv4() == remote.is_ipv4())
                .ok_or(EndpointError::NoLocalAddress(remote))?;
            self.ep
                .connect_from(now, SocketAddr::new(ip, local_port), remote)?
        };
        self.set_current(h);
        Ok(())
    }

    fn accept(&mut self) -> bool {
        if self.conn.is_some() && !self.gone {
            return true;
        }
        let Some(port) = self.listen_port else {
            return false;
        };
        match self.ep.accept(port) {
            Some(h) => {
                self.set_current(h);
                true
            }
            None => false,
        }
    }

    fn send(&mut self, now: Instant, data: &[u8]) -> Result<usize, PeerError> {
        let h = self.current()?;
        match self.ep.send(now, h, data) {
            Ok(n) => Ok(n),
            Err(EndpointError::Connection(ConnectionError::WouldBlock)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    fn recv(&mut self, now: Instant, buf: &mut [u8]) -> Result<Recv, PeerError> {
        let h = self.current()?;
        match self.ep.recv(now, h, buf) {
            Ok(0) => Ok(Recv::Eof),
            Ok(n) => Ok(Recv::Data(n)),
            Err(EndpointError::Connection(ConnectionError::WouldBlock)) => Ok(Recv::WouldBlock),
            Err(e) => Err(e.into()),
        }
    }

    fn close(&mut self, now: Instant) -> Result<(), PeerError> {
        let h = self.current()?;
        self.ep.close(now, h)?;
        Ok(())
    }

    fn state(&self) -> TcpState {
        match self.conn {
            Some(h) if !self.gone => self
                .ep
                .connection(h)
                .map_or(TcpState::Closed, |c| c.state()),
            _ => TcpState::Closed,
        }
    }
}

/// How a [`SmolPeer`]'s socket is set up.
#[derive(Clone, Debug)]
pub struct SmolOptions {
    /// The device MTU; smoltcp announces MSS = MTU - 40 (IPv4).
    pub mtu: usize,
    pub send_buffer: usize,
    pub recv_buffer: usize,
    /// smoltcp's delayed-ACK timeout (`None`: ACK every segment).
    pub ack_delay: Option<Duration>,
    pub nagle: bool,
    /// RFC 7323 timestamps (smoltcp sends them only with a generator).
    pub timestamps: bool,
    pub congestion: tcp::CongestionControl,
}

impl Default for SmolOptions {
    fn default() -> SmolOptions {
        SmolOptions {
            mtu: 1500,
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            ack_delay: Some(Duration::from_millis(10)),
            nagle: true,
            timestamps: false,
            congestion: tcp::CongestionControl::Reno,
        }
    }
}

/// The RFC 7323 TSval clock handed to smoltcp: a process-wide counter, so
/// it only ever moves forward (smoltcp's generator is a bare `fn`).
fn smol_tsval() -> u32 {
    static CLOCK: AtomicU32 = AtomicU32::new(1);
    CLOCK.fetch_add(1, Ordering::Relaxed)
}

/// A `Medium::Ip` device whose queues the harness fills and drains.
pub struct LinkDevice {
    rx: VecDeque<Packet>,
    tx: Vec<Packet>,
    pool: PacketPool,
    mtu: usize,
}

/// smoltcp's receive token: one packet, whose buffer returns to the pool.
pub struct LinkRxToken<'a> {
    packet: Packet,
    pool: &'a PacketPool,
}

/// smoltcp's transmit token: writes into a pool buffer queued for the link.
pub struct LinkTxToken<'a> {
    tx: &'a mut Vec<Packet>,
    pool: &'a PacketPool,
}

impl phy::RxToken for LinkRxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        let r = f(self.packet.bytes());
        self.pool.give(self.packet.into_buffer());
        r
    }
}

impl phy::TxToken for LinkTxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut buf = self.pool.take();
        if buf.len() < len {
            // Larger than any buffer of the pool: the link will drop it as
            // oversize; write it anyway so smoltcp's view stays consistent.
            buf = vec![0; len].into_boxed_slice();
        }
        let r = f(&mut buf[..len]);
        self.tx.push(Packet::new(buf, len));
        r
    }
}

impl phy::Device for LinkDevice {
    type RxToken<'a> = LinkRxToken<'a>;
    type TxToken<'a> = LinkTxToken<'a>;

    fn receive(
        &mut self,
        _timestamp: smoltcp::time::Instant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let packet = self.rx.pop_front()?;
        Some((
            LinkRxToken {
                packet,
                pool: &self.pool,
            },
            LinkTxToken {
                tx: &mut self.tx,
                pool: &self.pool,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: smoltcp::time::Instant) -> Option<Self::TxToken<'_>> {
        Some(LinkTxToken {
            tx: &mut self.tx,
            pool: &self.pool,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        // Compute on transmit and verify on receive, for IPv4 and TCP.
        caps.checksum = ChecksumCapabilities::default();
        caps
    }
}

/// A smoltcp 0.14 `Interface` with one TCP socket, as a [`Peer`].
pub struct SmolPeer {
    iface: Interface,
    device: LinkDevice,
    sockets: SocketSet<'static>,
    socket: SocketHandle,
    options: SmolOptions,
    listen_port: Option<u16>,
    next_port: u16,
}

impl SmolPeer {
    /// An interface owning `addr` (prefix /24 or /64) with one TCP socket.
    pub fn new(options: SmolOptions, addr: IpAddr, seed: u64) -> Result<SmolPeer, PeerError> {
        let mut device = LinkDevice {
            rx: VecDeque::new(),
            tx: Vec::new(),
            pool: PacketPool::new(),
            mtu: options.mtu,
        };
        let mut config = IfaceConfig::new(HardwareAddress::Ip);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut device, smol_instant(Instant::ZERO));
        let prefix = if addr.is_ipv4() { 24 } else { 64 };
        let mut pushed = true;
        iface.update_ip_addrs(|addrs| {
            pushed = addrs
                .push(IpCidr::new(IpAddress::from(addr), prefix))
                .is_ok();
        });
        if !pushed {
            return Err(PeerError::AddressTable(addr));
        }
        let mut sockets = SocketSet::new(Vec::new());
        let socket = sockets.add(Self::make_socket(&options));
        Ok(SmolPeer {
            iface,
            device,
            sockets,
            socket,
            options,
            listen_port: None,
            next_port: 49_152 + (seed % 8_192) as u16,
        })
    }

    fn make_socket(options: &SmolOptions) -> tcp::Socket<'static> {
        let rx = tcp::SocketBuffer::new(vec![0; options.recv_buffer]);
        let tx = tcp::SocketBuffer::new(vec![0; options.send_buffer]);
        let mut s = tcp::Socket::new(rx, tx);
        Self::configure(&mut s, options);
        s
    }

    fn configure(s: &mut tcp::Socket<'static>, options: &SmolOptions) {
        s.set_ack_delay(options.ack_delay.map(smol_duration));
        s.set_nagle_enabled(options.nagle);
        s.set_congestion_control(options.congestion);
        let generator: Option<fn() -> u32> = if options.timestamps {
            Some(smol_tsval)
        } else {
            None
        };
        s.set_tsval_generator(generator);
    }

    /// The TCP socket, for inspection.
    pub fn socket(&self) -> &tcp::Socket<'static> {
        self.sockets.get::<tcp::Socket>(self.socket)
    }

    fn socket_mut(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.socket)
    }

    fn ephemeral_port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = if p == u16::MAX { 49_152 } else { p + 1 };
        p
    }
}

impl Peer for SmolPeer {
    fn name(&self) -> &'static str {
        "smoltcp"
    }

    fn receive(&mut self, _now: Instant, packet: Packet, _pool: &PacketPool) {
        // Processed by the next `Interface::poll`; the rx token returns the
        // buffer to the pool.
        self.device.rx.push_back(packet);
    }

    fn poll(&mut self, now: Instant, pool: &PacketPool, out: &mut Vec<Packet>) {
        self.device.pool = pool.clone();
        self.iface
            .poll(smol_instant(now), &mut self.device, &mut self.sockets);
        out.append(&mut self.device.tx);
    }

    fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        self.iface
            .poll_at(smol_instant(now), &self.sockets)
            .map(from_smol_instant)
    }

    fn listen(&mut self, port: u16) -> Result<(), PeerError> {
        let options = self.options.clone();
        let s = self.socket_mut();
        Self::configure(s, &options);
        // A socket already listening on `port` stays as it is.
        s.listen(port)?;
        self.listen_port = Some(port);
        Ok(())
    }

    fn connect(
        &mut self,
        _now: Instant,
        remote: SocketAddr,
        local_port: u16,
    ) -> Result<(), PeerError> {
        let port = if local_port == 0 {
            self.ephemeral_port()
        } else {
            local_port
        };
        let options = self.options.clone();
        let cx = self.iface.context();
        let s = self.sockets.get_mut::<tcp::Socket>(self.socket);
        Self::configure(s, &options);
        s.connect(cx, remote, port)?;
        Ok(())
    }

    fn accept(&mut self) -> bool {
        self.listen_port.is_some() && self.is_established()
    }

    fn send(&mut self, _now: Instant, data: &[u8]) -> Result<usize, PeerError> {
        let s = self.socket_mut();
        if !s.may_send() {
            return Ok(0);
        }
        Ok(s.send_slice(data)?)
    }

    fn recv(&mut self, _now: Instant, buf: &mut [u8]) -> Result<Recv, PeerError> {
        match self.socket_mut().recv_slice(buf) {
            Ok(0) => Ok(Recv::WouldBlock),
            Ok(n) => Ok(Recv::Data(n)),
            Err(tcp::RecvError::Finished) => Ok(Recv::Eof),
            Err(e) => Err(e.into()),
        }
    }

    fn close(&mut self, _now: Instant) -> Result<(), PeerError> {
        self.socket_mut().close();
        Ok(())
    }

    fn state(&self) -> TcpState {
        smol_state(self.socket().state())
    }
}

// ------------------------------------------------------------------ the link

/// One direction of the in-memory link.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub delay: Duration,
    /// Probability that a packet is lost.
    pub loss: f64,
    /// Probability that a packet is held back by `reorder_extra`, letting
    /// later packets overtake it.
    pub reorder: f64,
    pub reorder_extra: Duration,
    /// Packets longer than this are dropped (and counted).
    pub mtu: usize,
}

impl LinkConfig {
    /// No delay, no loss, no reordering, MTU 1500.
    pub fn ideal() -> LinkConfig {
        LinkConfig {
            delay: Duration::ZERO,
            loss: 0.0,
            reorder: 0.0,
            reorder_extra: Duration::ZERO,
            mtu: 1500,
        }
    }

    /// A 1 ms one-way delay with the given loss and reordering (held-back
    /// packets arrive 2 ms late).
    pub fn lossy(loss: f64, reorder: f64) -> LinkConfig {
        LinkConfig {
            delay: Duration::from_millis(1),
            loss,
            reorder,
            reorder_extra: Duration::from_millis(2),
            mtu: 1500,
        }
    }
}

/// Counters of one link direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub sent: u64,
    pub delivered: u64,
    pub lost: u64,
    pub reordered: u64,
    /// Packets over the MTU (dropped).
    pub oversize: u64,
    pub bytes_delivered: u64,
}

struct InFlight {
    at: Instant,
    packet: Packet,
}

struct Direction {
    config: LinkConfig,
    queue: VecDeque<InFlight>,
    stats: LinkStats,
}

impl Direction {
    fn new(config: LinkConfig) -> Direction {
        Direction {
            config,
            queue: VecDeque::new(),
            stats: LinkStats::default(),
        }
    }

    fn offer(
        &mut self,
        now: Instant,
        packet: Packet,
        rng: &mut Xoshiro256StarStar,
        pool: &PacketPool,
    ) {
        self.stats.sent += 1;
        if packet.len() > self.config.mtu {
            self.stats.oversize += 1;
            pool.give(packet.into_buffer());
            return;
        }
        if self.config.loss > 0.0 && rng.next_f64() < self.config.loss {
            self.stats.lost += 1;
            pool.give(packet.into_buffer());
            return;
        }
        let mut at = now + self.config.delay;
        if self.config.reorder > 0.0 && rng.next_f64() < self.config.reorder {
            self.stats.reordered += 1;
            at += self.config.reorder_extra;
        }
        // Keep the queue sorted by arrival time, FIFO among equal times.
        let pos = match self.queue.back() {
            Some(last) if last.at > at => self.queue.partition_point(|p| p.at <= at),
            _ => self.queue.len(),
        };
        self.queue.insert(pos, InFlight { at, packet });
    }

    fn pop_due(&mut self, now: Instant) -> Option<Packet> {
        if self.queue.front()?.at > now {
            return None;
        }
        let p = self.queue.pop_front()?.packet;
        self.stats.delivered += 1;
        self.stats.bytes_delivered += p.len() as u64;
        Some(p)
    }

    fn next_at(&self) -> Option<Instant> {
        self.queue.front().map(|p| p.at)
    }
}

/// An application driven by the harness on one side of a [`Pair`].
pub trait App {
    /// Does whatever the application can do now; returns whether anything
    /// changed (bytes moved, a call made).
    fn drive<P: Peer>(
        &mut self,
        now: Instant,
        peer: &mut P,
        side: Side,
    ) -> Result<bool, HarnessError>;
}

/// A state change seen by the harness (sampled after every round, so a
/// state entered and left within one round is not listed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub at: Instant,
    pub state: TcpState,
}

/// Two peers joined by an in-memory link, with virtual time.
pub struct Pair<A: Peer, B: Peer> {
    pub a: A,
    pub b: B,
    now: Instant,
    ab: Direction,
    ba: Direction,
    rng: Xoshiro256StarStar,
    pool: PacketPool,
    out: Vec<Packet>,
    rounds: u64,
    history: [Vec<Transition>; 2],
}

/// How long a round of the harness may leave a stack wanting attention at
/// the same instant before time is pushed on by this much.
const NUDGE: Duration = Duration::from_micros(1);

impl<A: Peer, B: Peer> Pair<A, B> {
    /// `a` and `b` joined both ways by `link`; `seed` fixes the link's losses
    /// and reorderings.
    pub fn new(a: A, b: B, link: LinkConfig, seed: u64) -> Pair<A, B> {
        Pair::with_links(a, b, link.clone(), link, seed)
    }

    /// Different configurations for A→B and B→A.
    pub fn with_links(a: A, b: B, ab: LinkConfig, ba: LinkConfig, seed: u64) -> Pair<A, B> {
        let history = [
            vec![Transition {
                at: Instant::ZERO,
                state: a.state(),
            }],
            vec![Transition {
                at: Instant::ZERO,
                state: b.state(),
            }],
        ];
        Pair {
            a,
            b,
            now: Instant::ZERO,
            ab: Direction::new(ab),
            ba: Direction::new(ba),
            rng: Xoshiro256StarStar::seed_from_u64(seed),
            pool: PacketPool::new(),
            out: Vec::new(),
            rounds: 0,
            history,
        }
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Rounds run so far.
    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    /// Counters of the A→B direction.
    pub fn stats_ab(&self) -> LinkStats {
        self.ab.stats
    }

    /// Counters of the B→A direction.
    pub fn stats_ba(&self) -> LinkStats {
        self.ba.stats
    }

    /// The states side `side` went through, with when they were first seen.
    pub fn history(&self, side: Side) -> &[Transition] {
        match side {
            Side::A => &self.history[0],
            Side::B => &self.history[1],
        }
    }

    /// Forgets the recorded state histories (long benchmark loops).
    pub fn clear_history(&mut self) {
        for h in &mut self.history {
            let last = h.last().copied();
            h.clear();
            h.extend(last);
        }
    }

    /// Notes state changes; returns whether there were any.
    fn record(&mut self) -> bool {
        let now = self.now;
        let mut changed = false;
        for (i, state) in [self.a.state(), self.b.state()].into_iter().enumerate() {
            if self.history[i].last().map(|t| t.state) != Some(state) {
                self.history[i].push(Transition { at: now, state });
                changed = true;
            }
        }
        changed
    }

    /// One round at the current time: packets due are delivered, both
    /// stacks polled around their applications. Returns whether anything
    /// happened.
    pub fn round<X: App, Y: App>(
        &mut self,
        app_a: &mut X,
        app_b: &mut Y,
    ) -> Result<bool, HarnessError> {
        self.rounds += 1;
        let now = self.now;
        let mut active = false;
        while let Some(p) = self.ab.pop_due(now) {
            self.b.receive(now, p, &self.pool);
            active = true;
        }
        while let Some(p) = self.ba.pop_due(now) {
            self.a.receive(now, p, &self.pool);
            active = true;
        }

        self.a.poll(now, &self.pool, &mut self.out);
        active |= app_a.drive(now, &mut self.a, Side::A)?;
        self.a.poll(now, &self.pool, &mut self.out);
        active |= !self.out.is_empty();
        for p in self.out.drain(..) {
            self.ab.offer(now, p, &mut self.rng, &self.pool);
        }

        self.b.poll(now, &self.pool, &mut self.out);
        active |= app_b.drive(now, &mut self.b, Side::B)?;
        self.b.poll(now, &self.pool, &mut self.out);
        active |= !self.out.is_empty();
        for p in self.out.drain(..) {
            self.ba.offer(now, p, &mut self.rng, &self.pool);
        }
        active |= self.record();
        Ok(active)
    }

    /// The next time something is due: a packet arrival or a stack timer.
    pub fn next_event(&mut self) -> Option<Instant> {
        let now = self.now;
        [
            self.ab.next_at(),
            self.ba.next_at(),
            self.a.poll_at(now),
            self.b.poll_at(now),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// One round; when it changes nothing, the clock moves to the next
    /// event (packet arrival or stack timer). Returns false when nothing is
    /// left to happen at all.
    pub fn step<X: App, Y: App>(
        &mut self,
        app_a: &mut X,
        app_b: &mut Y,
    ) -> Result<bool, HarnessError> {
        if self.round(app_a, app_b)? {
            return Ok(true);
        }
        self.now = match self.next_event() {
            Some(t) if t > self.now => t,
            // A stack asks to be polled now but did nothing this round.
            Some(_) => self.now + NUDGE,
            None => return Ok(false),
        };
        Ok(true)
    }

    /// Runs [`Pair::step`]s until `done` holds (checked before every
    /// round). Fails when the virtual clock passes `now + limit` or nothing
    /// is left to happen.
    pub fn run<X: App, Y: App>(
        &mut self,
        app_a: &mut X,
        app_b: &mut Y,
        limit: Duration,
        mut done: impl FnMut(&Self, &X, &Y) -> bool,
    ) -> Result<(), HarnessError> {
        let deadline = self.now + limit;
        loop {
            if done(self, app_a, app_b) {
                return Ok(());
            }
            if !self.step(app_a, app_b)? {
                if done(self, app_a, app_b) {
                    return Ok(());
                }
                return Err(HarnessError::Stalled { now: self.now });
            }
            if self.now > deadline {
                return Err(HarnessError::Deadline { deadline });
            }
        }
    }

    /// Lets virtual time pass for `d`, running whatever happens meanwhile.
    pub fn run_for<X: App, Y: App>(
        &mut self,
        app_a: &mut X,
        app_b: &mut Y,
        d: Duration,
    ) -> Result<(), HarnessError> {
        let until = self.now + d;
        loop {
            if self.round(app_a, app_b)? {
                continue;
            }
            match self.next_event() {
                Some(t) if t > self.now && t <= until => self.now = t,
                Some(t) if t <= self.now => self.now += NUDGE,
                _ => {
                    self.now = until;
                    self.round(app_a, app_b)?;
                    return Ok(());
                }
            }
        }
    }
}

// ------------------------------------------------------------------ applications

/// The largest single SEND or RECEIVE the applications make.
pub const CHUNK: usize = 64 * 1024;

/// A deterministic byte stream: byte `i` depends on `i` modulo a prime
/// period and a salt, so two directions carry different streams.
#[derive(Clone, Debug)]
pub struct Pattern {
    bytes: Vec<u8>,
    period: usize,
}

impl Pattern {
    /// Period 251 (salt 0x5a) for streams A→B, 241 (salt 0xc3) for B→A.
    pub fn for_side(side: Side) -> Pattern {
        match side {
            Side::A => Pattern::new(251, 0x5a),
            Side::B => Pattern::new(241, 0xc3),
        }
    }

    pub fn new(period: usize, salt: u8) -> Pattern {
        let period = period.max(1);
        let cycle: Vec<u8> = (0..period)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
            .collect();
        let mut bytes = Vec::with_capacity(period + CHUNK);
        while bytes.len() < period + CHUNK {
            let n = (period + CHUNK - bytes.len()).min(period);
            bytes.extend_from_slice(&cycle[..n]);
        }
        Pattern { bytes, period }
    }

    /// Bytes `offset .. offset + len` of the stream (`len <= CHUNK`).
    pub fn chunk(&self, offset: u64, len: usize) -> &[u8] {
        let start = (offset % self.period as u64) as usize;
        &self.bytes[start..start + len.min(CHUNK)]
    }
}

/// When a [`Flow`] issues its CLOSE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosePolicy {
    /// As soon as everything is sent (the active closer).
    AfterSend,
    /// Once everything is sent and the peer's FIN was read (the passive closer).
    AfterEof,
    /// Never.
    Never,
}

/// A bulk transfer in both directions on one connection: sends
/// `send_total` bytes of its side's [`Pattern`], reads and checks
/// `recv_total` bytes of the other side's, closes per its [`ClosePolicy`].
pub struct Flow {
    role: Role,
    started: bool,
    pub send_total: u64,
    pub sent: u64,
    pub recv_total: u64,
    pub received: u64,
    pub eof: bool,
    pub closed: bool,
    close: ClosePolicy,
    /// Compare what arrives with the pattern (off: copy out only).
    pub verify: bool,
    patterns: Option<(Pattern, Pattern)>,
    rbuf: Vec<u8>,
}

#[derive(Clone, Copy, Debug)]
enum Role {
    Client { remote: SocketAddr, local_port: u16 },
    Server { port: u16 },
}

impl Flow {
    /// The active opener.
    pub fn client(
        remote: SocketAddr,
        send_total: u64,
        recv_total: u64,
        close: ClosePolicy,
    ) -> Flow {
        Flow::new(
            Role::Client {
                remote,
                local_port: 0,
            },
            send_total,
            recv_total,
            close,
        )
    }

    /// The passive opener, listening on `port`.
    pub fn server(port: u16, send_total: u64, recv_total: u64, close: ClosePolicy) -> Flow {
        Flow::new(Role::Server { port }, send_total, recv_total, close)
    }

    fn new(role: Role, send_total: u64, recv_total: u64, close: ClosePolicy) -> Flow {
        Flow {
            role,
            started: false,
            send_total,
            sent: 0,
            recv_total,
            received: 0,
            eof: false,
            closed: false,
            close,
            verify: true,
            patterns: None,
            rbuf: vec![0; CHUNK],
        }
    }

    /// Everything sent, the whole stream read up to the peer's FIN, and the
    /// CLOSE issued if the policy calls for one.
    pub fn is_complete(&self) -> bool {
        self.sent == self.send_total
            && self.eof
            && (self.closed || self.close == ClosePolicy::Never)
    }
}

impl App for Flow {
    fn drive<P: Peer>(
        &mut self,
        now: Instant,
        peer: &mut P,
        side: Side,
    ) -> Result<bool, HarnessError> {
        let err = |source| HarnessError::Peer { side, source };
        let mut progress = false;
        if !self.started {
            match self.role {
                Role::Client { remote, local_port } => {
                    peer.connect(now, remote, local_port).map_err(err)?
                }
                Role::Server { port } => peer.listen(port).map_err(err)?,
            }
            let other = match side {
                Side::A => Side::B,
                Side::B => Side::A,
            };
            self.patterns = Some((Pattern::for_side(side), Pattern::for_side(other)));
            self.started = true;
            progress = true;
        }
        if let Role::Server { .. } = self.role {
            if !peer.accept() {
                return Ok(progress);
            }
        }
        if !peer.is_established() {
            return Ok(progress);
        }
        let Some((out_pattern, in_pattern)) = &self.patterns else {
            return Ok(progress);
        };
        while self.sent < self.send_total && !self.closed {
            let len = (self.send_total - self.sent).min(CHUNK as u64) as usize;
            let n = peer
                .send(now, out_pattern.chunk(self.sent, len))
                .map_err(err)?;
            if n == 0 {
                break;
            }
            self.sent += n as u64;
            progress = true;
        }
        while !self.eof {
            match peer.recv(now, &mut self.rbuf).map_err(err)? {
                Recv::Data(n) => {
                    if self.verify {
                        let want = in_pattern.chunk(self.received, n);
                        if let Some(i) = (0..n).find(|&i| self.rbuf[i] != want[i]) {
                            return Err(HarnessError::DataMismatch {
                                side,
                                offset: self.received + i as u64,
                            });
                        }
                    }
                    self.received += n as u64;
                    if self.received > self.recv_total {
                        return Err(HarnessError::LongStream {
                            side,
                            received: self.received,
                            expected: self.recv_total,
                        });
                    }
                    progress = true;
                }
                Recv::WouldBlock => break,
                Recv::Eof => {
                    if self.received != self.recv_total {
                        return Err(HarnessError::ShortStream {
                            side,
                            received: self.received,
                            expected: self.recv_total,
                        });
                    }
                    self.eof = true;
                    progress = true;
                }
            }
        }
        let close_now = match self.close {
            ClosePolicy::AfterSend => self.sent == self.send_total,
            ClosePolicy::AfterEof => self.sent == self.send_total && self.eof,
            ClosePolicy::Never => false,
        };
        if close_now && !self.closed {
            peer.close(now).map_err(err)?;
            self.closed = true;
            progress = true;
        }
        Ok(progress)
    }
}

/// Repeated connection lifecycles: connect, write `payload` bytes, CLOSE
/// (the active closer), wait for CLOSED (through TIME-WAIT); the server side
/// accepts, reads to the end, CLOSEs (the passive closer).
pub struct Lifecycle {
    role: LifeRole,
    phase: Phase,
    payload: usize,
    /// Lifecycles finished (client: reached CLOSED; server: reached CLOSED).
    pub completed: u64,
    /// Stop after this many (the client makes no new connection).
    pub target: u64,
    pattern: Pattern,
    rbuf: Vec<u8>,
    got: usize,
}

#[derive(Clone, Copy, Debug)]
enum LifeRole {
    Client { remote: SocketAddr },
    Server { port: u16 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Opening,
    Open,
    Closing,
}

impl Lifecycle {
    pub fn client(remote: SocketAddr, payload: usize, target: u64) -> Lifecycle {
        Lifecycle::new(LifeRole::Client { remote }, payload, target)
    }

    pub fn server(port: u16, payload: usize, target: u64) -> Lifecycle {
        Lifecycle::new(LifeRole::Server { port }, payload, target)
    }

    fn new(role: LifeRole, payload: usize, target: u64) -> Lifecycle {
        Lifecycle {
            role,
            phase: Phase::Idle,
            payload: payload.min(CHUNK),
            completed: 0,
            target,
            pattern: Pattern::for_side(Side::A),
            rbuf: vec![0; CHUNK],
            got: 0,
        }
    }

    pub fn is_done(&self) -> bool {
        self.completed >= self.target
    }
}

impl App for Lifecycle {
    fn drive<P: Peer>(
        &mut self,
        now: Instant,
        peer: &mut P,
        side: Side,
    ) -> Result<bool, HarnessError> {
        let err = |source| HarnessError::Peer { side, source };
        let mut progress = false;
        match self.role {
            LifeRole::Client { remote } => loop {
                match self.phase {
                    Phase::Idle if self.completed < self.target => {
                        peer.connect(now, remote, 0).map_err(err)?;
                        self.phase = Phase::Opening;
                        progress = true;
                    }
                    Phase::Opening if peer.is_established() => {
                        let n = peer
                            .send(now, self.pattern.chunk(0, self.payload))
                            .map_err(err)?;
                        if n != self.payload {
                            return Err(err(PeerError::NoConnection));
                        }
                        peer.close(now).map_err(err)?;
                        self.phase = Phase::Closing;
                        progress = true;
                    }
                    Phase::Closing if peer.state() == TcpState::Closed => {
                        self.completed += 1;
                        self.phase = Phase::Idle;
                        progress = true;
                    }
                    _ => return Ok(progress),
                }
            },
            LifeRole::Server { port } => loop {
                match self.phase {
                    Phase::Idle => {
                        peer.listen(port).map_err(err)?;
                        self.phase = Phase::Opening;
                        progress = true;
                    }
                    Phase::Opening if peer.accept() => {
                        self.got = 0;
                        self.phase = Phase::Open;
                        progress = true;
                    }
                    Phase::Open => match peer.recv(now, &mut self.rbuf).map_err(err)? {
                        Recv::Data(n) => {
                            let want = self.pattern.chunk(self.got as u64, n);
                            if self.rbuf[..n] != *want {
                                return Err(HarnessError::DataMismatch {
                                    side,
                                    offset: self.got as u64,
                                });
                            }
                            self.got += n;
                            progress = true;
                        }
                        Recv::WouldBlock => return Ok(progress),
                        Recv::Eof => {
                            if self.got != self.payload {
                                return Err(HarnessError::ShortStream {
                                    side,
                                    received: self.got as u64,
                                    expected: self.payload as u64,
                                });
                            }
                            peer.close(now).map_err(err)?;
                            self.phase = Phase::Closing;
                            progress = true;
                        }
                    },
                    Phase::Closing if peer.state() == TcpState::Closed => {
                        self.completed += 1;
                        // Listen again (a no-op where the listener stays).
                        self.phase = Phase::Idle;
                        progress = true;
                    }
                    _ => return Ok(progress),
                }
            },
        }
    }
}

/// An application that does nothing (for running a pair to a state).
#[derive(Clone, Copy, Debug, Default)]
pub struct Idle;

impl App for Idle {
    fn drive<P: Peer>(&mut self, _: Instant, _: &mut P, _: Side) -> Result<bool, HarnessError> {
        Ok(false)
    }
}

/// The workloads of the criterion benches (`conformance/benches`), shared
/// so that every stack runs exactly the same shape: two endpoints of one
/// stack, an ideal link, the same buffers and ACK policy.
pub mod workload {
    use super::*;
    use tcp_core::cc::CcAlgorithm;

    /// Bytes moved per bulk run.
    pub const BULK_BYTES: u64 = 16 << 20;
    /// Buffers of the bulk runs, each way.
    pub const BULK_BUFFER: usize = 256 * 1024;
    /// Lifecycles per lifecycle run.
    pub const LIFECYCLES: u64 = 1000;
    /// Bytes written per lifecycle.
    pub const LIFECYCLE_PAYLOAD: usize = 64;
    /// Buffers of the lifecycle runs, each way.
    pub const LIFECYCLE_BUFFER: usize = 64 * 1024;
    const BULK_PORT: u16 = 5001;
    const LIFECYCLE_PORT: u16 = 80;

    /// Our configuration for the benches: MSS 1460, delayed ACK 10 ms
    /// (smoltcp's default), Nagle on, no timestamps (smoltcp sends none
    /// without a generator), NewReno, no traces.
    pub fn our_config(buffer: usize, msl: Duration) -> Config {
        Config {
            mss: 1460,
            send_buffer: buffer,
            recv_buffer: buffer,
            window_scaling: true,
            timestamps: false,
            sack: true,
            nagle: true,
            delayed_ack: Some(Duration::from_millis(10)),
            msl,
            congestion_control: CcAlgorithm::NewReno,
            trace: false,
            ..Config::default()
        }
    }

    /// smoltcp's configuration for the benches (MTU 1500, so MSS 1460).
    pub fn smol_options(buffer: usize) -> SmolOptions {
        SmolOptions {
            mtu: 1500,
            send_buffer: buffer,
            recv_buffer: buffer,
            ack_delay: Some(Duration::from_millis(10)),
            nagle: true,
            timestamps: false,
            congestion: tcp::CongestionControl::Reno,
        }
    }

    /// Two of our endpoints (A and B) with `engine`.
    pub fn ours<E: Engine + Clone>(
        engine: E,
        buffer: usize,
        msl: Duration,
    ) -> (OursPeer<E>, OursPeer<E>) {
        (
            OursPeer::new(our_config(buffer, msl), ADDR_A, engine.clone(), 1),
            OursPeer::new(our_config(buffer, msl), ADDR_B, engine, 2),
        )
    }

    /// Two smoltcp interfaces (A and B).
    pub fn smol(buffer: usize) -> Result<(SmolPeer, SmolPeer), PeerError> {
        Ok((
            SmolPeer::new(smol_options(buffer), ADDR_A, 1)?,
            SmolPeer::new(smol_options(buffer), ADDR_B, 2)?,
        ))
    }

    /// A sends [`BULK_BYTES`] to B (copied in from a pattern, copied out
    /// into a 64 KiB buffer, not compared) and closes. Returns the packets
    /// carried A→B and B→A.
    pub fn bulk<A: Peer, B: Peer>(a: A, b: B) -> Result<(u64, u64), HarnessError> {
        let mut pair = Pair::new(a, b, LinkConfig::ideal(), 7);
        let mut client = Flow::client(
            SocketAddr::new(ADDR_B, BULK_PORT),
            BULK_BYTES,
            0,
            ClosePolicy::AfterSend,
        );
        let mut server = Flow::server(BULK_PORT, 0, BULK_BYTES, ClosePolicy::AfterEof);
        client.verify = false;
        server.verify = false;
        pair.run(
            &mut client,
            &mut server,
            Duration::from_secs(3_600),
            |_, c, s| c.is_complete() && s.is_complete(),
        )?;
        Ok((pair.stats_ab().delivered, pair.stats_ba().delivered))
    }

    /// [`LIFECYCLES`] connections one after another: connect, handshake,
    /// [`LIFECYCLE_PAYLOAD`] bytes, CLOSE by A, B reads to the end and
    /// CLOSEs, A's TIME-WAIT runs out. Returns the packets exchanged.
    pub fn lifecycles<A: Peer, B: Peer>(a: A, b: B) -> Result<u64, HarnessError> {
        let mut pair = Pair::new(a, b, LinkConfig::ideal(), 9);
        let remote = SocketAddr::new(ADDR_B, LIFECYCLE_PORT);
        let mut client = Lifecycle::client(remote, LIFECYCLE_PAYLOAD, LIFECYCLES);
        let mut server = Lifecycle::server(LIFECYCLE_PORT, LIFECYCLE_PAYLOAD, LIFECYCLES);
        pair.run(
            &mut client,
            &mut server,
            Duration::from_secs(1_000_000),
            |_, c, s| c.is_done() && s.is_done(),
        )?;
        Ok(pair.stats_ab().delivered + pair.stats_ba().delivered)
    }
}

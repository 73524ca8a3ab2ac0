//! Behaviour of a connection engine, state by state (RFC 9293 §3.10 with
//! RFC 5961 and RFC 1337 adopted), written once for any [`Engine`].
//!
//! Every scenario is a generic function `fn name<E: Engine + Default>()`;
//! `engine_suite!` turns the whole list into `#[test]`s for one engine type.
//! Today only the per-state engine is instantiated (`per_state` module at the
//! bottom); running the same suite against another engine is one line:
//! `all_scenarios!(table, tcp_core::TableEngine);`.
//!
//! Two harnesses drive `Connection`s in memory on a virtual clock:
//! * [`Lone`]: one connection and a hand-crafted peer (segments built with
//!   `tcp_core::wire`), for exact control of sequence and acknowledgment
//!   numbers;
//! * [`Pair`]: two connections whose segments are shuttled to each other
//!   (optionally dropping some), with timers fired in time order.
//!
//! At the end, a differential run drives the per-state engine and the
//! interpreted table engine (`tcp.fsm` through the spec interpreter) with
//! the same pseudo-random inputs and compares everything they emit.

use std::net::SocketAddr;

use tcp_core::config::{Config, KeepaliveConfig};
use tcp_core::seq::SeqNum;
use tcp_core::wire::{
    emit_segment, parse_segment, Flags, PseudoHeader, TcpHeader, TcpOptions, Timestamps,
};
use tcp_core::{
    ConnEvent, Connection, ConnectionError, Duration, Engine, Instant, InterpretedEngine,
    PerStateEngine, TcpState, TraceOrigin,
};

// ====================================================================== harness

const LOCAL: &str = "10.0.0.1:40000";
const PEER: &str = "10.0.0.2:80";
/// Our ISS in [`Lone`] tests.
const ISS: u32 = 0x0001_0000;
/// The hand-crafted peer's ISS: close to 2^32 so that every test also
/// exercises sequence-number wrap-around.
const PEER_ISS: u32 = 0xFFFF_FFF0;
const MSL: Duration = Duration::from_secs(30);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The configuration of most tests: every ACK immediate (no delayed-ACK
/// timer to step over), a short MSL.
fn config() -> Config {
    Config {
        delayed_ack: None,
        msl: MSL,
        ..Config::default()
    }
}

/// A segment a connection sent, decoded and owned.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sent {
    header: TcpHeader,
    payload: Vec<u8>,
    bytes: Vec<u8>,
}

impl Sent {
    fn decode(bytes: &[u8]) -> Sent {
        let seg = parse_segment(bytes).unwrap();
        Sent {
            header: seg.header,
            payload: seg.payload.to_vec(),
            bytes: bytes.to_vec(),
        }
    }

    /// The control bits, PSH aside.
    fn ctl(&self) -> Flags {
        let mut f = self.header.flags;
        f.remove(Flags::PSH);
        f
    }

    fn seq(&self) -> u32 {
        self.header.seq.0
    }

    fn ack(&self) -> u32 {
        self.header.ack.0
    }

    fn is(&self, ctl: Flags, seq: u32, ack: Option<u32>) -> bool {
        self.ctl() == ctl && self.seq() == seq && ack.is_none_or(|a| self.ack() == a)
    }
}

fn fin_ack() -> Flags {
    Flags::FIN | Flags::ACK
}

fn syn_ack() -> Flags {
    Flags::SYN | Flags::ACK
}

fn rst_ack() -> Flags {
    Flags::RST | Flags::ACK
}

/// Asserts that exactly one segment was sent and that it is `ctl` with
/// these numbers (`ack: None` leaves the acknowledgment field unchecked).
#[track_caller]
fn assert_one(out: &[Sent], ctl: Flags, seq: u32, ack: Option<u32>) {
    assert_eq!(
        out.len(),
        1,
        "expected exactly one {ctl} segment, got {out:#?}"
    );
    assert!(
        out[0].is(ctl, seq, ack),
        "expected {ctl} seq={seq} ack={ack:?}, got {:#?}",
        out[0]
    );
}

#[track_caller]
fn assert_none(out: &[Sent]) {
    assert!(out.is_empty(), "expected no segment, got {out:#?}");
}

fn drain<E: Engine>(conn: &mut Connection<E>, now: Instant) -> Vec<Sent> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    while let Some(n) = conn.poll_transmit(now, &mut buf) {
        out.push(Sent::decode(&buf[..n]));
        assert!(out.len() < 10_000, "a connection that never stops sending");
    }
    out
}

fn events_of<E: Engine>(conn: &mut Connection<E>) -> Vec<ConnEvent> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// The states a connection went through, from its trace.
fn states_of<E: Engine>(conn: &mut Connection<E>) -> Vec<TcpState> {
    conn.drain_traces().map(|t| t.tcp_state).collect()
}

/// One connection and a hand-crafted peer.
struct Lone<E: Engine> {
    conn: Connection<E>,
    now: Instant,
    /// Pseudo-header of segments from the peer to the connection.
    to_conn: PseudoHeader,
}

impl<E: Engine + Default> Lone<E> {
    fn new(config: Config) -> Lone<E> {
        let (local, peer) = (addr(LOCAL), addr(PEER));
        Lone {
            conn: Connection::new(
                config,
                local,
                peer,
                SeqNum(ISS),
                E::default(),
                Instant::ZERO,
            ),
            now: Instant::ZERO,
            to_conn: PseudoHeader::new(peer.ip(), local.ip()).unwrap(),
        }
    }

    /// A header from the peer, window 65535, no options.
    fn hdr(&self, flags: Flags, seq: u32, ack: u32) -> TcpHeader {
        TcpHeader {
            src_port: addr(PEER).port(),
            dst_port: addr(LOCAL).port(),
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags,
            window: 65535,
            urgent: 0,
            options: TcpOptions::default(),
        }
    }

    fn inject(&mut self, header: TcpHeader, payload: &[u8]) {
        let mut buf = vec![0u8; 4096];
        let n = emit_segment(&header, payload, &self.to_conn, &mut buf).unwrap();
        self.conn.handle_segment(self.now, &buf[..n]).unwrap();
    }

    /// The peer sends a segment without text.
    fn seg(&mut self, flags: Flags, seq: u32, ack: u32) {
        self.inject(self.hdr(flags, seq, ack), &[]);
    }

    /// The peer sends a segment with text.
    fn data(&mut self, flags: Flags, seq: u32, ack: u32, text: &[u8]) {
        self.inject(self.hdr(flags, seq, ack), text);
    }

    fn out(&mut self) -> Vec<Sent> {
        drain(&mut self.conn, self.now)
    }

    fn events(&mut self) -> Vec<ConnEvent> {
        events_of(&mut self.conn)
    }

    fn states(&mut self) -> Vec<TcpState> {
        states_of(&mut self.conn)
    }

    fn state(&self) -> TcpState {
        self.conn.state()
    }

    /// Moves the clock to the next timer deadline and fires it.
    fn fire_next_timer(&mut self) -> Instant {
        let at = self.conn.poll_timeout().expect("a timer is armed");
        assert!(at >= self.now);
        self.now = at;
        self.conn.handle_timeout(at);
        at
    }

    fn read_all(&mut self) -> Vec<u8> {
        let mut buf = vec![0u8; 4096];
        let n = self.conn.recv(self.now, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }
}

/// The connection timed out: CLOSED, "timed out" then Closed reported, no
/// timer left (RFC 9293 §3.10.8).
#[track_caller]
fn assert_timed_out<E: Engine + Default>(t: &mut Lone<E>) {
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(
        t.events(),
        [
            ConnEvent::Error(ConnectionError::TimedOut),
            ConnEvent::Closed
        ]
    );
    assert_eq!(t.conn.poll_timeout(), None);
}

// ---------------------------------------------------------------- Lone set-ups
//
// Sequence numbers after each set-up: ours start at ISS (SYN) and data at
// ISS+1; the peer's start at PEER_ISS (SYN) and data at PEER_ISS+1.

fn peer(n: u32) -> u32 {
    PEER_ISS.wrapping_add(n)
}

fn ours(n: u32) -> u32 {
    ISS.wrapping_add(n)
}

/// CLOSED --active OPEN--> SYN-SENT, the SYN sent.
fn syn_sent<E: Engine + Default>(config: Config) -> Lone<E> {
    let mut t = Lone::<E>::new(config);
    t.conn.connect(t.now).unwrap();
    assert_one(&t.out(), Flags::SYN, ISS, None);
    t
}

/// SYN-SENT --SYN,ACK--> ESTABLISHED, our ACK sent.
fn established<E: Engine + Default>(config: Config) -> Lone<E> {
    let mut t = syn_sent::<E>(config);
    t.seg(syn_ack(), PEER_ISS, ours(1));
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::Established);
    t.events();
    t.states();
    t
}

/// CLOSED --passive OPEN--> LISTEN --SYN--> SYN-RECEIVED, SYN,ACK sent.
fn syn_received_passive<E: Engine + Default>(config: Config) -> Lone<E> {
    let mut t = Lone::<E>::new(config);
    t.conn.listen(t.now).unwrap();
    t.seg(Flags::SYN, PEER_ISS, 0);
    assert_one(&t.out(), syn_ack(), ISS, Some(peer(1)));
    assert_eq!(t.state(), TcpState::SynReceived);
    t.states();
    t
}

/// SYN-SENT --SYN--> SYN-RECEIVED (simultaneous open), SYN,ACK sent.
fn syn_received_active<E: Engine + Default>(config: Config) -> Lone<E> {
    let mut t = syn_sent::<E>(config);
    t.seg(Flags::SYN, PEER_ISS, 0);
    assert_one(&t.out(), syn_ack(), ISS, Some(peer(1)));
    assert_eq!(t.state(), TcpState::SynReceived);
    t.states();
    t
}

/// ESTABLISHED --CLOSE--> FIN-WAIT-1, our FIN (at ISS+1) sent.
fn fin_wait_1<E: Engine + Default>(config: Config) -> Lone<E> {
    let mut t = established::<E>(config);
    t.conn.shutdown(t.now).unwrap();
    assert_one(&t.out(), fin_ack(), ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::FinWait1);
    t.states();
    t
}

/// FIN-WAIT-1 --ACK of FIN--> FIN-WAIT-2.
fn fin_wait_2<E: Engine + Default>(config: Config) -> Lone<E> {
    let mut t = fin_wait_1::<E>(config);
    t.seg(Flags::ACK, peer(1), ours(2));
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::FinWait2);
    t.states();
    t
}

/// FIN-WAIT-2 --FIN--> TIME-WAIT, the FIN acknowledged.
fn time_wait<E: Engine + Default>(config: Config) -> Lone<E> {
    let mut t = fin_wait_2::<E>(config);
    t.seg(fin_ack(), peer(1), ours(2));
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(2)));
    assert_eq!(t.state(), TcpState::TimeWait);
    t.states();
    t.events();
    t
}

/// ESTABLISHED --FIN--> CLOSE-WAIT, the FIN acknowledged.
fn close_wait<E: Engine + Default>(config: Config) -> Lone<E> {
    let mut t = established::<E>(config);
    t.seg(fin_ack(), peer(1), ours(1));
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(2)));
    assert_eq!(t.state(), TcpState::CloseWait);
    t.states();
    t.events();
    t
}

/// CLOSE-WAIT --CLOSE--> LAST-ACK, our FIN sent.
fn last_ack<E: Engine + Default>(config: Config) -> Lone<E> {
    let mut t = close_wait::<E>(config);
    t.conn.shutdown(t.now).unwrap();
    assert_one(&t.out(), fin_ack(), ours(1), Some(peer(2)));
    assert_eq!(t.state(), TcpState::LastAck);
    t.states();
    t
}

/// FIN-WAIT-1 --FIN (not acknowledging ours)--> CLOSING.
fn closing<E: Engine + Default>(config: Config) -> Lone<E> {
    let mut t = fin_wait_1::<E>(config);
    t.seg(fin_ack(), peer(1), ours(1));
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(2)));
    assert_eq!(t.state(), TcpState::Closing);
    t.states();
    t.events();
    t
}

// ---------------------------------------------------------------- Pair

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    A,
    B,
}

type DropRule = Box<dyn FnMut(Side, &Sent) -> bool>;

/// Two connections, A (10.0.0.1:40000) and B (10.0.0.2:80), joined by a
/// lossless zero-delay link unless `drop_rule` says otherwise. Segments
/// both sides emit in one round are all in flight at once, so SYNs and
/// FINs can cross.
struct Pair<E: Engine> {
    a: Connection<E>,
    b: Connection<E>,
    now: Instant,
    log: Vec<(Instant, Side, Sent)>,
    drop_rule: Option<DropRule>,
}

const A_ISS: u32 = 0x7FFF_FFF0;
const B_ISS: u32 = 0xFFFF_FF00;

impl<E: Engine + Default> Pair<E> {
    fn new(config: Config) -> Pair<E> {
        let (a, b) = (addr(LOCAL), addr(PEER));
        Pair {
            a: Connection::new(
                config.clone(),
                a,
                b,
                SeqNum(A_ISS),
                E::default(),
                Instant::ZERO,
            ),
            b: Connection::new(config, b, a, SeqNum(B_ISS), E::default(), Instant::ZERO),
            now: Instant::ZERO,
            log: Vec::new(),
            drop_rule: None,
        }
    }

    /// Delivers segments until neither side has anything to send.
    fn exchange(&mut self) {
        for _ in 0..10_000 {
            let from_a = drain(&mut self.a, self.now);
            let from_b = drain(&mut self.b, self.now);
            if from_a.is_empty() && from_b.is_empty() {
                return;
            }
            for (side, segs) in [(Side::A, from_a), (Side::B, from_b)] {
                for s in segs {
                    let dropped = self.drop_rule.as_mut().is_some_and(|rule| rule(side, &s));
                    if !dropped {
                        let to = match side {
                            Side::A => &mut self.b,
                            Side::B => &mut self.a,
                        };
                        to.handle_segment(self.now, &s.bytes).unwrap();
                    }
                    self.log.push((self.now, side, s));
                }
            }
        }
        panic!("the two connections never went quiet");
    }

    /// Exchanges, then fires timers in time order until `done` holds.
    fn run_until(&mut self, mut done: impl FnMut(&Pair<E>) -> bool) {
        for _ in 0..1_000 {
            self.exchange();
            if done(self) {
                return;
            }
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(at) = next else {
                panic!(
                    "stuck: no timer armed, A in {}, B in {}",
                    self.a.state(),
                    self.b.state()
                );
            };
            self.now = self.now.max(at);
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
        }
        panic!("the condition never held");
    }

    /// Active open from A to listening B, until both are ESTABLISHED.
    fn connected(config: Config) -> Pair<E> {
        let mut p = Pair::<E>::new(config);
        p.b.listen(p.now).unwrap();
        p.a.connect(p.now).unwrap();
        p.exchange();
        assert_eq!(
            (p.a.state(), p.b.state()),
            (TcpState::Established, TcpState::Established)
        );
        p
    }

    fn sent_by(&self, side: Side) -> Vec<&Sent> {
        self.log
            .iter()
            .filter(|(_, s, _)| *s == side)
            .map(|(_, _, seg)| seg)
            .collect()
    }
}

// ====================================================================== CLOSED

fn closed_calls_fail_connection_does_not_exist<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    let now = t.now;
    // RFC 9293 §3.10.2–§3.10.5: "error: connection does not exist".
    assert_eq!(
        t.conn.send(now, b"x"),
        Err(ConnectionError::ConnectionDoesNotExist)
    );
    assert_eq!(
        t.conn.recv(now, &mut [0u8; 8]),
        Err(ConnectionError::ConnectionDoesNotExist)
    );
    assert_eq!(
        t.conn.shutdown(now),
        Err(ConnectionError::ConnectionDoesNotExist)
    );
    assert_eq!(
        t.conn.abort(now),
        Err(ConnectionError::ConnectionDoesNotExist)
    );
    assert_eq!(t.state(), TcpState::Closed);
    assert_none(&t.out());
    assert!(t.states().is_empty());
}

fn closed_segment_is_answered_with_rst<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    // RFC 9293 §3.10.7.1: with ACK: <SEQ=SEG.ACK><CTL=RST>.
    t.seg(Flags::ACK, 500, 7777);
    assert_one(&t.out(), Flags::RST, 7777, None);
    // Without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SEG.LEN counts SYN and text.
    t.data(Flags::SYN, PEER_ISS, 0, b"abc");
    assert_one(&t.out(), rst_ack(), 0, Some(peer(4)));
    t.data(Flags::empty(), 42, 0, b"xy");
    assert_one(&t.out(), rst_ack(), 0, Some(44));
    assert_eq!(t.state(), TcpState::Closed);
    assert!(t.events().is_empty());
}

fn closed_rst_is_dropped<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.seg(Flags::RST, 1, 0);
    t.seg(rst_ack(), 1, 2);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Closed);
}

fn closed_active_open_sends_syn_enters_syn_sent<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.conn.connect(t.now).unwrap();
    assert_eq!(t.state(), TcpState::SynSent);
    let out = t.out();
    assert_one(&out, Flags::SYN, ISS, None);
    assert_eq!(out[0].header.options.mss, Some(1460));
    assert_eq!(t.states(), [TcpState::SynSent]);
}

fn closed_passive_open_enters_listen<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.conn.listen(t.now).unwrap();
    assert_eq!(t.state(), TcpState::Listen);
    assert_none(&t.out());
    assert_eq!(t.conn.poll_timeout(), None);
    assert_eq!(t.states(), [TcpState::Listen]);
}

// ====================================================================== LISTEN

fn listen_open_fails_connection_exists<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.conn.listen(t.now).unwrap();
    assert_eq!(t.conn.listen(t.now), Err(ConnectionError::ConnectionExists));
    assert_eq!(
        t.conn.connect(t.now),
        Err(ConnectionError::ConnectionExists)
    );
    assert_eq!(t.state(), TcpState::Listen);
}

fn listen_send_fails_foreign_socket_unspecified<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.conn.listen(t.now).unwrap();
    assert_eq!(
        t.conn.send(t.now, b"data"),
        Err(ConnectionError::ForeignSocketUnspecified)
    );
    assert_eq!(
        t.conn.recv(t.now, &mut [0u8; 4]),
        Err(ConnectionError::WouldBlock)
    );
    assert_eq!(t.state(), TcpState::Listen);
    assert_none(&t.out());
}

fn listen_rst_is_ignored<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.conn.listen(t.now).unwrap();
    t.seg(Flags::RST, PEER_ISS, 0);
    t.seg(rst_ack(), PEER_ISS, 5);
    t.seg(Flags::RST | Flags::SYN, PEER_ISS, 0);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Listen);
}

fn listen_ack_sends_rst<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.conn.listen(t.now).unwrap();
    // RFC 9293 §3.10.7.2 second check: <SEQ=SEG.ACK><CTL=RST>, even with SYN.
    t.seg(Flags::ACK, PEER_ISS, 1234);
    assert_one(&t.out(), Flags::RST, 1234, None);
    t.seg(syn_ack(), PEER_ISS, 4321);
    assert_one(&t.out(), Flags::RST, 4321, None);
    assert_eq!(t.state(), TcpState::Listen);
}

fn listen_segment_without_syn_is_dropped<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.conn.listen(t.now).unwrap();
    t.data(Flags::empty(), PEER_ISS, 0, b"text");
    t.seg(Flags::FIN, PEER_ISS, 0);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Listen);
}

fn listen_syn_sends_syn_ack_enters_syn_received<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.conn.listen(t.now).unwrap();
    t.seg(Flags::SYN, PEER_ISS, 0);
    let out = t.out();
    assert_one(&out, syn_ack(), ISS, Some(peer(1)));
    assert_eq!(out[0].header.options.mss, Some(1460));
    assert_eq!(t.state(), TcpState::SynReceived);
    assert_eq!(t.states(), [TcpState::Listen, TcpState::SynReceived]);
    assert!(
        t.conn.poll_timeout().is_some(),
        "the SYN,ACK is under the retransmission timer"
    );
}

fn listen_syn_with_fin_enters_close_wait<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.conn.listen(t.now).unwrap();
    // RFC 9293 §3.10.7.2: the rest of the segment is processed in
    // SYN-RECEIVED; its FIN is in sequence (right after the SYN).
    t.seg(Flags::SYN | Flags::FIN, PEER_ISS, 0);
    assert_one(&t.out(), syn_ack(), ISS, Some(peer(2)));
    assert_eq!(
        t.states(),
        [TcpState::Listen, TcpState::SynReceived, TcpState::CloseWait]
    );
    assert_eq!(t.events(), [ConnEvent::PeerFin]);
}

fn listen_close_enters_closed<E: Engine + Default>() {
    let mut t = Lone::<E>::new(config());
    t.conn.listen(t.now).unwrap();
    t.conn.shutdown(t.now).unwrap();
    assert_eq!(t.state(), TcpState::Closed);
    assert_none(&t.out());
    assert_eq!(t.events(), [ConnEvent::Closed]);
    assert!(t.conn.is_finished());
}

// ====================================================================== SYN-SENT

fn syn_sent_syn_ack_enters_established<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    t.seg(syn_ack(), PEER_ISS, ours(1));
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::Established);
    assert_eq!(t.states(), [TcpState::SynSent, TcpState::Established]);
    assert_eq!(t.events(), [ConnEvent::Connected]);
    assert_eq!(t.conn.tcb().snd_una, SeqNum(ours(1)));
    assert_eq!(t.conn.poll_timeout(), None, "nothing left to retransmit");
}

fn syn_sent_syn_ack_with_bad_ack_sends_rst<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    // RFC 9293 §3.10.7.3: SEG.ACK =< ISS or SEG.ACK > SND.NXT: <SEQ=SEG.ACK><CTL=RST>.
    t.seg(syn_ack(), PEER_ISS, ISS);
    assert_one(&t.out(), Flags::RST, ISS, None);
    t.seg(syn_ack(), PEER_ISS, ours(2));
    assert_one(&t.out(), Flags::RST, ours(2), None);
    assert_eq!(t.state(), TcpState::SynSent);
    assert!(t.events().is_empty());
}

fn syn_sent_ack_with_bad_ack_sends_rst<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    t.seg(Flags::ACK, PEER_ISS, ours(100));
    assert_one(&t.out(), Flags::RST, ours(100), None);
    assert_eq!(t.state(), TcpState::SynSent);
}

fn syn_sent_ack_without_syn_is_dropped<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    // An acceptable ACK without SYN or RST: fifth, drop.
    t.seg(Flags::ACK, PEER_ISS, ours(1));
    t.seg(Flags::empty(), PEER_ISS, 0);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::SynSent);
    assert_eq!(t.conn.tcb().snd_una, SeqNum(ISS));
}

fn syn_sent_rst_with_good_ack_is_refused<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    t.seg(rst_ack(), 0, ours(1));
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(
        t.events(),
        [
            ConnEvent::Error(ConnectionError::ConnectionRefused),
            ConnEvent::Closed
        ]
    );
    assert_eq!(t.states(), [TcpState::SynSent, TcpState::Closed]);
    assert_eq!(t.conn.poll_timeout(), None);
}

fn syn_sent_rst_with_bad_ack_is_dropped<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    t.seg(rst_ack(), 0, ours(5));
    t.seg(rst_ack(), 0, ISS);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::SynSent);
    assert!(t.events().is_empty());
}

fn syn_sent_rst_without_ack_is_dropped<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    t.seg(Flags::RST, 0, 0);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::SynSent);
}

fn syn_sent_syn_enters_syn_received<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    // Simultaneous open: RFC 9293 §3.10.7.3 fourth check, SYN without ACK.
    t.seg(Flags::SYN, PEER_ISS, 0);
    assert_one(&t.out(), syn_ack(), ISS, Some(peer(1)));
    assert_eq!(t.states(), [TcpState::SynSent, TcpState::SynReceived]);
    // The peer's SYN,ACK acknowledges our SYN: ESTABLISHED.
    t.seg(syn_ack(), PEER_ISS, ours(1));
    // Its SYN is old (SEG.SEQ = IRS < RCV.NXT): the segment is unacceptable
    // and answered with a (challenge) ACK that completes the peer's side.
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::SynReceived);
    t.seg(Flags::ACK, peer(1), ours(1));
    assert_eq!(t.state(), TcpState::Established);
    assert_eq!(t.events(), [ConnEvent::Connected]);
}

fn syn_sent_syn_ack_with_data_delivers_it<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    // RFC 9293 §3.10.7.3: "continue processing at the sixth step": the text.
    t.data(syn_ack(), PEER_ISS, ours(1), b"hi");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(3)));
    assert_eq!(t.state(), TcpState::Established);
    assert_eq!(t.read_all(), b"hi");
}

fn syn_sent_syn_ack_with_fin_enters_close_wait<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    t.data(syn_ack() | Flags::FIN, PEER_ISS, ours(1), b"bye");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(5)));
    assert_eq!(
        t.states(),
        [
            TcpState::SynSent,
            TcpState::Established,
            TcpState::CloseWait
        ]
    );
    assert_eq!(
        t.events(),
        [
            ConnEvent::Connected,
            ConnEvent::Readable,
            ConnEvent::PeerFin
        ]
    );
    assert_eq!(t.read_all(), b"bye");
    assert_eq!(t.conn.recv(t.now, &mut [0u8; 4]), Ok(0), "end of stream");
}

fn syn_sent_send_queues_data_until_established<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    assert_eq!(t.conn.send(t.now, b"early"), Ok(5));
    assert_none(&t.out());
    t.seg(syn_ack(), PEER_ISS, ours(1));
    let out = t.out();
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].is(Flags::ACK, ours(1), Some(peer(1))));
    assert_eq!(out[0].payload, b"early");
}

fn syn_sent_open_fails_connection_exists<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    assert_eq!(
        t.conn.connect(t.now),
        Err(ConnectionError::ConnectionExists)
    );
    assert_eq!(t.conn.listen(t.now), Err(ConnectionError::ConnectionExists));
    assert_eq!(t.state(), TcpState::SynSent);
}

fn syn_sent_close_enters_closed<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    t.conn.shutdown(t.now).unwrap();
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(t.conn.poll_timeout(), None);
    assert_eq!(t.events(), [ConnEvent::Closed]);
}

fn syn_sent_abort_enters_closed_without_rst<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    t.conn.abort(t.now).unwrap();
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Closed);
}

fn syn_sent_retransmission_exhausted_times_out<E: Engine + Default>() {
    let cfg = config();
    let (retries, rto_max) = (cfg.syn_retries, cfg.rto_max);
    let mut t = syn_sent::<E>(cfg);
    let mut syn_times = vec![Instant::ZERO];
    let mut last = Instant::ZERO;
    while t.state() == TcpState::SynSent {
        last = t.fire_next_timer();
        for s in t.out() {
            assert!(
                s.is(Flags::SYN, ISS, None),
                "only SYN retransmissions: {s:#?}"
            );
            syn_times.push(t.now);
        }
    }
    // RFC 6298 §5.5 (and §5.7 for the SYN): the RTO doubles on each
    // expiry, from 1 s, bounded by RTO.max.
    let gaps: Vec<u64> = syn_times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs())
        .collect();
    let expected: Vec<u64> = (0..retries).map(|i| 1u64 << i).collect();
    assert_eq!(gaps, expected);
    let final_wait = (last - *syn_times.last().unwrap()).as_secs();
    assert_eq!(final_wait, (1u64 << retries).min(rto_max.as_secs()));
    assert_timed_out(&mut t);
    let traces: Vec<_> = t.conn.drain_traces().collect();
    let last_trace = traces.last().unwrap();
    assert_eq!(
        (last_trace.tcp_state, last_trace.origin),
        (TcpState::Closed, TraceOrigin::Timer)
    );
}

// ---------------------------------------------------------------- user timeout
//
// RFC 9293 §3.10.8 USER TIMEOUT: "flush all queues, signal the user 'error:
// connection aborted due to user timeout' ..., delete the TCB, enter the
// CLOSED state"; RFC 5482 §3 and RFC 1122 §4.2.3.5: the time sent data may
// stay unacknowledged. No RST is sent.

fn user_timeout_config(secs: u64) -> Config {
    Config {
        user_timeout: Some(Duration::from_secs(secs)),
        ..config()
    }
}

/// Fires timers until the connection leaves `state`; returns when it did and
/// every segment sent meanwhile.
fn fire_until_not<E: Engine + Default>(t: &mut Lone<E>, state: TcpState) -> (Instant, Vec<Sent>) {
    let mut sent = Vec::new();
    while t.state() == state {
        t.fire_next_timer();
        sent.extend(t.out());
    }
    (t.now, sent)
}

fn syn_sent_user_timeout_aborts_before_syn_retries<E: Engine + Default>() {
    // SYN retransmissions at 1 s and 3 s (RFC 6298 §5.5); the 5 s user
    // timeout ends the attempt before the next one at 7 s.
    let mut t = syn_sent::<E>(user_timeout_config(5));
    let (at, sent) = fire_until_not(&mut t, TcpState::SynSent);
    assert_eq!(at, Instant::ZERO + Duration::from_secs(5));
    assert_eq!(sent.len(), 2, "two SYN retransmissions: {sent:#?}");
    assert!(sent.iter().all(|s| s.is(Flags::SYN, ISS, None)));
    assert_timed_out(&mut t);
}

fn established_user_timeout_aborts_unacknowledged_data<E: Engine + Default>() {
    let mut t = established::<E>(user_timeout_config(10));
    t.conn.send(t.now, b"hello").unwrap();
    assert_eq!(t.out().len(), 1);
    let (at, sent) = fire_until_not(&mut t, TcpState::Established);
    assert_eq!(at, Instant::ZERO + Duration::from_secs(10));
    // Retransmissions at 1 s, 3 s and 7 s, then the user timeout; no RST.
    assert_eq!(sent.len(), 3, "{sent:#?}");
    assert!(sent.iter().all(|s| s.payload == b"hello"));
    assert_eq!(t.state(), TcpState::Closed);
    assert!(t
        .events()
        .contains(&ConnEvent::Error(ConnectionError::TimedOut)));
    // The TCB is gone: RFC 9293 §3.10.2 SEND in CLOSED.
    assert_eq!(
        t.conn.send(t.now, b"x"),
        Err(ConnectionError::ConnectionDoesNotExist)
    );
}

fn established_user_timeout_restarts_on_progress<E: Engine + Default>() {
    let mut t = established::<E>(user_timeout_config(10));
    let mss = 536; // the peer sent no MSS option (RFC 9293 §3.7.1 default)
    t.conn.send(t.now, &vec![7u8; 2 * mss]).unwrap();
    assert_eq!(t.out().len(), 2);
    // At 0.5 s the first segment is acknowledged: the timeout restarts.
    t.now = Instant::ZERO + Duration::from_millis(500);
    t.seg(Flags::ACK, peer(1), ours(1 + mss as u32));
    assert_none(&t.out());
    let (at, _) = fire_until_not(&mut t, TcpState::Established);
    assert_eq!(at, Instant::ZERO + Duration::from_millis(10_500));
    assert_eq!(t.state(), TcpState::Closed);
}

fn established_user_timeout_stopped_when_all_acknowledged<E: Engine + Default>() {
    let mut t = established::<E>(user_timeout_config(10));
    t.conn.send(t.now, b"hello").unwrap();
    assert_eq!(t.out().len(), 1);
    t.now = Instant::ZERO + Duration::from_millis(300);
    t.seg(Flags::ACK, peer(1), ours(6));
    // Nothing outstanding, no keep-alive: no timer at all, an idle
    // connection stays open.
    assert_eq!(t.conn.poll_timeout(), None);
    assert_eq!(t.state(), TcpState::Established);
}

fn last_ack_user_timeout_aborts_unacknowledged_fin<E: Engine + Default>() {
    let mut t = last_ack::<E>(user_timeout_config(4));
    let start = t.now;
    let (at, sent) = fire_until_not(&mut t, TcpState::LastAck);
    assert_eq!(at, start + Duration::from_secs(4));
    assert!(sent.iter().all(|s| s.ctl() == fin_ack()), "{sent:#?}");
    assert_eq!(t.state(), TcpState::Closed);
}

// ====================================================================== SYN-RECEIVED

fn syn_received_ack_enters_established<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(config());
    t.seg(Flags::ACK, peer(1), ours(1));
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Established);
    assert_eq!(t.events(), [ConnEvent::Connected]);
    assert_eq!(t.conn.poll_timeout(), None);
}

fn syn_received_ack_with_data_delivers_it<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(config());
    t.data(Flags::ACK | Flags::PSH, peer(1), ours(1), b"GET /");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(6)));
    assert_eq!(t.state(), TcpState::Established);
    assert_eq!(t.read_all(), b"GET /");
}

fn syn_received_bad_ack_sends_rst<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(config());
    // RFC 9293 §3.10.7.4 SYN-RECEIVED: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>.
    t.seg(Flags::ACK, peer(1), ISS);
    assert_one(&t.out(), Flags::RST, ISS, None);
    t.seg(Flags::ACK, peer(1), ours(9));
    assert_one(&t.out(), Flags::RST, ours(9), None);
    assert_eq!(t.state(), TcpState::SynReceived);
}

fn syn_received_segment_without_ack_is_dropped<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(config());
    t.data(Flags::empty(), peer(1), 0, b"zz");
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::SynReceived);
}

fn syn_received_rst_after_passive_open_returns_to_listen<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(config());
    t.seg(Flags::RST, peer(1), 0);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Listen);
    assert_eq!(t.states(), [TcpState::Listen]);
    // No error for the user: the listener is not affected.
    assert!(t.events().is_empty());
    assert_eq!(t.conn.poll_timeout(), None);
}

fn syn_received_rst_after_active_open_is_refused<E: Engine + Default>() {
    let mut t = syn_received_active::<E>(config());
    t.seg(Flags::RST, peer(1), 0);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(
        t.events(),
        [
            ConnEvent::Error(ConnectionError::ConnectionRefused),
            ConnEvent::Closed
        ]
    );
}

fn syn_received_rst_in_window_sends_challenge_ack<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(config());
    t.seg(Flags::RST, peer(10), 0);
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    t.seg(Flags::RST, peer(1_000_000), 0);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::SynReceived);
}

fn syn_received_syn_after_passive_open_returns_to_listen<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(config());
    // A new SYN inside the window.
    t.seg(Flags::SYN, peer(100), 0);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Listen);
}

fn syn_received_syn_after_active_open_sends_challenge_ack<E: Engine + Default>() {
    let mut t = syn_received_active::<E>(config());
    t.seg(Flags::SYN, peer(100), 0);
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::SynReceived);
}

fn syn_received_retransmitted_syn_gets_challenge_ack<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(config());
    // The peer's SYN again: SEG.SEQ = IRS is before RCV.NXT, unacceptable.
    t.seg(Flags::SYN, PEER_ISS, 0);
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::SynReceived);
}

fn syn_received_close_enters_fin_wait_1<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(config());
    t.conn.shutdown(t.now).unwrap();
    assert_eq!(t.state(), TcpState::FinWait1);
    // The peer's ACK of our SYN and FIN: FIN-WAIT-2.
    let _ = t.out();
    t.seg(Flags::ACK, peer(1), ours(2));
    assert_eq!(t.states(), [TcpState::FinWait1, TcpState::FinWait2]);
}

fn syn_received_abort_sends_rst<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(config());
    t.conn.abort(t.now).unwrap();
    assert_one(&t.out(), Flags::RST, ours(1), None);
    assert_eq!(t.state(), TcpState::Closed);
}

fn syn_received_synack_retransmission_exhausted_times_out<E: Engine + Default>() {
    let cfg = config();
    let retries = cfg.synack_retries;
    let mut t = syn_received_passive::<E>(cfg);
    let mut sent = 1;
    while t.state() == TcpState::SynReceived {
        t.fire_next_timer();
        for s in t.out() {
            assert!(s.is(syn_ack(), ISS, Some(peer(1))), "{s:#?}");
            sent += 1;
        }
    }
    assert_eq!(sent, 1 + retries);
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(
        t.events(),
        [
            ConnEvent::Error(ConnectionError::TimedOut),
            ConnEvent::Closed
        ]
    );
}

// ====================================================================== ESTABLISHED

fn established_data_is_delivered_and_acked<E: Engine + Default>() {
    let mut t = established::<E>(config());
    t.data(Flags::ACK | Flags::PSH, peer(1), ours(1), b"hello");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(6)));
    assert_eq!(t.events(), [ConnEvent::Readable]);
    assert_eq!(t.read_all(), b"hello");
    assert_eq!(t.conn.send(t.now, b"world"), Ok(5));
    let out = t.out();
    assert_eq!(out.len(), 1);
    assert!(out[0].is(Flags::ACK, ours(1), Some(peer(6))));
    assert_eq!(out[0].payload, b"world");
    t.seg(Flags::ACK, peer(6), ours(6));
    assert_eq!(t.conn.tcb().snd_una, SeqNum(ours(6)));
    assert_eq!(t.events(), [ConnEvent::Writable]);
}

fn established_unacceptable_segment_sends_ack<E: Engine + Default>() {
    let mut t = established::<E>(config());
    // Beyond the window (the receive buffer is 256 KiB).
    t.data(Flags::ACK, peer(1_000_000), ours(1), b"far");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    // An old duplicate, entirely before RCV.NXT.
    t.data(Flags::ACK, peer(1).wrapping_sub(3), ours(1), b"old");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.conn.readable(), 0);
    assert_eq!(t.state(), TcpState::Established);
}

fn established_rst_exact_resets_connection<E: Engine + Default>() {
    let mut t = established::<E>(config());
    t.seg(Flags::RST, peer(1), 0);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(
        t.events(),
        [
            ConnEvent::Error(ConnectionError::ConnectionReset),
            ConnEvent::Closed
        ]
    );
    assert_eq!(t.states(), [TcpState::Closed]);
}

fn established_rst_in_window_sends_challenge_ack<E: Engine + Default>() {
    let mut t = established::<E>(config());
    // RFC 5961 §3.2: in the window but not exact: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    t.seg(Flags::RST, peer(1000), 0);
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    t.seg(rst_ack(), peer(2), ours(1));
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::Established);
    assert!(t.events().is_empty());
}

fn established_rst_out_of_window_is_dropped<E: Engine + Default>() {
    let mut t = established::<E>(config());
    t.seg(Flags::RST, peer(1_000_000), 0);
    t.seg(Flags::RST, PEER_ISS, 0);
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Established);
}

fn established_syn_sends_challenge_ack<E: Engine + Default>() {
    let mut t = established::<E>(config());
    // RFC 5961 §4.2: any SYN in a synchronized state, in window or not.
    t.seg(Flags::SYN, peer(1), 0);
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    t.seg(syn_ack(), PEER_ISS, ours(1));
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    t.data(Flags::SYN, peer(5), 0, b"data");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.conn.readable(), 0);
    assert_eq!(t.state(), TcpState::Established);
}

fn established_challenge_acks_are_rate_limited<E: Engine + Default>() {
    let mut t = established::<E>(Config {
        challenge_ack_limit: 2,
        ..config()
    });
    let mut acks = 0;
    for i in 0..4 {
        t.seg(Flags::RST, peer(100 + i), 0);
        acks += t.out().len();
    }
    // RFC 5961 §7: at most `challenge_ack_limit` per second.
    assert_eq!(acks, 2);
    // A plain ACK for an unacceptable segment is not limited.
    t.data(Flags::ACK, peer(1_000_000), ours(1), b"x");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    t.now += Duration::from_secs(1);
    t.seg(Flags::SYN, peer(1), 0);
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
}

fn established_ack_too_new_sends_ack_and_drops<E: Engine + Default>() {
    let mut t = established::<E>(config());
    // RFC 9293 §3.10.7.4: SEG.ACK > SND.NXT: send an ACK, drop the segment (and its text).
    t.data(Flags::ACK, peer(1), ours(500), b"text");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.conn.readable(), 0);
    assert_eq!(t.conn.tcb().snd_una, SeqNum(ours(1)));
}

fn established_ack_too_old_sends_challenge_ack<E: Engine + Default>() {
    let mut t = established::<E>(Config {
        challenge_ack_limit: 1,
        ..config()
    });
    // RFC 5961 §5.2: SEG.ACK < SND.UNA - MAX.SND.WND (65535 here).
    let too_old = ours(1).wrapping_sub(70_000);
    t.data(Flags::ACK, peer(1), too_old, b"text");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.conn.readable(), 0);
    // It is a challenge ACK: the second one within a second is suppressed.
    t.data(Flags::ACK, peer(1), too_old, b"text");
    assert_none(&t.out());
    // An old ACK within MAX.SND.WND is fine: the text is taken.
    t.data(Flags::ACK, peer(1), ours(1).wrapping_sub(60_000), b"text");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(5)));
}

fn established_segment_without_ack_is_dropped<E: Engine + Default>() {
    let mut t = established::<E>(config());
    t.data(Flags::PSH, peer(1), 0, b"noack");
    t.seg(Flags::FIN, peer(1), 0);
    assert_none(&t.out());
    assert_eq!(t.conn.readable(), 0);
    assert_eq!(t.state(), TcpState::Established);
}

fn established_paws_old_timestamp_is_dropped<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    let mut h = t.hdr(syn_ack(), PEER_ISS, ours(1));
    h.options.timestamps = Some(Timestamps {
        tsval: 5000,
        tsecr: 1,
    });
    t.inject(h, &[]);
    assert_eq!(t.out().len(), 1);
    assert!(t.conn.tcb().ts_enabled);
    // RFC 7323 §5.3 R1: SEG.TSval < TS.Recent: an old duplicate, ACK and drop.
    let mut old = t.hdr(Flags::ACK, peer(1), ours(1));
    old.options.timestamps = Some(Timestamps {
        tsval: 4999,
        tsecr: 1,
    });
    t.inject(old, b"stale");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.conn.readable(), 0);
    let mut fresh = old;
    fresh.options.timestamps = Some(Timestamps {
        tsval: 5001,
        tsecr: 1,
    });
    t.inject(fresh, b"fresh");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(6)));
    assert_eq!(t.read_all(), b"fresh");
}

fn established_out_of_order_fin_is_processed_when_gap_fills<E: Engine + Default>() {
    let mut t = established::<E>(config());
    t.data(fin_ack(), peer(6), ours(1), b"world");
    // Out of order: a duplicate ACK, no state change.
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::Established);
    // The gap fills: reassembly reaches the FIN (RFC 9293 §3.10.7.4 eighth).
    t.data(Flags::ACK, peer(1), ours(1), b"hello");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(12)));
    assert_eq!(t.state(), TcpState::CloseWait);
    assert_eq!(t.read_all(), b"helloworld");
    assert_eq!(t.conn.recv(t.now, &mut [0u8; 4]), Ok(0));
}

fn established_fin_enters_close_wait<E: Engine + Default>() {
    let mut t = established::<E>(config());
    t.seg(fin_ack(), peer(1), ours(1));
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(2)));
    assert_eq!(t.states(), [TcpState::CloseWait]);
    assert_eq!(t.events(), [ConnEvent::PeerFin]);
    assert_eq!(t.conn.recv(t.now, &mut [0u8; 4]), Ok(0));
}

fn established_close_enters_fin_wait_1<E: Engine + Default>() {
    let mut t = established::<E>(config());
    assert_eq!(t.conn.send(t.now, b"last"), Ok(4));
    t.conn.shutdown(t.now).unwrap();
    assert_eq!(t.state(), TcpState::FinWait1);
    // The FIN follows the queued data.
    let out = t.out();
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].is(fin_ack(), ours(1), Some(peer(1))));
    assert_eq!(out[0].payload, b"last");
}

fn established_abort_sends_rst<E: Engine + Default>() {
    let mut t = established::<E>(config());
    assert_eq!(t.conn.send(t.now, b"in air"), Ok(6));
    assert_eq!(t.out().len(), 1);
    t.conn.abort(t.now).unwrap();
    // <SEQ=SND.NXT><CTL=RST>.
    assert_one(&t.out(), Flags::RST, ours(7), None);
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(t.events(), [ConnEvent::Closed]);
    assert_eq!(t.conn.poll_timeout(), None);
}

fn established_open_fails_connection_exists<E: Engine + Default>() {
    let mut t = established::<E>(config());
    assert_eq!(
        t.conn.connect(t.now),
        Err(ConnectionError::ConnectionExists)
    );
    assert_eq!(t.conn.listen(t.now), Err(ConnectionError::ConnectionExists));
    assert_eq!(t.state(), TcpState::Established);
}

fn established_keepalive_probes_exhausted_times_out<E: Engine + Default>() {
    let keepalive = KeepaliveConfig {
        idle: Duration::from_secs(10),
        interval: Duration::from_secs(2),
        probes: 3,
    };
    let mut t = established::<E>(Config {
        keepalive: Some(keepalive),
        ..config()
    });
    let mut probes = 0;
    while t.state() == TcpState::Established {
        t.fire_next_timer();
        for s in t.out() {
            // RFC 1122 §4.2.3.6: <SEQ=SND.NXT-1><ACK=RCV.NXT>.
            assert!(s.is(Flags::ACK, ours(0), Some(peer(1))), "{s:#?}");
            probes += 1;
        }
    }
    assert_eq!(probes, 3);
    assert_eq!(
        t.events(),
        [
            ConnEvent::Error(ConnectionError::TimedOut),
            ConnEvent::Closed
        ]
    );
}

// ====================================================================== FIN-WAIT-1, FIN-WAIT-2

fn fin_wait_1_ack_of_fin_enters_fin_wait_2<E: Engine + Default>() {
    let mut t = fin_wait_1::<E>(config());
    // An ACK short of our FIN changes nothing.
    t.seg(Flags::ACK, peer(1), ours(1));
    assert_eq!(t.state(), TcpState::FinWait1);
    t.seg(Flags::ACK, peer(1), ours(2));
    assert_none(&t.out());
    assert_eq!(t.states(), [TcpState::FinWait2]);
    assert_eq!(
        t.conn.poll_timeout(),
        None,
        "FIN-WAIT-2 waits for the peer without a timer"
    );
}

fn fin_wait_1_fin_enters_closing<E: Engine + Default>() {
    let mut t = fin_wait_1::<E>(config());
    t.seg(fin_ack(), peer(1), ours(1));
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(2)));
    assert_eq!(t.states(), [TcpState::Closing]);
    assert_eq!(t.events(), [ConnEvent::PeerFin]);
}

fn fin_wait_1_fin_with_ack_of_fin_enters_time_wait<E: Engine + Default>() {
    let mut t = fin_wait_1::<E>(config());
    // "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT".
    t.seg(fin_ack(), peer(1), ours(2));
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(2)));
    assert_eq!(t.states(), [TcpState::FinWait2, TcpState::TimeWait]);
    assert_eq!(t.conn.poll_timeout(), Some(t.now + MSL * 2));
}

fn fin_wait_1_data_is_delivered<E: Engine + Default>() {
    let mut t = fin_wait_1::<E>(config());
    // Half-close: the peer may go on sending.
    t.data(Flags::ACK, peer(1), ours(1), b"more");
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(5)));
    assert_eq!(t.read_all(), b"more");
    assert_eq!(t.state(), TcpState::FinWait1);
}

fn fin_wait_1_send_fails_connection_closing<E: Engine + Default>() {
    let mut t = fin_wait_1::<E>(config());
    assert_eq!(
        t.conn.send(t.now, b"x"),
        Err(ConnectionError::ConnectionClosing)
    );
    assert_none(&t.out());
}

fn fin_wait_1_close_again_sends_nothing<E: Engine + Default>() {
    let mut t = fin_wait_1::<E>(config());
    assert_eq!(t.conn.shutdown(t.now), Ok(()));
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::FinWait1);
}

fn fin_wait_1_rst_in_window_sends_challenge_ack<E: Engine + Default>() {
    let mut t = fin_wait_1::<E>(config());
    t.seg(Flags::RST, peer(50), 0);
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(1)));
    t.seg(Flags::RST, peer(1), 0);
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(
        t.events(),
        [
            ConnEvent::Error(ConnectionError::ConnectionReset),
            ConnEvent::Closed
        ]
    );
}

fn fin_wait_1_fin_retransmission_exhausted_times_out<E: Engine + Default>() {
    let mut t = fin_wait_1::<E>(Config {
        data_retries: 3,
        ..config()
    });
    let mut fins = 1;
    while t.state() == TcpState::FinWait1 {
        t.fire_next_timer();
        for s in t.out() {
            assert!(s.is(fin_ack(), ours(1), Some(peer(1))), "{s:#?}");
            fins += 1;
        }
    }
    assert_eq!(fins, 1 + 3);
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(
        t.events(),
        [
            ConnEvent::Error(ConnectionError::TimedOut),
            ConnEvent::Closed
        ]
    );
}

fn fin_wait_2_fin_enters_time_wait<E: Engine + Default>() {
    let mut t = fin_wait_2::<E>(config());
    t.data(fin_ack(), peer(1), ours(2), b"tail");
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(6)));
    assert_eq!(t.states(), [TcpState::TimeWait]);
    assert_eq!(t.events(), [ConnEvent::Readable, ConnEvent::PeerFin]);
    assert_eq!(t.read_all(), b"tail");
    assert_eq!(t.conn.poll_timeout(), Some(t.now + MSL * 2));
}

fn fin_wait_2_close_is_ok<E: Engine + Default>() {
    let mut t = fin_wait_2::<E>(config());
    assert_eq!(t.conn.shutdown(t.now), Ok(()));
    assert_eq!(
        t.conn.send(t.now, b"x"),
        Err(ConnectionError::ConnectionClosing)
    );
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::FinWait2);
}

// ====================================================================== CLOSE-WAIT, LAST-ACK, CLOSING

fn close_wait_send_is_transmitted<E: Engine + Default>() {
    let mut t = close_wait::<E>(config());
    assert_eq!(t.conn.send(t.now, b"reply"), Ok(5));
    let out = t.out();
    assert_eq!(out.len(), 1);
    assert!(out[0].is(Flags::ACK, ours(1), Some(peer(2))));
    assert_eq!(out[0].payload, b"reply");
}

fn close_wait_retransmitted_fin_is_acked<E: Engine + Default>() {
    let mut t = close_wait::<E>(config());
    t.seg(fin_ack(), peer(1), ours(1));
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(2)));
    assert_eq!(t.state(), TcpState::CloseWait);
    assert!(t.events().is_empty(), "the FIN is not reported twice");
}

fn close_wait_close_enters_last_ack<E: Engine + Default>() {
    let mut t = close_wait::<E>(config());
    t.conn.shutdown(t.now).unwrap();
    assert_one(&t.out(), fin_ack(), ours(1), Some(peer(2)));
    assert_eq!(t.states(), [TcpState::LastAck]);
}

fn last_ack_ack_of_fin_closes<E: Engine + Default>() {
    let mut t = last_ack::<E>(config());
    t.seg(Flags::ACK, peer(2), ours(1));
    assert_eq!(t.state(), TcpState::LastAck, "an ACK short of our FIN");
    t.seg(Flags::ACK, peer(2), ours(2));
    assert_none(&t.out());
    assert_eq!(t.states(), [TcpState::Closed]);
    assert_eq!(t.events(), [ConnEvent::Closed]);
    assert_eq!(t.conn.poll_timeout(), None);
    assert!(t.conn.is_finished());
}

fn last_ack_calls_fail_connection_closing<E: Engine + Default>() {
    let mut t = last_ack::<E>(config());
    assert_eq!(
        t.conn.send(t.now, b"x"),
        Err(ConnectionError::ConnectionClosing)
    );
    assert_eq!(
        t.conn.shutdown(t.now),
        Err(ConnectionError::ConnectionClosing)
    );
    t.conn.abort(t.now).unwrap();
    // RFC 9293 §3.10.5 LAST-ACK: "Respond with ok and delete the TCB": no RST.
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Closed);
}

fn last_ack_fin_retransmission_reaches_peer<E: Engine + Default>() {
    let mut t = last_ack::<E>(config());
    let sent_at = t.now;
    t.fire_next_timer();
    assert_eq!(t.now - sent_at, Duration::from_secs(1));
    assert_one(&t.out(), fin_ack(), ours(1), Some(peer(2)));
    t.seg(Flags::ACK, peer(2), ours(2));
    assert_eq!(t.state(), TcpState::Closed);
}

fn closing_ack_of_fin_enters_time_wait<E: Engine + Default>() {
    let mut t = closing::<E>(config());
    t.seg(Flags::ACK, peer(2), ours(2));
    assert_none(&t.out());
    assert_eq!(t.states(), [TcpState::TimeWait]);
    assert_eq!(t.conn.poll_timeout(), Some(t.now + MSL * 2));
}

fn closing_abort_closes_without_rst<E: Engine + Default>() {
    let mut t = closing::<E>(config());
    assert_eq!(
        t.conn.shutdown(t.now),
        Err(ConnectionError::ConnectionClosing)
    );
    t.conn.abort(t.now).unwrap();
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Closed);
}

// ====================================================================== TIME-WAIT

fn time_wait_2msl_expiry_closes<E: Engine + Default>() {
    let mut t = time_wait::<E>(config());
    let entered = t.now;
    t.fire_next_timer();
    assert_eq!(t.now - entered, MSL * 2);
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(t.events(), [ConnEvent::Closed]);
    let traces: Vec<_> = t.conn.drain_traces().collect();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].previous_tcp_state, TcpState::TimeWait);
    assert_eq!(traces[0].origin, TraceOrigin::Timer);
    assert!(t.conn.is_finished());
}

fn time_wait_retransmitted_fin_is_acked_and_restarts_2msl<E: Engine + Default>() {
    let mut t = time_wait::<E>(config());
    t.now += Duration::from_secs(10);
    // The peer did not get our ACK and sends its FIN again.
    t.seg(fin_ack(), peer(1), ours(2));
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(2)));
    assert_eq!(
        t.conn.poll_timeout(),
        Some(t.now + MSL * 2),
        "2MSL restarted"
    );
    assert_eq!(t.state(), TcpState::TimeWait);
}

fn time_wait_rst_is_ignored<E: Engine + Default>() {
    let mut t = time_wait::<E>(config());
    // RFC 1337: neither an exact nor an in-window RST ends TIME-WAIT.
    t.seg(Flags::RST, peer(2), 0);
    t.seg(rst_ack(), peer(20), ours(2));
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::TimeWait);
    assert!(t.events().is_empty());
}

fn time_wait_syn_sends_challenge_ack<E: Engine + Default>() {
    let mut t = time_wait::<E>(config());
    t.seg(Flags::SYN, peer(1000), 0);
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(2)));
    assert_eq!(t.state(), TcpState::TimeWait);
}

fn time_wait_calls_fail_connection_closing<E: Engine + Default>() {
    let mut t = time_wait::<E>(config());
    assert_eq!(
        t.conn.send(t.now, b"x"),
        Err(ConnectionError::ConnectionClosing)
    );
    assert_eq!(
        t.conn.shutdown(t.now),
        Err(ConnectionError::ConnectionClosing)
    );
    assert_eq!(
        t.conn.connect(t.now),
        Err(ConnectionError::ConnectionExists)
    );
    t.conn.abort(t.now).unwrap();
    assert_none(&t.out());
    assert_eq!(t.state(), TcpState::Closed);
}

// ====================================================================== FreeBSD-corpus behaviours

/// RFC 5961 off (FreeBSD `insecure_rst=1`, `insecure_syn=1`).
fn rfc793_config() -> Config {
    Config {
        rfc5961_rst: false,
        rfc5961_syn: false,
        ..config()
    }
}

// RFC 9293 §3.10.7.4 fourth check without RFC 5961: an in-window SYN resets
// the connection; the reset is the connection's own, <SEQ=SND.NXT>
// <ACK=RCV.NXT><CTL=RST,ACK> (RFC 9293 §3.1: the ACK is always sent once
// the connection is synchronized), not a reply built from the SYN.
fn established_syn_in_window_without_rfc5961_sends_rst_ack<E: Engine + Default>() {
    let mut t = established::<E>(rfc793_config());
    t.seg(Flags::SYN, peer(100), 0);
    assert_one(&t.out(), rst_ack(), ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(
        t.events(),
        [
            ConnEvent::Error(ConnectionError::ConnectionReset),
            ConnEvent::Closed
        ]
    );
}

// The same in TIME-WAIT, for a SYN,ACK (classified as a SYN there).
fn time_wait_syn_ack_in_window_without_rfc5961_sends_rst_ack<E: Engine + Default>() {
    let mut t = time_wait::<E>(rfc793_config());
    t.seg(syn_ack(), peer(2), ours(2));
    assert_one(&t.out(), rst_ack(), ours(2), Some(peer(2)));
    assert_eq!(t.state(), TcpState::Closed);
}

// RFC 9293 §3.10.7.4 (RFC 793 text): "If the SYN is not in the window this
// step would not be reached and an ACK would have been sent in the first
// step". A SYN+FIN at RCV.NXT-1 has its FIN in the window but not its SYN.
fn time_wait_syn_fin_left_of_window_without_rfc5961_sends_ack<E: Engine + Default>() {
    let mut t = time_wait::<E>(rfc793_config());
    t.seg(Flags::SYN | Flags::FIN, peer(1), 0);
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(2)));
    assert_eq!(t.state(), TcpState::TimeWait);
}

// The SYN of a retransmitted SYN with text is old, even though its text
// reaches into the window: not a new SYN, so SYN-RECEIVED stays.
fn syn_received_retransmitted_syn_with_text_gets_ack<E: Engine + Default>() {
    let mut t = syn_received_passive::<E>(rfc793_config());
    t.data(Flags::SYN, PEER_ISS, 0, b"hello");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::SynReceived);
}

// RFC 9293 §3.10.7.4 TIME-WAIT fifth check: "Acknowledge it, and restart
// the 2 MSL timeout" for anything acceptable but a bare duplicate ACK.
fn time_wait_in_window_ack_is_acked_and_restarts_2msl<E: Engine + Default>() {
    let mut t = time_wait::<E>(config());
    t.now += Duration::from_secs(10);
    t.seg(Flags::ACK, peer(500), ours(2));
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(2)));
    assert_eq!(t.conn.poll_timeout(), Some(t.now + MSL * 2));
    assert_eq!(t.state(), TcpState::TimeWait);
}

// A bare ACK at SEG.SEQ = RCV.NXT, SEG.ACK = SND.NXT tells nothing new:
// answering it would let two ends in TIME-WAIT exchange ACKs forever.
fn time_wait_duplicate_ack_is_not_acked<E: Engine + Default>() {
    let mut t = time_wait::<E>(config());
    let deadline = t.conn.poll_timeout();
    t.now += Duration::from_secs(10);
    t.seg(Flags::ACK, peer(2), ours(2));
    assert_none(&t.out());
    assert_eq!(t.conn.poll_timeout(), deadline);
}

// A FIN,ACK at RCV.NXT (the peer's FIN was already taken) is acknowledged.
fn time_wait_fin_at_rcv_nxt_is_acked<E: Engine + Default>() {
    let mut t = time_wait::<E>(config());
    t.seg(fin_ack(), peer(2), ours(2));
    assert_one(&t.out(), Flags::ACK, ours(2), Some(peer(2)));
    assert_eq!(t.state(), TcpState::TimeWait);
}

// RFC 9293 §3.10.7.3: SYN without ACK in SYN-SENT: "If there are other
// controls or text in the segment, queue them for processing after the
// ESTABLISHED state has been reached": the FIN is not taken now.
fn syn_sent_syn_with_fin_enters_syn_received_without_the_fin<E: Engine + Default>() {
    let mut t = syn_sent::<E>(config());
    t.seg(Flags::SYN | Flags::FIN, PEER_ISS, 0);
    assert_one(&t.out(), syn_ack(), ISS, Some(peer(1)));
    assert_eq!(t.states(), [TcpState::SynSent, TcpState::SynReceived]);
    // The peer sends its FIN again with the ACK that completes the handshake.
    t.seg(fin_ack(), peer(1), ours(1));
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(2)));
    assert_eq!(t.states(), [TcpState::Established, TcpState::CloseWait]);
}

// RFC 9293 §3.10.7.4: only the new part of a segment that straddles RCV.NXT
// is processed; the old part shows a retransmission, acknowledged at once
// even with delayed ACKs on (RFC 2883 §4, RFC 5681 §4.2).
fn established_partly_old_segment_is_acked_at_once<E: Engine + Default>() {
    let mut t = established::<E>(Config {
        delayed_ack: Some(Duration::from_millis(100)),
        ..config()
    });
    t.data(Flags::ACK, peer(1), ours(1), b"0123456789");
    t.out();
    t.data(Flags::ACK, peer(6), ours(1), b"56789abcde");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(16)));
}

// RFC 9293 §3.8.6.2.2: a read that moves the right window edge by two
// segments beyond the edge last advertised is announced.
fn established_read_opening_the_window_sends_update<E: Engine + Default>() {
    // A buffer small enough for the data to shrink the advertised window.
    let mut t = established::<E>(Config {
        recv_buffer: 4096,
        ..config()
    });
    for i in 0..4u32 {
        t.data(Flags::ACK, peer(1 + 500 * i), ours(1), &[7u8; 500]);
    }
    assert!(!t.out().is_empty());
    assert_eq!(t.read_all().len(), 2000);
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(2001)));
}

// RFC 9293 §3.10.7.4: "segments with higher beginning sequence numbers
// SHOULD be held for later processing", a bare FIN included; it is taken
// (CLOSE-WAIT) once the text before it has arrived.
fn established_out_of_order_fin_is_held<E: Engine + Default>() {
    let mut t = established::<E>(config());
    t.data(Flags::ACK, peer(6), ours(1), b"world");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    t.seg(fin_ack(), peer(11), ours(1));
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(1)));
    assert_eq!(t.state(), TcpState::Established);
    t.data(Flags::ACK, peer(1), ours(1), b"hello");
    assert_one(&t.out(), Flags::ACK, ours(1), Some(peer(12)));
    assert_eq!(t.states(), [TcpState::CloseWait]);
    assert_eq!(t.read_all(), b"helloworld");
}

// `Config::rto_slop` (FreeBSD `rexmit_slop`) is added to every
// retransmission timeout after the initial one (RFC 6298 §5.5 backoff).
fn syn_sent_retransmission_backoff_adds_rto_slop<E: Engine + Default>() {
    let mut t = syn_sent::<E>(Config {
        rto_slop: Duration::from_millis(200),
        ..config()
    });
    let first = t.fire_next_timer();
    assert_eq!(first, Instant::ZERO + Duration::from_secs(1));
    assert_one(&t.out(), Flags::SYN, ISS, None);
    let second = t.fire_next_timer();
    assert_eq!(second - first, Duration::from_millis(2200));
}

// `Config::accept_buffer_space`: RCV.WND for the acceptability tests is the
// free buffer, beyond the 65535 a window field without scaling carries.
fn established_accept_buffer_space_judges_rst_against_the_buffer<E: Engine + Default>() {
    for (accept, challenged) in [(true, true), (false, false)] {
        let mut t = established::<E>(Config {
            recv_buffer: 65_700,
            window_scaling: false,
            accept_buffer_space: accept,
            ..config()
        });
        // RCV.NXT + 65699: inside the buffer, outside the advertised window.
        t.seg(Flags::RST, peer(1 + 65_699), 0);
        let out = t.out();
        if challenged {
            assert_one(&out, Flags::ACK, ours(1), Some(peer(1)));
        } else {
            assert_none(&out);
        }
        assert_eq!(t.state(), TcpState::Established);
    }
}

// `Config::connect_timeout` (FreeBSD `TCP_KEEPINIT`): the open attempt is
// given up after that long even though SYN retries remain (RFC 1122
// §4.2.3.5: the application may give up sooner than R2).
fn syn_sent_connect_timeout_gives_up_before_syn_retries<E: Engine + Default>() {
    let mut t = syn_sent::<E>(Config {
        connect_timeout: Some(Duration::from_secs(5)),
        ..config()
    });
    let mut retransmissions = 0;
    while t.state() == TcpState::SynSent {
        t.fire_next_timer();
        retransmissions += t.out().len();
    }
    assert_eq!(t.now, Instant::ZERO + Duration::from_secs(5));
    assert_eq!(retransmissions, 2, "at 1 s and 3 s");
    assert_timed_out(&mut t);
}

// The connect limit ends with the handshake: an established connection
// with no user timeout has no user timer left.
fn established_connect_timeout_no_longer_applies<E: Engine + Default>() {
    let t = established::<E>(Config {
        connect_timeout: Some(Duration::from_secs(5)),
        ..config()
    });
    assert_eq!(t.conn.poll_timeout(), None);
    assert_eq!(t.state(), TcpState::Established);
}

// `Config::syn_drop_options_after`: from the third retransmission on, the
// SYN offers only the MSS option (RFC 7323 §1.3, RFC 2018 §2: each is
// optional); a SYN,ACK that offers them back does not turn them on.
fn syn_sent_retransmissions_drop_options_after_the_limit<E: Engine + Default>() {
    let mut t = Lone::<E>::new(Config {
        syn_drop_options_after: Some(3),
        ..config()
    });
    t.conn.connect(t.now).unwrap();
    let first = t.out();
    assert!(first[0].header.options.timestamps.is_some());
    for n in 1..=3 {
        t.fire_next_timer();
        let syn = t.out();
        let opts = &syn[0].header.options;
        assert_eq!(opts.timestamps.is_some(), n < 3, "retransmission {n}");
        assert_eq!(opts.window_scale.is_some(), n < 3, "retransmission {n}");
        assert_eq!(opts.sack_permitted, n < 3, "retransmission {n}");
        assert_eq!(opts.mss, Some(1460));
    }
    let mut h = t.hdr(syn_ack(), PEER_ISS, ours(1));
    h.options.window_scale = Some(7);
    h.options.sack_permitted = true;
    t.inject(h, &[]);
    let ack = t.out();
    assert_one(&ack, Flags::ACK, ours(1), Some(peer(1)));
    assert!(!t.conn.tcb().ws_enabled && !t.conn.tcb().sack_enabled);
}

// ====================================================================== two connections

fn active_and_passive_open_establish<E: Engine + Default>() {
    let mut p = Pair::<E>::connected(Config::default());
    assert_eq!(
        states_of(&mut p.a),
        [TcpState::SynSent, TcpState::Established]
    );
    assert_eq!(
        states_of(&mut p.b),
        [
            TcpState::Listen,
            TcpState::SynReceived,
            TcpState::Established
        ]
    );
    assert_eq!(events_of(&mut p.a), [ConnEvent::Connected]);
    assert_eq!(events_of(&mut p.b), [ConnEvent::Connected]);
    let a: Vec<Flags> = p.sent_by(Side::A).iter().map(|s| s.ctl()).collect();
    let b: Vec<Flags> = p.sent_by(Side::B).iter().map(|s| s.ctl()).collect();
    assert_eq!(a, [Flags::SYN, Flags::ACK]);
    assert_eq!(b, [syn_ack()]);
    // Window scaling, SACK and timestamps were offered both ways.
    assert!(p.a.tcb().ts_enabled && p.b.tcb().ts_enabled);
    assert!(p.a.tcb().sack_enabled && p.b.tcb().ws_enabled);
}

fn simultaneous_open_establishes_both<E: Engine + Default>() {
    let mut p = Pair::<E>::new(config());
    p.a.connect(p.now).unwrap();
    p.b.connect(p.now).unwrap();
    p.exchange();
    assert_eq!(
        (p.a.state(), p.b.state()),
        (TcpState::Established, TcpState::Established)
    );
    for side in [&mut p.a, &mut p.b] {
        assert_eq!(
            states_of(side),
            [
                TcpState::SynSent,
                TcpState::SynReceived,
                TcpState::Established
            ]
        );
        assert_eq!(events_of(side), [ConnEvent::Connected]);
    }
    // Data flows both ways afterwards.
    p.a.send(p.now, b"ping").unwrap();
    p.b.send(p.now, b"pong").unwrap();
    p.exchange();
    let mut buf = [0u8; 8];
    assert_eq!(p.b.recv(p.now, &mut buf), Ok(4));
    assert_eq!(&buf[..4], b"ping");
    assert_eq!(p.a.recv(p.now, &mut buf), Ok(4));
    assert_eq!(&buf[..4], b"pong");
}

fn established_bulk_transfer_arrives_intact<E: Engine + Default>() {
    let mut p = Pair::<E>::connected(Config::default());
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut offset = 0;
    let mut received = Vec::new();
    let mut buf = vec![0u8; 65536];
    for _ in 0..10_000 {
        if offset < data.len() {
            offset += p.a.send(p.now, &data[offset..]).unwrap_or(0);
        }
        p.exchange();
        loop {
            match p.b.recv(p.now, &mut buf) {
                Ok(n) if n > 0 => received.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        if received.len() == data.len() {
            break;
        }
        // Let the delayed-ACK timer run.
        if let Some(at) = [p.a.poll_timeout(), p.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
        {
            p.now = p.now.max(at);
            p.a.handle_timeout(p.now);
            p.b.handle_timeout(p.now);
        }
    }
    assert!(
        received == data,
        "received {} of {} bytes",
        received.len(),
        data.len()
    );
}

fn orderly_close_passes_every_closing_state<E: Engine + Default>() {
    let mut p = Pair::<E>::connected(config());
    states_of(&mut p.a);
    states_of(&mut p.b);
    p.a.shutdown(p.now).unwrap();
    p.exchange();
    assert_eq!(
        (p.a.state(), p.b.state()),
        (TcpState::FinWait2, TcpState::CloseWait)
    );
    let mut buf = [0u8; 4];
    assert_eq!(
        p.b.recv(p.now, &mut buf),
        Ok(0),
        "B sees the end of A's stream"
    );
    p.b.send(p.now, b"last").unwrap();
    p.b.shutdown(p.now).unwrap();
    p.exchange();
    assert_eq!(
        (p.a.state(), p.b.state()),
        (TcpState::TimeWait, TcpState::Closed)
    );
    assert_eq!(p.a.recv(p.now, &mut buf), Ok(4));
    let closed_at = p.now;
    p.run_until(|p| p.a.state() == TcpState::Closed);
    assert_eq!(p.now - closed_at, MSL * 2);
    assert_eq!(
        states_of(&mut p.a),
        [
            TcpState::FinWait1,
            TcpState::FinWait2,
            TcpState::TimeWait,
            TcpState::Closed
        ]
    );
    assert_eq!(
        states_of(&mut p.b),
        [TcpState::CloseWait, TcpState::LastAck, TcpState::Closed]
    );
    assert!(p.a.is_finished() && p.b.is_finished());
}

fn simultaneous_close_goes_through_closing<E: Engine + Default>() {
    let mut p = Pair::<E>::connected(config());
    states_of(&mut p.a);
    states_of(&mut p.b);
    p.a.shutdown(p.now).unwrap();
    p.b.shutdown(p.now).unwrap();
    p.exchange();
    assert_eq!(
        (p.a.state(), p.b.state()),
        (TcpState::TimeWait, TcpState::TimeWait)
    );
    for side in [&mut p.a, &mut p.b] {
        assert_eq!(
            states_of(side),
            [TcpState::FinWait1, TcpState::Closing, TcpState::TimeWait]
        );
    }
    p.run_until(|p| p.a.state() == TcpState::Closed && p.b.state() == TcpState::Closed);
}

fn last_ack_lost_ack_is_recovered_from_time_wait<E: Engine + Default>() {
    let mut p = Pair::<E>::connected(config());
    p.a.shutdown(p.now).unwrap();
    p.exchange();
    p.b.shutdown(p.now).unwrap();
    // A's ACK of B's FIN is lost, once.
    let mut dropped = false;
    p.drop_rule = Some(Box::new(move |side, s| {
        let lose = !dropped && side == Side::A && s.ctl() == Flags::ACK;
        dropped |= lose;
        lose
    }));
    p.exchange();
    assert_eq!(
        (p.a.state(), p.b.state()),
        (TcpState::TimeWait, TcpState::LastAck)
    );
    let time_wait_until = p.a.poll_timeout().unwrap();
    // B retransmits its FIN after the RTO; A acknowledges it from
    // TIME-WAIT and restarts the 2MSL timer.
    p.run_until(|p| p.b.state() == TcpState::Closed);
    let retransmitted_at = p.now;
    assert!(retransmitted_at > Instant::ZERO);
    assert_eq!(p.a.state(), TcpState::TimeWait);
    assert_eq!(p.a.poll_timeout(), Some(retransmitted_at + MSL * 2));
    assert!(p.a.poll_timeout().unwrap() > time_wait_until);
    let b_fins = p
        .sent_by(Side::B)
        .iter()
        .filter(|s| s.ctl() == fin_ack())
        .count();
    assert_eq!(b_fins, 2);
    p.run_until(|p| p.a.state() == TcpState::Closed);
    assert_eq!(p.now, retransmitted_at + MSL * 2);
}

fn established_peer_abort_resets_connection<E: Engine + Default>() {
    let mut p = Pair::<E>::connected(config());
    events_of(&mut p.b);
    p.a.abort(p.now).unwrap();
    p.exchange();
    assert_eq!(
        (p.a.state(), p.b.state()),
        (TcpState::Closed, TcpState::Closed)
    );
    assert_eq!(
        events_of(&mut p.b),
        [
            ConnEvent::Error(ConnectionError::ConnectionReset),
            ConnEvent::Closed
        ]
    );
}

fn syn_sent_to_closed_port_is_refused<E: Engine + Default>() {
    // B never opens: it answers A's SYN with <SEQ=0><ACK=ISS+1><CTL=RST,ACK>.
    let mut p = Pair::<E>::new(config());
    p.a.connect(p.now).unwrap();
    p.exchange();
    assert_eq!(p.a.state(), TcpState::Closed);
    assert_eq!(
        events_of(&mut p.a),
        [
            ConnEvent::Error(ConnectionError::ConnectionRefused),
            ConnEvent::Closed
        ]
    );
    let b = p.sent_by(Side::B);
    assert_eq!(b.len(), 1);
    assert!(b[0].is(rst_ack(), 0, Some(A_ISS.wrapping_add(1))));
}

fn transitions_are_traced_by_origin<E: Engine + Default>() {
    let mut p = Pair::<E>::connected(config());
    p.a.shutdown(p.now).unwrap();
    p.exchange();
    p.b.shutdown(p.now).unwrap();
    p.run_until(|p| p.a.state() == TcpState::Closed);
    let kind = E::default().kind();
    let traces: Vec<_> = p.a.drain_traces().collect();
    let origins: Vec<_> = traces
        .iter()
        .map(|t| (t.previous_tcp_state, t.tcp_state, t.origin))
        .collect();
    assert_eq!(
        origins,
        [
            (TcpState::Closed, TcpState::SynSent, TraceOrigin::App),
            (
                TcpState::SynSent,
                TcpState::Established,
                TraceOrigin::Segment
            ),
            (TcpState::Established, TcpState::FinWait1, TraceOrigin::App),
            (TcpState::FinWait1, TcpState::FinWait2, TraceOrigin::Segment),
            (TcpState::FinWait2, TcpState::TimeWait, TraceOrigin::Segment),
            (TcpState::TimeWait, TcpState::Closed, TraceOrigin::Timer),
        ]
    );
    for t in &traces {
        assert_eq!(t.engine, kind);
        assert!(!t.event.is_empty());
        assert_eq!((t.local_port, t.foreign_port), (40000, 80));
    }
}

// ====================================================================== defects found while writing this suite (now fixed)

fn closed_reopen_after_abort_sends_fresh_syn<E: Engine + Default>() {
    let mut t = established::<E>(config());
    t.conn.abort(t.now).unwrap();
    assert_one(&t.out(), Flags::RST, ours(1), None);
    assert_eq!(t.state(), TcpState::Closed);
    // RFC 9293 §3.10.1: OPEN in CLOSED creates a new TCB; the new
    // incarnation must start from a bare SYN, not from the old one's
    // variables, and from a new ISS (RFC 9293 §3.4.1, RFC 6528).
    t.conn.connect(t.now).unwrap();
    assert_eq!(t.state(), TcpState::SynSent);
    let out = t.out();
    assert_eq!(out.len(), 1, "expected one SYN, got {out:#?}");
    assert_eq!(out[0].header.flags, Flags::SYN, "a bare SYN: {out:#?}");
    assert_ne!(
        out[0].header.seq.0, ISS,
        "the new incarnation must not reuse the ISS"
    );
    assert!(
        !t.conn.tcb().fin_received && t.conn.tcb().fin_seq().is_none() && !t.conn.tcb().irs_known
    );
}

fn established_answered_keepalives_keep_connection_open<E: Engine + Default>() {
    let keepalive = KeepaliveConfig {
        idle: Duration::from_secs(10),
        interval: Duration::from_secs(2),
        probes: 3,
    };
    let mut p = Pair::<E>::connected(Config {
        keepalive: Some(keepalive),
        ..config()
    });
    let until = Instant::ZERO + Duration::from_secs(60);
    p.run_until(|p| p.now >= until || p.a.state() != TcpState::Established);
    // RFC 1122 §4.2.3.6: the peer answers every probe, so the connection is alive.
    let probes_answered = p
        .sent_by(Side::B)
        .iter()
        .filter(|s| s.ctl() == Flags::ACK)
        .count();
    assert!(probes_answered > 3, "B answered {probes_answered} probes");
    assert_eq!(p.a.state(), TcpState::Established);
}

fn time_wait_stops_keepalive_timer<E: Engine + Default>() {
    let keepalive = KeepaliveConfig {
        idle: Duration::from_secs(10),
        interval: Duration::from_secs(2),
        probes: 3,
    };
    let mut t = time_wait::<E>(Config {
        keepalive: Some(keepalive),
        ..config()
    });
    let entered = t.now;
    while t.state() == TcpState::TimeWait {
        t.fire_next_timer();
        // RFC 9293 §3.10.7.4 eighth check, FIN-WAIT-2: "Start the time-wait
        // timer, turn off the other timers": nothing is sent from TIME-WAIT.
        assert_none(&t.out());
    }
    assert_eq!(t.now - entered, MSL * 2);
    assert_eq!(t.events(), [ConnEvent::Closed]);
}

// ====================================================================== instantiation

/// Instantiates the listed scenarios as `#[test]`s of module `$module` for
/// engine type `$engine`. Attributes before a name (`#[ignore = "..."]`)
/// are kept.
macro_rules! engine_suite {
    ($module:ident, $engine:ty; $($(#[$meta:meta])* $test:ident),* $(,)?) => {
        mod $module {
            $(
                $(#[$meta])*
                #[test]
                fn $test() {
                    super::$test::<$engine>();
                }
            )*
        }
    };
}

/// Every scenario of this file, for one engine: `all_scenarios!(module, Engine)`.
macro_rules! all_scenarios {
    ($module:ident, $engine:ty) => {
        engine_suite!($module, $engine;
            closed_calls_fail_connection_does_not_exist,
            syn_sent_user_timeout_aborts_before_syn_retries,
            established_user_timeout_aborts_unacknowledged_data,
            established_user_timeout_restarts_on_progress,
            established_user_timeout_stopped_when_all_acknowledged,
            last_ack_user_timeout_aborts_unacknowledged_fin,
            closed_segment_is_answered_with_rst,
            closed_rst_is_dropped,
            closed_active_open_sends_syn_enters_syn_sent,
            closed_passive_open_enters_listen,
            listen_open_fails_connection_exists,
            listen_send_fails_foreign_socket_unspecified,
            listen_rst_is_ignored,
            listen_ack_sends_rst,
            listen_segment_without_syn_is_dropped,
            listen_syn_sends_syn_ack_enters_syn_received,
            listen_syn_with_fin_enters_close_wait,
            listen_close_enters_closed,
            syn_sent_syn_ack_enters_established,
            syn_sent_syn_ack_with_bad_ack_sends_rst,
            syn_sent_ack_with_bad_ack_sends_rst,
            syn_sent_ack_without_syn_is_dropped,
            syn_sent_rst_with_good_ack_is_refused,
            syn_sent_rst_with_bad_ack_is_dropped,
            syn_sent_rst_without_ack_is_dropped,
            syn_sent_syn_enters_syn_received,
            syn_sent_syn_ack_with_data_delivers_it,
            syn_sent_syn_ack_with_fin_enters_close_wait,
            syn_sent_send_queues_data_until_established,
            syn_sent_open_fails_connection_exists,
            syn_sent_close_enters_closed,
            syn_sent_abort_enters_closed_without_rst,
            syn_sent_retransmission_exhausted_times_out,
            syn_sent_to_closed_port_is_refused,
            syn_received_ack_enters_established,
            syn_received_ack_with_data_delivers_it,
            syn_received_bad_ack_sends_rst,
            syn_received_segment_without_ack_is_dropped,
            syn_received_rst_after_passive_open_returns_to_listen,
            syn_received_rst_after_active_open_is_refused,
            syn_received_rst_in_window_sends_challenge_ack,
            syn_received_syn_after_passive_open_returns_to_listen,
            syn_received_syn_after_active_open_sends_challenge_ack,
            syn_received_retransmitted_syn_gets_challenge_ack,
            syn_received_close_enters_fin_wait_1,
            syn_received_abort_sends_rst,
            syn_received_synack_retransmission_exhausted_times_out,
            established_data_is_delivered_and_acked,
            established_unacceptable_segment_sends_ack,
            established_rst_exact_resets_connection,
            established_rst_in_window_sends_challenge_ack,
            established_rst_out_of_window_is_dropped,
            established_syn_sends_challenge_ack,
            established_challenge_acks_are_rate_limited,
            established_ack_too_new_sends_ack_and_drops,
            established_ack_too_old_sends_challenge_ack,
            established_segment_without_ack_is_dropped,
            established_paws_old_timestamp_is_dropped,
            established_out_of_order_fin_is_processed_when_gap_fills,
            established_fin_enters_close_wait,
            established_close_enters_fin_wait_1,
            established_abort_sends_rst,
            established_open_fails_connection_exists,
            established_keepalive_probes_exhausted_times_out,
            established_bulk_transfer_arrives_intact,
            established_peer_abort_resets_connection,
            fin_wait_1_ack_of_fin_enters_fin_wait_2,
            fin_wait_1_fin_enters_closing,
            fin_wait_1_fin_with_ack_of_fin_enters_time_wait,
            fin_wait_1_data_is_delivered,
            fin_wait_1_send_fails_connection_closing,
            fin_wait_1_close_again_sends_nothing,
            fin_wait_1_rst_in_window_sends_challenge_ack,
            fin_wait_1_fin_retransmission_exhausted_times_out,
            fin_wait_2_fin_enters_time_wait,
            fin_wait_2_close_is_ok,
            close_wait_send_is_transmitted,
            close_wait_retransmitted_fin_is_acked,
            close_wait_close_enters_last_ack,
            last_ack_ack_of_fin_closes,
            last_ack_calls_fail_connection_closing,
            last_ack_fin_retransmission_reaches_peer,
            last_ack_lost_ack_is_recovered_from_time_wait,
            closing_ack_of_fin_enters_time_wait,
            closing_abort_closes_without_rst,
            time_wait_2msl_expiry_closes,
            time_wait_retransmitted_fin_is_acked_and_restarts_2msl,
            time_wait_rst_is_ignored,
            time_wait_syn_sends_challenge_ack,
            time_wait_calls_fail_connection_closing,
            active_and_passive_open_establish,
            simultaneous_open_establishes_both,
            orderly_close_passes_every_closing_state,
            simultaneous_close_goes_through_closing,
            transitions_are_traced_by_origin,
            closed_reopen_after_abort_sends_fresh_syn,
            established_answered_keepalives_keep_connection_open,
            established_syn_in_window_without_rfc5961_sends_rst_ack,
            time_wait_syn_ack_in_window_without_rfc5961_sends_rst_ack,
            time_wait_syn_fin_left_of_window_without_rfc5961_sends_ack,
            syn_received_retransmitted_syn_with_text_gets_ack,
            time_wait_in_window_ack_is_acked_and_restarts_2msl,
            time_wait_duplicate_ack_is_not_acked,
            time_wait_fin_at_rcv_nxt_is_acked,
            syn_sent_syn_with_fin_enters_syn_received_without_the_fin,
            established_partly_old_segment_is_acked_at_once,
            established_read_opening_the_window_sends_update,
            established_out_of_order_fin_is_held,
            syn_sent_retransmission_backoff_adds_rto_slop,
            established_accept_buffer_space_judges_rst_against_the_buffer,
            syn_sent_connect_timeout_gives_up_before_syn_retries,
            established_connect_timeout_no_longer_applies,
            syn_sent_retransmissions_drop_options_after_the_limit,
            time_wait_stops_keepalive_timer,
        );
    };
}

all_scenarios!(per_state, tcp_core::PerStateEngine);
all_scenarios!(table, tcp_core::TableEngine);

// ====================================================================== differential run

/// A small deterministic generator (xorshift64*), so that a failing run
/// prints a seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One input to a connection.
#[derive(Clone, Debug)]
enum Input {
    Connect,
    Listen,
    Send(usize),
    Recv,
    Close,
    Abort,
    Segment {
        flags: Flags,
        seq: u32,
        ack: u32,
        window: u16,
        len: usize,
        tsval: Option<u32>,
    },
    Wait(Duration),
}

/// Picks an input whose numbers sit around the connection's current
/// sequence variables, so that exact, in-window, old and future values
/// all occur.
fn random_input<E: Engine>(rng: &mut Rng, conn: &Connection<E>) -> Input {
    let tcb = conn.tcb();
    match rng.below(20) {
        0 => Input::Connect,
        1 => Input::Listen,
        2 => Input::Send(rng.pick(&[1, 3, 700])),
        3 => Input::Recv,
        4 => Input::Close,
        5 if rng.below(4) == 0 => Input::Abort,
        6 | 7 => Input::Wait(Duration::from_millis(
            rng.pick(&[1, 40, 200, 1000, 3000, 61_000]),
        )),
        // What a well-behaved peer sends next: in-order text, acknowledging
        // everything (this fills small receive buffers until the window closes).
        8 | 9 => Input::Segment {
            flags: Flags::ACK | rng.pick(&[Flags::empty(), Flags::empty(), Flags::FIN]),
            seq: tcb.rcv_nxt.0,
            ack: tcb.snd_nxt.0,
            window: 8192,
            len: rng.pick(&[0, 600]),
            tsval: None,
        },
        _ => {
            let base_seq = if tcb.irs_known {
                tcb.rcv_nxt.0
            } else {
                PEER_ISS
            };
            let seq_offset =
                rng.pick(&[0i64, 0, 0, 0, -1, -2, 1, 3, 1000, -70_000, 300_000, 1 << 31]);
            let ack_base = if rng.below(2) == 0 {
                tcb.snd_nxt.0
            } else {
                tcb.snd_una.0
            };
            let ack_offset = rng.pick(&[0i64, 0, 0, 1, -1, 2, 5, -70_000, 100_000]);
            let mut flags = Flags::empty();
            for (bit, weight) in [
                (Flags::ACK, 8),
                (Flags::SYN, 3),
                (Flags::FIN, 3),
                (Flags::RST, 2),
                (Flags::PSH, 2),
            ] {
                if rng.below(10) < weight {
                    flags.insert(bit);
                }
            }
            let tsval = match rng.below(4) {
                0 => Some(tcb.ts_recent.wrapping_add(rng.pick(&[0u32, 1, 100]))),
                1 => Some(tcb.ts_recent.wrapping_sub(1)),
                _ => None,
            };
            Input::Segment {
                flags,
                seq: (i64::from(base_seq) + seq_offset) as u32,
                ack: (i64::from(ack_base) + ack_offset) as u32,
                window: rng.pick(&[8192, 8192, 65535, 0]),
                len: rng.pick(&[0, 0, 0, 1, 5, 600]),
                tsval,
            }
        }
    }
}

/// Everything an input made a connection do that the outside can see.
#[derive(Debug, PartialEq)]
struct Observed {
    call: Option<Result<usize, ConnectionError>>,
    sent: Vec<Vec<u8>>,
    events: Vec<ConnEvent>,
    transitions: Vec<(TcpState, TcpState, TraceOrigin)>,
    state: TcpState,
    timeout: Option<Instant>,
}

fn apply<E: Engine>(conn: &mut Connection<E>, now: &mut Instant, input: &Input) -> Observed {
    let call = match *input {
        Input::Connect => Some(conn.connect(*now).map(|_| 0)),
        Input::Listen => Some(conn.listen(*now).map(|_| 0)),
        Input::Send(n) => {
            let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
            Some(conn.send(*now, &data))
        }
        Input::Recv => Some(conn.recv(*now, &mut [0u8; 512])),
        Input::Close => Some(conn.shutdown(*now).map(|_| 0)),
        Input::Abort => Some(conn.abort(*now).map(|_| 0)),
        Input::Segment {
            flags,
            seq,
            ack,
            window,
            len,
            tsval,
        } => {
            let (local, peer) = (addr(LOCAL), addr(PEER));
            let header = TcpHeader {
                src_port: peer.port(),
                dst_port: local.port(),
                seq: SeqNum(seq),
                ack: SeqNum(ack),
                flags,
                window,
                urgent: 0,
                options: TcpOptions {
                    timestamps: tsval.map(|v| Timestamps { tsval: v, tsecr: 0 }),
                    ..TcpOptions::default()
                },
            };
            let payload: Vec<u8> = (0..len).map(|i| (i * 3) as u8).collect();
            let mut buf = vec![0u8; 4096];
            let ph = PseudoHeader::new(peer.ip(), local.ip()).unwrap();
            let n = emit_segment(&header, &payload, &ph, &mut buf).unwrap();
            conn.handle_segment(*now, &buf[..n]).unwrap();
            None
        }
        Input::Wait(d) => {
            *now += d;
            conn.handle_timeout(*now);
            None
        }
    };
    let mut sent = Vec::new();
    let mut buf = vec![0u8; 4096];
    while let Some(n) = conn.poll_transmit(*now, &mut buf) {
        sent.push(buf[..n].to_vec());
        assert!(sent.len() < 10_000);
    }
    Observed {
        call,
        sent,
        events: events_of(conn),
        transitions: conn
            .drain_traces()
            .map(|t| (t.previous_tcp_state, t.tcp_state, t.origin))
            .collect(),
        state: conn.state(),
        timeout: conn.poll_timeout(),
    }
}

/// Drives two engines with the same random inputs and compares every
/// observable after every input. Returns the states visited.
fn differential<A: Engine, B: Engine>(
    seeds: std::ops::Range<u64>,
    steps: usize,
    mut make_a: impl FnMut() -> A,
    mut make_b: impl FnMut() -> B,
) -> std::collections::BTreeSet<TcpState> {
    let mut visited = std::collections::BTreeSet::new();
    for seed in seeds {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        // Small buffers on some seeds, so that windows close; delayed ACKs
        // and timestamps on or off.
        let cfg = Config {
            challenge_ack_limit: 3,
            msl: Duration::from_secs(5),
            syn_retries: 3,
            data_retries: 4,
            recv_buffer: rng.pick(&[256 * 1024, 1200]),
            send_buffer: rng.pick(&[256 * 1024, 1000]),
            delayed_ack: rng.pick(&[None, Some(Duration::from_millis(40))]),
            timestamps: rng.below(3) != 0,
            ..Config::default()
        };
        let (local, peer) = (addr(LOCAL), addr(PEER));
        let mut a = Connection::new(
            cfg.clone(),
            local,
            peer,
            SeqNum(ISS),
            make_a(),
            Instant::ZERO,
        );
        let mut b = Connection::new(cfg, local, peer, SeqNum(ISS), make_b(), Instant::ZERO);
        let (mut now_a, mut now_b) = (Instant::ZERO, Instant::ZERO);
        let mut history = Vec::new();
        for _ in 0..steps {
            let input = random_input(&mut rng, &a);
            history.push(input.clone());
            let seen_a = apply(&mut a, &mut now_a, &input);
            let seen_b = apply(&mut b, &mut now_b, &input);
            assert_eq!(
                seen_a, seen_b,
                "seed {seed}: the engines differ after {history:#?}"
            );
            visited.insert(seen_a.state);
        }
    }
    visited
}

#[test]
fn per_state_engine_matches_interpreted_table_on_random_inputs() {
    let visited = differential(
        0..1500,
        60,
        PerStateEngine::default,
        InterpretedEngine::real,
    );
    // The run is only worth something if it got everywhere.
    assert_eq!(
        visited.len(),
        TcpState::ALL.len(),
        "states visited: {visited:?}"
    );
}

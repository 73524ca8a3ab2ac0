//! `Endpoint` listeners: the bounded SYN queue (embryonic connections) and
//! accept queue (established, not yet accepted), RFC 9293 §3.10.7.2 for the
//! segments a listening port receives, and a RST for a port nobody listens
//! on (RFC 9293 §3.10.7.1). Segments are hand-made, so every number is known.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tcp_core::seq::SeqNum;
use tcp_core::tcb::pseudo_header;
use tcp_core::wire::{emit_segment, parse_segment, Flags, TcpHeader, TcpOptions};
use tcp_core::{Config, ConnEvent, Endpoint, Instant, TableEngine, TcpState};

const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const PORT: u16 = 80;
const BACKLOG: usize = 2;
const CLIENT_ISS: u32 = 0xFFFF_FF00;

struct Reply {
    dst_port: u16,
    flags: Flags,
    seq: u32,
    ack: u32,
}

struct Server {
    ep: Endpoint<TableEngine>,
    now: Instant,
}

impl Server {
    fn new() -> Server {
        let config = Config {
            delayed_ack: None,
            ..Config::default()
        };
        let mut ep = Endpoint::new(config, vec![SERVER], TableEngine, 7);
        ep.listen(PORT, BACKLOG).unwrap();
        Server {
            ep,
            now: Instant::ZERO,
        }
    }

    /// The client at `port` sends a segment to the listening port.
    fn from(&mut self, port: u16, flags: Flags, seq: u32, ack: u32) {
        self.to(port, PORT, flags, seq, ack);
    }

    fn to(&mut self, src_port: u16, dst_port: u16, flags: Flags, seq: u32, ack: u32) {
        let header = TcpHeader {
            src_port,
            dst_port,
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags,
            window: 65535,
            urgent: 0,
            options: TcpOptions::default(),
        };
        let mut buf = [0u8; 128];
        let n = emit_segment(&header, &[], &pseudo_header(CLIENT, SERVER), &mut buf).unwrap();
        self.ep
            .handle_segment(self.now, CLIENT, SERVER, &buf[..n])
            .unwrap();
    }

    /// Every segment the server sends now.
    fn replies(&mut self) -> Vec<Reply> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while let Some(t) = self.ep.poll_segment(self.now, &mut buf) {
            let seg = parse_segment(&buf[..t.len]).unwrap();
            assert_eq!(t.dst.ip(), CLIENT);
            out.push(Reply {
                dst_port: t.dst.port(),
                flags: seg.header.flags,
                seq: seg.header.seq.0,
                ack: seg.header.ack.0,
            });
        }
        out
    }

    /// A SYN from `port`; returns the server's ISS if it answered with SYN,ACK.
    fn syn(&mut self, port: u16) -> Option<u32> {
        self.from(port, Flags::SYN, CLIENT_ISS, 0);
        let replies = self.replies();
        match replies.as_slice() {
            [] => None,
            [r] => {
                assert_eq!(r.dst_port, port);
                assert_eq!(r.flags, Flags::SYN | Flags::ACK);
                assert_eq!(r.ack, CLIENT_ISS.wrapping_add(1));
                Some(r.seq)
            }
            more => panic!("{} replies to one SYN", more.len()),
        }
    }

    /// Completes the handshake of the client at `port`.
    fn ack(&mut self, port: u16, server_iss: u32) {
        self.from(
            port,
            Flags::ACK,
            CLIENT_ISS.wrapping_add(1),
            server_iss.wrapping_add(1),
        );
        assert!(self.replies().is_empty());
    }
}

#[test]
fn listen_syn_queue_full_drops_syn() {
    let mut s = Server::new();
    assert!(s.syn(1001).is_some());
    assert!(s.syn(1002).is_some());
    // RFC 9293 §3.10.7.2 leaves resources to the implementation: with
    // `BACKLOG` embryonic connections a further SYN is dropped silently, so
    // the peer retransmits it later (no RST: the port does listen).
    assert_eq!(s.syn(1003), None);
    assert_eq!(s.ep.connection_count(), BACKLOG);
}

#[test]
fn listen_handshake_completion_frees_syn_queue_slot() {
    let mut s = Server::new();
    let iss = s.syn(1001).unwrap();
    assert!(s.syn(1002).is_some());
    assert_eq!(s.syn(1003), None);
    s.ack(1001, iss);
    // 1001 moved to the accept queue: one embryonic, one unaccepted.
    assert!(s.syn(1003).is_some());
    let h = s.ep.accept(PORT).expect("an established connection");
    let conn = s.ep.connection(h).unwrap();
    assert_eq!(conn.state(), TcpState::Established);
    assert_eq!(conn.remote(), SocketAddr::new(CLIENT, 1001));
    assert!(s.ep.accept(PORT).is_none(), "1002 and 1003 are embryonic");
}

#[test]
fn listen_accept_queue_full_drops_syn_until_accept() {
    let mut s = Server::new();
    let a = s.syn(1001).unwrap();
    let b = s.syn(1002).unwrap();
    s.ack(1001, a);
    s.ack(1002, b);
    // Two established connections nobody accepted: the accept queue is full.
    assert_eq!(s.syn(1003), None);
    let first = s.ep.accept(PORT).unwrap();
    assert_eq!(
        s.ep.connection(first).unwrap().remote().port(),
        1001,
        "accepted in arrival order"
    );
    assert!(s.syn(1003).is_some());
    let connected = std::iter::from_fn(|| s.ep.poll_event())
        .filter(|(_, e)| *e == ConnEvent::Connected)
        .count();
    assert_eq!(connected, 2);
}

#[test]
fn listen_ack_without_connection_gets_rst() {
    let mut s = Server::new();
    // RFC 9293 §3.10.7.2 second check: an ACK in LISTEN gets <SEQ=SEG.ACK><CTL=RST>.
    s.from(1001, Flags::ACK, 5, 777);
    let r = s.replies();
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].flags, r[0].seq), (Flags::RST, 777));
    assert_eq!(s.ep.connection_count(), 0);
}

#[test]
fn closed_syn_to_port_without_listener_gets_rst_ack() {
    let mut s = Server::new();
    // RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    s.to(1001, 81, Flags::SYN, CLIENT_ISS, 0);
    let r = s.replies();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].flags, r[0].seq, r[0].ack),
        (Flags::RST | Flags::ACK, 0, CLIENT_ISS.wrapping_add(1))
    );
    assert_eq!(s.ep.connection_count(), 0);
}

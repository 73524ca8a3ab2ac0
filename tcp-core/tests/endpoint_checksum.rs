//! RFC 9293 §3.1 / §3.10.7: a segment whose checksum fails is dropped
//! before it does anything: it leaves nothing readable and is not answered,
//! and the good copy that follows delivers exactly its own bytes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tcp_core::{
    Config, ConnectionError, Endpoint, EndpointError, InputError, Instant, TableEngine, TcpState,
};

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const PORT: u16 = 80;
const IP_HEADER: usize = 20;

fn config() -> Config {
    Config {
        delayed_ack: None,
        trace: false,
        ..Config::default()
    }
}

/// Every packet `from` sends now.
fn packets(from: &mut Endpoint<TableEngine>, now: Instant) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 2048];
    let mut out = Vec::new();
    while let Some(t) = from.poll_transmit(now, &mut buf) {
        out.push(buf[..t.len].to_vec());
    }
    out
}

fn deliver(to: &mut Endpoint<TableEngine>, now: Instant, packets: &[Vec<u8>]) {
    for p in packets {
        to.handle_packet(now, p).expect("a good packet");
    }
}

#[test]
fn established_text_with_bad_checksum_is_dropped_and_its_retransmission_delivered() {
    let now = Instant::ZERO;
    let mut a = Endpoint::new(config(), vec![A], TableEngine, 1);
    let mut b = Endpoint::new(config(), vec![B], TableEngine, 2);
    b.listen(PORT, 4).expect("listen");
    let h = a.connect(now, SocketAddr::new(B, PORT)).expect("connect");
    for _ in 0..3 {
        let to_b = packets(&mut a, now);
        deliver(&mut b, now, &to_b);
        let to_a = packets(&mut b, now);
        deliver(&mut a, now, &to_a);
    }
    assert_eq!(
        a.connection(h).map(|c| c.state()),
        Some(TcpState::Established)
    );
    let hb = b.accept(PORT).expect("accepted");

    let text: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    assert_eq!(a.send(now, h, &text).expect("send"), text.len());
    let sent = packets(&mut a, now);
    assert_eq!(sent.len(), 1, "one data segment");
    let good = &sent[0];

    // One flipped bit in the text, one in the header: both dropped.
    for at in [good.len() - 500, IP_HEADER + 14] {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        assert!(
            matches!(b.handle_packet(now, &bad), Err(InputError::BadChecksum)),
            "byte {at} flipped"
        );
        let mut chunk = [0u8; 2048];
        assert!(
            matches!(
                b.recv(now, hb, &mut chunk),
                Err(EndpointError::Connection(ConnectionError::WouldBlock))
            ),
            "nothing readable after the bad copy (byte {at})"
        );
        assert!(
            packets(&mut b, now).is_empty(),
            "a dropped segment is not answered"
        );
    }

    // The good copy: exactly its bytes.
    b.handle_packet(now, good).expect("good copy");
    let mut chunk = [0u8; 2048];
    let n = b.recv(now, hb, &mut chunk).expect("readable");
    assert_eq!(&chunk[..n], &text[..]);
}

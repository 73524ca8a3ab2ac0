//! tcp-core against the Linux kernel over a TUN device (DESIGN
//! "Conformance" item 5).
//!
//! Every test runs in its own private network namespace
//! (`conformance::tun::netns::run_isolated`): the TUN device `tfsm0`, the
//! kernel's address 10.99.0.1/24 and its sockets exist only there, and the
//! namespace's `net.ipv4.tcp_invalid_ratelimit` is 0 so that Linux answers
//! every invalid segment. After each test the harness checks that only `lo`
//! was left in the namespace and that no thread or descriptor of this
//! process still refers to it.
//!
//! The kernel's state is read at each step: `TCP_INFO` (`tcpi_state`) for a
//! socket the test holds, `/proc/thread-self/net/tcp` for the ones it cannot
//! hold (request sockets, orphans after `close`, TIME-WAIT). Our state is
//! read from the endpoint, and our whole state sequence from its traces.
//!
//! Every scenario runs once with the table engine and once with the
//! per-state engine (`<scenario>::table`, `<scenario>::per_state`).
//!
//! Without root or `/dev/net/tun` a test prints
//! `SKIPPED (needs root and /dev/net/tun)` and returns; under CI
//! (`CI=true`) it fails instead.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant as WallClock};

use conformance::tun::app::{fill_pattern, first_pattern_mismatch};
use conformance::tun::kernel::{
    self, connect_nonblocking, kernel_state, proc_state, set_linger_zero, tcp_info,
    KernelTcpState as K,
};
use conformance::tun::{
    self, craft_segment, netns, DriverError, Mode, Payload, SegmentSummary, Session, TunConfig,
    TunDevice, TunDriver, KERNEL_ADDR, OUR_ADDR,
};
use tcp_core::engine::Engine;
use tcp_core::seq::SeqNum;
use tcp_core::wire::Flags;
use tcp_core::{
    Config, ConnEvent, ConnHandle, ConnectionError, Endpoint, EndpointError, PerStateEngine,
    TableEngine, TcpState as S,
};

const PORT: u16 = 5000;
/// Limit for one handshake, close or small exchange.
const LIMIT: Duration = Duration::from_secs(5);
/// Limit for a 64 MiB transfer (it takes a few seconds; see the report).
const BULK_LIMIT: Duration = Duration::from_secs(120);
const MIB: u64 = 1 << 20;
/// Longer than Linux's largest delayed-ACK timeout (`TCP_DELACK_MAX`,
/// 200 ms): after this long without packets, neither side owes an ACK.
const QUIET: Duration = Duration::from_millis(250);
/// A short MSL: TIME-WAIT lasts 200 ms.
const MSL: Duration = Duration::from_millis(100);

fn config(msl: Duration) -> Config {
    Config {
        msl,
        ..Config::default()
    }
}

fn kaddr() -> SocketAddr {
    SocketAddr::new(KERNEL_ADDR, PORT)
}

fn ok<T>(r: Result<T, DriverError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `body(engine)` in a private namespace, if the harness can run.
fn isolated<E, F>(test: &str, engine: E, body: F)
where
    E: Engine + Clone + Send + 'static,
    F: FnOnce(E) + Send + 'static,
{
    if !tun::require_kernel_peer(test) {
        return;
    }
    netns::run_isolated(test, move || body(engine)).unwrap_or_else(|e| panic!("{test}: {e}"));
}

fn lab<E: Engine + Clone>(engine: E, msl: Duration) -> TunDriver<E> {
    tun::lab_driver(engine, config(msl), 0x5eed, 4096).expect("TUN device in the namespace")
}

fn local_of<E: Engine + Clone>(drv: &TunDriver<E>, h: ConnHandle) -> SocketAddr {
    drv.endpoint()
        .connection(h)
        .expect("live connection")
        .local()
}

fn kstate(s: &TcpStream) -> K {
    kernel_state(s).expect("TCP_INFO")
}

/// The kernel's state of the connection `k_local` ↔ `remote`, from
/// `/proc/thread-self/net/tcp`.
fn pstate(k_local: SocketAddr, remote: SocketAddr) -> Option<K> {
    proc_state(k_local, remote).expect("/proc/thread-self/net/tcp")
}

/// Waits (without stepping our stack) until `cond` holds.
fn wait_kernel(what: &str, mut cond: impl FnMut() -> bool) {
    let start = WallClock::now();
    while !cond() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Our active open to a kernel listener; returns our handle and the
/// accepted kernel socket (non-blocking).
fn open_ours<E: Engine + Clone>(
    drv: &mut TunDriver<E>,
    listener: &TcpListener,
) -> (ConnHandle, TcpStream) {
    let now = drv.now();
    let h = drv.endpoint_mut().connect(now, kaddr()).expect("connect");
    let mut accepted = None;
    ok(
        drv.run_until(LIMIT, "our connection established and accepted", |d| {
            if accepted.is_none() {
                accepted = listener.accept().ok().map(|(s, _)| s);
            }
            accepted.is_some() && d.state(h) == S::Established
        }),
    );
    let ks = accepted.expect("accepted");
    ks.set_nonblocking(true).expect("non-blocking");
    assert_eq!(kstate(&ks), K::Established);
    (h, ks)
}

/// The kernel's active open to our listener; returns our handle and the
/// kernel socket (non-blocking).
fn open_kernel<E: Engine + Clone>(drv: &mut TunDriver<E>) -> (ConnHandle, TcpStream) {
    drv.endpoint_mut().listen(PORT, 4).expect("listen");
    let ks = connect_nonblocking(SocketAddr::new(OUR_ADDR, PORT)).expect("kernel connect");
    let mut h = None;
    ok(
        drv.run_until(LIMIT, "the kernel's connection accepted", |d| {
            if h.is_none() {
                h = d.endpoint_mut().accept(PORT);
            }
            h.is_some() && kernel_state(&ks).is_ok_and(|s| s == K::Established)
        }),
    );
    let h = h.expect("accepted");
    assert_eq!(drv.state(h), S::Established);
    (h, ks)
}

/// Reads what the kernel socket has: `Some(0)` at end of stream, `None`
/// when nothing is there yet.
fn kread(ks: &mut TcpStream, buf: &mut [u8]) -> Option<usize> {
    match ks.read(buf) {
        Ok(n) => Some(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        Err(e) => panic!("kernel read: {e}"),
    }
}

/// Reads from our connection: `Some(0)` at end of stream, `None` when
/// nothing is there yet.
fn orecv<E: Engine + Clone>(
    drv: &mut TunDriver<E>,
    h: ConnHandle,
    buf: &mut [u8],
) -> Option<usize> {
    let now = drv.now();
    match drv.endpoint_mut().recv(now, h, buf) {
        Ok(n) => Some(n),
        Err(EndpointError::Connection(ConnectionError::WouldBlock)) => None,
        Err(e) => panic!("our recv: {e}"),
    }
}

/// Sends `n` pattern bytes from the kernel socket while our side reads and
/// checks them; `check` runs after every step.
fn kernel_to_ours<E: Engine + Clone>(
    drv: &mut TunDriver<E>,
    h: ConnHandle,
    ks: &mut TcpStream,
    n: u64,
    mut check: impl FnMut(&TunDriver<E>, &TcpStream),
) {
    let (mut sent, mut got) = (0u64, 0u64);
    let mut out = vec![0u8; 64 * 1024];
    let mut inb = vec![0u8; 64 * 1024];
    ok(drv.run_until(LIMIT, "the kernel's data read by us", |d| {
        while sent < n {
            let len = ((n - sent) as usize).min(out.len());
            fill_pattern(sent, &mut out[..len]);
            match ks.write(&out[..len]) {
                Ok(k) => sent += k as u64,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("kernel write: {e}"),
            }
        }
        while let Some(k) = orecv(d, h, &mut inb) {
            assert!(k > 0, "unexpected end of stream from the kernel");
            assert_eq!(first_pattern_mismatch(got, &inb[..k]), None);
            got += k as u64;
        }
        check(d, ks);
        got == n
    }));
}

/// Sends `n` pattern bytes from our side while the kernel socket reads and
/// checks them; `check` runs after every step.
fn ours_to_kernel<E: Engine + Clone>(
    drv: &mut TunDriver<E>,
    h: ConnHandle,
    ks: &mut TcpStream,
    n: u64,
    mut check: impl FnMut(&TunDriver<E>, &TcpStream),
) {
    let (mut sent, mut got) = (0u64, 0u64);
    let mut out = vec![0u8; 64 * 1024];
    let mut inb = vec![0u8; 64 * 1024];
    ok(drv.run_until(LIMIT, "our data read by the kernel", |d| {
        while sent < n {
            let len = ((n - sent) as usize).min(out.len());
            fill_pattern(sent, &mut out[..len]);
            let now = d.now();
            match d.endpoint_mut().send(now, h, &out[..len]) {
                Ok(k) => sent += k as u64,
                Err(EndpointError::Connection(ConnectionError::WouldBlock)) => break,
                Err(e) => panic!("our send: {e}"),
            }
        }
        while let Some(k) = kread(ks, &mut inb) {
            assert!(k > 0, "unexpected end of stream from us");
            assert_eq!(first_pattern_mismatch(got, &inb[..k]), None);
            got += k as u64;
        }
        check(d, ks);
        got == n
    }));
}

fn has_event<E: Engine + Clone>(drv: &TunDriver<E>, h: ConnHandle, e: ConnEvent) -> bool {
    drv.events().iter().any(|&(hh, ee)| hh == h && ee == e)
}

/// Both engines for one scenario: `<scenario>::table`, `<scenario>::per_state`.
macro_rules! both_engines {
    ($scenario:ident) => {
        mod $scenario {
            #[test]
            fn table() {
                super::isolated(
                    concat!(stringify!($scenario), "::table"),
                    tcp_core::TableEngine,
                    super::$scenario,
                );
            }

            #[test]
            fn per_state() {
                super::isolated(
                    concat!(stringify!($scenario), "::per_state"),
                    tcp_core::PerStateEngine,
                    super::$scenario,
                );
            }
        }
    };
}

// ---------------------------------------------------------------- opens

/// Our SYN to a kernel listener: the kernel's request socket is
/// SYN-RECEIVED while its SYN,ACK is in flight; both ESTABLISHED after our
/// ACK, with timestamps, SACK and window scaling negotiated. Then our
/// active close: FIN-WAIT-1, FIN-WAIT-2 (kernel CLOSE-WAIT), the kernel's
/// close (LAST-ACK), our TIME-WAIT for 2×MSL, CLOSED.
fn our_active_open_to_kernel_listener<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    let listener = TcpListener::bind(kaddr()).expect("bind in the namespace");
    listener.set_nonblocking(true).unwrap();
    assert_eq!(kstate_l(&listener), K::Listen);

    let now = drv.now();
    let h = drv.endpoint_mut().connect(now, kaddr()).unwrap();
    assert_eq!(drv.state(h), S::SynSent);
    let local = local_of(&drv, h);
    let synack = ok(drv.capture(LIMIT, "the kernel's SYN,ACK", |s| {
        s.is(Flags::SYN | Flags::ACK)
    }));
    let sa = SegmentSummary::parse(&synack).unwrap();
    // Linux offers every option we offered.
    assert_eq!(sa.options.mss, Some(1460), "{sa}");
    assert!(
        sa.options.sack_permitted
            && sa.options.timestamps.is_some()
            && sa.options.window_scale.is_some(),
        "{sa}"
    );
    assert_eq!(pstate(kaddr(), local), Some(K::SynRecv));
    assert_eq!(drv.state(h), S::SynSent);
    ok(drv.deliver(&synack));
    assert_eq!(drv.state(h), S::Established);

    let mut ks = None;
    wait_kernel("accept", || {
        ks = listener.accept().ok().map(|(s, _)| s);
        ks.is_some()
    });
    let mut ks = ks.unwrap();
    ks.set_nonblocking(true).unwrap();
    assert_eq!(kstate(&ks), K::Established);
    assert_eq!(kstate_l(&listener), K::Listen);

    // Negotiated options agree on both sides (RFC 7323, RFC 2018).
    let info = tcp_info(&ks).unwrap();
    let tcb = drv.endpoint().connection(h).unwrap().tcb();
    let want = kernel::TCPI_OPT_TIMESTAMPS | kernel::TCPI_OPT_SACK | kernel::TCPI_OPT_WSCALE;
    assert_eq!(info.options & want, want, "{info:?}");
    assert!(tcb.ts_enabled && tcb.sack_enabled && tcb.ws_enabled);
    assert_eq!(
        info.snd_wscale, tcb.rcv_wscale,
        "kernel's shift for our window"
    );
    assert_eq!(
        tcb.snd_wscale, info.rcv_wscale,
        "our shift for the kernel's window"
    );

    ours_to_kernel(&mut drv, h, &mut ks, 1000, |_, _| {});
    kernel_to_ours(&mut drv, h, &mut ks, 1000, |_, _| {});

    // Our active close.
    let now = drv.now();
    drv.endpoint_mut().close(now, h).unwrap();
    assert_eq!(drv.state(h), S::FinWait1);
    ok(
        drv.run_until(LIMIT, "our FIN-WAIT-2 and the kernel's CLOSE-WAIT", |d| {
            d.state(h) == S::FinWait2 && kstate(&ks) == K::CloseWait
        }),
    );
    let mut buf = [0u8; 16];
    assert_eq!(
        kread(&mut ks, &mut buf),
        Some(0),
        "the kernel reads our FIN"
    );
    drop(ks);
    // The kernel's FIN is in the device queue, not yet read by us.
    assert_eq!(pstate(kaddr(), local), Some(K::LastAck));
    ok(drv.run_until(LIMIT, "our TIME-WAIT", |d| d.state(h) == S::TimeWait));
    ok(drv.run_until(LIMIT, "the kernel's LAST-ACK to end", |_| {
        pstate(kaddr(), local).is_none()
    }));
    ok(drv.run_until(LIMIT, "our CLOSED after 2×MSL", |d| {
        d.state(h) == S::Closed
    }));

    assert_eq!(
        drv.state_sequence(local.port()),
        [
            S::Closed,
            S::SynSent,
            S::Established,
            S::FinWait1,
            S::FinWait2,
            S::TimeWait,
            S::Closed
        ]
    );
    assert_time_wait_lasted(&drv, local.port(), 2 * MSL);
}
both_engines!(our_active_open_to_kernel_listener);

fn kstate_l(l: &TcpListener) -> K {
    kernel_state(l).expect("TCP_INFO")
}

/// TIME-WAIT lasted at least `min` (RFC 9293 §3.6.1: 2×MSL).
fn assert_time_wait_lasted<E: Engine + Clone>(drv: &TunDriver<E>, port: u16, min: Duration) {
    let mut t = drv.traces().iter().filter(|t| t.local_port == port);
    let entered = t
        .clone()
        .find(|t| t.tcp_state == S::TimeWait)
        .expect("entered TIME-WAIT")
        .timestamp;
    let left = t
        .rfind(|t| t.previous_tcp_state == S::TimeWait)
        .expect("left TIME-WAIT")
        .timestamp;
    let lasted = left - entered;
    assert!(
        lasted >= min,
        "TIME-WAIT lasted {lasted:?}, less than {min:?}"
    );
}

/// The kernel's SYN to our listener: the kernel is SYN-SENT until our
/// SYN,ACK (held back to look at it) arrives; we are SYN-RECEIVED. Then the
/// kernel closes first (orphaned socket): its FIN-WAIT-1, FIN-WAIT-2, and
/// TIME-WAIT after our FIN; our CLOSE-WAIT, LAST-ACK, CLOSED.
fn kernel_active_open_to_our_listener<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    drv.endpoint_mut().listen(PORT, 4).unwrap();
    let ks = connect_nonblocking(SocketAddr::new(OUR_ADDR, PORT)).unwrap();
    assert_eq!(kstate(&ks), K::SynSent);
    let k_local = ks.local_addr().unwrap();
    let ours = SocketAddr::new(OUR_ADDR, PORT);

    let syn = ok(drv.capture(LIMIT, "the kernel's SYN", |s| s.is(Flags::SYN)));
    let sy = SegmentSummary::parse(&syn).unwrap();
    assert_eq!(sy.options.mss, Some(1460), "{sy}");
    drv.set_hold_outbound(true);
    ok(drv.deliver(&syn));
    let h = *drv
        .endpoint()
        .handles()
        .last()
        .expect("a connection from the SYN");
    assert_eq!(drv.state(h), S::SynReceived);
    assert_eq!(drv.held().len(), 1);
    let sa = SegmentSummary::parse(&drv.held()[0]).unwrap();
    assert!(sa.is(Flags::SYN | Flags::ACK), "{sa}");
    assert_eq!(sa.ack, sy.seq + 1);
    assert_eq!(kstate(&ks), K::SynSent, "our SYN,ACK is held");
    drv.set_hold_outbound(false);
    ok(drv.release_held());
    ok(drv.run_until(LIMIT, "both ESTABLISHED", |d| {
        d.state(h) == S::Established && kstate(&ks) == K::Established
    }));
    assert_eq!(drv.endpoint_mut().accept(PORT), Some(h));

    // The kernel closes first, and lets go of the socket.
    drop(ks);
    assert_eq!(pstate(k_local, ours), Some(K::FinWait1));
    ok(drv.run_until(LIMIT, "our CLOSE-WAIT", |d| d.state(h) == S::CloseWait));
    ok(drv.run_until(LIMIT, "the kernel's FIN-WAIT-2", |_| {
        pstate(k_local, ours) == Some(K::FinWait2)
    }));
    let mut buf = [0u8; 8];
    assert_eq!(orecv(&mut drv, h, &mut buf), Some(0), "end of stream");
    let now = drv.now();
    drv.endpoint_mut().close(now, h).unwrap();
    assert_eq!(drv.state(h), S::LastAck);
    ok(drv.run_until(LIMIT, "our CLOSED", |d| d.state(h) == S::Closed));
    assert_eq!(
        pstate(k_local, ours),
        Some(K::TimeWait),
        "the kernel's TIME-WAIT"
    );
    assert_eq!(
        drv.state_sequence(PORT),
        [
            S::Closed,
            S::Listen,
            S::SynReceived,
            S::Established,
            S::CloseWait,
            S::LastAck,
            S::Closed
        ]
    );
}
both_engines!(kernel_active_open_to_our_listener);

// ---------------------------------------------------------------- bulk

/// Runs a bulk transfer of `n` bytes in each direction given (ours→kernel,
/// kernel→ours) on one connection opened by us, the kernel side on its own
/// thread with blocking sockets; every byte is checked. Returns the wall
/// time from our SYN to both ends having closed.
fn bulk<E: Engine + Clone>(drv: &mut TunDriver<E>, to_kernel: u64, from_kernel: u64) -> Duration {
    let listener = TcpListener::bind(kaddr()).unwrap();
    let (tx, rx) = mpsc::channel();
    // Threads started here inherit the namespace.
    let kernel = std::thread::spawn(move || -> Result<(u64, kernel::TcpInfo), String> {
        let (mut s, _) = listener.accept().map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(BULK_LIMIT))
            .map_err(|e| e.to_string())?;
        let mut w = s.try_clone().map_err(|e| e.to_string())?;
        let writer = std::thread::spawn(move || -> Result<(), String> {
            let mut buf = vec![0u8; 256 * 1024];
            let mut off = 0u64;
            while off < from_kernel {
                let len = ((from_kernel - off) as usize).min(buf.len());
                fill_pattern(off, &mut buf[..len]);
                w.write_all(&buf[..len]).map_err(|e| e.to_string())?;
                off += len as u64;
            }
            w.shutdown(Shutdown::Write).map_err(|e| e.to_string())
        });
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0u64;
        loop {
            let n = s.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            if let Some(off) = first_pattern_mismatch(got, &buf[..n]) {
                return Err(format!("kernel: byte {off} differs from the pattern"));
            }
            got += n as u64;
        }
        writer.join().map_err(|_| "writer panicked".to_string())??;
        let info = tcp_info(&s).map_err(|e| e.to_string())?;
        let _ = tx.send(());
        Ok((got, info))
    });

    let start = WallClock::now();
    let now = drv.now();
    let h = drv.endpoint_mut().connect(now, kaddr()).unwrap();
    let engine = drv.endpoint().connection(h).unwrap().engine().kind();
    let mode = if to_kernel > 0 {
        Mode::Source
    } else {
        Mode::Sink
    };
    let mut session =
        Session::new(h, mode, Payload::Pattern(to_kernel), Some(from_kernel)).verify_pattern(true);
    ok(
        drv.run_until(BULK_LIMIT, "the bulk transfer and close", |d| {
            let now = d.now();
            session.pump(now, d.endpoint_mut());
            session.finished()
        }),
    );
    let elapsed = start.elapsed();
    if let Some(e) = session.take_error() {
        panic!("our side failed: {e}\n{}", drv.log().render());
    }
    rx.recv_timeout(LIMIT).expect("kernel side done");
    let (got, info) = kernel
        .join()
        .expect("kernel thread")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, to_kernel, "bytes the kernel received");
    assert_eq!(session.received(), from_kernel, "bytes we received");
    assert_eq!(session.sent(), to_kernel);
    let stats = drv.stats();
    let mbit = |n: u64| n as f64 * 8.0 / elapsed.as_secs_f64() / 1e6;
    eprintln!(
        "bulk {} MiB to the kernel, {} MiB from it, {} engine: {:.2} s ({:.0} / {:.0} Mbit/s); \
         packets in {} out {}; kernel retransmissions {}, snd_cwnd {}",
        to_kernel / MIB,
        from_kernel / MIB,
        engine.as_str(),
        elapsed.as_secs_f64(),
        mbit(to_kernel),
        mbit(from_kernel),
        stats.packets_in,
        stats.packets_out,
        info.total_retrans,
        info.snd_cwnd,
    );
    elapsed
}

/// 64 MiB from us to a kernel socket, every byte checked, then both close.
fn bulk_64mib_to_kernel<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    bulk(&mut drv, 64 * MIB, 0);
}
both_engines!(bulk_64mib_to_kernel);

/// 64 MiB from a kernel socket to us, every byte checked, then both close.
fn bulk_64mib_from_kernel<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    bulk(&mut drv, 0, 64 * MIB);
}
both_engines!(bulk_64mib_from_kernel);

/// 16 MiB each way at once on one connection (full duplex).
fn bulk_16mib_both_ways_at_once<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    bulk(&mut drv, 16 * MIB, 16 * MIB);
}
both_engines!(bulk_16mib_both_ways_at_once);

/// IPv6 (RFC 8200 framing, the IPv6 pseudo-header, RFC 9293 §3.1): the
/// kernel connects to our listener over an IPv6 TUN link, sends 1 MiB and
/// closes; we echo it back and close (CLOSE-WAIT, LAST-ACK, CLOSED).
fn ipv6_kernel_client_echoed<E: Engine + Clone>(engine: E) {
    let kernel6: IpAddr = "fd00:99::1".parse().unwrap();
    let ours6: IpAddr = "fd00:99::2".parse().unwrap();
    let dev = TunDevice::open(&TunConfig::new(tun::TEST_DEVICE, kernel6, 64)).expect("IPv6 TUN");
    let ep = Endpoint::new(config(MSL), vec![ours6], engine, 9);
    let mut drv = TunDriver::new(dev, ep, 4096);
    drv.endpoint_mut().listen(PORT, 4).unwrap();
    let n = MIB as usize;
    let kernel = std::thread::spawn(move || {
        let mut s = TcpStream::connect(SocketAddr::new(ours6, PORT)).unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let mut data = vec![0u8; n];
        fill_pattern(0, &mut data);
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            w.write_all(&data).unwrap();
            w.shutdown(Shutdown::Write).unwrap();
        });
        let mut got = Vec::with_capacity(n);
        s.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        got
    });
    let mut h = None;
    ok(drv.run_until(LIMIT, "the kernel's IPv6 connection", |d| {
        h = d.endpoint_mut().accept(PORT);
        h.is_some()
    }));
    let h = h.unwrap();
    assert_eq!(drv.endpoint().connection(h).unwrap().remote().ip(), kernel6);
    let mut session = Session::new(h, Mode::Echo, Payload::Pattern(0), None).verify_pattern(true);
    ok(drv.run_until(LIMIT, "the echo and close", |d| {
        let now = d.now();
        session.pump(now, d.endpoint_mut());
        session.finished()
    }));
    assert!(session.error().is_none(), "{:?}", session.error());
    let got = kernel.join().unwrap();
    assert_eq!(got.len(), n);
    assert_eq!(first_pattern_mismatch(0, &got), None);
    assert_eq!(
        drv.state_sequence(PORT),
        [
            S::Closed,
            S::Listen,
            S::SynReceived,
            S::Established,
            S::CloseWait,
            S::LastAck,
            S::Closed
        ]
    );
}
both_engines!(ipv6_kernel_client_echoed);

// ---------------------------------------------------------------- half-close

/// We close our sending side first; the kernel (CLOSE-WAIT) goes on
/// sending 1 MiB, which we read in FIN-WAIT-2; then the kernel closes
/// (LAST-ACK) and we end in TIME-WAIT.
fn half_close_ours_first_kernel_keeps_sending<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    let listener = TcpListener::bind(kaddr()).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (h, mut ks) = open_ours(&mut drv, &listener);
    let local = local_of(&drv, h);
    let now = drv.now();
    drv.endpoint_mut().shutdown(now, h).unwrap();
    assert_eq!(drv.state(h), S::FinWait1);
    ok(
        drv.run_until(LIMIT, "our FIN-WAIT-2, the kernel's CLOSE-WAIT", |d| {
            d.state(h) == S::FinWait2 && kstate(&ks) == K::CloseWait
        }),
    );
    let mut buf = [0u8; 8];
    assert_eq!(kread(&mut ks, &mut buf), Some(0));
    kernel_to_ours(&mut drv, h, &mut ks, MIB, |d, ks| {
        assert_eq!(d.state(h), S::FinWait2);
        assert_eq!(kstate(ks), K::CloseWait);
    });
    ks.shutdown(Shutdown::Write).unwrap();
    assert_eq!(kstate(&ks), K::LastAck);
    ok(drv.run_until(LIMIT, "our TIME-WAIT", |d| d.state(h) == S::TimeWait));
    ok(drv.run_until(LIMIT, "the kernel's CLOSED", |_| kstate(&ks) == K::Close));
    assert_eq!(
        orecv(&mut drv, h, &mut buf),
        Some(0),
        "end of stream after the data"
    );
    ok(drv.run_until(LIMIT, "our CLOSED", |d| d.state(h) == S::Closed));
    assert_eq!(pstate(kaddr(), local), None);
    assert_eq!(
        drv.state_sequence(local.port()),
        [
            S::Closed,
            S::SynSent,
            S::Established,
            S::FinWait1,
            S::FinWait2,
            S::TimeWait,
            S::Closed
        ]
    );
}
both_engines!(half_close_ours_first_kernel_keeps_sending);

/// The kernel closes its sending side first (`shutdown(SHUT_WR)`, FIN-WAIT-1
/// then FIN-WAIT-2); we (CLOSE-WAIT) go on sending 1 MiB, which the kernel
/// reads; then we close (LAST-ACK, CLOSED) and the kernel is in TIME-WAIT.
fn half_close_kernel_first_ours_keeps_sending<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    let (h, mut ks) = open_kernel(&mut drv);
    let k_local = ks.local_addr().unwrap();
    let ours = SocketAddr::new(OUR_ADDR, PORT);
    ks.shutdown(Shutdown::Write).unwrap();
    assert_eq!(kstate(&ks), K::FinWait1, "the kernel's FIN is not yet read");
    ok(
        drv.run_until(LIMIT, "our CLOSE-WAIT, the kernel's FIN-WAIT-2", |d| {
            d.state(h) == S::CloseWait && kstate(&ks) == K::FinWait2
        }),
    );
    let mut buf = [0u8; 8];
    assert_eq!(orecv(&mut drv, h, &mut buf), Some(0), "end of stream");
    ours_to_kernel(&mut drv, h, &mut ks, MIB, |d, ks| {
        assert_eq!(d.state(h), S::CloseWait);
        assert_eq!(kstate(ks), K::FinWait2);
    });
    let now = drv.now();
    drv.endpoint_mut().close(now, h).unwrap();
    assert_eq!(drv.state(h), S::LastAck);
    ok(drv.run_until(LIMIT, "our CLOSED", |d| d.state(h) == S::Closed));
    ok(drv.run_until(LIMIT, "the kernel's TIME-WAIT", |_| {
        pstate(k_local, ours) == Some(K::TimeWait)
    }));
    // The socket we hold was replaced by a TIME-WAIT mini-socket.
    assert_eq!(kstate(&ks), K::Close);
    assert_eq!(kread(&mut ks, &mut buf), Some(0));
    assert_eq!(
        drv.state_sequence(PORT),
        [
            S::Closed,
            S::Listen,
            S::SynReceived,
            S::Established,
            S::CloseWait,
            S::LastAck,
            S::Closed
        ]
    );
}
both_engines!(half_close_kernel_first_ours_keeps_sending);

// ---------------------------------------------------------------- simultaneous close

/// Simultaneous close (RFC 9293 §3.6, figure 13), forced by holding the
/// kernel's FIN in the device queue: the kernel shuts down (FIN-WAIT-1, its
/// FIN queued towards us, unread); we close and our FIN is written before
/// we read anything, so the kernel receives it in FIN-WAIT-1 (CLOSING).
/// Then we read its FIN (its ACK does not cover our FIN): CLOSING; its ACK
/// of our FIN: TIME-WAIT. Our ACK puts the kernel in TIME-WAIT too.
fn simultaneous_close<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    let listener = TcpListener::bind(kaddr()).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (h, ks) = open_ours(&mut drv, &listener);
    let local = local_of(&drv, h);
    ks.shutdown(Shutdown::Write).unwrap();
    assert_eq!(kstate(&ks), K::FinWait1);
    let now = drv.now();
    drv.endpoint_mut().close(now, h).unwrap();
    assert_eq!(drv.state(h), S::FinWait1);
    assert_eq!(ok(drv.flush()), 1, "our FIN");
    wait_kernel("the kernel's CLOSING", || kstate(&ks) == K::Closing);

    let fin = ok(drv.capture(LIMIT, "the kernel's FIN", |s| s.flags.contains(Flags::FIN)));
    let f = SegmentSummary::parse(&fin).unwrap();
    let our_fin_end = drv.endpoint().connection(h).unwrap().tcb().snd_nxt;
    assert!(
        f.ack.lt(our_fin_end),
        "the kernel's FIN does not acknowledge ours: {f}"
    );
    ok(drv.deliver(&fin));
    assert_eq!(drv.state(h), S::Closing);
    ok(drv.run_until(LIMIT, "our TIME-WAIT", |d| d.state(h) == S::TimeWait));
    ok(drv.run_until(LIMIT, "the kernel's TIME-WAIT", |_| {
        pstate(kaddr(), local) == Some(K::TimeWait)
    }));
    assert_eq!(kstate(&ks), K::Close);
    ok(drv.run_until(LIMIT, "our CLOSED", |d| d.state(h) == S::Closed));
    assert_eq!(
        drv.state_sequence(local.port()),
        [
            S::Closed,
            S::SynSent,
            S::Established,
            S::FinWait1,
            S::Closing,
            S::TimeWait,
            S::Closed
        ]
    );
    assert_time_wait_lasted(&drv, local.port(), 2 * MSL);
}
both_engines!(simultaneous_close);

// ---------------------------------------------------------------- resets

/// The kernel aborts (`SO_LINGER` 0, then `close`): its socket is gone at
/// once, its RST takes us from ESTABLISHED to CLOSED with "connection reset"
/// (RFC 9293 §3.10.7.4, RST in a synchronized state).
fn rst_from_kernel_linger_zero_resets_ours<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    let listener = TcpListener::bind(kaddr()).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (h, mut ks) = open_ours(&mut drv, &listener);
    let local = local_of(&drv, h);
    kernel_to_ours(&mut drv, h, &mut ks, 1000, |_, _| {});
    set_linger_zero(&ks).unwrap();
    drop(ks);
    assert_eq!(
        pstate(kaddr(), local),
        None,
        "the kernel's socket is gone at once"
    );
    let rst = ok(drv.capture(LIMIT, "the kernel's RST", |s| s.flags.contains(Flags::RST)));
    let r = SegmentSummary::parse(&rst).unwrap();
    assert_eq!(
        r.seq,
        drv.endpoint().connection(h).unwrap().tcb().rcv_nxt,
        "an exact RST: {r}"
    );
    ok(drv.deliver(&rst));
    assert_eq!(drv.state(h), S::Closed);
    assert!(
        has_event(&drv, h, ConnEvent::Error(ConnectionError::ConnectionReset)),
        "{:?}",
        drv.events()
    );
    assert_eq!(
        drv.state_sequence(local.port()),
        [S::Closed, S::SynSent, S::Established, S::Closed]
    );
}
both_engines!(rst_from_kernel_linger_zero_resets_ours);

/// We abort (RFC 9293 §3.10.5): our RST takes the kernel's socket to CLOSE
/// and its next read fails with ECONNRESET.
fn rst_from_ours_abort_resets_kernel<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    let listener = TcpListener::bind(kaddr()).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (h, mut ks) = open_ours(&mut drv, &listener);
    let local = local_of(&drv, h);
    ours_to_kernel(&mut drv, h, &mut ks, 1000, |_, _| {});
    let now = drv.now();
    drv.endpoint_mut().abort(now, h).unwrap();
    assert_eq!(drv.state(h), S::Closed);
    assert_eq!(ok(drv.flush()), 1, "our RST");
    let rst = drv.log().entries().last().and_then(|e| e.segment).unwrap();
    assert!(rst.flags.contains(Flags::RST), "{rst}");
    ok(drv.run_until(LIMIT, "the kernel's CLOSE", |_| kstate(&ks) == K::Close));
    let mut buf = [0u8; 8];
    let err = ks.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    assert_eq!(pstate(kaddr(), local), None);
    assert_eq!(
        drv.state_sequence(local.port()),
        [S::Closed, S::SynSent, S::Established, S::Closed]
    );
}
both_engines!(rst_from_ours_abort_resets_kernel);

// ---------------------------------------------------------------- challenge ACKs

/// RFC 5961 §3.2 on the kernel's side: a RST from our address whose
/// sequence number is inside the kernel's receive window but not RCV.NXT
/// (crafted by the harness and written into the device) gets a challenge
/// ACK <SEQ=SND.NXT><ACK=RCV.NXT>, every time (`tcp_invalid_ratelimit` is
/// 0), and the kernel stays ESTABLISHED. Our stack takes the challenge ACK
/// as a duplicate ACK, and data still flows both ways.
fn kernel_challenge_ack_to_inwindow_rst<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    let listener = TcpListener::bind(kaddr()).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (h, mut ks) = open_ours(&mut drv, &listener);
    let local = local_of(&drv, h);
    ours_to_kernel(&mut drv, h, &mut ks, 3000, |_, _| {});
    kernel_to_ours(&mut drv, h, &mut ks, 2000, |_, _| {});
    ok(drv.settle(QUIET, LIMIT));
    let (snd_nxt, rcv_nxt) = {
        let t = drv.endpoint().connection(h).unwrap().tcb();
        (t.snd_nxt, t.rcv_nxt)
    };
    let before = kernel::tcp_ext_counter("TCPChallengeACK")
        .unwrap()
        .unwrap_or(0);
    for k in 1..=3u32 {
        let rst = craft_segment(
            local,
            kaddr(),
            Flags::RST,
            snd_nxt + 100 * k,
            SeqNum(0),
            0,
            &[],
        )
        .unwrap();
        ok(drv.inject_to_kernel(&rst));
        let ack = ok(drv.capture(LIMIT, "the kernel's challenge ACK", |s| {
            s.is(Flags::ACK) && s.len == 0
        }));
        let a = SegmentSummary::parse(&ack).unwrap();
        assert_eq!((a.seq, a.ack), (rcv_nxt, snd_nxt), "challenge ACK {k}: {a}");
        assert_eq!(kstate(&ks), K::Established);
        ok(drv.deliver(&ack));
        assert_eq!(drv.state(h), S::Established);
    }
    let after = kernel::tcp_ext_counter("TCPChallengeACK")
        .unwrap()
        .unwrap_or(0);
    assert_eq!(after - before, 3, "TcpExt TCPChallengeACK");
    ours_to_kernel(&mut drv, h, &mut ks, 1000, |_, _| {});
    kernel_to_ours(&mut drv, h, &mut ks, 1000, |_, _| {});
    assert_eq!(kstate(&ks), K::Established);
    assert_eq!(drv.state(h), S::Established);
}
both_engines!(kernel_challenge_ack_to_inwindow_rst);

/// RFC 5961 §3.2 on our side. The kernel sends no in-window RST on demand,
/// so the harness gives our endpoint a crafted one *as if from the kernel*
/// (its address and port, SEQ = RCV.NXT + 100, inside our window). We must
/// answer with a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT> and stay
/// ESTABLISHED; written to the device, the kernel accepts that ACK (its
/// `segs_in` counts it, it stays ESTABLISHED, it answers nothing) and data
/// still flows both ways. A RST outside our window is dropped silently
/// (RFC 5961 §3.2), and an exact RST (SEQ = RCV.NXT) resets us; after that,
/// the kernel's next segment finds no connection and gets our RST.
fn our_challenge_ack_to_inwindow_rst<E: Engine + Clone>(engine: E) {
    let mut drv = lab(engine, MSL);
    let listener = TcpListener::bind(kaddr()).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (h, mut ks) = open_ours(&mut drv, &listener);
    let local = local_of(&drv, h);
    ours_to_kernel(&mut drv, h, &mut ks, 2000, |_, _| {});
    kernel_to_ours(&mut drv, h, &mut ks, 3000, |_, _| {});
    ok(drv.settle(QUIET, LIMIT));
    let (snd_nxt, rcv_nxt, rcv_wnd) = {
        let t = drv.endpoint().connection(h).unwrap().tcb();
        (t.snd_nxt, t.rcv_nxt, t.current_rcv_wnd())
    };

    // In window, not exact: a challenge ACK.
    drv.set_hold_outbound(true);
    let rst = craft_segment(kaddr(), local, Flags::RST, rcv_nxt + 100, SeqNum(0), 0, &[]).unwrap();
    assert!(drv.inject_to_us(&rst), "our endpoint takes the crafted RST");
    ok(drv.flush());
    assert_eq!(drv.state(h), S::Established);
    assert_eq!(drv.held().len(), 1, "exactly one answer");
    let a = SegmentSummary::parse(&drv.held()[0]).unwrap();
    assert!(a.is(Flags::ACK) && a.len == 0, "{a}");
    assert_eq!((a.seq, a.ack), (snd_nxt, rcv_nxt), "challenge ACK: {a}");
    let segs_in = tcp_info(&ks).unwrap().segs_in;
    drv.set_hold_outbound(false);
    assert_eq!(ok(drv.release_held()), 1);
    wait_kernel("the kernel to count our challenge ACK", || {
        tcp_info(&ks).unwrap().segs_in == segs_in + 1
    });
    assert_eq!(kstate(&ks), K::Established);
    let answers = ok(drv.capture_all(Duration::from_millis(100)));
    assert!(
        answers.is_empty(),
        "the kernel answered our challenge ACK: {:?}",
        answers
            .iter()
            .map(|p| SegmentSummary::parse(p))
            .collect::<Vec<_>>()
    );
    ours_to_kernel(&mut drv, h, &mut ks, 1000, |_, _| {});
    kernel_to_ours(&mut drv, h, &mut ks, 1000, |_, _| {});

    // Outside the window: dropped silently.
    ok(drv.settle(QUIET, LIMIT));
    let rcv_nxt = drv.endpoint().connection(h).unwrap().tcb().rcv_nxt;
    drv.set_hold_outbound(true);
    let far = craft_segment(
        kaddr(),
        local,
        Flags::RST,
        rcv_nxt + rcv_wnd + 1000,
        SeqNum(0),
        0,
        &[],
    )
    .unwrap();
    assert!(drv.inject_to_us(&far));
    assert_eq!(ok(drv.flush()), 0, "no answer to an out-of-window RST");
    assert_eq!(drv.state(h), S::Established);

    // Exact: reset.
    let exact = craft_segment(kaddr(), local, Flags::RST, rcv_nxt, SeqNum(0), 0, &[]).unwrap();
    assert!(drv.inject_to_us(&exact));
    assert_eq!(ok(drv.flush()), 0);
    assert_eq!(drv.state(h), S::Closed);
    assert!(has_event(
        &drv,
        h,
        ConnEvent::Error(ConnectionError::ConnectionReset)
    ));
    drv.set_hold_outbound(false);
    ks.write_all(b"anyone there?").unwrap();
    ok(
        drv.run_until(LIMIT, "the kernel reset by our CLOSED answer", |_| {
            kstate(&ks) == K::Close
        }),
    );
    let mut buf = [0u8; 8];
    assert_eq!(
        ks.read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::ConnectionReset
    );
}
both_engines!(our_challenge_ack_to_inwindow_rst);

// ---------------------------------------------------------------- TIME-WAIT

/// Our TIME-WAIT does its job (RFC 9293 §3.6.1): we close first, the kernel
/// closes, and our final ACK is lost (the harness drops it). The kernel
/// retransmits its FIN from LAST-ACK; we answer it from TIME-WAIT (restarting
/// the 2×MSL timer, RFC 9293 §3.10.7.4) and the kernel's connection ends.
fn time_wait_ours_reacks_retransmitted_fin<E: Engine + Clone>(engine: E) {
    let msl = Duration::from_millis(1500);
    let mut drv = lab(engine, msl);
    let listener = TcpListener::bind(kaddr()).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (h, ks) = open_ours(&mut drv, &listener);
    let local = local_of(&drv, h);
    let now = drv.now();
    drv.endpoint_mut().close(now, h).unwrap();
    ok(drv.run_until(LIMIT, "our FIN-WAIT-2", |d| d.state(h) == S::FinWait2));
    drop(ks);
    let fin = ok(drv.capture(LIMIT, "the kernel's FIN", |s| s.flags.contains(Flags::FIN)));
    drv.set_hold_outbound(true);
    ok(drv.deliver(&fin));
    assert_eq!(drv.state(h), S::TimeWait);
    assert_eq!(drv.drop_held(), 1, "our final ACK, lost");
    drv.set_hold_outbound(false);
    assert_eq!(pstate(kaddr(), local), Some(K::LastAck));
    let again = ok(drv.capture(LIMIT, "the kernel's retransmitted FIN", |s| {
        s.flags.contains(Flags::FIN)
    }));
    assert_eq!(
        SegmentSummary::parse(&again).unwrap().seq,
        SegmentSummary::parse(&fin).unwrap().seq
    );
    ok(drv.deliver(&again));
    assert_eq!(drv.state(h), S::TimeWait);
    ok(drv.run_until(LIMIT, "the kernel's LAST-ACK to end", |_| {
        pstate(kaddr(), local).is_none()
    }));
    ok(drv.run_until(Duration::from_secs(10), "our CLOSED", |d| {
        d.state(h) == S::Closed
    }));
    assert_eq!(
        drv.state_sequence(local.port()),
        [
            S::Closed,
            S::SynSent,
            S::Established,
            S::FinWait1,
            S::FinWait2,
            S::TimeWait,
            S::Closed
        ]
    );
}
both_engines!(time_wait_ours_reacks_retransmitted_fin);

// ---------------------------------------------------------------- the harness itself

/// A test body that fails half-way still leaves nothing behind: the
/// device goes when its descriptor is dropped during unwinding, and the
/// namespace is released by every thread and descriptor of this process.
#[test]
fn failing_test_body_still_releases_namespace_and_device() {
    if !tun::require_kernel_peer("failing_test_body_still_releases_namespace_and_device") {
        return;
    }
    let (tx, rx) = mpsc::channel();
    let outcome = std::panic::catch_unwind(move || {
        netns::run_isolated("tcpfsm-failing", move || {
            let _drv = lab(TableEngine, MSL);
            let inode = netns::current_inode().unwrap();
            assert!(tun::device::interface_index(tun::TEST_DEVICE).is_some());
            tx.send(inode).unwrap();
            panic!("deliberate failure with the device open");
        })
    });
    assert!(outcome.is_err(), "the panic is passed on");
    let inode = rx.recv().unwrap();
    assert_ne!(
        inode,
        netns::current_inode().unwrap(),
        "the body ran in another namespace"
    );
    assert_eq!(netns::process_references(inode), Vec::<String>::new());
    // And the device never existed out here.
    assert_eq!(tun::device::interface_index(tun::TEST_DEVICE), None);
}

/// The namespace is private: its sockets and device are invisible from
/// the test's own namespace, and its `tcp_invalid_ratelimit` is 0 while
/// the outer one keeps its value.
#[test]
fn namespace_is_private_and_prepared() {
    if !tun::require_kernel_peer("namespace_is_private_and_prepared") {
        return;
    }
    let outer_ratelimit = netns::read_sysctl("net/ipv4/tcp_invalid_ratelimit").unwrap();
    let inner = netns::run_isolated("tcpfsm-private", || {
        let _drv = lab(PerStateEngine, MSL);
        let l = TcpListener::bind(kaddr()).unwrap();
        (
            netns::read_sysctl("net/ipv4/tcp_invalid_ratelimit").unwrap(),
            tun::device::interface_names().unwrap(),
            l.local_addr().unwrap(),
        )
    })
    .unwrap();
    assert_eq!(inner.0, "0");
    assert!(
        inner.1.contains(&"lo".to_string()) && inner.1.contains(&tun::TEST_DEVICE.to_string()),
        "{:?}",
        inner.1
    );
    assert_eq!(inner.2, kaddr());
    assert_eq!(
        netns::read_sysctl("net/ipv4/tcp_invalid_ratelimit").unwrap(),
        outer_ratelimit
    );
    assert!(kernel::proc_net_tcp()
        .unwrap()
        .iter()
        .all(|e| e.local != kaddr()));
}

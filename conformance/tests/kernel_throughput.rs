//! Throughput figures for BENCHMARKS.md (ignored: run on demand, as root):
//!
//! ```text
//! cargo test -p conformance --release --test kernel_throughput -- --ignored --nocapture
//! ```
//!
//! * our stack ↔ the kernel over one TUN device, each direction, both
//!   engines, with our ACKs sent per packet (the default) and coalesced per
//!   32-packet read batch;
//! * the kernel to itself over the same kind of path: kernel → TUN →
//!   a userspace forwarder (one `read` and one `write` per packet) → TUN →
//!   kernel, the two kernel ends in two namespaces;
//! * the kernel to itself over loopback in a namespace (64 KiB MTU, no TUN:
//!   the upper bound of the machine).
//!
//! Each figure is the median of [`RUNS`] transfers of [`BYTES`]; every byte
//! is checked on the receiving side.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant as WallClock};

use conformance::tun::app::{fill_pattern, first_pattern_mismatch};
use conformance::tun::{
    self, netns, Mode, NetNs, Payload, Session, TunConfig, TunDevice, TunDriver, KERNEL_ADDR,
};
use tcp_core::engine::Engine;
use tcp_core::{Config, PerStateEngine, TableEngine};

const BYTES: u64 = 64 << 20;
const RUNS: usize = 3;
const PORT: u16 = 6000;

fn mbit(bytes: u64, d: Duration) -> f64 {
    bytes as f64 * 8.0 / d.as_secs_f64() / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Kernel side of one transfer: accept, send `send` pattern bytes, read
/// until EOF checking the pattern; returns the bytes read.
fn kernel_peer(listener: TcpListener, send: u64) -> u64 {
    let (mut s, _) = listener.accept().unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        let mut off = 0;
        while off < send {
            let len = ((send - off) as usize).min(buf.len());
            fill_pattern(off, &mut buf[..len]);
            w.write_all(&buf[..len]).unwrap();
            off += len as u64;
        }
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert_eq!(first_pattern_mismatch(got, &buf[..n]), None);
        got += n as u64;
    }
    writer.join().unwrap();
    got
}

/// One transfer between our stack and the kernel, in the calling thread's
/// (private) namespace; returns the time from our SYN to the end of data.
fn ours_vs_kernel<E: Engine + Clone>(engine: E, to_kernel: bool, coalesce: bool) -> Duration {
    let config = Config {
        msl: Duration::from_millis(10),
        ..Config::default()
    };
    let mut drv: TunDriver<E> = tun::lab_driver(engine, config, 1, 64).unwrap();
    drv.set_ack_coalescing(coalesce);
    let listener = TcpListener::bind(SocketAddr::new(KERNEL_ADDR, PORT)).unwrap();
    let send = if to_kernel { 0 } else { BYTES };
    let kernel = std::thread::spawn(move || kernel_peer(listener, send));
    let start = WallClock::now();
    let now = drv.now();
    let h = drv
        .endpoint_mut()
        .connect(now, SocketAddr::new(KERNEL_ADDR, PORT))
        .unwrap();
    let (mode, payload, expect) = if to_kernel {
        (Mode::Source, Payload::Pattern(BYTES), None)
    } else {
        (Mode::Sink, Payload::Pattern(0), Some(BYTES))
    };
    let mut session = Session::new(h, mode, payload, expect).verify_pattern(true);
    let mut data_done = None;
    drv.run_until(Duration::from_secs(120), "the transfer", |d| {
        let now = d.now();
        session.pump(now, d.endpoint_mut());
        let moved = if to_kernel {
            session.sent() == BYTES && session.eof()
        } else {
            session.received() == BYTES
        };
        if moved && data_done.is_none() {
            data_done = Some(start.elapsed());
        }
        session.finished()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(session.error().is_none(), "{:?}", session.error());
    let got = kernel.join().unwrap();
    assert_eq!(got, if to_kernel { BYTES } else { 0 });
    data_done.unwrap_or_else(|| start.elapsed())
}

/// Kernel to kernel over loopback in the calling thread's namespace.
fn kernel_loopback() -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut off = 0;
        while off < BYTES {
            let len = ((BYTES - off) as usize).min(buf.len());
            fill_pattern(off, &mut buf[..len]);
            s.write_all(&buf[..len]).unwrap();
            off += len as u64;
        }
    });
    let start = WallClock::now();
    let got = kernel_peer(listener, 0);
    let d = start.elapsed();
    client.join().unwrap();
    assert_eq!(got, BYTES);
    d
}

/// Copies packets between two TUN devices until `stop`.
fn forward(a: &TunDevice, b: &TunDevice, stop: &AtomicBool) {
    let mut buf = vec![0u8; 65_536];
    let mut fds = [
        libc::pollfd {
            fd: a.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: b.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: two valid pollfds.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, 50) };
        for (from, to) in [(a, b), (b, a)] {
            for _ in 0..64 {
                match from.recv(&mut buf).unwrap() {
                    Some(n) => to.send(&buf[..n]).unwrap(),
                    None => break,
                }
            }
        }
    }
}

/// Kernel (namespace A, 10.98.0.1) to kernel (namespace B, 10.98.0.2)
/// through TUN A, a userspace forwarder and TUN B.
fn kernel_via_tun_forwarder() -> Duration {
    let ns_a = NetNs::new().unwrap();
    let ns_b = NetNs::new().unwrap();
    let addr_a = "10.98.0.1".parse().unwrap();
    let addr_b: std::net::IpAddr = "10.98.0.2".parse().unwrap();
    let dev_a = ns_a
        .spawn("fwd-a", move || {
            netns::prepare_namespace().unwrap();
            TunDevice::open(&TunConfig::new("fwd0", addr_a, 24)).unwrap()
        })
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    let (dev_b, listener) = ns_b
        .spawn("fwd-b", move || {
            netns::prepare_namespace().unwrap();
            let d = TunDevice::open(&TunConfig::new("fwd1", addr_b, 24)).unwrap();
            (d, TcpListener::bind(SocketAddr::new(addr_b, PORT)).unwrap())
        })
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let forwarder = std::thread::spawn(move || forward(&dev_a, &dev_b, &stop2));
    let client = ns_a
        .spawn("fwd-client", move || {
            let mut s = TcpStream::connect(SocketAddr::new(addr_b, PORT)).unwrap();
            let mut buf = vec![0u8; 256 * 1024];
            let mut off = 0;
            while off < BYTES {
                let len = ((BYTES - off) as usize).min(buf.len());
                fill_pattern(off, &mut buf[..len]);
                s.write_all(&buf[..len]).unwrap();
                off += len as u64;
            }
        })
        .unwrap();
    let start = WallClock::now();
    let got = kernel_peer(listener, 0);
    let d = start.elapsed();
    client.join().unwrap().unwrap();
    stop.store(true, Ordering::Relaxed);
    forwarder.join().unwrap();
    assert_eq!(got, BYTES);
    d
}

#[test]
#[ignore = "measurement: run with --ignored --nocapture (as root)"]
fn kernel_tun_throughput_report() {
    if !tun::require_kernel_peer("kernel_tun_throughput_report") {
        return;
    }
    println!(
        "{} MiB per transfer, median of {RUNS}, every byte checked",
        BYTES >> 20
    );
    for (label, to_kernel) in [("ours -> kernel", true), ("kernel -> ours", false)] {
        for coalesce in [false, true] {
            for engine in ["table", "per-state"] {
                let runs: Vec<f64> = (0..RUNS)
                    .map(|_| {
                        let d = netns::run_isolated("tput", move || match engine {
                            "table" => ours_vs_kernel(TableEngine, to_kernel, coalesce),
                            _ => ours_vs_kernel(PerStateEngine, to_kernel, coalesce),
                        })
                        .unwrap();
                        mbit(BYTES, d)
                    })
                    .collect();
                println!(
                    "{label:<16} {engine:<9} ACKs {:<9} {:>7.0} Mbit/s",
                    if coalesce { "batched" } else { "per-pkt" },
                    median(runs)
                );
            }
        }
    }
    let runs: Vec<f64> = (0..RUNS)
        .map(|_| mbit(BYTES, kernel_via_tun_forwarder()))
        .collect();
    println!(
        "kernel -> TUN -> userspace forwarder -> TUN -> kernel {:>7.0} Mbit/s",
        median(runs)
    );
    let runs: Vec<f64> = (0..RUNS)
        .map(|_| mbit(BYTES, netns::run_isolated("loop", kernel_loopback).unwrap()))
        .collect();
    println!(
        "kernel -> kernel, loopback in a namespace {:>7.0} Mbit/s",
        median(runs)
    );
}

//! The Linux kernel as a peer (DESIGN "Conformance" item 5): our stack on
//! one side of a TUN device, kernel sockets on the other.
//!
//! * [`device`]: the TUN device (`IFF_TUN | IFF_NO_PI`, one IP packet per
//!   read/write), its addresses, MTU and queue;
//! * [`netns`]: private, anonymous network namespaces and the run-and-check
//!   wrapper the tests use ([`netns::run_isolated`]);
//! * [`driver`]: an [`Endpoint`](tcp_core::Endpoint) run on real time over
//!   the device, with packet holding, capture and injection for tests;
//! * [`kernel`]: the kernel's view (`TCP_INFO`, `/proc/net/tcp`, MIB
//!   counters) and the socket calls `std::net` lacks;
//! * [`app`]: the echo / sink / source application and the test pattern;
//! * [`dump`]: the tcpdump-like packet log.
//!
//! The addresses: the kernel owns [`KERNEL_ADDR`] on the device and routes
//! [`PREFIX_LEN`] into it; our stack owns [`OUR_ADDR`]. Both are private
//! (RFC 1918) and, in the tests, exist only inside the namespace.

pub mod app;
pub mod device;
pub mod driver;
pub mod dump;
pub mod kernel;
pub mod netns;

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tcp_core::engine::Engine;
use tcp_core::seq::SeqNum;
use tcp_core::wire::{ip, Flags, TcpHeader, TcpOptions, WireError};
use tcp_core::{Config, Endpoint};

pub use app::{Mode, Payload, Session, SessionError};
pub use device::{DeviceError, TunConfig, TunDevice};
pub use driver::{DriverError, DriverStats, TunDriver};
pub use dump::{Direction, PacketLog, SegmentSummary};
pub use kernel::{KernelTcpState, TcpInfo};
pub use netns::{NetNs, NetnsError};

/// The kernel's address on the TUN link.
pub const KERNEL_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1));
/// Our stack's address on the TUN link.
pub const OUR_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2));
/// The link's prefix length.
pub const PREFIX_LEN: u8 = 24;
/// The device name used inside test namespaces (each has its own).
pub const TEST_DEVICE: &str = "tfsm0";

/// Creates [`TEST_DEVICE`] (kernel at [`KERNEL_ADDR`]) in the calling
/// thread's namespace and an endpoint at [`OUR_ADDR`] driven over it.
pub fn lab_driver<E: Engine + Clone>(
    engine: E,
    config: Config,
    seed: u64,
    log_capacity: usize,
) -> Result<TunDriver<E>, DeviceError> {
    let dev = TunDevice::open(&TunConfig::new(TEST_DEVICE, KERNEL_ADDR, PREFIX_LEN))?;
    let ep = Endpoint::new(config, vec![OUR_ADDR], engine, seed);
    Ok(TunDriver::new(dev, ep, log_capacity))
}

/// An IP packet carrying one crafted TCP segment from `src` to `dst`
/// (checksums computed), for injection.
pub fn craft_segment(
    src: SocketAddr,
    dst: SocketAddr,
    flags: Flags,
    seq: SeqNum,
    ack: SeqNum,
    window: u16,
    payload: &[u8],
) -> Result<Vec<u8>, WireError> {
    let header = TcpHeader {
        src_port: src.port(),
        dst_port: dst.port(),
        seq,
        ack,
        flags,
        window,
        urgent: 0,
        options: TcpOptions::default(),
    };
    let mut buf = vec![0u8; 60 + 40 + payload.len()];
    let n = ip::emit_ip_tcp(src, dst, &header, payload, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// Whether this process can run the kernel-peer harness: it is root (or
/// holds CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun` exists. The
/// error says what is missing.
pub fn kernel_peer_available() -> Result<(), String> {
    if !std::path::Path::new(device::TUN_CLONE_DEVICE).exists() {
        return Err(format!("{} does not exist", device::TUN_CLONE_DEVICE));
    }
    // SAFETY: geteuid(2) cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Err(format!("not running as root (euid {euid})"));
    }
    // Root in a restricted container may still lack the capabilities.
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(device::TUN_CLONE_DEVICE)
        .map_err(|e| format!("cannot open {}: {e}", device::TUN_CLONE_DEVICE))?;
    NetNs::new().map_err(|e| format!("cannot make a network namespace: {e}"))?;
    Ok(())
}

/// The gate of every kernel-peer test, by the project's rule: when the
/// harness can run, `true`; when it cannot, print a loud `SKIPPED` line and
/// return `false` — except under CI (`CI` set, and not empty or `false`),
/// where a skip would hide a broken set-up, so it panics.
pub fn require_kernel_peer(test: &str) -> bool {
    match kernel_peer_available() {
        Ok(()) => true,
        Err(why) => {
            let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
            if in_ci {
                panic!("{test}: the kernel-peer harness cannot run under CI: {why}");
            }
            // Straight to the process's stderr, past the test harness's
            // output capture, so that the skip shows in a plain `cargo test`.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED (needs root and /dev/net/tun): {test} did NOT run: {why} ***\n"
            );
            false
        }
    }
}

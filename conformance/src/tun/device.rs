//! A Linux TUN device: one IP packet per `read(2)`/`write(2)`.
//!
//! The device is opened with `IFF_TUN | IFF_NO_PI` (no packet-information
//! prefix, so a read returns exactly one IPv4 or IPv6 packet) and is not
//! persistent: it disappears when its file descriptor is closed, i.e. when
//! the [`TunDevice`] is dropped. It is created in the network namespace of
//! the calling *thread* (see [`super::netns`]).
//!
//! The kernel side of the device gets an address (`kernel_addr/prefix_len`),
//! so the kernel routes that prefix into the device; our stack owns another
//! address of the prefix and reads the packets. IPv4 is configured with the
//! classic interface ioctls (`SIOCSIFADDR`, `SIOCSIFNETMASK`, `SIOCSIFMTU`,
//! `SIOCSIFTXQLEN`, `SIOCSIFFLAGS`), IPv6 with `ip -6 addr add ... nodad`
//! from iproute2.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;
use std::time::Duration;

use thiserror::Error;

/// Where the clone device lives (Documentation/networking/tuntap.rst).
pub const TUN_CLONE_DEVICE: &str = "/dev/net/tun";

/// `IFNAMSIZ` from `<linux/if.h>`: 15 characters and the NUL.
const IFNAMSIZ: usize = 16;

/// `struct ifreq` from `<linux/if.h>`: the name and a 24-byte union, of
/// which the ioctls used here read a `short` (flags), an `int` (MTU, queue
/// length) or a `struct sockaddr` (address, netmask).
#[repr(C)]
struct IfReq {
    name: [u8; IFNAMSIZ],
    data: [u8; 24],
}

impl IfReq {
    fn new(name: &str) -> IfReq {
        let mut r = IfReq {
            name: [0; IFNAMSIZ],
            data: [0; 24],
        };
        let bytes = name.as_bytes();
        r.name[..bytes.len()].copy_from_slice(bytes);
        r
    }

    fn set_short(&mut self, v: i16) {
        self.data[..2].copy_from_slice(&v.to_ne_bytes());
    }

    fn short(&self) -> i16 {
        i16::from_ne_bytes([self.data[0], self.data[1]])
    }

    fn set_int(&mut self, v: i32) {
        self.data[..4].copy_from_slice(&v.to_ne_bytes());
    }

    /// A `struct sockaddr_in` (family, port 0, address).
    fn set_sockaddr_in(&mut self, addr: [u8; 4]) {
        self.data = [0; 24];
        self.data[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        self.data[4..8].copy_from_slice(&addr);
    }
}

/// How to set up the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunConfig {
    /// Interface name, at most 15 bytes.
    pub name: String,
    /// The kernel's address on the device (the kernel side of the link).
    pub kernel_addr: IpAddr,
    /// Prefix length routed into the device (e.g. 24).
    pub prefix_len: u8,
    /// Link MTU; the kernel segments to it (TUN offers no offloads here).
    pub mtu: u32,
    /// Packets the kernel queues towards us before it drops (the
    /// device's `txqueuelen`, which sizes the TUN ring).
    pub txqueuelen: u32,
}

impl TunConfig {
    /// `name` with the kernel at `kernel_addr/prefix_len`, MTU 1500 and a
    /// 4096-packet queue (the default 500 drops bursts of a fast sender
    /// while our side is busy).
    pub fn new(name: &str, kernel_addr: IpAddr, prefix_len: u8) -> TunConfig {
        TunConfig {
            name: name.to_string(),
            kernel_addr,
            prefix_len,
            mtu: 1500,
            txqueuelen: 4096,
        }
    }
}

/// Errors of creating and configuring a TUN device.
#[derive(Debug, Error)]
pub enum DeviceError {
    #[error("interface name {0:?} is empty, longer than 15 bytes or contains '/', ':', NUL or whitespace")]
    BadName(String),
    #[error("prefix length /{prefix} is too long for {addr}")]
    BadPrefix { addr: IpAddr, prefix: u8 },
    #[error("cannot open {TUN_CLONE_DEVICE}: {0}")]
    Open(#[source] io::Error),
    #[error("cannot create TUN device {name}: {source}")]
    Create {
        name: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot configure {name} ({what}): {source}")]
    Configure {
        name: String,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("`ip {args}` failed: {detail}")]
    IpCommand { args: String, detail: String },
}

impl DeviceError {
    /// The failure was a missing privilege (EPERM/EACCES): the caller is not
    /// root and has no CAP_NET_ADMIN in its network namespace.
    pub fn is_permission_denied(&self) -> bool {
        let e = match self {
            DeviceError::Open(e) => e,
            DeviceError::Create { source, .. } | DeviceError::Configure { source, .. } => source,
            _ => return false,
        };
        matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
    }
}

/// An open, non-blocking TUN device; closed (and so removed) on drop.
#[derive(Debug)]
pub struct TunDevice {
    fd: OwnedFd,
    name: String,
}

fn check_name(name: &str) -> Result<(), DeviceError> {
    let bad = name.is_empty()
        || name.len() >= IFNAMSIZ
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace());
    if bad {
        return Err(DeviceError::BadName(name.to_string()));
    }
    Ok(())
}

/// A datagram socket to issue interface ioctls on (in the calling thread's
/// network namespace).
fn ioctl_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) has no memory-safety preconditions.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq_ioctl(fd: RawFd, request: libc::Ioctl, req: &mut IfReq) -> io::Result<()> {
    // SAFETY: `req` is a valid, writable `struct ifreq` for the duration of
    // the call, which is what every SIOC*IF* request and TUNSETIFF expect.
    let r = unsafe { libc::ioctl(fd, request, req as *mut IfReq) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl TunDevice {
    /// Creates the device `name` in the calling thread's network namespace
    /// (it must not exist), without configuring it.
    pub fn create(name: &str) -> Result<TunDevice, DeviceError> {
        check_name(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(TUN_CLONE_DEVICE)
            .map_err(DeviceError::Open)?;
        let fd = OwnedFd::from(file);
        let mut req = IfReq::new(name);
        // IFF_TUN: IP packets, no Ethernet header; IFF_NO_PI: no 4-byte
        // packet-information prefix (Documentation/networking/tuntap.rst).
        req.set_short((libc::IFF_TUN | libc::IFF_NO_PI) as i16);
        ifreq_ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req).map_err(|source| {
            DeviceError::Create {
                name: name.to_string(),
                source,
            }
        })?;
        // The kernel may have adjusted the name (e.g. for "tun%d").
        let end = req.name.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
        let actual = String::from_utf8_lossy(&req.name[..end]).into_owned();
        Ok(TunDevice { fd, name: actual })
    }

    /// Creates the device and configures it: MTU, queue length, the
    /// kernel's address and prefix, and up.
    pub fn open(config: &TunConfig) -> Result<TunDevice, DeviceError> {
        let dev = TunDevice::create(&config.name)?;
        dev.configure(config)?;
        Ok(dev)
    }

    /// Applies `config` (its `name` is ignored: this device is configured).
    pub fn configure(&self, config: &TunConfig) -> Result<(), DeviceError> {
        let max_prefix = if config.kernel_addr.is_ipv4() {
            32
        } else {
            128
        };
        if config.prefix_len > max_prefix {
            return Err(DeviceError::BadPrefix {
                addr: config.kernel_addr,
                prefix: config.prefix_len,
            });
        }
        let sock = ioctl_socket().map_err(|e| self.configure_error("socket", e))?;
        let fd = sock.as_raw_fd();
        let mut req = IfReq::new(&self.name);
        req.set_int(i32::try_from(config.mtu).unwrap_or(i32::MAX));
        ifreq_ioctl(fd, libc::SIOCSIFMTU, &mut req).map_err(|e| self.configure_error("mtu", e))?;
        let mut req = IfReq::new(&self.name);
        req.set_int(i32::try_from(config.txqueuelen).unwrap_or(i32::MAX));
        ifreq_ioctl(fd, libc::SIOCSIFTXQLEN, &mut req)
            .map_err(|e| self.configure_error("txqueuelen", e))?;
        match config.kernel_addr {
            IpAddr::V4(a) => {
                // An IPv4-only link: no IPv6 link-local chatter (router and
                // multicast listener solicitations) in our packet logs.
                // Best effort: IPv6 may be disabled on this kernel.
                let _ = super::netns::write_sysctl(
                    &format!("net/ipv6/conf/{}/disable_ipv6", self.name),
                    "1",
                );
                let mut req = IfReq::new(&self.name);
                req.set_sockaddr_in(a.octets());
                ifreq_ioctl(fd, libc::SIOCSIFADDR, &mut req)
                    .map_err(|e| self.configure_error("address", e))?;
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(config.prefix_len))
                    .unwrap_or(0);
                let mut req = IfReq::new(&self.name);
                req.set_sockaddr_in(mask.to_be_bytes());
                ifreq_ioctl(fd, libc::SIOCSIFNETMASK, &mut req)
                    .map_err(|e| self.configure_error("netmask", e))?;
                self.set_up(fd)?;
            }
            IpAddr::V6(a) => {
                self.set_up(fd)?;
                // `nodad`: the address is usable at once (no Duplicate
                // Address Detection delay, RFC 4862 §5.4).
                run_ip(&[
                    "-6",
                    "addr",
                    "add",
                    &format!("{a}/{}", config.prefix_len),
                    "dev",
                    &self.name,
                    "nodad",
                ])?;
            }
        }
        Ok(())
    }

    fn set_up(&self, fd: RawFd) -> Result<(), DeviceError> {
        let mut req = IfReq::new(&self.name);
        ifreq_ioctl(fd, libc::SIOCGIFFLAGS, &mut req)
            .map_err(|e| self.configure_error("get flags", e))?;
        let flags = req.short() | (libc::IFF_UP | libc::IFF_RUNNING) as i16;
        req.set_short(flags);
        ifreq_ioctl(fd, libc::SIOCSIFFLAGS, &mut req).map_err(|e| self.configure_error("up", e))
    }

    fn configure_error(&self, what: &'static str, source: io::Error) -> DeviceError {
        DeviceError::Configure {
            name: self.name.clone(),
            what,
            source,
        }
    }

    /// The interface name the kernel gave the device.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads one packet; `Ok(None)` when none is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            if n >= 0 {
                return Ok(Some(n as usize));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => return Ok(None),
                io::ErrorKind::Interrupted => continue,
                _ => return Err(e),
            }
        }
    }

    /// Writes one packet (the kernel receives it as if from the link).
    pub fn send(&self, packet: &[u8]) -> io::Result<()> {
        loop {
            // SAFETY: `packet` is valid for reads of `packet.len()` bytes.
            let n = unsafe {
                libc::write(
                    self.fd.as_raw_fd(),
                    packet.as_ptr().cast::<libc::c_void>(),
                    packet.len(),
                )
            };
            if n >= 0 {
                if n as usize != packet.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("short TUN write: {n} of {} bytes", packet.len()),
                    ));
                }
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {
                    poll_fd(
                        self.fd.as_raw_fd(),
                        libc::POLLOUT,
                        Some(Duration::from_millis(10)),
                    )?;
                }
                _ => return Err(e),
            }
        }
    }

    /// Waits until a packet can be read or `timeout` passes (`None`: no
    /// limit); returns whether one can be read.
    pub fn wait_readable(&self, timeout: Option<Duration>) -> io::Result<bool> {
        poll_fd(self.fd.as_raw_fd(), libc::POLLIN, timeout)
    }
}

impl AsRawFd for TunDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// poll(2) on one descriptor; a timeout is rounded up to whole milliseconds
/// so that a deadline in 0.3 ms is not a busy loop.
pub fn poll_fd(fd: RawFd, events: libc::c_short, timeout: Option<Duration>) -> io::Result<bool> {
    let ms: libc::c_int = match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    };
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    loop {
        // SAFETY: one valid `pollfd`, count 1.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r >= 0 {
            return Ok(r > 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Runs `ip ARGS` (iproute2) in the calling thread's network namespace.
pub fn run_ip(args: &[&str]) -> Result<(), DeviceError> {
    let joined = args.join(" ");
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| DeviceError::IpCommand {
            args: joined.clone(),
            detail: format!("cannot run ip: {e}"),
        })?;
    if !out.status.success() {
        return Err(DeviceError::IpCommand {
            args: joined,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// The interface index of `name` in the calling thread's network namespace,
/// if it exists.
pub fn interface_index(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// Names of every interface in the calling thread's network namespace.
pub fn interface_names() -> io::Result<Vec<String>> {
    // SAFETY: if_nameindex(3) returns a heap array terminated by a zero
    // entry, or NULL on error; it is freed once, below.
    let list = unsafe { libc::if_nameindex() };
    if list.is_null() {
        return Err(io::Error::last_os_error());
    }
    let mut names = Vec::new();
    let mut p = list;
    // SAFETY: walking the array up to its terminating entry; each
    // `if_name` is a NUL-terminated string owned by the array.
    unsafe {
        while (*p).if_index != 0 && !(*p).if_name.is_null() {
            let name = std::ffi::CStr::from_ptr((*p).if_name);
            names.push(name.to_string_lossy().into_owned());
            p = p.add(1);
        }
        libc::if_freenameindex(list);
    }
    Ok(names)
}

/// Brings the loopback interface up (a fresh namespace has it down).
pub fn loopback_up() -> Result<(), DeviceError> {
    let sock = ioctl_socket().map_err(|source| DeviceError::Configure {
        name: "lo".into(),
        what: "socket",
        source,
    })?;
    let mut req = IfReq::new("lo");
    let err = |what: &'static str| {
        move |source| DeviceError::Configure {
            name: "lo".into(),
            what,
            source,
        }
    };
    ifreq_ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req).map_err(err("get flags"))?;
    req.set_short(req.short() | (libc::IFF_UP | libc::IFF_RUNNING) as i16);
    ifreq_ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &mut req).map_err(err("up"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_name_rejects_bad_interface_names() {
        assert!(check_name("tfsm0").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a-name-too-long-x").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("a b").is_err());
    }

    #[test]
    fn ifreq_layout_matches_linux() {
        // struct ifreq is 40 bytes on Linux (16-byte name, 24-byte union).
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
        let mut r = IfReq::new("tun0");
        r.set_sockaddr_in([10, 99, 0, 1]);
        assert_eq!(&r.name[..5], b"tun0\0");
        assert_eq!(&r.data[4..8], &[10, 99, 0, 1]);
    }
}

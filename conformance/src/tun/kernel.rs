//! The kernel's view of its TCP sockets: `getsockopt(TCP_INFO)` for a socket
//! we hold, `/proc/thread-self/net/tcp{,6}` for sockets we cannot hold
//! (request sockets, orphans after `close`, TIME-WAIT), the `TcpExt` MIB
//! counters, and the few socket calls `std::net` lacks (non-blocking
//! connect, `SO_LINGER`).

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use tcp_core::TcpState;

/// `enum` of `include/net/tcp_states.h` (the value of `tcpi_state` and of
/// the `st` column of `/proc/net/tcp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelTcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
}

impl KernelTcpState {
    pub fn from_raw(v: u8) -> Option<KernelTcpState> {
        use KernelTcpState::*;
        Some(match v {
            1 => Established,
            2 => SynSent,
            3 => SynRecv,
            4 => FinWait1,
            5 => FinWait2,
            6 => TimeWait,
            7 => Close,
            8 => CloseWait,
            9 => LastAck,
            10 => Listen,
            11 => Closing,
            12 => NewSynRecv,
            _ => return None,
        })
    }

    /// The RFC 9293 state this kernel state stands for (`TCP_CLOSE` is
    /// CLOSED; a request socket is SYN-RECEIVED).
    pub fn as_rfc(self) -> TcpState {
        use KernelTcpState::*;
        match self {
            Established => TcpState::Established,
            SynSent => TcpState::SynSent,
            SynRecv | NewSynRecv => TcpState::SynReceived,
            FinWait1 => TcpState::FinWait1,
            FinWait2 => TcpState::FinWait2,
            TimeWait => TcpState::TimeWait,
            Close => TcpState::Closed,
            CloseWait => TcpState::CloseWait,
            LastAck => TcpState::LastAck,
            Listen => TcpState::Listen,
            Closing => TcpState::Closing,
        }
    }
}

/// `TCPI_OPT_*` bits of `tcpi_options` (`include/uapi/linux/tcp.h`).
pub const TCPI_OPT_TIMESTAMPS: u8 = 1;
pub const TCPI_OPT_SACK: u8 = 2;
pub const TCPI_OPT_WSCALE: u8 = 4;

/// The fields of `struct tcp_info` the harness reads. Offsets follow
/// `include/uapi/linux/tcp.h`; fields past what the kernel returned are 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// Raw `tcpi_state`.
    pub state_raw: u8,
    pub options: u8,
    /// Shift the kernel applies to our window field.
    pub snd_wscale: u8,
    /// Shift the kernel applies to its own window field.
    pub rcv_wscale: u8,
    pub rto_us: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub unacked: u32,
    pub retrans: u32,
    pub rtt_us: u32,
    pub snd_cwnd: u32,
    pub total_retrans: u32,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_out: u32,
    pub segs_in: u32,
}

impl TcpInfo {
    pub fn state(&self) -> Option<KernelTcpState> {
        KernelTcpState::from_raw(self.state_raw)
    }

    fn parse(b: &[u8]) -> TcpInfo {
        let u8_at = |o: usize| b.get(o).copied().unwrap_or(0);
        let u32_at = |o: usize| {
            b.get(o..o + 4)
                .and_then(|s| s.try_into().ok())
                .map(u32::from_ne_bytes)
                .unwrap_or(0)
        };
        let u64_at = |o: usize| {
            b.get(o..o + 8)
                .and_then(|s| s.try_into().ok())
                .map(u64::from_ne_bytes)
                .unwrap_or(0)
        };
        let ws = u8_at(6);
        TcpInfo {
            state_raw: u8_at(0),
            options: u8_at(5),
            // `__u8 tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4;` (low bits first).
            snd_wscale: ws & 0x0f,
            rcv_wscale: ws >> 4,
            rto_us: u32_at(8),
            snd_mss: u32_at(16),
            rcv_mss: u32_at(20),
            unacked: u32_at(24),
            retrans: u32_at(36),
            rtt_us: u32_at(68),
            snd_cwnd: u32_at(80),
            total_retrans: u32_at(100),
            bytes_acked: u64_at(120),
            bytes_received: u64_at(128),
            segs_out: u32_at(136),
            segs_in: u32_at(140),
        }
    }
}

/// `getsockopt(fd, IPPROTO_TCP, TCP_INFO)`.
pub fn tcp_info(sock: &impl AsRawFd) -> io::Result<TcpInfo> {
    let mut buf = [0u8; 256];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` is writable for `len` bytes; the kernel writes at most that.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            buf.as_mut_ptr().cast::<libc::c_void>(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(TcpInfo::parse(&buf[..(len as usize).min(buf.len())]))
}

/// The kernel's state of a socket we hold.
pub fn kernel_state(sock: &impl AsRawFd) -> io::Result<KernelTcpState> {
    let info = tcp_info(sock)?;
    info.state().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unknown tcpi_state {}", info.state_raw),
        )
    })
}

fn setsockopt_raw<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` is a valid `T` for the duration of the call and the
    // length passed is its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `SO_LINGER {on, 0}`: `close` then aborts with a RST (RFC 9293 §3.10.5
/// ABORT, as Linux implements it).
pub fn set_linger_zero(sock: &impl AsRawFd) -> io::Result<()> {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    setsockopt_raw(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_LINGER, &l)
}

fn sockaddr_of(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// Starts a kernel active open to `remote` without waiting for it: the
/// socket is non-blocking and in SYN-SENT when this returns (the SYN is in
/// the device queue). Poll it with [`kernel_state`].
pub fn connect_nonblocking(remote: SocketAddr) -> io::Result<TcpStream> {
    let family = if remote.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: socket(2) has no memory-safety preconditions.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let (ss, len) = sockaddr_of(remote);
    // SAFETY: `ss` holds a sockaddr of `len` bytes.
    let r = unsafe {
        libc::connect(
            owned.as_raw_fd(),
            (&ss as *const libc::sockaddr_storage).cast::<libc::sockaddr>(),
            len,
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    Ok(TcpStream::from(owned))
}

/// One line of `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcTcpEntry {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: Option<KernelTcpState>,
    pub state_raw: u8,
}

fn parse_proc_addr(s: &str) -> Option<SocketAddr> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    // The kernel prints each 32-bit word of the (network-order) address as
    // a native-endian `%08X`.
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(a.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_ne_bytes())
    };
    let ip = match a.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Parses the text of `/proc/net/tcp{,6}` (lines it cannot read are skipped).
pub fn parse_proc_net_tcp(text: &str) -> Vec<ProcTcpEntry> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let _sl = f.next()?;
            let local = parse_proc_addr(f.next()?)?;
            let remote = parse_proc_addr(f.next()?)?;
            let st = u8::from_str_radix(f.next()?, 16).ok()?;
            Some(ProcTcpEntry {
                local,
                remote,
                state: KernelTcpState::from_raw(st),
                state_raw: st,
            })
        })
        .collect()
}

/// Every TCP socket of the calling thread's namespace, listeners, request
/// sockets and TIME-WAIT included.
pub fn proc_net_tcp() -> io::Result<Vec<ProcTcpEntry>> {
    let mut all = parse_proc_net_tcp(&fs::read_to_string("/proc/thread-self/net/tcp")?);
    // tcp6 is absent when IPv6 is disabled.
    if let Ok(t) = fs::read_to_string("/proc/thread-self/net/tcp6") {
        all.extend(parse_proc_net_tcp(&t));
    }
    Ok(all)
}

/// The kernel's state for the connection `local` (kernel side) ↔ `remote`,
/// if the kernel has one.
pub fn proc_state(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<KernelTcpState>> {
    Ok(proc_net_tcp()?
        .into_iter()
        .find(|e| e.local == local && e.remote == remote)
        .and_then(|e| e.state))
}

/// A `TcpExt` counter of the calling thread's namespace (e.g.
/// `TCPChallengeACK`), from `/proc/thread-self/net/netstat`.
pub fn tcp_ext_counter(name: &str) -> io::Result<Option<u64>> {
    let text = fs::read_to_string("/proc/thread-self/net/netstat")?;
    Ok(mib_counter(&text, "TcpExt:", name))
}

/// A counter from a `/proc/net/netstat`- or `/proc/net/snmp`-style text:
/// a header line of names and a line of values, both starting with `group`.
pub fn mib_counter(text: &str, group: &str, name: &str) -> Option<u64> {
    let mut lines = text.lines().filter(|l| l.starts_with(group));
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let i = names.split_whitespace().position(|n| n == name);
        if let Some(i) = i {
            return values.split_whitespace().nth(i)?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp_line_parses_addresses_and_state() {
        // 10.99.0.1:5000 <-> 10.99.0.2:49152 in TIME_WAIT, as a
        // little-endian kernel prints it.
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100630A:1388 0200630A:C000 06 00000000:00000000 03:00000F8A 00000000     0        0 0 3 0000000000000000\n";
        let e = parse_proc_net_tcp(text);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].local, "10.99.0.1:5000".parse().unwrap());
        assert_eq!(e[0].remote, "10.99.0.2:49152".parse().unwrap());
        assert_eq!(e[0].state, Some(KernelTcpState::TimeWait));
    }

    #[test]
    fn mib_counter_finds_named_column() {
        let text =
            "TcpExt: SyncookiesSent TCPChallengeACK\nTcpExt: 0 7\nIpExt: InNoRoutes\nIpExt: 1\n";
        assert_eq!(mib_counter(text, "TcpExt:", "TCPChallengeACK"), Some(7));
        assert_eq!(mib_counter(text, "IpExt:", "InNoRoutes"), Some(1));
        assert_eq!(mib_counter(text, "TcpExt:", "Nope"), None);
    }

    #[test]
    fn kernel_states_map_to_rfc_states() {
        assert_eq!(KernelTcpState::from_raw(6), Some(KernelTcpState::TimeWait));
        assert_eq!(
            KernelTcpState::from_raw(12).map(KernelTcpState::as_rfc),
            Some(TcpState::SynReceived)
        );
        assert_eq!(KernelTcpState::from_raw(0), None);
        assert_eq!(KernelTcpState::Close.as_rfc(), TcpState::Closed);
    }

    #[test]
    fn tcp_info_parse_reads_linux_offsets() {
        let mut b = [0u8; 160];
        b[0] = 1;
        b[5] = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK;
        b[6] = 0x73; // snd_wscale 3, rcv_wscale 7
        b[140..144].copy_from_slice(&9u32.to_ne_bytes());
        let i = TcpInfo::parse(&b);
        assert_eq!(i.state(), Some(KernelTcpState::Established));
        assert_eq!((i.snd_wscale, i.rcv_wscale), (3, 7));
        assert_eq!(i.segs_in, 9);
        // A short answer leaves the later fields zero.
        assert_eq!(TcpInfo::parse(&b[..8]).segs_in, 0);
    }
}

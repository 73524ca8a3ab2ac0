//! The FreeBSD profile: what the corpus's `sysctl` lines and socket options
//! mean for our stack, and the timer values FreeBSD uses.
//!
//! The `freebsd-net/tcp-testsuite` scripts were written against FreeBSD's
//! TCP, so they encode FreeBSD's defaults: a 64 KiB receive buffer
//! (`net.inet.tcp.recvspace`), a 1 s initial retransmission timeout
//! (`net.inet.tcp.rexmit_initial`), a 100 ms delayed ACK
//! (`net.inet.tcp.delacktime`), a 30 s MSL (`net.inet.tcp.msl`, so
//! TIME-WAIT lasts 60 s), window scale 6 and a millisecond timestamp clock.
//! The profile starts from those defaults and turns every `sysctl -w` line
//! into one of four things:
//!
//! * a setting of [`Config`] (the sysctl selects behaviour the stack models);
//! * nothing, because the line only restores the FreeBSD default, or
//!   performs an action with no lasting state (`hostcache.purgenow`), or
//!   selects a value that only changes what lenient mode does not compare
//!   (the socket-buffer limit, which only changes FreeBSD's window scale);
//! * nothing, because the line selects a FreeBSD policy that deliberately
//!   departs from RFC 9293 and our stack follows the RFC instead
//!   (`drop_synfin=1`): the scripts that depend on it are listed in the
//!   `known-divergences` file;
//! * a reason to SKIP the script: the line selects behaviour the stack does
//!   not model (ECN, SYN cookies, a changed keepinit, ...).

use std::collections::BTreeMap;

use tcp_core::config::Config;
use tcp_core::time::Duration;

use super::ast::IpVersion;

/// How outbound segments are compared with the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompareMode {
    /// The default for the FreeBSD corpus: the window field, the option
    /// layout (order and NOP/EOL padding), the window-scale shift and the
    /// timestamp value are FreeBSD's choices and are not compared; which
    /// options are present, MSS values, SACK blocks and timestamp echoes are.
    #[default]
    Lenient,
    /// Packetdrill's own rules: the window field and the option bytes (all
    /// but TSval) must be exactly as written.
    Strict,
}

impl CompareMode {
    /// `lenient` or `strict`.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareMode::Lenient => "lenient",
            CompareMode::Strict => "strict",
        }
    }
}

/// What a known sysctl does under the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SysctlKind {
    /// Sets a [`Config`] value (see [`FreeBsdProfile::config`]).
    Modelled,
    /// Performs an action that leaves no state behind.
    Action,
    /// Selects FreeBSD behaviour the stack does not model: only the default
    /// value is accepted. The text says what is not modelled.
    DefaultOnly(&'static str),
    /// A FreeBSD policy that departs from RFC 9293 on purpose; the stack
    /// follows the RFC whatever the value (see `known-divergences`).
    Deviation,
    /// Only changes values that lenient mode does not compare; strict mode
    /// accepts only the default. The text says what it changes.
    LenientOnly(&'static str),
    /// An RFC 5961 switch (`insecure_rst`, `insecure_syn`): `1` turns the
    /// RFC 5961 handling off.
    Rfc5961(Rfc5961Switch),
}

/// The two RFC 5961 behaviours FreeBSD can turn off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rfc5961Switch {
    /// RFC 5961 §3: in-window RSTs that are not exact get a challenge ACK.
    Rst,
    /// RFC 5961 §4: SYNs in synchronized states get a challenge ACK.
    Syn,
}

/// The sysctls the profile knows, with FreeBSD's default values.
const SYSCTLS: &[(&str, &str, SysctlKind)] = &[
    ("net.inet.tcp.rfc1323", "1", SysctlKind::Modelled),
    ("net.inet.tcp.sack.enable", "1", SysctlKind::Modelled),
    ("net.inet.tcp.recvspace", "65536", SysctlKind::Modelled),
    ("net.inet.tcp.sendspace", "32768", SysctlKind::Modelled),
    ("net.inet.tcp.delacktime", "100", SysctlKind::Modelled),
    ("net.inet.tcp.rexmit_initial", "1000", SysctlKind::Modelled),
    ("net.inet.tcp.rexmit_min", "30", SysctlKind::Modelled),
    ("net.inet.tcp.msl", "30000", SysctlKind::Modelled),
    (
        "net.inet.tcp.insecure_rst",
        "0",
        SysctlKind::Rfc5961(Rfc5961Switch::Rst),
    ),
    (
        "net.inet.tcp.insecure_syn",
        "0",
        SysctlKind::Rfc5961(Rfc5961Switch::Syn),
    ),
    ("net.inet.tcp.drop_synfin", "0", SysctlKind::Deviation),
    ("net.inet.tcp.hostcache.purgenow", "1", SysctlKind::Action),
    (
        "kern.ipc.maxsockbuf",
        "2097152",
        SysctlKind::LenientOnly(
            "the socket-buffer limit only sets the window scale FreeBSD offers",
        ),
    ),
    (
        "net.inet.tcp.blackhole",
        "0",
        SysctlKind::DefaultOnly("blackholing (no RST for closed ports)"),
    ),
    (
        "net.inet.tcp.ecn.enable",
        "2",
        SysctlKind::DefaultOnly("ECN (RFC 3168) is not modelled"),
    ),
    (
        "net.inet.tcp.ecn.maxretries",
        "1",
        SysctlKind::DefaultOnly("ECN (RFC 3168) is not modelled"),
    ),
    ("net.inet.tcp.rexmit_slop", "200", SysctlKind::Modelled),
    (
        "net.inet.tcp.rexmit_drop_options",
        "0",
        SysctlKind::Modelled,
    ),
    (
        "net.inet.tcp.keepinit",
        "75000",
        SysctlKind::DefaultOnly("the connection-establishment timer (keepinit) has no Config knob"),
    ),
    (
        "net.inet.tcp.tolerate_missing_ts",
        "0",
        SysctlKind::DefaultOnly("accepting segments without a negotiated TSopt is not modelled"),
    ),
    (
        "net.inet.tcp.syncookies",
        "1",
        SysctlKind::DefaultOnly("SYN cookies are not modelled"),
    ),
    (
        "net.inet.tcp.syncookies_only",
        "0",
        SysctlKind::DefaultOnly("SYN cookies are not modelled"),
    ),
];

/// Why a line cannot be honoured: the script is skipped with this text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The FreeBSD values that have no sysctl in the corpus but shape the
/// timers: FreeBSD's `TCPTV_REXMTMAX` (64 s), `TCP_MAXRXTSHIFT` (12
/// retransmissions), the syncache's 3 SYN,ACK retransmissions
/// (`SYNCACHE_MAXREXMTS`) and its challenge-ACK limit (`ack_war_cnt` = 5 per
/// `ack_war_timewindow` = 1 s).
pub mod freebsd {
    use tcp_core::time::Duration;

    /// `TCPTV_REXMTMAX`.
    pub const RTO_MAX: Duration = Duration::from_secs(64);
    /// `TCP_MAXRXTSHIFT`.
    pub const DATA_RETRIES: u32 = 12;
    /// Retransmissions of a SYN before `keepinit` (75 s) runs out with a
    /// doubling 1 s timer: 1, 3, 7, 15, 31, 63 s.
    pub const SYN_RETRIES: u32 = 6;
    /// `SYNCACHE_MAXREXMTS`.
    pub const SYNACK_RETRIES: u32 = 3;
    /// `net.inet.tcp.ack_war_cnt` per second.
    pub const CHALLENGE_ACK_LIMIT: u32 = 5;
    /// `net.inet.tcp.initcwnd_segments`.
    pub const INITIAL_WINDOW_SEGMENTS: u32 = 10;
    /// The MTU packetdrill's tun device has unless `--mtu` says otherwise.
    pub const DEFAULT_MTU: u32 = 1500;
}

/// The socket options that change the configuration of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocketOptions {
    /// `TCP_NOOPT`: no TCP options (FreeBSD omits even the MSS option).
    pub noopt: bool,
    /// `TCP_NODELAY`: Nagle off.
    pub nodelay: bool,
    /// `SO_RCVBUF` set by the script.
    pub rcvbuf: Option<usize>,
    /// `SO_SNDBUF` set by the script.
    pub sndbuf: Option<usize>,
    /// `TCP_KEEPINIT` (seconds) set by the script: the limit on connection
    /// establishment (`Config::connect_timeout`).
    pub keepinit: Option<u32>,
}

/// How a connection is opened, which decides FreeBSD's receive window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// `connect()`: FreeBSD's `tcp_mss()` rounds the receive buffer up to a
    /// multiple of the MSS when the SYN,ACK arrives, and judges incoming
    /// sequence numbers against that buffer space (65700 bytes for a 64 KiB
    /// buffer and an MSS of 1460).
    Active,
    /// `listen()`: the syncache answers with `min(buffer, TCP_MAXWIN)` =
    /// 65535 when the peer does not scale (no peer in the corpus does), and
    /// the connection keeps judging sequence numbers against it.
    Passive,
}

/// The sysctl state of one script run, starting at FreeBSD's defaults.
#[derive(Debug, Clone)]
pub struct FreeBsdProfile {
    mode: CompareMode,
    values: BTreeMap<&'static str, String>,
}

fn lookup(name: &str) -> Option<(&'static str, &'static str, SysctlKind)> {
    SYSCTLS.iter().copied().find(|(n, _, _)| *n == name)
}

fn parse_num(name: &str, value: &str) -> Result<u64, Unsupported> {
    value
        .parse::<u64>()
        .map_err(|_| Unsupported(format!("sysctl {name}={value}: not a number")))
}

impl FreeBsdProfile {
    /// FreeBSD's defaults, compared under `mode`.
    pub fn new(mode: CompareMode) -> Self {
        let values = SYSCTLS
            .iter()
            .map(|(n, d, _)| (*n, (*d).to_string()))
            .collect();
        FreeBsdProfile { mode, values }
    }

    /// The comparison mode.
    pub fn mode(&self) -> CompareMode {
        self.mode
    }

    /// Applies `sysctl -w name=value`. `Err` says why the script cannot be
    /// run faithfully (it is then skipped).
    pub fn apply_sysctl(&mut self, name: &str, value: &str) -> Result<(), Unsupported> {
        let Some((key, default, kind)) = lookup(name) else {
            return Err(Unsupported(format!(
                "sysctl {name}={value}: unknown to the FreeBSD profile"
            )));
        };
        let is_default = value == default
            || matches!((value.parse::<u64>(), default.parse::<u64>()), (Ok(a), Ok(b)) if a == b);
        match kind {
            SysctlKind::Modelled => {
                let n = parse_num(name, value)?;
                match key {
                    "net.inet.tcp.rfc1323"
                    | "net.inet.tcp.sack.enable"
                    | "net.inet.tcp.rexmit_drop_options"
                        if n > 1 =>
                    {
                        return Err(Unsupported(format!(
                            "sysctl {name}={value}: expected 0 or 1"
                        )));
                    }
                    "net.inet.tcp.recvspace" | "net.inet.tcp.sendspace" if n == 0 => {
                        return Err(Unsupported(format!("sysctl {name}={value}: empty buffer")));
                    }
                    _ => {}
                }
            }
            SysctlKind::Action | SysctlKind::Deviation => {}
            SysctlKind::DefaultOnly(what) => {
                if !is_default {
                    return Err(Unsupported(format!("sysctl {name}={value}: {what}")));
                }
            }
            SysctlKind::LenientOnly(what) => {
                if !is_default && self.mode == CompareMode::Strict {
                    return Err(Unsupported(format!(
                        "sysctl {name}={value}: {what} (compared in strict mode)"
                    )));
                }
            }
            SysctlKind::Rfc5961(switch) => {
                let n = parse_num(name, value)?;
                if n > 1 {
                    return Err(Unsupported(format!(
                        "sysctl {name}={value}: expected 0 or 1"
                    )));
                }
                // `insecure_*=1` turns the RFC 5961 handling off; both
                // values are honoured through `Config::rfc5961_*`.
                let _ = switch;
            }
        }
        self.values.insert(key, value.to_string());
        Ok(())
    }

    fn num(&self, name: &str) -> u64 {
        self.values
            .get(name)
            .and_then(|v| v.parse().ok())
            .or_else(|| lookup(name).and_then(|(_, d, _)| d.parse().ok()))
            .unwrap_or(0)
    }

    /// `net.inet.tcp.recvspace`: the receive buffer of a new connection.
    pub fn recvspace(&self) -> usize {
        usize::try_from(self.num("net.inet.tcp.recvspace")).unwrap_or(usize::MAX)
    }

    /// `net.inet.tcp.sendspace`: the send buffer of a new connection.
    pub fn sendspace(&self) -> usize {
        usize::try_from(self.num("net.inet.tcp.sendspace")).unwrap_or(usize::MAX)
    }

    /// Whether the RFC 5961 behaviour `switch` is on (FreeBSD's
    /// `insecure_rst` / `insecure_syn` = 0).
    pub fn rfc5961(&self, switch: Rfc5961Switch) -> bool {
        let name = match switch {
            Rfc5961Switch::Rst => "net.inet.tcp.insecure_rst",
            Rfc5961Switch::Syn => "net.inet.tcp.insecure_syn",
        };
        self.num(name) == 0
    }

    /// The MSS for an interface MTU (RFC 9293 §3.7.1: MTU minus the fixed
    /// IP and TCP headers, 40 bytes for IPv4 and 60 for IPv6).
    pub fn mss_for(family: IpVersion, mtu: u32) -> u16 {
        let headers = match family {
            IpVersion::V6 => 60,
            IpVersion::V4 | IpVersion::V4MappedV6 => 40,
        };
        u16::try_from(mtu.saturating_sub(headers).max(1)).unwrap_or(u16::MAX)
    }

    /// The receive buffer that gives our stack FreeBSD's receive window
    /// (see [`Opening`]): the corpus places segments at the edges of that
    /// window (`RCV.NXT + RCV.WND - 1`), so the stack must have the same one.
    pub fn receive_window(buffer: usize, mss: u16, opening: Opening) -> usize {
        match opening {
            Opening::Active => {
                let mss = usize::from(mss.max(1));
                buffer.div_ceil(mss) * mss
            }
            Opening::Passive => buffer.min(usize::from(u16::MAX)),
        }
    }

    /// The configuration of a connection opened by `opening` now, for a
    /// socket with `opts` on an interface with `mtu`.
    pub fn config(
        &self,
        family: IpVersion,
        mtu: u32,
        opts: &SocketOptions,
        opening: Opening,
    ) -> Config {
        let rfc1323 = self.num("net.inet.tcp.rfc1323") == 1 && !opts.noopt;
        let sack = self.num("net.inet.tcp.sack.enable") == 1 && !opts.noopt;
        let ms = |name: &str| Duration::from_millis(self.num(name));
        let mss = Self::mss_for(family, mtu);
        let buffer = opts.rcvbuf.unwrap_or_else(|| self.recvspace());
        let config = Config {
            mss,
            send_buffer: opts.sndbuf.unwrap_or_else(|| self.sendspace()),
            recv_buffer: Self::receive_window(buffer, mss, opening),
            window_scaling: rfc1323,
            timestamps: rfc1323,
            sack,
            nagle: !opts.nodelay,
            delayed_ack: Some(ms("net.inet.tcp.delacktime")),
            rto_initial: ms("net.inet.tcp.rexmit_initial"),
            rto_min: ms("net.inet.tcp.rexmit_min"),
            rto_max: freebsd::RTO_MAX,
            syn_retries: freebsd::SYN_RETRIES,
            synack_retries: freebsd::SYNACK_RETRIES,
            data_retries: freebsd::DATA_RETRIES,
            msl: ms("net.inet.tcp.msl"),
            keepalive: None,
            user_timeout: None,
            challenge_ack_limit: freebsd::CHALLENGE_ACK_LIMIT,
            trace: false,
            initial_window_segments: freebsd::INITIAL_WINDOW_SEGMENTS,
            // FreeBSD's tcp_input() judges sequence numbers against the free
            // socket-buffer space (`sbspace`), which for an actively opened
            // connection (65700 bytes, see `Opening::Active`) exceeds the
            // 65535 the window field can carry to a peer that does not scale.
            accept_buffer_space: true,
            // FreeBSD's tcp_timer_rexmt() clears the window-scale,
            // timestamp and SACK requests at the third SYN retransmission.
            syn_drop_options_after: (self.num("net.inet.tcp.rexmit_drop_options") == 1)
                .then_some(3),
            connect_timeout: opts.keepinit.map(|s| Duration::from_secs(u64::from(s))),
            rto_slop: ms("net.inet.tcp.rexmit_slop"),
            ..Config::default()
        };
        apply_rfc5961(config, self)
    }
}

/// Sets the RFC 5961 switches of `config` from the profile
/// (`net.inet.tcp.insecure_rst` / `insecure_syn`; tcp-core's spec reads them
/// through its `rfc5961_rst` / `rfc5961_syn` guards).
pub fn apply_rfc5961(mut config: Config, profile: &FreeBsdProfile) -> Config {
    config.rfc5961_rst = profile.rfc5961(Rfc5961Switch::Rst);
    config.rfc5961_syn = profile.rfc5961(Rfc5961Switch::Syn);
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_restoring_sysctls_are_accepted() {
        let mut p = FreeBsdProfile::new(CompareMode::Lenient);
        for (name, value) in [
            ("net.inet.tcp.blackhole", "0"),
            ("net.inet.tcp.ecn.enable", "2"),
            ("net.inet.tcp.rexmit_slop", "200"),
            ("kern.ipc.maxsockbuf", "2097152"),
            ("net.inet.tcp.hostcache.purgenow", "1"),
            ("net.inet.tcp.insecure_rst", "0"),
        ] {
            assert_eq!(p.apply_sysctl(name, value), Ok(()), "{name}={value}");
        }
    }

    #[test]
    fn unmodelled_behaviour_is_unsupported() {
        let mut p = FreeBsdProfile::new(CompareMode::Lenient);
        assert!(p.apply_sysctl("net.inet.tcp.ecn.enable", "1").is_err());
        assert!(p.apply_sysctl("net.inet.tcp.keepinit", "1000").is_err());
        assert!(p.apply_sysctl("net.inet.tcp.no_such_thing", "1").is_err());
    }

    #[test]
    fn modelled_sysctls_reach_the_config() {
        let mut p = FreeBsdProfile::new(CompareMode::Lenient);
        p.apply_sysctl("net.inet.tcp.rfc1323", "0").unwrap();
        p.apply_sysctl("net.inet.tcp.delacktime", "40").unwrap();
        p.apply_sysctl("net.inet.tcp.recvspace", "32768").unwrap();
        let c = p.config(
            IpVersion::V4,
            1500,
            &SocketOptions::default(),
            Opening::Passive,
        );
        assert!(!c.window_scaling && !c.timestamps && c.sack);
        assert_eq!(c.delayed_ack, Some(Duration::from_millis(40)));
        assert_eq!(c.recv_buffer, 32768);
        assert_eq!(c.mss, 1460);
        assert_eq!(c.msl, Duration::from_secs(30));
    }

    #[test]
    fn rexmit_slop_and_buffer_acceptance_reach_the_config() {
        let mut p = FreeBsdProfile::new(CompareMode::Lenient);
        let opts = SocketOptions::default();
        let c = p.config(IpVersion::V4, 1500, &opts, Opening::Active);
        assert_eq!(c.rto_slop, Duration::from_millis(200));
        assert!(c.accept_buffer_space);
        assert_eq!(c.recv_buffer, 65700);
        assert_eq!(c.syn_drop_options_after, None);
        assert_eq!(c.connect_timeout, None);
        p.apply_sysctl("net.inet.tcp.rexmit_slop", "0").unwrap();
        p.apply_sysctl("net.inet.tcp.rexmit_drop_options", "1")
            .unwrap();
        let keepinit = SocketOptions {
            keepinit: Some(5),
            ..opts
        };
        let c = p.config(IpVersion::V4, 1500, &keepinit, Opening::Active);
        assert_eq!(c.rto_slop, Duration::ZERO);
        assert_eq!(c.syn_drop_options_after, Some(3));
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(5)));
        assert!(p
            .apply_sysctl("net.inet.tcp.rexmit_drop_options", "2")
            .is_err());
    }

    #[test]
    fn receive_window_is_freebsds() {
        assert_eq!(
            FreeBsdProfile::receive_window(65536, 1460, Opening::Active),
            65700
        );
        assert_eq!(
            FreeBsdProfile::receive_window(65536, 1440, Opening::Active),
            66240
        );
        assert_eq!(
            FreeBsdProfile::receive_window(65536, 1460, Opening::Passive),
            65535
        );
    }

    #[test]
    fn insecure_sysctls_turn_rfc5961_off() {
        let mut p = FreeBsdProfile::new(CompareMode::Lenient);
        let opts = SocketOptions::default();
        let c = p.config(IpVersion::V4, 1500, &opts, Opening::Active);
        assert!(c.rfc5961_rst && c.rfc5961_syn);
        p.apply_sysctl("net.inet.tcp.insecure_rst", "1").unwrap();
        let c = p.config(IpVersion::V4, 1500, &opts, Opening::Active);
        assert!(!c.rfc5961_rst && c.rfc5961_syn);
        p.apply_sysctl("net.inet.tcp.insecure_syn", "1").unwrap();
        p.apply_sysctl("net.inet.tcp.insecure_rst", "0").unwrap();
        let c = p.config(IpVersion::V4, 1500, &opts, Opening::Active);
        assert!(c.rfc5961_rst && !c.rfc5961_syn);
    }

    #[test]
    fn mss_follows_the_mtu_and_family() {
        assert_eq!(FreeBsdProfile::mss_for(IpVersion::V4, 72), 32);
        assert_eq!(FreeBsdProfile::mss_for(IpVersion::V6, 9000), 8940);
        assert_eq!(FreeBsdProfile::mss_for(IpVersion::V4, 65535), 65495);
    }

    #[test]
    fn socket_buffer_limit_is_lenient_only() {
        let mut lenient = FreeBsdProfile::new(CompareMode::Lenient);
        assert!(lenient
            .apply_sysctl("kern.ipc.maxsockbuf", "4294967295")
            .is_ok());
        let mut strict = FreeBsdProfile::new(CompareMode::Strict);
        assert!(strict
            .apply_sysctl("kern.ipc.maxsockbuf", "4294967295")
            .is_err());
    }
}

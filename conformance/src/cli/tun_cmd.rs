//! `tcpfsm tun connect | listen`: tcp-core on a TUN device, talking to the
//! kernel's sockets (nc, curl, a Python server) by hand.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand, ValueEnum};
use thiserror::Error;

use conformance::tun::{
    DeviceError, DriverError, Mode, Payload, Session, SessionError, TunConfig, TunDevice,
    TunDriver, KERNEL_ADDR, OUR_ADDR, PREFIX_LEN,
};
use tcp_core::engine::Engine;
use tcp_core::{
    Config, EndpointError, EngineKind, InterpretedEngine, PerStateEngine, TableEngine, TcpState,
};

/// Exit status when the connection or transfer failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status for bad arguments.
pub const EXIT_USAGE: u8 = super::EXIT_USAGE;
/// Exit status when the TUN device could not be set up (e.g. not root).
pub const EXIT_SETUP: u8 = 3;

const AFTER_HELP: &str = "\
The device (--dev, default tcpfsm0) is created in the current network
namespace with the kernel's address (--peer-addr, default 10.99.0.1/24);
tcpfsm's own TCP answers at --addr (default 10.99.0.2). The device goes away
when tcpfsm exits. Creating it needs root (or CAP_NET_ADMIN).

Examples, as root, each pair in two terminals:

  # our stack echoes; the kernel's nc is the client (type lines, see them back)
  tcpfsm tun listen 7 --mode echo
  nc 10.99.0.2 7

  # our stack serves 10 MiB to curl (HTTP/0.9: the raw bytes, no headers)
  tcpfsm tun listen 8080 --mode source --bytes 10M
  curl --http0.9 -o /dev/null http://10.99.0.2:8080/

  # the kernel's nc listens (on all addresses); our stack sends it 64 MiB
  nc -l 5000 > /dev/null        # openbsd nc; netcat-traditional: nc -l -p 5000
  tcpfsm tun connect 10.99.0.1:5000 --mode source --bytes 64M

  # an HTTP request to a kernel server, the reply on standard output
  python3 -m http.server 8000
  tcpfsm tun connect 10.99.0.1:8000 --mode source --message 'GET / HTTP/1.0\\r\\n\\r\\n' --print

  # the same in a private namespace (nothing touches the host's network)
  ip netns add tcpfsm-demo
  ip netns exec tcpfsm-demo tcpfsm tun listen 7 --mode echo --trace
  ip netns exec tcpfsm-demo nc 10.99.0.2 7
  ip netns del tcpfsm-demo

Modes: echo sends back what it receives and closes after the peer's FIN;
sink reads until the peer's FIN, then closes; source sends --bytes of a test
pattern (or --message), closes its sending side and reads until the peer's
FIN. tcpfsm exits when its side is in TIME-WAIT or CLOSED, printing a summary
on standard error (--trace adds every state change as a JSON line).

Exit status: 0 done; 1 the connection or transfer failed; 2 bad arguments;
3 the TUN device could not be set up (not root, no /dev/net/tun).";

/// `tcpfsm tun ...`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct TunArgs {
    #[command(subcommand)]
    pub action: TunAction,
}

#[derive(Debug, Subcommand)]
pub enum TunAction {
    /// Open a connection from our stack to a kernel socket at ADDR:PORT.
    #[command(after_help = AFTER_HELP)]
    Connect {
        /// The kernel's socket, e.g. 10.99.0.1:5000.
        #[arg(value_name = "ADDR:PORT")]
        remote: SocketAddr,
        #[command(flatten)]
        opts: TunOpts,
    },
    /// Accept one connection from a kernel socket on PORT of our stack.
    #[command(after_help = AFTER_HELP)]
    Listen {
        #[arg(value_name = "PORT")]
        port: u16,
        #[command(flatten)]
        opts: TunOpts,
    },
}

/// What the application does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Echo,
    Sink,
    Source,
}

/// Which connection engine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Table,
    PerState,
    Interpreted,
}

impl EngineArg {
    fn kind(self) -> EngineKind {
        match self {
            EngineArg::Table => EngineKind::Table,
            EngineArg::PerState => EngineKind::PerState,
            EngineArg::Interpreted => EngineKind::Interpreted,
        }
    }
}

#[derive(Debug, Args)]
pub struct TunOpts {
    /// What to do with the connection.
    #[arg(long, value_enum, default_value = "echo")]
    pub mode: ModeArg,
    /// source: bytes of test pattern to send (suffixes K, M, G: powers of
    /// 1024) [default: 1M]; sink: the exact number of bytes expected.
    #[arg(long, value_name = "N", value_parser = parse_size)]
    pub bytes: Option<u64>,
    /// source: send TEXT instead of the pattern (\r, \n, \t and \\ are
    /// understood).
    #[arg(long, value_name = "TEXT", conflicts_with = "bytes")]
    pub message: Option<String>,
    /// Write the received bytes to standard output.
    #[arg(long)]
    pub print: bool,
    /// The connection engine.
    #[arg(long, value_enum, default_value = "table")]
    pub engine: EngineArg,
    /// Name of the TUN device to create.
    #[arg(long, value_name = "NAME", default_value = "tcpfsm0")]
    pub dev: String,
    /// Our stack's address.
    #[arg(long, value_name = "IP", default_value_t = OUR_ADDR)]
    pub addr: IpAddr,
    /// The kernel's address on the device.
    #[arg(long, value_name = "IP", default_value_t = KERNEL_ADDR)]
    pub peer_addr: IpAddr,
    /// Prefix length routed into the device.
    #[arg(long, value_name = "BITS", default_value_t = PREFIX_LEN)]
    pub prefix: u8,
    /// MTU of the device.
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u32).range(576..=65535))]
    pub mtu: u32,
    /// Print every state change as a JSON line on standard error.
    #[arg(long)]
    pub trace: bool,
    /// Give up after this many seconds (default: no limit).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

/// Parses `1048576`, `64K`, `10M`, `1G` (binary multiples).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.eq_ignore_ascii_case(&'k') => (&t[..i], 1u64 << 10),
        Some((i, c)) if c.eq_ignore_ascii_case(&'m') => (&t[..i], 1 << 20),
        Some((i, c)) if c.eq_ignore_ascii_case(&'g') => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a byte count (e.g. 1048576, 64K, 10M, 1G)"))
}

/// `\r`, `\n`, `\t`, `\\` in a --message.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some(other) => {
                out.push(b'\\');
                let mut b = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut b).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}

/// Why `tcpfsm tun` failed.
#[derive(Debug, Error)]
enum TunCmdError {
    #[error("{0}")]
    Usage(String),
    #[error("{source}{hint}")]
    Setup {
        source: DeviceError,
        hint: &'static str,
    },
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("{0}")]
    Session(#[from] SessionError),
    #[error("timed out after {0} s")]
    Timeout(u64),
}

impl TunCmdError {
    fn exit_code(&self) -> u8 {
        match self {
            TunCmdError::Usage(_) => EXIT_USAGE,
            TunCmdError::Setup { .. } => EXIT_SETUP,
            _ => EXIT_FAILED,
        }
    }
}

/// Runs `tcpfsm tun`.
pub fn run(args: &TunArgs) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the timeout error of the driver carries a packet log,
            // which goes after it.
            let text = e.to_string();
            let mut lines = text.lines();
            eprintln!("tcpfsm: tun: {}", lines.next().unwrap_or("failed"));
            for l in lines {
                eprintln!("{l}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn run_inner(args: &TunArgs) -> Result<(), TunCmdError> {
    let opts = match &args.action {
        TunAction::Connect { opts, .. } | TunAction::Listen { opts, .. } => opts,
    };
    if opts.addr.is_ipv4() != opts.peer_addr.is_ipv4() {
        return Err(TunCmdError::Usage(format!(
            "--addr {} and --peer-addr {} are of different IP versions",
            opts.addr, opts.peer_addr
        )));
    }
    if opts.addr == opts.peer_addr {
        return Err(TunCmdError::Usage(format!(
            "--addr and --peer-addr are both {}",
            opts.addr
        )));
    }
    if let TunAction::Connect { remote, .. } = &args.action {
        if remote.is_ipv4() != opts.addr.is_ipv4() {
            return Err(TunCmdError::Usage(format!(
                "{remote} is not of the IP version of --addr {}",
                opts.addr
            )));
        }
    }
    let mut cfg = TunConfig::new(&opts.dev, opts.peer_addr, opts.prefix);
    cfg.mtu = opts.mtu;
    let dev = TunDevice::open(&cfg).map_err(|source| {
        if matches!(source, DeviceError::BadName(_) | DeviceError::BadPrefix { .. }) {
            return TunCmdError::Usage(source.to_string());
        }
        let hint = if source.is_permission_denied() {
            " (creating a TUN device needs root or CAP_NET_ADMIN: run it with sudo)"
        } else if matches!(&source, DeviceError::Open(e) if e.kind() == std::io::ErrorKind::NotFound) {
            " (load the tun module: modprobe tun)"
        } else {
            ""
        };
        TunCmdError::Setup { source, hint }
    })?;
    eprintln!(
        "tcpfsm: tun: device {} up, kernel at {}/{}, our stack at {}",
        dev.name(),
        opts.peer_addr,
        opts.prefix,
        opts.addr
    );
    match opts.engine.kind() {
        EngineKind::Table => serve(TableEngine, dev, args, opts),
        EngineKind::PerState => serve(PerStateEngine, dev, args, opts),
        EngineKind::Interpreted => serve(InterpretedEngine::real(), dev, args, opts),
    }
}

fn serve<E: Engine + Clone>(
    engine: E,
    dev: TunDevice,
    args: &TunArgs,
    opts: &TunOpts,
) -> Result<(), TunCmdError> {
    let mss = u16::try_from(
        opts.mtu
            .saturating_sub(if opts.addr.is_ipv4() { 40 } else { 60 }),
    )
    .unwrap_or(u16::MAX);
    let config = Config {
        mss,
        ..Config::default()
    };
    // RFC 6528: the ISN key must not be predictable to a real peer.
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    let ep = tcp_core::Endpoint::new(config, vec![opts.addr], engine, seed);
    let mut drv = TunDriver::new(dev, ep, 64);
    let limit = opts.timeout.map_or(Duration::MAX, Duration::from_secs);
    let started = std::time::Instant::now();
    let remaining = |limit: Duration| limit.saturating_sub(started.elapsed());
    let timeout_error = |e: DriverError| match e {
        DriverError::Timeout { .. } => TunCmdError::Timeout(opts.timeout.unwrap_or(0)),
        other => TunCmdError::Driver(other),
    };
    let trace = opts.trace;
    let print_traces = move |d: &mut TunDriver<E>| {
        let t = d.take_traces();
        if trace {
            for e in t {
                eprintln!("{}", e.to_json());
            }
        }
    };

    let h = match &args.action {
        TunAction::Connect { remote, .. } => {
            let now = drv.now();
            let h = drv.endpoint_mut().connect(now, *remote)?;
            eprintln!("tcpfsm: tun: connecting to {remote}");
            h
        }
        TunAction::Listen { port, .. } => {
            drv.endpoint_mut().listen(*port, 1)?;
            eprintln!(
                "tcpfsm: tun: listening on {}",
                SocketAddr::new(opts.addr, *port)
            );
            let mut accepted = None;
            drv.run_until(remaining(limit), "a connection", |d| {
                print_traces(d);
                accepted = d.endpoint_mut().accept(*port);
                accepted.is_some()
            })
            .map_err(timeout_error)?;
            // One connection: later SYNs are refused (RFC 9293 §3.10.7.1).
            let now = drv.now();
            drv.endpoint_mut().unlisten(now, *port)?;
            accepted.ok_or_else(|| TunCmdError::Usage("no connection".into()))?
        }
    };

    let mode = match opts.mode {
        ModeArg::Echo => Mode::Echo,
        ModeArg::Sink => Mode::Sink,
        ModeArg::Source => Mode::Source,
    };
    let payload = match &opts.message {
        Some(m) => Payload::Bytes(unescape(m)),
        None => Payload::Pattern(opts.bytes.unwrap_or(1 << 20)),
    };
    let expect = if mode == Mode::Sink { opts.bytes } else { None };
    let mut session = Session::new(h, mode, payload, expect);
    if opts.print {
        session = session.output(Box::new(std::io::stdout()));
    }
    let mut announced = false;
    drv.run_until(remaining(limit), "the end of the connection", |d| {
        if !announced && d.state(h) == TcpState::Established {
            announced = true;
            if let Some(c) = d.endpoint().connection(h) {
                eprintln!(
                    "tcpfsm: tun: {} <-> {} established ({} engine)",
                    c.local(),
                    c.remote(),
                    c.engine().kind().as_str()
                );
            }
        }
        let now = d.now();
        session.pump(now, d.endpoint_mut());
        print_traces(d);
        session.finished()
    })
    .map_err(timeout_error)?;
    // Send what the last step produced (our final ACK).
    drv.flush()?;
    print_traces(&mut drv);
    if let Some(e) = session.take_error() {
        return Err(e.into());
    }
    let secs = session.span().map_or(0.0, |(a, b)| (b - a).as_secs_f64());
    let bytes = session.sent().max(session.received());
    let rate = if secs > 0.0 {
        format!(" ({:.1} Mbit/s)", bytes as f64 * 8.0 / secs / 1e6)
    } else {
        String::new()
    };
    eprintln!(
        "tcpfsm: tun: {} done: sent {} bytes, received {} bytes in {:.3} s{}; our state {}",
        mode.as_str(),
        session.sent(),
        session.received(),
        secs,
        rate,
        drv.state(h)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("10m"), Ok(10 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn message_escapes() {
        assert_eq!(
            unescape(r"GET / HTTP/1.0\r\n\r\n"),
            b"GET / HTTP/1.0\r\n\r\n"
        );
        assert_eq!(unescape(r"a\\b\tc\q"), b"a\\b\tc\\q");
        assert_eq!(unescape("trailing\\"), b"trailing\\");
    }
}

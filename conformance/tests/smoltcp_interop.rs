//! tcp-core against smoltcp 0.14, in process, over the in-memory link of
//! `conformance::smoltcp_peer` (checksums computed and verified on both
//! sides, virtual time).
//!
//! Each scenario runs for both of our engines (table and per-state) and,
//! on the lossy link, for NewReno and CUBIC on both stacks:
//! * our active open to a smoltcp listener, and smoltcp's active open to ours;
//! * 64 MiB each way at once on one connection, every byte checked against
//!   its pattern as it is read;
//! * the close of RFC 9293 §3.6: the active closer (the opener) ends in
//!   TIME-WAIT and reaches CLOSED after 2×MSL (smoltcp's TIME-WAIT is a
//!   fixed 10 s), the passive closer goes CLOSE-WAIT → LAST-ACK → CLOSED;
//! * over an ideal link (100 µs one way) and over a link with 1 % loss and
//!   1 % reordering both ways (1 ms one way, held-back packets 2 ms late).
//!
//! Two option sets: `full` (our defaults: RFC 7323 timestamps and RFC 2018
//! SACK on both stacks, window scaling) and `bare` (window scaling only).
//! With timestamps (and SACK blocks) on, the payload of a full segment is
//! SMSS less the options (RFC 9293 §3.7.1, Eff.snd.MSS): the `full` runs
//! check that no packet exceeds the 1500-byte MTU of the link, which drops
//! anything larger.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Instant as WallClock;

use conformance::smoltcp_peer::smoltcp::socket::tcp::CongestionControl;
use conformance::smoltcp_peer::*;
use tcp_core::cc::CcAlgorithm;
use tcp_core::engine::Engine;
use tcp_core::{Config, PerStateEngine, TableEngine, TraceEvent};

const MIB: u64 = 1 << 20;
const PORT: u16 = 5001;
/// A short MSL for the ideal link: TIME-WAIT lasts 100 ms of virtual time.
const MSL_IDEAL: Duration = Duration::from_millis(50);
/// On the lossy link the last ACK can be lost, and smoltcp retransmits its
/// FIN only after its 1 s minimum RTO: TIME-WAIT must outlast that (which is
/// what TIME-WAIT is for, RFC 9293 §3.6.1), so 2×MSL = 10 s here.
const MSL_LOSSY: Duration = Duration::from_secs(5);
/// smoltcp's fixed TIME-WAIT duration (`CLOSE_DELAY` in its tcp.rs).
const SMOLTCP_TIME_WAIT: Duration = Duration::from_secs(10);
/// Wall-clock budget of one test: a stack that spins fails the test instead
/// of hanging the suite.
const WATCHDOG_SECS: u64 = 300;

/// Which TCP options both stacks use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Options {
    /// Timestamps (RFC 7323) and SACK (RFC 2018) on, as our defaults.
    Full,
    /// Window scaling only.
    Bare,
}

fn our_config(cc: CcAlgorithm, msl: Duration, options: Options) -> Config {
    Config {
        msl,
        congestion_control: cc,
        trace: true,
        timestamps: options == Options::Full,
        sack: options == Options::Full,
        ..Config::default()
    }
}

fn smol_options(cc: CcAlgorithm, options: Options) -> SmolOptions {
    SmolOptions {
        timestamps: options == Options::Full,
        congestion: match cc {
            CcAlgorithm::NewReno => CongestionControl::Reno,
            CcAlgorithm::Cubic => CongestionControl::Cubic,
        },
        ..SmolOptions::default()
    }
}

#[derive(Clone, Debug)]
struct Scenario {
    cc: CcAlgorithm,
    options: Options,
    link: LinkConfig,
    msl: Duration,
    each_way: u64,
    seed: u64,
}

impl Scenario {
    fn ideal(cc: CcAlgorithm, options: Options) -> Scenario {
        Scenario {
            cc,
            options,
            link: LinkConfig {
                delay: Duration::from_micros(100),
                ..LinkConfig::ideal()
            },
            msl: MSL_IDEAL,
            each_way: 64 * MIB,
            seed: 0x5eed_0001,
        }
    }

    fn lossy(cc: CcAlgorithm, options: Options) -> Scenario {
        Scenario {
            cc,
            options,
            link: LinkConfig::lossy(0.01, 0.01),
            msl: MSL_LOSSY,
            each_way: 64 * MIB,
            seed: 0x5eed_0002,
        }
    }
}

/// Runs `f` on its own thread and fails if it takes longer than
/// [`WATCHDOG_SECS`] (the spinning thread dies with the test process).
fn watchdog<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(WATCHDOG_SECS)) {
        Ok(v) => v,
        // The worker panicked: re-raise its panic here.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("the test thread ended without a result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("no result after {WATCHDOG_SECS} s of wall time: a stack is spinning")
        }
    }
}

/// Unwraps a harness result, showing the link counters on failure (a
/// packet over the MTU shows up there).
fn must<A: Peer, B: Peer>(r: Result<(), HarnessError>, pair: &Pair<A, B>, what: &str) {
    if let Err(e) = r {
        panic!(
            "{what}: {e}\n  A ({}) now {:?}, B ({}) now {:?}\n  A→B {:?}\n  B→A {:?}",
            pair.a.name(),
            pair.a.state(),
            pair.b.name(),
            pair.b.state(),
            pair.stats_ab(),
            pair.stats_ba()
        );
    }
}

/// The states of our connection, from its trace (repeats folded).
fn states_of(traces: &[TraceEvent]) -> Vec<TcpState> {
    let mut states: Vec<TcpState> = traces.iter().map(|t| t.tcp_state).collect();
    states.dedup();
    states
}

fn check_links<A: Peer, B: Peer>(pair: &Pair<A, B>) {
    let (ab, ba) = (pair.stats_ab(), pair.stats_ba());
    assert_eq!(ab.oversize, 0, "A sent packets over the MTU: {ab:?}");
    assert_eq!(ba.oversize, 0, "B sent packets over the MTU: {ba:?}");
}

/// What a run leaves behind, for the differential test.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    ab: LinkStats,
    ba: LinkStats,
    rounds: u64,
    end: Instant,
    our_states: Vec<TcpState>,
}

fn report<A: Peer, B: Peer>(what: &str, pair: &Pair<A, B>, started: WallClock) {
    eprintln!(
        "{what}: {:.2?} wall, {:.3} s virtual, {} rounds, A→B {:?}, B→A {:?}",
        started.elapsed(),
        pair.now().as_secs_f64(),
        pair.rounds(),
        pair.stats_ab(),
        pair.stats_ba()
    );
}

/// Our active open to a smoltcp listener; we send and receive
/// `each_way` bytes and close first (TIME-WAIT on our side).
fn ours_opens_to_smoltcp<E: Engine + Clone>(engine: E, sc: Scenario) -> Outcome {
    let started = WallClock::now();
    let ours = OursPeer::new(
        our_config(sc.cc, sc.msl, sc.options),
        ADDR_A,
        engine,
        sc.seed,
    );
    let smol = SmolPeer::new(smol_options(sc.cc, sc.options), ADDR_B, sc.seed ^ 0xa5).unwrap();
    let mut pair = Pair::new(ours, smol, sc.link.clone(), sc.seed);
    let mut client = Flow::client(
        SocketAddr::new(ADDR_B, PORT),
        sc.each_way,
        sc.each_way,
        ClosePolicy::AfterSend,
    );
    let mut server = Flow::server(PORT, sc.each_way, sc.each_way, ClosePolicy::AfterEof);

    // Transfer, then the close: smoltcp (the passive closer) reaches CLOSED
    // while we wait in TIME-WAIT (RFC 9293 §3.6).
    let r = pair.run(
        &mut client,
        &mut server,
        Duration::from_secs(10_000),
        |p, c, s| {
            c.is_complete()
                && s.is_complete()
                && p.b.state() == TcpState::Closed
                && p.a.state() == TcpState::TimeWait
        },
    );
    must(r, &pair, "transfer and close");
    assert_eq!(client.received, sc.each_way);
    assert_eq!(server.received, sc.each_way);
    let smol_states: Vec<TcpState> = pair.history(Side::B).iter().map(|t| t.state).collect();
    assert!(
        smol_states.ends_with(&[TcpState::LastAck, TcpState::Closed]),
        "smoltcp, the passive closer: {smol_states:?}"
    );

    // After 2×MSL we are CLOSED too (RFC 9293 §3.10.8, timer.TimeWait).
    let r = pair.run(&mut client, &mut server, sc.msl * 4, |p, _, _| {
        p.a.state() == TcpState::Closed
    });
    must(r, &pair, "TIME-WAIT");
    let traces: Vec<TraceEvent> = pair.a.ep.drain_traces().collect();
    let tw = traces
        .iter()
        .find(|t| t.tcp_state == TcpState::TimeWait)
        .map(|t| t.timestamp)
        .expect("entered TIME-WAIT");
    let closed = traces
        .iter()
        .rfind(|t| t.tcp_state == TcpState::Closed)
        .map(|t| t.timestamp)
        .expect("reached CLOSED");
    assert!(
        closed - tw >= sc.msl * 2,
        "TIME-WAIT lasted {:?}, 2×MSL is {:?}",
        closed - tw,
        sc.msl * 2
    );
    let our_states = states_of(&traces);
    assert_eq!(
        our_states,
        [
            TcpState::SynSent,
            TcpState::Established,
            TcpState::FinWait1,
            TcpState::FinWait2,
            TcpState::TimeWait,
            TcpState::Closed
        ],
        "our states as the active opener and closer"
    );
    assert_eq!(pair.a.stats().input_errors, 0, "{:?}", pair.a.stats());
    assert_eq!(pair.a.failure(), None);
    assert_eq!(pair.a.ep.connection_count(), 0, "the connection was freed");
    check_links(&pair);
    report(pair.a.name(), &pair, started);
    Outcome {
        ab: pair.stats_ab(),
        ba: pair.stats_ba(),
        rounds: pair.rounds(),
        end: pair.now(),
        our_states,
    }
}

/// smoltcp's active open to our listener; smoltcp closes first (TIME-WAIT on
/// its side), we are the passive closer.
fn smoltcp_opens_to_ours<E: Engine + Clone>(engine: E, sc: Scenario) -> Outcome {
    let started = WallClock::now();
    let smol = SmolPeer::new(smol_options(sc.cc, sc.options), ADDR_A, sc.seed ^ 0x5a).unwrap();
    let ours = OursPeer::new(
        our_config(sc.cc, sc.msl, sc.options),
        ADDR_B,
        engine,
        sc.seed,
    );
    let mut pair = Pair::new(smol, ours, sc.link.clone(), sc.seed);
    let mut client = Flow::client(
        SocketAddr::new(ADDR_B, PORT),
        sc.each_way,
        sc.each_way,
        ClosePolicy::AfterSend,
    );
    let mut server = Flow::server(PORT, sc.each_way, sc.each_way, ClosePolicy::AfterEof);

    let r = pair.run(
        &mut client,
        &mut server,
        Duration::from_secs(10_000),
        |p, c, s| {
            c.is_complete()
                && s.is_complete()
                && p.b.state() == TcpState::Closed
                && p.a.state() == TcpState::TimeWait
        },
    );
    must(r, &pair, "transfer and close");
    assert_eq!(client.received, sc.each_way);
    assert_eq!(server.received, sc.each_way);
    let traces: Vec<TraceEvent> = pair.b.ep.drain_traces().collect();
    let our_states = states_of(&traces);
    assert_eq!(
        our_states,
        [
            TcpState::Listen,
            TcpState::SynReceived,
            TcpState::Established,
            TcpState::CloseWait,
            TcpState::LastAck,
            TcpState::Closed
        ],
        "our states as the passive opener and closer"
    );
    assert_eq!(pair.b.ep.connection_count(), 0, "the connection was freed");

    let tw_seen = pair.now();
    let r = pair.run(
        &mut client,
        &mut server,
        SMOLTCP_TIME_WAIT * 2,
        |p, _, _| p.a.state() == TcpState::Closed,
    );
    must(r, &pair, "smoltcp's TIME-WAIT");
    let smol = pair.history(Side::A);
    let tw = smol
        .iter()
        .find(|t| t.state == TcpState::TimeWait)
        .map(|t| t.at)
        .expect("smoltcp entered TIME-WAIT");
    assert!(tw <= tw_seen);
    assert_eq!(smol.last().map(|t| t.state), Some(TcpState::Closed));
    assert!(pair.now() - tw >= SMOLTCP_TIME_WAIT);
    assert_eq!(pair.b.stats().input_errors, 0, "{:?}", pair.b.stats());
    assert_eq!(pair.b.failure(), None);
    check_links(&pair);
    report(pair.b.name(), &pair, started);
    Outcome {
        ab: pair.stats_ab(),
        ba: pair.stats_ba(),
        rounds: pair.rounds(),
        end: pair.now(),
        our_states,
    }
}

macro_rules! interop {
    ($($(#[$attr:meta])* $name:ident: $run:ident($engine:expr, $scenario:expr);)*) => {$(
        #[test]
        $(#[$attr])*
        fn $name() {
            watchdog(|| $run($engine, $scenario));
        }
    )*};
}

use CcAlgorithm::{Cubic, NewReno};
use Options::{Bare, Full};

interop! {
    // ------------------------------------------------ ideal link, 64 MiB each way
    table_active_open_to_smoltcp_64mib_each_way_bare:
        ours_opens_to_smoltcp(TableEngine, Scenario::ideal(NewReno, Bare));
    per_state_active_open_to_smoltcp_64mib_each_way_bare:
        ours_opens_to_smoltcp(PerStateEngine, Scenario::ideal(NewReno, Bare));
    smoltcp_active_open_to_table_64mib_each_way_bare:
        smoltcp_opens_to_ours(TableEngine, Scenario::ideal(NewReno, Bare));
    smoltcp_active_open_to_per_state_64mib_each_way_bare:
        smoltcp_opens_to_ours(PerStateEngine, Scenario::ideal(NewReno, Bare));

    table_active_open_to_smoltcp_64mib_each_way_full:
        ours_opens_to_smoltcp(TableEngine, Scenario::ideal(NewReno, Full));
    per_state_active_open_to_smoltcp_64mib_each_way_full:
        ours_opens_to_smoltcp(PerStateEngine, Scenario::ideal(NewReno, Full));
    smoltcp_active_open_to_table_64mib_each_way_full:
        smoltcp_opens_to_ours(TableEngine, Scenario::ideal(NewReno, Full));
    smoltcp_active_open_to_per_state_64mib_each_way_full:
        smoltcp_opens_to_ours(PerStateEngine, Scenario::ideal(NewReno, Full));

    // ------------------------------------------------ 1 % loss, 1 % reordering, 64 MiB each way
    table_active_open_to_smoltcp_lossy_newreno_bare:
        ours_opens_to_smoltcp(TableEngine, Scenario::lossy(NewReno, Bare));
    per_state_active_open_to_smoltcp_lossy_newreno_bare:
        ours_opens_to_smoltcp(PerStateEngine, Scenario::lossy(NewReno, Bare));
    smoltcp_active_open_to_table_lossy_newreno_bare:
        smoltcp_opens_to_ours(TableEngine, Scenario::lossy(NewReno, Bare));
    smoltcp_active_open_to_per_state_lossy_newreno_bare:
        smoltcp_opens_to_ours(PerStateEngine, Scenario::lossy(NewReno, Bare));
    table_active_open_to_smoltcp_lossy_cubic_bare:
        ours_opens_to_smoltcp(TableEngine, Scenario::lossy(Cubic, Bare));
    per_state_active_open_to_smoltcp_lossy_cubic_bare:
        ours_opens_to_smoltcp(PerStateEngine, Scenario::lossy(Cubic, Bare));
    smoltcp_active_open_to_table_lossy_cubic_bare:
        smoltcp_opens_to_ours(TableEngine, Scenario::lossy(Cubic, Bare));
    smoltcp_active_open_to_per_state_lossy_cubic_bare:
        smoltcp_opens_to_ours(PerStateEngine, Scenario::lossy(Cubic, Bare));

    table_active_open_to_smoltcp_lossy_newreno_full:
        ours_opens_to_smoltcp(TableEngine, Scenario::lossy(NewReno, Full));
    per_state_active_open_to_smoltcp_lossy_newreno_full:
        ours_opens_to_smoltcp(PerStateEngine, Scenario::lossy(NewReno, Full));
    smoltcp_active_open_to_table_lossy_cubic_full:
        smoltcp_opens_to_ours(TableEngine, Scenario::lossy(Cubic, Full));
    smoltcp_active_open_to_per_state_lossy_cubic_full:
        smoltcp_opens_to_ours(PerStateEngine, Scenario::lossy(Cubic, Full));
}

/// The two engines must be observably identical (DESIGN.md "Two engines,
/// one data path"): against the same smoltcp over the same lossy link they
/// produce the same traffic, round for round.
#[test]
fn table_and_per_state_put_identical_traffic_on_a_lossy_link_to_smoltcp() {
    watchdog(|| {
        let mut sc = Scenario::lossy(NewReno, Bare);
        sc.each_way = 8 * MIB;
        sc.seed = 0x5eed_0003;
        let table = ours_opens_to_smoltcp(TableEngine, sc.clone());
        let per_state = ours_opens_to_smoltcp(PerStateEngine, sc.clone());
        assert!(table.ab.lost > 0 && table.ab.reordered > 0, "{table:?}");
        assert_eq!(table, per_state);
        let table = smoltcp_opens_to_ours(TableEngine, sc.clone());
        let per_state = smoltcp_opens_to_ours(PerStateEngine, sc);
        assert_eq!(table, per_state);
    });
}

// ------------------------------------------------------------------ smaller checks

/// IPv6 both ways (RFC 8200 framing, the IPv6 pseudo-header checksum).
fn ipv6_transfer<E: Engine + Clone>(engine: E) {
    let ours = OursPeer::new(our_config(NewReno, MSL_IDEAL, Bare), ADDR6_A, engine, 11);
    let smol = SmolPeer::new(smol_options(NewReno, Bare), ADDR6_B, 12).unwrap();
    let mut pair = Pair::new(ours, smol, LinkConfig::lossy(0.0, 0.0), 13);
    let mut client = Flow::client(
        SocketAddr::new(ADDR6_B, PORT),
        MIB,
        MIB,
        ClosePolicy::AfterSend,
    );
    let mut server = Flow::server(PORT, MIB, MIB, ClosePolicy::AfterEof);
    let r = pair.run(
        &mut client,
        &mut server,
        Duration::from_secs(600),
        |p, c, s| c.is_complete() && s.is_complete() && p.b.state() == TcpState::Closed,
    );
    must(r, &pair, "IPv6 transfer");
    assert_eq!(pair.a.state(), TcpState::TimeWait);
    assert_eq!(pair.a.stats().input_errors, 0);
    check_links(&pair);
}

#[test]
fn table_ipv6_1mib_each_way_with_smoltcp() {
    watchdog(|| ipv6_transfer(TableEngine));
}

#[test]
fn per_state_ipv6_1mib_each_way_with_smoltcp() {
    watchdog(|| ipv6_transfer(PerStateEngine));
}

/// Many short connections in a row, both directions of opening: every
/// lifecycle's payload arrives intact and every connection ends CLOSED.
fn lifecycles<E: Engine + Clone>(engine: E) {
    let n = 50;
    let config = our_config(NewReno, Duration::from_millis(1), Bare);
    let ours = OursPeer::new(config.clone(), ADDR_A, engine.clone(), 21);
    let smol = SmolPeer::new(smol_options(NewReno, Bare), ADDR_B, 22).unwrap();
    let mut pair = Pair::new(ours, smol, LinkConfig::ideal(), 23);
    let mut client = Lifecycle::client(SocketAddr::new(ADDR_B, PORT), 100, n);
    let mut server = Lifecycle::server(PORT, 100, n);
    let r = pair.run(
        &mut client,
        &mut server,
        Duration::from_secs(3_600),
        |_, c, s| c.is_done() && s.is_done(),
    );
    must(r, &pair, "our lifecycles to smoltcp");
    assert_eq!(pair.a.ep.connection_count(), 0, "every connection freed");

    let smol = SmolPeer::new(smol_options(NewReno, Bare), ADDR_A, 24).unwrap();
    let ours = OursPeer::new(config, ADDR_B, engine, 25);
    let mut pair = Pair::new(smol, ours, LinkConfig::ideal(), 26);
    let mut client = Lifecycle::client(SocketAddr::new(ADDR_B, PORT), 100, n);
    let mut server = Lifecycle::server(PORT, 100, n);
    let r = pair.run(
        &mut client,
        &mut server,
        Duration::from_secs(3_600),
        |_, c, s| c.is_done() && s.is_done(),
    );
    must(r, &pair, "smoltcp's lifecycles to us");
    assert_eq!(pair.b.ep.connection_count(), 0, "every connection freed");
}

#[test]
fn table_50_lifecycles_with_smoltcp_both_ways() {
    watchdog(|| lifecycles(TableEngine));
}

#[test]
fn per_state_50_lifecycles_with_smoltcp_both_ways() {
    watchdog(|| lifecycles(PerStateEngine));
}

/// smoltcp against itself through the same harness: the harness (link,
/// device, virtual time, applications) works without tcp-core in the loop.
#[test]
fn smoltcp_to_smoltcp_4mib_each_way_lossy() {
    let a = SmolPeer::new(smol_options(NewReno, Full), ADDR_A, 31).unwrap();
    let b = SmolPeer::new(smol_options(NewReno, Full), ADDR_B, 32).unwrap();
    let mut pair = Pair::new(a, b, LinkConfig::lossy(0.01, 0.01), 33);
    let mut client = Flow::client(
        SocketAddr::new(ADDR_B, PORT),
        4 * MIB,
        4 * MIB,
        ClosePolicy::AfterSend,
    );
    let mut server = Flow::server(PORT, 4 * MIB, 4 * MIB, ClosePolicy::AfterEof);
    pair.run(
        &mut client,
        &mut server,
        Duration::from_secs(3_600),
        |p, c, s| c.is_complete() && s.is_complete() && p.b.state() == TcpState::Closed,
    )
    .unwrap();
    assert_eq!(pair.a.state(), TcpState::TimeWait);
    assert!(pair.stats_ab().lost > 0 && pair.stats_ab().reordered > 0);
}

/// A peer that hands out whatever bytes it was given, for checking the
/// applications' own checks.
struct Scripted {
    inbound: Vec<u8>,
    read: usize,
}

impl Peer for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }
    fn receive(&mut self, _: Instant, p: Packet, pool: &PacketPool) {
        pool.give(p.into_buffer());
    }
    fn poll(&mut self, _: Instant, _: &PacketPool, _: &mut Vec<Packet>) {}
    fn poll_at(&mut self, _: Instant) -> Option<Instant> {
        None
    }
    fn listen(&mut self, _: u16) -> Result<(), PeerError> {
        Ok(())
    }
    fn connect(&mut self, _: Instant, _: SocketAddr, _: u16) -> Result<(), PeerError> {
        Ok(())
    }
    fn accept(&mut self) -> bool {
        true
    }
    fn send(&mut self, _: Instant, data: &[u8]) -> Result<usize, PeerError> {
        Ok(data.len())
    }
    fn recv(&mut self, _: Instant, buf: &mut [u8]) -> Result<Recv, PeerError> {
        let rest = &self.inbound[self.read..];
        if rest.is_empty() {
            return Ok(Recv::Eof);
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.read += n;
        Ok(Recv::Data(n))
    }
    fn close(&mut self, _: Instant) -> Result<(), PeerError> {
        Ok(())
    }
    fn state(&self) -> TcpState {
        TcpState::Established
    }
}

#[test]
fn flow_reports_the_first_corrupted_byte() {
    let mut inbound = Pattern::for_side(Side::B).chunk(0, 5000).to_vec();
    inbound[4321] ^= 1;
    let mut peer = Scripted { inbound, read: 0 };
    let mut flow = Flow::client(SocketAddr::new(ADDR_B, PORT), 0, 5000, ClosePolicy::Never);
    let err = flow.drive(Instant::ZERO, &mut peer, Side::A).unwrap_err();
    assert!(
        matches!(
            err,
            HarnessError::DataMismatch {
                side: Side::A,
                offset: 4321
            }
        ),
        "{err}"
    );
}

#[test]
fn flow_reports_a_short_stream() {
    let inbound = Pattern::for_side(Side::B).chunk(0, 1000).to_vec();
    let mut peer = Scripted { inbound, read: 0 };
    let mut flow = Flow::client(SocketAddr::new(ADDR_B, PORT), 0, 2000, ClosePolicy::Never);
    let err = flow.drive(Instant::ZERO, &mut peer, Side::A).unwrap_err();
    assert!(
        matches!(
            err,
            HarnessError::ShortStream {
                received: 1000,
                expected: 2000,
                ..
            }
        ),
        "{err}"
    );
}

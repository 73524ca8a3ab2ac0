//! The relations TCP theory says hold as the round-trip time grows, checked
//! on the lab transfer: the handshake completes after 1 RTT at the client
//! and 1.5 RTT at the server (exactly, on a link of unlimited bandwidth),
//! TIME-WAIT lasts 2×MSL, throughput stays under window/RTT and falls as
//! the RTT grows; and the default 16 MiB lab completes with both engines
//! agreeing.

use conformance::lab::{run, EngineChoice, LabConfig, LabReport};
use conformance::sim::Duration;
use tcp_core::TcpState;

const RTTS_MS: [u64; 7] = [0, 5, 10, 20, 50, 100, 200];

fn lab(config: LabConfig) -> LabReport {
    let report = run(&config).expect("the configuration is valid");
    for r in &report.runs {
        assert!(
            r.completed,
            "{} engine: {:?}",
            r.engine.as_str(),
            r.incomplete
        );
    }
    report
}

#[test]
fn handshake_completes_after_one_rtt_at_the_client_and_one_and_a_half_at_the_server() {
    for ms in RTTS_MS {
        let rtt = Duration::from_millis(ms);
        let report = lab(LabConfig {
            bytes: 64 << 10,
            engine: EngineChoice::Both,
            ..LabConfig::default().with_rtt(rtt)
        });
        for r in &report.runs {
            let engine = r.engine.as_str();
            // SYN at 0, SYN+ACK back at 1 RTT; the ACK reaches the server
            // half an RTT later.
            assert_eq!(r.handshake_client, Some(rtt), "{engine} at {ms} ms");
            assert_eq!(r.handshake_server, Some(rtt * 3 / 2), "{engine} at {ms} ms");
            assert_eq!(r.client.time_in(TcpState::SynSent), rtt, "{engine}");
            assert_eq!(r.server.time_in(TcpState::SynReceived), rtt, "{engine}");
            // Teardown without loss: FIN out, FIN+ACK back after 1 RTT, the
            // last ACK arrives half an RTT later.
            assert_eq!(r.teardown, Some(rtt * 3 / 2), "{engine} at {ms} ms");
        }
        let agreement = report.agreement.expect("two engines ran");
        assert!(agreement.agreed(), "{ms} ms: {agreement:?}");
    }
}

#[test]
fn time_wait_lasts_two_msl() {
    for msl_ms in [500, 2_000, 30_000, 120_000] {
        let msl = Duration::from_millis(msl_ms);
        let report = lab(LabConfig {
            bytes: 16 << 10,
            msl,
            engine: EngineChoice::Table,
            ..LabConfig::default()
        });
        let r = &report.runs[0];
        // The client closed first (active close): it alone waits.
        assert_eq!(
            r.client.time_in(TcpState::TimeWait),
            msl * 2,
            "MSL {msl_ms} ms"
        );
        assert_eq!(r.server.time_in(TcpState::TimeWait), Duration::ZERO);
        let entered = r.client.entered(TcpState::TimeWait).expect("TIME_WAIT");
        let closed = r.client.transitions.last().expect("transitions");
        assert_eq!(closed.tcp_state, TcpState::Closed);
        assert_eq!(closed.timestamp - entered, msl * 2);
        assert_eq!(closed.origin.as_str(), "timer");
    }
}

#[test]
fn throughput_stays_under_window_over_rtt_and_falls_as_rtt_grows() {
    let window = 64usize << 10;
    let mut previous: Option<(u64, f64)> = None;
    for ms in RTTS_MS.into_iter().filter(|&ms| ms > 0) {
        let rtt = Duration::from_millis(ms);
        let report = lab(LabConfig {
            bytes: 4 << 20,
            window,
            engine: EngineChoice::Table,
            ..LabConfig::default().with_rtt(rtt)
        });
        let r = &report.runs[0];
        let bps = r.throughput_bps.expect("time passed");
        let bound = window as f64 * 8.0 / rtt.as_secs_f64();
        // A window of data per round trip at most (RFC 9293 §3.8.6: the
        // sender keeps at most the offered window in flight).
        assert!(bps < bound, "{ms} ms: {bps} bit/s above window/RTT {bound}");
        // With 64 windows to send, the handshake and slow start cost a few
        // RTTs only: the bound is nearly reached.
        assert!(bps > 0.85 * bound, "{ms} ms: {bps} bit/s far below {bound}");
        if let Some((prev_ms, prev)) = previous {
            assert!(
                bps < prev,
                "{ms} ms gives {bps}, not less than {prev} at {prev_ms} ms"
            );
        }
        previous = Some((ms, bps));
    }
}

#[test]
fn receive_window_bounds_throughput_at_every_rtt_for_several_windows() {
    for window_kib in [16usize, 256] {
        let window = window_kib << 10;
        for ms in RTTS_MS.into_iter().filter(|&ms| ms > 0) {
            let rtt = Duration::from_millis(ms);
            let report = lab(LabConfig {
                bytes: 1 << 20,
                window,
                engine: EngineChoice::Table,
                ..LabConfig::default().with_rtt(rtt)
            });
            let bps = report.runs[0].throughput_bps.expect("time passed");
            let bound = window as f64 * 8.0 / rtt.as_secs_f64();
            assert!(bps < bound, "{window_kib} KiB, {ms} ms: {bps} >= {bound}");
        }
    }
}

#[test]
fn default_lab_transfers_sixteen_mib_over_twenty_ms_and_the_engines_agree() {
    let config = LabConfig::default();
    assert_eq!(config.bytes, 16 << 20);
    assert_eq!(config.delay.rtt(), Duration::from_millis(20));
    let report = lab(config);
    assert_eq!(report.runs.len(), 2);
    for r in &report.runs {
        assert_eq!(r.bytes_delivered, 16 << 20);
        assert!(r.data_intact);
        assert_eq!(r.packets.total().retransmissions, 0);
    }
    let agreement = report.agreement.expect("two engines");
    assert!(agreement.agreed(), "{agreement:?}");
    eprintln!(
        "default lab: {:.2} Mbit/s, wall {:.3} s + {:.3} s (dev profile)",
        report.runs[0].throughput_bps.unwrap_or(0.0) / 1e6,
        report.runs[0].wall.as_secs_f64(),
        report.runs[1].wall.as_secs_f64()
    );
}

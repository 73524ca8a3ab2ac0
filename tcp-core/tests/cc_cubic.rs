//! CUBIC (RFC 9438) window growth and reduction, driven through the calling
//! protocol of `tcp_core::cc`, checked numerically against the RFC formulas.

use tcp_core::cc::cubic::{ALPHA, BETA, C};
use tcp_core::cc::{AckSample, CaEvent, CaState, CcConfig, CcVars, CongestionControl, Cubic};
use tcp_core::time::{Duration, Instant};

const MSS: u32 = 1000;

fn segs(v: &CcVars) -> f64 {
    f64::from(v.cwnd) / f64::from(MSS)
}

/// A CUBIC sender in congestion avoidance at `w` segments, everything in flight.
fn at_window(config: CcConfig, w: u32) -> (Cubic, CcVars) {
    let mut cc = Cubic::with_config(config);
    let mut v = CcVars::new(MSS);
    cc.init(&mut v);
    v.cwnd = w * MSS;
    v.ssthresh = w * MSS;
    v.bytes_in_flight = w * MSS;
    (cc, v)
}

/// Protocol items 3, 4 and 7: three duplicate ACKs, then the full ACK with
/// `flight_after` bytes still in flight.
fn fast_recovery(cc: &mut Cubic, v: &mut CcVars, flight_after: u32) {
    v.bytes_in_flight = v.cwnd;
    cc.set_state(v, CaState::Disorder);
    cc.set_state(v, CaState::Disorder);
    cc.set_state(v, CaState::Recovery);
    v.bytes_in_flight = flight_after;
    cc.set_state(v, CaState::Open);
}

/// Protocol item 2, one ACK of `acked` bytes at `now`.
fn new_ack(cc: &mut Cubic, v: &mut CcVars, now: Instant, acked: u32, rtt: Duration) {
    let s = AckSample {
        now,
        acked_bytes: acked,
        rtt: Some(rtt),
        in_flight_before: v.cwnd,
        is_app_limited: false,
    };
    cc.pkts_acked(v, &s);
    cc.cong_avoid(v, &s);
}

/// ACK-clock a full window per RTT, one segment per ACK spread across the
/// RTT, for `rounds` RTTs from `start`. Returns (t since start, cwnd in
/// segments) at the end of each round.
fn ack_clock(
    cc: &mut Cubic,
    v: &mut CcVars,
    start: Instant,
    rtt: Duration,
    rounds: usize,
) -> Vec<(f64, f64)> {
    let mut now = start;
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let acks = (v.cwnd / MSS).max(1);
        let spacing = rtt / acks;
        for _ in 0..acks {
            now += spacing;
            new_ack(cc, v, now, MSS, rtt);
        }
        out.push(((now - start).as_secs_f64(), segs(v)));
    }
    out
}

#[test]
fn cubic_constants_are_rfc9438_values() {
    assert_eq!(C, 0.4);
    assert_eq!(BETA, 0.7);
    // alpha = 3 * 0.3 / 1.7
    assert!((ALPHA - 0.529_411_764_7).abs() < 1e-9);
}

#[test]
fn cubic_loss_sets_cwnd_to_beta_times_w_max() {
    let (mut cc, mut v) = at_window(CcConfig::default(), 100);
    fast_recovery(&mut cc, &mut v, 90 * MSS);
    // RFC 9438 §4.6: ssthresh = cwnd * beta, and cwnd = ssthresh once
    // recovery ends with enough in flight.
    assert_eq!(cc.w_max(), 100.0);
    assert_eq!(v.ssthresh, 70 * MSS);
    assert_eq!(v.cwnd, 70 * MSS);
    assert_eq!(cc.state(), CaState::Open);
}

#[test]
fn cubic_third_dup_ack_enters_fast_recovery_with_beta_ssthresh() {
    let (mut cc, mut v) = at_window(CcConfig::default(), 100);
    cc.set_state(&mut v, CaState::Recovery);
    assert_eq!(v.ssthresh, 70 * MSS);
    // Fast recovery itself is RFC 6582's: ssthresh + 3*SMSS, inflated per dup ACK.
    assert_eq!(v.cwnd, 73 * MSS);
    cc.pkts_acked(
        &mut v,
        &AckSample {
            now: Instant::ZERO,
            acked_bytes: 0,
            rtt: None,
            in_flight_before: 0,
            is_app_limited: false,
        },
    );
    assert_eq!(v.cwnd, 74 * MSS);
    // Never below two segments (RFC 9438 §4.6).
    let (mut cc, mut v) = at_window(CcConfig::default(), 2);
    cc.set_state(&mut v, CaState::Recovery);
    assert_eq!(v.ssthresh, 2 * MSS);
}

#[test]
fn cubic_k_is_the_cube_root_of_w_max_times_one_minus_beta_over_c() {
    let (mut cc, mut v) = at_window(CcConfig::default(), 100);
    fast_recovery(&mut cc, &mut v, 90 * MSS);
    let t0 = Instant::from_millis(1_000);
    new_ack(&mut cc, &mut v, t0, MSS, Duration::from_millis(50));
    // K = cbrt(100 * 0.3 / 0.4) = cbrt(75)
    let expected = 75f64.cbrt();
    assert!((cc.k() - expected).abs() < 1e-9, "K = {}", cc.k());
    assert!((cc.k() - 4.217_163_3).abs() < 1e-6);
    assert_eq!(cc.epoch_start(), Some(t0));
    // W_cubic(0) = cwnd_epoch and W_cubic(K) = W_max.
    assert!((cc.w_cubic(0.0) - 70.0).abs() < 1e-9);
    assert!((cc.w_cubic(cc.k()) - 100.0).abs() < 1e-9);
}

#[test]
fn cubic_growth_is_concave_then_convex_and_reaches_w_max_at_k() {
    // W_max = 1000 segments, RTT 100 ms: K = cbrt(1000 * 0.3 / 0.4) = 9.086 s.
    let rtt = Duration::from_millis(100);
    let (mut cc, mut v) = at_window(CcConfig::default(), 1000);
    fast_recovery(&mut cc, &mut v, 900 * MSS);
    assert_eq!(v.cwnd, 700 * MSS);
    let k = 750f64.cbrt();
    let trace = ack_clock(&mut cc, &mut v, Instant::from_millis(500), rtt, 180);
    assert!((cc.k() - k).abs() < 1e-9);

    // cwnd follows W_cubic(t + RTT) within a segment or two: the target is
    // one RTT ahead, and each RTT closes the gap to it.
    for &(t, w) in &trace {
        let expected = cc.w_cubic(t).max(700.0);
        assert!(
            w >= expected - 2.0,
            "t={t:.2}: cwnd {w} below W_cubic {expected}"
        );
        assert!(
            w <= cc.w_cubic(t + 0.1) + 2.0,
            "t={t:.2}: cwnd {w} ahead of the target"
        );
    }

    // Reaches W_max at t = K (within an RTT).
    let near_k = trace
        .iter()
        .find(|&&(t, _)| t >= k)
        .map(|&(_, w)| w)
        .unwrap();
    assert!((near_k - 1000.0).abs() < 3.0, "cwnd at K = {near_k}");
    // The plateau is flat (W_cubic(K - 1 s) = W_max - 0.4 segment), so the
    // crossing of W_max itself is what pins down K.
    let (t_reach, _) = *trace.iter().find(|&&(_, w)| w >= 1000.0).unwrap();
    assert!(
        (t_reach - k).abs() < 0.3,
        "reached W_max at {t_reach:.2}, K = {k:.2}"
    );
    let at = |when: f64| trace.iter().find(|&&(t, _)| t >= when).unwrap().1;
    assert!(
        at(k - 3.0) < 990.0 && at(k - 3.0) > 985.0,
        "{}",
        at(k - 3.0)
    );

    // Concave before K (growth per RTT shrinks), convex after (it grows).
    let growth: Vec<(f64, f64)> = trace
        .windows(2)
        .map(|p| (p[1].0, p[1].1 - p[0].1))
        .collect();
    let rate = |from: f64, to: f64| -> f64 {
        let g: Vec<f64> = growth
            .iter()
            .filter(|&&(t, _)| t >= from && t < to)
            .map(|&(_, d)| d)
            .collect();
        g.iter().sum::<f64>() / g.len() as f64
    };
    let early = rate(0.5, 2.0);
    let before_k = rate(k - 2.0, k - 0.5);
    let plateau = rate(k - 0.5, k + 0.5);
    let after_k = rate(k + 0.5, k + 2.0);
    let late = rate(k + 6.0, k + 8.0);
    assert!(
        early > before_k && before_k > plateau,
        "{early} {before_k} {plateau}"
    );
    assert!(
        after_k > plateau && late > after_k,
        "{plateau} {after_k} {late}"
    );
    // The slope matches dW/dt = 3C(t-K)^2 per second, i.e. per RTT * 0.1.
    let slope = |t: f64| 3.0 * C * (t - k) * (t - k) * 0.1;
    assert!((early - slope(1.25)).abs() / slope(1.25) < 0.1, "{early}");
    assert!(
        (late - slope(k + 7.0)).abs() / slope(k + 7.0) < 0.1,
        "{late}"
    );
}

#[test]
fn cubic_target_growth_is_capped_at_half_a_window_per_rtt() {
    // Far in the convex region W_cubic(t + RTT) exceeds 1.5 * cwnd: the
    // target is clamped, so one RTT of ACKs grows cwnd by at most 50%.
    let rtt = Duration::from_millis(200);
    let (mut cc, mut v) = at_window(CcConfig::default(), 100);
    fast_recovery(&mut cc, &mut v, 90 * MSS);
    let t0 = Instant::from_millis(10);
    new_ack(&mut cc, &mut v, t0, MSS, rtt);
    let before = segs(&v);
    let later = t0 + Duration::from_secs(60);
    let acks = v.cwnd / MSS;
    for i in 0..acks {
        new_ack(&mut cc, &mut v, later + rtt / acks * i, MSS, rtt);
    }
    let after = segs(&v);
    assert!(cc.w_cubic(60.0) > 1.5 * before);
    assert!(after <= 1.5 * before + 1.0, "{before} -> {after}");
    assert!(after >= 1.5 * before * 0.9, "{before} -> {after}");
}

#[test]
fn cubic_reno_friendly_region_dominates_at_small_rtt_and_bdp() {
    // W_max = 20 segments and RTT 1 ms: in 100 RTTs (0.1 s) W_cubic barely
    // moves, while Reno (W_est) gains about one segment per RTT.
    let rtt = Duration::from_millis(1);
    let (mut cc, mut v) = at_window(CcConfig::default(), 20);
    fast_recovery(&mut cc, &mut v, 20 * MSS);
    assert_eq!(v.cwnd, 14 * MSS);
    let trace = ack_clock(&mut cc, &mut v, Instant::from_millis(7), rtt, 100);
    let (t, w) = *trace.last().unwrap();
    let cubic_only = cc.w_cubic(t + 0.001);
    assert!(cubic_only < 15.0, "W_cubic = {cubic_only}");
    // W_est: alpha = 0.53 per RTT from 14 to cwnd_prior = 20 (about 11
    // RTTs), then 1 per RTT for the remaining ~89: about 109 segments.
    assert!(w > 100.0 && w < 112.0, "cwnd = {w}");
    assert!(
        (w - cc.w_est()).abs() < 1.0,
        "cwnd {w} vs W_est {}",
        cc.w_est()
    );
    // The first RTTs grow at alpha_cubic per RTT.
    let first = trace[4].1 - trace[0].1;
    assert!((first / 4.0 - ALPHA).abs() < 0.1, "{first}");
}

#[test]
fn cubic_region_is_cubic_at_large_rtt() {
    // Same W_max, RTT 500 ms: W_cubic outruns W_est and cwnd follows it.
    let rtt = Duration::from_millis(500);
    let (mut cc, mut v) = at_window(CcConfig::default(), 20);
    fast_recovery(&mut cc, &mut v, 20 * MSS);
    let trace = ack_clock(&mut cc, &mut v, Instant::ZERO, rtt, 8);
    let (t, w) = *trace.last().unwrap();
    assert!(w > cc.w_est() + 1.0, "cwnd {w}, W_est {}", cc.w_est());
    assert!((w - cc.w_cubic(t + 0.5).min(1.5 * w)).abs() < 2.0);
}

#[test]
fn cubic_fast_convergence_lowers_w_max() {
    let (mut cc, mut v) = at_window(CcConfig::default(), 100);
    fast_recovery(&mut cc, &mut v, 100 * MSS);
    assert_eq!(cc.w_max(), 100.0);
    // Second loss at 80 segments, below the previous W_max of 100:
    // W_max = 80 * (1 + 0.7) / 2 = 68 (RFC 9438 §4.7).
    v.cwnd = 80 * MSS;
    fast_recovery(&mut cc, &mut v, 80 * MSS);
    assert!((cc.w_max() - 68.0).abs() < 1e-9, "{}", cc.w_max());
    assert_eq!(v.cwnd, 56 * MSS);
    // Without fast convergence W_max is the window at the loss.
    let config = CcConfig {
        cubic_fast_convergence: false,
        ..CcConfig::default()
    };
    let (mut cc, mut v) = at_window(config, 100);
    fast_recovery(&mut cc, &mut v, 100 * MSS);
    v.cwnd = 80 * MSS;
    fast_recovery(&mut cc, &mut v, 80 * MSS);
    assert_eq!(cc.w_max(), 80.0);
    // A loss above the old W_max sets W_max to the window.
    v.cwnd = 120 * MSS;
    fast_recovery(&mut cc, &mut v, 120 * MSS);
    assert_eq!(cc.w_max(), 120.0);
}

#[test]
fn cubic_rto_collapses_cwnd_and_next_stage_starts_with_k_zero() {
    let rtt = Duration::from_millis(100);
    let (mut cc, mut v) = at_window(CcConfig::default(), 100);
    cc.set_state(&mut v, CaState::Loss);
    // RFC 9438 §4.8: Reno's loss window, CUBIC's ssthresh.
    assert_eq!(v.cwnd, MSS);
    assert_eq!(v.ssthresh, 70 * MSS);
    // Slow start back to ssthresh: 1, 2, 4, ... 64, 70.
    let mut now = Instant::from_millis(100);
    while v.cwnd < v.ssthresh {
        let acks = v.cwnd / MSS;
        for _ in 0..acks {
            now += rtt / acks;
            new_ack(&mut cc, &mut v, now, MSS, rtt);
        }
    }
    assert_eq!(cc.state(), CaState::Loss);
    cc.set_state(&mut v, CaState::Open);
    // The ACKs after cwnd reached ssthresh began the congestion-avoidance
    // stage: K = 0 and W_max = the window at its start (70 segments).
    assert_eq!(cc.k(), 0.0);
    assert_eq!(cc.w_max(), 70.0);
    assert!(cc.epoch_start().is_some());
    assert!(segs(&v) > 70.0 && segs(&v) < 71.0, "{}", segs(&v));
    // A repeated timeout holds ssthresh.
    v.bytes_in_flight = 3 * MSS;
    let cwnd_at_timeout = v.cwnd;
    cc.set_state(&mut v, CaState::Loss);
    let ssthresh = v.ssthresh;
    assert_eq!(ssthresh, (f64::from(cwnd_at_timeout) * BETA) as u32);
    v.cwnd = 5 * MSS;
    cc.set_state(&mut v, CaState::Loss);
    assert_eq!(v.cwnd, MSS);
    assert_eq!(v.ssthresh, ssthresh);
}

#[test]
fn cubic_undo_restores_the_curve_and_window() {
    let rtt = Duration::from_millis(100);
    let (mut cc, mut v) = at_window(CcConfig::default(), 100);
    fast_recovery(&mut cc, &mut v, 100 * MSS);
    ack_clock(&mut cc, &mut v, Instant::ZERO, rtt, 5);
    let (w_max, k, epoch) = (cc.w_max(), cc.k(), cc.epoch_start());
    let before = v;
    v.bytes_in_flight = v.cwnd;
    cc.set_state(&mut v, CaState::Recovery);
    assert!(cc.w_max() < w_max);
    cc.undo(&mut v);
    assert_eq!(cc.state(), CaState::Open);
    assert_eq!((cc.w_max(), cc.k(), cc.epoch_start()), (w_max, k, epoch));
    assert_eq!((v.cwnd, v.ssthresh), (before.cwnd, before.ssthresh));
}

#[test]
fn cubic_tx_start_after_idle_restarts_the_epoch() {
    let rtt = Duration::from_millis(100);
    let (mut cc, mut v) = at_window(CcConfig::default(), 100);
    fast_recovery(&mut cc, &mut v, 100 * MSS);
    ack_clock(&mut cc, &mut v, Instant::ZERO, rtt, 3);
    let cwnd = v.cwnd;
    // Ten seconds idle: without the restart, t would jump past K and the
    // window would leap towards the convex region.
    cc.cwnd_event(&mut v, CaEvent::TxStart);
    assert_eq!(cc.epoch_start(), None);
    let later = Instant::from_millis(10_000);
    new_ack(&mut cc, &mut v, later, MSS, rtt);
    assert_eq!(cc.epoch_start(), Some(later));
    assert!(v.cwnd - cwnd < 2 * MSS, "{} -> {}", cwnd, v.cwnd);
}

#[test]
fn cubic_app_limited_and_recovery_acks_do_not_grow_cwnd() {
    let (mut cc, mut v) = at_window(CcConfig::default(), 50);
    let s = AckSample {
        now: Instant::from_millis(5),
        acked_bytes: MSS,
        rtt: Some(Duration::from_millis(10)),
        in_flight_before: 10 * MSS,
        is_app_limited: true,
    };
    cc.pkts_acked(&mut v, &s);
    cc.cong_avoid(&mut v, &s);
    assert_eq!(v.cwnd, 50 * MSS);
    assert_eq!(cc.min_rtt(), Some(Duration::from_millis(10)));
    cc.set_state(&mut v, CaState::Recovery);
    let inflated = v.cwnd;
    cc.cong_avoid(
        &mut v,
        &AckSample {
            is_app_limited: false,
            ..s
        },
    );
    assert_eq!(v.cwnd, inflated);
}

#[test]
fn cubic_slow_start_doubles_per_rtt_like_newreno() {
    let mut cc = Cubic::new();
    let mut v = CcVars::new(MSS);
    cc.init(&mut v);
    assert_eq!(v.cwnd, 4 * MSS);
    let rtt = Duration::from_millis(50);
    let mut now = Instant::ZERO;
    for _ in 0..5 {
        let before = v.cwnd;
        for _ in 0..before / MSS {
            now += Duration::from_millis(1);
            new_ack(&mut cc, &mut v, now, MSS, rtt);
        }
        assert_eq!(v.cwnd, 2 * before);
    }
}

//! NewReno (RFC 5681 + RFC 6582) window arithmetic, driven through the
//! calling protocol of `tcp_core::cc`.

use tcp_core::cc::{
    AckSample, CaEvent, CaState, Cc, CcAlgorithm, CcConfig, CcVars, CongestionControl,
    InitialWindow, RecoveryStyle,
};
use tcp_core::time::{Duration, Instant};

const MSS: u32 = 1000;

fn started(config: CcConfig) -> (Cc, CcVars) {
    let mut cc = Cc::with_config(CcAlgorithm::NewReno, config);
    let mut v = CcVars::new(MSS);
    cc.init(&mut v);
    (cc, v)
}

fn ack(now: Instant, acked: u32) -> AckSample {
    AckSample {
        now,
        acked_bytes: acked,
        rtt: Some(Duration::from_millis(100)),
        in_flight_before: 0,
        is_app_limited: false,
    }
}

/// Protocol item 2: a new ACK in Open.
fn new_ack(cc: &mut Cc, v: &mut CcVars, acked: u32) {
    let s = ack(Instant::ZERO, acked);
    v.bytes_in_flight = v.bytes_in_flight.saturating_sub(acked);
    cc.pkts_acked(v, &s);
    cc.cong_avoid(v, &s);
}

/// One RTT: a whole window sent and acknowledged `per_ack` bytes at a time.
fn one_rtt(cc: &mut Cc, v: &mut CcVars, per_ack: u32) {
    let window = v.cwnd;
    v.bytes_in_flight = window;
    let mut left = window;
    while left > 0 {
        let a = per_ack.min(left);
        left -= a;
        new_ack(cc, v, a);
    }
}

/// Congestion avoidance at `cwnd` segments with `flight` in flight.
fn in_avoidance(cwnd_segments: u32) -> (Cc, CcVars) {
    let (cc, mut v) = started(CcConfig::default());
    v.cwnd = cwnd_segments * MSS;
    v.ssthresh = cwnd_segments * MSS;
    v.bytes_in_flight = cwnd_segments * MSS;
    (cc, v)
}

/// Protocol items 3 and 4: three duplicate ACKs.
fn three_dup_acks(cc: &mut Cc, v: &mut CcVars) {
    cc.set_state(v, CaState::Disorder);
    cc.set_state(v, CaState::Disorder);
    cc.set_state(v, CaState::Recovery);
}

#[test]
fn newreno_init_sets_initial_window_and_high_ssthresh() {
    let (cc, v) = started(CcConfig::default());
    // RFC 5681 §3.1: SMSS 1000 <= 1095 -> 4 segments.
    assert_eq!(v.cwnd, 4 * MSS);
    assert_eq!(v.ssthresh, u32::MAX);
    assert_eq!(cc.state(), CaState::Open);
    let (_, v) = started(CcConfig {
        initial_window: InitialWindow::Rfc6928,
        ..CcConfig::default()
    });
    assert_eq!(v.cwnd, 10 * MSS);
}

#[test]
fn newreno_slow_start_doubles_per_rtt() {
    let (mut cc, mut v) = started(CcConfig::default());
    for round in 1..=6 {
        let before = v.cwnd;
        one_rtt(&mut cc, &mut v, MSS);
        assert_eq!(v.cwnd, 2 * before, "round {round}");
    }
    assert_eq!(v.cwnd, 4 * MSS * 64);
}

#[test]
fn newreno_slow_start_with_delayed_acks_doubles_with_abc_l2() {
    // One ACK per two segments: RFC 3465 L = 2 keeps the doubling.
    let (mut cc, mut v) = started(CcConfig::default());
    for _ in 0..4 {
        let before = v.cwnd;
        one_rtt(&mut cc, &mut v, 2 * MSS);
        assert_eq!(v.cwnd, 2 * before);
    }
    // With L = 1 (RFC 5681's min(N, SMSS)) the window grows by half.
    let (mut cc, mut v) = started(CcConfig {
        abc_limit: 1,
        ..CcConfig::default()
    });
    one_rtt(&mut cc, &mut v, 2 * MSS);
    assert_eq!(v.cwnd, 6 * MSS);
}

#[test]
fn newreno_slow_start_hands_over_to_avoidance_at_ssthresh() {
    let (mut cc, mut v) = started(CcConfig::default());
    v.ssthresh = 6 * MSS;
    one_rtt(&mut cc, &mut v, MSS);
    // 4 ACKs: +1, +1 reaches 6 segments, then avoidance counts the last 2000 bytes.
    assert_eq!(v.cwnd, 6 * MSS);
    assert!(!v.in_slow_start());
    one_rtt(&mut cc, &mut v, MSS);
    assert_eq!(v.cwnd, 7 * MSS);
}

#[test]
fn newreno_congestion_avoidance_adds_one_mss_per_rtt() {
    let (mut cc, mut v) = in_avoidance(10);
    for round in 0..20 {
        let before = v.cwnd;
        one_rtt(&mut cc, &mut v, MSS);
        assert_eq!(v.cwnd, before + MSS, "round {round}");
    }
    // Delayed ACKs (2 segments each) give the same growth per RTT.
    let (mut cc, mut v) = in_avoidance(10);
    for _ in 0..10 {
        let before = v.cwnd;
        one_rtt(&mut cc, &mut v, 2 * MSS);
        assert_eq!(v.cwnd, before + MSS);
    }
}

#[test]
fn newreno_app_limited_ack_does_not_grow_cwnd() {
    let (mut cc, mut v) = started(CcConfig::default());
    let s = AckSample {
        is_app_limited: true,
        ..ack(Instant::ZERO, MSS)
    };
    cc.pkts_acked(&mut v, &s);
    cc.cong_avoid(&mut v, &s);
    assert_eq!(v.cwnd, 4 * MSS);
}

#[test]
fn newreno_first_and_second_dup_ack_enter_disorder_without_window_change() {
    let (mut cc, mut v) = in_avoidance(20);
    cc.set_state(&mut v, CaState::Disorder);
    cc.set_state(&mut v, CaState::Disorder);
    assert_eq!(cc.state(), CaState::Disorder);
    assert_eq!((v.cwnd, v.ssthresh), (20 * MSS, 20 * MSS));
    // A new ACK returns to Open (protocol item 2).
    cc.set_state(&mut v, CaState::Open);
    new_ack(&mut cc, &mut v, MSS);
    assert_eq!(cc.state(), CaState::Open);
}

#[test]
fn newreno_third_dup_ack_enters_fast_recovery() {
    let (mut cc, mut v) = in_avoidance(20);
    three_dup_acks(&mut cc, &mut v);
    assert_eq!(cc.state(), CaState::Recovery);
    // RFC 5681 §3.2 step 2: ssthresh = max(FlightSize / 2, 2*SMSS) = 10 segments.
    assert_eq!(v.ssthresh, 10 * MSS);
    // Step 3: cwnd = ssthresh + 3*SMSS.
    assert_eq!(v.cwnd, 13 * MSS);
}

#[test]
fn newreno_third_dup_ack_ssthresh_uses_flight_size_not_cwnd() {
    let (mut cc, mut v) = in_avoidance(20);
    v.bytes_in_flight = 8 * MSS; // sender was not filling its window
    three_dup_acks(&mut cc, &mut v);
    assert_eq!(v.ssthresh, 4 * MSS);
    assert_eq!(v.cwnd, 7 * MSS);
    // Small flights are floored at 2*SMSS (RFC 5681 eq. (4)).
    let (mut cc, mut v) = in_avoidance(20);
    v.bytes_in_flight = 3 * MSS;
    three_dup_acks(&mut cc, &mut v);
    assert_eq!(v.ssthresh, 2 * MSS);
}

#[test]
fn newreno_recovery_dup_ack_inflates_cwnd_by_smss() {
    let (mut cc, mut v) = in_avoidance(20);
    three_dup_acks(&mut cc, &mut v);
    for k in 1..=5 {
        cc.pkts_acked(&mut v, &ack(Instant::ZERO, 0));
        assert_eq!(v.cwnd, (13 + k) * MSS);
    }
    // cong_avoid does nothing during Recovery.
    cc.cong_avoid(&mut v, &ack(Instant::ZERO, 5 * MSS));
    assert_eq!(v.cwnd, 18 * MSS);
    assert_eq!(v.ssthresh, 10 * MSS);
}

#[test]
fn newreno_recovery_partial_ack_deflates_and_adds_back_smss() {
    let (mut cc, mut v) = in_avoidance(20);
    three_dup_acks(&mut cc, &mut v);
    for _ in 0..5 {
        cc.pkts_acked(&mut v, &ack(Instant::ZERO, 0));
    }
    assert_eq!(v.cwnd, 18 * MSS);
    // RFC 6582 §3.2 step 5: 3 segments acked -> -3000 + 1000.
    v.bytes_in_flight -= 3 * MSS;
    cc.pkts_acked(&mut v, &ack(Instant::ZERO, 3 * MSS));
    assert_eq!(v.cwnd, 16 * MSS);
    assert_eq!(cc.state(), CaState::Recovery);
    // Less than one SMSS acked: deflate only.
    cc.pkts_acked(&mut v, &ack(Instant::ZERO, 400));
    assert_eq!(v.cwnd, 16 * MSS - 400);
    // Never below one SMSS.
    cc.pkts_acked(&mut v, &ack(Instant::ZERO, 40 * MSS));
    assert_eq!(v.cwnd, MSS);
}

#[test]
fn newreno_recovery_full_ack_sets_cwnd_to_min_of_ssthresh_and_flight_plus_smss() {
    // Plenty in flight after the full ACK: cwnd = ssthresh.
    let (mut cc, mut v) = in_avoidance(20);
    three_dup_acks(&mut cc, &mut v);
    v.bytes_in_flight = 12 * MSS;
    cc.set_state(&mut v, CaState::Open);
    cc.pkts_acked(&mut v, &ack(Instant::ZERO, 20 * MSS));
    assert_eq!(cc.state(), CaState::Open);
    assert_eq!(v.cwnd, 10 * MSS);
    assert_eq!(v.ssthresh, 10 * MSS);
    // Little in flight: cwnd = FlightSize + SMSS (no burst, RFC 6582 §3.2 step 6).
    let (mut cc, mut v) = in_avoidance(20);
    three_dup_acks(&mut cc, &mut v);
    v.bytes_in_flight = 2 * MSS;
    cc.set_state(&mut v, CaState::Open);
    assert_eq!(v.cwnd, 3 * MSS);
    // Nothing in flight: max(FlightSize, SMSS) + SMSS.
    let (mut cc, mut v) = in_avoidance(20);
    three_dup_acks(&mut cc, &mut v);
    v.bytes_in_flight = 0;
    cc.set_state(&mut v, CaState::Open);
    assert_eq!(v.cwnd, 2 * MSS);
}

#[test]
fn newreno_after_recovery_congestion_avoidance_resumes_from_ssthresh() {
    let (mut cc, mut v) = in_avoidance(20);
    three_dup_acks(&mut cc, &mut v);
    v.bytes_in_flight = 15 * MSS;
    cc.set_state(&mut v, CaState::Open);
    assert_eq!(v.cwnd, 10 * MSS);
    one_rtt(&mut cc, &mut v, MSS);
    assert_eq!(v.cwnd, 11 * MSS);
}

#[test]
fn newreno_rfc6675_recovery_keeps_cwnd_at_ssthresh() {
    let config = CcConfig {
        recovery: RecoveryStyle::Rfc6675,
        ..CcConfig::default()
    };
    let (mut cc, mut v) = started(config);
    v.cwnd = 20 * MSS;
    v.ssthresh = 20 * MSS;
    v.bytes_in_flight = 20 * MSS;
    three_dup_acks(&mut cc, &mut v);
    assert_eq!((v.cwnd, v.ssthresh), (10 * MSS, 10 * MSS));
    cc.pkts_acked(&mut v, &ack(Instant::ZERO, 0));
    cc.pkts_acked(&mut v, &ack(Instant::ZERO, 3 * MSS));
    assert_eq!(v.cwnd, 10 * MSS);
    v.bytes_in_flight = MSS;
    cc.set_state(&mut v, CaState::Open);
    assert_eq!(v.cwnd, 10 * MSS);
}

#[test]
fn newreno_rto_collapses_cwnd_to_one_smss() {
    let (mut cc, mut v) = in_avoidance(20);
    cc.set_state(&mut v, CaState::Loss);
    assert_eq!(cc.state(), CaState::Loss);
    // RFC 5681 §3.1: ssthresh by eq. (4), cwnd = LW = 1*SMSS.
    assert_eq!(v.ssthresh, 10 * MSS);
    assert_eq!(v.cwnd, MSS);
    // A repeated timeout holds ssthresh, whatever FlightSize is now.
    v.bytes_in_flight = 2 * MSS;
    v.cwnd = 3 * MSS;
    cc.set_state(&mut v, CaState::Loss);
    assert_eq!(v.ssthresh, 10 * MSS);
    assert_eq!(v.cwnd, MSS);
    // Slow start from the loss window: 1, 2, 4, 8, then ssthresh caps at 10.
    for expected in [2, 4, 8, 10] {
        one_rtt(&mut cc, &mut v, MSS);
        assert_eq!(v.cwnd, expected * MSS);
    }
    // The ACK that reaches `recover` ends Loss without a window change.
    cc.set_state(&mut v, CaState::Open);
    assert_eq!((cc.state(), v.cwnd), (CaState::Open, 10 * MSS));
}

#[test]
fn newreno_rto_during_recovery_holds_ssthresh_and_collapses_cwnd() {
    let (mut cc, mut v) = in_avoidance(20);
    three_dup_acks(&mut cc, &mut v);
    assert_eq!(v.ssthresh, 10 * MSS);
    v.bytes_in_flight = 30 * MSS;
    cc.set_state(&mut v, CaState::Loss);
    assert_eq!(v.ssthresh, 10 * MSS);
    assert_eq!(v.cwnd, MSS);
}

#[test]
fn newreno_event_spellings_match_set_state() {
    let (mut a, mut va) = in_avoidance(20);
    let (mut b, mut vb) = in_avoidance(20);
    three_dup_acks(&mut a, &mut va);
    b.cwnd_event(&mut vb, CaEvent::FastRetransmit);
    assert_eq!((va, a.state()), (vb, b.state()));
    // Doubling the call changes nothing.
    b.cwnd_event(&mut vb, CaEvent::FastRetransmit);
    assert_eq!(va, vb);
    va.bytes_in_flight = 12 * MSS;
    vb.bytes_in_flight = 12 * MSS;
    a.set_state(&mut va, CaState::Open);
    b.cwnd_event(&mut vb, CaEvent::CompleteRecovery);
    assert_eq!((va, a.state()), (vb, b.state()));
    // CompleteRecovery when already Open does nothing.
    b.cwnd_event(&mut vb, CaEvent::CompleteRecovery);
    assert_eq!(va, vb);
    a.set_state(&mut va, CaState::Loss);
    b.cwnd_event(&mut vb, CaEvent::Loss);
    assert_eq!((va, a.state()), (vb, b.state()));
}

#[test]
fn newreno_cwnd_restart_after_idle_limits_cwnd_to_initial_window() {
    let (mut cc, mut v) = in_avoidance(20);
    cc.cwnd_event(&mut v, CaEvent::CwndRestart);
    // RFC 5681 §4.1: cwnd = min(IW, cwnd) = 4 segments.
    assert_eq!(v.cwnd, 4 * MSS);
    assert_eq!(v.ssthresh, 20 * MSS);
    // A small window is left alone.
    let (mut cc, mut v) = in_avoidance(2);
    cc.cwnd_event(&mut v, CaEvent::CwndRestart);
    assert_eq!(v.cwnd, 2 * MSS);
    // TxStart changes nothing for NewReno.
    let before = v;
    cc.cwnd_event(&mut v, CaEvent::TxStart);
    assert_eq!(v, before);
}

#[test]
fn newreno_undo_restores_cwnd_and_ssthresh_after_spurious_recovery() {
    let (mut cc, mut v) = in_avoidance(20);
    v.ssthresh = 30 * MSS;
    three_dup_acks(&mut cc, &mut v);
    assert_eq!((v.cwnd, v.ssthresh), (13 * MSS, 10 * MSS));
    cc.undo(&mut v);
    assert_eq!((v.cwnd, v.ssthresh), (20 * MSS, 30 * MSS));
    assert_eq!(cc.state(), CaState::Open);
    // Spurious timeout likewise.
    cc.set_state(&mut v, CaState::Loss);
    assert_eq!(v.cwnd, MSS);
    cc.undo(&mut v);
    assert_eq!((v.cwnd, v.ssthresh), (20 * MSS, 30 * MSS));
}

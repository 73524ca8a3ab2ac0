//! CUBIC (RFC 9438): the window follows `W_cubic(t) = C*(t-K)^3 + W_max`
//! in congestion avoidance, never slower than the Reno estimate `W_est`.
//!
//! Windows are kept in segments as `f64` internally (as the RFC writes them)
//! and in bytes in [`CcVars`]; sub-byte growth is carried over between ACKs.
//! Slow start, fast recovery and the timeout window are the shared RFC 5681 /
//! RFC 6582 arithmetic (RFC 9438 §4.10, §4.6 "fast recovery", §4.8).

use super::{
    event_as_state, AckSample, CaEvent, CaState, CcConfig, CcVars, CongestionControl, Transition,
    WindowCore,
};
use crate::time::{Duration, Instant};

/// RFC 9438 §5: `C = 0.4` (segments per second cubed).
pub const C: f64 = 0.4;
/// RFC 9438 §4.6: multiplicative decrease factor `beta_cubic = 0.7`.
pub const BETA: f64 = 0.7;
/// RFC 9438 §4.3: `alpha_cubic = 3 * (1 - beta) / (1 + beta)`.
pub const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// The curve state that RFC 9438 §4.9 restores after a spurious event.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Curve {
    /// `W_max`, segments.
    w_max: f64,
    /// `K`, seconds.
    k: f64,
    /// Start of the current congestion-avoidance stage (`None`: not begun).
    epoch_start: Option<Instant>,
    /// `cwnd_epoch`, segments.
    cwnd_epoch: f64,
    /// `W_est`, segments.
    w_est: f64,
    /// `cwnd_prior`, segments: `cwnd` at the last congestion event.
    cwnd_prior: f64,
}

/// RFC 9438 CUBIC congestion control.
#[derive(Clone, Debug)]
pub struct Cubic {
    core: WindowCore,
    curve: Curve,
    /// The curve before the last congestion event (RFC 9438 §4.9).
    prior_curve: Curve,
    /// The smallest RTT seen: the `RTT` of `W_cubic(t + RTT)`.
    min_rtt: Option<Duration>,
    /// Growth below one byte, carried to the next ACK.
    cwnd_frac: f64,
    /// The next congestion-avoidance stage follows a timeout (RFC 9438 §4.8).
    after_timeout: bool,
}

impl Default for Cubic {
    fn default() -> Cubic {
        Cubic::with_config(CcConfig::default())
    }
}

impl Cubic {
    pub fn new() -> Cubic {
        Cubic::default()
    }

    pub fn with_config(config: CcConfig) -> Cubic {
        Cubic {
            core: WindowCore::new(config),
            curve: Curve::default(),
            prior_curve: Curve::default(),
            min_rtt: None,
            cwnd_frac: 0.0,
            after_timeout: false,
        }
    }

    pub fn state(&self) -> CaState {
        self.core.state
    }

    /// `ssthresh` just before the last reduction.
    pub fn prior_ssthresh(&self) -> u32 {
        self.core.prior_ssthresh
    }

    /// Undo the last reduction (module doc, item 11): `cwnd` from
    /// [`CongestionControl::undo_cwnd`], `ssthresh` at least its prior value.
    pub fn undo(&mut self, v: &mut CcVars) {
        v.cwnd = self.undo_cwnd(v);
        v.ssthresh = v.ssthresh.max(self.core.prior_ssthresh);
    }

    /// `W_max` in segments (zero before the first congestion event).
    pub fn w_max(&self) -> f64 {
        self.curve.w_max
    }

    /// `K` in seconds for the current congestion-avoidance stage.
    pub fn k(&self) -> f64 {
        self.curve.k
    }

    /// `W_est` in segments (RFC 9438 §4.3).
    pub fn w_est(&self) -> f64 {
        self.curve.w_est
    }

    /// Start of the current congestion-avoidance stage, once begun.
    pub fn epoch_start(&self) -> Option<Instant> {
        self.curve.epoch_start
    }

    /// The smallest RTT sample seen.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// RFC 9438 §4.2 eq. (1): `W_cubic(t) = C*(t-K)^3 + W_max`, in segments,
    /// `t` in seconds since the start of the congestion-avoidance stage.
    pub fn w_cubic(&self, t: f64) -> f64 {
        let d = t - self.curve.k;
        C * d * d * d + self.curve.w_max
    }

    fn note_rtt(&mut self, rtt: Option<Duration>) {
        if let Some(rtt) = rtt {
            self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
        }
    }

    /// Start a congestion-avoidance stage at `now` with `cwnd` segments.
    fn begin_epoch(&mut self, now: Instant, cwnd: f64) {
        let c = &mut self.curve;
        c.epoch_start = Some(now);
        c.cwnd_epoch = cwnd;
        // RFC 9438 §4.3: W_est starts at cwnd_epoch.
        c.w_est = cwnd;
        if self.after_timeout || c.w_max <= cwnd {
            // RFC 9438 §4.8: after a timeout, K = 0 and W_max is the window
            // at the start of the stage. A stage that starts at or above the
            // old W_max (no loss yet, or an undo) is treated the same way: the
            // curve starts convex from here rather than with a negative K.
            c.w_max = cwnd;
            c.k = 0.0;
        } else {
            // RFC 9438 §4.2 eq. (2): K = cbrt((W_max - cwnd_epoch) / C).
            c.k = ((c.w_max - cwnd) / C).cbrt();
        }
        self.after_timeout = false;
    }

    /// RFC 9438 §4.2–§4.5: congestion-avoidance growth for `acked` bytes.
    fn avoid(&mut self, v: &mut CcVars, acked: u32, now: Instant) {
        let mss = f64::from(v.smss());
        // At least one segment, so that the divisions below stay finite even
        // if the TCB never called `init`.
        let cwnd = (f64::from(v.cwnd) + self.cwnd_frac).max(mss) / mss;
        let epoch_start = match self.curve.epoch_start {
            Some(start) => start,
            None => {
                self.begin_epoch(now, cwnd);
                now
            }
        };
        let t = (now - epoch_start).as_secs_f64();
        let rtt = self.min_rtt.map_or(0.0, |r| r.as_secs_f64());
        let segments_acked = f64::from(acked) / mss;

        // RFC 9438 §4.3: W_est += alpha * segments_acked / cwnd, with alpha
        // raised to 1 once W_est has reached cwnd_prior.
        let alpha = if self.curve.w_est >= self.curve.cwnd_prior {
            1.0
        } else {
            ALPHA
        };
        self.curve.w_est += alpha * segments_acked / cwnd;

        let new_cwnd = if self.w_cubic(t) < self.curve.w_est {
            // RFC 9438 §4.3: Reno-friendly region, cwnd = W_est.
            self.curve.w_est.max(cwnd)
        } else {
            // RFC 9438 §4.4/§4.5: concave or convex region. The target is
            // W_cubic(t + RTT) clamped to [cwnd, 1.5*cwnd]; cwnd grows by
            // (target - cwnd) / cwnd per segment acked.
            let target = self.w_cubic(t + rtt).clamp(cwnd, 1.5 * cwnd);
            cwnd + (target - cwnd) / cwnd * segments_acked
        };
        let bytes = (new_cwnd * mss).min(f64::from(u32::MAX));
        let whole = bytes.floor();
        // `whole` is in [cwnd, u32::MAX]: the conversion is exact.
        v.cwnd = (whole as u32).max(v.cwnd);
        self.cwnd_frac = bytes - whole;
    }
}

impl CongestionControl for Cubic {
    fn name(&self) -> &'static str {
        "cubic"
    }

    fn init(&mut self, v: &mut CcVars) {
        self.core.init(v);
        self.curve = Curve::default();
        self.prior_curve = Curve::default();
        self.min_rtt = None;
        self.cwnd_frac = 0.0;
        self.after_timeout = false;
    }

    /// RFC 9438 §4.6: `ssthresh = cwnd * beta_cubic` (at least two
    /// segments), recording `W_max` with fast convergence (§4.7) and
    /// `cwnd_prior`, and ending the congestion-avoidance stage.
    fn ssthresh(&mut self, v: &CcVars) -> u32 {
        let mss = f64::from(v.smss());
        let cwnd = f64::from(v.cwnd) / mss;
        self.prior_curve = self.curve;
        let c = &mut self.curve;
        // RFC 9438 §4.7: a loss before reaching the old W_max means a new
        // flow is competing: release bandwidth by lowering W_max further.
        c.w_max = if self.core.config.cubic_fast_convergence && cwnd < c.w_max {
            cwnd * (1.0 + BETA) / 2.0
        } else {
            cwnd
        };
        c.cwnd_prior = cwnd;
        c.epoch_start = None;
        self.cwnd_frac = 0.0;
        let ssthresh = (f64::from(v.cwnd) * BETA) as u32;
        ssthresh.max(v.smss().saturating_mul(2))
    }

    fn cong_avoid(&mut self, v: &mut CcVars, s: &AckSample) {
        self.note_rtt(s.rtt);
        if !self.core.may_grow(s) {
            return;
        }
        let mut acked = s.acked_bytes;
        if v.in_slow_start() {
            // RFC 9438 §4.10: standard slow start below ssthresh.
            acked = self.core.slow_start(v, acked);
        }
        if acked > 0 {
            self.avoid(v, acked, s.now);
        }
    }

    fn set_state(&mut self, v: &mut CcVars, state: CaState) {
        match self.core.transition(state) {
            Transition::EnterRecovery => {
                let ssthresh = self.ssthresh(v);
                self.core.enter_recovery(v, ssthresh);
            }
            Transition::FirstTimeout => {
                // RFC 9438 §4.8: Reno's timeout window, CUBIC's ssthresh.
                let ssthresh = self.ssthresh(v);
                self.core.enter_loss(v, Some(ssthresh));
                self.after_timeout = true;
            }
            Transition::RepeatedTimeout => {
                self.core.enter_loss(v, None);
                self.curve.epoch_start = None;
                self.after_timeout = true;
            }
            Transition::ExitRecovery => self.core.exit_recovery(v, state),
            Transition::Relabel => self.core.state = state,
        }
    }

    fn cwnd_event(&mut self, v: &mut CcVars, ev: CaEvent) {
        if let Some(state) = event_as_state(self.core.state, ev) {
            self.set_state(v, state);
            return;
        }
        match ev {
            CaEvent::CwndRestart => {
                self.core.restart_after_idle(v);
                self.curve.epoch_start = None;
            }
            // Idle time is not growth time: the next ACK starts a new stage
            // from the current window (RFC 9438 §4.2 measures t from the start
            // of the stage; an idle sender is not in congestion avoidance).
            CaEvent::TxStart => self.curve.epoch_start = None,
            CaEvent::CompleteRecovery | CaEvent::Loss | CaEvent::FastRetransmit => {}
        }
    }

    fn pkts_acked(&mut self, v: &mut CcVars, s: &AckSample) {
        self.note_rtt(s.rtt);
        self.core.recovery_ack(v, s.acked_bytes);
    }

    /// RFC 9438 §4.9: restore the curve from before the congestion event.
    fn undo_cwnd(&mut self, v: &CcVars) -> u32 {
        self.curve = self.prior_curve;
        self.after_timeout = false;
        self.cwnd_frac = 0.0;
        self.core.undo(v)
    }
}

//! NewReno: RFC 5681 slow start, congestion avoidance and fast
//! retransmit/recovery, with RFC 6582's partial-ACK handling.

use super::{
    event_as_state, AckSample, CaEvent, CaState, CcConfig, CcVars, CongestionControl, Transition,
    WindowCore,
};

/// RFC 5681 + RFC 6582 congestion control, byte counted (RFC 3465).
#[derive(Clone, Debug)]
pub struct NewReno {
    core: WindowCore,
}

impl Default for NewReno {
    fn default() -> NewReno {
        NewReno::with_config(CcConfig::default())
    }
}

impl NewReno {
    pub fn new() -> NewReno {
        NewReno::default()
    }

    pub fn with_config(config: CcConfig) -> NewReno {
        NewReno {
            core: WindowCore::new(config),
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
}

impl CongestionControl for NewReno {
    fn name(&self) -> &'static str {
        "newreno"
    }

    fn init(&mut self, v: &mut CcVars) {
        self.core.init(v);
    }

    /// RFC 5681 §3.1 eq. (4): `ssthresh = max(FlightSize / 2, 2*SMSS)`.
    fn ssthresh(&mut self, v: &CcVars) -> u32 {
        (v.bytes_in_flight / 2).max(v.smss().saturating_mul(2))
    }

    /// RFC 5681 §3.1: slow start while `cwnd < ssthresh`, then congestion
    /// avoidance (about one SMSS per RTT, RFC 3465 §2.1 byte counting).
    fn cong_avoid(&mut self, v: &mut CcVars, s: &AckSample) {
        if !self.core.may_grow(s) {
            return;
        }
        let mut acked = s.acked_bytes;
        if v.in_slow_start() {
            acked = self.core.slow_start(v, acked);
        }
        if acked > 0 {
            self.core.reno_avoid(v, acked);
        }
    }

    fn set_state(&mut self, v: &mut CcVars, state: CaState) {
        match self.core.transition(state) {
            Transition::EnterRecovery => {
                let ssthresh = self.ssthresh(v);
                self.core.enter_recovery(v, ssthresh);
            }
            Transition::FirstTimeout => {
                let ssthresh = self.ssthresh(v);
                self.core.enter_loss(v, Some(ssthresh));
            }
            Transition::RepeatedTimeout => self.core.enter_loss(v, None),
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
            CaEvent::CwndRestart => self.core.restart_after_idle(v),
            // NewReno keeps no clock: a transmission start changes nothing.
            CaEvent::TxStart => {}
            CaEvent::CompleteRecovery | CaEvent::Loss | CaEvent::FastRetransmit => {}
        }
    }

    /// During Recovery: RFC 5681 §3.2 step 4 inflation for a duplicate ACK,
    /// RFC 6582 §3.2 step 5 deflation for a partial ACK. Nothing otherwise.
    fn pkts_acked(&mut self, v: &mut CcVars, s: &AckSample) {
        self.core.recovery_ack(v, s.acked_bytes);
    }

    fn undo_cwnd(&mut self, v: &CcVars) -> u32 {
        self.core.undo(v)
    }
}

//! Congestion control: a trait shaped like Linux's `struct tcp_congestion_ops`
//! (`ssthresh`, `cong_avoid`, `set_state`, `cwnd_event`, `pkts_acked`,
//! `undo_cwnd`), counted in bytes as RFC 5681 does, with NewReno
//! (RFC 5681 + RFC 6582) and CUBIC (RFC 9438).
//!
//! The TCB owns the window variables ([`CcVars`]: `cwnd`, `ssthresh`, SMSS and
//! FlightSize, RFC 5681 §2 names) and lends them to the algorithm by `&mut`.
//! The algorithm owns everything else (its congestion state, byte counters,
//! CUBIC's curve). The algorithm is chosen per connection with [`Cc::new`] and
//! dispatched statically (an enum, no `Box<dyn>`).
//!
//! # Calling protocol
//!
//! Another engineer writes the TCB against this list; each item is one
//! situation, and says exactly which calls to make, in which order. `v` is the
//! connection's [`CcVars`], `cc` its [`Cc`]. Before every call the TCB keeps
//! `v.mss` (SMSS) current, and sets `v.bytes_in_flight` (FlightSize: data sent
//! but not yet cumulatively acknowledged, `SND.NXT - SND.UNA`, RFC 5681 §2) to
//! the value the item names. An [`AckSample`] is built for every ACK the item
//! passes one for: `acked_bytes = SEG.ACK - SND.UNA(before)`, zero for a
//! duplicate ACK; `in_flight_before` the FlightSize before the ACK; `rtt` a
//! sample valid under Karn's rule (see [`crate::rtt::RttSampler`]), else
//! `None`; `is_app_limited` true when the sender was not using the whole
//! `cwnd` (it had less data than the window allowed), so the window does not
//! grow on ACKs it did not need (RFC 7661 §4).
//!
//! 1. **Connection start**, once SMSS is known (after the SYN exchange,
//!    RFC 9293 §3.7.1): set `v.mss`, then `cc.init(&mut v)`. Result:
//!    `cwnd = IW` (RFC 5681 §3.1, or IW10 by [`CcConfig`]), `ssthresh =
//!    u32::MAX` ("arbitrarily high", RFC 5681 §3.1), state Open.
//! 2. **New ACK (SEG.ACK advances SND.UNA) while `cc.state()` is Open or
//!    Disorder**: if Disorder, first `cc.set_state(&mut v, CaState::Open)`.
//!    Set `v.bytes_in_flight` to the FlightSize *after* the ACK, then
//!    `cc.pkts_acked(&mut v, &s)` and `cc.cong_avoid(&mut v, &s)`. Result:
//!    slow start below `ssthresh` (byte counting, at most `L*SMSS` per ACK,
//!    RFC 3465 §2.2, L = 2), congestion avoidance at or above it (about one
//!    SMSS per RTT for NewReno, RFC 5681 §3.1; the cubic curve for CUBIC).
//! 3. **First or second duplicate ACK** (RFC 5681 §2 definition) while Open:
//!    `cc.set_state(&mut v, CaState::Disorder)`. No window change (RFC 3042
//!    limited transmit, if used, is the TCB's and does not touch `cwnd`).
//! 4. **Third duplicate ACK** (or RFC 6675 loss detection) while Open or
//!    Disorder, when the TCB's RFC 6582 §3.2 step 2 check allows a fast
//!    retransmit (the ACK covers more than `recover`): with
//!    `v.bytes_in_flight` = FlightSize *before* the retransmission,
//!    `cc.set_state(&mut v, CaState::Recovery)`. Result: `ssthresh =`
//!    the algorithm's [`CongestionControl::ssthresh`] (NewReno:
//!    `max(FlightSize/2, 2*SMSS)`, RFC 5681 eq. (4); CUBIC: `cwnd * 0.7`,
//!    RFC 9438 §4.6), `cwnd = ssthresh + 3*SMSS` (RFC 5681 §3.2 step 3;
//!    with [`RecoveryStyle::Rfc6675`], `cwnd = ssthresh`). Then the TCB
//!    records `recover = SND.NXT` and retransmits the first unacknowledged
//!    segment.
//! 5. **Further duplicate ACK while in Recovery**: `cc.pkts_acked(&mut v, &s)`
//!    with `s.acked_bytes == 0`. Result: `cwnd += SMSS` (RFC 5681 §3.2
//!    step 4; no change with [`RecoveryStyle::Rfc6675`], where the TCB's
//!    `pipe` does the accounting).
//! 6. **Partial ACK in Recovery** (`SND.UNA < SEG.ACK < recover`, RFC 6582
//!    §3.2 step 5): set `v.bytes_in_flight` to the FlightSize after the ACK,
//!    then `cc.pkts_acked(&mut v, &s)` with the newly acked bytes. Result:
//!    `cwnd -= acked_bytes`, then `cwnd += SMSS` if `acked_bytes >= SMSS`
//!    (never below one SMSS). The TCB retransmits the next unacknowledged
//!    segment. Do not call `cong_avoid` in Recovery (it would do nothing).
//! 7. **Full ACK in Recovery** (`SEG.ACK >= recover`, RFC 6582 §3.2 step 6):
//!    set `v.bytes_in_flight` to the FlightSize *after* the ACK, then
//!    `cc.set_state(&mut v, CaState::Open)`, then `cc.pkts_acked(&mut v, &s)`
//!    (RTT bookkeeping only). Result: `cwnd = min(ssthresh, max(FlightSize,
//!    SMSS) + SMSS)` (RFC 6582 option 1; with [`RecoveryStyle::Rfc6675`]
//!    `cwnd` stays `ssthresh`). No `cong_avoid` on this ACK.
//! 8. **Retransmission timeout** (RFC 6298 §5.4): with `v.bytes_in_flight` =
//!    FlightSize before the retransmission, `cc.set_state(&mut v,
//!    CaState::Loss)`. Result: `cwnd = LW = 1*SMSS` (RFC 5681 §3.1);
//!    `ssthresh =` [`CongestionControl::ssthresh`] on the first timeout of a
//!    loss episode (from Open or Disorder), held constant on a repeated
//!    timeout (RFC 5681 §3.1: "ssthresh is held constant") and on a timeout
//!    during Recovery (the episode has already reduced it once). Then the TCB
//!    records `recover = SND.NXT` (RFC 6582 §4), backs off the RTO
//!    ([`crate::rtt::RttEstimator::backoff`]) and retransmits.
//! 9. **ACKs while in Loss**: a new ACK is handled as in item 2 (`pkts_acked`
//!    then `cong_avoid`: slow start from the loss window); when the ACK
//!    reaches `recover`, first `cc.set_state(&mut v, CaState::Open)` (no
//!    window change). Duplicate ACKs in Loss need no call (no fast
//!    retransmit before `recover` is passed, RFC 6582 §4.1).
//! 10. **Restart after idle**: when the TCB sends after an idle period longer
//!     than the RTO with nothing in flight (RFC 5681 §4.1),
//!     `cc.cwnd_event(&mut v, CaEvent::CwndRestart)`; result `cwnd = min(IW,
//!     cwnd)`. On every transmission that starts with nothing in flight
//!     (after an application-limited pause, whatever its length),
//!     `cc.cwnd_event(&mut v, CaEvent::TxStart)` (CUBIC starts a new epoch so
//!     idle time is not counted as growth time; NewReno: no change). When
//!     both apply, CwndRestart first.
//! 11. **Spurious reduction detected** (Eifel RFC 3522, DSACK RFC 3708,
//!     F-RTO RFC 5682): `cc.undo(&mut v)`, which sets `v.cwnd =
//!     cc.undo_cwnd(&v)` and restores `ssthresh` to at least its value
//!     before the reduction; state Open.
//!
//! `ssthresh()` is called by `set_state` (items 4 and 8), never by the TCB:
//! as in Linux it has side effects for CUBIC (it records `W_max`).
//!
//! [`CaEvent::FastRetransmit`], [`CaEvent::Loss`] and
//! [`CaEvent::CompleteRecovery`] are the same transitions spelled as events:
//! `cwnd_event(FastRetransmit)` is `set_state(Recovery)`, `cwnd_event(Loss)`
//! is `set_state(Loss)`, and `cwnd_event(CompleteRecovery)` is
//! `set_state(Open)` when in Recovery or Loss (nothing otherwise). A TCB uses
//! one spelling; every transition is idempotent, so a doubled call changes
//! nothing further (a doubled Loss is a repeated timeout: `ssthresh` held,
//! `cwnd` stays one SMSS).

pub mod cubic;
pub mod newreno;

pub use cubic::Cubic;
pub use newreno::NewReno;

use crate::time::{Duration, Instant};
use core::fmt;
use core::str::FromStr;

/// The window variables, owned by the TCB (RFC 5681 §2 names, in bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CcVars {
    /// Congestion window (`cwnd`).
    pub cwnd: u32,
    /// Slow start threshold (`ssthresh`).
    pub ssthresh: u32,
    /// Sender maximum segment size (SMSS).
    pub mss: u32,
    /// FlightSize: sent but not yet cumulatively acknowledged.
    pub bytes_in_flight: u32,
}

impl CcVars {
    /// Variables before [`CongestionControl::init`]: no window yet.
    pub fn new(mss: u32) -> CcVars {
        CcVars {
            cwnd: 0,
            ssthresh: u32::MAX,
            mss,
            bytes_in_flight: 0,
        }
    }

    /// `cwnd < ssthresh` (RFC 5681 §3.1: slow start).
    pub fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// SMSS, never zero (a zero SMSS would stall every formula).
    fn smss(&self) -> u32 {
        self.mss.max(1)
    }
}

/// Congestion state, as Linux's `TCP_CA_*` (without CWR: no ECN here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CaState {
    /// Nothing wrong.
    #[default]
    Open,
    /// Duplicate ACKs seen, fewer than the fast-retransmit threshold.
    Disorder,
    /// Fast recovery (RFC 5681 §3.2, RFC 6582).
    Recovery,
    /// After a retransmission timeout (RFC 5681 §3.1, RFC 6298 §5).
    Loss,
}

/// Events without a state change of their own (see the module doc, items 10
/// and the equivalences).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaEvent {
    /// A transmission starts with nothing in flight.
    TxStart,
    /// Restart after an idle period longer than the RTO (RFC 5681 §4.1).
    CwndRestart,
    /// Recovery ended: same as `set_state(Open)` from Recovery or Loss.
    CompleteRecovery,
    /// Retransmission timeout: same as `set_state(Loss)`.
    Loss,
    /// Fast retransmit: same as `set_state(Recovery)`.
    FastRetransmit,
}

/// What one arriving ACK tells the algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckSample {
    /// Arrival time.
    pub now: Instant,
    /// Bytes newly acknowledged (`SEG.ACK - SND.UNA`); zero for a duplicate ACK.
    pub acked_bytes: u32,
    /// An RTT measurement valid under Karn's rule, if this ACK gave one.
    pub rtt: Option<Duration>,
    /// FlightSize before this ACK (for algorithms that want it; the
    /// built-in ones decide growth from `is_app_limited`).
    pub in_flight_before: u32,
    /// The sender did not fill `cwnd`: do not grow it (RFC 7661 §4).
    pub is_app_limited: bool,
}

/// The operations table, modelled on Linux's `struct tcp_congestion_ops`.
/// See the module doc for when the TCB calls each method.
pub trait CongestionControl {
    /// Algorithm name as accepted by [`CcAlgorithm::from_str`].
    fn name(&self) -> &'static str;
    /// Start of the connection: initial window and threshold.
    fn init(&mut self, v: &mut CcVars);
    /// The new `ssthresh` after a congestion event. Called by `set_state`.
    fn ssthresh(&mut self, v: &CcVars) -> u32;
    /// Window growth on a new ACK: slow start or congestion avoidance.
    fn cong_avoid(&mut self, v: &mut CcVars, s: &AckSample);
    /// Congestion state change, with the window arithmetic of the transition.
    fn set_state(&mut self, v: &mut CcVars, state: CaState);
    /// An event that is not itself a state change (or one spelled as an event).
    fn cwnd_event(&mut self, v: &mut CcVars, ev: CaEvent);
    /// Every new ACK, and every duplicate ACK during Recovery.
    fn pkts_acked(&mut self, v: &mut CcVars, s: &AckSample);
    /// The `cwnd` to restore when the last reduction was spurious.
    fn undo_cwnd(&mut self, v: &CcVars) -> u32;
}

/// Initial window choice (RFC 5681 §3.1, RFC 3390, RFC 6928).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InitialWindow {
    /// RFC 5681 §3.1: 2, 3 or 4 segments for SMSS above 2190, above 1095, else.
    #[default]
    Rfc5681,
    /// RFC 3390 §1: `min(4*SMSS, max(2*SMSS, 4380))` bytes.
    Rfc3390,
    /// RFC 6928 §2 (IW10): `min(10*SMSS, max(2*SMSS, 14600))` bytes.
    Rfc6928,
    /// A fixed number of segments (at least one), for experiments.
    Segments(u32),
}

impl InitialWindow {
    /// The initial window in bytes for this SMSS.
    pub fn bytes(self, smss: u32) -> u32 {
        let smss = smss.max(1);
        match self {
            // RFC 5681 §3.1
            InitialWindow::Rfc5681 => {
                let segments = if smss > 2190 {
                    2
                } else if smss > 1095 {
                    3
                } else {
                    4
                };
                smss.saturating_mul(segments)
            }
            // RFC 3390 §1
            InitialWindow::Rfc3390 => smss.saturating_mul(4).min(smss.saturating_mul(2).max(4380)),
            // RFC 6928 §2
            InitialWindow::Rfc6928 => smss
                .saturating_mul(10)
                .min(smss.saturating_mul(2).max(14600)),
            InitialWindow::Segments(n) => smss.saturating_mul(n.max(1)),
        }
    }
}

/// How the window behaves during fast recovery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecoveryStyle {
    /// RFC 5681 §3.2 + RFC 6582: `cwnd = ssthresh + 3*SMSS`, inflated per
    /// duplicate ACK, deflated per partial ACK.
    #[default]
    Rfc6582,
    /// RFC 6675 §5 (SACK): `cwnd = ssthresh` for the whole recovery; the
    /// TCB sends while its `pipe < cwnd`.
    Rfc6675,
}

/// Per-connection congestion-control settings shared by all algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CcConfig {
    pub initial_window: InitialWindow,
    pub recovery: RecoveryStyle,
    /// RFC 3465 §2.2 limit L, in segments, on slow-start growth per ACK
    /// (2 per RFC 3465; 1 is RFC 5681's `min(N, SMSS)`; 0 is taken as 1).
    pub abc_limit: u32,
    /// CUBIC fast convergence (RFC 9438 §4.7).
    pub cubic_fast_convergence: bool,
}

impl Default for CcConfig {
    fn default() -> CcConfig {
        CcConfig {
            initial_window: InitialWindow::Rfc5681,
            recovery: RecoveryStyle::Rfc6582,
            abc_limit: 2,
            cubic_fast_convergence: true,
        }
    }
}

/// The algorithms this crate provides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CcAlgorithm {
    #[default]
    NewReno,
    Cubic,
}

/// A congestion-control name that is not one of ours.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseCcAlgorithmError {
    #[error("unknown congestion control algorithm {name:?} (expected \"newreno\" or \"cubic\")")]
    Unknown { name: String },
}

impl CcAlgorithm {
    /// The canonical name (`"newreno"`, `"cubic"`).
    pub fn name(self) -> &'static str {
        match self {
            CcAlgorithm::NewReno => "newreno",
            CcAlgorithm::Cubic => "cubic",
        }
    }
}

impl FromStr for CcAlgorithm {
    type Err = ParseCcAlgorithmError;

    /// Case-insensitive `"newreno"` or `"cubic"`.
    fn from_str(s: &str) -> Result<CcAlgorithm, ParseCcAlgorithmError> {
        if s.eq_ignore_ascii_case("newreno") {
            Ok(CcAlgorithm::NewReno)
        } else if s.eq_ignore_ascii_case("cubic") {
            Ok(CcAlgorithm::Cubic)
        } else {
            Err(ParseCcAlgorithmError::Unknown { name: s.to_owned() })
        }
    }
}

impl fmt::Display for CcAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One connection's congestion controller, statically dispatched.
#[derive(Clone, Debug)]
pub enum Cc {
    NewReno(NewReno),
    Cubic(Cubic),
}

macro_rules! dispatch {
    ($self:expr, $alg:ident => $body:expr) => {
        match $self {
            Cc::NewReno($alg) => $body,
            Cc::Cubic($alg) => $body,
        }
    };
}

impl Cc {
    /// The algorithm with the default [`CcConfig`].
    pub fn new(algorithm: CcAlgorithm) -> Cc {
        Cc::with_config(algorithm, CcConfig::default())
    }

    pub fn with_config(algorithm: CcAlgorithm, config: CcConfig) -> Cc {
        match algorithm {
            CcAlgorithm::NewReno => Cc::NewReno(NewReno::with_config(config)),
            CcAlgorithm::Cubic => Cc::Cubic(Cubic::with_config(config)),
        }
    }

    pub fn algorithm(&self) -> CcAlgorithm {
        match self {
            Cc::NewReno(_) => CcAlgorithm::NewReno,
            Cc::Cubic(_) => CcAlgorithm::Cubic,
        }
    }

    /// The congestion state the algorithm believes it is in.
    pub fn state(&self) -> CaState {
        dispatch!(self, a => a.state())
    }

    /// `ssthresh` just before the last reduction (for undo).
    pub fn prior_ssthresh(&self) -> u32 {
        dispatch!(self, a => a.prior_ssthresh())
    }

    /// Undo the last reduction (module doc, item 11): `cwnd` from
    /// [`CongestionControl::undo_cwnd`], `ssthresh` at least its prior value.
    pub fn undo(&mut self, v: &mut CcVars) {
        dispatch!(self, a => a.undo(v))
    }
}

impl CongestionControl for Cc {
    fn name(&self) -> &'static str {
        dispatch!(self, a => a.name())
    }
    fn init(&mut self, v: &mut CcVars) {
        dispatch!(self, a => a.init(v))
    }
    fn ssthresh(&mut self, v: &CcVars) -> u32 {
        dispatch!(self, a => a.ssthresh(v))
    }
    fn cong_avoid(&mut self, v: &mut CcVars, s: &AckSample) {
        dispatch!(self, a => a.cong_avoid(v, s))
    }
    fn set_state(&mut self, v: &mut CcVars, state: CaState) {
        dispatch!(self, a => a.set_state(v, state))
    }
    fn cwnd_event(&mut self, v: &mut CcVars, ev: CaEvent) {
        dispatch!(self, a => a.cwnd_event(v, ev))
    }
    fn pkts_acked(&mut self, v: &mut CcVars, s: &AckSample) {
        dispatch!(self, a => a.pkts_acked(v, s))
    }
    fn undo_cwnd(&mut self, v: &CcVars) -> u32 {
        dispatch!(self, a => a.undo_cwnd(v))
    }
}

/// What a `set_state` call means, given the current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transition {
    /// Open/Disorder/Loss -> Recovery: reduce and enter fast recovery.
    EnterRecovery,
    /// Open/Disorder -> Loss: first timeout of an episode, reduce.
    FirstTimeout,
    /// Loss -> Loss or Recovery -> Loss: timeout, `ssthresh` held.
    RepeatedTimeout,
    /// Recovery -> Open/Disorder: the full ACK.
    ExitRecovery,
    /// Anything else: only the state label changes.
    Relabel,
}

/// Window arithmetic common to every algorithm (RFC 5681, RFC 3465,
/// RFC 6582, RFC 6675): the algorithms embed one and add their own growth.
#[derive(Clone, Debug)]
struct WindowCore {
    config: CcConfig,
    state: CaState,
    /// RFC 3465 §2.1 `bytes_acked`, the congestion-avoidance byte counter.
    bytes_acked: u32,
    prior_cwnd: u32,
    prior_ssthresh: u32,
}

impl WindowCore {
    fn new(config: CcConfig) -> WindowCore {
        WindowCore {
            config,
            state: CaState::Open,
            bytes_acked: 0,
            prior_cwnd: 0,
            prior_ssthresh: 0,
        }
    }

    fn init(&mut self, v: &mut CcVars) {
        // RFC 5681 §3.1: IW, and ssthresh "arbitrarily high".
        v.cwnd = self.config.initial_window.bytes(v.smss());
        v.ssthresh = u32::MAX;
        self.state = CaState::Open;
        self.bytes_acked = 0;
        self.prior_cwnd = 0;
        self.prior_ssthresh = 0;
    }

    fn transition(&self, new: CaState) -> Transition {
        match (self.state, new) {
            (CaState::Recovery, CaState::Recovery) => Transition::Relabel,
            (_, CaState::Recovery) => Transition::EnterRecovery,
            (CaState::Open | CaState::Disorder, CaState::Loss) => Transition::FirstTimeout,
            (CaState::Loss | CaState::Recovery, CaState::Loss) => Transition::RepeatedTimeout,
            (CaState::Recovery, CaState::Open | CaState::Disorder) => Transition::ExitRecovery,
            _ => Transition::Relabel,
        }
    }

    /// Growth is frozen during fast recovery: the recovery arithmetic owns `cwnd`.
    fn may_grow(&self, s: &AckSample) -> bool {
        self.state != CaState::Recovery && !s.is_app_limited && s.acked_bytes > 0
    }

    /// RFC 5681 §3.1 slow start with RFC 3465 §2.2 byte counting (limit L):
    /// `cwnd += min(N, L*SMSS)`, never past `ssthresh`. Returns the acked
    /// bytes left over once `cwnd` reached `ssthresh`, for congestion avoidance.
    fn slow_start(&mut self, v: &mut CcVars, acked: u32) -> u32 {
        let limit = v.smss().saturating_mul(self.config.abc_limit.max(1));
        let increase = acked.min(limit);
        let room = v.ssthresh.saturating_sub(v.cwnd);
        if increase < room {
            v.cwnd += increase;
            0
        } else {
            v.cwnd = v.ssthresh;
            acked - room.min(acked)
        }
    }

    /// RFC 5681 §3.1 congestion avoidance with RFC 3465 §2.1 appropriate byte
    /// counting: one SMSS each time a whole `cwnd` of bytes has been acked.
    fn reno_avoid(&mut self, v: &mut CcVars, acked: u32) {
        self.bytes_acked = self.bytes_acked.saturating_add(acked);
        if self.bytes_acked >= v.cwnd {
            self.bytes_acked -= v.cwnd;
            v.cwnd = v.cwnd.saturating_add(v.smss());
            // One increment per ACK; do not carry more than a window.
            self.bytes_acked = self.bytes_acked.min(v.cwnd);
        }
    }

    fn remember_prior(&mut self, v: &CcVars) {
        self.prior_cwnd = v.cwnd;
        self.prior_ssthresh = v.ssthresh;
    }

    /// RFC 5681 §3.2 steps 2–3 (or RFC 6675 §5 step 4.2).
    fn enter_recovery(&mut self, v: &mut CcVars, ssthresh: u32) {
        if self.state != CaState::Loss {
            self.remember_prior(v);
        }
        v.ssthresh = ssthresh;
        v.cwnd = match self.config.recovery {
            RecoveryStyle::Rfc6582 => ssthresh.saturating_add(v.smss().saturating_mul(3)),
            RecoveryStyle::Rfc6675 => ssthresh,
        };
        self.bytes_acked = 0;
        self.state = CaState::Recovery;
    }

    /// A duplicate ACK (`acked == 0`, RFC 5681 §3.2 step 4) or a partial ACK
    /// (RFC 6582 §3.2 step 5) during fast recovery.
    fn recovery_ack(&mut self, v: &mut CcVars, acked: u32) {
        if self.state != CaState::Recovery || self.config.recovery == RecoveryStyle::Rfc6675 {
            return;
        }
        let smss = v.smss();
        if acked == 0 {
            // RFC 5681 §3.2 step 4: inflate by SMSS per additional duplicate ACK.
            v.cwnd = v.cwnd.saturating_add(smss);
        } else {
            // RFC 6582 §3.2 step 5: deflate by the newly acked amount, and add
            // back SMSS if at least one SMSS was acked.
            let mut cwnd = v.cwnd.saturating_sub(acked);
            if acked >= smss {
                cwnd = cwnd.saturating_add(smss);
            }
            v.cwnd = cwnd.max(smss);
        }
    }

    /// RFC 6582 §3.2 step 6, option (1): `min(ssthresh, max(FlightSize, SMSS) + SMSS)`.
    fn exit_recovery(&mut self, v: &mut CcVars, new: CaState) {
        if self.config.recovery == RecoveryStyle::Rfc6582 {
            let flight = v.bytes_in_flight.max(v.smss()).saturating_add(v.smss());
            v.cwnd = v.ssthresh.min(flight);
        }
        self.bytes_acked = 0;
        self.state = new;
    }

    /// RFC 5681 §3.1: on a timeout `cwnd = LW = 1*SMSS`; `ssthresh` from
    /// eq. (4) the first time (`Some`), held on a repeated timeout (`None`).
    fn enter_loss(&mut self, v: &mut CcVars, ssthresh: Option<u32>) {
        if let Some(ssthresh) = ssthresh {
            self.remember_prior(v);
            v.ssthresh = ssthresh;
        }
        v.cwnd = v.smss();
        self.bytes_acked = 0;
        self.state = CaState::Loss;
    }

    /// RFC 5681 §4.1: after an idle period longer than the RTO,
    /// `cwnd = min(RW, cwnd)` with `RW = min(IW, cwnd)`.
    fn restart_after_idle(&mut self, v: &mut CcVars) {
        let iw = self.config.initial_window.bytes(v.smss());
        v.cwnd = v.cwnd.min(iw);
        self.bytes_acked = 0;
    }

    /// The `cwnd` to restore after a spurious reduction (Linux's
    /// `tcp_reno_undo_cwnd`: the larger of now and before).
    fn undo(&mut self, v: &CcVars) -> u32 {
        self.state = CaState::Open;
        self.bytes_acked = 0;
        v.cwnd.max(self.prior_cwnd)
    }
}

/// The event spelling of a transition (module doc, equivalences).
fn event_as_state(current: CaState, ev: CaEvent) -> Option<CaState> {
    match ev {
        CaEvent::FastRetransmit => Some(CaState::Recovery),
        CaEvent::Loss => Some(CaState::Loss),
        CaEvent::CompleteRecovery => match current {
            CaState::Recovery | CaState::Loss => Some(CaState::Open),
            CaState::Open | CaState::Disorder => None,
        },
        CaEvent::TxStart | CaEvent::CwndRestart => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_window_rfc5681_table_by_smss() {
        assert_eq!(InitialWindow::Rfc5681.bytes(536), 4 * 536);
        assert_eq!(InitialWindow::Rfc5681.bytes(1095), 4 * 1095);
        assert_eq!(InitialWindow::Rfc5681.bytes(1096), 3 * 1096);
        assert_eq!(InitialWindow::Rfc5681.bytes(1460), 3 * 1460);
        assert_eq!(InitialWindow::Rfc5681.bytes(2190), 3 * 2190);
        assert_eq!(InitialWindow::Rfc5681.bytes(2191), 2 * 2191);
        assert_eq!(InitialWindow::Rfc5681.bytes(9000), 2 * 9000);
    }

    #[test]
    fn initial_window_rfc3390_and_rfc6928_formulas() {
        // min(4*MSS, max(2*MSS, 4380))
        assert_eq!(InitialWindow::Rfc3390.bytes(536), 2144);
        assert_eq!(InitialWindow::Rfc3390.bytes(1460), 4380);
        assert_eq!(InitialWindow::Rfc3390.bytes(2190), 4380);
        assert_eq!(InitialWindow::Rfc3390.bytes(9000), 18000);
        // min(10*MSS, max(2*MSS, 14600))
        assert_eq!(InitialWindow::Rfc6928.bytes(1460), 14600);
        assert_eq!(InitialWindow::Rfc6928.bytes(536), 5360);
        assert_eq!(InitialWindow::Rfc6928.bytes(9000), 18000);
        assert_eq!(InitialWindow::Segments(0).bytes(1000), 1000);
    }

    #[test]
    fn cc_algorithm_parses_case_insensitively_and_displays() {
        assert_eq!("newreno".parse::<CcAlgorithm>(), Ok(CcAlgorithm::NewReno));
        assert_eq!("CUBIC".parse::<CcAlgorithm>(), Ok(CcAlgorithm::Cubic));
        assert_eq!(CcAlgorithm::Cubic.to_string(), "cubic");
        assert_eq!(CcAlgorithm::NewReno.to_string(), "newreno");
        let err = "bbr".parse::<CcAlgorithm>().unwrap_err();
        assert_eq!(
            err,
            ParseCcAlgorithmError::Unknown {
                name: "bbr".to_owned()
            }
        );
        assert!(err.to_string().contains("\"bbr\""));
    }

    #[test]
    fn cc_new_dispatches_to_the_named_algorithm() {
        for alg in [CcAlgorithm::NewReno, CcAlgorithm::Cubic] {
            let cc = Cc::new(alg);
            assert_eq!(cc.algorithm(), alg);
            assert_eq!(cc.name(), alg.name());
            assert_eq!(cc.name().parse::<CcAlgorithm>(), Ok(alg));
        }
    }

    #[test]
    fn slow_start_stops_at_ssthresh_and_returns_leftover() {
        let mut core = WindowCore::new(CcConfig::default());
        let mut v = CcVars {
            cwnd: 10_000,
            ssthresh: 10_500,
            mss: 1000,
            bytes_in_flight: 0,
        };
        assert_eq!(core.slow_start(&mut v, 1_600), 1_100);
        assert_eq!(v.cwnd, 10_500);
        let mut v = CcVars { cwnd: 1000, ..v };
        // L = 2: a stretch ACK of 5 segments grows cwnd by 2 segments.
        assert_eq!(core.slow_start(&mut v, 5_000), 0);
        assert_eq!(v.cwnd, 3000);
    }
}

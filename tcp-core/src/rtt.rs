//! Retransmission timeout per RFC 6298, and an RTT sampler that applies
//! Karn's rule.
//!
//! [`RttEstimator`] keeps SRTT and RTTVAR (RFC 6298 §2) and the exponential
//! backoff (§5.5). It trusts every sample it is given: **Karn's rule
//! (RFC 6298 §3) is the caller's job** — an ACK that covers a retransmitted
//! segment is ambiguous (it may acknowledge either transmission) and must not
//! be sampled. [`RttSampler`] does that bookkeeping for the classic
//! one-segment-at-a-time timing: the TCB starts timing a segment when it
//! sends new data and nothing is being timed, feeds every ACK to
//! [`RttSampler::on_ack`], and calls [`RttSampler::on_retransmit`] whenever
//! it retransmits anything, which cancels the measurement. (With RFC 7323
//! timestamps, the TCB may instead sample every ACK from TSecr; those samples
//! are unambiguous and go straight to [`RttEstimator::sample`].)
//!
//! Times are [`Duration`]s with nanosecond resolution; the arithmetic is done
//! in integer nanoseconds, so results are exact up to truncation of the
//! divisions by 8 and 4.

use crate::seq::SeqNum;
use crate::time::{Duration, Instant};

/// RFC 6298 §2: `alpha = 1/8`, the SRTT gain (as a shift).
const ALPHA_SHIFT: u32 = 3;
/// RFC 6298 §2: `beta = 1/4`, the RTTVAR gain (as a shift).
const BETA_SHIFT: u32 = 2;
/// RFC 6298 §2: `K = 4`.
const K: u128 = 4;
/// RFC 6298 §5.7: the RTO used for data after a lost SYN, when no RTT
/// sample is available.
const SYN_LOST_RTO: Duration = Duration::from_secs(3);
/// RFC 6298 §2.5: a maximum RTO, if any, must be at least 60 s.
const MAX_RTO_FLOOR: Duration = Duration::from_secs(60);

/// RTO bounds. The defaults are RFC 6298's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtoConfig {
    /// RTO before the first sample (RFC 6298 §2.1: 1 s).
    pub initial: Duration,
    /// Lower bound (RFC 6298 §2.4: 1 s; Linux uses 200 ms).
    pub min: Duration,
    /// Upper bound (RFC 6298 §2.5: at least 60 s).
    pub max: Duration,
    /// Clock granularity G (RFC 6298 §2.2–§2.3: `RTO = SRTT + max(G, K*RTTVAR)`).
    pub granularity: Duration,
}

impl RtoConfig {
    /// RFC 6298: initial 1 s, minimum 1 s, maximum 60 s, G = 1 ms.
    pub const RFC6298: RtoConfig = RtoConfig {
        initial: Duration::from_secs(1),
        min: Duration::from_secs(1),
        max: Duration::from_secs(60),
        granularity: Duration::from_millis(1),
    };

    /// Linux's bounds: initial 1 s, minimum 200 ms, maximum 120 s, G = 1 ms.
    pub const LINUX: RtoConfig = RtoConfig {
        initial: Duration::from_secs(1),
        min: Duration::from_millis(200),
        max: Duration::from_secs(120),
        granularity: Duration::from_millis(1),
    };

    /// Check the bounds: `min <= max` and `max >= 60 s` (RFC 6298 §2.5).
    pub fn validate(&self) -> Result<(), RtoConfigError> {
        if self.max < MAX_RTO_FLOOR {
            return Err(RtoConfigError::MaxTooSmall { max: self.max });
        }
        if self.min > self.max {
            return Err(RtoConfigError::MinAboveMax {
                min: self.min,
                max: self.max,
            });
        }
        Ok(())
    }
}

impl Default for RtoConfig {
    fn default() -> RtoConfig {
        RtoConfig::RFC6298
    }
}

/// An [`RtoConfig`] that RFC 6298 does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RtoConfigError {
    #[error("maximum RTO {max:?} is below the 60 s that RFC 6298 §2.5 requires")]
    MaxTooSmall { max: Duration },
    #[error("minimum RTO {min:?} is above the maximum {max:?}")]
    MinAboveMax { min: Duration, max: Duration },
}

fn nanos(d: Duration) -> u128 {
    d.as_nanos()
}

fn from_nanos(n: u128) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
}

/// RFC 6298 SRTT/RTTVAR estimator with exponential backoff.
#[derive(Clone, Debug)]
pub struct RttEstimator {
    config: RtoConfig,
    /// SRTT and RTTVAR in nanoseconds, once a sample has been taken.
    smoothed: Option<(u128, u128)>,
    min_rtt: Option<Duration>,
    latest: Option<Duration>,
    /// Number of doublings applied (RFC 6298 §5.5).
    backoffs: u32,
    /// The SYN or SYN,ACK was retransmitted by timer (RFC 6298 §5.7).
    syn_lost: bool,
}

impl Default for RttEstimator {
    /// An estimator with the RFC 6298 bounds.
    fn default() -> RttEstimator {
        RttEstimator::unchecked(RtoConfig::RFC6298)
    }
}

impl RttEstimator {
    /// An estimator with the given bounds, once they pass [`RtoConfig::validate`].
    pub fn new(config: RtoConfig) -> Result<RttEstimator, RtoConfigError> {
        config.validate()?;
        Ok(RttEstimator::unchecked(config))
    }

    fn unchecked(config: RtoConfig) -> RttEstimator {
        RttEstimator {
            config,
            smoothed: None,
            min_rtt: None,
            latest: None,
            backoffs: 0,
            syn_lost: false,
        }
    }

    pub fn config(&self) -> &RtoConfig {
        &self.config
    }

    /// Feed one RTT measurement R (never from a retransmitted segment:
    /// Karn's rule, RFC 6298 §3). A sample also ends any backoff: the RTO
    /// "collapses" to the computed value (RFC 6298 §5, after rule 5.7).
    pub fn sample(&mut self, rtt: Duration) {
        let r = nanos(rtt);
        self.smoothed = Some(match self.smoothed {
            // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
            None => (r, r / 2),
            // RFC 6298 §2.3: RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|,
            // then SRTT <- (1 - alpha) * SRTT + alpha * R', RTTVAR first
            // because it uses the old SRTT.
            Some((srtt, rttvar)) => {
                let rttvar = (rttvar * ((1 << BETA_SHIFT) - 1) + srtt.abs_diff(r)) >> BETA_SHIFT;
                let srtt = (srtt * ((1 << ALPHA_SHIFT) - 1) + r) >> ALPHA_SHIFT;
                (srtt, rttvar)
            }
        });
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
        self.latest = Some(rtt);
        self.backoffs = 0;
    }

    /// The RTO without backoff: RFC 6298 §2.1 before any sample (3 s after a
    /// lost SYN, §5.7), else `SRTT + max(G, K*RTTVAR)` (§2.2, §2.3), rounded
    /// up to `min` (§2.4) and down to `max` (§2.5).
    pub fn base_rto(&self) -> Duration {
        let rto = match self.smoothed {
            None if self.syn_lost => self.config.initial.max(SYN_LOST_RTO),
            None => self.config.initial,
            Some((srtt, rttvar)) => {
                from_nanos(srtt + nanos(self.config.granularity).max(K * rttvar))
            }
        };
        rto.max(self.config.min).min(self.config.max)
    }

    /// The RTO to arm the timer with: [`Self::base_rto`] doubled once per
    /// [`Self::backoff`] (RFC 6298 §5.5), at most `max` (§2.5).
    pub fn rto(&self) -> Duration {
        let base = nanos(self.base_rto());
        // Saturate instead of shifting bits out.
        let backed_off = if self.backoffs >= base.leading_zeros() {
            u128::MAX
        } else {
            base << self.backoffs
        };
        from_nanos(backed_off.min(nanos(self.config.max)))
    }

    /// RFC 6298 §5.5: the retransmission timer expired: double the RTO.
    pub fn backoff(&mut self) {
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// Forget the backoff (a new sample does this by itself).
    pub fn reset_backoff(&mut self) {
        self.backoffs = 0;
    }

    /// How many times the RTO is currently doubled.
    pub fn backoff_count(&self) -> u32 {
        self.backoffs
    }

    /// RFC 6298 §5.7: call when the timer expired on a SYN or SYN,ACK. While
    /// no RTT sample exists, the RTO used once data transmission begins is
    /// then at least 3 s (call [`Self::reset_backoff`] when the connection is
    /// established).
    pub fn syn_retransmitted(&mut self) {
        self.syn_lost = true;
    }

    /// SRTT, once a sample has been taken.
    pub fn srtt(&self) -> Option<Duration> {
        self.smoothed.map(|(srtt, _)| from_nanos(srtt))
    }

    /// RTTVAR, once a sample has been taken.
    pub fn rttvar(&self) -> Option<Duration> {
        self.smoothed.map(|(_, rttvar)| from_nanos(rttvar))
    }

    /// The smallest sample seen.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// The most recent sample.
    pub fn latest_rtt(&self) -> Option<Duration> {
        self.latest
    }

    pub fn has_sample(&self) -> bool {
        self.smoothed.is_some()
    }
}

/// Times one segment at a time and drops the measurement when anything is
/// retransmitted (Karn's rule, RFC 6298 §3).
///
/// `start(seq, now)` takes the first sequence number of the segment being
/// timed (a SYN's ISS, or the SND.NXT before sending new data). An ACK that
/// covers at least that octet (`SEG.ACK > seq`) ends the measurement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RttSampler {
    timing: Option<(SeqNum, Instant)>,
}

impl RttSampler {
    pub fn new() -> RttSampler {
        RttSampler::default()
    }

    /// Start timing the segment that begins at `seq`, sent at `now`. Does
    /// nothing and returns false when a measurement is already running.
    pub fn start(&mut self, seq: SeqNum, now: Instant) -> bool {
        if self.timing.is_some() {
            return false;
        }
        self.timing = Some((seq, now));
        true
    }

    /// An ACK arrived at `now`: the RTT if it covers the timed segment.
    pub fn on_ack(&mut self, ack: SeqNum, now: Instant) -> Option<Duration> {
        let (seq, sent) = self.timing?;
        if ack.gt(seq) {
            self.timing = None;
            Some(now - sent)
        } else {
            None
        }
    }

    /// Something was retransmitted: an ACK for the timed data would be
    /// ambiguous, so the measurement is abandoned (Karn, RFC 6298 §3).
    pub fn on_retransmit(&mut self) {
        self.timing = None;
    }

    pub fn is_timing(&self) -> bool {
        self.timing.is_some()
    }

    /// The sequence number being timed.
    pub fn timed_seq(&self) -> Option<SeqNum> {
        self.timing.map(|(seq, _)| seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rto_before_first_sample_is_initial_one_second() {
        let est = RttEstimator::new(RtoConfig::default()).unwrap();
        assert!(!est.has_sample());
        assert_eq!(est.srtt(), None);
        assert_eq!(est.rttvar(), None);
        assert_eq!(est.rto(), ms(1000));
    }

    #[test]
    fn first_sample_sets_srtt_r_and_rttvar_half_r() {
        let mut est = RttEstimator::new(RtoConfig::default()).unwrap();
        est.sample(ms(500));
        assert!(est.has_sample());
        assert_eq!(est.srtt(), Some(ms(500)));
        assert_eq!(est.rttvar(), Some(ms(250)));
        // 500 + max(1 ms, 4 * 250) = 1500 ms
        assert_eq!(est.rto(), ms(1500));
    }

    #[test]
    fn later_samples_use_alpha_one_eighth_and_beta_one_quarter() {
        let mut est = RttEstimator::new(RtoConfig::default()).unwrap();
        est.sample(ms(500));
        est.sample(ms(300));
        // RTTVAR = 3/4 * 250 + 1/4 * |500 - 300| = 187.5 + 50 = 237.5 ms
        // SRTT   = 7/8 * 500 + 1/8 * 300         = 437.5 + 37.5 = 475 ms
        assert_eq!(est.rttvar(), Some(Duration::from_micros(237_500)));
        assert_eq!(est.srtt(), Some(ms(475)));
        // 475 + 4 * 237.5 = 1425 ms
        assert_eq!(est.rto(), ms(1425));
        est.sample(ms(800));
        // RTTVAR = 3/4 * 237.5 + 1/4 * |475 - 800| = 178.125 + 81.25 = 259.375 ms
        // SRTT   = 7/8 * 475 + 1/8 * 800           = 415.625 + 100 = 515.625 ms
        assert_eq!(est.rttvar(), Some(Duration::from_micros(259_375)));
        assert_eq!(est.srtt(), Some(Duration::from_micros(515_625)));
        // 515.625 + 4 * 259.375 = 1553.125 ms
        assert_eq!(est.rto(), Duration::from_micros(1_553_125));
        assert_eq!(est.min_rtt(), Some(ms(300)));
        assert_eq!(est.latest_rtt(), Some(ms(800)));
    }

    #[test]
    fn small_rto_is_rounded_up_to_the_minimum() {
        let mut rfc = RttEstimator::new(RtoConfig::RFC6298).unwrap();
        rfc.sample(ms(10));
        // 10 + 4 * 5 = 30 ms, below the 1 s minimum (RFC 6298 §2.4)
        assert_eq!(rfc.rto(), ms(1000));
        let mut linux = RttEstimator::new(RtoConfig::LINUX).unwrap();
        linux.sample(ms(10));
        assert_eq!(linux.rto(), ms(200));
        linux.sample(ms(90));
        // RTTVAR = 3/4 * 5 + 1/4 * 80 = 23.75; SRTT = 7/8 * 10 + 1/8 * 90 = 20
        // RTO = 20 + 95 = 115 ms -> 200 ms
        assert_eq!(linux.srtt(), Some(ms(20)));
        assert_eq!(linux.rttvar(), Some(Duration::from_micros(23_750)));
        assert_eq!(linux.base_rto(), ms(200));
    }

    #[test]
    fn granularity_dominates_a_small_rttvar() {
        let config = RtoConfig {
            min: Duration::ZERO,
            granularity: ms(150),
            ..RtoConfig::RFC6298
        };
        let mut est = RttEstimator::new(config).unwrap();
        est.sample(ms(50));
        // 50 + max(150, 4 * 25) = 200 ms
        assert_eq!(est.rto(), ms(200));
        est.sample(ms(50));
        // RTTVAR = 3/4 * 25 = 18.75 ms; 50 + max(150, 75) = 200 ms
        assert_eq!(est.rttvar(), Some(Duration::from_micros(18_750)));
        assert_eq!(est.rto(), ms(200));
        let config = RtoConfig {
            granularity: ms(50),
            ..config
        };
        let mut est = RttEstimator::new(config).unwrap();
        est.sample(ms(50));
        // 50 + max(50, 100) = 150 ms
        assert_eq!(est.rto(), ms(150));
    }

    #[test]
    fn backoff_doubles_and_is_clamped_to_max() {
        let mut est = RttEstimator::new(RtoConfig::default()).unwrap();
        est.sample(ms(500));
        assert_eq!(est.rto(), ms(1500));
        est.backoff();
        assert_eq!(est.rto(), ms(3000));
        est.backoff();
        assert_eq!(est.rto(), ms(6000));
        assert_eq!(est.backoff_count(), 2);
        for _ in 0..3 {
            est.backoff();
        }
        // 1.5 s * 32 = 48 s
        assert_eq!(est.rto(), ms(48_000));
        est.backoff();
        // 96 s -> 60 s (RFC 6298 §2.5)
        assert_eq!(est.rto(), ms(60_000));
        for _ in 0..200 {
            est.backoff();
        }
        assert_eq!(est.rto(), ms(60_000));
        assert_eq!(est.base_rto(), ms(1500));
        est.reset_backoff();
        assert_eq!(est.rto(), ms(1500));
    }

    #[test]
    fn backoff_applies_before_the_first_sample_and_a_sample_collapses_it() {
        let mut est = RttEstimator::new(RtoConfig::default()).unwrap();
        est.backoff();
        est.backoff();
        assert_eq!(est.rto(), ms(4000));
        est.sample(ms(100));
        assert_eq!(est.backoff_count(), 0);
        // 100 + 4 * 50 = 300 ms -> 1 s
        assert_eq!(est.rto(), ms(1000));
    }

    #[test]
    fn lost_syn_raises_the_data_rto_to_three_seconds_until_a_sample() {
        let mut est = RttEstimator::new(RtoConfig::LINUX).unwrap();
        est.syn_retransmitted();
        assert_eq!(est.base_rto(), ms(3000));
        est.sample(ms(40));
        // 40 + 4 * 20 = 120 ms -> 200 ms
        assert_eq!(est.rto(), ms(200));
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let small_max = RtoConfig {
            max: Duration::from_secs(59),
            ..RtoConfig::RFC6298
        };
        assert_eq!(
            RttEstimator::new(small_max).unwrap_err(),
            RtoConfigError::MaxTooSmall {
                max: Duration::from_secs(59)
            }
        );
        let inverted = RtoConfig {
            min: Duration::from_secs(61),
            ..RtoConfig::RFC6298
        };
        assert_eq!(
            RttEstimator::new(inverted).unwrap_err(),
            RtoConfigError::MinAboveMax {
                min: Duration::from_secs(61),
                max: Duration::from_secs(60)
            }
        );
        assert!(RttEstimator::new(RtoConfig::LINUX).is_ok());
    }

    #[test]
    fn sampler_times_one_segment_and_returns_rtt_on_covering_ack() {
        let mut s = RttSampler::new();
        let t0 = Instant::from_millis(1000);
        assert!(s.start(SeqNum(100), t0));
        // A second segment while timing is not timed.
        assert!(!s.start(SeqNum(1100), t0 + ms(1)));
        assert_eq!(s.timed_seq(), Some(SeqNum(100)));
        // An ACK that does not cover the timed octet gives nothing.
        assert_eq!(s.on_ack(SeqNum(100), t0 + ms(30)), None);
        assert!(s.is_timing());
        assert_eq!(s.on_ack(SeqNum(101), t0 + ms(42)), Some(ms(42)));
        assert!(!s.is_timing());
        assert_eq!(s.on_ack(SeqNum(2000), t0 + ms(50)), None);
    }

    #[test]
    fn sampler_retransmission_cancels_the_measurement_karn() {
        let mut s = RttSampler::new();
        let t0 = Instant::from_millis(5);
        s.start(SeqNum(u32::MAX - 10), t0);
        s.on_retransmit();
        assert!(!s.is_timing());
        assert_eq!(s.on_ack(SeqNum(5), t0 + ms(100)), None);
        // Timing starts again with the next new segment, across the wrap.
        assert!(s.start(SeqNum(u32::MAX - 1), t0 + ms(200)));
        assert_eq!(s.on_ack(SeqNum(3), t0 + ms(260)), Some(ms(60)));
    }
}

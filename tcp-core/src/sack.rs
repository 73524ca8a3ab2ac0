//! The sender's SACK scoreboard for loss recovery (RFC 2018, RFC 6675).
//!
//! The scoreboard holds the SACKed ranges above SND.UNA ("HighACK" in
//! RFC 6675 §2) in a fixed array, sorted and merged, and answers the queries
//! of RFC 6675 §4: `IsLost`, `SetPipe` and `NextSeg`. It never allocates.
//!
//! Conventions (RFC 6675 counts inclusive octets; this module uses the
//! half-open ranges TCP implementations carry):
//! - a SACKed range is `(left, right)`: octets `left..right`, as in the SACK
//!   option (RFC 2018 §3: the right edge is the octet after the block);
//! - `snd_una` is the first unacknowledged octet (RFC 6675 "HighACK + 1"),
//!   `snd_nxt` the octet after the highest sent ("HighData + 1");
//! - `high_rxt` is the octet after the highest octet retransmitted in the
//!   current recovery (RFC 6675 "HighRxt + 1"): the end of the last
//!   retransmitted segment, or `snd_una` when nothing has been retransmitted.
//!
//! RFC 2018 §8: SACKed data may still be reneged by the receiver, so the send
//! buffer keeps it until it is cumulatively acknowledged; the scoreboard is
//! advisory only.

use crate::seq::SeqNum;

/// How many disjoint SACKed ranges a [`Scoreboard`] tracks at most.
pub const SCOREBOARD_RANGES: usize = 64;

/// RFC 6675 §2/§5: the number of duplicate acknowledgments (here, SACKed
/// discontiguous ranges) that mark a hole as lost.
pub const DUPTHRESH: u32 = 3;

/// The SACKed ranges above SND.UNA (RFC 6675 §3).
#[derive(Clone)]
pub struct Scoreboard {
    /// `ranges[..len]`: sorted, disjoint, not touching, non-empty.
    ranges: [(SeqNum, SeqNum); SCOREBOARD_RANGES],
    len: usize,
    /// Sum of the range lengths.
    sacked: u32,
    dupthresh: u32,
}

impl Default for Scoreboard {
    fn default() -> Scoreboard {
        Scoreboard::new()
    }
}

impl Scoreboard {
    /// An empty scoreboard using [`DUPTHRESH`].
    pub fn new() -> Scoreboard {
        Scoreboard {
            ranges: [(SeqNum(0), SeqNum(0)); SCOREBOARD_RANGES],
            len: 0,
            sacked: 0,
            dupthresh: DUPTHRESH,
        }
    }

    /// Forgets every SACKed range (RFC 6675 §5.1: after a retransmission
    /// timeout the scoreboard may be cleared, also on reneging).
    pub fn clear(&mut self) {
        self.len = 0;
        self.sacked = 0;
    }

    /// The DupThresh used by [`Scoreboard::pipe`] and
    /// [`Scoreboard::next_seg`].
    pub fn dupthresh(&self) -> u32 {
        self.dupthresh
    }

    /// Changes DupThresh (RFC 6675 §5 allows adjusting it, as RFC 4653
    /// does); at least 1.
    pub fn set_dupthresh(&mut self, dupthresh: u32) {
        self.dupthresh = dupthresh.max(1);
    }

    /// The SACKed ranges, lowest first, as `(left, right)` half-open ranges.
    pub fn ranges(&self) -> &[(SeqNum, SeqNum)] {
        &self.ranges[..self.len]
    }

    /// No octet is SACKed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// RFC 6675 §4 `Update()`: records the SACK blocks of an arriving ACK
    /// and drops what SND.UNA now covers. Returns how many octets were
    /// SACKed for the first time: RFC 6675 §2 counts the ACK as a duplicate
    /// acknowledgment when this is non-zero.
    ///
    /// Blocks come from the network and are checked: a block is ignored when
    /// its edges are not in order, when it ends at or below `snd_una` (an
    /// RFC 2883 D-SACK or a stale block) or when it reaches beyond
    /// `snd_nxt` (data never sent). A block straddling `snd_una` is trimmed
    /// to it. When the table is full, a new disjoint block evicts the highest
    /// range if it lies below it, and is dropped otherwise (the lowest holes
    /// matter first in recovery; a dropped block only makes the sender more
    /// conservative).
    pub fn on_ack(&mut self, snd_una: SeqNum, snd_nxt: SeqNum, blocks: &[(SeqNum, SeqNum)]) -> u32 {
        self.advance(snd_una);
        let mut newly = 0u32;
        for &(left, right) in blocks {
            if !left.lt(right) || right.le(snd_una) || right.gt(snd_nxt) {
                continue;
            }
            let left = left.max(snd_una);
            newly += self.add(snd_una, left, right);
        }
        newly
    }

    /// Drops ranges (and parts of ranges) below `snd_una`.
    fn advance(&mut self, snd_una: SeqNum) {
        let gone = self.ranges[..self.len]
            .iter()
            .take_while(|&&(_, right)| right.le(snd_una))
            .count();
        if gone > 0 {
            for &(left, right) in &self.ranges[..gone] {
                self.sacked -= right.since(left);
            }
            self.ranges.copy_within(gone..self.len, 0);
            self.len -= gone;
        }
        if self.len > 0 && self.ranges[0].0.lt(snd_una) {
            self.sacked -= snd_una.since(self.ranges[0].0);
            self.ranges[0].0 = snd_una;
        }
    }

    /// Merges `[left, right)` (checked: `snd_una <= left < right`) into the
    /// table and returns how many of its octets were new.
    fn add(&mut self, snd_una: SeqNum, left: SeqNum, right: SeqNum) -> u32 {
        let key = |s: SeqNum| s.since(snd_una);
        let (l, r) = (key(left), key(right));
        let held = &self.ranges[..self.len];
        // Ranges overlapping or touching [l, r): held[i..j].
        let i = held.partition_point(|&(_, b)| key(b) < l);
        let j = held.partition_point(|&(a, _)| key(a) <= r);
        if i == j {
            if self.len == SCOREBOARD_RANGES {
                if i == self.len {
                    return 0;
                }
                let (a, b) = self.ranges[self.len - 1];
                self.sacked -= b.since(a);
                self.len -= 1;
            }
            self.ranges.copy_within(i..self.len, i + 1);
            self.ranges[i] = (left, right);
            self.len += 1;
            let n = right.since(left);
            self.sacked += n;
            return n;
        }
        let mut covered = 0u32;
        let mut old = 0u32;
        for &(a, b) in &self.ranges[i..j] {
            old += b.since(a);
            let lo = key(a).max(l);
            let hi = key(b).min(r);
            if lo < hi {
                covered += hi - lo;
            }
        }
        let merged = (self.ranges[i].0.min(left), self.ranges[j - 1].1.max(right));
        self.ranges[i] = merged;
        self.ranges.copy_within(j..self.len, i + 1);
        self.len -= j - i - 1;
        self.sacked = self.sacked - old + merged.1.since(merged.0);
        right.since(left) - covered
    }

    /// The octet `seq` is SACKed.
    pub fn is_sacked(&self, seq: SeqNum) -> bool {
        self.ranges[..self.len]
            .iter()
            .any(|&(left, right)| seq.in_range(left, right))
    }

    /// Total octets SACKed above SND.UNA.
    pub fn sacked_bytes(&self) -> u32 {
        self.sacked
    }

    /// The right edge of the highest SACKed range: one past "the highest
    /// octet covered by any received SACK" (RFC 6675 §4, NextSeg (1.b)).
    pub fn highest_sacked(&self) -> Option<SeqNum> {
        self.ranges[..self.len].last().map(|&(_, right)| right)
    }

    /// Whether `count` discontiguous SACKed ranges and `bytes` SACKed octets
    /// above a sequence number make it lost (RFC 6675 §4 `IsLost`).
    #[inline]
    fn lost_by(count: u32, bytes: u64, mss: u32, dupthresh: u32) -> bool {
        count >= dupthresh || bytes > u64::from(dupthresh.saturating_sub(1)) * u64::from(mss)
    }

    /// RFC 6675 §4 `IsLost(SeqNum)`: true when `dupthresh` discontiguous
    /// SACKed ranges lie above `seq`, or more than `(dupthresh - 1) * mss`
    /// octets above `seq` are SACKed. RFC 6675 uses [`DUPTHRESH`] (3).
    pub fn is_lost(&self, seq: SeqNum, mss: u32, dupthresh: u32) -> bool {
        let above = seq + 1;
        let mut count = 0u32;
        let mut bytes = 0u64;
        for &(left, right) in self.ranges[..self.len].iter().rev() {
            if right.le(above) {
                break;
            }
            count += 1;
            bytes += u64::from(right.since(left.max(above)));
            if Self::lost_by(count, bytes, mss, dupthresh) {
                return true;
            }
        }
        false
    }

    /// RFC 6675 §4 `SetPipe()`: the octets presumed in the network. Every
    /// unSACKed octet in [snd_una, snd_nxt) counts once if it is not lost
    /// (rule a) and once more if it was retransmitted, i.e. lies below
    /// `high_rxt` (rule b; "octets retransmitted without being considered
    /// lost are counted twice").
    ///
    /// Within one hole between SACKed ranges every octet has the same
    /// SACKed ranges above it, so IsLost is evaluated once per hole, walking
    /// down from the top: O(ranges).
    pub fn pipe(&self, snd_una: SeqNum, snd_nxt: SeqNum, high_rxt: SeqNum, mss: u32) -> u32 {
        if !snd_una.lt(snd_nxt) {
            return 0;
        }
        let high_rxt = high_rxt.max(snd_una).min(snd_nxt);
        let hole = |lo: SeqNum, hi: SeqNum, count: u32, bytes: u64| -> u32 {
            if !lo.lt(hi) {
                return 0;
            }
            let mut n = 0;
            // RFC 6675 §4 SetPipe (a): not lost.
            if !Self::lost_by(count, bytes, mss, self.dupthresh) {
                n += hi.since(lo);
            }
            // RFC 6675 §4 SetPipe (b): retransmitted (S1 <= HighRxt).
            if lo.lt(high_rxt) {
                n += hi.min(high_rxt).since(lo);
            }
            n
        };
        let mut pipe = 0u32;
        let mut count = 0u32;
        let mut bytes = 0u64;
        let mut hole_end = snd_nxt;
        for &(left, right) in self.ranges[..self.len].iter().rev() {
            let left = left.max(snd_una);
            let right = right.min(snd_nxt);
            if !left.lt(right) {
                continue;
            }
            pipe += hole(right, hole_end, count, bytes);
            count += 1;
            bytes += u64::from(right.since(left));
            hole_end = left;
        }
        pipe + hole(snd_una, hole_end, count, bytes)
    }

    /// The lowest unSACKed octet at or above `max(snd_una, high_rxt)`
    /// below the highest SACKed octet: the candidate of RFC 6675 §4
    /// NextSeg rules (1.a)/(1.b) and (3).
    fn first_hole_above(&self, snd_una: SeqNum, high_rxt: SeqNum) -> Option<SeqNum> {
        let highest = self.highest_sacked()?;
        let mut s = high_rxt.max(snd_una);
        for &(left, right) in &self.ranges[..self.len] {
            if s.in_range(left, right) {
                s = right;
            }
        }
        if s.lt(highest) {
            Some(s)
        } else {
            None
        }
    }

    /// RFC 6675 §4 `NextSeg()` rule (1): the smallest unSACKed octet `S2`
    /// above HighRxt (`>= high_rxt`), below the highest SACKed octet, for
    /// which IsLost(S2) holds; the caller retransmits up to `mss` octets
    /// from it ([`Scoreboard::unsacked_len`] says how many before the next
    /// SACKed range).
    ///
    /// IsLost is monotonic (a higher octet has no more SACKed data above
    /// it), so only the first candidate needs testing.
    ///
    /// Rules (2) (new data, if the receive window allows) and (4) (the
    /// rescue retransmission, see [`Scoreboard::highest_unsacked`]) are the
    /// caller's; rule (3) is [`Scoreboard::next_seg_rule3`].
    pub fn next_seg(
        &self,
        snd_una: SeqNum,
        snd_nxt: SeqNum,
        high_rxt: SeqNum,
        mss: u32,
    ) -> Option<SeqNum> {
        let s = self.next_seg_rule3(snd_una, snd_nxt, high_rxt)?;
        if self.is_lost(s, mss, self.dupthresh) {
            Some(s)
        } else {
            None
        }
    }

    /// RFC 6675 §4 `NextSeg()` rule (3), for when rules (1) and (2) give
    /// nothing: the smallest unSACKed octet above HighRxt and below the
    /// highest SACKed octet, lost or not.
    pub fn next_seg_rule3(
        &self,
        snd_una: SeqNum,
        snd_nxt: SeqNum,
        high_rxt: SeqNum,
    ) -> Option<SeqNum> {
        self.first_hole_above(snd_una, high_rxt)
            .filter(|s| s.lt(snd_nxt))
    }

    /// The highest outstanding unSACKed octet in [snd_una, snd_nxt), which
    /// RFC 6675 §4 `NextSeg()` rule (4) (the rescue retransmission) must
    /// include. `None` when everything outstanding is SACKed.
    pub fn highest_unsacked(&self, snd_una: SeqNum, snd_nxt: SeqNum) -> Option<SeqNum> {
        if !snd_una.lt(snd_nxt) {
            return None;
        }
        let mut s = snd_nxt - 1;
        for &(left, right) in self.ranges[..self.len].iter().rev() {
            if s.in_range(left, right) {
                if !snd_una.lt(left) {
                    return None;
                }
                s = left - 1;
            }
        }
        Some(s)
    }

    /// How many octets from `seq` on are unSACKed and below `snd_nxt`, up
    /// to `max`: the length of the segment to (re)transmit from `seq`
    /// without resending SACKed data. 0 when `seq` itself is SACKed.
    pub fn unsacked_len(&self, seq: SeqNum, snd_nxt: SeqNum, max: u32) -> u32 {
        if !seq.lt(snd_nxt) {
            return 0;
        }
        let mut end = snd_nxt;
        for &(left, right) in &self.ranges[..self.len] {
            if seq.in_range(left, right) {
                return 0;
            }
            if seq.lt(left) {
                end = end.min(left);
                break;
            }
        }
        end.since(seq).min(max)
    }
}

impl core::fmt::Debug for Scoreboard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scoreboard")
            .field("ranges", &self.ranges())
            .field("sacked", &self.sacked)
            .field("dupthresh", &self.dupthresh)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MSS: u32 = 100;

    fn s(n: u32) -> SeqNum {
        SeqNum(n)
    }

    fn raw(sb: &Scoreboard) -> Vec<(u32, u32)> {
        sb.ranges().iter().map(|&(l, r)| (l.0, r.0)).collect()
    }

    #[test]
    fn on_ack_records_and_merges_blocks() {
        let mut sb = Scoreboard::new();
        let (una, nxt) = (s(1000), s(2000));
        assert_eq!(sb.on_ack(una, nxt, &[(s(1500), s(1600))]), 100);
        assert_eq!(sb.on_ack(una, nxt, &[(s(1300), s(1400))]), 100);
        assert_eq!(raw(&sb), vec![(1300, 1400), (1500, 1600)]);
        // Overlapping both and the gap between: only the gap is new.
        assert_eq!(sb.on_ack(una, nxt, &[(s(1350), s(1550))]), 100);
        assert_eq!(raw(&sb), vec![(1300, 1600)]);
        // Touching ranges merge; a repeated block adds nothing.
        assert_eq!(
            sb.on_ack(una, nxt, &[(s(1600), s(1700)), (s(1300), s(1400))]),
            100
        );
        assert_eq!(raw(&sb), vec![(1300, 1700)]);
        assert_eq!(sb.sacked_bytes(), 400);
        assert_eq!(sb.highest_sacked(), Some(s(1700)));
        assert!(sb.is_sacked(s(1300)) && sb.is_sacked(s(1699)));
        assert!(!sb.is_sacked(s(1299)) && !sb.is_sacked(s(1700)));
    }

    #[test]
    fn on_ack_ignores_invalid_and_old_blocks() {
        let mut sb = Scoreboard::new();
        let (una, nxt) = (s(1000), s(2000));
        let bad = [
            (s(1500), s(1400)), // edges reversed
            (s(1500), s(1500)), // empty
            (s(900), s(1000)),  // RFC 2883 D-SACK below SND.UNA
            (s(1900), s(2100)), // beyond SND.NXT
            (s(0x8000_0000), s(0x8000_0100)),
        ];
        assert_eq!(sb.on_ack(una, nxt, &bad), 0);
        assert!(sb.is_empty());
        assert_eq!(sb.highest_sacked(), None);
        // Straddling SND.UNA: trimmed to it.
        assert_eq!(sb.on_ack(una, nxt, &[(s(900), s(1100))]), 100);
        assert_eq!(raw(&sb), vec![(1000, 1100)]);
    }

    #[test]
    fn advancing_snd_una_discards_covered_ranges() {
        let mut sb = Scoreboard::new();
        let nxt = s(2000);
        sb.on_ack(
            s(1000),
            nxt,
            &[(s(1100), s(1200)), (s(1300), s(1400)), (s(1500), s(1600))],
        );
        assert_eq!(sb.on_ack(s(1350), nxt, &[]), 0);
        assert_eq!(raw(&sb), vec![(1350, 1400), (1500, 1600)]);
        assert_eq!(sb.sacked_bytes(), 150);
        sb.on_ack(s(1600), nxt, &[]);
        assert!(sb.is_empty());
        assert_eq!(sb.sacked_bytes(), 0);
    }

    #[test]
    fn full_table_evicts_the_highest_range_for_a_lower_block() {
        let mut sb = Scoreboard::new();
        let una = s(u32::MAX - 50);
        let nxt = una + 100_000;
        for k in 0..SCOREBOARD_RANGES as u32 {
            sb.on_ack(una, nxt, &[(una + 1000 + 20 * k, una + 1010 + 20 * k)]);
        }
        assert_eq!(sb.ranges().len(), SCOREBOARD_RANGES);
        let top = sb.highest_sacked();
        // Above every range: dropped.
        assert_eq!(sb.on_ack(una, nxt, &[(una + 50_000, una + 50_010)]), 0);
        assert_eq!(sb.highest_sacked(), top);
        // Below them: kept, the highest range goes.
        assert_eq!(sb.on_ack(una, nxt, &[(una + 10, una + 20)]), 10);
        assert_eq!(sb.ranges().len(), SCOREBOARD_RANGES);
        assert_eq!(sb.ranges()[0], (una + 10, una + 20));
        assert_eq!(sb.highest_sacked(), top.map(|t| t - 20));
        assert_eq!(sb.sacked_bytes(), 10 * SCOREBOARD_RANGES as u32);
    }

    #[test]
    fn is_lost_counts_sacked_bytes_above() {
        let mut sb = Scoreboard::new();
        let (una, nxt) = (s(1000), s(2000));
        sb.on_ack(una, nxt, &[(s(1100), s(1300))]);
        // 200 octets above: not more than (3 - 1) * 100.
        assert!(!sb.is_lost(s(1000), MSS, DUPTHRESH));
        sb.on_ack(una, nxt, &[(s(1300), s(1301))]);
        assert!(sb.is_lost(s(1000), MSS, DUPTHRESH));
        // Only the octets above the sequence number count.
        assert!(!sb.is_lost(s(1100), MSS, DUPTHRESH));
        assert!(!sb.is_lost(s(1400), MSS, DUPTHRESH));
    }

    #[test]
    fn is_lost_counts_discontiguous_sacked_ranges_above() {
        let mut sb = Scoreboard::new();
        let (una, nxt) = (s(1000), s(2000));
        sb.on_ack(una, nxt, &[(s(1100), s(1110)), (s(1200), s(1210))]);
        assert!(!sb.is_lost(s(1000), MSS, DUPTHRESH));
        sb.on_ack(una, nxt, &[(s(1300), s(1310))]);
        assert!(sb.is_lost(s(1000), MSS, DUPTHRESH));
        assert!(!sb.is_lost(s(1150), MSS, DUPTHRESH));
        assert!(sb.is_lost(s(1150), MSS, 2));
        // A range the sequence number sits in counts by its part above.
        assert!(sb.is_lost(s(1105), MSS, DUPTHRESH));
        assert!(!sb.is_lost(s(1109), MSS, DUPTHRESH));
    }

    /// Ten 100-octet segments from 1000; the 4th, 6th and 8th SACKed.
    fn three_holes() -> Scoreboard {
        let mut sb = Scoreboard::new();
        sb.on_ack(
            s(1000),
            s(2000),
            &[(s(1300), s(1400)), (s(1500), s(1600)), (s(1700), s(1800))],
        );
        sb
    }

    #[test]
    fn pipe_counts_unsacked_octets_not_lost() {
        let sb = three_holes();
        // [1000,1300) is lost (three ranges above), the other holes are not.
        assert_eq!(sb.pipe(s(1000), s(2000), s(1000), MSS), 100 + 100 + 200);
        // Nothing outstanding.
        assert_eq!(sb.pipe(s(2000), s(2000), s(2000), MSS), 0);
        assert_eq!(Scoreboard::new().pipe(s(5), s(705), s(5), MSS), 700);
    }

    #[test]
    fn pipe_counts_retransmitted_octets() {
        let sb = three_holes();
        // The first lost segment retransmitted.
        assert_eq!(sb.pipe(s(1000), s(2000), s(1100), MSS), 400 + 100);
        // Retransmitted past a hole that is not lost: those octets count twice.
        assert_eq!(sb.pipe(s(1000), s(2000), s(1450), MSS), 400 + 300 + 50);
    }

    #[test]
    fn next_seg_returns_the_first_lost_hole_above_high_rxt() {
        let sb = three_holes();
        let (una, nxt) = (s(1000), s(2000));
        assert_eq!(sb.next_seg(una, nxt, una, MSS), Some(s(1000)));
        assert_eq!(sb.unsacked_len(s(1000), nxt, MSS), 100);
        assert_eq!(sb.next_seg(una, nxt, s(1100), MSS), Some(s(1100)));
        assert_eq!(sb.unsacked_len(s(1200), nxt, MSS), 100);
        assert_eq!(sb.unsacked_len(s(1250), nxt, MSS), 50);
        // [1400,1500) is not lost: rule (1) gives nothing, rule (3) does.
        assert_eq!(sb.next_seg(una, nxt, s(1300), MSS), None);
        assert_eq!(sb.next_seg_rule3(una, nxt, s(1300)), Some(s(1400)));
        assert_eq!(sb.next_seg_rule3(una, nxt, s(1650)), Some(s(1650)));
        // Nothing below the highest SACKed octet is left.
        assert_eq!(sb.next_seg_rule3(una, nxt, s(1800)), None);
        assert_eq!(Scoreboard::new().next_seg(una, nxt, una, MSS), None);
    }

    #[test]
    fn highest_unsacked_skips_a_sacked_tail() {
        let mut sb = three_holes();
        assert_eq!(sb.highest_unsacked(s(1000), s(2000)), Some(s(1999)));
        sb.on_ack(s(1000), s(2000), &[(s(1800), s(2000))]);
        assert_eq!(sb.highest_unsacked(s(1000), s(2000)), Some(s(1699)));
        sb.on_ack(s(1000), s(2000), &[(s(1000), s(1700))]);
        assert_eq!(sb.highest_unsacked(s(1000), s(2000)), None);
        assert_eq!(sb.unsacked_len(s(1200), s(2000), MSS), 0);
        assert_eq!(sb.highest_unsacked(s(2000), s(2000)), None);
    }

    #[test]
    fn clear_forgets_everything() {
        let mut sb = three_holes();
        sb.clear();
        assert!(sb.is_empty());
        assert_eq!(sb.sacked_bytes(), 0);
        assert_eq!(sb.pipe(s(1000), s(2000), s(1000), MSS), 1000);
    }

    /// Brute force over octets, straight from RFC 6675 §4.
    fn naive_pipe(sb: &Scoreboard, una: SeqNum, nxt: SeqNum, high_rxt: SeqNum, mss: u32) -> u32 {
        let mut pipe = 0;
        let mut s1 = una;
        while s1.lt(nxt) {
            if !sb.is_sacked(s1) {
                if !sb.is_lost(s1, mss, DUPTHRESH) {
                    pipe += 1;
                }
                if s1.lt(high_rxt) {
                    pipe += 1;
                }
            }
            s1 += 1;
        }
        pipe
    }

    fn naive_next_seg(
        sb: &Scoreboard,
        una: SeqNum,
        nxt: SeqNum,
        high_rxt: SeqNum,
    ) -> Option<SeqNum> {
        let highest = sb.highest_sacked()?;
        let mut s2 = una.max(high_rxt);
        while s2.lt(nxt) && s2.lt(highest) {
            if !sb.is_sacked(s2) && sb.is_lost(s2, MSS, DUPTHRESH) {
                return Some(s2);
            }
            s2 += 1;
        }
        None
    }

    proptest! {
        /// The scoreboard agrees with a per-octet model, and pipe/NextSeg
        /// agree with the octet-by-octet definitions of RFC 6675 §4.
        #[test]
        fn scoreboard_matches_an_octet_model(
            base in any::<u32>(),
            acks in prop::collection::vec(
                (0u32..40, prop::collection::vec((0u32..1200, 0u32..300), 0..4)),
                1..12,
            ),
            high_rxt_off in 0u32..1100,
        ) {
            let una0 = SeqNum(base);
            let nxt = una0 + 1000;
            let mut sb = Scoreboard::new();
            let mut model = vec![false; 1000];
            let mut una_off = 0u32;
            for (advance, blocks) in &acks {
                una_off = (una_off + advance).min(1000);
                let una = una0 + una_off;
                let blocks: Vec<(SeqNum, SeqNum)> = blocks
                    .iter()
                    .map(|&(l, len)| (una0 + l, una0 + l + len))
                    .collect();
                let mut expect_new = 0;
                for &(l, r) in &blocks {
                    let (lo, hi) = (l.since(una0), r.since(una0));
                    if lo < hi && hi > una_off && hi <= 1000 {
                        for o in lo.max(una_off)..hi {
                            if !model[o as usize] {
                                model[o as usize] = true;
                                expect_new += 1;
                            }
                        }
                    }
                }
                prop_assert_eq!(sb.on_ack(una, nxt, &blocks), expect_new);
                for o in 0..1000u32 {
                    let sacked = o >= una_off && model[o as usize];
                    prop_assert_eq!(sb.is_sacked(una0 + o), sacked, "octet {}", o);
                }
                let total = (una_off..1000).filter(|&o| model[o as usize]).count() as u32;
                prop_assert_eq!(sb.sacked_bytes(), total);
                let top = (una_off..1000).rev().find(|&o| model[o as usize]);
                prop_assert_eq!(sb.highest_sacked(), top.map(|o| una0 + o + 1));
                let high_rxt = una0 + high_rxt_off;
                prop_assert_eq!(
                    sb.pipe(una, nxt, high_rxt, MSS),
                    naive_pipe(&sb, una, nxt, high_rxt.max(una), MSS)
                );
                prop_assert_eq!(
                    sb.next_seg(una, nxt, high_rxt, MSS),
                    naive_next_seg(&sb, una, nxt, high_rxt)
                );
            }
        }
    }
}

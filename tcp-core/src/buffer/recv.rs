//! The receive buffer: in-order bytes waiting for the application, and
//! out-of-order bytes held for reassembly (RFC 9293 §3.10.7.4 "seventh,
//! process the segment text"; §3.4 on trimming to the window).
//!
//! Out-of-order bytes are written straight into the ring at the place they
//! will occupy once the gap before them is filled, so reassembly never copies
//! them again: filling the gap just moves the in-order end (RCV.NXT) over
//! them. Which out-of-order ranges are held is kept in a small fixed array
//! ([`MAX_OOO_RANGES`] entries), sorted and merged; when it is full a new,
//! disjoint out-of-order segment is dropped (the peer retransmits it) rather
//! than allocating.
//!
//! Offsets given to and returned by this buffer are relative to RCV.NXT, the
//! end of the readable (in-order) bytes: offset 0 is the next byte expected.

use super::Ring;
use crate::seq::SeqNum;

/// How many disjoint out-of-order ranges a [`RecvBuffer`] tracks at most.
pub const MAX_OOO_RANGES: usize = 32;

/// What [`RecvBuffer::insert`] did with a segment's text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    /// How far RCV.NXT moves: the segment's in-order bytes plus any held
    /// out-of-order bytes that became contiguous with them.
    pub advanced: usize,
    /// Bytes of this segment newly stored (not already held, inside the
    /// window, before the FIN).
    pub stored: usize,
    /// The segment began beyond RCV.NXT (after trimming): RFC 5681 §4.2 and
    /// RFC 9293 §3.10.7.4 want an immediate ACK for it.
    pub out_of_order: bool,
}

/// Why [`RecvBuffer::set_fin`] refused a FIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FinError {
    /// The FIN lies beyond the receive window (RFC 9293 §3.4: a segment is
    /// trimmed to the window, and a FIN past it is dropped with the excess).
    #[error("FIN at offset {offset} lies beyond the receive window of {window} bytes")]
    BeyondWindow {
        /// Offset of the FIN from RCV.NXT.
        offset: usize,
        /// The window at the time.
        window: usize,
    },
    /// A FIN was already recorded at another place in the stream: the peer's
    /// sequence space contradicts itself.
    #[error("FIN at offset {offset} contradicts the FIN already recorded at offset {recorded}")]
    Conflict {
        /// Offset of the new FIN from RCV.NXT.
        offset: usize,
        /// Offset of the recorded FIN from RCV.NXT.
        recorded: usize,
    },
    /// Out-of-order data is already held beyond the FIN: the peer's sequence
    /// space contradicts itself.
    #[error("FIN at offset {offset} precedes data already received up to offset {data_end}")]
    DataBeyondFin {
        /// Offset of the FIN from RCV.NXT.
        offset: usize,
        /// End of the held out-of-order data, from RCV.NXT.
        data_end: usize,
    },
}

/// One held out-of-order range, in stream positions (bytes counted from the
/// creation of the buffer, so they never need shifting as RCV.NXT moves).
#[derive(Debug, Clone, Copy, Default)]
struct Range {
    start: u64,
    end: u64,
    /// When a segment last landed in this range: orders SACK blocks
    /// (RFC 2018 §4). Unique among the held ranges.
    stamp: u64,
}

/// A fixed-capacity receive ring with in-place reassembly.
///
/// Allocated once (not zeroed) by [`RecvBuffer::new`]; no method allocates
/// afterwards.
///
/// The capacity is also the largest receive window the TCB can advertise
/// from it; keep it at most 2^30 bytes (RFC 7323 §2.3), since offsets are
/// converted to sequence numbers modulo 2^32.
pub struct RecvBuffer {
    ring: Ring,
    /// Ring index of the first readable byte; `< capacity`, or 0 when the
    /// capacity is 0.
    head: usize,
    /// In-order bytes the application can read.
    readable: usize,
    /// Stream position of RCV.NXT (the end of the readable bytes).
    nxt: u64,
    /// Held out-of-order ranges: `ranges[..n_ranges]` sorted by start,
    /// disjoint and not touching each other, all starting after `nxt` and
    /// ending at most `capacity - readable` bytes after it.
    ranges: [Range; MAX_OOO_RANGES],
    n_ranges: usize,
    /// Last stamp handed out.
    stamp: u64,
    /// Stream position of the peer's FIN, once known.
    fin: Option<u64>,
}

impl RecvBuffer {
    /// A buffer that holds at most `capacity` bytes.
    pub fn new(capacity: usize) -> RecvBuffer {
        RecvBuffer::with_ring(Ring::new(capacity))
    }

    /// An empty buffer of `capacity` bytes that reuses this one's memory
    /// when it has that capacity (no allocation).
    pub fn recycled(self, capacity: usize) -> RecvBuffer {
        RecvBuffer::with_ring(self.ring.recycled(capacity))
    }

    fn with_ring(ring: Ring) -> RecvBuffer {
        RecvBuffer {
            ring,
            head: 0,
            readable: 0,
            nxt: 0,
            ranges: [Range::default(); MAX_OOO_RANGES],
            n_ranges: 0,
            stamp: 0,
            fin: None,
        }
    }

    /// The most bytes the buffer can hold.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Contiguous in-order bytes the application can read.
    #[inline]
    pub fn readable(&self) -> usize {
        self.readable
    }

    /// Room beyond the readable bytes: the receive window to advertise
    /// (RFC 9293 §3.8.6). Out-of-order bytes held sit inside it.
    #[inline]
    pub fn window(&self) -> usize {
        self.ring.capacity() - self.readable
    }

    /// Out-of-order data is held.
    #[inline]
    pub fn has_out_of_order(&self) -> bool {
        self.n_ranges > 0
    }

    /// The held out-of-order ranges as `(start, end)` offsets from RCV.NXT,
    /// `start` inclusive, `end` exclusive, in increasing order. Every
    /// `start` is greater than 0.
    pub fn ooo_ranges(&self) -> OooRanges<'_> {
        OooRanges {
            ranges: self.ranges[..self.n_ranges].iter(),
            nxt: self.nxt,
        }
    }

    /// Ring index of the byte at stream position `pos`, which must lie in
    /// [nxt - readable, nxt - readable + capacity).
    #[inline]
    fn index(&self, pos: u64) -> usize {
        let k = (pos - self.nxt) as usize + self.readable;
        self.ring.wrap(self.head + k)
    }

    /// Copies the bytes of `data` that fall in stream positions
    /// [`from`, `to`); `data[0]` sits at stream position `data_pos`.
    #[inline]
    fn store(&mut self, data: &[u8], data_pos: u64, from: u64, to: u64) {
        let lo = (from - data_pos) as usize;
        let hi = (to - data_pos) as usize;
        let at = self.index(from);
        self.ring.write(at, &data[lo..hi]);
    }

    /// Takes a segment's text whose first byte `data[0]` lies `offset`
    /// bytes after RCV.NXT (0: in order).
    ///
    /// RFC 9293 §3.4/§3.10.7.4: the text is trimmed to the window (bytes at
    /// offsets `>= window()` are dropped) and to the peer's FIN if one is
    /// recorded. Bytes already held out of order are kept as they are (the
    /// first copy received wins); only the gaps are written. When the text
    /// reaches RCV.NXT, RCV.NXT moves over it and over every held range that
    /// became contiguous with it. A new out-of-order range that would need a
    /// (MAX_OOO_RANGES + 1)th entry is dropped (`stored == 0`).
    pub fn insert(&mut self, offset: usize, data: &[u8]) -> InsertOutcome {
        let out_of_order = offset > 0;
        let nothing = InsertOutcome {
            advanced: 0,
            stored: 0,
            out_of_order,
        };
        let mut limit = self.window();
        if let Some(fin) = self.fin {
            limit = limit.min((fin - self.nxt) as usize);
        }
        let end_off = offset.saturating_add(data.len()).min(limit);
        if offset >= end_off {
            return nothing;
        }
        let s = self.nxt + offset as u64;
        let e = self.nxt + end_off as u64;

        // Held ranges that overlap or touch [s, e): ranges[i..j].
        let held = &self.ranges[..self.n_ranges];
        let i = held.partition_point(|r| r.end < s);
        let j = held.partition_point(|r| r.start <= e);
        if i == j && out_of_order && self.n_ranges == MAX_OOO_RANGES {
            // No slot for a new disjoint range: drop rather than allocate.
            return nothing;
        }

        // Write the parts of [s, e) not already held.
        let mut stored = 0usize;
        let mut cursor = s;
        for k in i..j {
            let r = self.ranges[k];
            if r.start > cursor {
                let to = r.start.min(e);
                self.store(data, s, cursor, to);
                stored += (to - cursor) as usize;
            }
            cursor = cursor.max(r.end);
        }
        if cursor < e {
            self.store(data, s, cursor, e);
            stored += (e - cursor) as usize;
        }

        let (merged_start, merged_end) = if i < j {
            (s.min(self.ranges[i].start), e.max(self.ranges[j - 1].end))
        } else {
            (s, e)
        };

        if merged_start == self.nxt {
            // In order (then i == 0: every held range starts after nxt).
            // RFC 9293 §3.10.7.4: RCV.NXT advances over the text and over
            // the out-of-order data it joins.
            self.remove_ranges(i, j);
            let advanced = (merged_end - self.nxt) as usize;
            self.nxt = merged_end;
            self.readable += advanced;
            InsertOutcome {
                advanced,
                stored,
                out_of_order,
            }
        } else {
            self.stamp += 1;
            let merged = Range {
                start: merged_start,
                end: merged_end,
                stamp: self.stamp,
            };
            if i < j {
                self.ranges[i] = merged;
                self.remove_ranges(i + 1, j);
            } else {
                self.ranges.copy_within(i..self.n_ranges, i + 1);
                self.ranges[i] = merged;
                self.n_ranges += 1;
            }
            InsertOutcome {
                advanced: 0,
                stored,
                out_of_order,
            }
        }
    }

    /// Like [`RecvBuffer::insert`], for text whose first byte has sequence
    /// number `seq` while RCV.NXT is `rcv_nxt`. Bytes before RCV.NXT
    /// (already received) are trimmed off first (RFC 9293 §3.10.7.4: "only
    /// the new parts are processed"), so a retransmission that straddles
    /// RCV.NXT is handled.
    pub fn insert_seq(&mut self, rcv_nxt: SeqNum, seq: SeqNum, data: &[u8]) -> InsertOutcome {
        if seq.lt(rcv_nxt) {
            let old = rcv_nxt.since(seq) as usize;
            if old >= data.len() {
                return InsertOutcome::default();
            }
            self.insert(0, &data[old..])
        } else {
            self.insert(seq.since(rcv_nxt) as usize, data)
        }
    }

    /// Removes `ranges[from..to]`.
    #[inline]
    fn remove_ranges(&mut self, from: usize, to: usize) {
        if from < to {
            self.ranges.copy_within(to..self.n_ranges, from);
            self.n_ranges -= to - from;
        }
    }

    /// The readable bytes as at most two contiguous slices, without taking
    /// them; follow with [`RecvBuffer::consume`].
    pub fn peek_slices(&self) -> (&[u8], &[u8]) {
        self.ring.slices(self.head, self.readable)
    }

    /// Drops `n` readable bytes (clamped to `readable()`) and returns how
    /// many were dropped; the window opens by as much.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.readable);
        self.readable -= n;
        if self.readable == 0 && self.n_ranges == 0 {
            // Nothing held: restart at index 0 so later text is contiguous.
            self.head = 0;
        } else {
            self.head = self.ring.wrap(self.head + n);
        }
        n
    }

    /// Copies readable bytes into `out` (RFC 9293 §3.10.3 RECEIVE), frees
    /// their space and returns how many were copied.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let (a, b) = self.peek_slices();
        let first = a.len().min(out.len());
        out[..first].copy_from_slice(&a[..first]);
        let second = b.len().min(out.len() - first);
        out[first..first + second].copy_from_slice(&b[..second]);
        self.consume(first + second)
    }

    /// Records that the peer's FIN sits `offset` bytes after RCV.NXT, that
    /// is right after the last byte of the segment that carried it. Call it
    /// before inserting that segment's text (`offset` = the text's offset +
    /// its length), or after, with the offset from the new RCV.NXT.
    ///
    /// RFC 9293 §3.10.7.4 "eighth, check the FIN bit": the FIN takes effect
    /// only when it is reached in order ([`RecvBuffer::fin_reached`]);
    /// text beyond it is dropped from then on. A FIN takes no buffer space,
    /// so one right after text that fills the window is kept.
    pub fn set_fin(&mut self, offset: usize) -> Result<(), FinError> {
        if let Some(fin) = self.fin {
            let recorded = (fin - self.nxt) as usize;
            return if recorded == offset {
                Ok(())
            } else {
                Err(FinError::Conflict { offset, recorded })
            };
        }
        let window = self.window();
        if offset > window {
            return Err(FinError::BeyondWindow { offset, window });
        }
        let pos = self.nxt + offset as u64;
        if let Some(last) = self.ranges[..self.n_ranges].last() {
            if last.end > pos {
                return Err(FinError::DataBeyondFin {
                    offset,
                    data_end: (last.end - self.nxt) as usize,
                });
            }
        }
        self.fin = Some(pos);
        Ok(())
    }

    /// Offset of the recorded FIN from RCV.NXT, if a FIN was recorded.
    #[inline]
    pub fn fin_offset(&self) -> Option<usize> {
        self.fin.map(|fin| (fin - self.nxt) as usize)
    }

    /// The recorded FIN is now in order: every byte before it has been
    /// received (RFC 9293 §3.10.7.4 "eighth": the FIN can be processed,
    /// RCV.NXT advanced over it, and the user signalled end of data once
    /// the readable bytes are read).
    #[inline]
    pub fn fin_reached(&self) -> bool {
        self.fin == Some(self.nxt)
    }

    /// Fills `out` with SACK blocks (RFC 2018 §3) for the held out-of-order
    /// data and returns how many it wrote, at most `out.len()`: pass a
    /// shorter slice when other options (timestamps) leave room for fewer
    /// blocks (RFC 2018 §3: at most 4, 3 with timestamps).
    ///
    /// RFC 2018 §4: the first block is the one containing the most recently
    /// received out-of-order segment; the others follow from the most
    /// recently to the least recently updated. Every block lies strictly
    /// above `rcv_nxt` and blocks never overlap, so none is a subset of
    /// another. A segment that advanced RCV.NXT creates no block.
    pub fn sack_blocks(&self, rcv_nxt: SeqNum, out: &mut [(SeqNum, SeqNum)]) -> usize {
        let held = &self.ranges[..self.n_ranges];
        let count = out.len().min(held.len());
        let mut below = u64::MAX;
        for slot in out.iter_mut().take(count) {
            // The newest range with a stamp below the last one taken.
            let mut best: Option<&Range> = None;
            for r in held {
                if r.stamp < below && best.is_none_or(|b| r.stamp > b.stamp) {
                    best = Some(r);
                }
            }
            let Some(r) = best else {
                // Unreachable: stamps are unique and count <= held.len().
                return 0;
            };
            below = r.stamp;
            *slot = (
                rcv_nxt + (r.start - self.nxt) as u32,
                rcv_nxt + (r.end - self.nxt) as u32,
            );
        }
        count
    }
}

/// Iterator over the held out-of-order ranges, from [`RecvBuffer::ooo_ranges`].
#[derive(Debug, Clone)]
pub struct OooRanges<'a> {
    ranges: core::slice::Iter<'a, Range>,
    nxt: u64,
}

impl Iterator for OooRanges<'_> {
    type Item = (usize, usize);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize)> {
        self.ranges
            .next()
            .map(|r| ((r.start - self.nxt) as usize, (r.end - self.nxt) as usize))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ranges.size_hint()
    }
}

impl ExactSizeIterator for OooRanges<'_> {}

struct DebugRanges<'a>(&'a RecvBuffer);

impl core::fmt::Debug for DebugRanges<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.0.ooo_ranges()).finish()
    }
}

impl core::fmt::Debug for RecvBuffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecvBuffer")
            .field("capacity", &self.capacity())
            .field("readable", &self.readable)
            .field("ooo_ranges", &DebugRanges(self))
            .field("fin_offset", &self.fin_offset())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl RecvBuffer {
        /// Panics unless the documented invariants on the held ranges hold.
        fn assert_invariants(&self) {
            let held = &self.ranges[..self.n_ranges];
            let limit = self.nxt + self.window() as u64;
            let mut prev_end = self.nxt;
            for r in held {
                assert!(r.start > prev_end, "ranges touch or overlap: {self:?}");
                assert!(r.start < r.end, "empty range: {self:?}");
                assert!(r.end <= limit, "range beyond the window: {self:?}");
                if let Some(fin) = self.fin {
                    assert!(r.end <= fin, "range beyond the FIN: {self:?}");
                }
                prev_end = r.end;
            }
            for (a, ra) in held.iter().enumerate() {
                for rb in &held[a + 1..] {
                    assert_ne!(ra.stamp, rb.stamp, "stamps not unique: {self:?}");
                }
            }
        }
    }

    fn read_all(buf: &mut RecvBuffer) -> Vec<u8> {
        let mut out = vec![0u8; buf.readable()];
        let n = buf.read(&mut out);
        out.truncate(n);
        out
    }

    fn ranges(buf: &RecvBuffer) -> Vec<(usize, usize)> {
        buf.ooo_ranges().collect()
    }

    fn outcome(advanced: usize, stored: usize, out_of_order: bool) -> InsertOutcome {
        InsertOutcome {
            advanced,
            stored,
            out_of_order,
        }
    }

    #[test]
    fn in_order_text_is_readable_at_once() {
        let mut buf = RecvBuffer::new(16);
        assert_eq!(buf.window(), 16);
        assert_eq!(buf.insert(0, b"hello"), outcome(5, 5, false));
        assert_eq!(buf.readable(), 5);
        assert_eq!(buf.window(), 11);
        assert!(!buf.has_out_of_order());
        assert_eq!(buf.insert(0, b" world"), outcome(6, 6, false));
        assert_eq!(read_all(&mut buf), b"hello world");
        assert_eq!(buf.window(), 16);
    }

    #[test]
    fn out_of_order_text_is_held_until_the_gap_fills() {
        let mut buf = RecvBuffer::new(16);
        assert_eq!(buf.insert(3, b"def"), outcome(0, 3, true));
        assert_eq!(buf.readable(), 0);
        assert!(buf.has_out_of_order());
        assert_eq!(ranges(&buf), vec![(3, 6)]);
        // Held bytes sit inside the advertised window.
        assert_eq!(buf.window(), 16);
        assert_eq!(buf.insert(0, b"abc"), outcome(6, 3, false));
        assert!(!buf.has_out_of_order());
        assert_eq!(read_all(&mut buf), b"abcdef");
    }

    #[test]
    fn filling_the_first_gap_merges_every_contiguous_range() {
        let mut buf = RecvBuffer::new(32);
        buf.insert(2, b"cd");
        buf.insert(6, b"gh");
        buf.insert(4, b"ef"); // joins [2,4) and [6,8)
        buf.insert(10, b"kl");
        buf.assert_invariants();
        assert_eq!(ranges(&buf), vec![(2, 8), (10, 12)]);
        assert_eq!(buf.insert(0, b"ab"), outcome(8, 2, false));
        assert_eq!(ranges(&buf), vec![(2, 4)]);
        assert_eq!(read_all(&mut buf), b"abcdefgh");
        assert_eq!(buf.insert(0, b"ij"), outcome(4, 2, false));
        assert_eq!(read_all(&mut buf), b"ijkl");
        buf.assert_invariants();
    }

    #[test]
    fn overlapping_text_stores_only_the_new_bytes() {
        let mut buf = RecvBuffer::new(32);
        buf.insert(4, b"EFGH");
        buf.insert(12, b"MN");
        // Covers [2, 14): the gaps [2,4), [8,12) are new; held bytes stay.
        assert_eq!(buf.insert(2, b"cdxxxxIJKLxx"), outcome(0, 6, true));
        assert_eq!(ranges(&buf), vec![(2, 14)]);
        assert_eq!(buf.insert(0, b"ab"), outcome(14, 2, false));
        assert_eq!(read_all(&mut buf), b"abcdEFGHIJKLMN");
        buf.assert_invariants();
    }

    #[test]
    fn duplicate_out_of_order_text_stores_nothing() {
        let mut buf = RecvBuffer::new(32);
        buf.insert(5, b"xyz");
        assert_eq!(buf.insert(5, b"xyz"), outcome(0, 0, true));
        assert_eq!(buf.insert(6, b"y"), outcome(0, 0, true));
        assert_eq!(ranges(&buf), vec![(5, 8)]);
    }

    #[test]
    fn in_order_text_overlapping_held_data_advances_past_it() {
        let mut buf = RecvBuffer::new(32);
        buf.insert(3, b"DEF");
        assert_eq!(buf.insert(0, b"abcdefg"), outcome(7, 4, false));
        assert_eq!(read_all(&mut buf), b"abcDEFg");
    }

    #[test]
    fn text_beyond_the_window_is_trimmed() {
        let mut buf = RecvBuffer::new(8);
        buf.insert(0, b"abc"); // window 5
        assert_eq!(buf.insert(0, b"defghijk"), outcome(5, 5, false));
        assert_eq!(buf.window(), 0);
        assert_eq!(buf.insert(0, b"z"), outcome(0, 0, false));
        assert_eq!(read_all(&mut buf), b"abcdefgh");
        // Out of order and partly past the window.
        assert_eq!(buf.insert(6, b"1234"), outcome(0, 2, true));
        assert_eq!(ranges(&buf), vec![(6, 8)]);
        // Entirely past the window.
        assert_eq!(buf.insert(8, b"5"), outcome(0, 0, true));
        assert_eq!(buf.insert(usize::MAX, b"5"), outcome(0, 0, true));
        buf.assert_invariants();
    }

    #[test]
    fn reading_reopens_the_window() {
        let mut buf = RecvBuffer::new(4);
        buf.insert(0, b"abcd");
        assert_eq!(buf.window(), 0);
        let mut out = [0u8; 3];
        assert_eq!(buf.read(&mut out), 3);
        assert_eq!(&out, b"abc");
        assert_eq!(buf.window(), 3);
        assert_eq!(buf.insert(0, b"efgh"), outcome(3, 3, false));
        assert_eq!(read_all(&mut buf), b"defg");
    }

    #[test]
    fn readable_bytes_cross_the_ring_end() {
        let mut buf = RecvBuffer::new(8);
        buf.insert(0, b"012345");
        let mut out = [0u8; 5];
        buf.read(&mut out); // head at ring index 5, "5" readable
        assert_eq!(buf.insert(2, b"89"), outcome(0, 2, true)); // wraps to 0..1
        assert_eq!(buf.insert(0, b"67"), outcome(4, 2, false)); // ring 6, 7
        let (a, b) = buf.peek_slices();
        assert_eq!(a, b"567");
        assert_eq!(b, b"89");
        assert_eq!(buf.consume(2), 2);
        assert_eq!(read_all(&mut buf), b"789");
        assert_eq!(buf.consume(1), 0);
    }

    #[test]
    fn full_range_table_drops_a_new_disjoint_segment() {
        let mut buf = RecvBuffer::new(4 * MAX_OOO_RANGES + 8);
        for k in 0..MAX_OOO_RANGES {
            assert_eq!(buf.insert(2 + 4 * k, b"xx").stored, 2);
        }
        assert_eq!(buf.ooo_ranges().len(), MAX_OOO_RANGES);
        let far = 2 + 4 * MAX_OOO_RANGES;
        assert_eq!(buf.insert(far, b"yy"), outcome(0, 0, true));
        // Extending a held range needs no new entry.
        assert_eq!(buf.insert(4, b"z"), outcome(0, 1, true));
        // Bridging two ranges frees one entry, which the next one takes.
        assert_eq!(buf.insert(5, b"ww"), outcome(0, 1, true));
        assert_eq!(buf.ooo_ranges().len(), MAX_OOO_RANGES - 1);
        assert_eq!(buf.insert(far, b"yy"), outcome(0, 2, true));
        // In-order text needs no entry either.
        assert_eq!(buf.insert(0, b"aa").advanced, 8);
        buf.assert_invariants();
    }

    #[test]
    fn fin_after_out_of_order_data_is_reached_when_the_gap_fills() {
        let mut buf = RecvBuffer::new(32);
        // Segment [4, 8) carries the FIN: record it, then its text.
        assert_eq!(buf.set_fin(8), Ok(()));
        assert_eq!(buf.insert(4, b"efgh"), outcome(0, 4, true));
        assert!(!buf.fin_reached());
        assert_eq!(buf.fin_offset(), Some(8));
        assert_eq!(buf.insert(0, b"ab"), outcome(2, 2, false));
        assert_eq!(buf.fin_offset(), Some(6));
        assert!(!buf.fin_reached());
        assert_eq!(buf.insert(0, b"cd"), outcome(6, 2, false));
        assert!(buf.fin_reached());
        assert_eq!(buf.fin_offset(), Some(0));
        assert_eq!(read_all(&mut buf), b"abcdefgh");
        assert!(buf.fin_reached());
    }

    #[test]
    fn text_beyond_the_fin_is_dropped() {
        let mut buf = RecvBuffer::new(32);
        buf.set_fin(3).unwrap();
        assert_eq!(buf.insert(2, b"cdef"), outcome(0, 1, true));
        assert_eq!(buf.insert(3, b"x"), outcome(0, 0, true));
        assert_eq!(buf.insert(0, b"ab"), outcome(3, 2, false));
        assert!(buf.fin_reached());
        assert_eq!(buf.insert(0, b"more"), outcome(0, 0, false));
        assert_eq!(read_all(&mut buf), b"abc");
    }

    #[test]
    fn set_fin_rejects_contradictions_and_fins_beyond_the_window() {
        let mut buf = RecvBuffer::new(8);
        buf.insert(0, b"abc");
        assert_eq!(
            buf.set_fin(6),
            Err(FinError::BeyondWindow {
                offset: 6,
                window: 5
            })
        );
        // A FIN right after text that fills the window is kept.
        buf.insert(2, b"xyz");
        assert_eq!(
            buf.set_fin(4),
            Err(FinError::DataBeyondFin {
                offset: 4,
                data_end: 5
            })
        );
        assert_eq!(buf.set_fin(5), Ok(()));
        assert_eq!(buf.set_fin(5), Ok(()));
        assert_eq!(
            buf.set_fin(2),
            Err(FinError::Conflict {
                offset: 2,
                recorded: 5
            })
        );
        assert_eq!(buf.fin_offset(), Some(5));
    }

    #[test]
    fn insert_seq_trims_bytes_already_received() {
        let mut buf = RecvBuffer::new(32);
        let rcv_nxt = SeqNum(u32::MAX - 1);
        assert_eq!(
            buf.insert_seq(rcv_nxt, rcv_nxt, b"ab"),
            outcome(2, 2, false)
        );
        let rcv_nxt = rcv_nxt + 2; // wrapped to 0
        assert_eq!(rcv_nxt, SeqNum(0));
        // A retransmission straddling RCV.NXT: only "cd" is new.
        assert_eq!(
            buf.insert_seq(rcv_nxt, rcv_nxt - 2, b"abcd"),
            outcome(2, 2, false)
        );
        // Entirely old: nothing.
        assert_eq!(
            buf.insert_seq(rcv_nxt + 2, rcv_nxt - 1, b"bc"),
            InsertOutcome::default()
        );
        // Out of order across the wrap.
        assert_eq!(
            buf.insert_seq(rcv_nxt + 2, rcv_nxt + 4, b"gh"),
            outcome(0, 2, true)
        );
        assert_eq!(ranges(&buf), vec![(2, 4)]);
        assert_eq!(read_all(&mut buf), b"abcd");
    }

    /// RFC 2018 §5, case 3: eight 500-byte segments from 5000, the 2nd, 4th,
    /// 6th and 8th lost; then the 4th and the 2nd arrive.
    #[test]
    fn sack_blocks_follow_rfc_2018_case_3() {
        let base = SeqNum(5000);
        let mut buf = RecvBuffer::new(8000);
        let seg = [0u8; 500];
        let mut out = [(SeqNum(0), SeqNum(0)); 4];
        let mut rcv_nxt = base;
        let deliver = |buf: &mut RecvBuffer, rcv_nxt: &mut SeqNum, seq: u32| {
            let o = buf.insert_seq(*rcv_nxt, SeqNum(seq), &seg);
            *rcv_nxt += o.advanced as u32;
        };
        let blocks = |buf: &RecvBuffer, rcv_nxt: SeqNum, out: &mut [(SeqNum, SeqNum)]| {
            let n = buf.sack_blocks(rcv_nxt, out);
            out[..n]
                .iter()
                .map(|&(l, r)| (l.0, r.0))
                .collect::<Vec<_>>()
        };
        deliver(&mut buf, &mut rcv_nxt, 5000);
        assert_eq!(rcv_nxt, SeqNum(5500));
        assert_eq!(blocks(&buf, rcv_nxt, &mut out), vec![]);
        deliver(&mut buf, &mut rcv_nxt, 6000);
        assert_eq!(blocks(&buf, rcv_nxt, &mut out), vec![(6000, 6500)]);
        deliver(&mut buf, &mut rcv_nxt, 7000);
        assert_eq!(
            blocks(&buf, rcv_nxt, &mut out),
            vec![(7000, 7500), (6000, 6500)]
        );
        deliver(&mut buf, &mut rcv_nxt, 8000);
        assert_eq!(
            blocks(&buf, rcv_nxt, &mut out),
            vec![(8000, 8500), (7000, 7500), (6000, 6500)]
        );
        // With room for two blocks only (say, timestamps and more options).
        assert_eq!(
            blocks(&buf, rcv_nxt, &mut out[..2]),
            vec![(8000, 8500), (7000, 7500)]
        );
        // The 4th segment (6500) arrives: it joins 6000-6500 and 7000-7500.
        deliver(&mut buf, &mut rcv_nxt, 6500);
        assert_eq!(rcv_nxt, SeqNum(5500));
        assert_eq!(
            blocks(&buf, rcv_nxt, &mut out),
            vec![(6000, 7500), (8000, 8500)]
        );
        // The 2nd segment (5500) arrives: ACK 7500, one block left.
        deliver(&mut buf, &mut rcv_nxt, 5500);
        assert_eq!(rcv_nxt, SeqNum(7500));
        assert_eq!(blocks(&buf, rcv_nxt, &mut out), vec![(8000, 8500)]);
    }

    /// RFC 2018 §5, case 2: the first of eight segments is lost.
    #[test]
    fn sack_blocks_follow_rfc_2018_case_2() {
        let mut buf = RecvBuffer::new(8000);
        let rcv_nxt = SeqNum(5000);
        let mut out = [(SeqNum(0), SeqNum(0)); 4];
        for k in 1..8u32 {
            let o = buf.insert_seq(rcv_nxt, SeqNum(5000 + 500 * k), &[1u8; 500]);
            assert_eq!(o, outcome(0, 500, true));
            assert_eq!(buf.sack_blocks(rcv_nxt, &mut out), 1);
            assert_eq!(out[0], (SeqNum(5500), SeqNum(5500 + 500 * k)));
        }
    }

    #[test]
    fn sack_blocks_put_a_duplicate_segment_block_first() {
        let mut buf = RecvBuffer::new(100);
        let rcv_nxt = SeqNum(u32::MAX - 5);
        buf.insert(10, b"a");
        buf.insert(20, b"b");
        buf.insert(30, b"c");
        buf.insert(40, b"d");
        buf.insert(50, b"e");
        // A duplicate of the segment at 20 triggers the next ACK.
        buf.insert(20, b"b");
        let mut out = [(SeqNum(0), SeqNum(0)); 4];
        assert_eq!(buf.sack_blocks(rcv_nxt, &mut out), 4);
        let offsets: Vec<u32> = out.iter().map(|&(l, _)| l.since(rcv_nxt)).collect();
        assert_eq!(offsets, vec![20, 50, 40, 30]);
        // Every block lies strictly above RCV.NXT, across the wrap.
        assert!(out.iter().all(|&(l, r)| l.gt(rcv_nxt) && r.gt(l)));
        assert_eq!(out[0], (rcv_nxt + 20, rcv_nxt + 21));
    }

    #[test]
    fn zero_capacity_buffer_takes_nothing() {
        let mut buf = RecvBuffer::new(0);
        assert_eq!(buf.window(), 0);
        assert_eq!(buf.insert(0, b"a"), outcome(0, 0, false));
        assert_eq!(buf.insert(1, b"a"), outcome(0, 0, true));
        assert_eq!(buf.set_fin(0), Ok(()));
        assert!(buf.fin_reached());
        let mut out = [0u8; 1];
        assert_eq!(buf.read(&mut out), 0);
    }
}

//! TCP options (RFC 9293 §3.2): MSS, window scale and timestamps
//! (RFC 7323), SACK-permitted and SACK (RFC 2018).

use core::fmt;

use super::WireError;
use crate::seq::SeqNum;

/// Most bytes of options a header can carry (data offset 15 words).
pub const MAX_OPTIONS_LEN: usize = 40;
/// Most SACK blocks one option can carry (RFC 2018 §3: 2 + 8n <= 40).
pub const MAX_SACK_BLOCKS: usize = 4;
/// Largest window scale shift (RFC 7323 §2.3).
pub const MAX_WINDOW_SCALE: u8 = 14;

// Option kinds (RFC 9293 §3.2 table 1; RFC 7323; RFC 2018).
const KIND_EOL: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_MSS: u8 = 2;
const KIND_WS: u8 = 3;
const KIND_SACK_PERMITTED: u8 = 4;
const KIND_SACK: u8 = 5;
const KIND_TS: u8 = 8;

/// The Timestamps option (RFC 7323 §3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Timestamps {
    /// TSval: the sender's timestamp clock.
    pub tsval: u32,
    /// TSecr: the TSval being echoed (meaningful only with ACK).
    pub tsecr: u32,
}

/// Up to four SACK blocks `(left edge, right edge)` (RFC 2018 §3), held in a
/// fixed array: no allocation.
#[derive(Clone, Copy, Default)]
pub struct SackBlocks {
    blocks: [(SeqNum, SeqNum); MAX_SACK_BLOCKS],
    len: u8,
}

impl SackBlocks {
    /// No blocks.
    pub const fn new() -> SackBlocks {
        SackBlocks {
            blocks: [(SeqNum(0), SeqNum(0)); MAX_SACK_BLOCKS],
            len: 0,
        }
    }

    /// The blocks of `blocks`, or `None` if there are more than four.
    pub fn from_slice(blocks: &[(SeqNum, SeqNum)]) -> Option<SackBlocks> {
        let mut s = SackBlocks::new();
        for &(left, right) in blocks {
            if !s.push(left, right) {
                return None;
            }
        }
        Some(s)
    }

    /// Appends a block; false (and nothing changes) if four are held already.
    pub fn push(&mut self, left: SeqNum, right: SeqNum) -> bool {
        match self.blocks.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = (left, right);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The blocks held, first to last.
    #[inline]
    pub fn as_slice(&self) -> &[(SeqNum, SeqNum)] {
        &self.blocks[..usize::from(self.len)]
    }

    /// Iterates over the blocks held.
    pub fn iter(&self) -> core::slice::Iter<'_, (SeqNum, SeqNum)> {
        self.as_slice().iter()
    }

    /// Number of blocks held.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True if no block is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every block.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

/// Equal when the blocks held are equal; unused slots do not count.
impl PartialEq for SackBlocks {
    fn eq(&self, other: &SackBlocks) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SackBlocks {}

impl fmt::Debug for SackBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a SackBlocks {
    type Item = &'a (SeqNum, SeqNum);
    type IntoIter = core::slice::Iter<'a, (SeqNum, SeqNum)>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The options of one segment that this TCP understands. Unknown options
/// are skipped on parse and never emitted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum Segment Size (RFC 9293 §3.7.1), kind 2.
    pub mss: Option<u16>,
    /// Window scale shift count (RFC 7323 §2), kind 3. Parsed values above
    /// 14 are clamped to 14 (RFC 7323 §2.3); emitted as given.
    pub window_scale: Option<u8>,
    /// SACK-permitted (RFC 2018 §2), kind 4.
    pub sack_permitted: bool,
    /// SACK blocks (RFC 2018 §3), kind 5; none means no SACK option.
    pub sack_blocks: SackBlocks,
    /// Timestamps (RFC 7323 §3), kind 8.
    pub timestamps: Option<Timestamps>,
}

impl TcpOptions {
    /// Bytes these options take when emitted, a multiple of 4 (it may
    /// exceed [`MAX_OPTIONS_LEN`], which [`super::emit_segment`] rejects:
    /// four SACK blocks do not fit beside timestamps, RFC 2018 §3).
    ///
    /// The layout, every option on its natural alignment as Linux and the
    /// BSDs send it:
    /// `MSS(4)`, then `SACK-permitted TS` or `NOP NOP TS` or
    /// `NOP NOP SACK-permitted`, then `NOP WS(3)`, then `NOP NOP SACK(2+8n)`.
    pub fn encoded_len(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        len += match (self.sack_permitted, self.timestamps.is_some()) {
            (_, true) => 12,
            (true, false) => 4,
            (false, false) => 0,
        };
        if self.window_scale.is_some() {
            len += 4;
        }
        if !self.sack_blocks.is_empty() {
            len += 4 + 8 * self.sack_blocks.len();
        }
        len
    }

    /// Parses the option bytes of a header (everything between the fixed
    /// 20 bytes and the data offset), RFC 9293 §3.2. `base` is the offset of
    /// `bytes` within the header, for error reports.
    pub(super) fn parse(bytes: &[u8], base: usize) -> Result<TcpOptions, WireError> {
        let mut o = TcpOptions::default();
        let mut i = 0;
        while let Some(&kind) = bytes.get(i) {
            match kind {
                // RFC 9293 §3.2: End of Option List; what follows is padding.
                KIND_EOL => break,
                // RFC 9293 §3.2: No-Operation, a single octet.
                KIND_NOP => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let past = WireError::OptionPastHeader {
                kind,
                offset: base + i,
            };
            // RFC 9293 §3.2: every other option has a length octet that
            // counts kind and length themselves, so it is at least 2.
            let Some(&len) = bytes.get(i + 1) else {
                return Err(past);
            };
            if len < 2 {
                return Err(WireError::BadOptionLength { kind, len });
            }
            let end = i + usize::from(len);
            let Some(body) = bytes.get(i + 2..end) else {
                return Err(past);
            };
            let bad_len = WireError::BadOptionLength { kind, len };
            match kind {
                // RFC 9293 §3.2: MSS, length 4.
                KIND_MSS => {
                    let b: [u8; 2] = body.try_into().map_err(|_| bad_len)?;
                    o.mss = Some(u16::from_be_bytes(b));
                }
                // RFC 7323 §2.2: Window Scale, length 3.
                KIND_WS => {
                    let [shift]: [u8; 1] = body.try_into().map_err(|_| bad_len)?;
                    // RFC 7323 §2.3: a shift above 14 MUST be used as 14.
                    o.window_scale = Some(shift.min(MAX_WINDOW_SCALE));
                }
                // RFC 2018 §2: SACK-Permitted, length 2.
                KIND_SACK_PERMITTED => {
                    if !body.is_empty() {
                        return Err(bad_len);
                    }
                    o.sack_permitted = true;
                }
                // RFC 2018 §3: SACK, length 2 + 8n, n blocks of two 32-bit
                // edges; at most 4 fit in 40 bytes.
                KIND_SACK => {
                    let n = body.len() / 8;
                    if body.len() % 8 != 0 || n == 0 || n > MAX_SACK_BLOCKS {
                        return Err(bad_len);
                    }
                    o.sack_blocks.clear();
                    for block in body.chunks_exact(8) {
                        let left = u32::from_be_bytes([block[0], block[1], block[2], block[3]]);
                        let right = u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
                        o.sack_blocks.push(SeqNum(left), SeqNum(right));
                    }
                }
                // RFC 7323 §3.2: Timestamps, length 10.
                KIND_TS => {
                    let b: [u8; 8] = body.try_into().map_err(|_| bad_len)?;
                    o.timestamps = Some(Timestamps {
                        tsval: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                        tsecr: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    });
                }
                // RFC 9293 §3.2 / §3.10.7: an option not implemented is
                // skipped by its length.
                _ => {}
            }
            i = end;
        }
        Ok(o)
    }

    /// Writes the options into `out`, which must be exactly
    /// [`TcpOptions::encoded_len`] bytes long (the caller sized it).
    pub(super) fn write(&self, out: &mut [u8]) {
        let mut w = Writer { out, at: 0 };
        if let Some(mss) = self.mss {
            let m = mss.to_be_bytes();
            w.put(&[KIND_MSS, 4, m[0], m[1]]);
        }
        match (self.sack_permitted, self.timestamps) {
            (sack_permitted, Some(ts)) => {
                if sack_permitted {
                    w.put(&[KIND_SACK_PERMITTED, 2]);
                } else {
                    w.put(&[KIND_NOP, KIND_NOP]);
                }
                w.put(&[KIND_TS, 10]);
                w.put(&ts.tsval.to_be_bytes());
                w.put(&ts.tsecr.to_be_bytes());
            }
            (true, None) => w.put(&[KIND_NOP, KIND_NOP, KIND_SACK_PERMITTED, 2]),
            (false, None) => {}
        }
        if let Some(shift) = self.window_scale {
            w.put(&[KIND_NOP, KIND_WS, 3, shift]);
        }
        if !self.sack_blocks.is_empty() {
            // At most 2 + 8 * 4 = 34, fits a u8.
            let len = (2 + 8 * self.sack_blocks.len()) as u8;
            w.put(&[KIND_NOP, KIND_NOP, KIND_SACK, len]);
            for &(left, right) in &self.sack_blocks {
                w.put(&left.0.to_be_bytes());
                w.put(&right.0.to_be_bytes());
            }
        }
        debug_assert_eq!(w.at, w.out.len(), "options length mismatch");
    }
}

/// A cursor over a buffer whose size was checked in advance.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sack_blocks_hold_at_most_four_and_compare_by_content() {
        let mut s = SackBlocks::new();
        for k in 0..4 {
            assert!(s.push(SeqNum(k), SeqNum(k + 1)));
        }
        assert!(!s.push(SeqNum(9), SeqNum(10)));
        assert_eq!(s.len(), 4);
        s.clear();
        assert!(s.is_empty());
        // Stale slots do not make two empty sets differ.
        assert_eq!(s, SackBlocks::new());
        assert!(SackBlocks::from_slice(&[(SeqNum(1), SeqNum(2)); 5]).is_none());
        let two = SackBlocks::from_slice(&[(SeqNum(1), SeqNum(2)), (SeqNum(5), SeqNum(7))]);
        assert_eq!(
            two.map(|b| b.as_slice().to_vec()),
            Some(vec![(SeqNum(1), SeqNum(2)), (SeqNum(5), SeqNum(7))])
        );
    }

    #[test]
    fn syn_layout_matches_the_common_one() {
        let o = TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some(Timestamps {
                tsval: 0x01020304,
                tsecr: 0,
            }),
            ..TcpOptions::default()
        };
        let mut out = [0u8; 20];
        assert_eq!(o.encoded_len(), 20);
        o.write(&mut out);
        assert_eq!(
            out,
            [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7]
        );
        assert_eq!(TcpOptions::parse(&out, 20), Ok(o));
    }
}

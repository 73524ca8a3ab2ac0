//! The Internet checksum (RFC 1071) over the TCP pseudo-header and segment
//! (RFC 9293 §3.1; RFC 8200 §8.1 for IPv6).
//!
//! The one's-complement sum does not depend on byte order (RFC 1071 §2(B)),
//! so the data is loaded in native order eight bytes at a time and folded
//! to 16 bits and converted to network order once, at the end. Short slices
//! use `u64` add-with-carry chains; long ones a carry-free sum that LLVM
//! vectorises, compiled for AVX2 and AVX-512 as well and chosen at run time.
//! A slice that starts at an odd offset of the summed stream contributes its
//! sum byte-swapped (RFC 1071 §2(B) again), which lets [`Checksum`] take
//! slices of any length.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::WireError;

/// IP protocol number of TCP.
const PROTO_TCP: u8 = 6;

/// The addresses of the pseudo-header that the TCP checksum covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PseudoHeader {
    /// RFC 9293 §3.1: source, destination, zero, PTCL = 6, TCP length (16 bits).
    V4 {
        /// Source address.
        src: [u8; 4],
        /// Destination address.
        dst: [u8; 4],
    },
    /// RFC 8200 §8.1: source, destination, upper-layer length (32 bits),
    /// three zero bytes, next header = 6.
    V6 {
        /// Source address.
        src: [u8; 16],
        /// Destination address.
        dst: [u8; 16],
    },
}

impl PseudoHeader {
    /// The pseudo-header for two addresses of the same IP version.
    pub fn new(src: IpAddr, dst: IpAddr) -> Result<PseudoHeader, WireError> {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => Ok(PseudoHeader::v4(s, d)),
            (IpAddr::V6(s), IpAddr::V6(d)) => Ok(PseudoHeader::v6(s, d)),
            _ => Err(WireError::AddressFamilyMismatch),
        }
    }

    /// IPv4 pseudo-header.
    pub fn v4(src: Ipv4Addr, dst: Ipv4Addr) -> PseudoHeader {
        PseudoHeader::V4 {
            src: src.octets(),
            dst: dst.octets(),
        }
    }

    /// IPv6 pseudo-header.
    pub fn v6(src: Ipv6Addr, dst: Ipv6Addr) -> PseudoHeader {
        PseudoHeader::V6 {
            src: src.octets(),
            dst: dst.octets(),
        }
    }

    /// Source address.
    pub fn src(&self) -> IpAddr {
        match *self {
            PseudoHeader::V4 { src, .. } => IpAddr::from(src),
            PseudoHeader::V6 { src, .. } => IpAddr::from(src),
        }
    }

    /// Destination address.
    pub fn dst(&self) -> IpAddr {
        match *self {
            PseudoHeader::V4 { dst, .. } => IpAddr::from(dst),
            PseudoHeader::V6 { dst, .. } => IpAddr::from(dst),
        }
    }

    /// The same pseudo-header seen from the other end.
    pub fn reversed(&self) -> PseudoHeader {
        match *self {
            PseudoHeader::V4 { src, dst } => PseudoHeader::V4 { src: dst, dst: src },
            PseudoHeader::V6 { src, dst } => PseudoHeader::V6 { src: dst, dst: src },
        }
    }

    /// Largest TCP segment (header + data) whose length the pseudo-header
    /// can carry: 16 bits for IPv4 (RFC 9293 §3.1); for IPv6 the field is 32
    /// bits, but without jumbograms the IPv6 payload length limits it to
    /// 16 bits as well (RFC 8200 §3).
    pub const fn max_segment_len(&self) -> usize {
        u16::MAX as usize
    }

    /// A checksum accumulator that already holds this pseudo-header for a
    /// TCP segment of `tcp_len` bytes.
    #[inline]
    pub fn checksum(&self, tcp_len: usize) -> Checksum {
        let mut c = Checksum::new();
        match self {
            PseudoHeader::V4 { src, dst } => {
                // RFC 9293 §3.1: the TCP length is 16 bits; longer segments
                // cannot be framed in IPv4, the truncation only keeps this
                // total and panic-free.
                let len = (tcp_len as u16).to_be_bytes();
                c.add_bytes(src);
                c.add_bytes(dst);
                c.add_bytes(&[0, PROTO_TCP, len[0], len[1]]);
            }
            PseudoHeader::V6 { src, dst } => {
                // RFC 8200 §8.1: 32-bit upper-layer packet length.
                let len = (tcp_len as u32).to_be_bytes();
                c.add_bytes(src);
                c.add_bytes(dst);
                c.add_bytes(&[len[0], len[1], len[2], len[3], 0, 0, 0, PROTO_TCP]);
            }
        }
        c
    }
}

/// An incremental Internet checksum (RFC 1071): feed slices of any length
/// in order, then [`Checksum::finish`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    /// One's-complement sum of native-order words, with end-around carry.
    sum: u64,
    /// Bytes added so far are odd in number: the next slice starts in the
    /// middle of a 16-bit word.
    odd: bool,
}

impl Checksum {
    /// An empty sum.
    #[inline]
    pub const fn new() -> Checksum {
        Checksum { sum: 0, odd: false }
    }

    /// Adds `data` as the next bytes of the summed stream.
    // Always inlined: the pseudo-header's fixed-length pieces fold to a few
    // instructions, and long slices leave through one call in `sum_native`.
    #[inline(always)]
    pub fn add_bytes(&mut self, data: &[u8]) {
        let part = sum_native(data);
        if self.odd {
            // RFC 1071 §2(B): a stream shifted by one byte sums to the
            // byte-swapped value.
            self.sum = add_carry(self.sum, u64::from(fold(part).swap_bytes()));
        } else {
            self.sum = add_carry(self.sum, part);
        }
        self.odd ^= data.len() & 1 == 1;
    }

    /// Adds 16-bit words given as numbers (RFC 1071's view: each the
    /// big-endian value of two stream bytes) and already summed as plain
    /// integers, `words_sum`, as the next bytes of the stream, which must
    /// be at an even offset. A header can then be summed from the fields it
    /// was written from, instead of being read back from memory right after
    /// being stored byte by byte (a store-forwarding stall per word).
    #[inline(always)]
    pub fn add_word_sum(&mut self, words_sum: u64) {
        debug_assert!(!self.odd, "add_word_sum at an odd offset");
        // RFC 1071 §2(C): fold the carries back in; then the 16-bit sum in the
        // native order the accumulator keeps.
        let mut s = words_sum;
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        let native = u16::from_ne_bytes((s as u16).to_be_bytes());
        self.sum = add_carry(self.sum, u64::from(native));
    }

    /// Copies `src` into `dst` and adds those bytes as the next bytes of the
    /// summed stream, reading each byte once: the send path puts segment
    /// text into the packet and sums it in one pass (as BSD's and Linux's
    /// copy-and-checksum do). The slices must have the same length; if not,
    /// only the common prefix is copied and summed.
    #[inline(always)]
    pub fn add_copied(&mut self, dst: &mut [u8], src: &[u8]) {
        let n = dst.len().min(src.len());
        let (dst, src) = (&mut dst[..n], &src[..n]);
        let part = copy_sum_native(dst, src);
        if self.odd {
            // RFC 1071 §2(B), as in `add_bytes`.
            self.sum = add_carry(self.sum, u64::from(fold(part).swap_bytes()));
        } else {
            self.sum = add_carry(self.sum, part);
        }
        self.odd ^= n & 1 == 1;
    }

    /// The 16-bit one's-complement sum so far, in host order (not yet
    /// complemented).
    #[inline]
    pub fn sum(&self) -> u16 {
        u16::from_be(fold(self.sum))
    }

    /// The checksum field value, in host order: the one's complement of the
    /// sum (RFC 9293 §3.1). Write it with `to_be_bytes`.
    #[inline]
    pub fn finish(&self) -> u16 {
        !self.sum()
    }
}

/// The two 16-bit words of a 32-bit field (as sent, big-endian) summed as
/// integers: its part of a [`Checksum::add_word_sum`].
#[inline(always)]
pub(crate) fn word_pair(v: u32) -> u64 {
    u64::from(v >> 16) + u64::from(v & 0xffff)
}

/// `a + b` in one's-complement arithmetic on 64-bit words.
#[inline(always)]
fn add_carry(a: u64, b: u64) -> u64 {
    let (s, carry) = a.overflowing_add(b);
    s + u64::from(carry)
}

/// Folds a 64-bit one's-complement sum to 16 bits (still native order).
#[inline(always)]
fn fold(s: u64) -> u16 {
    let s = (s & 0xffff_ffff) + (s >> 32); // < 2^33
    let s = (s & 0xffff_ffff) + (s >> 32); // <= 2^32
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

#[inline(always)]
fn load(chunk: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&chunk[at..at + 8]);
    u64::from_ne_bytes(w)
}

/// Shortest slice worth the call into a vector body (measured: below it the
/// call costs more than the vectors save).
const WIDE_MIN: usize = 384;
/// Shortest slice for which 512-bit vectors beat 256-bit ones: each turn of
/// the AVX-512 loop takes 256 bytes, and shorter remainders run in its
/// narrower epilogue.
#[cfg(target_arch = "x86_64")]
const AVX512_MIN: usize = 1024;
/// Shortest slice whose vector loop is started on a 64-byte boundary; below
/// it the separate head costs more than the split loads it saves.
const ALIGN_MIN: usize = 1024;
/// Words summed before [`sum_words`] folds its accumulators: `high` gains
/// at most `2^32 - 1` a word, and so does the sum of the low halves that
/// `total - (high << 32)` recovers; both stay below `2^64` for up to
/// `2^32 + 1` words. `2^31` words (16 GiB) leaves a factor of two.
const WORDS_PER_FOLD: usize = 1 << 31;

/// One's-complement sum of `data` as native-order 16-bit words (the last
/// byte of an odd-length slice padded with zero, RFC 9293 §3.1), unfolded.
#[inline(always)]
fn sum_native(data: &[u8]) -> u64 {
    if data.len() < WIDE_MIN {
        sum_short(data)
    } else {
        sum_wide(data)
    }
}

/// [`sum_generic`] in the widest vectors that pay on this CPU. Out of line,
/// so that [`Checksum::add_bytes`] stays small enough to inline.
#[inline(never)]
fn sum_wide(data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // Each check reads a cached word after the first call.
        if data.len() >= AVX512_MIN && std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was detected at run time.
            return unsafe { sum_avx512(data) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected at run time.
            return unsafe { sum_avx2(data) };
        }
    }
    sum_portable(data)
}

/// [`sum_generic`] for the baseline instruction set.
fn sum_portable(data: &[u8]) -> u64 {
    sum_generic(data)
}

/// [`sum_generic`] with 256-bit vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_avx2(data: &[u8]) -> u64 {
    sum_generic(data)
}

/// [`sum_generic`] with 512-bit vectors (64-bit lanes need only AVX-512F).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum_avx512(data: &[u8]) -> u64 {
    sum_generic(data)
}

/// The vector body, inlined into each instruction-set wrapper above.
#[inline(always)]
fn sum_generic(data: &[u8]) -> u64 {
    if data.len() < ALIGN_MIN {
        return sum_unaligned(data);
    }
    // A vector load that straddles two cache lines costs two; 64-byte
    // aligned loads never do. The head (`< 64` bytes, and `ALIGN_MIN` is
    // more) is summed on its own; if its length is odd, the rest starts
    // mid-word and contributes its sum byte-swapped (RFC 1071 §2(B)).
    let head = data.as_ptr().align_offset(64) % 64;
    let (head, rest) = data.split_at(head.min(data.len()));
    let sum = sum_unaligned(rest);
    let sum = if head.len() % 2 == 1 {
        u64::from(fold(sum).swap_bytes())
    } else {
        sum
    };
    sum_tiny(sum, head)
}

/// [`sum_words`] over the whole words of `data`, then its tail.
#[inline(always)]
fn sum_unaligned(data: &[u8]) -> u64 {
    let words = data.len() - data.len() % 8;
    let mut sum = sum_words(&data[..words]);
    if words < data.len() {
        sum = add_carry(sum, tail_word(data, data.len() - words));
    }
    sum
}

/// One's-complement sum of the 8-byte words of `data` (RFC 1071 §2(C),
/// deferred carries), unfolded; a `< 8`-byte remainder is not summed.
///
/// Carry-free, so that LLVM vectorises it: each word is `x = hi·2^32 + lo`;
/// `total` is the sum of the words mod `2^64` and `high` the exact sum of
/// their `hi` halves, so `total - (high << 32)` is the exact sum of the
/// `lo` halves while it fits (see [`WORDS_PER_FOLD`]), and `lo + hi ≡ x`
/// modulo `2^32 - 1`, hence modulo `0xffff` (RFC 1071 §2(B)); the sum is
/// zero only if every word is. Both are plain sums, so the vectoriser
/// splits them into as many lanes as it likes: three instructions (add,
/// shift, add) per vector register of data.
#[inline(always)]
fn sum_words(data: &[u8]) -> u64 {
    let mut sum = 0u64;
    // Saturates on 32-bit targets, where no slice reaches the bound.
    for part in data.chunks(WORDS_PER_FOLD.saturating_mul(8)) {
        let mut words = CarryFree::default();
        for w in part.chunks_exact(8) {
            words.add(load(w, 0));
        }
        sum = add_carry(sum, words.sum());
    }
    sum
}

/// The carry-free accumulation of [`sum_words`]: at most
/// [`WORDS_PER_FOLD`] words before [`CarryFree::sum`].
#[derive(Default)]
struct CarryFree {
    /// The words' sum mod 2^64.
    total: u64,
    /// The exact sum of their high halves.
    high: u64,
}

impl CarryFree {
    #[inline(always)]
    fn add(&mut self, x: u64) {
        self.total = self.total.wrapping_add(x);
        self.high += x >> 32;
    }

    /// The one's-complement sum of the words added, unfolded.
    #[inline(always)]
    fn sum(self) -> u64 {
        // `<<` drops the bits above 2^64, as the wrapping adds did.
        let low = self.total.wrapping_sub(self.high << 32);
        add_carry(low, self.high)
    }
}

/// `dst.copy_from_slice(src)` and the one's-complement sum of `src`,
/// unfolded; `dst.len() == src.len()`.
#[inline(always)]
fn copy_sum_native(dst: &mut [u8], src: &[u8]) -> u64 {
    if src.len() < WIDE_MIN {
        dst.copy_from_slice(src);
        sum_short(dst)
    } else {
        copy_sum_wide(dst, src)
    }
}

/// [`copy_sum_generic`] in the widest vectors this CPU has.
#[inline(never)]
fn copy_sum_wide(dst: &mut [u8], src: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was detected at run time.
            return unsafe { copy_sum_avx512(dst, src) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected at run time.
            return unsafe { copy_sum_avx2(dst, src) };
        }
    }
    copy_sum_generic(dst, src)
}

/// [`copy_sum_generic`] with 256-bit vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn copy_sum_avx2(dst: &mut [u8], src: &[u8]) -> u64 {
    copy_sum_generic(dst, src)
}

/// [`copy_sum_generic`] with 512-bit vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn copy_sum_avx512(dst: &mut [u8], src: &[u8]) -> u64 {
    copy_sum_generic(dst, src)
}

/// The copying form of [`sum_words`] plus the tail: each 8-byte word is
/// loaded once, stored to `dst` and added to a [`CarryFree`] sum.
#[inline(always)]
fn copy_sum_generic(dst: &mut [u8], src: &[u8]) -> u64 {
    let n = dst.len().min(src.len());
    let words = n - n % 8;
    let mut sum = 0u64;
    let chunk = WORDS_PER_FOLD.saturating_mul(8);
    for (d, s) in dst[..words]
        .chunks_mut(chunk)
        .zip(src[..words].chunks(chunk))
    {
        let mut words = CarryFree::default();
        for (dw, sw) in d.chunks_exact_mut(8).zip(s.chunks_exact(8)) {
            let x = load(sw, 0);
            dw.copy_from_slice(&x.to_ne_bytes());
            words.add(x);
        }
        sum = add_carry(sum, words.sum());
    }
    if words < n {
        dst[words..n].copy_from_slice(&src[words..n]);
        sum = add_carry(sum, tail_word(&src[..n], n - words));
    }
    sum
}

/// One's-complement sum of a short slice without vectors, unfolded.
#[inline(always)]
fn sum_short(data: &[u8]) -> u64 {
    // Four independent accumulators keep four add-with-carry chains in
    // flight; each 64-byte block adds two words to each.
    let mut acc = [0u64; 4];
    let mut blocks = data.chunks_exact(64);
    for b in &mut blocks {
        acc[0] = add_carry(acc[0], load(b, 0));
        acc[1] = add_carry(acc[1], load(b, 8));
        acc[2] = add_carry(acc[2], load(b, 16));
        acc[3] = add_carry(acc[3], load(b, 24));
        acc[0] = add_carry(acc[0], load(b, 32));
        acc[1] = add_carry(acc[1], load(b, 40));
        acc[2] = add_carry(acc[2], load(b, 48));
        acc[3] = add_carry(acc[3], load(b, 56));
    }
    let sum = add_carry(add_carry(acc[0], acc[1]), add_carry(acc[2], acc[3]));
    sum_tiny(sum, blocks.remainder())
}

/// `sum` plus the one's-complement sum of `data`, a slice shorter than 64
/// bytes, unfolded.
#[inline(always)]
fn sum_tiny(mut sum: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        sum = add_carry(sum, load(w, 0));
    }
    let n = words.remainder().len();
    if n > 0 {
        sum = add_carry(sum, tail_word(data, n));
    }
    sum
}

/// The last `n` (`1..=7`) bytes of `data` as one native-order word, padded
/// with zeros after them, so that every byte keeps its place in its 16-bit
/// word: a lone last byte is the first byte of a word padded with zero
/// (RFC 9293 §3.1).
#[inline(always)]
fn tail_word(data: &[u8], n: usize) -> u64 {
    debug_assert!((1..8).contains(&n) && n <= data.len());
    let len = data.len();
    if len >= 8 {
        // One load of the last eight bytes, shifted so that only the last
        // `n` are left, where the first byte of a word sits. (A copy into a
        // zeroed buffer instead costs a memcpy call and a store-forwarding
        // stall.)
        let x = load(data, len - 8);
        let drop = 8 * (8 - n as u32);
        return if cfg!(target_endian = "little") {
            x >> drop
        } else {
            x << drop
        };
    }
    // Shorter than a word: 4-, 2- and 1-byte pieces, each at an even offset.
    let mut sum = 0u64;
    let mut rest = &data[len.saturating_sub(n)..];
    if let [a, b, c, d, more @ ..] = rest {
        sum += u64::from(u32::from_ne_bytes([*a, *b, *c, *d]));
        rest = more;
    }
    if let [a, b, more @ ..] = rest {
        sum += u64::from(u16::from_ne_bytes([*a, *b]));
        rest = more;
    }
    if let [a] = rest {
        sum += u64::from(u16::from_ne_bytes([*a, 0]));
    }
    sum
}

/// The TCP checksum of `segment` (header and data) under `ph`, in host
/// order (RFC 9293 §3.1, RFC 1071). The checksum field itself (bytes 16
/// and 17) is treated as zero whatever it holds, so the result can be
/// written straight into it.
pub fn tcp_checksum(ph: &PseudoHeader, segment: &[u8]) -> u16 {
    let mut c = ph.checksum(segment.len());
    if segment.len() >= 18 {
        c.add_bytes(&segment[..16]);
        c.add_bytes(&segment[18..]);
    } else {
        c.add_bytes(segment);
    }
    c.finish()
}

/// True if the checksum field of `segment` verifies under `ph`: the sum over
/// pseudo-header, header (checksum field included) and data is all ones
/// (RFC 1071 §1). A segment shorter than a TCP header never verifies.
pub fn verify_checksum(ph: &PseudoHeader, segment: &[u8]) -> bool {
    if segment.len() < 20 {
        return false;
    }
    let mut c = ph.checksum(segment.len());
    c.add_bytes(segment);
    c.sum() == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 §3, "Numerical Examples": the bytes 00 01 f2 03 f4 f5 f6 f7
    /// sum to ddf2.
    #[test]
    fn rfc1071_numerical_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        let mut c = Checksum::new();
        c.add_bytes(&data);
        assert_eq!(c.sum(), 0xddf2);
        assert_eq!(c.finish(), 0x220d);
        // Byte by byte, crossing the odd boundary every time.
        let mut c = Checksum::new();
        for b in data {
            c.add_bytes(&[b]);
        }
        assert_eq!(c.sum(), 0xddf2);
    }

    #[test]
    fn fold_handles_all_ones_and_carries() {
        assert_eq!(fold(u64::MAX), 0xffff);
        assert_eq!(fold(0), 0);
        assert_eq!(fold(0x0001_0000_0000_ffff), 0x0001); // 1 + ffff = 1 0000 -> 0001
        assert_eq!(fold(0xffff_0000_0000_0001), 0x0001); // ffff + 1 wraps to 1
        assert_eq!(add_carry(u64::MAX, 1), 1);
    }

    /// RFC 1071 the obvious way: the stream as big-endian 16-bit words (an
    /// odd last byte padded with zero), summed with end-around carry.
    fn reference_sum(data: &[u8]) -> u16 {
        let mut sum: u64 = 0;
        for pair in data.chunks(2) {
            let low = pair.get(1).copied().unwrap_or(0);
            sum += u64::from(u16::from_be_bytes([pair[0], low]));
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    /// A summing body, as the tests call it.
    type Body = fn(&[u8]) -> u64;

    /// Every body that `sum_native` can pick on this machine, by name.
    fn bodies() -> Vec<(&'static str, Body)> {
        let mut v: Vec<(&'static str, Body)> = vec![
            ("native", sum_native),
            ("short", sum_short),
            ("portable", sum_portable),
        ];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                v.push(("avx2", |d| {
                    // SAFETY: AVX2 was detected above.
                    unsafe { sum_avx2(d) }
                }));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                v.push(("avx512", |d| {
                    // SAFETY: AVX-512F was detected above.
                    unsafe { sum_avx512(d) }
                }));
            }
        }
        v
    }

    /// Test data: `kind` 0 is pseudo-random from `seed`, 1 all ones (the
    /// most carries: every lane and `high` as large as they get), 2 zeros
    /// (a zero sum must stay zero, not become ffff), 3 ones with a few
    /// random bytes.
    fn test_bytes(len: usize, seed: u64, kind: u8) -> Vec<u8> {
        let mut x = seed | 1;
        let mut next = move || {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..len)
            .map(|_| match kind % 4 {
                0 => next() as u8,
                1 => 0xff,
                2 => 0,
                _ if next() % 16 == 0 => next() as u8,
                _ => 0xff,
            })
            .collect()
    }

    /// Every body against the reference for each length up to past the
    /// thresholds, at every alignment modulo 64.
    #[test]
    fn every_body_matches_reference_across_lengths_and_alignments() {
        let lens = (0..=300)
            .chain(WIDE_MIN - 9..=WIDE_MIN + 9)
            .chain(ALIGN_MIN - 9..=ALIGN_MIN + 73);
        for kind in 0..4 {
            let buf = test_bytes(ALIGN_MIN + 200, 0x9e37_79b9_7f4a_7c15, kind);
            for len in lens.clone() {
                for offset in 0..64 {
                    let data = &buf[offset..offset + len];
                    let want = reference_sum(data);
                    for (name, body) in bodies() {
                        let got = u16::from_be(fold(body(data)));
                        assert_eq!(got, want, "{name}, kind {kind}, len {len}, offset {offset}");
                    }
                }
            }
        }
    }

    #[test]
    fn odd_tail_is_padded_with_zero_low_byte() {
        // One byte 0xab is the word ab00 (RFC 9293 §3.1 padding).
        let mut c = Checksum::new();
        c.add_bytes(&[0xab]);
        assert_eq!(c.sum(), 0xab00);
        c.add_bytes(&[0xcd]);
        assert_eq!(c.sum(), 0xabcd);
    }

    #[test]
    fn add_word_sum_equals_adding_the_bytes() {
        let words: [u16; 5] = [0xffff, 0x0001, 0xabcd, 0x8000, 0x7fff];
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        let mut by_bytes = Checksum::new();
        by_bytes.add_bytes(&[0x12, 0x34]);
        by_bytes.add_bytes(&bytes);
        let mut by_words = Checksum::new();
        by_words.add_bytes(&[0x12, 0x34]);
        by_words.add_word_sum(words.iter().map(|&w| u64::from(w)).sum());
        assert_eq!(by_words.sum(), by_bytes.sum());
        assert_eq!(
            by_words.sum(),
            reference_sum(&[&[0x12, 0x34][..], &bytes].concat())
        );
    }

    /// The copying bodies: each copies exactly and sums as the reference,
    /// for every length around the thresholds and each alignment of source
    /// and destination.
    #[test]
    fn every_copying_body_copies_and_matches_reference() {
        let lens = (0..=80)
            .chain(WIDE_MIN - 9..=WIDE_MIN + 9)
            .chain([1460, 1461, 4095]);
        let buf = test_bytes(4096 + 64, 0x2545_f491_4f6c_dd1d, 3);
        type CopyBody = fn(&mut [u8], &[u8]) -> u64;
        let mut copying: Vec<(&str, CopyBody)> =
            vec![("native", copy_sum_native), ("generic", copy_sum_generic)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 was detected at run time.
                copying.push(("avx2", |d, s| unsafe { copy_sum_avx2(d, s) }));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F was detected at run time.
                copying.push(("avx512", |d, s| unsafe { copy_sum_avx512(d, s) }));
            }
        }
        for len in lens {
            for (src_off, dst_off) in [(0, 0), (1, 0), (0, 3), (5, 7), (63, 1)] {
                let src = &buf[src_off..src_off + len];
                for (name, body) in &copying {
                    let mut out = vec![0xa5u8; len + 80];
                    let got = body(&mut out[dst_off..dst_off + len], src);
                    assert_eq!(&out[dst_off..dst_off + len], src, "{name} copy, len {len}");
                    assert!(
                        out[..dst_off].iter().all(|&b| b == 0xa5),
                        "{name} wrote before"
                    );
                    assert!(
                        out[dst_off + len..].iter().all(|&b| b == 0xa5),
                        "{name} wrote after"
                    );
                    assert_eq!(
                        u16::from_be(fold(got)),
                        reference_sum(src),
                        "{name} sum, len {len}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// `add_copied` after an even or odd prefix copies the bytes and sums
        /// as `add_bytes` over the same stream.
        #[test]
        fn add_copied_matches_add_bytes_after_any_prefix(
            prefix in 0usize..9,
            len in 0usize..5000,
            seed: u64,
        ) {
            let src = test_bytes(prefix + len, seed, 3);
            let mut plain = Checksum::new();
            plain.add_bytes(&src);
            let mut copied = Checksum::new();
            copied.add_bytes(&src[..prefix]);
            let mut dst = vec![0u8; len];
            copied.add_copied(&mut dst, &src[prefix..]);
            proptest::prop_assert_eq!(&dst[..], &src[prefix..]);
            proptest::prop_assert_eq!(copied.sum(), plain.sum());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// `add_bytes` over random splits (odd offsets included) of random
        /// data, and every body on the whole slice at a random alignment,
        /// agree with the reference.
        #[test]
        fn checksum_matches_reference_for_random_splits_and_alignments(
            len in 0usize..70_000,
            seed: u64,
            kind in 0u8..4,
            offset in 0usize..64,
            cuts in proptest::collection::vec(0usize..70_000, 0..6),
        ) {
            let buf = test_bytes(offset + len, seed, kind);
            let data = &buf[offset..];
            let want = reference_sum(data);
            for (name, body) in bodies() {
                proptest::prop_assert_eq!(u16::from_be(fold(body(data))), want, "{}", name);
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (len + 1)).collect();
            cuts.sort_unstable();
            let mut c = Checksum::new();
            let mut at = 0;
            for cut in cuts.into_iter().chain([len]) {
                c.add_bytes(&data[at..cut]);
                at = cut;
            }
            proptest::prop_assert_eq!(c.sum(), want);
        }
    }
}

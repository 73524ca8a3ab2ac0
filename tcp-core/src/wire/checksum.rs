//! The Internet checksum (RFC 1071) over the TCP pseudo-header and segment
//! (RFC 9293 §3.1; RFC 8200 §8.1 for IPv6).
//!
//! The one's-complement sum does not depend on byte order (RFC 1071 §2(B)),
//! so the data is loaded in native order eight bytes at a time into `u64`
//! accumulators with end-around carry; the result is folded to 16 bits and
//! converted to network order once, at the end. A slice that starts at an
//! odd offset of the summed stream contributes its sum byte-swapped
//! (RFC 1071 §2(B) again), which lets [`Checksum`] take slices of any length.

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
    #[inline]
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

/// One's-complement sum of `data` as native-order 16-bit words (the last
/// byte of an odd-length slice padded with zero, RFC 9293 §3.1), unfolded.
#[inline]
fn sum_native(data: &[u8]) -> u64 {
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
    let mut sum = add_carry(add_carry(acc[0], acc[1]), add_carry(acc[2], acc[3]));
    let mut words = blocks.remainder().chunks_exact(8);
    for w in &mut words {
        sum = add_carry(sum, load(w, 0));
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        // Zero-padded in place, so every byte keeps its position in its
        // 16-bit word.
        let mut w = [0u8; 8];
        w[..tail.len()].copy_from_slice(tail);
        sum = add_carry(sum, u64::from_ne_bytes(w));
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

    #[test]
    fn odd_tail_is_padded_with_zero_low_byte() {
        // One byte 0xab is the word ab00 (RFC 9293 §3.1 padding).
        let mut c = Checksum::new();
        c.add_bytes(&[0xab]);
        assert_eq!(c.sum(), 0xab00);
        c.add_bytes(&[0xcd]);
        assert_eq!(c.sum(), 0xabcd);
    }
}

//! The TCP header (RFC 9293 §3.1): parse from bytes, emit into a buffer.

use super::{word_pair, Flags, PseudoHeader, TcpOptions, WireError, MAX_OPTIONS_LEN};
use crate::seq::SeqNum;

/// Length of a header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// Length of a header with the most options (data offset 15).
pub const MAX_HEADER_LEN: usize = MIN_HEADER_LEN + MAX_OPTIONS_LEN;

/// A TCP header, decoded. The checksum is not kept: it is checked against
/// the raw bytes ([`super::verify_checksum`]) and computed on emit. The
/// reserved bits are ignored on parse and sent as zero (RFC 9293 §3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNum,
    /// Acknowledgment number (meaningful when ACK is set).
    pub ack: SeqNum,
    /// Control bits.
    pub flags: Flags,
    /// Window, unscaled as on the wire.
    pub window: u16,
    /// Urgent pointer (meaningful when URG is set).
    pub urgent: u16,
    /// Options.
    pub options: TcpOptions,
}

impl TcpHeader {
    /// Bytes this header takes when emitted (see [`header_len`]).
    #[inline]
    pub fn encoded_len(&self) -> usize {
        header_len(&self.options)
    }
}

/// A parsed segment: the header and the data, borrowed from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    /// The header.
    pub header: TcpHeader,
    /// The data (text) of the segment.
    pub payload: &'a [u8],
}

impl Segment<'_> {
    /// SEG.LEN: octets of sequence space the segment occupies, data plus one
    /// for SYN plus one for FIN (RFC 9293 §3.4).
    #[inline]
    pub fn seg_len(&self) -> u32 {
        let flags = self.header.flags;
        // A segment is at most 65535 bytes when it comes from a slice
        // of an IP packet; saturating keeps oversized test inputs sane.
        let data = u32::try_from(self.payload.len()).unwrap_or(u32::MAX);
        data.saturating_add(u32::from(flags.contains(Flags::SYN)))
            .saturating_add(u32::from(flags.contains(Flags::FIN)))
    }
}

/// Bytes a header with these options takes: 20 plus the options, padded to
/// a multiple of 4 (RFC 9293 §3.1, "Data Offset"). May exceed
/// [`MAX_HEADER_LEN`], which [`emit_segment`] then rejects.
#[inline]
pub fn header_len(options: &TcpOptions) -> usize {
    MIN_HEADER_LEN + options.encoded_len()
}

/// Parses a TCP segment (header, options and data). Does not check the
/// checksum; see [`super::verify_checksum`]. Never panics.
pub fn parse_segment(bytes: &[u8]) -> Result<Segment<'_>, WireError> {
    // RFC 9293 §3.1: the fixed part of the header is 20 bytes.
    let Some(h) = bytes.first_chunk::<MIN_HEADER_LEN>() else {
        return Err(WireError::Truncated {
            needed: MIN_HEADER_LEN,
            available: bytes.len(),
        });
    };
    // RFC 9293 §3.1 "Data Offset": header length in 32-bit words, at least 5.
    let data_offset = h[12] >> 4;
    let hlen = usize::from(data_offset) * 4;
    if hlen < MIN_HEADER_LEN || hlen > bytes.len() {
        return Err(WireError::BadDataOffset {
            data_offset,
            segment_len: bytes.len(),
        });
    }
    // Most segments of a transfer carry no options: no parse to run.
    let options = if hlen == MIN_HEADER_LEN {
        TcpOptions::default()
    } else {
        TcpOptions::parse(&bytes[MIN_HEADER_LEN..hlen], MIN_HEADER_LEN)?
    };
    let header = TcpHeader {
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        seq: SeqNum(u32::from_be_bytes([h[4], h[5], h[6], h[7]])),
        ack: SeqNum(u32::from_be_bytes([h[8], h[9], h[10], h[11]])),
        flags: Flags(h[13]),
        window: u16::from_be_bytes([h[14], h[15]]),
        urgent: u16::from_be_bytes([h[18], h[19]]),
        options,
    };
    Ok(Segment {
        header,
        payload: &bytes[hlen..],
    })
}

/// Emits `header` and `payload` into `out` with the checksum for `ph`
/// (RFC 9293 §3.1). Returns the bytes written, header plus payload.
pub fn emit_segment(
    header: &TcpHeader,
    payload: &[u8],
    ph: &PseudoHeader,
    out: &mut [u8],
) -> Result<usize, WireError> {
    emit_segment_parts(header, (payload, &[]), ph, out)
}

/// Like [`emit_segment`], with the payload given as two slices that are
/// sent back to back (the two halves a ring buffer hands out).
pub fn emit_segment_parts(
    header: &TcpHeader,
    payload: (&[u8], &[u8]),
    ph: &PseudoHeader,
    out: &mut [u8],
) -> Result<usize, WireError> {
    let (first, second) = payload;
    let opt_len = header.options.encoded_len();
    if opt_len > MAX_OPTIONS_LEN {
        return Err(WireError::OptionsTooLong { len: opt_len });
    }
    let hlen = MIN_HEADER_LEN + opt_len;
    let total = hlen + first.len() + second.len();
    if total > ph.max_segment_len() {
        return Err(WireError::TooLong {
            len: total,
            max: ph.max_segment_len(),
        });
    }
    let available = out.len();
    let Some(out) = out.get_mut(..total) else {
        return Err(WireError::BufferTooSmall {
            needed: total,
            available,
        });
    };
    let (head, data) = out.split_at_mut(hlen);
    write_fixed_header(header, hlen, head);
    header.options.write(&mut head[MIN_HEADER_LEN..]);
    // RFC 9293 §3.1: checksum over pseudo-header, header (checksum field
    // zero, as written above) and data; the fixed header is summed from its
    // fields, the options from their bytes, the data as it is copied.
    let mut c = ph.checksum(total);
    c.add_word_sum(fixed_header_word_sum(header, hlen));
    c.add_bytes(&head[MIN_HEADER_LEN..]);
    let (d1, d2) = data.split_at_mut(first.len());
    c.add_copied(d1, first);
    c.add_copied(d2, second);
    out[16..18].copy_from_slice(&c.finish().to_be_bytes());
    Ok(total)
}

/// The ten 16-bit words of the fixed header [`write_fixed_header`] writes
/// (checksum zero), summed as integers: what those 20 bytes add to the
/// checksum (RFC 9293 §3.1).
#[inline]
fn fixed_header_word_sum(header: &TcpHeader, hlen: usize) -> u64 {
    let word = |v: u16| u64::from(v);
    // Data offset in the high nibble, reserved bits zero, then the flags.
    let offset_flags = (((hlen / 4) as u16) << 12) | u16::from(header.flags.0);
    word(header.src_port)
        + word(header.dst_port)
        + word_pair(header.seq.0)
        + word_pair(header.ack.0)
        + word(offset_flags)
        + word(header.window)
        + word(header.urgent)
}

/// The fixed 20 bytes, checksum zero. `head` is at least 20 bytes.
#[inline]
fn write_fixed_header(header: &TcpHeader, hlen: usize, head: &mut [u8]) {
    let sp = header.src_port.to_be_bytes();
    let dp = header.dst_port.to_be_bytes();
    let seq = header.seq.0.to_be_bytes();
    let ack = header.ack.0.to_be_bytes();
    let win = header.window.to_be_bytes();
    let urg = header.urgent.to_be_bytes();
    // hlen <= 60, so the data offset fits the high nibble.
    let data_offset = ((hlen / 4) as u8) << 4;
    let fixed: [u8; MIN_HEADER_LEN] = [
        sp[0],
        sp[1],
        dp[0],
        dp[1],
        seq[0],
        seq[1],
        seq[2],
        seq[3],
        ack[0],
        ack[1],
        ack[2],
        ack[3],
        data_offset,
        header.flags.0,
        win[0],
        win[1],
        0,
        0,
        urg[0],
        urg[1],
    ];
    head[..MIN_HEADER_LEN].copy_from_slice(&fixed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn seg_len_counts_syn_and_fin() {
        let mut seg = Segment {
            header: TcpHeader::default(),
            payload: b"abc",
        };
        assert_eq!(seg.seg_len(), 3);
        seg.header.flags = Flags::SYN | Flags::ACK;
        assert_eq!(seg.seg_len(), 4);
        seg.header.flags = Flags::SYN | Flags::FIN;
        assert_eq!(seg.seg_len(), 5);
        seg.payload = &[];
        seg.header.flags = Flags::FIN | Flags::ACK;
        assert_eq!(seg.seg_len(), 1);
    }

    #[test]
    fn emit_then_parse_minimal_header() {
        let ph = PseudoHeader::v4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let h = TcpHeader {
            src_port: 1234,
            dst_port: 80,
            seq: SeqNum(u32::MAX),
            ack: SeqNum(7),
            flags: Flags::ACK | Flags::PSH,
            window: 65535,
            urgent: 0,
            options: TcpOptions::default(),
        };
        let mut buf = [0u8; 64];
        let n = emit_segment(&h, b"hello", &ph, &mut buf).unwrap();
        assert_eq!(n, 25);
        assert_eq!(buf[12], 5 << 4);
        let seg = parse_segment(&buf[..n]).unwrap();
        assert_eq!(seg.header, h);
        assert_eq!(seg.payload, b"hello");
        assert!(super::super::verify_checksum(&ph, &buf[..n]));
    }
}

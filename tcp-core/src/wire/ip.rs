//! Minimal IP framing for TCP: IPv4 (RFC 791) without options or
//! fragmentation on emit, IPv6 (RFC 8200) without extension headers.
//!
//! Enough to talk to a TUN device or write a pcap file; not a router.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{
    emit_segment_parts, parse_segment, verify_checksum, word_pair, Checksum, PseudoHeader, Segment,
    TcpHeader, WireError,
};

/// IP protocol number of TCP (IANA "Assigned Internet Protocol Numbers").
pub const PROTO_TCP: u8 = 6;
/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// TTL / hop limit of emitted packets (RFC 1122 §3.2.1.7 recommends 64 as
/// IANA's default).
pub const DEFAULT_TTL: u8 = 64;

/// IPv6 Next Header values that name extension headers (RFC 8200 §4 and
/// the IANA "IPv6 Extension Header Types" registry): Hop-by-Hop, Routing,
/// Fragment, ESP, AH, Destination Options, Mobility, HIP, Shim6, and the
/// two experimental values.
const IPV6_EXTENSION_HEADERS: [u8; 11] = [0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254];

/// A parsed IP packet: addresses and protocol from the header, the payload
/// borrowed from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPacket<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address (same version as `src`).
    pub dst: IpAddr,
    /// IPv4 Protocol / IPv6 Next Header.
    pub protocol: u8,
    /// IPv4 Time to Live / IPv6 Hop Limit.
    pub ttl: u8,
    /// The ECN field, the low two bits of the IPv4 TOS / IPv6 Traffic Class
    /// (RFC 3168 §5).
    pub ecn: u8,
    /// The payload: from the end of the IP header to the length the header
    /// states (trailing link-layer padding is not included).
    pub payload: &'a [u8],
}

impl IpPacket<'_> {
    /// The TCP pseudo-header for this packet's addresses.
    pub fn pseudo_header(&self) -> PseudoHeader {
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => PseudoHeader::v4(s, d),
            (IpAddr::V6(s), IpAddr::V6(d)) => PseudoHeader::v6(s, d),
            // parse_ip_packet builds both addresses from one header, so
            // their versions agree; map a hand-built mixed pair into v6.
            (s, d) => PseudoHeader::v6(to_v6(s), to_v6(d)),
        }
    }
}

fn to_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Parses an IPv4 or IPv6 packet, by its version nibble. Validates the
/// header (see [`WireError`] for what is rejected) but not the payload.
/// Never panics.
pub fn parse_ip_packet(bytes: &[u8]) -> Result<IpPacket<'_>, WireError> {
    let Some(&first) = bytes.first() else {
        return Err(WireError::Truncated {
            needed: IPV4_HEADER_LEN,
            available: 0,
        });
    };
    match first >> 4 {
        4 => parse_ipv4(bytes),
        6 => parse_ipv6(bytes),
        v => Err(WireError::BadIpVersion(v)),
    }
}

/// RFC 791 §3.1.
fn parse_ipv4(bytes: &[u8]) -> Result<IpPacket<'_>, WireError> {
    let Some(h) = bytes.first_chunk::<IPV4_HEADER_LEN>() else {
        return Err(WireError::Truncated {
            needed: IPV4_HEADER_LEN,
            available: bytes.len(),
        });
    };
    // IHL: header length in 32-bit words, at least 5; options are skipped.
    let ihl = h[0] & 0x0f;
    let hlen = usize::from(ihl) * 4;
    if hlen < IPV4_HEADER_LEN || hlen > bytes.len() {
        return Err(WireError::BadIhl {
            ihl,
            packet_len: bytes.len(),
        });
    }
    // Total Length covers header and data; bytes past it are link padding.
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if total < hlen || total > bytes.len() {
        return Err(WireError::BadIpLength {
            claimed: total,
            header_len: hlen,
            available: bytes.len(),
        });
    }
    // Header Checksum: the one's-complement sum of the header is all ones.
    let mut c = Checksum::new();
    c.add_bytes(&bytes[..hlen]);
    if c.sum() != 0xffff {
        return Err(WireError::BadIpChecksum);
    }
    // Flags and Fragment Offset: a fragment needs reassembly, unsupported.
    let frag = u16::from_be_bytes([h[6], h[7]]);
    let more = frag & 0x2000 != 0;
    let offset = frag & 0x1fff;
    if more || offset != 0 {
        return Err(WireError::Fragmented { offset, more });
    }
    Ok(IpPacket {
        src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
        dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
        protocol: h[9],
        ttl: h[8],
        ecn: h[1] & 0x03,
        payload: &bytes[hlen..total],
    })
}

/// RFC 8200 §3.
fn parse_ipv6(bytes: &[u8]) -> Result<IpPacket<'_>, WireError> {
    let Some(h) = bytes.first_chunk::<IPV6_HEADER_LEN>() else {
        return Err(WireError::Truncated {
            needed: IPV6_HEADER_LEN,
            available: bytes.len(),
        });
    };
    // Payload Length: everything after the fixed header.
    let total = IPV6_HEADER_LEN + usize::from(u16::from_be_bytes([h[4], h[5]]));
    if total > bytes.len() {
        return Err(WireError::BadIpLength {
            claimed: total,
            header_len: IPV6_HEADER_LEN,
            available: bytes.len(),
        });
    }
    let next_header = h[6];
    // RFC 8200 §4: extension headers are not supported here.
    if IPV6_EXTENSION_HEADERS.contains(&next_header) {
        return Err(WireError::Ipv6ExtensionHeader { next_header });
    }
    let traffic_class = (h[0] << 4) | (h[1] >> 4);
    let mut src = [0u8; 16];
    src.copy_from_slice(&h[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&h[24..40]);
    Ok(IpPacket {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        protocol: next_header,
        ttl: h[7],
        ecn: traffic_class & 0x03,
        payload: &bytes[IPV6_HEADER_LEN..total],
    })
}

/// Length of the header [`emit_ip_header`] writes for `addr`'s version.
pub fn ip_header_len(addr: IpAddr) -> usize {
    match addr {
        IpAddr::V4(_) => IPV4_HEADER_LEN,
        IpAddr::V6(_) => IPV6_HEADER_LEN,
    }
}

/// Writes an IP header for a TCP payload of `payload_len` bytes into the
/// start of `out`: IPv4 with DF set, TTL 64, identification 0 (RFC 6864
/// §4.1 allows any value for atomic datagrams) and the header checksum; or
/// IPv6 with hop limit 64, traffic class and flow label 0. Returns the
/// header length.
pub fn emit_ip_header(
    src: IpAddr,
    dst: IpAddr,
    payload_len: usize,
    out: &mut [u8],
) -> Result<usize, WireError> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => emit_ipv4_header(s, d, payload_len, out),
        (IpAddr::V6(s), IpAddr::V6(d)) => emit_ipv6_header(s, d, payload_len, out),
        _ => Err(WireError::AddressFamilyMismatch),
    }
}

/// RFC 791 §3.1.
fn emit_ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload_len: usize,
    out: &mut [u8],
) -> Result<usize, WireError> {
    let total = IPV4_HEADER_LEN + payload_len;
    let Ok(total16) = u16::try_from(total) else {
        return Err(WireError::TooLong {
            len: total,
            max: usize::from(u16::MAX),
        });
    };
    let available = out.len();
    let Some(h) = out.first_chunk_mut::<IPV4_HEADER_LEN>() else {
        return Err(WireError::BufferTooSmall {
            needed: IPV4_HEADER_LEN,
            available,
        });
    };
    let t = total16.to_be_bytes();
    let s = src.octets();
    let d = dst.octets();
    *h = [
        0x45, // version 4, IHL 5
        0,    // TOS: DSCP 0, Not-ECT
        t[0],
        t[1],
        0, // identification
        0,
        0x40, // flags: DF (RFC 791 §3.1 bit 1), fragment offset 0
        0,
        DEFAULT_TTL,
        PROTO_TCP,
        0, // header checksum, filled below
        0,
        s[0],
        s[1],
        s[2],
        s[3],
        d[0],
        d[1],
        d[2],
        d[3],
    ];
    // RFC 791 §3.1 Header Checksum over the ten words just written, summed
    // from the values they were written from (reading the bytes back right
    // after storing them stalls on store forwarding).
    let mut c = Checksum::new();
    c.add_word_sum(
        0x4500
            + u64::from(total16)
            + 0x4000
            + (u64::from(DEFAULT_TTL) << 8 | u64::from(PROTO_TCP))
            + word_pair(u32::from(src))
            + word_pair(u32::from(dst)),
    );
    h[10..12].copy_from_slice(&c.finish().to_be_bytes());
    Ok(IPV4_HEADER_LEN)
}

/// RFC 8200 §3.
fn emit_ipv6_header(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    payload_len: usize,
    out: &mut [u8],
) -> Result<usize, WireError> {
    let Ok(len16) = u16::try_from(payload_len) else {
        return Err(WireError::TooLong {
            len: payload_len,
            max: usize::from(u16::MAX),
        });
    };
    let available = out.len();
    let Some(h) = out.first_chunk_mut::<IPV6_HEADER_LEN>() else {
        return Err(WireError::BufferTooSmall {
            needed: IPV6_HEADER_LEN,
            available,
        });
    };
    let l = len16.to_be_bytes();
    // Version 6, traffic class 0, flow label 0.
    h[..8].copy_from_slice(&[0x60, 0, 0, 0, l[0], l[1], PROTO_TCP, DEFAULT_TTL]);
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
    Ok(IPV6_HEADER_LEN)
}

/// Emits a whole IP packet carrying one TCP segment. The ports come from
/// `src` and `dst` (they override `header.src_port`/`dst_port`); the TCP
/// checksum covers the matching pseudo-header. Returns the packet length.
pub fn emit_ip_tcp(
    src: SocketAddr,
    dst: SocketAddr,
    header: &TcpHeader,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, WireError> {
    emit_ip_tcp_parts(src, dst, header, (payload, &[]), out)
}

/// [`emit_ip_tcp`] with the payload in two slices.
pub fn emit_ip_tcp_parts(
    src: SocketAddr,
    dst: SocketAddr,
    header: &TcpHeader,
    payload: (&[u8], &[u8]),
    out: &mut [u8],
) -> Result<usize, WireError> {
    let ph = PseudoHeader::new(src.ip(), dst.ip())?;
    let mut h = *header;
    h.src_port = src.port();
    h.dst_port = dst.port();
    let ip_len = ip_header_len(src.ip());
    let tcp_len = h.encoded_len() + payload.0.len() + payload.1.len();
    // The IPv4 Total Length includes the IP header (RFC 791 §3.1); check it
    // before writing anything.
    let max_tcp = match src {
        SocketAddr::V4(_) => usize::from(u16::MAX) - IPV4_HEADER_LEN,
        SocketAddr::V6(_) => usize::from(u16::MAX),
    };
    if tcp_len > max_tcp {
        return Err(WireError::TooLong {
            len: tcp_len,
            max: max_tcp,
        });
    }
    let needed = ip_len + tcp_len;
    if out.len() < needed {
        return Err(WireError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    let (ip_out, tcp_out) = out.split_at_mut(ip_len);
    let n = emit_segment_parts(&h, payload, &ph, tcp_out)?;
    emit_ip_header(src.ip(), dst.ip(), n, ip_out)?;
    Ok(ip_len + n)
}

/// Parses an IP packet that must carry TCP, checks the TCP checksum and
/// parses the segment. What a TUN-facing endpoint calls per packet.
pub fn parse_ip_tcp(bytes: &[u8]) -> Result<(IpPacket<'_>, Segment<'_>), WireError> {
    let packet = parse_ip_packet(bytes)?;
    if packet.protocol != PROTO_TCP {
        return Err(WireError::NotTcp {
            protocol: packet.protocol,
        });
    }
    let segment = parse_segment(packet.payload)?;
    // RFC 9293 §3.10.7 / §3.1: a segment whose checksum fails is dropped.
    if !verify_checksum(&packet.pseudo_header(), packet.payload) {
        return Err(WireError::BadTcpChecksum);
    }
    Ok((packet, segment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq::SeqNum;
    use crate::wire::Flags;

    #[test]
    fn ipv4_header_known_fields_and_checksum() {
        let mut out = [0u8; 20];
        let n = emit_ip_header(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
            20,
            &mut out,
        )
        .unwrap();
        assert_eq!(n, 20);
        assert_eq!(out[..4], [0x45, 0, 0, 40]);
        assert_eq!(out[6], 0x40);
        assert_eq!(out[8], 64);
        assert_eq!(out[9], 6);
        // Hand sum of the 16-bit words with the checksum zero:
        // 4500 + 0028 + 0000 + 4000 + 4006 + c000 + 0201 + c633 + 6407
        // = 0x2_b169 -> b169 + 2 = b16b; checksum = !b16b = 4e94.
        assert_eq!(out[10..12], [0x4e, 0x94]);
    }

    #[test]
    fn emit_ip_tcp_takes_ports_from_socket_addrs() {
        let h = TcpHeader {
            src_port: 1,
            dst_port: 2,
            seq: SeqNum(100),
            flags: Flags::SYN,
            window: 1000,
            ..TcpHeader::default()
        };
        let src: SocketAddr = "[2001:db8::1]:4000".parse().unwrap();
        let dst: SocketAddr = "[2001:db8::2]:80".parse().unwrap();
        let mut out = [0u8; 100];
        let n = emit_ip_tcp(src, dst, &h, b"xy", &mut out).unwrap();
        assert_eq!(n, 40 + 20 + 2);
        let (ip, seg) = parse_ip_tcp(&out[..n]).unwrap();
        assert_eq!(ip.src, src.ip());
        assert_eq!(ip.dst, dst.ip());
        assert_eq!(seg.header.src_port, 4000);
        assert_eq!(seg.header.dst_port, 80);
        assert_eq!(seg.payload, b"xy");
    }
}

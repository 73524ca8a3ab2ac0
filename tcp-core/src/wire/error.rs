//! Errors of the wire layer: parsing and emitting TCP segments and IP packets.

/// Why a segment or packet could not be parsed or emitted.
///
/// Offsets and lengths are in bytes; offsets of TCP options count from the
/// first byte of the TCP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The input is shorter than the fixed header it must start with.
    #[error("truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the fixed header needs.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The TCP data offset is below 5 words or points past the end of the
    /// segment (RFC 9293 §3.1, "Data Offset").
    #[error("TCP data offset {data_offset} is invalid for a {segment_len}-byte segment")]
    BadDataOffset {
        /// The 4-bit data offset field, in 32-bit words.
        data_offset: u8,
        /// Length of the segment that was parsed.
        segment_len: usize,
    },
    /// A TCP option's length octet is below 2, or is wrong for its kind
    /// (RFC 9293 §3.2, RFC 7323 §2.2/§3.2, RFC 2018 §2/§3).
    #[error("TCP option kind {kind} has invalid length {len}")]
    BadOptionLength {
        /// Option kind.
        kind: u8,
        /// The option's length octet.
        len: u8,
    },
    /// A TCP option (or its length octet) runs past the end of the header.
    #[error("TCP option kind {kind} at offset {offset} runs past the end of the header")]
    OptionPastHeader {
        /// Option kind.
        kind: u8,
        /// Offset of the option's kind octet.
        offset: usize,
    },
    /// The options to emit need more than the 40 bytes a header can hold.
    #[error("TCP options need {len} bytes, at most 40 fit in a header")]
    OptionsTooLong {
        /// Bytes the options would take.
        len: usize,
    },
    /// The segment or packet to emit is longer than its length field allows.
    #[error("{len} bytes is longer than the maximum of {max}")]
    TooLong {
        /// Length that was asked for.
        len: usize,
        /// Largest length the format allows.
        max: usize,
    },
    /// The output buffer is too small for what was to be written.
    #[error("output buffer too small: {needed} bytes needed, {available} available")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes in the buffer.
        available: usize,
    },
    /// The IP version nibble is neither 4 nor 6.
    #[error("unsupported IP version {0}")]
    BadIpVersion(u8),
    /// The IPv4 IHL is below 5 words or points past the end of the packet
    /// (RFC 791 §3.1).
    #[error("IPv4 IHL {ihl} is invalid for a {packet_len}-byte packet")]
    BadIhl {
        /// The 4-bit IHL field, in 32-bit words.
        ihl: u8,
        /// Bytes present.
        packet_len: usize,
    },
    /// The IP length field disagrees with the header or the bytes present
    /// (RFC 791 §3.1 "Total Length", RFC 8200 §3 "Payload Length").
    #[error(
        "IP length field says {claimed} bytes; header needs {header_len}, {available} present"
    )]
    BadIpLength {
        /// Packet length the header claims (for IPv6: 40 + payload length).
        claimed: usize,
        /// Length of the IP header.
        header_len: usize,
        /// Bytes present.
        available: usize,
    },
    /// The IPv4 header checksum does not verify (RFC 791 §3.1).
    #[error("IPv4 header checksum does not verify")]
    BadIpChecksum,
    /// The IPv4 packet is a fragment; reassembly is not supported.
    #[error("IPv4 fragment (offset {offset} words, more fragments {more}) not supported")]
    Fragmented {
        /// Fragment offset, in 8-byte units.
        offset: u16,
        /// The MF flag.
        more: bool,
    },
    /// The IPv6 packet carries an extension header, which is not supported
    /// (RFC 8200 §4).
    #[error("IPv6 extension header {next_header} not supported")]
    Ipv6ExtensionHeader {
        /// The Next Header value naming the extension header.
        next_header: u8,
    },
    /// Source and destination addresses are of different IP versions.
    #[error("source and destination addresses are of different IP versions")]
    AddressFamilyMismatch,
    /// The IP packet does not carry TCP.
    #[error("IP protocol {protocol} is not TCP")]
    NotTcp {
        /// The IPv4 protocol or IPv6 next header field.
        protocol: u8,
    },
    /// The TCP checksum does not verify (RFC 9293 §3.1).
    #[error("TCP checksum does not verify")]
    BadTcpChecksum,
}

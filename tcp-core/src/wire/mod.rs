//! The TCP wire format (RFC 9293 §3.1, §3.2) and a minimal IPv4/IPv6 framing.
//!
//! This is the hot data path, so nothing here allocates:
//! * [`parse_segment`] borrows the payload from the input bytes and returns
//!   the header (options included) by value;
//! * [`emit_segment`] / [`emit_segment_parts`] write header, options, payload
//!   and checksum into a caller-provided `&mut [u8]`;
//! * [`tcp_checksum`] sums eight bytes at a time into `u64` accumulators with
//!   end-around carries (RFC 1071 §2), and [`Checksum`] does the same
//!   incrementally over any number of slices of any length.
//!
//! Parsing does not verify the checksum (it needs the IP addresses): call
//! [`verify_checksum`], or use [`ip::parse_ip_tcp`] on a whole IP packet.
//! No input can make a parser panic; malformed input is a [`WireError`].

mod checksum;
mod error;
mod flags;
pub mod ip;
mod options;
mod tcp;

pub(crate) use checksum::word_pair;
pub use checksum::{tcp_checksum, verify_checksum, Checksum, PseudoHeader};
pub use error::WireError;
pub use flags::{Flags, ParseFlagsError};
pub use options::{
    SackBlocks, TcpOptions, Timestamps, MAX_OPTIONS_LEN, MAX_SACK_BLOCKS, MAX_WINDOW_SCALE,
};
pub use tcp::{
    emit_segment, emit_segment_parts, header_len, parse_segment, Segment, TcpHeader,
    MAX_HEADER_LEN, MIN_HEADER_LEN,
};

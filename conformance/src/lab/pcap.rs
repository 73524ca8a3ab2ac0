//! Classic pcap files (the libpcap format Wireshark and tshark open), with
//! nanosecond timestamps and `LINKTYPE_RAW`: every record is a bare IPv4 or
//! IPv6 packet, stamped with the simulator's virtual time.
//!
//! The format is two fixed headers (the pcap-savefile draft,
//! draft-ietf-opsawg-pcap §4 and §5): a 24-byte file header, then per packet
//! a 16-byte record header followed by the captured bytes. The writer
//! emits little-endian files with the nanosecond magic `0xa1b23c4d`; the
//! reader accepts both byte orders and both the microsecond and the
//! nanosecond magic.

use std::path::{Path, PathBuf};

use tcp_core::time::Instant;

/// `LINKTYPE_RAW`: the packet starts with an IPv4 or IPv6 header.
pub const LINKTYPE_RAW: u32 = 101;
/// Magic number of a file with nanosecond timestamps.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Magic number of a file with microsecond timestamps.
pub const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Largest packet captured whole (the largest IPv4 packet).
pub const SNAPLEN: u32 = 65_535;

const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

/// Builds a pcap file in memory.
#[derive(Clone, Debug)]
pub struct PcapWriter {
    bytes: Vec<u8>,
    records: usize,
}

impl Default for PcapWriter {
    fn default() -> PcapWriter {
        PcapWriter::new()
    }
}

impl PcapWriter {
    /// A file with its header and no records.
    pub fn new() -> PcapWriter {
        let mut bytes = Vec::with_capacity(1 << 16);
        bytes.extend_from_slice(&MAGIC_NANOS.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&0i32.to_le_bytes()); // reserved (thiszone)
        bytes.extend_from_slice(&0u32.to_le_bytes()); // reserved (sigfigs)
        bytes.extend_from_slice(&SNAPLEN.to_le_bytes());
        bytes.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
        PcapWriter { bytes, records: 0 }
    }

    /// Appends one packet seen at `time`. Packets longer than [`SNAPLEN`]
    /// are truncated to it (the record keeps the original length).
    pub fn push(&mut self, time: Instant, packet: &[u8]) {
        let nanos = time.as_nanos();
        let secs = u32::try_from(nanos / 1_000_000_000).unwrap_or(u32::MAX);
        let frac = (nanos % 1_000_000_000) as u32;
        let orig = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        let incl = orig.min(SNAPLEN);
        self.bytes.extend_from_slice(&secs.to_le_bytes());
        self.bytes.extend_from_slice(&frac.to_le_bytes());
        self.bytes.extend_from_slice(&incl.to_le_bytes());
        self.bytes.extend_from_slice(&orig.to_le_bytes());
        self.bytes.extend_from_slice(&packet[..incl as usize]);
        self.records += 1;
    }

    /// Records written so far.
    pub fn records(&self) -> usize {
        self.records
    }

    /// The file so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// One packet read back from a pcap file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapRecord {
    /// Timestamp in nanoseconds since the epoch of the file (the start of
    /// the simulation for files the lab writes).
    pub time_ns: u64,
    /// The length the packet had on the wire.
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// A pcap file read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapFile {
    pub linktype: u32,
    pub snaplen: u32,
    pub nanosecond: bool,
    pub records: Vec<PcapRecord>,
}

/// Why a pcap file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("not a pcap file: {len} bytes is shorter than the 24-byte file header")]
    ShortHeader { len: usize },
    #[error("not a pcap file: unknown magic number {magic:#010x}")]
    BadMagic { magic: u32 },
    #[error("record {index} at byte {offset}: {what}")]
    BadRecord {
        index: usize,
        offset: usize,
        what: &'static str,
    },
}

/// Parses a whole pcap file.
pub fn parse_pcap(bytes: &[u8]) -> Result<PcapFile, PcapError> {
    let header = bytes
        .get(..FILE_HEADER_LEN)
        .ok_or(PcapError::ShortHeader { len: bytes.len() })?;
    let magic_le = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let magic_be = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let (big_endian, nanosecond) = match (magic_le, magic_be) {
        (MAGIC_NANOS, _) => (false, true),
        (MAGIC_MICROS, _) => (false, false),
        (_, MAGIC_NANOS) => (true, true),
        (_, MAGIC_MICROS) => (true, false),
        _ => return Err(PcapError::BadMagic { magic: magic_le }),
    };
    let word = |b: &[u8], at: usize| -> u32 {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let snaplen = word(header, 16);
    let linktype = word(header, 20);
    let mut records = Vec::new();
    let mut offset = FILE_HEADER_LEN;
    while offset < bytes.len() {
        let index = records.len();
        let bad = |what| PcapError::BadRecord {
            index,
            offset,
            what,
        };
        let rh = bytes
            .get(offset..offset + RECORD_HEADER_LEN)
            .ok_or_else(|| bad("truncated record header"))?;
        let secs = u64::from(word(rh, 0));
        let frac = u64::from(word(rh, 4));
        let incl = word(rh, 8) as usize;
        let orig_len = word(rh, 12);
        let limit = if nanosecond { 1_000_000_000 } else { 1_000_000 };
        if frac >= limit {
            return Err(bad("sub-second timestamp out of range"));
        }
        let start = offset + RECORD_HEADER_LEN;
        let data = bytes
            .get(start..start + incl)
            .ok_or_else(|| bad("truncated packet data"))?;
        let time_ns = secs * 1_000_000_000 + if nanosecond { frac } else { frac * 1_000 };
        records.push(PcapRecord {
            time_ns,
            orig_len,
            data: data.to_vec(),
        });
        offset = start + incl;
    }
    Ok(PcapFile {
        linktype,
        snaplen,
        nanosecond,
        records,
    })
}

/// Reads and parses the pcap file at `path`.
pub fn read_pcap(path: &Path) -> Result<PcapFile, PcapError> {
    let bytes = std::fs::read(path).map_err(|source| PcapError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_pcap(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_records_read_back_with_nanosecond_times() {
        let mut w = PcapWriter::new();
        w.push(Instant::from_nanos(1_500_000_123), &[0x45, 1, 2, 3]);
        w.push(Instant::from_millis(2), &[0x60; 40]);
        assert_eq!(w.records(), 2);
        let f = parse_pcap(w.as_bytes()).unwrap();
        assert_eq!(f.linktype, LINKTYPE_RAW);
        assert!(f.nanosecond);
        assert_eq!(f.records.len(), 2);
        assert_eq!(f.records[0].time_ns, 1_500_000_123);
        assert_eq!(f.records[0].data, [0x45, 1, 2, 3]);
        assert_eq!(f.records[1].time_ns, 2_000_000);
        assert_eq!(f.records[1].orig_len, 40);
    }

    #[test]
    fn header_bytes_follow_the_savefile_layout() {
        let w = PcapWriter::new();
        assert_eq!(
            w.as_bytes(),
            [
                0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101,
                0, 0, 0
            ]
        );
    }

    #[test]
    fn truncated_and_foreign_files_are_errors() {
        assert!(matches!(
            parse_pcap(&[1, 2, 3]),
            Err(PcapError::ShortHeader { len: 3 })
        ));
        assert!(matches!(
            parse_pcap(&[0u8; 24]),
            Err(PcapError::BadMagic { .. })
        ));
        let mut w = PcapWriter::new();
        w.push(Instant::ZERO, &[0x45; 20]);
        let bytes = w.into_bytes();
        assert!(matches!(
            parse_pcap(&bytes[..bytes.len() - 1]),
            Err(PcapError::BadRecord { index: 0, .. })
        ));
    }

    #[test]
    fn big_endian_microsecond_files_are_read() {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC_MICROS.to_be_bytes());
        b.extend_from_slice(&2u16.to_be_bytes());
        b.extend_from_slice(&4u16.to_be_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&SNAPLEN.to_be_bytes());
        b.extend_from_slice(&LINKTYPE_RAW.to_be_bytes());
        b.extend_from_slice(&3u32.to_be_bytes());
        b.extend_from_slice(&250u32.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        b.push(0x45);
        let f = parse_pcap(&b).unwrap();
        assert!(!f.nanosecond);
        assert_eq!(f.records[0].time_ns, 3_000_250_000);
    }
}

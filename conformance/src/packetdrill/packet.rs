//! Turning script packets into TCP segments and back.
//!
//! Sequence numbers in a script are relative (packetdrill's convention):
//! inbound `seq` and outbound `ack` count from the remote side's ISN, which
//! the script itself chooses (its first inbound SYN), so they are used as
//! written; outbound `seq` and inbound `ack` count from our ISN, which the
//! stack chooses, so they are offset by the difference between the ISN the
//! stack used and the one the script wrote in its first outbound SYN or
//! SYN,ACK. Inbound SACK blocks acknowledge our data and are offset the same
//! way. An inbound TSecr echoes one of our TSvals: the script writes the
//! TSval it expected us to send, which is mapped to the one we sent.

use std::collections::HashMap;

use tcp_core::wire::{self, PseudoHeader, Segment};

use super::ast::{Direction, PacketSpec, SeqSpec, TcpFlags, TcpOptionSpec, TcpOptionsSpec};

/// TCP option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
pub(crate) mod kind {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WSCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMP: u8 = 8;
    pub const MD5: u8 = 19;
    pub const FAST_OPEN: u8 = 34;
    pub const EXPERIMENTAL: u8 = 254;
}

/// Why an inbound script packet cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Packetdrill requires `win` on inbound packets.
    #[error("inbound packet without `win`")]
    NoWindow,
    /// `...` sequence numbers only make sense for outbound packets.
    #[error("inbound packet with a wildcard sequence number")]
    WildcardSeq,
    /// `TS val ...` only makes sense for outbound packets.
    #[error("inbound timestamp option with a wildcard TSval")]
    WildcardTsVal,
    /// The TSecr echoes a TSval the stack never sent.
    #[error("no outbound packet had TSval {0}: cannot map the timestamp echo")]
    UnmappedTsEcr(u32),
    /// `<...>` only makes sense for outbound packets.
    #[error("inbound packet with wildcard options")]
    WildcardOptions,
    /// The options do not fit the 40 bytes of option space.
    #[error("{0} bytes of TCP options do not fit in a TCP header")]
    OptionsTooLong(usize),
    /// A hex blob option (`FO`, `md5`) that is not valid hex.
    #[error("option {0}: not a hex string")]
    BadBlob(&'static str),
}

/// The mapping between script sequence/timestamp values and live ones.
#[derive(Debug, Clone, Default)]
pub struct SeqMap {
    /// Our ISN as the script wrote it and as the stack chose it.
    local_isn: Option<(u32, u32)>,
    /// Script TSval -> the TSval we actually sent.
    ts_vals: HashMap<u32, u32>,
    /// The script-space sequence number of the FIN we sent, once sent.
    our_fin: Option<u32>,
}

impl SeqMap {
    /// Live minus script value of our sequence numbers.
    pub fn local_offset(&self) -> u32 {
        self.local_isn
            .map_or(0, |(script, live)| live.wrapping_sub(script))
    }

    /// Whether our ISN has been learnt.
    pub fn knows_local_isn(&self) -> bool {
        self.local_isn.is_some()
    }

    /// Learns our ISN from the first outbound SYN or SYN,ACK.
    pub fn learn_local_isn(&mut self, script: u32, live: u32) {
        if self.local_isn.is_none() {
            self.local_isn = Some((script, live));
        }
    }

    /// Records that we sent our FIN at script sequence number `seq`.
    pub fn record_fin(&mut self, seq: u32) {
        self.our_fin = Some(seq);
    }

    /// The script sequence number of the FIN we sent, if we sent one.
    pub fn our_fin(&self) -> Option<u32> {
        self.our_fin
    }

    /// Records that the script's TSval `script` was sent as `live`.
    pub fn record_ts_val(&mut self, script: u32, live: u32) {
        self.ts_vals.insert(script, live);
    }

    /// The live TSval for a script one.
    pub fn live_ts_val(&self, script: u32) -> Option<u32> {
        self.ts_vals.get(&script).copied()
    }
}

/// TCP header flag bits in wire order (RFC 9293 §3.1, RFC 3168 §6.1).
pub(crate) fn flags_to_bits(f: &TcpFlags) -> u8 {
    u8::from(f.fin)
        | u8::from(f.syn) << 1
        | u8::from(f.rst) << 2
        | u8::from(f.psh) << 3
        | u8::from(f.ack) << 4
        | u8::from(f.urg) << 5
        | u8::from(f.ece) << 6
        | u8::from(f.cwr) << 7
}

/// The flags of a wire flag byte.
pub(crate) fn bits_to_flags(b: u8) -> TcpFlags {
    TcpFlags {
        fin: b & 0x01 != 0,
        syn: b & 0x02 != 0,
        rst: b & 0x04 != 0,
        psh: b & 0x08 != 0,
        ack: b & 0x10 != 0,
        urg: b & 0x20 != 0,
        ece: b & 0x40 != 0,
        cwr: b & 0x80 != 0,
    }
}

fn hex_blob(name: &'static str, hex: &str) -> Result<Vec<u8>, BuildError> {
    if !hex.len().is_multiple_of(2) {
        return Err(BuildError::BadBlob(name));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(BuildError::BadBlob(name))
        })
        .collect()
}

/// How the values inside options are written: the caller maps them.
pub(crate) struct OptionValues<'a> {
    /// Added to SACK block edges.
    pub sack_offset: u32,
    /// Maps a script TSval (`None` for `...`) to the value to write.
    pub ts_val: &'a dyn Fn(Option<u32>) -> Result<u32, BuildError>,
    /// Maps a script TSecr (and whether it is absolute) to the value to write.
    pub ts_ecr: &'a dyn Fn(u32, bool) -> Result<u32, BuildError>,
}

/// The option bytes of a list, in the order written, padded with EOL to a
/// multiple of four.
pub(crate) fn encode_options(
    list: &[TcpOptionSpec],
    values: &OptionValues<'_>,
) -> Result<Vec<u8>, BuildError> {
    let mut out = Vec::new();
    for opt in list {
        match opt {
            TcpOptionSpec::Eol => out.push(kind::EOL),
            TcpOptionSpec::Nop => out.push(kind::NOP),
            TcpOptionSpec::Mss(v) => {
                out.extend_from_slice(&[kind::MSS, 4]);
                out.extend_from_slice(&v.to_be_bytes());
            }
            TcpOptionSpec::WindowScale(v) => out.extend_from_slice(&[kind::WSCALE, 3, *v]),
            TcpOptionSpec::SackPermitted => out.extend_from_slice(&[kind::SACK_PERMITTED, 2]),
            TcpOptionSpec::Sack(blocks) => {
                let len = 2 + 8 * blocks.len();
                out.extend_from_slice(&[kind::SACK, u8::try_from(len).unwrap_or(u8::MAX)]);
                for (l, r) in blocks {
                    out.extend_from_slice(&l.wrapping_add(values.sack_offset).to_be_bytes());
                    out.extend_from_slice(&r.wrapping_add(values.sack_offset).to_be_bytes());
                }
            }
            TcpOptionSpec::Timestamp {
                val,
                ecr,
                ecr_absolute,
            } => {
                out.extend_from_slice(&[kind::TIMESTAMP, 10]);
                out.extend_from_slice(&(values.ts_val)(*val)?.to_be_bytes());
                out.extend_from_slice(&(values.ts_ecr)(*ecr, *ecr_absolute)?.to_be_bytes());
            }
            TcpOptionSpec::FastOpen(c) => {
                let blob = hex_blob("FO", c)?;
                out.extend_from_slice(&[
                    kind::FAST_OPEN,
                    u8::try_from(2 + blob.len()).unwrap_or(u8::MAX),
                ]);
                out.extend_from_slice(&blob);
            }
            TcpOptionSpec::FastOpenExp(c) => {
                let blob = hex_blob("FOEXP", c)?;
                out.extend_from_slice(&[
                    kind::EXPERIMENTAL,
                    u8::try_from(4 + blob.len()).unwrap_or(u8::MAX),
                    0xf9,
                    0x89,
                ]);
                out.extend_from_slice(&blob);
            }
            TcpOptionSpec::Md5(c) => {
                let blob = hex_blob("md5", c)?;
                out.extend_from_slice(&[
                    kind::MD5,
                    u8::try_from(2 + blob.len()).unwrap_or(u8::MAX),
                ]);
                out.extend_from_slice(&blob);
            }
        }
    }
    while out.len() % 4 != 0 {
        out.push(kind::EOL);
    }
    if out.len() > wire::MAX_OPTIONS_LEN {
        return Err(BuildError::OptionsTooLong(out.len()));
    }
    Ok(out)
}

/// Builds the TCP segment (header, options, zero payload, checksum) for an
/// inbound script packet from `ports.0` (remote) to `ports.1` (local).
pub fn build_inbound(
    spec: &PacketSpec,
    map: &SeqMap,
    ports: (u16, u16),
    pseudo: &PseudoHeader,
) -> Result<Vec<u8>, BuildError> {
    debug_assert_eq!(spec.direction, Direction::In);
    let win = spec.win.ok_or(BuildError::NoWindow)?;
    let seq = match spec.seq {
        SeqSpec::Relative { start, .. } | SeqSpec::Absolute { start, .. } => start,
        SeqSpec::Any { .. } => return Err(BuildError::WildcardSeq),
    };
    let offset = map.local_offset();
    // Packetdrill offsets the ACK field only when the ACK bit is set.
    let ack = match spec.ack {
        Some(a) if spec.flags.ack => a.wrapping_add(offset),
        Some(a) => a,
        None => 0,
    };
    let options = match &spec.options {
        TcpOptionsSpec::Absent => Vec::new(),
        TcpOptionsSpec::Any => return Err(BuildError::WildcardOptions),
        TcpOptionsSpec::List(list) => {
            let ts_val = |v: Option<u32>| v.ok_or(BuildError::WildcardTsVal);
            let has_ack = spec.flags.ack;
            let ts_ecr = |e: u32, absolute: bool| {
                if !has_ack || absolute {
                    Ok(e)
                } else {
                    map.live_ts_val(e).ok_or(BuildError::UnmappedTsEcr(e))
                }
            };
            encode_options(
                list,
                &OptionValues {
                    sack_offset: offset,
                    ts_val: &ts_val,
                    ts_ecr: &ts_ecr,
                },
            )?
        }
    };
    let hlen = wire::MIN_HEADER_LEN + options.len();
    let mut seg = vec![0u8; hlen + usize::from(spec.seq.len())];
    seg[0..2].copy_from_slice(&ports.0.to_be_bytes());
    seg[2..4].copy_from_slice(&ports.1.to_be_bytes());
    seg[4..8].copy_from_slice(&seq.to_be_bytes());
    seg[8..12].copy_from_slice(&ack.to_be_bytes());
    // Data offset in 32-bit words (RFC 9293 §3.1); `hlen` is at most 60.
    seg[12] = u8::try_from(hlen / 4).unwrap_or(15) << 4;
    seg[13] = flags_to_bits(&spec.flags);
    seg[14..16].copy_from_slice(&win.to_be_bytes());
    seg[18..20].copy_from_slice(&spec.urg.unwrap_or(0).to_be_bytes());
    seg[wire::MIN_HEADER_LEN..hlen].copy_from_slice(&options);
    let sum = wire::tcp_checksum(pseudo, &seg);
    seg[16..18].copy_from_slice(&sum.to_be_bytes());
    Ok(seg)
}

/// One option as it appears on the wire (for layouts and messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawOption {
    /// Kind 0.
    Eol,
    /// Kind 1.
    Nop,
    /// Any other kind with its body.
    Other {
        /// The kind octet.
        kind: u8,
        /// The bytes after kind and length.
        body: Vec<u8>,
    },
}

/// Splits option bytes into options; a malformed tail is returned as one
/// `Other` option with kind 255 so that comparisons fail visibly.
pub fn split_options(bytes: &[u8]) -> Vec<RawOption> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&k) = bytes.get(i) {
        match k {
            kind::EOL => {
                out.push(RawOption::Eol);
                i += 1;
            }
            kind::NOP => {
                out.push(RawOption::Nop);
                i += 1;
            }
            _ => {
                let len = bytes.get(i + 1).map(|&l| usize::from(l));
                match len
                    .filter(|&l| l >= 2)
                    .and_then(|l| bytes.get(i + 2..i + l))
                {
                    Some(body) => {
                        out.push(RawOption::Other {
                            kind: k,
                            body: body.to_vec(),
                        });
                        i += 2 + body.len();
                    }
                    None => {
                        out.push(RawOption::Other {
                            kind: 255,
                            body: bytes[i..].to_vec(),
                        });
                        break;
                    }
                }
            }
        }
    }
    out
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_be_bytes)
}

/// An outbound segment, parsed, with its raw option bytes.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The segment bytes as the stack wrote them.
    pub bytes: Vec<u8>,
    /// The raw options, in order.
    pub options: Vec<RawOption>,
}

impl Outbound {
    /// Parses a segment the stack sent.
    pub fn parse(bytes: Vec<u8>) -> Result<Outbound, wire::WireError> {
        let seg = wire::parse_segment(&bytes)?;
        let hlen = bytes.len() - seg.payload.len();
        let options = split_options(&bytes[wire::MIN_HEADER_LEN..hlen]);
        Ok(Outbound { bytes, options })
    }

    /// The parsed view.
    pub fn segment(&self) -> Segment<'_> {
        // `parse` succeeded on these bytes, so this cannot fail; an empty
        // segment is returned rather than panicking if it somehow does.
        wire::parse_segment(&self.bytes).unwrap_or(Segment {
            header: wire::TcpHeader {
                src_port: 0,
                dst_port: 0,
                seq: tcp_core::seq::SeqNum(0),
                ack: tcp_core::seq::SeqNum(0),
                flags: wire::Flags(0),
                window: 0,
                urgent: 0,
                options: wire::TcpOptions::default(),
            },
            payload: &[],
        })
    }

    /// The segment in script syntax, with our sequence numbers mapped back
    /// to the script's (for messages).
    pub fn to_spec(&self, map: &SeqMap) -> PacketSpec {
        let seg = self.segment();
        let h = &seg.header;
        let start = h.seq.0.wrapping_sub(map.local_offset());
        let len = u16::try_from(seg.payload.len()).unwrap_or(u16::MAX);
        let flags = bits_to_flags(h.flags.0);
        let options = if self.options.is_empty() {
            TcpOptionsSpec::Absent
        } else {
            TcpOptionsSpec::List(self.options.iter().map(raw_to_spec).collect())
        };
        PacketSpec {
            direction: Direction::Out,
            ip: None,
            ports: None,
            flags,
            seq: SeqSpec::Relative {
                start,
                end: start.wrapping_add(u32::from(len)),
                len,
            },
            ack: (flags.ack || h.ack.0 != 0).then_some(h.ack.0),
            win: Some(h.window),
            urg: (h.urgent != 0).then_some(h.urgent),
            options,
        }
    }
}

fn raw_to_spec(o: &RawOption) -> TcpOptionSpec {
    match o {
        RawOption::Eol => TcpOptionSpec::Eol,
        RawOption::Nop => TcpOptionSpec::Nop,
        RawOption::Other { kind, body } => match (*kind, body.len()) {
            (kind::MSS, 2) => TcpOptionSpec::Mss(u16::from_be_bytes([body[0], body[1]])),
            (kind::WSCALE, 1) => TcpOptionSpec::WindowScale(body[0]),
            (kind::SACK_PERMITTED, 0) => TcpOptionSpec::SackPermitted,
            (kind::SACK, n) if n % 8 == 0 => TcpOptionSpec::Sack(
                (0..n / 8)
                    .map(|i| (be32(body, 8 * i), be32(body, 8 * i + 4)))
                    .collect(),
            ),
            (kind::TIMESTAMP, 8) => TcpOptionSpec::Timestamp {
                val: Some(be32(body, 0)),
                ecr: be32(body, 4),
                ecr_absolute: false,
            },
            (k, _) => TcpOptionSpec::Md5(format!(
                "kind{k}:{}",
                body.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packetdrill::{parse_script, StatementKind};
    use std::net::Ipv4Addr;

    fn packet(line: &str) -> PacketSpec {
        let s = parse_script("t", &format!("0 {line}\n"), &[]).unwrap();
        match &s.statements[0].kind {
            StatementKind::Packet(p) => p.clone(),
            other => panic!("not a packet: {other:?}"),
        }
    }

    fn pseudo() -> PseudoHeader {
        PseudoHeader::v4(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 168, 0, 1))
    }

    #[test]
    fn inbound_syn_is_encoded_as_written() {
        let p = packet("< S 0:0(0) win 32767 <mss 1460,sackOK,eol,eol>");
        let bytes = build_inbound(&p, &SeqMap::default(), (40000, 8080), &pseudo()).unwrap();
        assert_eq!(bytes.len(), 28);
        assert!(wire::verify_checksum(&pseudo(), &bytes));
        assert_eq!(&bytes[20..28], &[2, 4, 0x05, 0xb4, 4, 2, 0, 0]);
        let seg = wire::parse_segment(&bytes).unwrap();
        assert_eq!(seg.header.window, 32767);
        assert_eq!(seg.header.options.mss, Some(1460));
        assert!(seg.header.options.sack_permitted);
    }

    #[test]
    fn inbound_ack_and_sack_are_offset_by_our_isn() {
        let mut map = SeqMap::default();
        map.learn_local_isn(0, 1000);
        let p = packet("< . 1:1(0) ack 5 win 100 <nop,nop,sack 10:20>");
        let bytes = build_inbound(&p, &map, (1, 2), &pseudo()).unwrap();
        let seg = wire::parse_segment(&bytes).unwrap();
        assert_eq!(seg.header.seq.0, 1);
        assert_eq!(seg.header.ack.0, 1005);
        assert_eq!(seg.header.options.sack_blocks.as_slice()[0].0 .0, 1010);
    }

    #[test]
    fn inbound_ts_ecr_needs_a_sent_ts_val() {
        let p = packet("< . 1:1(0) ack 1 win 100 <nop,nop,TS val 7 ecr 100>");
        let err = build_inbound(&p, &SeqMap::default(), (1, 2), &pseudo()).unwrap_err();
        assert_eq!(err, BuildError::UnmappedTsEcr(100));
        let mut map = SeqMap::default();
        map.record_ts_val(100, 4242);
        let bytes = build_inbound(&p, &map, (1, 2), &pseudo()).unwrap();
        let ts = wire::parse_segment(&bytes)
            .unwrap()
            .header
            .options
            .timestamps
            .unwrap();
        assert_eq!((ts.tsval, ts.tsecr), (7, 4242));
    }

    #[test]
    fn outbound_is_rendered_in_script_space() {
        let mut map = SeqMap::default();
        map.learn_local_isn(0, 5000);
        let p = packet("< S. 0:0(0) ack 1 win 100 <mss 1460,nop,nop,sackOK>");
        // Build it as if we sent it: seq 5000.
        let mut bytes = build_inbound(&p, &SeqMap::default(), (8080, 40000), &pseudo()).unwrap();
        bytes[4..8].copy_from_slice(&5000u32.to_be_bytes());
        let out = Outbound::parse(bytes).unwrap();
        let spec = out.to_spec(&map);
        assert_eq!(
            spec.to_string(),
            "> S. 0:0(0) ack 1 win 100 <mss 1460,nop,nop,sackOK>"
        );
    }
}

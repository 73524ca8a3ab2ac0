//! A tcpdump-like log of the packets crossing the TUN device, kept so that
//! a failing exchange can be shown segment by segment.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::net::SocketAddr;

use tcp_core::seq::SeqNum;
use tcp_core::wire::{ip, Flags, TcpOptions};
use tcp_core::Instant;

/// Which way a packet went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Our stack sent it; it was written to the device.
    ToKernel,
    /// Read from the device (the kernel sent it) and given to our stack.
    FromKernel,
    /// Our stack sent it and the harness is holding it back.
    Held,
    /// Crafted by the harness and written to the device.
    InjectedToKernel,
    /// Crafted by the harness and given to our stack as if from the kernel.
    InjectedToUs,
    /// Read from the device and kept by the harness (not given to our stack).
    Captured,
}

impl Direction {
    fn arrow(self) -> &'static str {
        match self {
            Direction::ToKernel => "us->k ",
            Direction::FromKernel => "k->us ",
            Direction::Held => "held  ",
            Direction::InjectedToKernel => "inj->k",
            Direction::InjectedToUs => "inj->us",
            Direction::Captured => "k->cap",
        }
    }
}

/// The TCP fields of one packet, decoded for tests and dumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentSummary {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub flags: Flags,
    pub seq: SeqNum,
    pub ack: SeqNum,
    pub window: u16,
    pub len: usize,
    pub options: TcpOptions,
}

impl SegmentSummary {
    /// Decodes an IP packet carrying TCP (checksum verified), or `None`.
    pub fn parse(packet: &[u8]) -> Option<SegmentSummary> {
        let (p, s) = ip::parse_ip_tcp(packet).ok()?;
        Some(SegmentSummary {
            src: SocketAddr::new(p.src, s.header.src_port),
            dst: SocketAddr::new(p.dst, s.header.dst_port),
            flags: s.header.flags,
            seq: s.header.seq,
            ack: s.header.ack,
            window: s.header.window,
            len: s.payload.len(),
            options: s.header.options,
        })
    }

    /// Whether the segment carries all of `flags` and none of the other
    /// control bits among SYN, FIN, RST, ACK.
    pub fn is(&self, flags: Flags) -> bool {
        let ctl = Flags::SYN | Flags::FIN | Flags::RST | Flags::ACK;
        self.flags & ctl == flags
    }
}

impl fmt::Display for SegmentSummary {
    /// `10.99.0.2:49152 > 10.99.0.1:5000 [S.] seq 1 ack 2 win 512 len 0 <mss 1460,sackOK,TS 5 0,ws 7>`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} > {} [{}] seq {}",
            self.src, self.dst, self.flags, self.seq.0
        )?;
        if self.flags.contains(Flags::ACK) {
            write!(f, " ack {}", self.ack.0)?;
        }
        write!(f, " win {} len {}", self.window, self.len)?;
        let o = &self.options;
        let mut opts = Vec::new();
        if let Some(m) = o.mss {
            opts.push(format!("mss {m}"));
        }
        if o.sack_permitted {
            opts.push("sackOK".to_string());
        }
        if let Some(ts) = o.timestamps {
            opts.push(format!("TS {} {}", ts.tsval, ts.tsecr));
        }
        if let Some(ws) = o.window_scale {
            opts.push(format!("ws {ws}"));
        }
        if !o.sack_blocks.is_empty() {
            let blocks: Vec<String> = o
                .sack_blocks
                .iter()
                .map(|(l, r)| format!("{}-{}", l.0, r.0))
                .collect();
            opts.push(format!("sack {}", blocks.join(" ")));
        }
        if !opts.is_empty() {
            write!(f, " <{}>", opts.join(","))?;
        }
        Ok(())
    }
}

/// One packet in the log.
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub time: Instant,
    pub direction: Direction,
    /// The decoded segment, or `None` for a packet that is not valid TCP.
    pub segment: Option<SegmentSummary>,
    /// Its length in bytes (IP header included).
    pub bytes: usize,
}

impl fmt::Display for LogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>12.6} {} ",
            self.time.as_secs_f64(),
            self.direction.arrow()
        )?;
        match &self.segment {
            Some(s) => write!(f, "{s}"),
            None => write!(f, "(not a valid TCP/IP packet, {} bytes)", self.bytes),
        }
    }
}

/// The last `capacity` packets, oldest first.
#[derive(Clone, Debug)]
pub struct PacketLog {
    entries: VecDeque<LogEntry>,
    capacity: usize,
    /// Entries pushed out of the ring.
    dropped: u64,
}

impl PacketLog {
    pub fn new(capacity: usize) -> PacketLog {
        PacketLog {
            entries: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            dropped: 0,
        }
    }

    pub fn record(&mut self, time: Instant, direction: Direction, packet: &[u8]) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(LogEntry {
            time,
            direction,
            segment: SegmentSummary::parse(packet),
            bytes: packet.len(),
        });
    }

    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// The whole log as text, one packet a line.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if self.dropped > 0 {
            let _ = writeln!(s, "  ({} earlier packets not kept)", self.dropped);
        }
        for e in &self.entries {
            let _ = writeln!(s, "  {e}");
        }
        s
    }

    pub fn clear(&mut self) {
        self.dropped += self.entries.len() as u64;
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_core::wire::TcpHeader;

    #[test]
    fn summary_round_trips_a_crafted_rst() {
        let src: SocketAddr = "10.99.0.2:40000".parse().unwrap();
        let dst: SocketAddr = "10.99.0.1:5000".parse().unwrap();
        let h = TcpHeader {
            seq: SeqNum(1000),
            flags: Flags::RST,
            ..TcpHeader::default()
        };
        let mut buf = [0u8; 100];
        let n = ip::emit_ip_tcp(src, dst, &h, &[], &mut buf).unwrap();
        let s = SegmentSummary::parse(&buf[..n]).unwrap();
        assert!(s.is(Flags::RST));
        assert!(!s.is(Flags::RST | Flags::ACK));
        assert_eq!(
            s.to_string(),
            "10.99.0.2:40000 > 10.99.0.1:5000 [R] seq 1000 win 0 len 0"
        );
        let mut log = PacketLog::new(1);
        log.record(
            Instant::from_millis(1),
            Direction::InjectedToKernel,
            &buf[..n],
        );
        log.record(
            Instant::from_millis(2),
            Direction::InjectedToKernel,
            &buf[..n],
        );
        let text = log.render();
        assert!(text.contains("1 earlier packets not kept"), "{text}");
        assert!(text.contains("0.002000 inj->k 10.99.0.2:40000"), "{text}");
    }
}

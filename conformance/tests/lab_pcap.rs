//! The lab's pcap read back (by our reader, and by tshark when installed),
//! and impaired links: corruption dropped by checksum and counted, loss,
//! duplication and reordering survived by both engines alike.

use std::process::Command;

use conformance::lab::pcap::{parse_pcap, LINKTYPE_RAW};
use conformance::lab::{run, EngineChoice, LabConfig, Recording, RunReport};
use conformance::sim::Duration;
use tcp_core::wire::{self, ip, Flags};

fn with_pcap(config: LabConfig) -> RunReport {
    let mut report = run(&LabConfig {
        record: Recording {
            pcap: true,
            cwnd: false,
        },
        ..config
    })
    .unwrap();
    let r = report.runs.swap_remove(0);
    assert!(r.completed, "{:?}", r.incomplete);
    r
}

fn small() -> LabConfig {
    LabConfig {
        bytes: 100_000,
        engine: EngineChoice::Table,
        ..LabConfig::default().with_rtt(Duration::from_millis(10))
    }
}

#[test]
fn pcap_holds_every_packet_sent_with_its_flags_and_virtual_time() {
    let r = with_pcap(small());
    let file = parse_pcap(r.pcap.as_deref().unwrap()).unwrap();
    assert_eq!(file.linktype, LINKTYPE_RAW);
    assert!(file.nanosecond);
    let total = r.packets.total();
    assert_eq!(file.records.len() as u64, total.sent + total.duplicated);
    let mut flags = Vec::new();
    let mut payload = 0u64;
    let mut last_time = 0;
    for rec in &file.records {
        assert!(rec.time_ns >= last_time, "records are in time order");
        last_time = rec.time_ns;
        let p = ip::parse_ip_packet(&rec.data).unwrap();
        assert!(
            wire::verify_checksum(&p.pseudo_header(), p.payload),
            "as sent: checksums hold"
        );
        let seg = wire::parse_segment(p.payload).unwrap();
        payload += seg.payload.len() as u64;
        flags.push(seg.header.flags);
    }
    assert_eq!(payload, 100_000);
    assert_eq!(flags[0], Flags::SYN);
    assert_eq!(flags[1], Flags::SYN | Flags::ACK);
    assert!(flags[2].contains(Flags::ACK) && !flags[2].contains(Flags::SYN));
    let count = |f: Flags| flags.iter().filter(|x| x.contains(f)).count();
    assert_eq!(count(Flags::SYN), 2);
    assert_eq!(count(Flags::FIN), 2);
    assert_eq!(count(Flags::RST), 0);
    // The SYN leaves at 0, the SYN+ACK half an RTT later.
    assert_eq!(file.records[0].time_ns, 0);
    assert_eq!(file.records[1].time_ns, 5_000_000);
    // The last packet is the client's ACK of the server's FIN, 1 RTT after
    // the server's FIN left.
    let last = flags.last().unwrap();
    assert_eq!(*last, Flags::ACK);
}

#[test]
fn tshark_reads_the_pcap_with_the_same_segments_and_flags() {
    let have_tshark = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_tshark {
        let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(!in_ci, "tshark is required in CI but not installed");
        eprintln!(
            "\n*** SKIPPED: tshark not installed (Debian: apt-get install tshark); tshark_reads_the_pcap_with_the_same_segments_and_flags did NOT run ***\n"
        );
        return;
    }
    let r = with_pcap(small());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab_pcap_tshark");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lab.pcap");
    std::fs::write(&path, r.pcap.as_deref().unwrap()).unwrap();
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args([
            "-T",
            "fields",
            "-e",
            "tcp.flags.str",
            "-e",
            "frame.time_relative",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<(&str, f64)> = text
        .lines()
        .map(|l| {
            let (flags, t) = l.split_once('\t').unwrap();
            (flags, t.trim().parse().unwrap())
        })
        .collect();
    let total = r.packets.total();
    assert_eq!(lines.len() as u64, total.sent + total.duplicated);
    // tcp.flags.str is twelve positions, `·` when clear: ...AP..S. etc.
    let has = |s: &str, c: char| s.contains(c);
    assert!(
        has(lines[0].0, 'S') && !has(lines[0].0, 'A'),
        "{}",
        lines[0].0
    );
    assert!(
        has(lines[1].0, 'S') && has(lines[1].0, 'A'),
        "{}",
        lines[1].0
    );
    assert_eq!(lines.iter().filter(|(f, _)| has(f, 'F')).count(), 2);
    assert_eq!(lines.iter().filter(|(f, _)| has(f, 'R')).count(), 0);
    assert!(
        (lines[1].1 - 0.005).abs() < 1e-9,
        "virtual time: {}",
        lines[1].1
    );
}

#[test]
fn corrupted_segments_are_dropped_by_checksum_and_counted() {
    let r = with_pcap(LabConfig {
        bytes: 2 << 20,
        corrupt: 0.02,
        engine: EngineChoice::Table,
        ..LabConfig::default()
    });
    assert!(r.data_intact, "no corrupted byte reached the application");
    for (name, c) in [
        ("client→server", r.packets.client_to_server),
        ("server→client", r.packets.server_to_client),
    ] {
        assert!(c.corrupted > 0, "{name}: corruption was exercised");
        // A one-bit error always changes the Internet checksum (RFC 1071):
        // every corrupted packet is rejected, nearly all by a checksum.
        assert_eq!(
            c.corrupted,
            c.rejected_checksum + c.rejected_malformed,
            "{name}: {c:?}"
        );
        assert!(c.rejected_checksum > c.rejected_malformed, "{name}: {c:?}");
    }
    // The data lost that way was sent again.
    assert!(r.packets.client_to_server.retransmissions > 0);
}

#[test]
fn impaired_links_still_deliver_every_byte_and_the_engines_agree() {
    for (loss, duplicate, reorder, seed) in [
        (0.01, 0.0, 0.0, 1),
        (0.0, 0.02, 0.0, 2),
        (0.0, 0.0, 0.03, 3),
        (0.02, 0.01, 0.02, 4),
    ] {
        let report = run(&LabConfig {
            bytes: 1 << 20,
            loss,
            duplicate,
            reorder,
            seed,
            engine: EngineChoice::Both,
            ..LabConfig::default()
        })
        .unwrap();
        for r in &report.runs {
            assert!(r.completed, "{}: {:?}", r.engine.as_str(), r.incomplete);
            assert!(r.data_intact);
        }
        let t = report.runs[0].packets.total();
        if loss > 0.0 {
            assert!(t.dropped_loss > 0 && t.retransmissions > 0, "{t:?}");
        }
        if duplicate > 0.0 {
            assert!(t.duplicated > 0, "{t:?}");
        }
        if reorder > 0.0 {
            assert!(t.reordered > 0, "{t:?}");
        }
        let a = report.agreement.unwrap();
        assert!(
            a.agreed(),
            "loss {loss} dup {duplicate} reorder {reorder}: {a:?}"
        );
    }
}

#[test]
fn a_dead_link_ends_incomplete_with_the_syn_retransmitted() {
    let report = run(&LabConfig {
        bytes: 1000,
        loss: 1.0,
        engine: EngineChoice::Table,
        ..LabConfig::default()
    })
    .unwrap();
    let r = &report.runs[0];
    assert!(!r.completed);
    assert_eq!(r.bytes_delivered, 0);
    let c = r.packets.client_to_server;
    assert_eq!(c.sent, c.dropped_loss);
    assert_eq!(c.syn, c.sent, "only SYNs were sent");
    assert!(c.retransmissions >= 1, "{c:?}");
    // The client gave up: SYN_SENT → CLOSED by the retransmission timer.
    let last = r.client.transitions.last().unwrap();
    assert_eq!(last.origin.as_str(), "timer");
    assert!(
        r.client.errors.iter().any(|e| e.contains("timed out")),
        "{:?}",
        r.client.errors
    );
}

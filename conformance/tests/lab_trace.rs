//! The lab's JSON-lines trace: the client and server paths through the
//! state machine with the origin of every transition, each record's spec
//! row checked against tcp.fsm, a snapshot of a small transfer's trace, and
//! determinism (same seed, byte-identical trace and pcap).

use conformance::lab::{run, EngineChoice, LabConfig, Recording, RunReport, Side};
use conformance::sim::Duration;
use serde_json::Value;
use tcp_fsm_spec::{parse_spec, SPEC_FILE_NAME, TCP_SPEC};

fn small(engine: EngineChoice) -> LabConfig {
    LabConfig {
        bytes: 64 << 10,
        engine,
        ..LabConfig::default().with_rtt(Duration::from_millis(10))
    }
}

fn records(run: &RunReport) -> Vec<Value> {
    run.trace_jsonl()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is a JSON object"))
        .collect()
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

/// `(previous → new, origin)` of one side, from the JSON lines.
fn path(run: &RunReport, side: Side) -> Vec<(String, String, String)> {
    let local_port = run.side(side).local_port.expect("the side has transitions");
    records(run)
        .iter()
        .filter(|r| r["local_port"].as_u64() == Some(u64::from(local_port)))
        .map(|r| {
            (
                text(r, "previous_tcp_state").to_string(),
                text(r, "tcp_state").to_string(),
                text(r, "origin").to_string(),
            )
        })
        .collect()
}

fn triples(spec: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    spec.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
fn client_and_server_paths_have_the_textbook_states_and_origins_on_every_engine() {
    for engine in [
        EngineChoice::Table,
        EngineChoice::PerState,
        EngineChoice::Interpreted,
    ] {
        let report = run(&small(engine)).unwrap();
        let r = &report.runs[0];
        assert!(r.completed, "{:?}", r.incomplete);
        assert_eq!(
            path(r, Side::Client),
            triples(&[
                ("CLOSED", "SYN_SENT", "app"),
                ("SYN_SENT", "ESTABLISHED", "segment"),
                ("ESTABLISHED", "FIN_WAIT_1", "app"),
                ("FIN_WAIT_1", "FIN_WAIT_2", "segment"),
                ("FIN_WAIT_2", "TIME_WAIT", "segment"),
                ("TIME_WAIT", "CLOSED", "timer"),
            ]),
            "{engine:?}"
        );
        // The listening socket spawns the connection as the SYN arrives.
        assert_eq!(
            path(r, Side::Server),
            triples(&[
                ("CLOSED", "LISTEN", "app"),
                ("LISTEN", "SYN_RCVD", "segment"),
                ("SYN_RCVD", "ESTABLISHED", "segment"),
                ("ESTABLISHED", "CLOSE_WAIT", "segment"),
                ("CLOSE_WAIT", "LAST_ACK", "app"),
                ("LAST_ACK", "CLOSED", "segment"),
            ]),
            "{engine:?}"
        );
        for rec in records(r) {
            assert_eq!(text(&rec, "engine"), r.engine.as_str());
        }
    }
}

#[test]
fn every_table_engine_record_names_the_tcp_fsm_row_that_explains_it() {
    let spec = parse_spec(SPEC_FILE_NAME, TCP_SPEC).unwrap();
    let report = run(&small(EngineChoice::Table)).unwrap();
    let recs = records(&report.runs[0]);
    assert_eq!(recs.len(), 12);
    for rec in recs {
        let location = text(&rec, "row");
        let (file, line) = location.rsplit_once(':').unwrap();
        assert_eq!(file, "tcp.fsm");
        let line: u32 = line.parse().unwrap();
        let row = spec
            .rows
            .iter()
            .find(|row| row.line == line)
            .unwrap_or_else(|| panic!("no row on {location}"));
        assert_eq!(spec.event(row.event).qualified(), text(&rec, "event"));
        let from = spec
            .state_by_name(text(&rec, "previous_tcp_state"))
            .unwrap();
        let to = spec.state_by_name(text(&rec, "tcp_state")).unwrap();
        assert!(spec.rows_for(from, row.event).contains(&row.id), "{rec}");
        assert_eq!(spec.next_state(row, from), to, "{rec}");
        assert_eq!(
            text(&rec, "origin"),
            spec.event(row.event).origin.as_str(),
            "{rec}"
        );
    }
}

/// `"row":"tcp.fsm:141"` → `"row":"tcp.fsm:N"`.
fn mask_row(line: &str) -> String {
    const KEY: &str = "\"row\":\"tcp.fsm:";
    match line.split_once(KEY) {
        Some((head, tail)) => {
            let rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{head}{KEY}N{rest}")
        }
        None => line.to_string(),
    }
}

/// The trace of a 64 KiB transfer over 10 ms. Row line numbers are masked
/// (`tcp.fsm:N`) so that an edit elsewhere in tcp.fsm does not churn the
/// snapshot; the test above checks every row reference against the spec.
#[test]
fn small_transfer_trace_snapshot() {
    let report = run(&small(EngineChoice::Table)).unwrap();
    let masked: String = report.runs[0]
        .trace_jsonl()
        .lines()
        .map(|l| mask_row(l) + "\n")
        .collect();
    insta::assert_snapshot!(masked);
}

#[test]
fn same_seed_gives_byte_identical_trace_and_pcap() {
    let config = |seed| LabConfig {
        bytes: 1 << 20,
        loss: 0.02,
        duplicate: 0.01,
        reorder: 0.02,
        corrupt: 0.005,
        seed,
        engine: EngineChoice::Table,
        record: Recording {
            pcap: true,
            cwnd: true,
        },
        ..LabConfig::default()
    };
    let a = run(&config(7)).unwrap();
    let b = run(&config(7)).unwrap();
    let c = run(&config(8)).unwrap();
    let (a, b, c) = (&a.runs[0], &b.runs[0], &c.runs[0]);
    assert!(
        a.completed && c.completed,
        "{:?} {:?}",
        a.incomplete,
        c.incomplete
    );
    assert!(a.packets.total().dropped_loss > 0, "the loss was exercised");
    assert_eq!(a.trace_jsonl(), b.trace_jsonl());
    assert_eq!(a.pcap, b.pcap);
    assert_eq!(a.cwnd, b.cwnd);
    assert_eq!(a.packets, b.packets);
    // Another seed: other ISNs and other losses.
    assert_ne!(a.pcap, c.pcap);
}

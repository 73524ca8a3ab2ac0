//! Tests of the packetdrill-script parser: the whole FreeBSD corpus, one
//! test per grammar feature on scripts written here, typed errors with
//! positions, and a no-panic / round-trip property on mutated scripts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use conformance::packetdrill::{
    parse_file, parse_script, CmpOp, CodeKind, CodeValue, CommandKind, Direction, EcnSpec, Expr,
    IpInfoSpec, IpVersion, PacketSpec, ParseError, Script, SeqSpec, StatementKind, SyntaxErrorKind,
    SyscallSpec, TcpFlags, TcpOptionSpec, TcpOptionsSpec, TcpiState, TimeSpec, STANDARD,
};
use proptest::prelude::*;

// ----- helpers ---------------------------------------------------------------

fn corpus_dir() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/tcp-testsuite"
    ))
    .to_path_buf()
}

/// Every `.pkt` under the corpus, sorted; `None` (after a loud message) when
/// the corpus is not there.
fn corpus_scripts() -> Option<Vec<PathBuf>> {
    let dir = corpus_dir();
    if !dir.is_dir() {
        eprintln!(
            "\n!!!!!!!! SKIPPED: packetdrill corpus not found at {} !!!!!!!!\n",
            dir.display()
        );
        return None;
    }
    let mut found = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "pkt") {
                found.push(path);
            }
        }
    }
    found.sort();
    Some(found)
}

fn parse(text: &str) -> Script {
    match parse_script("test.pkt", text, &[STANDARD]) {
        Ok(s) => s,
        Err(e) => panic!("parse failed: {e}"),
    }
}

fn parse_err(text: &str) -> (u32, u32, SyntaxErrorKind) {
    match parse_script("test.pkt", text, &[STANDARD]) {
        Ok(s) => panic!("expected an error, parsed {s:?}"),
        Err(ParseError::Syntax {
            line, col, kind, ..
        }) => (line, col, kind),
        Err(e) => panic!("expected a syntax error, got {e}"),
    }
}

fn only_packet(text: &str) -> PacketSpec {
    let s = parse(text);
    assert_eq!(s.statements.len(), 1, "{s:?}");
    match &s.statements[0].kind {
        StatementKind::Packet(p) => p.clone(),
        other => panic!("not a packet: {other:?}"),
    }
}

fn only_syscall(text: &str) -> SyscallSpec {
    let s = parse(text);
    assert_eq!(s.statements.len(), 1, "{s:?}");
    match &s.statements[0].kind {
        StatementKind::Syscall(c) => c.clone(),
        other => panic!("not a syscall: {other:?}"),
    }
}

fn word(w: &str) -> Expr {
    Expr::Word(w.to_string())
}

/// Render a parsed script and parse it again: the statements (without line
/// numbers), options and commands must be the same.
fn assert_round_trips(script: &Script) {
    let rendered = script.to_string();
    let again = parse_script(&script.name, &rendered, &[])
        .unwrap_or_else(|e| panic!("re-parse of rendered script failed: {e}\n{rendered}"));
    assert_eq!(again.options, script.options, "{rendered}");
    assert_eq!(again.init_command, script.init_command, "{rendered}");
    assert_eq!(again.cleanup_command, script.cleanup_command, "{rendered}");
    let strip = |s: &Script| {
        s.statements
            .iter()
            .map(|st| (st.time, st.kind.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&again), strip(script), "{rendered}");
}

// ----- the corpus ------------------------------------------------------------

#[test]
fn corpus_every_script_parses_with_standard_defined() {
    let Some(scripts) = corpus_scripts() else {
        return;
    };
    assert!(!scripts.is_empty(), "corpus directory holds no .pkt files");
    let mut parsed = 0usize;
    let mut failures = Vec::new();
    for path in &scripts {
        match parse_file(path, &[STANDARD]) {
            Ok(s) => {
                assert!(
                    !s.statements.is_empty(),
                    "{}: no statements",
                    path.display()
                );
                parsed += 1;
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    println!(
        "packetdrill corpus: parsed {parsed} of {} scripts",
        scripts.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert_eq!(parsed, scripts.len());
}

#[test]
fn corpus_every_script_parses_with_freebsd_branch_selected() {
    let Some(scripts) = corpus_scripts() else {
        return;
    };
    let mut differing = 0usize;
    for path in &scripts {
        let freebsd = parse_file(path, &["FreeBSD"]).unwrap_or_else(|e| panic!("{e}"));
        let standard = parse_file(path, &[STANDARD]).unwrap_or_else(|e| panic!("{e}"));
        if freebsd.statements != standard.statements {
            differing += 1;
        }
    }
    println!("packetdrill corpus: {differing} scripts differ between STANDARD and FreeBSD");
    // 36 scripts carry `#ifdef STANDARD` / `#ifdef FreeBSD` blocks.
    assert!(differing > 0, "no script changed with the defined names");
}

#[test]
fn corpus_every_script_round_trips_through_display() {
    let Some(scripts) = corpus_scripts() else {
        return;
    };
    for path in &scripts {
        let s = parse_file(path, &[STANDARD]).unwrap_or_else(|e| panic!("{e}"));
        assert_round_trips(&s);
    }
}

/// Prints what the corpus uses (run with `--nocapture`), and checks the
/// facts an executor depends on.
#[test]
fn corpus_census_of_statement_forms() {
    let Some(scripts) = corpus_scripts() else {
        return;
    };
    let mut syscalls: BTreeMap<String, usize> = BTreeMap::new();
    let mut errnos: BTreeMap<String, usize> = BTreeMap::new();
    let mut sysctls: BTreeMap<String, usize> = BTreeMap::new();
    let mut commands: BTreeMap<String, usize> = BTreeMap::new();
    let mut option_kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut option_lists: BTreeMap<String, usize> = BTreeMap::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut flags: BTreeMap<String, usize> = BTreeMap::new();
    let mut times: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut header: BTreeMap<String, usize> = BTreeMap::new();
    let mut misc: BTreeMap<&'static str, usize> = BTreeMap::new();
    for path in &scripts {
        let s = parse_file(path, &[STANDARD]).unwrap_or_else(|e| panic!("{e}"));
        if let Some(v) = s.options.ip_version {
            *header
                .entry(format!("ip_version={}", v.as_str()))
                .or_default() += 1;
        }
        if s.options.tolerance_usecs.is_some() {
            *header.entry("tolerance_usecs".into()).or_default() += 1;
        }
        for (name, _) in &s.options.other {
            *header.entry(name.clone()).or_default() += 1;
        }
        for st in &s.statements {
            let t = match st.time {
                TimeSpec::Absolute(_) => "absolute",
                TimeSpec::Relative(_) => "relative",
                TimeSpec::Any => "any (*)",
                TimeSpec::AbsoluteRange { .. } => "absolute range",
                TimeSpec::RelativeRange { .. } => "relative range",
            };
            *times.entry(t).or_default() += 1;
            match &st.kind {
                StatementKind::Syscall(c) => {
                    *syscalls.entry(c.name.clone()).or_default() += 1;
                    if let Some(e) = &c.errno {
                        *errnos.entry(e.clone()).or_default() += 1;
                    }
                    if c.end_usecs.is_some() {
                        *misc.entry("blocking syscall (...end)").or_default() += 1;
                    }
                }
                StatementKind::Command(c) => match &c.kind {
                    CommandKind::Sysctl { name, .. } => {
                        *sysctls.entry(name.clone()).or_default() += 1
                    }
                    CommandKind::SockstatCount { state, filters, .. } => {
                        let key = format!("sockstat count {state} filters={filters:?}");
                        *commands.entry(key).or_default() += 1
                    }
                    CommandKind::TcpDropState { state } => {
                        *commands.entry(format!("tcpdrop -s {state}")).or_default() += 1
                    }
                    CommandKind::Shell => {
                        *commands.entry(format!("shell: {}", c.text)).or_default() += 1
                    }
                },
                StatementKind::Code(c) => match &c.kind {
                    CodeKind::TcpiAsserts(asserts) => {
                        for a in asserts {
                            let key = format!("assert {} {} {:?}", a.field, a.op.as_str(), a.value);
                            *codes.entry(key).or_default() += 1;
                        }
                    }
                    CodeKind::Raw => *codes.entry(format!("raw: {}", c.text)).or_default() += 1,
                },
                StatementKind::Packet(p) => {
                    let dir = if p.direction == Direction::In {
                        "<"
                    } else {
                        ">"
                    };
                    *flags.entry(format!("{dir} {}", p.flags)).or_default() += 1;
                    if p.ip.is_some() {
                        *misc.entry("packet with [ip info]").or_default() += 1;
                    }
                    if matches!(p.seq, SeqSpec::Any { .. }) {
                        *misc.entry("packet with ...(len) sequence").or_default() += 1;
                    }
                    if p.ack.is_some() && !p.flags.ack {
                        *misc
                            .entry("packet with `ack N` but no ACK flag")
                            .or_default() += 1;
                    }
                    if p.win.is_none() {
                        *misc.entry("packet without `win`").or_default() += 1;
                    }
                    match &p.options {
                        TcpOptionsSpec::Absent => {
                            *option_lists.entry("(absent)".into()).or_default() += 1
                        }
                        TcpOptionsSpec::Any => {
                            *option_lists.entry("<...>".into()).or_default() += 1
                        }
                        TcpOptionsSpec::List(list) => {
                            let shape: Vec<&str> =
                                list.iter().map(TcpOptionSpec::kind_name).collect();
                            *option_lists
                                .entry(format!("{dir} <{}>", shape.join(",")))
                                .or_default() += 1;
                            for o in list {
                                *option_kinds.entry(o.kind_name().to_string()).or_default() += 1;
                            }
                        }
                    }
                }
            }
        }
        if s.init_command.is_some() || s.cleanup_command.is_some() {
            *misc.entry("untimed init/cleanup command").or_default() += 1;
        }
    }
    let show = |title: &str, m: &BTreeMap<String, usize>| {
        println!("== {title} ({} distinct)", m.len());
        for (k, v) in m {
            println!("{v:>6}  {k}");
        }
    };
    println!("packetdrill corpus census over {} scripts", scripts.len());
    show("header options", &header);
    show("system calls", &syscalls);
    show("errno values", &errnos);
    show("sysctl names", &sysctls);
    show("other commands", &commands);
    show("code blocks", &codes);
    show("TCP option kinds", &option_kinds);
    show("TCP option lists", &option_lists);
    show("direction + flags", &flags);
    let times: BTreeMap<String, usize> =
        times.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    show("time forms", &times);
    let misc: BTreeMap<String, usize> = misc.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    show("other features", &misc);

    // Facts the executor is built on.
    for name in [
        "socket", "bind", "listen", "accept", "connect", "close", "shutdown", "recv",
    ] {
        assert!(syscalls.contains_key(name), "corpus lost syscall {name}");
    }
    assert!(
        codes.keys().all(|k| !k.starts_with("raw:")),
        "a code block is not a tcpi assert"
    );
    assert!(sysctls.contains_key("net.inet.tcp.hostcache.purgenow"));
}

// ----- header, comments, preprocessing -----------------------------------

#[test]
fn header_options_are_structured_and_others_kept_in_order() {
    let s = parse(
        "--ip_version=ipv6\n--tolerance_usecs=50000\n--mtu=9000\n--verbose\n\
         --define=\"a b\"\n0 close(3) = 0\n",
    );
    assert_eq!(s.options.ip_version, Some(IpVersion::V6));
    assert_eq!(s.options.tolerance_usecs, Some(50_000));
    assert_eq!(
        s.options.other,
        vec![
            ("mtu".to_string(), Some("9000".to_string())),
            ("verbose".to_string(), None),
            ("define".to_string(), Some("a b".to_string())),
        ]
    );
    assert_eq!(s.options.get("mtu"), Some("9000"));
    assert_round_trips(&s);
}

#[test]
fn comments_of_both_styles_are_ignored_and_lines_kept() {
    let s = parse(
        "// header comment ``AS IS''\n\
         /* a block\n   comment over lines */ 0.0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         +0.1 close(3) = 0// comment glued to the result\n\
         +0.1 /* inline */ close(4) = 0\n",
    );
    let lines: Vec<u32> = s.statements.iter().map(|st| st.line).collect();
    assert_eq!(lines, vec![3, 4, 5]);
    let names: Vec<&str> = s
        .statements
        .iter()
        .map(|st| match &st.kind {
            StatementKind::Syscall(c) => c.name.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(names, vec!["socket", "close", "close"]);
}

const IFDEF_SCRIPT: &str = "\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
#ifdef STANDARD
+0 close(10) = 0
#else
+0 close(11) = 0
#endif
#ifdef FreeBSD
+0 close(12) = 0
#ifndef STANDARD
+0 close(13) = 0
#endif
#endif
  #ifndef Linux // comment after a directive
+0 close(14) = 0
#endif
";

fn closed_fds(s: &Script) -> Vec<(u32, i64)> {
    s.statements
        .iter()
        .filter_map(|st| match &st.kind {
            StatementKind::Syscall(c) if c.name == "close" => {
                Some((st.line, c.args[0].as_int().unwrap()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn ifdef_selects_branches_by_defined_names() {
    let standard = parse_script("t", IFDEF_SCRIPT, &[STANDARD]).unwrap();
    assert_eq!(closed_fds(&standard), vec![(3, 10), (14, 14)]);
    let freebsd = parse_script("t", IFDEF_SCRIPT, &["FreeBSD"]).unwrap();
    assert_eq!(
        closed_fds(&freebsd),
        vec![(5, 11), (8, 12), (10, 13), (14, 14)]
    );
    let both = parse_script("t", IFDEF_SCRIPT, &["FreeBSD", STANDARD, "Linux"]).unwrap();
    assert_eq!(closed_fds(&both), vec![(3, 10), (8, 12)]);
}

#[test]
fn ifdef_errors_are_reported_at_the_directive() {
    assert_eq!(
        parse_err("0 close(3) = 0\n#endif\n"),
        (2, 1, SyntaxErrorKind::UnmatchedDirective("endif"))
    );
    assert_eq!(
        parse_err("0 close(3) = 0\n  #ifdef FreeBSD\n+0 close(4) = 0\n"),
        (2, 3, SyntaxErrorKind::UnterminatedConditional)
    );
    assert_eq!(
        parse_err("#define X 1\n0 close(3) = 0\n"),
        (1, 1, SyntaxErrorKind::UnknownDirective("define".into()))
    );
    assert_eq!(
        parse_err("#ifdef\n#endif\n"),
        (1, 1, SyntaxErrorKind::MissingDirectiveName("ifdef"))
    );
    assert_eq!(
        parse_err("#ifdef A\n#else\n#else\n#endif\n"),
        (3, 1, SyntaxErrorKind::DuplicateElse)
    );
    // Unknown directives inside a skipped branch are ignored, as cpp does.
    let s = parse("#ifdef NOT_DEFINED\n#pragma whatever\n#endif\n0 close(3) = 0\n");
    assert_eq!(s.statements.len(), 1);
}

// ----- times -----------------------------------------------------------------

#[test]
fn time_specs_absolute_relative_any_and_ranges() {
    let s = parse(
        " 0.100 close(3) = 0\n\
         +0.1 close(3) = 0\n\
         + 0.00 close(3) = 0\n\
         2 close(3) = 0\n\
         * > S 0:0(0) <mss 1460>\n\
         0.1~0.2 > . 1:1(0) ack 1\n\
         +0.1~+0.25 > . 1:1(0) ack 1\n\
         +.5 close(3) = 0\n\
         1.0000009 close(3) = 0\n",
    );
    let times: Vec<TimeSpec> = s.statements.iter().map(|st| st.time).collect();
    assert_eq!(
        times,
        vec![
            TimeSpec::Absolute(100_000),
            TimeSpec::Relative(100_000),
            TimeSpec::Relative(0),
            TimeSpec::Absolute(2_000_000),
            TimeSpec::Any,
            TimeSpec::AbsoluteRange {
                start: 100_000,
                end: 200_000
            },
            TimeSpec::RelativeRange {
                start: 100_000,
                end: 250_000
            },
            TimeSpec::Relative(500_000),
            // Digits past microseconds are truncated, as packetdrill does.
            TimeSpec::Absolute(1_000_000),
        ]
    );
    assert_round_trips(&s);
}

#[test]
fn blocking_syscall_carries_its_end_time() {
    let c =
        only_syscall(" 1.00...6.00 connect(3, ..., ...) = -1 ETIMEDOUT (Operation timed out)\n");
    assert_eq!(c.end_usecs, Some(6_000_000));
    assert_eq!(c.name, "connect");
    assert_eq!(c.result, Expr::Int(-1));
    assert_eq!(c.errno.as_deref(), Some("ETIMEDOUT"));
    assert_eq!(c.note.as_deref(), Some("Operation timed out"));
    assert_eq!(
        parse_err(" 6.00...1.00 connect(3, ..., ...) = 0\n"),
        (1, 2, SyntaxErrorKind::TimeRangeBackwards)
    );
}

#[test]
fn time_errors_negative_backwards_and_wildcards_off_outbound_packets() {
    assert_eq!(
        parse_err("-1.0 close(3) = 0\n"),
        (1, 1, SyntaxErrorKind::NegativeTime)
    );
    assert_eq!(
        parse_err("0.2~0.1 > S 0:0(0)\n"),
        (1, 1, SyntaxErrorKind::TimeRangeBackwards)
    );
    assert_eq!(
        parse_err("+0\n* close(3) = 0\n"),
        (
            2,
            1,
            SyntaxErrorKind::Unexpected {
                expected: "a packet (`<` or `>`), a system call, a `command` or a %{ code }% block"
                    .into(),
                found: "`*`".into()
            }
        )
    );
    assert_eq!(
        parse_err("* close(3) = 0\n"),
        (1, 1, SyntaxErrorKind::TimeOnlyForOutbound("`*`"))
    );
    assert_eq!(
        parse_err("0.1~0.2 < S 0:0(0)\n"),
        (1, 1, SyntaxErrorKind::TimeOnlyForOutbound("range"))
    );
}

// ----- packets ---------------------------------------------------------------

#[test]
fn outbound_syn_with_full_option_list() {
    let p = only_packet(
        "+0.00 > S  0:0(0)       win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>\n",
    );
    assert_eq!(p.direction, Direction::Out);
    assert_eq!(
        p.flags,
        TcpFlags {
            syn: true,
            ..TcpFlags::default()
        }
    );
    assert_eq!(
        p.seq,
        SeqSpec::Relative {
            start: 0,
            end: 0,
            len: 0
        }
    );
    assert_eq!(p.ack, None);
    assert_eq!(p.win, Some(65535));
    assert_eq!(
        p.options,
        TcpOptionsSpec::List(vec![
            TcpOptionSpec::Mss(1460),
            TcpOptionSpec::Nop,
            TcpOptionSpec::WindowScale(6),
            TcpOptionSpec::SackPermitted,
            TcpOptionSpec::Timestamp {
                val: Some(100),
                ecr: 0,
                ecr_absolute: false
            },
        ])
    );
}

#[test]
fn inbound_data_segment_with_ack_and_sack_blocks() {
    let p = only_packet("+0.00 <  .  50:300(250) ack   1 win 65535\n");
    assert_eq!(p.direction, Direction::In);
    assert!(p.flags.ack && !p.flags.syn && !p.flags.fin);
    assert_eq!(
        p.seq,
        SeqSpec::Relative {
            start: 50,
            end: 300,
            len: 250
        }
    );
    assert_eq!(p.ack, Some(1));
    assert_eq!(p.options, TcpOptionsSpec::Absent);

    let p = only_packet("+0 > . 1:1(0) ack 100 win 65401 <nop,nop,sack 50:100 600:700 400:500>\n");
    assert_eq!(
        p.options,
        TcpOptionsSpec::List(vec![
            TcpOptionSpec::Nop,
            TcpOptionSpec::Nop,
            TcpOptionSpec::Sack(vec![(50, 100), (600, 700), (400, 500)]),
        ])
    );
}

#[test]
fn flag_words_cover_every_bit_and_none() {
    let cases: [(&str, TcpFlags); 8] = [
        (
            "S",
            TcpFlags {
                syn: true,
                ..TcpFlags::default()
            },
        ),
        (
            "S.",
            TcpFlags {
                syn: true,
                ack: true,
                ..TcpFlags::default()
            },
        ),
        (
            "F.",
            TcpFlags {
                fin: true,
                ack: true,
                ..TcpFlags::default()
            },
        ),
        (
            "R.",
            TcpFlags {
                rst: true,
                ack: true,
                ..TcpFlags::default()
            },
        ),
        (
            "FP.",
            TcpFlags {
                fin: true,
                psh: true,
                ack: true,
                ..TcpFlags::default()
            },
        ),
        (
            "SEW",
            TcpFlags {
                syn: true,
                ece: true,
                cwr: true,
                ..TcpFlags::default()
            },
        ),
        (
            "U.",
            TcpFlags {
                urg: true,
                ack: true,
                ..TcpFlags::default()
            },
        ),
        ("-", TcpFlags::default()),
    ];
    for (word, expected) in cases {
        let p = only_packet(&format!("+0 < {word} 0:0(0) win 100\n"));
        assert_eq!(p.flags, expected, "{word}");
        assert_eq!(p.flags.to_string(), word, "{word}");
    }
    let p = only_packet("+0 < . 1:1(0) ack 1 win 100\n");
    assert!(p.flags.ack && !p.flags.syn);
}

#[test]
fn sequence_forms_relative_absolute_any_and_wraparound() {
    let p = only_packet("+0 < . 4294967295:9(10) ack 1 win 100\n");
    assert_eq!(
        p.seq,
        SeqSpec::Relative {
            start: u32::MAX,
            end: 9,
            len: 10
        }
    );
    let p = only_packet("+0 < . 1000:1010(10)! ack 1 win 100\n");
    assert_eq!(
        p.seq,
        SeqSpec::Absolute {
            start: 1000,
            end: 1010,
            len: 10
        }
    );
    let p =
        only_packet("+0.00 > S.     ...(0)     ack 65537 win 65535 <mss 1460,sackOK,eol,eol>\n");
    assert_eq!(p.seq, SeqSpec::Any { len: 0 });
    assert_eq!(p.seq.start(), None);
    assert_eq!(p.ack, Some(65537));
}

#[test]
fn ip_info_ecn_markings_and_ports() {
    let p = only_packet("+0.01 < [noecn] . 1:1(0) ack 1 win 65535\n");
    assert_eq!(
        p.ip,
        Some(IpInfoSpec {
            ecn: Some(EcnSpec::NotEct),
            ..IpInfoSpec::default()
        })
    );
    let p = only_packet("+0 >[ect0] P. 1:11(10) ack 1\n");
    assert_eq!(p.ip.and_then(|i| i.ecn), Some(EcnSpec::Ect0));
    assert!(p.flags.psh && p.flags.ack);
    assert_eq!(p.win, None);
    let p = only_packet("+0 > (tos 0x2, ttl 64) 8080>49152 . 1:1(0) ack 1 urg 3\n");
    assert_eq!(
        p.ip,
        Some(IpInfoSpec {
            tos: Some(2),
            ttl: Some(64),
            ..IpInfoSpec::default()
        })
    );
    assert_eq!(p.ports, Some((8080, 49152)));
    assert_eq!(p.urg, Some(3));
}

#[test]
fn option_wildcards_timestamps_eol_and_fast_open() {
    let p = only_packet("+0 > S. 0:0(0) ack 1 <...>\n");
    assert_eq!(p.options, TcpOptionsSpec::Any);
    let p = only_packet("+0 > . 1:1(0) ack 1 <TS val ... ecr 7!,eol, eol>\n");
    assert_eq!(
        p.options,
        TcpOptionsSpec::List(vec![
            TcpOptionSpec::Timestamp {
                val: None,
                ecr: 7,
                ecr_absolute: true
            },
            TcpOptionSpec::Eol,
            TcpOptionSpec::Eol,
        ])
    );
    let p = only_packet("+0 < S 0:0(0) win 100 <FO 0011aabb,FO,md5 00ff>\n");
    assert_eq!(
        p.options,
        TcpOptionsSpec::List(vec![
            TcpOptionSpec::FastOpen("0011aabb".into()),
            TcpOptionSpec::FastOpen(String::new()),
            TcpOptionSpec::Md5("00ff".into()),
        ])
    );
}

// ----- system calls ----------------------------------------------------------

#[test]
fn syscall_arguments_symbols_arrays_and_bit_or() {
    let c = only_syscall("+0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n");
    assert_eq!(
        c.args,
        vec![Expr::Ellipsis, word("SOCK_STREAM"), word("IPPROTO_TCP")]
    );
    assert_eq!(c.result, Expr::Int(3));
    let c = only_syscall("+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0\n");
    assert_eq!(
        c.args[2],
        Expr::BitOr(vec![word("O_RDWR"), word("O_NONBLOCK")])
    );
    let c = only_syscall("+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0\n");
    assert_eq!(c.args[3], Expr::Array(vec![word("ECONNRESET")]));
    assert_eq!(c.args[4], Expr::Array(vec![Expr::Int(4)]));
    let c = only_syscall("+0.00 write (3, ..., 10) = 10\n");
    assert_eq!(c.name, "write");
    assert_eq!(c.args, vec![Expr::Int(3), Expr::Ellipsis, Expr::Int(10)]);
}

#[test]
fn syscall_results_errno_notes_and_hex() {
    let c =
        only_syscall("+0.00 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n");
    assert_eq!(c.result, Expr::Int(-1));
    assert_eq!(c.errno.as_deref(), Some("EINPROGRESS"));
    assert_eq!(c.note.as_deref(), Some("Operation now in progress"));
    let c = only_syscall("+0.00 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)\n");
    assert_eq!(c.result, Expr::Hex(2));
    assert_eq!(c.result.as_int(), Some(2));
    assert_eq!(c.errno, None);
    assert_eq!(c.note.as_deref(), Some("flags O_RDWR"));
    let c = only_syscall(
        "+0 bind(3, ..., ...) = -1 EADDRNOTAVAIL (Can't assign (requested) address)\n",
    );
    assert_eq!(c.note.as_deref(), Some("Can't assign (requested) address"));
}

#[test]
fn syscall_structs_strings_and_calls() {
    let c = only_syscall("+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n");
    let assign = |l: &str, r: Expr| Expr::Assign {
        lhs: Box::new(word(l)),
        rhs: Box::new(r),
    };
    assert_eq!(
        c.args[3],
        Expr::Struct(vec![
            assign("onoff", Expr::Int(1)),
            assign("linger", Expr::Int(0))
        ])
    );
    let c = only_syscall(
        "+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), \
         sin_addr=inet_addr(\"192.0.2.1\")}, 16) = 0\n",
    );
    let Expr::Struct(fields) = &c.args[1] else {
        panic!("not a struct: {:?}", c.args[1]);
    };
    assert_eq!(
        fields[1],
        assign(
            "sin_port",
            Expr::Call {
                name: "htons".into(),
                args: vec![Expr::Int(8080)]
            }
        )
    );
    assert_eq!(
        fields[2],
        assign(
            "sin_addr",
            Expr::Call {
                name: "inet_addr".into(),
                args: vec![Expr::Str {
                    value: "192.0.2.1".into(),
                    ellipsis: false
                }]
            }
        )
    );
    let c = only_syscall("+0 write(4, \"hello\"..., 5) = 5\n");
    assert_eq!(
        c.args[1],
        Expr::Str {
            value: "hello".into(),
            ellipsis: true
        }
    );
}

// ----- commands and code -----------------------------------------------------

#[test]
fn commands_sysctl_sockstat_tcpdrop_and_shell() {
    let s = parse(
        " 0.00 `sysctl -w net.inet.tcp.rfc1323=1`\n\
         +0.10 `sockstat -6 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1`\n\
         +0.00 `sockstat -4 -P tcp -s -p 8080 | grep -c SYN_RCVD | grep 0`\n\
         +0.00 `tcpdrop -s TIME_WAIT`\n\
         +0.00 `ifconfig tun0 mtu 1500`\n",
    );
    let kinds: Vec<CommandKind> = s
        .statements
        .iter()
        .map(|st| match &st.kind {
            StatementKind::Command(c) => c.kind.clone(),
            other => panic!("not a command: {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            CommandKind::Sysctl {
                name: "net.inet.tcp.rfc1323".into(),
                value: "1".into()
            },
            CommandKind::SockstatCount {
                ip_version: Some(IpVersion::V6),
                protocol: "tcp".into(),
                port: None,
                filters: vec!["packetdril".into()],
                state: "TIME_WAIT".into(),
                count_pattern: "1".into(),
            },
            CommandKind::SockstatCount {
                ip_version: Some(IpVersion::V4),
                protocol: "tcp".into(),
                port: Some(8080),
                filters: vec![],
                state: "SYN_RCVD".into(),
                count_pattern: "0".into(),
            },
            CommandKind::TcpDropState {
                state: "TIME_WAIT".into()
            },
            CommandKind::Shell,
        ]
    );
}

#[test]
fn untimed_init_and_cleanup_commands() {
    let s = parse("--ip_version=ipv4\n`echo init`\n0 close(3) = 0\n`echo cleanup`\n");
    assert_eq!(
        s.init_command.map(|c| c.text),
        Some("echo init".to_string())
    );
    assert_eq!(
        s.cleanup_command.map(|c| c.text),
        Some("echo cleanup".to_string())
    );
    assert_eq!(s.statements.len(), 1);
    assert_eq!(
        parse_err("0 close(3) = 0\n`echo cleanup`\n+0 close(4) = 0\n"),
        (3, 1, SyntaxErrorKind::AfterCleanupCommand)
    );
}

#[test]
fn code_blocks_tcpi_asserts_and_raw_python() {
    let s = parse(
        "+0.00 %{ assert tcpi_state == TCPI_ESTABLISHED }%\n\
         +0.00 %{ assert tcpi_options == 0 }%\n\
         +0 %{\nassert tcpi_state == TCPI_SYN_RECEIVED\nassert tcpi_snd_cwnd >= 0x10\n}%\n\
         +0 %{ print(tcpi_rto) }%\n",
    );
    let codes: Vec<CodeKind> = s
        .statements
        .iter()
        .map(|st| match &st.kind {
            StatementKind::Code(c) => c.kind.clone(),
            other => panic!("not code: {other:?}"),
        })
        .collect();
    let CodeKind::TcpiAsserts(first) = &codes[0] else {
        panic!("not asserts: {:?}", codes[0]);
    };
    assert_eq!(first[0].field, "tcpi_state");
    assert_eq!(first[0].op, CmpOp::Eq);
    assert_eq!(first[0].expected_state(), Some(TcpiState::Established));
    let CodeKind::TcpiAsserts(second) = &codes[1] else {
        panic!("not asserts: {:?}", codes[1]);
    };
    assert_eq!(second[0].value, CodeValue::Int(0));
    assert_eq!(second[0].expected_state(), None);
    let CodeKind::TcpiAsserts(third) = &codes[2] else {
        panic!("not asserts: {:?}", codes[2]);
    };
    assert_eq!(third.len(), 2);
    assert_eq!(third[0].expected_state(), Some(TcpiState::SynReceived));
    assert_eq!(third[1].op, CmpOp::Ge);
    assert_eq!(third[1].value, CodeValue::Int(16));
    assert_eq!(codes[3], CodeKind::Raw);
    assert_eq!(s.statements[3].line, 7);
    assert_eq!(
        TcpiState::from_symbol("TCP_FIN_WAIT1"),
        Some(TcpiState::FinWait1)
    );
    assert_eq!(TcpiState::from_symbol("TCPI_BOGUS"), None);
}

// ----- errors ----------------------------------------------------------------

#[test]
fn bad_flag_is_reported_at_the_offending_letter() {
    assert_eq!(
        parse_err("0 close(3) = 0\n+0.1 < SX 0:0(0) win 1\n"),
        (2, 9, SyntaxErrorKind::BadFlag('X'))
    );
    assert_eq!(
        parse_err("+0 < SS 0:0(0) win 1\n"),
        (1, 7, SyntaxErrorKind::DuplicateFlag('S'))
    );
}

#[test]
fn unterminated_delimiters_are_reported_where_they_open() {
    assert_eq!(
        parse_err("0 close(3) = 0\n+0 %{ assert tcpi_state == 1\n+0 close(4) = 0\n"),
        (2, 4, SyntaxErrorKind::UnterminatedCode)
    );
    assert_eq!(
        parse_err("0 close(3) = 0 /* never closed\n"),
        (1, 16, SyntaxErrorKind::UnterminatedComment)
    );
    assert_eq!(
        parse_err("0 `sysctl -w a=1\n"),
        (1, 3, SyntaxErrorKind::UnterminatedCommand)
    );
    assert_eq!(
        parse_err("0 write(3, \"abc, 3) = 3\n"),
        (1, 12, SyntaxErrorKind::UnterminatedString)
    );
    assert_eq!(
        parse_err("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now\n"),
        (1, 41, SyntaxErrorKind::UnterminatedNote)
    );
}

#[test]
fn garbage_gives_expected_found_with_position() {
    let (line, col, kind) = parse_err("0 close(3) = 0\n+0.1 hello world\n");
    assert_eq!((line, col), (2, 12));
    assert_eq!(
        kind,
        SyntaxErrorKind::Unexpected {
            expected: "`(`".into(),
            found: "`world`".into()
        }
    );
    let (line, col, kind) = parse_err("@@@ garbage\n");
    assert_eq!((line, col), (1, 1));
    assert!(
        matches!(kind, SyntaxErrorKind::Unexpected { .. }),
        "{kind:?}"
    );
    let err = parse_script("x.pkt", "0 close(3) = 0\n  ???\n", &[]).unwrap_err();
    assert_eq!(err.position(), Some((2, 3)));
    assert!(
        err.to_string().starts_with("x.pkt:2:3: expected a time"),
        "{err}"
    );
}

#[test]
fn semantic_errors_in_packets() {
    assert_eq!(
        parse_err("+0 < . 1:5(3) ack 1 win 100\n"),
        (
            1,
            8,
            SyntaxErrorKind::InconsistentSequence {
                start: 1,
                end: 5,
                len: 3
            }
        )
    );
    assert_eq!(
        parse_err("+0 < S 0:0(0) win 70000\n"),
        (
            1,
            19,
            SyntaxErrorKind::NumberOutOfRange {
                what: "a TCP window",
                text: "70000".into()
            }
        )
    );
    assert_eq!(
        parse_err("+0 < S 0:0(0) win 1 <mss 1460,bogus 3>\n"),
        (1, 31, SyntaxErrorKind::UnknownTcpOption("bogus".into()))
    );
    assert_eq!(
        parse_err("+0 < S 0:0(0) win 1 <...>\n"),
        (1, 21, SyntaxErrorKind::WildcardOnlyForOutbound("`<...>`"))
    );
    assert_eq!(
        parse_err("+0 < S ...(0) win 1\n"),
        (
            1,
            8,
            SyntaxErrorKind::WildcardOnlyForOutbound("`...` as a sequence number")
        )
    );
    assert_eq!(
        parse_err("+0 < udp (10)\n"),
        (1, 6, SyntaxErrorKind::UnsupportedPacket("udp".into()))
    );
    assert_eq!(
        parse_err("+0 < S 0:0(0) win 1 <FO abc>\n"),
        (1, 25, SyntaxErrorKind::BadHexBlob("abc".into()))
    );
}

#[test]
fn option_errors() {
    assert_eq!(
        parse_err("--ip_version=ipv5\n"),
        (1, 1, SyntaxErrorKind::UnknownIpVersion("ipv5".into()))
    );
    assert_eq!(
        parse_err("--tolerance_usecs=soon\n"),
        (
            1,
            1,
            SyntaxErrorKind::BadOptionValue {
                name: "tolerance_usecs".into(),
                value: "soon".into()
            }
        )
    );
    assert_eq!(
        parse_err("0 close(3) = 0\n--mtu=1500\n"),
        (2, 1, SyntaxErrorKind::OptionAfterEvents("mtu".into()))
    );
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("0 f({}1{}) = 0\n", "[".repeat(200), "]".repeat(200));
    let (_, _, kind) = parse_err(&deep);
    assert_eq!(kind, SyntaxErrorKind::TooDeep(64));
}

#[test]
fn missing_file_is_a_typed_io_error() {
    let err = parse_file("/nonexistent/dir/x.pkt", &[]).unwrap_err();
    assert!(matches!(err, ParseError::Io { .. }), "{err:?}");
    assert_eq!(err.position(), None);
}

// ----- mutation property -----------------------------------------------------

const BASE_SCRIPT: &str = "\
--ip_version=ipv4
--tolerance_usecs=50000
// Ensure defaults.
 0.00 `sysctl -w net.inet.tcp.rfc1323=1`
+0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.00 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)
+0.00 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0.00 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0
+0.00 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0.00 > SEW  0:0(0)       win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
+0.10 < [ect0] S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>
/* block
   comment */
+0.00 >  . 1:1(0) ack 1 win 65535 <nop,nop,sack 200:300 400:500>
#ifdef STANDARD
+0.00 %{ assert tcpi_state == TCPI_ESTABLISHED }%
#else
+0.00 `sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1`
#endif
 1.00...6.00 read(3, ..., 10) = 10
* > F. 1:1(0) ack 1 <...>
+0.1~+0.2 > S. ...(0) ack 1
+0.00 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
+0.00 close(3) = 0
";

#[test]
fn base_script_of_the_mutation_property_parses() {
    let s = parse(BASE_SCRIPT);
    assert_eq!(s.statements.len(), 15);
    assert_round_trips(&s);
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Replace { at: usize, text: String },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let fragment = prop_oneof![
        6 => "[-+.0-9a-zA-Z_ ,:()<>\\[\\]{}|=*~!`\"%/#\n]{1,6}",
        3 => prop::sample::select(vec![" ", "\n", "\t", "0", "9", "."]).prop_map(str::to_string),
        3 => prop::sample::select(vec![
            "\n+0.1 close(3) = 0\n",
            "\n+0 > . 1:1(0) ack 1 <nop,nop,sack 1:2>\n",
            "\n+0 %{ assert tcpi_state == TCPI_LISTEN }%\n",
            "\n+0 `sysctl -w a.b=1`\n",
            "\n0.5~0.6 > R 1:1(0)\n",
        ])
        .prop_map(str::to_string),
        1 => Just("%{".to_string()),
        1 => Just("}%".to_string()),
        1 => Just("/*".to_string()),
        1 => Just("...".to_string()),
        1 => Just("#ifdef X\n".to_string()),
        1 => Just("\n#endif\n".to_string()),
        1 => Just("--x=1\n".to_string()),
        1 => Just("99999999999999999999".to_string()),
        1 => Just("\u{e9}\u{1F600}\u{0}".to_string()),
    ];
    prop_oneof![
        (any::<usize>(), 1usize..8).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), fragment.clone()).prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<usize>(), fragment).prop_map(|(at, text)| Mutation::Replace { at, text }),
    ]
}

fn apply(base: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for m in mutations {
        let n = chars.len().max(1);
        match m {
            Mutation::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Mutation::Insert { at, text } => {
                let at = (at % n).min(chars.len());
                chars.splice(at..at, text.chars());
            }
            Mutation::Replace { at, text } => {
                let at = (at % n).min(chars.len());
                let end = (at + text.chars().count()).min(chars.len());
                chars.splice(at..end, text.chars());
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any mutation of a valid script either parses (and then renders to a
    /// script that parses to the same statements) or fails with a position
    /// inside the text; it never panics.
    #[test]
    fn mutated_scripts_never_panic(mutations in prop::collection::vec(mutation(), 1..6)) {
        let text = apply(BASE_SCRIPT, &mutations);
        let lines = u32::try_from(text.split('\n').count()).unwrap();
        match parse_script("fuzz.pkt", &text, &[STANDARD]) {
            Ok(script) => assert_round_trips(&script),
            Err(ParseError::Syntax { line, col, .. }) => {
                prop_assert!(line >= 1 && line <= lines, "line {} of {}", line, lines);
                prop_assert!(col >= 1);
            }
            Err(e) => prop_assert!(false, "unexpected error {}", e),
        }
    }
}

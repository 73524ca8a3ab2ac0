//! The packetdrill executor's grammar and matching rules, on scripts written
//! for the purpose. Each rule is shown both ways: a script that follows what
//! the stack does passes, and the same script with one line wrong fails at
//! that line, so a matcher that accepted everything could not pass here.

use conformance::packetdrill::exec::{run_script, ExecOptions, Failure, Outcome};
use conformance::packetdrill::profile::CompareMode;
use conformance::packetdrill::{parse_script, STANDARD};
use tcp_core::engine::{InterpretedEngine, TableEngine};

fn run_mode(text: &str, mode: CompareMode) -> Outcome {
    let script = parse_script("test.pkt", text, &[STANDARD]).expect("script parses");
    let opts = ExecOptions {
        mode,
        verbose: true,
    };
    let table = run_script(&script, TableEngine, &opts);
    // The interpreted engine must reach the same verdict on every script.
    let interpreted = run_script(&script, InterpretedEngine::real(), &opts);
    assert_eq!(table.outcome, interpreted.outcome, "engines disagree");
    if let Outcome::Fail(f) = &table.outcome {
        eprintln!("{}:{}: {}", f.line, f.statement, f.message);
        for l in &table.log {
            eprintln!("  | {l}");
        }
    }
    table.outcome
}

fn run(text: &str) -> Outcome {
    run_mode(text, CompareMode::Lenient)
}

#[track_caller]
fn assert_pass(text: &str) {
    assert_eq!(run(text), Outcome::Pass);
}

/// The failure, which must be at `line` (1-based).
#[track_caller]
fn assert_fail_at(text: &str, line: u32) -> Failure {
    match run(text) {
        Outcome::Fail(f) => {
            assert_eq!(f.line, line, "failed at the wrong line: {}", f.message);
            f
        }
        other => panic!("expected a failure at line {line}, got {other:?}"),
    }
}

/// Replaces the one line of `text` that contains `from` by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` is not unique");
    text.replacen(from, to, 1)
}

/// The line number (1-based) of the line containing `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    let i = text
        .lines()
        .position(|l| l.contains(needle))
        .expect("needle present");
    u32::try_from(i + 1).unwrap()
}

/// A passive open, 100 bytes in (delayed ACK, 100 ms in the FreeBSD
/// profile), an active close and TIME-WAIT.
const PASSIVE: &str = "\
--tolerance_usecs=10000
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0   setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0   bind(3, ..., ...) = 0
+0   listen(3, 1) = 0
+0   < S 0:0(0) win 32767 <mss 1460,sackOK,eol,eol>
+0   > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>
+0.1 < . 1:1(0) ack 1 win 32767
+0   accept(3, ..., ...) = 4
+0   %{ assert tcpi_state == TCPI_ESTABLISHED }%
+0   < P. 1:101(100) ack 1 win 32767
+0.1 > . 1:1(0) ack 101 win 65535
+0   ioctl(4, FIONREAD, [100]) = 0
+0   recv(4, ..., 1000, MSG_PEEK) = 100
+0   read(4, ..., 1000) = 100
+0   read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)
+0   close(4) = 0
+0   > F. 1:1(0) ack 101 win 65535
+0.1 < F. 101:101(0) ack 2 win 32767
+0   > . 2:2(0) ack 102 win 65535
+0   `sockstat -4 -P tcp -s | grep -c TIME_WAIT | grep 1`
+0   close(3) = 0
";

#[test]
fn passive_open_script_passes() {
    assert_pass(PASSIVE);
}

#[test]
fn wrong_flags_fail_at_that_line() {
    let bad = edit(PASSIVE, "> S. 0:0(0) ack 1", "> S 0:0(0) ack 1");
    let f = assert_fail_at(&bad, line_of(&bad, "> S 0:0(0) ack 1"));
    assert!(
        f.message.starts_with("flags: expected S but got S."),
        "{}",
        f.message
    );
}

#[test]
fn wrong_ack_fails_at_that_line() {
    let bad = edit(PASSIVE, "> . 1:1(0) ack 101", "> . 1:1(0) ack 100");
    let f = assert_fail_at(&bad, line_of(&bad, "ack 100 win"));
    assert!(
        f.message.starts_with("ack: expected 100 but got 101"),
        "{}",
        f.message
    );
}

#[test]
fn wrong_seq_fails_at_that_line() {
    let bad = edit(PASSIVE, "> F. 1:1(0) ack 101", "> F. 2:2(0) ack 101");
    let f = assert_fail_at(&bad, line_of(&bad, "> F. 2:2(0)"));
    assert!(
        f.message.starts_with("seq: expected 2 but got 1"),
        "{}",
        f.message
    );
}

#[test]
fn missing_packet_fails() {
    // Nothing answers a pure ACK in ESTABLISHED.
    let bad = edit(
        PASSIVE,
        "+0   accept(3, ..., ...) = 4\n",
        "+0   accept(3, ..., ...) = 4\n+0   > . 1:1(0) ack 1 win 65535\n",
    );
    let f = assert_fail_at(&bad, line_of(&bad, "accept(") + 1);
    assert!(f.message.starts_with("missing packet"), "{}", f.message);
}

#[test]
fn extra_packet_fails() {
    // Without the FIN's line, the FIN meets the next expectation.
    let bad = edit(PASSIVE, "+0   > F. 1:1(0) ack 101 win 65535\n", "");
    let f = assert_fail_at(&bad, line_of(&bad, "> . 2:2(0) ack 102"));
    assert!(
        f.message.starts_with("flags: expected . but got F."),
        "{}",
        f.message
    );
}

#[test]
fn late_packet_fails() {
    // The delayed ACK comes after 100 ms, not within 10 ms.
    let bad = edit(
        PASSIVE,
        "+0.1 > . 1:1(0) ack 101",
        "+0.01 > . 1:1(0) ack 101",
    );
    let f = assert_fail_at(&bad, line_of(&bad, "+0.01 >"));
    assert!(f.message.contains("too late at 0.200000"), "{}", f.message);
}

#[test]
fn early_packet_fails() {
    let bad = edit(
        PASSIVE,
        "+0.1 > . 1:1(0) ack 101",
        "+0.3 > . 1:1(0) ack 101",
    );
    let f = assert_fail_at(&bad, line_of(&bad, "+0.3 >"));
    assert!(f.message.contains("too early"), "{}", f.message);
}

#[test]
fn wrong_return_value_fails() {
    let bad = edit(
        PASSIVE,
        "read(4, ..., 1000) = 100",
        "read(4, ..., 1000) = 99",
    );
    let f = assert_fail_at(&bad, line_of(&bad, "= 99"));
    assert!(
        f.message.contains("returned 100, expected 99"),
        "{}",
        f.message
    );
}

#[test]
fn wrong_errno_fails() {
    let bad = edit(PASSIVE, "= -1 EAGAIN", "= -1 ECONNRESET");
    let f = assert_fail_at(&bad, line_of(&bad, "ECONNRESET"));
    assert!(
        f.message
            .contains("returned -1 EAGAIN, expected -1 ECONNRESET"),
        "{}",
        f.message
    );
}

#[test]
fn wrong_tcpi_state_fails() {
    let bad = edit(PASSIVE, "TCPI_ESTABLISHED", "TCPI_SYN_RECEIVED");
    let f = assert_fail_at(&bad, line_of(&bad, "TCPI_SYN_RECEIVED"));
    assert!(f.message.contains("ESTABLISHED"), "{}", f.message);
}

#[test]
fn wrong_sockstat_count_fails() {
    let bad = edit(PASSIVE, "TIME_WAIT | grep 1", "TIME_WAIT | grep 0");
    assert_fail_at(&bad, line_of(&bad, "sockstat"));
}

#[test]
fn missing_option_fails_in_lenient_mode() {
    let bad = edit(
        PASSIVE,
        "> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>",
        "> S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,nop,nop>",
    );
    let f = assert_fail_at(&bad, line_of(&bad, "<mss 1460,nop,nop,nop,nop>"));
    assert!(f.message.starts_with("options"), "{}", f.message);
}

#[test]
fn window_and_layout_count_only_in_strict_mode() {
    // FreeBSD's window for our stack's SYN,ACK (ours is 65535 too) is not
    // what differs here: the option layout is.
    let text = edit(
        PASSIVE,
        "> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>",
        "> S. 0:0(0) ack 1 win 1000 <mss 1460,nop,nop,sackOK>",
    );
    assert_eq!(run_mode(&text, CompareMode::Lenient), Outcome::Pass);
    match run_mode(&text, CompareMode::Strict) {
        Outcome::Fail(f) => assert!(f.message.starts_with("win"), "{}", f.message),
        other => panic!("strict mode must compare the window: {other:?}"),
    }
}

#[test]
fn absolute_and_relative_times_mix() {
    let text = edit(
        PASSIVE,
        "+0.1 < . 1:1(0) ack 1 win 32767",
        "0.100 < . 1:1(0) ack 1 win 32767",
    );
    assert_pass(&text);
    // An absolute time earlier than where an earlier event left the clock.
    let late = edit(PASSIVE, "+0.1 < F. 101:101", "0.150 < F. 101:101");
    assert_fail_at(&late, line_of(&late, "0.150 <"));
}

#[test]
fn any_time_and_time_ranges_match() {
    let star = edit(PASSIVE, "+0.1 > . 1:1(0) ack 101", "* > . 1:1(0) ack 101");
    assert_pass(&star);
    let range = edit(
        PASSIVE,
        "+0.1 > . 1:1(0) ack 101",
        "+0.05~+0.2 > . 1:1(0) ack 101",
    );
    assert_pass(&range);
    let wrong_range = edit(
        PASSIVE,
        "+0.1 > . 1:1(0) ack 101",
        "+0.15~+0.2 > . 1:1(0) ack 101",
    );
    let f = assert_fail_at(&wrong_range, line_of(&wrong_range, "+0.15~+0.2"));
    assert!(f.message.contains("too early"), "{}", f.message);
}

#[test]
fn tolerance_option_widens_the_window() {
    let off_by_30ms = edit(
        PASSIVE,
        "+0.1 > . 1:1(0) ack 101",
        "+0.13 > . 1:1(0) ack 101",
    );
    assert!(matches!(run(&off_by_30ms), Outcome::Fail(_)));
    let tolerant = edit(
        &off_by_30ms,
        "--tolerance_usecs=10000",
        "--tolerance_usecs=50000",
    );
    assert_pass(&tolerant);
}

/// An active open with timestamps: our TSval is mapped from the script's,
/// and our echo of the peer's TSval is compared.
const ACTIVE_TS: &str = "\
--tolerance_usecs=10000
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)
+0   fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0   > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
+0.1 < S. 0:0(0) ack 1 win 32767 <mss 1460,nop,nop,TS val 700 ecr 100,nop,wscale 7>
+0   > . 1:1(0) ack 1 <nop,nop,TS val 200 ecr 700>
+0   getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0   %{ assert tcpi_options == 5 }%
+0   write(3, ..., 10) = 10
+0   > P. 1:11(10) ack 1 <nop,nop,TS val 200 ecr 700>
+0.1 < . 1:1(0) ack 11 win 257 <nop,nop,TS val 800 ecr 200>
+0   shutdown(3, SHUT_WR) = 0
+0   > F. 11:11(0) ack 1 <nop,nop,TS val 300 ecr 800>
";

#[test]
fn active_open_with_timestamps_passes() {
    assert_pass(ACTIVE_TS);
}

#[test]
fn timestamp_echo_must_be_ours() {
    let bad = edit(ACTIVE_TS, "TS val 700 ecr 100", "TS val 700 ecr 999");
    let f = assert_fail_at(&bad, line_of(&bad, "ecr 999"));
    assert!(f.message.contains("TSval 999"), "{}", f.message);
}

#[test]
fn wrong_timestamp_echo_fails() {
    let bad = edit(
        ACTIVE_TS,
        "+0   > . 1:1(0) ack 1 <nop,nop,TS val 200 ecr 700>",
        "+0   > . 1:1(0) ack 1 <nop,nop,TS val 200 ecr 701>",
    );
    let f = assert_fail_at(&bad, line_of(&bad, "ecr 701"));
    assert!(f.message.starts_with("TS ecr"), "{}", f.message);
}

#[test]
fn wrong_tcpi_options_fail() {
    let bad = edit(ACTIVE_TS, "tcpi_options == 5", "tcpi_options == 7");
    assert_fail_at(&bad, line_of(&bad, "tcpi_options"));
}

#[test]
fn refused_connection_reports_so_error_once() {
    let text = "\
--tolerance_usecs=10000
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0   > S 0:0(0) <...>
+0.1 < R. 0:0(0) ack 1 win 0
+0   getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0
+0   getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0   %{ assert tcpi_state == TCPI_CLOSED }%
+0   close(3) = 0
";
    assert_pass(text);
    let bad = edit(text, "[ECONNREFUSED]", "[ECONNRESET]");
    assert_fail_at(&bad, line_of(&bad, "[ECONNRESET]"));
}

#[test]
fn blocking_connect_returns_when_the_handshake_completes() {
    let text = "\
--tolerance_usecs=10000
0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
0...0.2 connect(3, ..., ...) = 0
+0     > S 0:0(0) <...>
0.2    < S. 0:0(0) ack 1 win 32767 <mss 1460>
+0     > . 1:1(0) ack 1
+0.1   close(3) = 0
+0     > F. 1:1(0) ack 1
";
    assert_pass(text);
    let wrong_time = edit(text, "0...0.2 connect", "0...0.4 connect");
    let f = assert_fail_at(&wrong_time, 3);
    assert!(f.message.contains("timing error"), "{}", f.message);
    let wrong_result = edit(
        text,
        "connect(3, ..., ...) = 0",
        "connect(3, ..., ...) = -1 ECONNREFUSED",
    );
    assert_fail_at(&wrong_result, 3);
}

#[test]
fn blocking_call_without_end_time_must_not_block() {
    let text = "\
--tolerance_usecs=10000
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    connect(3, ..., ...) = 0
";
    // A blocking call written without `...` must return at once.
    let f = assert_fail_at(text, 3);
    assert!(f.message.contains("blocked"), "{}", f.message);
}

#[test]
fn retransmitted_syns_follow_the_timer_profile() {
    let text = "\
--tolerance_usecs=10000
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0   > S 0:0(0) <...>
+1   > S 0:0(0) <...>
+2.2 > S 0:0(0) <...>
+0   close(3) = 0
";
    // 1 s initial RTO, then 2 s backed off plus FreeBSD's 200 ms rexmit_slop.
    assert_pass(text);
    let bad = edit(text, "+2.2 > S", "+1.5 > S");
    let f = assert_fail_at(&bad, line_of(&bad, "+1.5 > S"));
    assert!(f.message.contains("too late at 3.200000"), "{}", f.message);
}

#[test]
fn ifdef_standard_selects_the_standard_branch() {
    let text = "\
--tolerance_usecs=10000
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   bind(3, ..., ...) = 0
+0.1 < . 17:20(3) ack 34 win 32767
#ifdef STANDARD
+0   > R 34:34(0)
#endif
#ifdef FreeBSD
+0   > R. 0:0(0) ack 20
#endif
+0   close(3) = 0
";
    assert_pass(text);
}

#[test]
fn closed_port_answers_with_rst() {
    let text = "\
--tolerance_usecs=10000
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   bind(3, ..., ...) = 0
+0.1 < S 0:3(3) win 32767 <mss 1460>
+0   > R. 0:0(0) ack 4
+0   close(3) = 0
";
    assert_pass(text);
    let bad = edit(text, "> R. 0:0(0) ack 4", "> R. 0:0(0) ack 1");
    assert_fail_at(&bad, line_of(&bad, "ack 1"));
}

#[test]
fn ipv6_scripts_run_over_ipv6() {
    let text = edit(
        PASSIVE,
        "--tolerance_usecs=10000",
        "--ip_version=ipv6\n--tolerance_usecs=10000",
    );
    let text = text
        .replace("mss 1460", "mss 1440")
        .replace("-4 -P", "-6 -P");
    assert_pass(&text);
    // The MSS we announce is the IPv6 one.
    let bad = text.replace(
        "> S. 0:0(0) ack 1 win 65535 <mss 1440",
        "> S. 0:0(0) ack 1 win 65535 <mss 1460",
    );
    let f = assert_fail_at(&bad, line_of(&bad, "> S. 0:0(0)"));
    assert!(f.message.starts_with("mss option"), "{}", f.message);
}

#[test]
fn receive_buffer_is_reported_as_freebsd_rounds_it() {
    let text = "\
--tolerance_usecs=10000
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0   getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0
+0   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0   > S 0:0(0) <...>
+0.1 < S. 0:0(0) ack 1 win 32767 <mss 1460>
+0   > . 1:1(0) ack 1
+0   getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65700], [4]) = 0
";
    assert_pass(text);
    let bad = edit(text, "[65700]", "[65536]");
    let last = u32::try_from(bad.lines().count()).unwrap();
    let f = assert_fail_at(&bad, last);
    assert!(f.message.contains("got 65700"), "{}", f.message);
}

#[test]
fn keepinit_bounds_a_blocking_connect() {
    // FreeBSD's TCP_KEEPINIT (seconds): the open attempt times out after 5 s
    // although SYN retransmissions remain (1 s, then 2 s + 200 ms slop).
    let text = "\
--tolerance_usecs=10000
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    setsockopt(3, IPPROTO_TCP, TCP_KEEPINIT, [5], 4) = 0
0...5 connect(3, ..., ...) = -1 ETIMEDOUT (Operation timed out)
+0    > S 0:0(0) <...>
+1    > S 0:0(0) <...>
+2.2  > S 0:0(0) <...>
6     close(3) = 0
";
    assert_pass(text);
    let bad = edit(text, "[5]", "[9]");
    assert!(matches!(run(&bad), Outcome::Fail(_)));
}

#[test]
fn unmodelled_lines_skip_never_pass() {
    for line in [
        "+0 `sysctl -w net.inet.tcp.ecn.enable=1`",
        "+0 `sysctl -w net.inet.tcp.no_such_knob=1`",
        "+0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [536], 4) = 0",
        "+0 `sysctl -w net.inet.tcp.keepinit=5000`",
        "+0 `echo hello`",
        "+0 %{ print(tcpi_rtt) }%",
    ] {
        let text =
            format!("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n{line}\n+0 close(3) = 0\n");
        match run(&text) {
            Outcome::Skip(reason) => assert!(reason.starts_with("line 2:"), "{reason}"),
            other => panic!("`{line}` must make the script skip, got {other:?}"),
        }
    }
}

#[test]
fn default_restoring_sysctls_are_accepted() {
    let text = "\
0  `sysctl -w net.inet.tcp.rfc1323=1`
+0 `sysctl -w net.inet.tcp.ecn.enable=2`
+0 `sysctl -w net.inet.tcp.insecure_rst=0`
+0 `sysctl -w net.inet.tcp.hostcache.purgenow=1`
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 %{ assert tcpi_state == TCPI_CLOSED }%
+0 close(3) = 0
";
    assert_pass(text);
}

#[test]
fn wildcard_sequence_number_and_options_match_anything() {
    let text = edit(
        PASSIVE,
        "> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>",
        "> S. ...(0) ack 1 <...>",
    );
    assert_pass(&text);
    // The payload length still counts.
    let bad = edit(PASSIVE, "> F. 1:1(0) ack 101", "> F. ...(5) ack 101");
    let f = assert_fail_at(&bad, line_of(&bad, "...(5)"));
    assert!(f.message.starts_with("payload length"), "{}", f.message);
}

mod divergences {
    use super::*;
    use conformance::packetdrill::runner::{run_one, Divergences, EngineSel, RunConfig, Verdict};
    use tcp_core::trace::EngineKind;

    fn run_listed(name: &str, text: &str, list: &str) -> Verdict {
        let dir = std::env::temp_dir().join(format!("tcpfsm-pkt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let config = RunConfig {
            engines: EngineSel::One(EngineKind::Table),
            exec: ExecOptions::default(),
            divergences: Divergences::parse(list).unwrap(),
        };
        let verdict = run_one(&path, &config).verdict;
        std::fs::remove_file(&path).unwrap();
        verdict
    }

    #[test]
    fn listed_failure_at_the_listed_statement_diverges() {
        let bad = edit(PASSIVE, "> F. 1:1(0) ack 101", "> F. 1:1(0) ack 100");
        let v = run_listed(
            "a.pkt",
            &bad,
            "a.pkt `> F. 1:1(0) ack 100*` RFC 9293 says otherwise\n",
        );
        assert!(matches!(v, Verdict::Diverges { .. }), "{v:?}");
    }

    #[test]
    fn listed_failure_elsewhere_is_a_failure() {
        let bad = edit(PASSIVE, "> . 2:2(0) ack 102", "> . 2:2(0) ack 103");
        let v = run_listed(
            "b.pkt",
            &bad,
            "b.pkt `> F. 1:1(0) ack 100*` RFC 9293 says otherwise\n",
        );
        assert!(matches!(v, Verdict::Fail(_)), "{v:?}");
    }

    #[test]
    fn listed_script_that_passes_is_a_failure() {
        let v = run_listed("c.pkt", PASSIVE, "c.pkt RFC 9293 says otherwise\n");
        match v {
            Verdict::Fail(f) => assert!(f.message.contains("remove the entry"), "{}", f.message),
            other => panic!("{other:?}"),
        }
    }
}

/// An in-window RST that is not exact: RFC 5961 §3.2 answers with a
/// challenge ACK; with FreeBSD's `insecure_rst=1` (RFC 793) it resets.
const IN_WINDOW_RST: &str = "\
--tolerance_usecs=10000
0    `sysctl -w net.inet.tcp.insecure_rst=0`
+0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0   > S 0:0(0) <...>
+0.1 < S. 0:0(0) ack 1 win 32767 <mss 1460>
+0   > . 1:1(0) ack 1
+0.1 < R 100:100(0) win 32767
+0   > . 1:1(0) ack 1
+0   getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0   %{ assert tcpi_state == TCPI_ESTABLISHED }%
";

#[test]
fn rfc5961_rst_handling_is_the_default() {
    assert_pass(IN_WINDOW_RST);
}

#[test]
fn insecure_rst_configures_rfc793_resets() {
    let text = edit(IN_WINDOW_RST, "insecure_rst=0", "insecure_rst=1");
    // The challenge ACK is gone: the RST reset the connection.
    let f = assert_fail_at(&text, line_of(&text, "< R 100:100(0)") + 1);
    assert!(f.message.starts_with("missing packet"), "{}", f.message);
    let text = edit(
        &text,
        "+0   > . 1:1(0) ack 1\n+0   getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n",
        "+0   getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0\n",
    );
    let text = edit(&text, "TCPI_ESTABLISHED", "TCPI_CLOSED");
    assert_pass(&text);
}

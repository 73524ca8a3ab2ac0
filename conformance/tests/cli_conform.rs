//! `tcpfsm conform` run as a user would: one table with a row per layer,
//! exit 0 when every layer that ran passed, 1 when one failed, and bad
//! arguments answered with one line and exit 2, never a panic.

mod common;
use common::{run_in, scratch, stderr, stdout};

/// The layers, as their rows begin.
const LAYERS: [&str; 8] = [
    "generated vs interpreter",
    "engines in lockstep",
    "scenarios",
    "cell coverage",
    "mutation score",
    "packetdrill corpus",
    "kernel over TUN",
    "smoltcp peer",
];

/// The table row of `layer`, split into its columns (two or more spaces).
fn row<'a>(out: &'a str, layer: &str) -> Vec<&'a str> {
    let line = out
        .lines()
        .find(|l| l.starts_with(layer))
        .unwrap_or_else(|| panic!("no row for {layer}:\n{out}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// A passive open our stack answers as scripted.
const ANSWERED: &str = "\
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0   bind(3, ..., ...) = 0
+0   listen(3, 1) = 0
+0   < S 0:0(0) win 32767 <mss 1460,sackOK,eol,eol>
+0   > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>
+0   close(3) = 0
";

#[test]
fn conform_prints_one_row_per_layer_and_passes_on_this_tree() {
    let dir = scratch("table");
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(corpus.join("answered.pkt"), ANSWERED).unwrap();
    let o = run_in(
        &dir,
        &[
            "conform",
            "--cases",
            "200",
            "--corpus",
            corpus.to_str().unwrap(),
        ],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    let header = out
        .lines()
        .find(|l| l.starts_with("layer"))
        .expect("a header");
    for column in ["checked", "pass", "fail", "result", "figure"] {
        assert!(header.contains(column), "{header}");
    }
    for layer in &LAYERS[..6] {
        let cols = row(&out, layer);
        assert!(cols.contains(&"PASS"), "{layer}: {cols:?}");
        // The mutation layer passes on its score floor; its fail column
        // counts the surviving mutants that no test tells apart yet.
        if *layer != "mutation score" {
            assert_eq!(cols[3], "0", "{layer}: {cols:?}");
        }
        let pass_count: usize = cols[2].parse().unwrap();
        assert!(pass_count > 0, "{layer}: {cols:?}");
    }
    for layer in &LAYERS[6..] {
        let cols = row(&out, layer);
        assert!(cols.contains(&"not run"), "{layer}: {cols:?}");
        assert!(
            cols.last().unwrap().contains("cargo test -p conformance"),
            "{cols:?}"
        );
    }
    assert!(out.contains("200 random input sequences"), "{out}");
    assert!(out.contains("1 scripts in"), "{out}");
    assert!(out
        .trim_end()
        .ends_with("conform: PASS (6 layers ran, all passed)"));
}

#[test]
fn conform_exits_1_when_a_layer_fails_and_says_which() {
    let dir = scratch("failing");
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(corpus.join("answered.pkt"), ANSWERED).unwrap();
    // The same open, expecting an acknowledgment number our stack (rightly)
    // does not send.
    std::fs::write(
        corpus.join("wrong-ack.pkt"),
        ANSWERED.replace("ack 1 win 65535", "ack 7 win 65535"),
    )
    .unwrap();
    let o = run_in(
        &dir,
        &[
            "conform",
            "--cases",
            "20",
            "--json",
            "--corpus",
            corpus.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["ok"], false);
    let layers = v["layers"].as_array().unwrap();
    let names: Vec<&str> = layers
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    assert_eq!(names, LAYERS);
    let pkt = &layers[5];
    assert_eq!(pkt["result"], "FAIL");
    assert_eq!(pkt["passed"], 1);
    assert_eq!(pkt["failed"], 1);
    assert_eq!(layers[0]["result"], "PASS");
    assert_eq!(layers[1]["result"], "PASS");
}

/// One clear line on stderr, exit 2, no panic.
fn assert_usage_error(args: &[&str], mentions: &str) {
    let o = run_in(&std::env::temp_dir(), args);
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("tcpfsm: "), "{args:?}: {err}");
    assert!(err.contains(mentions), "{args:?}: {err}");
    assert!(stdout(&o).is_empty(), "{args:?}: nothing runs");
}

#[test]
fn conform_bad_arguments_get_one_line_and_exit_2() {
    assert_usage_error(&["conform", "--cases", "0"], "--cases");
    assert_usage_error(&["conform", "--cases", "many"], "--cases");
    assert_usage_error(&["conform", "--seed", "-3"], "");
    assert_usage_error(&["conform", "--frobnicate"], "--frobnicate");
    assert_usage_error(&["conform", "extra"], "extra");
    assert_usage_error(
        &["conform", "--corpus", "/nonexistent/tcp-testsuite"],
        "/nonexistent/tcp-testsuite: not a directory",
    );
}

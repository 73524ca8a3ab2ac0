//! The FreeBSD `tcp-testsuite` corpus, read from `../shared/tcp-testsuite`
//! next to the repository (never copied into it), run through the
//! packetdrill executor. The test fails when fewer scripts pass than the
//! figure recorded in `conformance/packetdrill/corpus-baseline`, or when the
//! engines disagree on a verdict.
//!
//! `TCPFSM_PKT_CORPUS=/path` points at another checkout of the corpus.

use std::path::{Path, PathBuf};

use conformance::packetdrill::exec::ExecOptions;
use conformance::packetdrill::runner::{
    self, Divergences, EngineSel, RunConfig, ScriptReport, Summary, Verdict,
};
use tcp_core::trace::EngineKind;

const BASELINE: &str = include_str!("../packetdrill/corpus-baseline");

fn corpus() -> PathBuf {
    match std::env::var_os("TCPFSM_PKT_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/tcp-testsuite"),
    }
}

/// `(total, passed)` recorded in the baseline file.
fn baseline() -> (usize, usize) {
    let mut total = None;
    let mut passed = None;
    for line in BASELINE.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(char::is_whitespace)
            .expect("`key value` lines");
        let value: usize = value.trim().parse().expect("a number");
        match key {
            "total" => total = Some(value),
            "passed" => passed = Some(value),
            other => panic!("unknown baseline key {other}"),
        }
    }
    (total.expect("total"), passed.expect("passed"))
}

fn run_corpus(engines: EngineSel) -> (Summary, Vec<ScriptReport>) {
    let dir = corpus();
    assert!(
        dir.is_dir(),
        "the tcp-testsuite corpus is expected at {} (set TCPFSM_PKT_CORPUS)",
        dir.display()
    );
    let scripts = runner::discover(&[dir]).expect("corpus readable");
    let config = RunConfig {
        engines,
        exec: ExecOptions::default(),
        divergences: Divergences::builtin(),
    };
    let mut reports = Vec::new();
    let summary = runner::run_all(&scripts, &config, |r| reports.push(r.clone()));
    (summary, reports)
}

fn describe(r: &ScriptReport) -> String {
    match &r.verdict {
        Verdict::Fail(f) => format!(
            "{}:{}: {}",
            r.path.display(),
            f.line,
            f.message.lines().next().unwrap_or("")
        ),
        other => format!("{}: {}", r.path.display(), other.label()),
    }
}

#[test]
fn corpus_pass_count_holds_the_recorded_figure() {
    let (summary, reports) = run_corpus(EngineSel::One(EngineKind::Table));
    let (total, passed) = baseline();
    println!("{summary}");
    let failing: Vec<String> = reports
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail(_)))
        .map(describe)
        .collect();
    for f in &failing {
        println!("FAIL {f}");
    }
    assert_eq!(
        summary.total(),
        total,
        "the corpus changed size: update the baseline"
    );
    assert!(
        summary.passed >= passed,
        "{} scripts pass, the baseline records {passed}",
        summary.passed
    );
    // Every skip and divergence says why.
    for r in &reports {
        match &r.verdict {
            Verdict::Skip(reason) => assert!(!reason.is_empty(), "{}", r.path.display()),
            Verdict::Diverges { reason, .. } => {
                assert!(reason.contains("RFC"), "{}: {reason}", r.path.display())
            }
            _ => {}
        }
    }
}

#[test]
fn corpus_engines_agree() {
    let (summary, reports) = run_corpus(EngineSel::All);
    let disagreeing: Vec<String> = reports
        .iter()
        .filter(|r| r.disagreement)
        .map(|r| {
            let verdicts: Vec<String> = r
                .per_engine
                .iter()
                .map(|(k, o)| format!("{}={}", k.as_str(), o.label()))
                .collect();
            format!("{} ({})", r.path.display(), verdicts.join(", "))
        })
        .collect();
    assert!(
        disagreeing.is_empty(),
        "{summary}; engines disagree on:\n{}",
        disagreeing.join("\n")
    );
}

/// Issue 5's bar: no script fails, and the scripts set aside (skipped, or
/// diverging where FreeBSD departs from RFC 9293 on purpose) stay within 5%
/// of the corpus.
#[test]
fn corpus_has_no_failures_and_few_set_aside() {
    let (summary, reports) = run_corpus(EngineSel::One(EngineKind::Table));
    let failing: Vec<String> = reports
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail(_)))
        .map(describe)
        .collect();
    assert!(failing.is_empty(), "{summary}:\n{}", failing.join("\n"));
    assert!(
        (summary.skipped + summary.diverged) * 20 <= summary.total(),
        "{summary}: more than 5% of the corpus skipped or diverging"
    );
}

//! `tcpfsm pkt`: run packetdrill scripts against the stack.
//!
//! One line per script (`PASS`, `FAIL` with the first mismatch, `SKIP` or
//! `DIVERGES` with the reason), then `N passed, M failed, K skipped, D
//! diverged`. With `--engine all` every engine runs every script and a
//! script whose outcome differs between engines is reported. The exit
//! status is non-zero when a script failed or the engines disagreed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;
use tcp_core::trace::EngineKind;

use super::exec::{ExecOptions, Outcome};
use super::profile::CompareMode;
use super::runner::{self, Divergences, EngineSel, RunConfig, ScriptReport, Summary, Verdict};

/// Exit status when a script failed or engines disagreed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status for unusable arguments or files.
pub const EXIT_USAGE: u8 = 2;

/// The engine choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// The engine generated from `tcp.fsm`.
    Table,
    /// The hand-written per-state engine.
    PerState,
    /// The spec interpreted at run time.
    Interpreted,
    /// All three, reporting scripts whose verdicts differ.
    All,
}

impl EngineArg {
    fn selection(self) -> EngineSel {
        match self {
            EngineArg::Table => EngineSel::One(EngineKind::Table),
            EngineArg::PerState => EngineSel::One(EngineKind::PerState),
            EngineArg::Interpreted => EngineSel::One(EngineKind::Interpreted),
            EngineArg::All => EngineSel::All,
        }
    }
}

/// Run packetdrill scripts against the sans-IO stack on a virtual clock:
/// one verdict line per script (PASS, FAIL with the first mismatch, SKIP or
/// DIVERGES with the reason), then the counts. FreeBSD's values (window,
/// option layout, window scale, TSval, timers) are not compared.
#[derive(Debug, Clone, Args)]
pub struct PktArgs {
    /// Which engine drives the connections.
    #[arg(long, value_enum, default_value_t = EngineArg::Table)]
    pub engine: EngineArg,
    /// One JSON object per script, then a summary object.
    #[arg(long)]
    pub json: bool,
    /// Print every event of every script.
    #[arg(long, short)]
    pub verbose: bool,
    /// Compare windows and option layout too (packetdrill's strict rules;
    /// the FreeBSD corpus expects FreeBSD's values there).
    #[arg(long)]
    pub strict: bool,
    /// A known-divergences file to use instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub divergences: Option<PathBuf>,
    /// Script files or directories (searched recursively for `*.pkt`).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

fn outcome_json(o: &Outcome) -> serde_json::Value {
    match o {
        Outcome::Pass => json!({"verdict": "PASS"}),
        Outcome::Skip(r) => json!({"verdict": "SKIP", "reason": r}),
        Outcome::Fail(f) => json!({
            "verdict": "FAIL", "line": f.line, "statement": f.statement, "message": f.message
        }),
    }
}

fn report_json(r: &ScriptReport) -> serde_json::Value {
    let mut v = json!({
        "script": r.path.display().to_string(),
        "verdict": r.verdict.label(),
    });
    match &r.verdict {
        Verdict::Pass => {}
        Verdict::Skip(reason) => v["reason"] = json!(reason),
        Verdict::Fail(f) => {
            v["line"] = json!(f.line);
            v["statement"] = json!(f.statement);
            v["message"] = json!(f.message);
        }
        Verdict::Diverges { reason, failure } => {
            v["reason"] = json!(reason);
            v["line"] = json!(failure.line);
            v["statement"] = json!(failure.statement);
            v["message"] = json!(failure.message);
        }
    }
    if r.per_engine.len() > 1 {
        let engines: serde_json::Map<String, serde_json::Value> = r
            .per_engine
            .iter()
            .map(|(k, o)| (k.as_str().to_string(), outcome_json(o)))
            .collect();
        v["engines"] = serde_json::Value::Object(engines);
        v["engines_agree"] = json!(!r.disagreement);
    }
    if !r.log.is_empty() {
        v["log"] = json!(r.log);
    }
    v
}

fn short(o: &Outcome) -> String {
    match o {
        Outcome::Pass => "PASS".to_string(),
        Outcome::Skip(r) => format!("SKIP ({r})"),
        Outcome::Fail(f) => format!(
            "FAIL at line {}: {}",
            f.line,
            f.message.lines().next().unwrap_or("")
        ),
    }
}

/// The text lines for one script.
pub fn report_text(r: &ScriptReport) -> String {
    let path = r.path.display();
    let mut out = match &r.verdict {
        Verdict::Pass => format!("PASS     {path}"),
        Verdict::Skip(reason) => format!("SKIP     {path}: {reason}"),
        Verdict::Fail(f) if f.line == 0 => format!("FAIL     {path}: {}", f.message),
        Verdict::Fail(f) => format!(
            "FAIL     {path}:{}: {}\n         at: {}",
            f.line, f.message, f.statement
        ),
        Verdict::Diverges { reason, failure } => format!(
            "DIVERGES {path}: {reason}\n         FreeBSD expects otherwise at line {}: {}",
            failure.line,
            failure.message.lines().next().unwrap_or("")
        ),
    };
    if r.disagreement {
        out.push_str("\n         ENGINES DISAGREE:");
        for (k, o) in &r.per_engine {
            out.push_str(&format!("\n           {:<11} {}", k.as_str(), short(o)));
        }
    }
    for l in &r.log {
        out.push_str("\n         | ");
        out.push_str(l);
    }
    out
}

/// Runs `tcpfsm pkt` with parsed arguments.
pub fn run_cli(args: &PktArgs) -> ExitCode {
    let divergences = match &args.divergences {
        None => Divergences::builtin(),
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match Divergences::parse(&text) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("tcpfsm pkt: {}: {e}", path.display());
                    return ExitCode::from(EXIT_USAGE);
                }
            },
            Err(e) => {
                eprintln!("tcpfsm pkt: {}: {e}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        },
    };
    let scripts = match runner::discover(&args.paths) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tcpfsm pkt: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let config = RunConfig {
        engines: args.engine.selection(),
        exec: ExecOptions {
            mode: if args.strict {
                CompareMode::Strict
            } else {
                CompareMode::Lenient
            },
            verbose: args.verbose,
        },
        divergences,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_failed = false;
    let summary: Summary = runner::run_all(&scripts, &config, |r| {
        let line = if args.json {
            report_json(r).to_string()
        } else {
            report_text(r)
        };
        write_failed |= writeln!(out, "{line}").is_err();
    });
    let last = if args.json {
        json!({"summary": {
            "passed": summary.passed, "failed": summary.failed,
            "skipped": summary.skipped, "diverged": summary.diverged,
            "engine_disagreements": summary.disagreements, "total": summary.total(),
            "mode": config.exec.mode.as_str(),
        }})
        .to_string()
    } else {
        summary.to_string()
    };
    write_failed |= writeln!(out, "{last}").is_err();
    if write_failed {
        return ExitCode::from(EXIT_USAGE);
    }
    if summary.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

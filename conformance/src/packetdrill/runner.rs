//! Running many scripts: finding them, running them on one or all engines,
//! applying the known-divergences list and counting verdicts.

use std::fmt;
use std::path::{Path, PathBuf};

use tcp_core::engine::{InterpretedEngine, PerStateEngine, TableEngine};
use tcp_core::trace::EngineKind;

use super::exec::{run_script, ExecOptions, Failure, Outcome};
use super::{parse_file, ParseError, STANDARD};

/// The known-divergences list shipped with the interpreter.
pub const BUILTIN_DIVERGENCES: &str = include_str!("../../packetdrill/known-divergences");

/// Errors of a corpus run that prevent running scripts at all.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A path given on the command line does not exist or cannot be listed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a known-divergences file has a pattern but no reason.
    #[error("known-divergences line {line}: `{pattern}` needs a reason after the pattern")]
    DivergenceWithoutReason {
        /// 1-based line.
        line: usize,
        /// The pattern.
        pattern: String,
    },
}

/// One entry of the known-divergences list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The script-path glob.
    pub pattern: String,
    /// The statement where the script and the stack must part ways (a glob
    /// over the statement as rendered); any statement when `None`.
    pub at: Option<String>,
    /// The RFC reason.
    pub reason: String,
}

/// Scripts where FreeBSD deliberately departs from RFC 9293 and our stack
/// follows the RFC: their failures are reported as DIVERGES.
#[derive(Debug, Clone, Default)]
pub struct Divergences {
    entries: Vec<Divergence>,
}

impl Divergences {
    /// Parses the file format: `#` comments, blank lines, and lines
    /// ``PATTERN [`STATEMENT`] REASON...`` where `PATTERN` is a
    /// `/`-separated glob (`*` and `?` within one path component) matched
    /// against the end of a script's path, and the optional backquoted
    /// `STATEMENT` is a glob the failing statement must match (so that a
    /// listed script failing somewhere else is still a failure).
    pub fn parse(text: &str) -> Result<Divergences, RunnerError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (pattern, rest) = line
                .split_once(char::is_whitespace)
                .map(|(p, r)| (p, r.trim()))
                .unwrap_or((line, ""));
            let (at, reason) = match rest.strip_prefix('`').and_then(|r| r.split_once('`')) {
                Some((at, reason)) => (Some(at.to_string()), reason.trim()),
                None => (None, rest),
            };
            if reason.is_empty() {
                return Err(RunnerError::DivergenceWithoutReason {
                    line: i + 1,
                    pattern: pattern.to_string(),
                });
            }
            entries.push(Divergence {
                pattern: pattern.to_string(),
                at,
                reason: reason.to_string(),
            });
        }
        Ok(Divergences { entries })
    }

    /// The list compiled into the binary.
    pub fn builtin() -> Divergences {
        // The built-in file is checked by a unit test; an unparsable one
        // would be a build defect, so fall back to no entries.
        Divergences::parse(BUILTIN_DIVERGENCES).unwrap_or_default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries whose pattern matches the script at `path`.
    pub fn lookup(&self, path: &Path) -> Vec<&Divergence> {
        let components: Vec<String> = path
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        self.entries
            .iter()
            .filter(|d| {
                let parts: Vec<&str> = d.pattern.split('/').collect();
                if parts.len() > components.len() {
                    return false;
                }
                let tail = &components[components.len() - parts.len()..];
                parts
                    .iter()
                    .zip(tail)
                    .all(|(p, c)| glob(p.as_bytes(), c.as_bytes()))
            })
            .collect()
    }
}

/// Whitespace runs count as one space when a statement is matched.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `*` matches any run of characters, `?` one character.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && glob(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

/// The engines to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineSel {
    /// One engine.
    One(EngineKind),
    /// All three; verdicts that differ are reported.
    All,
}

impl EngineSel {
    /// The engines selected, in report order.
    pub fn kinds(self) -> Vec<EngineKind> {
        match self {
            EngineSel::One(k) => vec![k],
            EngineSel::All => vec![
                EngineKind::Table,
                EngineKind::PerState,
                EngineKind::Interpreted,
            ],
        }
    }
}

/// The verdict reported for a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It passed.
    Pass,
    /// It failed (including a known divergence that unexpectedly passed).
    Fail(Failure),
    /// It was skipped.
    Skip(String),
    /// A known divergence: FreeBSD's expectation, RFC 9293's behaviour.
    Diverges {
        /// Why (from the known-divergences file).
        reason: String,
        /// Where the script and the stack part ways.
        failure: Failure,
    },
}

impl Verdict {
    /// `PASS`, `FAIL`, `SKIP` or `DIVERGES`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail(_) => "FAIL",
            Verdict::Skip(_) => "SKIP",
            Verdict::Diverges { .. } => "DIVERGES",
        }
    }
}

/// What happened to one script.
#[derive(Debug, Clone)]
pub struct ScriptReport {
    /// The script's path as found.
    pub path: PathBuf,
    /// The verdict (from the first engine run).
    pub verdict: Verdict,
    /// Each engine's raw outcome.
    pub per_engine: Vec<(EngineKind, Outcome)>,
    /// The engines did not all reach the same outcome.
    pub disagreement: bool,
    /// The first engine's event log (verbose runs).
    pub log: Vec<String>,
}

/// Verdict counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// PASS.
    pub passed: usize,
    /// FAIL.
    pub failed: usize,
    /// SKIP.
    pub skipped: usize,
    /// DIVERGES.
    pub diverged: usize,
    /// Scripts whose outcome differs between engines.
    pub disagreements: usize,
}

impl Summary {
    /// Adds one report.
    pub fn add(&mut self, r: &ScriptReport) {
        match r.verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail(_) => self.failed += 1,
            Verdict::Skip(_) => self.skipped += 1,
            Verdict::Diverges { .. } => self.diverged += 1,
        }
        if r.disagreement {
            self.disagreements += 1;
        }
    }

    /// All scripts counted.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped + self.diverged
    }

    /// Whether the run should exit with success.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.disagreements == 0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped, {} diverged",
            self.passed, self.failed, self.skipped, self.diverged
        )?;
        if self.disagreements > 0 {
            write!(f, ", {} engine disagreements", self.disagreements)?;
        }
        Ok(())
    }
}

/// Every `.pkt` file under `paths` (a file is taken as given, a directory
/// recursively), in sorted order per argument.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RunnerError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| RunnerError::Io {
            path: p.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), RunnerError> {
    let io = |source| RunnerError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "pkt") {
            out.push(path);
        }
    }
    Ok(())
}

/// How to run a set of scripts.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Which engines.
    pub engines: EngineSel,
    /// Comparison mode and logging.
    pub exec: ExecOptions,
    /// The known-divergences list.
    pub divergences: Divergences,
}

fn parse_failure(e: &ParseError) -> Failure {
    let (line, _) = e.position().unwrap_or((0, 0));
    Failure {
        line,
        statement: String::new(),
        message: format!("the script cannot be parsed: {e}"),
    }
}

/// Runs one script on the configured engines.
pub fn run_one(path: &Path, config: &RunConfig) -> ScriptReport {
    let script = match parse_file(path, &[STANDARD]) {
        Ok(s) => s,
        Err(e) => {
            let failure = parse_failure(&e);
            return ScriptReport {
                path: path.to_path_buf(),
                verdict: Verdict::Fail(failure.clone()),
                per_engine: Vec::new(),
                disagreement: false,
                log: Vec::new(),
            };
        }
    };
    let mut per_engine = Vec::new();
    let mut log = Vec::new();
    for (i, kind) in config.engines.kinds().into_iter().enumerate() {
        let run = match kind {
            EngineKind::Table => run_script(&script, TableEngine, &config.exec),
            EngineKind::PerState => run_script(&script, PerStateEngine, &config.exec),
            EngineKind::Interpreted => run_script(&script, InterpretedEngine::real(), &config.exec),
        };
        if i == 0 {
            log = run.log;
        }
        per_engine.push((kind, run.outcome));
    }
    let first = per_engine
        .first()
        .map(|(_, o)| o.clone())
        .unwrap_or(Outcome::Skip("no engine selected".to_string()));
    let disagreement = per_engine.iter().any(|(_, o)| *o != first);
    let listed = config.divergences.lookup(path);
    let verdict = match first {
        Outcome::Skip(r) => Verdict::Skip(r),
        Outcome::Pass if listed.is_empty() => Verdict::Pass,
        Outcome::Pass => Verdict::Fail(Failure {
            line: 0,
            statement: String::new(),
            message: format!(
                "listed in known-divergences ({}) but it passes: remove the entry",
                listed[0].pattern
            ),
        }),
        Outcome::Fail(f) if listed.is_empty() => Verdict::Fail(f),
        Outcome::Fail(failure) => {
            let statement = squeeze(&failure.statement);
            let hit = listed.iter().find(|d| {
                d.at.as_deref()
                    .is_none_or(|at| glob(squeeze(at).as_bytes(), statement.as_bytes()))
            });
            match hit {
                Some(d) => Verdict::Diverges {
                    reason: d.reason.clone(),
                    failure,
                },
                None => {
                    let mut failure = failure;
                    failure.message.push_str(&format!(
                        "\n    (listed in known-divergences, but expected to part ways at `{}`)",
                        listed[0].at.as_deref().unwrap_or("")
                    ));
                    Verdict::Fail(failure)
                }
            }
        }
    };
    ScriptReport {
        path: path.to_path_buf(),
        verdict,
        per_engine,
        disagreement,
        log,
    }
}

/// Runs every script, calling `each` as each one finishes.
pub fn run_all(
    scripts: &[PathBuf],
    config: &RunConfig,
    mut each: impl FnMut(&ScriptReport),
) -> Summary {
    let mut summary = Summary::default();
    for path in scripts {
        let report = run_one(path, config);
        summary.add(&report);
        each(&report);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_divergences_parse() {
        let d = Divergences::parse(BUILTIN_DIVERGENCES).unwrap();
        assert!(!d.is_empty());
    }

    #[test]
    fn divergence_patterns_match_path_suffixes() {
        let d = Divergences::parse(
            "# comment\n\nrcv-syn-fin-*/*-dropping-enabled-*.pkt  RFC 9293 says so\n",
        )
        .unwrap();
        let hit =
            Path::new("../x/state-event-engine/rcv-syn-fin-listen/a-dropping-enabled-ipv4.pkt");
        assert_eq!(d.lookup(hit)[0].reason, "RFC 9293 says so");
        assert_eq!(d.lookup(hit)[0].at, None);
        let miss = Path::new("../x/state-event-engine/rcv-syn-listen/a-dropping-enabled-ipv4.pkt");
        assert!(d.lookup(miss).is_empty());
    }

    #[test]
    fn divergence_statement_is_parsed() {
        let d =
            Divergences::parse("a/*.pkt `> F. 1:1(0) ack 2*` FreeBSD resends its FIN\n").unwrap();
        let e = &d.lookup(Path::new("x/a/b.pkt"))[0];
        assert_eq!(e.at.as_deref(), Some("> F. 1:1(0) ack 2*"));
        assert_eq!(e.reason, "FreeBSD resends its FIN");
    }

    #[test]
    fn divergence_without_reason_is_rejected() {
        assert!(Divergences::parse("some/pattern.pkt\n").is_err());
    }

    #[test]
    fn glob_matches_within_a_component() {
        assert!(glob(b"a*c", b"abbbc"));
        assert!(glob(b"a?c", b"abc"));
        assert!(!glob(b"a?c", b"ac"));
        assert!(glob(b"*", b""));
    }
}

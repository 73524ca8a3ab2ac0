//! Every shell command in README.md runs, as written, and does what the
//! README says.
//!
//! The commands are discovered from the README text, never listed here: each
//! ```` ```sh ```` block is a list of commands (one per line, `\` continues a
//! line). `cargo run --release --`, `cargo run --release`, `cargo run --`
//! and a leading `tcpfsm` become this package's `tcpfsm` binary; the rest
//! (`sed`, pipes, redirections, `dot`) runs through `sh` as written. All
//! blocks run in order in one scratch copy of the repository root (the spec
//! and the scenarios copied, so no command can change the real tree), with
//! `../shared/...` paths linked to the real ones next to the repository.
//!
//! After a block, README comments of the form `<!-- readme-test: ... -->`
//! say what else to check or how to run it:
//! - `writes PATH...`: each file exists afterwards and is non-empty and of
//!   its kind (svg, png, pcap, jsonl, csv, md); it is removed before the
//!   block runs, so an earlier block cannot satisfy it;
//! - `needs PROGRAM` or `needs ../PATH`: without it the block is SKIPPED,
//!   loudly (in CI, where `.ci/test` installs programs, a missing program
//!   fails instead);
//! - `exit 0 or 1 -- REASON`: the exit statuses allowed (default 0 only);
//! - `skip-command COMMAND -- REASON`: that command of the block is not run
//!   (it must be one of the block's commands).
//!
//! A ```` ```text ```` block right after (the comments in between) is output
//! that the block's last command must print: each non-blank line, except
//! `...` (omitted lines), must match a line of stdout, in order, compared
//! with whitespace runs collapsed; `…` inside a line matches any text.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tcpfsm");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

// ---------------------------------------------------------------- parsing

#[derive(Debug, Default)]
struct Directives {
    writes: Vec<String>,
    needs: Vec<String>,
    exit: Option<Vec<i32>>,
    /// (command, reason)
    skip: Vec<(String, String)>,
}

#[derive(Debug)]
struct ShellCommand {
    /// README line number (1-based).
    line: usize,
    text: String,
}

#[derive(Debug)]
struct Block {
    line: usize,
    commands: Vec<ShellCommand>,
    directives: Directives,
    /// (README line, text) of the expected output lines.
    expected: Vec<(usize, String)>,
}

/// `text` without a trailing shell comment (` # ...`).
fn without_comment(text: &str) -> &str {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return text[..i].trim_end();
        }
    }
    text.trim_end()
}

/// Splits `text -- reason`; the reason must be there.
fn with_reason(text: &str, line: usize, what: &str) -> Result<(String, String), String> {
    match text.split_once(" -- ") {
        Some((a, r)) if !r.trim().is_empty() => Ok((a.trim().to_string(), r.trim().to_string())),
        _ => Err(format!(
            "README.md:{line}: `{what}` needs ` -- REASON` saying why"
        )),
    }
}

fn parse_directive(d: &mut Directives, body: &str, line: usize) -> Result<(), String> {
    let (key, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
    let rest = rest.trim();
    match key {
        "writes" => d.writes.extend(rest.split_whitespace().map(String::from)),
        "needs" => d.needs.extend(rest.split_whitespace().map(String::from)),
        "exit" => {
            let (codes, _reason) = with_reason(rest, line, "exit")?;
            let codes: Result<Vec<i32>, _> = codes
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty() && *t != "or")
                .map(str::parse)
                .collect();
            d.exit = Some(codes.map_err(|e| format!("README.md:{line}: exit codes: {e}"))?);
        }
        "skip-command" => d.skip.push(with_reason(rest, line, "skip-command")?),
        other => {
            return Err(format!(
                "README.md:{line}: unknown readme-test directive `{other}`"
            ))
        }
    }
    Ok(())
}

fn parse_readme(text: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks: Vec<Block> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim();
        if l.starts_with("<!--") && l.contains("readme-test") {
            return Err(format!(
                "README.md:{}: readme-test comment not right after a shell block",
                i + 1
            ));
        }
        let Some(lang) = l.strip_prefix("```") else {
            i += 1;
            continue;
        };
        let start = i + 1;
        let body_end = (start..lines.len())
            .find(|&j| lines[j].trim_start().starts_with("```"))
            .ok_or_else(|| format!("README.md:{start}: code block never closed"))?;
        if lang.trim() == "text" {
            return Err(format!(
                "README.md:{}: a ```text block is output a shell block's last command must print, so it must follow one (directives may come between); use another tag for other text",
                i + 1
            ));
        }
        if !matches!(lang.trim(), "sh" | "bash" | "shell" | "console") {
            i = body_end + 1;
            continue;
        }
        let mut commands = Vec::new();
        let mut pending: Option<ShellCommand> = None;
        for (j, raw) in lines.iter().enumerate().take(body_end).skip(start) {
            let trimmed = raw.trim();
            if pending.is_none() && (trimmed.is_empty() || trimmed.starts_with('#')) {
                continue;
            }
            let (part, continues) = match trimmed.strip_suffix('\\') {
                Some(p) => (p, true),
                None => (trimmed, false),
            };
            let cmd = pending.get_or_insert(ShellCommand {
                line: j + 1,
                text: String::new(),
            });
            if !cmd.text.is_empty() {
                cmd.text.push(' ');
            }
            cmd.text.push_str(part.trim());
            if !continues {
                commands.extend(pending.take());
            }
        }
        commands.extend(pending.take());
        // Directives, then an optional expected-output block.
        let mut directives = Directives::default();
        let mut expected = Vec::new();
        let mut k = body_end + 1;
        while k < lines.len() {
            let t = lines[k].trim();
            if t.is_empty() {
                k += 1;
            } else if let Some(body) = t
                .strip_prefix("<!-- readme-test:")
                .and_then(|b| b.strip_suffix("-->"))
            {
                parse_directive(&mut directives, body.trim(), k + 1)?;
                k += 1;
            } else if t == "```text" {
                let end = (k + 1..lines.len())
                    .find(|&j| lines[j].trim_start().starts_with("```"))
                    .ok_or_else(|| format!("README.md:{}: code block never closed", k + 1))?;
                expected = (k + 1..end)
                    .map(|j| (j + 1, lines[j].to_string()))
                    .filter(|(_, s)| !s.trim().is_empty() && s.trim() != "...")
                    .collect();
                k = end + 1;
                break;
            } else {
                break;
            }
        }
        for (cmd, _) in &directives.skip {
            if !commands.iter().any(|c| without_comment(&c.text) == cmd) {
                return Err(format!(
                    "README.md:{}: skip-command `{cmd}` is not a command of the block above it",
                    start
                ));
            }
        }
        blocks.push(Block {
            line: start,
            commands,
            directives,
            expected,
        });
        i = k;
    }
    Ok(blocks)
}

// ---------------------------------------------------------------- running

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The command with the README's ways of invoking tcpfsm replaced by the
/// binary under test; an error for any other cargo invocation.
fn substitute(text: &str) -> Result<String, String> {
    let bin = shell_quote(BIN);
    let mut out = text
        .replace("cargo run --release --", &bin)
        .replace("cargo run --release", &bin)
        .replace("cargo run --", &bin);
    // `tcpfsm` at the start of a command.
    let mut rebuilt = String::new();
    let mut rest = out.as_str();
    let mut at_start = true;
    while !rest.is_empty() {
        let trimmed = rest.trim_start();
        rebuilt.push_str(&rest[..rest.len() - trimmed.len()]);
        rest = trimmed;
        if at_start && (rest == "tcpfsm" || rest.starts_with("tcpfsm ")) {
            rebuilt.push_str(&bin);
            rest = &rest["tcpfsm".len()..];
        }
        let next = rest.find(['|', ';', '&']).map_or(rest.len(), |p| p + 1);
        rebuilt.push_str(&rest[..next]);
        rest = &rest[next..];
        at_start = true;
    }
    out = rebuilt;
    if without_comment(&out).contains("cargo ") {
        return Err(format!(
            "`{text}` runs cargo, which this test cannot: invoke the binary with `cargo run --release --` or mark it skip-command"
        ));
    }
    Ok(out)
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether an output line matches an expected line (`…` = any text).
fn line_matches(expected: &str, actual: &str) -> bool {
    let expected = normalize(expected);
    let actual = normalize(actual);
    let parts: Vec<&str> = expected.split('…').map(str::trim).collect();
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        let Some(found) = actual[pos..].find(part) else {
            return false;
        };
        if i == 0 && found != 0 {
            return false;
        }
        pos += found + part.len();
    }
    match parts.last() {
        Some(last) if !last.is_empty() && parts.len() > 1 => actual.ends_with(last),
        Some(last) if !last.is_empty() => actual == *last,
        _ => true,
    }
}

/// The expected lines not found, in order, in `stdout`.
fn missing_lines(expected: &[(usize, String)], stdout: &str) -> Vec<String> {
    let out: Vec<&str> = stdout.lines().collect();
    let mut at = 0;
    let mut missing = Vec::new();
    for (line, want) in expected {
        match out[at..].iter().position(|l| line_matches(want, l)) {
            Some(p) => at += p + 1,
            None => missing.push(format!("README.md:{line}: {want}")),
        }
    }
    missing
}

/// What is wrong with a file a block says it writes, if anything.
fn check_written(path: &Path) -> Option<String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return Some(format!("{} was not written: {e}", path.display())),
    };
    if bytes.is_empty() {
        return Some(format!("{} is empty", path.display()));
    }
    let text = String::from_utf8_lossy(&bytes);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let ok = match ext {
        "svg" => text.contains("<svg"),
        "png" => bytes.starts_with(b"\x89PNG"),
        "pcap" => {
            bytes.len() >= 24
                && matches!(
                    &bytes[..4],
                    [0xd4, 0xc3, 0xb2, 0xa1]
                        | [0xa1, 0xb2, 0xc3, 0xd4]
                        | [0x4d, 0x3c, 0xb2, 0xa1]
                        | [0xa1, 0xb2, 0x3c, 0x4d]
                )
        }
        "jsonl" => text
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "csv" => text.lines().next().is_some_and(|h| h.contains(',')),
        "md" => text.contains('|'),
        _ => true,
    };
    (!ok).then(|| format!("{} is not a valid .{ext} file", path.display()))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A scratch repository root: what the README's commands read, copied.
fn scratch_root() -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme_commands");
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("repo");
    let real = repo_root();
    copy_dir(&real.join("tcp-fsm-spec"), &root.join("tcp-fsm-spec"));
    copy_dir(
        &real.join("conformance/scenarios"),
        &root.join("conformance/scenarios"),
    );
    root
}

fn program_exists(name: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {} >/dev/null 2>&1", shell_quote(name)))
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a `needs` item is there; a `../` path is linked into the
/// scratch tree next to the scratch root, as it sits next to the real one.
fn need_met(root: &Path, need: &str) -> Result<bool, String> {
    if !need.contains('/') {
        if program_exists(need) {
            return Ok(true);
        }
        if in_ci() {
            return Err(format!(
                "`{need}` is not installed in CI (.ci/test installs it)"
            ));
        }
        return Ok(false);
    }
    let real = repo_root().join(need);
    if !real.exists() {
        return Ok(false);
    }
    let link = root.join(need);
    if !link.exists() {
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::os::unix::fs::symlink(&real, &link).unwrap();
    }
    Ok(true)
}

#[test]
fn readme_starts_with_the_two_setup_commands() {
    let text = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let blocks = parse_readme(&text).unwrap();
    let first = blocks.first().expect("README.md has shell blocks");
    let commands: Vec<&str> = first
        .commands
        .iter()
        .map(|c| without_comment(&c.text))
        .collect();
    assert_eq!(commands, ["cargo run --release", "bash .ci/test"]);
    let before = text.split("```sh").next().unwrap();
    assert!(
        !before.contains("```"),
        "no code block may come before the set-up commands"
    );
}

#[test]
fn every_readme_command_runs_and_does_what_the_readme_says() {
    let text = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let blocks = parse_readme(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        blocks.len() >= 5,
        "expected the README's shell blocks, found {}",
        blocks.len()
    );
    let root = scratch_root();
    let mut failures: Vec<String> = Vec::new();
    let mut ran = 0usize;
    let mut skipped: Vec<String> = Vec::new();
    for block in &blocks {
        let d = &block.directives;
        let mut missing = Vec::new();
        for need in &d.needs {
            match need_met(&root, need) {
                Ok(true) => {}
                Ok(false) => missing.push(need.clone()),
                Err(e) => failures.push(format!("README.md:{}: {e}", block.line)),
            }
        }
        if !missing.is_empty() {
            for c in &block.commands {
                let msg = format!(
                    "README.md:{}: `{}`: {} not found",
                    c.line,
                    without_comment(&c.text),
                    missing.join(", ")
                );
                println!("SKIP (not passed) {msg}");
                eprintln!("SKIP (not passed) {msg}");
                skipped.push(msg);
            }
            continue;
        }
        for w in &d.writes {
            let _ = std::fs::remove_file(root.join(w));
        }
        let allowed = d.exit.clone().unwrap_or_else(|| vec![0]);
        let mut last_stdout: Option<String> = None;
        for (n, c) in block.commands.iter().enumerate() {
            let plain = without_comment(&c.text);
            if let Some((_, reason)) = d.skip.iter().find(|(s, _)| s == plain) {
                let msg = format!("README.md:{}: `{plain}`: {reason}", c.line);
                println!("SKIP (not passed) {msg}");
                skipped.push(msg);
                if n + 1 == block.commands.len() {
                    last_stdout = None;
                }
                continue;
            }
            let script = match substitute(&c.text) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("README.md:{}: {e}", c.line));
                    continue;
                }
            };
            let started = std::time::Instant::now();
            let out = Command::new("sh")
                .arg("-c")
                .arg(&script)
                .current_dir(&root)
                .output()
                .unwrap();
            ran += 1;
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            println!(
                "ran README.md:{}: `{plain}`: exit {:?} in {:.1?}",
                c.line,
                out.status.code(),
                started.elapsed()
            );
            if stderr.contains("panicked") {
                failures.push(format!(
                    "README.md:{}: `{plain}` panicked:\n{stderr}",
                    c.line
                ));
            }
            if !out
                .status
                .code()
                .is_some_and(|code| allowed.contains(&code))
            {
                let tail: Vec<&str> = stdout.lines().rev().take(15).collect();
                failures.push(format!(
                    "README.md:{}: `{plain}` exited {:?} (allowed {allowed:?})\nstderr:\n{stderr}\nstdout (last lines, reversed):\n{}",
                    c.line,
                    out.status.code(),
                    tail.join("\n")
                ));
            }
            last_stdout = Some(stdout);
        }
        if !block.expected.is_empty() {
            match &last_stdout {
                Some(stdout) => {
                    let miss = missing_lines(&block.expected, stdout);
                    if !miss.is_empty() {
                        failures.push(format!(
                            "README.md:{}: the output shown is not what the command prints; not found (in order):\n  {}\nactual output:\n{stdout}",
                            block.line,
                            miss.join("\n  ")
                        ));
                    }
                }
                None => skipped.push(format!(
                    "README.md:{}: output not checked (its command was skipped)",
                    block.line
                )),
            }
        }
        for w in &d.writes {
            if let Some(problem) = check_written(&root.join(w)) {
                failures.push(format!("README.md:{}: {problem}", block.line));
            }
        }
    }
    println!(
        "README commands: {ran} run, {} failures, {} SKIPPED (not passed)",
        failures.len(),
        skipped.len()
    );
    for s in &skipped {
        println!("  SKIPPED {s}");
    }
    assert!(ran > 0, "no README command ran");
    assert!(
        failures.is_empty(),
        "{} README problems:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ------------------------------------------------- the checker checks itself

#[test]
fn expected_lines_match_with_ellipses_and_in_order() {
    assert!(line_matches(
        "… client … FIN_WAIT_2 → CLOSED segment.Fin",
        "  0.18  client  5→6  FIN_WAIT_2   → CLOSED  segment.Fin"
    ));
    assert!(!line_matches(
        "… client … FIN_WAIT_2 → CLOSED segment.Fin",
        "  0.18  client  5→6  FIN_WAIT_2   → TIME_WAIT  segment.Fin"
    ));
    assert!(line_matches(
        "1 of … cells changed",
        "1 of 405 cells changed"
    ));
    assert!(!line_matches(
        "1 of … cells changed",
        "21 of 405 cells changed"
    ));
    assert!(!line_matches("conform: PASS", "conform: PASS but not"));
    let expected = vec![(1, "b".to_string()), (2, "a".to_string())];
    assert!(missing_lines(&expected, "a\nb\na\n").is_empty());
    assert_eq!(missing_lines(&expected, "a\nb\n").len(), 1);
}

#[test]
fn invocations_become_the_binary_and_other_cargo_runs_are_refused() {
    let bin = shell_quote(BIN);
    assert_eq!(
        substitute("cargo run --release -- dot | dot -Tsvg > fsm.svg").unwrap(),
        format!("{bin} dot | dot -Tsvg > fsm.svg")
    );
    assert_eq!(substitute("cargo run --release").unwrap(), bin);
    assert_eq!(
        substitute("tcpfsm sweep --rtt 0,5ms && tcpfsm check").unwrap(),
        format!("{bin} sweep --rtt 0,5ms && {bin} check")
    );
    assert_eq!(
        substitute("sed s/x/y/ a > tcpfsm.fsm").unwrap(),
        "sed s/x/y/ a > tcpfsm.fsm"
    );
    assert!(substitute("cargo install --path conformance").is_err());
}

#[test]
fn directives_are_checked() {
    let ok = "```sh\ntcpfsm check\nsudo x  # comment\n```\n<!-- readme-test: skip-command sudo x -- needs root -->\n<!-- readme-test: exit 0 or 1 -- may fail -->\n```text\nok\n...\n```\n";
    let blocks = parse_readme(ok).unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].commands.len(), 2);
    assert_eq!(blocks[0].directives.exit, Some(vec![0, 1]));
    assert_eq!(blocks[0].expected.len(), 1);
    let stale =
        "```sh\ntcpfsm check\n```\n<!-- readme-test: skip-command sudo x -- needs root -->\n";
    assert!(parse_readme(stale).is_err());
    let no_reason = "```sh\ntcpfsm check\n```\n<!-- readme-test: exit 1 -->\n";
    assert!(parse_readme(no_reason).is_err());
    let orphan = "text\n<!-- readme-test: needs dot -->\n";
    assert!(parse_readme(orphan).is_err());
    let unknown = "```sh\ntcpfsm check\n```\n<!-- readme-test: maybe -->\n";
    assert!(parse_readme(unknown).is_err());
    let loose = "```sh\ntcpfsm check\n```\nprose\n```text\nok\n```\n";
    assert!(parse_readme(loose).is_err());
    let continued = "```sh\ntcpfsm sim \\\n  --rtt 5ms\n```\n";
    assert_eq!(
        parse_readme(continued).unwrap()[0].commands[0].text,
        "tcpfsm sim --rtt 5ms"
    );
}

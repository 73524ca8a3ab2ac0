//! Recognising the shell commands and code blocks an executor can handle
//! without a shell or a Python interpreter. Anything not recognised exactly
//! stays `CommandKind::Shell` / `CodeKind::Raw`: recognition never fails.

use super::ast::{CmpOp, CodeKind, CodeValue, CommandKind, IpVersion, TcpiAssert};

/// Classify the text between the backquotes of a command.
pub(crate) fn classify_command(text: &str) -> CommandKind {
    sysctl(text)
        .or_else(|| sockstat(text))
        .or_else(|| tcpdrop(text))
        .unwrap_or(CommandKind::Shell)
}

/// `sysctl -w name=value`
fn sysctl(text: &str) -> Option<CommandKind> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let ["sysctl", "-w", assignment] = words.as_slice() else {
        return None;
    };
    let (name, value) = assignment.split_once('=')?;
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '%'));
    if !name_ok || value.is_empty() {
        return None;
    }
    Some(CommandKind::Sysctl {
        name: name.to_string(),
        value: value.to_string(),
    })
}

/// `sockstat -4|-6 -P proto [-p port] -s [-p port] | grep F... | grep -c STATE | grep N`
fn sockstat(text: &str) -> Option<CommandKind> {
    let stages: Vec<Vec<&str>> = text
        .split('|')
        .map(|s| s.split_whitespace().collect())
        .collect();
    let (first, rest) = stages.split_first()?;
    let (cmd, args) = first.split_first()?;
    if *cmd != "sockstat" || rest.len() < 2 {
        return None;
    }
    let mut ip_version = None;
    let mut protocol = None;
    let mut port = None;
    let mut states_shown = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match *arg {
            "-4" => ip_version = Some(IpVersion::V4),
            "-6" => ip_version = Some(IpVersion::V6),
            "-s" => states_shown = true,
            "-P" => protocol = Some(it.next()?.to_string()),
            "-p" => port = Some(it.next()?.parse::<u16>().ok()?),
            _ => return None,
        }
    }
    if !states_shown {
        return None;
    }
    let (last, middle) = rest.split_last()?;
    let (count_stage, filter_stages) = middle.split_last()?;
    let ["grep", "-c", state] = count_stage.as_slice() else {
        return None;
    };
    let ["grep", count_pattern] = last.as_slice() else {
        return None;
    };
    let mut filters = Vec::new();
    for stage in filter_stages {
        let ["grep", pattern] = stage.as_slice() else {
            return None;
        };
        if pattern.starts_with('-') {
            return None;
        }
        filters.push(pattern.to_string());
    }
    Some(CommandKind::SockstatCount {
        ip_version,
        protocol: protocol?,
        port,
        filters,
        state: state.to_string(),
        count_pattern: count_pattern.to_string(),
    })
}

/// `tcpdrop -s STATE`
fn tcpdrop(text: &str) -> Option<CommandKind> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let ["tcpdrop", "-s", state] = words.as_slice() else {
        return None;
    };
    Some(CommandKind::TcpDropState {
        state: state.to_string(),
    })
}

/// Classify the text of a `%{ }%` block.
pub(crate) fn classify_code(text: &str) -> CodeKind {
    let mut asserts = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match tcpi_assert(line) {
            Some(a) => asserts.push(a),
            None => return CodeKind::Raw,
        }
    }
    if asserts.is_empty() {
        CodeKind::Raw
    } else {
        CodeKind::TcpiAsserts(asserts)
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `assert tcpi_FIELD OP VALUE`
fn tcpi_assert(line: &str) -> Option<TcpiAssert> {
    let rest = line.strip_prefix("assert")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim_start();
    let field_len = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
    let (field, rest) = rest.split_at(field_len);
    if !field.starts_with("tcpi_") || field.len() == "tcpi_".len() {
        return None;
    }
    let rest = rest.trim_start();
    let ops = [
        ("==", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        ("<=", CmpOp::Le),
        (">=", CmpOp::Ge),
        ("<", CmpOp::Lt),
        (">", CmpOp::Gt),
    ];
    let (op, rest) = ops
        .iter()
        .find_map(|(s, op)| rest.strip_prefix(s).map(|r| (*op, r)))?;
    let value = rest.trim();
    Some(TcpiAssert {
        field: field.to_string(),
        op,
        value: code_value(value)?,
    })
}

fn code_value(v: &str) -> Option<CodeValue> {
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        let n = u64::from_str_radix(h, 16).ok()?;
        return i64::try_from(n).ok().map(CodeValue::Int);
    }
    let digits = v.strip_prefix('-').unwrap_or(v);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return v.parse::<i64>().ok().map(CodeValue::Int);
    }
    let starts_ok = v
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if starts_ok && v.chars().all(is_ident) {
        return Some(CodeValue::Symbol(v.to_string()));
    }
    None
}

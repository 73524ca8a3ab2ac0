//! The static check run before a script: every line the executor cannot
//! honour makes the script SKIP with that line's reason, never PASS.

use super::ast::{
    CodeKind, Command, CommandKind, Direction, EcnSpec, Expr, Script, StatementKind, SyscallSpec,
    TcpOptionSpec, TcpOptionsSpec,
};
use super::profile::{CompareMode, FreeBsdProfile};

/// The system calls the socket layer emulates.
pub const SYSCALLS: &[&str] = &[
    "socket",
    "bind",
    "listen",
    "accept",
    "connect",
    "read",
    "recv",
    "write",
    "send",
    "shutdown",
    "close",
    "fcntl",
    "getsockopt",
    "setsockopt",
    "ioctl",
];

/// `(level, option)` pairs `getsockopt` answers.
pub const GETSOCKOPTS: &[(&str, &str)] = &[
    ("SOL_SOCKET", "SO_ERROR"),
    ("SOL_SOCKET", "SO_RCVBUF"),
    ("SOL_SOCKET", "SO_SNDBUF"),
    ("SOL_SOCKET", "SO_REUSEADDR"),
    ("IPPROTO_TCP", "TCP_NODELAY"),
    ("IPPROTO_TCP", "TCP_NOOPT"),
];

/// `(level, option)` pairs `setsockopt` honours.
pub const SETSOCKOPTS: &[(&str, &str)] = &[
    ("SOL_SOCKET", "SO_REUSEADDR"),
    ("SOL_SOCKET", "SO_REUSEPORT"),
    ("SOL_SOCKET", "SO_RCVBUF"),
    ("SOL_SOCKET", "SO_SNDBUF"),
    ("SOL_SOCKET", "SO_LINGER"),
    ("IPPROTO_TCP", "TCP_NODELAY"),
    ("IPPROTO_TCP", "TCP_NOOPT"),
    ("IPPROTO_TCP", "TCP_KEEPINIT"),
];

/// The `tcpi_` fields a `%{ assert ... }%` block may test.
pub const TCPI_FIELDS: &[&str] = &["tcpi_state", "tcpi_options"];

/// The header options the executor understands.
pub const SCRIPT_OPTIONS: &[&str] = &["mtu"];

fn word(e: Option<&Expr>) -> Option<&str> {
    e.and_then(Expr::as_word)
}

fn check_syscall(s: &SyscallSpec) -> Result<(), String> {
    if !SYSCALLS.contains(&s.name.as_str()) {
        return Err(format!("system call {}() is not emulated", s.name));
    }
    let first = word(s.args.get(1));
    match s.name.as_str() {
        "getsockopt" | "setsockopt" => {
            let level = first.unwrap_or("?");
            let opt = word(s.args.get(2)).unwrap_or("?");
            let table = if s.name == "getsockopt" {
                GETSOCKOPTS
            } else {
                SETSOCKOPTS
            };
            if !table.contains(&(level, opt)) {
                return Err(format!("{}({level}, {opt}) is not modelled", s.name));
            }
        }
        "ioctl" if first != Some("FIONREAD") => {
            return Err("only ioctl(FIONREAD) is emulated".to_string());
        }
        "recv" | "send" => {
            let ok = |e: &Expr| match e {
                Expr::Int(0) => true,
                Expr::Word(w) => matches!(w.as_str(), "MSG_PEEK" | "MSG_DONTWAIT"),
                Expr::BitOr(items) => items
                    .iter()
                    .all(|i| matches!(i.as_word(), Some("MSG_PEEK" | "MSG_DONTWAIT"))),
                _ => false,
            };
            if let Some(flags) = s.args.get(3).filter(|f| !ok(f)) {
                return Err(format!("{}() flags {flags} are not emulated", s.name));
            }
        }
        "socket" if first.is_some_and(|t| t != "SOCK_STREAM") => {
            return Err("only SOCK_STREAM sockets are emulated".to_string());
        }
        "shutdown" if !matches!(first, Some("SHUT_RD" | "SHUT_WR" | "SHUT_RDWR")) => {
            return Err("shutdown() how must be SHUT_RD, SHUT_WR or SHUT_RDWR".to_string());
        }
        _ => {}
    }
    Ok(())
}

fn check_command(c: &Command, profile: &mut FreeBsdProfile) -> Result<(), String> {
    match &c.kind {
        CommandKind::Sysctl { name, value } => {
            profile.apply_sysctl(name, value).map_err(|e| e.to_string())
        }
        CommandKind::SockstatCount { filters, .. } => {
            match filters.iter().find(|f| f.as_str() != "packetdril") {
                Some(f) => Err(format!("sockstat filter `grep {f}` is not emulated")),
                None => Ok(()),
            }
        }
        CommandKind::TcpDropState { .. } => Ok(()),
        CommandKind::Shell => Err(format!("shell command `{}` is not emulated", c.text)),
    }
}

/// Why `script` cannot be run faithfully, if it cannot.
pub fn unsupported(script: &Script, mode: CompareMode) -> Option<String> {
    for (name, _) in &script.options.other {
        if !SCRIPT_OPTIONS.contains(&name.as_str()) {
            return Some(format!("script option --{name} is not supported"));
        }
    }
    if let Some(mtu) = script.options.get("mtu") {
        if mtu.parse::<u32>().map_or(true, |m| m < 41) {
            return Some(format!("--mtu={mtu} is not a usable MTU"));
        }
    }
    let mut profile = FreeBsdProfile::new(mode);
    if let Some(c) = &script.init_command {
        if let Err(e) = check_command(c, &mut profile) {
            return Some(e);
        }
    }
    for st in &script.statements {
        let verdict = match &st.kind {
            StatementKind::Command(c) => check_command(c, &mut profile),
            StatementKind::Syscall(s) => check_syscall(s),
            StatementKind::Code(code) => match &code.kind {
                CodeKind::Raw => Err(format!("code block `{}` is not evaluated", code.text)),
                CodeKind::TcpiAsserts(asserts) => asserts
                    .iter()
                    .find(|a| !TCPI_FIELDS.contains(&a.field.as_str()))
                    .map_or(Ok(()), |a| Err(format!("{} is not modelled", a.field))),
            },
            StatementKind::Packet(p) => {
                let exotic = match &p.options {
                    TcpOptionsSpec::List(l) => l.iter().find(|o| {
                        matches!(
                            o,
                            TcpOptionSpec::FastOpen(_)
                                | TcpOptionSpec::FastOpenExp(_)
                                | TcpOptionSpec::Md5(_)
                        )
                    }),
                    _ => None,
                };
                let ecn_out = p.direction == Direction::Out
                    && p.ip
                        .and_then(|ip| ip.ecn)
                        .is_some_and(|e| e != EcnSpec::NotEct);
                if let Some(o) = exotic {
                    Err(format!("TCP option {} is not modelled", o.kind_name()))
                } else if p.ports.is_some() {
                    Err("explicit port numbers in packets are not supported".to_string())
                } else if ecn_out {
                    Err("ECN codepoints (RFC 3168) are not modelled".to_string())
                } else {
                    Ok(())
                }
            }
        };
        if let Err(reason) = verdict {
            return Some(format!("line {}: {reason}", st.line));
        }
    }
    if let Some(c) = &script.cleanup_command {
        if let Err(e) = check_command(c, &mut profile) {
            return Some(e);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packetdrill::parse_script;

    fn reason(text: &str) -> Option<String> {
        let s = parse_script("t", text, &[]).unwrap();
        unsupported(&s, CompareMode::Lenient)
    }

    #[test]
    fn plain_script_is_supported() {
        let text = "0 `sysctl -w net.inet.tcp.sack.enable=1`\n\
                    +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                    +0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n";
        assert_eq!(reason(text), None);
    }

    #[test]
    fn unmodelled_lines_give_a_reason() {
        let r = reason("0 `sysctl -w net.inet.tcp.ecn.enable=1`\n").unwrap();
        assert!(r.contains("ECN"), "{r}");
        let r = reason("0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [536], 4) = 0\n").unwrap();
        assert!(r.contains("TCP_MAXSEG"), "{r}");
        let r = reason("0 `echo hello`\n").unwrap();
        assert!(r.contains("shell command"), "{r}");
        let r = reason("0 %{ print(tcpi_rtt) }%\n").unwrap();
        assert!(r.contains("code block"), "{r}");
    }
}

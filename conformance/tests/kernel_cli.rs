//! `tcpfsm tun` end to end: the binary on a TUN device in a private network
//! namespace, kernel sockets as its peers, and its one-line failure without
//! privileges. The root-only tests print `SKIPPED (needs root and
//! /dev/net/tun)` without root, and fail under CI (`CI=true`).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use conformance::tun::app::{fill_pattern, first_pattern_mismatch};
use conformance::tun::{self, netns, KERNEL_ADDR, OUR_ADDR};

const BIN: &str = env!("CARGO_BIN_EXE_tcpfsm");

/// Kills the child if the test fails before it exits.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn wait(mut self, limit: Duration) -> Output {
        let mut child = self.0.take().expect("child");
        let start = Instant::now();
        loop {
            if child.try_wait().expect("try_wait").is_some() {
                return child.wait_with_output().expect("output");
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "tcpfsm did not exit within {limit:?}; stderr:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(args: &[&str]) -> ChildGuard {
    let child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcpfsm");
    ChildGuard(Some(child))
}

/// Connects to `addr`, retrying while the child sets up its device.
fn connect_retrying(addr: SocketAddr) -> TcpStream {
    let start = Instant::now();
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(s) => return s,
            Err(e) if start.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot connect to {addr}: {e}"),
        }
    }
}

#[test]
fn tun_listen_echo_serves_a_kernel_client() {
    if !tun::require_kernel_peer("tun_listen_echo_serves_a_kernel_client") {
        return;
    }
    netns::run_isolated("tcpfsm-cli-echo", || {
        // Started from this thread, the child is in the namespace too.
        let child = spawn(&[
            "tun",
            "listen",
            "7",
            "--mode",
            "echo",
            "--dev",
            "tfsm1",
            "--timeout",
            "30",
            "--trace",
        ]);
        let mut s = connect_retrying(SocketAddr::new(OUR_ADDR, 7));
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let n = 1 << 20;
        let mut data = vec![0u8; n];
        fill_pattern(0, &mut data);
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            w.write_all(&data).unwrap();
            w.shutdown(Shutdown::Write).unwrap();
        });
        let mut got = Vec::with_capacity(n);
        s.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert_eq!(got.len(), n);
        assert_eq!(first_pattern_mismatch(0, &got), None);
        let out = child.wait(Duration::from_secs(20));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains("echo done: sent 1048576 bytes, received 1048576 bytes"),
            "{err}"
        );
        // The kernel closed first: we went CLOSE-WAIT, LAST-ACK, CLOSED.
        for state in [
            "\"tcp_state\":\"SYN_RCVD\"",
            "\"tcp_state\":\"CLOSE_WAIT\"",
            "\"tcp_state\":\"LAST_ACK\"",
            "\"tcp_state\":\"CLOSED\"",
        ] {
            assert!(err.contains(state), "no {state} in the trace:\n{err}");
        }
    })
    .unwrap();
}

#[test]
fn tun_connect_source_to_kernel_listener() {
    if !tun::require_kernel_peer("tun_connect_source_to_kernel_listener") {
        return;
    }
    netns::run_isolated("tcpfsm-cli-source", || {
        // All addresses: 10.99.0.1 exists only once tcpfsm made the device.
        let listener = TcpListener::bind("0.0.0.0:5000").unwrap();
        let child = spawn(&[
            "tun",
            "connect",
            &SocketAddr::new(KERNEL_ADDR, 5000).to_string(),
            "--mode",
            "source",
            "--bytes",
            "4M",
            "--engine",
            "per-state",
            "--dev",
            "tfsm2",
            "--timeout",
            "30",
        ]);
        let (mut s, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip(), OUR_ADDR);
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), 4 << 20);
        assert_eq!(first_pattern_mismatch(0, &got), None);
        drop(s);
        let out = child.wait(Duration::from_secs(20));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("(per-state engine)"), "{err}");
        assert!(
            err.contains("source done: sent 4194304 bytes, received 0 bytes"),
            "{err}"
        );
        assert!(err.contains("our state TIME_WAIT"), "{err}");
    })
    .unwrap();
}

/// Without privileges: one clear line on stderr and exit status 3. As root
/// the test drops to `nobody` for the child; otherwise it already is
/// unprivileged.
#[test]
fn tun_without_privileges_fails_with_one_line() {
    use std::os::unix::process::CommandExt;
    let root = effective_uid() == 0;
    // `nobody` must be able to reach the binary: run a copy from /tmp.
    let dir = std::env::temp_dir().join(format!("tcpfsm-nopriv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("tcpfsm");
    std::fs::copy(BIN, &bin).unwrap();
    let mut cmd = Command::new(&bin);
    cmd.args(["tun", "listen", "7", "--dev", "tfsm-nopriv"])
        .current_dir(&dir);
    if root {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("tcpfsm: tun: "), "{err}");
    assert!(err.contains("needs root or CAP_NET_ADMIN"), "{err}");
}

/// Bad arguments are usage errors (status 2), before any device is made.
#[test]
fn tun_bad_arguments_are_usage_errors() {
    let run = |args: &[&str]| Command::new(BIN).args(args).output().unwrap();
    for args in [
        &["tun", "connect", "10.99.0.1"][..],
        &["tun", "listen", "7", "--mode", "loud"],
        &["tun", "listen", "7", "--addr", "10.99.0.1"],
        &["tun", "listen", "7", "--dev", "a/b"],
        &["tun", "connect", "[::1]:80"],
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

/// The effective user id.
fn effective_uid() -> u32 {
    // Through /proc, to keep this test file free of unsafe FFI.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(u32::MAX)
}

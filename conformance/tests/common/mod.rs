//! What the tests of the `tcpfsm` command line share: the binary, the
//! workspace root, a scratch directory per test, a run in a directory, and
//! its output as text. Each test crate uses a subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_tcpfsm");

/// The repository root (the parent of the `conformance` crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// An empty directory for one test, named after the test crate and `name`,
/// so that test binaries running at once never share one.
pub fn scratch(name: &str) -> PathBuf {
    let krate = module_path!().split("::").next().unwrap_or("cli");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{krate}_{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `tcpfsm ARGS` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

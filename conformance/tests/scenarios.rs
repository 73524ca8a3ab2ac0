//! Every scenario file under `conformance/scenarios/`, on every engine: the
//! expectations in the file must hold, every engine must produce the same
//! exchange log, and the log is snapshotted.

use std::path::{Path, PathBuf};

use conformance::scenario::{run, Scenario};
use tcp_core::engine::AnyEngine;
use tcp_core::EngineKind;

fn scenario_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("scenarios directory") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "scn") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_scenario_passes_on_every_engine_with_identical_logs() {
    let files = scenario_files();
    assert!(
        files.len() >= 2,
        "expected scenario files, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let scenario = Scenario::load(file).expect("scenario parses");
        let mut logs = Vec::new();
        for kind in EngineKind::ALL {
            match run(&scenario, AnyEngine::builtin(kind)) {
                Ok(log) => logs.push((kind, log)),
                Err(m) => failures.push(format!("[{}] {m}", kind.as_str())),
            }
        }
        for (kind, log) in logs.iter().skip(1) {
            if *log != logs[0].1 {
                failures.push(format!(
                    "{}: engine {} log differs from {}:\n{}\n---\n{}",
                    file.display(),
                    kind.as_str(),
                    logs[0].0.as_str(),
                    logs[0].1,
                    log
                ));
            }
        }
        if let Some((_, log)) = logs.first() {
            let area = file
                .parent()
                .and_then(|p| p.file_name())
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            insta::assert_snapshot!(format!("{area}__{}", scenario.name), log);
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    println!(
        "{} scenarios passed on {} engines",
        files.len(),
        EngineKind::ALL.len()
    );
}

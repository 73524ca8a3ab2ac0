//! The design's performance ratios, measured so that they survive a busy
//! machine: the bulk and lifecycle workloads of `smoltcp_peer::workload`
//! for our two engines and smoltcp, interleaved (A, B, C, A, B, C, ...)
//! for `ROUNDS` rounds, each variant's *fastest* round kept (other load only
//! ever adds time). Prints each figure and the ratios to the targets of
//! DESIGN.md ("Performance"): table within 5 % of per-state, at least 1.5×
//! smoltcp. A plain `main` (`harness = false`), not a criterion bench:
//! criterion's statistics assume a quiet machine.
//!
//! `cargo bench -p conformance --bench ratios [-- ROUNDS]`
//!
//! `--only NAME` (e.g. `--only lifecycle/table`) runs just that workload
//! ROUNDS times without timing, for a profiler (`valgrind --tool=callgrind`).

use std::time::{Duration as WallDuration, Instant as WallClock};

use tcp_core::{PerStateEngine, TableEngine};

use conformance::smoltcp_peer::workload::{self, *};
use conformance::smoltcp_peer::Duration;

const DEFAULT_ROUNDS: usize = 20;
/// Runs per round (the round's time is their mean).
const RUNS: u32 = 3;

fn time(mut f: impl FnMut()) -> WallDuration {
    let start = WallClock::now();
    for _ in 0..RUNS {
        f();
    }
    start.elapsed() / RUNS
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = args
        .iter()
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let long_msl = Duration::from_secs(120);
    let short_msl = Duration::from_millis(1);
    type Workload = (&'static str, Box<dyn Fn()>);
    let workloads: Vec<Workload> = vec![
        (
            "bulk/table",
            Box::new(move || {
                let (a, b) = workload::ours(TableEngine, BULK_BUFFER, long_msl);
                workload::bulk(a, b).expect("bulk");
            }),
        ),
        (
            "bulk/per_state",
            Box::new(move || {
                let (a, b) = workload::ours(PerStateEngine, BULK_BUFFER, long_msl);
                workload::bulk(a, b).expect("bulk");
            }),
        ),
        (
            "bulk/smoltcp",
            Box::new(|| {
                let (a, b) = workload::smol(BULK_BUFFER).expect("smoltcp");
                workload::bulk(a, b).expect("bulk");
            }),
        ),
        (
            "lifecycle/table",
            Box::new(move || {
                let (a, b) = workload::ours(TableEngine, LIFECYCLE_BUFFER, short_msl);
                workload::lifecycles(a, b).expect("lifecycles");
            }),
        ),
        (
            "lifecycle/per_state",
            Box::new(move || {
                let (a, b) = workload::ours(PerStateEngine, LIFECYCLE_BUFFER, short_msl);
                workload::lifecycles(a, b).expect("lifecycles");
            }),
        ),
        (
            "lifecycle/smoltcp",
            Box::new(|| {
                let (a, b) = workload::smol(LIFECYCLE_BUFFER).expect("smoltcp");
                workload::lifecycles(a, b).expect("lifecycles");
            }),
        ),
    ];
    if let Some(name) = only {
        let Some((_, run)) = workloads.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = workloads.iter().map(|(n, _)| *n).collect();
            eprintln!("unknown workload {name:?}; one of {names:?}");
            std::process::exit(2);
        };
        for _ in 0..rounds {
            run();
        }
        return;
    }
    let mut best = vec![WallDuration::MAX; workloads.len()];
    let mut all: Vec<Vec<WallDuration>> = vec![Vec::new(); workloads.len()];
    for _ in 0..rounds {
        for (i, (_, run)) in workloads.iter().enumerate() {
            let t = time(run);
            best[i] = best[i].min(t);
            all[i].push(t);
        }
    }
    println!("fastest of {rounds} interleaved rounds ({RUNS} runs each); median in brackets");
    for (i, (name, _)) in workloads.iter().enumerate() {
        let mut v = all[i].clone();
        v.sort();
        let median = v[v.len() / 2];
        let t = best[i].as_secs_f64();
        if name.starts_with("bulk") {
            let gbit = BULK_BYTES as f64 * 8.0 / t / 1e9;
            println!(
                "{name:22} {:8.3} ms  {gbit:6.2} Gbit/s  ({:.3} ms)",
                t * 1e3,
                median.as_secs_f64() * 1e3
            );
        } else {
            let rate = LIFECYCLES as f64 / t / 1e3;
            println!(
                "{name:22} {:8.3} ms  {rate:6.1} k lifecycles/s  ({:.3} ms)",
                t * 1e3,
                median.as_secs_f64() * 1e3
            );
        }
    }
    let s = |i: usize| best[i].as_secs_f64();
    println!("ratios (target):");
    println!(
        "  bulk      table / per-state speed {:.3} (>= 0.95)",
        s(1) / s(0)
    );
    println!(
        "  lifecycle table / per-state speed {:.3} (>= 0.95)",
        s(4) / s(3)
    );
    println!(
        "  bulk      table / smoltcp speed   {:.3} (>= 1.5)",
        s(2) / s(0)
    );
    println!(
        "  lifecycle table / smoltcp speed   {:.3} (>= 1.5)",
        s(5) / s(3)
    );
}

//! The design's performance ratios, measured so that they survive a busy
//! machine: the bulk and lifecycle workloads of `smoltcp_peer::workload`
//! for our two engines and smoltcp, interleaved (A, B, C, A, B, C, ...)
//! for `ROUNDS` rounds, each variant's *fastest* round kept (other load only
//! ever adds time), and every round's time for the median of the per-round
//! ratios (robust against one lucky round). Prints each figure and the
//! ratios to the targets of
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
    // Two estimates of each speed ratio: of the fastest rounds (load only
    // adds time), and the median over rounds of the ratio within a round
    // (the workloads of one round run back to back, so a slow stretch of
    // the machine hits both sides of the ratio; one lucky round does not
    // decide it).
    let fastest = |fast: usize, slow: usize| best[slow].as_secs_f64() / best[fast].as_secs_f64();
    let paired = |fast: usize, slow: usize| {
        let mut r: Vec<f64> = all[fast]
            .iter()
            .zip(&all[slow])
            .map(|(f, s)| s.as_secs_f64() / f.as_secs_f64())
            .collect();
        r.sort_by(f64::total_cmp);
        r[r.len() / 2]
    };
    println!("speed ratios: of the fastest rounds / median of per-round ratios (target)");
    for (label, fast, slow, target) in [
        ("bulk      table / per-state", 0, 1, ">= 0.95"),
        ("lifecycle table / per-state", 3, 4, ">= 0.95"),
        ("bulk      table / smoltcp  ", 0, 2, ">= 1.5"),
        ("lifecycle table / smoltcp  ", 3, 5, ">= 1.5"),
        ("bulk      per-state / smoltcp", 1, 2, "-"),
        ("lifecycle per-state / smoltcp", 4, 5, "-"),
    ] {
        println!(
            "  {label} {:.3} / {:.3} ({target})",
            fastest(fast, slow),
            paired(fast, slow)
        );
    }
}

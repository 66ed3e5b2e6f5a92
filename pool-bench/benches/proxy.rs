//! The proxy workload of `examples/proxy_buffers.rs` (the README's main demo) with our two
//! pools, every peer pool and two baselines. A report program (`harness = false`), not a
//! criterion bench:
//!
//! ```text
//! cargo bench -p pool-bench --bench proxy                   # 5 rounds
//! PROXY_ROUNDS=9 cargo bench -p pool-bench --bench proxy
//! PROXY_ONLY=bufferpool,cf-buffer-pool-64k cargo bench -p pool-bench --bench proxy
//! ```
//!
//! The workload, its phases and its readings are the demo's: one file,
//! `examples/support/proxy_workload.rs`, included by both, so the two programs' figures
//! compare. Each strategy runs in a process of its own (this program again, with
//! `--child <name>`), so each starts from a fresh heap, and the strategies take turns in
//! interleaved rounds whose order rotates, so a strategy's ratio to fresh allocation is
//! measured in the same round, a few seconds apart.
//! `PROXY_ONLY` runs a comma-separated subset (fresh allocation is always run: the ratios need
//! it); `PROXY_VERBOSE` prints each child's stderr (our pools' stats).
//!
//! Prints one row per strategy (medians over the rounds) and which of the proxy demo's targets
//! `BufferPool::new()` met, and writes `target/tmp/pool-bench/proxy.csv` (those rows) and
//! `proxy-rounds.csv` (every child's figures) for `pool-bench/scripts/bench_report.py`.

#[path = "proxy/strategies.rs"]
mod strategies;
mod support;
#[path = "../../examples/support/proxy_workload.rs"]
mod workload;

use std::alloc::System;
use std::fmt::Write as _;
use std::fs;
use strategies::*;
// `self`: the workload module counts its allocations through `counting_alloc`, which it
// finds beside it (`super::counting_alloc`).
use support::counting_alloc::{self, Counting};
use workload::{Figures, median, mib, paired};

// The demo's allocator: the system's, counted only while a child's load runs.
#[global_allocator]
static ALLOC: Counting<System> = Counting::new(System);

/// Issue 10's targets for `BufferPool::new()`.
const SPEED_VS_FRESH: f64 = 1.2;
const SPEED_VS_BEST_PEER: f64 = 1.0;
const MEMORY_RATIO: f64 = 1.5;
const AFTER_SHARE: f64 = 0.10;

/// What a strategy is, for the best-peer choice and the table.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    /// Not a pool crate: fresh allocation, the hand-written free list.
    Baseline,
    /// pool-core.
    Ours,
    /// A third-party pool crate: the candidates for "best peer".
    Peer,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Baseline => "baseline",
            Kind::Ours => "ours",
            Kind::Peer => "peer",
        }
    }
}

/// One strategy: its `--child` name, its name in the table, and how to run it.
struct Entry {
    arg: &'static str,
    name: &'static str,
    kind: Kind,
    release: &'static str,
    run: fn(),
}

const fn entry<S: Strategy>(arg: &'static str, name: &'static str, kind: Kind) -> Entry {
    Entry {
        arg,
        name,
        kind,
        release: S::RELEASE,
        run: run_child::<S>,
    }
}

/// A child's run: strategy `S` through the workload's phases.
fn run_child<S: Strategy>() {
    workload::run_child(&S::new());
}

/// Every strategy, in table order. Fresh allocation first: the others' ratios are to it.
const ALL: [Entry; 11] = [
    entry::<Fresh>("fresh", "fresh allocation", Kind::Baseline),
    entry::<OursPool>("pool", "Pool<Vec<u8>>, no caps", Kind::Ours),
    entry::<OursBuffers>("bufferpool", "BufferPool::new()", Kind::Ours),
    entry::<CfBufferPool<{ 64 * 1024 }>>(
        "cf-buffer-pool-64k",
        "buffer-pool, trim 64 KiB",
        Kind::Peer,
    ),
    entry::<CfBufferPool<3_000_000>>("cf-buffer-pool-3m", "buffer-pool, trim 3 MB", Kind::Peer),
    entry::<BytePool>("byte-pool", "byte-pool", Kind::Peer),
    entry::<ObjectPool>("object-pool", "object-pool", Kind::Peer),
    entry::<Linear>("lockfree-linear", "lockfree-object-pool linear", Kind::Peer),
    entry::<Slab>("sharded-slab", "sharded-slab", Kind::Peer),
    entry::<Opool>("opool", "opool", Kind::Peer),
    entry::<ThreadLocalList>("tl-free-list", "thread_local! free list", Kind::Baseline),
];

/// A strategy's medians over the rounds.
struct Row<'e> {
    entry: &'e Entry,
    rps: f64,
    vs_fresh: f64,
    vs_best_peer: f64,
    baseline: f64,
    peak: f64,
    live: f64,
    ratio: f64,
    allocs: f64,
    after: f64,
    after_share: f64,
}

fn csv_text(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn main() {
    if let Some(wanted) = workload::child_arg() {
        let entry = ALL
            .iter()
            .find(|e| e.arg == wanted)
            .expect("unknown strategy");
        (entry.run)();
        return;
    }
    let rounds = workload::rounds(5);
    let only = std::env::var("PROXY_ONLY").ok();
    let chosen: Vec<&Entry> = ALL
        .iter()
        .filter(|e| {
            e.arg == "fresh"
                || only
                    .as_deref()
                    .is_none_or(|o| o.split(',').any(|a| a == e.arg))
        })
        .collect();
    support::write_run_info("proxy", &format!("rounds={rounds}\nallocator=system"));

    let mean = workload::mean_request_len();
    println!(
        "proxy workload (examples/proxy_buffers.rs): {} workers x {} requests, sizes log-normal in 10 KB..3 MB, \
         mean {:.0} KB (seed {:#x}); {rounds} interleaved rounds of {} strategies, one process each per round\n",
        workload::WORKERS,
        workload::STEADY_REQUESTS_PER_WORKER,
        mean / 1000.0,
        workload::SEED,
        chosen.len(),
    );

    let exe = std::env::current_exe().expect("own path");
    let mut runs: Vec<Vec<Figures>> = chosen.iter().map(|_| Vec::new()).collect();
    let mut rounds_csv = String::from(
        "round,position,strategy,rps,baseline,steady_peak,steady_live,burst_peak,burst_live,\
         allocs,bytes,total_allocs,after_trickle,after_sweeps\n",
    );
    for round in 0..rounds {
        // Rotate the order, so no strategy always runs first (on a cooler machine).
        for offset in 0..chosen.len() {
            let index = (round + offset) % chosen.len();
            let figures = workload::run_in_child(&exe, chosen[index].arg, chosen[index].name);
            let mut line = format!("{round},{offset},{}", csv_text(chosen[index].name));
            for key in [
                "rps",
                "baseline",
                "steady_peak",
                "steady_live",
                "burst_peak",
                "burst_live",
                "allocs",
                "bytes",
                "total_allocs",
                "after_trickle",
                "after_sweeps",
            ] {
                write!(line, ",{}", figures.get(key)).unwrap();
            }
            rounds_csv.push_str(&line);
            rounds_csv.push('\n');
            runs[index].push(figures);
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }

    // The best third-party pool: the highest median paired ratio to fresh allocation.
    let fresh = &runs[0];
    let best_peer = chosen
        .iter()
        .zip(&runs)
        .filter(|(e, _)| e.kind == Kind::Peer)
        .map(|(e, figures)| (paired(figures, fresh), e, figures))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let rows: Vec<Row> = chosen
        .iter()
        .zip(&runs)
        .map(|(entry, figures)| {
            let med = |key: &str| median(figures.iter().map(|f| f.get(key)).collect());
            Row {
                entry,
                rps: med("rps"),
                vs_fresh: paired(figures, fresh),
                vs_best_peer: best_peer.map_or(f64::NAN, |(_, _, best)| paired(figures, best)),
                baseline: med("baseline"),
                peak: med("steady_peak"),
                live: med("steady_live"),
                ratio: median(figures.iter().map(Figures::ratio).collect()),
                allocs: med("allocs"),
                after: med("after_sweeps"),
                after_share: median(figures.iter().map(Figures::after_sweeps_share).collect()),
            }
        })
        .collect();

    println!(
        "{:<28} {:>9} {:>8} {:>8} {:>9} {:>9} {:>6} {:>8} {:>9}  release",
        "strategy",
        "req/s",
        "vs fresh",
        "vs best",
        "peak MiB",
        "live MiB",
        "ratio",
        "allocs",
        "after MiB",
    );
    for row in &rows {
        let marker = match row.entry.kind {
            Kind::Ours => "*",
            Kind::Peer if best_peer.is_some_and(|(_, e, _)| std::ptr::eq(*e, row.entry)) => "+",
            _ => " ",
        };
        println!(
            "{:<28} {:>9.0} {:>7.2}x {:>7.2}x {:>9} {:>9} {:>6.2} {:>8.0} {:>9}  {}",
            format!("{marker}{}", row.entry.name),
            row.rps,
            row.vs_fresh,
            row.vs_best_peer,
            mib(row.peak),
            mib(row.live),
            row.ratio,
            row.allocs,
            mib(row.after),
            row.entry.release,
        );
    }
    println!(
        "\n* ours; + the best third-party pool (highest median paired ratio to fresh allocation).\n\
         Medians over the rounds. req/s: steady phase. vs fresh, vs best: the median of each round's ratio to \
         fresh allocation, to the best third-party pool, in that round. peak MiB: peak RSS above the RSS before \
         the load (steady phase). live MiB: the most requested bytes in use at once. ratio: peak / live. allocs: \
         allocations in the steady phase. after MiB: RSS above the baseline after the load, a burst, a trickle \
         and the release (ours: two sweeps). The machine is shared: the figures are indicative."
    );

    let mut targets = String::new();
    if let Some(ours) = rows.iter().find(|r| r.entry.arg == "bufferpool") {
        let mark = |met: bool| if met { "met" } else { "MISSED" };
        let best_name = best_peer.map_or("none run", |(_, e, _)| e.name);
        let lines = [
            format!(
                "speed vs fresh allocation: {:.2}x (target >= {SPEED_VS_FRESH}x) {}",
                ours.vs_fresh,
                mark(ours.vs_fresh >= SPEED_VS_FRESH)
            ),
            format!(
                "speed vs the best peer ({best_name}): {:.2}x (target >= {SPEED_VS_BEST_PEER}x) {}",
                ours.vs_best_peer,
                mark(ours.vs_best_peer >= SPEED_VS_BEST_PEER)
            ),
            format!(
                "(peak RSS - base) / live: {:.2} (target <= {MEMORY_RATIO}) {}",
                ours.ratio,
                mark(ours.ratio <= MEMORY_RATIO)
            ),
            format!(
                "RSS after the load and two sweeps: +{:.1}% of the baseline (target <= {:.0}%) {}",
                ours.after_share * 100.0,
                AFTER_SHARE * 100.0,
                mark(ours.after_share <= AFTER_SHARE)
            ),
        ];
        println!("\nBufferPool::new(), the proxy demo's targets:");
        for line in &lines {
            println!("  {line}");
        }
        targets = lines.join("; ");
    }

    let mut csv = String::from(
        "strategy,kind,release,rounds,rps,vs_fresh,vs_best_peer,best_peer,baseline_bytes,\
         peak_bytes,live_bytes,ratio,allocs,after_bytes,after_share,targets\n",
    );
    for row in &rows {
        let is_best = best_peer.is_some_and(|(_, e, _)| std::ptr::eq(*e, row.entry));
        writeln!(
            csv,
            "{},{},{},{rounds},{:.0},{:.4},{:.4},{},{:.0},{:.0},{:.0},{:.4},{:.0},{:.0},{:.4},{}",
            csv_text(row.entry.name),
            row.entry.kind.label(),
            csv_text(row.entry.release),
            row.rps,
            row.vs_fresh,
            row.vs_best_peer,
            u8::from(is_best),
            row.baseline,
            row.peak,
            row.live,
            row.ratio,
            row.allocs,
            row.after,
            row.after_share,
            csv_text(if row.entry.arg == "bufferpool" {
                &targets
            } else {
                ""
            }),
        )
        .unwrap();
    }
    let dir = support::results_dir();
    fs::write(dir.join("proxy.csv"), csv).expect("write proxy.csv");
    fs::write(dir.join("proxy-rounds.csv"), rounds_csv).expect("write proxy-rounds.csv");
    println!(
        "\nproxy table written to {}",
        dir.join("proxy.csv").display()
    );
}

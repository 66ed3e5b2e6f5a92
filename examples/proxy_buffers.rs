//! The seed-0 workload: a proxy serving images and songs needs a 10 KB to 3 MB buffer per
//! request (mean about 100 KB). Without reuse its memory grew to 3-4 GB. This program runs
//! that workload with three strategies, each in a process of its own so each starts from a
//! fresh heap, in interleaved rounds, and prints the medians, the ratios against fresh
//! allocation measured in the same round, and which targets each strategy met.
//!
//! ```text
//! cargo run --release --example proxy_buffers            # 15 rounds
//! PROXY_ROUNDS=41 cargo run --release --example proxy_buffers
//! ```
//!
//! The workload itself (request sizes, phases, RSS readings) is in
//! `support/proxy_workload.rs`, shared with the benchmark that runs it with every peer pool
//! (`pool-bench/benches/proxy.rs`) and the HTTP example (`http-proxy/`). Phases, per process:
//! 1. steady: 8 workers x 2,500 requests, one buffer each in flight, every byte written and
//!    read back; timed, and its peak RSS compared with the live working set;
//! 2. burst: 8 workers x 16 buffers, all 128 held at once (a barrier), four rounds;
//! 3. trickle: one worker, 400 requests (load has fallen);
//! 4. idle: two sweeps (the pools' aging), then RSS is read again.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/proxy_workload.rs"]
mod proxy_workload;

use pool_core::{BufferPool, Pool};
use proxy_workload::{
    Figures, SEED, STEADY_REQUESTS_PER_WORKER, Serve, WORKERS, fill_and_sum, median, mib, paired,
};
use std::ops::DerefMut;

/// Interleaved rounds when `PROXY_ROUNDS` does not say. On a 2-core VM a child's requests/s
/// moves by a third between rounds, and the median of five paired ratios moved between 1.05x
/// and 1.17x from one run to the next; fifteen rounds take a few seconds more.
const ROUNDS: usize = 15;

#[global_allocator]
static ALLOC: counting_alloc::Counting<std::alloc::System> =
    counting_alloc::Counting::new(std::alloc::System);

/// How each strategy gets and returns a buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Strategy {
    /// `Vec::with_capacity(len)` per request, freed after.
    Fresh,
    /// One `Pool<Vec<u8>>` with no caps: buffers keep whatever capacity they grew to.
    PoolNoCaps,
    /// `BufferPool::new()`: the defaults.
    BufferPool,
}

impl Strategy {
    const ALL: [Strategy; 3] = [Strategy::Fresh, Strategy::PoolNoCaps, Strategy::BufferPool];

    fn name(self) -> &'static str {
        match self {
            Strategy::Fresh => "fresh allocation",
            Strategy::PoolNoCaps => "Pool<Vec<u8>>, no caps",
            Strategy::BufferPool => "BufferPool::new()",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Strategy::Fresh => "fresh",
            Strategy::PoolNoCaps => "pool",
            Strategy::BufferPool => "buffer-pool",
        }
    }
}

/// The buffer sources, one of which a run uses.
enum Source {
    Fresh,
    Pool(Box<Pool<Vec<u8>>>),
    Buffers(BufferPool),
}

impl Source {
    fn new(strategy: Strategy) -> Self {
        match strategy {
            Strategy::Fresh => Source::Fresh,
            Strategy::PoolNoCaps => Source::Pool(Box::new(Pool::new())),
            Strategy::BufferPool => Source::Buffers(BufferPool::new()),
        }
    }

    fn sweep(&self) {
        match self {
            Source::Fresh => {}
            Source::Pool(pool) => pool.sweep(),
            Source::Buffers(pool) => pool.sweep(),
        }
    }
}

impl Serve for Source {
    fn serve(&self, len: usize) -> u64 {
        match self {
            Source::Fresh => fill_and_sum(&mut Vec::with_capacity(len), len),
            Source::Pool(pool) => fill_and_sum(&mut pool.get(), len),
            Source::Buffers(pool) => fill_and_sum(&mut pool.get(len), len),
        }
    }

    fn serve_together(&self, lens: &[usize], while_held: impl Fn()) -> u64 {
        match self {
            Source::Fresh => fill_all_then(
                // Boxed only to share `fill_all_then` (a `Vec` derefs to a slice, a box to the `Vec`).
                lens.iter()
                    .map(|&len| Box::new(Vec::with_capacity(len)))
                    .collect(),
                lens,
                while_held,
            ),
            Source::Pool(pool) => {
                fill_all_then(lens.iter().map(|_| pool.get()).collect(), lens, while_held)
            }
            Source::Buffers(pool) => fill_all_then(
                lens.iter().map(|&len| pool.get(len)).collect(),
                lens,
                while_held,
            ),
        }
    }

    /// Two sweeps: the pools' aging.
    fn release_idle(&self) {
        self.sweep();
        self.sweep();
    }

    fn stats(&self) -> Option<String> {
        match self {
            Source::Buffers(pool) => Some(format!("{}\n{}", pool.stats(), pool.recommend())),
            _ => None,
        }
    }
}

/// Fills every buffer of `held` to its length in `lens`, calls `while_held`, then releases
/// them all (by dropping `held`).
fn fill_all_then<B: DerefMut<Target = Vec<u8>>>(
    mut held: Vec<B>,
    lens: &[usize],
    while_held: impl Fn(),
) -> u64 {
    let sum = held
        .iter_mut()
        .zip(lens)
        .map(|(buf, &len)| fill_and_sum(buf, len))
        .sum();
    while_held();
    sum
}

/// The targets a pool is held to, and whether `runs` (with `fresh`, the same rounds' fresh
/// allocation) met them.
fn verdict(runs: &[Figures], fresh: &[Figures]) -> String {
    let speed = paired(runs, fresh);
    let ratio = median(runs.iter().map(Figures::ratio).collect());
    let after = median(runs.iter().map(Figures::after_sweeps_share).collect());
    let mark = |met: bool| if met { "met" } else { "MISSED" };
    format!(
        "speed >= 1.2x {}, memory <= 1.5x live {}, after sweeps <= +10% {}",
        mark(speed >= 1.2),
        mark(ratio <= 1.5),
        mark(after <= 0.10)
    )
}

fn main() {
    if let Some(wanted) = proxy_workload::child_arg() {
        let strategy = Strategy::ALL
            .into_iter()
            .find(|s| s.arg() == wanted)
            .expect("unknown strategy");
        proxy_workload::run_child(&Source::new(strategy));
        return;
    }
    let rounds = proxy_workload::rounds(ROUNDS);

    let mean = proxy_workload::mean_request_len();
    println!(
        "proxy buffers: {WORKERS} workers x {STEADY_REQUESTS_PER_WORKER} requests, sizes log-normal in 10 KB..3 MB, \
         mean {:.0} KB (seed {SEED:#x}); {rounds} interleaved rounds, one process per strategy per round\n",
        mean / 1000.0
    );
    let exe = std::env::current_exe().expect("own path");
    let mut runs: Vec<Vec<Figures>> = Strategy::ALL.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        // Rotate the order, so no strategy always runs first (on a cooler machine).
        for offset in 0..Strategy::ALL.len() {
            let index = (round + offset) % Strategy::ALL.len();
            let strategy = Strategy::ALL[index];
            runs[index].push(proxy_workload::run_in_child(
                &exe,
                strategy.arg(),
                strategy.name(),
            ));
        }
    }

    println!(
        "{:<24} {:>9} {:>8} {:>9} {:>9} {:>6} {:>8} {:>9}  targets",
        "strategy", "req/s", "vs fresh", "peak MiB", "live MiB", "ratio", "allocs", "after MiB",
    );
    let fresh = &runs[0];
    for (strategy, figures) in Strategy::ALL.iter().zip(&runs) {
        let med = |key: &str| median(figures.iter().map(|f| f.get(key)).collect());
        let targets = match strategy {
            Strategy::Fresh => "(the baseline)".to_owned(),
            _ => verdict(figures, fresh),
        };
        println!(
            "{:<24} {:>9.0} {:>7.2}x {:>9} {:>9} {:>6.2} {:>8.0} {:>9}  {}",
            strategy.name(),
            med("rps"),
            paired(figures, fresh),
            mib(med("steady_peak")),
            mib(med("steady_live")),
            median(figures.iter().map(Figures::ratio).collect()),
            med("allocs"),
            mib(med("after_sweeps")),
            targets,
        );
    }
    println!(
        "\nMedians over the rounds. req/s: steady phase. vs fresh: the median of each round's ratio to fresh \
         allocation in that round. peak MiB: peak RSS above the RSS before the load (steady phase). live MiB: \
         the most requested bytes in use at once. ratio: peak / live. allocs: allocations in the steady phase. \
         after MiB: RSS above the baseline after the load, a burst, a trickle and two sweeps. Targets: \
         speed >= 1.2x fresh, ratio <= 1.5, after sweeps within 10% of the RSS before the load."
    );
}

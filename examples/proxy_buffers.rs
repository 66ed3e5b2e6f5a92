//! The seed-0 workload: a proxy serving images and songs needs a 10 KB to 3 MB buffer per
//! request (mean about 100 KB). Without reuse its memory grew to 3-4 GB. This program runs
//! that workload with three strategies, each in a process of its own so each starts from a
//! fresh heap, in interleaved rounds, and prints the medians, the ratios against fresh
//! allocation measured in the same round, and which targets each strategy met.
//!
//! ```text
//! cargo run --release --example proxy_buffers            # 5 rounds
//! PROXY_ROUNDS=9 cargo run --release --example proxy_buffers
//! ```
//!
//! Phases, per process:
//! 1. steady: 8 workers x 2,500 requests, one buffer each in flight, every byte written and
//!    read back; timed, and its peak RSS compared with the live working set;
//! 2. burst: 8 workers x 16 buffers, all 128 held at once (a barrier), four rounds;
//! 3. trickle: one worker, 400 requests (load has fallen);
//! 4. idle: two sweeps (the pools' aging), then RSS is read again.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use pool_core::{BufferPool, Pool};
use std::ops::DerefMut;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

#[global_allocator]
static ALLOC: counting_alloc::Counting<std::alloc::System> =
    counting_alloc::Counting::new(std::alloc::System);

const WORKERS: usize = 8;
const STEADY_REQUESTS_PER_WORKER: usize = 2_500;
const DEFAULT_ROUNDS: usize = 5;
const BURST_HELD: usize = 16;
const BURST_ROUNDS: usize = 4;
const TRICKLE_REQUESTS: usize = 400;
const MIN_LEN: f64 = 10_000.0;
const MAX_LEN: f64 = 3_000_000.0;
/// Log-normal with median e^MU and shape SIGMA: after clamping to 10 KB..3 MB the mean is
/// about 100 KB (printed by the run).
const MU: f64 = 10.95;
const SIGMA: f64 = 1.1;
const SEED: u64 = 0x5EED_0000_0000_0001;

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

    /// Runs one request: get a buffer of `len`, write every byte, read them back, release.
    fn serve(&self, len: usize, live: &LiveBytes) -> u64 {
        let _in_use = live.hold(len);
        match self {
            Source::Fresh => fill_and_sum(&mut Vec::with_capacity(len), len),
            Source::Pool(pool) => fill_and_sum(&mut pool.get(), len),
            Source::Buffers(pool) => fill_and_sum(&mut pool.get(len), len),
        }
    }

    /// Runs `lens.len()` requests whose buffers are all held at once, and calls
    /// `while_held` (a barrier: every worker's buffers are in flight together) before
    /// releasing them.
    fn serve_together(&self, lens: &[usize], live: &LiveBytes, while_held: impl Fn()) -> u64 {
        let _in_use: Vec<_> = lens.iter().map(|&len| live.hold(len)).collect();
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

    fn sweep(&self) {
        match self {
            Source::Fresh => {}
            Source::Pool(pool) => pool.sweep(),
            Source::Buffers(pool) => pool.sweep(),
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

/// Writes `len` bytes into `buf` (growing it if needed) and sums them: every byte touched.
fn fill_and_sum(buf: &mut Vec<u8>, len: usize) -> u64 {
    buf.resize(len, 0);
    for (i, byte) in buf.iter_mut().enumerate().step_by(64) {
        *byte = i as u8;
    }
    let sum = buf.iter().step_by(64).map(|&b| u64::from(b)).sum();
    std::hint::black_box(&buf);
    sum
}

/// The requested bytes in use right now, and the most ever: the live working set.
#[derive(Default)]
struct LiveBytes {
    now: AtomicUsize,
    peak: AtomicUsize,
}

struct Held<'a>(&'a LiveBytes, usize);

impl LiveBytes {
    fn hold(&self, len: usize) -> Held<'_> {
        let now = self.now.fetch_add(len, Ordering::Relaxed) + len;
        self.peak.fetch_max(now, Ordering::Relaxed);
        Held(self, len)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(self.1, Ordering::Relaxed);
    }
}

/// SplitMix64: a small, seedable generator, so every strategy sees the same requests.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A request size: log-normal (Box-Muller), clamped to 10 KB..3 MB.
    fn request_len(&mut self) -> usize {
        let (u1, u2) = (self.unit().max(f64::MIN_POSITIVE), self.unit());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (MU + SIGMA * normal).exp().clamp(MIN_LEN, MAX_LEN) as usize
    }
}

/// A line of `/proc/self/status`, in bytes.
fn proc_status_bytes(key: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn rss() -> usize {
    proc_status_bytes("VmRSS:")
}

fn peak_rss() -> usize {
    proc_status_bytes("VmHWM:")
}

/// Restarts VmHWM from the current RSS (Linux: write 5 to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs one strategy in this process and prints its figures on one `RESULT` line.
fn run_child(strategy: Strategy) {
    let source = Source::new(strategy);
    let live = LiveBytes::default();
    // Start the threads once and throw them away, so thread stacks and the allocator's
    // per-thread arenas are part of the baseline, not of the load.
    thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(64))));
        }
    });
    let baseline = rss();
    reset_peak_rss();
    counting_alloc::enable();
    let before = counting_alloc::snapshot();

    // 1. Steady load.
    let started = Instant::now();
    let checksum: u64 = thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                let (source, live) = (&source, &live);
                s.spawn(move || {
                    let mut rng = Rng(SEED ^ worker as u64);
                    (0..STEADY_REQUESTS_PER_WORKER)
                        .map(|_| source.serve(rng.request_len(), live))
                        .sum::<u64>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let elapsed = started.elapsed();
    let steady = counting_alloc::snapshot().since(&before);
    let steady_peak = peak_rss().saturating_sub(baseline);
    let steady_live = live.peak.swap(0, Ordering::Relaxed);

    // 2. Burst, then 3. trickle.
    reset_peak_rss();
    let all_held = std::sync::Barrier::new(WORKERS);
    thread::scope(|s| {
        for worker in 0..WORKERS {
            let (source, live, all_held) = (&source, &live, &all_held);
            s.spawn(move || {
                let mut rng = Rng(SEED ^ 0xB0B0 ^ worker as u64);
                for _ in 0..BURST_ROUNDS {
                    let lens: Vec<usize> = (0..BURST_HELD).map(|_| rng.request_len()).collect();
                    std::hint::black_box(source.serve_together(&lens, live, || {
                        all_held.wait();
                    }));
                }
            });
        }
    });
    let burst_peak = peak_rss().saturating_sub(baseline);
    let burst_live = live.peak.load(Ordering::Relaxed);
    let mut rng = Rng(SEED ^ 0x7717);
    for _ in 0..TRICKLE_REQUESTS {
        std::hint::black_box(source.serve(rng.request_len(), &live));
    }
    let after_trickle = rss().saturating_sub(baseline);

    // 4. Idle: two sweeps.
    source.sweep();
    source.sweep();
    let after_sweeps = rss().saturating_sub(baseline);
    counting_alloc::disable();
    let total = counting_alloc::snapshot().since(&before);

    println!(
        "RESULT rps={:.0} baseline={} steady_peak={} steady_live={} burst_peak={} burst_live={} allocs={} bytes={} \
         total_allocs={} after_trickle={} after_sweeps={} checksum={}",
        (WORKERS * STEADY_REQUESTS_PER_WORKER) as f64 / elapsed.as_secs_f64(),
        baseline,
        steady_peak,
        steady_live,
        burst_peak,
        burst_live,
        steady.allocs,
        steady.bytes_allocated,
        total.allocs,
        after_trickle,
        after_sweeps,
        checksum,
    );
    if let Source::Buffers(pool) = &source {
        eprintln!("{}\n{}", pool.stats(), pool.recommend());
    }
}

/// One child's figures.
#[derive(Debug, Default)]
struct Figures {
    values: std::collections::HashMap<String, f64>,
}

impl Figures {
    fn parse(stdout: &str) -> Option<Self> {
        let line = stdout.lines().find(|line| line.starts_with("RESULT "))?;
        let values = line
            .split_whitespace()
            .skip(1)
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                Some((key.to_owned(), value.parse().ok()?))
            })
            .collect();
        Some(Self { values })
    }

    fn get(&self, key: &str) -> f64 {
        self.values.get(key).copied().unwrap_or(f64::NAN)
    }

    /// Peak RSS over the live working set, in the steady phase.
    fn ratio(&self) -> f64 {
        self.get("steady_peak") / self.get("steady_live")
    }

    /// RSS after the load and two sweeps, as a share of the RSS before the load.
    fn after_sweeps_share(&self) -> f64 {
        self.get("after_sweeps") / self.get("baseline")
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn mib(bytes: f64) -> String {
    format!("{:.1}", bytes / (1024.0 * 1024.0))
}

/// Runs one strategy in a child process and reads its figures.
fn run_strategy(exe: &std::path::Path, strategy: Strategy) -> Figures {
    let output = Command::new(exe)
        .args(["--child", strategy.arg()])
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if std::env::var_os("PROXY_VERBOSE").is_some() {
        eprintln!(
            "--- {}\n{}",
            strategy.name(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Figures::parse(&stdout).unwrap_or_else(|| {
        eprintln!(
            "{} failed:\n{}",
            strategy.name(),
            String::from_utf8_lossy(&output.stderr)
        );
        std::process::exit(1);
    })
}

/// The targets a pool is held to, and whether `runs` (with `fresh`, the same rounds' fresh
/// allocation) met them.
fn verdict(runs: &[Figures], fresh: &[Figures]) -> String {
    let speed = median(
        runs.iter()
            .zip(fresh)
            .map(|(run, fresh)| run.get("rps") / fresh.get("rps"))
            .collect(),
    );
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
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|arg| arg == "--child") {
        let wanted = args
            .get(position + 1)
            .map(String::as_str)
            .unwrap_or_default();
        let strategy = Strategy::ALL
            .into_iter()
            .find(|s| s.arg() == wanted)
            .expect("unknown strategy");
        run_child(strategy);
        return;
    }
    let rounds = std::env::var("PROXY_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS)
        .max(1);

    let mut rng = Rng(SEED);
    let sample: Vec<usize> = (0..100_000).map(|_| rng.request_len()).collect();
    let mean = sample.iter().sum::<usize>() as f64 / sample.len() as f64;
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
            runs[index].push(run_strategy(&exe, Strategy::ALL[index]));
        }
    }

    println!(
        "{:<24} {:>9} {:>8} {:>9} {:>9} {:>6} {:>8} {:>9}  targets",
        "strategy", "req/s", "vs fresh", "peak MiB", "live MiB", "ratio", "allocs", "after MiB",
    );
    let fresh = &runs[0];
    for (strategy, figures) in Strategy::ALL.iter().zip(&runs) {
        let med = |key: &str| median(figures.iter().map(|f| f.get(key)).collect());
        let vs_fresh = median(
            figures
                .iter()
                .zip(fresh)
                .map(|(run, fresh)| run.get("rps") / fresh.get("rps"))
                .collect(),
        );
        let targets = match strategy {
            Strategy::Fresh => "(the baseline)".to_owned(),
            _ => verdict(figures, fresh),
        };
        println!(
            "{:<24} {:>9.0} {:>7.2}x {:>9} {:>9} {:>6.2} {:>8.0} {:>9}  {}",
            strategy.name(),
            med("rps"),
            vs_fresh,
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

//! The proxy workload of the first story, in one place for the three programs that run it:
//! `examples/proxy_buffers.rs` (the README's main demo), `pool-bench/benches/proxy.rs` (the
//! demo's workload with every peer pool) and the HTTP example (`http-proxy/`, which serves
//! bodies of the same sizes). They are separate packages, so each includes this file with
//! `#[path]`, as they do `counting_alloc.rs`; it needs std alone, so the demo still builds with
//! pool-core alone. Each program keeps its own strategies.
//!
//! Here:
//! - the request sizes: 10 KB to 3 MB, log-normal with a mean of about 100 KB, from a seeded
//!   generator ([`Rng::request_len`]);
//! - one strategy's run, in a process of its own ([`run_child`]): the phases below, the work
//!   per request ([`fill_and_sum`]), the live working set ([`LiveBytes`]), and the `RESULT`
//!   line it prints;
//! - the parent's side: the number of rounds (`PROXY_ROUNDS`), running a child
//!   ([`run_in_child`]) and reading its `RESULT` line ([`Figures`]);
//! - resident memory from `/proc/self/status` (Linux; elsewhere every figure is 0): [`rss`],
//!   [`peak_rss`], [`reset_peak_rss`];
//! - the tables' [`median`], [`paired`] ratios and [`mib`].
//!
//! Phases of [`run_child`]:
//! 1. steady: 8 workers x 2,500 requests, one buffer each in flight, every byte written and
//!    read back; timed, and its peak RSS compared with the live working set;
//! 2. burst: 8 workers x 16 buffers, all 128 held at once (a barrier), four rounds;
//! 3. trickle: one worker, 400 requests (load has fallen);
//! 4. idle: the strategy releases idle memory by its own means (ours: two sweeps), then RSS
//!    is read again.
//!
//! [`run_child`] counts allocations with the including program's `counting_alloc` module
//! (`examples/support/counting_alloc.rs`, declared beside this one), which is the program's
//! global allocator.
#![allow(
    dead_code,
    reason = "each program that includes this file uses part of it"
)]

use super::counting_alloc;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

pub const WORKERS: usize = 8;
pub const STEADY_REQUESTS_PER_WORKER: usize = 2_500;
pub const BURST_HELD: usize = 16;
pub const BURST_ROUNDS: usize = 4;
pub const TRICKLE_REQUESTS: usize = 400;
/// Smallest request, in bytes.
pub const MIN_LEN: f64 = 10_000.0;
/// Largest request drawn, in bytes.
pub const MAX_LEN: f64 = 3_000_000.0;
/// Log-normal with median e^MU and shape SIGMA: after clamping to 10 KB..3 MB the mean is
/// about 100 KB (the programs print the mean of a sample).
const MU: f64 = 10.95;
const SIGMA: f64 = 1.1;
/// The seed of every request's size.
pub const SEED: u64 = 0x5EED_0000_0000_0001;

/// How a strategy serves the workload's requests: what [`run_child`] runs.
pub trait Serve: Sync {
    /// Runs one request: get a buffer of `len`, write every byte and read them back
    /// ([`fill_and_sum`]), release it. Returns the sum.
    fn serve(&self, len: usize) -> u64;

    /// Runs `lens.len()` requests whose buffers are all held at once, and calls `while_held`
    /// (a barrier: every worker's buffers are in flight together) before releasing them.
    fn serve_together(&self, lens: &[usize], while_held: impl Fn()) -> u64;

    /// Releases idle memory by the strategy's own means (ours: two sweeps), if it has any.
    fn release_idle(&self);

    /// The pool's own counters, where it keeps any: printed on stderr after the `RESULT`
    /// line (shown with `PROXY_VERBOSE`).
    fn stats(&self) -> Option<String>;
}

/// Writes `len` bytes into `buf` (growing it if needed) and sums them: every byte touched.
pub fn fill_and_sum(buf: &mut Vec<u8>, len: usize) -> u64 {
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
pub struct LiveBytes {
    now: AtomicUsize,
    peak: AtomicUsize,
}

pub struct Held<'a>(&'a LiveBytes, usize);

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

/// [`Serve::serve`], with the request's bytes counted live while it runs.
fn serve(source: &impl Serve, len: usize, live: &LiveBytes) -> u64 {
    let _in_use = live.hold(len);
    source.serve(len)
}

/// [`Serve::serve_together`], with the requests' bytes counted live while they run.
fn serve_together(
    source: &impl Serve,
    lens: &[usize],
    live: &LiveBytes,
    while_held: impl Fn(),
) -> u64 {
    let _in_use: Vec<_> = lens.iter().map(|&len| live.hold(len)).collect();
    source.serve_together(lens, while_held)
}

/// SplitMix64: a small, seedable generator, so every strategy sees the same requests.
pub struct Rng(pub u64);

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
    pub fn request_len(&mut self) -> usize {
        let (u1, u2) = (self.unit().max(f64::MIN_POSITIVE), self.unit());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (MU + SIGMA * normal).exp().clamp(MIN_LEN, MAX_LEN) as usize
    }
}

/// The mean of the first 100,000 request sizes drawn from [`SEED`], in bytes.
pub fn mean_request_len() -> f64 {
    let mut rng = Rng(SEED);
    let sample: Vec<usize> = (0..100_000).map(|_| rng.request_len()).collect();
    sample.iter().sum::<usize>() as f64 / sample.len() as f64
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

/// Resident memory now (VmRSS).
pub fn rss() -> usize {
    proc_status_bytes("VmRSS:")
}

/// The most resident memory since the process started or since [`reset_peak_rss`] (VmHWM).
pub fn peak_rss() -> usize {
    proc_status_bytes("VmHWM:")
}

/// Restarts VmHWM from the current RSS (Linux: write 5 to clear_refs).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `source` through the phases in this process and prints its figures on one `RESULT`
/// line (read back by [`Figures::parse`]), then its [`stats`](Serve::stats) on stderr.
pub fn run_child(source: &impl Serve) {
    let live = LiveBytes::default();
    // Start the threads once and throw them away, so thread stacks and the allocator's
    // per-thread arenas are part of the baseline, not of the load.
    thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(64))));
        }
    });
    // Draw sizes first: the generator's code (libm's `ln`, `cos` and `exp`, whose paths for
    // different arguments fault in about 300 KiB of pages) belongs to the program, not to the
    // load, and would otherwise count against every strategy's memory after the load. No
    // allocation here: freeing a large one would move glibc's mmap threshold before the load.
    let mut warm = Rng(SEED ^ 0x3A3A);
    std::hint::black_box((0..100_000).map(|_| warm.request_len()).sum::<usize>());
    let baseline = rss();
    reset_peak_rss();
    counting_alloc::enable();
    let before = counting_alloc::snapshot();

    // 1. Steady load.
    let started = Instant::now();
    let checksum: u64 = thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                let live = &live;
                s.spawn(move || {
                    let mut rng = Rng(SEED ^ worker as u64);
                    (0..STEADY_REQUESTS_PER_WORKER)
                        .map(|_| serve(source, rng.request_len(), live))
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
            let (live, all_held) = (&live, &all_held);
            s.spawn(move || {
                let mut rng = Rng(SEED ^ 0xB0B0 ^ worker as u64);
                for _ in 0..BURST_ROUNDS {
                    let lens: Vec<usize> = (0..BURST_HELD).map(|_| rng.request_len()).collect();
                    std::hint::black_box(serve_together(source, &lens, live, || {
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
        std::hint::black_box(serve(source, rng.request_len(), &live));
    }
    let after_trickle = rss().saturating_sub(baseline);

    // 4. Idle: the strategy's own means of releasing idle memory (ours: two sweeps).
    source.release_idle();
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
    if let Some(stats) = source.stats() {
        eprintln!("{stats}");
    }
}

/// The strategy this process runs, if it is a child (`--child <name>`; "" if the name is
/// missing).
pub fn child_arg() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let position = args.iter().position(|arg| arg == "--child")?;
    Some(args.get(position + 1).cloned().unwrap_or_default())
}

/// The number of interleaved rounds: `PROXY_ROUNDS`, or `default` (each program chooses its
/// own: a round of the demo takes a fraction of a second, one of the benchmark's byte-pool
/// child several); at least 1.
pub fn rounds(default: usize) -> usize {
    std::env::var("PROXY_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// Runs `exe --child <arg>` (the strategy called `name` in the table) and reads its figures;
/// exits if it reports none. With `PROXY_VERBOSE` set, prints the child's stderr.
pub fn run_in_child(exe: &Path, arg: &str, name: &str) -> Figures {
    let output = Command::new(exe)
        .args(["--child", arg])
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if std::env::var_os("PROXY_VERBOSE").is_some() {
        eprintln!("--- {name}\n{}", String::from_utf8_lossy(&output.stderr));
    }
    Figures::parse(&stdout).unwrap_or_else(|| {
        eprintln!(
            "{name} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::process::exit(1);
    })
}

/// One child's figures: the `key=value` pairs of its `RESULT` line.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    values: HashMap<String, f64>,
}

impl Figures {
    pub fn parse(stdout: &str) -> Option<Self> {
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

    /// The figure named `key`, or NaN.
    pub fn get(&self, key: &str) -> f64 {
        self.values.get(key).copied().unwrap_or(f64::NAN)
    }

    /// Peak RSS over the live working set, in the steady phase.
    pub fn ratio(&self) -> f64 {
        self.get("steady_peak") / self.get("steady_live")
    }

    /// RSS after the load and two sweeps, as a share of the RSS before the load.
    pub fn after_sweeps_share(&self) -> f64 {
        self.get("after_sweeps") / self.get("baseline")
    }
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The median over rounds of `runs[r].rps / base[r].rps`: a ratio measured within each round.
pub fn paired(runs: &[Figures], base: &[Figures]) -> f64 {
    median(
        runs.iter()
            .zip(base)
            .map(|(run, base)| run.get("rps") / base.get("rps"))
            .collect(),
    )
}

/// Bytes as MiB, one decimal.
pub fn mib(bytes: f64) -> String {
    format!("{:.1}", bytes / (1024.0 * 1024.0))
}

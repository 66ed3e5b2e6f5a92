//! The proxy workload of `examples/proxy_buffers.rs`, the README's main demo, for any
//! [`Strategy`]: the same request sizes, phases, work per request and RSS readings.
//!
//! The pieces are copied from the demo, not shared with it: the demo is one file that its
//! own package builds with pool-core alone, and must stay so. Keep them in step: the
//! constants, [`Rng`], [`LiveBytes`], [`fill_and_sum`], the `/proc` readings and the phases of
//! [`run_child`] are the demo's, line for line; what differs is that a strategy is a type here
//! (the demo's `Source` enum has three cases) and that every buffer is given back through
//! [`Strategy::give`], which for most strategies is the demo's drop.

use crate::strategies::Strategy;
use crate::support::counting_alloc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

pub const WORKERS: usize = 8;
pub const STEADY_REQUESTS_PER_WORKER: usize = 2_500;
pub const BURST_HELD: usize = 16;
pub const BURST_ROUNDS: usize = 4;
pub const TRICKLE_REQUESTS: usize = 400;
pub const MIN_LEN: f64 = 10_000.0;
pub const MAX_LEN: f64 = 3_000_000.0;
/// Log-normal with median e^MU and shape SIGMA: after clamping to 10 KB..3 MB the mean is
/// about 100 KB (printed by the run).
const MU: f64 = 10.95;
const SIGMA: f64 = 1.1;
pub const SEED: u64 = 0x5EED_0000_0000_0001;

/// Runs one request: get a buffer of `len`, write every byte, read them back, release.
fn serve<S: Strategy>(source: &S, len: usize, live: &LiveBytes) -> u64 {
    let _in_use = live.hold(len);
    let mut held = source.get(len);
    let sum = fill_and_sum(checked(S::buf(&mut held)), len);
    source.give(held);
    sum
}

/// Runs `lens.len()` requests whose buffers are all held at once, and calls `while_held`
/// (a barrier: every worker's buffers are in flight together) before releasing them.
fn serve_together<S: Strategy>(
    source: &S,
    lens: &[usize],
    live: &LiveBytes,
    while_held: impl Fn(),
) -> u64 {
    let _in_use: Vec<_> = lens.iter().map(|&len| live.hold(len)).collect();
    let mut held: Vec<_> = lens.iter().map(|&len| source.get(len)).collect();
    let sum = held
        .iter_mut()
        .zip(lens)
        .map(|(held, &len)| fill_and_sum(checked(S::buf(held)), len))
        .sum();
    while_held();
    for held in held {
        source.give(held);
    }
    sum
}

/// Every strategy must hand out an empty buffer, as `Vec::with_capacity(len)` does: a reused
/// buffer that kept its length would skip `resize`'s memset and be unfairly fast. One compare
/// per request (a request writes 10 KB or more).
#[inline]
fn checked(buf: &mut Vec<u8>) -> &mut Vec<u8> {
    assert!(
        buf.is_empty(),
        "a strategy handed out a buffer of length {}",
        buf.len()
    );
    buf
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

/// Runs strategy `S` in this process and prints its figures on one `RESULT` line (the demo's
/// keys, so the two programs' figures compare).
pub fn run_child<S: Strategy>() {
    let source = S::new();
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
            let (source, live, all_held) = (&source, &live, &all_held);
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
        std::hint::black_box(serve(&source, rng.request_len(), &live));
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

/// One child's figures.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    values: std::collections::HashMap<String, f64>,
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

pub fn mib(bytes: f64) -> String {
    format!("{:.1}", bytes / (1024.0 * 1024.0))
}

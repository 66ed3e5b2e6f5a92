//! Stress: 8 threads doing random operations on one pool, checked as they go and at the end.
//!
//! Each thread draws from: get (borrowed or owned guard), hold several, return one of them
//! in random order, take one out with `into_inner`, `put` a new object, pass an owned guard
//! to another thread (which returns it), and `sweep`. Objects carry a unique id, a canary and
//! a held flag, so the run fails on:
//! - an object handed to a second user while held (the held flag);
//! - an object handed out un-reset (dirty flag or payload left), or corrupted (canary);
//! - counts that do not balance when quiet: `created + adopted == idle + in_use() +
//!   detached + discarded.total()`, gets and returns against the stats, resets against
//!   returns, and every object made dropped exactly once when the pool goes.
//!
//! The CI run takes a few seconds. A long run, and a fixed seed to replay a failure:
//!
//! ```text
//! POOL_STRESS_OPS=1000000 cargo test --release --test test_stress -- --nocapture
//! POOL_STRESS_SEED=12345 cargo test --release --test test_stress
//! ```
//!
//! `POOL_STRESS_OPS` is operations per thread (default 100 000; 100 under miri).

use pool_core::{Pool, PooledOwned, Reset};
use std::env;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

const THREADS: usize = if cfg!(miri) { 3 } else { 8 };
const DEFAULT_OPS: usize = if cfg!(miri) { 100 } else { 100_000 };
/// Guards one thread holds at most.
const MAX_HELD: usize = 8;
const CANARY: u64 = 0x5EED_CAFE_F00D_D00D;

/// What happened to every [`Probe`] of one run.
#[derive(Debug, Default)]
struct Ledger {
    made: AtomicUsize,
    resets: AtomicUsize,
    drops: AtomicUsize,
    gets: AtomicUsize,
    /// Guard drops and `put`s.
    returns: AtomicUsize,
    detached: AtomicUsize,
    /// Detached objects handed back with `put` (adopted, but not made again).
    put_back: AtomicUsize,
}

impl Ledger {
    fn get(counter: &AtomicUsize) -> u64 {
        counter.load(SeqCst) as u64
    }
}

#[derive(Debug)]
struct Probe {
    id: u64,
    canary: u64,
    held: AtomicBool,
    dirty: bool,
    payload: Vec<u8>,
    ledger: Arc<Ledger>,
}

impl Probe {
    fn new(ledger: &Arc<Ledger>) -> Self {
        let id = ledger.made.fetch_add(1, SeqCst) as u64;
        Self {
            id,
            canary: CANARY ^ id,
            held: AtomicBool::new(false),
            dirty: false,
            payload: Vec::new(),
            ledger: Arc::clone(ledger),
        }
    }

    fn check_canary(&self) {
        assert_eq!(
            self.canary,
            CANARY ^ self.id,
            "object {} corrupted: canary {:#x}",
            self.id,
            self.canary
        );
    }

    /// A user's first touch: nobody else holds it, it was reset, and it is intact. Then
    /// it writes `bytes` bytes of its own.
    fn claim(&mut self, bytes: usize) {
        assert!(
            !self.held.swap(true, SeqCst),
            "object {} handed to a second user while held",
            self.id
        );
        self.check_canary();
        assert!(
            !self.dirty && self.payload.is_empty(),
            "object {} handed out un-reset",
            self.id
        );
        self.dirty = true;
        self.payload.resize(bytes, self.id as u8);
    }
}

impl Reset for Probe {
    fn reset(&mut self) {
        self.check_canary();
        self.dirty = false;
        self.payload.clear();
        self.held.store(false, SeqCst);
        self.ledger.resets.fetch_add(1, SeqCst);
    }

    fn retained_bytes(&self) -> usize {
        self.payload.capacity()
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.check_canary();
        self.ledger.drops.fetch_add(1, SeqCst);
    }
}

fn ops_per_thread() -> usize {
    env::var("POOL_STRESS_OPS")
        .ok()
        .map(|ops| ops.parse().expect("POOL_STRESS_OPS must be a number"))
        .unwrap_or(DEFAULT_OPS)
}

fn seed() -> u64 {
    env::var("POOL_STRESS_SEED")
        .ok()
        .map(|seed| seed.parse().expect("POOL_STRESS_SEED must be a number"))
        .unwrap_or_else(|| fastrand::u64(..))
}

/// A guard a thread holds: borrowed or owned.
enum Held<'a> {
    Borrowed(pool_core::Pooled<'a, Probe>),
    Owned(PooledOwned<Probe>),
}

/// Runs the random workload on `pool` and checks everything; `max_idle` is the pool's
/// limit, if any.
fn stress(name: &str, pool: Pool<Probe>, ledger: &Arc<Ledger>, max_idle: Option<usize>) {
    let pool = Arc::new(pool);
    let ops = ops_per_thread();
    let seed = seed();
    let sweeps = AtomicU64::new(0);
    // Owned guards in transit between threads: dropped (returned) by whoever takes them.
    let mailbox: Mutex<Vec<PooledOwned<Probe>>> = Mutex::new(Vec::new());
    let start = Instant::now();
    thread::scope(|s| {
        for thread in 0..THREADS {
            let (pool, ledger, sweeps, mailbox) = (&pool, ledger, &sweeps, &mailbox);
            s.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(seed ^ (thread as u64).wrapping_mul(0x9E37));
                let mut held: Vec<Held<'_>> = Vec::new();
                for _ in 0..ops {
                    match rng.u32(0..100) {
                        0..40 if held.len() < MAX_HELD => {
                            ledger.gets.fetch_add(1, SeqCst);
                            let bytes = rng.usize(0..300);
                            if rng.bool() {
                                let mut guard = pool.get();
                                guard.claim(bytes);
                                held.push(Held::Borrowed(guard));
                            } else {
                                let mut guard = pool.get_owned();
                                guard.claim(bytes);
                                held.push(Held::Owned(guard));
                            }
                        }
                        0..75 if !held.is_empty() => {
                            let index = rng.usize(..held.len());
                            ledger.returns.fetch_add(1, SeqCst);
                            drop(held.swap_remove(index));
                        }
                        75..82 if !held.is_empty() => {
                            let index = rng.usize(..held.len());
                            let probe = match held.swap_remove(index) {
                                Held::Borrowed(guard) => pool_core::Pooled::into_inner(guard),
                                Held::Owned(guard) => PooledOwned::into_inner(guard),
                            };
                            assert!(probe.dirty, "into_inner does not reset");
                            probe.held.store(false, SeqCst);
                            ledger.detached.fetch_add(1, SeqCst);
                            if rng.bool() {
                                ledger.returns.fetch_add(1, SeqCst);
                                ledger.put_back.fetch_add(1, SeqCst);
                                pool.put(probe); // the detached object comes back, adopted
                            }
                        }
                        82..88 => {
                            ledger.returns.fetch_add(1, SeqCst);
                            let mut probe = Probe::new(ledger);
                            probe.payload.resize(rng.usize(0..300), 1);
                            pool.put(probe);
                        }
                        88..94 => {
                            // Pass an owned guard on, or return one another thread left.
                            let mut mailbox = mailbox.lock().unwrap();
                            if let Some(index) =
                                held.iter().position(|h| matches!(h, Held::Owned(_)))
                                && rng.bool()
                            {
                                if let Held::Owned(guard) = held.swap_remove(index) {
                                    mailbox.push(guard);
                                }
                            } else if let Some(guard) = mailbox.pop() {
                                drop(mailbox);
                                ledger.returns.fetch_add(1, SeqCst);
                                drop(guard);
                            }
                        }
                        94..96 => {
                            pool.sweep();
                            sweeps.fetch_add(1, SeqCst);
                        }
                        _ => {
                            let stats = pool.stats();
                            if let Some(max) = max_idle {
                                assert!(stats.idle <= max, "over the idle limit: {stats}");
                            }
                        }
                    }
                }
                ledger.returns.fetch_add(held.len(), SeqCst);
                drop(held);
            });
        }
    });
    let in_mailbox = mailbox.into_inner().unwrap();
    ledger.returns.fetch_add(in_mailbox.len(), SeqCst);
    drop(in_mailbox);

    let stats = pool.stats();
    let context = format!("{name} (POOL_STRESS_SEED={seed}): {stats}");
    assert_eq!(
        stats.created + stats.adopted,
        stats.idle as u64 + stats.detached + stats.discarded.total(),
        "quiet pool does not balance: {context}"
    );
    assert_eq!(stats.in_use(), 0, "{context}");
    assert_eq!(
        stats.created + stats.reused,
        Ledger::get(&ledger.gets),
        "gets: {context}"
    );
    assert_eq!(stats.detached, Ledger::get(&ledger.detached), "{context}");
    assert_eq!(stats.sweeps, sweeps.load(SeqCst), "{context}");
    assert_eq!(
        Ledger::get(&ledger.made) + Ledger::get(&ledger.put_back),
        stats.created + stats.adopted,
        "{context}"
    );
    let kept_or_refused = stats.returned + stats.discarded.over_limit + stats.discarded.too_large;
    assert_eq!(
        kept_or_refused,
        Ledger::get(&ledger.returns),
        "returns: {context}"
    );
    assert_eq!(stats.discarded.panicked, 0, "{context}");
    assert_eq!(
        Ledger::get(&ledger.resets),
        Ledger::get(&ledger.returns),
        "one reset per return: {context}"
    );
    assert_eq!(
        Ledger::get(&ledger.made) - Ledger::get(&ledger.drops),
        stats.idle as u64,
        "alive objects are exactly the idle ones: {context}"
    );
    if let Some(max) = max_idle {
        assert!(stats.idle <= max, "{context}");
    }
    drop(pool);
    assert_eq!(
        ledger.drops.load(SeqCst),
        ledger.made.load(SeqCst),
        "every object dropped exactly once: {context}"
    );
    eprintln!(
        "{name}: {THREADS} threads x {ops} ops in {:.2?} (seed {seed}): {stats}",
        start.elapsed()
    );
}

fn maker(ledger: &Arc<Ledger>) -> impl Fn() -> Probe + Send + Sync + 'static {
    let ledger = Arc::clone(ledger);
    move || Probe::new(&ledger)
}

#[test]
fn stress_default_limits() {
    let ledger = Arc::new(Ledger::default());
    let pool = Pool::builder().init(maker(&ledger)).build();
    stress("default limits", pool, &ledger, None);
}

#[test]
fn stress_small_caches_and_every_limit() {
    let ledger = Arc::new(Ledger::default());
    let pool = Pool::builder()
        .thread_cache(4)
        .max_idle(24)
        .max_idle_bytes(24 * 256)
        .max_object_bytes(256)
        .init(maker(&ledger))
        .build();
    stress("small caches, every limit", pool, &ledger, Some(24));
}

#[test]
fn stress_without_thread_caches() {
    let ledger = Arc::new(Ledger::default());
    let pool = Pool::builder()
        .thread_cache(0)
        .max_idle(64)
        .init(maker(&ledger))
        .build();
    stress("no thread caches", pool, &ledger, Some(64));
}

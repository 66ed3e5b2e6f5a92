//! Fixtures for the loom models (`tests/loom/`): a model runner that reports its iteration
//! count ([`check`], and [`check_pool`] with a fresh pool for each iteration), [`Obj`], an
//! object that records what happens to it, and the models' steps: [`spawn_with`] a handle
//! on the pool, [`cycle`] objects through it.
//!
//! The bookkeeping (held flags, counters) uses std atomics on purpose. Loom runs one modelled
//! thread at a time, so they are exact; and loom does not see them, so they add no
//! happens-before edge that could hide a missing one in the pool. The object's payload, by
//! contrast, lives in a loom cell: every user write, reset and read of it is checked by loom
//! against the edges the pool's own shim types provide.

use loom::cell::UnsafeCell;
use pool_core::{Pool, Reset, Stats};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

/// Runs `model` under loom and prints how many interleavings it explored.
///
/// `LOOM_MAX_PREEMPTIONS` and the other `LOOM_*` variables apply as usual; without
/// `LOOM_MAX_PREEMPTIONS` the bound defaults to 2 here (unbounded runs take hours).
pub fn check(name: &str, model: impl Fn() + Sync + Send + 'static) {
    let iterations = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&iterations);
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    let start = Instant::now();
    builder.check(move || {
        counter.fetch_add(1, SeqCst);
        model();
    });
    // Printed with `--nocapture` (.ci/loom.sh): the numbers the issue asks to report.
    eprintln!(
        "loom model {name}: {} iterations in {:.1?}",
        iterations.load(SeqCst),
        start.elapsed()
    );
}

/// Runs `model` under loom, as [`check`] does, on a pool of [`Obj`] with `thread_cache`
/// objects per thread cache and the [`Ledger`] of its objects, both made anew for each
/// iteration.
pub fn check_pool(
    name: &str,
    thread_cache: usize,
    model: impl Fn(Arc<Ledger>, Arc<Pool<Obj>>) + Sync + Send + 'static,
) {
    check(name, move || {
        let ledger = Ledger::new();
        let pool = Obj::pool(&ledger, thread_cache);
        model(ledger, pool);
    });
}

/// Spawns a modelled thread that runs `f` on a handle of its own to `shared` (the pool).
pub fn spawn_with<S, T>(
    shared: &Arc<S>,
    f: impl FnOnce(Arc<S>) -> T + Send + 'static,
) -> loom::thread::JoinHandle<T>
where
    S: Send + Sync + 'static,
    T: Send + 'static,
{
    let shared = Arc::clone(shared);
    loom::thread::spawn(move || f(shared))
}

/// What happened to every [`Obj`] of one model iteration.
#[derive(Debug, Default)]
pub struct Ledger {
    made: AtomicUsize,
    resets: AtomicUsize,
    drops: AtomicUsize,
}

impl Ledger {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn made(&self) -> usize {
        self.made.load(SeqCst)
    }
    pub fn resets(&self) -> usize {
        self.resets.load(SeqCst)
    }
    pub fn drops(&self) -> usize {
        self.drops.load(SeqCst)
    }

    /// Objects alive now: made and not yet dropped.
    pub fn alive(&self) -> usize {
        self.made() - self.drops()
    }
}

/// A pooled object with an identity, a payload in a loom cell, and a held flag.
#[derive(Debug)]
pub struct Obj {
    pub id: usize,
    /// 0 means reset; a user writes its own nonzero mark.
    payload: UnsafeCell<u64>,
    held: AtomicBool,
    ledger: Arc<Ledger>,
}

impl Obj {
    pub fn new(ledger: &Arc<Ledger>) -> Self {
        Self {
            id: ledger.made.fetch_add(1, SeqCst),
            payload: UnsafeCell::new(0),
            held: AtomicBool::new(false),
            ledger: Arc::clone(ledger),
        }
    }

    /// A pool of these, with `thread_cache` objects per thread cache.
    pub fn pool(ledger: &Arc<Ledger>, thread_cache: usize) -> Arc<Pool<Obj>> {
        let ledger = Arc::clone(ledger);
        Arc::new(
            Pool::builder()
                .thread_cache(thread_cache)
                .init(move || Obj::new(&ledger))
                .build(),
        )
    }

    /// What a user does right after a get: checks that nobody else holds the object and
    /// that it was reset, then writes its own `mark`.
    ///
    /// The payload is read and written through loom's cell, so if the previous user's
    /// write or the reset were not ordered before this read (a missing put -> get edge),
    /// loom reports a data race rather than us reading a stale value.
    pub fn claim(&mut self, mark: u64) {
        assert!(mark != 0, "0 is the reset value");
        assert!(
            !self.held.swap(true, SeqCst),
            "object {} handed to a second user while held",
            self.id
        );
        // SAFETY: `&mut self` is the only reference to the object; the cell is there so
        // loom checks this access against other threads' accesses to the same object.
        let seen = self.payload.with(|payload| unsafe { *payload });
        assert_eq!(
            seen, 0,
            "object {} handed out un-reset: it still carries mark {seen}",
            self.id
        );
        // SAFETY: as above.
        self.payload.with_mut(|payload| unsafe { *payload = mark });
    }

    /// For an object taken out with `into_inner`: the user is done with it.
    pub fn release(&mut self) {
        self.held.store(false, SeqCst);
    }
}

impl Reset for Obj {
    fn reset(&mut self) {
        // SAFETY: `&mut self`, and checked by loom as in `claim`.
        self.payload.with_mut(|payload| unsafe { *payload = 0 });
        self.held.store(false, SeqCst);
        self.ledger.resets.fetch_add(1, SeqCst);
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert!(
                !*self.held.get_mut(),
                "object {} dropped while a user held it",
                self.id
            );
        }
        self.ledger.drops.fetch_add(1, SeqCst);
    }
}

/// Gets and returns `n` objects, marking them with `mark`.
pub fn cycle(pool: &Pool<Obj>, n: usize, mark: u64) {
    let mut held: Vec<_> = (0..n).map(|_| pool.get()).collect();
    for obj in &mut held {
        obj.claim(mark);
    }
}

/// Checks the balance of a quiet pool whose users hold `in_use` objects (and have dropped
/// any they detached), against the pool's stats and the ledger's drop counter:
/// created == dropped + idle + in use.
pub fn assert_balanced(pool: &Pool<Obj>, ledger: &Ledger, in_use: usize) -> Stats {
    let stats = pool.stats();
    assert_eq!(
        ledger.made() as u64,
        stats.created + stats.adopted,
        "every object was made by `init` or handed in with `put`: {stats}"
    );
    assert_eq!(
        stats.created + stats.adopted,
        (stats.idle + in_use) as u64 + stats.detached + stats.discarded.total(),
        "stats do not balance: {stats}"
    );
    assert_eq!(stats.in_use(), in_use as u64, "{stats}");
    assert_eq!(
        ledger.alive(),
        stats.idle + in_use,
        "objects alive must be idle or in use: {stats}"
    );
    stats
}

//! The per-thread level under churn and misuse: caches of exited and quiet threads come
//! back, budgets never strand, absurd builder values are clamped, user code may re-enter
//! the pool from anywhere, and thread-local teardown in any order falls back safely.

mod support;

use pool_core::{BufferPool, Pool, PooledOwned, Reset};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use support::{Counts, Reports, Tracked};

/// Threads that each take a few objects, return them and exit, `alive` at a time.
fn churn(pool: &Arc<Pool<Tracked>>, threads: usize, alive: usize, objects: usize) {
    for _ in 0..threads / alive {
        let handles: Vec<_> = (0..alive)
            .map(|_| {
                let pool = Arc::clone(pool);
                thread::spawn(move || {
                    let held: Vec<_> = (0..objects).map(|_| pool.get()).collect();
                    drop(held);
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
    }
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn exited_threads_caches_age_out_in_two_sweeps() {
    let (threads, alive) = if cfg!(miri) { (8, 4) } else { (400, 20) };
    let counts = Counts::new();
    let pool = Arc::new(Pool::with_init(Tracked::maker(&counts)));
    churn(&pool, threads, alive, 16);
    let stats = pool.stats();
    assert!(stats.idle > 0, "{stats}");
    assert!(
        counts.made() <= alive * 16 * 2,
        "exited threads' caches are reused by new threads: {} made",
        counts.made()
    );
    pool.sweep();
    pool.sweep();
    let stats = pool.stats();
    assert_eq!(stats.idle, 0, "nothing idle after two sweeps: {stats}");
    assert_eq!(counts.drops(), counts.made());
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn an_exited_threads_reservation_comes_back() {
    // Two threads take their whole share of a small budget and exit; the budget must come
    // back, or every later return would be refused.
    let counts = Counts::new();
    let pool = Arc::new(
        Pool::builder()
            .max_idle(8)
            .thread_cache(4)
            .init(Tracked::maker(&counts))
            .build(),
    );
    churn(&pool, 2, 2, 4);
    let held: Vec<_> = (0..12).map(|_| pool.get()).collect();
    drop(held);
    let stats = pool.stats();
    assert_eq!(stats.idle, 8, "the budget is whole again: {stats}");
    assert_eq!(stats.discarded.over_limit, 4, "{stats}");
}

/// The same for `BufferPool`: a return that the budget refuses because an exited thread's
/// shelf still holds a reservation collects that shelf and is kept.
#[test]
#[cfg_attr(pool_chaos, ignore = "chaos discards returns")]
fn an_exited_threads_shelf_reservation_comes_back_to_a_return() {
    let buffers = BufferPool::builder()
        .classes(4096, 4096)
        .max_idle_bytes(4096)
        .thread_cache_bytes(4096)
        .build();
    // This thread's shelf, empty and with no reservation after two sweeps: a return here
    // takes the fast path's way, not a new shelf's (which collects exited ones anyway).
    drop(buffers.get(4096));
    buffers.sweep();
    buffers.sweep();
    let elsewhere = buffers.clone();
    // The other thread's shelf reserves the whole budget for the buffer it returns, keeps the
    // reservation when it takes the buffer out again, and exits.
    let taken = thread::spawn(move || {
        drop(elsewhere.get(4096));
        elsewhere.get_owned(4096)
    })
    .join()
    .unwrap();
    drop(taken);
    let stats = buffers.stats();
    assert_eq!(
        (stats.total.idle, stats.total.discarded.over_limit),
        (1, 0),
        "kept, not refused: {stats}"
    );
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn one_threads_reservation_never_takes_the_whole_byte_budget() {
    let pool: Pool<Vec<u8>> = Pool::builder()
        .max_idle_bytes(1 << 20)
        .init(|| Vec::with_capacity(16 * 1024))
        .build();
    // This thread keeps as much as it may.
    let mine: Vec<_> = (0..16).map(|_| pool.get()).collect();
    drop(mine);
    // Another thread's returns still fit the rest of the budget.
    thread::scope(|s| {
        s.spawn(|| {
            let theirs: Vec<_> = (0..16).map(|_| pool.get()).collect();
            drop(theirs);
        });
    });
    let stats = pool.stats();
    assert!(stats.idle_bytes <= 1 << 20, "{stats}");
    assert_eq!(stats.discarded.over_limit, 0, "{stats}");
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn one_threads_reservation_never_takes_the_whole_object_budget() {
    // This thread fills its cache, then takes everything back and keeps it: it sits on
    // its reservation with nothing idle. Another thread's return must still be kept.
    let pool: Pool<Vec<u8>> = Pool::builder().max_idle(8).build();
    let held: Vec<_> = (0..8).map(|_| pool.get()).collect();
    drop(held);
    let held: Vec<_> = (0..8).map(|_| pool.get()).collect();
    assert_eq!(pool.stats().idle, 0);
    thread::scope(|s| {
        s.spawn(|| drop(pool.get()));
    });
    let stats = pool.stats();
    assert_eq!(
        (stats.idle, stats.discarded.over_limit),
        (1, 0),
        "nothing was idle, so nothing is over the limit: {stats}"
    );
    drop(held);
    assert_eq!(pool.stats().idle, 8, "and the limit still holds");
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn an_object_reporting_more_than_the_clamp_is_kept_within_its_threads_reservation() {
    // An object counts for at most 1 TiB whatever it reports, so with nothing idle it fits
    // the reservation its thread already holds; it must not be refused as over the limit,
    // nor leave its thread's cache for the shared depot.
    for report in [1usize << 40, (1 << 40) + 1, usize::MAX] {
        let pool: Pool<Reports> = Pool::builder().max_idle(1).thread_cache(1).build();
        drop(pool.get()); // kept here: this thread reserves one object
        let mut object = pool.get(); // taken back out; the reservation stays
        object.0 = report;
        drop(object);
        let stats = pool.stats();
        assert_eq!(
            (stats.idle, stats.discarded.over_limit),
            (1, 0),
            "reporting {report} bytes: {stats}"
        );
        assert_eq!(stats.idle_bytes, 1 << 40, "counted for the clamp");
        // Still this thread's: another thread finds nothing idle.
        thread::scope(|s| {
            s.spawn(|| drop(pool.get()));
        });
        assert_eq!(pool.stats().created, 2, "reporting {report} bytes");
    }
}

#[test]
fn an_absurd_thread_cache_is_clamped_at_build() {
    for objects in [usize::MAX, 1 << 60] {
        let pool: Pool<Vec<u8>> = Pool::builder().thread_cache(objects).build();
        let held: Vec<_> = (0..100).map(|_| pool.get()).collect();
        drop(held);
        let stats = pool.stats();
        assert_eq!(stats.idle + chaos_discards(&stats), 100, "{stats}");
    }
}

/// Returns the chaos mode dropped on purpose (it counts them as over the limit); none
/// otherwise, so outside chaos mode the tests below hold exactly.
fn chaos_discards(stats: &pool_core::Stats) -> usize {
    if cfg!(pool_chaos) {
        usize::try_from(stats.discarded.over_limit).expect("fits: at most 100 returns")
    } else {
        0
    }
}

/// Reports a huge size, which would overflow byte sums if counted as reported.
#[derive(Default)]
struct Enormous;

impl Reset for Enormous {
    fn reset(&mut self) {}
    fn retained_bytes(&self) -> usize {
        1 << 63
    }
}

#[test]
#[cfg(target_pointer_width = "64")]
fn huge_retained_bytes_count_as_one_tebibyte_and_the_totals_stay_exact() {
    const COUNTED: usize = 1 << 40;
    let pool: Pool<Enormous> = Pool::new();
    let held: Vec<_> = (0..16).map(|_| pool.get()).collect();
    drop(held);
    let stats = pool.stats();
    assert_eq!(stats.idle + chaos_discards(&stats), 16, "{stats}");
    assert_eq!(stats.idle_bytes, stats.idle * COUNTED, "{stats}");
    // Taking some out and putting them back keeps the sum exact (a saturated sum would not
    // come back down correctly).
    let again: Vec<_> = (0..8).map(|_| pool.get()).collect();
    let stats = pool.stats();
    assert_eq!(stats.idle_bytes, stats.idle * COUNTED, "{stats}");
    drop(again);
    let stats = pool.stats();
    assert_eq!(stats.idle_bytes, stats.idle * COUNTED, "{stats}");
    pool.sweep();
    pool.sweep();
    assert_eq!(pool.stats().idle_bytes, 0);
}

static REENTRANT: Pool<Reentrant> = Pool::new();
static REENTERED: AtomicUsize = AtomicUsize::new(0);

/// An object whose `reset` and `Drop` use the pool that holds it.
#[derive(Default)]
struct Reentrant {
    nested: bool,
}

impl Reset for Reentrant {
    fn reset(&mut self) {
        if !self.nested {
            let mut inner = REENTRANT.get();
            inner.nested = true;
            let _ = REENTRANT.stats();
        }
    }
}

impl Drop for Reentrant {
    fn drop(&mut self) {
        if !self.nested {
            REENTERED.fetch_add(1, Ordering::SeqCst);
            let _ = REENTRANT.stats();
            let mut inner = REENTRANT.get();
            inner.nested = true;
        }
    }
}

#[test]
fn reset_and_drop_may_use_the_pool_from_any_path() {
    // Returns reach the depot and beyond (a tiny cache), aging drops objects, and every
    // user callback calls back into the same pool: no deadlock, no second borrow of a
    // cache (miri checks the latter).
    let held: Vec<_> = (0..40).map(|_| REENTRANT.get()).collect();
    drop(held);
    REENTRANT.sweep();
    REENTRANT.sweep();
    let stats = REENTRANT.stats();
    assert_eq!(stats.in_use(), 0, "{stats}");
    assert!(
        REENTERED.load(Ordering::SeqCst) > 0,
        "aged-out objects were dropped"
    );
}

thread_local! {
    static KEPT: RefCell<Option<PooledOwned<Tracked>>> = const { RefCell::new(None) };
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_guard_in_a_thread_local_returns_in_either_teardown_order() {
    let counts = Counts::new();
    let pool = Arc::new(Pool::with_init(Tracked::maker(&counts)));
    for pool_first in [true, false] {
        let pool = Arc::clone(&pool);
        thread::spawn(move || {
            if pool_first {
                // The pool's registry is set up first, so its destructor runs after the
                // user's: the guard returns to this thread's cache, then the cache goes.
                drop(pool.get());
                KEPT.with(|kept| *kept.borrow_mut() = Some(pool.get_owned()));
            } else {
                // The user's thread-local first: its destructor runs after the pool's
                // registry is gone, so the guard falls back to the shared depot.
                KEPT.with(|kept| kept.borrow_mut().take());
                let guard = pool.get_owned();
                KEPT.with(|kept| *kept.borrow_mut() = Some(guard));
            }
            // The `thread_local` crate used after storing the guard, as tracing does: its
            // destructor ordering used to abort the process at thread exit.
            let other = thread_local::ThreadLocal::<u8>::new();
            other.get_or(|| 1);
        })
        .join()
        .unwrap();
    }
    let stats = pool.stats();
    assert_eq!(stats.in_use(), 0, "every guard came back: {stats}");
    assert_eq!(
        stats.returned, 3,
        "two returns in the first thread, one in the second: {stats}"
    );
    pool.sweep();
    pool.sweep();
    assert_eq!(counts.drops(), counts.made());
}

//! Multi-thread behaviour of `Pool`: handoff, thread churn, limits across threads, aging.

mod support;

use pool_core::{Pool, PooledOwned};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use support::{Counts, Tracked};

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

#[test]
fn pool_and_guards_are_send_and_sync_for_send_types() {
    assert_send_sync::<Pool<Vec<u8>>>();
    assert_send_sync::<Pool<Tracked>>();
    assert_send::<PooledOwned<Vec<u8>>>();
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_producer_and_a_consumer_settle_into_reuse() {
    const MESSAGES: usize = if cfg!(miri) { 500 } else { 50_000 };
    let counts = Counts::new();
    let pool = Arc::new(Pool::with_init(Tracked::maker(&counts)));
    let (tx, rx) = mpsc::sync_channel::<PooledOwned<Tracked>>(16);
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..MESSAGES {
                let mut msg = pool.get_owned();
                msg.use_it();
                tx.send(msg).unwrap();
            }
            drop(tx);
        });
        s.spawn(|| {
            for msg in rx {
                assert!(msg.dirty);
                drop(msg); // returned on the consumer's thread
            }
        });
    });
    let stats = pool.stats();
    // In flight at most: the channel (16), one in each thread's hands, two thread caches
    // (2 x 16) and the depot's magazines between them.
    assert!(
        counts.made() <= 128,
        "objects must be reused across threads: {stats}"
    );
    assert_eq!(stats.created + stats.reused, MESSAGES as u64);
    assert_eq!(stats.in_use(), 0);
    drop(pool);
    assert_eq!(
        counts.drops(),
        counts.made(),
        "dropping the pool drops every idle object once"
    );
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_thousand_short_lived_threads_stay_bounded() {
    const THREADS: usize = if cfg!(miri) { 12 } else { 1200 };
    const AT_ONCE: usize = 4;
    let counts = Counts::new();
    let pool = Pool::builder()
        .thread_cache(8)
        .init(Tracked::maker(&counts))
        .build();
    for _ in 0..THREADS / AT_ONCE {
        thread::scope(|s| {
            for _ in 0..AT_ONCE {
                s.spawn(|| {
                    let mut held: Vec<_> = (0..3).map(|_| pool.get()).collect();
                    held.iter_mut().for_each(|t| t.use_it());
                });
            }
        });
    }
    let stats = pool.stats();
    // Thread slots are reused by later threads, so what is kept scales with the threads
    // alive at once (here 4 x 8 in caches, plus the depot), not with 1200 threads.
    assert!(stats.created <= (AT_ONCE * 3 * 4) as u64, "{stats}");
    assert!(stats.idle <= AT_ONCE * 8 + 64, "{stats}");
    assert_eq!(stats.created, stats.idle as u64);
    drop(pool);
    assert_eq!(
        counts.drops(),
        counts.made(),
        "every created object dropped exactly once"
    );
}

#[test]
fn the_idle_maximum_holds_across_threads() {
    const MAX_IDLE: usize = 10;
    let counts = Counts::new();
    let pool = Pool::builder()
        .thread_cache(8)
        .max_idle(MAX_IDLE)
        .init(Tracked::maker(&counts))
        .build();
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for round in 0..50 {
                    let held: Vec<_> = (0..(round % 7 + 1)).map(|_| pool.get()).collect();
                    drop(held);
                    assert!(pool.stats().idle <= MAX_IDLE);
                }
            });
        }
    });
    let stats = pool.stats();
    assert!(stats.idle <= MAX_IDLE, "{stats}");
    assert_eq!(
        stats.created,
        stats.idle as u64 + stats.discarded.over_limit
    );
    drop(pool);
    assert_eq!(counts.drops(), counts.made());
}

thread_local! {
    static KEPT: RefCell<Option<PooledOwned<Vec<u8>>>> = const { RefCell::new(None) };
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_guard_dropped_during_thread_local_teardown_is_returned_without_panicking() {
    let pool = Arc::new(Pool::<Vec<u8>>::new());
    let handle = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || {
            // Use the pool first, so its per-thread state exists before the guard's slot.
            drop(pool.get());
            let mut guard = pool.get_owned();
            guard.extend_from_slice(b"kept in a thread-local");
            KEPT.with(|kept| *kept.borrow_mut() = Some(guard));
            // The thread exits: its thread-locals, this guard among them, are destroyed.
        })
    };
    handle
        .join()
        .expect("dropping a guard in a TLS destructor must not panic");
    let stats = pool.stats();
    assert_eq!(stats.returned, 2, "{stats}");
    assert_eq!(stats.in_use(), 0);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn automatic_aging_releases_idle_memory_without_traffic() {
    let counts = Counts::new();
    let pool = Pool::builder()
        .thread_cache(0)
        .age_every(Duration::from_millis(if cfg!(miri) { 1000 } else { 10 }))
        .init(Tracked::maker(&counts))
        .build();
    let held: Vec<_> = (0..10).map(|_| pool.get()).collect();
    drop(held);
    assert_eq!(pool.stats().idle, 10);
    // No calls into the pool from here: the aging thread must free the objects by itself.
    let deadline = Instant::now() + Duration::from_secs(10);
    while counts.drops() < 10 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        counts.drops(),
        10,
        "two automatic sweeps free every idle object"
    );
    assert!(pool.stats().sweeps >= 2);
}

/// An object whose `Drop` panics once `armed` (shared by the objects of one test).
struct Grenade {
    armed: Arc<std::sync::atomic::AtomicBool>,
    counts: Arc<Counts>,
}

impl pool_core::Reset for Grenade {
    fn reset(&mut self) {}
}

impl Drop for Grenade {
    fn drop(&mut self) {
        self.counts
            .drops
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.armed.load(std::sync::atomic::Ordering::SeqCst) && !thread::panicking() {
            panic!("a user's Drop panics");
        }
    }
}

/// Waits (bounded) until `done` holds.
fn wait_for(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(2));
    }
    true
}

/// A fresh pool aging every `every` is swept (three times) and ends with nothing idle: the
/// aging thread still serves every pool.
fn assert_aging_goes_on(every: Duration) {
    let good = Pool::<Vec<u8>>::builder()
        .thread_cache(0)
        .age_every(every)
        .build();
    drop(good.get());
    assert!(
        wait_for(|| good.stats().sweeps >= 3),
        "aging goes on for every other pool: {}",
        good.stats()
    );
    assert_eq!(good.stats().idle, 0);
}

#[test]
fn automatic_aging_survives_a_panicking_drop_in_another_pool() {
    let every = Duration::from_millis(if cfg!(miri) { 200 } else { 5 });
    let counts = Counts::new();
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let bad = {
        let (counts, armed) = (Arc::clone(&counts), Arc::clone(&armed));
        Pool::builder()
            .thread_cache(0)
            .age_every(every)
            .init(move || Grenade {
                armed: Arc::clone(&armed),
                counts: Arc::clone(&counts),
            })
            .build()
    };
    // Under `--cfg pool_chaos` a return may be discarded on the spot, and the Drop panics
    // here instead: return another until one is kept for the aging thread.
    let mut made = 1;
    while std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(bad.get()))).is_err() {
        made += 1;
    }
    // The aging thread drops it, and its Drop panics there.
    assert!(
        wait_for(|| counts.drops() == made),
        "the bad pool was swept"
    );
    assert_aging_goes_on(every);
    armed.store(false, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn automatic_aging_never_outlives_a_dropped_pool() {
    // Dropping a pool drops its idle objects before `drop` returns, on the dropping
    // thread, even while the aging thread is sweeping it.
    for _ in 0..if cfg!(miri) { 2 } else { 50 } {
        let counts = Counts::new();
        let pool = Pool::builder()
            .thread_cache(4)
            .age_every(Duration::from_millis(1))
            .init(Tracked::maker(&counts))
            .build();
        let held: Vec<_> = (0..200).map(|_| pool.get()).collect();
        drop(held);
        drop(pool);
        assert_eq!(
            counts.drops(),
            counts.made(),
            "all dropped by the time drop returns"
        );
    }
}

/// Builds a pool with aging from its `Drop`: needs the aging registry's lock, which the
/// aging thread must not hold while it drops objects.
struct Builder(Arc<Counts>);

impl pool_core::Reset for Builder {
    fn reset(&mut self) {}
}

impl Drop for Builder {
    fn drop(&mut self) {
        let pool = Pool::<Vec<u8>>::builder()
            .age_every(Duration::from_secs(3600))
            .build();
        drop(pool.get());
        self.0
            .drops
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn automatic_aging_drops_objects_outside_its_lock() {
    let counts = Counts::new();
    let pool = {
        let counts = Arc::clone(&counts);
        Pool::builder()
            .thread_cache(0)
            .age_every(Duration::from_millis(if cfg!(miri) { 200 } else { 5 }))
            .init(move || Builder(Arc::clone(&counts)))
            .build()
    };
    drop(pool.get());
    assert!(
        wait_for(|| counts.drops() == 1),
        "the aging thread dropped the object, whose Drop built an aging pool"
    );
}

/// Keeps a handle to its own pool through resets, as an object holding an `Arc` of the
/// state that owns its pool does.
struct Anchor {
    pool: Option<Arc<Pool<Anchor>>>,
    counts: Arc<Counts>,
}

impl pool_core::Reset for Anchor {
    fn reset(&mut self) {}
}

impl Drop for Anchor {
    fn drop(&mut self) {
        drop(self.pool.take()); // may be the last handle: the pool is dropped in here
        self.counts
            .drops
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn automatic_aging_lets_an_aged_out_object_drop_the_last_handle_to_its_pool() {
    // The aging thread's sweep drops the object, which drops the pool inside that sweep:
    // the pool's `Drop` must not wait for the sweep it runs in.
    let counts = Counts::new();
    let pool: Arc<Pool<Anchor>> = {
        let counts = Arc::clone(&counts);
        Arc::new(
            Pool::builder()
                .thread_cache(0)
                .age_every(Duration::from_millis(if cfg!(miri) { 200 } else { 5 }))
                .init(move || Anchor {
                    pool: None,
                    counts: Arc::clone(&counts),
                })
                .build(),
        )
    };
    // Under `--cfg pool_chaos` a return may be discarded on the spot: return another
    // until one is kept.
    let mut made = 0;
    while pool.stats().idle == 0 {
        let mut anchor = pool.get_owned();
        anchor.pool = Some(Arc::clone(&pool));
        made += 1;
    }
    drop(pool);
    assert!(
        wait_for(|| counts.drops() == made),
        "the aged-out object's Drop, which dropped its pool, finished"
    );
    assert_aging_goes_on(Duration::from_millis(5));
}

#[test]
fn age_every_too_long_to_represent_means_never() {
    let pool = Pool::<Vec<u8>>::builder().age_every(Duration::MAX).build();
    drop(pool.get());
    thread::sleep(Duration::from_millis(20));
    assert_eq!(pool.stats().sweeps, 0);
}

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

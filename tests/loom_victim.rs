//! Loom model 4: the cross-thread paths of the victim generation and of thread exit.
//!
//! - A thread's cache is never touched by another thread; after a sweep, it ages on the
//!   owner's next visit: one sweep behind, its magazines join the victim generation (where
//!   other threads can take them); two behind, they are dropped. Here that visit races
//!   another thread taking from the victim generation and sweeping again.
//! - A thread that exits leaves its cache in its slot. With the `thread_local` crate a later
//!   thread that reuses the id inherits the slot; loom's stand-in for it (pool-core's
//!   `sync.rs`) never reuses slots, so what is modelled is the rest: the exited thread's
//!   objects stay counted as idle while other threads sweep and use the pool, and are
//!   dropped exactly once, by the thread that drops the pool.
//!
//! Run with `ci/loom.sh`.
// Without `--cfg loom` (a plain `cargo test`) the models are left out and this file says how
// to run them.
#[cfg(not(loom))]
#[test]
#[ignore = "loom model: run with ci/loom.sh (RUSTFLAGS=\"--cfg loom\")"]
fn needs_cfg_loom() {}

#[cfg(loom)]
mod support;

#[cfg(loom)]
use loom::thread;
#[cfg(loom)]
use pool_core::Pool;
#[cfg(loom)]
use support::loom_model::{Ledger, Obj, assert_balanced, check};

/// Gets and returns `n` objects, marking them with `mark`.
#[cfg(loom)]
fn cycle(pool: &Pool<Obj>, n: usize, mark: u64) {
    let mut held: Vec<_> = (0..n).map(|_| pool.get()).collect();
    for obj in &mut held {
        obj.claim(mark);
    }
}

#[cfg(loom)]
#[test]
fn a_cache_ages_on_its_visit_while_another_thread_takes_victims() {
    check(
        "a_cache_ages_on_its_visit_while_another_thread_takes_victims",
        || {
            let ledger = Ledger::new();
            let pool = Obj::pool(&ledger, 2);
            let owner = {
                let pool = pool.clone();
                thread::spawn(move || {
                    // Fill this thread's two magazines and put one in the depot, sweep,
                    // then visit: the cache is one sweep behind (or two, if the other
                    // thread's sweep came first) and ages.
                    cycle(&pool, 3, 1);
                    pool.sweep();
                    cycle(&pool, 1, 1);
                })
            };
            let taker = {
                let pool = pool.clone();
                thread::spawn(move || {
                    cycle(&pool, 1, 2);
                    pool.sweep();
                })
            };
            // The main thread takes from the shared levels too, and holds what it got.
            let mut kept = pool.get();
            kept.claim(3);
            owner.join().unwrap();
            taker.join().unwrap();
            assert_balanced(&pool, &ledger, 1);
            drop(kept);
            let stats = assert_balanced(&pool, &ledger, 0);
            assert_eq!(stats.sweeps, 2);
            drop(pool);
            assert_eq!(ledger.drops(), ledger.made());
        },
    );
}

#[cfg(loom)]
#[test]
fn an_exited_threads_cache_is_kept_counted_and_dropped_once() {
    check(
        "an_exited_threads_cache_is_kept_counted_and_dropped_once",
        || {
            let ledger = Ledger::new();
            let pool = Obj::pool(&ledger, 2);
            let leaver = {
                let pool = pool.clone();
                thread::spawn(move || cycle(&pool, 2, 1))
            };
            let stayer = {
                let pool = pool.clone();
                thread::spawn(move || {
                    pool.sweep();
                    cycle(&pool, 1, 2);
                    pool.sweep();
                })
            };
            leaver.join().unwrap();
            stayer.join().unwrap();
            let stats = assert_balanced(&pool, &ledger, 0);
            assert!(
                stats.idle >= 2,
                "the exited thread's cache is not aged by others: {stats}"
            );
            drop(pool);
            assert_eq!(ledger.drops(), ledger.made());
        },
    );
}

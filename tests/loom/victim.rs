//! Loom model 4: the cross-thread paths of the victim generations and of thread exit.
//!
//! - A sweep reclaims the caches of owners that are out (see `reclaim.rs`) and marks
//!   the rest, which age on their owner's next visit. Here that visit races another thread
//!   taking from the depot's victims and sweeping again.
//! - A thread that exits signals its caches' links from its registry's destructor (loom
//!   runs thread-local destructors when a modelled thread ends); the pool collects the
//!   cache on its next slow path or sweep, racing whatever the other threads do. The
//!   exited thread's objects are counted as idle until then, and every object is dropped
//!   exactly once.
//!
//! Run with `.ci/loom.sh`.

use crate::support::loom_model::{assert_balanced, check_pool, cycle, spawn_with};

#[test]
fn a_cache_ages_on_its_visit_while_another_thread_takes_victims() {
    check_pool(
        "a_cache_ages_on_its_visit_while_another_thread_takes_victims",
        2,
        |ledger, pool| {
            let owner = spawn_with(&pool, |pool| {
                // Fill this thread's two magazines and put one in the depot, sweep, then
                // visit: the cache is one sweep behind (or two, if the other thread's sweep
                // came first) and ages.
                cycle(&pool, 3, 1);
                pool.sweep();
                cycle(&pool, 1, 1);
            });
            let taker = spawn_with(&pool, |pool| {
                cycle(&pool, 1, 2);
                pool.sweep();
            });
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

#[test]
fn an_exit_races_a_sweep_and_its_cache_is_collected_once() {
    check_pool(
        "an_exit_races_a_sweep_and_its_cache_is_collected_once",
        2,
        |ledger, pool| {
            let leaver = spawn_with(&pool, |pool| cycle(&pool, 2, 1));
            let stayer = spawn_with(&pool, |pool| {
                pool.sweep();
                cycle(&pool, 1, 2);
            });
            leaver.join().unwrap();
            stayer.join().unwrap();
            assert_balanced(&pool, &ledger, 0);
            // The main thread's first call claims a cache, collecting the exited one's.
            cycle(&pool, 1, 3);
            assert_balanced(&pool, &ledger, 0);
            pool.sweep();
            pool.sweep();
            let stats = assert_balanced(&pool, &ledger, 0);
            assert_eq!(stats.idle, 0, "two sweeps age every cache out: {stats}");
            assert_eq!(ledger.drops(), ledger.made());
            drop(pool);
            assert_eq!(ledger.drops(), ledger.made());
        },
    );
}

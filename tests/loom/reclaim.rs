//! Loom model 5: a sweep reclaiming a thread's cache while its owner comes back.
//!
//! The owner enters its cache with plain stores ("I am in", then "was I marked?"); the
//! sweeper marks every cache, runs the heavy barrier, and reclaims the caches whose owner
//! is out. Under loom the barrier is a `SeqCst` fence on both sides, the textbook stand-in
//! for `membarrier`. The cache's state lives in a loom cell, so if the handshake ever let
//! the owner and the sweeper touch it at once, or let one miss the other's writes, loom
//! reports the race; the objects' own cells catch a reset not ordered before the next use.
//! Afterwards nothing is lost or dropped twice, and two more sweeps leave nothing idle.
//!
//! Run with `.ci/loom.sh`.

use crate::support::loom_model::{assert_balanced, check_pool, cycle, spawn_with};

#[test]
fn a_sweep_reclaims_a_quiet_cache_while_its_owner_comes_back() {
    check_pool(
        "a_sweep_reclaims_a_quiet_cache_while_its_owner_comes_back",
        2,
        |ledger, pool| {
            let owner = spawn_with(&pool, |pool| {
                cycle(&pool, 2, 1); // fills this thread's cache
                cycle(&pool, 1, 2); // comes back, before, during or after the reclaim
            });
            let sweeper = spawn_with(&pool, |pool| pool.sweep());
            owner.join().unwrap();
            sweeper.join().unwrap();
            assert_balanced(&pool, &ledger, 0);
            pool.sweep();
            pool.sweep();
            let stats = assert_balanced(&pool, &ledger, 0);
            assert_eq!(stats.idle, 0, "every cache aged out: {stats}");
            assert_eq!(ledger.drops(), ledger.made());
        },
    );
}

#[test]
fn two_owners_and_a_sweeper_trade_through_the_depot() {
    check_pool(
        "two_owners_and_a_sweeper_trade_through_the_depot",
        2,
        |ledger, pool| {
            let owners: Vec<_> = (1..=2)
                .map(|mark| spawn_with(&pool, move |pool| cycle(&pool, 3, mark)))
                .collect();
            pool.sweep();
            for owner in owners {
                owner.join().unwrap();
            }
            assert_balanced(&pool, &ledger, 0);
            drop(pool);
            assert_eq!(ledger.drops(), ledger.made());
        },
    );
}

//! Loom model 1: gets and returns across threads, through the pool's own code.
//!
//! pool-core is built with `--cfg loom` as well, so its `sync` shim hands the pool loom's
//! mutexes, atomics, cells and thread-locals: loom
//! explores the interleavings of the real lookup and return paths. Each model checks:
//! - no object is held by two users at once (`Obj::claim`'s held flag);
//! - every object a user receives was reset (its payload is 0);
//! - the put -> get happens-before edge: the payload lives in a loom cell, so a previous
//!   user's write or the reset not ordered before the next user's read is a reported race;
//! - afterwards, created == dropped + idle + in use, by the stats and the drop counter.
//!
//! Run with `.ci/loom.sh`.

use crate::support::loom_model::{Obj, assert_balanced, check_pool, cycle, spawn_with};
use pool_core::PooledOwned;

/// Thread caches off: every return goes to the shared depot and every get looks there, so
/// objects pass between threads on each operation.
#[test]
fn handoff_through_the_depot() {
    check_pool("handoff_through_the_depot", 0, |ledger, pool| {
        let workers: Vec<_> = (1..=2)
            .map(|mark| {
                spawn_with(&pool, move |pool| {
                    for _ in 0..2 {
                        cycle(&pool, 1, mark);
                    }
                })
            })
            .collect();
        cycle(&pool, 1, 3);
        for worker in workers {
            worker.join().unwrap();
        }
        let stats = assert_balanced(&pool, &ledger, 0);
        assert_eq!(stats.created + stats.reused, 5);
        assert_eq!(ledger.resets(), 5, "each return reset its object once");
        drop(pool);
        assert_eq!(ledger.drops(), ledger.made());
    });
}

/// Small thread caches (two magazines of one): a thread that returns three objects moves a
/// full magazine to the depot, and the other thread refills from it.
#[test]
fn handoff_in_magazines() {
    check_pool("handoff_in_magazines", 2, |ledger, pool| {
        let producer = spawn_with(&pool, |pool| cycle(&pool, 3, 1));
        let consumer = spawn_with(&pool, |pool| {
            for _ in 0..2 {
                cycle(&pool, 1, 2);
            }
        });
        cycle(&pool, 1, 3);
        producer.join().unwrap();
        consumer.join().unwrap();
        assert_balanced(&pool, &ledger, 0);
        assert_eq!(ledger.resets(), 6);
        drop(pool);
        assert_eq!(ledger.drops(), ledger.made());
    });
}

/// An owned guard taken on one thread and dropped on another while the first keeps using
/// the pool: the object is reset and returned on the second thread, into its cache.
#[test]
fn owned_guard_returned_on_another_thread() {
    check_pool(
        "owned_guard_returned_on_another_thread",
        2,
        |ledger, pool| {
            let mut owned: PooledOwned<Obj> = pool.get_owned();
            owned.claim(1);
            let other = spawn_with(&pool, move |pool| {
                drop(owned);
                for _ in 0..2 {
                    cycle(&pool, 1, 2);
                }
            });
            cycle(&pool, 1, 3);
            other.join().unwrap();
            assert_balanced(&pool, &ledger, 0);
            assert_eq!(ledger.resets(), 4);
            drop(pool);
            assert_eq!(ledger.drops(), ledger.made());
        },
    );
}

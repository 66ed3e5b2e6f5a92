//! Loom model 2: `sweep` racing gets and returns.
//!
//! A sweep rotates the shared levels under the depot lock and bumps the epoch that thread
//! caches check on every call; a thread's own cache ages on its next visit. Whatever the
//! interleaving, nothing may be lost, dropped twice, or dropped while a user holds it:
//! created == dropped + idle + in use, checked against the drop counter, and every object
//! is dropped exactly once when the pool goes.
//!
//! Run with `.ci/loom.sh`.

use crate::support::loom_model::{assert_balanced, check_pool, cycle, spawn_with};
use pool_core::Pooled;

/// One sweep on one thread while another gets and returns, and the main thread, whose
/// cache and the depot were filled before, comes back for an object and holds it.
#[test]
fn a_sweep_races_gets_and_returns() {
    check_pool("a_sweep_races_gets_and_returns", 2, |ledger, pool| {
        // Two objects in this thread's magazines, one magazine in the depot.
        cycle(&pool, 3, 1);
        let sweeper = spawn_with(&pool, |pool| pool.sweep());
        let user = spawn_with(&pool, |pool| {
            cycle(&pool, 2, 2);
            cycle(&pool, 1, 2);
        });
        let mut kept = pool.get();
        kept.claim(3);
        sweeper.join().unwrap();
        user.join().unwrap();
        assert_balanced(&pool, &ledger, 1);
        drop(kept);
        assert_balanced(&pool, &ledger, 0);
        drop(pool);
        assert_eq!(
            ledger.drops(),
            ledger.made(),
            "each object dropped exactly once"
        );
    });
}

/// Two sweeps (everything shared ages out) racing a thread that takes an object out for
/// good and one that returns into the depot: aged-out, detached and in-use objects are
/// each accounted for once.
#[test]
fn two_sweeps_race_a_detach_and_a_return() {
    check_pool(
        "two_sweeps_race_a_detach_and_a_return",
        0,
        |ledger, pool| {
            cycle(&pool, 2, 1);
            let sweeper = spawn_with(&pool, |pool| {
                pool.sweep();
                pool.sweep();
            });
            let detacher = spawn_with(&pool, |pool| {
                let mut obj = pool.get();
                obj.claim(2);
                let mut obj = Pooled::into_inner(obj);
                obj.release();
            });
            cycle(&pool, 1, 3);
            sweeper.join().unwrap();
            detacher.join().unwrap();
            let stats = assert_balanced(&pool, &ledger, 0);
            assert_eq!(stats.detached, 1);
            assert_eq!(stats.sweeps, 2);
            drop(pool);
            assert_eq!(ledger.drops(), ledger.made());
        },
    );
}

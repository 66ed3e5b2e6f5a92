//! The shared part of a [`Pool`](crate::Pool): its thread caches, depot, budget and
//! counters, allocated on first use (so `Pool::new` can be `const`) and never moved, so
//! thread caches and the aging thread can point at it. Also the slow paths of get and
//! return, which the pool takes when the calling thread's cache cannot serve.
//!
//! Two locks, always taken in this order: the **cache lock** (the list of thread caches:
//! sweeps, claims, collecting exited threads' caches, an owner aging its own cache) and the
//! **depot lock** (the shared magazines: every trade with a thread cache). An owner inside
//! its cache may take the depot lock, never the cache lock. No user code runs under either:
//! objects to drop come back as [`Garbage`] and are dropped after both are released. (The
//! global allocator does, for magazines; the crate docs forbid it to call into a pool.)

use crate::budget::{Budget, Quota};
use crate::depot::DepotState;
use crate::kept::{Garbage, Kept};
use crate::limits::Limits;
use crate::magazines::{Magazines, Published};
use crate::stats::{Discarded, SharedCounters, Stats};
use crate::sweeping::Sweeping;
use crate::sync::{AtomicUsize, Mutex, MutexGuard, Ordering, lock};
use crate::thread_cache::{CacheList, Mine, Owner, ThreadCache, ThreadCaches};

type Caches<T> = CacheList<Magazines<T>, Published>;
pub(crate) type MyCache<'a, T> = Mine<'a, Magazines<T>, Published>;
/// This thread inside its cache of a pool of `T`.
pub(crate) type MyOwner<'a, T> = Owner<'a, Magazines<T>, Published>;

#[derive(Debug)]
pub(crate) struct Core<T> {
    pub(crate) limits: Limits,
    pub(crate) caches: ThreadCaches<Magazines<T>, Published>,
    depot: Mutex<DepotState<T>>,
    /// Idle objects in the depot as of its last unlock: lets a get skip the lock when there
    /// is nothing to find.
    depot_hint: AtomicUsize,
    budget: Budget,
    pub(crate) counters: SharedCounters,
    /// Sweeps between taking the cache lock and dropping their garbage. The pool's `Drop`
    /// waits for them (except one it runs inside), so no idle object outlives the pool.
    sweeping: Sweeping,
}

/// The outcome of one attempt at a slow-path get.
enum Attempt<T> {
    /// Finished: an idle object, or none anywhere (the caller makes one).
    Done(Option<T>),
    /// Garbage must be dropped (with nothing taken yet) before trying again.
    Again,
}

/// The depot, locked; publishes its idle count on unlock.
struct DepotGuard<'a, T> {
    state: MutexGuard<'a, DepotState<T>>,
    hint: &'a AtomicUsize,
}

impl<T> std::ops::Deref for DepotGuard<'_, T> {
    type Target = DepotState<T>;
    fn deref(&self) -> &DepotState<T> {
        &self.state
    }
}

impl<T> std::ops::DerefMut for DepotGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut DepotState<T> {
        &mut self.state
    }
}

impl<T> Drop for DepotGuard<'_, T> {
    fn drop(&mut self) {
        self.hint
            .store(self.state.held().objects, Ordering::Relaxed);
    }
}

impl<T> Core<T> {
    pub(crate) fn new(limits: Limits) -> Self {
        let bytes = Quota::new(limits.max_idle.bytes);
        Self {
            limits,
            caches: ThreadCaches::new(),
            depot: Mutex::new(DepotState::default()),
            depot_hint: AtomicUsize::new(0),
            budget: Budget::new(Quota::new(limits.max_idle.objects), bytes),
            counters: SharedCounters::default(),
            sweeping: Sweeping::new(),
        }
    }

    fn lock_depot(&self) -> DepotGuard<'_, T> {
        DepotGuard {
            state: lock(&self.depot),
            hint: &self.depot_hint,
        }
    }

    // === finding the calling thread's cache ===

    /// The calling thread's cache, claiming and registering one if it has none. `None` if
    /// the thread is tearing down or the pool is being dropped: use the depot directly.
    /// Objects that aged out while collecting exited threads' caches go to `garbage`.
    fn mine(&self, garbage: &mut Garbage<T>) -> Option<MyCache<'_, T>> {
        self.caches.mine(
            |caches| {
                if self.caches.exits_pending() {
                    self.collect_exited(caches, garbage);
                }
            },
            Magazines::reuse,
            |epoch| ThreadCache::new(Magazines::new(epoch), Published::default()),
        )
    }

    /// Moves exited threads' caches to the depot (taking the depot lock after the cache
    /// lock, which the caller holds).
    fn collect_exited(&self, caches: &mut Caches<T>, garbage: &mut Garbage<T>) {
        let mut depot = self.lock_depot();
        caches.collect_exited(|state, published, epoch| {
            state.flush(published, epoch, &mut depot, &self.budget, garbage);
        });
    }

    /// The owner, whose cache a sweep marked, ages it under the cache lock.
    fn age_own(&self, mine: &MyCache<'_, T>, garbage: &mut Garbage<T>) {
        self.caches.lock().own(mine, |state, published, epoch| {
            state.age(published, epoch, &self.budget, garbage);
        });
    }

    // === the slow paths ===

    /// An idle object when the calling thread's cache could not serve one on the fast
    /// path: after claiming or aging the cache, from a depot magazine, a single depot
    /// object or victim, or an exited thread's cache. `None`: the caller makes one.
    ///
    /// Objects that age out on the way are dropped before anything is taken, so a
    /// panicking destructor among them cannot lose the object meant for the caller.
    #[cold]
    pub(crate) fn take(&self) -> Option<Kept<T>> {
        let mut collected = false;
        loop {
            let mut garbage = Garbage::default();
            if let Attempt::Done(found) = self.try_take(&mut garbage, &mut collected) {
                debug_assert!(garbage.is_empty(), "nothing is taken while garbage waits");
                return found;
            }
            garbage.dispose(&self.counters);
        }
    }

    /// An idle object straight from the depot (or its victims), bypassing thread caches:
    /// for a thread that is tearing down, or the chaos mode.
    pub(crate) fn take_from_depot(&self) -> Option<Kept<T>> {
        let found = self.lock_depot().pop_one(&self.budget);
        if found.is_some() {
            self.counters.reused.bump();
        }
        found
    }

    /// Keeps a reset object straight in the depot, bypassing thread caches: for the chaos
    /// mode. Returns whether it was kept.
    #[cfg_attr(not(pool_chaos), allow(dead_code))]
    pub(crate) fn keep_in_depot(&self, kept: Kept<T>) -> bool {
        let mut garbage = Garbage::default();
        let result = self.lock_depot().push_one(
            kept,
            self.limits.magazine_size(),
            &self.budget,
            &mut garbage,
        );
        let refused = result.err().map(Kept::into_value);
        match refused {
            Some(_) => self.counters.over_limit.bump(),
            None => self.counters.returned.bump(),
        }
        let kept = refused.is_none();
        garbage.dispose_with(&self.counters, refused);
        kept
    }

    /// One attempt: done (with or without an object), or the caller must drop `garbage`
    /// (which may be empty) and try again.
    fn try_take(&self, garbage: &mut Garbage<T>, collected: &mut bool) -> Attempt<Kept<T>> {
        let Some(mine) = self.mine(garbage) else {
            return Attempt::Done(self.take_from_depot());
        };
        if !garbage.is_empty() {
            return Attempt::Again;
        }
        let Some(mut owner) = mine.enter() else {
            self.age_own(&mine, garbage);
            return Attempt::Again;
        };
        let (state, published) = owner.parts();
        let found = match state.pop(published) {
            Some(kept) => Some(kept),
            None if self.depot_hint.load(Ordering::Relaxed) == 0 => None,
            None => {
                let mut depot = self.lock_depot();
                state
                    .refill(published, &mut depot, &self.limits, &self.budget)
                    .or_else(|| depot.pop_one(&self.budget))
            }
        };
        if found.is_some() {
            published.reused.bump();
        }
        drop(owner);
        if found.is_none() && !*collected && self.caches.exits_pending() {
            *collected = true;
            self.collect_exited(&mut self.caches.lock(), garbage);
            return Attempt::Again;
        }
        Attempt::Done(found)
    }

    /// Keeps a reset object when the calling thread's cache could not take it on the fast
    /// path: after claiming or aging the cache, by trading a magazine with the depot, or
    /// in the depot itself. Returns whether it was kept; a refused object is dropped here
    /// (counted as over the limit), after every lock is released.
    #[cold]
    pub(crate) fn keep(&self, kept: Kept<T>) -> bool {
        let mut garbage = Garbage::default();
        let mut kept = kept;
        let mut collected = false;
        let refused = loop {
            match self.try_keep(kept, &mut garbage) {
                None => break None,
                Some(Ok(again)) => kept = again, // the cache aged: try again
                Some(Err(refused)) if !collected && self.caches.exits_pending() => {
                    // Exited threads may hold reservations: collect them and try again.
                    collected = true;
                    self.collect_exited(&mut self.caches.lock(), &mut garbage);
                    kept = refused;
                }
                Some(Err(refused)) => break Some(refused),
            }
        };
        let kept = refused.is_none();
        if !kept {
            self.counters.over_limit.bump();
        }
        garbage.dispose_with(&self.counters, refused.map(Kept::into_value));
        kept
    }

    /// One attempt: `None` if kept, `Some(Ok)` to try again, `Some(Err)` if refused.
    fn try_keep(
        &self,
        kept: Kept<T>,
        garbage: &mut Garbage<T>,
    ) -> Option<Result<Kept<T>, Kept<T>>> {
        let magazine_size = self.limits.magazine_size();
        let Some(mine) = self.mine(garbage) else {
            let result = self
                .lock_depot()
                .push_one(kept, magazine_size, &self.budget, garbage);
            if result.is_ok() {
                self.counters.returned.bump();
            }
            return result.err().map(Err);
        };
        let Some(mut owner) = mine.enter() else {
            self.age_own(&mine, garbage);
            return Some(Ok(kept));
        };
        let (state, published) = owner.parts();
        let result = state.push(kept, published, &self.limits).or_else(|kept| {
            let mut depot = self.lock_depot();
            state
                .spill(kept, published, &mut depot, &self.limits, &self.budget)
                .or_else(|kept| depot.push_one(kept, magazine_size, &self.budget, garbage))
        });
        if result.is_ok() {
            published.returned.bump();
        }
        result.err().map(Err)
    }

    // === sweeps, statistics, drop ===

    /// One aging cycle: the depot's victims go and the depot becomes the victims; every
    /// thread cache does the same (reclaimed here if its owner is out, else by the owner on
    /// its next call). Drops what aged out after releasing the locks.
    pub(crate) fn sweep(&self) {
        let mut garbage = Garbage::default();
        let in_flight = {
            let mut caches = self.caches.lock();
            if caches.is_closed() {
                return;
            }
            // Until the garbage is dropped, even if a destructor panics.
            let in_flight = self.sweeping.start();
            if self.caches.exits_pending() {
                self.collect_exited(&mut caches, &mut garbage);
            }
            caches.sweep(|state, published, epoch| {
                state.age(published, epoch, &self.budget, &mut garbage);
            });
            self.lock_depot().rotate(&self.budget, &mut garbage);
            in_flight
        };
        // Counted before anything drops, so whoever sees an object dropped sees the sweep
        // and the discard counted.
        self.counters.sweeps.bump();
        garbage.dispose(&self.counters);
        drop(in_flight);
    }

    /// A snapshot of the counters and what every level holds.
    pub(crate) fn stats(&self) -> Stats {
        let counters = &self.counters;
        let mut stats = Stats {
            created: counters.created.get(),
            prefilled: counters.prefilled.get(),
            reused: counters.reused.get(),
            returned: counters.returned.get(),
            adopted: counters.adopted.get(),
            detached: counters.detached.get(),
            discarded: Discarded {
                over_limit: counters.over_limit.get(),
                too_large: counters.too_large.get(),
                panicked: counters.panicked.get(),
                aged_out: counters.aged_out.get(),
                too_small: 0,
            },
            sweeps: counters.sweeps.get(),
            ..Stats::default()
        };
        // Both locks held while the caches are read: objects move between a cache and the
        // depot only under the depot lock, so none is counted in both, and no cache's
        // reservation changes, so a cache read while its owner works counts for at most its
        // reservation: the snapshot never shows more idle than the limits allow.
        let caches = self.caches.lock();
        let depot = self.lock_depot();
        let mut idle = depot.held();
        for published in caches.published() {
            stats.reused += published.reused.get();
            stats.returned += published.returned.get();
            idle.add(published.held_for_snapshot());
        }
        drop(depot);
        stats.idle = idle.objects;
        stats.idle_bytes = idle.bytes;
        stats
    }

    /// Drops every idle object, on the calling thread, before returning: the thread caches'
    /// and the depot's, and (by waiting for them) those an aging-thread sweep is dropping
    /// right now. Destructor panics are contained until all are dropped; then the first
    /// one resumes.
    ///
    /// # Safety
    ///
    /// Only the pool's `Drop` may call this: it relies on no `&Pool` existing, so that no
    /// owner is inside its thread cache.
    pub(crate) unsafe fn close(&self) {
        let mut garbage = Garbage::default();
        {
            let mut caches = self.caches.lock();
            // SAFETY: the caller is the pool's `Drop` (this function's contract).
            unsafe {
                caches.close(|state, published| {
                    state.drain(published, &self.budget, &mut garbage);
                });
            }
            self.lock_depot().drain(&self.budget, &mut garbage);
        }
        self.sweeping.wait_for_others();
        garbage.dispose(&self.counters);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::barrier::tests::FALLBACK;
    use crate::{Pool, Reset};
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    struct Fragile {
        armed: Arc<AtomicBool>,
        drops: Arc<AtomicUsize>,
    }

    impl Reset for Fragile {
        fn reset(&mut self) {}
    }

    impl Drop for Fragile {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
            assert!(
                !self.armed.swap(false, Ordering::SeqCst),
                "an aged-out object's Drop panics"
            );
        }
    }

    #[test]
    #[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
    fn a_panicking_drop_while_a_get_ages_the_cache_loses_nothing() {
        // Without the heavy barrier, sweeps only mark this thread's cache, and the next get
        // ages it, dropping what aged out: the panic must not take an object with it.
        FALLBACK.set(true);
        let armed = Arc::new(AtomicBool::new(false));
        let drops = Arc::new(AtomicUsize::new(0));
        let pool = {
            let (armed, drops) = (Arc::clone(&armed), Arc::clone(&drops));
            Pool::with_init(move || Fragile {
                armed: Arc::clone(&armed),
                drops: Arc::clone(&drops),
            })
        };
        let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
        drop(held);
        pool.sweep();
        pool.sweep();
        armed.store(true, Ordering::SeqCst);
        let result = panic::catch_unwind(AssertUnwindSafe(|| drop(pool.get())));
        assert!(result.is_err(), "the Drop's panic reaches the caller");
        let stats = pool.stats();
        assert_eq!(stats.in_use(), 0, "nothing taken was lost: {stats}");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            3,
            "every aged-out object dropped once"
        );
        assert_eq!(stats.discarded.aged_out, 3, "{stats}");
        drop(pool.get());
        assert_eq!(pool.stats().in_use(), 0);
        FALLBACK.set(false);
    }
}

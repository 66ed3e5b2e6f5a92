//! The shared levels: the depot that thread caches spill to and refill from, and the victim
//! generation that idle objects age through.
//!
//! Objects move in magazines (Bonwick's term): a `Vec` of idle objects that changes hands
//! whole, so a thread cache trades a full magazine for an empty one in O(1) under the lock,
//! and emptied magazines are kept for reuse, so a steady state allocates nothing.
//!
//! Aging follows Go's `poolCleanup`: [`DepotState::rotate`] drops the victim generation and
//! makes the depot the new victim, so an idle object in the shared levels lives through at
//! most two sweeps. Lookups take the depot first and the victim last, so idle objects age
//! out if at all possible.
//!
//! Budget (see `budget.rs`): the idle levels plus what thread caches have reserved stay
//! within `max_idle`, in objects and bytes. Reserving ahead is what lets a thread fill its
//! own cache without touching shared state.
//!
//! Nothing here runs user code: methods hand back what must be dropped (`Garbage`) so the
//! caller drops it after releasing the lock.

use crate::budget::{Budget, ByteLedger, Ledger};
use crate::limits::{Limits, Usage};
use crate::stats::SharedCounters;
use crate::sync::{Arc, AtomicU64, AtomicUsize, Mutex, MutexGuard, Ordering, lock};
use crossbeam_utils::CachePadded;
use std::mem;
use std::ops::{Deref, DerefMut};

/// An idle object and the bytes it keeps, measured once on return.
#[derive(Debug)]
pub(crate) struct Idle<T> {
    pub(crate) value: T,
    pub(crate) bytes: usize,
}

/// Idle objects that move between a thread cache and the depot as one unit.
pub(crate) type Magazine<T> = Vec<Idle<T>>;

/// Objects to drop once no lock or borrow is held, with the reason they go.
#[derive(Debug)]
pub(crate) struct Garbage<T> {
    pub(crate) aged_out: Vec<Magazine<T>>,
}

impl<T> Default for Garbage<T> {
    fn default() -> Self {
        Self {
            aged_out: Vec::new(),
        }
    }
}

impl<T> Garbage<T> {
    /// Drops everything collected, counting it. Call with no lock or borrow held: this runs
    /// the objects' destructors, which are user code.
    pub(crate) fn dispose(self, counters: &SharedCounters) {
        let count: usize = self.aged_out.iter().map(Vec::len).sum();
        if count > 0 {
            counters.add(&counters.aged_out, count);
        }
        drop(self.aged_out);
    }
}

/// The sum of the magazines in one level.
#[derive(Debug)]
pub(crate) struct Level<T> {
    magazines: Vec<Magazine<T>>,
    usage: Usage,
}

impl<T> Level<T> {
    const fn new() -> Self {
        Self {
            magazines: Vec::new(),
            usage: Usage::ZERO,
        }
    }

    fn push(&mut self, magazine: Magazine<T>) {
        self.usage.add(usage_of(&magazine));
        self.magazines.push(magazine);
    }

    fn pop(&mut self) -> Option<Magazine<T>> {
        let magazine = self.magazines.pop()?;
        self.usage.sub(usage_of(&magazine));
        Some(magazine)
    }
}

/// What a magazine holds.
pub(crate) fn usage_of<T>(magazine: &Magazine<T>) -> Usage {
    Usage {
        objects: magazine.len(),
        bytes: magazine.iter().map(|idle| idle.bytes).sum(),
    }
}

/// The depot's lock-protected state.
#[derive(Debug)]
pub(crate) struct DepotState<T> {
    primary: Level<T>,
    victim: Level<T>,
    /// Emptied magazines kept for reuse; cleared by each sweep.
    empties: Vec<Magazine<T>>,
    budget: Budget,
}

/// Emptied magazines kept between sweeps: enough for a few threads to trade without
/// allocating, few enough to be noise.
const EMPTIES_KEPT: usize = 64;

impl<T> DepotState<T> {
    crate::sync::const_fn_unless_loom! {
        fn new(budget: Budget) -> Self {
            Self { primary: Level::new(), victim: Level::new(), empties: Vec::new(), budget }
        }
    }

    /// Idle objects and bytes held in the shared levels.
    pub(crate) fn idle(&self) -> Usage {
        self.primary.usage.plus(self.victim.usage)
    }

    /// Reserves up to `want` for a thread cache, within the pool's budget.
    pub(crate) fn grant(&mut self, want: Usage) -> Usage {
        self.budget.reserve_up_to(want)
    }

    /// Returns a thread cache's reservation (or the share of objects it dropped).
    pub(crate) fn release(&mut self, credit: Usage) {
        self.budget.release(credit);
    }

    /// Reserves `need`, dropping victim magazines (oldest generation first) until it
    /// fits. Returns whether it got the reservation.
    fn make_room(&mut self, need: Usage, garbage: &mut Garbage<T>) -> bool {
        loop {
            if self.budget.reserve_exact(need) {
                return true;
            }
            match self.victim.pop() {
                Some(magazine) => {
                    self.budget.release(usage_of(&magazine));
                    garbage.aged_out.push(magazine);
                }
                None => return false,
            }
        }
    }

    /// Takes a magazine from a thread cache whose reservation covered it: the objects move
    /// from the thread's credit into the depot, so the budget does not change.
    pub(crate) fn put_magazine(&mut self, magazine: Magazine<T>) {
        self.primary.push(magazine);
    }

    /// Hands a thread cache a magazine of idle objects from the depot; the objects become
    /// the thread's credit. `None` if the depot is empty or its next magazine is heavier than
    /// `max_bytes` (single objects still move, by `pop_one`).
    ///
    /// Never from the victim generation: victims leave one at a time, by `pop_one`, as in
    /// Go. A whole victim magazine moved into a current thread cache would make its unused
    /// objects one sweep younger each time, so a thread doing one get per sweep could keep a
    /// magazine alive for ever (found by tests/test_props.rs, `aging_with_thread_caches`).
    pub(crate) fn take_magazine(&mut self, max_bytes: usize) -> Option<Magazine<T>> {
        let level = &mut self.primary;
        if usage_of(level.magazines.last()?).bytes > max_bytes {
            return None;
        }
        level.pop()
    }

    /// Stores one object, without a thread's reservation: it must fit the budget.
    pub(crate) fn push_one(
        &mut self,
        idle: Idle<T>,
        limits: &Limits,
        garbage: &mut Garbage<T>,
    ) -> Result<(), Idle<T>> {
        if !self.make_room(Usage::one(idle.bytes), garbage) {
            return Err(idle);
        }
        let magazine_size = limits.magazine_size();
        let has_room =
            matches!(self.primary.magazines.last(), Some(top) if top.len() < magazine_size);
        if !has_room {
            let empty = self.take_empty(magazine_size);
            self.primary.magazines.push(empty);
        }
        self.primary.usage.add(Usage::one(idle.bytes));
        self.primary
            .magazines
            .last_mut()
            .expect("a magazine with room was just ensured")
            .push(idle);
        Ok(())
    }

    /// Takes one object, depot first, victim last. It leaves the budget.
    pub(crate) fn pop_one(&mut self) -> Option<Idle<T>> {
        for level in [&mut self.primary, &mut self.victim] {
            while let Some(top) = level.magazines.last_mut() {
                let idle = top.pop();
                if top.is_empty() {
                    let empty = level.magazines.pop().expect("top exists");
                    if self.empties.len() < EMPTIES_KEPT {
                        self.empties.push(empty);
                    }
                }
                if let Some(idle) = idle {
                    let usage = Usage::one(idle.bytes);
                    level.usage.sub(usage);
                    self.budget.release(usage);
                    return Some(idle);
                }
            }
        }
        None
    }

    /// An empty magazine, reused if one is kept.
    pub(crate) fn take_empty(&mut self, magazine_size: usize) -> Magazine<T> {
        self.empties
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(magazine_size))
    }

    /// Keeps an emptied magazine for reuse (or frees it, past the few kept).
    pub(crate) fn give_empty(&mut self, magazine: Magazine<T>) {
        debug_assert!(magazine.is_empty());
        if magazine.capacity() > 0 && self.empties.len() < EMPTIES_KEPT {
            self.empties.push(magazine);
        }
    }

    /// Receives the objects of a thread cache that was one sweep behind: they are as old as
    /// the depot's were at that sweep, so they join the victim generation. Their
    /// reservation moves with them.
    pub(crate) fn put_victim(&mut self, magazine: Magazine<T>) {
        self.victim.push(magazine);
    }

    /// One aging cycle: the victim generation goes, the depot becomes the victim.
    fn rotate(&mut self) -> Vec<Magazine<T>> {
        let dropped = mem::replace(
            &mut self.victim,
            mem::replace(&mut self.primary, Level::new()),
        );
        self.budget.release(dropped.usage);
        // Kept empties are memory too; an idle pool should give them back.
        self.empties = Vec::new();
        dropped.magazines
    }
}

/// The shared depot, its victim generation, and the aging epoch every thread checks.
#[derive(Debug)]
pub(crate) struct Depot<T> {
    /// Bumped by each sweep. Read (never written) on every get and return, so it sits on
    /// its own cache line, away from the lock that slow paths write.
    epoch: CachePadded<AtomicU64>,
    state: Mutex<DepotState<T>>,
    /// Idle objects in the shared levels, as of the last unlock.
    idle_hint: AtomicUsize,
    pub(crate) counters: SharedCounters,
}

/// The locked depot; publishes the idle count on unlock.
pub(crate) struct DepotGuard<'a, T> {
    state: MutexGuard<'a, DepotState<T>>,
    idle_hint: &'a AtomicUsize,
}

impl<T> Deref for DepotGuard<'_, T> {
    type Target = DepotState<T>;

    fn deref(&self) -> &DepotState<T> {
        &self.state
    }
}

impl<T> DerefMut for DepotGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut DepotState<T> {
        &mut self.state
    }
}

impl<T> Drop for DepotGuard<'_, T> {
    fn drop(&mut self) {
        self.idle_hint
            .store(self.state.idle().objects, Ordering::Relaxed);
    }
}

impl<T> Depot<T> {
    crate::sync::const_fn_unless_loom! {
        /// A depot with its own budget, per `limits`.
        pub(crate) fn new(limits: &Limits) -> Self {
            Self::with_budget(Budget::new(
                Ledger::new(limits.max_idle.objects),
                ByteLedger::Own(Ledger::new(limits.max_idle.bytes)),
            ))
        }
    }

    /// A depot whose byte budget is shared with other depots.
    pub(crate) fn with_shared_bytes(limits: &Limits, bytes: Arc<Ledger>) -> Self {
        Self::with_budget(Budget::new(
            Ledger::new(limits.max_idle.objects),
            ByteLedger::Shared(bytes),
        ))
    }

    crate::sync::const_fn_unless_loom! {
        fn with_budget(budget: Budget) -> Self {
            Self {
                epoch: CachePadded::new(AtomicU64::new(0)),
                state: Mutex::new(DepotState::new(budget)),
                idle_hint: AtomicUsize::new(0),
                counters: SharedCounters::new(),
            }
        }
    }

    /// The current aging epoch. Relaxed: a thread that sees a sweep late only ages its
    /// cache late, and the slow path re-reads the epoch under the lock.
    #[inline]
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// Locks the depot. When the guard drops, the number of idle objects is published for
    /// [`looks_empty`](Depot::looks_empty).
    pub(crate) fn lock(&self) -> DepotGuard<'_, T> {
        DepotGuard {
            state: lock(&self.state),
            idle_hint: &self.idle_hint,
        }
    }

    /// Whether the shared levels held nothing when the depot was last unlocked. Lets a
    /// get skip the lock when there is nothing to find (a `BufferPool` looks in several
    /// classes). Relaxed, and so a hint: a stale "empty" only means one extra allocation.
    #[inline]
    pub(crate) fn looks_empty(&self) -> bool {
        self.idle_hint.load(Ordering::Relaxed) == 0
    }

    /// The epoch as seen under the lock, where sweeps change it.
    pub(crate) fn epoch_locked(&self, _state: &DepotState<T>) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// One aging cycle (see the module docs). Drops the old victim generation after
    /// releasing the lock.
    pub(crate) fn sweep(&self) {
        let dropped = {
            let mut state = self.lock();
            self.epoch
                .store(self.epoch.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            state.rotate()
        };
        // Counted before the victims drop, so whoever sees one of them dropped sees the
        // sweep counted too.
        self.counters.add(&self.counters.sweeps, 1);
        Garbage { aged_out: dropped }.dispose(&self.counters);
    }

    /// Idle objects and bytes in the shared levels.
    pub(crate) fn idle(&self) -> Usage {
        self.lock().idle()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::limits::UNLIMITED;

    fn idle(value: u32, bytes: usize) -> Idle<u32> {
        Idle { value, bytes }
    }

    fn limits(max_objects: usize) -> Limits {
        Limits {
            max_idle: Usage {
                objects: max_objects,
                bytes: UNLIMITED,
            },
            ..Limits::DEFAULT
        }
        .normalized()
    }

    #[test]
    fn rotation_ages_objects_out_in_two_sweeps() {
        let limits = limits(UNLIMITED);
        let depot = Depot::<u32>::new(&limits);
        let mut garbage = Garbage::default();
        depot
            .lock()
            .push_one(idle(1, 0), &limits, &mut garbage)
            .unwrap();
        depot.sweep();
        assert_eq!(depot.idle().objects, 1, "one sweep moves it to the victim");
        assert_eq!(
            depot.lock().pop_one().map(|i| i.value),
            Some(1),
            "the victim is still reachable"
        );
        depot
            .lock()
            .push_one(idle(2, 0), &limits, &mut garbage)
            .unwrap();
        depot.sweep();
        depot.sweep();
        assert_eq!(depot.idle().objects, 0);
        assert_eq!(depot.counters.aged_out.load(Ordering::Relaxed), 1);
        assert_eq!(depot.epoch(), 3);
    }

    #[test]
    fn depot_is_preferred_over_victim() {
        let limits = limits(UNLIMITED);
        let depot = Depot::<u32>::new(&limits);
        let mut garbage = Garbage::default();
        depot
            .lock()
            .push_one(idle(1, 0), &limits, &mut garbage)
            .unwrap();
        depot.sweep();
        depot
            .lock()
            .push_one(idle(2, 0), &limits, &mut garbage)
            .unwrap();
        assert_eq!(depot.lock().pop_one().map(|i| i.value), Some(2));
        assert_eq!(depot.lock().pop_one().map(|i| i.value), Some(1));
        assert!(depot.lock().pop_one().is_none());
    }

    #[test]
    fn budget_counts_credit_and_evicts_victims_before_refusing() {
        let limits = limits(3);
        let depot = Depot::<u32>::new(&limits);
        let mut garbage = Garbage::default();
        let mut state = depot.lock();
        let credit = state.grant(Usage {
            objects: 2,
            bytes: 0,
        });
        assert_eq!(credit.objects, 2);
        state.push_one(idle(1, 0), &limits, &mut garbage).unwrap();
        assert!(
            state.push_one(idle(2, 0), &limits, &mut garbage).is_err(),
            "2 reserved + 1 stored = 3"
        );
        drop(state.rotate());
        // Rotation dropped nothing (the object is now a victim)...
        assert!(
            state.push_one(idle(2, 0), &limits, &mut garbage).is_ok(),
            "...but the victim gives way"
        );
        assert_eq!(garbage.aged_out.iter().map(Vec::len).sum::<usize>(), 1);
        state.release(credit);
        assert_eq!(
            state
                .grant(Usage {
                    objects: 5,
                    bytes: 0
                })
                .objects,
            2
        );
    }

    #[test]
    fn emptied_magazines_are_reused() {
        let limits = limits(UNLIMITED);
        let depot = Depot::<u32>::new(&limits);
        let mut garbage = Garbage::default();
        let mut state = depot.lock();
        state.push_one(idle(1, 0), &limits, &mut garbage).unwrap();
        let first = state.primary.magazines[0].as_ptr();
        state.pop_one().unwrap();
        state.push_one(idle(2, 0), &limits, &mut garbage).unwrap();
        assert_eq!(state.primary.magazines[0].as_ptr(), first);
    }
}

//! What a [`Pool`](crate::Pool)'s thread cache holds, and how it trades with the depot.
//!
//! Two magazines, `loaded` and `spare` (Bonwick): gets pop and returns push on `loaded`, and
//! the two swap when `loaded` runs empty or full, so a thread hovering at a magazine
//! boundary does not go to the depot on every call. When both are empty (or full), the
//! thread trades a whole magazine with the depot under its lock.
//!
//! Aging works as in Go, per thread: a sweep turns the two magazines into this cache's
//! `victims` (one sweep old) and drops the previous victims. The owner takes victims one at
//! a time when its magazines are empty, so an object that nobody asks for is dropped by the
//! second sweep, and a busy thread gets its own objects back after a sweep without a lock.
//!
//! Every object held counts against a reservation taken from the pool's budget ahead of use,
//! so a thread fills its own cache without a shared write. The reservation never exceeds the
//! thread's cap, and goes back when the cache ages, is collected after its thread exits, or
//! the pool is dropped.
//!
//! Nothing here runs user code: what must be dropped goes to [`Garbage`].

use crate::budget::Budget;
use crate::depot::DepotState;
use crate::kept::{Garbage, Kept, Magazine, amount_of};
use crate::limits::{Amount, Limits, UNLIMITED};
use crate::stats::OwnedCounter;
use crate::sync::{AtomicUsize, Ordering};
use std::mem;

/// A thread cache's objects, for one pool.
#[derive(Debug)]
pub(crate) struct Magazines<T> {
    loaded: Magazine<T>,
    spare: Magazine<T>,
    /// What `loaded` and `spare` held at the last sweep.
    victims: [Magazine<T>; 2],
    /// What all four magazines hold.
    held: Amount,
    /// Taken from the pool's budget; always covers `held`, never exceeds the thread's cap.
    reserved: Amount,
    /// The sweep this cache last aged to.
    epoch: u64,
}

/// What a thread cache publishes for [`Pool::stats`](crate::Pool::stats): written by
/// whoever holds the cache's state, read by anyone.
#[derive(Debug, Default)]
pub(crate) struct Published {
    idle_objects: AtomicUsize,
    idle_bytes: AtomicUsize,
    pub(crate) reused: OwnedCounter,
    pub(crate) returned: OwnedCounter,
}

impl Published {
    /// Idle objects and bytes, as last published.
    pub(crate) fn idle(&self) -> Amount {
        Amount {
            objects: self.idle_objects.load(Ordering::Relaxed),
            bytes: self.idle_bytes.load(Ordering::Relaxed),
        }
    }

    #[inline(always)]
    fn set_idle(&self, held: Amount) {
        self.idle_objects.store(held.objects, Ordering::Relaxed);
        self.idle_bytes.store(held.bytes, Ordering::Relaxed);
    }
}

impl<T> Magazines<T> {
    pub(crate) fn new(epoch: u64) -> Self {
        Self {
            loaded: Vec::new(),
            spare: Vec::new(),
            victims: [Vec::new(), Vec::new()],
            held: Amount::ZERO,
            reserved: Amount::ZERO,
            epoch,
        }
    }

    /// Publishes what the cache holds now.
    #[inline(always)]
    pub(crate) fn publish(&self, published: &Published) {
        published.set_idle(self.held);
    }

    /// Checks the invariants every operation keeps.
    #[inline(always)]
    fn check(&self, limits: &Limits) {
        debug_assert!(
            self.held.fits(self.reserved),
            "the reservation covers what is held"
        );
        debug_assert!(
            self.reserved.fits(limits.thread_cache) || self.reserved == self.held,
            "the reservation stays within the thread's cap"
        );
        debug_assert!(
            self.loaded.len() <= limits.magazine_size()
                && self.spare.len() <= limits.magazine_size(),
            "magazines stay within their size"
        );
        debug_assert_eq!(
            amount_of(&self.loaded)
                .plus(amount_of(&self.spare))
                .plus(amount_of(&self.victims[0]))
                .plus(amount_of(&self.victims[1])),
            self.held,
            "held is what the magazines hold"
        );
    }

    // === the owner's fast path ===

    /// An idle object: `loaded` first, then `spare`, then one victim.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<Kept<T>> {
        if self.loaded.is_empty() {
            mem::swap(&mut self.loaded, &mut self.spare);
        }
        let kept = match self.loaded.pop() {
            Some(kept) => kept,
            None => self.pop_victim()?,
        };
        self.held.sub(kept.amount());
        Some(kept)
    }

    #[cold]
    fn pop_victim(&mut self) -> Option<Kept<T>> {
        self.victims[1].pop().or_else(|| self.victims[0].pop())
    }

    /// Keeps `kept` if the reservation covers it and a magazine has room; never allocates.
    #[inline(always)]
    pub(crate) fn push(&mut self, kept: Kept<T>, magazine_size: usize) -> Result<(), Kept<T>> {
        let after = self.held.plus(kept.amount());
        if !after.fits(self.reserved) {
            return Err(kept);
        }
        if self.loaded.len() >= magazine_size {
            if self.spare.len() >= magazine_size {
                return Err(kept);
            }
            mem::swap(&mut self.loaded, &mut self.spare);
        }
        if self.loaded.len() == self.loaded.capacity() {
            return Err(kept); // an unallocated magazine: the slow path brings one
        }
        self.loaded.push(kept);
        self.held = after;
        Ok(())
    }

    // === the owner's slow path, with the depot locked ===

    /// The magazines and victims are empty: trades an empty magazine for a full one from
    /// the depot, and pops from it.
    pub(crate) fn refill(
        &mut self,
        depot: &mut DepotState<T>,
        limits: &Limits,
        budget: &Budget,
    ) -> Option<Kept<T>> {
        if limits.thread_cache.objects < limits.magazine_size() {
            return None; // too small a cache for whole magazines (0 or 1 objects)
        }
        let room = limits.thread_cache.bytes.saturating_sub(self.held.bytes);
        let magazine = depot.take_magazine(room)?;
        let amount = amount_of(&magazine);
        self.held.add(amount);
        self.reserved.add(amount);
        // Taking the magazine can lift the reservation past the thread's cap; the part the
        // held objects do not need goes back to the budget.
        let cap = Amount {
            objects: limits.thread_cache.objects.max(self.held.objects),
            bytes: limits.thread_cache.bytes.max(self.held.bytes),
        };
        let excess = self.reserved.minus(cap);
        self.reserved.sub(excess);
        budget.release(excess);
        depot.give_empty(mem::replace(&mut self.loaded, magazine));
        let kept = self.pop();
        self.check(limits);
        kept
    }

    /// The fast push failed on room or reservation: moves a full magazine to the depot,
    /// tops the reservation up to the thread's cap, and keeps `kept` if it now fits. Hands
    /// it back if the thread cache cannot take it.
    pub(crate) fn spill(
        &mut self,
        kept: Kept<T>,
        depot: &mut DepotState<T>,
        limits: &Limits,
        budget: &Budget,
    ) -> Result<(), Kept<T>> {
        let magazine_size = limits.magazine_size();
        if limits.thread_cache.objects == 0 {
            return Err(kept);
        }
        if self.loaded.len() >= magazine_size && self.spare.len() >= magazine_size {
            let full = mem::replace(&mut self.loaded, depot.take_empty(magazine_size));
            let amount = amount_of(&full);
            self.held.sub(amount);
            self.reserved.sub(amount);
            depot.put_magazine(full);
        } else if self.loaded.len() >= magazine_size {
            mem::swap(&mut self.loaded, &mut self.spare);
        }
        if self.loaded.capacity() == 0 {
            self.loaded = depot.take_empty(magazine_size);
        }
        if self.spare.capacity() == 0 {
            self.spare = depot.take_empty(magazine_size);
        }
        let need = self.held.plus(kept.amount());
        if !need.fits(self.reserved) && need.fits(limits.thread_cache) {
            let want = top_up(need, self.reserved, limits);
            if budget.reserve_exact(want) {
                self.reserved.add(want);
            }
        }
        let result = self.push(kept, magazine_size);
        self.check(limits);
        result
    }

    // === aging, with the cache lock held (by the owner or a reclaimer) ===

    /// Brings the cache up to sweep `epoch`: the victims go to `garbage`, and what the
    /// magazines hold becomes the victims (or goes too, if the cache missed more than one
    /// sweep). The reservation shrinks to what is still held.
    pub(crate) fn age(&mut self, epoch: u64, budget: &Budget, garbage: &mut Garbage<T>) {
        let behind = epoch.saturating_sub(self.epoch);
        if behind == 0 {
            return;
        }
        let [older, newer] = mem::take(&mut self.victims);
        self.discard(older, budget, garbage);
        self.discard(newer, budget, garbage);
        let loaded = mem::take(&mut self.loaded);
        let spare = mem::take(&mut self.spare);
        if behind == 1 {
            self.victims = [spare, loaded];
        } else {
            self.discard(loaded, budget, garbage);
            self.discard(spare, budget, garbage);
        }
        let excess = self.reserved.minus(self.held);
        budget.release(excess);
        self.reserved = self.held;
        self.epoch = epoch;
    }

    fn discard(&mut self, magazine: Magazine<T>, budget: &Budget, garbage: &mut Garbage<T>) {
        let amount = amount_of(&magazine);
        self.held.sub(amount);
        self.reserved.sub(amount);
        budget.release(amount);
        garbage.push(magazine);
    }

    /// The owner's thread exited: everything moves to the depot (victims to its victim
    /// generation), and the reservation goes with the objects or back to the budget.
    pub(crate) fn flush(
        &mut self,
        epoch: u64,
        depot: &mut DepotState<T>,
        budget: &Budget,
        garbage: &mut Garbage<T>,
    ) {
        self.age(epoch, budget, garbage);
        for magazine in [mem::take(&mut self.loaded), mem::take(&mut self.spare)] {
            if magazine.is_empty() {
                depot.give_empty(magazine);
            } else {
                depot.put_magazine(magazine);
            }
        }
        for magazine in mem::take(&mut self.victims) {
            depot.put_victims(magazine);
        }
        budget.release(self.reserved.minus(self.held));
        self.held = Amount::ZERO;
        self.reserved = Amount::ZERO;
    }

    /// Everything to `garbage`, for a pool that is being dropped.
    pub(crate) fn drain(&mut self, budget: &Budget, garbage: &mut Garbage<T>) {
        for magazine in [mem::take(&mut self.loaded), mem::take(&mut self.spare)]
            .into_iter()
            .chain(mem::take(&mut self.victims))
        {
            self.discard(magazine, budget, garbage);
        }
        budget.release(self.reserved);
        self.reserved = Amount::ZERO;
    }

    /// Readies a collected (empty) cache for a new thread.
    pub(crate) fn reuse(&mut self, epoch: u64) {
        debug_assert_eq!(self.held, Amount::ZERO, "a collected cache is empty");
        self.epoch = epoch;
    }
}

/// How much more a thread cache that needs `need` (within its cap) and has `reserved`
/// should ask the budget for: in a dimension the pool does not limit, up to the thread's
/// cap at once (it costs nothing); in a limited one, only the shortfall, so the reservation
/// tracks the most the thread has held and strands as little of the budget as possible.
fn top_up(need: Amount, reserved: Amount, limits: &Limits) -> Amount {
    let cap = limits.thread_cache;
    let want = |need: usize, reserved: usize, cap: usize, max: usize| {
        if max == UNLIMITED {
            cap.saturating_sub(reserved)
        } else {
            need.saturating_sub(reserved)
        }
    };
    Amount {
        objects: want(
            need.objects,
            reserved.objects,
            cap.objects,
            limits.max_idle.objects,
        ),
        bytes: want(need.bytes, reserved.bytes, cap.bytes, limits.max_idle.bytes),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::budget::{ByteQuota, Quota};

    fn limits(thread_cache: usize) -> Limits {
        Limits {
            thread_cache: Amount {
                objects: thread_cache,
                bytes: UNLIMITED,
            },
            ..Limits::DEFAULT
        }
    }

    fn budget(objects: usize) -> Budget {
        Budget::new(Quota::new(objects), ByteQuota::Own(Quota::new(UNLIMITED)))
    }

    fn kept(value: u32) -> Kept<u32> {
        Kept { value, bytes: 10 }
    }

    #[test]
    fn a_fresh_cache_takes_nothing_until_the_slow_path_equips_it() {
        let limits = limits(4);
        let budget = budget(UNLIMITED);
        let mut depot = DepotState::default();
        let mut cache = Magazines::new(0);
        let refused = cache.push(kept(1), limits.magazine_size()).unwrap_err();
        cache.spill(refused, &mut depot, &limits, &budget).unwrap();
        cache.push(kept(2), limits.magazine_size()).unwrap();
        assert_eq!(
            cache.held,
            Amount {
                objects: 2,
                bytes: 20
            }
        );
        assert_eq!(cache.pop().map(|k| k.value), Some(2), "LIFO");
        assert_eq!(cache.pop().map(|k| k.value), Some(1));
        assert!(cache.pop().is_none());
    }

    #[test]
    fn a_full_cache_spills_a_magazine_and_refills_from_the_depot() {
        let limits = limits(4);
        let budget = budget(UNLIMITED);
        let mut depot = DepotState::default();
        let mut cache = Magazines::new(0);
        for value in 0..5 {
            if let Err(k) = cache.push(kept(value), limits.magazine_size()) {
                cache.spill(k, &mut depot, &limits, &budget).unwrap();
            }
        }
        assert_eq!(cache.held.objects, 3, "one full magazine went to the depot");
        assert_eq!(depot.held().objects, 2);
        while cache.pop().is_some() {}
        let refilled = cache.refill(&mut depot, &limits, &budget).map(|k| k.value);
        assert_eq!(refilled, Some(3), "the depot's magazine [2, 3], top first");
        assert_eq!(depot.held().objects, 0);
    }

    #[test]
    fn the_reservation_is_bounded_by_the_thread_cap_and_released_on_aging() {
        let limits = Limits {
            max_idle: Amount {
                objects: 100,
                bytes: UNLIMITED,
            },
            ..limits(4)
        };
        let budget = budget(100);
        let mut depot = DepotState::default();
        let mut cache = Magazines::new(0);
        cache.spill(kept(1), &mut depot, &limits, &budget).unwrap();
        assert_eq!(
            cache.reserved.objects, 1,
            "a limited budget: only what is needed"
        );
        for value in 2..=6 {
            if let Err(k) = cache.push(kept(value), limits.magazine_size()) {
                let _ = cache.spill(k, &mut depot, &limits, &budget);
            }
        }
        assert_eq!(cache.reserved.objects, 4, "never past the thread's cap");
        assert_eq!(depot.held().objects, 2);
        let mut garbage = Garbage::default();
        while cache.held.objects > 1 {
            cache.pop();
        }
        cache.age(1, &budget, &mut garbage);
        assert_eq!(cache.reserved.objects, 1, "only what the victims need");
        cache.age(2, &budget, &mut garbage);
        assert_eq!(cache.reserved, Amount::ZERO);
        assert_eq!(garbage.len(), 1);
        assert_eq!(
            budget
                .reserve_up_to(Amount {
                    objects: 100,
                    bytes: 0
                })
                .objects,
            98,
            "all but the depot's two came back"
        );
    }

    #[test]
    fn victims_are_taken_one_at_a_time_and_dropped_by_the_next_sweep() {
        let limits = limits(4);
        let budget = budget(UNLIMITED);
        let mut depot = DepotState::default();
        let mut cache = Magazines::new(0);
        cache.spill(kept(1), &mut depot, &limits, &budget).unwrap();
        cache.push(kept(2), limits.magazine_size()).unwrap();
        let mut garbage = Garbage::default();
        cache.age(1, &budget, &mut garbage);
        assert_eq!(
            cache.held.objects, 2,
            "one sweep old: still here, as victims"
        );
        assert_eq!(cache.pop().map(|k| k.value), Some(2));
        cache.age(2, &budget, &mut garbage);
        assert_eq!(cache.held, Amount::ZERO);
        assert_eq!(garbage.len(), 1, "the victim nobody took");
    }

    #[test]
    fn a_flush_hands_everything_to_the_depot() {
        let limits = limits(4);
        let budget = budget(10);
        let mut depot = DepotState::default();
        let mut cache = Magazines::new(0);
        cache.spill(kept(1), &mut depot, &limits, &budget).unwrap();
        let mut garbage = Garbage::default();
        cache.flush(0, &mut depot, &budget, &mut garbage);
        assert_eq!(depot.held().objects, 1);
        assert_eq!(cache.reserved, Amount::ZERO);
        assert_eq!(
            budget
                .reserve_up_to(Amount {
                    objects: 10,
                    bytes: 0
                })
                .objects,
            9,
            "the object's share moved to the depot, the rest came back"
        );
    }
}

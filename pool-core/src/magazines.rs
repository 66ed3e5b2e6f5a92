//! What a [`Pool`](crate::Pool)'s thread cache holds, and how it trades with the depot.
//!
//! First a `hot` slot, the object this thread returned last: a thread that gets and returns
//! one object at a time touches nothing else, and the object it gets is the one it just
//! used, warm in its CPU's cache. Behind it, two magazines, `loaded` and `spare` (Bonwick):
//! gets pop and returns push on `loaded`, and the two swap when `loaded` runs empty or full,
//! so a thread hovering at a magazine boundary does not go to the depot on every call. When
//! both are empty (or full), the thread trades a whole magazine with the depot under its
//! lock.
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
//! What the cache holds is kept in [`Published`], outside the owner's state, as atomics only
//! the state's holder writes: the hot path updates it in place, and [`Pool::stats`] reads it
//! from any thread without a second copy to keep in step.
//!
//! Nothing here runs user code: what must be dropped goes to [`Garbage`].
//!
//! [`Pool::stats`]: crate::Pool::stats

use crate::budget::Budget;
use crate::depot::DepotState;
use crate::kept::{Garbage, Kept, Magazine, amount_of};
use crate::limits::{Amount, Limits, MAX_COUNTED_BYTES, UNLIMITED};
use crate::stats::OwnedCounter;
use crate::sync::{AtomicUsize, Ordering};
use std::mem;

/// A thread cache's objects, for one pool.
#[derive(Debug)]
pub(crate) struct Magazines<T> {
    /// The object returned last (its bytes are published in [`Published`]).
    hot: Option<Kept<T>>,
    loaded: Magazine<T>,
    spare: Magazine<T>,
    /// What `loaded` and `spare` held at the last sweep.
    victims: [Magazine<T>; 2],
    /// Taken from the pool's budget; always covers what is held, never exceeds the
    /// thread's cap.
    reserved: Amount,
    /// One more than the most bytes an object may retain to fit the reservation beside what
    /// the magazines and victims hold (at most `MAX_COUNTED_BYTES + 1`, so an object below it
    /// counts for what it reports), or 0 if the reservation has no object to spare: so a
    /// return to an empty hot slot checks the reservation with one comparison. Never more
    /// than the truth: every slow path that adds to what is held or takes from the
    /// reservation recomputes it; pops only add room, so it may lag behind them, and
    /// [`push_to_hot_slot`](Magazines::push_to_hot_slot) recomputes it before refusing.
    hot_room: usize,
    /// The sweep this cache last aged to.
    epoch: u64,
}

/// What a thread cache holds and has done: written only by whoever holds the cache's state
/// (plain load and store, no read-modify-write), read by anyone.
#[derive(Debug, Default)]
pub(crate) struct Published {
    /// Objects and bytes in the magazines and victims.
    held_objects: AtomicUsize,
    held_bytes: AtomicUsize,
    /// The hot object's bytes plus one (saturating), or 0 if the hot slot is empty: one
    /// store is all a get or return that stays in the hot slot publishes.
    hot: AtomicUsize,
    /// The cache's reservation, which always covers what it holds: changed only on slow
    /// paths, under the depot lock or the cache lock, both of which a snapshot holds.
    reserved_objects: AtomicUsize,
    reserved_bytes: AtomicUsize,
    pub(crate) reused: OwnedCounter,
    pub(crate) returned: OwnedCounter,
}

impl Published {
    /// Idle objects and bytes in the cache.
    ///
    /// Read by a snapshot while the owner works, so in the reverse of the order the owner
    /// writes: an object moving from the hot slot into the magazines (`push_behind_hot`)
    /// is published in the hot slot's place first, then in the magazines' figures
    /// (`Release`). A reader that sees the magazines' new figures (`Acquire`) sees the hot
    /// slot's new one too, so the object is never counted in both: a snapshot can miss it,
    /// never show more idle than the limits allow.
    #[inline(always)]
    pub(crate) fn held(&self) -> Amount {
        let bytes = self.held_bytes.load(Ordering::Acquire);
        let objects = self.held_objects.load(Ordering::Acquire);
        let hot = self.hot.load(Ordering::Relaxed);
        Amount {
            objects: objects + usize::from(hot != 0),
            bytes: bytes.saturating_add(hot.saturating_sub(1)),
        }
    }

    /// [`held`](Published::held) for a snapshot taken while the owner works: at most the
    /// reservation. The figures it adds up are read one by one while objects come and go
    /// (one leaves the magazines for a user, another joins the hot slot), so their sum can
    /// exceed what the cache held at any one time; what it held never exceeded the
    /// reservation, which cannot change while the snapshot holds the locks. So the caches'
    /// figures and the depot's add up to no more than the limits.
    pub(crate) fn held_for_snapshot(&self) -> Amount {
        let held = self.held();
        Amount {
            objects: held
                .objects
                .min(self.reserved_objects.load(Ordering::Relaxed)),
            bytes: held.bytes.min(self.reserved_bytes.load(Ordering::Relaxed)),
        }
    }

    fn set_reserved(&self, reserved: Amount) {
        self.reserved_objects
            .store(reserved.objects, Ordering::Relaxed);
        self.reserved_bytes.store(reserved.bytes, Ordering::Relaxed);
    }

    /// Objects and bytes in the magazines and victims, without the hot object.
    #[inline(always)]
    fn in_magazines(&self) -> Amount {
        Amount {
            objects: self.held_objects.load(Ordering::Relaxed),
            bytes: self.held_bytes.load(Ordering::Relaxed),
        }
    }

    /// The hot object's bytes, or 0 if the hot slot is empty.
    #[inline(always)]
    fn hot_bytes(&self) -> usize {
        self.hot.load(Ordering::Relaxed).saturating_sub(1)
    }

    /// Publishes what the magazines and victims hold: objects, then bytes, each `Release`
    /// (see [`held`](Published::held)).
    #[inline(always)]
    fn set_in_magazines(&self, amount: Amount) {
        self.held_objects.store(amount.objects, Ordering::Release);
        self.held_bytes.store(amount.bytes, Ordering::Release);
    }

    #[inline(always)]
    fn set_hot(&self, bytes: Option<usize>) {
        self.set_hot_code(bytes.map_or(0, |bytes| bytes.saturating_add(1)));
    }

    /// Publishes the hot slot already encoded: its object's bytes plus one, or 0.
    #[inline(always)]
    fn set_hot_code(&self, code: usize) {
        self.hot.store(code, Ordering::Relaxed);
    }

    /// Records that `amount` came into the magazines. Objects cannot overflow (a cache
    /// holds at most four magazines); bytes, which users report, saturate.
    #[inline(always)]
    fn add(&self, amount: Amount) {
        let held = self.in_magazines();
        self.set_in_magazines(Amount {
            objects: held.objects + amount.objects,
            bytes: held.bytes.saturating_add(amount.bytes),
        });
    }

    /// Records that `amount` went out of the magazines.
    #[inline(always)]
    fn sub(&self, amount: Amount) {
        let held = self.in_magazines();
        self.set_in_magazines(Amount {
            objects: held.objects.saturating_sub(amount.objects),
            bytes: held.bytes.saturating_sub(amount.bytes),
        });
    }
}

impl<T> Magazines<T> {
    pub(crate) fn new(epoch: u64) -> Self {
        Self {
            hot: None,
            loaded: Vec::new(),
            spare: Vec::new(),
            victims: [Vec::new(), Vec::new()],
            reserved: Amount::ZERO,
            hot_room: 0,
            epoch,
        }
    }

    /// Recomputes [`hot_room`](Magazines::hot_room) from the reservation and what the
    /// magazines hold, and publishes the reservation. Call after anything that changes
    /// either.
    fn refresh_hot_room(&mut self, held: &Published) {
        self.hot_room = self.room_beside(held.in_magazines());
        held.set_reserved(self.reserved);
    }

    /// What [`hot_room`](Magazines::hot_room) is when the magazines hold `in_magazines`.
    #[inline(always)]
    fn room_beside(&self, in_magazines: Amount) -> usize {
        if in_magazines.objects < self.reserved.objects {
            let room = self.reserved.bytes.saturating_sub(in_magazines.bytes);
            room.min(MAX_COUNTED_BYTES) + 1
        } else {
            0
        }
    }

    /// Checks the invariants every operation keeps.
    fn check(&self, published: &Published, limits: &Limits) {
        let held = published.held();
        debug_assert!(
            held.fits(self.reserved),
            "the reservation covers what is held"
        );
        debug_assert!(
            self.hot_room == 0
                || published
                    .in_magazines()
                    .plus(Amount::one(self.hot_room - 1))
                    .fits(self.reserved),
            "the hot slot's room never overstates the reservation"
        );
        debug_assert!(
            self.reserved.fits(limits.thread_cache) || self.reserved == held,
            "the reservation stays within the thread's cap"
        );
        debug_assert!(
            self.loaded.len() <= limits.magazine_size()
                && self.spare.len() <= limits.magazine_size(),
            "magazines stay within their size"
        );
        debug_assert_eq!(
            amount_of(self.hot.as_slice())
                .plus(amount_of(&self.loaded))
                .plus(amount_of(&self.spare))
                .plus(amount_of(&self.victims[0]))
                .plus(amount_of(&self.victims[1])),
            held,
            "what is published as held is what the magazines hold"
        );
    }

    // === the owner's fast path ===

    /// An idle object: the hot one, else from `loaded`, then `spare`, then one victim.
    #[inline(always)]
    pub(crate) fn pop(&mut self, held: &Published) -> Option<Kept<T>> {
        if let Some(kept) = self.hot.take() {
            held.set_hot(None);
            return Some(kept);
        }
        self.pop_magazine(held)
    }

    #[inline]
    fn pop_magazine(&mut self, held: &Published) -> Option<Kept<T>> {
        if self.loaded.is_empty() {
            mem::swap(&mut self.loaded, &mut self.spare);
        }
        let kept = match self.loaded.pop() {
            Some(kept) => kept,
            None => self.pop_victim()?,
        };
        held.sub(kept.amount());
        Some(kept)
    }

    #[cold]
    fn pop_victim(&mut self) -> Option<Kept<T>> {
        self.victims[1].pop().or_else(|| self.victims[0].pop())
    }

    /// Whether the hot slot holds an object: then a return goes behind it
    /// ([`push_behind_hot`](Magazines::push_behind_hot)).
    #[inline(always)]
    pub(crate) fn hot_is_taken(&self) -> bool {
        self.hot.is_some()
    }

    /// Keeps `kept` in the empty hot slot (the caller checked [`hot_is_taken`]) if `hot_room`
    /// says the reservation covers it: the return's fast path, a few instructions and no call,
    /// so the caller can hand everything else to an out-of-line path. `Err` does not mean the
    /// cache cannot take it: try [`push`](Magazines::push).
    ///
    /// [`hot_is_taken`]: Magazines::hot_is_taken
    #[inline(always)]
    pub(crate) fn push_hot(&mut self, kept: Kept<T>, held: &Published) -> Result<(), Kept<T>> {
        // The bytes as reported: below `hot_room`, which is at most `MAX_COUNTED_BYTES + 1`,
        // they are what the object counts for. An object reporting more counts for
        // `MAX_COUNTED_BYTES` and is decided by `push_to_hot_slot`, on its clamped amount.
        let bytes = kept.reported_bytes();
        debug_assert!(self.hot.is_none(), "the caller checked hot_is_taken");
        if bytes >= self.hot_room {
            return Err(kept);
        }
        self.put_hot(kept, bytes, held);
        Ok(())
    }

    /// Keeps `kept`, which counts for `bytes` and fits `hot_room`, in the empty hot slot.
    #[inline(always)]
    fn put_hot(&mut self, kept: Kept<T>, bytes: usize, held: &Published) {
        debug_assert!(self.hot.is_none() && bytes < self.hot_room);
        debug_assert!(
            held.in_magazines().plus(kept.amount()).fits(self.reserved),
            "the reservation covers an object that fits the hot slot's room"
        );
        self.hot = Some(kept);
        // No overflow: `bytes` is less than `hot_room`.
        held.set_hot_code(bytes + 1);
    }

    /// Keeps `kept` in the hot slot (a hot object already there moving on top of `loaded`),
    /// if the reservation covers it and the magazines have room; never allocates.
    pub(crate) fn push(
        &mut self,
        kept: Kept<T>,
        held: &Published,
        limits: &Limits,
    ) -> Result<(), Kept<T>> {
        if self.hot.is_some() {
            return self.push_behind_hot(kept, held, limits);
        }
        self.push_to_hot_slot(kept, held)
    }

    /// [`push`](Magazines::push) to an empty hot slot, with `hot_room` brought up to date
    /// first (it lags behind pops), on what the object counts for.
    fn push_to_hot_slot(&mut self, kept: Kept<T>, held: &Published) -> Result<(), Kept<T>> {
        self.refresh_hot_room(held);
        let bytes = kept.amount().bytes;
        if bytes >= self.hot_room {
            return Err(kept);
        }
        self.put_hot(kept, bytes, held);
        Ok(())
    }

    /// [`push`](Magazines::push) when the hot slot is taken: the hot object moves on top of
    /// `loaded` and `kept` takes its place, so the next get has the object returned last. A
    /// thread that holds several objects at once returns all but one here, so this path reads
    /// what is published once and works out the rest in registers: the hot object's bytes are
    /// the published ones, not read from the object.
    #[inline]
    pub(crate) fn push_behind_hot(
        &mut self,
        kept: Kept<T>,
        held: &Published,
        limits: &Limits,
    ) -> Result<(), Kept<T>> {
        let amount = kept.amount();
        // What the magazines will hold once the hot object joins them; beside it, `kept`.
        let after = held.in_magazines().plus(Amount::one(held.hot_bytes()));
        if !after.plus(amount).fits(self.reserved) {
            return Err(kept);
        }
        if !self.room_to_store(limits) {
            return Err(kept);
        }
        // Swapped in place, not taken and put back: an assignment to the slot would drop
        // what it held, and that drop (never run: the slot is full) made this path save and
        // restore registers for its calls.
        let Some(hot) = self.hot.as_mut() else {
            unreachable!("push_behind_hot is called with the hot slot taken")
        };
        let previous = mem::replace(hot, kept);
        debug_assert_eq!(
            previous.amount(),
            Amount::one(held.hot_bytes()),
            "the hot slot publishes what its object counts for"
        );
        self.store_in_room(previous);
        held.set_hot(Some(amount.bytes));
        held.set_in_magazines(after);
        self.hot_room = self.room_beside(after);
        Ok(())
    }

    /// Makes `loaded` the magazine an object goes on, swapping in `spare` if `loaded` is
    /// full. False if both are full or `loaded` has no allocation yet (the slow path brings
    /// one).
    #[inline]
    fn room_to_store(&mut self, limits: &Limits) -> bool {
        let magazine_size = limits.magazine_size();
        if self.loaded.len() >= magazine_size {
            if self.spare.len() >= magazine_size {
                return false;
            }
            mem::swap(&mut self.loaded, &mut self.spare);
        }
        self.loaded.len() < self.loaded.capacity()
    }

    /// Puts `kept` (already accounted for) on `loaded`, after
    /// [`room_to_store`](Magazines::room_to_store) said yes: no allocation.
    #[inline]
    fn store_in_room(&mut self, kept: Kept<T>) {
        debug_assert!(self.loaded.len() < self.loaded.capacity());
        self.loaded.push(kept);
    }

    // === the owner's slow path, with the depot locked ===

    /// The magazines and victims are empty: trades an empty magazine for a full one from
    /// the depot, and pops from it.
    pub(crate) fn refill(
        &mut self,
        held: &Published,
        depot: &mut DepotState<T>,
        limits: &Limits,
        budget: &Budget,
    ) -> Option<Kept<T>> {
        if limits.thread_cache.objects < limits.magazine_size() {
            return None; // too small a cache for whole magazines (0 or 1 objects)
        }
        let room = limits.thread_cache.bytes.saturating_sub(held.held().bytes);
        let (magazine, amount) = depot.take_magazine(room)?;
        held.add(amount);
        self.reserved.add(amount);
        // Taking the magazine can lift the reservation past the thread's cap; the part the
        // held objects do not need goes back to the budget.
        let now = held.held();
        let cap = Amount {
            objects: limits.thread_cache.objects.max(now.objects),
            bytes: limits.thread_cache.bytes.max(now.bytes),
        };
        let excess = self.reserved.minus(cap);
        self.reserved.sub(excess);
        budget.release(excess);
        depot.give_empty(mem::replace(&mut self.loaded, magazine));
        self.refresh_hot_room(held);
        let kept = self.pop(held);
        self.check(held, limits);
        kept
    }

    /// The fast push failed on room or reservation: moves a full magazine to the depot,
    /// tops the reservation up (within the thread's cap), and keeps `kept` if it now fits.
    /// Hands it back if the thread cache cannot take it.
    pub(crate) fn spill(
        &mut self,
        kept: Kept<T>,
        held: &Published,
        depot: &mut DepotState<T>,
        limits: &Limits,
        budget: &Budget,
    ) -> Result<(), Kept<T>> {
        let magazine_size = limits.magazine_size();
        if limits.thread_cache.objects == 0 {
            return Err(kept);
        }
        let at_cap = !held.held().plus(kept.amount()).fits(limits.thread_cache);
        let full = self.loaded.len() >= magazine_size && self.spare.len() >= magazine_size;
        if at_cap || full {
            // Make room: the fuller magazine goes to the depot, with its reservation.
            if self.spare.len() > self.loaded.len() {
                mem::swap(&mut self.loaded, &mut self.spare);
            }
            if !self.loaded.is_empty() {
                let out = mem::replace(&mut self.loaded, depot.take_empty(magazine_size));
                let amount = amount_of(&out);
                held.sub(amount);
                self.reserved.sub(amount);
                depot.put_magazine(out, amount);
            } else if let Some(victims) = self.victims.iter_mut().find(|m| !m.is_empty()) {
                // All the cache holds is one sweep old: the older victims give way, to the
                // depot's victim generation (still one sweep old, reservation and all), so
                // the object returned now is kept here and comes out first.
                let out = mem::take(victims);
                let amount = amount_of(&out);
                held.sub(amount);
                self.reserved.sub(amount);
                depot.put_victims(out);
            } else if kept.amount().fits(limits.thread_cache)
                && let Some(hot) = self.hot.take()
            {
                // All the cache holds is the hot object (a cache of one object, or one
                // object's worth of bytes): it gives way, so the object returned now is the
                // one the next get has.
                held.set_hot(None);
                let amount = hot.amount();
                self.reserved.sub(amount);
                let mut out = depot.take_empty(magazine_size);
                out.push(hot);
                depot.put_magazine(out, amount);
            }
        } else if self.loaded.len() >= magazine_size {
            mem::swap(&mut self.loaded, &mut self.spare);
        }
        if self.loaded.capacity() == 0 {
            self.loaded = depot.take_empty(magazine_size);
        }
        if self.spare.capacity() == 0 {
            self.spare = depot.take_empty(magazine_size);
        }
        let need = held.held().plus(kept.amount());
        if !need.fits(self.reserved) && need.fits(limits.thread_cache) {
            let want = top_up(need, self.reserved, limits);
            if budget.reserve_exact(want) {
                self.reserved.add(want);
            }
        }
        self.refresh_hot_room(held);
        let result = self.push(kept, held, limits);
        self.check(held, limits);
        result
    }

    // === aging, with the cache lock held (by the owner or a reclaimer) ===

    /// Brings the cache up to sweep `epoch`: the victims go to `garbage`, and what the
    /// magazines hold becomes the victims (or goes too, if the cache missed more than one
    /// sweep). The reservation shrinks to what is still held.
    pub(crate) fn age(
        &mut self,
        held: &Published,
        epoch: u64,
        budget: &Budget,
        garbage: &mut Garbage<T>,
    ) {
        let behind = epoch.saturating_sub(self.epoch);
        if behind == 0 {
            return;
        }
        self.fold_hot(held);
        let [older, newer] = mem::take(&mut self.victims);
        self.discard(older, held, budget, garbage);
        self.discard(newer, held, budget, garbage);
        let loaded = mem::take(&mut self.loaded);
        let spare = mem::take(&mut self.spare);
        if behind == 1 {
            self.victims = [spare, loaded];
        } else {
            self.discard(loaded, held, budget, garbage);
            self.discard(spare, held, budget, garbage);
        }
        let still = held.held();
        budget.release(self.reserved.minus(still));
        self.reserved = still;
        self.refresh_hot_room(held);
        self.epoch = epoch;
    }

    /// Moves the hot object into `loaded` (which may grow past a magazine: only aging and
    /// flushing do this, and `loaded` then becomes victims or goes to the depot).
    fn fold_hot(&mut self, held: &Published) {
        if let Some(kept) = self.hot.take() {
            held.set_hot(None);
            held.add(kept.amount());
            self.loaded.push(kept);
        }
    }

    fn discard(
        &mut self,
        magazine: Magazine<T>,
        held: &Published,
        budget: &Budget,
        garbage: &mut Garbage<T>,
    ) {
        let amount = amount_of(&magazine);
        held.sub(amount);
        self.reserved.sub(amount);
        budget.release(amount);
        garbage.push(magazine);
    }

    /// The owner's thread exited: everything moves to the depot (victims to its victim
    /// generation), and the reservation goes with the objects or back to the budget.
    pub(crate) fn flush(
        &mut self,
        held: &Published,
        epoch: u64,
        depot: &mut DepotState<T>,
        budget: &Budget,
        garbage: &mut Garbage<T>,
    ) {
        self.age(held, epoch, budget, garbage);
        self.fold_hot(held);
        for magazine in [mem::take(&mut self.loaded), mem::take(&mut self.spare)] {
            if magazine.is_empty() {
                depot.give_empty(magazine);
            } else {
                let amount = amount_of(&magazine);
                depot.put_magazine(magazine, amount);
            }
        }
        for magazine in mem::take(&mut self.victims) {
            depot.put_victims(magazine);
        }
        budget.release(self.reserved.minus(held.held()));
        held.sub(held.held());
        self.reserved = Amount::ZERO;
        self.refresh_hot_room(held);
    }

    /// Everything to `garbage`, for a pool that is being dropped.
    pub(crate) fn drain(&mut self, held: &Published, budget: &Budget, garbage: &mut Garbage<T>) {
        self.fold_hot(held);
        for magazine in [mem::take(&mut self.loaded), mem::take(&mut self.spare)]
            .into_iter()
            .chain(mem::take(&mut self.victims))
        {
            self.discard(magazine, held, budget, garbage);
        }
        budget.release(self.reserved);
        self.reserved = Amount::ZERO;
        self.refresh_hot_room(held);
    }

    /// Readies a collected (empty) cache for a new thread.
    pub(crate) fn reuse(&mut self, held: &Published, epoch: u64) {
        debug_assert_eq!(held.held(), Amount::ZERO, "a collected cache is empty");
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
    use crate::budget::Quota;
    use crate::limits::ThreadCapsSet;

    fn limits(thread_cache: usize) -> Limits {
        Limits {
            thread_cache: Amount {
                objects: thread_cache,
                bytes: UNLIMITED,
            },
            ..Limits::DEFAULT
        }
        .normalized(ThreadCapsSet::BOTH)
    }

    fn budget(objects: usize) -> Budget {
        Budget::new(Quota::new(objects), Quota::new(UNLIMITED))
    }

    /// A thread cap of 4 objects under a pool-wide limit of 100: reservations then grow by
    /// what is needed, not to the cap at once.
    fn limited_to_100() -> Limits {
        Limits {
            max_idle: Amount {
                objects: 100,
                bytes: UNLIMITED,
            },
            ..limits(4)
        }
    }

    fn kept(value: u32) -> Kept<u32> {
        Kept::with_bytes(value, 10)
    }

    /// One thread cache (epoch 0) and what its operations take: limits with a thread cap of
    /// 4 objects, a budget of `objects`, an empty depot, and the cache and its published
    /// counts.
    fn fixture(objects: usize) -> (Limits, Budget, DepotState<u32>, Magazines<u32>, Published) {
        (
            limits(4),
            budget(objects),
            DepotState::default(),
            Magazines::new(0),
            Published::default(),
        )
    }

    #[test]
    fn a_fresh_cache_takes_nothing_until_the_slow_path_equips_it() {
        let (limits, budget, mut depot, mut cache, held) = fixture(UNLIMITED);
        let refused = cache.push(kept(1), &held, &limits).unwrap_err();
        cache
            .spill(refused, &held, &mut depot, &limits, &budget)
            .unwrap();
        cache.push(kept(2), &held, &limits).unwrap();
        assert_eq!(
            held.held(),
            Amount {
                objects: 2,
                bytes: 20
            }
        );
        assert_eq!(cache.pop(&held).map(|k| *k.value()), Some(2), "LIFO");
        assert_eq!(cache.pop(&held).map(|k| *k.value()), Some(1));
        assert!(cache.pop(&held).is_none());
    }

    #[test]
    fn a_full_cache_spills_a_magazine_and_refills_from_the_depot() {
        let (limits, budget, mut depot, mut cache, held) = fixture(UNLIMITED);
        for value in 0..6 {
            if let Err(k) = cache.push(kept(value), &held, &limits) {
                cache.spill(k, &held, &mut depot, &limits, &budget).unwrap();
            }
        }
        assert!(held.held().objects <= 4, "within the cap");
        assert_eq!(
            depot.held().objects,
            6 - held.held().objects,
            "the rest went whole"
        );
        assert_eq!(
            cache.pop(&held).map(|k| *k.value()),
            Some(5),
            "the last one back is the first out"
        );
        while cache.pop(&held).is_some() {}
        let refilled = cache.refill(&held, &mut depot, &limits, &budget);
        assert!(refilled.is_some(), "a magazine from the depot");
        assert_eq!(depot.held().objects, 0);
        assert!(
            cache.push(refilled.unwrap(), &held, &limits).is_ok(),
            "the object taken goes back without the depot, though the room was last \
             computed with the magazine full"
        );
    }

    #[test]
    fn the_hot_slot_takes_only_what_the_reservation_still_covers() {
        let (_, budget, mut depot, mut cache, held) = fixture(100);
        let limits = limited_to_100();
        cache
            .spill(kept(1), &held, &mut depot, &limits, &budget)
            .unwrap();
        assert_eq!(cache.reserved.objects, 1);
        let one = cache.pop(&held).unwrap();
        cache.push(one, &held, &limits).unwrap();
        let one = cache.pop(&held).unwrap();
        // The sweep finds nothing held, so the reservation shrinks to nothing, and the room
        // with it: the object must take the slow path, which reserves again.
        cache.age(&held, 1, &budget, &mut Garbage::default());
        assert_eq!(cache.reserved, Amount::ZERO);
        let one = cache.push(one, &held, &limits).unwrap_err();
        cache
            .spill(one, &held, &mut depot, &limits, &budget)
            .unwrap();
        assert_eq!(cache.reserved.objects, 1);
        assert_eq!(held.held().objects, 1);
    }

    #[test]
    fn the_reservation_is_bounded_by_the_thread_cap_and_released_on_aging() {
        let (_, budget, mut depot, mut cache, held) = fixture(100);
        let limits = limited_to_100();
        cache
            .spill(kept(1), &held, &mut depot, &limits, &budget)
            .unwrap();
        assert_eq!(
            cache.reserved.objects, 1,
            "a limited budget: only what is needed"
        );
        for value in 2..=6 {
            if let Err(k) = cache.push(kept(value), &held, &limits) {
                let _ = cache.spill(k, &held, &mut depot, &limits, &budget);
            }
        }
        assert_eq!(cache.reserved.objects, 4, "never past the thread's cap");
        assert_eq!(depot.held().objects + held.held().objects, 6);
        let mut garbage = Garbage::default();
        while held.held().objects > 1 {
            cache.pop(&held);
        }
        cache.age(&held, 1, &budget, &mut garbage);
        assert_eq!(cache.reserved.objects, 1, "only what the victims need");
        cache.age(&held, 2, &budget, &mut garbage);
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
        let (limits, budget, mut depot, mut cache, held) = fixture(UNLIMITED);
        cache
            .spill(kept(1), &held, &mut depot, &limits, &budget)
            .unwrap();
        cache.push(kept(2), &held, &limits).unwrap();
        let mut garbage = Garbage::default();
        cache.age(&held, 1, &budget, &mut garbage);
        assert_eq!(
            held.held().objects,
            2,
            "one sweep old: still here, as victims"
        );
        assert_eq!(cache.pop(&held).map(|k| *k.value()), Some(2));
        cache.age(&held, 2, &budget, &mut garbage);
        assert_eq!(held.held(), Amount::ZERO);
        assert_eq!(garbage.len(), 1, "the victim nobody took");
    }

    #[test]
    fn a_flush_hands_everything_to_the_depot() {
        let (limits, budget, mut depot, mut cache, held) = fixture(10);
        cache
            .spill(kept(1), &held, &mut depot, &limits, &budget)
            .unwrap();
        let mut garbage = Garbage::default();
        cache.flush(&held, 0, &mut depot, &budget, &mut garbage);
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

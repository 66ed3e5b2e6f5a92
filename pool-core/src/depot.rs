//! The shared level: the depot that thread caches spill to and refill from, and its victim
//! generation.
//!
//! Objects move in magazines, so a thread cache trades a full magazine for an empty one in
//! O(1) under the lock, and emptied magazines are kept for reuse, so a steady state
//! allocates nothing.
//!
//! Aging follows Go's `poolCleanup`: [`DepotState::rotate`] drops the victim generation and
//! makes the depot the new victim, so an idle object in the shared level lives through at
//! most two sweeps. Lookups take the depot first and the victims last, and victims leave
//! one at a time, so idle objects age out if at all possible.
//!
//! Nothing here runs user code: what must be dropped is handed back as [`Garbage`] for the
//! caller to drop after the lock is released.

use crate::budget::Budget;
use crate::kept::{Garbage, Kept, Magazine, amount_of};
use crate::limits::Amount;
use std::mem;

/// The magazines of one generation and what they hold, in all and each: a magazine's
/// amount is counted once, when it comes in, so trading it costs the same whatever its size.
#[derive(Debug)]
struct Level<T> {
    /// Each magazine with what it holds.
    stacked: Vec<(Magazine<T>, Amount)>,
    held: Amount,
}

impl<T> Level<T> {
    const fn new() -> Self {
        Self {
            stacked: Vec::new(),
            held: Amount::ZERO,
        }
    }

    fn is_empty(&self) -> bool {
        self.stacked.is_empty()
    }

    /// Adds `magazine`, which holds `amount`.
    fn push(&mut self, magazine: Magazine<T>, amount: Amount) {
        debug_assert_eq!(amount, amount_of(&magazine), "the amount is the magazine's");
        self.held.add(amount);
        self.stacked.push((magazine, amount));
    }

    /// The top magazine and what it holds.
    fn top(&self) -> Option<&(Magazine<T>, Amount)> {
        self.stacked.last()
    }

    fn pop(&mut self) -> Option<(Magazine<T>, Amount)> {
        let (magazine, amount) = self.stacked.pop()?;
        self.held.sub(amount);
        Some((magazine, amount))
    }

    /// Adds `kept` to the top magazine, which must exist and have room.
    fn push_onto_top(&mut self, kept: Kept<T>) {
        let amount = kept.amount();
        if let Some((top, top_amount)) = self.stacked.last_mut() {
            top.push(kept);
            top_amount.add(amount);
            self.held.add(amount);
        }
    }

    /// Takes the top magazine's last object; an emptied magazine is handed back to keep.
    fn pop_from_top(&mut self) -> (Option<Kept<T>>, Option<Magazine<T>>) {
        let Some((top, top_amount)) = self.stacked.last_mut() else {
            return (None, None);
        };
        let kept = top.pop();
        if let Some(kept) = &kept {
            let amount = kept.amount();
            top_amount.sub(amount);
            self.held.sub(amount);
        }
        let emptied = if top.is_empty() {
            self.stacked.pop().map(|(empty, _)| empty)
        } else {
            None
        };
        (kept, emptied)
    }

    fn into_magazines(self) -> impl Iterator<Item = Magazine<T>> {
        self.stacked.into_iter().map(|(magazine, _)| magazine)
    }
}

/// Emptied magazines kept between sweeps: enough for a few threads to trade without
/// allocating, few enough to be noise.
const EMPTIES_KEPT: usize = 64;

/// The depot's lock-protected state.
#[derive(Debug)]
pub(crate) struct DepotState<T> {
    primary: Level<T>,
    victim: Level<T>,
    /// Emptied magazines kept for reuse; cleared by each sweep.
    empties: Vec<Magazine<T>>,
}

impl<T> Default for DepotState<T> {
    fn default() -> Self {
        Self {
            primary: Level::new(),
            victim: Level::new(),
            empties: Vec::new(),
        }
    }
}

impl<T> DepotState<T> {
    /// Idle objects and bytes held here.
    pub(crate) fn held(&self) -> Amount {
        self.primary.held.plus(self.victim.held)
    }

    /// Takes a magazine whose objects a thread cache had reserved, and which holds `amount`:
    /// the reservation moves with them, so the budget does not change.
    pub(crate) fn put_magazine(&mut self, magazine: Magazine<T>, amount: Amount) {
        if !magazine.is_empty() {
            self.primary.push(magazine, amount);
        }
    }

    /// Takes objects one sweep old (a thread cache's victims, or its magazines when it
    /// missed a sweep): they join the victim generation, reservation and all.
    pub(crate) fn put_victims(&mut self, magazine: Magazine<T>) {
        if !magazine.is_empty() {
            let amount = amount_of(&magazine);
            self.victim.push(magazine, amount);
        }
    }

    /// Hands a thread cache a magazine of idle objects from the depot (never the victims),
    /// with what it holds; the objects become the thread's reservation. `None` if the depot
    /// is empty or its next magazine is heavier than `max_bytes` (single objects still
    /// move, by `pop_one`).
    ///
    /// Never from the victim generation: a whole victim magazine moved into a thread cache
    /// would make its unused objects one sweep younger each time, so a thread doing one get
    /// per sweep could keep a magazine alive for ever.
    pub(crate) fn take_magazine(&mut self, max_bytes: usize) -> Option<(Magazine<T>, Amount)> {
        if self.primary.top()?.1.bytes > max_bytes {
            return None;
        }
        self.primary.pop()
    }

    /// Stores one object that no reservation covers: it must fit the budget, and victims
    /// give way (oldest generation first) to make room. Hands the object back if it does not
    /// fit.
    pub(crate) fn push_one(
        &mut self,
        kept: Kept<T>,
        magazine_size: usize,
        budget: &Budget,
        garbage: &mut Garbage<T>,
    ) -> Result<(), Kept<T>> {
        let need = kept.amount();
        while !budget.reserve_exact(need) {
            let Some((magazine, amount)) = self.victim.pop() else {
                return Err(kept);
            };
            budget.release(amount);
            garbage.push(magazine);
        }
        let has_room = matches!(self.primary.top(), Some((top, _)) if top.len() < magazine_size);
        if !has_room {
            let empty = self.take_empty(magazine_size);
            self.primary.push(empty, Amount::ZERO);
        }
        self.primary.push_onto_top(kept);
        Ok(())
    }

    /// Takes one object, depot first, victims last. It leaves the budget.
    pub(crate) fn pop_one(&mut self, budget: &Budget) -> Option<Kept<T>> {
        for level in [&mut self.primary, &mut self.victim] {
            while !level.is_empty() {
                let (kept, emptied) = level.pop_from_top();
                if let Some(empty) = emptied
                    && self.empties.len() < EMPTIES_KEPT
                {
                    self.empties.push(empty);
                }
                if let Some(kept) = kept {
                    budget.release(kept.amount());
                    return Some(kept);
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
        debug_assert!(
            magazine.is_empty(),
            "only empty magazines are kept for reuse"
        );
        if magazine.is_empty() && magazine.capacity() > 0 && self.empties.len() < EMPTIES_KEPT {
            self.empties.push(magazine);
        }
    }

    /// One aging cycle: the victim generation goes to `garbage` (its budget released), the
    /// depot becomes the victim generation.
    pub(crate) fn rotate(&mut self, budget: &Budget, garbage: &mut Garbage<T>) {
        let dropped = mem::replace(
            &mut self.victim,
            mem::replace(&mut self.primary, Level::new()),
        );
        budget.release(dropped.held);
        dropped.into_magazines().for_each(|m| garbage.push(m));
        // Kept empties are memory too; an idle pool should give them back.
        self.empties = Vec::new();
    }

    /// Everything, for a pool that is being dropped.
    pub(crate) fn drain(&mut self, budget: &Budget, garbage: &mut Garbage<T>) {
        self.rotate(budget, garbage);
        self.rotate(budget, garbage);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::budget::Quota;
    use crate::limits::UNLIMITED;

    fn kept(value: u32, bytes: usize) -> Kept<u32> {
        Kept::with_bytes(value, bytes)
    }

    fn budget(max_objects: usize) -> Budget {
        Budget::new(Quota::new(max_objects), Quota::new(UNLIMITED))
    }

    #[test]
    fn rotation_ages_objects_out_in_two_rotations() {
        let budget = budget(UNLIMITED);
        let mut depot = DepotState::<u32>::default();
        let mut garbage = Garbage::default();
        depot
            .push_one(kept(1, 0), 8, &budget, &mut garbage)
            .unwrap();
        depot.rotate(&budget, &mut garbage);
        assert_eq!(
            depot.held().objects,
            1,
            "one rotation moves it to the victims"
        );
        assert_eq!(
            depot.pop_one(&budget).map(Kept::into_value),
            Some(1),
            "a victim is still reachable"
        );
        depot
            .push_one(kept(2, 0), 8, &budget, &mut garbage)
            .unwrap();
        depot.rotate(&budget, &mut garbage);
        depot.rotate(&budget, &mut garbage);
        assert_eq!(depot.held().objects, 0);
        assert_eq!(garbage.len(), 1);
    }

    #[test]
    fn depot_is_preferred_over_victims() {
        let budget = budget(UNLIMITED);
        let mut depot = DepotState::<u32>::default();
        let mut garbage = Garbage::default();
        depot
            .push_one(kept(1, 0), 8, &budget, &mut garbage)
            .unwrap();
        depot.rotate(&budget, &mut garbage);
        depot
            .push_one(kept(2, 0), 8, &budget, &mut garbage)
            .unwrap();
        assert_eq!(depot.pop_one(&budget).map(Kept::into_value), Some(2));
        assert_eq!(depot.pop_one(&budget).map(Kept::into_value), Some(1));
        assert!(depot.pop_one(&budget).is_none());
    }

    #[test]
    fn victims_give_way_before_a_return_is_refused() {
        let budget = budget(2);
        let mut depot = DepotState::<u32>::default();
        let mut garbage = Garbage::default();
        depot
            .push_one(kept(1, 0), 8, &budget, &mut garbage)
            .unwrap();
        depot
            .push_one(kept(2, 0), 8, &budget, &mut garbage)
            .unwrap();
        assert!(
            depot
                .push_one(kept(3, 0), 8, &budget, &mut garbage)
                .is_err(),
            "full"
        );
        depot.rotate(&budget, &mut garbage);
        depot
            .push_one(kept(3, 0), 8, &budget, &mut garbage)
            .unwrap();
        assert_eq!(garbage.len(), 2, "the victim magazine gave way");
        assert_eq!(depot.held().objects, 1);
    }

    /// What a magazine holds is counted once, on the way in, and kept in step through every
    /// way objects move: what a trade hands out is what the magazine holds.
    #[test]
    fn each_magazines_amount_stays_in_step() {
        let budget = budget(UNLIMITED);
        let mut depot = DepotState::<u32>::default();
        let mut garbage = Garbage::default();
        for (value, bytes) in [(1, 10), (2, 20), (3, 30)] {
            depot
                .push_one(kept(value, bytes), 2, &budget, &mut garbage)
                .unwrap();
        }
        depot.pop_one(&budget).unwrap(); // the 30-byte object
        depot.put_magazine(
            vec![kept(4, 400), kept(5, 500)],
            Amount {
                objects: 2,
                bytes: 900,
            },
        );
        assert_eq!(
            depot.held(),
            Amount {
                objects: 4,
                bytes: 930
            }
        );
        assert!(depot.take_magazine(899).is_none(), "too heavy for the room");
        let (magazine, amount) = depot.take_magazine(900).unwrap();
        assert_eq!(amount, amount_of(&magazine));
        assert_eq!(amount.bytes, 900);
        let (magazine, amount) = depot.take_magazine(UNLIMITED).unwrap();
        assert_eq!(amount, amount_of(&magazine));
        assert_eq!(
            amount,
            Amount {
                objects: 2,
                bytes: 30
            }
        );
        assert_eq!(depot.held(), Amount::ZERO);
        assert!(depot.take_magazine(UNLIMITED).is_none());
    }

    #[test]
    fn emptied_magazines_are_reused() {
        let budget = budget(UNLIMITED);
        let mut depot = DepotState::<u32>::default();
        let mut garbage = Garbage::default();
        depot
            .push_one(kept(1, 0), 8, &budget, &mut garbage)
            .unwrap();
        let first = depot.primary.stacked[0].0.as_ptr();
        depot.pop_one(&budget).unwrap();
        depot
            .push_one(kept(2, 0), 8, &budget, &mut garbage)
            .unwrap();
        assert_eq!(depot.primary.stacked[0].0.as_ptr(), first);
    }
}

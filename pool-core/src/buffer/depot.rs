//! The shared level of a [`BufferPool`](super::BufferPool): one stack of idle buffers per
//! class, each with its victim generation, behind a lock of its own, and the byte budget
//! that the depots and the thread shelves' reservations share.
//!
//! Buffers reach a depot when a shelf has no room for them (oldest first), when a thread
//! exits, or when a thread has no shelf (thread caches off, or thread teardown). Any
//! thread's miss looks here before allocating. A sweep drops each class's victims and
//! makes its stack the new victims, so a buffer nobody asks for is freed by the second
//! sweep.

use super::shelf::{MAX_SHELVED, Shelved};
use crate::budget::Quota;
use crate::sync::{AtomicUsize, Mutex, MutexGuard, Ordering, lock};
use arrayvec::ArrayVec;
use std::mem;

#[derive(Debug, Default)]
struct Stacks {
    primary: Vec<Vec<u8>>,
    victims: Vec<Vec<u8>>,
    /// Bytes (capacity) of both.
    bytes: usize,
}

#[derive(Debug, Default)]
struct ClassDepot {
    stacks: Mutex<Stacks>,
    /// Buffers in `stacks` as of the last unlock, so a miss skips empty classes unlocked.
    count: AtomicUsize,
    /// Their bytes, likewise, for statistics.
    bytes: AtomicUsize,
}

impl ClassDepot {
    fn publish(&self, stacks: &Stacks) {
        self.count.store(
            stacks.primary.len() + stacks.victims.len(),
            Ordering::Relaxed,
        );
        self.bytes.store(stacks.bytes, Ordering::Relaxed);
    }
}

/// Buffers taken from a depot in one trip, newest first: at most a quarter of a shelf.
pub(crate) type Refill = ArrayVec<Vec<u8>, { MAX_SHELVED / 4 }>;

/// Buffers a shelf sends to the depots in one batch: at most a quarter of a shelf.
pub(crate) type Evicted = ArrayVec<Shelved, { MAX_SHELVED / 4 }>;

/// Every class's depot locked (see [`Depots::lock_all`]); unlocked on drop.
pub(crate) struct AllLocked<'a>(
    #[allow(dead_code, reason = "held for its locks")] Vec<MutexGuard<'a, Stacks>>,
);

/// Every class's depot and the idle budget.
#[derive(Debug)]
pub(crate) struct Depots {
    classes: Box<[ClassDepot]>,
    /// Idle bytes in the depots plus what the shelves reserved, against `max_idle_bytes`.
    budget: Quota,
    /// What all shelves have reserved now, and the most they ever had at once.
    shelves: AtomicUsize,
    shelves_peak: AtomicUsize,
}

/// Why a depot dropped buffers instead of keeping them.
#[derive(Debug, Default)]
pub(crate) struct Dropped {
    /// Buffers that aged out (victims), with their class.
    pub(crate) aged_out: Vec<Shelved>,
}

impl Depots {
    pub(crate) fn new(classes: usize, max_idle_bytes: usize) -> Self {
        Self {
            classes: (0..classes).map(|_| ClassDepot::default()).collect(),
            budget: Quota::new(max_idle_bytes),
            shelves: AtomicUsize::new(0),
            shelves_peak: AtomicUsize::new(0),
        }
    }

    /// What all shelves have reserved now, and the most at once so far.
    pub(crate) fn shelves_reserved(&self) -> (usize, usize) {
        (
            self.shelves.load(Ordering::Relaxed),
            self.shelves_peak.load(Ordering::Relaxed),
        )
    }

    /// A shelf's reservation grows by `bytes`, if the budget allows.
    pub(crate) fn grow_shelf(&self, bytes: usize) -> bool {
        if !self.budget.reserve_exact(bytes) {
            return false;
        }
        let now = self
            .shelves
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        self.shelves_peak.fetch_max(now, Ordering::Relaxed);
        true
    }

    /// A shelf gives `bytes` of its reservation back to the budget.
    pub(crate) fn shrink_shelf(&self, bytes: usize) {
        self.budget.release(bytes);
        self.leave_shelves(bytes);
    }

    fn leave_shelves(&self, bytes: usize) {
        let mut current = self.shelves.load(Ordering::Relaxed);
        while let Err(actual) = self.shelves.compare_exchange_weak(
            current,
            current.saturating_sub(bytes),
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            current = actual;
        }
    }

    /// Locks every class's depot, in class order, until the returned guards drop: for a
    /// statistics snapshot in which no buffer moves between a depot and a thread's cache
    /// (a get that takes one waits). Safe from deadlock because every other path holds at
    /// most one class lock at a time, and none waits for the cache lock while holding one.
    pub(crate) fn lock_all(&self) -> AllLocked<'_> {
        AllLocked(
            self.classes
                .iter()
                .map(|depot| lock(&depot.stacks))
                .collect(),
        )
    }

    /// Idle buffers and bytes in class `class`'s depot (as of its last unlock).
    pub(crate) fn held(&self, class: usize) -> (usize, usize) {
        let depot = &self.classes[class];
        (
            depot.count.load(Ordering::Relaxed),
            depot.bytes.load(Ordering::Relaxed),
        )
    }

    /// An idle buffer of class `class`, newest first, victims last. Its bytes leave the
    /// budget.
    pub(crate) fn take(&self, class: usize) -> Option<Vec<u8>> {
        let depot = &self.classes[class];
        if depot.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut stacks = lock(&depot.stacks);
        let buf = stacks.primary.pop().or_else(|| stacks.victims.pop())?;
        stacks.bytes = stacks.bytes.saturating_sub(buf.capacity());
        depot.publish(&stacks);
        drop(stacks);
        self.budget.release(buf.capacity());
        Some(buf)
    }

    /// Takes a buffer from a shelf whose reservation covered it: the reservation becomes
    /// the depot's, so the budget does not change.
    pub(crate) fn take_reserved(&self, shelved: Shelved, victim: bool) {
        self.leave_shelves(shelved.buf.capacity());
        let depot = &self.classes[shelved.class];
        let mut stacks = lock(&depot.stacks);
        stacks.bytes = stacks.bytes.saturating_add(shelved.buf.capacity());
        if victim {
            stacks.victims.push(shelved.buf);
        } else {
            stacks.primary.push(shelved.buf);
        }
        depot.publish(&stacks);
    }

    /// [`take_reserved`](Depots::take_reserved) for several (none of them victims): one
    /// lock for each run of buffers of one class. As there, the shelves' figure drops first,
    /// so a statistics snapshot between the two never counts a buffer twice.
    pub(crate) fn take_reserved_many(&self, batch: Evicted) {
        self.leave_shelves(
            batch
                .iter()
                .map(|shelved| shelved.buf.capacity())
                .fold(0, usize::saturating_add),
        );
        let mut locked: Option<(usize, MutexGuard<'_, Stacks>)> = None;
        for shelved in batch {
            let capacity = shelved.buf.capacity();
            let stacks = match &mut locked {
                Some((class, stacks)) if *class == shelved.class => stacks,
                _ => {
                    if let Some((class, stacks)) = locked.take() {
                        self.classes[class].publish(&stacks);
                    }
                    let stacks = lock(&self.classes[shelved.class].stacks);
                    &mut locked.insert((shelved.class, stacks)).1
                }
            };
            stacks.bytes = stacks.bytes.saturating_add(capacity);
            stacks.primary.push(shelved.buf);
        }
        if let Some((class, stacks)) = locked {
            self.classes[class].publish(&stacks);
        }
    }

    /// Up to `count` idle buffers of class `class`, newest first, in one lock: the first
    /// whatever its size, the others while their bytes fit `bytes` (a shelf's room). Their
    /// bytes leave the budget.
    ///
    /// The first is for a get, so it may be a victim, as for [`take`](Depots::take). The
    /// others wait on a shelf as if just returned, so they come from the primary stack
    /// alone: a victim moved there would lose its age and outlive the next sweep.
    pub(crate) fn take_many(&self, class: usize, count: usize, bytes: usize) -> Refill {
        let mut taken = Refill::new();
        let depot = &self.classes[class];
        if count == 0 || depot.count.load(Ordering::Relaxed) == 0 {
            return taken;
        }
        let mut room = bytes;
        let mut stacks = lock(&depot.stacks);
        while taken.len() < count && !taken.is_full() {
            let for_the_get = taken.is_empty();
            let stack = if for_the_get && stacks.primary.is_empty() {
                &mut stacks.victims
            } else {
                &mut stacks.primary
            };
            let Some(capacity) = stack.last().map(Vec::capacity) else {
                break;
            };
            if !for_the_get {
                if capacity > room {
                    break;
                }
                room -= capacity;
            }
            let Some(buf) = stack.pop() else {
                break;
            };
            stacks.bytes = stacks.bytes.saturating_sub(capacity);
            taken.push(buf);
        }
        depot.publish(&stacks);
        drop(stacks);
        self.budget.release(
            taken
                .iter()
                .map(Vec::capacity)
                .fold(0, usize::saturating_add),
        );
        taken
    }

    /// Keeps a buffer no reservation covers, if the budget allows once the class's victims
    /// have given way. Hands it back if not.
    pub(crate) fn keep(&self, shelved: Shelved, dropped: &mut Dropped) -> Result<(), Shelved> {
        let bytes = shelved.buf.capacity();
        let depot = &self.classes[shelved.class];
        let mut stacks = lock(&depot.stacks);
        while !self.budget.reserve_exact(bytes) {
            let Some(victim) = stacks.victims.pop() else {
                depot.publish(&stacks);
                return Err(shelved);
            };
            stacks.bytes = stacks.bytes.saturating_sub(victim.capacity());
            self.budget.release(victim.capacity());
            dropped.aged_out.push(Shelved {
                class: shelved.class,
                buf: victim,
            });
        }
        stacks.bytes = stacks.bytes.saturating_add(bytes);
        stacks.primary.push(shelved.buf);
        depot.publish(&stacks);
        Ok(())
    }

    /// One aging cycle in every class: victims go to `dropped`, the stacks become victims.
    pub(crate) fn rotate(&self, dropped: &mut Dropped) {
        for (class, depot) in self.classes.iter().enumerate() {
            let mut stacks = lock(&depot.stacks);
            let primary = mem::take(&mut stacks.primary);
            let victims = mem::replace(&mut stacks.victims, primary);
            let freed: usize = victims.iter().map(Vec::capacity).sum();
            stacks.bytes = stacks.bytes.saturating_sub(freed);
            depot.publish(&stacks);
            drop(stacks);
            self.budget.release(freed);
            dropped
                .aged_out
                .extend(victims.into_iter().map(|buf| Shelved { class, buf }));
        }
    }

    /// Everything, for a pool that is being dropped.
    pub(crate) fn drain(&self, dropped: &mut Dropped) {
        self.rotate(dropped);
        self.rotate(dropped);
    }
}

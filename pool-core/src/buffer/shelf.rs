//! A thread's own buffers: the per-thread level of a [`BufferPool`](super::BufferPool).
//!
//! One short list per thread, across all classes, in the order the thread returned them.
//! A get takes the newest buffer whose class fits (the one this thread used last, still warm
//! in its CPU's cache, which matters more for throughput than anything else the pool does);
//! a return goes on the end. The list is bounded in bytes per thread, not per class, so one
//! thread's idle memory is the same whatever sizes it sees, and in entries, so a get scans
//! little. What does not fit goes, oldest first, to the shared depot of its class.
//!
//! A thread that holds more buffers at once than its shelf keeps (an async worker whose tasks
//! each hold one) trades with the depots in batches: a full shelf sends its oldest quarter,
//! and once it has, a get it cannot serve brings back up to a quarter of a shelf in one trip.
//! A thread that never spilled takes one buffer at a time, so the depots' buffers stay there
//! for every thread.
//!
//! Aging as for every level: a sweep turns the list into this thread's victims and drops the
//! previous victims (unless a get took them back first).
//!
//! Every byte held counts against a reservation taken from the pool's idle budget, grown by
//! exactly what a return needs and never past the thread's cap, so the budget stays exact
//! without a shared write on the hot path.
//!
//! Nothing here runs user code (a buffer is a `Vec<u8>`), and nothing locks but the depots'
//! own locks, one class at a time, which an owner inside its shelf may take.

use super::depot::{Depots, Evicted};
use crate::stats::OwnedCounter;
use crate::sync::{AtomicUsize, Ordering};
use arrayvec::ArrayVec;
use std::mem;

/// The most buffers one thread keeps, whatever their size: a get scans at most this many.
pub(crate) const MAX_SHELVED: usize = 32;

/// A shelf's list of buffers.
type ShelfList = ArrayVec<Shelved, MAX_SHELVED>;

/// A buffer on a shelf, with its class.
#[derive(Debug)]
pub(crate) struct Shelved {
    pub(crate) class: usize,
    pub(crate) buf: Vec<u8>,
}

impl Shelved {
    /// The buffer and its class, for a get.
    ///
    /// Every shelved buffer is already empty (cleared on its return); clearing it again tells
    /// the compiler so, and it then stores the length instead of loading it. Loaded, the
    /// length came with the pointer in one 16-byte load of two fields the return had just
    /// stored separately, which the CPU cannot forward from its store buffer: a stall of
    /// about a third of a one-at-a-time get and return (21 -> 15 ns in a loop of them).
    #[inline(always)]
    pub(crate) fn lend(self) -> (Vec<u8>, usize) {
        let Shelved { class, mut buf } = self;
        buf.clear();
        (buf, class)
    }
}

/// One thread's buffers.
#[derive(Debug)]
pub(crate) struct Shelf {
    /// Oldest first. Inline, not a `Vec`: a push that cannot allocate needs no call, so the
    /// return's fast path makes none (a `Vec`'s push was not inlined there).
    recent: ShelfList,
    /// What `recent` held at the last sweep, oldest first.
    victims: ShelfList,
    /// Bytes (capacity) of every buffer here.
    held: usize,
    /// Bytes reserved from the pool's budget: covers `held`, at most the thread's cap.
    reserved: usize,
    /// The sweep this shelf last aged to.
    epoch: u64,
    /// The shelf was full and sent buffers to the depots since it last aged: its thread
    /// holds more buffers at once than a shelf keeps, so a get it cannot serve takes several
    /// back in one trip to a depot ([`room_to_refill`](Shelf::room_to_refill)).
    spilled: bool,
}

/// What a shelf publishes for statistics: written only by whoever holds the shelf, read by
/// anyone.
#[derive(Debug)]
pub(crate) struct Published {
    pub(crate) classes: Box<[ClassFigures]>,
    /// What the shelf reserved from the budget (its bytes, and a margin).
    pub(crate) reserved: AtomicUsize,
}

/// One class's figures on one thread's shelf.
#[derive(Debug, Default)]
pub(crate) struct ClassFigures {
    /// Gets that asked for this class (whichever class served them).
    pub(crate) requests: OwnedCounter,
    /// Gets served with an idle buffer of this class.
    pub(crate) reused: OwnedCounter,
    /// Buffers of this class kept on return.
    pub(crate) returned: OwnedCounter,
    /// Buffers of this class on the shelf now, and their bytes.
    pub(crate) held: AtomicUsize,
    pub(crate) held_bytes: AtomicUsize,
}

impl Published {
    pub(crate) fn new(classes: usize) -> Self {
        Self {
            classes: (0..=classes).map(|_| ClassFigures::default()).collect(),
            reserved: AtomicUsize::new(0),
        }
    }

    /// The figures of `class` for the fast paths, which must not panic inside the shelf
    /// (a panic's unwinding path and call made them save registers): every class a shelf
    /// sees is one of its pool's, so `None` is a bug, caught by the debug assertion.
    #[inline(always)]
    fn figures(&self, class: usize) -> Option<&ClassFigures> {
        let figures = self.classes.get(class);
        debug_assert!(figures.is_some(), "class {class} is one of the pool's");
        figures
    }

    /// A get asked for `class`.
    #[inline(always)]
    pub(crate) fn requested(&self, class: usize) {
        if let Some(figures) = self.figures(class) {
            figures.requests.bump();
        }
    }

    /// A buffer of `class` came back to the shelf: held, and counted as returned.
    #[inline(always)]
    fn shelve_returned(&self, class: usize, bytes: usize) {
        if let Some(figures) = self.figures(class) {
            figures.returned.bump();
            Self::shelve(figures, bytes);
        }
    }

    /// A buffer of `class` left the shelf for a get: no longer held, and counted as reused.
    #[inline(always)]
    fn unshelve_reused(&self, class: usize, bytes: usize) {
        if let Some(figures) = self.figures(class) {
            figures.reused.bump();
            Self::unshelve(figures, bytes);
        }
    }

    /// A buffer of `class` came to the shelf from its depot.
    #[inline(always)]
    fn shelve_class(&self, class: usize, bytes: usize) {
        if let Some(figures) = self.figures(class) {
            Self::shelve(figures, bytes);
        }
    }

    /// A buffer of `class` left the shelf for its depot or for garbage.
    #[inline(always)]
    fn unshelve_class(&self, class: usize, bytes: usize) {
        if let Some(figures) = self.figures(class) {
            Self::unshelve(figures, bytes);
        }
    }

    #[inline(always)]
    fn shelve(figures: &ClassFigures, bytes: usize) {
        let held = figures.held.load(Ordering::Relaxed);
        figures.held.store(held + 1, Ordering::Relaxed);
        let held_bytes = figures.held_bytes.load(Ordering::Relaxed);
        figures
            .held_bytes
            .store(held_bytes.saturating_add(bytes), Ordering::Relaxed);
    }

    #[inline(always)]
    fn unshelve(figures: &ClassFigures, bytes: usize) {
        let held = figures.held.load(Ordering::Relaxed);
        figures
            .held
            .store(held.saturating_sub(1), Ordering::Relaxed);
        let held_bytes = figures.held_bytes.load(Ordering::Relaxed);
        figures
            .held_bytes
            .store(held_bytes.saturating_sub(bytes), Ordering::Relaxed);
    }
}

/// What a return that did not fit the fast path needs.
pub(crate) enum Refused {
    /// Over the reservation: the slow path grows it or makes room.
    Reservation(Shelved),
    /// The shelf has [`MAX_SHELVED`] buffers: the slow path moves the oldest out.
    Full(Shelved),
}

impl Shelf {
    pub(crate) fn new(epoch: u64) -> Self {
        Self {
            recent: ShelfList::new(),
            victims: ShelfList::new(),
            held: 0,
            reserved: 0,
            epoch,
            spilled: false,
        }
    }

    /// Bytes on the shelf.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Whether the shelf has as many buffers as it keeps (victims aside).
    pub(crate) fn is_full(&self) -> bool {
        self.recent.is_full()
    }

    /// How many buffers, and how many bytes of them, a get that missed may bring from a
    /// depot to keep here for the gets after it: none unless the shelf spilled (its thread
    /// holds more buffers than it keeps); then as many as it has room for within its
    /// reservation, which they need not grow.
    pub(crate) fn room_to_refill(&self) -> (usize, usize) {
        if !self.spilled {
            return (0, 0);
        }
        (
            MAX_SHELVED - self.recent.len(),
            self.reserved.saturating_sub(self.held),
        )
    }

    /// Keeps a buffer brought from `class`'s depot, within
    /// [`room_to_refill`](Shelf::room_to_refill): not counted as returned (it was, when it
    /// first came back), and on top, so the next get takes it.
    /// Hands the buffer back if the shelf has no room for it after all.
    pub(crate) fn put_refilled(
        &mut self,
        class: usize,
        buf: Vec<u8>,
        published: &Published,
    ) -> Result<(), Vec<u8>> {
        let bytes = buf.capacity();
        if self.held.saturating_add(bytes) > self.reserved {
            return Err(buf);
        }
        self.recent
            .try_push(Shelved { class, buf })
            .map_err(|full| full.element().buf)?;
        self.held += bytes;
        published.shelve_class(class, bytes);
        Ok(())
    }

    // === the owner's fast path ===

    /// The newest buffer whose class is in `classes`, recent ones before victims, counted as
    /// reused in its class.
    #[inline]
    pub(crate) fn take(
        &mut self,
        classes: std::ops::RangeInclusive<usize>,
        published: &Published,
    ) -> Option<Shelved> {
        let (first, last) = (*classes.start(), *classes.end());
        let fits = |shelved: &Shelved| shelved.class >= first && shelved.class <= last;
        // The newest first, and without `remove`'s move of the entries behind it: a thread
        // that gets and returns one buffer at a time always finds it here.
        let shelved = match self.recent.last() {
            Some(newest) if fits(newest) => self.recent.pop()?,
            _ => Self::take_older(&mut self.recent, &mut self.victims, fits)?,
        };
        let bytes = shelved.buf.capacity();
        self.held = self.held.saturating_sub(bytes);
        published.unshelve_reused(shelved.class, bytes);
        Some(shelved)
    }

    /// The newest buffer that `fits` behind the newest of all, recent ones before victims.
    fn take_older(
        recent: &mut ShelfList,
        victims: &mut ShelfList,
        fits: impl Fn(&Shelved) -> bool,
    ) -> Option<Shelved> {
        if let Some(at) = recent.iter().rposition(&fits) {
            return Some(recent.remove(at));
        }
        let at = victims.iter().rposition(&fits)?;
        Some(victims.remove(at))
    }

    /// Keeps a (cleared) buffer if the reservation covers it and the shelf has room, counted
    /// as returned in its class.
    #[inline(always)]
    pub(crate) fn put(&mut self, shelved: Shelved, published: &Published) -> Result<(), Refused> {
        let (class, bytes) = (shelved.class, shelved.buf.capacity());
        if self.held.saturating_add(bytes) > self.reserved {
            return Err(Refused::Reservation(shelved));
        }
        if let Err(full) = self.recent.try_push(shelved) {
            return Err(Refused::Full(full.element()));
        }
        self.held += bytes;
        published.shelve_returned(class, bytes);
        Ok(())
    }

    /// Whether [`put_at_hand`](Shelf::put_at_hand) can keep a buffer of `bytes`: the
    /// reservation covers it and the shelf has room without growing.
    #[inline(always)]
    pub(crate) fn has_room_at_hand(&self, bytes: usize) -> bool {
        // `len() < MAX_SHELVED`, the very test `try_push` makes, so the compiler drops its
        // refusal from the fast path (`!is_full()` is `len() != MAX_SHELVED`, which it cannot
        // tell is the same).
        self.held.saturating_add(bytes) <= self.reserved && self.recent.len() < MAX_SHELVED
    }

    /// [`put`](Shelf::put) after [`has_room_at_hand`](Shelf::has_room_at_hand) said yes:
    /// the return's fast path, which allocates nothing and calls nothing.
    #[inline(always)]
    pub(crate) fn put_at_hand(&mut self, shelved: Shelved, published: &Published) {
        debug_assert!(self.has_room_at_hand(shelved.buf.capacity()));
        let refused = self.put(shelved, published);
        debug_assert!(refused.is_ok(), "the caller checked has_room_at_hand");
    }

    // === the owner's slow path ===

    /// Grows the reservation so that `bytes` more fit, within `cap`. False if the budget
    /// or the cap says no.
    pub(crate) fn reserve(
        &mut self,
        bytes: usize,
        cap: usize,
        depots: &Depots,
        published: &Published,
    ) -> bool {
        let need = self.held.saturating_add(bytes);
        if need <= self.reserved {
            return true;
        }
        if need > cap || !depots.grow_shelf(need - self.reserved) {
            return false;
        }
        self.reserved = need;
        published.reserved.store(need, Ordering::Relaxed);
        true
    }

    /// Moves the oldest buffer (a victim first) to its class's depot, with its share of the
    /// reservation. False if the shelf is empty.
    pub(crate) fn evict_oldest(&mut self, depots: &Depots, published: &Published) -> bool {
        let (shelved, victim) = if self.victims.is_empty() {
            if self.recent.is_empty() {
                return false;
            }
            (self.recent.remove(0), false)
        } else {
            (self.victims.remove(0), true)
        };
        self.send_to_depot(shelved, victim, depots, published);
        true
    }

    /// Moves the `count` oldest buffers (victims first) to their classes' depots, the
    /// recent ones in one pass: a thread that holds more buffers than a shelf keeps makes
    /// room once per `count` returns, not by shifting the shelf on every one.
    pub(crate) fn evict_oldest_many(
        &mut self,
        count: usize,
        depots: &Depots,
        published: &Published,
    ) {
        self.spilled = true;
        let mut left = count;
        while left > 0 && !self.victims.is_empty() {
            self.evict_oldest(depots, published);
            left -= 1;
        }
        // In batches of a quarter of a shelf, each in place (a whole shelf moved is 1 KiB).
        while left > 0 && !self.recent.is_empty() {
            let batch = left.min(self.recent.len()).min(MAX_SHELVED / 4);
            let leaving: Evicted = self.recent.drain(..batch).collect();
            for shelved in &leaving {
                self.give_up(shelved, published);
            }
            depots.take_reserved_many(leaving);
            left -= batch;
        }
    }

    /// Hands an evicted buffer to its class's depot with its share of the reservation.
    fn send_to_depot(
        &mut self,
        shelved: Shelved,
        victim: bool,
        depots: &Depots,
        published: &Published,
    ) {
        self.give_up(&shelved, published);
        depots.take_reserved(shelved, victim);
    }

    /// Accounts for `shelved` leaving for its depot with its share of the reservation.
    fn give_up(&mut self, shelved: &Shelved, published: &Published) {
        let bytes = shelved.buf.capacity();
        self.held = self.held.saturating_sub(bytes);
        self.reserved = self.reserved.saturating_sub(bytes);
        published.unshelve_class(shelved.class, bytes);
        published.reserved.store(self.reserved, Ordering::Relaxed);
    }

    // === aging, collecting, dropping: the cache lock is held ===

    /// Brings the shelf up to sweep `epoch`: victims go to `garbage` (their reservation back
    /// to the budget), and the recent buffers become the victims (or go too, if the shelf
    /// missed more than one sweep). The reservation shrinks to what is still held.
    pub(crate) fn age(
        &mut self,
        epoch: u64,
        depots: &Depots,
        published: &Published,
        garbage: &mut Vec<Shelved>,
    ) {
        let behind = epoch.saturating_sub(self.epoch);
        if behind == 0 {
            return;
        }
        let victims = mem::take(&mut self.victims);
        self.discard(victims, published, garbage);
        let recent = mem::take(&mut self.recent);
        if behind == 1 {
            self.victims = recent;
        } else {
            self.discard(recent, published, garbage);
        }
        depots.shrink_shelf(self.reserved.saturating_sub(self.held));
        self.reserved = self.held;
        published.reserved.store(self.reserved, Ordering::Relaxed);
        self.epoch = epoch;
        self.spilled = false;
    }

    fn discard(&mut self, list: ShelfList, published: &Published, garbage: &mut Vec<Shelved>) {
        for shelved in list {
            let bytes = shelved.buf.capacity();
            self.held = self.held.saturating_sub(bytes);
            published.unshelve_class(shelved.class, bytes);
            garbage.push(shelved);
        }
    }

    /// The owner's thread exited: every buffer goes to its class's depot (victims to the
    /// victim generation) with its share of the reservation; the rest goes back.
    pub(crate) fn flush(
        &mut self,
        epoch: u64,
        depots: &Depots,
        published: &Published,
        garbage: &mut Vec<Shelved>,
    ) {
        self.age(epoch, depots, published, garbage);
        while self.evict_oldest(depots, published) {}
        depots.shrink_shelf(self.reserved);
        self.reserved = 0;
        published.reserved.store(0, Ordering::Relaxed);
    }

    /// Everything to `garbage`, for a pool that is being dropped.
    pub(crate) fn drain(
        &mut self,
        depots: &Depots,
        published: &Published,
        garbage: &mut Vec<Shelved>,
    ) {
        let victims = mem::take(&mut self.victims);
        self.discard(victims, published, garbage);
        let recent = mem::take(&mut self.recent);
        self.discard(recent, published, garbage);
        depots.shrink_shelf(self.reserved);
        self.reserved = 0;
        published.reserved.store(0, Ordering::Relaxed);
    }

    /// Readies a collected (empty) shelf for a new thread.
    pub(crate) fn reuse(&mut self, epoch: u64) {
        debug_assert_eq!(self.held, 0, "a collected shelf is empty");
        self.epoch = epoch;
        self.spilled = false;
    }
}

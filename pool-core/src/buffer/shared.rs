//! The state every handle and guard of one [`BufferPool`](super::BufferPool) shares, and
//! the get and return paths: this thread's shelf first, the class depots next, a fresh
//! allocation last.
//!
//! Locks, in the order they may be taken: the cache lock (the list of shelves: claims,
//! sweeps, collecting exited threads' shelves, an owner aging its own shelf), then any one
//! class depot. An owner inside its shelf may take a depot lock, never the cache lock.
//! Buffers are plain `Vec<u8>`: dropping one runs no user code, but they are still dropped
//! after the locks are released, so no lock is held while memory is freed.

use super::calibrate::{Calibration, Calibrator};
use super::classes::Classes;
use super::depot::{Depots, Dropped, Refill};
use super::shelf::{MAX_SHELVED, Published, Refused, Shelf, Shelved};
use super::stats::{BufferStats, ClassStats};
use crate::reset::ZeroFill;
use crate::stats::{Counter, Discarded, Stats};
use crate::sweeping::Sweeping;
use crate::sync::{AtomicUsize, Ordering};
use crate::thread_cache::{CacheList, Mine, Owner, ThreadCache, ThreadCaches};
use std::mem;

type Shelves = CacheList<Shelf, Published>;
type MyShelf<'a> = Mine<'a, Shelf, Published>;
type MyOwner<'a> = Owner<'a, Shelf, Published>;

/// Events counted for one class (or, at index `count`, for requests beyond the top class
/// and buffers that fit no class), off the shelves' hot path.
#[derive(Debug, Default)]
pub(crate) struct ClassCounters {
    pub(crate) requests: Counter,
    pub(crate) created: Counter,
    pub(crate) prefilled: Counter,
    pub(crate) reused: Counter,
    pub(crate) returned: Counter,
    pub(crate) adopted: Counter,
    pub(crate) moved_in: Counter,
    pub(crate) moved_out: Counter,
    pub(crate) detached: Counter,
    pub(crate) over_limit: Counter,
    pub(crate) too_large: Counter,
    pub(crate) too_small: Counter,
    pub(crate) panicked: Counter,
    pub(crate) aged_out: Counter,
}

/// The builder's choices, fixed for the pool's life.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// The most bytes one thread's shelf holds; 0: no shelves.
    pub(crate) thread_bytes: usize,
    /// How many bigger classes a request may take an idle buffer from.
    pub(crate) borrow: usize,
    pub(crate) zero_on_return: bool,
    pub(crate) auto_calibrate: bool,
    /// After a sweep frees much, ask the allocator to return free memory to the system.
    pub(crate) trim_on_sweep: bool,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) classes: Classes,
    depots: Depots,
    shelves: ThreadCaches<Shelf, Published>,
    /// Per class, then one for what lies beyond the classes.
    counters: Box<[ClassCounters]>,
    sweeps: Counter,
    /// Returns with more capacity than this are dropped: the top class, or calibrated.
    keep_max: AtomicUsize,
    pub(crate) settings: Settings,
    calibrator: Calibrator,
    /// Sweeps between taking the cache lock and dropping their garbage (see `close`).
    sweeping: Sweeping,
}

/// A sweep that freed at least this much asks the allocator to give free memory back to
/// the system (see `trim.rs`).
const TRIM_AFTER_FREEING: usize = 1 << 20;

/// A detached guard's origin: its buffer left the pool for good.
pub(crate) const DETACHED: usize = usize::MAX;

impl Shared {
    pub(crate) fn new(classes: Classes, max_idle_bytes: usize, settings: Settings) -> Self {
        let count = classes.count();
        Self {
            depots: Depots::new(count, max_idle_bytes),
            shelves: ThreadCaches::new(),
            counters: (0..=count).map(|_| ClassCounters::default()).collect(),
            sweeps: Counter::default(),
            keep_max: AtomicUsize::new(classes.top()),
            calibrator: Calibrator::new(count),
            classes,
            settings,
            sweeping: Sweeping::new(),
        }
    }

    /// The row for requests beyond the top class and buffers that fit no class.
    fn beyond(&self) -> usize {
        self.classes.count()
    }

    /// The classes a request for `class` may be served from: its own and up to `borrow`
    /// bigger ones. The shelf gives the newest buffer among them (warm in this CPU's cache);
    /// the depots, the smallest (so big buffers stay free for big requests).
    #[inline]
    fn servers(&self, class: usize) -> std::ops::RangeInclusive<usize> {
        class
            ..=class
                .saturating_add(self.settings.borrow)
                .min(self.classes.count() - 1)
    }

    // === the get path ===

    /// A buffer for a request of `len` bytes, and the class it came from.
    #[inline(always)]
    pub(crate) fn take(&self, len: usize) -> (Vec<u8>, usize) {
        let class = self.classes.for_request(len);
        if class == self.beyond() {
            // Allocate first: a length past `isize::MAX` panics here, and a request that got
            // nothing must not be counted as served.
            let buf = Vec::with_capacity(len);
            let counters = &self.counters[class];
            counters.requests.bump();
            counters.created.bump();
            return (buf, class);
        }
        if let Some(mine) = self.shelves.memoised()
            && let Some(mut owner) = mine.enter()
        {
            let (shelf, published) = owner.parts();
            published.requested(class);
            if let Some(shelved) = shelf.take(self.servers(class), published) {
                return shelved.lend();
            }
            return self.take_past_shelf(class, owner);
        }
        self.take_slow(class, false)
    }

    /// A get this thread's shelf cannot serve: the depots next, without looking the shelf up
    /// again (a thread holding more buffers than its shelf keeps comes here on every get
    /// past the shelf). If the shelf spilled, one trip to a depot brings back several
    /// buffers, the rest kept on the shelf for the gets after this one.
    #[inline(never)]
    fn take_past_shelf(&self, class: usize, mut owner: MyOwner<'_>) -> (Vec<u8>, usize) {
        let (shelf, published) = owner.parts();
        let (count, bytes) = shelf.room_to_refill();
        if count > 0 {
            for server in self.servers(class) {
                let mut taken = self
                    .depots
                    .take_many(server, count.saturating_add(1), bytes);
                if taken.is_empty() {
                    continue;
                }
                let first = taken.remove(0);
                // Newest first: the next newest goes on top, for the next get.
                let mut left_over = Refill::new();
                for buf in taken.into_iter().rev() {
                    if let Err(buf) = shelf.put_refilled(server, buf, published) {
                        left_over.push(buf);
                    }
                }
                drop(owner);
                let counters = &self.counters[server];
                counters.reused.bump();
                // `room_to_refill` bounds the trip, so the shelf has room for all of them; if
                // it ever had not, the rest are dropped here, outside the shelf, and counted.
                debug_assert!(left_over.is_empty(), "the shelf has room for the refill");
                for _ in &left_over {
                    counters.over_limit.bump();
                }
                drop(left_over);
                return (first, server);
            }
        }
        drop(owner);
        if let Some(found) = self.take_from_depots(class) {
            return found;
        }
        self.take_slow(class, true)
    }

    /// An idle buffer from the depots of the classes that can serve `class`.
    fn take_from_depots(&self, class: usize) -> Option<(Vec<u8>, usize)> {
        for server in self.servers(class) {
            if let Some(buf) = self.depots.take(server) {
                self.counters[server].reused.bump();
                return Some((buf, server));
            }
        }
        None
    }

    #[cold]
    fn take_slow(&self, class: usize, mut counted: bool) -> (Vec<u8>, usize) {
        let mut garbage = Vec::new();
        let mut collected = false;
        loop {
            if let Some(mine) = self.mine(&mut garbage) {
                let Some(mut owner) = mine.enter() else {
                    self.age_own(&mine, &mut garbage);
                    continue;
                };
                let (shelf, published) = owner.parts();
                if !counted {
                    published.requested(class);
                    counted = true;
                }
                if let Some(shelved) = shelf.take(self.servers(class), published) {
                    Self::dispose(garbage);
                    return shelved.lend();
                }
            } else if !counted {
                self.counters[class].requests.bump();
                counted = true;
            }
            if let Some(found) = self.take_from_depots(class) {
                Self::dispose(garbage);
                return found;
            }
            if collected || !self.shelves.exits_pending() {
                break;
            }
            // Threads exited: their shelves may hold what we need.
            collected = true;
            self.collect_exited(&mut self.shelves.lock(), &mut garbage);
        }
        Self::dispose(garbage);
        self.counters[class].created.bump();
        (Vec::with_capacity(self.classes.size(class)), class)
    }

    // === the return path ===

    /// Takes back the buffer of a guard that got it from class `origin`: keeps it in the
    /// class of its capacity now, or leaves it in the guard to be dropped (after this
    /// returns: no memory is freed inside the shelf or a lock), counting either way. Returns
    /// whether it was kept.
    ///
    /// Out of line, called from the guard's inlined `drop` with the buffer in place: the
    /// buffer stays in the guard until it is kept, so no path moves the guard, and the paths
    /// after this one take it by reference, in a register. The usual return (no zeroing, no
    /// unwinding, back in the class it came from, the shelf has room) calls nothing; every
    /// other case goes, in tail position, to an out-of-line path.
    ///
    /// `unwinding` is `std::thread::panicking()`, asked by the guard's drop: its slow half is
    /// a call, which here would make every return save registers.
    #[inline(never)]
    pub(crate) fn give_back_from_guard(
        &self,
        buf: &mut Vec<u8>,
        origin: usize,
        unwinding: bool,
    ) -> bool {
        if origin == DETACHED {
            return false;
        }
        if self.settings.zero_on_return || unwinding {
            return self.give_back_with_care(buf, origin, unwinding);
        }
        // The usual case: back with the capacity its class gave it. A buffer that grew, or
        // came in through `put` with another capacity, is classified again, out of line.
        let capacity = buf.capacity();
        if self.classes.has_size(origin, capacity)
            && capacity <= self.keep_max.load(Ordering::Relaxed)
        {
            return self.keep_at_hand(buf, origin);
        }
        self.keep_reclassified(buf, origin)
    }

    /// [`give_back_from_guard`](Shared::give_back_from_guard) for a pool that zeroes
    /// buffers or a thread that is unwinding. Zeroing comes first, so a buffer's bytes reach
    /// neither the next user nor the allocator, whether it is kept or dropped (a panic, a
    /// limit).
    #[inline(never)]
    fn give_back_with_care(&self, buf: &mut Vec<u8>, origin: usize, unwinding: bool) -> bool {
        self.zero_if_asked(buf);
        if unwinding {
            // Dropped by unwinding: its contents cannot be trusted to be complete, and a
            // plain byte buffer is cheap to make again.
            self.counters[origin].panicked.bump();
            return false;
        }
        self.keep_reclassified(buf, origin)
    }

    /// With `zero_on_return`, zeroes a buffer coming back from a user before anything else
    /// happens to it.
    fn zero_if_asked(&self, buf: &mut Vec<u8>) {
        if self.settings.zero_on_return {
            buf.zero_fill();
        }
    }

    /// Makes room for `additional` more bytes in a lent buffer, for the guards' writers. With
    /// `zero_on_return`, a buffer that must grow moves to a bigger block, and its old block
    /// is zeroed before it is freed: `Vec`'s own growth would free it with the user's bytes
    /// in it. Otherwise the write's own growth does.
    #[inline]
    pub(crate) fn make_room(&self, buf: &mut Vec<u8>, additional: usize) {
        if self.settings.zero_on_return && additional > buf.capacity() - buf.len() {
            Self::grow_wiping(buf, additional);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow_wiping(buf: &mut Vec<u8>, additional: usize) {
        let needed = buf
            .len()
            .checked_add(additional)
            .expect("capacity overflow");
        // At least doubled, as `Vec` grows, so a run of small writes moves the data only a
        // few times.
        let mut grown = Vec::with_capacity(needed.max(buf.capacity().saturating_mul(2)));
        grown.extend_from_slice(buf);
        let mut old = mem::replace(buf, grown);
        old.zero_fill();
    }

    /// Keeps `buf` (zeroed already if the pool zeroes), counted in class `origin` (the one
    /// `put` or `prefill` counted it in), in the class of its capacity now, or drops it,
    /// counting either way. Returns whether it was kept. A buffer handed in by `put` or made
    /// by `prefill` is whole, so it is kept even while the thread unwinds (a `Drop` giving
    /// buffers back during a panic).
    fn keep(&self, mut buf: Vec<u8>, origin: usize) -> bool {
        self.keep_reclassified(&mut buf, origin)
    }

    /// Keeps `buf` (taking it, and leaving an empty `Vec`) in the class of its capacity, or
    /// leaves it where it is if no class keeps it, counting either way in class `origin`.
    #[inline(never)]
    fn keep_reclassified(&self, buf: &mut Vec<u8>, origin: usize) -> bool {
        let capacity = buf.capacity();
        if capacity > self.keep_max.load(Ordering::Relaxed) {
            self.counters[origin].too_large.bump();
            return false;
        }
        let Some(class) = self.classes.for_capacity(capacity) else {
            self.counters[origin].too_small.bump();
            return false;
        };
        if class != origin {
            self.counters[origin].moved_out.bump();
            self.counters[class].moved_in.bump();
        }
        self.keep_at_hand(buf, class)
    }

    /// Keeps `buf` (taking it) in `class`, its capacity's: on this thread's shelf, else in
    /// the class's depot.
    #[inline(always)]
    fn keep_at_hand(&self, buf: &mut Vec<u8>, class: usize) -> bool {
        if let Some(mine) = self.shelves.memoised()
            && let Some(mut owner) = mine.enter()
        {
            let (shelf, published) = owner.parts();
            if shelf.has_room_at_hand(buf.capacity()) {
                buf.clear();
                shelf.put_at_hand(
                    Shelved {
                        class,
                        buf: mem::take(buf),
                    },
                    published,
                );
                return true;
            }
            return self.keep_making_room(buf, class, owner);
        }
        self.keep_taken(buf, class)
    }

    /// [`keep_slow`](Shared::keep_slow) for a buffer still in its guard.
    #[inline(never)]
    fn keep_taken(&self, buf: &mut Vec<u8>, class: usize) -> bool {
        buf.clear();
        self.keep_slow(Shelved {
            class,
            buf: mem::take(buf),
        })
    }

    /// A return the shelf refused for room (the thread holds more buffers than its shelf
    /// keeps) or for its reservation: inside the shelf the fast path entered, the oldest
    /// buffers go to their classes' depots until this one fits the shelf and the thread's
    /// cap, and the reservation grows by what it needs. What still does not fit goes the
    /// slow way.
    #[cold]
    #[inline(never)]
    fn keep_making_room(&self, buf: &mut Vec<u8>, class: usize, mut owner: MyOwner<'_>) -> bool {
        buf.clear();
        let shelved = Shelved {
            class,
            buf: mem::take(buf),
        };
        let (shelf, published) = owner.parts();
        let bytes = shelved.buf.capacity();
        let cap = self.settings.thread_bytes;
        if bytes <= cap {
            if shelf.is_full() {
                // A quarter at once: the returns after this one find room.
                shelf.evict_oldest_many(MAX_SHELVED / 4, &self.depots, published);
            }
            while shelf.held().saturating_add(bytes) > cap
                && shelf.evict_oldest(&self.depots, published)
            {}
            if shelf.reserve(bytes, cap, &self.depots, published) {
                match shelf.put(shelved, published) {
                    Ok(()) => return true,
                    Err(Refused::Reservation(back) | Refused::Full(back)) => {
                        drop(owner);
                        return self.keep_slow(back);
                    }
                }
            }
        }
        drop(owner);
        self.keep_slow(shelved)
    }

    /// Keeps a buffer the fast path could not: on this thread's shelf (after aging it, making
    /// room or growing its reservation), else in its class's depot. If the budget refuses it
    /// and threads have exited, their shelves (and the reservations they hold) are collected
    /// first and it is tried once more, as a get does. Returns whether it was kept; a refused
    /// buffer is counted as over the limit and dropped here, after every lock is released.
    #[cold]
    fn keep_slow(&self, mut shelved: Shelved) -> bool {
        let mut garbage = Vec::new();
        let mut dropped = Dropped::default();
        let mut collected = false;
        let refused = loop {
            match self.try_keep_slow(shelved, &mut garbage, &mut dropped) {
                Ok(()) => break None,
                Err(refused) if !collected && self.shelves.exits_pending() => {
                    collected = true;
                    self.collect_exited(&mut self.shelves.lock(), &mut garbage);
                    shelved = refused;
                }
                Err(refused) => break Some(refused),
            }
        };
        for victim in &dropped.aged_out {
            self.counters[victim.class].aged_out.bump();
        }
        garbage.extend(dropped.aged_out);
        let kept = match refused {
            None => true,
            Some(refused) => {
                self.counters[refused.class].over_limit.bump();
                garbage.push(refused);
                false
            }
        };
        Self::dispose(garbage);
        kept
    }

    /// One try of [`keep_slow`](Shared::keep_slow): the buffer back if neither this thread's
    /// shelf nor the depot can take it.
    fn try_keep_slow(
        &self,
        mut shelved: Shelved,
        garbage: &mut Vec<Shelved>,
        dropped: &mut Dropped,
    ) -> Result<(), Shelved> {
        let cap = self.settings.thread_bytes;
        loop {
            let Some(mine) = self.mine(garbage) else {
                return self.keep_in_depot(shelved, dropped);
            };
            let Some(mut owner) = mine.enter() else {
                self.age_own(&mine, garbage);
                continue;
            };
            let (shelf, published) = owner.parts();
            let bytes = shelved.buf.capacity();
            if bytes > cap {
                drop(owner);
                return self.keep_in_depot(shelved, dropped);
            }
            match shelf.put(shelved, published) {
                Ok(()) => return Ok(()),
                Err(Refused::Full(back)) => {
                    shelf.evict_oldest_many(1, &self.depots, published);
                    shelved = back;
                }
                Err(Refused::Reservation(back)) => {
                    // Make room within the thread's cap, oldest first, then grow the
                    // reservation; if the budget is spent, the depot may still make room.
                    while shelf.held().saturating_add(bytes) > cap
                        && shelf.evict_oldest(&self.depots, published)
                    {}
                    if !shelf.reserve(bytes, cap, &self.depots, published) {
                        drop(owner);
                        return self.keep_in_depot(back, dropped);
                    }
                    shelved = back;
                }
            }
        }
    }

    /// Keeps a buffer in its class's depot without a thread's reservation (counted as
    /// returned), or hands it back if the budget has no room.
    fn keep_in_depot(&self, shelved: Shelved, dropped: &mut Dropped) -> Result<(), Shelved> {
        let class = shelved.class;
        self.depots.keep(shelved, dropped)?;
        self.counters[class].returned.bump();
        Ok(())
    }

    /// Counts a buffer taken out of the pool for good.
    pub(crate) fn detach(&self, origin: usize) {
        if origin != DETACHED {
            self.counters[origin].detached.bump();
        }
    }

    /// Takes a buffer made elsewhere: counted as adopted in the class of its capacity (or
    /// in the row beyond the classes, and dropped, if it fits none).
    pub(crate) fn adopt(&self, mut buf: Vec<u8>) -> bool {
        self.zero_if_asked(&mut buf);
        let row = self
            .classes
            .for_capacity(buf.capacity())
            .filter(|_| buf.capacity() <= self.keep_max.load(Ordering::Relaxed))
            .unwrap_or(self.beyond());
        self.counters[row].adopted.bump();
        self.keep(buf, row)
    }

    /// Makes a buffer of class `class` (counted as created and prefilled there) and keeps
    /// it.
    pub(crate) fn prefill_one(&self, class: usize) -> bool {
        self.counters[class].created.bump();
        self.counters[class].prefilled.bump();
        // Fresh: no user's bytes to zero.
        self.keep(Vec::with_capacity(self.classes.size(class)), class)
    }

    // === shelves ===

    /// The calling thread's shelf, claiming one if it has none. `None` if shelves are off,
    /// the thread is tearing down, or the pool is being dropped.
    fn mine(&self, garbage: &mut Vec<Shelved>) -> Option<MyShelf<'_>> {
        if self.settings.thread_bytes == 0 {
            return None;
        }
        let count = self.classes.count();
        self.shelves.mine(
            |shelves| {
                if self.shelves.exits_pending() {
                    self.collect_exited(shelves, garbage);
                }
            },
            |shelf, _, epoch| shelf.reuse(epoch),
            |epoch| ThreadCache::new(Shelf::new(epoch), Published::new(count)),
        )
    }

    /// Moves exited threads' shelves to the depots (the caller holds the cache lock), and
    /// counts what aged out on the way: only what this call added to `garbage`, which a slow
    /// path may already have filled (and counted) on an earlier turn of its loop.
    fn collect_exited(&self, shelves: &mut Shelves, garbage: &mut Vec<Shelved>) {
        let start = garbage.len();
        shelves.collect_exited(|shelf, published, epoch| {
            shelf.flush(epoch, &self.depots, published, garbage);
        });
        self.count_aged_out(&garbage[start..]);
    }

    /// The owner, whose shelf a sweep marked, ages it under the cache lock.
    fn age_own(&self, mine: &MyShelf<'_>, garbage: &mut Vec<Shelved>) {
        let start = garbage.len();
        self.shelves.lock().own(mine, |shelf, published, epoch| {
            shelf.age(epoch, &self.depots, published, garbage);
        });
        self.count_aged_out(&garbage[start..]);
    }

    fn count_aged_out(&self, aged: &[Shelved]) {
        for shelved in aged {
            self.counters[shelved.class].aged_out.bump();
        }
    }

    /// Frees buffers, with no lock held: the smallest first, so glibc gives back more of its
    /// arenas (`trim.rs` says why).
    fn dispose(mut garbage: Vec<Shelved>) {
        garbage.sort_unstable_by_key(|shelved| shelved.buf.capacity());
        drop(garbage);
    }

    // === sweeps, calibration, statistics, drop ===

    /// One aging cycle: every shelf (reclaimed here if its owner is out) and every class
    /// depot drop their victims and turn what they hold into victims; then, with automatic
    /// calibration on, a calibration.
    pub(crate) fn sweep(&self) {
        let mut garbage = Vec::new();
        let in_flight = {
            let mut shelves = self.shelves.lock();
            if shelves.is_closed() {
                return;
            }
            let in_flight = self.sweeping.start();
            if self.shelves.exits_pending() {
                self.collect_exited(&mut shelves, &mut garbage);
            }
            let start = garbage.len();
            shelves.sweep(|shelf, published, epoch| {
                shelf.age(epoch, &self.depots, published, &mut garbage);
            });
            let mut dropped = Dropped::default();
            self.depots.rotate(&mut dropped);
            garbage.extend(dropped.aged_out);
            self.count_aged_out(&garbage[start..]);
            in_flight
        };
        self.sweeps.bump();
        let freed: usize = garbage.iter().map(|shelved| shelved.buf.capacity()).sum();
        Self::dispose(garbage);
        drop(in_flight);
        if self.settings.trim_on_sweep && freed >= TRIM_AFTER_FREEING {
            super::trim::release_free_memory();
        }
        if self.settings.auto_calibrate {
            self.calibrate(true);
        }
    }

    /// Requests so far, per class, then beyond the top.
    fn requests(&self) -> Vec<u64> {
        let shelves = self.shelves.lock();
        let mut requests: Vec<u64> = self.counters.iter().map(|c| c.requests.get()).collect();
        for published in shelves.published() {
            for (count, figures) in requests.iter_mut().zip(published.classes.iter()) {
                *count = count.saturating_add(figures.requests.get());
            }
        }
        requests
    }

    pub(crate) fn calibrate(&self, apply: bool) -> Calibration {
        self.calibrator.calibrate(
            self.classes.sizes(),
            || self.requests(),
            apply,
            |max_size| self.keep_max.store(max_size, Ordering::Relaxed),
        )
    }

    pub(crate) fn stats(&self) -> BufferStats {
        let count = self.classes.count();
        // The cache lock, then every class depot's: buffers move between a depot and a
        // thread's cache only under the class's lock, so none is counted in both (which
        // could show more idle bytes than `max_idle_bytes`) while these are held.
        let shelves = self.shelves.lock();
        let depots = self.depots.lock_all();
        let mut rows: Vec<ClassStats> = (0..=count)
            .map(|class| {
                let c = &self.counters[class];
                let (idle, idle_bytes) = if class < count {
                    self.depots.held(class)
                } else {
                    (0, 0)
                };
                ClassStats {
                    capacity: if class < count {
                        self.classes.size(class)
                    } else {
                        0
                    },
                    requests: c.requests.get(),
                    created: c.created.get(),
                    prefilled: c.prefilled.get(),
                    reused: c.reused.get(),
                    returned: c.returned.get(),
                    adopted: c.adopted.get(),
                    moved_in: c.moved_in.get(),
                    moved_out: c.moved_out.get(),
                    detached: c.detached.get(),
                    discarded: Discarded {
                        over_limit: c.over_limit.get(),
                        too_large: c.too_large.get(),
                        panicked: c.panicked.get(),
                        aged_out: c.aged_out.get(),
                        too_small: c.too_small.get(),
                    },
                    idle,
                    idle_bytes,
                }
            })
            .collect();
        // A shelf's class figures are read one by one while its owner works without a lock,
        // so a buffer that changed class (taken from one, returned to another after growing)
        // can be read in both. What the shelf holds never exceeds its reservation. While the
        // snapshot holds the depots' locks, a reservation grows only from budget no one holds,
        // and shrinks only by a buffer leaving for a depot, whose share stays with it until
        // the depot takes it: so each shelf counts in the totals for at most its reservation,
        // and the totals' bytes never read above `max_idle_bytes`.
        let mut idle = (0usize, 0usize);
        for row in &rows {
            idle = (idle.0 + row.idle, idle.1.saturating_add(row.idle_bytes));
        }
        let (mut shelved_bytes, mut shelves_owned) = (0usize, 0usize);
        {
            for published in shelves.published() {
                let reserved = published.reserved.load(Ordering::Relaxed);
                shelves_owned += usize::from(reserved > 0);
                let mut shelf = (0usize, 0usize);
                for (row, figures) in rows.iter_mut().zip(published.classes.iter()) {
                    row.requests = row.requests.saturating_add(figures.requests.get());
                    row.reused = row.reused.saturating_add(figures.reused.get());
                    row.returned = row.returned.saturating_add(figures.returned.get());
                    let held = figures.held.load(Ordering::Relaxed);
                    let held_bytes = figures.held_bytes.load(Ordering::Relaxed);
                    row.idle = row.idle.saturating_add(held);
                    row.idle_bytes = row.idle_bytes.saturating_add(held_bytes);
                    shelf = (shelf.0 + held, shelf.1.saturating_add(held_bytes));
                }
                let shelf_bytes = shelf.1.min(reserved);
                idle = (idle.0 + shelf.0, idle.1.saturating_add(shelf_bytes));
                shelved_bytes = shelved_bytes.saturating_add(shelf_bytes);
            }
        }
        drop(depots);
        drop(shelves);
        let unpooled = rows.pop().unwrap_or_default();
        let mut total = Stats {
            sweeps: self.sweeps.get(),
            ..Stats::default()
        };
        for row in rows.iter().chain([&unpooled]) {
            total.created += row.created;
            total.prefilled += row.prefilled;
            total.reused += row.reused;
            total.returned += row.returned;
            total.adopted += row.adopted;
            total.detached += row.detached;
            total.discarded.over_limit += row.discarded.over_limit;
            total.discarded.too_large += row.discarded.too_large;
            total.discarded.panicked += row.discarded.panicked;
            total.discarded.aged_out += row.discarded.aged_out;
            total.discarded.too_small += row.discarded.too_small;
        }
        (total.idle, total.idle_bytes) = idle;
        let (_, shelved_peak) = self.depots.shelves_reserved();
        BufferStats {
            total,
            classes: rows,
            unpooled,
            thread_cached_bytes: shelved_bytes,
            thread_cached_peak: shelved_peak,
            thread_caches: shelves_owned,
            thread_cache_limit: self.settings.thread_bytes,
            keep_max: self.keep_max.load(Ordering::Relaxed),
        }
    }

    /// Frees every idle buffer before returning, waiting for an aging-thread sweep that is
    /// freeing some right now.
    ///
    /// # Safety
    ///
    /// Only the last handle's `Drop` may call this: no handle or guard exists then, so no
    /// owner is inside its shelf.
    pub(crate) unsafe fn close(&self) {
        let mut garbage = Vec::new();
        {
            let mut shelves = self.shelves.lock();
            // SAFETY: the caller's contract.
            unsafe {
                shelves
                    .close(|shelf, published| shelf.drain(&self.depots, published, &mut garbage));
            }
            let mut dropped = Dropped::default();
            self.depots.drain(&mut dropped);
            garbage.extend(dropped.aged_out);
        }
        self.sweeping.wait_for_others();
        Self::dispose(garbage);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: `Shared` is dropped when the last `Arc` goes: every handle and guard is
        // gone (the aging thread holds only a `Weak`), so no owner is inside its shelf.
        unsafe { self.close() };
    }
}

impl crate::aging::Sweep for Shared {
    fn sweep(&self) {
        Shared::sweep(self);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::limits::UNLIMITED;

    #[test]
    fn collecting_exited_shelves_counts_only_what_it_ages_out() {
        let shared = Shared::new(
            Classes::new(vec![4096]),
            UNLIMITED,
            Settings {
                thread_bytes: 1 << 20,
                borrow: 0,
                zero_on_return: false,
                auto_calibrate: false,
                trim_on_sweep: false,
            },
        );
        // A slow path's garbage from an earlier turn of its loop (an owner that aged its own
        // shelf), already counted there.
        let mut garbage = vec![Shelved {
            class: 0,
            buf: Vec::with_capacity(4096),
        }];
        shared.collect_exited(&mut shared.shelves.lock(), &mut garbage);
        assert_eq!(
            shared.counters[0].aged_out.get(),
            0,
            "a buffer aged out earlier is not counted again"
        );
        assert_eq!(garbage.len(), 1);
    }
}

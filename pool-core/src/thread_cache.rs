//! A thread cache and the handshake that lets other threads reclaim it.
//!
//! Each thread that uses a pool gets a [`ThreadCache`]: state that only its owner touches on
//! the hot path, with no lock and no atomic read-modify-write. A sweep must still be able to
//! take a quiet thread's idle objects, or memory held by threads that stopped calling the
//! pool would never fall back. So each cache carries two flags:
//!
//! - `active`, stored by the owner around every access (`true` before, `false` after, with
//!   `Release`): plain stores, no read-modify-write;
//! - `mark`, stored by a sweep (`STALE`) and cleared under the pool's cache lock.
//!
//! The owner enters with: store `active = true`; [`barrier::light`]; load `mark`. If the
//! mark is clear, the state is the owner's until it stores `active = false`. A reclaimer,
//! holding the cache lock, stores `mark = STALE` on every cache, runs [`barrier::heavy`]
//! once, and then loads each `active`: if it reads `false`, the owner is out and cannot get
//! back in without seeing the mark (the barrier pair makes "owner saw no mark" and
//! "reclaimer saw the owner out" mutually exclusive, Dekker-style), so the reclaimer owns
//! the state until it clears the mark with `Release`. An owner that finds the mark set
//! backs out and ages its own cache under the cache lock, where no reclaimer can be.
//!
//! So the state is touched by exactly one party at a time: the owner inside
//! [`Mine::enter`]'s guard, the owner holding the cache lock, a reclaimer holding the cache
//! lock that saw the owner out after the barrier, a collector holding the cache lock after
//! the owner's thread exited, or the pool's `Drop`, which borrows everything. Every
//! `unsafe` for the state is in this file.
//!
//! Where the heavy barrier is not available ([`barrier::heavy`] says so), reclaimers only
//! mark caches, and live owners age their own on their next call.

use crate::barrier;
use crate::registry;
use crate::sync::{
    Arc, AtomicBool, AtomicU8, AtomicUsize, Mutex, MutexGuard, Ordering, UnsafeCell, lock,
};
use crossbeam_utils::CachePadded;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

const CLEAR: u8 = 0;
const STALE: u8 = 1;

/// One thread's cache for one pool: the owner's state `S`, and what it publishes for
/// statistics, `P`, which any thread may read.
#[derive(Debug)]
pub(crate) struct ThreadCache<S, P> {
    /// The owner is working on `state` without a lock.
    active: AtomicBool,
    /// `STALE` once a sweep has asked for this cache; cleared under the cache lock.
    mark: AtomicU8,
    state: UnsafeCell<S>,
    published: P,
}

// SAFETY: `ThreadCache` is shared between its owner and reclaimers, and the protocol above
// gives `state` to one of them at a time, with a happens-before edge at each hand-over
// (`active` Release/Acquire, `mark` Release/Acquire, or the cache lock). Handing the state
// over moves the `S` between threads, hence `S: Send`; `P` is shared as is.
unsafe impl<S: Send, P: Sync> Sync for ThreadCache<S, P> {}

impl<S, P> ThreadCache<S, P> {
    pub(crate) fn new(state: S, published: P) -> Self {
        Self {
            active: AtomicBool::new(false),
            mark: AtomicU8::new(CLEAR),
            state: UnsafeCell::new(state),
            published,
        }
    }

    /// Runs `f` on the state and what this cache publishes, for a caller that has the
    /// state to itself by one of the rules in the module docs.
    ///
    /// # Safety
    ///
    /// No other access to the state may exist while `f` runs: the caller holds the cache
    /// lock and the cache is unowned, or its owner's thread exited, or its owner is this
    /// thread and is not inside it, or a reclaimer saw the owner out after the barrier;
    /// or the caller is the pool's `Drop`.
    pub(crate) unsafe fn with_exclusive<R>(&self, f: impl FnOnce(&mut S, &P) -> R) -> R {
        // SAFETY: the caller's contract above.
        let mut state = unsafe { Access::new(&self.state) };
        f(&mut state, &self.published)
    }
}

/// A cache the calling thread owns. Made only by the registry's lookup, which hands each
/// thread its own caches; not `Send`, so it cannot leave that thread.
pub(crate) struct Mine<'a, S, P> {
    cache: &'a ThreadCache<S, P>,
    _not_send: PhantomData<*const ()>,
}

impl<'a, S, P> Mine<'a, S, P> {
    /// # Safety
    ///
    /// The calling thread must own `cache`: it claimed it from the pool's cache list, and
    /// has not released it (its thread has not exited).
    pub(crate) unsafe fn new(cache: &'a ThreadCache<S, P>) -> Self {
        Self {
            cache,
            _not_send: PhantomData,
        }
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn cache(&self) -> &'a ThreadCache<S, P> {
        self.cache
    }

    /// Enters the cache without a lock. `None` if a sweep has marked it: then the owner
    /// ages it under the cache lock with [`CacheList::own`] and tries again.
    #[inline(always)]
    pub(crate) fn enter(&self) -> Option<Owner<'a, S, P>> {
        let cache = self.cache;
        cache.active.store(true, Ordering::Relaxed);
        barrier::light();
        if cache.mark.load(Ordering::Acquire) != CLEAR {
            cache.active.store(false, Ordering::Release);
            return None;
        }
        // From here the state is this owner's: this thread owns the cache (`Mine`'s
        // contract), is not already inside it (an `Owner` never lets user code run, so
        // there is no re-entry; the one exception, the global allocator called for the
        // pool's own bookkeeping, must not call into a pool, as the crate docs' Panics
        // section requires), and saw the mark clear after announcing itself, so no
        // reclaimer touches the state until `Owner`'s drop stores `active = false`.
        Some(Owner {
            cache,
            // SAFETY: the access is exclusive until `Owner`'s drop, as above.
            #[cfg(loom)]
            state: unsafe { Access::new(&cache.state) },
            _not_send: PhantomData,
        })
    }
}

/// The owner inside its cache. Whoever holds this must not run user code (no `Drop`,
/// `reset`, `init` or `retained_bytes` of the pooled type) until it is dropped: it moves
/// objects in and out and does arithmetic, nothing else.
///
/// It holds no `&mut` to the state (but under loom, whose tracked access must live
/// somewhere): [`parts`](Owner::parts) makes one per use. An `Owner` passed by value into a
/// function and dropped there must not leave a `&mut` argument alive, which Stacked Borrows
/// protects until that function returns: the function may enter the cache again after the
/// drop (a slow path), and miri reports the second `&mut` as undefined behaviour.
pub(crate) struct Owner<'a, S, P> {
    cache: &'a ThreadCache<S, P>,
    #[cfg(loom)]
    state: Access<'a, S>,
    _not_send: PhantomData<*const ()>,
}

impl<S, P> Owner<'_, S, P> {
    /// The state and the published figures together.
    #[inline(always)]
    pub(crate) fn parts(&mut self) -> (&mut S, &P) {
        #[cfg(not(loom))]
        // SAFETY: this owner entered the cache (`Mine::enter`), so no other access to the
        // state exists until its drop; the `&mut` borrows `self`, so two from one owner
        // cannot coexist either.
        let state = unsafe { &mut *self.cache.state.get_mut_ptr() };
        #[cfg(loom)]
        let state = &mut *self.state;
        (state, &self.cache.published)
    }
}

impl<S, P> Drop for Owner<'_, S, P> {
    #[inline(always)]
    fn drop(&mut self) {
        self.cache.active.store(false, Ordering::Release);
    }
}

/// Exclusive access to a cache's state for the life of the value.
pub(crate) struct Access<'a, S> {
    #[cfg(not(loom))]
    state: &'a mut S,
    /// Loom tracks the access for as long as this pointer lives.
    #[cfg(loom)]
    state: loom::cell::MutPtr<S>,
    #[cfg(loom)]
    _life: PhantomData<&'a mut S>,
}

impl<'a, S> Access<'a, S> {
    /// # Safety
    ///
    /// No other access to the cell's contents may exist while this one lives.
    #[inline(always)]
    unsafe fn new(cell: &'a UnsafeCell<S>) -> Self {
        #[cfg(not(loom))]
        {
            // SAFETY: the pointer is valid (it comes from a live cell) and, by the caller's
            // contract, unaliased for 'a.
            let state = unsafe { &mut *cell.get_mut_ptr() };
            Self { state }
        }
        #[cfg(loom)]
        {
            Self {
                state: cell.get_mut_ptr(),
                _life: PhantomData,
            }
        }
    }
}

impl<S> Deref for Access<'_, S> {
    type Target = S;

    #[inline(always)]
    fn deref(&self) -> &S {
        #[cfg(not(loom))]
        {
            self.state
        }
        // SAFETY: loom's pointer is valid and unaliased for this access's life (`new`).
        #[cfg(loom)]
        unsafe {
            self.state.deref()
        }
    }
}

impl<S> DerefMut for Access<'_, S> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut S {
        #[cfg(not(loom))]
        {
            self.state
        }
        // SAFETY: as in `deref`.
        #[cfg(loom)]
        unsafe {
            self.state.deref()
        }
    }
}

/// How a thread tells its caches that it has exited, without touching the pool: the
/// registry's destructor calls [`exit`](CacheLink::exit), and the pool collects the cache
/// (its objects and its reservation) on its next slow path or sweep.
#[derive(Debug)]
pub(crate) struct CacheLink {
    exited: AtomicBool,
    /// Set when the pool is dropped, so the registry can forget the entry.
    closed: AtomicBool,
    /// The pool's count of exited caches not yet collected.
    exits: Arc<AtomicUsize>,
}

impl CacheLink {
    fn new(exits: Arc<AtomicUsize>) -> Self {
        Self {
            exited: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            exits,
        }
    }

    /// The owning thread is exiting: hands the cache to the pool.
    pub(crate) fn exit(&self) {
        // Release: the owner's last writes to the state happen before the collector's
        // Acquire load of `exited`.
        self.exited.store(true, Ordering::Release);
        self.exits.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn has_exited(&self) -> bool {
        self.exited.load(Ordering::Acquire)
    }
}

struct Entry<S, P> {
    cache: Box<CachePadded<ThreadCache<S, P>>>,
    link: Arc<CacheLink>,
    /// A live thread owns the cache (until its exit is collected).
    owned: bool,
}

/// A pool's thread caches, behind the pool's cache lock (`&mut CacheList` proves it is
/// held). Caches are never freed before the list: a released cache waits, empty, for the
/// next thread, so the list grows with the threads alive at once, not with every thread
/// that ever used the pool.
pub(crate) struct CacheList<S, P> {
    entries: Vec<Entry<S, P>>,
    /// Sweeps so far: the epoch every cache ages to.
    epoch: u64,
    /// The pool is being dropped: nothing more is claimed or swept.
    closed: bool,
    exits: Arc<AtomicUsize>,
}

impl<S, P> std::fmt::Debug for CacheList<S, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheList")
            .field("caches", &self.entries.len())
            .field("epoch", &self.epoch)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// A cache just claimed by the calling thread.
pub(crate) struct Claimed<'a, S, P> {
    pub(crate) cache: &'a ThreadCache<S, P>,
    pub(crate) link: Arc<CacheLink>,
}

/// A pool's thread caches: the list behind the cache lock, the pool id the registry knows
/// them by, and the count of exits waiting to be collected (readable without the lock).
#[derive(Debug)]
pub(crate) struct ThreadCaches<S, P> {
    id: u64,
    list: Mutex<CacheList<S, P>>,
    exits: Arc<AtomicUsize>,
}

impl<S, P> ThreadCaches<S, P> {
    pub(crate) fn new() -> Self {
        let list = CacheList::new();
        Self {
            id: registry::next_pool_id(),
            exits: Arc::clone(&list.exits),
            list: Mutex::new(list),
        }
    }

    /// The id the registry knows this pool's caches by.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Takes the cache lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, CacheList<S, P>> {
        lock(&self.list)
    }

    /// Whether some thread has exited since its cache was last collected: a hint, read
    /// without the lock.
    pub(crate) fn exits_pending(&self) -> bool {
        self.exits.load(Ordering::Relaxed) > 0
    }

    /// The calling thread's cache, if the memo has it: the hot path.
    #[inline(always)]
    pub(crate) fn memoised(&self) -> Option<Mine<'_, S, P>> {
        // SAFETY: `self.id` names this list, whose caches are `ThreadCache<S, P>` and live
        // as long as `self`.
        unsafe { registry::mine(self.id) }
    }

    /// The calling thread's cache, claiming and registering one if it has none: `prepare`
    /// runs first under the cache lock (to collect exited threads' caches, say), `reuse`
    /// readies an unowned cache, `make` makes a new one. `None` if the thread is tearing
    /// down or the pool is being dropped.
    pub(crate) fn mine(
        &self,
        prepare: impl FnOnce(&mut CacheList<S, P>),
        reuse: impl FnOnce(&mut S, &P, u64),
        make: impl FnOnce(u64) -> ThreadCache<S, P>,
    ) -> Option<Mine<'_, S, P>> {
        // SAFETY: as in `memoised`.
        if let Some(mine) = unsafe { registry::find(self.id) } {
            return Some(mine);
        }
        let mut list = self.lock();
        prepare(&mut list);
        let claimed = list.claim(reuse, make)?;
        let cache: *const ThreadCache<S, P> = claimed.cache;
        if registry::register(self.id, NonNull::from(claimed.cache).cast(), claimed.link) {
            // SAFETY: this thread just claimed the cache and registered it as its own; the
            // cache lives as long as `self`.
            return Some(unsafe { Mine::new(&*cache) });
        }
        // SAFETY: the cache lives as long as `self`; only its address is used here.
        list.release(unsafe { &*cache });
        None
    }
}

impl<S, P> CacheList<S, P> {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
            epoch: 0,
            closed: false,
            exits: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// What every cache publishes.
    pub(crate) fn published(&self) -> impl Iterator<Item = &P> {
        self.entries.iter().map(|entry| &entry.cache.published)
    }

    /// Gives the calling thread a cache: an unowned one if there is one (after `reuse` has
    /// readied its state), else a new one made by `make`. `None` once the pool is closed.
    ///
    /// The caller must register the cache with this thread's registry, or
    /// [`release`](CacheList::release) it if it cannot.
    pub(crate) fn claim(
        &mut self,
        reuse: impl FnOnce(&mut S, &P, u64),
        make: impl FnOnce(u64) -> ThreadCache<S, P>,
    ) -> Option<Claimed<'_, S, P>> {
        if self.closed {
            return None;
        }
        let epoch = self.epoch;
        let index = if let Some(index) = self.entries.iter().position(|entry| !entry.owned) {
            {
                let entry = &mut self.entries[index];
                // SAFETY: the cache is unowned (its last owner's exit was collected, under
                // this lock), so nobody else touches it; we hold the lock (`&mut self`).
                unsafe {
                    entry
                        .cache
                        .with_exclusive(|state, published| reuse(state, published, epoch));
                }
                entry.cache.mark.store(CLEAR, Ordering::Relaxed);
                entry.link = Arc::new(CacheLink::new(Arc::clone(&self.exits)));
            }
            index
        } else {
            self.entries.push(Entry {
                cache: Box::new(CachePadded::new(make(epoch))),
                link: Arc::new(CacheLink::new(Arc::clone(&self.exits))),
                owned: false,
            });
            self.entries.len() - 1
        };
        let entry = &mut self.entries[index];
        entry.owned = true;
        Some(Claimed {
            cache: &entry.cache,
            link: Arc::clone(&entry.link),
        })
    }

    /// Takes back a cache its thread could not register (the thread is tearing down).
    pub(crate) fn release(&mut self, cache: &ThreadCache<S, P>) {
        if let Some(entry) = self.entry_of(cache) {
            entry.owned = false;
        }
    }

    fn entry_of(&mut self, cache: &ThreadCache<S, P>) -> Option<&mut Entry<S, P>> {
        self.entries.iter_mut().find(|entry| {
            std::ptr::eq(std::ptr::from_ref::<ThreadCache<S, P>>(&entry.cache), cache)
        })
    }

    /// The owner, holding the cache lock, works on its own cache (to age it after a
    /// sweep marked it), and clears the mark.
    pub(crate) fn own<R>(
        &mut self,
        mine: &Mine<'_, S, P>,
        f: impl FnOnce(&mut S, &P, u64) -> R,
    ) -> R {
        let cache = mine.cache;
        let epoch = self.epoch;
        // SAFETY: this thread owns the cache (`Mine`) and is not inside it (it backed out
        // of `enter`, or never entered), so no owner access exists; reclaimers and
        // collectors need the cache lock, which we hold (`&mut self`).
        let result = unsafe { cache.with_exclusive(|state, published| f(state, published, epoch)) };
        cache.mark.store(CLEAR, Ordering::Release);
        result
    }

    /// Collects the caches of threads that exited: `collect` empties each one (its state,
    /// what it publishes, the epoch), and the cache waits, unowned, for the next thread.
    pub(crate) fn collect_exited(&mut self, mut collect: impl FnMut(&mut S, &P, u64)) {
        let epoch = self.epoch;
        let mut collected = 0;
        for entry in &mut self.entries {
            if entry.owned && entry.link.has_exited() {
                // SAFETY: the owner's thread exited (Acquire above pairs with its Release
                // in `CacheLink::exit`, after its last access), so no owner access exists
                // or ever will; reclaimers and other collectors need the lock we hold.
                unsafe {
                    entry
                        .cache
                        .with_exclusive(|state, published| collect(state, published, epoch));
                }
                entry.cache.mark.store(CLEAR, Ordering::Relaxed);
                entry.owned = false;
                collected += 1;
            }
        }
        if collected > 0 {
            let exits = &self.exits;
            let mut current = exits.load(Ordering::Relaxed);
            while let Err(actual) = exits.compare_exchange_weak(
                current,
                current.saturating_sub(collected),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                current = actual;
            }
        }
    }

    /// One sweep of the thread caches: bumps the epoch, marks every owned cache, and
    /// reclaims (with `reclaim`, given the new epoch) each one whose owner is out. Owners
    /// that are in, or every owner when the heavy barrier is unavailable, age their own
    /// caches on their next call. Returns how many caches were reclaimed.
    pub(crate) fn sweep(&mut self, mut reclaim: impl FnMut(&mut S, &P, u64)) -> usize {
        if self.closed {
            return 0;
        }
        self.epoch += 1;
        let epoch = self.epoch;
        for entry in self.entries.iter().filter(|entry| entry.owned) {
            entry.cache.mark.store(STALE, Ordering::Relaxed);
        }
        if !barrier::heavy() {
            return 0;
        }
        let mut reclaimed = 0;
        for entry in self.entries.iter().filter(|entry| entry.owned) {
            let cache = &entry.cache;
            if cache.active.load(Ordering::Acquire) {
                continue; // the owner is in: it will see the mark and age itself
            }
            // SAFETY: we hold the cache lock, marked this cache and ran the heavy barrier,
            // and then saw its owner out (Acquire, pairing with the owner's Release on
            // leaving): the owner cannot get back in without seeing the mark, and will then
            // wait for the lock. Owner-under-lock and collectors need the lock too.
            unsafe { cache.with_exclusive(|state, published| reclaim(state, published, epoch)) };
            cache.mark.store(CLEAR, Ordering::Release);
            reclaimed += 1;
        }
        reclaimed
    }

    /// Closes the list for a pool that is being dropped and hands every cache's state to
    /// `drain`. Registry entries see the links closed and forget them.
    ///
    /// # Safety
    ///
    /// Only the pool's `Drop` may call this: no `&Pool` exists then, so no owner is inside
    /// its cache, and exiting threads' registries never touch caches.
    pub(crate) unsafe fn close(&mut self, mut drain: impl FnMut(&mut S, &P)) {
        self.closed = true;
        for entry in &mut self.entries {
            // SAFETY: the caller's contract: no owner access exists; reclaimers and
            // collectors need the lock we hold.
            unsafe { entry.cache.with_exclusive(&mut drain) };
            entry.link.closed.store(true, Ordering::Relaxed);
            entry.owned = false;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn list() -> CacheList<Vec<u32>, ()> {
        CacheList::new()
    }

    #[test]
    fn a_quiet_owner_is_reclaimed_and_sees_the_reclaim() {
        let mut caches = list();
        let claimed = caches
            .claim(|_, (), _| {}, |_| ThreadCache::new(vec![1, 2], ()))
            .unwrap();
        // SAFETY: this thread claimed it.
        let mine = unsafe { Mine::new(claimed.cache) };
        let cache: *const ThreadCache<Vec<u32>, ()> = mine.cache();
        let reclaimed = caches.sweep(|state, (), epoch| {
            assert_eq!(epoch, 1);
            state.clear();
        });
        assert_eq!(reclaimed, 1);
        // SAFETY: the cache lives as long as the list.
        let mine = unsafe { Mine::new(&*cache) };
        let mut owner = mine.enter().expect("the reclaimer cleared the mark");
        assert!(
            owner.parts().0.is_empty(),
            "the owner sees the reclaimer's writes"
        );
    }

    #[test]
    fn an_owner_inside_is_left_alone_and_ages_itself() {
        let mut caches = list();
        let claimed = caches
            .claim(|_, (), _| {}, |_| ThreadCache::new(vec![7], ()))
            .unwrap();
        let cache: *const ThreadCache<Vec<u32>, ()> = claimed.cache;
        // SAFETY: this thread claimed it; the list outlives every use below.
        let mine = unsafe { Mine::new(&*cache) };
        let owner = mine.enter().unwrap();
        assert_eq!(caches.sweep(|_, (), _| panic!("the owner is inside")), 0);
        drop(owner);
        assert!(
            mine.enter().is_none(),
            "the mark sends the owner to age itself"
        );
        caches.own(&mine, |state, (), epoch| {
            assert_eq!(epoch, 1);
            state.clear();
        });
        assert!(mine.enter().is_some(), "aged: the mark is clear");
    }

    #[test]
    fn exited_caches_are_collected_and_reused() {
        let mut caches = list();
        let first: *const ThreadCache<Vec<u32>, ()> = {
            let claimed = caches
                .claim(|_, (), _| {}, |_| ThreadCache::new(vec![3], ()))
                .unwrap();
            claimed.link.exit();
            claimed.cache
        };
        let mut seen = Vec::new();
        caches.collect_exited(|state, (), _| seen.append(state));
        assert_eq!(seen, [3]);
        assert_eq!(caches.exits.load(Ordering::Relaxed), 0);
        let second = caches
            .claim(
                |state, (), _| assert!(state.is_empty()),
                |_| unreachable!("reused"),
            )
            .unwrap();
        assert!(
            std::ptr::eq(first, second.cache),
            "the unowned cache is reused"
        );
    }
}

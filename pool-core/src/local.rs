//! The per-thread cache: the lock-free fast path.
//!
//! Each thread that uses a pool gets a [`LocalCache`] (through `ThreadLocal`, one slot per
//! live thread id; ids of exited threads are reused, so slots scale with threads alive at
//! once, not with every thread that ever touched the pool). It holds two magazines of idle
//! objects and a reservation (`credit`) against the pool's budget. A get pops and a return
//! pushes without a lock or an atomic read-modify-write; only when both magazines are empty
//! (or full), or the thread's reservation is used up, does the thread go to the depot, and
//! then it trades a whole magazine at once.
//!
//! The cache's state is touched only by its owning thread, and never while user code runs:
//! every method below works on the state inside one closure that calls nothing but `Vec`
//! operations and our own bookkeeping. What must be dropped is handed back to the caller.

use crate::depot::{DepotState, Garbage, Idle, Magazine, usage_of};
use crate::limits::{Limits, Usage};
use crate::stats::OwnedCounter;
use crate::sync::{AtomicUsize, Ordering, UnsafeCell};
use std::mem;

/// One thread's cache for one pool.
#[derive(Debug)]
pub(crate) struct LocalCache<T> {
    state: UnsafeCell<LocalState<T>>,
    /// Mirrors of `state.held`, written by the owner so [`Pool::stats`](crate::Pool::stats)
    /// can read them from any thread.
    idle_objects: AtomicUsize,
    idle_bytes: AtomicUsize,
    pub(crate) reused: OwnedCounter,
    pub(crate) returned: OwnedCounter,
}

#[derive(Debug)]
struct LocalState<T> {
    /// Pops and pushes happen here.
    loaded: Magazine<T>,
    /// The other magazine: swapped with `loaded` when that runs empty or full, so a thread
    /// hovering at a magazine boundary does not go to the depot on every call.
    spare: Magazine<T>,
    /// What the idle objects in both magazines add up to.
    held: Usage,
    /// What this thread has reserved from the pool's budget; always covers `held`.
    credit: Usage,
    /// The pool epoch this cache was last aged at.
    epoch: u64,
}

// SAFETY: a `LocalCache<T>` is shared (`&LocalCache`) only through the pool's `ThreadLocal`,
// and other threads touch only its atomics (`idle_*`, the counters, for stats); `state` is
// reached only by the thread that owns the slot (`with_state`'s contract). So sharing it
// never shares a `T`, and `Sync` needs no bound on `T`.
unsafe impl<T> Sync for LocalCache<T> {}

// SAFETY: moving a `LocalCache<T>` to another thread moves its idle `T`s. That happens when
// the `ThreadLocal` holding it is dropped, or (for the `thread_local` crate) when a slot is
// handed to a new thread that reuses an exited thread's id. If `T: Send` that is fine. If
// `T` is not `Send`, the pool is neither `Send` nor `Sync` (see `Pool`'s marker field), so
// only the thread that made the pool ever calls into it: every slot is created, used and
// dropped on that one thread, and no `T` crosses threads.
unsafe impl<T> Send for LocalCache<T> {}

impl<T> LocalCache<T> {
    pub(crate) fn new(epoch: u64) -> Self {
        Self {
            state: UnsafeCell::new(LocalState {
                loaded: Vec::new(),
                spare: Vec::new(),
                held: Usage::ZERO,
                credit: Usage::ZERO,
                epoch,
            }),
            idle_objects: AtomicUsize::new(0),
            idle_bytes: AtomicUsize::new(0),
            reused: OwnedCounter::new(),
            returned: OwnedCounter::new(),
        }
    }

    /// Runs `f` on the owner's state.
    ///
    /// Must be called only by the thread that owns this slot (the one `ThreadLocal` returned
    /// it to), and `f` must not call user code or re-enter the pool. Every caller below is a
    /// method of this type reached from `Pool` through `ThreadLocal::get_or` on the calling
    /// thread, and passes a closure made of `Vec` moves and arithmetic.
    #[inline(always)]
    fn with_state<R>(&self, f: impl FnOnce(&mut LocalState<T>) -> R) -> R {
        self.state.with_mut(|state| {
            // SAFETY: only the owning thread reaches `state` (see above), and `f` neither
            // re-enters the pool nor runs user code, so no other reference to the state
            // exists while this `&mut` lives: not from another thread, and not from a
            // re-entrant call on this one.
            let state = unsafe { &mut *state };
            let result = f(state);
            self.idle_objects
                .store(state.held.objects, Ordering::Relaxed);
            self.idle_bytes.store(state.held.bytes, Ordering::Relaxed);
            result
        })
    }

    /// What this cache holds, as last published by its owner. Any thread may call this.
    pub(crate) fn idle(&self) -> Usage {
        Usage {
            objects: self.idle_objects.load(Ordering::Relaxed),
            bytes: self.idle_bytes.load(Ordering::Relaxed),
        }
    }

    /// Whether this cache has been aged up to `epoch`.
    #[inline(always)]
    pub(crate) fn is_current(&self, epoch: u64) -> bool {
        self.with_state(|state| state.epoch == epoch)
    }

    /// Fast path: an idle object from this thread's magazines, if the cache is current.
    #[inline(always)]
    pub(crate) fn pop(&self, epoch: u64) -> Option<T> {
        self.with_state(|state| {
            if state.epoch != epoch {
                return None;
            }
            if state.loaded.is_empty() {
                mem::swap(&mut state.loaded, &mut state.spare);
            }
            let idle = state.loaded.pop()?;
            state.held.sub(Usage::one(idle.bytes));
            Some(idle.value)
        })
    }

    /// Fast path: keeps a reset object in this thread's magazines, if the cache is current,
    /// has room and has the budget for it.
    #[inline(always)]
    pub(crate) fn push(&self, idle: Idle<T>, epoch: u64, limits: &Limits) -> Result<(), Idle<T>> {
        self.with_state(|state| {
            let after = state.held.plus(Usage::one(idle.bytes));
            if state.epoch != epoch || !after.fits(state.credit) {
                return Err(idle);
            }
            let magazine_size = limits.magazine_size();
            if state.loaded.len() >= magazine_size {
                if state.spare.len() >= magazine_size || state.spare.capacity() == 0 {
                    return Err(idle);
                }
                mem::swap(&mut state.loaded, &mut state.spare);
            }
            if state.loaded.capacity() == 0 {
                return Err(idle);
            }
            state.loaded.push(idle);
            state.held = after;
            Ok(())
        })
    }

    /// Slow path, with the depot locked: brings a cache that missed sweeps up to `epoch`.
    /// Objects one sweep old join the victim generation; older ones are collected in
    /// `garbage`. The cache's reservation goes back to the budget.
    pub(crate) fn age(&self, depot: &mut DepotState<T>, epoch: u64, garbage: &mut Garbage<T>) {
        self.with_state(|state| {
            if state.epoch == epoch {
                return;
            }
            let one_sweep_behind = epoch.wrapping_sub(state.epoch) == 1;
            for magazine in [mem::take(&mut state.loaded), mem::take(&mut state.spare)] {
                if magazine.is_empty() {
                    depot.give_empty(magazine);
                } else if one_sweep_behind {
                    depot.put_victim(magazine);
                } else {
                    depot.release(usage_of(&magazine));
                    garbage.aged_out.push(magazine);
                }
            }
            state.credit.sub(state.held);
            depot.release(state.credit);
            state.held = Usage::ZERO;
            state.credit = Usage::ZERO;
            state.epoch = epoch;
        });
    }

    /// Slow path, with the depot locked: both magazines are empty, so trade the empty one
    /// for a magazine of idle objects from the depot (not its victims) and pop from it.
    pub(crate) fn refill(&self, depot: &mut DepotState<T>, limits: &Limits) -> Option<T> {
        self.with_state(|state| {
            debug_assert!(state.loaded.is_empty() && state.spare.is_empty());
            let room = limits.thread_cache.bytes - state.held.bytes;
            if limits.thread_cache.objects < limits.magazine_size() {
                return None;
            }
            let magazine = depot.take_magazine(room)?;
            let usage = usage_of(&magazine);
            state.held.add(usage);
            state.credit.add(usage);
            // Taking the magazine can lift the reservation past the thread's cap; give the
            // part the held objects do not need back to the budget.
            let excess = state.credit.excess_over(Usage {
                objects: limits.thread_cache.objects.max(state.held.objects),
                bytes: limits.thread_cache.bytes.max(state.held.bytes),
            });
            state.credit.sub(excess);
            depot.release(excess);
            depot.give_empty(mem::replace(&mut state.loaded, magazine));
            let idle = state.loaded.pop()?;
            state.held.sub(Usage::one(idle.bytes));
            Some(idle.value)
        })
    }

    /// Slow path, with the depot locked: the fast push failed on room or budget. Moves a
    /// full magazine to the depot, tops the reservation up to the thread's cap, and keeps
    /// `idle` here if it now fits. Hands `idle` back if the thread cache cannot take it.
    pub(crate) fn spill(
        &self,
        idle: Idle<T>,
        depot: &mut DepotState<T>,
        limits: &Limits,
    ) -> Result<(), Idle<T>> {
        self.with_state(|state| {
            let magazine_size = limits.magazine_size();
            if limits.thread_cache.objects == 0 {
                return Err(idle);
            }
            if state.loaded.len() >= magazine_size && state.spare.len() >= magazine_size {
                let full = mem::replace(&mut state.loaded, depot.take_empty(magazine_size));
                let usage = usage_of(&full);
                state.held.sub(usage);
                state.credit.sub(usage);
                depot.put_magazine(full);
            } else if state.loaded.len() >= magazine_size {
                mem::swap(&mut state.loaded, &mut state.spare);
            }
            if state.loaded.capacity() == 0 {
                state.loaded = depot.take_empty(magazine_size);
            }
            if state.spare.capacity() == 0 {
                state.spare = depot.take_empty(magazine_size);
            }
            let after = state.held.plus(Usage::one(idle.bytes));
            if !after.fits(state.credit) {
                let want = limits.thread_cache.excess_over(state.credit);
                let granted = depot.grant(want);
                state.credit.add(granted);
            }
            if !after.fits(state.credit) || state.loaded.len() >= magazine_size {
                return Err(idle);
            }
            state.loaded.push(idle);
            state.held = after;
            Ok(())
        })
    }
}

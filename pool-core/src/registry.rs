//! Which thread caches the calling thread owns, found in a few instructions.
//!
//! Two thread-locals per thread, shared by every pool:
//!
//! - the **memo**, a small direct-mapped table from pool id to this thread's cache of that
//!   pool. It has a `const` initialiser and no destructor, so reading it is one
//!   thread-local access with no lazy-init check, and it stays readable during thread
//!   teardown. A hit is the whole lookup on the hot path.
//! - the **registry**, every cache this thread owns, with the [`CacheLink`] that tells the
//!   pool when the thread is gone. Consulted on a memo miss. Its destructor (thread exit)
//!   empties the memo first, then signals every link: it takes no lock and touches no pool,
//!   so it is safe in any order of thread-local destruction. The pools collect the caches
//!   on their next slow path or sweep.
//!
//! Once the registry is gone (the thread is running its thread-local destructors and ours
//! has run), lookups miss and registration fails, and the pool falls back to its shared
//! level: a guard dropped from a user's thread-local destructor still returns its object.
//!
//! Pool ids come from a process-wide counter and are never reused, so a memo entry of a
//! dropped pool can never match a live one.

use crate::sync::{Arc, thread_local_const};
use crate::thread_cache::{CacheLink, Mine, ThreadCache};
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

/// Memo entries; a power of two. Enough that the size classes of a buffer pool and a few
/// other pools rarely collide.
const MEMO_SLOTS: usize = 16;

/// The memo: pool ids and this thread's caches of them, in two parallel arrays rather than
/// one array of pairs, so an entry is found by the id's low bits scaled by 8, which x86
/// addressing does for free (a pair of 16 bytes cost a shift per lookup). An empty entry
/// has id 0, which matches no pool (ids start at 1, and a pool without a core yet looks up
/// [`NO_POOL`]), and a dangling cache pointer: never null, so a hit needs no null check,
/// and never read unless its id matched.
struct Memo {
    ids: [Cell<u64>; MEMO_SLOTS],
    caches: [Cell<NonNull<()>>; MEMO_SLOTS],
}

impl Memo {
    const EMPTY_ID: u64 = 0;

    fn clear(&self) {
        for slot in 0..MEMO_SLOTS {
            self.ids[slot].set(Self::EMPTY_ID);
            self.caches[slot].set(NonNull::dangling());
        }
    }
}

/// The id a pool looks up before it has one: matches no memo entry, empty or not.
pub(crate) const NO_POOL: u64 = u64::MAX;

struct Registered {
    id: u64,
    cache: NonNull<()>,
    link: Arc<CacheLink>,
}

struct Registry {
    caches: RefCell<Vec<Registered>>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        // The memo first: after this, no lookup on this thread finds a cache it is about to
        // give up (a later thread-local destructor may still call into a pool).
        let _ = MEMO.try_with(Memo::clear);
        for registered in self.caches.get_mut().drain(..) {
            registered.link.exit();
        }
    }
}

thread_local_const! {
    static MEMO: Memo = Memo {
        ids: [const { Cell::new(Memo::EMPTY_ID) }; MEMO_SLOTS],
        caches: [const { Cell::new(NonNull::dangling()) }; MEMO_SLOTS],
    };
}

thread_local_const! {
    static REGISTRY: Registry = Registry { caches: RefCell::new(Vec::new()) };
}

/// A fresh pool id, never 0 and never reused.
pub(crate) fn next_pool_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Plain std: an id counter is not synchronisation loom needs to see.
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// This thread's cache of pool `id`, if the memo has it: the hot path.
///
/// # Safety
///
/// `id` must be [`NO_POOL`] or the id of a live pool whose thread caches are
/// `ThreadCache<S, P>` and live at least for `'a`.
#[inline(always)]
pub(crate) unsafe fn mine<'a, S, P>(id: u64) -> Option<Mine<'a, S, P>> {
    let cache = lookup(id)?;
    // SAFETY: the memo maps a pool id (never reused) to a cache this thread claimed and
    // registered, and clears itself before the thread gives its caches up; the caller
    // vouches for the cache's type and lifetime.
    Some(unsafe { Mine::new(cache.cast::<ThreadCache<S, P>>().as_ref()) })
}

/// This thread's cache of pool `id`, if the memo has it, untyped.
#[inline(always)]
fn lookup(id: u64) -> Option<NonNull<()>> {
    MEMO.try_with(|memo| {
        let slot = memo_slot(id);
        (memo.ids[slot].get() == id).then(|| memo.caches[slot].get())
    })
    .ok()
    .flatten()
}

/// This thread's cache of pool `id`, from the registry when the memo misses (and then
/// memoised). `None` if this thread has none, or is tearing down.
///
/// # Safety
///
/// As for [`mine`].
#[cold]
pub(crate) unsafe fn find<'a, S, P>(id: u64) -> Option<Mine<'a, S, P>> {
    let cache = find_untyped(id)?;
    // SAFETY: as in `mine`.
    Some(unsafe { Mine::new(cache.cast::<ThreadCache<S, P>>().as_ref()) })
}

fn find_untyped(id: u64) -> Option<NonNull<()>> {
    if let Some(cache) = lookup(id) {
        return Some(cache);
    }
    let cache = REGISTRY
        .try_with(|registry| {
            let caches = registry.caches.try_borrow().ok()?;
            caches
                .iter()
                .find(|registered| registered.id == id)
                .map(|registered| registered.cache)
        })
        .ok()
        .flatten()?;
    memoise(id, cache);
    Some(cache)
}

/// Records that this thread owns `cache` of pool `id`. False if the thread is tearing down
/// (its registry is gone): the caller then releases the cache and uses the shared level.
pub(crate) fn register(id: u64, cache: NonNull<()>, link: Arc<CacheLink>) -> bool {
    let registered = REGISTRY.try_with(|registry| {
        let Ok(mut caches) = registry.caches.try_borrow_mut() else {
            return false;
        };
        // Forget caches of dropped pools while we are here.
        caches.retain(|registered| !registered.link.is_closed());
        caches.push(Registered { id, cache, link });
        true
    });
    if matches!(registered, Ok(true)) {
        memoise(id, cache);
        return true;
    }
    false
}

fn memoise(id: u64, cache: NonNull<()>) {
    let _ = MEMO.try_with(|memo| {
        let slot = memo_slot(id);
        memo.ids[slot].set(id);
        memo.caches[slot].set(cache);
    });
}

/// The memo entry for pool `id`: its low bits.
#[inline(always)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "only the low bits are wanted"
)]
fn memo_slot(id: u64) -> usize {
    id as usize & (MEMO_SLOTS - 1)
}

//! [`Pool`]: the API, and the fast paths of get and return (this thread's cache, found
//! through the registry's memo). The slow paths live with the shared state in `core.rs`.

use crate::builder::PoolBuilder;
use crate::core::{Core, MyCache, MyOwner};
use crate::guard::{Pooled, PooledOwned};
use crate::kept::{Kept, drop_each};
use crate::limits::Limits;
use crate::magazines::{Magazines, Published};
use crate::registry::{self, NO_POOL};
use crate::reset::Reset;
use crate::stats::Stats;
use crate::sync::{Arc, OnceLock, Ordering, PoolId};
use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, RefUnwindSafe, UnwindSafe, catch_unwind};

/// A typed object pool with reset semantics, after Go's `sync.Pool`.
///
/// [`get`](Pool::get) hands out a [`Pooled`] guard; dropping the guard [resets](Reset) the
/// object and keeps it for the next `get`. Lookups try this thread's cache (no lock, no
/// atomic read-modify-write), then the shared depot, then the victim generation, and only
/// then make a new object with the pool's `init`.
///
/// Idle objects age: each [`sweep`](Pool::sweep) turns every level (each thread's cache
/// and the shared depot) into a victim generation and drops the previous victims, so an
/// object nobody asked for is freed by the second sweep, whichever thread last held it,
/// and whether that thread is busy, quiet or gone. Sweeps run when you call them, or on a
/// timer with [`PoolBuilder::age_every`].
///
/// `Pool<T>` is `Send` and `Sync` exactly when `T: Send`.
///
/// The pool keeps each object in a box of its own, but `init` (and [`put`](Pool::put))
/// hand it over by value, on the stack. For a type that holds tens of KiB or more inline
/// (a large array), pool a `Box` of it, or keep the data on the heap (a `Vec`), so that
/// making one does not need that much stack; and count it in
/// [`retained_bytes`](Reset::retained_bytes), which sees heap bytes only.
///
/// # Examples
///
/// ```
/// use pool_core::Pool;
///
/// static BUFFERS: Pool<Vec<u8>> = Pool::new();
///
/// let mut buf = BUFFERS.get();
/// buf.extend_from_slice(b"request body");
/// let first = buf.as_ptr();
/// drop(buf); // reset (cleared, capacity kept) and returned
///
/// let buf = BUFFERS.get();
/// assert!(buf.is_empty());
/// assert_eq!(buf.as_ptr(), first); // the same allocation, reused
/// ```
pub struct Pool<T> {
    /// The core's id once it exists ([`NO_POOL`] before): what a get or return looks up to
    /// find this thread's cache, so it sits inline, next to the limits.
    id: PoolId,
    /// Thread caches, depot, budget and counters, made on first use so that `new` is
    /// `const`, and shared (through a weak reference) with the aging thread.
    core: OnceLock<Arc<Core<T>>>,
    limits: Limits,
    init: Init<T>,
    /// `Send + Sync` exactly when `T: Send`, as a mutex of `T` is: the pool hands each
    /// object to one thread at a time, and never shares one.
    _marker: PhantomData<std::sync::Mutex<T>>,
}

// The pool's state is consistent at every point where a panic can leave it: no user code
// runs under its locks or inside a thread cache, and a panicking `init`, `reset`,
// `retained_bytes` or `Drop` is counted and contained where it happens. So, like std's
// `Mutex`, a pool may be used after a caught panic whatever it holds. (The boxed `init`
// function would otherwise make it neither.)
impl<T> UnwindSafe for Pool<T> {}
impl<T> RefUnwindSafe for Pool<T> {}

/// How a pool makes a new object.
pub(crate) enum Init<T> {
    /// `T::default`, kept as a function pointer so `Pool::new` can be `const`.
    Default(fn() -> T),
    Custom(Box<dyn Fn() -> T + Send + Sync>),
}

impl<T: Reset + Default> Pool<T> {
    /// A pool that makes objects with `T::default()`, with the default limits (see
    /// [`PoolBuilder`]): 16 idle objects per thread cache, no total limit, no automatic
    /// aging. `const`, so it can be a `static`.
    ///
    /// `T::default()` makes new objects only; a reused one is the last user's after
    /// [`Reset::reset`]. The two agree for the standard types and for `#[derive(Reset)]`
    /// with a derived `Default`; a hand-written `Default` that sets a field to something
    /// other than what its reset leaves needs `#[reset(value = ...)]` on that field.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// static NAMES: Pool<String> = Pool::new();
    /// NAMES.get().push_str("temporary");
    /// assert!(NAMES.get().is_empty());
    /// ```
    pub const fn new() -> Self {
        Self::from_parts(Limits::DEFAULT, Init::Default(T::default))
    }
}

impl<T: Reset + Default> Default for Pool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Reset> Pool<T> {
    /// A pool that makes objects with `init`, with the default limits.
    ///
    /// `init` makes new objects only. A reused object is the last user's after
    /// [`Reset::reset`], not a fresh `init()`: a `Vec` made with `vec![b'a']` comes back
    /// empty, not holding `b'a'`. Give `init` only what `reset` keeps (capacity, say), or
    /// write a `reset` that restores the rest. `init` runs outside any lock or borrow of the
    /// pool, so it may use the pool itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool = Pool::with_init(|| Vec::<u8>::with_capacity(4096));
    /// assert!(pool.get().capacity() >= 4096);
    /// ```
    pub fn with_init(init: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self::from_parts(Limits::DEFAULT, Init::Custom(Box::new(init)))
    }

    /// A builder for a pool with limits, aging or a custom `init`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool = Pool::<Vec<u8>>::builder()
    ///     .thread_cache(8)
    ///     .max_idle(256)
    ///     .init(|| Vec::with_capacity(16 * 1024))
    ///     .build();
    /// assert!(pool.get().capacity() >= 16 * 1024);
    /// ```
    pub fn builder() -> PoolBuilder<T> {
        PoolBuilder::new()
    }

    /// A pool whose shared part is made on first use.
    pub(crate) const fn from_parts(limits: Limits, init: Init<T>) -> Self {
        Self {
            id: PoolId::new(NO_POOL),
            core: OnceLock::new(),
            limits,
            init,
            _marker: PhantomData,
        }
    }

    /// The shared part, made on first use.
    pub(crate) fn core(&self) -> &Arc<Core<T>> {
        self.core.get_or_init(|| {
            let core = Arc::new(Core::new(self.limits));
            // Every thread that makes or sees the core stores the same id.
            self.id.store(core.caches.id(), Ordering::Relaxed);
            core
        })
    }

    /// A pool whose shared part is `core`, made now (for the builder's shared budgets and
    /// aging, which need the core from the start).
    pub(crate) fn with_core(limits: Limits, init: Init<T>, core: Arc<Core<T>>) -> Self {
        let pool = Self::from_parts(limits, init);
        pool.id.store(core.caches.id(), Ordering::Relaxed);
        let _ = pool.core.get_or_init(|| core);
        pool
    }

    /// Takes an idle object (or makes one) and hands it out in a guard that returns it on
    /// drop.
    ///
    /// The object has been reset (or is fresh from `init`): nothing of a previous user's
    /// state is visible.
    ///
    /// # Panics
    ///
    /// If `init` panics, the panic continues from here, and nothing is counted. If
    /// dropping idle objects that aged out panics (they are dropped on the way, by the
    /// thread that finds them), the panic continues after every one of them is dropped;
    /// no object is taken in that case.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool: Pool<String> = Pool::new();
    /// let mut s = pool.get();
    /// s.push_str("hello");
    /// assert_eq!(&*s, "hello");
    /// ```
    #[inline(always)]
    pub fn get(&self) -> Pooled<'_, T> {
        Pooled::new(self, self.take())
    }

    /// Like [`get`](Pool::get), but the guard owns a handle to the pool, so it is
    /// `'static` and can move to another thread (when `T: Send`) or into a task.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    /// use std::sync::Arc;
    ///
    /// let pool: Arc<Pool<Vec<u8>>> = Arc::new(Pool::new());
    /// let mut buf = pool.get_owned();
    /// std::thread::spawn(move || buf.push(1)).join().unwrap();
    /// assert_eq!(pool.stats().returned, 1);
    /// ```
    #[inline]
    pub fn get_owned(self: &Arc<Self>) -> PooledOwned<T> {
        PooledOwned::new(Arc::clone(self), self.take())
    }

    /// Resets `value` and keeps it for reuse, or drops it if the pool is at a limit.
    ///
    /// For objects made elsewhere (counted as `adopted`) or taken out with
    /// [`Pooled::into_inner`].
    ///
    /// # Panics
    ///
    /// If `value`'s `reset` panics, the value is dropped (counted as `panicked`) and the
    /// panic continues from here. The pool stays usable. Called while the thread unwinds
    /// from another panic (from a `Drop` that gives resources back), it keeps the value as
    /// usual; a panic in its `reset` is then caught, since it would abort the process, and
    /// the value dropped and counted as `panicked`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new();
    /// pool.put(Vec::with_capacity(1024));
    /// assert!(pool.get().capacity() >= 1024);
    /// ```
    pub fn put(&self, value: T) {
        self.core().counters.adopted.bump();
        self.keep_whole(Kept::new(value), reset_and_measure);
    }

    /// Makes up to `count` objects now and keeps them idle, so the first gets do not pay
    /// for `init`: the preallocated free list of fixed-size blocks. Returns how many the
    /// pool kept: it stops at the first one its limits refuse (that one is made, then dropped
    /// and counted as over the limit, so prefilling a full pool costs one object).
    ///
    /// Each object is kept as `init` made it (it needs no reset: nobody used it), so a get
    /// that finds it sees what a get that made a new one would. Objects are made and kept
    /// one at a time, so a small `max_idle` bounds the memory this takes, and a panicking
    /// `init` or `retained_bytes` leaves the ones before it kept and every count balanced.
    /// They go to this thread's cache first and the shared depot after, where any thread
    /// finds them. Like every idle object, they age: call this again after a quiet spell, or
    /// build the pool without `age_every` if they must stay.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let blocks = Pool::<Vec<u8>>::builder().init(|| vec![0; 4096]).build();
    /// assert_eq!(blocks.prefill(64), 64);
    /// let stats = blocks.stats();
    /// assert_eq!((stats.created, stats.idle), (64, 64));
    /// ```
    pub fn prefill(&self, count: usize) -> usize {
        let mut kept = 0;
        while kept < count {
            let made = self.create();
            self.core().counters.prefilled.bump();
            // Fresh from `init`: nobody used it, so it is measured, not reset.
            if !self.keep_whole(made, |value| value.retained_bytes()) {
                break;
            }
            kept += 1;
        }
        kept
    }

    /// Runs one aging cycle: every level's victims (the depot's and each thread cache's)
    /// are dropped, and what each level holds becomes its victims. Objects in use are
    /// never touched.
    ///
    /// So an idle object is freed by the second sweep after its last use, wherever it
    /// sits. A thread cache whose owner is busy in the pool at that moment ages on the
    /// owner's next call instead; on platforms without a process-wide memory barrier
    /// (anything but Linux), every live thread's cache ages that way, and only the caches
    /// of exited threads are reclaimed by the sweep itself.
    ///
    /// # Panics
    ///
    /// If dropping an aged-out object panics, the panic continues from here after every
    /// one of them is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new();
    /// drop(pool.get());
    /// pool.sweep();
    /// assert_eq!(pool.stats().idle, 1); // a victim now, still reusable
    /// pool.sweep();
    /// assert_eq!(pool.stats().idle, 0); // aged out
    /// ```
    pub fn sweep(&self) {
        self.core().sweep();
    }

    /// A snapshot of the pool's counters and idle holdings.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new();
    /// drop(pool.get());
    /// let stats = pool.stats();
    /// assert_eq!((stats.created, stats.returned, stats.idle), (1, 1, 1));
    /// ```
    pub fn stats(&self) -> Stats {
        self.core.get().map(|core| core.stats()).unwrap_or_default()
    }

    // === the get path ===

    /// This thread's cache of this pool, if the memo has it.
    #[inline(always)]
    fn my_cache(&self) -> Option<MyCache<'_, T>> {
        // SAFETY: `self.id` is `NO_POOL` or the id of `self.core`, which lives as long as
        // `self` and whose caches are `ThreadCache<Magazines<T>, Published>`.
        unsafe { registry::mine::<Magazines<T>, Published>(self.id.load(Ordering::Relaxed)) }
    }

    /// The get path without a guard.
    #[inline(always)]
    pub(crate) fn take(&self) -> Kept<T> {
        #[cfg(pool_chaos)]
        if crate::chaos::get_from_depot()
            && let Some(value) = self.core().take_from_depot()
        {
            return value;
        }
        match self.take_fast() {
            Some(value) => value,
            None => self.take_slow(),
        }
    }

    /// The fast path: the top of this thread's cache.
    #[inline(always)]
    fn take_fast(&self) -> Option<Kept<T>> {
        let mine = self.my_cache()?;
        let mut owner = mine.enter()?;
        let (state, published) = owner.parts();
        let kept = state.pop(published)?;
        published.reused.bump();
        Some(kept)
    }

    #[cold]
    fn take_slow(&self) -> Kept<T> {
        match self.core().take() {
            Some(value) => value,
            None => self.create(),
        }
    }

    /// A miss: make a new object, outside every lock and borrow.
    #[cold]
    fn create(&self) -> Kept<T> {
        let value = match &self.init {
            Init::Default(init) => init(),
            Init::Custom(init) => init(),
        };
        self.core().counters.created.bump();
        Kept::new(value)
    }

    // === the return path ===

    /// Resets a guard's object and keeps it or drops it.
    ///
    /// The check for unwinding is inlined into the guard's drop: `thread::panicking` ends in
    /// a call whose answer is needed (when any thread has panicked), and that call alone made
    /// the out-of-line part below save and restore registers on every return.
    #[inline(always)]
    pub(crate) fn recycle(&self, kept: Kept<T>) {
        if std::thread::panicking() {
            // The guard is dropped by unwinding: the object may be half-modified.
            self.discard_unwound(kept);
            return;
        }
        self.reset_and_keep(kept);
    }

    /// [`recycle`](Pool::recycle) when the thread is not unwinding.
    ///
    /// Out of line on purpose. Inlined, this made a guard's drop glue too big for LLVM to
    /// inline into the caller, so the glue took the guard by address and reloaded the object's
    /// pointer from the caller's stack: a store-to-load round trip on the chain from one
    /// return to the next get (the hot slot). Out of line, the glue inlines and passes the
    /// pointer in a register. Scenario 1a (get / write / return of a 4 KiB `Vec`), same-binary
    /// pairs: 6.4-6.7 ns inlined, 5.6 out of line; scenario 1b 26-28 -> 23-24 ns. Every call
    /// it makes is in tail position, so it saves no registers.
    #[inline(never)]
    fn reset_and_keep(&self, kept: Kept<T>) {
        self.prepare_and_keep(kept, reset_and_measure);
    }

    /// Keeps an object whose state is whole: handed in by `put` (`prepare` resets and
    /// measures it) or just made by `prefill` (`prepare` only measures it: it needs no
    /// reset). Whole even if the thread is unwinding (a `Drop` giving resources back during
    /// a panic), so it is kept then too.
    fn keep_whole(&self, kept: Kept<T>, prepare: impl FnOnce(&mut T) -> usize) -> bool {
        if std::thread::panicking() {
            return self.prepare_and_keep_while_unwinding(kept, prepare);
        }
        self.prepare_and_keep(kept, prepare)
    }

    /// Runs `prepare` (a reset and a measure, or a measure alone) on the object and keeps it
    /// with the bytes `prepare` returns.
    #[inline(always)]
    fn prepare_and_keep(&self, kept: Kept<T>, prepare: impl FnOnce(&mut T) -> usize) -> bool {
        // If `prepare` (user code) panics, the guard discards the object as it unwinds,
        // counted, with a panic of its `Drop` contained; the first panic continues to the
        // caller. A drop guard rather than `catch_unwind`, which kept this path from inlining.
        let mut pending = DiscardOnUnwind {
            pool: self,
            kept: Some(kept),
        };
        let bytes = match pending.kept.as_mut() {
            Some(kept) => prepare(kept.value_mut()),
            None => unreachable!("the object is taken out only below"),
        };
        let Some(kept) = pending.kept.take() else {
            unreachable!("the object is taken out only here")
        };
        self.keep_measured(kept, bytes)
    }

    /// [`prepare_and_keep`](Pool::prepare_and_keep) on a thread that is unwinding, where a
    /// panic escaping `prepare` would abort the process: it is caught, and the object
    /// discarded as panicked.
    #[cold]
    fn prepare_and_keep_while_unwinding(
        &self,
        mut kept: Kept<T>,
        prepare: impl FnOnce(&mut T) -> usize,
    ) -> bool {
        let measured = catch_unwind(AssertUnwindSafe(|| prepare(kept.value_mut())));
        if let Ok(bytes) = measured {
            self.keep_measured(kept, bytes)
        } else {
            self.discard_panicked(kept);
            false
        }
    }

    /// Keeps a prepared object that retains `bytes`, or drops it over a limit.
    #[inline(always)]
    fn keep_measured(&self, mut kept: Kept<T>, bytes: usize) -> bool {
        if bytes > self.limits.max_object_bytes {
            return self.discard_too_large(kept);
        }
        kept.set_bytes(bytes);
        #[cfg(pool_chaos)]
        if crate::chaos::discard_return() {
            self.core().counters.over_limit.bump();
            drop(kept);
            return false;
        } else if crate::chaos::return_to_depot() {
            return self.core().keep_in_depot(kept);
        }
        self.keep_fast(kept)
    }

    /// The fast path: this thread's empty hot slot, if the reservation covers the object.
    /// It calls nothing but, in tail position, one of two out-of-line paths: so the guard's
    /// return saves no registers.
    #[inline(always)]
    fn keep_fast(&self, kept: Kept<T>) -> bool {
        let Some(mine) = self.my_cache() else {
            return self.keep_slow(kept);
        };
        let Some(mut owner) = mine.enter() else {
            return self.keep_slow(kept);
        };
        let (state, published) = owner.parts();
        if state.hot_is_taken() {
            return self.keep_behind_hot(kept, owner);
        }
        match state.push_hot(kept, published) {
            Ok(()) => {
                published.returned.bump();
                true
            }
            Err(kept) => {
                drop(owner);
                self.keep_slow(kept)
            }
        }
    }

    /// A return while this thread's hot slot is taken (it holds more than one of the pool's
    /// objects at once): on top of its magazines, inside the cache the fast path entered,
    /// else through the pool's slow path.
    #[inline(never)]
    fn keep_behind_hot(&self, kept: Kept<T>, mut owner: MyOwner<'_, T>) -> bool {
        let (state, published) = owner.parts();
        match state.push_behind_hot(kept, published, &self.limits) {
            Ok(()) => {
                published.returned.bump();
                true
            }
            Err(kept) => {
                drop(owner);
                self.core().keep(kept)
            }
        }
    }

    /// Every return the fast path did not finish: to the hot slot after its room is
    /// brought up to date, or through the pool's slow path.
    #[inline(never)]
    fn keep_slow(&self, kept: Kept<T>) -> bool {
        let kept = match self.my_cache().and_then(|mine| mine.enter()) {
            Some(mut owner) => {
                let (state, published) = owner.parts();
                match state.push(kept, published, &self.limits) {
                    Ok(()) => {
                        published.returned.bump();
                        return true;
                    }
                    Err(kept) => kept,
                }
            }
            None => kept,
        };
        self.core().keep(kept)
    }

    pub(crate) fn count_detached(&self) {
        self.core().counters.detached.bump();
    }

    #[cold]
    fn discard_too_large(&self, kept: Kept<T>) -> bool {
        self.core().counters.too_large.bump();
        // A panicking `Drop` continues from here, unless the thread is unwinding already
        // (`put` from a `Drop` during a panic), where it would abort the process.
        drop_each(std::iter::once(kept));
        false
    }

    /// Drops the object of a guard dropped by unwinding, never to be pooled (it may be
    /// half-modified), after a reset that only scrubs it: what a reset wipes (a
    /// `#[reset(zero)]` secret above all) must not reach the allocator's next user, who may
    /// be this pool's `init`. A panic of that reset is caught, as one escaping a drop during
    /// unwinding would abort the process.
    #[cold]
    fn discard_unwound(&self, mut kept: Kept<T>) {
        let _ = catch_unwind(AssertUnwindSafe(|| kept.value_mut().reset()));
        self.discard_panicked(kept);
    }

    #[cold]
    fn discard_panicked(&self, value: Kept<T>) {
        self.core().counters.panicked.bump();
        // Its destructor may panic too; that must not escape a drop during unwinding.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
    }
}

impl<T> Drop for Pool<T> {
    /// Drops every idle object before returning, on this thread. If some destructors
    /// panic, every object is still dropped, and then the first panic continues.
    fn drop(&mut self) {
        if let Some(core) = self.core.get() {
            // SAFETY: this is the pool's `Drop`: no `&Pool` exists, so no thread is inside
            // one of its thread caches.
            unsafe { core.close() };
        }
    }
}

/// A returned object's preparation: its reset, then the bytes it keeps.
#[inline(always)]
fn reset_and_measure<T: Reset>(value: &mut T) -> usize {
    value.reset();
    value.retained_bytes()
}

/// Holds an object while user code prepares it; if that code panics, discards the object
/// as panicked while the panic unwinds (`prepare_and_keep` takes it out otherwise).
struct DiscardOnUnwind<'a, T: Reset> {
    pool: &'a Pool<T>,
    kept: Option<Kept<T>>,
}

impl<T: Reset> Drop for DiscardOnUnwind<'_, T> {
    fn drop(&mut self) {
        if let Some(kept) = self.kept.take() {
            // Dropped while unwinding: the object's own `Drop` must not panic out of here.
            self.pool.discard_panicked(kept);
        }
    }
}

impl<T: Reset> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("limits", &self.limits)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

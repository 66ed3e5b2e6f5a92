//! [`Pool`]: the lookup order (this thread's cache, the shared depot, the victim generation,
//! then `init`) and the return path (reset, measure, keep or drop).

use crate::builder::PoolBuilder;
use crate::depot::{Depot, Garbage, Idle};
use crate::guard::{Pooled, PooledOwned};
use crate::limits::Limits;
use crate::local::LocalCache;
use crate::reset::Reset;
use crate::stats::{Discarded, Stats};
use crate::sync::{Arc, Ordering, ThreadLocal, thread_locals_alive};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A typed object pool with reset semantics, after Go's `sync.Pool`.
///
/// [`get`](Pool::get) hands out a [`Pooled`] guard; dropping the guard [resets](Reset) the
/// object and keeps it for the next `get`. Lookups try this thread's cache (no lock, no
/// atomic read-modify-write), then the shared depot, then the victim generation, and only
/// then make a new object with the pool's `init`.
///
/// Idle objects age: each [`sweep`](Pool::sweep) moves the depot into the victim generation
/// and drops the previous victims, so an object nobody asked for is freed within two
/// sweeps. Sweeps run when you call them, or on a timer with
/// [`PoolBuilder::age_every`].
///
/// `Pool<T>` is `Send` and `Sync` exactly when `T: Send`.
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
    /// Padded: neighbouring threads' caches share no cache line (the owner writes its
    /// counters on every call).
    local: ThreadLocal<CachePadded<LocalCache<T>>>,
    depot: DepotHandle<T>,
    limits: Limits,
    init: Init<T>,
    /// `Send + Sync` exactly when `T: Send` (as a mutex of `T` is), whatever the fields
    /// above say; `LocalCache`'s `Send` impl relies on this.
    _marker: PhantomData<std::sync::Mutex<T>>,
}

/// How a pool makes a new object.
pub(crate) enum Init<T> {
    /// `T::default`, kept as a function pointer so `Pool::new` can be `const`.
    Default(fn() -> T),
    Custom(Box<dyn Fn() -> T + Send + Sync>),
}

/// The depot, inline (so `Pool::new` can be `const`) or shared with the aging thread.
#[allow(
    clippy::large_enum_variant,
    reason = "inline is the point: a `const` pool cannot allocate, and a pool is not moved often"
)]
pub(crate) enum DepotHandle<T> {
    Inline(Depot<T>),
    Shared(Arc<Depot<T>>),
}

impl<T> Deref for DepotHandle<T> {
    type Target = Depot<T>;

    #[inline]
    fn deref(&self) -> &Depot<T> {
        match self {
            DepotHandle::Inline(depot) => depot,
            DepotHandle::Shared(depot) => depot,
        }
    }
}

impl<T: Reset + Default> Pool<T> {
    crate::sync::const_fn_unless_loom! {
        /// A pool that makes objects with `T::default()`, with the default limits: 16 idle
        /// objects per thread cache, no total limit, no automatic aging. `const`, so it can
        /// be a `static` (except under `cfg(loom)`, whose types are not `const`).
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
        pub fn new() -> Self {
            Self::from_parts(Limits::DEFAULT, Init::Default(T::default), DepotHandle::Inline(Depot::new(&Limits::DEFAULT)))
        }
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
    /// `init` runs outside any lock or borrow of the pool, so it may use the pool itself.
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
        Self::from_parts(
            Limits::DEFAULT,
            Init::Custom(Box::new(init)),
            DepotHandle::Inline(Depot::new(&Limits::DEFAULT)),
        )
    }

    /// A builder for a pool with limits, aging or a custom `init`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::<Vec<u8>>::builder()
    ///     .thread_cache(8)
    ///     .max_idle(256)
    ///     .age_every(Duration::from_secs(5))
    ///     .init(|| Vec::with_capacity(16 * 1024))
    ///     .build();
    /// assert!(pool.get().capacity() >= 16 * 1024);
    /// ```
    pub fn builder() -> PoolBuilder<T> {
        PoolBuilder::new()
    }

    crate::sync::const_fn_unless_loom! {
        pub(crate) fn from_parts(limits: Limits, init: Init<T>, depot: DepotHandle<T>) -> Self {
            Self {
                local: ThreadLocal::new(),
                depot,
                limits,
                init,
                _marker: PhantomData,
            }
        }
    }

    /// Takes an idle object (or makes one) and hands it out in a guard that returns it on
    /// drop.
    ///
    /// The object has been reset (or is fresh from `init`): nothing of a previous user's
    /// state is visible.
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
    /// panic continues from here. The pool stays usable.
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
        self.depot.counters.add(&self.depot.counters.adopted, 1);
        self.recycle(value);
    }

    /// Makes `count` objects now and keeps them idle, so the first gets do not pay for
    /// `init`: the preallocated free list of fixed-size blocks. Returns how many the pool
    /// kept (its limits may refuse some).
    ///
    /// They go to this thread's cache first and the shared depot after, where any thread
    /// finds them. Like every idle object, they age: call this again after a quiet spell,
    /// or build the pool without `age_every` if they must stay.
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
        let fresh: Vec<T> = (0..count).map(|_| self.create()).collect();
        fresh
            .into_iter()
            .map(|value| self.recycle(value))
            .filter(|&kept| kept)
            .count()
    }

    /// Runs one aging cycle: the victim generation is dropped and the depot becomes the
    /// new victim generation. Objects in use are never touched.
    ///
    /// Idle objects in the shared levels are freed by the second sweep after their last
    /// use. The calling thread's own cache ages with them, at once; another thread's cache
    /// ages the same way on that thread's next call into the pool (no thread ever touches
    /// another's cache).
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::builder().thread_cache(0).build();
    /// drop(pool.get());
    /// pool.sweep();
    /// assert_eq!(pool.stats().idle, 1); // in the victim generation, still reusable
    /// pool.sweep();
    /// assert_eq!(pool.stats().idle, 0); // aged out
    /// ```
    pub fn sweep(&self) {
        self.depot.sweep();
        // The calling thread's cache need not wait for its next visit: age it now, so a
        // thread that sweeps after a burst frees its own cache too.
        if let Some(local) = self.local() {
            let mut garbage = Garbage::default();
            {
                let mut depot = self.depot.lock();
                let epoch = self.depot.epoch_locked(&depot);
                local.age(&mut depot, epoch, &mut garbage);
            }
            garbage.dispose(&self.depot.counters);
        }
    }

    /// A snapshot of the pool's counters and idle holdings.
    pub fn stats(&self) -> Stats {
        let counters = &self.depot.counters;
        let load = |counter: &crate::sync::AtomicU64| counter.load(Ordering::Relaxed);
        let mut stats = Stats {
            created: load(&counters.created),
            reused: load(&counters.reused),
            returned: load(&counters.returned),
            adopted: load(&counters.adopted),
            detached: load(&counters.detached),
            discarded: Discarded {
                over_limit: load(&counters.over_limit),
                too_large: load(&counters.too_large),
                panicked: load(&counters.panicked),
                aged_out: load(&counters.aged_out),
            },
            sweeps: load(&counters.sweeps),
            ..Stats::default()
        };
        let mut idle = self.depot.idle();
        for local in self.local.iter() {
            stats.reused += local.reused.get();
            stats.returned += local.returned.get();
            idle.add(local.idle());
        }
        stats.idle = idle.objects;
        stats.idle_bytes = idle.bytes;
        stats
    }

    // === the get path ===

    /// This thread's cache, or `None` while the thread is tearing down its thread-locals.
    #[inline(always)]
    fn local(&self) -> Option<&LocalCache<T>> {
        if !thread_locals_alive() {
            return None;
        }
        Some(
            self.local
                .get_or(|| CachePadded::new(LocalCache::new(self.depot.epoch()))),
        )
    }

    /// The get path without a guard: for `BufferPool`, whose guard routes returns by size.
    #[inline(always)]
    pub(crate) fn take(&self) -> T {
        match self.try_take() {
            Some(value) => value,
            None => self.create(),
        }
    }

    /// An idle object if there is one anywhere (thread cache, depot, victim); never makes
    /// one. For `BufferPool`, which then tries a bigger class before allocating.
    #[inline(always)]
    pub(crate) fn try_take(&self) -> Option<T> {
        #[cfg(feature = "chaos")]
        if crate::chaos::get_from_depot()
            && let Some(value) = self.take_slow(None)
        {
            return Some(value);
        }
        let local = self.local();
        if let Some(local) = local
            && let Some(value) = local.pop(self.depot.epoch())
        {
            local.reused.bump();
            return Some(value);
        }
        self.take_slow(local)
    }

    /// The thread cache is empty (or behind a sweep): go to the depot, then the victim.
    #[cold]
    fn take_slow(&self, local: Option<&LocalCache<T>>) -> Option<T> {
        // Nothing to find and nothing to age: skip the lock.
        if self.depot.looks_empty()
            && local.is_none_or(|local| local.is_current(self.depot.epoch()))
        {
            return None;
        }
        let mut garbage = Garbage::default();
        let found = {
            let mut depot = self.depot.lock();
            let epoch = self.depot.epoch_locked(&depot);
            match local {
                Some(local) => {
                    local.age(&mut depot, epoch, &mut garbage);
                    local
                        .refill(&mut depot, &self.limits)
                        .or_else(|| depot.pop_one().map(|idle| idle.value))
                }
                None => depot.pop_one().map(|idle| idle.value),
            }
        };
        garbage.dispose(&self.depot.counters);
        if found.is_some() {
            match local {
                Some(local) => local.reused.bump(),
                None => self.depot.counters.add(&self.depot.counters.reused, 1),
            }
        }
        found
    }

    /// A miss: make a new object, outside every lock and borrow.
    #[cold]
    pub(crate) fn create(&self) -> T {
        let value = match &self.init {
            Init::Default(init) => init(),
            Init::Custom(init) => init(),
        };
        self.depot.counters.add(&self.depot.counters.created, 1);
        value
    }

    // === the return path ===

    /// Resets `value` and keeps it or drops it; returns whether it was kept. Used by guards
    /// on drop, by `put` and by `prefill`.
    #[inline(always)]
    pub(crate) fn recycle(&self, mut value: T) -> bool {
        if std::thread::panicking() {
            // The guard is dropped by unwinding: the object may be half-modified.
            self.discard_panicked(value);
            return false;
        }
        // If `reset` (or `retained_bytes`) panics, unwinding drops `value` here, unpooled,
        // and this counts it; the panic continues to the caller. A drop guard rather than
        // `catch_unwind`, which kept this path from inlining.
        let count_panic = CountOnUnwind(self);
        value.reset();
        let bytes = value.retained_bytes();
        std::mem::forget(count_panic);
        self.keep(Idle { value, bytes })
    }

    pub(crate) fn count_detached(&self) {
        self.depot.counters.add(&self.depot.counters.detached, 1);
    }

    fn discard_panicked(&self, value: T) {
        self.depot.counters.add(&self.depot.counters.panicked, 1);
        // Its destructor may panic too; that must not escape a drop during unwinding.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
    }

    #[inline(always)]
    fn keep(&self, idle: Idle<T>) -> bool {
        if idle.bytes > self.limits.max_object_bytes {
            self.depot.counters.add(&self.depot.counters.too_large, 1);
            drop(idle);
            return false;
        }
        #[cfg(feature = "chaos")]
        if crate::chaos::discard_return() {
            self.depot.counters.add(&self.depot.counters.over_limit, 1);
            drop(idle);
            return false;
        } else if crate::chaos::return_to_depot() {
            return self.keep_slow(None, idle);
        }
        let local = self.local();
        let idle = match local {
            Some(local) => match local.push(idle, self.depot.epoch(), &self.limits) {
                Ok(()) => {
                    local.returned.bump();
                    return true;
                }
                Err(idle) => idle,
            },
            None => idle,
        };
        self.keep_slow(local, idle)
    }

    /// The thread cache is full, out of budget or behind a sweep: trade with the depot.
    #[cold]
    fn keep_slow(&self, local: Option<&LocalCache<T>>, idle: Idle<T>) -> bool {
        let mut garbage = Garbage::default();
        let refused = {
            let mut depot = self.depot.lock();
            let epoch = self.depot.epoch_locked(&depot);
            let idle = match local {
                Some(local) => {
                    local.age(&mut depot, epoch, &mut garbage);
                    local
                        .push(idle, epoch, &self.limits)
                        .or_else(|idle| local.spill(idle, &mut depot, &self.limits))
                        .err()
                }
                None => Some(idle),
            };
            idle.and_then(|idle| depot.push_one(idle, &self.limits, &mut garbage).err())
        };
        garbage.dispose(&self.depot.counters);
        let counters = &self.depot.counters;
        match refused {
            Some(idle) => {
                counters.add(&counters.over_limit, 1);
                drop(idle);
                false
            }
            None => {
                match local {
                    Some(local) => local.returned.bump(),
                    None => counters.add(&counters.returned, 1),
                }
                true
            }
        }
    }
}

/// Counts an object as discarded for a panic if dropped, which happens only while its reset
/// unwinds (`recycle` forgets it otherwise).
struct CountOnUnwind<'a, T>(&'a Pool<T>);

impl<T> Drop for CountOnUnwind<'_, T> {
    fn drop(&mut self) {
        let counters = &self.0.depot.counters;
        counters.add(&counters.panicked, 1);
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

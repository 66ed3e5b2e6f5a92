//! [`PoolBuilder`]: limits, aging and `init` for a [`Pool`].

use crate::core::Core;
use crate::limits::{Limits, ThreadCapsSet};
use crate::pool::{Init, Pool};
use crate::reset::Reset;
use crate::sync::Arc;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

/// Configures a [`Pool`]; made by [`Pool::builder`].
///
/// Every limit is optional. The defaults:
///
/// | setting | default |
/// |---|---|
/// | [`thread_cache`](PoolBuilder::thread_cache) | 16 objects per thread, or an eighth of `max_idle` if that is smaller |
/// | [`thread_cache_bytes`](PoolBuilder::thread_cache_bytes) | no limit, or an eighth of `max_idle_bytes` if that is set |
/// | [`max_idle`](PoolBuilder::max_idle) | no limit |
/// | [`max_idle_bytes`](PoolBuilder::max_idle_bytes) | no limit |
/// | [`max_object_bytes`](PoolBuilder::max_object_bytes) | no limit |
/// | [`age_every`](PoolBuilder::age_every) | never: call [`Pool::sweep`] yourself |
///
/// `F` is the `init` function once [`init`](PoolBuilder::init) is called; until then
/// (`NoInit`), `build` needs `T: Default`.
///
/// # Examples
///
/// ```
/// use pool_core::Pool;
///
/// let pool = Pool::<Vec<u8>>::builder()
///     .thread_cache(4)
///     .max_idle(64)
///     .max_idle_bytes(8 << 20)
///     .max_object_bytes(1 << 20)
///     .build();
/// let mut big = pool.get();
/// big.reserve(4 << 20); // grew past the largest object worth keeping
/// drop(big);
/// assert_eq!(pool.stats().discarded.too_large, 1);
/// ```
#[must_use = "a builder does nothing until `.build()`"]
pub struct PoolBuilder<T, F = NoInit> {
    limits: Limits,
    /// Which of `thread_cache` and `thread_cache_bytes` were set (the others follow
    /// `max_idle` and `max_idle_bytes`).
    thread_caps_set: ThreadCapsSet,
    aging: Option<Aging<T>>,
    init: F,
    _marker: PhantomData<fn() -> T>,
}

/// The builder's `init` before [`PoolBuilder::init`] is called: `T::default`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoInit;

/// An aging interval and the function that registers a pool's core with the aging thread
/// (captured where `T: Send + 'static` is known).
struct Aging<T> {
    every: Duration,
    register: fn(&Arc<Core<T>>, Duration),
}

impl<T: Reset> PoolBuilder<T> {
    pub(crate) fn new() -> Self {
        Self {
            limits: Limits::DEFAULT,
            thread_caps_set: ThreadCapsSet::default(),
            aging: None,
            init: NoInit,
            _marker: PhantomData,
        }
    }
}

impl<T: Reset, F> PoolBuilder<T, F> {
    /// The most idle objects one thread's cache keeps (default 16, or an eighth of
    /// [`max_idle`](PoolBuilder::max_idle) if that is smaller, so that one thread's
    /// reservation never takes the whole budget: under 8 idle objects in all, caches are
    /// off). `0` turns thread caches off: every get and return then goes to the shared
    /// depot, under its lock. Values above 4,096 are clamped to 4,096 (a thread cache
    /// allocates room for its objects up front).
    ///
    /// Idle memory in thread caches is bounded by (threads alive at once) x this. A thread
    /// moves half of it to or from the depot at a time.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool = Pool::<Vec<u8>>::builder().thread_cache(4).build();
    /// let held: Vec<_> = (0..10).map(|_| pool.get()).collect();
    /// drop(held); // four stay with this thread, the rest go to the shared depot
    /// assert_eq!(pool.stats().idle, 10);
    /// ```
    pub fn thread_cache(mut self, objects: usize) -> Self {
        self.limits.thread_cache.objects = objects;
        self.thread_caps_set.objects = true;
        self
    }

    /// The most heap bytes (by [`Reset::retained_bytes`]) one thread's cache keeps
    /// (default: no limit, or an eighth of [`max_idle_bytes`](PoolBuilder::max_idle_bytes)
    /// when that is set, so that one thread's reservation never takes the whole budget).
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool = Pool::<Vec<u8>>::builder()
    ///     .thread_cache_bytes(64 * 1024)
    ///     .init(|| Vec::with_capacity(16 * 1024))
    ///     .build();
    /// drop(pool.get());
    /// assert_eq!(pool.stats().idle_bytes, 16 * 1024);
    /// ```
    pub fn thread_cache_bytes(mut self, bytes: usize) -> Self {
        self.limits.thread_cache.bytes = bytes;
        self.thread_caps_set.bytes = true;
        self
    }

    /// The most idle objects in the whole pool: thread caches, depot and victim generation
    /// together (default: no limit). A return over it is dropped and counted in
    /// [`Discarded::over_limit`](crate::Discarded::over_limit).
    ///
    /// Thread caches reserve their share of this ahead of use (at most their own cap), so a
    /// thread can fill its cache without shared writes; a reservation goes back when the
    /// cache ages, or is collected after its thread exits. A thread keeps its reservation
    /// while it uses the objects it took back out, so a cap you set with
    /// [`thread_cache`](PoolBuilder::thread_cache) near this limit can refuse other threads'
    /// returns until the next sweep. The default cap (an eighth of this) keeps one thread from
    /// doing that; eight threads that each hold their share out together can, until they
    /// return objects or a sweep shrinks their reservations to what their caches hold.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool = Pool::<String>::builder().max_idle(2).build();
    /// let held: Vec<_> = (0..5).map(|_| pool.get()).collect();
    /// drop(held);
    /// let stats = pool.stats();
    /// assert_eq!((stats.idle, stats.discarded.over_limit), (2, 3));
    /// ```
    pub fn max_idle(mut self, objects: usize) -> Self {
        self.limits.max_idle.objects = objects;
        self
    }

    /// The most heap bytes the idle objects of the whole pool may keep, by
    /// [`Reset::retained_bytes`] (default: no limit). Counted like
    /// [`max_idle`](PoolBuilder::max_idle).
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool = Pool::<Vec<u8>>::builder()
    ///     .max_idle_bytes(8 * 1024)
    ///     .init(|| Vec::with_capacity(4096))
    ///     .build();
    /// let held: Vec<_> = (0..4).map(|_| pool.get()).collect();
    /// drop(held);
    /// assert!(pool.stats().idle_bytes <= 8 * 1024);
    /// ```
    pub fn max_idle_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_idle.bytes = bytes;
        self
    }

    /// The largest object worth keeping, by [`Reset::retained_bytes`] after reset (default:
    /// no limit). A bigger one is dropped on return and counted in
    /// [`Discarded::too_large`](crate::Discarded::too_large): this is what stops a buffer
    /// that grew for one huge request from pinning that memory for good.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool = Pool::<Vec<u8>>::builder().max_object_bytes(1 << 20).build();
    /// let mut buf = pool.get();
    /// buf.reserve(4 << 20); // grew for one big request
    /// drop(buf);
    /// assert_eq!(pool.stats().discarded.too_large, 1);
    /// ```
    pub fn max_object_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_object_bytes = bytes;
        self
    }

    /// Sets how new objects are made (default: `T::default()`). `init` runs outside any
    /// lock or borrow of the pool. It makes new objects only: a reused object is the last
    /// user's after [`Reset::reset`](crate::Reset::reset), so give `init` only what `reset`
    /// keeps, or make `reset` restore the rest ([`Pool::with_init`](crate::Pool::with_init)).
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool = Pool::builder().init(|| String::with_capacity(256)).build();
    /// assert!(pool.get().capacity() >= 256);
    /// ```
    pub fn init<G>(self, init: G) -> PoolBuilder<T, G>
    where
        G: Fn() -> T + Send + Sync + 'static,
    {
        PoolBuilder {
            limits: self.limits,
            thread_caps_set: self.thread_caps_set,
            aging: self.aging,
            init,
            _marker: PhantomData,
        }
    }

    /// Sweeps the pool every `interval` without anyone calling [`Pool::sweep`].
    ///
    /// How: one background thread per process (`pool-core-aging`, started on first use)
    /// sleeps until the next pool is due and sweeps it. It holds only a weak reference, so
    /// dropping the pool ends its aging. So a pool that gets no more traffic frees its idle
    /// objects within two intervals, on that thread (hence `T: Send`), including those in
    /// the caches of threads that went quiet or exited (see [`Pool::sweep`]).
    ///
    /// An interval too long to represent as a point in time (such as `Duration::MAX`)
    /// means never; intervals below a millisecond are raised to one. Under `cfg(loom)` no
    /// thread is started.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use pool_core::Pool;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::<Vec<u8>>::builder()
    ///     .age_every(Duration::from_secs(30))
    ///     .build();
    /// drop(pool.get()); // freed within two intervals if nobody asks for it again
    /// // (`no_run`: the aging thread would outlive the example, which miri reports.)
    /// ```
    pub fn age_every(mut self, interval: Duration) -> Self
    where
        T: Send + 'static,
    {
        self.aging = Some(Aging {
            every: interval,
            register: crate::aging::register_pool::<T>,
        });
        self
    }

    fn build_with(self, init: impl FnOnce(F) -> Init<T>) -> Pool<T> {
        let init = init(self.init);
        let limits = self.limits.normalized(self.thread_caps_set);
        let Some(aging) = self.aging else {
            let pool = Pool::from_parts(limits, init);
            // Loom threads must not race to make the core inside std's `OnceLock`, which
            // loom cannot see: the models build their pools here, so make it now.
            #[cfg(loom)]
            let _ = pool.core();
            return pool;
        };
        let core = Arc::new(Core::new(limits));
        (aging.register)(&core, aging.every);
        Pool::with_core(limits, init, core)
    }
}

impl<T: Reset + Default> PoolBuilder<T, NoInit> {
    /// Builds the pool; it makes objects with `T::default()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool: Pool<Vec<u32>> = Pool::builder().thread_cache(8).build();
    /// assert!(pool.get().is_empty());
    /// ```
    pub fn build(self) -> Pool<T> {
        self.build_with(|NoInit| Init::Default(T::default))
    }
}

impl<T: Reset, F> PoolBuilder<T, F>
where
    F: Fn() -> T + Send + Sync + 'static,
{
    /// Builds the pool; it makes objects with the `init` function.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool = Pool::builder().init(|| vec![0u8; 64]).build();
    /// assert_eq!(pool.get().len(), 64);
    /// ```
    pub fn build(self) -> Pool<T> {
        self.build_with(|init| Init::Custom(Box::new(init)))
    }
}

impl<T, F> fmt::Debug for PoolBuilder<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("limits", &self.limits)
            .field("age_every", &self.aging.as_ref().map(|aging| aging.every))
            .finish_non_exhaustive()
    }
}

//! Counters and the [`Stats`] snapshot.
//!
//! Events on the hot path (a get served from a thread cache, a return kept there) are counted
//! in that cache with a plain load and store ([`OwnedCounter`]): only the party holding the
//! cache writes them, so no read-modify-write is needed. Rarer events are counted in
//! [`SharedCounters`] with `fetch_add`.

use crate::sync::{AtomicU64, Ordering};
use std::fmt;

/// A counter written by one party at a time (a thread cache's owner, or whoever holds its
/// state): an atomic so other threads may read it, bumped without a read-modify-write.
#[derive(Debug, Default)]
pub(crate) struct OwnedCounter(AtomicU64);

impl OwnedCounter {
    /// Adds one. Only the party holding the cache's state may call this.
    #[inline(always)]
    pub(crate) fn bump(&self) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A counter any thread may bump: for events off the hot path.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub(crate) fn add(&self, n: usize) {
        self.0.fetch_add(n as u64, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn bump(&self) {
        self.add(1);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters for events off the hot path, shared by all threads.
#[derive(Debug, Default)]
pub(crate) struct SharedCounters {
    pub(crate) created: Counter,
    pub(crate) prefilled: Counter,
    pub(crate) reused: Counter,
    pub(crate) returned: Counter,
    pub(crate) adopted: Counter,
    pub(crate) detached: Counter,
    pub(crate) over_limit: Counter,
    pub(crate) too_large: Counter,
    pub(crate) panicked: Counter,
    pub(crate) aged_out: Counter,
    pub(crate) sweeps: Counter,
}

/// A snapshot of what a pool has done and holds, from [`Pool::stats`](crate::Pool::stats).
///
/// Counts are cumulative since the pool was made. Under concurrent use the fields are read
/// one by one, so they may disagree slightly; when the pool is quiet they balance:
/// `created + adopted == idle + in_use() + detached + discarded.total()`. `idle` and
/// `idle_bytes` never read above the pool's `max_idle` and `max_idle_bytes`, even while
/// other threads work.
///
/// # Examples
///
/// ```
/// use pool_core::Pool;
///
/// let pool: Pool<Vec<u8>> = Pool::new();
/// drop(pool.get()); // created, then returned
/// drop(pool.get()); // reused
/// let stats = pool.stats();
/// assert_eq!((stats.created, stats.reused, stats.returned), (1, 1, 2));
/// assert_eq!(stats.idle, 1);
/// println!("{stats}");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Objects made by the pool's `init`: because no idle one was at hand (misses), or by
    /// [`prefill`](crate::Pool::prefill).
    pub created: u64,
    /// Of `created`, the objects made by [`prefill`](crate::Pool::prefill): made ahead of
    /// need, so not misses.
    pub prefilled: u64,
    /// Gets served with an idle object (hits).
    pub reused: u64,
    /// Objects kept for reuse: reset on a guard's drop or by [`put`](crate::Pool::put), or
    /// made by [`prefill`](crate::Pool::prefill).
    pub returned: u64,
    /// Objects handed in with [`put`](crate::Pool::put): made elsewhere, or taken out with
    /// `into_inner` and put back.
    pub adopted: u64,
    /// Objects taken out for good with `into_inner`.
    pub detached: u64,
    /// Objects the pool dropped instead of keeping, by reason.
    pub discarded: Discarded,
    /// Idle objects held now: thread caches, depot and victim generation.
    pub idle: usize,
    /// Heap bytes the idle objects keep, by [`Reset::retained_bytes`](crate::Reset::retained_bytes).
    pub idle_bytes: usize,
    /// Aging cycles run, by [`sweep`](crate::Pool::sweep) or the aging thread.
    pub sweeps: u64,
}

/// Objects a pool dropped instead of keeping, by reason. Part of [`Stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Discarded {
    /// Returned when the pool already held its maximum idle objects or bytes.
    pub over_limit: u64,
    /// Returned with more retained bytes than the pool's largest object worth keeping.
    pub too_large: u64,
    /// Their `reset` (or `retained_bytes`) panicked, or their guard was dropped while its
    /// thread was unwinding from a panic, so their state could not be trusted.
    pub panicked: u64,
    /// Idle through two sweeps, or pushed out of the victim generation by fresh returns.
    pub aged_out: u64,
    /// [`BufferPool`](crate::BufferPool) only: returned with less capacity than the smallest
    /// class (shrunk, or made elsewhere and handed in).
    pub too_small: u64,
}

impl Discarded {
    /// All discarded objects.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool = Pool::<String>::builder().max_idle(1).build();
    /// let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
    /// drop(held);
    /// assert_eq!(pool.stats().discarded.total(), 2);
    /// ```
    pub fn total(&self) -> u64 {
        self.over_limit
            .saturating_add(self.too_large)
            .saturating_add(self.panicked)
            .saturating_add(self.aged_out)
            .saturating_add(self.too_small)
    }
}

impl Stats {
    /// Objects out with users now, derived from the balance
    /// `created + adopted == idle + in_use + detached + discarded`. Exact when the pool is
    /// quiet, approximate under concurrent use.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool: Pool<String> = Pool::new();
    /// let held = pool.get();
    /// assert_eq!(pool.stats().in_use(), 1);
    /// drop(held);
    /// assert_eq!(pool.stats().in_use(), 0);
    /// ```
    pub fn in_use(&self) -> u64 {
        (self.created.saturating_add(self.adopted)).saturating_sub(
            (self.idle as u64)
                .saturating_add(self.detached)
                .saturating_add(self.discarded.total()),
        )
    }

    /// The share of gets served from the pool, from 0.0 to 1.0 (1.0 before any get):
    /// `reused / (reused + misses)`, where the misses are `created - prefilled`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::Pool;
    ///
    /// let pool: Pool<String> = Pool::new();
    /// drop(pool.get()); // a miss
    /// drop(pool.get()); // a hit
    /// assert_eq!(pool.stats().hit_rate(), 0.5);
    ///
    /// let blocks: Pool<Vec<u8>> = Pool::new();
    /// blocks.prefill(2);
    /// let _both = (blocks.get(), blocks.get()); // two hits: made ahead, not missed
    /// assert_eq!(blocks.stats().hit_rate(), 1.0);
    /// ```
    pub fn hit_rate(&self) -> f64 {
        let misses = self.created.saturating_sub(self.prefilled);
        let gets = misses.saturating_add(self.reused);
        if gets == 0 {
            1.0
        } else {
            self.reused as f64 / gets as f64
        }
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "created {}", self.created)?;
        if self.prefilled > 0 {
            write!(f, " (prefilled {})", self.prefilled)?;
        }
        // Shown when there are any, so the books balance on screen after `put`.
        if self.adopted > 0 {
            write!(f, " | adopted {}", self.adopted)?;
        }
        write!(
            f,
            " | reused {} ({:.1}% hits) | returned {} | idle {} ({} B) | in use {} | \
             discarded {} (over limit {}, too large {}, ",
            self.reused,
            self.hit_rate() * 100.0,
            self.returned,
            self.idle,
            self.idle_bytes,
            self.in_use(),
            self.discarded.total(),
            self.discarded.over_limit,
            self.discarded.too_large,
        )?;
        // Only a `BufferPool` refuses buffers for being too small.
        if self.discarded.too_small > 0 {
            write!(f, "too small {}, ", self.discarded.too_small)?;
        }
        write!(
            f,
            "panicked {}, aged out {}) | detached {} | sweeps {}",
            self.discarded.panicked, self.discarded.aged_out, self.detached, self.sweeps,
        )
    }
}

//! [`BufferStats`]: what a [`BufferPool`](super::BufferPool) has done and holds, in total
//! (the same [`Stats`] a [`Pool`](crate::Pool) gives) and per class.

use super::calibrate::human_bytes;
use crate::stats::{Discarded, Stats};
use std::fmt;

/// Statistics of a [`BufferPool`](super::BufferPool); `Display` prints a table with a
/// legend.
///
/// The totals balance like a pool's: `created + adopted == idle + in_use() + detached +
/// discarded.total()` when the pool is quiet. Under concurrent use the figures are read one by
/// one: a buffer on its way from a thread's cache to a depot can be missed, and one that just
/// changed class in a thread's cache can show in both classes' `idle` (and twice in
/// `total.idle`), but idle bytes never read above `max_idle_bytes`: the snapshot holds the
/// depots' locks and counts each thread's cache for at most what it reserved of that budget.
/// Each class balances too, counting buffers that changed class: one that grew while in use
/// leaves the class it came from (`moved_out`) and joins the class of its new capacity
/// (`moved_in`).
///
/// # Examples
///
/// ```
/// use pool_core::BufferPool;
///
/// let buffers = BufferPool::new();
/// drop(buffers.get(10_000));
/// let stats = buffers.stats();
/// assert_eq!((stats.total.created, stats.total.idle), (1, 1));
/// assert_eq!(stats.total.in_use(), 0);
/// println!("{stats}");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BufferStats {
    /// Every class together, and the requests beyond the top class.
    pub total: Stats,
    /// One row per class, ascending by capacity.
    pub classes: Vec<ClassStats>,
    /// Requests larger than the top class (served with a fresh buffer, never kept), and
    /// buffers handed in with [`put`](super::BufferPool::put) that fit no class. Its
    /// `capacity` is 0.
    pub unpooled: ClassStats,
    /// Bytes of idle buffers in threads' own caches now.
    pub thread_cached_bytes: usize,
    /// The most bytes all threads' caches had reserved at once (what they may hold is
    /// bounded by this).
    pub thread_cached_peak: usize,
    /// Threads with a cache that holds a reservation now.
    pub thread_caches: usize,
    /// The most bytes one thread's cache may hold.
    pub thread_cache_limit: usize,
    /// The largest buffer capacity kept (the top class, or calibrated).
    pub keep_max: usize,
}

/// One class's row in [`BufferStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClassStats {
    /// The class's buffer capacity.
    pub capacity: usize,
    /// Gets that asked for this class (whichever class served them).
    pub requests: u64,
    /// Buffers allocated in this class: because no idle one fitted, or by
    /// [`prefill`](super::BufferPool::prefill).
    pub created: u64,
    /// Of `created`, the buffers made by [`prefill`](super::BufferPool::prefill), ahead of
    /// need.
    pub prefilled: u64,
    /// Gets served with an idle buffer of this class.
    pub reused: u64,
    /// Buffers of this class kept on return.
    pub returned: u64,
    /// Buffers handed in with [`put`](super::BufferPool::put).
    pub adopted: u64,
    /// Buffers that joined this class after growing (or shrinking) while in use.
    pub moved_in: u64,
    /// Buffers taken from this class that came back with a capacity of another class.
    pub moved_out: u64,
    /// Buffers taken out for good with `into_inner`.
    pub detached: u64,
    /// Buffers of this class dropped instead of kept, by reason.
    pub discarded: Discarded,
    /// Idle buffers of this class, in threads' caches and the shared depot.
    pub idle: usize,
    /// Their bytes (capacity).
    pub idle_bytes: usize,
}

impl ClassStats {
    /// Whether anything ever happened in this class (the rows `Display` shows).
    fn is_used(&self) -> bool {
        self.requests
            .saturating_add(self.created)
            .saturating_add(self.adopted)
            .saturating_add(self.moved_in)
            .saturating_add(self.discarded.total())
            > 0
            || self.idle > 0
    }

    /// Buffers of this class out with users now, from the balance
    /// `created + adopted + moved_in == idle + in_use + detached + discarded + moved_out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::new();
    /// let held = buffers.get(4096);
    /// assert_eq!(buffers.stats().classes[0].in_use(), 1);
    /// drop(held);
    /// ```
    pub fn in_use(&self) -> u64 {
        self.created
            .saturating_add(self.adopted)
            .saturating_add(self.moved_in)
            .saturating_sub(
                (self.idle as u64)
                    .saturating_add(self.detached)
                    .saturating_add(self.discarded.total())
                    .saturating_add(self.moved_out),
            )
    }

    /// The share of this class's requests served without an allocation (buffers made by
    /// [`prefill`](super::BufferPool::prefill) were not allocated for a request).
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::new();
    /// drop(buffers.get(4096)); // allocated
    /// drop(buffers.get(4096)); // reused
    /// assert_eq!(buffers.stats().classes[0].hit_rate(), 0.5);
    ///
    /// let blocks = BufferPool::new();
    /// blocks.prefill(4096, 2);
    /// let _both = (blocks.get(4096), blocks.get(4096)); // made ahead: not allocated for them
    /// assert_eq!(blocks.stats().classes[0].hit_rate(), 1.0);
    /// ```
    pub fn hit_rate(&self) -> f64 {
        let allocated = self.created.saturating_sub(self.prefilled);
        if self.requests == 0 {
            1.0
        } else {
            1.0 - (allocated as f64 / self.requests as f64).min(1.0)
        }
    }
}

impl fmt::Display for BufferStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>9} {:>9} {:>8} {:>8} {:>8} {:>6} {:>6} {:>10} {:>9} {:>9} {:>9}",
            "class",
            "requests",
            "created",
            "adopted",
            "reused",
            "hit%",
            "idle",
            "idle bytes",
            "moved",
            "dropped",
            "aged out"
        )?;
        let rows = self
            .classes
            .iter()
            .map(|row| (human_bytes(row.capacity), row))
            // Requests beyond the top class, and buffers that fit no class (too big or too
            // small): `unpooled`.
            .chain([("unpooled".to_owned(), &self.unpooled)]);
        for (name, row) in rows.filter(|(_, row)| row.is_used()) {
            // A class no request asked for has no hit rate.
            let hits = if row.requests == 0 {
                "-".to_owned()
            } else {
                format!("{:.1}", row.hit_rate() * 100.0)
            };
            writeln!(
                f,
                "{:>9} {:>9} {:>8} {:>8} {:>8} {:>6} {:>6} {:>10} {:>9} {:>9} {:>9}",
                name,
                row.requests,
                row.created,
                row.adopted,
                row.reused,
                hits,
                row.idle,
                row.idle_bytes,
                format!("+{}/-{}", row.moved_in, row.moved_out),
                row.discarded.total() - row.discarded.aged_out,
                row.discarded.aged_out,
            )?;
        }
        writeln!(
            f,
            "idle {} buffers, {} (threads' caches {} now, {} at most at once, {} each at most); keep up to {}",
            self.total.idle,
            human_bytes(self.total.idle_bytes),
            human_bytes(self.thread_cached_bytes),
            human_bytes(self.thread_cached_peak),
            human_bytes(self.thread_cache_limit),
            human_bytes(self.keep_max),
        )?;
        write!(
            f,
            "requests: asked for the class; created: allocated there; adopted: handed in by put; \
             reused: served from it; moved: +joined/-left after changing size; dropped: over a \
             limit, too large or small, or mid-panic; aged out: idle for two sweeps"
        )
    }
}

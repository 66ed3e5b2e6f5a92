//! [`BufferPool`]: byte buffers by size class, for workloads whose buffers vary in size.
//!
//! A single pool of `Vec<u8>` keeps whatever it is handed, so one huge request pins a huge
//! buffer for every later small one (golang/go#23199). Here buffers are kept by class,
//! keyed by capacity: a get takes a buffer of the smallest class that fits (or an idle one
//! of a bigger class, by default any: see
//! [`borrow_classes`](BufferPoolBuilder::borrow_classes)), and a return goes to the class of the
//! buffer's capacity *now*, so a buffer that grew while in use moves up a class instead of
//! being wasted. Buffers larger than the top class are never kept.
//!
//! Levels, as for [`Pool`](crate::Pool): each thread's own cache (`shelf.rs`: the buffers
//! it released last, across classes, bounded in bytes), a shared depot per class
//! (`depot.rs`), and victim generations in both, so idle buffers are freed by the second
//! sweep. One byte budget covers them all. The files: `classes.rs` (class spacing and
//! lookup), `calibrate.rs`, `stats.rs`, `builder.rs`, `guard.rs` (the buffers handed out),
//! `shared.rs` (the get and return paths).

mod builder;
mod calibrate;
mod classes;
mod depot;
mod guard;
mod shared;
mod shelf;
mod stats;
mod trim;

pub use builder::BufferPoolBuilder;
pub use calibrate::Calibration;
pub use guard::{Buffer, BufferOwned};
pub use stats::{BufferStats, ClassStats};

use crate::sync::Arc;
use shared::Shared;

/// Byte buffers pooled by size class.
///
/// [`get(len)`](BufferPool::get) returns a [`Buffer`] that derefs to a `Vec<u8>` with
/// **length 0** and capacity at least `len`, like `Vec::with_capacity(len)`: write with
/// `extend_from_slice`, `resize` or `std::io::Write`. Dropping it clears the buffer and
/// returns it to the class of its capacity.
///
/// The defaults (see [`BufferPoolBuilder`] for each): classes are the powers of two from
/// 4 KiB to 4 MiB; each thread keeps up to
/// [`DEFAULT_THREAD_CACHE_BYTES`](BufferPoolBuilder::DEFAULT_THREAD_CACHE_BYTES) of idle
/// buffers of its own; the shared depots have no byte limit; nothing ages until you call
/// [`sweep`](BufferPool::sweep) or build with [`age_every`](BufferPoolBuilder::age_every).
///
/// A `BufferPool` is a handle: cloning it is cheap and every clone is the same pool, so a
/// server can hand one to each task.
///
/// # Examples
///
/// ```
/// use pool_core::BufferPool;
///
/// let buffers = BufferPool::new();
/// let mut buf = buffers.get(100_000);
/// assert!(buf.is_empty() && buf.capacity() >= 100_000);
/// buf.extend_from_slice(&[1; 100_000]);
/// let first = buf.as_ptr();
/// drop(buf);
///
/// let again = buffers.get(70_000); // same class (128 KiB): the same buffer
/// assert!(again.is_empty());
/// assert_eq!(again.as_ptr(), first);
/// assert_eq!(buffers.stats().total.reused, 1);
/// ```
#[derive(Clone)]
pub struct BufferPool {
    shared: Arc<Shared>,
}

impl Default for BufferPool {
    fn default() -> Self {
        Self::new()
    }
}

/// The classes, the per-thread limit and the totals of [`stats`](BufferPool::stats).
impl std::fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferPool")
            .field("classes", &self.class_sizes().collect::<Vec<_>>())
            .field("thread_cache_bytes", &self.shared.settings.thread_bytes)
            .field("stats", &self.stats().total)
            .finish_non_exhaustive()
    }
}

impl BufferPool {
    /// A pool with the default classes and limits (see [`BufferPoolBuilder`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::new();
    /// assert_eq!(buffers.class_sizes().next(), Some(4096));
    /// assert_eq!(buffers.class_sizes().last(), Some(4 << 20));
    /// ```
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for classes, limits, aging and calibration.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().classes(16 * 1024, 1 << 20).build();
    /// assert!(buffers.get(10).capacity() >= 16 * 1024);
    /// ```
    pub fn builder() -> BufferPoolBuilder {
        BufferPoolBuilder::new()
    }

    /// A buffer with length 0 and capacity at least `len`: the one this thread released
    /// last that fits, else an idle one from the shared depot, else a new one of the
    /// smallest class that fits. A request larger than the top class gets a fresh buffer
    /// that is not kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::new();
    /// let buf = buffers.get(5_000);
    /// assert_eq!(buf.capacity(), 8 * 1024); // the 8 KiB class
    /// ```
    ///
    /// # Panics
    ///
    /// With "capacity overflow" if `len` exceeds `isize::MAX`, as `Vec::with_capacity`
    /// does; the pool counts nothing for such a request and stays usable.
    #[inline]
    pub fn get(&self, len: usize) -> Buffer<'_> {
        let (buf, origin) = self.shared.take(len);
        Buffer::new(&self.shared, buf, origin)
    }

    /// Like [`get`](BufferPool::get), but the buffer holds a handle to the pool: it is
    /// `'static` and `Send`, for tasks and other threads, and (with the `bytes` feature)
    /// can be frozen into `bytes::Bytes` without a copy.
    ///
    /// # Panics
    ///
    /// As [`get`](BufferPool::get), if `len` exceeds `isize::MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::{BufferOwned, BufferPool};
    ///
    /// let buffers = BufferPool::new();
    /// let buf: BufferOwned = buffers.get_owned(4096);
    /// let handle = std::thread::spawn(move || buf.capacity());
    /// assert!(handle.join().unwrap() >= 4096);
    /// ```
    #[inline]
    pub fn get_owned(&self, len: usize) -> BufferOwned {
        let (buf, origin) = self.shared.take(len);
        BufferOwned::new(Arc::clone(&self.shared), buf, origin)
    }

    /// Clears `buf` and keeps it in the class of its capacity (counted as adopted), or
    /// drops it if it fits no class or a limit is reached. Also while the thread unwinds
    /// from a panic (a `Drop` giving buffers back): unlike a guard dropped by the unwinding,
    /// whose buffer may be half written, `buf` is whole.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::new();
    /// buffers.put(Vec::with_capacity(64 * 1024));
    /// assert_eq!(buffers.get(60_000).capacity(), 64 * 1024);
    /// ```
    pub fn put(&self, buf: Vec<u8>) {
        self.shared.adopt(buf);
    }

    /// Allocates `count` buffers of the class for `len` now and keeps them idle: the
    /// preallocated free list of fixed-size blocks. Returns how many were kept (it stops at
    /// the first one a limit refuses). They go to this thread's cache first, then to the
    /// shared depot where any thread finds them.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let blocks = BufferPool::new();
    /// assert_eq!(blocks.prefill(16 * 1024, 32), 32);
    /// assert_eq!(blocks.stats().total.idle_bytes, 32 * 16 * 1024);
    /// ```
    pub fn prefill(&self, len: usize, count: usize) -> usize {
        let class = self.shared.classes.for_request(len);
        if class == self.shared.classes.count() {
            return 0;
        }
        let mut kept = 0;
        while kept < count && self.shared.prefill_one(class) {
            kept += 1;
        }
        kept
    }

    /// One aging cycle for every level (see [`Pool::sweep`](crate::Pool::sweep)); with
    /// automatic calibration on, also recalibrates.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::new();
    /// drop(buffers.get(4096));
    /// buffers.sweep();
    /// buffers.sweep();
    /// assert_eq!(buffers.stats().total.idle, 0);
    /// ```
    pub fn sweep(&self) {
        self.shared.sweep();
    }

    /// Measures the requests since the last calibration and applies the result: returned
    /// buffers larger than [`Calibration::max_size`] are no longer kept.
    ///
    /// With too few requests to go on (under 1,000), it changes nothing and says so.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::new();
    /// for i in 0..2_000 {
    ///     let len = if i % 100 == 0 { 2_000_000 } else { 20_000 };
    ///     drop(buffers.get(len));
    /// }
    /// let calibration = buffers.calibrate();
    /// assert_eq!(calibration.common_size, Some(32 * 1024));
    /// // 99% of the requests fit 32 KiB, past the rule's 95%: bigger buffers are not kept.
    /// assert_eq!(calibration.max_size, 32 * 1024);
    /// println!("{calibration}");
    /// ```
    pub fn calibrate(&self) -> Calibration {
        self.shared.calibrate(true)
    }

    /// Like [`calibrate`](BufferPool::calibrate), but only reports.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::new();
    /// drop(buffers.get(10_000));
    /// assert!(!buffers.recommend().applied);
    /// ```
    pub fn recommend(&self) -> Calibration {
        self.shared.calibrate(false)
    }

    /// Totals, per-class figures and what the thread caches hold; `Display` prints a table.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::new();
    /// drop(buffers.get(10_000));
    /// assert_eq!(buffers.stats().total.idle, 1);
    /// ```
    pub fn stats(&self) -> BufferStats {
        self.shared.stats()
    }

    /// The class capacities, ascending.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let sizes: Vec<usize> = BufferPool::builder().classes(4096, 16384).build().class_sizes().collect();
    /// assert_eq!(sizes, [4096, 8192, 16384]);
    /// ```
    pub fn class_sizes(&self) -> impl Iterator<Item = usize> + '_ {
        self.shared.classes.sizes().iter().copied()
    }
}

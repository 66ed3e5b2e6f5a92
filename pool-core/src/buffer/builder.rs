//! [`BufferPoolBuilder`]: classes, limits, aging and calibration for a
//! [`BufferPool`](super::BufferPool).

use super::BufferPool;
use super::classes::{Classes, MAX_CLASS, check_bounds, geometric_sizes};
use super::shared::{Settings, Shared};
use crate::aging;
use crate::limits::{Limits, UNLIMITED};
use crate::sync::{Arc, Weak};
use std::time::Duration;

/// Configures a [`BufferPool`]; made by [`BufferPool::builder`].
///
/// The defaults, which [`BufferPool::new`] uses:
///
/// | setting | default |
/// |---|---|
/// | [`classes`](BufferPoolBuilder::classes) | 4 KiB to 4 MiB |
/// | [`steps_per_doubling`](BufferPoolBuilder::steps_per_doubling) | 1 (powers of two) |
/// | [`thread_cache_bytes`](BufferPoolBuilder::thread_cache_bytes) | [`DEFAULT_THREAD_CACHE_BYTES`](BufferPoolBuilder::DEFAULT_THREAD_CACHE_BYTES) per thread, or an eighth of `max_idle_bytes` if that is smaller; at most 32 buffers per thread whatever the bytes |
/// | [`max_idle_bytes`](BufferPoolBuilder::max_idle_bytes) | no limit |
/// | [`borrow_classes`](BufferPoolBuilder::borrow_classes) | any bigger class |
/// | [`age_every`](BufferPoolBuilder::age_every) | never: call [`BufferPool::sweep`] yourself |
/// | [`auto_calibrate`](BufferPoolBuilder::auto_calibrate) | off |
/// | [`zero_on_return`](BufferPoolBuilder::zero_on_return) | off |
/// | [`trim_on_sweep`](BufferPoolBuilder::trim_on_sweep) | on |
///
/// # Examples
///
/// ```
/// use pool_core::BufferPool;
/// use std::time::Duration;
///
/// let buffers = BufferPool::builder()
///     .classes(8 * 1024, 1 << 20)
///     .steps_per_doubling(2)
///     .thread_cache_bytes(512 * 1024)
///     .max_idle_bytes(64 << 20)
///     .build();
/// assert_eq!(buffers.class_sizes().next(), Some(8 * 1024));
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `.build()`"]
pub struct BufferPoolBuilder {
    /// Smallest and largest class, for the geometric spacing below.
    range: (usize, usize),
    /// Classes per doubling of capacity: 1 gives powers of two.
    steps_per_doubling: u32,
    /// Exact capacities, overriding `range` and `steps_per_doubling`.
    exact: Option<Vec<usize>>,
    /// `None` until set: then the default, or an eighth of `max_idle_bytes`.
    thread_cache_bytes: Option<usize>,
    max_idle_bytes: usize,
    borrow_classes: Option<usize>,
    age_every: Option<Duration>,
    auto_calibrate: bool,
    zero_on_return: bool,
    trim_on_sweep: bool,
}

impl BufferPoolBuilder {
    /// Default bytes of idle buffers one thread keeps in its own cache, across all
    /// classes. Chosen with `examples/proxy_buffers.rs` (see the crate docs' "Choosing
    /// limits").
    pub const DEFAULT_THREAD_CACHE_BYTES: usize = 256 * 1024;

    pub(crate) fn new() -> Self {
        Self {
            range: (4 * 1024, 4 * 1024 * 1024),
            steps_per_doubling: 1,
            exact: None,
            thread_cache_bytes: None,
            max_idle_bytes: UNLIMITED,
            borrow_classes: None,
            age_every: None,
            auto_calibrate: false,
            zero_on_return: false,
            trim_on_sweep: true,
        }
    }

    /// Classes from `min` (rounded up to a power of two) up to `max` (default 4 KiB to 4 MiB),
    /// spaced by [`steps_per_doubling`](BufferPoolBuilder::steps_per_doubling). The top
    /// class is the largest class size not above `max`: with powers of two, the largest
    /// power of two up to `max`, so `classes(10_000, 3_000_000)` tops out at 2 MiB. If no
    /// power of two lies between them, the one class is `min` itself. Requests above the
    /// top class (which may be below `max`) get a fresh buffer that is never kept.
    ///
    /// Checked by [`build`](BufferPoolBuilder::build), which panics if `min` is 0, `min >
    /// max`, or `max` is above 2^40 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().classes(16 * 1024, 256 * 1024).build();
    /// assert_eq!(buffers.class_sizes().collect::<Vec<_>>(), [16384, 32768, 65536, 131072, 262144]);
    /// ```
    pub fn classes(mut self, min: usize, max: usize) -> Self {
        self.range = (min, max);
        self.exact = None;
        self
    }

    /// Classes per doubling of capacity (default 1: powers of two). A new buffer has up to
    /// 2x the capacity it was asked for with powers of two, about 1.19x with 4 steps for
    /// classes well above a page; finer classes waste less memory per buffer but share
    /// buffers among fewer requests. Capacities between powers of two are rounded up to
    /// whole 4 KiB pages from 4 KiB up (so the doubling from 4 to 8 KiB has no steps with
    /// 4 per doubling), and to whole bytes below. A reused buffer may be bigger still:
    /// requests borrow idle buffers of bigger classes (see
    /// [`borrow_classes`](BufferPoolBuilder::borrow_classes)).
    ///
    /// Checked by [`build`](BufferPoolBuilder::build), which panics unless `steps` is 1 to
    /// 16.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().classes(64 * 1024, 128 * 1024).steps_per_doubling(2).build();
    /// assert_eq!(buffers.class_sizes().collect::<Vec<_>>(), [65536, 94208, 131072]);
    /// ```
    pub fn steps_per_doubling(mut self, steps: u32) -> Self {
        self.steps_per_doubling = steps;
        self.exact = None;
        self
    }

    /// Classes at exactly these capacities (sorted, duplicates removed).
    ///
    /// Checked by [`build`](BufferPoolBuilder::build), which panics if `sizes` is empty,
    /// holds 0, or holds a size above 2^40 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().class_sizes([1500, 9000, 65536]).build();
    /// assert_eq!(buffers.get(1000).capacity(), 1500); // an Ethernet frame
    /// ```
    pub fn class_sizes(mut self, sizes: impl IntoIterator<Item = usize>) -> Self {
        let mut sizes: Vec<usize> = sizes.into_iter().collect();
        sizes.sort_unstable();
        sizes.dedup();
        self.exact = Some(sizes);
        self
    }

    /// The most bytes of idle buffers one thread keeps in its own cache, across all
    /// classes (default [`DEFAULT_THREAD_CACHE_BYTES`](BufferPoolBuilder::DEFAULT_THREAD_CACHE_BYTES),
    /// or an eighth of [`max_idle_bytes`](BufferPoolBuilder::max_idle_bytes) if that is
    /// smaller, so that one thread's reservation never takes the whole budget).
    /// A thread's cache gives each request the buffer this thread released last that fits,
    /// warm in its CPU's cache; what does not fit goes, oldest first, to the shared depot
    /// where any thread finds it. A cache also holds at most 32 buffers, so a get scans
    /// little. Capped at [`max_idle_bytes`](BufferPoolBuilder::max_idle_bytes) if that is
    /// smaller. `0` turns thread caches off.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().thread_cache_bytes(1 << 20).build();
    /// drop(buffers.get(100_000));
    /// assert_eq!(buffers.stats().thread_cached_bytes, 128 * 1024);
    /// ```
    pub fn thread_cache_bytes(mut self, bytes: usize) -> Self {
        self.thread_cache_bytes = Some(bytes);
        self
    }

    /// The most bytes of idle buffers in the whole pool, thread caches included (default:
    /// no limit). A return over it is dropped and counted as `over_limit` in its class; the
    /// class's victim generation gives way first.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().max_idle_bytes(64 * 1024).build();
    /// let held: Vec<_> = (0..4).map(|_| buffers.get(32 * 1024)).collect();
    /// drop(held);
    /// assert!(buffers.stats().total.idle_bytes <= 64 * 1024);
    /// ```
    pub fn max_idle_bytes(mut self, bytes: usize) -> Self {
        self.max_idle_bytes = bytes;
        self
    }

    /// How many bigger classes a request may take an idle buffer from before it allocates
    /// (default: any bigger class; 0 turns borrowing off). A borrowed buffer goes back to
    /// its own class. From a thread's own cache a request takes the newest buffer that fits
    /// (warm in the CPU's cache); from the shared depots, the smallest. Borrowing lets fewer
    /// buffers cover the same peaks, since peaks in different classes rarely coincide.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().borrow_classes(0).build();
    /// drop(buffers.get(64 * 1024));
    /// assert_eq!(buffers.get(4096).capacity(), 4096, "no borrowing: a new 4 KiB buffer");
    /// ```
    pub fn borrow_classes(mut self, classes: usize) -> Self {
        self.borrow_classes = Some(classes);
        self
    }

    /// Sweeps every level every `interval` from the aging thread (see
    /// [`PoolBuilder::age_every`](crate::PoolBuilder::age_every)), so memory falls back
    /// when load falls.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use pool_core::BufferPool;
    /// use std::time::Duration;
    ///
    /// let buffers = BufferPool::builder().age_every(Duration::from_secs(30)).build();
    /// drop(buffers.get(4096)); // freed within two intervals if nobody asks for it again
    /// // (`no_run`: the aging thread would outlive the example, which miri reports.)
    /// ```
    pub fn age_every(mut self, interval: Duration) -> Self {
        self.age_every = Some(interval);
        self
    }

    /// Recalibrates on every sweep (see [`BufferPool::calibrate`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().auto_calibrate(true).build();
    /// buffers.sweep(); // calibrates too (here: too few requests to act on)
    /// assert_eq!(buffers.stats().keep_max, 4 << 20);
    /// ```
    pub fn auto_calibrate(mut self, on: bool) -> Self {
        self.auto_calibrate = on;
        self
    }

    /// Zeroes every buffer that comes back (its whole capacity) before anything else
    /// happens to it, for data that must not reach the next user even through unsafe reads
    /// of spare capacity: a buffer the pool keeps, and one it drops (its guard dropped by a
    /// panic, or over a limit), whose memory the allocator hands out again. Idle buffers the
    /// pool frees later (aged out, or with the pool) were zeroed when they came back.
    ///
    /// A buffer that grows while it is lent moves to a bigger block. The guards' `Write`
    /// and `BufMut` zero the block they leave; growing the `Vec` yourself (`extend_from_slice`,
    /// `push`, `reserve` through `DerefMut`) frees it with its bytes in it, as any `Vec` does.
    /// Ask for the length you need up front, or write through the guard's writers.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().zero_on_return(true).build();
    /// let mut buf = buffers.get(16);
    /// buf.extend_from_slice(b"secret");
    /// drop(buf); // every byte of its capacity is zero before anyone gets it again
    /// ```
    pub fn zero_on_return(mut self, on: bool) -> Self {
        self.zero_on_return = on;
        self
    }

    /// After a sweep frees at least 1 MiB of buffers, asks the allocator to give free
    /// memory back to the system (default on). With glibc's allocator this is
    /// `malloc_trim(0)`: glibc keeps freed chunks below its mmap threshold in its per-thread
    /// arenas, so without it the process's RSS stays at its peak after the pool has freed
    /// everything. Elsewhere (and with another global allocator) it does nothing.
    ///
    /// glibc still keeps the free end of each per-thread arena (a 128 KiB pad each, more
    /// after large frees; the pool frees small buffers first to keep that down): on the proxy
    /// workload 0.6-0.7 MiB above the RSS before the load, where `MALLOC_ARENA_MAX=2` brings
    /// it to 0.1 MiB. The crate docs' "Choosing limits" has the figures.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().trim_on_sweep(false).build();
    /// buffers.sweep(); // never asks the allocator to trim
    /// ```
    pub fn trim_on_sweep(mut self, on: bool) -> Self {
        self.trim_on_sweep = on;
        self
    }

    /// Builds the pool.
    ///
    /// # Panics
    ///
    /// With a message naming the bound, if the classes are not usable: `classes(min, max)`
    /// with `min` 0, `min > max` or `max` above 2^40 bytes; `steps_per_doubling` outside 1
    /// to 16; `class_sizes` empty, or holding 0 or a size above 2^40 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::builder().classes(4096, 1 << 20).build();
    /// assert_eq!(buffers.class_sizes().last(), Some(1 << 20));
    /// ```
    pub fn build(self) -> BufferPool {
        let sizes = if let Some(sizes) = self.exact {
            assert!(
                !sizes.is_empty(),
                "BufferPool class_sizes: give at least one size (got none)"
            );
            assert!(
                sizes[0] > 0,
                "BufferPool class_sizes: sizes must be at least 1 (got 0)"
            );
            let largest = sizes[sizes.len() - 1];
            assert!(
                largest <= MAX_CLASS,
                "BufferPool class_sizes: sizes must be at most 2^40 = {MAX_CLASS} bytes (got {largest})"
            );
            sizes
        } else {
            let (min, max) = self.range;
            check_bounds(min, max);
            let steps = self.steps_per_doubling;
            assert!(
                (1..=16).contains(&steps),
                "BufferPool steps_per_doubling must be 1 to 16 (got {steps})"
            );
            geometric_sizes(min, max, steps)
        };
        let thread_bytes = self.thread_cache_bytes.unwrap_or_else(|| {
            // A share of a budget, as for `Pool` (see `Limits::THREAD_SHARE`).
            let share = if self.max_idle_bytes == UNLIMITED {
                UNLIMITED
            } else {
                self.max_idle_bytes / Limits::THREAD_SHARE
            };
            Self::DEFAULT_THREAD_CACHE_BYTES.min(share)
        });
        // A thread cannot keep more than the whole pool may: the limit `stats` reports
        // should be one a thread can reach.
        let thread_bytes = thread_bytes.min(self.max_idle_bytes);
        let settings = Settings {
            thread_bytes,
            borrow: self.borrow_classes.unwrap_or(usize::MAX),
            zero_on_return: self.zero_on_return,
            auto_calibrate: self.auto_calibrate,
            trim_on_sweep: self.trim_on_sweep,
        };
        let shared = Arc::new(Shared::new(
            Classes::new(sizes),
            self.max_idle_bytes,
            settings,
        ));
        if let Some(every) = self.age_every {
            aging::register(Arc::downgrade(&shared) as Weak<dyn aging::Sweep>, every);
        }
        BufferPool { shared }
    }
}

//! [`BufferPool`]: byte buffers by size class, for workloads whose buffers vary in size.
//!
//! A single pool of `Vec<u8>` keeps whatever it is handed, so one huge request pins a huge
//! buffer for every later small one (golang/go#23199). Here each size class is a [`Pool`]
//! of its own (thread caches, depot, victim aging), keyed by capacity: a get takes from the
//! smallest class that fits, and a return goes to the class of the buffer's capacity *now*,
//! so a buffer that grew while in use moves up a class instead of being wasted. Buffers
//! larger than the top class are never kept.
//!
//! Memory is bounded in bytes: per thread and class ([`thread_cache_bytes`]), and for all
//! idle buffers together ([`max_idle_bytes`], one budget shared by every class).
//!
//! [`thread_cache_bytes`]: BufferPoolBuilder::thread_cache_bytes
//! [`max_idle_bytes`]: BufferPoolBuilder::max_idle_bytes

use crate::aging::{Sweep, register};
use crate::budget::Quota;
use crate::limits::UNLIMITED;
use crate::pool::Pool;
use crate::reset::ZeroFill;
use crate::stats::Stats;
use crate::sync::{Arc, AtomicU64, AtomicUsize, Mutex, Ordering, Weak, lock};
use std::fmt;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

/// Byte buffers pooled by size class.
///
/// [`get(len)`](BufferPool::get) returns a [`Buffer`] that derefs to a `Vec<u8>` with
/// **length 0** and capacity at least `len`, like `Vec::with_capacity(len)`: write with
/// `extend_from_slice`, `resize` or `std::io::Write`. Dropping it clears the buffer and
/// returns it to the class of its capacity.
///
/// Default classes are the powers of two from 4 KiB to 4 MiB.
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
/// drop(buf);
///
/// let again = buffers.get(70_000); // same class (128 KiB): the same buffer
/// assert!(again.is_empty());
/// assert_eq!(buffers.stats().reused(), 1);
/// ```
#[derive(Debug)]
pub struct BufferPool {
    inner: Arc<Classes>,
}

#[derive(Debug)]
struct Classes {
    /// Ascending by capacity.
    classes: Box<[SizeClass]>,
    /// Finds a class without walking `classes` (whose pools are large: a binary search over
    /// them touched a cache line per step, and was most of a get's cost).
    index: ClassIndex,
    /// Returns with more capacity than this are dropped: the top class at first, lowered or
    /// raised by calibration.
    keep_max: AtomicUsize,
    /// How many bigger classes an empty class may borrow from.
    borrow_classes: usize,
    auto_calibrate: bool,
    zero_on_return: bool,
    /// Requests larger than the top class: served with a fresh buffer, never kept.
    unpooled: AtomicU64,
    /// Returns above `keep_max`.
    too_large: AtomicU64,
    /// Returns below the smallest class (a buffer shrunk or made elsewhere).
    too_small: AtomicU64,
    /// Requests per class (and beyond the top) at the last calibration.
    calibrated_at: Mutex<Vec<u64>>,
}

#[derive(Debug)]
struct SizeClass {
    capacity: usize,
    pool: Pool<Vec<u8>>,
}

impl Default for BufferPool {
    fn default() -> Self {
        Self::new()
    }
}

impl BufferPool {
    /// A pool with the default classes (powers of two, 4 KiB to 4 MiB) and limits.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for classes, limits, aging and calibration.
    pub fn builder() -> BufferPoolBuilder {
        BufferPoolBuilder::new()
    }

    /// A buffer with length 0 and capacity at least `len`, from the smallest class that
    /// fits. A request larger than the top class gets a fresh buffer that is not kept.
    ///
    /// If the class is empty, an idle buffer of one of the next few bigger classes (up to
    /// [`borrow_classes`](BufferPoolBuilder::borrow_classes)) serves the request before a
    /// new one is allocated: fewer buffers then cover the same peaks.
    #[inline]
    pub fn get(&self, len: usize) -> Buffer<'_> {
        let inner = &*self.inner;
        let first = inner.index.for_request(len);
        let Some(class) = inner.classes.get(first) else {
            inner.unpooled.fetch_add(1, Ordering::Relaxed);
            return Buffer {
                buf: Vec::with_capacity(len),
                pool: self,
            };
        };
        let buf = class
            .pool
            .try_take()
            .unwrap_or_else(|| inner.borrow_or_create(first));
        Buffer { buf, pool: self }
    }

    /// Clears `buf` and keeps it in the class of its capacity, or drops it if it is
    /// outside the classes or a limit is reached.
    pub fn put(&self, buf: Vec<u8>) {
        self.inner.give_back(buf);
    }

    /// Allocates `count` buffers of the class for `len` now and keeps them idle: the
    /// preallocated free list of fixed-size blocks. Returns how many were kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let blocks = BufferPool::new();
    /// assert_eq!(blocks.prefill(16 * 1024, 32), 32);
    /// let stats = blocks.stats();
    /// assert_eq!(stats.idle_bytes(), 32 * 16 * 1024);
    /// ```
    pub fn prefill(&self, len: usize, count: usize) -> usize {
        self.inner
            .class_for_request(len)
            .map_or(0, |class| class.pool.prefill(count))
    }

    /// One aging cycle for every class (see [`Pool::sweep`]); with automatic calibration
    /// on, also recalibrates.
    pub fn sweep(&self) {
        self.inner.sweep();
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
    /// assert_eq!(calibration.common_size, 32 * 1024);
    /// assert_eq!(calibration.max_size, 32 * 1024); // 99% of requests fit 32 KiB
    /// println!("{calibration}");
    /// ```
    pub fn calibrate(&self) -> Calibration {
        self.inner.calibrate(true)
    }

    /// Like [`calibrate`](BufferPool::calibrate), but only reports.
    pub fn recommend(&self) -> Calibration {
        self.inner.calibrate(false)
    }

    /// Per-class statistics; `Display` prints a table.
    pub fn stats(&self) -> BufferStats {
        let inner = &*self.inner;
        BufferStats {
            classes: inner
                .classes
                .iter()
                .map(|class| ClassStats {
                    capacity: class.capacity,
                    stats: class.pool.stats(),
                })
                .collect(),
            unpooled_requests: inner.unpooled.load(Ordering::Relaxed),
            too_large: inner.too_large.load(Ordering::Relaxed),
            too_small: inner.too_small.load(Ordering::Relaxed),
            keep_max: inner.keep_max.load(Ordering::Relaxed),
        }
    }

    /// The class capacities, ascending.
    pub fn class_sizes(&self) -> impl Iterator<Item = usize> + '_ {
        self.inner.classes.iter().map(|class| class.capacity)
    }
}

/// Requests below this many since the last calibration are too few to act on.
const MIN_CALIBRATION_SAMPLES: u64 = 1_000;

/// The share of requests the kept sizes must cover (bytebufferpool's 95th percentile).
const CALIBRATION_COVERAGE: f64 = 0.95;

impl Classes {
    /// The smallest class whose buffers fit `len`.
    #[inline]
    fn class_for_request(&self, len: usize) -> Option<&SizeClass> {
        self.classes.get(self.index.for_request(len))
    }

    /// Class `first` is empty: borrow from a bigger class, else allocate in `first`.
    #[cold]
    fn borrow_or_create(&self, first: usize) -> Vec<u8> {
        let bigger = self
            .classes
            .iter()
            .skip(first + 1)
            .take(self.borrow_classes);
        bigger
            .filter_map(|class| class.pool.try_take())
            .next()
            .unwrap_or_else(|| self.classes[first].pool.create_value())
    }

    fn give_back(&self, mut buf: Vec<u8>) {
        let capacity = buf.capacity();
        if capacity == 0 {
            return; // nothing to keep (taken with `into_inner`, or never allocated)
        }
        if capacity > self.keep_max.load(Ordering::Relaxed) {
            self.too_large.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // The class of its capacity now: a buffer that grew moves up.
        let Some(index) = self.index.for_capacity(capacity) else {
            self.too_small.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if self.zero_on_return {
            buf.zero_fill();
        }
        self.classes[index]
            .pool
            .recycle(crate::kept::Kept::new(buf));
    }

    fn sweep(&self) {
        for class in &self.classes {
            class.pool.sweep();
        }
        if self.auto_calibrate {
            self.calibrate(true);
        }
    }

    /// Requests so far, per class, then beyond the top class.
    fn requests(&self) -> Vec<u64> {
        self.classes
            .iter()
            .map(|class| {
                let stats = class.pool.stats();
                stats.created + stats.reused
            })
            .chain([self.unpooled.load(Ordering::Relaxed)])
            .collect()
    }

    fn calibrate(&self, apply: bool) -> Calibration {
        let now = self.requests();
        let mut calibrated_at = lock(&self.calibrated_at);
        let counts: Vec<u64> = now
            .iter()
            .zip(calibrated_at.iter())
            .map(|(now, then)| now - then)
            .collect();
        let top = self.classes.last().map_or(0, |class| class.capacity);
        let mut calibration = Calibration::from_counts(
            self.classes
                .iter()
                .map(|class| class.capacity)
                .zip(counts.iter().copied()),
            counts.last().copied().unwrap_or(0),
            top,
        );
        calibration.applied = apply && calibration.requests >= MIN_CALIBRATION_SAMPLES;
        if calibration.applied {
            self.keep_max.store(calibration.max_size, Ordering::Relaxed);
            *calibrated_at = now;
        }
        calibration
    }
}

impl Sweep for Classes {
    fn sweep(&self) {
        Classes::sweep(self);
    }
}

/// Maps sizes to class indexes: arithmetic for powers of two, a compact table otherwise.
#[derive(Debug)]
enum ClassIndex {
    /// Classes `1 << min_shift`, `1 << (min_shift + 1)`, ..., `count` of them.
    PowersOfTwo { min_shift: u32, count: usize },
    /// Class capacities, ascending.
    Table(Box<[usize]>),
}

impl ClassIndex {
    fn new(sizes: &[usize]) -> Self {
        let powers_of_two = sizes.iter().all(|size| size.is_power_of_two())
            && sizes.windows(2).all(|pair| pair[1] == pair[0] * 2);
        match sizes.first() {
            Some(first) if powers_of_two => ClassIndex::PowersOfTwo {
                min_shift: first.trailing_zeros(),
                count: sizes.len(),
            },
            _ => ClassIndex::Table(sizes.into()),
        }
    }

    /// The smallest class with capacity `>= len`; the class count if none.
    #[inline]
    fn for_request(&self, len: usize) -> usize {
        match *self {
            ClassIndex::PowersOfTwo { min_shift, count } => {
                // ceil(log2(len)) for len >= 2; anything up to the first class maps to 0.
                let ceil_log2 = usize::BITS - len.saturating_sub(1).leading_zeros();
                (ceil_log2.saturating_sub(min_shift) as usize).min(count)
            }
            ClassIndex::Table(ref sizes) => sizes.partition_point(|&size| size < len),
        }
    }

    /// The largest class with capacity `<= capacity`, if any.
    #[inline]
    fn for_capacity(&self, capacity: usize) -> Option<usize> {
        match *self {
            ClassIndex::PowersOfTwo { min_shift, count } => {
                let floor_log2 = capacity.checked_ilog2()?;
                let index = floor_log2.checked_sub(min_shift)? as usize;
                Some(index.min(count - 1))
            }
            ClassIndex::Table(ref sizes) => sizes
                .partition_point(|&size| size <= capacity)
                .checked_sub(1),
        }
    }
}

/// What [`BufferPool::calibrate`] measured and recommends.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Calibration {
    /// Requests measured (since the previous applied calibration).
    pub requests: u64,
    /// The class that served the most requests: a good size for
    /// [`prefill`](BufferPool::prefill).
    pub common_size: usize,
    /// The largest class among the most requested ones that together cover 95% of
    /// requests: returned buffers above it are not worth keeping.
    pub max_size: usize,
    /// Requests per class capacity, ascending.
    pub per_class: Vec<(usize, u64)>,
    /// Requests larger than the top class.
    pub unpooled: u64,
    /// Whether `max_size` was applied (enough requests, and not a `recommend`).
    pub applied: bool,
}

impl Calibration {
    fn from_counts(
        per_class: impl Iterator<Item = (usize, u64)>,
        unpooled: u64,
        top: usize,
    ) -> Self {
        let per_class: Vec<(usize, u64)> = per_class.collect();
        let requests = per_class.iter().map(|(_, n)| n).sum::<u64>() + unpooled;
        let mut by_demand = per_class.clone();
        by_demand.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let common_size = by_demand
            .first()
            .filter(|(_, n)| *n > 0)
            .map_or(top, |(size, _)| *size);
        let needed = (requests as f64 * CALIBRATION_COVERAGE).ceil() as u64;
        let mut covered = 0;
        let mut max_size = 0;
        for &(size, n) in &by_demand {
            if covered >= needed || n == 0 {
                break;
            }
            covered += n;
            max_size = max_size.max(size);
        }
        if covered < needed || max_size == 0 {
            // The kept classes cannot cover enough (big requests dominate): keep everything.
            max_size = top;
        }
        Self {
            requests,
            common_size,
            max_size,
            per_class,
            unpooled,
            applied: false,
        }
    }
}

impl fmt::Display for Calibration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "calibration over {} requests ({} beyond the top class):",
            self.requests, self.unpooled
        )?;
        for &(size, n) in self.per_class.iter().filter(|(_, n)| *n > 0) {
            let share = if self.requests == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.requests as f64
            };
            writeln!(
                f,
                "  {:>10}  {:>10} requests  {:>5.1}%",
                human_bytes(size),
                n,
                share
            )?;
        }
        write!(
            f,
            "most requests fit {} (prefill this size); keep buffers up to {} ({})",
            human_bytes(self.common_size),
            human_bytes(self.max_size),
            if self.applied {
                "applied"
            } else {
                "not applied"
            }
        )
    }
}

/// Formats a byte count in KiB/MiB for tables.
fn human_bytes(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

/// A byte buffer on loan from a [`BufferPool`]; dropping it clears it and returns it to
/// the class of its capacity. Derefs to `Vec<u8>`.
#[must_use = "dropping the buffer at once returns it unused"]
pub struct Buffer<'a> {
    buf: Vec<u8>,
    pool: &'a BufferPool,
}

impl Buffer<'_> {
    /// Takes the buffer out of the pool for good.
    pub fn into_inner(mut this: Self) -> Vec<u8> {
        // The guard's `Drop` then sees an unallocated `Vec` and keeps nothing.
        mem::take(&mut this.buf)
    }
}

impl Drop for Buffer<'_> {
    fn drop(&mut self) {
        self.pool.inner.give_back(mem::take(&mut self.buf));
    }
}

impl Deref for Buffer<'_> {
    type Target = Vec<u8>;

    #[inline]
    fn deref(&self) -> &Vec<u8> {
        &self.buf
    }
}

impl DerefMut for Buffer<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

impl fmt::Debug for Buffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("len", &self.buf.len())
            .field("capacity", &self.buf.capacity())
            .finish()
    }
}

/// Configures a [`BufferPool`]; made by [`BufferPool::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `.build()`"]
pub struct BufferPoolBuilder {
    /// Smallest and largest class, for the geometric spacing below.
    range: (usize, usize),
    /// Classes per doubling of capacity: 1 gives powers of two.
    steps_per_doubling: u32,
    /// Exact capacities, overriding `range` and `steps_per_doubling`.
    exact: Option<Vec<usize>>,
    thread_cache_bytes: usize,
    max_idle_bytes: usize,
    borrow_classes: Option<usize>,
    age_every: Option<Duration>,
    auto_calibrate: bool,
    zero_on_return: bool,
}

impl BufferPoolBuilder {
    /// Default bytes one thread keeps per class: small buffers stay thread-local, big
    /// ones are shared through the depot, where any thread can reuse them (measured with
    /// `examples/proxy_buffers.rs`: 256 KiB kept more idle memory for no speed gain).
    pub const DEFAULT_THREAD_CACHE_BYTES: usize = 64 * 1024;

    fn new() -> Self {
        Self {
            range: (4 * 1024, 4 * 1024 * 1024),
            steps_per_doubling: 1,
            exact: None,
            thread_cache_bytes: Self::DEFAULT_THREAD_CACHE_BYTES,
            max_idle_bytes: UNLIMITED,
            borrow_classes: None,
            age_every: None,
            auto_calibrate: false,
            zero_on_return: false,
        }
    }

    /// Classes from `min` (rounded up to a power of two) to `max` (default 4 KiB to
    /// 4 MiB), spaced by [`steps_per_doubling`](BufferPoolBuilder::steps_per_doubling).
    ///
    /// # Panics
    ///
    /// If `min` is 0 or greater than `max`: "BufferPool classes need 0 < min <= max".
    pub fn classes(mut self, min: usize, max: usize) -> Self {
        assert!(
            min > 0 && min <= max,
            "BufferPool classes need 0 < min <= max (got min {min}, max {max})"
        );
        self.range = (min, max);
        self.exact = None;
        self
    }

    /// Classes per doubling of capacity (default 1: powers of two). A buffer has up to
    /// 2x the capacity it was asked for with powers of two, about 1.19x with 4 steps; finer
    /// classes waste less memory per buffer but share buffers among fewer requests.
    /// Capacities between powers of two are rounded up to whole 4 KiB pages.
    ///
    /// # Panics
    ///
    /// If `steps` is 0 or more than 16: "BufferPool steps per doubling must be 1 to 16".
    pub fn steps_per_doubling(mut self, steps: u32) -> Self {
        assert!(
            (1..=16).contains(&steps),
            "BufferPool steps per doubling must be 1 to 16 (got {steps})"
        );
        self.steps_per_doubling = steps;
        self.exact = None;
        self
    }

    /// Classes at exactly these capacities (sorted, duplicates removed).
    ///
    /// # Panics
    ///
    /// If `sizes` is empty or holds 0: "BufferPool class sizes must be non-empty and non-zero".
    pub fn class_sizes(mut self, sizes: impl IntoIterator<Item = usize>) -> Self {
        let mut sizes: Vec<usize> = sizes.into_iter().collect();
        sizes.sort_unstable();
        sizes.dedup();
        assert!(
            !sizes.is_empty() && sizes[0] > 0,
            "BufferPool class sizes must be non-empty and non-zero (got {sizes:?})"
        );
        self.exact = Some(sizes);
        self
    }

    /// The most bytes of idle buffers one thread keeps in its own cache, per class
    /// (default 64 KiB). Classes bigger than this keep no per-thread cache: their buffers
    /// are shared through the depot, so any thread reuses any idle one.
    pub fn thread_cache_bytes(mut self, bytes: usize) -> Self {
        self.thread_cache_bytes = bytes;
        self
    }

    /// The most bytes of idle buffers in all classes together (default: no limit). A
    /// return over it is dropped (counted as `over_limit` in its class); the victim
    /// generation of the returning class gives way first.
    pub fn max_idle_bytes(mut self, bytes: usize) -> Self {
        self.max_idle_bytes = bytes;
        self
    }

    /// How many bigger classes an empty class may take an idle buffer from before it
    /// allocates (default: two doublings' worth, `2 x steps_per_doubling`; 0 turns it
    /// off). A borrowed buffer goes back to its own class. Borrowing lets fewer buffers
    /// cover the same peaks, since peaks in different classes rarely coincide.
    pub fn borrow_classes(mut self, classes: usize) -> Self {
        self.borrow_classes = Some(classes);
        self
    }

    /// Sweeps every class every `interval` from the aging thread (see
    /// [`PoolBuilder::age_every`](crate::PoolBuilder::age_every)), so memory falls back
    /// when load falls.
    pub fn age_every(mut self, interval: Duration) -> Self {
        self.age_every = Some(interval);
        self
    }

    /// Recalibrates on every sweep (see [`BufferPool::calibrate`]).
    pub fn auto_calibrate(mut self, on: bool) -> Self {
        self.auto_calibrate = on;
        self
    }

    /// Zeroes every returned buffer (its whole capacity) before keeping it, for data that
    /// must not reach the next user even through unsafe reads of spare capacity.
    pub fn zero_on_return(mut self, on: bool) -> Self {
        self.zero_on_return = on;
        self
    }

    /// Builds the pool.
    pub fn build(self) -> BufferPool {
        let sizes = match &self.exact {
            Some(sizes) => sizes.clone(),
            None => geometric_sizes(self.range.0, self.range.1, self.steps_per_doubling),
        };
        let budget = Arc::new(Quota::new(self.max_idle_bytes));
        let classes: Box<[SizeClass]> = sizes
            .iter()
            .map(|&capacity| {
                let per_thread = (self.thread_cache_bytes / capacity)
                    .min(crate::limits::Limits::DEFAULT_THREAD_CACHE);
                let pool = Pool::builder()
                    .thread_cache(per_thread)
                    .thread_cache_bytes(self.thread_cache_bytes)
                    .shared_byte_budget(Arc::clone(&budget))
                    .init(move || Vec::with_capacity(capacity))
                    .build();
                SizeClass { capacity, pool }
            })
            .collect();
        let top = sizes.last().copied().unwrap_or(0);
        let inner = Arc::new(Classes {
            index: ClassIndex::new(&sizes),
            calibrated_at: Mutex::new(vec![0; classes.len() + 1]),
            classes,
            keep_max: AtomicUsize::new(top),
            borrow_classes: self
                .borrow_classes
                .unwrap_or(2 * self.steps_per_doubling as usize),
            auto_calibrate: self.auto_calibrate,
            zero_on_return: self.zero_on_return,
            unpooled: AtomicU64::new(0),
            too_large: AtomicU64::new(0),
            too_small: AtomicU64::new(0),
        });
        if let Some(every) = self.age_every {
            register(Arc::downgrade(&inner) as Weak<dyn Sweep>, every);
        }
        BufferPool { inner }
    }
}

/// Capacities from `min` (rounded up to a power of two) to `max`, `steps` per doubling;
/// those between powers of two rounded up to whole pages.
fn geometric_sizes(min: usize, max: usize, steps: u32) -> Vec<usize> {
    const PAGE: usize = 4096;
    let mut sizes = Vec::new();
    let mut power = min.next_power_of_two();
    while power <= max {
        for step in 0..steps {
            let exact = power as f64 * 2f64.powf(f64::from(step) / f64::from(steps));
            let size = if step == 0 {
                power
            } else {
                (exact.ceil() as usize).next_multiple_of(PAGE)
            };
            if size <= max && sizes.last() != Some(&size) {
                sizes.push(size);
            }
        }
        power *= 2;
    }
    if sizes.is_empty() {
        sizes.push(min);
    }
    sizes
}

/// One class's row in [`BufferStats`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ClassStats {
    /// The class's buffer capacity.
    pub capacity: usize,
    /// The class pool's statistics.
    pub stats: Stats,
}

/// Statistics of a [`BufferPool`], per class; `Display` prints a table.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BufferStats {
    /// One row per class, ascending by capacity.
    pub classes: Vec<ClassStats>,
    /// Requests larger than the top class (served fresh, never kept).
    pub unpooled_requests: u64,
    /// Returns dropped for exceeding the largest size kept.
    pub too_large: u64,
    /// Returns dropped for being below the smallest class.
    pub too_small: u64,
    /// The largest buffer capacity kept (the top class, or calibrated).
    pub keep_max: usize,
}

impl BufferStats {
    /// Buffers allocated because no idle one fitted.
    pub fn created(&self) -> u64 {
        self.classes.iter().map(|c| c.stats.created).sum::<u64>() + self.unpooled_requests
    }

    /// Requests served with an idle buffer.
    pub fn reused(&self) -> u64 {
        self.classes.iter().map(|c| c.stats.reused).sum()
    }

    /// Idle buffers in all classes.
    pub fn idle(&self) -> usize {
        self.classes.iter().map(|c| c.stats.idle).sum()
    }

    /// Bytes of idle buffers in all classes.
    pub fn idle_bytes(&self) -> usize {
        self.classes.iter().map(|c| c.stats.idle_bytes).sum()
    }
}

impl fmt::Display for BufferStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>9} {:>9} {:>9} {:>6} {:>6} {:>11} {:>9} {:>9}",
            "class", "created", "reused", "hit%", "idle", "idle bytes", "dropped", "aged out"
        )?;
        for ClassStats { capacity, stats } in self
            .classes
            .iter()
            .filter(|c| c.stats.created + c.stats.reused > 0)
        {
            writeln!(
                f,
                "{:>9} {:>9} {:>9} {:>6.1} {:>6} {:>11} {:>9} {:>9}",
                human_bytes(*capacity),
                stats.created,
                stats.reused,
                stats.hit_rate() * 100.0,
                stats.idle,
                stats.idle_bytes,
                stats.discarded.total() - stats.discarded.aged_out,
                stats.discarded.aged_out
            )?;
        }
        write!(
            f,
            "idle {} buffers, {} bytes; {} requests beyond the top class; {} returns too large (keep up to {}), {} too small",
            self.idle(),
            self.idle_bytes(),
            self.unpooled_requests,
            self.too_large,
            human_bytes(self.keep_max),
            self.too_small
        )
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn calibration_covers_the_most_requested_classes() {
        let counts = [(4096, 10), (8192, 900), (16384, 50), (1 << 20, 40)];
        let c = Calibration::from_counts(counts.into_iter(), 0, 1 << 22);
        assert_eq!(c.requests, 1000);
        assert_eq!(c.common_size, 8192);
        assert_eq!(
            c.max_size, 16384,
            "8 KiB and 16 KiB together cover 950 of 1000 requests"
        );
        let counts = [(4096, 10), (8192, 900), (16384, 30), (1 << 20, 60)];
        let c = Calibration::from_counts(counts.into_iter(), 0, 1 << 22);
        assert_eq!(
            c.max_size,
            1 << 20,
            "only with the 1 MiB class do they reach 95%"
        );
        let none = Calibration::from_counts([(4096, 0)].into_iter(), 0, 8192);
        assert_eq!(
            (none.common_size, none.max_size),
            (8192, 8192),
            "no data: keep everything"
        );
    }

    #[test]
    fn class_index_agrees_with_a_search() {
        for sizes in [
            geometric_sizes(4096, 4 << 20, 1),
            geometric_sizes(8192, 1 << 20, 4),
            vec![1, 2, 4],
        ] {
            let index = ClassIndex::new(&sizes);
            let top = sizes[sizes.len() - 1];
            for probe in (0..=top * 2 + 3).step_by(517).chain([
                0,
                1,
                2,
                3,
                4,
                5,
                4095,
                4096,
                4097,
                top,
                top + 1,
            ]) {
                let request = sizes.partition_point(|&size| size < probe);
                assert_eq!(
                    index.for_request(probe),
                    request,
                    "request {probe} in {sizes:?}"
                );
                let capacity = sizes.partition_point(|&size| size <= probe).checked_sub(1);
                assert_eq!(
                    index.for_capacity(probe),
                    capacity,
                    "capacity {probe} in {sizes:?}"
                );
            }
        }
    }

    #[test]
    fn class_spacing() {
        assert_eq!(geometric_sizes(3000, 20_000, 1), vec![4096, 8192, 16384]);
        assert_eq!(geometric_sizes(4096, 4096, 1), vec![4096]);
        assert_eq!(
            geometric_sizes(64 * 1024, 128 * 1024, 4),
            vec![65536, 81920, 94208, 110592, 131072]
        );
    }
}

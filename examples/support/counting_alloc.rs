//! A global allocator wrapper that counts allocations, for the examples and the benches.
//!
//! Included with `#[path]` by each program that wants it (examples and bench targets are
//! separate crates, so a shared file is the simplest way to share it), and installed with:
//!
//! ```ignore
//! #[path = "support/counting_alloc.rs"]
//! mod counting_alloc;
//! #[global_allocator]
//! static ALLOC: counting_alloc::Counting<std::alloc::System> = counting_alloc::Counting::new(std::alloc::System);
//! ```
//!
//! Counting is off until [`enable`] is called, so timed code that runs with it off pays one
//! relaxed load per allocation and nothing else. When on, each thread adds to its own
//! cache-line-sized stripe of counters, so threads allocating at once do not contend on one
//! atomic and the counting does not distort the multi-threaded numbers it is meant to explain.
//!
//! Counts are exact for what happens while counting is on. Live bytes are "allocated minus
//! freed while on", so compare [`Snapshot::live_bytes`] between two points of one run, both
//! taken while on, and free nothing across them that was allocated while off.
#![allow(dead_code, reason = "each program uses a different part of this file")]

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// How many counter stripes; threads are dealt to them round-robin.
const STRIPES: usize = 16;

/// Blocks at least this big are counted as "large" (for the oversized-object scenario).
pub const LARGE: usize = 1 << 20;

/// Wraps an allocator `A` and counts what goes through it.
#[derive(Debug)]
pub struct Counting<A> {
    inner: A,
}

impl<A> Counting<A> {
    /// Counts the allocations of `inner`.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}

/// One thread group's counters, padded to its own cache lines so stripes never share one.
#[repr(align(128))]
struct Stripe {
    allocs: AtomicU64,
    frees: AtomicU64,
    bytes_allocated: AtomicU64,
    bytes_freed: AtomicU64,
    /// Blocks of exactly [`track_size`] bytes, allocated and freed.
    tracked_allocs: AtomicU64,
    tracked_frees: AtomicU64,
    /// Blocks of at least [`LARGE`] bytes, allocated and freed.
    large_allocs: AtomicU64,
    large_frees: AtomicU64,
}

impl Stripe {
    const fn new() -> Self {
        Self {
            allocs: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
            tracked_allocs: AtomicU64::new(0),
            tracked_frees: AtomicU64::new(0),
            large_allocs: AtomicU64::new(0),
            large_frees: AtomicU64::new(0),
        }
    }

    // One writer thread per stripe most of the time, but not always (more threads than
    // stripes), so these stay read-modify-writes; uncontended they cost a few nanoseconds.
    fn on_alloc(&self, size: usize) {
        self.allocs.fetch_add(1, Ordering::Relaxed);
        self.bytes_allocated
            .fetch_add(size as u64, Ordering::Relaxed);
        if size == TRACK_SIZE.load(Ordering::Relaxed) {
            self.tracked_allocs.fetch_add(1, Ordering::Relaxed);
        }
        if size >= LARGE {
            self.large_allocs.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_free(&self, size: usize) {
        self.frees.fetch_add(1, Ordering::Relaxed);
        self.bytes_freed.fetch_add(size as u64, Ordering::Relaxed);
        if size == TRACK_SIZE.load(Ordering::Relaxed) {
            self.tracked_frees.fetch_add(1, Ordering::Relaxed);
        }
        if size >= LARGE {
            self.large_frees.fetch_add(1, Ordering::Relaxed);
        }
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static TRACK_SIZE: AtomicUsize = AtomicUsize::new(usize::MAX);
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);
static COUNTERS: [Stripe; STRIPES] = [const { Stripe::new() }; STRIPES];

thread_local! {
    // `const` and without a destructor: reading it never allocates and works even while the
    // thread's other thread-locals are being torn down, which an allocator must survive.
    static MY_STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn stripe() -> &'static Stripe {
    let index = MY_STRIPE
        .try_with(|slot| {
            let mut index = slot.get();
            if index == usize::MAX {
                index = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
                slot.set(index);
            }
            index
        })
        .unwrap_or(0);
    &COUNTERS[index]
}

/// Starts counting (from this point on, in every thread).
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// Stops counting.
pub fn disable() {
    ENABLED.store(false, Ordering::SeqCst);
}

/// Counts live blocks of exactly `size` bytes from now on (one size at a time): the pooled
/// objects' buffers, so "objects retained" is counted rather than estimated.
pub fn track_size(size: usize) {
    TRACK_SIZE.store(size, Ordering::SeqCst);
}

/// The counters summed over all threads at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Allocations (a `realloc` counts as one).
    pub allocs: u64,
    /// Frees (a `realloc` counts as one).
    pub frees: u64,
    /// Bytes requested by allocations (a `realloc` counts its new size).
    pub bytes_allocated: u64,
    /// Bytes given back by frees (a `realloc` counts its old size).
    pub bytes_freed: u64,
    /// Blocks of the tracked size allocated / freed.
    pub tracked_allocs: u64,
    /// See `tracked_allocs`.
    pub tracked_frees: u64,
    /// Blocks of at least [`LARGE`] bytes allocated / freed.
    pub large_allocs: u64,
    /// See `large_allocs`.
    pub large_frees: u64,
}

impl Snapshot {
    /// Bytes allocated and not yet freed, while counting was on.
    pub fn live_bytes(&self) -> i64 {
        self.bytes_allocated as i64 - self.bytes_freed as i64
    }

    /// Blocks of the tracked size allocated and not yet freed.
    pub fn live_tracked(&self) -> i64 {
        self.tracked_allocs as i64 - self.tracked_frees as i64
    }

    /// Blocks of at least [`LARGE`] bytes allocated and not yet freed.
    pub fn live_large(&self) -> i64 {
        self.large_allocs as i64 - self.large_frees as i64
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            allocs: self.allocs - earlier.allocs,
            frees: self.frees - earlier.frees,
            bytes_allocated: self.bytes_allocated - earlier.bytes_allocated,
            bytes_freed: self.bytes_freed - earlier.bytes_freed,
            tracked_allocs: self.tracked_allocs - earlier.tracked_allocs,
            tracked_frees: self.tracked_frees - earlier.tracked_frees,
            large_allocs: self.large_allocs - earlier.large_allocs,
            large_frees: self.large_frees - earlier.large_frees,
        }
    }
}

/// Reads the counters of every thread.
pub fn snapshot() -> Snapshot {
    let mut total = Snapshot::default();
    for stripe in &COUNTERS {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        total.allocs += load(&stripe.allocs);
        total.frees += load(&stripe.frees);
        total.bytes_allocated += load(&stripe.bytes_allocated);
        total.bytes_freed += load(&stripe.bytes_freed);
        total.tracked_allocs += load(&stripe.tracked_allocs);
        total.tracked_frees += load(&stripe.tracked_frees);
        total.large_allocs += load(&stripe.large_allocs);
        total.large_frees += load(&stripe.large_frees);
    }
    total
}

/// Runs `f` with counting on and returns what it allocated (in all threads, including any
/// it starts), leaving counting as it found it.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Snapshot) {
    let was_on = ENABLED.swap(true, Ordering::SeqCst);
    let before = snapshot();
    let result = f();
    let after = snapshot();
    ENABLED.store(was_on, Ordering::SeqCst);
    (result, after.since(&before))
}

fn counting() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

// SAFETY: every method forwards to `inner` with the caller's arguments unchanged, so `inner`'s
// guarantees are ours; the counting around the calls allocates nothing (atomics and a
// `const` thread-local without a destructor).
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { self.inner.alloc(layout) };
        if counting() && !ptr.is_null() {
            stripe().on_alloc(layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if counting() && !ptr.is_null() {
            stripe().on_alloc(layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counting() {
            stripe().on_free(layout.size());
        }
        // SAFETY: forwarded unchanged; the caller upholds `dealloc`'s contract.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if counting() && !new.is_null() {
            let stripe = stripe();
            stripe.on_free(layout.size());
            stripe.on_alloc(new_size);
        }
        new
    }
}

//! Panics in user code (`init`, `reset`, `retained_bytes`, `Drop`) leave every pool
//! consistent: nothing lost, nothing dropped twice, the books balanced, the pool usable.

mod support;

use pool_core::{Buffer, BufferOwned, BufferPool, Pool, Pooled, PooledOwned, Reset};
use std::panic::{self, AssertUnwindSafe, RefUnwindSafe, UnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use support::{Counts, Tracked};

fn assert_unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

#[test]
fn pools_and_guards_are_unwind_safe() {
    assert_unwind_safe::<Pool<Vec<u8>>>();
    assert_unwind_safe::<Pool<Tracked>>();
    assert_unwind_safe::<Pooled<'static, Vec<u8>>>();
    assert_unwind_safe::<PooledOwned<Vec<u8>>>();
    assert_unwind_safe::<BufferPool>();
    assert_unwind_safe::<Buffer<'static>>();
    assert_unwind_safe::<BufferOwned>();
    // As regex-automata checks for its pool: no `AssertUnwindSafe` needed.
    let pool: Pool<Vec<u8>> = Pool::new();
    let result = panic::catch_unwind(|| pool.get().capacity());
    assert!(result.is_ok());
}

/// An object whose `Drop` panics if `bomb` is set when it drops.
struct Bomb {
    bomb: Arc<AtomicBool>,
    drops: Arc<AtomicUsize>,
}

impl Reset for Bomb {
    fn reset(&mut self) {}
}

impl Drop for Bomb {
    fn drop(&mut self) {
        let n = self.drops.fetch_add(1, Ordering::SeqCst);
        if n == 2 && self.bomb.load(Ordering::SeqCst) && !std::thread::panicking() {
            panic!("the third object's Drop panics");
        }
    }
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn dropping_a_pool_drops_every_object_even_if_one_panics() {
    let drops = Arc::new(AtomicUsize::new(0));
    let bomb = Arc::new(AtomicBool::new(true));
    let pool = {
        let (drops, bomb) = (Arc::clone(&drops), Arc::clone(&bomb));
        Pool::with_init(move || Bomb {
            bomb: Arc::clone(&bomb),
            drops: Arc::clone(&drops),
        })
    };
    let held: Vec<_> = (0..8).map(|_| pool.get()).collect();
    drop(held);
    assert_eq!(pool.stats().idle, 8);
    let result = panic::catch_unwind(AssertUnwindSafe(move || drop(pool)));
    assert!(result.is_err(), "the panic continues after the drops");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        8,
        "none leaked after the panic"
    );
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn prefill_keeps_the_books_when_init_panics() {
    let counts = Counts::new();
    let made = Arc::new(AtomicUsize::new(0));
    let pool = {
        let (counts, made) = (Arc::clone(&counts), Arc::clone(&made));
        Pool::with_init(move || {
            assert!(
                made.fetch_add(1, Ordering::SeqCst) < 4,
                "init fails on the fifth object"
            );
            Tracked::new(&counts)
        })
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| pool.prefill(10)));
    assert!(result.is_err());
    let stats = pool.stats();
    assert_eq!(
        (stats.created, stats.idle, stats.in_use()),
        (4, 4, 0),
        "{stats}"
    );
}

/// An object whose `reset` (or `retained_bytes`) panics.
#[derive(Default)]
struct BadReset {
    in_retained: bool,
}

impl Reset for BadReset {
    fn reset(&mut self) {
        assert!(self.in_retained, "reset panics");
    }
    fn retained_bytes(&self) -> usize {
        panic!("retained_bytes panics")
    }
}

#[test]
fn prefill_keeps_the_books_when_measuring_panics() {
    // prefill does not reset what `init` just made, but measures it with `retained_bytes`,
    // which panics here.
    for in_retained in [false, true] {
        let pool = Pool::with_init(move || BadReset { in_retained });
        let result = panic::catch_unwind(AssertUnwindSafe(|| pool.prefill(8)));
        assert!(result.is_err());
        let stats = pool.stats();
        assert_eq!(
            (stats.created, stats.discarded.panicked, stats.in_use()),
            (1, 1, 0),
            "{stats}"
        );
        // And the pool still works.
        let guard = pool.get();
        assert!(panic::catch_unwind(AssertUnwindSafe(move || drop(guard))).is_err());
        assert_eq!(pool.stats().in_use(), 0);
    }
}

#[test]
fn a_panicking_reset_on_return_is_counted_and_the_pool_goes_on() {
    let pool: Pool<BadReset> = Pool::new();
    for _ in 0..3 {
        let guard = pool.get();
        assert!(panic::catch_unwind(AssertUnwindSafe(move || drop(guard))).is_err());
    }
    let stats = pool.stats();
    assert_eq!(
        (stats.created, stats.discarded.panicked, stats.in_use()),
        (3, 3, 0)
    );
}

/// Gives resources back from its `Drop`, as a connection or a request handler does, even
/// when that `Drop` runs because the thread is unwinding.
struct GivesBack<'a> {
    objects: &'a Pool<Vec<u8>>,
    buffers: &'a BufferPool,
    prefilled: &'a mut usize,
}

impl Drop for GivesBack<'_> {
    fn drop(&mut self) {
        self.objects.put(Vec::with_capacity(1024));
        self.buffers.put(Vec::with_capacity(8192));
        *self.prefilled = self.objects.prefill(4);
    }
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn put_and_prefill_keep_whole_objects_while_the_thread_unwinds() {
    let objects: Pool<Vec<u8>> = Pool::new();
    let buffers = BufferPool::new();
    let mut prefilled = 0;
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let _gives_back = GivesBack {
            objects: &objects,
            buffers: &buffers,
            prefilled: &mut prefilled,
        };
        panic!("the request fails");
    }));
    assert!(result.is_err());
    assert_eq!(prefilled, 4, "prefill made and kept all four");
    let stats = objects.stats();
    assert_eq!(
        (stats.idle, stats.adopted, stats.discarded.panicked),
        (5, 1, 0),
        "the handed-in object and the prefilled ones are kept: {stats}"
    );
    let total = buffers.stats().total;
    assert_eq!(
        (total.idle, total.adopted, total.discarded.panicked),
        (1, 1, 0),
        "the handed-in buffer is kept"
    );
}

/// Its `reset` panics while `armed`.
struct Touchy {
    armed: Arc<AtomicBool>,
}

impl Reset for Touchy {
    fn reset(&mut self) {
        assert!(!self.armed.load(Ordering::SeqCst), "reset fails");
    }
}

struct PutsBack<'a>(&'a Pool<Touchy>, Arc<AtomicBool>);

impl Drop for PutsBack<'_> {
    fn drop(&mut self) {
        self.0.put(Touchy {
            armed: Arc::clone(&self.1),
        });
    }
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_panicking_reset_in_put_while_the_thread_unwinds_is_contained() {
    // A second panic during unwinding would abort the whole test process.
    let armed = Arc::new(AtomicBool::new(true));
    let pool: Pool<Touchy> = Pool::builder()
        .init({
            let armed = Arc::clone(&armed);
            move || Touchy {
                armed: Arc::clone(&armed),
            }
        })
        .build();
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let _puts_back = PutsBack(&pool, Arc::clone(&armed));
        panic!("the first panic");
    }));
    assert!(result.is_err(), "the first panic continues");
    let stats = pool.stats();
    assert_eq!(
        (stats.adopted, stats.idle, stats.discarded.panicked),
        (1, 0, 1),
        "the object whose reset failed is dropped and counted: {stats}"
    );
    armed.store(false, Ordering::SeqCst);
    drop(pool.get());
    assert_eq!(pool.stats().idle, 1, "the pool goes on");
}

/// Both its `reset` and its `Drop` panic while `armed`.
#[derive(Default)]
struct DoublyBad {
    armed: bool,
}

impl Reset for DoublyBad {
    fn reset(&mut self) {
        assert!(!self.armed, "reset fails");
    }
}

impl Drop for DoublyBad {
    fn drop(&mut self) {
        assert!(!self.armed, "drop fails too");
    }
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_reset_that_panics_then_a_drop_that_panics_are_contained() {
    // The object is dropped while the reset's panic unwinds; an escaping panic from its
    // `Drop` there would abort the whole test process.
    let pool: Pool<DoublyBad> = Pool::new();
    let mut guard = pool.get();
    guard.armed = true;
    assert!(panic::catch_unwind(AssertUnwindSafe(move || drop(guard))).is_err());
    let result = panic::catch_unwind(AssertUnwindSafe(|| pool.put(DoublyBad { armed: true })));
    assert!(result.is_err(), "put's caller sees the reset's panic");
    let stats = pool.stats();
    assert_eq!(
        (stats.discarded.panicked, stats.idle, stats.in_use()),
        (2, 0, 0),
        "both objects dropped and counted: {stats}"
    );
    drop(pool.get());
    assert_eq!(pool.stats().idle, 1, "the pool goes on");
}

/// Reports `bytes` and panics in `Drop` while `armed` (even while the thread unwinds).
struct HeavyBomb {
    bytes: usize,
    armed: bool,
}

impl Reset for HeavyBomb {
    fn reset(&mut self) {}
    fn retained_bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for HeavyBomb {
    fn drop(&mut self) {
        assert!(!self.armed, "drop fails");
    }
}

struct PutsHeavy<'a>(&'a Pool<HeavyBomb>);

impl Drop for PutsHeavy<'_> {
    fn drop(&mut self) {
        self.0.put(HeavyBomb {
            bytes: 100,
            armed: true,
        });
    }
}

#[test]
fn a_too_large_put_while_unwinding_whose_drop_panics_is_contained() {
    let pool: Pool<HeavyBomb> = Pool::builder()
        .max_object_bytes(10)
        .init(|| HeavyBomb {
            bytes: 0,
            armed: false,
        })
        .build();
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let _puts_heavy = PutsHeavy(&pool);
        panic!("the first panic");
    }));
    assert!(result.is_err(), "the first panic continues");
    let stats = pool.stats();
    assert_eq!(
        (stats.adopted, stats.discarded.too_large, stats.idle),
        (1, 1, 0),
        "{stats}"
    );
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_guard_dropped_while_unwinding_whose_reset_and_drop_panic_is_contained() {
    // The guard's drop resets the object (to wipe it) and drops it, both panicking, while
    // the thread unwinds: either escaping would abort the whole test process.
    let pool: Pool<DoublyBad> = Pool::new();
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut guard = pool.get();
        guard.armed = true;
        panic!("the first panic");
    }));
    let message = result.expect_err("the first panic continues");
    assert_eq!(message.downcast_ref::<&str>(), Some(&"the first panic"));
    let stats = pool.stats();
    assert_eq!(
        (stats.discarded.panicked, stats.idle, stats.in_use()),
        (1, 0, 0),
        "dropped and counted: {stats}"
    );
    drop(pool.get());
    assert_eq!(pool.stats().idle, 1, "the pool goes on");
}

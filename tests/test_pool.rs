//! Single-thread behaviour of `Pool`: reuse, reset, limits, aging, panics.

mod support;

use pool_core::{Pool, Pooled, PooledOwned, Reset};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use support::{Counts, Tracked};

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn the_same_allocation_comes_back_cleared() {
    let pool: Pool<Vec<u8>> = Pool::new();
    let mut buf = pool.get();
    buf.extend_from_slice(&[7; 1000]);
    let (ptr, cap) = (buf.as_ptr(), buf.capacity());
    drop(buf);
    let buf = pool.get();
    assert!(buf.is_empty(), "contents must be cleared");
    assert_eq!(
        (buf.as_ptr(), buf.capacity()),
        (ptr, cap),
        "allocation must be reused"
    );
    let stats = pool.stats();
    assert_eq!((stats.created, stats.reused, stats.returned), (1, 1, 1));
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn every_return_resets_the_object() {
    let counts = Counts::new();
    let pool = Pool::with_init(Tracked::maker(&counts));
    for _ in 0..100 {
        let mut a = pool.get();
        let mut b = pool.get();
        a.use_it();
        b.use_it();
    }
    assert_eq!(counts.resets(), 200);
    assert_eq!(counts.made(), 2, "two objects serve two at a time");
    pool.put(Tracked::new(&counts));
    assert_eq!(counts.resets(), 201, "put resets too");
}

/// A thread that holds a batch at once (more than its cache keeps, so magazines go to the
/// depot and back) gets the same objects back, last returned first, and the counts balance.
#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_batch_held_at_once_is_reused_whole_and_last_returned_first() {
    let pool: Pool<Vec<u8>> = Pool::with_init(|| Vec::with_capacity(64));
    let first: Vec<_> = (0..100).map(|_| pool.get()).collect();
    let addresses: Vec<*const u8> = first.iter().map(|buf| buf.as_ptr()).collect();
    drop(first); // returned in order: the last of the batch goes back last
    let again: Vec<_> = (0..100).map(|_| pool.get()).collect();
    assert_eq!(
        again[0].as_ptr(),
        addresses[99],
        "the object returned last comes out first"
    );
    let mut seen: Vec<_> = again.iter().map(|buf| buf.as_ptr()).collect();
    let mut expected = addresses.clone();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected, "the same hundred objects, none made anew");
    drop(again);
    let stats = pool.stats();
    assert_eq!(
        (stats.created, stats.reused, stats.returned, stats.idle),
        (100, 100, 200, 100)
    );
}

/// After a sweep turned a full thread cache into victims, the object returned next is still
/// the first out: the victims give way (to the depot's victim generation), not the return.
#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn the_object_returned_last_comes_out_first_after_a_sweep() {
    let pool: Pool<Vec<u8>> = Pool::new(); // a thread cache of 16
    let mut held: Vec<_> = (0..17).map(|_| pool.get()).collect();
    let mut last = held.pop().unwrap();
    drop(held); // 16 back: the cache is full
    pool.sweep(); // all 16 are victims now
    last.reserve(1);
    let address = last.as_ptr();
    drop(last);
    assert_eq!(pool.get().as_ptr(), address);
    let stats = pool.stats();
    assert_eq!((stats.returned, stats.reused, stats.idle), (18, 1, 17));

    let small = Pool::<Vec<u8>>::builder().thread_cache(2).build();
    let mut a = small.get();
    small.put(Vec::with_capacity(1));
    small.sweep(); // that one is a victim
    small.put(Vec::with_capacity(2)); // the hot object
    a.reserve(3);
    let address = a.as_ptr();
    drop(a);
    assert_eq!(small.get().as_ptr(), address);
}

/// A thread cache with room for one object (by count, by the default share of a small
/// `max_idle`, or by bytes) still hands out the object returned last: the hot object gives
/// way to the depot, not the return.
#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn the_object_returned_last_comes_out_first_from_a_one_object_cache() {
    let pools = [
        Pool::<Vec<u8>>::builder().thread_cache(1),
        Pool::builder().max_idle(12), // a thread may hold an eighth: 1
        Pool::builder().thread_cache_bytes(100),
    ];
    for (case, builder) in pools.into_iter().enumerate() {
        let pool = builder.init(|| Vec::with_capacity(64)).build();
        let (a, b) = (pool.get(), pool.get());
        let (first, last) = (a.as_ptr(), b.as_ptr());
        drop(a);
        drop(b);
        let (again, after) = (pool.get(), pool.get());
        assert_eq!(
            (again.as_ptr(), after.as_ptr()),
            (last, first),
            "case {case}: last returned, first out; then the one from the depot"
        );
        drop((again, after));
        pool.put(Vec::with_capacity(32));
        let handed_in = pool.get();
        assert_eq!(
            handed_in.capacity(),
            32,
            "case {case}: `put` goes first too"
        );
        drop(handed_in);
        let stats = pool.stats();
        assert_eq!(
            (stats.created, stats.reused, stats.idle),
            (2, 3, 3),
            "case {case}: nothing lost"
        );
    }
}

#[test]
fn into_inner_takes_the_object_out_for_good() {
    let counts = Counts::new();
    let pool = Pool::with_init(Tracked::maker(&counts));
    let mut guard = pool.get();
    guard.use_it();
    let taken = Pooled::into_inner(guard);
    assert!(taken.dirty, "not reset on the way out");
    assert_eq!(counts.resets(), 0);
    let stats = pool.stats();
    assert_eq!((stats.detached, stats.idle), (1, 0));
    drop(taken);

    let pool = Arc::new(pool);
    let owned = pool.get_owned();
    let id = owned.id;
    let taken = PooledOwned::into_inner(owned);
    assert_eq!(taken.id, id);
    assert_eq!(
        Arc::strong_count(&pool),
        1,
        "into_inner releases the pool handle"
    );
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn put_resets_and_adopts_foreign_objects() {
    let pool: Pool<String> = Pool::new();
    let mut s = String::with_capacity(64);
    s.push_str("stale");
    pool.put(s);
    let s = pool.get();
    assert!(s.is_empty() && s.capacity() >= 64);
    let stats = pool.stats();
    assert_eq!((stats.adopted, stats.created, stats.reused), (1, 0, 1));
    assert!(
        stats.to_string().starts_with("created 0 | adopted 1 |"),
        "where the object came from is shown: {stats}"
    );
}

/// Resets by panicking when told to.
#[derive(Default)]
struct Fragile {
    explode: bool,
    data: Vec<u8>,
}

impl Reset for Fragile {
    fn reset(&mut self) {
        assert!(!self.explode, "reset refuses this object");
        self.data.clear();
    }
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_panicking_reset_drops_the_object_and_the_pool_stays_usable() {
    let pool: Pool<Fragile> = Pool::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut f = pool.get();
        f.explode = true;
    }));
    assert!(
        result.is_err(),
        "the reset's panic continues from the guard's drop"
    );
    let stats = pool.stats();
    assert_eq!((stats.discarded.panicked, stats.idle), (1, 0));
    // Usable afterwards, and the bad object never comes back.
    let mut f = pool.get();
    assert!(!f.explode);
    f.data.push(1);
    drop(f);
    assert_eq!(pool.stats().idle, 1);
}

#[test]
fn a_guard_dropped_while_unwinding_wipes_its_object_and_drops_it() {
    let counts = Counts::new();
    let pool = Pool::with_init(Tracked::maker(&counts));
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut t = pool.get();
        t.use_it();
        panic!("user code fails halfway through");
    }));
    assert!(result.is_err());
    assert_eq!(counts.resets(), 1, "reset once, to wipe what a reset wipes");
    assert_eq!(
        counts.drops(),
        1,
        "then dropped: a half-modified object is not pooled"
    );
    let stats = pool.stats();
    assert_eq!((stats.discarded.panicked, stats.idle), (1, 0));
    let mut t = pool.get();
    t.use_it();
    assert_eq!(pool.stats().created, 2, "the next get makes a new object");
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn two_sweeps_release_every_idle_object() {
    let counts = Counts::new();
    let pool = Pool::builder()
        .thread_cache(4)
        .init(Tracked::maker(&counts))
        .build();
    let held: Vec<_> = (0..20).map(|_| pool.get()).collect();
    drop(held);
    assert_eq!(
        pool.stats().idle,
        20,
        "4 in this thread's cache, 16 in the depot"
    );

    pool.sweep();
    assert_eq!(
        counts.drops(),
        0,
        "one sweep keeps objects reusable (victim generation)"
    );
    assert_eq!(pool.stats().idle, 20);
    pool.sweep();
    assert_eq!(
        counts.drops(),
        20,
        "the second sweep frees them, this thread's cache included"
    );
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.discarded.aged_out), (0, 20));
}

/// A sweep reaches into the cache of a thread that is alive but quiet: on Linux the sweep
/// reclaims it itself (a membarrier handshake); elsewhere the thread ages its cache on its
/// next call. Either way the object lives through at most two sweeps.
#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_quiet_threads_cache_ages_out_in_two_sweeps() {
    let counts = Counts::new();
    let pool = Pool::builder()
        .thread_cache(4)
        .init(Tracked::maker(&counts))
        .build();
    std::thread::scope(|s| {
        let (visit, visits) = std::sync::mpsc::channel::<()>();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let pool = &pool;
        s.spawn(move || {
            for () in visits {
                drop(pool.get()); // the first visit fills this thread's cache
                done.send(()).unwrap();
            }
        });
        visit.send(()).unwrap();
        finished.recv().unwrap();
        assert_eq!(pool.stats().idle, 1, "kept in the other thread's cache");
        pool.sweep();
        assert_eq!(counts.drops(), 0, "one sweep old: still a victim");
        assert_eq!(pool.stats().idle, 1);
        pool.sweep();
        if cfg!(target_os = "linux") {
            assert_eq!(counts.drops(), 1, "the second sweep reclaimed it");
            assert_eq!(pool.stats().idle, 0);
        } else {
            visit.send(()).unwrap();
            finished.recv().unwrap();
            assert_eq!(counts.drops(), 1, "dropped on the thread's next visit");
        }
        drop(visit);
    });
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn one_sweep_keeps_objects_reusable_from_the_victim_generation() {
    let counts = Counts::new();
    let pool = Pool::builder()
        .thread_cache(0)
        .init(Tracked::maker(&counts))
        .build();
    drop(pool.get());
    pool.sweep();
    drop(pool.get());
    assert_eq!(counts.made(), 1, "the victim served the get");
    pool.sweep();
    pool.sweep();
    assert_eq!((pool.stats().idle, counts.drops()), (0, 1));
}

#[test]
fn the_idle_maximum_holds() {
    let counts = Counts::new();
    let pool = Pool::builder()
        .thread_cache(8)
        .max_idle(5)
        .init(Tracked::maker(&counts))
        .build();
    let held: Vec<_> = (0..50).map(|_| pool.get()).collect();
    drop(held);
    let stats = pool.stats();
    assert_eq!(stats.idle, 5);
    assert_eq!(stats.discarded.over_limit, 45);
    assert_eq!(counts.drops(), 45);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn prefilled_objects_come_out_as_init_made_them() {
    // As opool's and regex-automata's pools do: a prefilled object is a fresh one made
    // ahead, the same as a miss would make, not a reset one.
    let pool: Pool<Box<usize>> = Pool::with_init(|| Box::new(10));
    assert_eq!(pool.prefill(3), 3);
    let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
    assert!(held.iter().all(|value| ***value == 10), "as init made them");
    assert_eq!(pool.stats().created, 3, "and no get made one");
    drop(held);
    assert_eq!(**pool.get(), 0, "a used object comes back reset");
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn prefilled_objects_are_hits_not_misses() {
    let pool: Pool<Vec<u8>> = Pool::builder().init(|| vec![0; 4096]).build();
    assert_eq!(pool.prefill(8), 8);
    let held: Vec<_> = (0..8).map(|_| pool.get()).collect();
    let stats = pool.stats();
    assert_eq!((stats.created, stats.prefilled, stats.reused), (8, 8, 8));
    assert_eq!(stats.hit_rate(), 1.0, "every get found an object: {stats}");
    let extra = pool.get(); // a real miss
    assert_eq!(pool.stats().hit_rate(), 8.0 / 9.0);
    drop((held, extra));
    assert!(
        pool.stats()
            .to_string()
            .starts_with("created 9 (prefilled 8) |")
    );
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn objects_over_the_size_limit_are_dropped_on_return() {
    let pool: Pool<Vec<u8>> = Pool::builder().max_object_bytes(64 * 1024).build();
    let mut small = pool.get();
    small.reserve(4096);
    let mut huge = pool.get();
    huge.reserve(1 << 20);
    drop((small, huge));
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.discarded.too_large), (1, 1));
    assert!(stats.idle_bytes >= 4096 && stats.idle_bytes < 64 * 1024);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn the_idle_byte_budget_holds() {
    let pool: Pool<Vec<u8>> = Pool::builder()
        .max_idle_bytes(100_000)
        .init(|| Vec::with_capacity(10_000))
        .build();
    let held: Vec<_> = (0..30).map(|_| pool.get()).collect();
    drop(held);
    let stats = pool.stats();
    assert!(stats.idle_bytes <= 100_000, "{stats}");
    assert_eq!(stats.idle, 10);
    assert_eq!(stats.discarded.over_limit, 20);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn thread_cache_zero_still_pools_through_the_depot() {
    let pool: Pool<Vec<u8>> = Pool::builder().thread_cache(0).build();
    let mut v = pool.get();
    v.reserve(100);
    let ptr = v.as_ptr();
    drop(v);
    assert_eq!(pool.get().as_ptr(), ptr);
}

static SHARED: Pool<String> = Pool::new();

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_static_pool_works() {
    SHARED.get().push_str("some text");
    assert!(SHARED.get().is_empty());
    assert!(SHARED.stats().reused >= 1);
}

/// Its pool's `init` and its `reset` both use the same pool: Go calls `New` only after
/// unpinning for this reason, and we call `init` and `reset` outside every lock and borrow.
struct Reentrant {
    scratch: Vec<u8>,
}

static IN_INIT: AtomicBool = AtomicBool::new(false);
static IN_RESET: AtomicBool = AtomicBool::new(false);

static REENTRANT: LazyLock<Pool<Reentrant>> = LazyLock::new(|| {
    Pool::with_init(|| {
        if !IN_INIT.swap(true, Ordering::SeqCst) {
            drop(REENTRANT.get()); // a get (and a return) while making an object
            IN_INIT.store(false, Ordering::SeqCst);
        }
        Reentrant {
            scratch: Vec::new(),
        }
    })
});

impl Reset for Reentrant {
    fn reset(&mut self) {
        self.scratch.clear();
        if !IN_RESET.swap(true, Ordering::SeqCst) {
            let mut nested = REENTRANT.get(); // a get and a return while resetting
            nested.scratch.push(9);
            drop(nested);
            IN_RESET.store(false, Ordering::SeqCst);
        }
    }
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn init_and_reset_may_use_the_pool_itself() {
    let mut a = REENTRANT.get();
    a.scratch.push(1);
    drop(a);
    let b = REENTRANT.get();
    assert!(b.scratch.is_empty());
    drop(b);
    let stats = REENTRANT.stats();
    // The outer object, the one the nested get in `init` made, and the one the nested get
    // in that object's reset made.
    assert_eq!(stats.created, 3, "{stats}");
    assert_eq!(
        (stats.in_use(), stats.idle),
        (0, 3),
        "everything came back: {stats}"
    );
}

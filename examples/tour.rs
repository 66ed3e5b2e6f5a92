//! A walk through the API, printing what each step does to the pool:
//! `#[derive(Reset)]`, `get`, a guard's drop, `put`, `into_inner`, `get_owned`, `stats`,
//! `sweep`, and the builder's limits.
//!
//! ```text
//! cargo run --example tour
//! ```

use pool_core::{Pool, Pooled, Reset};
use std::collections::HashMap;
use std::sync::Arc;

/// A pooled type. The derive resets every field in place (`clear()` for the collections, `0`
/// for the number), so the allocations survive for the next user.
#[derive(Debug, Default, Reset)]
struct Scratch {
    query: String,
    terms: Vec<String>,
    scores: HashMap<String, f64>,
    hits: u64,
}

fn main() {
    // 1. A pool of a `Reset` type. `Pool::new()` is `const`, so it can be a `static` too.
    let pool: Pool<Scratch> = Pool::new();
    println!("1. a new pool:           {}", pool.stats());

    // 2. `get` hands out a guard that derefs to the object. The pool was empty: a miss,
    //    so it made one with `Scratch::default()`.
    let mut scratch = pool.get();
    scratch.query.push_str("rust object pool");
    scratch
        .terms
        .extend(["rust", "object", "pool"].map(String::from));
    scratch.scores.insert("pool".into(), 0.9);
    scratch.hits = 3;
    let query_allocation = scratch.query.as_ptr();
    println!("2. got one, filled it:   {scratch:?}");

    // 3. Dropping the guard resets the object and keeps it (nothing to call).
    drop(scratch);
    println!("3. guard dropped:        {}", pool.stats());

    // 4. The next `get` reuses it: empty, but with its allocations.
    let again = pool.get();
    println!(
        "4. got it again:         {again:?}, same query allocation: {}",
        again.query.as_ptr() == query_allocation
    );
    drop(again);

    // 5. `put` adopts an object made elsewhere (it is reset on the way in).
    let mut made_here = Scratch::default();
    made_here.query.push_str("made outside the pool");
    pool.put(made_here);
    println!("5. put one in:           {}", pool.stats());

    // 6. `Pooled::into_inner` takes an object out for good: no reset, no return.
    let mut kept = pool.get();
    kept.query.push_str("keep me");
    let kept: Scratch = Pooled::into_inner(kept);
    println!(
        "6. into_inner:           kept {:?}; pool: {}",
        kept.query,
        pool.stats()
    );

    // 7. `get_owned` on an `Arc<Pool>` gives a `'static` guard that can move to another
    //    thread; it still returns to this pool when dropped there.
    let shared = Arc::new(Pool::<Vec<u8>>::new());
    let mut buf = shared.get_owned();
    buf.extend_from_slice(b"written here, dropped on another thread");
    std::thread::spawn(move || drop(buf)).join().unwrap();
    println!("7. owned guard, other thread: {}", shared.stats());

    // 8. `sweep` ages idle objects: the first moves them to the victim generation (still
    //    reusable), the second frees what nobody asked for in between. (Objects in a
    //    thread's own cache age on that thread's next visit; thread_cache(0) here keeps the
    //    demo on the shared levels.)
    let aging: Pool<Vec<u8>> = Pool::builder()
        .thread_cache(0)
        .init(|| Vec::with_capacity(4096))
        .build();
    let held: Vec<_> = (0..4).map(|_| aging.get()).collect();
    drop(held);
    println!("8. four idle:            {}", aging.stats());
    aging.sweep();
    println!("   after one sweep:      {}", aging.stats());
    aging.sweep();
    println!("   after two sweeps:     {}", aging.stats());

    // 9. Limits: at most 2 idle objects, none bigger than 64 KiB. A buffer that grew for one
    //    huge request is dropped on return instead of pinning its memory.
    let limited: Pool<Vec<u8>> = Pool::builder()
        .thread_cache(0)
        .max_idle(2)
        .max_object_bytes(64 * 1024)
        .build();
    let mut huge = limited.get();
    huge.reserve(1 << 20);
    drop(huge);
    let three: Vec<_> = (0..3).map(|_| limited.get()).collect();
    drop(three);
    let stats = limited.stats();
    println!(
        "9. limits:               idle {} | discarded: too large {}, over limit {}",
        stats.idle, stats.discarded.too_large, stats.discarded.over_limit
    );
    println!("   all counters:         {stats}");
}

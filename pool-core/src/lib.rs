//! A typed object pool with reset semantics: the pool Rust users reach for the way Go users
//! reach for `sync.Pool`, minus its traps.
//!
//! # Example
//!
//! ```
//! use pool_core::{Pool, Reset};
//!
//! #[derive(Default, Reset)]
//! struct Request {
//!     path: String,
//!     headers: Vec<(String, String)>,
//!     body: Vec<u8>,
//! }
//!
//! static REQUESTS: Pool<Request> = Pool::new();
//!
//! let mut req = REQUESTS.get();
//! req.path.push_str("/songs/42");
//! req.body.extend_from_slice(b"...");
//! drop(req); // reset field by field (capacity kept) and returned
//!
//! let req = REQUESTS.get();
//! assert!(req.path.is_empty() && req.body.is_empty());
//! assert_eq!(REQUESTS.stats().reused, 1);
//! ```
//!
//! # Design
//!
//! ```text
//!  get ─► this thread's cache ─────► shared depot ─► victims ─► init()
//!         (hot slot, two magazines,   (a mutex; whole    (last sweep's objects,
//!          its victims; no lock,       magazines move)    taken one at a time)
//!          no atomic read-modify-write)
//!
//!  guard drop ─► reset() ─► too large? drop ─► thread cache ─► depot ─► over budget? drop
//!
//!  sweep():  every level's victims ─► dropped;  what each level holds ─► its victims
//! ```
//!
//! - **Thread caches**, after Go's per-P caches and Bonwick's magazines: a get and a return
//!   on a warm thread take no lock and do no atomic read-modify-write; the object returned
//!   last sits in a hot slot, so a thread that uses one object at a time touches nothing
//!   else. When a thread's magazines are both empty or both full it trades a whole magazine
//!   with the depot, so producer and consumer threads settle into a steady state that
//!   allocates nothing.
//! - **Aging**, after Go 1.13's victim cache: [`Pool::sweep`] drops every level's victims
//!   and turns what each level holds into victims, so an idle object is freed by the second
//!   sweep after its last use, wherever it sits: in the shared depot, or in the cache of a
//!   thread that is busy, quiet or gone. Sweeps run when called, or on a timer
//!   ([`PoolBuilder::age_every`]).
//! - **Any thread reclaims any cache**: a sweep takes the cache of a thread that is not in
//!   the pool at that moment, through a handshake whose owner side is two plain stores and
//!   whose sweeper side is Linux's `membarrier` (elsewhere, live threads age their own caches
//!   on their next call). A thread that exits hands its caches back from a thread-local
//!   destructor that touches no pool and takes no lock; the pool collects them, with their
//!   budget, on its next slow path or sweep.
//! - **Bounded memory**: per-thread caps, a total cap on idle objects and bytes, and a
//!   largest object worth keeping, all counted in [`Stats`] when they drop something.
//! - **[`Reset`] is the contract**: nothing is reused without being reset, and types whose
//!   state a pool cannot clear (channel ends, `Rc`, files) do not implement it, so they
//!   cannot be pooled by accident. `#[derive(Reset)]` resets every field and refuses
//!   fields it cannot reset, at compile time.
//!
//! ## Words
//!
//! One word per idea, in the code as here:
//!
//! | word | meaning |
//! |---|---|
//! | *idle* | kept for reuse, not in use: [`Stats::idle`] counts idle objects wherever they are |
//! | *level* | where idle objects sit: a thread cache, or the shared depot |
//! | *thread cache* | one thread's cache for one pool (for a [`BufferPool`], its *shelf*) |
//! | *magazine* | a batch of idle objects that moves between a thread cache and the depot whole |
//! | *depot* | the level every thread shares |
//! | *victims* | what a level held at the last sweep; the next sweep drops what is left of them |
//! | *sweep* | one aging cycle over every level |
//! | *reclaim* | a sweep aging a thread cache whose owner is out |
//! | *collect* | the pool taking back the cache of a thread that exited |
//! | *budget* | the pool's `max_idle` objects and bytes; a thread cache holds a *reservation* of it |
//! | *discard* | drop an object instead of keeping it, counted by reason in [`Discarded`] |
//!
//! # Choosing limits
//!
//! Every limit is optional, and every default is in the tables on [`PoolBuilder`] and
//! [`BufferPoolBuilder`]. What each one is for:
//!
//! - [`thread_cache`](PoolBuilder::thread_cache) (default 16): how many idle objects one
//!   thread keeps without touching shared state. Idle memory in thread caches is at most
//!   (threads alive at once) x this, until two sweeps free it.
//! - [`max_idle`](PoolBuilder::max_idle) / [`max_idle_bytes`](PoolBuilder::max_idle_bytes)
//!   (default: none): a hard ceiling on what the pool keeps idle, thread caches included. A
//!   return over it is dropped (`over_limit`). Unless you set the per-thread caps yourself,
//!   one thread may reserve at most an eighth of each, so one thread that holds on to what
//!   it took back out cannot make the pool refuse other threads' returns. Eight or more
//!   threads doing that at once can, until they return their objects or a sweep shrinks
//!   each reservation to what its cache holds: size the limit for the threads that use the
//!   pool.
//! - [`max_object_bytes`](PoolBuilder::max_object_bytes) (default: none): objects that grew
//!   past this are dropped on return (`too_large`). Set it for anything that can grow, or
//!   use `#[reset(max_capacity = n)]` on the field that grows.
//! - [`age_every`](PoolBuilder::age_every) (default: never): sweeps on a timer, so memory
//!   falls back when load falls without anyone calling [`sweep`](Pool::sweep). An idle object
//!   lives at most two intervals.
//!
//! Recipes for the four stories in the README:
//!
//! - **A proxy's buffers, 10 KB to 3 MB** (mean about 100 KB): [`BufferPool::new()`]. Each
//!   thread keeps up to 256 KiB (and 32 buffers) of those it released last, across classes,
//!   and gets back the one it used last (warm in its CPU's cache); bigger and older ones go to the
//!   shared class depots, where a miss takes the smallest that fits. Add
//!   `.age_every(Duration::from_secs(10))` so memory falls back when traffic does, and
//!   `.max_idle_bytes(..)` if the pool must never keep more than a fixed amount. Measured by
//!   `cargo run --release --example proxy_buffers`. After two sweeps the pool holds nothing
//!   and asks glibc to trim, but glibc keeps the free end of each worker thread's arena
//!   (0.6-0.7 MiB in that run, 8 workers, with the pool freeing small buffers first so the
//!   arenas shrink); with the pool taking allocation off the hot path, `MALLOC_ARENA_MAX=2`
//!   costs the pool little and brought it to 0.1 MiB.
//! - **A buffer that grew keeps its capacity**: a `Pool<Vec<u8>>` with
//!   `.max_object_bytes(1 << 20)`, or a derived `Reset` with `#[reset(max_capacity = n)]` on
//!   the buffer field; [`Stats::discarded`] shows what was refused.
//! - **A preallocated free list of fixed-size blocks**: `Pool::<Box<[u8; 4096]>>::builder()
//!   .init(|| Box::new([0; 4096])).build()` and [`prefill`](Pool::prefill). A block keeps its
//!   length, and each return zeroes it (an array resets every element). A `Vec<u8>` block
//!   would come back cleared instead: length 0, capacity kept. To choose sizes from
//!   measurement, [`BufferPool::recommend`] reports which sizes requests need, and
//!   [`BufferPool::calibrate`] applies the same answer to the pool.
//! - **Objects with state** (a request struct with maps, locks, channels): derive [`Reset`];
//!   a field it cannot reset is a compile error that names the field. Connections and other
//!   resources with identity do not belong in a pool: they have no `Reset`.
//!
//! # Architecture
//!
//! | file | holds |
//! |---|---|
//! | `pool.rs` | [`Pool`]: the API and the fast paths of get and return |
//! | `core.rs` | a pool's shared part (made on first use) and its slow paths |
//! | `magazines.rs` | what a `Pool`'s thread cache holds, and its trades with the depot |
//! | `depot.rs` | the shared level and its victims |
//! | `thread_cache.rs` | a thread cache, the handshake that lets sweeps reclaim it, the list of them |
//! | `registry.rs` | which caches this thread owns (a memo and a registry in thread-locals) |
//! | `barrier.rs` | the asymmetric barrier (`membarrier`) behind the handshake |
//! | `kept.rs` | an idle object in its box; garbage dropped after every lock is released |
//! | `budget.rs`, `limits.rs` | the idle budget and the limits |
//! | `aging.rs`, `sweeping.rs` | the aging thread; sweeps in flight, which a pool's `Drop` waits for |
//! | `guard.rs` | [`Pooled`] and [`PooledOwned`] |
//! | `builder.rs`, `stats.rs`, `reset.rs` | [`PoolBuilder`], [`Stats`], [`Reset`] and its impls |
//! | `buffer/` | [`BufferPool`]: `shared.rs` (paths), `shelf.rs` (thread caches), `depot.rs`, `classes.rs`, `calibrate.rs`, `stats.rs`, `builder.rs`, `guard.rs`, `trim.rs` |
//! | `sync.rs` | the one switch between std and loom |
//!
//! # Safety and correctness
//!
//! `unsafe` is confined to the per-thread level: `thread_cache.rs` (the owner's and the
//! reclaimer's access to a cache's state, each argued from the handshake), `registry.rs`
//! (turning a memo entry back into this thread's cache), and one call each from the fast
//! path in `pool.rs` and the pools' `Drop`s; beyond it, `guard.rs` moves the object out of a
//! guard exactly once, `barrier.rs` and `buffer/trim.rs` make one system call each, and
//! `buffer/guard.rs` implements `bytes::BufMut` by delegation. Every block carries a
//! `// SAFETY:` argument. Every concurrency primitive comes through `sync.rs`, so the loom
//! models (`tests/loom/`, and the wait for sweeps in flight in `sweeping.rs`'s own) check the
//! pool's own code, the reclaim handshake included; miri runs the unit tests, the
//! integration tests and the doctests.
//!
//! # Panics
//!
//! If `reset` panics, the object is dropped, not pooled, and the pool stays usable. A guard
//! dropped while its thread unwinds never pools its object (it may be half-modified): it
//! resets it only to wipe it, catching a panic there, then drops it. `put` and `prefill`
//! called then (from a `Drop` giving resources back) keep their whole objects as usual. A
//! panicking `Drop` of an object the pool discards (aged out, over a limit, or with the
//! pool) does not stop the others from being dropped; the first panic continues after.
//! No user code runs while the pool holds a lock or is inside a thread cache, with one
//! exception: the global allocator. The pools allocate and free their own bookkeeping (a
//! magazine, a depot's stack growing) there, so a `#[global_allocator]` must not call into a
//! pool: re-entering a thread cache is undefined behaviour, and re-entering a lock deadlocks.
//!
//! # Feature flags
//!
//! - `derive` (on by default): `#[derive(Reset)]`, re-exported from the `pool-derive` crate,
//!   so `use pool_core::Reset;` brings in both the trait and the derive. Without it,
//!   implement [`Reset`] by hand.
//! - `bytes`: `bytes::BufMut` for [`Buffer`] and [`BufferOwned`], `BufferOwned::freeze`
//!   into `bytes::Bytes` without a copy (the buffer returns to its pool when the last clone
//!   drops), and [`Reset`] for `bytes::BytesMut`.
//!
//! The chaos mode is a `cfg`, not a feature, so that no dependency can turn it on for you:
//! `RUSTFLAGS="--cfg pool_chaos"` drops one return in four and mixes up reuse order (see
//! Go's race mode), to flush out code that relies on getting "its" object back.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_debug_implementations)]
// CI runs clippy with `-D clippy::pedantic`; these pedantic lints are allowed, and why:
#![allow(
    // The get path and the parts of the return are forced inline on purpose: measured
    // (BENCHMARKS.md), a call left out of line cost more than the rest of the path. (The
    // return's entry, `Pool::recycle`, is out of line on purpose too: see there.)
    clippy::inline_always,
    // Getters and constructors whose results are plainly used; `#[must_use]` on each is
    // noise (the builders and guards, where dropping is the mistake, carry it).
    clippy::must_use_candidate,
    // Counts turned into ratios and percentages for display: a 52-bit mantissa is plenty.
    clippy::cast_precision_loss,
    // `shelf`, `shelves` and `shelved` are the vocabulary of the buffer pool's thread level.
    clippy::similar_names
)]

// Lets the derive's absolute `::pool_core::` paths resolve inside this crate's own tests.
extern crate self as pool_core;

mod aging;
mod barrier;
mod budget;
mod buffer;
mod builder;
#[cfg(pool_chaos)]
mod chaos;
mod core;
mod depot;
mod guard;
mod kept;
mod limits;
mod magazines;
mod pool;
mod registry;
mod reset;
mod stats;
mod sweeping;
mod sync;
mod thread_cache;

pub use buffer::{
    Buffer, BufferOwned, BufferPool, BufferPoolBuilder, BufferStats, Calibration, ClassStats,
};
pub use builder::{NoInit, PoolBuilder};
pub use guard::{Pooled, PooledOwned};
pub use pool::Pool;
pub use reset::{LimitCapacity, Reset, ZeroFill};
pub use stats::{Discarded, Stats};

#[cfg(feature = "derive")]
pub use pool_derive::Reset;

// The crate README's examples run as doctests, so the crates.io page cannot drift from the
// API. (The repository's README.md repeats its Rust example: .ci/package.sh checks that.)
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDocTests;

// The derive's documentation examples live in pool-derive (its doc page) but need this crate
// to run; they run here as doctests, from a copy inside this package so that the published
// crate runs them too (.ci/package.sh checks that the copy matches pool-derive/doc/reset.md).
#[cfg(all(doctest, feature = "derive"))]
#[doc = include_str!("../doc/reset.md")]
struct DeriveResetDocTests;

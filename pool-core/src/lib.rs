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
//!  get ─► this thread's cache ─► shared depot ─► victim generation ─► init()
//!         (two magazines, no      (Mutex, whole    (last sweep's
//!          lock, no atomic RMW)    magazines move)  depot; reused last)
//!
//!  guard drop ─► reset() ─► too large? drop ─► thread cache ─► depot ─► over limit? drop
//!
//!  sweep():  victim ─► dropped,   depot ─► victim,   thread caches age on their next visit
//! ```
//!
//! - **Per-thread caches**, after Go's per-P `private` slot and Bonwick's magazines: a get
//!   and a return on a warm thread take no lock and do no atomic read-modify-write. When a
//!   thread's two magazines are both empty or both full, it trades a whole magazine with
//!   the shared depot, so producer and consumer threads settle into a steady state that
//!   allocates nothing.
//! - **A victim generation**, after Go 1.13: [`Pool::sweep`] drops the victims and demotes
//!   the depot, so idle objects are freed within two sweeps and memory follows the working
//!   set. Sweeps run when called, or on a timer ([`PoolBuilder::age_every`]).
//! - **Bounded memory**: per-thread caps, a total cap on idle objects and bytes, and a
//!   largest object worth keeping, all counted in [`Stats`] when they drop something.
//!   Thread caches live in `thread_local::ThreadLocal`, whose slots are reused by new
//!   threads, so memory scales with threads alive at once, not every thread that ever used
//!   the pool.
//! - **[`Reset`] is the contract**: nothing is reused without being reset, and types whose
//!   state a pool cannot clear (channel ends, `Rc`, files) do not implement it, so they
//!   cannot be pooled by accident. `#[derive(Reset)]` resets every field and refuses
//!   fields it cannot reset, at compile time.
//!
//! # Safety and correctness
//!
//! `unsafe` lives in two places in the shipped code: the per-thread cache (`local.rs`, one
//! owner-only cell access) and the guards (`guard.rs`, moving the object out exactly once);
//! a third, the loom stand-in for `thread_local` in `sync.rs`, exists only under
//! `cfg(loom)`. Every concurrency primitive comes through that one `sync` module, so the
//! loom models check the pool's own code; miri runs the unit and integration tests.
//!
//! # Panics
//!
//! If `reset` panics, the object is dropped, not pooled, and the pool stays usable; a
//! guard dropped while its thread unwinds drops its object without resetting it.
//!
//! # Feature flags
//!
//! - `derive` (on by default): `#[derive(Reset)]`, re-exported from the `pool-derive` crate,
//!   so `use pool_core::Reset;` brings in both the trait and the derive. Without it,
//!   implement [`Reset`] by hand.
#![warn(missing_debug_implementations)]

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
pub mod reset;
mod stats;
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

/// `#[derive(Reset)]`: resets every field in place, keeping allocations.
#[cfg(feature = "derive")]
pub use pool_derive::Reset;

// The crate README's examples run as doctests, so the crates.io page cannot drift from the
// API. (The repository's README.md repeats its Rust example: ci/package.sh checks that.)
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDocTests;

// The derive's documentation examples live in pool-derive (its doc page) but need this crate
// to run; they run here as doctests, from a copy inside this package so that the published
// crate runs them too (ci/package.sh checks that the copy matches pool-derive/doc/reset.md).
#[cfg(all(doctest, feature = "derive"))]
#[doc = include_str!("../doc/reset.md")]
struct DeriveResetDocTests;

//! The chaos mode, `--cfg pool_chaos`: a debug mode in the spirit of Go's race mode, where
//! `sync.Pool`'s `Put` drops one item in four at random so programs cannot depend on
//! getting "their" object back. A `cfg` rather than a Cargo feature: features must be
//! additive, and any crate in a dependency graph turning this one on would change every
//! user's pool. Build with `RUSTFLAGS="--cfg pool_chaos"` to turn it on.
//!
//! With it on:
//! - one return in four is dropped after its reset, counted in
//!   [`Discarded::over_limit`](crate::Discarded::over_limit) (the pool is allowed to refuse
//!   any return, and this is the reason a user already expects);
//! - half of the remaining returns skip this thread's cache and go to the shared depot, where
//!   any thread may take them;
//! - half of all gets look in the shared levels before this thread's cache.
//!
//! So reuse order is a random mix of two stacks, objects migrate between threads, and a get
//! after a return may make a new object. Every guarantee still holds: nothing is handed out
//! without a reset, limits and stats stay exact. Not for production: it costs a hash per
//! get and return.
//!
//! The coin is a SipHash of a fresh `std::hash::RandomState`, whose keys std seeds randomly
//! per thread and bumps on every `new`: no state of our own, no atomics, and nothing loom
//! would need to see.

use std::hash::{BuildHasher, RandomState};

/// True with probability `1 / n`.
#[inline]
fn one_in(n: u64) -> bool {
    RandomState::new().hash_one(0u8).is_multiple_of(n)
}

/// Whether to drop this (already reset) return.
#[inline]
pub(crate) fn discard_return() -> bool {
    one_in(4)
}

/// Whether a return should bypass this thread's cache for the shared depot.
#[inline]
pub(crate) fn return_to_depot() -> bool {
    one_in(2)
}

/// Whether a get should try the shared levels before this thread's cache.
#[inline]
pub(crate) fn get_from_depot() -> bool {
    one_in(2)
}

//! The one switch between std and loom.
//!
//! Every atomic, fence, lock, cell and thread-local the pool uses comes from here, so the
//! same code runs under the loom model checker with `RUSTFLAGS="--cfg loom"`. No other
//! module names `std::sync::atomic`, `std::sync::Mutex`, `std::cell::UnsafeCell` or
//! `thread_local!`.

pub(crate) use self::inner::*;

/// A pool's id as its fast path reads it: std's atomic under loom too. It is written once,
/// before the pool is shared, and is no synchronisation the models need to see; a std
/// atomic keeps `Pool::new` a `const fn` under loom, whose atomics are not `const`.
pub(crate) type PoolId = std::sync::atomic::AtomicU64;

/// Locks a mutex, ignoring poison: the pool never runs user code while holding its locks,
/// so a poisoned lock cannot hold half-updated pool state.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Declares a thread-local with a `const` initialiser (no lazy-init check on access); under
/// loom, a loom thread-local, which loom drops when the modelled thread ends.
macro_rules! thread_local_const {
    ($(#[$attr:meta])* static $name:ident: $ty:ty = $init:expr;) => {
        #[cfg(not(loom))]
        std::thread_local! { $(#[$attr])* static $name: $ty = const { $init }; }
        #[cfg(loom)]
        loom::thread_local! { $(#[$attr])* static $name: $ty = $init; }
    };
}
pub(crate) use thread_local_const;

#[cfg(not(loom))]
mod inner {
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, compiler_fence, fence,
    };
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
    pub(crate) use std::thread::yield_now;

    /// `std::cell::UnsafeCell` with loom's accessor shape, so cell accesses read the same
    /// under both.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// A pointer to the contents; dereferencing it is the caller's `unsafe`.
        #[inline(always)]
        pub(crate) fn get_mut_ptr(&self) -> *mut T {
            self.0.get()
        }
    }
}

#[cfg(loom)]
mod inner {
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub(crate) use loom::sync::{Mutex, MutexGuard};
    pub(crate) use loom::thread::yield_now;
    // Not synchronisation the model needs to see: the pool's shared handle and the
    // aging registry (which does not run under loom) use std's reference counts.
    pub(crate) use std::sync::{Arc, Weak};

    /// Loom has no compiler-only fence; a `SeqCst` fence is stronger, and where the pool
    /// needs the asymmetric barrier's light side, loom gets a `SeqCst` fence anyway.
    pub(crate) fn compiler_fence(order: Ordering) {
        fence(order);
    }

    /// Loom's cell, with the accessor shape of the std side: loom tracks the access for as
    /// long as the returned guard lives.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::cell::UnsafeCell::new(value))
        }

        /// A tracked mutable access: loom reports a race if another access overlaps it.
        pub(crate) fn get_mut_ptr(&self) -> loom::cell::MutPtr<T> {
            self.0.get_mut()
        }
    }

    /// Loom has no `OnceLock`; the loom models build their pools through the builder, which
    /// sets the value before any sharing, so std's, which loom cannot see, is enough.
    #[derive(Debug)]
    pub(crate) struct OnceLock<T>(std::sync::OnceLock<T>);

    impl<T> OnceLock<T> {
        pub(crate) const fn new() -> Self {
            Self(std::sync::OnceLock::new())
        }
        pub(crate) fn get(&self) -> Option<&T> {
            self.0.get()
        }
        pub(crate) fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
            self.0.get_or_init(init)
        }
    }
}

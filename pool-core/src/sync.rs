//! The one switch between std and loom.
//!
//! Every atomic, lock, cell and per-thread slot the pool uses comes from here, so the same
//! code runs under the loom model checker with `RUSTFLAGS="--cfg loom"`. No other module
//! names `std::sync::atomic`, `std::sync::Mutex`, `std::cell::UnsafeCell` or `thread_local!`.
//!
//! Under loom, [`ThreadLocal`] is a small stand-in for the `thread_local` crate (which loom
//! cannot see): a loom mutex around a list of per-thread boxes. It stands in only for
//! "find or create this thread's slot"; the slot's contents are still loom cells and atomics,
//! so loom checks every access the pool makes to them.

pub(crate) use self::inner::*;

/// Locks a mutex, ignoring poison: the pool never runs user code while holding its locks,
/// so a poisoned lock cannot hold half-updated pool state.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Defines a `const fn` normally and a plain `fn` under loom, whose types have no const
/// constructors.
macro_rules! const_fn_unless_loom {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])* $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$attr])* $vis fn $($rest)*
    };
}
pub(crate) use const_fn_unless_loom;

#[cfg(not(loom))]
mod inner {
    pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
    pub(crate) use thread_local::ThreadLocal;

    /// `std::cell::UnsafeCell` with loom's closure API, so cell accesses read the same
    /// under both.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    struct TlsAlive;

    impl Drop for TlsAlive {
        // Its only job is to have a destructor: `try_with` fails once it has run.
        fn drop(&mut self) {}
    }

    thread_local! {
        static TLS_ALIVE: TlsAlive = {
            // Touch the `thread_local` crate's own per-thread id first, so its destructor is
            // registered before ours and (destructors run in reverse order) runs after ours:
            // while `TLS_ALIVE` is alive, so is the id a `ThreadLocal` lookup needs.
            static PROBE: ThreadLocal<()> = ThreadLocal::new();
            PROBE.get();
            TlsAlive
        };
    }

    /// Whether this thread's thread-locals can still be used. False while the thread runs
    /// its TLS destructors, when a guard kept in a user's `thread_local!` may be dropped:
    /// the pool then goes straight to the shared depot instead of touching per-thread state.
    #[inline]
    pub(crate) fn thread_locals_alive() -> bool {
        TLS_ALIVE.try_with(|_| ()).is_ok()
    }
}

#[cfg(loom)]
mod inner {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Mutex, MutexGuard};
    // Not synchronisation the model needs to see: the pool's shared handle and the
    // aging registry (which does not run under loom) use std's reference counts.
    pub(crate) use std::sync::{Arc, Weak};

    /// Loom stand-in for `thread_local::ThreadLocal`: this thread's slot, found under a loom
    /// mutex in a list keyed by loom's thread id. Slots are boxed and never removed before
    /// the whole structure drops, so a returned reference stays valid for `&self`'s lifetime.
    pub(crate) struct ThreadLocal<T> {
        slots: loom::sync::Mutex<Vec<(loom::thread::ThreadId, Box<T>)>>,
    }

    impl<T> ThreadLocal<T> {
        pub(crate) fn new() -> Self {
            Self {
                slots: loom::sync::Mutex::new(Vec::new()),
            }
        }

        pub(crate) fn get_or(&self, create: impl FnOnce() -> T) -> &T {
            let id = loom::thread::current().id();
            let mut slots = self.slots.lock().unwrap();
            let slot: *const T = match slots.iter().find(|(owner, _)| *owner == id) {
                Some((_, slot)) => &**slot,
                None => {
                    slots.push((id, Box::new(create())));
                    &*slots.last().expect("just pushed").1
                }
            };
            // SAFETY: the box is owned by `self.slots` and is neither removed nor replaced
            // until `self` drops (we only ever push), so its heap address is stable and the
            // pointee outlives the returned `&T`, which borrows `self`. Pushing more entries
            // moves the boxes, not what they point to.
            unsafe { &*slot }
        }

        pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
            let slots = self.slots.lock().unwrap();
            let pointers: Vec<*const T> =
                slots.iter().map(|(_, slot)| &**slot as *const T).collect();
            // SAFETY: as in `get_or`: each box lives, unmoved, until `self` drops.
            pointers.into_iter().map(|slot| unsafe { &*slot })
        }
    }

    impl<T> std::fmt::Debug for ThreadLocal<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("ThreadLocal { .. }")
        }
    }

    /// Loom runs thread-local destructors when a modelled thread finishes; the pool's own
    /// per-thread state is the stand-in above, which has no destructor ordering to fear.
    #[inline]
    pub(crate) fn thread_locals_alive() -> bool {
        true
    }
}

//! Automatic aging: one background thread per process sweeps the pools that asked for it.
//!
//! A pool built with [`PoolBuilder::age_every`](crate::PoolBuilder::age_every) registers a
//! `Weak` to its shared part here. The thread sleeps until the next registration is due,
//! sweeps it, and forgets registrations whose pool is gone. Nothing here is on a get or
//! return path.
//!
//! The thread never holds the registry lock while it sweeps or while it holds a strong
//! reference to a pool (upgrading and dropping happen outside the lock), so user code (the
//! `Drop` of aged-out objects) never runs under it, and a panic in that code is caught,
//! so one misbehaving pool cannot stop the aging of the others.

use crate::core::Core;
use crate::sync::{Arc, Weak};
use std::time::Duration;

/// Something the aging thread can sweep.
pub(crate) trait Sweep: Send + Sync {
    #[cfg_attr(loom, expect(dead_code, reason = "no aging thread runs under loom"))]
    fn sweep(&self);
}

impl<T: Send> Sweep for Core<T> {
    fn sweep(&self) {
        Core::sweep(self);
    }
}

/// Registers a pool's core to be swept every `every`.
pub(crate) fn register_pool<T: Send + 'static>(core: &Arc<Core<T>>, every: Duration) {
    register(Arc::downgrade(core) as Weak<dyn Sweep>, every);
}

/// Registers anything sweepable to be swept every `every`, while it lives.
#[cfg(not(loom))]
pub(crate) fn register(target: Weak<dyn Sweep>, every: Duration) {
    thread::register(target, every);
}

/// Under loom no aging thread runs; models call `sweep` themselves.
#[cfg(loom)]
pub(crate) fn register(target: Weak<dyn Sweep>, every: Duration) {
    let _ = (target, every);
}

#[cfg(not(loom))]
mod thread {
    use super::Sweep;
    use crate::sync::{Condvar, Mutex, Weak, lock};
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::PoisonError;
    use std::time::{Duration, Instant};

    struct Registration {
        target: Weak<dyn Sweep>,
        every: Duration,
        due: Instant,
    }

    struct Registry {
        pools: Mutex<Vec<Registration>>,
        changed: Condvar,
    }

    static REGISTRY: Registry = Registry {
        pools: Mutex::new(Vec::new()),
        changed: Condvar::new(),
    };
    static STARTED: std::sync::Once = std::sync::Once::new();

    pub(super) fn register(target: Weak<dyn Sweep>, every: Duration) {
        // A zero interval would spin; a millisecond is already far below any useful one.
        let every = every.max(Duration::from_millis(1));
        // An interval past the end of representable time is "never".
        let Some(due) = Instant::now().checked_add(every) else {
            return;
        };
        lock(&REGISTRY.pools).push(Registration { target, every, due });
        REGISTRY.changed.notify_one();
        STARTED.call_once(|| {
            // If the thread cannot start, pools still work; they age only by `sweep`.
            let _ = std::thread::Builder::new()
                .name("pool-core-aging".into())
                .spawn(run);
        });
    }

    fn run() {
        loop {
            for target in due_now() {
                // Upgraded here, outside the registry lock; if this is the last reference
                // (the pool was dropped meanwhile), it drops here too, outside the lock.
                let Some(target) = target.upgrade() else {
                    continue;
                };
                // A panicking `Drop` of an aged-out object must not end aging for every
                // pool in the process: the sweep has already counted and released
                // everything, so the panic only stops the drops of that one sweep (the
                // rest were dropped by the sweep itself before the panic resumed).
                let _ = catch_unwind(AssertUnwindSafe(|| target.sweep()));
            }
        }
    }

    /// Waits until at least one registration is due and returns the due ones, with their
    /// next due times advanced. Forgets registrations whose pool is gone.
    fn due_now() -> Vec<Weak<dyn Sweep>> {
        let mut pools = lock(&REGISTRY.pools);
        loop {
            // `strong_count` does not upgrade: no pool is kept alive (or dropped) here.
            pools.retain(|registration| registration.target.strong_count() > 0);
            let now = Instant::now();
            let due: Vec<Weak<dyn Sweep>> = pools
                .iter_mut()
                .filter(|registration| registration.due <= now)
                .map(|registration| {
                    // Skip missed ticks rather than sweeping several times in a row.
                    while registration.due <= now {
                        match registration.due.checked_add(registration.every) {
                            Some(next) => registration.due = next,
                            None => break,
                        }
                    }
                    Weak::clone(&registration.target)
                })
                .collect();
            if !due.is_empty() {
                return due;
            }
            let next = pools.iter().map(|registration| registration.due).min();
            pools = match next {
                Some(next) => {
                    let timeout = next.saturating_duration_since(Instant::now());
                    REGISTRY
                        .changed
                        .wait_timeout(pools, timeout)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => REGISTRY
                    .changed
                    .wait(pools)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

//! Automatic aging: one background thread per process sweeps the pools that asked for it.
//!
//! A pool built with [`PoolBuilder::age_every`](crate::PoolBuilder::age_every) keeps its
//! depot in an `Arc` and registers a `Weak` to it here. The thread sleeps until the next
//! registration is due, sweeps it, and forgets registrations whose pool is gone. Nothing
//! here is on a get or return path.

use crate::depot::Depot;
use crate::sync::{Arc, Weak};

/// Something the aging thread can sweep.
pub(crate) trait Sweep: Send + Sync {
    #[cfg_attr(loom, expect(dead_code, reason = "no aging thread runs under loom"))]
    fn sweep(&self);
}

impl<T: Send> Sweep for Depot<T> {
    fn sweep(&self) {
        Depot::sweep(self);
    }
}

/// Registers `depot` to be swept every `every`.
pub(crate) fn register<T: Send + 'static>(depot: &Arc<Depot<T>>, every: std::time::Duration) {
    register_sweeper(Arc::downgrade(depot) as Weak<dyn Sweep>, every);
}

/// Registers anything sweepable to be swept every `every`, while it lives.
#[cfg(not(loom))]
pub(crate) fn register_sweeper(target: Weak<dyn Sweep>, every: std::time::Duration) {
    thread::register(target, every);
}

/// Under loom no aging thread runs; models call `sweep` themselves.
#[cfg(loom)]
pub(crate) fn register_sweeper(target: Weak<dyn Sweep>, every: std::time::Duration) {
    let _ = (target, every);
}

#[cfg(not(loom))]
mod thread {
    use super::Sweep;
    use crate::sync::{Arc, Condvar, Mutex, Weak, lock};
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
        lock(&REGISTRY.pools).push(Registration {
            target,
            every,
            due: Instant::now() + every,
        });
        REGISTRY.changed.notify_one();
        STARTED.call_once(|| {
            // If the thread cannot start, pools still work; they age only by `sweep`.
            let _ = std::thread::Builder::new()
                .name("pool-core-aging".into())
                .spawn(run);
        });
    }

    fn run() {
        let mut pools = lock(&REGISTRY.pools);
        loop {
            let now = Instant::now();
            let mut due: Vec<Arc<dyn Sweep>> = Vec::new();
            pools.retain_mut(|registration| {
                let Some(target) = registration.target.upgrade() else {
                    return false; // the pool is gone
                };
                if registration.due <= now {
                    // Skip missed ticks rather than sweeping several times in a row.
                    while registration.due <= now {
                        registration.due += registration.every;
                    }
                    due.push(target);
                }
                true
            });
            if !due.is_empty() {
                // Sweep without the registry lock: sweeping drops user objects.
                drop(pools);
                for target in due {
                    target.sweep();
                }
                pools = lock(&REGISTRY.pools);
                continue;
            }
            let next = pools.iter().map(|registration| registration.due).min();
            pools = match next {
                Some(next) => {
                    let timeout = next.saturating_duration_since(Instant::now());
                    REGISTRY
                        .changed
                        .wait_timeout(pools, timeout)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => REGISTRY
                    .changed
                    .wait(pools)
                    .unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

//! Sweeps that are dropping their garbage, so a pool's `Drop` can wait for them.
//!
//! A sweep takes idle objects out of the pool under its locks and drops them after
//! releasing every lock. A pool dropped meanwhile on another thread (the aging thread's
//! sweep racing the owner's `drop(pool)`) must not return before those objects are dropped:
//! no idle object outlives its pool. So each sweep counts itself here until its garbage is
//! gone, and the pool's `Drop` waits for the count to fall.
//!
//! But the `Drop` may run inside one of those sweeps: an aged-out object can hold the last
//! handle to its own pool (an `Arc<AppState>` that owns the pool, say), and dropping it
//! drops the pool on the sweeping thread. Waiting for that sweep would wait for itself. So
//! each thread also records which sweeps it is inside, in a thread-local with a `const`
//! initialiser and no destructor (readable during thread teardown), and the `Drop` waits
//! only for the others. The sweep it is inside drops the rest of its garbage right after,
//! on the same thread, before the sweep returns.

use crate::sync::{AtomicUsize, Ordering, thread_local_const, yield_now};
use std::cell::Cell;

/// How many sweeps one thread can be inside at once and still be recognised (a sweep
/// whose garbage's `Drop` sweeps again, and so on). Deeper nesting is not recorded, and a
/// pool dropped at that depth by its own sweep's garbage would wait for itself.
const NESTING: usize = 4;

thread_local_const! {
    /// The sweeps (their counters' addresses) this thread is dropping garbage for; 0 is a
    /// free slot.
    static INSIDE: Cell<[usize; NESTING]> = Cell::new([0; NESTING]);
}

/// A pool's count of sweeps dropping their garbage.
#[derive(Debug)]
pub(crate) struct Sweeping {
    count: AtomicUsize,
}

impl Sweeping {
    pub(crate) fn new() -> Self {
        Self {
            count: AtomicUsize::new(0),
        }
    }

    /// A sweep starts, under the lock that also closes the pool (so a closed pool starts
    /// none); it counts until the returned guard drops, after its garbage.
    pub(crate) fn start(&self) -> InFlight<'_> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let id = self.id();
        let slot = INSIDE
            .try_with(|inside| {
                let mut slots = inside.get();
                let slot = slots.iter().position(|&held| held == 0)?;
                slots[slot] = id;
                inside.set(slots);
                Some(slot)
            })
            .ok()
            .flatten();
        InFlight {
            sweeping: self,
            slot,
        }
    }

    /// Waits until every sweep is done dropping its garbage, except the ones this thread is
    /// inside.
    pub(crate) fn wait_for_others(&self) {
        let id = self.id();
        let mine = INSIDE
            .try_with(|inside| inside.get().iter().filter(|&&held| held == id).count())
            .unwrap_or(0);
        while self.count.load(Ordering::Acquire) > mine {
            yield_now();
        }
    }

    /// Names this pool's sweeps in [`INSIDE`]: the counter's address, which stays put while
    /// the pool lives (it is inside the pool's shared, reference-counted part).
    fn id(&self) -> usize {
        std::ptr::from_ref(&self.count) as usize
    }
}

/// A sweep dropping its garbage; counted until dropped.
#[must_use = "the sweep counts as in flight until this guard drops"]
pub(crate) struct InFlight<'a> {
    sweeping: &'a Sweeping,
    /// Where this thread recorded the sweep, if it had a free slot.
    slot: Option<usize>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let _ = INSIDE.try_with(|inside| {
                let mut slots = inside.get();
                slots[slot] = 0;
                inside.set(slots);
            });
        }
        self.sweeping.count.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_drop_inside_a_sweep_waits_for_the_others_only() {
        let sweeping = Sweeping::new();
        let outer = sweeping.start();
        let inner = sweeping.start();
        sweeping.wait_for_others(); // returns: both sweeps are this thread's
        drop(inner);
        drop(outer);
        assert_eq!(sweeping.count.load(Ordering::Relaxed), 0);
        assert_eq!(INSIDE.with(Cell::get), [0; NESTING], "every slot is freed");
    }

    #[test]
    fn another_threads_sweep_is_waited_for() {
        let sweeping = Sweeping::new();
        let (started, finish) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let in_flight = sweeping.start();
                started.wait();
                finish.wait();
                done.store(true, Ordering::SeqCst);
                drop(in_flight);
            });
            started.wait();
            let mine = sweeping.start(); // this thread is inside a sweep of its own too
            finish.wait();
            sweeping.wait_for_others();
            assert!(
                done.load(Ordering::SeqCst),
                "the wait ended before the other thread's sweep"
            );
            drop(mine);
        });
    }
}

/// Loom models of the protocol, on the real type: a pool's `Drop` closes the pool under the
/// lock sweeps start under, then waits for the sweeps in flight. Each sweep "drops its
/// garbage" by writing a loom cell; the `Drop`'s side reads it after the wait, so loom reports
/// a race if the wait can end while a sweep that started is still dropping. Run by
/// `.ci/loom.sh` (`cargo test --lib loom_model` under `--cfg loom`).
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use crate::sync::{Mutex, lock};
    use loom::cell::UnsafeCell;
    use std::sync::Arc;

    /// What the models share: the lock a sweep starts under and the pool's `Drop` closes,
    /// the count, and the garbage a sweep drops (a loom cell).
    struct Shared {
        closed: Mutex<bool>,
        sweeping: Sweeping,
        garbage: UnsafeCell<usize>,
    }

    // SAFETY: the cell is loom's: every access is checked by loom, which is what the models
    // are for; the other fields are `Sync` themselves.
    unsafe impl Sync for Shared {}

    impl Shared {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                closed: Mutex::new(false),
                sweeping: Sweeping::new(),
                garbage: UnsafeCell::new(0),
            })
        }

        /// A sweep: starts unless the pool is closed, drops its garbage, ends.
        fn sweep(&self) {
            let in_flight = {
                let closed = lock(&self.closed);
                if *closed {
                    return;
                }
                self.sweeping.start()
            };
            self.garbage.with_mut(|garbage| {
                // SAFETY: loom checks this write against every other access to the cell.
                unsafe { *garbage += 1 };
            });
            drop(in_flight);
        }

        fn sweep_on_another_thread(self: &Arc<Self>) -> loom::thread::JoinHandle<()> {
            let shared = Arc::clone(self);
            loom::thread::spawn(move || shared.sweep())
        }

        /// The pool's `Drop`: closes, waits for the other sweeps, then may free what they
        /// were dropping (here: reads the cell).
        fn close(&self) -> usize {
            *lock(&self.closed) = true;
            self.sweeping.wait_for_others();
            self.garbage.with(|garbage| {
                // SAFETY: loom checks this read against every write above.
                unsafe { *garbage }
            })
        }
    }

    /// A sweep on another thread races the pool's drop: the drop never returns while that
    /// sweep drops its garbage, and a sweep that finds the pool closed never starts.
    #[test]
    fn the_drop_waits_for_a_sweep_in_flight() {
        loom::model(|| {
            let shared = Shared::new();
            let sweeper = shared.sweep_on_another_thread();
            let dropped = shared.close();
            sweeper.join().unwrap();
            assert!(dropped <= 1);
            assert_eq!(shared.sweeping.count.load(Ordering::Relaxed), 0);
        });
    }

    /// The pool is dropped inside its own sweep (an aged-out object held the last handle to
    /// it) while another thread's sweep is in flight: the drop waits for the other sweep only,
    /// so it neither waits for itself (loom would report the endless spin) nor ends early.
    #[test]
    fn a_drop_inside_a_sweep_waits_for_the_other_sweep_only() {
        loom::model(|| {
            let shared = Shared::new();
            let sweeper = shared.sweep_on_another_thread();
            let own = {
                let _closed = lock(&shared.closed);
                shared.sweeping.start()
            };
            shared.close();
            drop(own);
            sweeper.join().unwrap();
            assert_eq!(shared.sweeping.count.load(Ordering::Relaxed), 0);
        });
    }
}

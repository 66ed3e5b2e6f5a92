//! The idle budget: how many objects and bytes the idle levels plus the thread caches'
//! reservations may add up to.
//!
//! A [`Ledger`] counts one dimension. The depot owns its object ledger; its byte ledger is
//! its own or shared with other pools (the size classes of a
//! [`BufferPool`](crate::BufferPool) share one byte budget). Changes happen only where
//! the total moves: a reservation granted or returned, an object stored without one, an
//! object handed out or dropped. Moving objects between a thread's reservation and the
//! depot leaves the total alone.

use crate::limits::{UNLIMITED, Usage};
use crate::sync::{Arc, AtomicUsize, Ordering};

/// One dimension of the budget: what is reserved against a maximum.
#[derive(Debug)]
pub(crate) struct Ledger {
    reserved: AtomicUsize,
    max: usize,
}

impl Ledger {
    crate::sync::const_fn_unless_loom! {
        pub(crate) fn new(max: usize) -> Self {
            Self { reserved: AtomicUsize::new(0), max }
        }
    }

    /// The most this ledger lets be reserved.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Reserves up to `want`; returns what it got. An unlimited ledger grants everything
    /// without counting (counting against `usize::MAX` would overflow).
    pub(crate) fn reserve_up_to(&self, want: usize) -> usize {
        self.reserve(want, false)
    }

    /// Reserves exactly `need`, or nothing.
    pub(crate) fn reserve_exact(&self, need: usize) -> bool {
        self.reserve(need, true) == need
    }

    fn reserve(&self, want: usize, all_or_nothing: bool) -> usize {
        if self.max == UNLIMITED || want == 0 {
            return want;
        }
        let mut current = self.reserved.load(Ordering::Relaxed);
        loop {
            let granted = want.min(self.max.saturating_sub(current));
            if granted == 0 || (all_or_nothing && granted < want) {
                return 0;
            }
            // Relaxed: the ledger is a counter; the objects it counts move under the depot
            // lock, which orders everything else.
            match self.reserved.compare_exchange_weak(
                current,
                current + granted,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return granted,
                Err(actual) => current = actual,
            }
        }
    }

    /// Gives back a reservation.
    pub(crate) fn release(&self, amount: usize) {
        if self.max != UNLIMITED && amount > 0 {
            self.reserved.fetch_sub(amount, Ordering::Relaxed);
        }
    }
}

/// The depot's byte ledger: its own, or shared with other pools.
#[derive(Debug)]
pub(crate) enum ByteLedger {
    Own(Ledger),
    Shared(Arc<Ledger>),
}

impl std::ops::Deref for ByteLedger {
    type Target = Ledger;

    fn deref(&self) -> &Ledger {
        match self {
            ByteLedger::Own(ledger) => ledger,
            ByteLedger::Shared(ledger) => ledger,
        }
    }
}

/// Both dimensions.
#[derive(Debug)]
pub(crate) struct Budget {
    objects: Ledger,
    bytes: ByteLedger,
}

impl Budget {
    crate::sync::const_fn_unless_loom! {
        pub(crate) fn new(objects: Ledger, bytes: ByteLedger) -> Self {
            Self { objects, bytes }
        }
    }

    /// Reserves up to `want` in each dimension independently.
    pub(crate) fn reserve_up_to(&self, want: Usage) -> Usage {
        Usage {
            objects: self.objects.reserve_up_to(want.objects),
            bytes: self.bytes.reserve_up_to(want.bytes),
        }
    }

    /// Reserves all of `need`, or nothing.
    pub(crate) fn reserve_exact(&self, need: Usage) -> bool {
        if !self.objects.reserve_exact(need.objects) {
            return false;
        }
        if !self.bytes.reserve_exact(need.bytes) {
            self.objects.release(need.objects);
            return false;
        }
        true
    }

    pub(crate) fn release(&self, usage: Usage) {
        self.objects.release(usage.objects);
        self.bytes.release(usage.bytes);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn reserves_within_the_maximum() {
        let ledger = Ledger::new(10);
        assert_eq!(ledger.reserve_up_to(7), 7);
        assert_eq!(ledger.reserve_up_to(7), 3);
        assert!(!ledger.reserve_exact(1));
        ledger.release(4);
        assert!(ledger.reserve_exact(4));
        assert_eq!(ledger.reserve_up_to(1), 0);
    }

    #[test]
    fn unlimited_grants_without_counting() {
        let ledger = Ledger::new(UNLIMITED);
        assert_eq!(ledger.reserve_up_to(usize::MAX), usize::MAX);
        assert!(ledger.reserve_exact(usize::MAX));
        ledger.release(5);
    }

    #[test]
    fn shared_bytes_and_all_or_nothing() {
        let shared = Arc::new(Ledger::new(100));
        let a = Budget::new(
            Ledger::new(UNLIMITED),
            ByteLedger::Shared(Arc::clone(&shared)),
        );
        let b = Budget::new(Ledger::new(1), ByteLedger::Shared(shared));
        assert!(a.reserve_exact(Usage {
            objects: 5,
            bytes: 60
        }));
        assert!(
            !b.reserve_exact(Usage {
                objects: 1,
                bytes: 50
            }),
            "the bytes are the other pool's"
        );
        assert!(b.reserve_exact(Usage {
            objects: 1,
            bytes: 40
        }));
        assert!(
            !b.reserve_exact(Usage {
                objects: 1,
                bytes: 0
            }),
            "the object ledger is b's own"
        );
    }
}

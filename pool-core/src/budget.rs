//! The idle budget: how many objects and bytes the idle levels plus the thread caches'
//! reservations may add up to.
//!
//! A [`Quota`] counts one dimension; a [`Budget`] is a pool's pair, objects and bytes (a
//! [`BufferPool`](crate::BufferPool) has a byte quota only). The total moves only where objects enter or leave the idle
//! levels: a reservation taken or given back, an object stored without one, an object
//! handed out or dropped. Moving objects between a thread's reservation and the depot
//! leaves it alone.

use crate::limits::{Amount, UNLIMITED};
use crate::sync::{AtomicUsize, Ordering};

/// One dimension of the budget: what is reserved against a maximum.
#[derive(Debug)]
pub(crate) struct Quota {
    reserved: AtomicUsize,
    max: usize,
}

impl Quota {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            reserved: AtomicUsize::new(0),
            max,
        }
    }

    /// Reserves up to `want`; returns what it got. An unlimited quota gives everything
    /// without counting (counting against `usize::MAX` would overflow).
    #[cfg(all(test, not(loom)))]
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
            let got = want.min(self.max.saturating_sub(current));
            if got == 0 || (all_or_nothing && got < want) {
                return 0;
            }
            // Relaxed: the quota is a counter; the objects it counts move under the depot
            // lock, which orders everything else.
            match self.reserved.compare_exchange_weak(
                current,
                current + got,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return got,
                Err(actual) => current = actual,
            }
        }
    }

    /// Gives back a reservation. Saturates at zero, so an accounting slip can only make the
    /// budget looser, never wedge it shut.
    pub(crate) fn release(&self, amount: usize) {
        if self.max == UNLIMITED || amount == 0 {
            return;
        }
        let mut current = self.reserved.load(Ordering::Relaxed);
        loop {
            match self.reserved.compare_exchange_weak(
                current,
                current.saturating_sub(amount),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }
}

/// Both dimensions.
#[derive(Debug)]
pub(crate) struct Budget {
    objects: Quota,
    bytes: Quota,
}

impl Budget {
    pub(crate) fn new(objects: Quota, bytes: Quota) -> Self {
        Self { objects, bytes }
    }

    /// Reserves up to `want` in each dimension independently.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn reserve_up_to(&self, want: Amount) -> Amount {
        Amount {
            objects: self.objects.reserve_up_to(want.objects),
            bytes: self.bytes.reserve_up_to(want.bytes),
        }
    }

    /// Reserves all of `need`, or nothing.
    pub(crate) fn reserve_exact(&self, need: Amount) -> bool {
        if !self.objects.reserve_exact(need.objects) {
            return false;
        }
        if !self.bytes.reserve_exact(need.bytes) {
            self.objects.release(need.objects);
            return false;
        }
        true
    }

    pub(crate) fn release(&self, amount: Amount) {
        self.objects.release(amount.objects);
        self.bytes.release(amount.bytes);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn reserves_within_the_maximum() {
        let quota = Quota::new(10);
        assert_eq!(quota.reserve_up_to(7), 7);
        assert_eq!(quota.reserve_up_to(7), 3);
        assert!(!quota.reserve_exact(1));
        quota.release(4);
        assert!(quota.reserve_exact(4));
        assert_eq!(quota.reserve_up_to(1), 0);
        quota.release(usize::MAX);
        assert_eq!(quota.reserve_up_to(100), 10, "release saturates at zero");
    }

    #[test]
    fn unlimited_gives_without_counting() {
        let quota = Quota::new(UNLIMITED);
        assert_eq!(quota.reserve_up_to(usize::MAX), usize::MAX);
        assert!(quota.reserve_exact(usize::MAX));
        quota.release(5);
    }

    #[test]
    fn all_or_nothing_across_dimensions() {
        let budget = Budget::new(Quota::new(2), Quota::new(100));
        assert!(budget.reserve_exact(Amount {
            objects: 1,
            bytes: 60
        }));
        assert!(
            !budget.reserve_exact(Amount {
                objects: 1,
                bytes: 50
            }),
            "the bytes do not fit"
        );
        assert!(
            budget.reserve_exact(Amount {
                objects: 1,
                bytes: 40
            }),
            "the objects were not kept"
        );
        assert!(
            !budget.reserve_exact(Amount {
                objects: 1,
                bytes: 0
            }),
            "no objects left"
        );
    }
}

//! The idle budget: how many objects and bytes the idle levels plus the thread caches'
//! reservations may add up to.
//!
//! A [`Quota`] counts one dimension. A pool owns its object quota; its byte quota is its
//! own or shared with other pools (the size classes of a [`BufferPool`](crate::BufferPool)
//! share one byte budget). The total moves only where objects enter or leave the idle
//! levels: a reservation taken or given back, an object stored without one, an object
//! handed out or dropped. Moving objects between a thread's reservation and the depot
//! leaves it alone.

use crate::limits::{Amount, UNLIMITED};
use crate::sync::{Arc, AtomicUsize, Ordering};

/// One dimension of the budget: what is reserved against a maximum.
#[derive(Debug)]
pub(crate) struct Quota {
    reserved: AtomicUsize,
    max: usize,
}

impl Quota {
    crate::sync::const_fn_unless_loom! {
        pub(crate) fn new(max: usize) -> Quota {
            Quota { reserved: AtomicUsize::new(0), max }
        }
    }

    /// The most this quota lets be reserved.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Reserves up to `want`; returns what it got. An unlimited quota grants everything
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
            // Relaxed: the quota is a counter; the objects it counts move under the depot
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

/// A pool's byte quota: its own, or shared with other pools.
#[derive(Debug)]
pub(crate) enum ByteQuota {
    Own(Quota),
    Shared(Arc<Quota>),
}

impl std::ops::Deref for ByteQuota {
    type Target = Quota;

    fn deref(&self) -> &Quota {
        match self {
            ByteQuota::Own(quota) => quota,
            ByteQuota::Shared(quota) => quota,
        }
    }
}

/// Both dimensions.
#[derive(Debug)]
pub(crate) struct Budget {
    objects: Quota,
    bytes: ByteQuota,
}

impl Budget {
    pub(crate) fn new(objects: Quota, bytes: ByteQuota) -> Self {
        Self { objects, bytes }
    }

    /// Reserves up to `want` in each dimension independently.
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
    fn unlimited_grants_without_counting() {
        let quota = Quota::new(UNLIMITED);
        assert_eq!(quota.reserve_up_to(usize::MAX), usize::MAX);
        assert!(quota.reserve_exact(usize::MAX));
        quota.release(5);
    }

    #[test]
    fn shared_bytes_and_all_or_nothing() {
        let shared = Arc::new(Quota::new(100));
        let a = Budget::new(
            Quota::new(UNLIMITED),
            ByteQuota::Shared(Arc::clone(&shared)),
        );
        let b = Budget::new(Quota::new(1), ByteQuota::Shared(shared));
        assert!(a.reserve_exact(Amount {
            objects: 5,
            bytes: 60
        }));
        assert!(
            !b.reserve_exact(Amount {
                objects: 1,
                bytes: 50
            }),
            "the bytes are the other pool's"
        );
        assert!(b.reserve_exact(Amount {
            objects: 1,
            bytes: 40
        }));
        assert!(
            !b.reserve_exact(Amount {
                objects: 1,
                bytes: 0
            }),
            "the object quota is b's own"
        );
    }
}

//! The idle objects every level holds, and how the pool drops them.
//!
//! - [`Kept`]: a pooled object in its own heap allocation, with the bytes it retains (measured
//!   when it came back). Objects live boxed from creation to the end of their pooled life,
//!   so every level moves them as one pointer: moving a multi-word value in and out of a
//!   magazine on each get and return made the CPU's store-to-load forwarding fail (a load
//!   wider than the stores it reads), a stall larger than the rest of the hot path.
//! - [`Magazine`]: idle objects that move between a thread cache and the depot as one unit
//!   (Bonwick's term), so a trade under the depot's lock is O(1).
//! - [`Garbage`]: idle objects on their way out. The levels hand them back instead of
//!   dropping them, so that their destructors (user code) run after every lock is released
//!   and every borrow of a thread cache has ended.

use crate::limits::{Amount, MAX_COUNTED_BYTES};
use crate::stats::SharedCounters;
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// A pooled object, boxed, and the heap bytes it keeps.
#[derive(Debug)]
pub(crate) struct Kept<T>(Box<KeptValue<T>>);

#[derive(Debug)]
struct KeptValue<T> {
    value: T,
    bytes: usize,
}

impl<T> Kept<T> {
    /// Boxes `value`; its bytes are measured when it is kept.
    pub(crate) fn new(value: T) -> Self {
        Self(Box::new(KeptValue { value, bytes: 0 }))
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn with_bytes(value: T, bytes: usize) -> Self {
        Self(Box::new(KeptValue { value, bytes }))
    }

    #[inline(always)]
    pub(crate) fn value(&self) -> &T {
        &self.0.value
    }

    #[inline(always)]
    pub(crate) fn value_mut(&mut self) -> &mut T {
        &mut self.0.value
    }

    /// The object, out of its box for good.
    pub(crate) fn into_value(self) -> T {
        self.0.value
    }

    /// Records the bytes the object's `retained_bytes` reported.
    #[inline(always)]
    pub(crate) fn set_bytes(&mut self, bytes: usize) {
        self.0.bytes = bytes;
    }

    /// The bytes as reported, unclamped: compared with a bound no larger than
    /// [`MAX_COUNTED_BYTES`] + 1, "below" decides as [`amount`](Kept::amount) would, and
    /// "not below" may not (an object reporting more than the clamp): a caller that refuses on
    /// it must let [`amount`](Kept::amount) decide next.
    #[inline(always)]
    pub(crate) fn reported_bytes(&self) -> usize {
        self.0.bytes
    }

    /// One object and the bytes it counts for: as reported, up to [`MAX_COUNTED_BYTES`].
    /// Clamped here, on the levels' bookkeeping paths, rather than when measured, which
    /// keeps the clamp off the return's fast path.
    #[inline(always)]
    pub(crate) fn amount(&self) -> Amount {
        Amount::one(self.0.bytes.min(MAX_COUNTED_BYTES))
    }
}

/// Idle objects that move between levels as one unit.
pub(crate) type Magazine<T> = Vec<Kept<T>>;

/// What a magazine holds.
pub(crate) fn amount_of<T>(magazine: &[Kept<T>]) -> Amount {
    magazine
        .iter()
        .fold(Amount::ZERO, |sum, kept| sum.plus(kept.amount()))
}

/// Idle objects that aged out, to drop once no lock or borrow is held.
#[derive(Debug)]
pub(crate) struct Garbage<T> {
    magazines: Vec<Magazine<T>>,
}

impl<T> Default for Garbage<T> {
    fn default() -> Self {
        Self {
            magazines: Vec::new(),
        }
    }
}

impl<T> Garbage<T> {
    pub(crate) fn push(&mut self, magazine: Magazine<T>) {
        if !magazine.is_empty() {
            self.magazines.push(magazine);
        }
    }

    /// How many objects are waiting to be dropped.
    pub(crate) fn len(&self) -> usize {
        self.magazines.iter().map(Vec::len).sum()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.magazines.is_empty()
    }

    /// Counts the objects as aged out, then drops them. Call with no lock or borrow held:
    /// this runs the objects' destructors, which are user code. See [`drop_each`] for
    /// panics.
    pub(crate) fn dispose(self, counters: &SharedCounters) {
        self.dispose_with(counters, None);
    }

    /// Like [`dispose`](Garbage::dispose), with one more object (counted by the caller)
    /// dropped first.
    pub(crate) fn dispose_with(self, counters: &SharedCounters, first: Option<T>) {
        if self.magazines.is_empty() {
            // The common case on a slow path: nothing aged out, at most one refused object.
            drop_each(first);
            return;
        }
        counters.aged_out.add(self.len());
        // Smallest first, so glibc gives back more of its arenas (`buffer/trim.rs` says why).
        let mut kept: Vec<Kept<T>> = self.magazines.into_iter().flatten().collect();
        kept.sort_unstable_by_key(|kept| kept.amount().bytes);
        drop_each(
            first
                .into_iter()
                .chain(kept.into_iter().map(Kept::into_value)),
        );
    }
}

/// Drops every value, even if some destructors panic: each panic is caught, the rest are
/// still dropped, and then the first panic resumes (unless this thread is already
/// unwinding, where a second panic would abort: then the panics are dropped with the
/// objects). So one panicking `Drop` never leaks the objects after it.
pub(crate) fn drop_each<T>(values: impl IntoIterator<Item = T>) {
    let mut first: Option<Box<dyn Any + Send>> = None;
    for value in values {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(value))) {
            first.get_or_insert(payload);
        }
    }
    if let Some(payload) = first
        && !std::thread::panicking()
    {
        panic::resume_unwind(payload);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static DROPS: AtomicUsize = AtomicUsize::new(0);

    struct Bomb(bool);

    impl Drop for Bomb {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
            assert!(!self.0, "this object's Drop panics");
        }
    }

    #[test]
    fn every_object_is_dropped_and_the_first_panic_resumes() {
        let bombs = [
            Bomb(false),
            Bomb(true),
            Bomb(false),
            Bomb(true),
            Bomb(false),
        ];
        let result = panic::catch_unwind(AssertUnwindSafe(|| drop_each(bombs)));
        assert!(result.is_err(), "the first panic resumes");
        assert_eq!(
            DROPS.load(Ordering::SeqCst),
            5,
            "nothing after a panic leaks"
        );
    }

    /// Records its label in `ORDER` when dropped.
    struct Labelled(u8);

    static ORDER: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

    impl Drop for Labelled {
        fn drop(&mut self) {
            ORDER.lock().unwrap().push(self.0);
        }
    }

    #[test]
    fn garbage_is_dropped_smallest_first_after_the_extra_object() {
        let mut garbage = Garbage::default();
        garbage.push(vec![
            Kept::with_bytes(Labelled(30), 30 << 20),
            Kept::with_bytes(Labelled(1), 1024),
        ]);
        garbage.push(vec![Kept::with_bytes(Labelled(4), 4 << 20)]);
        let counters = SharedCounters::default();
        garbage.dispose_with(&counters, Some(Labelled(99)));
        assert_eq!(*ORDER.lock().unwrap(), [99, 1, 4, 30]);
        assert_eq!(counters.aged_out.get(), 3);
    }

    #[test]
    fn an_absurd_size_counts_as_the_most_one_object_can() {
        let magazine = vec![
            Kept::with_bytes((), usize::MAX),
            Kept::with_bytes((), usize::MAX),
        ];
        assert_eq!(
            amount_of(&magazine),
            Amount {
                objects: 2,
                bytes: 2 * MAX_COUNTED_BYTES
            }
        );
    }
}

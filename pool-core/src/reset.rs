//! The [`Reset`] contract and its impls for std types.
//!
//! A pool hands an object to a new user only after [`Reset::reset`] has run on it, so `Reset`
//! is the one place where "what state may leak to the next user" is decided. The impls here
//! clear in place and keep allocations, which is what makes reuse pay.
//!
//! Deliberately missing: channel ends, `Rc`/`Arc`, files and sockets (state the pool cannot
//! bring back to fresh), and any blanket impl over `Default` (it would make every such type
//! poolable by accident).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::mem::size_of;
use std::sync::{Mutex, PoisonError, RwLock, TryLockError};

/// Bring a value back to the state of a freshly made one, keeping allocations worth reusing.
///
/// This is the contract of [`Pool`](crate::Pool): every object is reset before anyone else
/// can get it, on every return path. Derive it with `#[derive(Reset)]` (feature `derive`,
/// on by default) rather than writing it by hand; the derive resets every field and refuses
/// fields whose type has no `Reset`.
///
/// # Examples
///
/// ```
/// use pool_core::Reset;
///
/// let mut buf = Vec::with_capacity(1024);
/// buf.extend_from_slice(b"previous user's data");
/// buf.reset();
/// assert!(buf.is_empty());
/// assert!(buf.capacity() >= 1024); // the allocation is kept for the next user
/// ```
///
/// A hand-written impl, for a type with an invariant the derive cannot know:
///
/// ```
/// use pool_core::Reset;
///
/// struct Counter { hits: u64, names: Vec<String> }
///
/// impl Reset for Counter {
///     fn reset(&mut self) {
///         self.hits = 0;
///         self.names.clear();
///     }
///     fn retained_bytes(&self) -> usize {
///         self.names.retained_bytes()
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be pooled: it does not implement `Reset`",
    label = "`{Self}` has no `Reset` impl, so a pool could not clear it before the next user",
    note = "derive it with `#[derive(pool_core::Reset)]` on your type, or implement `Reset` by hand",
    note = "channel ends, `Rc`/`Arc`, files and sockets have no `Reset` on purpose: state the pool cannot clear must not reach the next user; in a derived struct, drain such a field with `#[reset(with = path::to::fn)]` or, if it is truly not state, `#[reset(skip)]`"
)]
pub trait Reset {
    /// Clear `self` back to its freshly made state, keeping allocations worth reusing.
    ///
    /// After this call nothing of the previous user's data may be observable through the
    /// value's safe API.
    fn reset(&mut self);

    /// The heap bytes this value keeps alive, as the pool's byte budgets see it.
    ///
    /// Called on returned objects after [`reset`](Reset::reset), so for collections it is
    /// the spare capacity they keep. The default is `0`, right for values with no heap
    /// storage; types that own heap memory should override it (the derive sums the fields).
    /// A pool counts at most 1 TiB per object (256 MiB on 32-bit targets), so a value that
    /// reports an absurd size cannot overflow the pool's byte totals.
    ///
    /// The value's own size (`size_of::<Self>()`, in the box the pool keeps it in) is not
    /// counted: for a type that holds a large array inline, add it here, or the byte limits
    /// will not see that memory.
    fn retained_bytes(&self) -> usize {
        0
    }
}

/// Shrinks a collection whose capacity exceeds a maximum.
///
/// Used by `#[reset(max_capacity = N)]` in the derive, so a buffer that grew for one big
/// request does not pin that memory for every later user.
#[diagnostic::on_unimplemented(
    message = "`#[reset(max_capacity = ...)]` needs a growable collection, and `{Self}` is not one",
    label = "`{Self}` has no capacity to limit",
    note = "`max_capacity` works on `Vec`, `String`, `VecDeque`, `HashMap`, `HashSet` and `BinaryHeap`; remove it from this field, or implement `LimitCapacity` for `{Self}`"
)]
pub trait LimitCapacity {
    /// If the capacity is above `max`, shrink it (as `shrink_to(max)`). Call after
    /// clearing, when the value holds no elements. Sequences (`Vec`, `String`, `VecDeque`,
    /// `BinaryHeap`) end at most `max`; hash collections end at the capacity of the smallest
    /// table that holds `max` entries, up to about twice `max`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::LimitCapacity;
    ///
    /// let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    /// buf.limit_capacity(4096);
    /// assert!(buf.capacity() <= 4096);
    /// ```
    fn limit_capacity(&mut self, max: usize);
}

/// Overwrites a byte buffer's storage with zeros.
///
/// Used by `#[reset(zero)]` in the derive for data that must not reach the next user even
/// through unsafe code that reads spare capacity.
#[diagnostic::on_unimplemented(
    message = "`#[reset(zero)]` needs a byte buffer, and `{Self}` is not one",
    label = "`{Self}` cannot be zero-filled",
    note = "`zero` works on `Vec<u8>`, `String`, `[u8; N]` and `Box<[u8]>`; remove it from this field, or implement `ZeroFill` for `{Self}`"
)]
pub trait ZeroFill {
    /// Write zeros over every byte the value owns, including spare capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::ZeroFill;
    ///
    /// let mut secret = b"password".to_vec();
    /// secret.zero_fill();
    /// assert!(secret.iter().all(|&b| b == 0));
    /// ```
    fn zero_fill(&mut self);
}

// === impl Reset for primitives ===

macro_rules! reset_to {
    ($value:expr => $($ty:ty),* $(,)?) => {$(
        impl Reset for $ty {
            #[inline]
            fn reset(&mut self) {
                *self = $value;
            }
        }
    )*};
}

reset_to!(0 => u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);
reset_to!(0.0 => f32, f64);
reset_to!(false => bool);
reset_to!('\0' => char);

impl Reset for () {
    #[inline]
    fn reset(&mut self) {}
}

impl<T: ?Sized> Reset for PhantomData<T> {
    #[inline]
    fn reset(&mut self) {}
}

// === impl Reset for collections: clear, keep capacity ===

impl Reset for String {
    #[inline]
    fn reset(&mut self) {
        self.clear();
    }
    fn retained_bytes(&self) -> usize {
        self.capacity()
    }
}

impl<T> Reset for Vec<T> {
    #[inline]
    fn reset(&mut self) {
        self.clear();
    }
    fn retained_bytes(&self) -> usize {
        self.capacity().saturating_mul(size_of::<T>())
    }
}

impl<T> Reset for VecDeque<T> {
    #[inline]
    fn reset(&mut self) {
        self.clear();
    }
    fn retained_bytes(&self) -> usize {
        self.capacity().saturating_mul(size_of::<T>())
    }
}

impl<T: Ord> Reset for BinaryHeap<T> {
    #[inline]
    fn reset(&mut self) {
        self.clear();
    }
    fn retained_bytes(&self) -> usize {
        self.capacity().saturating_mul(size_of::<T>())
    }
}

/// Per-bucket overhead of the std hash table (one control byte), for the estimate below.
const HASH_CONTROL_BYTES: usize = 1;

impl<K, V, S: BuildHasher> Reset for HashMap<K, V, S> {
    #[inline]
    fn reset(&mut self) {
        self.clear();
    }
    /// An estimate: capacity times entry size plus one control byte per entry.
    fn retained_bytes(&self) -> usize {
        self.capacity()
            .saturating_mul(size_of::<(K, V)>() + HASH_CONTROL_BYTES)
    }
}

impl<T, S: BuildHasher> Reset for HashSet<T, S> {
    #[inline]
    fn reset(&mut self) {
        self.clear();
    }
    /// An estimate: capacity times entry size plus one control byte per entry.
    fn retained_bytes(&self) -> usize {
        self.capacity()
            .saturating_mul(size_of::<T>() + HASH_CONTROL_BYTES)
    }
}

/// B-trees free their nodes on `clear`, so an empty one keeps no heap memory.
impl<K, V> Reset for BTreeMap<K, V> {
    #[inline]
    fn reset(&mut self) {
        self.clear();
    }
}

/// B-trees free their nodes on `clear`, so an empty one keeps no heap memory.
impl<T> Reset for BTreeSet<T> {
    #[inline]
    fn reset(&mut self) {
        self.clear();
    }
}

// === impl Reset for wrappers ===

/// Resets to `None`: the pool cannot know how to make a fresh `T` for `Some`.
impl<T> Reset for Option<T> {
    #[inline]
    fn reset(&mut self) {
        *self = None;
    }
}

impl<T: Reset + ?Sized> Reset for Box<T> {
    #[inline]
    fn reset(&mut self) {
        (**self).reset();
    }
    fn retained_bytes(&self) -> usize {
        size_of_val::<T>(self).saturating_add((**self).retained_bytes())
    }
}

impl<T: Reset, const N: usize> Reset for [T; N] {
    #[inline]
    fn reset(&mut self) {
        self.iter_mut().for_each(Reset::reset);
    }
    fn retained_bytes(&self) -> usize {
        self.iter()
            .map(Reset::retained_bytes)
            .fold(0, usize::saturating_add)
    }
}

impl<T: Reset> Reset for [T] {
    #[inline]
    fn reset(&mut self) {
        self.iter_mut().for_each(Reset::reset);
    }
    fn retained_bytes(&self) -> usize {
        self.iter()
            .map(Reset::retained_bytes)
            .fold(0, usize::saturating_add)
    }
}

/// `retained_bytes` is `0`: a `Cell`'s contents cannot be inspected through `&self`.
impl<T: Reset> Reset for Cell<T> {
    #[inline]
    fn reset(&mut self) {
        self.get_mut().reset();
    }
}

/// # Panics
///
/// If a borrow of the cell was leaked (a `Ref` or `RefMut` passed to `std::mem::forget`)
/// while the object was in use: the cell would stay borrowed for every later user, so the
/// object cannot be reused, and a pool drops it (counted as `panicked`).
impl<T: Reset + ?Sized> Reset for RefCell<T> {
    #[inline]
    fn reset(&mut self) {
        // With `&mut self` no borrow can be live: a failed borrow means a leaked one.
        assert!(
            self.try_borrow_mut().is_ok(),
            "a borrow of this RefCell was leaked (std::mem::forget) while its object was in \
             use: the cell would stay borrowed, so the object is not reused"
        );
        self.get_mut().reset();
    }
    /// `0` while the cell is mutably borrowed elsewhere.
    fn retained_bytes(&self) -> usize {
        self.try_borrow().map_or(0, |value| value.retained_bytes())
    }
}

/// Resets the contents through `get_mut` (no locking: the pool holds the only reference)
/// and clears poison, so a lock poisoned by a panicking user comes back usable.
///
/// # Panics
///
/// If a guard of the lock was leaked (passed to `std::mem::forget`) while the object was
/// in use: the lock would stay held and the next user would block forever, so the object
/// cannot be reused, and a pool drops it (counted as `panicked`).
impl<T: Reset + ?Sized> Reset for Mutex<T> {
    fn reset(&mut self) {
        // With `&mut self` no guard can be live: a lock we cannot take is a leaked guard's.
        assert!(
            !matches!(self.try_lock(), Err(TryLockError::WouldBlock)),
            "a guard of this Mutex was leaked (std::mem::forget) while its object was in use: \
             the lock would stay held, so the object is not reused"
        );
        self.get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .reset();
        self.clear_poison();
    }
    /// `0` while the lock is held elsewhere.
    fn retained_bytes(&self) -> usize {
        match self.try_lock() {
            Ok(value) => value.retained_bytes(),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().retained_bytes(),
            Err(TryLockError::WouldBlock) => 0,
        }
    }
}

/// Resets the contents through `get_mut` and clears poison, like the `Mutex` impl.
///
/// # Panics
///
/// If a read or write guard was leaked (passed to `std::mem::forget`) while the object was
/// in use, as for the `Mutex` impl.
impl<T: Reset + ?Sized> Reset for RwLock<T> {
    fn reset(&mut self) {
        assert!(
            !matches!(self.try_write(), Err(TryLockError::WouldBlock)),
            "a guard of this RwLock was leaked (std::mem::forget) while its object was in use: \
             the lock would stay held, so the object is not reused"
        );
        self.get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .reset();
        self.clear_poison();
    }
    /// `0` while the lock is write-locked elsewhere.
    fn retained_bytes(&self) -> usize {
        match self.try_read() {
            Ok(value) => value.retained_bytes(),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().retained_bytes(),
            Err(TryLockError::WouldBlock) => 0,
        }
    }
}

macro_rules! reset_tuple {
    ($($name:ident . $index:tt),+) => {
        impl<$($name: Reset),+> Reset for ($($name,)+) {
            #[inline]
            fn reset(&mut self) {
                $(self.$index.reset();)+
            }
            fn retained_bytes(&self) -> usize {
                0usize $(.saturating_add(self.$index.retained_bytes()))+
            }
        }
    };
}

reset_tuple!(A.0);
reset_tuple!(A.0, B.1);
reset_tuple!(A.0, B.1, C.2);
reset_tuple!(A.0, B.1, C.2, D.3);
reset_tuple!(A.0, B.1, C.2, D.3, E.4);
reset_tuple!(A.0, B.1, C.2, D.3, E.4, F.5);
reset_tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6);
reset_tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7);
reset_tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8);
reset_tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9);
reset_tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9, K.10);
reset_tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9, K.10, L.11);

// === impl Reset for the `bytes` crate (feature `bytes`) ===

/// Clears the buffer and keeps its allocation (when this handle is its only owner; a
/// `BytesMut` split from a shared buffer keeps only its own part).
#[cfg(feature = "bytes")]
#[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
impl Reset for bytes::BytesMut {
    #[inline]
    fn reset(&mut self) {
        self.clear();
    }
    fn retained_bytes(&self) -> usize {
        self.capacity()
    }
}

// === impl LimitCapacity ===

macro_rules! limit_capacity_by_shrink_to {
    ($(impl[$($generics:tt)*] for $ty:ty;)*) => {$(
        impl<$($generics)*> LimitCapacity for $ty {
            #[inline]
            fn limit_capacity(&mut self, max: usize) {
                if self.capacity() > max {
                    self.shrink_to(max);
                }
            }
        }
    )*};
}

limit_capacity_by_shrink_to! {
    impl[] for String;
    impl[T] for Vec<T>;
    impl[T] for VecDeque<T>;
    impl[T: Ord] for BinaryHeap<T>;
    impl[K: Eq + Hash, V, S: BuildHasher] for HashMap<K, V, S>;
    impl[T: Eq + Hash, S: BuildHasher] for HashSet<T, S>;
}

// === impl ZeroFill ===

impl ZeroFill for Vec<u8> {
    fn zero_fill(&mut self) {
        // Spare capacity may hold bytes from an earlier, longer use: cover all of it.
        let capacity = self.capacity();
        self.clear();
        self.resize(capacity, 0);
    }
}

impl ZeroFill for String {
    fn zero_fill(&mut self) {
        let mut bytes = std::mem::take(self).into_bytes();
        bytes.zero_fill();
        bytes.clear();
        *self = String::from_utf8(bytes).unwrap_or_default();
    }
}

impl<const N: usize> ZeroFill for [u8; N] {
    fn zero_fill(&mut self) {
        self.fill(0);
    }
}

impl ZeroFill for Box<[u8]> {
    fn zero_fill(&mut self) {
        self.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_clear_and_keep_capacity() {
        let mut v = Vec::<u32>::with_capacity(64);
        v.extend(0..10);
        v.reset();
        assert!(v.is_empty());
        assert!(v.capacity() >= 64);
        assert_eq!(v.retained_bytes(), v.capacity() * 4);

        let mut m = HashMap::<u32, u32>::with_capacity(32);
        m.insert(1, 2);
        let cap = m.capacity();
        m.reset();
        assert!(m.is_empty());
        assert_eq!(m.capacity(), cap);
    }

    #[test]
    fn poisoned_mutex_comes_back_usable() {
        let mut lock = Mutex::new(vec![1u8, 2, 3]);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = lock.lock().unwrap();
            panic!("user code panics while holding the lock");
        }));
        assert!(lock.is_poisoned());
        lock.reset();
        assert!(!lock.is_poisoned());
        assert!(lock.lock().unwrap().is_empty());
    }

    /// The message `value.reset()` panics with.
    fn reset_panic(value: &mut impl Reset) -> String {
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| value.reset()))
            .expect_err("a leaked guard cannot be reset away");
        panic
            .downcast_ref::<&str>()
            .copied()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn a_leaked_guard_makes_reset_refuse_the_object() {
        let mut mutex = Mutex::new(vec![1u8]);
        std::mem::forget(mutex.lock().unwrap());
        assert!(reset_panic(&mut mutex).contains("Mutex was leaked"));
        let mut rwlock = RwLock::new(vec![1u8]);
        std::mem::forget(rwlock.read().unwrap());
        assert!(reset_panic(&mut rwlock).contains("RwLock was leaked"));
        let mut cell = RefCell::new(vec![1u8]);
        std::mem::forget(cell.borrow());
        assert!(reset_panic(&mut cell).contains("RefCell was leaked"));
    }

    #[test]
    fn tuples_arrays_and_options_reset_every_part() {
        let mut t = (5u8, String::from("x"), [1i32, 2]);
        t.reset();
        assert_eq!(t, (0, String::new(), [0, 0]));
        let mut o = Some(3);
        o.reset();
        assert_eq!(o, None);
    }

    /// Reports a byte count whose sum with anything overflows.
    struct Huge(#[allow(dead_code, reason = "a byte of size, for the box's own bytes")] u8);

    impl Reset for Huge {
        fn reset(&mut self) {}
        fn retained_bytes(&self) -> usize {
            usize::MAX - 1
        }
    }

    #[test]
    fn retained_bytes_sums_saturate() {
        assert_eq!((Huge(0), Huge(0)).retained_bytes(), usize::MAX);
        assert_eq!([Huge(0), Huge(0), Huge(0)].retained_bytes(), usize::MAX);
        assert_eq!([Huge(0), Huge(0)][..].retained_bytes(), usize::MAX);
        assert_eq!(Box::new(Huge(0)).retained_bytes(), usize::MAX);
    }

    #[test]
    fn limit_capacity_shrinks_only_above_the_maximum() {
        let mut v = Vec::<u8>::with_capacity(1 << 20);
        v.limit_capacity(4096);
        assert!(v.capacity() <= 4096);
        let mut small = Vec::<u8>::with_capacity(100);
        small.limit_capacity(4096);
        assert_eq!(small.capacity(), 100);
    }

    #[test]
    fn zero_fill_covers_spare_capacity() {
        let mut v = b"secret".to_vec();
        v.truncate(2);
        v.zero_fill();
        assert!(v.iter().all(|&b| b == 0));
        assert_eq!(v.len(), v.capacity());
    }
}

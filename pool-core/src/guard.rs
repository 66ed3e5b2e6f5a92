//! The guards a pool hands out: [`Pooled`] borrows the pool, [`PooledOwned`] holds an `Arc`
//! to it. Dropping either resets the object and returns it; `into_inner` takes it out for
//! good.
//!
//! The object (boxed, as every pooled object is: see `kept.rs`) sits in a `ManuallyDrop` so
//! `Drop` can move it out by value and hand it to the pool; this file's `unsafe` blocks do
//! that move, each exactly once.

use crate::kept::Kept;
use crate::pool::Pool;
use crate::reset::Reset;
use crate::sync::Arc;
use std::borrow::{Borrow, BorrowMut};
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};

/// An object on loan from a [`Pool`]; dropping it resets the object and returns it.
///
/// Derefs to `T`. Made by [`Pool::get`].
///
/// # Panics
///
/// Dropping the guard runs `T::reset`. If that panics, the object is dropped instead of
/// pooled and the panic continues. A guard dropped while its thread is already unwinding
/// never pools its object, which may be half-modified: it resets it only to wipe it (so a
/// `#[reset(zero)]` field is zeroed before its memory goes back to the allocator), then drops
/// it, and nothing in the drop can panic a second time.
///
/// A guard cannot outlive its pool:
///
/// ```compile_fail,E0597
/// use pool_core::{Pool, Pooled};
///
/// let guard: Pooled<'_, Vec<u8>>;
/// {
///     let pool: Pool<Vec<u8>> = Pool::new();
///     guard = pool.get();
/// }
/// drop(guard);
/// ```
#[must_use = "dropping the guard at once returns the object to the pool unused"]
pub struct Pooled<'a, T: Reset> {
    kept: ManuallyDrop<Kept<T>>,
    pool: &'a Pool<T>,
}

impl<'a, T: Reset> Pooled<'a, T> {
    #[inline(always)]
    pub(crate) fn new(pool: &'a Pool<T>, kept: Kept<T>) -> Self {
        Self {
            kept: ManuallyDrop::new(kept),
            pool,
        }
    }

    /// Takes the object out of the pool for good: it will not be reset or returned.
    ///
    /// An associated function (`Pooled::into_inner(guard)`), so it does not shadow a
    /// method of `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::{Pool, Pooled};
    ///
    /// let pool: Pool<String> = Pool::new();
    /// let mut s = pool.get();
    /// s.push_str("kept");
    /// let s: String = Pooled::into_inner(s);
    /// assert_eq!(s, "kept");
    /// assert_eq!(pool.stats().detached, 1);
    /// ```
    pub fn into_inner(this: Self) -> T {
        let mut this = ManuallyDrop::new(this);
        this.pool.count_detached();
        // SAFETY: `this.kept` is initialised (only `Drop` and this function take it, and
        // each consumes the guard), and `this` is wrapped in `ManuallyDrop`, so the guard's
        // `Drop` never runs and the object is taken exactly once.
        unsafe { ManuallyDrop::take(&mut this.kept) }.into_value()
    }

    /// The pool this guard returns to.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::{Pool, Pooled};
    ///
    /// let pool: Pool<String> = Pool::new();
    /// let guard = pool.get();
    /// assert_eq!(Pooled::pool(&guard).stats().in_use(), 1);
    /// ```
    pub fn pool(this: &Self) -> &'a Pool<T> {
        this.pool
    }
}

impl<T: Reset> Drop for Pooled<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: `drop` runs at most once, `into_inner` (the only other taker) prevents it
        // from running, and `self.kept` is not touched after this line.
        let kept = unsafe { ManuallyDrop::take(&mut self.kept) };
        self.pool.recycle(kept);
    }
}

impl<T: Reset> Deref for Pooled<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        self.kept.value()
    }
}

impl<T: Reset> DerefMut for Pooled<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        self.kept.value_mut()
    }
}

impl<T: Reset + fmt::Debug> fmt::Debug for Pooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// An object on loan from an `Arc<Pool>`; dropping it resets the object and returns it.
///
/// Like [`Pooled`] but `'static`: it keeps the pool alive, and is `Send` when `T: Send`, so
/// it can cross threads or live in a task. Made by [`Pool::get_owned`].
///
/// # Panics
///
/// As for [`Pooled`].
#[must_use = "dropping the guard at once returns the object to the pool unused"]
pub struct PooledOwned<T: Reset> {
    // Declared (and so dropped) before `pool`, though `Drop` moves it out first anyway.
    kept: ManuallyDrop<Kept<T>>,
    pool: ManuallyDrop<Arc<Pool<T>>>,
}

impl<T: Reset> PooledOwned<T> {
    #[inline]
    pub(crate) fn new(pool: Arc<Pool<T>>, kept: Kept<T>) -> Self {
        Self {
            kept: ManuallyDrop::new(kept),
            pool: ManuallyDrop::new(pool),
        }
    }

    /// Takes the object out of the pool for good: it will not be reset or returned.
    ///
    /// # Panics
    ///
    /// If this guard held the last handle to the pool, the pool is dropped here, with its
    /// idle objects; if one of their `Drop`s panics, the panic continues from here after
    /// every one is dropped (and the object taken out is dropped with the unwinding).
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::{Pool, PooledOwned};
    /// use std::sync::Arc;
    ///
    /// let pool = Arc::new(Pool::<Vec<u8>>::new());
    /// let v: Vec<u8> = PooledOwned::into_inner(pool.get_owned());
    /// assert!(v.is_empty());
    /// ```
    pub fn into_inner(this: Self) -> T {
        let mut this = ManuallyDrop::new(this);
        this.pool.count_detached();
        // SAFETY: the guard is in `ManuallyDrop`, so its `Drop` never runs; each field is
        // initialised (only `Drop` and this function take them, and each consumes the
        // guard) and is taken exactly once, here.
        let (kept, pool) = unsafe {
            (
                ManuallyDrop::take(&mut this.kept),
                ManuallyDrop::take(&mut this.pool),
            )
        };
        drop(pool);
        kept.into_value()
    }

    /// The pool this guard returns to.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::{Pool, PooledOwned};
    /// use std::sync::Arc;
    ///
    /// let pool = Arc::new(Pool::<String>::new());
    /// let guard = pool.get_owned();
    /// assert!(Arc::ptr_eq(PooledOwned::pool(&guard), &pool));
    /// ```
    pub fn pool(this: &Self) -> &Arc<Pool<T>> {
        &this.pool
    }
}

impl<T: Reset> Drop for PooledOwned<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `drop` runs at most once, `into_inner` (the only other taker) prevents it
        // from running, and neither field is touched after this line.
        let (kept, pool) = unsafe {
            (
                ManuallyDrop::take(&mut self.kept),
                ManuallyDrop::take(&mut self.pool),
            )
        };
        pool.recycle(kept);
    }
}

impl<T: Reset> Deref for PooledOwned<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        self.kept.value()
    }
}

impl<T: Reset> DerefMut for PooledOwned<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        self.kept.value_mut()
    }
}

impl<T: Reset + fmt::Debug> fmt::Debug for PooledOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The standard conversions and formatting, the same for both guards: each is a `T` on
/// loan.
macro_rules! guard_traits {
    ($({$($generics:tt)*} $guard:ty),*) => {$(
        impl<$($generics)*> AsRef<T> for $guard {
            fn as_ref(&self) -> &T {
                self
            }
        }

        impl<$($generics)*> AsMut<T> for $guard {
            fn as_mut(&mut self) -> &mut T {
                self
            }
        }

        impl<$($generics)*> Borrow<T> for $guard {
            fn borrow(&self) -> &T {
                self
            }
        }

        impl<$($generics)*> BorrowMut<T> for $guard {
            fn borrow_mut(&mut self) -> &mut T {
                self
            }
        }
    )*};
}

guard_traits!({T: Reset} Pooled<'_, T>, {T: Reset} PooledOwned<T>);

impl<T: Reset + fmt::Display> fmt::Display for Pooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: Reset + fmt::Display> fmt::Display for PooledOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

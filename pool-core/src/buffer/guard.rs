//! The buffers a [`BufferPool`](super::BufferPool) lends: [`Buffer`] borrows the pool,
//! [`BufferOwned`] holds a handle to it (`'static`, `Send`: for tasks and other threads).
//! Both deref to `Vec<u8>`, write with `std::io::Write` (and `bytes::BufMut` with the
//! `bytes` feature), and go back to the pool when dropped.

use super::shared::{DETACHED, Shared};
use crate::sync::Arc;
use std::borrow::{Borrow, BorrowMut};
use std::fmt;
use std::io;
use std::mem;
use std::ops::{Deref, DerefMut};

/// A byte buffer on loan from a [`BufferPool`](super::BufferPool); dropping it clears it and
/// returns it to the class of its capacity. Derefs to `Vec<u8>`. Made by
/// [`BufferPool::get`](super::BufferPool::get).
///
/// # Examples
///
/// ```
/// use pool_core::BufferPool;
/// use std::io::Write;
///
/// let buffers = BufferPool::new();
/// let mut buf = buffers.get(1024);
/// write!(buf, "HTTP/1.1 200 OK\r\n").unwrap();
/// assert!(buf.starts_with(b"HTTP/1.1"));
/// ```
#[must_use = "dropping the buffer at once returns it unused"]
pub struct Buffer<'a> {
    buf: Vec<u8>,
    /// The class it came from, or `DETACHED` once taken out.
    origin: usize,
    pool: &'a Shared,
}

/// A byte buffer on loan from a [`BufferPool`](super::BufferPool) that holds a handle to the
/// pool: `'static` and `Send`, so it can move into a task or to another thread, and turn
/// into `bytes::Bytes` without a copy (with the `bytes` feature). Made by
/// [`BufferPool::get_owned`](super::BufferPool::get_owned).
///
/// # Examples
///
/// ```
/// use pool_core::BufferPool;
///
/// let buffers = BufferPool::new();
/// let mut buf = buffers.get_owned(4096);
/// std::thread::spawn(move || buf.extend_from_slice(b"body")).join().unwrap();
/// assert_eq!(buffers.stats().total.returned, 1);
/// ```
#[must_use = "dropping the buffer at once returns it unused"]
pub struct BufferOwned {
    buf: Vec<u8>,
    origin: usize,
    pool: Arc<Shared>,
}

impl<'a> Buffer<'a> {
    pub(crate) fn new(pool: &'a Shared, buf: Vec<u8>, origin: usize) -> Self {
        Self { buf, origin, pool }
    }

    /// Takes the buffer out of the pool for good.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::{Buffer, BufferPool};
    ///
    /// let buffers = BufferPool::new();
    /// let kept: Vec<u8> = Buffer::into_inner(buffers.get(10));
    /// assert_eq!(buffers.stats().total.detached, 1);
    /// # drop(kept);
    /// ```
    pub fn into_inner(mut this: Self) -> Vec<u8> {
        this.pool.detach(this.origin);
        this.origin = DETACHED;
        mem::take(&mut this.buf)
    }
}

impl BufferOwned {
    pub(crate) fn new(pool: Arc<Shared>, buf: Vec<u8>, origin: usize) -> Self {
        Self { buf, origin, pool }
    }

    /// Takes the buffer out of the pool for good.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::{BufferOwned, BufferPool};
    ///
    /// let buffers = BufferPool::new();
    /// let kept: Vec<u8> = BufferOwned::into_inner(buffers.get_owned(10));
    /// assert_eq!(buffers.stats().total.detached, 1);
    /// # drop(kept);
    /// ```
    pub fn into_inner(mut this: Self) -> Vec<u8> {
        this.pool.detach(this.origin);
        this.origin = DETACHED;
        mem::take(&mut this.buf)
    }

    /// Turns the filled buffer into `bytes::Bytes` without copying. The buffer goes back
    /// to its pool when the last clone of the `Bytes` is dropped, on whichever thread that
    /// is.
    ///
    /// # Examples
    ///
    /// ```
    /// use pool_core::BufferPool;
    ///
    /// let buffers = BufferPool::new();
    /// let mut buf = buffers.get_owned(64 * 1024);
    /// buf.extend_from_slice(b"an image, say");
    /// let body: bytes::Bytes = buf.freeze();
    /// let copy = body.clone();
    /// drop(body);
    /// assert_eq!(buffers.stats().total.returned, 0, "a clone still holds it");
    /// drop(copy);
    /// assert_eq!(buffers.stats().total.returned, 1, "back in the pool");
    /// ```
    #[cfg(feature = "bytes")]
    #[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
    pub fn freeze(self) -> bytes::Bytes {
        bytes::Bytes::from_owner(self)
    }
}

impl Drop for Buffer<'_> {
    /// Inlined, with the return's body out of line, so the caller hands the buffer over in
    /// place. As a call of its own, `drop` took a copy of the whole guard first, and that
    /// copy's 16-byte loads of fields just written one by one stalled the CPU (a store it
    /// cannot forward) on every return: 30 -> 21 ns per get and return in a loop of them.
    #[inline(always)]
    fn drop(&mut self) {
        self.pool
            .give_back_from_guard(&mut self.buf, self.origin, std::thread::panicking());
    }
}

impl Drop for BufferOwned {
    #[inline(always)]
    fn drop(&mut self) {
        self.pool
            .give_back_from_guard(&mut self.buf, self.origin, std::thread::panicking());
    }
}

/// The traits both guards share, all by delegation to the `Vec<u8>` inside.
macro_rules! buffer_traits {
    ($($guard:ty),*) => {$(
        impl Deref for $guard {
            type Target = Vec<u8>;

            #[inline]
            fn deref(&self) -> &Vec<u8> {
                &self.buf
            }
        }

        impl DerefMut for $guard {
            #[inline]
            fn deref_mut(&mut self) -> &mut Vec<u8> {
                &mut self.buf
            }
        }

        impl AsRef<[u8]> for $guard {
            fn as_ref(&self) -> &[u8] {
                &self.buf
            }
        }

        impl AsMut<[u8]> for $guard {
            fn as_mut(&mut self) -> &mut [u8] {
                &mut self.buf
            }
        }

        impl AsRef<Vec<u8>> for $guard {
            fn as_ref(&self) -> &Vec<u8> {
                &self.buf
            }
        }

        impl AsMut<Vec<u8>> for $guard {
            fn as_mut(&mut self) -> &mut Vec<u8> {
                &mut self.buf
            }
        }

        impl Borrow<[u8]> for $guard {
            fn borrow(&self) -> &[u8] {
                &self.buf
            }
        }

        impl BorrowMut<[u8]> for $guard {
            fn borrow_mut(&mut self) -> &mut [u8] {
                &mut self.buf
            }
        }

        /// Grows the buffer as `Vec` does, except that with
        /// [`zero_on_return`](super::BufferPoolBuilder::zero_on_return) the block it leaves
        /// is zeroed before it is freed.
        impl io::Write for $guard {
            #[inline]
            fn write(&mut self, data: &[u8]) -> io::Result<usize> {
                self.pool.make_room(&mut self.buf, data.len());
                self.buf.extend_from_slice(data);
                Ok(data.len())
            }

            #[inline]
            fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
                self.pool.make_room(&mut self.buf, data.len());
                self.buf.extend_from_slice(data);
                Ok(())
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl fmt::Debug for $guard {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($guard))
                    .field("len", &self.buf.len())
                    .field("capacity", &self.buf.capacity())
                    .finish_non_exhaustive()
            }
        }

        /// Grows the buffer as `Vec` does, except that with
        /// [`zero_on_return`](super::BufferPoolBuilder::zero_on_return) the block it leaves
        /// is zeroed before it is freed.
        #[cfg(feature = "bytes")]
        #[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
        // SAFETY: every method delegates to `Vec<u8>`'s own `BufMut` impl on the buffer
        // this guard owns exclusively, so `Vec`'s guarantees (that `chunk_mut` is valid
        // for writes of `remaining_mut` bytes, and that `advance_mut` only exposes bytes
        // the caller initialised) carry over unchanged. `make_room` before a delegation
        // only replaces the buffer by a bigger one with the same initialised bytes (its
        // length and contents), which `Vec`'s impl then works on as on any other.
        unsafe impl bytes::BufMut for $guard {
            #[inline]
            fn remaining_mut(&self) -> usize {
                self.buf.remaining_mut()
            }

            #[inline]
            unsafe fn advance_mut(&mut self, count: usize) {
                // SAFETY: the caller's contract for `advance_mut` is the one `Vec`'s impl
                // requires; we pass it on.
                unsafe { self.buf.advance_mut(count) }
            }

            #[inline]
            fn chunk_mut(&mut self) -> &mut bytes::buf::UninitSlice {
                if self.buf.len() == self.buf.capacity() {
                    // What `Vec`'s `chunk_mut` reserves when it is full.
                    self.pool.make_room(&mut self.buf, 64);
                }
                self.buf.chunk_mut()
            }

            fn put_slice(&mut self, src: &[u8]) {
                self.pool.make_room(&mut self.buf, src.len());
                self.buf.extend_from_slice(src);
            }
        }
    )*};
}

buffer_traits!(Buffer<'_>, BufferOwned);

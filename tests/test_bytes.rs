//! The `bytes` feature: buffers as `BufMut`, frozen into `Bytes` without a copy and back in
//! their pool when the last clone drops, on whichever thread; `Reset` for `BytesMut`; and
//! the standard traits on every guard.

use bytes::{BufMut, Bytes, BytesMut};
use pool_core::{BufferPool, Pool, Pooled, Reset};
use std::borrow::Borrow;
use std::thread;

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_frozen_buffer_returns_to_its_pool_when_the_last_clone_drops_on_another_thread() {
    let buffers = BufferPool::new();
    let mut buf = buffers.get_owned(64 * 1024);
    buf.put_slice(b"an image: ");
    buf.put_u32(0xdead_beef);
    let first = buf.as_ptr();
    let body: Bytes = buf.freeze();
    assert_eq!(&body[..10], b"an image: ");
    assert_eq!(body.as_ptr(), first, "no copy");
    let clones: Vec<Bytes> = (0..4).map(|_| body.clone()).collect();
    drop(body);
    assert_eq!(buffers.stats().total.in_use(), 1, "clones still hold it");
    thread::spawn(move || drop(clones)).join().unwrap();
    let stats = buffers.stats();
    assert_eq!(
        (stats.total.returned, stats.total.in_use()),
        (1, 0),
        "{stats}"
    );
    // The other thread kept it in its cache and exited; this thread gets it back.
    assert_eq!(buffers.get(60_000).as_ptr(), first);
}

#[test]
fn buffers_take_writes_through_buf_mut() {
    let buffers = BufferPool::new();
    let mut buf = buffers.get(16);
    buf.put_u8(1);
    buf.put_slice(&[2, 3]);
    buf.put_bytes(4, 2);
    assert_eq!(&buf[..], &[1, 2, 3, 4, 4]);
    assert!(buf.remaining_mut() > 0);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn bytes_mut_resets_and_keeps_its_allocation() {
    let pool: Pool<BytesMut> = Pool::new();
    let mut buf = pool.get();
    buf.reserve(4096);
    buf.put_slice(b"previous user");
    let capacity = buf.capacity();
    drop(buf);
    let buf = pool.get();
    assert!(buf.is_empty());
    assert_eq!(buf.capacity(), capacity);
    assert_eq!(BytesMut::with_capacity(100).retained_bytes(), 100);
}

fn takes_a_str<S: AsRef<str>>(s: S) -> usize {
    s.as_ref().len()
}

#[test]
fn guards_convert_and_display_like_what_they_hold() {
    let pool: Pool<String> = Pool::new();
    let mut s = pool.get();
    s.push_str("hello");
    assert_eq!(takes_a_str(&*s), 5);
    let as_string: &String = s.as_ref();
    let borrowed: &String = s.borrow();
    assert_eq!(as_string, borrowed);
    assert_eq!(s.to_string(), "hello");
    assert_eq!(format!("{}", Pooled::pool(&s).stats().created), "1");
    let shared = std::sync::Arc::new(Pool::<String>::new());
    let mut owned = shared.get_owned();
    AsMut::<String>::as_mut(&mut owned).push('x');
    assert_eq!(format!("{owned}"), "x");
}

thread_local! {
    static KEPT_BUFFER: std::cell::RefCell<Option<pool_core::BufferOwned>> =
        const { std::cell::RefCell::new(None) };
    static KEPT_BODY: std::cell::RefCell<Option<Bytes>> = const { std::cell::RefCell::new(None) };
    static USES_ON_EXIT: std::cell::RefCell<Option<UsesOnExit>> =
        const { std::cell::RefCell::new(None) };
}

/// Gets, writes and returns buffers from a thread-local destructor.
struct UsesOnExit(std::sync::Arc<BufferPool>);

impl Drop for UsesOnExit {
    fn drop(&mut self) {
        let mut small = self.0.get(4096);
        small.put_slice(b"bye");
        drop(small);
        let mut large = self.0.get_owned(100_000);
        large.put_u8(1);
        drop(large);
    }
}

#[test]
fn buffers_in_thread_locals_come_back_in_either_teardown_order() {
    let buffers = std::sync::Arc::new(BufferPool::new());
    for pool_first in [true, false] {
        let buffers = std::sync::Arc::clone(&buffers);
        thread::spawn(move || {
            let keep_all = |buffers: &std::sync::Arc<BufferPool>| {
                KEPT_BUFFER.set(Some(buffers.get_owned(4096)));
                let mut body = buffers.get_owned(8192);
                body.put_slice(b"abc");
                KEPT_BODY.set(Some(body.freeze()));
                USES_ON_EXIT.set(Some(UsesOnExit(std::sync::Arc::clone(buffers))));
            };
            if pool_first {
                // The shelf's thread-local is set up first, so it is destroyed after the
                // user's: everything comes back to this thread's shelf, then goes.
                drop(buffers.get(4096));
                keep_all(&buffers);
            } else {
                // The user's thread-locals first: their destructors run after the shelf's
                // is gone, so returns fall back to the depots.
                KEPT_BUFFER.set(None);
                KEPT_BODY.set(None);
                USES_ON_EXIT.set(None);
                keep_all(&buffers);
            }
            // The `thread_local` crate used after, as tracing does.
            thread_local::ThreadLocal::<u8>::new().get_or(|| 1);
        })
        .join()
        .unwrap();
    }
    let stats = buffers.stats();
    assert_eq!(stats.total.in_use(), 0, "every buffer came back: {stats}");
    buffers.sweep();
    buffers.sweep();
    let stats = buffers.stats();
    assert_eq!(stats.total.idle, 0, "and ages out: {stats}");
}

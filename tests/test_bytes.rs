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

//! `BufferPool::zero_on_return` and `#[reset(zero)]` in a `Pool`: no buffer that held a
//! user's bytes goes back to the allocator with those bytes in it, whether the pool keeps it
//! or drops it.
//!
//! This binary's global allocator looks inside every block freed while a test watches, for
//! the marker the tests write. Freed memory is what `malloc` hands out next, to any code.

use pool_core::{BufferPool, Pool, Reset};
use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const MARKER: &[u8; 8] = b"s3cr3t!!";

/// The blocks the tests filled with the marker (their addresses; 0 is a free slot). Fixed
/// slots, since the allocator must not allocate.
static WATCHED: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];
static FREED_WITH_MARKER: AtomicUsize = AtomicUsize::new(0);

struct Inspecting;

// SAFETY: every call is forwarded to `System` with the same arguments; `dealloc` first reads
// the block it is given, which is still allocated, `size` bytes long, and (being watched)
// written in full by the test, and by the pool only with zeros.
unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let address = ptr as usize;
        if let Some(slot) = WATCHED
            .iter()
            .find(|slot| slot.load(Ordering::Relaxed) == address)
        {
            slot.store(0, Ordering::Relaxed);
            // SAFETY: a live block of `layout.size()` bytes (the caller's contract), every
            // byte initialised (see `watch`).
            let bytes = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if bytes.windows(MARKER.len()).any(|window| window == MARKER) {
                FREED_WITH_MARKER.fetch_add(1, Ordering::Relaxed);
            }
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Inspecting = Inspecting;

/// One test at a time: the allocator's counters are global.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` and returns how many watched blocks were freed with the marker in them.
fn freed_with_marker(f: impl FnOnce()) -> usize {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    FREED_WITH_MARKER.store(0, Ordering::Relaxed);
    f();
    for slot in &WATCHED {
        slot.store(0, Ordering::Relaxed);
    }
    FREED_WITH_MARKER.load(Ordering::Relaxed)
}

/// Fills a buffer's whole capacity (a multiple of the marker's length) with the marker, and
/// watches its block.
fn fill(buf: &mut Vec<u8>) {
    assert_eq!(buf.capacity() % MARKER.len(), 0, "every byte is written");
    buf.clear();
    while buf.len() < buf.capacity() {
        buf.extend_from_slice(MARKER);
    }
    watch(buf);
}

/// Watches a buffer's block, every byte of whose capacity is initialised.
fn watch(buf: &Vec<u8>) {
    assert_eq!(buf.len(), buf.capacity(), "every byte is initialised");
    // A reused buffer is watched once: its block is freed once.
    let address = buf.as_ptr() as usize;
    if WATCHED
        .iter()
        .any(|slot| slot.load(Ordering::Relaxed) == address)
    {
        return;
    }
    let slot = WATCHED
        .iter()
        .find(|slot| slot.load(Ordering::Relaxed) == 0)
        .expect("a free slot");
    slot.store(address, Ordering::Relaxed);
}

/// Every way a buffer can leave the user: kept, dropped by a panic, too large, too small,
/// handed in by `put`; then the pool ages out and is dropped.
fn every_return_path(buffers: &BufferPool) {
    let mut kept = buffers.get(4096);
    fill(&mut kept);
    drop(kept);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut torn = buffers.get(8192);
        fill(&mut torn);
        panic!("the request fails halfway");
    }));
    let mut grown = buffers.get(4096);
    grown.reserve_exact(20 * 1024); // past the top class
    fill(&mut grown);
    drop(grown);
    let mut shrunk = buffers.get(4096);
    shrunk.shrink_to(MARKER.len()); // under the smallest class
    fill(&mut shrunk);
    drop(shrunk);
    let mut handed_in = Vec::with_capacity(4096);
    fill(&mut handed_in);
    buffers.put(handed_in);
    buffers.sweep();
    buffers.sweep();
}

#[test]
fn zero_on_return_wipes_every_buffer_that_comes_back_kept_or_dropped() {
    let freed = freed_with_marker(|| {
        let buffers = BufferPool::builder()
            .classes(4096, 16 * 1024)
            .zero_on_return(true)
            .build();
        every_return_path(&buffers);
        let discarded = buffers.stats().total.discarded;
        assert!(discarded.panicked == 1 && discarded.too_large == 1 && discarded.too_small == 1);
        drop(buffers);
    });
    assert_eq!(
        freed, 0,
        "no block went back to the allocator with the marker in it"
    );
}

#[test]
fn without_zero_on_return_the_bytes_reach_the_allocator() {
    // The control: the same paths without zeroing free the marker (so the test above can
    // fail).
    let freed = freed_with_marker(|| {
        let buffers = BufferPool::builder().classes(4096, 16 * 1024).build();
        every_return_path(&buffers);
        drop(buffers);
    });
    assert!(freed >= 3, "{freed} blocks freed with the marker");
}

/// Writes past a filled buffer's capacity through both writers of the guard, so it must
/// grow, and watches the block it grew into.
fn grow_by_writing(buffers: &BufferPool) {
    use bytes::BufMut;
    use std::io::Write;

    let mut written = buffers.get(4096);
    fill(&mut written);
    written.write_all(MARKER).unwrap();
    fill(&mut written);
    drop(written);
    let mut put = buffers.get_owned(4096);
    fill(&mut put);
    put.put_u8(0);
    put.put_bytes(0, put.capacity() - put.len());
    watch(&put); // the marker, copied when it grew
    put.put_slice(MARKER);
    drop(put);
}

#[test]
fn zero_on_return_wipes_the_blocks_a_guards_writer_grows_out_of() {
    let freed = freed_with_marker(|| {
        let buffers = BufferPool::builder()
            .classes(4096, 64 * 1024)
            .zero_on_return(true)
            .build();
        grow_by_writing(&buffers);
        drop(buffers);
    });
    assert_eq!(freed, 0, "no block was freed with the marker in it");
    // The control: `Vec`'s own growth frees each of the three blocks it leaves as it is.
    let buffers = BufferPool::new();
    let freed = freed_with_marker(|| grow_by_writing(&buffers));
    assert_eq!(freed, 3, "blocks freed with the marker");
}

/// A session whose key is a secret, and a tripwire whose reset panics once armed. The
/// tripwire comes first, so a wipe that ran with the key's own reset would never run.
#[derive(Reset)]
struct Session {
    #[reset(with = trip)]
    tripwire: bool,
    #[reset(zero)]
    key: Vec<u8>,
}

/// The same session without `zero`: the control.
#[derive(Reset)]
struct PlainSession {
    #[reset(with = trip)]
    tripwire: bool,
    key: Vec<u8>,
}

fn trip(armed: &mut bool) {
    if std::mem::take(armed) {
        panic!("the tripwire's reset fails");
    }
}

/// Gives both session types the same paths.
trait Secretive: Reset + Send + Sync + 'static {
    fn new() -> Self;
    fn parts(&mut self) -> (&mut bool, &mut Vec<u8>);
}

/// The two types differ only in their derived reset.
macro_rules! secretive {
    ($($session:ident),*) => {$(
        impl Secretive for $session {
            fn new() -> Self {
                Self {
                    tripwire: false,
                    key: Vec::with_capacity(4096),
                }
            }
            fn parts(&mut self) -> (&mut bool, &mut Vec<u8>) {
                (&mut self.tripwire, &mut self.key)
            }
        }
    )*};
}

secretive!(Session, PlainSession);

/// Every way a pooled object can leave its user: kept, its guard (borrowed or owned) dropped
/// by a panic, its reset panicking in another field, too large, over the idle limit; then
/// the pool ages out and is dropped.
fn every_object_return_path<S: Secretive>() {
    let pool = std::sync::Arc::new(
        Pool::builder()
            .init(S::new)
            .max_idle(1)
            .max_object_bytes(16 * 1024)
            .build(),
    );
    let mut kept = pool.get();
    fill(kept.parts().1);
    drop(kept);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut torn = pool.get();
        fill(torn.parts().1);
        panic!("the request fails halfway");
    }));
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut torn = pool.get_owned();
        fill(torn.parts().1);
        panic!("the task fails halfway");
    }));
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut tripped = pool.get();
        let (tripwire, key) = tripped.parts();
        *tripwire = true;
        fill(key);
    }));
    let mut grown = pool.get();
    grown.parts().1.reserve_exact(20 * 1024); // past max_object_bytes
    fill(grown.parts().1);
    drop(grown);
    let (mut first, mut second) = (pool.get(), pool.get());
    fill(first.parts().1);
    fill(second.parts().1);
    drop(first);
    drop(second); // over max_idle(1)
    pool.sweep();
    pool.sweep();
    let discarded = pool.stats().discarded;
    // Chaos mode discards at random as well, so only outside it are the counts exact.
    if !cfg!(pool_chaos) {
        assert_eq!(
            (
                discarded.panicked,
                discarded.too_large,
                discarded.over_limit
            ),
            (3, 1, 1),
            "every path was taken: {}",
            pool.stats()
        );
    }
}

#[test]
fn reset_zero_wipes_every_object_that_comes_back_kept_or_dropped() {
    let freed = freed_with_marker(every_object_return_path::<Session>);
    assert_eq!(
        freed, 0,
        "no block went back to the allocator with the marker in it"
    );
}

#[test]
fn without_reset_zero_the_bytes_reach_the_allocator() {
    // The control: the guards dropped by a panic and the tripped reset free the marker.
    let freed = freed_with_marker(every_object_return_path::<PlainSession>);
    assert!(freed >= 3, "{freed} blocks freed with the marker");
}

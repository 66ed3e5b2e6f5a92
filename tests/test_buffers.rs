//! `BufferPool`: size classes, routing of grown buffers, byte limits, calibration, prefill.

use pool_core::{Buffer, BufferPool};
use std::thread;

#[test]
fn a_get_fits_the_request_and_starts_empty() {
    let pool = BufferPool::new();
    for len in [1, 4096, 4097, 100_000, 3_000_000] {
        let buf = pool.get(len);
        assert!(buf.is_empty());
        assert!(buf.capacity() >= len);
    }
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_buffer_is_reused_within_its_class() {
    let pool = BufferPool::new();
    let mut buf = pool.get(50_000); // 64 KiB class
    buf.extend_from_slice(&[9; 50_000]);
    let ptr = buf.as_ptr();
    drop(buf);
    let buf = pool.get(40_000);
    assert_eq!(buf.as_ptr(), ptr);
    assert!(buf.is_empty(), "cleared on return");
    assert_eq!(buf.capacity(), 64 * 1024);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_buffer_that_grew_returns_to_the_class_of_its_new_capacity() {
    let pool = BufferPool::new();
    let mut buf = pool.get(4096);
    buf.reserve_exact(300_000); // grows past 256 KiB while in use
    let capacity = buf.capacity();
    drop(buf);
    let stats = pool.stats();
    let class = stats
        .classes
        .iter()
        .find(|c| c.stats.idle == 1)
        .expect("kept in some class");
    assert!(class.capacity <= capacity && capacity < class.capacity * 2);
    assert_eq!(class.capacity, 256 * 1024);
    // And a request for that class gets it.
    assert!(pool.get(200_000).capacity() >= 300_000);
}

#[test]
fn buffers_beyond_the_top_class_are_never_kept() {
    let pool = BufferPool::builder().classes(4096, 1 << 20).build();
    let big = pool.get(5 << 20);
    assert!(big.capacity() >= 5 << 20);
    drop(big);
    let mut grown = pool.get(1000);
    grown.reserve(2 << 20);
    drop(grown);
    let stats = pool.stats();
    assert_eq!(
        (stats.idle(), stats.unpooled_requests, stats.too_large),
        (0, 1, 2)
    );
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn per_thread_caches_are_bounded_in_bytes() {
    // 1 MiB class, 2 MiB per thread and class: at most 2 buffers stay in a thread's cache,
    // the rest go to the shared depot where every thread can reuse them.
    let pool = BufferPool::builder()
        .thread_cache_bytes(2 << 20)
        .max_idle_bytes(4 << 20)
        .build();
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let held: Vec<Buffer<'_>> = (0..6).map(|_| pool.get(1 << 20)).collect();
                drop(held);
            });
        }
    });
    let stats = pool.stats();
    assert!(
        stats.idle_bytes() <= 4 << 20,
        "the shared byte budget holds: {stats}"
    );
    assert_eq!(stats.idle(), 4);
}

#[test]
fn the_idle_byte_budget_is_shared_by_all_classes() {
    let pool = BufferPool::builder().max_idle_bytes(256 * 1024).build();
    let small: Vec<_> = (0..8).map(|_| pool.get(16 * 1024)).collect(); // 128 KiB
    let large: Vec<_> = (0..4).map(|_| pool.get(64 * 1024)).collect(); // 256 KiB
    drop(small);
    drop(large);
    let stats = pool.stats();
    assert!(stats.idle_bytes() <= 256 * 1024, "{stats}");
    let dropped: u64 = stats
        .classes
        .iter()
        .map(|c| c.stats.discarded.over_limit)
        .sum();
    assert!(
        dropped >= 2,
        "returns over the shared budget are dropped: {stats}"
    );
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn calibration_stops_keeping_rare_huge_buffers() {
    let pool = BufferPool::new();
    // A synthetic distribution: 97% small (8-16 KiB), 3% huge (2 MiB class).
    for i in 0..3_000u32 {
        let len = if i % 33 == 0 {
            1_500_000
        } else {
            9_000 + (i as usize % 7) * 1000
        };
        drop(pool.get(len));
    }
    let calibration = pool.calibrate();
    assert!(calibration.applied);
    assert_eq!(calibration.common_size, 16 * 1024);
    assert_eq!(calibration.max_size, 16 * 1024);
    assert!(
        calibration
            .to_string()
            .contains("keep buffers up to 16 KiB")
    );

    drop(pool.get(1_500_000));
    drop(pool.get(10_000));
    let stats = pool.stats();
    assert_eq!(stats.keep_max, 16 * 1024);
    // The 2 MiB buffer kept before calibration served that request, and is dropped now.
    assert_eq!(stats.too_large, 1, "the huge buffer is no longer kept");
    assert_eq!(stats.idle_bytes(), 16 * 1024);
}

#[test]
fn too_few_requests_do_not_calibrate() {
    let pool = BufferPool::new();
    drop(pool.get(10));
    let calibration = pool.calibrate();
    assert!(!calibration.applied);
    assert_eq!(pool.stats().keep_max, 4 << 20);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn prefill_makes_blocks_ready_for_any_thread() {
    let pool = BufferPool::builder().thread_cache_bytes(0).build();
    assert_eq!(pool.prefill(32 * 1024, 8), 8);
    thread::scope(|s| {
        s.spawn(|| {
            let held: Vec<_> = (0..8).map(|_| pool.get(32 * 1024)).collect();
            drop(held);
        });
    });
    let stats = pool.stats();
    assert_eq!(
        (stats.created(), stats.reused()),
        (8, 8),
        "another thread reused every block"
    );
}

/// The bytes in a buffer's spare capacity, which safe code cannot see but unsafe code can.
fn spare_bytes(buf: &mut Vec<u8>) -> Vec<u8> {
    buf.spare_capacity_mut()
        .iter()
        // SAFETY: callers pass only a buffer they checked (by pointer) to be one they filled
        // over its whole capacity, whose bytes `zero_on_return` may have overwritten with
        // zeros, before `clear` set its length to 0; clearing a `Vec<u8>` leaves those
        // bytes initialised.
        .map(|byte| unsafe { byte.assume_init() })
        .collect()
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn zero_on_return_wipes_the_whole_capacity() {
    for zero in [false, true] {
        let pool = BufferPool::builder().zero_on_return(zero).build();
        let mut buf = pool.get(4096);
        let capacity = buf.capacity();
        buf.extend(std::iter::repeat_n(0xAA, capacity));
        let filled = buf.as_ptr();
        drop(buf);
        let mut buf = pool.get(4096);
        assert!(buf.is_empty());
        // Only the buffer filled above may be read: a fresh one's spare bytes are
        // uninitialised, and `spare_bytes` would then be undefined behaviour.
        assert_eq!(buf.as_ptr(), filled, "the same buffer comes back");
        let old = spare_bytes(&mut buf);
        if zero {
            assert!(old.iter().all(|&b| b == 0), "zeroed on return");
        } else {
            assert!(
                old.iter().all(|&b| b == 0xAA),
                "without zeroing, the old bytes are still there"
            );
        }
    }
}

#[test]
fn stats_print_a_table() {
    let pool = BufferPool::new();
    drop(pool.get(100));
    drop(pool.get(100));
    let table = pool.stats().to_string();
    assert!(table.contains("class"), "{table}");
    assert!(table.contains("4 KiB"), "{table}");
}

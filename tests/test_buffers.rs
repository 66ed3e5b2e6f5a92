//! `BufferPool`: size classes, routing of grown buffers, thread caches, byte limits,
//! calibration, prefill, statistics that balance per class, and bad builder values.

use pool_core::{Buffer, BufferPool, BufferStats, ClassStats};
use std::thread;

/// Every class balances, and so do the totals, for a quiet pool whose users hold nothing.
fn assert_balanced(stats: &BufferStats) {
    for row in stats.classes.iter().chain([&stats.unpooled]) {
        let came = row.created + row.adopted + row.moved_in;
        let went = row.idle as u64 + row.detached + row.discarded.total() + row.moved_out;
        assert_eq!(
            came, went,
            "class {} does not balance: {row:?}\n{stats}",
            row.capacity
        );
    }
    assert_eq!(stats.total.in_use(), 0, "{stats}");
    assert_eq!(
        stats.total.created + stats.total.adopted,
        stats.total.idle as u64 + stats.total.detached + stats.total.discarded.total(),
        "{stats}"
    );
}

fn class(stats: &BufferStats, capacity: usize) -> ClassStats {
    *stats
        .classes
        .iter()
        .find(|row| row.capacity == capacity)
        .expect("a class of that capacity")
}

#[test]
fn a_get_fits_the_request_and_starts_empty() {
    let pool = BufferPool::new();
    for len in [0, 1, 4096, 4097, 100_000, 3_000_000, 5_000_000] {
        let buf = pool.get(len);
        assert!(buf.is_empty());
        assert!(buf.capacity() >= len);
    }
    assert_balanced(&pool.stats());
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
fn a_thread_gets_back_the_buffer_it_released_last() {
    let pool = BufferPool::new();
    let first = pool.get(40_000);
    let second = pool.get(40_000);
    let (a, b) = (first.as_ptr(), second.as_ptr());
    drop(first);
    drop(second);
    assert_eq!(pool.get(40_000).as_ptr(), b, "last in, first out");
    let again = pool.get(40_000);
    let other = pool.get(40_000);
    assert!([again.as_ptr(), other.as_ptr()].contains(&a));
}

/// A thread that holds more buffers than its shelf keeps (32): the oldest go to their
/// class's depot as it returns the rest, in batches, and every buffer is reused next time;
/// the shelf still holds the ones returned last, and the counts balance.
#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_thread_holding_more_buffers_than_its_shelf_keeps_loses_none() {
    let pool = BufferPool::new();
    for _ in 0..3 {
        let held: Vec<Buffer<'_>> = (0..100).map(|_| pool.get(4096)).collect();
        let last = held[99].as_ptr();
        drop(held);
        assert_eq!(
            pool.get(4096).as_ptr(),
            last,
            "the buffer returned last is on the shelf"
        );
    }
    let stats = pool.stats();
    let row = class(&stats, 4096);
    assert_eq!(row.created, 100, "no buffer made twice: {stats}");
    assert_eq!((row.requests, row.reused, row.returned), (303, 203, 303));
    assert_eq!(row.idle, 100);
    assert_eq!(row.discarded.total(), 0, "{stats}");
    assert_balanced(&stats);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_thread_whose_shelf_spilled_takes_its_buffers_back_several_at_a_time() {
    let pool = BufferPool::new();
    let held: Vec<Buffer<'_>> = (0..64).map(|_| pool.get(4096)).collect();
    let order: Vec<*const u8> = held.iter().map(|buf| buf.as_ptr()).collect();
    drop(held); // the shelf keeps 32; the 32 returned first went to the depot
    assert_eq!(pool.stats().thread_cached_bytes, 32 * 4096);
    // The shelf's 32, newest first.
    let mut again: Vec<Buffer<'_>> = (0..32).map(|_| pool.get(4096)).collect();
    assert_eq!(pool.stats().thread_cached_bytes, 0);
    // Past the shelf: one trip to the depot brings back a quarter of a shelf, and the
    // depot's newest comes out first.
    again.push(pool.get(4096));
    assert_eq!(again[32].as_ptr(), order[31], "the depot's newest first");
    let stats = pool.stats();
    assert_eq!(
        stats.thread_cached_bytes,
        7 * 4096,
        "the next seven wait on the shelf: {stats}"
    );
    again.extend((0..7).map(|_| pool.get(4096)));
    let ptrs: Vec<*const u8> = again[33..].iter().map(|buf| buf.as_ptr()).collect();
    let expected: Vec<*const u8> = order[24..31].iter().rev().copied().collect();
    assert_eq!(ptrs, expected, "then the rest of the trip, newest first");
    drop(again);
    let stats = pool.stats();
    let row = class(&stats, 4096);
    assert_eq!(row.created, 64, "no buffer made twice: {stats}");
    assert_eq!((row.requests, row.reused, row.returned), (104, 40, 104));
    assert_eq!(row.idle, 64);
    assert_balanced(&stats);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_refill_leaves_the_depots_victims_to_age_out() {
    // No borrowing: only the get below takes an 8 KiB buffer.
    let pool = BufferPool::builder().borrow_classes(0).build();
    // Eight 8 KiB buffers whose thread exits: the sweep below moves them to the depot, where
    // they are victims. A plain `join`, which waits for the thread's exit to be reported.
    let other = pool.clone();
    thread::spawn(move || drop((0..8).map(|_| other.get(8192)).collect::<Vec<_>>()))
        .join()
        .unwrap();
    // 4 KiB buffers of this thread's own, on its shelf and in the depot.
    drop((0..40).map(|_| pool.get(4096)).collect::<Vec<_>>());
    pool.sweep();
    // This thread's shelf spills (33 returns at once), then has room again.
    drop((0..33).map(|_| pool.get(4096)).collect::<Vec<_>>());
    let out: Vec<_> = (0..10).map(|_| pool.get(4096)).collect();
    // A shelf miss: one trip to the 8 KiB depot, which holds only victims. The one taken is
    // used; the others must stay victims, not come to the shelf as if just returned.
    let first = Buffer::into_inner(pool.get(8192));
    drop(out);
    pool.sweep(); // the second since the eight were last used
    let stats = pool.stats();
    let row = class(&stats, 8192);
    assert_eq!(
        (row.idle, row.discarded.aged_out),
        (0, 7),
        "idle two sweeps, the other seven are gone: {stats}"
    );
    drop(first);
}

#[test]
fn a_thread_that_never_spilled_takes_one_buffer_from_the_depot() {
    let pool = BufferPool::new();
    drop(pool.get(4096)); // this thread has a shelf, with room reserved for one buffer
    // Another thread's buffers reach the depot when it exits and a sweep collects its
    // shelf. A plain `join`, not a scope's: it waits for the thread's thread-local
    // destructors, which report the exit.
    let other = pool.clone();
    thread::spawn(move || drop((0..8).map(|_| other.get(4096)).collect::<Vec<_>>()))
        .join()
        .unwrap();
    pool.sweep();
    let mine = pool.get(4096); // this thread's own, from its shelf
    let from_depot = pool.get(4096); // past the shelf
    let stats = pool.stats();
    assert_eq!(
        stats.thread_cached_bytes, 0,
        "the depot's other buffers stay there for every thread: {stats}"
    );
    let row = class(&stats, 4096);
    assert_eq!((row.created, row.reused, row.idle), (9, 2, 7), "{stats}");
    drop((mine, from_depot));
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_buffer_that_grew_moves_to_the_class_of_its_new_capacity() {
    let pool = BufferPool::new();
    let mut buf = pool.get(4096);
    buf.reserve_exact(300_000); // grows past 256 KiB while in use
    let capacity = buf.capacity();
    drop(buf);
    let stats = pool.stats();
    let from = class(&stats, 4096);
    let to = class(&stats, 256 * 1024);
    assert_eq!((from.created, from.moved_out, from.idle), (1, 1, 0));
    assert_eq!((to.moved_in, to.idle), (1, 1));
    assert!(to.idle_bytes >= capacity);
    assert_balanced(&stats);
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
    assert_eq!(stats.total.idle, 0);
    assert_eq!((stats.unpooled.requests, stats.unpooled.created), (1, 1));
    assert_eq!(stats.total.discarded.too_large, 2);
    assert_eq!(
        class(&stats, 4096).discarded.too_large,
        1,
        "counted where it came from"
    );
    assert_balanced(&stats);
}

#[test]
fn a_request_too_large_to_allocate_panics_and_counts_nothing() {
    let pool = BufferPool::new();
    let failed = std::panic::catch_unwind(|| drop(pool.get(usize::MAX)));
    let message = failed.expect_err("no allocation of usize::MAX bytes");
    let text = message
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| message.downcast_ref::<String>().map(String::as_str));
    assert_eq!(text, Some("capacity overflow"), "the panic says why");
    let stats = pool.stats();
    assert_eq!((stats.unpooled.requests, stats.unpooled.created), (0, 0));
    drop(pool.get(1000)); // still usable
    assert_balanced(&pool.stats());
}

#[test]
fn every_way_out_of_the_pool_is_counted() {
    let pool = BufferPool::builder().classes(4096, 1 << 20).build();
    let kept = Buffer::into_inner(pool.get(10_000));
    let mut shrunk = pool.get(10_000);
    shrunk.shrink_to(0); // capacity 0: fits no class
    drop(shrunk);
    let mut small = pool.get(10_000);
    *small = Vec::with_capacity(100); // replaced by a buffer below the smallest class
    drop(small);
    pool.put(Vec::with_capacity(10)); // too small to adopt
    pool.put(Vec::with_capacity(5 << 20)); // too large to adopt
    pool.put(Vec::with_capacity(8192)); // adopted in its class
    let stats = pool.stats();
    let row = class(&stats, 16 * 1024);
    assert_eq!(
        (row.created, row.detached, row.discarded.too_small),
        (3, 1, 2)
    );
    assert_eq!(class(&stats, 8192).adopted, 1);
    assert_eq!(
        (stats.unpooled.adopted, stats.unpooled.discarded.total()),
        (2, 2)
    );
    assert_eq!(stats.total.detached, 1);
    assert_balanced(&stats);
    drop(kept);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn a_threads_cache_is_bounded_in_bytes_across_classes() {
    let pool = BufferPool::builder().thread_cache_bytes(256 * 1024).build();
    // 64 + 128 + 32 + 16 KiB fit; the next 128 KiB pushes the oldest out to the depot.
    let held: Vec<Buffer<'_>> = [64, 128, 32, 16, 128]
        .iter()
        .map(|kib| pool.get(kib * 1024))
        .collect();
    drop(held);
    let stats = pool.stats();
    assert!(stats.thread_cached_bytes <= 256 * 1024, "{stats}");
    assert_eq!(
        stats.total.idle, 5,
        "what did not fit went to the depot: {stats}"
    );
    assert!(stats.thread_cached_peak <= 256 * 1024);
    assert_balanced(&stats);
}

#[test]
fn the_thread_cache_limit_reported_is_one_a_thread_can_reach() {
    let pool = BufferPool::builder()
        .thread_cache_bytes(8 << 20)
        .max_idle_bytes(1 << 20)
        .build();
    assert_eq!(
        pool.stats().thread_cache_limit,
        1 << 20,
        "capped at max_idle_bytes"
    );
    let pool = BufferPool::builder().thread_cache_bytes(8 << 20).build();
    assert_eq!(
        pool.stats().thread_cache_limit,
        8 << 20,
        "no total limit: as set"
    );
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn per_thread_caches_and_the_depot_share_one_byte_budget() {
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
        stats.total.idle_bytes <= 4 << 20,
        "the byte budget holds: {stats}"
    );
    assert_eq!(stats.total.idle, 4, "{stats}");
    assert_eq!(
        stats.total.discarded.over_limit,
        stats.total.created - 4,
        "every buffer made beyond the four kept was refused: {stats}"
    );
    assert_balanced(&stats);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn the_idle_byte_budget_is_shared_by_all_classes() {
    let pool = BufferPool::builder()
        .thread_cache_bytes(0)
        .max_idle_bytes(256 * 1024)
        .build();
    let small: Vec<_> = (0..8).map(|_| pool.get(16 * 1024)).collect(); // 128 KiB
    let large: Vec<_> = (0..4).map(|_| pool.get(64 * 1024)).collect(); // 256 KiB
    drop(small);
    drop(large);
    let stats = pool.stats();
    assert!(stats.total.idle_bytes <= 256 * 1024, "{stats}");
    assert_eq!(stats.total.discarded.over_limit, 2, "{stats}");
    assert_balanced(&stats);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
#[cfg_attr(
    miri,
    ignore = "thousands of requests are slow under miri; unit tests cover calibration"
)]
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
    assert_eq!(calibration.common_size, Some(16 * 1024));
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
    assert_eq!(
        stats.total.discarded.too_large, 1,
        "the huge buffer is no longer kept"
    );
    assert_eq!(stats.total.idle_bytes, 16 * 1024);
    assert_balanced(&stats);
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
#[cfg_attr(
    miri,
    ignore = "thousands of requests are slow under miri; unit tests cover calibration"
)]
fn racing_calibrations_report_sane_counts() {
    let pool = BufferPool::builder().auto_calibrate(true).build();
    let requests_made = 4 * 2_000;
    thread::scope(|s| {
        for worker in 0..4 {
            let pool = &pool;
            s.spawn(move || {
                for i in 0..2_000 {
                    drop(pool.get(1000 + (i * 37 + worker) % 60_000));
                    if i % 250 == 0 {
                        let calibration = pool.calibrate();
                        assert!(calibration.requests <= requests_made, "{calibration}");
                        pool.sweep();
                    }
                }
            });
        }
    });
    let stats = pool.stats();
    assert_eq!(
        stats.total.created + stats.total.reused,
        requests_made,
        "{stats}"
    );
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
        (
            stats.total.created,
            stats.total.prefilled,
            stats.total.reused
        ),
        (8, 8, 8),
        "another thread reused every block"
    );
    let class = &stats.classes[3];
    assert_eq!(class.capacity, 32 * 1024);
    assert_eq!(
        (class.hit_rate(), stats.total.hit_rate()),
        (1.0, 1.0),
        "made ahead, so no request missed: {stats}"
    );
}

#[test]
fn the_display_breakdown_adds_up_to_the_discards() {
    let pool = BufferPool::new();
    let mut shrunk = pool.get(10);
    shrunk.shrink_to_fit(); // capacity 0: under the smallest class
    drop(shrunk);
    let total = pool.stats().total;
    assert_eq!(total.discarded.too_small, 1);
    let line = total.to_string();
    assert!(
        line.contains("discarded 1 (") && line.contains("too small 1"),
        "every discard reason that counted is shown: {line}"
    );
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn an_exited_threads_buffers_serve_other_threads() {
    let pool = BufferPool::new();
    let handle = pool.clone();
    // `join` (unlike a scope's end) waits for the thread's thread-local destructors, where
    // it hands its cache back.
    thread::spawn(move || {
        let held: Vec<_> = (0..4).map(|_| handle.get(20_000)).collect();
        drop(held);
    })
    .join()
    .unwrap();
    let held: Vec<_> = (0..4).map(|_| pool.get(20_000)).collect();
    let stats = pool.stats();
    assert_eq!(
        stats.total.created, 4,
        "the exited thread's cache was collected: {stats}"
    );
    assert_eq!(stats.total.reused, 4);
    drop(held);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn sweeps_reclaim_a_quiet_threads_buffers_into_their_classes() {
    let pool = BufferPool::new();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    thread::scope(|s| {
        let pool = &pool;
        s.spawn(move || {
            let mut grown = pool.get(4096);
            grown.reserve_exact(100_000);
            drop((pool.get(10_000), pool.get(300_000), grown));
            done.send(()).unwrap();
            let () = wait.recv().unwrap(); // quiet, but alive, through the sweeps
        });
        finished.recv().unwrap();
        let stats = pool.stats();
        assert_eq!(stats.total.idle, 3);
        assert_eq!(
            class(&stats, 64 * 1024).idle,
            1,
            "the grown one, by its capacity"
        );
        pool.sweep();
        assert_eq!(
            pool.stats().total.idle,
            3,
            "one sweep old: victims, still there"
        );
        pool.sweep();
        if cfg!(target_os = "linux") {
            let stats = pool.stats();
            assert_eq!(
                (stats.total.idle, stats.thread_cached_bytes),
                (0, 0),
                "{stats}"
            );
            assert_eq!(stats.total.discarded.aged_out, 3);
            assert_balanced(&stats);
        }
        go.send(()).unwrap();
    });
}

#[test]
#[should_panic(expected = "max must be at most 2^40")]
fn an_unbounded_top_class_is_refused_at_build() {
    let _ = BufferPool::builder().classes(4096, usize::MAX).build();
}

#[test]
#[should_panic(expected = "max must be at most 2^40")]
fn a_huge_bottom_class_is_refused_at_build() {
    let _ = BufferPool::builder()
        .classes(usize::MAX, usize::MAX)
        .build();
}

#[test]
#[should_panic(expected = "min must not exceed max (got min 8192, max 4096)")]
fn inverted_bounds_are_refused_at_build() {
    let _ = BufferPool::builder().classes(8192, 4096).build();
}

#[test]
#[should_panic(expected = "steps_per_doubling must be 1 to 16 (got 0)")]
fn zero_steps_are_refused_at_build() {
    let _ = BufferPool::builder().steps_per_doubling(0).build();
}

#[test]
#[should_panic(expected = "class_sizes: sizes must be at least 1 (got 0)")]
fn a_zero_class_size_is_refused_at_build() {
    let _ = BufferPool::builder().class_sizes([0, 4096]).build();
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
fn buffers_write_like_vectors() {
    use std::io::Write;
    let pool = BufferPool::new();
    let mut buf = pool.get(64);
    write!(buf, "{}-{}", 1, 2).unwrap();
    buf.write_all(b"!").unwrap();
    let bytes: &[u8] = buf.as_ref();
    assert_eq!(bytes, b"1-2!");
    let mut owned = pool.get_owned(64);
    owned.write_all(b"owned").unwrap();
    assert_eq!(AsRef::<[u8]>::as_ref(&owned), b"owned");
}

#[test]
fn stats_print_a_table_with_a_legend() {
    let pool = BufferPool::new();
    drop(pool.get(100));
    drop(pool.get(100));
    let table = pool.stats().to_string();
    assert!(table.contains("class"), "{table}");
    assert!(table.contains("4 KiB"), "{table}");
    assert!(table.contains("aged out: idle for two sweeps"), "{table}");
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn one_threads_reservation_never_takes_the_whole_byte_budget() {
    // This thread fills its cache, then takes every buffer back and keeps them: it sits on
    // its reservation with nothing idle. Another thread's return must still be kept.
    let buffers = BufferPool::builder().max_idle_bytes(64 * 1024).build();
    let held: Vec<_> = (0..16).map(|_| buffers.get(4096)).collect();
    drop(held);
    let held: Vec<_> = (0..16).map(|_| buffers.get(4096)).collect();
    assert_eq!(buffers.stats().total.idle_bytes, 0);
    thread::scope(|s| {
        s.spawn(|| drop(buffers.get(4096)));
    });
    let stats = buffers.stats();
    assert_eq!(
        (stats.total.idle_bytes, stats.total.discarded.over_limit),
        (4096, 0),
        "nothing was idle, so nothing is over the limit"
    );
    drop(held);
    let stats = buffers.stats();
    assert!(stats.total.idle_bytes <= 64 * 1024, "the limit still holds");
    assert_balanced(&stats);
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn the_table_shows_every_class_that_holds_or_saw_buffers() {
    let pool = BufferPool::new();
    let mut grown = pool.get(4096);
    grown.reserve(20_000); // now in the 16 KiB class, which no request asked for
    drop(grown);
    pool.put(Vec::with_capacity(64 * 1024)); // handed in: no request either
    let table = pool.stats().to_string();
    let row = |class: &str| {
        table
            .lines()
            .find(|line| line.trim_start().starts_with(class))
            .unwrap_or_else(|| panic!("no {class} row in\n{table}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    // "32" "KiB" requests created adopted reused hit% idle ...
    let figures = |row: &[String]| [2, 3, 4, 6, 7].map(|column| row[column].clone());
    assert_eq!(
        figures(&row("16 KiB")),
        ["0", "0", "0", "-", "1"],
        "joined by growing: {table}"
    );
    assert_eq!(
        figures(&row("64 KiB")),
        ["0", "0", "1", "-", "1"],
        "handed in: {table}"
    );
    assert_balanced(&pool.stats());
}

#[test]
fn debug_output_shows_the_configuration_not_the_internals() {
    let pool = BufferPool::builder()
        .classes(4096, 16 * 1024)
        .thread_cache_bytes(8192)
        .build();
    drop(pool.get(100));
    let debug = format!("{pool:?}");
    assert!(
        debug.starts_with("BufferPool { classes: [4096, 8192, 16384], thread_cache_bytes: 8192, stats: Stats { created: 1,"),
        "{debug}"
    );
    assert!(!debug.contains("Mutex"), "{debug}");
}

#[test]
fn stats_taken_under_traffic_never_show_more_idle_bytes_than_the_limit() {
    const MAX_IDLE_BYTES: usize = 256 * 1024;
    let pool = BufferPool::builder()
        .max_idle_bytes(MAX_IDLE_BYTES)
        .trim_on_sweep(false)
        .build();
    let rounds = if cfg!(miri) { 10 } else { 5_000 };
    let done = std::sync::atomic::AtomicBool::new(false);
    let worst = thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|worker| {
                let pool = &pool;
                s.spawn(move || {
                    for round in 0..rounds {
                        let held: Vec<_> = (0..(round % 12))
                            .map(|k| pool.get(4096 << ((k + round + worker) % 5)))
                            .collect();
                        drop(held);
                    }
                })
            })
            .collect();
        let sampler = s.spawn(|| {
            let mut worst = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                worst = worst.max(pool.stats().total.idle_bytes);
            }
            worst
        });
        for worker in workers {
            worker.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        sampler.join().unwrap()
    });
    assert!(
        worst <= MAX_IDLE_BYTES,
        "a snapshot read {worst} idle bytes, over the limit of {MAX_IDLE_BYTES}"
    );
}

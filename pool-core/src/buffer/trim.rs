//! Giving free memory back to the system after a sweep.
//!
//! Freeing a buffer hands its memory to the global allocator, not to the operating system.
//! glibc's allocator serves buffers below its mmap threshold (128 KiB at first) from
//! per-thread arenas and keeps freed chunks there, so a process whose pool freed
//! everything still shows its peak RSS. `malloc_trim(0)` returns every free page inside
//! every arena. It is called only after a sweep that freed a lot, never on a get or return
//! path.
//!
//! What it cannot return: the free space at the end (the "top") of each per-thread arena.
//! glibc shrinks that only from `free` itself, once it exceeds the trim threshold (which
//! rises to twice the largest mmapped chunk freed so far), and then keeps a 128 KiB pad;
//! `malloc_trim` trims the top of the main arena alone. On the proxy workload that is
//! 0.7-1.6 MiB over 3-5 worker arenas after the pool has freed everything (smaps and
//! `malloc_stats`: 2.5 MB held by the arenas, 48 KB of it in use). A process that wants
//! that back too limits glibc's arenas (`MALLOC_ARENA_MAX=2`, which a pool makes cheap: the
//! hot path no longer allocates), or uses an allocator that returns memory by itself.

/// Asks the allocator to return free memory to the system, where that means something.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(miri), not(loom)))]
    // SAFETY: `malloc_trim` takes a padding size and no pointers, may be called from any
    // thread at any time (it takes each arena's lock itself), and only releases memory
    // that is free; with another global allocator it works on glibc's unused heap and
    // finds nothing to do.
    unsafe {
        libc::malloc_trim(0);
    }
}

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
//! glibc shrinks that only from `free` itself, once it exceeds the trim threshold, and then
//! keeps a 128 KiB pad; `malloc_trim` trims the top of the main arena alone. The threshold
//! starts at 128 KiB and rises to twice the largest mmapped chunk freed so far, so the order
//! of frees matters: the pools free each batch smallest first (`Shared::dispose` here,
//! `Garbage::dispose_with` for `Pool`), so the buffers that came from the arenas go while the
//! threshold is still low, and the arenas' tops shrink as they grow. On the proxy workload
//! that took RSS after two sweeps from +1.3-1.5 MiB to +0.6-0.7 MiB above the RSS before the
//! load (`BufferPool::new()`), and from +6.2 to +1.2-1.3 MiB (`Pool<Vec<u8>>`). With the
//! threshold pinned (`MALLOC_MMAP_THRESHOLD_=131072`) both orders end at +0.6 MiB, which is
//! how we know this is the mechanism. A process that wants the rest back too limits glibc's
//! arenas (`MALLOC_ARENA_MAX=2`: +0.1 MiB; a pool makes that cheap, as its hot path does not
//! allocate), or uses an allocator that returns memory by itself.

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

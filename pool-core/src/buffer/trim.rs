//! Giving free memory back to the system after a sweep.
//!
//! Freeing a buffer hands its memory to the global allocator, not to the operating system.
//! glibc's allocator serves buffers below its mmap threshold (128 KiB at first) from
//! per-thread arenas and keeps freed chunks there, so a process whose pool freed
//! everything still shows its peak RSS. `malloc_trim(0)` returns every free page of every
//! arena. It is called only after a sweep that freed a lot, never on a get or return path.

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

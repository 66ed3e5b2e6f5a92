//! The asymmetric barrier that lets any thread reclaim a quiet thread's cache without a
//! fence on the owner's hot path.
//!
//! The protocol (see `thread_cache.rs`) is a Dekker-style handshake: the owner stores
//! "I am in my cache" and then loads "does someone want my cache?"; a reclaimer stores "I
//! want it" and then loads "is the owner in?". For each side to see the other, each needs
//! a full fence between its store and its load. The owner runs this on every get and
//! return, where a fence (`mfence` or a locked instruction) would cost more than the rest
//! of the path. So the owner's side is [`light`], a compiler-only fence, and the reclaimer's
//! is [`heavy`], which makes every running thread of the process execute a full memory
//! barrier before it returns: Linux's `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, the
//! mechanism userspace RCU and folly's hazard pointers use for the same asymmetry. A thread
//! that is not running has passed a barrier at its last context switch.
//!
//! Where `heavy` cannot give that guarantee (not Linux, a kernel or sandbox without
//! `membarrier`), it says so, and reclaimers then touch only caches whose threads have
//! exited; live threads age their own caches on their next call into the pool. Under loom
//! and miri, which cannot model the syscall, both sides use a `SeqCst` fence: the pair is
//! the textbook stand-in, so the models check the protocol around it.

use crate::sync::{Ordering, compiler_fence, fence};

/// The owner's side, between its store of "in my cache" and its load of the reclaim mark.
#[inline(always)]
pub(crate) fn light() {
    if cfg!(any(loom, miri)) {
        fence(Ordering::SeqCst);
    } else {
        compiler_fence(Ordering::SeqCst);
    }
}

/// The reclaimer's side, between its store of the reclaim mark and its load of "in my
/// cache". Returns whether the barrier happened; if not, the reclaimer must leave live
/// threads' caches alone.
pub(crate) fn heavy() -> bool {
    #[cfg(all(test, not(loom)))]
    if tests::FALLBACK.get() {
        return false;
    }
    if cfg!(any(loom, miri)) {
        fence(Ordering::SeqCst);
        return true;
    }
    membarrier::expedited()
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
mod membarrier {
    use std::sync::OnceLock;

    // From <linux/membarrier.h>; stable kernel ABI since Linux 4.14.
    const CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    fn call(cmd: libc::c_long) -> bool {
        // SAFETY: `membarrier(cmd, flags = 0, cpu_id = 0)` takes no pointers and has no
        // effect on this process's memory beyond ordering it; an unsupported command
        // returns -1 with `errno` set, which we treat as "no barrier".
        let result = unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_long,
                0 as libc::c_long,
            )
        };
        result == 0
    }

    /// Registers the process once (required before the expedited command), then issues
    /// the barrier. False if the kernel refuses either.
    pub(super) fn expedited() -> bool {
        static REGISTERED: OnceLock<bool> = OnceLock::new();
        *REGISTERED.get_or_init(|| call(CMD_REGISTER_PRIVATE_EXPEDITED))
            && call(CMD_PRIVATE_EXPEDITED)
    }
}

#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
mod membarrier {
    /// No process-wide barrier on this platform: reclaimers leave live caches alone.
    pub(super) fn expedited() -> bool {
        false
    }
}

#[cfg(all(test, not(loom)))]
pub(crate) mod tests {
    use std::cell::Cell;

    std::thread_local! {
        /// Unit tests set this to exercise the portable fallback (no heavy barrier) on the
        /// calling thread's sweeps.
        pub(crate) static FALLBACK: Cell<bool> = const { Cell::new(false) };
    }

    #[test]
    fn heavy_barrier_availability_is_reported() {
        // Linux has membarrier unless a sandbox forbids it; under miri the fence stand-in
        // always succeeds. Elsewhere the fallback is documented.
        let available = super::heavy();
        if cfg!(miri) {
            assert!(available);
        }
        println!("heavy barrier available: {available}");
    }
}

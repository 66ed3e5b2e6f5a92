//! How much a pool may keep idle: object counts and heap bytes, per thread and in total.

use std::fmt;

/// A pair of amounts: objects and the heap bytes they keep (see
/// [`Reset::retained_bytes`](crate::Reset::retained_bytes)). Used for what is held, what is
/// reserved and what is allowed alike. All arithmetic saturates: a limit that is not set is
/// carried at `usize::MAX`, and a user's `retained_bytes` may report anything.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Amount {
    pub(crate) objects: usize,
    pub(crate) bytes: usize,
}

/// Shows a limit that is not set as "no limit" rather than `usize::MAX`, in `{:?}` output.
pub(crate) struct Limit(pub(crate) usize);

impl fmt::Debug for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == UNLIMITED {
            f.write_str("no limit")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Amount")
            .field("objects", &Limit(self.objects))
            .field("bytes", &Limit(self.bytes))
            .finish()
    }
}

/// The value of a limit that is not set.
pub(crate) const UNLIMITED: usize = usize::MAX;

/// The most bytes one idle object counts for, whatever its `retained_bytes` reports: 1 TiB
/// on 64-bit targets (more than any object holds), 256 MiB on smaller ones. Without it, a
/// few objects that report absurd sizes would saturate a level's byte sum, and taking one
/// of them out again would leave the sum wrong; with it, sums stay exact until 2^24 such
/// objects (16 on 32-bit targets) sit in one level, far past any budget.
#[cfg(target_pointer_width = "64")]
pub(crate) const MAX_COUNTED_BYTES: usize = 1 << 40;
#[cfg(not(target_pointer_width = "64"))]
pub(crate) const MAX_COUNTED_BYTES: usize = usize::MAX >> 4;

impl Amount {
    pub(crate) const ZERO: Amount = Amount {
        objects: 0,
        bytes: 0,
    };

    pub(crate) const fn one(bytes: usize) -> Amount {
        Amount { objects: 1, bytes }
    }

    pub(crate) const fn plus(self, other: Amount) -> Amount {
        Amount {
            objects: self.objects.saturating_add(other.objects),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }

    pub(crate) const fn minus(self, other: Amount) -> Amount {
        Amount {
            objects: self.objects.saturating_sub(other.objects),
            bytes: self.bytes.saturating_sub(other.bytes),
        }
    }

    pub(crate) fn add(&mut self, other: Amount) {
        *self = self.plus(other);
    }

    pub(crate) fn sub(&mut self, other: Amount) {
        *self = self.minus(other);
    }

    /// The smaller of each dimension.
    pub(crate) const fn min(self, other: Amount) -> Amount {
        Amount {
            objects: if self.objects < other.objects {
                self.objects
            } else {
                other.objects
            },
            bytes: if self.bytes < other.bytes {
                self.bytes
            } else {
                other.bytes
            },
        }
    }

    /// Whether `self` fits within `limit` in both dimensions.
    pub(crate) const fn fits(self, limit: Amount) -> bool {
        self.objects <= limit.objects && self.bytes <= limit.bytes
    }
}

/// Which per-thread limits the user set; the others follow the pool-wide limits (see
/// [`Limits::normalized`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ThreadCapsSet {
    pub(crate) objects: bool,
    pub(crate) bytes: bool,
}

impl ThreadCapsSet {
    /// Both set: the limits stand as given.
    #[cfg(test)]
    pub(crate) const BOTH: ThreadCapsSet = ThreadCapsSet {
        objects: true,
        bytes: true,
    };
}

/// A pool's limits, fixed when it is built.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Idle objects and bytes in the whole pool: thread caches, depot and victims together.
    pub(crate) max_idle: Amount,
    /// Idle objects and bytes one thread's cache may hold.
    pub(crate) thread_cache: Amount,
    /// The largest object (by retained bytes) worth keeping.
    pub(crate) max_object_bytes: usize,
    /// Objects per magazine, derived from `thread_cache` by [`normalized`](Limits::normalized):
    /// a thread cache holds two, so it moves half its capacity to or from the depot at a
    /// time. Kept precomputed for the hot path.
    pub(crate) magazine: usize,
}

impl Limits {
    /// Per-thread cache capacity when the user sets none.
    pub(crate) const DEFAULT_THREAD_CACHE: usize = 16;

    /// The largest per-thread cache: a thread cache allocates its two magazines up front, so
    /// a larger request is clamped to this (documented on
    /// [`PoolBuilder::thread_cache`](crate::PoolBuilder::thread_cache)).
    pub(crate) const MAX_THREAD_CACHE: usize = 4096;

    /// The share of a pool-wide limit (objects or bytes) that one thread's cache may
    /// reserve when the user sets no per-thread limit of that kind: a thread never holds
    /// the whole budget, so other threads' returns are not refused while it sits on a
    /// reservation for objects it has taken back out.
    pub(crate) const THREAD_SHARE: usize = 8;

    pub(crate) const DEFAULT: Limits = Limits {
        max_idle: Amount {
            objects: UNLIMITED,
            bytes: UNLIMITED,
        },
        thread_cache: Amount {
            objects: Self::DEFAULT_THREAD_CACHE,
            bytes: UNLIMITED,
        },
        max_object_bytes: UNLIMITED,
        magazine: Self::DEFAULT_THREAD_CACHE / 2,
    };

    /// Objects per magazine.
    #[inline(always)]
    pub(crate) const fn magazine_size(&self) -> usize {
        self.magazine
    }

    /// Makes the limits consistent: a thread cache is at most [`Self::MAX_THREAD_CACHE`]
    /// objects and never more than the whole pool may hold; without a per-thread limit of
    /// its own (`set`), it may hold at most an eighth of the pool-wide limit of that kind.
    pub(crate) const fn normalized(mut self, set: ThreadCapsSet) -> Limits {
        if self.thread_cache.objects > Self::MAX_THREAD_CACHE {
            self.thread_cache.objects = Self::MAX_THREAD_CACHE;
        }
        if !set.objects && self.max_idle.objects != UNLIMITED {
            let share = self.max_idle.objects / Self::THREAD_SHARE;
            if share < self.thread_cache.objects {
                self.thread_cache.objects = share;
            }
        }
        if !set.bytes && self.max_idle.bytes != UNLIMITED {
            self.thread_cache.bytes = self.max_idle.bytes / Self::THREAD_SHARE;
        }
        self.thread_cache = self.thread_cache.min(self.max_idle);
        let half = self.thread_cache.objects.div_ceil(2);
        self.magazine = if half == 0 { 1 } else { half };
        self
    }
}

impl fmt::Debug for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limits")
            .field("max_idle", &self.max_idle)
            .field("thread_cache", &self.thread_cache)
            .field("max_object_bytes", &Limit(self.max_object_bytes))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let big = Amount::one(usize::MAX - 1);
        assert_eq!(big.plus(big).bytes, usize::MAX);
        assert_eq!(Amount::ZERO.minus(big), Amount::ZERO);
    }

    #[test]
    fn debug_output_names_unset_limits() {
        assert_eq!(
            format!("{:?}", Limits::DEFAULT),
            "Limits { max_idle: Amount { objects: no limit, bytes: no limit }, \
             thread_cache: Amount { objects: 16, bytes: no limit }, \
             max_object_bytes: no limit, .. }"
        );
    }

    #[test]
    fn normalization_clamps_and_shares() {
        let limits = Limits {
            thread_cache: Amount {
                objects: usize::MAX,
                bytes: UNLIMITED,
            },
            ..Limits::DEFAULT
        }
        .normalized(ThreadCapsSet::default());
        assert_eq!(limits.thread_cache.objects, Limits::MAX_THREAD_CACHE);
        let limits = Limits {
            max_idle: Amount {
                objects: 64,
                bytes: 800,
            },
            ..Limits::DEFAULT
        }
        .normalized(ThreadCapsSet::default());
        assert_eq!(
            limits.thread_cache,
            Amount {
                objects: 8,
                bytes: 100
            },
            "an eighth of each pool-wide limit"
        );
        // The per-thread cap that a pool-wide limit of `objects` alone leaves.
        let thread_cap_under = |objects| {
            Limits {
                max_idle: Amount {
                    objects,
                    bytes: UNLIMITED,
                },
                ..Limits::DEFAULT
            }
            .normalized(ThreadCapsSet::default())
            .thread_cache
            .objects
        };
        assert_eq!(
            thread_cap_under(7),
            0,
            "under eight idle objects in all, thread caches are off"
        );
        assert_eq!(
            thread_cap_under(1000),
            Limits::DEFAULT_THREAD_CACHE,
            "the share only lowers the default"
        );
        let explicit = Limits {
            max_idle: Amount {
                objects: UNLIMITED,
                bytes: 800,
            },
            thread_cache: Amount {
                objects: 4,
                bytes: 800,
            },
            ..Limits::DEFAULT
        }
        .normalized(ThreadCapsSet::BOTH);
        assert_eq!(
            explicit.thread_cache.bytes, 800,
            "an explicit per-thread limit stands"
        );
    }
}

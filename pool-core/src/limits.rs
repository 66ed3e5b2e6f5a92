//! How much a pool may keep idle: object counts and heap bytes, per thread and in total.

/// A pair of amounts: objects and the heap bytes they keep (see
/// [`Reset::retained_bytes`](crate::Reset::retained_bytes)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) objects: usize,
    pub(crate) bytes: usize,
}

/// The value of a limit that is not set.
pub(crate) const UNLIMITED: usize = usize::MAX;

impl Usage {
    pub(crate) const ZERO: Usage = Usage {
        objects: 0,
        bytes: 0,
    };

    pub(crate) const fn one(bytes: usize) -> Usage {
        Usage { objects: 1, bytes }
    }

    /// Saturating: a dimension whose limit is unset is carried at `usize::MAX`, where
    /// adding must stay put rather than overflow.
    pub(crate) fn add(&mut self, other: Usage) {
        self.objects = self.objects.saturating_add(other.objects);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }

    /// How far `self` exceeds `cap`, per dimension (zero where it does not).
    pub(crate) fn excess_over(self, cap: Usage) -> Usage {
        Usage {
            objects: self.objects.saturating_sub(cap.objects),
            bytes: self.bytes.saturating_sub(cap.bytes),
        }
    }

    pub(crate) fn sub(&mut self, other: Usage) {
        self.objects -= other.objects;
        self.bytes -= other.bytes;
    }

    /// Whether `self` fits within `limit` in both dimensions.
    pub(crate) fn fits(self, limit: Usage) -> bool {
        self.objects <= limit.objects && self.bytes <= limit.bytes
    }

    pub(crate) fn plus(mut self, other: Usage) -> Usage {
        self.add(other);
        self
    }
}

/// A pool's limits, fixed when it is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Idle objects and bytes in the whole pool: thread caches, depot and victim together.
    pub(crate) max_idle: Usage,
    /// Idle objects and bytes one thread's cache may hold.
    pub(crate) thread_cache: Usage,
    /// The largest object (by retained bytes) worth keeping.
    pub(crate) max_object_bytes: usize,
}

impl Limits {
    /// Per-thread cache capacity when the user sets none.
    pub(crate) const DEFAULT_THREAD_CACHE: usize = 16;

    pub(crate) const DEFAULT: Limits = Limits {
        max_idle: Usage {
            objects: UNLIMITED,
            bytes: UNLIMITED,
        },
        thread_cache: Usage {
            objects: Self::DEFAULT_THREAD_CACHE,
            bytes: UNLIMITED,
        },
        max_object_bytes: UNLIMITED,
    };

    /// Objects per magazine: a thread cache holds two, so it moves half its capacity to or
    /// from the depot at a time.
    pub(crate) const fn magazine_size(&self) -> usize {
        let half = self.thread_cache.objects.div_ceil(2);
        if half == 0 { 1 } else { half }
    }

    /// Makes the limits consistent: a thread may not hold more than the whole pool.
    pub(crate) const fn normalized(mut self) -> Limits {
        if self.thread_cache.objects > self.max_idle.objects {
            self.thread_cache.objects = self.max_idle.objects;
        }
        if self.thread_cache.bytes > self.max_idle.bytes {
            self.thread_cache.bytes = self.max_idle.bytes;
        }
        self
    }
}

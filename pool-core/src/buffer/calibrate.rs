//! Calibration: which sizes are worth keeping, measured from the requests a pool served
//! (bytebufferpool's rule: the most requested classes that together cover 95% of requests,
//! keyed on capacity).

use crate::sync::{Mutex, lock};
use std::fmt;

/// Requests below this many since the last calibration are too few to act on. (The kept
/// sizes must cover 95% of requests: bytebufferpool's 95th percentile.)
pub(crate) const MIN_CALIBRATION_SAMPLES: u64 = 1_000;

/// Request counts at the last applied calibration, per class and beyond the top.
#[derive(Debug)]
pub(crate) struct Calibrator {
    applied_at: Mutex<Vec<u64>>,
}

impl Calibrator {
    pub(crate) fn new(classes: usize) -> Self {
        Self {
            applied_at: Mutex::new(vec![0; classes + 1]),
        }
    }

    /// Measures the requests since the last applied calibration and recommends limits;
    /// `apply` is called with the recommendation if there were enough requests and
    /// `apply_wanted` is set. The request counts are read under this calibrator's lock, so
    /// racing calibrations see monotonic counts and never subtract a newer count from an
    /// older one.
    pub(crate) fn calibrate(
        &self,
        sizes: &[usize],
        requests_now: impl FnOnce() -> Vec<u64>,
        apply_wanted: bool,
        apply: impl FnOnce(usize),
    ) -> Calibration {
        let mut applied_at = lock(&self.applied_at);
        let now = requests_now();
        let counts: Vec<u64> = now
            .iter()
            .zip(applied_at.iter())
            .map(|(now, then)| now.saturating_sub(*then))
            .collect();
        let top = sizes.last().copied().unwrap_or(0);
        let mut calibration = Calibration::from_counts(
            sizes.iter().copied().zip(counts.iter().copied()),
            counts.get(sizes.len()).copied().unwrap_or(0),
            top,
        );
        calibration.applied = apply_wanted && calibration.requests >= MIN_CALIBRATION_SAMPLES;
        if calibration.applied {
            apply(calibration.max_size);
            *applied_at = now;
        }
        calibration
    }
}

/// What [`BufferPool::calibrate`](super::BufferPool::calibrate) measured and recommends.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Calibration {
    /// Requests measured (since the previous applied calibration).
    pub requests: u64,
    /// The class asked for most: a good size for
    /// [`prefill`](super::BufferPool::prefill). `None` if no request fitted a class (none
    /// measured yet, or all beyond the top class).
    pub common_size: Option<usize>,
    /// The largest class among the most requested ones that together cover 95% of
    /// requests: returned buffers above it are not worth keeping.
    pub max_size: usize,
    /// Requests per class capacity, ascending.
    pub per_class: Vec<(usize, u64)>,
    /// Requests larger than the top class.
    pub unpooled: u64,
    /// Whether `max_size` was applied (enough requests, and not a `recommend`).
    pub applied: bool,
}

impl Calibration {
    fn from_counts(
        per_class: impl Iterator<Item = (usize, u64)>,
        unpooled: u64,
        top: usize,
    ) -> Self {
        let per_class: Vec<(usize, u64)> = per_class.collect();
        let requests = per_class
            .iter()
            .fold(unpooled, |sum, (_, n)| sum.saturating_add(*n));
        let mut by_demand = per_class.clone();
        by_demand.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let common = by_demand.first().filter(|(_, n)| *n > 0).copied();
        let common_size = common.map(|(size, _)| size);
        // 95%, rounded up: all but the floor of 5%.
        let needed = requests - requests / 20;
        let mut covered = 0;
        let mut max_size = 0;
        for &(size, n) in &by_demand {
            if covered >= needed || n == 0 {
                break;
            }
            covered = covered.saturating_add(n);
            max_size = max_size.max(size);
        }
        if covered < needed || max_size == 0 {
            // The kept classes cannot cover enough (big requests dominate): keep everything.
            max_size = top;
        }
        Self {
            requests,
            common_size,
            max_size,
            per_class,
            unpooled,
            applied: false,
        }
    }
}

impl fmt::Display for Calibration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "calibration over {} requests ({} beyond the top class):",
            self.requests, self.unpooled
        )?;
        for &(size, n) in self.per_class.iter().filter(|(_, n)| *n > 0) {
            let share = if self.requests == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.requests as f64
            };
            writeln!(
                f,
                "  {:>10}  {:>10} requests  {:>5.1}%",
                human_bytes(size),
                n,
                share
            )?;
        }
        let common = self.common_size.map(|size| {
            let asked = self
                .per_class
                .iter()
                .find(|(class, _)| *class == size)
                .map_or(0, |(_, n)| *n);
            (size, asked)
        });
        match common {
            None => write!(f, "no request fitted a class: nothing to prefill")?,
            Some((size, asked)) if asked >= self.unpooled => {
                write!(
                    f,
                    "most requests fit {} (prefill this size)",
                    human_bytes(size)
                )?;
            }
            Some((size, _)) => write!(
                f,
                "most requests are beyond the top class; of the classes, {} is asked for most \
                 (prefill this size)",
                human_bytes(size)
            )?,
        }
        write!(
            f,
            "; keep buffers up to {} ({})",
            human_bytes(self.max_size),
            if self.applied {
                "applied"
            } else {
                "not applied"
            }
        )
    }
}

/// Formats a byte count in KiB/MiB for tables.
pub(crate) fn human_bytes(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn calibration_covers_the_most_requested_classes() {
        let counts = [(4096, 10), (8192, 900), (16384, 50), (1 << 20, 40)];
        let c = Calibration::from_counts(counts.into_iter(), 0, 1 << 22);
        assert_eq!(c.requests, 1000);
        assert_eq!(c.common_size, Some(8192));
        assert_eq!(
            c.max_size, 16384,
            "8 KiB and 16 KiB together cover 950 of 1000 requests"
        );
        let counts = [(4096, 10), (8192, 900), (16384, 30), (1 << 20, 60)];
        let c = Calibration::from_counts(counts.into_iter(), 0, 1 << 22);
        assert_eq!(
            c.max_size,
            1 << 20,
            "only with the 1 MiB class do they reach 95%"
        );
        let none = Calibration::from_counts([(4096, 0)].into_iter(), 0, 8192);
        assert_eq!(
            (none.common_size, none.max_size),
            (None, 8192),
            "no data: nothing to prefill, keep everything"
        );
        assert!(none.to_string().contains("nothing to prefill"), "{none}");
        let beyond = Calibration::from_counts([(4096, 0)].into_iter(), 2000, 8192);
        assert_eq!(beyond.common_size, None, "no request fitted a class");
        let mostly_beyond = Calibration::from_counts([(4096, 10)].into_iter(), 2000, 8192);
        assert_eq!(mostly_beyond.common_size, Some(4096));
        assert!(
            mostly_beyond
                .to_string()
                .contains("most requests are beyond the top class"),
            "{mostly_beyond}"
        );
    }

    #[test]
    fn racing_calibrations_never_go_backwards() {
        let calibrator = Calibrator::new(1);
        let sizes = [4096];
        let mut applied = Vec::new();
        calibrator.calibrate(&sizes, || vec![2000, 0], true, |max| applied.push(max));
        // A caller that read older counts before taking the lock would subtract 2000 from
        // 1500; reading under the lock, a calibration never sees counts go down, and if
        // they did, the difference saturates at zero instead of wrapping.
        let c = calibrator.calibrate(&sizes, || vec![1500, 0], true, |max| applied.push(max));
        assert_eq!(c.requests, 0);
        assert!(!c.applied);
        assert_eq!(applied, [4096]);
    }
}

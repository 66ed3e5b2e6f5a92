//! Size classes: which capacities a [`BufferPool`](super::BufferPool) keeps, and the
//! arithmetic that maps a request or a capacity to a class without walking the list.

/// The largest class capacity a pool accepts (1 TiB): far beyond any buffer worth pooling,
/// and far below the point where capacity arithmetic could overflow.
pub(crate) const MAX_CLASS: usize = 1 << 40;

/// Classes between powers of two are rounded up to whole pages.
const PAGE: usize = 4096;

/// The class capacities, ascending, and the index that finds one.
#[derive(Debug)]
pub(crate) struct Classes {
    sizes: Box<[usize]>,
    index: ClassIndex,
}

impl Classes {
    pub(crate) fn new(sizes: Vec<usize>) -> Self {
        let index = ClassIndex::new(&sizes);
        Self {
            sizes: sizes.into(),
            index,
        }
    }

    /// How many classes.
    #[inline]
    pub(crate) fn count(&self) -> usize {
        self.sizes.len()
    }

    /// The capacity of class `class`.
    #[inline]
    pub(crate) fn size(&self, class: usize) -> usize {
        self.sizes[class]
    }

    /// Whether `class` is a class and its buffers have capacity `capacity`.
    #[inline]
    pub(crate) fn has_size(&self, class: usize, capacity: usize) -> bool {
        self.sizes.get(class) == Some(&capacity)
    }

    pub(crate) fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// The top class's capacity.
    pub(crate) fn top(&self) -> usize {
        self.sizes.last().copied().unwrap_or(0)
    }

    /// The smallest class whose buffers fit `len`; [`count`](Classes::count) if none does.
    #[inline]
    pub(crate) fn for_request(&self, len: usize) -> usize {
        self.index.for_request(len)
    }

    /// The largest class with capacity `<= capacity`, if any: where a returned buffer goes.
    #[inline]
    pub(crate) fn for_capacity(&self, capacity: usize) -> Option<usize> {
        self.index.for_capacity(capacity)
    }
}

/// Maps sizes to class indexes: arithmetic for powers of two, a compact table otherwise.
#[derive(Debug)]
enum ClassIndex {
    /// Classes `1 << min_shift`, `1 << (min_shift + 1)`, ..., `count` of them.
    PowersOfTwo { min_shift: u32, count: usize },
    /// Class capacities, ascending.
    Table(Box<[usize]>),
}

impl ClassIndex {
    fn new(sizes: &[usize]) -> Self {
        let powers_of_two = sizes.iter().all(|size| size.is_power_of_two())
            && sizes
                .windows(2)
                .all(|pair| Some(pair[1]) == pair[0].checked_mul(2));
        match sizes.first() {
            Some(first) if powers_of_two => ClassIndex::PowersOfTwo {
                min_shift: first.trailing_zeros(),
                count: sizes.len(),
            },
            _ => ClassIndex::Table(sizes.into()),
        }
    }

    /// The smallest class with capacity `>= len`; the class count if none.
    #[inline]
    fn for_request(&self, len: usize) -> usize {
        match *self {
            ClassIndex::PowersOfTwo { min_shift, count } => {
                // ceil(log2(len)) for len >= 2; anything up to the first class maps to 0.
                let ceil_log2 = usize::BITS - len.saturating_sub(1).leading_zeros();
                (ceil_log2.saturating_sub(min_shift) as usize).min(count)
            }
            ClassIndex::Table(ref sizes) => sizes.partition_point(|&size| size < len),
        }
    }

    /// The largest class with capacity `<= capacity`, if any.
    #[inline]
    fn for_capacity(&self, capacity: usize) -> Option<usize> {
        match *self {
            ClassIndex::PowersOfTwo { min_shift, count } => {
                let floor_log2 = capacity.checked_ilog2()?;
                let index = floor_log2.checked_sub(min_shift)? as usize;
                Some(index.min(count - 1))
            }
            ClassIndex::Table(ref sizes) => sizes
                .partition_point(|&size| size <= capacity)
                .checked_sub(1),
        }
    }
}

/// Checks a builder's class bounds, with a message naming the bound that is wrong.
///
/// # Panics
///
/// If `min` is 0, `min > max`, or `max` is above [`MAX_CLASS`].
pub(crate) fn check_bounds(min: usize, max: usize) {
    assert!(
        min > 0,
        "BufferPool classes: min must be at least 1 (got min 0)"
    );
    assert!(
        min <= max,
        "BufferPool classes: min must not exceed max (got min {min}, max {max})"
    );
    assert!(
        max <= MAX_CLASS,
        "BufferPool classes: max must be at most 2^40 = {MAX_CLASS} bytes (got max {max})"
    );
}

/// Capacities from `min` (rounded up to a power of two) to `max`, `steps` per doubling,
/// ascending and distinct; those between powers of two from 4 KiB up rounded up to whole
/// pages, those below a page to whole bytes (a page would round them past the next power).
/// If no power of two lies between `min` and `max`, the one class is `min`. Bounds as
/// [`check_bounds`] accepts them.
pub(crate) fn geometric_sizes(min: usize, max: usize, steps: u32) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut power = min.next_power_of_two();
    while power <= max {
        for step in 0..steps {
            let exact = power as f64 * 2f64.powf(f64::from(step) / f64::from(steps));
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a positive size below 2^41: exact in an f64, and fits a usize"
            )]
            let size = match exact.ceil() as usize {
                _ if step == 0 => power,
                size if power >= PAGE => size.next_multiple_of(PAGE),
                size => size,
            };
            if size <= max {
                sizes.push(size);
            }
        }
        power *= 2;
    }
    // Each step lies within its doubling, but rounding can meet the next power: keep the
    // list ascending and distinct whatever the rounding did, as the class index requires.
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() {
        sizes.push(min);
    }
    sizes
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn steps_below_a_page_stay_ascending_and_distinct() {
        // Rounding the steps below 4 KiB up to a page once made [512, 4096, 1024, 4096, ...].
        assert_eq!(
            geometric_sizes(512, 64 * 1024, 2),
            [
                512, 725, 1024, 1449, 2048, 2897, 4096, 8192, 12288, 16384, 24576, 32768, 49152,
                65536
            ]
        );
        for (min, max, steps) in [(1, 1 << 20, 16), (1, 8192, 3), (100, 10_000, 7), (3, 5, 2)] {
            let sizes = geometric_sizes(min, max, steps);
            assert!(
                sizes.windows(2).all(|pair| pair[0] < pair[1]),
                "ascending and distinct for ({min}, {max}, {steps}): {sizes:?}"
            );
            assert!(sizes.iter().all(|&size| size <= max));
        }
    }

    #[test]
    fn class_index_agrees_with_a_search() {
        for sizes in [
            geometric_sizes(4096, 4 << 20, 1),
            geometric_sizes(8192, 1 << 20, 4),
            geometric_sizes(512, 64 * 1024, 2),
            geometric_sizes(1, 1 << 16, 16),
            vec![1, 2, 4],
            vec![3000],
        ] {
            let classes = Classes::new(sizes.clone());
            let top = sizes[sizes.len() - 1];
            let probes = (0..=top * 2 + 3).step_by(517).chain([
                0,
                1,
                2,
                3,
                4,
                5,
                4095,
                4096,
                4097,
                top,
                top + 1,
                usize::MAX,
            ]);
            for probe in probes {
                let request = sizes.partition_point(|&size| size < probe);
                assert_eq!(
                    classes.for_request(probe),
                    request,
                    "request {probe} in {sizes:?}"
                );
                let capacity = sizes.partition_point(|&size| size <= probe).checked_sub(1);
                assert_eq!(
                    classes.for_capacity(probe),
                    capacity,
                    "capacity {probe} in {sizes:?}"
                );
            }
        }
    }

    #[test]
    fn class_spacing() {
        assert_eq!(geometric_sizes(3000, 20_000, 1), vec![4096, 8192, 16_384]);
        assert_eq!(geometric_sizes(4096, 4096, 1), vec![4096]);
        assert_eq!(
            geometric_sizes(64 * 1024, 128 * 1024, 4),
            vec![65_536, 81_920, 94_208, 110_592, 131_072]
        );
        let top = geometric_sizes(1, MAX_CLASS, 1);
        assert_eq!(top.last(), Some(&MAX_CLASS), "the largest bound terminates");
    }

    #[test]
    #[should_panic(expected = "max must be at most 2^40")]
    fn an_unbounded_max_is_refused() {
        check_bounds(4096, usize::MAX);
    }

    #[test]
    #[should_panic(expected = "min must be at least 1")]
    fn a_zero_min_is_refused() {
        check_bounds(0, 4096);
    }
}

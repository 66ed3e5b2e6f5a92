//! Property tests: single-thread runs of random operations against a tiny reference model.
//!
//! Two models, because a thread's own cache ages only on that thread's next visit and moves
//! objects in magazines, which a tiny model should not replicate:
//! - `exact_without_thread_caches`: `thread_cache(0)`, so every object lives in the shared
//!   depot, a stack per generation. The model predicts which object each get returns, and
//!   every stats field after every step, under random `max_idle`, `max_idle_bytes` and
//!   `max_object_bytes` limits and sweeps.
//! - `aging_with_thread_caches`: caches of 1 to 8 objects, no limits. The model keeps each
//!   idle object's last use (the sweep count when it was returned) and checks the documented
//!   aging after every call into the pool: an object returned since the previous sweep is
//!   still idle and reusable, one idle through two sweeps is gone, a get reuses whenever
//!   anything is idle, and the stats say so exactly.
//!
//! Not run under `chaos`, whose point is to break such predictions, nor under miri (slow).
#![cfg(not(pool_chaos))]

use pool_core::{Pool, Pooled, Reset, Stats};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// Ids handed out and dropped, shared by the items of one case.
#[derive(Debug, Default)]
struct Registry {
    next_id: AtomicU64,
    dropped: Mutex<BTreeSet<u64>>,
}

/// An object whose retained bytes the test sets, so byte limits can be exercised.
#[derive(Debug)]
struct Item {
    id: u64,
    bytes: usize,
    dirty: bool,
    registry: Arc<Registry>,
}

impl Item {
    fn new(registry: &Arc<Registry>) -> Self {
        Self {
            id: registry.next_id.fetch_add(1, SeqCst),
            bytes: 0,
            dirty: false,
            registry: Arc::clone(registry),
        }
    }
}

impl Reset for Item {
    fn reset(&mut self) {
        self.dirty = false; // `bytes` stands for capacity: kept, like a Vec's
    }
    fn retained_bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        let fresh = self.registry.dropped.lock().unwrap().insert(self.id);
        assert!(fresh, "item {} dropped twice", self.id);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Get,
    /// Return the held object at this index (modulo), grown to this many bytes.
    Return(usize, usize),
    Detach(usize),
    Put(usize),
    Sweep,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => Just(Op::Get),
        4 => (any::<usize>(), 0..100usize).prop_map(|(i, bytes)| Op::Return(i, bytes)),
        1 => any::<usize>().prop_map(Op::Detach),
        1 => (0..100usize).prop_map(Op::Put),
        2 => Just(Op::Sweep),
    ];
    proptest::collection::vec(op, 1..80)
}

/// Counters the models keep, compared field by field with [`Stats`].
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    created: u64,
    reused: u64,
    returned: u64,
    adopted: u64,
    detached: u64,
    over_limit: u64,
    too_large: u64,
    aged_out: u64,
    idle: usize,
    idle_bytes: usize,
    sweeps: u64,
}

impl Expected {
    fn of(stats: &Stats) -> Self {
        Self {
            created: stats.created,
            reused: stats.reused,
            returned: stats.returned,
            adopted: stats.adopted,
            detached: stats.detached,
            over_limit: stats.discarded.over_limit,
            too_large: stats.discarded.too_large,
            aged_out: stats.discarded.aged_out,
            idle: stats.idle,
            idle_bytes: stats.idle_bytes,
            sweeps: stats.sweeps,
        }
    }
}

/// 512 cases (about a second), or `PROPTEST_CASES` for a longer run.
fn config() -> ProptestConfig {
    let default = ProptestConfig::default(); // reads PROPTEST_CASES
    ProptestConfig {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            default.cases
        } else {
            512
        },
        // Failures print their minimal case; keep the checkout free of regression files.
        failure_persistence: None,
        ..default
    }
}

/// The depot model: two stacks of (id, bytes), newest on top, and the limits.
#[derive(Debug, Default)]
struct DepotModel {
    primary: Vec<(u64, usize)>,
    victim: Vec<(u64, usize)>,
    max_idle: Option<usize>,
    max_idle_bytes: Option<usize>,
    max_object_bytes: Option<usize>,
    expected: Expected,
    dropped: BTreeSet<u64>,
}

impl DepotModel {
    fn idle(&self) -> impl Iterator<Item = &(u64, usize)> {
        self.primary.iter().chain(&self.victim)
    }

    fn fits(&self, bytes: usize) -> bool {
        let objects = self.primary.len() + self.victim.len();
        let held_bytes: usize = self.idle().map(|&(_, b)| b).sum();
        self.max_idle.is_none_or(|max| objects < max)
            && self
                .max_idle_bytes
                .is_none_or(|max| held_bytes + bytes <= max)
    }

    /// Which object a get returns: the depot's newest, then the victims' newest, else new.
    fn get(&mut self, next_id: u64) -> u64 {
        match self.primary.pop().or_else(|| self.victim.pop()) {
            Some((id, _)) => {
                self.expected.reused += 1;
                id
            }
            None => {
                self.expected.created += 1;
                next_id
            }
        }
    }

    /// A return (or put) of a reset object holding `bytes`.
    fn keep(&mut self, id: u64, bytes: usize) {
        if self.max_object_bytes.is_some_and(|max| bytes > max) {
            self.expected.too_large += 1;
            self.dropped.insert(id);
            return;
        }
        // Victims give way, newest first, before a return is refused.
        while !self.fits(bytes) {
            match self.victim.pop() {
                Some((victim, _)) => {
                    self.expected.aged_out += 1;
                    self.dropped.insert(victim);
                }
                None => {
                    self.expected.over_limit += 1;
                    self.dropped.insert(id);
                    return;
                }
            }
        }
        self.primary.push((id, bytes));
        self.expected.returned += 1;
    }

    fn sweep(&mut self) {
        for (id, _) in self.victim.drain(..) {
            self.expected.aged_out += 1;
            self.dropped.insert(id);
        }
        self.victim = std::mem::take(&mut self.primary);
        self.expected.sweeps += 1;
    }

    fn sync_idle(&mut self) {
        self.expected.idle = self.primary.len() + self.victim.len();
        self.expected.idle_bytes = self.idle().map(|&(_, b)| b).sum();
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    #[cfg_attr(miri, ignore = "proptest under miri is too slow")]
    fn exact_without_thread_caches(
        max_idle in proptest::option::of(0..6usize),
        max_idle_bytes in proptest::option::of(0..300usize),
        max_object_bytes in proptest::option::of(0..100usize),
        ops in ops(),
    ) {
        let registry = Arc::new(Registry::default());
        let mut builder = Pool::builder().thread_cache(0);
        if let Some(max) = max_idle {
            builder = builder.max_idle(max);
        }
        if let Some(max) = max_idle_bytes {
            builder = builder.max_idle_bytes(max);
        }
        if let Some(max) = max_object_bytes {
            builder = builder.max_object_bytes(max);
        }
        let pool = {
            let registry = Arc::clone(&registry);
            builder.init(move || Item::new(&registry)).build()
        };
        let mut model = DepotModel { max_idle, max_idle_bytes, max_object_bytes, ..DepotModel::default() };
        let mut held: Vec<Pooled<'_, Item>> = Vec::new();

        for op in ops {
            match op {
                Op::Get => {
                    let expected_id = model.get(registry.next_id.load(SeqCst));
                    let mut item = pool.get();
                    prop_assert_eq!(item.id, expected_id, "the depot is a stack per generation");
                    prop_assert!(!item.dirty, "handed out un-reset");
                    item.dirty = true;
                    held.push(item);
                }
                Op::Return(i, bytes) if !held.is_empty() => {
                    let mut item = held.remove(i % held.len());
                    item.bytes = bytes;
                    model.keep(item.id, bytes);
                    drop(item);
                }
                Op::Detach(i) if !held.is_empty() => {
                    let item = Pooled::into_inner(held.remove(i % held.len()));
                    model.expected.detached += 1;
                    model.dropped.insert(item.id);
                }
                Op::Put(bytes) => {
                    let mut item = Item::new(&registry);
                    item.bytes = bytes;
                    model.expected.adopted += 1;
                    model.keep(item.id, bytes);
                    pool.put(item);
                }
                Op::Sweep => {
                    model.sweep();
                    pool.sweep();
                }
                Op::Return(..) | Op::Detach(_) => {}
            }
            model.sync_idle();
            let stats = pool.stats();
            prop_assert_eq!(&Expected::of(&stats), &model.expected, "{}", stats);
            prop_assert_eq!(&*registry.dropped.lock().unwrap(), &model.dropped);
            prop_assert_eq!(stats.in_use(), held.len() as u64);
        }
        drop(held);
        drop(pool);
        let all: BTreeSet<u64> = (0..registry.next_id.load(SeqCst)).collect();
        prop_assert_eq!(&*registry.dropped.lock().unwrap(), &all, "everything dropped once");
    }

    #[test]
    #[cfg_attr(miri, ignore = "proptest under miri is too slow")]
    fn aging_with_thread_caches(thread_cache in 1..=8usize, ops in ops()) {
        let registry = Arc::new(Registry::default());
        let pool = {
            let registry = Arc::clone(&registry);
            Pool::builder()
                .thread_cache(thread_cache)
                .init(move || Item::new(&registry))
                .build()
        };
        // Idle objects by id, with the sweep count at their last return.
        let mut idle: BTreeMap<u64, u64> = BTreeMap::new();
        let mut sweeps = 0u64;
        let mut expected = Expected::default();
        let mut dropped = BTreeSet::new();
        let mut held: Vec<Pooled<'_, Item>> = Vec::new();

        for op in ops {
            // A get, return or put is a visit: by its end, whatever has been idle through
            // two sweeps is gone, from the shared levels (at the sweep) and from this
            // thread's cache (now).
            let visit = matches!(op, Op::Get | Op::Put(_))
                || matches!(op, Op::Return(..) if !held.is_empty());
            if visit {
                idle.retain(|&id, &mut last_use| {
                    let keep = sweeps - last_use < 2;
                    if !keep {
                        expected.aged_out += 1;
                        dropped.insert(id);
                    }
                    keep
                });
            }
            match op {
                Op::Get => {
                    let mut item = pool.get();
                    if idle.is_empty() {
                        expected.created += 1;
                    } else {
                        prop_assert!(
                            idle.remove(&item.id).is_some(),
                            "item {} is not one of the idle {:?}", item.id, idle
                        );
                        expected.reused += 1;
                    }
                    prop_assert!(!item.dirty, "handed out un-reset");
                    item.dirty = true;
                    held.push(item);
                }
                Op::Return(i, _) if !held.is_empty() => {
                    let item = held.remove(i % held.len());
                    idle.insert(item.id, sweeps);
                    expected.returned += 1;
                    drop(item);
                }
                Op::Detach(i) if !held.is_empty() => {
                    let item = Pooled::into_inner(held.remove(i % held.len()));
                    expected.detached += 1;
                    dropped.insert(item.id);
                }
                Op::Put(_) => {
                    let item = Item::new(&registry);
                    idle.insert(item.id, sweeps);
                    expected.adopted += 1;
                    expected.returned += 1;
                    pool.put(item);
                }
                Op::Sweep => {
                    sweeps += 1;
                    expected.sweeps += 1;
                    pool.sweep();
                }
                Op::Return(..) | Op::Detach(_) => {}
            }
            if visit {
                expected.idle = idle.len();
                let stats = pool.stats();
                prop_assert_eq!(&Expected::of(&stats), &expected, "{}", stats);
                prop_assert_eq!(&*registry.dropped.lock().unwrap(), &dropped);
            }
        }
    }
}

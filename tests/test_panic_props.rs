//! Panic injection: random operations on a pool whose objects panic at random in `init`,
//! `reset`, `retained_bytes` or `Drop`. After every step the books balance
//! (`created + adopted == idle + in_use + detached + discarded`, with `in_use` the guards
//! this test holds), no object is ever dropped twice, and at the end every object made was
//! dropped exactly once. The pool keeps working whatever panicked, and so does automatic
//! aging: some cases age their pool every millisecond, so objects also panic on the aging
//! thread, and a bystander pool with `age_every` must keep being swept.

#![cfg(not(miri))] // proptest is far too slow under miri

mod support;

use pool_core::{Pool, PooledOwned, Reset};
use proptest::prelude::*;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where an object panics, if anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    Calm,
    Init,
    Reset,
    Retained,
    Drop,
}

fn plan() -> impl Strategy<Value = Plan> {
    prop_oneof![
        6 => Just(Plan::Calm),
        1 => Just(Plan::Init),
        1 => Just(Plan::Reset),
        1 => Just(Plan::Retained),
        1 => Just(Plan::Drop),
    ]
}

/// What happened to every object of one case.
#[derive(Default)]
struct Ledger {
    made: AtomicUsize,
    /// Per object: how many times it was dropped.
    drops: Mutex<Vec<u8>>,
    dropped_twice: AtomicUsize,
    /// The plan `init` uses for the next object it makes.
    next: AtomicU8,
}

impl Ledger {
    fn make(self: &Arc<Self>, plan: Plan) -> Victim {
        let id = self.made.fetch_add(1, Ordering::SeqCst);
        self.drops.lock().unwrap().push(0);
        Victim {
            id,
            plan,
            dirty: false,
            ledger: Arc::clone(self),
        }
    }

    fn dropped(&self) -> usize {
        self.drops
            .lock()
            .unwrap()
            .iter()
            .filter(|&&n| n > 0)
            .count()
    }
}

struct Victim {
    id: usize,
    plan: Plan,
    dirty: bool,
    ledger: Arc<Ledger>,
}

impl Reset for Victim {
    fn reset(&mut self) {
        self.dirty = false;
        assert!(
            self.plan != Plan::Reset,
            "object {} panics in reset",
            self.id
        );
    }
    fn retained_bytes(&self) -> usize {
        assert!(
            self.plan != Plan::Retained,
            "object {} panics in retained_bytes",
            self.id
        );
        64
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let mut drops = self.ledger.drops.lock().unwrap();
        drops[self.id] += 1;
        if drops[self.id] > 1 {
            self.ledger.dropped_twice.fetch_add(1, Ordering::SeqCst);
        }
        drop(drops);
        if self.plan == Plan::Drop && !std::thread::panicking() {
            panic!("object {} panics in Drop", self.id);
        }
    }
}

fn code(plan: Plan) -> u8 {
    plan as u8
}

fn decode(code: u8) -> Plan {
    [
        Plan::Calm,
        Plan::Init,
        Plan::Reset,
        Plan::Retained,
        Plan::Drop,
    ][code as usize]
}

#[derive(Clone, Debug)]
enum Op {
    /// Get one object; if the pool makes one, it gets this plan.
    Get(Plan),
    /// Return the held guard at this index (modulo).
    Return(usize),
    /// Take the held guard at this index out for good.
    Detach(usize),
    /// Hand in a new object with this plan.
    Put(Plan),
    Prefill(usize, Plan),
    Sweep,
    /// Drop the pool handle and start a new pool; guards still out keep the old one alive.
    Replace,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => plan().prop_map(Op::Get),
        4 => any::<usize>().prop_map(Op::Return),
        1 => any::<usize>().prop_map(Op::Detach),
        1 => plan().prop_map(Op::Put),
        1 => (0..6usize, plan()).prop_map(|(n, p)| Op::Prefill(n, p)),
        2 => Just(Op::Sweep),
        1 => Just(Op::Replace),
    ]
}

/// How often an aging case's pool is swept by the aging thread.
const AGING: Duration = Duration::from_millis(1);

fn new_pool(ledger: &Arc<Ledger>, limits: (usize, usize), aging: bool) -> Arc<Pool<Victim>> {
    let ledger = Arc::clone(ledger);
    let builder = Pool::builder()
        .thread_cache(limits.0)
        .max_idle(limits.1)
        .init(move || {
            let plan = decode(ledger.next.load(Ordering::SeqCst));
            assert!(plan != Plan::Init, "init panics");
            ledger.make(plan)
        });
    let builder = if aging {
        builder.age_every(AGING)
    } else {
        builder
    };
    Arc::new(builder.build())
}

/// A well-behaved pool aged by the same aging thread, for the whole test binary.
fn bystander() -> &'static Pool<Vec<u8>> {
    static BYSTANDER: OnceLock<Pool<Vec<u8>>> = OnceLock::new();
    BYSTANDER.get_or_init(|| Pool::builder().age_every(AGING).build())
}

/// Whether `pool` is swept `more` more times within 10 s.
fn wait_for_sweeps<T: Reset>(pool: &Pool<T>, more: u64) -> bool {
    let start = pool.stats().sweeps;
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.stats().sweeps < start + more {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(AGING);
    }
    true
}

/// Whether the aging thread still sweeps the bystander.
fn aging_goes_on() -> bool {
    wait_for_sweeps(bystander(), 2)
}

/// The pool's books, given the guards of this pool the test holds.
fn assert_balanced(pool: &Pool<Victim>, in_use: usize) -> Result<(), TestCaseError> {
    let stats = pool.stats();
    prop_assert_eq!(
        stats.created + stats.adopted,
        (stats.idle + in_use) as u64 + stats.detached + stats.discarded.total(),
        "{}",
        stats
    );
    Ok(())
}

fn quietly<R>(f: impl FnOnce() -> R) -> Option<R> {
    panic::catch_unwind(AssertUnwindSafe(f)).ok()
}

proptest! {
    // 256 cases by default; PROPTEST_CASES sets more (or fewer, as under valgrind).

    #[test]
    fn panics_anywhere_leave_the_books_balanced(
        limits in (0..6usize, 1..12usize),
        aging in proptest::bool::weighted(0.25),
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        drop(bystander().get());
        // Panic messages from the injected panics are expected; keep the output readable.
        let hook = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        let ledger = Arc::new(Ledger::default());
        let mut pool = new_pool(&ledger, limits, aging);
        let mut held: Vec<PooledOwned<Victim>> = Vec::new();
        let mut detached: Vec<Victim> = Vec::new();
        let result = (|| {
            for op in ops {
                match op {
                    Op::Get(plan) => {
                        ledger.next.store(code(plan), Ordering::SeqCst);
                        if let Some(mut guard) = quietly(|| pool.get_owned()) {
                            prop_assert!(!guard.dirty, "handed out without a reset");
                            guard.dirty = true;
                            held.push(guard);
                        }
                    }
                    Op::Return(index) if !held.is_empty() => {
                        let guard = held.swap_remove(index % held.len());
                        quietly(move || drop(guard));
                    }
                    Op::Detach(index) if !held.is_empty() => {
                        let guard = held.swap_remove(index % held.len());
                        // Panics if the guard held the last handle to a replaced pool,
                        // whose drop drops an object that panics.
                        if let Some(object) = quietly(move || PooledOwned::into_inner(guard)) {
                            detached.push(object);
                        }
                    }
                    Op::Return(_) | Op::Detach(_) => {}
                    Op::Put(plan) => {
                        if plan != Plan::Init {
                            let object = ledger.make(plan);
                            quietly(|| pool.put(object));
                        }
                    }
                    Op::Prefill(count, plan) => {
                        ledger.next.store(code(plan), Ordering::SeqCst);
                        quietly(|| pool.prefill(count));
                    }
                    Op::Sweep => {
                        quietly(|| pool.sweep());
                    }
                    Op::Replace => {
                        let old = std::mem::replace(&mut pool, new_pool(&ledger, limits, aging));
                        quietly(move || drop(old));
                    }
                }
                // With the aging thread sweeping at the same time, a snapshot of the counts
                // may catch a sweep halfway; the end-of-case drop count still checks it all.
                if !aging {
                    let mine = held.iter().filter(|g| Arc::ptr_eq(PooledOwned::pool(g), &pool)).count();
                    assert_balanced(&pool, mine)?;
                }
                prop_assert_eq!(ledger.dropped_twice.load(Ordering::SeqCst), 0);
            }
            Ok(())
        })();
        // An aging case lets the aging thread sweep its pool twice, so the idle objects age
        // out there, panicking Drops included.
        let swept = !aging || wait_for_sweeps(&pool, 2);
        // Whatever happened, everything made is dropped exactly once in the end.
        for guard in held.drain(..) {
            quietly(move || drop(guard));
        }
        for object in detached.drain(..) {
            quietly(move || drop(object));
        }
        quietly(move || drop(pool));
        let aging_alive = aging_goes_on();
        panic::set_hook(hook);
        result?;
        prop_assert!(swept, "the aging thread swept this case's pool");
        prop_assert!(aging_alive, "automatic aging stopped for the other pools");
        prop_assert_eq!(ledger.dropped_twice.load(Ordering::SeqCst), 0, "dropped twice");
        prop_assert_eq!(
            ledger.dropped(),
            ledger.made.load(Ordering::SeqCst),
            "every object made was dropped"
        );
    }
}

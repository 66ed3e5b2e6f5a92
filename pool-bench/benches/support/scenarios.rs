//! The timed scenarios of BENCHMARKS.md (1, 2, 3, 7 and 8), as criterion groups, each followed by an
//! allocation count of the same subject in the same state.
//!
//! Criterion ids are `<scenario group>/<subject name>`; `pool-bench/scripts/bench_report.py`
//! reads them back from `target/criterion/`.

use super::counting_alloc;
use super::{Object, Subject, Visit, each_subject, record_allocs};
use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use std::hint::black_box;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Barrier};
use std::thread::{self, Scope};
use std::time::{Duration, Instant};

/// Operations per allocation count.
const COUNTED_OPS: u64 = 100_000;

/// Operations run uncounted just before each count, so the count is of the steady state
/// even when a criterion filter skipped the timing (which would otherwise warm the pool).
const WARM_UP_OPS: u64 = 10_000;

/// Guards held out during scenario 7.
pub const OUTSTANDING: usize = 10_000;

/// The handoff channel's bound: `sync_channel` preallocates it, so the channel itself
/// allocates nothing per message and the counts are the pools'.
const CHANNEL_BOUND: usize = 64;

/// Times `subject`'s get / work / return cycle in `group`, then counts the allocations of
/// its steady state (after a warm-up) under `group_name`: the body of scenarios 1 and 7.
fn time_and_count_cycles<T: Object, S: Subject<T>>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    group_name: &str,
    subject: &S,
) {
    let mut i = 0u64;
    group.bench_function(subject.name(), |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            subject.cycle(i);
        })
    });
    for i in 0..WARM_UP_OPS {
        subject.cycle(i);
    }
    let ((), counts) = counting_alloc::measure(|| {
        for i in 0..COUNTED_OPS {
            subject.cycle(i);
        }
    });
    record_allocs(group_name, subject.name(), COUNTED_OPS, counts);
}

/// One scenario's criterion group, visiting every subject: what the scenario does with each
/// one is its [`Visit`] impl for `Run<'_, Scenario>`.
struct Run<'c, Scenario> {
    group: BenchmarkGroup<'c, WallTime>,
    name: String,
    scenario: Scenario,
}

impl<'c, Scenario> Run<'c, Scenario> {
    /// The group `group_name` of `c`.
    fn new(c: &'c mut Criterion, group_name: &str, scenario: Scenario) -> Self {
        Run {
            group: c.benchmark_group(group_name),
            name: group_name.to_owned(),
            scenario,
        }
    }

    /// Runs the scenario on every subject, then closes the group.
    fn each_subject<T: Object>(mut self)
    where
        Self: Visit<T>,
    {
        each_subject::<T>(&mut self);
        self.group.finish();
    }
}

/// Scenario 1: one thread, get / write a few bytes / return.
pub fn single_thread<T: Object>(c: &mut Criterion, group_name: &str) {
    Run::new(c, group_name, SingleThread).each_subject::<T>();
}

struct SingleThread;

impl<T: Object> Visit<T> for Run<'_, SingleThread> {
    fn visit<S: Subject<T>>(&mut self, make: impl FnOnce() -> S) {
        let subject = make();
        time_and_count_cycles(&mut self.group, &self.name, &subject);
    }
}

/// Scenario 2: `threads` threads on one pool, each in a get / write / return loop.
///
/// Reported as wall time per operation: the wall time for every thread to finish `iters`
/// operations, divided by `threads x iters`. Perfect scaling halves scenario 1's figure on
/// two threads. The threads live for the whole benchmark of one subject (they do not start
/// per sample), so pools that favour long-lived threads (regex-automata's owner slot, our
/// thread caches) are measured as a server would use them.
pub fn contention<T: Object>(c: &mut Criterion, group_name: &str, threads: usize) {
    Run::new(c, group_name, Contention { threads }).each_subject::<T>();
}

struct Contention {
    threads: usize,
}

impl<T: Object> Visit<T> for Run<'_, Contention> {
    fn visit<S: Subject<T>>(&mut self, make: impl FnOnce() -> S) {
        let subject = make();
        let work = |iters: u64| {
            for i in 0..iters {
                subject.cycle(i);
            }
        };
        let threads = self.scenario.threads;
        thread::scope(|scope| {
            let crew = Crew::start(scope, threads, &work);
            self.group.bench_function(subject.name(), |b| {
                b.iter_custom(|iters| crew.run(iters) / threads as u32)
            });
            crew.run(WARM_UP_OPS);
            let (_, counts) = counting_alloc::measure(|| crew.run(COUNTED_OPS));
            record_allocs(
                &self.name,
                subject.name(),
                COUNTED_OPS * threads as u64,
                counts,
            );
        });
    }
}

/// Scenario 3: the producer (the bench thread) gets and writes an object and sends it
/// through a bounded channel; the consumer reads it and returns it to the pool. Also the
/// channel alone, carrying a `u64`, as the cost to compare against.
pub fn handoff<T: Object>(c: &mut Criterion, group_name: &str) {
    let mut run = Run::new(c, group_name, Handoff);
    run_handoff(
        &mut run.group,
        group_name,
        "channel-alone",
        |i| i,
        |i| {
            black_box(i);
        },
    );
    run.each_subject::<T>();
}

struct Handoff;

impl<T: Object> Visit<T> for Run<'_, Handoff> {
    fn visit<S: Subject<T>>(&mut self, make: impl FnOnce() -> S) {
        let subject = make();
        if !S::HANDOFF {
            return;
        }
        let subject = &subject;
        run_handoff(
            &mut self.group,
            &self.name,
            subject.name(),
            |i| {
                let mut held = subject.take();
                S::object(&mut held).work(i);
                subject.to_msg(held)
            },
            |msg| subject.finish(msg),
        );
    }
}

/// A message or the end-of-batch marker the consumer acknowledges.
enum Item<M> {
    Msg(M),
    Flush,
}

fn run_handoff<'env, M: Send>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    scenario: &str,
    subject: &str,
    mut produce: impl FnMut(u64) -> M,
    consume: impl Fn(M) + Send + 'env,
) {
    thread::scope(|scope| {
        let (items, inbox) = sync_channel::<Item<M>>(CHANNEL_BOUND);
        let (ack, acks) = sync_channel::<()>(1);
        scope.spawn(move || {
            for item in inbox {
                match item {
                    Item::Msg(msg) => consume(msg),
                    Item::Flush => ack.send(()).unwrap(),
                }
            }
        });
        // Timed until the consumer has handled the last message: a batch is done when the
        // objects are back, not when they are queued. The flush round-trip is a constant
        // per sample, which criterion's slope over growing batches leaves out.
        let mut batch = |iters: u64| {
            let start = Instant::now();
            for i in 0..iters {
                items.send(Item::Msg(produce(i))).unwrap();
            }
            items.send(Item::Flush).unwrap();
            acks.recv().unwrap();
            start.elapsed()
        };
        group.bench_function(subject, |b| b.iter_custom(&mut batch));
        batch(WARM_UP_OPS);
        let (_, counts) = counting_alloc::measure(|| batch(COUNTED_OPS));
        record_allocs(scenario, subject, COUNTED_OPS, counts);
        drop(items); // ends the consumer
    });
}

/// Scenario 7: [`OUTSTANDING`] guards held out, then a get / write / return loop.
pub fn outstanding<T: Object>(c: &mut Criterion, group_name: &str) {
    Run::new(c, group_name, Outstanding).each_subject::<T>();
}

struct Outstanding;

impl<T: Object> Visit<T> for Run<'_, Outstanding> {
    fn visit<S: Subject<T>>(&mut self, make: impl FnOnce() -> S) {
        let subject = make();
        let held: Vec<S::Held<'_>> = (0..OUTSTANDING).map(|_| subject.take()).collect();
        time_and_count_cycles(&mut self.group, &self.name, &subject);
        for h in held {
            subject.give(h);
        }
    }
}

/// Scenario 8: one thread takes `size` objects, writes to each, and returns them all (a
/// request handler holding several objects at once, a batch job). Timed per object: a
/// criterion iteration is one get / write / return, run in whole batches.
pub fn batch<T: Object>(c: &mut Criterion, group_name: &str, size: usize) {
    Run::new(c, group_name, Batch { size }).each_subject::<T>();
}

struct Batch {
    size: usize,
}

impl<T: Object> Visit<T> for Run<'_, Batch> {
    fn visit<S: Subject<T>>(&mut self, make: impl FnOnce() -> S) {
        let subject = make();
        let size = self.scenario.size;
        // Made once, so the batch loop allocates nothing of its own.
        let mut held: Vec<S::Held<'_>> = Vec::with_capacity(size);
        let mut batches = |ops: u64| {
            let rounds = ops.div_ceil(size as u64).max(1);
            let start = Instant::now();
            for round in 0..rounds {
                for k in 0..size {
                    let mut h = subject.take();
                    S::object(&mut h).work(round.wrapping_add(k as u64));
                    held.push(h);
                }
                for h in held.drain(..) {
                    subject.give(h);
                }
            }
            // Per object: scaled to the `ops` criterion asked for.
            start
                .elapsed()
                .mul_f64(ops as f64 / (rounds * size as u64) as f64)
        };
        self.group
            .bench_function(subject.name(), |b| b.iter_custom(&mut batches));
        batches(WARM_UP_OPS);
        let (_, counts) = counting_alloc::measure(|| batches(COUNTED_OPS));
        record_allocs(&self.name, subject.name(), COUNTED_OPS, counts);
    }
}

/// Worker threads that live across samples and run a batch on command, all starting
/// together.
struct Crew {
    orders: Vec<SyncSender<u64>>,
    reports: Receiver<(Instant, Instant)>,
}

impl Crew {
    fn start<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        threads: usize,
        work: &'env (dyn Fn(u64) + Sync),
    ) -> Crew {
        let barrier = Arc::new(Barrier::new(threads));
        let (report, reports) = sync_channel(threads);
        let orders = (0..threads)
            .map(|_| {
                let (order, inbox) = sync_channel::<u64>(1);
                let barrier = Arc::clone(&barrier);
                let report = report.clone();
                scope.spawn(move || {
                    for iters in inbox {
                        barrier.wait();
                        let start = Instant::now();
                        work(iters);
                        report.send((start, Instant::now())).unwrap();
                    }
                });
                order
            })
            .collect();
        Crew { orders, reports }
    }

    /// Every thread runs `iters` operations; returns the wall time from the first start
    /// to the last finish.
    fn run(&self, iters: u64) -> Duration {
        for order in &self.orders {
            order.send(iters).unwrap();
        }
        let (mut first, mut last) = self.reports.recv().unwrap();
        for _ in 1..self.orders.len() {
            let (start, end) = self.reports.recv().unwrap();
            first = first.min(start);
            last = last.max(end);
        }
        last - first
    }
}

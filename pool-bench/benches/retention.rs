//! Issue 6's memory scenarios 4, 5 and 6 for our pool, the peers and the baselines: what a
//! pool keeps after a burst, after occasional oversized objects, and after many short-lived
//! threads. These are counts, not timings, so this is a report program (`harness = false`)
//! rather than a criterion bench: `cargo bench -p pool-bench --bench retention` prints the
//! tables and writes them to `target/tmp/pool-bench/retention.csv` for
//! `pool-bench/scripts/bench_report.py`.
//!
//! Every figure comes from the counting global allocator:
//! - retained bytes: heap bytes allocated and not freed since just before the pool was made
//!   (so its own structure counts, as does anything it prefills);
//! - retained objects: live blocks of exactly 4096 bytes, the pooled buffers;
//! - large blocks: live blocks of 1 MiB or more (scenario 5's outliers).

mod support;

use std::alloc::System;
use std::fmt::Write as _;
use std::fs;
use std::thread;
use support::counting_alloc::{self, Counting, Snapshot};
use support::{CAP, Object, Subject, Visit, each_subject, subjects::Ours};

// Counting is on for the whole program: live bytes must see every allocation and free.
#[global_allocator]
static ALLOC: Counting<System> = Counting::new(System);

/// Scenario 4: objects held at once in the burst.
const BURST: usize = 10_000;

/// Scenario 5: batches of objects held at once, each object used once per batch; every
/// hundredth use grows its buffer to 1 MiB.
const OVERSIZED_ROUNDS: usize = 300;
const OVERSIZED_BATCH: usize = 32;
const OVERSIZED_EVERY: usize = 100;
const ONE_MIB: usize = 1 << 20;

/// Scenario 6: threads started, how many run at once, and what each does.
const CHURN_THREADS: usize = 1_000;
const CHURN_AT_ONCE: usize = 4;
const CHURN_HELD: usize = 4;
const CHURN_CYCLES: u64 = 16;

/// One line of the retention table.
struct Row {
    scenario: &'static str,
    subject: &'static str,
    phase: &'static str,
    bytes: i64,
    objects: i64,
    large: i64,
    note: String,
}

/// Collects rows and prints them as they come.
struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn add(
        &mut self,
        scenario: &'static str,
        subject: &'static str,
        phase: &'static str,
        since: &Snapshot,
        note: impl Into<String>,
    ) {
        let now = counting_alloc::snapshot();
        let row = Row {
            scenario,
            subject,
            phase,
            bytes: now.live_bytes() - since.live_bytes(),
            objects: now.live_tracked() - since.live_tracked(),
            large: now.live_large() - since.live_large(),
            note: note.into(),
        };
        println!(
            "{:<4} {:<18} {:<26} {:>12} B {:>7} objects {:>4} large  {}",
            row.scenario, row.subject, row.phase, row.bytes, row.objects, row.large, row.note
        );
        self.rows.push(row);
    }
}

/// Scenario 4: a burst of [`BURST`] objects held at once, all returned, then the pool's own
/// means of releasing idle memory, then one more use on the same thread.
struct BurstThenIdle<'r>(&'r mut Report);

impl<T: Object> Visit<T> for BurstThenIdle<'_> {
    fn visit<S: Subject<T>>(&mut self, make: impl FnOnce() -> S) {
        let start = counting_alloc::snapshot();
        let subject = make();
        let name = subject.name();
        let held: Vec<_> = (0..BURST)
            .map(|i| {
                let mut held = subject.take();
                S::object(&mut held).work(i as u64);
                held
            })
            .collect();
        self.0.add("s4", name, "burst, all held", &start, "");
        for held in held {
            subject.give(held);
        }
        self.0.add("s4", name, "after the burst", &start, "");
        let means = subject.release_idle();
        self.0.add("s4", name, "after release", &start, means);
        // A pool may age its thread caches on their next use (ours does): one more get and
        // return on the burst thread shows what the release left for good.
        subject.cycle(0);
        let stats = subject.stats_line().unwrap_or_default();
        self.0
            .add("s4", name, "after release + 1 use", &start, stats);
    }
}

/// Scenario 5: batches of [`OVERSIZED_BATCH`] objects; one use in [`OVERSIZED_EVERY`] grows
/// its buffer to 1 MiB. What the pool holds afterwards.
struct Oversized<'r>(&'r mut Report);

impl<T: Object> Visit<T> for Oversized<'_> {
    fn visit<S: Subject<T>>(&mut self, make: impl FnOnce() -> S) {
        let start = counting_alloc::snapshot();
        let subject = make();
        let name = subject.name();
        let mut op = 0usize;
        for _ in 0..OVERSIZED_ROUNDS {
            let batch: Vec<_> = (0..OVERSIZED_BATCH)
                .map(|_| {
                    let mut held = subject.take();
                    let object = S::object(&mut held);
                    object.work(op as u64);
                    op += 1;
                    if op.is_multiple_of(OVERSIZED_EVERY) {
                        object.grow_to(ONE_MIB);
                    }
                    held
                })
                .collect();
            for held in batch {
                subject.give(held);
            }
        }
        let stats = subject.stats_line().unwrap_or_default();
        self.0.add("s5", name, "after 9,600 uses", &start, stats);
    }
}

/// Scenario 6: [`CHURN_THREADS`] short-lived threads, [`CHURN_AT_ONCE`] at a time, each
/// holding [`CHURN_HELD`] objects and then cycling. What the pool holds once all have
/// exited (measured from a thread that never used the pool).
struct ThreadChurn<'r>(&'r mut Report);

impl<T: Object> Visit<T> for ThreadChurn<'_> {
    fn visit<S: Subject<T>>(&mut self, make: impl FnOnce() -> S) {
        let start = counting_alloc::snapshot();
        let subject = make();
        let name = subject.name();
        let subject = &subject;
        for _ in 0..CHURN_THREADS / CHURN_AT_ONCE {
            thread::scope(|scope| {
                for _ in 0..CHURN_AT_ONCE {
                    scope.spawn(|| {
                        let held: Vec<_> = (0..CHURN_HELD).map(|_| subject.take()).collect();
                        for held in held {
                            subject.give(held);
                        }
                        for i in 0..CHURN_CYCLES {
                            subject.cycle(i);
                        }
                    });
                }
            });
        }
        let stats = subject.stats_line().unwrap_or_default();
        self.0
            .add("s6", name, "after 1,000 threads exited", &start, stats);
    }
}

fn main() {
    counting_alloc::track_size(CAP);
    counting_alloc::enable();
    let mut report = Report { rows: Vec::new() };

    println!("== scenario 4: burst of {BURST} x 4 KiB, then idle");
    each_subject::<Vec<u8>>(&mut BurstThenIdle(&mut report));

    println!("\n== scenario 5: 1 use in {OVERSIZED_EVERY} grows to 1 MiB");
    each_subject::<Vec<u8>>(&mut Oversized(&mut report));
    Oversized(&mut report).visit(Ours::<Vec<u8>>::unlimited);

    println!("\n== scenario 6: {CHURN_THREADS} short-lived threads, {CHURN_AT_ONCE} at a time");
    each_subject::<Vec<u8>>(&mut ThreadChurn(&mut report));

    let mut csv = String::from("scenario,subject,phase,bytes,objects,large,note\n");
    for row in &report.rows {
        let note = row.note.replace('"', "'");
        writeln!(
            csv,
            "{},{},\"{}\",{},{},{},\"{note}\"",
            row.scenario, row.subject, row.phase, row.bytes, row.objects, row.large
        )
        .unwrap();
    }
    let path = support::results_dir().join("retention.csv");
    fs::write(&path, csv).expect("write the retention table");
    support::write_run_info("retention", "allocator=system");
    println!("\nretention table written to {}", path.display());
}

//! Shared by the bench targets: the pooled objects, every pool behind one interface
//! ([`Subject`]), the scenarios, and where results are written.
//!
//! Fairness rules (shared/notes/rust-peers.md 4c), enforced here rather than in each bench:
//! - every pool makes objects with the same starting capacity ([`Object::fresh`]), and the
//!   pools that can only make empty objects (poolshark, sharded-slab) reserve it on checkout;
//! - every pool does the same reset work ([`Object::clear_all`]): through its own reset hook
//!   where it has one, by hand before returning where it has none;
//! - pools that take limits get the same ones: [`MAX_IDLE`] objects, [`MAX_OBJECT`] bytes.
#![allow(dead_code, reason = "each bench target uses part of this module")]

pub mod objects;
pub mod scenarios;
pub mod subjects;

#[path = "../../../examples/support/counting_alloc.rs"]
pub mod counting_alloc;

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

pub use objects::Object;
pub use subjects::{Subject, Visit, each_subject};

/// Starting capacity of the pooled byte buffer (and the size whose live blocks count as
/// "retained objects").
pub const CAP: usize = 4096;

/// The largest object a pool keeps, for the pools that can be told (ours:
/// `max_object_bytes`; opool: `is_valid`; poolshark: `max_elt`): 16x the starting capacity,
/// so ordinary use never hits it and a 1 MiB outlier does.
pub const MAX_OBJECT: usize = 16 * CAP;

/// How many idle objects the pools that need a count bound (opool, poolshark) keep: poolshark's
/// own default. Ours and the rest have no count bound by default.
pub const MAX_IDLE: usize = 1024;

/// Where the bench targets write what criterion does not record (allocation counts,
/// retention tables), for `pool-bench/scripts/bench_report.py`.
pub fn results_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pool-bench");
    fs::create_dir_all(&dir).expect("create the results directory");
    dir
}

/// One allocation measurement: `ops` operations of `subject` in `scenario`.
#[derive(Clone, Debug)]
pub struct AllocRow {
    /// The criterion group the timing is filed under.
    pub scenario: String,
    /// The pool, as named in the criterion ids.
    pub subject: String,
    /// Operations counted.
    pub ops: u64,
    /// What the allocator saw during them.
    pub counts: counting_alloc::Snapshot,
}

static ALLOC_ROWS: Mutex<Vec<AllocRow>> = Mutex::new(Vec::new());

/// Files an allocation measurement and prints it, so the run's log shows it beside criterion's
/// timings.
pub fn record_allocs(scenario: &str, subject: &str, ops: u64, counts: counting_alloc::Snapshot) {
    println!(
        "{scenario}/{subject}: {:.4} allocations/op, {:.1} bytes allocated/op ({ops} ops counted)",
        counts.allocs as f64 / ops as f64,
        counts.bytes_allocated as f64 / ops as f64,
    );
    ALLOC_ROWS.lock().unwrap().push(AllocRow {
        scenario: scenario.to_owned(),
        subject: subject.to_owned(),
        ops,
        counts,
    });
}

/// Writes the allocation measurements of this bench target to `<results>/<target>-allocs.csv`.
pub fn write_allocs(target: &str) {
    let path = results_dir().join(format!("{target}-allocs.csv"));
    let mut out = fs::File::create(&path).expect("create the allocation table");
    writeln!(out, "scenario,subject,ops,allocs,bytes_allocated").unwrap();
    for row in ALLOC_ROWS.lock().unwrap().iter() {
        writeln!(
            out,
            "{},{},{},{},{}",
            row.scenario, row.subject, row.ops, row.counts.allocs, row.counts.bytes_allocated
        )
        .unwrap();
    }
    println!("allocation counts written to {}", path.display());
}

/// Records when and how this bench target ran, so the report can refuse stale criterion data.
pub fn write_run_info(target: &str, settings: &str) {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let path = results_dir().join(format!("{target}-run.txt"));
    fs::write(&path, format!("started={since_epoch}\n{settings}\n")).expect("write run info");
}

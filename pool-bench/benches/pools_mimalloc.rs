//! Scenario 1 of BENCHMARKS.md again, with mimalloc as the global allocator: how much of a pool's
//! advantage over fresh allocation a faster allocator takes away.
//!
//! Run with `cargo bench -p pool-bench --bench pools_mimalloc`. Groups: `s1_vec4k_mimalloc`,
//! `s1_record_mimalloc`.

mod support;

use criterion::Criterion;
use mimalloc::MiMalloc;
use std::time::Duration;
use support::counting_alloc::Counting;
use support::objects::Record;
use support::scenarios;

// Counting is off while criterion times, as in the `pools` bench.
#[global_allocator]
static ALLOC: Counting<MiMalloc> = Counting::new(MiMalloc);

fn main() {
    support::write_run_info("pools_mimalloc", "allocator=mimalloc");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    scenarios::single_thread::<Vec<u8>>(&mut c, "s1_vec4k_mimalloc");
    scenarios::single_thread::<Record>(&mut c, "s1_record_mimalloc");
    c.final_summary();
    support::write_allocs("pools_mimalloc");
}

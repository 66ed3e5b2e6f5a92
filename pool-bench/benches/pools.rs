//! Criterion timings of BENCHMARKS.md's scenarios 1, 2, 3, 7 and 8, with allocation counts, for our
//! pool, the peers and the two baselines, under the system allocator.
//!
//! Run with `cargo bench -p pool-bench --bench pools`; `POOL_BENCH_THREADS` sets scenario 2's
//! thread count (default 2, this machine's core count). Scenario groups: `s1_vec4k`,
//! `s1_record`, `s2_threads<N>`, `s3_handoff`, `s7_outstanding`, `s8_batch8`, `s8_batch64`.
//! See BENCHMARKS.md for the results.

mod support;

use criterion::Criterion;
use std::alloc::System;
use std::time::Duration;
use support::counting_alloc::Counting;
use support::objects::Record;
use support::scenarios;

// Counting is off while criterion times; the scenarios switch it on only for their
// allocation counts.
#[global_allocator]
static ALLOC: Counting<System> = Counting::new(System);

fn main() {
    let threads: usize = std::env::var("POOL_BENCH_THREADS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(2);
    support::write_run_info("pools", &format!("threads={threads}\nallocator=system"));
    let mut c = criterion();
    scenarios::single_thread::<Vec<u8>>(&mut c, "s1_vec4k");
    scenarios::single_thread::<Record>(&mut c, "s1_record");
    scenarios::contention::<Vec<u8>>(&mut c, &format!("s2_threads{threads}"), threads);
    scenarios::handoff::<Vec<u8>>(&mut c, "s3_handoff");
    scenarios::outstanding::<Vec<u8>>(&mut c, "s7_outstanding");
    // Within our default thread cache (16 objects), and four times past it.
    scenarios::batch::<Vec<u8>>(&mut c, "s8_batch8", 8);
    scenarios::batch::<Vec<u8>>(&mut c, "s8_batch64", 64);
    c.final_summary();
    support::write_allocs("pools");
}

/// Shorter than criterion's defaults (3 s warm-up, 5 s measurement) so the whole suite of
/// about 60 benchmarks runs in a few minutes on a 2-core machine; 50 samples still give a
/// slope and confidence interval per benchmark.
fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args()
}

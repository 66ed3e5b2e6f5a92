//! The seed experiment, in Rust: 50 threads x 20,000 operations, each serializing a
//! `HashMap<String, i64>` to JSON into a byte buffer, once with a fresh buffer per operation
//! and once with buffers from a [`Pool`]. Prints, like the seed's Go program printed
//! `Mallocs` and `TotalAlloc`, how many allocations and bytes each way cost.
//!
//! ```text
//! cargo run --release --example serializer
//! ```
//!
//! The counts come from a counting global allocator (`examples/support/counting_alloc.rs`),
//! switched on only while each variant runs.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, Snapshot};
use pool_core::Pool;
use std::alloc::System;
use std::collections::HashMap;
use std::hint::black_box;
use std::io::Write as _;
use std::sync::{Barrier, LazyLock};
use std::thread;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: Counting<System> = Counting::new(System);

/// As in the seed: 50 goroutines (here threads) x 20,000 iterations.
const THREADS: usize = 50;
const OPS_PER_THREAD: usize = 20_000;
/// The seed's `bufCap`: every buffer starts with this capacity, pooled or not.
const BUF_CAP: usize = 1024;
/// Rounds of each variant; the table shows the best wall time.
const ROUNDS: usize = 3;

/// The pooled buffers. A `static` pool works too (`Pool::new()` is `const`); `with_init`
/// gives the pooled buffers the same starting capacity as the fresh ones.
static BUFFERS: LazyLock<Pool<Vec<u8>>> =
    LazyLock::new(|| Pool::with_init(|| Vec::with_capacity(BUF_CAP)));

/// Writes `map` as `{"data":{"key":value,...}}`, the shape of the seed's `JsonMar1`, escaping
/// keys as JSON requires. Writing into a `Vec<u8>` with `write!` allocates only if the vector
/// must grow.
fn write_json(out: &mut Vec<u8>, map: &HashMap<String, i64>) {
    out.extend_from_slice(b"{\"data\":{");
    for (n, (key, value)) in map.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_json_string(out, key);
        write!(out, ":{value}").expect("writing to a Vec cannot fail");
    }
    out.extend_from_slice(b"}}");
}

fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &byte in s.as_bytes() {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0..0x20 => write!(out, "\\u{byte:04x}").expect("writing to a Vec cannot fail"),
            _ => out.push(byte),
        }
    }
    out.push(b'"');
}

/// One thread's map: a few request counters, updated in place each operation (no
/// allocation), so what the variants differ in is the buffer.
fn thread_map(thread: usize) -> HashMap<String, i64> {
    let keys = [
        "user_id",
        "requests",
        "bytes_in",
        "bytes_out",
        "errors",
        "latency_us",
        "op",
    ];
    keys.iter()
        .enumerate()
        .map(|(i, key)| (key.to_string(), (thread * 10 + i) as i64))
        .collect()
}

/// Where each operation's buffer comes from.
#[derive(Clone, Copy)]
enum Variant {
    Fresh,
    Pooled,
}

/// What one variant cost.
struct Outcome {
    wall: Duration,
    counts: Snapshot,
    output_bytes: usize,
}

fn run(variant: Variant) -> Outcome {
    let start_line = Barrier::new(THREADS);
    let ((wall, output_bytes), counts) = counting_alloc::measure(|| {
        let started = Instant::now();
        let output_bytes: usize = thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let start_line = &start_line;
                    scope.spawn(move || {
                        let mut map = thread_map(t);
                        start_line.wait();
                        let mut total = 0;
                        for i in 0..OPS_PER_THREAD {
                            *map.get_mut("op").expect("the map has an op key") = i as i64;
                            total += match variant {
                                Variant::Fresh => {
                                    let mut buf = Vec::with_capacity(BUF_CAP);
                                    write_json(&mut buf, &map);
                                    black_box(&buf).len()
                                } // the buffer is freed here
                                Variant::Pooled => {
                                    let mut buf = BUFFERS.get();
                                    write_json(&mut buf, &map);
                                    black_box(&*buf).len()
                                } // the guard clears the buffer and returns it here
                            };
                        }
                        total
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        (started.elapsed(), output_bytes)
    });
    Outcome {
        wall,
        counts,
        output_bytes,
    }
}

/// The later round's counts with the lower of the two wall times.
fn best_of(earlier: Outcome, later: Outcome) -> Outcome {
    Outcome {
        wall: earlier.wall.min(later.wall),
        ..later
    }
}

fn main() {
    let ops = (THREADS * OPS_PER_THREAD) as f64;
    println!(
        "Serializing a HashMap<String, i64> (7 entries) to JSON: {THREADS} threads x {OPS_PER_THREAD} ops = {} ops, {BUF_CAP}-byte buffers\n",
        THREADS * OPS_PER_THREAD
    );
    // Warm the pool's statics and the allocator once so neither variant pays for it.
    drop(BUFFERS.get());

    // Three rounds, alternating, keeping the best wall time of each: the machine may be busy
    // with other work, and the best run is the least disturbed. Counts barely vary between
    // rounds; the table shows the last round's.
    let mut fresh = run(Variant::Fresh);
    let mut pooled = run(Variant::Pooled);
    for _ in 1..ROUNDS {
        fresh = best_of(fresh, run(Variant::Fresh));
        pooled = best_of(pooled, run(Variant::Pooled));
    }
    assert_eq!(
        fresh.output_bytes, pooled.output_bytes,
        "both variants write the same JSON"
    );

    println!(
        "{:<26} {:>10} {:>13} {:>16} {:>11} {:>11}",
        "variant", "best wall", "allocations", "bytes allocated", "allocs/op", "bytes/op"
    );
    for (name, outcome) in [
        ("fresh Vec per op", &fresh),
        ("pool_core::Pool<Vec<u8>>", &pooled),
    ] {
        println!(
            "{:<26} {:>8.1}ms {:>13} {:>16} {:>11.4} {:>11.2}",
            name,
            outcome.wall.as_secs_f64() * 1e3,
            outcome.counts.allocs,
            outcome.counts.bytes_allocated,
            outcome.counts.allocs as f64 / ops,
            outcome.counts.bytes_allocated as f64 / ops,
        );
    }
    println!(
        "\n{} bytes of JSON written each way. Allocations counted in all threads, thread \
         start-up included (the pooled run's few are mostly that).",
        pooled.output_bytes
    );
    println!("pool: {}", BUFFERS.stats());
}

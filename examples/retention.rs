//! The retention report: how many idle objects a pool still holds after 0, 1 and 2 sweeps,
//! wherever the objects were left: in the sweeping thread's own cache, in the caches of
//! live threads that went quiet, and in the caches of thousands of threads that exited.
//! Each scenario runs twice: sweeps called by hand, and sweeps by the aging thread alone
//! (`age_every`, nobody calling the pool).
//!
//! ```text
//! cargo run --release --example retention
//! ```
//!
//! Target: nothing idle after two sweeps, in every row.

use pool_core::Pool;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const OBJECT_BYTES: usize = 64 * 1024;
const PER_THREAD: usize = 16;
const QUIET_THREADS: usize = 8;
const CHURNED: usize = 10_000;
const ALIVE_AT_ONCE: usize = 50;
const AGING: Duration = Duration::from_millis(20);

type Buffers = Arc<Pool<Vec<u8>>>;

/// Idle objects and MiB after 0, 1 and 2 sweeps.
type Retention = [(usize, f64); 3];

/// A scenario: leaves objects somewhere, then reports what stays through the sweeps (by
/// hand, or by the aging thread when given `true`).
type Scenario = fn(bool) -> Retention;

fn pool(aging: bool) -> Buffers {
    let builder = Pool::builder().init(|| Vec::with_capacity(OBJECT_BYTES));
    Arc::new(if aging {
        builder.age_every(AGING).build()
    } else {
        builder.build()
    })
}

/// Gets `PER_THREAD` objects at once and returns them: they end up in this thread's cache
/// (and, past its 16, the depot).
fn use_some(pool: &Pool<Vec<u8>>) {
    let held: Vec<_> = (0..PER_THREAD)
        .map(|_| {
            let mut buf = pool.get();
            buf.resize(OBJECT_BYTES, 1);
            buf
        })
        .collect();
    drop(held);
}

/// What the pool holds idle: objects and MiB.
fn idle(pool: &Pool<Vec<u8>>) -> (usize, f64) {
    let stats = pool.stats();
    (stats.idle, stats.idle_bytes as f64 / f64::from(1 << 20))
}

/// Idle after 0, 1 and 2 sweeps: by hand, or by waiting for the aging thread.
fn after_sweeps(pool: &Pool<Vec<u8>>, aging: bool) -> Retention {
    let mut rows = [idle(pool), (0, 0.0), (0, 0.0)];
    let start = pool.stats().sweeps;
    for (n, row) in rows.iter_mut().enumerate().skip(1) {
        if aging {
            let deadline = Instant::now() + Duration::from_secs(10);
            while pool.stats().sweeps < start + n as u64 && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
        } else {
            pool.sweep();
        }
        *row = idle(pool);
    }
    rows
}

/// The sweeping thread's own cache.
fn sweeping_thread(aging: bool) -> Retention {
    let pool = pool(aging);
    use_some(&pool);
    after_sweeps(&pool, aging)
}

/// Live threads that used the pool once and went quiet (blocked, never calling it again).
fn quiet_threads(aging: bool) -> Retention {
    let pool = pool(aging);
    let used = Arc::new(Barrier::new(QUIET_THREADS + 1));
    let (wake, woken) = mpsc::channel::<()>();
    let woken = Arc::new(std::sync::Mutex::new(woken));
    let threads: Vec<_> = (0..QUIET_THREADS)
        .map(|_| {
            let (pool, used, woken) = (Arc::clone(&pool), Arc::clone(&used), Arc::clone(&woken));
            thread::spawn(move || {
                use_some(&pool);
                used.wait();
                let _ = woken.lock().map(|woken| woken.recv());
            })
        })
        .collect();
    used.wait();
    let rows = after_sweeps(&pool, aging);
    drop(wake);
    for thread in threads {
        thread.join().unwrap();
    }
    rows
}

/// Thousands of short-lived threads, some alive at once, all exited before the sweeps.
fn churned_threads(aging: bool) -> Retention {
    let pool = pool(aging);
    for _ in 0..CHURNED / ALIVE_AT_ONCE {
        let wave: Vec<_> = (0..ALIVE_AT_ONCE)
            .map(|_| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || use_some(&pool))
            })
            .collect();
        for thread in wave {
            thread.join().unwrap();
        }
    }
    after_sweeps(&pool, aging)
}

fn main() {
    println!(
        "Idle objects (and MiB) after 0, 1 and 2 sweeps; objects of {} KiB, {PER_THREAD} per thread \
         (default thread cache: 16)\n",
        OBJECT_BYTES / 1024
    );
    println!(
        "{:<58} {:>16} {:>16} {:>16}  target",
        "where the objects were left", "0 sweeps", "1 sweep", "2 sweeps"
    );
    let scenarios: [(&str, Scenario); 3] = [
        ("the sweeping thread's cache", sweeping_thread),
        ("8 live threads that went quiet", quiet_threads),
        ("10,000 threads churned, 50 alive at once", churned_threads),
    ];
    let mut all_met = true;
    for aging in [false, true] {
        for (name, scenario) in scenarios {
            let rows = scenario(aging);
            let met = rows[2].0 == 0;
            all_met &= met;
            let how = if aging { "age_every(20ms)" } else { "sweep()" };
            println!(
                "{:<58} {:>16} {:>16} {:>16}  {}",
                format!("{name}, {how}"),
                format!("{} ({:.1})", rows[0].0, rows[0].1),
                format!("{} ({:.1})", rows[1].0, rows[1].1),
                format!("{} ({:.1})", rows[2].0, rows[2].1),
                if met { "met" } else { "MISSED" },
            );
        }
    }
    println!(
        "\nA sweep turns every level (each thread's cache, the shared depot) into victims and \
         drops the previous victims; on Linux it reclaims the caches of quiet and exited threads \
         itself (a membarrier handshake). Target: zero after two sweeps: {}.",
        if all_met {
            "met in every row"
        } else {
            "MISSED"
        }
    );
}

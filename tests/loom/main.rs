//! The loom models of the pool's own code, one module each. Run with `.ci/loom.sh`.
//!
//! pool-core is built with `--cfg loom` as well, so its `sync` shim hands the pool loom's
//! mutexes, atomics, cells and thread-locals, and loom explores the interleavings of the
//! real code. The fixtures the models share (the runner that reports each model's
//! iteration count, the recording object, `cycle`) are in `tests/support/loom_model.rs`.

// Without `--cfg loom` (a plain `cargo test`) the models are left out and this target says
// how to run them.
#[cfg(not(loom))]
#[test]
#[ignore = "loom model: run with .ci/loom.sh (RUSTFLAGS=\"--cfg loom\")"]
fn needs_cfg_loom() {}

#[cfg(loom)]
#[path = "../support/mod.rs"]
mod support;

#[cfg(loom)]
mod pool;
#[cfg(loom)]
mod reclaim;
#[cfg(loom)]
mod stateful;
#[cfg(loom)]
mod sweep;
#[cfg(loom)]
mod victim;

#!/usr/bin/env bash
# Loom models of the pool's own code (tests/loom/). pool-core is compiled with
# `--cfg loom` too, so its `sync` shim hands the pool loom's mutexes, atomics and cells.
#
#   --cfg loom                 switches the shim and enables the models (`#[cfg(loom)]`; without
#                              it the target has one ignored test that points here)
#   -C debug-assertions=on     keeps the pool's debug_asserts in the optimised build
#   --release                  loom explores thousands of interleavings; debug is ~10x slower
#   LOOM_MAX_PREEMPTIONS=2     the usual bound (tokio, crossbeam): exhaustive beyond it is hours
#   CARGO_TARGET_DIR           --cfg loom changes every crate's flags: a separate target dir
#                              keeps it from invalidating the normal build cache
#   --nocapture                prints each model's iteration count and time
#
# Two targets are built and run: the loom test target (models of the pool through its API)
# and, filtered to `loom_model`, pool-core's unit tests (models of internal protocols on
# their real types, such as sweeping.rs's wait for sweeps in flight). Doctests and the other
# tests cannot run under `--cfg loom` (loom's types panic outside a model).
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
RUSTFLAGS="--cfg loom -C debug-assertions=on" \
LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}" \
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}" \
    cargo test --release --test loom -- --nocapture "$@"
RUSTFLAGS="--cfg loom -C debug-assertions=on" \
LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}" \
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}" \
    cargo test --release -p pool-core --lib loom_model -- --nocapture "$@"
echo "loom: all models passed in $((SECONDS - start)) s (build included)"

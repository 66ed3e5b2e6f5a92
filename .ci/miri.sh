#!/usr/bin/env bash
# Miri: runs pool-core's unit tests and the integration tests under the interpreter, which
# reports undefined behaviour (use after free, double drop, aliasing violations, data races)
# in the pool's unsafe code: thread_cache.rs's state cell and its hand-over between owner and
# reclaimer, registry.rs's memo of cache pointers, guard.rs's ManuallyDrop::take, the
# bytes feature's BufMut for buffers, and the pools' close on drop.
#
# Also the doctests of pool-core (its README, the derive's attribute reference, every
# item's examples). Skipped: tests/compiletest.rs
# (trybuild runs cargo: `#[cfg_attr(miri, ignore)]`), tests/test_props.rs (proptest is too
# slow: ignored under miri), and the loom models (cfg(loom) only). Thread-heavy and long
# tests scale down with `cfg!(miri)` (test_threads.rs, test_stress.rs). About 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup component add --toolchain nightly miri rust-src; then
    echo ".ci/miri.sh: could not install miri on the nightly toolchain (rustup component add" >&2
    echo "  --toolchain nightly miri rust-src failed); the miri step cannot run." >&2
    exit 1
fi

# -Zmiri-strict-provenance       integer-to-pointer casts are errors: every pointer the
#                                pool's unsafe code uses must keep the provenance it came from
# -Zmiri-symbolic-alignment-check  alignment is checked against the type's requirement, not
#                                the address miri happened to pick, so a misaligned access
#                                cannot pass by luck
# Isolation stays on (no -Zmiri-disable-isolation): the tests need no host files or
# environment; clocks and sleeps use miri's virtual clock, randomness its seeded RNG.
export MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-symbolic-alignment-check"

start=$SECONDS
cargo +nightly miri test -p pool-core --lib
cargo +nightly miri test -p pool-core --doc
cargo +nightly miri test -p pool-tests --tests -- --skip automatic_aging
# The aging thread is process-wide and never exits, by design; miri reports any thread
# still running when main returns, so this one test runs alone with that check off
# (-Zmiri-ignore-leaks also stops reporting leaked memory: hence only here).
MIRIFLAGS="$MIRIFLAGS -Zmiri-ignore-leaks" \
    cargo +nightly miri test -p pool-tests --test test_threads -- automatic_aging
echo "miri: passed in $((SECONDS - start)) s"

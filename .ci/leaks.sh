#!/usr/bin/env bash
# Leak check: every integration test binary (and pool-core's unit tests) under valgrind.
# (pool-derive's unit tests are skipped: a proc-macro crate's tests link libstd.so.)
# A definite leak (memory nothing points to any more) or any memory error fails the run.
# "Still reachable" memory is not a leak here: the aging thread and its registry are
# process-wide and live until exit by design.
#
# The test binaries run directly, not through cargo (valgrind would otherwise trace
# cargo). Skipped: compiletest (trybuild runs cargo and rustc) and the loom models
# (without --cfg loom, one ignored test). The stress and property tests run shorter
# under valgrind, which runs threads one at a time and ~30x slower.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq valgrind
fi

# The same debug build as `cargo test --workspace`, so CI does not build twice.
mapfile -t binaries < <(
    cargo test --workspace --no-run --message-format=json 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") != "compiler-artifact" or not message.get("executable"):
        continue
    name = message["target"]["name"]
    if "proc-macro" in message["target"]["kind"]:
        continue  # pool-derive: runs only as part of the compiler, and links libstd.so
    if message["profile"]["test"] and name not in ("compiletest", "loom"):
        print(message["executable"])
'
)
if [ "${#binaries[@]}" -eq 0 ]; then
    echo ".ci/leaks.sh: found no test binaries" >&2
    exit 1
fi

export POOL_STRESS_OPS=5000 PROPTEST_CASES=64
start=$SECONDS
for binary in "${binaries[@]}"; do
    echo "--- valgrind $(basename "$binary")"
    valgrind --quiet --leak-check=full --show-leak-kinds=definite \
        --errors-for-leak-kinds=definite --error-exitcode=1 "$binary" --quiet
done
echo "leaks: ${#binaries[@]} test binaries clean under valgrind in $((SECONDS - start)) s"

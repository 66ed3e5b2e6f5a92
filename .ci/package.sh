#!/usr/bin/env bash
# Packaging check: pool-core and pool-derive as crates.io would receive them.
#
# 1. Copies that must match their source. Each crate's package holds only its own directory,
#    so the licenses (source: LICENSE-MIT and LICENSE-APACHE at the root) and the derive's doc
#    page (source: pool-derive/doc/reset.md, whose examples pool-core runs as doctests from
#    pool-core/doc/reset.md) are copied in. The root README.md's Rust example must be one of
#    pool-core/README.md's, which are doctests; the root README itself is not packaged.
# 2. `cargo publish --dry-run --workspace`: packages both crates and builds each package;
#    pool-core is verified against the packaged pool-derive, as it is not on crates.io yet.
#    Extra arguments go to it (`.ci/package.sh --allow-dirty` with uncommitted changes).
# 3. The packaged crates alone, unpacked outside the repository: pool-core runs its doctests
#    and both build their docs the way docs.rs does (all features, `--cfg docsrs`), with
#    warnings as errors. pool-derive is patched to its unpacked package (a `[patch]` given
#    with --config), as crates.io would supply it.
set -euo pipefail
cd "$(dirname "$0")/.."

failed=0
mismatch() {
    echo ".ci/package.sh: $1" >&2
    failed=1
}
for crate in pool-core pool-derive; do
    for license in LICENSE-MIT LICENSE-APACHE; do
        cmp -s "$license" "$crate/$license" ||
            mismatch "$crate/$license differs from $license (cp $license $crate/)"
    done
done
cmp -s pool-derive/doc/reset.md pool-core/doc/reset.md ||
    mismatch "pool-core/doc/reset.md differs from pool-derive/doc/reset.md (copy it over)"
python3 - <<'EOF' || failed=1
import re, sys
block = re.compile(r"^```rust\n(.*?)^```$", re.S | re.M)
root = block.findall(open("README.md").read())
crate = open("pool-core/README.md").read()
missing = [b for b in root if "```rust\n" + b + "```" not in crate]
for b in missing:
    print(".ci/package.sh: a Rust example of README.md is not in pool-core/README.md, whose "
          "examples run as doctests:\n" + b, file=sys.stderr)
sys.exit(1 if missing else 0)
EOF
if [ "$failed" -ne 0 ]; then
    exit 1
fi

cargo publish --dry-run --workspace "$@"
# The same .crate files again, where `cargo package` puts them (the dry run of several
# crates leaves them in a temporary registry): no second verification build.
cargo package -p pool-derive -p pool-core --no-verify "$@"

target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
version=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "pool-core"))')
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
for crate in pool-derive pool-core; do
    tar -xzf "$target/package/$crate-$version.crate" -C "$unpacked"
done
patch="patch.crates-io.pool-derive.path=\"$unpacked/pool-derive-$version\""
# Kept between runs, apart from the workspace's own builds.
export CARGO_TARGET_DIR="$target/package-check"
# As docs.rs builds them: nightly (the feature badges use `doc_cfg`), every feature,
# `--cfg docsrs`. Nightly is the toolchain miri needs too (.ci/miri.sh).
docs_rs="--cfg docsrs -D warnings"
(
    cd "$unpacked/pool-core-$version"
    cargo test --doc --all-features --config "$patch"
    RUSTDOCFLAGS="$docs_rs" cargo +nightly doc --no-deps --all-features --config "$patch"
)
(
    cd "$unpacked/pool-derive-$version"
    RUSTDOCFLAGS="$docs_rs" cargo +nightly doc --no-deps --all-features
)
echo "package: pool-derive and pool-core $version package, document and doctest on their own"

//! Compile-fail and compile-pass cases for `#[derive(Reset)]` and the pool API.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test compiletest`
//! and read the diff: every message must name the offending field or item and the fix.

#[cfg_attr(miri, ignore = "trybuild cannot run under miri")]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/derive/*.rs");
    t.compile_fail("tests/ui/api/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

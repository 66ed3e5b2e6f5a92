//! `#[derive(Reset)]` for [`pool-core`](https://docs.rs/pool-core).
//!
//! Use it through `pool_core`, which re-exports it (feature `derive`, on by default):
//! `use pool_core::Reset;` brings in both the trait and the derive. The attributes are
//! documented on [`derive_reset`](macro@Reset).
//!
//! The crate follows thiserror's layout: `ast.rs` reads the input, `attr.rs` the
//! `#[reset(...)]` attributes, `valid.rs` checks them, `generics.rs` infers where-clauses,
//! `expand.rs` writes the impl and `fallback.rs` the output on error. `errors.rs` collects
//! the errors of parsing and checking, so that all are reported at once.
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod errors;
mod expand;
mod fallback;
mod generics;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

// The attribute reference lives in `doc/reset.md`. Its examples use `pool_core`, which this
// crate cannot depend on, so they are not run here (`cfg(doctest)`); pool-core's doctests
// run them from its copy, `pool-core/doc/reset.md` (.ci/package.sh checks the two match).
#[cfg_attr(not(doctest), doc = include_str!("../doc/reset.md"))]
#[proc_macro_derive(Reset, attributes(reset))]
pub fn derive_reset(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

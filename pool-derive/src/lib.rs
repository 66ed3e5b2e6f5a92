//! `#[derive(Reset)]` for `pool-core` (placeholder until the derive lands).
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

/// Derive `pool_core::Reset`.
#[proc_macro_derive(Reset, attributes(reset))]
pub fn derive_reset(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}

//! A typed object pool with reset semantics (work in progress: the pool lands next).
#![warn(missing_debug_implementations)]

// Lets the derive's absolute `::pool_core::` paths resolve inside this crate's own tests.
extern crate self as pool_core;

pub mod reset;

pub use reset::{LimitCapacity, Reset, ZeroFill};

/// `#[derive(Reset)]`: see the `pool-derive` crate for the attributes.
#[cfg(feature = "derive")]
pub use pool_derive::Reset;

//! Placeholder until the pools_mimalloc benchmark lands.

fn main() {}

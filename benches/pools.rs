//! Placeholder until the pools benchmark lands.

fn main() {}

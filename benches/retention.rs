//! Placeholder until the retention benchmark lands.

fn main() {}

use pool_core::Reset;

#[derive(Reset)]
enum Never {}

fn main() {}

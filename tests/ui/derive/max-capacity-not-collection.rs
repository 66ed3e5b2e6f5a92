use pool_core::Reset;

#[derive(Reset)]
struct Counter {
    #[reset(max_capacity = 16)]
    hits: u32,
}

fn main() {}

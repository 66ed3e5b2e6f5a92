use pool_core::Reset;

#[derive(Reset)]
struct Buffer {
    #[reset(skip)]
    #[reset(skip)]
    id: u64,
    #[reset(max_capacity = 64, max_capacity = 128)]
    data: Vec<u8>,
}

fn main() {}

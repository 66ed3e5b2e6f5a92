use pool_core::Reset;

#[derive(Reset)]
struct Buffer {
    #[reset]
    data: Vec<u8>,
    #[reset = "skip"]
    id: u64,
}

fn main() {}

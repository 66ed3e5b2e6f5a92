use pool_core::Reset;

#[derive(Reset)]
struct Buffer {
    #[reset(clear)]
    data: Vec<u8>,
}

fn main() {}

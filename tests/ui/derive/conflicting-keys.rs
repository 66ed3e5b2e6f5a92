use pool_core::Reset;

fn drain(_: &mut Vec<u8>) {}

#[derive(Reset)]
struct Buffer {
    #[reset(default, value = Vec::new())]
    a: Vec<u8>,
    #[reset(with = drain)]
    #[reset(max_capacity = 16)]
    b: Vec<u8>,
    #[reset(zero, default)]
    c: Vec<u8>,
}

fn main() {}

use pool_core::Reset;

fn drain(_: &mut Vec<u8>) {}

#[derive(Reset)]
struct Buffer {
    #[reset(with = "drain")]
    data: Vec<u8>,
}

fn main() {}

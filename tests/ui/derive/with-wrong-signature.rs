use pool_core::Reset;

fn drain(_: &mut String) {}

#[derive(Reset)]
struct Buffer {
    #[reset(with = drain)]
    data: Vec<u8>,
}

fn main() {}

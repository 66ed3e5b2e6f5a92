use pool_core::Reset;

fn drain(_: &mut Vec<u8>) {}

#[derive(Reset)]
#[reset(bound = "T: Clone")]
struct Everything<T> {
    #[reset(unknown, skip = true)]
    a: Vec<T>,
    #[reset(with = "drain", value)]
    b: Vec<u8>,
    #[reset(skip, default)]
    c: u8,
}

fn main() {}

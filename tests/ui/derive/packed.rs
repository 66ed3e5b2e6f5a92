use pool_core::Reset;

#[derive(Reset)]
#[repr(C, packed)]
struct Header {
    tag: u8,
    len: u32,
}

fn main() {}

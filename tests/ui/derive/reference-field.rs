use pool_core::Reset;

#[derive(Reset)]
struct Borrowed<'a> {
    out: &'a mut Vec<u8>,
    name: &'static str,
    #[reset(skip)]
    table: &'static [u8],
}

fn main() {}

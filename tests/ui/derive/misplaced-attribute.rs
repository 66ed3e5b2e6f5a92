use pool_core::Reset;

#[derive(Reset)]
#[reset(skip)]
struct Buffer {
    #[reset(crate = pool_core)]
    data: Vec<u8>,
}

#[derive(Reset)]
#[reset(default)]
enum State {
    #[reset(default)]
    Idle,
    #[reset(skip)]
    Busy,
}

fn main() {}

use pool_core::Reset;

#[derive(Reset)]
enum State {
    #[reset(default)]
    Idle,
    #[reset(default)]
    Busy(Vec<u8>),
}

fn main() {}

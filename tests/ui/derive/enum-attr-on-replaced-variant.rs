use pool_core::Reset;

#[derive(Reset)]
enum State {
    #[reset(default)]
    Idle,
    Busy {
        #[reset(max_capacity = 64)]
        buf: Vec<u8>,
    },
}

fn main() {}

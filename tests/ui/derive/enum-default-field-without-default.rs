use pool_core::Reset;

/// Resettable, but there is no `Default` to build one from nothing.
#[derive(Reset)]
struct Deadline(u64);

#[derive(Reset)]
enum Conn {
    #[reset(default)]
    Idle { buf: Vec<u8>, deadline: Deadline },
    Closed,
}

fn main() {}

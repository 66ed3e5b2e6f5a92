// `#[reset(crate = path)]` for a crate that re-exports pool_core under another name.
mod reexport {
    pub use pool_core as pool;
}

use reexport::pool::Reset;

#[derive(Reset)]
#[reset(crate = reexport::pool)]
struct Buffer {
    data: Vec<u8>,
}

fn main() {
    let mut buffer = Buffer { data: vec![1] };
    buffer.reset();
    assert!(buffer.data.is_empty());
}

// An invalid attribute must be the only error: the stub impl keeps `Pool`-style uses of
// the type (here a `T: Reset` bound) from failing too.
use pool_core::Reset;

#[derive(Reset)]
struct Buffer {
    #[reset(frobnicate)]
    data: Vec<u8>,
}

fn needs_reset<T: Reset>(_: &T) {}

fn main() {
    needs_reset(&Buffer { data: Vec::new() });
}

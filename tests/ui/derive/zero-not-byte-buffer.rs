use pool_core::Reset;

#[derive(Reset)]
struct Words {
    #[reset(zero)]
    words: Vec<u32>,
}

fn main() {}

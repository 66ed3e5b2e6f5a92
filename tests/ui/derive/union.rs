use pool_core::Reset;

#[derive(Reset)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}

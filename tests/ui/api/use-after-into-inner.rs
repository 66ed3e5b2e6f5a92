use pool_core::{Pool, Pooled};

fn main() {
    let pool: Pool<Vec<u8>> = Pool::new();
    let guard = pool.get();
    let owned: Vec<u8> = Pooled::into_inner(guard);
    println!("{}", guard.len());
    drop(owned);
}

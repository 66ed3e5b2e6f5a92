use pool_core::{Pool, Pooled};

fn main() {
    let guard: Pooled<'_, Vec<u8>>;
    {
        let pool: Pool<Vec<u8>> = Pool::new();
        guard = pool.get();
    }
    drop(guard);
}

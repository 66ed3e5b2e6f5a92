use pool_core::Pool;
use std::sync::Mutex;

fn main() {
    let pool: Pool<Mutex<Vec<u8>>> = Pool::new();
    let guard = pool.get();
    let mut locked = guard.lock().unwrap();
    drop(guard); // would return the Mutex to the pool while it is still locked
    locked.push(1);
}

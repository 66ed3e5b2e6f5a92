use pool_core::Pool;

fn main() {
    let pool: Pool<Vec<u8>> = Pool::new();
    let mut guard = pool.get();
    guard.push(1);
    let first = &guard[0];
    drop(guard); // would reset and hand the Vec to the next user while `first` points into it
    println!("{first}");
}

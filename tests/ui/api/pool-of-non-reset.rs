use pool_core::Pool;

// Has `Default`, but no `Reset`: a pool could not clear it between users.
#[derive(Default)]
struct Session {
    user: String,
    scratch: Vec<u8>,
}

fn main() {
    let pool: Pool<Session> = Pool::new();
    let _ = pool;
}

use pool_core::{Pool, Reset};
use std::marker::PhantomData;
use std::sync::Arc;
use std::thread;

// Resettable but not `Send`: its guard must not move to another thread either.
#[derive(Reset, Default)]
struct NotSend {
    data: Vec<u8>,
    #[reset(skip)]
    _marker: PhantomData<*const ()>,
}

fn main() {
    let pool = Arc::new(Pool::<NotSend>::new());
    let mut guard = pool.get_owned();
    guard.data.push(1);
    thread::spawn(move || drop(guard));
}

use pool_core::{Pool, Reset};
use std::marker::PhantomData;
use std::sync::Arc;
use std::thread;

// Resettable but not `Send`: a pool of it must stay on one thread.
#[derive(Reset, Default)]
struct NotSend {
    data: Vec<u8>,
    #[reset(skip)]
    _marker: PhantomData<*const ()>,
}

fn main() {
    let pool = Arc::new(Pool::<NotSend>::new());
    let shared = Arc::clone(&pool);
    thread::spawn(move || {
        shared.get().data.push(1);
    });
}

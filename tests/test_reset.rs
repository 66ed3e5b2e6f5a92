//! The std `Reset` impls as a user sees them: contents cleared, capacity kept.

use pool_core::Reset;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, RwLock};

#[test]
fn string_vec_deque_and_map_keep_their_capacity() {
    let mut s = String::with_capacity(256);
    s.push_str("hello");
    s.reset();
    assert!(s.is_empty() && s.capacity() >= 256);

    let mut d = VecDeque::<u64>::with_capacity(16);
    d.push_back(7);
    d.reset();
    assert!(d.is_empty() && d.capacity() >= 16);

    let mut m: HashMap<String, i64> = HashMap::with_capacity(64);
    m.insert("k".into(), 1);
    let cap = m.capacity();
    m.reset();
    assert!(m.is_empty());
    assert_eq!(m.capacity(), cap);
    assert!(m.retained_bytes() >= cap * std::mem::size_of::<(String, i64)>());
}

#[test]
fn locks_reset_their_contents_and_clear_poison() {
    let mut rw = RwLock::new(vec![1u8; 8]);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _w = rw.write().unwrap();
        panic!("poison it");
    }));
    rw.reset();
    assert!(!rw.is_poisoned());
    assert!(rw.read().unwrap().is_empty());

    let mut m = Mutex::new(String::from("state"));
    m.reset();
    assert!(m.lock().unwrap().is_empty());
}

#[test]
fn boxed_and_nested_values_reset_through_the_box() {
    let mut b: Box<(u32, Vec<u8>)> = Box::new((9, vec![1, 2, 3]));
    b.reset();
    assert_eq!(b.0, 0);
    assert!(b.1.is_empty() && b.1.capacity() >= 3);
    assert!(b.retained_bytes() >= std::mem::size_of::<(u32, Vec<u8>)>() + 3);
}

#[derive(Default, Reset)]
struct Shared {
    state: Mutex<Vec<u8>>,
    cache: std::cell::RefCell<Vec<u8>>,
}

#[test]
#[cfg_attr(pool_chaos, ignore = "chaos randomises reuse")]
fn an_object_whose_lock_guard_was_leaked_is_never_handed_out_again() {
    let pool: pool_core::Pool<Shared> = pool_core::Pool::new();
    let leaky = pool.get();
    std::mem::forget(leaky.state.lock().unwrap()); // the lock stays held for good
    let returned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(leaky)));
    let message = returned.expect_err("the return reports the leak");
    assert!(
        message
            .downcast_ref::<&str>()
            .is_some_and(|m| m.contains("Mutex was leaked")),
        "the panic says what happened"
    );
    let stats = pool.stats();
    assert_eq!((stats.idle, stats.discarded.panicked), (0, 1), "{stats}");
    let next = pool.get();
    assert!(
        next.state.try_lock().is_ok(),
        "the next user gets a fresh lock"
    );
    assert!(next.cache.try_borrow_mut().is_ok());
}

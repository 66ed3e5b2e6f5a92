//! `#[derive(Reset)]` on a request-handling scratch type, pooled.
//!
//! Run with `cargo run --example derive_reset`.

use pool_core::{Pool, Reset};
use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver};

fn drain_receiver(rx: &mut Receiver<String>) {
    while rx.try_recv().is_ok() {}
}

/// Everything one request needs, reused across requests.
#[derive(Reset)]
struct Scratch {
    /// Cleared, capacity kept, but never more than 64 KiB kept for the next user.
    #[reset(max_capacity = 64 * 1024)]
    body: Vec<u8>,
    /// Cleared, capacity kept.
    headers: HashMap<String, String>,
    /// Overwritten with zeros, then cleared.
    #[reset(zero)]
    token: Vec<u8>,
    /// Progress notes from helpers; a channel end has no `Reset`, so drain it.
    #[reset(with = drain_receiver)]
    notes: Receiver<String>,
    /// Back to 3 for every request.
    #[reset(value = 3)]
    retries_left: u8,
    /// Which worker made this scratch: identity, not request state.
    #[reset(skip)]
    worker: usize,
}

impl Default for Scratch {
    fn default() -> Self {
        let (_, notes) = mpsc::channel();
        Scratch {
            body: Vec::new(),
            headers: HashMap::new(),
            token: Vec::new(),
            notes,
            retries_left: 3,
            worker: 1,
        }
    }
}

fn main() {
    let pool: Pool<Scratch> = Pool::new();
    let mut first_body = None;

    for request in 0..3 {
        let mut scratch = pool.get();
        // Whatever the previous request left is gone...
        assert!(scratch.body.is_empty() && scratch.headers.is_empty() && scratch.token.is_empty());
        assert_eq!(scratch.retries_left, 3);

        scratch
            .body
            .extend_from_slice(format!("request {request}").as_bytes());
        scratch
            .headers
            .insert("x-request".into(), request.to_string());
        scratch.token.extend_from_slice(b"secret");
        scratch.retries_left -= 1;

        // ...but its allocations are not.
        let body = scratch.body.as_ptr();
        let reused = *first_body.get_or_insert(body) == body;
        println!(
            "request {request} (worker {}): {} body bytes, reusing request 0's buffer: {reused}",
            scratch.worker,
            scratch.body.len(),
        );
        // Dropping the guard resets the scratch and returns it to the pool.
    }
}

//! Loom model 3: objects with state of their own (a lock and a channel), reset by the derive.
//!
//! The next user of a `Session`, on another thread, must never see the previous user's lock
//! contents or messages, and a lock poisoned by a panicking user must come back usable.
//! The `Mutex` and the channel are std's: they are the object's data, not the pool's
//! synchronisation, which loom sees through pool-core's shim. (Loom runs one modelled thread
//! at a time and these are only ever used without blocking, so std types are safe here.)
//!
//! The other side: a type whose `Reset` forgot the channel would hand the next user the
//! previous user's messages. That is what the `Reset` contract and the derive exist to
//! prevent, at compile time: `Receiver` has no `Reset` impl, so deriving `Reset` for a struct
//! with a receiver field and no `#[reset(with = ...)]` fails, with the error pointing at the
//! field (tests/ui/derive/field-not-reset.rs and its .stderr, run by tests/compiletest.rs).
//!
//! Run with `.ci/loom.sh`.

use crate::support::loom_model::{check, spawn_with};
use pool_core::{Pool, Reset};
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, Once};

/// The channel's state is the messages queued behind the receiver: drain them.
fn drain(rx: &mut Receiver<u8>) {
    while rx.try_recv().is_ok() {}
}

/// A per-session scratch log behind a lock, and a channel to itself.
#[derive(Reset)]
struct Session {
    log: Mutex<Vec<u8>>,
    #[reset(with = drain)]
    inbox: Receiver<u8>,
    /// A handle to this session's own channel: its state is behind `inbox`.
    #[reset(skip)]
    outbox: Sender<u8>,
}

impl Session {
    fn new() -> Self {
        let (outbox, inbox) = mpsc::channel();
        Self {
            log: Mutex::new(Vec::new()),
            inbox,
            outbox,
        }
    }

    /// What a new user checks: nothing of a previous user is visible.
    fn assert_fresh(&self) {
        assert!(!self.log.is_poisoned(), "the lock came back poisoned");
        assert!(
            self.log.lock().unwrap().is_empty(),
            "the previous user's lock contents leaked"
        );
        assert_eq!(
            self.inbox.try_recv(),
            Err(TryRecvError::Empty),
            "the previous user's message leaked"
        );
    }

    /// What a user does: writes under the lock, sends itself a message, and panics while
    /// holding the lock (caught, so the guard is returned normally, with the lock poisoned).
    fn use_and_poison(&self, mark: u8) {
        self.log.lock().unwrap().push(mark);
        self.outbox.send(mark).unwrap();
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let _held = self.log.lock().unwrap();
            panic!("{POISON}");
        }));
        assert!(result.is_err() && self.log.is_poisoned());
    }
}

const POISON: &str = "a user panics while holding the lock (on purpose)";

/// Keeps the deliberate panics out of the output; any other panic is printed as usual.
fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload_as_str() != Some(POISON) {
                default(info);
            }
        }));
    });
}

fn session_pool() -> Arc<Pool<Session>> {
    // Thread caches off, so each return is available to the other thread at once.
    Arc::new(Pool::builder().thread_cache(0).init(Session::new).build())
}

#[test]
fn the_next_user_on_another_thread_sees_nothing_of_the_last() {
    quiet_deliberate_panics();
    check(
        "the_next_user_on_another_thread_sees_nothing_of_the_last",
        || {
            let pool = session_pool();
            let users: Vec<_> = (1..=2)
                .map(|mark| {
                    spawn_with(&pool, move |pool| {
                        let session = pool.get();
                        session.assert_fresh();
                        session.use_and_poison(mark);
                    })
                })
                .collect();
            // The main thread is a third user meanwhile.
            let session = pool.get();
            session.assert_fresh();
            session.use_and_poison(3);
            drop(session);
            for user in users {
                user.join().unwrap();
            }
            // Whichever thread's session is reused, it comes back clean and with a usable lock.
            let (a, b) = (pool.get(), pool.get());
            a.assert_fresh();
            b.assert_fresh();
            a.log.lock().unwrap().push(9);
            let stats = pool.stats();
            assert!(stats.created <= 3, "{stats}");
            assert_eq!(stats.discarded.total(), 0, "{stats}");
        },
    );
}

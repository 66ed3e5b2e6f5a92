//! Fixtures shared by the integration tests: objects that record what happened to them.
#![allow(dead_code, reason = "each test file uses a different part")]

#[cfg(loom)]
pub mod loom_model;

use pool_core::Reset;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts shared by every [`Tracked`] of one test.
#[derive(Debug, Default)]
pub struct Counts {
    pub made: AtomicUsize,
    pub resets: AtomicUsize,
    pub drops: AtomicUsize,
}

impl Counts {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn made(&self) -> usize {
        self.made.load(Ordering::SeqCst)
    }
    pub fn resets(&self) -> usize {
        self.resets.load(Ordering::SeqCst)
    }
    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
}

/// An object with an id, a payload a user dirties, and counters for resets and drops.
#[derive(Debug)]
pub struct Tracked {
    pub id: usize,
    pub payload: Vec<u8>,
    /// Set by a user, cleared by reset: a handed-out object must never have it set.
    pub dirty: bool,
    counts: Arc<Counts>,
}

impl Tracked {
    pub fn new(counts: &Arc<Counts>) -> Self {
        let id = counts.made.fetch_add(1, Ordering::SeqCst);
        Self {
            id,
            payload: Vec::new(),
            dirty: false,
            counts: Arc::clone(counts),
        }
    }

    /// An `init` for pools of `Tracked`.
    pub fn maker(counts: &Arc<Counts>) -> impl Fn() -> Tracked + Send + Sync + 'static {
        let counts = Arc::clone(counts);
        move || Tracked::new(&counts)
    }

    pub fn use_it(&mut self) {
        assert!(!self.dirty, "object {} handed out without a reset", self.id);
        assert!(
            self.payload.is_empty(),
            "object {} handed out with old payload",
            self.id
        );
        self.dirty = true;
        self.payload.extend_from_slice(&self.id.to_le_bytes());
    }
}

impl Reset for Tracked {
    fn reset(&mut self) {
        self.dirty = false;
        self.payload.clear();
        self.counts.resets.fetch_add(1, Ordering::SeqCst);
    }
    fn retained_bytes(&self) -> usize {
        self.payload.retained_bytes()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.counts.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Reports whatever bytes it is told to, however absurd, and keeps them across resets.
#[derive(Debug, Default)]
pub struct Reports(pub usize);

impl Reset for Reports {
    fn reset(&mut self) {}

    fn retained_bytes(&self) -> usize {
        self.0
    }
}

//! The pooled objects: a 4 KiB byte buffer and a small struct with three collections.

use super::CAP;
use super::subjects::{Buffers, Visit};
use pool_core::Reset;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;

/// What every pool in the benches is asked to hold, with the impls each peer needs.
pub trait Object:
    Reset + sharded_slab::Clear + poolshark::IsoPoolable + Default + Send + Sync + 'static
{
    /// A short name for criterion ids.
    const NAME: &'static str;

    /// A new object with the starting capacity every pool gets.
    fn fresh() -> Self;

    /// The reset work, the same for every pool: clear, keep capacity.
    fn clear_all(&mut self);

    /// Reserves the starting capacity if the object has less: for the pools that make empty
    /// objects (poolshark, sharded-slab), so they pay the same first allocation as the rest
    /// and then reuse it.
    fn ensure_capacity(&mut self);

    /// Capacity in elements, as poolshark's `max_elt` and opool's `is_valid` see it.
    fn capacity_units(&self) -> usize;

    /// The "use" between get and return: writes a few bytes.
    fn work(&mut self, i: u64);

    /// Grows the object to about `bytes` (the oversized-object scenario).
    fn grow_to(&mut self, bytes: usize);

    /// Reads the object (the consumer side of a handoff), so the use cannot be optimised out.
    fn touch(&self) -> usize;

    /// Runs `f` on this thread's free list for the `thread_local!` floor.
    fn floor<R>(f: impl FnOnce(&RefCell<Vec<Self>>) -> R) -> R;

    /// Visits the pools that only serve this type (for bytes: our `BufferPool`).
    fn visit_special(_visitor: &mut impl Visit<Self>) {}
}

thread_local! {
    static FLOOR_VEC: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static FLOOR_RECORD: RefCell<Vec<Record>> = const { RefCell::new(Vec::new()) };
}

impl Object for Vec<u8> {
    const NAME: &'static str = "vec4k";

    fn fresh() -> Self {
        Vec::with_capacity(CAP)
    }

    #[inline]
    fn clear_all(&mut self) {
        self.clear();
    }

    #[inline]
    fn ensure_capacity(&mut self) {
        if self.capacity() < CAP {
            self.reserve(CAP);
        }
    }

    fn capacity_units(&self) -> usize {
        self.capacity()
    }

    #[inline]
    fn work(&mut self, i: u64) {
        self.extend_from_slice(&i.to_le_bytes());
        black_box(&mut *self);
    }

    fn grow_to(&mut self, bytes: usize) {
        self.reserve(bytes);
    }

    #[inline]
    fn touch(&self) -> usize {
        black_box(self.len())
    }

    fn floor<R>(f: impl FnOnce(&RefCell<Vec<Self>>) -> R) -> R {
        FLOOR_VEC.with(f)
    }

    fn visit_special(visitor: &mut impl Visit<Self>) {
        visitor.visit(Buffers::new);
    }
}

/// A request-like struct: a byte buffer, a map and a string. Its `Reset` is derived.
#[derive(Debug, Default, Reset)]
pub struct Record {
    /// Body bytes.
    pub bytes: Vec<u8>,
    /// Header-like fields; `u64` keys so an insert does not allocate a key.
    pub fields: HashMap<u64, u64>,
    /// A name or path.
    pub name: String,
}

impl Object for Record {
    const NAME: &'static str = "record";

    fn fresh() -> Self {
        Record {
            bytes: Vec::with_capacity(256),
            fields: HashMap::with_capacity(16),
            name: String::with_capacity(64),
        }
    }

    #[inline]
    fn clear_all(&mut self) {
        self.bytes.clear();
        self.fields.clear();
        self.name.clear();
    }

    #[inline]
    fn ensure_capacity(&mut self) {
        if self.bytes.capacity() < 256 {
            self.bytes.reserve(256);
        }
        if self.fields.capacity() < 16 {
            self.fields.reserve(16);
        }
        if self.name.capacity() < 64 {
            self.name.reserve(64);
        }
    }

    fn capacity_units(&self) -> usize {
        self.bytes.capacity() + self.fields.capacity() + self.name.capacity()
    }

    #[inline]
    fn work(&mut self, i: u64) {
        self.bytes.extend_from_slice(&i.to_le_bytes());
        self.fields.insert(i & 7, i);
        self.name.push_str("/songs/42");
        black_box(&mut *self);
    }

    fn grow_to(&mut self, bytes: usize) {
        self.bytes.reserve(bytes);
    }

    #[inline]
    fn touch(&self) -> usize {
        black_box(self.bytes.len() + self.fields.len() + self.name.len())
    }

    fn floor<R>(f: impl FnOnce(&RefCell<Vec<Self>>) -> R) -> R {
        FLOOR_RECORD.with(f)
    }
}

impl sharded_slab::Clear for Record {
    fn clear(&mut self) {
        self.clear_all();
    }
}

impl poolshark::Poolable for Record {
    fn empty() -> Self {
        Record::default()
    }

    fn reset(&mut self) {
        self.clear_all();
    }

    fn capacity(&self) -> usize {
        self.capacity_units()
    }
}

// SAFETY: `Record` has no type parameters, so its layout is fixed, and the discriminant's
// location id (from poolshark's own macro) is unique to this impl: no other type shares
// `Record`'s local pool.
unsafe impl poolshark::IsoPoolable for Record {
    const DISCRIMINANT: Option<poolshark::Discriminant> =
        poolshark::Discriminant::new(poolshark::location_id!());
}

//! The ways of getting a buffer for one proxy request, each written as its crate documents it.
//!
//! Rules every strategy follows, so they do the same work per request:
//! - it starts from an empty pool (each runs in a fresh process, and nothing is prefilled);
//! - it hands out a buffer of length 0 (as `Vec::with_capacity(len)` does), so that
//!   `resize(len, 0)` writes every byte for all of them (`checked` asserts it of every buffer);
//! - it gives buffers back, and resets them, the way its docs say: by its own hook where it
//!   has one, by `clear()` by hand where it has none;
//! - it releases idle memory by its own means, if it has any ([`Strategy::RELEASE`] says
//!   what that is), and otherwise does nothing.
//!
//! Only our `BufferPool` and byte-pool hand out a buffer sized for the request; every other
//! pool has one class, so a reused buffer grows to `len` inside `resize` (by `Vec`'s
//! doubling) when it is too small and keeps that capacity. That is how those pools are
//! used for byte buffers of varied sizes.

use crate::workload::{Serve, fill_and_sum};
use pool_core::{Buffer, BufferPool, Pool, Pooled};
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// A way of getting a buffer for a request and giving it back.
pub trait Strategy: Sync + Sized {
    /// What [`release_idle`](Strategy::release_idle) does, for the table.
    const RELEASE: &'static str;

    /// A buffer checked out for one request: the pool's guard, or [`Owned`].
    type Held<'a>: DerefMut<Target = Vec<u8>>
    where
        Self: 'a;

    /// An empty pool (or none, for the baselines).
    fn new() -> Self;

    /// A buffer for a request of `len` bytes: empty, with any capacity.
    fn get(&self, len: usize) -> Self::Held<'_>;

    /// Gives a buffer back (most drop their guard).
    fn give(&self, held: Self::Held<'_>) {
        drop(held);
    }

    /// Releases idle memory by the pool's own means; by default there are none.
    fn release_idle(&self) {}

    /// The pool's own counters, where it keeps any (printed with `PROXY_VERBOSE`).
    fn stats(&self) -> Option<String> {
        None
    }
}

/// The workload runs any strategy: one request's buffer is got, filled, checked and given
/// back (`give`, which for most strategies is a drop).
impl<S: Strategy> Serve for S {
    fn serve(&self, len: usize) -> u64 {
        let mut held = self.get(len);
        let sum = fill_and_sum(checked(&mut held), len);
        self.give(held);
        sum
    }

    fn serve_together(&self, lens: &[usize], while_held: impl Fn()) -> u64 {
        let mut held: Vec<_> = lens.iter().map(|&len| self.get(len)).collect();
        let sum = held
            .iter_mut()
            .zip(lens)
            .map(|(held, &len)| fill_and_sum(checked(held), len))
            .sum();
        while_held();
        for held in held {
            self.give(held);
        }
        sum
    }

    fn release_idle(&self) {
        Strategy::release_idle(self);
    }

    fn stats(&self) -> Option<String> {
        Strategy::stats(self)
    }
}

/// Every strategy must hand out an empty buffer, as `Vec::with_capacity(len)` does: a reused
/// buffer that kept its length would skip `resize`'s memset and be unfairly fast. One compare
/// per request (a request writes 10 KB or more).
#[inline]
fn checked(buf: &mut Vec<u8>) -> &mut Vec<u8> {
    assert!(
        buf.is_empty(),
        "a strategy handed out a buffer of length {}",
        buf.len()
    );
    buf
}

/// Said of a pool that has no means of giving idle memory back.
const NO_MEANS: &str = "none (no means)";

// === baselines ===

/// A buffer a baseline hands out by value: a `Vec<u8>` behind the `DerefMut` every pool's
/// guard has, so the workload reaches every strategy's buffer the same way.
pub struct Owned(Vec<u8>);

impl Deref for Owned {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for Owned {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

/// No pool: `Vec::with_capacity(len)` per request, freed after (glibc malloc).
pub struct Fresh;

impl Strategy for Fresh {
    const RELEASE: &'static str = "none (nothing kept)";
    type Held<'a> = Owned;

    fn new() -> Self {
        Fresh
    }

    fn get(&self, len: usize) -> Owned {
        Owned(Vec::with_capacity(len))
    }
}

thread_local! {
    static FREE_LIST: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A hand-written `thread_local!` free list (`RefCell<Vec<Vec<u8>>>` per thread): pop or
/// `Vec::new()`, `clear()` and push on return. No bound, no sharing. A thread's list is freed
/// when the thread exits, which the workload's workers do after each phase.
pub struct ThreadLocalList;

impl Strategy for ThreadLocalList {
    const RELEASE: &'static str = "clear() this thread's list (workers' lists die with them)";
    type Held<'a> = Owned;

    fn new() -> Self {
        ThreadLocalList
    }

    fn get(&self, _len: usize) -> Owned {
        Owned(
            FREE_LIST
                .with(|list| list.borrow_mut().pop())
                .unwrap_or_default(),
        )
    }

    fn give(&self, Owned(mut held): Owned) {
        held.clear();
        FREE_LIST.with(|list| list.borrow_mut().push(held));
    }

    fn release_idle(&self) {
        FREE_LIST.with(|list| list.borrow_mut().clear());
    }
}

// === ours ===

/// One `pool_core::Pool<Vec<u8>>` with no caps (the demo's second strategy): buffers keep
/// whatever capacity they grew to, until two sweeps age them out.
pub struct OursPool(Box<Pool<Vec<u8>>>);

impl Strategy for OursPool {
    const RELEASE: &'static str = "sweep() x2";
    type Held<'a> = Pooled<'a, Vec<u8>>;

    fn new() -> Self {
        OursPool(Box::new(Pool::new()))
    }

    fn get(&self, _len: usize) -> Pooled<'_, Vec<u8>> {
        self.0.get()
    }

    fn release_idle(&self) {
        self.0.sweep();
        self.0.sweep();
    }

    fn stats(&self) -> Option<String> {
        Some(self.0.stats().to_string())
    }
}

/// `pool_core::BufferPool::new()`, the defaults: a buffer from the size class of `len`.
pub struct OursBuffers(BufferPool);

impl Strategy for OursBuffers {
    const RELEASE: &'static str = "sweep() x2";
    type Held<'a> = Buffer<'a>;

    fn new() -> Self {
        OursBuffers(BufferPool::new())
    }

    fn get(&self, len: usize) -> Buffer<'_> {
        self.0.get(len)
    }

    fn release_idle(&self) {
        self.0.sweep();
        self.0.sweep();
    }

    fn stats(&self) -> Option<String> {
        Some(format!("{}\n{}", self.0.stats(), self.0.recommend()))
    }
}

// === Cloudflare's buffer-pool ===

/// Shards, and idle buffers kept at most (over all shards): tokio-quiche's settings for its
/// generic pool (`buf_factory.rs`: `POOL_SHARDS`, `POOL_SIZE`).
const CF_SHARDS: usize = 8;
const CF_LIMIT: usize = 16 * 1024;

/// `buffer_pool::Pool<8, Vec<u8>>`, Cloudflare's sharded pool: `get()` takes from the next
/// shard round-robin (or makes `Vec::new()`); dropping the guard runs its `Reuse` impl for
/// `Vec<u8>` (`clear()`, then `shrink_to(TRIM)`) and queues the buffer on its shard.
///
/// `TRIM` is the capacity a returned buffer is shrunk to. tokio-quiche gives its generic
/// pool 64 KiB (`MAX_POOL_BUF_SIZE`); a proxy whose buffers reach 3 MB could as well give it
/// 3 MB, which shrinks nothing: both are measured. With 64 KiB, every buffer that grew past it
/// is shrunk on its way back (a `realloc`, for these sizes an `mremap` that unmaps the pages)
/// and grown again by the next large request, whose pages then fault in anew: with this
/// workload's sizes that is most of the bytes served.
///
/// Every get and return also updates three `foundations` gauges labelled with the pool's
/// name (a read lock and a hash lookup each): that is part of the crate.
///
/// The pool must be `'static` (`get` takes `&'static self`): tokio-quiche keeps its pools in
/// `static`s; here one is leaked per process, the same thing for a process that runs one
/// strategy.
pub struct CfBufferPool<const TRIM: usize>(&'static buffer_pool::Pool<CF_SHARDS, Vec<u8>>);

impl<const TRIM: usize> Strategy for CfBufferPool<TRIM> {
    const RELEASE: &'static str = NO_MEANS;
    type Held<'a> = buffer_pool::Pooled<Vec<u8>>;

    fn new() -> Self {
        CfBufferPool(Box::leak(Box::new(
            buffer_pool::Pool::<CF_SHARDS, Vec<u8>>::new(CF_LIMIT, TRIM, "proxy_bench"),
        )))
    }

    fn get(&self, _len: usize) -> buffer_pool::Pooled<Vec<u8>> {
        self.0.get() // cleared by `Reuse::reuse` on its way back
    }
}

// === byte-pool ===

/// `byte_pool::BytePool<Vec<u8>>`: `alloc(len)` reuses a queued block only if its size is
/// exactly `len` (it checks the head of the queue and puts it back otherwise), else makes
/// `vec![0; len]`; dropping the block queues it, whatever its size, for good. Its docs say a
/// block comes back with arbitrary contents and must be overwritten: here it is cleared, then
/// `resize` zeroes it like everyone's. Back in the pool its `capacity()` (byte-pool means the
/// length) is `len` again.
///
/// Used as its docs show (`alloc(size)` with the size wanted), it almost never finds a block of
/// exactly this workload's next size, so it allocates for nearly every request and keeps every
/// block it ever made: about 2 GiB by the end of the steady phase. Rounding sizes up to
/// classes first would let it reuse, but that is a size-class pool built around it.
pub struct BytePool(byte_pool::BytePool<Vec<u8>>);

impl Strategy for BytePool {
    const RELEASE: &'static str = NO_MEANS;
    type Held<'a> = byte_pool::Block<'a, Vec<u8>>;

    fn new() -> Self {
        BytePool(byte_pool::BytePool::new())
    }

    fn get(&self, len: usize) -> byte_pool::Block<'_, Vec<u8>> {
        let mut block = self.0.alloc(len);
        block.clear();
        block
    }
}

// === object-pool ===

/// `object_pool::Pool<Vec<u8>>`: `pull(Vec::new)`, guard drop; it has no reset of its own, so
/// the buffer is cleared by hand before it goes back.
pub struct ObjectPool(object_pool::Pool<Vec<u8>>);

impl Strategy for ObjectPool {
    const RELEASE: &'static str = NO_MEANS;
    type Held<'a> = object_pool::Reusable<'a, Vec<u8>>;

    fn new() -> Self {
        ObjectPool(object_pool::Pool::new(0, Vec::new))
    }

    fn get(&self, _len: usize) -> object_pool::Reusable<'_, Vec<u8>> {
        self.0.pull(Vec::new)
    }

    fn give(&self, mut held: object_pool::Reusable<'_, Vec<u8>>) {
        held.clear();
        drop(held);
    }
}

// === lockfree-object-pool ===

/// `lockfree_object_pool::LinearObjectPool<Vec<u8>>`: `pull()`, guard drop, reset closure
/// `Vec::clear`.
pub struct Linear(lockfree_object_pool::LinearObjectPool<Vec<u8>>);

impl Strategy for Linear {
    const RELEASE: &'static str = NO_MEANS;
    type Held<'a> = lockfree_object_pool::LinearReusable<'a, Vec<u8>>;

    fn new() -> Self {
        Linear(lockfree_object_pool::LinearObjectPool::new(
            Vec::new,
            Vec::clear,
        ))
    }

    fn get(&self, _len: usize) -> Self::Held<'_> {
        self.0.pull()
    }
}

// === sharded-slab ===

/// `sharded_slab::Pool<Vec<u8>>`: `create()` checks a slot out, `clear(key)` gives it back
/// (running `Clear for Vec`, which keeps the capacity); dropping the guard alone does not.
pub struct Slab(sharded_slab::Pool<Vec<u8>>);

impl Strategy for Slab {
    const RELEASE: &'static str = NO_MEANS;
    type Held<'a> = sharded_slab::pool::RefMut<'a, Vec<u8>>;

    fn new() -> Self {
        Slab(sharded_slab::Pool::new())
    }

    fn get(&self, _len: usize) -> Self::Held<'_> {
        self.0.create().expect("the slab has room")
    }

    fn give(&self, held: Self::Held<'_>) {
        let key = held.key();
        drop(held);
        self.0.clear(key);
    }
}

// === opool ===

/// opool's allocator hooks: make `Vec::new()`, reset with `clear()` (opool runs it on get),
/// and its default `is_valid` (keep everything).
pub struct VecAllocator;

impl opool::PoolAllocator<Vec<u8>> for VecAllocator {
    fn allocate(&self) -> Vec<u8> {
        Vec::new()
    }

    fn reset(&self, obj: &mut Vec<u8>) {
        obj.clear();
    }
}

/// `opool::Pool` (a bounded `ArrayQueue`). It must be given a bound: 1,024 idle buffers, as in
/// the other benchmarks; the workload never has more than 128 out at once, so it never binds.
pub struct Opool(opool::Pool<VecAllocator, Vec<u8>>);

impl Strategy for Opool {
    const RELEASE: &'static str = NO_MEANS;
    type Held<'a> = opool::RefGuard<'a, VecAllocator, Vec<u8>>;

    fn new() -> Self {
        Opool(opool::Pool::new(1024, VecAllocator))
    }

    fn get(&self, _len: usize) -> Self::Held<'_> {
        self.0.get()
    }
}

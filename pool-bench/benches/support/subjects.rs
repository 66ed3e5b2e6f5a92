//! Every pool under test behind one interface, [`Subject`], written as each crate's docs
//! show it (shared/notes/rust-peers.md 4b), plus the two baselines.

use super::{CAP, MAX_IDLE, MAX_OBJECT, Object};
use pool_core::{Buffer, BufferPool, Pool, Pooled};
use std::hint::black_box;
use std::marker::PhantomData;

/// A pool under test: check an object out, use it, give it back.
///
/// `take` + `give` is one "get / return"; between them the caller works on
/// [`object`](Subject::object). For the producer -> consumer handoff, a checked-out object
/// becomes a [`Msg`](Subject::Msg) that crosses threads and is given back there.
pub trait Subject<T: Object>: Sync {
    /// A checked-out object (usually the crate's guard).
    type Held<'a>
    where
        Self: 'a;

    /// What the producer sends to the consumer.
    type Msg<'a>: Send
    where
        Self: 'a;

    /// Whether a handoff makes sense (the `thread_local!` floor cannot return across
    /// threads).
    const HANDOFF: bool = true;

    /// The name in criterion ids and tables.
    fn name(&self) -> &'static str;

    /// Gets an object (reused or new).
    fn take(&self) -> Self::Held<'_>;

    /// The object behind a checkout.
    fn object<'h>(held: &'h mut Self::Held<'_>) -> &'h mut T;

    /// Returns an object: reset (by the pool's hook or by hand) and keep or drop it.
    fn give(&self, held: Self::Held<'_>);

    /// Turns a checkout into a message for another thread.
    fn to_msg<'a>(&'a self, held: Self::Held<'a>) -> Self::Msg<'a>;

    /// The consumer's side: read the object and return it.
    fn finish<'a>(&'a self, msg: Self::Msg<'a>);

    /// Releases idle memory by the pool's own means, if it has any; says what it did.
    fn release_idle(&self) -> &'static str {
        "none (no means)"
    }

    /// A one-line account of the pool's own counters, where it keeps any.
    fn stats_line(&self) -> Option<String> {
        None
    }

    /// One get / work / return.
    #[inline]
    fn cycle(&self, i: u64) {
        let mut held = self.take();
        Self::object(&mut held).work(i);
        self.give(held);
    }
}

/// Calls [`visit`](Visit::visit) once per subject; how the scenarios loop over pools of
/// different types.
pub trait Visit<T: Object> {
    /// Runs the scenario on one subject, made by `make` (so a memory scenario can count the
    /// pool's construction too).
    fn visit<S: Subject<T>>(&mut self, make: impl FnOnce() -> S);
}

/// Visits every pool and baseline, in table order.
pub fn each_subject<T: Object>(visitor: &mut impl Visit<T>) {
    visitor.visit(Ours::<T>::new);
    T::visit_special(visitor);
    visitor.visit(Linear::<T>::new);
    visitor.visit(SpinLock::<T>::new);
    visitor.visit(ObjectPool::<T>::new);
    visitor.visit(Opool::<T>::new);
    visitor.visit(PoolsharkLocal::<T>::new);
    visitor.visit(PoolsharkGlobal::<T>::new);
    visitor.visit(Regex::<T>::new);
    visitor.visit(Slab::<T>::new);
    visitor.visit(Fresh::<T>::new);
    visitor.visit(Floor::<T>::new);
}

// === ours ===

/// `pool_core::Pool`, with the same largest-object limit the peers that have one get.
pub struct Ours<T: Object> {
    pool: Pool<T>,
    name: &'static str,
}

impl<T: Object> Ours<T> {
    /// The configuration used in every scenario.
    pub fn new() -> Self {
        Self {
            pool: Pool::builder()
                .max_object_bytes(MAX_OBJECT)
                .init(T::fresh)
                .build(),
            name: "pool-core",
        }
    }

    /// `Pool::with_init` and nothing else: no limits (the oversized-object scenario shows
    /// what the default does).
    pub fn unlimited() -> Self {
        Self {
            pool: Pool::with_init(T::fresh),
            name: "pool-core-nolimit",
        }
    }

    /// The pool, for its stats.
    pub fn pool(&self) -> &Pool<T> {
        &self.pool
    }
}

impl<T: Object> Subject<T> for Ours<T> {
    type Held<'a> = Pooled<'a, T>;
    type Msg<'a> = Pooled<'a, T>;

    fn name(&self) -> &'static str {
        self.name
    }

    #[inline]
    fn take(&self) -> Pooled<'_, T> {
        self.pool.get()
    }

    #[inline]
    fn object<'h>(held: &'h mut Pooled<'_, T>) -> &'h mut T {
        held
    }

    #[inline]
    fn give(&self, held: Pooled<'_, T>) {
        drop(held); // reset by `T::reset` and returned
    }

    fn to_msg<'a>(&'a self, held: Pooled<'a, T>) -> Pooled<'a, T> {
        held
    }

    fn finish<'a>(&'a self, msg: Pooled<'a, T>) {
        msg.touch();
    }

    fn release_idle(&self) -> &'static str {
        self.pool.sweep();
        self.pool.sweep();
        "sweep() x2"
    }

    fn stats_line(&self) -> Option<String> {
        Some(self.pool.stats().to_string())
    }
}

/// Our size-classed `BufferPool`, for byte buffers only: classes from the starting capacity
/// up to [`MAX_OBJECT`], so a buffer that grew past it is not kept, as for the others.
pub struct Buffers(BufferPool);

impl Buffers {
    /// Classes from [`CAP`] to [`MAX_OBJECT`], powers of two.
    pub fn new() -> Self {
        Self(BufferPool::builder().classes(CAP, MAX_OBJECT).build())
    }
}

impl Subject<Vec<u8>> for Buffers {
    type Held<'a> = Buffer<'a>;
    type Msg<'a> = Buffer<'a>;

    fn name(&self) -> &'static str {
        "pool-core-buffers"
    }

    #[inline]
    fn take(&self) -> Buffer<'_> {
        self.0.get(CAP)
    }

    #[inline]
    fn object<'h>(held: &'h mut Buffer<'_>) -> &'h mut Vec<u8> {
        held
    }

    #[inline]
    fn give(&self, held: Buffer<'_>) {
        drop(held); // cleared and returned to the class of its capacity
    }

    fn to_msg<'a>(&'a self, held: Buffer<'a>) -> Buffer<'a> {
        held
    }

    fn finish<'a>(&'a self, msg: Buffer<'a>) {
        msg.touch();
    }

    fn release_idle(&self) -> &'static str {
        self.0.sweep();
        self.0.sweep();
        "sweep() x2"
    }

    fn stats_line(&self) -> Option<String> {
        // `BufferStats`' own `Display` is a per-class table; one line is enough here.
        Some(self.0.stats().total.to_string())
    }
}

// === lockfree-object-pool ===

/// `lockfree_object_pool::LinearObjectPool`: reset closure on return.
pub struct Linear<T: Object>(lockfree_object_pool::LinearObjectPool<T>);

impl<T: Object> Linear<T> {
    /// A pool making `T::fresh()` and resetting with `clear_all`.
    pub fn new() -> Self {
        Self(lockfree_object_pool::LinearObjectPool::new(
            T::fresh,
            T::clear_all,
        ))
    }
}

impl<T: Object> Subject<T> for Linear<T> {
    type Held<'a> = lockfree_object_pool::LinearReusable<'a, T>;
    type Msg<'a> = lockfree_object_pool::LinearReusable<'a, T>;

    fn name(&self) -> &'static str {
        "lockfree-linear"
    }

    #[inline]
    fn take(&self) -> Self::Held<'_> {
        self.0.pull()
    }

    #[inline]
    fn object<'h>(held: &'h mut Self::Held<'_>) -> &'h mut T {
        held
    }

    #[inline]
    fn give(&self, held: Self::Held<'_>) {
        drop(held);
    }

    fn to_msg<'a>(&'a self, held: Self::Held<'a>) -> Self::Msg<'a> {
        held
    }

    fn finish<'a>(&'a self, msg: Self::Msg<'a>) {
        msg.touch();
    }
}

/// `lockfree_object_pool::SpinLockObjectPool`.
pub struct SpinLock<T: Object>(lockfree_object_pool::SpinLockObjectPool<T>);

impl<T: Object> SpinLock<T> {
    /// A pool making `T::fresh()` and resetting with `clear_all`.
    pub fn new() -> Self {
        Self(lockfree_object_pool::SpinLockObjectPool::new(
            T::fresh,
            T::clear_all,
        ))
    }
}

impl<T: Object> Subject<T> for SpinLock<T> {
    type Held<'a> = lockfree_object_pool::SpinLockReusable<'a, T>;
    type Msg<'a> = lockfree_object_pool::SpinLockReusable<'a, T>;

    fn name(&self) -> &'static str {
        "lockfree-spinlock"
    }

    #[inline]
    fn take(&self) -> Self::Held<'_> {
        self.0.pull()
    }

    #[inline]
    fn object<'h>(held: &'h mut Self::Held<'_>) -> &'h mut T {
        held
    }

    #[inline]
    fn give(&self, held: Self::Held<'_>) {
        drop(held);
    }

    fn to_msg<'a>(&'a self, held: Self::Held<'a>) -> Self::Msg<'a> {
        held
    }

    fn finish<'a>(&'a self, msg: Self::Msg<'a>) {
        msg.touch();
    }
}

// === object-pool ===

/// `object_pool::Pool`: no reset of its own, so `clear_all` runs by hand before the return.
pub struct ObjectPool<T: Object>(object_pool::Pool<T>);

impl<T: Object> ObjectPool<T> {
    /// An empty pool (no prefill, like the others).
    pub fn new() -> Self {
        Self(object_pool::Pool::new(0, T::fresh))
    }
}

impl<T: Object> Subject<T> for ObjectPool<T> {
    type Held<'a> = object_pool::Reusable<'a, T>;
    type Msg<'a> = object_pool::Reusable<'a, T>;

    fn name(&self) -> &'static str {
        "object-pool"
    }

    #[inline]
    fn take(&self) -> Self::Held<'_> {
        self.0.pull(T::fresh)
    }

    #[inline]
    fn object<'h>(held: &'h mut Self::Held<'_>) -> &'h mut T {
        held
    }

    #[inline]
    fn give(&self, mut held: Self::Held<'_>) {
        held.clear_all();
        drop(held);
    }

    fn to_msg<'a>(&'a self, held: Self::Held<'a>) -> Self::Msg<'a> {
        held
    }

    fn finish<'a>(&'a self, msg: Self::Msg<'a>) {
        msg.touch();
        self.give(msg);
    }
}

// === opool ===

/// opool's allocator hooks: make `T::fresh()`, reset with `clear_all` (opool runs it on
/// get), and refuse objects over [`MAX_OBJECT`] on return.
pub struct OpoolAlloc<T>(PhantomData<fn() -> T>);

impl<T: Object> opool::PoolAllocator<T> for OpoolAlloc<T> {
    #[inline]
    fn allocate(&self) -> T {
        T::fresh()
    }

    #[inline]
    fn reset(&self, obj: &mut T) {
        obj.clear_all();
    }

    #[inline]
    fn is_valid(&self, obj: &T) -> bool {
        obj.capacity_units() <= MAX_OBJECT
    }
}

/// `opool::Pool` (a bounded `ArrayQueue`), holding at most [`MAX_IDLE`].
pub struct Opool<T: Object>(opool::Pool<OpoolAlloc<T>, T>);

impl<T: Object> Opool<T> {
    /// An empty pool bounded at [`MAX_IDLE`].
    pub fn new() -> Self {
        Self(opool::Pool::new(MAX_IDLE, OpoolAlloc(PhantomData)))
    }
}

impl<T: Object> Subject<T> for Opool<T> {
    type Held<'a> = opool::RefGuard<'a, OpoolAlloc<T>, T>;
    type Msg<'a> = opool::RefGuard<'a, OpoolAlloc<T>, T>;

    fn name(&self) -> &'static str {
        "opool"
    }

    #[inline]
    fn take(&self) -> Self::Held<'_> {
        self.0.get()
    }

    #[inline]
    fn object<'h>(held: &'h mut Self::Held<'_>) -> &'h mut T {
        held
    }

    #[inline]
    fn give(&self, held: Self::Held<'_>) {
        drop(held);
    }

    fn to_msg<'a>(&'a self, held: Self::Held<'a>) -> Self::Msg<'a> {
        held
    }

    fn finish<'a>(&'a self, msg: Self::Msg<'a>) {
        msg.touch();
    }
}

// === poolshark ===

/// `poolshark::local::LPooled`: one pool per thread and type; a drop returns the object to
/// the dropping thread's pool.
pub struct PoolsharkLocal<T: Object>(PhantomData<fn() -> T>);

impl<T: Object> PoolsharkLocal<T> {
    /// Sets the caps before any thread's first use, or a 4 KiB buffer is never pooled
    /// (the default element cap is 1024).
    pub fn new() -> Self {
        poolshark::local::set_size::<T>(MAX_IDLE, MAX_OBJECT);
        Self(PhantomData)
    }
}

impl<T: Object> Subject<T> for PoolsharkLocal<T> {
    type Held<'a> = poolshark::local::LPooled<T>;
    type Msg<'a> = poolshark::local::LPooled<T>;

    fn name(&self) -> &'static str {
        "poolshark-local"
    }

    #[inline]
    fn take(&self) -> Self::Held<'_> {
        let mut held = poolshark::local::LPooled::<T>::take();
        held.ensure_capacity();
        held
    }

    #[inline]
    fn object<'h>(held: &'h mut Self::Held<'_>) -> &'h mut T {
        held
    }

    #[inline]
    fn give(&self, held: Self::Held<'_>) {
        drop(held); // `Poolable::reset`, then into this thread's pool
    }

    fn to_msg<'a>(&'a self, held: Self::Held<'a>) -> Self::Msg<'a> {
        held
    }

    fn finish<'a>(&'a self, msg: Self::Msg<'a>) {
        msg.touch();
    }

    fn release_idle(&self) -> &'static str {
        poolshark::local::clear_type::<T>();
        "local::clear_type() (this thread only)"
    }
}

impl<T: Object> Drop for PoolsharkLocal<T> {
    fn drop(&mut self) {
        // The pools are per thread and per type, not per value: empty this thread's so the
        // next measurement starts from nothing.
        poolshark::local::clear_type::<T>();
    }
}

/// `poolshark::global::Pool`: a lock-free `ArrayQueue`; objects return to their origin pool.
pub struct PoolsharkGlobal<T: Object>(poolshark::global::Pool<T>);

impl<T: Object> PoolsharkGlobal<T> {
    /// A pool bounded at [`MAX_IDLE`] objects of at most [`MAX_OBJECT`] capacity.
    pub fn new() -> Self {
        Self(poolshark::global::Pool::new(MAX_IDLE, MAX_OBJECT))
    }
}

impl<T: Object> Subject<T> for PoolsharkGlobal<T> {
    type Held<'a> = poolshark::global::GPooled<T>;
    type Msg<'a> = poolshark::global::GPooled<T>;

    fn name(&self) -> &'static str {
        "poolshark-global"
    }

    #[inline]
    fn take(&self) -> Self::Held<'_> {
        let mut held = self.0.take();
        held.ensure_capacity();
        held
    }

    #[inline]
    fn object<'h>(held: &'h mut Self::Held<'_>) -> &'h mut T {
        held
    }

    #[inline]
    fn give(&self, held: Self::Held<'_>) {
        drop(held);
    }

    fn to_msg<'a>(&'a self, held: Self::Held<'a>) -> Self::Msg<'a> {
        held
    }

    fn finish<'a>(&'a self, msg: Self::Msg<'a>) {
        msg.touch();
    }

    fn release_idle(&self) -> &'static str {
        self.0.prune();
        self.0.prune();
        "prune() x2"
    }
}

// === regex-automata ===

type RegexPool<T> = regex_automata::util::pool::Pool<T, fn() -> T>;
type RegexGuard<'a, T> = regex_automata::util::pool::PoolGuard<'a, T, fn() -> T>;

/// `regex_automata::util::pool::Pool`: an owner-thread slot plus 8 mutex stacks; no reset,
/// so `clear_all` runs by hand before the return.
pub struct Regex<T: Object>(RegexPool<T>);

impl<T: Object> Regex<T> {
    /// A pool making `T::fresh()`.
    pub fn new() -> Self {
        Self(RegexPool::new(T::fresh as fn() -> T))
    }
}

impl<T: Object> Subject<T> for Regex<T> {
    type Held<'a> = RegexGuard<'a, T>;
    type Msg<'a> = RegexGuard<'a, T>;

    fn name(&self) -> &'static str {
        "regex-automata"
    }

    #[inline]
    fn take(&self) -> Self::Held<'_> {
        self.0.get()
    }

    #[inline]
    fn object<'h>(held: &'h mut Self::Held<'_>) -> &'h mut T {
        held
    }

    #[inline]
    fn give(&self, mut held: Self::Held<'_>) {
        held.clear_all();
        RegexGuard::put(held);
    }

    fn to_msg<'a>(&'a self, held: Self::Held<'a>) -> Self::Msg<'a> {
        held
    }

    fn finish<'a>(&'a self, msg: Self::Msg<'a>) {
        msg.touch();
        self.give(msg);
    }
}

// === sharded-slab ===

/// `sharded_slab::Pool`: a keyed slab. `create` checks a slot out, `clear(key)` gives it back
/// (running `Clear::clear`, which keeps capacity); dropping the guard alone does not.
pub struct Slab<T: Object>(sharded_slab::Pool<T>);

impl<T: Object> Slab<T> {
    /// An empty slab with the default config.
    pub fn new() -> Self {
        Self(sharded_slab::Pool::new())
    }
}

impl<T: Object> Subject<T> for Slab<T> {
    type Held<'a> = sharded_slab::pool::RefMut<'a, T>;
    type Msg<'a> = usize;

    fn name(&self) -> &'static str {
        "sharded-slab"
    }

    #[inline]
    fn take(&self) -> Self::Held<'_> {
        let mut held = self.0.create().expect("the slab has room");
        held.ensure_capacity();
        held
    }

    #[inline]
    fn object<'h>(held: &'h mut Self::Held<'_>) -> &'h mut T {
        held
    }

    #[inline]
    fn give(&self, held: Self::Held<'_>) {
        let key = held.key();
        drop(held);
        self.0.clear(key);
    }

    fn to_msg<'a>(&'a self, held: Self::Held<'a>) -> usize {
        held.key() // the slot is published when `held` drops here
    }

    fn finish(&self, key: usize) {
        if let Some(object) = self.0.get(key) {
            object.touch();
        }
        self.0.clear(key);
    }
}

// === baselines ===

/// No pool: a fresh object every time, dropped after use.
pub struct Fresh<T: Object>(PhantomData<fn() -> T>);

impl<T: Object> Fresh<T> {
    /// The allocator baseline.
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T: Object> Subject<T> for Fresh<T> {
    type Held<'a> = T;
    type Msg<'a> = T;

    fn name(&self) -> &'static str {
        "fresh-alloc"
    }

    #[inline]
    fn take(&self) -> T {
        T::fresh()
    }

    #[inline]
    fn object(held: &mut T) -> &mut T {
        held
    }

    #[inline]
    fn give(&self, held: T) {
        drop(black_box(held));
    }

    fn to_msg(&self, held: T) -> T {
        held
    }

    fn finish(&self, msg: T) {
        msg.touch();
    }
}

/// The floor: a hand-written `thread_local!` `RefCell<Vec<T>>` free list, with no bound, no
/// sharing and no bookkeeping. What a pool's fast path cannot beat by much.
pub struct Floor<T: Object>(PhantomData<fn() -> T>);

impl<T: Object> Floor<T> {
    /// The floor baseline.
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T: Object> Drop for Floor<T> {
    fn drop(&mut self) {
        // Per thread, not per value: empty this thread's list for the next measurement.
        T::floor(|list| list.borrow_mut().clear());
    }
}

impl<T: Object> Subject<T> for Floor<T> {
    type Held<'a> = T;
    type Msg<'a> = T;
    const HANDOFF: bool = false;

    fn name(&self) -> &'static str {
        "tl-floor"
    }

    #[inline]
    fn take(&self) -> T {
        T::floor(|list| list.borrow_mut().pop()).unwrap_or_else(T::fresh)
    }

    #[inline]
    fn object(held: &mut T) -> &mut T {
        held
    }

    #[inline]
    fn give(&self, mut held: T) {
        held.clear_all();
        T::floor(|list| list.borrow_mut().push(held));
    }

    fn to_msg(&self, held: T) -> T {
        held
    }

    fn finish(&self, msg: T) {
        self.give(msg);
    }

    fn release_idle(&self) -> &'static str {
        T::floor(|list| list.borrow_mut().clear());
        "clear() the list (this thread only)"
    }
}

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

/// Writes the [`Subject`] impl of a pool whose checkout is also the message sent across
/// threads: every subject but [`Slab`]. The impl's fixed part comes from here: `Msg` is
/// `Held`, `object` and `to_msg` hand the checkout through, and `finish` reads the object and
/// gives it back as `give` does (unless the call writes its own `finish`).
///
/// Each call writes out what a reader checks for fairness, in the syntax of the method it
/// becomes (`fn take(&self) = expr;` is `fn take(&self) -> Self::Held<'_> { expr }`): the
/// checkout type, the pool's own calls to take an object and to give it back (resetting it by
/// hand where the pool has no hook), and, where the pool has them, its means of releasing idle
/// memory (the trait's default: none) and its counters.
macro_rules! subject {
    (
        impl $(<$g:ident: $bound:path>)? Subject<$obj:ty> for $ty:ty {
            $(const HANDOFF: bool = $handoff:expr;)?
            type Held<$a:lifetime> = $held:ty;
            fn name(&$name_self:ident) = $name:expr;
            fn take(&$take_self:ident) = $take:expr;
            fn give(&$give_self:ident, $give_held:pat_param) = $give:expr;
            $(fn finish(&$finish_self:ident, $finish_msg:pat_param) = $finish:expr;)?
            $(fn release_idle(&$release_self:ident) = $release:expr;)?
            $(fn stats_line(&$stats_self:ident) = $stats:expr;)?
        }
    ) => {
        impl $(<$g: $bound>)? Subject<$obj> for $ty {
            type Held<$a> = $held;
            type Msg<$a> = $held;
            $(const HANDOFF: bool = $handoff;)?

            fn name(&$name_self) -> &'static str {
                $name
            }

            #[inline]
            fn take(&$take_self) -> Self::Held<'_> {
                $take
            }

            #[inline]
            fn object<'h>(held: &'h mut Self::Held<'_>) -> &'h mut $obj {
                held
            }

            #[inline]
            fn give(&$give_self, $give_held: Self::Held<'_>) {
                $give;
            }

            fn to_msg<'a>(&'a self, held: Self::Held<'a>) -> Self::Msg<'a> {
                held
            }

            subject!(@finish $(fn finish(&$finish_self, $finish_msg) = $finish;)?);

            $(
                fn release_idle(&$release_self) -> &'static str {
                    $release
                }
            )?

            $(
                fn stats_line(&$stats_self) -> Option<String> {
                    $stats
                }
            )?
        }
    };
    (@finish fn finish(&$finish_self:ident, $finish_msg:pat_param) = $finish:expr;) => {
        fn finish<'a>(&'a $finish_self, $finish_msg: Self::Msg<'a>) {
            $finish;
        }
    };
    (@finish) => {
        fn finish<'a>(&'a self, msg: Self::Msg<'a>) {
            msg.touch();
            self.give(msg);
        }
    };
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

subject! {
    impl<T: Object> Subject<T> for Ours<T> {
        type Held<'a> = Pooled<'a, T>;
        fn name(&self) = self.name;
        fn take(&self) = self.pool.get();
        fn give(&self, held) = drop(held); // reset by `T::reset` and returned
        fn release_idle(&self) = {
            self.pool.sweep();
            self.pool.sweep();
            "sweep() x2"
        };
        fn stats_line(&self) = Some(self.pool.stats().to_string());
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

subject! {
    impl Subject<Vec<u8>> for Buffers {
        type Held<'a> = Buffer<'a>;
        fn name(&self) = "pool-core-buffers";
        fn take(&self) = self.0.get(CAP);
        fn give(&self, held) = drop(held); // cleared and returned to the class of its capacity
        fn release_idle(&self) = {
            self.0.sweep();
            self.0.sweep();
            "sweep() x2"
        };
        // `BufferStats`' own `Display` is a per-class table; one line is enough here.
        fn stats_line(&self) = Some(self.0.stats().total.to_string());
    }
}

// === lockfree-object-pool ===

/// lockfree-object-pool's two pools, one API: `new(make, reset)`, `pull()`, and a guard that
/// runs `reset` and returns the object when dropped. One adapter, `$name`, for its pool
/// `$pool` and guard `$guard`.
macro_rules! lockfree_subject {
    ($(#[$doc:meta])* $name:ident($pool:ident, $guard:ident) = $label:literal) => {
        $(#[$doc])*
        pub struct $name<T: Object>(lockfree_object_pool::$pool<T>);

        impl<T: Object> $name<T> {
            /// A pool making `T::fresh()` and resetting with `clear_all`.
            pub fn new() -> Self {
                Self(lockfree_object_pool::$pool::new(T::fresh, T::clear_all))
            }
        }

        subject! {
            impl<T: Object> Subject<T> for $name<T> {
                type Held<'a> = lockfree_object_pool::$guard<'a, T>;
                fn name(&self) = $label;
                fn take(&self) = self.0.pull();
                fn give(&self, held) = drop(held); // reset by `clear_all` and returned
            }
        }
    };
}

lockfree_subject! {
    /// `lockfree_object_pool::LinearObjectPool`: reset closure on return.
    Linear(LinearObjectPool, LinearReusable) = "lockfree-linear"
}

lockfree_subject! {
    /// `lockfree_object_pool::SpinLockObjectPool`.
    SpinLock(SpinLockObjectPool, SpinLockReusable) = "lockfree-spinlock"
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

subject! {
    impl<T: Object> Subject<T> for ObjectPool<T> {
        type Held<'a> = object_pool::Reusable<'a, T>;
        fn name(&self) = "object-pool";
        fn take(&self) = self.0.pull(T::fresh);
        fn give(&self, mut held) = {
            held.clear_all();
            drop(held);
        };
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

subject! {
    impl<T: Object> Subject<T> for Opool<T> {
        type Held<'a> = opool::RefGuard<'a, OpoolAlloc<T>, T>;
        fn name(&self) = "opool";
        fn take(&self) = self.0.get();
        fn give(&self, held) = drop(held);
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

subject! {
    impl<T: Object> Subject<T> for PoolsharkLocal<T> {
        type Held<'a> = poolshark::local::LPooled<T>;
        fn name(&self) = "poolshark-local";
        fn take(&self) = {
            let mut held = poolshark::local::LPooled::<T>::take();
            held.ensure_capacity();
            held
        };
        fn give(&self, held) = drop(held); // `Poolable::reset`, then into this thread's pool
        fn release_idle(&self) = {
            poolshark::local::clear_type::<T>();
            "local::clear_type() (this thread only)"
        };
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

subject! {
    impl<T: Object> Subject<T> for PoolsharkGlobal<T> {
        type Held<'a> = poolshark::global::GPooled<T>;
        fn name(&self) = "poolshark-global";
        fn take(&self) = {
            let mut held = self.0.take();
            held.ensure_capacity();
            held
        };
        fn give(&self, held) = drop(held);
        fn release_idle(&self) = {
            self.0.prune();
            self.0.prune();
            "prune() x2"
        };
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

subject! {
    impl<T: Object> Subject<T> for Regex<T> {
        type Held<'a> = RegexGuard<'a, T>;
        fn name(&self) = "regex-automata";
        fn take(&self) = self.0.get();
        fn give(&self, mut held) = {
            held.clear_all();
            RegexGuard::put(held);
        };
    }
}

// === sharded-slab ===

/// `sharded_slab::Pool`: a keyed slab. `create` checks a slot out, `clear(key)` gives it back
/// (running `Clear::clear`, which keeps capacity); dropping the guard alone does not. Written
/// out rather than with [`subject!`]: the message is the slot's key, not the guard.
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

subject! {
    impl<T: Object> Subject<T> for Fresh<T> {
        type Held<'a> = T;
        fn name(&self) = "fresh-alloc";
        fn take(&self) = T::fresh();
        fn give(&self, held) = drop(black_box(held));
        fn finish(&self, msg) = msg.touch(); // and dropped
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

subject! {
    impl<T: Object> Subject<T> for Floor<T> {
        const HANDOFF: bool = false;
        type Held<'a> = T;
        fn name(&self) = "tl-floor";
        fn take(&self) = T::floor(|list| list.borrow_mut().pop()).unwrap_or_else(T::fresh);
        fn give(&self, mut held) = {
            held.clear_all();
            T::floor(|list| list.borrow_mut().push(held));
        };
        fn finish(&self, msg) = self.give(msg);
        fn release_idle(&self) = {
            T::floor(|list| list.borrow_mut().clear());
            "clear() the list (this thread only)"
        };
    }
}

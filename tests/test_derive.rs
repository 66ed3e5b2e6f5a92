//! `#[derive(Reset)]` as a user sees it: every accepted attribute form, run.

use pool_core::{LimitCapacity, Reset, ZeroFill};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver};

// === structs: every field reset, allocations kept ===

#[derive(Reset, Debug)]
struct Request {
    body: Vec<u8>,
    path: String,
    headers: HashMap<String, String>,
    retries: u32,
    done: bool,
}

fn used_request() -> Request {
    let mut request = Request {
        body: Vec::with_capacity(1024),
        path: String::with_capacity(64),
        headers: HashMap::with_capacity(16),
        retries: 3,
        done: true,
    };
    request.body.extend_from_slice(b"hello");
    request.path.push_str("/index.html");
    request.headers.insert("host".into(), "example.org".into());
    request
}

#[test]
fn named_struct_resets_every_field_and_keeps_capacity() {
    let mut request = used_request();
    let headers_capacity = request.headers.capacity();
    request.reset();

    assert!(request.body.is_empty() && request.body.capacity() >= 1024);
    assert!(request.path.is_empty() && request.path.capacity() >= 64);
    assert!(request.headers.is_empty());
    assert_eq!(request.headers.capacity(), headers_capacity);
    assert_eq!(request.retries, 0);
    assert!(!request.done);
}

#[test]
fn retained_bytes_sums_the_fields() {
    let mut request = used_request();
    request.reset();
    let expected = request.body.retained_bytes()
        + request.path.retained_bytes()
        + request.headers.retained_bytes();
    assert!(expected >= 1024 + 64);
    assert_eq!(request.retained_bytes(), expected);
}

#[derive(Reset)]
struct Pair(Vec<u32>, String);

#[derive(Reset)]
struct Marker;

#[test]
fn tuple_and_unit_structs() {
    let mut pair = Pair(Vec::with_capacity(8), String::from("abc"));
    pair.0.push(1);
    pair.reset();
    assert!(pair.0.is_empty() && pair.0.capacity() >= 8);
    assert!(pair.1.is_empty() && pair.1.capacity() >= 3);
    assert_eq!(
        pair.retained_bytes(),
        pair.0.capacity() * 4 + pair.1.capacity()
    );

    let mut marker = Marker;
    marker.reset();
    assert_eq!(marker.retained_bytes(), 0);
}

#[derive(Reset)]
struct Outer {
    inner: Request,
    scratch: Vec<u64>,
}

#[test]
fn nested_derived_structs_reset_through() {
    let mut outer = Outer {
        inner: used_request(),
        scratch: vec![1, 2, 3],
    };
    outer.reset();
    assert!(outer.inner.body.is_empty() && outer.inner.path.is_empty());
    assert_eq!(outer.inner.retries, 0);
    assert!(outer.scratch.is_empty());
    assert_eq!(
        outer.retained_bytes(),
        outer.inner.retained_bytes() + outer.scratch.capacity() * 8
    );
}

// === field attributes ===

fn reset_to_seven(n: &mut u8) {
    *n = 7;
}

#[derive(Reset)]
struct Attributes {
    #[reset(skip)]
    id: u64,
    #[reset(default)]
    label: String,
    #[reset(with = reset_to_seven)]
    generation: u8,
    #[reset(value = vec![0xAA; 2])]
    canary: Vec<u8>,
    #[reset(value = Some(1))]
    attempts: Option<u8>,
}

#[test]
fn skip_default_with_and_value() {
    let mut value = Attributes {
        id: 42,
        label: String::with_capacity(100),
        generation: 1,
        canary: Vec::new(),
        attempts: None,
    };
    value.label.push_str("old");
    value.reset();
    assert_eq!(value.id, 42, "skip leaves the field as it is");
    assert!(value.label.is_empty());
    assert_eq!(
        value.label.capacity(),
        0,
        "default replaces the value, dropping its allocation"
    );
    assert_eq!(value.generation, 7, "with calls the function");
    assert_eq!(value.canary, [0xAA, 0xAA], "value assigns the expression");
    assert_eq!(value.attempts, Some(1));
    assert_eq!(
        value.retained_bytes(),
        0,
        "only fields reset by their own Reset::reset count"
    );
}

#[derive(Reset)]
struct Limited {
    #[reset(max_capacity = 4096)]
    buf: Vec<u8>,
    #[reset(max_capacity = LIMIT * 2)]
    names: String,
    #[reset(max_capacity = 8, zero)]
    secret: Vec<u8>,
}

const LIMIT: usize = 32;

#[test]
fn max_capacity_shrinks_only_what_grew() {
    let mut value = Limited {
        buf: Vec::with_capacity(1 << 20),
        names: String::with_capacity(10),
        secret: Vec::new(),
    };
    value.buf.extend_from_slice(&[1; 100]);
    value.names.push('a');
    let names_capacity = value.names.capacity();
    value.reset();
    assert!(value.buf.is_empty());
    assert!(value.buf.capacity() <= 4096, "a megabyte is not kept");
    assert_eq!(
        value.names.capacity(),
        names_capacity,
        "under the limit: untouched"
    );
}

#[derive(Reset)]
struct Secret {
    #[reset(zero)]
    key: Vec<u8>,
    #[reset(zero)]
    block: [u8; 4],
    #[reset(zero)]
    text: String,
}

#[test]
fn zero_fills_then_resets() {
    let mut secret = Secret {
        key: b"hunter2".to_vec(),
        block: [1, 2, 3, 4],
        text: String::from("password"),
    };
    let capacity = secret.key.capacity();
    secret.reset();
    assert!(secret.key.is_empty(), "reset runs after the zeroing");
    assert_eq!(secret.key.capacity(), capacity, "the allocation is kept");
    assert_eq!(secret.block, [0; 4]);
    assert!(secret.text.is_empty());
}

/// Logs which of the three traits the derive calls on it, in order.
struct Recorder(Vec<String>);

impl Reset for Recorder {
    fn reset(&mut self) {
        self.0.push("reset".into());
    }
    fn retained_bytes(&self) -> usize {
        self.0.len()
    }
}

impl ZeroFill for Recorder {
    fn zero_fill(&mut self) {
        self.0.push("zero_fill".into());
    }
}

impl LimitCapacity for Recorder {
    fn limit_capacity(&mut self, max: usize) {
        self.0.push(format!("limit_capacity({max})"));
    }
}

#[derive(Reset)]
struct Steps {
    #[reset(max_capacity = 64, zero)]
    both: Recorder,
    #[reset(zero)]
    zero: Recorder,
    plain: Recorder,
}

#[test]
fn zero_runs_before_reset_and_max_capacity_after() {
    let mut steps = Steps {
        both: Recorder(Vec::new()),
        zero: Recorder(Vec::new()),
        plain: Recorder(Vec::new()),
    };
    steps.reset();
    assert_eq!(
        steps.both.0,
        ["zero_fill", "reset", "limit_capacity(64)"],
        "the order does not depend on the order of the keys"
    );
    assert_eq!(steps.zero.0, ["zero_fill", "reset"]);
    assert_eq!(steps.plain.0, ["reset"]);
    assert_eq!(steps.retained_bytes(), 3 + 2 + 1);
}

thread_local! {
    /// The steps of [`Wiped`]'s reset, across its fields.
    static WIPE_ORDER: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Logs its steps, with its name, in [`WIPE_ORDER`].
struct Named(&'static str);

impl Reset for Named {
    fn reset(&mut self) {
        WIPE_ORDER.with_borrow_mut(|order| order.push(format!("reset {}", self.0)));
    }
}

impl ZeroFill for Named {
    fn zero_fill(&mut self) {
        WIPE_ORDER.with_borrow_mut(|order| order.push(format!("zero {}", self.0)));
    }
}

#[derive(Reset)]
struct Wiped {
    plain: Named,
    #[reset(zero)]
    secret: Named,
    #[reset(zero)]
    key: Named,
}

#[test]
fn every_zero_field_is_wiped_before_any_field_is_reset() {
    // So a reset that panics in an earlier field leaves no secret behind.
    let mut wiped = Wiped {
        plain: Named("plain"),
        secret: Named("secret"),
        key: Named("key"),
    };
    wiped.reset();
    assert_eq!(
        WIPE_ORDER.take(),
        [
            "zero secret",
            "zero key",
            "reset plain",
            "reset secret",
            "reset key"
        ]
    );
}

// === a channel end and a lock: `with` and the `Mutex` impl ===

fn drain_receiver(rx: &mut Receiver<u8>) {
    while rx.try_recv().is_ok() {}
}

#[derive(Reset)]
struct Worker {
    scratch: Mutex<Vec<u8>>,
    #[reset(with = drain_receiver)]
    inbox: Receiver<u8>,
}

#[test]
fn with_drains_a_receiver_and_mutex_contents_are_reset() {
    let (tx, rx) = mpsc::channel();
    let mut worker = Worker {
        scratch: Mutex::new(Vec::with_capacity(32)),
        inbox: rx,
    };
    worker.scratch.lock().unwrap().extend_from_slice(b"data");
    tx.send(1).unwrap();
    tx.send(2).unwrap();

    worker.reset();

    let scratch = worker.scratch.lock().unwrap();
    assert!(scratch.is_empty() && scratch.capacity() >= 32);
    drop(scratch);
    assert!(
        worker.inbox.try_recv().is_err(),
        "queued messages were drained"
    );
    tx.send(3).unwrap();
    assert_eq!(worker.inbox.recv().unwrap(), 3, "the channel still works");
    let capacity = worker.scratch.lock().unwrap().capacity();
    assert_eq!(
        worker.retained_bytes(),
        capacity,
        "the Mutex reports its contents"
    );
}

// === generics: bounds inferred per field ===

/// `T` is in a reset field: `T: Reset` is inferred. `Tag` is only in a skipped field and
/// `Item` only inside a `Vec`, so neither needs `Reset`.
#[derive(Reset)]
struct Slot<'a, T, Tag, Item, const N: usize> {
    value: T,
    items: Vec<Item>,
    #[reset(skip)]
    tag: Tag,
    #[reset(skip)]
    name: &'a str,
    counts: [u16; N],
}

/// Not `Reset`, not `Default`: fine as `Tag` and `Item`.
#[derive(Debug, PartialEq)]
struct Opaque(u8);

#[test]
fn generics_infer_bounds_only_where_needed() {
    let mut slot = Slot::<'_, Vec<u8>, Opaque, Opaque, 3> {
        value: vec![1, 2, 3],
        items: vec![Opaque(1)],
        tag: Opaque(9),
        name: "slot",
        counts: [1, 2, 3],
    };
    slot.reset();
    assert!(slot.value.is_empty());
    assert!(slot.items.is_empty());
    assert_eq!(slot.tag, Opaque(9));
    assert_eq!(slot.name, "slot");
    assert_eq!(slot.counts, [0; 3]);

    fn is_reset<T: Reset>() {}
    is_reset::<Slot<'static, u32, Opaque, Opaque, 1>>();
    is_reset::<Slot<'static, Request, Opaque, std::rc::Rc<u8>, 0>>();
}

#[derive(Reset)]
struct Defaulted<T> {
    #[reset(default)]
    value: T,
}

#[test]
fn default_field_of_generic_type_infers_default() {
    let mut value = Defaulted { value: Opaque2(5) };
    value.reset();
    assert_eq!(value.value, Opaque2(0));
}

#[derive(Default, Debug, PartialEq)]
struct Opaque2(u8);

/// `bound(...)` adds to the inferred bounds: here for the `with` function's needs.
#[derive(Reset)]
#[reset(bound(T: Clone + Default))]
struct Cloned<T> {
    #[reset(with = reset_via_clone)]
    value: T,
}

fn reset_via_clone<T: Clone + Default>(value: &mut T) {
    let fresh = T::default();
    value.clone_from(&fresh);
}

#[test]
fn bound_attribute_adds_where_clauses() {
    let mut value = Cloned {
        value: String::from("x"),
    };
    value.reset();
    assert!(value.value.is_empty());
}

/// Recursive through a boxed slice: the field's own where-clause (`Box<[Tree<T>]>: Reset`)
/// would be a cycle, so the impl is bounded by `value`'s `T: Reset` alone.
#[derive(Reset)]
struct Tree<T> {
    value: T,
    kids: Box<[Tree<T>]>,
    #[reset(zero)]
    label: Vec<u8>,
}

/// The same through `Self`, an array and a tuple.
#[derive(Reset)]
struct Nested<T> {
    value: T,
    pair: Option<Box<(Self, [Self; 1])>>,
}

#[test]
fn recursive_generic_types_get_a_usable_impl() {
    fn leaf(value: u32) -> Tree<u32> {
        Tree {
            value,
            kids: Box::default(),
            label: b"leaf".to_vec(),
        }
    }
    let mut tree = Tree {
        value: 7u32,
        kids: vec![leaf(1), leaf(2)].into_boxed_slice(),
        label: b"root".to_vec(),
    };
    tree.reset();
    assert_eq!(tree.value, 0);
    assert!(
        tree.kids
            .iter()
            .all(|kid| kid.value == 0 && kid.label.is_empty())
    );
    assert!(tree.label.is_empty());

    let mut nested = Nested {
        value: String::from("x"),
        pair: None,
    };
    nested.reset();
    assert!(nested.value.is_empty());

    fn is_reset<T: Reset>() {}
    is_reset::<Tree<Vec<u8>>>();
    is_reset::<Nested<u32>>();
    let pool: pool_core::Pool<Tree<u32>> = pool_core::Pool::with_init(|| leaf(3));
    assert_eq!(pool.get().value, 3, "made by init");
}

/// A type of the same name in another module is another type: `Request<T>` below needs
/// `T: Reset` through `inner::Request<T>`, and `Frame<C>` needs `C::Frame: Reset`.
mod same_name {
    pub mod inner {
        #[derive(pool_core::Reset)]
        pub struct Request<T> {
            pub body: T,
        }
    }

    #[derive(pool_core::Reset)]
    pub struct Request<T> {
        pub inner: inner::Request<T>,
        pub extra: Vec<u8>,
    }

    pub trait Codec {
        type Frame;
    }

    pub struct Lines;

    impl Codec for Lines {
        type Frame = String;
    }

    #[derive(pool_core::Reset)]
    pub struct Frame<C: Codec> {
        pub frame: C::Frame,
        pub raw: Vec<u8>,
    }
}

#[test]
fn a_type_named_like_the_deriving_one_still_gets_its_bound() {
    let mut request = same_name::Request {
        inner: same_name::inner::Request {
            body: String::from("body"),
        },
        extra: vec![1],
    };
    request.reset();
    assert!(request.inner.body.is_empty() && request.extra.is_empty());

    let mut frame = same_name::Frame::<same_name::Lines> {
        frame: String::from("line"),
        raw: vec![2],
    };
    frame.reset();
    assert!(frame.frame.is_empty() && frame.raw.is_empty());
}

// === hygiene: types, fields and attribute values that come from a `macro_rules!` caller ===

macro_rules! counter {
    ($name:ident, $count:ident) => {
        #[derive(Reset)]
        struct $name {
            count: $count,
            seen: Vec<u8>,
        }
    };
}

macro_rules! pair {
    ($name:ident, $($first:tt)*) => {
        #[derive(Reset)]
        struct $name($($first)*, Vec<u8>);
    };
}

macro_rules! with_attributes {
    ($name:ident, $value:expr, $with:path) => {
        #[derive(Reset)]
        struct $name {
            #[reset(value = $value)]
            retries: u32,
            #[reset(with = $with)]
            log: Vec<u8>,
        }
    };
}

counter!(Hits, u64);
pair!(Tagged, String);
with_attributes!(Retrying, 3, Vec::clear);

/// `usize` shadowed where the derive expands: the generated signature names the primitive.
mod shadowed {
    #[allow(non_camel_case_types, dead_code)]
    type usize = u32;

    #[derive(pool_core::Reset)]
    pub struct Shadowed {
        pub data: Vec<u8>,
    }
}

#[test]
fn the_derive_expands_inside_macros_and_beside_shadowed_names() {
    let mut hits = Hits {
        count: 5,
        seen: vec![1],
    };
    hits.reset();
    assert_eq!((hits.count, hits.seen.len()), (0, 0));

    let mut pair = Tagged(String::from("x"), vec![1]);
    pair.reset();
    assert!(pair.0.is_empty() && pair.1.is_empty());

    let mut retrying = Retrying {
        retries: 0,
        log: vec![1],
    };
    retrying.reset();
    assert_eq!((retrying.retries, retrying.log.len()), (3, 0));

    let mut shadowed = shadowed::Shadowed {
        data: Vec::with_capacity(64),
    };
    shadowed.data.push(1);
    shadowed.reset();
    assert!(shadowed.data.is_empty());
    assert_eq!(shadowed.retained_bytes(), 64);
}

// === enums ===

#[derive(Reset, Debug, PartialEq)]
enum Conn {
    Closed,
    #[reset(default)]
    Idle {
        buf: Vec<u8>,
        #[reset(skip)]
        id: u32,
        #[reset(value = 3)]
        budget: u8,
    },
    Busy(String),
}

#[test]
fn enum_in_the_default_variant_resets_in_place() {
    let mut conn = Conn::Idle {
        buf: Vec::with_capacity(256),
        id: 7,
        budget: 0,
    };
    if let Conn::Idle { buf, .. } = &mut conn {
        buf.extend_from_slice(b"abc");
    }
    conn.reset();
    let Conn::Idle { buf, id, budget } = &conn else {
        panic!("still Idle");
    };
    assert!(buf.is_empty());
    assert!(buf.capacity() >= 256, "in place: the buffer is kept");
    assert_eq!(*id, 7, "skip leaves the field as it is");
    assert_eq!(*budget, 3);
    assert_eq!(conn.retained_bytes(), buf.capacity());
}

#[test]
fn enum_in_another_variant_becomes_a_fresh_default_variant() {
    let mut conn = Conn::Busy("request".into());
    conn.reset();
    assert_eq!(
        conn,
        Conn::Idle {
            buf: Vec::new(),
            id: 0,
            budget: 3
        },
        "each field from `value = ...` or Default::default(), skip included"
    );

    let mut closed = Conn::Closed;
    closed.reset();
    assert!(matches!(closed, Conn::Idle { budget: 3, .. }));
}

#[derive(Reset, Debug, PartialEq)]
enum Phase {
    #[reset(default)]
    Start,
    Running(u32),
}

#[derive(Reset, Debug, PartialEq)]
enum Only {
    #[reset(default)]
    One(Vec<u8>, #[reset(skip)] u8),
}

#[derive(Reset, Debug, PartialEq)]
enum Holder<T> {
    #[reset(default)]
    Empty,
    Full(T),
}

#[test]
fn enums_unit_single_variant_and_generic() {
    let mut phase = Phase::Running(5);
    phase.reset();
    assert_eq!(phase, Phase::Start);
    assert_eq!(phase.retained_bytes(), 0);

    let mut only = Only::One(vec![1, 2], 9);
    only.reset();
    assert_eq!(only, Only::One(Vec::new(), 9));

    // `T` appears only in a variant that reset replaces: no bound on it.
    let mut holder = Holder::Full(Opaque(1));
    holder.reset();
    assert_eq!(holder, Holder::Empty);
}

// === `crate = path`: the derive used through a re-export ===

mod facade {
    pub use pool_core as pool;
}

mod user {
    use super::facade::pool;

    #[derive(pool::Reset)]
    #[reset(crate = crate::facade::pool)]
    pub struct Buffered {
        pub data: Vec<u8>,
        #[reset(max_capacity = 16)]
        pub spare: Vec<u8>,
    }
}

/// The same path handed in by a `macro_rules!` caller (a `path` fragment).
macro_rules! through {
    ($krate:path) => {
        #[derive(facade::pool::Reset)]
        #[reset(crate = $krate)]
        struct Through {
            data: Vec<u8>,
        }
    };
}

through!(crate::facade::pool);

#[test]
fn crate_attribute_reaches_a_re_exported_pool_core() {
    let mut through = Through { data: vec![1] };
    through.reset();
    assert!(through.data.is_empty());

    let mut value = user::Buffered {
        data: vec![1],
        spare: Vec::with_capacity(1000),
    };
    value.reset();
    assert!(value.data.is_empty());
    assert!(value.spare.capacity() <= 16);
}

// === a !Send resettable type, for the pool's Send/Sync rules ===

#[derive(Reset)]
struct NotSend {
    data: Vec<u8>,
    #[reset(skip)]
    _marker: PhantomData<*const ()>,
}

#[test]
fn phantom_marker_can_be_skipped() {
    let mut value = NotSend {
        data: vec![1],
        _marker: PhantomData,
    };
    value.reset();
    assert!(value.data.is_empty());
}

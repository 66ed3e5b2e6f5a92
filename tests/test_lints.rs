//! The derive's expansion under strict lints in the user's crate: it must add no warning.
//!
//! `cargo test` checks the rustc lints below; `cargo clippy --all-targets` the clippy ones.

/// Derives inside a module that denies what a careful crate denies.
pub mod strict {
    #![deny(warnings, unused_qualifications, missing_docs, unused_results)]
    #![deny(rust_2018_idioms, unreachable_pub, single_use_lifetimes, trivial_casts)]
    #![deny(clippy::all, clippy::pedantic, clippy::nursery, clippy::cargo)]
    #![deny(clippy::allow_attributes, clippy::allow_attributes_without_reason)]
    #![deny(clippy::default_trait_access, clippy::used_underscore_binding)]
    #![deny(
        clippy::arithmetic_side_effects,
        clippy::absolute_paths,
        clippy::pattern_type_mismatch
    )]

    // Everything the expansion names is also in scope under its short name, so that any
    // over-qualified path in user-spanned tokens would trip `unused_qualifications`.
    use pool_core::{LimitCapacity, Reset, ZeroFill};
    use std::collections::HashMap;
    use std::marker::PhantomData;

    /// Drains whatever a field holds.
    pub fn clear(values: &mut Vec<u32>) {
        values.clear();
    }

    /// Every field form.
    #[derive(Reset)]
    pub struct Everything<'a, T, const N: usize> {
        /// Reset through its own impl.
        pub buf: Vec<u8>,
        /// Kept as is.
        #[reset(skip)]
        pub name: &'a str,
        /// Replaced.
        #[reset(default)]
        pub count: u64,
        /// Cleared by a function.
        #[reset(with = clear)]
        pub values: Vec<u32>,
        /// Assigned.
        #[reset(value = 7)]
        pub seven: u8,
        /// Shrunk.
        #[reset(max_capacity = 64)]
        pub map: HashMap<u8, u8>,
        /// Zeroed.
        #[reset(zero, max_capacity = N)]
        pub secret: Vec<u8>,
        /// Generic.
        pub value: T,
        /// Array of a const size.
        pub block: [u8; N],
        /// A marker.
        pub marker: PhantomData<T>,
    }

    /// Tuple form with a user bound.
    #[derive(Reset)]
    #[reset(bound(T: Clone))]
    pub struct Tuple<T>(pub Vec<T>, #[reset(skip)] pub T);

    /// Unit form.
    #[derive(Reset)]
    pub struct Unit;

    /// Every variant shape.
    #[derive(Reset)]
    pub enum State<T> {
        /// Unit.
        Closed,
        /// Named, the default.
        #[reset(default)]
        Open {
            /// Kept.
            buf: Vec<u8>,
            /// Kept as is.
            #[reset(skip)]
            id: u32,
            /// Assigned.
            #[reset(value = 1)]
            epoch: u8,
        },
        /// Tuple.
        Busy(T, u8),
    }

    /// Single variant, tuple.
    #[derive(Reset)]
    pub enum Single {
        /// The only one.
        #[reset(default)]
        Only(Vec<u8>, #[reset(zero)] [u8; 2]),
    }

    /// Single unit variant.
    #[derive(Reset)]
    pub enum Lone {
        /// The only one.
        #[reset(default)]
        Only,
    }

    /// Two variants, default is unit: `match` with one explicit other arm.
    #[derive(Reset)]
    pub enum Two {
        /// Default.
        #[reset(default)]
        Idle,
        /// Other.
        Busy {
            /// Dropped on reset.
            job: String,
        },
    }

    /// Uses the imports, so that they are not unused.
    pub fn touch(value: &mut Vec<u8>) -> usize {
        value.zero_fill();
        value.limit_capacity(8);
        value.reset();
        value.retained_bytes()
    }
}

#[test]
fn strict_module_derives_work() {
    use pool_core::Reset;
    let mut value = strict::Everything::<'_, Vec<u8>, 2> {
        buf: vec![1],
        name: "n",
        count: 3,
        values: vec![1],
        seven: 0,
        map: std::collections::HashMap::new(),
        secret: vec![9],
        value: vec![2],
        block: [1, 2],
        marker: std::marker::PhantomData,
    };
    value.reset();
    assert!(value.buf.is_empty() && value.values.is_empty() && value.value.is_empty());
    assert_eq!(
        (value.name, value.count, value.seven, value.block),
        ("n", 0, 7, [0, 0])
    );

    let mut state = strict::State::Busy(1u8, 2);
    state.reset();
    assert!(matches!(state, strict::State::Open { epoch: 1, .. }));
    let mut bytes = vec![1, 2];
    let retained = strict::touch(&mut bytes);
    assert_eq!(retained, bytes.capacity());
}

//! A reference field is accepted once the derive is told how to reset it.
use pool_core::Reset;

#[derive(Reset)]
struct Labelled {
    #[reset(value = "")]
    name: &'static str,
    #[reset(skip)]
    table: &'static [u8],
    body: Vec<u8>,
}

fn main() {
    let mut labelled = Labelled {
        name: "alice",
        table: b"abc",
        body: vec![1],
    };
    labelled.reset();
    assert_eq!((labelled.name, labelled.table, labelled.body.len()), ("", &b"abc"[..], 0));
}

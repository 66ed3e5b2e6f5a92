// Every accepted attribute form, in one type each for structs and enums.
use pool_core::Reset;
use std::collections::HashMap;

fn drain(values: &mut Vec<u32>) {
    values.clear();
}

#[derive(Reset)]
#[reset(bound(T: Clone))]
struct Everything<T> {
    plain: Vec<u8>,
    #[reset(skip)]
    id: u64,
    #[reset(default)]
    count: u64,
    #[reset(with = drain)]
    values: Vec<u32>,
    #[reset(value = 7)]
    seven: u8,
    #[reset(max_capacity = 64)]
    map: HashMap<u8, u8>,
    #[reset(zero, max_capacity = 1 << 10)]
    secret: Vec<u8>,
    value: T,
}

#[derive(Reset)]
struct Tuple(Vec<u8>, #[reset(skip)] u8);

#[derive(Reset)]
struct Unit;

#[derive(Reset)]
enum State {
    #[reset(default)]
    Idle {
        #[reset(max_capacity = 4096)]
        buf: Vec<u8>,
    },
    Busy(String),
}

fn main() {
    let mut value = Everything {
        plain: vec![1],
        id: 5,
        count: 2,
        values: vec![3],
        seven: 0,
        map: HashMap::new(),
        secret: vec![4],
        value: String::from("x"),
    };
    value.reset();
    assert_eq!((value.id, value.count, value.seven), (5, 0, 7));
    assert!(value.value.is_empty());

    let mut state = State::Busy(String::new());
    state.reset();
    assert!(matches!(state, State::Idle { .. }));

    let mut tuple = Tuple(vec![1], 2);
    tuple.reset();
    assert_eq!(tuple.1, 2);
    Unit.reset();
}

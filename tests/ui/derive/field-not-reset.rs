use pool_core::Reset;
use std::rc::Rc;

#[derive(Reset)]
struct Connection {
    buf: Vec<u8>,
    rx: std::sync::mpsc::Receiver<u8>,
    file: std::fs::File,
    shared: Rc<u8>,
}

fn main() {}

//! The derive's bindings for variant fields do not collide with constants the user has in
//! scope, whatever they are called (a pattern naming a constant would match it instead).

#![allow(non_upper_case_globals)]

use pool_core::Reset;

const field_0: u32 = 7;
const field_1: u32 = 8;

#[derive(Reset)]
enum Frame {
    #[reset(default)]
    Data(Vec<u8>, u32),
    Close,
}

#[derive(Reset)]
enum Message {
    #[reset(default)]
    Body {
        bytes: Vec<u8>,
        #[reset(value = field_1)]
        seq: u32,
    },
    Ping,
}

fn main() {
    let mut frame = Frame::Data(vec![1, 2, 3], field_0);
    frame.reset();
    assert!(matches!(frame, Frame::Data(ref bytes, 0) if bytes.is_empty()));
    let mut message = Message::Body { bytes: vec![1], seq: 3 };
    message.reset();
    assert!(matches!(message, Message::Body { ref bytes, seq: 8 } if bytes.is_empty()));
    let _ = (Frame::Close, Message::Ping);
}

//! The ESC/POS decoder (the virtual printer's, and the offline render tool's) on any byte
//! stream a peer may send.
//!
//! Input: byte 0 picks the power-up mode (bit 0: Chinese double-byte default) and the piece
//! size (bits 1–7, plus one); the rest is the stream.
//!
//! Invariants: no panic; never more than `MAX_BUFFERED` bytes held back; the elements do not
//! depend on how the stream was split across `push` calls (the decoder's documented promise);
//! text lines stay within `MAX_LINE_CHARS`; kept images are no larger than `MAX_IMAGE_BYTES`.

#![no_main]

use kiosk_drivers::printer::escpos::decode::{MAX_BUFFERED, MAX_IMAGE_BYTES, MAX_LINE_CHARS};
use kiosk_drivers::printer::escpos::{Decoder, Element};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, stream)) = input.split_first() else {
        return;
    };
    let chinese = mode & 1 == 1;
    let piece = usize::from(mode >> 1) + 1;

    let mut whole = Decoder::with_chinese_default(chinese);
    let mut at_once = whole.push(stream);
    assert!(whole.buffered() <= MAX_BUFFERED);
    at_once.extend(whole.finish());

    let mut split = Decoder::with_chinese_default(chinese);
    let mut in_pieces = Vec::new();
    for chunk in stream.chunks(piece) {
        in_pieces.extend(split.push(chunk));
        assert!(split.buffered() <= MAX_BUFFERED);
    }
    in_pieces.extend(split.finish());
    assert_eq!(
        at_once, in_pieces,
        "elements depend on how the stream was split"
    );

    for element in &at_once {
        match element {
            Element::Text { line, .. } => assert!(line.chars().count() <= MAX_LINE_CHARS),
            Element::Image {
                dots: Some(image), ..
            } => {
                let bytes = u64::from(image.width()).div_ceil(8) * u64::from(image.height());
                assert!(bytes <= MAX_IMAGE_BYTES);
            }
            _ => {}
        }
        let _ = element.to_string();
    }
});

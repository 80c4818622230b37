//! The ID-card reader's wire, host side: whatever bytes a reader (or a broken cable) sends go
//! through `FrameDecoder`, in pieces of arbitrary sizes, and every reply that comes out through
//! card parsing. The same bytes go through the simulator's `CommandDecoder`.
//!
//! Input: byte 0 is the piece size (1 to 256), the rest is the stream.

#![no_main]

use kiosk_drivers::idcard::frame::{MAX_BUFFERED, MAX_LEN};
use kiosk_drivers::idcard::{CommandDecoder, FrameDecoder, IdCard, encode_command};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&piece, stream)) = input.split_first() else {
        return;
    };
    let piece = usize::from(piece) + 1;

    let mut decoder = FrameDecoder::new();
    for chunk in stream.chunks(piece) {
        decoder.push(chunk);
        while let Some(reply) = decoder.next_response() {
            let Ok(response) = reply else { continue };
            assert!(response.data.len() < usize::from(MAX_LEN));
            // A reply re-encodes into a frame that decodes to the same reply (the encoder
            // writes SW1 SW2 = 00 00, so the bytes themselves may differ in those two).
            let mut again = FrameDecoder::new();
            again.push(&response.encode());
            let decoded = again
                .next_response()
                .expect("a whole frame")
                .expect("valid");
            assert_eq!(decoded, response);
            assert_eq!(again.buffered_len(), 0);
            check_card(&response.data);
        }
        assert!(decoder.buffered_len() <= MAX_BUFFERED);
    }

    let mut commands = CommandDecoder::new();
    for chunk in stream.chunks(piece) {
        commands.push(chunk);
        while let Some(command) = commands.next_command() {
            if let Ok(command) = command {
                let mut again = CommandDecoder::new();
                again.push(&encode_command(command));
                assert_eq!(again.next_command(), Some(Ok(command)));
            }
        }
        assert!(commands.buffered_len() <= MAX_BUFFERED);
    }
});

/// Card parsing of a reply's data; a card that parses encodes back into a reply that parses
/// to the same card, and its redacted views never fail.
fn check_card(data: &[u8]) {
    let Ok(card) = IdCard::from_read_reply(data) else {
        return;
    };
    let reply = card.encode_read_reply();
    let again = IdCard::from_read_reply(&reply).expect("an encoded card parses");
    assert!(again == card, "card changed through encode/parse");
    let _ = card.to_json(false);
    let _ = card.id_number().masked();
}

//! Card parsing on its own: the data of a `30 01`/`30 10` read reply (after SW3), as a reader
//! with a faulty or forged card might send it. Frames carry a checksum, which keeps a fuzzer
//! that starts from the wire from reaching most of the parser; this target starts after it.
//!
//! Invariants: no panic; a parsed card re-encodes into a reply that parses to the same card;
//! its fields stay within the text block's sizes; its redacted views never fail.

#![no_main]

use kiosk_drivers::idcard::IdCard;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(card) = IdCard::from_read_reply(data) else {
        return;
    };
    let reply = card.encode_read_reply();
    let again = IdCard::from_read_reply(&reply).expect("an encoded card parses");
    assert!(again == card, "card changed through encode/parse");
    // The text block is 256 bytes of UCS-2: no field can hold more than 128 characters.
    assert!(card.name().chars().count() <= 128);
    assert!(card.issuer().chars().count() <= 128);
    assert!(card.address().is_none_or(|a| a.chars().count() <= 128));
    assert!(card.photo().len() <= data.len());
    let masked = card.id_number().masked();
    assert_eq!(
        masked.chars().count(),
        card.id_number().expose().chars().count()
    );
    let _ = card.to_json(false);
    let _ = card.to_json(true);
    let _ = format!("{card:?}");
});

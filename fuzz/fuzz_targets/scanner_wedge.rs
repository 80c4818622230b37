//! The keyboard-wedge scanner: raw evdev `input_event` records (what the kernel hands the
//! kiosk from a scanner that types) through `WedgeDecoder`.
//!
//! Input: byte 0 is the length cap (1 to 256, or the default 4096 when 0); the rest is a
//! sequence of records of `InputEvent::SIZE` bytes.
//!
//! Invariants: no panic; a line is never empty, holds no forbidden character and fits the
//! cap; typed again as key presses (`keystrokes`) it decodes to itself.

#![no_main]

use kiosk_drivers::scanner::codec::is_forbidden_char;
use kiosk_drivers::scanner::wedge::keystrokes;
use kiosk_drivers::scanner::{LineConfig, MAX_PAYLOAD_LEN, WedgeDecoder, classify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&cap, records)) = input.split_first() else {
        return;
    };
    let max_len = if cap == 0 {
        MAX_PAYLOAD_LEN
    } else {
        usize::from(cap)
    };
    let config = LineConfig {
        max_len,
        ..LineConfig::default()
    };
    let mut decoder = WedgeDecoder::new(config);
    for line in decoder.push_records(records) {
        let Ok(text) = line else { continue };
        assert!(!text.is_empty());
        assert!(text.len() <= max_len);
        assert!(!text.chars().any(is_forbidden_char));
        let _ = classify(&text);
        let events = keystrokes(&text).expect("a decoded line is typeable");
        let mut again = WedgeDecoder::new(config);
        let lines: Vec<_> = events.into_iter().filter_map(|e| again.push(e)).collect();
        assert_eq!(lines, vec![Ok(text.clone())]);
    }
    let _ = decoder.interrupt();
    assert!(!decoder.has_partial());
});

//! The QR scanner's serial line codec (UTF-8 or GB18030 payloads, length cap, control
//! characters refused) and the payload classifier, on any bytes a scanner may send — a QR
//! code is whatever somebody printed.
//!
//! Input: byte 0 picks the suffix (bits 0–1) and the piece size (bits 2–7, plus one); byte 1
//! the length cap (1 to 256, or the default 4096 when 0); the rest is the stream.
//!
//! Invariants: no panic; a payload is never empty and holds no forbidden character; a
//! payload's UTF-8 within the cap, framed again by `encode_line`, decodes to itself; a URL
//! host is a piece of its payload.

#![no_main]

use kiosk_drivers::scanner::codec::{encode_line, is_forbidden_char};
use kiosk_drivers::scanner::{LineConfig, LineDecoder, MAX_PAYLOAD_LEN, Scan, ScanKind, Suffix};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let [mode, cap, stream @ ..] = input else {
        return;
    };
    let suffix = Suffix::ALL[usize::from(mode & 3) % Suffix::ALL.len()];
    let piece = usize::from(mode >> 2) + 1;
    let max_len = if *cap == 0 {
        MAX_PAYLOAD_LEN
    } else {
        usize::from(*cap)
    };
    let config = LineConfig { suffix, max_len };

    let mut decoder = LineDecoder::new(config);
    for chunk in stream.chunks(piece) {
        for line in decoder.push(chunk) {
            let Ok(text) = line else { continue };
            check_payload(config, &text);
        }
    }
    let _ = decoder.interrupt();
    assert!(!decoder.has_partial());
});

fn check_payload(config: LineConfig, text: &str) {
    assert!(!text.is_empty());
    assert!(!text.chars().any(is_forbidden_char));
    if text.len() <= config.max_len {
        let mut again = LineDecoder::new(config);
        let lines = again.push(&encode_line(text.as_bytes(), config.suffix));
        assert_eq!(lines, vec![Ok(text.to_owned())]);
        assert!(!again.has_partial());
    }
    let scan = Scan::new(text.to_owned());
    if let Some(host) = scan.url_host() {
        assert_eq!(scan.kind(), ScanKind::Url);
        assert!(!host.is_empty() && text.contains(host));
    }
    let _ = scan.kind().to_string();
    let _ = format!("{scan:?}");
}

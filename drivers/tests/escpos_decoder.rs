//! Decoder properties: robustness on arbitrary input, streams written by other libraries, and
//! round trips of our own documents.

use kiosk_drivers::printer::document::ReceiptDocument;
use kiosk_drivers::printer::escpos::decode::MAX_BUFFERED;
use kiosk_drivers::printer::escpos::{Align, Decoder, EcLevel, Element, PaperWidth};
use kiosk_drivers::printer::raster::DotImage;
use proptest::prelude::*;

/// The two data bytes of the small raster logo in [`captured_stream`].
const IMAGE_BITS: [u8; 2] = [0x1D, b'V'];

fn text(line: &str, bold: bool, align: Align, size: u8) -> Element {
    Element::Text {
        line: line.into(),
        bold,
        align,
        width: size,
        height: size,
    }
}

fn ignored(name: &str) -> Element {
    Element::Ignored { name: name.into() }
}

/// A receipt as a typical Python/PHP ESC/POS library writes it: ESC ! for emphasis and size,
/// CRLF line ends, underline, line spacing, a code-page selection, a barcode, a native QR, a
/// small raster logo, a cash drawer kick, and GS V 0 to cut. Plus one command nobody knows.
fn captured_stream() -> Vec<u8> {
    let mut b: Vec<u8> = Vec::new();
    b.extend(b"\x1b@");
    b.extend(b"\x1bt\x00");
    b.extend(b"\x1b!\x38RECEIPT\r\n");
    b.extend(b"\x1b!\x00\x1ba\x01Thank you\r\n\x1ba\x00");
    b.extend(b"\x1b-\x01underlined\n\x1b-\x00");
    b.extend(b"\x1b3\x1e\x1b2");
    b.extend(b"\x1dB\x01reverse\n\x1dB\x00");
    b.extend(b"\x1bM\x01\x1dL\x00\x00\x1dW\x40\x02");
    // Chinese text the way our printers expect it: FS &, GB18030, FS .
    b.extend(b"\x1c&");
    let (gb, _, _) = encoding_rs::GB18030.encode("受理编号：A-001");
    b.extend(gb.iter());
    b.extend(b"\x1c.\n");
    // CODE128 barcode, function B form, with its setup commands.
    b.extend(b"\x1dh\x50\x1dw\x03\x1dH\x02\x1df\x00\x1dkI\x0a{B12345678");
    // Native QR: model 2, size 8, level H, store, print.
    b.extend(b"\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C\x08\x1d(k\x03\x001E3");
    b.extend(b"\x1d(k\x0e\x001P0HELLO WORLD\x1d(k\x03\x001Q0");
    // An 8x2 raster logo whose data happens to contain GS V and LF.
    b.extend(b"\x1dv0\x00\x01\x00\x02\x00\x1dV");
    // A command nobody knows, then its argument byte.
    b.extend(b"\x1bk\x01");
    b.extend(b"\x1bJ\x14last line\x1bd\x03\x1dV\x00\x1bp\x00\x19\xfa");
    b
}

#[test]
fn stream_from_another_library_decodes_with_text_intact() {
    let elements = Decoder::new().push(&captured_stream());
    let expected = vec![
        Element::Init,
        text("RECEIPT", true, Align::Left, 2),
        text("Thank you", false, Align::Center, 1),
        ignored("ESC - (underline)"),
        text("underlined", false, Align::Left, 1),
        ignored("ESC - (underline)"),
        ignored("ESC 3 (line spacing)"),
        ignored("ESC 2 (default line spacing)"),
        ignored("GS B (reverse printing)"),
        text("reverse", false, Align::Left, 1),
        ignored("GS B (reverse printing)"),
        ignored("ESC M (character font)"),
        ignored("GS L (left margin)"),
        ignored("GS W (print area width)"),
        text("受理编号：A-001", false, Align::Left, 1),
        ignored("GS h (barcode height)"),
        ignored("GS w (barcode module width)"),
        ignored("GS H (barcode text position)"),
        ignored("GS f (barcode text font)"),
        ignored("GS k (barcode)"),
        Element::Qr {
            payload: "HELLO WORLD".into(),
            module_size: 8,
            ec: EcLevel::H,
            align: Align::Left,
        },
        Element::Image {
            width_dots: 8,
            height_dots: 2,
            align: Align::Left,
            dots: Some(DotImage::from_packed(1, 2, &IMAGE_BITS)),
        },
        Element::Unknown {
            bytes: vec![0x1B, b'k'],
        },
        Element::Unknown { bytes: vec![0x01] },
        Element::FeedDots(0x14),
        text("last line", false, Align::Left, 1),
        Element::Feed(3),
        Element::Cut,
        ignored("ESC p (cash drawer pulse)"),
    ];
    assert_eq!(elements, expected);
}

#[test]
fn the_captured_stream_decodes_the_same_byte_by_byte() {
    let stream = captured_stream();
    let whole = Decoder::new().push(&stream);
    let mut decoder = Decoder::new();
    let mut split = Vec::new();
    for byte in &stream {
        split.extend(decoder.push(std::slice::from_ref(byte)));
    }
    assert_eq!(split, whole);
}

/// Mixed Chinese and ASCII words, joined by spaces.
fn sentence() -> impl Strategy<Value = String> {
    let words = "[a-zA-Z0-9:./-]{1,14}|[一二三连云港市政务服务受理回执，。]{1,10}";
    proptest::collection::vec(proptest::string::string_regex(words).expect("regex"), 0..12)
        .prop_map(|parts| parts.join(" "))
}

fn documents() -> impl Strategy<Value = ReceiptDocument> {
    let element = prop_oneof![
        sentence().prop_map(|s| (0u8, s, String::new())),
        (sentence(), sentence()).prop_map(|(k, v)| (1u8, k, v)),
        sentence().prop_map(|s| (2u8, s, String::new())),
        "[a-z0-9:/.?=]{1,200}".prop_map(|s| (3u8, s, String::new())),
        Just((4u8, String::new(), String::new())),
        sentence().prop_map(|s| (5u8, s, String::new())),
        (0u8..4).prop_map(|n| (6u8, n.to_string(), String::new())),
    ];
    proptest::collection::vec(element, 0..10).prop_map(|parts| {
        parts
            .into_iter()
            .fold(ReceiptDocument::new(), |doc, (kind, a, b)| match kind {
                0 => doc.title(a),
                1 => doc.row(a, b),
                2 => doc.paragraph(a),
                3 => doc.qr(a),
                4 => doc.rule(),
                5 => doc.footer(a),
                _ => doc.feed(a.parse().unwrap_or(1)),
            })
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..40),
        chinese in any::<bool>(),
    ) {
        let mut decoder = Decoder::with_chinese_default(chinese);
        let mut chunked = Vec::new();
        for chunk in &chunks {
            chunked.extend(decoder.push(chunk));
            prop_assert!(decoder.buffered() <= MAX_BUFFERED);
        }
        chunked.extend(decoder.finish());
        // Where the input was split must not matter.
        let mut whole = Decoder::with_chinese_default(chinese);
        let mut elements = whole.push(&chunks.concat());
        elements.extend(whole.finish());
        prop_assert_eq!(chunked, elements);
    }

    #[test]
    fn command_heavy_noise_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        // Most bytes become command introducers and their typical arguments, so the decoder's
        // argument parsing (not its text path) is what gets exercised.
        const COMMANDISH: [u8; 14] = [0x1B, 0x1D, 0x1C, 0x10, b'(', b'k', b'v', b'0', b'V', 0x0A, 0x00, 0xFF, 0x81, 0x04];
        let bytes: Vec<u8> = bytes
            .into_iter()
            .map(|b| if b < 224 { COMMANDISH[usize::from(b) % COMMANDISH.len()] } else { b })
            .collect();
        let mut decoder = Decoder::new();
        for chunk in bytes.chunks(7) {
            decoder.push(chunk);
            prop_assert!(decoder.buffered() <= MAX_BUFFERED);
        }
        decoder.finish();
    }

    #[test]
    fn documents_round_trip_through_the_decoder(doc in documents(), split in 1usize..64) {
        for width in [PaperWidth::Dots384, PaperWidth::Dots512, PaperWidth::Dots576] {
            // QR payloads of at most 200 bytes fit every paper width.
            let bytes = doc.render_native(width).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut decoder = Decoder::new();
            let mut elements = Vec::new();
            for chunk in bytes.chunks(split) {
                elements.extend(decoder.push(chunk));
            }
            prop_assert_eq!(decoder.buffered(), 0);
            let lines: Vec<String> = elements.iter().filter_map(|e| match e {
                Element::Text { line, .. } => Some(line.clone()),
                _ => None,
            }).collect();
            prop_assert_eq!(lines, doc.lines(width).expect("rendered, so laid out"));
            let qrs: Vec<&str> = elements.iter().filter_map(|e| match e {
                Element::Qr { payload, .. } => Some(payload.as_str()),
                _ => None,
            }).collect();
            let expected_qrs: Vec<&str> = doc.elements.iter().filter_map(|e| match e {
                kiosk_drivers::printer::document::DocElement::Qr(p) => Some(p.as_str()),
                _ => None,
            }).collect();
            prop_assert_eq!(qrs, expected_qrs);
            prop_assert_eq!(elements.iter().filter(|e| **e == Element::Cut).count(), 1);
            prop_assert_eq!(elements.last(), Some(&Element::Cut));
            let foreign = elements.iter().any(|e| matches!(e, Element::Unknown { .. } | Element::Ignored { .. }));
            prop_assert!(!foreign, "our own stream contains commands the decoder does not model");
        }
    }
}

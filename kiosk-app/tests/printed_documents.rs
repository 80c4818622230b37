//! The kiosk's three printed documents through the virtual printer, by both print routes:
//! golden pictures of the paper at 576 dots, and round trips of what can be read back.
//!
//! Regenerate the golden PNGs after an intended change with
//! `KIOSK_UPDATE_GOLDEN=1 cargo test -p kiosk-app --test printed_documents`, then look at them.

use std::path::PathBuf;

use kiosk_app::printing::receipt::{self, TestPageInfo};
use kiosk_app::session::{QueueTicket, ReceiptContent};
use kiosk_drivers::printer::document::{PrintRoute, ReceiptDocument};
use kiosk_drivers::printer::escpos::{Element, PaperWidth};
use kiosk_drivers::printer::raster::DotImage;
use kiosk_drivers::printer::sim::{PrintedReceipt, VirtualPrinter};
use kiosk_protocol::{Language, LocalizedText};

const PAPER: PaperWidth = PaperWidth::Dots576;
const ROUTES: [PrintRoute; 2] = [PrintRoute::Native, PrintRoute::Raster];
/// Dots allowed to differ from a golden picture: a few glyph pixels, not a moved line.
const TOLERANCE: u64 = 64;

fn application_receipt() -> ReceiptDocument {
    receipt::application_receipt(&ReceiptContent {
        application_no: "LY20261122000001".into(),
        matter_name: LocalizedText::new(
            "城乡居民养老保险参保登记",
            "Urban and rural residents' pension enrolment",
        ),
        applicant_masked: "张*".into(),
        id_number_masked: "3207**********1234".into(),
        accepted_at: "2026-11-22T14:52:56+08:00".into(),
        terminal_id: "LYG-HZ-0001".into(),
        progress_url: "https://zwfw.lyg.gov.cn/progress/LY20261122000001?c=7KQ2M9XD".into(),
        progress_code: "7KQ2M9XD".into(),
        time_limit: LocalizedText::new("即办", "On the spot"),
        language: Language::Zh,
        kept: false,
        // The paper of a matter without a form (the answers are checked in receipt.rs).
        answers: Vec::new(),
    })
}

fn queue_ticket() -> ReceiptDocument {
    receipt::queue_ticket(&QueueTicket {
        number: "A015".into(),
        matter_name: LocalizedText::new("不动产登记", "Real estate registration"),
        window: "B区 12号窗口".into(),
        people_ahead: 3,
        issued_at: "2026-11-22T09:05:00+08:00".into(),
        terminal_id: "LYG-HZ-0001".into(),
        language: Language::Zh,
    })
}

fn test_page() -> ReceiptDocument {
    receipt::test_page(&TestPageInfo {
        terminal_id: "LYG-HZ-0001".into(),
        software_version: "0.1.0".into(),
        connection: "/dev/usb/lp0".into(),
        paper: PAPER,
        route: PrintRoute::Native,
        printed_at: "2026-11-22T09:05:00+08:00".into(),
    })
}

fn documents() -> [(&'static str, ReceiptDocument); 3] {
    [
        ("application-receipt", application_receipt()),
        ("queue-ticket", queue_ticket()),
        ("test-page", test_page()),
    ]
}

/// Sends the document's bytes through the virtual printer and returns the one receipt cut.
fn print(doc: &ReceiptDocument, route: PrintRoute) -> PrintedReceipt {
    let bytes = doc.render(PAPER, route).expect("printable");
    let mut printer = VirtualPrinter::new();
    assert!(
        printer.feed(&bytes).is_empty(),
        "a print job asks for no status"
    );
    let mut receipts = printer.take_receipts();
    assert_eq!(receipts.len(), 1, "exactly one cut");
    assert!(printer.uncut().is_empty(), "nothing after the cut");
    receipts.remove(0)
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}-576.png"))
}

#[test]
fn paper_matches_the_golden_pictures_by_both_routes() {
    let update = std::env::var_os("KIOSK_UPDATE_GOLDEN").is_some_and(|v| v == "1");
    for (name, doc) in documents() {
        let golden = golden_path(name);
        for route in ROUTES {
            let paper = print(&doc, route).paper(u32::from(PAPER.dots()));
            assert_eq!(paper.width(), 576);
            if update && route == PrintRoute::Native {
                let png = paper.to_png().expect("encode");
                std::fs::write(&golden, png).expect("write golden");
                continue;
            }
            let bytes = std::fs::read(&golden).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; create it with KIOSK_UPDATE_GOLDEN=1",
                    golden.display()
                )
            });
            let expected = DotImage::from_png(&bytes).expect("golden PNG decodes");
            let differing = paper.differing_dots(&expected);
            if differing > TOLERANCE || paper.height() != expected.height() {
                let actual = std::env::temp_dir().join(format!("{name}-{route}-actual.png"));
                std::fs::write(&actual, paper.to_png().expect("encode")).expect("write actual");
                panic!(
                    "{name} by the {route} route differs from {} in {differing} dots \
                     (height {} vs {}); the paper printed is at {}",
                    golden.display(),
                    paper.height(),
                    expected.height(),
                    actual.display()
                );
            }
        }
    }
}

/// The receipt benchmark (`drivers/benches/receipt_encode.rs`, and the python-escpos script
/// beside it) reads the application receipt from a JSON file, so that the drivers package can
/// be benchmarked without building the whole kiosk. This keeps that file the real thing.
#[test]
fn the_benchmark_prints_the_real_application_receipt() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../drivers/benches/application_receipt.json");
    let json = serde_json::to_string_pretty(&application_receipt()).expect("serialises") + "\n";
    if std::env::var_os("KIOSK_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&fixture, &json).expect("write fixture");
    }
    let stored = std::fs::read_to_string(&fixture).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with KIOSK_UPDATE_GOLDEN=1",
            fixture.display()
        )
    });
    assert_eq!(stored, json, "regenerate with KIOSK_UPDATE_GOLDEN=1");
}

/// Another library's bytes for the same receipt (python-escpos 3.1, written by
/// `bench/python_escpos_receipt.py --write`): it sends GB18030 without `FS &`, relying on
/// printers that start in Chinese mode, and sets sizes its own way. Decoded as such a printer
/// would, it must come out as the same paper as ours.
#[test]
fn a_python_escpos_capture_prints_the_same_paper() {
    let capture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/python-escpos-application-receipt.bin");
    let bytes = std::fs::read(&capture).expect("capture");
    let mut decoder = kiosk_drivers::printer::escpos::Decoder::with_chinese_default(true);
    let mut elements = decoder.push(&bytes);
    elements.extend(decoder.finish());
    let receipt = PrintedReceipt { elements };
    assert_eq!(
        receipt.text_lines(),
        application_receipt().lines(PAPER).expect("lays out")
    );
    assert_eq!(
        receipt.qr_payloads(),
        vec!["https://zwfw.lyg.gov.cn/progress/LY20261122000001?c=7KQ2M9XD"]
    );
    let paper = receipt.paper(u32::from(PAPER.dots()));
    let golden =
        DotImage::from_png(&std::fs::read(golden_path("application-receipt")).expect("golden"))
            .expect("decodes");
    // python-escpos feeds 2 + 3 lines where we do too, so the paper has the same length.
    assert_eq!(paper.height(), golden.height());
    assert!(paper.differing_dots(&golden) <= TOLERANCE);
}

#[test]
fn native_route_round_trips_text_qr_codes_and_the_cut() {
    for (name, doc) in documents() {
        let printed = print(&doc, PrintRoute::Native);
        assert_eq!(
            printed.text_lines(),
            doc.lines(PAPER).expect("lays out"),
            "{name}: every laid-out line comes back, in order"
        );
        let payloads: Vec<&str> = doc
            .elements
            .iter()
            .filter_map(|e| match e {
                kiosk_drivers::printer::document::DocElement::Qr(p) => Some(p.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(printed.qr_payloads(), payloads, "{name}");
        assert_eq!(printed.elements.last(), Some(&Element::Cut), "{name}");
        assert_eq!(
            printed
                .elements
                .iter()
                .filter(|e| **e == Element::Cut)
                .count(),
            1
        );
    }
}

#[test]
fn raster_route_round_trips_the_image_size_and_the_cut() {
    for (name, doc) in documents() {
        let printed = print(&doc, PrintRoute::Raster);
        let image = doc.render_image(PAPER).expect("draws");
        // Bands of image data, with blank stretches sent as dot feeds: together exactly as
        // long as the drawn receipt, none wider than the paper.
        let mut rows = 0;
        for element in &printed.elements {
            match element {
                Element::Image {
                    width_dots,
                    height_dots,
                    dots,
                    ..
                } => {
                    assert!(dots.is_some(), "{name}: every band's dots were kept");
                    assert!(*width_dots <= 576, "{name}: {width_dots}");
                    rows += height_dots;
                }
                Element::FeedDots(n) => rows += u32::from(*n),
                _ => {}
            }
        }
        assert_eq!(rows, image.height(), "{name}");
        assert!(printed.text_lines().is_empty(), "{name}: no text commands");
        assert!(printed.qr_payloads().is_empty(), "{name}: the QR is dots");
        assert_eq!(printed.elements.last(), Some(&Element::Cut), "{name}");
    }
}

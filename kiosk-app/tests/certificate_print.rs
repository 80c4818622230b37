//! 证明打印 end to end: the real platform issues the 办件记录证明 of an applicant with
//! applications, laid out for the roll; the terminal rasterises it through pdftoppm to 576-dot
//! 1-bit pages (Chinese drawn, not boxes or blanks), and prints it on the virtual printer over
//! a real pty, where the paper is decoded back and compared dot for dot. A malformed PDF and a
//! missing renderer give clear errors.
//!
//! The rendered page is written as `certificate.png` in the test's folder (or in the folder
//! `KIOSK_CERTIFICATE_PNG_DIR` names, to look at it).

mod common;

use std::time::Duration;

use kiosk_app::devices::printer_monitor::PrinterPort;
use kiosk_app::printing::certificate::{self, CertificateError};
use kiosk_drivers::printer::PrinterAddress;
use kiosk_drivers::printer::raster::DotImage;
use kiosk_drivers::printer::sim::VirtualPrinterPty;
use kiosk_protocol::{ApplicationRequest, CertificateRequest};

const NAME: &str = "周晓燕";
const ID_NUMBER: &str = "320706198802020228";
const DOTS: u32 = 576;

fn renderer_installed() -> bool {
    std::process::Command::new(certificate::PDFTOPPM)
        .arg("-v")
        .output()
        .is_ok()
}

/// Ink dots in rows `top..bottom`, and the leftmost and rightmost columns holding ink.
fn band(image: &DotImage, top: u32, bottom: u32) -> (u64, u32, u32) {
    let (mut ink, mut left, mut right) = (0, u32::MAX, 0);
    for y in top..bottom.min(image.height()) {
        for x in 0..image.width() {
            if image.get(x, y) {
                ink += 1;
                left = left.min(x);
                right = right.max(x);
            }
        }
    }
    (ink, left, right)
}

/// Rows holding any ink, grouped into runs (text lines): (first row, rows).
fn ink_runs(image: &DotImage) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for y in 0..image.height() {
        if (0..image.width()).any(|x| image.get(x, y)) {
            match runs.last_mut() {
                Some((start, len)) if *start + *len == y => *len += 1,
                _ => runs.push((y, 1)),
            }
        }
    }
    runs
}

#[test]
fn the_record_prints_on_the_roll_in_readable_chinese() {
    if !renderer_installed() {
        eprintln!("SKIP: pdftoppm is not installed (Debian poppler-utils, poppler-data)");
        return;
    }
    let terminal = common::EnrolledTerminal::new("SN-CERT-1");
    let (link, tokio, dir) = (&terminal.link, &terminal.tokio, &terminal.dir);
    for (n, matter) in ["lyg-health-0701", "lyg-health-0701"].iter().enumerate() {
        let request: ApplicationRequest = serde_json::from_value(serde_json::json!({
            "terminal_id": terminal.terminal_id,
            "matter_id": matter,
            "applicant": {"name": NAME, "id_number": ID_NUMBER, "document_kind": "resident"},
            "language": "zh"
        }))
        .expect("application");
        tokio
            .block_on(link.submit(&format!("cert-print-000{n}"), &request))
            .expect("application taken");
    }
    let request = CertificateRequest {
        name: NAME.into(),
        id_number: ID_NUMBER.into(),
    };
    let pdf = tokio
        .block_on(link.certificate("application-record", &request))
        .expect("certificate");
    assert!(pdf.starts_with(b"%PDF-"));
    // Laid out for the roll: a 72 mm-wide page (204 points), not A4.
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/MediaBox [0 0 204.1 "), "not a roll page");

    let pages = certificate::rasterise(&pdf, DOTS).expect("rasterised");
    assert_eq!(pages.len(), 1);
    let page = &pages[0];
    assert_eq!(page.width(), DOTS);
    assert!(page.height() > 600, "{} rows", page.height());
    let keep = std::env::var_os("KIOSK_CERTIFICATE_PNG_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().to_owned());
    let png = keep.join("certificate.png");
    std::fs::write(&png, page.to_png().expect("png")).expect("write the png");
    eprintln!("rendered page: {}", png.display());

    // The text lines, top to bottom: 连云港市政务服务 (12 pt), 办件记录证明 (16 pt), …
    let runs = ink_runs(page);
    assert!(runs.len() >= 15, "{runs:?}");
    let (title_top, title_rows) = runs[1];
    // 16-point Chinese is about 45 dots high at 203 dpi; 9-point lines no less than 20.
    assert!(
        (34..=52).contains(&title_rows),
        "title {title_rows} rows high: {runs:?}"
    );
    // Rules are a few rows; every line of type is at least 18 rows (9 points and up).
    assert!(
        runs.iter().all(|(_, rows)| *rows <= 4 || *rows >= 18),
        "{runs:?}"
    );
    assert_eq!(
        runs.iter().filter(|(_, rows)| *rows <= 4).count(),
        3,
        "{runs:?}"
    );
    let (ink, left, right) = band(page, title_top, title_top + title_rows);
    // Six characters of 16 points, centred: about 270 dots from about 153.
    assert!(
        (120..=190).contains(&left) && (390..=460).contains(&right),
        "{left}..{right}"
    );
    let density = ink as f64 / (f64::from(right - left + 1) * f64::from(title_rows));
    assert!(
        (0.12..0.6).contains(&density),
        "title ink density {density}"
    );
    // Six different glyphs, not one box six times: the character cells differ.
    let cell = (right - left + 1) / 6;
    let cells: Vec<Vec<bool>> = (0..6)
        .map(|i| {
            let x0 = left + i * cell;
            (title_top..title_top + title_rows)
                .flat_map(|y| (x0..x0 + cell).map(move |x| (x, y)))
                .map(|(x, y)| page.get(x, y))
                .collect()
        })
        .collect();
    for i in 0..6 {
        for j in i + 1..6 {
            let differ = cells[i]
                .iter()
                .zip(&cells[j])
                .filter(|(a, b)| a != b)
                .count();
            assert!(
                differ > 100,
                "characters {i} and {j} look alike ({differ} dots)"
            );
        }
    }

    // Printed on the virtual printer over a pty, through the real driver.
    let link_path = dir.path().join("printer.tty");
    let (_printer, receipts) = VirtualPrinterPty::start(&link_path).expect("virtual printer");
    let address = PrinterAddress::from_device_path(&link_path, 115_200);
    certificate::print_pdf(&pdf, &address, &PrinterPort::default(), DOTS).expect("printed");
    let printed = receipts
        .recv_timeout(Duration::from_secs(10))
        .expect("the certificate comes out, cut");
    let paper = printed.paper(DOTS);
    assert!(paper.height() >= page.height());
    let differing = (0..page.height())
        .flat_map(|y| (0..DOTS).map(move |x| (x, y)))
        .filter(|&(x, y)| paper.get(x, y) != page.get(x, y))
        .count();
    assert_eq!(differing, 0, "the paper is the rendered page, dot for dot");
    assert_eq!(
        printed.elements.last(),
        Some(&kiosk_drivers::printer::escpos::Element::Cut)
    );
}

#[test]
fn a_malformed_pdf_or_a_missing_renderer_is_a_clear_error() {
    if renderer_installed() {
        for bad in [
            &b"%PDF-1.4\nthis is not really a PDF at all\n%%EOF\n"[..],
            &b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"[..],
        ] {
            let err = certificate::rasterise(bad, DOTS).expect_err("malformed");
            assert!(matches!(err, CertificateError::Malformed(_)), "{err:?}");
            assert!(err.to_string().contains("not a readable PDF"), "{err}");
        }
    }
    let err = certificate::rasterise(b"\x89PNG\r\n\x1a\n", DOTS).expect_err("not a pdf");
    assert!(
        err.to_string().contains("does not begin with %PDF-"),
        "{err}"
    );
    let err = certificate::rasterise_with("pdftoppm-is-not-installed", b"%PDF-1.4\n", DOTS)
        .expect_err("no renderer");
    assert!(
        matches!(err, CertificateError::RendererMissing { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("pdftoppm-is-not-installed is not installed"),
        "{err}"
    );
}

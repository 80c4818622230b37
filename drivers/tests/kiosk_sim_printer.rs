//! The `kiosk-sim printer` binary: control protocol, receipt files, offline rendering.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::TempDir;
use kiosk_drivers::printer::document::ReceiptDocument;
use kiosk_drivers::printer::escpos::{Element, PaperWidth, PrinterState};
use kiosk_drivers::printer::raster::DotImage;
use kiosk_drivers::printer::sim::PrintedReceipt;
use kiosk_drivers::printer::{PrintError, Printer, SerialLink};
use kiosk_testkit::{Simulator, wait_for_file};

const WAIT: Duration = Duration::from_secs(5);

fn wait_for(path: &Path) {
    wait_for_file(path, WAIT);
}

fn receipt() -> ReceiptDocument {
    ReceiptDocument::new()
        .title("好差评")
        .row("窗口", "12")
        .paragraph("感谢您的评价。Thank you!")
        .qr("https://zwfw.lyg.gov.cn/rate?t=9")
        .footer("12345")
}

#[test]
fn serves_a_pty_answers_commands_and_writes_receipts() {
    let dir = TempDir::new("cli");
    let link = dir.join("ttyPRINTER");
    let out = dir.join("out");
    let mut sim = Simulator::start(
        env!("CARGO_BIN_EXE_kiosk-sim"),
        &[
            "printer",
            "--link",
            link.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(sim.ready(), format!("printer ready at {}", link.display()));

    let mut printer = Printer::new(SerialLink::open(&link, 9600).expect("open link"))
        .with_reply_timeout(Duration::from_millis(300));

    assert_eq!(sim.command("state paper-out"), "ok");
    assert!(matches!(
        printer.print(&receipt(), PaperWidth::Dots384),
        Err(PrintError::NotReady(PrinterState::PaperOut))
    ));
    assert_eq!(sim.command("state ready"), "ok");
    printer
        .print(&receipt(), PaperWidth::Dots384)
        .expect("print");

    // Only the receipt printed while ready exists, as number 1.
    wait_for(&out.join("receipt-0001.json"));
    let text = std::fs::read_to_string(out.join("receipt-0001.txt")).expect("txt");
    let expected: String = receipt()
        .lines(PaperWidth::Dots384)
        .expect("printable")
        .into_iter()
        .map(|l| l + "\n")
        .collect();
    assert_eq!(text, expected);
    let json = std::fs::read(out.join("receipt-0001.json")).expect("json");
    let printed: PrintedReceipt = serde_json::from_slice(&json).expect("receipt json");
    assert_eq!(
        printed.qr_payloads(),
        vec!["https://zwfw.lyg.gov.cn/rate?t=9"]
    );
    assert_eq!(printed.elements.last(), Some(&Element::Cut));
    assert!(!out.join("receipt-0002.json").exists());
    // The PNG is the paper on the default 576-dot head. The receipt was laid out for 384 dots,
    // so centred parts sit elsewhere, but the paper is exactly as long: its lines, its QR code
    // and the three lines fed before the cut.
    let png = std::fs::read(out.join("receipt-0001.png")).expect("png");
    let paper = DotImage::from_png(&png).expect("valid png");
    assert_eq!(paper.width(), 576);
    let laid_out = receipt()
        .render_image(PaperWidth::Dots384)
        .expect("printable");
    assert_eq!(paper.height(), laid_out.height() + 3 * 30);
    assert!(paper.ink_dots() > 1000);

    assert!(sim.command("state jammed").starts_with("error: "));
    assert!(sim.command("dance").starts_with("error: "));
    assert_eq!(sim.command("state near-end"), "ok");
    assert_eq!(
        printer.status().expect("status").state,
        PrinterState::PaperNearEnd
    );

    assert_eq!(sim.command("unplug"), "ok");
    assert!(!link.exists());
    assert!(matches!(printer.status(), Err(PrintError::Disconnected)));
    assert_eq!(sim.command("replug"), "ok");
    assert!(link.exists());
    assert_eq!(
        printer.status().expect("status after replug").state,
        PrinterState::PaperNearEnd
    );
    printer
        .print(&receipt(), PaperWidth::Dots576)
        .expect("print after replug");
    wait_for(&out.join("receipt-0002.json"));

    assert_eq!(sim.command("state off"), "ok");
    assert!(matches!(printer.status(), Err(PrintError::Timeout)));

    assert_eq!(sim.command("quit"), "ok");
    assert!(sim.wait_exit(WAIT).success(), "kiosk-sim exits cleanly");
    assert!(!link.exists(), "the link is removed on quit");
}

#[test]
fn render_lists_a_captured_stream() {
    let dir = TempDir::new("render");
    let capture = dir.join("capture.bin");
    let mut bytes = receipt()
        .render_native(PaperWidth::Dots576)
        .expect("printable");
    bytes.extend_from_slice(b"\x1b-\x01tail");
    std::fs::write(&capture, &bytes).expect("write capture");

    let output = Command::new(env!("CARGO_BIN_EXE_kiosk-sim"))
        .args(["printer", "render", "--json"])
        .arg(&capture)
        .output()
        .expect("run render");
    assert!(output.status.success());
    let elements: Vec<Element> = serde_json::from_slice(&output.stdout).expect("json elements");
    let lines: Vec<&str> = elements
        .iter()
        .filter_map(|e| match e {
            Element::Text { line, .. } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    let mut expected = receipt().lines(PaperWidth::Dots576).expect("printable");
    expected.push("tail".into());
    assert_eq!(lines, expected);
    assert!(elements.contains(&Element::Ignored {
        name: "ESC - (underline)".into()
    }));

    // With an output file: the PNG of the paper at the requested width.
    for (route, bytes) in [
        ("native", receipt().render_native(PaperWidth::Dots384)),
        ("raster", receipt().render_raster(PaperWidth::Dots384)),
    ] {
        let capture = dir.join(&format!("{route}.bin"));
        std::fs::write(&capture, bytes.expect("printable")).expect("write capture");
        let png = dir.join(&format!("{route}.png"));
        let output = Command::new(env!("CARGO_BIN_EXE_kiosk-sim"))
            .args(["printer", "render", "--width", "384"])
            .arg(&capture)
            .arg(&png)
            .output()
            .expect("run render");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let paper = DotImage::from_png(&std::fs::read(&png).expect("png")).expect("valid");
        let mut expected = receipt()
            .render_image(PaperWidth::Dots384)
            .expect("printable");
        // The final feed (3 lines) before the cut is paper too.
        expected.set_height(expected.height() + 3 * 30);
        assert_eq!(paper.differing_dots(&expected), 0, "{route}");
    }
    let bad_width = Command::new(env!("CARGO_BIN_EXE_kiosk-sim"))
        .args(["printer", "render", "--width", "0"])
        .arg(&capture)
        .output()
        .expect("run render");
    assert!(!bad_width.status.success());

    let output = Command::new(env!("CARGO_BIN_EXE_kiosk-sim"))
        .args(["printer", "render"])
        .arg(&capture)
        .output()
        .expect("run render");
    assert!(output.status.success());
    let listing = String::from_utf8(output.stdout).expect("utf-8");
    assert!(listing.starts_with("init\n"), "{listing}");
    assert!(
        listing.contains("text [Center bold 2x2] \"好差评\"\n"),
        "{listing}"
    );
    assert!(
        listing.contains("qr [module 6, ec M] \"https://zwfw.lyg.gov.cn/rate?t=9\"\n"),
        "{listing}"
    );
    assert!(listing.contains("cut\n"), "{listing}");

    let missing = Command::new(env!("CARGO_BIN_EXE_kiosk-sim"))
        .args(["printer", "render"])
        .arg(dir.join("nope.bin"))
        .output()
        .expect("run render");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.bin"));
}

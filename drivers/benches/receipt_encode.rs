//! How long laying out and encoding the application receipt takes, by each print route, and
//! what its bytes cost on the wire and on paper — side by side with python-escpos building the
//! same receipt from the same document, when a Python with `escpos` is available.
//!
//! Run: `cargo bench -p kiosk-drivers --bench receipt_encode`. The Python used is
//! `$KIOSK_BENCH_PYTHON` if set, else `python3`; set up one with
//! `python3 -m venv /tmp/escpos-venv && /tmp/escpos-venv/bin/pip install python-escpos`.
//!
//! The document is `benches/application_receipt.json`, which a kiosk-app test keeps identical
//! to what `kiosk_app::receipt::application_receipt` composes (this package cannot depend on
//! the kiosk without building its whole UI).
//!
//! It prints a table and, last, one JSON line on stdout (each route's mean time and bytes, and
//! python-escpos's when it ran), which `bench/run` reads.
//!
//! Print-time assumptions, stated in the report: a 115200 baud 8N1 serial link (10 bits per
//! byte on the wire) and an 80 mm thermal head at 250 mm/s with 8 dots per mm (203 dpi).

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kiosk_drivers::printer::document::{PrintRoute, ReceiptDocument};
use kiosk_drivers::printer::escpos::PaperWidth;
use kiosk_drivers::printer::raster::font::LINE_PITCH;

const PAPER: PaperWidth = PaperWidth::Dots576;
const BAUD: f64 = 115_200.0;
const BITS_PER_BYTE: f64 = 10.0;
const HEAD_MM_PER_S: f64 = 250.0;
const DOTS_PER_MM: f64 = 8.0;
/// Lines fed before the cut (the documents' END_FEED_LINES).
const END_FEED_LINES: u32 = 3;

struct Measured {
    mean: Duration,
    bytes: usize,
}

fn measure(doc: &ReceiptDocument, route: PrintRoute, budget: Duration) -> Measured {
    // Warm-up, and the size.
    let bytes = doc.render(PAPER, route).expect("printable").len();
    let mut iterations = 0u32;
    let start = Instant::now();
    while start.elapsed() < budget || iterations < 20 {
        black_box(doc.render(black_box(PAPER), route).expect("printable"));
        iterations += 1;
    }
    Measured {
        mean: start.elapsed() / iterations,
        bytes,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/application_receipt.json");
    let json = std::fs::read_to_string(&fixture).expect("the benchmark's receipt");
    let doc: ReceiptDocument = serde_json::from_str(&json).expect("a receipt document");

    let paper_dots =
        doc.render_image(PAPER).expect("printable").height() + END_FEED_LINES * LINE_PITCH;
    let paper_mm = f64::from(paper_dots) / DOTS_PER_MM;
    let head_s = paper_mm / HEAD_MM_PER_S;
    println!(
        "application receipt at {} dots: {paper_mm:.0} mm of paper",
        PAPER.dots()
    );
    println!(
        "assumed: serial {BAUD} baud 8N1 ({:.0} bytes/s), thermal head {HEAD_MM_PER_S} mm/s \
         ({head_s:.2} s for this paper)",
        BAUD / BITS_PER_BYTE
    );
    println!();
    println!(
        "{:<16} {:>12} {:>8} {:>14} {:>14}",
        "route", "per receipt", "bytes", "link time", "print time"
    );
    let mut native_mean = None;
    let mut routes = serde_json::Map::new();
    for route in [PrintRoute::Native, PrintRoute::Raster] {
        let m = measure(&doc, route, Duration::from_secs(2));
        let link_s = m.bytes as f64 * BITS_PER_BYTE / BAUD;
        println!(
            "{:<16} {:>9.4} ms {:>8} {:>12.2} s {:>12.2} s",
            format!("rust {route}"),
            ms(m.mean),
            m.bytes,
            link_s,
            link_s.max(head_s)
        );
        if route == PrintRoute::Native {
            native_mean = Some(m.mean);
        }
        routes.insert(
            route.to_string(),
            serde_json::json!({"mean_ms": ms(m.mean), "bytes": m.bytes,
                "link_s": link_s, "print_s": link_s.max(head_s)}),
        );
    }
    println!("(print time: the slower of the link and the head, which work in parallel)");
    println!();
    let python = python_comparison(&fixture, native_mean.unwrap_or_default(), head_s);
    let json = serde_json::json!({
        "bench": "receipt_encode",
        "paper_dots": PAPER.dots(),
        "paper_mm": paper_mm,
        "head_s": head_s,
        "rust": routes,
        "python_escpos": python.map(|(mean_s, bytes, version)| serde_json::json!({
            "mean_ms": mean_s * 1e3, "bytes": bytes, "version": version,
        })),
    });
    println!("{json}");
}

/// Runs `bench/python_escpos_receipt.py` on the same document and compares; returns its mean
/// seconds per receipt, bytes and escpos version when it ran.
fn python_comparison(
    fixture: &Path,
    native_mean: Duration,
    head_s: f64,
) -> Option<(f64, u64, String)> {
    let python = std::env::var("KIOSK_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/python_escpos_receipt.py");
    let probe = Command::new(&python).args(["-c", "import escpos"]).output();
    match probe {
        Err(e) => {
            println!("python-escpos comparison skipped: cannot run {python} ({e})");
            return None;
        }
        Ok(out) if !out.status.success() => {
            println!(
                "python-escpos comparison skipped: {python} has no escpos module \
                 (python3 -m venv /tmp/escpos-venv && /tmp/escpos-venv/bin/pip install \
                 python-escpos, then KIOSK_BENCH_PYTHON=/tmp/escpos-venv/bin/python)"
            );
            return None;
        }
        Ok(_) => {}
    }
    let output = Command::new(&python)
        .arg(&script)
        .arg(fixture)
        .args(["--seconds", "2"])
        .output();
    let output = match output {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            println!(
                "python-escpos comparison failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return None;
        }
        Err(e) => {
            println!("python-escpos comparison failed: {e}");
            return None;
        }
    };
    let report: serde_json::Value = match serde_json::from_slice(&output.stdout) {
        Ok(v) => v,
        Err(e) => {
            println!("python-escpos comparison failed: unreadable report ({e})");
            return None;
        }
    };
    let (Some(mean_s), Some(bytes), Some(version)) = (
        report["mean_seconds"].as_f64(),
        report["bytes"].as_u64(),
        report["escpos_version"].as_str(),
    ) else {
        println!("python-escpos comparison failed: incomplete report {report}");
        return None;
    };
    let link_s = bytes as f64 * BITS_PER_BYTE / BAUD;
    println!(
        "{:<16} {:>9.4} ms {:>8} {:>12.2} s {:>12.2} s",
        format!("python-escpos {version}"),
        mean_s * 1e3,
        bytes,
        link_s,
        link_s.max(head_s)
    );
    let ratio = mean_s / native_mean.as_secs_f64().max(f64::MIN_POSITIVE);
    println!("rust native is {ratio:.1}x faster than python-escpos for the same receipt");
    Some((mean_s, bytes, version.to_owned()))
}

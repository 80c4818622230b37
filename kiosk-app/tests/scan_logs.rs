//! A scanned code may name a person (a 苏服码 token is one): the scanner's supervisor logs its
//! kind and length, and neither it nor the driver ever logs the payload, not even at trace
//! level, whether the code is accepted or refused.
//!
//! Runs the real supervisor against `kiosk-sim scanner` on a pty, with every log line of the
//! process captured.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiosk_app::devices::health::HealthState;
use kiosk_app::devices::scanner_monitor::{self, ScannerPort, ScannerReport};
use kiosk_app::session::ScannedCode;
use kiosk_drivers::scanner::Suffix;
use kiosk_testkit::{Peer, program};

/// Every log line written, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

#[test]
fn scans_are_logged_by_kind_and_length_never_by_content() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("scanner.tty");
    let sim = program("kiosk-sim").expect("run `cargo build --workspace --bins` first");
    let (mut scanner, _) = Peer::start(
        "scanner",
        &sim,
        &["scanner", "--link", &link.to_string_lossy()],
        "ready",
    )
    .expect("scanner");
    let (tx, rx) = std::sync::mpsc::channel();
    let _nudge = scanner_monitor::spawn(
        ScannerPort::Serial {
            path: link,
            baud: 9600,
            suffix: Suffix::Cr,
        },
        move |report| {
            let _ = tx.send(report);
        },
    )
    .expect("supervisor");
    let next_scan = || {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left).expect("a report") {
                ScannerReport::Scanned(code) => return code,
                ScannerReport::Health(_) => {}
            }
        }
    };

    // Scan only once the port is open: the driver drops what sat in the line before it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let ScannerReport::Health(h) = rx.recv_timeout(left).expect("the scanner opened")
            && h.state == HealthState::Ok
        {
            break;
        }
    }
    let token = "SECRETq3ZxV9a7LmN0pQrStUvWxY";
    scanner
        .control(&format!("scan SFM1:{token}"))
        .expect("scan");
    assert_eq!(next_scan(), ScannedCode::Identity);
    // Refused codes: too long, and with a control character in the middle.
    scanner
        .control(&format!("scan {}", "SECRETLONG".repeat(500)))
        .expect("scan");
    scanner
        .control("scan-hex 5345435245544354524c0753454352455443540d")
        .expect("scan");
    scanner.control("scan YY202406010042").expect("scan");
    // An appointment code is passed on (it checks its holder in), yet still never logged.
    assert_eq!(
        next_scan(),
        ScannedCode::Appointment("YY202406010042".into())
    );

    let text = logs.text();
    assert!(
        text.contains("code scanned") && text.contains("kind=sufuma") && text.contains("len=33"),
        "{text}"
    );
    assert!(text.contains("scan refused"), "{text}");
    assert!(
        !text.contains("SECRET"),
        "a payload reached the log:\n{text}"
    );
    assert!(
        !text.contains("202406010042"),
        "a payload reached the log:\n{text}"
    );
}

//! The real serial scanner driver (`SerialScanner` + `ScannerReader`) against `kiosk-sim
//! scanner` over a real pty: every payload kind, every suffix, split and merged lines, an
//! over-long line, noise, control bytes, debounce, unplug and replug.

mod common;

use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use common::TempDir;
use kiosk_drivers::scanner::{
    LineConfig, LineError, MAX_PAYLOAD_LEN, ReaderOptions, ScanKind, ScannerEvent, ScannerReader,
    SerialScanner, Suffix,
};
use kiosk_testkit::Simulator;

const WAIT: Duration = Duration::from_secs(5);
/// Long enough for anything the simulator sent to have come through the reader.
const QUIET: Duration = Duration::from_millis(400);
const DEBOUNCE: Duration = Duration::from_millis(600);

/// `kiosk-sim scanner` at `link`, sending lines ended by `suffix`.
fn start_sim(link: &Path, suffix: Suffix) -> Simulator {
    let sim = Simulator::start(
        env!("CARGO_BIN_EXE_kiosk-sim"),
        &[
            "scanner",
            "--suffix",
            suffix.name(),
            "--link",
            link.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(sim.ready(), format!("scanner ready at {}", link.display()));
    sim
}

/// A simulator with the real driver reading it.
struct Rig {
    sim: Simulator,
    events: Receiver<ScannerEvent>,
    _reader: ScannerReader,
    _dir: TempDir,
}

impl Rig {
    fn start(suffix: Suffix) -> Rig {
        let dir = TempDir::new("scanner");
        let link = dir.join("ttyQR");
        let sim = start_sim(&link, suffix);
        let scanner = SerialScanner::open(
            &link,
            SerialScanner::DEFAULT_BAUD,
            LineConfig::with_suffix(suffix),
        )
        .expect("open the pty like a serial port");
        let options = ReaderOptions {
            debounce: DEBOUNCE,
            poll: Duration::from_millis(50),
            reconnect_min: Duration::from_millis(50),
            reconnect_max: Duration::from_millis(200),
        };
        let (tx, events) = mpsc::channel();
        let reader = ScannerReader::spawn(scanner, options, tx).expect("spawn reader");
        let rig = Rig {
            sim,
            events,
            _reader: reader,
            _dir: dir,
        };
        assert_eq!(rig.next(), ScannerEvent::Connected);
        rig
    }

    fn next(&self) -> ScannerEvent {
        self.events
            .recv_timeout(WAIT)
            .expect("an event from the reader")
    }

    fn scanned(&self) -> (String, ScanKind) {
        match self.next() {
            ScannerEvent::Scanned(scan) => (scan.text().to_owned(), scan.kind()),
            other => panic!("expected a scan, got {other:?}"),
        }
    }

    fn expect_scan(&self, text: &str, kind: ScanKind) {
        assert_eq!(self.scanned(), (text.to_owned(), kind));
    }

    fn rejected(&self) -> LineError {
        match self.next() {
            ScannerEvent::Rejected(error) => error,
            other => panic!("expected a rejected line, got {other:?}"),
        }
    }

    fn assert_quiet(&self) {
        if let Ok(event) = self.events.recv_timeout(QUIET) {
            panic!("expected nothing, got {event:?}");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const SUFUMA: &str = "SFM1:q3ZxV9_a-7LmN0pQrStUvWxY";
const ELICENCE: &str = "ELC1:BIZLIC:Zm9vYmFyYmF6cXV4MTIzNDU2";

#[test]
fn every_payload_kind_with_every_suffix() {
    for suffix in Suffix::ALL {
        let mut rig = Rig::start(suffix);
        for (text, kind) in [
            (SUFUMA, ScanKind::SuFuMa),
            (ELICENCE, ScanKind::ELicence),
            ("YY202406010042", ScanKind::Appointment),
            ("PD-HZ01-A023", ScanKind::QueueTicket),
            ("https://zwfw.lyg.gov.cn/guide?id=42", ScanKind::Url),
            ("6901234567892", ScanKind::Unknown),
            ("连云港市 政务服务", ScanKind::Unknown),
        ] {
            rig.sim.ok(&format!("scan {text}"));
            rig.expect_scan(text, kind);
        }
        // A Chinese payload from a scanner set to GB18030.
        let (gb, _, _) = encoding_rs::GB18030.encode("海州区市民中心");
        let mut wire = gb.into_owned();
        wire.extend_from_slice(suffix.bytes());
        rig.sim.ok(&format!("scan-hex {}", hex(&wire)));
        rig.expect_scan("海州区市民中心", ScanKind::Unknown);
        rig.assert_quiet();
    }
}

#[test]
fn split_and_merged_lines() {
    let mut rig = Rig::start(Suffix::CrLf);
    // One line in three writes, the CRLF itself split.
    rig.sim.ok(&format!("scan-hex {}", hex(b"PD-HZ")));
    rig.sim.ok(&format!("scan-hex {}", hex(b"01-A023\r")));
    rig.sim.ok(&format!("scan-hex {}", hex(b"\n")));
    rig.expect_scan("PD-HZ01-A023", ScanKind::QueueTicket);
    // Three lines in one write.
    let merged = format!("YY2024060100\r\n{SUFUMA}\r\nhttp://example.com/\r\n");
    rig.sim.ok(&format!("scan-hex {}", hex(merged.as_bytes())));
    rig.expect_scan("YY2024060100", ScanKind::Appointment);
    rig.expect_scan(SUFUMA, ScanKind::SuFuMa);
    rig.expect_scan("http://example.com/", ScanKind::Url);
    rig.assert_quiet();
}

#[test]
fn over_long_line_is_dropped_and_the_driver_resynchronises() {
    let mut rig = Rig::start(Suffix::Cr);
    let long = "A".repeat(MAX_PAYLOAD_LEN + 904);
    rig.sim.ok(&format!("scan {long}"));
    assert_eq!(
        rig.rejected(),
        LineError::TooLong {
            limit: MAX_PAYLOAD_LEN
        }
    );
    let longest = "7".repeat(MAX_PAYLOAD_LEN);
    rig.sim.ok(&format!("scan {longest}"));
    rig.expect_scan(&longest, ScanKind::Unknown);
    rig.sim.ok("scan YY20240601");
    rig.expect_scan("YY20240601", ScanKind::Appointment);
    rig.assert_quiet();
}

#[test]
fn garbage_and_control_bytes_are_refused_without_losing_the_next_scan() {
    let mut rig = Rig::start(Suffix::Cr);
    rig.sim.ok("garbage 300");
    // The noise has no line end: it is dropped once the line goes quiet.
    assert_eq!(rig.rejected(), LineError::Interrupted { len: 300 });
    rig.sim.ok("scan PD-HZ01-A023");
    rig.expect_scan("PD-HZ01-A023", ScanKind::QueueTicket);

    // An escape sequence inside a code, and bytes that are no text in any encoding.
    rig.sim
        .ok(&format!("scan-hex {}", hex(b"YY2024\x1b[2J0601\r")));
    assert_eq!(rig.rejected(), LineError::ForbiddenCharacter { code: 0x1b });
    rig.sim.ok(&format!("scan-hex {}", hex(b"\xff\xfe\xfd\r")));
    assert_eq!(rig.rejected(), LineError::NotText);
    rig.sim.ok("scan SFM1:q3ZxV9_a-7LmN0pQrStUvWxY");
    rig.expect_scan(SUFUMA, ScanKind::SuFuMa);
    rig.assert_quiet();
}

#[test]
fn repeats_within_the_debounce_window_count_once() {
    let mut rig = Rig::start(Suffix::Cr);
    for _ in 0..4 {
        rig.sim.ok("scan YY20240601");
        std::thread::sleep(Duration::from_millis(100));
    }
    rig.expect_scan("YY20240601", ScanKind::Appointment);
    // Another code in between is its own scan.
    rig.sim.ok("scan PD-HZ01-A023");
    rig.expect_scan("PD-HZ01-A023", ScanKind::QueueTicket);
    rig.sim.ok("scan PD-HZ01-A023");
    rig.assert_quiet();
    std::thread::sleep(DEBOUNCE);
    rig.sim.ok("scan PD-HZ01-A023");
    rig.expect_scan("PD-HZ01-A023", ScanKind::QueueTicket);
}

#[test]
fn unplug_and_replug() {
    let mut rig = Rig::start(Suffix::Cr);
    rig.sim.ok("scan YY20240601");
    rig.expect_scan("YY20240601", ScanKind::Appointment);

    rig.sim.ok("unplug");
    assert!(
        matches!(rig.next(), ScannerEvent::Disconnected(_)),
        "the reader notices the hang-up"
    );
    assert!(rig.sim.command("scan YY20240602").starts_with("error: "));
    assert!(rig.sim.command("unplug").starts_with("error: "));
    // While it is away, reopening fails quietly: one Disconnected, not one per attempt.
    rig.assert_quiet();

    rig.sim.ok("replug");
    assert!(rig.sim.command("replug").starts_with("error: "));
    assert_eq!(rig.next(), ScannerEvent::Connected);
    rig.sim.ok("scan PD-HZ01-A023");
    rig.expect_scan("PD-HZ01-A023", ScanKind::QueueTicket);

    // Twice more, to be sure reconnection does not wear out.
    for n in 0..2 {
        rig.sim.ok("unplug");
        assert!(matches!(rig.next(), ScannerEvent::Disconnected(_)));
        rig.sim.ok("replug");
        assert_eq!(rig.next(), ScannerEvent::Connected);
        let code = format!("YY2024060{n}99");
        rig.sim.ok(&format!("scan {code}"));
        rig.expect_scan(&code, ScanKind::Appointment);
    }
}

#[test]
fn a_scanner_plugged_in_after_boot_is_picked_up() {
    let dir = TempDir::new("scanner-late");
    let link = dir.join("ttyQR");
    let (tx, events) = mpsc::channel();
    let options = ReaderOptions {
        poll: Duration::from_millis(50),
        reconnect_min: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(200),
        ..ReaderOptions::default()
    };
    let scanner = SerialScanner::unopened(&link, 9600, LineConfig::default());
    let _reader = ScannerReader::spawn(scanner, options, tx).expect("spawn");
    assert!(matches!(
        events.recv_timeout(WAIT),
        Ok(ScannerEvent::Disconnected(_))
    ));
    let mut sim = start_sim(&link, Suffix::Cr);
    assert_eq!(
        events.recv_timeout(WAIT).ok(),
        Some(ScannerEvent::Connected)
    );
    sim.ok("scan YY20240601");
    match events.recv_timeout(WAIT) {
        Ok(ScannerEvent::Scanned(scan)) => assert_eq!(scan.kind(), ScanKind::Appointment),
        other => panic!("expected a scan, got {other:?}"),
    }
}

#[test]
fn bad_control_commands_are_answered_with_errors() {
    let mut rig = Rig::start(Suffix::Cr);
    for command in ["scan", "scan-hex 0", "scan-hex xy", "garbage -1", "press 1"] {
        assert!(rig.sim.command(command).starts_with("error: "), "{command}");
    }
    rig.assert_quiet();
}

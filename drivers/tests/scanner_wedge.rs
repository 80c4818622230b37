//! The keyboard-wedge transport (`EvdevScanner` + `ScannerReader`) on synthetic
//! `struct input_event` streams, written to a pipe and to a capture file as the kernel would
//! deliver them. No real input device is used, so the exclusive grab itself is not exercised
//! here (see the wedge module's docs).

mod common;

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use common::TempDir;
use kiosk_drivers::scanner::wedge::{InputEvent, keys, keystrokes};
use kiosk_drivers::scanner::{
    EvdevScanner, LineConfig, LineError, ReaderOptions, ScanKind, ScannerEvent, ScannerReader,
};

const WAIT: Duration = Duration::from_secs(5);

fn records(events: &[InputEvent]) -> Vec<u8> {
    events.iter().flat_map(|e| e.to_bytes()).collect()
}

fn typed(text: &str) -> Vec<u8> {
    records(&keystrokes(text).expect("typable on a US keyboard"))
}

fn options() -> ReaderOptions {
    ReaderOptions {
        debounce: Duration::from_millis(500),
        poll: Duration::from_millis(50),
        ..ReaderOptions::default()
    }
}

fn next(events: &Receiver<ScannerEvent>) -> ScannerEvent {
    events.recv_timeout(WAIT).expect("an event")
}

fn expect_scan(events: &Receiver<ScannerEvent>, text: &str, kind: ScanKind) {
    match next(events) {
        ScannerEvent::Scanned(scan) => {
            assert_eq!((scan.text(), scan.kind()), (text, kind));
        }
        other => panic!("expected {text:?}, got {other:?}"),
    }
}

#[test]
fn scans_typed_into_a_pipe() {
    let (read, mut write) = std::io::pipe().expect("pipe");
    let source = EvdevScanner::from_stream(File::from(OwnedFd::from(read)), LineConfig::default())
        .with_idle_gap(Duration::from_millis(150));
    let (tx, events) = mpsc::channel();
    let _reader = ScannerReader::spawn(source, options(), tx).expect("spawn");
    assert_eq!(next(&events), ScannerEvent::Connected);

    // Each kind, typed as a US keyboard would.
    for (text, kind) in [
        ("SFM1:q3ZxV9_a-7LmN0pQrStUvWxY", ScanKind::SuFuMa),
        ("ELC1:BIZLIC:Zm9vYmFyYmF6cXV4MTIzNDU2", ScanKind::ELicence),
        ("YY202406010042", ScanKind::Appointment),
        ("PD-HZ01-A023", ScanKind::QueueTicket),
        ("https://zwfw.lyg.gov.cn/guide?id=42&x=~y", ScanKind::Url),
        ("6901234567892", ScanKind::Unknown),
    ] {
        write.write_all(&typed(text)).expect("write");
        expect_scan(&events, text, kind);
    }

    // A record split across writes, and two scans in one write.
    let mut both = typed("YY20240601");
    both.extend(typed("PD-LYG-B1234"));
    let (head, tail) = both.split_at(InputEvent::SIZE * 3 + 5);
    write.write_all(head).expect("write");
    std::thread::sleep(Duration::from_millis(30));
    write.write_all(tail).expect("write");
    expect_scan(&events, "YY20240601", ScanKind::Appointment);
    expect_scan(&events, "PD-LYG-B1234", ScanKind::QueueTicket);

    // The same code again at once is a repeat.
    write.write_all(&typed("PD-LYG-B1234")).expect("write");

    // Alt-code typing spoils its line only.
    let alt = [
        InputEvent::key(keys::KEY_LEFTALT, 1),
        InputEvent::key(79, 1),
        InputEvent::key(79, 0),
        InputEvent::key(keys::KEY_LEFTALT, 0),
        InputEvent::key(keys::KEY_ENTER, 1),
        InputEvent::key(keys::KEY_ENTER, 0),
    ];
    write.write_all(&records(&alt)).expect("write");
    assert_eq!(
        next(&events),
        ScannerEvent::Rejected(LineError::UnmappedKey { code: 79 })
    );

    // A scan broken off before its Enter is dropped once the keyboard goes quiet.
    let partial = typed("YY999");
    write
        .write_all(&partial[..partial.len() - 3 * InputEvent::SIZE])
        .expect("write");
    assert_eq!(
        next(&events),
        ScannerEvent::Rejected(LineError::Interrupted { len: 5 })
    );
    write.write_all(&typed("YY20240602")).expect("write");
    expect_scan(&events, "YY20240602", ScanKind::Appointment);

    // The device going away ends the stream.
    drop(write);
    assert!(matches!(next(&events), ScannerEvent::Disconnected(_)));
}

#[test]
fn a_captured_event_file_replays() {
    let dir = TempDir::new("wedge-capture");
    let path = dir.join("capture.events");
    let mut capture = typed("YY20240601");
    // Noise a keyboard also reports: scan codes (EV_MSC) and LED changes.
    capture.extend(
        InputEvent {
            kind: kiosk_drivers::scanner::wedge::EV_MSC,
            code: 4,
            value: 0x70028,
        }
        .to_bytes(),
    );
    capture.extend(typed(&"9".repeat(100)));
    capture.extend(typed("https://user@evil.example/"));
    std::fs::write(&path, &capture).expect("write capture");

    let config = LineConfig {
        max_len: 64,
        ..LineConfig::default()
    };
    let source = EvdevScanner::from_stream(File::open(&path).expect("open"), config);
    let (tx, events) = mpsc::channel();
    let _reader = ScannerReader::spawn(source, options(), tx).expect("spawn");
    assert_eq!(next(&events), ScannerEvent::Connected);
    expect_scan(&events, "YY20240601", ScanKind::Appointment);
    assert_eq!(
        next(&events),
        ScannerEvent::Rejected(LineError::TooLong { limit: 64 })
    );
    expect_scan(&events, "https://user@evil.example/", ScanKind::Unknown);
    assert!(matches!(next(&events), ScannerEvent::Disconnected(_)));
}

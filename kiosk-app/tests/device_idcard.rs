//! `kiosk device idcard read|decode` as a technician runs them: the built `kiosk` binary
//! against the built `kiosk-sim idcard` over a real pty, and against captured frames.
//!
//! `cargo test -p kiosk-app` builds `kiosk` but not the drivers' `kiosk-sim`; run
//! `cargo build --workspace --bins` first (the tests say so when it is missing).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kiosk_drivers::idcard::frame::checksum;
use kiosk_drivers::idcard::{IdCard, Sw3, TestCard, encode_response};
use kiosk_testkit::{Simulator, program};
use serde_json::Value;

fn kiosk() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiosk"));
    command.env("RUST_LOG", "warn");
    command
}

/// `kiosk-sim` from the drivers package, which Cargo builds next to `kiosk` when asked to.
fn kiosk_sim() -> PathBuf {
    program("kiosk-sim").unwrap_or_else(|e| {
        panic!(
            "{e:#}; this test drives the simulated reader: run `cargo build --workspace --bins` \
             first"
        )
    })
}

fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("kiosk-device-idcard-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn deck() -> Vec<IdCard> {
    TestCard::default_deck()
        .expect("deck")
        .iter()
        .map(|c| c.to_card().expect("valid card"))
        .collect()
}

/// A running `kiosk-sim idcard` and its pty's link.
struct SimulatedReader {
    /// `None` only while dropping: the simulator quits (removing its link) before its
    /// folder goes.
    sim: Option<Simulator>,
    dir: PathBuf,
    link: PathBuf,
}

impl SimulatedReader {
    fn start() -> SimulatedReader {
        let dir = scratch_dir();
        let link = dir.join("idcard");
        let sim = Simulator::start(
            kiosk_sim(),
            &["idcard", "--link", link.to_str().expect("utf-8 path")],
        );
        assert!(
            sim.ready().contains("idcard reader ready"),
            "{}",
            sim.ready()
        );
        SimulatedReader {
            sim: Some(sim),
            dir,
            link,
        }
    }

    fn ok(&mut self, line: &str) {
        self.sim.as_mut().expect("running").ok(line);
    }

    /// `kiosk device idcard read --port <link> --timeout <secs>` plus `extra`.
    fn read(&self, timeout_secs: u64, extra: &[&str]) -> Output {
        kiosk()
            .args(["device", "idcard", "read", "--port"])
            .arg(&self.link)
            .args(["--timeout", &timeout_secs.to_string()])
            .args(extra)
            .output()
            .expect("run kiosk")
    }
}

impl Drop for SimulatedReader {
    fn drop(&mut self) {
        drop(self.sim.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 stderr")
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "kiosk failed: {}\n{}",
        output.status,
        stderr(output)
    );
    stdout(output)
}

/// The one line a failing command prints, checked to be one line and non-zero.
fn failure_line(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected a failure: {}",
        stdout(output)
    );
    let text = stderr(output);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line of reason: {text}");
    lines[0].to_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).expect("JSON output")
}

#[test]
fn read_prints_the_card_with_the_id_number_masked() {
    let mut sim = SimulatedReader::start();
    sim.ok("place 0");
    let out = succeeded(&sim.read(10, &[]));
    let card = &deck()[0];
    assert!(out.contains("id_number:   3207**********0133"), "{out}");
    assert!(!out.contains(card.id_number().expose()), "unmasked: {out}");
    for expected in [
        "type:        resident",
        "name:        张三",
        "sex:         male",
        "nation:      01 汉 (Han)",
        "birth:       1985-03-12",
        "address:     江苏省连云港市海州区幸福路88号",
        "issuer:      连云港市公安局海州分局",
        "valid_from:  2015-06-01",
        "valid_to:    2035-06-01",
        "expired:     no",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in\n{out}");
    }
}

#[test]
fn read_json_reveal_gives_every_field_in_full() {
    let mut sim = SimulatedReader::start();
    sim.ok("place 0");
    let value = json(&succeeded(&sim.read(10, &["--json", "--reveal"])));
    assert_eq!(value, deck()[0].to_json(true));
    assert_eq!(value["id_number"], "320706198503120133");
    for field in [
        "type",
        "name",
        "sex",
        "nation",
        "birth",
        "address",
        "id_number",
        "issuer",
        "valid_from",
        "valid_to",
    ] {
        assert!(value.get(field).is_some(), "{field} missing: {value}");
    }
}

#[test]
fn read_handles_every_card_of_the_deck() {
    let mut sim = SimulatedReader::start();
    for (i, card) in deck().iter().enumerate() {
        sim.ok(&format!("place {i}"));
        let value = json(&succeeded(&sim.read(10, &["--json"])));
        assert_eq!(value, card.to_json(false), "card {i}");
        assert_eq!(value["type"], card.kind().as_str(), "card {i}");
        assert_eq!(value["id_number"], card.id_number().masked(), "card {i}");
        sim.ok("lift");
    }
}

#[test]
fn read_waits_for_a_card_placed_later() {
    let mut sim = SimulatedReader::start();
    let child = kiosk()
        .args(["device", "idcard", "read", "--json", "--port"])
        .arg(&sim.link)
        .args(["--timeout", "10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kiosk");
    std::thread::sleep(Duration::from_millis(500));
    sim.ok("place 4");
    let output = child.wait_with_output().expect("kiosk output");
    assert_eq!(json(&succeeded(&output))["type"], "permit_j");
}

#[test]
fn read_says_plainly_when_no_card_comes() {
    let sim = SimulatedReader::start();
    let start = Instant::now();
    let output = sim.read(1, &[]);
    assert_eq!(failure_line(&output), "kiosk: no card placed within 1 s");
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert!(stdout(&output).is_empty());
}

#[test]
fn read_reports_a_failed_security_module_and_a_missing_port() {
    let mut sim = SimulatedReader::start();
    sim.ok("sam-fail");
    let line = failure_line(&sim.read(2, &[]));
    assert!(
        line.contains("security module") && line.contains("(60)"),
        "{line}"
    );

    let output = kiosk()
        .args([
            "device",
            "idcard",
            "read",
            "--port",
            "/nonexistent/ttyIDCARD",
        ])
        .output()
        .expect("run kiosk");
    let line = failure_line(&output);
    assert!(line.contains("/nonexistent/ttyIDCARD"), "{line}");
}

fn frames_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../drivers/testdata/frames")
}

fn decode(args: &[&str], input: Option<&[u8]>) -> Output {
    let mut child = kiosk()
        .args(["device", "idcard", "decode"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kiosk");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(bytes) = input {
        stdin.write_all(bytes).expect("feed stdin");
    }
    drop(stdin);
    child.wait_with_output().expect("kiosk output")
}

fn decode_file(name: &str, args: &[&str]) -> Output {
    let path = frames_dir().join(name);
    let mut all = vec![path.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    decode(&all, None)
}

#[test]
fn decode_prints_the_card_of_each_captured_frame() {
    let deck = deck();
    for (name, index) in [
        ("read-resident.bin", 0),
        ("read-permit-j.bin", 4),
        ("read-foreigner-i.bin", 5),
        ("read-foreigner-y.bin", 6),
    ] {
        let value = json(&succeeded(&decode_file(name, &["--json"])));
        assert_eq!(value, deck[index].to_json(false), "{name}");
        let revealed = json(&succeeded(&decode_file(name, &["--json", "--reveal"])));
        assert_eq!(revealed, deck[index].to_json(true), "{name}");
        let text = succeeded(&decode_file(name, &[]));
        assert!(text.contains(&deck[index].id_number().masked()), "{text}");
        assert!(!text.contains(deck[index].id_number().expose()), "{text}");
    }
}

#[test]
fn decode_reads_a_fingerprint_read_reply_without_keeping_the_fingerprint() {
    let frame = std::fs::read(frames_dir().join("read-resident.bin")).expect("frame");
    let payload = &frame[10..frame.len() - 1];
    // The `30 10` shape: text, photo and fingerprint lengths, then the three blocks.
    let mut with_fp = payload[..4].to_vec();
    with_fp.extend_from_slice(&[0x04, 0x00]);
    with_fp.extend_from_slice(&payload[4..]);
    with_fp.extend_from_slice(&[0x5A; 1024]);
    let value = json(&succeeded(&decode(
        &["-", "--json"],
        Some(&encode_response(Sw3::Success, &with_fp)),
    )));
    assert_eq!(value, deck()[0].to_json(false));
}

#[test]
fn decode_reads_documented_replies_as_hex() {
    let cases = [
        (
            "sam-status-ok.hex",
            "reader reply: operation succeeded (90), no data",
        ),
        (
            "find-ok.hex",
            "reader reply: card found (9F), 4 data bytes: 00 00 00 00",
        ),
        (
            "select-ok.hex",
            "reader reply: operation succeeded (90), 8 data bytes: 00 00 00 00 00 00 00 00",
        ),
    ];
    for (name, expected) in cases {
        let out = succeeded(&decode_file(name, &["--hex"]));
        assert_eq!(out.trim_end(), expected, "{name}");
    }
    assert_eq!(
        failure_line(&decode_file("find-ok.hex", &[])),
        "kiosk: no reader reply found: the input looks like hex text; decode it with --hex"
    );
    let value = json(&succeeded(&decode_file(
        "find-ok.hex",
        &["--hex", "--json"],
    )));
    assert_eq!(value["status"], "9F");
    assert_eq!(value["data"], "00000000");
    // A documented failure reply is a valid frame whose status says the command failed.
    assert_eq!(
        failure_line(&decode_file("find-failed.hex", &["--hex"])),
        "kiosk: the reader reported a failure: no card found (80)"
    );
}

#[test]
fn decode_reads_hex_with_any_whitespace_from_stdin() {
    let frame = std::fs::read(frames_dir().join("read-resident.bin")).expect("frame");
    // As pasted from a protocol analyser: 16 bytes a line, odd spacing, CRLF, tabs.
    let mut text = String::from("  \n");
    for (i, line) in frame.chunks(16).enumerate() {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let sep = if i % 2 == 0 { " " } else { "\t " };
        text.push_str(&hex.join(sep));
        text.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
    }
    let value = json(&succeeded(&decode(
        &["-", "--hex", "--json"],
        Some(text.as_bytes()),
    )));
    assert_eq!(value, deck()[0].to_json(false));
    // Binary on stdin works as well.
    let value = json(&succeeded(&decode(&["-", "--json"], Some(&frame))));
    assert_eq!(value["type"], "resident");
    // Not hex at all: the offset is named, the character is not quoted.
    let line = failure_line(&decode(&["-", "--hex"], Some(b"AA AA zz")));
    assert_eq!(
        line,
        "kiosk: the input is not hex text: the character at byte offset 6 is neither a hex \
         digit nor whitespace"
    );
}

/// A frame around `payload` whose checksum is recomputed, so that only the card is at fault.
fn reframe(payload: &[u8]) -> Vec<u8> {
    let frame = encode_response(Sw3::Success, payload);
    let last = frame.len() - 1;
    assert_eq!(checksum(&frame[5..last]), frame[last]);
    frame
}

fn decode_bytes(bytes: &[u8]) -> String {
    failure_line(&decode(&["-"], Some(bytes)))
}

#[test]
fn decode_names_what_failed_in_corrupted_frames() {
    let good = std::fs::read(frames_dir().join("read-resident.bin")).expect("frame");
    let payload = &good[10..good.len() - 1];

    let mut bad_sum = good.clone();
    *bad_sum.last_mut().expect("byte") ^= 0x5A;
    let line = decode_bytes(&bad_sum);
    assert!(
        line.starts_with("kiosk: invalid frame: frame checksum mismatch"),
        "{line}"
    );

    let line = decode_bytes(&good[..600]);
    assert_eq!(
        line,
        "kiosk: truncated frame: its length field announces 1288 bytes after the header, but \
         only 593 are present"
    );

    let mut unknown = payload.to_vec();
    unknown[4 + 248] = b'Z';
    assert_eq!(
        decode_bytes(&reframe(&unknown)),
        "kiosk: invalid card data: unknown card type flag 0x5a"
    );

    let mut wrong_digit = payload.to_vec();
    let check = 4 + 122 + 17 * 2;
    wrong_digit[check] = if wrong_digit[check] == b'3' {
        b'4'
    } else {
        b'3'
    };
    assert_eq!(
        decode_bytes(&reframe(&wrong_digit)),
        "kiosk: invalid card data: the ID number is invalid: its check digit is wrong"
    );

    let mut long_len = good.clone();
    long_len[5..7].copy_from_slice(&[0x20, 0x00]);
    let line = decode_bytes(&long_len);
    assert!(
        line.contains("frame length 8192 exceeds the maximum"),
        "{line}"
    );

    let mut short_payload = payload.to_vec();
    short_payload.truncate(200);
    let line = decode_bytes(&reframe(&short_payload));
    assert!(line.contains("do not match its 196 bytes"), "{line}");

    for (status, meaning) in [
        (Sw3::ReadFailed, "reading the card failed (41)"),
        (
            Sw3::SamSelfTestFailed,
            "security module failed its self-test (60)",
        ),
        (Sw3::Unknown(0x55), "unknown reader status 0x55"),
    ] {
        let line = decode_bytes(&encode_response(status, &[]));
        assert!(
            line.starts_with("kiosk: the reader reported a failure: ") && line.ends_with(meaning),
            "{line}"
        );
    }

    let line = decode_bytes(b"\x00\x01 not a capture");
    assert_eq!(
        line,
        "kiosk: no reader reply found: the input holds no AA AA AA 96 69 preamble"
    );
    let line = decode_bytes(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x30, 0x01, 0x32]);
    assert_eq!(
        line,
        "kiosk: the frame is a host command (30 01), not a reader reply"
    );
}

#[test]
fn decode_reports_an_unreadable_file_by_name() {
    let output = decode(&["/nonexistent/capture.bin"], None);
    let line = failure_line(&output);
    assert!(
        line.contains("cannot read /nonexistent/capture.bin"),
        "{line}"
    );
}

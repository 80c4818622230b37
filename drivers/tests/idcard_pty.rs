//! The real ID-card driver (`SerialTransport` + `Reader`) against the real `kiosk-sim idcard`
//! binary over a real pty: every card type, every SW3 code and every injectable fault.

#[path = "common/idcard_sim.rs"]
mod idcard_sim;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use idcard_sim::{IdcardSim, scratch_dir};
use kiosk_testkit::Simulator;

use kiosk_drivers::idcard::{
    CardKind, FrameError, IdCard, ReadError, ReadOutcome, Reader, ReaderConfig, SerialTransport,
    Sw3, TestCard, ValidUntil, serial_wire_time,
};

/// Short enough to keep the timeout cases quick, long enough for a loaded CI machine.
fn quick(retries: u32) -> ReaderConfig {
    ReaderConfig {
        response_timeout: Duration::from_millis(1000),
        retries,
    }
}

fn deck() -> Vec<IdCard> {
    TestCard::default_deck()
        .expect("deck")
        .iter()
        .map(|c| c.to_card().expect("valid card"))
        .collect()
}

fn expect_card(outcome: Result<ReadOutcome, ReadError>) -> IdCard {
    match outcome {
        Ok(ReadOutcome::Card(card)) => card,
        other => panic!("expected a card, got {other:?}"),
    }
}

#[test]
fn every_card_type_reads_through_the_pty() {
    let mut sim = IdcardSim::start();
    let mut reader = sim.reader(quick(1));
    let deck = deck();
    let mut kinds = Vec::new();
    for (i, expected) in deck.iter().enumerate() {
        sim.ok(&format!("place {i}"));
        let card = expect_card(reader.try_read());
        assert_eq!(&card, expected, "card {i}");
        kinds.push(card.kind());
        sim.ok("lift");
        assert!(matches!(reader.try_read(), Ok(ReadOutcome::AwaitingLift)));
    }
    for kind in [
        CardKind::Resident,
        CardKind::PermitJ,
        CardKind::ForeignerI,
        CardKind::ForeignerY,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} read");
    }
    // Spot-check what the kiosk shows, on the long-term and expired residents.
    assert_eq!(deck[1].validity().to, ValidUntil::LongTerm);
    assert!(deck[2].is_expired(time::macros::date!(2026 - 01 - 01)));
    assert_eq!(deck[5].name(), "约翰");
    assert_eq!(
        deck[6].name(),
        "SAMPLE, JANE",
        "no Chinese name: English name"
    );
}

#[test]
fn no_card_then_card_then_awaiting_lift_until_placed_again() {
    let mut sim = IdcardSim::start();
    let mut reader = sim.reader(quick(0));
    assert!(matches!(reader.try_read(), Ok(ReadOutcome::NoCard)));
    sim.ok("place 0");
    expect_card(reader.try_read());
    // Still on the reader: a real reader will not find it again until it is lifted.
    assert!(matches!(reader.try_read(), Ok(ReadOutcome::AwaitingLift)));
    sim.ok("lift");
    assert!(matches!(reader.try_read(), Ok(ReadOutcome::AwaitingLift)));
    sim.ok("place 3");
    assert_eq!(expect_card(reader.try_read()), deck()[3]);
}

#[test]
fn read_blocking_polls_until_a_card_or_the_deadline() {
    let mut sim = IdcardSim::start();
    let mut reader = sim.reader(quick(0));
    let start = Instant::now();
    let none = reader
        .read_blocking(
            Duration::from_millis(50),
            start + Duration::from_millis(300),
        )
        .expect("no error");
    assert!(none.is_none());
    assert!(start.elapsed() >= Duration::from_millis(300));
    sim.ok("place 4");
    let card = reader
        .read_blocking(
            Duration::from_millis(50),
            Instant::now() + Duration::from_secs(2),
        )
        .expect("no error")
        .expect("a card");
    assert_eq!(card.kind(), CardKind::PermitJ);
}

/// What `try_read` must make of each status when the reader answers it to find.
fn expected_at_find(sw3: Sw3) -> &'static str {
    match sw3 {
        Sw3::FindSuccess => "card",
        // `90` with no data is no find reply (find answers `9F`): the driver takes it for a
        // stale reply to an earlier command, skips it and times out.
        Sw3::Success => "timeout",
        Sw3::FindFailed | Sw3::SelectFailed => "no card",
        Sw3::SamSelfTestFailed | Sw3::SamUnauthorized => "sam fault",
        _ => "status",
    }
}

fn describe(outcome: &Result<ReadOutcome, ReadError>) -> (&'static str, Option<Sw3>) {
    match outcome {
        Ok(ReadOutcome::Card(_)) => ("card", None),
        Ok(ReadOutcome::NoCard) => ("no card", None),
        Ok(ReadOutcome::AwaitingLift) => ("awaiting lift", None),
        Err(ReadError::SamFault(s)) => ("sam fault", Some(*s)),
        Err(ReadError::Status(s)) => ("status", Some(*s)),
        Err(ReadError::CardRemoved) => ("card removed", None),
        Err(ReadError::Timeout) => ("timeout", None),
        Err(_) => ("other error", None),
    }
}

#[test]
fn every_sw3_code_at_find_maps_to_the_right_outcome() {
    let mut sim = IdcardSim::start();
    let mut reader = sim.reader(quick(0));
    let codes = Sw3::ALL.into_iter().chain([Sw3::Unknown(0x55)]);
    for sw3 in codes {
        sim.ok("place 0");
        reader.clear_awaiting_lift();
        sim.ok(&format!("status {:02x} find", sw3.byte()));
        let outcome = reader.try_read();
        let (what, carried) = describe(&outcome);
        assert_eq!(what, expected_at_find(sw3), "{sw3:?}: {outcome:?}");
        if matches!(what, "status" | "sam fault") {
            assert_eq!(carried, Some(sw3), "{sw3:?}");
            // The message is plain English and names the code.
            let message = outcome.expect_err("error").to_string();
            assert!(
                message.contains(&format!("{:02X}", sw3.byte())),
                "{message}"
            );
        }
    }
}

#[test]
fn sw3_codes_at_select_read_and_open() {
    let mut sim = IdcardSim::start();
    let mut reader = sim.reader(quick(0));
    let cases: [(&str, &str, Option<Sw3>); 7] = [
        ("status 81 select", "no card", None),
        ("status 80 select", "no card", None),
        ("status 41 read", "card removed", None),
        ("status 80 read", "card removed", None),
        ("status 91 read", "status", Some(Sw3::NoContent)),
        ("status 40 read", "status", Some(Sw3::UnknownCardType)),
        ("status 66 read", "sam fault", Some(Sw3::SamUnauthorized)),
    ];
    for (control, what, carried) in cases {
        sim.ok("lift");
        sim.ok("place 0");
        reader.clear_awaiting_lift();
        sim.ok(control);
        let outcome = reader.try_read();
        assert_eq!(
            describe(&outcome),
            (what, carried),
            "{control}: {outcome:?}"
        );
    }
    drop(reader);

    sim.ok("status 66 sam-status");
    assert!(matches!(
        sim.open(quick(0)),
        Err(ReadError::SamFault(Sw3::SamUnauthorized))
    ));
    sim.ok("status 10 sam-status");
    assert!(matches!(
        sim.open(quick(0)),
        Err(ReadError::Status(Sw3::ChecksumError))
    ));
    // The reader saying our command arrived corrupt is transient: one retry fixes it.
    sim.ok("status 10 sam-status");
    assert!(sim.open(quick(1)).is_ok());
}

#[test]
fn fault_sam_failure() {
    let mut sim = IdcardSim::start();
    sim.ok("place 0");
    let mut reader = sim.reader(quick(0));
    sim.ok("sam-fail");
    assert!(matches!(
        reader.try_read(),
        Err(ReadError::SamFault(Sw3::SamSelfTestFailed))
    ));
    drop(reader);
    assert!(matches!(
        sim.open(quick(0)),
        Err(ReadError::SamFault(Sw3::SamSelfTestFailed))
    ));
    sim.ok("sam-ok");
    let mut reader = sim.reader(quick(0));
    expect_card(reader.try_read());
}

#[test]
fn fault_slow_reader() {
    let mut sim = IdcardSim::start();
    sim.ok("place 1");
    let reader = sim.reader(quick(0));
    drop(reader);
    sim.ok("slow 400");
    let mut impatient = sim.reader(ReaderConfig {
        response_timeout: Duration::from_secs(2),
        retries: 0,
    });
    drop(impatient);
    // Open succeeded with a patient config; now a reader that waits less than the delay.
    impatient = match sim.open(ReaderConfig {
        response_timeout: Duration::from_millis(150),
        retries: 0,
    }) {
        Err(ReadError::Timeout) => sim.reader(ReaderConfig {
            response_timeout: Duration::from_secs(2),
            retries: 0,
        }),
        other => panic!("expected a timeout, got {other:?}"),
    };
    let start = Instant::now();
    let card = expect_card(impatient.try_read());
    assert_eq!(card, deck()[1]);
    assert!(
        start.elapsed() >= Duration::from_millis(3 * 400),
        "three replies, each delayed"
    );
}

#[test]
fn paced_replies_take_their_wire_time() {
    let mut sim = IdcardSim::start_with(|_| vec!["--pace-baud".into(), "115200".into()]);
    let mut reader = sim.reader(quick(0));
    sim.ok("place 0");
    let start = Instant::now();
    assert_eq!(expect_card(reader.try_read()), deck()[0]);
    // Find, select and read: 30 command bytes and 15 + 19 + 1295 reply bytes, 1359 bytes of
    // 10 bits at 115200 baud, ≈ 118 ms. An unpaced simulator answers in about a millisecond.
    let wire = serial_wire_time(1359, 115_200);
    assert!(start.elapsed() >= wire, "{:?} < {wire:?}", start.elapsed());
}

#[test]
fn fault_garbage_before_reply() {
    let mut sim = IdcardSim::start();
    let mut reader = sim.reader(quick(0));
    sim.ok("place 2");
    sim.ok("garbage");
    assert_eq!(expect_card(reader.try_read()), deck()[2]);
}

#[test]
fn fault_bad_checksum() {
    let mut sim = IdcardSim::start();
    let mut reader = sim.reader(quick(0));
    sim.ok("place 3");
    sim.ok("bad-checksum");
    assert!(matches!(
        reader.try_read(),
        Err(ReadError::Frame(FrameError::Checksum { .. }))
    ));
    // The next attempt is clean.
    expect_card(reader.try_read());
    drop(reader);
    // With one retry, the driver recovers within the same attempt.
    let mut reader = sim.reader(quick(1));
    sim.ok("lift");
    sim.ok("place 3");
    sim.ok("bad-checksum");
    expect_card(reader.try_read());
}

#[test]
fn fault_lift_mid_read() {
    let mut sim = IdcardSim::start();
    for retries in [0, 1] {
        let mut reader = sim.reader(quick(retries));
        sim.ok("place 0");
        sim.ok("lift-mid-read");
        assert!(
            matches!(reader.try_read(), Err(ReadError::CardRemoved)),
            "retries {retries}"
        );
        // The card is gone; the half-received reply must not poison the next exchange.
        assert!(matches!(reader.try_read(), Ok(ReadOutcome::NoCard)));
        sim.ok("place 0");
        expect_card(reader.try_read());
        sim.ok("lift");
    }
}

#[test]
fn fault_unplug_and_replug() {
    let mut sim = IdcardSim::start();
    let mut reader = sim.reader(quick(0));
    sim.ok("place 5");
    sim.ok("unplug");
    assert!(
        std::fs::symlink_metadata(&sim.link).is_err(),
        "device path gone"
    );
    assert!(matches!(reader.try_read(), Err(ReadError::Disconnected)));
    assert!(matches!(reader.try_read(), Err(ReadError::Disconnected)));
    assert!(
        sim.open(quick(0)).is_err(),
        "nothing to open while unplugged"
    );
    assert!(sim.command("unplug").starts_with("error: "));
    sim.ok("replug");
    assert!(sim.command("replug").starts_with("error: "));
    drop(reader);
    let mut reader = sim.reader(quick(0));
    // A freshly powered reader sees the card lying on it as a new card.
    assert_eq!(expect_card(reader.try_read()), deck()[5]);
}

#[test]
fn control_errors_are_answered_not_fatal() {
    let mut sim = IdcardSim::start();
    assert!(sim.command("dance").starts_with("error: "));
    assert!(sim.command("place 99").starts_with("error: "));
    assert!(sim.command("slow fast").starts_with("error: "));
    assert!(sim.command("status zz").starts_with("error: "));
    sim.ok("place 6");
    let mut reader = sim.reader(quick(0));
    assert_eq!(expect_card(reader.try_read()).kind(), CardKind::ForeignerY);
}

#[test]
fn stdin_eof_quits_without_a_control_socket() {
    let mut sim = IdcardSim::start();
    sim.close_input();
    assert!(sim.wait_exit(Duration::from_secs(5)).success());
    assert!(
        std::fs::symlink_metadata(&sim.link).is_err(),
        "link removed"
    );
}

#[test]
fn control_socket_survives_stdin_eof() {
    let mut sock_path = PathBuf::new();
    let mut sim = IdcardSim::start_with(|dir| {
        sock_path = dir.join("control.sock");
        vec!["--control".into(), sock_path.display().to_string()]
    });
    sim.close_input();
    std::thread::sleep(Duration::from_millis(100));
    assert!(sim.is_running(), "still running");

    let stream = UnixStream::connect(&sock_path).expect("connect control socket");
    let mut answers = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    let mut ask = |line: &str| {
        writeln!(stream, "{line}").expect("send");
        let mut answer = String::new();
        answers.read_line(&mut answer).expect("answer");
        answer.trim_end().to_owned()
    };
    assert_eq!(ask("place 1"), "ok");
    assert!(ask("fly").starts_with("error: "));
    {
        let mut reader = sim.reader(quick(0));
        assert_eq!(expect_card(reader.try_read()), deck()[1]);
    }
    assert_eq!(ask("quit"), "ok");
    assert!(sim.wait_exit(Duration::from_secs(5)).success());
    assert!(
        std::fs::symlink_metadata(&sim.link).is_err(),
        "link removed"
    );
    assert!(
        std::fs::symlink_metadata(&sock_path).is_err(),
        "socket removed"
    );
}

#[test]
fn client_reconnects_do_not_disturb_the_simulator() {
    let mut sim = IdcardSim::start();
    sim.ok("place 0");
    for _ in 0..3 {
        let reader = sim.reader(quick(0));
        drop(reader);
    }
    let mut reader = sim.reader(quick(0));
    expect_card(reader.try_read());
}

#[test]
fn simulator_logs_hold_no_personal_data() {
    let dir = scratch_dir();
    let link = dir.join("idcard");
    let log_path = dir.join("stderr.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiosk-sim"));
    command
        .arg("idcard")
        .arg("--link")
        .arg(&link)
        .env("RUST_LOG", "trace")
        .stderr(log);
    let mut sim = Simulator::spawn(command);
    {
        let transport =
            SerialTransport::open(link.to_str().expect("utf-8"), 115_200).expect("open port");
        let mut reader = Reader::open(transport, quick(0)).expect("open reader");
        for i in 0..deck().len() {
            sim.ok(&format!("place {i}"));
            expect_card(reader.try_read());
            sim.ok("lift");
        }
    }
    sim.ok("quit");
    let _ = sim.wait_exit(Duration::from_secs(10));
    let text = std::fs::read_to_string(&log_path).expect("read log");
    assert!(text.contains("control"), "trace logging was on: {text}");
    for card in TestCard::default_deck().expect("deck") {
        let mut secrets = vec![card.id_number.clone(), card.photo[..32].to_owned()];
        secrets.extend(card.name.clone());
        secrets.extend(card.english_name.clone());
        secrets.extend(card.address.clone());
        for secret in secrets {
            assert!(!text.contains(&secret), "log leaks personal data");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

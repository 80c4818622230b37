//! The walking skeleton end to end: the real `kiosk` and `kiosk-platform` binaries, the ID-card
//! reader and printer simulators on real ptys, a real SQLite database.

use std::collections::HashSet;
use std::path::Path;

use kiosk_testkit::{PlatformPeer, run};

/// The simulator's first test card (drivers/testdata/cards.json), which the demo places.
const CARD_NAME: &str = "张三";
const CARD_NUMBER: &str = "320706198503120133";
const CARD_ADDRESS: &str = "幸福路88号";

fn applications(db: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).expect("platform db");
    let mut stmt = conn
        .prepare("SELECT application_no, idempotency_key FROM applications ORDER BY id")
        .expect("query");
    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn application_number(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("application number: "))
        .unwrap_or_else(|| panic!("no application number in\n{stdout}"))
        .to_owned()
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_citizen_is_served_end_to_end_exactly_once_and_leaves_nothing_behind() {
    let work = tempfile::tempdir().expect("temp dir");
    let platform = PlatformPeer::start(&work.path().join("platform.db")).expect("platform");
    let shots = work.path().join("shots");
    let key = "e2e-journey-0001";
    let demo = run(
        "kiosk-demo",
        &[
            "--headless",
            &shots.to_string_lossy(),
            "--platform",
            &platform.url,
            "--enrollment",
            &platform.enrollment("e2e").expect("enrollment token"),
            "--idempotency-key",
            key,
        ],
        &[("RUST_LOG", "trace")],
    )
    .expect("kiosk-demo");
    let stdout = String::from_utf8_lossy(&demo.stdout);
    let stderr = String::from_utf8_lossy(&demo.stderr);
    assert!(demo.status.success(), "demo failed:\n{stdout}\n{stderr}");
    let number = application_number(&stdout);

    // At least 8 distinct screens, as PNG files.
    let pngs: Vec<_> = files_under(&shots)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    let distinct: HashSet<Vec<u8>> = pngs
        .iter()
        .map(|p| std::fs::read(p).expect("png"))
        .collect();
    assert!(
        distinct.len() >= 8,
        "only {} distinct screenshots: {pngs:?}",
        distinct.len()
    );
    for png in &pngs {
        assert_eq!(
            &std::fs::read(png).expect("png")[..8],
            b"\x89PNG\r\n\x1a\n",
            "{} is not a PNG",
            png.display()
        );
    }

    // The platform holds exactly this one application.
    assert_eq!(
        applications(&platform.db),
        vec![(number.clone(), key.to_owned())]
    );

    // The receipt came out of the printer with the number on it and the applicant masked.
    let receipt = std::fs::read_to_string(shots.join("devices/receipts/receipt-0001.txt"))
        .expect("printed receipt");
    assert!(receipt.contains(&number), "{receipt}");
    assert!(receipt.contains("3207**********0133"), "{receipt}");

    // The simulators were stopped cleanly: no device link is left dangling.
    for link in ["idcard.tty", "printer.tty"] {
        assert!(
            std::fs::symlink_metadata(shots.join("devices").join(link)).is_err(),
            "{link} left behind"
        );
    }

    // Nothing personal in any log line or in any file the kiosk and its devices wrote.
    for (what, text) in [("stdout", &*stdout), ("trace log", &*stderr)] {
        for secret in [CARD_NAME, CARD_NUMBER, CARD_ADDRESS] {
            assert!(
                !text.contains(secret),
                "{what} contains personal data ({secret})"
            );
        }
    }
    for file in files_under(&shots) {
        let bytes = std::fs::read(&file).expect("file");
        let text = String::from_utf8_lossy(&bytes);
        for secret in [CARD_NUMBER, CARD_ADDRESS] {
            assert!(
                !text.contains(secret),
                "{} contains personal data",
                file.display()
            );
        }
    }

    // The technician's visit at the end of the demo: a wrong PIN, then maintenance mode and a
    // test page; each step is in the audit trail the platform receives.
    for shot in ["technician-pin", "maintenance"] {
        assert!(
            std::fs::read_dir(&shots)
                .expect("shots")
                .flatten()
                .any(|e| e
                    .file_name()
                    .to_string_lossy()
                    .ends_with(&format!("-{shot}.png"))),
            "no {shot} screenshot"
        );
    }
    let config = work.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n",
            shots.join("devices/terminal").display()
        ),
    )
    .expect("config");
    let flush = run(
        "kiosk",
        &["outbox", "flush", "--config", &config.to_string_lossy()],
        &[],
    )
    .expect("flush");
    assert!(flush.status.success());
    let conn = rusqlite::Connection::open(&platform.db).expect("db");
    let audit: Vec<String> = conn
        .prepare("SELECT kind FROM terminal_events WHERE kind LIKE 'terminal.%' ORDER BY id")
        .expect("query")
        .query_map([], |row| row.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    for kind in [
        "terminal.pin_refused",
        "terminal.maintenance_entered",
        "terminal.test_page_printed",
        "terminal.maintenance_left",
    ] {
        assert!(
            audit.iter().any(|k| k == kind),
            "{kind} missing from {audit:?}"
        );
    }

    // The same idempotency key again, from the same device enrolled afresh (a re-key token
    // an operator made for it, as re-enrolling an enrolled device needs): the same number,
    // still one row.
    let terminal_id: String = conn
        .query_row("SELECT id FROM terminals", [], |row| row.get(0))
        .expect("the one terminal");
    let again = run(
        "kiosk-demo",
        &[
            "--headless",
            &work.path().join("again").to_string_lossy(),
            "--platform",
            &platform.url,
            "--enrollment",
            &platform
                .rekey_enrollment(&terminal_id)
                .expect("re-key token"),
            "--idempotency-key",
            key,
        ],
        &[],
    )
    .expect("kiosk-demo");
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        application_number(&String::from_utf8_lossy(&again.stdout)),
        number
    );
    assert_eq!(
        applications(&platform.db).len(),
        1,
        "a repeated key must not store a second application"
    );
}

#[test]
fn the_demo_starts_its_own_platform_when_none_is_given() {
    let work = tempfile::tempdir().expect("temp dir");
    let shots = work.path().join("shots");
    let demo = run(
        "kiosk-demo",
        &[
            "--headless",
            &shots.to_string_lossy(),
            "--size",
            "1920x1080",
        ],
        &[],
    )
    .expect("kiosk-demo");
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let number = application_number(&stdout);
    let rows = applications(&shots.join("devices/platform.db"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, number);
    // Landscape screenshots are 1920 wide: PNG IHDR width at bytes 16..20.
    let home = std::fs::read(shots.join("01-home.png")).expect("home screenshot");
    assert_eq!(
        u32::from_be_bytes([home[16], home[17], home[18], home[19]]),
        1920
    );
}

#[test]
fn a_citizen_is_served_while_the_platform_is_down_and_the_application_arrives_later() {
    let work = tempfile::tempdir().expect("temp dir");
    let platform = PlatformPeer::start(&work.path().join("platform.db")).expect("platform");
    let data = work.path().join("terminal");
    let data_arg = data.to_string_lossy().into_owned();
    // A first journey online: the terminal enrolls and keeps the catalog.
    let online = run(
        "kiosk-demo",
        &[
            "--headless",
            &work.path().join("online").to_string_lossy(),
            "--platform",
            &platform.url,
            "--enrollment",
            &platform.enrollment("e2e").expect("token"),
            "--data-dir",
            &data_arg,
        ],
        &[],
    )
    .expect("demo");
    assert!(online.status.success());

    // The platform's address stops answering (nothing listens on port 9).
    let offline_shots = work.path().join("offline");
    let offline = run(
        "kiosk-demo",
        &[
            "--headless",
            &offline_shots.to_string_lossy(),
            "--platform",
            "http://127.0.0.1:9",
            "--data-dir",
            &data_arg,
            "--idempotency-key",
            "offline-journey-0001",
        ],
        &[("RUST_LOG", "kiosk_app=debug")],
    )
    .expect("demo");
    let stdout = String::from_utf8_lossy(&offline.stdout);
    assert!(
        offline.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    let reference = application_number(&stdout);
    assert!(
        reference.starts_with("LYT") && reference.contains("kept in the outbox"),
        "{reference}"
    );
    let receipt = std::fs::read_to_string(offline_shots.join("devices/receipts/receipt-0001.txt"))
        .expect("printed receipt");
    assert!(
        receipt.contains("终端参考号") && receipt.contains("自动提交"),
        "{receipt}"
    );
    assert_eq!(
        applications(&platform.db).len(),
        1,
        "only the online one so far"
    );

    // The platform is reachable again (at the address the terminal enrolled with).
    let config = work.path().join("kiosk.toml");
    std::fs::write(&config, format!("data_dir = \"{data_arg}\"\n")).expect("config");
    let flush = run(
        "kiosk",
        &["outbox", "flush", "--config", &config.to_string_lossy()],
        &[],
    )
    .expect("flush");
    assert!(
        flush.status.success(),
        "{}",
        String::from_utf8_lossy(&flush.stderr)
    );
    let rows = applications(&platform.db);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|(_, key)| key == "offline-journey-0001"));
}

//! Power cuts: the real `kiosk` is SIGKILLed at spread-out points of many submissions. After it
//! comes back, every application a citizen was shown as accepted is on the platform exactly
//! once, counted in the platform's own database.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kiosk_testkit::{PlatformPeer, program};

/// Applications stored per idempotency key.
fn stored(db: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(db).expect("platform db");
    let mut stmt = conn
        .prepare("SELECT idempotency_key, count(*) FROM applications GROUP BY idempotency_key")
        .expect("query");
    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Whether the run in `shots` got as far as showing the citizen the receipt.
fn receipt_shown(shots: &Path) -> bool {
    std::fs::read_dir(shots)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with("-receipt.png"))
        })
        .unwrap_or(false)
}

fn demo(platform: &PlatformPeer, shots: &Path, data: &Path, key: &str) -> Command {
    let mut command = Command::new(program("kiosk-demo").expect("kiosk-demo built"));
    command
        .arg("--headless")
        .arg(shots)
        .args(["--platform", &platform.url, "--data-dir"])
        .arg(data)
        .args(["--idempotency-key", key])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[test]
fn a_kiosk_killed_at_any_point_loses_no_accepted_application_and_sends_none_twice() {
    let work = tempfile::tempdir().expect("temp dir");
    let platform = PlatformPeer::start(&work.path().join("platform.db")).expect("platform");
    let data = work.path().join("terminal");

    // A first, whole run enrolls the terminal and shows how long a journey takes.
    let started = Instant::now();
    let first = demo(
        &platform,
        &work.path().join("run-0"),
        &data,
        "crash-key-0000",
    )
    .args(["--enrollment", &platform.enrollment("e2e").expect("token")])
    .status()
    .expect("demo");
    assert!(first.success());
    let journey = started.elapsed();

    // Then runs killed at points spread over the journey (a fixed spread, so a failure
    // reproduces): some before the application exists, some between keeping and sending it,
    // some after the platform stored it but before the outbox let go of it.
    let mut accepted = vec!["crash-key-0000".to_owned()];
    let runs = 6u32;
    for run in 1..=runs {
        let key = format!("crash-key-{run:04}");
        let shots = work.path().join(format!("run-{run}"));
        let at = journey.mul_f64(0.25 + 0.5 * f64::from(run) / f64::from(runs));
        let mut child = demo(&platform, &shots, &data, &key).spawn().expect("demo");
        let deadline = Instant::now() + at;
        while Instant::now() < deadline {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().ok(); // SIGKILL: no destructor, no flush, like a power cut.
        child.wait().expect("reaped");
        if receipt_shown(&shots) {
            accepted.push(key);
        }
    }
    eprintln!(
        "{} of {runs} killed runs had shown the receipt",
        accepted.len() - 1
    );
    assert!(
        accepted.len() > 1,
        "no killed run reached the receipt; the spread of kill points is too early"
    );

    // The terminal comes back: whatever waited in its outbox is delivered.
    let config = work.path().join("kiosk.toml");
    std::fs::write(&config, format!("data_dir = \"{}\"\n", data.display())).expect("config");
    let flush = Command::new(program("kiosk").expect("kiosk"))
        .args(["outbox", "flush", "--config"])
        .arg(&config)
        .env("RUST_LOG", "off")
        .output()
        .expect("flush");
    assert!(
        flush.status.success(),
        "{}{}",
        String::from_utf8_lossy(&flush.stdout),
        String::from_utf8_lossy(&flush.stderr)
    );
    let status = Command::new(program("kiosk").expect("kiosk"))
        .args(["outbox", "status", "--json", "--config"])
        .arg(&config)
        .output()
        .expect("status");
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(status["depth"], 0, "{status}");

    // Counted on the platform: every accepted application once, nothing twice.
    let rows = stored(&platform.db);
    for (key, count) in &rows {
        assert_eq!(*count, 1, "{key} stored {count} times");
    }
    for key in &accepted {
        assert!(
            rows.iter().any(|(k, _)| k == key),
            "{key} was shown as accepted but never reached the platform"
        );
    }
    assert!(rows.len() <= (runs + 1) as usize);
}

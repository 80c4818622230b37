//! `kiosk devices` and `kiosk selftest` against the simulators and a real platform process.

use std::path::Path;
use std::process::Command;

use kiosk_app::peers::{Peer, PlatformPeer, sibling_program};

fn kiosk(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("kiosk runs")
}

fn config(dir: &Path, platform: &str) -> String {
    let path = dir.join("kiosk.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{}\"\n[platform]\nurl = \"{platform}\"\ntimeout_secs = 2\n\
             [idcard]\nport = \"{}\"\n[printer]\nport = \"{}\"\n",
            dir.join("terminal").display(),
            dir.join("idcard.tty").display(),
            dir.join("printer.tty").display()
        ),
    )
    .expect("write config");
    path.to_string_lossy().into_owned()
}

#[test]
fn a_technician_sees_each_device_and_what_failed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = |name| sibling_program(name).expect("run `cargo build --workspace --bins` first");
    let platform = PlatformPeer::start(&dir.path().join("platform.db")).expect("platform");
    let url = platform.url.clone();
    let sim = program("kiosk-sim");
    let link = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (mut idcard, _) = Peer::start(
        "reader",
        &sim,
        &["idcard", "--link", &link("idcard.tty")],
        "ready",
    )
    .expect("reader");
    let receipts = dir.path().join("receipts");
    std::fs::create_dir_all(&receipts).expect("dir");
    let (mut printer, _) = Peer::start(
        "printer",
        &sim,
        &[
            "printer",
            "--link",
            &link("printer.tty"),
            "--out",
            &receipts.to_string_lossy(),
        ],
        "ready",
    )
    .expect("printer");
    let config = config(dir.path(), &url);

    // Not yet enrolled: the self-test says so, and says the platform answers.
    let out = kiosk(&["selftest", "--config", &config]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL platform") && stdout.contains("not provisioned"),
        "{stdout}"
    );

    // The technician enrolls it with the payload the operator made; the self-test follows.
    let payload = platform.enrollment("hall-1").expect("token");
    let out = kiosk(&["provision", &payload, "--config", &config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let terminal_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("enrolled as "))
        .and_then(|l| l.split(' ').next())
        .expect("enrolled as …")
        .to_owned();
    assert!(stdout.contains("PASS platform"), "{stdout}");
    // The same token cannot enroll a second time, and a second enrollment needs --force.
    let out = kiosk(&["provision", &payload, "--config", &config]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already enrolled"));
    let out = kiosk(&["provision", &payload, "--config", &config, "--force"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused the enrollment token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Everything works: devices listed ok, self-test passes and prints the test page.
    let out = kiosk(&["devices", "--json", "--config", &config]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let states: Vec<(&str, &str)> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or(""),
                d["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(states, [("card_reader", "ok"), ("printer", "ok")]);
    let out = kiosk(&["selftest", "--test-page", "--config", &config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("PASS")).count(),
        4,
        "{stdout}"
    );
    let page =
        std::fs::read_to_string(receipts.join("receipt-0001.txt")).expect("test page printed");
    assert!(page.contains(&terminal_id), "{page}");

    // Paper out and the reader unplugged: each is named, and the exit code says so.
    printer.control("state paper-out").expect("paper out");
    idcard.control("unplug").expect("unplug");
    let out = kiosk(&["selftest", "--config", &config]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL card_reader") && stdout.contains("absent"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL printer") && stdout.to_lowercase().contains("paper"),
        "{stdout}"
    );
    assert!(stdout.contains("PASS platform"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("self-test failed: card_reader, printer"),
        "{stderr}"
    );

    // The platform gone: named too.
    drop(platform);
    idcard.control("replug").expect("replug");
    printer.control("state ready").expect("ready");
    let out = kiosk(&["selftest", "--config", &config]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("PASS card_reader") && stdout.contains("PASS printer"),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL platform"), "{stdout}");
}

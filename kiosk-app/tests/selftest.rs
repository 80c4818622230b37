//! `kiosk devices` and `kiosk selftest` against the simulators and a real platform process.

use std::path::Path;
use std::process::Command;

mod common;

use common::Simulators;

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
             [idcard]\nport = \"{}\"\n[printer]\nport = \"{}\"\n\
             [scanner]\nport = \"{}\"\n[camera]\nfolder = \"{}\"\n[gpio]\nsimulator = \"{}\"\n",
            dir.join("terminal").display(),
            common::idcard_link(dir).display(),
            common::printer_link(dir).display(),
            common::scanner_link(dir).display(),
            common::frames(dir).display(),
            common::gpio_socket(dir).display(),
        ),
    )
    .expect("write config");
    path.to_string_lossy().into_owned()
}

#[test]
fn a_technician_sees_each_device_and_what_failed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Simulators {
        platform,
        mut idcard,
        mut printer,
        mut scanner,
        mut gpio,
    } = Simulators::start(dir.path());
    let url = platform.url.clone();
    let receipts = common::receipts(dir.path());
    let frames = common::frames(dir.path());
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
    assert_eq!(
        states,
        [
            ("card_reader", "ok"),
            ("printer", "ok"),
            ("scanner", "ok"),
            ("camera", "ok"),
            ("gpio", "ok")
        ]
    );
    let out = kiosk(&["selftest", "--test-page", "--config", &config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("PASS")).count(),
        7,
        "{stdout}"
    );
    assert!(stdout.contains("lights blinked"), "{stdout}");
    let blinked = gpio.ask("history fault").expect("history");
    assert!(blinked.contains("on"), "the fault lamp was lit: {blinked}");
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

    // The scanner, camera and GPIO gone: each named.
    scanner.control("unplug").expect("unplug");
    std::fs::rename(&frames, dir.path().join("frames.gone")).expect("camera gone");
    gpio.control("unplug").expect("unplug");
    let out = kiosk(&["selftest", "--json", "--config", &config]);
    assert!(!out.status.success());
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let failed: Vec<&str> = checks
        .as_array()
        .expect("list")
        .iter()
        .filter(|c| c["ok"] == false)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        failed,
        ["card_reader", "printer", "scanner", "camera", "gpio"],
        "{checks}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("self-test failed: card_reader, printer, scanner, camera, gpio"),
        "{stderr}"
    );
    scanner.control("replug").expect("replug");
    std::fs::rename(dir.path().join("frames.gone"), &frames).expect("camera back");
    gpio.control("replug").expect("replug");

    // The door open: a tamper alarm in the device list; the self-test still passes the GPIO
    // (the technician opened it).
    gpio.control("door open").expect("door");
    let out = kiosk(&["devices", "--config", &config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("gpio"))
        .unwrap_or_default();
    assert!(
        line.contains("faulted") && line.contains("tamper alarm"),
        "{stdout}"
    );
    gpio.control("door closed").expect("door");

    // A wedged printer, by hand: the relay switches it off and on.
    let out = kiosk(&["device", "gpio", "power-cycle-printer", "--config", &config]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(gpio.ask("history printer").expect("history"), "on off on");

    // The platform gone: named too.
    drop(platform);
    idcard.control("replug").expect("replug");
    printer.control("state ready").expect("ready");
    let out = kiosk(&["selftest", "--config", &config]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for device in ["card_reader", "printer", "scanner", "camera", "gpio"] {
        assert!(stdout.contains(&format!("PASS {device}")), "{stdout}");
    }
    assert!(stdout.contains("FAIL platform"), "{stdout}");
}

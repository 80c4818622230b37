//! What the end-to-end suites share: a terminal of the real `kiosk` binary, enrolled with a
//! platform process, its card reader and printer simulated on real ptys and a folder of photos
//! as its document camera.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kiosk_testkit::{PlatformPeer, Simulator, program, run};
use serde_json::Value;

/// One terminal: its folder (kiosk.toml, its data), its simulators.
pub struct Terminal {
    /// Its folder: kiosk.toml, idcard.control, receipts/, data/.
    pub dir: PathBuf,
    _idcard: Simulator,
    _printer: Simulator,
}

pub fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A terminal at `site`, enrolled with the platform, its devices simulated.
pub fn terminal(work: &Path, name: &str, platform: &PlatformPeer, site: &str) -> Terminal {
    let dir = work.join(name);
    std::fs::create_dir_all(dir.join("receipts")).expect("terminal folder");
    let sim = program("kiosk-sim").expect("kiosk-sim");
    let idcard = Simulator::start(
        &sim,
        &[
            "idcard",
            "--link",
            &text(&dir.join("idcard.tty")),
            "--control",
            &text(&dir.join("idcard.control")),
        ],
    );
    let printer = Simulator::start(
        &sim,
        &[
            "printer",
            "--link",
            &text(&dir.join("printer.tty")),
            "--out",
            &text(&dir.join("receipts")),
        ],
    );
    let camera = dir.join("camera");
    std::fs::create_dir_all(&camera).expect("camera folder");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../drivers/testdata/camera/page-01-straight.jpg"),
        camera.join("page-01.jpg"),
    )
    .expect("camera photo");
    // Two terminals on one build machine share its board serial: each is given its own.
    let config = format!(
        "data_dir = \"{}\"\nhardware_serial = \"SN-{name}\"\n[idcard]\nport = \"{}\"\n[printer]\nport = \"{}\"\n[camera]\nfolder = \"{}\"\n",
        dir.join("data").display(),
        dir.join("idcard.tty").display(),
        dir.join("printer.tty").display(),
        camera.display(),
    );
    std::fs::write(dir.join("kiosk.toml"), config).expect("config");
    let payload = platform.enrollment(site).expect("token");
    let enrolled = run(
        "kiosk",
        &[
            "provision",
            &payload,
            "--config",
            &text(&dir.join("kiosk.toml")),
        ],
        &[],
    )
    .expect("kiosk provision");
    assert!(
        enrolled.status.success(),
        "{}{}",
        String::from_utf8_lossy(&enrolled.stdout),
        String::from_utf8_lossy(&enrolled.stderr)
    );
    Terminal {
        dir,
        _idcard: idcard,
        _printer: printer,
    }
}

/// Runs `kiosk drive` at `terminal` with `script` on stdin and `extra` options: its exit code,
/// its whole output and its answers.
pub fn drive(
    terminal: &Terminal,
    extra: &[&str],
    script: &str,
) -> (Option<i32>, String, Vec<Value>) {
    let mut child = Command::new(program("kiosk").expect("kiosk"))
        .arg("drive")
        .arg("--config")
        .arg(terminal.dir.join("kiosk.toml"))
        .arg("--card-control")
        .arg(terminal.dir.join("idcard.control"))
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiosk drive");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script");
    let output = child.wait_with_output().expect("kiosk drive output");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 answers");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let answers = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{stderr}")))
        .collect();
    (output.status.code(), stdout + &stderr, answers)
}

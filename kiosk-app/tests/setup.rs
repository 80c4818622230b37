//! A terminal without identity enrolls from the QR code a technician shows its scanner: the
//! real scanner simulator on a pty and the real platform process.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiosk_app::devices::scanner_monitor::ScannerPort;
use kiosk_app::enrollment::setup::{Setup, SetupState};
use kiosk_app::uplink::identity::TerminalIdentity;
use kiosk_drivers::scanner::Suffix;
use kiosk_testkit::{Peer, PlatformPeer, program};

#[test]
fn the_setup_screen_enrolls_from_a_scanned_code_and_explains_a_wrong_one() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = PlatformPeer::start(&dir.path().join("platform.db")).expect("platform");
    let link = common::scanner_link(dir.path());
    let (mut scanner, _) = Peer::start(
        "scanner",
        &program("kiosk-sim").expect("kiosk-sim built"),
        &["scanner", "--link", &link.to_string_lossy()],
        "ready",
    )
    .expect("scanner");
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let data = common::terminal_dir(dir.path());
    let states = Arc::new(Mutex::new(Vec::new()));
    let setup = {
        let states = states.clone();
        let handle = tokio.handle().clone();
        let setup = Setup {
            data_dir: data.clone(),
            hardware_serial: "SN-SETUP-1".into(),
            timeout: Duration::from_secs(5),
        };
        let port = ScannerPort::Serial {
            path: link.clone(),
            baud: 9600,
            suffix: Suffix::Cr,
        };
        std::thread::spawn(move || {
            setup.enroll_from_scanner(&port, &handle, |state| {
                states.lock().expect("states").push(state)
            })
        })
    };
    let wait_for = |wanted: &dyn Fn(&SetupState) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !states.lock().expect("states").iter().any(wanted) {
            assert!(
                Instant::now() < deadline,
                "{:?}",
                states.lock().expect("states")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for(&|s| *s == SetupState::Waiting);
    // Give the reader a moment to open the pty before the first scan.
    std::thread::sleep(Duration::from_millis(500));

    // A citizen's 苏服码 shown by mistake: refused with the reason, nothing enrolled.
    scanner
        .control("scan https://example.cn/not-an-enrollment")
        .expect("scan");
    wait_for(&|s| matches!(s, SetupState::Failed(why) if why.contains("enrollment payload")));
    assert!(TerminalIdentity::load(&data).is_err());

    // The technician's code: enrolled, and the identity is there.
    let payload = platform.enrollment("hall-3").expect("token");
    scanner.control(&format!("scan {payload}")).expect("scan");
    let id = setup.join().expect("setup thread").expect("enrolled");
    let identity = TerminalIdentity::load(&data).expect("identity saved");
    assert_eq!(identity.terminal_id, id);
    assert_eq!(identity.hardware_serial, "SN-SETUP-1");
    assert!(
        states
            .lock()
            .expect("states")
            .iter()
            .any(|s| *s == SetupState::Enrolled(id.clone()))
    );
}

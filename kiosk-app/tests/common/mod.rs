//! The cabinet of simulators the end-to-end tests run the kiosk against: the real platform
//! process and every device's simulator, each at a fixed place in one folder (the places a
//! `kiosk.toml` or a `DeviceConfig` names).

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kiosk_testkit::{Peer, PlatformPeer};

/// A photo of a page on a desk, as the 高拍仪 sees it: the camera simulator's frame.
pub const PHOTO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../drivers/testdata/camera/page-01-straight.jpg"
);

/// The platform and every simulated device, running.
pub struct Simulators {
    pub platform: PlatformPeer,
    pub idcard: Peer,
    pub printer: Peer,
    pub scanner: Peer,
    pub gpio: Peer,
}

/// Enrolls a terminal with hardware serial `serial` on `platform`, keeping its identity (and
/// outbox) in `dir/terminal`, as a technician's `kiosk provision` does.
pub fn enroll(
    tokio: &tokio::runtime::Runtime,
    platform: &PlatformPeer,
    dir: &Path,
    serial: &str,
) -> kiosk_app::enrollment::Provisioned {
    tokio
        .block_on(kiosk_app::enrollment::provision(
            &platform.enrollment("test").expect("token"),
            &terminal_dir(dir),
            serial.into(),
            std::time::Duration::from_secs(5),
            false,
        ))
        .expect("enrolled")
}

/// A terminal enrolled on a platform of its own, with its outbox, in one temporary folder: the
/// outbox tests' bench. The platform can be stopped (`platform = None`) and started again on the
/// same address and database.
pub struct EnrolledTerminal {
    pub dir: tempfile::TempDir,
    pub platform: Option<PlatformPeer>,
    pub link: kiosk_app::uplink::platform_link::PlatformLink,
    pub terminal_id: String,
    pub address: String,
    pub tokio: tokio::runtime::Runtime,
}

/// The platform refuses the retired signature scheme V1, so every request these tests see
/// delivered proves the terminal signs with V2 (content type and idempotency key covered).
const TERMINALS_SIGN_V2: &[&str] = &["--refuse-signature-v1"];

impl EnrolledTerminal {
    /// A fresh platform, and a terminal with hardware serial `serial` enrolled on it.
    pub fn new(serial: &str) -> EnrolledTerminal {
        let dir = tempfile::tempdir().expect("dir");
        let platform = PlatformPeer::start_with(
            &dir.path().join("platform.db"),
            "127.0.0.1:0",
            TERMINALS_SIGN_V2,
        )
        .expect("platform");
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio");
        let enrolled = enroll(&tokio, &platform, dir.path(), serial);
        let address = platform.url.trim_start_matches("http://").to_owned();
        EnrolledTerminal {
            terminal_id: enrolled.identity.terminal_id.clone(),
            link: enrolled.link,
            platform: Some(platform),
            address,
            dir,
            tokio,
        }
    }

    /// The platform's database file.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("platform.db")
    }

    /// The terminal's outbox file.
    pub fn outbox_path(&self) -> PathBuf {
        terminal_dir(self.dir.path()).join("outbox.db")
    }

    /// The terminal's outbox, opened (again).
    pub fn outbox(&self) -> kiosk_app::uplink::outbox::Outbox {
        kiosk_app::uplink::outbox::Outbox::open(&self.outbox_path(), 100).expect("outbox")
    }

    /// Starts the platform again where it was.
    pub fn restart_platform(&mut self) {
        self.platform = Some(
            PlatformPeer::start_with(&self.db(), &self.address, TERMINALS_SIGN_V2)
                .expect("platform back"),
        );
    }

    /// One delivery round of the outbox's sender.
    pub fn deliver(
        &self,
        outbox: &kiosk_app::uplink::outbox::Outbox,
    ) -> kiosk_app::uplink::outbox::Delivery {
        self.tokio
            .block_on(kiosk_app::uplink::outbox::deliver_due(
                outbox,
                &self.link,
                |_, _| {},
            ))
            .expect("delivery round")
    }
}

/// `(idempotency key, application number)` of every application the platform at `db` stored.
pub fn application_numbers(db: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).expect("platform db");
    let mut stmt = conn
        .prepare("SELECT idempotency_key, application_no FROM applications ORDER BY 1")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// The enrolled terminal's data folder (identity, outbox, PIN lockout).
pub fn terminal_dir(dir: &Path) -> PathBuf {
    dir.join("terminal")
}

/// Where each device is, below the folder given to [`Simulators::start`].
pub fn idcard_link(dir: &Path) -> PathBuf {
    dir.join("idcard.tty")
}
pub fn printer_link(dir: &Path) -> PathBuf {
    dir.join("printer.tty")
}
pub fn scanner_link(dir: &Path) -> PathBuf {
    dir.join("scanner.tty")
}
pub fn gpio_socket(dir: &Path) -> PathBuf {
    dir.join("gpio.sock")
}
/// The camera's photos: rename the folder away to unplug it.
pub fn frames(dir: &Path) -> PathBuf {
    dir.join("frames")
}
/// Where the printer simulator writes what it printed.
pub fn receipts(dir: &Path) -> PathBuf {
    dir.join("receipts")
}

impl Simulators {
    /// Starts them all in `dir`.
    pub fn start(dir: &Path) -> Simulators {
        let program = |name| {
            kiosk_testkit::program(name).expect("run `cargo build --workspace --bins` first")
        };
        let text = |path: PathBuf| path.to_string_lossy().into_owned();
        let platform = PlatformPeer::start(&dir.join("platform.db")).expect("platform");
        let sim = program("kiosk-sim");
        let device = |name: &'static str, args: &[&str]| {
            Peer::start(name, &sim, args, "ready").expect(name).0
        };
        std::fs::create_dir_all(receipts(dir)).expect("receipts dir");
        std::fs::create_dir_all(frames(dir)).expect("frames dir");
        std::fs::copy(PHOTO, frames(dir).join("page.jpg")).expect("a photo");
        Simulators {
            platform,
            idcard: device("reader", &["idcard", "--link", &text(idcard_link(dir))]),
            printer: device(
                "printer",
                &[
                    "printer",
                    "--link",
                    &text(printer_link(dir)),
                    "--out",
                    &text(receipts(dir)),
                ],
            ),
            scanner: device("scanner", &["scanner", "--link", &text(scanner_link(dir))]),
            gpio: device("gpio", &["gpio", "--socket", &text(gpio_socket(dir))]),
        }
    }
}

/// Starts the real session driver for the terminal `enrolled` (its outbox in `dir/terminal`)
/// on `tokio`, with `devices` and `settings` (the terminal id filled in); every view it shows
/// arrives on the receiver.
pub fn start_session(
    tokio: &tokio::runtime::Runtime,
    enrolled: kiosk_app::enrollment::Provisioned,
    dir: &Path,
    settings: kiosk_app::session::Settings,
    devices: kiosk_app::devices::DeviceConfig,
) -> (
    kiosk_app::runtime::SessionHandle,
    std::sync::mpsc::Receiver<kiosk_app::session::View>,
) {
    let (tx, views) = std::sync::mpsc::channel();
    let _guard = tokio.enter();
    let session = kiosk_app::runtime::start(
        kiosk_app::runtime::RuntimeConfig {
            settings: kiosk_app::session::Settings {
                terminal_id: enrolled.identity.terminal_id.clone(),
                ..settings
            },
            keys: kiosk_app::session::KeySource::seeded(42),
            platform: enrolled.link,
            outbox: std::sync::Arc::new(
                kiosk_app::uplink::outbox::Outbox::open(&terminal_dir(dir).join("outbox.db"), 100)
                    .expect("outbox"),
            ),
            pin_hash: None,
            updater: None,
            devices,
        },
        move |view| {
            let _ = tx.send(view);
        },
    );
    (session, views)
}

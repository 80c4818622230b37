//! The stage the demo kiosk plays on: a platform process (or one given), the device
//! simulators on ptys in a work folder, a folder of photos as the document camera, and the demo
//! terminal enrolled on that platform.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use kiosk_app::config::DEFAULT_OUTBOX_CAPACITY;
use kiosk_app::devices::DeviceConfig;
use kiosk_app::devices::camera_monitor::CameraSource;
use kiosk_app::devices::card_reader::ReaderPort;
use kiosk_app::devices::scanner_monitor::ScannerPort;
use kiosk_app::runtime::RuntimeConfig;
use kiosk_app::session::{KeySource, Settings};
use kiosk_app::uplink::identity::TerminalIdentity;
use kiosk_app::uplink::outbox::Outbox;
use kiosk_app::uplink::platform_link::PlatformLink;
use kiosk_drivers::printer::PrinterAddress;
use kiosk_drivers::printer::document::PrintRoute;
use kiosk_drivers::printer::escpos::PaperWidth;
use kiosk_drivers::scanner::Suffix;
use kiosk_testkit::{Peer, PlatformPeer, program};

use crate::DemoOptions;

/// Everything running beside the kiosk for the demo.
pub struct Stage {
    _platform: Option<PlatformPeer>,
    pub idcard: Peer,
    _printer: Peer,
    _scanner: Peer,
    /// The appointment booked for the demo's citizen (on a platform the demo started).
    pub appointment: Option<String>,
    pub platform_url: String,
    pub enrollment: Option<String>,
    pub data_dir: PathBuf,
    pub work: PathBuf,
    pub receipts: PathBuf,
}

pub fn set_the_stage(work: &Path, options: &DemoOptions) -> anyhow::Result<Stage> {
    std::fs::create_dir_all(work).with_context(|| format!("cannot create {}", work.display()))?;
    let data_dir = options
        .data_dir
        .clone()
        .unwrap_or_else(|| work.join("terminal"));
    let enrollment = options.enrollment.clone();
    let (platform_peer, platform_url, enrollment) = match options.platform.clone() {
        Some(url) => {
            if enrollment.is_none() && TerminalIdentity::load(&data_dir).is_err() {
                bail!(
                    "with --platform, give --enrollment PAYLOAD too (`kiosk-platform token create` prints one), or a --data-dir of an enrolled terminal"
                );
            }
            (None, url.trim_end_matches('/').to_owned(), enrollment)
        }
        None => {
            let platform = PlatformPeer::start(&work.join("platform.db"))?;
            let url = platform.url.clone();
            let enrollment = match enrollment {
                Some(payload) => Some(payload),
                None => Some(platform.enrollment(DEMO_SITE)?),
            };
            (Some(platform), url, enrollment)
        }
    };
    let sim = program("kiosk-sim")?;
    let idcard_link = work.join("idcard.tty");
    let (idcard, _) = Peer::start(
        "ID-card reader simulator",
        &sim,
        &[
            "idcard",
            "--link",
            &idcard_link.to_string_lossy(),
            "--control",
            &work.join(IDCARD_CONTROL).to_string_lossy(),
        ],
        "ready",
    )?;
    let receipts = work.join("receipts");
    std::fs::create_dir_all(&receipts)?;
    let printer_link = work.join("printer.tty");
    let (printer, _) = Peer::start(
        "printer simulator",
        &sim,
        &[
            "printer",
            "--link",
            &printer_link.to_string_lossy(),
            "--out",
            &receipts.to_string_lossy(),
        ],
        "ready",
    )?;
    let (scanner, _) = Peer::start(
        "scanner simulator",
        &sim,
        &[
            "scanner",
            "--link",
            &work.join("scanner.tty").to_string_lossy(),
            "--control",
            &work.join(SCANNER_CONTROL).to_string_lossy(),
        ],
        "ready",
    )?;
    // The document camera's simulator: a folder of photos of a page on a desk.
    let frames = work.join("camera");
    std::fs::create_dir_all(&frames)?;
    for (name, bytes) in DEMO_PHOTOS {
        std::fs::write(frames.join(name), bytes)
            .with_context(|| format!("cannot write the demo photo {name}"))?;
    }
    // An appointment for today, booked as the portal would, so the citizen can check in.
    let appointment = match &platform_peer {
        Some(platform) => Some(platform.book_appointment(DEMO_SITE, DEMO_APPOINTMENT_MATTER)?),
        None => None,
    };
    Ok(Stage {
        _platform: platform_peer,
        idcard,
        _printer: printer,
        _scanner: scanner,
        appointment,
        platform_url,
        enrollment,
        data_dir,
        work: work.to_owned(),
        receipts,
    })
}

/// Enrolls the demo terminal like a technician would (or takes the identity it has). The
/// demo's hardware serial is fixed per machine, so a second enrollment re-enrolls the same
/// terminal (new key, same id).
pub async fn enroll(stage: &Stage) -> anyhow::Result<(PlatformLink, String)> {
    let Some(enrollment) = &stage.enrollment else {
        let identity = TerminalIdentity::load(&stage.data_dir)?;
        let terminal_id = identity.terminal_id.clone();
        let link = PlatformLink::enrolled(std::sync::Arc::new(identity), Duration::from_secs(10))?
            .towards(&stage.platform_url)?;
        return Ok((link, terminal_id));
    };
    let serial = format!("DEMO-{}", kiosk_app::uplink::identity::hardware_serial());
    let serial = kiosk_app::uplink::identity::clean_serial(serial.as_bytes());
    let provisioned = kiosk_app::enrollment::provision(
        enrollment,
        &stage.data_dir,
        serial,
        Duration::from_secs(10),
        true,
    )
    .await
    .map_err(|e| {
        anyhow!(
            "{e} (the platform at {} must be running)",
            stage.platform_url
        )
    })?;
    let link = provisioned.link.towards(&stage.platform_url)?;
    Ok((link, provisioned.identity.terminal_id.clone()))
}

/// The card reader simulator's control socket in the work folder (`place N`, `lift`), which
/// the scripted citizen's `card` steps go through.
pub const IDCARD_CONTROL: &str = "idcard.control";

/// The scanner simulator's control socket in the work folder (`scan TEXT`).
pub const SCANNER_CONTROL: &str = "scanner.control";

/// The demo terminal's technician PIN (a real terminal's comes from its kiosk.toml as a hash).
pub const DEMO_TECHNICIAN_PIN: &str = "24681357";

/// The site the demo terminal is enrolled at.
const DEMO_SITE: &str = "demo";

/// The matter of the demo citizen's appointment (城乡居民养老保险参保登记).
const DEMO_APPOINTMENT_MATTER: &str = "lyg-hrss-0101";

/// Photos the demo's document camera serves: a page on a desk, straight and turned.
const DEMO_PHOTOS: [(&str, &[u8]); 2] = [
    (
        "page-01.jpg",
        include_bytes!("../../drivers/testdata/camera/page-01-straight.jpg"),
    ),
    (
        "page-02.jpg",
        include_bytes!("../../drivers/testdata/camera/page-03-right-12.jpg"),
    ),
];

/// The kiosk's runtime on the stage: the simulated devices, the outbox beside the identity,
/// the demo's technician PIN, and no updater (the demo does not update itself).
pub fn runtime_config(
    stage: &Stage,
    options: &DemoOptions,
    platform: PlatformLink,
    settings: Settings,
) -> anyhow::Result<RuntimeConfig> {
    Ok(RuntimeConfig {
        settings,
        keys: keys(options),
        platform,
        devices: devices(stage),
        outbox: open_outbox(stage)?,
        pin_hash: Some(kiosk_app::technician::pin::hash_pin(DEMO_TECHNICIAN_PIN)?),
        updater: None,
    })
}

/// The demo terminal's outbox, beside its identity.
fn open_outbox(stage: &Stage) -> anyhow::Result<std::sync::Arc<Outbox>> {
    let path = Outbox::path_in(&stage.data_dir);
    Ok(std::sync::Arc::new(Outbox::open(
        &path,
        DEFAULT_OUTBOX_CAPACITY,
    )?))
}

fn devices(stage: &Stage) -> DeviceConfig {
    DeviceConfig {
        idcard: Some(ReaderPort::Serial {
            path: stage.work.join("idcard.tty"),
            baud: 115_200,
        }),
        printer: Some(PrinterAddress::Serial {
            path: stage.work.join("printer.tty"),
            baud: 115_200,
        }),
        paper: PaperWidth::Dots576,
        printer_route: PrintRoute::Native,
        scanner: Some(ScannerPort::Serial {
            path: stage.work.join("scanner.tty"),
            baud: 9600,
            suffix: Suffix::default(),
        }),
        camera: Some(CameraSource::Folder(stage.work.join("camera"))),
        ..DeviceConfig::default()
    }
}

fn keys(options: &DemoOptions) -> KeySource {
    match &options.idempotency_key {
        Some(key) => KeySource::fixed(key.clone()),
        None => KeySource::seeded(random_seed()),
    }
}

fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to the clock, still unique per run.
        return std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    }
    u64::from_le_bytes(bytes)
}

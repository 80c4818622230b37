//! `kiosk demo`: the kiosk on simulated devices against a real platform process.
//!
//! With `--headless DIR`, a scripted citizen walks the whole journey and every screen is
//! written to DIR as a PNG; otherwise a window opens and a person drives it, while the
//! simulated citizen only places the ID card when the kiosk asks for it.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use kiosk_drivers::printer::escpos::PaperWidth;
use kiosk_ui::KioskWindow;
use kiosk_ui::headless::Headless;
use slint::ComponentHandle;

use crate::camera_monitor::CameraSource;
use crate::card_reader::ReaderPort;
use crate::display::Display;
use crate::identity::TerminalIdentity;
use crate::outbox::{DEFAULT_CAPACITY, Outbox};
use crate::peers::{Peer, PlatformPeer, sibling_program};
use crate::platform_link::PlatformLink;
use crate::runtime::{self, DeviceConfig, RuntimeConfig, SessionHandle};
use crate::scanner_monitor::ScannerPort;
use crate::session::{
    Action, Errand, KeySource, MaintenanceTask, PinKey, PinMessage, PinPad, PrintStatus, Screen,
    Settings, TaskOutcome, View,
};
use kiosk_drivers::printer::PrinterAddress;
use kiosk_drivers::printer::document::PrintRoute;
use kiosk_drivers::scanner::Suffix;

/// Options of `kiosk demo`.
pub struct DemoOptions {
    /// Write screenshots here instead of opening a window.
    pub headless: Option<PathBuf>,
    /// Screen size in pixels.
    pub size: (u32, u32),
    /// Use this platform instead of starting one.
    pub platform: Option<String>,
    /// Enroll with this payload (`kiosk-platform token create`); needed with `platform`, made
    /// by the demo itself for the platform it starts.
    pub enrollment: Option<String>,
    /// Submit under this idempotency key instead of a fresh one.
    pub idempotency_key: Option<String>,
    /// Index of the test card the simulated citizen places.
    pub card: usize,
    /// Keep the terminal's identity and outbox here instead of beside the simulated devices;
    /// an identity already there is reused when no enrollment is given.
    pub data_dir: Option<PathBuf>,
}

/// Everything running beside the kiosk for the demo.
struct Stage {
    _platform: Option<PlatformPeer>,
    idcard: Peer,
    _printer: Peer,
    scanner: Peer,
    /// The appointment booked for the demo's citizen (on a platform the demo started).
    appointment: Option<String>,
    platform_url: String,
    enrollment: Option<String>,
    data_dir: PathBuf,
    work: PathBuf,
    receipts: PathBuf,
}

fn set_the_stage(work: &Path, options: &DemoOptions) -> anyhow::Result<Stage> {
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
    let sim = sibling_program("kiosk-sim")?;
    let idcard_link = work.join("idcard.tty");
    let (idcard, _) = Peer::start(
        "ID-card reader simulator",
        &sim,
        &["idcard", "--link", &idcard_link.to_string_lossy()],
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
        scanner,
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
async fn enroll(stage: &Stage) -> anyhow::Result<(PlatformLink, String)> {
    let Some(enrollment) = &stage.enrollment else {
        let identity = TerminalIdentity::load(&stage.data_dir)?;
        let terminal_id = identity.terminal_id.clone();
        let link = PlatformLink::enrolled(std::sync::Arc::new(identity), Duration::from_secs(10))?
            .towards(&stage.platform_url);
        return Ok((link, terminal_id));
    };
    let serial = format!("DEMO-{}", crate::identity::hardware_serial());
    let serial = crate::identity::clean_serial(serial.as_bytes());
    let provisioned = crate::provision::provision(
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
    let link = provisioned.link.towards(&stage.platform_url);
    Ok((link, provisioned.identity.terminal_id.clone()))
}

/// The demo terminal's technician PIN (a real terminal's comes from its kiosk.toml as a hash).
pub const DEMO_TECHNICIAN_PIN: &str = "24681357";

/// The phone number the demo citizen types.
const DEMO_PHONE: &str = "13912345678";

/// What the demo citizen searches for: 社会保障卡申领 by its pinyin initials.
const DEMO_SEARCH: &str = "shbzk";

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

/// The demo terminal's outbox, beside its identity.
fn open_outbox(stage: &Stage) -> anyhow::Result<std::sync::Arc<Outbox>> {
    let path = Outbox::path_in(&stage.data_dir);
    Ok(std::sync::Arc::new(Outbox::open(&path, DEFAULT_CAPACITY)?))
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

/// Runs the demo.
pub fn run(options: DemoOptions) -> anyhow::Result<()> {
    if let Some(key) = &options.idempotency_key {
        kiosk_protocol::validate_idempotency_key(key)
            .map_err(|e| anyhow!("--idempotency-key: {}", e.message))?;
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match &options.headless {
        Some(dir) => headless(&options, dir, &tokio),
        None => windowed(&options, &tokio),
    }
}

fn headless(
    options: &DemoOptions,
    dir: &Path,
    tokio: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut stage = set_the_stage(&dir.join("devices"), options)?;
    let (platform, terminal_id) = tokio.block_on(enroll(&stage))?;
    let (width, height) = options.size;
    let screen = Headless::install(width, height)?;
    let window = KioskWindow::new().map_err(|e| anyhow!("cannot create the kiosk window: {e}"))?;
    window
        .show()
        .map_err(|e| anyhow!("cannot show the kiosk window: {e}"))?;
    let settings = Settings {
        terminal_id,
        idle_warning_after: Duration::from_secs(5),
        thanks_linger: Duration::from_secs(2),
        ..Settings::default()
    };
    let mut display = Display::new(window, &settings.terminal_id, width > height);
    let (views_tx, views) = mpsc::channel();
    let session = {
        let _guard = tokio.enter();
        runtime::start(
            RuntimeConfig {
                settings,
                keys: keys(options),
                platform,
                devices: devices(&stage),
                outbox: open_outbox(&stage)?,
                pin_hash: Some(crate::maintenance::hash_pin(DEMO_TECHNICIAN_PIN)?),
                updater: None,
            },
            move |view| {
                let _ = views_tx.send(view);
            },
        )
    };
    let mut citizen = Citizen {
        views,
        display: &mut display,
        screen: &screen,
        session,
        dir,
        shots: Vec::new(),
        last: None,
    };
    let application_no = citizen.walk(&mut stage, options.card)?;
    println!("application number: {application_no}");
    println!("{} screenshots in {}", citizen.shots.len(), dir.display());
    println!("printed receipts in {}", stage.receipts.display());
    Ok(())
}

/// The scripted citizen of the headless demo.
struct Citizen<'a> {
    views: Receiver<View>,
    display: &'a mut Display,
    screen: &'a Headless,
    session: SessionHandle,
    dir: &'a Path,
    shots: Vec<PathBuf>,
    last: Option<View>,
}

impl Citizen<'_> {
    /// Waits until the kiosk shows a view satisfying `wanted`, applying every view on the way.
    fn expect(&mut self, what: &str, wanted: impl Fn(&View) -> bool) -> anyhow::Result<View> {
        let deadline = Instant::now() + Duration::from_secs(30);
        if let Some(view) = self.last.clone().filter(|v| wanted(v)) {
            return Ok(view);
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.views.recv_timeout(left) {
                Ok(view) => {
                    self.display.show(&view);
                    self.last = Some(view.clone());
                    if wanted(&view) {
                        return Ok(view);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let at = self
                        .last
                        .as_ref()
                        .map(|v| format!("{:?}", v.screen))
                        .unwrap_or_default();
                    bail!("the kiosk did not reach {what} within 30s (it shows {at})")
                }
                Err(RecvTimeoutError::Disconnected) => bail!("the kiosk stopped before {what}"),
            }
        }
    }

    fn shot(&mut self, name: &str) -> anyhow::Result<()> {
        let path = self
            .dir
            .join(format!("{:02}-{name}.png", self.shots.len() + 1));
        self.screen.write_png(&path)?;
        self.shots.push(path);
        Ok(())
    }

    fn touch(&mut self, action: Action) {
        self.session.touch(action);
    }

    fn walk(&mut self, stage: &mut Stage, card: usize) -> anyhow::Result<String> {
        let home = self.expect("the home screen", |v| {
            v.screen == Screen::Home && v.catalog.is_some()
        })?;
        let catalog = home.catalog.clone().ok_or_else(|| anyhow!("no catalog"))?;
        let matter = catalog
            .matters
            .iter()
            .find(|m| m.kiosk_application)
            .ok_or_else(|| {
                anyhow!(
                    "the platform's catalog has no matter that can be applied for at a terminal"
                )
            })?
            .clone();
        self.shot("home")?;

        // 长辈版: larger text and targets, and the screen's instruction spoken.
        self.touch(Action::ToggleElder);
        self.expect("elder mode", |v| v.elder && v.speech)?;
        self.shot("home-elder")?;
        self.touch(Action::ToggleElder);
        self.expect("the standard mode", |v| !v.elder)?;

        self.touch(Action::Begin);
        self.expect("the catalog", |v| {
            v.screen == Screen::Catalog { theme: None }
        })?;
        self.shot("catalog")?;

        self.touch(Action::ChooseTheme(Some(matter.theme.clone())));
        self.expect("the theme's matters", |v| {
            matches!(&v.screen, Screen::Catalog { theme: Some(_) })
        })?;
        self.shot("catalog-theme")?;

        self.touch(Action::OpenMatter(matter.id.clone()));
        self.expect("the service guide", |v| {
            matches!(v.screen, Screen::Guide { .. })
        })?;
        self.shot("guide")?;

        self.touch(Action::ToggleLanguage);
        self.expect("the guide in English", |v| {
            v.language == kiosk_protocol::Language::En
        })?;
        self.shot("guide-en")?;
        self.touch(Action::ToggleLanguage);
        self.expect("the guide in Chinese", |v| {
            v.language == kiosk_protocol::Language::Zh
        })?;

        self.touch(Action::Apply);
        self.expect("the ID-card screen", |v| {
            matches!(v.screen, Screen::Identify { .. })
        })?;
        self.shot("identify")?;

        stage.idcard.control(&format!("place {card}"))?;
        self.expect("the applicant's details", |v| {
            matches!(v.screen, Screen::Confirm { .. })
        })?;
        for digit in DEMO_PHONE.bytes() {
            self.touch(Action::PhoneDigit(digit - b'0'));
        }
        self.expect("the phone typed", |v| v.phone == DEMO_PHONE)?;
        self.shot("form")?;

        self.touch(Action::ConfirmApplicant);
        self.gather_materials()?;
        self.expect("the review", |v| matches!(v.screen, Screen::Review { .. }))?;
        self.shot("review")?;

        self.touch(Action::SubmitApplication);
        let receipt = self.expect("the printed receipt", |v| {
            matches!(&v.screen, Screen::Receipt { printing, .. } if *printing != PrintStatus::Printing)
                || matches!(v.screen, Screen::SubmitFailed { .. })
        })?;
        let Screen::Receipt {
            receipt,
            printing,
            kept,
        } = receipt.screen
        else {
            bail!("the platform did not accept the application (see the platform's log)");
        };
        self.shot("receipt")?;
        if printing != PrintStatus::Printed {
            eprintln!("warning: the receipt was not printed ({printing:?})");
        }
        stage.idcard.control("lift")?;

        self.touch(Action::Done);
        self.expect("the rating", |v| matches!(v.screen, Screen::Rating { .. }))?;
        self.touch(Action::Rate(5));
        self.expect("a five-star rating", |v| {
            matches!(v.screen, Screen::Rating { level: Some(5), .. })
        })?;
        self.shot("rating")?;

        self.touch(Action::SendRating);
        self.expect("the thank-you screen", |v| v.screen == Screen::Thanks)?;
        self.shot("thanks")?;
        self.expect("home again", |v| {
            v.screen == Screen::Home && v.applicant.is_none()
        })?;

        // A second citizen walks away mid-session: the kiosk warns before it wipes.
        self.touch(Action::Begin);
        self.expect("the catalog", |v| {
            matches!(v.screen, Screen::Catalog { .. })
        })?;
        self.expect("the timeout warning", |v| v.timeout_warning.is_some())?;
        self.shot("timeout-warning")?;
        self.touch(Action::Home);
        self.expect("home", |v| v.screen == Screen::Home)?;

        self.find_by_search_and_department()?;
        self.errands(stage, card)?;

        // A technician visits: five taps on the footer, a wrong PIN, then the right one.
        self.technician_visit()?;
        Ok(if kept {
            format!(
                "{} (kept in the outbox until the platform answers)",
                receipt.application_no
            )
        } else {
            receipt.application_no
        })
    }
}

impl Citizen<'_> {
    /// Photographs the first material (two pages), commits to hand in later what may be, and
    /// photographs the rest.
    fn gather_materials(&mut self) -> anyhow::Result<()> {
        let mut shown_commitment = false;
        loop {
            let view = self.expect("the materials or the review", |v| {
                matches!(
                    v.screen,
                    Screen::Materials {
                        capturing: false,
                        ..
                    } | Screen::Review { .. }
                )
            })?;
            let Screen::Materials { slot, matter, .. } = &view.screen else {
                return Ok(());
            };
            let waivable = view
                .catalog
                .as_ref()
                .and_then(|c| c.matter(matter))
                .zip(view.materials.get(*slot))
                .and_then(|(m, s)| m.materials.get(usize::from(s.index)))
                .is_some_and(|m| m.waivable);
            let slot = *slot;
            if slot > 0 && waivable {
                self.touch(Action::DeclareMissing);
                self.expect("the commitment", |v| {
                    matches!(v.screen, Screen::Commitment { .. })
                })?;
                if !shown_commitment {
                    self.shot("commitment")?;
                    shown_commitment = true;
                }
                self.touch(Action::Commit);
                self.expect("the next step", |v| {
                    !matches!(v.screen, Screen::Commitment { .. })
                })?;
                continue;
            }
            let pages = if slot == 0 { 2 } else { 1 };
            for n in 1..=pages {
                self.touch(Action::Capture);
                self.expect("the page taken", |v| {
                    v.materials.get(slot).is_some_and(|s| s.pages.len() >= n)
                        && matches!(
                            v.screen,
                            Screen::Materials {
                                capturing: false,
                                ..
                            }
                        )
                })?;
            }
            if slot == 0 {
                self.expect("the camera's picture", |v| v.preview.is_some())?;
                self.shot("materials")?;
            }
            self.touch(Action::NextMaterial);
            self.expect(
                "the next material",
                |v| !matches!(&v.screen, Screen::Materials { slot: s, .. } if *s == slot),
            )?;
        }
    }

    /// Search by pinyin initials, then the catalog by department.
    fn find_by_search_and_department(&mut self) -> anyhow::Result<()> {
        self.touch(Action::OpenSearch);
        self.expect("the search screen", |v| {
            matches!(v.screen, Screen::Search { .. })
        })?;
        for key in DEMO_SEARCH.chars() {
            self.touch(Action::SearchType(key.to_string()));
        }
        self.expect("search results", |v| {
            matches!(&v.screen, Screen::Search { query } if query == DEMO_SEARCH)
                && !v.search_results.is_empty()
        })?;
        self.shot("search")?;
        self.touch(Action::Back);
        self.expect("home", |v| v.screen == Screen::Home)?;
        self.touch(Action::Begin);
        self.touch(Action::ChooseDepartment(None));
        self.expect("the departments", |v| {
            matches!(v.screen, Screen::Departments { .. })
        })?;
        self.shot("departments")?;
        self.touch(Action::Home);
        self.expect("home", |v| v.screen == Screen::Home)?;
        Ok(())
    }

    /// A queue number, an appointment check-in by its code, the progress of the application
    /// just made, and the record of applications printed.
    fn errands(&mut self, stage: &mut Stage, card: usize) -> anyhow::Result<()> {
        let finished = |v: &View| {
            matches!(&v.screen, Screen::ErrandResult { printing, .. }
                if *printing != Some(PrintStatus::Printing))
        };
        self.touch(Action::Errand(Errand::Ticket));
        let view = self.expect("the queue picker", |v| {
            matches!(v.screen, Screen::QueuePick { .. })
        })?;
        let matter = view
            .catalog
            .as_ref()
            .and_then(|c| c.matters.first())
            .map(|m| m.id.clone())
            .ok_or_else(|| anyhow!("no matter to queue for"))?;
        self.touch(Action::OpenMatter(matter));
        self.expect("the queue ticket", finished)?;
        self.shot("ticket")?;
        self.touch(Action::Done);
        self.expect("home", |v| v.screen == Screen::Home)?;

        if let Some(code) = stage.appointment.clone() {
            self.touch(Action::Errand(Errand::CheckIn));
            self.expect("the check-in screen", |v| {
                matches!(v.screen, Screen::CheckIn { .. })
            })?;
            self.shot("check-in")?;
            stage.scanner.control(&format!("scan {code}"))?;
            self.expect("checked in", finished)?;
            self.shot("checked-in")?;
            self.touch(Action::Done);
            self.expect("home", |v| v.screen == Screen::Home)?;
        }

        self.touch(Action::Errand(Errand::Progress));
        self.expect("the card screen", |v| {
            matches!(v.screen, Screen::IdentifyFor { .. })
        })?;
        stage.idcard.control(&format!("place {card}"))?;
        self.expect("the applications", finished)?;
        self.shot("progress")?;
        stage.idcard.control("lift")?;
        self.touch(Action::Done);
        self.expect("home", |v| v.screen == Screen::Home)?;

        self.touch(Action::Errand(Errand::Certificate));
        self.expect("the card screen", |v| {
            matches!(v.screen, Screen::IdentifyFor { .. })
        })?;
        stage.idcard.control(&format!("place {card}"))?;
        self.expect("the certificate", finished)?;
        self.shot("certificate")?;
        stage.idcard.control("lift")?;
        self.touch(Action::Done);
        self.expect("home", |v| v.screen == Screen::Home)?;
        Ok(())
    }

    fn technician_visit(&mut self) -> anyhow::Result<()> {
        for _ in 0..crate::session::technician::SECRET_TAPS {
            self.touch(Action::SecretTap);
        }
        self.expect("the technician PIN pad", |v| {
            matches!(v.screen, Screen::TechnicianPin(_))
        })?;
        self.type_pin("00000000");
        self.expect("the wrong PIN refused", |v| {
            matches!(
                v.screen,
                Screen::TechnicianPin(PinPad {
                    message: PinMessage::Wrong { .. },
                    ..
                })
            )
        })?;
        self.shot("technician-pin")?;
        self.type_pin(DEMO_TECHNICIAN_PIN);
        self.expect(
            "the maintenance panel",
            |v| matches!(&v.screen, Screen::Maintenance(panel) if !panel.status.lines.is_empty()),
        )?;
        self.touch(Action::Maintenance(MaintenanceTask::PrintTestPage));
        self.expect("the test page printed", |v| {
            matches!(&v.screen, Screen::Maintenance(panel)
                if matches!(panel.last_task, Some((_, TaskOutcome::Done(_) | TaskOutcome::Failed(_)))))
        })?;
        self.shot("maintenance")?;
        self.touch(Action::Home);
        self.expect("home", |v| v.screen == Screen::Home)?;
        Ok(())
    }

    fn type_pin(&mut self, pin: &str) {
        for digit in pin.bytes() {
            self.touch(Action::Pin(PinKey::Digit(digit - b'0')));
        }
        self.touch(Action::Pin(PinKey::Submit));
    }
}

fn windowed(options: &DemoOptions, tokio: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let work = std::env::temp_dir().join(format!("kiosk-demo-{}", std::process::id()));
    let stage = set_the_stage(&work, options)?;
    let (platform, terminal_id) = tokio.block_on(enroll(&stage))?;
    let window = KioskWindow::new().map_err(|e| {
        anyhow!("cannot open a window ({e}); on a machine without a display use --headless DIR")
    })?;
    let (width, height) = options.size;
    window
        .window()
        .set_size(slint::PhysicalSize::new(width, height));
    let settings = Settings {
        terminal_id,
        ..Settings::default()
    };
    let display = Display::new(window.clone_strong(), &settings.terminal_id, width > height);
    println!(
        "kiosk demo: platform at {}, simulated devices in {}",
        stage.platform_url,
        work.display()
    );
    println!(
        "the simulated citizen places test card {} when the kiosk asks for an ID card",
        options.card
    );
    println!(
        "technicians: tap the terminal id at the foot of the home screen five times; the PIN is {DEMO_TECHNICIAN_PIN}"
    );

    let (citizen_tx, citizen_rx) = mpsc::channel::<View>();
    let session = {
        let _guard = tokio.enter();
        crate::window::show_in_window(
            display,
            RuntimeConfig {
                settings,
                keys: keys(options),
                platform,
                devices: devices(&stage),
                outbox: open_outbox(&stage)?,
                pin_hash: Some(crate::maintenance::hash_pin(DEMO_TECHNICIAN_PIN)?),
                updater: None,
            },
            Some(citizen_tx),
        )
    };
    let card = options.card;
    let mut idcard = stage.idcard;
    std::thread::spawn(move || {
        let mut placed = false;
        for view in citizen_rx {
            let wants_card = matches!(
                view.screen,
                Screen::Identify { .. } | Screen::IdentifyFor { .. } | Screen::CheckIn { .. }
            );
            if wants_card && !placed {
                std::thread::sleep(Duration::from_secs(2));
                placed = idcard.control(&format!("place {card}")).is_ok();
            } else if !wants_card && placed {
                placed = idcard.control("lift").is_err();
            }
        }
    });
    drop(session);
    window
        .run()
        .map_err(|e| anyhow!("the window closed with an error: {e}"))?;
    Ok(())
}

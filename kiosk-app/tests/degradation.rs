//! Devices failing mid-journey: only the functions that need them go away, nothing crashes,
//! nothing is lost, and they come back by themselves when the device returns.
//!
//! The real session driver runs against the real platform process and every device's
//! simulator: the ID-card reader, printer and QR scanner on real ptys, the cabinet's GPIO
//! behind its Unix socket, and the document camera as a folder of photos. Faults are injected
//! through the simulators' controls (or by taking the photos away).

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use kiosk_app::devices::cabinet::GpioPort;
use kiosk_app::devices::camera_monitor::CameraSource;
use kiosk_app::devices::card_reader::ReaderPort;
use kiosk_app::devices::health::{DeviceKind, HealthState};
mod common;

use common::Simulators;
use kiosk_app::devices::DeviceConfig;
use kiosk_app::devices::scanner_monitor::ScannerPort;
use kiosk_app::runtime::SessionHandle;
use kiosk_app::session::{
    Action, IdentifyPrompt, PrintFailure, PrintStatus, Screen, Settings, View,
};
use kiosk_drivers::printer::PrinterAddress;
use kiosk_drivers::printer::document::PrintRoute;
use kiosk_drivers::printer::escpos::PaperWidth;
use kiosk_drivers::scanner::Suffix;
use kiosk_testkit::{Peer, PlatformPeer};

/// The matter applied for: the senior card (敬老卡) has a photo to capture and a household
/// register that may be handed in later, and no form (this rig types no form answers).
const APPLIED_FOR: &str = "lyg-health-0701";

struct Rig {
    views: Receiver<View>,
    last: Option<View>,
    session: SessionHandle,
    idcard: Peer,
    printer: Peer,
    scanner: Peer,
    gpio: Peer,
    /// The camera's photos; renamed away to unplug it.
    frames: std::path::PathBuf,
    _platform: PlatformPeer,
    _tokio: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn start() -> Rig {
        Rig::start_with(Duration::from_secs(3600))
    }

    /// Everything running; home falls into the attract screen after `attract_after`.
    fn start_with(attract_after: Duration) -> Rig {
        let dir = tempfile::tempdir().expect("temp dir");
        let sims = Simulators::start(dir.path());
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio");
        let enrolled = common::enroll(&tokio, &sims.platform, dir.path(), "SN-DEGRADATION-1");
        let (session, views) = common::start_session(
            &tokio,
            enrolled,
            dir.path(),
            Settings {
                attract_after,
                ..Settings::default()
            },
            DeviceConfig {
                idcard: Some(ReaderPort::Serial {
                    path: common::idcard_link(dir.path()),
                    baud: 115_200,
                }),
                printer: Some(PrinterAddress::Serial {
                    path: common::printer_link(dir.path()),
                    baud: 115_200,
                }),
                paper: PaperWidth::Dots576,
                printer_route: PrintRoute::Native,
                scanner: Some(ScannerPort::Serial {
                    path: common::scanner_link(dir.path()),
                    baud: 9600,
                    suffix: Suffix::Cr,
                }),
                camera: Some(CameraSource::Folder(common::frames(dir.path()))),
                camera_probe: Duration::from_millis(300),
                gpio: Some(GpioPort::Simulator(common::gpio_socket(dir.path()))),
            },
        );
        Rig {
            views,
            last: None,
            session,
            idcard: sims.idcard,
            printer: sims.printer,
            scanner: sims.scanner,
            gpio: sims.gpio,
            frames: common::frames(dir.path()),
            _platform: sims.platform,
            _tokio: tokio,
            _dir: dir,
        }
    }

    fn expect(&mut self, what: &str, wanted: impl Fn(&View) -> bool) -> View {
        if let Some(view) = self.last.clone().filter(|v| wanted(v)) {
            return view;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let view = self.views.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "never saw {what}; last screen: {:?}",
                    self.last.as_ref().map(|v| &v.screen)
                )
            });
            self.last = Some(view.clone());
            if wanted(&view) {
                return view;
            }
        }
    }

    fn touch(&mut self, action: Action) {
        self.session.touch(action);
    }

    fn health(&self, kind: DeviceKind) -> Option<HealthState> {
        self.session.health().get(kind).map(|h| h.state)
    }

    /// Waits until the health board shows `kind` in a state `wanted` accepts; returns its
    /// reason. (Devices no citizen function depends on change no view, only the board.)
    fn await_health(&self, kind: DeviceKind, wanted: impl Fn(HealthState) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(h) = self.session.health().get(kind)
                && wanted(h.state)
            {
                return h.reason.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{kind:?} never reached the wanted state: {:?}",
                self.session.health().get(kind)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the cabinet's `show` answer contains `wanted` (e.g. `busy=on`).
    fn await_pins(&mut self, wanted: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let pins = self.gpio.ask("show").expect("show");
            if pins.contains(wanted) {
                return pins;
            }
            assert!(Instant::now() < deadline, "never {wanted}: {pins}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn all_usable(v: &View) -> bool {
        v.devices.card_reader && v.devices.printer && v.devices.scanner && v.devices.camera
    }

    /// From the form to the submission: a phone number, every material handed in later
    /// where that is allowed and photographed where not, then submit.
    fn complete_application(&mut self) {
        for digit in "13912345678".bytes() {
            self.touch(Action::PhoneDigit(digit - b'0'));
        }
        self.expect("the phone typed", |v| v.phone.len() == 11);
        self.touch(Action::ConfirmApplicant);
        loop {
            let view = self.expect("a material or the review", |v| {
                matches!(
                    v.screen,
                    Screen::Materials {
                        capturing: false,
                        ..
                    } | Screen::Review { .. }
                )
            });
            let Screen::Materials { slot, matter, .. } = view.screen.clone() else {
                break;
            };
            let waivable = view
                .catalog
                .as_ref()
                .and_then(|c| c.matter(&matter))
                .zip(view.materials.get(slot))
                .and_then(|(m, s)| m.materials.get(usize::from(s.index)))
                .is_some_and(|m| m.waivable);
            if waivable {
                self.touch(Action::DeclareMissing);
                self.expect("the commitment", |v| {
                    matches!(v.screen, Screen::Commitment { .. })
                });
                self.touch(Action::Commit);
            } else {
                self.touch(Action::Capture);
                self.expect("a page", |v| {
                    v.materials.get(slot).is_some_and(|s| !s.pages.is_empty())
                });
                self.touch(Action::NextMaterial);
            }
            self.expect("the next step", |v| {
                !matches!(&v.screen, Screen::Materials { slot: s, .. } if *s == slot)
                    && !matches!(v.screen, Screen::Commitment { .. })
            });
        }
        self.touch(Action::SubmitApplication);
    }

    fn walk_to_guide(&mut self) -> String {
        let home = self.expect("home with a catalog", |v| {
            v.screen == Screen::Home && v.catalog.is_some()
        });
        let matter = home
            .catalog
            .as_ref()
            .and_then(|c| c.matter(APPLIED_FOR))
            .filter(|m| m.kiosk_application && m.form.is_none())
            .expect("matter");
        let id = matter.id.clone();
        self.touch(Action::Begin);
        self.expect("catalog", |v| matches!(v.screen, Screen::Catalog { .. }));
        self.touch(Action::OpenMatter(id.clone()));
        self.expect("guide", |v| matches!(v.screen, Screen::Guide { .. }));
        id
    }
}

#[test]
fn unplugging_the_reader_stops_applying_only_until_it_returns() {
    let mut r = Rig::start();
    r.expect("every device usable", Rig::all_usable);
    r.walk_to_guide();

    r.idcard.control("unplug").expect("unplug");
    let view = r.expect("the reader reported gone", |v| !v.devices.card_reader);
    assert!(view.devices.printer, "the printer is unaffected");
    assert!(matches!(
        r.health(DeviceKind::CardReader),
        Some(HealthState::Absent | HealthState::Faulted)
    ));
    r.touch(Action::Apply);
    r.touch(Action::ToggleLanguage);
    let view = r.expect("the language switch went through", |v| {
        v.language == kiosk_protocol::Language::En
    });
    assert!(
        matches!(view.screen, Screen::Guide { .. }),
        "applying stays disabled: {:?}",
        view.screen
    );

    r.idcard.control("replug").expect("replug");
    r.expect("the reader back", |v| v.devices.card_reader);
    assert_eq!(r.health(DeviceKind::CardReader), Some(HealthState::Ok));
    r.touch(Action::Apply);
    r.expect("the card screen", |v| {
        matches!(v.screen, Screen::Identify { .. })
    });
    r.idcard.control("place 0").expect("place");
    r.expect("the applicant's details", |v| {
        matches!(v.screen, Screen::Confirm { .. })
    });
}

#[test]
fn a_printer_out_of_paper_costs_the_receipt_not_the_application() {
    let mut r = Rig::start();
    r.expect("every device usable", Rig::all_usable);
    r.printer.control("state paper-out").expect("paper out");
    let view = r.expect("the printer reported out of paper", |v| !v.devices.printer);
    assert!(view.devices.card_reader, "the reader is unaffected");
    assert_eq!(r.health(DeviceKind::Printer), Some(HealthState::Faulted));

    r.walk_to_guide();
    r.touch(Action::Apply);
    r.expect("the card screen", |v| {
        matches!(v.screen, Screen::Identify { .. })
    });
    r.idcard.control("place 0").expect("place");
    r.expect("the applicant's details", |v| {
        matches!(v.screen, Screen::Confirm { .. })
    });
    r.complete_application();
    let view = r.expect("the receipt screen", |v| {
        matches!(v.screen, Screen::Receipt { .. })
    });
    let Screen::Receipt {
        receipt, printing, ..
    } = view.screen
    else {
        unreachable!()
    };
    assert!(
        receipt.application_no.starts_with("LY"),
        "the application was accepted"
    );
    assert_eq!(
        printing,
        PrintStatus::Failed(PrintFailure::PrinterFault),
        "and said plainly it was not printed"
    );

    r.printer
        .control("state near-end")
        .expect("refilled, nearly");
    r.expect("the printer back", |v| v.devices.printer);
    assert_eq!(
        r.health(DeviceKind::Printer),
        Some(HealthState::Degraded),
        "near end is a warning for technicians"
    );
    r.idcard.control("lift").expect("lift");
    r.touch(Action::Home);
    r.walk_to_guide();
    r.touch(Action::Apply);
    r.expect("the card screen", |v| {
        matches!(v.screen, Screen::Identify { .. })
    });
    r.idcard.control("place 1").expect("place");
    r.expect("the applicant's details", |v| {
        matches!(v.screen, Screen::Confirm { .. })
    });
    r.complete_application();
    r.expect("a printed receipt", |v| {
        matches!(
            v.screen,
            Screen::Receipt {
                printing: PrintStatus::Printed,
                ..
            }
        )
    });
}

#[test]
fn scanner_and_camera_unplugged_mid_journey_take_only_their_functions() {
    let mut r = Rig::start();
    r.expect("every device usable", Rig::all_usable);
    r.walk_to_guide();

    // The scanner is pulled: only scanning goes; the citizen applies all the same.
    r.scanner.control("unplug").expect("unplug");
    let view = r.expect("the scanner reported gone", |v| !v.devices.scanner);
    assert!(view.devices.card_reader && view.devices.printer && view.devices.camera);
    assert_eq!(r.health(DeviceKind::Scanner), Some(HealthState::Absent));
    // The camera goes too, mid-journey: it is not probed while a citizen is served.
    std::fs::rename(&r.frames, r.frames.with_extension("gone")).expect("camera unplugged");
    r.touch(Action::Apply);
    r.expect("the card screen", |v| {
        matches!(v.screen, Screen::Identify { .. })
    });

    // Back and replugged: a scanned 苏服码 is answered on the card screen.
    r.scanner.control("replug").expect("replug");
    r.expect("the scanner back", |v| v.devices.scanner);
    r.scanner
        .control("scan SFM1:q3ZxV9_a-7LmN0pQrStUvWxY")
        .expect("scan");
    r.expect("the citizen told to use the card", |v| {
        matches!(
            v.screen,
            Screen::Identify {
                prompt: IdentifyPrompt::CodeNotAccepted,
                ..
            }
        )
    });
    // Bad input: 10 KB of line noise, a code too long, control characters. Nothing breaks.
    r.scanner.control("garbage 10240").expect("garbage");
    r.scanner
        .control(&format!("scan {}", "A".repeat(10 * 1024)))
        .expect("too long");
    r.scanner
        .control("scan-hex 5959071b5b326a0d")
        .expect("controls");
    r.idcard.control("place 0").expect("place");
    r.expect("the applicant's details", |v| {
        matches!(v.screen, Screen::Confirm { .. })
    });
    assert_eq!(r.health(DeviceKind::Scanner), Some(HealthState::Ok));

    // Home again: now the camera's absence is found, and only the camera is out.
    r.touch(Action::Home);
    let view = r.expect("the camera reported gone", |v| !v.devices.camera);
    assert!(view.devices.scanner && view.devices.card_reader && view.devices.printer);
    assert_eq!(r.health(DeviceKind::Camera), Some(HealthState::Absent));
    std::fs::rename(r.frames.with_extension("gone"), &r.frames).expect("camera back");
    r.expect("the camera back", |v| v.devices.camera);
    let reason = r.await_health(DeviceKind::Camera, |s| s == HealthState::Ok);
    assert!(reason.starts_with("frame "), "{reason}");
}

#[test]
fn the_cabinet_wakes_alarms_lights_and_survives_its_gpio_going_away() {
    // Long enough that the walk below never meets the attract screen again.
    let mut r = Rig::start_with(Duration::from_secs(3));
    r.expect("every device usable", Rig::all_usable);
    r.await_health(DeviceKind::Gpio, |s| s == HealthState::Ok);
    r.await_pins("ready=on busy=off fault=off");

    // Nobody there: the attract screen; someone steps up: it lifts.
    r.expect("the attract screen", |v| v.attract);
    r.gpio.control("presence on").expect("presence");
    r.expect("woken by the presence sensor", |v| !v.attract);
    r.walk_to_guide();
    r.await_pins("ready=off busy=on fault=off");

    // The door opens mid-journey: a tamper alarm for technicians, fault light; the citizen
    // goes on.
    r.gpio.control("door open").expect("door");
    let reason = r.await_health(DeviceKind::Gpio, |s| s == HealthState::Faulted);
    assert!(reason.contains("tamper"), "{reason}");
    r.await_pins("busy=off fault=on");
    r.touch(Action::Apply);
    r.expect("the card screen", |v| {
        matches!(v.screen, Screen::Identify { .. })
    });
    r.gpio.control("door closed").expect("door");
    r.await_health(DeviceKind::Gpio, |s| s == HealthState::Ok);
    r.await_pins("busy=on fault=off");

    // The GPIO goes away: reported, no citizen function lost; it comes back by itself.
    r.gpio.control("unplug").expect("unplug");
    r.await_health(DeviceKind::Gpio, |s| s == HealthState::Absent);
    r.idcard.control("place 0").expect("place");
    let view = r.expect("the applicant's details", |v| {
        matches!(v.screen, Screen::Confirm { .. })
    });
    assert!(Rig::all_usable(&view));
    r.gpio.control("replug").expect("replug");
    r.await_health(DeviceKind::Gpio, |s| s == HealthState::Ok);
    r.await_pins("busy=on");
}

#[test]
fn a_printer_that_stops_answering_has_its_power_cycled_once() {
    let mut r = Rig::start();
    r.expect("every device usable", Rig::all_usable);
    r.await_health(DeviceKind::Gpio, |s| s == HealthState::Ok);
    r.printer.control("state off").expect("printer wedged");
    r.expect("the printer reported", |v| !v.devices.printer);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let history = r.gpio.ask("history printer").expect("history");
        if history == "on off on" {
            break;
        }
        assert!(Instant::now() < deadline, "relay never cycled: {history}");
        std::thread::sleep(Duration::from_millis(200));
    }
    r.printer.control("state ready").expect("printer back");
    r.expect("the printer back", |v| v.devices.printer);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        r.gpio.ask("history printer").expect("history"),
        "on off on",
        "cycled once, not over and over"
    );
}

/// What the process holds: resident memory (KiB), open descriptors, threads.
fn footprint() -> (u64, usize, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let count = |dir: &str| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    (rss, count("/proc/self/fd"), count("/proc/self/task"))
}

/// An accelerated soak in a process of its own (so the footprint is the kiosk runtime's, not
/// other tests'): thousands of sessions against the real devices' simulators and platform.
#[test]
fn thousands_of_sessions_leave_memory_descriptors_and_threads_flat() {
    let me = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new(me)
        .args(["--exact", "soak_inside", "--ignored", "--nocapture"])
        .output()
        .expect("soak");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.contains("1 passed"), "{said}");
    for line in said.lines().filter(|l| l.starts_with("soak:")) {
        println!("{line}");
    }
}

/// The inside of the soak above. `KIOSK_SOAK_SESSIONS` sets how many (default 3000; every
/// 100th is a whole application with a card, a photographed material and a printed receipt,
/// the others browse the catalog and a guide and go home).
#[test]
#[ignore = "runs inside thousands_of_sessions_leave_memory_descriptors_and_threads_flat"]
fn soak_inside() {
    let sessions: usize = std::env::var("KIOSK_SOAK_SESSIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    let mut r = Rig::start();
    r.expect("every device usable", Rig::all_usable);
    // Memory climbs while caches, pools and malloc's arenas reach their working size (about
    // 1500 sessions here), then stays: the second half is measured against the first.
    let warm_up = sessions / 2;
    let mut baseline = None;
    let mut peak = (0, 0, 0);
    let started = Instant::now();
    for n in 0..sessions {
        if n % 100 == 50 {
            r.walk_to_guide();
            r.touch(Action::Apply);
            r.expect("the card screen", |v| {
                matches!(v.screen, Screen::Identify { .. })
            });
            r.idcard
                .control(&format!("place {}", n % 2))
                .expect("place");
            r.expect("the applicant's details", |v| {
                matches!(v.screen, Screen::Confirm { .. })
            });
            r.complete_application();
            r.expect("the receipt printed", |v| {
                matches!(
                    v.screen,
                    Screen::Receipt {
                        printing: PrintStatus::Printed,
                        ..
                    }
                )
            });
            r.idcard.control("lift").expect("lift");
        } else {
            r.walk_to_guide();
            if n % 3 == 0 {
                r.touch(Action::ToggleLanguage);
            }
        }
        r.touch(Action::Home);
        r.expect("home again", |v| v.screen == Screen::Home);
        if n + 1 == warm_up {
            baseline = Some(footprint());
        }
        if (n + 1) % 500 == 0 {
            let (rss, fds, threads) = footprint();
            println!(
                "soak: after {} sessions {rss} KiB, {fds} fds, {threads} threads",
                n + 1
            );
        }
        if n + 1 > warm_up {
            let now = footprint();
            peak = (peak.0.max(now.0), peak.1.max(now.1), peak.2.max(now.2));
        }
    }
    let (rss0, fds0, threads0) = baseline.expect("warmed up");
    let (rss1, fds1, threads1) = footprint();
    println!(
        "soak: {sessions} sessions in {:.0} s; after warm-up {rss0} KiB, {fds0} fds, {threads0} threads; \
         at the end {rss1} KiB, {fds1} fds, {threads1} threads; peak {} KiB, {} fds, {} threads",
        started.elapsed().as_secs_f64(),
        peak.0,
        peak.1,
        peak.2
    );
    // The blocking pool's threads come and go (they linger 10 s idle); descriptors include
    // the platform link's pooled connections. Neither may grow with the number of sessions.
    assert!(fds1 <= fds0 + 4, "descriptors leak: {fds0} → {fds1}");
    assert!(
        threads1 <= threads0 + 6,
        "threads leak: {threads0} → {threads1}"
    );
    assert!(
        rss1 <= rss0 + 4 * 1024,
        "memory grows with sessions: {rss0} KiB → {rss1} KiB"
    );
}

//! Devices failing mid-journey: only the functions that need them go away, nothing crashes,
//! nothing is lost, and they come back by themselves when the device returns.
//!
//! The real session driver runs against the real platform process and the ID-card reader and
//! printer simulators on real ptys; faults are injected through the simulators' controls.

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use kiosk_app::card_reader::ReaderPort;
use kiosk_app::health::{DeviceKind, HealthState};
use kiosk_app::outbox::Outbox;
use kiosk_app::peers::{Peer, PlatformPeer, sibling_program};
use kiosk_app::provision::provision;
use kiosk_app::runtime::{self, DeviceConfig, RuntimeConfig, SessionHandle};
use kiosk_app::session::{Action, KeySource, PrintFailure, PrintStatus, Screen, Settings, View};
use kiosk_drivers::document::PrintRoute;
use kiosk_drivers::escpos::PaperWidth;
use kiosk_drivers::printer::PrinterAddress;

struct Rig {
    views: Receiver<View>,
    last: Option<View>,
    session: SessionHandle,
    idcard: Peer,
    printer: Peer,
    _platform: PlatformPeer,
    _tokio: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn start() -> Rig {
        let dir = tempfile::tempdir().expect("temp dir");
        let program =
            |name| sibling_program(name).expect("run `cargo build --workspace --bins` first");
        let platform = PlatformPeer::start(&dir.path().join("platform.db")).expect("platform");
        let sim = program("kiosk-sim");
        let idcard_link = dir.path().join("idcard.tty");
        let (idcard, _) = Peer::start(
            "reader",
            &sim,
            &["idcard", "--link", &idcard_link.to_string_lossy()],
            "ready",
        )
        .expect("reader");
        let printer_link = dir.path().join("printer.tty");
        let receipts = dir.path().join("receipts");
        std::fs::create_dir_all(&receipts).expect("receipts dir");
        let (printer, _) = Peer::start(
            "printer",
            &sim,
            &[
                "printer",
                "--link",
                &printer_link.to_string_lossy(),
                "--out",
                &receipts.to_string_lossy(),
            ],
            "ready",
        )
        .expect("printer");
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio");
        let enrolled = tokio
            .block_on(provision(
                &platform.enrollment("test").expect("token"),
                &dir.path().join("terminal"),
                "SN-DEGRADATION-1".into(),
                Duration::from_secs(5),
                false,
            ))
            .expect("enrolled");
        let (tx, views) = mpsc::channel();
        let session = {
            let _guard = tokio.enter();
            runtime::start(
                RuntimeConfig {
                    settings: Settings {
                        terminal_id: enrolled.identity.terminal_id.clone(),
                        ..Settings::default()
                    },
                    keys: KeySource::seeded(42),
                    platform: enrolled.link,
                    outbox: std::sync::Arc::new(
                        Outbox::open(&dir.path().join("terminal/outbox.db"), 100).expect("outbox"),
                    ),
                    pin_hash: None,
                    devices: DeviceConfig {
                        idcard: Some(ReaderPort::Serial {
                            path: idcard_link,
                            baud: 115_200,
                        }),
                        printer: Some(PrinterAddress::Serial {
                            path: printer_link,
                            baud: 115_200,
                        }),
                        paper: PaperWidth::Dots576,
                        printer_route: PrintRoute::Native,
                    },
                },
                move |view| {
                    let _ = tx.send(view);
                },
            )
        };
        Rig {
            views,
            last: None,
            session,
            idcard,
            printer,
            _platform: platform,
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
        self.session
            .health()
            .devices()
            .find(|h| h.kind == kind)
            .map(|h| h.state)
    }

    fn walk_to_guide(&mut self) -> String {
        let home = self.expect("home with a catalog", |v| {
            v.screen == Screen::Home && v.catalog.is_some()
        });
        let matter = home
            .catalog
            .as_ref()
            .and_then(|c| c.matters.iter().find(|m| m.kiosk_application))
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
    r.expect("both devices usable", |v| {
        v.devices.card_reader && v.devices.printer
    });
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
    r.expect("both devices usable", |v| {
        v.devices.card_reader && v.devices.printer
    });
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
    r.touch(Action::ConfirmApplicant);
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
    r.touch(Action::ConfirmApplicant);
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

//! The devices: one supervisor thread per device the cabinet holds, each reporting its health
//! and what a citizen did with it.
//!
//! - [`card_reader`]: the resident ID-card reader; polls for a card while the identify screen
//!   shows, probes otherwise.
//! - [`printer_monitor`]: the receipt printer's status probe (and the port lock printing
//!   takes); power-cycles a wedged printer through the cabinet.
//! - [`scanner_monitor`]: the QR/barcode scanner's reader loop.
//! - [`camera_monitor`] probes the document camera while idle; [`camera_desk`] runs it for the
//!   materials screen.
//! - [`cabinet`]: the GPIO — presence sensor, door (tamper alarm), status light, printer relay.
//! - [`hotplug`]: udev's word that a device came or went, passed on as a nudge.
//! - [`health`]: each device's latest state and what the session may count on.
//!
//! [`DeviceConfig`] says where the devices are (built from `kiosk.toml`); [`spawn_all`] starts
//! every supervisor it names and says which are not fitted. What the devices *do* for a
//! citizen — printing a receipt, reading a card — is asked for by the session driver
//! (`runtime`); printed documents are composed in `printing`.

pub mod cabinet;
pub mod camera_desk;
pub mod camera_monitor;
pub mod card_reader;
pub mod health;
pub mod hotplug;
pub mod printer_monitor;
pub mod scanner_monitor;

use std::time::Duration;

use kiosk_drivers::printer::PrinterAddress;
use kiosk_drivers::printer::document::PrintRoute;
use kiosk_drivers::printer::escpos::PaperWidth;
use tokio::sync::mpsc::UnboundedSender;

use crate::session::Event;
use cabinet::{Cabinet, CabinetReport, GpioPort};
use camera_desk::CameraDesk;
use camera_monitor::{CameraProbe, CameraSource};
use card_reader::{ReaderPort, ReaderReport, ReaderSwitch};
use health::{DeviceHealth, DeviceKind, HealthState};
use hotplug::{Nudge, Subsystem};
use printer_monitor::PrinterPort;
use scanner_monitor::{ScannerPort, ScannerReport};

/// Where the devices are.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    /// Where the ID-card reader is attached (`None`: no reader fitted).
    pub idcard: Option<ReaderPort>,
    /// Where the receipt printer is (`None`: no printer fitted).
    pub printer: Option<PrinterAddress>,
    /// Paper width of the receipt printer.
    pub paper: PaperWidth,
    /// Whether receipts go as text commands or as one image (printers without Chinese fonts).
    pub printer_route: PrintRoute,
    /// Where the QR/barcode scanner is (`None`: none fitted).
    pub scanner: Option<ScannerPort>,
    /// Where the document camera's pictures come from (`None`: none fitted).
    pub camera: Option<CameraSource>,
    /// How often an idle camera is probed.
    pub camera_probe: Duration,
    /// The cabinet's GPIO (`None`: none fitted).
    pub gpio: Option<GpioPort>,
}

impl Default for DeviceConfig {
    /// No device fitted; an 80 mm printer on its own fonts once one is.
    fn default() -> Self {
        Self {
            idcard: None,
            printer: None,
            paper: PaperWidth::Dots576,
            printer_route: PrintRoute::Native,
            scanner: None,
            camera: None,
            camera_probe: Duration::from_secs(10),
            gpio: None,
        }
    }
}

/// The running supervisors the session driver steers (`None`: that device is not fitted).
pub struct Devices {
    /// The cabinet: status light, printer relay.
    pub cabinet: Option<Cabinet>,
    /// The ID-card reader, switched to polling while the identify screen shows.
    pub reader: Option<ReaderSwitch>,
    /// The printer's port lock, shared by the monitor, receipts, certificates and test pages.
    pub printer_port: PrinterPort,
    /// The camera's idle probe.
    pub camera: Option<CameraProbe>,
    /// The camera at work for the materials screen.
    pub desk: Option<CameraDesk>,
}

/// What a supervisor tells: an event for the session, or its device's health.
enum Report {
    Event(Event),
    Health(DeviceHealth),
}

impl From<DeviceHealth> for Report {
    fn from(health: DeviceHealth) -> Self {
        Report::Health(health)
    }
}

impl From<CabinetReport> for Report {
    fn from(report: CabinetReport) -> Self {
        match report {
            CabinetReport::Presence => Report::Event(Event::Presence),
            CabinetReport::Health(h) => Report::Health(h),
        }
    }
}

impl From<ReaderReport> for Report {
    fn from(report: ReaderReport) -> Self {
        match report {
            ReaderReport::Card(card) => Report::Event(Event::Card(card)),
            ReaderReport::Health(h) => Report::Health(h),
        }
    }
}

impl From<ScannerReport> for Report {
    fn from(report: ScannerReport) -> Self {
        match report {
            ScannerReport::Scanned(code) => Report::Event(Event::Scan(code)),
            ScannerReport::Health(h) => Report::Health(h),
        }
    }
}

/// Where supervisors' reports go while they are being started, and the hotplug nudges they
/// leave behind.
struct Starter {
    events: UnboundedSender<Event>,
    health: UnboundedSender<DeviceHealth>,
    hotplug: Vec<(Vec<Subsystem>, Nudge)>,
}

impl Starter {
    /// Starts the supervisor of a fitted device (`port`), or reports `kind` as not fitted.
    fn fit<P, T>(&self, port: Option<&P>, kind: DeviceKind, start: impl FnOnce(P) -> T) -> Option<T>
    where
        P: Clone,
    {
        match port {
            Some(port) => Some(start(port.clone())),
            None => {
                let _ = self.health.send(DeviceHealth::new(
                    kind,
                    HealthState::NotFitted,
                    "not configured in kiosk.toml",
                ));
                None
            }
        }
    }

    /// A callback that routes a supervisor's reports to the session or the health board
    /// (sending fails only once the driver has stopped, when reports no longer matter).
    fn reporter<R: Into<Report>>(&self) -> impl Fn(R) + Send + 'static {
        let events = self.events.clone();
        let health = self.health.clone();
        move |report| match report.into() {
            Report::Event(event) => {
                let _ = events.send(event);
            }
            Report::Health(h) => {
                let _ = health.send(h);
            }
        }
    }

    /// Asks the hotplug monitor to run `nudge` when a device of `subsystems` comes or goes.
    fn on_hotplug(&mut self, subsystems: &[Subsystem], nudge: impl Fn() + Send + 'static) {
        self.hotplug.push((subsystems.to_vec(), Box::new(nudge)));
    }
}

/// Starts the supervisor of every device `config` names, and the hotplug monitor that nudges
/// them. Session events (a card, a scan, someone stepping up, a captured page) go to `events`;
/// every device's health — `not fitted` for those `config` leaves out — goes to `health`.
pub fn spawn_all(
    config: &DeviceConfig,
    events: UnboundedSender<Event>,
    health: UnboundedSender<DeviceHealth>,
) -> Devices {
    let mut starter = Starter {
        events,
        health,
        hotplug: Vec::new(),
    };
    // The cabinet first: the printer monitor may need its relay.
    let cabinet = starter.fit(config.gpio.as_ref(), DeviceKind::Gpio, |port| {
        cabinet::spawn(port, starter.reporter())
    });
    if let Some(cabinet) = cabinet.clone() {
        starter.on_hotplug(&[Subsystem::Usb], move || cabinet.nudge());
    }
    let reader = starter.fit(config.idcard.as_ref(), DeviceKind::CardReader, |port| {
        card_reader::spawn(port, starter.reporter())
    });
    if let Some(reader) = reader.clone() {
        starter.on_hotplug(&[Subsystem::Tty, Subsystem::Usb], move || reader.nudge());
    }
    let printer_port = PrinterPort::default();
    let printer = starter.fit(config.printer.as_ref(), DeviceKind::Printer, |address| {
        let power = cabinet.clone().map(|cabinet| {
            Box::new(move || cabinet.power_cycle_printer()) as printer_monitor::PowerCycle
        });
        printer_monitor::spawn(address, printer_port.clone(), power, starter.reporter())
    });
    if let Some(printer) = printer {
        starter.on_hotplug(&[Subsystem::Tty, Subsystem::Usb], move || printer.nudge());
    }
    let scanner = starter.fit(config.scanner.as_ref(), DeviceKind::Scanner, |port| {
        scanner_monitor::spawn(port, starter.reporter())
    });
    if let Some(scanner) = scanner.flatten() {
        starter.on_hotplug(
            &[Subsystem::Tty, Subsystem::Usb, Subsystem::Input],
            move || scanner.nudge(),
        );
    }
    let desk = config.camera.clone().and_then(|source| {
        let events = starter.events.clone();
        CameraDesk::spawn(source, move |event| {
            let _ = events.send(event);
        })
        .inspect_err(|e| tracing::error!(error = %e, "cannot start the camera desk"))
        .ok()
    });
    let camera = starter.fit(config.camera.as_ref(), DeviceKind::Camera, |source| {
        camera_monitor::spawn(source, config.camera_probe, starter.reporter())
    });
    if let Some(camera) = camera.clone() {
        starter.on_hotplug(&[Subsystem::Video, Subsystem::Usb], move || camera.nudge());
    }
    hotplug::spawn(starter.hotplug);
    Devices {
        cabinet,
        reader,
        printer_port,
        camera,
        desk,
    }
}

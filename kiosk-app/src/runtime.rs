//! The session driver: feeds the pure session core with events from the UI, the devices, the
//! platform and the clock, carries out its commands, and hands each new [`View`] to the UI.
//!
//! It runs as one task on the tokio runtime (worker threads); the UI stays on the main thread
//! and only ever receives views and sends touches.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_drivers::camera::jpegs_to_pdf;
use kiosk_drivers::gpio::StatusLight;
use kiosk_drivers::printer::document::PrintRoute;
use kiosk_drivers::printer::escpos::{PaperWidth, PrinterState};
use kiosk_drivers::printer::{PrintError, PrinterAddress};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::{broadcast, watch};

use crate::cabinet::{self, Cabinet, CabinetReport, GpioPort};
use crate::camera_desk::CameraDesk;
use crate::camera_monitor::{self, CameraProbe, CameraSource};
use crate::card_reader::{self, ReaderPort, ReaderReport, ReaderSwitch};
use crate::certificate_print;
use crate::health::{DeviceHealth, DeviceKind, HealthBoard, HealthState};
use crate::heartbeat::{self, CommandHost, Pulse};
use crate::hotplug::{self, Nudge, Subsystem};
use crate::maintenance::{PinGate, Verdict};
use crate::outbox::{self, Outbox, OutboxError, Outcome};
use crate::platform_link::{LinkError, PlatformLink};
use crate::printer_monitor::{self, PrinterPort};
use crate::receipt;
use crate::scanner_monitor::{self, ScannerPort, ScannerReport};
use crate::unix_now;
use kiosk_protocol::{ApplicationReceipt, TicketRequest};

use crate::session::{
    Action, CaptureProblem, CardEvent, Command, ErrandOutcome, Event, KeySource, MaintenanceTask,
    PrintFailure, ReceiptContent, Screen, Session, Settings, StatusLine, SubmitFailure,
    TechnicianStatus, View,
};
use crate::voice::Voice;

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

/// Everything the session driver needs.
pub struct RuntimeConfig {
    /// Session timing and terminal id.
    pub settings: Settings,
    /// Source of idempotency keys.
    pub keys: KeySource,
    /// The platform link.
    pub platform: PlatformLink,
    /// The devices.
    pub devices: DeviceConfig,
    /// Where applications and ratings wait until the platform acknowledges them.
    pub outbox: Arc<Outbox>,
    /// Argon2 hash of the technician PIN (`None`: the PIN pad stays closed).
    pub pin_hash: Option<String>,
    /// The updater (`None` where the kiosk does not update itself: the demo, tests).
    pub updater: Option<Arc<crate::update::Updater>>,
}

/// How long a citizen waits for the platform's number before the receipt shows the terminal's
/// reference instead (the application is safe in the outbox either way).
const ACKNOWLEDGEMENT_WAIT: std::time::Duration = std::time::Duration::from_secs(8);

/// Handle to a running session driver: touches go in, device health comes out.
#[derive(Clone)]
pub struct SessionHandle {
    events: UnboundedSender<Event>,
    health: watch::Receiver<HealthBoard>,
}

impl SessionHandle {
    /// Reports a touch.
    pub fn touch(&self, action: Action) {
        // Fails only once the driver has stopped, when touches no longer matter.
        let _ = self.events.send(Event::Touch(action));
    }

    /// The latest health of every device.
    pub fn health(&self) -> HealthBoard {
        self.health.borrow().clone()
    }
}

/// Starts the session driver on the current tokio runtime; each new view goes to `show`.
pub fn start(config: RuntimeConfig, show: impl Fn(View) + Send + 'static) -> SessionHandle {
    let (tx, rx) = unbounded_channel();
    let (health_tx, health_rx) = unbounded_channel();
    let mut hotplug: Vec<(Vec<Subsystem>, Nudge)> = Vec::new();
    // The cabinet first: the printer monitor may need its relay.
    let cabinet = match config.devices.gpio.clone() {
        Some(port) => {
            let events = tx.clone();
            let health = health_tx.clone();
            let cabinet = cabinet::spawn(port, move |report| match report {
                CabinetReport::Presence => {
                    let _ = events.send(Event::Presence);
                }
                CabinetReport::Health(h) => {
                    let _ = health.send(h);
                }
            });
            let nudge = cabinet.clone();
            hotplug.push((vec![Subsystem::Usb], Box::new(move || nudge.nudge())));
            Some(cabinet)
        }
        None => {
            let _ = health_tx.send(not_fitted(DeviceKind::Gpio));
            None
        }
    };
    let reader = match config.devices.idcard.clone() {
        Some(port) => {
            let events = tx.clone();
            let health = health_tx.clone();
            let switch = card_reader::spawn(port, move |report| match report {
                ReaderReport::Card(card) => {
                    let _ = events.send(Event::Card(card));
                }
                ReaderReport::Health(h) => {
                    let _ = health.send(h);
                }
            });
            let nudge = switch.clone();
            hotplug.push((
                vec![Subsystem::Tty, Subsystem::Usb],
                Box::new(move || nudge.nudge()),
            ));
            Some(switch)
        }
        None => {
            let _ = health_tx.send(not_fitted(DeviceKind::CardReader));
            None
        }
    };
    let printer_port = PrinterPort::default();
    match config.devices.printer.clone() {
        Some(address) => {
            let health = health_tx.clone();
            let power = cabinet.clone().map(|cabinet| {
                Box::new(move || cabinet.power_cycle_printer()) as printer_monitor::PowerCycle
            });
            let nudge = printer_monitor::spawn(address, printer_port.clone(), power, move |h| {
                let _ = health.send(h);
            });
            hotplug.push((
                vec![Subsystem::Tty, Subsystem::Usb],
                Box::new(move || nudge.nudge()),
            ));
        }
        None => {
            let _ = health_tx.send(not_fitted(DeviceKind::Printer));
        }
    }
    match config.devices.scanner.clone() {
        Some(port) => {
            let events = tx.clone();
            let health = health_tx.clone();
            let nudge = scanner_monitor::spawn(port, move |report| match report {
                ScannerReport::Scanned(code) => {
                    let _ = events.send(Event::Scan(code));
                }
                ScannerReport::Health(h) => {
                    let _ = health.send(h);
                }
            });
            if let Some(nudge) = nudge {
                hotplug.push((
                    vec![Subsystem::Tty, Subsystem::Usb, Subsystem::Input],
                    Box::new(move || nudge.nudge()),
                ));
            }
        }
        None => {
            let _ = health_tx.send(not_fitted(DeviceKind::Scanner));
        }
    }
    let desk = config.devices.camera.clone().and_then(|source| {
        let events = tx.clone();
        CameraDesk::spawn(source, move |event| {
            let _ = events.send(event);
        })
        .inspect_err(|e| tracing::error!(error = %e, "cannot start the camera desk"))
        .ok()
    });
    let camera = match config.devices.camera.clone() {
        Some(source) => {
            let health = health_tx.clone();
            let probe = camera_monitor::spawn(source, config.devices.camera_probe, move |h| {
                let _ = health.send(h);
            });
            let nudge = probe.clone();
            hotplug.push((
                vec![Subsystem::Video, Subsystem::Usb],
                Box::new(move || nudge.nudge()),
            ));
            Some(probe)
        }
        None => {
            let _ = health_tx.send(not_fitted(DeviceKind::Camera));
            None
        }
    };
    hotplug::spawn(hotplug);
    let (board_tx, board_rx) = watch::channel(HealthBoard::default());
    let (reports, _) = broadcast::channel(64);
    outbox::spawn_sender(
        config.outbox.clone(),
        config.platform.clone(),
        reports.clone(),
    );
    let (in_session_tx, in_session) = watch::channel(false);
    let host = Arc::new(TerminalHost {
        devices: config.devices.clone(),
        printer_port: printer_port.clone(),
        terminal_id: config.settings.terminal_id.clone(),
    });
    heartbeat::spawn(Pulse {
        link: config.platform.clone(),
        health: board_rx.clone(),
        outbox: config.outbox.clone(),
        in_session,
        host: host.clone(),
        started: Instant::now(),
        updater: config.updater.clone(),
    });
    if let Some(updater) = &config.updater {
        let host = host.clone();
        updater.watch_trial(
            config.outbox.clone(),
            in_session_tx.subscribe(),
            move || host.exit_for_restart(1),
        );
    }
    let pin_gate = match PinGate::open(config.pin_hash.as_deref(), config.outbox.folder()) {
        Ok(gate) => Some(gate),
        Err(e) => {
            tracing::error!(error = %e, "technician PIN unusable; the PIN pad stays closed");
            None
        }
    };
    let driver = Driver {
        host,
        pin_gate: Arc::new(std::sync::Mutex::new(pin_gate)),
        config,
        in_session: in_session_tx,
        reports,
        events: tx.clone(),
        reader,
        printer_port,
        cabinet,
        camera,
        desk,
        board: board_tx,
    };
    tokio::spawn(driver.run(rx, health_rx, show));
    SessionHandle {
        events: tx,
        health: board_rx,
    }
}

fn not_fitted(kind: DeviceKind) -> DeviceHealth {
    DeviceHealth::new(kind, HealthState::NotFitted, "not configured in kiosk.toml")
}

struct Driver {
    host: Arc<TerminalHost>,
    pin_gate: Arc<std::sync::Mutex<Option<PinGate>>>,
    config: RuntimeConfig,
    in_session: watch::Sender<bool>,
    reports: outbox::Reports,
    events: UnboundedSender<Event>,
    reader: Option<ReaderSwitch>,
    printer_port: PrinterPort,
    cabinet: Option<Cabinet>,
    camera: Option<CameraProbe>,
    desk: Option<CameraDesk>,
    board: watch::Sender<HealthBoard>,
}

/// What the status light shows for `view`: fault when the kiosk cannot serve (out of service,
/// or the ID-card reader that applying needs is out), busy while a citizen is being served,
/// ready otherwise. (An open cabinet door also shows fault; the cabinet sees to that.)
pub fn status_light(view: &View) -> StatusLight {
    match view.screen {
        Screen::OutOfService => StatusLight::Fault,
        _ if !view.devices.card_reader => StatusLight::Fault,
        Screen::Home => StatusLight::Ready,
        _ => StatusLight::Busy,
    }
}

impl Driver {
    async fn run(
        self,
        mut rx: UnboundedReceiver<Event>,
        mut health: UnboundedReceiver<DeviceHealth>,
        show: impl Fn(View),
    ) {
        let now = Instant::now();
        let mut session = Session::new(self.config.settings.clone(), self.config.keys.clone(), now);
        for command in session.start() {
            self.execute(command);
        }
        let mut voice = Voice::find();
        let first = session.view(now);
        if let Some(voice) = voice.as_mut() {
            voice.follow(&first);
        }
        self.follow(&first);
        show(first);
        loop {
            let deadline = session.next_deadline(Instant::now());
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let event = tokio::select! {
                event = rx.recv() => event,
                Some(report) = health.recv() => self.record_health(report),
                () = sleep => Some(Event::Tick),
            };
            let Some(event) = event else { return };
            let now = Instant::now();
            for command in session.handle(event, now) {
                self.execute(command);
            }
            let view = session.view(now);
            if let Some(voice) = voice.as_mut() {
                voice.follow(&view);
            }
            self.follow(&view);
            let serving = !matches!(view.screen, Screen::Home | Screen::OutOfService);
            self.in_session.send_if_modified(|was| {
                let changed = *was != serving;
                *was = serving;
                changed
            });
            show(view);
        }
    }

    /// Records a device's health; returns the session event when what the session may count
    /// on has changed.
    fn record_health(&self, report: DeviceHealth) -> Option<Event> {
        let before = self.board.borrow().availability();
        self.board.send_modify(|board| {
            board.record(report);
        });
        let after = self.board.borrow().availability();
        // No change for the session: a Tick is harmless (deadlines are re-checked).
        Some(if after == before {
            Event::Tick
        } else {
            Event::Devices(after)
        })
    }

    /// The status light and the camera probe follow the session (both drop repeats).
    fn follow(&self, view: &View) {
        if let Some(cabinet) = &self.cabinet {
            cabinet.show(status_light(view));
        }
        if let Some(camera) = &self.camera {
            camera.set_idle(view.screen == Screen::Home);
        }
    }

    fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Runs an errand's platform call; its outcome (or why it failed, said plainly) goes back
    /// to the session.
    fn errand(
        &self,
        call: impl std::future::Future<Output = Result<ErrandOutcome, LinkError>> + Send + 'static,
    ) {
        let events = self.events.clone();
        tokio::spawn(async move {
            let outcome = match call.await {
                Ok(outcome) => outcome,
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "errand: platform unreachable");
                    ErrandOutcome::Unreachable
                }
                Err(e) => {
                    tracing::warn!(error = %e, "errand refused");
                    ErrandOutcome::Refused
                }
            };
            let _ = events.send(Event::ErrandDone(outcome));
        });
    }

    fn execute(&self, command: Command) {
        match command {
            Command::FetchCatalog => {
                let link = self.config.platform.clone();
                let events = self.events.clone();
                let cache = self.config.outbox.folder().join(CATALOG_CACHE_FILE);
                tokio::spawn(async move {
                    let event = match link.catalog().await {
                        Ok(catalog) => {
                            tracing::info!(version = %catalog.version, matters = catalog.matters.len(), "catalog loaded");
                            let catalog = Arc::new(catalog);
                            let copy = catalog.clone();
                            let _ =
                                tokio::task::spawn_blocking(move || keep_catalog(&cache, &copy))
                                    .await;
                            Event::CatalogLoaded(catalog)
                        }
                        Err(e) => match tokio::task::spawn_blocking(move || cached_catalog(&cache))
                            .await
                            .ok()
                            .flatten()
                        {
                            Some(catalog) => {
                                tracing::warn!(error = %e, version = %catalog.version, "platform unreachable; serving the cached catalog");
                                Event::CatalogLoaded(Arc::new(catalog))
                            }
                            None => {
                                tracing::warn!(error = %e, "catalog unavailable");
                                Event::CatalogUnavailable
                            }
                        },
                    };
                    let _ = events.send(event);
                });
            }
            Command::StartCardReader | Command::StopCardReader => {
                let on = command == Command::StartCardReader;
                match &self.reader {
                    Some(reader) => reader.set(on),
                    None if on => self.send(Event::Card(CardEvent::ReaderFault)),
                    None => {}
                }
            }
            Command::Submit {
                idempotency_key,
                request,
                materials,
            } => {
                let outbox = self.config.outbox.clone();
                let sealing_key = self.config.platform.sealing_key().map(str::to_owned);
                let events = self.events.clone();
                // Subscribed before the item exists, so its outcome cannot be missed.
                let reports = self.reports.subscribe();
                tokio::spawn(async move {
                    let matter_id = request.matter_id.clone();
                    let key = idempotency_key.clone();
                    let kept = tokio::task::spawn_blocking(move || {
                        // Each material's pages become one PDF, kept with the application in
                        // one transaction: all of it is kept, or nothing and the citizen is told.
                        let pdfs = materials
                            .iter()
                            .map(|m| {
                                let pages: Vec<&[u8]> =
                                    m.pages.iter().map(|p| p.as_slice()).collect();
                                jpegs_to_pdf(&pages).map(|pdf| (m.index, pdf))
                            })
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|e| OutboxError::Encode(format!("material pages: {e}")))?;
                        let pdfs: Vec<(u16, &[u8])> =
                            pdfs.iter().map(|(i, pdf)| (*i, pdf.as_slice())).collect();
                        let reference = outbox.keep_application_with_materials(
                            &key,
                            &request,
                            &pdfs,
                            sealing_key.as_deref(),
                        )?;
                        drop(request);
                        Ok::<_, OutboxError>(reference)
                    })
                    .await;
                    let event = match kept {
                        Ok(Ok(reference)) => {
                            tracing::info!(reference = %reference, "application kept in the outbox");
                            await_outcome(reports, &idempotency_key, reference, matter_id).await
                        }
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, "application not kept");
                            Event::Submitted(Err(SubmitFailure::Unreachable))
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "outbox task failed");
                            Event::Submitted(Err(SubmitFailure::Unreachable))
                        }
                    };
                    let _ = events.send(event);
                });
            }
            Command::PrintReceipt(content) => {
                let devices = self.config.devices.clone();
                let events = self.events.clone();
                let port = self.printer_port.clone();
                tokio::task::spawn_blocking(move || {
                    let result = print_receipt(&devices, &port, &content);
                    let _ = events.send(Event::Printed(result));
                });
            }
            Command::SendRating(rating) => {
                let outbox = self.config.outbox.clone();
                tokio::task::spawn_blocking(move || match outbox.keep_rating(&rating) {
                    Ok(()) => tracing::info!(level = rating.level, "rating kept for delivery"),
                    Err(e) => tracing::warn!(error = %e, "rating not kept"),
                });
            }
            Command::CheckPin(pin) => {
                let gate = self.pin_gate.clone();
                let events = self.events.clone();
                tokio::task::spawn_blocking(move || {
                    let at = unix_now();
                    let verdict = match gate
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .as_mut()
                    {
                        Some(gate) => gate.attempt(pin.digits(), at),
                        None => Verdict::NotConfigured,
                    };
                    drop(pin);
                    let _ = events.send(Event::PinChecked { verdict, at });
                });
            }
            Command::Audit { kind, detail } => {
                let outbox = self.config.outbox.clone();
                tracing::info!(kind, "audit");
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = outbox.keep_event(kind, &detail) {
                        tracing::error!(error = %e, "audit entry not kept");
                    }
                });
            }
            Command::RefreshTechnicianStatus => {
                let board = self.board.borrow().clone();
                let outbox = self.config.outbox.clone();
                let link = self.config.platform.clone();
                let events = self.events.clone();
                tokio::spawn(async move {
                    let status = technician_status(&board, &outbox, &link).await;
                    let _ = events.send(Event::TechnicianStatus(status));
                });
            }
            Command::RunTask(task) => {
                let host = self.host.clone();
                let outbox = self.config.outbox.clone();
                let board = self.board.borrow().clone();
                let events = self.events.clone();
                tokio::task::spawn_blocking(move || {
                    let (ok, detail) = match task {
                        MaintenanceTask::PrintTestPage => match host.print_test_page() {
                            Ok(detail) => (true, detail),
                            Err(detail) => (false, detail),
                        },
                        MaintenanceTask::PaperReplaced => {
                            let printer = board
                                .devices()
                                .find(|d| d.kind == DeviceKind::Printer)
                                .map(|d| format!("printer {:?}: {}", d.state, d.reason))
                                .unwrap_or_else(|| "no printer configured".into());
                            (true, format!("recorded; {printer}"))
                        }
                        MaintenanceTask::FlushOutbox => match outbox
                            .retry_now()
                            .and_then(|()| outbox.status())
                        {
                            Ok(status) => (true, format!("{} items are being sent", status.depth)),
                            Err(e) => (false, e.to_string()),
                        },
                        MaintenanceTask::Restart => {
                            host.restart();
                            (true, String::new())
                        }
                    };
                    let _ = events.send(Event::TaskFinished { task, ok, detail });
                });
            }
            Command::StartCamera => match &self.desk {
                Some(desk) => desk.start(),
                None => self.send(Event::PageCaptured(Err(CaptureProblem::CameraFailed))),
            },
            Command::StopCamera => {
                if let Some(desk) = &self.desk {
                    desk.stop();
                }
            }
            Command::CapturePage => match &self.desk {
                Some(desk) => desk.capture(),
                None => self.send(Event::PageCaptured(Err(CaptureProblem::CameraFailed))),
            },
            Command::TakeTicket { matter } => {
                let link = self.config.platform.clone();
                self.errand(async move {
                    let ticket = link
                        .take_ticket(&TicketRequest { matter_id: matter })
                        .await?;
                    Ok(ErrandOutcome::Ticket {
                        ticket,
                        appointment: None,
                    })
                });
            }
            Command::CheckIn(request) => {
                let link = self.config.platform.clone();
                self.errand(async move {
                    let answer = link.check_in(&request).await?;
                    Ok(match (answer.found, answer.ticket) {
                        (true, Some(ticket)) => ErrandOutcome::Ticket {
                            ticket,
                            appointment: answer.appointment,
                        },
                        _ => ErrandOutcome::NoAppointment,
                    })
                });
            }
            Command::QueryProgress(request) => {
                let link = self.config.platform.clone();
                self.errand(async move {
                    let answer = link.progress(&request).await?;
                    Ok(ErrandOutcome::Progress(answer.applications))
                });
            }
            Command::PrintCertificate { kind, request } => {
                let link = self.config.platform.clone();
                let devices = self.config.devices.clone();
                let port = self.printer_port.clone();
                self.errand(async move {
                    print_certificate(&link, &devices, &port, kind, &request).await
                });
            }
            Command::PrintTicket(ticket) => {
                let devices = self.config.devices.clone();
                let events = self.events.clone();
                let port = self.printer_port.clone();
                tokio::task::spawn_blocking(move || {
                    let document = receipt::queue_ticket(&ticket);
                    let result = print_document(&devices, &port, &document, "queue ticket");
                    let _ = events.send(Event::Printed(result));
                });
            }
            Command::WipePersonalData => {
                // The core has dropped (and so zeroized) its copy; the reader thread keeps none,
                // and the next view overwrites the UI's.
                tracing::debug!("session ended; personal data wiped");
            }
        }
    }
}

/// What the maintenance panel shows: each device, the platform link and the outbox.
async fn technician_status(
    board: &HealthBoard,
    outbox: &Outbox,
    link: &PlatformLink,
) -> TechnicianStatus {
    let word = crate::selftest::state_word;
    let mut lines: Vec<StatusLine> = board
        .devices()
        .map(|d| StatusLine {
            name: d.kind.name().to_owned(),
            state: word(d.state).to_owned(),
            detail: d.reason.clone(),
        })
        .collect();
    let platform = match link.config().await {
        Ok(_) => StatusLine {
            name: "platform".into(),
            state: "ok".into(),
            detail: format!(
                "{} as {}",
                link.base(),
                link.terminal_id().unwrap_or_default()
            ),
        },
        Err(e) => StatusLine {
            name: "platform".into(),
            state: "faulted".into(),
            detail: e.to_string(),
        },
    };
    lines.push(platform);
    lines.push(match outbox.status() {
        Ok(status) => StatusLine {
            name: "outbox".into(),
            state: if status.depth == 0 { "ok" } else { "degraded" }.into(),
            detail: format!(
                "{} waiting, {} refused, capacity {}",
                status.depth - status.refused,
                status.refused,
                status.capacity
            ),
        },
        Err(e) => StatusLine {
            name: "outbox".into(),
            state: "faulted".into(),
            detail: e.to_string(),
        },
    });
    TechnicianStatus {
        lines,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// The last catalog the platform served, kept in the data folder so the terminal can serve
/// citizens (guides, and applications kept in the outbox) while the platform is unreachable.
const CATALOG_CACHE_FILE: &str = "catalog.json";

fn keep_catalog(path: &std::path::Path, catalog: &kiosk_protocol::Catalog) {
    let written = serde_json::to_vec(catalog)
        .map_err(std::io::Error::other)
        .and_then(|bytes| crate::write_atomically(path, &bytes));
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot keep the catalog for offline use");
    }
}

/// The cached catalog, if there is one and it still validates.
fn cached_catalog(path: &std::path::Path) -> Option<kiosk_protocol::Catalog> {
    let bytes = std::fs::read(path).ok()?;
    let catalog: kiosk_protocol::Catalog = serde_json::from_slice(&bytes).ok()?;
    catalog.validate().ok()?;
    Some(catalog)
}

/// What remote commands reach: the printer, the journal, the service manager.
pub struct TerminalHost {
    /// The devices (the printer for test pages).
    pub devices: DeviceConfig,
    /// The printer's port lock, shared with receipts and the printer monitor.
    pub printer_port: PrinterPort,
    /// Printed on test pages.
    pub terminal_id: String,
}

impl TerminalHost {
    /// Ends the process; the service manager (`Restart=always`) starts the kiosk again, and
    /// the launcher picks the release that should run now.
    pub fn exit_for_restart(&self, code: i32) {
        std::process::exit(code);
    }
}

impl CommandHost for TerminalHost {
    fn print_test_page(&self) -> Result<String, String> {
        let address = self
            .devices
            .printer
            .as_ref()
            .ok_or("no printer is configured on this terminal")?;
        printer_monitor::print_test_page(
            address,
            self.devices.paper,
            self.devices.printer_route,
            &self.terminal_id,
            Some(&self.printer_port),
        )
        .map(|()| format!("test page printed on {address}"))
        .map_err(|e| format!("nothing printed on {address}: {e}"))
    }

    fn recent_logs(&self) -> Result<String, String> {
        let output = std::process::Command::new("journalctl")
            .args([
                "--unit",
                "kiosk.service",
                "--lines",
                "200",
                "--no-pager",
                "--output",
                "short-iso",
            ])
            .output()
            .map_err(|e| format!("the journal cannot be read: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "journalctl failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn restart(&self) {
        tracing::info!("restarting on the platform's command");
        self.exit_for_restart(0);
    }

    fn reboot(&self) -> Result<(), String> {
        let status = std::process::Command::new("systemctl")
            .arg("reboot")
            .status()
            .map_err(|e| format!("cannot ask systemd to reboot: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("systemctl reboot failed ({status})"))
        }
    }
}

/// Waits for the sender's word on the application under `key`: the platform's receipt, a
/// refusal, or (unreachable, or no answer within [`ACKNOWLEDGEMENT_WAIT`]) acceptance under
/// the terminal's reference, since the application is safe in the outbox.
async fn await_outcome(
    mut reports: tokio::sync::broadcast::Receiver<(String, Outcome)>,
    key: &str,
    reference: String,
    matter_id: String,
) -> Event {
    let outcome = tokio::time::timeout(ACKNOWLEDGEMENT_WAIT, async {
        loop {
            match reports.recv().await {
                Ok((k, outcome)) if k == key => return Some(outcome),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten();
    match outcome {
        Some(Outcome::Accepted(receipt)) => {
            tracing::info!(application_no = %receipt.application_no, replayed = receipt.replayed, "application accepted");
            Event::Submitted(Ok(receipt))
        }
        Some(Outcome::Refused(error)) => {
            tracing::warn!(error = %error, "application refused by the platform");
            Event::Submitted(Err(SubmitFailure::Rejected))
        }
        Some(Outcome::Waiting(_)) | None => Event::Kept(ApplicationReceipt {
            application_no: reference,
            matter_id,
            accepted_at: beijing_now(),
            progress_url: String::new(),
            replayed: false,
        }),
    }
}

/// Now, RFC 3339 in Beijing time (how receipts state times).
fn beijing_now() -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::now_utc()
        .to_offset(offset)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Fetches a certificate for the citizen and prints it on the receipt printer. The PDF holds
/// the citizen's name: it stays in memory (piped to the renderer) and is dropped here.
async fn print_certificate(
    link: &PlatformLink,
    devices: &DeviceConfig,
    port: &PrinterPort,
    kind: &str,
    request: &kiosk_protocol::CertificateRequest,
) -> Result<ErrandOutcome, LinkError> {
    let Some(address) = devices.printer.clone() else {
        return Ok(ErrandOutcome::PrinterFailed);
    };
    let pdf = zeroize::Zeroizing::new(link.certificate(kind, request).await?);
    let port = port.clone();
    let dots = u32::from(devices.paper.dots());
    let printed = tokio::task::spawn_blocking(move || {
        certificate_print::print_pdf(&pdf, &address, &port, dots)
    })
    .await;
    Ok(match printed {
        Ok(Ok(())) => ErrandOutcome::CertificatePrinted,
        Ok(Err(e)) => {
            tracing::warn!(kind, error = %e, "certificate not printed");
            ErrandOutcome::PrinterFailed
        }
        Err(e) => {
            tracing::error!(kind, error = %e, "certificate printing task failed");
            ErrandOutcome::PrinterFailed
        }
    })
}

/// Prints the application receipt.
fn print_receipt(
    devices: &DeviceConfig,
    port: &PrinterPort,
    content: &ReceiptContent,
) -> Result<(), PrintFailure> {
    let document = receipt::application_receipt(content);
    print_document(devices, port, &document, "receipt")
}

/// Prints a document (`what`, for the log), opening the port afresh so a power-cycled printer
/// is found.
fn print_document(
    devices: &DeviceConfig,
    port: &PrinterPort,
    document: &kiosk_drivers::printer::document::ReceiptDocument,
    what: &str,
) -> Result<(), PrintFailure> {
    let Some(address) = &devices.printer else {
        return Err(PrintFailure::PrinterFault);
    };
    let _guard = port.lock();
    let result = printer_monitor::open(address).and_then(|mut printer| {
        printer.print_routed(document, devices.paper, devices.printer_route)
    });
    match result {
        Ok(()) => {
            tracing::info!(what, "printed");
            Ok(())
        }
        Err(PrintError::NotReady(PrinterState::PaperOut)) => {
            tracing::warn!("printer out of paper");
            Err(PrintFailure::PaperOut)
        }
        Err(e) => {
            tracing::warn!(printer = %address, error = %e, what, "not printed");
            Err(PrintFailure::PrinterFault)
        }
    }
}

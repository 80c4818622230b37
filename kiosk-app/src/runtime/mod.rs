//! The running terminal: the session driver and the tasks beside it.
//!
//! The driver feeds the pure session core with events from the UI, the devices, the platform
//! and the clock, carries out its commands, and hands each new [`View`] to the UI. It runs as
//! one task on the tokio runtime (worker threads); the UI stays on the main thread and only
//! ever receives views and sends touches.
//!
//! - [`start`] (here) wires it all: the device supervisors, the outbox's sender, the heartbeat,
//!   the updater's trial watch and the driver.
//! - `driver`: the loop, and [`Command`] dispatched to one method each, kept in the file of
//!   its concern: [`catalog`] (also its live refresh), `submit` (applications and ratings),
//!   `errands` (tickets, check-in, progress, printing), `maintenance` (PIN, audit, technician
//!   tasks).
//! - [`host`]: what the platform's remote commands reach (test page, logs, restart, reboot).
//! - [`heartbeat`]: the terminal's report every 30 s and the remote commands it brings back.
//! - [`service_manager`]: systemd's READY/WATCHDOG protocol; [`memory`]: malloc arenas.

pub mod catalog;
mod driver;
mod errands;
mod follow;
pub mod heartbeat;
pub mod host;
mod maintenance;
pub mod memory;
pub mod service_manager;
mod submit;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use kiosk_drivers::gpio::StatusLight;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::{broadcast, watch};

use crate::devices::health::HealthBoard;
use crate::devices::{self, DeviceConfig, Devices};
use crate::session::{Action, Command, Event, KeySource, Screen, Settings, View};
use crate::technician::pin::PinGate;
use crate::update::Updater;
use crate::uplink::outbox::{self, Outbox};
use crate::uplink::platform_link::PlatformLink;
use catalog::{CatalogReport, CatalogSource};
use heartbeat::Pulse;
use host::TerminalHost;

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
    pub updater: Option<Arc<Updater>>,
}

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
    let devices = devices::spawn_all(&config.devices, tx.clone(), health_tx);
    let (board_tx, board_rx) = watch::channel(HealthBoard::default());
    let (reports, _) = broadcast::channel(64);
    outbox::spawn_sender(
        config.outbox.clone(),
        config.platform.clone(),
        reports.clone(),
    );
    let (in_session_tx, in_session) = watch::channel(false);
    let (catalog_shown, shown) = watch::channel(None);
    let (offered, offers) = watch::channel(None);
    let catalogs = CatalogSource::new(config.platform.clone(), config.outbox.folder(), tx.clone());
    catalogs.clone().spawn_refresh(offers);
    let host = Arc::new(TerminalHost {
        devices: config.devices.clone(),
        printer_port: devices.printer_port.clone(),
        terminal_id: config.settings.terminal_id.clone(),
    });
    heartbeat::spawn(
        Pulse {
            link: config.platform.clone(),
            health: board_rx.clone(),
            outbox: config.outbox.clone(),
            in_session,
            host: host.clone(),
            started: Instant::now(),
            updater: config.updater.clone(),
            catalog: CatalogReport { shown, offered },
        },
        {
            let events = tx.clone();
            move |revoked| {
                // Fails only once the driver has stopped.
                let _ = events.send(Event::Revoked(revoked));
            }
        },
    );
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
        pin_gate: Arc::new(Mutex::new(pin_gate)),
        config,
        in_session: in_session_tx,
        catalog_shown,
        catalogs,
        reports,
        events: tx.clone(),
        devices,
        board: board_tx,
    };
    tokio::spawn(driver.run(rx, health_rx, show));
    SessionHandle {
        events: tx,
        health: board_rx,
    }
}

/// The session driver's state: what its commands reach.
struct Driver {
    host: Arc<TerminalHost>,
    pin_gate: Arc<Mutex<Option<PinGate>>>,
    config: RuntimeConfig,
    in_session: watch::Sender<bool>,
    /// The catalog version the session shows, for the heartbeat.
    catalog_shown: watch::Sender<Option<String>>,
    catalogs: Arc<CatalogSource>,
    reports: outbox::Reports,
    events: UnboundedSender<Event>,
    devices: Devices,
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
    /// Carries out one of the session's commands: each starts its task and returns at once;
    /// what comes of it goes back to the session as an event.
    fn execute(&self, command: Command) {
        match command {
            Command::FetchCatalog => self.fetch_catalog(),
            Command::StartCardReader => self.switch_card_reader(true),
            Command::StopCardReader => self.switch_card_reader(false),
            Command::Submit {
                idempotency_key,
                request,
                materials,
            } => self.submit(idempotency_key, request, materials),
            Command::PrintReceipt(content) => self.print_receipt(content),
            Command::SendRating(rating) => self.keep_rating(rating),
            Command::CheckPin(pin) => self.check_pin(pin),
            Command::Audit { kind, detail } => self.audit(kind, detail),
            Command::RefreshTechnicianStatus => self.refresh_technician_status(),
            Command::RunTask(task) => self.run_task(task),
            Command::StartCamera => self.start_camera(),
            Command::StopCamera => self.stop_camera(),
            Command::CapturePage => self.capture_page(),
            Command::TakeTicket { matter } => self.take_ticket(matter),
            Command::CheckIn(request) => self.check_in(request),
            Command::QueryProgress(request) => self.query_progress(request),
            Command::PrintCertificate { kind, request } => self.print_certificate(kind, request),
            Command::PrintTicket(ticket) => self.print_ticket(ticket),
            Command::SendCorrection(answer) => self.send_correction(answer),
            Command::SendCompletionRating(rating) => self.rate_completion(rating),
            Command::WipePersonalData => {
                // The core has dropped (and so zeroized) its copy; the reader thread keeps none,
                // and the next view overwrites the UI's.
                tracing::debug!("session ended; personal data wiped");
            }
        }
    }

    fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }
}

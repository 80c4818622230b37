//! The ID-card reader as the session sees it: a thread that polls the reader while the
//! identify screen shows, and reports [`CardEvent`]s.
//!
//! The driver is blocking (a serial port), so it gets a thread of its own; the session turns it
//! on and off with [`ReaderSwitch`]. A fault is reported once per episode, and the reader is
//! reopened on the next poll, so an unplugged reader comes back without a restart.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use kiosk_drivers::idcard::{
    CardKind, IdCard, ReadError, ReadOutcome, Reader, ReaderConfig, SerialTransport, Sex,
    Transport, UsbError, UsbReaderAddress, UsbTransport,
};
use time::OffsetDateTime;
use time::macros::offset;
use zeroize::Zeroizing;

use crate::devices::health::{DeviceHealth, DeviceKind, HealthState};
use crate::session::{CardDetails, CardEvent, DocumentKind, Identity};

/// How often the reader is asked for a card while the identify screen shows.
const POLL_INTERVAL: Duration = Duration::from_millis(150);

/// What the reader thread is told.
enum Control {
    /// Start (`true`) or stop (`false`) polling for a card.
    Poll(bool),
    /// A serial or USB device came or went: check the reader now.
    Probe,
}

/// On/off switch of the polling thread.
#[derive(Clone)]
pub struct ReaderSwitch(Sender<Control>);

impl ReaderSwitch {
    /// Starts (`true`) or stops (`false`) polling.
    pub fn set(&self, on: bool) {
        // The thread only ends with the process; a send cannot fail before that.
        let _ = self.0.send(Control::Poll(on));
    }

    /// Checks the reader at once instead of at the next probe (a hotplug event).
    pub fn nudge(&self) {
        let _ = self.0.send(Control::Probe);
    }
}

/// Where the reader is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderPort {
    /// A serial port (or USB-serial adapter), e.g. `/dev/ttyUSB0`.
    Serial {
        /// Device path.
        path: PathBuf,
        /// Baud rate (115200 for most readers).
        baud: u32,
    },
    /// A USB bulk reader.
    Usb(UsbReaderAddress),
}

impl std::fmt::Display for ReaderPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReaderPort::Serial { path, .. } => write!(f, "{}", path.display()),
            ReaderPort::Usb(a) => write!(f, "USB {:04x}:{:04x}", a.vendor_id, a.product_id),
        }
    }
}

/// Why the reader cannot be opened (its health report's reason).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The serial port, or the reader's answer over it.
    #[error("{0}")]
    Serial(#[from] ReadError),
    /// The USB device.
    #[error("{0}")]
    Usb(#[from] UsbError),
}

impl ReaderPort {
    /// Opens the port, checks the reader's security module, and closes it again.
    pub fn open_checked(&self) -> Result<(), OpenError> {
        self.open().map(drop)
    }

    /// Opens the port and checks the reader's security module.
    fn open(&self) -> Result<Reader<Box<dyn Transport>>, OpenError> {
        let transport: Box<dyn Transport> = match self {
            ReaderPort::Serial { path, baud } => {
                Box::new(SerialTransport::open(&path.to_string_lossy(), *baud)?)
            }
            ReaderPort::Usb(address) => Box::new(UsbTransport::open(*address)?),
        };
        Ok(Reader::open(transport, ReaderConfig::default())?)
    }
}

/// What the reader thread reports.
#[derive(Debug)]
pub enum ReaderReport {
    /// A card event for the session (only while polling for a citizen).
    Card(CardEvent),
    /// The reader's health changed.
    Health(DeviceHealth),
}

/// Starts the reader thread for `port`; reports go to `report`.
///
/// While the identify screen shows, the thread polls for a card; otherwise it probes the
/// reader every few seconds, so a fault or a replugged reader is known before a citizen needs
/// it.
pub fn spawn(port: ReaderPort, report: impl Fn(ReaderReport) + Send + 'static) -> ReaderSwitch {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("idcard-reader".into())
        .spawn(move || ReaderLoop::new(port, report).run(&rx))
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the card reader thread"));
    ReaderSwitch(tx)
}

/// How often an idle reader is probed.
const PROBE_INTERVAL: Duration = Duration::from_secs(3);

struct ReaderLoop<F> {
    port: ReaderPort,
    report: F,
    reader: Option<Reader<Box<dyn Transport>>>,
    health: Option<HealthState>,
    polling: bool,
}

impl<F: Fn(ReaderReport)> ReaderLoop<F> {
    fn new(port: ReaderPort, report: F) -> Self {
        Self {
            port,
            report,
            reader: None,
            health: None,
            polling: false,
        }
    }

    fn run(mut self, switch: &Receiver<Control>) {
        self.ensure_open();
        loop {
            let wait = if self.polling {
                POLL_INTERVAL
            } else {
                PROBE_INTERVAL
            };
            match switch.recv_timeout(wait) {
                Ok(Control::Probe) => {
                    if self.ensure_open() && !self.polling {
                        self.probe();
                    }
                    continue;
                }
                Ok(Control::Poll(on)) => {
                    self.polling = on;
                    if on && self.reader.is_none() {
                        // The citizen is waiting: say at once that the reader is out.
                        self.ensure_open();
                        if self.reader.is_none() {
                            (self.report)(ReaderReport::Card(CardEvent::ReaderFault));
                        }
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if !self.ensure_open() {
                continue;
            }
            if self.polling {
                self.poll();
            } else {
                self.probe();
            }
        }
    }

    /// Opens the reader if it is not open; true when it is open.
    fn ensure_open(&mut self) -> bool {
        if self.reader.is_some() {
            return true;
        }
        match self.port.open() {
            Ok(opened) => {
                self.reader = Some(opened);
                self.set_health(HealthState::Ok, "ready".into());
                true
            }
            Err(e) => {
                let state = match &self.port {
                    ReaderPort::Serial { path, .. } if !path.exists() => HealthState::Absent,
                    _ => HealthState::Faulted,
                };
                self.set_health(state, e.to_string());
                false
            }
        }
    }

    fn set_health(&mut self, state: HealthState, reason: String) {
        if self.health == Some(state) {
            return;
        }
        match state {
            HealthState::Ok => tracing::info!(port = %self.port, "card reader ready"),
            _ => tracing::warn!(port = %self.port, ?state, %reason, "card reader unavailable"),
        }
        self.health = Some(state);
        (self.report)(ReaderReport::Health(DeviceHealth::new(
            DeviceKind::CardReader,
            state,
            reason,
        )));
    }

    fn lost(&mut self, error: &ReadError) {
        self.reader = None;
        self.set_health(HealthState::Faulted, error.to_string());
        if self.polling {
            (self.report)(ReaderReport::Card(CardEvent::ReaderFault));
        }
    }

    fn poll(&mut self) {
        let Some(open) = self.reader.as_mut() else {
            return;
        };
        match open.try_read() {
            Ok(ReadOutcome::NoCard | ReadOutcome::AwaitingLift) => {}
            Ok(ReadOutcome::Card(card)) => {
                (self.report)(ReaderReport::Card(card_event(card, today())))
            }
            Err(ReadError::CardRemoved) => (self.report)(ReaderReport::Card(CardEvent::Removed)),
            Err(ReadError::Card(e)) => {
                tracing::info!(error = %e, "card refused");
                (self.report)(ReaderReport::Card(CardEvent::Unreadable));
            }
            Err(e) => {
                tracing::warn!(error = %e, "card reader failed; reopening");
                self.lost(&e);
            }
        }
    }

    /// Checks an idle reader still answers (its security module's id).
    fn probe(&mut self) {
        let Some(open) = self.reader.as_mut() else {
            return;
        };
        if let Err(e) = open.sam_id() {
            self.lost(&e);
        }
    }
}

/// Today's date in China Standard Time (card validity is stated in it).
pub(crate) fn today() -> time::Date {
    OffsetDateTime::now_utc().to_offset(offset!(+8)).date()
}

/// What the session hears of a card that was read on `today`.
pub fn card_event(card: IdCard, today: time::Date) -> CardEvent {
    if card.is_expired(today) {
        return CardEvent::Expired;
    }
    let kind = match card.kind() {
        CardKind::Resident => DocumentKind::Resident,
        CardKind::PermitJ => DocumentKind::PermitJ,
        CardKind::ForeignerI => DocumentKind::ForeignerI,
        CardKind::ForeignerY => DocumentKind::ForeignerY,
    };
    let nation = match &card {
        IdCard::Resident(resident) => Some(resident.nation().name_zh().to_owned()),
        _ => None,
    };
    let details = CardDetails {
        sex: match card.sex() {
            Sex::Male => Some("male"),
            Sex::Female => Some("female"),
            Sex::Unknown | Sex::Unstated => None,
        },
        birth: Some(card.birth()),
        nation: nation.map(Zeroizing::new),
        address: card.address().map(|a| Zeroizing::new(a.to_owned())),
        read_on: Some(today),
    };
    CardEvent::Read(
        Identity::new(
            card.name().to_owned(),
            card.id_number().expose().to_owned(),
            kind,
        )
        .with_details(details),
    )
}

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
    CardKind, IdCard, ReadError, ReadOutcome, Reader, ReaderConfig, SerialTransport, Transport,
    UsbReaderAddress, UsbTransport,
};
use time::OffsetDateTime;
use time::macros::offset;

use crate::session::{CardEvent, DocumentKind, Identity};

/// How often the reader is asked for a card while the identify screen shows.
const POLL_INTERVAL: Duration = Duration::from_millis(150);

/// On/off switch of the polling thread.
#[derive(Clone)]
pub struct ReaderSwitch(Sender<bool>);

impl ReaderSwitch {
    /// Starts (`true`) or stops (`false`) polling.
    pub fn set(&self, on: bool) {
        // The thread only ends with the process; a send cannot fail before that.
        let _ = self.0.send(on);
    }
}

/// Starts the polling thread for the reader at `port`; events go to `report`.
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

impl ReaderPort {
    /// Opens the port and checks the reader's security module.
    fn open(&self) -> Result<Reader<Box<dyn Transport>>, String> {
        let transport: Box<dyn Transport> = match self {
            ReaderPort::Serial { path, baud } => Box::new(
                SerialTransport::open(&path.to_string_lossy(), *baud).map_err(|e| e.to_string())?,
            ),
            ReaderPort::Usb(address) => {
                Box::new(UsbTransport::open(*address).map_err(|e| e.to_string())?)
            }
        };
        Reader::open(transport, ReaderConfig::default()).map_err(|e| e.to_string())
    }
}

/// Starts the polling thread for the reader at `port`; events go to `report`.
pub fn spawn(port: ReaderPort, report: impl Fn(CardEvent) + Send + 'static) -> ReaderSwitch {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("idcard-reader".into())
        .spawn(move || poll_loop(&port, &rx, &report))
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the card reader thread"));
    ReaderSwitch(tx)
}

fn poll_loop(port: &ReaderPort, switch: &Receiver<bool>, report: &dyn Fn(CardEvent)) {
    let mut reader: Option<Reader<Box<dyn Transport>>> = None;
    let mut on = false;
    let mut faulted = false;
    loop {
        // Wait for the switch while off; while on, check it between polls.
        let next = if on {
            switch.recv_timeout(POLL_INTERVAL)
        } else {
            switch.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        match next {
            Ok(state) => {
                if state && !on {
                    faulted = false;
                }
                on = state;
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if reader.is_none() {
            match port.open() {
                Ok(opened) => {
                    tracing::info!(%port, "card reader ready");
                    reader = Some(opened);
                    faulted = false;
                }
                Err(e) => {
                    if !faulted {
                        tracing::warn!(%port, error = %e, "card reader unavailable");
                        report(CardEvent::ReaderFault);
                        faulted = true;
                    }
                    continue;
                }
            }
        }
        let Some(open) = reader.as_mut() else {
            continue;
        };
        match open.try_read() {
            Ok(ReadOutcome::NoCard | ReadOutcome::AwaitingLift) => {}
            Ok(ReadOutcome::Card(card)) => report(card_event(card, today())),
            Err(ReadError::CardRemoved) => report(CardEvent::Removed),
            Err(ReadError::Card(e)) => {
                tracing::info!(error = %e, "card refused");
                report(CardEvent::Unreadable);
            }
            Err(e) => {
                tracing::warn!(error = %e, "card reader failed; reopening");
                reader = None;
                if !faulted {
                    report(CardEvent::ReaderFault);
                    faulted = true;
                }
            }
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
    CardEvent::Read(Identity::new(
        card.name().to_owned(),
        card.id_number().expose().to_owned(),
        kind,
    ))
}

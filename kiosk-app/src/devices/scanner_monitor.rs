//! The QR/barcode scanner as the kiosk sees it: a supervised reader loop whose scans become
//! session events and whose comings and goings become health reports.
//!
//! The driver's [`ScannerReader`] owns the port, reconnects with back-off and classifies each
//! payload; this module decides what that means here. A scan is untrusted input: only its
//! kind goes on to the session, and only its kind and length are logged (a 苏服码 token names
//! a person).

use std::path::PathBuf;
use std::sync::mpsc;

use kiosk_drivers::scanner::{
    EvdevScanner, LineConfig, ReaderOptions, ReopenNudge, ScanKind, ScanSource, ScannerEvent,
    ScannerReader, SerialScanner, Suffix,
};

use crate::devices::health::{DeviceHealth, DeviceKind, HealthState};
use crate::session::ScannedCode;

/// Where the scanner is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerPort {
    /// Serial / USB CDC mode: lines ending in `suffix`.
    Serial {
        /// Device path, e.g. `/dev/ttyACM0`.
        path: PathBuf,
        /// Baud rate (ignored over USB CDC).
        baud: u32,
        /// What ends each scan.
        suffix: Suffix,
    },
    /// Keyboard-wedge mode: an evdev node, grabbed exclusively.
    Wedge {
        /// Device path, e.g. `/dev/input/by-id/usb-…-event-kbd`.
        path: PathBuf,
    },
}

impl std::fmt::Display for ScannerPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScannerPort::Serial { path, suffix, .. } => {
                write!(f, "{} (serial, {suffix})", path.display())
            }
            ScannerPort::Wedge { path } => write!(f, "{} (keyboard wedge)", path.display()),
        }
    }
}

impl ScannerPort {
    /// The device node.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ScannerPort::Serial { path, .. } | ScannerPort::Wedge { path } => path,
        }
    }

    /// The transport, not opened yet (the reader loop opens it, and reopens it after a loss).
    pub(crate) fn source(&self) -> Box<dyn ScanSource> {
        match self {
            ScannerPort::Serial { path, baud, suffix } => Box::new(SerialScanner::unopened(
                path,
                *baud,
                LineConfig::with_suffix(*suffix),
            )),
            ScannerPort::Wedge { path } => {
                Box::new(EvdevScanner::unopened(path, LineConfig::default()))
            }
        }
    }

    /// Opens the scanner and listens for `listen`: what `kiosk devices` and the self-test
    /// do. A scanner only talks when it scans, so silence is a pass; a hang-up is not.
    pub fn probe(&self, listen: std::time::Duration) -> DeviceHealth {
        let mut source = self.source();
        let result = source
            .reopen()
            .and_then(|()| source.poll_lines(listen).map(|_| ()));
        match result {
            Ok(()) => DeviceHealth::new(DeviceKind::Scanner, HealthState::Ok, "link open"),
            Err(e) => self.lost(&e.to_string()),
        }
    }

    /// The health of a scanner that could not be read.
    fn lost(&self, reason: &str) -> DeviceHealth {
        let state = if self.path().exists() {
            HealthState::Faulted
        } else {
            HealthState::Absent
        };
        DeviceHealth::new(DeviceKind::Scanner, state, reason)
    }
}

/// What the scanner supervisor reports.
#[derive(Debug)]
pub enum ScannerReport {
    /// A code was scanned, of this kind.
    Scanned(ScannedCode),
    /// The scanner's health changed.
    Health(DeviceHealth),
}

/// What the session hears of a payload `text` of `kind`: an appointment code is passed on
/// (it checks its holder in and names a booking, not a person); of anything else, the kind
/// only.
pub fn code_of(kind: ScanKind, text: &str) -> ScannedCode {
    match kind {
        ScanKind::SuFuMa | ScanKind::ELicence => ScannedCode::Identity,
        ScanKind::Appointment => ScannedCode::Appointment(text.to_owned()),
        ScanKind::QueueTicket | ScanKind::Url | ScanKind::Unknown => ScannedCode::Other,
    }
}

/// Starts the scanner's reader loop and its supervisor thread; reports go to `report`.
/// Returns the nudge that makes a lost scanner be retried at once (for the hotplug monitor),
/// or `None` when no thread could be started (logged).
pub fn spawn(
    port: ScannerPort,
    report: impl Fn(ScannerReport) + Send + 'static,
) -> Option<ReopenNudge> {
    let (tx, rx) = mpsc::channel();
    let reader = match ScannerReader::spawn(port.source(), ReaderOptions::default(), tx) {
        Ok(reader) => reader,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the scanner reader");
            return None;
        }
    };
    let nudge = reader.reopen_nudge();
    let started = std::thread::Builder::new()
        .name("scanner-monitor".into())
        .spawn(move || {
            // The reader loop stops when this thread ends and drops it.
            let _reader = reader;
            for event in rx {
                match event {
                    ScannerEvent::Connected => {
                        tracing::info!(scanner = %port, "scanner ready");
                        report(ScannerReport::Health(DeviceHealth::new(
                            DeviceKind::Scanner,
                            HealthState::Ok,
                            "ready",
                        )));
                    }
                    ScannerEvent::Disconnected(reason) => {
                        tracing::warn!(scanner = %port, %reason, "scanner unavailable");
                        report(ScannerReport::Health(port.lost(&reason)));
                    }
                    ScannerEvent::Scanned(scan) => {
                        // Kind and length only: the payload may name a person.
                        tracing::info!(kind = %scan.kind(), len = scan.text().len(), "code scanned");
                        report(ScannerReport::Scanned(code_of(scan.kind(), scan.text())));
                    }
                    ScannerEvent::Rejected(why) => {
                        // The error holds sizes and code points only, never payload bytes.
                        tracing::info!(error = %why, "scan refused");
                    }
                }
            }
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the scanner monitor");
        return None;
    }
    Some(nudge)
}

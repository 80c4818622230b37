//! Printer supervision: one lock for the port, a status probe every few seconds, and health
//! reports when the state changes.
//!
//! Printing and probing open the port in turn under one lock (serial ports are opened
//! exclusively), and each opens it afresh, so a printer that was power-cycled, unplugged and
//! replugged, or refilled with paper is found again without restarting the kiosk.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kiosk_drivers::escpos::PrinterState;
use kiosk_drivers::printer::{PrintError, Printer, PrinterAddress, PrinterLink};

use crate::health::{DeviceHealth, DeviceKind, HealthState};

/// How often the printer's status is asked for between prints.
const PROBE_INTERVAL: Duration = Duration::from_secs(3);

/// How long the printer has to answer a status query.
pub const REPLY_TIMEOUT: Duration = Duration::from_millis(800);

/// Exclusive access to the printer's port, shared by printing and probing.
#[derive(Clone, Default)]
pub struct PrinterPort(Arc<Mutex<()>>);

impl PrinterPort {
    /// Waits for the port; a holder that panicked left nothing half-done on the device that the
    /// next user could not recover from, so a poisoned lock is used as it is.
    pub fn lock(&self) -> MutexGuard<'_, ()> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The health a printer status (or the failure to get one) means.
pub fn health_of(
    result: Result<PrinterState, &PrintError>,
    address: &PrinterAddress,
) -> DeviceHealth {
    let (state, reason) = match result {
        Ok(PrinterState::Ready) => (HealthState::Ok, "ready".to_owned()),
        Ok(PrinterState::PaperNearEnd) => (
            HealthState::Degraded,
            "paper near end: replace the roll soon".to_owned(),
        ),
        Ok(other) => (HealthState::Faulted, other.to_string()),
        Err(PrintError::NotReady(state)) => (HealthState::Faulted, state.to_string()),
        Err(e) => {
            let gone = match address {
                PrinterAddress::Serial { path, .. } | PrinterAddress::UsbLp(path) => {
                    !Path::new(path).exists()
                }
                PrinterAddress::Tcp(_) | PrinterAddress::Usb(_) => false,
            };
            (
                if gone {
                    HealthState::Absent
                } else {
                    HealthState::Faulted
                },
                e.to_string(),
            )
        }
    };
    DeviceHealth::new(DeviceKind::Printer, state, reason)
}

/// Opens the printer at `address` (fresh, to survive power cycles).
pub fn open(address: &PrinterAddress) -> Result<Printer<Box<dyn PrinterLink>>, PrintError> {
    let link = address.open().map_err(PrintError::Io)?;
    Ok(Printer::new(link).with_reply_timeout(REPLY_TIMEOUT))
}

/// Asks the printer at `address` for its state, under the port lock.
pub fn probe(address: &PrinterAddress, port: &PrinterPort) -> DeviceHealth {
    let _guard = port.lock();
    let result = open(address).and_then(|mut printer| printer.status().map(|s| s.state));
    health_of(result.as_ref().map(|s| *s), address)
}

/// Starts the probing thread; each change of health goes to `report`.
pub fn spawn(
    address: PrinterAddress,
    port: PrinterPort,
    report: impl Fn(DeviceHealth) + Send + 'static,
) {
    let started = std::thread::Builder::new().name("printer-monitor".into()).spawn(move || {
        let mut last: Option<DeviceHealth> = None;
        loop {
            let health = probe(&address, &port);
            if last.as_ref() != Some(&health) {
                match health.state {
                    HealthState::Ok => tracing::info!(printer = %address, "printer ready"),
                    state => tracing::warn!(printer = %address, ?state, reason = %health.reason, "printer needs attention"),
                }
                last = Some(health.clone());
                report(health);
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the printer monitor");
    }
}

/// Prints the technicians' test page on the printer at `address` (a self-test, or an
/// operator's remote command), under the port lock when one is given.
pub fn print_test_page(
    address: &PrinterAddress,
    paper: kiosk_drivers::escpos::PaperWidth,
    route: kiosk_drivers::document::PrintRoute,
    terminal_id: &str,
    port: Option<&PrinterPort>,
) -> Result<(), PrintError> {
    let page = crate::receipt::test_page(&crate::receipt::TestPageInfo {
        terminal_id: terminal_id.to_owned(),
        software_version: env!("CARGO_PKG_VERSION").into(),
        connection: address.to_string(),
        paper,
        route,
        printed_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    });
    let _guard = port.map(PrinterPort::lock);
    open(address).and_then(|mut printer| printer.print_routed(&page, paper, route))
}

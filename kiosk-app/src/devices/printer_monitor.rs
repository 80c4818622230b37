//! Printer supervision: one lock for the port, a status probe every few seconds, and health
//! reports when the state changes.
//!
//! Printing and probing open the port in turn under one lock (serial ports are opened
//! exclusively), and each opens it afresh, so a printer that was power-cycled, unplugged and
//! replugged, or refilled with paper is found again without restarting the kiosk.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kiosk_drivers::printer::escpos::PrinterState;
use kiosk_drivers::printer::{PrintError, Printer, PrinterAddress, PrinterLink};

use crate::devices::cabinet::PowerCycleError;
use crate::devices::health::{DeviceHealth, DeviceKind, HealthState};

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
    probe_answered(address, port).0
}

/// [`probe`], and whether the printer answered at all (false: open but silent, a printer
/// that is switched off or wedged; an absent port is not "silent", a relay cannot help it).
fn probe_answered(address: &PrinterAddress, port: &PrinterPort) -> (DeviceHealth, bool) {
    let _guard = port.lock();
    let result = open(address).and_then(|mut printer| printer.status().map(|s| s.state));
    let answered = !matches!(result, Err(PrintError::Timeout));
    (health_of(result.as_ref().map(|s| *s), address), answered)
}

/// Switches the printer's power off and on (the cabinet's relay); blocks until done.
pub type PowerCycle = Box<dyn Fn() -> Result<(), PowerCycleError> + Send>;

/// How many probes in a row the printer may leave unanswered before its power is cycled: one
/// miss can be a busy printer, two are a wedged one.
pub const SILENT_PROBES_BEFORE_POWER_CYCLE: u32 = 2;

/// Wakes the printer monitor for an immediate probe (a hotplug event).
#[derive(Clone)]
pub struct PrinterNudge(Sender<()>);

impl PrinterNudge {
    /// Probe now instead of at the next interval.
    pub fn nudge(&self) {
        let _ = self.0.send(());
    }
}

/// Starts the probing thread; each change of health goes to `report`. With `power`, a
/// printer that stops answering (switched on but wedged) is power-cycled once, after
/// [`SILENT_PROBES_BEFORE_POWER_CYCLE`] silent probes; again only after it has recovered.
pub fn spawn(
    address: PrinterAddress,
    port: PrinterPort,
    power: Option<PowerCycle>,
    report: impl Fn(DeviceHealth) + Send + 'static,
) -> PrinterNudge {
    let (tx, rx) = mpsc::channel();
    let started = std::thread::Builder::new().name("printer-monitor".into()).spawn(move || {
        let mut last: Option<DeviceHealth> = None;
        let mut silent = 0;
        let mut cycled = false;
        loop {
            let (health, answered) = probe_answered(&address, &port);
            silent = if answered { 0 } else { silent + 1 };
            if health.state.usable() {
                cycled = false;
            }
            if last.as_ref() != Some(&health) {
                match health.state {
                    HealthState::Ok => tracing::info!(printer = %address, "printer ready"),
                    state => tracing::warn!(printer = %address, ?state, reason = %health.reason, "printer needs attention"),
                }
                last = Some(health.clone());
                report(health);
            }
            if let (Some(power), false, true) =
                (&power, cycled, silent >= SILENT_PROBES_BEFORE_POWER_CYCLE)
            {
                cycled = true;
                match power() {
                    Ok(()) => tracing::warn!(printer = %address, "printer did not answer; its power was cycled"),
                    Err(e) => tracing::warn!(printer = %address, error = %e, "printer did not answer; power-cycling it failed"),
                }
            }
            match rx.recv_timeout(PROBE_INTERVAL) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                // Nobody can nudge any more (no hotplug here): the timer alone paces probes.
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(PROBE_INTERVAL),
            }
        }
    });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the printer monitor");
    }
    PrinterNudge(tx)
}

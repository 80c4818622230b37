//! The setup screen of a terminal that has no identity yet.
//!
//! A freshly flashed terminal boots into this screen instead of the citizen service: it shows
//! the machine's hardware serial (so the technician can match it in the ops console) and asks
//! for the enrollment QR code. The code is read by the terminal's own scanner; the terminal then
//! makes its key pair, enrolls and enters service without a restart. `kiosk provision PAYLOAD`
//! does the same from a shell.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use kiosk_drivers::scanner::{ReaderOptions, ScannerEvent, ScannerReader};

use super::provision;
use crate::devices::scanner_monitor::ScannerPort;
use crate::uplink::identity::parse_enrollment;

/// Where setup stands, as the screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupState {
    /// Waiting for the enrollment code.
    Waiting,
    /// No scanner is configured: enroll from a shell with `kiosk provision`.
    NoScanner,
    /// A code was read; enrolling with the platform.
    Enrolling,
    /// Enrollment failed; why (no personal data: an enrollment code names none).
    Failed(String),
    /// Enrolled under this terminal id.
    Enrolled(String),
}

/// Why setup cannot enroll from the scanner at all (a refused code is reported, and the next
/// one read).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The scanner's reader cannot be started.
    #[error("cannot read the scanner: {0}")]
    Scanner(#[source] std::io::Error),
    /// The scanner's reader ended before a code enrolled the terminal.
    #[error("the scanner reader stopped")]
    ReaderStopped,
}

/// What setup needs.
pub struct Setup {
    /// The terminal's data folder (identity, outbox).
    pub data_dir: PathBuf,
    /// The hardware serial sent with the public key.
    pub hardware_serial: String,
    /// Platform request timeout.
    pub timeout: Duration,
}

impl Setup {
    /// Reads codes from the scanner at `port` until one enrolls the terminal; each step is
    /// reported. Returns once enrolled (the identity is then in the data folder), or with the
    /// reason the scanner cannot be read at all.
    pub fn enroll_from_scanner(
        &self,
        port: &ScannerPort,
        tokio: &tokio::runtime::Handle,
        report: impl Fn(SetupState),
    ) -> Result<String, SetupError> {
        let (tx, rx) = mpsc::channel();
        let reader = ScannerReader::spawn(port.source(), ReaderOptions::default(), tx)
            .map_err(SetupError::Scanner)?;
        report(SetupState::Waiting);
        for event in rx {
            let ScannerEvent::Scanned(scan) = event else {
                continue;
            };
            let text = scan.text().to_owned();
            if let Err(e) = parse_enrollment(&text) {
                report(SetupState::Failed(e.to_string()));
                continue;
            }
            report(SetupState::Enrolling);
            match tokio.block_on(provision(
                &text,
                &self.data_dir,
                self.hardware_serial.clone(),
                self.timeout,
                false,
            )) {
                Ok(provisioned) => {
                    let id = provisioned.identity.terminal_id.clone();
                    // Close the scanner before the service opens it.
                    reader.stop();
                    report(SetupState::Enrolled(id.clone()));
                    return Ok(id);
                }
                Err(e) => report(SetupState::Failed(e.to_string())),
            }
        }
        Err(SetupError::ReaderStopped)
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

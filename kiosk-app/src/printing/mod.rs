//! What the kiosk prints, and printing it on the receipt printer.
//!
//! - [`receipt`] composes the three documents the kiosk makes itself: the application receipt,
//!   the queue ticket and the technicians' test page.
//! - [`certificate`] rasterises a certificate the platform issued as a PDF.
//!
//! The functions here put a document on paper: each opens the printer afresh under its port
//! lock (so a printer power-cycled by its monitor is found again) and says plainly why
//! nothing came out. The printer's health is watched in `devices::printer_monitor`.

pub mod certificate;
pub mod receipt;

use kiosk_drivers::printer::document::{PrintRoute, ReceiptDocument};
use kiosk_drivers::printer::escpos::{PaperWidth, PrinterState};
use kiosk_drivers::printer::{PrintError, PrinterAddress};

use crate::devices::DeviceConfig;
use crate::devices::printer_monitor::{self, PrinterPort};
use crate::session::PrintFailure;

/// Prints a document (`what`, for the log), opening the port afresh so a power-cycled printer
/// is found. What a citizen is told of a failure is all the result says.
pub fn print_document(
    devices: &DeviceConfig,
    port: &PrinterPort,
    document: &ReceiptDocument,
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

/// Prints the technicians' test page on the printer at `address` (a self-test, or an
/// operator's remote command), under the port lock when one is given.
pub fn print_test_page(
    address: &PrinterAddress,
    paper: PaperWidth,
    route: PrintRoute,
    terminal_id: &str,
    port: Option<&PrinterPort>,
) -> Result<(), PrintError> {
    let page = receipt::test_page(&receipt::TestPageInfo {
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
    printer_monitor::open(address).and_then(|mut printer| printer.print_routed(&page, paper, route))
}

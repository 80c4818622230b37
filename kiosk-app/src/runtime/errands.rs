//! The errands besides applying — a queue ticket, appointment check-in, progress, a
//! certificate — and the printing they and applications end in.

use std::future::Future;

use kiosk_drivers::printer::document::ReceiptDocument;
use kiosk_protocol::{
    CertificateRequest, CheckInRequest, MatterId, ProgressRequest, TicketRequest,
};

use super::Driver;
use crate::devices::DeviceConfig;
use crate::devices::printer_monitor::PrinterPort;
use crate::printing::{self, receipt};
use crate::session::{ErrandOutcome, Event, QueueTicket, ReceiptContent};
use crate::uplink::platform_link::{LinkError, PlatformLink};

impl Driver {
    /// Runs an errand's platform call; its outcome (or why it failed, said plainly) goes back
    /// to the session.
    pub(super) fn errand(
        &self,
        call: impl Future<Output = Result<ErrandOutcome, LinkError>> + Send + 'static,
    ) {
        let events = self.events.clone();
        tokio::spawn(async move {
            let outcome = match call.await {
                Ok(outcome) => outcome,
                // Told plainly, as a refusal: this terminal cannot do it, another terminal or
                // a service window can. Nothing of the citizen is kept for a retry.
                Err(e) if e.is_record_queries_suspended() => {
                    tracing::warn!(
                        "errand refused: this terminal's record queries are suspended until an operator clears the alarm"
                    );
                    ErrandOutcome::Refused
                }
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

    /// Takes a queue ticket for `matter`.
    pub(super) fn take_ticket(&self, matter: MatterId) {
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

    /// Checks in for today's appointment.
    pub(super) fn check_in(&self, request: CheckInRequest) {
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

    /// Asks for the applicant's applications.
    pub(super) fn query_progress(&self, request: ProgressRequest) {
        let link = self.config.platform.clone();
        self.errand(async move {
            let answer = link.progress(&request).await?;
            Ok(ErrandOutcome::Progress(answer.applications))
        });
    }

    /// Fetches a certificate of `kind` and prints it.
    pub(super) fn print_certificate(&self, kind: &'static str, request: CertificateRequest) {
        let link = self.config.platform.clone();
        let devices = self.config.devices.clone();
        let port = self.devices.printer_port.clone();
        self.errand(async move { print_certificate(&link, &devices, &port, kind, &request).await });
    }

    /// Prints the application receipt.
    pub(super) fn print_receipt(&self, content: ReceiptContent) {
        self.print("receipt", move || receipt::application_receipt(&content));
    }

    /// Prints a queue ticket.
    pub(super) fn print_ticket(&self, ticket: QueueTicket) {
        self.print("queue ticket", move || receipt::queue_ticket(&ticket));
    }

    /// Composes a document and prints it (`what`, for the log) on a blocking thread; how it
    /// went goes back to the session.
    fn print(
        &self,
        what: &'static str,
        compose: impl FnOnce() -> ReceiptDocument + Send + 'static,
    ) {
        let devices = self.config.devices.clone();
        let events = self.events.clone();
        let port = self.devices.printer_port.clone();
        tokio::task::spawn_blocking(move || {
            let result = printing::print_document(&devices, &port, &compose(), what);
            let _ = events.send(Event::Printed(result));
        });
    }
}

/// Fetches a certificate for the citizen and prints it on the receipt printer. The PDF holds
/// the citizen's name: it stays in memory (piped to the renderer) and is dropped here.
async fn print_certificate(
    link: &PlatformLink,
    devices: &DeviceConfig,
    port: &PrinterPort,
    kind: &str,
    request: &CertificateRequest,
) -> Result<ErrandOutcome, LinkError> {
    let Some(address) = devices.printer.clone() else {
        return Ok(ErrandOutcome::PrinterFailed);
    };
    let pdf = zeroize::Zeroizing::new(link.certificate(kind, request).await?);
    let port = port.clone();
    let dots = u32::from(devices.paper.dots());
    let printed = tokio::task::spawn_blocking(move || {
        printing::certificate::print_pdf(&pdf, &address, &port, dots)
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

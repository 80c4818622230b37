//! Applications and ratings: kept in the outbox first, then delivered by its sender.

use std::time::Duration;

use kiosk_drivers::camera::jpegs_to_pdf;
use kiosk_protocol::{ApplicationReceipt, ApplicationRequest, RatingRequest};
use tokio::sync::broadcast;

use super::Driver;
use crate::session::{Event, SubmitFailure, SubmittedMaterial};
use crate::uplink::outbox::{Outbox, OutboxError, Outcome};

/// How long a citizen waits for the platform's number before the receipt shows the terminal's
/// reference instead (the application is safe in the outbox either way).
const ACKNOWLEDGEMENT_WAIT: Duration = Duration::from_secs(8);

impl Driver {
    /// Keeps the application and its materials in the outbox, then waits (at most
    /// [`ACKNOWLEDGEMENT_WAIT`]) for the sender's word on it.
    pub(super) fn submit(
        &self,
        idempotency_key: String,
        request: ApplicationRequest,
        materials: Vec<SubmittedMaterial>,
    ) {
        let outbox = self.config.outbox.clone();
        let sealing_key = self.config.platform.sealing_key();
        let events = self.events.clone();
        // Subscribed before the item exists, so its outcome cannot be missed.
        let reports = self.reports.subscribe();
        tokio::spawn(async move {
            let matter_id = request.matter_id.clone();
            let key = idempotency_key.clone();
            let kept = tokio::task::spawn_blocking(move || {
                keep_application(&outbox, &key, request, &materials, sealing_key.as_deref())
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

    /// Keeps a rating for delivery.
    pub(super) fn keep_rating(&self, rating: RatingRequest) {
        let outbox = self.config.outbox.clone();
        tokio::task::spawn_blocking(move || match outbox.keep_rating(&rating) {
            Ok(()) => tracing::info!(level = rating.level, "rating kept for delivery"),
            Err(e) => tracing::warn!(error = %e, "rating not kept"),
        });
    }
}

/// Keeps the application with its materials, each material's pages made one PDF, in one
/// transaction: all of it is kept, or nothing and the citizen is told. Returns the terminal's
/// reference for it.
fn keep_application(
    outbox: &Outbox,
    key: &str,
    request: ApplicationRequest,
    materials: &[SubmittedMaterial],
    sealing_key: Option<&str>,
) -> Result<String, OutboxError> {
    let pdfs = materials
        .iter()
        .map(|m| {
            let pages: Vec<&[u8]> = m.pages.iter().map(|p| p.as_slice()).collect();
            jpegs_to_pdf(&pages).map(|pdf| (m.index, pdf))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| OutboxError::Encode(format!("material pages: {e}")))?;
    let pdfs: Vec<(u16, &[u8])> = pdfs.iter().map(|(i, pdf)| (*i, pdf.as_slice())).collect();
    let reference = outbox.keep_application_with_materials(key, &request, &pdfs, sealing_key)?;
    drop(request);
    Ok(reference)
}

/// Waits for the sender's word on the application under `key`: the platform's receipt, a
/// refusal, or (unreachable, or no answer within [`ACKNOWLEDGEMENT_WAIT`]) acceptance under
/// the terminal's reference, since the application is safe in the outbox.
async fn await_outcome(
    mut reports: broadcast::Receiver<(String, Outcome)>,
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
            progress_code: String::new(),
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

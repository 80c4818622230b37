//! The sender: delivers what the outbox holds, oldest first, with backoff while the platform
//! is unreachable, and says what became of each application.

use std::sync::Arc;
use std::time::Duration;

use kiosk_protocol::sealing::SEALED_APPLICATION_CONTENT_TYPE;
use kiosk_protocol::{ApplicationReceipt, UploadRequest};
use tokio::sync::broadcast;

use super::{ItemKind, MaterialItem, Outbox, OutboxError};
use crate::uplink::platform_link::{LinkError, PlatformLink};

/// What one delivery round achieved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Items the platform acknowledged.
    pub delivered: u32,
    /// Items the platform refused for good.
    pub refused: u32,
    /// The error that stopped the round (platform unreachable), if any.
    pub stopped_by: Option<String>,
}

/// What became of one application the sender tried to deliver.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The platform acknowledged it with this receipt; it left the outbox.
    Accepted(ApplicationReceipt),
    /// The platform refused it for good (kept aside, never retried).
    Refused(String),
    /// The platform cannot be reached: it waits in the outbox.
    Waiting(String),
}

/// Delivers every due item once, oldest first; stops at the first transient failure (the
/// platform is down: the rest would fail the same way). `report` hears what became of each
/// application tried, by idempotency key.
pub async fn deliver_due(
    outbox: &Outbox,
    link: &PlatformLink,
    mut report: impl FnMut(&str, Outcome),
) -> Result<Delivery, OutboxError> {
    let mut round = Delivery::default();
    loop {
        let items = outbox.due(32)?;
        if items.is_empty() {
            deliver_materials(outbox, link, &mut round).await?;
            return Ok(round);
        }
        for item in items {
            let result = match item.kind {
                ItemKind::Application => link
                    .submit_raw(
                        &item.key,
                        SEALED_APPLICATION_CONTENT_TYPE,
                        item.body.clone(),
                    )
                    .await
                    .map(Some),
                ItemKind::Rating => link.rate_raw(item.body.clone()).await.map(|()| None),
                ItemKind::Event => link.event_raw(item.body.clone()).await.map(|()| None),
            };
            match result {
                Ok(receipt) => {
                    outbox.acknowledge(&item, receipt.as_ref())?;
                    if let Some(receipt) = receipt {
                        report(&item.key, Outcome::Accepted(receipt));
                    }
                    round.delivered += 1;
                }
                // A rating already given is as good as delivered.
                Err(LinkError::Refused { status: 409, .. }) if item.kind == ItemKind::Rating => {
                    outbox.acknowledge(&item, None)?;
                    round.delivered += 1;
                }
                Err(e) if e.is_transient() => {
                    outbox.postpone(&item, &e.to_string())?;
                    if item.kind == ItemKind::Application {
                        report(&item.key, Outcome::Waiting(e.to_string()));
                    }
                    round.stopped_by = Some(e.to_string());
                    return Ok(round);
                }
                Err(e) => {
                    tracing::error!(kind = item.kind.as_str(), error = %e, "the platform refused an outbox item; kept aside");
                    outbox.refuse(&item, &e.to_string())?;
                    if item.kind == ItemKind::Application {
                        report(&item.key, Outcome::Refused(e.to_string()));
                    }
                    round.refused += 1;
                }
            }
        }
    }
}

/// What became of one attempt at uploading a material.
enum Step {
    /// The platform completed it.
    Completed,
    /// The platform no longer has the upload (or lost chunks): try again, from the start.
    Again(String),
    /// The platform cannot be reached.
    Down(LinkError),
    /// The platform refused it for good.
    Refused(LinkError),
}

impl From<LinkError> for Step {
    fn from(e: LinkError) -> Self {
        if e.is_transient() {
            Step::Down(e)
        } else {
            Step::Refused(e)
        }
    }
}

/// Uploads every due material (those whose application the platform has), oldest first;
/// stops at the first transient failure, with `round.stopped_by` set.
async fn deliver_materials(
    outbox: &Outbox,
    link: &PlatformLink,
    round: &mut Delivery,
) -> Result<(), OutboxError> {
    loop {
        // One at a time: a material is up to 10 MiB held in memory while it is sent.
        let items = outbox.due_materials(1)?;
        if items.is_empty() {
            return Ok(());
        }
        for mut item in items {
            match upload_material(outbox, link, &mut item).await? {
                Step::Completed => {
                    outbox.acknowledge_material(&item)?;
                    round.delivered += 1;
                }
                Step::Again(why) => {
                    outbox.material_restart(&mut item)?;
                    outbox.postpone_material(&item, &why)?;
                }
                Step::Down(e) => {
                    outbox.postpone_material(&item, &e.to_string())?;
                    round.stopped_by = Some(e.to_string());
                    return Ok(());
                }
                Step::Refused(e) => {
                    tracing::error!(
                        material_index = item.material_index,
                        error = %e,
                        "the platform refused a material; kept aside"
                    );
                    outbox.refuse_material(&item, &e.to_string())?;
                    round.refused += 1;
                }
            }
        }
    }
}

/// One attempt at `item`: announces it (unless an upload is under way), sends the chunks the
/// platform has not confirmed, completes it. Progress is recorded after every step.
async fn upload_material(
    outbox: &Outbox,
    link: &PlatformLink,
    item: &mut MaterialItem,
) -> Result<Step, OutboxError> {
    let upload_id = match item.upload_id.clone() {
        Some(id) if item.chunk_size > 0 => id,
        _ => {
            let request = UploadRequest {
                material_index: item.material_index,
                content_type: item.content_type,
                size: item.body.len() as u64,
                sha256: item.sha256.clone(),
            };
            let session = match link
                .start_material_upload(&item.application_no, &request)
                .await
            {
                Ok(session) => session,
                Err(e) => return Ok(e.into()),
            };
            if session.chunk_size == 0 {
                return Ok(Step::Refused(LinkError::BadAnswer(
                    "the platform asked for chunks of 0 bytes".to_owned(),
                )));
            }
            outbox.material_started(item, &session.upload_id, session.chunk_size)?;
            session.upload_id
        }
    };
    let chunk_size = usize::try_from(item.chunk_size).unwrap_or(usize::MAX);
    let chunks: Vec<Vec<u8>> = item.body.chunks(chunk_size).map(<[u8]>::to_vec).collect();
    let first = usize::try_from(item.chunks_sent).unwrap_or(usize::MAX);
    for (n, chunk) in chunks.into_iter().enumerate().skip(first) {
        match link.put_material_chunk(&upload_id, n as u64, chunk).await {
            Ok(()) => outbox.material_progress(item, n as u64 + 1)?,
            Err(LinkError::Refused { status: 404, .. }) => {
                return Ok(Step::Again("the platform no longer has the upload".into()));
            }
            // Completed already (the answer to `complete` was lost): complete again below.
            Err(LinkError::Refused { status: 409, .. }) => break,
            Err(e) => return Ok(e.into()),
        }
    }
    match link.complete_material_upload(&upload_id).await {
        Ok(_) => Ok(Step::Completed),
        Err(LinkError::Refused { status: 404, .. }) => {
            Ok(Step::Again("the platform no longer has the upload".into()))
        }
        Err(LinkError::Refused { status: 409, .. }) => {
            Ok(Step::Again("the platform is missing chunks".into()))
        }
        Err(e) => Ok(e.into()),
    }
}

/// What the sender reports: each application it tried, by idempotency key.
pub type Reports = broadcast::Sender<(String, Outcome)>;

/// Runs the sender until the process ends: delivers whenever something is added, a retry is
/// asked for, or the earliest backoff has passed. What becomes of each application goes to
/// `reports` (the session waits there for the number it shows).
pub fn spawn_sender(outbox: Arc<Outbox>, link: PlatformLink, reports: Reports) {
    tokio::spawn(async move {
        let mut platform_down = false;
        loop {
            // Items back off one by one; one cheap health check notices the platform's return
            // and sends everything at once instead of waiting out each item's backoff.
            if platform_down && link.health().await.is_ok() {
                tracing::info!("platform reachable again; delivering the outbox");
                if let Err(e) = outbox.retry_now() {
                    tracing::error!(error = %e, "outbox unusable");
                }
            }
            let round = deliver_due(&outbox, &link, |key, outcome| {
                // Nobody listening (no citizen waiting) is normal.
                let _ = reports.send((key.to_owned(), outcome));
            })
            .await;
            if let Ok(Delivery {
                stopped_by: Some(error),
                ..
            }) = &round
            {
                tracing::warn!(error = %error, "platform unreachable; outbox items wait");
            }
            if let Err(e) = &round {
                tracing::error!(error = %e, "outbox unusable");
            }
            platform_down = matches!(
                round,
                Ok(Delivery {
                    stopped_by: Some(_),
                    ..
                })
            );
            let longest = if platform_down {
                Duration::from_secs(15)
            } else {
                Duration::from_secs(60)
            };
            let wait = outbox
                .next_due_in()
                .ok()
                .flatten()
                .unwrap_or(longest)
                .clamp(Duration::from_millis(200), longest);
            tokio::select! {
                () = outbox.changed() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    });
}

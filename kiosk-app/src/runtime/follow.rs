//! What a citizen does about an application found by 办件查询: a 补正 answered with new
//! photographs, and the rating of the completed matter. Both carry the applicant's card and
//! go online only: nothing of them is kept on the terminal, and if the platform cannot be
//! reached the citizen is told so and nothing has changed.

use kiosk_drivers::camera::jpegs_to_pdf;
use kiosk_protocol::sealing::{parse_sealing_key, seal};
use kiosk_protocol::{
    CorrectionOpening, CorrectionSubmission, MaterialContentType, RatingRequest, UploadRequest,
};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::Driver;
use crate::session::{CorrectionAnswer, ErrandOutcome};
use crate::uplink::platform_link::{LinkError, PlatformLink};

impl Driver {
    /// Answers a 补正 online: opens it here, uploads each material's pages as one sealed PDF,
    /// and submits the uploads.
    pub(super) fn send_correction(&self, answer: CorrectionAnswer) {
        let link = self.config.platform.clone();
        self.errand(async move { answer_correction(&link, answer).await });
    }

    /// Sends a rating of completion online (it carries the card, which the outbox never keeps).
    pub(super) fn rate_completion(&self, rating: RatingRequest) {
        let link = self.config.platform.clone();
        self.errand(async move {
            link.rate(&rating).await?;
            Ok(ErrandOutcome::CompletionRated)
        });
    }
}

/// A material ready to upload: its index, the sealed PDF and the sealed bytes' SHA-256.
struct SealedMaterial {
    index: u16,
    sealed: Vec<u8>,
    sha256: String,
}

/// Each material's pages made one PDF and sealed to the platform's key, as the outbox seals
/// an application's: the photos cross the network readable by the platform alone.
fn seal_materials(
    answer: &CorrectionAnswer,
    sealing_key: Option<String>,
) -> Result<Vec<SealedMaterial>, LinkError> {
    let key = sealing_key
        .and_then(|hex| parse_sealing_key(&hex).ok())
        .ok_or_else(|| LinkError::BadAnswer("no sealing key from the platform yet".into()))?;
    answer
        .materials
        .iter()
        .map(|m| {
            let pages: Vec<&[u8]> = m.pages.iter().map(|p| p.as_slice()).collect();
            let pdf = Zeroizing::new(
                jpegs_to_pdf(&pages)
                    .map_err(|e| LinkError::BadAnswer(format!("material pages: {e}")))?,
            );
            let sealed =
                seal(&key, &pdf).map_err(|e| LinkError::BadAnswer(format!("sealing: {e}")))?;
            let sha256 = kiosk_protocol::auth::hex_encode(&Sha256::digest(&sealed));
            Ok(SealedMaterial {
                index: m.index,
                sealed,
                sha256,
            })
        })
        .collect()
}

/// Uploads one sealed material whole; its upload id.
async fn upload(
    link: &PlatformLink,
    application_no: &str,
    material: SealedMaterial,
) -> Result<String, LinkError> {
    let session = link
        .start_material_upload(
            application_no,
            &UploadRequest {
                material_index: material.index,
                content_type: MaterialContentType::SealedPdf,
                size: material.sealed.len() as u64,
                sha256: material.sha256,
            },
        )
        .await?;
    let chunk_size = usize::try_from(session.chunk_size)
        .ok()
        .filter(|size| *size > 0)
        .ok_or_else(|| LinkError::BadAnswer("the platform asked for chunks of 0 bytes".into()))?;
    for (n, chunk) in material.sealed.chunks(chunk_size).enumerate() {
        link.put_material_chunk(&session.upload_id, n as u64, chunk.to_vec())
            .await?;
    }
    Ok(link
        .complete_material_upload(&session.upload_id)
        .await?
        .upload_id)
}

/// The whole answer: nothing moves on the platform until the last step, so a failure on the
/// way leaves the 补正 open (its stray uploads answer nothing) and the citizen may try again.
async fn answer_correction(
    link: &PlatformLink,
    answer: CorrectionAnswer,
) -> Result<ErrandOutcome, LinkError> {
    let sealing_key = link.sealing_key();
    let (answer, sealed) = tokio::task::spawn_blocking(move || {
        let sealed = seal_materials(&answer, sealing_key);
        (answer, sealed)
    })
    .await
    .map_err(|e| LinkError::BadAnswer(format!("sealing task: {e}")))?;
    let sealed = sealed?;
    let no = answer.application_no.as_str();
    link.open_correction(
        no,
        &CorrectionOpening {
            holder: answer.holder.clone(),
        },
    )
    .await?;
    let mut uploads = Vec::with_capacity(sealed.len());
    for material in sealed {
        uploads.push(upload(link, no, material).await?);
    }
    link.submit_correction(
        no,
        &CorrectionSubmission {
            holder: answer.holder.clone(),
            uploads,
        },
    )
    .await?;
    Ok(ErrandOutcome::CorrectionAnswered)
}

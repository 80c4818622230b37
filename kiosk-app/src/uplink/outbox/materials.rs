//! Materials (申请材料): sealed PDFs kept beside their application, uploaded in chunks once
//! the platform has given the application its number.

use kiosk_protocol::MaterialContentType;
use kiosk_protocol::material::{MAX_APPLICATION_MATERIAL_BYTES, MAX_MATERIALS_PER_APPLICATION};
use kiosk_protocol::sealing::{parse_sealing_key, seal};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{MAX_KEPT_MATERIAL_BYTES, MAX_WAITING_MATERIAL_BYTES, Outbox, OutboxError};

/// Materials due: not refused, their application delivered (its number known).
const DUE_MATERIALS: &str = "
SELECT m.id, m.application_key, d.application_no, m.material_index, m.content_type, m.body,
       m.sha256, m.upload_id, m.chunk_size, m.chunks_sent, m.attempts
FROM materials m JOIN delivered d ON d.key = m.application_key
WHERE m.refused = 0 AND (m.next_attempt_at <= ?1 OR m.next_attempt_at > ?1 + 300)
ORDER BY m.id LIMIT ?2";

/// One waiting material whose application the platform has, as the sender sees it.
#[derive(Clone)]
pub struct MaterialItem {
    /// Row id.
    pub id: i64,
    /// Idempotency key of its application.
    pub application_key: String,
    /// The platform's number of its application.
    pub application_no: String,
    /// Index in the matter's material list.
    pub material_index: u16,
    /// What it is (a sealed type).
    pub content_type: MaterialContentType,
    /// The sealed bytes, exactly as they are uploaded.
    pub body: Vec<u8>,
    /// Lower-case hex SHA-256 of `body`.
    pub sha256: String,
    /// The platform's upload under way, if one was started.
    pub upload_id: Option<String>,
    /// Bytes per chunk of that upload.
    pub chunk_size: u64,
    /// Chunks the platform confirmed.
    pub chunks_sent: u64,
    /// Attempts so far.
    pub attempts: u32,
}

impl std::fmt::Debug for MaterialItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body is sealed, but there is no reason to print kilobytes of it.
        f.debug_struct("MaterialItem")
            .field("id", &self.id)
            .field("application_no", &self.application_no)
            .field("material_index", &self.material_index)
            .field("content_type", &self.content_type)
            .field("size", &self.body.len())
            .field("upload_id", &self.upload_id)
            .field("chunks_sent", &self.chunks_sent)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl Outbox {
    /// Durably keeps material `material_index` (a PDF of its pages) of the application kept
    /// under `application_key`, sealed to the platform's key (hex). Call it after
    /// [`Outbox::keep_application`] for the same key and before the citizen is told the
    /// application is accepted. Keeping the same material twice keeps one. Refused: a material
    /// over [`MAX_KEPT_MATERIAL_BYTES`], one that is not a PDF, one of an application the
    /// outbox never kept, too many or too much for one application, or the outbox's share of
    /// the disk for materials is used up.
    pub fn keep_material(
        &self,
        application_key: &str,
        material_index: u16,
        pdf: &[u8],
        sealing_key: Option<&str>,
    ) -> Result<(), OutboxError> {
        let platform = sealing_key
            .and_then(|hex| parse_sealing_key(hex).ok())
            .ok_or(OutboxError::NoSealingKey)?;
        let (sealed, sha256) = seal_material(&platform, pdf)?;
        self.write(|tx| {
            self.keep_material_in(tx, application_key, material_index, &sealed, &sha256)
        })
    }

    /// Keeps a sealed material in `tx` for the application under `application_key`, which must
    /// be here (waiting or refused) or delivered; a material kept already is left as it is.
    pub(super) fn keep_material_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        application_key: &str,
        material_index: u16,
        sealed: &[u8],
        sha256: &str,
    ) -> Result<(), OutboxError> {
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM materials WHERE application_key = ?1 AND material_index = ?2)",
                params![application_key, material_index],
                |row| row.get(0),
            )
            .map_err(|e| self.storage(e))?;
        if exists {
            return Ok(());
        }
        // The application waits here (refused or not), or was delivered.
        let waiting: Option<(bool, Option<String>)> = tx
            .query_row(
                "SELECT refused, last_error FROM items WHERE key = ?1 AND kind = 'application'",
                params![application_key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.storage(e))?;
        let delivered: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM delivered WHERE key = ?1)",
                params![application_key],
                |row| row.get(0),
            )
            .map_err(|e| self.storage(e))?;
        if waiting.is_none() && !delivered {
            return Err(OutboxError::MaterialRefused(
                "the outbox holds no application under this key: keep the application first"
                    .to_owned(),
            ));
        }
        let (files, bytes, all_bytes) = tx
            .query_row(
                "SELECT count(*) FILTER (WHERE application_key = ?1),
                        coalesce(sum(length(body)) FILTER (WHERE application_key = ?1), 0),
                        coalesce(sum(length(body)), 0)
                 FROM materials",
                params![application_key],
                |row| {
                    let n = |i| row.get::<_, i64>(i).map(|v| v.max(0) as u64);
                    Ok((n(0)?, n(1)?, n(2)?))
                },
            )
            .map_err(|e| self.storage(e))?;
        if files >= MAX_MATERIALS_PER_APPLICATION {
            return Err(OutboxError::MaterialRefused(format!(
                "an application has at most {MAX_MATERIALS_PER_APPLICATION} materials"
            )));
        }
        let sealed_size = sealed.len() as u64;
        if bytes + sealed_size > MAX_APPLICATION_MATERIAL_BYTES {
            return Err(OutboxError::MaterialRefused(format!(
                "an application's materials total at most {} MiB",
                MAX_APPLICATION_MATERIAL_BYTES / (1024 * 1024)
            )));
        }
        if all_bytes + sealed_size > MAX_WAITING_MATERIAL_BYTES {
            let depth: u32 = tx
                .query_row("SELECT count(*) FROM materials", [], |row| row.get(0))
                .map_err(|e| self.storage(e))?;
            return Err(OutboxError::Full(depth));
        }
        // A material of an application the platform refused is kept aside with it.
        let (refused, last_error) = match waiting {
            Some((true, error)) => (
                true,
                Some(format!(
                    "its application was refused: {}",
                    error.unwrap_or_default()
                )),
            ),
            _ => (false, None),
        };
        tx.execute(
            "INSERT INTO materials (application_key, material_index, content_type, body, sha256,
                                    created_at, refused, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                application_key,
                material_index,
                MaterialContentType::SealedPdf.as_str(),
                sealed,
                sha256,
                self.now(),
                refused,
                last_error
            ],
        )
        .map_err(|e| self.storage(e))?;
        Ok(())
    }

    /// The materials due for upload now (their application delivered), oldest first.
    pub fn due_materials(&self, limit: u32) -> Result<Vec<MaterialItem>, OutboxError> {
        let conn = self.lock();
        let mut statement = conn
            .prepare_cached(DUE_MATERIALS)
            .map_err(|e| self.storage(e))?;
        let rows = statement
            .query_map(params![self.now(), limit], |row| {
                Ok((
                    MaterialItem {
                        id: row.get(0)?,
                        application_key: row.get(1)?,
                        application_no: row.get(2)?,
                        material_index: row.get(3)?,
                        content_type: MaterialContentType::SealedPdf,
                        body: row.get(5)?,
                        sha256: row.get(6)?,
                        upload_id: row.get(7)?,
                        chunk_size: row.get::<_, i64>(8)?.max(0) as u64,
                        chunks_sent: row.get::<_, i64>(9)?.max(0) as u64,
                        attempts: row.get(10)?,
                    },
                    row.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.storage(e))?;
        let mut items = Vec::new();
        for row in rows {
            let (mut item, content_type) = row.map_err(|e| self.storage(e))?;
            let Some(content_type) = MaterialContentType::parse(&content_type) else {
                continue;
            };
            item.content_type = content_type;
            items.push(item);
        }
        Ok(items)
    }

    /// The platform opened upload `upload_id` (chunks of `chunk_size` bytes) for `item`.
    pub fn material_started(
        &self,
        item: &mut MaterialItem,
        upload_id: &str,
        chunk_size: u64,
    ) -> Result<(), OutboxError> {
        self.lock()
            .execute(
                "UPDATE materials SET upload_id = ?2, chunk_size = ?3, chunks_sent = 0 WHERE id = ?1",
                params![item.id, upload_id, i64::try_from(chunk_size).unwrap_or(i64::MAX)],
            )
            .map_err(|e| self.storage(e))?;
        item.upload_id = Some(upload_id.to_owned());
        item.chunk_size = chunk_size;
        item.chunks_sent = 0;
        Ok(())
    }

    /// The platform confirmed the chunks of `item`'s upload before `chunks_sent`.
    pub fn material_progress(
        &self,
        item: &mut MaterialItem,
        chunks_sent: u64,
    ) -> Result<(), OutboxError> {
        self.lock()
            .execute(
                "UPDATE materials SET chunks_sent = ?2 WHERE id = ?1",
                params![item.id, i64::try_from(chunks_sent).unwrap_or(i64::MAX)],
            )
            .map_err(|e| self.storage(e))?;
        item.chunks_sent = chunks_sent;
        Ok(())
    }

    /// The platform no longer knows `item`'s upload: the next attempt starts a new one.
    pub fn material_restart(&self, item: &mut MaterialItem) -> Result<(), OutboxError> {
        self.lock()
            .execute(
                "UPDATE materials SET upload_id = NULL, chunk_size = 0, chunks_sent = 0 WHERE id = ?1",
                params![item.id],
            )
            .map_err(|e| self.storage(e))?;
        item.upload_id = None;
        item.chunks_sent = 0;
        Ok(())
    }

    /// The platform completed `item`'s upload: it is removed.
    pub fn acknowledge_material(&self, item: &MaterialItem) -> Result<(), OutboxError> {
        self.lock()
            .execute("DELETE FROM materials WHERE id = ?1", params![item.id])
            .map_err(|e| self.storage(e))?;
        Ok(())
    }

    /// Uploading `item` failed for a reason that may pass: backoff as for other items.
    pub fn postpone_material(&self, item: &MaterialItem, error: &str) -> Result<(), OutboxError> {
        self.postpone_row(
            "UPDATE materials SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1",
            item.id,
            item.attempts,
            error,
        )
    }

    /// The platform refused `item` for good: kept aside for the technician, never sent again.
    pub fn refuse_material(&self, item: &MaterialItem, error: &str) -> Result<(), OutboxError> {
        self.lock()
            .execute(
                "UPDATE materials SET refused = 1, attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                params![item.id, error],
            )
            .map_err(|e| self.storage(e))?;
        Ok(())
    }
}

/// Checks a material's PDF as the platform will (size, a whole PDF) and seals it to the
/// platform's key; returns the sealed bytes and their SHA-256 (lower-case hex).
pub(super) fn seal_material(
    platform: &kiosk_protocol::sealing::PublicKey,
    pdf: &[u8],
) -> Result<(Vec<u8>, String), OutboxError> {
    let size = pdf.len() as u64;
    if size > MAX_KEPT_MATERIAL_BYTES {
        return Err(OutboxError::MaterialTooLarge {
            size,
            max: MAX_KEPT_MATERIAL_BYTES,
        });
    }
    if !MaterialContentType::Pdf.matches(pdf) {
        return Err(OutboxError::MaterialRefused(
            "it is not a whole PDF file".to_owned(),
        ));
    }
    let sealed = seal(platform, pdf).map_err(|e| OutboxError::Encode(e.to_string()))?;
    let sha256 = kiosk_protocol::auth::hex_encode(&Sha256::digest(&sealed));
    Ok((sealed, sha256))
}

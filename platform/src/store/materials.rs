//! Storage of materials uploaded in chunks. The chunks are the file: completing an upload
//! checks them in order and marks it complete, without copying the bytes again.

use kiosk_protocol::{MaterialContentType, UploadRequest};

use zeroize::Zeroizing;

use super::at_rest::chunk_row;
use super::sql::args;
use super::{Store, StoreError, now_rfc3339};

/// An upload as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Its id.
    pub id: String,
    /// The application it belongs to.
    pub application_no: String,
    /// Material index.
    pub material_index: u16,
    /// Declared content type.
    pub content_type: MaterialContentType,
    /// Declared size.
    pub size: u64,
    /// Declared SHA-256, hex.
    pub sha256: String,
    /// Bytes per chunk.
    pub chunk_size: u64,
    /// True once completed.
    pub complete: bool,
}

impl Upload {
    /// Number of chunks.
    pub fn chunks(&self) -> u64 {
        self.size.div_ceil(self.chunk_size.max(1))
    }

    /// Expected length of chunk `n`.
    pub fn chunk_len(&self, n: u64) -> u64 {
        let start = n.saturating_mul(self.chunk_size);
        self.size.saturating_sub(start).min(self.chunk_size)
    }
}

impl Store {
    /// The matter of an application this terminal took, if it took it.
    pub async fn application_matter(
        &self,
        terminal_id: &str,
        application_no: &str,
    ) -> Result<Option<String>, StoreError> {
        self.rows(
            "SELECT matter_id FROM applications WHERE application_no = $1 AND terminal_id = $2",
            args![application_no, terminal_id],
        )
        .await?
        .first()
        .map(|r| r.text(0))
        .transpose()
    }

    /// Files and bytes already announced for an application.
    pub async fn material_totals(&self, application_no: &str) -> Result<(u64, u64), StoreError> {
        let rows = self
            .rows(
                "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM uploads WHERE application_no = $1",
                args![application_no],
            )
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Task("no totals".into()))?;
        Ok((row.int(0)?.max(0) as u64, row.int(1)?.max(0) as u64))
    }

    /// Announces an upload (made under a 补正's grant, when `correction_grant` names one).
    pub async fn create_upload(
        &self,
        id: &str,
        terminal_id: &str,
        application_no: &str,
        request: &UploadRequest,
        chunk_size: u64,
        correction_grant: Option<i64>,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO uploads (id, terminal_id, application_no, material_index, content_type, size, sha256, chunk_size, created_at, correction_grant)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![
                id,
                terminal_id,
                application_no,
                i64::from(request.material_index),
                request.content_type.as_str(),
                i64::try_from(request.size).unwrap_or(i64::MAX),
                request.sha256.as_str(),
                i64::try_from(chunk_size).unwrap_or(i64::MAX),
                now_rfc3339(),
                correction_grant
            ],
        )
        .await?;
        Ok(())
    }

    /// One of this terminal's uploads.
    pub async fn upload(&self, terminal_id: &str, id: &str) -> Result<Option<Upload>, StoreError> {
        let rows = self
            .rows(
                "SELECT id, application_no, material_index, content_type, size, sha256, chunk_size, completed_at
                 FROM uploads WHERE id = $1 AND terminal_id = $2",
                args![id, terminal_id],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let content_type = row.text(3)?;
        Ok(Some(Upload {
            id: row.text(0)?,
            application_no: row.text(1)?,
            material_index: u16::try_from(row.int(2)?).unwrap_or(u16::MAX),
            content_type: MaterialContentType::parse(&content_type)
                .ok_or_else(|| StoreError::Task(format!("stored content type {content_type}")))?,
            size: row.int(4)?.max(0) as u64,
            sha256: row.text(5)?,
            chunk_size: row.int(6)?.max(1) as u64,
            complete: row.opt_text(7)?.is_some(),
        }))
    }

    /// Stores (or replaces) chunk `n` of an upload, encrypted under the data key.
    pub async fn put_chunk(
        &self,
        upload_id: &str,
        n: u64,
        data: Vec<u8>,
    ) -> Result<(), StoreError> {
        let data = self.keys()?.encrypt(&chunk_row(upload_id, n), &data)?;
        self.exec(
            "INSERT INTO upload_chunks (upload_id, n, data, encrypted) VALUES ($1, $2, $3, TRUE)
             ON CONFLICT (upload_id, n) DO UPDATE SET data = excluded.data, encrypted = TRUE",
            args![upload_id, i64::try_from(n).unwrap_or(i64::MAX), data],
        )
        .await?;
        Ok(())
    }

    /// The chunks of an upload, in order, as (index, bytes), opened.
    pub async fn chunks(
        &self,
        upload_id: &str,
    ) -> Result<Vec<(u64, Zeroizing<Vec<u8>>)>, StoreError> {
        let keys = self.keys()?;
        self.rows(
            "SELECT n, data FROM upload_chunks WHERE upload_id = $1 ORDER BY n",
            args![upload_id],
        )
        .await?
        .iter()
        .map(|row| {
            let n = row.int(0)?.max(0) as u64;
            Ok((n, keys.decrypt(&chunk_row(upload_id, n), &row.bytes(1)?)?))
        })
        .collect()
    }

    /// Marks an upload complete.
    pub async fn complete_upload(&self, upload_id: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE uploads SET completed_at = $2 WHERE id = $1",
            args![upload_id, now_rfc3339()],
        )
        .await?;
        Ok(())
    }

    /// Completes a sealed upload with the file it carried: in one transaction, the sealed
    /// chunks are replaced by the opened file's (cut at the upload's chunk size) and the upload
    /// takes the plain type, size and SHA-256, so it is stored exactly as a plain upload is.
    pub async fn complete_opened_upload(
        &self,
        upload: &Upload,
        content_type: MaterialContentType,
        file: &[u8],
        sha256: &str,
    ) -> Result<(), StoreError> {
        let chunk_size = usize::try_from(upload.chunk_size)
            .unwrap_or(usize::MAX)
            .max(1);
        let mut statements = vec![(
            "DELETE FROM upload_chunks WHERE upload_id = $1",
            args![upload.id.as_str()],
        )];
        let keys = self.keys()?;
        for (n, chunk) in file.chunks(chunk_size).enumerate() {
            let data = keys.encrypt(&chunk_row(&upload.id, n as u64), chunk)?;
            statements.push((
                "INSERT INTO upload_chunks (upload_id, n, data, encrypted) VALUES ($1, $2, $3, TRUE)",
                args![upload.id.as_str(), i64::try_from(n).unwrap_or(i64::MAX), data],
            ));
        }
        statements.push((
            "UPDATE uploads SET content_type = $2, size = $3, sha256 = $4, completed_at = $5 WHERE id = $1",
            args![
                upload.id.as_str(),
                content_type.as_str(),
                i64::try_from(file.len()).unwrap_or(i64::MAX),
                sha256,
                now_rfc3339()
            ],
        ));
        self.exec_all(statements).await
    }

    /// Forgets an upload and its chunks (a file that failed its checks).
    pub async fn delete_upload(&self, upload_id: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM upload_chunks WHERE upload_id = $1",
            args![upload_id],
        )
        .await?;
        self.exec("DELETE FROM uploads WHERE id = $1", args![upload_id])
            .await?;
        Ok(())
    }
}

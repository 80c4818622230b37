//! Personal data at rest: the platform's keys given to the store, the columns that hold a
//! name, ID number, phone, address or photo kept encrypted under the data key, and the one-time
//! steps that bring a database made before key files up to that.
//!
//! What is encrypted, each with its row's identity as associated data (so a ciphertext copied
//! into another row does not open): `applications.body` (the whole application: applicant,
//! form data) under its idempotency key, `upload_chunks.data` (materials: scans, photos)
//! under its upload and chunk number, and `result_documents.data` (a completed application's
//! result) under its application and hash. Everything else holds no personal data in clear: the
//! applicant index is a keyed hash, certificates keep what was printed (masked), and events,
//! tickets, appointments, alarms and the audit log carry ids, kinds and counts.

use zeroize::Zeroizing;

use super::sql::args;
use super::{Store, StoreError};
use crate::keys::{KeyError, KeyRing, Keys, LegacySecrets, legacy_applicant_index};

/// How an encrypted text column starts: the version of the scheme, then hex.
const TEXT_PREFIX: &str = "lyb-enc1:";

/// A known text encrypted under the data key and kept in `settings`: a key file that does not
/// open it is not this database's.
const KEY_CHECK: &str = "lyb-data-key-check";

/// Rows encrypted per statement batch when an older database is brought up to date.
const BATCH: i64 = 200;

/// The associated data of an application's body.
pub(crate) fn application_row(idempotency_key: &str) -> String {
    format!("applications.body\n{idempotency_key}")
}

/// The associated data of a material chunk.
pub(crate) fn chunk_row(upload_id: &str, n: u64) -> String {
    format!("upload_chunks.data\n{upload_id}\n{n}")
}

/// `text` encrypted for `row`, as a text column keeps it.
pub(crate) fn encrypt_text(
    keys: &dyn KeyRing,
    row: &str,
    text: &str,
) -> Result<String, StoreError> {
    let stored = keys.encrypt(row, text.as_bytes())?;
    Ok(format!(
        "{TEXT_PREFIX}{}",
        kiosk_protocol::auth::hex_encode(&stored)
    ))
}

/// The text [`encrypt_text`] stored for `row`.
pub(crate) fn decrypt_text(
    keys: &dyn KeyRing,
    row: &str,
    stored: &str,
) -> Result<Zeroizing<String>, StoreError> {
    let bytes = stored
        .strip_prefix(TEXT_PREFIX)
        .and_then(kiosk_protocol::auth::hex_decode)
        .ok_or(KeyError::CannotDecrypt)?;
    let plain = keys.decrypt(row, &bytes)?;
    let text = std::str::from_utf8(&plain).map_err(|_| KeyError::CannotDecrypt)?;
    Ok(Zeroizing::new(text.to_owned()))
}

impl Store {
    /// The platform's keys; [`StoreError::NoKeys`] for a store opened without them (the
    /// commands that touch no personal data).
    pub fn keys(&self) -> Result<&dyn KeyRing, StoreError> {
        let held = match self {
            Store::Sqlite(s) => s.keys.get(),
            Store::Postgres(p) => p.keys.get(),
        };
        held.map(|k| k.as_ref()).ok_or(StoreError::NoKeys)
    }

    /// The platform's keys as a shared handle, for work that runs on another thread (a
    /// transaction).
    pub(crate) fn key_handle(&self) -> Result<Keys, StoreError> {
        let held = match self {
            Store::Sqlite(s) => s.keys.get(),
            Store::Postgres(p) => p.keys.get(),
        };
        held.cloned().ok_or(StoreError::NoKeys)
    }

    /// Gives the store the platform's keys, once, after checking they are this database's: a
    /// database whose secrets are still in its `settings` needs them carried into the key file
    /// first (`keys init --from-database`), then they are removed from it; a key file whose
    /// data key does not open the database's check value is refused. Rows written in clear
    /// before are encrypted now (idempotent: what is encrypted is left alone).
    pub async fn use_keys(&self, keys: Keys) -> Result<(), StoreError> {
        if let Some(legacy) = self.legacy_secrets().await? {
            let probe = "LYB-KEY-FILE-PROBE";
            let carried = keys.applicant_index(probe)
                == legacy_applicant_index(&legacy.applicant_pepper, probe)
                && legacy
                    .certificate_key
                    .as_ref()
                    .is_none_or(|c| c.as_str() == keys.certificate_secret().as_str());
            if !carried {
                return Err(StoreError::KeysNotImported);
            }
        }
        self.check_data_key(keys.as_ref()).await?;
        self.exec(
            "DELETE FROM settings WHERE name IN ('applicant_pepper', 'certificate_key')",
            args![],
        )
        .await?;
        let moved = self.encrypt_clear_rows(keys.as_ref()).await?;
        if moved > 0 {
            tracing::info!(
                rows = moved,
                "encrypted personal data stored in clear before"
            );
            self.drop_old_pages().await?;
        }
        let installed = match self {
            Store::Sqlite(s) => s.keys.set(keys),
            Store::Postgres(p) => p.keys.set(keys),
        };
        installed.map_err(|_| StoreError::Task("the store has its keys already".into()))?;
        // Applications stored before holder keys existed get theirs from their bodies.
        let filled = self.backfill_holder_keys().await?;
        if filled > 0 {
            tracing::info!(rows = filled, "gave older applications their holder keys");
        }
        Ok(())
    }

    /// The secrets a database made before key files kept in `settings`, if it still does.
    pub async fn legacy_secrets(&self) -> Result<Option<LegacySecrets>, StoreError> {
        let read = |name: &'static str| async move {
            let sql = match name {
                "applicant_pepper" => "SELECT value FROM settings WHERE name = 'applicant_pepper'",
                _ => "SELECT value FROM settings WHERE name = 'certificate_key'",
            };
            self.row(sql, args![])
                .await?
                .map(|row| row.text(0).map(Zeroizing::new))
                .transpose()
        };
        let Some(applicant_pepper) = read("applicant_pepper").await? else {
            return Ok(None);
        };
        Ok(Some(LegacySecrets {
            applicant_pepper,
            certificate_key: read("certificate_key").await?,
        }))
    }

    /// Records the data key's check value on first use, and refuses a key file that does not
    /// open the one recorded.
    async fn check_data_key(&self, keys: &dyn KeyRing) -> Result<(), StoreError> {
        const ROW: &str = "settings.data_key_check";
        self.exec(
            "INSERT INTO settings (name, value) VALUES ('data_key_check', $1) ON CONFLICT (name) DO NOTHING",
            args![encrypt_text(keys, ROW, KEY_CHECK)?],
        )
        .await?;
        let stored = self
            .row(
                "SELECT value FROM settings WHERE name = 'data_key_check'",
                args![],
            )
            .await?
            .ok_or_else(|| StoreError::Task("the data key check vanished".into()))?
            .text(0)?;
        match decrypt_text(keys, ROW, &stored) {
            Ok(text) if text.as_str() == KEY_CHECK => Ok(()),
            _ => Err(StoreError::WrongKeys),
        }
    }

    /// Encrypts what a database made before key files kept in clear, once: a marker in
    /// `settings` says it was done, so later starts do not scan every application and chunk
    /// (what is stored since is encrypted as it is written).
    async fn encrypt_clear_rows(&self, keys: &dyn KeyRing) -> Result<u64, StoreError> {
        let done = self
            .row(
                "SELECT value FROM settings WHERE name = 'clear_rows_encrypted'",
                args![],
            )
            .await?;
        if done.is_some() {
            return Ok(0);
        }
        let moved =
            self.encrypt_clear_applications(keys).await? + self.encrypt_clear_chunks(keys).await?;
        self.exec(
            "INSERT INTO settings (name, value) VALUES ('clear_rows_encrypted', $1) ON CONFLICT (name) DO NOTHING",
            args![super::now_rfc3339()],
        )
        .await?;
        Ok(moved)
    }

    async fn encrypt_clear_applications(&self, keys: &dyn KeyRing) -> Result<u64, StoreError> {
        let mut done = 0;
        loop {
            let rows = self
                .rows(
                    "SELECT id, idempotency_key, body FROM applications
                     WHERE body NOT LIKE 'lyb-enc1:%' ORDER BY id LIMIT $1",
                    args![BATCH],
                )
                .await?;
            if rows.is_empty() {
                return Ok(done);
            }
            let mut statements = Vec::with_capacity(rows.len());
            for row in &rows {
                let body = Zeroizing::new(row.text(2)?);
                let sealed = encrypt_text(keys, &application_row(&row.text(1)?), &body)?;
                statements.push((
                    "UPDATE applications SET body = $2 WHERE id = $1",
                    args![row.int(0)?, sealed],
                ));
            }
            done += statements.len() as u64;
            self.exec_all(statements).await?;
        }
    }

    async fn encrypt_clear_chunks(&self, keys: &dyn KeyRing) -> Result<u64, StoreError> {
        let mut done = 0;
        loop {
            let rows = self
                .rows(
                    "SELECT upload_id, n, data FROM upload_chunks WHERE NOT encrypted
                     ORDER BY upload_id, n LIMIT $1",
                    args![BATCH / 4],
                )
                .await?;
            if rows.is_empty() {
                return Ok(done);
            }
            let mut statements = Vec::with_capacity(rows.len());
            for row in &rows {
                let (upload, n) = (row.text(0)?, row.int(1)?);
                let data = Zeroizing::new(row.bytes(2)?);
                let sealed = keys.encrypt(&chunk_row(&upload, n.max(0) as u64), &data)?;
                statements.push((
                    "UPDATE upload_chunks SET data = $3, encrypted = TRUE WHERE upload_id = $1 AND n = $2",
                    args![upload, n, sealed],
                ));
            }
            done += statements.len() as u64;
            self.exec_all(statements).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_columns_are_tagged_and_bound_to_their_row() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys.json");
        crate::keys::KeyFile::create(&path, None).expect("created");
        let keys = crate::keys::KeyFile::load(&path).expect("loads");
        let stored = encrypt_text(&keys, &application_row("K1"), "{\"name\":\"x\"}").expect("enc");
        assert!(stored.starts_with(TEXT_PREFIX));
        assert!(!stored.contains("name"));
        let opened = decrypt_text(&keys, &application_row("K1"), &stored).expect("opens");
        assert_eq!(opened.as_str(), "{\"name\":\"x\"}");
        assert!(decrypt_text(&keys, &application_row("K2"), &stored).is_err());
        assert!(decrypt_text(&keys, &application_row("K1"), "{\"name\":\"x\"}").is_err());
    }
}

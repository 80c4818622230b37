//! Certificates issued at terminals, kept so the public verification page can answer for
//! them, and the secret their verification codes are keyed with.

use super::sql::args;
use super::{Store, StoreError};

/// A certificate as recorded when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// Its kind (`application-record`).
    pub kind: String,
    /// What it certifies, as printed (the text its code was computed over).
    pub record: String,
    /// When it was issued (RFC 3339).
    pub issued_at: String,
}

impl Store {
    /// The secret verification codes are keyed with, as hex: 32 random bytes made once per
    /// database (by whichever instance asks first) and kept in `settings`, beside the
    /// applicant key secret. Nothing public goes into it.
    pub async fn certificate_secret(&self) -> Result<String, StoreError> {
        const READ: &str = "SELECT value FROM settings WHERE name = 'certificate_key'";
        if let Some(row) = self.row(READ, args![]).await? {
            return row.text(0);
        }
        self.exec(
            "INSERT INTO settings (name, value) VALUES ('certificate_key', $1) ON CONFLICT (name) DO NOTHING",
            args![super::random_hex(32)?],
        )
        .await?;
        self.row(READ, args![])
            .await?
            .ok_or_else(|| StoreError::Task("the certificate key vanished".into()))?
            .text(0)
    }

    /// Records a certificate issued by `terminal_id`. The code is a MAC of the record, so the
    /// same code again is the same certificate and is kept once.
    pub async fn record_certificate(
        &self,
        code: &str,
        kind: &str,
        record: &str,
        issued_at: &str,
        terminal_id: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO certificates (code, kind, record, issued_at, terminal_id)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING",
            args![code, kind, record, issued_at, terminal_id],
        )
        .await?;
        Ok(())
    }

    /// The certificate issued with `code` (canonical form), if one was.
    pub async fn issued_certificate(
        &self,
        code: &str,
    ) -> Result<Option<IssuedCertificate>, StoreError> {
        self.row(
            "SELECT kind, record, issued_at FROM certificates WHERE code = $1",
            args![code],
        )
        .await?
        .map(|row| {
            Ok(IssuedCertificate {
                kind: row.text(0)?,
                record: row.text(1)?,
                issued_at: row.text(2)?,
            })
        })
        .transpose()
    }
}

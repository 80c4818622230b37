//! Certificates issued at terminals, kept so the public verification page can answer for
//! them (the secret their codes are keyed with is in the key file, [`crate::keys`]).

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

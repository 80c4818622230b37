//! The terminal gateway's records: the published catalog, applications, ratings, enrollment
//! tokens and terminals' keys, replay nonces and configuration layers.
//!
//! Every query here is written once, against the common layer of [`super::sql`]; work of
//! several statements is a [`Transaction`] that SQLite runs inside its group commit and
//! PostgreSQL inside a transaction of its own. Where two platform instances could race, the
//! statements themselves decide: the UNIQUE idempotency key with `ON CONFLICT DO NOTHING`, the
//! conditional update that spends an enrollment token.

use kiosk_protocol::{
    ApplicationReceipt, ApplicationRequest, ApplicationStatus, Catalog, RatingRequest,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::at_rest::{application_row, decrypt_text, encrypt_text};
use super::records::holder_digest;
use super::sql::{Executor, Transaction, args};
use super::{StatusRow, Store, StoreError, now_beijing, now_rfc3339, rfc3339, unix_now};

/// A published catalog with its serialized body, ready to serve.
#[derive(Debug, Clone)]
pub struct PublishedCatalog {
    /// Catalog version (also the ETag).
    pub version: String,
    /// The catalog as JSON.
    pub body: String,
}

/// Where a published catalog version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogStanding {
    /// Terminals are served this version now.
    Current,
    /// Another version replaced it at `at`.
    Retired {
        /// When it stopped being current.
        at: OffsetDateTime,
    },
}

/// The terminal an enrollment produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolledTerminal {
    /// Its id.
    pub terminal_id: String,
    /// Its site, from the token.
    pub site: Option<String>,
}

/// A terminal's credential as the signature check reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalKey {
    /// Its Ed25519 public key, hex.
    pub public_key: String,
    /// Revoked by an operator: every signed request is refused until restored.
    pub revoked: bool,
}

/// Which configuration layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigScope {
    /// Every terminal.
    Global,
    /// The terminals of one site.
    Site(String),
    /// One terminal.
    Terminal(String),
}

impl ConfigScope {
    fn parts(&self) -> (&'static str, String) {
        match self {
            ConfigScope::Global => ("global", String::new()),
            ConfigScope::Site(site) => ("site", site.clone()),
            ConfigScope::Terminal(id) => ("terminal", id.clone()),
        }
    }
}

/// Records a nonce, unless this terminal's nonce is stored already.
pub(crate) const INSERT_NONCE: &str =
    "INSERT INTO request_nonces (terminal_id, nonce, seen_at) VALUES ($1, $2, $3)
     ON CONFLICT (terminal_id, nonce) DO NOTHING";

/// Forgets the nonces seen before `$1` (outside the signature window: a replay of them fails
/// its signature check anyway).
pub(crate) const FORGET_NONCES: &str = "DELETE FROM request_nonces WHERE seen_at < $1";

/// How long a nonce is remembered: the signature window both ways, plus a margin.
pub(crate) const NONCE_MEMORY_SECS: i64 = 2 * kiosk_protocol::auth::MAX_CLOCK_SKEW_SECS + 60;

impl Store {
    /// Publishes `catalog` as the current version (validated by the caller).
    pub async fn publish_catalog(&self, catalog: &Catalog) -> Result<(), StoreError> {
        self.transaction(Publication {
            version: catalog.version.clone(),
            body: serde_json::to_string(catalog)?,
            now: now_rfc3339(),
        })
        .await
    }

    /// The catalog currently published.
    pub async fn current_catalog(&self) -> Result<PublishedCatalog, StoreError> {
        let row = self
            .row(
                "SELECT version, body FROM catalog_versions WHERE current",
                args![],
            )
            .await?
            .ok_or(StoreError::NoCatalog)?;
        Ok(PublishedCatalog {
            version: row.text(0)?,
            body: row.text(1)?,
        })
    }

    /// Whether catalog `version` was ever published, and whether it is current (everywhere,
    /// or for a site an editor gave it to) or since when it is not (`None`: never published).
    pub async fn catalog_standing(
        &self,
        version: &str,
    ) -> Result<Option<CatalogStanding>, StoreError> {
        let Some(row) = self
            .row(
                "SELECT CASE WHEN current OR EXISTS (
                            SELECT 1 FROM site_catalogs s WHERE s.version = catalog_versions.version
                        ) THEN 1 ELSE 0 END,
                        COALESCE(retired_at, published_at)
                 FROM catalog_versions WHERE version = $1",
                args![version],
            )
            .await?
        else {
            return Ok(None);
        };
        if row.int(0)? == 1 {
            return Ok(Some(CatalogStanding::Current));
        }
        let retired = row.text(1)?;
        let at = OffsetDateTime::parse(&retired, &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                StoreError::Task(format!("catalog {version} has a bad retirement time"))
            })?;
        Ok(Some(CatalogStanding::Retired { at }))
    }

    /// Stores an application once per idempotency key and returns its receipt.
    ///
    /// The same key with the same request answers the first receipt again (`replayed = true`);
    /// the same key with a different request is refused with [`StoreError::KeyReused`].
    pub async fn submit_application(
        &self,
        idempotency_key: &str,
        request: &ApplicationRequest,
        intake: &super::Intake,
        progress_base: &str,
    ) -> Result<ApplicationReceipt, StoreError> {
        let handle = self.key_handle()?;
        let keys = handle.as_ref();
        let body = zeroize::Zeroizing::new(serde_json::to_string(request)?);
        let new = NewApplication {
            applicant_key: keys.applicant_index(&request.applicant.id_number),
            holder_key: holder_digest(
                &keys.applicant_index(&request.applicant.id_number),
                &request.applicant.name,
            ),
            idempotency_key: idempotency_key.to_owned(),
            terminal_id: request.terminal_id.clone(),
            matter_id: request.matter_id.clone(),
            body: encrypt_text(keys, &application_row(idempotency_key), &body)?,
            accepted_at: now_beijing(),
            intake: intake.clone(),
            keys: handle.clone(),
        };
        let stored = self.transaction(new).await?;
        self.receipt_for(stored, idempotency_key, request, progress_base)
    }

    /// The receipt of `request` if it was accepted already under `idempotency_key`: a retry
    /// from a terminal's outbox gets its receipt even when the request would not be accepted
    /// now (its catalog version has since expired), so nothing accepted is lost.
    pub async fn stored_receipt(
        &self,
        idempotency_key: &str,
        request: &ApplicationRequest,
        progress_base: &str,
    ) -> Result<Option<ApplicationReceipt>, StoreError> {
        let Some(first) = self
            .row(
                "SELECT application_no, matter_id, body, accepted_at FROM applications
                 WHERE idempotency_key = $1 AND application_no IS NOT NULL",
                args![idempotency_key],
            )
            .await?
        else {
            return Ok(None);
        };
        let stored = StoredApplication {
            application_no: first.text(0)?,
            matter_id: first.text(1)?,
            body: first.text(2)?,
            accepted_at: first.text(3)?,
            replayed: true,
        };
        self.receipt_for(stored, idempotency_key, request, progress_base)
            .map(Some)
    }

    /// The receipt of a stored row; a replayed row must hold the same request.
    fn receipt_for(
        &self,
        stored: StoredApplication,
        idempotency_key: &str,
        request: &ApplicationRequest,
        progress_base: &str,
    ) -> Result<ApplicationReceipt, StoreError> {
        // A purged application's request is gone: a replay is known by its matter alone.
        if stored.replayed && super::retention::is_remainder(&stored.body) {
            if stored.matter_id != request.matter_id {
                return Err(StoreError::KeyReused);
            }
        } else if stored.replayed {
            let keys = self.keys()?;
            let opened = decrypt_text(keys, &application_row(idempotency_key), &stored.body)?;
            let first: ApplicationRequest = serde_json::from_str(&opened)?;
            if &first != request {
                return Err(StoreError::KeyReused);
            }
        }
        let progress_code = self.progress_code(&stored.application_no)?;
        Ok(ApplicationReceipt {
            progress_url: progress_url(progress_base, &stored.application_no, &progress_code),
            progress_code,
            application_no: stored.application_no,
            matter_id: stored.matter_id,
            accepted_at: stored.accepted_at,
            replayed: stored.replayed,
        })
    }

    /// Records a 好差评 rating of the acceptance: one per application, for an application taken
    /// at the rating terminal (the citizen rates the service right after the receipt).
    pub(crate) async fn rate_acceptance(&self, rating: &RatingRequest) -> Result<(), StoreError> {
        let reason = rating
            .reason
            .map(serde_json::to_value)
            .transpose()?
            .and_then(|v| v.as_str().map(str::to_owned));
        self.transaction(NewRating {
            application_no: rating.application_no.clone(),
            matter_id: rating.matter_id.clone(),
            terminal_id: rating.terminal_id.clone(),
            level: i64::from(rating.level),
            reason,
            rated_at: now_rfc3339(),
        })
        .await
    }

    /// Number of ratings stored.
    pub async fn rating_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT COUNT(*) FROM ratings").await
    }

    /// Number of applications stored.
    pub async fn application_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT COUNT(*) FROM applications").await
    }

    async fn count(&self, sql: &'static str) -> Result<u64, StoreError> {
        let n = self
            .row(sql, args![])
            .await?
            .map(|r| r.int(0))
            .transpose()?;
        let n = n.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The key under which an applicant's applications are found again: a keyed hash of the
    /// ID number under the key file's applicant key ([`crate::keys::KeyRing::applicant_index`]),
    /// so the number itself is not an index anyone can read.
    pub fn applicant_key(&self, id_number: &str) -> Result<String, StoreError> {
        Ok(self.keys()?.applicant_index(id_number))
    }

    /// Stores a new one-time enrollment token (only its hash is kept).
    pub async fn create_enrollment_token(
        &self,
        token: &str,
        site: Option<&str>,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO enrollment_tokens (token_hash, site, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            args![token_hash(token), site, now_rfc3339(), expires_at],
        )
        .await?;
        Ok(())
    }

    /// Spends an enrollment token on a terminal: a new terminal, or (same hardware serial) the
    /// same terminal with its new key. The token cannot be used again.
    pub async fn enroll(
        &self,
        token: &str,
        hardware_serial: &str,
        public_key: &str,
        new_terminal_id: &str,
    ) -> Result<EnrolledTerminal, StoreError> {
        self.transaction(Enrollment {
            token_hash: token_hash(token),
            hardware_serial: hardware_serial.to_owned(),
            public_key: public_key.to_owned(),
            new_terminal_id: new_terminal_id.to_owned(),
            now: unix_now(),
            now_text: now_rfc3339(),
        })
        .await
    }

    /// What the signature check needs of a terminal, if the terminal exists: its enrolled
    /// public key (hex) and whether it is revoked.
    pub async fn terminal_key(&self, terminal_id: &str) -> Result<Option<TerminalKey>, StoreError> {
        let row = self
            .row(
                "SELECT public_key, revoked_at FROM terminals WHERE id = $1",
                args![terminal_id],
            )
            .await?;
        row.map(|row| {
            Ok(TerminalKey {
                public_key: row.text(0)?,
                revoked: row.opt_text(1)?.is_some(),
            })
        })
        .transpose()
    }

    /// Stores a one-time token that re-keys terminal `terminal_id` (and nothing else); its
    /// site is the terminal's. `UnknownTerminal` when there is no such terminal.
    pub async fn create_rekey_token(
        &self,
        token: &str,
        terminal_id: &str,
        expires_at: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = self
            .row(
                "INSERT INTO enrollment_tokens (token_hash, site, created_at, expires_at, for_terminal)
                 SELECT $1, site, $3, $4, id FROM terminals WHERE id = $2 RETURNING site",
                args![token_hash(token), terminal_id, now_rfc3339(), expires_at],
            )
            .await?
            .ok_or(StoreError::UnknownTerminal)?;
        row.opt_text(0)
    }

    /// Revokes a terminal (`Some(reason)`) or restores it (`None`) in `operator`'s name,
    /// written to its events and the audit log: a revoked terminal's signed requests are
    /// refused while its key and rows stay, so restoring needs no re-enrollment.
    /// `UnknownTerminal` when there is no such terminal.
    pub async fn set_revoked(
        &self,
        terminal_id: &str,
        reason: Option<&str>,
        operator: &str,
    ) -> Result<(), StoreError> {
        let changed = self
            .exec(
                "UPDATE terminals SET revoked_at = $2, revoked_reason = $3 WHERE id = $1",
                args![
                    terminal_id,
                    reason.map(|_| now_rfc3339()),
                    reason.map(str::to_owned)
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::UnknownTerminal);
        }
        let (action, detail) = match reason {
            Some(reason) => ("terminal_revoke", format!("{terminal_id}: {reason}")),
            None => ("terminal_restore", terminal_id.to_owned()),
        };
        self.add_event(terminal_id, action, &detail, unix_now())
            .await?;
        self.audit(operator, action, &detail).await
    }

    /// One application as its terminal sees it; `None` when it does not exist or another
    /// terminal took it.
    pub async fn terminal_application(
        &self,
        terminal_id: &str,
        application_no: &str,
    ) -> Result<Option<ApplicationStatus>, StoreError> {
        const SQL: &str =
            super::status_select!("WHERE a.application_no = $1 AND a.terminal_id = $2");
        let row = self.row(SQL, args![application_no, terminal_id]).await?;
        let Some(mut status) = row
            .map(|row| StatusRow::read(&row)?.into_status())
            .transpose()?
        else {
            return Ok(None);
        };
        // The terminal's own query sees the steps, never the clerk's words.
        status.history = self
            .life_of(application_no)
            .await?
            .iter()
            .map(super::LifeEvent::for_public)
            .collect();
        Ok(Some(status))
    }

    /// The configuration a terminal runs with: the global layer, overlaid by its site's, then
    /// by its own (objects merge key by key; anything else replaces).
    pub async fn merged_config(&self, terminal_id: &str) -> Result<Value, StoreError> {
        let layers = self
            .rows(
                "SELECT c.body FROM config_layers c
                 WHERE (c.scope = 'global')
                    OR (c.scope = 'site' AND c.scope_key = (SELECT site FROM terminals WHERE id = $1))
                    OR (c.scope = 'terminal' AND c.scope_key = $1)
                 ORDER BY CASE c.scope WHEN 'global' THEN 0 WHEN 'site' THEN 1 ELSE 2 END",
                args![terminal_id],
            )
            .await?;
        let mut merged = Value::Object(Default::default());
        for layer in &layers {
            merge_into(&mut merged, serde_json::from_str(&layer.text(0)?)?);
        }
        Ok(merged)
    }

    /// Replaces one configuration layer.
    pub async fn set_config(&self, scope: &ConfigScope, body: &Value) -> Result<(), StoreError> {
        let (scope, key) = scope.parts();
        self.exec(
            "INSERT INTO config_layers (scope, scope_key, body, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (scope, scope_key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            args![scope, key, serde_json::to_string(body)?, now_rfc3339()],
        )
        .await?;
        Ok(())
    }
}

/// A catalog about to become the current one.
struct Publication {
    version: String,
    body: String,
    now: String,
}

impl Transaction for Publication {
    type Output = ();

    async fn run(self, on: &mut impl Executor) -> Result<(), StoreError> {
        // Publishing is rare: keeping other publishers out keeps two from both ending current.
        on.lock_table("catalog_versions").await?;
        // The version that stops being current records when, so answers made against it are
        // still accepted from terminals' outboxes for the grace period after.
        on.exec(
            "UPDATE catalog_versions SET current = FALSE, retired_at = $1 WHERE current",
            args![&self.now],
        )
        .await?;
        on.exec(
            "INSERT INTO catalog_versions (version, body, published_at, current) VALUES ($1, $2, $3, TRUE)
             ON CONFLICT (version) DO UPDATE SET body = excluded.body, published_at = excluded.published_at, current = TRUE, retired_at = NULL",
            args![self.version, self.body, self.now],
        )
        .await?;
        Ok(())
    }
}

/// An application about to be stored.
struct NewApplication {
    /// See [`Store::applicant_key`].
    applicant_key: String,
    /// See [`Store::holder_key`].
    holder_key: String,
    idempotency_key: String,
    terminal_id: String,
    matter_id: String,
    /// The request as JSON, encrypted under the data key (see [`super::at_rest`]).
    body: String,
    accepted_at: OffsetDateTime,
    /// Department, due day and commitments.
    intake: super::Intake,
    keys: crate::keys::Keys,
}

impl Transaction for NewApplication {
    type Output = StoredApplication;

    async fn run(self, on: &mut impl Executor) -> Result<StoredApplication, StoreError> {
        let accepted_at = rfc3339(self.accepted_at);
        // A concurrent insert of the same key (from this or another instance) waits on the
        // unique index until the first commits, then does nothing: one row per key.
        let inserted = on
            .row(
                "INSERT INTO applications (idempotency_key, terminal_id, matter_id, body, accepted_at, applicant_key, holder_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                args![
                    &self.idempotency_key,
                    &self.terminal_id,
                    &self.matter_id,
                    &self.body,
                    &accepted_at,
                    self.applicant_key,
                    self.holder_key
                ],
            )
            .await?;
        let Some(inserted) = inserted else {
            let first = on
                .row(
                    "SELECT application_no, matter_id, body, accepted_at FROM applications WHERE idempotency_key = $1",
                    args![self.idempotency_key],
                )
                .await?
                .ok_or_else(|| StoreError::Task("the application under this key vanished".into()))?;
            return Ok(StoredApplication {
                application_no: first.text(0)?,
                matter_id: first.text(1)?,
                body: first.text(2)?,
                accepted_at: first.text(3)?,
                replayed: true,
            });
        };
        let id = inserted.int(0)?;
        let application_no = application_no(self.accepted_at, id);
        on.exec(
            "UPDATE applications SET application_no = $1 WHERE id = $2",
            args![&application_no, id],
        )
        .await?;
        super::lifecycle::write_intake(
            on,
            self.keys.as_ref(),
            &application_no,
            &accepted_at,
            &self.intake,
        )
        .await?;
        // The department's system gets it through its connector, if it has one: queued in
        // this transaction, so an accepted application is never left undelivered.
        super::connectors::queue_delivery(on, &application_no, &self.intake.department).await?;
        Ok(StoredApplication {
            application_no,
            matter_id: self.matter_id,
            body: self.body,
            accepted_at,
            replayed: false,
        })
    }
}

/// The row an idempotent insert ends on: the new one, or the one stored first under the key.
struct StoredApplication {
    application_no: String,
    matter_id: String,
    body: String,
    accepted_at: String,
    /// True when the key was already taken and this is the first row.
    replayed: bool,
}

/// A rating about to be stored.
struct NewRating {
    application_no: String,
    matter_id: String,
    terminal_id: String,
    level: i64,
    reason: Option<String>,
    rated_at: String,
}

impl Transaction for NewRating {
    type Output = ();

    async fn run(self, on: &mut impl Executor) -> Result<(), StoreError> {
        let known = on
            .row(
                "SELECT matter_id FROM applications WHERE application_no = $1 AND terminal_id = $2",
                args![&self.application_no, &self.terminal_id],
            )
            .await?
            .map(|row| row.text(0))
            .transpose()?;
        if known.as_deref() != Some(self.matter_id.as_str()) {
            return Err(StoreError::UnknownApplication);
        }
        let inserted = on
            .exec(
                "INSERT INTO ratings (application_no, stage, matter_id, terminal_id, level, reason, rated_at)
                 VALUES ($1, 'acceptance', $2, $3, $4, $5, $6) ON CONFLICT (application_no, stage) DO NOTHING",
                args![
                    self.application_no,
                    self.matter_id,
                    self.terminal_id,
                    self.level,
                    self.reason,
                    self.rated_at
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::AlreadyRated);
        }
        Ok(())
    }
}

/// A terminal enrollment about to be stored.
struct Enrollment {
    /// See [`token_hash`].
    token_hash: String,
    /// The device's serial: new to the platform, or the serial of the terminal the token
    /// was made to re-key.
    hardware_serial: String,
    /// The terminal's Ed25519 public key, hex.
    public_key: String,
    /// The id a terminal new to this database gets.
    new_terminal_id: String,
    /// Now, as Unix seconds (what the token's expiry is compared with) and as text.
    now: i64,
    now_text: String,
}

impl Transaction for Enrollment {
    type Output = EnrolledTerminal;

    async fn run(self, on: &mut impl Executor) -> Result<EnrolledTerminal, StoreError> {
        // Spending the token is one conditional update: a used or expired token changes
        // nothing, and of two instances racing on one token the second finds it used. A
        // refusal below returns an error, which rolls the whole transaction back: only a
        // successful enrollment consumes the token.
        let Some(spent) = on
            .row(
                "UPDATE enrollment_tokens SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $3
                 RETURNING site, for_terminal",
                args![&self.token_hash, &self.now_text, self.now],
            )
            .await?
        else {
            return Err(StoreError::InvalidToken);
        };
        let for_terminal = spent.opt_text(1)?;
        let existing = on
            .row(
                "SELECT id, site FROM terminals WHERE hardware_serial = $1",
                args![&self.hardware_serial],
            )
            .await?;
        let enrolled = match (existing, for_terminal) {
            // A known serial is re-keyed only by a token made for its terminal, and keeps its
            // site: whoever holds some other token cannot take the terminal over.
            (Some(row), Some(named)) if row.text(0)? == named => {
                on.exec(
                    "UPDATE terminals SET public_key = $2, enrolled_at = $3 WHERE id = $1",
                    args![&named, &self.public_key, &self.now_text],
                )
                .await?;
                EnrolledTerminal {
                    terminal_id: named,
                    site: row.opt_text(1)?,
                }
            }
            (Some(row), _) => {
                return Err(StoreError::TerminalExists {
                    terminal_id: row.text(0)?,
                    token_id: token_id(&self.token_hash),
                });
            }
            (None, Some(named)) => return Err(StoreError::TokenForAnotherTerminal(named)),
            (None, None) => self.insert_new(on, spent.opt_text(0)?).await?,
        };
        on.exec(
            "UPDATE enrollment_tokens SET terminal_id = $2 WHERE token_hash = $1",
            args![self.token_hash, &enrolled.terminal_id],
        )
        .await?;
        Ok(enrolled)
    }
}

impl Enrollment {
    /// A terminal new to the platform, at the token's site. Another instance enrolling the
    /// same serial at the same moment wins the UNIQUE serial; this one is then refused as a
    /// second enrollment of an existing terminal.
    async fn insert_new(
        &self,
        on: &mut impl Executor,
        site: Option<String>,
    ) -> Result<EnrolledTerminal, StoreError> {
        let inserted = on
            .row(
                "INSERT INTO terminals (id, hardware_serial, public_key, site, enrolled_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (hardware_serial) DO NOTHING RETURNING id",
                args![
                    &self.new_terminal_id,
                    &self.hardware_serial,
                    &self.public_key,
                    site.clone(),
                    &self.now_text
                ],
            )
            .await?;
        match inserted {
            Some(row) => Ok(EnrolledTerminal {
                terminal_id: row.text(0)?,
                site,
            }),
            None => {
                let winner = on
                    .row(
                        "SELECT id FROM terminals WHERE hardware_serial = $1",
                        args![&self.hardware_serial],
                    )
                    .await?
                    .ok_or_else(|| StoreError::Task("a conflicting serial vanished".into()))?;
                Err(StoreError::TerminalExists {
                    terminal_id: winner.text(0)?,
                    token_id: token_id(&self.token_hash),
                })
            }
        }
    }
}

/// The application number citizens quote: `LY` + acceptance date + six digits of the row id.
fn application_no(accepted: OffsetDateTime, id: i64) -> String {
    format!(
        "LY{:04}{:02}{:02}{:06}",
        accepted.year(),
        u8::from(accepted.month()),
        accepted.day(),
        id.rem_euclid(1_000_000)
    )
}

/// The public progress page of an application, its code in the query (the QR code printed on
/// the receipt opens it without typing).
fn progress_url(base: &str, application_no: &str, code: &str) -> String {
    format!(
        "{}/progress/{application_no}?c={code}",
        base.trim_end_matches('/')
    )
}

/// SHA-256 of an enrollment token, hex: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    kiosk_protocol::auth::hex_encode(&Sha256::digest(token.as_bytes()))
}

/// How a token is named in the console, the audit log and alarms: the first 12 hex digits of
/// its hash, which tell tokens apart and reveal nothing that would enroll a terminal.
pub fn token_id(token_hash: &str) -> String {
    token_hash.get(..12).unwrap_or(token_hash).to_owned()
}

/// Overlays `layer` on `base`: objects merge key by key, anything else replaces.
fn merge_into(base: &mut Value, layer: Value) {
    match (base, layer) {
        (Value::Object(base), Value::Object(layer)) => {
            for (key, value) in layer {
                match base.get_mut(&key) {
                    Some(existing) => merge_into(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, layer) => *base = layer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_layers_merge_key_by_key() {
        let mut base =
            json!({"idle_secs": 60, "printer": {"width": 384, "cut": true}, "langs": ["zh", "en"]});
        merge_into(
            &mut base,
            json!({"printer": {"width": 576}, "langs": ["zh"]}),
        );
        assert_eq!(
            base,
            json!({"idle_secs": 60, "printer": {"width": 576, "cut": true}, "langs": ["zh"]})
        );
    }
}

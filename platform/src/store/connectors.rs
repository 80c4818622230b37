//! Departments' connectors as stored: the connector an admin makes per department (its URL,
//! its outbound signing secret encrypted at rest, the hash of its inbound API key), the
//! deliveries queued with each new application and claimed by the courier
//! ([`crate::connector`]), the dead letters an operator replays, and the inbound reports
//! already applied.
//!
//! Secrets are made here and shown once: the signing secret is kept encrypted under the data
//! key (the courier needs it back to sign), the inbound key only as its SHA-256 (the platform
//! never needs it back, only to recognise it).
//!
//! A delivery's `next_at` is Unix milliseconds: when it is due, or, while a courier holds it,
//! when the courier's lease ends (a claim moves it to the lease's end, so another instance
//! takes it up only if this one died; the value doubles as the claim's token).

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::at_rest::{decrypt_text, encrypt_text};
use super::lifecycle::Advance;
use super::sql::{Executor, Transaction, args};
use super::{Store, StoreError, now_rfc3339, random_hex};
use crate::lifecycle::{Actor, Change};

/// Longest connector URL kept.
const MAX_URL_LEN: usize = 2_000;

/// A department's connector as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    /// The department.
    pub department: String,
    /// Where its applications are delivered.
    pub url: String,
    /// False while disabled: nothing is queued or sent, and its key is refused.
    pub enabled: bool,
    /// When it was made, RFC 3339.
    pub created_at: String,
    /// Deliveries waiting (first send or a retry).
    pub pending: i64,
    /// Deliveries given up on (dead letters).
    pub dead: i64,
    /// Deliveries the department's system took.
    pub delivered: i64,
}

/// The secrets of a new or rotated connector, shown once to whoever made them.
pub struct ConnectorSecrets {
    /// The HMAC-SHA256 key outbound deliveries are signed with (hex).
    pub signing_secret: Zeroizing<String>,
    /// The key the department's system presents to the inbound API.
    pub inbound_key: Zeroizing<String>,
}

impl fmt::Debug for ConnectorSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnectorSecrets { .. }")
    }
}

/// A delivery as listed (the console's dead letters, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id: the `X-LYB-Delivery-Id` the receiver deduplicates by.
    pub id: String,
    /// The department.
    pub department: String,
    /// The application delivered.
    pub application_no: String,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    /// Sends started.
    pub attempts: i64,
    /// Why the last send failed.
    pub last_error: Option<String>,
    /// When it was queued, RFC 3339.
    pub created_at: String,
    /// When the department took it, RFC 3339.
    pub delivered_at: Option<String>,
}

/// A delivery a courier has claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// Its id.
    pub id: String,
    /// The application.
    pub application_no: String,
    /// Sends started, this one included.
    pub attempts: i64,
    /// When the claim ends (Unix ms), the token the outcome is written with.
    pub lease: i64,
    /// When it was queued (Unix ms).
    pub queued_at: i64,
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The department's system answered 2xx.
    Delivered,
    /// Try again at this time (Unix ms).
    Retry {
        /// When.
        at: i64,
        /// Why this send failed.
        error: String,
    },
    /// Not sent, and not counted: the application's materials are still arriving.
    Postpone {
        /// When to look again (Unix ms).
        at: i64,
    },
    /// Given up: a dead letter.
    Dead {
        /// Why.
        error: String,
    },
}

/// An inbound report to apply.
#[derive(Clone, PartialEq, Eq)]
pub struct DepartmentReport {
    /// The department's own id of the report: replays under it are answered, not applied.
    pub report_id: String,
    /// The application.
    pub application_no: String,
    /// What it changes.
    pub change: Change,
    /// SHA-256 of the report as sent, so a report id reused for another report is refused.
    pub fingerprint: String,
}

impl fmt::Debug for DepartmentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The change's reason or note is an official's free text and may name the applicant.
        f.debug_struct("DepartmentReport")
            .field("report_id", &self.report_id)
            .field("application_no", &self.application_no)
            .field("action", &self.change.action())
            .finish()
    }
}

/// What an inbound report did, as answered the first time and to every replay.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportAnswer {
    /// The report.
    pub report_id: String,
    /// The application.
    pub application_no: String,
    /// The state before (`accepted`, `in_review`, ...).
    pub from: String,
    /// The state now.
    pub to: String,
    /// When it was applied, RFC 3339.
    pub at: String,
    /// The report as sent, hashed.
    pub fingerprint: String,
}

/// Why a connector's URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    /// Not a URL at all.
    #[error("not a URL")]
    Malformed,
    /// Longer than [`MAX_URL_LEN`].
    #[error("longer than 2000 characters")]
    TooLong,
    /// Plain HTTP to another host than this machine.
    #[error("must be https:// (http:// only to 127.0.0.1 or localhost)")]
    NotHttps,
    /// A user name or password in the URL (it would be shown on every console page).
    #[error("must not carry a user name or password")]
    Credentials,
}

/// Checks a connector URL.
///
/// Applications carry personal data, so they travel only over HTTPS; plain HTTP is allowed to
/// this machine alone (127.0.0.1, ::1, localhost: a department's adapter on the same host, and
/// tests), where nothing crosses a network. The URL is set by admins only (console and command
/// line), never by a department or a terminal, so it is not a way to make the platform call
/// an address of someone else's choosing.
pub fn check_connector_url(url: &str) -> Result<reqwest::Url, UrlRefused> {
    if url.len() > MAX_URL_LEN {
        return Err(UrlRefused::TooLong);
    }
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| UrlRefused::Malformed)?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlRefused::Credentials);
    }
    let host = parsed.host_str().ok_or(UrlRefused::Malformed)?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if matches!(host, "127.0.0.1" | "[::1]" | "localhost") => Ok(parsed),
        _ => Err(UrlRefused::NotHttps),
    }
}

/// Checks a department id as connectors and the inbound API's path use it.
pub fn check_department(department: &str) -> bool {
    (1..=64).contains(&department.len())
        && department
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The SHA-256 (hex) an inbound key is kept and looked up as.
pub fn inbound_key_hash(key: &str) -> String {
    kiosk_protocol::auth::hex_encode(&Sha256::digest(key.as_bytes()))
}

/// The associated data of a connector's encrypted secret.
fn secret_row(department: &str) -> String {
    format!("connectors.secret\n{department}")
}

/// Now as Unix milliseconds.
pub fn unix_millis() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Fresh secrets: 32 random bytes each.
fn fresh_secrets() -> Result<ConnectorSecrets, StoreError> {
    Ok(ConnectorSecrets {
        signing_secret: Zeroizing::new(random_hex(32)?),
        inbound_key: Zeroizing::new(format!("lybk_{}", random_hex(32)?)),
    })
}

/// Queues the delivery of a new application to its department's system, in the application's
/// transaction, when the department has a connector. A disabled one's deliveries are queued
/// too and wait: disabling pauses a department's deliveries, it loses none.
pub(crate) async fn queue_delivery(
    on: &mut impl Executor,
    application_no: &str,
    department: &str,
) -> Result<(), StoreError> {
    on.exec(
        "INSERT INTO deliveries (id, department, application_no, state, attempts, next_at, created_at)
         SELECT $1, department, $2, 'pending', 0, $3, $4 FROM connectors
          WHERE department = $5
         ON CONFLICT (department, application_no) DO NOTHING",
        args![
            random_hex(16)?,
            application_no,
            unix_millis(),
            now_rfc3339(),
            department
        ],
    )
    .await?;
    Ok(())
}

impl Store {
    /// Makes the connector of `department` delivering to `url`; its secrets, shown once.
    /// Audited as `operator`.
    pub async fn add_connector(
        &self,
        operator: &str,
        department: &str,
        url: &str,
    ) -> Result<ConnectorSecrets, StoreError> {
        let url = check_connector_url(url).map_err(StoreError::ConnectorUrl)?;
        if !check_department(department) {
            return Err(StoreError::InvalidDepartment);
        }
        let secrets = fresh_secrets()?;
        let secret = encrypt_text(
            self.keys()?,
            &secret_row(department),
            &secrets.signing_secret,
        )?;
        let added = self
            .exec(
                "INSERT INTO connectors (department, url, secret, inbound_key_hash, enabled, created_at)
                 VALUES ($1, $2, $3, $4, TRUE, $5) ON CONFLICT (department) DO NOTHING",
                args![
                    department,
                    url.as_str(),
                    secret,
                    inbound_key_hash(&secrets.inbound_key),
                    now_rfc3339()
                ],
            )
            .await?;
        if added == 0 {
            return Err(StoreError::ConnectorExists);
        }
        self.audit(
            operator,
            "connector_add",
            &format!("{department} → {}", url.as_str()),
        )
        .await?;
        Ok(secrets)
    }

    /// Enables or disables a department's connector, audited.
    pub async fn set_connector_enabled(
        &self,
        operator: &str,
        department: &str,
        enabled: bool,
    ) -> Result<(), StoreError> {
        let changed = if enabled {
            self.exec(
                "UPDATE connectors SET enabled = TRUE WHERE department = $1",
                args![department],
            )
            .await?
        } else {
            self.exec(
                "UPDATE connectors SET enabled = FALSE WHERE department = $1",
                args![department],
            )
            .await?
        };
        if changed == 0 {
            return Err(StoreError::UnknownConnector);
        }
        let action = if enabled {
            "connector_enable"
        } else {
            "connector_disable"
        };
        self.audit(operator, action, department).await
    }

    /// Points a department's connector at another URL (checked like a new one), audited.
    pub async fn set_connector_url(
        &self,
        operator: &str,
        department: &str,
        url: &str,
    ) -> Result<(), StoreError> {
        let url = check_connector_url(url).map_err(StoreError::ConnectorUrl)?;
        let changed = self
            .exec(
                "UPDATE connectors SET url = $2 WHERE department = $1",
                args![department, url.as_str()],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::UnknownConnector);
        }
        self.audit(
            operator,
            "connector_url",
            &format!("{department} → {}", url.as_str()),
        )
        .await
    }

    /// Gives a department's connector new secrets (both: a leaked one is rarely known to be
    /// alone); the old ones stop working at once. Audited.
    pub async fn rotate_connector(
        &self,
        operator: &str,
        department: &str,
    ) -> Result<ConnectorSecrets, StoreError> {
        let secrets = fresh_secrets()?;
        let secret = encrypt_text(
            self.keys()?,
            &secret_row(department),
            &secrets.signing_secret,
        )?;
        let changed = self
            .exec(
                "UPDATE connectors SET secret = $2, inbound_key_hash = $3 WHERE department = $1",
                args![department, secret, inbound_key_hash(&secrets.inbound_key)],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::UnknownConnector);
        }
        self.audit(operator, "connector_rotate", department).await?;
        Ok(secrets)
    }

    /// Every connector with its deliveries counted by state.
    pub async fn connectors(&self) -> Result<Vec<Connector>, StoreError> {
        let rows = self
            .rows(
                "SELECT c.department, c.url, CASE WHEN c.enabled THEN 1 ELSE 0 END, c.created_at,
                        (SELECT COUNT(*) FROM deliveries d WHERE d.department = c.department AND d.state = 'pending'),
                        (SELECT COUNT(*) FROM deliveries d WHERE d.department = c.department AND d.state = 'dead'),
                        (SELECT COUNT(*) FROM deliveries d WHERE d.department = c.department AND d.state = 'delivered')
                   FROM connectors c ORDER BY c.department",
                args![],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Connector {
                    department: r.text(0)?,
                    url: r.text(1)?,
                    enabled: r.int(2)? != 0,
                    created_at: r.text(3)?,
                    pending: r.int(4)?,
                    dead: r.int(5)?,
                    delivered: r.int(6)?,
                })
            })
            .collect()
    }

    /// The URL and signing secret of an enabled connector (the courier's), `None` when the
    /// department has none or it is disabled.
    pub async fn connector_endpoint(
        &self,
        department: &str,
    ) -> Result<Option<(String, Zeroizing<String>)>, StoreError> {
        let Some(row) = self
            .row(
                "SELECT url, secret FROM connectors WHERE department = $1 AND enabled",
                args![department],
            )
            .await?
        else {
            return Ok(None);
        };
        let secret = decrypt_text(self.keys()?, &secret_row(department), &row.text(1)?)?;
        Ok(Some((row.text(0)?, secret)))
    }

    /// Whose inbound key hashes to `key_hash`: `(department, enabled)`.
    pub async fn inbound_key_owner(
        &self,
        key_hash: &str,
    ) -> Result<Option<(String, bool)>, StoreError> {
        self.text_and_enabled(
            "SELECT department, CASE WHEN enabled THEN 1 ELSE 0 END FROM connectors
              WHERE inbound_key_hash = $1",
            key_hash,
        )
        .await
    }

    /// The inbound key hash of a department's connector and whether it is enabled.
    pub async fn inbound_key_of(
        &self,
        department: &str,
    ) -> Result<Option<(String, bool)>, StoreError> {
        self.text_and_enabled(
            "SELECT inbound_key_hash, CASE WHEN enabled THEN 1 ELSE 0 END FROM connectors
              WHERE department = $1",
            department,
        )
        .await
    }

    /// The one row of `sql` (a text and an enabled flag), looked up by `key`.
    async fn text_and_enabled(
        &self,
        sql: &'static str,
        key: &str,
    ) -> Result<Option<(String, bool)>, StoreError> {
        match self.row(sql, args![key]).await? {
            Some(row) => Ok(Some((row.text(0)?, row.int(1)? != 0))),
            None => Ok(None),
        }
    }

    /// A department's deliveries in `state` (any state: `None`), newest first, at most `limit`.
    pub async fn deliveries(
        &self,
        department: &str,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = self
            .rows(
                "SELECT id, department, application_no, state, attempts, last_error, created_at, delivered_at
                   FROM deliveries WHERE department = $1 AND (CAST($2 AS TEXT) IS NULL OR state = $2)
                  ORDER BY created_at DESC, id LIMIT $3",
                args![department, state, limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    id: r.text(0)?,
                    department: r.text(1)?,
                    application_no: r.text(2)?,
                    state: r.text(3)?,
                    attempts: r.int(4)?,
                    last_error: r.opt_text(5)?,
                    created_at: r.text(6)?,
                    delivered_at: r.opt_text(7)?,
                })
            })
            .collect()
    }

    /// Puts dead letters back in the queue, attempts reset, due now: one (`id`) or all of
    /// `department`'s. The number put back; audited.
    pub async fn replay_dead(
        &self,
        operator: &str,
        department: &str,
        id: Option<&str>,
    ) -> Result<u64, StoreError> {
        let replayed = self
            .exec(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = $1, last_error = NULL
                  WHERE department = $2 AND state = 'dead' AND (CAST($3 AS TEXT) IS NULL OR id = $3)",
                args![unix_millis(), department, id],
            )
            .await?;
        let what = match id {
            Some(id) => format!("{department}: delivery {id}"),
            None => format!("{department}: {replayed} dead letters"),
        };
        self.audit(operator, "delivery_replay", &what).await?;
        Ok(replayed)
    }

    /// Departments with a delivery due at `now` (Unix ms) and an enabled connector.
    pub async fn departments_due(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let rows = self
            .rows(
                "SELECT c.department FROM connectors c WHERE c.enabled AND EXISTS
                   (SELECT 1 FROM deliveries d WHERE d.department = c.department
                       AND d.state = 'pending' AND d.next_at <= $1)",
                args![now],
            )
            .await?;
        rows.iter().map(|r| r.text(0)).collect()
    }

    /// Claims up to `limit` of `department`'s deliveries due at `now` (a first send only
    /// `settle` ms after it was queued, so the application's materials have arrived), each
    /// until `lease` (Unix ms). A row is taken by compare-and-set on its `next_at`, so two
    /// couriers (two platform instances) never hold the same delivery at once.
    pub async fn claim_deliveries(
        &self,
        department: &str,
        now: i64,
        settle: i64,
        lease: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.transaction(Claim {
            department: department.to_owned(),
            now,
            settle,
            lease,
            limit,
        })
        .await
    }

    /// Writes how a claimed send ended; false when the claim had lapsed and another courier
    /// holds the delivery (nothing is written then).
    pub async fn finish_delivery(
        &self,
        claimed: &ClaimedDelivery,
        outcome: &SendOutcome,
    ) -> Result<bool, StoreError> {
        let (id, lease) = (claimed.id.as_str(), claimed.lease);
        let changed = match outcome {
            // Delivered wins over a lapsed claim: the department has it, whoever sent it.
            SendOutcome::Delivered => {
                self.exec(
                    "UPDATE deliveries SET state = 'delivered', delivered_at = $2, last_error = NULL
                      WHERE id = $1 AND state = 'pending'",
                    args![id, now_rfc3339()],
                )
                .await?
            }
            SendOutcome::Retry { at, error } => {
                self.exec(
                    "UPDATE deliveries SET next_at = $3, last_error = $4
                      WHERE id = $1 AND state = 'pending' AND next_at = $2",
                    args![id, lease, *at, error.as_str()],
                )
                .await?
            }
            SendOutcome::Postpone { at } => {
                self.exec(
                    "UPDATE deliveries SET next_at = $3, attempts = attempts - 1
                      WHERE id = $1 AND state = 'pending' AND next_at = $2",
                    args![id, lease, *at],
                )
                .await?
            }
            SendOutcome::Dead { error } => {
                self.exec(
                    "UPDATE deliveries SET state = 'dead', last_error = $3
                      WHERE id = $1 AND state = 'pending' AND next_at = $2",
                    args![id, lease, error.as_str()],
                )
                .await?
            }
        };
        Ok(changed > 0)
    }

    /// Applies a department's inbound report once: the change through the one gate
    /// ([`Store::advance`]'s transaction) and the report recorded in the same transaction. A
    /// replay of `report_id` answers the first outcome and changes nothing; a report id used
    /// for another report is [`StoreError::ReportIdReused`].
    pub async fn apply_report(
        &self,
        department: &str,
        report: DepartmentReport,
    ) -> Result<(ReportAnswer, bool), StoreError> {
        if let Some(first) = self.report_outcome(department, &report).await? {
            return Ok((first, true));
        }
        let keys = self.key_handle()?;
        let work = ApplyReport {
            department: department.to_owned(),
            report_id: report.report_id.clone(),
            fingerprint: report.fingerprint.clone(),
            advance: Advance {
                application_no: report.application_no.clone(),
                departments: Some(vec![department.to_owned()]),
                actor: Actor::Department(department.to_owned()),
                change: report.change.clone(),
                keys,
            },
        };
        match self.transaction(work).await {
            Ok(outcome) => Ok((outcome, false)),
            // The same report applied meanwhile (a concurrent replay): its first answer.
            Err(e) => match self.report_outcome(department, &report).await? {
                Some(first) => Ok((first, true)),
                None => Err(e),
            },
        }
    }

    /// The recorded outcome of a report already applied under its id.
    async fn report_outcome(
        &self,
        department: &str,
        report: &DepartmentReport,
    ) -> Result<Option<ReportAnswer>, StoreError> {
        let Some(row) = self
            .row(
                "SELECT outcome FROM inbound_reports WHERE department = $1 AND report_id = $2",
                args![department, &report.report_id],
            )
            .await?
        else {
            return Ok(None);
        };
        let first: ReportAnswer = serde_json::from_str(&row.text(0)?)?;
        if first.fingerprint != report.fingerprint {
            return Err(StoreError::ReportIdReused);
        }
        Ok(Some(first))
    }
}

/// Claims due deliveries of one department (see [`Store::claim_deliveries`]).
struct Claim {
    department: String,
    now: i64,
    settle: i64,
    lease: i64,
    limit: i64,
}

impl Transaction for Claim {
    type Output = Vec<ClaimedDelivery>;

    async fn run(self, on: &mut impl Executor) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let due = on
            .rows(
                "SELECT id, application_no, attempts, next_at, created_at FROM deliveries
                  WHERE department = $1 AND state = 'pending'
                    AND next_at + CASE WHEN attempts = 0 THEN CAST($3 AS BIGINT) ELSE 0 END <= $2
                  ORDER BY next_at LIMIT $4",
                args![&self.department, self.now, self.settle, self.limit],
            )
            .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in &due {
            let (id, next_at) = (row.text(0)?, row.int(3)?);
            let taken = on
                .exec(
                    "UPDATE deliveries SET next_at = $3, attempts = attempts + 1
                      WHERE id = $1 AND state = 'pending' AND next_at = $2",
                    args![&id, next_at, self.lease],
                )
                .await?;
            if taken == 1 {
                let queued_at = time::OffsetDateTime::parse(
                    &row.text(4)?,
                    &time::format_description::well_known::Rfc3339,
                )
                .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0))
                .unwrap_or(self.now);
                claimed.push(ClaimedDelivery {
                    id,
                    application_no: row.text(1)?,
                    attempts: row.int(2)? + 1,
                    lease: self.lease,
                    queued_at,
                });
            }
        }
        Ok(claimed)
    }
}

/// A report's change and its record, together.
struct ApplyReport {
    department: String,
    report_id: String,
    fingerprint: String,
    advance: Advance,
}

impl Transaction for ApplyReport {
    type Output = ReportAnswer;

    async fn run(self, on: &mut impl Executor) -> Result<ReportAnswer, StoreError> {
        let advanced = self.advance.run(on).await?;
        let outcome = ReportAnswer {
            report_id: self.report_id,
            application_no: advanced.application_no,
            from: advanced.from.as_str().to_owned(),
            to: advanced.to.as_str().to_owned(),
            at: advanced.at,
            fingerprint: self.fingerprint,
        };
        on.exec(
            "INSERT INTO inbound_reports (department, report_id, application_no, received_at, outcome)
             VALUES ($1, $2, $3, $4, $5)",
            args![
                &self.department,
                &outcome.report_id,
                &outcome.application_no,
                &outcome.at,
                serde_json::to_string(&outcome)?
            ],
        )
        .await?;
        Ok(outcome)
    }
}

/// What a delivery carries, read from the store (personal data: never logged).
pub struct DeliveryContents {
    /// The application's number.
    pub application_no: String,
    /// Its matter.
    pub matter_id: String,
    /// Its department.
    pub department: String,
    /// When it was accepted, RFC 3339.
    pub accepted_at: String,
    /// The day it is due, `YYYY-MM-DD`.
    pub due_on: Option<String>,
    /// The application as the terminal sent it (applicant, answers), opened.
    pub request: kiosk_protocol::ApplicationRequest,
    /// Materials promised under 容缺受理: `(material index, due day)`.
    pub commitments: Vec<(i64, String)>,
    /// Completed uploads and their bytes, opened.
    pub materials: Vec<(super::Upload, Zeroizing<Vec<u8>>)>,
    /// Uploads announced and not yet complete.
    pub incomplete: usize,
}

impl fmt::Debug for DeliveryContents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryContents")
            .field("application_no", &self.application_no)
            .field("materials", &self.materials.len())
            .field("incomplete", &self.incomplete)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// What the delivery of `application_no` carries; [`StoreError::UnknownApplication`] once
    /// it is purged.
    pub async fn delivery_contents(
        &self,
        application_no: &str,
    ) -> Result<DeliveryContents, StoreError> {
        let row = self
            .row(
                "SELECT idempotency_key, body, matter_id, COALESCE(department, ''), accepted_at, due_on
                   FROM applications WHERE application_no = $1 AND purged_at IS NULL",
                args![application_no],
            )
            .await?
            .ok_or(StoreError::UnknownApplication)?;
        let opened = decrypt_text(
            self.keys()?,
            &super::at_rest::application_row(&row.text(0)?),
            &row.text(1)?,
        )?;
        let request: kiosk_protocol::ApplicationRequest = serde_json::from_str(&opened)?;
        let commitments = self
            .rows(
                "SELECT material_index, due_on FROM commitments WHERE application_no = $1
                  ORDER BY material_index",
                args![application_no],
            )
            .await?
            .iter()
            .map(|r| Ok((r.int(0)?, r.text(1)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let uploads = self
            .rows(
                "SELECT id, terminal_id FROM uploads WHERE application_no = $1 ORDER BY material_index, id",
                args![application_no],
            )
            .await?;
        let mut materials = Vec::new();
        let mut incomplete = 0;
        for upload in &uploads {
            let Some(upload) = self.upload(&upload.text(1)?, &upload.text(0)?).await? else {
                continue;
            };
            if !upload.complete {
                incomplete += 1;
                continue;
            }
            let mut file = Zeroizing::new(Vec::with_capacity(
                usize::try_from(upload.size).unwrap_or(0),
            ));
            for (_, chunk) in self.chunks(&upload.id).await? {
                file.extend_from_slice(&chunk);
            }
            materials.push((upload, file));
        }
        Ok(DeliveryContents {
            application_no: application_no.to_owned(),
            matter_id: row.text(2)?,
            department: row.text(3)?,
            accepted_at: row.text(4)?,
            due_on: row.opt_text(5)?,
            request,
            commitments,
            materials,
            incomplete,
        })
    }
}

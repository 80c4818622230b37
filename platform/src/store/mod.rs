//! Persistence of the platform, behind one repository type with two backends.
//!
//! [`Store`] is what the API and the CLI use. It is an enum over the engines: SQLite
//! ([`sqlite::SqliteStore`], the embedded default: one file, WAL) and PostgreSQL
//! ([`postgres::PgStore`], for several stateless platform instances over one database). Both
//! apply their own migrations on open, keep the same tables and answer the same way; the API
//! test suite runs against each.
//!
//! Exactly-once is a property of the schema, not of one process: `applications.idempotency_key`
//! is UNIQUE and the insert is `ON CONFLICT DO NOTHING`, so two instances racing on one key
//! store one row and both answer with its number.

mod console;
mod materials;
pub mod postgres;
mod rollouts;
mod schema;
pub(crate) mod sql;
mod terminal;

pub use console::{
    CatalogVersion, CommandRow, ConfigRow, Count, EventRow, FleetRow, Role, Session, TokenRow,
};
pub use materials::Upload;
pub use rollouts::{ReleaseRecord, ReportOutcome, RolloutError, RolloutRow, RolloutStatus};

pub use terminal::{CheckInKey, CommandState, FoundAppointment, ResultOutcome, rfc3339_at, today};
pub mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

use kiosk_protocol::{
    ApplicationReceipt, ApplicationRequest, ApplicationState, ApplicationStatus, Catalog,
    RatingRequest,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::offset;

use crate::DbUrl;

/// Why the store cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but is not a database (or is damaged).
    #[error(
        "{path} is not a usable platform database ({detail}); move it aside and start again, or restore a backup"
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The database was written by a newer platform.
    #[error(
        "{database} has schema version {found}, newer than this platform's {known}: upgrade kiosk-platform"
    )]
    TooNew {
        /// The database (file path or URL without password).
        database: String,
        /// Version found in the database.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// The file cannot be opened or created.
    #[error("cannot open {path}: {detail}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The PostgreSQL server cannot be reached or refuses the login.
    #[error("cannot connect to {url}: {detail}")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The same idempotency key came with a different application.
    #[error("idempotency key was already used for a different application")]
    KeyReused,
    /// The rated application does not exist (or is of another matter or terminal).
    #[error("no such application to rate")]
    UnknownApplication,
    /// The application was rated already (one rating per finished matter).
    #[error("this application has been rated already")]
    AlreadyRated,
    /// The enrollment token is unknown, used or expired.
    #[error("the enrollment token is unknown, used or expired")]
    InvalidToken,
    /// No such terminal.
    #[error("no such terminal")]
    UnknownTerminal,
    /// No catalog has been published yet.
    #[error("no catalog has been published")]
    NoCatalog,
    /// A release record is malformed.
    #[error("invalid release: {0}")]
    InvalidRelease(String),
    /// A release of this version, kind and architecture was recorded with other bytes.
    #[error(
        "{kind} release {version} for {arch} is already published with another hash or length: versions are immutable, publish a new version"
    )]
    ReleaseImmutable {
        /// The version.
        version: String,
        /// Its kind.
        kind: &'static str,
        /// Its architecture.
        arch: String,
    },
    /// A terminal tag is malformed.
    #[error("tag `{0}`: 1 to 32 of a-z 0-9 - _ .")]
    InvalidTag(String),
    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// Any other PostgreSQL failure.
    #[error("database error: {}", postgres::describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool in time.
    #[error("no database connection available: {0}")]
    Pool(String),
    /// A blocking database task died.
    #[error("database task failed: {0}")]
    Task(String),
    /// A stored document no longer parses.
    #[error("stored data is damaged: {0}")]
    Damaged(#[from] serde_json::Error),
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => StoreError::Postgres(e),
            other => StoreError::Pool(other.to_string()),
        }
    }
}

/// A published catalog with its serialized body, ready to serve.
#[derive(Debug, Clone)]
pub struct PublishedCatalog {
    /// Catalog version (also the ETag).
    pub version: String,
    /// The catalog as JSON.
    pub body: String,
}

/// The platform's database: one repository over either engine.
#[derive(Clone)]
pub enum Store {
    /// The embedded engine.
    Sqlite(Arc<sqlite::SqliteStore>),
    /// The shared engine.
    Postgres(postgres::PgStore),
}

/// Runs a SQLite call on the blocking pool (SQLite calls block on the file).
async fn on_sqlite<T: Send + 'static>(
    store: &Arc<sqlite::SqliteStore>,
    f: impl FnOnce(&sqlite::SqliteStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

impl Store {
    /// Opens (creating and migrating when needed) the database named by `url`.
    pub async fn open(url: &DbUrl) -> Result<Self, StoreError> {
        match url {
            DbUrl::Sqlite(path) => {
                let path = path.clone();
                let store = tokio::task::spawn_blocking(move || {
                    let store = Arc::new(sqlite::SqliteStore::open(&path)?);
                    sqlite::start_background(&store, &path)?;
                    Ok::<_, StoreError>(store)
                })
                .await
                .map_err(|e| StoreError::Task(e.to_string()))??;
                Ok(Store::Sqlite(store))
            }
            DbUrl::Postgres(url) => Ok(Store::Postgres(postgres::PgStore::open(url).await?)),
        }
    }

    /// The engine's name, for logs.
    pub fn engine(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Publishes `catalog` as the current version (validated by the caller).
    pub async fn publish_catalog(&self, catalog: &Catalog) -> Result<(), StoreError> {
        let body = serde_json::to_string(catalog)?;
        let version = catalog.version.clone();
        let now = now_rfc3339();
        match self {
            Store::Sqlite(s) => {
                on_sqlite(s, move |s| s.publish_catalog(&version, &body, &now)).await
            }
            Store::Postgres(p) => p.publish_catalog(&version, &body, &now).await,
        }
    }

    /// The catalog currently published.
    pub async fn current_catalog(&self) -> Result<PublishedCatalog, StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, |s| s.current_catalog()).await,
            Store::Postgres(p) => p.current_catalog().await,
        }
    }

    /// Stores an application once per idempotency key and returns its receipt.
    ///
    /// The same key with the same request answers the first receipt again (`replayed = true`);
    /// the same key with a different request is refused with [`StoreError::KeyReused`].
    pub async fn submit_application(
        &self,
        idempotency_key: &str,
        request: &ApplicationRequest,
        progress_base: &str,
    ) -> Result<ApplicationReceipt, StoreError> {
        let body = serde_json::to_string(request)?;
        let new = NewApplication {
            applicant_key: self.applicant_key(&request.applicant.id_number),
            idempotency_key: idempotency_key.to_owned(),
            terminal_id: request.terminal_id.clone(),
            matter_id: request.matter_id.clone(),
            body,
            accepted_at: now_beijing(),
        };
        let stored = match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.insert_application(&new)).await?,
            Store::Postgres(p) => p.insert_application(&new).await?,
        };
        if stored.replayed {
            let first: ApplicationRequest = serde_json::from_str(&stored.body)?;
            if &first != request {
                return Err(StoreError::KeyReused);
            }
        }
        Ok(ApplicationReceipt {
            progress_url: progress_url(progress_base, &stored.application_no),
            application_no: stored.application_no,
            matter_id: stored.matter_id,
            accepted_at: stored.accepted_at,
            replayed: stored.replayed,
        })
    }

    /// Records a 好差评 rating: one per application, for an application taken at the rating
    /// terminal (the citizen rates where the matter was finished).
    pub async fn rate(&self, rating: &RatingRequest) -> Result<(), StoreError> {
        let reason = rating
            .reason
            .map(serde_json::to_value)
            .transpose()?
            .and_then(|v| v.as_str().map(str::to_owned));
        let new = NewRating {
            application_no: rating.application_no.clone(),
            matter_id: rating.matter_id.clone(),
            terminal_id: rating.terminal_id.clone(),
            level: i32::from(rating.level),
            reason,
            rated_at: now_rfc3339(),
        };
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.insert_rating(&new)).await,
            Store::Postgres(p) => p.insert_rating(&new).await,
        }
    }

    /// Number of ratings stored.
    pub async fn rating_count(&self) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, |s| s.count("ratings")).await,
            Store::Postgres(p) => p.count("ratings").await,
        }
    }

    /// Number of applications stored.
    pub async fn application_count(&self) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, |s| s.count("applications")).await,
            Store::Postgres(p) => p.count("applications").await,
        }
    }

    /// The key under which an applicant's applications are found again: a keyed SHA-256 of
    /// the ID number (the key is a random secret of this database), so the number itself is
    /// not an index anyone can read.
    pub fn applicant_key(&self, id_number: &str) -> String {
        let pepper = match self {
            Store::Sqlite(s) => s.pepper(),
            Store::Postgres(p) => p.pepper(),
        };
        let mut hash = Sha256::new();
        hash.update(b"LYB-APPLICANT-V1\n");
        hash.update(pepper.as_bytes());
        hash.update(b"\n");
        hash.update(id_number.to_ascii_uppercase().as_bytes());
        kiosk_protocol::auth::hex_encode(&hash.finalize())
    }

    /// The key pair terminals seal application bodies to, derived from this database's secret
    /// (so every instance on one database opens what any terminal sealed).
    pub fn sealing_key(&self) -> kiosk_protocol::sealing::SealingKey {
        let pepper = match self {
            Store::Sqlite(s) => s.pepper(),
            Store::Postgres(p) => p.pepper(),
        };
        let mut hash = Sha256::new();
        hash.update(b"LYB-SEALING-V1\n");
        hash.update(pepper.as_bytes());
        kiosk_protocol::sealing::SealingKey::from_secret(hash.finalize().into())
    }

    /// Stores a new one-time enrollment token (only its hash is kept).
    pub async fn create_enrollment_token(
        &self,
        token: &str,
        site: Option<&str>,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let hash = token_hash(token);
        let site = site.map(str::to_owned);
        let now = now_rfc3339();
        match self {
            Store::Sqlite(s) => {
                on_sqlite(s, move |s| {
                    s.create_enrollment_token(&hash, site.as_deref(), expires_at, &now)
                })
                .await
            }
            Store::Postgres(p) => {
                p.create_enrollment_token(&hash, site.as_deref(), expires_at, &now)
                    .await
            }
        }
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
        let enrollment = Enrollment {
            token_hash: token_hash(token),
            hardware_serial: hardware_serial.to_owned(),
            public_key: public_key.to_owned(),
            new_terminal_id: new_terminal_id.to_owned(),
            now: unix_now(),
            now_text: now_rfc3339(),
        };
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.enroll(&enrollment)).await,
            Store::Postgres(p) => p.enroll(&enrollment).await,
        }
    }

    /// The enrolled public key (hex) of a terminal, if the terminal exists.
    pub async fn terminal_key(&self, terminal_id: &str) -> Result<Option<String>, StoreError> {
        let id = terminal_id.to_owned();
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.terminal_key(&id)).await,
            Store::Postgres(p) => p.terminal_key(&id).await,
        }
    }

    /// Records a request nonce; false when this terminal used it already (a replay). Nonces
    /// older than the signature window are forgotten now and then.
    pub async fn record_nonce(
        &self,
        terminal_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (id, nonce) = (terminal_id.to_owned(), nonce.to_owned());
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.record_nonce(&id, &nonce, now)).await,
            Store::Postgres(p) => p.record_nonce(&id, &nonce, now).await,
        }
    }

    /// One application as its terminal sees it; `None` when it does not exist or another
    /// terminal took it.
    pub async fn terminal_application(
        &self,
        terminal_id: &str,
        application_no: &str,
    ) -> Result<Option<ApplicationStatus>, StoreError> {
        let (id, no) = (terminal_id.to_owned(), application_no.to_owned());
        let row = match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.terminal_application(&id, &no)).await?,
            Store::Postgres(p) => p.terminal_application(&id, &no).await?,
        };
        row.map(StatusRow::into_status).transpose()
    }

    /// The configuration a terminal runs with: the global layer, overlaid by its site's, then
    /// by its own (objects merge key by key; anything else replaces).
    pub async fn merged_config(&self, terminal_id: &str) -> Result<Value, StoreError> {
        let id = terminal_id.to_owned();
        let layers = match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.config_layers(&id)).await?,
            Store::Postgres(p) => p.config_layers(&id).await?,
        };
        let mut merged = Value::Object(Default::default());
        for layer in layers {
            merge_into(&mut merged, serde_json::from_str(&layer)?);
        }
        Ok(merged)
    }

    /// Replaces one configuration layer.
    pub async fn set_config(&self, scope: &ConfigScope, body: &Value) -> Result<(), StoreError> {
        let (scope, key) = scope.parts();
        let body = serde_json::to_string(body)?;
        let now = now_rfc3339();
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.set_config(scope, &key, &body, &now)).await,
            Store::Postgres(p) => p.set_config(scope, &key, &body, &now).await,
        }
    }

    /// Runs one statement (written with `$1` placeholders) on either engine; rows changed.
    pub(crate) async fn exec(
        &self,
        sql: &'static str,
        args: Vec<sql::Arg>,
    ) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.exec(sql, &args)).await,
            Store::Postgres(p) => p.exec(sql, &args).await,
        }
    }

    /// Runs several statements (written with `$1` placeholders) in one transaction: all or
    /// none.
    pub(crate) async fn exec_all(
        &self,
        statements: Vec<(&'static str, Vec<sql::Arg>)>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.exec_all(&statements)).await,
            Store::Postgres(p) => p.exec_all(&statements).await,
        }
    }

    /// Like [`Store::exec`], for writes whose loss in a power cut is harmless: committed
    /// without waiting for the disk (SQLite `synchronous=NORMAL`, PostgreSQL
    /// `synchronous_commit=off`).
    pub(crate) async fn exec_relaxed(
        &self,
        sql: &'static str,
        args: Vec<sql::Arg>,
    ) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.exec_relaxed(sql, &args)).await,
            Store::Postgres(p) => p.exec_relaxed(sql, &args).await,
        }
    }

    /// Runs one statement that answers rows on either engine.
    pub(crate) async fn rows(
        &self,
        sql: &'static str,
        args: Vec<sql::Arg>,
    ) -> Result<Vec<sql::Row>, StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.rows(sql, &args)).await,
            Store::Postgres(p) => p.rows(sql, &args).await,
        }
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, |s| s.ping()).await,
            Store::Postgres(p) => p.ping().await,
        }
    }
}

/// An application about to be stored.
#[derive(Debug, Clone)]
pub(crate) struct NewApplication {
    /// See [`Store::applicant_key`].
    pub applicant_key: String,
    pub idempotency_key: String,
    pub terminal_id: String,
    pub matter_id: String,
    /// The request as JSON.
    pub body: String,
    pub accepted_at: OffsetDateTime,
}

/// The row an idempotent insert ends on: the new one, or the one stored first under the key.
#[derive(Debug, Clone)]
pub(crate) struct StoredApplication {
    pub application_no: String,
    pub matter_id: String,
    pub body: String,
    pub accepted_at: String,
    /// True when the key was already taken and this is the first row.
    pub replayed: bool,
}

/// A rating about to be stored.
#[derive(Debug, Clone)]
pub(crate) struct NewRating {
    pub application_no: String,
    pub matter_id: String,
    pub terminal_id: String,
    pub level: i32,
    pub reason: Option<String>,
    pub rated_at: String,
}

/// The application number citizens quote: `LY` + acceptance date + six digits of the row id.
pub(crate) fn application_no(accepted: OffsetDateTime, id: i64) -> String {
    format!(
        "LY{:04}{:02}{:02}{:06}",
        accepted.year(),
        u8::from(accepted.month()),
        accepted.day(),
        id.rem_euclid(1_000_000)
    )
}

fn progress_url(base: &str, application_no: &str) -> String {
    format!("{}/progress/{application_no}", base.trim_end_matches('/'))
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Now in China Standard Time, to the second: what receipts and audit rows show.
pub(crate) fn now_beijing() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc().to_offset(offset!(+8));
    now.replace_nanosecond(0).unwrap_or(now)
}

pub(crate) fn now_rfc3339() -> String {
    rfc3339(now_beijing())
}

/// SHA-256 of an enrollment token, hex: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    kiosk_protocol::auth::hex_encode(&Sha256::digest(token.as_bytes()))
}

/// Now as Unix seconds.
pub fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A terminal enrollment about to be stored.
#[derive(Debug, Clone)]
pub(crate) struct Enrollment {
    pub token_hash: String,
    pub hardware_serial: String,
    pub public_key: String,
    pub new_terminal_id: String,
    pub now: i64,
    pub now_text: String,
}

/// The terminal an enrollment produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolledTerminal {
    /// Its id.
    pub terminal_id: String,
    /// Its site, from the token.
    pub site: Option<String>,
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

/// An application row as stored, before its state is checked.
#[derive(Debug, Clone)]
pub(crate) struct StatusRow {
    pub application_no: String,
    pub matter_id: String,
    pub accepted_at: String,
    pub state: String,
}

impl StatusRow {
    pub(crate) fn into_status(self) -> Result<ApplicationStatus, StoreError> {
        let state = ApplicationState::parse(&self.state).ok_or_else(|| {
            StoreError::Task(format!(
                "application {} has unknown state",
                self.application_no
            ))
        })?;
        Ok(ApplicationStatus {
            application_no: self.application_no,
            matter_id: self.matter_id,
            accepted_at: self.accepted_at,
            state,
        })
    }
}

/// Overlays `layer` on `base`: objects merge key by key, anything else replaces.
pub(crate) fn merge_into(base: &mut Value, layer: Value) {
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

/// `bytes` random bytes from the operating system, hex.
pub fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Task(format!("no randomness: {e}")))?;
    Ok(kiosk_protocol::auth::hex_encode(&buf))
}

/// How long a nonce is remembered: the signature window both ways, plus a margin.
pub(crate) const NONCE_MEMORY_SECS: i64 = 2 * kiosk_protocol::auth::MAX_CLOCK_SKEW_SECS + 60;

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

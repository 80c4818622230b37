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

pub mod postgres;
pub mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

use kiosk_protocol::{ApplicationReceipt, ApplicationRequest, Catalog, RatingRequest};
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
    /// The rated application does not exist (or is of another matter).
    #[error("no such application to rate")]
    UnknownApplication,
    /// The application was rated already (one rating per finished matter).
    #[error("this application has been rated already")]
    AlreadyRated,
    /// No catalog has been published yet.
    #[error("no catalog has been published")]
    NoCatalog,
    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// Any other PostgreSQL failure.
    #[error("database error: {0}")]
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
                let store = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path))
                    .await
                    .map_err(|e| StoreError::Task(e.to_string()))??;
                Ok(Store::Sqlite(Arc::new(store)))
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

    /// Records a 好差评 rating: one per application, for an application that exists.
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

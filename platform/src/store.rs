//! Persistence of the platform: the published catalog and the applications terminals submit.
//!
//! SQLite is the embedded default: one file in WAL mode, created and migrated on open. Every
//! write happens in one transaction, so a crash never leaves half a row behind.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use kiosk_protocol::{ApplicationReceipt, ApplicationRequest, Catalog, RatingRequest};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;
use time::macros::offset;

use crate::DbUrl;

/// Schema migrations, applied in order; `PRAGMA user_version` counts how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: catalog versions and applications.
    "CREATE TABLE catalog_versions (
        version      TEXT PRIMARY KEY,
        body         TEXT NOT NULL,
        published_at TEXT NOT NULL,
        current      INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX catalog_one_current ON catalog_versions(current) WHERE current = 1;
    CREATE TABLE applications (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        application_no   TEXT UNIQUE,
        idempotency_key  TEXT NOT NULL UNIQUE,
        terminal_id      TEXT NOT NULL,
        matter_id        TEXT NOT NULL,
        body             TEXT NOT NULL,
        accepted_at      TEXT NOT NULL
    );
    CREATE TABLE ratings (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        application_no  TEXT NOT NULL UNIQUE REFERENCES applications(application_no),
        matter_id       TEXT NOT NULL,
        terminal_id     TEXT NOT NULL,
        level           INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
        reason          TEXT,
        rated_at        TEXT NOT NULL
    );",
];

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
        "{path} has schema version {found}, newer than this platform's {known}: upgrade kiosk-platform"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Version found in the file.
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
    /// Any other database failure.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored document no longer parses.
    #[error("stored data is damaged: {0}")]
    Damaged(#[from] serde_json::Error),
}

/// The platform's database.
pub struct Store {
    conn: Mutex<Connection>,
}

/// A published catalog with its serialized body, ready to serve.
#[derive(Debug, Clone)]
pub struct PublishedCatalog {
    /// Catalog version (also the ETag).
    pub version: String,
    /// The catalog as JSON.
    pub body: String,
}

impl Store {
    /// Opens (creating and migrating when needed) the database named by `url`.
    pub fn open(url: &DbUrl) -> Result<Self, StoreError> {
        match url {
            DbUrl::Sqlite(path) => Self::open_sqlite(path),
        }
    }

    fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(StoreError::Open {
                path: path.to_owned(),
                detail: format!("folder {} does not exist", dir.display()),
            });
        }
        let conn = Connection::open(path).map_err(|e| StoreError::Open {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        let corrupt = |e: rusqlite::Error| StoreError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        };
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(corrupt)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(corrupt)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(corrupt)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(corrupt)?;
        let store = Store {
            conn: Mutex::new(conn),
        };
        store.migrate(path)?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is safe to keep using.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn migrate(&self, path: &Path) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let known = MIGRATIONS.len() as i64;
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| StoreError::Corrupt {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        if found > known {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found,
                known,
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Publishes `catalog` as the current version (validated by the caller).
    pub fn publish_catalog(&self, catalog: &Catalog) -> Result<(), StoreError> {
        let body = serde_json::to_string(catalog)?;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE catalog_versions SET current = 0 WHERE current = 1",
            [],
        )?;
        tx.execute(
            "INSERT INTO catalog_versions (version, body, published_at, current) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT(version) DO UPDATE SET body = excluded.body, published_at = excluded.published_at, current = 1",
            params![catalog.version, body, now_rfc3339()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The catalog currently published.
    pub fn current_catalog(&self) -> Result<PublishedCatalog, StoreError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT version, body FROM catalog_versions WHERE current = 1",
            [],
            |row| {
                Ok(PublishedCatalog {
                    version: row.get(0)?,
                    body: row.get(1)?,
                })
            },
        )
        .optional()?
        .ok_or(StoreError::NoCatalog)
    }

    /// Stores an application once per idempotency key and returns its receipt.
    ///
    /// The same key with the same request answers the first receipt again (`replayed = true`);
    /// the same key with a different request is refused with [`StoreError::KeyReused`].
    pub fn submit_application(
        &self,
        idempotency_key: &str,
        request: &ApplicationRequest,
        progress_base: &str,
    ) -> Result<ApplicationReceipt, StoreError> {
        let body = serde_json::to_string(request)?;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = tx
            .query_row(
                "SELECT application_no, matter_id, body, accepted_at FROM applications WHERE idempotency_key = ?1",
                params![idempotency_key],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        if let Some((application_no, matter_id, stored_body, accepted_at)) = existing {
            let stored: ApplicationRequest = serde_json::from_str(&stored_body)?;
            if &stored != request {
                return Err(StoreError::KeyReused);
            }
            return Ok(ApplicationReceipt {
                progress_url: progress_url(progress_base, &application_no),
                application_no,
                matter_id,
                accepted_at,
                replayed: true,
            });
        }
        let now = now_beijing();
        let accepted_at = rfc3339(now);
        tx.execute(
            "INSERT INTO applications (idempotency_key, terminal_id, matter_id, body, accepted_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                idempotency_key,
                request.terminal_id,
                request.matter_id,
                body,
                accepted_at
            ],
        )?;
        let id = tx.last_insert_rowid();
        let application_no = format!(
            "LY{:04}{:02}{:02}{:06}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            id % 1_000_000
        );
        tx.execute(
            "UPDATE applications SET application_no = ?1 WHERE id = ?2",
            params![application_no, id],
        )?;
        tx.commit()?;
        Ok(ApplicationReceipt {
            progress_url: progress_url(progress_base, &application_no),
            application_no,
            matter_id: request.matter_id.clone(),
            accepted_at,
            replayed: false,
        })
    }

    /// Records a 好差评 rating: one per application, for an application that exists.
    pub fn rate(&self, rating: &RatingRequest) -> Result<(), StoreError> {
        let reason = rating
            .reason
            .map(serde_json::to_value)
            .transpose()?
            .and_then(|v| v.as_str().map(str::to_owned));
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let known: Option<String> = tx
            .query_row(
                "SELECT matter_id FROM applications WHERE application_no = ?1",
                params![rating.application_no],
                |row| row.get(0),
            )
            .optional()?;
        if known.as_deref() != Some(rating.matter_id.as_str()) {
            return Err(StoreError::UnknownApplication);
        }
        let inserted = tx.execute(
            "INSERT INTO ratings (application_no, matter_id, terminal_id, level, reason, rated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(application_no) DO NOTHING",
            params![
                rating.application_no,
                rating.matter_id,
                rating.terminal_id,
                rating.level,
                reason,
                now_rfc3339()
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::AlreadyRated);
        }
        tx.commit()?;
        Ok(())
    }

    /// Number of ratings stored.
    pub fn rating_count(&self) -> Result<u64, StoreError> {
        let conn = self.lock();
        Ok(conn.query_row("SELECT COUNT(*) FROM ratings", [], |row| {
            row.get::<_, i64>(0)
        })? as u64)
    }

    /// Number of applications stored.
    pub fn application_count(&self) -> Result<u64, StoreError> {
        let conn = self.lock();
        Ok(
            conn.query_row("SELECT COUNT(*) FROM applications", [], |row| {
                row.get::<_, i64>(0)
            })? as u64,
        )
    }

    /// Checks the database answers (for `/healthz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}

fn progress_url(base: &str, application_no: &str) -> String {
    format!("{}/progress/{application_no}", base.trim_end_matches('/'))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Now in China Standard Time, to the second: what receipts and audit rows show.
fn now_beijing() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc().to_offset(offset!(+8));
    now.replace_nanosecond(0).unwrap_or(now)
}

fn now_rfc3339() -> String {
    rfc3339(now_beijing())
}

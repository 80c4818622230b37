//! The SQLite backend: the embedded default. One file in WAL mode with `synchronous=FULL`,
//! created and migrated on open; every write is one `IMMEDIATE` transaction, so a crash never
//! leaves half a row behind and writers never deadlock on lock upgrades.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{NewApplication, NewRating, PublishedCatalog, StoreError, StoredApplication};

/// Schema migrations, applied in order; `PRAGMA user_version` counts how many ran.
pub(crate) const MIGRATIONS: &[&str] = &[
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

/// The SQLite database: one connection behind a lock (SQLite has one writer anyway).
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating and migrating when needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
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
        let store = SqliteStore {
            conn: Mutex::new(conn),
        };
        store.migrate(path)?;
        Ok(store)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is safe to keep using.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn migrate(&self, path: &Path) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let corrupt = |e: rusqlite::Error| StoreError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        };
        let known = MIGRATIONS.len() as i64;
        // The version is read under the write lock: two processes opening a fresh file at once
        // apply each migration once.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(corrupt)?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(corrupt)?;
        if found > known {
            return Err(StoreError::TooNew {
                database: PathBuf::from(path).display().to_string(),
                found,
                known,
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn publish_catalog(
        &self,
        version: &str,
        body: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE catalog_versions SET current = 0 WHERE current = 1",
            [],
        )?;
        tx.execute(
            "INSERT INTO catalog_versions (version, body, published_at, current) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT(version) DO UPDATE SET body = excluded.body, published_at = excluded.published_at, current = 1",
            params![version, body, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn current_catalog(&self) -> Result<PublishedCatalog, StoreError> {
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

    pub(crate) fn insert_application(
        &self,
        new: &NewApplication,
    ) -> Result<StoredApplication, StoreError> {
        let accepted_at = super::rfc3339(new.accepted_at);
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inserted = tx.execute(
            "INSERT INTO applications (idempotency_key, terminal_id, matter_id, body, accepted_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(idempotency_key) DO NOTHING",
            params![
                new.idempotency_key,
                new.terminal_id,
                new.matter_id,
                new.body,
                accepted_at
            ],
        )?;
        if inserted == 0 {
            let first = tx.query_row(
                "SELECT application_no, matter_id, body, accepted_at FROM applications WHERE idempotency_key = ?1",
                params![new.idempotency_key],
                |row| {
                    Ok(StoredApplication {
                        application_no: row.get(0)?,
                        matter_id: row.get(1)?,
                        body: row.get(2)?,
                        accepted_at: row.get(3)?,
                        replayed: true,
                    })
                },
            )?;
            return Ok(first);
        }
        let id = tx.last_insert_rowid();
        let application_no = super::application_no(new.accepted_at, id);
        tx.execute(
            "UPDATE applications SET application_no = ?1 WHERE id = ?2",
            params![application_no, id],
        )?;
        tx.commit()?;
        Ok(StoredApplication {
            application_no,
            matter_id: new.matter_id.clone(),
            body: new.body.clone(),
            accepted_at,
            replayed: false,
        })
    }

    pub(crate) fn insert_rating(&self, rating: &NewRating) -> Result<(), StoreError> {
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
                rating.reason,
                rating.rated_at
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::AlreadyRated);
        }
        tx.commit()?;
        Ok(())
    }

    /// Rows in one of the platform's tables (a fixed name, never user input).
    pub(crate) fn count(&self, table: &'static str) -> Result<u64, StoreError> {
        let conn = self.lock();
        let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })?;
        Ok(n.max(0) as u64)
    }

    pub(crate) fn ping(&self) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}

//! The outbox: what the terminal has promised to deliver, kept on disk until the platform
//! acknowledges it.
//!
//! An application is written here — sealed to the platform's key, in one SQLite transaction
//! with `synchronous=FULL` — before the citizen is told it is accepted. A sender delivers items
//! in the order they were taken, retrying with backoff while the platform is unreachable, and
//! deletes an item only after the platform has acknowledged it. Every application carries its
//! idempotency key, so an item delivered just before a crash (acknowledged by the platform but
//! not yet deleted here) is delivered again after restart and stored once.
//!
//! The terminal cannot read an application back: the body on disk is a sealed box only the
//! platform opens ([`kiosk_protocol::sealing`]). Ratings carry no personal data and are kept as
//! JSON; a rating of an application still waiting here names it by the terminal's reference and
//! gets the platform's number when the application is delivered.
//!
//! Materials (申请材料: one PDF of the document camera's pages each) are kept the same way,
//! sealed, next to their application. The platform's upload API needs the application's
//! number, which the terminal learns only when the application is delivered: acknowledging an
//! application remembers its number (in the same transaction that deletes it), and only then
//! are its materials uploaded — announced, sent in chunks, completed — each deleted only after
//! the platform completed it. Where an upload stands (its id, the chunks sent) is kept here, so
//! after a crash the same upload goes on from the first chunk not confirmed. A material whose
//! application the platform refused is kept aside with it.

mod materials;
mod quarantine;
mod reserve;
mod sender;
mod store;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use kiosk_protocol::material::MAX_MATERIAL_BYTES;
use kiosk_protocol::sealing::SEAL_OVERHEAD;
use rusqlite::{Connection, params};
use tokio::sync::Notify;

use crate::unix_now;
pub use materials::MaterialItem;
pub use reserve::DISK_RESERVE_BYTES;
pub use sender::{Delivery, Outcome, Reports, deliver_due, spawn_sender};
pub use store::{ItemKind, OutboxItem, OutboxStatus, reference_for};

/// File name of the outbox inside the data folder.
pub const OUTBOX_FILE: &str = "outbox.db";

/// Longest wait between two attempts at one item.
const MAX_BACKOFF_SECS: i64 = 300;

/// Most bytes of sealed materials the outbox holds at once (the data partition must keep room
/// for everything else).
pub const MAX_WAITING_MATERIAL_BYTES: u64 = 1024 * 1024 * 1024;

/// Largest material (a PDF) the outbox takes: what the platform accepts, less the seal.
pub const MAX_KEPT_MATERIAL_BYTES: u64 = MAX_MATERIAL_BYTES - SEAL_OVERHEAD as u64;

/// How long the number of a delivered application is remembered for materials still to come.
const DELIVERED_MEMORY_SECS: i64 = 7 * 24 * 3600;

/// Why the outbox cannot take or give an item.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The outbox holds its maximum: the terminal must stop taking applications.
    #[error("the outbox is full ({0} items waiting): the platform has not been reachable for long")]
    Full(u32),
    /// The database cannot be opened or written.
    #[error("outbox {path}: {detail}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The disk is (nearly) full: the terminal takes no new applications until there is room.
    #[error(
        "the terminal's disk is nearly full ({available} bytes free): no new applications until there is room"
    )]
    DiskFull {
        /// Bytes free on the data folder's file system.
        available: u64,
    },
    /// The database file is damaged (SQLite says it is corrupt or not a database).
    #[error("outbox {path} is damaged: {detail}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The terminal has no key to seal applications to.
    #[error("the platform's sealing key is missing or invalid: enroll the terminal again")]
    NoSealingKey,
    /// The item cannot be encoded.
    #[error("cannot encode the item: {0}")]
    Encode(String),
    /// A material is larger than the platform takes.
    #[error(
        "the material is {size} bytes; a material can be at most {max} bytes (10 MiB with its seal): take fewer pages or a lower resolution"
    )]
    MaterialTooLarge {
        /// Its size.
        size: u64,
        /// The largest size kept.
        max: u64,
    },
    /// A material cannot be kept for another reason (not a PDF, no such application, too many).
    #[error("the material cannot be kept: {0}")]
    MaterialRefused(String),
}

/// The outbox database.
pub struct Outbox {
    conn: Mutex<Connection>,
    path: PathBuf,
    capacity: u32,
    changed: Notify,
    clock: Clock,
}

/// Unix seconds now; the wall clock in service, a controlled one when an outage of minutes is
/// replayed in a test.
pub type Clock = Box<dyn Fn() -> i64 + Send + Sync>;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('application', 'rating', 'event')),
    key             TEXT NOT NULL UNIQUE,
    reference       TEXT UNIQUE,
    depends_on      TEXT,
    body            BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    refused         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS items_due ON items (refused, next_attempt_at, id);
CREATE TABLE IF NOT EXISTS materials (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    application_key  TEXT NOT NULL,
    material_index   INTEGER NOT NULL,
    content_type     TEXT NOT NULL,
    body             BLOB NOT NULL,
    sha256           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    upload_id        TEXT,
    chunk_size       INTEGER NOT NULL DEFAULT 0,
    chunks_sent      INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    refused          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (application_key, material_index)
);
CREATE TABLE IF NOT EXISTS delivered (
    key             TEXT PRIMARY KEY,
    application_no  TEXT NOT NULL,
    delivered_at    INTEGER NOT NULL
);
";

impl Outbox {
    /// Opens (or creates) the outbox at `path`, holding at most `capacity` items.
    pub fn open(path: &Path, capacity: u32) -> Result<Self, OutboxError> {
        let storage = |e: rusqlite::Error| storage_error(path, e);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| OutboxError::Storage {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        }
        let conn = Connection::open(path).map_err(storage)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(storage)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(storage)?;
        // After each checkpoint the journal is cut back to 1 MiB, so it does not keep the
        // largest size it ever reached on a small disk.
        conn.pragma_update(None, "journal_size_limit", 1024 * 1024)
            .map_err(storage)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(storage)?;
        conn.execute_batch(SCHEMA).map_err(storage)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            capacity,
            changed: Notify::new(),
            clock: Box::new(unix_now),
        })
    }

    /// The same outbox reading time from `clock` (backoff and ages follow it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub(super) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The folder the outbox lives in (the terminal's data folder).
    pub fn folder(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The outbox file of the data folder `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(OUTBOX_FILE)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back), so the connection stays usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn storage(&self, e: rusqlite::Error) -> OutboxError {
        storage_error(&self.path, e)
    }

    /// Runs `work` in one immediate (writing) transaction, commits it, and wakes the sender.
    pub(super) fn write(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), OutboxError>,
    ) -> Result<(), OutboxError> {
        {
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(|e| self.storage(e))?;
            work(&tx)?;
            tx.commit().map_err(|e| self.storage(e))?;
        }
        self.changed.notify_one();
        Ok(())
    }

    /// Records one more failed attempt of row `id` (`update` names the table) and when to try
    /// again: the backoff doubles with every attempt.
    pub(super) fn postpone_row(
        &self,
        update: &str,
        id: i64,
        attempts: u32,
        error: &str,
    ) -> Result<(), OutboxError> {
        let attempts = attempts.saturating_add(1);
        self.lock()
            .execute(
                update,
                params![id, attempts, self.now() + backoff(attempts), error],
            )
            .map_err(|e| self.storage(e))?;
        Ok(())
    }

    /// Waits until something is added or a retry is asked for.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// SQLite's error on `path` as the outbox reports it: damage apart from everything else.
fn storage_error(path: &Path, e: rusqlite::Error) -> OutboxError {
    let damaged = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    );
    if damaged {
        OutboxError::Damaged {
            path: path.to_owned(),
            detail: e.to_string(),
        }
    } else {
        OutboxError::Storage {
            path: path.to_owned(),
            detail: e.to_string(),
        }
    }
}

/// Seconds to wait before attempt `attempts + 1`: doubling, capped at five minutes.
fn backoff(attempts: u32) -> i64 {
    1_i64
        .checked_shl(attempts.min(16))
        .unwrap_or(MAX_BACKOFF_SECS)
        .min(MAX_BACKOFF_SECS)
}

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

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kiosk_protocol::material::{
    MAX_APPLICATION_MATERIAL_BYTES, MAX_MATERIAL_BYTES, MAX_MATERIALS_PER_APPLICATION,
};
use kiosk_protocol::sealing::{
    SEAL_OVERHEAD, SEALED_APPLICATION_CONTENT_TYPE, parse_sealing_key, seal,
};
use kiosk_protocol::{
    ApplicationReceipt, ApplicationRequest, MaterialContentType, RatingRequest, UploadRequest,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, broadcast};
use zeroize::Zeroizing;

use crate::unix_now;
use crate::uplink::platform_link::{LinkError, PlatformLink};

/// File name of the outbox inside the data folder.
pub const OUTBOX_FILE: &str = "outbox.db";

/// Items the outbox holds at most (the default; a busy hall takes a few hundred a day).
pub const DEFAULT_CAPACITY: u32 = 5_000;

/// Longest wait between two attempts at one item.
const MAX_BACKOFF_SECS: i64 = 300;

/// Room kept free on the data folder's file system: new applications are refused before the
/// disk is full, so deleting delivered items (which writes SQLite's journal first), ratings,
/// audit events and logs still fit.
pub const DISK_RESERVE_BYTES: u64 = 8 * 1024 * 1024;

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

/// What one item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A sealed application.
    Application,
    /// A 好差评 rating.
    Rating,
    /// An entry of the terminal's audit trail.
    Event,
}

impl ItemKind {
    fn as_str(self) -> &'static str {
        match self {
            ItemKind::Application => "application",
            ItemKind::Rating => "rating",
            ItemKind::Event => "event",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "application" => Some(ItemKind::Application),
            "rating" => Some(ItemKind::Rating),
            "event" => Some(ItemKind::Event),
            _ => None,
        }
    }
}

/// One waiting item, as the sender sees it.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    /// Row id.
    pub id: i64,
    /// What it is.
    pub kind: ItemKind,
    /// Idempotency key (applications) or a unique key (ratings).
    pub key: String,
    /// The body exactly as it will be sent.
    pub body: Vec<u8>,
    /// Attempts so far.
    pub attempts: u32,
}

/// How the outbox is doing, for `kiosk outbox status`, heartbeats and the technician.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxStatus {
    /// Items waiting.
    pub depth: u32,
    /// Applications among them.
    pub applications: u32,
    /// Ratings among them.
    pub ratings: u32,
    /// Materials among them (waiting for their application, or being uploaded).
    pub materials: u32,
    /// Items the platform refused for good (kept for the technician, never retried).
    pub refused: u32,
    /// Age of the oldest waiting item, seconds.
    pub oldest_secs: Option<i64>,
    /// The last delivery error, if the newest attempt failed.
    pub last_error: Option<String>,
    /// The most items it holds.
    pub capacity: u32,
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

/// Materials due: not refused, their application delivered (its number known).
const DUE_MATERIALS: &str = "
SELECT m.id, m.application_key, d.application_no, m.material_index, m.content_type, m.body,
       m.sha256, m.upload_id, m.chunk_size, m.chunks_sent, m.attempts
FROM materials m JOIN delivered d ON d.key = m.application_key
WHERE m.refused = 0 AND (m.next_attempt_at <= ?1 OR m.next_attempt_at > ?1 + 300)
ORDER BY m.id LIMIT ?2";

/// One waiting material whose application the platform has, as the sender sees it.
#[derive(Clone)]
pub struct MaterialItem {
    /// Row id.
    pub id: i64,
    /// Idempotency key of its application.
    pub application_key: String,
    /// The platform's number of its application.
    pub application_no: String,
    /// Index in the matter's material list.
    pub material_index: u16,
    /// What it is (a sealed type).
    pub content_type: MaterialContentType,
    /// The sealed bytes, exactly as they are uploaded.
    pub body: Vec<u8>,
    /// Lower-case hex SHA-256 of `body`.
    pub sha256: String,
    /// The platform's upload under way, if one was started.
    pub upload_id: Option<String>,
    /// Bytes per chunk of that upload.
    pub chunk_size: u64,
    /// Chunks the platform confirmed.
    pub chunks_sent: u64,
    /// Attempts so far.
    pub attempts: u32,
}

impl std::fmt::Debug for MaterialItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body is sealed, but there is no reason to print kilobytes of it.
        f.debug_struct("MaterialItem")
            .field("id", &self.id)
            .field("application_no", &self.application_no)
            .field("material_index", &self.material_index)
            .field("content_type", &self.content_type)
            .field("size", &self.body.len())
            .field("upload_id", &self.upload_id)
            .field("chunks_sent", &self.chunks_sent)
            .field("attempts", &self.attempts)
            .finish()
    }
}

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

    /// Opens the outbox at `path` for the running kiosk. A file SQLite finds damaged (a torn
    /// write on a failing card, a file overwritten) is not left to fail every submission: it
    /// is moved aside as `outbox.db.corrupt-UNIXTIME` (with its WAL), kept because its sealed
    /// items may still be recovered by operations, and a new outbox is started holding an
    /// `outbox_quarantined` event for the platform. Returns the outbox and, after a
    /// quarantine, where the damaged file went. Other failures (permissions, a missing
    /// folder) are errors as with [`Outbox::open`]: they are not the file's fault.
    pub fn open_or_quarantine(
        path: &Path,
        capacity: u32,
    ) -> Result<(Self, Option<PathBuf>), OutboxError> {
        let damage = match Self::open(path, capacity).and_then(|outbox| {
            outbox.check_integrity()?;
            Ok(outbox)
        }) {
            Ok(outbox) => return Ok((outbox, None)),
            Err(OutboxError::Damaged { detail, .. }) => detail,
            Err(e) => return Err(e),
        };
        let name = path.file_name().map_or_else(
            || OUTBOX_FILE.to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let aside = path.with_file_name(format!("{name}.corrupt-{}", unix_now()));
        let move_aside = |from: &Path, to: &Path| match std::fs::rename(from, to) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(OutboxError::Storage {
                path: from.to_owned(),
                detail: format!("damaged ({damage}) and cannot be moved aside: {e}"),
            }),
        };
        move_aside(path, &aside)?;
        for suffix in ["-wal", "-shm"] {
            let mut from = path.as_os_str().to_owned();
            from.push(suffix);
            let mut to = aside.as_os_str().to_owned();
            to.push(suffix);
            move_aside(Path::new(&from), Path::new(&to))?;
        }
        tracing::error!(
            damage = %damage,
            kept_as = %aside.display(),
            "the outbox was damaged; kept aside, and a new one started"
        );
        let outbox = Self::open(path, capacity)?;
        outbox.keep_event(
            "outbox_quarantined",
            &format!(
                "the outbox could not be read ({damage}); kept as {} on the terminal for recovery",
                aside
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            ),
        )?;
        Ok((outbox, Some(aside)))
    }

    /// Refuses a new application (and its materials, `bytes` in all) while the data folder's
    /// file system has less than [`DISK_RESERVE_BYTES`] free after it: that room is kept for
    /// what a full disk would otherwise block — the outbox's own journal when the platform's
    /// receipts delete items, ratings, audit events, logs.
    fn check_disk_room(&self, bytes: u64) -> Result<(), OutboxError> {
        match self.disk_room(bytes) {
            Err(OutboxError::DiskFull { .. }) => {
                // The journal may hold the room: fold it into the file and cut it to nothing.
                let _ = self
                    .lock()
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                self.disk_room(bytes)
            }
            other => other,
        }
    }

    fn disk_room(&self, bytes: u64) -> Result<(), OutboxError> {
        match nix::sys::statvfs::statvfs(self.folder()) {
            Ok(fs) => {
                // Pages the outbox freed (delivered items) are reused before the file grows.
                let free_pages: u64 = self
                    .lock()
                    .query_row(
                        "SELECT freelist_count * page_size FROM pragma_freelist_count, pragma_page_size",
                        [],
                        |row| row.get::<_, i64>(0),
                    )
                    .map_or(0, |b| b.max(0) as u64);
                // fsblkcnt_t and c_ulong are 32 bits on some boards, 64 on others.
                #[allow(clippy::unnecessary_cast)]
                let available = (fs.blocks_available() as u64)
                    .saturating_mul(fs.fragment_size() as u64)
                    .saturating_add(free_pages);
                if available < bytes.saturating_add(DISK_RESERVE_BYTES) {
                    return Err(OutboxError::DiskFull { available });
                }
                Ok(())
            }
            // A file system that cannot say: SQLite still reports a full disk itself.
            Err(_) => Ok(()),
        }
    }

    /// SQLite's quick check of every page; damage is [`OutboxError::Damaged`].
    fn check_integrity(&self) -> Result<(), OutboxError> {
        let verdict: String = self
            .lock()
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|e| self.storage(e))?;
        if verdict == "ok" {
            Ok(())
        } else {
            Err(OutboxError::Damaged {
                path: self.path.clone(),
                detail: verdict.lines().next().unwrap_or_default().to_owned(),
            })
        }
    }

    /// The same outbox reading time from `clock` (backoff and ages follow it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> i64 {
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

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back), so the connection stays usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn storage(&self, e: rusqlite::Error) -> OutboxError {
        storage_error(&self.path, e)
    }

    /// Durably keeps an application, sealed to the platform's key (hex), under its idempotency
    /// key; returns the terminal's reference for it. Keeping the same key twice keeps one item.
    pub fn keep_application(
        &self,
        key: &str,
        request: &ApplicationRequest,
        sealing_key: Option<&str>,
    ) -> Result<String, OutboxError> {
        self.keep_application_with_materials(key, request, &[], sealing_key)
    }

    /// Keeps an application and its materials (one PDF each, by material index) in one
    /// transaction: after a power cut either all of them are here or none, so an application
    /// never leaves without the pages the citizen photographed for it. Every material is
    /// checked and sealed before anything is written; one that would be refused refuses the
    /// whole, and nothing is kept.
    pub fn keep_application_with_materials(
        &self,
        key: &str,
        request: &ApplicationRequest,
        materials: &[(u16, &[u8])],
        sealing_key: Option<&str>,
    ) -> Result<String, OutboxError> {
        let platform = sealing_key
            .and_then(|hex| parse_sealing_key(hex).ok())
            .ok_or(OutboxError::NoSealingKey)?;
        let plain = Zeroizing::new(
            serde_json::to_vec(request).map_err(|e| OutboxError::Encode(e.to_string()))?,
        );
        let sealed = seal(&platform, &plain).map_err(|e| OutboxError::Encode(e.to_string()))?;
        let sealed_materials = materials
            .iter()
            .map(|(index, pdf)| Ok((*index, seal_material(&platform, pdf)?)))
            .collect::<Result<Vec<_>, OutboxError>>()?;
        let needed: u64 = sealed.len() as u64
            + sealed_materials
                .iter()
                .map(|(_, (body, _))| body.len() as u64)
                .sum::<u64>();
        self.check_disk_room(needed)?;
        let reference = reference_for(key);
        self.write(|tx| {
            self.insert_in(
                tx,
                ItemKind::Application,
                key,
                Some(&reference),
                None,
                &sealed,
            )?;
            for (index, (body, sha256)) in &sealed_materials {
                self.keep_material_in(tx, key, *index, body, sha256)?;
            }
            Ok(())
        })?;
        Ok(reference)
    }

    /// Durably keeps a rating. A rating of an application still waiting here (named by its
    /// reference) is sent after it, with the platform's number.
    pub fn keep_rating(&self, rating: &RatingRequest) -> Result<(), OutboxError> {
        let body = serde_json::to_vec(rating).map_err(|e| OutboxError::Encode(e.to_string()))?;
        let key = format!("rating-{}", rating.application_no);
        let depends_on: Option<String> = self
            .lock()
            .query_row(
                "SELECT key FROM items WHERE reference = ?1 AND kind = 'application'",
                params![rating.application_no],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.storage(e))?;
        self.insert(ItemKind::Rating, &key, None, depends_on.as_deref(), &body)
    }

    /// Durably keeps an entry of the audit trail (maintenance entered, a wrong PIN…).
    pub fn keep_event(&self, kind: &str, detail: &str) -> Result<(), OutboxError> {
        let at = self.now();
        let event = kiosk_protocol::TerminalEvent {
            kind: kind.to_owned(),
            detail: detail.to_owned(),
            at,
        };
        let body = serde_json::to_vec(&event).map_err(|e| OutboxError::Encode(e.to_string()))?;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| OutboxError::Encode(e.to_string()))?;
        let key = format!("event-{at}-{}", kiosk_protocol::auth::hex_encode(&nonce));
        self.insert(ItemKind::Event, &key, None, None, &body)
    }

    /// Durably keeps material `material_index` (a PDF of its pages) of the application kept
    /// under `application_key`, sealed to the platform's key (hex). Call it after
    /// [`Outbox::keep_application`] for the same key and before the citizen is told the
    /// application is accepted. Keeping the same material twice keeps one. Refused: a material
    /// over [`MAX_KEPT_MATERIAL_BYTES`], one that is not a PDF, one of an application the
    /// outbox never kept, too many or too much for one application, or the outbox's share of
    /// the disk for materials is used up.
    pub fn keep_material(
        &self,
        application_key: &str,
        material_index: u16,
        pdf: &[u8],
        sealing_key: Option<&str>,
    ) -> Result<(), OutboxError> {
        let platform = sealing_key
            .and_then(|hex| parse_sealing_key(hex).ok())
            .ok_or(OutboxError::NoSealingKey)?;
        let (sealed, sha256) = seal_material(&platform, pdf)?;
        self.write(|tx| {
            self.keep_material_in(tx, application_key, material_index, &sealed, &sha256)
        })
    }

    /// Keeps a sealed material in `tx` for the application under `application_key`, which must
    /// be here (waiting or refused) or delivered; a material kept already is left as it is.
    fn keep_material_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        application_key: &str,
        material_index: u16,
        sealed: &[u8],
        sha256: &str,
    ) -> Result<(), OutboxError> {
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM materials WHERE application_key = ?1 AND material_index = ?2)",
                params![application_key, material_index],
                |row| row.get(0),
            )
            .map_err(|e| self.storage(e))?;
        if exists {
            return Ok(());
        }
        // The application waits here (refused or not), or was delivered.
        let waiting: Option<(bool, Option<String>)> = tx
            .query_row(
                "SELECT refused, last_error FROM items WHERE key = ?1 AND kind = 'application'",
                params![application_key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.storage(e))?;
        let delivered: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM delivered WHERE key = ?1)",
                params![application_key],
                |row| row.get(0),
            )
            .map_err(|e| self.storage(e))?;
        if waiting.is_none() && !delivered {
            return Err(OutboxError::MaterialRefused(
                "the outbox holds no application under this key: keep the application first"
                    .to_owned(),
            ));
        }
        let (files, bytes, all_bytes) = tx
            .query_row(
                "SELECT count(*) FILTER (WHERE application_key = ?1),
                        coalesce(sum(length(body)) FILTER (WHERE application_key = ?1), 0),
                        coalesce(sum(length(body)), 0)
                 FROM materials",
                params![application_key],
                |row| {
                    let n = |i| row.get::<_, i64>(i).map(|v| v.max(0) as u64);
                    Ok((n(0)?, n(1)?, n(2)?))
                },
            )
            .map_err(|e| self.storage(e))?;
        if files >= MAX_MATERIALS_PER_APPLICATION {
            return Err(OutboxError::MaterialRefused(format!(
                "an application has at most {MAX_MATERIALS_PER_APPLICATION} materials"
            )));
        }
        let sealed_size = sealed.len() as u64;
        if bytes + sealed_size > MAX_APPLICATION_MATERIAL_BYTES {
            return Err(OutboxError::MaterialRefused(format!(
                "an application's materials total at most {} MiB",
                MAX_APPLICATION_MATERIAL_BYTES / (1024 * 1024)
            )));
        }
        if all_bytes + sealed_size > MAX_WAITING_MATERIAL_BYTES {
            let depth: u32 = tx
                .query_row("SELECT count(*) FROM materials", [], |row| row.get(0))
                .map_err(|e| self.storage(e))?;
            return Err(OutboxError::Full(depth));
        }
        // A material of an application the platform refused is kept aside with it.
        let (refused, last_error) = match waiting {
            Some((true, error)) => (
                true,
                Some(format!(
                    "its application was refused: {}",
                    error.unwrap_or_default()
                )),
            ),
            _ => (false, None),
        };
        tx.execute(
            "INSERT INTO materials (application_key, material_index, content_type, body, sha256,
                                    created_at, refused, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                application_key,
                material_index,
                MaterialContentType::SealedPdf.as_str(),
                sealed,
                sha256,
                self.now(),
                refused,
                last_error
            ],
        )
        .map_err(|e| self.storage(e))?;
        Ok(())
    }

    /// The materials due for upload now (their application delivered), oldest first.
    pub fn due_materials(&self, limit: u32) -> Result<Vec<MaterialItem>, OutboxError> {
        let conn = self.lock();
        let mut statement = conn
            .prepare_cached(DUE_MATERIALS)
            .map_err(|e| self.storage(e))?;
        let rows = statement
            .query_map(params![self.now(), limit], |row| {
                Ok((
                    MaterialItem {
                        id: row.get(0)?,
                        application_key: row.get(1)?,
                        application_no: row.get(2)?,
                        material_index: row.get(3)?,
                        content_type: MaterialContentType::SealedPdf,
                        body: row.get(5)?,
                        sha256: row.get(6)?,
                        upload_id: row.get(7)?,
                        chunk_size: row.get::<_, i64>(8)?.max(0) as u64,
                        chunks_sent: row.get::<_, i64>(9)?.max(0) as u64,
                        attempts: row.get(10)?,
                    },
                    row.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.storage(e))?;
        let mut items = Vec::new();
        for row in rows {
            let (mut item, content_type) = row.map_err(|e| self.storage(e))?;
            let Some(content_type) = MaterialContentType::parse(&content_type) else {
                continue;
            };
            item.content_type = content_type;
            items.push(item);
        }
        Ok(items)
    }

    /// The platform opened upload `upload_id` (chunks of `chunk_size` bytes) for `item`.
    pub fn material_started(
        &self,
        item: &mut MaterialItem,
        upload_id: &str,
        chunk_size: u64,
    ) -> Result<(), OutboxError> {
        self.lock()
            .execute(
                "UPDATE materials SET upload_id = ?2, chunk_size = ?3, chunks_sent = 0 WHERE id = ?1",
                params![item.id, upload_id, i64::try_from(chunk_size).unwrap_or(i64::MAX)],
            )
            .map_err(|e| self.storage(e))?;
        item.upload_id = Some(upload_id.to_owned());
        item.chunk_size = chunk_size;
        item.chunks_sent = 0;
        Ok(())
    }

    /// The platform confirmed the chunks of `item`'s upload before `chunks_sent`.
    pub fn material_progress(
        &self,
        item: &mut MaterialItem,
        chunks_sent: u64,
    ) -> Result<(), OutboxError> {
        self.lock()
            .execute(
                "UPDATE materials SET chunks_sent = ?2 WHERE id = ?1",
                params![item.id, i64::try_from(chunks_sent).unwrap_or(i64::MAX)],
            )
            .map_err(|e| self.storage(e))?;
        item.chunks_sent = chunks_sent;
        Ok(())
    }

    /// The platform no longer knows `item`'s upload: the next attempt starts a new one.
    pub fn material_restart(&self, item: &mut MaterialItem) -> Result<(), OutboxError> {
        self.lock()
            .execute(
                "UPDATE materials SET upload_id = NULL, chunk_size = 0, chunks_sent = 0 WHERE id = ?1",
                params![item.id],
            )
            .map_err(|e| self.storage(e))?;
        item.upload_id = None;
        item.chunks_sent = 0;
        Ok(())
    }

    /// The platform completed `item`'s upload: it is removed.
    pub fn acknowledge_material(&self, item: &MaterialItem) -> Result<(), OutboxError> {
        self.lock()
            .execute("DELETE FROM materials WHERE id = ?1", params![item.id])
            .map_err(|e| self.storage(e))?;
        Ok(())
    }

    /// Uploading `item` failed for a reason that may pass: backoff as for other items.
    pub fn postpone_material(&self, item: &MaterialItem, error: &str) -> Result<(), OutboxError> {
        self.postpone_row(
            "UPDATE materials SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1",
            item.id,
            item.attempts,
            error,
        )
    }

    /// The platform refused `item` for good: kept aside for the technician, never sent again.
    pub fn refuse_material(&self, item: &MaterialItem, error: &str) -> Result<(), OutboxError> {
        self.lock()
            .execute(
                "UPDATE materials SET refused = 1, attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                params![item.id, error],
            )
            .map_err(|e| self.storage(e))?;
        Ok(())
    }

    fn insert(
        &self,
        kind: ItemKind,
        key: &str,
        reference: Option<&str>,
        depends_on: Option<&str>,
        body: &[u8],
    ) -> Result<(), OutboxError> {
        self.write(|tx| self.insert_in(tx, kind, key, reference, depends_on, body))
    }

    /// Runs `work` in one immediate (writing) transaction, commits it, and wakes the sender.
    fn write(
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

    /// Inserts an item in `tx` unless one with its key is there already.
    fn insert_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        kind: ItemKind,
        key: &str,
        reference: Option<&str>,
        depends_on: Option<&str>,
        body: &[u8],
    ) -> Result<(), OutboxError> {
        let depth: u32 = tx
            .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
            .map_err(|e| self.storage(e))?;
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM items WHERE key = ?1)",
                params![key],
                |row| row.get(0),
            )
            .map_err(|e| self.storage(e))?;
        if exists {
            return Ok(());
        }
        if depth >= self.capacity {
            return Err(OutboxError::Full(depth));
        }
        tx.execute(
            "INSERT INTO items (kind, key, reference, depends_on, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![kind.as_str(), key, reference, depends_on, body, self.now()],
        )
        .map_err(|e| self.storage(e))?;
        Ok(())
    }

    /// The items due for delivery now, oldest first; an item waiting for another is not due.
    pub fn due(&self, limit: u32) -> Result<Vec<OutboxItem>, OutboxError> {
        let conn = self.lock();
        let mut statement = conn
            .prepare_cached(
                "SELECT id, kind, key, body, attempts FROM items
                 WHERE refused = 0
                   -- Due, or postponed further than any backoff can: the clock stepped back.
                   AND (next_attempt_at <= ?1 OR next_attempt_at > ?1 + 300)
                   AND (depends_on IS NULL OR depends_on NOT IN (SELECT key FROM items))
                 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| self.storage(e))?;
        let rows = statement
            .query_map(params![self.now(), limit], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Vec<u8>>(3)?,
                    row.get::<_, u32>(4)?,
                ))
            })
            .map_err(|e| self.storage(e))?;
        let mut items = Vec::new();
        for row in rows {
            let (id, kind, key, body, attempts) = row.map_err(|e| self.storage(e))?;
            let Some(kind) = ItemKind::parse(&kind) else {
                continue;
            };
            items.push(OutboxItem {
                id,
                kind,
                key,
                body,
                attempts,
            });
        }
        Ok(items)
    }

    /// The platform acknowledged `item`: it is removed. An acknowledged application hands its
    /// number to the ratings waiting for it.
    pub fn acknowledge(
        &self,
        item: &OutboxItem,
        receipt: Option<&ApplicationReceipt>,
    ) -> Result<(), OutboxError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.storage(e))?;
        if let Some(receipt) = receipt {
            tx.execute(
                "UPDATE items SET body = CAST(json_set(CAST(body AS TEXT), '$.application_no', ?2) AS BLOB)
                 WHERE depends_on = ?1",
                params![item.key, receipt.application_no],
            )
            .map_err(|e| self.storage(e))?;
        }
        if let (ItemKind::Application, Some(receipt)) = (item.kind, receipt) {
            // Its materials are uploaded under this number; forget numbers long delivered
            // whose materials are all gone.
            let now = self.now();
            tx.execute(
                "INSERT INTO delivered (key, application_no, delivered_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET application_no = excluded.application_no",
                params![item.key, receipt.application_no, now],
            )
            .map_err(|e| self.storage(e))?;
            tx.execute(
                "DELETE FROM delivered WHERE delivered_at < ?1
                   AND key NOT IN (SELECT application_key FROM materials)",
                params![now - DELIVERED_MEMORY_SECS],
            )
            .map_err(|e| self.storage(e))?;
        }
        tx.execute("DELETE FROM items WHERE id = ?1", params![item.id])
            .map_err(|e| self.storage(e))?;
        tx.commit().map_err(|e| self.storage(e))
    }

    /// Delivery failed for a reason that may pass: try again after a backoff that doubles
    /// with every attempt (capped at five minutes).
    pub fn postpone(&self, item: &OutboxItem, error: &str) -> Result<(), OutboxError> {
        self.postpone_row(
            "UPDATE items SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1",
            item.id,
            item.attempts,
            error,
        )
    }

    /// Records one more failed attempt of row `id` (`update` names the table) and when to try
    /// again: the backoff doubles with every attempt.
    fn postpone_row(
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

    /// The platform refused the item for good: it is kept aside for the technician and never
    /// sent again (a citizen's application is never silently dropped).
    /// A refused application's materials are kept aside with it, never uploaded.
    pub fn refuse(&self, item: &OutboxItem, error: &str) -> Result<(), OutboxError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.storage(e))?;
        tx.execute(
            "UPDATE items SET refused = 1, attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
            params![item.id, error],
        )
        .map_err(|e| self.storage(e))?;
        if item.kind == ItemKind::Application {
            tx.execute(
                "UPDATE materials SET refused = 1, last_error = ?2 WHERE application_key = ?1",
                params![item.key, format!("its application was refused: {error}")],
            )
            .map_err(|e| self.storage(e))?;
        }
        tx.commit().map_err(|e| self.storage(e))
    }

    /// Makes every waiting item due now (`kiosk outbox flush`, or the platform came back).
    pub fn retry_now(&self) -> Result<(), OutboxError> {
        self.lock()
            .execute_batch(
                "UPDATE items SET next_attempt_at = 0 WHERE refused = 0;
                 UPDATE materials SET next_attempt_at = 0 WHERE refused = 0;",
            )
            .map_err(|e| self.storage(e))?;
        self.changed.notify_one();
        Ok(())
    }

    /// How long until the earliest postponed item is due (`None`: nothing waits).
    pub fn next_due_in(&self) -> Result<Option<Duration>, OutboxError> {
        let at: Option<i64> = self
            .lock()
            .query_row(
                "SELECT min(at) FROM (
                     SELECT next_attempt_at AS at FROM items WHERE refused = 0
                     UNION ALL
                     SELECT m.next_attempt_at FROM materials m
                       JOIN delivered d ON d.key = m.application_key
                      WHERE m.refused = 0)",
                [],
                |row| row.get(0),
            )
            .map_err(|e| self.storage(e))?;
        // Never longer than the longest backoff: a wait beyond it means the clock stepped back
        // after the item was postponed, and the item is due now.
        Ok(at.map(|at| {
            let wait = at - self.now();
            Duration::from_secs(if wait > MAX_BACKOFF_SECS {
                0
            } else {
                u64::try_from(wait).unwrap_or(0)
            })
        }))
    }

    /// Whether the item under `key` is still waiting.
    pub fn holds(&self, key: &str) -> Result<bool, OutboxError> {
        self.lock()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM items WHERE key = ?1)",
                params![key],
                |row| row.get(0),
            )
            .map_err(|e| self.storage(e))
    }

    /// How the outbox is doing.
    pub fn status(&self) -> Result<OutboxStatus, OutboxError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT count(*) + (SELECT count(*) FROM materials),
                    count(*) FILTER (WHERE kind = 'application' AND refused = 0),
                    count(*) FILTER (WHERE kind = 'rating' AND refused = 0),
                    count(*) FILTER (WHERE refused = 1)
                      + (SELECT count(*) FROM materials WHERE refused = 1),
                    min(coalesce(min(created_at), (SELECT min(created_at) FROM materials)),
                        coalesce((SELECT min(created_at) FROM materials), min(created_at))),
                    coalesce(
                      (SELECT last_error FROM items WHERE attempts > 0 ORDER BY id DESC LIMIT 1),
                      (SELECT last_error FROM materials WHERE attempts > 0 ORDER BY id DESC LIMIT 1)),
                    (SELECT count(*) FROM materials WHERE refused = 0)
             FROM items",
            [],
            |row| {
                Ok(OutboxStatus {
                    depth: row.get(0)?,
                    applications: row.get(1)?,
                    ratings: row.get(2)?,
                    materials: row.get(6)?,
                    refused: row.get(3)?,
                    oldest_secs: row
                        .get::<_, Option<i64>>(4)?
                        .map(|t| (self.now() - t).max(0)),
                    last_error: row.get(5)?,
                    capacity: self.capacity,
                })
            },
        )
        .map_err(|e| self.storage(e))
    }

    /// Waits until something is added or a retry is asked for.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// Seconds to wait before attempt `attempts + 1`: doubling, capped at five minutes.
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

fn backoff(attempts: u32) -> i64 {
    1_i64
        .checked_shl(attempts.min(16))
        .unwrap_or(MAX_BACKOFF_SECS)
        .min(MAX_BACKOFF_SECS)
}

/// Checks a material's PDF as the platform will (size, a whole PDF) and seals it to the
/// platform's key; returns the sealed bytes and their SHA-256 (lower-case hex).
fn seal_material(
    platform: &kiosk_protocol::sealing::PublicKey,
    pdf: &[u8],
) -> Result<(Vec<u8>, String), OutboxError> {
    let size = pdf.len() as u64;
    if size > MAX_KEPT_MATERIAL_BYTES {
        return Err(OutboxError::MaterialTooLarge {
            size,
            max: MAX_KEPT_MATERIAL_BYTES,
        });
    }
    if !MaterialContentType::Pdf.matches(pdf) {
        return Err(OutboxError::MaterialRefused(
            "it is not a whole PDF file".to_owned(),
        ));
    }
    let sealed = seal(platform, pdf).map_err(|e| OutboxError::Encode(e.to_string()))?;
    let sha256 = kiosk_protocol::auth::hex_encode(&Sha256::digest(&sealed));
    Ok((sealed, sha256))
}

/// The terminal's reference for an application it keeps: printed on the receipt while the
/// platform's number is not known yet, and how a rating names that application.
pub fn reference_for(key: &str) -> String {
    let hex: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect::<String>()
        .to_ascii_uppercase();
    format!("LYT{hex}")
}

/// What one delivery round achieved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Items the platform acknowledged.
    pub delivered: u32,
    /// Items the platform refused for good.
    pub refused: u32,
    /// The error that stopped the round (platform unreachable), if any.
    pub stopped_by: Option<String>,
}

/// What became of one application the sender tried to deliver.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The platform acknowledged it with this receipt; it left the outbox.
    Accepted(ApplicationReceipt),
    /// The platform refused it for good (kept aside, never retried).
    Refused(String),
    /// The platform cannot be reached: it waits in the outbox.
    Waiting(String),
}

/// Delivers every due item once, oldest first; stops at the first transient failure (the
/// platform is down: the rest would fail the same way). `report` hears what became of each
/// application tried, by idempotency key.
pub async fn deliver_due(
    outbox: &Outbox,
    link: &PlatformLink,
    mut report: impl FnMut(&str, Outcome),
) -> Result<Delivery, OutboxError> {
    let mut round = Delivery::default();
    loop {
        let items = outbox.due(32)?;
        if items.is_empty() {
            deliver_materials(outbox, link, &mut round).await?;
            return Ok(round);
        }
        for item in items {
            let result = match item.kind {
                ItemKind::Application => link
                    .submit_raw(
                        &item.key,
                        SEALED_APPLICATION_CONTENT_TYPE,
                        item.body.clone(),
                    )
                    .await
                    .map(Some),
                ItemKind::Rating => link.rate_raw(item.body.clone()).await.map(|()| None),
                ItemKind::Event => link.event_raw(item.body.clone()).await.map(|()| None),
            };
            match result {
                Ok(receipt) => {
                    outbox.acknowledge(&item, receipt.as_ref())?;
                    if let Some(receipt) = receipt {
                        report(&item.key, Outcome::Accepted(receipt));
                    }
                    round.delivered += 1;
                }
                // A rating already given is as good as delivered.
                Err(LinkError::Refused { status: 409, .. }) if item.kind == ItemKind::Rating => {
                    outbox.acknowledge(&item, None)?;
                    round.delivered += 1;
                }
                Err(e) if e.is_transient() => {
                    outbox.postpone(&item, &e.to_string())?;
                    if item.kind == ItemKind::Application {
                        report(&item.key, Outcome::Waiting(e.to_string()));
                    }
                    round.stopped_by = Some(e.to_string());
                    return Ok(round);
                }
                Err(e) => {
                    tracing::error!(kind = item.kind.as_str(), error = %e, "the platform refused an outbox item; kept aside");
                    outbox.refuse(&item, &e.to_string())?;
                    if item.kind == ItemKind::Application {
                        report(&item.key, Outcome::Refused(e.to_string()));
                    }
                    round.refused += 1;
                }
            }
        }
    }
}

/// What became of one attempt at uploading a material.
enum Step {
    /// The platform completed it.
    Completed,
    /// The platform no longer has the upload (or lost chunks): try again, from the start.
    Again(String),
    /// The platform cannot be reached.
    Down(LinkError),
    /// The platform refused it for good.
    Refused(LinkError),
}

impl From<LinkError> for Step {
    fn from(e: LinkError) -> Self {
        if e.is_transient() {
            Step::Down(e)
        } else {
            Step::Refused(e)
        }
    }
}

/// Uploads every due material (those whose application the platform has), oldest first;
/// stops at the first transient failure, with `round.stopped_by` set.
async fn deliver_materials(
    outbox: &Outbox,
    link: &PlatformLink,
    round: &mut Delivery,
) -> Result<(), OutboxError> {
    loop {
        // One at a time: a material is up to 10 MiB held in memory while it is sent.
        let items = outbox.due_materials(1)?;
        if items.is_empty() {
            return Ok(());
        }
        for mut item in items {
            match upload_material(outbox, link, &mut item).await? {
                Step::Completed => {
                    outbox.acknowledge_material(&item)?;
                    round.delivered += 1;
                }
                Step::Again(why) => {
                    outbox.material_restart(&mut item)?;
                    outbox.postpone_material(&item, &why)?;
                }
                Step::Down(e) => {
                    outbox.postpone_material(&item, &e.to_string())?;
                    round.stopped_by = Some(e.to_string());
                    return Ok(());
                }
                Step::Refused(e) => {
                    tracing::error!(
                        material_index = item.material_index,
                        error = %e,
                        "the platform refused a material; kept aside"
                    );
                    outbox.refuse_material(&item, &e.to_string())?;
                    round.refused += 1;
                }
            }
        }
    }
}

/// One attempt at `item`: announces it (unless an upload is under way), sends the chunks the
/// platform has not confirmed, completes it. Progress is recorded after every step.
async fn upload_material(
    outbox: &Outbox,
    link: &PlatformLink,
    item: &mut MaterialItem,
) -> Result<Step, OutboxError> {
    let upload_id = match item.upload_id.clone() {
        Some(id) if item.chunk_size > 0 => id,
        _ => {
            let request = UploadRequest {
                material_index: item.material_index,
                content_type: item.content_type,
                size: item.body.len() as u64,
                sha256: item.sha256.clone(),
            };
            let session = match link
                .start_material_upload(&item.application_no, &request)
                .await
            {
                Ok(session) => session,
                Err(e) => return Ok(e.into()),
            };
            if session.chunk_size == 0 {
                return Ok(Step::Refused(LinkError::BadAnswer(
                    "the platform asked for chunks of 0 bytes".to_owned(),
                )));
            }
            outbox.material_started(item, &session.upload_id, session.chunk_size)?;
            session.upload_id
        }
    };
    let chunk_size = usize::try_from(item.chunk_size).unwrap_or(usize::MAX);
    let chunks: Vec<Vec<u8>> = item.body.chunks(chunk_size).map(<[u8]>::to_vec).collect();
    let first = usize::try_from(item.chunks_sent).unwrap_or(usize::MAX);
    for (n, chunk) in chunks.into_iter().enumerate().skip(first) {
        match link.put_material_chunk(&upload_id, n as u64, chunk).await {
            Ok(()) => outbox.material_progress(item, n as u64 + 1)?,
            Err(LinkError::Refused { status: 404, .. }) => {
                return Ok(Step::Again("the platform no longer has the upload".into()));
            }
            // Completed already (the answer to `complete` was lost): complete again below.
            Err(LinkError::Refused { status: 409, .. }) => break,
            Err(e) => return Ok(e.into()),
        }
    }
    match link.complete_material_upload(&upload_id).await {
        Ok(_) => Ok(Step::Completed),
        Err(LinkError::Refused { status: 404, .. }) => {
            Ok(Step::Again("the platform no longer has the upload".into()))
        }
        Err(LinkError::Refused { status: 409, .. }) => {
            Ok(Step::Again("the platform is missing chunks".into()))
        }
        Err(e) => Ok(e.into()),
    }
}

/// What the sender reports: each application it tried, by idempotency key.
pub type Reports = broadcast::Sender<(String, Outcome)>;

/// Runs the sender until the process ends: delivers whenever something is added, a retry is
/// asked for, or the earliest backoff has passed. What becomes of each application goes to
/// `reports` (the session waits there for the number it shows).
pub fn spawn_sender(outbox: Arc<Outbox>, link: PlatformLink, reports: Reports) {
    tokio::spawn(async move {
        let mut platform_down = false;
        loop {
            // Items back off one by one; one cheap health check notices the platform's return
            // and sends everything at once instead of waiting out each item's backoff.
            if platform_down && link.health().await.is_ok() {
                tracing::info!("platform reachable again; delivering the outbox");
                if let Err(e) = outbox.retry_now() {
                    tracing::error!(error = %e, "outbox unusable");
                }
            }
            let round = deliver_due(&outbox, &link, |key, outcome| {
                // Nobody listening (no citizen waiting) is normal.
                let _ = reports.send((key.to_owned(), outcome));
            })
            .await;
            if let Ok(Delivery {
                stopped_by: Some(error),
                ..
            }) = &round
            {
                tracing::warn!(error = %error, "platform unreachable; outbox items wait");
            }
            if let Err(e) = &round {
                tracing::error!(error = %e, "outbox unusable");
            }
            platform_down = matches!(
                round,
                Ok(Delivery {
                    stopped_by: Some(_),
                    ..
                })
            );
            let longest = if platform_down {
                Duration::from_secs(15)
            } else {
                Duration::from_secs(60)
            };
            let wait = outbox
                .next_due_in()
                .ok()
                .flatten()
                .unwrap_or(longest)
                .clamp(Duration::from_millis(200), longest);
            tokio::select! {
                () = outbox.changed() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_protocol::sealing::SealingKey;

    const NAME: &str = "王小明";
    const NUMBER: &str = "320706199001010133";

    fn request() -> ApplicationRequest {
        serde_json::from_value(serde_json::json!({
            "terminal_id": "LYG-T-0001",
            "matter_id": "lyg-hrss-0101",
            "applicant": {"name": NAME, "id_number": NUMBER, "document_kind": "resident"},
            "language": "zh"
        }))
        .expect("request")
    }

    fn platform_key() -> (SealingKey, String) {
        let key = SealingKey::from_secret([3; 32]);
        let public = key.public_hex();
        (key, public)
    }

    #[test]
    fn an_application_on_disk_is_sealed_and_only_the_platform_reads_it() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(OUTBOX_FILE);
        let (platform, public) = platform_key();
        let outbox = Outbox::open(&path, 10).expect("open");
        let reference = outbox
            .keep_application(
                "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                &request(),
                Some(&public),
            )
            .expect("kept");
        assert_eq!(reference, "LYT0A1B2C3D4E5F");
        drop(outbox);
        // Nothing personal in any file the outbox wrote (database, WAL, shared memory).
        for entry in std::fs::read_dir(dir.path()).expect("dir").flatten() {
            let bytes = std::fs::read(entry.path()).expect("read");
            for secret in [NAME.as_bytes(), NUMBER.as_bytes()] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret),
                    "{} holds personal data",
                    entry.path().display()
                );
            }
        }
        // Reopened (a restart): the item is still there, and the platform can open it.
        let outbox = Outbox::open(&path, 10).expect("reopen");
        let due = outbox.due(10).expect("due");
        assert_eq!(due.len(), 1);
        let opened: ApplicationRequest =
            serde_json::from_slice(&platform.open(&due[0].body).expect("opens")).expect("json");
        assert_eq!(opened.applicant.name, NAME);
        // The terminal cannot: its own key is not the platform's.
        assert!(SealingKey::from_secret([4; 32]).open(&due[0].body).is_err());
    }

    #[test]
    fn the_same_key_is_kept_once_and_a_full_outbox_says_so() {
        let dir = tempfile::tempdir().expect("dir");
        let (_, public) = platform_key();
        let outbox = Outbox::open(&dir.path().join(OUTBOX_FILE), 10).expect("open");
        for _ in 0..3 {
            outbox
                .keep_application("key-0000-0001", &request(), Some(&public))
                .expect("kept");
        }
        assert_eq!(outbox.status().expect("status").depth, 1);
        for n in 2..=10 {
            outbox
                .keep_application(&format!("key-0000-{n:04}"), &request(), Some(&public))
                .expect("kept");
        }
        let err = outbox
            .keep_application("key-0000-0011", &request(), Some(&public))
            .expect_err("full");
        assert!(matches!(err, OutboxError::Full(10)), "{err}");
        assert!(err.to_string().contains("full"));
        // Without the platform's key nothing is written in the clear.
        let err = outbox
            .keep_application("key-0000-0012", &request(), None)
            .expect_err("no key");
        assert!(matches!(err, OutboxError::NoSealingKey));
    }

    #[test]
    fn items_leave_in_order_only_when_acknowledged_and_ratings_follow_their_application() {
        let dir = tempfile::tempdir().expect("dir");
        let (_, public) = platform_key();
        let outbox = Outbox::open(&dir.path().join(OUTBOX_FILE), 10).expect("open");
        let reference = outbox
            .keep_application("key-0000-0001", &request(), Some(&public))
            .expect("kept");
        outbox
            .keep_rating(&RatingRequest {
                application_no: reference.clone(),
                matter_id: "lyg-hrss-0101".into(),
                terminal_id: "LYG-T-0001".into(),
                level: 5,
                reason: None,
            })
            .expect("rating kept");
        // The rating waits for its application.
        let due = outbox.due(10).expect("due");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].kind, ItemKind::Application);
        // A failed attempt postpones it (backoff) and keeps it.
        outbox
            .postpone(&due[0], "connection refused")
            .expect("postpone");
        assert!(outbox.due(10).expect("due").is_empty());
        let status = outbox.status().expect("status");
        assert_eq!((status.applications, status.ratings), (1, 1));
        assert_eq!(status.last_error.as_deref(), Some("connection refused"));
        assert!(outbox.next_due_in().expect("next").is_some());
        outbox.retry_now().expect("retry");
        let due = outbox.due(10).expect("due");
        assert_eq!(due[0].attempts, 1);
        // Acknowledged: gone, and the rating now names the platform's number.
        let receipt = ApplicationReceipt {
            application_no: "LY20261122000042".into(),
            matter_id: "lyg-hrss-0101".into(),
            accepted_at: "2026-11-22T10:00:00+08:00".into(),
            progress_url: String::new(),
            replayed: false,
        };
        outbox.acknowledge(&due[0], Some(&receipt)).expect("ack");
        assert!(!outbox.holds("key-0000-0001").expect("holds"));
        let due = outbox.due(10).expect("due");
        assert_eq!(due.len(), 1);
        let rating: RatingRequest = serde_json::from_slice(&due[0].body).expect("rating");
        assert_eq!(rating.application_no, "LY20261122000042");
        // Refused for good: kept aside, never due again.
        outbox.refuse(&due[0], "422").expect("refuse");
        assert!(outbox.due(10).expect("due").is_empty());
        assert_eq!(outbox.status().expect("status").refused, 1);
    }

    #[test]
    fn a_material_is_sealed_and_waits_for_its_applications_number() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(OUTBOX_FILE);
        let (platform, public) = platform_key();
        let pdf = b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\ntrailer\n<< >>\n%%EOF\n";
        let outbox = Outbox::open(&path, 10).expect("open");
        outbox
            .keep_application("key-0000-0001", &request(), Some(&public))
            .expect("kept");
        outbox
            .keep_material("key-0000-0001", 2, pdf, Some(&public))
            .expect("material kept");
        assert!(
            outbox.due_materials(10).expect("due").is_empty(),
            "no number yet"
        );
        assert_eq!(outbox.next_due_in().expect("next"), Some(Duration::ZERO));
        let application = outbox.due(10).expect("due").remove(0);
        let receipt = ApplicationReceipt {
            application_no: "LY20261122000042".into(),
            matter_id: "lyg-hrss-0101".into(),
            accepted_at: "2026-11-22T10:00:00+08:00".into(),
            progress_url: String::new(),
            replayed: false,
        };
        outbox
            .acknowledge(&application, Some(&receipt))
            .expect("acknowledged");
        drop(outbox);
        let outbox = Outbox::open(&path, 10).expect("reopen");
        let mut due = outbox.due_materials(10).expect("due");
        assert_eq!(due.len(), 1);
        let item = &mut due[0];
        assert_eq!(item.application_no, "LY20261122000042");
        assert_eq!(item.material_index, 2);
        assert_eq!(item.content_type, MaterialContentType::SealedPdf);
        assert_eq!(
            item.sha256,
            kiosk_protocol::auth::hex_encode(&Sha256::digest(&item.body))
        );
        assert_eq!(platform.open(&item.body).expect("opens"), pdf);
        // Progress survives a restart; a lost upload starts again.
        outbox.material_started(item, "abc123", 4).expect("started");
        outbox.material_progress(item, 2).expect("progress");
        let again = outbox.due_materials(10).expect("due").remove(0);
        assert_eq!(
            (
                again.upload_id.as_deref(),
                again.chunk_size,
                again.chunks_sent
            ),
            (Some("abc123"), 4, 2)
        );
        outbox.material_restart(item).expect("restart");
        assert_eq!(outbox.due_materials(10).expect("due")[0].upload_id, None);
        assert_eq!(outbox.status().expect("status").materials, 1);
        outbox.acknowledge_material(item).expect("done");
        assert_eq!(outbox.status().expect("status").depth, 0);
    }

    #[test]
    fn a_file_that_is_not_an_outbox_is_named() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(OUTBOX_FILE);
        std::fs::write(
            &path,
            b"this is not a database at all, just text".repeat(50),
        )
        .expect("write");
        let err = Outbox::open(&path, 10).err().expect("refused");
        assert!(err.to_string().contains("outbox.db"), "{err}");
    }
}

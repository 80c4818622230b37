//! The SQLite backend: the embedded default. One file in WAL mode with `synchronous=FULL`,
//! created and migrated on open; every write is one `IMMEDIATE` transaction, so a crash never
//! leaves half a row behind and writers never deadlock on lock upgrades.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::schema;
use super::sql::{Arg, Row, sqlite_dialect, sqlite_row};
use super::{
    EnrolledTerminal, Enrollment, NewApplication, NewRating, PublishedCatalog, StatusRow,
    StoreError, StoredApplication,
};

/// Read-only connections kept beside the writer: in WAL mode readers never wait for the writer
/// (nor for its disk flushes).
const READERS: usize = 3;

/// The SQLite database: one writer connection behind a lock (SQLite has one writer anyway),
/// a few read-only connections, and a background thread that checkpoints the WAL so request
/// paths never pay for it.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    pepper: String,
    last_prune: AtomicI64,
    /// Heartbeats and replay nonces waiting to be written (see [`SqliteStore::flush`]).
    pending: Mutex<Pending>,
    /// Work for the committer thread (group commits).
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
    /// The committer's end, until `start_background` takes it.
    job_queue: Mutex<Option<std::sync::mpsc::Receiver<Job>>>,
    /// The background thread stops when this goes away.
    _alive: std::sync::Arc<()>,
}

/// A piece of work for the committer: runs inside the batch's transaction and says whether to
/// keep its changes, and how to answer once the commit is known.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Deliver) + Send>;
/// Answers one job's caller, given the commit's error if it failed.
type Deliver = Box<dyn FnOnce(Option<&str>) + Send>;

/// Writes the request path leaves to the background thread, so a heartbeat never waits behind
/// the disk flush of an application commit (SQLite has one writer).
#[derive(Default)]
struct Pending {
    /// The latest heartbeat of each terminal not yet written.
    heartbeats: std::collections::HashMap<String, PendingHeartbeat>,
    /// Nonces accepted by this process, with when (kept for the whole replay window).
    seen: std::collections::HashMap<(String, String), i64>,
    /// Nonces not yet written to `request_nonces` (where other processes see them).
    unwritten: Vec<(String, String, i64)>,
}

/// A heartbeat waiting to be written.
#[derive(Debug, Clone)]
pub(crate) struct PendingHeartbeat {
    pub last_seen: i64,
    pub body: String,
    pub health: String,
    /// What is not ok, for the event written when the health changes.
    pub faults: String,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| StoreError::Open {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| StoreError::Open {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    Ok(conn)
}

/// Starts the background thread of `store`: every 200 ms it writes the pending heartbeats and
/// nonces, every second it checkpoints the WAL on its own connection; it ends with the store.
pub(crate) fn start_background(
    store: &std::sync::Arc<SqliteStore>,
    path: &Path,
) -> Result<(), StoreError> {
    let queue = store
        .job_queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
        .ok_or_else(|| StoreError::Task("the committer was started already".into()))?;
    let committer_store = std::sync::Arc::downgrade(store);
    std::thread::Builder::new()
        .name("sqlite-commit".into())
        .spawn(move || {
            // Ends when the store (and with it every sender) is gone.
            while let Ok(first) = queue.recv() {
                let mut batch = vec![first];
                while batch.len() < 128
                    && let Ok(more) = queue.try_recv()
                {
                    batch.push(more);
                }
                match committer_store.upgrade() {
                    Some(store) => store.commit_batch(batch),
                    None => break,
                }
            }
        })
        .map_err(|e| StoreError::Task(format!("cannot start the committer thread: {e}")))?;
    let conn = open_connection(path)?;
    let weak = std::sync::Arc::downgrade(store);
    std::thread::Builder::new()
        .name("sqlite-background".into())
        .spawn(move || {
            let mut ticks = 0u32;
            loop {
                std::thread::sleep(std::time::Duration::from_millis(200));
                let Some(store) = weak.upgrade() else {
                    break;
                };
                if let Err(e) = store.flush() {
                    tracing::warn!(error = %e, "writing heartbeats failed; retrying");
                }
                drop(store);
                ticks += 1;
                if ticks.is_multiple_of(5)
                    && let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })
        .map_err(|e| StoreError::Task(format!("cannot start the background thread: {e}")))?;
    Ok(())
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "heartbeats not written at close");
        }
    }
}

impl SqliteStore {
    /// Opens (creating and migrating when needed) the database file at `path`. The store
    /// works once [`start_background`] started its threads (as `Store::open` does).
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
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
        // The background checkpointer does the work; this is only a backstop.
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)
            .map_err(corrupt)?;
        let (jobs, job_queue) = std::sync::mpsc::channel::<Job>();
        let mut store = SqliteStore {
            conn: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: std::sync::atomic::AtomicUsize::new(0),
            pepper: String::new(),
            last_prune: AtomicI64::new(0),
            pending: Mutex::new(Pending::default()),
            jobs: Mutex::new(jobs),
            job_queue: Mutex::new(Some(job_queue)),
            _alive: std::sync::Arc::new(()),
        };
        store.migrate(path)?;
        store.pepper = store.applicant_pepper()?;
        for _ in 0..READERS {
            let reader = open_connection(path)?;
            reader.pragma_update(None, "query_only", true)?;
            store.readers.push(Mutex::new(reader));
        }
        Ok(store)
    }

    /// A read-only connection: a free one if any, else the next in turn.
    pub(crate) fn read(&self) -> MutexGuard<'_, Connection> {
        for reader in &self.readers {
            if let Ok(guard) = reader.try_lock() {
                return guard;
            }
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len().max(1);
        match self.readers.get(i) {
            Some(reader) => reader
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            None => self.lock(),
        }
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
        let known = schema::MIGRATIONS.len() as i64;
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
        for (index, migration) in schema::MIGRATIONS
            .iter()
            .enumerate()
            .skip(found.max(0) as usize)
        {
            tx.execute_batch(&schema::sqlite(migration))?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The secret that keys applicant lookups, made once per database.
    fn applicant_pepper(&self) -> Result<String, StoreError> {
        let fresh = super::random_hex(32)?;
        let conn = self.lock();
        conn.execute(
            "INSERT INTO settings (name, value) VALUES ('applicant_pepper', ?1) ON CONFLICT(name) DO NOTHING",
            params![fresh],
        )?;
        Ok(conn.query_row(
            "SELECT value FROM settings WHERE name = 'applicant_pepper'",
            [],
            |row| row.get(0),
        )?)
    }

    pub(crate) fn pepper(&self) -> &str {
        &self.pepper
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
        let conn = self.read();
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
        let new = new.clone();
        self.group_commit(move |conn| insert_application_in(conn, &new))
    }

    pub(crate) fn insert_rating(&self, rating: &NewRating) -> Result<(), StoreError> {
        let rating = rating.clone();
        self.group_commit(move |conn| insert_rating_in(conn, &rating))
    }

    /// Runs `work` inside the next group commit and waits for its durable result.
    ///
    /// Applications and ratings must be on disk before the terminal is told so (FULL), and with
    /// one writer each fsync would hold every other writer up. The committer thread takes all
    /// the work waiting, runs each piece under its own savepoint (a refused piece is rolled
    /// back alone) and commits them with one fsync; each caller then gets its own answer, or
    /// the commit's error.
    fn group_commit<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = std::sync::mpsc::sync_channel::<Result<T, StoreError>>(1);
        let job: Job = Box::new(move |conn: &Connection| {
            let result = work(conn);
            let keep = result.is_ok();
            let deliver: Deliver = Box::new(move |commit: Option<&str>| {
                let result = match (result, commit) {
                    (Ok(_), Some(e)) => Err(StoreError::Task(format!("commit failed: {e}"))),
                    (result, _) => result,
                };
                let _ = reply.send(result);
            });
            (keep, deliver)
        });
        let sender = self
            .jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        sender
            .send(job)
            .map_err(|_| StoreError::Task("the committer has stopped".into()))?;
        answer
            .recv()
            .map_err(|_| StoreError::Task("the committer dropped the work".into()))?
    }

    /// One group commit: the jobs in one FULL transaction, each under its own savepoint.
    fn commit_batch(&self, jobs: Vec<Job>) {
        let mut conn = self.lock();
        let mut delivers: Vec<Deliver> = Vec::with_capacity(jobs.len());
        let outcome = (|| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for job in jobs {
                tx.execute_batch("SAVEPOINT work")?;
                let (keep, deliver) = job(&tx);
                delivers.push(deliver);
                tx.execute_batch(if keep {
                    "RELEASE work"
                } else {
                    "ROLLBACK TO work; RELEASE work"
                })?;
            }
            tx.commit()
        })();
        drop(conn);
        let error = outcome.err().map(|e| e.to_string());
        for deliver in delivers {
            deliver(error.as_deref());
        }
    }

    pub(crate) fn create_enrollment_token(
        &self,
        hash: &str,
        site: Option<&str>,
        expires_at: i64,
        now: &str,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO enrollment_tokens (token_hash, site, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash, site, now, expires_at],
        )?;
        Ok(())
    }

    pub(crate) fn enroll(&self, e: &Enrollment) -> Result<EnrolledTerminal, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Spending the token is one conditional update: a used or expired token changes nothing.
        let site: Option<Option<String>> = tx
            .query_row(
                "UPDATE enrollment_tokens SET used_at = ?2
                 WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?3 RETURNING site",
                params![e.token_hash, e.now_text, e.now],
                |row| row.get(0),
            )
            .optional()?;
        let Some(site) = site else {
            return Err(StoreError::InvalidToken);
        };
        let terminal_id: String = tx.query_row(
            "INSERT INTO terminals (id, hardware_serial, public_key, site, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(hardware_serial) DO UPDATE SET public_key = excluded.public_key,
                 site = excluded.site, enrolled_at = excluded.enrolled_at
             RETURNING id",
            params![e.new_terminal_id, e.hardware_serial, e.public_key, site, e.now_text],
            |row| row.get(0),
        )?;
        tx.execute(
            "UPDATE enrollment_tokens SET terminal_id = ?2 WHERE token_hash = ?1",
            params![e.token_hash, terminal_id],
        )?;
        tx.commit()?;
        Ok(EnrolledTerminal { terminal_id, site })
    }

    pub(crate) fn terminal_key(&self, id: &str) -> Result<Option<String>, StoreError> {
        let conn = self.read();
        Ok(conn
            .query_row(
                "SELECT public_key FROM terminals WHERE id = ?1",
                params![id],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Records a nonce for this terminal; false when it was seen within the window (by this
    /// process, or by another one sharing the file once written).
    pub(crate) fn record_nonce(
        &self,
        terminal_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let written: Option<i64> = self
            .read()
            .query_row(
                "SELECT 1 FROM request_nonces WHERE terminal_id = ?1 AND nonce = ?2",
                params![terminal_id, nonce],
                |row| row.get(0),
            )
            .optional()?;
        if written.is_some() {
            return Ok(false);
        }
        let mut pending = self.pending();
        let key = (terminal_id.to_owned(), nonce.to_owned());
        if pending.seen.contains_key(&key) {
            return Ok(false);
        }
        pending.seen.insert(key, now);
        pending
            .unwritten
            .push((terminal_id.to_owned(), nonce.to_owned(), now));
        Ok(true)
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a heartbeat; the latest one per terminal is written at the next flush.
    pub(crate) fn queue_heartbeat(&self, terminal_id: &str, heartbeat: PendingHeartbeat) {
        self.pending()
            .heartbeats
            .insert(terminal_id.to_owned(), heartbeat);
    }

    /// Writes the pending heartbeats (with an event where a terminal's health changed) and
    /// nonces in one transaction that does not wait for the disk, and forgets nonces older
    /// than the replay window. Readers of heartbeat data (the console) call it first.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let (heartbeats, nonces) = {
            let mut pending = self.pending();
            let cutoff = super::unix_now() - super::NONCE_MEMORY_SECS;
            pending.seen.retain(|_, at| *at >= cutoff);
            (
                std::mem::take(&mut pending.heartbeats),
                std::mem::take(&mut pending.unwritten),
            )
        };
        if heartbeats.is_empty() && nonces.is_empty() {
            return Ok(());
        }
        let result = self.write_pending(&heartbeats, &nonces);
        if result.is_err() {
            // Keep them for the next flush (newer heartbeats win).
            let mut pending = self.pending();
            for (id, heartbeat) in heartbeats {
                pending.heartbeats.entry(id).or_insert(heartbeat);
            }
            pending.unwritten.extend(nonces);
        }
        result
    }

    fn write_pending(
        &self,
        heartbeats: &std::collections::HashMap<String, PendingHeartbeat>,
        nonces: &[(String, String, i64)],
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = (|| -> Result<(), StoreError> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (terminal_id, nonce, at) in nonces {
                tx.execute(
                    "INSERT INTO request_nonces (terminal_id, nonce, seen_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(terminal_id, nonce) DO NOTHING",
                    params![terminal_id, nonce, at],
                )?;
            }
            for (terminal_id, heartbeat) in heartbeats {
                let previous: Option<Option<String>> = tx
                    .query_row(
                        "SELECT health FROM terminals WHERE id = ?1",
                        params![terminal_id],
                        |row| row.get(0),
                    )
                    .optional()?;
                let Some(previous) = previous else {
                    continue;
                };
                tx.execute(
                    "UPDATE terminals SET last_seen = ?2, heartbeat = ?3, health = ?4 WHERE id = ?1",
                    params![terminal_id, heartbeat.last_seen, heartbeat.body, heartbeat.health],
                )?;
                if previous.as_deref() != Some(heartbeat.health.as_str()) {
                    tx.execute(
                        "INSERT INTO terminal_events (terminal_id, at, kind, detail) VALUES (?1, ?2, 'health', ?3)",
                        params![
                            terminal_id,
                            heartbeat.last_seen,
                            super::terminal::health_event(previous.as_deref(), &heartbeat.health, &heartbeat.faults)
                        ],
                    )?;
                }
            }
            let now = super::unix_now();
            let last = self.last_prune.load(Ordering::Relaxed);
            if now - last >= 30 {
                self.last_prune.store(now, Ordering::Relaxed);
                tx.execute(
                    "DELETE FROM request_nonces WHERE seen_at < ?1",
                    params![now - super::NONCE_MEMORY_SECS],
                )?;
            }
            tx.commit()?;
            Ok(())
        })();
        conn.pragma_update(None, "synchronous", "FULL")?;
        result
    }

    pub(crate) fn terminal_application(
        &self,
        terminal_id: &str,
        application_no: &str,
    ) -> Result<Option<StatusRow>, StoreError> {
        let conn = self.read();
        Ok(conn
            .query_row(
                "SELECT application_no, matter_id, accepted_at, state FROM applications
                 WHERE application_no = ?1 AND terminal_id = ?2",
                params![application_no, terminal_id],
                |row| {
                    Ok(StatusRow {
                        application_no: row.get(0)?,
                        matter_id: row.get(1)?,
                        accepted_at: row.get(2)?,
                        state: row.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// The configuration layers that apply to a terminal, global first.
    pub(crate) fn config_layers(&self, terminal_id: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.read();
        let mut statement = conn.prepare(
            "SELECT c.body FROM config_layers c
             WHERE (c.scope = 'global')
                OR (c.scope = 'site' AND c.scope_key = (SELECT site FROM terminals WHERE id = ?1))
                OR (c.scope = 'terminal' AND c.scope_key = ?1)
             ORDER BY CASE c.scope WHEN 'global' THEN 0 WHEN 'site' THEN 1 ELSE 2 END",
        )?;
        let rows = statement.query_map(params![terminal_id], |row| row.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    }

    pub(crate) fn set_config(
        &self,
        scope: &str,
        key: &str,
        body: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO config_layers (scope, scope_key, body, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(scope, scope_key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            params![scope, key, body, now],
        )?;
        Ok(())
    }

    /// Runs one statement; the number of rows it changed.
    pub(crate) fn exec(&self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        let conn = self.lock();
        let mut statement = conn.prepare_cached(&sqlite_dialect(sql))?;
        Ok(statement.execute(rusqlite::params_from_iter(args.iter()))? as u64)
    }

    /// Runs several statements in one transaction.
    pub(crate) fn exec_all(&self, statements: &[(&str, Vec<Arg>)]) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        for (sql, args) in statements {
            tx.prepare_cached(&sqlite_dialect(sql))?
                .execute(rusqlite::params_from_iter(args.iter()))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs one statement whose loss in a power cut is harmless (a heartbeat's last-seen, a
    /// replay nonce): committed without waiting for the disk (`synchronous=NORMAL` in WAL mode
    /// still survives an application crash). Everything else stays `FULL`.
    pub(crate) fn exec_relaxed(&self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        let conn = self.lock();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = conn
            .prepare_cached(&sqlite_dialect(sql))
            .and_then(|mut statement| statement.execute(rusqlite::params_from_iter(args.iter())));
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(result? as u64)
    }

    /// Runs one statement that answers rows (a SELECT, or a change with RETURNING).
    pub(crate) fn rows(&self, sql: &str, args: &[Arg]) -> Result<Vec<Row>, StoreError> {
        let is_read = sql
            .trim_start()
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case("select"));
        let conn = if is_read { self.read() } else { self.lock() };
        let mut statement = conn.prepare_cached(&sqlite_dialect(sql))?;
        let columns = statement.column_count();
        let rows = statement.query_map(rusqlite::params_from_iter(args.iter()), |row| {
            sqlite_row(row, columns)
        })?;
        Ok(rows.collect::<Result<Vec<Row>, _>>()?)
    }

    /// Rows in one of the platform's tables (a fixed name, never user input).
    pub(crate) fn count(&self, table: &'static str) -> Result<u64, StoreError> {
        let conn = self.read();
        let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })?;
        Ok(n.max(0) as u64)
    }

    pub(crate) fn ping(&self) -> Result<(), StoreError> {
        let conn = self.read();
        conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}

/// Stores an application once per idempotency key (inside a group commit).
fn insert_application_in(
    tx: &Connection,
    new: &NewApplication,
) -> Result<StoredApplication, StoreError> {
    let accepted_at = super::rfc3339(new.accepted_at);
    let inserted = tx.execute(
            "INSERT INTO applications (idempotency_key, terminal_id, matter_id, body, accepted_at, applicant_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(idempotency_key) DO NOTHING",
            params![
                new.idempotency_key,
                new.terminal_id,
                new.matter_id,
                new.body,
                accepted_at,
                new.applicant_key
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
    Ok(StoredApplication {
        application_no,
        matter_id: new.matter_id.clone(),
        body: new.body.clone(),
        accepted_at,
        replayed: false,
    })
}

/// Stores a rating (inside a group commit).
fn insert_rating_in(tx: &Connection, rating: &NewRating) -> Result<(), StoreError> {
    let known: Option<String> = tx
        .query_row(
            "SELECT matter_id FROM applications WHERE application_no = ?1 AND terminal_id = ?2",
            params![rating.application_no, rating.terminal_id],
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
    Ok(())
}

//! The SQLite engine, the embedded default: what it alone has. The queries it runs are the
//! shared ones (see [`super::sql`]); this file holds how they reach the file.
//!
//! - Opening: one file in WAL mode with `synchronous=FULL`, created and migrated on open
//!   (`PRAGMA user_version` counts the migrations of [`super::schema`] that ran).
//! - Connections: one writer behind a lock (SQLite has one writer anyway) and a few read-only
//!   connections, which in WAL mode never wait for the writer nor for its disk flushes.
//! - Group commit: durable work ([`super::sql::Transaction`]s: applications, ratings,
//!   enrollments) runs on a committer thread that takes all the work waiting and commits it
//!   with one fsync, each piece under its own savepoint. Every write transaction is
//!   `IMMEDIATE`, so writers never deadlock on lock upgrades and a crash never leaves half a
//!   row behind.
//! - Buffered writes: heartbeats and replay nonces are kept in memory and written every 200 ms
//!   by a background thread (`synchronous=NORMAL`), which also checkpoints the WAL, so request
//!   paths pay for neither.
//!
//! The shared queries are `async` (PostgreSQL's calls wait); on SQLite they run on a blocking
//! or committer thread through [`OnSqlite`], whose calls block instead, and [`finish`] drives
//! them to their end.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use rusqlite::{Connection, TransactionBehavior};

use super::gateway::{FORGET_NONCES, INSERT_NONCE, NONCE_MEMORY_SECS};
use super::sql::{Arg, Cell, Executor, Row, Transaction, sqlite_dialect};
use super::terminal::{HeartbeatUpdate, write_heartbeat};
use super::{StoreError, schema};

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
    /// The platform's keys, once given ([`super::Store::use_keys`]).
    pub(crate) keys: std::sync::OnceLock<crate::keys::Keys>,
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
    heartbeats: std::collections::HashMap<String, HeartbeatUpdate>,
    /// Nonces accepted by this process, with when (kept for the whole replay window).
    seen: std::collections::HashMap<(String, String), i64>,
    /// Nonces not yet written to `request_nonces` (where other processes see them).
    unwritten: Vec<(String, String, i64)>,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| StoreError::Open {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    // Freed pages (a deleted upload, the clear text a row held before it was encrypted) are
    // overwritten with zeros rather than left in the file for a copy of it to yield.
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .and_then(|()| conn.pragma_update(None, "secure_delete", "ON"))
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
        conn.pragma_update(None, "secure_delete", "ON")
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
            keys: std::sync::OnceLock::new(),
            last_prune: AtomicI64::new(0),
            pending: Mutex::new(Pending::default()),
            jobs: Mutex::new(jobs),
            job_queue: Mutex::new(Some(job_queue)),
            _alive: std::sync::Arc::new(()),
        };
        store.migrate(path)?;
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

    /// Runs `work` (written once for both engines) in the next group commit; its durable
    /// result.
    pub(crate) fn transaction<W: Transaction>(&self, work: W) -> Result<W::Output, StoreError> {
        self.group_commit(move |conn| finish(work.run(&mut OnSqlite(conn))))
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

    /// Records a nonce for this terminal; false when it was seen within the window (by this
    /// process, or by another one sharing the file once written).
    pub(crate) fn record_nonce(
        &self,
        terminal_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let written = OnSqlite(&self.read()).rows_now(
            "SELECT 1 FROM request_nonces WHERE terminal_id = $1 AND nonce = $2",
            vec![Arg::from(terminal_id), Arg::from(nonce)],
        )?;
        if !written.is_empty() {
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
    pub(crate) fn queue_heartbeat(&self, terminal_id: &str, heartbeat: HeartbeatUpdate) {
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
            let cutoff = super::unix_now() - NONCE_MEMORY_SECS;
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
        heartbeats: &std::collections::HashMap<String, HeartbeatUpdate>,
        nonces: &[(String, String, i64)],
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = (|| -> Result<(), StoreError> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut on = OnSqlite(&tx);
            for (terminal_id, nonce, at) in nonces {
                on.exec_now(
                    INSERT_NONCE,
                    vec![terminal_id.into(), nonce.into(), (*at).into()],
                )?;
            }
            for (terminal_id, heartbeat) in heartbeats {
                // A terminal removed meanwhile has nothing left to update.
                finish(write_heartbeat(&mut on, terminal_id, heartbeat))?;
            }
            let now = super::unix_now();
            let last = self.last_prune.load(Ordering::Relaxed);
            if now - last >= 30 {
                self.last_prune.store(now, Ordering::Relaxed);
                on.exec_now(FORGET_NONCES, vec![(now - NONCE_MEMORY_SECS).into()])?;
            }
            tx.commit()?;
            Ok(())
        })();
        conn.pragma_update(None, "synchronous", "FULL")?;
        result
    }

    /// Runs one statement on the writer; the number of rows it changed.
    pub(crate) fn exec(&self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        OnSqlite(&self.lock()).exec_now(sql, args)
    }

    /// Runs one statement whose loss in a power cut is harmless (a heartbeat's last-seen, a
    /// replay nonce): committed without waiting for the disk (`synchronous=NORMAL` in WAL mode
    /// still survives an application crash). Everything else stays `FULL`.
    pub(crate) fn exec_relaxed(&self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        let conn = self.lock();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = OnSqlite(&conn).exec_now(sql, args);
        conn.pragma_update(None, "synchronous", "FULL")?;
        result
    }

    /// Runs one statement that answers rows: a SELECT on a reader, a change (with RETURNING)
    /// on the writer.
    pub(crate) fn rows(&self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        let is_read = sql
            .trim_start()
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case("select"));
        let conn = if is_read { self.read() } else { self.lock() };
        OnSqlite(&conn).rows_now(sql, args)
    }
}

/// A SQLite connection (or transaction) as the shared queries' [`Executor`].
pub(crate) struct OnSqlite<'a>(pub &'a Connection);

impl OnSqlite<'_> {
    fn exec_now(&self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        let mut statement = self.0.prepare_cached(&sqlite_dialect(sql))?;
        Ok(statement.execute(rusqlite::params_from_iter(&args))? as u64)
    }

    fn rows_now(&self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        let mut statement = self.0.prepare_cached(&sqlite_dialect(sql))?;
        let columns = statement.column_count();
        let rows = statement.query_map(rusqlite::params_from_iter(&args), |row| {
            read_row(row, columns)
        })?;
        Ok(rows.collect::<Result<Vec<Row>, _>>()?)
    }
}

impl Executor for OnSqlite<'_> {
    async fn rows(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        self.rows_now(sql, args)
    }

    async fn exec(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        self.exec_now(sql, args)
    }

    async fn lock_table(&mut self, _table: &'static str) -> Result<(), StoreError> {
        // Every write transaction here is IMMEDIATE: it holds the database's one write lock.
        Ok(())
    }
}

/// Drives work written for both engines to its end on this thread. On [`OnSqlite`] nothing
/// waits (each call blocks until SQLite answers), so the work is done at its first poll.
fn finish<T>(work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    let mut work = std::pin::pin!(work);
    match work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(StoreError::Task(
            "work on SQLite waited for something other than SQLite".into(),
        )),
    }
}

/// Reads a SQLite row into cells.
fn read_row(row: &rusqlite::Row<'_>, columns: usize) -> rusqlite::Result<Row> {
    use rusqlite::types::ValueRef;
    let mut cells = Vec::with_capacity(columns);
    for i in 0..columns {
        cells.push(match row.get_ref(i)? {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(n) => Cell::Int(n),
            ValueRef::Real(f) => Cell::Int(f as i64),
            ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
        });
    }
    Ok(Row(cells))
}

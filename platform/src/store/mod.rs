//! Persistence of the platform: one repository type, [`Store`], over two engines.
//!
//! What lives where:
//! - this file: [`Store`] itself, an enum over the engines, and the few primitives every query
//!   goes through ([`Store::rows`], [`Store::exec`], [`Store::exec_relaxed`],
//!   [`Store::transaction`]), plus the two writes whose handling truly differs per engine
//!   (replay nonces and heartbeats, see below). These are the only places that ask which
//!   engine they run on.
//! - [`sql`]: the query layer. Statements are written once, in PostgreSQL's `$1` style, with
//!   typed arguments and rows; multi-statement work is a [`sql::Transaction`].
//! - [`schema`]: the migrations, written once (SQLite's two spellings are derived).
//! - [`gateway`], [`terminal`], [`materials`], [`console`], [`rollouts`], [`certificates`]:
//!   every query of the platform, by area, written once for both engines.
//! - [`sqlite`] and [`postgres`]: what only one engine has: opening and migrating, connections
//!   and pools, and how writes reach the disk. SQLite (the embedded default: one file, WAL)
//!   has one writer, so it batches durable writes into group commits on a thread of its own and
//!   buffers heartbeats and nonces in memory for a background writer. PostgreSQL (several
//!   stateless platform instances over one database) writes those on connections with
//!   `synchronous_commit=off` instead.
//!
//! Exactly-once is a property of the schema, not of one process: `applications.idempotency_key`
//! is UNIQUE and the insert is `ON CONFLICT DO NOTHING`, so two instances racing on one key
//! store one row and both answer with its number.

mod alarms;
mod at_rest;
mod cases;
mod catalog_targets;
mod certificates;
pub mod connectors;
mod console;
mod corrections;
mod editor;
mod gateway;
mod lifecycle;
mod materials;
pub mod postgres;
mod progress;
mod ratings;
mod records;
mod retention;
mod rollouts;
mod schema;
pub(crate) mod sql;
pub mod sqlite;
mod terminal;
mod workbench;

pub use alarms::{Alarm, AlarmKind};
pub use cases::{
    CASES_SHOWN, CaseAnswer, CaseOutcome, CaseScope, DepartmentCases, DepartmentRatings,
    GivenAnswer, RatingCase,
};
pub use catalog_targets::{CatalogTarget, CatalogTargets};
pub use certificates::IssuedCertificate;
pub use connectors::{
    ClaimedDelivery, Connector, ConnectorSecrets, Delivery, DepartmentReport, ReportAnswer,
    SendOutcome, UrlRefused,
};
pub use console::{
    Account, AuditFilter, AuditRow, CatalogVersion, CommandRow, ConfigRow, Count, EventRow,
    FleetRow, Role, Session, TokenRow,
};
pub use corrections::{CorrectionGrant, CorrectionRefusal, UploadScope};
pub use editor::{MatterDraft, SiteCatalog};
pub use gateway::{
    CatalogStanding, ConfigScope, EnrolledTerminal, PublishedCatalog, TerminalKey, token_hash,
    token_id,
};
pub use lifecycle::{Advanced, Intake, LifeEvent, PROGRESS_CODE_LEN, Scope};
pub use materials::Upload;
pub use progress::{GivenRating, PublicProgress};
pub use ratings::{CompletionRating, RatedCompletion, RatingChannel};
pub use records::{
    RECORD_QUERIES_PER_HOUR, RECORD_SUBJECTS_PER_HOUR, RECORD_WINDOW_SECS, RecordGate, RecordQuery,
    RecordQueryKind, TrailEntry, normalise_name,
};
pub use retention::{FIRST_PURGE_AFTER, PURGE_BATCH, Purged, RETENTION_DAYS};
pub use rollouts::{
    ReleaseError, ReleaseRecord, ReportOutcome, RolloutError, RolloutRow, RolloutStatus,
};
pub use terminal::{
    CheckInKey, CommandState, FiledAnswers, FoundAppointment, ResultOutcome, rfc3339_at, today,
};
pub use workbench::{Casefile, Commitment, FiledMaterial, QueueFilter, QueueLine, ResultDocument};

use std::path::PathBuf;
use std::sync::Arc;

use kiosk_protocol::{ApplicationState, ApplicationStatus};
use time::OffsetDateTime;
use time::macros::offset;

use crate::DbUrl;
use sql::{Arg, Row, Statements, Transaction};
use terminal::HeartbeatUpdate;

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
    /// The application belongs to a department the caller does not work for.
    #[error("this application belongs to another department")]
    OtherDepartment,
    /// The department has no connector.
    #[error("this department has no connector")]
    UnknownConnector,
    /// The department has a connector already.
    #[error("this department has a connector already; rotate its secrets or disable it")]
    ConnectorExists,
    /// A department id a connector cannot have.
    #[error("a department is 1 to 64 of a-z A-Z 0-9 - _ .")]
    InvalidDepartment,
    /// A connector URL refused.
    #[error("url: {0}")]
    ConnectorUrl(connectors::UrlRefused),
    /// A department's report id came again with another report.
    #[error("this report_id was already used for a different report")]
    ReportIdReused,
    /// The state machine does not allow the change from the application's state.
    #[error("{0}")]
    Illegal(crate::lifecycle::IllegalChange),
    /// A 补正 cannot be opened or answered at a terminal as asked.
    #[error("{0}")]
    Correction(corrections::CorrectionRefusal),
    /// The application was rated already (one rating per finished matter).
    #[error("this application has been rated already")]
    AlreadyRated,
    /// The enrollment token is unknown, used or expired.
    #[error("the enrollment token is unknown, used or expired")]
    InvalidToken,
    /// No such terminal.
    #[error("no such terminal")]
    UnknownTerminal,
    /// The serial belongs to an enrolled terminal and the token was not made to re-key it.
    #[error("terminal {terminal_id} is enrolled already; re-keying it needs a token made for it")]
    TerminalExists {
        /// The existing terminal.
        terminal_id: String,
        /// The token tried (its public id, see [`token_id`]).
        token_id: String,
    },
    /// The token re-keys another terminal than the one with this serial.
    #[error("this token re-keys terminal {0}, not a device with this serial")]
    TokenForAnotherTerminal(String),
    /// No catalog has been published yet.
    #[error("no catalog has been published")]
    NoCatalog,
    /// A release record is malformed.
    #[error("invalid release: {0}")]
    InvalidRelease(#[from] ReleaseError),
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
    /// The platform's keys cannot be loaded or used.
    #[error("{0}")]
    Keys(#[from] crate::keys::KeyError),
    /// This work needs the platform's keys and the store was opened without them.
    #[error("this needs the platform's key file: pass --keys PATH")]
    NoKeys,
    /// The database still keeps the secrets a key file now holds, and the key file given does
    /// not carry them.
    #[error(
        "this database was made before key files and still keeps its secrets; carry them into a key file first: `kiosk-platform keys init --from-database --db URL --file PATH` (docs/OPERATIONS.md, \"Key file\")"
    )]
    KeysNotImported,
    /// The key file is not the one this database's personal data was encrypted with.
    #[error(
        "the key file does not open this database's personal data: it belongs to another database (use the key file this database was made with)"
    )]
    WrongKeys,
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
        let store = match url {
            DbUrl::Sqlite(path) => {
                let path = path.clone();
                let store = tokio::task::spawn_blocking(move || {
                    let store = Arc::new(sqlite::SqliteStore::open(&path)?);
                    sqlite::start_background(&store, &path)?;
                    Ok::<_, StoreError>(store)
                })
                .await
                .map_err(|e| StoreError::Task(e.to_string()))??;
                Store::Sqlite(store)
            }
            DbUrl::Postgres(url) => Store::Postgres(postgres::PgStore::open(url).await?),
        };
        Ok(store)
    }

    /// The engine's name, for logs.
    pub fn engine(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Drops what the engine keeps of pages since rewritten: SQLite truncates its write-ahead
    /// log (which held them in full) after a checkpoint; PostgreSQL's dead rows are not in a
    /// dump and go at the next vacuum.
    async fn drop_old_pages(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => {
                on_sqlite(s, |s| {
                    s.lock()
                        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                        .map_err(StoreError::from)
                })
                .await
            }
            Store::Postgres(_) => Ok(()),
        }
    }

    /// Runs one statement that answers rows (a SELECT, or a change with RETURNING).
    pub(crate) async fn rows(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Vec<Row>, StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.rows(sql, args)).await,
            Store::Postgres(p) => p.rows(sql, args).await,
        }
    }

    /// Runs one statement and answers its first row, if any.
    pub(crate) async fn row(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, args).await?.into_iter().next())
    }

    /// Runs one statement; the number of rows it changed.
    pub(crate) async fn exec(&self, sql: &'static str, args: Vec<Arg>) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.exec(sql, args)).await,
            Store::Postgres(p) => p.exec(sql, args).await,
        }
    }

    /// Like [`Store::exec`], for writes whose loss in a power cut is harmless: committed
    /// without waiting for the disk (SQLite `synchronous=NORMAL`, PostgreSQL
    /// `synchronous_commit=off`).
    pub(crate) async fn exec_relaxed(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.exec_relaxed(sql, args)).await,
            Store::Postgres(p) => p.exec_relaxed(sql, args).await,
        }
    }

    /// Runs `work` in one transaction, durably committed before this answers: SQLite's next
    /// group commit, or a PostgreSQL transaction.
    pub(crate) async fn transaction<W: Transaction>(
        &self,
        work: W,
    ) -> Result<W::Output, StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, move |s| s.transaction(work)).await,
            Store::Postgres(p) => p.transaction(work).await,
        }
    }

    /// Runs several statements in one transaction: all or none.
    pub(crate) async fn exec_all(
        &self,
        statements: Vec<(&'static str, Vec<Arg>)>,
    ) -> Result<(), StoreError> {
        self.transaction(Statements(statements)).await
    }

    /// Records a request nonce; false when this terminal used it already (a replay). Nonces
    /// older than the signature window are forgotten now and then.
    pub async fn record_nonce(
        &self,
        terminal_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        match self {
            // SQLite: remembered at once, written by the background writer.
            Store::Sqlite(s) => {
                let (id, nonce) = (terminal_id.to_owned(), nonce.to_owned());
                on_sqlite(s, move |s| s.record_nonce(&id, &nonce, now)).await
            }
            Store::Postgres(p) => p.record_nonce(terminal_id, nonce, now).await,
        }
    }

    /// Records a terminal's heartbeat. SQLite buffers it for its background writer, so a
    /// heartbeat never queues behind the disk flush of an application commit (a terminal
    /// unknown by then is skipped); PostgreSQL writes it at once, without waiting for the
    /// disk, and refuses an unknown terminal.
    pub(crate) async fn record_heartbeat(
        &self,
        terminal_id: &str,
        update: HeartbeatUpdate,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => {
                s.queue_heartbeat(terminal_id, update);
                Ok(())
            }
            Store::Postgres(p) => p.record_heartbeat(terminal_id, &update).await,
        }
    }

    /// Writes out what the SQLite engine buffers (heartbeats, nonces); PostgreSQL buffers
    /// nothing. Pages that show heartbeat data call it first.
    pub async fn flush(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => on_sqlite(s, |s| s.flush()).await,
            Store::Postgres(_) => Ok(()),
        }
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.rows("SELECT 1", Vec::new()).await.map(drop)
    }
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

/// Now as Unix seconds.
pub fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// `bytes` random bytes from the operating system, hex.
pub fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Task(format!("no randomness: {e}")))?;
    Ok(kiosk_protocol::auth::hex_encode(&buf))
}

/// An application row as stored, before its state is checked.
#[derive(Debug, Clone)]
pub(crate) struct StatusRow {
    pub application_no: String,
    pub matter_id: String,
    pub accepted_at: String,
    pub state: String,
    pub due_on: Option<String>,
    /// Ratings of its completion given (0 or 1).
    pub completion_ratings: i64,
}

/// A SELECT of the columns [`StatusRow::read`] reads from `applications a`, followed by
/// `$rest` (its WHERE and ORDER): one literal, as the store's statements are.
macro_rules! status_select {
    ($rest:literal) => {
        concat!(
            "SELECT a.application_no, a.matter_id, a.accepted_at, a.state, a.due_on,
               (SELECT COUNT(*) FROM ratings r WHERE r.application_no = a.application_no AND r.stage = 'completion')
             FROM applications a ",
            $rest
        )
    };
}
pub(crate) use status_select;

impl StatusRow {
    /// Reads the columns of [`status_select`].
    pub(crate) fn read(row: &Row) -> Result<Self, StoreError> {
        Ok(StatusRow {
            application_no: row.text(0)?,
            matter_id: row.text(1)?,
            accepted_at: row.text(2)?,
            state: row.text(3)?,
            due_on: row.opt_text(4)?,
            completion_ratings: row.int(5)?,
        })
    }

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
            answers: Vec::new(),
            history: Vec::new(),
            due_on: if state.is_finished() {
                None
            } else {
                self.due_on
            },
            correction: None,
            rateable: state.is_finished() && self.completion_ratings == 0,
        })
    }
}

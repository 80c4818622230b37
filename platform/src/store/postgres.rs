//! The PostgreSQL engine, for one database shared by any number of stateless platform
//! instances: what it alone has. The queries it runs are the shared ones (see
//! [`super::sql`]); this file holds how they reach the server.
//!
//! - Opening: connections come from a bounded pool with timeouts, so a slow or absent database
//!   turns into a clear error instead of a hung request. Migrations ([`super::schema`]) run
//!   under a transaction-scoped advisory lock: instances starting together apply each once.
//! - Durable work ([`super::sql::Transaction`]) runs in a transaction of its own; the server
//!   batches commits itself, so there is no group-commit thread.
//! - Writes whose loss in a server crash is harmless (heartbeats, replay nonces, a terminal
//!   found running a release) go through a second, smaller pool whose connections run with
//!   `synchronous_commit=off`: they do not wait for the WAL flush. Nothing is buffered in the
//!   process, since another instance must see a nonce at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::{ToSql, Type};

use super::gateway::{FORGET_NONCES, INSERT_NONCE, NONCE_MEMORY_SECS};
use super::sql::{Arg, Cell, Executor, Row, Transaction, args};
use super::terminal::{HeartbeatUpdate, write_heartbeat};
use super::{StoreError, schema};
use crate::db_url::{PgTransport, PostgresUrl};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls_platform_verifier::BuilderVerifierExt;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The TLS connector `url` asks for (see [`PgTransport`]): `None` for plain TCP; otherwise
/// rustls checking the server against `sslrootcert` or the system's roots.
fn tls_connector(url: &PostgresUrl) -> Result<Option<MakeRustlsConnect>, String> {
    let PgTransport::Verified { root_cert } = url.transport() else {
        return Ok(None);
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match root_cert {
        Some(file) => {
            let unreadable =
                |e: &dyn std::fmt::Display| format!("sslrootcert {}: {e}", file.display());
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(file).map_err(|e| unreadable(&e))? {
                roots
                    .add(cert.map_err(|e| unreadable(&e))?)
                    .map_err(|e| unreadable(&e))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .with_platform_verifier()
            .map_err(|e| format!("the system's root certificates: {e}"))?
            .with_no_client_auth(),
    };
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// Key of the advisory lock that serialises migrations across instances ("lyb-migr").
const MIGRATION_LOCK: i64 = 0x6c79_622d_6d69_6772;

/// Connections one instance keeps at most.
const POOL_SIZE: usize = 16;

/// The PostgreSQL database, through a connection pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Connections with `synchronous_commit=off`, for writes whose loss in a server crash is
    /// harmless (heartbeats' last-seen, replay nonces): they do not wait for the WAL flush.
    relaxed: Pool,
    /// The platform's keys, once given ([`super::Store::use_keys`]).
    pub(crate) keys: Arc<std::sync::OnceLock<crate::keys::Keys>>,
    last_prune: Arc<AtomicI64>,
}

impl PgStore {
    /// Connects to `url` and applies pending migrations.
    pub async fn open(url: &PostgresUrl) -> Result<Self, StoreError> {
        let connect_error = |detail: String| StoreError::Connect {
            url: url.to_string(),
            detail,
        };
        let mut config = url.config().map_err(|e| connect_error(e.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("kiosk-platform");
        }
        let mut relaxed_config = config.clone();
        relaxed_config.options(&match config.get_options() {
            Some(options) => format!("{options} -c synchronous_commit=off"),
            None => "-c synchronous_commit=off".to_owned(),
        });
        let tls = tls_connector(url).map_err(connect_error)?;
        let build = |config: tokio_postgres::Config, size: usize| {
            let recycling = ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            };
            let manager = match &tls {
                None => Manager::from_config(config, NoTls, recycling),
                Some(tls) => Manager::from_config(config, tls.clone(), recycling),
            };
            Pool::builder(manager)
                .max_size(size)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(Duration::from_secs(10)))
                .create_timeout(Some(Duration::from_secs(10)))
                .recycle_timeout(Some(Duration::from_secs(5)))
                .build()
                .map_err(|e| connect_error(e.to_string()))
        };
        let pool = build(config, POOL_SIZE)?;
        let relaxed = build(relaxed_config, POOL_SIZE / 2)?;
        let store = PgStore {
            pool,
            relaxed,
            keys: Arc::default(),
            last_prune: Arc::new(AtomicI64::new(0)),
        };
        let mut client = store.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => connect_error(describe(&e)),
            other => connect_error(other.to_string()),
        })?;
        let tx = client.transaction().await?;
        migrate(&tx, url).await?;
        tx.commit().await?;
        drop(client);
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Runs `work` (written once for both engines) in a transaction of its own.
    pub(crate) async fn transaction<W: Transaction>(
        &self,
        work: W,
    ) -> Result<W::Output, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let output = work.run(&mut OnPostgres(&tx)).await?;
        tx.commit().await?;
        Ok(output)
    }

    /// Runs one statement; the number of rows it changed.
    pub(crate) async fn exec(&self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        OnPostgres(&self.client().await?).exec(sql, args).await
    }

    /// Runs one statement on a `synchronous_commit=off` connection (see [`PgStore`]).
    pub(crate) async fn exec_relaxed(&self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        OnPostgres(&self.relaxed.get().await?).exec(sql, args).await
    }

    /// Runs one statement that answers rows (a SELECT, or a change with RETURNING).
    pub(crate) async fn rows(&self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        OnPostgres(&self.client().await?).rows(sql, args).await
    }

    /// Records a nonce (relaxed: a nonce lost in a server crash belongs to a request whose
    /// answer was lost too), forgetting the old ones every 30 seconds or so.
    pub(crate) async fn record_nonce(
        &self,
        terminal_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let client = self.relaxed.get().await?;
        let mut on = OnPostgres(&client);
        let last = self.last_prune.load(Ordering::Relaxed);
        if now - last >= 30
            && self
                .last_prune
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            on.exec(FORGET_NONCES, args![now - NONCE_MEMORY_SECS])
                .await?;
        }
        let inserted = on
            .exec(INSERT_NONCE, args![terminal_id, nonce, now])
            .await?;
        Ok(inserted == 1)
    }

    /// Writes a heartbeat at once, relaxed: lost in a server crash, the next heartbeat (a few
    /// seconds later) writes it again, health-change event included.
    pub(crate) async fn record_heartbeat(
        &self,
        terminal_id: &str,
        update: &HeartbeatUpdate,
    ) -> Result<(), StoreError> {
        let client = self.relaxed.get().await?;
        if write_heartbeat(&mut OnPostgres(&client), terminal_id, update).await? {
            Ok(())
        } else {
            Err(StoreError::UnknownTerminal)
        }
    }
}

/// Applies the pending migrations of [`schema::MIGRATIONS`], under a lock that keeps instances
/// starting together from applying one twice.
async fn migrate(
    tx: &deadpool_postgres::Transaction<'_>,
    url: &PostgresUrl,
) -> Result<(), StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            applied_at TEXT NOT NULL
        )",
    )
    .await?;
    let found: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    let known = schema::MIGRATIONS.len() as i32;
    if found > known {
        return Err(StoreError::TooNew {
            database: url.to_string(),
            found: i64::from(found),
            known: i64::from(known),
        });
    }
    for (index, migration) in schema::MIGRATIONS
        .iter()
        .enumerate()
        .skip(found.max(0) as usize)
    {
        tx.batch_execute(migration).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[&(index as i32 + 1), &super::now_rfc3339()],
        )
        .await?;
    }
    Ok(())
}

/// A PostgreSQL connection or transaction as the shared queries' [`Executor`].
pub(crate) struct OnPostgres<'a, C>(pub &'a C);

impl<C: GenericClient> Executor for OnPostgres<'_, C> {
    async fn rows(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        let statement = self.0.prepare_cached(sql).await?;
        self.0
            .query(&statement, &params(&args))
            .await?
            .iter()
            .map(read_row)
            .collect()
    }

    async fn exec(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        let statement = self.0.prepare_cached(sql).await?;
        Ok(self.0.execute(&statement, &params(&args)).await?)
    }

    async fn lock_table(&mut self, table: &'static str) -> Result<(), StoreError> {
        self.0
            .batch_execute(&format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
            .await?;
        Ok(())
    }
}

fn params(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

/// Reads a PostgreSQL row into cells.
fn read_row(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Cell::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|n| Cell::Int(i64::from(n)))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map(|n| Cell::Int(i64::from(n)))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?.map(Cell::Bytes)
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map(|b| Cell::Int(i64::from(b)))
        } else {
            row.try_get::<_, Option<String>>(i)?.map(Cell::Text)
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(Row(cells))
}

/// A connection error with the server's own message when there is one.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

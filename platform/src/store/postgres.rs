//! The PostgreSQL backend: one database shared by any number of stateless platform instances.
//!
//! Connections come from a bounded pool with timeouts, so a slow or absent database turns into
//! a clear error instead of a hung request. Migrations run under a transaction-scoped advisory
//! lock: instances starting together apply each migration exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::schema;
use super::sql::{Arg, Row, postgres_row};
use super::{
    EnrolledTerminal, Enrollment, NewApplication, NewRating, PublishedCatalog, StatusRow,
    StoreError, StoredApplication,
};
use crate::db_url::PostgresUrl;

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
    pepper: Arc<str>,
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
        let build = |config: tokio_postgres::Config, size: usize| {
            let manager = Manager::from_config(
                config,
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
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
        let mut store = PgStore {
            pool,
            relaxed,
            pepper: Arc::from(""),
            last_prune: Arc::new(AtomicI64::new(0)),
        };
        let mut client = store.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => connect_error(describe(&e)),
            other => connect_error(other.to_string()),
        })?;
        let tx = client.transaction().await?;
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
        let fresh = super::random_hex(32)?;
        tx.execute(
            "INSERT INTO settings (name, value) VALUES ('applicant_pepper', $1) ON CONFLICT (name) DO NOTHING",
            &[&fresh],
        )
        .await?;
        let pepper: String = tx
            .query_one(
                "SELECT value FROM settings WHERE name = 'applicant_pepper'",
                &[],
            )
            .await?
            .try_get(0)?;
        tx.commit().await?;
        drop(client);
        store.pepper = Arc::from(pepper);
        Ok(store)
    }

    pub(crate) fn pepper(&self) -> &str {
        &self.pepper
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        Ok(self.pool.get().await?)
    }

    pub(crate) async fn publish_catalog(
        &self,
        version: &str,
        body: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Publishing is rare: one lock on the table keeps two publishers from both ending current.
        tx.batch_execute("LOCK TABLE catalog_versions IN SHARE ROW EXCLUSIVE MODE")
            .await?;
        tx.execute(
            "UPDATE catalog_versions SET current = FALSE WHERE current",
            &[],
        )
        .await?;
        tx.execute(
            "INSERT INTO catalog_versions (version, body, published_at, current) VALUES ($1, $2, $3, TRUE)
             ON CONFLICT (version) DO UPDATE SET body = excluded.body, published_at = excluded.published_at, current = TRUE",
            &[&version, &body, &now],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn current_catalog(&self) -> Result<PublishedCatalog, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT version, body FROM catalog_versions WHERE current",
                &[],
            )
            .await?
            .ok_or(StoreError::NoCatalog)?;
        Ok(PublishedCatalog {
            version: row.try_get(0)?,
            body: row.try_get(1)?,
        })
    }

    pub(crate) async fn insert_application(
        &self,
        new: &NewApplication,
    ) -> Result<StoredApplication, StoreError> {
        let accepted_at = super::rfc3339(new.accepted_at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // A concurrent insert of the same key (from this or another instance) waits on the
        // unique index until the first commits, then does nothing: one row per key.
        let inserted = tx
            .query_opt(
                "INSERT INTO applications (idempotency_key, terminal_id, matter_id, body, accepted_at, applicant_key)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                &[
                    &new.idempotency_key,
                    &new.terminal_id,
                    &new.matter_id,
                    &new.body,
                    &accepted_at,
                    &new.applicant_key,
                ],
            )
            .await?;
        let Some(row) = inserted else {
            let row = tx
                .query_one(
                    "SELECT application_no, matter_id, body, accepted_at FROM applications WHERE idempotency_key = $1",
                    &[&new.idempotency_key],
                )
                .await?;
            tx.commit().await?;
            return Ok(StoredApplication {
                application_no: row.try_get(0)?,
                matter_id: row.try_get(1)?,
                body: row.try_get(2)?,
                accepted_at: row.try_get(3)?,
                replayed: true,
            });
        };
        let id: i64 = row.try_get(0)?;
        let application_no = super::application_no(new.accepted_at, id);
        tx.execute(
            "UPDATE applications SET application_no = $1 WHERE id = $2",
            &[&application_no, &id],
        )
        .await?;
        tx.commit().await?;
        Ok(StoredApplication {
            application_no,
            matter_id: new.matter_id.clone(),
            body: new.body.clone(),
            accepted_at,
            replayed: false,
        })
    }

    pub(crate) async fn insert_rating(&self, rating: &NewRating) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let known: Option<String> = tx
            .query_opt(
                "SELECT matter_id FROM applications WHERE application_no = $1 AND terminal_id = $2",
                &[&rating.application_no, &rating.terminal_id],
            )
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        if known.as_deref() != Some(rating.matter_id.as_str()) {
            return Err(StoreError::UnknownApplication);
        }
        let inserted = tx
            .execute(
                "INSERT INTO ratings (application_no, matter_id, terminal_id, level, reason, rated_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (application_no) DO NOTHING",
                &[
                    &rating.application_no,
                    &rating.matter_id,
                    &rating.terminal_id,
                    &rating.level,
                    &rating.reason,
                    &rating.rated_at,
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::AlreadyRated);
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn create_enrollment_token(
        &self,
        hash: &str,
        site: Option<&str>,
        expires_at: i64,
        now: &str,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO enrollment_tokens (token_hash, site, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[&hash, &site, &now, &expires_at],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn enroll(&self, e: &Enrollment) -> Result<EnrolledTerminal, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Spending the token is one conditional update: of two instances racing on one token,
        // the second finds it used.
        let Some(row) = tx
            .query_opt(
                "UPDATE enrollment_tokens SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $3 RETURNING site",
                &[&e.token_hash, &e.now_text, &e.now],
            )
            .await?
        else {
            return Err(StoreError::InvalidToken);
        };
        let site: Option<String> = row.try_get(0)?;
        let terminal_id: String = tx
            .query_one(
                "INSERT INTO terminals (id, hardware_serial, public_key, site, enrolled_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (hardware_serial) DO UPDATE SET public_key = excluded.public_key,
                     site = excluded.site, enrolled_at = excluded.enrolled_at
                 RETURNING id",
                &[&e.new_terminal_id, &e.hardware_serial, &e.public_key, &site, &e.now_text],
            )
            .await?
            .try_get(0)?;
        tx.execute(
            "UPDATE enrollment_tokens SET terminal_id = $2 WHERE token_hash = $1",
            &[&e.token_hash, &terminal_id],
        )
        .await?;
        tx.commit().await?;
        Ok(EnrolledTerminal { terminal_id, site })
    }

    pub(crate) async fn terminal_key(&self, id: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT public_key FROM terminals WHERE id = $1", &[&id])
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub(crate) async fn record_nonce(
        &self,
        terminal_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let client = self.relaxed.get().await?;
        let last = self.last_prune.load(Ordering::Relaxed);
        if now - last >= 30
            && self
                .last_prune
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            client
                .execute(
                    "DELETE FROM request_nonces WHERE seen_at < $1",
                    &[&(now - super::NONCE_MEMORY_SECS)],
                )
                .await?;
        }
        let inserted = client
            .execute(
                "INSERT INTO request_nonces (terminal_id, nonce, seen_at) VALUES ($1, $2, $3)
                 ON CONFLICT (terminal_id, nonce) DO NOTHING",
                &[&terminal_id, &nonce, &now],
            )
            .await?;
        Ok(inserted == 1)
    }

    pub(crate) async fn terminal_application(
        &self,
        terminal_id: &str,
        application_no: &str,
    ) -> Result<Option<StatusRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT application_no, matter_id, accepted_at, state FROM applications
                 WHERE application_no = $1 AND terminal_id = $2",
                &[&application_no, &terminal_id],
            )
            .await?;
        row.map(|r| {
            Ok(StatusRow {
                application_no: r.try_get(0)?,
                matter_id: r.try_get(1)?,
                accepted_at: r.try_get(2)?,
                state: r.try_get(3)?,
            })
        })
        .transpose()
    }

    /// The configuration layers that apply to a terminal, global first.
    pub(crate) async fn config_layers(&self, terminal_id: &str) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT c.body FROM config_layers c
                 WHERE (c.scope = 'global')
                    OR (c.scope = 'site' AND c.scope_key = (SELECT site FROM terminals WHERE id = $1))
                    OR (c.scope = 'terminal' AND c.scope_key = $1)
                 ORDER BY CASE c.scope WHEN 'global' THEN 0 WHEN 'site' THEN 1 ELSE 2 END",
                &[&terminal_id],
            )
            .await?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .collect()
    }

    pub(crate) async fn set_config(
        &self,
        scope: &str,
        key: &str,
        body: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO config_layers (scope, scope_key, body, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (scope, scope_key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                &[&scope, &key, &body, &now],
            )
            .await?;
        Ok(())
    }

    /// Runs one statement; the number of rows it changed.
    pub(crate) async fn exec(&self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await?;
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            args.iter().map(|a| a as _).collect();
        Ok(client.execute(&statement, &params).await?)
    }

    /// Runs several statements in one transaction.
    pub(crate) async fn exec_all(&self, statements: &[(&str, Vec<Arg>)]) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        for (sql, args) in statements {
            let statement = tx.prepare_cached(sql).await?;
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                args.iter().map(|a| a as _).collect();
            tx.execute(&statement, &params).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs one statement on a `synchronous_commit=off` connection (see [`PgStore`]).
    pub(crate) async fn exec_relaxed(&self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        let client = self.relaxed.get().await?;
        let statement = client.prepare_cached(sql).await?;
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            args.iter().map(|a| a as _).collect();
        Ok(client.execute(&statement, &params).await?)
    }

    /// Runs one statement that answers rows (a SELECT, or a change with RETURNING).
    pub(crate) async fn rows(&self, sql: &str, args: &[Arg]) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await?;
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            args.iter().map(|a| a as _).collect();
        client
            .query(&statement, &params)
            .await?
            .iter()
            .map(postgres_row)
            .collect()
    }

    /// Rows in one of the platform's tables (a fixed name, never user input).
    pub(crate) async fn count(&self, table: &'static str) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .await?
            .try_get(0)?;
        Ok(n.max(0) as u64)
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await?;
        Ok(())
    }
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
